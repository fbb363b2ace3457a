//! Value types (cty types as they appear in provider schemas and in
//! variable `type` constraints) and a coarse literal type check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use hcl::expr::{Expression, ObjectKey};
use serde_json::Value;

use super::expr::{is_literal_string, parse_bare_expr};

/// A Terraform value type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrType {
    /// `string`
    String,
    /// `number`
    Number,
    /// `bool`
    Bool,
    /// `dynamic` in schemas, `any` in type constraints.
    Dynamic,
    /// `list(T)`
    List(Box<AttrType>),
    /// `set(T)`
    Set(Box<AttrType>),
    /// `map(T)`
    Map(Box<AttrType>),
    /// `object({...})`, with the names of optional attributes.
    Object(BTreeMap<String, AttrType>, BTreeSet<String>),
    /// `tuple([...])`
    Tuple(Vec<AttrType>),
}

impl fmt::Display for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrType::String => f.write_str("string"),
            AttrType::Number => f.write_str("number"),
            AttrType::Bool => f.write_str("bool"),
            AttrType::Dynamic => f.write_str("any"),
            AttrType::List(t) => write!(f, "list({t})"),
            AttrType::Set(t) => write!(f, "set({t})"),
            AttrType::Map(t) => write!(f, "map({t})"),
            AttrType::Object(..) => f.write_str("object"),
            AttrType::Tuple(..) => f.write_str("tuple"),
        }
    }
}

