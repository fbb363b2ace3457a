//! Module documentation: `modules/<name>/README.md`, rendered from the typed
//! model in the style of terraform-docs (usage, requirements, inputs,
//! outputs, resources). Output is deterministic: every list comes from a
//! `BTreeMap` or is sorted, and the template is embedded.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;
use tera::{Context, Tera};

use crate::template::TemplateError;

use crate::layers::Project;
use crate::model::{Expr, Mode, Module, ModuleCall, ModuleKind, TypeExpr};

const README_TEMPLATE: &str = include_str!("../templates/module_readme.md.tera");
const README: &str = "module_readme.md";

/// The environment whose roots serve as usage examples, when it exists.
pub const EXAMPLE_ENV: &str = "prod";

#[derive(Debug, Serialize)]
struct ProviderRow {
    name: String,
    source: String,
    version: String,
    aliases: Vec<String>,
}

#[derive(Debug, Serialize)]
struct InputRow {
    name: String,
    description: String,
    ty: String,
    default: Option<String>,
    required: bool,
    sensitive: bool,
    validations: Vec<String>,
}

#[derive(Debug, Serialize)]
struct OutputRow {
    name: String,
    description: String,
    sensitive: bool,
}

#[derive(Debug, Serialize)]
struct ResourceRow {
    address: String,
    count: Option<String>,
}

#[derive(Debug, Serialize)]
struct CallRow {
    name: String,
    source: String,
}

/// The README of a reusable module. `example_root` is a root that calls the
/// module (e.g. `envs/prod/primary`); its call becomes the usage example.
/// Without one, or when it does not call the module, the example uses
/// placeholders derived from the variable types.
pub fn module_readme(m: &Module, example_root: Option<&Module>) -> Result<String, TemplateError> {
    let call = example_root.and_then(|r| find_call(r, m).map(|c| (r, c)));
    let (usage_note, usage) = match call {
        Some((root, c)) => (
            format!(
                "As called from `{}`, generated from its environment's `env.toml`:",
                root.dir
            ),
            usage_from_call(c),
        ),
        None => (
            "Required inputs with placeholder values; optional inputs are commented out with their defaults:"
                .to_owned(),
            usage_placeholder(m),
        ),
    };

    let providers: Vec<ProviderRow> = m
        .terraform
        .required_providers
        .iter()
        .map(|(name, p)| ProviderRow {
            name: name.clone(),
            source: p.source.clone(),
            version: p.version.clone(),
            aliases: p
                .configuration_aliases
                .iter()
                .map(ToString::to_string)
                .collect(),
        })
        .collect();
    let inputs: Vec<InputRow> = m
        .variables
        .values()
        .map(|v| InputRow {
            name: v.name.clone(),
            description: v.description.clone(),
            ty: v.ty.to_string(),
            default: v.default.as_ref().map(|d| {
                if v.sensitive {
                    "(sensitive)".to_owned()
                } else {
                    d.to_hcl()
                }
            }),
            required: v.default.is_none(),
            sensitive: v.sensitive,
            validations: v
                .validations
                .iter()
                .map(|c| c.error_message.clone())
                .collect(),
        })
        .collect();
    let outputs: Vec<OutputRow> = m
        .outputs
        .values()
        .map(|o| OutputRow {
            name: o.name.clone(),
            description: o.description.clone(),
            sensitive: o.sensitive,
        })
        .collect();
    let rows = |mode: Mode| -> Vec<ResourceRow> {
        // Address order: type, then name.
        m.resources
            .iter()
            .filter(|(_, r)| r.mode == mode)
            .map(|(a, r)| ResourceRow {
                address: a.to_string(),
                count: r
                    .count
                    .as_ref()
                    .map(|c| strip_outer_parens(&c.to_hcl()).to_owned()),
            })
            .collect()
    };
    let calls: Vec<CallRow> = m
        .calls
        .values()
        .map(|c| CallRow {
            name: c.name.clone(),
            source: c.source.clone(),
        })
        .collect();

    let mut ctx = Context::new();
    ctx.insert("dir", &m.dir);
    ctx.insert("description", m.description.trim());
    ctx.insert("usage_note", &usage_note);
    ctx.insert("fence", &fence_for(&usage));
    ctx.insert("usage", &usage);
    ctx.insert("required_version", &m.terraform.required_version);
    ctx.insert("providers", &providers);
    ctx.insert("inputs", &inputs);
    ctx.insert("outputs", &outputs);
    ctx.insert("resources", &rows(Mode::Managed));
    ctx.insert("data_sources", &rows(Mode::Data));
    ctx.insert("ephemeral", &rows(Mode::Ephemeral));
    ctx.insert("calls", &calls);
    let out = tera()?
        .render(README, &ctx)
        .map_err(|e| TemplateError::render(README, &e))?;
    Ok(tidy(&out))
}

