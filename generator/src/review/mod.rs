//! `drgen review PLAN_JSON`: checks a Terraform plan (the JSON of
//! `terraform show -json PLANFILE`) against the policies the generator
//! applies to its model, so a plan made from hand-edited or drifted
//! configuration is caught before apply.
//!
//! # Rules
//!
//! | id | checks |
//! |---|---|
//! | `DR-TAGS` | taggable resources (`tfcheck::Schemas::is_taggable`) pass `policy::tagging::problems` on their planned `tags`; tags only in `tags_all` (provider `default_tags`) are a warning |
//! | `DR-NAME` | names (the `policy::naming::TABLE` attribute, or the `Name` tag) match the table's pattern for the env's suffix, region and account, and `naming::check_name` (needs `--env`) |
//! | `DR-REGION` | the planned `region` and the provider configuration's region are the region of the root provider the layer passes to the resource's provider in the generated module (needs `--env`) |
//! | `DR-DELETION-PROTECTION` | `deletion_protection`, `deletion_protection_enabled`, `skip_destroy` and replica `deletion_protection_enabled` are not true |
//! | `DR-PREVENT-DESTROY` | no `lifecycle.prevent_destroy` in the plan's configuration |
//! | `DR-S3-VERSIONING` | every bucket has an `aws_s3_bucket_versioning` whose status is the generator's |
//! | `DR-S3-ENCRYPTION` | every bucket has an SSE configuration whose algorithm is the generator's |
//! | `DR-BACKUP-RETENTION` | `aws_rds_cluster.backup_retention_period` is `components::database::BACKUP_RETENTION_DAYS` |
//! | `DR-STORAGE-ENCRYPTION` | `storage_encrypted` on Aurora clusters and the global cluster |
//! | `DR-PUBLIC-ACCESS` | every bucket has a public access block with the generator's settings; DB instances not `publicly_accessible`; no ingress from `0.0.0.0/0` or `::/0` |
//! | `DR-IAM-WILDCARD` | no Allow statement in IAM policies or trust policies grants `*` or `service:*` on resource `*` |
//! | `DR-STATEFUL-DESTROY` | no delete or replace of Aurora, DynamoDB, S3 buckets or KMS keys, unless `--allow-destroy` (then a note) |
//!
//! A value that is unknown until apply (`after_unknown`) gives a warning
//! for its rule, never a violation. Errors exit 1, warnings and notes 0.
//!
//! # Environment
//!
//! `DR-NAME` and `DR-REGION` need the environment: with `--env NAME`,
//! `envs/NAME/env.toml` is loaded (`project::load`) and the generator's
//! model is built for it; without it they are skipped and the report says
//! so. The suffix is never inferred from the plan itself, which would make
//! the check agree with whatever the plan says.
//!
//! The layer of a resource is its top module call (`module.primary`,
//! `module.dr`, `module.global`); root resources take the plan's one
//! layer module call.
//!
//! # Limits
//!
//! Terraform does not export `lifecycle` in the plan's configuration, so
//! `DR-PREVENT-DESTROY` fires only for producers that add it; `drgen
//! check` (P9) covers `prevent_destroy` on the generated tree. Policies in
//! `aws_s3_bucket_policy`, KMS key policies and bucket ACLs are not
//! reviewed. A provider configuration inherited through a module call is
//! resolved by the module prefix of its key (`module.dr:aws.primary`, then
//! `aws.primary`); the planned `region` attribute of AWS provider 6 is
//! checked as well.

pub mod expect;
pub mod plan;
pub mod report;
pub mod rules;

use std::path::Path;

pub use expect::Expectations;
pub use plan::{Plan, PlanError};
pub use report::{Format, Report};
pub use rules::{Finding, Options, Severity, RULES};

use crate::project;

/// Why a review could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The plan file is missing, not JSON, or not a 1.x plan.
    #[error("{0}")]
    Plan(#[from] PlanError),
    /// `--env` names no environment, or its env.toml is invalid.
    #[error("{0}")]
    Project(#[from] project::Error),
}

/// Reviews a parsed plan.
pub fn review(plan: &Plan, x: &Expectations, plan_file: &str, opts: Options) -> Report {
    let findings = rules::check(plan, x, opts);
    let skipped = if x.env.is_some() {
        Vec::new()
    } else {
        RULES.iter().filter(|r| r.needs_env).map(|r| r.id).collect()
    };
    let resources = plan
        .instances
        .iter()
        .chain(&plan.deposed)
        .filter(|i| i.mode == plan::Mode::Managed)
        .count();
    Report {
        plan_file: plan_file.to_owned(),
        format_version: plan.format_version.clone(),
        terraform_version: plan.terraform_version.clone(),
        env: x.env.as_ref().map(|e| e.name.clone()),
        allow_destroy: opts.allow_destroy,
        resources,
        findings,
        skipped,
    }
}

/// Loads the plan file and, with `env`, the environment from `repo`, then
/// reviews the plan.
pub fn run(
    repo: &Path,
    plan_path: &Path,
    env: Option<&str>,
    opts: Options,
) -> Result<Report, Error> {
    let plan = plan::load(plan_path)?;
    let envs = match env {
        Some(e) => project::load(repo, &[e.to_owned()])?,
        None => Vec::new(),
    };
    let project = project::build(&envs);
    let x = Expectations::new(&project, envs.first())?;
    Ok(review(&plan, &x, &plan_path.display().to_string(), opts))
}
