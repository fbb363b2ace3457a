//! Typed Terraform expressions.
//!
//! Expressions are values, never hand-concatenated strings. The JSON emitter
//! turns them into Terraform JSON syntax (`"${...}"` interpolations with
//! literal `${` / `%{` escaped); the same tree can render HCL expression text.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// One step after the root of a reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// `.name`
    Attr(String),
    /// `[0]`
    Index(u32),
    /// `[*]`
    Splat,
}

/// The root object a reference starts from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Root {
    Var(String),
    Local(String),
    /// A managed resource: `TYPE.NAME`.
    Resource(String, String),
    /// `data.TYPE.NAME`
    Data(String, String),
    /// `ephemeral.TYPE.NAME`
    Ephemeral(String, String),
    /// `module.NAME`
    Module(String),
    /// `path.module`, `path.root`
    Path(&'static str),
    /// `count.index` and the like.
    Count,
    /// A for-expression's iteration variable.
    Iter(String),
}

/// A traversal: a root plus steps, e.g. `aws_subnet.private[*].id`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ref {
    pub root: Root,
    pub steps: Vec<Step>,
}

impl Ref {
    pub fn new(root: Root) -> Self {
        Self {
            root,
            steps: Vec::new(),
        }
    }

    /// `.name`
    #[must_use]
    pub fn attr(mut self, name: &str) -> Self {
        self.steps.push(Step::Attr(name.to_owned()));
        self
    }

    /// `[i]`
    #[must_use]
    pub fn index(mut self, i: u32) -> Self {
        self.steps.push(Step::Index(i));
        self
    }

    /// `[*]`
    #[must_use]
    pub fn splat(mut self) -> Self {
        self.steps.push(Step::Splat);
        self
    }

    pub fn expr(self) -> Expr {
        Expr::Ref(self)
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            Root::Var(n) => write!(f, "var.{n}")?,
            Root::Local(n) => write!(f, "local.{n}")?,
            Root::Resource(t, n) => write!(f, "{t}.{n}")?,
            Root::Data(t, n) => write!(f, "data.{t}.{n}")?,
            Root::Ephemeral(t, n) => write!(f, "ephemeral.{t}.{n}")?,
            Root::Module(n) => write!(f, "module.{n}")?,
            Root::Path(p) => write!(f, "path.{p}")?,
            Root::Count => f.write_str("count")?,
            Root::Iter(n) => f.write_str(n)?,
        }
        for s in &self.steps {
            match s {
                Step::Attr(a) => write!(f, ".{a}")?,
                Step::Index(i) => write!(f, "[{i}]")?,
                Step::Splat => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

/// Binary operators used in conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Add,
    Sub,
    Mul,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::And => "&&",
            Op::Or => "||",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
        }
    }
}

/// A piece of a string template.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Part {
    Lit(String),
    Interp(Expr),
}

/// A Terraform expression.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A literal string. `${` and `%{` inside it are escaped on output.
    Str(String),
    Ref(Ref),
    Call(String, Vec<Expr>),
    /// A string template: literal pieces and interpolations.
    Template(Vec<Part>),
    List(Vec<Expr>),
    /// An object with literal keys.
    Object(BTreeMap<String, Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `[for VAR in COLL : BODY]`
    ForList {
        var: String,
        coll: Box<Expr>,
        body: Box<Expr>,
    },
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Expr::Str(s.to_owned())
    }
}
impl From<String> for Expr {
    fn from(s: String) -> Self {
        Expr::Str(s)
    }
}
impl From<bool> for Expr {
    fn from(b: bool) -> Self {
        Expr::Bool(b)
    }
}
impl From<i64> for Expr {
    fn from(n: i64) -> Self {
        Expr::Int(n)
    }
}
impl From<u32> for Expr {
    fn from(n: u32) -> Self {
        Expr::Int(i64::from(n))
    }
}
impl From<Ref> for Expr {
    fn from(r: Ref) -> Self {
        Expr::Ref(r)
    }
}

