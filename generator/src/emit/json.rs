//! Terraform JSON syntax. Formatting only: every decision was made in the model.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::model::expr::{escape_template_literal, Expr, Part};
use crate::model::{Body, Condition, Lifecycle, Mode, Module, Resource, TerraformBlock};

/// An expression as a Terraform JSON value.
pub fn expr(e: &Expr) -> Value {
    match e {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Int(n) => json!(n),
        Expr::Float(x) => json!(x),
        Expr::Str(s) => Value::String(escape_template_literal(s)),
        Expr::List(items) => Value::Array(items.iter().map(expr).collect()),
        Expr::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), expr(v))).collect()),
        Expr::Template(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    Part::Lit(l) => s.push_str(&escape_template_literal(l)),
                    Part::Interp(e) => {
                        s.push_str("${");
                        s.push_str(&e.to_hcl());
                        s.push('}');
                    }
                }
            }
            Value::String(s)
        }
        other => Value::String(format!("${{{}}}", other.to_hcl())),
    }
}

/// A block body: attributes, then nested blocks (one object, or an array
/// of objects when the block repeats).
pub fn body(b: &Body) -> Map<String, Value> {
    let mut m: Map<String, Value> = b.attrs.iter().map(|(k, v)| (k.clone(), expr(v))).collect();
    for (kind, blocks) in &b.blocks {
        let v = match blocks.as_slice() {
            [one] => Value::Object(body(one)),
            many => Value::Array(many.iter().map(|x| Value::Object(body(x))).collect()),
        };
        m.insert(kind.clone(), v);
    }
    m
}

fn conditions(cs: &[Condition]) -> Value {
    Value::Array(
        cs.iter()
            .map(|c| {
                json!({
                    "condition": format!("${{{}}}", c.condition.to_hcl()),
                    "error_message": escape_template_literal(&c.error_message),
                })
            })
            .collect(),
    )
}

fn lifecycle(l: &Lifecycle) -> Value {
    let mut m = Map::new();
    if l.create_before_destroy {
        m.insert("create_before_destroy".into(), Value::Bool(true));
    }
    if l.prevent_destroy {
        m.insert("prevent_destroy".into(), Value::Bool(true));
    }
    if !l.ignore_changes.is_empty() {
        m.insert("ignore_changes".into(), json!(l.ignore_changes));
    }
    if !l.preconditions.is_empty() {
        m.insert("precondition".into(), conditions(&l.preconditions));
    }
    Value::Object(m)
}

/// One resource's body with its meta-arguments. References in
/// `depends_on` and `provider` are bare address strings.
pub fn resource(r: &Resource) -> Value {
    let mut m = body(&r.body);
    if let Some(c) = &r.count {
        m.insert("count".into(), expr(c));
    }
    if !r.depends_on.is_empty() {
        m.insert(
            "depends_on".into(),
            Value::Array(
                r.depends_on
                    .iter()
                    .map(|a| Value::String(a.to_string()))
                    .collect(),
            ),
        );
    }
    if let Some(p) = &r.provider {
        m.insert("provider".into(), Value::String(p.to_string()));
    }
    if !r.lifecycle.is_empty() {
        m.insert("lifecycle".into(), lifecycle(&r.lifecycle));
    }
    Value::Object(m)
}

fn insert_path(root: &mut Map<String, Value>, path: &[&str], v: Value) {
    let mut cur = root;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            cur.insert((*key).to_owned(), v);
            return;
        }
        let next = cur
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        match next {
            Value::Object(m) => cur = m,
            _ => return,
        }
    }
}

fn terraform(t: &TerraformBlock) -> Value {
    let mut m = Map::new();
    m.insert(
        "required_version".into(),
        Value::String(t.required_version.clone()),
    );
    let mut rp = Map::new();
    for (name, p) in &t.required_providers {
        let mut e = Map::new();
        e.insert("source".into(), Value::String(p.source.clone()));
        e.insert("version".into(), Value::String(p.version.clone()));
        if !p.configuration_aliases.is_empty() {
            e.insert(
                "configuration_aliases".into(),
                Value::Array(
                    p.configuration_aliases
                        .iter()
                        .map(|a| Value::String(a.to_string()))
                        .collect(),
                ),
            );
        }
        rp.insert(name.clone(), Value::Object(e));
    }
    m.insert("required_providers".into(), Value::Object(rp));
    if let Some(b) = &t.backend {
        m.insert(
            "backend".into(),
            json!({"s3": {
                "bucket": b.bucket,
                "key": b.key,
                "region": b.region,
                "encrypt": b.encrypt,
                "use_lockfile": b.use_lockfile,
            }}),
        );
    }
    Value::Object(m)
}

