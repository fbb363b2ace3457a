//! Static checks for a generated Terraform JSON tree (`*.tf.json`), using the
//! provider schemas vendored in `schema/providers.json`.
//!
//! [`check_tree`] groups files into module directories (all `*.tf.json` of a
//! directory, merged as Terraform does) and reports:
//!
//! 1. **schema** — resource / data / ephemeral types exist for their
//!    provider; attributes exist, required ones are present, computed-only
//!    ones are not set; nested blocks are objects (or arrays of objects) and
//!    respect `min_items` / `max_items`; blocks and attributes are not
//!    confused; JSON literals coarsely match the attribute type; provider
//!    blocks match the provider schema (`alias` is a meta-argument);
//! 2. **references** — every `${...}` reference (`var.`, `local.`,
//!    `module.M.O`, `data.`, `ephemeral.`, resources and their first
//!    attribute, `data.terraform_remote_state.N.outputs.O` against the root
//!    with the same S3 backend bucket and key, `each` / `count` / `self` in
//!    their contexts, function names), bare `depends_on` / `provider` /
//!    `ignore_changes` / `replace_triggered_by` entries, ephemeral values only
//!    where Terraform accepts them;
//! 3. **module calls** — required variables passed, no unknown arguments,
//!    `configuration_aliases` satisfied, literal argument types;
//! 4. **unused variables** (reported as `warning: ...`).
//!
//! Variable declarations (`type`, literal `default`, `validation`), outputs,
//! `terraform` blocks, `check`, `moved`, `import` and `removed` blocks get
//! lighter structural checks.

mod check;
mod expr;
mod schema;
mod tree;
mod types;

use std::collections::BTreeMap;
use std::fmt;

pub use expr::Step;
pub use schema::{
    provider_of_type, AttributeSchema, BlockSchema, NestedBlockSchema, NestingMode, ProviderSchema,
    SchemaError, Schemas, AWS_VERSIONS, BUILTIN_TERRAFORM,
};
pub use types::AttrType;

/// The references a Terraform JSON string makes, as (root, steps):
/// `"${aws_route53_health_check.primary.id}"` gives
/// `("aws_route53_health_check", [Attr("primary"), Attr("id")])`. Names
/// bound by `for` are not references; a string that does not parse has
/// none.
pub fn references(s: &str) -> Vec<(String, Vec<Step>)> {
    let mut items = Vec::new();
    expr::collect_in_string(s, &mut items);
    items
        .into_iter()
        .filter_map(|i| match i {
            expr::Item::Ref { root, steps, .. } => Some((root, steps)),
            _ => None,
        })
        .collect()
}

/// One problem found in a tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// Repo-relative path of the file (as given to [`check_tree`]).
    pub file: String,
    /// Terraform address: `aws_vpc.this`, `data.aws_region.current`,
    /// `module.primary`, `var.x`, `local.x`, `output.y`, `provider.aws`,
    /// `provider.aws.dr`, `terraform`, `check.x`, ...
    pub address: String,
    /// What is wrong; attribute paths inside the block are quoted first.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.address, self.message)
    }
}

/// Check a tree of Terraform JSON files (repo-relative path with `/`
/// separators → parsed JSON). Paths not ending in `.tf.json` are ignored.
/// Returns the findings sorted and deduplicated.
pub fn check_tree(files: &BTreeMap<String, serde_json::Value>, schemas: &Schemas) -> Vec<Finding> {
    let mut findings = Vec::new();
    let tree = tree::Tree::build(files, &mut findings);
    check::check(&tree, schemas, &mut findings);
    findings.sort();
    findings.dedup();
    findings
}

/// Check a tree against several provider schemas, each with a label such
/// as `aws 5.100.0`. The first schema gets the full check (schema,
/// references, module calls); every schema gets the schema conformance
/// pass, and attribute references are looked up in each. Findings that
/// depend on a schema end with the labels of the schemas they break, e.g.
/// `[aws 6.25.0]` or `[aws 5.100.0, aws 6.25.0]`; the others are as
/// [`check_tree`] reports them. The reference walk runs once, whatever the
/// number of schemas.
pub fn check_tree_versions(
    files: &BTreeMap<String, serde_json::Value>,
    versions: &[(&str, &Schemas)],
) -> Vec<Finding> {
    let Some(((_, first), rest)) = versions.split_first() else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    let tree = tree::Tree::build(files, &mut findings);
    let mut full = Vec::new();
    check::check_pass(&tree, first, check::Pass::Full { also: rest }, &mut full);
    // Schema findings per version, and which versions each one breaks. The
    // first version's schema findings are all in `full`: its own pass is
    // needed only to label them, so a clean full pass skips it.
    let mut labels: BTreeMap<Finding, Vec<&str>> = BTreeMap::new();
    let skip_first = usize::from(full.is_empty());
    for (label, schemas) in &versions[skip_first..] {
        let mut own = Vec::new();
        check::check_pass(&tree, schemas, check::Pass::SchemaOnly, &mut own);
        own.sort();
        own.dedup();
        for f in own {
            labels.entry(f).or_default().push(label);
        }
    }
    findings.extend(full.into_iter().filter(|f| !labels.contains_key(f)));
    for (mut f, ls) in labels {
        f.message = format!("{} [{}]", f.message, ls.join(", "));
        findings.push(f);
    }
    findings.sort();
    findings.dedup();
    findings
}

#[cfg(test)]
mod tests;
