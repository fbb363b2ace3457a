//! The naming policy: every name is `{resource-type}-{environmentSuffix}`,
//! with a region token (and the account id for S3) where the namespace is
//! global. This file is the only place names are made.

use std::fmt;

use crate::model::expr::{interp, lit, tpl, Expr, Part};

/// Longest AWS region code (e.g. `ap-southeast-2`), used for the bound on
/// the suffix that the generated modules enforce themselves.
pub const MAX_REGION_LEN: usize = 14;
/// An AWS account id has 12 digits.
pub const ACCOUNT_ID_LEN: usize = 12;
/// The characters a suffix may use: lowercase letters and digits in
/// hyphen-separated groups (no leading, trailing or double hyphen).
pub const SUFFIX_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// What a name is checked against: the AWS limit of its resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What the limit applies to, e.g. "S3 bucket name".
    pub what: &'static str,
    pub min: usize,
    pub max: usize,
    pub charset: Charset,
    /// RDS identifiers: must start with a letter.
    pub starts_with_letter: bool,
    /// RDS identifiers: no `--`, no trailing hyphen.
    pub no_double_hyphen: bool,
}

/// Allowed characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// a-z 0-9 - (and `.` for S3, which the policy never uses)
    LowerAlnumHyphen,
    /// A-Z a-z 0-9 -
    AlnumHyphen,
    /// A-Z a-z 0-9 - _
    AlnumHyphenUnderscore,
    /// IAM names: A-Z a-z 0-9 + = , . @ _ -
    Iam,
    /// Any printable character except those AWS names in the limit.
    Printable,
}

impl Charset {
    fn allows(self, c: char) -> bool {
        match self {
            Charset::LowerAlnumHyphen => c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            Charset::AlnumHyphen => c.is_ascii_alphanumeric() || c == '-',
            Charset::AlnumHyphenUnderscore => c.is_ascii_alphanumeric() || c == '-' || c == '_',
            Charset::Iam => c.is_ascii_alphanumeric() || "+=,.@_-".contains(c),
            Charset::Printable => c.is_ascii_graphic() || c == ' ',
        }
    }

    /// Words for an error message.
    pub fn describe(self) -> &'static str {
        match self {
            Charset::LowerAlnumHyphen => "lowercase letters, digits and hyphens",
            Charset::AlnumHyphen => "letters, digits and hyphens",
            Charset::AlnumHyphenUnderscore => "letters, digits, hyphens and underscores",
            Charset::Iam => "letters, digits and +=,.@_-",
            Charset::Printable => "printable ASCII characters",
        }
    }
}

const fn limit(what: &'static str, max: usize, charset: Charset) -> Limit {
    Limit {
        what,
        min: 1,
        max,
        charset,
        starts_with_letter: false,
        no_double_hyphen: false,
    }
}

const S3_BUCKET: Limit = Limit {
    min: 3,
    ..limit("S3 bucket name", 63, Charset::LowerAlnumHyphen)
};
const RDS_IDENTIFIER: Limit = Limit {
    starts_with_letter: true,
    no_double_hyphen: true,
    ..limit("RDS identifier", 63, Charset::LowerAlnumHyphen)
};
const DB_SUBNET_GROUP: Limit = limit("DB subnet group name", 255, Charset::LowerAlnumHyphen);
const IAM_ROLE: Limit = limit("IAM role name", 64, Charset::Iam);
const IAM_POLICY: Limit = limit("IAM inline policy name", 128, Charset::Iam);
const LAMBDA: Limit = limit("Lambda function name", 64, Charset::AlnumHyphenUnderscore);
const LOG_GROUP: Limit = limit("CloudWatch log group name", 512, Charset::Printable);
const SECURITY_GROUP: Limit = limit("security group name", 255, Charset::Printable);
const SNS_TOPIC: Limit = limit("SNS topic name", 256, Charset::AlnumHyphenUnderscore);
const KMS_ALIAS: Limit = limit("KMS alias name", 256, Charset::Printable);
const SECRET: Limit = limit("Secrets Manager secret name", 512, Charset::Printable);
const REST_API: Limit = limit("API Gateway REST API name", 1024, Charset::Printable);
const DYNAMODB: Limit = Limit {
    min: 3,
    ..limit("DynamoDB table name", 255, Charset::AlnumHyphenUnderscore)
};
const DASHBOARD: Limit = limit(
    "CloudWatch dashboard name",
    255,
    Charset::AlnumHyphenUnderscore,
);
const ALARM: Limit = limit("CloudWatch alarm name", 255, Charset::Printable);
const TAG: Limit = limit("Name tag value", 256, Charset::Printable);
const WAF_NAME: Limit = limit("WAF web ACL name", 128, Charset::AlnumHyphenUnderscore);

