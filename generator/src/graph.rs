//! Diagrams of one environment: its layers (the primary, dr and global
//! roots) grouped by region, the remote-state reads between them, labelled
//! with the outputs each read uses, and the main resources of each layer.
//!
//! Everything is read from the model: a layer's region is the region of
//! its default provider, a remote-state edge is a
//! `data.terraform_remote_state.X` of a root whose state key is another
//! layer's backend key, the outputs are the `...X.outputs.NAME` references
//! of the root, and the resources are the managed resources of the modules
//! the root calls. Output is deterministic: layers in apply order, edges in
//! layer order, names sorted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::layers::{Project, LAYERS};
use crate::model::expr::Step;
use crate::model::{Expr, Mode, Module, ModuleKind, Ref, Root};

/// Resource types shown in a layer's summary, with their labels, in
/// display order. Other managed resources are counted together.
pub const MAIN_TYPES: &[(&str, &str)] = &[
    ("aws_vpc", "VPC"),
    ("aws_rds_global_cluster", "Aurora global cluster"),
    ("aws_rds_cluster", "Aurora cluster"),
    ("aws_rds_cluster_instance", "Aurora instance"),
    ("aws_lambda_function", "Lambda function"),
    ("aws_api_gateway_rest_api", "REST API"),
    ("aws_s3_bucket", "S3 bucket"),
    ("aws_sns_topic", "SNS topic"),
    ("aws_dynamodb_table", "DynamoDB table"),
    ("aws_route53_zone", "Route 53 zone"),
    ("aws_route53_health_check", "Route 53 health check"),
    ("aws_route53_record", "Route 53 record"),
    ("aws_cloudwatch_dashboard", "CloudWatch dashboard"),
];

/// A group of layers drawn together: one region, or the global layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// An identifier safe in Mermaid and DOT, e.g. `region_us_east_1`.
    pub id: String,
    pub label: String,
}

/// One main resource type of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceCount {
    pub rtype: String,
    pub label: String,
    /// Instances: declarations, times a literal `count` where there is one.
    pub count: u64,
    /// Declarations whose `count` is an expression (counted once each).
    pub conditional: u64,
}

impl ResourceCount {
    /// `Aurora instance ×1`, `Route 53 record ×5 (4 conditional)`.
    pub fn text(&self) -> String {
        if self.conditional == 0 {
            format!("{} ×{}", self.label, self.count)
        } else {
            format!(
                "{} ×{} ({} conditional)",
                self.label, self.count, self.conditional
            )
        }
    }
}

/// One layer: a root of the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// `primary`, `dr`, `global`.
    pub name: String,
    /// The root directory, e.g. `envs/prod/primary`.
    pub dir: String,
    /// The default provider's region, if it is a literal.
    pub region: Option<String>,
    /// Index into [`Graph::clusters`].
    pub cluster: usize,
    /// The main resources of the called modules, in [`MAIN_TYPES`] order.
    pub resources: Vec<ResourceCount>,
    /// Managed resource declarations of other types.
    pub other_resources: u64,
}

/// A remote-state read: `to` reads the state of `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The outputs of `from` that `to` uses, sorted.
    pub outputs: Vec<String>,
}

/// The layers of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    pub env: String,
    pub clusters: Vec<Cluster>,
    pub layers: Vec<Layer>,
    pub edges: Vec<Edge>,
}

/// The graph of one environment; empty when the project has no roots of
/// that name.
pub fn graph(project: &Project, env: &str) -> Graph {
    let mut roots: Vec<(&str, &Module)> = project
        .roots
        .iter()
        .filter_map(|m| match &m.kind {
            ModuleKind::Root { env: e, layer } if e == env => Some((layer.as_str(), m)),
            _ => None,
        })
        .collect();
    roots.sort_by_key(|(layer, m)| (layer_rank(layer), layer.to_string(), m.dir.clone()));

    let mut clusters: Vec<Cluster> = Vec::new();
    let mut layers = Vec::new();
    for (name, root) in &roots {
        let region = default_region(root);
        let (id, label) = match (*name, &region) {
            ("global", _) => ("global".to_owned(), "Global".to_owned()),
            (_, Some(r)) => (format!("region_{}", ident(r)), region_label(name, r)),
            (_, None) => (format!("layer_{}", ident(name)), format!("{name} layer")),
        };
        let cluster = match clusters.iter().position(|c| c.id == id) {
            Some(i) => i,
            None => {
                clusters.push(Cluster { id, label });
                clusters.len() - 1
            }
        };
        let (resources, other_resources) = resources(project, root);
        layers.push(Layer {
            name: (*name).to_owned(),
            dir: root.dir.clone(),
            region,
            cluster,
            resources,
            other_resources,
        });
    }

    let mut edges = Vec::new();
    for (name, root) in &roots {
        for (from, outputs) in remote_reads(root, &roots) {
            edges.push(Edge {
                from,
                to: (*name).to_owned(),
                outputs,
            });
        }
    }
    edges.sort_by_key(|e| {
        (
            layer_rank(&e.from),
            e.from.clone(),
            layer_rank(&e.to),
            e.to.clone(),
        )
    });

    Graph {
        env: env.to_owned(),
        clusters,
        layers,
        edges,
    }
}

