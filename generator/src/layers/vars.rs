//! Module input variables, with `validation` blocks that mirror the Rust
//! rules, so a team calling a module directly gets the same guarantees.

use crate::config::validate as rules;
use crate::config::AWS_REGIONS;
use crate::model::expr::{bin, call, list, var, Expr, Op};
use crate::model::{Condition, Module, TypeExpr, Variable};
use crate::policy::naming;

fn can_regex(pattern: &str, name: &str) -> Expr {
    call(
        "can",
        vec![call("regex", vec![Expr::from(pattern), var(name)])],
    )
}

fn declare(
    m: &mut Module,
    name: &str,
    ty: TypeExpr,
    description: &str,
    validations: Vec<Condition>,
) -> Expr {
    variable(m, name, ty, description, None, validations)
}

/// Declares a typed, described variable; returns `var.NAME`.
pub fn variable(
    m: &mut Module,
    name: &str,
    ty: TypeExpr,
    description: &str,
    default: Option<Expr>,
    validations: Vec<Condition>,
) -> Expr {
    m.variable(Variable {
        name: name.to_owned(),
        ty,
        description: description.to_owned(),
        default,
        sensitive: false,
        validations,
    })
}

fn cond(condition: Expr, msg: String) -> Condition {
    Condition {
        condition,
        error_message: msg,
    }
}

/// `environment_suffix`: the naming policy's pattern and length bound.
pub fn suffix(m: &mut Module) -> Expr {
    let (max, binding) = naming::max_suffix_len();
    declare(
        m,
        "environment_suffix",
        TypeExpr::String,
        "Suffix of every name: {resource-type}-{environment_suffix}.",
        vec![
            cond(
                can_regex(naming::SUFFIX_PATTERN, "environment_suffix"),
                format!(
                    "environment_suffix must match {}: lowercase letters and digits in hyphen-separated groups (S3 and RDS naming rules).",
                    naming::SUFFIX_PATTERN
                ),
            ),
            cond(
                bin(Op::Le, call("length", vec![var("environment_suffix")]), Expr::Int(max as i64)),
                format!(
                    "environment_suffix must be at most {max} characters: the longest derived name ({}) must stay within {} characters.",
                    binding.limit.what, binding.limit.max
                ),
            ),
        ],
    )
}

/// A region-code variable.
pub fn region(m: &mut Module, name: &str, description: &str) -> Expr {
    declare(
        m,
        name,
        TypeExpr::String,
        description,
        vec![cond(
            call(
                "contains",
                vec![list(AWS_REGIONS.iter().map(|r| Expr::from(*r))), var(name)],
            ),
            format!("{name} must be an AWS region code, e.g. us-east-1."),
        )],
    )
}

/// `vpc_cidr`: RFC 1918, /16 to /24.
pub fn vpc_cidr(m: &mut Module) -> Expr {
    let v = "vpc_cidr";
    declare(
        m,
        v,
        TypeExpr::String,
        "IPv4 CIDR of the VPC: private (RFC 1918), /16 to /24; the private subnets are /prefix+4.",
        vec![
            cond(
                call("can", vec![call("cidrhost", vec![var(v), Expr::Int(0)])]),
                "vpc_cidr must be an IPv4 CIDR block.".into(),
            ),
            cond(
                can_regex(r"^(10\.|172\.(1[6-9]|2[0-9]|3[01])\.|192\.168\.)", v),
                "vpc_cidr must be private address space (RFC 1918).".into(),
            ),
            cond(
                call(
                    "try",
                    vec![
                        bin(
                            Op::And,
                            bin(
                                Op::Ge,
                                call(
                                    "tonumber",
                                    vec![call(
                                        "element",
                                        vec![
                                            call("split", vec![Expr::from("/"), var(v)]),
                                            Expr::Int(1),
                                        ],
                                    )],
                                ),
                                Expr::Int(i64::from(rules::MIN_VPC_PREFIX)),
                            ),
                            bin(
                                Op::Le,
                                call(
                                    "tonumber",
                                    vec![call(
                                        "element",
                                        vec![
                                            call("split", vec![Expr::from("/"), var(v)]),
                                            Expr::Int(1),
                                        ],
                                    )],
                                ),
                                Expr::Int(i64::from(rules::MAX_VPC_PREFIX)),
                            ),
                        ),
                        Expr::Bool(false),
                    ],
                ),
                format!(
                    "vpc_cidr prefix must be /{} to /{}.",
                    rules::MIN_VPC_PREFIX,
                    rules::MAX_VPC_PREFIX
                ),
            ),
        ],
    )
}

/// `engine_version`: MAJOR.MINOR within the supported majors.
pub fn engine_version(m: &mut Module, description: &str) -> Expr {
    declare(
        m,
        "engine_version",
        TypeExpr::String,
        description,
        vec![cond(
            can_regex(
                &format!(
                    r"^({})\.[0-9]+$",
                    rules::ENGINE_MAJORS
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join("|")
                ),
                "engine_version",
            ),
            format!(
                "engine_version must be MAJOR.MINOR with major {}-{}.",
                rules::ENGINE_MAJORS.start(),
                rules::ENGINE_MAJORS.end()
            ),
        )],
    )
}