/// Every reusable module's README: `modules/<name>/README.md` -> content.
/// The usage example comes from the [`EXAMPLE_ENV`] root calling the module
/// when there is one, else from the first root that calls it.
pub fn module_readmes(project: &Project) -> Result<BTreeMap<String, String>, TemplateError> {
    project
        .modules
        .iter()
        .map(|m| {
            let callers = || project.roots.iter().filter(|r| find_call(r, m).is_some());
            let example = callers()
                .find(|r| matches!(&r.kind, ModuleKind::Root { env, .. } if env == EXAMPLE_ENV))
                .or_else(|| callers().next());
            Ok((format!("{}/README.md", m.dir), module_readme(m, example)?))
        })
        .collect()
}

/// Escapes text for one Markdown table cell: `|` becomes `\|`, line breaks
/// become `<br>`, and a `<` that could open an HTML tag becomes `&lt;`.
pub fn escape_cell(s: &str) -> String {
    let s = s.trim().replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("<br>"),
            '<' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.push_str("&lt;");
            }
            c => out.push(c),
        }
    }
    out
}

/// An inline code span holding `s` verbatim (line breaks become spaces):
/// the backtick fence is longer than any backtick run inside.
pub fn code_span(s: &str) -> String {
    let s = s.replace("\r\n", " ").replace(['\n', '\r'], " ");
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// A code span inside a table cell: `|` must still be escaped there.
fn code_cell(s: &str) -> String {
    code_span(s).replace('|', "\\|")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for x in s.chars() {
        if x == c {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// A code fence longer than any backtick run in the block.
fn fence_for(block: &str) -> String {
    "`".repeat((longest_run(block, '`') + 1).max(3))
}

fn string_filter(
    name: &'static str,
    f: fn(&str) -> String,
) -> impl Fn(&Value, &HashMap<String, Value>) -> tera::Result<Value> + Send + Sync {
    move |v: &Value, _: &HashMap<String, Value>| match v {
        Value::String(s) => Ok(Value::String(f(s))),
        Value::Null => Ok(Value::String(String::new())),
        other => Err(tera::Error::msg(format!(
            "filter {name}: expected a string, got {other}"
        ))),
    }
}

/// The README template, parsed once per process.
fn tera() -> Result<&'static Tera, TemplateError> {
    static TERA: std::sync::OnceLock<Result<Tera, TemplateError>> = std::sync::OnceLock::new();
    TERA.get_or_init(build_tera).as_ref().map_err(Clone::clone)
}

fn build_tera() -> Result<Tera, TemplateError> {
    let mut t = Tera::default();
    t.autoescape_on(vec![]);
    t.register_filter("cell", string_filter("cell", escape_cell));
    t.register_filter("code", string_filter("code", code_cell));
    t.register_filter("code_inline", string_filter("code_inline", code_span));
    t.add_raw_template(README, README_TEMPLATE)
        .map_err(|e| TemplateError::parse(README, &e))?;
    Ok(t)
}

/// Trailing spaces trimmed, runs of blank lines collapsed, one final newline.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    let mut in_fence = false;
    for line in s.lines() {
        let line = line.trim_end();
        if line.starts_with("```") {
            in_fence = !in_fence;
        }
        if line.is_empty() && !in_fence {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The call in `root` whose source is the module's directory.
fn find_call<'a>(root: &'a Module, m: &Module) -> Option<&'a ModuleCall> {
    root.calls.values().find(|c| {
        let src = c.source.trim_end_matches('/');
        src == m.dir || src.ends_with(&format!("/{}", m.dir))
    })
}

/// `name = value` lines with the `=` aligned, as `terraform fmt` does.
fn aligned(indent: &str, pairs: &[(String, String)]) -> Vec<String> {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{indent}{k:<width$} = {v}"))
        .collect()
}

fn hcl_string(s: &str) -> String {
    Expr::from(s).to_hcl()
}

fn usage_from_call(c: &ModuleCall) -> String {
    let mut lines = vec![
        format!("module {} {{", hcl_string(&c.name)),
        format!("  source = {}", hcl_string(&c.source)),
    ];
    if !c.args.is_empty() {
        lines.push(String::new());
        let pairs: Vec<(String, String)> = c
            .args
            .iter()
            .map(|(k, v)| (k.clone(), pretty(v, "  ")))
            .collect();
        lines.extend(aligned("  ", &pairs));
    }
    if !c.providers.is_empty() {
        lines.push(String::new());
        lines.push("  providers = {".to_owned());
        let pairs: Vec<(String, String)> = c
            .providers
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        lines.extend(aligned("    ", &pairs));
        lines.push("  }".to_owned());
    }
    if !c.depends_on.is_empty() {
        lines.push(String::new());
        let deps: Vec<String> = c.depends_on.iter().map(ToString::to_string).collect();
        lines.push(format!("  depends_on = [{}]", deps.join(", ")));
    }
    lines.push("}".to_owned());
    lines.join("\n")
}

/// A placeholder value of a Terraform type: `"..."`, `0`, `false`, `[]`,
/// `{}`, or an object of placeholders for `object({...})`.
fn placeholder(ty: &TypeExpr) -> Expr {
    match ty {
        TypeExpr::String => Expr::from("..."),
        TypeExpr::Number => Expr::Int(0),
        TypeExpr::Bool => Expr::Bool(false),
        TypeExpr::List(_) | TypeExpr::Set(_) => Expr::List(vec![]),
        TypeExpr::Map(_) => Expr::Object(BTreeMap::new()),
        TypeExpr::Optional(t, _) => placeholder(t),
        TypeExpr::Object(fields) => Expr::Object(
            fields
                .iter()
                .map(|(k, t)| (k.clone(), placeholder(t)))
                .collect(),
        ),
        TypeExpr::Any => Expr::Null,
    }
}

/// `(x)` -> `x` when the outer parentheses enclose the whole expression.
fn strip_outer_parens(s: &str) -> &str {
    let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) else {
        return s;
    };
    // The opening parenthesis must close at the very end.
    let (mut depth, mut quoted, mut escaped) = (1i32, false, false);
    for c in inner.chars() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return s;
                }
            }
            _ => {}
        }
    }
    inner
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// HCL of a value in a usage block: short values inline, long objects and
/// lists one item a line, keys aligned.
fn pretty(e: &Expr, indent: &str) -> String {
    const INLINE: usize = 60;
    let flat = e.to_hcl();
    if flat.len() <= INLINE {
        return flat;
    }
    let inner = format!("{indent}  ");
    match e {
        Expr::Object(m) if !m.is_empty() => {
            let pairs: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| {
                    let key = if is_identifier(k) {
                        k.clone()
                    } else {
                        hcl_string(k)
                    };
                    (key, pretty(v, &inner))
                })
                .collect();
            let mut lines = vec!["{".to_owned()];
            lines.extend(aligned(&inner, &pairs));
            lines.push(format!("{indent}}}"));
            lines.join("\n")
        }
        Expr::List(items) if !items.is_empty() => {
            let mut lines = vec!["[".to_owned()];
            lines.extend(
                items
                    .iter()
                    .map(|v| format!("{inner}{},", pretty(v, &inner))),
            );
            lines.push(format!("{indent}]"));
            lines.join("\n")
        }
        _ => flat,
    }
}

