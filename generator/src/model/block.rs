//! Blocks, resources and the other top-level declarations of a module.

use std::collections::BTreeMap;
use std::fmt;

use super::expr::{Expr, Ref, Root};

/// A block body: attributes and nested blocks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Body {
    pub attrs: BTreeMap<String, Expr>,
    /// Nested blocks by type; a type may repeat (e.g. `ingress`).
    pub blocks: BTreeMap<String, Vec<Body>>,
}

impl Body {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an attribute.
    #[must_use]
    pub fn set(mut self, key: &str, value: impl Into<Expr>) -> Self {
        self.attrs.insert(key.to_owned(), value.into());
        self
    }

    /// Sets an attribute when the value is present.
    #[must_use]
    pub fn set_opt(self, key: &str, value: Option<impl Into<Expr>>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    /// Adds a nested block.
    #[must_use]
    pub fn block(mut self, kind: &str, body: Body) -> Self {
        self.blocks.entry(kind.to_owned()).or_default().push(body);
        self
    }

    /// The attribute, if set.
    pub fn get(&self, key: &str) -> Option<&Expr> {
        self.attrs.get(key)
    }

    /// The nested blocks of one type.
    pub fn blocks_of(&self, kind: &str) -> &[Body] {
        self.blocks.get(kind).map_or(&[], Vec::as_slice)
    }

    /// The single nested block of one type, if there is exactly one.
    pub fn one_block(&self, kind: &str) -> Option<&Body> {
        match self.blocks_of(kind) {
            [b] => Some(b),
            _ => None,
        }
    }

    /// Every reference in the body, nested blocks included.
    pub fn refs(&self) -> Vec<&Ref> {
        let mut out: Vec<&Ref> = self.attrs.values().flat_map(Expr::refs).collect();
        for b in self.blocks.values().flatten() {
            out.extend(b.refs());
        }
        out
    }
}

/// Resource modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Managed,
    Data,
    Ephemeral,
}

/// The address of a declaration inside one module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    Resource {
        mode: Mode,
        rtype: String,
        name: String,
    },
    Module(String),
    Variable(String),
    Output(String),
    Local(String),
    Provider(String),
    Terraform,
}

impl Address {
    pub fn managed(rtype: &str, name: &str) -> Self {
        Address::Resource {
            mode: Mode::Managed,
            rtype: rtype.to_owned(),
            name: name.to_owned(),
        }
    }
    pub fn data(rtype: &str, name: &str) -> Self {
        Address::Resource {
            mode: Mode::Data,
            rtype: rtype.to_owned(),
            name: name.to_owned(),
        }
    }
    /// A reference to an attribute of this resource.
    pub fn attr(&self, attr: &str) -> Expr {
        self.reference().attr(attr).expr()
    }

    /// The reference rooted at this address.
    pub fn reference(&self) -> Ref {
        let root = match self {
            Address::Resource { mode, rtype, name } => match mode {
                Mode::Managed => Root::Resource(rtype.clone(), name.clone()),
                Mode::Data => Root::Data(rtype.clone(), name.clone()),
                Mode::Ephemeral => Root::Ephemeral(rtype.clone(), name.clone()),
            },
            Address::Module(n) => Root::Module(n.clone()),
            Address::Variable(n) => Root::Var(n.clone()),
            Address::Local(n) => Root::Local(n.clone()),
            Address::Output(n) | Address::Provider(n) => Root::Iter(n.clone()),
            Address::Terraform => Root::Iter("terraform".into()),
        };
        Ref::new(root)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Resource { mode, rtype, name } => match mode {
                Mode::Managed => write!(f, "{rtype}.{name}"),
                Mode::Data => write!(f, "data.{rtype}.{name}"),
                Mode::Ephemeral => write!(f, "ephemeral.{rtype}.{name}"),
            },
            Address::Module(n) => write!(f, "module.{n}"),
            Address::Variable(n) => write!(f, "var.{n}"),
            Address::Output(n) => write!(f, "output.{n}"),
            Address::Local(n) => write!(f, "local.{n}"),
            Address::Provider(n) => write!(f, "provider.{n}"),
            Address::Terraform => f.write_str("terraform"),
        }
    }
}

