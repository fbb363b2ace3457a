//! `drgen posture` on the sample environments and on configurations that
//! break each goal (the generated files are edited as a hand edit would).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

fn tree(env: &str) -> BTreeMap<String, Value> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let envs = drgen::project::load(&repo, &[env.to_owned()]).unwrap();
    let files = drgen::project::render(&drgen::project::build(&envs));
    files
        .into_iter()
        .filter(|(k, _)| k.ends_with(".tf.json"))
        .map(|(k, v)| (k, serde_json::from_str(&v).unwrap()))
        .collect()
}

fn failed(t: &BTreeMap<String, Value>, env: &str) -> Vec<String> {
    drgen::posture::assess(env, t)
        .items
        .into_iter()
        .filter(|i| !i.ok)
        .map(|i| i.what)
        .collect()
}

fn edit(t: &mut BTreeMap<String, Value>, file: &str, path: &[&str], v: Option<Value>) {
    let mut cur = t.get_mut(file).unwrap();
    for k in &path[..path.len() - 1] {
        cur = cur.get_mut(*k).unwrap_or_else(|| panic!("{k}"));
    }
    let last = path[path.len() - 1];
    let obj = cur.as_object_mut().unwrap();
    match v {
        Some(v) => obj.insert(last.to_owned(), v),
        None => obj.remove(last),
    };
}

#[test]
fn prod_meets_every_goal() {
    let t = tree("prod");
    let p = drgen::posture::assess("prod", &t);
    assert!(p.ok(), "{}", p.render());
    assert_eq!(p.items.len(), 7);
    let rto = p.items.iter().find(|i| i.what.starts_with("RTO")).unwrap();
    assert_eq!(rto.expected, "91 s = 10x3 + 60 + 1");
}

#[test]
fn dev_has_no_client_failover() {
    assert_eq!(failed(&tree("dev"), "dev"), ["RTO (Route 53 failover)"]);
}

#[test]
fn slow_health_checks_break_rto() {
    let mut t = tree("prod");
    let f = "modules/global/main.tf.json";
    edit(
        &mut t,
        f,
        &[
            "resource",
            "aws_route53_health_check",
            "primary",
            "request_interval",
        ],
        Some(json!(30)),
    );
    assert_eq!(failed(&t, "prod"), ["RTO (Route 53 failover)"]);
}

#[test]
fn missing_primary_health_check_breaks_rto() {
    let mut t = tree("prod");
    edit(
        &mut t,
        "modules/global/main.tf.json",
        &[
            "resource",
            "aws_route53_record",
            "failover_primary",
            "health_check_id",
        ],
        None,
    );
    assert_eq!(failed(&t, "prod"), ["RTO (Route 53 failover)"]);
}

#[test]
fn no_secondary_cluster_breaks_ledger_rpo() {
    let mut t = tree("prod");
    edit(
        &mut t,
        "modules/dr/main.tf.json",
        &[
            "resource",
            "aws_rds_cluster",
            "this",
            "global_cluster_identifier",
        ],
        None,
    );
    assert_eq!(failed(&t, "prod"), ["RPO ledger (Aurora global database)"]);
}

#[test]
fn loose_lag_alarm_breaks_ledger_rpo() {
    let mut t = tree("prod");
    for side in ["primary", "dr"] {
        edit(
            &mut t,
            "modules/global/main.tf.json",
            &[
                "resource",
                "aws_cloudwatch_metric_alarm",
                &format!("{side}_aurora_lag"),
                "threshold",
            ],
            Some(json!(5000)),
        );
    }
    assert_eq!(failed(&t, "prod"), ["RPO ledger (Aurora global database)"]);
}

#[test]
fn no_replica_breaks_sessions_rpo() {
    let mut t = tree("prod");
    edit(
        &mut t,
        "modules/global/main.tf.json",
        &["resource", "aws_dynamodb_table", "sessions", "replica"],
        None,
    );
    assert_eq!(failed(&t, "prod"), ["RPO sessions (DynamoDB global table)"]);
}

#[test]
fn no_rtc_breaks_object_rpo() {
    let mut t = tree("prod");
    edit(
        &mut t,
        "modules/dr/main.tf.json",
        &[
            "resource",
            "aws_s3_bucket_replication_configuration",
            "to_dr",
            "rule",
            "destination",
            "replication_time",
        ],
        None,
    );
    assert_eq!(failed(&t, "prod"), ["RPO objects (S3 replication)"]);
}

#[test]
fn state_in_the_primary_region_breaks_the_state_goal() {
    let mut t = tree("prod");
    edit(
        &mut t,
        "envs/prod/global/versions.tf.json",
        &["terraform", "backend", "s3", "region"],
        Some(json!("us-east-1")),
    );
    assert_eq!(failed(&t, "prod"), ["state of layer global"]);
}

#[test]
fn cli_posture_exit_codes() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    assert_cmd::Command::cargo_bin("drgen")
        .unwrap()
        .arg("--repo")
        .arg(&repo)
        .args(["posture", "--env", "prod"])
        .assert()
        .code(0);
    assert_cmd::Command::cargo_bin("drgen")
        .unwrap()
        .arg("--repo")
        .arg(&repo)
        .args(["posture", "--env", "dev"])
        .assert()
        .code(1);
    assert_cmd::Command::cargo_bin("drgen")
        .unwrap()
        .arg("--repo")
        .arg(&repo)
        .args(["posture", "--env", "nope"])
        .assert()
        .code(2)
        .stderr("error: unknown environment \"nope\"; available: dev, prod\n");
}
