//! HTTP routing and the three endpoints.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::{error, info, warn};
use uuid::Uuid;

use crate::aws::AwsError;
use crate::db::{self, DbError, Inserted, NewPayment, Payment};
use crate::idempotency::{Acquire, Record, COMPLETED};
use crate::identity::{self, Caller, IdentityError};
use crate::validation::{self, FieldError, PaymentRequest};
use crate::State;

/// An API Gateway (REST, proxy integration) response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl ProxyResponse {
    fn json(status: u16, body: String) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert("Content-Type".to_owned(), "application/json".to_owned());
        headers.insert("Cache-Control".to_owned(), "no-store".to_owned());
        Self {
            status_code: status,
            headers,
            body,
            is_base64_encoded: false,
        }
    }

    fn with_header(mut self, k: &str, v: &str) -> Self {
        self.headers.insert(k.to_owned(), v.to_owned());
        self
    }

    /// Looks up a response header (exact name).
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).map(String::as_str)
    }

    /// Parses the body as JSON (convenience for tests and tools).
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// `{"error": {"code": ..., "message": ...}}`
pub fn error_response(status: u16, code: &str, message: &str) -> ProxyResponse {
    ProxyResponse::json(
        status,
        json!({ "error": { "code": code, "message": message } }).to_string(),
    )
}

fn validation_response(errors: &[FieldError]) -> ProxyResponse {
    ProxyResponse::json(
        400,
        json!({ "error": {
            "code": "validation_failed",
            "message": "the request is invalid; see details",
            "details": errors,
        }})
        .to_string(),
    )
}

/// The parts of a proxy event the handler uses.
#[derive(Debug)]
struct Request<'a> {
    method: &'a str,
    path: String,
    event: &'a ApiGatewayProxyRequest,
    body: Option<Vec<u8>>,
    request_id: &'a str,
}

impl Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.event
            .headers
            .get(name)
            .or_else(|| self.event.multi_value_headers.get(name))
            .and_then(|v| v.to_str().ok())
    }
}

