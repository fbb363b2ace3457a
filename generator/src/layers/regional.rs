//! The reusable regional modules: `modules/primary` and `modules/dr`.

use std::collections::BTreeMap;

use crate::components::api::{self, Api, ApiInputs};
use crate::components::compute::{self, Lambda, LambdaInputs};
use crate::components::database::{self, Database, DbInputs};
use crate::components::network::{self, Network};
use crate::components::notify::{self, Notify};
use crate::components::storage::{self, ReplicationInputs, Storage};
use crate::components::{Env, Role};
use crate::model::expr::{interp, lit, tpl, Expr};
use crate::model::{
    Address, Module, ModuleKind, ProviderRef, RequiredProvider, TerraformBlock, TypeExpr,
};
use crate::policy::naming::NameContext;

use super::{vars, AWS_FLOOR, TERRAFORM_FLOOR};

/// The directory of a regional module.
pub fn dir(role: Role) -> String {
    format!("modules/{}", role.as_str())
}

fn versions(role: Role) -> TerraformBlock {
    let mut rp = BTreeMap::new();
    rp.insert(
        "aws".to_owned(),
        RequiredProvider {
            source: "hashicorp/aws".into(),
            version: AWS_FLOOR.into(),
            configuration_aliases: match role {
                Role::Primary => vec![],
                Role::Dr => vec![ProviderRef::aliased("aws", "primary")],
            },
        },
    );
    TerraformBlock {
        required_version: TERRAFORM_FLOOR.into(),
        required_providers: rp,
        backend: None,
    }
}

/// The module's variables, grouped by the component that reads them.
struct Inputs {
    suffix: Expr,
    vpc_cidr: Expr,
    az_ids: Expr,
    db: DbInputs,
    lambda: LambdaInputs,
    api: ApiInputs,
    /// DR only: the primary bucket that replicates into this region's.
    replication: Option<ReplicationInputs>,
}

/// The components of a regional module, for its outputs.
struct Parts {
    net: Network,
    alerts: Notify,
    db: Database,
    bucket: Storage,
    replication: Option<Address>,
    lambda: Lambda,
    api: Api,
}

/// Builds `modules/primary` or `modules/dr`.
pub fn build(role: Role) -> Module {
    let description = match role {
        Role::Primary => "Primary region of the payment stack: VPC, Aurora global cluster with the primary cluster and writer, payment function, REST API, bucket and alerts topic.",
        Role::Dr => "DR region of the payment stack: VPC, Aurora secondary cluster joined to the global cluster, the same payment function and REST API, bucket with replication from the primary, and alerts topic.",
    };
    let mut m = Module::new(
        &dir(role),
        ModuleKind::Reusable,
        description,
        versions(role),
    );
    let inputs = declare_inputs(&mut m, role);
    let env = lookup_env(&mut m, role, &inputs.suffix);
    let parts = wire(&mut m, &env, &inputs);
    declare_outputs(&mut m, &env, &parts);
    m
}

/// Declares every variable of the module.
fn declare_inputs(m: &mut Module, role: Role) -> Inputs {
    let suffix = vars::suffix(m);
    let vpc_cidr = vars::vpc_cidr(m);
    let db = declare_database_inputs(m, role);
    let lambda = declare_lambda_inputs(m, &db.database_name);
    let az_ids = vars::az_ids(m);
    let api = declare_api_inputs(m);
    let replication = match role {
        Role::Primary => None,
        Role::Dr => Some(declare_replication_inputs(m)),
    };
    Inputs {
        suffix,
        vpc_cidr,
        az_ids,
        db,
        lambda,
        api,
        replication,
    }
}

