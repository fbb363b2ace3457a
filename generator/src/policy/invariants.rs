//! Invariants: the pitfalls of `aws-dr-pitfalls.md` that can be checked on
//! the model. Each rule has an id (`P<n>` after the pitfall it encodes) and
//! is checked over every module; all violations are collected.

use std::fmt;

use crate::model::expr::{Expr, Part, Root};
use crate::model::{Layer, Mode, Module, ModuleKind, Resource};
use crate::policy::{constants, naming, tagging};
use crate::tfcheck::Schemas;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The module directory (stack), e.g. `modules/dr`.
    pub stack: String,
    /// The Terraform address inside it.
    pub address: String,
    /// The rule id, e.g. `P8`.
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: [{}] {}",
            self.stack, self.address, self.rule, self.message
        )
    }
}

struct Out<'a> {
    m: &'a Module,
    v: Vec<Violation>,
}

impl Out<'_> {
    fn at(&mut self, r: &Resource, rule: RuleId, msg: impl Into<String>) {
        self.v.push(Violation {
            stack: self.m.dir.clone(),
            address: r.address().to_string(),
            rule: rule.as_str(),
            message: msg.into(),
        });
    }
    fn module(&mut self, address: &str, rule: RuleId, msg: impl Into<String>) {
        self.v.push(Violation {
            stack: self.m.dir.clone(),
            address: address.to_owned(),
            rule: rule.as_str(),
            message: msg.into(),
        });
    }
}

/// The id of an invariant: named here, printed as the pitfall number
/// (`P<n>`) it encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// `P0`
    ModelBuilt,
    /// `P1`
    AuroraEncrypted,
    /// `P2`
    SecondaryWithoutMaster,
    /// `P3`
    WriteOnlyPassword,
    /// `P4`
    SecondaryAfterWriter,
    /// `P5`
    SecondaryIgnoresSource,
    /// `P6`
    EngineFromGlobal,
    /// `P7`
    NoBurstable,
    /// `P8`
    SkipFinalSnapshot,
    /// `P9`
    Destroyable,
    /// `P10`
    BackupRetention,
    /// `P11`
    TableStreams,
    /// `P12`
    ReplicaRegions,
    /// `P14`
    PointInTimeRecovery,
    /// `P15`
    ReplicaTags,
    /// `P17`
    PrivateNetwork,
    /// `P18`
    LambdaVpcRole,
    /// `P19`
    ReplaceSecurityGroups,
    /// `P20`
    ReservedEnvKeys,
    /// `P21`
    Redeployment,
    /// `P22`
    RegionalApi,
    /// `P24`
    ScopedInvokePermission,
    /// `P25`
    ApiAccountRole,
    /// `P26`
    FailoverRecords,
    /// `P27`
    HealthChecks,
    /// `P29`
    Buckets,
    /// `P30`
    Replication,
    /// `P31`
    BucketNames,
    /// `P32`
    ForceDestroy,
    /// `P33`
    Dashboards,
    /// `P34`
    TopicKeys,
    /// `P35`
    Tags,
    /// `P36`
    Backend,
    /// `P40`
    ProviderStrategy,
    /// `P41`
    ReservedNames,
    /// `P42`
    NullSafeValidations,
    /// `P43`
    ApiAuthorization,
    /// `P44`
    WebAcl,
    /// `P45`
    MutualTlsHealth,
}

impl RuleId {
    /// Every rule, in the order of [`RULES`].
    pub const ALL: [RuleId; 39] = [
        RuleId::ModelBuilt,
        RuleId::AuroraEncrypted,
        RuleId::SecondaryWithoutMaster,
        RuleId::WriteOnlyPassword,
        RuleId::SecondaryAfterWriter,
        RuleId::SecondaryIgnoresSource,
        RuleId::EngineFromGlobal,
        RuleId::NoBurstable,
        RuleId::SkipFinalSnapshot,
        RuleId::Destroyable,
        RuleId::BackupRetention,
        RuleId::TableStreams,
        RuleId::ReplicaRegions,
        RuleId::PointInTimeRecovery,
        RuleId::ReplicaTags,
        RuleId::PrivateNetwork,
        RuleId::LambdaVpcRole,
        RuleId::ReplaceSecurityGroups,
        RuleId::ReservedEnvKeys,
        RuleId::Redeployment,
        RuleId::RegionalApi,
        RuleId::ScopedInvokePermission,
        RuleId::ApiAccountRole,
        RuleId::FailoverRecords,
        RuleId::HealthChecks,
        RuleId::Buckets,
        RuleId::Replication,
        RuleId::BucketNames,
        RuleId::ForceDestroy,
        RuleId::Dashboards,
        RuleId::TopicKeys,
        RuleId::Tags,
        RuleId::Backend,
        RuleId::ProviderStrategy,
        RuleId::ReservedNames,
        RuleId::NullSafeValidations,
        RuleId::ApiAuthorization,
        RuleId::WebAcl,
        RuleId::MutualTlsHealth,
    ];

