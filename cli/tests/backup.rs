//! Backup and restore with the real binary and real daemons: a running person's
//! node is backed up, the backup opens with the age library's own decryption, it
//! is restored on a new home, and the shop's live grant keeps working against the
//! restored node; the old copy, started again, stops itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{Daemon, eventually, json, ok, passport, run, stderr, stdout};
use serde_json::Value;

const PASSPHRASE: &str = "a long backup passphrase";

/// `passport --home HOME ARGS...` with the backup passphrase in the environment.
fn with_passphrase(home: &Path, args: &[&str]) -> Command {
    let mut command = passport(home);
    command
        .env("PASSPORT_BACKUP_PASSPHRASE", PASSPHRASE)
        .args(args);
    command
}

fn succeeds(mut command: Command) -> Value {
    let output = command.arg("--json").output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn refused(mut command: Command) -> String {
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2), "stdout: {}", stdout(&output));
    stderr(&output)
}

#[test]
fn a_restored_passport_keeps_serving_live_grants_and_the_old_copy_stops() {
    let dir = tempfile::tempdir().unwrap();
    let common::ShopAndAda {
        shop,
        ada,
        ada_id,
        shop_address,
        shop_node,
        ada_node,
    } = common::shop_and_ada(dir.path());
    let ada_new = dir.path().join("ada-new");

    // The shop asks, Ada approves: a live grant.
    let pending = common::shop_requests(&shop, &ada_id, "0s");
    ok(&ada, &["approve", pending["request_id"].as_str().unwrap()]);
    let grant = eventually("the grant reaches the shop", || {
        json(&shop, &["received"])[0]["grant_id"]
            .as_str()
            .map(str::to_string)
    });

    // A backup of the running node, through its API.
    let file = dir.path().join("ada.age");
    let file_arg = file.to_str().unwrap();
    let made = succeeds(with_passphrase(&ada, &["backup", file_arg]));
    assert_eq!(made["id"], ada_id.as_str());
    assert_eq!(
        (made["fields"].as_u64(), made["grants_given"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(made["audit_intact"], true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The age library's own decryption opens it; no personal value is in clear.
    let bytes = std::fs::read(&file).unwrap();
    let identity = age::scrypt::Identity::new(PASSPHRASE.to_string().into());
    let plain = age::decrypt(&identity, &bytes).unwrap();
    assert!(plain.windows(17).any(|w| w == b"passport-backup/1"));
    assert!(!plain.windows(3).any(|w| w == b"Ada"));
    let verified = succeeds(with_passphrase(
        dir.path(),
        &["backup", "--verify", file_arg],
    ));
    assert_eq!(verified["records"], made["records"]);

    // Bad input: a wrong passphrase, a tampered copy, a file that is not a
    // backup, an existing file; each refused, nothing written.
    let mut wrong = passport(dir.path());
    wrong
        .env("PASSPORT_BACKUP_PASSPHRASE", "not it")
        .args(["backup", "--verify", file_arg]);
    assert!(refused(wrong).contains("wrong backup passphrase"));
    let tampered = dir.path().join("tampered.age");
    let mut changed = bytes.clone();
    let at = changed.len() - 40;
    changed[at] ^= 0x20;
    std::fs::write(&tampered, changed).unwrap();
    let error = refused(with_passphrase(
        &dir.path().join("never"),
        &["restore", tampered.to_str().unwrap(), "--no-passphrase"],
    ));
    assert!(error.contains("damaged"), "{error}");
    assert!(!dir.path().join("never").exists());
    let not_backup = dir.path().join("notes.txt");
    std::fs::write(&not_backup, "my notes").unwrap();
    let error = refused(with_passphrase(
        dir.path(),
        &["backup", "--verify", not_backup.to_str().unwrap()],
    ));
    assert!(error.contains("not in the age format"), "{error}");
    assert!(refused(with_passphrase(&ada, &["backup", file_arg])).contains("exists already"));
    let error = refused(with_passphrase(
        &shop,
        &["restore", file_arg, "--no-passphrase"],
    ));
    assert!(error.contains("already"), "{error}");

    // The old machine goes away; the backup is restored on a new home.
    ada_node.stop();
    let restored = succeeds(with_passphrase(
        &ada_new,
        &["restore", file_arg, "--no-passphrase"],
    ));
    assert_eq!(restored["restored_epoch"], 1);
    assert_eq!(json(&ada_new, &["id"])["id"], ada_id.as_str());
    ok(&ada_new, &["set", "name.given", "Ada L."]);
    let _ada_new_node = Daemon::start(&ada_new, Some(&shop_address));

    // The shop's live grant reaches the restored node (by the id, through the
    // DHT, at its new address), which answers with the current value.
    let fetched = eventually("the shop fetches from the restored node", || {
        let output = run(&shop, &["--json", "fetch", &grant]);
        let values: Value = serde_json::from_slice(&output.stdout).ok()?;
        (values["name.given"]["text"] == "Ada L.").then_some(values)
    });
    assert_eq!(fetched["name.given"]["text"], "Ada L.");
    // Its audit log continues the old one, with the restore in it.
    let audit = json(&ada_new, &["audit"]);
    let events: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"grant_issued"), "{events:?}");
    assert!(events.contains(&"restored"), "{events:?}");
    ok(&ada_new, &["audit", "--verify"]);

    // The old copy comes back: it finds the restored copy's record and stops
    // itself, and refuses to start again.
    let mut old = passport(&ada)
        .args([
            "node",
            "--api",
            "127.0.0.1:0",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--no-mdns",
            "--bootstrap",
            &shop_address,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = old.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = old.kill();
            panic!("the old copy kept running beside the restored one");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut error = String::new();
    std::io::Read::read_to_string(&mut old.stderr.take().unwrap(), &mut error).unwrap();
    assert_eq!(status.code(), Some(2), "{error}");
    assert!(
        error.contains("another copy of this passport is live"),
        "{error}"
    );
    let again = run(&ada, &["node", "--api", "127.0.0.1:0", "--no-mdns"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("another copy"),
        "{}",
        stderr(&again)
    );
    let old_audit = json(&ada, &["audit"]);
    assert_eq!(
        old_audit.as_array().unwrap().last().unwrap()["event"]["event"],
        "other_copy_found"
    );
    drop(shop_node);
}
