//! The HCL view (`emit::hcl`) against the JSON emitter: for every module and
//! root of the sample project, each `.tf` file parses with hcl-rs and means
//! the same as its `.tf.json` file.
//!
//! Both sides are brought to one form, the Terraform JSON shape: blocks
//! become nested objects (labels as keys, repeated blocks as arrays),
//! literal strings are kept with `${` / `%{` escaped as the JSON emitter
//! writes them, every other expression becomes `${TEXT}` where TEXT is a
//! canonical rendering of the parsed expression tree (parentheses made
//! explicit around every operation, `&&` / `||` chains flattened, object
//! keys quoted, single-interpolation templates unwrapped). Meta-arguments
//! (`depends_on`, `provider`, `providers`, `ignore_changes`,
//! `configuration_aliases`) and variable types are bare text on both sides.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use drgen::emit::hcl as view;
use drgen::emit::json;
use drgen::layers::Project;
use drgen::model::expr::{
    bin, call, escape_template_literal, interp, lit, local, object, tpl, var, Op,
};
use drgen::model::{
    Expr, Module, ModuleKind, RequiredProvider, TerraformBlock, TypeExpr, Variable,
};
use hcl::expr::{
    BinaryOp, BinaryOperator, Conditional, ObjectKey, Operation, TemplateExpr, Traversal,
    TraversalOperator, UnaryOp,
};
use hcl::template::Element;
use hcl::{Expression, Structure, Template};
use serde_json::{Map, Value};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn project() -> Project {
    let envs = drgen::project::load(&repo(), &[]).expect("sample environments load");
    drgen::project::build(&envs)
}

// ---------------------------------------------------------------------------
// Canonical expressions.

/// One-line text of an expression, by hcl-rs.
fn text(e: &Expression) -> String {
    view::flat(e)
}

fn paren(e: Expression) -> Expression {
    Expression::Parenthesis(Box::new(e))
}

/// Whether hcl-rs left an operator sequence unresolved: it parses
/// `a op1 b op2 c` without parentheses as `a op1 (b op2 c)` whatever the
/// operators, and applies precedence only when evaluating.
fn is_raw_chain(b: &BinaryOp) -> bool {
    matches!(&b.rhs_expr, Expression::Operation(o) if matches!(o.as_ref(), Operation::Binary(_)))
}

/// The tree Terraform parses from such a sequence: HCL precedence levels,
/// left associative. Built nodes are parenthesized, so this is idempotent.
fn reassociate(b: &BinaryOp) -> Expression {
    let mut operands = vec![b.lhs_expr.clone()];
    let mut ops = vec![b.operator];
    let mut rest = b.rhs_expr.clone();
    loop {
        match rest {
            Expression::Operation(o) => match *o {
                Operation::Binary(n) => {
                    operands.push(n.lhs_expr);
                    ops.push(n.operator);
                    rest = n.rhs_expr;
                }
                other => {
                    operands.push(Expression::Operation(Box::new(other)));
                    break;
                }
            },
            other => {
                operands.push(other);
                break;
            }
        }
    }
    while !ops.is_empty() {
        let top = ops.iter().map(|o| o.precedence()).max().unwrap_or(0);
        let i = ops.iter().position(|o| o.precedence() == top).unwrap_or(0);
        let op = ops.remove(i);
        let r = operands.remove(i + 1);
        let l = operands.remove(i);
        operands.insert(
            i,
            paren(Expression::Operation(Box::new(Operation::Binary(
                BinaryOp::new(l, op, r),
            )))),
        );
    }
    operands.remove(0)
}

/// Operands of a chain of one associative logical operator.
fn chain(e: &Expression, op: BinaryOperator, out: &mut Vec<Expression>) {
    match e {
        Expression::Parenthesis(inner) => chain(inner, op, out),
        Expression::Operation(o) => match o.as_ref() {
            Operation::Binary(b) if is_raw_chain(b) => chain(&reassociate(b), op, out),
            Operation::Binary(b) if b.operator == op => {
                chain(&b.lhs_expr, op, out);
                chain(&b.rhs_expr, op, out);
            }
            _ => out.push(canon(e)),
        },
        _ => out.push(canon(e)),
    }
}

