//! `drgen posture`: the DR posture of one environment, read from the
//! generated configuration (not from hand-kept numbers): expected RPO per
//! data store, expected RTO, and where each layer's state lives. Goals:
//! RPO <= 1 s for the ledger and sessions, <= 15 min for objects;
//! RTO <= 2 min; state readable while the primary region is down.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::json_path::{blocks, first, get, num, resources};
use crate::tfcheck::{references, Step};

/// Goals.
pub const RPO_LEDGER_S: f64 = 1.0;
pub const RPO_SESSIONS_S: f64 = 1.0;
pub const RPO_OBJECTS_S: f64 = 15.0 * 60.0;
pub const RTO_S: f64 = 120.0;
/// Resolvers cache an alias to an API Gateway regional domain for the
/// target's TTL, which AWS sets to 60 s.
pub const ALIAS_TTL_S: f64 = 60.0;
/// Lambda and API Gateway are deployed and warm in both regions: a cold
/// start of the Rust function is well under 1 s.
pub const WARM_STATE_S: f64 = 1.0;

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub what: String,
    pub expected: String,
    pub goal: String,
    pub ok: bool,
    pub basis: String,
}

/// The posture of an environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Posture {
    pub env: String,
    pub items: Vec<Item>,
}

impl Posture {
    /// Whether every goal holds.
    pub fn ok(&self) -> bool {
        self.items.iter().all(|i| i.ok)
    }

    /// A plain-text table.
    pub fn render(&self) -> String {
        let mut s = format!("DR posture of environment {}\n", self.env);
        for i in &self.items {
            let _ = writeln!(
                s,
                "{} {:<34} expected {:<28} goal {:<22} ({})",
                if i.ok { "ok  " } else { "FAIL" },
                i.what,
                i.expected,
                i.goal,
                i.basis
            );
        }
        let failed = self.items.iter().filter(|i| !i.ok).count();
        let _ = writeln!(
            s,
            "{} of {} goals met",
            self.items.len() - failed,
            self.items.len()
        );
        s
    }
}

fn alarm_threshold(global: Option<&Value>, metric: &str) -> Option<f64> {
    resources(global, "aws_cloudwatch_metric_alarm")
        .into_iter()
        .filter(|(_, b)| b.get("metric_name").and_then(Value::as_str) == Some(metric))
        .filter_map(|(_, b)| num(b.get("threshold")))
        .reduce(f64::max)
}

/// The generated files of one environment that posture reads.
struct Files<'a> {
    env: &'a str,
    files: &'a BTreeMap<String, Value>,
    dr_mod: Option<&'a Value>,
    global_mod: Option<&'a Value>,
}

impl<'a> Files<'a> {
    fn new(env: &'a str, files: &'a BTreeMap<String, Value>) -> Self {
        Files {
            env,
            files,
            dr_mod: files.get("modules/dr/main.tf.json"),
            global_mod: files.get("modules/global/main.tf.json"),
        }
    }

    /// A file of the environment's root of `layer`.
    fn root(&self, layer: &str, file: &str) -> Option<&'a Value> {
        self.files.get(&format!("envs/{}/{layer}/{file}", self.env))
    }
}

/// Assesses an environment from its generated files (repo-relative paths).
pub fn assess(env: &str, files: &BTreeMap<String, Value>) -> Posture {
    let f = Files::new(env, files);
    let mut items = vec![rpo_ledger(&f), rpo_sessions(&f), rpo_objects(&f), rto(&f)];
    items.extend(state(&f));
    Posture {
        env: env.to_owned(),
        items,
    }
}

/// Ledger: Aurora global database with a secondary, and a lag alarm.
fn rpo_ledger(f: &Files<'_>) -> Item {
    let secondary = resources(f.dr_mod, "aws_rds_cluster")
        .into_iter()
        .any(|(_, b)| b.get("global_cluster_identifier").is_some());
    let lag = alarm_threshold(f.global_mod, "AuroraGlobalDBReplicationLag").map(|ms| ms / 1000.0);
    match (secondary, lag) {
        (true, Some(s)) => Item {
            what: "RPO ledger (Aurora global database)".into(),
            expected: format!("<= {s} s (storage replication)"),
            goal: format!("<= {RPO_LEDGER_S} s"),
            ok: s <= RPO_LEDGER_S,
            basis: "secondary cluster in the dr layer; lag alarm threshold".into(),
        },
        _ => Item {
            what: "RPO ledger (Aurora global database)".into(),
            expected: "last backup (up to 24 h)".into(),
            goal: format!("<= {RPO_LEDGER_S} s"),
            ok: false,
            basis: "no secondary cluster or no replication lag alarm".into(),
        },
    }
}

