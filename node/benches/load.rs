//! `cargo bench -p passport-node --bench load`: one merchant node asks 100 person
//! nodes (real swarms on loopback TCP, real sled stores, standing policies that
//! grant at once) for fields, many requests in flight, and measures grants per
//! second, request→grant latency (p50, p99), CPU and memory. In the same run it
//! measures the crypto floor (the signing, verifying, sealing and opening one round
//! trip needs, on its own) and prints the ratio of the two.
//!
//! Settings by environment: `PASSPORT_LOAD_PERSONS` (100), `PASSPORT_LOAD_REQUESTS`
//! (4000), `PASSPORT_LOAD_IN_FLIGHT` (64); `PASSPORT_LOAD_MERCHANT_MEMORY` and
//! `PASSPORT_LOAD_PERSONS_MEMORY` (unset: sled stores) put those stores in memory.

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

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use libp2p::Multiaddr;
use passport_node::{
    Node, NodeConfig, Passport, RequestAnswer, RequestSpec, RequestStatus, metrics::ProcessUsage,
    net::NetConfig, node::system_now, storage::FlushStats,
};
use passport_protocol::{PeerRecord, samples::CryptoFloor};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn net_config(bootstrap: Vec<Multiaddr>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap,
        mdns: false,
        // One merchant sending thousands of requests is this benchmark's load, not
        // an abuse: per-peer limits would measure the throttle instead.
        peer_burst: 1_000_000,
        peer_rate_per_sec: 1_000_000,
        request_timeout: Duration::from_secs(30),
        // PASSPORT_LOAD_PING_SECS=15 pings as often as libp2p's default: what the
        // longer default interval saves.
        ping_interval: std::env::var("PASSPORT_LOAD_PING_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(NetConfig::default().ping_interval, Duration::from_secs),
        ..NetConfig::default()
    }
}

async fn start(node: Node, bootstrap: Vec<Multiaddr>) -> Passport {
    let (passport, _events) = Passport::with_node(node)
        .network(net_config(bootstrap))
        .spawn()
        .await
        .unwrap();
    passport
}

fn person(dir: &std::path::Path) -> Node {
    // PASSPORT_LOAD_PERSONS_MEMORY=1 keeps the persons' stores in memory: it tells
    // how much of the cost is their durable writes.
    let node = if std::env::var_os("PASSPORT_LOAD_PERSONS_MEMORY").is_some() {
        Node::in_memory(NodeConfig::default()).unwrap()
    } else {
        common::open_new_home(dir)
    };
    common::grants_at_once(&node, system_now());
    node
}

fn spec() -> RequestSpec {
    RequestSpec::new("Load", ["name.given".parse().unwrap()], "delivery", 86_400)
}

/// One request→grant through the merchant's request flow (the one the API, the
/// demo and netsim use): sign and store the request, send it, verify and store the
/// grant (which makes the request durable too). Returns the latency.
async fn round_trip(merchant: &Passport, record: &PeerRecord) -> Duration {
    let started = Instant::now();
    let outcome = merchant
        .request_to_record(record, spec(), Duration::ZERO)
        .await
        .unwrap();
    assert!(
        matches!(
            outcome.answer,
            RequestAnswer::Decided(RequestStatus::Granted { .. })
        ),
        "a standing policy grants at once: {outcome:?}"
    );
    started.elapsed()
}

