//! Aurora PostgreSQL access: a tiny connection pool reused across
//! invocations, IAM-token authentication, TLS against the Amazon RDS CA bundle,
//! and the ledger queries.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tracing::{debug, warn};
use uuid::Uuid;

use crate::config::{DbConfig, SslMode};

/// Amazon RDS CA certificates (see `certs/NOTE.md` for provenance).
pub const RDS_CA_BUNDLE: &[u8] = include_bytes!("../certs/rds-ca-bundle.pem");

/// Database failure, classified for the HTTP layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Could not get a usable connection (connect/auth/TLS failure, pool
    /// exhausted, timeout, connection lost).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused a write because it is read-only: the passive
    /// (not yet promoted) Aurora secondary. SQLSTATE 25006.
    #[error("database is read-only")]
    ReadOnly,
    /// Any other error reported by the server or driver.
    #[error("database error: {0}")]
    Query(String),
}

impl DbError {
    /// Classifies a driver error.
    pub fn from_pg(e: &tokio_postgres::Error) -> Self {
        if let Some(code) = e.code() {
            if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
                return DbError::ReadOnly;
            }
            let c = code.code();
            // 08: connection exception; 57P0x: shutdown / cannot connect now;
            // 53: insufficient resources; 40001/40P01: retryable conflicts.
            if c.starts_with("08")
                || c.starts_with("57P")
                || c.starts_with("53")
                || c == "40001"
                || c == "40P01"
            {
                return DbError::Unavailable(format!("SQLSTATE {c}"));
            }
            let msg = e
                .as_db_error()
                .map(|d| d.message().to_owned())
                .unwrap_or_default();
            return DbError::Query(format!("SQLSTATE {c}: {msg}"));
        }
        if e.is_closed() {
            return DbError::Unavailable("connection closed".into());
        }
        // Errors without SQLSTATE are I/O, TLS, protocol or timeout errors.
        DbError::Unavailable(e.to_string())
    }
}

/// Builds the rustls configuration that trusts only the Amazon RDS CAs.
pub fn rds_tls_config() -> Result<rustls::ClientConfig, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(RDS_CA_BUNDLE) {
        let cert = cert.map_err(|e| format!("RDS CA bundle: {e}"))?;
        roots.add(cert).map_err(|e| format!("RDS CA bundle: {e}"))?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// A small pool of PostgreSQL connections shared across invocations.
///
/// Lambda runs one invocation at a time per execution environment, so the
/// default size is 2 (a request plus a concurrent health check); tests raise it.
pub struct Pool {
    cfg: DbConfig,
    region: String,
    credentials: Option<aws_credential_types::Credentials>,
    idle: Mutex<Vec<Client>>,
    permits: Semaphore,
    tls: OnceLock<Result<tokio_postgres_rustls::MakeRustlsConnect, String>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("cfg", &self.cfg).finish()
    }
}

/// A connection checked out of the [`Pool`]; returned to it on drop unless
/// [`discard`](Conn::discard)ed or closed.
pub struct Conn<'a> {
    client: Option<Client>,
    /// Taken from the idle list (as opposed to freshly connected).
    reused: bool,
    pool: &'a Pool,
    keep: bool,
    _permit: SemaphorePermit<'a>,
}

impl std::fmt::Debug for Conn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("keep", &self.keep).finish()
    }
}

impl Conn<'_> {
    /// The underlying client.
    pub fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("client present until drop")
    }

    /// The underlying client (shared).
    pub fn client_ref(&self) -> &Client {
        self.client.as_ref().expect("client present until drop")
    }

    /// Do not return this connection to the pool.
    pub fn discard(&mut self) {
        self.keep = false;
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if self.keep && !client.is_closed() {
                if let Ok(mut idle) = self.pool.idle.lock() {
                    idle.push(client);
                }
            }
        }
    }
}