/// Sessions: DynamoDB global table with a replica.
fn rpo_sessions(f: &Files<'_>) -> Item {
    let replica = resources(f.global_mod, "aws_dynamodb_table")
        .into_iter()
        .any(|(_, b)| !blocks(b.get("replica")).is_empty());
    let ddb = alarm_threshold(f.global_mod, "ReplicationLatency").map(|ms| ms / 1000.0);
    match (replica, ddb) {
        (true, Some(s)) => Item {
            what: "RPO sessions (DynamoDB global table)".into(),
            expected: format!("<= {s} s (async replication)"),
            goal: format!("<= {RPO_SESSIONS_S} s"),
            ok: s <= RPO_SESSIONS_S,
            basis: "replica in the DR region; replication latency alarm threshold".into(),
        },
        _ => Item {
            what: "RPO sessions (DynamoDB global table)".into(),
            expected: "point-in-time restore only".into(),
            goal: format!("<= {RPO_SESSIONS_S} s"),
            ok: false,
            basis: "no replica or no replication latency alarm".into(),
        },
    }
}

/// Objects: S3 replication with RTC.
fn rpo_objects(f: &Files<'_>) -> Item {
    let rtc = resources(f.dr_mod, "aws_s3_bucket_replication_configuration")
        .into_iter()
        .filter_map(|(_, b)| {
            let dest = first(first(b.get("rule")).and_then(|r| r.get("destination")));
            num(first(
                first(dest.and_then(|d| d.get("replication_time"))).and_then(|t| t.get("time")),
            )
            .and_then(|t| t.get("minutes")))
        })
        .reduce(f64::max);
    Item {
        what: "RPO objects (S3 replication)".into(),
        expected: rtc.map_or("no replication time SLA".into(), |m| {
            format!("<= {m} min (RTC)")
        }),
        goal: format!("<= {} min", RPO_OBJECTS_S / 60.0),
        ok: rtc.is_some_and(|m| m * 60.0 <= RPO_OBJECTS_S),
        basis: "replication_time of the replication rule".into(),
    }
}

/// The health check a record's `health_check_id` refers to
/// (`${aws_route53_health_check.NAME.id}`), found with the reference
/// parser.
fn health_check<'a>(global: Option<&'a Value>, record: &Value) -> Option<&'a Value> {
    const HEALTH_CHECK: &str = "aws_route53_health_check";
    let id = record.get("health_check_id").and_then(Value::as_str)?;
    let name = references(id).into_iter().find_map(|(root, steps)| {
        match (root.as_str(), steps.first()) {
            (HEALTH_CHECK, Some(Step::Attr(name))) => Some(name.clone()),
            _ => None,
        }
    })?;
    resources(global, HEALTH_CHECK)
        .into_iter()
        .find(|(n, _)| **n == name)
        .map(|(_, b)| b)
}

/// RTO: health checks decide, the alias TTL expires, both regions warm.
fn rto(f: &Files<'_>) -> Item {
    let custom = f
        .root("global", "main.tf.json")
        .and_then(|g| get(g, &["module", "global", "custom_domain_name"]))
        .is_some_and(|v| !v.is_null());
    let failover = resources(f.global_mod, "aws_route53_record")
        .into_iter()
        .find(|(_, b)| {
            first(b.get("failover_routing_policy"))
                .and_then(|p| p.get("type"))
                .and_then(Value::as_str)
                == Some("PRIMARY")
        });
    let hc = failover.and_then(|(_, b)| health_check(f.global_mod, b));
    match (custom, hc) {
        (true, Some(h)) => {
            let interval = num(h.get("request_interval")).unwrap_or(30.0);
            let threshold = num(h.get("failure_threshold")).unwrap_or(3.0);
            let rto = interval * threshold + ALIAS_TTL_S + WARM_STATE_S;
            Item {
                what: "RTO (Route 53 failover)".into(),
                expected: format!("{rto} s = {interval}x{threshold} + {ALIAS_TTL_S} + {WARM_STATE_S}"),
                goal: format!("<= {RTO_S} s"),
                ok: rto <= RTO_S,
                basis: "health interval x threshold + alias TTL + warm standby; writes also need the Aurora promotion (runbook)".into(),
            }
        }
        _ => Item {
            what: "RTO (Route 53 failover)".into(),
            expected: "manual: clients must switch hosts".into(),
            goal: format!("<= {RTO_S} s"),
            ok: false,
            basis: "no custom domain with a health-checked PRIMARY failover record".into(),
        },
    }
}

/// State: every layer's backend must be outside the primary region.
fn state(f: &Files<'_>) -> Vec<Item> {
    let primary_region = f
        .root("primary", "main.tf.json")
        .and_then(|m| first(get(m, &["provider", "aws"])))
        .and_then(|p| p.get("region"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    crate::layers::LAYERS
        .iter()
        .map(|layer| {
            let layer = layer.to_string();
            let backend = f
                .root(&layer, "versions.tf.json")
                .and_then(|v| get(v, &["terraform", "backend", "s3"]));
            let region = backend
                .and_then(|b| b.get("region"))
                .and_then(Value::as_str)
                .unwrap_or("(none)");
            let bucket = backend
                .and_then(|b| b.get("bucket"))
                .and_then(Value::as_str)
                .unwrap_or("(none)");
            Item {
                what: format!("state of layer {layer}"),
                expected: format!("s3://{bucket} in {region}"),
                goal: format!("readable without {primary_region}"),
                ok: backend.is_some() && region != primary_region,
                basis: "backend region of the root".into(),
            }
        })
        .collect()
}