/// The canonical tree: source parentheses dropped, every operation and
/// conditional wrapped in parentheses, `&&` / `||` chains folded left,
/// object keys as strings, templates re-read and rebuilt.
fn canon(e: &Expression) -> Expression {
    match e {
        Expression::Parenthesis(inner) => canon(inner),
        Expression::Operation(o) => match o.as_ref() {
            Operation::Binary(b) if is_raw_chain(b) => canon(&reassociate(b)),
            Operation::Binary(b)
                if matches!(b.operator, BinaryOperator::And | BinaryOperator::Or) =>
            {
                let mut items = Vec::new();
                chain(e, b.operator, &mut items);
                let mut it = items.into_iter();
                let first = it.next().expect("an operand");
                it.fold(first, |acc, x| {
                    paren(Expression::Operation(Box::new(Operation::Binary(
                        BinaryOp::new(acc, b.operator, x),
                    ))))
                })
            }
            Operation::Binary(b) => paren(Expression::Operation(Box::new(Operation::Binary(
                BinaryOp::new(canon(&b.lhs_expr), b.operator, canon(&b.rhs_expr)),
            )))),
            Operation::Unary(u) => paren(Expression::Operation(Box::new(Operation::Unary(
                UnaryOp::new(u.operator, canon(&u.expr)),
            )))),
        },
        Expression::Conditional(c) => paren(Expression::Conditional(Box::new(Conditional::new(
            canon(&c.cond_expr),
            canon(&c.true_expr),
            canon(&c.false_expr),
        )))),
        Expression::FuncCall(f) => {
            let mut f = f.as_ref().clone();
            f.args = f.args.iter().map(canon).collect();
            Expression::FuncCall(Box::new(f))
        }
        Expression::Traversal(t) => {
            // hcl-rs reads `!a.b` as `(!a).b`; HCL means `!(a.b)`.
            if let Expression::Operation(o) = &t.expr {
                if let Operation::Unary(u) = o.as_ref() {
                    let inner = Traversal::new(u.expr.clone(), t.operators.clone());
                    let fixed = UnaryOp::new(u.operator, Expression::Traversal(Box::new(inner)));
                    return canon(&Expression::Operation(Box::new(Operation::Unary(fixed))));
                }
            }
            let ops: Vec<TraversalOperator> = t
                .operators
                .iter()
                .map(|op| match op {
                    TraversalOperator::Index(i) => TraversalOperator::Index(canon(i)),
                    other => other.clone(),
                })
                .collect();
            Expression::Traversal(Box::new(Traversal::new(canon(&t.expr), ops)))
        }
        Expression::Array(items) => Expression::Array(items.iter().map(canon).collect()),
        Expression::Object(o) => Expression::Object(
            o.iter()
                .map(|(k, v)| {
                    let k = match k {
                        ObjectKey::Identifier(i) => Expression::String(i.to_string()),
                        ObjectKey::Expression(x) => canon(x),
                        other => panic!("unexpected key {other:?}"),
                    };
                    (ObjectKey::Expression(k), canon(v))
                })
                .collect(),
        ),
        Expression::TemplateExpr(t) => match t.as_ref() {
            TemplateExpr::QuotedString(s) => canon_template(s),
            TemplateExpr::Heredoc(h) => canon_template(&h.template),
        },
        Expression::ForExpr(f) => {
            let mut f = f.as_ref().clone();
            f.collection_expr = canon(&f.collection_expr);
            f.value_expr = canon(&f.value_expr);
            f.key_expr = f.key_expr.as_ref().map(canon);
            f.cond_expr = f.cond_expr.as_ref().map(canon);
            Expression::ForExpr(Box::new(f))
        }
        other => other.clone(),
    }
}

enum Piece {
    Lit(String),
    Interp(Expression),
}

/// A template's pieces, adjacent literals merged, interpolations canonical.
fn pieces(text: &str) -> Vec<Piece> {
    let t = Template::from_str(text).unwrap_or_else(|e| panic!("template {text:?}: {e}"));
    let mut out: Vec<Piece> = Vec::new();
    for el in t.elements() {
        match el {
            Element::Literal(s) => match out.last_mut() {
                Some(Piece::Lit(prev)) => prev.push_str(s),
                _ => out.push(Piece::Lit(s.clone())),
            },
            Element::Interpolation(i) => out.push(Piece::Interp(canon(&i.expr))),
            Element::Directive(d) => panic!("unexpected template directive {d:?}"),
        }
    }
    out.retain(|p| !matches!(p, Piece::Lit(s) if s.is_empty()));
    out
}

