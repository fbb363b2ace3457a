//! Plan and apply automation for the generated roots: an Atlantis repo
//! config (`atlantis.yaml`) and an example GitHub Actions workflow for teams
//! without Atlantis. Both run the layers of an environment in apply order
//! (primary, dr, global) and review every plan with `drgen review`.
//!
//! Output is deterministic: environments come sorted from the loader and
//! layers from [`LAYERS`]; the templates are embedded.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use tera::{Context, Tera};

use crate::template::TemplateError;

use crate::config::Env;
use crate::layers::roots;
use crate::layers::{LAYERS, LAYER_NAMES};

const ATLANTIS_TEMPLATE: &str = include_str!("../templates/atlantis.yaml.tera");
const GITHUB_TEMPLATE: &str = include_str!("../templates/github_workflow.yml.tera");
const ATLANTIS: &str = "atlantis.yaml";
const GITHUB: &str = "github_workflow.yml";

/// The name of the custom Atlantis workflow.
pub const ATLANTIS_WORKFLOW: &str = "drgen";
/// Atlantis plan step: the generated tree must match the generator.
pub const GENERATE_CHECK: &str =
    r#"drgen --repo "$(git rev-parse --show-toplevel)" generate --check"#;
/// Atlantis plan step: the plan as JSON where Atlantis expects it.
pub const SHOW_PLAN: &str = r#"terraform show -json "$PLANFILE" > "$SHOWFILE""#;
/// Atlantis plan step: review the JSON plan against the project's
/// environment (`envs/<env>/<layer>`: the env is the parent directory of
/// `$REPO_REL_DIR`), so the name and region rules run too. `--repo` because
/// Atlantis runs steps in the project directory.
pub const REVIEW_PLAN: &str = r#"drgen --repo "$(git rev-parse --show-toplevel)" review --env "$(basename "$(dirname "$REPO_REL_DIR")")" "$SHOWFILE""#;

/// GitHub Actions step (in the layer's directory): review `plan.json`
/// against environment `env`.
pub fn github_review(env: &str) -> String {
    format!(
        r#"drgen --repo "$GITHUB_WORKSPACE" review --env {} plan.json"#,
        shell_word(env)
    )
}

/// `s` as one POSIX shell word: bare when it is plain, else single-quoted.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
/// The Terraform release line the GitHub workflow installs.
pub const TERRAFORM_VERSION: &str = "1.11.x";
/// The repository variable holding the plan role ARN (the per-environment
/// `DRGEN_PLAN_ROLE_ARN_<ENV>` wins when set).
pub const ROLE_VARIABLE: &str = "DRGEN_PLAN_ROLE_ARN";

/// The Atlantis project name of a layer: `<env>-<layer>`.
pub fn project_name(env: &str, layer: &str) -> String {
    format!("{env}-{layer}")
}

/// The execution order group of a layer: its 1-based position in [`LAYERS`].
pub fn order_group(layer: &str) -> usize {
    LAYER_NAMES
        .iter()
        .position(|l| *l == layer)
        .map_or(0, |i| i + 1)
}

