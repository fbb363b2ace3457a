//! The region's alerts topic, encrypted with a customer-managed KMS key
//! whose policy lets CloudWatch use it (pitfall 34: `alias/aws/sns` would
//! silently drop alarm notifications).

use crate::model::expr::{object, Expr};
use crate::model::Address;
use crate::policy::naming::{Name, NameKind};
use crate::policy::Scope;

use super::{policy, source_account, Env, Statement};

/// What other components need.
#[derive(Debug, Clone)]
pub struct Notify {
    pub key: Address,
    pub topic: Address,
}

/// Days a deleted KMS key waits (the AWS minimum, so teardown is quick).
pub const KMS_DELETION_WINDOW_DAYS: i64 = 7;

/// A customer-managed key with rotation, whose policy gives the account
/// root full use plus the given extra statements.
pub fn kms_key(
    scope: &mut Scope<'_>,
    env: &Env,
    local: &str,
    name: NameKind,
    alias: NameKind,
    description: &str,
    extra: Vec<Statement>,
) -> Address {
    let root = crate::model::expr::tpl(vec![
        crate::model::expr::lit("arn:"),
        crate::model::expr::interp(env.partition.clone()),
        crate::model::expr::lit(":iam::"),
        crate::model::expr::interp(env.account.clone()),
        crate::model::expr::lit(":root"),
    ]);
    let mut statements = vec![Statement {
        principal: Some(object([("AWS", root)])),
        ..Statement::allow("AccountAdministration", &["kms:*"], vec![Expr::from("*")])
    }];
    statements.extend(extra);
    let key = scope
        .named("aws_kms_key", local, &Name::of(name))
        .set("description", description)
        .set("enable_key_rotation", true)
        .set(
            "deletion_window_in_days",
            Expr::Int(KMS_DELETION_WINDOW_DAYS),
        )
        .set("policy", policy(&statements));
    let key = scope.add(key);
    let a = scope
        .named("aws_kms_alias", local, &Name::of(alias))
        .set("target_key_id", key.attr("key_id"));
    scope.add(a);
    key
}

/// The region's application key: CloudWatch Logs (every log group) and
/// the function's environment variables.
pub fn app_key(scope: &mut Scope<'_>, env: &Env) -> Address {
    use crate::model::expr::{interp, lit, tpl};
    let logs_service = tpl(vec![
        lit("logs."),
        interp(env.region.clone()),
        lit(".amazonaws.com"),
    ]);
    let log_groups = env.arn("logs", true, vec![lit("log-group:*")]);
    let logs = Statement {
        principal: Some(object([("Service", logs_service)])),
        condition: Some(object([(
            "ArnLike",
            object([("kms:EncryptionContext:aws:logs:arn", log_groups)]),
        )])),
        ..Statement::allow(
            "CloudWatchLogsUseKey",
            &[
                "kms:Decrypt*",
                "kms:Describe*",
                "kms:Encrypt*",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*",
            ],
            vec![Expr::from("*")],
        )
    };
    kms_key(
        scope,
        env,
        "app",
        NameKind::KmsKeyApp,
        NameKind::KmsAliasApp,
        "Encrypts this region's log groups and the payment function's environment",
        vec![logs],
    )
}

/// Builds the key and topic.
pub fn build(scope: &mut Scope<'_>, env: &Env) -> Notify {
    let cloudwatch = Statement {
        principal: Some(object([(
            "Service",
            Expr::from("cloudwatch.amazonaws.com"),
        )])),
        condition: Some(source_account(env)),
        ..Statement::allow(
            "CloudWatchAlarmsUseKey",
            &["kms:Decrypt", "kms:GenerateDataKey*"],
            vec![Expr::from("*")],
        )
    };
    let key = kms_key(
        scope,
        env,
        "sns",
        NameKind::KmsKeySns,
        NameKind::KmsAliasSns,
        "Encrypts the alerts topic; CloudWatch may use it to publish alarms",
        vec![cloudwatch],
    );
    let topic = scope
        .named("aws_sns_topic", "alerts", &Name::of(NameKind::AlertsTopic))
        .set("kms_master_key_id", key.attr("arn"));
    let topic = scope.add(topic);
    let publish = Statement {
        principal: Some(object([(
            "Service",
            Expr::from("cloudwatch.amazonaws.com"),
        )])),
        condition: Some(source_account(env)),
        ..Statement::allow(
            "CloudWatchAlarmsPublish",
            &["sns:Publish"],
            vec![topic.attr("arn")],
        )
    };
    let tp = scope
        .unnamed("aws_sns_topic_policy", "alerts")
        .set("arn", topic.attr("arn"))
        .set("policy", policy(&[publish]));
    scope.add(tp);
    Notify { key, topic }
}
