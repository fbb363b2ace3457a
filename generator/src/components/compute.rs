//! The payment function: one Rust builder makes it for both regions, so the
//! two are identical by construction (pitfalls 17-20).

use std::collections::BTreeMap;

use crate::model::expr::{call, interp, list, lit, Expr};
use crate::model::{Address, Body};
use crate::policy::naming::{Name, NameContext, NameKind};
use crate::policy::Scope;

use super::database::{db_user_arn, master_secret_arn_pattern, Database};
use super::network::Network;
use super::notify::Notify;
use super::{assume_role, attach, policy, Env, Statement};

/// Runtime of the Rust function.
pub const RUNTIME: &str = "provided.al2023";
/// The handler name a custom runtime ignores; `bootstrap` by convention.
pub const HANDLER: &str = "bootstrap";
/// CPU architecture of the built binary.
pub const ARCHITECTURE: &str = "x86_64";
/// Environment variable names the function reads.
pub const ENV_KEYS: &[&str] = &[
    "DB_HOST",
    "DB_NAME",
    "DB_PORT",
    "DB_USER",
    "DB_MASTER_SECRET",
    "REGION_ROLE",
    "SESSION_TABLE",
    "TOPIC_ARN",
];
pub use crate::policy::constants::RESERVED_ENV_KEYS;

/// Inputs from module variables.
#[derive(Debug, Clone)]
pub struct LambdaInputs {
    pub package_path: Expr,
    pub memory_mb: Expr,
    pub timeout_s: Expr,
    pub database_name: Expr,
    pub app_user: Expr,
    pub reserved_concurrency: Expr,
}

/// What other components need.
#[derive(Debug, Clone)]
pub struct Lambda {
    pub function: Address,
    pub role: Address,
    pub log_group: Address,
}

/// The session table's name: the global layer makes the table with the same
/// policy, so the function finds it by name.
pub fn session_table_name(names: &NameContext) -> Expr {
    Name::of(NameKind::SessionsTable).expr(names)
}

/// Builds role, log group and function.
#[allow(clippy::too_many_arguments)]
pub fn build(
    scope: &mut Scope<'_>,
    env: &Env,
    names: &NameContext,
    net: &Network,
    db: &Database,
    notify: &Notify,
    app_key: &Address,
    inputs: &LambdaInputs,
) -> Lambda {
    let role = scope
        .named("aws_iam_role", "lambda", &Name::of(NameKind::LambdaRole))
        .set(
            "description",
            "Payment function: VPC access, its session table, its topic, IAM DB auth",
        )
        .set(
            "assume_role_policy",
            assume_role("lambda.amazonaws.com", None),
        );
    let role = scope.add(role);
    let vpc_access = attach(
        scope,
        "lambda_vpc_access",
        &role,
        "service-role/AWSLambdaVPCAccessExecutionRole",
        env,
    );
    let xray = attach(scope, "lambda_xray", &role, "AWSXRayDaemonWriteAccess", env);

    let table = session_table_name(names);
    let table_arn = env.arn("dynamodb", true, vec![lit("table/"), interp(table.clone())]);
    let statements = [
        Statement::allow(
            "SessionTable",
            &[
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:DescribeTable",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            ],
            vec![table_arn],
        ),
        Statement::allow(
            "PublishAlerts",
            &["sns:Publish"],
            vec![notify.topic.attr("arn")],
        ),
        Statement::allow(
            "EncryptAlerts",
            &["kms:Decrypt", "kms:GenerateDataKey*"],
            vec![notify.key.attr("arn")],
        ),
        Statement::allow(
            "DecryptEnvironment",
            &["kms:Decrypt"],
            vec![app_key.attr("arn")],
        ),
        Statement::allow(
            "ConnectAsAppUser",
            &["rds-db:connect"],
            vec![db_user_arn(env, db, &inputs.app_user)],
        ),
        Statement::allow(
            "ReadMasterSecretForMigrations",
            &["secretsmanager:GetSecretValue"],
            vec![master_secret_arn_pattern(env)],
        ),
    ];
    let pol = scope
        .named(
            "aws_iam_role_policy",
            "lambda",
            &Name::of(NameKind::LambdaPolicy),
        )
        .set("role", role.attr("id"))
        .set("policy", policy(&statements));
    let pol = scope.add(pol);

    let log_group = super::log_group(
        scope,
        "lambda",
        &Name::of(NameKind::LambdaLogGroup),
        app_key,
    );

    let mut vars: BTreeMap<String, Expr> = BTreeMap::new();
    // The instance endpoint, not the cluster endpoint: a secondary cluster's
    // writer endpoint is inactive until promotion, while its instance
    // endpoint answers read-only, so the function can detect a passive
    // region from the database itself (and sees it become writable on
    // promotion without a redeploy).
    vars.insert("DB_HOST".into(), db.instance.attr("endpoint"));
    vars.insert("DB_PORT".into(), Expr::from("5432"));
    vars.insert("DB_NAME".into(), inputs.database_name.clone());
    vars.insert("DB_USER".into(), inputs.app_user.clone());
    vars.insert(
        "DB_MASTER_SECRET".into(),
        Name::of(NameKind::MasterSecret).expr(names),
    );
    vars.insert("REGION_ROLE".into(), Expr::from(env.role.as_str()));
    vars.insert("SESSION_TABLE".into(), table);
    vars.insert("TOPIC_ARN".into(), notify.topic.attr("arn"));

    let f = scope
        .named(
            "aws_lambda_function",
            "payment",
            &Name::of(NameKind::LambdaFunction),
        )
        .set("description", "Payment processing (Rust, provided.al2023)")
        .set("role", role.attr("arn"))
        .set("runtime", RUNTIME)
        .set("handler", HANDLER)
        .set("architectures", list([Expr::from(ARCHITECTURE)]))
        .set("filename", inputs.package_path.clone())
        .set(
            "source_code_hash",
            call("filebase64sha256", vec![inputs.package_path.clone()]),
        )
        .set("memory_size", inputs.memory_mb.clone())
        .set("timeout", inputs.timeout_s.clone())
        .set("replace_security_groups_on_destroy", true)
        .set(
            "reserved_concurrent_executions",
            inputs.reserved_concurrency.clone(),
        )
        .set("kms_key_arn", app_key.attr("arn"))
        .block("tracing_config", Body::new().set("mode", "Active"))
        .block(
            "vpc_config",
            Body::new()
                .set("subnet_ids", net.subnet_ids())
                .set("security_group_ids", list([net.sg_lambda.attr("id")])),
        )
        .block(
            "environment",
            Body::new().set("variables", Expr::Object(vars)),
        )
        .block(
            "logging_config",
            Body::new()
                .set("log_format", "JSON")
                .set("log_group", log_group.attr("name")),
        )
        .depends_on(&log_group)
        .depends_on(&vpc_access)
        .depends_on(&xray)
        .depends_on(&pol);
    let function = scope.add(f);
    Lambda {
        function,
        role,
        log_group,
    }
}
