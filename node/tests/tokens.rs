//! Scoped API tokens over real HTTP on a real sled store: the full token makes,
//! lists and revokes them; a merchant token reaches the merchant's routes only, a
//! read token only reads without personal values; a revoked or unknown token gets
//! 401, a token of the wrong scope 403 naming both scopes; the store never holds a
//! token in clear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use passport_node::{
    Home, KdfParams, Passport, Unlock,
    http::{self, ApiState},
    protocol::FieldValue,
};
use reqwest::Method;
use serde_json::{Value, json};

const FULL: &str = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0";

struct Api {
    base: String,
    http: reqwest::Client,
    passport: Passport,
    home: Home,
    _dir: tempfile::TempDir,
}

async fn start() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("ada"));
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    let (passport, _events) = Passport::builder(home.clone()).spawn().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ApiState::new(passport.clone(), FULL.into(), addr);
    tokio::spawn(http::serve(listener, state, std::future::pending()));
    Api {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        passport,
        home,
        _dir: dir,
    }
}

impl Api {
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Makes a token with the full token; returns its id and the token.
    async fn make(&self, scope: &str, name: &str) -> (String, String) {
        let (code, made) = self
            .call(
                FULL,
                Method::POST,
                "/v1/tokens",
                Some(json!({"scope": scope, "name": name})),
            )
            .await;
        assert_eq!(code, 200, "{made}");
        assert_eq!(made["scope"], scope);
        assert_eq!(made["name"], name);
        (
            made["id"].as_str().unwrap().to_owned(),
            made["token"].as_str().unwrap().to_owned(),
        )
    }

    /// The status of `method path` with `token`, and, for a 403, its message.
    async fn status(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let (code, answer) = self.call(token, method, path, body).await;
        (
            code,
            answer["error"].as_str().unwrap_or_default().to_owned(),
        )
    }
}

fn request_body() -> Value {
    json!({
        "to": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "fields": [{"name": "email", "reason": "receipts"}],
        "purpose": "receipts",
        "duration_secs": 86400,
    })
}