/// Position in apply order; unknown layers after, by name.
fn layer_rank(layer: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| *l == layer)
        .unwrap_or(LAYERS.len())
}

fn region_label(layer: &str, region: &str) -> String {
    match layer {
        "primary" => format!("Primary region: {region}"),
        "dr" => format!("DR region: {region}"),
        other => format!("{other}: {region}"),
    }
}

/// An identifier made of ASCII letters, digits and `_`.
fn ident(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn default_region(m: &Module) -> Option<String> {
    m.providers
        .iter()
        .find(|p| p.name == "aws" && p.alias.is_none())
        .and_then(|p| p.body.get("region"))
        .and_then(Expr::as_str)
        .map(str::to_owned)
}

/// `base/../x` resolved lexically.
fn join(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// The main resources of the modules a root calls (and of the root).
fn resources(project: &Project, root: &Module) -> (Vec<ResourceCount>, u64) {
    let mut modules: Vec<&Module> = vec![root];
    for c in root.calls.values() {
        let dir = join(&root.dir, &c.source);
        modules.extend(project.all().filter(|m| m.dir == dir));
    }
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut other = 0;
    for m in modules {
        for r in m.resources.values().filter(|r| r.mode == Mode::Managed) {
            if !MAIN_TYPES.iter().any(|(t, _)| *t == r.rtype) {
                other += 1;
                continue;
            }
            let e = counts.entry(r.rtype.as_str()).or_default();
            match &r.count {
                None => e.0 += 1,
                Some(Expr::Int(n)) => e.0 += u64::try_from(*n).unwrap_or(0),
                Some(_) => {
                    e.0 += 1;
                    e.1 += 1;
                }
            }
        }
    }
    let main = MAIN_TYPES
        .iter()
        .filter_map(|(t, label)| {
            counts.get(t).map(|(n, c)| ResourceCount {
                rtype: (*t).to_owned(),
                label: (*label).to_owned(),
                count: *n,
                conditional: *c,
            })
        })
        .collect();
    (main, other)
}

/// Every expression of a root.
fn exprs(m: &Module) -> Vec<&Expr> {
    let mut out: Vec<&Expr> = Vec::new();
    for c in m.calls.values() {
        out.extend(c.args.values());
    }
    out.extend(m.locals.values());
    out.extend(m.outputs.values().map(|o| &o.value));
    out
}

/// The layers a root reads through remote state, with the outputs used.
fn remote_reads(root: &Module, roots: &[(&str, &Module)]) -> Vec<(String, Vec<String>)> {
    let mut reads: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let states: Vec<(&str, String)> = root
        .resources
        .values()
        .filter(|r| r.mode == Mode::Data && r.rtype == "terraform_remote_state")
        .map(|r| {
            let key = r
                .get("config")
                .and_then(Expr::as_object)
                .and_then(|c| c.get("key"))
                .and_then(Expr::as_str);
            let from = key
                .and_then(|k| {
                    roots
                        .iter()
                        .find(|(_, m)| m.terraform.backend.as_ref().is_some_and(|b| b.key == k))
                })
                .map_or_else(|| r.name.clone(), |(layer, _)| (*layer).to_owned());
            (r.name.as_str(), from)
        })
        .collect();
    for (_, from) in &states {
        reads.entry(from.clone()).or_default();
    }
    let mut refs: Vec<&Ref> = exprs(root).into_iter().flat_map(Expr::refs).collect();
    for r in root.resources.values() {
        refs.extend(r.body.refs());
    }
    for r in refs {
        let Root::Data(t, name) = &r.root else {
            continue;
        };
        if t != "terraform_remote_state" {
            continue;
        }
        let Some((_, from)) = states.iter().find(|(n, _)| n == name) else {
            continue;
        };
        if let [Step::Attr(o), Step::Attr(out), ..] = r.steps.as_slice() {
            if o == "outputs" {
                reads.entry(from.clone()).or_default().insert(out.clone());
            }
        }
    }
    reads
        .into_iter()
        .map(|(from, outs)| (from, outs.into_iter().collect()))
        .collect()
}

fn layer_id(name: &str) -> String {
    format!("layer_{}", ident(name))
}

fn resources_id(name: &str) -> String {
    format!("res_{}", ident(name))
}

fn resource_lines(l: &Layer) -> Vec<String> {
    let mut lines: Vec<String> = l.resources.iter().map(ResourceCount::text).collect();
    if l.other_resources > 0 {
        lines.push(format!("+{} other resources", l.other_resources));
    }
    lines
}

fn title(g: &Graph) -> String {
    format!(
        "drgen: layers of environment {} (apply order: {})",
        g.env,
        g.layers
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Text inside a Mermaid `"..."` label.
fn mermaid_text(s: &str) -> String {
    s.replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

fn mermaid_lines(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| mermaid_text(l))
        .collect::<Vec<_>>()
        .join("<br/>")
}

/// A Mermaid flowchart of the environment's layers.
pub fn mermaid(project: &Project, env: &str) -> String {
    let g = graph(project, env);
    let mut out = String::new();
    let _ = writeln!(out, "%% {}", title(&g));
    out.push_str("flowchart LR\n");
    for (i, c) in g.clusters.iter().enumerate() {
        let _ = writeln!(out, "  subgraph {}[\"{}\"]", c.id, mermaid_text(&c.label));
        out.push_str("    direction TB\n");
        for l in g.layers.iter().filter(|l| l.cluster == i) {
            let head = vec![format!("{} layer", l.name), l.dir.clone()];
            let _ = writeln!(
                out,
                "    {}[\"{}\"]",
                layer_id(&l.name),
                mermaid_lines(&head)
            );
            let res = resource_lines(l);
            if !res.is_empty() {
                let _ = writeln!(
                    out,
                    "    {}[\"{}\"]",
                    resources_id(&l.name),
                    mermaid_lines(&res)
                );
                let _ = writeln!(
                    out,
                    "    {} -.- {}",
                    layer_id(&l.name),
                    resources_id(&l.name)
                );
            }
        }
        out.push_str("  end\n");
    }
    for e in &g.edges {
        if e.outputs.is_empty() {
            let _ = writeln!(out, "  {} --> {}", layer_id(&e.from), layer_id(&e.to));
        } else {
            let _ = writeln!(
                out,
                "  {} -->|\"{}\"| {}",
                layer_id(&e.from),
                mermaid_lines(&e.outputs),
                layer_id(&e.to)
            );
        }
    }
    out
}

/// Text inside a DOT `"..."` string.
fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Lines of a DOT label, each left-aligned (`\l`).
fn dot_lines(lines: &[String]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(&dot_text(l));
        s.push_str("\\l");
    }
    s
}

/// A Graphviz digraph of the environment's layers.
pub fn dot(project: &Project, env: &str) -> String {
    let g = graph(project, env);
    let mut out = String::new();
    let _ = writeln!(out, "// {}", title(&g));
    let _ = writeln!(out, "digraph \"{}\" {{", dot_text(&g.env));
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    for (i, c) in g.clusters.iter().enumerate() {
        out.push('\n');
        let _ = writeln!(out, "  subgraph \"cluster_{}\" {{", c.id);
        let _ = writeln!(out, "    label=\"{}\";", dot_text(&c.label));
        for l in g.layers.iter().filter(|l| l.cluster == i) {
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{} layer\\n{}\"];",
                layer_id(&l.name),
                dot_text(&l.name),
                dot_text(&l.dir)
            );
            let res = resource_lines(l);
            if !res.is_empty() {
                let _ = writeln!(
                    out,
                    "    \"{}\" [shape=note, style=\"\", label=\"{}\"];",
                    resources_id(&l.name),
                    dot_lines(&res)
                );
                let _ = writeln!(
                    out,
                    "    \"{}\" -> \"{}\" [style=dashed, arrowhead=none];",
                    layer_id(&l.name),
                    resources_id(&l.name)
                );
            }
        }
        out.push_str("  }\n");
    }
    if !g.edges.is_empty() {
        out.push('\n');
    }
    for e in &g.edges {
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            layer_id(&e.from),
            layer_id(&e.to),
            dot_lines(&e.outputs)
        );
    }
    out.push_str("}\n");
    out
}