/// Prefixes, suffixes and whole names that AWS or the provider reserve for a
/// resource type's name attribute. A name that uses one is rejected at plan
/// (provider validation) or at apply (the AWS API), so the policy refuses it
/// first, for the table's names ([`check_name`]) and for any name in the
/// model (invariant P41).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    pub resource_type: &'static str,
    pub attribute: &'static str,
    /// Case-sensitive prefixes, with the reason.
    pub prefixes: &'static [(&'static str, &'static str)],
    pub suffixes: &'static [(&'static str, &'static str)],
    /// Whole names (compared case-insensitively).
    pub names: &'static [(&'static str, &'static str)],
}

/// Every reserved prefix, suffix and name the generator knows of, by type.
pub const RESERVED: &[Reserved] = &[
    Reserved {
        resource_type: "aws_security_group",
        attribute: "name",
        prefixes: &[("sg-", "AWS reserves it for security group ids; the provider rejects it (cannot begin with sg-)")],
        suffixes: &[],
        names: &[("default", "every VPC already has a security group named default")],
    },
    Reserved {
        resource_type: "aws_s3_bucket",
        attribute: "bucket",
        prefixes: &[
            ("xn--", "S3 reserves it (internationalized domain names)"),
            ("sthree-", "S3 reserves it"),
            ("amzn-s3-demo-", "S3 reserves it for documentation examples"),
        ],
        suffixes: &[
            ("-s3alias", "S3 reserves it for access point aliases"),
            ("--ol-s3", "S3 reserves it for Object Lambda access point aliases"),
            ("--x-s3", "S3 reserves it for directory buckets"),
            (".mrap", "S3 reserves it for Multi-Region Access Points"),
            ("--table-s3", "S3 reserves it for table buckets"),
        ],
        names: &[],
    },
    Reserved {
        resource_type: "aws_kms_alias",
        attribute: "name",
        prefixes: &[("alias/aws/", "KMS reserves it for AWS managed keys")],
        suffixes: &[],
        names: &[],
    },
    Reserved {
        resource_type: "aws_iam_role",
        attribute: "name",
        prefixes: &[("AWSServiceRoleFor", "IAM reserves it for service-linked roles")],
        suffixes: &[],
        names: &[],
    },
    Reserved {
        resource_type: "aws_cloudwatch_log_group",
        attribute: "name",
        prefixes: &[("aws/", "CloudWatch Logs rejects log group names that begin with aws/")],
        suffixes: &[],
        names: &[],
    },
    Reserved {
        resource_type: "aws_db_subnet_group",
        attribute: "name",
        prefixes: &[],
        suffixes: &[],
        names: &[("default", "RDS reserves it for the default subnet group; the provider rejects it")],
    },
    Reserved {
        resource_type: "aws_secretsmanager_secret",
        attribute: "name",
        prefixes: &[("aws/", "Secrets Manager reserves it for secrets that AWS services create")],
        suffixes: &[],
        names: &[],
    },
    Reserved {
        resource_type: "aws_sns_topic",
        attribute: "name",
        prefixes: &[],
        suffixes: &[(".fifo", "only FIFO topics may end in .fifo")],
        names: &[],
    },
];

