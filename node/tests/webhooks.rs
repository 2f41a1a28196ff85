//! Webhooks and the merchant backend's view, over real libp2p swarms on loopback,
//! a real sled store and a real HTTP receiver: signed Standard Webhooks deliveries,
//! the request lifecycle, erasure confirmed by the backend before the receipt, a
//! retry after a 500, and a queue that survives a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use common::{dial_address, loopback};
use libp2p::Multiaddr;
use passport_node::{
    Home, KdfParams, Node, NodeConfig, Passport, RequestAnswer, RequestSpec, RequestStatus, Unlock,
    audit::AuditEvent, consent::Policy, webhook::WebhookSecret,
};
use passport_protocol::FieldValue;
use serde_json::Value;
use tokio::sync::mpsc;

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A backend's webhook endpoint on loopback: answers each delivery with the next
/// status of `script` (then 200 with `answer`), and hands what it got to the test.
async fn receiver(
    script: Vec<StatusCode>,
    answer: &'static str,
) -> (String, mpsc::UnboundedReceiver<Received>) {
    receiver_at("127.0.0.1:0".parse().unwrap(), script, answer).await
}

async fn receiver_at(
    addr: std::net::SocketAddr,
    script: Vec<StatusCode>,
    answer: &'static str,
) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let script = Arc::new(Mutex::new(script.into_iter()));
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let script = script.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .map(|v| v.to_str().unwrap().to_string())
                        .unwrap_or_default()
                };
                let _ = tx.send(Received {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body,
                });
                let status = script.lock().unwrap().next().unwrap_or(StatusCode::OK);
                (status, answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("no webhook within 30 s")
        .expect("the receiver stopped")
}

/// A merchant home on disk whose config.toml names the webhook and asks for the
/// backend's confirmation of erasures.
fn merchant_home(dir: &std::path::Path, url: &str, secret: &WebhookSecret) -> Home {
    let home = Home::new(dir);
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    std::fs::write(
        home.config_path(),
        format!(
            "[merchant]\nname = \"Brand X\"\nconfirm_erasure = true\n\n[[webhook]]\nurl = \"{url}\"\nsecret = \"{}\"\n",
            secret.to_text()
        ),
    )
    .unwrap();
    home
}

/// A person who grants `name.given` to anyone by standing policy.
async fn person(bootstrap: Multiaddr) -> Passport {
    let node = Node::in_memory(NodeConfig::default()).unwrap();
    let (ada, _) = Passport::with_node(node)
        .network(loopback(vec![bootstrap]))
        .spawn()
        .await
        .unwrap();
    ada.set_field(
        "name.given".parse().unwrap(),
        FieldValue::Text("Ada".into()),
    )
    .await
    .unwrap();
    ada.add_policy(Policy::allow_normal_fields(None))
        .await
        .unwrap();
    ada
}

/// Waits until `merchant` finds `person`'s record in the DHT.
/// A bootstrap node, a shop started from `home`, and Ada, whose record the shop has
/// found. Keep `boot` alive as long as the others.
struct Network {
    boot: Passport,
    boot_addr: Multiaddr,
    shop: Passport,
    ada: Passport,
}

async fn shop_and_ada(home: Home) -> Network {
    let (boot, _) = Passport::with_node(Node::in_memory(NodeConfig::default()).unwrap())
        .network(loopback(vec![]))
        .spawn()
        .await
        .unwrap();
    let boot_addr = dial_address(&boot).await;
    let (shop, _) = Passport::builder(home)
        .network(loopback(vec![boot_addr.clone()]))
        .spawn()
        .await
        .unwrap();
    let ada = person(boot_addr.clone()).await;
    until_found(&shop, &ada).await;
    Network {
        boot,
        boot_addr,
        shop,
        ada,
    }
}

async fn until_found(merchant: &Passport, person: &Passport) {
    let client = merchant.client().unwrap();
    wait_for("the person's record in the DHT", async || {
        client.lookup(person.id()).await.is_ok()
    })
    .await;
}