/// A template as an expression: a literal string, the one interpolated
/// expression, or a rebuilt quoted template.
fn canon_template(text_: &str) -> Expression {
    let ps = pieces(text_);
    match ps.as_slice() {
        [] => Expression::String(String::new()),
        [Piece::Lit(s)] => Expression::String(s.clone()),
        [Piece::Interp(e)] => e.clone(),
        _ => {
            let mut s = String::new();
            for p in &ps {
                match p {
                    Piece::Lit(l) => {
                        let q = text(&Expression::String(l.clone()));
                        s.push_str(&q[1..q.len() - 1]);
                    }
                    Piece::Interp(e) => {
                        s.push_str("${");
                        s.push_str(&text(e));
                        s.push('}');
                    }
                }
            }
            Expression::TemplateExpr(Box::new(TemplateExpr::QuotedString(s)))
        }
    }
}

/// A template string in the JSON form: literals escaped, interpolations
/// canonical.
fn template_value(text_: &str) -> Value {
    let ps = pieces(text_);
    match ps.as_slice() {
        [Piece::Interp(e)] => value(e),
        _ => {
            let mut s = String::new();
            for p in &ps {
                match p {
                    Piece::Lit(l) => s.push_str(&escape_template_literal(l)),
                    Piece::Interp(e) => {
                        s.push_str("${");
                        s.push_str(&text(e));
                        s.push('}');
                    }
                }
            }
            Value::String(s)
        }
    }
}

fn number(n: &serde_json::Number) -> Value {
    match n.as_i64() {
        Some(i) => Value::from(i),
        None => {
            let f = n.as_f64().expect("a number");
            if f.fract() == 0.0 && f.abs() < 1e15 {
                #[allow(clippy::cast_possible_truncation)]
                Value::from(f as i64)
            } else {
                Value::from(f)
            }
        }
    }
}

/// An HCL expression in the JSON form.
fn value(e: &Expression) -> Value {
    match e {
        Expression::Null => Value::Null,
        Expression::Bool(b) => Value::Bool(*b),
        Expression::Number(n) => {
            let v: serde_json::Number = if let Some(i) = n.as_i64() {
                i.into()
            } else {
                serde_json::Number::from_f64(n.as_f64().expect("finite")).expect("finite")
            };
            number(&v)
        }
        Expression::String(s) => Value::String(escape_template_literal(s)),
        Expression::Array(items) => Value::Array(items.iter().map(value).collect()),
        Expression::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let k = match k {
                        ObjectKey::Identifier(i) => i.to_string(),
                        ObjectKey::Expression(Expression::String(s)) => s.clone(),
                        other => panic!("non-literal object key {other:?}"),
                    };
                    (k, value(v))
                })
                .collect(),
        ),
        Expression::TemplateExpr(t) => match t.as_ref() {
            TemplateExpr::QuotedString(s) => template_value(s),
            TemplateExpr::Heredoc(h) => template_value(&h.template),
        },
        Expression::Parenthesis(inner) => value(inner),
        other => Value::String(format!("${{{}}}", text(&canon(other)))),
    }
}

/// A bare reference or type, as canonical text.
fn bare(e: &Expression) -> Value {
    Value::String(text(&canon(e)))
}

fn parse_expr(src: &str) -> Expression {
    let body = hcl::parse(&format!("x = {src}\n")).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    body.into_attributes().next().expect("one attribute").expr
}

fn bare_json(v: &Value) -> Value {
    match v {
        Value::String(s) => bare(&parse_expr(s)),
        other => panic!("expected a bare reference string, got {other}"),
    }
}

/// A JSON value with every string read as a template.
fn json_value(v: &Value) -> Value {
    match v {
        Value::String(s) => template_value(s),
        Value::Number(n) => number(n),
        Value::Array(items) => Value::Array(items.iter().map(json_value).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), json_value(x))).collect())
        }
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------
// Shapes.

/// Where a body is: decides which attributes are bare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Plain,
    Resource,
    Module,
    Output,
    Variable,
    Lifecycle,
    Terraform,
    RequiredProviders,
}