/// The reserved rules of a resource type's name attribute.
pub fn reserved(resource_type: &str, attribute: &str) -> Option<&'static Reserved> {
    RESERVED
        .iter()
        .find(|r| r.resource_type == resource_type && r.attribute == attribute)
}

impl Reserved {
    /// Why a literal name prefix breaks the rules (checked as a prefix of
    /// a name whose rest is not known yet).
    pub fn prefix_problem(&self, known_prefix: &str) -> Option<String> {
        self.prefixes
            .iter()
            .find(|(p, _)| known_prefix.starts_with(p))
            .map(|(p, why)| format!("must not begin with {p:?}: {why}"))
    }

    /// Why a literal name ending breaks the rules.
    pub fn suffix_problem(&self, known_suffix: &str) -> Option<String> {
        self.suffixes
            .iter()
            .find(|(x, _)| known_suffix.ends_with(x))
            .map(|(x, why)| format!("must not end with {x:?}: {why}"))
    }

    /// Why a whole name breaks the rules.
    pub fn name_problem(&self, name: &str) -> Option<String> {
        self.prefix_problem(name)
            .or_else(|| self.suffix_problem(name))
            .or_else(|| {
                self.names
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(n, why)| format!("{n:?} is reserved: {why}"))
            })
    }
}

/// One piece of a name pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    Lit(&'static str),
    /// The environment suffix.
    Suffix,
    /// The region code of the resource's provider.
    Region,
    /// The AWS account id.
    Account,
    /// `count.index + 1`, for counted resources.
    Ordinal,
}

/// Every kind of name the generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    Vpc,
    PrivateSubnet,
    PrivateRouteTable,
    SecurityGroupAurora,
    SecurityGroupLambda,
    SecurityGroupEndpoints,
    SecurityGroupRule,
    DefaultSecurityGroup,
    VpcEndpointDynamodb,
    VpcEndpointInterface,
    DbSubnetGroup,
    KmsKeyAurora,
    KmsKeySns,
    KmsAliasAurora,
    KmsAliasSns,
    KmsKeyApp,
    KmsAliasApp,
    FlowLog,
    FlowLogGroup,
    FlowLogsRole,
    FlowLogsPolicy,
    RdsMonitoringRole,
    RequestValidator,
    GlobalCluster,
    Cluster,
    ClusterInstance,
    MasterSecret,
    LambdaRole,
    LambdaPolicy,
    ApiGatewayLogsRole,
    ReplicationRole,
    ReplicationPolicy,
    LambdaFunction,
    LambdaLogGroup,
    ApiLogGroup,
    RestApi,
    ApiStage,
    Bucket,
    AlertsTopic,
    SessionsTable,
    Dashboard,
    Alarm,
    HealthCheck,
    Zone,
    Certificate,
    ApiDomain,
    WebAcl,
    WafLogGroup,
    HealthDomain,
}

use Piece::{Account, Lit, Ordinal, Region, Suffix};

/// How one kind of name is made and checked.
#[derive(Debug, Clone, Copy)]
pub struct NameSpec {
    pub kind: NameKind,
    /// The resource type the name belongs to.
    pub resource_type: &'static str,
    /// The attribute that holds the name, or `None` when only the Name tag does.
    pub attribute: Option<&'static str>,
    pub pattern: &'static [Piece],
    pub limit: Limit,
}

macro_rules! spec {
    ($kind:ident, $rtype:literal, $attr:expr, [$($p:expr),*], $limit:expr) => {
        NameSpec { kind: NameKind::$kind, resource_type: $rtype, attribute: $attr, pattern: &[$($p),*], limit: $limit }
    };
}

