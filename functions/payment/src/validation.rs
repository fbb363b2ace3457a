//! Request validation for `POST /payments` and the idempotency fingerprint.
//!
//! Validation collects *every* problem instead of stopping at the first one, so
//! a client sees all of its mistakes in a single 400 response.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Largest accepted request body (bytes, after base64 decoding).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest accepted `description`, in Unicode scalar values.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// Longest accepted `Idempotency-Key` header.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// Active ISO 4217 currency codes (sorted; funds codes included, precious
/// metals and testing codes excluded).
pub const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
    "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS",
    "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
    "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND",
    "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
];

const FIELDS: &[&str] = &["amount_minor", "currency", "merchant_id", "description"];

/// One validation problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Field name (`amount_minor`, ...), `Idempotency-Key`, or `body`.
    pub field: String,
    /// Where the field lives: `body` or `header`.
    #[serde(rename = "in")]
    pub location: &'static str,
    /// Stable machine-readable code.
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    fn body(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            location: "body",
            code,
            message: message.into(),
        }
    }
}

/// A validated payment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    pub amount_minor: i64,
    pub currency: String,
    pub merchant_id: String,
    pub description: Option<String>,
}

impl PaymentRequest {
    /// SHA-256 (hex) of the canonical form of the request.
    ///
    /// The canonical form is a compact JSON object with sorted keys, the
    /// operation name, and `description: null` when the description is absent,
    /// so key order, whitespace, number spelling (`1e2` is rejected anyway) and
    /// `null` vs. missing description do not change the fingerprint.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }

    /// The canonical byte string hashed by [`fingerprint`](Self::fingerprint).
    pub fn canonical(&self) -> String {
        let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
        format!(
            "{{\"amount_minor\":{},\"currency\":{},\"description\":{},\"merchant_id\":{},\"op\":\"POST /payments\"}}",
            self.amount_minor,
            s(&self.currency),
            self.description.as_deref().map_or_else(|| "null".to_owned(), s),
            s(&self.merchant_id),
        )
    }
}

/// Checks the `Idempotency-Key` header value.
pub fn validate_idempotency_key(value: Option<&str>) -> Result<String, FieldError> {
    let err = |code, message: &str| FieldError {
        field: "Idempotency-Key".to_owned(),
        location: "header",
        code,
        message: message.to_owned(),
    };
    match value {
        None => Err(err("required", "the Idempotency-Key header is required")),
        Some("") => Err(err(
            "required",
            "the Idempotency-Key header must not be empty",
        )),
        Some(v) if v.len() > MAX_IDEMPOTENCY_KEY_LEN => Err(err(
            "too_long",
            "the Idempotency-Key header must be at most 255 characters",
        )),
        Some(v) if !v.bytes().all(|b| (0x20..=0x7e).contains(&b)) => Err(err(
            "invalid_characters",
            "the Idempotency-Key header must contain printable ASCII only",
        )),
        Some(v) => Ok(v.to_owned()),
    }
}