fn child_ctx(ctx: Ctx, kind: &str) -> Ctx {
    match (ctx, kind) {
        (Ctx::Resource, "lifecycle") => Ctx::Lifecycle,
        (Ctx::Terraform, "required_providers") => Ctx::RequiredProviders,
        _ => Ctx::Plain,
    }
}

/// Blocks that Terraform JSON always writes as arrays here.
fn always_array(ctx: Ctx, kind: &str) -> bool {
    matches!(
        (ctx, kind),
        (Ctx::Variable, "validation") | (Ctx::Lifecycle, "precondition" | "postcondition")
    )
}

fn bare_list(items: Vec<Value>) -> Value {
    Value::Array(items)
}

fn hcl_attr(ctx: Ctx, key: &str, e: &Expression) -> Value {
    let list = |e: &Expression| match e {
        Expression::Array(items) => bare_list(items.iter().map(bare).collect()),
        other => panic!("{key}: expected a list, got {other:?}"),
    };
    match (ctx, key) {
        (Ctx::Resource | Ctx::Module | Ctx::Output, "depends_on")
        | (Ctx::Lifecycle, "ignore_changes") => list(e),
        (Ctx::Resource, "provider") | (Ctx::Variable, "type") => bare(e),
        (Ctx::Module, "providers") => match e {
            Expression::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| {
                        let k = match k {
                            ObjectKey::Identifier(i) => i.to_string(),
                            ObjectKey::Expression(x) => text(&canon(x)),
                            other => panic!("{other:?}"),
                        };
                        (k, bare(v))
                    })
                    .collect(),
            ),
            other => panic!("providers: expected an object, got {other:?}"),
        },
        (Ctx::RequiredProviders, _) => match value(e) {
            Value::Object(mut m) => {
                if let Expression::Object(o) = e {
                    for (k, v) in o {
                        if matches!(k, ObjectKey::Identifier(i) if i.as_str() == "configuration_aliases")
                        {
                            m.insert("configuration_aliases".into(), list(v));
                        }
                    }
                }
                Value::Object(m)
            }
            other => other,
        },
        _ => value(e),
    }
}

fn insert_new(m: &mut Map<String, Value>, key: &str, v: Value) {
    assert!(
        m.insert(key.to_owned(), v).is_none(),
        "{key} declared twice"
    );
}

/// A block body in the JSON shape.
fn body_shape(b: &hcl::Body, ctx: Ctx) -> Value {
    let mut m = Map::new();
    let mut blocks: Vec<(String, Vec<Value>)> = Vec::new();
    let mut labeled: Map<String, Value> = Map::new();
    for s in b {
        match s {
            Structure::Attribute(a) => insert_new(
                &mut m,
                a.key.as_str(),
                hcl_attr(ctx, a.key.as_str(), &a.expr),
            ),
            Structure::Block(blk) => {
                let kind = blk.identifier.as_str();
                let inner = body_shape(&blk.body, child_ctx(ctx, kind));
                if blk.labels.is_empty() {
                    match blocks.iter_mut().find(|(k, _)| k == kind) {
                        Some((_, list)) => list.push(inner),
                        None => blocks.push((kind.to_owned(), vec![inner])),
                    }
                } else {
                    let mut path = vec![kind.to_owned()];
                    path.extend(blk.labels.iter().map(|l| l.as_str().to_owned()));
                    insert_path(&mut labeled, &path, inner);
                }
            }
        }
    }
    for (kind, mut list) in blocks {
        let v = if list.len() == 1 && !always_array(ctx, &kind) {
            list.remove(0)
        } else {
            Value::Array(list)
        };
        insert_new(&mut m, &kind, v);
    }
    for (k, v) in labeled {
        insert_new(&mut m, &k, v);
    }
    Value::Object(m)
}

fn insert_path(root: &mut Map<String, Value>, path: &[String], v: Value) {
    let (last, init) = path.split_last().expect("a path");
    let mut cur = root;
    for k in init {
        cur = match cur
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            Value::Object(m) => m,
            other => panic!("{k} is not an object: {other}"),
        };
    }
    insert_new(cur, last, v);
}

