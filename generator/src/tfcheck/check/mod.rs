//! The checks proper: schema conformance, references, module calls, unused
//! variables. One [`DirChecker`] per module directory; its methods live in
//! one submodule per section: [`refs`] (references), [`bodies`] (schema
//! conformance of block bodies) and [`decls`] (declarations and module calls).

mod bodies;
mod decls;
mod refs;

use std::collections::BTreeSet;

use serde_json::Value;

use super::expr::{collect_in_string, is_literal_string, Item, Step};
use super::schema::{AttributeSchema, BlockSchema, Schemas};
use super::tree::{normalize, objects, Dir, Tree, TypedDecls};
use super::types::AttrType;
use super::Finding;

/// What a pass over the tree checks.
#[derive(Debug, Clone, Copy)]
pub enum Pass<'s> {
    /// Everything: schema, references, module calls, unused variables.
    /// Attribute references are also looked up in `also` (labelled schemas).
    Full { also: &'s [(&'s str, &'s Schemas)] },
    /// Only what depends on the schema: provider blocks and the bodies of
    /// resources, data sources and ephemeral resources (no reference walk).
    SchemaOnly,
}

/// Run every check over every module directory of `tree`.
pub fn check(tree: &Tree<'_>, schemas: &Schemas, out: &mut Vec<Finding>) {
    check_pass(tree, schemas, Pass::Full { also: &[] }, out);
}

/// Run one pass over every module directory of `tree`.
pub fn check_pass(tree: &Tree<'_>, schemas: &Schemas, pass: Pass<'_>, out: &mut Vec<Finding>) {
    for (name, dir) in &tree.dirs {
        DirChecker {
            tree,
            dir_name: name,
            dir,
            schemas,
            pass,
            out: &mut *out,
            used_vars: BTreeSet::new(),
            ephemeral_locals: BTreeSet::new(),
        }
        .run();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Resource,
    Data,
    Ephemeral,
}

impl Kind {
    fn address(self, ty: &str, name: &str) -> String {
        match self {
            Kind::Resource => format!("{ty}.{name}"),
            Kind::Data => format!("data.{ty}.{name}"),
            Kind::Ephemeral => format!("ephemeral.{ty}.{name}"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Resource => "resource type",
            Kind::Data => "data source type",
            Kind::Ephemeral => "ephemeral resource type",
        }
    }

    fn schema<'s>(self, schemas: &'s Schemas, ty: &str) -> Option<&'s BlockSchema> {
        match self {
            Kind::Resource => schemas.resource(ty),
            Kind::Data => schemas.data_source(ty),
            Kind::Ephemeral => schemas.ephemeral(ty),
        }
    }

    fn decls<'d, 'a>(self, dir: &'d Dir<'a>) -> &'d TypedDecls<'a> {
        match self {
            Kind::Resource => &dir.resources,
            Kind::Data => &dir.data,
            Kind::Ephemeral => &dir.ephemeral,
        }
    }

    fn meta_args(self) -> &'static [&'static str] {
        match self {
            Kind::Resource => &[
                "count",
                "for_each",
                "depends_on",
                "provider",
                "lifecycle",
                "provisioner",
                "connection",
            ],
            Kind::Data | Kind::Ephemeral => {
                &["count", "for_each", "depends_on", "provider", "lifecycle"]
            }
        }
    }
}

/// Where an expression is evaluated.
#[derive(Debug, Clone, Default)]
struct Ctx<'c> {
    file: &'c str,
    address: String,
    has_count: bool,
    has_each: bool,
    allow_self: bool,
    /// `dynamic` block iterator names in scope.
    iterators: Vec<String>,
    /// Inside this variable's own `validation`: its references do not count
    /// as uses.
    validating: Option<String>,
    /// Data sources scoped to the enclosing `check` block.
    scoped_data: Option<&'c TypedDecls<'c>>,
    /// Ephemeral values may be used here.
    ephemeral_ok: bool,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn msg_at(path: &str, msg: impl Into<String>) -> String {
    let msg = msg.into();
    if path.is_empty() {
        msg
    } else {
        format!("`{path}`: {msg}")
    }
}

/// The first attribute name in `steps`, skipping instance keys and splats.
fn first_attr(steps: &[Step]) -> Option<&str> {
    steps.iter().find_map(|s| match s {
        Step::Attr(a) => Some(a.as_str()),
        _ => None,
    })
}

/// Any string in `v` (value or object key) holds a template interpolation.
fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => !is_literal_string(s),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| !is_literal_string(k) || has_template(x)),
        _ => false,
    }
}

fn collect_items(v: &Value, out: &mut Vec<Item>) {
    match v {
        Value::String(s) => collect_in_string(s, out),
        Value::Array(a) => a.iter().for_each(|x| collect_items(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                collect_in_string(k, out);
                collect_items(x, out);
            }
        }
        _ => {}
    }
}

fn is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || matches!(v, Some(Value::String(s)) if s == "true")
}

fn literal_str(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) if is_literal_string(s) => Some(s.as_str()),
        _ => None,
    }
}

