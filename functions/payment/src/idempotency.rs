//! Idempotency records in the DynamoDB session table.
//!
//! Item layout (`pk` is the table's partition key, `expires_at` its TTL):
//!
//! | attribute          | type | meaning                                              |
//! |--------------------|------|------------------------------------------------------|
//! | `pk`               | S    | `idem#<caller account id>#<Idempotency-Key>`         |
//! | `caller_account_id`| S    | the signer's 12-digit account id                     |
//! | `status`           | S    | `in_flight` or `completed`                           |
//! | `fingerprint`      | S    | SHA-256 of the canonical request                     |
//! | `lease_id`         | S    | random id of the attempt that owns the record        |
//! | `lease_expires_ms` | N    | epoch ms after which another attempt may take over   |
//! | `expires_at`       | N    | epoch seconds; DynamoDB TTL (24 h)                   |
//! | `created_at`       | N    | epoch seconds                                        |
//! | `payment_id`       | S    | set when completed                                   |
//! | `response_status`  | N    | set when completed                                   |
//! | `response_body`    | S    | stored response, replayed verbatim                   |
//!
//! Keys are scoped per caller: the same `Idempotency-Key` sent by two AWS
//! accounts names two records (and two ledger rows, whose UNIQUE constraint is
//! `(caller_account_id, idempotency_key)`). The account id is exactly 12
//! digits, so `idem#<account>#<key>` is unambiguous even when the key itself
//! contains `#`.
//!
//! A `completed` record is only written after the ledger transaction has
//! committed, so a completed record always implies a ledger row.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::aws::{AwsClient, AwsError};

/// Status value of a record whose payment is being processed.
pub const IN_FLIGHT: &str = "in_flight";
/// Status value of a record whose response is stored.
pub const COMPLETED: &str = "completed";

/// An idempotency record as read back from the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub status: String,
    pub fingerprint: String,
    pub lease_id: Option<String>,
    pub lease_expires_ms: Option<u64>,
    pub expires_at: Option<u64>,
    pub payment_id: Option<String>,
    pub response_status: Option<u16>,
    pub response_body: Option<String>,
}

/// Outcome of [`Store::acquire`].
#[derive(Debug)]
pub enum Acquire {
    /// This attempt owns the key (fresh record, or an expired lease taken over).
    Acquired { lease_id: String },
    /// Someone else's record: completed, in flight, or a different request.
    Existing(Record),
}

/// Access to idempotency records.
#[derive(Clone, Debug)]
pub struct Store {
    aws: AwsClient,
    endpoint: String,
    table: String,
    ttl: Duration,
    lease: Duration,
    timeout: Duration,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Partition key of the record for `key` sent by `caller_account_id`.
pub fn pk(caller_account_id: &str, key: &str) -> String {
    format!("idem#{caller_account_id}#{key}")
}

fn s(v: &str) -> Value {
    json!({ "S": v })
}

fn n(v: u64) -> Value {
    json!({ "N": v.to_string() })
}

fn get_s(item: &Value, name: &str) -> Option<String> {
    item.get(name)?.get("S")?.as_str().map(str::to_owned)
}

fn get_n(item: &Value, name: &str) -> Option<u64> {
    item.get(name)?.get("N")?.as_str()?.parse().ok()
}

impl Record {
    fn from_item(item: &Value) -> Option<Self> {
        Some(Self {
            status: get_s(item, "status")?,
            fingerprint: get_s(item, "fingerprint")?,
            lease_id: get_s(item, "lease_id"),
            lease_expires_ms: get_n(item, "lease_expires_ms"),
            expires_at: get_n(item, "expires_at"),
            payment_id: get_s(item, "payment_id"),
            response_status: get_n(item, "response_status").and_then(|v| u16::try_from(v).ok()),
            response_body: get_s(item, "response_body"),
        })
    }
}

impl Store {
    pub fn new(
        aws: AwsClient,
        endpoint: String,
        table: String,
        ttl: Duration,
        lease: Duration,
        timeout: Duration,
    ) -> Self {
        Self {
            aws,
            endpoint,
            table,
            ttl,
            lease,
            timeout,
        }
    }

    /// Table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    async fn call(&self, op: &str, input: &Value) -> Result<Value, AwsError> {
        self.aws
            .dynamodb(&self.endpoint, op, input, self.timeout)
            .await
    }

