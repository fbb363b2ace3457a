//! Policies: naming, tagging and invariants, each in one file.

pub mod invariants;
pub mod naming;
pub mod tagging;
