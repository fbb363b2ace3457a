//! Versioned schema migrations for the ledger, and the application role.
//!
//! Migrations are the SQL files in `functions/payment/migrations/`, embedded
//! into the binary. [`run`] applies the missing ones in order, each in its own
//! transaction, recording them in `schema_migrations` (with a SHA-256 checksum
//! so an edited, already-applied file is detected), then makes sure the
//! application role (`DB_USER`) exists with exactly the privileges the handler
//! uses ([`ensure_app_role`]). A session-level advisory lock serialises
//! concurrent runs, so running it twice, or from two places at once, is safe.
//!
//! The run connects as the Aurora **master** user, whose credentials are read
//! from the Secrets Manager secret named by `DB_MASTER_SECRET` (see
//! [`crate::State::migrate`]): on a fresh cluster the IAM-auth application user
//! does not exist yet. Operators run it against the *primary* (writer)
//! cluster, either by invoking the function directly with
//! `{"action":"migrate"}` or with `bootstrap migrate` and the usual `DB_*`
//! environment; see the crate README.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio_postgres::error::SqlState;
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
    Migration {
        version: 3,
        name: "0003_payments_caller_account.sql",
        sql: include_str!("../migrations/0003_payments_caller_account.sql"),
    },
];

/// Arbitrary constant key of the migration advisory lock.
pub const ADVISORY_LOCK_KEY: i64 = 0x7061_796d_656e_7473; // "payments"

/// The role that lets a user log in with an RDS IAM auth token (Aurora and
/// RDS only; plain PostgreSQL does not have it).
pub const RDS_IAM_ROLE: &str = "rds_iam";

/// Table privileges the handler needs, per table of schema `public`: it
/// inserts ledger rows (`INSERT ... ON CONFLICT DO NOTHING RETURNING`) and
/// reads them back (`SELECT`). Nothing is ever updated or deleted, and
/// `schema_migrations` is not the handler's business. Keep this in step with
/// the SQL in `db.rs` (the integration tests run the handler as this role).
pub const APP_TABLE_PRIVILEGES: &[(&str, &[&str])] = &[("payments", &["SELECT", "INSERT"])];

/// What a run did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Versions applied by this run.
    pub applied: Vec<i64>,
    /// Highest version now recorded.
    pub current_version: i64,
    /// What was done for the application role.
    pub app_role: AppRoleReport,
}

/// The application role to ensure after the migrations.
#[derive(Clone, Copy, Debug)]
pub struct AppRole<'a> {
    /// `DB_USER`.
    pub name: &'a str,
    /// The user the migration session is logged in as (refused as `name`).
    pub master_user: &'a str,
    /// The IAM-auth role to grant when it exists ([`RDS_IAM_ROLE`]).
    pub iam_role: &'a str,
}

/// What [`ensure_app_role`] did. A second run reports nothing to do.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AppRoleReport {
    pub name: String,
    /// `CREATE ROLE ... LOGIN` was run.
    pub created: bool,
    /// `granted`, `already_member`, or `not_available` (no such role: plain
    /// PostgreSQL, where IAM authentication does not exist).
    pub rds_iam: String,
    /// Statements run by this run besides `CREATE ROLE` (empty: nothing
    /// was missing).
    pub granted: Vec<String>,
}

/// Aurora master credentials: the JSON `SecretString` of `DB_MASTER_SECRET`.
#[derive(Clone)]
pub struct MasterCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for MasterCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl MasterCredentials {
    /// Parses `{"username": "...", "password": "...", ...}` (other keys, such
    /// as those of RDS-managed secrets, are ignored). Error messages never
    /// quote the secret.
    pub fn from_secret_string(secret: &str) -> Result<Self, String> {
        const SHAPE: &str = r#"a JSON object {"username": "...", "password": "..."}"#;
        let value: Value =
            serde_json::from_str(secret).map_err(|_| format!("SecretString is not {SHAPE}"))?;
        let object = value
            .as_object()
            .ok_or_else(|| format!("SecretString is not {SHAPE}"))?;
        let field = |k: &str| {
            object
                .get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!("SecretString has no non-empty string {k:?} (expected {SHAPE})")
                })
        };
        Ok(Self {
            username: field("username")?,
            password: field("password")?,
        })
    }
}