/// The naming table. The README's table is generated from it.
pub const TABLE: &[NameSpec] = &[
    spec!(Vpc, "aws_vpc", None, [Lit("vpc-"), Suffix], TAG),
    spec!(
        PrivateSubnet,
        "aws_subnet",
        None,
        [Lit("subnet-private-"), Ordinal, Lit("-"), Suffix],
        TAG
    ),
    spec!(
        PrivateRouteTable,
        "aws_route_table",
        None,
        [Lit("rt-private-"), Ordinal, Lit("-"), Suffix],
        TAG
    ),
    spec!(
        SecurityGroupAurora,
        "aws_security_group",
        Some("name"),
        [Lit("security-group-aurora-"), Suffix],
        SECURITY_GROUP
    ),
    spec!(
        SecurityGroupLambda,
        "aws_security_group",
        Some("name"),
        [Lit("security-group-lambda-"), Suffix],
        SECURITY_GROUP
    ),
    spec!(
        SecurityGroupEndpoints,
        "aws_security_group",
        Some("name"),
        [Lit("security-group-endpoints-"), Suffix],
        SECURITY_GROUP
    ),
    spec!(
        SecurityGroupRule,
        "aws_vpc_security_group_*_rule",
        None,
        [Lit("sgr-"), Suffix],
        TAG
    ),
    spec!(
        DefaultSecurityGroup,
        "aws_default_security_group",
        None,
        [Lit("sg-default-"), Suffix],
        TAG
    ),
    spec!(
        VpcEndpointDynamodb,
        "aws_vpc_endpoint",
        None,
        [Lit("vpce-dynamodb-"), Suffix],
        TAG
    ),
    spec!(
        VpcEndpointInterface,
        "aws_vpc_endpoint",
        None,
        [Lit("vpce-interface-"), Suffix],
        TAG
    ),
    spec!(
        DbSubnetGroup,
        "aws_db_subnet_group",
        Some("name"),
        [Lit("db-subnets-"), Suffix],
        DB_SUBNET_GROUP
    ),
    spec!(
        KmsKeyAurora,
        "aws_kms_key",
        None,
        [Lit("kms-aurora-"), Suffix],
        TAG
    ),
    spec!(
        KmsKeySns,
        "aws_kms_key",
        None,
        [Lit("kms-sns-"), Suffix],
        TAG
    ),
    spec!(
        KmsAliasAurora,
        "aws_kms_alias",
        Some("name"),
        [Lit("alias/kms-aurora-"), Suffix],
        KMS_ALIAS
    ),
    spec!(
        KmsAliasSns,
        "aws_kms_alias",
        Some("name"),
        [Lit("alias/kms-sns-"), Suffix],
        KMS_ALIAS
    ),
    spec!(
        KmsKeyApp,
        "aws_kms_key",
        None,
        [Lit("kms-app-"), Suffix],
        TAG
    ),
    spec!(
        KmsAliasApp,
        "aws_kms_alias",
        Some("name"),
        [Lit("alias/kms-app-"), Suffix],
        KMS_ALIAS
    ),
    spec!(
        FlowLog,
        "aws_flow_log",
        None,
        [Lit("flow-logs-"), Suffix],
        TAG
    ),
    spec!(
        FlowLogGroup,
        "aws_cloudwatch_log_group",
        Some("name"),
        [Lit("/aws/vpc/flow-logs-"), Suffix],
        LOG_GROUP
    ),
    spec!(
        FlowLogsRole,
        "aws_iam_role",
        Some("name"),
        [Lit("vpc-flow-logs-"), Region, Lit("-"), Suffix],
        IAM_ROLE
    ),
    spec!(
        FlowLogsPolicy,
        "aws_iam_role_policy",
        Some("name"),
        [Lit("vpc-flow-logs-"), Region, Lit("-"), Suffix],
        IAM_POLICY
    ),
    spec!(
        RdsMonitoringRole,
        "aws_iam_role",
        Some("name"),
        [Lit("rds-monitoring-"), Region, Lit("-"), Suffix],
        IAM_ROLE
    ),
    spec!(
        RequestValidator,
        "aws_api_gateway_request_validator",
        Some("name"),
        [Lit("api-validator-"), Suffix],
        REST_API
    ),
    spec!(
        GlobalCluster,
        "aws_rds_global_cluster",
        Some("global_cluster_identifier"),
        [Lit("aurora-global-"), Suffix],
        RDS_IDENTIFIER
    ),
    spec!(
        Cluster,
        "aws_rds_cluster",
        Some("cluster_identifier"),
        [Lit("aurora-"), Suffix],
        RDS_IDENTIFIER
    ),
    spec!(
        ClusterInstance,
        "aws_rds_cluster_instance",
        Some("identifier"),
        [Lit("aurora-"), Ordinal, Lit("-"), Suffix],
        RDS_IDENTIFIER
    ),
    spec!(
        MasterSecret,
        "aws_secretsmanager_secret",
        Some("name"),
        [Lit("aurora-master-"), Suffix],
        SECRET
    ),
    spec!(
        LambdaRole,
        "aws_iam_role",
        Some("name"),
        [Lit("lambda-payment-"), Region, Lit("-"), Suffix],
        IAM_ROLE
    ),
    spec!(
        LambdaPolicy,
        "aws_iam_role_policy",
        Some("name"),
        [Lit("lambda-payment-"), Region, Lit("-"), Suffix],
        IAM_POLICY
    ),
    spec!(
        ApiGatewayLogsRole,
        "aws_iam_role",
        Some("name"),
        [Lit("apigw-logs-"), Region, Lit("-"), Suffix],
        IAM_ROLE
    ),
    spec!(
        ReplicationRole,
        "aws_iam_role",
        Some("name"),
        [Lit("s3-replication-"), Region, Lit("-"), Suffix],
        IAM_ROLE
    ),
    spec!(
        ReplicationPolicy,
        "aws_iam_role_policy",
        Some("name"),
        [Lit("s3-replication-"), Region, Lit("-"), Suffix],
        IAM_POLICY
    ),
    spec!(
        LambdaFunction,
        "aws_lambda_function",
        Some("function_name"),
        [Lit("payment-"), Suffix],
        LAMBDA
    ),
    spec!(
        LambdaLogGroup,
        "aws_cloudwatch_log_group",
        Some("name"),
        [Lit("/aws/lambda/payment-"), Suffix],
        LOG_GROUP
    ),
    spec!(
        ApiLogGroup,
        "aws_cloudwatch_log_group",
        Some("name"),
        [Lit("/aws/apigateway/api-payments-"), Suffix],
        LOG_GROUP
    ),
    spec!(
        RestApi,
        "aws_api_gateway_rest_api",
        Some("name"),
        [Lit("api-payments-"), Suffix],
        REST_API
    ),
    spec!(
        ApiStage,
        "aws_api_gateway_stage",
        None,
        [Lit("api-stage-"), Suffix],
        TAG
    ),
    spec!(
        Bucket,
        "aws_s3_bucket",
        Some("bucket"),
        [
            Lit("payments-"),
            Region,
            Lit("-"),
            Account,
            Lit("-"),
            Suffix
        ],
        S3_BUCKET
    ),
    spec!(
        AlertsTopic,
        "aws_sns_topic",
        Some("name"),
        [Lit("alerts-"), Suffix],
        SNS_TOPIC
    ),
    spec!(
        SessionsTable,
        "aws_dynamodb_table",
        Some("name"),
        [Lit("sessions-"), Suffix],
        DYNAMODB
    ),
    spec!(
        Dashboard,
        "aws_cloudwatch_dashboard",
        Some("dashboard_name"),
        [Lit("dr-"), Suffix],
        DASHBOARD
    ),
    spec!(
        Alarm,
        "aws_cloudwatch_metric_alarm",
        Some("alarm_name"),
        [Lit("alarm-"), Suffix],
        ALARM
    ),
    spec!(
        HealthCheck,
        "aws_route53_health_check",
        None,
        [Lit("hc-"), Region, Lit("-"), Suffix],
        TAG
    ),
    spec!(Zone, "aws_route53_zone", None, [Lit("zone-"), Suffix], TAG),
    spec!(
        Certificate,
        "aws_acm_certificate",
        None,
        [Lit("cert-"), Region, Lit("-"), Suffix],
        TAG
    ),
    spec!(
        ApiDomain,
        "aws_api_gateway_domain_name",
        None,
        [Lit("api-domain-"), Region, Lit("-"), Suffix],
        TAG
    ),
    spec!(
        WebAcl,
        "aws_wafv2_web_acl",
        Some("name"),
        [Lit("waf-payments-"), Suffix],
        WAF_NAME
    ),
    // WAF logs only to log groups whose name begins with aws-waf-logs-:
    // the one name whose shape AWS dictates.
    spec!(
        WafLogGroup,
        "aws_cloudwatch_log_group",
        Some("name"),
        [Lit("aws-waf-logs-payments-"), Suffix],
        LOG_GROUP
    ),
    spec!(
        HealthDomain,
        "aws_api_gateway_domain_name",
        None,
        [Lit("api-health-domain-"), Region, Lit("-"), Suffix],
        TAG
    ),
];

