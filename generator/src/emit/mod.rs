//! Emitters: they format the model and decide nothing.

pub mod hcl;
pub mod json;
