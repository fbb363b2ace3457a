//! Route 53 (pitfalls 23, 26-28): the zone (created or looked up), an
//! operator record and an HTTPS health check per regional API, and, when a
//! custom domain is set, per region a certificate, a REGIONAL API Gateway
//! domain name with its base path mapping, and two failover alias records.
//! Failover is decided by health checks: no apply during an incident.

use crate::model::expr::{bin, call, interp, list, lit, tpl, Expr, Op, Ref, Root};
use crate::model::{Address, Body, Condition, Lifecycle};
use crate::policy::naming::{Name, NameKind};
use crate::policy::Scope;

/// Health check cadence: 10 s x 3 failures = 30 s to unhealthy.
pub const HEALTH_INTERVAL_S: i64 = 10;
pub use crate::policy::constants::HEALTH_FAILURE_THRESHOLD;
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
    /// The health-only REST API and its stage ("" without mutual TLS).
    pub health_api_id: Expr,
    pub health_stage_name: Expr,
    /// The region's payments bucket (the truststore's replica lives there).
    pub bucket_name: Expr,
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
    /// Nullable object `{ uri, version }`: the mutual TLS truststore, an
    /// object of the primary payments bucket.
    pub truststore: Expr,
    /// `local.mtls`: a custom domain with a truststore.
    pub mtls: Expr,
    /// `local.truststore_key`: the truststore's object key ("" without).
    pub truststore_key: Expr,
}

/// The name of a region's health custom domain: `health-{key}.{zone}`.
/// Route 53 health checks reach the region through it when the shared
/// name requires client certificates.
pub fn health_domain_name(key: &str, zone_name: &Expr) -> Expr {
    tpl(vec![
        lit(&format!("health-{key}.")),
        interp(zone_name.clone()),
    ])
}

