//! Minimal AWS clients: SigV4 signing (via `aws-sigv4`), a DynamoDB JSON-1.0
//! caller, an SNS `Publish` call, Secrets Manager `GetSecretValue` (migrate
//! only) and the RDS IAM auth token.
//!
//! The full AWS SDK crates are deliberately not used: this function needs five
//! DynamoDB operations, one SNS and one Secrets Manager operation, and the SDK
//! would add minutes of build time and megabytes of binary. Credentials come from the variables the
//! Lambda runtime sets (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`), read once by [`crate::Config`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Most AWS calls one process has in flight at once.
pub const MAX_IN_FLIGHT: usize = 32;
/// Longest wait for an in-flight slot before a call fails as unavailable.
const QUEUE_WAIT: Duration = Duration::from_secs(30);

/// Errors talking to an AWS service.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("AWS credentials are not available: {0}")]
    Credentials(String),
    #[error("request could not be signed: {0}")]
    Signing(String),
    #[error("transport error: {0}")]
    Transport(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The service answered with an error.
    #[error("{service} error {status} {code}: {message}")]
    Service {
        service: &'static str,
        status: u16,
        /// Short error type, e.g. `ConditionalCheckFailedException`.
        code: String,
        message: String,
    },
}

impl AwsError {
    /// Short error type of a service error (empty for other errors).
    pub fn code(&self) -> &str {
        match self {
            AwsError::Service { code, .. } => code,
            _ => "",
        }
    }

    /// Whether the failure is on the service side / network (retryable, 503)
    /// rather than a request or configuration problem (500).
    pub fn is_unavailable(&self) -> bool {
        match self {
            AwsError::Transport(_) | AwsError::Timeout(_) => true,
            AwsError::Service { status, code, .. } => {
                *status >= 500
                    || code.contains("Throttl")
                    || code == "ProvisionedThroughputExceededException"
                    || code == "RequestLimitExceeded"
                    || code == "LimitExceededException"
            }
            AwsError::Credentials(_) | AwsError::Signing(_) => false,
        }
    }
}

/// The configured credentials, or an error naming the missing variables.
pub fn require_credentials(c: Option<&Credentials>) -> Result<&Credentials, AwsError> {
    c.ok_or_else(|| {
        AwsError::Credentials("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set".into())
    })
}

/// Generates an RDS IAM authentication token (the password for an IAM-enabled
/// database user): a SigV4 presigned `connect` URL for the `rds-db` service,
/// valid for 15 minutes, without the `https://` prefix.
pub fn rds_auth_token(
    credentials: &Credentials,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    time: SystemTime,
) -> Result<String, AwsError> {
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.expires_in = Some(Duration::from_secs(900));
    settings.signature_location = SignatureLocation::QueryParams;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| AwsError::Signing(e.to_string()))?
        .into();
    let user_q: String = form_urlencoded::byte_serialize(user.as_bytes()).collect();
    let url = format!("https://{host}:{port}/?Action=connect&DBUser={user_q}");
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::empty(),
        SignableBody::empty(),
    )
    .map_err(|e| AwsError::Signing(e.to_string()))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| AwsError::Signing(e.to_string()))?
        .into_parts();
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in instructions.params() {
        query.append_pair(name, value);
    }
    Ok(format!("{}&{}", &url["https://".len()..], query.finish()))
}

/// A small signed-HTTP client shared by the DynamoDB and SNS calls.
#[derive(Clone)]
pub struct AwsClient {
    http: HttpsClient,
    region: Arc<str>,
    credentials: Option<Credentials>,
    /// Caps concurrent AWS calls (backpressure when one process serves many
    /// concurrent requests, as in tests; a Lambda instance serves one).
    limiter: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for AwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClient")
            .field("region", &self.region)
            .finish()
    }
}