    /// Claims `key` for this attempt with a conditional `PutItem`.
    ///
    /// The put succeeds when there is no record, when the record's DynamoDB TTL
    /// has passed (TTL deletion lags), or when an `in_flight` record for the
    /// *same* request has an expired lease (its owner crashed or timed out).
    /// Otherwise the existing record is returned (strongly consistent read).
    pub async fn acquire(
        &self,
        caller_account_id: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Acquire, AwsError> {
        for _ in 0..3 {
            let lease_id = uuid::Uuid::new_v4().to_string();
            let now = now_ms();
            let input = json!({
                "TableName": self.table,
                "Item": {
                    "pk": s(&pk(caller_account_id, key)),
                    "caller_account_id": s(caller_account_id),
                    "status": s(IN_FLIGHT),
                    "fingerprint": s(fingerprint),
                    "lease_id": s(&lease_id),
                    "lease_expires_ms": n(now + self.lease.as_millis() as u64),
                    "expires_at": n(now / 1000 + self.ttl.as_secs()),
                    "created_at": n(now / 1000),
                },
                "ConditionExpression":
                    "attribute_not_exists(pk) OR expires_at < :now_s OR \
                     (#st = :in_flight AND fingerprint = :fp AND lease_expires_ms < :now_ms)",
                "ExpressionAttributeNames": { "#st": "status" },
                "ExpressionAttributeValues": {
                    ":now_s": n(now / 1000),
                    ":now_ms": n(now),
                    ":in_flight": s(IN_FLIGHT),
                    ":fp": s(fingerprint),
                },
            });
            match self.call("PutItem", &input).await {
                Ok(_) => return Ok(Acquire::Acquired { lease_id }),
                Err(e) if e.code() == "ConditionalCheckFailedException" => {
                    if let Some(record) = self.get(caller_account_id, key).await? {
                        return Ok(Acquire::Existing(record));
                    }
                    // Deleted between our put and get (released attempt): try again.
                }
                Err(e) => return Err(e),
            }
        }
        Err(AwsError::Service {
            service: "dynamodb",
            status: 503,
            code: "IdempotencyContention".into(),
            message: "idempotency record kept changing".into(),
        })
    }

    /// Strongly consistent read of the record for `key` sent by `caller_account_id`.
    pub async fn get(
        &self,
        caller_account_id: &str,
        key: &str,
    ) -> Result<Option<Record>, AwsError> {
        let out = self
            .call(
                "GetItem",
                &json!({
                    "TableName": self.table,
                    "Key": { "pk": s(&pk(caller_account_id, key)) },
                    "ConsistentRead": true,
                }),
            )
            .await?;
        Ok(out.get("Item").and_then(Record::from_item))
    }

    /// Marks the record completed with the response to replay. Conditional on
    /// still owning the lease; returns `Ok(false)` when the lease was lost
    /// (another attempt took over and will complete it with the same payment).
    pub async fn complete(
        &self,
        caller_account_id: &str,
        key: &str,
        lease_id: &str,
        payment_id: &str,
        status: u16,
        body: &str,
    ) -> Result<bool, AwsError> {
        let input = json!({
            "TableName": self.table,
            "Key": { "pk": s(&pk(caller_account_id, key)) },
            "UpdateExpression": "SET #st = :completed, payment_id = :pid, response_status = :rs, response_body = :rb REMOVE lease_expires_ms",
            "ConditionExpression": "lease_id = :lease AND #st = :in_flight",
            "ExpressionAttributeNames": { "#st": "status" },
            "ExpressionAttributeValues": {
                ":completed": s(COMPLETED),
                ":in_flight": s(IN_FLIGHT),
                ":pid": s(payment_id),
                ":rs": n(u64::from(status)),
                ":rb": s(body),
                ":lease": s(lease_id),
            },
        });
        match self.call("UpdateItem", &input).await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == "ConditionalCheckFailedException" => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes our `in_flight` record so that a retry with the same key can
    /// start from scratch. Returns `Ok(false)` if the record is not ours any more.
    pub async fn release(
        &self,
        caller_account_id: &str,
        key: &str,
        lease_id: &str,
    ) -> Result<bool, AwsError> {
        let input = json!({
            "TableName": self.table,
            "Key": { "pk": s(&pk(caller_account_id, key)) },
            "ConditionExpression": "lease_id = :lease AND #st = :in_flight",
            "ExpressionAttributeNames": { "#st": "status" },
            "ExpressionAttributeValues": { ":lease": s(lease_id), ":in_flight": s(IN_FLIGHT) },
        });
        match self.call("DeleteItem", &input).await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == "ConditionalCheckFailedException" => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Cheap data-plane probe for `GET /health` (reads a key that never exists).
    pub async fn probe(&self, timeout: Duration) -> Result<(), AwsError> {
        self.aws
            .dynamodb(
                &self.endpoint,
                "GetItem",
                &json!({ "TableName": self.table, "Key": { "pk": s("health#probe") } }),
                timeout,
            )
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_items() {
        let item = json!({
            "pk": {"S": "idem#k"},
            "status": {"S": "completed"},
            "fingerprint": {"S": "ab"},
            "expires_at": {"N": "1700000000"},
            "payment_id": {"S": "p"},
            "response_status": {"N": "201"},
            "response_body": {"S": "{}"},
        });
        let r = Record::from_item(&item).unwrap();
        assert_eq!(r.status, COMPLETED);
        assert_eq!(r.response_status, Some(201));
        assert_eq!(r.expires_at, Some(1_700_000_000));
        assert_eq!(r.lease_id, None);
        assert!(Record::from_item(&json!({"pk": {"S": "x"}})).is_none());
        assert_eq!(pk("111122223333", "abc"), "idem#111122223333#abc");
        // Same key, two callers: two records.
        assert_ne!(pk("111122223333", "k"), pk("210987654321", "k"));
        // A key containing '#' cannot make one caller's record another's:
        // the account part is always exactly 12 digits.
        assert_ne!(
            pk("111122223333", "210987654321#k"),
            pk("210987654321", "k")
        );
    }
}
