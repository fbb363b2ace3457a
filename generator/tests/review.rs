//! `drgen review`: Terraform plans (`terraform show -json`) against the
//! generator's policies.
//!
//! The fixtures in `tests/fixtures/plans/` are hand-written plans of env
//! `prod`, one clean plan per layer, plus malformed ones. Every rule is
//! broken by mutating a clean plan here, in both `resource_changes` and
//! `planned_values`, the way Terraform would print the broken plan.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use drgen::review::{self, plan, Expectations, Finding, Format, Options, Report, Severity};

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans")
}

/// The real repository: `envs/prod/env.toml` is the environment the
/// fixtures were written for.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn expectations(env: bool) -> Expectations {
    let envs = if env {
        drgen::project::load(&repo(), &["prod".to_owned()]).expect("envs/prod/env.toml loads")
    } else {
        Vec::new()
    };
    let project = drgen::project::build(&envs);
    Expectations::new(&project, envs.first()).expect("expectations")
}

/// Reviews a plan document in the library, with `--env prod`.
fn run(doc: &Value, allow_destroy: bool) -> Report {
    let text = serde_json::to_string(doc).expect("serialize");
    let p = plan::parse("plan.json", &text).expect("plan parses");
    review::review(
        &p,
        &expectations(true),
        "plan.json",
        Options { allow_destroy },
    )
}

fn errors(r: &Report) -> Vec<&Finding> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

fn show(r: &Report) -> String {
    r.render(Format::Table)
}

fn cmd() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("drgen").expect("drgen binary")
}

/// Runs `drgen --repo REPO review plan.json ARGS` on a document in a
/// temporary directory.
fn cli(doc: &Value, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("plan.json"),
        serde_json::to_string_pretty(doc).expect("serialize"),
    )
    .expect("write plan");
    cmd()
        .current_dir(dir.path())
        .arg("--repo")
        .arg(repo())
        .arg("review")
        .arg("plan.json")
        .args(args)
        .output()
        .expect("drgen runs")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

// ---------------------------------------------------------------------------
// Plan mutations
// ---------------------------------------------------------------------------

fn walk<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Value {
    let mut cur = v;
    for step in path {
        cur = match step.parse::<usize>() {
            Ok(i) if cur.is_array() => &mut cur[i],
            _ => {
                if cur.get(*step).is_none() {
                    cur[*step] = json!({});
                }
                &mut cur[*step]
            }
        };
    }
    cur
}

fn planned_resources(doc: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    let Some(root) = doc["planned_values"]["root_module"].as_object_mut() else {
        return out;
    };
    for (k, v) in root.iter_mut() {
        match k.as_str() {
            "resources" => out.extend(v.as_array_mut().into_iter().flatten()),
            "child_modules" => {
                for c in v.as_array_mut().into_iter().flatten() {
                    out.extend(c["resources"].as_array_mut().into_iter().flatten());
                }
            }
            _ => {}
        }
    }
    out
}

fn change_of<'a>(doc: &'a mut Value, address: &str) -> &'a mut Value {
    doc["resource_changes"]
        .as_array_mut()
        .expect("resource_changes")
        .iter_mut()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("no change for {address}"))
}

/// Sets a planned value (in `change.after` and `planned_values`) and marks it known.
fn set(doc: &mut Value, address: &str, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().expect("path");
    let c = change_of(doc, address);
    *walk(&mut c["change"]["after"], path) = value.clone();
    if let Some(u) = walk(&mut c["change"]["after_unknown"], parents).as_object_mut() {
        u.remove(*last);
    }
    for r in planned_resources(doc) {
        if r["address"] == address {
            *walk(&mut r["values"], path) = value.clone();
        }
    }
}

/// Makes a planned value unknown until apply.
fn make_unknown(doc: &mut Value, address: &str, path: &[&str]) {
    let (last, parents) = path.split_last().expect("path");
    let c = change_of(doc, address);
    if let Some(o) = walk(&mut c["change"]["after"], parents).as_object_mut() {
        o.remove(*last);
    }
    *walk(&mut c["change"]["after_unknown"], path) = json!(true);
    for r in planned_resources(doc) {
        if r["address"] == address {
            if let Some(o) = walk(&mut r["values"], parents).as_object_mut() {
                o.remove(*last);
            }
        }
    }
}

/// Turns a create into another action on an existing object.
fn set_actions(doc: &mut Value, address: &str, actions: &[&str], replace_paths: Value) {
    let c = change_of(doc, address);
    let after = c["change"]["after"].clone();
    c["change"]["actions"] = json!(actions);
    c["change"]["before"] = after;
    c["change"]["before_sensitive"] = json!({});
    if actions == ["delete"] {
        let ch = c["change"].as_object_mut().expect("change");
        ch.remove("after");
        ch.insert("after_unknown".into(), json!({}));
        ch.insert("after_sensitive".into(), json!(false));
        if let Some(children) = doc["planned_values"]["root_module"]["child_modules"].as_array_mut()
        {
            for m in children {
                if let Some(rs) = m["resources"].as_array_mut() {
                    rs.retain(|r| r["address"] != address);
                }
            }
        }
    } else {
        c["change"]["replace_paths"] = replace_paths;
        c["action_reason"] = json!("replace_because_cannot_update");
    }
}

