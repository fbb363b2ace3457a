//! The three renderings of a review: a table for people, a JSON document
//! for scripts, SARIF 2.1.0 for code-scanning tools.

use serde::Serialize;
use serde_json::{json, Value};

use super::rules::{Finding, Severity, RULES};
use crate::policy::invariants;

/// Output format of `drgen review`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One row per finding, then a summary line.
    #[default]
    Table,
    /// The documented JSON report (`drgen-review` version 1).
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

/// Identifies the JSON report format.
pub const JSON_FORMAT: &str = "drgen-review";
/// Bumped on any incompatible change to the JSON report.
pub const JSON_VERSION: u32 = 1;
/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";
const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The result of reviewing one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The plan file as named on the command line.
    pub plan_file: String,
    pub format_version: String,
    pub terraform_version: Option<String>,
    /// `--env`, when given.
    pub env: Option<String>,
    pub allow_destroy: bool,
    /// Managed resource instances reviewed (including deposed objects).
    pub resources: usize,
    /// Sorted: errors first, then by address, rule and message.
    pub findings: Vec<Finding>,
    /// Rules not run (they need `--env`).
    pub skipped: Vec<&'static str>,
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub resources: usize,
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    file: &'a str,
    format_version: &'a str,
    terraform_version: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format: &'static str,
    version: u32,
    plan: JsonPlan<'a>,
    env: Option<&'a str>,
    allow_destroy: bool,
    passed: bool,
    summary: Summary,
    skipped_rules: &'a [&'static str],
    findings: &'a [Finding],
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Report {
    pub fn summary(&self) -> Summary {
        let n = |s| self.findings.iter().filter(|f| f.severity == s).count();
        Summary {
            resources: self.resources,
            errors: n(Severity::Error),
            warnings: n(Severity::Warning),
            notes: n(Severity::Note),
        }
    }

    /// No violations.
    pub fn passed(&self) -> bool {
        self.summary().errors == 0
    }

    /// 0 when the plan passes, 1 when it has violations.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.passed())
    }

    /// The report in the given format, ending with a newline.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.table(),
            Format::Json => self.json(),
            Format::Sarif => self.sarif(),
        }
    }

    /// One line: `review passed: 0 violations, 2 warnings (...)`.
    pub fn summary_line(&self) -> String {
        let s = self.summary();
        let mut line = format!(
            "review {}: {}, {}, {} ({} in {})",
            if self.passed() { "passed" } else { "failed" },
            plural(s.errors, "violation", "violations"),
            plural(s.warnings, "warning", "warnings"),
            plural(s.notes, "note", "notes"),
            plural(s.resources, "resource", "resources"),
            self.plan_file,
        );
        if !self.skipped.is_empty() {
            line.push_str(&format!(
                "; not checked without --env: {}",
                self.skipped.join(", ")
            ));
        }
        line
    }

    /// Columns SEVERITY, RULE, ADDRESS, MESSAGE, then the summary line.
    pub fn table(&self) -> String {
        let mut out = String::new();
        if !self.findings.is_empty() {
            let head = ["SEVERITY", "RULE", "ADDRESS", "MESSAGE"];
            let rows: Vec<[&str; 4]> = self
                .findings
                .iter()
                .map(|f| [f.severity.as_str(), f.rule, &f.address, &f.message])
                .collect();
            let width = |c: usize| {
                rows.iter()
                    .map(|r| r[c].chars().count())
                    .chain([head[c].len()])
                    .max()
                    .unwrap_or(0)
            };
            let w = [width(0), width(1), width(2)];
            for r in std::iter::once(head).chain(rows) {
                out.push_str(&format!(
                    "{:<w0$}  {:<w1$}  {:<w2$}  {}\n",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    w0 = w[0],
                    w1 = w[1],
                    w2 = w[2]
                ));
            }
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    /// The JSON report:
    ///
    /// ```json
    /// {
    ///   "format": "drgen-review", "version": 1,
    ///   "plan": {"file": "plan.json", "format_version": "1.2", "terraform_version": "1.11.4"},
    ///   "env": "prod", "allow_destroy": false, "passed": false,
    ///   "summary": {"resources": 40, "errors": 1, "warnings": 2, "notes": 0},
    ///   "skipped_rules": [],
    ///   "findings": [{"severity": "error", "rule": "DR-S3-VERSIONING",
    ///                 "address": "module.primary.aws_s3_bucket_versioning.payments",
    ///                 "message": "...", "layer": "primary",
    ///                 "file": "modules/primary/main.tf.json"}]
    /// }
    /// ```
    pub fn json(&self) -> String {
        let doc = JsonReport {
            format: JSON_FORMAT,
            version: JSON_VERSION,
            plan: JsonPlan {
                file: &self.plan_file,
                format_version: &self.format_version,
                terraform_version: self.terraform_version.as_deref(),
            },
            env: self.env.as_deref(),
            allow_destroy: self.allow_destroy,
            passed: self.passed(),
            summary: self.summary(),
            skipped_rules: &self.skipped,
            findings: &self.findings,
        };
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
            // Serializing plain structs of strings and numbers cannot fail.
            format!("{{\"error\": {:?}}}", e.to_string())
        });
        s.push('\n');
        s
    }

    /// SARIF 2.1.0: one run of tool `drgen` with every rule, one result per
    /// finding with the resource address as logical location and, when
    /// known, the generated file as physical location.
    pub fn sarif(&self) -> String {
        let rules: Vec<Value> = RULES
            .iter()
            .map(|r| {
                let pitfall = r
                    .pitfall
                    .and_then(|p| invariants::RULES.iter().find(|(id, _)| *id == p));
                let full = match pitfall {
                    Some((id, text)) => format!("{}. Generator invariant {id}: {text}.", r.summary),
                    None => format!("{}.", r.summary),
                };
                json!({
                    "id": r.id,
                    "name": r.name,
                    "shortDescription": {"text": r.summary},
                    "fullDescription": {"text": full},
                    "defaultConfiguration": {"level": "error"},
                    "properties": {"pitfall": r.pitfall, "needsEnv": r.needs_env},
                })
            })
            .collect();
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let mut loc = json!({
                    "logicalLocations": [{
                        "fullyQualifiedName": f.address,
                        "kind": "resource",
                    }],
                });
                if let Some(file) = &f.file {
                    loc["physicalLocation"] =
                        json!({"artifactLocation": {"uri": file, "uriBaseId": "SRCROOT"}});
                }
                json!({
                    "ruleId": f.rule,
                    "ruleIndex": RULES.iter().position(|r| r.id == f.rule),
                    "level": f.severity.as_str(),
                    "message": {"text": f.message},
                    "locations": [loc],
                    "properties": {"layer": f.layer},
                })
            })
            .collect();
        let notifications: Vec<Value> = self
            .skipped
            .iter()
            .map(|id| {
                json!({
                    "level": "note",
                    "message": {"text": format!("{id} not checked: it needs --env")},
                    "associatedRule": {"id": id, "index": RULES.iter().position(|r| r.id == *id)},
                })
            })
            .collect();
        let doc = json!({
            "$schema": SARIF_SCHEMA,
            "version": SARIF_VERSION,
            "runs": [{
                "tool": {"driver": {
                    "name": "drgen",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "invocations": [{
                    "executionSuccessful": true,
                    "toolExecutionNotifications": notifications,
                }],
                "originalUriBaseIds": {"SRCROOT": {"description": {"text": "the drgen repository root"}}},
                "properties": {
                    "plan": self.plan_file,
                    "env": self.env,
                    "allowDestroy": self.allow_destroy,
                },
                "results": results,
            }],
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    }
}
