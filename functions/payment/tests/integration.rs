//! Service-backed tests: real PostgreSQL and moto (DynamoDB, SNS, SQS,
//! Secrets Manager).
//!
//! Run with:
//!
//! ```sh
//! scripts/services.sh start
//! cargo test -p payment-handler --features integration
//! scripts/services.sh stop
//! ```
//!
//! Settings come from the environment written to `.services/env` (exported
//! variables win; otherwise the file is read). Without them every test fails
//! with a message saying so. Each test uses its own database and DynamoDB
//! table, so the tests run in parallel.
//!
//! Migrations run as in production: `{"action":"migrate"}` reads the master
//! credentials (here the local superuser's) from a Secrets Manager secret in
//! moto, connects as that user, and creates the application role (`DB_USER`,
//! unique per test since roles are cluster-wide). The test then gives that
//! role a password (local PostgreSQL has no IAM auth) and the handler runs as
//! it, so every test also checks that the granted privileges suffice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use payment_handler::aws::{xml_tag, AwsClient};
use payment_handler::idempotency::{self, Record};
use payment_handler::migrate::{self, AppRole};
use payment_handler::{handle_event, Config, ProxyResponse, State};
use serde_json::{json, Value};
use tokio_postgres::{Client, NoTls};

// ---------------------------------------------------------------- harness --

#[derive(Debug)]
struct Services {
    vars: HashMap<String, String>,
}

const REQUIRED: &[&str] = &[
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "DYNAMODB_ENDPOINT_URL",
    "SNS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
];