fn usage_placeholder(m: &Module) -> String {
    let name = m.dir.rsplit('/').next().unwrap_or(&m.dir);
    let mut lines = vec![
        format!("module {} {{", hcl_string(name)),
        format!("  source = {}", hcl_string(&format!("../../../{}", m.dir))),
    ];
    let required: Vec<(String, String)> = m
        .variables
        .values()
        .filter(|v| v.default.is_none())
        .map(|v| {
            let value = placeholder(&v.ty);
            let text = match value {
                Expr::Object(ref o) if !o.is_empty() => pretty(&value, "  "),
                _ => format!("{} # {}", value.to_hcl(), v.ty),
            };
            (v.name.clone(), text)
        })
        .collect();
    if !required.is_empty() {
        lines.push(String::new());
        lines.extend(aligned("  ", &required));
    }
    let optional: Vec<(String, String)> = m
        .variables
        .values()
        .filter_map(|v| {
            let d = v.default.as_ref()?;
            let value = if v.sensitive {
                "(sensitive)".to_owned()
            } else {
                d.to_hcl()
            };
            Some((v.name.clone(), value))
        })
        .collect();
    if !optional.is_empty() {
        lines.push(String::new());
        lines.extend(aligned("  # ", &optional));
    }
    let aliases: Vec<(String, String)> = m
        .terraform
        .required_providers
        .values()
        .flat_map(|p| &p.configuration_aliases)
        .map(|a| (a.to_string(), a.to_string()))
        .collect();
    if !aliases.is_empty() {
        let mut pairs = Vec::new();
        for (name, p) in &m.terraform.required_providers {
            if !p.configuration_aliases.is_empty() {
                pairs.push((name.clone(), name.clone()));
            }
        }
        pairs.extend(aliases);
        lines.push(String::new());
        lines.push("  providers = {".to_owned());
        lines.extend(aligned("    ", &pairs));
        lines.push("  }".to_owned());
    }
    lines.push("}".to_owned());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_newlines_and_tags() {
        assert_eq!(escape_cell("a | b\nc\r\nd"), "a \\| b<br>c<br>d");
        assert_eq!(escape_cell("x <= 3 and <b>"), "x <= 3 and &lt;b>");
    }

    #[test]
    fn code_spans_outgrow_backticks() {
        assert_eq!(code_span("a"), "`a`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`a"), "`` `a ``");
        assert_eq!(code_cell("a || b"), "`a \\|\\| b`");
    }

    #[test]
    fn placeholders_follow_types() {
        use TypeExpr as T;
        let p = |t: T| placeholder(&t).to_hcl();
        assert_eq!(p(T::String), "\"...\"");
        assert_eq!(p(T::list(T::String)), "[]");
        assert_eq!(p(T::set(T::String)), "[]");
        assert_eq!(p(T::map(T::Number)), "{}");
        assert_eq!(
            p(T::object([
                ("a", T::String),
                ("b", T::optional_or(T::Number, Expr::Int(3))),
                ("c", T::object([("d", T::Bool)])),
            ])),
            "{\"a\" = \"...\", \"b\" = 0, \"c\" = {\"d\" = false}}"
        );
        assert_eq!(p(T::Number), "0");
        assert_eq!(p(T::Any), "null");
    }

    #[test]
    fn outer_parentheses_are_stripped_only_when_enclosing() {
        assert_eq!(strip_outer_parens("(a ? 1 : 0)"), "a ? 1 : 0");
        assert_eq!(strip_outer_parens("(a) + (b)"), "(a) + (b)");
        assert_eq!(strip_outer_parens("(f(\")\"))"), "f(\")\")");
        assert_eq!(strip_outer_parens("min(3, 4)"), "min(3, 4)");
    }

    #[test]
    fn tidy_collapses_blank_lines_outside_fences() {
        assert_eq!(tidy("\n# a  \n\n\n\nb\n\n"), "# a\n\nb\n");
        assert_eq!(tidy("```\na\n\n\nb\n```\n"), "```\na\n\n\nb\n```\n");
    }
}
