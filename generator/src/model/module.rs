//! Modules (reusable or root) and the scope through which resources are
//! made. A resource can only be made through a [`Scope`], which takes its
//! name and its tags from a [`Sealer`]: the naming and tagging policies,
//! which `policy` supplies (the model depends on nothing above it).

use std::collections::BTreeMap;

use super::block::{
    Address, Body, Lifecycle, Mode, ModuleCall, Output, Provider, ProviderRef, Resource,
    TerraformBlock, Variable,
};
use super::expr::{Expr, Ref, Root};
use super::layer::Layer;

/// What the policies give a named resource: the attributes that name and
/// tag it, in the order they are set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Seal {
    /// The name attribute (if the type has one) and `tags` (if taggable).
    pub attrs: Vec<(String, Expr)>,
    /// Set when the name is for another resource type.
    pub misnamed: Option<String>,
}

/// The naming and tagging policies, as the model sees them. A [`Scope`]
/// seals every named resource through one, and refuses a taggable managed
/// resource that was not sealed.
pub trait Sealer {
    /// What names a resource (the naming policy's name).
    type Name;
    /// The name attribute and tags of a resource of type `rtype` named `name`.
    fn seal(&self, rtype: &str, name: &Self::Name) -> Seal;
    /// The name as an expression.
    fn name_expr(&self, name: &Self::Name) -> Expr;
    /// Whether resources of the type carry tags (and so must be sealed).
    fn is_taggable(&self, rtype: &str) -> bool;
}

/// What kind of module this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleKind {
    /// A reusable module under `modules/`.
    Reusable,
    /// A root configuration under `envs/<env>/<layer>`.
    Root { env: String, layer: Layer },
}

/// An error in building the model: a programming error in a component,
/// reported like any other violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub address: String,
    pub message: String,
}

/// A Terraform module: one directory of `.tf.json` files.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// Repository-relative directory, e.g. `modules/primary`.
    pub dir: String,
    pub kind: ModuleKind,
    pub description: String,
    pub terraform: TerraformBlock,
    pub providers: Vec<Provider>,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Expr>,
    pub resources: BTreeMap<Address, Resource>,
    pub calls: BTreeMap<String, ModuleCall>,
    pub outputs: BTreeMap<String, Output>,
    /// Duplicate declarations and other build errors.
    pub errors: Vec<BuildError>,
}

impl Module {
    pub fn new(dir: &str, kind: ModuleKind, description: &str, terraform: TerraformBlock) -> Self {
        Self {
            dir: dir.to_owned(),
            kind,
            description: description.to_owned(),
            terraform,
            providers: Vec::new(),
            variables: BTreeMap::new(),
            locals: BTreeMap::new(),
            resources: BTreeMap::new(),
            calls: BTreeMap::new(),
            outputs: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    fn dup(&mut self, address: String) {
        self.errors.push(BuildError {
            address,
            message: "declared twice: a name collision is a hard error".to_owned(),
        });
    }

    /// Declares a variable; returns `var.NAME`.
    pub fn variable(&mut self, v: Variable) -> Expr {
        let e = super::expr::var(&v.name);
        if self.variables.contains_key(&v.name) {
            self.dup(format!("var.{}", v.name));
        } else {
            self.variables.insert(v.name.clone(), v);
        }
        e
    }

    /// Declares a local; returns `local.NAME`.
    pub fn local(&mut self, name: &str, value: Expr) -> Expr {
        if self.locals.insert(name.to_owned(), value).is_some() {
            self.dup(format!("local.{name}"));
        }
        super::expr::local(name)
    }

    /// Declares an output.
    pub fn output(&mut self, name: &str, description: &str, value: Expr) {
        let o = Output {
            name: name.to_owned(),
            description: description.to_owned(),
            value,
            sensitive: false,
        };
        if self.outputs.insert(name.to_owned(), o).is_some() {
            self.dup(format!("output.{name}"));
        }
    }

    /// Declares a module call.
    pub fn call(&mut self, call: ModuleCall) -> Address {
        let a = Address::Module(call.name.clone());
        if self.calls.contains_key(&call.name) {
            self.dup(a.to_string());
        } else {
            self.calls.insert(call.name.clone(), call);
        }
        a
    }

    /// Adds a provider configuration.
    pub fn provider(&mut self, p: Provider) {
        self.providers.push(p);
    }

    /// The resources of one type, in address order.
    pub fn of_type<'a>(&'a self, rtype: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .values()
            .filter(move |r| r.mode == Mode::Managed && r.rtype == rtype)
    }

    /// A resource by address.
    pub fn get(&self, a: &Address) -> Option<&Resource> {
        self.resources.get(a)
    }

    fn insert(&mut self, r: Resource) -> Address {
        let a = r.address();
        if self.resources.contains_key(&a) {
            self.dup(a.to_string());
        } else {
            self.resources.insert(a.clone(), r);
        }
        a
    }

    /// A scope that makes resources with the given provider, sealed by
    /// `sealer` (the policies' name context).
    pub fn scope<S: Sealer>(&mut self, provider: Option<ProviderRef>, sealer: S) -> Scope<'_, S> {
        Scope {
            module: self,
            provider,
            sealer,
        }
    }
}

