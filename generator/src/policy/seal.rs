//! The policies as the model's [`Sealer`]: a resource made through a
//! [`Scope`] takes its name from the naming policy and its tags from the
//! tagging policy, and only types the vendored provider schema marks
//! taggable must be sealed.

use crate::model::{Expr, Seal, Sealer};
use crate::tfcheck::Schemas;

use super::naming::{self, Name, NameContext};
use super::tagging;

/// A scope that seals resources with the naming and tagging policies.
pub type Scope<'m> = crate::model::Scope<'m, NameContext>;

impl Sealer for NameContext {
    type Name = Name;

    fn seal(&self, rtype: &str, name: &Name) -> Seal {
        let spec = naming::spec(name.kind);
        let value = name.expr(self);
        let mut attrs = Vec::new();
        if let Some(attr) = spec.attribute {
            attrs.push((attr.to_owned(), value.clone()));
        }
        if self.is_taggable(rtype) {
            attrs.push(("tags".to_owned(), tagging::tags(value)));
        }
        let misnamed = (!naming::type_matches(spec.resource_type, rtype))
            .then(|| format!("{:?} is for {}", name.kind, spec.resource_type));
        Seal { attrs, misnamed }
    }

    fn name_expr(&self, name: &Name) -> Expr {
        name.expr(self)
    }

    fn is_taggable(&self, rtype: &str) -> bool {
        Schemas::vendored().is_taggable(rtype)
    }
}