/// A provider configuration reference: `aws` or `aws.ALIAS`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderRef {
    pub name: String,
    pub alias: Option<String>,
}

impl ProviderRef {
    pub fn aliased(name: &str, alias: &str) -> Self {
        Self {
            name: name.to_owned(),
            alias: Some(alias.to_owned()),
        }
    }
}

impl fmt::Display for ProviderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.alias {
            Some(a) => write!(f, "{}.{a}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A `precondition` / `postcondition`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub condition: Expr,
    pub error_message: String,
}

/// The `lifecycle` meta-block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lifecycle {
    pub create_before_destroy: bool,
    pub prevent_destroy: bool,
    /// Bare attribute names.
    pub ignore_changes: Vec<String>,
    pub preconditions: Vec<Condition>,
}

impl Lifecycle {
    pub fn is_empty(&self) -> bool {
        *self == Lifecycle::default()
    }
}

/// A managed resource, data source or ephemeral resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub mode: Mode,
    pub rtype: String,
    pub name: String,
    pub body: Body,
    pub count: Option<Expr>,
    pub depends_on: Vec<Address>,
    pub provider: Option<ProviderRef>,
    pub lifecycle: Lifecycle,
    _sealed: Sealed,
}

impl Resource {
    pub fn address(&self) -> Address {
        Address::Resource {
            mode: self.mode,
            rtype: self.rtype.clone(),
            name: self.name.clone(),
        }
    }

    /// A top-level attribute.
    pub fn get(&self, key: &str) -> Option<&Expr> {
        self.body.get(key)
    }

    /// A top-level attribute's literal bool.
    pub fn bool_attr(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Expr::as_bool)
    }

    /// A top-level attribute's literal string.
    pub fn str_attr(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Expr::as_str)
    }
}

/// An input variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    /// The type constraint, e.g. `string`, `list(string)`.
    pub ty: super::types::TypeExpr,
    pub description: String,
    pub default: Option<Expr>,
    pub sensitive: bool,
    pub validations: Vec<Condition>,
}

/// An output value.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    pub description: String,
    pub value: Expr,
    pub sensitive: bool,
}

/// A module call.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleCall {
    pub name: String,
    /// Relative path from the calling directory.
    pub source: String,
    pub args: BTreeMap<String, Expr>,
    /// Provider name inside the module -> provider in the caller.
    pub providers: BTreeMap<String, ProviderRef>,
    pub depends_on: Vec<Address>,
}

/// A provider configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    pub name: String,
    pub alias: Option<String>,
    pub body: Body,
}

/// A required provider entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RequiredProvider {
    pub source: String,
    pub version: String,
    /// `configuration_aliases` (bare `aws.NAME` strings).
    pub configuration_aliases: Vec<ProviderRef>,
}

/// The S3 backend settings of a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Backend {
    pub bucket: String,
    pub key: String,
    pub region: String,
    pub encrypt: bool,
    pub use_lockfile: bool,
}

/// The `terraform` block.
#[derive(Debug, Clone, PartialEq)]
pub struct TerraformBlock {
    pub required_version: String,
    pub required_providers: BTreeMap<String, RequiredProvider>,
    pub backend: Option<S3Backend>,
}

impl Resource {
    /// The only constructor, used by [`super::module::Scope`].
    pub(super) fn sealed(
        mode: Mode,
        rtype: &str,
        name: &str,
        provider: Option<ProviderRef>,
    ) -> Self {
        Self {
            mode,
            rtype: rtype.to_owned(),
            name: name.to_owned(),
            body: Body::new(),
            count: None,
            depends_on: Vec::new(),
            provider,
            lifecycle: Lifecycle::default(),
            _sealed: Sealed(()),
        }
    }
}

/// Makes [`Resource`] impossible to build outside the model's scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed(());
