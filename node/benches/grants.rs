//! `cargo bench -p passport-node --bench grants`: grants per second on a real sled
//! store, one issuing thread against several, with the number of flushes (fsyncs)
//! per grant. Group commit is what lets the concurrent case share flushes.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark times the wall clock"
)]
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::Instant;

use passport_node::{Node, NodeConfig, Reply, RequestSpec};
use passport_protocol::Timestamp;

const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

fn person(dir: &std::path::Path) -> Node {
    let node = common::open_new_home(dir);
    common::grants_at_once(&node, T0);
    node
}

fn requests(person: &Node, n: usize) -> Vec<Vec<u8>> {
    let merchant = Node::in_memory(NodeConfig::default()).unwrap();
    (0..n)
        .map(|_| {
            let spec =
                RequestSpec::new("Bench", ["name.given".parse().unwrap()], "delivery", 86_400);
            merchant.request(person.id(), spec, T0).unwrap()
        })
        .collect()
}

fn run(threads: usize, per_thread: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let node = person(dir.path());
    let work: Vec<Vec<Vec<u8>>> = (0..threads).map(|_| requests(&node, per_thread)).collect();
    let flushes_before = node.flush_stats().flushes;
    let start = Instant::now();
    std::thread::scope(|s| {
        for batch in &work {
            let node = node.clone();
            s.spawn(move || {
                for request in batch {
                    assert!(matches!(
                        node.receive(request, T0).unwrap(),
                        Reply::Message(_)
                    ));
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let grants = (threads * per_thread) as f64;
    (
        grants / secs,
        (node.flush_stats().flushes - flushes_before) as f64 / grants,
    )
}

fn main() {
    let per_thread = 300;
    println!("grants issued by standing policy on sled, each durable before it is returned");
    let (base, base_flushes) = run(1, per_thread);
    println!("  1 thread : {base:8.0} grants/s, {base_flushes:.2} flushes per grant");
    for threads in [4, 16] {
        let (rate, flushes) = run(threads, per_thread);
        println!(
            "  {threads:2} threads: {rate:8.0} grants/s, {flushes:.2} flushes per grant ({:.2}x the 1-thread rate)",
            rate / base
        );
    }
}