    /// The printed id, e.g. `P9`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RuleId::ModelBuilt => "P0",
            RuleId::AuroraEncrypted => "P1",
            RuleId::SecondaryWithoutMaster => "P2",
            RuleId::WriteOnlyPassword => "P3",
            RuleId::SecondaryAfterWriter => "P4",
            RuleId::SecondaryIgnoresSource => "P5",
            RuleId::EngineFromGlobal => "P6",
            RuleId::NoBurstable => "P7",
            RuleId::SkipFinalSnapshot => "P8",
            RuleId::Destroyable => "P9",
            RuleId::BackupRetention => "P10",
            RuleId::TableStreams => "P11",
            RuleId::ReplicaRegions => "P12",
            RuleId::PointInTimeRecovery => "P14",
            RuleId::ReplicaTags => "P15",
            RuleId::PrivateNetwork => "P17",
            RuleId::LambdaVpcRole => "P18",
            RuleId::ReplaceSecurityGroups => "P19",
            RuleId::ReservedEnvKeys => "P20",
            RuleId::Redeployment => "P21",
            RuleId::RegionalApi => "P22",
            RuleId::ScopedInvokePermission => "P24",
            RuleId::ApiAccountRole => "P25",
            RuleId::FailoverRecords => "P26",
            RuleId::HealthChecks => "P27",
            RuleId::Buckets => "P29",
            RuleId::Replication => "P30",
            RuleId::BucketNames => "P31",
            RuleId::ForceDestroy => "P32",
            RuleId::Dashboards => "P33",
            RuleId::TopicKeys => "P34",
            RuleId::Tags => "P35",
            RuleId::Backend => "P36",
            RuleId::ProviderStrategy => "P40",
            RuleId::ReservedNames => "P41",
            RuleId::NullSafeValidations => "P42",
            RuleId::ApiAuthorization => "P43",
            RuleId::WebAcl => "P44",
            RuleId::MutualTlsHealth => "P45",
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every rule, with the pitfall it encodes.
pub const RULES: &[(&str, &str)] = &[
    (RuleId::ModelBuilt.as_str(), "the model was built through the naming and tagging policies, without collisions"),
    (RuleId::AuroraEncrypted.as_str(), "Aurora storage is encrypted; the secondary sets its own region's kms_key_id and source_region"),
    (RuleId::SecondaryWithoutMaster.as_str(), "the secondary cluster sets no master_username, password or database_name"),
    (RuleId::WriteOnlyPassword.as_str(), "no managed or plain master password: only a write-only password from an ephemeral value"),
    (RuleId::SecondaryAfterWriter.as_str(), "the secondary cluster depends on the primary writer instance"),
    (RuleId::SecondaryIgnoresSource.as_str(), "the secondary ignores changes to replication_source_identifier and global_cluster_identifier"),
    (RuleId::EngineFromGlobal.as_str(), "engine and version come from the global cluster; engine_version drift is ignored"),
    (RuleId::NoBurstable.as_str(), "no burstable instance class"),
    (RuleId::SkipFinalSnapshot.as_str(), "skip_final_snapshot on every cluster"),
    (RuleId::Destroyable.as_str(), "no deletion protection, no prevent_destroy, no skip_destroy"),
    (RuleId::BackupRetention.as_str(), "backup_retention_period is 7"),
    (RuleId::TableStreams.as_str(), "a table with replicas keeps streams on with NEW_AND_OLD_IMAGES"),
    (RuleId::ReplicaRegions.as_str(), "replicas are in a region other than the table's provider region"),
    (RuleId::PointInTimeRecovery.as_str(), "point-in-time recovery on the table and on every replica"),
    (RuleId::ReplicaTags.as_str(), "replicas propagate tags"),
    (RuleId::PrivateNetwork.as_str(), "VPC DNS on, DynamoDB gateway endpoint on the route tables, interface endpoints with private DNS, no internet path"),
    (RuleId::LambdaVpcRole.as_str(), "the function role has AWSLambdaVPCAccessExecutionRole; IAM names carry the region"),
    (RuleId::ReplaceSecurityGroups.as_str(), "replace_security_groups_on_destroy on VPC functions"),
    (RuleId::ReservedEnvKeys.as_str(), "no reserved keys in the function environment"),
    (RuleId::Redeployment.as_str(), "deployments redeploy on change, create before destroy, with a separate stage"),
    (RuleId::RegionalApi.as_str(), "REST APIs are REGIONAL"),
    (RuleId::ScopedInvokePermission.as_str(), "every route has an invoke permission scoped to its source ARN"),
    (RuleId::ApiAccountRole.as_str(), "stages with logs have the API Gateway account role"),
    (RuleId::FailoverRecords.as_str(), "failover records have a set_identifier and the PRIMARY one a health check, with evaluate_target_health"),
    (RuleId::HealthChecks.as_str(), "health checks are HTTPS with SNI, interval 10 or 30 s, failure threshold 3"),
    (RuleId::Buckets.as_str(), "buckets are versioned, AES256-encrypted, fully public-access-blocked, without ACLs"),
    (RuleId::Replication.as_str(), "replication waits for both versionings, has a filter, delete marker replication and RTC 15 min"),
    (RuleId::BucketNames.as_str(), "bucket names carry region and account"),
    (RuleId::ForceDestroy.as_str(), "buckets are force_destroy"),
    (RuleId::Dashboards.as_str(), "at most one dashboard per module, and every widget names its region"),
    (RuleId::TopicKeys.as_str(), "alert topics use a customer key that CloudWatch may use"),
    (RuleId::Tags.as_str(), "taggable resources carry the mandatory tags in their own tags; no default_tags"),
    (RuleId::Backend.as_str(), "S3 backend with encrypt and use_lockfile, no dynamodb_table"),
    (RuleId::ProviderStrategy.as_str(), "one provider strategy per module: aliases, never per-resource region"),
    (RuleId::ReservedNames.as_str(), "names avoid the prefixes, suffixes and names AWS or the provider reserve for their type"),
    (RuleId::NullSafeValidations.as_str(), "variable validations call no function that fails on a null or empty value, unless a conditional guards it"),
    (RuleId::ApiAuthorization.as_str(), "no method but GET /health has authorization NONE; a REST API with authenticated methods has a resource policy that the deployment's redeployment trigger hashes"),
    (RuleId::WebAcl.as_str(), "every API Gateway stage has a WAFv2 web ACL association, and every web ACL logs"),
    (RuleId::MutualTlsHealth.as_str(), "with mutual TLS on a custom domain, no health check targets it (Route 53 cannot present a client certificate) but a domain without mutual TLS, and the environment's regional roots disable the execute-api endpoint"),
];

/// Checks every module of the project.
pub fn check(modules: &[&Module]) -> Vec<Violation> {
    let mut all = Vec::new();
    for m in modules {
        all.extend(check_module(m));
    }
    all.extend(mtls_roots(modules));
    all.sort();
    all
}

/// Checks one module.
pub fn check_module(m: &Module) -> Vec<Violation> {
    let mut o = Out { m, v: Vec::new() };
    for e in &m.errors {
        o.module(&e.address, RuleId::ModelBuilt, e.message.clone());
    }
    aurora(&mut o);
    destroyable(&mut o);
    network(&mut o);
    lambda(&mut o);
    api(&mut o);
    api_access(&mut o);
    buckets(&mut o);
    replication(&mut o);
    topics(&mut o);
    global_table(&mut o);
    route53(&mut o);
    mtls_health(&mut o);
    dashboards(&mut o);
    tags(&mut o);
    backend(&mut o);
    providers(&mut o);
    reserved_names(&mut o);
    validations(&mut o);
    o.v
}

/// P41: the literal start, end or whole of every name attribute that has
/// reserved values (`naming::RESERVED`).
fn reserved_names(o: &mut Out<'_>) {
    let m = o.m;
    for r in m.resources.values().filter(|r| r.mode == Mode::Managed) {
        for rule in naming::RESERVED
            .iter()
            .filter(|x| x.resource_type == r.rtype)
        {
            let Some(v) = r.get(rule.attribute) else {
                continue;
            };
            let problem = match v {
                Expr::Str(s) => rule.name_problem(s),
                Expr::Template(parts) => {
                    fn literal(p: &Part) -> Option<&str> {
                        match p {
                            Part::Lit(s) => Some(s.as_str()),
                            Part::Interp(_) => None,
                        }
                    }
                    let lead: String = parts.iter().map_while(literal).collect();
                    let mut tail: Vec<&str> = parts.iter().rev().map_while(literal).collect();
                    tail.reverse();
                    rule.prefix_problem(&lead)
                        .or_else(|| rule.suffix_problem(&tail.concat()))
                }
                _ => None,
            };
            if let Some(why) = problem {
                o.at(
                    r,
                    RuleId::ReservedNames,
                    format!("{} {why}", rule.attribute),
                );
            }
        }
    }
}

/// Functions that fail on a null argument (or, for collections and
/// strings, on an empty one where noted by their use). Terraform 1.11
/// evaluates both sides of `||` and `&&`, so only a conditional expression
/// (or `can`/`try`) protects a call from a null value.
const NULL_UNSAFE: &[&str] = &[
    "endswith",
    "startswith",
    "length",
    "lower",
    "upper",
    "title",
    "regex",
    "regexall",
    "split",
    "substr",
    "trim",
    "trimspace",
    "trimprefix",
    "trimsuffix",
    "replace",
    "strrev",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "contains",
    "keys",
    "values",
    "join",
    "element",
    "index",
    "lookup",
    "one",
    "tonumber",
    "abs",
    "ceil",
    "floor",
    "max",
    "min",
    "distinct",
    "flatten",
    "sort",
    "reverse",
    "base64decode",
    "jsondecode",
];

/// P42: variable validations of variables that may be null (a null
/// default) must not call a null-unsafe function on them unguarded, nor
/// `coalesce`/`coalescelist` with only null or empty arguments.
fn validations(o: &mut Out<'_>) {
    let m = o.m;
    let nullable: std::collections::BTreeSet<&str> = m
        .variables
        .values()
        .filter(|v| matches!(v.default, Some(Expr::Null)))
        .map(|v| v.name.as_str())
        .collect();
    for v in m.variables.values() {
        for c in &v.validations {
            let mut found = Vec::new();
            unsafe_calls(&c.condition, &nullable, &mut Vec::new(), &mut found);
            for msg in found {
                o.module(&format!("var.{}", v.name), RuleId::NullSafeValidations, msg);
            }
        }
    }
}

fn var_refs(e: &Expr) -> Vec<&str> {
    e.refs()
        .into_iter()
        .filter_map(|r| match &r.root {
            Root::Var(n) => Some(n.as_str()),
            _ => None,
        })
        .collect()
}

/// Variables an argument passes on as they are (a nested call is checked
/// on its own: `coalesce(var.x, "d")` is not null).
fn direct_var_refs(e: &Expr) -> Vec<&str> {
    match e {
        Expr::Ref(r) => match &r.root {
            Root::Var(n) => vec![n.as_str()],
            _ => vec![],
        },
        Expr::Template(parts) => parts
            .iter()
            .flat_map(|p| match p {
                Part::Interp(x) => direct_var_refs(x),
                Part::Lit(_) => vec![],
            })
            .collect(),
        Expr::List(l) => l.iter().flat_map(direct_var_refs).collect(),
        _ => vec![],
    }
}

fn unsafe_calls<'e>(
    e: &'e Expr,
    nullable: &std::collections::BTreeSet<&str>,
    guarded: &mut Vec<&'e str>,
    out: &mut Vec<String>,
) {
    let exposed = |x: &str, guarded: &[&str]| nullable.contains(x) && !guarded.contains(&x);
    match e {
        Expr::Call(f, _) if f == "can" || f == "try" => {}
        Expr::Call(f, args) => {
            if NULL_UNSAFE.contains(&f.as_str()) {
                for a in args {
                    for x in direct_var_refs(a) {
                        if exposed(x, guarded) {
                            out.push(format!(
                                "validation calls {f}() on var.{x}, which may be null: guard it with `var.{x} == null ? true : ...` (Terraform evaluates both sides of || and &&)"
                            ));
                        }
                    }
                }
            }
            if (f == "coalesce" || f == "coalescelist")
                && args.iter().all(|a| match a {
                    Expr::Null => true,
                    Expr::Str(s) => s.is_empty(),
                    Expr::List(l) => l.is_empty(),
                    Expr::Object(m) => m.is_empty(),
                    Expr::Ref(_) => var_refs(a).iter().all(|x| exposed(x, guarded)),
                    _ => false,
                })
            {
                out.push(format!(
                    "validation calls {f}() where every argument may be null or empty: it fails then; use a conditional expression"
                ));
            }
            for a in args {
                unsafe_calls(a, nullable, guarded, out);
            }
        }
        Expr::Cond(c, t, f) => {
            unsafe_calls(c, nullable, guarded, out);
            let before = guarded.len();
            guarded.extend(var_refs(c));
            unsafe_calls(t, nullable, guarded, out);
            unsafe_calls(f, nullable, guarded, out);
            guarded.truncate(before);
        }
        Expr::Binary(_, a, b) => {
            unsafe_calls(a, nullable, guarded, out);
            unsafe_calls(b, nullable, guarded, out);
        }
        Expr::Not(a) => unsafe_calls(a, nullable, guarded, out),
        Expr::Template(parts) => {
            for p in parts {
                if let Part::Interp(x) = p {
                    unsafe_calls(x, nullable, guarded, out);
                }
            }
        }
        Expr::List(l) => {
            for x in l {
                unsafe_calls(x, nullable, guarded, out);
            }
        }
        Expr::Object(m) => {
            for x in m.values() {
                unsafe_calls(x, nullable, guarded, out);
            }
        }
        Expr::ForList { coll, body, .. } => {
            unsafe_calls(coll, nullable, guarded, out);
            unsafe_calls(body, nullable, guarded, out);
        }
        Expr::Null
        | Expr::Bool(_)
        | Expr::Int(_)
        | Expr::Float(_)
        | Expr::Str(_)
        | Expr::Ref(_) => {}
    }
}