/// A resource in the making. Obtained from a [`Scope`]; added with
/// [`Scope::add`].
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    res: Resource,
    /// Whether the naming and tagging policies were applied.
    named: bool,
    /// Set when a name kind was used for the wrong resource type.
    misnamed: Option<String>,
}

impl Draft {
    /// Sets an attribute.
    #[must_use]
    pub fn set(mut self, key: &str, value: impl Into<Expr>) -> Self {
        self.res.body.attrs.insert(key.to_owned(), value.into());
        self
    }
    /// Adds a nested block.
    #[must_use]
    pub fn block(mut self, kind: &str, body: Body) -> Self {
        self.res.body = self.res.body.block(kind, body);
        self
    }
    /// Sets `count`.
    #[must_use]
    pub fn count(mut self, n: Expr) -> Self {
        self.res.count = Some(n);
        self
    }
    /// Adds to `depends_on`.
    #[must_use]
    pub fn depends_on(mut self, a: &Address) -> Self {
        self.res.depends_on.push(a.clone());
        self
    }
    /// Sets the provider configuration (`aws.ALIAS`).
    #[must_use]
    pub fn provider(mut self, p: ProviderRef) -> Self {
        self.res.provider = Some(p);
        self
    }
    /// Sets the lifecycle block.
    #[must_use]
    pub fn lifecycle(mut self, l: Lifecycle) -> Self {
        self.res.lifecycle = l;
        self
    }
    /// The address this draft will have.
    pub fn address(&self) -> Address {
        self.res.address()
    }
}

/// Makes resources inside a module, applying naming and tagging.
#[derive(Debug)]
pub struct Scope<'m, S: Sealer> {
    module: &'m mut Module,
    provider: Option<ProviderRef>,
    sealer: S,
}

impl<S: Sealer> Scope<'_, S> {
    fn draft(&self, mode: Mode, rtype: &str, local: &str) -> Draft {
        Draft {
            res: Resource::sealed(mode, rtype, local, self.provider.clone()),
            named: false,
            misnamed: None,
        }
    }

    /// A resource named by the naming policy and tagged by the tagging policy.
    pub fn named(&self, rtype: &str, local: &str, name: &S::Name) -> Draft {
        let mut d = self.draft(Mode::Managed, rtype, local);
        let seal = self.sealer.seal(rtype, name);
        for (k, v) in seal.attrs {
            d.res.body.attrs.insert(k, v);
        }
        d.named = seal.misnamed.is_none();
        d.misnamed = seal.misnamed;
        d
    }

    /// A resource without a name of its own. Only for types without tags.
    pub fn unnamed(&self, rtype: &str, local: &str) -> Draft {
        self.draft(Mode::Managed, rtype, local)
    }

    /// A data source.
    pub fn data(&self, rtype: &str, local: &str) -> Draft {
        self.draft(Mode::Data, rtype, local)
    }

    /// An ephemeral resource.
    pub fn ephemeral(&self, rtype: &str, local: &str) -> Draft {
        self.draft(Mode::Ephemeral, rtype, local)
    }

    /// Adds the draft to the module and returns its address. A taggable
    /// managed resource that did not come through [`Scope::named`] is a
    /// build error.
    pub fn add(&mut self, d: Draft) -> Address {
        let r = d.res;
        if let Some(why) = d.misnamed {
            self.module.errors.push(BuildError {
                address: r.address().to_string(),
                message: format!("wrong name kind: {why}"),
            });
        }
        if r.mode == Mode::Managed && !d.named && self.sealer.is_taggable(&r.rtype) {
            self.module.errors.push(BuildError {
                address: r.address().to_string(),
                message: "taggable resource made without the naming and tagging policies"
                    .to_owned(),
            });
        }
        self.module.insert(r)
    }

    /// The module being built.
    pub fn module(&mut self) -> &mut Module {
        self.module
    }

    /// The name of a kind as an expression in this scope.
    pub fn name_expr(&self, name: &S::Name) -> Expr {
        self.sealer.name_expr(name)
    }
}

/// `count.index`
pub fn count_index() -> Expr {
    Ref::new(Root::Count).attr("index").expr()
}
