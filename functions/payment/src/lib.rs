//! Payment-processing Lambda for the drgen active-passive DR stack.
//!
//! * `POST /payments` — validated, idempotent (DynamoDB session table) payment
//!   creation recorded in the Aurora PostgreSQL ledger.
//! * `GET /payments/{id}` — ledger read.
//! * `GET /health` — database + session-table probe for Route 53.
//! * `{"action":"migrate"}` direct invocation — schema migrations.
//!
//! The library holds all logic; `src/main.rs` only wires it to the Lambda
//! runtime. Tests call [`handle_event`] with real API Gateway proxy events.

pub mod aws;
pub mod config;
pub mod db;
pub mod handler;
pub mod idempotency;
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

    /// Applies pending migrations on a dedicated connection.
    pub async fn migrate(&self) -> Result<migrate::Report, HandlerError> {
        let mut client = self.pool.connect().await?;
        Ok(migrate::run(&mut client).await?)
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
                    tracing::info!(applied = ?report.applied, current_version = report.current_version, "migrations done");
                    Ok(json!({ "status": "ok", "applied": report.applied, "current_version": report.current_version }))
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