/// Removes a resource from the plan (changes, planned values, configuration).
fn remove(doc: &mut Value, address: &str, config_address: &str, module: &str) {
    doc["resource_changes"]
        .as_array_mut()
        .expect("changes")
        .retain(|c| c["address"] != address);
    for m in doc["planned_values"]["root_module"]["child_modules"]
        .as_array_mut()
        .expect("modules")
    {
        m["resources"]
            .as_array_mut()
            .expect("resources")
            .retain(|r| r["address"] != address);
    }
    doc["configuration"]["root_module"]["module_calls"][module]["module"]["resources"]
        .as_array_mut()
        .expect("config resources")
        .retain(|r| r["address"] != config_address);
}

fn config_resource<'a>(doc: &'a mut Value, module: &str, address: &str) -> &'a mut Value {
    doc["configuration"]["root_module"]["module_calls"][module]["module"]["resources"]
        .as_array_mut()
        .expect("config resources")
        .iter_mut()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("no configuration for {address}"))
}

const P: &str = "module.primary";

fn at(module: &str, local: &str) -> String {
    format!("{module}.{local}")
}

// ---------------------------------------------------------------------------
// Clean plans
// ---------------------------------------------------------------------------

const CLEAN: &[&str] = &["clean-primary.json", "clean-dr.json", "clean-global.json"];

#[test]
fn clean_plans_pass_with_env() {
    for name in CLEAN {
        cmd()
            .current_dir(fixtures())
            .arg("--repo")
            .arg(repo())
            .args(["review", name, "--env", "prod"])
            .assert()
            .success()
            .stderr("");
        let r = run(&fixture(name), false);
        assert!(errors(&r).is_empty(), "{name}:\n{}", show(&r));
        assert!(r.skipped.is_empty());
        assert!(r.resources > 5, "{name}: {}", r.resources);
    }
}

#[test]
fn clean_plans_pass_without_env_and_say_what_was_skipped() {
    for name in CLEAN {
        let out = cmd()
            .current_dir(fixtures())
            .args(["review", name])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let s = stdout(&out);
        assert!(s.contains("review passed: 0 violations"), "{s}");
        assert!(
            s.trim_end()
                .ends_with("not checked without --env: DR-NAME, DR-REGION"),
            "{s}"
        );
    }
}

#[test]
fn unknown_values_are_warnings_not_violations() {
    // The function's policy names the topic and key ARNs: unknown at plan.
    let r = run(&fixture("clean-primary.json"), false);
    let w: Vec<(&str, &str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.severity.as_str(), f.rule, f.address.as_str()))
        .collect();
    assert_eq!(
        w,
        [(
            "warning",
            "DR-IAM-WILDCARD",
            "module.primary.aws_iam_role_policy.lambda"
        )]
    );
    assert!(r.findings[0].message.contains("unknown at plan"));

    let mut doc = fixture("clean-primary.json");
    let cluster = at(P, "aws_rds_cluster.this");
    make_unknown(&mut doc, &cluster, &["backup_retention_period"]);
    make_unknown(&mut doc, &cluster, &["storage_encrypted"]);
    make_unknown(&mut doc, &at(P, "aws_vpc.this"), &["tags"]);
    let r = run(&doc, false);
    assert!(errors(&r).is_empty(), "{}", show(&r));
    for rule in ["DR-BACKUP-RETENTION", "DR-STORAGE-ENCRYPTION", "DR-TAGS"] {
        assert!(
            r.findings
                .iter()
                .any(|f| f.rule == rule && f.severity == Severity::Warning),
            "{rule}:\n{}",
            show(&r)
        );
    }
    assert_eq!(r.exit_code(), 0);
}

// ---------------------------------------------------------------------------
// Every rule, broken
// ---------------------------------------------------------------------------

struct Broken {
    what: &'static str,
    fixture: &'static str,
    mutate: fn(&mut Value),
    rule: &'static str,
    address: &'static str,
    /// A piece of the expected message.
    says: &'static str,
}