impl Pool {
    pub fn new(
        cfg: DbConfig,
        region: String,
        credentials: Option<aws_credential_types::Credentials>,
    ) -> Self {
        let size = cfg.pool_size.max(1);
        Self {
            cfg,
            region,
            credentials,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size),
            tls: OnceLock::new(),
        }
    }

    /// Database settings.
    pub fn config(&self) -> &DbConfig {
        &self.cfg
    }

    /// Checks out a connection: an idle one if available, otherwise a new one.
    /// `fresh` forces a new connection (used to retry after a stale one failed).
    pub async fn get(&self, fresh: bool) -> Result<Conn<'_>, DbError> {
        let permit = tokio::time::timeout(self.cfg.pool_wait, self.permits.acquire())
            .await
            .map_err(|_| DbError::Unavailable("timed out waiting for a pooled connection".into()))?
            .map_err(|_| DbError::Unavailable("pool closed".into()))?;
        let reused = if fresh {
            None
        } else {
            let mut idle = self
                .idle
                .lock()
                .map_err(|_| DbError::Unavailable("pool poisoned".into()))?;
            let mut found = None;
            while let Some(c) = idle.pop() {
                if !c.is_closed() {
                    found = Some(c);
                    break;
                }
            }
            found
        };
        let was_reused = reused.is_some();
        let client = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok(Conn {
            reused: was_reused,
            client: Some(client),
            pool: self,
            keep: true,
            _permit: permit,
        })
    }

    /// Checks out a connection and probes it with
    /// `SELECT 1, current_setting('transaction_read_only')`, returning whether
    /// the database is read-only (the passive, unpromoted secondary). If an idle
    /// connection turns out to be dead (e.g. after a Lambda freeze), retries once
    /// on a fresh connection.
    pub async fn checked(&self) -> Result<(Conn<'_>, bool), DbError> {
        self.checked_inner().await
    }

    /// Like [`checked`](Self::checked), for a request that wants to write:
    /// the read-only answer is only trusted from a fresh session (a pooled
    /// session may predate a promotion), and read-only sessions are not
    /// pooled, so a promoted secondary takes writes on the next request.
    pub async fn checked_for_write(&self) -> Result<(Conn<'_>, bool), DbError> {
        let (mut conn, read_only) = self.checked_inner().await?;
        if !read_only {
            return Ok((conn, false));
        }
        conn.discard();
        if !conn.reused {
            return Ok((conn, true));
        }
        drop(conn);
        let mut conn = self.get(true).await?;
        let read_only = match self.probe_fresh(&mut conn).await {
            Ok(ro) => ro,
            Err(e) => {
                conn.discard();
                return Err(e);
            }
        };
        if read_only {
            conn.discard();
        }
        Ok((conn, read_only))
    }

    async fn checked_inner(&self) -> Result<(Conn<'_>, bool), DbError> {
        let mut conn = self.get(false).await?;
        let first = tokio::time::timeout(Duration::from_secs(2), probe(conn.client())).await;
        let outcome = match first {
            Ok(Ok(read_only)) => Ok(read_only),
            // A server-side error on a live connection is a real answer...
            Ok(Err(e))
                if e.code().is_some() && !conn.client().is_closed() && !is_connection_fatal(&e) =>
            {
                Err(DbError::from_pg(&e))
            }
            // ...but a dead connection (closed, or terminated by the server,
            // e.g. after a failover or restart) is replaced once.
            Ok(Err(e)) => {
                debug!(error = %e, "pooled connection failed its probe; reconnecting");
                conn.discard();
                drop(conn);
                conn = self.get(true).await?;
                self.probe_fresh(&mut conn).await
            }
            Err(_) => {
                debug!("pooled connection probe timed out; reconnecting");
                conn.discard();
                drop(conn);
                conn = self.get(true).await?;
                self.probe_fresh(&mut conn).await
            }
        };
        match outcome {
            Ok(read_only) => Ok((conn, read_only)),
            Err(e) => {
                conn.discard();
                Err(e)
            }
        }
    }

    async fn probe_fresh(&self, conn: &mut Conn<'_>) -> Result<bool, DbError> {
        match tokio::time::timeout(self.cfg.statement_timeout, probe(conn.client())).await {
            Ok(Ok(ro)) => Ok(ro),
            Ok(Err(e)) => Err(DbError::from_pg(&e)),
            Err(_) => Err(DbError::Unavailable("probe timed out".into())),
        }
    }

    /// Opens a new connection as `DB_USER`: IAM auth token (or the test-only
    /// static password), TLS verified against the RDS CAs (unless test-only
    /// `DB_SSLMODE=disable`).
    pub async fn connect(&self) -> Result<Client, DbError> {
        let cfg = &self.cfg;
        let password = match &cfg.password {
            Some(p) => p.clone(),
            None => {
                let creds = crate::aws::require_credentials(self.credentials.as_ref())
                    .map_err(|e| DbError::Unavailable(e.to_string()))?;
                crate::aws::rds_auth_token(
                    creds,
                    &self.region,
                    &cfg.host,
                    cfg.port,
                    &cfg.user,
                    SystemTime::now(),
                )
                .map_err(|e| DbError::Unavailable(e.to_string()))?
            }
        };
        self.open(&cfg.user, password, "payment-handler").await
    }

    /// Opens a dedicated (never pooled) connection to the same host and
    /// database as another user with a password — the master user, for
    /// migrations. Same TLS verification as [`connect`](Self::connect).
    pub async fn connect_as(&self, user: &str, password: String) -> Result<Client, DbError> {
        self.open(user, password, "payment-handler-migrate").await
    }

    async fn open(
        &self,
        user: &str,
        password: String,
        application_name: &str,
    ) -> Result<Client, DbError> {
        let cfg = &self.cfg;
        let mut pg = tokio_postgres::Config::new();
        pg.host(&cfg.host)
            .port(cfg.port)
            .dbname(&cfg.name)
            .user(user)
            .password(password)
            .application_name(application_name)
            .connect_timeout(cfg.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .options(format!(
                "-c statement_timeout={} -c idle_in_transaction_session_timeout=15000",
                cfg.statement_timeout.as_millis()
            ));
        let deadline = cfg.connect_timeout + Duration::from_secs(1);
        let client = match cfg.ssl_mode {
            SslMode::Disable => {
                pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
                let (client, connection) = tokio::time::timeout(deadline, pg.connect(NoTls))
                    .await
                    .map_err(|_| DbError::Unavailable("connect timed out".into()))?
                    .map_err(|e| DbError::Unavailable(format!("connect: {e}")))?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        warn!(error = %e, "database connection ended with an error");
                    }
                });
                client
            }
            SslMode::VerifyFull => {
                pg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let tls = self
                    .tls
                    .get_or_init(|| {
                        rds_tls_config().map(tokio_postgres_rustls::MakeRustlsConnect::new)
                    })
                    .clone()
                    .map_err(DbError::Unavailable)?;
                let (client, connection) = tokio::time::timeout(deadline, pg.connect(tls))
                    .await
                    .map_err(|_| DbError::Unavailable("connect timed out".into()))?
                    .map_err(|e| DbError::Unavailable(format!("connect: {e}")))?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        warn!(error = %e, "database connection ended with an error");
                    }
                });
                client
            }
        };
        debug!("opened a new database connection");
        Ok(client)
    }
}

