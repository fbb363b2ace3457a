//! Reading the JSON that `terraform show -json PLANFILE` prints.
//!
//! Only the parts the review reads are validated, each with the JSON path
//! of the first problem (`resource_changes[3].change.actions: expected an
//! array of strings`). Everything else in the document is ignored, so newer
//! 1.x minor versions of the format keep working.
//!
//! Format reference: <https://developer.hashicorp.com/terraform/internals/json-format>.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

/// The plan format major version this reader understands.
pub const FORMAT_MAJOR: &str = "1";

/// Why a plan could not be read. Displayed as
/// `FILE[:LINE:COLUMN]: [JSON.PATH: ]MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The file as named on the command line.
    pub file: String,
    /// Line and column of a JSON syntax error.
    pub position: Option<(usize, usize)>,
    /// The JSON path of a structural problem, e.g. `resource_changes[3].change.actions`.
    pub path: Option<String>,
    pub message: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        f.write_str(": ")?;
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlanError {}

/// Managed resource or data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Managed,
    Data,
}

/// One planned change (`resource_changes[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// e.g. `["delete", "create"]`.
    pub actions: Vec<String>,
    /// e.g. `replace_because_cannot_update`.
    pub action_reason: Option<String>,
    /// The attributes that force a replacement, rendered as `a.b[0]`.
    pub replace_paths: Vec<String>,
    /// The deposed key when the change is to a deposed object.
    pub deposed: Option<String>,
}

impl Change {
    /// The change deletes the object (delete, or either kind of replace).
    pub fn deletes(&self) -> bool {
        self.actions.iter().any(|a| a == "delete")
    }
}

/// One resource instance: its planned values merged with its change.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// e.g. `module.primary.aws_subnet.private[0]`.
    pub address: String,
    /// The module instance, e.g. `module.primary` (empty for the root module).
    pub module: String,
    pub mode: Mode,
    pub rtype: String,
    pub name: String,
    pub provider_name: Option<String>,
    pub change: Option<Change>,
    /// The planned values (`change.after`, else `planned_values`); `None`
    /// when the plan deletes the object.
    pub values: Option<Value>,
    /// `change.after_unknown`: `true` at every value known only after apply.
    pub unknown: Value,
}

/// How a provider configuration sets its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionExpr {
    Constant(String),
    /// Set from references (variables, other resources): not known from configuration.
    Expression,
    Absent,
}

/// One `configuration.provider_config` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub name: Option<String>,
    pub alias: Option<String>,
    pub module_address: Option<String>,
    pub region: RegionExpr,
}

/// One resource of `configuration` (not an instance).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigResource {
    pub provider_config_key: Option<String>,
    /// Top-level argument -> the references of its expression.
    pub references: BTreeMap<String, Vec<String>>,
    /// `lifecycle.prevent_destroy`, for producers that export it (Terraform
    /// itself does not put `lifecycle` in the plan's configuration).
    pub prevent_destroy: bool,
}

/// A parsed plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub format_version: String,
    pub terraform_version: Option<String>,
    /// Current objects, sorted by address.
    pub instances: Vec<Instance>,
    /// Changes to deposed objects (left over by create_before_destroy).
    pub deposed: Vec<Instance>,
    /// `configuration.provider_config`, by key.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `configuration` resources by absolute address without instance keys,
    /// e.g. `module.primary.aws_s3_bucket.payments`.
    pub config: BTreeMap<String, ConfigResource>,
    /// Names of the root module's module calls.
    pub module_calls: Vec<String>,
    /// The plan has a `configuration` section.
    pub has_configuration: bool,
}

