//! Typed view of `schema/providers.json` (the `terraform providers schema
//! -json` format, subset vendored by `scripts/vendor-schema.py`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::types::AttrType;

/// Address of Terraform's builtin provider (`terraform_data`,
/// `terraform_remote_state`).
pub const BUILTIN_TERRAFORM: &str = "terraform.io/builtin/terraform";

/// Errors loading a provider schema document.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The text is not JSON.
    #[error("provider schema is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON is not in the `terraform providers schema -json` format.
    #[error("provider schema: unsupported document: {0}")]
    Format(String),
    /// An attribute `type` is not a cty type expression this module knows.
    #[error("provider schema: {location}: bad attribute type {found}")]
    BadType {
        /// Where in the document (provider / kind / type / attribute path).
        location: String,
        /// The offending JSON, abbreviated.
        found: String,
    },
    /// A nested block or nested attribute has an unknown nesting mode.
    #[error("provider schema: {location}: unknown nesting_mode {found:?}")]
    BadNestingMode {
        /// Where in the document.
        location: String,
        /// The nesting mode found.
        found: String,
    },
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestingMode {
    /// At most one block, given as an object.
    Single,
    /// Exactly one block (absent means all defaults).
    Group,
    /// Ordered blocks.
    List,
    /// Unordered blocks.
    Set,
    /// Blocks with one label each (`{label: body}`).
    Map,
}

impl NestingMode {
    fn parse(s: &str, location: &str) -> Result<Self, SchemaError> {
        Ok(match s {
            "single" => NestingMode::Single,
            "group" => NestingMode::Group,
            "list" => NestingMode::List,
            "set" => NestingMode::Set,
            "map" => NestingMode::Map,
            other => {
                return Err(SchemaError::BadNestingMode {
                    location: location.to_string(),
                    found: other.to_string(),
                })
            }
        })
    }
}

/// One attribute of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeSchema {
    /// The attribute's value type (nested attribute types are flattened to
    /// the equivalent object / collection type).
    pub ty: AttrType,
    /// Must be set.
    pub required: bool,
    /// May be set.
    pub optional: bool,
    /// The provider may set it. (In the rebuilt AWS schema this is reliable
    /// only for computed-only attributes.)
    pub computed: bool,
    /// Marked sensitive (never in the rebuilt AWS schema).
    pub sensitive: bool,
}

impl AttributeSchema {
    /// Computed and neither required nor optional: configuration must not set it.
    pub fn is_computed_only(&self) -> bool {
        self.computed && !self.optional && !self.required
    }
}

/// A nested block type.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedBlockSchema {
    /// How the block repeats.
    pub nesting: NestingMode,
    /// Minimum number of blocks (0 when not limited).
    pub min_items: u64,
    /// Maximum number of blocks, if limited. `single`/`group` imply 1.
    pub max_items: Option<u64>,
    /// The block's own schema.
    pub block: BlockSchema,
}

/// Schema of a block: a resource, data source, ephemeral resource, provider
/// configuration or nested block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlockSchema {
    /// Attributes by name.
    pub attributes: BTreeMap<String, AttributeSchema>,
    /// Nested block types by name.
    pub block_types: BTreeMap<String, NestedBlockSchema>,
    /// The block's content is unknown (`x_opaque` in the rebuilt AWS schema):
    /// do not validate inside it.
    pub opaque: bool,
}

impl BlockSchema {
    /// The attribute `name`, if any.
    pub fn attribute(&self, name: &str) -> Option<&AttributeSchema> {
        self.attributes.get(name)
    }

    /// The nested block type `name`, if any.
    pub fn block_type(&self, name: &str) -> Option<&NestedBlockSchema> {
        self.block_types.get(name)
    }

    /// `name` is an attribute or a nested block type.
    pub fn has_member(&self, name: &str) -> bool {
        self.attributes.contains_key(name) || self.block_types.contains_key(name)
    }
}

/// The schemas of one provider.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProviderSchema {
    /// The provider configuration block.
    pub provider: BlockSchema,
    /// Managed resource types.
    pub resources: BTreeMap<String, BlockSchema>,
    /// Data source types.
    pub data_sources: BTreeMap<String, BlockSchema>,
    /// Ephemeral resource types.
    pub ephemeral: BTreeMap<String, BlockSchema>,
}

/// Parsed provider schemas (`schema/providers.json`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schemas {
    providers: BTreeMap<String, ProviderSchema>,
}

static VENDORED: OnceLock<Schemas> = OnceLock::new();
const VENDORED_JSON: &str = include_str!("../../../schema/providers.json");
static VENDORED_5_100: OnceLock<Schemas> = OnceLock::new();
const VENDORED_5_100_JSON: &str = include_str!("../../../schema/providers-5.100.0.json");

/// The provider versions the generated tree is checked against, oldest
/// first: the real 5.100.0 schema (`scripts/provider-schema.sh`) and the
/// 6.25 subset rebuilt from the CDKTF bindings.
pub const AWS_VERSIONS: [&str; 2] = ["aws 5.100.0", "aws 6.25.0"];

