//! The tagging policy: every resource whose type has a `tags` attribute in
//! the provider schema carries the mandatory tags plus `Name`, as literal
//! key/values in its own `tags` map. `default_tags` is never used for them
//! (pitfall 35: the same keys in both cause perpetual diffs).

use std::collections::BTreeMap;

use crate::model::expr::Expr;

/// The mandatory tags, as the mission states them.
pub const MANDATORY: [(&str, &str); 3] = [
    ("Environment", "DR"),
    ("CostCenter", "Operations"),
    ("Criticality", "High"),
];

/// The `tags` map for a resource with this name.
pub fn tags(name: Expr) -> Expr {
    let mut m: BTreeMap<String, Expr> = MANDATORY
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Expr::Str((*v).to_owned())))
        .collect();
    m.insert("Name".to_owned(), name);
    Expr::Object(m)
}

/// What is wrong with a resource's tags, if anything.
pub fn problems(tags: Option<&Expr>) -> Vec<String> {
    let Some(tags) = tags else {
        return vec!["taggable resource has no tags".to_owned()];
    };
    let Some(map) = tags.as_object() else {
        return vec!["tags must be a literal map so the values are known at plan time".to_owned()];
    };
    let mut out = Vec::new();
    for (k, v) in MANDATORY {
        match map.get(k).and_then(Expr::as_str) {
            Some(actual) if actual == v => {}
            Some(actual) => out.push(format!("tag {k} is {actual:?}, must be {v:?}")),
            None => out.push(format!("missing tag {k}={v}")),
        }
    }
    if !map.contains_key("Name") {
        out.push("missing tag Name".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_have_mandatory_keys_and_name() {
        let t = tags(Expr::from("vpc-dev"));
        assert!(problems(Some(&t)).is_empty());
        let m = t.as_object().unwrap();
        assert_eq!(m["Environment"], Expr::from("DR"));
        assert_eq!(m["CostCenter"], Expr::from("Operations"));
        assert_eq!(m["Criticality"], Expr::from("High"));
        assert_eq!(m["Name"], Expr::from("vpc-dev"));
    }

    #[test]
    fn broken_tags_are_caught() {
        assert_eq!(problems(None), ["taggable resource has no tags"]);
        let mut t = tags(Expr::from("x"));
        if let Expr::Object(m) = &mut t {
            m.insert("Criticality".into(), Expr::from("Low"));
            m.remove("CostCenter");
            m.remove("Name");
        }
        assert_eq!(
            problems(Some(&t)),
            [
                "missing tag CostCenter=Operations",
                "tag Criticality is \"Low\", must be \"High\"",
                "missing tag Name"
            ]
        );
        assert_eq!(
            problems(Some(&crate::model::expr::var("tags"))),
            ["tags must be a literal map so the values are known at plan time"]
        );
    }
}