/// Reads and parses a plan file. `label` names the file in messages.
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    let label = path.display().to_string();
    let err = |message: String| PlanError {
        file: label.clone(),
        position: None,
        path: None,
        message,
    };
    if path.is_dir() {
        return Err(err(
            "is a directory, expected the JSON of `terraform show -json PLANFILE`".into(),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(err(
            "this is a binary plan file; review its JSON: terraform show -json PLANFILE > plan.json"
                .into(),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        err(format!(
            "not valid UTF-8 (first invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    parse(&label, &text)
}

/// Parses the text of a plan. `label` names the file in messages.
pub fn parse(label: &str, text: &str) -> Result<Plan, PlanError> {
    let whole = |message: &str| PlanError {
        file: label.to_owned(),
        position: None,
        path: None,
        message: message.to_owned(),
    };
    if text.trim().is_empty() {
        return Err(whole(
            "empty file; expected the JSON of `terraform show -json PLANFILE`",
        ));
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| syntax_error(label, &e))?;
    read(&doc).map_err(|b| PlanError {
        file: label.to_owned(),
        position: None,
        path: (!b.path.is_empty()).then_some(b.path),
        message: b.message,
    })
}

fn syntax_error(label: &str, e: &serde_json::Error) -> PlanError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let what = full.strip_suffix(&suffix).unwrap_or(&full);
    let kind = if e.is_eof() {
        "truncated JSON"
    } else {
        "invalid JSON"
    };
    PlanError {
        file: label.to_owned(),
        position: Some((e.line(), e.column())),
        path: None,
        message: format!("{kind}: {what}"),
    }
}

/// A structural problem at a JSON path.
struct Bad {
    path: String,
    message: String,
}

type R<T> = Result<T, Bad>;

fn bad<T>(path: &str, message: impl Into<String>) -> R<T> {
    Err(Bad {
        path: path.to_owned(),
        message: message.into(),
    })
}

/// `parent.key`, or `parent["odd key"]` when the key is not a plain word.
fn key_path(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !plain {
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("{key:?}"));
        return format!("{parent}[{quoted}]");
    }
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn object<'a>(v: &'a Value, path: &str) -> R<&'a Map<String, Value>> {
    match v.as_object() {
        Some(m) => Ok(m),
        None => bad(path, "expected an object"),
    }
}

/// An optional member: absent and `null` are the same.
fn opt<'a>(m: &'a Map<String, Value>, parent: &str, key: &str) -> Option<(&'a Value, String)> {
    match m.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some((v, key_path(parent, key))),
    }
}

fn req<'a>(m: &'a Map<String, Value>, parent: &str, key: &str) -> R<(&'a Value, String)> {
    match opt(m, parent, key) {
        Some(x) => Ok(x),
        None => bad(&key_path(parent, key), "required but missing"),
    }
}

fn string(v: &Value, path: &str) -> R<String> {
    match v.as_str() {
        Some(s) => Ok(s.to_owned()),
        None => bad(path, "expected a string"),
    }
}

fn opt_string(m: &Map<String, Value>, parent: &str, key: &str) -> R<Option<String>> {
    opt(m, parent, key).map(|(v, p)| string(v, &p)).transpose()
}

fn req_string(m: &Map<String, Value>, parent: &str, key: &str) -> R<String> {
    let (v, p) = req(m, parent, key)?;
    string(v, &p)
}

fn array<'a>(v: &'a Value, path: &str) -> R<&'a [Value]> {
    match v.as_array() {
        Some(a) => Ok(a),
        None => bad(path, "expected an array"),
    }
}

fn strings(v: &Value, path: &str) -> R<Vec<String>> {
    v.as_array()
        .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_owned)).collect())
        .map_or_else(|| bad(path, "expected an array of strings"), Ok)
}

fn mode(m: &Map<String, Value>, parent: &str) -> R<Mode> {
    let (v, p) = req(m, parent, "mode")?;
    match v.as_str() {
        Some("managed") => Ok(Mode::Managed),
        Some("data") => Ok(Mode::Data),
        _ => bad(&p, "expected \"managed\" or \"data\""),
    }
}