/// The database's variables: engine and, per side, where the global
/// cluster comes from (DR) or where the master secret goes (primary).
fn declare_database_inputs(m: &mut Module, role: Role) -> DbInputs {
    let instance_class = vars::instance_class(m);
    let engine_version = vars::engine_version(
        m,
        match role {
            Role::Primary => "Aurora PostgreSQL version (MAJOR.MINOR) the global cluster is created with; minor upgrades are automatic.",
            Role::Dr => "The global cluster's engine version, read from the primary layer.",
        },
    );
    let database_name = vars::pg_ident(m, "database_name", "Name of the ledger database.");
    let mut db = DbInputs {
        instance_class,
        database_name,
        engine_version,
        global_cluster_id: None,
        source_region: None,
        replica_region: None,
        primary_writer_arn: None,
    };
    match role {
        Role::Primary => {
            db.replica_region = Some(vars::region(
                m,
                "dr_region",
                "The DR region: the master secret is replicated there.",
            ));
        }
        Role::Dr => {
            db.source_region = Some(vars::region(
                m,
                "primary_region",
                "The primary region (source of the global cluster and of S3 replication).",
            ));
            db.global_cluster_id = Some(vars::matching(
                m,
                "global_cluster_identifier",
                "Id of the global cluster, from the primary layer.",
                "^[a-z][a-z0-9-]{0,62}$",
                "an RDS global cluster identifier",
            ));
            db.primary_writer_arn = Some(vars::matching(
                m,
                "primary_writer_instance_arn",
                "ARN of the primary writer instance, from the primary layer: the secondary cluster is created only after it exists.",
                "^arn:aws[a-z-]*:rds:",
                "an RDS instance ARN",
            ));
        }
    }
    db
}

/// The payment function's variables.
fn declare_lambda_inputs(m: &mut Module, database_name: &Expr) -> LambdaInputs {
    let app_user = vars::pg_ident(
        m,
        "app_user",
        "Database user of the payment function (IAM database authentication).",
    );
    let memory_mb = vars::number_in(
        m,
        "lambda_memory_mb",
        "Memory of the payment function (MB).",
        128,
        10240,
    );
    let timeout_s = vars::number_in(
        m,
        "lambda_timeout_s",
        "Timeout of the payment function (s); API Gateway REST integrations end at 29 s.",
        1,
        i64::from(crate::config::validate::MAX_LAMBDA_TIMEOUT_S),
    );
    let reserved_concurrency = vars::number_in(
        m,
        "lambda_reserved_concurrency",
        "Reserved concurrency of the payment function.",
        1,
        i64::from(crate::config::validate::MAX_RESERVED_CONCURRENCY),
    );
    let package_path = vars::matching(
        m,
        "lambda_package_path",
        "Path of the payment function's zip (make lambda builds dist/payment-handler.zip).",
        r"\.zip$",
        "a path to a .zip file",
    );
    LambdaInputs {
        package_path,
        memory_mb,
        timeout_s,
        database_name: database_name.clone(),
        app_user,
        reserved_concurrency,
    }
}

/// The REST API's variables.
fn declare_api_inputs(m: &mut Module) -> ApiInputs {
    let allowed_principals = vars::allowed_principals(m);
    let rate_limit = vars::number_in(
        m,
        "waf_rate_limit_per_5min",
        "Requests per source IP in a 5-minute window before the WAF rate-based rule blocks it.",
        i64::from(*crate::config::validate::WAF_RATE_LIMIT.start()),
        i64::from(*crate::config::validate::WAF_RATE_LIMIT.end()),
    );
    let disable_execute_api_endpoint = vars::variable(
        m,
        "disable_execute_api_endpoint",
        TypeExpr::Bool,
        "Turn off the default execute-api endpoint (true when clients must come through the mutual TLS custom domain).",
        Some(Expr::Bool(false)),
        vec![],
    );
    ApiInputs {
        allowed_principals,
        rate_limit,
        disable_execute_api_endpoint,
    }
}

/// DR only: the primary bucket, the source of S3 replication.
fn declare_replication_inputs(m: &mut Module) -> ReplicationInputs {
    let source_bucket_name = vars::matching(
        m,
        "source_bucket_name",
        "Name of the primary payments bucket (replication source).",
        "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        "an S3 bucket name",
    );
    let source_bucket_arn = vars::matching(
        m,
        "source_bucket_arn",
        "ARN of the primary payments bucket.",
        "^arn:aws[a-z-]*:s3:::",
        "an S3 bucket ARN",
    );
    let source_versioning_id = vars::matching(
        m,
        "source_bucket_versioning_id",
        "Id of the primary bucket's versioning resource: replication waits for it.",
        "^.+$",
        "non-empty",
    );
    ReplicationInputs {
        source_bucket_name,
        source_bucket_arn,
        source_versioning_id,
    }
}