const BROKEN: &[Broken] = &[
    Broken {
        what: "a payment route without authorization",
        fixture: "clean-primary.json",
        mutate: |d| set(d, &at(P, "aws_api_gateway_method.post_payments"), &["authorization"], json!("NONE")),
        rule: "DR-API-AUTH",
        address: "module.primary.aws_api_gateway_method.post_payments",
        says: "authorization is NONE; only GET /health may be open",
    },
    Broken {
        what: "the open method moved off /health",
        fixture: "clean-dr.json",
        mutate: |d| {
            config_resource(d, "dr", "aws_api_gateway_method.get_health")["expressions"]["resource_id"] =
                json!({"references": ["aws_api_gateway_resource.payments.id", "aws_api_gateway_resource.payments"]});
        },
        rule: "DR-API-AUTH",
        address: "module.dr.aws_api_gateway_method.get_health",
        says: "authorization is NONE",
    },
    Broken {
        what: "a stage without a web ACL",
        fixture: "clean-dr.json",
        mutate: |d| {
            remove(
                d,
                "module.dr.aws_wafv2_web_acl_association.stage",
                "aws_wafv2_web_acl_association.stage",
                "dr",
            );
        },
        rule: "DR-WAF",
        address: "module.dr.aws_api_gateway_stage.live",
        says: "no aws_wafv2_web_acl_association for this stage",
    },
    Broken {
        what: "the association guards something else",
        fixture: "clean-primary.json",
        mutate: |d| {
            config_resource(d, "primary", "aws_wafv2_web_acl_association.stage")["expressions"]["resource_arn"] =
                json!({"references": ["var.other_arn"]});
            set(d, &at(P, "aws_wafv2_web_acl_association.stage"), &["resource_arn"], json!("arn:aws:apigateway:us-east-1::/restapis/x/stages/y"));
        },
        rule: "DR-WAF",
        address: "module.primary.aws_api_gateway_stage.live",
        says: "no aws_wafv2_web_acl_association for this stage",
    },
    Broken {
        what: "a mandatory tag is missing",
        fixture: "clean-primary.json",
        mutate: |d| {
            let a = at(P, "aws_vpc.this");
            let mut t = change_of(d, &a)["change"]["after"]["tags"].clone();
            t.as_object_mut().expect("tags").remove("CostCenter");
            set(d, &a, &["tags"], t.clone());
            set(d, &a, &["tags_all"], t);
        },
        rule: "DR-TAGS",
        address: "module.primary.aws_vpc.this",
        says: "missing tag CostCenter=Operations",
    },
    Broken {
        what: "a mandatory tag has another value",
        fixture: "clean-global.json",
        mutate: |d| {
            let a = "module.global.aws_dynamodb_table.sessions";
            set(d, a, &["tags", "Criticality"], json!("Low"));
            set(d, a, &["tags_all", "Criticality"], json!("Low"));
        },
        rule: "DR-TAGS",
        address: "module.global.aws_dynamodb_table.sessions",
        says: "tag Criticality is \"Low\", must be \"High\"",
    },
    Broken {
        what: "a name carries another environment's suffix",
        fixture: "clean-primary.json",
        mutate: |d| set(d, &at(P, "aws_rds_cluster.this"), &["cluster_identifier"], json!("aurora-dev")),
        rule: "DR-NAME",
        address: "module.primary.aws_rds_cluster.this",
        says: "does not end with the environment suffix \"-prod\" (pattern aurora-{suffix})",
    },
    Broken {
        what: "a bucket name carries another region",
        fixture: "clean-dr.json",
        mutate: |d| {
            set(
                d,
                "module.dr.aws_s3_bucket.payments",
                &["bucket"],
                json!("payments-us-east-1-210987654321-prod"),
            );
        },
        rule: "DR-NAME",
        address: "module.dr.aws_s3_bucket.payments",
        says: "does not follow the naming pattern payments-{region}-{account}-{suffix}",
    },
    Broken {
        what: "a Name tag carries no suffix",
        fixture: "clean-global.json",
        mutate: |d| {
            let a = "module.global.aws_route53_health_check.dr";
            set(d, a, &["tags", "Name"], json!("hc-us-east-2"));
        },
        rule: "DR-NAME",
        address: "module.global.aws_route53_health_check.dr",
        says: "Name tag \"hc-us-east-2\" does not end with the environment suffix",
    },
    Broken {
        what: "the layer's provider is in another region",
        fixture: "clean-dr.json",
        mutate: |d| {
            d["configuration"]["provider_config"]["aws"]["expressions"]["region"]["constant_value"] =
                json!("us-west-2");
        },
        rule: "DR-REGION",
        address: "module.dr.aws_iam_role.replication",
        says: "in us-west-2 (provider aws), but layer dr of env prod puts it in us-east-2 (provider aws)",
    },
    Broken {
        what: "a resource overrides its region",
        fixture: "clean-dr.json",
        mutate: |d| {
            set(
                d,
                "module.dr.aws_s3_bucket_replication_configuration.to_dr",
                &["region"],
                json!("us-east-2"),
            );
        },
        rule: "DR-REGION",
        address: "module.dr.aws_s3_bucket_replication_configuration.to_dr",
        says: "in us-east-2 (planned region), but layer dr of env prod puts it in us-east-1 (provider aws.primary)",
    },
    Broken {
        what: "an alarm is created through the wrong provider",
        fixture: "clean-global.json",
        mutate: |d| {
            let c = config_resource(d, "global", "aws_cloudwatch_metric_alarm.dr_api_5xx");
            c["provider_config_key"] = json!("aws");
            set(d, "module.global.aws_cloudwatch_metric_alarm.dr_api_5xx", &["region"], json!("us-east-1"));
        },
        rule: "DR-REGION",
        address: "module.global.aws_cloudwatch_metric_alarm.dr_api_5xx",
        says: "puts it in us-east-2 (provider aws.dr)",
    },
    Broken {
        what: "deletion protection on the cluster",
        fixture: "clean-primary.json",
        mutate: |d| set(d, &at(P, "aws_rds_cluster.this"), &["deletion_protection"], json!(true)),
        rule: "DR-DELETION-PROTECTION",
        address: "module.primary.aws_rds_cluster.this",
        says: "deletion_protection is true; must be false",
    },
    Broken {
        what: "deletion protection on a table replica",
        fixture: "clean-global.json",
        mutate: |d| {
            set(
                d,
                "module.global.aws_dynamodb_table.sessions",
                &["replica", "0", "deletion_protection_enabled"],
                json!(true),
            );
        },
        rule: "DR-DELETION-PROTECTION",
        address: "module.global.aws_dynamodb_table.sessions",
        says: "replica[0].deletion_protection_enabled is true",
    },
    Broken {
        what: "prevent_destroy in the exported configuration",
        fixture: "clean-primary.json",
        mutate: |d| {
            config_resource(d, "primary", "aws_kms_key.aurora")["lifecycle"] =
                json!({"prevent_destroy": true});
        },
        rule: "DR-PREVENT-DESTROY",
        address: "module.primary.aws_kms_key.aurora",
        says: "lifecycle.prevent_destroy is set",
    },
    Broken {
        what: "versioning suspended",
        fixture: "clean-dr.json",
        mutate: |d| {
            set(
                d,
                "module.dr.aws_s3_bucket_versioning.payments",
                &["versioning_configuration", "0", "status"],
                json!("Suspended"),
            );
        },
        rule: "DR-S3-VERSIONING",
        address: "module.dr.aws_s3_bucket_versioning.payments",
        says: "versioning_configuration.status is \"Suspended\", must be \"Enabled\"",
    },
    Broken {
        what: "no versioning resource",
        fixture: "clean-primary.json",
        mutate: |d| {
            remove(
                d,
                "module.primary.aws_s3_bucket_versioning.payments",
                "aws_s3_bucket_versioning.payments",
                "primary",
            );
        },
        rule: "DR-S3-VERSIONING",
        address: "module.primary.aws_s3_bucket.payments",
        says: "no aws_s3_bucket_versioning for this bucket",
    },
    Broken {
        what: "KMS instead of AES256",
        fixture: "clean-primary.json",
        mutate: |d| {
            set(
                d,
                &at(P, "aws_s3_bucket_server_side_encryption_configuration.payments"),
                &["rule", "0", "apply_server_side_encryption_by_default", "0", "sse_algorithm"],
                json!("aws:kms"),
            );
        },
        rule: "DR-S3-ENCRYPTION",
        address: "module.primary.aws_s3_bucket_server_side_encryption_configuration.payments",
        says: "sse_algorithm is \"aws:kms\", must be \"AES256\"",
    },
    Broken {
        what: "no encryption configuration",
        fixture: "clean-dr.json",
        mutate: |d| {
            remove(
                d,
                "module.dr.aws_s3_bucket_server_side_encryption_configuration.payments",
                "aws_s3_bucket_server_side_encryption_configuration.payments",
                "dr",
            );
        },
        rule: "DR-S3-ENCRYPTION",
        address: "module.dr.aws_s3_bucket.payments",
        says: "no aws_s3_bucket_server_side_encryption_configuration for this bucket",
    },
    Broken {
        what: "a one-day backup retention",
        fixture: "clean-dr.json",
        mutate: |d| set(d, "module.dr.aws_rds_cluster.this", &["backup_retention_period"], json!(1)),
        rule: "DR-BACKUP-RETENTION",
        address: "module.dr.aws_rds_cluster.this",
        says: "backup_retention_period is 1, must be 7",
    },
    Broken {
        what: "an unencrypted cluster",
        fixture: "clean-primary.json",
        mutate: |d| set(d, &at(P, "aws_rds_cluster.this"), &["storage_encrypted"], json!(false)),
        rule: "DR-STORAGE-ENCRYPTION",
        address: "module.primary.aws_rds_cluster.this",
        says: "storage_encrypted is false, must be true",
    },
    Broken {
        what: "an unencrypted global cluster",
        fixture: "clean-primary.json",
        mutate: |d| {
            set(d, &at(P, "aws_rds_global_cluster.this"), &["storage_encrypted"], Value::Null);
        },
        rule: "DR-STORAGE-ENCRYPTION",
        address: "module.primary.aws_rds_global_cluster.this",
        says: "storage_encrypted is not set; must be true",
    },
    Broken {
        what: "a public access block setting off",
        fixture: "clean-primary.json",
        mutate: |d| {
            set(
                d,
                &at(P, "aws_s3_bucket_public_access_block.payments"),
                &["block_public_policy"],
                json!(false),
            );
        },
        rule: "DR-PUBLIC-ACCESS",
        address: "module.primary.aws_s3_bucket_public_access_block.payments",
        says: "block_public_policy is false, must be true",
    },
    Broken {
        what: "no public access block",
        fixture: "clean-dr.json",
        mutate: |d| {
            remove(
                d,
                "module.dr.aws_s3_bucket_public_access_block.payments",
                "aws_s3_bucket_public_access_block.payments",
                "dr",
            );
        },
        rule: "DR-PUBLIC-ACCESS",
        address: "module.dr.aws_s3_bucket.payments",
        says: "no aws_s3_bucket_public_access_block for this bucket",
    },
    Broken {
        what: "a publicly accessible instance",
        fixture: "clean-dr.json",
        mutate: |d| set(d, "module.dr.aws_rds_cluster_instance.this", &["publicly_accessible"], json!(true)),
        rule: "DR-PUBLIC-ACCESS",
        address: "module.dr.aws_rds_cluster_instance.this",
        says: "publicly_accessible is true, must be false",
    },
    Broken {
        what: "ingress from anywhere",
        fixture: "clean-primary.json",
        mutate: |d| {
            set(
                d,
                &at(P, "aws_vpc_security_group_ingress_rule.aurora_from_lambda"),
                &["cidr_ipv4"],
                json!("0.0.0.0/0"),
            );
        },
        rule: "DR-PUBLIC-ACCESS",
        address: "module.primary.aws_vpc_security_group_ingress_rule.aurora_from_lambda",
        says: "ingress from 0.0.0.0/0 (cidr_ipv4)",
    },
    Broken {
        what: "an inline IPv6 ingress from anywhere",
        fixture: "clean-dr.json",
        mutate: |d| {
            set(
                d,
                "module.dr.aws_security_group.aurora",
                &["ingress"],
                json!([{"cidr_blocks": [], "description": "", "from_port": 5432,
                        "ipv6_cidr_blocks": ["::/0"], "prefix_list_ids": [], "protocol": "tcp",
                        "security_groups": [], "self": false, "to_port": 5432}]),
            );
        },
        rule: "DR-PUBLIC-ACCESS",
        address: "module.dr.aws_security_group.aurora",
        says: "ingress[0] allows ingress from ::/0 (ipv6_cidr_blocks)",
    },
    Broken {
        what: "a service wildcard on every resource",
        fixture: "clean-primary.json",
        mutate: |d| {
            let policy = json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Everything", "Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]});
            set(d, &at(P, "aws_iam_role_policy.lambda"), &["policy"], json!(policy.to_string()));
        },
        rule: "DR-IAM-WILDCARD",
        address: "module.primary.aws_iam_role_policy.lambda",
        says: "policy: statement 0 (Everything) allows \"s3:*\" on resource \"*\"",
    },
    Broken {
        what: "a full wildcard in a trust policy",
        fixture: "clean-dr.json",
        mutate: |d| {
            let policy = json!({"Version": "2012-10-17", "Statement": {
                "Effect": "Allow", "Action": "*", "Resource": ["*"]}});
            set(
                d,
                "module.dr.aws_iam_role.replication",
                &["assume_role_policy"],
                json!(policy.to_string()),
            );
        },
        rule: "DR-IAM-WILDCARD",
        address: "module.dr.aws_iam_role.replication",
        says: "assume_role_policy: statement 0 allows \"*\" on resource \"*\"",
    },
    Broken {
        what: "the cluster is replaced",
        fixture: "clean-primary.json",
        mutate: |d| {
            set_actions(
                d,
                &at(P, "aws_rds_cluster.this"),
                &["delete", "create"],
                json!([["storage_encrypted"]]),
            );
        },
        rule: "DR-STATEFUL-DESTROY",
        address: "module.primary.aws_rds_cluster.this",
        says: "plan replaces (delete, then create) stateful aws_rds_cluster; replacement forced by storage_encrypted [replace_because_cannot_update]",
    },
    Broken {
        what: "the sessions table is deleted",
        fixture: "clean-global.json",
        mutate: |d| set_actions(d, "module.global.aws_dynamodb_table.sessions", &["delete"], Value::Null),
        rule: "DR-STATEFUL-DESTROY",
        address: "module.global.aws_dynamodb_table.sessions",
        says: "plan deletes stateful aws_dynamodb_table",
    },
    Broken {
        what: "a KMS key is replaced create-before-destroy",
        fixture: "clean-dr.json",
        mutate: |d| {
            set_actions(d, "module.dr.aws_kms_key.aurora", &["create", "delete"], json!([["policy"]]));
        },
        rule: "DR-STATEFUL-DESTROY",
        address: "module.dr.aws_kms_key.aurora",
        says: "plan replaces (create, then delete) stateful aws_kms_key",
    },
];