fn managed<'a>(m: &'a Module, rtype: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
    m.of_type(rtype)
}

/// Whether an expression refers to a resource of the given type.
fn refers_to(e: &Expr, rtype: &str) -> bool {
    e.refs()
        .iter()
        .any(|r| matches!(&r.root, Root::Resource(t, _) if t == rtype))
}

fn refers_to_data(e: &Expr, rtype: &str) -> bool {
    e.refs()
        .iter()
        .any(|r| matches!(&r.root, Root::Data(t, _) if t == rtype))
}

/// Whether a resource refers to another resource (by address) anywhere.
fn mentions(r: &Resource, target: &Resource) -> bool {
    r.body.refs().iter().any(|x| match &x.root {
        Root::Resource(t, n) => *t == target.rtype && *n == target.name,
        _ => false,
    })
}

fn aurora(o: &mut Out<'_>) {
    let m = o.m;
    let has_global = managed(m, "aws_rds_global_cluster").next().is_some();
    for g in managed(m, "aws_rds_global_cluster") {
        if g.bool_attr("storage_encrypted") != Some(true) {
            o.at(
                g,
                RuleId::AuroraEncrypted,
                "storage_encrypted must be true on the global cluster",
            );
        }
    }
    for c in managed(m, "aws_rds_cluster") {
        if c.bool_attr("storage_encrypted") != Some(true) {
            o.at(c, RuleId::AuroraEncrypted, "storage_encrypted must be true");
        }
        if c.bool_attr("skip_final_snapshot") != Some(true) {
            o.at(c, RuleId::SkipFinalSnapshot, "skip_final_snapshot must be true, or destroy fails with FinalSnapshotIdentifier is required");
        }
        if c.get("backup_retention_period").and_then(Expr::as_int)
            != Some(constants::BACKUP_RETENTION_DAYS)
        {
            o.at(
                c,
                RuleId::BackupRetention,
                format!(
                    "backup_retention_period must be {}",
                    constants::BACKUP_RETENTION_DAYS
                ),
            );
        }
        if c.bool_attr("manage_master_user_password") == Some(true) {
            o.at(
                c,
                RuleId::WriteOnlyPassword,
                "manage_master_user_password is not supported in a global database",
            );
        }
        if c.get("master_password").is_some() {
            o.at(
                c,
                RuleId::WriteOnlyPassword,
                "master_password would be stored in state; use master_password_wo",
            );
        }
        let secondary = !has_global;
        if secondary {
            for k in [
                "master_username",
                "master_password",
                "master_password_wo",
                "database_name",
                "manage_master_user_password",
            ] {
                if c.get(k).is_some() {
                    o.at(
                        c,
                        RuleId::SecondaryWithoutMaster,
                        format!("a cross-region secondary must not set {k}"),
                    );
                }
            }
            if c.get("kms_key_id")
                .is_none_or(|e| !refers_to(e, "aws_kms_key"))
            {
                o.at(
                    c,
                    RuleId::AuroraEncrypted,
                    "the secondary must set kms_key_id to a key of its own region",
                );
            }
            if c.get("source_region").is_none() {
                o.at(
                    c,
                    RuleId::AuroraEncrypted,
                    "the secondary must set source_region",
                );
            }
            let gated = c.depends_on.iter().any(|a| {
                m.get(a)
                    .is_some_and(|d| d.rtype == "terraform_data" && !d.body.refs().is_empty())
            });
            if !gated {
                o.at(c, RuleId::SecondaryAfterWriter, "the secondary must depend on the primary writer instance (terraform_data fed by the primary layer's output)");
            }
            for k in ["replication_source_identifier", "global_cluster_identifier"] {
                if !c.lifecycle.ignore_changes.iter().any(|x| x == k) {
                    o.at(
                        c,
                        RuleId::SecondaryIgnoresSource,
                        format!("lifecycle.ignore_changes must include {k}"),
                    );
                }
            }
        } else {
            let w = c.get("master_password_wo");
            let ephemeral = w.is_some_and(|e| {
                e.refs()
                    .iter()
                    .any(|r| matches!(r.root, Root::Ephemeral(..)))
            });
            if c.get("master_username").is_some() && !ephemeral {
                o.at(
                    c,
                    RuleId::WriteOnlyPassword,
                    "the primary's password must be master_password_wo from an ephemeral value",
                );
            }
            for k in ["engine", "engine_version"] {
                if c.get(k)
                    .is_none_or(|e| !refers_to(e, "aws_rds_global_cluster"))
                {
                    o.at(
                        c,
                        RuleId::EngineFromGlobal,
                        format!("{k} must come from the global cluster"),
                    );
                }
            }
        }
        if !c
            .lifecycle
            .ignore_changes
            .iter()
            .any(|x| x == "engine_version")
        {
            o.at(
                c,
                RuleId::EngineFromGlobal,
                "auto minor upgrades are on: ignore engine_version drift",
            );
        }
    }
    for i in managed(m, "aws_rds_cluster_instance") {
        if let Some(class) = i.str_attr("instance_class") {
            if class.starts_with("db.t") {
                o.at(
                    i,
                    RuleId::NoBurstable,
                    format!("{class} is burstable; global databases reject it"),
                );
            }
        }
        if i.bool_attr("auto_minor_version_upgrade") != Some(false)
            && !i
                .lifecycle
                .ignore_changes
                .iter()
                .any(|x| x == "engine_version")
        {
            o.at(
                i,
                RuleId::EngineFromGlobal,
                "auto minor upgrades are on: ignore engine_version drift",
            );
        }
    }
    for c in m.calls.values() {
        if let Some(Expr::Str(class)) = c.args.get("instance_class") {
            if class.starts_with("db.t") {
                o.module(
                    &format!("module.{}", c.name),
                    RuleId::NoBurstable,
                    format!("{class} is burstable; global databases reject it"),
                );
            }
        }
    }
}