fn read(doc: &Value) -> R<Plan> {
    let top = object(doc, "").map_err(|_| Bad {
        path: String::new(),
        message: "expected a JSON object at the top level".into(),
    })?;
    let format_version = match opt(top, "", "format_version") {
        Some((v, p)) => string(v, &p)?,
        None => {
            return bad(
                "format_version",
                "required but missing; is this the output of `terraform show -json PLANFILE`?",
            )
        }
    };
    if format_version.split('.').next() != Some(FORMAT_MAJOR) {
        return bad(
            "",
            format!(
                "unsupported plan format_version {format_version}; drgen reads {FORMAT_MAJOR}.x"
            ),
        );
    }
    let terraform_version = opt_string(top, "", "terraform_version")?;
    if !top.contains_key("planned_values") && !top.contains_key("resource_changes") {
        let what = if top.contains_key("values") {
            "this looks like state JSON (`terraform show -json` without a plan file)"
        } else {
            "neither planned_values nor resource_changes is present"
        };
        return bad("", format!("not a plan: {what}"));
    }

    let mut instances: BTreeMap<String, Instance> = BTreeMap::new();
    if let Some((pv, p)) = opt(top, "", "planned_values") {
        let pv = object(pv, &p)?;
        if let Some((root, rp)) = opt(pv, &p, "root_module") {
            planned_module(root, &rp, &mut instances)?;
        }
    }
    let mut deposed = Vec::new();
    if let Some((rc, p)) = opt(top, "", "resource_changes") {
        for (i, c) in array(rc, &p)?.iter().enumerate() {
            let ip = format!("{p}[{i}]");
            let inst = resource_change(c, &ip)?;
            if inst.change.as_ref().is_some_and(|c| c.deposed.is_some()) {
                deposed.push(inst);
                continue;
            }
            match instances.get_mut(&inst.address) {
                Some(existing) => {
                    existing.change = inst.change;
                    existing.values = inst.values;
                    existing.unknown = inst.unknown;
                    if existing.provider_name.is_none() {
                        existing.provider_name = inst.provider_name;
                    }
                }
                None => {
                    instances.insert(inst.address.clone(), inst);
                }
            }
        }
    }

    let mut plan = Plan {
        format_version,
        terraform_version,
        instances: instances.into_values().collect(),
        deposed,
        providers: BTreeMap::new(),
        config: BTreeMap::new(),
        module_calls: Vec::new(),
        has_configuration: false,
    };
    if let Some((c, p)) = opt(top, "", "configuration") {
        plan.has_configuration = true;
        configuration(c, &p, &mut plan)?;
    }
    Ok(plan)
}

fn planned_module(v: &Value, path: &str, out: &mut BTreeMap<String, Instance>) -> R<()> {
    let m = object(v, path)?;
    if let Some((rs, p)) = opt(m, path, "resources") {
        for (i, r) in array(rs, &p)?.iter().enumerate() {
            let rp = format!("{p}[{i}]");
            let o = object(r, &rp)?;
            let address = req_string(o, &rp, "address")?;
            let mode = mode(o, &rp)?;
            let rtype = req_string(o, &rp, "type")?;
            let name = req_string(o, &rp, "name")?;
            let provider_name = opt_string(o, &rp, "provider_name")?;
            let values = match opt(o, &rp, "values") {
                Some((v, vp)) => Some(Value::Object(object(v, &vp)?.clone())),
                None => Some(Value::Object(Map::new())),
            };
            let module = module_of(&address);
            out.insert(
                address.clone(),
                Instance {
                    address,
                    module,
                    mode,
                    rtype,
                    name,
                    provider_name,
                    change: None,
                    values,
                    unknown: Value::Null,
                },
            );
        }
    }
    if let Some((cs, p)) = opt(m, path, "child_modules") {
        for (i, c) in array(cs, &p)?.iter().enumerate() {
            planned_module(c, &format!("{p}[{i}]"), out)?;
        }
    }
    Ok(())
}

