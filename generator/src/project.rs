//! The whole run: discover and load environments, build the model, check
//! invariants, render files. No I/O beyond reading inputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{self, ConfigError, Env};
use crate::emit::json;
use crate::layers::{self, Project};
use crate::policy::invariants::{self, Violation};

/// Errors of a run (bad input or I/O). Check failures are not errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigError>),
    #[error("no environments: {dir} has no */env.toml")]
    NoEnvironments { dir: PathBuf },
    #[error("unknown environment {name:?}; available: {}", available.join(", "))]
    UnknownEnvironment {
        name: String,
        available: Vec<String>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: generated file is not valid JSON: {message}")]
    BadGeneratedJson { path: String, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an I/O error with its path.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl From<crate::template::TemplateError> for Error {
    fn from(e: crate::template::TemplateError) -> Self {
        Error::Internal(e.to_string())
    }
}

/// The environment names under `envs/`, sorted.
pub fn discover(repo: &Path) -> Result<Vec<String>, Error> {
    let dir = repo.join("envs");
    let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let p = entry.path();
        // symlink_metadata: a dangling link is still an environment (whose
        // load then fails), never silently skipped.
        if std::fs::symlink_metadata(p.join("env.toml")).is_ok() {
            if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
                names.push(n.to_owned());
            }
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(Error::NoEnvironments { dir });
    }
    Ok(names)
}

/// Loads the named environments (all when `only` is empty). Every file's
/// errors are collected before failing.
pub fn load(repo: &Path, only: &[String]) -> Result<Vec<Env>, Error> {
    let available = discover(repo)?;
    let mut names = Vec::new();
    for n in only {
        if !available.contains(n) {
            return Err(Error::UnknownEnvironment {
                name: n.clone(),
                available,
            });
        }
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    if names.is_empty() {
        names = available;
    }
    names.sort();
    let mut envs = Vec::new();
    let mut errors = Vec::new();
    for n in &names {
        let rel = PathBuf::from("envs").join(n).join("env.toml");
        match config::load(&repo.join(&rel), n) {
            Ok(e) => envs.push(e),
            Err(e) => errors.push(relativize(e, repo)),
        }
    }
    if errors.is_empty() {
        Ok(envs)
    } else {
        Err(Error::Config(errors))
    }
}

/// Shows paths relative to the repository, so messages do not depend on
/// where the tool runs.
fn relativize(e: ConfigError, repo: &Path) -> ConfigError {
    let rel = |p: PathBuf| p.strip_prefix(repo).map(Path::to_path_buf).unwrap_or(p);
    match e {
        ConfigError::Read { path, message } => ConfigError::Read {
            path: rel(path),
            message,
        },
        ConfigError::IsDirectory { path } => ConfigError::IsDirectory { path: rel(path) },
        ConfigError::NotUtf8 { path, offset } => ConfigError::NotUtf8 {
            path: rel(path),
            offset,
        },
        ConfigError::Parse {
            path,
            line,
            column,
            field,
            message,
        } => ConfigError::Parse {
            path: rel(path),
            line,
            column,
            field,
            message,
        },
        ConfigError::Invalid { path, errors } => ConfigError::Invalid {
            path: rel(path),
            errors,
        },
    }
}

/// Builds the model of the given environments.
pub fn build(envs: &[Env]) -> Project {
    layers::build(envs)
}

/// Every generated file: repository-relative path -> content.
///
/// Per module: the `.tf.json` files, and the same files as HCL under
/// `hcl/` (a view for reviewers; Terraform reads only the JSON). Per
/// reusable module: its `README.md`. When the project holds every
/// environment (`repo_files`), also the repository-level `atlantis.yaml`
/// and the GitHub Actions example. A broken embedded template is an
/// [`Error::Internal`].
pub fn render_all(project: &Project, repo_files: bool) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    // A run for some environments writes only their roots: the modules'
    // READMEs take their usage example from the prod root, so they are
    // regenerated only by a run over every environment.
    let modules: Vec<&crate::model::Module> = if repo_files {
        project.all().collect()
    } else {
        project.roots.iter().collect()
    };
    for m in modules {
        for (name, v) in json::module(m) {
            out.insert(format!("{}/{name}", m.dir), json::to_text(&v));
        }
        for (name, text) in crate::emit::hcl::module(m) {
            out.insert(format!("{HCL_VIEW}/{}/{name}", m.dir), text);
        }
    }
    if repo_files {
        out.extend(crate::docs::module_readmes(project)?);
        out.insert(
            ATLANTIS.to_owned(),
            crate::workflow::atlantis_yaml(&project.envs)?,
        );
        out.insert(
            GITHUB_EXAMPLE.to_owned(),
            crate::workflow::github_workflow(&project.envs)?,
        );
    }
    Ok(out)
}

/// Every generated file of a project that holds every environment.
///
/// # Panics
///
/// If an embedded template is broken (a bug the template unit tests
/// catch). For tests and fuzzing; the CLI goes through [`render_all`],
/// which reports it as an [`Error::Internal`].
pub fn render(project: &Project) -> BTreeMap<String, String> {
    render_all(project, true).unwrap_or_else(|e| panic!("{e}"))
}

/// Where the HCL view of the tree lives.
pub const HCL_VIEW: &str = "hcl";
/// The Atlantis repo config.
pub const ATLANTIS: &str = "atlantis.yaml";
/// The GitHub Actions example for teams without Atlantis.
pub const GITHUB_EXAMPLE: &str = "examples/github-actions/drgen-plan.yml";

/// Invariant violations of the model.
pub fn violations(project: &Project) -> Vec<Violation> {
    let all: Vec<&crate::model::Module> = project.all().collect();
    invariants::check(&all)
}

/// The directories the generator owns for these environments: every
/// reusable module and the layer directories of each environment.
pub fn owned_dirs(project: &Project) -> Vec<String> {
    owned_units(&render(project))
}

/// What a write replaces whole: the directory of each generated file, or
/// the file itself when it sits at the repository root.
pub fn owned_units(files: &BTreeMap<String, String>) -> Vec<String> {
    let mut units: Vec<String> = files
        .keys()
        .map(|rel| match rel.rsplit_once('/') {
            Some((dir, _)) => dir.to_owned(),
            None => rel.clone(),
        })
        .collect();
    units.sort();
    units.dedup();
    units
}
