//! Crash safety: a child process issues and revokes grants as fast as it can,
//! reporting each once durable; it is killed with SIGKILL at random moments, and
//! after every kill the store must open, the audit chain must verify, and every
//! acknowledged grant and revocation must be there. A mailbox taking deposits is
//! killed the same way, and must hold every deposit it acknowledged.
//!
//! `PASSPORT_CRASH_KILLS` sets the number of kills (default 40; the acceptance run
//! uses 200 or more).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    collections::BTreeSet,
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    time::{Duration, SystemTime},
};

use passport_node::{Home, KdfParams, Node, NodeConfig, Unlock, consent::Policy};
use passport_protocol::{FieldValue, GrantId, MessageId, Timestamp};
use rand::RngExt as _;

fn now() -> Timestamp {
    Timestamp::from_secs(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let kills: usize = std::env::var("PASSPORT_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    {
        let node = Node::open(&home, &Unlock::KeyFile, NodeConfig::default()).unwrap();
        node.set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text("Ada".into()),
            now(),
        )
        .unwrap();
        node.add_policy(Policy::allow_normal_fields(None), now())
            .unwrap();
    }

    let mut granted = BTreeSet::<GrantId>::new();
    let mut revoked = BTreeSet::<GrantId>::new();
    for kill in 0..kills {
        let child = Command::new(env!("CARGO_BIN_EXE_crash_child"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = kill_at_random(child, kill);
        for line in &lines {
            let (what, id) = line.split_once(' ').unwrap();
            let id: GrantId = id.parse().unwrap();
            match what {
                "GRANT" => granted.insert(id),
                "REVOKE" => revoked.insert(id),
                other => panic!("unexpected line {other}"),
            };
        }

        let node = Node::open(&home, &Unlock::KeyFile, NodeConfig::default())
            .unwrap_or_else(|e| panic!("kill {kill}: the store does not open: {e}"));
        let report = node.verify_audit().unwrap();
        assert!(
            report.is_intact(),
            "kill {kill}: audit log broken: {:?}",
            report.problems
        );
        let grants = node.grants().unwrap();
        let held: BTreeSet<GrantId> = grants.iter().map(|g| g.grant_id).collect();
        let held_revoked: BTreeSet<GrantId> = grants
            .iter()
            .filter(|g| g.revoked_at.is_some())
            .map(|g| g.grant_id)
            .collect();
        let lost: Vec<_> = granted.difference(&held).collect();
        assert!(
            lost.is_empty(),
            "kill {kill}: acknowledged grants lost: {lost:?}"
        );
        let unrevoked: Vec<_> = revoked.difference(&held_revoked).collect();
        assert!(
            unrevoked.is_empty(),
            "kill {kill}: acknowledged revocations lost: {unrevoked:?}"
        );
    }
    println!(
        "{kills} kills: {} grants and {} revocations acknowledged, none lost",
        granted.len(),
        revoked.len()
    );
    assert!(
        granted.len() > kills / 2,
        "too few grants acknowledged ({}) to mean anything",
        granted.len()
    );
}

/// Kills a running child at a random moment: anywhere in startup for every fourth
/// kill, else a random moment after it said READY. Returns the lines it printed
/// after READY.
fn kill_at_random(mut child: std::process::Child, kill: usize) -> Vec<String> {
    let mut rng = rand::rng();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    if kill.is_multiple_of(4) {
        std::thread::sleep(Duration::from_millis(rng.random_range(0..60)));
    } else {
        let ready = lines_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(ready, "READY");
        std::thread::sleep(Duration::from_millis(rng.random_range(5..150)));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    reader.join().unwrap();
    if status.code().is_some() {
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        panic!("child exited with {status} before the kill: {err}");
    }
    lines_rx.try_iter().filter(|l| l != "READY").collect()
}

#[test]
fn a_mailbox_killed_at_random_moments_loses_no_acknowledged_deposit() {
    let kills: usize = std::env::var("PASSPORT_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(20, |k: usize| k / 2);
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    let settings = passport_tests::crash_mailbox_settings();
    let recipient = Node::in_memory(NodeConfig::default()).unwrap();
    // What the recipient's drain finds held (registering it on the first).
    let held = |mailbox: &Node| -> BTreeSet<MessageId> {
        let nonce = [7; 32];
        let drain = recipient
            .sign_drain(&mailbox.id(), nonce, b"recipient".to_vec(), now())
            .unwrap();
        let (held, more) = mailbox
            .mailbox_drain(&settings, &drain, b"recipient", &nonce, usize::MAX, now())
            .unwrap();
        assert!(!more);
        held.into_iter().map(|h| h.id).collect()
    };
    held(&Node::open(&home, &Unlock::KeyFile, NodeConfig::default()).unwrap());

    let mut acknowledged = BTreeSet::<MessageId>::new();
    for kill in 0..kills {
        let child = Command::new(env!("CARGO_BIN_EXE_mailbox_child"))
            .arg(dir.path())
            .arg(recipient.id().to_string())
            .arg(recipient.sealing_public_key().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        for line in kill_at_random(child, kill) {
            let id = line.strip_prefix("DEPOSIT ").unwrap();
            acknowledged.insert(id.parse().unwrap());
        }
        let mailbox = Node::open(&home, &Unlock::KeyFile, NodeConfig::default())
            .unwrap_or_else(|e| panic!("kill {kill}: the store does not open: {e}"));
        let holds = held(&mailbox);
        let lost: Vec<_> = acknowledged.difference(&holds).collect();
        assert!(
            lost.is_empty(),
            "kill {kill}: acknowledged deposits lost: {lost:?}"
        );
    }
    println!(
        "{kills} kills: {} deposits acknowledged, none lost",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > kills / 2,
        "too few deposits acknowledged ({}) to mean anything",
        acknowledged.len()
    );
}
