//! The global layer: `modules/global` and `envs/<env>/global`. The session
//! global table, Route 53 (zone, health checks, failover), the dashboard and
//! the alarms of both regions. It reads the primary and dr layers through
//! remote state.

use std::collections::BTreeMap;

use crate::components::dns::{self, DnsInputs, RegionalApi};
use crate::components::monitoring::{self, AlarmSpec, RegionView};
use crate::components::sessions;
use crate::config::Env;
use crate::model::expr::{object, var, Expr, Ref, Root};
use crate::model::{
    Address, Layer, Module, ModuleCall, ModuleKind, ProviderRef, RequiredProvider, TerraformBlock,
    TypeExpr,
};
use crate::policy::naming::NameContext;

use super::roots::{aws_provider, dir as root_dir, remote_output, remote_state};
use super::{vars, AWS_FLOOR, TERRAFORM_FLOOR};

/// The module directory.
pub const DIR: &str = "modules/global";
/// The replication rule id the dr layer sets (dashboard dimension).
pub const REPLICATION_RULE: &str = "payments-to-dr";

/// Fields each regional side passes in (from its layer's outputs).
pub const SIDE_FIELDS: &[(&str, &str)] = &[
    ("api_id", "api_id"),
    ("api_name", "api_name"),
    ("api_stage_name", "api_stage_name"),
    ("api_host", "api_host"),
    ("lambda_function_name", "lambda_function_name"),
    ("rds_cluster_id", "rds_cluster_id"),
    ("s3_bucket_name", "s3_bucket_name"),
    ("sns_topic_arn", "sns_topic_arn"),
    ("health_api_id", "health_api_id"),
    ("health_api_stage_name", "health_api_stage_name"),
];

fn side_type() -> TypeExpr {
    TypeExpr::object(SIDE_FIELDS.iter().map(|(f, _)| (*f, TypeExpr::String)))
}

fn field(side: &str, f: &str) -> Expr {
    Ref::new(Root::Var(side.to_owned())).attr(f).expr()
}

fn declare(
    m: &mut Module,
    name: &str,
    ty: TypeExpr,
    description: &str,
    default: Option<Expr>,
) -> Expr {
    vars::variable(m, name, ty, description, default, vec![])
}

fn versions() -> TerraformBlock {
    let mut rp = BTreeMap::new();
    rp.insert(
        "aws".to_owned(),
        RequiredProvider {
            source: "hashicorp/aws".into(),
            version: AWS_FLOOR.into(),
            configuration_aliases: vec![ProviderRef::aliased("aws", "dr")],
        },
    );
    TerraformBlock {
        required_version: TERRAFORM_FLOOR.into(),
        required_providers: rp,
        backend: None,
    }
}

