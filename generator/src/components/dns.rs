//! Route 53 (pitfalls 23, 26-28): the zone (created or looked up), an
//! operator record and an HTTPS health check per regional API, and, when a
//! custom domain is set, per region a certificate, a REGIONAL API Gateway
//! domain name with its base path mapping, and two failover alias records.
//! Failover is decided by health checks: no apply during an incident.

use crate::model::expr::{bin, call, interp, list, lit, tpl, Expr, Op, Ref, Root};
use crate::model::{Address, Body, Condition, Lifecycle, Scope};
use crate::policy::naming::{Name, NameKind};

/// Health check cadence: 10 s x 3 failures = 30 s to unhealthy.
pub const HEALTH_INTERVAL_S: i64 = 10;
pub const HEALTH_FAILURE_THRESHOLD: i64 = 3;
/// TTL of the operator records (alias records have none of their own).
pub const RECORD_TTL_S: i64 = 60;
/// The health route, relative to the stage. `require=writable` makes it
/// fail while the region's database is read-only (passive).
pub const HEALTH_PATH: &str = "/health?require=writable";

/// One region's API, as the regional layers output it.
#[derive(Debug, Clone)]
pub struct RegionalApi {
    /// `primary` or `dr`.
    pub key: &'static str,
    pub api_id: Expr,
    pub stage_name: Expr,
    pub host: Expr,
}

/// Zone inputs.
#[derive(Debug, Clone)]
pub struct DnsInputs {
    pub zone_name: Expr,
    pub create_zone: Expr,
    /// Nullable: null means no custom domain (mode a).
    pub custom_domain: Expr,
    /// Nullable object `{ primary, dr }` of existing certificate ARNs.
    pub certificate_arns: Expr,
}

