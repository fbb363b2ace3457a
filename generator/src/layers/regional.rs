//! The reusable regional modules: `modules/primary` and `modules/dr`.

use std::collections::BTreeMap;

use crate::components::api;
use crate::components::compute::{self, LambdaInputs};
use crate::components::database::{self, DbInputs};
use crate::components::network;
use crate::components::notify;
use crate::components::storage::{self, ReplicationInputs};
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

    // Inputs.
    let suffix = vars::suffix(&mut m);
    let vpc_cidr = vars::vpc_cidr(&mut m);
    let instance_class = vars::instance_class(&mut m);
    let engine_version = vars::engine_version(
        &mut m,
        match role {
            Role::Primary => "Aurora PostgreSQL version (MAJOR.MINOR) the global cluster is created with; minor upgrades are automatic.",
            Role::Dr => "The global cluster's engine version, read from the primary layer.",
        },
    );
    let database_name = vars::pg_ident(&mut m, "database_name", "Name of the ledger database.");
    let app_user = vars::pg_ident(
        &mut m,
        "app_user",
        "Database user of the payment function (IAM database authentication).",
    );
    let memory = vars::number_in(
        &mut m,
        "lambda_memory_mb",
        "Memory of the payment function (MB).",
        128,
        10240,
    );
    let timeout = vars::number_in(
        &mut m,
        "lambda_timeout_s",
        "Timeout of the payment function (s); API Gateway REST integrations end at 29 s.",
        1,
        i64::from(crate::config::validate::MAX_LAMBDA_TIMEOUT_S),
    );
    let reserved = vars::number_in(
        &mut m,
        "lambda_reserved_concurrency",
        "Reserved concurrency of the payment function.",
        1,
        i64::from(crate::config::validate::MAX_RESERVED_CONCURRENCY),
    );
    let az_ids = vars::az_ids(&mut m);
    let package = vars::matching(
        &mut m,
        "lambda_package_path",
        "Path of the payment function's zip (make lambda builds dist/payment-handler.zip).",
        r"\.zip$",
        "a path to a .zip file",
    );
    let allowed_principals = vars::allowed_principals(&mut m);
    let rate_limit = vars::number_in(
        &mut m,
        "waf_rate_limit_per_5min",
        "Requests per source IP in a 5-minute window before the WAF rate-based rule blocks it.",
        i64::from(*crate::config::validate::WAF_RATE_LIMIT.start()),
        i64::from(*crate::config::validate::WAF_RATE_LIMIT.end()),
    );
    let disable_execute_api = vars::variable(
        &mut m,
        "disable_execute_api_endpoint",
        TypeExpr::Bool,
        "Turn off the default execute-api endpoint (true when clients must come through the mutual TLS custom domain).",
        Some(Expr::Bool(false)),
        vec![],
    );
    let (replica_region, dr_inputs) = match role {
        Role::Primary => (
            Some(vars::region(
                &mut m,
                "dr_region",
                "The DR region: the master secret is replicated there.",
            )),
            None,
        ),
        Role::Dr => {
            let source_region = vars::region(
                &mut m,
                "primary_region",
                "The primary region (source of the global cluster and of S3 replication).",
            );
            let gid = vars::matching(
                &mut m,
                "global_cluster_identifier",
                "Id of the global cluster, from the primary layer.",
                "^[a-z][a-z0-9-]{0,62}$",
                "an RDS global cluster identifier",
            );
            let writer = vars::matching(
                &mut m,
                "primary_writer_instance_arn",
                "ARN of the primary writer instance, from the primary layer: the secondary cluster is created only after it exists.",
                "^arn:aws[a-z-]*:rds:",
                "an RDS instance ARN",
            );
            let src_name = vars::matching(
                &mut m,
                "source_bucket_name",
                "Name of the primary payments bucket (replication source).",
                "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                "an S3 bucket name",
            );
            let src_arn = vars::matching(
                &mut m,
                "source_bucket_arn",
                "ARN of the primary payments bucket.",
                "^arn:aws[a-z-]*:s3:::",
                "an S3 bucket ARN",
            );
            let src_ver = vars::matching(
                &mut m,
                "source_bucket_versioning_id",
                "Id of the primary bucket's versioning resource: replication waits for it.",
                "^.+$",
                "non-empty",
            );
            (
                None,
                Some((source_region, gid, writer, src_name, src_arn, src_ver)),
            )
        }
    };

    // Where names and ARNs come from.
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

    let env = Env {
        role,
        suffix: suffix.clone(),
        // `id` is the region name in provider 5.x and 6.x alike (6.x adds `region`).
        region: region_ds.attr("id"),
        account: account_ds.attr("account_id"),
        partition: partition_ds.attr("partition"),
    };
    let names = env.names();
    drop(s);
    let mut s = m.scope(None, names.clone());

    let app_key = notify::app_key(&mut s, &env);
    let net = network::build(&mut s, &env, &vpc_cidr, &az_ids, &app_key);
    let alerts = notify::build(&mut s, &env);
    let db_inputs = DbInputs {
        instance_class,
        database_name: database_name.clone(),
        engine_version,
        global_cluster_id: dr_inputs.as_ref().map(|d| d.1.clone()),
        source_region: dr_inputs.as_ref().map(|d| d.0.clone()),
        replica_region,
        primary_writer_arn: dr_inputs.as_ref().map(|d| d.2.clone()),
    };
    let db = database::build(&mut s, &env, &net, &db_inputs);
    let bucket = storage::build(&mut s);
    let replication = dr_inputs.as_ref().map(|d| {
        storage::replication(
            &mut s,
            &env,
            &bucket,
            &ReplicationInputs {
                source_bucket_name: d.3.clone(),
                source_bucket_arn: d.4.clone(),
                source_versioning_id: d.5.clone(),
            },
        )
    });
    let lambda = compute::build(
        &mut s,
        &env,
        &names,
        &net,
        &db,
        &alerts,
        &app_key,
        &LambdaInputs {
            package_path: package,
            memory_mb: memory,
            timeout_s: timeout,
            database_name,
            app_user,
            reserved_concurrency: reserved,
        },
    );
    let api = api::build(
        &mut s,
        &env,
        &lambda,
        &app_key,
        &api::ApiInputs {
            allowed_principals,
            rate_limit,
            disable_execute_api_endpoint: disable_execute_api,
        },
    );
    drop(s);

    // Outputs.
    let out = |m: &mut Module, name: &str, desc: &str, v: Expr| m.output(name, desc, v);
    out(
        &mut m,
        "region",
        "Region this module was applied in.",
        env.region.clone(),
    );
    out(&mut m, "vpc_id", "Id of the VPC.", net.vpc.attr("id"));
    out(
        &mut m,
        "subnet_private_ids",
        "Ids of the private subnets.",
        net.subnet_ids(),
    );
    out(
        &mut m,
        "security_group_lambda_id",
        "Security group of the payment function.",
        net.sg_lambda.attr("id"),
    );
    out(
        &mut m,
        "security_group_aurora_id",
        "Security group of the Aurora cluster.",
        net.sg_aurora.attr("id"),
    );
    out(
        &mut m,
        "sns_topic_arn",
        "ARN of this region's alerts topic.",
        alerts.topic.attr("arn"),
    );
    out(
        &mut m,
        "kms_sns_key_arn",
        "KMS key of the alerts topic.",
        alerts.key.attr("arn"),
    );
    out(
        &mut m,
        "kms_aurora_key_arn",
        "KMS key of this region's Aurora cluster.",
        db.key.attr("arn"),
    );
    out(
        &mut m,
        "rds_cluster_id",
        "Identifier of this region's Aurora cluster.",
        db.cluster.attr("id"),
    );
    out(
        &mut m,
        "rds_cluster_arn",
        "ARN of this region's Aurora cluster.",
        db.cluster.attr("arn"),
    );
    out(
        &mut m,
        "rds_cluster_endpoint",
        "Cluster (writer) endpoint of this region's Aurora cluster.",
        db.cluster.attr("endpoint"),
    );
    out(
        &mut m,
        "rds_cluster_reader_endpoint",
        "Reader endpoint of this region's Aurora cluster.",
        db.cluster.attr("reader_endpoint"),
    );
    out(
        &mut m,
        "rds_instance_arn",
        "ARN of this region's Aurora instance.",
        db.instance.attr("arn"),
    );
    out(
        &mut m,
        "rds_instance_id",
        "Identifier of this region's Aurora instance.",
        db.instance.attr("identifier"),
    );
    out(
        &mut m,
        "s3_bucket_name",
        "Name of this region's payments bucket.",
        bucket.bucket.attr("bucket"),
    );
    out(
        &mut m,
        "s3_bucket_arn",
        "ARN of this region's payments bucket.",
        bucket.bucket.attr("arn"),
    );
    out(
        &mut m,
        "s3_bucket_versioning_id",
        "Id of the bucket's versioning resource.",
        bucket.versioning.attr("id"),
    );
    out(
        &mut m,
        "lambda_function_name",
        "Name of the payment function.",
        lambda.function.attr("function_name"),
    );
    out(
        &mut m,
        "lambda_function_arn",
        "ARN of the payment function.",
        lambda.function.attr("arn"),
    );
    out(
        &mut m,
        "lambda_role_arn",
        "ARN of the payment function's role.",
        lambda.role.attr("arn"),
    );
    out(
        &mut m,
        "api_id",
        "Id of the REST API.",
        api.rest_api.attr("id"),
    );
    out(
        &mut m,
        "api_name",
        "Name of the REST API (CloudWatch dimension ApiName).",
        api.rest_api.attr("name"),
    );
    out(
        &mut m,
        "api_execution_arn",
        "Execution ARN of the REST API.",
        api.rest_api.attr("execution_arn"),
    );
    out(
        &mut m,
        "api_stage_name",
        "Stage serving the routes.",
        api.stage.attr("stage_name"),
    );
    out(
        &mut m,
        "api_invoke_url",
        "Invoke URL of the stage.",
        api.stage.attr("invoke_url"),
    );
    out(
        &mut m,
        "api_host",
        "Regional execute-api host name (for health checks and custom domains).",
        api.host(&env),
    );
    // "" when there is no health-only API (no mutual TLS): a null output
    // would be missing from the remote state the global layer reads.
    let or_empty = |a: &Address, attr: &str| {
        crate::model::expr::call(
            "try",
            vec![a.reference().index(0).attr(attr).expr(), Expr::from("")],
        )
    };
    out(
        &mut m,
        "health_api_id",
        "Id of the health-only REST API (GET /health, for Route 53 health checks when the payment API requires client certificates); empty without mutual TLS.",
        or_empty(&api.health_api, "id"),
    );
    out(
        &mut m,
        "health_api_stage_name",
        "Stage of the health-only REST API; empty without mutual TLS.",
        or_empty(&api.health_stage, "stage_name"),
    );
    out(
        &mut m,
        "api_health_url",
        "URL of the health route.",
        tpl(vec![interp(api.stage.attr("invoke_url")), lit("/health")]),
    );
    match role {
        Role::Primary => {
            let g = db
                .global_cluster
                .clone()
                .unwrap_or_else(|| Address::managed("aws_rds_global_cluster", "this"));
            out(
                &mut m,
                "rds_global_cluster_id",
                "Identifier of the global cluster.",
                g.attr("id"),
            );
            out(
                &mut m,
                "rds_global_cluster_arn",
                "ARN of the global cluster.",
                g.attr("arn"),
            );
            out(
                &mut m,
                "rds_global_cluster_engine_version",
                "Engine version of the global cluster (the DR cluster takes it).",
                g.attr("engine_version"),
            );
            out(
                &mut m,
                "rds_writer_instance_arn",
                "ARN of the primary writer instance (the DR cluster waits for it).",
                db.instance.attr("arn"),
            );
            if let Some(sec) = &db.master_secret {
                out(
                    &mut m,
                    "secretsmanager_master_secret_arn",
                    "ARN of the master secret (value is write-only; never in state).",
                    sec.attr("arn"),
                );
            }
        }
        Role::Dr => {
            if let Some(r) = &replication {
                out(
                    &mut m,
                    "s3_replication_id",
                    "Id of the replication configuration on the primary bucket.",
                    r.attr("id"),
                );
            }
        }
    }
    m
}
