//! The review rules: the generator's policies, checked on planned values.
//!
//! Every expected value comes from the generator: the mandatory tags and
//! their check from `policy::tagging`, names from `policy::naming::TABLE`,
//! the retention from `components::database`, S3 settings and provider
//! regions from the model (see `expect.rs`). A value the plan leaves unknown
//! until apply is reported as a warning, never as a violation.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::expect::Expectations;
use super::plan::{config_address, top_module, Instance, Mode, Plan, RegionExpr};
use crate::components::database::BACKUP_RETENTION_DAYS;
use crate::json_path::{child, list};
use crate::layers::LAYER_NAMES as LAYERS;
use crate::model::Expr;
use crate::policy::naming::{self, Name, NameSpec, Piece};
use crate::policy::tagging;
use crate::tfcheck::Schemas;

pub use crate::finding::Severity;

/// One rule of the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, e.g. `DR-TAGS`.
    pub id: &'static str,
    /// PascalCase name (SARIF `name`).
    pub name: &'static str,
    pub summary: &'static str,
    /// The pitfall id of `policy::invariants::RULES` the rule checks on plans.
    pub pitfall: Option<&'static str>,
    /// Needs `--env` (the environment's suffix and regions).
    pub needs_env: bool,
}

pub const TAGS: &str = "DR-TAGS";
pub const NAME: &str = "DR-NAME";
pub const REGION: &str = "DR-REGION";
pub const DELETION_PROTECTION: &str = "DR-DELETION-PROTECTION";
pub const PREVENT_DESTROY: &str = "DR-PREVENT-DESTROY";
pub const S3_VERSIONING: &str = "DR-S3-VERSIONING";
pub const S3_ENCRYPTION: &str = "DR-S3-ENCRYPTION";
pub const BACKUP_RETENTION: &str = "DR-BACKUP-RETENTION";
pub const STORAGE_ENCRYPTION: &str = "DR-STORAGE-ENCRYPTION";
pub const PUBLIC_ACCESS: &str = "DR-PUBLIC-ACCESS";
pub const IAM_WILDCARD: &str = "DR-IAM-WILDCARD";
pub const STATEFUL_DESTROY: &str = "DR-STATEFUL-DESTROY";
pub const API_AUTH: &str = "DR-API-AUTH";
pub const WAF: &str = "DR-WAF";

/// Every rule, in report order.
pub const RULES: &[Rule] = &[
    Rule {
        id: TAGS,
        name: "MandatoryTags",
        summary: "taggable resources carry the mandatory tags of policy::tagging and a Name tag in their own tags",
        pitfall: Some("P35"),
        needs_env: false,
    },
    Rule {
        id: NAME,
        name: "EnvironmentSuffixNames",
        summary: "names follow policy::naming::TABLE and end with the environment suffix",
        pitfall: None,
        needs_env: true,
    },
    Rule {
        id: REGION,
        name: "LayerRegion",
        summary: "every resource is in the region of the provider its layer gives it",
        pitfall: Some("P40"),
        needs_env: true,
    },
    Rule {
        id: DELETION_PROTECTION,
        name: "NoDeletionProtection",
        summary: "deletion_protection, deletion_protection_enabled and skip_destroy are off",
        pitfall: Some("P9"),
        needs_env: false,
    },
    Rule {
        id: PREVENT_DESTROY,
        name: "NoPreventDestroy",
        summary: "no lifecycle.prevent_destroy (checked when the plan's configuration exports lifecycle)",
        pitfall: Some("P9"),
        needs_env: false,
    },
    Rule {
        id: S3_VERSIONING,
        name: "S3Versioning",
        summary: "every bucket has aws_s3_bucket_versioning with the status the generator sets",
        pitfall: Some("P29"),
        needs_env: false,
    },
    Rule {
        id: S3_ENCRYPTION,
        name: "S3Encryption",
        summary: "every bucket has server-side encryption with the algorithm the generator sets",
        pitfall: Some("P29"),
        needs_env: false,
    },
    Rule {
        id: BACKUP_RETENTION,
        name: "AuroraBackupRetention",
        summary: "Aurora backup_retention_period is components::database::BACKUP_RETENTION_DAYS",
        pitfall: Some("P10"),
        needs_env: false,
    },
    Rule {
        id: STORAGE_ENCRYPTION,
        name: "AuroraStorageEncrypted",
        summary: "Aurora clusters and the global cluster have storage_encrypted = true",
        pitfall: Some("P1"),
        needs_env: false,
    },
    Rule {
        id: PUBLIC_ACCESS,
        name: "NoPublicAccess",
        summary: "buckets block all public access, DB instances are not publicly accessible, no ingress from 0.0.0.0/0 or ::/0",
        pitfall: Some("P29"),
        needs_env: false,
    },
    Rule {
        id: IAM_WILDCARD,
        name: "NoIamWildcards",
        summary: "no IAM policy statement allows \"*\" or \"service:*\" actions on resource \"*\"",
        pitfall: None,
        needs_env: false,
    },
    Rule {
        id: API_AUTH,
        name: "ApiMethodsAuthenticated",
        summary: "no API Gateway method but GET /health has authorization NONE",
        pitfall: Some("P43"),
        needs_env: false,
    },
    Rule {
        id: WAF,
        name: "StageWebAcl",
        summary: "every API Gateway stage has an aws_wafv2_web_acl_association",
        pitfall: Some("P44"),
        needs_env: false,
    },
    Rule {
        id: STATEFUL_DESTROY,
        name: "StatefulDestroy",
        summary: "the plan deletes or replaces no stateful resource unless --allow-destroy",
        pitfall: None,
        needs_env: false,
    },
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Resource types whose deletion loses data or keys.
pub const STATEFUL_TYPES: &[&str] = &[
    "aws_rds_global_cluster",
    "aws_rds_cluster",
    "aws_rds_cluster_instance",
    "aws_dynamodb_table",
    "aws_s3_bucket",
    "aws_kms_key",
];

/// Attributes that block deletion when true.
pub const DELETION_GUARDS: &[&str] = &[
    "deletion_protection",
    "deletion_protection_enabled",
    "skip_destroy",
];

/// CIDRs that mean "anyone".
pub const OPEN_CIDRS: &[(&str, &str)] = &[("cidr_ipv4", "0.0.0.0/0"), ("cidr_ipv6", "::/0")];

/// IAM resource types and the attributes that hold policy documents.
const IAM_POLICIES: &[(&str, &str)] = &[
    ("aws_iam_policy", "policy"),
    ("aws_iam_role_policy", "policy"),
    ("aws_iam_user_policy", "policy"),
    ("aws_iam_group_policy", "policy"),
    ("aws_iam_role", "assume_role_policy"),
];

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub rule: &'static str,
    /// The resource (instance) address, or a module address.
    pub address: String,
    pub message: String,
    /// primary, dr or global, when known.
    pub layer: Option<String>,
    /// The generated file that declares the resource, when known.
    pub file: Option<String>,
}

