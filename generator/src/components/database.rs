//! Aurora PostgreSQL Global Database (pitfalls 1-10).
//!
//! Primary: an empty `aws_rds_global_cluster` that the primary cluster
//! joins, and a writer instance. The master password is an ephemeral random
//! value written only to write-only attributes (`master_password_wo`,
//! `secret_string_wo`): it never reaches state or any file. The application
//! uses IAM database authentication.
//!
//! DR: a secondary cluster joined to the global cluster, encrypted with a
//! key of its own region, without credentials, created after the primary
//! writer instance exists.

use crate::model::expr::{call, interp, list, lit, object, Expr};
use crate::model::{Address, Lifecycle};
use crate::policy::naming::{Name, NameKind};
use crate::policy::Scope;

use super::network::Network;
use super::notify::kms_key;
use super::{Env, Role, Statement};

pub use crate::policy::constants::BACKUP_RETENTION_DAYS;
/// The Aurora engine.
pub const ENGINE: &str = "aurora-postgresql";
/// The master user name (its password is write-only and ephemeral).
pub const MASTER_USERNAME: &str = "dbadmin";
/// Bump to rotate the master password on the next apply.
pub const MASTER_PASSWORD_VERSION: i64 = 1;
/// Log types exported to CloudWatch.
pub const LOG_EXPORTS: &[&str] = &["postgresql"];
/// Enhanced monitoring granularity (seconds).
pub const MONITORING_INTERVAL_S: i64 = 60;
/// The CA of the server certificate the function verifies.
pub const CA_CERT_IDENTIFIER: &str = "rds-ca-rsa2048-g1";

/// Inputs from module variables.
#[derive(Debug, Clone)]
pub struct DbInputs {
    pub instance_class: Expr,
    pub database_name: Expr,
    /// Primary: the engine version variable. DR: the global cluster's version.
    pub engine_version: Expr,
    /// DR only: the global cluster id, the primary region and the primary
    /// writer instance ARN from the primary layer.
    pub global_cluster_id: Option<Expr>,
    pub source_region: Option<Expr>,
    /// Primary only: the DR region, where the master secret is replicated.
    pub replica_region: Option<Expr>,
    pub primary_writer_arn: Option<Expr>,
}

/// What other components need.
#[derive(Debug, Clone)]
pub struct Database {
    pub global_cluster: Option<Address>,
    pub cluster: Address,
    pub instance: Address,
    pub key: Address,
    pub master_secret: Option<Address>,
}

