//! `cargo bench -p passport-node --bench backup`: how long a backup, its check and
//! a restore take for a person with many grants on a real sled store, and what a
//! backup costs the writers that run meanwhile (they wait while the snapshot is
//! read, not while it is encrypted and written). `PASSPORT_BACKUP_GRANTS` sets the
//! number of grants (default 10,000).

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark times the wall clock"
)]
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use passport_node::{
    Home, KdfParams, Node, NodeConfig, RequestSpec, Unlock,
    backup::{self, restore},
};
use passport_protocol::Timestamp;

const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

fn secret() -> age::secrecy::SecretString {
    backup::age_secret("a bench passphrase")
}

fn grant(person: &Node, merchant: &Node) {
    let spec = RequestSpec::new("Bench", ["name.given".parse().unwrap()], "delivery", 86_400);
    let request = merchant.request(person.id(), spec, T0).unwrap();
    person.receive(&request, T0).unwrap();
}

fn main() {
    let grants: usize = std::env::var("PASSPORT_BACKUP_GRANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let person = common::open_new_home(&dir.path().join("person"));
    common::grants_at_once(&person, T0);
    let merchant = Node::in_memory(NodeConfig::default()).unwrap();
    for _ in 0..grants {
        grant(&person, &merchant);
    }
    let store_bytes: u64 = walk(&dir.path().join("person/db"));

    // Writers alone, then writers while backups run back to back: the grants/s ratio
    // is what a backup costs a busy node.
    let alone = writers_for(&person, &merchant, Duration::from_secs(3), || {});
    let path = dir.path().join("backup.age");
    let started = Instant::now();
    let summary = person
        .backup_to_file(secret(), Some(14), None, T0, &path)
        .unwrap();
    let backup_time = started.elapsed();
    let file_bytes = std::fs::metadata(&path).unwrap().len();
    let started = Instant::now();
    backup::verify_file(&path, secret()).unwrap();
    let verify_time = started.elapsed();
    let started = Instant::now();
    let restored = restore::restore_file(
        &path,
        secret(),
        &Home::new(dir.path().join("restored")),
        &Unlock::KeyFile,
        KdfParams::insecure_for_tests(),
        T0,
    )
    .unwrap();
    let restore_time = started.elapsed();
    assert_eq!(restored.backup.grants_given, summary.grants_given);
    let during = writers_for(&person, &merchant, Duration::from_secs(3), || {
        let mut sink = std::io::sink();
        person
            .backup(secret(), Some(14), None, T0, &mut sink)
            .unwrap();
    });

    println!(
        "backup of a person with {grants} grants ({} records, store {:.1} MiB on disk):",
        summary.records,
        mib(store_bytes)
    );
    println!(
        "  backup  {:>8.0} ms  file {:.1} MiB",
        ms(backup_time),
        mib(file_bytes)
    );
    println!("  verify  {:>8.0} ms", ms(verify_time));
    println!("  restore {:>8.0} ms", ms(restore_time));
    println!(
        "  writers: {alone:.0} grants/s alone, {during:.0} grants/s while backups run back to back ({:.0} %)",
        100.0 * during / alone
    );
    println!("  (scrypt work factor 2^14 here; a real backup lets age pick about one second)");
}

/// Grants/s one writer thread makes for `time` while `beside` runs in a loop.
fn writers_for(person: &Node, merchant: &Node, time: Duration, beside: impl Fn() + Sync) -> f64 {
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let started = Instant::now();
            let mut made = 0u64;
            while started.elapsed() < time {
                grant(person, merchant);
                made += 1;
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            made as f64 / started.elapsed().as_secs_f64()
        });
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            beside();
            std::thread::sleep(Duration::from_millis(1));
        }
        writer.join().unwrap()
    })
}

fn walk(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path)
            } else {
                std::fs::metadata(&path).unwrap().len()
            }
        })
        .sum()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
