//! `cargo bench -p passport-node --bench flood`: one hostile peer sends 10,000 signed
//! requests to a person's node as fast as it can (64 in flight) while a well-behaved
//! merchant, whom the person trusts, measures the latency of its own requests (paced
//! within the person's per-peer limit of 50 a second). Prints
//! both sides' numbers and the process's resident memory before, during and after.
//! All nodes run in this process on loopback TCP.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark times the wall clock"
)]
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant, SystemTime};

use libp2p::{Multiaddr, identity, multiaddr::Protocol};
use passport_node::{
    Node, NodeConfig, RequestSpec,
    consent::Policy,
    metrics::ProcessUsage,
    net::{self, Client, NetConfig, Response},
};
use passport_protocol::{FieldValue, Timestamp};

fn now() -> Timestamp {
    Timestamp::from_secs(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn memory_node() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

/// The person's limits: 50 messages a second per peer, bursts of 50.
const PEER_RATE: u32 = 50;

async fn start(node: Node, bootstrap: Vec<Multiaddr>) -> Client {
    let config = NetConfig {
        peer_burst: PEER_RATE,
        peer_rate_per_sec: PEER_RATE,
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap,
        mdns: false,
        ..NetConfig::default()
    };
    let (client, event_loop) =
        net::new(node, identity::Keypair::generate_ed25519(), config).unwrap();
    tokio::spawn(event_loop.run());
    client.until_listening().await.unwrap();
    client
}

fn spec() -> RequestSpec {
    RequestSpec::new("Shop", ["name.given".parse().unwrap()], "delivery", 86_400)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn polite_latencies(
    client: &Client,
    merchant: &Node,
    record: &passport_protocol::PeerRecord,
    n: usize,
) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    // Paced at about 40 a second, within the person's 50-a-second limit.
    let mut pace = tokio::time::interval(Duration::from_millis(25));
    for _ in 0..n {
        pace.tick().await;
        let request = merchant.request(record.id, spec(), now()).unwrap();
        let started = Instant::now();
        let response = client.send_to_record(record, request).await.unwrap();
        out.push(started.elapsed());
        assert!(matches!(response, Response::Message(_)), "{response:?}");
    }
    out.sort();
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let boot = start(memory_node(), vec![]).await;
    let boot_addr = boot.listen_addrs().await.unwrap()[0]
        .clone()
        .with(Protocol::P2p(boot.peer_id()));
    let person_node = memory_node();
    person_node
        .set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text("Ada".into()),
            now(),
        )
        .unwrap();
    let polite_node = memory_node();
    person_node
        .add_policy(Policy::allow_normal_fields(Some(polite_node.id())), now())
        .unwrap();
    let person = start(person_node.clone(), vec![boot_addr.clone()]).await;
    while person.publish().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let polite = start(polite_node.clone(), vec![boot_addr.clone()]).await;
    let hostile_node = memory_node();
    let hostile = start(hostile_node.clone(), vec![boot_addr]).await;
    let record = loop {
        if let Ok(r) = polite.lookup(person_node.id()).await {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let total = 10_000;
    println!("signing {total} hostile requests...");
    let flood: Vec<Vec<u8>> = (0..total)
        .map(|_| {
            hostile_node
                .request(person_node.id(), spec(), now())
                .unwrap()
        })
        .collect();

    let rss_before = ProcessUsage::now().resident_kib;
    let baseline = polite_latencies(&polite, &polite_node, &record, 200).await;

    let started = Instant::now();
    let flood_task = {
        let (hostile, record) = (hostile.clone(), record.clone());
        tokio::spawn(async move {
            let mut counts = [0usize; 4]; // pending, busy, refused, failed
            let mut chunks = flood.into_iter().collect::<Vec<_>>();
            while !chunks.is_empty() {
                let batch: Vec<Vec<u8>> = chunks.drain(..chunks.len().min(64)).collect();
                let sends = batch.into_iter().map(|bytes| {
                    let (hostile, record) = (hostile.clone(), record.clone());
                    async move { hostile.send_to_record(&record, bytes).await }
                });
                for result in futures::future::join_all(sends).await {
                    let slot = match result {
                        Ok(
                            Response::Pending(_)
                            | Response::Message(_)
                            | Response::Accepted
                            | Response::AlreadyReceived
                            | Response::Queued(_),
                        ) => 0,
                        Ok(Response::Busy) => 1,
                        Ok(Response::Refused(_)) => 2,
                        Err(_) => 3,
                    };
                    counts[slot] += 1;
                }
            }
            counts
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let during = polite_latencies(&polite, &polite_node, &record, 200).await;
    let rss_during = ProcessUsage::now().resident_kib;
    let counts = flood_task.await.unwrap();
    let flood_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = polite_latencies(&polite, &polite_node, &record, 200).await;
    let rss_after = ProcessUsage::now().resident_kib;

    println!(
        "hostile peer: {total} requests in {flood_secs:.2} s ({:.0}/s sent and answered)",
        total as f64 / flood_secs
    );
    println!(
        "  answered: {} accepted into the inbox, {} busy (rate-limited), {} refused (inbox full), {} failed",
        counts[0], counts[1], counts[2], counts[3]
    );
    for (label, l) in [
        ("before the flood", &baseline),
        ("during the flood", &during),
        ("after the flood", &after),
    ] {
        println!(
            "polite merchant {label:17}: p50 {:>8.2?}  p99 {:>8.2?}  (200 requests, each a grant by standing policy)",
            percentile(l, 0.5),
            percentile(l, 0.99)
        );
    }
    println!(
        "p50 during / before: {:.2}x",
        percentile(&during, 0.5).as_secs_f64() / percentile(&baseline, 0.5).as_secs_f64()
    );
    println!(
        "resident memory of the whole process (all four nodes): before {} KiB, during {} KiB, after {} KiB",
        rss_before, rss_during, rss_after
    );
    println!(
        "person's inbox holds {} requests (bounded)",
        person_node.inbox().unwrap().len()
    );
}
