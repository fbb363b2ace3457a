//! Parsing Terraform JSON strings as HCL templates and collecting the
//! references they make.

use std::str::FromStr;

use hcl::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::template::{Directive, Element, Template};

/// Terraform's built-in functions (Terraform 1.10–1.14).
const BUILTIN_FUNCTIONS: &[&str] = &[
    "abs",
    "abspath",
    "alltrue",
    "anytrue",
    "base64decode",
    "base64encode",
    "base64gzip",
    "base64sha256",
    "base64sha512",
    "basename",
    "bcrypt",
    "can",
    "ceil",
    "chomp",
    "chunklist",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "cidrsubnets",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "csvdecode",
    "dirname",
    "distinct",
    "element",
    "endswith",
    "ephemeralasnull",
    "file",
    "filebase64",
    "filebase64sha256",
    "filebase64sha512",
    "fileexists",
    "filemd5",
    "fileset",
    "filesha1",
    "filesha256",
    "filesha512",
    "flatten",
    "floor",
    "format",
    "formatdate",
    "formatlist",
    "indent",
    "index",
    "issensitive",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "log",
    "lookup",
    "lower",
    "matchkeys",
    "max",
    "md5",
    "merge",
    "min",
    "nonsensitive",
    "one",
    "parseint",
    "pathexpand",
    "plantimestamp",
    "pow",
    "range",
    "regex",
    "regexall",
    "replace",
    "reverse",
    "rsadecrypt",
    "sensitive",
    "setintersection",
    "setproduct",
    "setsubtract",
    "setunion",
    "sha1",
    "sha256",
    "sha512",
    "signum",
    "slice",
    "sort",
    "split",
    "startswith",
    "strcontains",
    "strrev",
    "substr",
    "sum",
    "templatefile",
    "templatestring",
    "textdecodebase64",
    "textencodebase64",
    "timeadd",
    "timecmp",
    "timestamp",
    "title",
    "tobool",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "transpose",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "try",
    "type",
    "upper",
    "urlencode",
    "uuid",
    "uuidv5",
    "values",
    "yamldecode",
    "yamlencode",
    "zipmap",
];

/// One step after a reference's root name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.name`
    Attr(String),
    /// `[key]` with a literal string key.
    Key(String),
    /// `[n]` or `[expr]` with a non-string key.
    Index,
    /// `[*]` or `.*`
    Splat,
}

/// Something found while walking an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A reference `root.step.step...` to a name not bound by a `for`.
    Ref {
        /// The root name: `var`, `local`, `module`, `data`, `aws_vpc`, ...
        root: String,
        /// The traversal after the root.
        steps: Vec<Step>,
        /// Inside `ephemeralasnull(...)`, so not ephemeral.
        unephemeral: bool,
    },
    /// A call of a function Terraform does not have.
    UnknownFunction(String),
    /// The string is not a valid template.
    Syntax(String),
}

/// The string is a literal in Terraform JSON: it has no `${...}`
/// interpolation and no `%{...}` directive (escapes `$${` / `%%{` are literal).
pub fn is_literal_string(s: &str) -> bool {
    if !s.contains("${") && !s.contains("%{") {
        return true;
    }
    match Template::from_str(s) {
        Ok(t) => t
            .elements()
            .iter()
            .all(|e| matches!(e, Element::Literal(_))),
        Err(_) => false,
    }
}

