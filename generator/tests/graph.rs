//! Layer diagrams (`drgen::graph`): the layers of an environment grouped by
//! region, remote-state edges labelled with the outputs read, and the main
//! resources of each layer. Expected edges are found independently, by
//! scanning each root's generated JSON for remote-state output references.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use drgen::config::Env;
use drgen::layers::Project;
use drgen::model::ModuleKind;

fn load() -> (Vec<Env>, Project) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let envs = drgen::project::load(&repo, &[]).expect("sample environments load");
    let project = drgen::project::build(&envs);
    (envs, project)
}

type Edges = BTreeMap<(String, String), BTreeSet<String>>;

/// `data.terraform_remote_state.X.outputs.NAME` in each root's JSON text.
fn expected_edges(project: &Project, env: &str) -> Edges {
    const NEEDLE: &str = "data.terraform_remote_state.";
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut edges = Edges::new();
    for root in &project.roots {
        let ModuleKind::Root { env: e, layer } = &root.kind else {
            continue;
        };
        if e != env {
            continue;
        }
        let text: String = drgen::emit::json::module(root)
            .values()
            .map(ToString::to_string)
            .collect();
        for (i, _) in text.match_indices(NEEDLE) {
            let rest = &text[i + NEEDLE.len()..];
            let from = word(rest);
            let Some(after) = rest[from.len()..].strip_prefix(".outputs.") else {
                continue;
            };
            edges
                .entry((from, layer.to_string()))
                .or_default()
                .insert(word(after));
        }
    }
    edges
}

/// Mermaid `A -->|"x<br/>y"| B` edges.
fn mermaid_edges(m: &str) -> Edges {
    let mut edges = Edges::new();
    for line in m.lines().map(str::trim) {
        let Some((from, rest)) = line.split_once(" -->|\"") else {
            continue;
        };
        let (label, to) = rest.split_once("\"| ").expect("a labelled edge");
        let strip = |s: &str| s.strip_prefix("layer_").expect("a layer node").to_owned();
        edges.insert(
            (strip(from), strip(to)),
            label.split("<br/>").map(str::to_owned).collect(),
        );
    }
    edges
}

/// Mermaid subgraphs: label -> the lines inside.
fn mermaid_sections(m: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in m.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("subgraph ") {
            let label = rest
                .split_once("[\"")
                .and_then(|(_, l)| l.strip_suffix("\"]"))
                .expect("a labelled subgraph");
            current = Some((label.to_owned(), String::new()));
        } else if line == "end" {
            let (label, body) = current.take().expect("end closes a subgraph");
            out.insert(label, body);
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    assert!(current.is_none(), "unclosed subgraph");
    out
}

#[test]
fn mermaid_shows_layers_regions_edges_and_resources() {
    let (envs, project) = load();
    let prod = envs.iter().find(|e| e.name == "prod").expect("prod");
    let m = drgen::graph::mermaid(&project, "prod");
    assert!(m.lines().any(|l| l == "flowchart LR"), "{m}");

    let sections = mermaid_sections(&m);
    let primary = format!("Primary region: {}", prod.file.regions.primary);
    let dr = format!("DR region: {}", prod.file.regions.dr);
    let labels: Vec<&String> = sections.keys().collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    for (label, layer) in [
        (&primary, "primary"),
        (&dr, "dr"),
        (&"Global".to_owned(), "global"),
    ] {
        let body = sections
            .get(label)
            .unwrap_or_else(|| panic!("{label} in {m}"));
        assert!(
            body.contains(&format!(
                "layer_{layer}[\"{layer} layer<br/>envs/prod/{layer}\"]"
            )),
            "{label}: {body}"
        );
    }

    // Remote-state edges with the outputs they read.
    let got = mermaid_edges(&m);
    let want = expected_edges(&project, "prod");
    let pairs: Vec<(&str, &str)> = got.keys().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(
        pairs,
        [("dr", "global"), ("primary", "dr"), ("primary", "global")]
    );
    assert_eq!(got, want);
    let to_dr = &got[&("primary".to_owned(), "dr".to_owned())];
    for o in [
        "rds_global_cluster_id",
        "rds_writer_instance_arn",
        "s3_bucket_arn",
    ] {
        assert!(to_dr.contains(o), "{o}: {to_dr:?}");
    }
    for from in ["primary", "dr"] {
        let outs = &got[&(from.to_owned(), "global".to_owned())];
        for o in ["api_host", "lambda_function_name", "sns_topic_arn"] {
            assert!(outs.contains(o), "{from} -> global {o}: {outs:?}");
        }
    }
    // Edges in apply order.
    let order: Vec<&str> = m
        .lines()
        .filter(|l| l.contains(" -->|"))
        .map(|l| l.trim().split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(order, ["layer_primary", "layer_primary", "layer_dr"]);

    // Main resources per region.
    let p = &sections[&primary];
    for r in [
        "VPC ×1",
        "Aurora global cluster ×1",
        "Aurora cluster ×1",
        "Aurora instance ×1",
        "Lambda function ×1",
        // The payment API, and the health-only API (mutual TLS only).
        "REST API ×2 (1 conditional)",
        "S3 bucket ×1",
        "SNS topic ×1",
    ] {
        assert!(p.contains(r), "primary {r}: {p}");
    }
    let d = &sections[&dr];
    for r in [
        "VPC ×1",
        "Aurora cluster ×1",
        "Lambda function ×1",
        "S3 bucket ×1",
    ] {
        assert!(d.contains(r), "dr {r}: {d}");
    }
    assert!(!d.contains("Aurora global cluster"), "{d}");
    let g = &sections["Global"];
    for r in [
        "DynamoDB table ×1",
        "Route 53 zone",
        "Route 53 record",
        "CloudWatch dashboard ×1",
    ] {
        assert!(g.contains(r), "global {r}: {g}");
    }
    assert!(g.contains("other resources"), "{g}");
}

/// The quoted strings of a DOT text removed, braces balanced outside them.
fn dot_unquoted(d: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in d.chars() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    quoted = false;
                    out.push('"');
                }
                _ => {}
            }
        } else {
            if c == '"' {
                quoted = true;
            }
            out.push(c);
        }
    }
    assert!(!quoted, "unterminated string");
    out
}

