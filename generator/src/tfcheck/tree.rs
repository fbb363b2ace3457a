//! Splitting a file tree into module directories and collecting each
//! directory's declarations (Terraform merges all `*.tf.json` files of a
//! directory into one module).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::Finding;

/// A declaration: the file it is in and its body.
#[derive(Debug, Clone, Copy)]
pub struct Decl<'a> {
    pub file: &'a str,
    pub body: &'a Value,
}

impl<'a> Decl<'a> {
    /// The body as an object (declarations are only recorded when it is one,
    /// except for locals, whose "body" is the value expression).
    pub fn obj(&self) -> Option<&'a Map<String, Value>> {
        self.body.as_object()
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj().and_then(|m| m.get(key))
    }
}

/// A `provider` configuration block.
#[derive(Debug, Clone)]
pub struct ProviderDecl<'a> {
    pub file: &'a str,
    pub name: String,
    pub alias: Option<String>,
    pub body: &'a Map<String, Value>,
}

impl ProviderDecl<'_> {
    pub fn address(&self) -> String {
        match &self.alias {
            Some(a) => format!("provider.{}.{a}", self.name),
            None => format!("provider.{}", self.name),
        }
    }
}

/// Type-and-name keyed declarations (`resource`, `data`, `ephemeral`).
pub type TypedDecls<'a> = BTreeMap<(String, String), Decl<'a>>;

/// Everything declared in one module directory.
#[derive(Debug, Default)]
pub struct Dir<'a> {
    pub files: Vec<&'a str>,
    pub variables: BTreeMap<String, Decl<'a>>,
    /// Local name → value expression.
    pub locals: BTreeMap<String, Decl<'a>>,
    pub outputs: BTreeMap<String, Decl<'a>>,
    pub modules: BTreeMap<String, Decl<'a>>,
    pub resources: TypedDecls<'a>,
    pub data: TypedDecls<'a>,
    pub ephemeral: TypedDecls<'a>,
    pub providers: Vec<ProviderDecl<'a>>,
    pub terraform: Vec<Decl<'a>>,
    pub checks: BTreeMap<String, Decl<'a>>,
    pub moved: Vec<Decl<'a>>,
    pub imports: Vec<Decl<'a>>,
    pub removed: Vec<Decl<'a>>,
    /// Later duplicates of a declaration (reported; only scanned for
    /// variable uses so that one duplicate does not cause more noise).
    pub shadowed: Vec<Decl<'a>>,
}

/// All module directories of a tree, by repo-relative directory path
/// (`""` for the top level).
#[derive(Debug, Default)]
pub struct Tree<'a> {
    pub dirs: BTreeMap<String, Dir<'a>>,
}

fn finding(out: &mut Vec<Finding>, file: &str, address: &str, message: String) {
    out.push(Finding {
        file: file.to_string(),
        address: address.to_string(),
        message,
    });
}

/// `v` as a list of objects: an object, or an array of objects (HCL JSON
/// allows either wherever a block or block sequence is expected).
pub fn objects(v: &Value) -> Option<Vec<&Map<String, Value>>> {
    match v {
        Value::Object(m) => Some(vec![m]),
        Value::Array(items) => items.iter().map(Value::as_object).collect(),
        _ => None,
    }
}

pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Normalize a repo-relative path: `/` separators, no `.` segments, no
/// leading `./`.
pub fn normalize(path: &str) -> String {
    path.replace('\\', "/")
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn is_override(file: &str) -> bool {
    let base = file.rsplit('/').next().unwrap_or(file);
    base == "override.tf.json" || base.ends_with("_override.tf.json")
}

struct Collector<'a, 'o> {
    file: &'a str,
    dir: &'o mut Dir<'a>,
    out: &'o mut Vec<Finding>,
    is_override: bool,
}

impl<'a> Collector<'a, '_> {
    fn insert<K: Ord>(
        &mut self,
        map_sel: for<'r> fn(&'r mut Dir<'a>) -> &'r mut BTreeMap<K, Decl<'a>>,
        key: K,
        address: String,
        body: &'a Value,
    ) {
        let file = self.file;
        let is_override = self.is_override;
        let map = map_sel(self.dir);
        if let Some(prev) = map.get(&key) {
            if !is_override {
                let msg = format!(
                    "duplicate declaration of `{address}` (already declared in {})",
                    prev.file
                );
                finding(self.out, file, &address, msg);
            }
            self.dir.shadowed.push(Decl { file, body });
            return;
        }
        map.insert(key, Decl { file, body });
    }

    /// `{ LABEL: body | [body...] }` with bodies that must be objects.
    fn labeled(&mut self, kind: &str, v: &'a Value) -> Vec<(&'a str, &'a Value)> {
        let mut res = Vec::new();
        let Some(levels) = objects(v) else {
            finding(
                self.out,
                self.file,
                kind,
                format!("`{kind}` must be an object, got {}", json_kind(v)),
            );
            return res;
        };
        for m in levels {
            for (label, body) in m {
                if label == "//" {
                    continue;
                }
                match body {
                    Value::Object(_) => res.push((label.as_str(), body)),
                    Value::Array(items) if items.iter().all(Value::is_object) => {
                        res.extend(items.iter().map(|b| (label.as_str(), b)));
                    }
                    other => finding(
                        self.out,
                        self.file,
                        &format!("{kind}.{label}"),
                        format!("block body must be an object, got {}", json_kind(other)),
                    ),
                }
            }
        }
        res
    }

    fn typed(
        &mut self,
        kind: &str,
        v: &'a Value,
        map_sel: for<'r> fn(&'r mut Dir<'a>) -> &'r mut TypedDecls<'a>,
    ) {
        let Some(levels) = objects(v) else {
            finding(
                self.out,
                self.file,
                kind,
                format!("`{kind}` must be an object, got {}", json_kind(v)),
            );
            return;
        };
        for m in levels {
            for (ty, inner) in m {
                if ty == "//" {
                    continue;
                }
                let label = if kind == "resource" {
                    ty.clone()
                } else {
                    format!("{kind}.{ty}")
                };
                for (name, body) in self.labeled(&label, inner) {
                    let address = format!("{label}.{name}");
                    self.insert(map_sel, (ty.clone(), name.to_string()), address, body);
                }
            }
        }
    }

    fn top_level(&mut self, key: &'a str, v: &'a Value) {
        match key {
            "//" => {}
            "terraform" | "moved" | "import" | "removed" => {
                if objects(v).is_none() {
                    finding(
                        self.out,
                        self.file,
                        key,
                        format!("`{key}` must be an object, got {}", json_kind(v)),
                    );
                    return;
                }
                // `objects` succeeded: an object or an array of objects.
                let bodies: Vec<&'a Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    _ => vec![v],
                };
                let target = match key {
                    "terraform" => &mut self.dir.terraform,
                    "moved" => &mut self.dir.moved,
                    "import" => &mut self.dir.imports,
                    _ => &mut self.dir.removed,
                };
                target.extend(bodies.into_iter().map(|body| Decl {
                    file: self.file,
                    body,
                }));
            }
            "variable" | "output" | "module" | "check" => {
                let prefix = match key {
                    "variable" => "var",
                    other => other,
                };
                for (name, body) in self.labeled(prefix, v) {
                    let sel: for<'r> fn(&'r mut Dir<'a>) -> &'r mut BTreeMap<String, Decl<'a>> =
                        match key {
                            "variable" => |d| &mut d.variables,
                            "output" => |d| &mut d.outputs,
                            "module" => |d| &mut d.modules,
                            _ => |d| &mut d.checks,
                        };
                    self.insert(sel, name.to_string(), format!("{prefix}.{name}"), body);
                }
            }
            "locals" => {
                let Some(items) = objects(v) else {
                    finding(
                        self.out,
                        self.file,
                        "locals",
                        format!("`locals` must be an object, got {}", json_kind(v)),
                    );
                    return;
                };
                for m in items {
                    for (name, value) in m {
                        if name == "//" {
                            continue;
                        }
                        self.insert(
                            |d| &mut d.locals,
                            name.clone(),
                            format!("local.{name}"),
                            value,
                        );
                    }
                }
            }
            "resource" => self.typed("resource", v, |d| &mut d.resources),
            "data" => self.typed("data", v, |d| &mut d.data),
            "ephemeral" => self.typed("ephemeral", v, |d| &mut d.ephemeral),
            "provider" => {
                for (name, body) in self.labeled("provider", v) {
                    let Some(body) = body.as_object() else {
                        continue;
                    };
                    let alias = match body.get("alias") {
                        None => None,
                        Some(Value::String(a)) => Some(a.clone()),
                        Some(other) => {
                            finding(
                                self.out,
                                self.file,
                                &format!("provider.{name}"),
                                format!("`alias` must be a string, got {}", json_kind(other)),
                            );
                            None
                        }
                    };
                    let decl = ProviderDecl {
                        file: self.file,
                        name: name.to_string(),
                        alias,
                        body,
                    };
                    if let Some(prev) = self
                        .dir
                        .providers
                        .iter()
                        .find(|p| p.name == decl.name && p.alias == decl.alias)
                    {
                        if !self.is_override {
                            let msg = format!(
                                "duplicate provider configuration `{}` (already in {})",
                                decl.address(),
                                prev.file
                            );
                            finding(self.out, self.file, &decl.address(), msg);
                        }
                        continue;
                    }
                    self.dir.providers.push(decl);
                }
            }
            other => finding(
                self.out,
                self.file,
                other,
                format!(
                    "unknown top-level key `{other}` (expected terraform, provider, variable, \
                     locals, output, module, resource, data, ephemeral, check, moved, import, \
                     removed)"
                ),
            ),
        }
    }
}

impl<'a> Tree<'a> {
    /// Group `*.tf.json` files by directory and collect declarations.
    /// Files with other names are ignored.
    pub fn build(files: &'a BTreeMap<String, Value>, out: &mut Vec<Finding>) -> Tree<'a> {
        let mut tree = Tree::default();
        for (path, doc) in files {
            if !path.ends_with(".tf.json") {
                continue;
            }
            let norm = normalize(path);
            let dir_name = match norm.rsplit_once('/') {
                Some((d, _)) => d.to_string(),
                None => String::new(),
            };
            let dir = tree.dirs.entry(dir_name).or_default();
            dir.files.push(path.as_str());
            let Some(top) = doc.as_object() else {
                finding(
                    out,
                    path,
                    "(file)",
                    format!(
                        "a .tf.json file must hold a JSON object, got {}",
                        json_kind(doc)
                    ),
                );
                continue;
            };
            let mut c = Collector {
                file: path.as_str(),
                dir,
                out,
                is_override: is_override(path),
            };
            for (k, v) in top {
                c.top_level(k.as_str(), v);
            }
        }
        tree
    }
}