fn one_line(e: impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parse a bare expression (as used by `depends_on`, variable `type`, ...).
pub fn parse_bare_expr(text: &str) -> Result<Expression, String> {
    if text.trim().is_empty() {
        return Err("empty expression".into());
    }
    let t = Template::from_str(&format!("${{{text}}}")).map_err(one_line)?;
    match t.elements() {
        [Element::Interpolation(i)] => Ok(i.expr.clone()),
        _ => Err(format!("`{text}` is not a single expression")),
    }
}

/// A bare reference `root.a["b"][0]` parsed from text.
pub fn parse_bare_ref(text: &str) -> Result<(String, Vec<Step>), String> {
    match parse_bare_expr(text)? {
        Expression::Variable(v) => Ok((v.to_string(), Vec::new())),
        Expression::Traversal(t) => match &t.expr {
            Expression::Variable(v) => Ok((v.to_string(), steps_of(&t.operators))),
            _ => Err(format!("`{text}` is not a reference")),
        },
        _ => Err(format!("`{text}` is not a reference")),
    }
}

fn steps_of(ops: &[TraversalOperator]) -> Vec<Step> {
    ops.iter()
        .map(|op| match op {
            TraversalOperator::GetAttr(i) => Step::Attr(i.to_string()),
            TraversalOperator::Index(Expression::String(s)) => Step::Key(s.clone()),
            TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_) => Step::Index,
            TraversalOperator::AttrSplat | TraversalOperator::FullSplat => Step::Splat,
        })
        .collect()
}

/// Collect the references in a Terraform JSON string (a template).
pub fn collect_in_string(s: &str, out: &mut Vec<Item>) {
    if !s.contains("${") && !s.contains("%{") {
        return;
    }
    match Template::from_str(s) {
        Ok(t) => Walker {
            bound: Vec::new(),
            unephemeral: false,
            out,
        }
        .template(&t),
        Err(e) => out.push(Item::Syntax(one_line(e))),
    }
}

struct Walker<'o> {
    bound: Vec<String>,
    unephemeral: bool,
    out: &'o mut Vec<Item>,
}

