//! Schema conformance of block bodies: attributes exist and have the right
//! literal types, required ones are set, computed-only ones are not, nested
//! blocks respect their nesting mode and item counts; `dynamic` blocks,
//! `lifecycle` and its conditions.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::super::expr::{is_literal_string, parse_bare_ref, Item};
use super::super::schema::{BlockSchema, NestingMode};
use super::super::tree::{json_kind, objects};
use super::super::types::{check_literal, AttrType};
use super::{attr_as_block, join, Ctx, DirChecker, Kind};

impl<'t, 'a> DirChecker<'t, 'a> {
    pub(super) fn check_literal_into(
        &mut self,
        v: &Value,
        ty: &AttrType,
        ctx: &Ctx<'_>,
        path: &str,
    ) {
        let mut errs = Vec::new();
        check_literal(v, ty, path, &mut errs);
        for (p, m) in errs {
            self.at(ctx, &p, m);
        }
    }

    pub(super) fn check_literal_bool(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
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

    pub(super) fn check_literal_string(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
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
    pub(super) fn check_body(
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

    pub(super) fn check_dynamic(
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

    pub(super) fn check_conditions(&mut self, v: &Value, ctx: &Ctx<'_>, path: &str) {
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

    pub(super) fn check_lifecycle(
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

    pub(super) fn check_ignore_changes(
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
}
