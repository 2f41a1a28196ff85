//! Crash safety: a child process issues and revokes grants as fast as it can,
//! reporting each once durable; it is killed with SIGKILL at random moments, and
//! after every kill the store must open, the audit chain must verify, and every
//! acknowledged grant and revocation must be there.
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
use passport_protocol::{FieldValue, GrantId, Timestamp};
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

    let mut rng = rand::rng();
    let mut granted = BTreeSet::<GrantId>::new();
    let mut revoked = BTreeSet::<GrantId>::new();
    for kill in 0..kills {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash_child"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        if kill % 4 == 0 {
            // Every fourth kill lands anywhere in startup and recovery.
            std::thread::sleep(Duration::from_millis(rng.random_range(0..60)));
        } else {
            // The others land mid-traffic: a random moment after the store is open.
            let ready = lines_rx.recv_timeout(Duration::from_secs(30)).unwrap();
            assert_eq!(ready, "READY");
            std::thread::sleep(Duration::from_millis(rng.random_range(5..150)));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        reader.join().unwrap();
        let lines: Vec<String> = lines_rx.try_iter().filter(|l| l != "READY").collect();
        if status.code().is_some() {
            // Exited by itself: it must have failed; show why.
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("child exited with {status} before the kill: {err}");
        }
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
