//! The session and idempotency table: a DynamoDB global table (pitfalls
//! 11-16), created with the primary region's provider, replicated to the DR
//! region, PAY_PER_REQUEST, AWS-owned encryption (no per-replica keys).

use crate::model::expr::Expr;
use crate::model::{Address, Body};
use crate::policy::naming::{Name, NameKind};
use crate::policy::Scope;

/// Partition key of every item (`idem#<key>`, `session#<id>`).
pub const HASH_KEY: &str = "pk";
/// TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// Stream view a global table keeps on (pitfall 11).
pub const STREAM_VIEW: &str = "NEW_AND_OLD_IMAGES";

/// Builds the table with its replica in `replica_region`.
pub fn build(scope: &mut Scope<'_>, replica_region: &Expr) -> Address {
    let t = scope
        .named(
            "aws_dynamodb_table",
            "sessions",
            &Name::of(NameKind::SessionsTable),
        )
        .set("billing_mode", "PAY_PER_REQUEST")
        .set("hash_key", HASH_KEY)
        .set("stream_enabled", true)
        .set("stream_view_type", STREAM_VIEW)
        .set("deletion_protection_enabled", false)
        .block(
            "attribute",
            Body::new().set("name", HASH_KEY).set("type", "S"),
        )
        .block(
            "ttl",
            Body::new()
                .set("attribute_name", TTL_ATTRIBUTE)
                .set("enabled", true),
        )
        .block("point_in_time_recovery", Body::new().set("enabled", true))
        .block(
            "replica",
            Body::new()
                .set("region_name", replica_region.clone())
                .set("point_in_time_recovery", true)
                // No `deletion_protection_enabled` here: provider 6.x only
                // (5.100 rejects it); replicas are unprotected by default.
                .set("propagate_tags", true),
        );
    scope.add(t)
}