fn destroyable(o: &mut Out<'_>) {
    let m = o.m;
    for r in m.resources.values().filter(|r| r.mode == Mode::Managed) {
        for k in [
            "deletion_protection",
            "deletion_protection_enabled",
            "skip_destroy",
        ] {
            if let Some(v) = r.get(k) {
                if v.as_bool() != Some(false) {
                    o.at(r, RuleId::Destroyable, format!("{k} must be false"));
                }
            }
        }
        for b in r.body.blocks_of("replica") {
            if b.get("deletion_protection_enabled").and_then(Expr::as_bool) == Some(true) {
                o.at(
                    r,
                    RuleId::Destroyable,
                    "replica deletion_protection_enabled must be false",
                );
            }
        }
        if r.lifecycle.prevent_destroy {
            o.at(r, RuleId::Destroyable, "prevent_destroy must not be set");
        }
    }
    for t in ["aws_rds_cluster", "aws_rds_global_cluster"] {
        for r in managed(m, t) {
            if r.get("deletion_protection").is_none() {
                o.at(
                    r,
                    RuleId::Destroyable,
                    "deletion_protection must be set to false explicitly",
                );
            }
        }
    }
}

fn network(o: &mut Out<'_>) {
    let m = o.m;
    for t in [
        "aws_internet_gateway",
        "aws_nat_gateway",
        "aws_egress_only_internet_gateway",
    ] {
        for r in managed(m, t) {
            o.at(
                r,
                RuleId::PrivateNetwork,
                "private subnets only: no internet or NAT gateway",
            );
        }
    }
    let vpcs: Vec<&Resource> = managed(m, "aws_vpc").collect();
    for v in &vpcs {
        for k in ["enable_dns_support", "enable_dns_hostnames"] {
            if v.bool_attr(k) != Some(true) {
                o.at(
                    v,
                    RuleId::PrivateNetwork,
                    format!("{k} must be true for interface endpoints with private DNS"),
                );
            }
        }
    }
    if !vpcs.is_empty() {
        let gw = managed(m, "aws_vpc_endpoint").find(|e| {
            e.str_attr("vpc_endpoint_type") == Some("Gateway")
                && e.get("service_name")
                    .is_some_and(|s| template_ends_with(s, ".dynamodb"))
        });
        match gw {
            None => o.module(
                "aws_vpc_endpoint",
                RuleId::PrivateNetwork,
                "a DynamoDB gateway endpoint is required",
            ),
            Some(e)
                if e.get("route_table_ids")
                    .is_none_or(|x| !refers_to(x, "aws_route_table")) =>
            {
                o.at(
                    e,
                    RuleId::PrivateNetwork,
                    "the DynamoDB gateway endpoint must be on the private route tables",
                );
            }
            Some(_) => {}
        }
        for e in managed(m, "aws_vpc_endpoint")
            .filter(|e| e.str_attr("vpc_endpoint_type") == Some("Interface"))
        {
            if e.bool_attr("private_dns_enabled") != Some(true) {
                o.at(
                    e,
                    RuleId::PrivateNetwork,
                    "interface endpoints need private_dns_enabled = true",
                );
            }
        }
    }
}