/// A parsed `.tf` file in the Terraform JSON shape.
fn file_shape(body: &hcl::Body) -> Value {
    let mut root = Map::new();
    let mut providers: Vec<(String, Vec<Value>)> = Vec::new();
    let mut locals = Map::new();
    for s in body {
        let Structure::Block(b) = s else {
            panic!("top-level attribute in a .tf file: {s:?}");
        };
        let labels: Vec<String> = b.labels.iter().map(|l| l.as_str().to_owned()).collect();
        let kind = b.identifier.as_str();
        match (kind, labels.as_slice()) {
            ("terraform", []) => {
                insert_new(&mut root, "terraform", body_shape(&b.body, Ctx::Terraform))
            }
            ("locals", []) => {
                let Value::Object(m) = body_shape(&b.body, Ctx::Plain) else {
                    unreachable!()
                };
                for (k, v) in m {
                    insert_new(&mut locals, &k, v);
                }
            }
            ("provider", [name]) => {
                let v = body_shape(&b.body, Ctx::Plain);
                match providers.iter_mut().find(|(k, _)| k == name) {
                    Some((_, list)) => list.push(v),
                    None => providers.push((name.clone(), vec![v])),
                }
            }
            ("resource" | "data" | "ephemeral", [t, n]) => insert_path(
                &mut root,
                &[kind.to_owned(), t.clone(), n.clone()],
                body_shape(&b.body, Ctx::Resource),
            ),
            ("module" | "variable" | "output", [n]) => {
                let ctx = match kind {
                    "module" => Ctx::Module,
                    "variable" => Ctx::Variable,
                    _ => Ctx::Output,
                };
                insert_path(
                    &mut root,
                    &[kind.to_owned(), n.clone()],
                    body_shape(&b.body, ctx),
                );
            }
            other => panic!("unexpected block {other:?}"),
        }
    }
    for (name, mut list) in providers {
        let v = if list.len() == 1 {
            list.remove(0)
        } else {
            Value::Array(list)
        };
        insert_path(&mut root, &["provider".to_owned(), name], v);
    }
    if !locals.is_empty() {
        insert_new(&mut root, "locals", Value::Object(locals));
    }
    Value::Object(root)
}

fn json_body(v: &Value, ctx: Ctx) -> Value {
    let Value::Object(m) = v else {
        return json_value(v);
    };
    let mut out = Map::new();
    for (k, x) in m {
        let list = |x: &Value| match x {
            Value::Array(items) => Value::Array(items.iter().map(bare_json).collect()),
            other => panic!("{k}: expected a list, got {other}"),
        };
        let nv = match (ctx, k.as_str()) {
            (Ctx::Resource | Ctx::Module | Ctx::Output, "depends_on")
            | (Ctx::Lifecycle, "ignore_changes") => list(x),
            (Ctx::Resource, "provider") | (Ctx::Variable, "type") => bare_json(x),
            (Ctx::Module, "providers") => match x {
                Value::Object(p) => Value::Object(
                    p.iter()
                        .map(|(pk, pv)| {
                            let Value::String(key) = bare_json(&Value::String(pk.clone())) else {
                                unreachable!()
                            };
                            (key, bare_json(pv))
                        })
                        .collect(),
                ),
                other => panic!("providers: {other}"),
            },
            (Ctx::Resource, "lifecycle") | (Ctx::Terraform, "required_providers") => {
                json_body(x, child_ctx(ctx, k))
            }
            (Ctx::RequiredProviders, _) => match x {
                Value::Object(p) => Value::Object(
                    p.iter()
                        .map(|(pk, pv)| {
                            let v = if pk == "configuration_aliases" {
                                list(pv)
                            } else {
                                json_value(pv)
                            };
                            (pk.clone(), v)
                        })
                        .collect(),
                ),
                other => json_value(other),
            },
            (c, kind) if always_array(c, kind) => match x {
                Value::Array(items) => {
                    Value::Array(items.iter().map(|i| json_body(i, Ctx::Plain)).collect())
                }
                one => Value::Array(vec![json_body(one, Ctx::Plain)]),
            },
            _ => json_value(x),
        };
        out.insert(k.clone(), nv);
    }
    Value::Object(out)
}