/// Where names and ARNs come from: the region, account and partition data
/// sources of the module's provider.
fn lookup_env(m: &mut Module, role: Role, suffix: &Expr) -> Env {
    let mut s = m.scope(
        None,
        NameContext {
            suffix: suffix.clone(),
            region: Expr::Null,
            account: Expr::Null,
        },
    );
    let region_ds = s.add(s.data("aws_region", "current"));
    let account_ds = s.add(s.data("aws_caller_identity", "current"));
    let partition_ds = s.add(s.data("aws_partition", "current"));
    Env {
        role,
        suffix: suffix.clone(),
        // `id` is the region name in provider 5.x and 6.x alike (6.x adds `region`).
        region: region_ds.attr("id"),
        account: account_ds.attr("account_id"),
        partition: partition_ds.attr("partition"),
    }
}

/// Adds the components, each reading the inputs and the ones before it.
fn wire(m: &mut Module, env: &Env, inputs: &Inputs) -> Parts {
    let names = env.names();
    let mut s = m.scope(None, names.clone());
    let app_key = notify::app_key(&mut s, env);
    let net = network::build(&mut s, env, &inputs.vpc_cidr, &inputs.az_ids, &app_key);
    let alerts = notify::build(&mut s, env);
    let db = database::build(&mut s, env, &net, &inputs.db);
    let bucket = storage::build(&mut s);
    let replication = inputs
        .replication
        .as_ref()
        .map(|r| storage::replication(&mut s, env, &bucket, r));
    let lambda = compute::build(
        &mut s,
        env,
        &names,
        &net,
        &db,
        &alerts,
        &app_key,
        &inputs.lambda,
    );
    let api = api::build(&mut s, env, &lambda, &app_key, &inputs.api);
    Parts {
        net,
        alerts,
        db,
        bucket,
        replication,
        lambda,
        api,
    }
}

/// Declares each `(name, description, value)` as an output.
fn outputs(m: &mut Module, list: Vec<(&str, &str, Expr)>) {
    for (name, description, value) in list {
        m.output(name, description, value);
    }
}

/// Declares the module's outputs: what the roots forward and the other
/// layers read.
fn declare_outputs(m: &mut Module, env: &Env, p: &Parts) {
    network_outputs(m, env, &p.net, &p.alerts);
    database_outputs(m, &p.db);
    storage_outputs(m, &p.bucket);
    lambda_outputs(m, &p.lambda);
    api_outputs(m, env, &p.api);
    match env.role {
        Role::Primary => global_cluster_outputs(m, &p.db),
        Role::Dr => {
            if let Some(r) = &p.replication {
                m.output(
                    "s3_replication_id",
                    "Id of the replication configuration on the primary bucket.",
                    r.attr("id"),
                );
            }
        }
    }
}

fn network_outputs(m: &mut Module, env: &Env, net: &Network, alerts: &Notify) {
    outputs(
        m,
        vec![
            (
                "region",
                "Region this module was applied in.",
                env.region.clone(),
            ),
            ("vpc_id", "Id of the VPC.", net.vpc.attr("id")),
            (
                "subnet_private_ids",
                "Ids of the private subnets.",
                net.subnet_ids(),
            ),
            (
                "security_group_lambda_id",
                "Security group of the payment function.",
                net.sg_lambda.attr("id"),
            ),
            (
                "security_group_aurora_id",
                "Security group of the Aurora cluster.",
                net.sg_aurora.attr("id"),
            ),
            (
                "sns_topic_arn",
                "ARN of this region's alerts topic.",
                alerts.topic.attr("arn"),
            ),
            (
                "kms_sns_key_arn",
                "KMS key of the alerts topic.",
                alerts.key.attr("arn"),
            ),
        ],
    );
}

fn database_outputs(m: &mut Module, db: &Database) {
    outputs(
        m,
        vec![
            (
                "kms_aurora_key_arn",
                "KMS key of this region's Aurora cluster.",
                db.key.attr("arn"),
            ),
            (
                "rds_cluster_id",
                "Identifier of this region's Aurora cluster.",
                db.cluster.attr("id"),
            ),
            (
                "rds_cluster_arn",
                "ARN of this region's Aurora cluster.",
                db.cluster.attr("arn"),
            ),
            (
                "rds_cluster_endpoint",
                "Cluster (writer) endpoint of this region's Aurora cluster.",
                db.cluster.attr("endpoint"),
            ),
            (
                "rds_cluster_reader_endpoint",
                "Reader endpoint of this region's Aurora cluster.",
                db.cluster.attr("reader_endpoint"),
            ),
            (
                "rds_instance_arn",
                "ARN of this region's Aurora instance.",
                db.instance.attr("arn"),
            ),
            (
                "rds_instance_id",
                "Identifier of this region's Aurora instance.",
                db.instance.attr("identifier"),
            ),
        ],
    );
}

