//! `cargo bench -p passport-node --bench webhooks`: how fast one merchant node tells
//! its backend. A real node (sled store in a temp dir) with one webhook to a real
//! HTTP receiver on loopback; events are `request.expired`, made by the sweep from
//! requests sent (offline) with a lifetime already over, so each one is a real
//! transaction that queues a real delivery.
//!
//! - latency: one event at a time (`PASSPORT_WEBHOOK_LATENCY_EVENTS`, 500), from the
//!   start of the transaction that queues it (its flush included) to the
//!   receiver's handler, p50/p99;
//! - throughput: `PASSPORT_WEBHOOK_BURST` (5000) events queued by one sweep, about
//!   distinct persons (delivered in parallel) and then about one person (in
//!   order, one at a time), in events per second.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark times the wall clock"
)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, routing::post};
use passport_node::{
    Home, KdfParams, Node, NodeConfig, Passport, RequestSpec, Unlock,
    net::NetConfig,
    node::system_now,
    webhook::{WebhookSecret, WebhookSettings},
};
use passport_protocol::{IdentityKey, PassportId, Timestamp};
use tokio::sync::mpsc;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// A receiver that reports each body's request id and when it arrived.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, Instant)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move |body: Bytes| {
            let arrived = Instant::now();
            let tx = tx.clone();
            async move {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let id = json["data"]["request_id"].as_str().unwrap().to_string();
                let _ = tx.send((id, arrived));
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

fn someone() -> PassportId {
    IdentityKey::generate(&mut rand::rng()).id()
}

/// Sends (offline) a request to `to` whose lifetime is over: the next sweep
/// expires it and queues its `request.expired`.
fn expired_request(node: &Node, to: PassportId) -> String {
    let long_ago: Timestamp = system_now().minus_secs(60);
    let spec = RequestSpec::new("Bench", ["name.given".parse().unwrap()], "bench", 60);
    let (_, id) = node.request_with_id(to, spec, long_ago).unwrap();
    id.to_string()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let latency_events = setting("PASSPORT_WEBHOOK_LATENCY_EVENTS", 500);
    let burst = setting("PASSPORT_WEBHOOK_BURST", 5000);

    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    let config = NodeConfig {
        request_lifetime_secs: 1,
        ..NodeConfig::default()
    };
    let node = Node::open(&home, &Unlock::KeyFile, config).unwrap();
    let (url, mut arrivals) = receiver().await;
    node.add_webhook(
        WebhookSettings {
            url,
            secret: WebhookSecret::generate(),
            events: vec![],
        },
        system_now(),
    )
    .unwrap();
    let (passport, _) = Passport::with_node(node.clone())
        .network(NetConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            mdns: false,
            ..NetConfig::default()
        })
        // The bench sweeps itself.
        .sweep_every(Duration::from_secs(3600))
        .spawn()
        .await
        .unwrap();

    // Latency, one event at a time.
    let mut latencies = Vec::with_capacity(latency_events);
    for _ in 0..latency_events {
        let id = expired_request(&node, someone());
        let sweeping = node.clone();
        // From the start of the transaction that makes the event: its commit (a
        // flush) is part of the latency, since nothing is told before it is
        // durable.
        let started = Instant::now();
        tokio::task::spawn_blocking(move || sweeping.sweep(system_now()).unwrap())
            .await
            .unwrap();
        let (got, arrived) = tokio::time::timeout(Duration::from_secs(30), arrivals.recv())
            .await
            .expect("no delivery within 30 s")
            .unwrap();
        assert_eq!(got, id);
        latencies.push(arrived.saturating_duration_since(started));
    }
    latencies.sort();
    println!(
        "latency (transaction start -> backend handler, commit included), {latency_events} events one at a time: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );

    // Throughput: many persons (parallel), then one person (in order).
    for (label, one_person) in [("distinct persons", false), ("one person, in order", true)] {
        let person = someone();
        let expected: Arc<Mutex<HashMap<String, ()>>> = Arc::default();
        let creating = node.clone();
        let ids = tokio::task::spawn_blocking(move || {
            (0..burst)
                .map(|_| {
                    let to = if one_person { person } else { someone() };
                    expired_request(&creating, to)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        expected
            .lock()
            .unwrap()
            .extend(ids.iter().map(|id| (id.clone(), ())));
        let sweeping = node.clone();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || sweeping.sweep(system_now()).unwrap())
            .await
            .unwrap();
        let mut order = Vec::with_capacity(burst);
        while order.len() < burst {
            let (id, _) = tokio::time::timeout(Duration::from_secs(120), arrivals.recv())
                .await
                .expect("deliveries stalled")
                .unwrap();
            if expected.lock().unwrap().remove(&id).is_some() {
                order.push(id);
            }
        }
        let took = started.elapsed();
        println!(
            "throughput, {burst} events queued at once ({label}): {:.0} events/s ({:.2} s){}",
            burst as f64 / took.as_secs_f64(),
            took.as_secs_f64(),
            if one_person {
                // One sweep queues them in the order it found them: by request id.
                let mut queued = ids.clone();
                queued.sort();
                format!(", delivered in the order queued: {}", order == queued)
            } else {
                String::new()
            }
        );
    }
    let metrics = passport.metrics().unwrap();
    println!(
        "attempts: {} delivered, {} retrying, {} given up",
        metrics.webhook_attempts("delivered"),
        metrics.webhook_attempts("retrying"),
        metrics.webhook_attempts("given_up"),
    );
    passport.shutdown().await;
}