fn spec() -> RequestSpec {
    RequestSpec::new("", ["name.given".parse().unwrap()], "delivery", 3_600)
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} did not happen within 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_and_its_revocation_reach_the_backend_signed_and_the_receipt_waits_for_its_confirmation()
 {
    let secret = WebhookSecret::generate();
    let (url, mut hooks) = receiver(vec![], "").await;
    let dir = tempfile::tempdir().unwrap();
    let Network {
        boot: _boot,
        shop,
        ada,
        ..
    } = shop_and_ada(merchant_home(dir.path(), &url, &secret)).await;

    let webhooks = shop.webhooks().await.unwrap();
    assert_eq!(webhooks.len(), 1);
    assert!(webhooks[0].from_config);

    let outcome = shop
        .request(ada.id(), spec(), Duration::from_secs(5))
        .await
        .unwrap();
    let RequestAnswer::Decided(RequestStatus::Granted { grant }) = outcome.answer else {
        panic!("expected a grant, got {:?}", outcome.answer)
    };

    // grant.received, signed the Standard Webhooks way.
    let hook = next(&mut hooks).await;
    assert!(hook.id.starts_with("evt_"), "{}", hook.id);
    let timestamp: u64 = hook.timestamp.parse().unwrap();
    assert_eq!(
        hook.signature,
        secret.sign(&hook.id, timestamp, &hook.body),
        "signature over id.timestamp.body"
    );
    let body = hook.json();
    assert_eq!(body["type"], "grant.received");
    assert_eq!(body["data"]["grant_id"], grant.to_string());
    assert_eq!(body["data"]["request_id"], outcome.request_id.to_string());
    assert_eq!(body["data"]["person"], ada.id().to_string());
    assert_eq!(body["data"]["fields"][0], "name.given");
    assert!(
        !String::from_utf8_lossy(&hook.body).contains("Ada"),
        "a webhook carries no values"
    );

    // The lifecycle says granted, under the request's id.
    let sent = shop.request_state(outcome.request_id).await.unwrap();
    assert_eq!(sent.status, RequestStatus::Granted { grant });
    let granted = shop.requests(Some("granted".into()), 10).await.unwrap();
    assert_eq!(granted.len(), 1);

    // The proof of consent: the person's signed decision, verifiable offline.
    let proof = shop.grant_proof(grant).await.unwrap();
    let verified = passport_protocol::verify_offline(&proof).unwrap();
    assert_eq!(verified.claims.issuer, ada.id());
    assert_eq!(verified.claims.audience, shop.id());

    // Ada revokes: the shop's node erases, tells the backend, and holds the receipt.
    ada.revoke(grant).await.unwrap().delivered().await.unwrap();
    let hook = next(&mut hooks).await;
    let body = hook.json();
    assert_eq!(body["type"], "grant.revoked");
    assert_eq!(body["data"]["grant_ids"][0], grant.to_string());
    assert_eq!(body["data"]["confirm_erasure"], true);
    let awaiting = shop.unconfirmed_erasures().await.unwrap();
    assert_eq!(awaiting.len(), 1);
    assert_eq!(awaiting[0].grant_id, grant);
    assert!(
        !ada.audit()
            .await
            .unwrap()
            .iter()
            .any(|e| matches!(e.event, AuditEvent::ReceiptReceived { .. })),
        "no receipt before the backend confirmed"
    );
    // The data is gone from the node, the proof stays and opens for no one.
    assert!(shop.open_grant(grant).await.is_err());
    let kept = shop.grant_proof(grant).await.unwrap();
    assert_eq!(kept, proof);

    // The backend confirms: the receipt goes out and says so.
    shop.confirm_erasure(grant)
        .await
        .unwrap()
        .delivered()
        .await
        .unwrap();
    assert!(shop.unconfirmed_erasures().await.unwrap().is_empty());
    wait_for("the confirmed receipt at the person's node", async || {
        ada.audit().await.unwrap().iter().any(|e| {
            matches!(
                e.event,
                AuditEvent::ReceiptReceived {
                    backend_confirmed: true,
                    ..
                }
            )
        })
    })
    .await;
    // A second confirmation, or one for a grant the node never held, is refused.
    let again = shop.confirm_erasure(grant).await.unwrap_err();
    assert!(again.to_string().contains("no erasure waiting"), "{again}");
    let unknown = shop
        .confirm_erasure(passport_protocol::GrantId::from_bytes([9; 16]))
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("no grant"), "{unknown}");

    let log = shop.webhook_log(10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|a| a.outcome == "delivered"));
    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_fails_is_retried_in_order_and_one_that_answers_erased_confirms() {
    // The first delivery fails with a 500; the grant.revoked behind it must wait.
    let (url, mut hooks) = receiver(
        vec![StatusCode::INTERNAL_SERVER_ERROR],
        r#"{"erased": true}"#,
    )
    .await;
    let secret = WebhookSecret::generate();
    let dir = tempfile::tempdir().unwrap();
    let Network {
        boot: _boot,
        shop,
        ada,
        ..
    } = shop_and_ada(merchant_home(dir.path(), &url, &secret)).await;
    let outcome = shop
        .request(ada.id(), spec(), Duration::from_secs(5))
        .await
        .unwrap();
    let RequestAnswer::Decided(RequestStatus::Granted { grant }) = outcome.answer else {
        panic!("expected a grant")
    };
    let first = next(&mut hooks).await;
    assert_eq!(first.json()["type"], "grant.received");
    ada.revoke(grant).await.unwrap().delivered().await.unwrap();

    // The retry (after the first backoff step, 5 s) keeps its webhook-id, and the
    // revocation comes only after it.
    let retry = next(&mut hooks).await;
    assert_eq!(retry.json()["type"], "grant.received");
    assert_eq!(retry.id, first.id, "the same event keeps its webhook-id");
    let revoked = next(&mut hooks).await;
    assert_eq!(revoked.json()["type"], "grant.revoked");

    // `{"erased": true}` in answer confirmed the erasure: the receipt went.
    wait_for("the receipt released by the webhook's answer", async || {
        shop.unconfirmed_erasures().await.unwrap().is_empty()
    })
    .await;
    let log = shop.webhook_log(10).await.unwrap();
    let outcomes: Vec<&str> = log.iter().rev().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retrying", "delivered", "delivered"]);
    assert_eq!(log.last().unwrap().status, Some(500));
    let metrics = shop.metrics().unwrap();
    assert_eq!(metrics.webhook_attempts("retrying"), 1);
    assert_eq!(metrics.webhook_attempts("delivered"), 2);
    shop.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_queued_while_the_backend_is_down_survive_a_restart() {
    // Nothing listens at this address yet: every attempt fails to connect.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let secret = WebhookSecret::generate();
    let dir = tempfile::tempdir().unwrap();
    let home = merchant_home(dir.path(), &format!("http://{addr}/hook"), &secret);
    let Network {
        boot: _boot,
        boot_addr,
        shop,
        ada,
    } = shop_and_ada(home.clone()).await;
    let outcome = shop
        .request(ada.id(), spec(), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(
        outcome.answer,
        RequestAnswer::Decided(RequestStatus::Granted { .. })
    ));
    wait_for("a failed attempt", async || {
        shop.webhook_log(5).await.unwrap().iter().any(|a| {
            a.outcome == "retrying" && a.error.as_deref().is_some_and(|e| e.contains("connect"))
        })
    })
    .await;
    let failed = shop.webhook_log(1).await.unwrap().remove(0);
    shop.shutdown().await;
    drop(shop);

    // The backend comes up; the node restarts and delivers what waited, with the
    // same webhook-id.
    let (_, mut hooks) = receiver_at(addr, vec![], "").await;
    let (shop, _) = Passport::builder(home)
        .network(loopback(vec![boot_addr]))
        .spawn()
        .await
        .unwrap();
    let hook = next(&mut hooks).await;
    assert_eq!(hook.json()["type"], "grant.received");
    assert_eq!(hook.id, failed.webhook_id);
    shop.shutdown().await;
}