#[tokio::test]
async fn a_merchant_token_reaches_the_merchant_routes_only() {
    let api = start().await;
    api.passport
        .set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text("Ada".into()),
        )
        .await
        .unwrap();
    let (_, merchant) = api.make("merchant", "shop").await;
    let id = "00".repeat(16);

    // Its routes: past the guard (this node runs no network, so a request or a
    // fetch reaches the handler and answers 503).
    let (code, _) = api
        .status(&merchant, Method::GET, "/v1/received", None)
        .await;
    assert_eq!(code, 200);
    let (code, _) = api.status(&merchant, Method::GET, "/v1/audit", None).await;
    assert_eq!(code, 200);
    let (code, why) = api
        .status(
            &merchant,
            Method::POST,
            "/v1/requests",
            Some(request_body()),
        )
        .await;
    assert_eq!(code, 503, "{why}");
    assert!(why.contains("needs the network"), "{why}");

    // The person's: refused, naming the scope needed and the token's.
    let (code, why) = api
        .status(
            &merchant,
            Method::POST,
            &format!("/v1/inbox/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(code, 403);
    assert_eq!(
        why,
        "forbidden: POST /v1/inbox/{id}/approve needs a token of scope person or the full token (<home>/api.token); this token's scope is merchant"
    );
    for (method, path) in [
        (Method::POST, format!("/v1/grants/{id}/revoke")),
        (Method::GET, "/v1/fields/name.given".to_string()),
        (Method::GET, "/v1/fields".to_string()),
        (Method::PUT, "/v1/fields/name.given".to_string()),
        (Method::GET, "/v1/tokens".to_string()),
        (Method::POST, "/v1/tokens".to_string()),
    ] {
        let (code, why) = api.status(&merchant, method.clone(), &path, None).await;
        assert_eq!(code, 403, "{method} {path}: {why}");
        assert!(why.ends_with("this token's scope is merchant"), "{why}");
    }
    // Nothing changed behind the refusal.
    assert!(
        api.passport
            .field("name.given".parse().unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_read_token_reads_without_values_and_a_person_token_cannot_manage_tokens() {
    let api = start().await;
    let (_, read) = api.make("read", "dashboard").await;
    let (_, person) = api.make("person", "phone").await;
    let id = "00".repeat(16);

    for path in [
        "/v1/grants",
        "/v1/inbox",
        "/v1/policies",
        "/v1/audit/verify",
    ] {
        let (code, why) = api.status(&read, Method::GET, path, None).await;
        assert_eq!(code, 200, "{path}: {why}");
    }
    for (method, path, body) in [
        (
            Method::PUT,
            "/v1/fields/email".to_string(),
            Some(json!({"value": {"text": "a@b.c"}})),
        ),
        (Method::GET, "/v1/fields".to_string(), None),
        (Method::GET, "/v1/fields/email".to_string(), None),
        (Method::GET, format!("/v1/received/{id}/values"), None),
        (
            Method::POST,
            "/v1/requests".to_string(),
            Some(request_body()),
        ),
    ] {
        let (code, why) = api.status(&read, method.clone(), &path, body).await;
        assert_eq!(code, 403, "{method} {path}: {why}");
        assert!(why.ends_with("this token's scope is read"), "{why}");
    }

    // A person token does the person's work, but not a merchant's nor the tokens.
    let (code, _) = api
        .status(
            &person,
            Method::PUT,
            "/v1/fields/email",
            Some(json!({"value": {"text": "a@b.c"}})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = api
        .status(&person, Method::GET, "/v1/fields/email", None)
        .await;
    assert_eq!(code, 200);
    let (code, why) = api
        .status(&person, Method::POST, "/v1/requests", Some(request_body()))
        .await;
    assert_eq!(code, 403, "{why}");
    let (code, why) = api
        .status(
            &person,
            Method::POST,
            "/v1/tokens",
            Some(json!({"scope": "person"})),
        )
        .await;
    assert_eq!(code, 403);
    assert!(why.contains("needs the full token"), "{why}");
}

#[tokio::test]
async fn tokens_are_listed_without_the_secret_and_a_revoked_one_is_refused_at_once() {
    let api = start().await;
    let (merchant_id, merchant) = api.make("merchant", "shop").await;
    let (_, read) = api.make("read", "").await;

    let (code, listed) = api.call(FULL, Method::GET, "/v1/tokens", None).await;
    assert_eq!(code, 200);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let mut keys: Vec<&str> = listed[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["created_at", "id", "name", "scope"]);
    assert!(
        !Value::from(listed.clone())
            .to_string()
            .contains(&merchant[13..])
    );

    let (code, answer) = api
        .call(
            FULL,
            Method::DELETE,
            &format!("/v1/tokens/{merchant_id}"),
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(answer, json!({"revoked": merchant_id}));
    let (code, why) = api
        .status(&merchant, Method::GET, "/v1/received", None)
        .await;
    assert_eq!(code, 401, "{why}");
    assert!(why.contains("revoked"), "{why}");
    let (code, _) = api.status(&read, Method::GET, "/v1/grants", None).await;
    assert_eq!(code, 200);
    let (code, why) = api
        .status(
            FULL,
            Method::DELETE,
            &format!("/v1/tokens/{merchant_id}"),
            None,
        )
        .await;
    assert_eq!(code, 404);
    assert!(why.contains("passport token list"), "{why}");

    // Unknown tokens, of the right shape or not, are 401 too; bad requests say why.
    let forged = format!("ppt_{merchant_id}_{}", "0".repeat(64));
    for token in [forged.as_str(), "ppt_", "nonsense", ""] {
        let (code, _) = api.status(token, Method::GET, "/v1/status", None).await;
        assert_eq!(code, 401, "{token}");
    }
    for (body, says) in [
        (json!({"scope": "admin"}), "scope: \"admin\" is not a scope"),
        (json!({"scope": "full"}), "api.token"),
        (
            json!({"scope": "read", "name": "x".repeat(65)}),
            "at most 64",
        ),
    ] {
        let (code, why) = api
            .status(FULL, Method::POST, "/v1/tokens", Some(body))
            .await;
        assert_eq!(code, 400, "{why}");
        assert!(why.contains(says), "{why}");
    }

    // The audit log names the tokens by id, never by the token.
    let (_, audit) = api.call(FULL, Method::GET, "/v1/audit", None).await;
    let events: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["token_created", "token_created", "token_revoked"]);
    assert!(!audit.to_string().contains(&merchant[13..]));
}

#[tokio::test]
async fn the_store_holds_neither_a_token_nor_its_digest_in_clear() {
    let api = start().await;
    let (id, token) = api.make("merchant", "shop").await;
    api.passport.shutdown().await;
    let digest = passport_node::tokens::token_digest(&token);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let mut files = vec![api.home.db_path()];
    let mut bytes = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // The id is the record's key: it is there, so the search is looking.
    assert!(holds(format!("t/{id}").as_bytes()));
    assert!(!holds(token.as_bytes()));
    assert!(!holds(&token.as_bytes()[13..]));
    assert!(!holds(&digest));
    assert!(!holds(hex.as_bytes()));
}

#[tokio::test]
async fn hello_proves_the_node_knows_a_scoped_token_without_seeing_it() {
    let api = start().await;
    let (id, token) = api.make("merchant", "shop").await;
    let nonce = "n".repeat(32);
    let proof: Value = api
        .http
        .get(format!("{}/v1/hello?nonce={nonce}&token_id={id}", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(proof["proof"], http::scoped_token_proof(&token, &nonce));
    assert_ne!(proof["proof"], http::token_proof(&token, &nonce));
    let unknown = api
        .http
        .get(format!(
            "{}/v1/hello?nonce={nonce}&token_id=00000000",
            api.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}