/// The provider local name a resource / data / ephemeral type belongs to by
/// Terraform's default rule: the prefix before the first `_`
/// (`aws_vpc` → `aws`, `terraform_data` → `terraform`).
pub fn provider_of_type(type_name: &str) -> &str {
    type_name.split('_').next().unwrap_or(type_name)
}

impl Schemas {
    /// The schema vendored at build time from `schema/providers.json`.
    ///
    /// # Panics
    /// Only if the vendored file does not parse, which the test suite rules out.
    pub fn vendored() -> &'static Schemas {
        VENDORED.get_or_init(|| {
            Schemas::from_json(VENDORED_JSON)
                .expect("schema/providers.json is vendored and tested to parse")
        })
    }

    /// The real provider 5.100.0 schema vendored from
    /// `schema/providers-5.100.0.json`.
    ///
    /// # Panics
    /// Only if the vendored file does not parse, which the test suite rules out.
    pub fn vendored_5_100() -> &'static Schemas {
        VENDORED_5_100.get_or_init(|| {
            Schemas::from_json(VENDORED_5_100_JSON)
                .expect("schema/providers-5.100.0.json is vendored and tested to parse")
        })
    }

    /// Every vendored schema with its label ([`AWS_VERSIONS`]), in order.
    pub fn vendored_versions() -> [(&'static str, &'static Schemas); 2] {
        [
            (AWS_VERSIONS[0], Schemas::vendored_5_100()),
            (AWS_VERSIONS[1], Schemas::vendored()),
        ]
    }

    /// Parse a `terraform providers schema -json` document.
    pub fn from_json(text: &str) -> Result<Schemas, SchemaError> {
        let doc: Value = serde_json::from_str(text)?;
        let root = doc
            .as_object()
            .ok_or_else(|| SchemaError::Format("top level is not an object".into()))?;
        match root.get("format_version").and_then(Value::as_str) {
            Some(v) if v.starts_with("1.") => {}
            Some(v) => {
                return Err(SchemaError::Format(format!(
                    "format_version {v:?} is not 1.x"
                )))
            }
            None => return Err(SchemaError::Format("no format_version".into())),
        }
        let provs = root
            .get("provider_schemas")
            .and_then(Value::as_object)
            .ok_or_else(|| SchemaError::Format("no provider_schemas object".into()))?;
        let mut providers = BTreeMap::new();
        for (addr, p) in provs {
            let p = p
                .as_object()
                .ok_or_else(|| SchemaError::Format(format!("{addr}: not an object")))?;
            let provider = match p.get("provider") {
                Some(s) => parse_schema(s, &format!("{addr} provider"))?,
                None => BlockSchema::default(),
            };
            let kinds = |key: &str| -> Result<BTreeMap<String, BlockSchema>, SchemaError> {
                let mut out = BTreeMap::new();
                match p.get(key) {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(m)) => {
                        for (name, s) in m {
                            out.insert(name.clone(), parse_schema(s, &format!("{addr} {name}"))?);
                        }
                    }
                    Some(_) => {
                        return Err(SchemaError::Format(format!(
                            "{addr}: {key} is not an object"
                        )))
                    }
                }
                Ok(out)
            };
            let ps = ProviderSchema {
                provider,
                resources: kinds("resource_schemas")?,
                data_sources: kinds("data_source_schemas")?,
                ephemeral: kinds("ephemeral_resource_schemas")?,
            };
            providers.insert(addr.clone(), ps);
        }
        Ok(Schemas { providers })
    }

    /// Provider addresses present, e.g. `registry.terraform.io/hashicorp/aws`.
    pub fn provider_addresses(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }

    /// The provider schemas for a provider local name (`aws`, `random`,
    /// `terraform`): the address whose last segment is that name,
    /// preferring `registry.terraform.io/hashicorp/` and `terraform.io/builtin/`.
    pub fn provider_by_name(&self, local_name: &str) -> Option<&ProviderSchema> {
        if local_name == "terraform" {
            return self.providers.get(BUILTIN_TERRAFORM);
        }
        let preferred = format!("registry.terraform.io/hashicorp/{local_name}");
        if let Some(p) = self.providers.get(&preferred) {
            return Some(p);
        }
        self.providers
            .iter()
            .find(|(addr, _)| addr.rsplit('/').next() == Some(local_name))
            .map(|(_, p)| p)
    }

    /// The provider configuration block schema for a local name (`aws`).
    pub fn provider(&self, local_name: &str) -> Option<&BlockSchema> {
        self.provider_by_name(local_name).map(|p| &p.provider)
    }

    /// A managed resource type (incl. `terraform_data`).
    pub fn resource(&self, type_name: &str) -> Option<&BlockSchema> {
        self.provider_by_name(provider_of_type(type_name))?
            .resources
            .get(type_name)
    }

    /// A data source type (incl. `terraform_remote_state`).
    pub fn data_source(&self, type_name: &str) -> Option<&BlockSchema> {
        self.provider_by_name(provider_of_type(type_name))?
            .data_sources
            .get(type_name)
    }

    /// An ephemeral resource type.
    pub fn ephemeral(&self, type_name: &str) -> Option<&BlockSchema> {
        self.provider_by_name(provider_of_type(type_name))?
            .ephemeral
            .get(type_name)
    }

    /// The resource type has a top-level `tags` attribute that configuration
    /// may set (not computed-only).
    pub fn is_taggable(&self, resource_type: &str) -> bool {
        self.resource(resource_type)
            .and_then(|s| s.attribute("tags"))
            .is_some_and(|a| !a.is_computed_only())
    }
}