fn services() -> &'static Services {
    static S: OnceLock<Services> = OnceLock::new();
    S.get_or_init(|| {
        // Handler logs (warnings and up by default) go to the captured test output.
        let level = std::env::var("TEST_LOG")
            .ok()
            .and_then(|l| l.parse::<tracing::Level>().ok())
            .unwrap_or(tracing::Level::WARN);
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_test_writer()
            .try_init();
        let mut vars: HashMap<String, String> = HashMap::new();
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.services/env");
        if let Ok(text) = std::fs::read_to_string(&file) {
            for line in text.lines() {
                if let Some((k, v)) = line
                    .trim()
                    .strip_prefix("export ")
                    .and_then(|l| l.split_once('='))
                {
                    vars.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        for k in REQUIRED
            .iter()
            .chain(["AWS_SESSION_TOKEN", "SECRETSMANAGER_ENDPOINT_URL"].iter())
        {
            if let Ok(v) = std::env::var(k) {
                vars.insert((*k).to_owned(), v);
            }
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .copied()
            .filter(|k| !vars.contains_key(*k))
            .collect();
        assert!(
            missing.is_empty(),
            "integration tests need the local PostgreSQL + moto services, but {missing:?} \
             are not set and {} does not provide them.\n\
             Start them first:  scripts/services.sh start   (or: make test-lambda)",
            file.display()
        );
        Services { vars }
    })
}

impl Services {
    fn var(&self, k: &str) -> &str {
        &self.vars[k]
    }

    async fn connect(&self, db: &str) -> Client {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(self.var("PGHOST"))
            .port(self.var("PGPORT").parse().unwrap())
            .user(self.var("PGUSER"))
            .password(self.var("PGPASSWORD"))
            .dbname(db);
        let (client, conn) = cfg.connect(NoTls).await.unwrap_or_else(|e| {
            panic!("cannot connect to the test PostgreSQL (scripts/services.sh start?): {e}")
        });
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }

    /// moto serves every service on one port; older env files lack the
    /// Secrets Manager variable.
    fn secretsmanager_endpoint(&self) -> &str {
        self.vars
            .get("SECRETSMANAGER_ENDPOINT_URL")
            .map(String::as_str)
            .unwrap_or_else(|| self.var("DYNAMODB_ENDPOINT_URL"))
    }

    /// Connects to `db` as `user` with `password` (plain TCP).
    async fn connect_as(
        &self,
        db: &str,
        user: &str,
        password: &str,
    ) -> Result<Client, tokio_postgres::Error> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(self.var("PGHOST"))
            .port(self.var("PGPORT").parse().unwrap())
            .user(user)
            .password(password)
            .dbname(db);
        let (client, conn) = cfg.connect(NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    fn aws(&self) -> AwsClient {
        let creds = aws_credential_types::Credentials::new(
            self.var("AWS_ACCESS_KEY_ID"),
            self.var("AWS_SECRET_ACCESS_KEY"),
            self.vars.get("AWS_SESSION_TOKEN").cloned(),
            None,
            "test",
        );
        AwsClient::new(self.var("AWS_REGION"), Some(creds)).unwrap()
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

async fn create_database() -> String {
    let name = unique("t_");
    services()
        .connect("postgres")
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    name
}

async fn create_table(name: &str) {
    let s = services();
    let aws = s.aws();
    let ep = s.var("DYNAMODB_ENDPOINT_URL");
    let t = Duration::from_secs(10);
    aws.dynamodb(
        ep,
        "CreateTable",
        &json!({
            "TableName": name,
            "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
            "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
            "BillingMode": "PAY_PER_REQUEST",
        }),
        t,
    )
    .await
    .unwrap();
    aws.dynamodb(
        ep,
        "UpdateTimeToLive",
        &json!({
            "TableName": name,
            "TimeToLiveSpecification": { "AttributeName": "expires_at", "Enabled": true },
        }),
        t,
    )
    .await
    .unwrap();
}

/// Stores `secret_string` in moto's Secrets Manager under a fresh name.
async fn create_secret(secret_string: &str) -> String {
    let s = services();
    let name = unique("aurora-master-");
    s.aws()
        .json_call(
            "secretsmanager",
            s.secretsmanager_endpoint(),
            "secretsmanager",
            "application/x-amz-json-1.1",
            "CreateSecret",
            &json!({ "Name": name, "SecretString": secret_string }),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    name
}

/// A secret holding the local superuser's credentials, shaped like the one
/// Terraform writes for the Aurora master user.
async fn master_secret() -> String {
    let s = services();
    create_secret(
        &json!({ "username": s.var("PGUSER"), "password": s.var("PGPASSWORD") }).to_string(),
    )
    .await
}

/// The application role of one test (`DB_USER`) and the password the test
/// gives it once migrate has created it (the handler's `DB_PASSWORD`).
#[derive(Clone, Debug)]
struct AppUser {
    name: String,
    password: String,
}

impl AppUser {
    fn new() -> Self {
        Self {
            name: unique("app_"),
            password: unique("pw"),
        }
    }

    /// Environment of a function that runs as this role, with the master
    /// secret for migrate.
    fn env(&self, secret: &str) -> Vec<(&'static str, String)> {
        vec![
            ("DB_USER", self.name.clone()),
            ("DB_PASSWORD", self.password.clone()),
            ("DB_MASTER_SECRET", secret.to_owned()),
            (
                "SECRETSMANAGER_ENDPOINT_URL",
                services().secretsmanager_endpoint().to_owned(),
            ),
        ]
    }

    /// Local stand-in for IAM auth: a password for the role migrate created.
    async fn set_password(&self) {
        services()
            .connect("postgres")
            .await
            .batch_execute(&format!(
                "ALTER ROLE {} PASSWORD '{}'",
                self.name, self.password
            ))
            .await
            .unwrap();
    }
}

async fn role_exists(name: &str) -> bool {
    services()
        .connect("postgres")
        .await
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

struct Harness {
    state: Arc<State>,
    db: String,
    app: AppUser,
}

impl Harness {
    /// Fresh database (migrated through the real `{"action":"migrate"}`
    /// invocation, as the master user from Secrets Manager), fresh session
    /// table, and a state running as the freshly created application role.
    async fn new(tweak: impl FnOnce(&mut Config)) -> Self {
        let db = create_database().await;
        let table = unique("sessions-");
        create_table(&table).await;
        let app = AppUser::new();
        let secret = master_secret().await;
        let state = state_with(&db, &table, &app.env(&secret), tweak);
        let out = handle_event(&state, json!({ "action": "migrate" }), "migrate-req")
            .await
            .unwrap();
        assert_eq!(out["current_version"], 3, "{out}");
        assert_eq!(out["app_role"]["created"], true, "{out}");
        app.set_password().await;
        Self { state, db, app }
    }

    async fn sql(&self) -> Client {
        services().connect(&self.db).await
    }

    async fn count_rows(&self) -> i64 {
        self.sql()
            .await
            .query_one("SELECT count(*) FROM payments", &[])
            .await
            .unwrap()
            .get(0)
    }

    /// The idempotency record of `key` sent by the fixture's caller.
    async fn record(&self, key: &str) -> Option<Record> {
        self.record_of(CALLER_A, key).await
    }

    async fn record_of(&self, account: &str, key: &str) -> Option<Record> {
        self.state.store.get(account, key).await.unwrap()
    }

    async fn call(&self, event: Value) -> ProxyResponse {
        call(&self.state, event).await
    }
}

/// A state connecting as the local superuser (`DB_PASSWORD`), without a
/// master secret: for tests that do not migrate.
fn state_for(db: &str, table: &str, tweak: impl FnOnce(&mut Config)) -> Arc<State> {
    state_with(db, table, &[], tweak)
}

/// Like [`state_for`], with extra environment variables.
fn state_with(
    db: &str,
    table: &str,
    extra: &[(&'static str, String)],
    tweak: impl FnOnce(&mut Config),
) -> Arc<State> {
    let s = services();
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("SESSION_TABLE", table.to_owned());
    env.insert("DB_HOST", s.var("PGHOST").to_owned());
    env.insert("DB_PORT", s.var("PGPORT").to_owned());
    env.insert("DB_NAME", db.to_owned());
    env.insert("DB_USER", s.var("PGUSER").to_owned());
    env.insert("DB_PASSWORD", s.var("PGPASSWORD").to_owned());
    env.insert("DB_SSLMODE", "disable".to_owned());
    env.insert("DB_POOL_SIZE", "8".to_owned());
    env.insert("REGION_ROLE", "primary".to_owned());
    env.insert("AWS_REGION", s.var("AWS_REGION").to_owned());
    env.insert(
        "DYNAMODB_ENDPOINT_URL",
        s.var("DYNAMODB_ENDPOINT_URL").to_owned(),
    );
    env.insert("SNS_ENDPOINT_URL", s.var("SNS_ENDPOINT_URL").to_owned());
    env.insert("AWS_ACCESS_KEY_ID", s.var("AWS_ACCESS_KEY_ID").to_owned());
    env.insert(
        "AWS_SECRET_ACCESS_KEY",
        s.var("AWS_SECRET_ACCESS_KEY").to_owned(),
    );
    if let Some(t) = s.vars.get("AWS_SESSION_TOKEN") {
        env.insert("AWS_SESSION_TOKEN", t.clone());
    }
    for (k, v) in extra {
        env.insert(k, v.clone());
    }
    let mut config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    tweak(&mut config);
    State::new(config).unwrap()
}

async fn call(state: &State, event: Value) -> ProxyResponse {
    let out = handle_event(state, event, &unique("lambda-req-"))
        .await
        .unwrap();
    serde_json::from_value(out).unwrap()
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/apigw-rest-post-payments.json")).unwrap()
}

/// A real API Gateway REST proxy event for `POST /payments`.
fn post(key: Option<&str>, body: &str) -> Value {
    let mut ev = fixture();
    ev["body"] = json!(body);
    for h in ["headers", "multiValueHeaders"] {
        let map = ev[h].as_object_mut().unwrap();
        map.remove("Idempotency-Key");
        if let Some(k) = key {
            // API Gateway preserves the client's header spelling; use lower case
            // here to exercise case-insensitive lookup.
            let v = if h == "headers" { json!(k) } else { json!([k]) };
            map.insert("idempotency-key".to_owned(), v);
        }
    }
    ev
}

fn request(method: &str, path: &str) -> Value {
    let mut ev = fixture();
    ev["httpMethod"] = json!(method);
    ev["path"] = json!(path);
    ev["resource"] = json!(if path.starts_with("/payments/") {
        "/payments/{id}"
    } else {
        path
    });
    ev["requestContext"]["httpMethod"] = json!(method);
    ev["requestContext"]["resourcePath"] = ev["resource"].clone();
    ev["body"] = Value::Null;
    for h in ["headers", "multiValueHeaders"] {
        let map = ev[h].as_object_mut().unwrap();
        map.remove("Idempotency-Key");
        map.remove("Content-Type");
    }
    if let Some(id) = path.strip_prefix("/payments/") {
        ev["pathParameters"] = json!({ "id": id });
    }
    ev
}

/// `GET /health`, optionally with `?require=<value>`, as API Gateway sends it
/// for `GET /live/health?require=writable` (the Route 53 health check).
fn health(require: Option<&str>) -> Value {
    let mut ev = request("GET", "/health");
    ev["requestContext"]["stage"] = json!("live");
    ev["requestContext"]["path"] = json!("/live/health");
    if let Some(r) = require {
        ev["queryStringParameters"] = json!({ "require": r });
        ev["multiValueQueryStringParameters"] = json!({ "require": [r] });
    }
    ev
}

/// The caller of the fixture (`requestContext.identity.accountId`).
const CALLER_A: &str = "111122223333";
/// Another signed caller.
const CALLER_B: &str = "210987654321";

/// `ev` as signed by a role of `account` (what API Gateway fills in for an
/// AWS_IAM-authorized method).
fn as_caller(mut ev: Value, account: &str) -> Value {
    let id = &mut ev["requestContext"]["identity"];
    id["accountId"] = json!(account);
    id["userArn"] = json!(format!(
        "arn:aws:sts::{account}:assumed-role/PaymentsClient/session-{account}"
    ));
    id["caller"] = json!(format!("AROAEXAMPLE{account}:session-{account}"));
    id["user"] = id["caller"].clone();
    ev
}

/// `ev` without a caller identity (what API Gateway sends for
/// `authorization = NONE`: `sourceIp` and `userAgent` only).
fn unsigned(mut ev: Value) -> Value {
    for k in ["accountId", "caller", "accessKey", "userArn", "user"] {
        ev["requestContext"]["identity"][k] = Value::Null;
    }
    ev
}

fn body(amount: i64, merchant: &str) -> String {
    json!({ "amount_minor": amount, "currency": "USD", "merchant_id": merchant, "description": "order 42" }).to_string()
}

fn pid(r: &ProxyResponse) -> String {
    r.json_body()["payment_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn code(r: &ProxyResponse) -> String {
    r.json_body()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A TCP port on loopback that nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ------------------------------------------------------------------ tests --

#[tokio::test]
async fn create_replay_conflict_get_and_health() {
    let h = Harness::new(|_| {}).await;
    let key = unique("key-");

    // Create.
    let r1 = h.call(post(Some(&key), &body(1250, "merchant_1"))).await;
    assert_eq!(r1.status_code, 201, "{}", r1.body);
    let b1 = r1.json_body();
    let id = pid(&r1);
    assert_eq!(id.len(), 36);
    assert_eq!(b1["status"], "accepted");
    assert_eq!(b1["amount_minor"], 1250);
    assert_eq!(b1["currency"], "USD");
    assert_eq!(b1["region"], "us-east-1");
    assert!(b1["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(r1.header("Idempotent-Replayed").is_none());
    assert_eq!(r1.header("Content-Type"), Some("application/json"));
    let rec = h.record(&key).await.unwrap();
    assert_eq!(rec.status, idempotency::COMPLETED);
    assert_eq!(rec.payment_id.as_deref(), Some(id.as_str()));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ttl = rec.expires_at.unwrap();
    assert!(
        (now + 24 * 3600 - 60..=now + 24 * 3600 + 60).contains(&ttl),
        "expires_at {ttl}"
    );

    // Replay: same key, same request (different JSON spelling) -> same response.
    let same = r#"{ "description": "order 42", "merchant_id": "merchant_1", "currency": "USD", "amount_minor": 1250 }"#;
    let r2 = h.call(post(Some(&key), same)).await;
    assert_eq!(r2.status_code, 201);
    assert_eq!(r2.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(pid(&r2), id);
    assert_eq!(r2.body, r1.body);

    // Same key, different request -> 422.
    let r3 = h.call(post(Some(&key), &body(999, "merchant_1"))).await;
    assert_eq!(r3.status_code, 422, "{}", r3.body);
    assert_eq!(code(&r3), "idempotency_key_reused");
    assert_eq!(h.count_rows().await, 1);

    // Get.
    let g = h.call(request("GET", &format!("/payments/{id}"))).await;
    assert_eq!(g.status_code, 200, "{}", g.body);
    let gb = g.json_body();
    assert_eq!(gb["payment_id"], id.as_str());
    assert_eq!(gb["merchant_id"], "merchant_1");
    assert_eq!(gb["description"], "order 42");
    assert_eq!(gb["created_at"], b1["created_at"]);

    // 404 and 400 on the read path.
    let missing = h
        .call(request(
            "GET",
            &format!("/payments/{}", uuid::Uuid::new_v4()),
        ))
        .await;
    assert_eq!(missing.status_code, 404);
    assert_eq!(code(&missing), "payment_not_found");
    let bad = h.call(request("GET", "/payments/not-a-uuid")).await;
    assert_eq!(bad.status_code, 400);
    assert_eq!(code(&bad), "invalid_payment_id");

    // Health.
    let hl = h.call(request("GET", "/health")).await;
    assert_eq!(hl.status_code, 200, "{}", hl.body);
    let hb = hl.json_body();
    assert_eq!(hb["status"], "ok");
    assert_eq!(hb["region"], "us-east-1");
    assert_eq!(hb["role"], "primary");
    assert_eq!(hb["database_writable"], true);

    // Routing errors.
    assert_eq!(h.call(request("GET", "/nope")).await.status_code, 404);
    let m = h.call(request("DELETE", "/payments")).await;
    assert_eq!((m.status_code, m.header("Allow")), (405, Some("POST")));
}

#[tokio::test]
async fn validation_errors_are_all_reported_and_nothing_is_written() {
    let h = Harness::new(|_| {}).await;
    let r = h
        .call(post(
            None,
            r#"{"amount_minor":-1,"currency":"usd","merchant_id":"x","description":5,"pan":"4111111111111111"}"#,
        ))
        .await;
    assert_eq!(r.status_code, 400, "{}", r.body);
    let b = r.json_body();
    assert_eq!(b["error"]["code"], "validation_failed");
    let fields: Vec<&str> = b["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "Idempotency-Key",
            "pan",
            "amount_minor",
            "currency",
            "merchant_id",
            "description"
        ]
    );
    // The rejected value of an unknown field is never echoed back.
    assert!(!r.body.contains("4111111111111111"));

    // Base64-encoded bodies (binary media types) are decoded.
    let key = unique("b64-");
    let mut ev = post(Some(&key), "");
    ev["body"] = json!(base64_encode(body(5, "merchant_b64").as_bytes()));
    ev["isBase64Encoded"] = json!(true);
    let ok = h.call(ev).await;
    assert_eq!(ok.status_code, 201, "{}", ok.body);

    // Header rules go through the real event too.
    let long = "k".repeat(256);
    let r = h.call(post(Some(&long), &body(1, "merchant_1"))).await;
    assert_eq!(r.status_code, 400);
    assert_eq!(r.json_body()["error"]["details"][0]["code"], "too_long");
    assert_eq!(h.count_rows().await, 1);
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_1000_requests_over_100_keys() {
    let h = Harness::new(|c| {
        c.db.pool_size = 16;
        c.db.pool_wait = Duration::from_secs(60);
        // This test is about exactly-once results, not latency: on a loaded
        // (shared, 2-CPU) host the production budgets (3 s connect / DynamoDB
        // call, 5 s statement) are exceeded while every test hammers the one
        // moto process, and a 503 would abort the test.
        c.db.connect_timeout = Duration::from_secs(30);
        c.db.statement_timeout = Duration::from_secs(30);
        c.dynamodb_timeout = Duration::from_secs(30);
    })
    .await;
    let keys: Vec<String> = (0..100)
        .map(|i| format!("conc-{i}-{}", uuid::Uuid::new_v4().simple()))
        .collect();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let state = Arc::clone(&h.state);
        let key = keys[i % 100].clone();
        let amount = (i % 100) as i64 + 1;
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u32;
            for _ in 0..400 {
                let r = call(&state, post(Some(&key), &body(amount, "merchant_conc"))).await;
                match r.status_code {
                    201 => {
                        return (
                            key,
                            pid(&r),
                            r.header("Idempotent-Replayed").is_some(),
                            conflicts,
                        )
                    }
                    409 => {
                        // Back off like a client honouring Retry-After (scaled down), with jitter.
                        conflicts += 1;
                        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 50;
                        tokio::time::sleep(Duration::from_millis(50 + jitter)).await;
                    }
                    other => panic!("unexpected {other}: {}", r.body),
                }
            }
            panic!("key {key} still in flight after 400 attempts");
        }));
    }
    let mut by_key: HashMap<String, HashSet<String>> = HashMap::new();
    let (mut fresh, mut replays, mut conflicts) = (0, 0, 0);
    for t in tasks {
        let (key, id, replayed, c) = t.await.unwrap();
        conflicts += c;
        if replayed {
            replays += 1;
        } else {
            fresh += 1;
        }
        by_key.entry(key).or_default().insert(id);
    }
    eprintln!("1000 requests: {fresh} created, {replays} replayed, {conflicts} 409 retries");
    assert_eq!(by_key.len(), 100);
    for (k, ids) in &by_key {
        assert_eq!(ids.len(), 1, "key {k} got several payment ids: {ids:?}");
    }
    assert_eq!(h.count_rows().await, 100);
    let distinct: i64 = h
        .sql()
        .await
        .query_one("SELECT count(DISTINCT idempotency_key) FROM payments", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(distinct, 100);
    // The ledger holds exactly the payment ids that were answered.
    let answered: HashSet<String> = by_key.values().flat_map(|s| s.iter().cloned()).collect();
    let rows = h
        .sql()
        .await
        .query("SELECT payment_id::text FROM payments", &[])
        .await
        .unwrap();
    let stored: HashSet<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    assert_eq!(answered, stored);
    for k in &keys {
        assert_eq!(h.record(k).await.unwrap().status, idempotency::COMPLETED);
    }
}

#[tokio::test]
async fn read_only_database_is_region_passive_until_promoted() {
    let h = Harness::new(|c| c.region_role = "dr".into()).await;
    // Warm the pool with a writable connection first: the check must not be cached.
    assert_eq!(h.call(request("GET", "/health")).await.status_code, 200);
    let done_key = unique("done-");
    let before = h
        .call(post(Some(&done_key), &body(55, "merchant_dr")))
        .await;
    assert_eq!(before.status_code, 201, "{}", before.body);

    let admin = services().connect("postgres").await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            h.db
        ))
        .await
        .unwrap();
    // Existing sessions keep their defaults; a real Aurora secondary is
    // read-only for every session. Terminate them to model that.
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&h.db],
        )
        .await
        .unwrap();

    // A payment completed before the region went passive is still replayed.
    let done = h
        .call(post(Some(&done_key), &body(55, "merchant_dr")))
        .await;
    assert_eq!(done.status_code, 201, "{}", done.body);
    assert_eq!(done.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(pid(&done), pid(&before));

    let key = unique("passive-");
    let r = h.call(post(Some(&key), &body(700, "merchant_dr"))).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(code(&r), "region_passive");
    assert!(
        h.record(&key).await.is_none(),
        "nothing may be written to the global table"
    );
    assert_eq!(h.count_rows().await, 1);

    // Reads and health still work in the passive region.
    let hl = h.call(request("GET", "/health")).await;
    assert_eq!(hl.status_code, 200, "{}", hl.body);
    assert_eq!(hl.json_body()["database_writable"], false);
    assert_eq!(hl.json_body()["role"], "dr");

    // Promotion: writable again, no redeploy, same state object (its pool
    // still holds the read-only session used by the health check above).
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = off",
            h.db
        ))
        .await
        .unwrap();
    let r = h.call(post(Some(&key), &body(700, "merchant_dr"))).await;
    assert_eq!(r.status_code, 201, "{}", r.body);
    assert_eq!(h.count_rows().await, 2);

    // Migrations refuse to run against a read-only database.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            h.db
        ))
        .await
        .unwrap();
    let err = h.state.migrate().await.unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
}

#[tokio::test]
async fn read_only_error_during_insert_is_region_passive_and_releases_the_key() {
    // The write itself fails with SQLSTATE 25006 (the database turned
    // read-only between the probe and the insert).
    let h = Harness::new(|_| {}).await;
    h.sql()
        .await
        .batch_execute(
            "CREATE FUNCTION ro_fault() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.merchant_id = 'fault_readonly' THEN
                 RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction'
                   USING ERRCODE = 'read_only_sql_transaction';
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER ro_fault BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION ro_fault();",
        )
        .await
        .unwrap();
    let key = unique("ro-");
    let r = h.call(post(Some(&key), &body(10, "fault_readonly"))).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(code(&r), "region_passive");
    assert!(h.record(&key).await.is_none());
    assert_eq!(h.count_rows().await, 0);
    h.sql()
        .await
        .batch_execute("DROP TRIGGER ro_fault ON payments")
        .await
        .unwrap();
    let r = h.call(post(Some(&key), &body(10, "fault_readonly"))).await;
    assert_eq!(r.status_code, 201, "{}", r.body);
}

#[tokio::test]
async fn ledger_failure_leaves_no_completed_record_and_retry_succeeds() {
    let h = Harness::new(|_| {}).await;
    // A real ledger failure, injected with a trigger on a marker merchant id.
    h.sql()
        .await
        .batch_execute(
            "CREATE FUNCTION ledger_fault() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.merchant_id = 'fault_ledger' THEN
                 RAISE EXCEPTION 'injected ledger failure';
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER ledger_fault BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION ledger_fault();",
        )
        .await
        .unwrap();
    let key = unique("fail-");
    let r = h.call(post(Some(&key), &body(4200, "fault_ledger"))).await;
    assert_eq!(r.status_code, 500, "{}", r.body);
    assert_eq!(code(&r), "ledger_write_failed");
    assert!(
        h.record(&key).await.is_none(),
        "in_flight record must be released"
    );
    assert_eq!(h.count_rows().await, 0);

    // The backend recovers; the client retries with the same key.
    h.sql()
        .await
        .batch_execute("DROP TRIGGER ledger_fault ON payments")
        .await
        .unwrap();
    let r = h.call(post(Some(&key), &body(4200, "fault_ledger"))).await;
    assert_eq!(r.status_code, 201, "{}", r.body);
    assert!(r.header("Idempotent-Replayed").is_none());
    assert_eq!(h.count_rows().await, 1);
    assert_eq!(h.record(&key).await.unwrap().status, idempotency::COMPLETED);

    // Same with the in-process hook: the transaction aborts right before COMMIT.
    let key = unique("fail-commit-");
    h.state
        .faults
        .fail_before_commit
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r = h.call(post(Some(&key), &body(1, "merchant_x"))).await;
    h.state
        .faults
        .fail_before_commit
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(r.status_code, 500, "{}", r.body);
    assert!(h.record(&key).await.is_none());
    assert_eq!(h.count_rows().await, 1);
    let r = h.call(post(Some(&key), &body(1, "merchant_x"))).await;
    assert_eq!(r.status_code, 201, "{}", r.body);
    assert_eq!(h.count_rows().await, 2);
}

#[tokio::test]
async fn crash_window_after_commit_is_recovered_without_a_second_row() {
    // Long enough that the retry below still sees the lease on a loaded host.
    let h = Harness::new(|c| c.idempotency_lease = Duration::from_secs(3)).await;
    let key = unique("crash-");

    // Ledger commit succeeds, marking the record completed fails (as if the
    // function died right after COMMIT).
    h.state
        .faults
        .fail_mark_completed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r1 = h.call(post(Some(&key), &body(321, "merchant_c"))).await;
    h.state
        .faults
        .fail_mark_completed
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(r1.status_code, 201, "{}", r1.body);
    let rec = h.record(&key).await.unwrap();
    assert_eq!(rec.status, idempotency::IN_FLIGHT);
    assert_eq!(h.count_rows().await, 1);

    // While the lease holds, a retry is told to wait.
    let r2 = h.call(post(Some(&key), &body(321, "merchant_c"))).await;
    assert_eq!(r2.status_code, 409, "{}", r2.body);
    assert_eq!(code(&r2), "idempotency_in_progress");

    // After the lease lapses the retry takes over, finds the committed ledger
    // row by idempotency key and returns it: same payment, no second row.
    wait_for_lease_to_lapse(&h, &key).await;
    let r3 = h.call(post(Some(&key), &body(321, "merchant_c"))).await;
    assert_eq!(r3.status_code, 201, "{}", r3.body);
    assert_eq!(pid(&r3), pid(&r1));
    assert_eq!(r3.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(h.count_rows().await, 1);
    assert_eq!(h.record(&key).await.unwrap().status, idempotency::COMPLETED);

    // A different body on a taken-over key is still a conflict.
    let r4 = h.call(post(Some(&key), &body(322, "merchant_c"))).await;
    assert_eq!(r4.status_code, 422);

    // Ledger failure *and* a failed release: the stale in_flight record
    // expires and the retry creates exactly one row.
    let key = unique("crash2-");
    h.state
        .faults
        .fail_before_commit
        .store(true, std::sync::atomic::Ordering::SeqCst);
    h.state
        .faults
        .fail_release
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r = h.call(post(Some(&key), &body(5, "merchant_c"))).await;
    h.state
        .faults
        .fail_before_commit
        .store(false, std::sync::atomic::Ordering::SeqCst);
    h.state
        .faults
        .fail_release
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(r.status_code, 500);
    assert_eq!(h.record(&key).await.unwrap().status, idempotency::IN_FLIGHT);
    wait_for_lease_to_lapse(&h, &key).await;
    let r = h.call(post(Some(&key), &body(5, "merchant_c"))).await;
    assert_eq!(r.status_code, 201, "{}", r.body);
    assert!(r.header("Idempotent-Replayed").is_none());
    assert_eq!(h.count_rows().await, 2);
}

/// Sleeps until the `in_flight` record of `key` has passed its lease.
async fn wait_for_lease_to_lapse(h: &Harness, key: &str) {
    let rec = h.record(key).await.unwrap();
    assert_eq!(rec.status, idempotency::IN_FLIGHT);
    let until = rec.lease_expires_ms.unwrap() + 100;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(until.saturating_sub(now))).await;
}

/// SNS topic with an SQS queue subscribed (raw delivery), to observe notifications.
async fn topic_with_queue() -> (String, String) {
    let s = services();
    let aws = s.aws();
    let sns = s.var("SNS_ENDPOINT_URL");
    let t = Duration::from_secs(10);
    let name = unique("alerts-");
    let xml = aws
        .query_call(
            "sns",
            sns,
            &[
                ("Action", "CreateTopic"),
                ("Version", "2010-03-31"),
                ("Name", &name),
            ],
            t,
        )
        .await
        .unwrap();
    let topic = xml_tag(&xml, "TopicArn").unwrap().to_owned();
    let q = aws
        .json_call(
            "sqs",
            sns,
            "AmazonSQS",
            "application/x-amz-json-1.0",
            "CreateQueue",
            &json!({ "QueueName": name }),
            t,
        )
        .await
        .unwrap();
    let queue_url = q["QueueUrl"].as_str().unwrap().to_owned();
    let attrs = aws
        .json_call(
            "sqs",
            sns,
            "AmazonSQS",
            "application/x-amz-json-1.0",
            "GetQueueAttributes",
            &json!({ "QueueUrl": queue_url, "AttributeNames": ["QueueArn"] }),
            t,
        )
        .await
        .unwrap();
    let queue_arn = attrs["Attributes"]["QueueArn"].as_str().unwrap().to_owned();
    aws.query_call(
        "sns",
        sns,
        &[
            ("Action", "Subscribe"),
            ("Version", "2010-03-31"),
            ("TopicArn", &topic),
            ("Protocol", "sqs"),
            ("Endpoint", &queue_arn),
            ("Attributes.entry.1.key", "RawMessageDelivery"),
            ("Attributes.entry.1.value", "true"),
        ],
        t,
    )
    .await
    .unwrap();
    (topic, queue_url)
}

async fn receive(queue_url: &str) -> Vec<Value> {
    let s = services();
    let out = s
        .aws()
        .json_call(
            "sqs",
            s.var("SNS_ENDPOINT_URL"),
            "AmazonSQS",
            "application/x-amz-json-1.0",
            "ReceiveMessage",
            &json!({ "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1 }),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    out["Messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| serde_json::from_str(m["Body"].as_str().unwrap()).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn database_down_gives_503_health_and_a_notification() {
    let (topic, queue) = topic_with_queue().await;
    let table = unique("sessions-");
    create_table(&table).await;
    let port = closed_port();
    let state = state_for("postgres", &table, |c| {
        c.db.port = port;
        c.topic_arn = Some(topic.clone());
    });

    let hl = call(&state, request("GET", "/health")).await;
    assert_eq!(hl.status_code, 503, "{}", hl.body);
    let hb = hl.json_body();
    assert_eq!(hb["failed"], json!(["database"]));
    assert_eq!(hb["checks"]["session_table"], "ok");

    let key = unique("down-");
    let r = call(&state, post(Some(&key), &body(10, "merchant_1"))).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(code(&r), "database_unavailable");
    assert_eq!(r.header("Retry-After"), Some("1"));
    assert!(state.store.get(CALLER_A, &key).await.unwrap().is_none());

    let msgs = receive(&queue).await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(msgs[0]["error_code"], "database_unavailable");
    assert_eq!(msgs[0]["region"], "us-east-1");

    let g = call(
        &state,
        request("GET", &format!("/payments/{}", uuid::Uuid::new_v4())),
    )
    .await;
    assert_eq!(g.status_code, 503);
}

#[tokio::test]
async fn database_stopped_mid_flight_then_health_recovers() {
    // The handler's database "stops": every backend of its database is killed
    // and new connections are refused; health must report it within budget.
    let h = Harness::new(|_| {}).await;
    assert_eq!(h.call(request("GET", "/health")).await.status_code, 200);
    let admin = services().connect("postgres").await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false",
            h.db
        ))
        .await
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&h.db],
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let hl = h.call(request("GET", "/health")).await;
    assert_eq!(hl.status_code, 503, "{}", hl.body);
    assert_eq!(hl.json_body()["failed"], json!(["database"]));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let r = h
        .call(post(Some(&unique("k-")), &body(1, "merchant_1")))
        .await;
    assert_eq!(r.status_code, 503, "{}", r.body);

    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
            h.db
        ))
        .await
        .unwrap();
    assert_eq!(h.call(request("GET", "/health")).await.status_code, 200);
}

#[tokio::test]
async fn session_table_missing_gives_503_naming_it() {
    let db = create_database().await;
    let state = state_for(&db, &unique("no-such-table-"), |_| {});
    let hl = call(&state, request("GET", "/health")).await;
    assert_eq!(hl.status_code, 503, "{}", hl.body);
    assert_eq!(hl.json_body()["failed"], json!(["session_table"]));
}

#[tokio::test]
async fn migrations_are_idempotent_under_concurrency() {
    let db = create_database().await;
    let table = unique("sessions-");
    let app = AppUser::new();
    let secret = master_secret().await;
    let a = state_with(&db, &table, &app.env(&secret), |_| {});
    let b = state_with(&db, &table, &app.env(&secret), |_| {});
    let (ra, rb) = tokio::join!(
        handle_event(&a, json!({ "action": "migrate" }), "m1"),
        handle_event(&b, json!({ "action": "migrate" }), "m2"),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let mut applied: Vec<i64> = ra["applied"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rb["applied"].as_array().unwrap())
        .map(|v| v.as_i64().unwrap())
        .collect();
    applied.sort();
    assert_eq!(applied, vec![1, 2, 3], "{ra} {rb}");
    // The role is created once; the other run finds it with its grants.
    let created = [&ra, &rb]
        .iter()
        .filter(|r| r["app_role"]["created"] == true)
        .count();
    assert_eq!(created, 1, "{ra} {rb}");
    assert!(
        ra["app_role"]["granted"].as_array().unwrap().is_empty()
            || rb["app_role"]["granted"].as_array().unwrap().is_empty(),
        "{ra} {rb}"
    );
    let again = handle_event(&a, json!({ "action": "migrate" }), "m3")
        .await
        .unwrap();
    assert_eq!(again["applied"], json!([]));
    assert_eq!(again["current_version"], 3);
    assert_eq!(again["app_role"]["created"], false);
    assert_eq!(again["app_role"]["granted"], json!([]));
    let n: i64 = services()
        .connect(&db)
        .await
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, migrate::MIGRATIONS.len() as i64);

    // Unknown actions and foreign events are errors, not silent successes.
    assert!(handle_event(&a, json!({ "action": "drop" }), "m4")
        .await
        .is_err());
    assert!(handle_event(&a, json!({ "hello": 1 }), "m5").await.is_err());
}

// ------------------------------------------------- health for failover --

/// Makes `db` read-only like an unpromoted Aurora secondary (`on`), or
/// writable again like a promotion (`off`). Existing sessions keep their
/// defaults, so `terminate` ends them to model a real secondary.
async fn set_read_only(db: &str, on: bool, terminate: bool) {
    let admin = services().connect("postgres").await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {db} SET default_transaction_read_only = {}",
            if on { "on" } else { "off" }
        ))
        .await
        .unwrap();
    if terminate {
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&db],
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn health_require_writable_follows_the_database() {
    let h = Harness::new(|c| c.region_role = "dr".into()).await;

    // Writable: 200 with and without require=writable.
    for require in [None, Some("writable")] {
        let r = h.call(health(require)).await;
        assert_eq!(r.status_code, 200, "{require:?}: {}", r.body);
        let b = r.json_body();
        assert_eq!(b["status"], "ok");
        assert_eq!(b["database_writable"], true);
        assert_eq!(b["region"], "us-east-1");
        assert_eq!(b["role"], "dr");
        assert_eq!(
            b["checks"],
            json!({ "database": "ok", "session_table": "ok" })
        );
    }

    // Any other value of require: 400 listing the allowed value.
    for bad in ["readable", "", "Writable", "writable,readable"] {
        let r = h.call(health(Some(bad))).await;
        assert_eq!(r.status_code, 400, "{bad:?}: {}", r.body);
        assert_eq!(code(&r), "invalid_query_parameter");
        assert_eq!(r.json_body()["error"]["allowed"], json!(["writable"]));
        assert!(r.body.contains("writable"));
    }

    // Read-only (passive): require=writable -> 503 region_passive, plain -> 200.
    set_read_only(&h.db, true, true).await;
    let r = h.call(health(Some("writable"))).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(code(&r), "region_passive");
    assert!(r.header("Retry-After").is_some());
    let b = r.json_body();
    assert_eq!(b["status"], "passive");
    assert_eq!(b["database_writable"], false);
    assert_eq!(b["region"], "us-east-1");
    assert_eq!(b["role"], "dr");
    assert_eq!(
        b["checks"],
        json!({ "database": "ok", "session_table": "ok" })
    );
    let r = h.call(health(None)).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    assert_eq!(r.json_body()["database_writable"], false);
    assert_eq!(r.json_body()["status"], "ok");
    // A bad value is still a 400 in the passive region.
    assert_eq!(h.call(health(Some("nope"))).await.status_code, 400);

    // Promotion without ending sessions: the pool still holds the read-only
    // session of the plain check above, yet require=writable passes at once.
    set_read_only(&h.db, false, false).await;
    let r = h.call(health(Some("writable"))).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    assert_eq!(r.json_body()["database_writable"], true);
}

#[tokio::test]
async fn health_require_writable_with_the_database_down_is_dependency_unavailable() {
    let table = unique("sessions-");
    create_table(&table).await;
    let port = closed_port();
    let state = state_for("postgres", &table, |c| c.db.port = port);
    let r = call(&state, health(Some("writable"))).await;
    assert_eq!(r.status_code, 503, "{}", r.body);
    assert_eq!(code(&r), "dependency_unavailable");
    assert_eq!(r.json_body()["failed"], json!(["database"]));
    assert!(r.json_body().get("database_writable").is_none());
}

// ------------------------------------------- bootstrapping the database --

async fn table_privilege(db: &str, role: &str, table: &str, privilege: &str) -> bool {
    services()
        .connect(db)
        .await
        .query_one(
            "SELECT has_table_privilege($1::name, $2::text, $3::text)",
            &[&role, &table, &privilege],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn migrate_creates_the_app_role_as_the_master_user() {
    let s = services();
    let db = create_database().await;
    let table = unique("sessions-");
    create_table(&table).await;
    let app = AppUser::new();
    let secret = master_secret().await;
    assert!(!role_exists(&app.name).await);
    let state = state_with(&db, &table, &app.env(&secret), |_| {});

    // Fresh cluster: DB_USER does not exist, migrate runs as the master user
    // read from Secrets Manager.
    let out = handle_event(&state, json!({ "action": "migrate" }), "m1")
        .await
        .unwrap();
    assert_eq!(out["status"], "ok", "{out}");
    assert_eq!(out["applied"], json!([1, 2, 3]), "{out}");
    assert_eq!(out["current_version"], 3);
    let role = &out["app_role"];
    assert_eq!(role["name"], app.name.as_str());
    assert_eq!(role["created"], true);
    // Plain PostgreSQL has no rds_iam role: skipped and said so.
    assert_eq!(role["rds_iam"], "not_available");
    assert_eq!(
        role["granted"],
        json!([
            format!("CONNECT ON DATABASE {db}"),
            "USAGE ON SCHEMA public",
            "SELECT ON public.payments",
            "INSERT ON public.payments",
        ]),
        "{out}"
    );

    // The role: can log in, nothing more; the schema belongs to the master.
    let admin = s.connect(&db).await;
    let r = admin
        .query_one(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = $1",
            &[&app.name],
        )
        .await
        .unwrap();
    let flags: (bool, bool, bool, bool, bool) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
    assert_eq!(flags, (true, false, false, false, false));
    let owner: String = admin
        .query_one(
            "SELECT tableowner::text FROM pg_tables WHERE schemaname = 'public' AND tablename = 'payments'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner, s.var("PGUSER"));
    for (tbl, privilege, expected) in [
        ("payments", "SELECT", true),
        ("payments", "INSERT", true),
        ("payments", "UPDATE", false),
        ("payments", "DELETE", false),
        ("payments", "TRUNCATE", false),
        ("schema_migrations", "SELECT", false),
        ("schema_migrations", "INSERT", false),
    ] {
        assert_eq!(
            table_privilege(&db, &app.name, tbl, privilege).await,
            expected,
            "{privilege} on {tbl}"
        );
    }
    let schema_create: bool = admin
        .query_one(
            "SELECT has_schema_privilege($1::name, 'public', 'CREATE')",
            &[&app.name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!schema_create);

    // A second run is a no-op.
    let again = handle_event(&state, json!({ "action": "migrate" }), "m2")
        .await
        .unwrap();
    assert_eq!(again["applied"], json!([]), "{again}");
    assert_eq!(again["current_version"], 3);
    assert_eq!(again["app_role"]["created"], false, "{again}");
    assert_eq!(again["app_role"]["granted"], json!([]), "{again}");
    assert_eq!(again["app_role"]["rds_iam"], "not_available");

    // The handler then works connecting as DB_USER (locally with a password
    // standing in for the IAM token).
    app.set_password().await;
    let key = unique("boot-");
    let r = call(&state, post(Some(&key), &body(100, "merchant_boot"))).await;
    assert_eq!(r.status_code, 201, "{}", r.body);
    let g = call(&state, request("GET", &format!("/payments/{}", pid(&r)))).await;
    assert_eq!(g.status_code, 200, "{}", g.body);
    let hl = call(&state, health(Some("writable"))).await;
    assert_eq!(hl.status_code, 200, "{}", hl.body);
    let users: Vec<String> = admin
        .query(
            "SELECT DISTINCT usename::text FROM pg_stat_activity WHERE datname = $1 AND application_name = 'payment-handler'",
            &[&db],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(users, vec![app.name.clone()]);

    // The application role cannot rewrite the ledger.
    let as_app = s.connect_as(&db, &app.name, &app.password).await.unwrap();
    for sql in [
        "UPDATE payments SET status = 'refunded'",
        "DELETE FROM payments",
        "CREATE TABLE t (x int)",
        "SELECT * FROM schema_migrations",
    ] {
        let err = as_app.batch_execute(sql).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: {err}"
        );
    }
}

#[tokio::test]
async fn migrate_master_secret_problems_are_clear_errors() {
    let s = services();
    let db = create_database().await;
    let app = AppUser::new();
    let migrate_err = |extra: Vec<(&'static str, String)>| {
        let db = db.clone();
        async move {
            let state = state_with(&db, "unused", &extra, |_| {});
            handle_event(&state, json!({ "action": "migrate" }), "m")
                .await
                .unwrap_err()
                .to_string()
        }
    };

    // DB_MASTER_SECRET unset.
    let err = migrate_err(vec![("DB_USER", app.name.clone())]).await;
    assert!(err.contains("DB_MASTER_SECRET is not set"), "{err}");

    // No such secret.
    let missing = unique("no-such-secret-");
    let err = migrate_err(app.env(&missing)).await;
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    assert!(err.contains(&missing), "{err}");

    // Not the expected JSON: the value is never echoed.
    let garbage = create_secret("hunter2-not-json").await;
    let err = migrate_err(app.env(&garbage)).await;
    assert!(err.contains("SecretString is not a JSON object"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    // Wrong master password.
    let wrong_pw = unique("wrongpw");
    let wrong =
        create_secret(&json!({ "username": s.var("PGUSER"), "password": wrong_pw }).to_string())
            .await;
    let err = migrate_err(app.env(&wrong)).await;
    assert!(err.contains("cannot connect as the master user"), "{err}");
    assert!(!err.contains(&wrong_pw), "{err}");

    // DB_USER must not be the master user.
    let good = master_secret().await;
    let mut env = app.env(&good);
    env[0].1 = s.var("PGUSER").to_owned();
    let err = migrate_err(env).await;
    assert!(err.contains("is the master user"), "{err}");

    // None of that changed anything.
    assert!(!role_exists(&app.name).await);
    let tables: i64 = s
        .connect(&db)
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

#[tokio::test]
async fn app_role_gets_the_iam_role_when_it_exists() {
    let h = Harness::new(|_| {}).await;
    let s = services();
    let master = s.var("PGUSER");
    let admin = s.connect(&h.db).await;
    // A stand-in for Aurora's rds_iam (roles are cluster-wide: a unique name
    // keeps the parallel tests, which expect "not_available", unaffected).
    let iam = unique("iam_");
    admin
        .batch_execute(&format!("CREATE ROLE {iam} NOLOGIN"))
        .await
        .unwrap();
    let spec = AppRole {
        name: &h.app.name,
        master_user: master,
        iam_role: &iam,
    };
    let r = migrate::ensure_app_role(&admin, &spec).await.unwrap();
    assert_eq!(
        (r.created, r.rds_iam.as_str(), r.granted.len()),
        (false, "granted", 0),
        "{r:?}"
    );
    let member: bool = admin
        .query_one(
            "SELECT pg_has_role($1::name, $2::name, 'MEMBER')",
            &[&h.app.name, &iam],
        )
        .await
        .unwrap()
        .get(0);
    assert!(member);
    let r = migrate::ensure_app_role(&admin, &spec).await.unwrap();
    assert_eq!(r.rds_iam, "already_member", "{r:?}");
    assert!(r.granted.is_empty(), "{r:?}");

    // An existing role without LOGIN gets it (and the grants).
    let nologin = unique("app_");
    admin
        .batch_execute(&format!("CREATE ROLE {nologin} NOLOGIN"))
        .await
        .unwrap();
    let r = migrate::ensure_app_role(
        &admin,
        &AppRole {
            name: &nologin,
            ..spec
        },
    )
    .await
    .unwrap();
    assert!(!r.created);
    assert_eq!(r.granted[0], "LOGIN", "{r:?}");
    assert_eq!(r.granted.len(), 5, "{r:?}");

    // Refused: a superuser, the master user, a malformed name.
    let su = unique("su_");
    admin
        .batch_execute(&format!("CREATE ROLE {su} SUPERUSER NOLOGIN"))
        .await
        .unwrap();
    let err = migrate::ensure_app_role(&admin, &AppRole { name: &su, ..spec })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("superuser"), "{err}");
    let err = migrate::ensure_app_role(
        &admin,
        &AppRole {
            name: master,
            ..spec
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("master user"), "{err}");
    let err = migrate::ensure_app_role(
        &admin,
        &AppRole {
            name: "x\"; DROP TABLE payments; --",
            ..spec
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("not a valid role name"), "{err}");
    assert_eq!(h.count_rows().await, 0);

    // The handler is unaffected.
    let r = h
        .call(post(Some(&unique("iam-")), &body(1, "merchant_iam")))
        .await;
    assert_eq!(r.status_code, 201, "{}", r.body);
}

// ---------------------------------------------------------- caller scope --

/// The ledger row of `payment_id`: (caller_account_id, idempotency_key).
async fn ledger_caller(h: &Harness, payment_id: &str) -> (Option<String>, String) {
    let id = uuid::Uuid::parse_str(payment_id).unwrap();
    let row = h
        .sql()
        .await
        .query_one(
            "SELECT caller_account_id, idempotency_key FROM payments WHERE payment_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn two_callers_with_the_same_key_get_two_payments() {
    let h = Harness::new(|_| {}).await;
    let key = unique("shared-");

    // Same key, same body, two accounts: two payments, neither a replay.
    let a1 = h
        .call(as_caller(
            post(Some(&key), &body(700, "merchant_1")),
            CALLER_A,
        ))
        .await;
    assert_eq!(a1.status_code, 201, "{}", a1.body);
    let b1 = h
        .call(as_caller(
            post(Some(&key), &body(700, "merchant_1")),
            CALLER_B,
        ))
        .await;
    assert_eq!(b1.status_code, 201, "{}", b1.body);
    assert!(b1.header("Idempotent-Replayed").is_none());
    let (pa, pb) = (pid(&a1), pid(&b1));
    assert_ne!(pa, pb);
    assert_eq!(h.count_rows().await, 2);

    // Each ledger row carries its caller's account, under the same key.
    assert_eq!(
        ledger_caller(&h, &pa).await,
        (Some(CALLER_A.to_owned()), key.clone())
    );
    assert_eq!(
        ledger_caller(&h, &pb).await,
        (Some(CALLER_B.to_owned()), key.clone())
    );

    // Two idempotency records, one per caller, each completed with its payment.
    let ra = h.record_of(CALLER_A, &key).await.unwrap();
    let rb = h.record_of(CALLER_B, &key).await.unwrap();
    assert_eq!(ra.status, idempotency::COMPLETED);
    assert_eq!(rb.status, idempotency::COMPLETED);
    assert_eq!(ra.payment_id.as_deref(), Some(pa.as_str()));
    assert_eq!(rb.payment_id.as_deref(), Some(pb.as_str()));

    // Replays by the same caller get that caller's payment.
    for (account, first, id) in [(CALLER_A, &a1, &pa), (CALLER_B, &b1, &pb)] {
        let again = h
            .call(as_caller(
                post(Some(&key), &body(700, "merchant_1")),
                account,
            ))
            .await;
        assert_eq!(again.status_code, 201, "{}", again.body);
        assert_eq!(again.header("Idempotent-Replayed"), Some("true"));
        assert_eq!(&pid(&again), id);
        assert_eq!(again.body, first.body);
    }
    assert_eq!(h.count_rows().await, 2);

    // A third caller may use the key with another request; a caller reusing
    // its own key with another request is still 422.
    let c = h
        .call(as_caller(
            post(Some(&key), &body(999, "merchant_9")),
            "333344445555",
        ))
        .await;
    assert_eq!(c.status_code, 201, "{}", c.body);
    let reused = h
        .call(as_caller(
            post(Some(&key), &body(999, "merchant_9")),
            CALLER_A,
        ))
        .await;
    assert_eq!(reused.status_code, 422, "{}", reused.body);
    assert_eq!(code(&reused), "idempotency_key_reused");
    assert_eq!(h.count_rows().await, 3);

    // GET /payments/{id}: only the creating account sees its payment; to
    // anyone else it does not exist (same 404 as an unknown id).
    let get =
        |id: &str, account: &str| as_caller(request("GET", &format!("/payments/{id}")), account);
    let ga = h.call(get(&pa, CALLER_A)).await;
    assert_eq!(ga.status_code, 200, "{}", ga.body);
    assert_eq!(ga.json_body()["payment_id"], pa.as_str());
    let gb = h.call(get(&pb, CALLER_B)).await;
    assert_eq!(gb.status_code, 200, "{}", gb.body);
    for (id, account) in [(&pa, CALLER_B), (&pb, CALLER_A), (&pa, "333344445555")] {
        let other = h.call(get(id, account)).await;
        assert_eq!(other.status_code, 404, "{id} as {account}: {}", other.body);
        assert_eq!(code(&other), "payment_not_found");
        assert!(!other.body.contains(id.as_str()));
    }
    // The caller account is not part of the API's answers.
    assert!(!ga.body.contains(CALLER_A) && !a1.body.contains(CALLER_A));
}

/// The ledger's UNIQUE (caller_account_id, idempotency_key) scopes keys on
/// its own: with the DynamoDB records gone (TTL, or a lost completion), the
/// same caller's retry still finds its payment and another caller's request
/// with the same key does not receive it.
#[tokio::test]
async fn ledger_scopes_keys_per_caller_without_the_dynamodb_record() {
    let h = Harness::new(|_| {}).await;
    let key = unique("ledger-");
    let a1 = h
        .call(as_caller(
            post(Some(&key), &body(321, "merchant_1")),
            CALLER_A,
        ))
        .await;
    assert_eq!(a1.status_code, 201, "{}", a1.body);
    let pa = pid(&a1);

    let s = services();
    s.aws()
        .dynamodb(
            s.var("DYNAMODB_ENDPOINT_URL"),
            "DeleteItem",
            &json!({
                "TableName": h.state.store.table(),
                "Key": { "pk": { "S": idempotency::pk(CALLER_A, &key) } },
            }),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(h.record_of(CALLER_A, &key).await.is_none());

    // Another caller, same key and body: its own new payment, not A's.
    let b1 = h
        .call(as_caller(
            post(Some(&key), &body(321, "merchant_1")),
            CALLER_B,
        ))
        .await;
    assert_eq!(b1.status_code, 201, "{}", b1.body);
    assert!(b1.header("Idempotent-Replayed").is_none());
    assert_ne!(pid(&b1), pa);

    // The same caller's retry: the ledger row is found, same payment.
    let a2 = h
        .call(as_caller(
            post(Some(&key), &body(321, "merchant_1")),
            CALLER_A,
        ))
        .await;
    assert_eq!(a2.status_code, 201, "{}", a2.body);
    assert_eq!(a2.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(pid(&a2), pa);
    assert_eq!(
        h.record_of(CALLER_A, &key).await.unwrap().status,
        idempotency::COMPLETED
    );
    assert_eq!(h.count_rows().await, 2);
}

/// Many callers racing on one key: exactly one payment per caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_on_one_key_get_one_payment_each() {
    let h = Harness::new(|c| {
        c.db.pool_size = 16;
        c.db.pool_wait = Duration::from_secs(60);
    })
    .await;
    let key = unique("race-");
    let accounts: Vec<String> = (0..6)
        .map(|i| format!("{:012}", 500_000_000_000u64 + i))
        .collect();
    let mut tasks = Vec::new();
    for account in &accounts {
        for _ in 0..8 {
            let state = h.state.clone();
            let ev = as_caller(post(Some(&key), &body(42, "merchant_1")), account);
            let account = account.clone();
            tasks.push(tokio::spawn(
                async move { (account, call(&state, ev).await) },
            ));
        }
    }
    let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
    for t in tasks {
        let (account, r) = t.await.unwrap();
        match r.status_code {
            201 => {
                ids.entry(account).or_default().insert(pid(&r));
            }
            // A concurrent attempt of the same caller still in flight.
            409 => assert_eq!(code(&r), "idempotency_in_progress"),
            other => panic!("{account}: {other} {}", r.body),
        }
    }
    assert_eq!(h.count_rows().await, accounts.len() as i64);
    let all: HashSet<&String> = ids.values().flatten().collect();
    assert_eq!(all.len(), accounts.len(), "{ids:?}");
    for account in &accounts {
        let rec = h.record_of(account, &key).await.unwrap();
        assert_eq!(rec.status, idempotency::COMPLETED, "{account}");
        let row: Option<String> = h
            .sql()
            .await
            .query_one(
                "SELECT caller_account_id FROM payments WHERE payment_id = $1",
                &[&uuid::Uuid::parse_str(rec.payment_id.as_deref().unwrap()).unwrap()],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(row.as_deref(), Some(account.as_str()));
        if let Some(seen) = ids.get(account) {
            assert_eq!(seen.len(), 1, "{account}: {seen:?}");
            assert!(seen.contains(rec.payment_id.as_deref().unwrap()));
        }
    }
}

#[tokio::test]
async fn missing_identity_is_refused_and_nothing_is_written() {
    let h = Harness::new(|_| {}).await;
    let key = unique("anon-");
    let r = h
        .call(unsigned(post(Some(&key), &body(100, "merchant_1"))))
        .await;
    assert_eq!(r.status_code, 403, "{}", r.body);
    assert_eq!(code(&r), "caller_identity_missing");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(h.count_rows().await, 0);
    assert!(h.record(&key).await.is_none());

    // requestContext.accountId (the API owner's account) is no identity.
    let mut ev = unsigned(post(Some(&key), &body(100, "merchant_1")));
    ev["requestContext"]["accountId"] = json!(CALLER_A);
    assert_eq!(h.call(ev).await.status_code, 403);
    // A malformed identity neither.
    let mut ev = post(Some(&key), &body(100, "merchant_1"));
    ev["requestContext"]["identity"]["accountId"] = json!("1111-2222-3333");
    let bad = h.call(ev).await;
    assert_eq!(bad.status_code, 403, "{}", bad.body);
    assert_eq!(code(&bad), "caller_identity_invalid");
    assert_eq!(h.count_rows().await, 0);
    assert!(h.record(&key).await.is_none());

    // An existing payment is not readable without an identity.
    let ok = h.call(post(Some(&key), &body(100, "merchant_1"))).await;
    assert_eq!(ok.status_code, 201, "{}", ok.body);
    let id = pid(&ok);
    let g = h
        .call(unsigned(request("GET", &format!("/payments/{id}"))))
        .await;
    assert_eq!(g.status_code, 403, "{}", g.body);
    assert_eq!(code(&g), "caller_identity_missing");
    assert!(!g.body.contains(&id));

    // GET /health stays open and answers the same, signed or not.
    let signed = h.call(health(Some("writable"))).await;
    let anon = h.call(unsigned(health(Some("writable")))).await;
    assert_eq!(anon.status_code, 200, "{}", anon.body);
    assert_eq!(signed.body, anon.body);
    let anon_body = anon.json_body();
    let keys: Vec<&String> = anon_body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["checks", "database_writable", "region", "role", "status"]
    );
}

/// Migration 0003 on a ledger written before callers were recorded: the old
/// rows keep a NULL caller and are readable by nobody through the API, every
/// new row must name its caller, and an old key does not block a caller.
#[tokio::test]
async fn caller_migration_on_a_populated_ledger() {
    let db = create_database().await;
    let table = unique("sessions-");
    create_table(&table).await;
    // The ledger as the previous release left it: migrations 1 and 2 applied
    // (recorded with their checksums) and one payment without a caller.
    let su = services().connect(&db).await;
    su.batch_execute(
        "CREATE TABLE schema_migrations (
             version bigint PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    for m in &migrate::MIGRATIONS[..2] {
        su.batch_execute(m.sql).await.unwrap();
        let sum = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(m.sql.as_bytes()))
        };
        su.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &sum],
        )
        .await
        .unwrap();
    }
    let legacy = uuid::Uuid::new_v4();
    let key = unique("legacy-");
    su.execute(
        "INSERT INTO payments (payment_id, idempotency_key, request_fingerprint, amount_minor, \
         currency, merchant_id, region) VALUES ($1, $2, repeat('a', 64), 5, 'USD', 'merchant_1', 'us-east-1')",
        &[&legacy, &key],
    )
    .await
    .unwrap();

    let app = AppUser::new();
    let secret = master_secret().await;
    let state = state_with(&db, &table, &app.env(&secret), |_| {});
    let out = handle_event(&state, json!({ "action": "migrate" }), "m")
        .await
        .unwrap();
    assert_eq!(out["applied"], json!([3]), "{out}");
    assert_eq!(out["current_version"], 3);
    app.set_password().await;

    let caller: Option<String> = su
        .query_one(
            "SELECT caller_account_id FROM payments WHERE payment_id = $1",
            &[&legacy],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(caller, None);
    // Nobody reads the legacy row through the API.
    let g = call(&state, request("GET", &format!("/payments/{legacy}"))).await;
    assert_eq!(g.status_code, 404, "{}", g.body);
    // The legacy key does not block a caller: a new payment of its own.
    let r = call(&state, post(Some(&key), &body(5, "merchant_1"))).await;
    assert_eq!(r.status_code, 201, "{}", r.body);
    assert_ne!(pid(&r), legacy.to_string());
    // No new row without a caller, nor with a malformed one; the old unique
    // key is gone, the per-caller one holds.
    for (caller, state) in [
        (None, "23514"),
        (Some("12345"), "23514"),
        (Some(CALLER_A), "23505"),
    ] {
        let err = su
            .execute(
                "INSERT INTO payments (payment_id, idempotency_key, request_fingerprint, amount_minor, \
                 currency, merchant_id, region, caller_account_id) \
                 VALUES ($1, $2, repeat('b', 64), 5, 'USD', 'merchant_1', 'us-east-1', $3)",
                &[&uuid::Uuid::new_v4(), &key, &caller],
            )
            .await
            .unwrap_err();
        assert_eq!(err.code().unwrap().code(), state, "{caller:?}: {err}");
    }
    su.execute(
        "INSERT INTO payments (payment_id, idempotency_key, request_fingerprint, amount_minor, \
         currency, merchant_id, region, caller_account_id) \
         VALUES ($1, $2, repeat('b', 64), 5, 'USD', 'merchant_1', 'us-east-1', $3)",
        &[&uuid::Uuid::new_v4(), &key, &CALLER_B],
    )
    .await
    .unwrap();
}
