//! Notifications to a local receiver: a request left for the person is told
//! ("Shop asks for 2 fields"), as text with a title or as JSON, with the token;
//! one a standing policy decides is not; no value ever leaves in one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::State, http::HeaderMap, routing::post};
use common::{dial_address, loopback};
use libp2p::Multiaddr;
use passport_node::{
    Node, NodeConfig, Passport, RequestAnswer, RequestSpec,
    consent::Policy,
    node::system_now as now,
    notify::{NotifyFormat, NotifySettings},
};
use passport_protocol::{FieldValue, PassportId};

const VALUE: &str = "Lovelace-7c1e";

/// What the receiver got: headers and body of each POST.
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

async fn receiver() -> (SocketAddr, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/{topic}",
            post(
                |State(seen): State<Received>, headers: HeaderMap, body: String| async move {
                    seen.lock().unwrap().push((headers, body));
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, received)
}

fn person(shop_trusted: Option<PassportId>) -> Node {
    let node = Node::in_memory(NodeConfig::default()).unwrap();
    for (name, value) in [
        ("name.given", "Ada"),
        ("name.family", VALUE),
        ("payment.card", "4111 1111"),
    ] {
        node.set_field(name.parse().unwrap(), FieldValue::Text(value.into()), now())
            .unwrap();
    }
    if let Some(shop) = shop_trusted {
        node.add_policy(Policy::allow_normal_fields(Some(shop)), now())
            .unwrap();
    }
    node
}

async fn start(node: Node, bootstrap: Vec<Multiaddr>, notify: NotifySettings) -> Passport {
    Passport::with_node(node)
        .network(loopback(bootstrap))
        .notify(notify)
        .spawn()
        .await
        .unwrap()
        .0
}

async fn request(shop: &Passport, to: PassportId) -> RequestAnswer {
    let spec = RequestSpec::new(
        "Shop",
        [
            "name.given".parse().unwrap(),
            "name.family".parse().unwrap(),
        ],
        "delivery",
        3_600,
    );
    for _ in 0..50 {
        if shop.client().unwrap().lookup(to).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shop.request(to, spec, Duration::ZERO).await.unwrap().answer
}

async fn until_received(received: &Received, count: usize) {
    for _ in 0..100 {
        if received.lock().unwrap().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {count} notifications");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_left_for_the_person_is_told_without_any_value() {
    let (addr, received) = receiver().await;
    let boot = start(
        Node::in_memory(NodeConfig::default()).unwrap(),
        vec![],
        NotifySettings::default(),
    )
    .await;
    let boot_addr = dial_address(&boot).await;
    let shop = start(
        Node::in_memory(NodeConfig::default()).unwrap(),
        vec![boot_addr.clone()],
        NotifySettings::default(),
    )
    .await;
    let ada = start(
        person(None),
        vec![boot_addr.clone()],
        NotifySettings {
            url: Some(format!("http://{addr}/ada-topic")),
            format: NotifyFormat::Text,
            token: Some("tk_ada".into()),
        },
    )
    .await;
    let bob = start(
        person(Some(shop.id())),
        vec![boot_addr],
        NotifySettings {
            url: Some(format!("http://{addr}/bob-topic")),
            format: NotifyFormat::Json,
            token: None,
        },
    )
    .await;

    // Ada must decide: her device is told, in one line with a title.
    assert_eq!(request(&shop, ada.id()).await, RequestAnswer::Pending);
    until_received(&received, 1).await;
    {
        let seen = received.lock().unwrap();
        let (headers, body) = &seen[0];
        assert_eq!(body, "Shop asks for 2 fields");
        assert_eq!(headers["title"], "Passport");
        assert_eq!(headers["authorization"], "Bearer tk_ada");
    }
    // Counted once the receiver's answer is back, a moment after it took the body.
    let mut sent = 0;
    for _ in 0..50 {
        sent = ada.metrics().unwrap().notifications("sent");
        if sent > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent, 1);

    // Bob's standing policy decides: nothing needs him, nothing is sent.
    let answer = request(&shop, bob.id()).await;
    assert!(matches!(answer, RequestAnswer::Decided(_)), "{answer:?}");
    // His policy does not cover a sensitive field: that one asks, told as JSON.
    let spec = RequestSpec::new(
        "Shop",
        [
            "name.given".parse().unwrap(),
            "payment.card".parse().unwrap(),
        ],
        "payment",
        3_600,
    );
    let asked = shop.request(bob.id(), spec, Duration::ZERO).await.unwrap();
    assert_eq!(asked.answer, RequestAnswer::Pending);
    until_received(&received, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = received.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "only the asked requests are told");
    let json: serde_json::Value = serde_json::from_str(&seen[1].1).unwrap();
    assert_eq!(json["type"], "request.pending");
    assert_eq!(json["request_id"], asked.request_id.to_string());
    assert_eq!(json["merchant"], "Shop");
    assert_eq!(json["fields"], 2);
    assert_eq!(json["text"], "Shop asks for 2 fields");
    assert!(seen[1].0.get("authorization").is_none());
    for (_, body) in &seen {
        assert!(!body.contains(VALUE) && !body.contains("Ada"), "{body}");
    }
    for passport in [bob, ada, shop, boot] {
        passport.shutdown().await;
    }
}