/// The files of a module: `main`, `variables`, `outputs` and `versions`
/// (`.tf.json`), each present only when it has content.
pub fn module(m: &Module) -> BTreeMap<String, Value> {
    let mut files = BTreeMap::new();
    files.insert(
        "versions.tf.json".to_owned(),
        json!({ "terraform": terraform(&m.terraform) }),
    );

    let mut main = Map::new();
    if !m.providers.is_empty() {
        let mut by_name: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for p in &m.providers {
            let mut b = body(&p.body);
            if let Some(a) = &p.alias {
                b.insert("alias".into(), Value::String(a.clone()));
            }
            by_name.entry(&p.name).or_default().push(Value::Object(b));
        }
        for (name, mut list) in by_name {
            let v = if list.len() == 1 {
                list.remove(0)
            } else {
                Value::Array(list)
            };
            insert_path(&mut main, &["provider", name], v);
        }
    }
    if !m.locals.is_empty() {
        main.insert(
            "locals".into(),
            Value::Object(m.locals.iter().map(|(k, v)| (k.clone(), expr(v))).collect()),
        );
    }
    for r in m.resources.values() {
        let section = match r.mode {
            Mode::Managed => "resource",
            Mode::Data => "data",
            Mode::Ephemeral => "ephemeral",
        };
        insert_path(&mut main, &[section, &r.rtype, &r.name], resource(r));
    }
    for c in m.calls.values() {
        let mut b: Map<String, Value> = c.args.iter().map(|(k, v)| (k.clone(), expr(v))).collect();
        b.insert("source".into(), Value::String(c.source.clone()));
        if !c.providers.is_empty() {
            b.insert(
                "providers".into(),
                Value::Object(
                    c.providers
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                        .collect(),
                ),
            );
        }
        if !c.depends_on.is_empty() {
            b.insert(
                "depends_on".into(),
                Value::Array(
                    c.depends_on
                        .iter()
                        .map(|a| Value::String(a.to_string()))
                        .collect(),
                ),
            );
        }
        insert_path(&mut main, &["module", &c.name], Value::Object(b));
    }
    if !main.is_empty() {
        files.insert("main.tf.json".to_owned(), Value::Object(main));
    }

    if !m.variables.is_empty() {
        let mut vars = Map::new();
        for v in m.variables.values() {
            let mut b = Map::new();
            b.insert("type".into(), Value::String(v.ty.to_string()));
            b.insert(
                "description".into(),
                Value::String(escape_template_literal(&v.description)),
            );
            if let Some(d) = &v.default {
                b.insert("default".into(), expr(d));
            }
            if v.sensitive {
                b.insert("sensitive".into(), Value::Bool(true));
            }
            b.insert(
                "nullable".into(),
                Value::Bool(v.default == Some(Expr::Null)),
            );
            if !v.validations.is_empty() {
                b.insert("validation".into(), conditions(&v.validations));
            }
            vars.insert(v.name.clone(), Value::Object(b));
        }
        files.insert("variables.tf.json".to_owned(), json!({ "variable": vars }));
    }

    if !m.outputs.is_empty() {
        let mut outs = Map::new();
        for o in m.outputs.values() {
            let mut b = Map::new();
            b.insert(
                "description".into(),
                Value::String(escape_template_literal(&o.description)),
            );
            b.insert("value".into(), expr(&o.value));
            if o.sensitive {
                b.insert("sensitive".into(), Value::Bool(true));
            }
            outs.insert(o.name.clone(), Value::Object(b));
        }
        files.insert("outputs.tf.json".to_owned(), json!({ "output": outs }));
    }
    files
}

/// Pretty JSON with two-space indent and a final newline.
pub fn to_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::expr::{call, interp, lit, res, tpl, var};

    #[test]
    fn literals_are_escaped_and_refs_interpolated() {
        assert_eq!(
            expr(&Expr::from("${aws:username}")),
            json!("$${aws:username}")
        );
        assert_eq!(expr(&var("x")), json!("${var.x}"));
        assert_eq!(
            expr(&tpl(vec![lit("a-%{b}-"), interp(var("s"))])),
            json!("a-%%{b}-${var.s}")
        );
        assert_eq!(
            expr(&call("jsonencode", vec![Expr::from("${x}")])),
            json!("${jsonencode(\"$${x}\")}")
        );
        assert_eq!(
            expr(&Expr::List(vec![
                res("aws_vpc", "this", "id"),
                Expr::Int(3)
            ])),
            json!(["${aws_vpc.this.id}", 3])
        );
    }
}