fn storage_outputs(m: &mut Module, bucket: &Storage) {
    outputs(
        m,
        vec![
            (
                "s3_bucket_name",
                "Name of this region's payments bucket.",
                bucket.bucket.attr("bucket"),
            ),
            (
                "s3_bucket_arn",
                "ARN of this region's payments bucket.",
                bucket.bucket.attr("arn"),
            ),
            (
                "s3_bucket_versioning_id",
                "Id of the bucket's versioning resource.",
                bucket.versioning.attr("id"),
            ),
        ],
    );
}

fn lambda_outputs(m: &mut Module, lambda: &Lambda) {
    outputs(
        m,
        vec![
            (
                "lambda_function_name",
                "Name of the payment function.",
                lambda.function.attr("function_name"),
            ),
            (
                "lambda_function_arn",
                "ARN of the payment function.",
                lambda.function.attr("arn"),
            ),
            (
                "lambda_role_arn",
                "ARN of the payment function's role.",
                lambda.role.attr("arn"),
            ),
        ],
    );
}

fn api_outputs(m: &mut Module, env: &Env, api: &Api) {
    // "" when there is no health-only API (no mutual TLS): a null output
    // would be missing from the remote state the global layer reads.
    let or_empty = |a: &Address, attr: &str| {
        crate::model::expr::call(
            "try",
            vec![a.reference().index(0).attr(attr).expr(), Expr::from("")],
        )
    };
    outputs(
        m,
        vec![
            ("api_id", "Id of the REST API.", api.rest_api.attr("id")),
            (
                "api_name",
                "Name of the REST API (CloudWatch dimension ApiName).",
                api.rest_api.attr("name"),
            ),
            (
                "api_execution_arn",
                "Execution ARN of the REST API.",
                api.rest_api.attr("execution_arn"),
            ),
            (
                "api_stage_name",
                "Stage serving the routes.",
                api.stage.attr("stage_name"),
            ),
            (
                "api_invoke_url",
                "Invoke URL of the stage.",
                api.stage.attr("invoke_url"),
            ),
            (
                "api_host",
                "Regional execute-api host name (for health checks and custom domains).",
                api.host(env),
            ),
            (
                "health_api_id",
                "Id of the health-only REST API (GET /health, for Route 53 health checks when the payment API requires client certificates); empty without mutual TLS.",
                or_empty(&api.health_api, "id"),
            ),
            (
                "health_api_stage_name",
                "Stage of the health-only REST API; empty without mutual TLS.",
                or_empty(&api.health_stage, "stage_name"),
            ),
            (
                "api_health_url",
                "URL of the health route.",
                tpl(vec![interp(api.stage.attr("invoke_url")), lit("/health")]),
            ),
        ],
    );
}

/// Primary only: what the dr layer reads to join the global cluster.
fn global_cluster_outputs(m: &mut Module, db: &Database) {
    let g = db
        .global_cluster
        .clone()
        .unwrap_or_else(|| Address::managed("aws_rds_global_cluster", "this"));
    outputs(
        m,
        vec![
            (
                "rds_global_cluster_id",
                "Identifier of the global cluster.",
                g.attr("id"),
            ),
            (
                "rds_global_cluster_arn",
                "ARN of the global cluster.",
                g.attr("arn"),
            ),
            (
                "rds_global_cluster_engine_version",
                "Engine version of the global cluster (the DR cluster takes it).",
                g.attr("engine_version"),
            ),
            (
                "rds_writer_instance_arn",
                "ARN of the primary writer instance (the DR cluster waits for it).",
                db.instance.attr("arn"),
            ),
        ],
    );
    if let Some(sec) = &db.master_secret {
        m.output(
            "secretsmanager_master_secret_arn",
            "ARN of the master secret (value is write-only; never in state).",
            sec.attr("arn"),
        );
    }
}