/// The merchant's flushes, and the persons' summed.
fn flush_stats(merchant: &Passport, people: &[Passport]) -> (FlushStats, FlushStats) {
    let persons = people
        .iter()
        .map(|person| person.node().flush_stats())
        .fold(FlushStats::default(), std::ops::Add::add);
    (merchant.node().flush_stats(), persons)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let persons = setting("PASSPORT_LOAD_PERSONS", 100);
    let requests = setting("PASSPORT_LOAD_REQUESTS", 4_000);
    let in_flight = setting("PASSPORT_LOAD_IN_FLIGHT", 64);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::tempdir().unwrap();

    println!("starting {persons} person nodes and a merchant on loopback (sled stores)...");
    let first = start(person(&dir.path().join("p0")), Vec::new()).await;
    let status = first.status().await.unwrap();
    let bootstrap: Multiaddr = format!("{}/p2p/{}", status.listen_addrs[0], status.peer_id)
        .parse()
        .unwrap();
    let mut people = vec![first];
    for i in 1..persons {
        let node = person(&dir.path().join(format!("p{i}")));
        people.push(start(node, vec![bootstrap.clone()]).await);
    }
    for person in &people {
        while person.client().unwrap().publish().await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // PASSPORT_LOAD_MERCHANT_MEMORY=1 keeps the merchant's store in memory: it tells
    // how much of the cost is the merchant's own durable writes.
    let merchant = if std::env::var_os("PASSPORT_LOAD_MERCHANT_MEMORY").is_some() {
        Node::in_memory(NodeConfig::default()).unwrap()
    } else {
        common::open_new_home(&dir.path().join("merchant"))
    };
    let merchant = start(merchant, vec![bootstrap]).await;
    let mut records = Vec::new();
    for person in &people {
        let record = loop {
            match merchant.client().unwrap().lookup(person.id()).await {
                Ok(record) => break record,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        records.push(record);
    }
    // Warm up: a connection to every person.
    for record in &records {
        round_trip(&merchant, record).await;
    }

    // What the 101 nodes cost with no requests at all (pings, DHT upkeep): the
    // background the per-grant CPU below includes.
    let idle_secs = setting("PASSPORT_LOAD_IDLE_SECS", 3).max(1);
    println!("idle for {idle_secs} s...");
    let idle_cpu_before = ProcessUsage::now().cpu_seconds;
    tokio::time::sleep(Duration::from_secs(idle_secs as u64)).await;
    let idle_share = (ProcessUsage::now().cpu_seconds - idle_cpu_before) / idle_secs as f64;
    println!("measuring {requests} round trips, {in_flight} in flight...");
    let flushes_before = flush_stats(&merchant, &people);
    let (cpu_before, started) = (ProcessUsage::now().cpu_seconds, Instant::now());
    let records = Arc::new(records);
    let mut latencies: Vec<Duration> = futures::stream::iter(0..requests)
        .map(|i| {
            let (merchant, records) = (merchant.clone(), records.clone());
            async move { round_trip(&merchant, &records[i % records.len()]).await }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = ProcessUsage::now().cpu_seconds - cpu_before;
    let flushes_after = flush_stats(&merchant, &people);
    let usage = ProcessUsage::now();
    let (peak, resident) = (usage.peak_mib(), usage.resident_mib());
    latencies.sort();
    let rate = requests as f64 / elapsed;

    // The floor, in the same run, on one thread and then scaled to every core.
    let mut rng = rand::rng();
    let floor = CryptoFloor::new(&mut rng).unwrap();
    let floor_started = Instant::now();
    let mut floor_trips = 0u32;
    while floor_started.elapsed() < Duration::from_secs(2) {
        floor.round_trip(&mut rng).unwrap();
        floor_trips += 1;
    }
    let floor_each = floor_started.elapsed().as_secs_f64() / f64::from(floor_trips);
    let floor_rate = cores as f64 / floor_each;

    println!(
        "load: {requests} request→grant round trips, {persons} persons, {in_flight} in flight, {cores} cores"
    );
    println!(
        "  {rate:8.0} grants/s   p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    println!(
        "  CPU {cpu:.1} s over {elapsed:.1} s ({:.0} % of {cores} cores), {:.0} µs CPU per grant",
        cpu / elapsed / cores as f64 * 100.0,
        cpu / requests as f64 * 1e6
    );
    for (side, before, after) in [
        ("merchant", flushes_before.0, flushes_after.0),
        ("persons ", flushes_before.1, flushes_after.1),
    ] {
        let FlushStats {
            flushes,
            flushing_for,
        } = after - before;
        let busy = flushing_for.as_secs_f64();
        println!(
            "  {side} flushes: {:.2} per grant, {:.2} ms each on average",
            flushes as f64 / requests as f64,
            busy / flushes.max(1) as f64 * 1e3,
        );
    }
    println!(
        "  idle beforehand: {:.0} % of one core ({:.0} µs of each grant's CPU)",
        idle_share * 100.0,
        idle_share * elapsed / requests as f64 * 1e6,
    );
    println!(
        "  memory: {resident:.0} MiB resident now, {peak:.0} MiB peak ({persons} persons + 1 merchant in this process)"
    );
    println!(
        "  crypto floor: {:.0} µs per round trip on one core, {floor_rate:.0} round trips/s on {cores}",
        floor_each * 1e6
    );
    println!(
        "  ratio: {:.1} % of the crypto floor ({:.1}x the floor's CPU per grant)",
        rate / floor_rate * 100.0,
        (cpu / requests as f64) / floor_each
    );
}
