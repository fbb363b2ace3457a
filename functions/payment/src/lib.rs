//! Payment-processing Lambda for the drgen active-passive DR stack.
//!
//! * `POST /payments` — validated, idempotent (DynamoDB session table, keys
//!   scoped per calling AWS account) payment creation recorded in the Aurora
//!   PostgreSQL ledger with the caller's account id.
//! * `GET /payments/{id}` — ledger read, for the account that created it.
//!
//! Both payment routes are `AWS_IAM`-authorized; a request without a caller
//! identity is refused with `403` ([`identity`]).
//! * `GET /health` — database + session-table probe; `?require=writable`
//!   (Route 53 failover) also fails while the database is read-only.
//! * `{"action":"migrate"}` direct invocation — schema migrations and the
//!   application role, as the master user (credentials from Secrets Manager).
//!
//! The library holds all logic; `src/main.rs` only wires it to the Lambda
//! runtime. Tests call [`handle_event`] with real API Gateway proxy events.

pub mod aws;
pub mod config;
pub mod db;
pub mod handler;
pub mod idempotency;
pub mod identity;
pub mod migrate;
pub mod validation;

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use serde_json::{json, Value};
use tracing::Instrument;

pub use config::Config;
pub use handler::ProxyResponse;

/// Error returned to the Lambda runtime (only for non-HTTP invocations and
/// unparseable events; HTTP failures are answered with status codes).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("unsupported event: {0}")]
    UnsupportedEvent(String),
    #[error("migration failed: {0}")]
    Migration(#[from] migrate::MigrateError),
    #[error(transparent)]
    Database(#[from] db::DbError),
}

/// Test-only failure hooks (feature `fault-injection`); inert otherwise.
#[derive(Debug, Default)]
pub struct Faults {
    #[cfg(feature = "fault-injection")]
    pub fail_before_commit: std::sync::atomic::AtomicBool,
    #[cfg(feature = "fault-injection")]
    pub fail_mark_completed: std::sync::atomic::AtomicBool,
    #[cfg(feature = "fault-injection")]
    pub fail_release: std::sync::atomic::AtomicBool,
}

impl Faults {
    /// Abort the ledger transaction just before COMMIT.
    pub fn fail_before_commit(&self) -> bool {
        #[cfg(feature = "fault-injection")]
        {
            self.fail_before_commit
                .load(std::sync::atomic::Ordering::SeqCst)
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            false
        }
    }

    /// Fail the "mark completed" DynamoDB write (after the ledger commit).
    pub fn fail_mark_completed(&self) -> bool {
        #[cfg(feature = "fault-injection")]
        {
            self.fail_mark_completed
                .load(std::sync::atomic::Ordering::SeqCst)
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            false
        }
    }

    /// Fail the release (delete) of an in_flight record after a ledger failure.
    pub fn fail_release(&self) -> bool {
        #[cfg(feature = "fault-injection")]
        {
            self.fail_release.load(std::sync::atomic::Ordering::SeqCst)
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            false
        }
    }
}

/// State shared by all invocations of one execution environment.
#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub pool: db::Pool,
    pub store: idempotency::Store,
    pub aws: aws::AwsClient,
    pub faults: Faults,
}

impl State {
    /// Builds the shared state. Connects lazily: nothing here touches the network.
    pub fn new(config: Config) -> Result<Arc<Self>, aws::AwsError> {
        let aws = aws::AwsClient::new(&config.region, config.credentials.clone())?;
        let store = idempotency::Store::new(
            aws.clone(),
            config.dynamodb_url(),
            config.session_table.clone(),
            config.idempotency_ttl,
            config.idempotency_lease,
            config.dynamodb_timeout,
        );
        let pool = db::Pool::new(
            config.db.clone(),
            config.region.clone(),
            config.credentials.clone(),
        );
        Ok(Arc::new(Self {
            config,
            pool,
            store,
            aws,
            faults: Faults::default(),
        }))
    }

