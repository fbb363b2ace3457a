//! Components: the parts of a regional module (network, database, compute,
//! api, storage, notifications). Each adds resources through a [`Scope`],
//! so naming and tagging always come from the policies.

pub mod api;
pub mod compute;
pub mod database;
pub mod dns;
pub mod monitoring;
pub mod network;
pub mod notify;
pub mod sessions;
pub mod storage;

use crate::model::expr::{call, list, object, Expr};
use crate::model::Address;
use crate::policy::Scope;

/// Retention of every log group the stack makes (payment audit: one year).
pub const LOG_RETENTION_DAYS: i64 = 365;

/// A log group encrypted with the region's application key.
pub fn log_group(
    scope: &mut Scope<'_>,
    local: &str,
    name: &crate::policy::naming::Name,
    key: &Address,
) -> Address {
    let d = scope
        .named("aws_cloudwatch_log_group", local, name)
        .set("retention_in_days", Expr::Int(LOG_RETENTION_DAYS))
        .set("kms_key_id", key.attr("arn"));
    scope.add(d)
}

/// Which side of the active-passive pair a regional module is: the
/// model's [`Layer`](crate::model::Layer) restricted to the regional ones.
pub use crate::model::Role;

/// Values every component reads: the module's region, account and partition.
#[derive(Debug, Clone)]
pub struct Env {
    pub role: Role,
    pub suffix: Expr,
    pub region: Expr,
    pub account: Expr,
    pub partition: Expr,
}

impl Env {
    /// What names are made of in this module.
    pub fn names(&self) -> crate::policy::naming::NameContext {
        crate::policy::naming::NameContext {
            suffix: self.suffix.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
        }
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` as a template.
    pub fn arn(&self, service: &str, regional: bool, resource: Vec<crate::model::Part>) -> Expr {
        use crate::model::expr::{interp, lit, tpl};
        let mut parts = vec![
            lit("arn:"),
            interp(self.partition.clone()),
            lit(&format!(":{service}:")),
        ];
        if regional {
            parts.push(interp(self.region.clone()));
        }
        parts.push(lit(":"));
        parts.push(interp(self.account.clone()));
        parts.push(lit(":"));
        parts.extend(resource);
        tpl(parts)
    }
}

/// One IAM policy statement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: &'static str,
    pub effect: &'static str,
    pub actions: Vec<&'static str>,
    pub resources: Vec<Expr>,
    /// Optional `Condition` object.
    pub condition: Option<Expr>,
    /// Optional `Principal` object (resource policies).
    pub principal: Option<Expr>,
}

impl Statement {
    /// An Allow statement.
    pub fn allow(sid: &'static str, actions: &[&'static str], resources: Vec<Expr>) -> Self {
        Self {
            sid,
            effect: "Allow",
            actions: actions.to_vec(),
            resources,
            condition: None,
            principal: None,
        }
    }

    fn to_expr(&self) -> Expr {
        let mut m = vec![
            ("Sid", Expr::from(self.sid)),
            ("Effect", Expr::from(self.effect)),
            ("Action", list(self.actions.iter().map(|a| Expr::from(*a)))),
            ("Resource", list(self.resources.clone())),
        ];
        if let Some(c) = &self.condition {
            m.push(("Condition", c.clone()));
        }
        if let Some(p) = &self.principal {
            m.push(("Principal", p.clone()));
        }
        object(m)
    }
}

/// `jsonencode` of an IAM policy document.
pub fn policy(statements: &[Statement]) -> Expr {
    call(
        "jsonencode",
        vec![object([
            ("Version", Expr::from("2012-10-17")),
            ("Statement", list(statements.iter().map(Statement::to_expr))),
        ])],
    )
}

/// A trust policy letting one AWS service assume the role.
pub fn assume_role(service: &str, conditions: Option<Expr>) -> Expr {
    let mut st = vec![
        ("Effect", Expr::from("Allow")),
        ("Principal", object([("Service", Expr::from(service))])),
        ("Action", Expr::from("sts:AssumeRole")),
    ];
    if let Some(c) = conditions {
        st.push(("Condition", c));
    }
    call(
        "jsonencode",
        vec![object([
            ("Version", Expr::from("2012-10-17")),
            ("Statement", list([object(st)])),
        ])],
    )
}

/// `aws:SourceAccount` condition, against confused-deputy use of a role.
pub fn source_account(env: &Env) -> Expr {
    object([(
        "StringEquals",
        object([("aws:SourceAccount", env.account.clone())]),
    )])
}

/// Adds a managed-policy attachment (not taggable, so unnamed).
pub fn attach(
    scope: &mut Scope<'_>,
    local: &str,
    role: &Address,
    policy_name: &str,
    env: &Env,
) -> Address {
    use crate::model::expr::{interp, lit, tpl};
    let arn = tpl(vec![
        lit("arn:"),
        interp(env.partition.clone()),
        lit(&format!(":iam::aws:policy/{policy_name}")),
    ]);
    let d = scope
        .unnamed("aws_iam_role_policy_attachment", local)
        .set("role", role.attr("name"))
        .set("policy_arn", arn);
    scope.add(d)
}
