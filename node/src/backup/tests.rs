#![allow(clippy::unwrap_used)]

use std::io::Read as _;

use age::secrecy::SecretString;
use passport_protocol::{FieldValue, Timestamp};

use super::{restore::restore, *};
use crate::{Home, KdfParams, NodeConfig, Unlock, consent::Policy, storage::MemoryStorage};

/// scrypt at 2^10: fast in tests. Real backups let age pick about a second.
const FAST: WorkFactor = Some(10);

fn now() -> Timestamp {
    Timestamp::from_secs(1_800_000_000)
}

fn pass(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

/// A person with a field, a policy and an audit log, in a sled home.
fn person(dir: &std::path::Path) -> (Home, Node) {
    let home = Home::new(dir.join("old"));
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    let node = Node::open_home(&home, &Unlock::KeyFile).unwrap();
    node.set_field(
        "name.given".parse().unwrap(),
        FieldValue::Text("Ada".into()),
        now(),
    )
    .unwrap();
    node.add_policy(Policy::allow_normal_fields(None), now())
        .unwrap();
    (home, node)
}

fn backup_bytes(node: &Node, passphrase: &str) -> (Vec<u8>, BackupSummary) {
    let mut bytes = Vec::new();
    let summary = node
        .backup(
            pass(passphrase),
            FAST,
            Some("# mine\n".into()),
            now(),
            &mut bytes,
        )
        .unwrap();
    (bytes, summary)
}

#[test]
fn a_backup_opens_with_the_age_library_and_restores_as_the_next_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let (_, node) = person(dir.path());
    let (bytes, made) = backup_bytes(&node, "correct horse");
    assert_eq!((made.fields, made.epoch, made.has_config), (1, 0, true));
    assert!(made.audit_intact && made.audit_entries >= 1, "{made:?}");

    // age's own decryption path reads the plaintext: a CBOR header naming the
    // format, and no personal value in clear anywhere in it.
    let identity = age::scrypt::Identity::new(pass("correct horse"));
    let plain = age::decrypt(&identity, &bytes).unwrap();
    assert!(plain.windows(FORMAT.len()).any(|w| w == FORMAT.as_bytes()));
    assert!(!plain.windows(3).any(|w| w == b"Ada"));

    assert_eq!(verify(&bytes[..], pass("correct horse")).unwrap(), made);

    let new = Home::new(dir.path().join("new"));
    let restored = restore(
        &bytes[..],
        pass("correct horse"),
        &new,
        &Unlock::Passphrase(zeroize::Zeroizing::new("new one".into())),
        KdfParams::insecure_for_tests(),
        now().plus_secs(60),
    )
    .unwrap();
    assert_eq!((restored.epoch, restored.backup.id), (1, node.id()));
    let back = Node::open_home(
        &new,
        &Unlock::Passphrase(zeroize::Zeroizing::new("new one".into())),
    )
    .unwrap();
    assert_eq!(back.id(), node.id());
    assert_eq!(back.epoch().unwrap(), 1);
    assert_eq!(
        back.field(&"name.given".parse().unwrap())
            .unwrap()
            .unwrap()
            .value,
        FieldValue::Text("Ada".into())
    );
    assert_eq!(back.policies().unwrap().len(), 1);
    // The chain continues: every old entry, the backup, then the restore.
    let entries = back.audit_entries().unwrap();
    assert!(back.verify_audit().unwrap().is_intact());
    assert_eq!(entries.len() as u64, made.audit_entries + 1);
    assert!(matches!(
        entries.last().unwrap().event,
        AuditEvent::Restored { epoch: 1, .. }
    ));
    assert_eq!(
        std::fs::read_to_string(new.config_path()).unwrap(),
        "# mine\n"
    );
    // A backup of the restored copy restores as epoch 2.
    let (again, _) = backup_bytes(&back, "p");
    assert_eq!(verify(&again[..], pass("p")).unwrap().epoch, 1);
}

