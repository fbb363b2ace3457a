//! VPC with private subnets only (no internet or NAT gateway), security
//! groups, VPC endpoints (pitfall 17) and the DB subnet group.

use crate::model::expr::{call, interp, list, lit, tpl, Expr};
use crate::model::module::count_index;
use crate::model::Address;
use crate::policy::naming::{Name, NameKind};
use crate::policy::Scope;

use super::Env;

/// Interface endpoints for every AWS API the payment function calls.
/// DynamoDB goes through the gateway endpoint; RDS IAM tokens are signed
/// locally and need no endpoint.
pub const INTERFACE_ENDPOINTS: &[&str] = &["sns", "secretsmanager"];

/// What the other components need from the network.
#[derive(Debug, Clone)]
pub struct Network {
    pub vpc: Address,
    pub subnets: Address,
    pub route_tables: Address,
    pub sg_aurora: Address,
    pub sg_lambda: Address,
    pub sg_endpoints: Address,
    pub db_subnet_group: Address,
    pub dynamodb_endpoint: Address,
    pub interface_endpoints: Vec<Address>,
}

impl Network {
    /// `aws_subnet.private[*].id`
    pub fn subnet_ids(&self) -> Expr {
        self.subnets.reference().splat().attr("id").expr()
    }
}

/// The private subnets (one per zone) and their route tables.
struct Subnets {
    subnets: Address,
    route_tables: Address,
}

/// The security groups; their rules reference one another.
struct SecurityGroups {
    aurora: Address,
    lambda: Address,
    endpoints: Address,
}

/// The gateway endpoint of DynamoDB and the interface endpoints.
struct Endpoints {
    dynamodb: Address,
    interface: Vec<Address>,
}

/// One security group rule: `kind` is `ingress` or `egress`, `peer` the
/// attribute and value of the other side.
struct Rule<'a> {
    kind: &'a str,
    local: &'a str,
    sg: &'a Address,
    port: i64,
    peer: (&'a str, Expr),
    desc: &'a str,
}

/// Builds the network. `vpc_cidr` is the module variable.
pub fn build(
    scope: &mut Scope<'_>,
    env: &Env,
    vpc_cidr: &Expr,
    az_ids: &Expr,
    app_key: &Address,
) -> Network {
    let vpc = vpc(scope, vpc_cidr);
    let subnets = private_subnets(scope, &vpc, vpc_cidr, az_ids);
    let sgs = security_groups(scope, &vpc);
    let endpoints = endpoints(scope, env, &vpc, &subnets, &sgs);
    security_group_rules(scope, &sgs, &endpoints.dynamodb);

    let dsg = scope
        .named(
            "aws_db_subnet_group",
            "this",
            &Name::of(NameKind::DbSubnetGroup),
        )
        .set("description", "Private subnets of the Aurora cluster")
        .set("subnet_ids", splat_ids(&subnets.subnets));
    let db_subnet_group = scope.add(dsg);

    flow_logs(scope, env, &vpc, app_key);

    Network {
        vpc,
        subnets: subnets.subnets,
        route_tables: subnets.route_tables,
        sg_aurora: sgs.aurora,
        sg_lambda: sgs.lambda,
        sg_endpoints: sgs.endpoints,
        db_subnet_group,
        dynamodb_endpoint: endpoints.dynamodb,
        interface_endpoints: endpoints.interface,
    }
}

/// `ADDRESS[*].id`
fn splat_ids(a: &Address) -> Expr {
    a.reference().splat().attr("id").expr()
}

/// The VPC, with its default security group locked down.
fn vpc(scope: &mut Scope<'_>, vpc_cidr: &Expr) -> Address {
    let vpc = scope.named("aws_vpc", "this", &Name::of(NameKind::Vpc));
    let vpc = vpc
        .set("cidr_block", vpc_cidr.clone())
        .set("enable_dns_support", true)
        .set("enable_dns_hostnames", true);
    let vpc = scope.add(vpc);

    // Lock the default security group down: no rules at all.
    let dsg = scope
        .named(
            "aws_default_security_group",
            "this",
            &Name::of(NameKind::DefaultSecurityGroup),
        )
        .set("vpc_id", vpc.attr("id"));
    scope.add(dsg);
    vpc
}

