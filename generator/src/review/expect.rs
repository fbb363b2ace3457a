//! What a plan must match, taken from the generator itself: the model of
//! the reusable modules (which provider each resource uses, the literal
//! values the modules set) and, with `--env`, the environment's roots
//! (suffix, account, the region of every provider configuration).

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Env;
use crate::layers::{Project, LAYER_NAMES as LAYERS};
use crate::model::{Expr, Module, ModuleKind, Provider, ProviderRef};
use crate::project::Error;

/// The file of a generated module that holds its resources.
pub const RESOURCES_FILE: &str = "main.tf.json";

/// One layer's reusable module, as the generator builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerModule {
    /// e.g. `modules/dr`.
    pub dir: String,
    /// (type, name) of each managed resource -> its provider inside the
    /// module (`aws`, `aws.primary`).
    pub providers: BTreeMap<(String, String), String>,
}

/// One layer's root in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRoot {
    /// e.g. `envs/prod/dr`.
    pub dir: String,
    /// Root provider configuration (`aws`, `aws.primary`) -> its literal region.
    pub regions: BTreeMap<String, String>,
    /// Provider inside the module -> root provider passed to it. Empty
    /// means implicit inheritance (same names).
    pub passed: BTreeMap<String, String>,
}

/// The environment given with `--env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvExpect {
    pub name: String,
    pub suffix: String,
    pub account_id: Option<String>,
    /// Layer -> its root.
    pub roots: BTreeMap<String, LayerRoot>,
}

/// Literal values the generated modules set, read from the model so the
/// review never restates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// `aws_s3_bucket_versioning.versioning_configuration.status`.
    pub versioning_status: String,
    /// `aws_s3_bucket_server_side_encryption_configuration.rule.apply_server_side_encryption_by_default.sse_algorithm`.
    pub sse_algorithm: String,
    /// The boolean settings of `aws_s3_bucket_public_access_block`.
    pub public_access_block: BTreeMap<String, bool>,
}

/// Everything a review compares the plan with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// Layer name -> its reusable module.
    pub layers: BTreeMap<String, LayerModule>,
    pub env: Option<EnvExpect>,
    pub baseline: Baseline,
}

/// The expected region of one resource, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRegion {
    pub region: String,
    /// The root provider configuration that sets it, e.g. `aws.primary`.
    pub provider: String,
}

fn provider_key(p: &Provider) -> String {
    ProviderRef {
        name: p.name.clone(),
        alias: p.alias.clone(),
    }
    .to_string()
}

/// The provider a resource type uses by default: its type prefix.
fn default_provider(rtype: &str) -> String {
    crate::tfcheck::provider_of_type(rtype).to_owned()
}

impl Expectations {
    /// Builds the expectations from the generator's model of `project`
    /// (built for `env` when given).
    pub fn new(project: &Project, env: Option<&Env>) -> Result<Self, Error> {
        let mut layers = BTreeMap::new();
        for m in project
            .modules
            .iter()
            .filter(|m| m.kind == ModuleKind::Reusable)
        {
            let Some(layer) = m.dir.rsplit('/').next() else {
                continue;
            };
            if !LAYERS.contains(&layer) {
                continue;
            }
            let providers = m
                .resources
                .values()
                .filter(|r| r.mode == crate::model::Mode::Managed)
                .map(|r| {
                    let p = r
                        .provider
                        .as_ref()
                        .map_or_else(|| default_provider(&r.rtype), ToString::to_string);
                    ((r.rtype.clone(), r.name.clone()), p)
                })
                .collect();
            layers.insert(
                layer.to_owned(),
                LayerModule {
                    dir: m.dir.clone(),
                    providers,
                },
            );
        }
        let env = env.map(|e| env_expect(e, project));
        let baseline = baseline(&project.modules).map_err(|what| {
            Error::Internal(format!(
                "review: the generator's modules set no literal {what}; update src/review/expect.rs"
            ))
        })?;
        Ok(Self {
            layers,
            env,
            baseline,
        })
    }

