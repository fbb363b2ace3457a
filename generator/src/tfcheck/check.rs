//! The checks proper: schema conformance, references, module calls, unused
//! variables. One [`DirChecker`] per module directory.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::expr::{collect_in_string, is_literal_string, parse_bare_ref, Item, Step};
use super::schema::{provider_of_type, AttributeSchema, BlockSchema, NestingMode, Schemas};
use super::tree::{json_kind, normalize, objects, Decl, Dir, ProviderDecl, Tree, TypedDecls};
use super::types::{check_literal, AttrType};
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

    // ---------------------------------------------------------------- refs

    fn var_is_ephemeral(&self, name: &str) -> bool {
        self.dir
            .variables
            .get(name)
            .is_some_and(|v| is_true(v.get("ephemeral")))
    }

    fn module_target(&self, decl: &Decl<'a>) -> Option<(String, &'t Dir<'a>)> {
        let source = literal_str(decl.get("source"))?;
        let path = resolve_source(self.dir_name, source).ok()??;
        let dir = self.tree.dirs.get(&path)?;
        Some((path, dir))
    }

    fn item_is_ephemeral(&self, item: &Item, eph_locals: &BTreeSet<String>) -> bool {
        let Item::Ref {
            root,
            steps,
            unephemeral: false,
        } = item
        else {
            return false;
        };
        match (root.as_str(), steps.first()) {
            ("ephemeral", _) => true,
            ("local", Some(Step::Attr(x))) => eph_locals.contains(x),
            ("var", Some(Step::Attr(x))) => self.var_is_ephemeral(x),
            ("module", Some(Step::Attr(m))) => {
                let Some(decl) = self.dir.modules.get(m) else {
                    return false;
                };
                let (Some(o), Some((_, tdir))) =
                    (first_attr(&steps[1..]), self.module_target(decl))
                else {
                    return false;
                };
                tdir.outputs
                    .get(o)
                    .is_some_and(|od| is_true(od.get("ephemeral")))
            }
            _ => false,
        }
    }

    /// Locals whose value is ephemeral (fixpoint over local → local refs).
    fn compute_ephemeral_locals(&mut self) {
        let mut items: BTreeMap<&str, Vec<Item>> = BTreeMap::new();
        for (name, d) in &self.dir.locals {
            let mut v = Vec::new();
            collect_items(d.body, &mut v);
            items.insert(name.as_str(), v);
        }
        let mut eph = BTreeSet::new();
        loop {
            let newly: Vec<&str> = items
                .iter()
                .filter(|(n, its)| {
                    !eph.contains(**n) && its.iter().any(|i| self.item_is_ephemeral(i, &eph))
                })
                .map(|(n, _)| *n)
                .collect();
            if newly.is_empty() {
                break;
            }
            eph.extend(newly.into_iter().map(str::to_string));
        }
        self.ephemeral_locals = eph;
    }

    /// Walk a JSON value in expression context. Returns whether it uses an
    /// ephemeral value.
    fn walk_value(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) -> bool {
        if matches!(self.pass, Pass::SchemaOnly) {
            return false;
        }
        match v {
            Value::String(s) => self.walk_str(s, ctx, path),
            Value::Array(a) => {
                let mut eph = false;
                for (i, x) in a.iter().enumerate() {
                    eph |= self.walk_value(x, ctx, &format!("{path}[{i}]"));
                }
                eph
            }
            Value::Object(m) => {
                let mut eph = false;
                for (k, x) in m {
                    eph |= self.walk_str(k, ctx, path);
                    eph |= self.walk_value(x, ctx, &join(path, k));
                }
                eph
            }
            _ => false,
        }
    }

    fn walk_str(&mut self, s: &str, ctx: &Ctx<'_>, path: &str) -> bool {
        let mut items = Vec::new();
        collect_in_string(s, &mut items);
        let mut eph = false;
        for item in &items {
            eph |= self.resolve(item, ctx, path);
        }
        eph
    }

    /// Resolve one item; returns whether it is an ephemeral value.
    fn resolve(&mut self, item: &Item, ctx: &Ctx<'_>, path: &str) -> bool {
        let (root, steps, unephemeral) = match item {
            Item::Syntax(e) => {
                self.at(ctx, path, format!("invalid template expression: {e}"));
                return false;
            }
            Item::UnknownFunction(f) => {
                self.at(ctx, path, format!("call to unknown function `{f}`"));
                return false;
            }
            Item::Ref {
                root,
                steps,
                unephemeral,
            } => (root.as_str(), steps.as_slice(), *unephemeral),
        };
        if ctx.iterators.iter().any(|i| i == root) {
            if !matches!(steps.first(), Some(Step::Attr(a)) if a == "key" || a == "value") {
                self.at(
                    ctx,
                    path,
                    format!("dynamic block iterator `{root}` only has `.key` and `.value`"),
                );
            }
            return false;
        }
        let eph = match (root, steps) {
            ("var", [Step::Attr(x), ..]) => {
                if !self.dir.variables.contains_key(x) {
                    self.at(
                        ctx,
                        path,
                        format!("reference to undeclared variable `var.{x}`"),
                    );
                    return false;
                }
                if ctx.validating.as_deref() != Some(x.as_str()) {
                    self.used_vars.insert(x.clone());
                }
                self.var_is_ephemeral(x)
            }
            ("local", [Step::Attr(x), ..]) => {
                if !self.dir.locals.contains_key(x) {
                    self.at(
                        ctx,
                        path,
                        format!("reference to undeclared local `local.{x}`"),
                    );
                    return false;
                }
                self.ephemeral_locals.contains(x)
            }
            ("module", [Step::Attr(m), rest @ ..]) => self.resolve_module(m, rest, ctx, path),
            ("data", [Step::Attr(t), Step::Attr(n), rest @ ..]) => {
                self.resolve_typed(Kind::Data, t, n, rest, ctx, path)
            }
            ("ephemeral", [Step::Attr(t), Step::Attr(n), rest @ ..]) => {
                self.resolve_typed(Kind::Ephemeral, t, n, rest, ctx, path)
            }
            ("path", [Step::Attr(a), ..]) if ["module", "root", "cwd"].contains(&a.as_str()) => {
                false
            }
            ("terraform", [Step::Attr(a), ..]) if a == "workspace" || a == "applying" => false,
            ("each", _) => {
                if !ctx.has_each {
                    self.at(ctx, path, "`each` is only valid in a block with `for_each`");
                } else if !matches!(steps.first(), Some(Step::Attr(a)) if a == "key" || a == "value")
                {
                    self.at(ctx, path, "`each` only has `each.key` and `each.value`");
                }
                false
            }
            ("count", _) => {
                if !ctx.has_count {
                    self.at(
                        ctx,
                        path,
                        "`count.index` is only valid in a block with `count`",
                    );
                } else if !matches!(steps.first(), Some(Step::Attr(a)) if a == "index") {
                    self.at(ctx, path, "`count` only has `count.index`");
                }
                false
            }
            ("self", _) => {
                if !ctx.allow_self {
                    self.at(
                        ctx,
                        path,
                        "`self` is only valid in provisioner, connection and postcondition blocks",
                    );
                }
                false
            }
            ("var" | "local" | "module" | "data" | "ephemeral" | "path" | "terraform", _) => {
                self.at(
                    ctx,
                    path,
                    format!("incomplete or invalid reference `{root}...`"),
                );
                false
            }
            (_, [Step::Attr(n), rest @ ..]) => {
                self.resolve_typed(Kind::Resource, root, n, rest, ctx, path)
            }
            (_, _) => {
                self.at(ctx, path, format!("reference to unknown name `{root}`"));
                false
            }
        };
        eph && !unephemeral
    }

    fn check_instance_key(
        &mut self,
        decl: &Decl<'_>,
        addr: &str,
        rest: &[Step],
        ctx: &Ctx<'_>,
        path: &str,
    ) {
        let multi = decl.get("count").is_some() || decl.get("for_each").is_some();
        match rest.first() {
            Some(Step::Attr(a)) if multi => self.at(
                ctx,
                path,
                format!(
                    "`{addr}` has count/for_each, so `{addr}.{a}` needs an instance key \
                     (`{addr}[...].{a}`) or a splat"
                ),
            ),
            Some(Step::Index | Step::Key(_)) if !multi => self.at(
                ctx,
                path,
                format!("`{addr}` has neither count nor for_each; it cannot be indexed"),
            ),
            _ => {}
        }
    }

    fn resolve_module(&mut self, m: &str, rest: &[Step], ctx: &Ctx<'_>, path: &str) -> bool {
        let Some(decl) = self.dir.modules.get(m).copied() else {
            self.at(
                ctx,
                path,
                format!("reference to undeclared module call `module.{m}`"),
            );
            return false;
        };
        let addr = format!("module.{m}");
        self.check_instance_key(&decl, &addr, rest, ctx, path);
        let Some(o) = first_attr(rest) else {
            return false;
        };
        let Some((tpath, tdir)) = self.module_target(&decl) else {
            return false;
        };
        match tdir.outputs.get(o) {
            Some(od) => is_true(od.get("ephemeral")),
            None => {
                self.at(
                    ctx,
                    path,
                    format!("module `{m}` (source `{tpath}`) declares no output `{o}`"),
                );
                false
            }
        }
    }

    fn resolve_typed(
        &mut self,
        kind: Kind,
        ty: &str,
        name: &str,
        rest: &[Step],
        ctx: &Ctx<'_>,
        path: &str,
    ) -> bool {
        let key = (ty.to_string(), name.to_string());
        let addr = kind.address(ty, name);
        let decl = kind
            .decls(self.dir)
            .get(&key)
            .copied()
            .or_else(|| match kind {
                Kind::Data => ctx.scoped_data.and_then(|s| s.get(&key).copied()),
                _ => None,
            });
        let Some(decl) = decl else {
            self.at(ctx, path, format!("reference to undeclared `{addr}`"));
            return kind == Kind::Ephemeral;
        };
        self.check_instance_key(&decl, &addr, rest, ctx, path);
        if let (Some(schema), Some(attr)) = (kind.schema(self.schemas, ty), first_attr(rest)) {
            if attr != "id" && !schema.opaque && !schema.has_member(attr) {
                self.at(
                    ctx,
                    path,
                    format!("`{addr}` has no attribute `{attr}` ({ty} schema)"),
                );
            }
        }
        if let (Pass::Full { also }, Some(attr)) = (self.pass, first_attr(rest)) {
            for (label, schemas) in also {
                if let Some(schema) = kind.schema(schemas, ty) {
                    if attr != "id" && !schema.opaque && !schema.has_member(attr) {
                        self.at(
                            ctx,
                            path,
                            format!("`{addr}` has no attribute `{attr}` ({ty} schema) [{label}]"),
                        );
                    }
                }
            }
        }
        if kind == Kind::Data && ty == "terraform_remote_state" {
            self.resolve_remote_output(&decl, &addr, rest, ctx, path);
        }
        kind == Kind::Ephemeral
    }

    fn remote_state_target(decl: &Decl<'_>) -> Option<(String, String, Option<String>)> {
        if literal_str(decl.get("backend")) != Some("s3") {
            return None;
        }
        if decl
            .get("workspace")
            .is_some_and(|w| literal_str(Some(w)) != Some("default"))
        {
            return None;
        }
        let config = decl.get("config")?.as_object()?;
        Some((
            literal_str(config.get("bucket"))?.to_string(),
            literal_str(config.get("key"))?.to_string(),
            literal_str(config.get("region")).map(str::to_string),
        ))
    }

    fn remote_roots(&self, bucket: &str, key: &str) -> Vec<(&'t str, &'t Dir<'a>)> {
        self.tree
            .dirs
            .iter()
            .filter(|(_, d)| s3_backend(d).is_some_and(|(b, k, _)| b == bucket && k == key))
            .map(|(n, d)| (n.as_str(), d))
            .collect()
    }

    fn resolve_remote_output(
        &mut self,
        decl: &Decl<'_>,
        addr: &str,
        rest: &[Step],
        ctx: &Ctx<'_>,
        path: &str,
    ) {
        let output = match rest {
            [Step::Attr(o), Step::Attr(x) | Step::Key(x), ..] if o == "outputs" => x.as_str(),
            _ => return,
        };
        let Some((bucket, key, _)) = Self::remote_state_target(decl) else {
            return;
        };
        for (root, rdir) in self.remote_roots(&bucket, &key) {
            if !rdir.outputs.contains_key(output) {
                let shown = if root.is_empty() { "." } else { root };
                self.at(
                    ctx,
                    path,
                    format!(
                        "`{addr}` reads output `{output}`, but root `{shown}` \
                         (s3://{bucket}/{key}) declares no such output"
                    ),
                );
            }
        }
    }

    /// Bare address in `depends_on`, `moved.to`, `import.to`, ...
    fn check_bare_address(
        &mut self,
        v: &Value,
        ctx: &Ctx<'_>,
        path: &str,
        whole_only: bool,
        must_exist: bool,
    ) {
        let Value::String(s) = v else {
            self.at(
                ctx,
                path,
                format!("expected a bare address string, got {}", json_kind(v)),
            );
            return;
        };
        if s.contains("${") {
            self.at(
                ctx,
                path,
                format!(
                    "`{s}` must be a bare address like `aws_vpc.this`, not a \"${{...}}\" template"
                ),
            );
            return;
        }
        let (root, steps) = match parse_bare_ref(s) {
            Ok(r) => r,
            Err(e) => {
                self.at(ctx, path, format!("`{s}` is not a valid address: {e}"));
                return;
            }
        };
        let attr = |i: usize| match steps.get(i) {
            Some(Step::Attr(a)) => Some(a.clone()),
            _ => None,
        };
        let (declared, rest) = match root.as_str() {
            "module" => match attr(0) {
                Some(m) => (self.dir.modules.contains_key(&m), &steps[1..]),
                None => (false, &steps[..]),
            },
            "data" | "ephemeral" => match (attr(0), attr(1)) {
                (Some(t), Some(n)) => {
                    let kind = if root == "data" {
                        Kind::Data
                    } else {
                        Kind::Ephemeral
                    };
                    let key = (t, n);
                    let scoped = ctx.scoped_data.is_some_and(|d| d.contains_key(&key));
                    (
                        kind.decls(self.dir).contains_key(&key) || scoped,
                        &steps[2..],
                    )
                }
                _ => (false, &steps[..]),
            },
            "var" | "local" => match attr(0) {
                Some(x) => {
                    let found = if root == "var" {
                        self.dir.variables.contains_key(&x)
                    } else {
                        self.dir.locals.contains_key(&x)
                    };
                    if found && root == "var" {
                        self.used_vars.insert(x);
                    }
                    (found, &steps[1..])
                }
                None => (false, &steps[..]),
            },
            _ => match attr(0) {
                Some(n) => (
                    self.dir.resources.contains_key(&(root.clone(), n)),
                    &steps[1..],
                ),
                None => (false, &steps[..]),
            },
        };
        if must_exist && !declared {
            self.at(ctx, path, format!("`{s}` is not declared in this module"));
        }
        if whole_only && !rest.is_empty() {
            self.at(
                ctx,
                path,
                format!("`{s}` must reference a whole object (resource, data source, module), not an attribute or instance"),
            );
        } else if rest
            .iter()
            .any(|st| matches!(st, Step::Attr(_) | Step::Splat))
        {
            self.at(
                ctx,
                path,
                format!("`{s}` must be a resource or module address"),
            );
        }
    }

    fn check_depends_on(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
        let Value::Array(items) = v else {
            self.at(
                ctx,
                path,
                format!("`depends_on` must be an array, got {}", json_kind(v)),
            );
            return;
        };
        for (i, item) in items.iter().enumerate() {
            self.check_bare_address(item, ctx, &format!("{path}[{i}]"), true, true);
        }
    }

    fn provider_declared(dir: &Dir<'_>, name: &str, alias: &str) -> bool {
        dir.providers
            .iter()
            .any(|p| p.name == name && p.alias.as_deref() == Some(alias))
            || configuration_aliases(dir).contains(&format!("{name}.{alias}"))
    }

    /// A bare provider reference (`aws`, `aws.dr`) used in this directory.
    fn check_provider_ref(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
        let Value::String(s) = v else {
            self.at(
                ctx,
                path,
                format!("expected a bare provider reference, got {}", json_kind(v)),
            );
            return;
        };
        if s.contains("${") {
            self.at(
                ctx,
                path,
                format!("`{s}` must be a bare provider reference like `aws.dr`, not a \"${{...}}\" template"),
            );
            return;
        }
        match parse_bare_ref(s) {
            Err(e) => self.at(ctx, path, format!("`{s}` is not a provider reference: {e}")),
            Ok((name, steps)) => match steps.as_slice() {
                [] => {
                    if self.schemas.provider_by_name(&name).is_none() {
                        self.at(ctx, path, format!("provider `{name}` is not in the schema"));
                    }
                }
                [Step::Attr(alias)] => {
                    if !Self::provider_declared(self.dir, &name, alias) {
                        self.at(
                            ctx,
                            path,
                            format!(
                                "provider configuration `{name}.{alias}` is not available in this \
                                 module: no `provider.{name}` block with alias \"{alias}\" and no \
                                 `configuration_aliases` entry in terraform.required_providers.{name}"
                            ),
                        );
                    }
                }
                _ => self.at(ctx, path, format!("`{s}` is not a provider reference")),
            },
        }
    }

    fn check_ephemeral_use(&mut self, eph: bool, key: &str, ctx: &Ctx<'_>, path: &str) {
        if eph && !ctx.ephemeral_ok && !key.ends_with("_wo") {
            self.at(
                ctx,
                path,
                format!(
                    "ephemeral value used in `{key}`, which is not a write-only (`*_wo`) argument; \
                     wrap it in ephemeralasnull() or use a write-only argument"
                ),
            );
        }
    }

    // -------------------------------------------------------------- bodies

    fn check_literal_into(&mut self, v: &Value, ty: &AttrType, ctx: &Ctx<'_>, path: &str) {
        let mut errs = Vec::new();
        check_literal(v, ty, path, &mut errs);
        for (p, m) in errs {
            self.at(ctx, &p, m);
        }
    }

    fn check_literal_bool(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
        let ok = matches!(v, Value::Bool(_))
            || matches!(v, Value::String(s) if s == "true" || s == "false");
        if !ok {
            self.at(
                ctx,
                path,
                format!("expected a literal bool, got {}", json_kind(v)),
            );
        }
    }

    fn check_literal_string(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
        match v {
            Value::String(s) if is_literal_string(s) => {}
            Value::String(_) => self.at(ctx, path, "must be a literal string (no \"${...}\")"),
            other => self.at(
                ctx,
                path,
                format!("expected a literal string, got {}", json_kind(other)),
            ),
        }
    }

    /// Validate a block body against `schema` (if known) and resolve the
    /// references in it. Keys in `skip` are handled by the caller.
    fn check_body(
        &mut self,
        body: &Map<String, Value>,
        schema: Option<&BlockSchema>,
        ctx: &Ctx<'_>,
        path: &str,
        skip: &[&str],
    ) {
        let live = schema.filter(|s| !s.opaque);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut dynamic: BTreeSet<String> = BTreeSet::new();
        for (k, v) in body {
            if k == "//" || skip.contains(&k.as_str()) {
                continue;
            }
            let kpath = join(path, k);
            if k == "dynamic" && live.is_none_or(|s| !s.has_member("dynamic")) {
                self.check_dynamic(v, live, ctx, path, &mut dynamic);
                continue;
            }
            let Some(s) = live else {
                let eph = self.walk_value(v, ctx, &kpath);
                self.check_ephemeral_use(eph, k, ctx, &kpath);
                continue;
            };
            if let Some(a) = s.attribute(k) {
                if a.is_computed_only() {
                    self.at(
                        ctx,
                        &kpath,
                        format!(
                            "`{k}` is computed-only (set by the provider) and cannot be configured"
                        ),
                    );
                }
                if a.required && v.is_null() {
                    self.at(
                        ctx,
                        &kpath,
                        format!("required attribute `{k}` must not be null"),
                    );
                }
                self.check_literal_into(v, &a.ty, ctx, &kpath);
                let eph = self.walk_value(v, ctx, &kpath);
                self.check_ephemeral_use(eph, k, ctx, &kpath);
            } else if let Some(bt) = s.block_type(k) {
                let mut bodies: Vec<(String, &Map<String, Value>)> = Vec::new();
                match (bt.nesting, v) {
                    (NestingMode::Map, Value::Object(m)) => {
                        for (label, b) in m {
                            match b.as_object() {
                                Some(b) => bodies.push((format!("{kpath}.{label}"), b)),
                                None => self.at(
                                    ctx,
                                    &format!("{kpath}.{label}"),
                                    format!("block must be an object, got {}", json_kind(b)),
                                ),
                            }
                        }
                    }
                    (_, Value::Object(m)) => bodies.push((kpath.clone(), m)),
                    (_, Value::Array(items)) => {
                        for (i, b) in items.iter().enumerate() {
                            match b.as_object() {
                                Some(b) => bodies.push((format!("{kpath}[{i}]"), b)),
                                None => self.at(
                                    ctx,
                                    &format!("{kpath}[{i}]"),
                                    format!("block must be an object, got {}", json_kind(b)),
                                ),
                            }
                        }
                    }
                    (_, other) => self.at(
                        ctx,
                        &kpath,
                        format!(
                            "`{k}` is a block: give an object or an array of objects, not {}",
                            json_kind(other)
                        ),
                    ),
                }
                *counts.entry(k.as_str()).or_default() += bodies.len();
                for (p, b) in bodies {
                    self.check_body(b, Some(&bt.block), ctx, &p, &[]);
                }
            } else {
                let mut known: Vec<&str> = s
                    .attributes
                    .iter()
                    .filter(|(_, a)| !a.is_computed_only())
                    .map(|(n, _)| n.as_str())
                    .chain(s.block_types.keys().map(String::as_str))
                    .collect();
                known.sort_unstable();
                self.at(
                    ctx,
                    &kpath,
                    format!(
                        "unsupported argument `{k}` (not in the schema; expected one of: {})",
                        known.join(", ")
                    ),
                );
                self.walk_value(v, ctx, &kpath);
            }
        }
        let Some(s) = live else {
            return;
        };
        for (name, a) in &s.attributes {
            if a.required && !body.contains_key(name) {
                self.at(ctx, path, format!("missing required attribute `{name}`"));
            }
        }
        for (name, bt) in &s.block_types {
            if dynamic.contains(name) {
                continue;
            }
            let n = counts.get(name.as_str()).copied().unwrap_or(0) as u64;
            if n < bt.min_items {
                self.at(
                    ctx,
                    path,
                    format!(
                        "at least {} `{name}` block(s) required, found {n}",
                        bt.min_items
                    ),
                );
            }
            if let Some(max) = bt.max_items {
                if n > max {
                    self.at(
                        ctx,
                        path,
                        format!("at most {max} `{name}` block(s) allowed, found {n}"),
                    );
                }
            }
        }
    }

    fn check_dynamic(
        &mut self,
        v: &Value,
        live: Option<&BlockSchema>,
        ctx: &Ctx<'_>,
        path: &str,
        dynamic: &mut BTreeSet<String>,
    ) {
        let dpath = join(path, "dynamic");
        let Value::Object(m) = v else {
            self.at(
                ctx,
                &dpath,
                format!(
                    "`dynamic` must be an object keyed by block type, got {}",
                    json_kind(v)
                ),
            );
            return;
        };
        for (bname, specs) in m {
            if bname == "//" {
                continue;
            }
            let bpath = join(&dpath, bname);
            dynamic.insert(bname.clone());
            // Attributes of type list/set(object) may be written as blocks
            // (Terraform's "attributes as blocks"), so `dynamic` works for
            // them too, with every object attribute optional.
            let synthetic = live
                .and_then(|s| s.attribute(bname))
                .and_then(|a| attr_as_block(&a.ty));
            let nested = live
                .and_then(|s| s.block_type(bname))
                .map(|b| &b.block)
                .or(synthetic.as_ref());
            if let (Some(s), None) = (live, nested) {
                let why = match s.attribute(bname) {
                    Some(a) => format!(
                        "is an attribute of type {}; `dynamic` only generates blocks",
                        a.ty
                    ),
                    None => "is not a block type of this block".to_string(),
                };
                self.at(ctx, &bpath, format!("`{bname}` {why}"));
            }
            let Some(specs) = objects(specs) else {
                self.at(
                    ctx,
                    &bpath,
                    "a dynamic block must be an object or an array of objects",
                );
                continue;
            };
            for spec in specs {
                for (k, x) in spec {
                    match k.as_str() {
                        "//" | "content" | "iterator" => {}
                        "for_each" | "labels" => {
                            self.walk_value(x, ctx, &join(&bpath, k));
                        }
                        other => self.at(
                            ctx,
                            &bpath,
                            format!("unsupported argument `{other}` in a dynamic block"),
                        ),
                    }
                }
                if !spec.contains_key("for_each") {
                    self.at(ctx, &bpath, "dynamic block needs `for_each`");
                }
                let iterator = match spec.get("iterator") {
                    None => bname.clone(),
                    Some(Value::String(s)) if is_literal_string(s) => s.clone(),
                    Some(_) => {
                        self.at(ctx, &bpath, "`iterator` must be a bare identifier string");
                        bname.clone()
                    }
                };
                match spec.get("content") {
                    Some(Value::Object(content)) => {
                        let mut inner = ctx.clone();
                        inner.iterators.push(iterator);
                        // Unknown nested schema (bad block name): still walk refs.
                        self.check_body(content, nested, &inner, &join(&bpath, "content"), &[]);
                    }
                    Some(other) => self.at(
                        ctx,
                        &bpath,
                        format!("`content` must be an object, got {}", json_kind(other)),
                    ),
                    None => self.at(ctx, &bpath, "dynamic block needs `content`"),
                }
            }
        }
    }

    fn check_conditions(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
        let Some(items) = objects(v) else {
            self.at(ctx, path, "must be an object or an array of objects");
            return;
        };
        for c in items {
            for key in ["condition", "error_message"] {
                match c.get(key) {
                    Some(x) => {
                        self.walk_value(x, ctx, &join(path, key));
                    }
                    None => self.at(ctx, path, format!("missing `{key}`")),
                }
            }
            for k in c.keys() {
                if !["condition", "error_message", "//"].contains(&k.as_str()) {
                    self.at(ctx, path, format!("unsupported argument `{k}`"));
                }
            }
        }
    }

    fn check_lifecycle(
        &mut self,
        v: &Value,
        kind: Kind,
        schema: Option<&BlockSchema>,
        ctx: &Ctx<'_>,
        path: &str,
    ) {
        let Some(items) = objects(v) else {
            self.at(ctx, path, "`lifecycle` must be an object");
            return;
        };
        for m in items {
            for (k, x) in m {
                let kpath = join(path, k);
                match (k.as_str(), kind) {
                    ("//", _) => {}
                    ("create_before_destroy" | "prevent_destroy", Kind::Resource) => {
                        self.check_literal_bool(x, ctx, &kpath)
                    }
                    ("ignore_changes", Kind::Resource) => {
                        self.check_ignore_changes(x, schema, ctx, &kpath)
                    }
                    ("replace_triggered_by", Kind::Resource) => {
                        let Value::Array(refs) = x else {
                            self.at(ctx, &kpath, "must be an array of bare references");
                            continue;
                        };
                        for (i, r) in refs.iter().enumerate() {
                            let rpath = format!("{kpath}[{i}]");
                            match r {
                                Value::String(s) if s.contains("${") => self.at(
                                    ctx,
                                    &rpath,
                                    format!("`{s}` must be a bare reference, not a \"${{...}}\" template"),
                                ),
                                Value::String(s) => match parse_bare_ref(s) {
                                    Ok((root, steps)) => {
                                        let item = Item::Ref {
                                            root,
                                            steps,
                                            unephemeral: false,
                                        };
                                        self.resolve(&item, ctx, &rpath);
                                    }
                                    Err(e) => self.at(ctx, &rpath, e),
                                },
                                other => self.at(
                                    ctx,
                                    &rpath,
                                    format!("expected a bare reference string, got {}", json_kind(other)),
                                ),
                            }
                        }
                    }
                    ("precondition", _) => self.check_conditions(x, ctx, &kpath),
                    ("postcondition", _) => {
                        let inner = Ctx {
                            allow_self: true,
                            ..ctx.clone()
                        };
                        self.check_conditions(x, &inner, &kpath)
                    }
                    (other, _) => self.at(
                        ctx,
                        path,
                        format!("unsupported lifecycle argument `{other}`"),
                    ),
                }
            }
        }
    }

    fn check_ignore_changes(
        &mut self,
        v: &Value,
        schema: Option<&BlockSchema>,
        ctx: &Ctx<'_>,
        path: &str,
    ) {
        let items = match v {
            Value::String(s) if s == "all" => return,
            Value::Array(items) => items,
            other => {
                self.at(
                    ctx,
                    path,
                    format!(
                        "must be an array of attribute names or \"all\", got {}",
                        json_kind(other)
                    ),
                );
                return;
            }
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let Value::String(s) = item else {
                self.at(ctx, &ipath, "expected a bare attribute name string");
                continue;
            };
            if s.contains("${") {
                self.at(
                    ctx,
                    &ipath,
                    format!("`{s}` must be a bare attribute name, not a \"${{...}}\" template"),
                );
                continue;
            }
            match parse_bare_ref(s) {
                Err(e) => self.at(ctx, &ipath, format!("`{s}` is not an attribute path: {e}")),
                Ok((root, _)) => {
                    if let Some(sch) = schema.filter(|s| !s.opaque) {
                        if !sch.has_member(&root) {
                            self.at(
                                ctx,
                                &ipath,
                                format!("`{root}` is not an attribute of this type"),
                            );
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------- declarations

    fn check_typed(
        &mut self,
        kind: Kind,
        ty: &str,
        name: &str,
        decl: &Decl<'_>,
        base: Ctx<'_>,
        path: &str,
    ) {
        let Some(body) = decl.obj() else {
            return;
        };
        let schema = kind.schema(self.schemas, ty);
        if schema.is_none() {
            let prov = provider_of_type(ty);
            if self.schemas.provider_by_name(prov).is_none() {
                self.at(
                    &base,
                    path,
                    format!(
                        "provider `{prov}` (for {} `{ty}`) is not in the schema",
                        kind.label()
                    ),
                );
            } else {
                self.at(
                    &base,
                    path,
                    format!(
                        "{} `{ty}` does not exist in the `{prov}` provider schema",
                        kind.label()
                    ),
                );
            }
        }
        let has_count = body.contains_key("count");
        let has_each = body.contains_key("for_each");
        if has_count && has_each {
            self.at(&base, path, "`count` and `for_each` are mutually exclusive");
        }
        let ctx = Ctx {
            has_count,
            has_each,
            ephemeral_ok: kind == Kind::Ephemeral,
            ..base
        };
        for (k, v) in body {
            let kpath = join(path, k);
            match k.as_str() {
                _ if matches!(self.pass, Pass::SchemaOnly) && k != "lifecycle" => {}
                "count" => {
                    self.check_literal_into(v, &AttrType::Number, &ctx, &kpath);
                    let eph = self.walk_value(v, &ctx, &kpath);
                    self.check_ephemeral_use(eph, k, &ctx, &kpath);
                }
                "for_each" => {
                    if matches!(v, Value::Bool(_) | Value::Number(_))
                        || matches!(v, Value::String(s) if is_literal_string(s))
                    {
                        self.at(&ctx, &kpath, "`for_each` must be a map or a set of strings");
                    }
                    let eph = self.walk_value(v, &ctx, &kpath);
                    self.check_ephemeral_use(eph, k, &ctx, &kpath);
                }
                "depends_on" => self.check_depends_on(v, &ctx, &kpath),
                "provider" => self.check_provider_ref(v, &ctx, &kpath),
                "lifecycle" => self.check_lifecycle(v, kind, schema, &ctx, &kpath),
                "provisioner" | "connection" if kind == Kind::Resource => {
                    let inner = Ctx {
                        allow_self: true,
                        ephemeral_ok: true,
                        ..ctx.clone()
                    };
                    self.walk_value(v, &inner, &kpath);
                }
                _ => {}
            }
        }
        self.check_body(body, schema, &ctx, path, kind.meta_args());
        if kind == Kind::Data
            && ty == "terraform_remote_state"
            && !matches!(self.pass, Pass::SchemaOnly)
        {
            self.check_remote_state_decl(decl, name, &ctx, path);
        }
    }

    fn check_remote_state_decl(&mut self, decl: &Decl<'_>, name: &str, ctx: &Ctx<'_>, path: &str) {
        if literal_str(decl.get("backend")) != Some("s3") {
            return;
        }
        let Some(config) = decl.get("config").and_then(Value::as_object) else {
            self.at(ctx, path, "s3 remote state needs a `config` object");
            return;
        };
        for key in ["bucket", "key", "region"] {
            if !config.contains_key(key) {
                self.at(
                    ctx,
                    &join(path, "config"),
                    format!("s3 remote state config needs `{key}`"),
                );
            }
        }
        let Some((bucket, key, region)) = Self::remote_state_target(decl) else {
            return;
        };
        let roots = self.remote_roots(&bucket, &key);
        if roots.is_empty() {
            self.at(
                ctx,
                path,
                format!(
                    "`data.terraform_remote_state.{name}`: no root module in the tree has an s3 \
                     backend with bucket \"{bucket}\" and key \"{key}\""
                ),
            );
        }
        for (root, rdir) in roots {
            if let (Some(want), Some((_, _, Some(have)))) = (&region, s3_backend(rdir)) {
                if *want != have {
                    let shown = if root.is_empty() { "." } else { root };
                    self.at(
                        ctx,
                        &join(path, "config.region"),
                        format!("region \"{want}\" differs from the backend region \"{have}\" of root `{shown}`"),
                    );
                }
            }
        }
    }

    fn check_provider(&mut self, p: &ProviderDecl<'a>) {
        let ctx = Ctx {
            ephemeral_ok: true,
            ..Self::base_ctx(p.file, p.address())
        };
        let schema = self.schemas.provider(&p.name);
        if schema.is_none() {
            self.at(
                &ctx,
                "",
                format!("provider `{}` is not in the schema", p.name),
            );
        }
        self.check_body(p.body, schema, &ctx, "", &["alias"]);
    }

    fn check_terraform(&mut self, t: &Decl<'a>) {
        let ctx = Self::base_ctx(t.file, "terraform".into());
        let Some(body) = t.obj() else {
            return;
        };
        for (k, v) in body {
            match k.as_str() {
                "//" | "cloud" | "experiments" | "provider_meta" => {}
                "required_version" => self.check_literal_string(v, &ctx, k),
                "backend" => {
                    if has_template(v) {
                        self.at(
                            &ctx,
                            k,
                            "backend settings cannot use \"${...}\" (Terraform does not interpolate them)",
                        );
                    }
                    if objects(v).is_none() {
                        self.at(&ctx, k, "`backend` must be an object keyed by backend type");
                    }
                }
                "required_providers" => {
                    let Some(items) = objects(v) else {
                        self.at(&ctx, k, "must be an object");
                        continue;
                    };
                    for rp in items {
                        for (name, spec) in rp {
                            let spath = format!("required_providers.{name}");
                            let Some(aliases) = spec.get("configuration_aliases") else {
                                continue;
                            };
                            let Value::Array(aliases) = aliases else {
                                self.at(&ctx, &spath, "`configuration_aliases` must be an array");
                                continue;
                            };
                            for a in aliases {
                                let ok = a.as_str().is_some_and(|s| {
                                    !s.contains("${")
                                        && s.strip_prefix(name.as_str())
                                            .and_then(|r| r.strip_prefix('.'))
                                            .is_some_and(|al| !al.is_empty() && !al.contains('.'))
                                });
                                if !ok {
                                    self.at(
                                        &ctx,
                                        &spath,
                                        format!(
                                            "configuration_aliases entry {a} must be a bare `{name}.ALIAS` string"
                                        ),
                                    );
                                }
                            }
                        }
                    }
                }
                other => self.at(
                    &ctx,
                    "",
                    format!("unsupported `terraform` setting `{other}`"),
                ),
            }
        }
    }

    fn check_variable(&mut self, name: &str, d: &Decl<'a>) {
        let ctx = Self::base_ctx(d.file, format!("var.{name}"));
        let Some(body) = d.obj() else {
            return;
        };
        let ty = match body.get("type") {
            None => None,
            Some(Value::String(s)) => match AttrType::from_type_constraint(s) {
                Ok(t) => Some(t),
                Err(e) => {
                    self.at(&ctx, "type", format!("invalid type constraint `{s}`: {e}"));
                    None
                }
            },
            Some(other) => {
                self.at(
                    &ctx,
                    "type",
                    format!(
                        "must be a string holding a type expression, got {}",
                        json_kind(other)
                    ),
                );
                None
            }
        };
        for (k, v) in body {
            match k.as_str() {
                "//" | "type" => {}
                "default" => {
                    if has_template(v) {
                        self.at(&ctx, k, "`default` must be a literal value (no \"${...}\")");
                    } else if let Some(t) = &ty {
                        self.check_literal_into(v, t, &ctx, k);
                    }
                }
                "description" => self.check_literal_string(v, &ctx, k),
                "sensitive" | "nullable" | "ephemeral" => self.check_literal_bool(v, &ctx, k),
                "validation" => {
                    let inner = Ctx {
                        validating: Some(name.to_string()),
                        ..ctx.clone()
                    };
                    self.check_conditions(v, &inner, k);
                }
                other => self.at(&ctx, "", format!("unsupported variable argument `{other}`")),
            }
        }
    }

    fn check_output(&mut self, name: &str, d: &Decl<'a>) {
        let ctx = Self::base_ctx(d.file, format!("output.{name}"));
        let Some(body) = d.obj() else {
            return;
        };
        for (k, v) in body {
            match k.as_str() {
                "//" => {}
                "value" => {
                    let eph = self.walk_value(v, &ctx, k);
                    if eph && !is_true(body.get("ephemeral")) {
                        self.at(
                            &ctx,
                            k,
                            "the value is ephemeral; the output needs `\"ephemeral\": true`",
                        );
                    }
                }
                "description" => self.check_literal_string(v, &ctx, k),
                "sensitive" | "ephemeral" => self.check_literal_bool(v, &ctx, k),
                "depends_on" => self.check_depends_on(v, &ctx, k),
                "precondition" => self.check_conditions(v, &ctx, k),
                other => self.at(&ctx, "", format!("unsupported output argument `{other}`")),
            }
        }
        if !body.contains_key("value") {
            self.at(&ctx, "", "output needs a `value`");
        }
    }

    fn check_module(&mut self, name: &str, d: &Decl<'a>) {
        let Some(body) = d.obj() else {
            return;
        };
        let has_count = body.contains_key("count");
        let has_each = body.contains_key("for_each");
        let ctx = Ctx {
            has_count,
            has_each,
            ..Self::base_ctx(d.file, format!("module.{name}"))
        };
        if has_count && has_each {
            self.at(&ctx, "", "`count` and `for_each` are mutually exclusive");
        }
        let mut target: Option<(String, &'t Dir<'a>)> = None;
        match body.get("source") {
            None => self.at(&ctx, "", "module call needs a `source`"),
            Some(Value::String(s)) if is_literal_string(s) => {
                match resolve_source(self.dir_name, s) {
                    Err(e) => self.at(&ctx, "source", e),
                    Ok(None) => {}
                    Ok(Some(p)) => match self.tree.dirs.get(&p) {
                        Some(t) => target = Some((p, t)),
                        None => self.at(
                            &ctx,
                            "source",
                            format!(
                                "`{s}` resolves to `{p}`, which has no .tf.json files in the tree"
                            ),
                        ),
                    },
                }
            }
            Some(_) => self.at(&ctx, "source", "must be a literal string"),
        }
        const META: &[&str] = &[
            "source",
            "version",
            "providers",
            "depends_on",
            "count",
            "for_each",
        ];
        for (k, v) in body {
            match k.as_str() {
                "//" | "source" => {}
                "version" => self.check_literal_string(v, &ctx, k),
                "providers" => self.check_module_providers(v, target.as_ref(), &ctx),
                "depends_on" => self.check_depends_on(v, &ctx, k),
                "count" | "for_each" => {
                    let eph = self.walk_value(v, &ctx, k);
                    self.check_ephemeral_use(eph, k, &ctx, k);
                }
                arg => {
                    let var = target.as_ref().and_then(|(_, t)| t.variables.get(arg));
                    let ctx_arg = Ctx {
                        ephemeral_ok: var.is_some_and(|v| is_true(v.get("ephemeral"))),
                        ..ctx.clone()
                    };
                    let eph = self.walk_value(v, &ctx_arg, arg);
                    if eph && !ctx_arg.ephemeral_ok {
                        self.at(
                            &ctx,
                            arg,
                            "ephemeral value passed to a variable that is not `\"ephemeral\": true`",
                        );
                    }
                    match (&target, var) {
                        (Some((tpath, _)), None) => self.at(
                            &ctx,
                            "",
                            format!("unsupported argument `{arg}`: module `{tpath}` declares no variable `{arg}`"),
                        ),
                        (_, Some(var)) => {
                            let ty = literal_str(var.get("type"))
                                .and_then(|t| AttrType::from_type_constraint(t).ok());
                            if let Some(ty) = ty {
                                self.check_literal_into(v, &ty, &ctx, arg);
                            }
                        }
                        (None, None) => {}
                    }
                }
            }
        }
        let Some((tpath, tdir)) = target else {
            return;
        };
        for (vn, vd) in &tdir.variables {
            let required = vd.get("default").is_none();
            if required && !body.contains_key(vn) && !META.contains(&vn.as_str()) {
                self.at(
                    &ctx,
                    "",
                    format!(
                        "missing required argument `{vn}` (variable without default in `{tpath}`)"
                    ),
                );
            }
        }
        let passed: BTreeSet<&str> = body
            .get("providers")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for alias in configuration_aliases(tdir) {
            if !passed.contains(alias.as_str()) {
                self.at(
                    &ctx,
                    "providers",
                    format!("module `{tpath}` declares configuration_aliases `{alias}`, which must be passed in `providers`"),
                );
            }
        }
    }

    fn check_module_providers(
        &mut self,
        v: &Value,
        target: Option<&(String, &'t Dir<'a>)>,
        ctx: &Ctx<'_>,
    ) {
        let Value::Object(m) = v else {
            self.at(
                ctx,
                "providers",
                format!(
                    "must be an object mapping child provider names to provider references, got {}",
                    json_kind(v)
                ),
            );
            return;
        };
        let child_aliases = target.map(|(_, t)| configuration_aliases(t));
        for (child, parent) in m {
            let cpath = format!("providers.{child}");
            if child.contains("${") {
                self.at(
                    ctx,
                    &cpath,
                    format!("`{child}` must be a bare provider name"),
                );
                continue;
            }
            match parse_bare_ref(child) {
                Ok((_, steps)) if steps.is_empty() => {}
                Ok((_, steps)) if matches!(steps.as_slice(), [Step::Attr(_)]) => {
                    if let (Some(aliases), Some((tpath, _))) = (&child_aliases, target) {
                        if !aliases.contains(child) {
                            self.at(
                                ctx,
                                &cpath,
                                format!(
                                    "module `{tpath}` has no configuration_aliases entry `{child}`"
                                ),
                            );
                        }
                    }
                }
                _ => self.at(ctx, &cpath, format!("`{child}` is not a provider name")),
            }
            self.check_provider_ref(parent, ctx, &cpath);
        }
    }

    fn check_check(&mut self, name: &str, d: &Decl<'a>) {
        let ctx = Self::base_ctx(d.file, format!("check.{name}"));
        let Some(body) = d.obj() else {
            return;
        };
        let mut scoped: TypedDecls<'a> = BTreeMap::new();
        if let Some(data) = body.get("data") {
            match objects(data) {
                None => self.at(&ctx, "data", "must be an object"),
                Some(levels) => {
                    for level in levels {
                        for (ty, inner) in level {
                            for named in objects(inner).unwrap_or_default() {
                                for (n, b) in named {
                                    if b.is_object() {
                                        scoped.insert(
                                            (ty.clone(), n.clone()),
                                            Decl {
                                                file: d.file,
                                                body: b,
                                            },
                                        );
                                    } else {
                                        self.at(
                                            &ctx,
                                            &format!("data.{ty}.{n}"),
                                            "must be an object",
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let scoped_ctx = Ctx {
            scoped_data: Some(&scoped),
            ..ctx.clone()
        };
        for ((ty, n), sd) in &scoped {
            self.check_typed(
                Kind::Data,
                ty,
                n,
                sd,
                scoped_ctx.clone(),
                &format!("data.{ty}.{n}"),
            );
        }
        match body.get("assert") {
            Some(a) => self.check_conditions(a, &scoped_ctx, "assert"),
            None => self.at(&ctx, "", "check block needs at least one `assert`"),
        }
        for k in body.keys() {
            if !["data", "assert", "//"].contains(&k.as_str()) {
                self.at(
                    &ctx,
                    "",
                    format!("unsupported argument `{k}` in a check block"),
                );
            }
        }
    }

    fn check_moved(&mut self, d: &Decl<'a>) {
        let ctx = Self::base_ctx(d.file, "moved".into());
        let Some(body) = d.obj() else {
            return;
        };
        for (k, v) in body {
            match k.as_str() {
                "//" => {}
                "from" => self.check_bare_address(v, &ctx, k, false, false),
                "to" => self.check_bare_address(v, &ctx, k, false, true),
                other => self.at(
                    &ctx,
                    "",
                    format!("unsupported argument `{other}` in a moved block"),
                ),
            }
        }
        for key in ["from", "to"] {
            if !body.contains_key(key) {
                self.at(&ctx, "", format!("moved block needs `{key}`"));
            }
        }
    }

    fn check_import(&mut self, d: &Decl<'a>) {
        let Some(body) = d.obj() else {
            return;
        };
        let ctx = Ctx {
            has_each: body.contains_key("for_each"),
            ..Self::base_ctx(d.file, "import".into())
        };
        for (k, v) in body {
            match k.as_str() {
                "//" => {}
                "to" => self.check_bare_address(v, &ctx, k, false, true),
                "provider" => self.check_provider_ref(v, &ctx, k),
                "id" | "for_each" | "identity" => {
                    self.walk_value(v, &ctx, k);
                }
                other => self.at(
                    &ctx,
                    "",
                    format!("unsupported argument `{other}` in an import block"),
                ),
            }
        }
        if !body.contains_key("to") {
            self.at(&ctx, "", "import block needs `to`");
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