#[test]
fn dot_is_structurally_valid() {
    let (_, project) = load();
    for env in ["prod", "dev"] {
        let d = drgen::graph::dot(&project, env);
        let bare = dot_unquoted(&d);
        let mut depth: i64 = 0;
        for c in bare.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "{d}");
        }
        assert_eq!(depth, 0, "{d}");
        assert!(d.contains(&format!("digraph \"{env}\" {{")), "{d}");
        assert_eq!(d.matches("subgraph \"cluster_").count(), 3, "{d}");

        // Every edge's ends are declared nodes.
        let id = |s: &str| s.trim().trim_matches('"').to_owned();
        let mut nodes = BTreeSet::new();
        let mut edges = Vec::new();
        for line in d.lines().map(str::trim) {
            let stmt = line.split(" [").next().unwrap_or_default();
            if let Some((a, b)) = stmt.split_once(" -> ") {
                edges.push((id(a), id(b)));
            } else if stmt.starts_with('"') && line.contains(" [") {
                nodes.insert(id(stmt));
            }
        }
        assert_eq!(nodes.len(), 6, "{nodes:?}");
        assert_eq!(edges.len(), 6, "{edges:?}");
        for (a, b) in &edges {
            assert!(nodes.contains(a) && nodes.contains(b), "{a} -> {b}");
        }
        for pair in [
            ("layer_primary", "layer_dr"),
            ("layer_primary", "layer_global"),
            ("layer_dr", "layer_global"),
        ] {
            assert!(
                edges.contains(&(pair.0.to_owned(), pair.1.to_owned())),
                "{pair:?}"
            );
        }
        assert!(d.contains("rds_global_cluster_id\\l"), "{d}");
    }
}

/// `drgen graph` in a separate process, run from an unrelated working
/// directory.
fn graph_cli(env: &str, format: &str) -> String {
    let elsewhere = tempfile::tempdir().expect("temporary directory");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = assert_cmd::Command::cargo_bin("drgen")
        .expect("drgen binary")
        .current_dir(elsewhere.path())
        .arg("--repo")
        .arg(&repo)
        .args(["graph", "--env", env, "--format", format])
        .output()
        .expect("run drgen graph");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

#[test]
fn output_is_stable() {
    let (_, a) = load();
    let (_, b) = load();
    for env in ["prod", "dev"] {
        // Two models built apart, and another process from another
        // working directory, draw the same diagrams.
        assert_eq!(
            drgen::graph::mermaid(&a, env),
            drgen::graph::mermaid(&b, env)
        );
        assert_eq!(drgen::graph::dot(&a, env), drgen::graph::dot(&b, env));
        assert_eq!(graph_cli(env, "mermaid"), drgen::graph::mermaid(&a, env));
        assert_eq!(graph_cli(env, "dot"), drgen::graph::dot(&a, env));
    }
    assert_ne!(
        drgen::graph::mermaid(&a, "prod"),
        drgen::graph::mermaid(&a, "dev")
    );
}

#[test]
fn an_unknown_environment_has_no_layers() {
    let (_, project) = load();
    let g = drgen::graph::graph(&project, "nope");
    assert!(g.layers.is_empty() && g.edges.is_empty() && g.clusters.is_empty());
    let d = drgen::graph::dot(&project, "nope");
    assert!(d.ends_with("}\n"), "{d}");
}