    /// The generated file of a resource: its layer module's resource file,
    /// or, for a resource of a layer root, the root's file (with `--env`).
    pub fn file_of(&self, layer: Option<&str>, in_module: bool) -> Option<String> {
        let layer = layer?;
        if in_module {
            return self
                .layers
                .get(layer)
                .map(|m| format!("{}/{RESOURCES_FILE}", m.dir));
        }
        self.env
            .as_ref()?
            .roots
            .get(layer)
            .map(|r| format!("{}/{RESOURCES_FILE}", r.dir))
    }

    /// Where a resource must be: the region of the root provider its layer
    /// passes to the provider the generated module gives it. `plan_provider`
    /// is the provider the plan's configuration names, used for resources
    /// the model does not have.
    pub fn region_of(
        &self,
        layer: &str,
        in_module: bool,
        rtype: &str,
        name: &str,
        plan_provider: Option<&str>,
    ) -> Option<ExpectedRegion> {
        let root = self.env.as_ref()?.roots.get(layer)?;
        let root_key = if in_module {
            let local = self
                .layers
                .get(layer)
                .and_then(|m| m.providers.get(&(rtype.to_owned(), name.to_owned())))
                .cloned()
                .or_else(|| plan_provider.map(str::to_owned))
                .unwrap_or_else(|| default_provider(rtype));
            root.passed.get(&local).cloned().unwrap_or(local)
        } else {
            plan_provider.map_or_else(|| default_provider(rtype), str::to_owned)
        };
        root.regions.get(&root_key).map(|r| ExpectedRegion {
            region: r.clone(),
            provider: root_key,
        })
    }
}

fn env_expect(env: &Env, project: &Project) -> EnvExpect {
    let mut roots = BTreeMap::new();
    for r in &project.roots {
        let ModuleKind::Root { env: e, layer } = &r.kind else {
            continue;
        };
        if *e != env.name {
            continue;
        }
        let regions = r
            .providers
            .iter()
            .filter_map(|p| {
                p.body
                    .get("region")
                    .and_then(Expr::as_str)
                    .map(|region| (provider_key(p), region.to_owned()))
            })
            .collect();
        let passed = r
            .calls
            .get(layer.as_str())
            .map(|c| {
                c.providers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        roots.insert(
            layer.to_string(),
            LayerRoot {
                dir: r.dir.clone(),
                regions,
                passed,
            },
        );
    }
    EnvExpect {
        name: env.name.clone(),
        suffix: env.file.environment_suffix.clone(),
        account_id: env.file.account_id.clone(),
        roots,
    }
}

/// The one literal string every resource of `rtype` in the modules sets at
/// the block path `blocks` + `attr`.
fn literal(modules: &[Module], rtype: &str, blocks: &[&str], attr: &str) -> Option<String> {
    let mut seen = BTreeSet::new();
    for m in modules {
        for r in m.of_type(rtype) {
            let mut body = Some(&r.body);
            for b in blocks {
                body = body.and_then(|x| x.one_block(b));
            }
            if let Some(s) = body.and_then(|x| x.get(attr)).and_then(Expr::as_str) {
                seen.insert(s.to_owned());
            }
        }
    }
    if seen.len() == 1 {
        seen.pop_first()
    } else {
        None
    }
}

fn baseline(modules: &[Module]) -> Result<Baseline, String> {
    let versioning_status = literal(
        modules,
        "aws_s3_bucket_versioning",
        &["versioning_configuration"],
        "status",
    )
    .ok_or("aws_s3_bucket_versioning status")?;
    let sse_algorithm = literal(
        modules,
        "aws_s3_bucket_server_side_encryption_configuration",
        &["rule", "apply_server_side_encryption_by_default"],
        "sse_algorithm",
    )
    .ok_or("sse_algorithm")?;
    let mut public_access_block = BTreeMap::new();
    for m in modules {
        for r in m.of_type("aws_s3_bucket_public_access_block") {
            for (k, v) in &r.body.attrs {
                if let Some(b) = v.as_bool() {
                    public_access_block.insert(k.clone(), b);
                }
            }
        }
    }
    if public_access_block.is_empty() {
        return Err("aws_s3_bucket_public_access_block settings".into());
    }
    Ok(Baseline {
        versioning_status,
        sse_algorithm,
        public_access_block,
    })
}
