//! The caller's AWS identity, as API Gateway reports it.
//!
//! `POST /payments` and `GET /payments/{id}` use `AWS_IAM` authorization:
//! API Gateway verifies the SigV4 signature (and the REST API resource policy)
//! before the function runs, and fills `requestContext.identity` with the
//! signer's `accountId`, `caller`, `userArn`, `accessKey`, .... The function
//! trusts these fields: only API Gateway may invoke it through the proxy
//! integration (`lambda:InvokeFunction` is granted to the API alone, so anyone
//! who could invoke the function directly could claim any identity).
//!
//! Nothing else in the event is an identity. In particular
//! `requestContext.accountId` is the account that **owns the API**, present on
//! every request, signed or not; it is never used here.
//!
//! A request without `identity.accountId` did not go through `AWS_IAM`
//! (misconfigured method, `authorization = NONE`, or a hand-made event): the
//! payment routes refuse it with `403` before anything is read or written.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;

/// The authenticated caller of a payment route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// 12-digit AWS account id of the signer (`identity.accountId`). Scopes
    /// idempotency keys and payment reads; recorded in the ledger row.
    pub account_id: String,
    /// The signer's ARN (`identity.userArn`), e.g.
    /// `arn:aws:sts::111122223333:assumed-role/PaymentsClient/session`, when
    /// API Gateway reports one. Logged, not stored.
    pub arn: Option<String>,
}

/// Why a request has no usable caller identity (both are answered `403`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// `identity.accountId` is absent, null or empty: the request was not
    /// signed (the method is not `AWS_IAM`-authorized).
    #[error("the request carries no caller identity (requestContext.identity.accountId)")]
    Missing,
    /// The identity is present but not what `AWS_IAM` produces: an account id
    /// that is not 12 digits, or a `userArn` naming another account.
    #[error("the caller identity is malformed: {0}")]
    Invalid(&'static str),
}

impl IdentityError {
    /// Stable error code of the `403` answer.
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::Missing => "caller_identity_missing",
            IdentityError::Invalid(_) => "caller_identity_invalid",
        }
    }
}

/// `^[0-9]{12}$`
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account field of an ARN (`arn:partition:service:region:account:resource`),
/// `None` if `arn` is not shaped like one.
fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if prefix != "arn" || partition.is_empty() || service.is_empty() || resource.is_empty() {
        return None;
    }
    Some(account)
}