/// What monitoring needs.
#[derive(Debug, Clone)]
pub struct Dns {
    pub zone_id: Expr,
    /// Health check per region key.
    pub health_checks: Vec<(&'static str, Address)>,
}

fn cond_count(c: Expr) -> Expr {
    Expr::Cond(Box::new(c), Box::new(Expr::Int(1)), Box::new(Expr::Int(0)))
}

fn first(a: &Address, attr: &str) -> Expr {
    a.reference().index(0).attr(attr).expr()
}

/// The zone, the operator records and the health checks. `scopes` gives
/// one scope per region (the health checks are named with its region).
pub fn build(scope: &mut Scope<'_>, inputs: &DnsInputs) -> Expr {
    let z = scope
        .named("aws_route53_zone", "this", &Name::of(NameKind::Zone))
        .count(cond_count(inputs.create_zone.clone()))
        .set("name", inputs.zone_name.clone())
        .set("comment", "Payment API failover zone (managed by drgen)")
        .set("force_destroy", true);
    let created = scope.add(z);
    let d = scope
        .data("aws_route53_zone", "this")
        .count(cond_count(Expr::Not(Box::new(inputs.create_zone.clone()))))
        .set("name", inputs.zone_name.clone())
        .set("private_zone", false);
    let looked_up = scope.add(d);
    let zone_id = Expr::Cond(
        Box::new(inputs.create_zone.clone()),
        Box::new(first(&created, "zone_id")),
        Box::new(first(&looked_up, "zone_id")),
    );
    scope.module().local("zone_id", zone_id)
}

/// Operator record and health check of one region.
pub fn regional(
    scope: &mut Scope<'_>,
    zone_id: &Expr,
    zone_name: &Expr,
    api: &RegionalApi,
) -> (Address, Address) {
    let rec = scope
        .unnamed("aws_route53_record", &format!("api_{}", api.key))
        .set("zone_id", zone_id.clone())
        .set(
            "name",
            tpl(vec![
                lit(&format!("api-{}.", api.key)),
                interp(zone_name.clone()),
            ]),
        )
        .set("type", "CNAME")
        .set("ttl", Expr::Int(RECORD_TTL_S))
        .set("records", list([api.host.clone()]));
    let rec = scope.add(rec);
    let hc = scope
        .named(
            "aws_route53_health_check",
            api.key,
            &Name::of(NameKind::HealthCheck),
        )
        .set("type", "HTTPS")
        .set("fqdn", api.host.clone())
        .set("port", Expr::Int(443))
        .set(
            "resource_path",
            tpl(vec![
                lit("/"),
                interp(api.stage_name.clone()),
                lit(HEALTH_PATH),
            ]),
        )
        .set("enable_sni", true)
        .set("request_interval", Expr::Int(HEALTH_INTERVAL_S))
        .set("failure_threshold", Expr::Int(HEALTH_FAILURE_THRESHOLD))
        .set("measure_latency", true);
    let hc = scope.add(hc);
    (rec, hc)
}

/// Custom-domain parts of one region: certificate (managed or given),
/// REGIONAL domain name, base path mapping. Returns the domain name.
pub fn custom_domain(
    scope: &mut Scope<'_>,
    inputs: &DnsInputs,
    zone_id: &Expr,
    api: &RegionalApi,
    validation_record: Option<&Address>,
) -> (Address, Address, Option<Address>) {
    let enabled = bin(Op::Ne, inputs.custom_domain.clone(), Expr::Null);
    let managed = Expr::Binary(
        Op::And,
        Box::new(enabled.clone()),
        Box::new(bin(Op::Eq, inputs.certificate_arns.clone(), Expr::Null)),
    );
    let cert = scope
        .named(
            "aws_acm_certificate",
            api.key,
            &Name::of(NameKind::Certificate),
        )
        .count(cond_count(managed.clone()))
        .set("domain_name", inputs.custom_domain.clone())
        .set("validation_method", "DNS")
        .lifecycle(Lifecycle {
            create_before_destroy: true,
            ..Lifecycle::default()
        });
    let cert = scope.add(cert);
    let option = |key: &str, field: &str| {
        let opts = Ref::new(Root::Resource("aws_acm_certificate".into(), key.into()))
            .index(0)
            .attr("domain_validation_options")
            .expr();
        call(
            "lookup",
            vec![
                call("element", vec![call("tolist", vec![opts]), Expr::Int(0)]),
                Expr::from(field),
            ],
        )
    };
    // A validation record is made once, from the primary certificate: ACM
    // gives the same record for the same name in every region of an account.
    let record = match validation_record {
        Some(r) => r.clone(),
        None => {
            let field = |f: &str| option(api.key, f);
            let r = scope
                .unnamed("aws_route53_record", "certificate_validation")
                .count(cond_count(managed.clone()))
                .set("zone_id", zone_id.clone())
                .set("name", field("resource_record_name"))
                .set("type", field("resource_record_type"))
                .set("records", list([field("resource_record_value")]))
                .set("ttl", Expr::Int(RECORD_TTL_S))
                .set("allow_overwrite", true);
            scope.add(r)
        }
    };
    let mut preconditions = Vec::new();
    if validation_record.is_some() {
        preconditions.push(Condition {
            condition: bin(
                Op::Eq,
                option(api.key, "resource_record_name"),
                option("primary", "resource_record_name"),
            ),
            error_message: "ACM gave this region's certificate a different validation record than the primary's; add a record for it.".into(),
        });
    }
    let validation = scope
        .unnamed("aws_acm_certificate_validation", api.key)
        .count(cond_count(managed))
        .set("certificate_arn", first(&cert, "arn"))
        .set("validation_record_fqdns", list([first(&record, "fqdn")]))
        .lifecycle(Lifecycle {
            preconditions,
            ..Lifecycle::default()
        });
    let validation = scope.add(validation);
    let cert_arn = Expr::Cond(
        Box::new(bin(Op::Eq, inputs.certificate_arns.clone(), Expr::Null)),
        Box::new(call(
            "one",
            vec![validation
                .reference()
                .splat()
                .attr("certificate_arn")
                .expr()],
        )),
        Box::new(call(
            "lookup",
            vec![
                call(
                    "coalesce",
                    vec![
                        inputs.certificate_arns.clone(),
                        crate::model::expr::object(Vec::<(String, Expr)>::new()),
                    ],
                ),
                Expr::from(api.key),
                Expr::Null,
            ],
        )),
    );
    let dn = scope
        .named(
            "aws_api_gateway_domain_name",
            api.key,
            &Name::of(NameKind::ApiDomain),
        )
        .count(cond_count(enabled.clone()))
        .set("domain_name", inputs.custom_domain.clone())
        .set("regional_certificate_arn", cert_arn)
        .set("security_policy", "TLS_1_2")
        .block(
            "endpoint_configuration",
            Body::new().set("types", list([Expr::from("REGIONAL")])),
        );
    let dn = scope.add(dn);
    let map = scope
        .unnamed("aws_api_gateway_base_path_mapping", api.key)
        .count(cond_count(enabled))
        .set("api_id", api.api_id.clone())
        .set("stage_name", api.stage_name.clone())
        .set("domain_name", first(&dn, "domain_name"));
    scope.add(map);
    (dn, record, Some(validation))
}

/// A failover alias record to a regional domain name.
pub fn failover_record(
    scope: &mut Scope<'_>,
    inputs: &DnsInputs,
    zone_id: &Expr,
    key: &str,
    primary: bool,
    domain: &Address,
    health_check: Option<&Address>,
) -> Address {
    let enabled = bin(Op::Ne, inputs.custom_domain.clone(), Expr::Null);
    let mut r = scope
        .unnamed("aws_route53_record", &format!("failover_{key}"))
        .count(cond_count(enabled))
        .set("zone_id", zone_id.clone())
        .set("name", inputs.custom_domain.clone())
        .set("type", "A")
        .set("set_identifier", key)
        .block(
            "failover_routing_policy",
            Body::new().set("type", if primary { "PRIMARY" } else { "SECONDARY" }),
        )
        .block(
            "alias",
            Body::new()
                .set("name", first(domain, "regional_domain_name"))
                .set("zone_id", first(domain, "regional_zone_id"))
                .set("evaluate_target_health", true),
        );
    if let Some(hc) = health_check {
        r = r.set("health_check_id", hc.attr("id"));
    }
    scope.add(r)
}
