//! Policies: naming, tagging and invariants, each in one file; `seal`
//! hands naming and tagging to the model's `Scope`, and `constants` holds
//! the values that both the components and the invariants read.

pub mod constants;
pub mod invariants;
pub mod naming;
pub mod seal;
pub mod tagging;

pub use seal::Scope;
