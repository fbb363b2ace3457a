//! Values the components build with and the invariants (and the plan
//! review) check against. They live here, below both, so that there is
//! one value: the components re-export them where they are used.

/// Days of automated backups (pitfall 10).
pub const BACKUP_RETENTION_DAYS: i64 = 7;

/// Keys Lambda reserves: setting them fails (pitfall 20).
pub const RESERVED_ENV_KEYS: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_EXECUTION_ENV",
    "_HANDLER",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The only route without client authentication.
pub const OPEN_ROUTE: (&str, &str) = ("GET", "/health");

/// Consecutive failed health checks before Route 53 fails over (pitfall 27).
pub const HEALTH_FAILURE_THRESHOLD: i64 = 3;