/// Quotes an SQL identifier (`"..."`, inner quotes doubled).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Checks the application role name: `^[a-z][a-z0-9_]{0,62}$` (as validated
/// by the generator), not a name PostgreSQL or RDS reserves, and not the
/// master user (granting `rds_iam` to the master user would disable its
/// password login).
pub fn validate_app_role_name(name: &str, master_user: Option<&str>) -> Result<(), String> {
    let mut chars = name.chars();
    let shape_ok = matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'));
    if !shape_ok {
        return Err(format!(
            "DB_USER {name:?} is not a valid role name (^[a-z][a-z0-9_]{{0,62}}$)"
        ));
    }
    const RESERVED: &[&str] = &[
        "public",
        "none",
        "current_user",
        "current_role",
        "session_user",
        "user",
        "postgres",
    ];
    if RESERVED.contains(&name) || name.starts_with("pg_") || name.starts_with("rds") {
        return Err(format!(
            "DB_USER {name:?} is a reserved role name; use a dedicated application role such as payment_app"
        ));
    }
    if master_user == Some(name) {
        return Err(format!(
            "DB_USER {name:?} is the master user; the application needs its own IAM-auth role such as payment_app"
        ));
    }
    Ok(())
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
    /// Missing or invalid settings (e.g. `DB_MASTER_SECRET` unset).
    #[error("{0}")]
    Config(String),
    /// The master credentials could not be read from Secrets Manager.
    #[error("master credentials: {0}")]
    MasterSecret(String),
    /// The master user could not log in.
    #[error("cannot connect as the master user {user:?}: {source}")]
    MasterConnect {
        user: String,
        #[source]
        source: DbError,
    },
    /// The application role could not be set up.
    #[error("application role {role:?}: {message}")]
    AppRole { role: String, message: String },
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

/// Applies pending migrations, then ensures the application role
/// ([`ensure_app_role`]), all under the advisory lock. The connection should
/// be dedicated (it holds a session-level advisory lock while running and is
/// best discarded afterwards) and logged in as a user that may create tables
/// and roles (the master user).
pub async fn run(client: &mut Client, app: &AppRole<'_>) -> Result<Report, MigrateError> {
    validate_app_role_name(app.name, Some(app.master_user)).map_err(MigrateError::Config)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&ADVISORY_LOCK_KEY])
        .await
        .map_err(pg)?;
    let result = async {
        let (applied, current_version) = run_locked(client).await?;
        let app_role = ensure_app_role(client, app).await?;
        Ok(Report {
            applied,
            current_version,
            app_role,
        })
    }
    .await;
    // Unlock even on failure (the lock would also go with the session).
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&ADVISORY_LOCK_KEY])
        .await;
    result
}

async fn run_locked(client: &mut Client) -> Result<(Vec<i64>, i64), MigrateError> {
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
    Ok((applied, current_version))
}