/// A ledger row as returned to clients.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Payment {
    pub payment_id: Uuid,
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub merchant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: String,
    pub region: String,
    #[serde(skip)]
    pub fingerprint: String,
}

const PAYMENT_COLUMNS: &str = "payment_id, status, amount_minor, currency, merchant_id, description, \
     to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), region, request_fingerprint";

fn row_to_payment(row: &tokio_postgres::Row) -> Payment {
    Payment {
        payment_id: row.get(0),
        status: row.get(1),
        amount_minor: row.get(2),
        currency: row.get(3),
        merchant_id: row.get(4),
        description: row.get(5),
        created_at: row.get(6),
        region: row.get(7),
        fingerprint: row.get(8),
    }
}

/// Result of [`insert_payment`].
#[derive(Debug)]
pub enum Inserted {
    /// A new ledger row was committed.
    Created(Payment),
    /// A row with this idempotency key already existed (a previous attempt
    /// committed but did not mark its idempotency record completed).
    Existing(Payment),
}

/// Data for a new ledger row.
#[derive(Debug)]
pub struct NewPayment<'a> {
    pub payment_id: Uuid,
    /// The signer's 12-digit account id (`requestContext.identity.accountId`).
    pub caller_account_id: &'a str,
    pub idempotency_key: &'a str,
    pub fingerprint: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub merchant_id: &'a str,
    pub description: Option<&'a str>,
    pub region: &'a str,
}