/// `var.NAME`
pub fn var(name: &str) -> Expr {
    Ref::new(Root::Var(name.to_owned())).expr()
}
/// `local.NAME`
pub fn local(name: &str) -> Expr {
    Ref::new(Root::Local(name.to_owned())).expr()
}
/// `TYPE.NAME.ATTR`
pub fn res(rtype: &str, name: &str, attr: &str) -> Expr {
    Ref::new(Root::Resource(rtype.to_owned(), name.to_owned()))
        .attr(attr)
        .expr()
}
/// `data.TYPE.NAME.ATTR`
pub fn data(rtype: &str, name: &str, attr: &str) -> Expr {
    Ref::new(Root::Data(rtype.to_owned(), name.to_owned()))
        .attr(attr)
        .expr()
}
/// `module.NAME.OUTPUT`
pub fn module_out(name: &str, output: &str) -> Expr {
    Ref::new(Root::Module(name.to_owned())).attr(output).expr()
}
/// A function call.
pub fn call(func: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(func.to_owned(), args)
}
/// A string template from parts.
pub fn tpl(parts: Vec<Part>) -> Expr {
    Expr::Template(parts).simplify()
}
/// A literal template piece.
pub fn lit(s: &str) -> Part {
    Part::Lit(s.to_owned())
}
/// An interpolated template piece.
pub fn interp(e: Expr) -> Part {
    Part::Interp(e)
}
/// A list expression.
pub fn list<I: IntoIterator<Item = Expr>>(items: I) -> Expr {
    Expr::List(items.into_iter().collect())
}
/// An object expression with literal keys.
pub fn object<K: Into<String>, I: IntoIterator<Item = (K, Expr)>>(items: I) -> Expr {
    Expr::Object(items.into_iter().map(|(k, v)| (k.into(), v)).collect())
}
/// A binary operation.
pub fn bin(op: Op, l: Expr, r: Expr) -> Expr {
    Expr::Binary(op, Box::new(l), Box::new(r))
}
/// All conditions joined by `&&`.
pub fn all(conds: Vec<Expr>) -> Expr {
    let mut it = conds.into_iter();
    let first = it.next().unwrap_or(Expr::Bool(true));
    it.fold(first, |acc, c| bin(Op::And, acc, c))
}

impl Expr {
    /// The literal string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Expr::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The literal bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Expr::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// The literal integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Expr::Int(n) => Some(*n),
            _ => None,
        }
    }
    /// The list items, if this is a list.
    pub fn as_list(&self) -> Option<&[Expr]> {
        match self {
            Expr::List(v) => Some(v),
            _ => None,
        }
    }
    /// The object entries, if this is an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Expr>> {
        match self {
            Expr::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Merges adjacent literal parts of a template, and turns a template
    /// that is one literal into a string, or one interpolation into itself.
    #[must_use]
    pub fn simplify(self) -> Expr {
        let Expr::Template(parts) = self else {
            return self;
        };
        let mut out: Vec<Part> = Vec::new();
        for p in parts {
            match (out.last_mut(), p) {
                (_, Part::Lit(s)) if s.is_empty() => {}
                (Some(Part::Lit(prev)), Part::Lit(s)) => prev.push_str(&s),
                (_, p) => out.push(p),
            }
        }
        match out.as_slice() {
            [] => Expr::Str(String::new()),
            [Part::Lit(s)] => Expr::Str(s.clone()),
            _ => Expr::Template(out),
        }
    }

    /// Every reference inside this expression, in order.
    pub fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Ref>) {
        match self {
            Expr::Ref(r) => out.push(r),
            Expr::Call(_, args) | Expr::List(args) => {
                args.iter().for_each(|a| a.collect_refs(out));
            }
            Expr::Template(parts) => {
                for p in parts {
                    if let Part::Interp(e) = p {
                        e.collect_refs(out);
                    }
                }
            }
            Expr::Object(m) => m.values().for_each(|v| v.collect_refs(out)),
            Expr::Binary(_, l, r) => {
                l.collect_refs(out);
                r.collect_refs(out);
            }
            Expr::Not(e) => e.collect_refs(out),
            Expr::Cond(c, t, f) => {
                c.collect_refs(out);
                t.collect_refs(out);
                f.collect_refs(out);
            }
            Expr::ForList { coll, body, .. } => {
                coll.collect_refs(out);
                body.collect_refs(out);
            }
            Expr::Null | Expr::Bool(_) | Expr::Int(_) | Expr::Float(_) | Expr::Str(_) => {}
        }
    }

    /// HCL expression syntax, as used inside `${ }` and in `.tf` files.
    pub fn to_hcl(&self) -> String {
        let mut s = String::new();
        self.write_hcl(&mut s);
        s
    }

    fn write_hcl(&self, out: &mut String) {
        match self {
            Expr::Null => out.push_str("null"),
            Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Expr::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Expr::Float(x) => {
                let _ = write!(out, "{x}");
            }
            Expr::Str(s) => {
                out.push('"');
                out.push_str(&escape_hcl_quoted(s));
                out.push('"');
            }
            Expr::Ref(r) => {
                let _ = write!(out, "{r}");
            }
            Expr::Call(f, args) => {
                out.push_str(f);
                out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    a.write_hcl(out);
                }
                out.push(')');
            }
            Expr::Template(parts) => {
                out.push('"');
                for p in parts {
                    match p {
                        Part::Lit(s) => out.push_str(&escape_hcl_quoted(s)),
                        Part::Interp(e) => {
                            out.push_str("${");
                            e.write_hcl(out);
                            out.push('}');
                        }
                    }
                }
                out.push('"');
            }
            Expr::List(items) => {
                out.push('[');
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    a.write_hcl(out);
                }
                out.push(']');
            }
            Expr::Object(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('"');
                    out.push_str(&escape_hcl_quoted(k));
                    out.push_str("\" = ");
                    v.write_hcl(out);
                }
                out.push('}');
            }
            Expr::Binary(op, l, r) => {
                out.push('(');
                l.write_hcl(out);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                r.write_hcl(out);
                out.push(')');
            }
            Expr::Not(e) => {
                out.push_str("!(");
                e.write_hcl(out);
                out.push(')');
            }
            Expr::Cond(c, t, f) => {
                out.push('(');
                c.write_hcl(out);
                out.push_str(" ? ");
                t.write_hcl(out);
                out.push_str(" : ");
                f.write_hcl(out);
                out.push(')');
            }
            Expr::ForList { var, coll, body } => {
                let _ = write!(out, "[for {var} in ");
                coll.write_hcl(out);
                out.push_str(" : ");
                body.write_hcl(out);
                out.push(']');
            }
        }
    }
}