fn resource_change(v: &Value, path: &str) -> R<Instance> {
    let o = object(v, path)?;
    let address = req_string(o, path, "address")?;
    let module = match opt_string(o, path, "module_address")? {
        Some(m) => m,
        None => module_of(&address),
    };
    let mode = mode(o, path)?;
    let rtype = req_string(o, path, "type")?;
    let name = req_string(o, path, "name")?;
    let provider_name = opt_string(o, path, "provider_name")?;
    let deposed = opt_string(o, path, "deposed")?;
    let action_reason = opt_string(o, path, "action_reason")?;
    let (c, cp) = req(o, path, "change")?;
    let c = object(c, &cp)?;
    let (a, ap) = req(c, &cp, "actions")?;
    let actions = strings(a, &ap)?;
    if actions.is_empty() {
        return bad(&ap, "expected a non-empty array of strings");
    }
    let values = match opt(c, &cp, "after") {
        Some((v, p)) => Some(Value::Object(object(v, &p)?.clone())),
        None => None,
    };
    let unknown = match opt(c, &cp, "after_unknown") {
        Some((v @ (Value::Object(_) | Value::Bool(_)), _)) => v.clone(),
        Some((_, p)) => return bad(&p, "expected an object or a boolean"),
        None => Value::Null,
    };
    let mut replace_paths = Vec::new();
    if let Some((rp, p)) = opt(c, &cp, "replace_paths") {
        for (i, steps) in array(rp, &p)?.iter().enumerate() {
            let sp = format!("{p}[{i}]");
            replace_paths.push(render_path(array(steps, &sp)?, &sp)?);
        }
    }
    // A create has no "after" only if the object is wholly unknown, which
    // Terraform never plans; treat a missing "after" as a deletion only when
    // the actions say so.
    let deletes_only = actions.iter().all(|a| a == "delete" || a == "forget");
    let values = if deletes_only {
        None
    } else {
        values.or_else(|| Some(Value::Object(Map::new())))
    };
    Ok(Instance {
        address,
        module,
        mode,
        rtype,
        name,
        provider_name,
        change: Some(Change {
            actions,
            action_reason,
            replace_paths,
            deposed,
        }),
        values,
        unknown,
    })
}