/// The spec of a kind.
pub fn spec(kind: NameKind) -> &'static NameSpec {
    // Every kind has exactly one row; `table_covers_every_kind` tests it.
    TABLE.iter().find(|s| s.kind == kind).unwrap_or(&TABLE[0])
}

/// Whether a resource type matches a [`NameSpec::resource_type`], which may
/// hold one `*` (`aws_vpc_security_group_*_rule` matches
/// `aws_vpc_security_group_ingress_rule`).
pub fn type_matches(pattern: &str, rtype: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == rtype,
        Some((pre, post)) => {
            rtype.len() >= pre.len() + post.len() && rtype.starts_with(pre) && rtype.ends_with(post)
        }
    }
}

/// What the name pieces stand for when a name is rendered as an expression.
#[derive(Debug, Clone)]
pub struct NameContext {
    pub suffix: Expr,
    pub region: Expr,
    pub account: Expr,
}

/// A name made by the policy, with an optional qualifier (e.g. `errors` in
/// `alarm-errors-dev`) placed before the suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub kind: NameKind,
    pub qualifier: Option<String>,
    /// A fixed ordinal; `None` means `count.index + 1`.
    pub ordinal: Option<u32>,
}

impl Name {
    pub fn of(kind: NameKind) -> Self {
        Self {
            kind,
            qualifier: None,
            ordinal: None,
        }
    }