/// The library's one finding type, for callers that merge review results
/// with other checks.
impl From<&Finding> for crate::finding::Finding {
    fn from(r: &Finding) -> Self {
        crate::finding::Finding {
            source: crate::finding::Source::Plan,
            id: r.rule,
            severity: r.severity,
            address: r.address.clone(),
            message: r.message.clone(),
            stack: r.layer.clone(),
            file: r.file.clone(),
        }
    }
}

/// Review options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Let deletes and replaces of stateful resources through (as notes).
    pub allow_destroy: bool,
}

/// A value looked up in planned values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Got<'a> {
    Known(&'a Value),
    /// Known only after apply.
    Unknown,
    /// Null or not set.
    Absent,
}

/// Looks up `path` (numeric steps index arrays) in the values, `Unknown`
/// when `after_unknown` marks it or a parent as unknown.
fn lookup<'a>(inst: &'a Instance, values: &'a Value, path: &[&str]) -> Got<'a> {
    let mut v = Some(values);
    let mut u = Some(&inst.unknown);
    for step in path {
        if u == Some(&Value::Bool(true)) {
            return Got::Unknown;
        }
        u = u.and_then(|x| child(x, step));
        v = v.and_then(|x| child(x, step));
    }
    if u == Some(&Value::Bool(true)) {
        return Got::Unknown;
    }
    match v {
        None | Some(Value::Null) => Got::Absent,
        Some(x) => Got::Known(x),
    }
}

/// How many elements the list at `path` has (0 when absent or unknown).
fn count(inst: &Instance, values: &Value, path: &[&str]) -> usize {
    match lookup(inst, values, path) {
        Got::Known(Value::Array(a)) => a.len(),
        _ => 0,
    }
}

/// A JSON value as a model expression, so the generator's own checks
/// (`tagging::problems`) apply to planned values.
pub fn to_expr(v: &Value) -> Expr {
    match v {
        Value::Null => Expr::Null,
        Value::Bool(b) => Expr::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Expr::Float(n.as_f64().unwrap_or(f64::NAN)), Expr::Int),
        Value::String(s) => Expr::Str(s.clone()),
        Value::Array(a) => Expr::List(a.iter().map(to_expr).collect()),
        Value::Object(m) => Expr::Object(m.iter().map(|(k, v)| (k.clone(), to_expr(v))).collect()),
    }
}

fn show(v: &Value) -> String {
    v.to_string()
}

struct Cx<'a> {
    plan: &'a Plan,
    x: &'a Expectations,
    opts: Options,
    schemas: &'static Schemas,
    /// The layer of the plan's root module, when the plan calls one layer.
    root_layer: Option<String>,
    out: Vec<Finding>,
}

impl Cx<'_> {
    fn layer_of(&self, address: &str) -> (Option<String>, bool) {
        match top_module(address) {
            Some(m) => (LAYERS.contains(&m).then(|| m.to_owned()), true),
            None => (self.root_layer.clone(), false),
        }
    }

    fn push(&mut self, address: &str, severity: Severity, rule: &'static str, msg: String) {
        let (layer, in_module) = self.layer_of(address);
        let file = self.x.file_of(layer.as_deref(), in_module);
        self.out.push(Finding {
            severity,
            rule,
            address: address.to_owned(),
            message: msg,
            layer,
            file,
        });
    }

    fn error(&mut self, i: &Instance, rule: &'static str, msg: String) {
        self.push(&i.address, Severity::Error, rule, msg);
    }

    fn warn(&mut self, i: &Instance, rule: &'static str, msg: String) {
        self.push(&i.address, Severity::Warning, rule, msg);
    }

    fn unknown(&mut self, i: &Instance, rule: &'static str, what: &str) {
        self.warn(
            i,
            rule,
            format!("{what} unknown at plan; checked only after apply"),
        );
    }
}