fn template_ends_with(e: &Expr, s: &str) -> bool {
    match e {
        Expr::Str(x) => x.ends_with(s),
        Expr::Template(parts) => matches!(parts.last(), Some(Part::Lit(l)) if l.ends_with(s)),
        _ => false,
    }
}

fn lambda(o: &mut Out<'_>) {
    let m = o.m;
    for f in managed(m, "aws_lambda_function") {
        if f.body.one_block("vpc_config").is_some()
            && f.bool_attr("replace_security_groups_on_destroy") != Some(true)
        {
            o.at(f, RuleId::ReplaceSecurityGroups, "replace_security_groups_on_destroy must be true (Hyperplane ENIs linger 20-45 min)");
        }
        if let Some(vars) = f
            .body
            .one_block("environment")
            .and_then(|e| e.get("variables"))
            .and_then(Expr::as_object)
        {
            for k in vars.keys() {
                if constants::RESERVED_ENV_KEYS.contains(&k.as_str()) {
                    o.at(
                        f,
                        RuleId::ReservedEnvKeys,
                        format!("{k} is reserved by Lambda"),
                    );
                }
            }
        }
        let role_ok = f.get("role").is_some_and(|r| {
            r.refs().iter().any(|x| {
                let Root::Resource(t, n) = &x.root else {
                    return false;
                };
                t == "aws_iam_role"
                    && managed(m, "aws_iam_role_policy_attachment").any(|a| {
                        a.get("role").is_some_and(|e| {
                            e.refs().iter().any(
                                |y| matches!(&y.root, Root::Resource(t2, n2) if t2 == t && n2 == n),
                            )
                        }) && a.get("policy_arn").is_some_and(|p| {
                            template_ends_with(p, "/AWSLambdaVPCAccessExecutionRole")
                        })
                    })
            })
        });
        if !role_ok {
            o.at(
                f,
                RuleId::LambdaVpcRole,
                "the function's role must have AWSLambdaVPCAccessExecutionRole attached",
            );
        }
    }
    for t in ["aws_iam_role", "aws_iam_role_policy"] {
        for r in managed(m, t) {
            if r.get("name")
                .is_none_or(|n| !refers_to_data(n, "aws_region"))
            {
                o.at(
                    r,
                    RuleId::LambdaVpcRole,
                    "IAM is global: the name must carry the region (EntityAlreadyExists otherwise)",
                );
            }
        }
    }
}