/// One private subnet and route table per availability zone id.
fn private_subnets(
    scope: &mut Scope<'_>,
    vpc: &Address,
    vpc_cidr: &Expr,
    az_ids: &Expr,
) -> Subnets {
    let az_count = call("length", vec![az_ids.clone()]);

    let subnet = scope
        .named("aws_subnet", "private", &Name::of(NameKind::PrivateSubnet))
        .count(az_count.clone())
        .set("vpc_id", vpc.attr("id"))
        .set(
            "cidr_block",
            call(
                "cidrsubnet",
                vec![vpc_cidr.clone(), Expr::Int(4), count_index()],
            ),
        )
        .set(
            "availability_zone_id",
            call("element", vec![az_ids.clone(), count_index()]),
        )
        .set("map_public_ip_on_launch", false);
    let subnets = scope.add(subnet);

    let rt = scope
        .named(
            "aws_route_table",
            "private",
            &Name::of(NameKind::PrivateRouteTable),
        )
        .count(az_count.clone())
        .set("vpc_id", vpc.attr("id"));
    let route_tables = scope.add(rt);

    let assoc = scope
        .unnamed("aws_route_table_association", "private")
        .count(az_count)
        .set(
            "subnet_id",
            call("element", vec![splat_ids(&subnets), count_index()]),
        )
        .set(
            "route_table_id",
            call("element", vec![splat_ids(&route_tables), count_index()]),
        );
    scope.add(assoc);
    Subnets {
        subnets,
        route_tables,
    }
}

/// The security groups of Aurora, the function and the endpoints.
fn security_groups(scope: &mut Scope<'_>, vpc: &Address) -> SecurityGroups {
    let mut sg = |local: &str, kind: NameKind, what: &str| {
        let d = scope
            .named("aws_security_group", local, &Name::of(kind))
            .set("description", what)
            .set("vpc_id", vpc.attr("id"))
            .set("revoke_rules_on_delete", true);
        scope.add(d)
    };
    SecurityGroups {
        aurora: sg(
            "aurora",
            NameKind::SecurityGroupAurora,
            "Aurora PostgreSQL: 5432 from the payment function only",
        ),
        lambda: sg(
            "lambda",
            NameKind::SecurityGroupLambda,
            "Payment function: egress to Aurora and the VPC endpoints only",
        ),
        endpoints: sg(
            "endpoints",
            NameKind::SecurityGroupEndpoints,
            "VPC interface endpoints: 443 from the payment function only",
        ),
    }
}

/// The DynamoDB gateway endpoint and the [`INTERFACE_ENDPOINTS`].
fn endpoints(
    scope: &mut Scope<'_>,
    env: &Env,
    vpc: &Address,
    subnets: &Subnets,
    sgs: &SecurityGroups,
) -> Endpoints {
    let dynamodb = scope
        .named(
            "aws_vpc_endpoint",
            "dynamodb",
            &Name::of(NameKind::VpcEndpointDynamodb),
        )
        .set("vpc_id", vpc.attr("id"))
        .set("service_name", service_name(env, "dynamodb"))
        .set("vpc_endpoint_type", "Gateway")
        .set("route_table_ids", splat_ids(&subnets.route_tables));
    let dynamodb = scope.add(dynamodb);

    let mut interface = Vec::new();
    for svc in INTERFACE_ENDPOINTS {
        let d = scope
            .named(
                "aws_vpc_endpoint",
                svc,
                &Name::qualified(NameKind::VpcEndpointInterface, svc),
            )
            .set("vpc_id", vpc.attr("id"))
            .set("service_name", service_name(env, svc))
            .set("vpc_endpoint_type", "Interface")
            .set("private_dns_enabled", true)
            .set("subnet_ids", splat_ids(&subnets.subnets))
            .set("security_group_ids", list([sgs.endpoints.attr("id")]));
        interface.push(scope.add(d));
    }
    Endpoints {
        dynamodb,
        interface,
    }
}

