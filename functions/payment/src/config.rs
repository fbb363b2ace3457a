//! Runtime configuration, read once at cold start from environment variables.
//!
//! Production variables (set by the drgen Terraform generator):
//! `SESSION_TABLE`, `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_USER`,
//! `DB_MASTER_SECRET` (read only by the migrate action), `REGION_ROLE`,
//! `TOPIC_ARN`, `MAX_AMOUNT_MINOR`; `AWS_REGION` comes from the Lambda runtime.
//!
//! Test-only overrides (never set them in a deployed function):
//! `DYNAMODB_ENDPOINT_URL`, `SNS_ENDPOINT_URL`, `SECRETSMANAGER_ENDPOINT_URL`
//! (point the AWS clients at a local moto server), `DB_PASSWORD` (static
//! password for `DB_USER` instead of an RDS IAM auth token) and
//! `DB_SSLMODE=disable` (plain TCP to a local PostgreSQL).

use std::fmt;
use std::time::Duration;

use aws_credential_types::Credentials;

/// Default upper bound for `amount_minor`.
pub const DEFAULT_MAX_AMOUNT_MINOR: i64 = 100_000_000;

/// How the database connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// TLS, certificate verified against the vendored Amazon RDS CA bundle and
    /// the host name checked (libpq's `verify-full`). The production default.
    VerifyFull,
    /// Plain TCP. Test-only (`DB_SSLMODE=disable`).
    Disable,
}

/// Database settings.
#[derive(Clone)]
pub struct DbConfig {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub user: String,
    /// Static password (test-only). `None` means "use an RDS IAM auth token".
    pub password: Option<String>,
    pub ssl_mode: SslMode,
    /// Maximum number of pooled connections per execution environment.
    pub pool_size: usize,
    pub connect_timeout: Duration,
    /// Longest wait for a free pooled connection.
    pub pool_wait: Duration,
    /// Server-side `statement_timeout` for every session.
    pub statement_timeout: Duration,
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        f.debug_struct("DbConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("name", &self.name)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ssl_mode", &self.ssl_mode)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// Everything the handler needs to know about its environment.
#[derive(Clone, Debug)]
pub struct Config {
    pub session_table: String,
    pub db: DbConfig,
    /// AWS region this function runs in (`AWS_REGION`).
    pub region: String,
    /// `primary` or `dr`; informational only.
    pub region_role: String,
    /// SNS topic for failure notifications; `None` disables them.
    pub topic_arn: Option<String>,
    pub max_amount_minor: i64,
    /// Test-only endpoint override for DynamoDB.
    pub dynamodb_endpoint: Option<String>,
    /// Test-only endpoint override for SNS.
    pub sns_endpoint: Option<String>,
    /// Name (or ARN) of the Secrets Manager secret holding the Aurora master
    /// credentials as JSON `{"username": ..., "password": ...}`
    /// (`DB_MASTER_SECRET`). Only the migrate action reads it; the request
    /// handler never needs it, so it is optional here.
    pub master_secret: Option<String>,
    /// Test-only endpoint override for Secrets Manager.
    pub secretsmanager_endpoint: Option<String>,
    /// Budget for the `GetSecretValue` call of the migrate action.
    pub secrets_timeout: Duration,
    /// TTL of idempotency records (`expires_at`).
    pub idempotency_ttl: Duration,
    /// How long an `in_flight` idempotency record blocks other attempts with the
    /// same key. After it lapses (the owner crashed or timed out) another
    /// attempt may take the record over; the ledger's UNIQUE idempotency key
    /// still guarantees a single payment row. Must exceed the Lambda timeout.
    pub idempotency_lease: Duration,
    /// Per-dependency budget of `GET /health`.
    pub health_timeout: Duration,
    /// Budget for the best-effort SNS publish.
    pub notify_timeout: Duration,
    /// Budget for one DynamoDB call.
    pub dynamodb_timeout: Duration,
    /// AWS credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
    /// `AWS_SESSION_TOKEN`, which the Lambda runtime sets for the function's
    /// execution role (fixed for the life of the execution environment).
    /// `None` makes every AWS call fail with a credentials error.
    pub credentials: Option<Credentials>,
}

/// Missing or malformed environment variables (all of them, not just the first).
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct ConfigError(pub Vec<String>);

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `lookup` (used by tests).
    pub fn from_lookup<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut errors = Vec::new();
        let mut required = |k: &str| {
            get(k).unwrap_or_else(|| {
                errors.push(format!("{k} is required"));
                String::new()
            })
        };
        let session_table = required("SESSION_TABLE");
        let host = required("DB_HOST");
        let name = required("DB_NAME");
        let user = required("DB_USER");
        let region = required("AWS_REGION");