/// Runs every rule over the plan.
pub fn check(plan: &Plan, x: &Expectations, opts: Options) -> Vec<Finding> {
    let mut cx = Cx {
        plan,
        x,
        opts,
        schemas: Schemas::vendored(),
        root_layer: root_layer(plan),
        out: Vec::new(),
    };
    let managed: Vec<&Instance> = plan
        .instances
        .iter()
        .filter(|i| i.mode == Mode::Managed)
        .collect();
    for i in &managed {
        stateful_destroy(&mut cx, i);
        let Some(values) = &i.values else {
            continue;
        };
        tags(&mut cx, i, values);
        // Names and regions are AWS policies; terraform_data and the like have neither.
        if x.env.is_some() && crate::tfcheck::provider_of_type(&i.rtype) == "aws" {
            let expected = expected_region(&cx, i);
            names(&mut cx, i, values, expected.as_deref());
            region(&mut cx, i, values);
        }
        deletion_protection(&mut cx, i, values);
        s3_settings(&mut cx, i, values);
        aurora(&mut cx, i, values);
        public_access(&mut cx, i, values);
        iam(&mut cx, i, values);
        api_auth(&mut cx, i, values);
    }
    for i in plan.deposed.iter().filter(|i| i.mode == Mode::Managed) {
        stateful_destroy(&mut cx, i);
    }
    bucket_coverage(&mut cx, &managed);
    stage_coverage(&mut cx, &managed);
    prevent_destroy(&mut cx);
    if x.env.is_some() {
        foreign_modules(&mut cx, &managed);
    }
    let mut out = cx.out;
    out.sort();
    out.dedup();
    out
}