/// `["rule", 0, "status"]` -> `rule[0].status`.
fn render_path(steps: &[Value], path: &str) -> R<String> {
    let mut s = String::new();
    for st in steps {
        match st {
            Value::String(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Value::Number(n) => s.push_str(&format!("[{n}]")),
            _ => return bad(path, "expected an array of strings and numbers"),
        }
    }
    Ok(s)
}

fn configuration(v: &Value, path: &str, plan: &mut Plan) -> R<()> {
    let c = object(v, path)?;
    if let Some((pcs, p)) = opt(c, path, "provider_config") {
        for (key, pc) in object(pcs, &p)? {
            let kp = key_path(&p, key);
            let o = object(pc, &kp)?;
            let region = match opt(o, &kp, "expressions") {
                Some((e, ep)) => match opt(object(e, &ep)?, &ep, "region") {
                    Some((r, rp)) => {
                        let r = object(r, &rp)?;
                        match opt(r, &rp, "constant_value") {
                            Some((cv, cvp)) => RegionExpr::Constant(string(cv, &cvp)?),
                            None => RegionExpr::Expression,
                        }
                    }
                    None => RegionExpr::Absent,
                },
                None => RegionExpr::Absent,
            };
            plan.providers.insert(
                key.clone(),
                ProviderConfig {
                    name: opt_string(o, &kp, "name")?,
                    alias: opt_string(o, &kp, "alias")?,
                    module_address: opt_string(o, &kp, "module_address")?,
                    region,
                },
            );
        }
    }
    if let Some((root, p)) = opt(c, path, "root_module") {
        let root = object(root, &p)?;
        if let Some((calls, cp)) = opt(root, &p, "module_calls") {
            plan.module_calls = object(calls, &cp)?.keys().cloned().collect();
        }
        config_module(root, &p, "", &mut plan.config)?;
    }
    Ok(())
}

fn config_module(
    m: &Map<String, Value>,
    path: &str,
    prefix: &str,
    out: &mut BTreeMap<String, ConfigResource>,
) -> R<()> {
    if let Some((rs, p)) = opt(m, path, "resources") {
        for (i, r) in array(rs, &p)?.iter().enumerate() {
            let rp = format!("{p}[{i}]");
            let o = object(r, &rp)?;
            let address = req_string(o, &rp, "address")?;
            let mut res = ConfigResource {
                provider_config_key: opt_string(o, &rp, "provider_config_key")?,
                ..ConfigResource::default()
            };
            if let Some((e, ep)) = opt(o, &rp, "expressions") {
                for (k, x) in object(e, &ep)? {
                    let Some(refs) = x.as_object().and_then(|x| x.get("references")) else {
                        continue;
                    };
                    let kp = key_path(&ep, k);
                    res.references
                        .insert(k.clone(), strings(refs, &key_path(&kp, "references"))?);
                }
            }
            if let Some((l, lp)) = opt(o, &rp, "lifecycle") {
                let l = object(l, &lp)?;
                if let Some((pd, pdp)) = opt(l, &lp, "prevent_destroy") {
                    res.prevent_destroy = match pd {
                        Value::Bool(b) => *b,
                        Value::Object(x) => x.get("constant_value") == Some(&Value::Bool(true)),
                        _ => return bad(&pdp, "expected a boolean"),
                    };
                }
            }
            let abs = if prefix.is_empty() {
                address
            } else {
                format!("{prefix}.{address}")
            };
            out.insert(abs, res);
        }
    }
    if let Some((calls, cp)) = opt(m, path, "module_calls") {
        for (name, call) in object(calls, &cp)? {
            let np = key_path(&cp, name);
            let call = object(call, &np)?;
            if let Some((module, mp)) = opt(call, &np, "module") {
                let child = if prefix.is_empty() {
                    format!("module.{name}")
                } else {
                    format!("{prefix}.module.{name}")
                };
                config_module(object(module, &mp)?, &mp, &child, out)?;
            }
        }
    }
    Ok(())
}

/// The address split at dots outside `[...]` (keys may hold dots).
fn segments(address: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0usize, false, false, 0usize);
    for (i, c) in address.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(&address[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&address[start..]);
    out
}

/// The module instance of a resource address: `module.a[0].module.b`.
pub fn module_of(address: &str) -> String {
    let segs = segments(address);
    let mut parts = Vec::new();
    let mut i = 0;
    while i + 1 < segs.len() && segs[i] == "module" {
        parts.push(format!("module.{}", segs[i + 1]));
        i += 2;
    }
    parts.join(".")
}

/// The address without instance keys: `module.a[0].x.y["k"]` -> `module.a.x.y`.
pub fn config_address(address: &str) -> String {
    segments(address)
        .into_iter()
        .map(|s| s.split_once('[').map_or(s, |(head, _)| head))
        .collect::<Vec<_>>()
        .join(".")
}

/// The first module name of an address (`module.dr[0].x.y` -> `dr`).
pub fn top_module(address: &str) -> Option<&str> {
    let segs = segments(address);
    match segs.as_slice() {
        ["module", name, ..] => Some(name.split_once('[').map_or(*name, |(h, _)| h)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_outside_keys() {
        let a = r#"module.a["x.y"].module.b[0].aws_s3_bucket.this["k[1]"]"#;
        assert_eq!(module_of(a), r#"module.a["x.y"].module.b[0]"#);
        assert_eq!(config_address(a), "module.a.module.b.aws_s3_bucket.this");
        assert_eq!(top_module(a), Some("a"));
        assert_eq!(module_of("aws_vpc.this"), "");
        assert_eq!(top_module("data.aws_region.current"), None);
    }

    #[test]
    fn paths_quote_odd_keys() {
        assert_eq!(key_path("", "a"), "a");
        assert_eq!(key_path("a", "b_c"), "a.b_c");
        assert_eq!(
            key_path("configuration.provider_config", "module.dr:aws.primary"),
            "configuration.provider_config[\"module.dr:aws.primary\"]"
        );
    }
}