/// Extracts the caller from `requestContext.identity`.
///
/// * `accountId` absent/null/empty → [`IdentityError::Missing`];
/// * `accountId` not 12 digits → [`IdentityError::Invalid`];
/// * `userArn`, when present and non-empty, must be an ARN whose account is
///   `accountId` → else [`IdentityError::Invalid`]. An absent `userArn` is
///   accepted (the account is what scopes the request).
pub fn caller(event: &ApiGatewayProxyRequest) -> Result<Caller, IdentityError> {
    let identity = &event.request_context.identity;
    let account_id = match identity.account_id.as_deref().map(str::trim) {
        None | Some("") => return Err(IdentityError::Missing),
        Some(a) => a,
    };
    if !is_account_id(account_id) {
        return Err(IdentityError::Invalid(
            "accountId is not a 12-digit account id",
        ));
    }
    let arn = match identity.user_arn.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(arn) => match arn_account(arn) {
            Some(a) if a == account_id => Some(arn.to_owned()),
            Some(_) => return Err(IdentityError::Invalid("userArn names another account")),
            None => return Err(IdentityError::Invalid("userArn is not an ARN")),
        },
    };
    Ok(Caller {
        account_id: account_id.to_owned(),
        arn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn event(identity: Value) -> ApiGatewayProxyRequest {
        let mut ev: Value = serde_json::from_str(include_str!(
            "../tests/fixtures/apigw-rest-post-payments.json"
        ))
        .unwrap();
        ev["requestContext"]["identity"] = identity;
        serde_json::from_value(ev).unwrap()
    }

    fn signed(account: &str, arn: &str) -> Value {
        json!({
            "cognitoIdentityPoolId": null,
            "accountId": account,
            "cognitoIdentityId": null,
            "caller": "AROAEXAMPLEID:session",
            "sourceIp": "203.0.113.10",
            "principalOrgId": null,
            "accessKey": "ASIAEXAMPLEKEY",
            "cognitoAuthenticationType": null,
            "cognitoAuthenticationProvider": null,
            "userArn": arn,
            "userAgent": "aws-sdk-rust",
            "user": "AROAEXAMPLEID:session",
        })
    }

    #[test]
    fn the_fixture_is_a_signed_request() {
        let ev: ApiGatewayProxyRequest = serde_json::from_str(include_str!(
            "../tests/fixtures/apigw-rest-post-payments.json"
        ))
        .unwrap();
        let c = caller(&ev).unwrap();
        assert_eq!(c.account_id, "111122223333");
        assert_eq!(
            c.arn.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/PaymentsClient/orders-service")
        );
        // The API owner's account is not the caller's.
        assert_ne!(
            ev.request_context.account_id.as_deref(),
            Some(c.account_id.as_str())
        );
    }

    #[test]
    fn signed_callers_of_every_principal_kind() {
        for arn in [
            "arn:aws:sts::210987654321:assumed-role/PaymentsClient/session-1",
            "arn:aws:iam::210987654321:user/alice",
            "arn:aws:iam::210987654321:root",
            "arn:aws-us-gov:sts::210987654321:assumed-role/R/s",
        ] {
            let c = caller(&event(signed("210987654321", arn))).unwrap();
            assert_eq!(c.account_id, "210987654321");
            assert_eq!(c.arn.as_deref(), Some(arn));
        }
        // No userArn: the account alone identifies the caller.
        let mut id = signed("210987654321", "");
        assert_eq!(
            caller(&event(id.clone())).unwrap(),
            Caller {
                account_id: "210987654321".into(),
                arn: None
            }
        );
        id["userArn"] = Value::Null;
        assert_eq!(caller(&event(id)).unwrap().arn, None);
    }

    #[test]
    fn unsigned_requests_have_no_identity() {
        // What API Gateway sends for authorization = NONE: identity with
        // sourceIp/userAgent only, requestContext.accountId still set.
        let mut id = signed("x", "y");
        for k in ["accountId", "caller", "accessKey", "userArn", "user"] {
            id[k] = Value::Null;
        }
        let ev = event(id.clone());
        assert!(ev.request_context.account_id.is_some());
        assert_eq!(caller(&ev), Err(IdentityError::Missing));
        // Empty or blank account, no identity object at all, or no field.
        id["accountId"] = json!("");
        assert_eq!(caller(&event(id.clone())), Err(IdentityError::Missing));
        id["accountId"] = json!("  ");
        assert_eq!(caller(&event(id.clone())), Err(IdentityError::Missing));
        assert_eq!(caller(&event(json!({}))), Err(IdentityError::Missing));
        let mut ev: Value = serde_json::from_str(include_str!(
            "../tests/fixtures/apigw-rest-post-payments.json"
        ))
        .unwrap();
        ev["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("identity");
        let ev: ApiGatewayProxyRequest = serde_json::from_value(ev).unwrap();
        assert_eq!(caller(&ev), Err(IdentityError::Missing));
        assert_eq!(IdentityError::Missing.code(), "caller_identity_missing");
    }

    #[test]
    fn malformed_identities_are_refused() {
        for account in [
            "11112222333",
            "1111222233334",
            "11112222333a",
            "١١١١٢٢٢٢٣٣٣٣",
            "111122223333 OR 1=1",
            "*",
        ] {
            let err = caller(&event(signed(account, ""))).unwrap_err();
            assert_eq!(err.code(), "caller_identity_invalid", "{account:?}");
        }
        for arn in [
            // Another account than accountId.
            "arn:aws:sts::999999999999:assumed-role/R/s",
            "arn:aws:iam::111122223333:root",
            // Not an ARN.
            "210987654321",
            "arn:aws:iam::210987654321",
            "arn::iam::210987654321:root",
            "arn:aws:iam::210987654321:",
        ] {
            let err = caller(&event(signed("210987654321", arn))).unwrap_err();
            assert!(matches!(err, IdentityError::Invalid(_)), "{arn}: {err:?}");
        }
    }

    #[test]
    fn account_id_shape() {
        assert!(is_account_id("000000000000"));
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id(""));
        assert!(!is_account_id("12345678901"));
        assert!(!is_account_id("1234567890123"));
        assert!(!is_account_id("12345678901x"));
    }
}