/// The layer a plan's root belongs to: its one layer module call (or, without
/// configuration, the one layer its addresses name).
fn root_layer(plan: &Plan) -> Option<String> {
    let mut layers: BTreeSet<&str> = plan
        .module_calls
        .iter()
        .map(String::as_str)
        .filter(|c| LAYERS.contains(c))
        .collect();
    if layers.is_empty() {
        layers = plan
            .instances
            .iter()
            .filter_map(|i| top_module(&i.address))
            .filter(|m| LAYERS.contains(m))
            .collect();
    }
    match layers.len() {
        1 => layers.pop_first().map(str::to_owned),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Tags
// ---------------------------------------------------------------------------

fn tags(cx: &mut Cx<'_>, i: &Instance, values: &Value) {
    if !cx.schemas.is_taggable(&i.rtype) {
        return;
    }
    let own = match lookup(i, values, &["tags"]) {
        Got::Unknown => return cx.unknown(i, TAGS, "tags"),
        Got::Absent => None,
        Got::Known(v) => {
            let mut e = to_expr(v);
            // Members known only after apply: warn for mandatory ones and
            // count them as present, so the policy check sees the rest.
            if let (Expr::Object(m), Some(Value::Object(u))) = (&mut e, child(&i.unknown, "tags")) {
                for (k, unknown) in u {
                    if *unknown != Value::Bool(true) {
                        continue;
                    }
                    let want = tagging::MANDATORY.iter().find(|(mk, _)| mk == k);
                    if want.is_some() {
                        cx.unknown(i, TAGS, &format!("tag {k}"));
                    }
                    let placeholder = want.map_or("(known after apply)", |(_, v)| v);
                    m.insert(k.clone(), Expr::from(placeholder));
                }
            }
            Some(e)
        }
    };
    let problems = tagging::problems(own.as_ref());
    if problems.is_empty() {
        return;
    }
    let all_ok = matches!(lookup(i, values, &["tags_all"]), Got::Known(v)
        if tagging::problems(Some(&to_expr(v))).is_empty());
    if all_ok {
        cx.warn(
            i,
            TAGS,
            format!(
                "the mandatory tags come only from provider default_tags (tags_all); the tagging policy sets them in the resource's own tags: {}",
                problems.join("; ")
            ),
        );
        return;
    }
    for p in problems {
        cx.error(i, TAGS, p);
    }
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// One matcher for name-spec types, shared with the model's sealing.
use crate::policy::naming::type_matches;

/// What the name pieces stand for in one plan.
struct NameVars<'a> {
    suffix: &'a str,
    region: Option<&'a str>,
    account: Option<&'a str>,
}

/// Whether `name` is one of the names `pattern` makes, allowing a
/// qualifier before the suffix (as `Name::qualified` makes).
fn name_matches(pattern: &[Piece], name: &str, vars: &NameVars<'_>) -> bool {
    let Some((first, rest)) = pattern.split_first() else {
        return name.is_empty();
    };
    match first {
        Piece::Lit(l) => name
            .strip_prefix(l)
            .is_some_and(|r| name_matches(rest, r, vars)),
        Piece::Suffix => {
            if name
                .strip_prefix(vars.suffix)
                .is_some_and(|r| name_matches(rest, r, vars))
            {
                return true;
            }
            // `{qualifier}-{suffix}`: lowercase words before the suffix.
            let needle = format!("-{}", vars.suffix);
            name.match_indices(&needle).any(|(at, _)| {
                let q = &name[..at];
                naming::suffix_matches_pattern(q)
                    && name_matches(rest, &name[at + needle.len()..], vars)
            })
        }
        Piece::Region => match vars.region {
            Some(r) => name
                .strip_prefix(r)
                .is_some_and(|x| name_matches(rest, x, vars)),
            None => crate::config::AWS_REGIONS.iter().any(|r| {
                name.strip_prefix(r)
                    .is_some_and(|x| name_matches(rest, x, vars))
            }),
        },
        Piece::Account => match vars.account {
            Some(a) => name
                .strip_prefix(a)
                .is_some_and(|x| name_matches(rest, x, vars)),
            None => {
                let n = naming::ACCOUNT_ID_LEN;
                name.get(..n)
                    .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
                    && name_matches(rest, &name[n..], vars)
            }
        },
        Piece::Ordinal => {
            let digits = name.bytes().take_while(u8::is_ascii_digit).count();
            (1..=digits).any(|n| name_matches(rest, &name[n..], vars))
        }
    }
}

fn names(cx: &mut Cx<'_>, i: &Instance, values: &Value, region: Option<&str>) {
    let Some(env) = &cx.x.env else {
        return;
    };
    let suffix = env.suffix.clone();
    let account = env.account_id.clone();
    let specs: Vec<&NameSpec> = naming::TABLE
        .iter()
        .filter(|s| type_matches(s.resource_type, &i.rtype))
        .collect();
    let ending = format!("-{suffix}");
    if specs.is_empty() {
        if cx.schemas.is_taggable(&i.rtype) {
            if let Got::Known(Value::String(n)) = lookup(i, values, &["tags", "Name"]) {
                if !n.ends_with(&ending) {
                    cx.error(
                        i,
                        NAME,
                        format!(
                            "Name tag {n:?} does not end with the environment suffix {ending:?}"
                        ),
                    );
                }
            }
        }
        return;
    }
    let mut candidates: Vec<(&NameSpec, String, String)> = Vec::new();
    for s in &specs {
        let (path, what): (Vec<&str>, String) = match s.attribute {
            Some(a) => (vec![a], a.to_owned()),
            None => (vec!["tags", "Name"], "Name tag".to_owned()),
        };
        match lookup(i, values, &path) {
            Got::Known(Value::String(n)) => candidates.push((s, n.clone(), what)),
            Got::Known(other) => {
                return cx.error(
                    i,
                    NAME,
                    format!("{what} is {}, expected a string", show(other)),
                )
            }
            Got::Unknown => return cx.unknown(i, NAME, &what),
            // A missing Name tag is a DR-TAGS finding.
            Got::Absent if s.attribute.is_none() => {}
            Got::Absent => {
                return cx.error(
                    i,
                    NAME,
                    format!(
                        "{what} is not set: AWS would make a name without the environment suffix"
                    ),
                )
            }
        }
    }
    let vars = NameVars {
        suffix: &suffix,
        region,
        account: account.as_deref(),
    };
    if let Some((s, n, what)) = candidates
        .iter()
        .find(|(s, n, _)| name_matches(s.pattern, n, &vars))
    {
        if let Some(p) = naming::check_name(s, n) {
            cx.error(
                i,
                NAME,
                format!("{what} {n:?} is not a valid {}: {}", p.what, p.rule),
            );
        }
        return;
    }
    let Some((_, n, what)) = candidates.first() else {
        return;
    };
    let mut patterns: Vec<String> = candidates
        .iter()
        .map(|(s, _, _)| Name::of(s.kind).pattern())
        .collect();
    patterns.dedup();
    let patterns = patterns.join(" or ");
    let msg = if n.ends_with(&ending) {
        format!("{what} {n:?} does not follow the naming pattern {patterns} (suffix {suffix:?})")
    } else {
        format!(
            "{what} {n:?} does not end with the environment suffix {ending:?} (pattern {patterns})"
        )
    };
    cx.error(i, NAME, msg);
}

// ---------------------------------------------------------------------------
// Regions
// ---------------------------------------------------------------------------

/// The provider the plan's configuration gives a resource, and its
/// configured region, following module prefixes up to a configured key.
fn plan_provider(plan: &Plan, i: &Instance) -> (Option<String>, Option<(String, RegionExpr)>) {
    let Some(key) = plan
        .config
        .get(&config_address(&i.address))
        .and_then(|c| c.provider_config_key.clone())
    else {
        return (None, None);
    };
    let local = key
        .rsplit_once(':')
        .map_or(key.as_str(), |(_, l)| l)
        .to_owned();
    let mut probe = key.clone();
    loop {
        if let Some(pc) = plan.providers.get(&probe) {
            return (Some(local), Some((probe, pc.region.clone())));
        }
        // `module.a.module.b:aws` -> `module.a:aws` -> `aws`
        let Some((module, name)) = probe.rsplit_once(':') else {
            return (Some(local), None);
        };
        probe = match module.rfind(".module.") {
            Some(at) => format!("{}:{name}", &module[..at]),
            None => name.to_owned(),
        };
    }
}

fn expected_region(cx: &Cx<'_>, i: &Instance) -> Option<String> {
    let (layer, in_module) = cx.layer_of(&i.address);
    let (provider, _) = plan_provider(cx.plan, i);
    cx.x.region_of(&layer?, in_module, &i.rtype, &i.name, provider.as_deref())
        .map(|e| e.region)
}

fn region(cx: &mut Cx<'_>, i: &Instance, values: &Value) {
    let Some(env) = &cx.x.env else {
        return;
    };
    let env_name = env.name.clone();
    let (layer, in_module) = cx.layer_of(&i.address);
    let Some(layer) = layer else {
        // Resources outside the layer modules are reported once per module.
        return;
    };
    let (provider, configured) = plan_provider(cx.plan, i);
    let Some(want) =
        cx.x.region_of(&layer, in_module, &i.rtype, &i.name, provider.as_deref())
    else {
        return cx.warn(
            i,
            REGION,
            format!("env {env_name} has no region for this resource's provider in layer {layer}"),
        );
    };
    let mut known: Vec<(String, String)> = Vec::new();
    let regional = cx
        .schemas
        .resource(&i.rtype)
        .is_some_and(|s| s.attribute("region").is_some());
    if regional {
        match lookup(i, values, &["region"]) {
            Got::Known(Value::String(r)) => known.push((r.clone(), "planned region".into())),
            Got::Known(other) => known.push((show(other), "planned region".into())),
            Got::Unknown | Got::Absent => {}
        }
    }
    if let Some((key, RegionExpr::Constant(r))) = &configured {
        known.push((r.clone(), format!("provider {key}")));
    }
    if known.is_empty() {
        return cx.unknown(i, REGION, "region");
    }
    let wrong: Vec<String> = known
        .iter()
        .filter(|(r, _)| *r != want.region)
        .map(|(r, src)| format!("{r} ({src})"))
        .collect();
    if !wrong.is_empty() {
        cx.error(
            i,
            REGION,
            format!(
                "in {}, but layer {layer} of env {env_name} puts it in {} (provider {})",
                wrong.join(", "),
                want.region,
                want.provider
            ),
        );
    }
}

/// Managed resources in modules that are not layers: their region cannot
/// be checked.
fn foreign_modules(cx: &mut Cx<'_>, managed: &[&Instance]) {
    let mut seen = BTreeSet::new();
    for i in managed {
        let (layer, _) = cx.layer_of(&i.address);
        if layer.is_some() {
            continue;
        }
        let module = if i.module.is_empty() {
            "root module".to_owned()
        } else {
            i.module.clone()
        };
        if seen.insert(module.clone()) {
            let addr = if i.module.is_empty() {
                i.address.clone()
            } else {
                i.module.clone()
            };
            cx.push(
                &addr,
                Severity::Warning,
                REGION,
                format!(
                    "{module} is not a drgen layer ({}); regions of its resources are not checked",
                    LAYERS.join(", ")
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Destroyability
// ---------------------------------------------------------------------------

fn guard(cx: &mut Cx<'_>, i: &Instance, values: &Value, path: &[&str], what: &str) {
    match lookup(i, values, path) {
        Got::Known(Value::Bool(false)) | Got::Absent => {}
        Got::Unknown => cx.unknown(i, DELETION_PROTECTION, what),
        Got::Known(v) => cx.error(
            i,
            DELETION_PROTECTION,
            format!(
                "{what} is {}; must be false so the stack can be destroyed",
                show(v)
            ),
        ),
    }
}

fn deletion_protection(cx: &mut Cx<'_>, i: &Instance, values: &Value) {
    for k in DELETION_GUARDS {
        guard(cx, i, values, &[k], k);
    }
    for n in 0..count(i, values, &["replica"]) {
        let idx = n.to_string();
        guard(
            cx,
            i,
            values,
            &["replica", &idx, "deletion_protection_enabled"],
            &format!("replica[{n}].deletion_protection_enabled"),
        );
    }
}

fn prevent_destroy(cx: &mut Cx<'_>) {
    let flagged: Vec<String> = cx
        .plan
        .config
        .iter()
        .filter(|(_, c)| c.prevent_destroy)
        .map(|(a, _)| a.clone())
        .collect();
    for a in flagged {
        cx.push(
            &a,
            Severity::Error,
            PREVENT_DESTROY,
            "lifecycle.prevent_destroy is set; the DR stack must stay destroyable".into(),
        );
    }
}

fn stateful_destroy(cx: &mut Cx<'_>, i: &Instance) {
    let Some(change) = &i.change else {
        return;
    };
    if !change.deletes() || !STATEFUL_TYPES.contains(&i.rtype.as_str()) {
        return;
    }
    let what = match change
        .actions
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()[..]
    {
        ["delete"] => "deletes".to_owned(),
        ["delete", "create"] => "replaces (delete, then create)".to_owned(),
        ["create", "delete"] => "replaces (create, then delete)".to_owned(),
        _ => format!("deletes ({})", change.actions.join(", ")),
    };
    let mut msg = format!("plan {what} stateful {}", i.rtype);
    if let Some(d) = &change.deposed {
        msg.push_str(&format!(" (deposed object {d})"));
    }
    if !change.replace_paths.is_empty() {
        msg.push_str(&format!(
            "; replacement forced by {}",
            change.replace_paths.join(", ")
        ));
    }
    if let Some(r) = &change.action_reason {
        msg.push_str(&format!(" [{r}]"));
    }
    if cx.opts.allow_destroy {
        msg.push_str("; allowed by --allow-destroy");
        cx.push(&i.address, Severity::Note, STATEFUL_DESTROY, msg);
    } else {
        msg.push_str("; data is lost: rerun with --allow-destroy if intended");
        cx.error(i, STATEFUL_DESTROY, msg);
    }
}

// ---------------------------------------------------------------------------
// S3
// ---------------------------------------------------------------------------

fn expect_str(
    cx: &mut Cx<'_>,
    i: &Instance,
    values: &Value,
    rule: &'static str,
    path: &[&str],
    what: &str,
    want: &str,
) {
    match lookup(i, values, path) {
        Got::Known(Value::String(s)) if s == want => {}
        Got::Unknown => cx.unknown(i, rule, what),
        Got::Absent => cx.error(i, rule, format!("{what} is not set; must be {want:?}")),
        Got::Known(v) => cx.error(i, rule, format!("{what} is {}, must be {want:?}", show(v))),
    }
}

fn s3_settings(cx: &mut Cx<'_>, i: &Instance, values: &Value) {
    let b = cx.x.baseline.clone();
    match i.rtype.as_str() {
        "aws_s3_bucket_versioning" => expect_str(
            cx,
            i,
            values,
            S3_VERSIONING,
            &["versioning_configuration", "0", "status"],
            "versioning_configuration.status",
            &b.versioning_status,
        ),
        "aws_s3_bucket_server_side_encryption_configuration" => {
            let rules = count(i, values, &["rule"]);
            if rules == 0 {
                if lookup(i, values, &["rule"]) == Got::Unknown {
                    return cx.unknown(i, S3_ENCRYPTION, "rule");
                }
                return cx.error(
                    i,
                    S3_ENCRYPTION,
                    format!("no encryption rule; must use {:?}", b.sse_algorithm),
                );
            }
            for n in 0..rules {
                let idx = n.to_string();
                expect_str(
                    cx,
                    i,
                    values,
                    S3_ENCRYPTION,
                    &[
                        "rule",
                        &idx,
                        "apply_server_side_encryption_by_default",
                        "0",
                        "sse_algorithm",
                    ],
                    &format!("rule[{n}].apply_server_side_encryption_by_default.sse_algorithm"),
                    &b.sse_algorithm,
                );
            }
        }
        "aws_s3_bucket_public_access_block" => {
            for (k, want) in &b.public_access_block {
                match lookup(i, values, &[k]) {
                    Got::Known(Value::Bool(v)) if v == want => {}
                    Got::Unknown => cx.unknown(i, PUBLIC_ACCESS, k),
                    Got::Absent => {
                        cx.error(i, PUBLIC_ACCESS, format!("{k} is not set; must be {want}"))
                    }
                    Got::Known(v) => cx.error(
                        i,
                        PUBLIC_ACCESS,
                        format!("{k} is {}, must be {want}", show(v)),
                    ),
                }
            }
        }
        _ => {}
    }
}

/// Whether a bucket sub-resource (versioning, encryption, access block)
/// targets this bucket: equal known `bucket` values, else the
/// configuration's reference, else (no configuration) the same name.
fn targets(plan: &Plan, sub: &Instance, bucket: &Instance) -> bool {
    if sub.module != bucket.module {
        return false;
    }
    let (Some(sv), Some(bv)) = (&sub.values, &bucket.values) else {
        return false;
    };
    let target = lookup(sub, sv, &["bucket"]);
    if let Got::Known(t) = target {
        for k in ["bucket", "id"] {
            if let Got::Known(b) = lookup(bucket, bv, &[k]) {
                if b == t {
                    return true;
                }
            }
        }
    }
    if let Some(refs) = plan
        .config
        .get(&config_address(&sub.address))
        .and_then(|c| c.references.get("bucket"))
    {
        let me = format!("{}.{}", bucket.rtype, bucket.name);
        return refs.iter().any(|r| {
            r.strip_prefix(&me)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        });
    }
    !plan.has_configuration && target != Got::Known(&Value::Null) && sub.name == bucket.name
}

fn bucket_coverage(cx: &mut Cx<'_>, managed: &[&Instance]) {
    let alive: Vec<&Instance> = managed
        .iter()
        .copied()
        .filter(|i| i.values.is_some())
        .collect();
    let needs: [(&str, &'static str); 3] = [
        ("aws_s3_bucket_versioning", S3_VERSIONING),
        (
            "aws_s3_bucket_server_side_encryption_configuration",
            S3_ENCRYPTION,
        ),
        ("aws_s3_bucket_public_access_block", PUBLIC_ACCESS),
    ];
    for b in alive.iter().filter(|i| i.rtype == "aws_s3_bucket") {
        for (t, rule) in needs {
            let covered = alive.iter().any(|s| s.rtype == t && targets(cx.plan, s, b));
            if !covered {
                cx.error(b, rule, format!("no {t} for this bucket"));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// API access (P43, P44)
// ---------------------------------------------------------------------------

/// The instance a reference of `sub`'s argument names, in `sub`'s module.
fn referenced<'p>(plan: &'p Plan, sub: &Instance, arg: &str, rtype: &str) -> Option<&'p Instance> {
    let refs = plan
        .config
        .get(&config_address(&sub.address))
        .and_then(|c| c.references.get(arg))?;
    let name = refs.iter().find_map(|r| {
        r.strip_prefix(&format!("{rtype}."))
            .map(|rest| rest.split(['.', '[']).next().unwrap_or(rest))
    })?;
    plan.instances
        .iter()
        .find(|i| i.module == sub.module && i.rtype == rtype && i.name == name)
}

fn api_auth(cx: &mut Cx<'_>, i: &Instance, values: &Value) {
    if i.rtype != "aws_api_gateway_method" {
        return;
    }
    let (open_method, open_path) = crate::components::api::OPEN_ROUTE;
    let open = match lookup(i, values, &["authorization"]) {
        Got::Unknown => return cx.unknown(i, API_AUTH, "authorization"),
        Got::Known(Value::String(a)) if a != "NONE" => return,
        _ => true,
    };
    if !open {
        return;
    }
    let is_get = matches!(lookup(i, values, &["http_method"]), Got::Known(Value::String(m)) if m == open_method);
    let health = referenced(cx.plan, i, "resource_id", "aws_api_gateway_resource")
        .and_then(|r| r.values.as_ref().map(|v| (r, v)))
        .map(|(r, v)| {
            matches!(lookup(r, v, &["path_part"]), Got::Known(Value::String(p)) if format!("/{p}") == open_path)
        });
    match (is_get, health) {
        (true, Some(true)) => {}
        (true, None) if !cx.plan.has_configuration => cx.warn(
            i,
            API_AUTH,
            format!("authorization is NONE; without the plan's configuration the route cannot be resolved (only {open_method} {open_path} may be open)"),
        ),
        _ => cx.error(
            i,
            API_AUTH,
            format!("authorization is NONE; only {open_method} {open_path} may be open, every other method must use AWS_IAM"),
        ),
    }
}

fn stage_coverage(cx: &mut Cx<'_>, managed: &[&Instance]) {
    let alive: Vec<&Instance> = managed
        .iter()
        .copied()
        .filter(|i| i.values.is_some())
        .collect();
    for st in alive.iter().filter(|i| i.rtype == "aws_api_gateway_stage") {
        let covered = alive
            .iter()
            .filter(|a| a.rtype == "aws_wafv2_web_acl_association" && a.module == st.module)
            .any(|a| {
                if let Some(target) =
                    referenced(cx.plan, a, "resource_arn", "aws_api_gateway_stage")
                {
                    return target.address == st.address;
                }
                let (Some(av), Some(sv)) = (&a.values, &st.values) else {
                    return false;
                };
                match (lookup(a, av, &["resource_arn"]), lookup(st, sv, &["arn"])) {
                    (Got::Known(x), Got::Known(y)) => x == y,
                    // Without configuration and with unknown ARNs, an
                    // association in the stage's module is taken as its own.
                    _ => !cx.plan.has_configuration,
                }
            });
        if !covered {
            cx.error(
                st,
                WAF,
                "no aws_wafv2_web_acl_association for this stage (a regional web ACL must guard it)".into(),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Aurora
// ---------------------------------------------------------------------------

fn aurora(cx: &mut Cx<'_>, i: &Instance, values: &Value) {
    let t = i.rtype.as_str();
    if t == "aws_rds_cluster" {
        match lookup(i, values, &["backup_retention_period"]) {
            Got::Known(v) if v.as_i64() == Some(BACKUP_RETENTION_DAYS) => {}
            Got::Unknown => cx.unknown(i, BACKUP_RETENTION, "backup_retention_period"),
            Got::Absent => cx.error(
                i,
                BACKUP_RETENTION,
                format!("backup_retention_period is not set; must be {BACKUP_RETENTION_DAYS}"),
            ),
            Got::Known(v) => cx.error(
                i,
                BACKUP_RETENTION,
                format!(
                    "backup_retention_period is {}, must be {BACKUP_RETENTION_DAYS}",
                    show(v)
                ),
            ),
        }
    }
    if t == "aws_rds_cluster" || t == "aws_rds_global_cluster" {
        match lookup(i, values, &["storage_encrypted"]) {
            Got::Known(Value::Bool(true)) => {}
            Got::Unknown => cx.unknown(i, STORAGE_ENCRYPTION, "storage_encrypted"),
            Got::Absent => cx.error(
                i,
                STORAGE_ENCRYPTION,
                "storage_encrypted is not set; must be true".into(),
            ),
            Got::Known(v) => cx.error(
                i,
                STORAGE_ENCRYPTION,
                format!("storage_encrypted is {}, must be true", show(v)),
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// Public access
// ---------------------------------------------------------------------------

fn public_access(cx: &mut Cx<'_>, i: &Instance, values: &Value) {
    match i.rtype.as_str() {
        "aws_rds_cluster_instance" | "aws_db_instance" => {
            match lookup(i, values, &["publicly_accessible"]) {
                Got::Known(Value::Bool(false)) | Got::Absent => {}
                Got::Unknown => cx.unknown(i, PUBLIC_ACCESS, "publicly_accessible"),
                Got::Known(v) => cx.error(
                    i,
                    PUBLIC_ACCESS,
                    format!("publicly_accessible is {}, must be false", show(v)),
                ),
            }
        }
        "aws_vpc_security_group_ingress_rule" => {
            for (k, open) in OPEN_CIDRS {
                match lookup(i, values, &[k]) {
                    Got::Known(Value::String(c)) if c == open => {
                        cx.error(i, PUBLIC_ACCESS, format!("ingress from {open} ({k})"))
                    }
                    Got::Unknown => cx.unknown(i, PUBLIC_ACCESS, k),
                    _ => {}
                }
            }
        }
        "aws_security_group" | "aws_default_security_group" => {
            for n in 0..count(i, values, &["ingress"]) {
                open_cidr_lists(
                    cx,
                    i,
                    values,
                    &["ingress", &n.to_string()],
                    &format!("ingress[{n}]"),
                );
            }
            // An unknown `ingress` is the provider's computed default when
            // rules are separate resources (as the generator makes them),
            // each of which is checked on its own.
        }
        "aws_security_group_rule" => {
            if matches!(lookup(i, values, &["type"]), Got::Known(Value::String(t)) if t == "ingress")
            {
                open_cidr_lists(cx, i, values, &[], "rule");
            }
        }
        _ => {}
    }
}

/// `cidr_blocks` / `ipv6_cidr_blocks` holding an open CIDR.
fn open_cidr_lists(cx: &mut Cx<'_>, i: &Instance, values: &Value, at: &[&str], what: &str) {
    let lists = [
        ("cidr_blocks", OPEN_CIDRS[0].1),
        ("ipv6_cidr_blocks", OPEN_CIDRS[1].1),
    ];
    for (k, open) in lists {
        let mut path = at.to_vec();
        path.push(k);
        match lookup(i, values, &path) {
            Got::Known(Value::Array(a)) if a.iter().any(|c| c.as_str() == Some(open)) => cx.error(
                i,
                PUBLIC_ACCESS,
                format!("{what} allows ingress from {open} ({k})"),
            ),
            Got::Unknown => cx.unknown(i, PUBLIC_ACCESS, &format!("{what}.{k}")),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// IAM
// ---------------------------------------------------------------------------

fn iam(cx: &mut Cx<'_>, i: &Instance, values: &Value) {
    for (t, attr) in IAM_POLICIES {
        if i.rtype == *t {
            policy(cx, i, values, &[attr], attr);
        }
    }
    if i.rtype == "aws_iam_role" {
        for n in 0..count(i, values, &["inline_policy"]) {
            let idx = n.to_string();
            policy(
                cx,
                i,
                values,
                &["inline_policy", &idx, "policy"],
                &format!("inline_policy[{n}].policy"),
            );
        }
    }
}

/// `*` or `service:*`.
fn wildcard_action(a: &str) -> bool {
    a == "*"
        || a.split_once(':')
            .is_some_and(|(svc, act)| act == "*" && !svc.is_empty() && !svc.contains('*'))
}

fn policy(cx: &mut Cx<'_>, i: &Instance, values: &Value, path: &[&str], what: &str) {
    let text = match lookup(i, values, path) {
        Got::Absent => return,
        Got::Unknown => return cx.unknown(i, IAM_WILDCARD, what),
        Got::Known(Value::String(s)) if s.is_empty() => return,
        Got::Known(Value::String(s)) => s,
        Got::Known(v) => {
            return cx.warn(
                i,
                IAM_WILDCARD,
                format!("{what} is {}, not a JSON string", show(v)),
            )
        }
    };
    let doc: Value = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            return cx.warn(
                i,
                IAM_WILDCARD,
                format!("{what} is not valid JSON ({e}); cannot check for wildcard actions"),
            )
        }
    };
    for (n, st) in list(doc.get("Statement")).into_iter().enumerate() {
        if st.get("Effect").and_then(Value::as_str).unwrap_or("Allow") != "Allow" {
            continue;
        }
        let on_all = list(st.get("Resource"))
            .iter()
            .any(|r| r.as_str() == Some("*"));
        if !on_all {
            continue;
        }
        let sid = st
            .get("Sid")
            .and_then(Value::as_str)
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        for a in list(st.get("Action")) {
            if let Some(a) = a.as_str().filter(|a| wildcard_action(a)) {
                cx.error(
                    i,
                    IAM_WILDCARD,
                    format!("{what}: statement {n}{sid} allows {a:?} on resource \"*\""),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        for a in ["*", "s3:*", "kms:*"] {
            assert!(wildcard_action(a), "{a}");
        }
        for a in ["s3:Get*", "s3:GetObject", ":*", "*:*x"] {
            assert!(!wildcard_action(a), "{a}");
        }
    }

    #[test]
    fn type_globs() {
        assert!(type_matches(
            "aws_vpc_security_group_*_rule",
            "aws_vpc_security_group_ingress_rule"
        ));
        assert!(!type_matches("aws_vpc_security_group_*_rule", "aws_vpc"));
        assert!(type_matches("aws_vpc", "aws_vpc"));
    }

    #[test]
    fn names_follow_the_table() {
        let vars = NameVars {
            suffix: "prod",
            region: Some("us-east-1"),
            account: None,
        };
        let spec = |k| naming::spec(k).pattern;
        use naming::NameKind::*;
        assert!(name_matches(
            spec(Bucket),
            "payments-us-east-1-123456789012-prod",
            &vars
        ));
        assert!(!name_matches(
            spec(Bucket),
            "payments-us-east-2-123456789012-prod",
            &vars
        ));
        assert!(name_matches(spec(ClusterInstance), "aurora-1-prod", &vars));
        assert!(name_matches(
            spec(SecurityGroupRule),
            "sgr-aurora-from-lambda-prod",
            &vars
        ));
        assert!(!name_matches(spec(Cluster), "aurora-dev", &vars));
        assert!(!name_matches(spec(Cluster), "aurora-prod-x", &vars));
        assert!(name_matches(spec(Alarm), "alarm-api-5xx-prod", &vars));
    }
}