/// SQLSTATEs the server sends when it ends the session (connection class 08,
/// admin/crash shutdown 57P01-57P03).
fn is_connection_fatal(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        let c = c.code();
        c.starts_with("08") || c == "57P01" || c == "57P02" || c == "57P03"
    })
}

/// `SELECT 1` plus `transaction_read_only` (`true` on the passive,
/// unpromoted secondary).
pub async fn probe(client: &Client) -> Result<bool, tokio_postgres::Error> {
    let rows = client
        .simple_query("SELECT 1, current_setting('transaction_read_only')")
        .await?;
    Ok(rows.iter().any(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(1) == Some("on"),
        _ => false,
    }))
}

/// Inserts the payment in a transaction. Idempotent on (caller account,
/// idempotency key): if that caller already has a row for the key, that row
/// is returned instead. Another caller's row with the same key is unrelated.
pub async fn insert_payment(
    client: &mut Client,
    p: &NewPayment<'_>,
    fail_before_commit: bool,
) -> Result<Inserted, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let sql = format!(
        "INSERT INTO payments (payment_id, idempotency_key, request_fingerprint, amount_minor, currency, merchant_id, description, region, caller_account_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (caller_account_id, idempotency_key) DO NOTHING RETURNING {PAYMENT_COLUMNS}"
    );
    let inserted = tx
        .query_opt(
            &sql,
            &[
                &p.payment_id,
                &p.idempotency_key,
                &p.fingerprint,
                &p.amount_minor,
                &p.currency,
                &p.merchant_id,
                &p.description,
                &p.region,
                &p.caller_account_id,
            ],
        )
        .await?;
    let result = match inserted {
        Some(row) => Inserted::Created(row_to_payment(&row)),
        None => {
            let row = tx
                .query_one(
                    &format!(
                        "SELECT {PAYMENT_COLUMNS} FROM payments \
                         WHERE caller_account_id = $1 AND idempotency_key = $2"
                    ),
                    &[&p.caller_account_id, &p.idempotency_key],
                )
                .await?;
            Inserted::Existing(row_to_payment(&row))
        }
    };
    if fail_before_commit {
        // Test-only fault injection: abort like a failed commit would.
        tx.batch_execute("SELECT 1/0").await?;
    }
    tx.commit().await?;
    Ok(result)
}

/// Reads one payment, if it was created by `caller_account_id` (another
/// account's payment, or a row from before callers were recorded, is `None`).
pub async fn get_payment(
    client: &Client,
    id: Uuid,
    caller_account_id: &str,
) -> Result<Option<Payment>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {PAYMENT_COLUMNS} FROM payments \
                 WHERE payment_id = $1 AND caller_account_id = $2"
            ),
            &[&id, &caller_account_id],
        )
        .await?;
    Ok(row.as_ref().map(row_to_payment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rds_bundle_parses() {
        use rustls_pki_types::pem::PemObject;
        let n = rustls_pki_types::CertificateDer::pem_slice_iter(RDS_CA_BUNDLE).count();
        assert!(n >= 100, "{n} certificates");
        rds_tls_config().unwrap();
    }
}