/// Makes sure the application role exists and holds exactly what the handler
/// needs, changing only what is missing (a second run does nothing):
///
/// * `CREATE ROLE <name> LOGIN` if there is no such role (`ALTER ROLE ...
///   LOGIN` if it exists without it);
/// * `GRANT <iam_role> TO <name>` when `iam_role` exists (`rds_iam` on
///   Aurora; skipped, and reported as `not_available`, elsewhere);
/// * `CONNECT` on the current database, `USAGE` on schema `public`, and
///   [`APP_TABLE_PRIVILEGES`], each granted explicitly to the role (grants to
///   `PUBLIC` do not count: they may be revoked; ownership counts).
///
/// Identifiers are validated and quoted. Statements run one by one outside a
/// transaction: a failed run leaves what it did, and the next run completes
/// the rest. A role that is a superuser is refused.
pub async fn ensure_app_role(
    client: &Client,
    app: &AppRole<'_>,
) -> Result<AppRoleReport, MigrateError> {
    let name = app.name;
    validate_app_role_name(name, Some(app.master_user)).map_err(MigrateError::Config)?;
    let role_err = |e: tokio_postgres::Error| match pg(e) {
        MigrateError::Db(DbError::Query(message)) => MigrateError::AppRole {
            role: name.to_owned(),
            message,
        },
        other => other,
    };
    let q = quote_ident(name);
    let mut granted = Vec::new();

    let existing = client
        .query_opt(
            "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = $1",
            &[&name],
        )
        .await
        .map_err(role_err)?;
    let mut created = false;
    match existing {
        None => {
            match client
                .batch_execute(&format!("CREATE ROLE {q} LOGIN"))
                .await
            {
                Ok(()) => created = true,
                // Created meanwhile by a run against another database of the
                // same cluster (roles are cluster-wide; the lock is not).
                Err(e) if e.code() == Some(&SqlState::DUPLICATE_OBJECT) => {}
                Err(e) => return Err(role_err(e)),
            }
            if created {
                tracing::info!(role = name, "created the application role");
            }
        }
        Some(row) => {
            let (can_login, is_super): (bool, bool) = (row.get(0), row.get(1));
            if is_super {
                return Err(MigrateError::AppRole {
                    role: name.to_owned(),
                    message: "is a superuser; DB_USER must be a dedicated, unprivileged role"
                        .into(),
                });
            }
            if !can_login {
                client
                    .batch_execute(&format!("ALTER ROLE {q} LOGIN"))
                    .await
                    .map_err(role_err)?;
                granted.push("LOGIN".to_owned());
            }
        }
    }

    // IAM authentication (Aurora): membership in rds_iam.
    let iam_exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
            &[&app.iam_role],
        )
        .await
        .map_err(role_err)?
        .get(0);
    let rds_iam = if !iam_exists {
        tracing::warn!(
            role = name,
            iam_role = app.iam_role,
            "no IAM authentication role in this database (not Aurora/RDS); skipped"
        );
        "not_available"
    } else {
        let member: bool = client
            .query_one(
                "SELECT pg_has_role($1::name, $2::name, 'MEMBER')",
                &[&name, &app.iam_role],
            )
            .await
            .map_err(role_err)?
            .get(0);
        if member {
            "already_member"
        } else {
            client
                .batch_execute(&format!("GRANT {} TO {q}", quote_ident(app.iam_role)))
                .await
                .map_err(role_err)?;
            "granted"
        }
    };

    // CONNECT on this database.
    let database: String = client
        .query_one("SELECT current_database()", &[])
        .await
        .map_err(role_err)?
        .get(0);
    let has: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database d, \
                 aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a \
             WHERE d.datname = current_database() AND a.privilege_type = 'CONNECT' \
               AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1))",
            &[&name],
        )
        .await
        .map_err(role_err)?
        .get(0);
    if !has {
        let sql = format!(
            "GRANT CONNECT ON DATABASE {} TO {q}",
            quote_ident(&database)
        );
        client.batch_execute(&sql).await.map_err(role_err)?;
        granted.push(format!("CONNECT ON DATABASE {database}"));
    }

    // USAGE on schema public.
    let has: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace n, \
                 aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a \
             WHERE n.nspname = 'public' AND a.privilege_type = 'USAGE' \
               AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1))",
            &[&name],
        )
        .await
        .map_err(role_err)?
        .get(0);
    if !has {
        client
            .batch_execute(&format!("GRANT USAGE ON SCHEMA public TO {q}"))
            .await
            .map_err(role_err)?;
        granted.push("USAGE ON SCHEMA public".to_owned());
    }

    // Table privileges.
    for (table, privileges) in APP_TABLE_PRIVILEGES {
        let qualified = format!("public.{}", quote_ident(table));
        for privilege in *privileges {
            let has: bool = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_class c, \
                         aclexplode(COALESCE(c.relacl, acldefault('r', c.relowner))) a \
                     WHERE c.oid = to_regclass($2) AND a.privilege_type = $3 \
                       AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1))",
                    &[&name, &qualified, privilege],
                )
                .await
                .map_err(role_err)?
                .get(0);
            if !has {
                client
                    .batch_execute(&format!("GRANT {privilege} ON TABLE {qualified} TO {q}"))
                    .await
                    .map_err(role_err)?;
                granted.push(format!("{privilege} ON public.{table}"));
            }
        }
    }
    if !granted.is_empty() {
        tracing::info!(role = name, granted = ?granted, "granted to the application role");
    }
    Ok(AppRoleReport {
        name: name.to_owned(),
        created,
        rds_iam: rds_iam.to_owned(),
        granted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_ident_doubles_quotes() {
        assert_eq!(quote_ident("payment_app"), "\"payment_app\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }

    #[test]
    fn app_role_names() {
        for ok in ["payment_app", "a", "app_2", &"a".repeat(63)] {
            validate_app_role_name(ok, Some("dbadmin")).unwrap();
        }
        for bad in [
            "",
            "Payment_app",
            "1app",
            "_app",
            "app-x",
            "app x",
            "app\"; DROP TABLE payments; --",
            &"a".repeat(64),
            "pg_monitor",
            "rds_iam",
            "rdsadmin",
            "public",
            "postgres",
            "current_user",
        ] {
            assert!(
                validate_app_role_name(bad, Some("dbadmin")).is_err(),
                "{bad:?}"
            );
        }
        let err = validate_app_role_name("dbadmin", Some("dbadmin")).unwrap_err();
        assert!(err.contains("master user"), "{err}");
    }

    #[test]
    fn master_credentials_parse_without_leaking() {
        let c = MasterCredentials::from_secret_string(
            r#"{"username":"dbadmin","password":"s3cr3t\"pw","engine":"postgres","port":5432}"#,
        )
        .unwrap();
        assert_eq!(c.username, "dbadmin");
        assert_eq!(c.password, "s3cr3t\"pw");
        assert!(!format!("{c:?}").contains("s3cr3t"));
        for bad in [
            "s3cr3t-not-json",
            r#"["s3cr3t"]"#,
            r#"{"username":"dbadmin"}"#,
            r#"{"username":"dbadmin","password":""}"#,
            r#"{"username":"dbadmin","password":12345678}"#,
            r#"{"user":"dbadmin","password":"s3cr3t"}"#,
        ] {
            let err = MasterCredentials::from_secret_string(bad).unwrap_err();
            assert!(
                !err.contains("s3cr3t") && !err.contains("12345678"),
                "{err}"
            );
            assert!(err.contains("username"), "{err}");
        }
    }

    #[test]
    fn app_privileges_are_minimal() {
        // The handler only inserts and reads ledger rows.
        assert_eq!(
            APP_TABLE_PRIVILEGES,
            &[("payments", &["SELECT", "INSERT"][..])]
        );
        let sql = include_str!("db.rs");
        for verb in [
            "UPDATE payments",
            "DELETE FROM",
            "TRUNCATE",
            "schema_migrations",
        ] {
            assert!(
                !sql.contains(verb),
                "db.rs uses {verb}: extend APP_TABLE_PRIVILEGES"
            );
        }
    }

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
