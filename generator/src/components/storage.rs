//! The region's payments bucket (pitfalls 29-32) and, on the DR side,
//! replication from the primary bucket with RTC (pitfall 30).
//!
//! Replication lives in the dr layer: it is the first layer in which both
//! buckets exist, and it is configured on the source bucket through the
//! `aws.primary` provider alias.

use crate::model::expr::{bin, object, Expr, Op};
use crate::model::{Address, Body, Condition, Lifecycle, ProviderRef};
use crate::policy::naming::{Name, NameKind};
use crate::policy::Scope;

use super::{assume_role, policy, source_account, Env, Statement};

/// Days a noncurrent object version is kept.
pub const NONCURRENT_VERSION_DAYS: i64 = 90;

/// Replication Time Control: 15 minutes, the only value S3 accepts.
pub const RTC_MINUTES: i64 = 15;

/// What other components need.
#[derive(Debug, Clone)]
pub struct Storage {
    pub bucket: Address,
    pub versioning: Address,
}

/// Builds the bucket with its split configuration resources.
pub fn build(scope: &mut Scope<'_>) -> Storage {
    let b = scope
        .named("aws_s3_bucket", "payments", &Name::of(NameKind::Bucket))
        .set("force_destroy", true);
    let bucket = scope.add(b);
    let id = bucket.attr("id");

    let v = scope
        .unnamed("aws_s3_bucket_versioning", "payments")
        .set("bucket", id.clone())
        .block(
            "versioning_configuration",
            Body::new().set("status", "Enabled"),
        );
    let versioning = scope.add(v);

    let sse = scope
        .unnamed(
            "aws_s3_bucket_server_side_encryption_configuration",
            "payments",
        )
        .set("bucket", id.clone())
        .block(
            "rule",
            Body::new().block(
                "apply_server_side_encryption_by_default",
                Body::new().set("sse_algorithm", "AES256"),
            ),
        );
    scope.add(sse);

    let pab = scope
        .unnamed("aws_s3_bucket_public_access_block", "payments")
        .set("bucket", id.clone())
        .set("block_public_acls", true)
        .set("block_public_policy", true)
        .set("ignore_public_acls", true)
        .set("restrict_public_buckets", true);
    let pab = scope.add(pab);

    let own = scope
        .unnamed("aws_s3_bucket_ownership_controls", "payments")
        .set("bucket", id.clone())
        .block(
            "rule",
            Body::new().set("object_ownership", "BucketOwnerEnforced"),
        );
    scope.add(own);

    // Old versions and abandoned uploads do not pile up.
    let lc = scope
        .unnamed("aws_s3_bucket_lifecycle_configuration", "payments")
        .set("bucket", id.clone())
        .block(
            "rule",
            Body::new()
                .set("id", "expire-noncurrent-versions")
                .set("status", "Enabled")
                .block("filter", Body::new())
                .block(
                    "noncurrent_version_expiration",
                    Body::new().set("noncurrent_days", Expr::Int(NONCURRENT_VERSION_DAYS)),
                )
                .block(
                    "abort_incomplete_multipart_upload",
                    Body::new().set("days_after_initiation", Expr::Int(7)),
                ),
        )
        .depends_on(&versioning);
    scope.add(lc);

    let deny_plain_http = Statement {
        effect: "Deny",
        principal: Some(Expr::from("*")),
        condition: Some(object([(
            "Bool",
            object([("aws:SecureTransport", Expr::from("false"))]),
        )])),
        ..Statement::allow(
            "DenyInsecureTransport",
            &["s3:*"],
            vec![
                bucket.attr("arn"),
                crate::model::expr::tpl(vec![
                    crate::model::expr::interp(bucket.attr("arn")),
                    crate::model::expr::lit("/*"),
                ]),
            ],
        )
    };
    let pol = scope
        .unnamed("aws_s3_bucket_policy", "payments")
        .set("bucket", id)
        .set("policy", policy(&[deny_plain_http]))
        .depends_on(&pab);
    scope.add(pol);
    Storage { bucket, versioning }
}

