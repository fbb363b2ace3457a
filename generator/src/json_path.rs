//! A small walker over `serde_json` values, shared by `posture` (the
//! generated Terraform JSON) and `review` (planned values of a plan).

use serde_json::Value;

/// One step down: an object member, or an array element when `step` is a
/// decimal index.
pub fn child<'a>(v: &'a Value, step: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(step),
        Value::Array(a) => step.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

/// The value at `path` (see [`child`]).
pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, step| child(cur, step))
}

/// A number, or a string holding one.
pub fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(|x| {
        x.as_f64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    })
}

/// A block that may be an object or an array of objects: the first one.
pub fn first(v: Option<&Value>) -> Option<&Value> {
    match v {
        Some(Value::Array(a)) => a.first(),
        other => other,
    }
}

/// A block that may be an object or an array of objects: all of them
/// (nothing for other values).
pub fn blocks(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(o @ Value::Object(_)) => vec![o],
        _ => vec![],
    }
}

/// A value that may be a list or a single element: its elements.
pub fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None => vec![],
        Some(Value::Array(a)) => a.iter().collect(),
        Some(x) => vec![x],
    }
}

/// The resources of a type in a Terraform JSON file: (name, body).
pub fn resources<'a>(file: Option<&'a Value>, rtype: &str) -> Vec<(&'a String, &'a Value)> {
    file.and_then(|f| get(f, &["resource", rtype]))
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_path_walks_objects_and_arrays() {
        let v = json!({"a": [{"b": "2"}, {"b": 3}], "resource": {"t": {"x": {}, "y": {}}}});
        assert_eq!(get(&v, &["a", "1", "b"]), Some(&json!(3)));
        assert_eq!(num(get(&v, &["a", "0", "b"])), Some(2.0));
        assert_eq!(get(&v, &["a", "b"]), None);
        assert_eq!(first(v.get("a")), Some(&json!({"b": "2"})));
        assert_eq!(blocks(v.get("a")).len(), 2);
        assert!(blocks(Some(&json!(null))).is_empty());
        assert_eq!(list(Some(&json!(null))), vec![&json!(null)]);
        let names: Vec<&String> = resources(Some(&v), "t")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["x", "y"]);
        assert!(resources(Some(&v), "u").is_empty());
    }
}