/// The mTLS locals of the global module: whether mutual TLS is on, and the
/// truststore's key (the DR replica has the same key and version id).
pub fn mtls_locals(
    scope: &mut Scope<'_>,
    custom_domain: &Expr,
    truststore: &Expr,
    primary_bucket: &Expr,
) -> (Expr, Expr) {
    let mtls = Expr::Binary(
        Op::And,
        Box::new(bin(Op::Ne, custom_domain.clone(), Expr::Null)),
        Box::new(bin(Op::Ne, truststore.clone(), Expr::Null)),
    );
    let mtls = scope.module().local("mtls", mtls);
    let uri = Ref::new(Root::Var("truststore".into())).attr("uri").expr();
    let key = Expr::Cond(
        Box::new(bin(Op::Eq, truststore.clone(), Expr::Null)),
        Box::new(Expr::from("")),
        Box::new(call(
            "trimprefix",
            vec![
                uri,
                tpl(vec![lit("s3://"), interp(primary_bucket.clone()), lit("/")]),
            ],
        )),
    );
    let key = scope.module().local("truststore_key", key);
    (mtls, key)
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
    inputs: &DnsInputs,
    health_domain: &Address,
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
        // With mutual TLS, the execute-api host is disabled and the shared
        // name wants a client certificate: the health check goes to the
        // region's health domain, mapped (base path "") to the health-only
        // API, so the path has no stage prefix.
        .set(
            "fqdn",
            Expr::Cond(
                Box::new(inputs.mtls.clone()),
                Box::new(call(
                    "one",
                    vec![health_domain.reference().splat().attr("domain_name").expr()],
                )),
                Box::new(api.host.clone()),
            ),
        )
        .set("port", Expr::Int(443))
        .set(
            "resource_path",
            Expr::Cond(
                Box::new(inputs.mtls.clone()),
                Box::new(Expr::from(HEALTH_PATH)),
                Box::new(tpl(vec![
                    lit("/"),
                    interp(api.stage_name.clone()),
                    lit(HEALTH_PATH),
                ])),
            ),
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
) -> CustomDomainParts {
    let enabled = bin(Op::Ne, inputs.custom_domain.clone(), Expr::Null);
    let health_name = health_domain_name(api.key, &inputs.zone_name);
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
        // The region's health domain (mutual TLS only) is on the same
        // certificate.
        .set(
            "subject_alternative_names",
            Expr::Cond(
                Box::new(inputs.mtls.clone()),
                Box::new(list([health_name.clone()])),
                Box::new(list(Vec::<Expr>::new())),
            ),
        )
        .set("validation_method", "DNS")
        .lifecycle(Lifecycle {
            create_before_destroy: true,
            ..Lifecycle::default()
        });
    let cert = scope.add(cert);
    // The validation option of one name: domain_validation_options is a
    // set with one entry per name (the custom domain and, with mutual TLS,
    // the health domain), picked by domain_name.
    let option_of = |key: &str, name: &Expr, field: &str| {
        let opts = Ref::new(Root::Resource("aws_acm_certificate".into(), key.into()))
            .index(0)
            .attr("domain_validation_options")
            .expr();
        let o = || Ref::new(Root::Iter("o".into()));
        let by_name = call(
            "zipmap",
            vec![
                Expr::ForList {
                    var: "o".into(),
                    coll: Box::new(opts.clone()),
                    body: Box::new(o().attr("domain_name").expr()),
                },
                Expr::ForList {
                    var: "o".into(),
                    coll: Box::new(opts),
                    body: Box::new(o().attr(field).expr()),
                },
            ],
        );
        call("lookup", vec![by_name, name.clone()])
    };
    let option = |key: &str, field: &str| option_of(key, &inputs.custom_domain, field);
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
    // The health domain's validation record, from this region's certificate.
    let managed_mtls = Expr::Binary(
        Op::And,
        Box::new(managed.clone()),
        Box::new(inputs.mtls.clone()),
    );
    let hfield = |f: &str| option_of(api.key, &health_name, f);
    let hr = scope
        .unnamed(
            "aws_route53_record",
            &format!("certificate_validation_health_{}", api.key),
        )
        .count(cond_count(managed_mtls))
        .set("zone_id", zone_id.clone())
        .set("name", hfield("resource_record_name"))
        .set("type", hfield("resource_record_type"))
        .set("records", list([hfield("resource_record_value")]))
        .set("ttl", Expr::Int(RECORD_TTL_S))
        .set("allow_overwrite", true);
    let health_record = scope.add(hr);
    let validation = scope
        .unnamed("aws_acm_certificate_validation", api.key)
        .count(cond_count(managed))
        .set("certificate_arn", first(&cert, "arn"))
        .set(
            "validation_record_fqdns",
            call(
                "concat",
                vec![
                    list([first(&record, "fqdn")]),
                    health_record.reference().splat().attr("fqdn").expr(),
                ],
            ),
        )
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
    // Mutual TLS: each region reads the truststore from its own payments
    // bucket (API Gateway wants it in the domain's region): the primary
    // object, or its replica in the DR bucket (same key, same version id).
    let truststore_uri = tpl(vec![
        lit("s3://"),
        interp(api.bucket_name.clone()),
        lit("/"),
        interp(inputs.truststore_key.clone()),
    ]);
    let version = Ref::new(Root::Var("truststore".into()))
        .attr("version")
        .expr();
    let mut preconditions = Vec::new();
    if api.key == "primary" {
        preconditions.push(Condition {
            condition: Expr::Cond(
                Box::new(bin(Op::Eq, inputs.truststore.clone(), Expr::Null)),
                Box::new(Expr::Bool(true)),
                Box::new(bin(
                    Op::Eq,
                    Ref::new(Root::Var("truststore".into())).attr("uri").expr(),
                    truststore_uri.clone(),
                )),
            ),
            error_message: "truststore.uri must be an object of the primary payments bucket (S3 replication copies it, with its version id, to the DR bucket).".into(),
        });
    }
    let dn = scope
        .named(
            "aws_api_gateway_domain_name",
            api.key,
            &Name::of(NameKind::ApiDomain),
        )
        .count(cond_count(enabled.clone()))
        .set("domain_name", inputs.custom_domain.clone())
        .set("regional_certificate_arn", cert_arn.clone())
        .set("security_policy", "TLS_1_2")
        .block(
            "endpoint_configuration",
            Body::new().set("types", list([Expr::from("REGIONAL")])),
        )
        .block(
            "dynamic",
            Body::new().block(
                "mutual_tls_authentication",
                Body::new()
                    .set(
                        "for_each",
                        Expr::Cond(
                            Box::new(inputs.mtls.clone()),
                            Box::new(list([Expr::from("on")])),
                            Box::new(list(Vec::<Expr>::new())),
                        ),
                    )
                    .block(
                        "content",
                        Body::new()
                            .set("truststore_uri", truststore_uri)
                            .set("truststore_version", version),
                    ),
            ),
        )
        .lifecycle(Lifecycle {
            preconditions,
            ..Lifecycle::default()
        });
    let dn = scope.add(dn);
    let map = scope
        .unnamed("aws_api_gateway_base_path_mapping", api.key)
        .count(cond_count(enabled))
        .set("api_id", api.api_id.clone())
        .set("stage_name", api.stage_name.clone())
        .set("domain_name", first(&dn, "domain_name"));
    scope.add(map);

    // The health domain: no client certificate, mapped to the health-only
    // API (GET /health is its only route), with its own alias record.
    let hd = scope
        .named(
            "aws_api_gateway_domain_name",
            &format!("health_{}", api.key),
            &Name::of(NameKind::HealthDomain),
        )
        .count(cond_count(inputs.mtls.clone()))
        .set("domain_name", health_name.clone())
        .set("regional_certificate_arn", cert_arn)
        .set("security_policy", "TLS_1_2")
        .block(
            "endpoint_configuration",
            Body::new().set("types", list([Expr::from("REGIONAL")])),
        );
    let health_domain = scope.add(hd);
    let hm = scope
        .unnamed(
            "aws_api_gateway_base_path_mapping",
            &format!("health_{}", api.key),
        )
        .count(cond_count(inputs.mtls.clone()))
        .set("api_id", api.health_api_id.clone())
        .set("stage_name", api.health_stage_name.clone())
        .set("domain_name", first(&health_domain, "domain_name"));
    scope.add(hm);
    let ha = scope
        .unnamed("aws_route53_record", &format!("health_{}", api.key))
        .count(cond_count(inputs.mtls.clone()))
        .set("zone_id", zone_id.clone())
        .set("name", first(&health_domain, "domain_name"))
        .set("type", "A")
        .block(
            "alias",
            Body::new()
                .set("name", first(&health_domain, "regional_domain_name"))
                .set("zone_id", first(&health_domain, "regional_zone_id"))
                .set("evaluate_target_health", false),
        );
    scope.add(ha);
    CustomDomainParts {
        domain: dn,
        validation_record: record,
        health_domain,
    }
}

/// What [`custom_domain`] made.
#[derive(Debug, Clone)]
pub struct CustomDomainParts {
    pub domain: Address,
    /// The custom domain's certificate validation record (made once).
    pub validation_record: Address,
    pub health_domain: Address,
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