/// The rules, one resource each (`aws_vpc_security_group_*_rule`).
fn security_group_rules(scope: &mut Scope<'_>, sgs: &SecurityGroups, dynamodb: &Address) {
    let sg_ref = |a: &Address| ("referenced_security_group_id", a.attr("id"));
    let rules = [
        Rule {
            kind: "ingress",
            local: "aurora_from_lambda",
            sg: &sgs.aurora,
            port: 5432,
            peer: sg_ref(&sgs.lambda),
            desc: "PostgreSQL from the payment function",
        },
        Rule {
            kind: "ingress",
            local: "endpoints_from_lambda",
            sg: &sgs.endpoints,
            port: 443,
            peer: sg_ref(&sgs.lambda),
            desc: "HTTPS from the payment function",
        },
        Rule {
            kind: "egress",
            local: "lambda_to_aurora",
            sg: &sgs.lambda,
            port: 5432,
            peer: sg_ref(&sgs.aurora),
            desc: "PostgreSQL to Aurora",
        },
        Rule {
            kind: "egress",
            local: "lambda_to_endpoints",
            sg: &sgs.lambda,
            port: 443,
            peer: sg_ref(&sgs.endpoints),
            desc: "HTTPS to the interface endpoints",
        },
        Rule {
            kind: "egress",
            local: "lambda_to_dynamodb",
            sg: &sgs.lambda,
            port: 443,
            peer: ("prefix_list_id", dynamodb.attr("prefix_list_id")),
            desc: "HTTPS to DynamoDB through the gateway endpoint",
        },
    ];
    for r in rules {
        let rtype = format!("aws_vpc_security_group_{}_rule", r.kind);
        let d = scope
            .named(
                &rtype,
                r.local,
                &Name::qualified(NameKind::SecurityGroupRule, &r.local.replace('_', "-")),
            )
            .set("security_group_id", r.sg.attr("id"))
            .set("description", r.desc)
            .set("ip_protocol", "tcp")
            .set("from_port", Expr::Int(r.port))
            .set("to_port", Expr::Int(r.port))
            .set(r.peer.0, r.peer.1);
        scope.add(d);
    }
}

/// `com.amazonaws.REGION.SERVICE`
fn service_name(env: &Env, svc: &str) -> Expr {
    tpl(vec![
        lit("com.amazonaws."),
        interp(env.region.clone()),
        lit(&format!(".{svc}")),
    ])
}

/// VPC flow logs to an encrypted CloudWatch log group, through a role that
/// may only write to it.
fn flow_logs(scope: &mut Scope<'_>, env: &Env, vpc: &Address, key: &Address) -> Address {
    use super::{assume_role, log_group, policy, source_account, Statement};
    let lg = log_group(scope, "flow_logs", &Name::of(NameKind::FlowLogGroup), key);
    let role = scope
        .named(
            "aws_iam_role",
            "flow_logs",
            &Name::of(NameKind::FlowLogsRole),
        )
        .set(
            "description",
            "Lets VPC Flow Logs write to this region's flow log group",
        )
        .set(
            "assume_role_policy",
            assume_role("vpc-flow-logs.amazonaws.com", Some(source_account(env))),
        );
    let role = scope.add(role);
    let streams = tpl(vec![interp(lg.attr("arn")), lit(":*")]);
    let pol = scope
        .named(
            "aws_iam_role_policy",
            "flow_logs",
            &Name::of(NameKind::FlowLogsPolicy),
        )
        .set("role", role.attr("id"))
        .set(
            "policy",
            policy(&[Statement::allow(
                "WriteFlowLogs",
                &[
                    "logs:CreateLogStream",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                vec![lg.attr("arn"), streams],
            )]),
        );
    let pol = scope.add(pol);
    let f = scope
        .named("aws_flow_log", "vpc", &Name::of(NameKind::FlowLog))
        .set("vpc_id", vpc.attr("id"))
        .set("traffic_type", "ALL")
        .set("log_destination_type", "cloud-watch-logs")
        .set("log_destination", lg.attr("arn"))
        .set("iam_role_arn", role.attr("arn"))
        .set("max_aggregation_interval", Expr::Int(60))
        .depends_on(&pol);
    scope.add(f)
}