impl AwsClient {
    /// Builds the client (rustls + ring, webpki roots, HTTP/1.1 keep-alive).
    pub fn new(region: &str, credentials: Option<Credentials>) -> Result<Self, AwsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| AwsError::Transport(format!("TLS setup: {e}")))?
            .https_or_http()
            .enable_http1()
            .wrap_connector({
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_nodelay(true);
                http.set_connect_timeout(Some(Duration::from_secs(1)));
                http.set_keepalive(Some(Duration::from_secs(30)));
                http
            });
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(50))
            .pool_max_idle_per_host(16)
            .build(https);
        Ok(Self {
            http,
            region: region.into(),
            credentials,
            limiter: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// Sends a SigV4-signed POST and returns the status and body.
    async fn signed_post(
        &self,
        service: &'static str,
        url: &str,
        content_type: &str,
        extra_headers: &[(&str, &str)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<(u16, Bytes), AwsError> {
        let identity: Identity = require_credentials(self.credentials.as_ref())?
            .clone()
            .into();
        let uri: http::Uri = url
            .parse()
            .map_err(|e| AwsError::Signing(format!("bad endpoint {url}: {e}")))?;
        let host = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .ok_or_else(|| AwsError::Signing(format!("endpoint {url} has no host")))?;
        let mut headers: Vec<(&str, &str)> =
            vec![("host", host.as_str()), ("content-type", content_type)];
        headers.extend_from_slice(extra_headers);

        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| AwsError::Signing(e.to_string()))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| AwsError::Signing(e.to_string()))?;
        let (instructions, _sig) = sign(signable, &params)
            .map_err(|e| AwsError::Signing(e.to_string()))?
            .into_parts();

        let mut builder = http::Request::builder().method("POST").uri(uri);
        for (k, v) in &headers {
            builder = builder.header(*k, *v);
        }
        let mut request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| AwsError::Signing(e.to_string()))?;
        instructions.apply_to_request_http1x(&mut request);

        let _slot = tokio::time::timeout(QUEUE_WAIT, self.limiter.acquire())
            .await
            .map_err(|_| AwsError::Timeout(QUEUE_WAIT))?
            .map_err(|e| AwsError::Transport(e.to_string()))?;
        let call = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| AwsError::Transport(format!("{service}: {e}")))?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| AwsError::Transport(format!("{service}: {e}")))?
                .to_bytes();
            Ok::<_, AwsError>((status, bytes))
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| AwsError::Timeout(timeout))?
    }

    /// Calls a DynamoDB (JSON 1.0 protocol) operation such as `PutItem`.
    pub async fn dynamodb(
        &self,
        endpoint: &str,
        operation: &str,
        input: &Value,
        timeout: Duration,
    ) -> Result<Value, AwsError> {
        self.json_call(
            "dynamodb",
            endpoint,
            "DynamoDB_20120810",
            "application/x-amz-json-1.0",
            operation,
            input,
            timeout,
        )
        .await
    }

    /// Calls an operation of a JSON-protocol AWS service.
    #[allow(clippy::too_many_arguments)]
    pub async fn json_call(
        &self,
        service: &'static str,
        endpoint: &str,
        target_prefix: &str,
        content_type: &str,
        operation: &str,
        input: &Value,
        timeout: Duration,
    ) -> Result<Value, AwsError> {
        let body = serde_json::to_vec(input).map_err(|e| AwsError::Signing(e.to_string()))?;
        let target = format!("{target_prefix}.{operation}");
        let (status, bytes) = self
            .signed_post(
                service,
                endpoint,
                content_type,
                &[("x-amz-target", &target)],
                body,
                timeout,
            )
            .await?;
        let value: Value = if bytes.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(|e| AwsError::Service {
                service,
                status,
                code: "InvalidResponse".into(),
                message: format!("{operation}: response is not JSON: {e}"),
            })?
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let raw_type = value
            .get("__type")
            .and_then(Value::as_str)
            .unwrap_or("UnknownError");
        let code = raw_type.rsplit('#').next().unwrap_or(raw_type).to_owned();
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Err(AwsError::Service {
            service,
            status,
            code,
            message,
        })
    }

    /// Calls an AWS Query-protocol operation (form-encoded POST), returning the raw XML.
    pub async fn query_call(
        &self,
        service: &'static str,
        endpoint: &str,
        params: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<String, AwsError> {
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish().into_bytes()
        };
        let (status, bytes) = self
            .signed_post(
                service,
                endpoint,
                "application/x-www-form-urlencoded; charset=utf-8",
                &[],
                body,
                timeout,
            )
            .await?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(AwsError::Service {
                service,
                status,
                code: xml_tag(&text, "Code").unwrap_or("UnknownError").to_owned(),
                message: xml_tag(&text, "Message").unwrap_or_default().to_owned(),
            })
        }
    }

    /// SNS `Publish`.
    pub async fn sns_publish(
        &self,
        endpoint: &str,
        topic_arn: &str,
        subject: &str,
        message: &str,
        timeout: Duration,
    ) -> Result<(), AwsError> {
        self.query_call(
            "sns",
            endpoint,
            &[
                ("Action", "Publish"),
                ("Version", "2010-03-31"),
                ("TopicArn", topic_arn),
                ("Subject", subject),
                ("Message", message),
            ],
            timeout,
        )
        .await
        .map(|_| ())
    }
}

impl AwsClient {
    /// Secrets Manager `GetSecretValue` (JSON 1.1 protocol,
    /// `X-Amz-Target: secretsmanager.GetSecretValue`): the `SecretString` of
    /// the current version of `secret_id` (a name or an ARN). Binary-only
    /// secrets are an error. The value is never logged.
    pub async fn get_secret_string(
        &self,
        endpoint: &str,
        secret_id: &str,
        timeout: Duration,
    ) -> Result<String, AwsError> {
        let out = self
            .json_call(
                "secretsmanager",
                endpoint,
                "secretsmanager",
                "application/x-amz-json-1.1",
                "GetSecretValue",
                &serde_json::json!({ "SecretId": secret_id }),
                timeout,
            )
            .await?;
        match out.get("SecretString").and_then(Value::as_str) {
            Some(s) => Ok(s.to_owned()),
            None => Err(AwsError::Service {
                service: "secretsmanager",
                status: 200,
                code: "NoSecretString".into(),
                message: "the secret has no SecretString (binary secrets are not supported)".into(),
            }),
        }
    }
}

