//! Modules (reusable or root) and the scope through which resources are
//! made. A resource can only be made through a [`Scope`], which takes its
//! name from the naming policy and its tags from the tagging policy.

use std::collections::BTreeMap;

use super::block::{
    Address, Body, Lifecycle, Mode, ModuleCall, Output, Provider, ProviderRef, Resource,
    TerraformBlock, Variable,
};
use super::expr::{Expr, Ref, Root};
use crate::policy::naming::{self, Name, NameContext};
use crate::policy::tagging;
use crate::tfcheck::Schemas;

/// What kind of module this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleKind {
    /// A reusable module under `modules/`.
    Reusable,
    /// A root configuration under `envs/<env>/<layer>`.
    Root { env: String, layer: String },
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

    /// A scope that makes resources with the given provider and name context.
    pub fn scope(&mut self, provider: Option<ProviderRef>, names: NameContext) -> Scope<'_> {
        Scope {
            module: self,
            provider,
            names,
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
pub struct Scope<'m> {
    module: &'m mut Module,
    provider: Option<ProviderRef>,
    names: NameContext,
}

impl Scope<'_> {
    fn draft(&self, mode: Mode, rtype: &str, local: &str) -> Draft {
        Draft {
            res: Resource::sealed(mode, rtype, local, self.provider.clone()),
            named: false,
            misnamed: None,
        }
    }

    /// A resource named by the naming policy and tagged by the tagging policy.
    pub fn named(&self, rtype: &str, local: &str, name: &Name) -> Draft {
        let mut d = self.draft(Mode::Managed, rtype, local);
        let spec = naming::spec(name.kind);
        let value = name.expr(&self.names);
        if let Some(attr) = spec.attribute {
            d.res.body.attrs.insert(attr.to_owned(), value.clone());
        }
        if Schemas::vendored().is_taggable(rtype) {
            d.res
                .body
                .attrs
                .insert("tags".to_owned(), tagging::tags(value));
        }
        if type_matches(spec.resource_type, rtype) {
            d.named = true;
        } else {
            d.misnamed = Some(format!("{:?} is for {}", name.kind, spec.resource_type));
        }
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
        if r.mode == Mode::Managed && !d.named && Schemas::vendored().is_taggable(&r.rtype) {
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
    pub fn name_expr(&self, name: &Name) -> Expr {
        name.expr(&self.names)
    }
}

fn type_matches(pattern: &str, rtype: &str) -> bool {
    match pattern.split_once('*') {
        Some((pre, post)) => rtype.starts_with(pre) && rtype.ends_with(post),
        None => pattern == rtype,
    }
}

/// `count.index`
pub fn count_index() -> Expr {
    Ref::new(Root::Count).attr("index").expr()
}