fn parse_schema(v: &Value, location: &str) -> Result<BlockSchema, SchemaError> {
    let obj = v
        .as_object()
        .ok_or_else(|| SchemaError::Format(format!("{location}: schema is not an object")))?;
    match obj.get("block") {
        Some(b) => parse_block(b, location),
        None => Ok(BlockSchema::default()),
    }
}

fn flag(m: &Map<String, Value>, key: &str) -> bool {
    m.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn parse_block(v: &Value, location: &str) -> Result<BlockSchema, SchemaError> {
    let obj = v
        .as_object()
        .ok_or_else(|| SchemaError::Format(format!("{location}: block is not an object")))?;
    let mut out = BlockSchema {
        opaque: flag(obj, "x_opaque"),
        ..BlockSchema::default()
    };
    if let Some(attrs) = obj.get("attributes").and_then(Value::as_object) {
        for (name, a) in attrs {
            let loc = format!("{location}.{name}");
            out.attributes
                .insert(name.clone(), parse_attribute(a, &loc)?);
        }
    }
    if let Some(blocks) = obj.get("block_types").and_then(Value::as_object) {
        for (name, b) in blocks {
            let loc = format!("{location}.{name}");
            let bo = b
                .as_object()
                .ok_or_else(|| SchemaError::Format(format!("{loc}: not an object")))?;
            let nesting = NestingMode::parse(
                bo.get("nesting_mode")
                    .and_then(Value::as_str)
                    .unwrap_or("list"),
                &loc,
            )?;
            let block = match bo.get("block") {
                Some(inner) => parse_block(inner, &loc)?,
                None => BlockSchema::default(),
            };
            let min_items = bo.get("min_items").and_then(Value::as_u64).unwrap_or(0);
            let max_items = match (nesting, bo.get("max_items").and_then(Value::as_u64)) {
                (NestingMode::Single | NestingMode::Group, _) => Some(1),
                (_, Some(0)) | (_, None) => None,
                (_, Some(n)) => Some(n),
            };
            out.block_types.insert(
                name.clone(),
                NestedBlockSchema {
                    nesting,
                    min_items,
                    max_items,
                    block,
                },
            );
        }
    }
    Ok(out)
}

fn parse_attribute(v: &Value, location: &str) -> Result<AttributeSchema, SchemaError> {
    let a = v
        .as_object()
        .ok_or_else(|| SchemaError::Format(format!("{location}: attribute is not an object")))?;
    let ty = match (a.get("type"), a.get("nested_type")) {
        (Some(t), _) => AttrType::from_cty_json(t).ok_or_else(|| SchemaError::BadType {
            location: location.to_string(),
            found: abbreviate(t),
        })?,
        (None, Some(n)) => nested_type(n, location)?,
        (None, None) => {
            return Err(SchemaError::BadType {
                location: location.to_string(),
                found: "neither type nor nested_type".into(),
            })
        }
    };
    Ok(AttributeSchema {
        ty,
        required: flag(a, "required"),
        optional: flag(a, "optional"),
        computed: flag(a, "computed"),
        sensitive: flag(a, "sensitive"),
    })
}

/// Protocol-6 nested attribute types → the equivalent cty type.
fn nested_type(v: &Value, location: &str) -> Result<AttrType, SchemaError> {
    let o = v
        .as_object()
        .ok_or_else(|| SchemaError::Format(format!("{location}: nested_type is not an object")))?;
    let mut attrs = BTreeMap::new();
    let mut optional = BTreeSet::new();
    if let Some(m) = o.get("attributes").and_then(Value::as_object) {
        for (name, a) in m {
            let parsed = parse_attribute(a, &format!("{location}.{name}"))?;
            if !parsed.required {
                optional.insert(name.clone());
            }
            attrs.insert(name.clone(), parsed.ty);
        }
    }
    let obj = AttrType::Object(attrs, optional);
    let mode = o
        .get("nesting_mode")
        .and_then(Value::as_str)
        .unwrap_or("single");
    Ok(match NestingMode::parse(mode, location)? {
        NestingMode::Single | NestingMode::Group => obj,
        NestingMode::List => AttrType::List(Box::new(obj)),
        NestingMode::Set => AttrType::Set(Box::new(obj)),
        NestingMode::Map => AttrType::Map(Box::new(obj)),
    })
}

fn abbreviate(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}
