//! The typed model between configuration and output.

pub mod block;
pub mod expr;
pub mod layer;
pub mod module;
pub mod types;

pub use block::{
    Address, Body, Condition, Lifecycle, Mode, ModuleCall, Output, Provider, ProviderRef,
    RequiredProvider, Resource, S3Backend, TerraformBlock, Variable,
};
pub use expr::{Expr, Part, Ref, Root};
pub use layer::{Layer, Role};
pub use module::{Draft, Module, ModuleKind, Scope, Seal, Sealer};
pub use types::TypeExpr;