#[derive(Debug, Serialize)]
struct Project {
    name: String,
    dir: String,
    group: usize,
    depends_on: Vec<String>,
    when_modified: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Step {
    run: Option<&'static str>,
    builtin: Option<&'static str>,
}

impl Step {
    fn run(cmd: &'static str) -> Self {
        Self {
            run: Some(cmd),
            builtin: None,
        }
    }
    fn builtin(name: &'static str) -> Self {
        Self {
            run: None,
            builtin: Some(name),
        }
    }
}

/// `atlantis.yaml` (repo config version 3): one project per environment and
/// layer, layers ordered by execution order group and `depends_on`, plans
/// and applies one at a time, and the `drgen` workflow (drift check, init,
/// plan, JSON plan, review; apply).
pub fn atlantis_yaml(envs: &[Env]) -> Result<String, TemplateError> {
    let mut projects = Vec::new();
    for env in envs {
        let mut previous: Option<String> = None;
        for layer in LAYERS {
            let name = project_name(&env.name, layer.as_str());
            projects.push(Project {
                name: name.clone(),
                dir: roots::dir(&env.name, layer),
                group: order_group(layer.as_str()),
                depends_on: previous.iter().cloned().collect(),
                when_modified: vec![
                    "*.tf.json".to_owned(),
                    ".terraform.lock.hcl".to_owned(),
                    format!("../../../modules/{layer}/*.tf.json"),
                    "../env.toml".to_owned(),
                ],
            });
            previous = Some(name);
        }
    }
    let steps = vec![
        Step::run(GENERATE_CHECK),
        Step::builtin("init"),
        Step::builtin("plan"),
        Step::run(SHOW_PLAN),
        Step::run(REVIEW_PLAN),
    ];
    let mut ctx = Context::new();
    ctx.insert("projects", &projects);
    ctx.insert("plan_steps", &steps);
    render(ATLANTIS, &ctx)
}

#[derive(Debug, Serialize)]
struct EnvJob {
    job: String,
    title: String,
    role: String,
    region: String,
    layers: Vec<LayerSteps>,
}

#[derive(Debug, Serialize)]
struct LayerSteps {
    label: String,
    dir: String,
    artifact: String,
    review: String,
}

/// `.github/workflows/drgen-plan.yml`: on pull requests, a `check` job
/// (`make check`), then one job per environment that plans its layers in
/// order, each `terraform init`, `plan -out=tfplan`, `show -json`,
/// `drgen review plan.json` and an artifact upload. AWS credentials come
/// from OIDC with a role ARN from a repository variable.
pub fn github_workflow(envs: &[Env]) -> Result<String, TemplateError> {
    let jobs: Vec<EnvJob> = envs
        .iter()
        .map(|env| {
            let ident = identifier(&env.name);
            EnvJob {
                job: format!("plan-{}", ident.to_ascii_lowercase()),
                title: format!("plan {}", env.name),
                role: format!(
                    "${{{{ vars.{ROLE_VARIABLE}_{} || vars.{ROLE_VARIABLE} }}}}",
                    ident.to_ascii_uppercase()
                ),
                region: env.file.state.region.clone(),
                layers: LAYERS
                    .into_iter()
                    .map(|layer| LayerSteps {
                        label: format!("{}/{layer}", env.name),
                        dir: roots::dir(&env.name, layer),
                        artifact: format!("plan-{}-{layer}", ident.to_ascii_lowercase()),
                        review: github_review(&env.name),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("envs", &jobs);
    ctx.insert("terraform_version", TERRAFORM_VERSION);
    render(GITHUB, &ctx)
}

/// Letters, digits and `_` only (job ids, variable names).
fn identifier(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A YAML scalar for `s`: plain when it cannot be read as anything but this
/// string, single-quoted when printable, double-quoted (JSON) otherwise.
pub fn yaml_scalar(s: &str) -> String {
    const RESERVED: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_owned()
    } else if s.chars().all(|c| !c.is_control()) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "''".to_owned())
    }
}

fn yaml_filter(v: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let suffix = match args.get("suffix") {
        Some(Value::String(s)) => s.as_str(),
        None => "",
        Some(other) => {
            return Err(tera::Error::msg(format!(
                "filter yaml: suffix must be a string, got {other}"
            )))
        }
    };
    match v {
        Value::String(s) => Ok(Value::String(yaml_scalar(&format!("{s}{suffix}")))),
        other => Err(tera::Error::msg(format!(
            "filter yaml: expected a string, got {other}"
        ))),
    }
}

/// The workflow templates, parsed once per process.
fn tera() -> Result<&'static Tera, TemplateError> {
    static TERA: std::sync::OnceLock<Result<Tera, TemplateError>> = std::sync::OnceLock::new();
    TERA.get_or_init(|| {
        let mut t = Tera::default();
        t.autoescape_on(vec![]);
        t.register_filter("yaml", yaml_filter);
        t.add_raw_templates(vec![
            (ATLANTIS, ATLANTIS_TEMPLATE),
            (GITHUB, GITHUB_TEMPLATE),
        ])
        .map_err(|e| TemplateError::parse("workflows", &e))?;
        Ok(t)
    })
    .as_ref()
    .map_err(Clone::clone)
}

fn render(name: &str, ctx: &Context) -> Result<String, TemplateError> {
    let out = tera()?
        .render(name, ctx)
        .map_err(|e| TemplateError::render(name, &e))?;
    let mut s: String = out
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    s.truncate(s.trim_end().len());
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_survive_quotes() {
        assert_eq!(shell_word("prod"), "prod");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("a b"), "'a b'");
    }

    #[test]
    fn scalars_quote_only_when_needed() {
        assert_eq!(yaml_scalar("envs/prod/primary"), "envs/prod/primary");
        assert_eq!(yaml_scalar("prod-dr"), "prod-dr");
        assert_eq!(yaml_scalar("*.tf.json"), "'*.tf.json'");
        assert_eq!(yaml_scalar("../env.toml"), "'../env.toml'");
        assert_eq!(yaml_scalar("yes"), "'yes'");
        assert_eq!(yaml_scalar("2024-01-01"), "'2024-01-01'");
        assert_eq!(yaml_scalar("a: b"), "'a: b'");
        assert_eq!(yaml_scalar("it's"), "'it''s'");
        assert_eq!(yaml_scalar("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn groups_follow_layer_order() {
        assert_eq!(order_group("primary"), 1);
        assert_eq!(order_group("dr"), 2);
        assert_eq!(order_group("global"), 3);
    }
}
