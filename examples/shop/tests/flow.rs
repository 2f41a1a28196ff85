//! The shop against a stand-in merchant node (a small axum server on loopback that
//! answers the API the way docs/API.md says and records what the shop asked), with
//! webhooks signed as the node signs them. The end-to-end test against real
//! `passport node` processes is cli/tests/shop.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    extract::{Path as UrlPath, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use passport_example_shop::{Config, Shop, Token, webhook::WebhookSecret};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::Notify};

const SECRET: &str = "whsec_c2hvcC1mbG93LXRlc3Qtc2VjcmV0LWtleQ==";
const TOKEN: &str = "merchant-token";
const ADA: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
const ADDRESS: &str = "12 Rue des Lilas, Lyon";

/// What the stand-in node saw, and how it answers.
#[derive(Default)]
struct Seen {
    requests: Vec<Value>,
    erased: Vec<String>,
    /// While set, `POST /v1/requests` waits for `release` before answering.
    hold: bool,
}

#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Seen>>,
    release: Arc<Notify>,
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

async fn fake_request(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "missing or wrong bearer token"})),
        );
    }
    let (n, hold) = {
        let mut seen = fake.seen.lock().unwrap();
        seen.requests.push(body);
        (seen.requests.len(), seen.hold)
    };
    if hold {
        fake.release.notified().await;
    }
    (
        StatusCode::OK,
        Json(json!({"request_id": format!("req{n}"), "result": {"status": "pending"}})),
    )
}

async fn fake_values(
    headers: HeaderMap,
    UrlPath(grant): UrlPath<String>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) || !grant.starts_with('g') {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such grant"})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({
            "name.given": {"text": "Ada"},
            "name.family": {"text": "Lovelace"},
            "address.home": {"text": ADDRESS},
            "phone.mobile": {"text": "+33 6 12 34 56 78"},
        })),
    )
}

async fn fake_erased(
    State(fake): State<Fake>,
    headers: HeaderMap,
    UrlPath(grant): UrlPath<String>,
) -> (StatusCode, Json<Value>) {
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "missing or wrong bearer token"})),
        );
    }
    fake.seen.lock().unwrap().erased.push(grant.clone());
    if grant == "g-other" {
        // The node's answer when no erasure waits for a confirmation.
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "no erasure waiting"})),
        );
    }
    (
        StatusCode::OK,
        Json(json!({"grant_id": grant, "confirmed": true})),
    )
}

async fn fake_node() -> (SocketAddr, Fake) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/v1/requests", post(fake_request))
        .route("/v1/received/{id}/values", get(fake_values))
        .route("/v1/grants/{id}/erased", post(fake_erased))
        .with_state(fake.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, fake)
}

