//! The patched libp2p-kad allocates a k-bucket when its first peer comes, not
//! all 256 on construction (netsim/patches/PATCH.md). Upstream's empty routing
//! table held about 0.86 MiB; thousands of simulated nodes paid that each.
//!
//! Its own test binary: dhat counts the whole process's heap, and allows one
//! profiler at a time.

#![allow(clippy::unwrap_used)]

mod common;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

#[test]
fn an_empty_routing_table_costs_kilobytes_not_a_mebibyte() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let held = || dhat::HeapStats::get().curr_bytes;

    let before = held();
    let tables: Vec<_> = (0..20).map(|_| common::kad_table_of(0)).collect();
    let each = (held() - before) / tables.len();
    eprintln!("an empty table holds {each} bytes");
    assert!(each < 256 * 1024, "an empty table holds {each} bytes");
    drop(tables);

    // 3,000 peers offered: about ten buckets fill, each allocated once.
    let before = held();
    let table = common::kad_table_of(3_000);
    let full = held() - before;
    eprintln!("a 3,000-peer table holds {full} bytes");
    assert!(full < 512 * 1024, "a 3,000-peer table holds {full} bytes");
    drop(table);
}