    /// A name whose ordinal piece is fixed (for resources without `count`).
    pub fn numbered(kind: NameKind, ordinal: u32) -> Self {
        Self {
            kind,
            qualifier: None,
            ordinal: Some(ordinal),
        }
    }

    /// A name with a qualifier before the suffix.
    pub fn qualified(kind: NameKind, qualifier: &str) -> Self {
        Self {
            kind,
            qualifier: Some(qualifier.to_owned()),
            ordinal: None,
        }
    }

    fn pieces(&self) -> Vec<PieceOwned> {
        let mut out = Vec::new();
        for p in spec(self.kind).pattern {
            if *p == Suffix {
                if let Some(q) = &self.qualifier {
                    out.push(PieceOwned::Lit(format!("{q}-")));
                }
            }
            out.push(match p {
                Lit(s) => PieceOwned::Lit((*s).to_owned()),
                other => PieceOwned::Var(*other),
            });
        }
        out
    }

    /// The name as a Terraform expression.
    pub fn expr(&self, ctx: &NameContext) -> Expr {
        let parts = self
            .pieces()
            .into_iter()
            .map(|p| match p {
                PieceOwned::Lit(s) => lit(&s),
                PieceOwned::Var(Suffix) => interp(ctx.suffix.clone()),
                PieceOwned::Var(Region) => interp(ctx.region.clone()),
                PieceOwned::Var(Account) => interp(ctx.account.clone()),
                PieceOwned::Var(_) if self.ordinal.is_some() => {
                    lit(&self.ordinal.unwrap_or(1).to_string())
                }
                PieceOwned::Var(_) => interp(crate::model::expr::bin(
                    crate::model::expr::Op::Add,
                    crate::model::expr::Ref::new(crate::model::expr::Root::Count)
                        .attr("index")
                        .expr(),
                    Expr::Int(1),
                )),
            })
            .collect::<Vec<Part>>();
        tpl(parts)
    }