/// Handles one API Gateway proxy event.
pub async fn handle_proxy(
    state: &State,
    event: &ApiGatewayProxyRequest,
    request_id: &str,
) -> ProxyResponse {
    let started = Instant::now();
    let method = event.http_method.as_str();
    let raw_path = event
        .path
        .clone()
        .or_else(|| event.request_context.resource_path.clone())
        .unwrap_or_else(|| "/".to_owned());
    let path = if raw_path.len() > 1 {
        raw_path.trim_end_matches('/').to_owned()
    } else {
        raw_path
    };
    let body = match (&event.body, event.is_base64_encoded) {
        (None, _) => None,
        (Some(b), false) => Some(b.as_bytes().to_vec()),
        (Some(b), true) => match base64::engine::general_purpose::STANDARD.decode(b) {
            Ok(bytes) => Some(bytes),
            Err(_) => {
                return error_response(
                    400,
                    "invalid_body_encoding",
                    "the request body is not valid base64",
                );
            }
        },
    };
    let req = Request {
        method,
        path,
        event,
        body,
        request_id,
    };
    // Trusted: API Gateway fills it for AWS_IAM-authorized methods. Only the
    // payment routes use it; /health is open and ignores it.
    let caller = identity::caller(event);

    let (route, response) = match (req.method, req.path.as_str()) {
        ("GET", "/health") => match health_requirement(event) {
            Ok(require) => ("GET /health", health(state, require).await),
            Err(resp) => ("GET /health", resp),
        },
        (_, "/health") => ("/health", method_not_allowed("GET")),
        ("POST", "/payments") => (
            "POST /payments",
            match require_caller(&caller) {
                Ok(c) => create_payment(state, &req, c).await,
                Err(resp) => resp,
            },
        ),
        (_, "/payments") => ("/payments", method_not_allowed("POST")),
        ("GET", p) if is_payment_path(p) => (
            "GET /payments/{id}",
            match require_caller(&caller) {
                Ok(c) => get_payment(state, c, &p["/payments/".len()..]).await,
                Err(resp) => resp,
            },
        ),
        (_, p) if is_payment_path(p) => ("/payments/{id}", method_not_allowed("GET")),
        _ => (
            "unknown",
            error_response(404, "route_not_found", "no such route"),
        ),
    };
    let error_code = if response.status_code >= 400 {
        response.json_body()["error"]["code"]
            .as_str()
            .map(str::to_owned)
    } else {
        None
    };
    let (caller_account, caller_arn) = match &caller {
        Ok(c) => (c.account_id.as_str(), c.arn.as_deref().unwrap_or("")),
        Err(_) => ("", ""),
    };
    info!(
        http_method = method,
        route,
        caller_account,
        caller_arn,
        status = response.status_code,
        error_code = error_code.as_deref().unwrap_or(""),
        replayed = response.header("Idempotent-Replayed").is_some(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request completed"
    );
    response
}

/// The caller of a payment route, or the `403` refusing the request. Decided
/// before anything else (validation included), so an unsigned request learns
/// nothing and nothing is read or written.
fn require_caller(caller: &Result<Caller, IdentityError>) -> Result<&Caller, ProxyResponse> {
    match caller {
        Ok(c) => Ok(c),
        Err(e) => {
            warn!(reason = %e, "payment route called without a usable caller identity");
            let message = match e {
                IdentityError::Missing => {
                    "this route requires a SigV4-signed request (AWS_IAM authorization)"
                }
                IdentityError::Invalid(_) => "the caller identity of this request is not valid",
            };
            Err(error_response(403, e.code(), message))
        }
    }
}

fn is_payment_path(p: &str) -> bool {
    p.strip_prefix("/payments/")
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

fn method_not_allowed(allow: &str) -> ProxyResponse {
    error_response(
        405,
        "method_not_allowed",
        "method not allowed on this route",
    )
    .with_header("Allow", allow)
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Body of a successful `POST /payments`.
fn created_body(p: &Payment) -> String {
    json!({
        "payment_id": p.payment_id,
        "status": p.status,
        "amount_minor": p.amount_minor,
        "currency": p.currency,
        "created_at": p.created_at,
        "region": p.region,
    })
    .to_string()
}

/// Publishes a short failure notification to SNS. Best-effort: bounded by
/// `notify_timeout`, errors are logged and never change the response.
async fn notify_failure(state: &State, code: &str, request_id: &str) {
    let Some(topic) = &state.config.topic_arn else {
        return;
    };
    let message = json!({
        "source": "payment-handler",
        "event": "payment_failed",
        "error_code": code,
        "region": state.config.region,
        "role": state.config.region_role,
        "request_id": request_id,
        "function": std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        "at_epoch": now_epoch(),
    })
    .to_string();
    let subject = format!("payment-handler {code} in {}", state.config.region);
    let result = state
        .aws
        .sns_publish(
            &state.config.sns_url(),
            topic,
            &subject,
            &message,
            state.config.notify_timeout,
        )
        .await;
    if let Err(e) = result {
        warn!(error = %e, "failure notification could not be published");
    }
}

/// A failed payment: log, notify, answer with a stable error code.
async fn backend_failure(
    state: &State,
    req: &Request<'_>,
    status: u16,
    code: &str,
    message: &str,
    detail: &str,
) -> ProxyResponse {
    error!(
        error_code = code,
        detail, "payment failed on a backend error"
    );
    notify_failure(state, code, req.request_id).await;
    let resp = error_response(status, code, message);
    if status == 503 {
        resp.with_header("Retry-After", "1")
    } else {
        resp
    }
}

fn region_passive() -> ProxyResponse {
    error_response(
        503,
        "region_passive",
        "this region is passive (read-only database); payments are accepted by the active region",
    )
    .with_header("Retry-After", "5")
}

/// In the passive region nothing is written, but a request that already
/// completed (its record and ledger row replicated here) is still replayed.
async fn passive_answer(
    state: &State,
    caller: &Caller,
    key: &str,
    fingerprint: &str,
) -> ProxyResponse {
    match state.store.get(&caller.account_id, key).await {
        Ok(Some(record)) if record.status == COMPLETED && record.fingerprint == fingerprint => {
            existing_record_response(&record, fingerprint)
        }
        _ => region_passive(),
    }
}

async fn db_failure(state: &State, req: &Request<'_>, e: &DbError) -> ProxyResponse {
    match e {
        DbError::ReadOnly => region_passive(),
        DbError::Unavailable(d) => {
            backend_failure(
                state,
                req,
                503,
                "database_unavailable",
                "the payment ledger is unavailable; retry later",
                d,
            )
            .await
        }
        DbError::Query(d) => {
            backend_failure(
                state,
                req,
                500,
                "ledger_write_failed",
                "the payment could not be recorded",
                d,
            )
            .await
        }
    }
}

async fn store_failure(state: &State, req: &Request<'_>, e: &AwsError) -> ProxyResponse {
    if e.is_unavailable() {
        backend_failure(
            state,
            req,
            503,
            "idempotency_store_unavailable",
            "the idempotency store is unavailable; retry later",
            &e.to_string(),
        )
        .await
    } else {
        backend_failure(
            state,
            req,
            500,
            "idempotency_store_error",
            "the idempotency store rejected the request",
            &e.to_string(),
        )
        .await
    }
}

fn existing_record_response(record: &Record, fingerprint: &str) -> ProxyResponse {
    if record.fingerprint != fingerprint {
        return error_response(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request",
        );
    }
    match (
        record.status.as_str(),
        record.response_status,
        &record.response_body,
    ) {
        (COMPLETED, Some(status), Some(body)) => {
            ProxyResponse::json(status, body.clone()).with_header("Idempotent-Replayed", "true")
        }
        _ => error_response(
            409,
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still being processed; retry later",
        )
        .with_header("Retry-After", "1"),
    }
}

async fn create_payment(state: &State, req: &Request<'_>, caller: &Caller) -> ProxyResponse {
    let account = caller.account_id.as_str();
    // 1. Validate everything, reporting every error at once.
    let key = validation::validate_idempotency_key(req.header("idempotency-key"));
    let payment = validation::validate_body(req.body.as_deref(), state.config.max_amount_minor);
    let (key, payment): (String, PaymentRequest) = match (key, payment) {
        (Ok(k), Ok(p)) => (k, p),
        (k, p) => {
            let mut errors = Vec::new();
            if let Err(e) = k {
                errors.push(e);
            }
            if let Err(es) = p {
                errors.extend(es);
            }
            return validation_response(&errors);
        }
    };
    let fingerprint = payment.fingerprint();

    // 2. Passive-region check against the database itself, before anything is
    //    written (the session table is a global table: an idempotency record
    //    written here would replicate to the active region).
    //    The connection goes back to the pool while DynamoDB is called.
    match state.pool.checked_for_write().await {
        Ok((_, false)) => {}
        Ok((_, true)) => return passive_answer(state, caller, &key, &fingerprint).await,
        Err(e) => return db_failure(state, req, &e).await,
    }

    // 3. Claim the idempotency key (scoped to the caller's account).
    let lease_id = match state.store.acquire(account, &key, &fingerprint).await {
        Ok(Acquire::Acquired { lease_id }) => lease_id,
        Ok(Acquire::Existing(record)) => return existing_record_response(&record, &fingerprint),
        Err(e) => return store_failure(state, req, &e).await,
    };

    // 4. Ledger transaction (idempotent on caller + idempotency key). If the
    //    database turned read-only meanwhile, the INSERT fails with SQLSTATE
    //    25006 and the answer is still `region_passive`.
    let mut conn = match state.pool.get(false).await {
        Ok(c) => c,
        Err(e) => {
            release(state, account, &key, &lease_id).await;
            return db_failure(state, req, &e).await;
        }
    };
    let new = NewPayment {
        payment_id: Uuid::new_v4(),
        caller_account_id: account,
        idempotency_key: &key,
        fingerprint: &fingerprint,
        amount_minor: payment.amount_minor,
        currency: &payment.currency,
        merchant_id: &payment.merchant_id,
        description: payment.description.as_deref(),
        region: &state.config.region,
    };
    let fail_before_commit = state.faults.fail_before_commit();
    let inserted = tokio::time::timeout(
        state.config.db.statement_timeout,
        db::insert_payment(conn.client(), &new, fail_before_commit),
    )
    .await;
    let inserted = match inserted {
        Ok(Ok(i)) => Ok(i),
        Ok(Err(e)) => Err(DbError::from_pg(&e)),
        Err(_) => Err(DbError::Unavailable("ledger transaction timed out".into())),
    };
    let (payment, replayed) = match inserted {
        Ok(Inserted::Created(p)) => (p, false),
        Ok(Inserted::Existing(p)) if p.fingerprint == fingerprint => (p, true),
        Ok(Inserted::Existing(_)) => {
            drop(conn);
            release(state, account, &key, &lease_id).await;
            return error_response(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request",
            );
        }
        Err(e) => {
            if !matches!(e, DbError::Query(_)) {
                conn.discard();
            }
            drop(conn);
            // No ledger row was committed (or, if a timed-out commit did land,
            // the UNIQUE key makes the retry find it): free the key for a retry.
            release(state, account, &key, &lease_id).await;
            return db_failure(state, req, &e).await;
        }
    };
    drop(conn);

    // 5. Mark the idempotency record completed with the response to replay.
    //    If this fails the payment still exists; the record stays in_flight
    //    until its lease lapses and a retry then finds the ledger row.
    let body = created_body(&payment);
    let completed = if state.faults.fail_mark_completed() {
        Err(AwsError::Transport("injected fault: mark completed".into()))
    } else {
        state
            .store
            .complete(
                account,
                &key,
                &lease_id,
                &payment.payment_id.to_string(),
                201,
                &body,
            )
            .await
    };
    match completed {
        Ok(true) => {}
        Ok(false) => {
            warn!("idempotency lease lost before completion; another attempt owns the record")
        }
        Err(e) => {
            warn!(error = %e, "payment recorded but idempotency record not completed; a retry will recover it")
        }
    }
    let resp = ProxyResponse::json(201, body)
        .with_header("Location", &format!("/payments/{}", payment.payment_id));
    if replayed {
        resp.with_header("Idempotent-Replayed", "true")
    } else {
        resp
    }
}

async fn release(state: &State, account: &str, key: &str, lease_id: &str) {
    let result = if state.faults.fail_release() {
        Err(AwsError::Transport("injected fault: release".into()))
    } else {
        state.store.release(account, key, lease_id).await
    };
    match result {
        Ok(true) => {}
        Ok(false) => warn!("idempotency record was not ours to release"),
        Err(e) => {
            warn!(error = %e, "could not release the idempotency record; it frees itself when its lease lapses")
        }
    }
}

/// `GET /payments/{id}`: only the account that created the payment sees it;
/// for anyone else (and for rows older than caller recording) it does not
/// exist (`404`, the same answer as an unknown id, so ids of other accounts'
/// payments cannot be confirmed).
async fn get_payment(state: &State, caller: &Caller, id: &str) -> ProxyResponse {
    let id = match Uuid::parse_str(id) {
        Ok(u) if id.len() == 36 => u,
        _ => return error_response(400, "invalid_payment_id", "the payment id must be a UUID"),
    };
    let (conn, _) = match state.pool.checked().await {
        Ok(c) => c,
        Err(e) => {
            error!(error = %e, "payment lookup failed");
            return error_response(
                503,
                "database_unavailable",
                "the payment ledger is unavailable; retry later",
            )
            .with_header("Retry-After", "1");
        }
    };
    let result = tokio::time::timeout(
        state.config.db.statement_timeout,
        db::get_payment(conn.client_ref(), id, &caller.account_id),
    )
    .await;
    match result {
        Ok(Ok(Some(p))) => ProxyResponse::json(200, serde_json::to_string(&p).unwrap_or_default()),
        Ok(Ok(None)) => error_response(404, "payment_not_found", "no payment with this id"),
        Ok(Err(e)) => {
            error!(error = %e, "payment lookup failed");
            error_response(
                503,
                "database_unavailable",
                "the payment ledger is unavailable; retry later",
            )
        }
        Err(_) => error_response(
            503,
            "database_unavailable",
            "the payment ledger did not answer in time",
        ),
    }
}

/// What `GET /health` must confirm beyond "every dependency answers".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthRequirement {
    /// Plain `GET /health`: 200 whenever the database and the session table
    /// answer (`database_writable` reports whether writes are possible).
    Reachable,
    /// `GET /health?require=writable` (the Route 53 failover health check):
    /// additionally 503 `region_passive` while the database is read-only.
    Writable,
}

/// Allowed values of the `require` query parameter of `GET /health`.
pub const HEALTH_REQUIRE_VALUES: &[&str] = &["writable"];

/// Reads `require` from the query string (every value, if repeated). Absent
/// means [`HealthRequirement::Reachable`]; anything but `writable` is a 400
/// listing the allowed value. Other query parameters are ignored.
pub fn health_requirement(
    event: &ApiGatewayProxyRequest,
) -> Result<HealthRequirement, ProxyResponse> {
    let values = event
        .multi_value_query_string_parameters
        .all("require")
        .or_else(|| event.query_string_parameters.all("require"))
        .unwrap_or_default();
    if values.is_empty() {
        return Ok(HealthRequirement::Reachable);
    }
    if values.iter().all(|v| HEALTH_REQUIRE_VALUES.contains(v)) {
        return Ok(HealthRequirement::Writable);
    }
    let message = format!(
        "query parameter 'require' must be one of: {}",
        HEALTH_REQUIRE_VALUES.join(", ")
    );
    Err(ProxyResponse::json(
        400,
        json!({ "error": {
            "code": "invalid_query_parameter",
            "message": message,
            "allowed": HEALTH_REQUIRE_VALUES,
            "details": [{
                "field": "require",
                "in": "query",
                "code": "not_allowed",
                "message": message,
                "allowed": HEALTH_REQUIRE_VALUES,
            }],
        }})
        .to_string(),
    ))
}

async fn health(state: &State, require: HealthRequirement) -> ProxyResponse {
    let t = state.config.health_timeout;
    let db_check = async {
        // `require=writable` decides DNS failover, so a read-only answer is
        // only trusted from a fresh session (as for writes): a promoted
        // region turns healthy on the next check, not when a pooled session
        // happens to be replaced.
        let checked = async {
            match require {
                HealthRequirement::Reachable => state.pool.checked().await,
                HealthRequirement::Writable => state.pool.checked_for_write().await,
            }
        };
        match tokio::time::timeout(t, checked).await {
            Ok(Ok((_conn, read_only))) => Ok(!read_only),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {t:?}")),
        }
    };
    let table_check = async {
        match tokio::time::timeout(t, state.store.probe(t)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {t:?}")),
        }
    };
    let (db, table) = tokio::join!(db_check, table_check);
    let mut failed = Vec::new();
    if let Err(e) = &db {
        warn!(dependency = "database", error = %e, "health check failed");
        failed.push("database");
    }
    if let Err(e) = &table {
        warn!(dependency = "session_table", error = %e, "health check failed");
        failed.push("session_table");
    }
    let checks = json!({
        "database": if db.is_ok() { "ok" } else { "failed" },
        "session_table": if table.is_ok() { "ok" } else { "failed" },
    });
    if !failed.is_empty() {
        let mut body = json!({
            "status": "unavailable",
            "region": state.config.region,
            "role": state.config.region_role,
            "failed": failed,
            "checks": checks,
            "error": { "code": "dependency_unavailable", "message": format!("unavailable: {}", failed.join(", ")) },
        });
        if let Ok(writable) = db {
            body["database_writable"] = json!(writable);
        }
        return ProxyResponse::json(503, body.to_string());
    }
    let writable = db.unwrap_or(false);
    if require == HealthRequirement::Writable && !writable {
        return ProxyResponse::json(
            503,
            json!({
                "status": "passive",
                "region": state.config.region,
                "role": state.config.region_role,
                "database_writable": false,
                "checks": checks,
                "error": {
                    "code": "region_passive",
                    "message": "this region is passive (read-only database); require=writable is not met",
                },
            })
            .to_string(),
        )
        .with_header("Retry-After", "5");
    }
    ProxyResponse::json(
        200,
        json!({
            "status": "ok",
            "region": state.config.region,
            "role": state.config.region_role,
            "database_writable": writable,
            "checks": checks,
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn health_event(query: Value, multi: Value) -> ApiGatewayProxyRequest {
        let mut ev: Value = serde_json::from_str(include_str!(
            "../tests/fixtures/apigw-rest-post-payments.json"
        ))
        .unwrap();
        ev["httpMethod"] = json!("GET");
        ev["path"] = json!("/health");
        ev["resource"] = json!("/health");
        ev["body"] = Value::Null;
        ev["queryStringParameters"] = query;
        ev["multiValueQueryStringParameters"] = multi;
        serde_json::from_value(ev).unwrap()
    }

    #[test]
    fn health_requirement_from_query() {
        let r = |q: Value, m: Value| health_requirement(&health_event(q, m));
        assert_eq!(
            r(Value::Null, Value::Null).unwrap(),
            HealthRequirement::Reachable
        );
        assert_eq!(
            r(json!({"other": "x"}), json!({"other": ["x"]})).unwrap(),
            HealthRequirement::Reachable
        );
        assert_eq!(
            r(
                json!({"require": "writable"}),
                json!({"require": ["writable"]})
            )
            .unwrap(),
            HealthRequirement::Writable
        );
        // Only the single-value map (hand-written events).
        assert_eq!(
            r(json!({"require": "writable"}), Value::Null).unwrap(),
            HealthRequirement::Writable
        );
        assert_eq!(
            r(
                json!({"require": "writable"}),
                json!({"require": ["writable", "writable"]})
            )
            .unwrap(),
            HealthRequirement::Writable
        );
        for (q, m) in [
            (
                json!({"require": "readable"}),
                json!({"require": ["readable"]}),
            ),
            (json!({"require": ""}), json!({"require": [""]})),
            (
                json!({"require": "Writable"}),
                json!({"require": ["Writable"]}),
            ),
            // API Gateway puts the last value in queryStringParameters.
            (
                json!({"require": "writable"}),
                json!({"require": ["nope", "writable"]}),
            ),
        ] {
            let resp = r(q.clone(), m).unwrap_err();
            assert_eq!(resp.status_code, 400, "{q}");
            let body = resp.json_body();
            assert_eq!(body["error"]["code"], "invalid_query_parameter");
            assert_eq!(body["error"]["allowed"], json!(["writable"]));
            assert_eq!(body["error"]["details"][0]["field"], "require");
            assert!(body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("writable"));
        }
    }

    /// The 400 is decided before any dependency is probed (the state points
    /// at nothing).
    #[tokio::test]
    async fn bad_require_is_400_without_probing() {
        let env: std::collections::HashMap<&str, &str> = [
            ("SESSION_TABLE", "sessions-x"),
            ("DB_HOST", "127.0.0.1"),
            ("DB_PORT", "1"),
            ("DB_NAME", "payments"),
            ("DB_USER", "payment_app"),
            ("AWS_REGION", "us-east-1"),
            ("DYNAMODB_ENDPOINT_URL", "http://127.0.0.1:1"),
        ]
        .into_iter()
        .collect();
        let config = crate::Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
        let state = crate::State::new(config).unwrap();
        let ev = health_event(json!({"require": "all"}), json!({"require": ["all"]}));
        let resp = handle_proxy(&state, &ev, "req-1").await;
        assert_eq!(resp.status_code, 400, "{}", resp.body);
        assert_eq!(code_of(&resp), "invalid_query_parameter");
        // Other methods on /health are still 405, whatever the query.
        let mut ev = ev;
        ev.http_method = http::Method::POST;
        let resp = handle_proxy(&state, &ev, "req-2").await;
        assert_eq!(resp.status_code, 405);
    }

    fn unreachable_state() -> std::sync::Arc<State> {
        let env: std::collections::HashMap<&str, &str> = [
            ("SESSION_TABLE", "sessions-x"),
            ("DB_HOST", "127.0.0.1"),
            ("DB_PORT", "1"),
            ("DB_NAME", "payments"),
            ("DB_USER", "payment_app"),
            ("AWS_REGION", "us-east-1"),
            ("DYNAMODB_ENDPOINT_URL", "http://127.0.0.1:1"),
        ]
        .into_iter()
        .collect();
        let config = crate::Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
        crate::State::new(config).unwrap()
    }

    fn unsigned(mut ev: Value) -> ApiGatewayProxyRequest {
        for k in ["accountId", "caller", "accessKey", "userArn", "user"] {
            ev["requestContext"]["identity"][k] = Value::Null;
        }
        serde_json::from_value(ev).unwrap()
    }

    fn fixture() -> Value {
        serde_json::from_str(include_str!(
            "../tests/fixtures/apigw-rest-post-payments.json"
        ))
        .unwrap()
    }

    /// Payment routes without a caller identity are refused before anything
    /// is validated, probed, read or written (the state points at nothing:
    /// any dependency call would turn the answer into a 503).
    #[tokio::test]
    async fn payment_routes_without_identity_are_403_without_probing() {
        let state = unreachable_state();
        let post = unsigned(fixture());
        let resp = handle_proxy(&state, &post, "req-1").await;
        assert_eq!(resp.status_code, 403, "{}", resp.body);
        assert_eq!(code_of(&resp), "caller_identity_missing");
        assert_eq!(resp.header("Content-Type"), Some("application/json"));

        // Refused before validation: an invalid body is not reported.
        let mut bad = fixture();
        bad["body"] = json!("{\"amount_minor\":-1}");
        let resp = handle_proxy(&state, &unsigned(bad), "req-2").await;
        assert_eq!(resp.status_code, 403, "{}", resp.body);
        assert!(!resp.body.contains("amount_minor"));

        for id in [uuid::Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
            let mut get = fixture();
            get["httpMethod"] = json!("GET");
            get["path"] = json!(format!("/payments/{id}"));
            get["body"] = Value::Null;
            let resp = handle_proxy(&state, &unsigned(get), "req-3").await;
            assert_eq!(resp.status_code, 403, "{id}: {}", resp.body);
            assert_eq!(code_of(&resp), "caller_identity_missing");
        }

        // A malformed identity is refused the same way.
        let mut forged = fixture();
        forged["requestContext"]["identity"]["userArn"] =
            json!("arn:aws:sts::999999999999:assumed-role/R/s");
        let forged: ApiGatewayProxyRequest = serde_json::from_value(forged).unwrap();
        let resp = handle_proxy(&state, &forged, "req-4").await;
        assert_eq!(resp.status_code, 403, "{}", resp.body);
        assert_eq!(code_of(&resp), "caller_identity_invalid");

        // Route and method errors are unchanged (no identity needed to learn
        // that a route does not exist).
        let mut other = fixture();
        other["httpMethod"] = json!("DELETE");
        let resp = handle_proxy(&state, &unsigned(other), "req-5").await;
        assert_eq!(resp.status_code, 405);
    }

    /// `GET /health` stays open: no identity needed, and its answer (here a
    /// 503 from the unreachable dependencies) is the same signed or not.
    #[tokio::test]
    async fn health_needs_no_identity() {
        let state = unreachable_state();
        let signed = health_event(Value::Null, Value::Null);
        let mut ev = fixture();
        ev["httpMethod"] = json!("GET");
        ev["path"] = json!("/health");
        ev["body"] = Value::Null;
        let unsigned = unsigned(ev);
        let a = handle_proxy(&state, &signed, "req-1").await;
        let b = handle_proxy(&state, &unsigned, "req-2").await;
        assert_eq!(a.status_code, 503, "{}", a.body);
        assert_eq!((a.status_code, &a.body), (b.status_code, &b.body));
        assert!(!a.body.contains("111122223333"));
    }

    fn code_of(r: &ProxyResponse) -> String {
        r.json_body()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}
