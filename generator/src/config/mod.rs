//! `envs/<env>/env.toml`: the hand-written input of one environment.
//!
//! Loading parses and type-checks the file (the first syntax or type error,
//! with line and column), then validates it and reports every semantic error
//! of the file at once.

pub mod validate;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use validate::{validate, FieldError, AWS_REGIONS};

/// The environment file, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvFile {
    /// Appended to every name: `{resource-type}-{environment_suffix}`.
    pub environment_suffix: String,
    /// Optional guard, emitted as provider `allowed_account_ids`.
    pub account_id: Option<String>,
    pub regions: Regions,
    pub network: Network,
    pub database: Database,
    pub lambda: Lambda,
    pub state: State,
    /// Who may call the payment routes, and the edge firewall's rate limit.
    pub api: Api,
    pub dns: Option<Dns>,
}

/// The payment API's callers and firewall.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// 12-digit account ids or IAM role/user ARNs (partition `aws`) that may
    /// invoke POST /payments and GET /payments/{id} (SigV4, AWS_IAM).
    pub allowed_principals: Vec<String>,
    /// Requests per source IP in a 5-minute window before the WAF
    /// rate-based rule blocks it.
    #[serde(default = "default_rate_limit")]
    pub rate_limit_per_5min: u32,
}

/// WAF rate limit when env.toml does not set it.
pub const DEFAULT_RATE_LIMIT_PER_5MIN: u32 = 2000;

fn default_rate_limit() -> u32 {
    DEFAULT_RATE_LIMIT_PER_5MIN
}

/// The two regions of the active-passive pair.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regions {
    pub primary: String,
    pub dr: String,
}

/// VPC address space per region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub primary_cidr: String,
    pub dr_cidr: String,
    /// Availability Zone ids (stable across accounts, unlike AZ names) of
    /// the private subnets; defaults exist for us-east-1 and us-east-2.
    pub primary_az_ids: Option<Vec<String>>,
    pub dr_az_ids: Option<Vec<String>>,
}

/// Default AZ ids per region: three zones where the region has them.
pub const DEFAULT_AZ_IDS: &[(&str, &[&str])] = &[
    ("us-east-1", &["use1-az1", "use1-az2", "use1-az4"]),
    ("us-east-2", &["use2-az1", "use2-az2", "use2-az3"]),
];

impl Network {
    /// The AZ ids of a region: the configured ones, or the defaults.
    pub fn az_ids(configured: Option<&Vec<String>>, region: &str) -> Option<Vec<String>> {
        configured.cloned().or_else(|| {
            DEFAULT_AZ_IDS
                .iter()
                .find(|(r, _)| *r == region)
                .map(|(_, ids)| ids.iter().map(|s| (*s).to_owned()).collect())
        })
    }
}

/// Aurora PostgreSQL settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// e.g. "16.6"
    pub engine_version: String,
    /// e.g. "db.r6g.large"; burstable classes are rejected.
    pub instance_class: String,
    #[serde(default = "default_db_name")]
    pub database_name: String,
    /// The IAM-authenticated database user of the payment function.
    #[serde(default = "default_db_user")]
    pub app_user: String,
}

fn default_db_name() -> String {
    "payments".to_owned()
}
fn default_db_user() -> String {
    "payment_app".to_owned()
}

/// Payment function settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lambda {
    pub memory_mb: u32,
    pub timeout_s: u32,
    /// Reserved concurrency of the function in each region.
    #[serde(default = "default_reserved_concurrency")]
    pub reserved_concurrency: u32,
}

/// Reserved concurrency when env.toml does not set it.
pub const DEFAULT_RESERVED_CONCURRENCY: u32 = 100;

fn default_reserved_concurrency() -> u32 {
    DEFAULT_RESERVED_CONCURRENCY
}

/// Where the Terraform state of every layer lives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub bucket: String,
    /// Must be the DR region, so state is readable while the primary is down.
    pub region: String,
}

/// DNS settings, used by the global layer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// The hosted zone, e.g. "payments.example.com".
    pub zone_name: String,
    /// Create the zone (true) or look up an existing public zone (false).
    #[serde(default = "yes")]
    pub create_zone: bool,
    /// A custom domain for client failover; absent means mode (a).
    pub custom_domain: Option<CustomDomain>,
}

fn yes() -> bool {
    true
}

/// A failover custom domain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDomain {
    /// e.g. "api.payments.example.com"; must be inside the zone.
    pub name: String,
    /// Existing ACM certificate ARNs per region; absent means managed
    /// certificates validated through the zone.
    pub certificate_arns: Option<CertificateArns>,
    /// Mutual TLS: the CA bundle clients' certificates must chain to.
    pub truststore: Option<Truststore>,
}

/// An mTLS truststore object in the primary payments bucket (S3
/// replication copies it, with the same version id, to the DR bucket).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Truststore {
    /// `s3://payments-{primary region}-{account}-{suffix}/KEY`
    pub uri: String,
    /// The S3 version id of the object.
    pub version: String,
}

impl Truststore {
    /// The bucket and key of the URI, when it is an `s3://BUCKET/KEY` URI.
    pub fn bucket_key(&self) -> Option<(&str, &str)> {
        self.uri
            .strip_prefix("s3://")
            .and_then(|r| r.split_once('/'))
            .filter(|(b, k)| !b.is_empty() && !k.is_empty())
    }
}

/// Existing ACM certificates, one per region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateArns {
    pub primary: String,
    pub dr: String,
}

/// A validated environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// The directory name under `envs/`.
    pub name: String,
    pub file: EnvFile,
}

/// Why an environment could not be loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{path}: cannot read: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: is a directory, expected a TOML file")]
    IsDirectory { path: PathBuf },
    #[error("{path}: not valid UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("{path}:{line}:{column}: {field}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        /// The key path, e.g. `lambda.memory_mb`, or `(file)`.
        field: String,
        message: String,
    },
    #[error("{path}: {} invalid field(s):{}", errors.len(), list(errors))]
    Invalid {
        path: PathBuf,
        errors: Vec<FieldError>,
    },
}

fn list(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("\n  {e}")).collect()
}

/// Reads and validates `path`; `name` is the environment name.
pub fn load(path: &Path, name: &str) -> Result<Env, ConfigError> {
    if path.is_dir() {
        return Err(ConfigError::IsDirectory {
            path: path.to_owned(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| ConfigError::Read {
        path: path.to_owned(),
        message: e.kind().to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::NotUtf8 {
        path: path.to_owned(),
        offset: e.utf8_error().valid_up_to(),
    })?;
    let file = parse(path, &text)?;
    let errors = validate(&file);
    if errors.is_empty() {
        Ok(Env {
            name: name.to_owned(),
            file,
        })
    } else {
        Err(ConfigError::Invalid {
            path: path.to_owned(),
            errors,
        })
    }
}

/// Parses the TOML text into the typed file (no semantic validation).
pub fn parse(path: &Path, text: &str) -> Result<EnvFile, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = match e.path().to_string() {
            p if p == "." || p.is_empty() => "(file)".to_owned(),
            p => p,
        };
        let inner = e.into_inner();
        let (line, column) = inner.span().map_or((1, 1), |s| line_col(text, s.start));
        ConfigError::Parse {
            path: path.to_owned(),
            line,
            column,
            field,
            message: match inner.message().trim() {
                "" => "invalid TOML (for example a control character outside a string)".to_owned(),
                m => m.to_owned(),
            },
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
    }
}
