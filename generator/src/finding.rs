//! The one finding type the library returns: invariant violations of the
//! model, drift of the tree on disk, schema and reference problems of the
//! generated files, and plan review results all convert into [`Finding`].
//! The binary formats them; [`Finding`]'s `Display` is the line the CLI
//! prints.

use std::fmt;

use serde::Serialize;

use crate::policy::invariants::Violation;
use crate::write::Drift;

/// How bad a finding is. Errors fail the command (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A violation.
    Error,
    /// Cannot be checked (e.g. an unknown value at plan time), or needs a
    /// look (e.g. an unused variable).
    Warning,
    /// Informational, e.g. a destroy let through by `--allow-destroy`.
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// Which check produced a finding (it decides how the finding reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// An invariant of the model (`P<n>`), before anything is written.
    Invariant,
    /// The tree on disk differs from the generator's output.
    Drift,
    /// The generated files against the provider schema and their own
    /// references (`tfcheck`).
    Tree,
    /// A Terraform plan against the generator's policies (`review`).
    Plan,
}

/// Id of drift findings.
pub const DRIFT: &str = "DRIFT";
/// Id of schema and reference findings of the generated tree.
pub const TREE: &str = "TFCHECK";

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Finding {
    /// Which check produced it.
    pub source: Source,
    /// The rule id: `P8` (invariants), `DR-TAGS` (review), [`DRIFT`],
    /// [`TREE`].
    pub id: &'static str,
    pub severity: Severity,
    /// The Terraform address, or for drift the repository-relative path.
    pub address: String,
    /// What is wrong (for drift: `missing`, `differs` or `stale`).
    pub message: String,
    /// The stack: the module directory of an invariant violation (e.g.
    /// `modules/dr`), or the layer of a plan finding (`primary`, `dr`,
    /// `global`) when known.
    pub stack: Option<String>,
    /// The generated file, when known.
    pub file: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let warn = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
            Severity::Note => "note: ",
        };
        match self.source {
            Source::Invariant => write!(
                f,
                "{}: {}: [{}] {}",
                self.stack.as_deref().unwrap_or(""),
                self.address,
                self.id,
                self.message
            ),
            Source::Drift => write!(
                f,
                "{:<9}{} (run drgen generate)",
                format!("{}:", self.message),
                self.address
            ),
            Source::Tree => write!(
                f,
                "{}: {}: {warn}{}",
                self.file.as_deref().unwrap_or(""),
                self.address,
                self.message
            ),
            Source::Plan => write!(
                f,
                "{}: {} [{}] {}",
                self.severity.as_str(),
                self.address,
                self.id,
                self.message
            ),
        }
    }
}

impl From<&Violation> for Finding {
    fn from(v: &Violation) -> Self {
        Finding {
            source: Source::Invariant,
            id: v.rule,
            severity: Severity::Error,
            address: v.address.clone(),
            message: v.message.clone(),
            stack: Some(v.stack.clone()),
            file: None,
        }
    }
}

impl From<&Drift> for Finding {
    fn from(d: &Drift) -> Self {
        let (what, path) = match d {
            Drift::Missing(p) => ("missing", p),
            Drift::Differs(p) => ("differs", p),
            Drift::Stale(p) => ("stale", p),
        };
        Finding {
            source: Source::Drift,
            id: DRIFT,
            severity: Severity::Error,
            address: path.clone(),
            message: what.to_owned(),
            stack: None,
            file: Some(path.clone()),
        }
    }
}

impl From<&crate::tfcheck::Finding> for Finding {
    fn from(t: &crate::tfcheck::Finding) -> Self {
        let (severity, message) = match t.message.strip_prefix("warning: ") {
            Some(m) => (Severity::Warning, m.to_owned()),
            None => (Severity::Error, t.message.clone()),
        };
        Finding {
            source: Source::Tree,
            id: TREE,
            severity,
            address: t.address.clone(),
            message,
            stack: None,
            file: Some(t.file.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_lines_match_the_source_types() {
        let v = Violation {
            stack: "modules/dr".into(),
            address: "aws_s3_bucket.x".into(),
            rule: "P8",
            message: "no versioning".into(),
        };
        assert_eq!(Finding::from(&v).to_string(), v.to_string());
        for d in [
            Drift::Missing("a/b.tf.json".into()),
            Drift::Differs("a/b.tf.json".into()),
            Drift::Stale("a/b.tf.json".into()),
        ] {
            assert_eq!(
                Finding::from(&d).to_string(),
                format!("{d} (run drgen generate)")
            );
        }
        for message in ["`x`: unknown attribute", "warning: variable `v` unused"] {
            let t = crate::tfcheck::Finding {
                file: "modules/dr/main.tf.json".into(),
                address: "var.v".into(),
                message: message.into(),
            };
            assert_eq!(Finding::from(&t).to_string(), t.to_string());
        }
    }
}