#[test]
fn bad_backups_are_refused_with_their_reason_and_leave_no_home() {
    let dir = tempfile::tempdir().unwrap();
    let (_, node) = person(dir.path());
    let (bytes, _) = backup_bytes(&node, "right");
    let target = Home::new(dir.path().join("target"));
    let try_restore = |input: &[u8], passphrase: &str| {
        let result = restore(
            input,
            pass(passphrase),
            &target,
            &Unlock::KeyFile,
            KdfParams::insecure_for_tests(),
            now(),
        );
        assert!(!target.dir().exists(), "a refused restore left {target:?}");
        result.unwrap_err()
    };

    assert!(matches!(
        try_restore(&bytes, "wrong"),
        BackupError::WrongPassphrase
    ));
    let cut = &bytes[..bytes.len() - 100];
    assert!(
        matches!(try_restore(cut, "right"), BackupError::Damaged(_)),
        "{}",
        try_restore(cut, "right")
    );
    let mut flipped = bytes.clone();
    let middle = flipped.len() - 50;
    flipped[middle] ^= 1;
    assert!(matches!(
        try_restore(&flipped, "right"),
        BackupError::Damaged(_)
    ));
    assert!(matches!(
        try_restore(b"PK\x03\x04 a zip file", "right"),
        BackupError::NotAge(_)
    ));
    assert!(matches!(try_restore(b"", "right"), BackupError::NotAge(_)));
    // An age file with other content, and one encrypted to a key.
    let other = {
        let recipient = age::scrypt::Recipient::new(pass("right"));
        let mut recipient = recipient;
        recipient.set_work_factor(10);
        age::encrypt(&recipient, b"just some text").unwrap()
    };
    assert!(matches!(
        try_restore(&other, "right"),
        BackupError::OtherContent(_)
    ));
    let to_key = age::encrypt(&age::x25519::Identity::generate().to_public(), b"x").unwrap();
    assert!(matches!(
        try_restore(&to_key, "right"),
        BackupError::NotPassphrase
    ));
    // Each refusal of `verify` is the same.
    assert!(matches!(
        verify(cut, pass("right")),
        Err(BackupError::Damaged(_))
    ));

    // Over an existing passport: refused, that passport untouched.
    let existing = Home::new(dir.path().join("existing"));
    existing
        .create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    let before = existing.public_id().unwrap();
    let error = restore(
        &bytes[..],
        pass("right"),
        &existing,
        &Unlock::KeyFile,
        KdfParams::insecure_for_tests(),
        now(),
    )
    .unwrap_err();
    assert!(matches!(error, BackupError::HomeInUse { .. }), "{error}");
    assert_eq!(existing.public_id().unwrap(), before);
}

#[test]
fn a_backup_taken_while_transactions_commit_holds_each_whole() {
    let node = Node::with_storage(
        crate::home::Keys::generate(),
        std::sync::Arc::new(MemoryStorage::new()),
        NodeConfig::default(),
        None,
    )
    .unwrap();
    let writer = {
        let node = node.clone();
        std::thread::spawn(move || {
            for i in 0..300u64 {
                node.set_field(
                    "name.given".parse().unwrap(),
                    FieldValue::Text(format!("v{i}")),
                    now().plus_secs(i),
                )
                .unwrap();
            }
        })
    };
    let mut intact = 0;
    while !writer.is_finished() {
        let (bytes, made) = backup_bytes(&node, "p");
        // Each field write and its audit entry land in one batch: a torn snapshot
        // would show a head that does not match its entries.
        assert!(made.audit_intact, "{made:?}");
        assert_eq!(verify(&bytes[..], pass("p")).unwrap(), made);
        intact += 1;
    }
    writer.join().unwrap();
    assert!(intact > 0);
}

#[test]
fn scheduled_backups_keep_the_newest_and_open_with_their_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let (_, node) = person(dir.path());
    let passphrase_file = dir.path().join("pass");
    std::fs::write(&passphrase_file, "from a file\nignored\n").unwrap();
    let settings = schedule::BackupSettings {
        dir: Some(dir.path().join("backups")),
        keep: 2,
        passphrase_file: Some(passphrase_file),
        ..Default::default()
    };
    settings.check().unwrap();
    let mut paths = Vec::new();
    for i in 0..4 {
        let (path, _) = schedule::back_up_now(&node, &settings, None, now().plus_secs(i)).unwrap();
        paths.push(path);
    }
    let mut left: Vec<_> = std::fs::read_dir(dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    assert_eq!(left, paths[2..]);
    let mut bytes = Vec::new();
    std::fs::File::open(&left[1])
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(verify(&bytes[..], pass("from a file")).unwrap().fields, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&left[1]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A directory without a passphrase file is a config error.
    let no_passphrase = schedule::BackupSettings {
        passphrase_file: None,
        ..settings
    };
    assert!(
        no_passphrase
            .check()
            .unwrap_err()
            .contains("passphrase_file")
    );
}
