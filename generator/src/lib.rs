//! drgen: generates Terraform JSON for an active-passive AWS DR payment
//! stack (primary, dr and global layers), from one typed model.
//!
//! The flow runs one way: `env.toml` -> validated config -> model ->
//! invariants -> emitter -> atomic write.

pub mod components;
pub mod config;
pub mod docs;
pub mod emit;
pub mod finding;
pub mod graph;
pub mod json_path;
pub mod layers;
pub mod model;
pub mod ops;
pub mod policy;
pub mod posture;
pub mod project;
pub mod review;
pub mod template;
pub mod tfcheck;
pub mod workflow;
pub mod write;