impl Walker<'_> {
    fn template(&mut self, t: &Template) {
        for el in t.elements() {
            match el {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(Directive::If(d)) => {
                    self.expr(&d.cond_expr);
                    self.template(&d.true_template);
                    if let Some(f) = &d.false_template {
                        self.template(f);
                    }
                }
                Element::Directive(Directive::For(d)) => {
                    self.expr(&d.collection_expr);
                    let n = self.bound.len();
                    self.bound.extend(d.key_var.iter().map(|k| k.to_string()));
                    self.bound.push(d.value_var.to_string());
                    self.template(&d.template);
                    self.bound.truncate(n);
                }
            }
        }
    }

    fn reference(&mut self, root: &str, ops: &[TraversalOperator]) {
        for op in ops {
            if let TraversalOperator::Index(e) = op {
                self.expr(e);
            }
        }
        if self.bound.iter().any(|b| b == root) {
            return;
        }
        self.out.push(Item::Ref {
            root: root.to_string(),
            steps: steps_of(ops),
            unephemeral: self.unephemeral,
        });
    }

    fn expr(&mut self, e: &Expression) {
        match e {
            Expression::Array(items) => items.iter().for_each(|i| self.expr(i)),
            Expression::Object(obj) => {
                for (k, v) in obj.iter() {
                    if let ObjectKey::Expression(k) = k {
                        self.expr(k);
                    }
                    self.expr(v);
                }
            }
            Expression::TemplateExpr(t) => match Template::from_expr(t) {
                Ok(t) => self.template(&t),
                Err(e) => self.out.push(Item::Syntax(one_line(e))),
            },
            Expression::Variable(v) => self.reference(v.as_str(), &[]),
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(v) => self.reference(v.as_str(), &t.operators),
                other => {
                    self.expr(other);
                    for op in &t.operators {
                        if let TraversalOperator::Index(e) = op {
                            self.expr(e);
                        }
                    }
                }
            },
            Expression::FuncCall(call) => {
                let ns: Vec<&str> = call.name.namespace.iter().map(|i| i.as_str()).collect();
                let name = call.name.name.as_str();
                if (ns.is_empty() || ns == ["core"]) && !BUILTIN_FUNCTIONS.contains(&name) {
                    self.out.push(Item::UnknownFunction(name.to_string()));
                }
                let saved = self.unephemeral;
                if name == "ephemeralasnull" {
                    self.unephemeral = true;
                }
                call.args.iter().for_each(|a| self.expr(a));
                self.unephemeral = saved;
            }
            Expression::Parenthesis(inner) => self.expr(inner),
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::Operation(op) => match op.as_ref() {
                hcl::expr::Operation::Unary(u) => self.expr(&u.expr),
                hcl::expr::Operation::Binary(b) => {
                    self.expr(&b.lhs_expr);
                    self.expr(&b.rhs_expr);
                }
            },
            Expression::ForExpr(f) => {
                self.expr(&f.collection_expr);
                let n = self.bound.len();
                self.bound.extend(f.key_var.iter().map(|k| k.to_string()));
                self.bound.push(f.value_var.to_string());
                if let Some(k) = &f.key_expr {
                    self.expr(k);
                }
                self.expr(&f.value_expr);
                if let Some(c) = &f.cond_expr {
                    self.expr(c);
                }
                self.bound.truncate(n);
            }
            // Null, Bool, Number, String and future variants hold no references.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(s: &str) -> Vec<Item> {
        let mut out = Vec::new();
        collect_in_string(s, &mut out);
        out
    }

    fn r(root: &str, steps: &[Step]) -> Item {
        Item::Ref {
            root: root.into(),
            steps: steps.to_vec(),
            unephemeral: false,
        }
    }

    #[test]
    fn tfcheck_expr_collects_references() {
        use Step::*;
        assert_eq!(refs("plain"), vec![]);
        assert_eq!(refs("a $${var.x} b"), vec![]);
        assert_eq!(refs("${var.a}-x"), vec![r("var", &[Attr("a".into())])]);
        assert_eq!(
            refs("${[for k, v in var.m : upper(v) if k != \"x\"]}"),
            vec![r("var", &[Attr("m".into())])]
        );
        assert_eq!(
            refs("${aws_x.y[0].id}"),
            vec![r("aws_x", &[Attr("y".into()), Index, Attr("id".into())])]
        );
        assert_eq!(
            refs("${format(\"%s-${var.b}\", local.c)}"),
            vec![
                r("var", &[Attr("b".into())]),
                r("local", &[Attr("c".into())])
            ]
        );
        assert_eq!(
            refs("${data.terraform_remote_state.p.outputs[\"vpc\"]}"),
            vec![r(
                "data",
                &[
                    Attr("terraform_remote_state".into()),
                    Attr("p".into()),
                    Attr("outputs".into()),
                    Key("vpc".into())
                ]
            )]
        );
        assert_eq!(
            refs("%{ for x in var.l }${x}%{ endfor }"),
            vec![r("var", &[Attr("l".into())])]
        );
        assert_eq!(refs("${foo(1)}"), vec![Item::UnknownFunction("foo".into())]);
        assert_eq!(refs("${provider::aws::arn_parse(\"x\")}"), vec![]);
        assert_eq!(
            refs("${ephemeralasnull(ephemeral.random_password.p.result)}"),
            vec![Item::Ref {
                root: "ephemeral".into(),
                steps: vec![
                    Attr("random_password".into()),
                    Attr("p".into()),
                    Attr("result".into())
                ],
                unephemeral: true
            }]
        );
        assert!(matches!(refs("${var.x").as_slice(), [Item::Syntax(_)]));
    }

    #[test]
    fn tfcheck_expr_bare_refs() {
        assert_eq!(
            parse_bare_ref("aws_rds_cluster_instance.writer"),
            Ok((
                "aws_rds_cluster_instance".to_string(),
                vec![Step::Attr("writer".into())]
            ))
        );
        assert!(parse_bare_ref("1 + 2").is_err());
        assert!(parse_bare_ref("").is_err());
        assert!(is_literal_string("a $${b}"));
        assert!(!is_literal_string("a ${b}"));
    }
}