/// Inputs for replication, from the primary layer.
#[derive(Debug, Clone)]
pub struct ReplicationInputs {
    pub source_bucket_name: Expr,
    pub source_bucket_arn: Expr,
    /// The id of the source bucket's versioning resource: replication
    /// must wait for it (pitfall 30).
    pub source_versioning_id: Expr,
}

/// Replication primary -> DR with RTC, on the source bucket.
pub fn replication(
    scope: &mut Scope<'_>,
    env: &Env,
    dest: &Storage,
    src: &ReplicationInputs,
) -> Address {
    let role = scope
        .named(
            "aws_iam_role",
            "replication",
            &Name::of(NameKind::ReplicationRole),
        )
        .set(
            "description",
            "S3 replication of the payments bucket to the DR region",
        )
        .set(
            "assume_role_policy",
            assume_role("s3.amazonaws.com", Some(source_account(env))),
        );
    let role = scope.add(role);
    let src_objects = crate::model::expr::tpl(vec![
        crate::model::expr::interp(src.source_bucket_arn.clone()),
        crate::model::expr::lit("/*"),
    ]);
    let dest_objects = crate::model::expr::tpl(vec![
        crate::model::expr::interp(dest.bucket.attr("arn")),
        crate::model::expr::lit("/*"),
    ]);
    let statements = [
        Statement::allow(
            "ReadSourceConfiguration",
            &["s3:GetReplicationConfiguration", "s3:ListBucket"],
            vec![src.source_bucket_arn.clone()],
        ),
        Statement::allow(
            "ReadSourceVersions",
            &[
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            vec![src_objects],
        ),
        Statement::allow(
            "WriteDestination",
            &[
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
            ],
            vec![dest_objects],
        ),
    ];
    let pol = scope
        .named(
            "aws_iam_role_policy",
            "replication",
            &Name::of(NameKind::ReplicationPolicy),
        )
        .set("role", role.attr("id"))
        .set("policy", policy(&statements));
    scope.add(pol);

    let gate = scope
        .unnamed("terraform_data", "source_versioning")
        .set("input", src.source_versioning_id.clone())
        .lifecycle(Lifecycle {
            preconditions: vec![Condition {
                condition: bin(Op::Ne, src.source_versioning_id.clone(), Expr::from("")),
                error_message: "The primary bucket's versioning must exist before replication (apply the primary layer first).".into(),
            }],
            ..Lifecycle::default()
        });
    let gate = scope.add(gate);

    let mut d = scope
        .unnamed("aws_s3_bucket_replication_configuration", "to_dr")
        .set("bucket", src.source_bucket_name.clone())
        .set("role", role.attr("arn"))
        .block(
            "rule",
            Body::new()
                .set("id", "payments-to-dr")
                .set("status", "Enabled")
                .set("priority", Expr::Int(1))
                .block("filter", Body::new())
                .block(
                    "delete_marker_replication",
                    Body::new().set("status", "Enabled"),
                )
                .block(
                    "destination",
                    Body::new()
                        .set("bucket", dest.bucket.attr("arn"))
                        .set("storage_class", "STANDARD")
                        .block(
                            "replication_time",
                            Body::new()
                                .set("status", "Enabled")
                                .block("time", Body::new().set("minutes", Expr::Int(RTC_MINUTES))),
                        )
                        .block(
                            "metrics",
                            Body::new().set("status", "Enabled").block(
                                "event_threshold",
                                Body::new().set("minutes", Expr::Int(RTC_MINUTES)),
                            ),
                        ),
                ),
        )
        .depends_on(&dest.versioning)
        .depends_on(&gate);
    d = d.provider(ProviderRef::aliased("aws", "primary"));
    scope.add(d)
}