async fn start_shop(node: SocketAddr, data: &Path) -> Shop {
    let mut config = Config::new(
        format!("http://{node}"),
        Token::new(TOKEN).unwrap(),
        WebhookSecret::parse(SECRET).unwrap(),
        data,
    );
    config.reconcile = None;
    Shop::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), config)
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Places an order for `passport_id`; returns its page's path.
async fn checkout(shop: &Shop, passport_id: &str) -> String {
    let response = client()
        .post(format!("http://{}/orders", shop.addr()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("passport_id={}", passport_id.replace(':', "%3A")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The order's page as the customer's browser gets it.
async fn order_page(shop: &Shop, order: &str) -> String {
    client()
        .get(format!("http://{}{order}", shop.addr()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn status(shop: &Shop, order: &str) -> Value {
    client()
        .get(format!("http://{}{order}/status", shop.addr()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn eventually_state(shop: &Shop, order: &str, what: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = status(shop, order).await;
        if what(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out; the order is {s:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `body` as webhook `id` at `timestamp`, signed with `secret`; returns the status.
async fn deliver(shop: &Shop, id: &str, timestamp: i64, body: &Value, secret: &str) -> StatusCode {
    let body = body.to_string();
    let signature = WebhookSecret::parse(secret)
        .unwrap()
        .sign(id, timestamp, body.as_bytes());
    client()
        .post(format!("http://{}/webhooks/passport", shop.addr()))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

fn event(kind: &str, data: Value) -> Value {
    json!({"type": kind, "timestamp": "2026-01-01T00:00:00Z", "data": data})
}

fn granted(request: &str, grant: &str) -> Value {
    event(
        "grant.received",
        json!({
            "request_id": request, "grant_id": grant, "person": ADA,
            "fields": ["name.given", "name.family", "address.home"],
            "expires_at": "2999-01-01T00:00:00Z",
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_filled_by_a_grant_and_emptied_by_its_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (node, fake) = fake_node().await;
    let shop = start_shop(node, &data).await;

    // The checkout page, and a mistyped id refused before anything is sent.
    let page = client()
        .get(format!("http://{}/", shop.addr()))
        .send()
        .await
        .unwrap();
    assert!(page.text().await.unwrap().contains("Fill from Passport"));
    let refused = client()
        .post(format!("http://{}/orders", shop.addr()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("passport_id=ada%40example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("not a passport id"));
    assert!(fake.seen.lock().unwrap().requests.is_empty());

    // The id as pasted from a QR scan, with a line break.
    let order = checkout(&shop, &format!("{ADA}\n")).await;
    let s = status(&shop, &order).await;
    assert_eq!(s["state"], "waiting", "{s:#}");
    assert_eq!(s["request_id"], "req1");
    assert_eq!(s["person"], ADA);
    let asked = fake.seen.lock().unwrap().requests[0].clone();
    assert_eq!(asked["to"], ADA);
    assert_eq!(asked["purpose"], "delivery of order 1");
    assert_eq!(asked["duration_secs"], 30 * 86_400);
    let names: Vec<&str> = asked["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["name.given", "name.family", "address.home"]);
    let html = order_page(&shop, &order).await;
    assert!(
        html.contains("Waiting for you to approve on your node"),
        "{html}"
    );
    assert!(html.contains(r#"http-equiv="refresh""#));

    // The grant arrives: the shop reads the values and fills the order.
    let grant = granted("req1", "g1");
    let granted_at = now();
    assert_eq!(
        deliver(&shop, "evt_1", granted_at, &grant, SECRET).await,
        StatusCode::NO_CONTENT
    );
    let s = eventually_state(&shop, &order, |s| s["state"] == "filled").await;
    assert_eq!(s["delivery"]["name.given"], "Ada");
    assert_eq!(s["delivery"]["address.home"], ADDRESS);
    assert!(
        s["delivery"].get("phone.mobile").is_none(),
        "only what was asked is kept"
    );
    assert_eq!(s["grant"]["grant_id"], "g1");
    let html = order_page(&shop, &order).await;
    assert!(html.contains(ADDRESS));

    // Forged webhooks change nothing: a wrong secret, an old timestamp, a replay.
    // The replay carries the first delivery's timestamp, as a captured copy must
    // (a later one is the node's own retry, answered 200 and ignored).
    let revoke = event(
        "grant.revoked",
        json!({"grant_ids": ["g1"], "person": ADA, "confirm_erasure": true}),
    );
    let other = "whsec_c29tZW9uZS1lbHNlcy1zZWNyZXQta2V5";
    assert_eq!(
        deliver(&shop, "evt_2", now(), &revoke, other).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        deliver(&shop, "evt_2", now() - 600, &revoke, SECRET).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        deliver(&shop, "evt_1", granted_at, &revoke, SECRET).await,
        StatusCode::BAD_REQUEST
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(status(&shop, &order).await["state"], "filled");
    assert!(fake.seen.lock().unwrap().erased.is_empty());

    // The order survives a restart.
    shop.stop().await.unwrap();
    let shop = start_shop(node, &data).await;
    assert_eq!(
        status(&shop, &order).await["delivery"]["name.family"],
        "Lovelace"
    );

    // Revoked: the personal data goes, then the node is told.
    assert_eq!(
        deliver(&shop, "evt_2", now(), &revoke, SECRET).await,
        StatusCode::NO_CONTENT
    );
    let s = eventually_state(&shop, &order, |s| {
        s["erasure"]["confirmation"] == "confirmed"
    })
    .await;
    assert_eq!(s["state"], "erased");
    assert!(s["delivery"].is_null() && s["person"].is_null(), "{s:#}");
    assert_eq!(fake.seen.lock().unwrap().erased, ["g1"]);
    let file = std::fs::read_to_string(data.join("orders.json")).unwrap();
    assert!(!file.contains("Lilas") && !file.contains(ADA), "{file}");
    let html = order_page(&shop, &order).await;
    assert!(
        html.contains("Your personal data for this order was deleted"),
        "{html}"
    );

    // A refusal shows on its order, which forgets the person.
    let second = checkout(&shop, ADA).await;
    let refusal = event(
        "request.refused",
        json!({"request_id": "req2", "person": ADA, "reason": "not today"}),
    );
    assert_eq!(
        deliver(&shop, "evt_3", now(), &refusal, SECRET).await,
        StatusCode::NO_CONTENT
    );
    let s = status(&shop, &second).await;
    assert_eq!(
        (s["state"].as_str(), s["reason"].as_str()),
        (Some("refused"), Some("not today"))
    );
    assert!(s["person"].is_null());

    // An erasure the node asks about for a grant no order holds is confirmed too
    // (here the node answers that it waits for nothing).
    let expired = event(
        "grant.expired",
        json!({"grant_ids": ["g-other"], "person": ADA, "confirm_erasure": true}),
    );
    assert_eq!(
        deliver(&shop, "evt_4", now(), &expired, SECRET).await,
        StatusCode::NO_CONTENT
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.seen.lock().unwrap().erased.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the unheld grant was not confirmed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.seen.lock().unwrap().erased[1], "g-other");
    // The node's 409 (nothing waiting) is an answer: no retry follows.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.seen.lock().unwrap().erased.len(), 2);
    shop.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_racing_the_request_answer_is_retried_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (node, fake) = fake_node().await;
    let shop = Arc::new(start_shop(node, dir.path()).await);
    fake.seen.lock().unwrap().hold = true;
    let placing = tokio::spawn({
        let shop = shop.clone();
        async move { checkout(&shop, ADA).await }
    });
    while fake.seen.lock().unwrap().requests.is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The node sends the webhook before the shop has the request's id: 503, retried.
    let grant = granted("req1", "g1");
    let granted_at = now();
    assert_eq!(
        deliver(&shop, "evt_1", granted_at, &grant, SECRET).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    fake.release.notify_one();
    let order = placing.await.unwrap();
    assert_eq!(
        deliver(&shop, "evt_1", now(), &grant, SECRET).await,
        StatusCode::NO_CONTENT
    );
    let s = eventually_state(&shop, &order, |s| s["state"] == "filled").await;
    assert_eq!(s["delivery"]["name.given"], "Ada");
}