/// A `.tf.json` file in the common form.
fn json_shape(v: &Value) -> Value {
    let Value::Object(top) = v else {
        panic!("a .tf.json file is an object");
    };
    let mut out = Map::new();
    for (section, x) in top {
        let per_name = |x: &Value, depth: usize, ctx: Ctx| -> Value {
            fn walk(x: &Value, depth: usize, ctx: Ctx) -> Value {
                match (depth, x) {
                    (0, _) => json_body(x, ctx),
                    (_, Value::Object(m)) => Value::Object(
                        m.iter()
                            .map(|(k, v)| (k.clone(), walk(v, depth - 1, ctx)))
                            .collect(),
                    ),
                    (_, other) => panic!("unexpected {other}"),
                }
            }
            walk(x, depth, ctx)
        };
        let v = match section.as_str() {
            "resource" | "data" | "ephemeral" => per_name(x, 2, Ctx::Resource),
            "module" => per_name(x, 1, Ctx::Module),
            "variable" => per_name(x, 1, Ctx::Variable),
            "output" => per_name(x, 1, Ctx::Output),
            "terraform" => json_body(x, Ctx::Terraform),
            "locals" => json_body(x, Ctx::Plain),
            "provider" => match x {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .map(|(name, p)| {
                            let v = match p {
                                Value::Array(items) => Value::Array(
                                    items.iter().map(|i| json_body(i, Ctx::Plain)).collect(),
                                ),
                                one => json_body(one, Ctx::Plain),
                            };
                            (name.clone(), v)
                        })
                        .collect(),
                ),
                other => panic!("provider: {other}"),
            },
            other => panic!("unexpected section {other}"),
        };
        out.insert(section.clone(), v);
    }
    Value::Object(out)
}

