//! The vendored provider schema agrees with `schema/types.txt`, and the
//! public `tfcheck` API works on a small tree.

use std::collections::BTreeMap;
use std::path::Path;

use drgen::tfcheck::{check_tree, Finding, Schemas};
use serde_json::json;

fn repo_file(rel: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

#[test]
fn tfcheck_every_listed_type_is_vendored() {
    let s = Schemas::vendored();
    let mut missing = Vec::new();
    for line in repo_file("schema/types.txt").lines() {
        let words: Vec<&str> = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let found = match words.as_slice() {
            [] => continue,
            ["provider", n] => s.provider(n).is_some(),
            ["resource", n] => s.resource(n).is_some(),
            ["data", n] => s.data_source(n).is_some(),
            ["ephemeral", n] => s.ephemeral(n).is_some(),
            _ => false,
        };
        if !found {
            missing.push(line.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "not in schema/providers.json (run python3 scripts/vendor-schema.py): {missing:?}"
    );
}

#[test]
fn tfcheck_vendored_file_parses_and_has_provenance() {
    let text = repo_file("schema/providers.json");
    assert!(text.ends_with("}\n"));
    let s = Schemas::from_json(&text).expect("providers.json parses");
    assert_eq!(&s, Schemas::vendored());
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let sources = &v["x_drgen_provenance"]["sources"];
    assert!(sources["registry.terraform.io/hashicorp/aws"].is_array());
    assert!(sources["terraform.io/builtin/terraform"][0]["hand_written"]
        .as_bool()
        .unwrap_or(false));
}

#[test]
fn tfcheck_public_api_on_a_small_tree() {
    let mut files = BTreeMap::new();
    files.insert(
        "envs/x/main.tf.json".to_string(),
        json!({
            "provider": {"aws": {"region": "us-east-1"}},
            "variable": {"cidr": {"type": "string"}},
            "resource": {
                "aws_vpc": {"main": {"cidr_block": "${var.cidr}"}},
                "aws_subnet": {"a": {"vpc_id": "${aws_vpc.main.idd}", "cidr_block": "10.0.1.0/24"}}
            }
        }),
    );
    let findings = check_tree(&files, Schemas::vendored());
    assert_eq!(
        findings,
        vec![Finding {
            file: "envs/x/main.tf.json".into(),
            address: "aws_subnet.a".into(),
            message: "`vpc_id`: `aws_vpc.main` has no attribute `idd` (aws_vpc schema)".into(),
        }]
    );
}