/// Builds `modules/global`.
pub fn module() -> Module {
    let mut m = Module::new(
        DIR,
        ModuleKind::Reusable,
        "Global layer of the payment stack: DynamoDB global table for sessions, Route 53 zone with health checks and failover, one dashboard over both regions, and alarms in each region. The default aws provider is the primary region; aws.dr is the DR region.",
        versions(),
    );
    let suffix = vars::suffix(&mut m);
    let zone_name = vars::matching(
        &mut m,
        "zone_name",
        "Route 53 zone of the payment API, e.g. payments.example.com.",
        r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        "a lowercase domain name",
    );
    let create_zone = declare(
        &mut m,
        "create_zone",
        TypeExpr::Bool,
        "Create the zone (true) or look up an existing public zone (false).",
        None,
    );
    let custom_domain = vars::variable(
        &mut m,
        "custom_domain_name",
        TypeExpr::String,
        "Custom domain for client failover (mode b), inside the zone; null for mode (a): operator records only.",
        Some(Expr::Null),
        // A conditional, not `||`: Terraform evaluates both sides of `||`,
        // and endswith(null, ...) fails (invariant P42).
        vec![crate::model::Condition {
            condition: Expr::Cond(
                Box::new(crate::model::expr::bin(crate::model::expr::Op::Eq, var("custom_domain_name"), Expr::Null)),
                Box::new(Expr::Bool(true)),
                Box::new(crate::model::expr::call(
                    "endswith",
                    vec![
                        var("custom_domain_name"),
                        crate::model::expr::tpl(vec![crate::model::expr::lit("."), crate::model::expr::interp(var("zone_name"))]),
                    ],
                )),
            ),
            error_message: "custom_domain_name must be inside zone_name.".into(),
        }],
    );
    let cert_arns = declare(
        &mut m,
        "certificate_arns",
        TypeExpr::object([("primary", TypeExpr::String), ("dr", TypeExpr::String)]),
        "Existing ACM certificates of the custom domain per region; null for managed certificates validated in the zone.",
        Some(Expr::Null),
    );
    let truststore = vars::variable(
        &mut m,
        "truststore",
        TypeExpr::object([("uri", TypeExpr::String), ("version", TypeExpr::String)]),
        "Mutual TLS on the custom domain: the truststore (CA bundle) as an object of the primary payments bucket, s3://BUCKET/KEY, and its S3 version id; the DR domain uses the replica in the DR bucket (same key and version id). null: no mutual TLS.",
        Some(Expr::Null),
        vec![crate::model::Condition {
            condition: Expr::Cond(
                Box::new(crate::model::expr::bin(crate::model::expr::Op::Eq, var("truststore"), Expr::Null)),
                Box::new(Expr::Bool(true)),
                Box::new(crate::model::expr::call(
                    "can",
                    vec![crate::model::expr::call(
                        "regex",
                        vec![
                            Expr::from("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+$"),
                            Ref::new(Root::Var("truststore".into())).attr("uri").expr(),
                        ],
                    )],
                )),
            ),
            error_message: "truststore.uri must be s3://BUCKET/KEY.".into(),
        }],
    );
    declare(
        &mut m,
        "primary",
        side_type(),
        "The primary layer's outputs this layer uses.",
        None,
    );
    declare(
        &mut m,
        "dr",
        side_type(),
        "The dr layer's outputs this layer uses.",
        None,
    );

    let dr_provider = ProviderRef::aliased("aws", "dr");
    let names0 = NameContext {
        suffix: suffix.clone(),
        region: Expr::Null,
        account: Expr::Null,
    };
    let (region_p, region_d) = {
        let mut s = m.scope(None, names0.clone());
        let p = s.add(s.data("aws_region", "primary"));
        drop(s);
        let mut s = m.scope(Some(dr_provider.clone()), names0);
        let d = s.add(s.data("aws_region", "dr"));
        // `id`: the region name in provider 5.x and 6.x alike.
        (p.attr("id"), d.attr("id"))
    };
    let names_p = NameContext {
        suffix: suffix.clone(),
        region: region_p.clone(),
        account: Expr::Null,
    };
    let names_d = NameContext {
        suffix,
        region: region_d.clone(),
        account: Expr::Null,
    };

    let (mtls, truststore_key) = {
        let mut s = m.scope(None, names_p.clone());
        dns::mtls_locals(
            &mut s,
            &custom_domain,
            &truststore,
            &field("primary", "s3_bucket_name"),
        )
    };
    let inputs = DnsInputs {
        zone_name: zone_name.clone(),
        create_zone,
        custom_domain,
        certificate_arns: cert_arns,
        truststore,
        mtls,
        truststore_key,
    };
    let api = |key: &'static str| RegionalApi {
        key,
        api_id: field(key, "api_id"),
        stage_name: field(key, "api_stage_name"),
        host: field(key, "api_host"),
        health_api_id: field(key, "health_api_id"),
        health_stage_name: field(key, "health_api_stage_name"),
        bucket_name: field(key, "s3_bucket_name"),
    };
    let view = |key: &'static str, region: &Expr, other: &Expr| RegionView {
        key,
        region: region.clone(),
        other_region: other.clone(),
        api_name: field(key, "api_name"),
        stage_name: field(key, "api_stage_name"),
        function_name: field(key, "lambda_function_name"),
        cluster_id: field(key, "rds_cluster_id"),
        bucket_name: field(key, "s3_bucket_name"),
        topic_arn: field(key, "sns_topic_arn"),
    };
    let views = [
        view("primary", &region_p, &region_d),
        view("dr", &region_d, &region_p),
    ];

    // Primary-region scope: table, zone, failover records, dashboard.
    let mut sp = m.scope(None, names_p);
    let table = sessions::build(&mut sp, &region_d);
    let zone_id = dns::build(&mut sp, &inputs);
    let cd_p = dns::custom_domain(&mut sp, &inputs, &zone_id, &api("primary"), None);
    let (_, hc_p) = dns::regional(
        &mut sp,
        &zone_id,
        &zone_name,
        &api("primary"),
        &inputs,
        &cd_p.health_domain,
    );
    let dn_p = cd_p.domain.clone();
    let alarms_p = monitoring::regional_alarms(&mut sp, &views[0], &table);
    drop(sp);

    let mut sd = m.scope(Some(dr_provider), names_d);
    let cd_d = dns::custom_domain(
        &mut sd,
        &inputs,
        &zone_id,
        &api("dr"),
        Some(&cd_p.validation_record),
    );
    let (_, hc_d) = dns::regional(
        &mut sd,
        &zone_id,
        &zone_name,
        &api("dr"),
        &inputs,
        &cd_d.health_domain,
    );
    let dn_d = cd_d.domain.clone();
    let alarms_d = monitoring::regional_alarms(&mut sd, &views[1], &table);
    drop(sd);

    let mut sp = m.scope(
        None,
        NameContext {
            suffix: var("environment_suffix"),
            region: region_p.clone(),
            account: Expr::Null,
        },
    );
    dns::failover_record(
        &mut sp,
        &inputs,
        &zone_id,
        "primary",
        true,
        &dn_p,
        Some(&hc_p),
    );
    dns::failover_record(&mut sp, &inputs, &zone_id, "dr", false, &dn_d, None);
    let health = [("primary", hc_p.clone()), ("dr", hc_d.clone())];
    let dashboard = monitoring::dashboard(
        &mut sp,
        &table,
        &views,
        &health,
        &region_p,
        REPLICATION_RULE,
    );
    // Route 53 metrics exist only in us-east-1: health alarms go to the
    // primary region's topic.
    for (key, hc) in &health {
        monitoring::alarm(
            &mut sp,
            &format!("{key}_health"),
            AlarmSpec {
                qualifier: format!("{key}-health"),
                description: format!("Route 53 health check of the {key} API is failing"),
                namespace: "AWS/Route53",
                metric: "HealthCheckStatus",
                dims: vec![("HealthCheckId", hc.attr("id"))],
                statistic: "Minimum",
                comparison: "LessThanThreshold",
                threshold: 1,
                periods: 2,
                topic: field("primary", "sns_topic_arn"),
            },
        );
    }
    drop(sp);

    let out = |m: &mut Module, n: &str, d: &str, v: Expr| m.output(n, d, v);
    out(
        &mut m,
        "dynamodb_table_name",
        "Name of the session global table.",
        table.attr("name"),
    );
    out(
        &mut m,
        "dynamodb_table_arn",
        "ARN of the session global table (primary region).",
        table.attr("arn"),
    );
    out(
        &mut m,
        "route53_zone_id",
        "Id of the zone.",
        crate::model::expr::local("zone_id"),
    );
    out(
        &mut m,
        "route53_health_check_primary_id",
        "Health check of the primary API.",
        hc_p.attr("id"),
    );
    out(
        &mut m,
        "route53_health_check_dr_id",
        "Health check of the DR API.",
        hc_d.attr("id"),
    );
    out(
        &mut m,
        "cloudwatch_dashboard_name",
        "Name of the dashboard.",
        dashboard.attr("dashboard_name"),
    );
    out(
        &mut m,
        "cloudwatch_alarm_names",
        "Names of the regional alarms.",
        crate::model::expr::list(
            alarms_p
                .iter()
                .chain(alarms_d.iter())
                .map(|a| a.attr("alarm_name")),
        ),
    );
    m
}