/// `configuration_aliases` entries (`aws.dr`) declared in a directory's
/// `terraform.required_providers`.
fn configuration_aliases(dir: &Dir<'_>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in &dir.terraform {
        let Some(rps) = t.get("required_providers").and_then(objects) else {
            continue;
        };
        for rp in rps {
            for spec in rp.values() {
                let Some(aliases) = spec.get("configuration_aliases").and_then(Value::as_array)
                else {
                    continue;
                };
                out.extend(aliases.iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
    }
    out
}

/// The S3 backend (bucket, key, region) of a root directory, if literal.
fn s3_backend(dir: &Dir<'_>) -> Option<(String, String, Option<String>)> {
    dir.terraform.iter().find_map(|t| {
        let backends = t.get("backend").and_then(objects)?;
        backends.iter().find_map(|b| {
            let s3 = b.get("s3").and_then(objects)?;
            let s3 = s3.first()?;
            Some((
                literal_str(s3.get("bucket"))?.to_string(),
                literal_str(s3.get("key"))?.to_string(),
                literal_str(s3.get("region")).map(str::to_string),
            ))
        })
    })
}

/// Resolve a local module `source` against the calling directory.
/// `Ok(None)` for non-local sources (registry, git, ...).
fn resolve_source(dir: &str, source: &str) -> Result<Option<String>, String> {
    if !(source.starts_with("./") || source.starts_with("../")) {
        return Ok(None);
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in source.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "module source `{source}` climbs above the tree root from `{dir}`"
                    ));
                }
            }
            s => parts.push(s),
        }
    }
    Ok(Some(normalize(&parts.join("/"))))
}

/// The block schema Terraform synthesizes for an attribute of type
/// list/set(object) written in block syntax.
fn attr_as_block(ty: &AttrType) -> Option<BlockSchema> {
    let (AttrType::List(e) | AttrType::Set(e)) = ty else {
        return None;
    };
    let AttrType::Object(attrs, _) = e.as_ref() else {
        return None;
    };
    let attributes = attrs
        .iter()
        .map(|(n, t)| {
            let a = AttributeSchema {
                ty: t.clone(),
                required: false,
                optional: true,
                computed: false,
                sensitive: false,
            };
            (n.clone(), a)
        })
        .collect();
    Some(BlockSchema {
        attributes,
        ..BlockSchema::default()
    })
}

struct DirChecker<'t, 'a> {
    tree: &'t Tree<'a>,
    dir_name: &'t str,
    dir: &'t Dir<'a>,
    schemas: &'t Schemas,
    pass: Pass<'t>,
    out: &'t mut Vec<Finding>,
    used_vars: BTreeSet<String>,
    ephemeral_locals: BTreeSet<String>,
}

impl<'t, 'a> DirChecker<'t, 'a> {
    fn report(&mut self, file: &str, address: &str, message: impl Into<String>) {
        self.out.push(Finding {
            file: file.to_string(),
            address: address.to_string(),
            message: message.into(),
        });
    }

    fn at(&mut self, ctx: &Ctx<'_>, path: &str, message: impl Into<String>) {
        let m = msg_at(path, message);
        self.report(ctx.file, &ctx.address, m);
    }

    fn base_ctx(file: &'a str, address: String) -> Ctx<'a> {
        Ctx {
            file,
            address,
            ..Ctx::default()
        }
    }

    fn run(mut self) {
        let dir = self.dir;
        if matches!(self.pass, Pass::SchemaOnly) {
            for p in &dir.providers {
                self.check_provider(p);
            }
            for (kind, decls) in [
                (Kind::Resource, &dir.resources),
                (Kind::Data, &dir.data),
                (Kind::Ephemeral, &dir.ephemeral),
            ] {
                for ((ty, name), d) in decls {
                    let ctx = Self::base_ctx(d.file, kind.address(ty, name));
                    self.check_typed(kind, ty, name, d, ctx, "");
                }
            }
            return;
        }
        self.compute_ephemeral_locals();
        for t in &dir.terraform {
            self.check_terraform(t);
        }
        for p in &dir.providers {
            self.check_provider(p);
        }
        for (name, d) in &dir.variables {
            self.check_variable(name, d);
        }
        for (name, d) in &dir.locals {
            let ctx = Ctx {
                ephemeral_ok: true,
                ..Self::base_ctx(d.file, format!("local.{name}"))
            };
            self.walk_value(d.body, &ctx, "");
        }
        for (name, d) in &dir.outputs {
            self.check_output(name, d);
        }
        for (name, d) in &dir.modules {
            self.check_module(name, d);
        }
        for (kind, decls) in [
            (Kind::Resource, &dir.resources),
            (Kind::Data, &dir.data),
            (Kind::Ephemeral, &dir.ephemeral),
        ] {
            for ((ty, name), d) in decls {
                let ctx = Self::base_ctx(d.file, kind.address(ty, name));
                self.check_typed(kind, ty, name, d, ctx, "");
            }
        }
        for (name, d) in &dir.checks {
            self.check_check(name, d);
        }
        for d in &dir.moved {
            self.check_moved(d);
        }
        for d in &dir.imports {
            self.check_import(d);
        }
        for d in &dir.removed {
            let ctx = Self::base_ctx(d.file, "removed".into());
            match d.get("from") {
                Some(v) => self.check_bare_address(v, &ctx, "from", false, false),
                None => self.at(&ctx, "", "missing `from`"),
            }
        }
        for d in &dir.shadowed {
            let mut items = Vec::new();
            collect_items(d.body, &mut items);
            for item in items {
                if let Item::Ref { root, steps, .. } = item {
                    if let (Some(Step::Attr(x)), "var") = (steps.first(), root.as_str()) {
                        self.used_vars.insert(x.clone());
                    }
                }
            }
        }
        for (name, d) in &dir.variables {
            if !self.used_vars.contains(name) {
                self.report(
                    d.file,
                    &format!("var.{name}"),
                    format!("warning: variable `{name}` is declared but never used"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tfcheck_resolve_source_paths() {
        assert_eq!(
            resolve_source("envs/dev/primary", "../../../modules/primary"),
            Ok(Some("modules/primary".to_string()))
        );
        assert_eq!(
            resolve_source("", "./modules/x/"),
            Ok(Some("modules/x".to_string()))
        );
        assert_eq!(resolve_source("a", "hashicorp/consul/aws"), Ok(None));
        assert!(resolve_source("a", "../../x").is_err());
    }
}
