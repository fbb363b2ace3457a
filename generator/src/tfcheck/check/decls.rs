//! Declarations: resources / data sources / ephemeral resources against
//! their schema, remote state, providers, `terraform` blocks, variables,
//! outputs, module calls (arguments, `providers`, configuration aliases),
//! `check`, `moved` and `import` blocks.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::super::expr::{is_literal_string, parse_bare_ref, Step};
use super::super::schema::provider_of_type;
use super::super::tree::{json_kind, objects, Decl, Dir, ProviderDecl, TypedDecls};
use super::super::types::AttrType;
use super::{
    configuration_aliases, has_template, is_true, join, literal_str, resolve_source, s3_backend,
    Ctx, DirChecker, Kind, Pass,
};

impl<'t, 'a> DirChecker<'t, 'a> {
    pub(super) fn check_typed(
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

    pub(super) fn check_remote_state_decl(
        &mut self,
        decl: &Decl<'_>,
        name: &str,
        ctx: &Ctx<'_>,
        path: &str,
    ) {
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

    pub(super) fn check_provider(&mut self, p: &ProviderDecl<'a>) {
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

    pub(super) fn check_terraform(&mut self, t: &Decl<'a>) {
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

    pub(super) fn check_variable(&mut self, name: &str, d: &Decl<'a>) {
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

    pub(super) fn check_output(&mut self, name: &str, d: &Decl<'a>) {
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

    pub(super) fn check_module(&mut self, name: &str, d: &Decl<'a>) {
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

    pub(super) fn check_module_providers(
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

    pub(super) fn check_check(&mut self, name: &str, d: &Decl<'a>) {
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

    pub(super) fn check_moved(&mut self, d: &Decl<'a>) {
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

    pub(super) fn check_import(&mut self, d: &Decl<'a>) {
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