    /// The name with concrete values.
    pub fn render(&self, suffix: &str, region: &str, account: &str, ordinal: u32) -> String {
        self.pieces()
            .into_iter()
            .map(|p| match p {
                PieceOwned::Lit(s) => s,
                PieceOwned::Var(Suffix) => suffix.to_owned(),
                PieceOwned::Var(Region) => region.to_owned(),
                PieceOwned::Var(Account) => account.to_owned(),
                PieceOwned::Var(_) => ordinal.to_string(),
            })
            .collect()
    }

    /// The pattern with placeholders, for docs and messages.
    pub fn pattern(&self) -> String {
        self.render("{suffix}", "{region}", "{account}", 1)
            .replace("-1-{suffix}", "-{n}-{suffix}")
    }
}

enum PieceOwned {
    Lit(String),
    Var(Piece),
}

/// Why a name breaks its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameProblem {
    pub what: &'static str,
    pub resource_type: &'static str,
    pub name: String,
    pub rule: String,
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "makes {} ({}) {:?} invalid: {}",
            self.what, self.resource_type, self.name, self.rule
        )
    }
}

/// Checks one concrete name against its limit.
pub fn check_name(spec: &NameSpec, name: &str) -> Option<NameProblem> {
    let l = &spec.limit;
    let problem = |rule: String| {
        Some(NameProblem {
            what: l.what,
            resource_type: spec.resource_type,
            name: name.to_owned(),
            rule,
        })
    };
    let len = name.chars().count();
    if len < l.min || len > l.max {
        return problem(format!("{len} characters, limit {}-{}", l.min, l.max));
    }
    if let Some(c) = name.chars().find(|c| !l.charset.allows(*c)) {
        return problem(format!(
            "character {c:?} not allowed; use {}",
            l.charset.describe()
        ));
    }
    if l.starts_with_letter && !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return problem("must start with a letter".into());
    }
    if l.no_double_hyphen && (name.contains("--") || name.ends_with('-')) {
        return problem("must not contain two consecutive hyphens or end with a hyphen".into());
    }
    if let Some(why) = spec
        .attribute
        .and_then(|a| reserved(spec.resource_type, a))
        .and_then(|r| r.name_problem(name))
    {
        return problem(why);
    }
    None
}

/// The longest suffix every name can take, with the worst-case region and a
/// 12-digit account id; and the spec that sets that bound.
pub fn max_suffix_len() -> (usize, &'static NameSpec) {
    let worst_region = "x".repeat(MAX_REGION_LEN);
    let account = "0".repeat(ACCOUNT_ID_LEN);
    TABLE
        .iter()
        .map(|s| {
            let fixed = Name::of(s.kind)
                .render("", &worst_region, &account, 9)
                .len();
            (s.limit.max.saturating_sub(fixed), s)
        })
        .min_by_key(|(n, _)| *n)
        .unwrap_or((0, &TABLE[0]))
}

/// Checks a suffix against every derived name. Returns one problem per
/// resource type whose limit it breaks.
pub fn check_suffix(suffix: &str) -> Vec<NameProblem> {
    let worst_region = "x".repeat(MAX_REGION_LEN);
    let account = "0".repeat(ACCOUNT_ID_LEN);
    let mut out: Vec<NameProblem> = Vec::new();
    for s in TABLE {
        let rendered = Name::of(s.kind).render(suffix, &worst_region, &account, 9);
        if let Some(mut p) = check_name(s, &rendered) {
            p.name = Name::of(s.kind).render(suffix, "{region}", "{account}", 1);
            if !out.iter().any(|o| o.what == p.what) {
                out.push(p);
            }
        }
    }
    if out.is_empty() && !suffix_matches_pattern(suffix) {
        out.push(NameProblem {
            what: "environment suffix",
            resource_type: "all",
            name: suffix.to_owned(),
            rule: format!("must match {SUFFIX_PATTERN}"),
        });
    }
    out
}