        let port = match get("DB_PORT") {
            None => 5432,
            Some(p) => p.parse::<u16>().unwrap_or_else(|_| {
                errors.push(format!("DB_PORT must be a TCP port, got {p:?}"));
                5432
            }),
        };
        let max_amount_minor = match get("MAX_AMOUNT_MINOR") {
            None => DEFAULT_MAX_AMOUNT_MINOR,
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n > 0 => n,
                _ => {
                    errors.push(format!(
                        "MAX_AMOUNT_MINOR must be a positive integer, got {v:?}"
                    ));
                    DEFAULT_MAX_AMOUNT_MINOR
                }
            },
        };
        let ssl_mode = match get("DB_SSLMODE").as_deref() {
            None | Some("verify-full") | Some("require") => SslMode::VerifyFull,
            Some("disable") => SslMode::Disable,
            Some(other) => {
                errors.push(format!(
                    "DB_SSLMODE must be verify-full or disable (test-only), got {other:?}"
                ));
                SslMode::VerifyFull
            }
        };
        let pool_size = match get("DB_POOL_SIZE") {
            None => 2,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => n,
                _ => {
                    errors.push(format!("DB_POOL_SIZE must be 1..=64, got {v:?}"));
                    2
                }
            },
        };
        let region_role = get("REGION_ROLE").unwrap_or_else(|| "primary".to_owned());
        if region_role != "primary" && region_role != "dr" {
            errors.push(format!(
                "REGION_ROLE must be primary or dr, got {region_role:?}"
            ));
        }

        if !errors.is_empty() {
            return Err(ConfigError(errors));
        }
        Ok(Self {
            session_table,
            db: DbConfig {
                host,
                port,
                name,
                user,
                password: lookup("DB_PASSWORD").filter(|p| !p.is_empty()),
                ssl_mode,
                pool_size,
                connect_timeout: Duration::from_secs(3),
                pool_wait: Duration::from_secs(5),
                statement_timeout: Duration::from_secs(5),
            },
            region,
            region_role,
            topic_arn: get("TOPIC_ARN"),
            max_amount_minor,
            dynamodb_endpoint: get("DYNAMODB_ENDPOINT_URL"),
            sns_endpoint: get("SNS_ENDPOINT_URL"),
            master_secret: get("DB_MASTER_SECRET"),
            secretsmanager_endpoint: get("SECRETSMANAGER_ENDPOINT_URL"),
            secrets_timeout: Duration::from_secs(5),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            idempotency_lease: Duration::from_secs(60),
            health_timeout: Duration::from_secs(2),
            notify_timeout: Duration::from_secs(1),
            dynamodb_timeout: Duration::from_secs(3),
            credentials: match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
                (Some(id), Some(secret)) => Some(Credentials::new(
                    id,
                    secret,
                    get("AWS_SESSION_TOKEN"),
                    None,
                    "environment",
                )),
                _ => None,
            },
        })
    }

    /// DynamoDB endpoint URL (override or the regional public endpoint).
    pub fn dynamodb_url(&self) -> String {
        self.dynamodb_endpoint
            .clone()
            .unwrap_or_else(|| format!("https://dynamodb.{}.amazonaws.com/", self.region))
    }

    /// SNS endpoint URL (override or the regional public endpoint).
    pub fn sns_url(&self) -> String {
        self.sns_endpoint
            .clone()
            .unwrap_or_else(|| format!("https://sns.{}.amazonaws.com/", self.region))
    }

    /// Secrets Manager endpoint URL (override or the regional endpoint; inside
    /// the VPC the interface endpoint's private DNS resolves this name).
    pub fn secretsmanager_url(&self) -> String {
        self.secretsmanager_endpoint
            .clone()
            .unwrap_or_else(|| format!("https://secretsmanager.{}.amazonaws.com", self.region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    const BASE: &[(&str, &str)] = &[
        ("SESSION_TABLE", "sessions-abc"),
        ("DB_HOST", "db.example"),
        ("DB_NAME", "payments"),
        ("DB_USER", "payment_app"),
        ("AWS_REGION", "us-east-2"),
    ];

    #[test]
    fn defaults_apply() {
        let c = cfg(BASE).unwrap();
        assert_eq!(c.db.port, 5432);
        assert_eq!(c.max_amount_minor, DEFAULT_MAX_AMOUNT_MINOR);
        assert_eq!(c.db.ssl_mode, SslMode::VerifyFull);
        assert!(c.db.password.is_none());
        assert_eq!(
            c.dynamodb_url(),
            "https://dynamodb.us-east-2.amazonaws.com/"
        );
        assert_eq!(c.sns_url(), "https://sns.us-east-2.amazonaws.com/");
        assert_eq!(
            c.secretsmanager_url(),
            "https://secretsmanager.us-east-2.amazonaws.com"
        );
        assert!(c.topic_arn.is_none());
        // The handler does not need the master secret (only migrate reads it).
        assert!(c.master_secret.is_none());
    }

    #[test]
    fn master_secret_and_secretsmanager_override() {
        let mut pairs = BASE.to_vec();
        pairs.push(("DB_MASTER_SECRET", "aurora-master-dev"));
        pairs.push(("SECRETSMANAGER_ENDPOINT_URL", "http://127.0.0.1:5000"));
        let c = cfg(&pairs).unwrap();
        assert_eq!(c.master_secret.as_deref(), Some("aurora-master-dev"));
        assert_eq!(c.secretsmanager_url(), "http://127.0.0.1:5000");
    }

    #[test]
    fn reports_every_missing_variable() {
        let err = cfg(&[("DB_PORT", "x")]).unwrap_err();
        let text = err.to_string();
        for k in [
            "SESSION_TABLE",
            "DB_HOST",
            "DB_NAME",
            "DB_USER",
            "AWS_REGION",
            "DB_PORT",
        ] {
            assert!(text.contains(k), "{text}");
        }
    }

    #[test]
    fn debug_redacts_password() {
        let mut pairs = BASE.to_vec();
        pairs.push(("DB_PASSWORD", "hunter2"));
        let c = cfg(&pairs).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
