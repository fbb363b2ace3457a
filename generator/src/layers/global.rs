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
use crate::policy::Scope;

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

/// The module's variables (the `primary` and `dr` sides are read through
/// [`field`]).
struct Inputs {
    suffix: Expr,
    zone_name: Expr,
    create_zone: Expr,
    custom_domain: Expr,
    certificate_arns: Expr,
    truststore: Expr,
}

/// The region names of the two providers (`id`: the region name in
/// provider 5.x and 6.x alike).
struct Regions {
    primary: Expr,
    dr: Expr,
}

/// What one region's side of the global layer made.
struct Side {
    domain: Address,
    health_check: Address,
    alarms: Vec<Address>,
}

/// The table, the zone and both sides.
struct Parts {
    table: Address,
    zone_id: Expr,
    primary: Side,
    dr: Side,
}

/// Builds `modules/global`.
pub fn module() -> Module {
    let mut m = Module::new(
        DIR,
        ModuleKind::Reusable,
        "Global layer of the payment stack: DynamoDB global table for sessions, Route 53 zone with health checks and failover, one dashboard over both regions, and alarms in each region. The default aws provider is the primary region; aws.dr is the DR region.",
        versions(),
    );
    let inputs = declare_inputs(&mut m);
    let regions = lookup_regions(&mut m, &inputs.suffix);
    let suffix = inputs.suffix.clone();
    let dns = dns_inputs(&mut m, inputs, &regions);
    let views = region_views(&regions);
    let parts = wire_regions(&mut m, &suffix, &dns, &regions, &views);
    let dashboard = wire_failover(&mut m, &dns, &regions, &views, &parts);
    declare_outputs(&mut m, &parts, &dashboard);
    m
}

/// Declares every variable of the module.
fn declare_inputs(m: &mut Module) -> Inputs {
    let suffix = vars::suffix(m);
    let zone_name = vars::matching(
        m,
        "zone_name",
        "Route 53 zone of the payment API, e.g. payments.example.com.",
        r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        "a lowercase domain name",
    );
    let create_zone = declare(
        m,
        "create_zone",
        TypeExpr::Bool,
        "Create the zone (true) or look up an existing public zone (false).",
        None,
    );
    let custom_domain = declare_custom_domain(m);
    let certificate_arns = declare(
        m,
        "certificate_arns",
        TypeExpr::object([("primary", TypeExpr::String), ("dr", TypeExpr::String)]),
        "Existing ACM certificates of the custom domain per region; null for managed certificates validated in the zone.",
        Some(Expr::Null),
    );
    let truststore = declare_truststore(m);
    declare(
        m,
        "primary",
        side_type(),
        "The primary layer's outputs this layer uses.",
        None,
    );
    declare(
        m,
        "dr",
        side_type(),
        "The dr layer's outputs this layer uses.",
        None,
    );
    Inputs {
        suffix,
        zone_name,
        create_zone,
        custom_domain,
        certificate_arns,
        truststore,
    }
}

/// `custom_domain_name`: null, or a name inside the zone.
fn declare_custom_domain(m: &mut Module) -> Expr {
    vars::variable(
        m,
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
    )
}

/// `truststore`: null, or an S3 object of the primary bucket.
fn declare_truststore(m: &mut Module) -> Expr {
    vars::variable(
        m,
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
    )
}

/// What names are made of in one region.
fn names(suffix: &Expr, region: &Expr) -> NameContext {
    NameContext {
        suffix: suffix.clone(),
        region: region.clone(),
        account: Expr::Null,
    }
}

/// The `aws_region` data sources of both providers.
fn lookup_regions(m: &mut Module, suffix: &Expr) -> Regions {
    let mut s = m.scope(None, names(suffix, &Expr::Null));
    let p = s.add(s.data("aws_region", "primary"));
    drop(s);
    let mut s = m.scope(Some(dr_provider()), names(suffix, &Expr::Null));
    let d = s.add(s.data("aws_region", "dr"));
    Regions {
        primary: p.attr("id"),
        dr: d.attr("id"),
    }
}

fn dr_provider() -> ProviderRef {
    ProviderRef::aliased("aws", "dr")
}

/// The zone inputs, with the mutual TLS locals they derive.
fn dns_inputs(m: &mut Module, inputs: Inputs, regions: &Regions) -> DnsInputs {
    let (mtls, truststore_key) = {
        let mut s = m.scope(None, names(&inputs.suffix, &regions.primary));
        dns::mtls_locals(
            &mut s,
            &inputs.custom_domain,
            &inputs.truststore,
            &field("primary", "s3_bucket_name"),
        )
    };
    DnsInputs {
        zone_name: inputs.zone_name,
        create_zone: inputs.create_zone,
        custom_domain: inputs.custom_domain,
        certificate_arns: inputs.certificate_arns,
        truststore: inputs.truststore,
        mtls,
        truststore_key,
    }
}

/// One side's API, from its layer's outputs.
fn regional_api(key: &'static str) -> RegionalApi {
    RegionalApi {
        key,
        api_id: field(key, "api_id"),
        stage_name: field(key, "api_stage_name"),
        host: field(key, "api_host"),
        health_api_id: field(key, "health_api_id"),
        health_stage_name: field(key, "health_api_stage_name"),
        bucket_name: field(key, "s3_bucket_name"),
    }
}