    /// Applies pending migrations and ensures the application role, on a
    /// dedicated connection as the Aurora **master** user: its credentials
    /// are read from the Secrets Manager secret named by `DB_MASTER_SECRET`
    /// (SigV4-signed `GetSecretValue`), the connection uses the same host and
    /// TLS verification as the handler's. Only this action reads the secret.
    pub async fn migrate(&self) -> Result<migrate::Report, HandlerError> {
        use migrate::MigrateError;
        let secret_id = self.config.master_secret.as_deref().ok_or_else(|| {
            MigrateError::Config(
                "DB_MASTER_SECRET is not set: migrate connects as the Aurora master user, whose \
                 credentials are read from the Secrets Manager secret it names \
                 (e.g. aurora-master-dev)"
                    .into(),
            )
        })?;
        let app_user = self.config.db.user.as_str();
        // Fail on a bad DB_USER before any network call.
        migrate::validate_app_role_name(app_user, None).map_err(MigrateError::Config)?;
        let secret = self
            .aws
            .get_secret_string(
                &self.config.secretsmanager_url(),
                secret_id,
                self.config.secrets_timeout,
            )
            .await
            .map_err(|e| {
                MigrateError::MasterSecret(format!("cannot read secret {secret_id:?}: {e}"))
            })?;
        let master = migrate::MasterCredentials::from_secret_string(&secret)
            .map_err(|e| MigrateError::MasterSecret(format!("secret {secret_id:?}: {e}")))?;
        drop(secret);
        migrate::validate_app_role_name(app_user, Some(&master.username))
            .map_err(MigrateError::Config)?;
        let migrate::MasterCredentials { username, password } = master;
        let mut client = self
            .pool
            .connect_as(&username, password)
            .await
            .map_err(|source| MigrateError::MasterConnect {
                user: username.clone(),
                source,
            })?;
        let app = migrate::AppRole {
            name: app_user,
            master_user: &username,
            iam_role: migrate::RDS_IAM_ROLE,
        };
        Ok(migrate::run(&mut client, &app).await?)
    }
}

/// Entry point for every invocation: an API Gateway proxy event, or a direct
/// invocation `{"action":"migrate"}`.
pub async fn handle_event(
    state: &State,
    event: Value,
    request_id: &str,
) -> Result<Value, HandlerError> {
    if let Some(action) = event.get("action") {
        let span = tracing::info_span!("invoke", request_id, action = %action);
        return async {
            match action.as_str() {
                Some("migrate") => {
                    let report = state.migrate().await?;
                    tracing::info!(applied = ?report.applied, current_version = report.current_version, app_role = ?report.app_role, "migrations done");
                    Ok(json!({
                        "status": "ok",
                        "applied": report.applied,
                        "current_version": report.current_version,
                        "app_role": report.app_role,
                    }))
                }
                _ => Err(HandlerError::UnsupportedEvent(format!("unknown action {action}"))),
            }
        }
        .instrument(span)
        .await;
    }
    if event.get("httpMethod").is_some() {
        let proxy: ApiGatewayProxyRequest = serde_json::from_value(event).map_err(|e| {
            HandlerError::UnsupportedEvent(format!("malformed API Gateway proxy event: {e}"))
        })?;
        let apigw_request_id = proxy.request_context.request_id.clone().unwrap_or_default();
        let span = tracing::info_span!("invoke", request_id, apigw_request_id = %apigw_request_id);
        let response = handler::handle_proxy(state, &proxy, request_id)
            .instrument(span)
            .await;
        return Ok(serde_json::to_value(response).unwrap_or(Value::Null));
    }
    Err(HandlerError::UnsupportedEvent(
        "expected an API Gateway REST proxy event or {\"action\":\"migrate\"}".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn state(extra: &[(&str, &str)]) -> Arc<State> {
        let mut env: HashMap<&str, &str> = [
            ("SESSION_TABLE", "sessions-x"),
            ("DB_HOST", "127.0.0.1"),
            ("DB_PORT", "1"),
            ("DB_NAME", "payments"),
            ("DB_USER", "payment_app"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "akid"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("SECRETSMANAGER_ENDPOINT_URL", "http://127.0.0.1:1"),
        ]
        .into_iter()
        .collect();
        env.extend(extra.iter().copied());
        let config = Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
        State::new(config).unwrap()
    }

    #[tokio::test]
    async fn migrate_without_master_secret_is_a_clear_error() {
        let s = state(&[]);
        let err = handle_event(&s, json!({ "action": "migrate" }), "r1")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("DB_MASTER_SECRET is not set"), "{text}");
        assert!(text.contains("master user"), "{text}");
    }

    #[tokio::test]
    async fn migrate_rejects_a_bad_db_user_before_any_call() {
        let s = state(&[
            ("DB_MASTER_SECRET", "aurora-master-dev"),
            ("DB_USER", "Bad-User"),
        ]);
        let err = s.migrate().await.unwrap_err().to_string();
        assert!(err.contains("not a valid role name"), "{err}");
    }

    #[tokio::test]
    async fn migrate_reports_an_unreachable_secrets_endpoint() {
        let s = state(&[("DB_MASTER_SECRET", "aurora-master-dev")]);
        let err = s.migrate().await.unwrap_err().to_string();
        assert!(
            err.contains("cannot read secret \"aurora-master-dev\""),
            "{err}"
        );
    }
}