/// The first difference between two values, as a path and both sides.
fn first_diff(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => {
                        if let Some(d) = first_diff(&p, u, v) {
                            return Some(d);
                        }
                    }
                    (u, v) => return Some(format!("{p}: hcl={u:?} json={v:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_diff(&format!("{path}[{i}]"), u, v)),
        _ if a == b => None,
        _ => Some(format!("{path}:\n  hcl:  {a}\n  json: {b}")),
    }
}

/// Renders both views of a module and compares them file by file.
fn assert_same_meaning(m: &Module) {
    let jsons = json::module(m);
    let hcls = view::module(m);
    let json_names: Vec<String> = jsons
        .keys()
        .map(|k| k.trim_end_matches(".json").to_owned())
        .collect();
    let hcl_names: Vec<String> = hcls.keys().cloned().collect();
    assert_eq!(hcl_names, json_names, "{}: file roles", m.dir);
    for (name, j) in &jsons {
        let tf = name.trim_end_matches(".json");
        let src = &hcls[tf];
        let parsed =
            hcl::parse(src).unwrap_or_else(|e| panic!("{}/{tf} does not parse: {e}", m.dir));
        let got = file_shape(&parsed);
        let want = json_shape(j);
        if let Some(d) = first_diff("", &got, &want) {
            panic!("{}/{tf} differs from {name} at {d}", m.dir);
        }
    }
}

// ---------------------------------------------------------------------------
// Tests.

#[test]
fn every_hcl_file_means_the_same_as_its_json() {
    let p = project();
    assert!(p.roots.len() >= 6, "{} roots", p.roots.len());
    for m in p.all() {
        assert_same_meaning(m);
    }
}

#[test]
fn every_file_parses_and_has_the_header() {
    let p = project();
    let mut n = 0;
    for m in p.all() {
        for (name, src) in view::module(m) {
            assert!(
                src.starts_with(&format!("{}\n\n", view::HEADER)),
                "{}/{name}",
                m.dir
            );
            assert!(
                src.ends_with("}\n") && !src.ends_with("\n\n"),
                "{}/{name}",
                m.dir
            );
            assert!(
                !src.lines().any(|l| l.ends_with(' ')),
                "{}/{name}: trailing space",
                m.dir
            );
            hcl::parse(&src).unwrap_or_else(|e| panic!("{}/{name}: {e}", m.dir));
            n += 1;
        }
    }
    assert!(n >= 24, "{n} files");
}

#[test]
fn output_is_deterministic() {
    // Against the committed view, written by another process (`drgen
    // generate`) from another working directory.
    let p = project();
    let mut n = 0;
    for m in p.all() {
        for (name, src) in view::module(m) {
            let rel = format!("{}/{}/{name}", drgen::project::HCL_VIEW, m.dir);
            let disk =
                std::fs::read_to_string(repo().join(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert!(disk == src, "{rel} differs from the committed file");
            n += 1;
        }
    }
    assert!(n >= 24, "{n} files");
    let (a, b) = (project(), project());
    for (x, y) in a.all().zip(b.all()) {
        assert_eq!(view::module(x), view::module(y), "{}", x.dir);
    }
}

/// `terraform fmt` leaves every file unchanged (skipped when terraform is
/// not installed).
#[test]
fn terraform_fmt_is_a_no_op() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let probe = Command::new("terraform")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    // Terraform is required by `make test` and CI: without it this fails
    // rather than passing silently.
    assert!(
        probe.is_ok_and(|s| s.success()),
        "terraform is not installed: install Terraform >= 1.11 and put it on PATH (the HCL view is checked with terraform fmt)"
    );
    for m in project().all() {
        for (name, src) in view::module(m) {
            let mut child = Command::new("terraform")
                .args(["fmt", "-no-color", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("terraform runs");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(src.as_bytes())
                .expect("write");
            let out = child.wait_with_output().expect("terraform fmt");
            assert!(
                out.status.success(),
                "{}/{name}: {}",
                m.dir,
                String::from_utf8_lossy(&out.stderr)
            );
            let formatted = String::from_utf8(out.stdout).expect("utf-8");
            if formatted != src {
                let line = formatted
                    .lines()
                    .zip(src.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                panic!(
                    "{}/{name}: terraform fmt changes line {}:\n  ours: {:?}\n  fmt:  {:?}",
                    m.dir,
                    line + 1,
                    src.lines().nth(line),
                    formatted.lines().nth(line)
                );
            }
        }
    }
}

fn small_module() -> Module {
    let mut rp = BTreeMap::new();
    rp.insert(
        "aws".to_owned(),
        RequiredProvider {
            source: "hashicorp/aws".into(),
            version: ">= 6.25.0".into(),
            configuration_aliases: vec![],
        },
    );
    let mut m = Module::new(
        "modules/escapes",
        ModuleKind::Reusable,
        "escapes",
        TerraformBlock {
            required_version: ">= 1.11.0".into(),
            required_providers: rp,
            backend: None,
        },
    );
    m.variable(Variable {
        name: "who".into(),
        ty: TypeExpr::map(TypeExpr::object([
            ("name", TypeExpr::String),
            ("tags", TypeExpr::optional(TypeExpr::list(TypeExpr::String))),
        ])),
        description: "Literal ${var.not_a_ref} and %{ if x } in a description \"quoted\".".into(),
        default: Some(Expr::Null),
        sensitive: false,
        validations: vec![],
    });
    m.local("user", Expr::from("${aws:username}"));
    m.local("directive", Expr::from("%{ if true }x%{ endif }\\n"));
    m.local(
        "mixed",
        tpl(vec![lit("arn:${aws:username}/%{x}/"), interp(var("who"))]),
    );
    m.local(
        "policy",
        call(
            "jsonencode",
            vec![object([
                (
                    "Condition",
                    object([(
                        "StringLike",
                        object([("aws:userid", Expr::from("${aws:username}:*"))]),
                    )]),
                ),
                ("Version", Expr::from("2012-10-17")),
            ])],
        ),
    );
    m.local(
        "check",
        bin(
            Op::And,
            bin(
                Op::And,
                bin(Op::Ne, var("who"), Expr::Null),
                bin(Op::Gt, Expr::Int(2), Expr::Int(1)),
            ),
            bin(
                Op::Or,
                local("user"),
                Expr::Not(Box::new(local("directive"))),
            ),
        ),
    );
    m.output("user", "The literal ${aws:username}.", local("user"));
    m
}

#[test]
fn literal_interpolation_markers_round_trip() {
    let m = small_module();
    let files = view::module(&m);
    let main = &files["main.tf"];
    assert!(
        main.contains(
            r#"  user = "$${aws:username}"
"#
        ),
        "{main}"
    );
    assert!(main.contains(r#""%%{ if true }x%%{ endif }\\n""#), "{main}");
    assert!(
        main.contains(r#""arn:$${aws:username}/%%{x}/${var.who}""#),
        "{main}"
    );
    assert!(
        main.contains(r#""aws:userid" = "$${aws:username}:*""#),
        "{main}"
    );

    // Parsed back, the literals are the model's literals.
    let body = hcl::parse(main).expect("parses");
    let locals = body.blocks().next().expect("locals").body.clone();
    let get = |k: &str| {
        locals
            .attributes()
            .find(|a| a.key.as_str() == k)
            .map(|a| a.expr.clone())
            .expect(k)
    };
    assert_eq!(get("user"), Expression::String("${aws:username}".into()));
    assert_eq!(
        get("directive"),
        Expression::String("%{ if true }x%{ endif }\\n".into())
    );
    let Expression::TemplateExpr(t) = get("mixed") else {
        panic!("a template");
    };
    let TemplateExpr::QuotedString(s) = t.as_ref() else {
        panic!("quoted");
    };
    let t = Template::from_str(s).expect("template");
    assert!(
        matches!(t.elements(), [Element::Literal(l), Element::Interpolation(_)] if l == "arn:${aws:username}/%{x}/"),
        "{t:?}"
    );

    let vars = &files["variables.tf"];
    assert!(vars.contains("type = map(object({"), "{vars}");
    assert!(
        vars.contains(r#""Literal $${var.not_a_ref} and %%{ if x } in a description \"quoted\".""#),
        "{vars}"
    );
    assert_same_meaning(&m);
}

#[test]
fn expressions_render_as_hcl() {
    let t = |e: &Expr| view::flat(&view::expression(e));
    assert_eq!(t(&Expr::from("${aws:username}")), r#""$${aws:username}""#);
    assert_eq!(
        t(&tpl(vec![lit("a\"${b}-"), interp(var("s"))])),
        r#""a\"$${b}-${var.s}""#
    );
    let e = bin(
        Op::And,
        bin(
            Op::And,
            bin(Op::Le, call("length", vec![var("s")]), Expr::Int(20)),
            Expr::Not(Box::new(call("startswith", vec![var("s"), "-".into()]))),
        ),
        Expr::Not(Box::new(bin(Op::Eq, var("a"), Expr::Null))),
    );
    assert_eq!(
        t(&e),
        r#"(length(var.s) <= 20) && !startswith(var.s, "-") && !(var.a == null)"#
    );
    let c = Expr::Cond(
        Box::new(bin(Op::Ne, local("x"), Expr::Null)),
        Box::new(Expr::Int(1)),
        Box::new(Expr::Int(0)),
    );
    assert_eq!(t(&c), "local.x != null ? 1 : 0");
    let f = Expr::ForList {
        var: "s".into(),
        coll: Box::new(var("subnets")),
        body: Box::new(
            drgen::model::Ref::new(drgen::model::Root::Iter("s".into()))
                .attr("id")
                .expr(),
        ),
    };
    assert_eq!(t(&f), "[for s in var.subnets : s.id]");
}

#[test]
fn objects_break_and_align_like_terraform_fmt() {
    let e = view::expression(&call(
        "merge",
        vec![
            var("tags"),
            object([("Name", Expr::from("x")), ("aws:role", Expr::from("y"))]),
        ],
    ));
    let b = hcl::Body(vec![hcl::Attribute::new("tags", e).into()]);
    assert_eq!(
        view::body_text(&b),
        "tags = merge(var.tags, {\n  Name       = \"x\"\n  \"aws:role\" = \"y\"\n})\n"
    );
}

#[test]
fn meta_arguments_are_bare() {
    let p = project();
    let dr = p
        .roots
        .iter()
        .find(|m| m.dir == "envs/prod/dr")
        .expect("prod dr root");
    let main = &view::module(dr)["main.tf"];
    assert!(main.contains("    aws.primary = aws.primary\n"), "{main}");
    assert!(
        main.contains("data.terraform_remote_state.primary.outputs.rds_global_cluster_id"),
        "{main}"
    );
    assert!(main.contains("module \"dr\" {"), "{main}");
    assert!(main.contains("backend = \"s3\""), "{main}");
    let global = p
        .modules
        .iter()
        .find(|m| m.dir == "modules/global")
        .expect("global module");
    let files = view::module(global);
    assert!(files["main.tf"].contains("provider = aws.dr"), "provider");
    assert!(files["versions.tf"].contains("configuration_aliases = [aws.dr]"));
    assert!(
        files["variables.tf"].contains("type = object({"),
        "types are bare"
    );
    assert!(
        !files["variables.tf"].contains("type = \""),
        "types are not strings"
    );
}
