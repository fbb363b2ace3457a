//! Versioned schema migrations for the ledger.
//!
//! Migrations are the SQL files in `functions/payment/migrations/`, embedded
//! into the binary. [`run`] applies the missing ones in order, each in its own
//! transaction, recording them in `schema_migrations` (with a SHA-256 checksum
//! so an edited, already-applied file is detected). A session-level advisory
//! lock serialises concurrent runs, so running it twice, or from two places at
//! once, is safe.
//!
//! Operators run it against the *primary* (writer) cluster, either by invoking
//! the function directly with `{"action":"migrate"}` or with
//! `bootstrap migrate` and the usual `DB_*` environment; see the crate README.

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::db::DbError;

/// One embedded migration.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// All migrations, in order. Add new files here (a unit test checks that every
/// file in `migrations/` is listed).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_ledger.sql",
        sql: include_str!("../migrations/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "0002_payments_merchant_created_idx.sql",
        sql: include_str!("../migrations/0002_payments_merchant_created_idx.sql"),
    },
];

/// Arbitrary constant key of the migration advisory lock.
pub const ADVISORY_LOCK_KEY: i64 = 0x7061_796d_656e_7473; // "payments"

/// What a run did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Versions applied by this run.
    pub applied: Vec<i64>,
    /// Highest version now recorded.
    pub current_version: i64,
}

/// Migration failure.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("migration {version} ({name}) was changed after it was applied (checksum mismatch)")]
    ChecksumMismatch { version: i64, name: String },
    #[error("the database is read-only: run migrations against the primary (writer) cluster")]
    ReadOnly,
}

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

fn pg(e: tokio_postgres::Error) -> MigrateError {
    match DbError::from_pg(&e) {
        DbError::ReadOnly => MigrateError::ReadOnly,
        other => MigrateError::Db(other),
    }
}

/// Applies pending migrations. The connection should be dedicated (it holds a
/// session-level advisory lock while running and is best discarded afterwards).
pub async fn run(client: &mut Client) -> Result<Report, MigrateError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&ADVISORY_LOCK_KEY])
        .await
        .map_err(pg)?;
    let result = run_locked(client).await;
    // Unlock even on failure (the lock would also go with the session).
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&ADVISORY_LOCK_KEY])
        .await;
    result
}

async fn run_locked(client: &mut Client) -> Result<Report, MigrateError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint      PRIMARY KEY,
                 name       text        NOT NULL,
                 checksum   text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(pg)?;
    let rows = client
        .query(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .map_err(pg)?;
    let mut applied_versions = Vec::new();
    for row in &rows {
        let version: i64 = row.get(0);
        let name: String = row.get(1);
        let sum: String = row.get(2);
        if let Some(m) = MIGRATIONS.iter().find(|m| m.version == version) {
            if checksum(m.sql) != sum {
                return Err(MigrateError::ChecksumMismatch { version, name });
            }
        }
        applied_versions.push(version);
    }

    let mut applied = Vec::new();
    for m in MIGRATIONS {
        if applied_versions.contains(&m.version) {
            continue;
        }
        let tx = client.transaction().await.map_err(pg)?;
        tx.batch_execute(m.sql).await.map_err(pg)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &checksum(m.sql)],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        applied.push(m.version);
    }
    let current_version: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    Ok(Report {
        applied,
        current_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_ordered_and_all_listed() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        for m in MIGRATIONS {
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
            assert!(!m.sql.trim().is_empty());
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(files, listed);
    }
}