/// Builds `envs/<env>/global`.
pub fn root(env: &Env, module: &Module) -> Module {
    let f = &env.file;
    let mut root = Module::new(
        &root_dir(&env.name, Layer::Global.as_str()),
        ModuleKind::Root {
            env: env.name.clone(),
            layer: Layer::Global,
        },
        &format!("global layer of environment {}", env.name),
        super::roots::terraform(env, "global"),
    );
    root.provider(aws_provider(env, &f.regions.primary, None));
    root.provider(aws_provider(env, &f.regions.dr, Some("dr")));
    let states: Vec<(&str, Address)> = ["primary", "dr"]
        .iter()
        .map(|l| (*l, remote_state(&mut root, env, l)))
        .collect();

    let mut args: BTreeMap<String, Expr> = BTreeMap::new();
    args.insert(
        "environment_suffix".into(),
        Expr::from(f.environment_suffix.as_str()),
    );
    let dns = f.dns.clone();
    let zone = dns.as_ref().map_or_else(
        || format!("{}.internal.example", f.environment_suffix),
        |d| d.zone_name.clone(),
    );
    args.insert("zone_name".into(), Expr::from(zone));
    args.insert(
        "create_zone".into(),
        Expr::Bool(dns.as_ref().is_none_or(|d| d.create_zone)),
    );
    let custom = dns.as_ref().and_then(|d| d.custom_domain.clone());
    args.insert(
        "custom_domain_name".into(),
        custom
            .as_ref()
            .map_or(Expr::Null, |c| Expr::from(c.name.as_str())),
    );
    args.insert(
        "truststore".into(),
        super::roots::mtls(env).map_or(Expr::Null, |t| {
            object([
                ("uri", Expr::from(t.uri.as_str())),
                ("version", Expr::from(t.version.as_str())),
            ])
        }),
    );
    args.insert(
        "certificate_arns".into(),
        custom
            .and_then(|c| c.certificate_arns)
            .map_or(Expr::Null, |a| {
                object([
                    ("primary", Expr::from(a.primary.as_str())),
                    ("dr", Expr::from(a.dr.as_str())),
                ])
            }),
    );
    for (layer, state) in &states {
        let obj = object(
            SIDE_FIELDS
                .iter()
                .map(|(k, out)| (*k, remote_output(state, out))),
        );
        args.insert((*layer).to_owned(), obj);
    }
    let mut providers = BTreeMap::new();
    providers.insert(
        "aws".to_owned(),
        ProviderRef {
            name: "aws".into(),
            alias: None,
        },
    );
    providers.insert("aws.dr".to_owned(), ProviderRef::aliased("aws", "dr"));
    root.call(ModuleCall {
        name: "global".into(),
        source: format!("../../../{DIR}"),
        args,
        providers,
        depends_on: vec![],
    });
    super::roots::forward_outputs(&mut root, module, "global");
    root
}