/// Text of the first `<tag>...</tag>` in an XML document (error parsing only).
pub fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// Known-answer vector from the AWS SDK for Rust (`aws-sdk-rds` auth_token test).
    #[test]
    fn rds_auth_token_matches_sdk_vector() {
        let creds = Credentials::new("akid", "secret", None, None, "test");
        let token = rds_auth_token(
            &creds,
            "us-east-1",
            "prod-instance.us-east-1.rds.amazonaws.com",
            3306,
            "peccy",
            UNIX_EPOCH + Duration::from_secs(1_724_709_600),
        )
        .unwrap();
        assert_eq!(
            token,
            "prod-instance.us-east-1.rds.amazonaws.com:3306/?Action=connect&DBUser=peccy&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240826%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20240826T220000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=dd0cba843009474347af724090233265628ace491ea17ce3eb3da098b983ad89"
        );
    }

    #[test]
    fn rds_auth_token_carries_session_token() {
        let creds = Credentials::new("akid", "secret", Some("tok/en".into()), None, "test");
        let token = rds_auth_token(
            &creds,
            "us-east-2",
            "db.example",
            5432,
            "payment_app",
            SystemTime::now(),
        )
        .unwrap();
        assert!(token.starts_with("db.example:5432/?Action=connect&DBUser=payment_app&"));
        assert!(token.contains("X-Amz-Security-Token=tok%2Fen"), "{token}");
        assert!(token.contains("%2Fus-east-2%2Frds-db%2Faws4_request"));
    }

    #[test]
    fn error_classification() {
        let e = |status, code: &str| AwsError::Service {
            service: "dynamodb",
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(e(400, "ThrottlingException").is_unavailable());
        assert!(e(400, "ProvisionedThroughputExceededException").is_unavailable());
        assert!(e(500, "InternalServerError").is_unavailable());
        assert!(!e(400, "ResourceNotFoundException").is_unavailable());
        assert!(!e(400, "ConditionalCheckFailedException").is_unavailable());
        assert!(AwsError::Timeout(Duration::from_secs(1)).is_unavailable());
    }

    /// One HTTP/1.1 exchange on a loopback listener: returns the raw request
    /// (head and body) and answers with `status` and `body`.
    async fn one_exchange(
        listener: tokio::net::TcpListener,
        status: u16,
        body: &'static str,
    ) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            assert!(n > 0, "client closed early");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
        }
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(response.as_bytes()).await.unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[tokio::test]
    async fn get_secret_value_request_shape() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(one_exchange(
            listener,
            200,
            r#"{"ARN":"arn:aws:secretsmanager:us-east-2:1:secret:aurora-master-dev-AbCdEf","Name":"aurora-master-dev","SecretString":"{\"username\":\"dbadmin\",\"password\":\"p\"}"}"#,
        ));
        let creds = Credentials::new("akid", "secret", Some("tok".into()), None, "test");
        let client = AwsClient::new("us-east-2", Some(creds)).unwrap();
        let value = client
            .get_secret_string(&endpoint, "aurora-master-dev", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(value, r#"{"username":"dbadmin","password":"p"}"#);
        let request = server.await.unwrap();
        let lower = request.to_ascii_lowercase();
        assert!(request.starts_with("POST / HTTP/1.1\r\n"), "{request}");
        assert!(lower.contains("\r\nx-amz-target: secretsmanager.getsecretvalue\r\n"));
        assert!(lower.contains("\r\ncontent-type: application/x-amz-json-1.1\r\n"));
        assert!(lower.contains("\r\nx-amz-security-token: tok\r\n"));
        assert!(
            request.contains("Credential=akid/")
                && request.contains("/us-east-2/secretsmanager/aws4_request"),
            "{request}"
        );
        assert!(
            request.ends_with(r#"{"SecretId":"aurora-master-dev"}"#),
            "{request}"
        );
    }

    #[tokio::test]
    async fn get_secret_value_errors_are_typed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(one_exchange(
            listener,
            400,
            r#"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#,
        ));
        let creds = Credentials::new("akid", "secret", None, None, "test");
        let client = AwsClient::new("us-east-1", Some(creds)).unwrap();
        let err = client
            .get_secret_string(&endpoint, "nope", Duration::from_secs(5))
            .await
            .unwrap_err();
        server.await.unwrap();
        assert_eq!(err.code(), "ResourceNotFoundException");
        assert!(err.to_string().contains("can't find"), "{err}");
    }

    #[test]
    fn xml_tag_extracts() {
        let xml = "<ErrorResponse><Error><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>";
        assert_eq!(xml_tag(xml, "Code"), Some("NotFound"));
        assert_eq!(xml_tag(xml, "Message"), Some("Topic does not exist"));
        assert_eq!(xml_tag(xml, "Nope"), None);
    }
}