fn api(o: &mut Out<'_>) {
    let m = o.m;
    for a in managed(m, "aws_api_gateway_rest_api") {
        let types = a
            .body
            .one_block("endpoint_configuration")
            .and_then(|b| b.get("types"))
            .and_then(Expr::as_list);
        if types != Some(&[Expr::from("REGIONAL")][..]) {
            o.at(
                a,
                RuleId::RegionalApi,
                "endpoint_configuration.types must be [\"REGIONAL\"]",
            );
        }
    }
    for d in managed(m, "aws_api_gateway_deployment") {
        let trig = d
            .get("triggers")
            .and_then(Expr::as_object)
            .and_then(|t| t.get("redeployment"));
        if trig.is_none() {
            o.at(
                d,
                RuleId::Redeployment,
                "triggers.redeployment must hash the routes, or changes silently do not deploy",
            );
        }
        if !d.lifecycle.create_before_destroy {
            o.at(
                d,
                RuleId::Redeployment,
                "lifecycle.create_before_destroy must be true",
            );
        }
        if d.get("stage_name").is_some() {
            o.at(
                d,
                RuleId::Redeployment,
                "use a separate aws_api_gateway_stage, not the deployment's stage_name",
            );
        }
        if !managed(m, "aws_api_gateway_stage").any(|s| mentions(s, d)) {
            o.at(
                d,
                RuleId::Redeployment,
                "no aws_api_gateway_stage uses this deployment",
            );
        }
    }
    let methods: Vec<&Resource> = managed(m, "aws_api_gateway_method").collect();
    let perms: Vec<&Resource> = managed(m, "aws_lambda_permission").collect();
    for p in &perms {
        if p.str_attr("principal") != Some("apigateway.amazonaws.com") {
            o.at(
                p,
                RuleId::ScopedInvokePermission,
                "principal must be apigateway.amazonaws.com",
            );
        }
        let scoped = match p.get("source_arn") {
            Some(Expr::Template(parts)) => {
                matches!(parts.first(), Some(Part::Interp(e)) if refers_to(e, "aws_api_gateway_rest_api"))
                    && matches!(parts.last(), Some(Part::Lit(l)) if route_scoped(l))
            }
            _ => false,
        };
        if !scoped {
            o.at(
                p,
                RuleId::ScopedInvokePermission,
                "source_arn must be the API's execution_arn plus /*/METHOD/path of one route",
            );
        }
    }
    // (REST API, route) of every permission: a permission of one API does
    // not let API Gateway invoke the function for another API's route.
    let tails: Vec<(Option<&str>, &str)> = perms
        .iter()
        .filter_map(|p| match p.get("source_arn") {
            Some(Expr::Template(parts)) => match (parts.first(), parts.last()) {
                (Some(Part::Interp(e)), Some(Part::Lit(l))) => Some((api_of(e), l.as_str())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    for method in &methods {
        let Some(route) = route_of(m, method) else {
            o.at(method, RuleId::ScopedInvokePermission, "cannot resolve this method's route (http_method and resource path must be literal)");
            continue;
        };
        let api = method.get("rest_api_id").and_then(api_of);
        if !tails.contains(&(api, route.as_str())) {
            o.at(
                method,
                RuleId::ScopedInvokePermission,
                format!("no invoke permission scoped to {route}"),
            );
        }
    }
    let logs = managed(m, "aws_api_gateway_stage")
        .any(|s| s.body.one_block("access_log_settings").is_some());
    if logs && managed(m, "aws_api_gateway_account").next().is_none() {
        o.module(
            "aws_api_gateway_account",
            RuleId::ApiAccountRole,
            "stage logging needs aws_api_gateway_account with a CloudWatch role in this region",
        );
    }
}

/// P43 and P44: who may call the API, and the firewall in front of it.
fn api_access(o: &mut Out<'_>) {
    let m = o.m;
    let (open_method, open_path) = constants::OPEN_ROUTE;
    let open_route = format!("/*/{open_method}{open_path}");
    let mut authenticated = false;
    for method in managed(m, "aws_api_gateway_method") {
        let auth = method.str_attr("authorization");
        if auth == Some("NONE") || auth.is_none() {
            if route_of(m, method).as_deref() != Some(open_route.as_str()) {
                o.at(
                    method,
                    RuleId::ApiAuthorization,
                    format!("authorization must not be NONE: only {open_method} {open_path} is open (Route 53 health checks); use AWS_IAM"),
                );
            }
        } else {
            authenticated = true;
        }
    }
    for api in managed(m, "aws_api_gateway_rest_api") {
        if !authenticated {
            continue;
        }
        let policies: Vec<&Resource> = managed(m, "aws_api_gateway_rest_api_policy")
            .filter(|p| mentions(p, api))
            .collect();
        if policies.is_empty() && api.get("policy").is_none() {
            o.at(
                api,
                RuleId::ApiAuthorization,
                "authenticated methods need a resource policy that allows only the listed principals",
            );
        }
        for p in policies {
            let hashed = managed(m, "aws_api_gateway_deployment").any(|d| {
                d.get("triggers")
                    .and_then(Expr::as_object)
                    .and_then(|t| t.get("redeployment"))
                    .is_some_and(|e| {
                        e.refs().iter().any(|r| {
                            matches!(&r.root, Root::Resource(t, n) if *t == p.rtype && *n == p.name)
                        })
                    })
            });
            if !hashed {
                o.at(
                    p,
                    RuleId::ApiAuthorization,
                    "the deployment's triggers.redeployment must hash the policy, or a policy change does not reach the stage",
                );
            }
        }
    }
    for stage in managed(m, "aws_api_gateway_stage") {
        let guarded = managed(m, "aws_wafv2_web_acl_association").any(|a| {
            a.get("resource_arn").is_some_and(|e| {
                e.refs().iter().any(|r| {
                    matches!(&r.root, Root::Resource(t, n) if *t == stage.rtype && *n == stage.name)
                })
            }) && a
                .get("web_acl_arn")
                .is_some_and(|e| refers_to(e, "aws_wafv2_web_acl"))
        });
        if !guarded {
            o.at(
                stage,
                RuleId::WebAcl,
                "needs an aws_wafv2_web_acl_association of this stage's arn with a web ACL",
            );
        }
    }
    for acl in managed(m, "aws_wafv2_web_acl") {
        if !managed(m, "aws_wafv2_web_acl_logging_configuration").any(|l| mentions(l, acl)) {
            o.at(
                acl,
                RuleId::WebAcl,
                "needs an aws_wafv2_web_acl_logging_configuration (to an aws-waf-logs- log group)",
            );
        }
    }
}

fn buckets(o: &mut Out<'_>) {
    let m = o.m;
    for b in managed(m, "aws_s3_bucket") {
        let on = |t: &'static str| managed(m, t).filter(move |x| mentions(x, b));
        let versioned = on("aws_s3_bucket_versioning").any(|v| {
            v.body
                .one_block("versioning_configuration")
                .and_then(|c| c.get("status"))
                .and_then(Expr::as_str)
                == Some("Enabled")
        });
        if !versioned {
            o.at(
                b,
                RuleId::Buckets,
                "needs aws_s3_bucket_versioning with status Enabled",
            );
        }
        let aes = on("aws_s3_bucket_server_side_encryption_configuration").any(|s| {
            s.body
                .one_block("rule")
                .and_then(|r| r.one_block("apply_server_side_encryption_by_default"))
                .and_then(|d| d.get("sse_algorithm"))
                .and_then(Expr::as_str)
                == Some("AES256")
        });
        if !aes {
            o.at(
                b,
                RuleId::Buckets,
                "needs server-side encryption with AES256",
            );
        }
        let pab = on("aws_s3_bucket_public_access_block").any(|p| {
            [
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            ]
            .iter()
            .all(|k| p.bool_attr(k) == Some(true))
        });
        if !pab {
            o.at(
                b,
                RuleId::Buckets,
                "needs a public access block with all four settings true",
            );
        }
        if b.get("acl").is_some() || on("aws_s3_bucket_acl").next().is_some() {
            o.at(
                b,
                RuleId::Buckets,
                "no ACLs: new buckets have ACLs disabled",
            );
        }
        if b.bool_attr("force_destroy") != Some(true) {
            o.at(
                b,
                RuleId::ForceDestroy,
                "force_destroy must be true, or a bucket with objects cannot be destroyed",
            );
        }
        let named = b.get("bucket").is_some_and(|n| {
            refers_to_data(n, "aws_region") && refers_to_data(n, "aws_caller_identity")
        });
        if !named {
            o.at(
                b,
                RuleId::BucketNames,
                "bucket names are global: include the region and the account id",
            );
        }
    }
}

fn replication(o: &mut Out<'_>) {
    let m = o.m;
    for r in managed(m, "aws_s3_bucket_replication_configuration") {
        let deps: Vec<&Resource> = r.depends_on.iter().filter_map(|a| m.get(a)).collect();
        if !deps.iter().any(|d| d.rtype == "aws_s3_bucket_versioning") {
            o.at(
                r,
                RuleId::Replication,
                "must depend on the destination bucket's versioning",
            );
        }
        if !deps
            .iter()
            .any(|d| d.rtype == "terraform_data" && !d.body.refs().is_empty())
        {
            o.at(
                r,
                RuleId::Replication,
                "must depend on the source bucket's versioning (from the primary layer)",
            );
        }
        let Some(rule) = r.body.one_block("rule") else {
            o.at(r, RuleId::Replication, "needs exactly one rule");
            continue;
        };
        if rule.one_block("filter").is_none() {
            o.at(r, RuleId::Replication, "the rule needs a filter {} block");
        }
        if rule.one_block("delete_marker_replication").is_none() {
            o.at(
                r,
                RuleId::Replication,
                "the rule needs an explicit delete_marker_replication",
            );
        }
        let dest = rule.one_block("destination");
        let minutes = |outer: &str, inner: &str| {
            dest.and_then(|d| d.one_block(outer))
                .and_then(|b| b.one_block(inner))
                .and_then(|b| b.get("minutes"))
                .and_then(Expr::as_int)
        };
        if minutes("replication_time", "time") != Some(15) {
            o.at(
                r,
                RuleId::Replication,
                "RTC needs replication_time.time.minutes = 15",
            );
        }
        if minutes("metrics", "event_threshold") != Some(15) {
            o.at(
                r,
                RuleId::Replication,
                "RTC needs metrics.event_threshold.minutes = 15",
            );
        }
    }
}

fn topics(o: &mut Out<'_>) {
    let m = o.m;
    for t in managed(m, "aws_sns_topic") {
        let key = t.get("kms_master_key_id");
        let cmk = key.and_then(|k| {
            k.refs().into_iter().find_map(|r| match &r.root {
                Root::Resource(ty, n) if ty == "aws_kms_key" => {
                    m.get(&crate::model::Address::managed(ty, n))
                }
                _ => None,
            })
        });
        match cmk {
            None => o.at(
                t,
                RuleId::TopicKeys,
                "encrypt with a customer-managed KMS key (alias/aws/sns drops alarm notifications)",
            ),
            Some(k) => {
                let allows = k
                    .get("policy")
                    .is_some_and(|p| p.to_hcl().contains("cloudwatch.amazonaws.com"));
                if !allows {
                    o.at(
                        t,
                        RuleId::TopicKeys,
                        "the topic's key policy must let cloudwatch.amazonaws.com use the key",
                    );
                }
            }
        }
    }
}

fn tags(o: &mut Out<'_>) {
    let m = o.m;
    let schemas = Schemas::vendored();
    for r in m.resources.values().filter(|r| r.mode == Mode::Managed) {
        if schemas.resource(&r.rtype).is_none() {
            o.at(
                r,
                RuleId::Tags,
                "type not in the vendored provider schema, so whether it takes tags is unknown (add it to schema/types.txt)",
            );
        } else if schemas.is_taggable(&r.rtype) {
            for p in tagging::problems(r.get("tags")) {
                o.at(r, RuleId::Tags, p);
            }
        } else if r.get("tags").is_some() {
            o.at(r, RuleId::Tags, "this type has no tags attribute");
        }
    }
    for p in &m.providers {
        if !p.body.blocks_of("default_tags").is_empty() {
            o.module(
                &match &p.alias {
                    Some(a) => format!("provider.{}.{a}", p.name),
                    None => format!("provider.{}", p.name),
                },
                RuleId::Tags,
                "do not use default_tags: the mandatory tags are in each resource's tags",
            );
        }
    }
}

fn backend(o: &mut Out<'_>) {
    let m = o.m;
    if let ModuleKind::Root { .. } = m.kind {
        match &m.terraform.backend {
            None => o.module("terraform", RuleId::Backend, "roots need the S3 backend"),
            Some(b) => {
                if !b.encrypt || !b.use_lockfile {
                    o.module(
                        "terraform",
                        RuleId::Backend,
                        "the S3 backend needs encrypt = true and use_lockfile = true",
                    );
                }
            }
        }
    }
}

fn providers(o: &mut Out<'_>) {
    let m = o.m;
    let aliased = m.providers.iter().any(|p| p.alias.is_some())
        || m.terraform
            .required_providers
            .values()
            .any(|p| !p.configuration_aliases.is_empty());
    for r in m.resources.values() {
        if r.get("region").is_some() && aliased {
            o.at(
                r,
                RuleId::ProviderStrategy,
                "this module uses provider aliases: do not also set a per-resource region",
            );
        }
    }
}

fn global_table(o: &mut Out<'_>) {
    let m = o.m;
    for t in managed(m, "aws_dynamodb_table") {
        let replicas = t.body.blocks_of("replica");
        if replicas.is_empty() {
            continue;
        }
        if t.bool_attr("stream_enabled") != Some(true)
            || t.str_attr("stream_view_type") != Some("NEW_AND_OLD_IMAGES")
        {
            o.at(t, RuleId::TableStreams, "a global table needs stream_enabled = true and stream_view_type = NEW_AND_OLD_IMAGES");
        }
        let pitr = t
            .body
            .one_block("point_in_time_recovery")
            .and_then(|b| b.get("enabled"))
            .and_then(Expr::as_bool);
        if pitr != Some(true) {
            o.at(
                t,
                RuleId::PointInTimeRecovery,
                "point_in_time_recovery must be enabled on the table",
            );
        }
        for r in replicas {
            if r.get("point_in_time_recovery").and_then(Expr::as_bool) != Some(true) {
                o.at(t, RuleId::PointInTimeRecovery, "point_in_time_recovery must be true on every replica (replicas default to off)");
            }
            if r.get("propagate_tags").and_then(Expr::as_bool) != Some(true) {
                o.at(
                    t,
                    RuleId::ReplicaTags,
                    "replicas need propagate_tags = true",
                );
            }
            // The replica's region must come from a provider other than the table's.
            let other = r.get("region_name").is_some_and(|e| {
                e.refs().iter().any(|x| match &x.root {
                    Root::Data(ty, n) if ty == "aws_region" => m
                        .get(&crate::model::Address::data(ty, n))
                        .is_some_and(|d| d.provider != t.provider),
                    _ => false,
                })
            });
            if !other {
                o.at(t, RuleId::ReplicaRegions, "replica.region_name must be another provider's region (the table's own region cannot be a replica)");
            }
        }
    }
}

fn route53(o: &mut Out<'_>) {
    let m = o.m;
    for r in managed(m, "aws_route53_record") {
        let Some(policy) = r.body.one_block("failover_routing_policy") else {
            continue;
        };
        if r.get("set_identifier").is_none() {
            o.at(
                r,
                RuleId::FailoverRecords,
                "failover records need a set_identifier",
            );
        }
        if policy.get("type").and_then(Expr::as_str) == Some("PRIMARY")
            && r.get("health_check_id").is_none()
        {
            o.at(
                r,
                RuleId::FailoverRecords,
                "the PRIMARY failover record needs a health_check_id",
            );
        }
        let eval = r
            .body
            .one_block("alias")
            .and_then(|a| a.get("evaluate_target_health"))
            .and_then(Expr::as_bool);
        if eval != Some(true) {
            o.at(
                r,
                RuleId::FailoverRecords,
                "failover alias records need evaluate_target_health = true",
            );
        }
    }
    for h in managed(m, "aws_route53_health_check") {
        if h.str_attr("type") != Some("HTTPS") {
            o.at(h, RuleId::HealthChecks, "health checks must be HTTPS");
        }
        if h.bool_attr("enable_sni") != Some(true) {
            o.at(
                h,
                RuleId::HealthChecks,
                "enable_sni must be true (API Gateway needs SNI)",
            );
        }
        if !matches!(
            h.get("request_interval").and_then(Expr::as_int),
            Some(10 | 30)
        ) {
            o.at(h, RuleId::HealthChecks, "request_interval must be 10 or 30");
        }
        if h.get("failure_threshold").and_then(Expr::as_int)
            != Some(constants::HEALTH_FAILURE_THRESHOLD)
        {
            o.at(
                h,
                RuleId::HealthChecks,
                format!(
                    "failure_threshold must be {}",
                    constants::HEALTH_FAILURE_THRESHOLD
                ),
            );
        }
    }
}

/// Whether a domain name requires client certificates: a
/// `mutual_tls_authentication` block, or a `dynamic` one.
fn has_mtls(d: &Resource) -> bool {
    !d.body.blocks_of("mutual_tls_authentication").is_empty()
        || d.body
            .blocks_of("dynamic")
            .iter()
            .any(|b| !b.blocks_of("mutual_tls_authentication").is_empty())
}

/// P45 (module): health checks never target a domain that may require
/// client certificates; where such a domain exists, each health check
/// targets a domain name without mutual TLS (the health domain), since the
/// execute-api host is disabled with mutual TLS on.
fn mtls_health(o: &mut Out<'_>) {
    let m = o.m;
    let mtls: Vec<&Resource> = managed(m, "aws_api_gateway_domain_name")
        .filter(|d| has_mtls(d))
        .collect();
    if mtls.is_empty() {
        return;
    }
    let plain: Vec<&Resource> = managed(m, "aws_api_gateway_domain_name")
        .filter(|d| !has_mtls(d))
        .collect();
    // The variables that name an mTLS domain (its domain_name's refs).
    let mtls_vars: Vec<&str> = mtls
        .iter()
        .filter_map(|d| d.get("domain_name"))
        .flat_map(|e| e.refs())
        .filter_map(|r| match &r.root {
            Root::Var(v) => Some(v.as_str()),
            _ => None,
        })
        .collect();
    for h in managed(m, "aws_route53_health_check") {
        let refs = h.get("fqdn").map(Expr::refs).unwrap_or_default();
        let targets_mtls = refs.iter().any(|r| match &r.root {
            Root::Resource(t, n) => {
                t == "aws_api_gateway_domain_name" && mtls.iter().any(|d| d.name == *n)
            }
            Root::Var(v) => mtls_vars.contains(&v.as_str()),
            _ => false,
        });
        if targets_mtls {
            o.at(
                h,
                RuleId::MutualTlsHealth,
                "fqdn targets a mutual TLS domain: Route 53 health checkers cannot present a client certificate",
            );
        }
        let targets_plain = refs.iter().any(|r| {
            matches!(&r.root, Root::Resource(t, n)
                if t == "aws_api_gateway_domain_name" && plain.iter().any(|d| d.name == *n))
        });
        if !targets_plain {
            o.at(
                h,
                RuleId::MutualTlsHealth,
                "with mutual TLS on, the execute-api host is disabled: fqdn must target a health domain without mutual TLS",
            );
        }
    }
}

/// P45 (project): an environment whose global root sets a truststore has
/// regional roots with `disable_execute_api_endpoint = true`, or clients
/// could bypass the client certificate check on the execute-api host.
fn mtls_roots(modules: &[&Module]) -> Vec<Violation> {
    let root_of = |env: &str, layer: Layer| {
        modules.iter().find(
            |m| matches!(&m.kind, ModuleKind::Root { env: e, layer: l } if e == env && *l == layer),
        )
    };
    let mut v = Vec::new();
    for m in modules {
        let ModuleKind::Root { env, layer } = &m.kind else {
            continue;
        };
        if *layer != Layer::Global {
            continue;
        }
        let on = m
            .calls
            .values()
            .any(|c| c.args.get("truststore").is_some_and(|t| *t != Expr::Null));
        if !on {
            continue;
        }
        for l in [Layer::Primary, Layer::Dr] {
            let Some(r) = root_of(env, l) else { continue };
            for c in r.calls.values() {
                if c.args.get("disable_execute_api_endpoint") != Some(&Expr::Bool(true)) {
                    v.push(Violation {
                        stack: r.dir.clone(),
                        address: format!("module.{}", c.name),
                        rule: RuleId::MutualTlsHealth.as_str(),
                        message: "mutual TLS is on (the global root sets a truststore): disable_execute_api_endpoint must be true, or the execute-api host bypasses the client certificate check".into(),
                    });
                }
            }
        }
    }
    v
}

fn dashboards(o: &mut Out<'_>) {
    let m = o.m;
    let all: Vec<&Resource> = managed(m, "aws_cloudwatch_dashboard").collect();
    if all.len() > 1 {
        o.module(
            "aws_cloudwatch_dashboard",
            RuleId::Dashboards,
            "dashboards are account-global: emit exactly one",
        );
    }
    for d in all {
        let widgets = match d.get("dashboard_body") {
            Some(Expr::Call(f, args)) if f == "jsonencode" => args
                .first()
                .and_then(Expr::as_object)
                .and_then(|b| b.get("widgets"))
                .and_then(Expr::as_list),
            _ => None,
        };
        let Some(widgets) = widgets else {
            o.at(d, RuleId::Dashboards, "dashboard_body must be jsonencode({ widgets = [...] }) so its widgets can be checked");
            continue;
        };
        for (i, w) in widgets.iter().enumerate() {
            let obj = w.as_object();
            let is_metric =
                obj.and_then(|w| w.get("type")).and_then(Expr::as_str) == Some("metric");
            let region = obj
                .and_then(|w| w.get("properties"))
                .and_then(Expr::as_object)
                .and_then(|p| p.get("region"));
            if is_metric && region.is_none_or(|r| *r == Expr::Null) {
                o.at(
                    d,
                    RuleId::Dashboards,
                    format!("widget {i} names no region; AWS rejects it"),
                );
            }
        }
    }
}

/// The name of the REST API an expression refers to, if any.
fn api_of(e: &Expr) -> Option<&str> {
    e.refs().into_iter().find_map(|r| match &r.root {
        Root::Resource(t, n) if t == "aws_api_gateway_rest_api" => Some(n.as_str()),
        _ => None,
    })
}

/// `/*/METHOD/path`: any stage, one method, a path that starts with a
/// literal segment.
fn route_scoped(tail: &str) -> bool {
    let Some(rest) = tail.strip_prefix("/*/") else {
        return false;
    };
    let Some((method, path)) = rest.split_once('/') else {
        return false;
    };
    !method.is_empty() && method != "*" && !path.is_empty() && !path.starts_with('*')
}

/// The source-ARN tail of a method: `/*/METHOD/seg/seg`, path parameters
/// as `*`, following `parent_id` up to the API's root resource.
fn route_of(m: &Module, method: &Resource) -> Option<String> {
    let verb = method.str_attr("http_method")?;
    let mut segs = Vec::new();
    let mut cur = method.get("resource_id")?;
    for _ in 0..16 {
        let r = cur.refs().into_iter().find_map(|x| match &x.root {
            Root::Resource(t, n) if t == "aws_api_gateway_resource" => {
                m.get(&crate::model::Address::managed(t, n))
            }
            _ => None,
        });
        let Some(r) = r else {
            // The API's root_resource_id ends the walk.
            break;
        };
        let part = r.str_attr("path_part")?;
        segs.push(if part.starts_with('{') { "*" } else { part });
        cur = r.get("parent_id")?;
    }
    segs.reverse();
    Some(format!("/*/{verb}/{}", segs.join("/")))
}

#[cfg(test)]
#[path = "invariants_tests.rs"]
mod tests;
