//! References: every `${...}` in an expression resolves (variables,
//! locals, modules and their outputs, resources and data sources with their
//! first attribute, remote state outputs, `each` / `count` / `self`,
//! functions), bare addresses (`depends_on`, `provider`, ...), and ephemeral
//! values only where Terraform accepts them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::super::expr::{collect_in_string, parse_bare_ref, Item, Step};
use super::super::tree::{json_kind, Decl, Dir};
use super::{
    collect_items, configuration_aliases, first_attr, is_true, join, literal_str, resolve_source,
    s3_backend, Ctx, DirChecker, Kind, Pass,
};

impl<'t, 'a> DirChecker<'t, 'a> {
    pub(super) fn var_is_ephemeral(&self, name: &str) -> bool {
        self.dir
            .variables
            .get(name)
            .is_some_and(|v| is_true(v.get("ephemeral")))
    }

    pub(super) fn module_target(&self, decl: &Decl<'a>) -> Option<(String, &'t Dir<'a>)> {
        let source = literal_str(decl.get("source"))?;
        let path = resolve_source(self.dir_name, source).ok()??;
        let dir = self.tree.dirs.get(&path)?;
        Some((path, dir))
    }

    pub(super) fn item_is_ephemeral(&self, item: &Item, eph_locals: &BTreeSet<String>) -> bool {
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
    pub(super) fn compute_ephemeral_locals(&mut self) {
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
    pub(super) fn walk_value(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) -> bool {
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

    pub(super) fn walk_str(&mut self, s: &str, ctx: &Ctx<'_>, path: &str) -> bool {
        let mut items = Vec::new();
        collect_in_string(s, &mut items);
        let mut eph = false;
        for item in &items {
            eph |= self.resolve(item, ctx, path);
        }
        eph
    }

    /// Resolve one item; returns whether it is an ephemeral value.
    pub(super) fn resolve(&mut self, item: &Item, ctx: &Ctx<'_>, path: &str) -> bool {
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

    pub(super) fn check_instance_key(
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

    pub(super) fn resolve_module(
        &mut self,
        m: &str,
        rest: &[Step],
        ctx: &Ctx<'_>,
        path: &str,
    ) -> bool {
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

    pub(super) fn resolve_typed(
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

    pub(super) fn remote_state_target(decl: &Decl<'_>) -> Option<(String, String, Option<String>)> {
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

    pub(super) fn remote_roots(&self, bucket: &str, key: &str) -> Vec<(&'t str, &'t Dir<'a>)> {
        self.tree
            .dirs
            .iter()
            .filter(|(_, d)| s3_backend(d).is_some_and(|(b, k, _)| b == bucket && k == key))
            .map(|(n, d)| (n.as_str(), d))
            .collect()
    }

    pub(super) fn resolve_remote_output(
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
    pub(super) fn check_bare_address(
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

    pub(super) fn check_depends_on(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
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

    pub(super) fn provider_declared(dir: &Dir<'_>, name: &str, alias: &str) -> bool {
        dir.providers
            .iter()
            .any(|p| p.name == name && p.alias.as_deref() == Some(alias))
            || configuration_aliases(dir).contains(&format!("{name}.{alias}"))
    }

    /// A bare provider reference (`aws`, `aws.dr`) used in this directory.
    pub(super) fn check_provider_ref(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
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

    pub(super) fn check_ephemeral_use(&mut self, eph: bool, key: &str, ctx: &Ctx<'_>, path: &str) {
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
}
