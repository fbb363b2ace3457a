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

/// Builds the network. `vpc_cidr` is the module variable.
pub fn build(
    scope: &mut Scope<'_>,
    env: &Env,
    vpc_cidr: &Expr,
    az_ids: &Expr,
    app_key: &Address,
) -> Network {
    let vpc = scope.named("aws_vpc", "this", &Name::of(NameKind::Vpc));
    let vpc = vpc
        .set("cidr_block", vpc_cidr.clone())
        .set("enable_dns_support", true)
        .set("enable_dns_hostnames", true);
    let vpc = scope.add(vpc);
    let vpc_id = vpc.attr("id");

    // Lock the default security group down: no rules at all.
    let dsg = scope
        .named(
            "aws_default_security_group",
            "this",
            &Name::of(NameKind::DefaultSecurityGroup),
        )
        .set("vpc_id", vpc_id.clone());
    scope.add(dsg);

    let az_count = call("length", vec![az_ids.clone()]);

    let subnet = scope
        .named("aws_subnet", "private", &Name::of(NameKind::PrivateSubnet))
        .count(az_count.clone())
        .set("vpc_id", vpc_id.clone())
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
        .set("vpc_id", vpc_id.clone());
    let route_tables = scope.add(rt);

    let assoc = scope
        .unnamed("aws_route_table_association", "private")
        .count(az_count)
        .set(
            "subnet_id",
            call(
                "element",
                vec![subnets.reference().splat().attr("id").expr(), count_index()],
            ),
        )
        .set(
            "route_table_id",
            call(
                "element",
                vec![
                    route_tables.reference().splat().attr("id").expr(),
                    count_index(),
                ],
            ),
        );
    scope.add(assoc);

    let sg = |scope: &mut Scope<'_>, local: &str, kind: NameKind, what: &str| {
        let d = scope
            .named("aws_security_group", local, &Name::of(kind))
            .set("description", what)
            .set("vpc_id", vpc_id.clone())
            .set("revoke_rules_on_delete", true);
        scope.add(d)
    };
    let sg_aurora = sg(
        scope,
        "aurora",
        NameKind::SecurityGroupAurora,
        "Aurora PostgreSQL: 5432 from the payment function only",
    );
    let sg_lambda = sg(
        scope,
        "lambda",
        NameKind::SecurityGroupLambda,
        "Payment function: egress to Aurora and the VPC endpoints only",
    );
    let sg_endpoints = sg(
        scope,
        "endpoints",
        NameKind::SecurityGroupEndpoints,
        "VPC interface endpoints: 443 from the payment function only",
    );

    let dynamodb = scope
        .named(
            "aws_vpc_endpoint",
            "dynamodb",
            &Name::of(NameKind::VpcEndpointDynamodb),
        )
        .set("vpc_id", vpc_id.clone())
        .set("service_name", service_name(env, "dynamodb"))
        .set("vpc_endpoint_type", "Gateway")
        .set(
            "route_table_ids",
            route_tables.reference().splat().attr("id").expr(),
        );
    let dynamodb_endpoint = scope.add(dynamodb);

    let mut interface_endpoints = Vec::new();
    for svc in INTERFACE_ENDPOINTS {
        let d = scope
            .named(
                "aws_vpc_endpoint",
                svc,
                &Name::qualified(NameKind::VpcEndpointInterface, svc),
            )
            .set("vpc_id", vpc_id.clone())
            .set("service_name", service_name(env, svc))
            .set("vpc_endpoint_type", "Interface")
            .set("private_dns_enabled", true)
            .set("subnet_ids", subnets.reference().splat().attr("id").expr())
            .set("security_group_ids", list([sg_endpoints.attr("id")]));
        interface_endpoints.push(scope.add(d));
    }

    // Rules, one resource each (aws_vpc_security_group_*_rule).
    let rule = |scope: &mut Scope<'_>,
                kind: &str,
                local: &str,
                sg: &Address,
                port: i64,
                peer: (&str, Expr),
                desc: &str| {
        let rtype = format!("aws_vpc_security_group_{kind}_rule");
        let d = scope
            .named(
                &rtype,
                local,
                &Name::qualified(NameKind::SecurityGroupRule, &local.replace('_', "-")),
            )
            .set("security_group_id", sg.attr("id"))
            .set("description", desc)
            .set("ip_protocol", "tcp")
            .set("from_port", Expr::Int(port))
            .set("to_port", Expr::Int(port))
            .set(peer.0, peer.1);
        scope.add(d)
    };
    let sg_ref = |a: &Address| ("referenced_security_group_id", a.attr("id"));
    rule(
        scope,
        "ingress",
        "aurora_from_lambda",
        &sg_aurora,
        5432,
        sg_ref(&sg_lambda),
        "PostgreSQL from the payment function",
    );
    rule(
        scope,
        "ingress",
        "endpoints_from_lambda",
        &sg_endpoints,
        443,
        sg_ref(&sg_lambda),
        "HTTPS from the payment function",
    );
    rule(
        scope,
        "egress",
        "lambda_to_aurora",
        &sg_lambda,
        5432,
        sg_ref(&sg_aurora),
        "PostgreSQL to Aurora",
    );
    rule(
        scope,
        "egress",
        "lambda_to_endpoints",
        &sg_lambda,
        443,
        sg_ref(&sg_endpoints),
        "HTTPS to the interface endpoints",
    );
    rule(
        scope,
        "egress",
        "lambda_to_dynamodb",
        &sg_lambda,
        443,
        ("prefix_list_id", dynamodb_endpoint.attr("prefix_list_id")),
        "HTTPS to DynamoDB through the gateway endpoint",
    );

    let dsg = scope
        .named(
            "aws_db_subnet_group",
            "this",
            &Name::of(NameKind::DbSubnetGroup),
        )
        .set("description", "Private subnets of the Aurora cluster")
        .set("subnet_ids", subnets.reference().splat().attr("id").expr());
    let db_subnet_group = scope.add(dsg);

    flow_logs(scope, env, &vpc, app_key);

    Network {
        vpc,
        subnets,
        route_tables,
        sg_aurora,
        sg_lambda,
        sg_endpoints,
        db_subnet_group,
        dynamodb_endpoint,
        interface_endpoints,
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
