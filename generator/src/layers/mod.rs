//! Layers: compose components into reusable modules and per-environment
//! roots. Apply order: primary, dr, global; destroy in reverse.

pub mod global;
pub mod regional;
pub mod roots;
pub mod vars;

use crate::config::Env;
use crate::model::{Module, Role};

pub use crate::model::Layer;

/// Terraform floor of reusable modules: write-only attributes need 1.11.
pub const TERRAFORM_FLOOR: &str = ">= 1.11.0";
/// Provider floor of reusable modules: the oldest provider the generated
/// configuration is verified against (schema check and real Terraform).
pub const AWS_FLOOR: &str = ">= 5.100.0";
/// Roots accept both provider majors the generator validates against
/// (`schema/providers-5.100.0.json` and `schema/providers.json`, 6.25).
pub const TERRAFORM_PIN: &str = ">= 1.11.0, < 2.0.0";
pub const AWS_PIN: &str = ">= 5.100.0, < 7.0.0";

/// The layers in apply order.
pub const LAYERS: [Layer; 3] = Layer::ALL;
/// Their names, in the same order (for code that reads names from text).
pub const LAYER_NAMES: [&str; 3] = [
    Layer::Primary.as_str(),
    Layer::Dr.as_str(),
    Layer::Global.as_str(),
];

/// Everything generated: reusable modules and every environment's roots.
#[derive(Debug, Clone)]
pub struct Project {
    pub modules: Vec<Module>,
    pub roots: Vec<Module>,
    /// The environments the roots were built from.
    pub envs: Vec<Env>,
}

impl Project {
    /// Every module, reusable first, then roots.
    pub fn all(&self) -> impl Iterator<Item = &Module> {
        self.modules.iter().chain(self.roots.iter())
    }
}

/// Builds the modules and the roots of the given environments.
pub fn build(envs: &[Env]) -> Project {
    let primary = regional::build(Role::Primary);
    let dr = regional::build(Role::Dr);
    let global = global::module();
    let mut roots = Vec::new();
    for env in envs {
        roots.push(roots::regional(env, Role::Primary, &primary));
        roots.push(roots::regional(env, Role::Dr, &dr));
        roots.push(global::root(env, &global));
    }
    Project {
        envs: envs.to_vec(),
        modules: vec![primary, dr, global],
        roots,
    }
}
