//! What a node holds on the heap before it does anything. netsim runs
//! thousands of nodes in one process (netsim/README.md, Scale), so a node's
//! fixed cost is paid thousands of times; these bounds keep it in kilobytes.
//!
//! Its own test binary: dhat counts the whole process's heap and allows one
//! profiler at a time, so both measurements are one test.

#![allow(
    clippy::disallowed_methods,
    reason = "a test's deadlines are wall-clock time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::loopback;
use passport_node::{Node, NodeConfig, Passport};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn held() -> usize {
    dhat::HeapStats::get().curr_bytes
}

#[tokio::test(flavor = "current_thread")]
async fn an_idle_node_holds_kilobytes() {
    let _profiler = dhat::Profiler::builder().testing().build();

    // Warm up what every node shares (lazy statics, the runtime's own).
    let warm = Node::in_memory(NodeConfig::default()).unwrap();
    let (warm, _) = Passport::with_node(warm)
        .network(loopback(vec![]))
        .spawn()
        .await
        .unwrap();

    let before = held();
    let nodes: Vec<Node> = (0..10)
        .map(|_| Node::in_memory(NodeConfig::default()).unwrap())
        .collect();
    let per_node = (held() - before) / nodes.len();
    eprintln!("a node without a network holds {per_node} bytes");

    let before = held();
    let mut passports = Vec::new();
    for node in nodes {
        passports.push(
            Passport::with_node(node)
                .network(loopback(vec![]))
                .spawn()
                .await
                .unwrap(),
        );
    }
    // Let each start listening and settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_passport = (held() - before) / passports.len();
    eprintln!("starting its network adds {per_passport} bytes");

    for (passport, _) in passports {
        passport.shutdown().await;
    }
    warm.shutdown().await;
    // 34 KiB and 506 KiB when written; 181 KiB and 607 KiB before the event
    // channel held `Arc`s and the HTTPS client waited for a first domain check.
    assert!(
        per_node < 64 * 1024,
        "a node without a network holds {per_node} bytes"
    );
    assert!(
        per_passport < 560 * 1024,
        "starting its network adds {per_passport} bytes"
    );
}