/// `instance_class`: memory-optimized only (global databases reject db.t*).
pub fn instance_class(m: &mut Module) -> Expr {
    declare(
        m,
        "instance_class",
        TypeExpr::String,
        "Aurora instance class. Global databases reject burstable db.t* classes.",
        vec![cond(
            can_regex(&format!(r"^db\.({})\.[a-z0-9]+$", rules::INSTANCE_FAMILIES.join("|")), "instance_class"),
            format!(
                "instance_class must be a memory-optimized class (db.{{{}}}.SIZE); global databases reject burstable db.t* classes.",
                rules::INSTANCE_FAMILIES.join(",")
            ),
        )],
    )
}

/// A PostgreSQL identifier variable.
pub fn pg_ident(m: &mut Module, name: &str, description: &str) -> Expr {
    declare(
        m,
        name,
        TypeExpr::String,
        description,
        vec![cond(
            can_regex("^[a-z][a-z0-9_]{0,62}$", name),
            format!("{name} must be 1-63 lowercase letters, digits or underscores, starting with a letter."),
        )],
    )
}

/// A whole number within a range.
pub fn number_in(m: &mut Module, name: &str, description: &str, lo: i64, hi: i64) -> Expr {
    declare(
        m,
        name,
        TypeExpr::Number,
        description,
        vec![cond(
            bin(
                Op::And,
                bin(
                    Op::And,
                    bin(Op::Ge, var(name), Expr::Int(lo)),
                    bin(Op::Le, var(name), Expr::Int(hi)),
                ),
                bin(Op::Eq, call("floor", vec![var(name)]), var(name)),
            ),
            format!("{name} must be a whole number from {lo} to {hi}."),
        )],
    )
}

/// A string matching a regex.
pub fn matching(m: &mut Module, name: &str, description: &str, pattern: &str, what: &str) -> Expr {
    declare(
        m,
        name,
        TypeExpr::String,
        description,
        vec![cond(
            can_regex(pattern, name),
            format!("{name} must be {what}."),
        )],
    )
}

/// `availability_zone_ids`: 2 or 3 AZ ids (stable across accounts).
pub fn az_ids(m: &mut Module) -> Expr {
    let v = "availability_zone_ids";
    declare(
        m,
        v,
        TypeExpr::list(TypeExpr::String),
        "Availability Zone ids of the private subnets (2 or 3, e.g. use1-az1): ids, unlike names, mean the same zones in every account.",
        vec![
            cond(
                bin(
                    Op::And,
                    bin(Op::Ge, call("length", vec![var(v)]), Expr::Int(2)),
                    bin(Op::Le, call("length", vec![var(v)]), Expr::Int(3)),
                ),
                "availability_zone_ids must list 2 or 3 AZ ids.".into(),
            ),
            cond(
                call(
                    "alltrue",
                    vec![Expr::ForList {
                        var: "id".into(),
                        coll: Box::new(var(v)),
                        body: Box::new(call(
                            "can",
                            vec![call(
                                "regex",
                                vec![
                                    Expr::from("^[a-z]{2,5}[0-9]-az[0-9]{1,2}$"),
                                    crate::model::expr::Ref::new(crate::model::expr::Root::Iter("id".into())).expr(),
                                ],
                            )],
                        )),
                    }],
                ),
                "availability_zone_ids must be AZ ids such as use1-az1.".into(),
            ),
            cond(
                bin(Op::Eq, call("length", vec![call("distinct", vec![var(v)])]), call("length", vec![var(v)])),
                "availability_zone_ids must not repeat.".into(),
            ),
        ],
    )
}

/// `allowed_principals`: the callers of the payment routes, at least one,
/// each a 12-digit account id or an IAM role/user ARN (partition aws);
/// placeholder account ids are refused as in env.toml.
pub fn allowed_principals(m: &mut Module) -> Expr {
    let v = "allowed_principals";
    let p = || crate::model::expr::Ref::new(crate::model::expr::Root::Iter("p".into())).expr();
    let all = |body: Expr| {
        call(
            "alltrue",
            vec![Expr::ForList {
                var: "p".into(),
                coll: Box::new(var(v)),
                body: Box::new(body),
            }],
        )
    };
    let placeholders = list(rules::PLACEHOLDER_ACCOUNTS.iter().map(|a| Expr::from(*a)));
    declare(
        m,
        v,
        TypeExpr::list(TypeExpr::String),
        "Who may invoke POST /payments and GET /payments/{id} (SigV4): 12-digit account ids or IAM role/user ARNs; everyone else is denied by the REST API's resource policy.",
        vec![
            cond(
                bin(Op::Ge, call("length", vec![var(v)]), Expr::Int(1)),
                "allowed_principals must list at least one caller: an API nobody may call is a mistake.".into(),
            ),
            cond(
                all(call(
                    "can",
                    vec![call(
                        "regex",
                        vec![Expr::from(PRINCIPAL_PATTERN), p()],
                    )],
                )),
                "allowed_principals must be 12-digit account ids or arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:user/NAME.".into(),
            ),
            cond(
                all(Expr::Not(Box::new(call(
                    "contains",
                    vec![
                        placeholders,
                        call(
                            "try",
                            vec![
                                call("regex", vec![Expr::from("[0-9]{12}"), p()]),
                                Expr::from(""),
                            ],
                        ),
                    ],
                )))),
                "allowed_principals must not use placeholder account ids.".into(),
            ),
        ],
    )
}

/// What a caller of the payment routes looks like (the module's check; the
/// Rust validation in config::validate is stricter and explains more).
pub const PRINCIPAL_PATTERN: &str =
    r"^([0-9]{12}|arn:aws:iam::[0-9]{12}:(role|user)/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]+)$";