/// Builds the database of one role.
pub fn build(scope: &mut Scope<'_>, env: &Env, net: &Network, inputs: &DbInputs) -> Database {
    let key = kms_key(
        scope,
        env,
        "aurora",
        NameKind::KmsKeyAurora,
        NameKind::KmsAliasAurora,
        "Encrypts this region's Aurora cluster (KMS keys are regional)",
        Vec::<Statement>::new(),
    );
    let mut cluster = scope
        .named("aws_rds_cluster", "this", &Name::of(NameKind::Cluster))
        .set("engine", Expr::from(ENGINE))
        .set("storage_encrypted", true)
        .set("kms_key_id", key.attr("arn"))
        .set("db_subnet_group_name", net.db_subnet_group.attr("name"))
        .set("vpc_security_group_ids", list([net.sg_aurora.attr("id")]))
        .set("backup_retention_period", Expr::Int(BACKUP_RETENTION_DAYS))
        .set("preferred_backup_window", "03:00-04:00")
        .set("skip_final_snapshot", true)
        .set("deletion_protection", false)
        .set("copy_tags_to_snapshot", true)
        .set("iam_database_authentication_enabled", true)
        .set(
            "enabled_cloudwatch_logs_exports",
            list(LOG_EXPORTS.iter().map(|l| Expr::from(*l))),
        );

    let (global_cluster, master_secret) = match env.role {
        Role::Primary => {
            let g = scope
                .named(
                    "aws_rds_global_cluster",
                    "this",
                    &Name::of(NameKind::GlobalCluster),
                )
                .set("engine", Expr::from(ENGINE))
                .set("engine_version", inputs.engine_version.clone())
                .set("storage_encrypted", true)
                .set("deletion_protection", false)
                .lifecycle(Lifecycle {
                    ignore_changes: vec!["engine_version".into()],
                    ..Lifecycle::default()
                });
            let g = scope.add(g);
            // The AWS provider's own generator (Secrets Manager
            // GetRandomPassword), in 5.100 and 6.x alike: no second provider.
            // Alphanumeric only: RDS rejects '/', '"', '@' and spaces.
            let pw = scope
                .ephemeral("aws_secretsmanager_random_password", "master")
                .set("password_length", Expr::Int(40))
                .set("exclude_punctuation", true)
                .set("include_space", false);
            let pw = scope.add(pw);
            let secret = scope
                .named("aws_secretsmanager_secret", "master", &Name::of(NameKind::MasterSecret))
                .set(
                    "description",
                    "Aurora master password (write-only, never in state). Used only by the migrate action.",
                )
                .set("recovery_window_in_days", Expr::Int(0))
                .block(
                    "replica",
                    crate::model::Body::new().set("region", inputs.replica_region.clone().unwrap_or(Expr::Null)),
                );
            let secret = scope.add(secret);
            let sv = scope
                .unnamed("aws_secretsmanager_secret_version", "master")
                .set("secret_id", secret.attr("id"))
                .set(
                    "secret_string_wo",
                    call(
                        "jsonencode",
                        vec![object([
                            ("username", Expr::from(MASTER_USERNAME)),
                            ("password", pw.attr("random_password")),
                        ])],
                    ),
                )
                .set(
                    "secret_string_wo_version",
                    Expr::Int(MASTER_PASSWORD_VERSION),
                );
            scope.add(sv);
            cluster = cluster
                .set("global_cluster_identifier", g.attr("id"))
                .set("engine", g.attr("engine"))
                .set("engine_version", g.attr("engine_version"))
                .set("database_name", inputs.database_name.clone())
                .set("master_username", MASTER_USERNAME)
                .set("master_password_wo", pw.attr("random_password"))
                .set(
                    "master_password_wo_version",
                    Expr::Int(MASTER_PASSWORD_VERSION),
                )
                .lifecycle(Lifecycle {
                    ignore_changes: vec!["engine_version".into()],
                    ..Lifecycle::default()
                });
            (Some(g), Some(secret))
        }
        Role::Dr => {
            let gate = scope.unnamed("terraform_data", "primary_writer").set(
                "input",
                inputs.primary_writer_arn.clone().unwrap_or(Expr::Null),
            );
            let gate = scope.add(gate);
            cluster = cluster
                .set(
                    "global_cluster_identifier",
                    inputs.global_cluster_id.clone().unwrap_or(Expr::Null),
                )
                .set("engine_version", inputs.engine_version.clone())
                .set(
                    "source_region",
                    inputs.source_region.clone().unwrap_or(Expr::Null),
                )
                .depends_on(&gate)
                .lifecycle(Lifecycle {
                    ignore_changes: vec![
                        "replication_source_identifier".into(),
                        "global_cluster_identifier".into(),
                        "engine_version".into(),
                    ],
                    ..Lifecycle::default()
                });
            (None, None)
        }
    };
    let cluster = scope.add(cluster);

    // Enhanced monitoring: the RDS agent publishes OS metrics with this role.
    let monitoring = scope
        .named(
            "aws_iam_role",
            "rds_monitoring",
            &Name::of(NameKind::RdsMonitoringRole),
        )
        .set(
            "description",
            "RDS enhanced monitoring of this region's Aurora instance",
        )
        .set(
            "assume_role_policy",
            super::assume_role(
                "monitoring.rds.amazonaws.com",
                Some(super::source_account(env)),
            ),
        );
    let monitoring = scope.add(monitoring);
    let monitoring_policy = super::attach(
        scope,
        "rds_monitoring",
        &monitoring,
        "service-role/AmazonRDSEnhancedMonitoringRole",
        env,
    );

    let instance = scope
        .named(
            "aws_rds_cluster_instance",
            "this",
            &Name::numbered(NameKind::ClusterInstance, 1),
        )
        .set("cluster_identifier", cluster.attr("id"))
        .set("instance_class", inputs.instance_class.clone())
        .set("engine", cluster.attr("engine"))
        .set("engine_version", cluster.attr("engine_version"))
        .set("db_subnet_group_name", net.db_subnet_group.attr("name"))
        .set("publicly_accessible", false)
        .set("auto_minor_version_upgrade", true)
        .set("ca_cert_identifier", CA_CERT_IDENTIFIER)
        .set("performance_insights_enabled", true)
        .set("performance_insights_kms_key_id", key.attr("arn"))
        .set("copy_tags_to_snapshot", true)
        .set("monitoring_interval", Expr::Int(MONITORING_INTERVAL_S))
        .set("monitoring_role_arn", monitoring.attr("arn"))
        .depends_on(&monitoring_policy)
        .lifecycle(Lifecycle {
            ignore_changes: vec!["engine_version".into()],
            ..Lifecycle::default()
        });
    let instance = scope.add(instance);

    Database {
        global_cluster,
        cluster,
        instance,
        key,
        master_secret,
    }
}

/// `arn:PARTITION:rds-db:REGION:ACCOUNT:dbuser:CLUSTER_RESOURCE_ID/USER`
pub fn db_user_arn(env: &Env, db: &Database, user: &Expr) -> Expr {
    env.arn(
        "rds-db",
        true,
        vec![
            lit("dbuser:"),
            interp(db.cluster.attr("cluster_resource_id")),
            lit("/"),
            interp(user.clone()),
        ],
    )
}

/// The master secret's ARN pattern in this region (the DR side reads the
/// replica, which has the same name).
pub fn master_secret_arn_pattern(env: &Env) -> Expr {
    let name = Name::of(NameKind::MasterSecret);
    env.arn(
        "secretsmanager",
        true,
        vec![
            lit("secret:"),
            interp(name.expr(&env.names())),
            lit("-??????"),
        ],
    )
}
