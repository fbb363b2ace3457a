//! Terraform type constraints of input variables, as data: the emitters
//! render them to Terraform's type syntax and the docs read them directly.

use std::fmt;

use super::expr::Expr;

/// A Terraform type constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeExpr {
    Any,
    String,
    Number,
    Bool,
    List(Box<TypeExpr>),
    Set(Box<TypeExpr>),
    Map(Box<TypeExpr>),
    /// `object({ name = type, ... })`, fields in the order given.
    Object(Vec<(String, TypeExpr)>),
    /// `optional(type)` or `optional(type, default)`: only inside an object.
    Optional(Box<TypeExpr>, Option<Expr>),
}

impl TypeExpr {
    /// `list(t)`
    pub fn list(t: TypeExpr) -> Self {
        TypeExpr::List(Box::new(t))
    }
    /// `set(t)`
    pub fn set(t: TypeExpr) -> Self {
        TypeExpr::Set(Box::new(t))
    }
    /// `map(t)`
    pub fn map(t: TypeExpr) -> Self {
        TypeExpr::Map(Box::new(t))
    }
    /// `object({ ... })`
    pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, TypeExpr)>) -> Self {
        TypeExpr::Object(fields.into_iter().map(|(k, t)| (k.to_owned(), t)).collect())
    }
    /// `optional(t)`
    pub fn optional(t: TypeExpr) -> Self {
        TypeExpr::Optional(Box::new(t), None)
    }
    /// `optional(t, default)`
    pub fn optional_or(t: TypeExpr, default: Expr) -> Self {
        TypeExpr::Optional(Box::new(t), Some(default))
    }
}

impl fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeExpr::Any => f.write_str("any"),
            TypeExpr::String => f.write_str("string"),
            TypeExpr::Number => f.write_str("number"),
            TypeExpr::Bool => f.write_str("bool"),
            TypeExpr::List(t) => write!(f, "list({t})"),
            TypeExpr::Set(t) => write!(f, "set({t})"),
            TypeExpr::Map(t) => write!(f, "map({t})"),
            TypeExpr::Object(fields) if fields.is_empty() => f.write_str("object({})"),
            TypeExpr::Object(fields) => {
                f.write_str("object({ ")?;
                for (i, (k, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {t}")?;
                }
                f.write_str(" })")
            }
            TypeExpr::Optional(t, None) => write!(f, "optional({t})"),
            TypeExpr::Optional(t, Some(d)) => write!(f, "optional({t}, {})", d.to_hcl()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_terraform_type_syntax() {
        assert_eq!(TypeExpr::String.to_string(), "string");
        assert_eq!(TypeExpr::list(TypeExpr::String).to_string(), "list(string)");
        assert_eq!(TypeExpr::set(TypeExpr::Number).to_string(), "set(number)");
        assert_eq!(
            TypeExpr::object([("primary", TypeExpr::String), ("dr", TypeExpr::String)]).to_string(),
            "object({ primary = string, dr = string })"
        );
        assert_eq!(
            TypeExpr::map(TypeExpr::object([
                ("name", TypeExpr::String),
                ("tags", TypeExpr::optional(TypeExpr::list(TypeExpr::String))),
                ("n", TypeExpr::optional_or(TypeExpr::Number, Expr::Int(3))),
                ("ok", TypeExpr::Bool),
                ("x", TypeExpr::Any),
            ]))
            .to_string(),
            "map(object({ name = string, tags = optional(list(string)), n = optional(number, 3), ok = bool, x = any }))"
        );
        assert_eq!(TypeExpr::object([]).to_string(), "object({})");
    }
}