#[test]
fn every_rule_has_a_broken_plan() {
    for r in review::RULES {
        assert!(
            BROKEN.iter().any(|b| b.rule == r.id),
            "no broken plan for {}",
            r.id
        );
    }
}

#[test]
fn each_broken_plan_fails_its_rule() {
    for b in BROKEN {
        let mut doc = fixture(b.fixture);
        (b.mutate)(&mut doc);
        let r = run(&doc, false);
        let hit = errors(&r)
            .into_iter()
            .find(|f| f.rule == b.rule && f.address == b.address);
        let Some(hit) = hit else {
            panic!(
                "{}: no {} error at {}:\n{}",
                b.what,
                b.rule,
                b.address,
                show(&r)
            );
        };
        assert!(
            hit.message.contains(b.says),
            "{}: message {:?} lacks {:?}",
            b.what,
            hit.message,
            b.says
        );
        assert_eq!(r.exit_code(), 1, "{}", b.what);
    }
}

#[test]
fn each_broken_plan_exits_1_from_the_cli() {
    for b in BROKEN {
        let mut doc = fixture(b.fixture);
        (b.mutate)(&mut doc);
        let out = cli(&doc, &["--env", "prod"]);
        let s = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{}:\n{s}", b.what);
        assert!(
            s.lines()
                .any(|l| l.starts_with("error") && l.contains(b.rule) && l.contains(b.address)),
            "{}:\n{s}",
            b.what
        );
        assert!(s.contains("review failed: "), "{s}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---------------------------------------------------------------------------
// Details of single rules
// ---------------------------------------------------------------------------

#[test]
fn allow_destroy_lets_a_replace_through_as_a_note() {
    let mut doc = fixture("clean-primary.json");
    set_actions(
        &mut doc,
        &at(P, "aws_rds_cluster.this"),
        &["delete", "create"],
        json!([["storage_encrypted"]]),
    );
    let r = run(&doc, true);
    assert!(errors(&r).is_empty(), "{}", show(&r));
    assert!(r.findings.iter().any(|f| f.severity == Severity::Note
        && f.rule == "DR-STATEFUL-DESTROY"
        && f.message.ends_with("allowed by --allow-destroy")));
    let out = cli(&doc, &["--env", "prod", "--allow-destroy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = cli(&doc, &["--env", "prod"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn a_stateless_replace_is_not_a_stateful_destroy() {
    let mut doc = fixture("clean-primary.json");
    set_actions(
        &mut doc,
        &at(P, "aws_lambda_function.payment"),
        &["delete", "create"],
        json!([["function_name"]]),
    );
    let r = run(&doc, false);
    assert!(errors(&r).is_empty(), "{}", show(&r));
}

#[test]
fn tags_only_from_default_tags_warn() {
    let mut doc = fixture("clean-primary.json");
    set(
        &mut doc,
        &at(P, "aws_vpc.this"),
        &["tags"],
        json!({"Name": "vpc-prod"}),
    );
    let r = run(&doc, false);
    assert!(errors(&r).is_empty(), "{}", show(&r));
    let w = r
        .findings
        .iter()
        .find(|f| f.rule == "DR-TAGS")
        .expect("a DR-TAGS warning");
    assert_eq!(w.severity, Severity::Warning);
    assert!(w.message.contains("default_tags"), "{}", w.message);
}

#[test]
fn unprefixed_provider_keys_resolve_through_their_module() {
    // Terraform before config-key normalization names the module's own
    // provider: `module.dr:aws.primary`.
    let mut doc = fixture("clean-dr.json");
    config_resource(
        &mut doc,
        "dr",
        "aws_s3_bucket_replication_configuration.to_dr",
    )["provider_config_key"] = json!("module.dr:aws.primary");
    let r = run(&doc, false);
    assert!(errors(&r).is_empty(), "{}", show(&r));
    doc["configuration"]["provider_config"]["aws.primary"]["expressions"]["region"]
        ["constant_value"] = json!("eu-west-1");
    let r = run(&doc, false);
    let e = errors(&r);
    assert!(
        e.iter().any(|f| f.rule == "DR-REGION"
            && f.address == "module.dr.aws_s3_bucket_replication_configuration.to_dr"
            && f.message.contains("eu-west-1 (provider aws.primary)")),
        "{}",
        show(&r)
    );
}

#[test]
fn the_region_rule_needs_env() {
    let mut doc = fixture("clean-dr.json");
    doc["configuration"]["provider_config"]["aws"]["expressions"]["region"]["constant_value"] =
        json!("us-west-2");
    let text = serde_json::to_string(&doc).expect("json");
    let p = plan::parse("plan.json", &text).expect("parses");
    let r = review::review(&p, &expectations(false), "plan.json", Options::default());
    assert!(errors(&r).is_empty(), "{}", show(&r));
    assert_eq!(r.skipped, ["DR-NAME", "DR-REGION"]);
}

// ---------------------------------------------------------------------------
// Output formats
// ---------------------------------------------------------------------------

fn broken_primary() -> Value {
    let mut doc = fixture("clean-primary.json");
    set(
        &mut doc,
        &at(P, "aws_s3_bucket_versioning.payments"),
        &["versioning_configuration", "0", "status"],
        json!("Suspended"),
    );
    doc
}

#[test]
fn table_has_one_row_per_finding_and_a_summary() {
    let out = cli(&broken_primary(), &["--env", "prod"]);
    assert_eq!(out.status.code(), Some(1));
    let s = stdout(&out);
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[0].starts_with("SEVERITY  RULE"), "{s}");
    assert!(lines[0].ends_with("MESSAGE"), "{s}");
    assert_eq!(lines.len(), 4, "{s}");
    assert!(
        lines[1].starts_with(
            "error     DR-S3-VERSIONING  module.primary.aws_s3_bucket_versioning.payments"
        ),
        "{s}"
    );
    assert!(lines[2].starts_with("warning   DR-IAM-WILDCARD"), "{s}");
    assert_eq!(
        lines[3],
        "review failed: 1 violation, 1 warning, 0 notes (31 resources in plan.json)"
    );
}

#[test]
fn json_output_is_the_documented_report() {
    let out = cli(&broken_primary(), &["--env", "prod", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["format"], "drgen-review");
    assert_eq!(v["version"], 1);
    assert_eq!(v["plan"]["file"], "plan.json");
    assert_eq!(v["plan"]["format_version"], "1.2");
    assert_eq!(v["plan"]["terraform_version"], "1.11.4");
    assert_eq!(v["env"], "prod");
    assert_eq!(v["allow_destroy"], false);
    assert_eq!(v["passed"], false);
    assert_eq!(
        v["summary"],
        json!({"resources": 31, "errors": 1, "warnings": 1, "notes": 0})
    );
    assert_eq!(v["skipped_rules"], json!([]));
    assert_eq!(
        v["findings"][0],
        json!({
            "severity": "error",
            "rule": "DR-S3-VERSIONING",
            "address": "module.primary.aws_s3_bucket_versioning.payments",
            "message": "versioning_configuration.status is \"Suspended\", must be \"Enabled\"",
            "layer": "primary",
            "file": "modules/primary/main.tf.json",
        })
    );
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let out = cli(&broken_primary(), &["--env", "prod", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"]
        .as_str()
        .is_some_and(|s| s.contains("sarif-2.1.0")));
    let run = &v["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "drgen");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), review::RULES.len());
    for r in rules {
        assert!(r["shortDescription"]["text"].is_string(), "{r}");
        assert!(r["fullDescription"]["text"].is_string(), "{r}");
        assert!(r["name"].is_string(), "{r}");
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for res in results {
        let id = res["ruleId"].as_str().expect("ruleId");
        let idx = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(ids.get(idx), Some(&id), "ruleIndex of {id}");
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().expect("level")));
        assert!(res["message"]["text"].is_string());
        let loc = &res["locations"][0];
        assert!(loc["logicalLocations"][0]["fullyQualifiedName"].is_string());
        assert_eq!(loc["logicalLocations"][0]["kind"], "resource");
    }
    let hit = &results[0];
    assert_eq!(hit["ruleId"], "DR-S3-VERSIONING");
    assert_eq!(hit["level"], "error");
    let loc = &hit["locations"][0];
    assert_eq!(
        loc["logicalLocations"][0]["fullyQualifiedName"],
        "module.primary.aws_s3_bucket_versioning.payments"
    );
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"]["uri"],
        "modules/primary/main.tf.json"
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn sarif_lists_skipped_rules_without_env() {
    let out = cmd()
        .current_dir(fixtures())
        .args(["review", "clean-global.json", "--format", "sarif"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let notes = v["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    let ids: Vec<&str> = notes
        .iter()
        .filter_map(|n| n["associatedRule"]["id"].as_str())
        .collect();
    assert_eq!(ids, ["DR-NAME", "DR-REGION"]);
    assert_eq!(v["runs"][0]["results"], json!([]));
}

#[test]
fn root_layer_resources_point_at_the_root_file() {
    let mut doc = fixture("clean-dr.json");
    // A managed resource in the layer's root, with a tag problem.
    let change = json!({
        "address": "aws_sns_topic.extra", "mode": "managed", "type": "aws_sns_topic",
        "name": "extra", "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": ["create"], "before": null,
                   "after": {"name": "extra-prod", "region": "us-east-2", "tags": {"Name": "extra-prod"}},
                   "after_unknown": {"arn": true, "id": true}, "before_sensitive": false,
                   "after_sensitive": {"tags": {}}}
    });
    doc["resource_changes"]
        .as_array_mut()
        .expect("changes")
        .push(change);
    let r = run(&doc, false);
    let f = r
        .findings
        .iter()
        .find(|f| f.address == "aws_sns_topic.extra" && f.rule == "DR-TAGS")
        .expect("finding");
    assert_eq!(f.layer.as_deref(), Some("dr"));
    assert_eq!(f.file.as_deref(), Some("envs/prod/dr/main.tf.json"));
}

// ---------------------------------------------------------------------------
// Malformed input and bad usage: exit 2
// ---------------------------------------------------------------------------

fn fails_with(args: &[&str], dir: &Path, stderr: &str) {
    cmd()
        .current_dir(dir)
        .args(args)
        .assert()
        .code(2)
        .stdout("")
        .stderr(stderr.to_owned());
}

#[test]
fn malformed_plans_name_the_json_path() {
    let d = fixtures();
    fails_with(
        &["review", "malformed-actions.json"],
        &d,
        "error: malformed-actions.json: resource_changes[3].change.actions: expected an array of strings\n",
    );
    fails_with(
        &["review", "malformed-address.json"],
        &d,
        "error: malformed-address.json: resource_changes[2].address: required but missing\n",
    );
}

#[test]
fn truncated_plans_give_line_and_column() {
    fails_with(
        &["review", "truncated.json"],
        &fixtures(),
        "error: truncated.json:283:34: truncated JSON: EOF while parsing a string\n",
    );
}

#[test]
fn other_format_versions_are_refused() {
    fails_with(
        &["review", "format-2.0.json"],
        &fixtures(),
        "error: format-2.0.json: unsupported plan format_version 2.0; drgen reads 1.x\n",
    );
}

#[test]
fn unreadable_and_non_plan_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    fails_with(
        &["review", "missing.json"],
        d,
        "error: missing.json: cannot read: No such file or directory (os error 2)\n",
    );
    std::fs::write(d.join("empty.json"), "\n").expect("write");
    fails_with(
        &["review", "empty.json"],
        d,
        "error: empty.json: empty file; expected the JSON of `terraform show -json PLANFILE`\n",
    );
    std::fs::write(
        d.join("syntax.json"),
        "{\"format_version\": \"1.2\",\n  \"x\": ]\n}\n",
    )
    .expect("write");
    fails_with(
        &["review", "syntax.json"],
        d,
        "error: syntax.json:2:8: invalid JSON: expected value\n",
    );
    std::fs::write(
        d.join("state.json"),
        r#"{"format_version":"1.0","terraform_version":"1.11.4","values":{"root_module":{}}}"#,
    )
    .expect("write");
    fails_with(
        &["review", "state.json"],
        d,
        "error: state.json: not a plan: this looks like state JSON (`terraform show -json` without a plan file)\n",
    );
    std::fs::write(d.join("tfplan"), b"PK\x03\x04binary").expect("write");
    fails_with(
        &["review", "tfplan"],
        d,
        "error: tfplan: this is a binary plan file; review its JSON: terraform show -json PLANFILE > plan.json\n",
    );
    std::fs::write(d.join("list.json"), "[]").expect("write");
    fails_with(
        &["review", "list.json"],
        d,
        "error: list.json: expected a JSON object at the top level\n",
    );
    std::fs::write(d.join("version.json"), r#"{"format_version": 1}"#).expect("write");
    fails_with(
        &["review", "version.json"],
        d,
        "error: version.json: format_version: expected a string\n",
    );
}

#[test]
fn bad_usage_exits_2() {
    let d = fixtures();
    let out = cmd()
        .current_dir(&d)
        .args(["review", "clean-dr.json", "--format", "xml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let out = cmd()
        .current_dir(&d)
        .arg("--repo")
        .arg(repo())
        .args(["review", "clean-dr.json", "--env", "staging"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: unknown environment \"staging\""),
        "{err}"
    );
    let out = cmd()
        .current_dir(&d)
        .args(["review"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn library_errors_carry_the_path() {
    let e = plan::parse(
        "p.json",
        r#"{"format_version":"1.2","resource_changes":[{"address":"a.b","mode":"managed","type":"a","name":"b","change":{"actions":[1]}}]}"#,
    )
    .expect_err("malformed");
    assert_eq!(
        e.path.as_deref(),
        Some("resource_changes[0].change.actions")
    );
    assert_eq!(
        e.to_string(),
        "p.json: resource_changes[0].change.actions: expected an array of strings"
    );
    let e = plan::parse(
        "p.json",
        r#"{"format_version":"1.2","planned_values":{},"configuration":{"provider_config":{"module.dr:aws.primary":{"expressions":{"region":{"constant_value":5}}}}}}"#,
    )
    .expect_err("malformed");
    assert_eq!(
        e.to_string(),
        "p.json: configuration.provider_config[\"module.dr:aws.primary\"].expressions.region.constant_value: expected a string"
    );
}

#[test]
fn fixtures_are_terraform_1x_plans() {
    for name in CLEAN {
        let v = fixture(name);
        assert_eq!(v["format_version"], "1.2", "{name}");
        assert!(v["planned_values"]["root_module"]["child_modules"].is_array());
        for c in v["resource_changes"].as_array().expect("changes") {
            assert!(c["change"]["actions"].is_array(), "{name}: {c}");
            assert!(c["address"].is_string());
        }
        let p = plan::load(&fixtures().join(name)).expect("loads");
        assert!(p.has_configuration);
        assert!(!p.providers.is_empty());
    }
}