/// Escapes a literal for a Terraform template: `${` -> `$${`, `%{` -> `%%{`.
pub fn escape_template_literal(s: &str) -> String {
    s.replace("${", "$${").replace("%{", "%%{")
}

/// Escapes a literal for a quoted HCL string inside an expression.
fn escape_hcl_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    escape_template_literal(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_interpolation_markers_are_escaped() {
        assert_eq!(
            escape_template_literal("${aws:username}"),
            "$${aws:username}"
        );
        assert_eq!(escape_template_literal("%{ if x }"), "%%{ if x }");
        assert_eq!(Expr::from("a\"${b}").to_hcl(), "\"a\\\"$${b}\"");
    }

    #[test]
    fn references_render_as_traversals() {
        let r = Ref::new(Root::Resource("aws_subnet".into(), "private".into()))
            .splat()
            .attr("id");
        assert_eq!(r.to_string(), "aws_subnet.private[*].id");
        assert_eq!(
            Ref::new(Root::Data("aws_availability_zones".into(), "a".into()))
                .attr("names")
                .index(2)
                .to_string(),
            "data.aws_availability_zones.a.names[2]"
        );
    }

    #[test]
    fn templates_simplify() {
        assert_eq!(tpl(vec![lit("a"), lit("b")]), Expr::Str("ab".into()));
        assert_eq!(tpl(vec![interp(var("x"))]).to_hcl(), "\"${var.x}\"");
        assert_eq!(tpl(vec![]), Expr::Str(String::new()));
    }

    #[test]
    fn refs_are_collected_everywhere() {
        let e = call(
            "jsonencode",
            vec![object([(
                "a",
                list([var("x"), tpl(vec![lit("p-"), interp(local("y"))])]),
            )])],
        );
        let names: Vec<String> = e.refs().iter().map(|r| r.to_string()).collect();
        assert_eq!(names, ["var.x", "local.y"]);
    }

    #[test]
    fn conditions_render() {
        let c = all(vec![
            bin(Op::Le, call("length", vec![var("s")]), Expr::Int(20)),
            Expr::Not(Box::new(call("startswith", vec![var("s"), "-".into()]))),
        ]);
        assert_eq!(
            c.to_hcl(),
            "((length(var.s) <= 20) && !(startswith(var.s, \"-\")))"
        );
    }
}