impl AttrType {
    /// Parse the JSON form of a cty type used in provider schemas:
    /// `"string"`, `["list", T]`, `["object", {..}]`, `["object", {..}, [optional..]]`, ...
    pub fn from_cty_json(v: &Value) -> Option<AttrType> {
        match v {
            Value::String(s) => match s.as_str() {
                "string" => Some(AttrType::String),
                "number" => Some(AttrType::Number),
                "bool" => Some(AttrType::Bool),
                "dynamic" => Some(AttrType::Dynamic),
                _ => None,
            },
            Value::Array(a) => {
                let kind = a.first()?.as_str()?;
                match (kind, a.len()) {
                    ("list", 2) => Some(AttrType::List(Box::new(Self::from_cty_json(&a[1])?))),
                    ("set", 2) => Some(AttrType::Set(Box::new(Self::from_cty_json(&a[1])?))),
                    ("map", 2) => Some(AttrType::Map(Box::new(Self::from_cty_json(&a[1])?))),
                    ("object", 2 | 3) => {
                        let mut attrs = BTreeMap::new();
                        for (k, t) in a[1].as_object()? {
                            attrs.insert(k.clone(), Self::from_cty_json(t)?);
                        }
                        let mut optional = BTreeSet::new();
                        if let Some(opt) = a.get(2) {
                            for o in opt.as_array()? {
                                optional.insert(o.as_str()?.to_string());
                            }
                        }
                        Some(AttrType::Object(attrs, optional))
                    }
                    ("tuple", 2) => a[1]
                        .as_array()?
                        .iter()
                        .map(Self::from_cty_json)
                        .collect::<Option<Vec<_>>>()
                        .map(AttrType::Tuple),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Parse a variable `type` constraint written as a bare type expression
    /// (`string`, `list(object({a = string, b = optional(number, 1)}))`).
    pub fn from_type_constraint(text: &str) -> Result<AttrType, String> {
        if text.contains("${") {
            return Err("must be a bare type expression, not a \"${...}\" template".into());
        }
        let expr = parse_bare_expr(text)?;
        type_from_expr(&expr, false).map(|(t, _)| t)
    }
}

/// Returns the type and whether it was wrapped in `optional(...)`.
fn type_from_expr(e: &Expression, in_object: bool) -> Result<(AttrType, bool), String> {
    match e {
        Expression::Variable(v) => match v.as_str() {
            "string" => Ok((AttrType::String, false)),
            "number" => Ok((AttrType::Number, false)),
            "bool" => Ok((AttrType::Bool, false)),
            "any" => Ok((AttrType::Dynamic, false)),
            other => Err(format!("unknown type keyword `{other}`")),
        },
        Expression::Parenthesis(inner) => type_from_expr(inner, in_object),
        Expression::FuncCall(call) if call.name.namespace.is_empty() => {
            let name = call.name.name.as_str();
            let one = |args: &[Expression]| -> Result<AttrType, String> {
                match args {
                    [a] => type_from_expr(a, false).map(|(t, _)| t),
                    _ => Err(format!("`{name}(...)` takes exactly one type argument")),
                }
            };
            match name {
                "list" => Ok((AttrType::List(Box::new(one(&call.args)?)), false)),
                "set" => Ok((AttrType::Set(Box::new(one(&call.args)?)), false)),
                "map" => Ok((AttrType::Map(Box::new(one(&call.args)?)), false)),
                "optional" if in_object => match call.args.as_slice() {
                    [t] | [t, _] => type_from_expr(t, false).map(|(t, _)| (t, true)),
                    _ => Err("`optional(...)` takes a type and an optional default".into()),
                },
                "optional" => Err("`optional(...)` is only allowed for object attributes".into()),
                "object" => match call.args.as_slice() {
                    [Expression::Object(obj)] => {
                        let mut attrs = BTreeMap::new();
                        let mut optional = BTreeSet::new();
                        for (k, v) in obj.iter() {
                            let key = match k {
                                ObjectKey::Identifier(i) => i.to_string(),
                                ObjectKey::Expression(Expression::String(s)) => s.clone(),
                                _ => {
                                    return Err("object type attribute names must be literal".into())
                                }
                            };
                            let (t, opt) = type_from_expr(v, true)?;
                            if opt {
                                optional.insert(key.clone());
                            }
                            attrs.insert(key, t);
                        }
                        Ok((AttrType::Object(attrs, optional), false))
                    }
                    _ => Err("`object(...)` takes one `{name = type, ...}` argument".into()),
                },
                "tuple" => match call.args.as_slice() {
                    [Expression::Array(items)] => items
                        .iter()
                        .map(|i| type_from_expr(i, false).map(|(t, _)| t))
                        .collect::<Result<Vec<_>, _>>()
                        .map(|ts| (AttrType::Tuple(ts), false)),
                    _ => Err("`tuple(...)` takes one `[type, ...]` argument".into()),
                },
                other => Err(format!("unknown type constructor `{other}(...)`")),
            }
        }
        _ => Err("not a type expression".into()),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_number_text(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = digits(int)
        && frac.is_none_or(digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exp_ok
}

/// Coarse check of a JSON literal against a type. Strings holding a template
/// interpolation are not checked (their type is only known at plan time).
/// Problems are appended to `errs` as `(path, message)`.
pub fn check_literal(v: &Value, ty: &AttrType, path: &str, errs: &mut Vec<(String, String)>) {
    let mismatch = |errs: &mut Vec<(String, String)>| {
        errs.push((
            path.to_string(),
            format!("expected {ty}, got {}", json_kind(v)),
        ));
    };
    if let Value::String(s) = v {
        if !is_literal_string(s) {
            return;
        }
    }
    match (ty, v) {
        (AttrType::Dynamic, _) | (_, Value::Null) => {}
        (AttrType::String, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {}
        (AttrType::Number, Value::Number(_)) => {}
        (AttrType::Number, Value::String(s)) => {
            if !is_number_text(s) {
                errs.push((
                    path.to_string(),
                    format!("expected number, got string {s:?}"),
                ));
            }
        }
        (AttrType::Bool, Value::Bool(_)) => {}
        (AttrType::Bool, Value::String(s)) => {
            if s != "true" && s != "false" {
                errs.push((path.to_string(), format!("expected bool, got string {s:?}")));
            }
        }
        (AttrType::List(e) | AttrType::Set(e), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_literal(item, e, &format!("{path}[{i}]"), errs);
            }
        }
        (AttrType::Tuple(ts), Value::Array(items)) => {
            if ts.len() != items.len() {
                errs.push((
                    path.to_string(),
                    format!(
                        "expected a tuple of {} elements, got {}",
                        ts.len(),
                        items.len()
                    ),
                ));
            } else {
                for (i, (item, t)) in items.iter().zip(ts).enumerate() {
                    check_literal(item, t, &format!("{path}[{i}]"), errs);
                }
            }
        }
        (AttrType::Map(e), Value::Object(m)) => {
            for (k, item) in m {
                check_literal(item, e, &format!("{path}.{k}"), errs);
            }
        }
        (AttrType::Object(attrs, optional), Value::Object(m)) => {
            // Keys that are templates make the key set unknown.
            let literal_keys = m.keys().all(|k| is_literal_string(k));
            if literal_keys {
                for name in attrs.keys() {
                    if !optional.contains(name) && !m.contains_key(name) {
                        errs.push((
                            path.to_string(),
                            format!("object is missing attribute `{name}`"),
                        ));
                    }
                }
            }
            for (k, item) in m {
                match attrs.get(k) {
                    Some(t) => check_literal(item, t, &format!("{path}.{k}"), errs),
                    None if literal_keys => errs.push((
                        path.to_string(),
                        format!(
                            "object has attribute `{k}` that the type does not declare \
                             (expected one of: {})",
                            attrs.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )),
                    None => {}
                }
            }
        }
        _ => mismatch(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errs(v: Value, t: &AttrType) -> Vec<(String, String)> {
        let mut e = Vec::new();
        check_literal(&v, t, "x", &mut e);
        e
    }

    #[test]
    fn tfcheck_cty_json_types() {
        let t = AttrType::from_cty_json(&json!(["list", ["object", {"a": "string"}, ["a"]]]));
        let mut opt = BTreeSet::new();
        opt.insert("a".to_string());
        let mut attrs = BTreeMap::new();
        attrs.insert("a".to_string(), AttrType::String);
        assert_eq!(
            t,
            Some(AttrType::List(Box::new(AttrType::Object(attrs, opt))))
        );
        assert_eq!(AttrType::from_cty_json(&json!(["list"])), None);
        assert_eq!(AttrType::from_cty_json(&json!("strin")), None);
        assert_eq!(
            AttrType::from_cty_json(&json!(["tuple", ["string", "bool"]])),
            Some(AttrType::Tuple(vec![AttrType::String, AttrType::Bool]))
        );
    }

    #[test]
    fn tfcheck_type_constraints() {
        assert_eq!(
            AttrType::from_type_constraint("list(string)"),
            Ok(AttrType::List(Box::new(AttrType::String)))
        );
        let t = AttrType::from_type_constraint(
            "object({name = string, size = optional(number, 3), tags = map(string)})",
        )
        .expect("parses");
        let AttrType::Object(attrs, opt) = t else {
            panic!("not an object")
        };
        assert_eq!(attrs.len(), 3);
        assert!(opt.contains("size") && !opt.contains("name"));
        assert!(AttrType::from_type_constraint("${string}").is_err());
        assert!(AttrType::from_type_constraint("lists(string)").is_err());
        assert!(AttrType::from_type_constraint("strng").is_err());
        assert!(AttrType::from_type_constraint("optional(string)").is_err());
        assert!(AttrType::from_type_constraint("list(string").is_err());
    }

    #[test]
    fn tfcheck_literal_checks() {
        assert!(errs(json!("5"), &AttrType::Number).is_empty());
        assert!(errs(json!("1.5e3"), &AttrType::Number).is_empty());
        assert_eq!(errs(json!("five"), &AttrType::Number).len(), 1);
        assert_eq!(errs(json!("inf"), &AttrType::Number).len(), 1);
        assert!(errs(json!("true"), &AttrType::Bool).is_empty());
        assert_eq!(errs(json!("yes"), &AttrType::Bool).len(), 1);
        assert_eq!(errs(json!(1), &AttrType::Bool).len(), 1);
        assert!(errs(json!(1), &AttrType::String).is_empty());
        assert!(errs(json!("${var.x}"), &AttrType::Number).is_empty());
        assert!(errs(json!("$${literal}"), &AttrType::String).is_empty());
        assert_eq!(
            errs(json!("a"), &AttrType::List(Box::new(AttrType::String))).len(),
            1
        );
        assert_eq!(
            errs(
                json!(["a", {}]),
                &AttrType::List(Box::new(AttrType::String))
            )[0]
            .0,
            "x[1]"
        );
        assert_eq!(
            errs(json!({"a": "b"}), &AttrType::String)[0].1,
            "expected string, got an object"
        );
        let obj = AttrType::from_type_constraint("object({a = string, b = optional(bool)})")
            .expect("parses");
        assert!(errs(json!({"a": "x"}), &obj).is_empty());
        assert_eq!(errs(json!({"b": true}), &obj).len(), 1);
        assert_eq!(errs(json!({"a": "x", "c": 1}), &obj).len(), 1);
        assert!(errs(json!({"${var.k}": 1}), &obj).is_empty());
        assert!(errs(json!(null), &obj).is_empty());
    }
}