/// `^[A-Za-z0-9_-]{3,64}$`
pub fn is_valid_merchant_id(v: &str) -> bool {
    (3..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `code` is a known ISO 4217 currency code (upper case).
pub fn is_known_currency(code: &str) -> bool {
    CURRENCIES.binary_search(&code).is_ok()
}

/// Validates the raw JSON body.
pub fn validate_body(
    body: Option<&[u8]>,
    max_amount_minor: i64,
) -> Result<PaymentRequest, Vec<FieldError>> {
    let body = match body {
        None => {
            return Err(vec![FieldError::body(
                "body",
                "required",
                "a JSON request body is required",
            )])
        }
        Some(b) if b.iter().all(u8::is_ascii_whitespace) => {
            return Err(vec![FieldError::body(
                "body",
                "required",
                "a JSON request body is required",
            )])
        }
        Some(b) if b.len() > MAX_BODY_BYTES => {
            return Err(vec![FieldError::body(
                "body",
                "too_large",
                format!("the request body must be at most {MAX_BODY_BYTES} bytes"),
            )])
        }
        Some(b) => b,
    };
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return Err(vec![FieldError::body(
                "body",
                "invalid_json",
                "the request body is not valid JSON",
            )])
        }
    };
    let Value::Object(map) = value else {
        return Err(vec![FieldError::body(
            "body",
            "invalid_type",
            "the request body must be a JSON object",
        )]);
    };

    let mut errors = Vec::new();
    let mut unknown: Vec<&String> = map
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .collect();
    unknown.sort();
    for k in unknown {
        errors.push(FieldError::body(k, "unknown_field", "unknown field"));
    }

    let amount_minor = match map.get("amount_minor") {
        None | Some(Value::Null) => {
            errors.push(FieldError::body(
                "amount_minor",
                "required",
                "amount_minor is required",
            ));
            None
        }
        Some(Value::Number(n)) => match n.as_i64() {
            Some(a) if a <= 0 => {
                errors.push(FieldError::body(
                    "amount_minor",
                    "out_of_range",
                    "amount_minor must be greater than 0",
                ));
                None
            }
            Some(a) if a > max_amount_minor => {
                errors.push(FieldError::body(
                    "amount_minor",
                    "out_of_range",
                    format!("amount_minor must be at most {max_amount_minor}"),
                ));
                None
            }
            Some(a) => Some(a),
            None if n.is_u64() => {
                errors.push(FieldError::body(
                    "amount_minor",
                    "out_of_range",
                    format!("amount_minor must be at most {max_amount_minor}"),
                ));
                None
            }
            None => {
                errors.push(FieldError::body(
                    "amount_minor",
                    "invalid_type",
                    "amount_minor must be an integer number of minor units",
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::body(
                "amount_minor",
                "invalid_type",
                "amount_minor must be an integer number of minor units",
            ));
            None
        }
    };

    let currency = match map.get("currency") {
        None | Some(Value::Null) => {
            errors.push(FieldError::body(
                "currency",
                "required",
                "currency is required",
            ));
            None
        }
        Some(Value::String(c)) if is_known_currency(c) => Some(c.clone()),
        Some(Value::String(_)) => {
            errors.push(FieldError::body(
                "currency",
                "unknown_currency",
                "currency must be an upper-case ISO 4217 code such as USD",
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::body(
                "currency",
                "invalid_type",
                "currency must be a string",
            ));
            None
        }
    };

    let merchant_id = match map.get("merchant_id") {
        None | Some(Value::Null) => {
            errors.push(FieldError::body(
                "merchant_id",
                "required",
                "merchant_id is required",
            ));
            None
        }
        Some(Value::String(m)) if is_valid_merchant_id(m) => Some(m.clone()),
        Some(Value::String(_)) => {
            errors.push(FieldError::body(
                "merchant_id",
                "invalid_format",
                "merchant_id must match ^[A-Za-z0-9_-]{3,64}$",
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::body(
                "merchant_id",
                "invalid_type",
                "merchant_id must be a string",
            ));
            None
        }
    };

    let description = match map.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
            errors.push(FieldError::body(
                "description",
                "too_long",
                format!("description must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
            None
        }
        Some(Value::String(d)) if d.chars().any(char::is_control) => {
            errors.push(FieldError::body(
                "description",
                "invalid_characters",
                "description must not contain control characters",
            ));
            None
        }
        Some(Value::String(d)) => Some(d.clone()),
        Some(_) => {
            errors.push(FieldError::body(
                "description",
                "invalid_type",
                "description must be a string",
            ));
            None
        }
    };

    match (amount_minor, currency, merchant_id) {
        (Some(amount_minor), Some(currency), Some(merchant_id)) if errors.is_empty() => {
            Ok(PaymentRequest {
                amount_minor,
                currency,
                merchant_id,
                description,
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: i64 = 100_000_000;

    fn v(body: &str) -> Result<PaymentRequest, Vec<FieldError>> {
        validate_body(Some(body.as_bytes()), MAX)
    }

    fn codes(body: &str) -> Vec<(String, &'static str)> {
        v(body)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn f(field: &str, code: &'static str) -> (String, &'static str) {
        (field.to_owned(), code)
    }

    #[test]
    fn currency_list_is_sorted_and_unique() {
        assert!(CURRENCIES.windows(2).all(|w| w[0] < w[1]));
        assert!(CURRENCIES
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn accepts_a_valid_request() {
        let r = v(r#"{"amount_minor":1250,"currency":"EUR","merchant_id":"m_42-a","description":"Café ☕"}"#).unwrap();
        assert_eq!(r.amount_minor, 1250);
        assert_eq!(r.currency, "EUR");
        assert_eq!(r.merchant_id, "m_42-a");
        assert_eq!(r.description.as_deref(), Some("Café ☕"));
    }

    #[test]
    fn amount_rules() {
        assert_eq!(
            codes(r#"{"currency":"USD","merchant_id":"abc"}"#),
            vec![f("amount_minor", "required")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":null,"currency":"USD","merchant_id":"abc"}"#),
            vec![f("amount_minor", "required")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":0,"currency":"USD","merchant_id":"abc"}"#),
            vec![f("amount_minor", "out_of_range")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":-5,"currency":"USD","merchant_id":"abc"}"#),
            vec![f("amount_minor", "out_of_range")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":100000001,"currency":"USD","merchant_id":"abc"}"#),
            vec![f("amount_minor", "out_of_range")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":18446744073709551615,"currency":"USD","merchant_id":"abc"}"#),
            vec![f("amount_minor", "out_of_range")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":12.5,"currency":"USD","merchant_id":"abc"}"#),
            vec![f("amount_minor", "invalid_type")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":"100","currency":"USD","merchant_id":"abc"}"#),
            vec![f("amount_minor", "invalid_type")]
        );
        assert!(v(r#"{"amount_minor":100000000,"currency":"USD","merchant_id":"abc"}"#).is_ok());
        assert!(v(r#"{"amount_minor":1,"currency":"USD","merchant_id":"abc"}"#).is_ok());
        // The configured maximum is honoured.
        assert!(validate_body(
            Some(br#"{"amount_minor":11,"currency":"USD","merchant_id":"abc"}"#),
            10
        )
        .is_err());
    }

    #[test]
    fn currency_rules() {
        assert_eq!(
            codes(r#"{"amount_minor":1,"merchant_id":"abc"}"#),
            vec![f("currency", "required")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":1,"currency":"usd","merchant_id":"abc"}"#),
            vec![f("currency", "unknown_currency")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":1,"currency":"XXX","merchant_id":"abc"}"#),
            vec![f("currency", "unknown_currency")]
        );
        assert_eq!(
            codes(r#"{"amount_minor":1,"currency":840,"merchant_id":"abc"}"#),
            vec![f("currency", "invalid_type")]
        );
        for c in ["USD", "EUR", "JPY", "GBP", "CHF"] {
            assert!(is_known_currency(c), "{c}");
        }
    }

    #[test]
    fn merchant_rules() {
        assert_eq!(
            codes(r#"{"amount_minor":1,"currency":"USD"}"#),
            vec![f("merchant_id", "required")]
        );
        for bad in ["ab", "a b c", "abc!", "ünï", &"x".repeat(65)] {
            let body = format!(r#"{{"amount_minor":1,"currency":"USD","merchant_id":"{bad}"}}"#);
            assert_eq!(
                codes(&body),
                vec![f("merchant_id", "invalid_format")],
                "{bad}"
            );
        }
        assert_eq!(
            codes(r#"{"amount_minor":1,"currency":"USD","merchant_id":123}"#),
            vec![f("merchant_id", "invalid_type")]
        );
        assert!(is_valid_merchant_id("abc"));
        assert!(is_valid_merchant_id(&"Z9_-".repeat(16)));
    }

    #[test]
    fn description_rules() {
        let ok = format!(
            r#"{{"amount_minor":1,"currency":"USD","merchant_id":"abc","description":"{}"}}"#,
            "é".repeat(200)
        );
        assert!(v(&ok).is_ok());
        let long = format!(
            r#"{{"amount_minor":1,"currency":"USD","merchant_id":"abc","description":"{}"}}"#,
            "a".repeat(201)
        );
        assert_eq!(codes(&long), vec![f("description", "too_long")]);
        assert_eq!(
            codes(r#"{"amount_minor":1,"currency":"USD","merchant_id":"abc","description":5}"#),
            vec![f("description", "invalid_type")]
        );
        assert_eq!(
            codes(
                r#"{"amount_minor":1,"currency":"USD","merchant_id":"abc","description":"a\u0000b"}"#
            ),
            vec![f("description", "invalid_characters")]
        );
        let r = v(r#"{"amount_minor":1,"currency":"USD","merchant_id":"abc","description":null}"#)
            .unwrap();
        assert_eq!(r.description, None);
    }

    #[test]
    fn unknown_fields_and_every_error_reported() {
        let errs = codes(
            r#"{"amount_minor":0,"currency":"usd","merchant_id":"x","description":7,"card_number":"4111","zz":1}"#,
        );
        assert_eq!(
            errs,
            vec![
                f("card_number", "unknown_field"),
                f("zz", "unknown_field"),
                f("amount_minor", "out_of_range"),
                f("currency", "unknown_currency"),
                f("merchant_id", "invalid_format"),
                f("description", "invalid_type"),
            ]
        );
        // Unknown field alone also rejects an otherwise valid request.
        assert_eq!(
            codes(r#"{"amount_minor":1,"currency":"USD","merchant_id":"abc","extra":true}"#),
            vec![f("extra", "unknown_field")]
        );
    }

    #[test]
    fn body_shape_errors() {
        assert_eq!(validate_body(None, MAX).unwrap_err()[0].code, "required");
        assert_eq!(
            validate_body(Some(b"  "), MAX).unwrap_err()[0].code,
            "required"
        );
        assert_eq!(codes("{"), vec![f("body", "invalid_json")]);
        assert_eq!(codes("[1,2]"), vec![f("body", "invalid_type")]);
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let mut big = big;
        big[0] = b'{';
        assert_eq!(
            validate_body(Some(&big), MAX).unwrap_err()[0].code,
            "too_large"
        );
    }

    #[test]
    fn idempotency_key_rules() {
        assert_eq!(validate_idempotency_key(None).unwrap_err().code, "required");
        assert_eq!(
            validate_idempotency_key(Some("")).unwrap_err().code,
            "required"
        );
        assert_eq!(
            validate_idempotency_key(Some(&"k".repeat(256)))
                .unwrap_err()
                .code,
            "too_long"
        );
        assert_eq!(
            validate_idempotency_key(Some("tab\there"))
                .unwrap_err()
                .code,
            "invalid_characters"
        );
        assert_eq!(
            validate_idempotency_key(Some("ключ")).unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            validate_idempotency_key(Some(&"k".repeat(255))).unwrap(),
            "k".repeat(255)
        );
        assert_eq!(validate_idempotency_key(Some("a")).unwrap(), "a");
        let e = validate_idempotency_key(None).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.location),
            ("Idempotency-Key", "header")
        );
    }

    #[test]
    fn fingerprint_is_canonical() {
        let a = v(r#"{"amount_minor":1250,"currency":"EUR","merchant_id":"m_1"}"#).unwrap();
        let b = v("{ \"merchant_id\" : \"m_1\",\n \"currency\":\"EUR\", \"amount_minor\": 1250, \"description\": null }").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.canonical(),
            r#"{"amount_minor":1250,"currency":"EUR","description":null,"merchant_id":"m_1","op":"POST /payments"}"#
        );
        assert_eq!(a.fingerprint().len(), 64);
        // JSON escapes that decode to the same string give the same fingerprint.
        let c = v(
            r#"{"amount_minor":1,"currency":"EUR","merchant_id":"m_1","description":"caf\u00e9"}"#,
        )
        .unwrap();
        let d =
            v(r#"{"amount_minor":1,"currency":"EUR","merchant_id":"m_1","description":"café"}"#)
                .unwrap();
        assert_eq!(c.fingerprint(), d.fingerprint());
    }

    #[test]
    fn fingerprint_distinguishes_every_field() {
        let base =
            v(r#"{"amount_minor":1250,"currency":"EUR","merchant_id":"m_1","description":"x"}"#)
                .unwrap();
        let variants = [
            r#"{"amount_minor":1251,"currency":"EUR","merchant_id":"m_1","description":"x"}"#,
            r#"{"amount_minor":1250,"currency":"USD","merchant_id":"m_1","description":"x"}"#,
            r#"{"amount_minor":1250,"currency":"EUR","merchant_id":"m_2","description":"x"}"#,
            r#"{"amount_minor":1250,"currency":"EUR","merchant_id":"m_1","description":"y"}"#,
            r#"{"amount_minor":1250,"currency":"EUR","merchant_id":"m_1"}"#,
            r#"{"amount_minor":1250,"currency":"EUR","merchant_id":"m_1","description":""}"#,
            // Injection attempt through escaping must not collide.
            r#"{"amount_minor":1250,"currency":"EUR","merchant_id":"m_1","description":"x\",\"merchant_id\":\"m_1"}"#,
        ];
        for body in variants {
            assert_ne!(base.fingerprint(), v(body).unwrap().fingerprint(), "{body}");
        }
    }
}