/// Both sides as the monitoring sees them: primary, then dr.
fn region_views(regions: &Regions) -> [RegionView; 2] {
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
    [
        view("primary", &regions.primary, &regions.dr),
        view("dr", &regions.dr, &regions.primary),
    ]
}

/// The session table and the zone (primary region), then each side's
/// custom domain, health check and alarms in its own region.
fn wire_regions(
    m: &mut Module,
    suffix: &Expr,
    dns: &DnsInputs,
    regions: &Regions,
    views: &[RegionView; 2],
) -> Parts {
    let mut sp = m.scope(None, names(suffix, &regions.primary));
    let table = sessions::build(&mut sp, &regions.dr);
    let zone_id = dns::build(&mut sp, dns);
    let (primary, validation) = wire_side(&mut sp, dns, &zone_id, &views[0], &table, None);
    drop(sp);

    let mut sd = m.scope(Some(dr_provider()), names(suffix, &regions.dr));
    let (dr, _) = wire_side(&mut sd, dns, &zone_id, &views[1], &table, Some(&validation));
    Parts {
        table,
        zone_id,
        primary,
        dr,
    }
}

/// One side: custom domain, operator record and health check, alarms.
/// Returns the side and the custom domain's validation record.
fn wire_side(
    s: &mut Scope<'_>,
    dns: &DnsInputs,
    zone_id: &Expr,
    view: &RegionView,
    table: &Address,
    validation_record: Option<&Address>,
) -> (Side, Address) {
    let api = regional_api(view.key);
    let cd = dns::custom_domain(s, dns, zone_id, &api, validation_record);
    let (_, health_check) = dns::regional(s, zone_id, &dns.zone_name, &api, dns, &cd.health_domain);
    let alarms = monitoring::regional_alarms(s, view, table);
    let side = Side {
        domain: cd.domain,
        health_check,
        alarms,
    };
    (side, cd.validation_record)
}

/// In the primary region: the failover records, the dashboard and the
/// health check alarms. Returns the dashboard.
fn wire_failover(
    m: &mut Module,
    dns: &DnsInputs,
    regions: &Regions,
    views: &[RegionView; 2],
    p: &Parts,
) -> Address {
    let mut sp = m.scope(None, names(&var("environment_suffix"), &regions.primary));
    dns::failover_record(
        &mut sp,
        dns,
        &p.zone_id,
        "primary",
        true,
        &p.primary.domain,
        Some(&p.primary.health_check),
    );
    dns::failover_record(&mut sp, dns, &p.zone_id, "dr", false, &p.dr.domain, None);
    let health = [
        ("primary", p.primary.health_check.clone()),
        ("dr", p.dr.health_check.clone()),
    ];
    let dashboard = monitoring::dashboard(
        &mut sp,
        &p.table,
        views,
        &health,
        &regions.primary,
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
    dashboard
}

/// Declares the module's outputs.
fn declare_outputs(m: &mut Module, p: &Parts, dashboard: &Address) {
    let outputs = [
        (
            "dynamodb_table_name",
            "Name of the session global table.",
            p.table.attr("name"),
        ),
        (
            "dynamodb_table_arn",
            "ARN of the session global table (primary region).",
            p.table.attr("arn"),
        ),
        (
            "route53_zone_id",
            "Id of the zone.",
            crate::model::expr::local("zone_id"),
        ),
        (
            "route53_health_check_primary_id",
            "Health check of the primary API.",
            p.primary.health_check.attr("id"),
        ),
        (
            "route53_health_check_dr_id",
            "Health check of the DR API.",
            p.dr.health_check.attr("id"),
        ),
        (
            "cloudwatch_dashboard_name",
            "Name of the dashboard.",
            dashboard.attr("dashboard_name"),
        ),
        (
            "cloudwatch_alarm_names",
            "Names of the regional alarms.",
            crate::model::expr::list(
                p.primary
                    .alarms
                    .iter()
                    .chain(p.dr.alarms.iter())
                    .map(|a| a.attr("alarm_name")),
            ),
        ),
    ];
    for (name, description, value) in outputs {
        m.output(name, description, value);
    }
}

/// Builds `envs/<env>/global`.
pub fn root(env: &Env, module: &Module) -> Module {
    let f = &env.file;
    let mut root = Module::new(
        &root_dir(&env.name, Layer::Global),
        ModuleKind::Root {
            env: env.name.clone(),
            layer: Layer::Global,
        },
        &format!("global layer of environment {}", env.name),
        super::roots::terraform(env, Layer::Global),
    );
    root.provider(aws_provider(env, &f.regions.primary, None));
    root.provider(aws_provider(env, &f.regions.dr, Some("dr")));
    let states: Vec<(Layer, Address)> = [Layer::Primary, Layer::Dr]
        .into_iter()
        .map(|l| (l, remote_state(&mut root, env, l)))
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
        args.insert(layer.as_str().to_owned(), obj);
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