/// Whether the suffix matches [`SUFFIX_PATTERN`].
pub fn suffix_matches_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|g| {
            !g.is_empty()
                && g.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// The naming table as Markdown, for the README (a test keeps it in sync).
pub fn markdown_table() -> String {
    let mut s =
        String::from("| resource type | name attribute | pattern | limit |\n|---|---|---|---|\n");
    for spec in TABLE {
        let attr = spec
            .attribute
            .map_or("tag `Name`".to_owned(), |a| format!("`{a}`"));
        s.push_str(&format!(
            "| `{}` | {} | `{}` | {} {}-{} chars |\n",
            spec.resource_type,
            attr,
            Name::of(spec.kind).pattern(),
            spec.limit.what,
            spec.limit.min,
            spec.limit.max
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_globs() {
        assert!(type_matches(
            "aws_vpc_security_group_*_rule",
            "aws_vpc_security_group_ingress_rule"
        ));
        assert!(!type_matches("aws_vpc_security_group_*_rule", "aws_vpc"));
        assert!(!type_matches("aws_a*a", "aws_a"));
        assert!(type_matches("aws_vpc", "aws_vpc"));
        assert!(!type_matches("aws_vpc", "aws_vpc_endpoint"));
    }

    #[test]
    fn table_covers_every_kind_once() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                assert_ne!(a.kind, b.kind, "duplicate row");
            }
            assert_eq!(spec(a.kind).kind, a.kind);
        }
    }

    #[test]
    fn every_name_ends_with_the_suffix() {
        for s in TABLE {
            let n = Name::of(s.kind).render("sfx", "us-east-1", "123456789012", 1);
            assert!(n.ends_with("-sfx"), "{n}");
        }
    }

    #[test]
    fn global_namespaces_carry_the_region() {
        for s in TABLE {
            if s.resource_type.starts_with("aws_iam_") || s.resource_type == "aws_s3_bucket" {
                let n = Name::of(s.kind).render("sfx", "us-east-2", "123456789012", 1);
                assert!(n.contains("us-east-2"), "{n}");
            }
        }
    }

    #[test]
    fn s3_is_the_binding_limit() {
        let (max, s) = max_suffix_len();
        assert_eq!(s.kind, NameKind::Bucket);
        assert_eq!(max, 63 - "payments-".len() - 14 - 1 - 12 - 1);
        assert!(check_suffix(&"a".repeat(max)).is_empty());
        let problems = check_suffix(&"a".repeat(max + 1));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].what, "S3 bucket name");
    }

    #[test]
    fn charset_problems_name_the_type() {
        let p = check_suffix("Dev");
        assert!(p.iter().any(|p| p.what == "S3 bucket name"), "{p:?}");
        assert!(p.iter().any(|p| p.what == "RDS identifier"), "{p:?}");
        let p = check_suffix("dev--x");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].what, "RDS identifier");
        let p = check_suffix("dev-");
        assert_eq!(p[0].what, "RDS identifier");
    }

    #[test]
    fn pattern_agrees_with_limits() {
        for s in ["a", "dev", "prod-2", "x1-y2-z3"] {
            assert!(suffix_matches_pattern(s));
            assert!(check_suffix(s).is_empty(), "{s}");
        }
        for s in ["", "-a", "a-", "a--b", "A", "a_b", "a.b", "é"] {
            assert!(!suffix_matches_pattern(s), "{s}");
            assert!(!check_suffix(s).is_empty(), "{s}");
        }
    }

    #[test]
    fn qualifier_goes_before_the_suffix() {
        let n = Name::qualified(NameKind::Alarm, "lambda-errors");
        assert_eq!(n.render("dev", "r", "a", 1), "alarm-lambda-errors-dev");
        assert_eq!(
            Name::of(NameKind::PrivateSubnet).pattern(),
            "subnet-private-{n}-{suffix}"
        );
    }
}
