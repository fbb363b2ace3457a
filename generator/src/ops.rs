//! The operations the CLI exposes, as library calls returning reports.

use std::collections::BTreeMap;
use std::path::Path;

use crate::finding::Finding;
use crate::project::{self, Error};
use crate::tfcheck::{self, Schemas};
use crate::write::{self, Drift, FaultPlan};

/// What `generate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerateOutcome {
    /// Files were written.
    Written { files: usize },
    /// `--check`: the tree matches (empty) or drifts.
    Checked { drift: Vec<Drift> },
    /// The model broke invariants: nothing was written.
    Violations(Vec<Finding>),
}

/// `drgen generate [--env ..] [--check]`.
pub fn generate(
    repo: &Path,
    envs: &[String],
    check: bool,
    fault: FaultPlan,
) -> Result<GenerateOutcome, Error> {
    let all = envs.is_empty();
    let envs = project::load(repo, envs)?;
    let p = project::build(&envs);
    let violations = project::violations(&p);
    if !violations.is_empty() {
        return Ok(GenerateOutcome::Violations(
            violations.iter().map(Finding::from).collect(),
        ));
    }
    let files = project::render_all(&p, all)?;
    let names: Vec<String> = envs.iter().map(|e| e.name.clone()).collect();
    let dirs = write::managed_dirs(repo, &project::owned_units(&files), &names, all)?;
    if check {
        return Ok(GenerateOutcome::Checked {
            drift: write::drift(repo, &files, &dirs)?,
        });
    }
    // An up-to-date tree is left alone (no staging, no renames).
    if fault == FaultPlan::default() && write::drift(repo, &files, &dirs)?.is_empty() {
        return Ok(GenerateOutcome::Written { files: files.len() });
    }
    write::write_atomic(repo, &files, &dirs, fault)?;
    Ok(GenerateOutcome::Written { files: files.len() })
}

/// `drgen check`: invariants of the model, drift of the tree, and the tree
/// on disk against the provider schema and its own references.
/// Findings come in that order: invariants, drift, then schema and
/// references.
pub fn check(repo: &Path, envs: &[String]) -> Result<Vec<Finding>, Error> {
    let all = envs.is_empty();
    let envs = project::load(repo, envs)?;
    let p = project::build(&envs);
    let mut out: Vec<Finding> = project::violations(&p).iter().map(Finding::from).collect();
    let full = project::render_all(&p, true)?;
    let files = if all {
        full.clone()
    } else {
        project::render_all(&p, false)?
    };
    let names: Vec<String> = envs.iter().map(|e| e.name.clone()).collect();
    let dirs = write::managed_dirs(repo, &project::owned_units(&files), &names, all)?;
    out.extend(write::drift(repo, &files, &dirs)?.iter().map(Finding::from));
    // The reference checks need the modules too, even for some envs.
    let tree = read_tree(repo, &full)?;
    out.extend(tree_findings(&tree).iter().map(Finding::from));
    Ok(out)
}

/// Reads every generated file from disk (those present) as JSON.
fn read_tree(
    repo: &Path,
    files: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, serde_json::Value>, Error> {
    let mut tree = BTreeMap::new();
    for rel in files.keys().filter(|r| r.ends_with(".tf.json")) {
        let p = repo.join(rel);
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(&p, e)),
        };
        let v = serde_json::from_str(&text).map_err(|e| Error::BadGeneratedJson {
            path: rel.clone(),
            message: e.to_string(),
        })?;
        tree.insert(rel.clone(), v);
    }
    Ok(tree)
}

/// Schema and reference findings of a tree.
pub fn tree_findings(tree: &BTreeMap<String, serde_json::Value>) -> Vec<tfcheck::Finding> {
    tfcheck::check_tree_versions(tree, &Schemas::vendored_versions())
}

/// `drgen posture --env NAME`: reads the generated tree of the environment.
pub fn posture(repo: &Path, env: &str) -> Result<crate::posture::Posture, Error> {
    let envs = project::load(repo, &[env.to_owned()])?;
    let p = project::build(&envs);
    let files = project::render_all(&p, true)?;
    let tree = read_tree(repo, &files)?;
    Ok(crate::posture::assess(env, &tree))
}

/// `drgen review PLAN_JSON [--env NAME] [--allow-destroy]`: a Terraform plan
/// (`terraform show -json`) against the generator's policies.
pub fn review(
    repo: &Path,
    plan: &Path,
    env: Option<&str>,
    allow_destroy: bool,
) -> Result<crate::review::Report, crate::review::Error> {
    crate::review::run(repo, plan, env, crate::review::Options { allow_destroy })
}

/// `drgen graph --env NAME [--format dot]`: the layer diagram.
pub fn graph(repo: &Path, env: &str, dot: bool) -> Result<String, Error> {
    let envs = project::load(repo, &[env.to_owned()])?;
    let p = project::build(&envs);
    Ok(if dot {
        crate::graph::dot(&p, env)
    } else {
        crate::graph::mermaid(&p, env)
    })
}
