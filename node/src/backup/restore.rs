//! Restoring a backup into a new home.
//!
//! The order makes an interrupted restore harmless: the records go into a new
//! `db/`, then the restore is recorded there (the next epoch, an audit entry), and
//! `identity.cbor`, which is what makes a directory a passport, is written last. A
//! restore that fails before then removes what it wrote; one cut short by a crash
//! leaves a `db/` without `identity.cbor`, which the next restore refuses with a
//! message saying to remove it.

use std::{io::Read, path::Path, sync::Arc};

use age::secrecy::SecretString;
use passport_protocol::Timestamp;

use super::{BackupError, BackupSummary, Reader};
use crate::{
    audit::AuditEvent,
    home::{Home, KdfParams, Unlock},
    node::Node,
    storage::{Batch, SledStorage, Storage as _},
};

/// Records written to the new store per batch.
const RESTORE_BATCH: usize = 1024;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Restored {
    /// What the backup held.
    pub backup: BackupSummary,
    /// The restored copy's epoch: the backup's plus one.
    pub epoch: u64,
}

/// Restores the backup `input`, opened with `passphrase`, into `home`, which must
/// not hold a passport. The new home is locked with `unlock` (a new passphrase
/// stretched with `kdf`, or a new key file). The restored copy is the next epoch:
/// its records outrank the old copy's in the DHT, and the old copy stops when it
/// sees them (see [`super::copies`]).
pub fn restore(
    input: impl Read,
    passphrase: SecretString,
    home: &Home,
    unlock: &Unlock,
    kdf: KdfParams,
    now: Timestamp,
) -> Result<Restored, BackupError> {
    check_empty(home)?;
    // The passphrase and the header are checked before anything is written.
    let mut reader = Reader::open(input, passphrase)?;
    let created_dir = !home.dir().exists();
    let result = fill(&mut reader, home, unlock, kdf, now);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(home.db_path());
        if created_dir {
            let _ = std::fs::remove_dir_all(home.dir());
        }
    }
    result
}

/// [`restore`] from the file at `path`.
pub fn restore_file(
    path: &Path,
    passphrase: SecretString,
    home: &Home,
    unlock: &Unlock,
    kdf: KdfParams,
    now: Timestamp,
) -> Result<Restored, BackupError> {
    let file = std::fs::File::open(path).map_err(|source| BackupError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    restore(
        std::io::BufReader::new(file),
        passphrase,
        home,
        unlock,
        kdf,
        now,
    )
}

fn check_empty(home: &Home) -> Result<(), BackupError> {
    let in_use = |what| BackupError::HomeInUse {
        home: home.dir().to_owned(),
        what,
    };
    if home.exists() {
        return Err(in_use("a passport"));
    }
    let db = home.db_path();
    let db_holds_files = std::fs::read_dir(&db).is_ok_and(|mut entries| entries.next().is_some());
    if db_holds_files {
        return Err(in_use(
            "a db/ without identity.cbor (an interrupted restore?): remove that db/ directory and restore again",
        ));
    }
    Ok(())
}

fn fill<R: Read>(
    reader: &mut Reader<R>,
    home: &Home,
    unlock: &Unlock,
    kdf: KdfParams,
    now: Timestamp,
) -> Result<Restored, BackupError> {
    crate::home::create_private_dir(home.dir())?;
    let storage = Arc::new(SledStorage::open(&home.db_path())?);
    loop {
        let records = reader.next_records(RESTORE_BATCH)?;
        if records.is_empty() {
            break;
        }
        let mut batch = Batch::new();
        for (key, value) in records {
            batch.put(key, value);
        }
        storage.apply(batch)?;
    }
    storage.flush()?;
    let backup = super::summarize(&reader.header, &*storage)?;
    let node = Node::with_storage(
        reader.header.keys(),
        storage,
        crate::NodeConfig::default(),
        None,
    )?;
    let epoch = reader.header.epoch + 1;
    node.record_restore(reader.header.made_at, epoch, now)?;
    drop(node);
    if let Some(config) = &reader.header.config
        && !home.config_path().exists()
    {
        std::fs::write(home.config_path(), config).map_err(|source| BackupError::Io {
            action: "write",
            path: home.config_path(),
            source,
        })?;
    }
    home.install(unlock, kdf, &reader.header.keys())?;
    Ok(Restored { backup, epoch })
}

impl Node {
    /// Records that this store was restored from a backup made at `made_at`: the
    /// copy's epoch becomes `epoch`, and the audit log says so.
    fn record_restore(
        &self,
        made_at: Timestamp,
        epoch: u64,
        now: Timestamp,
    ) -> Result<(), BackupError> {
        self.tx(now, |tx| {
            tx.set_epoch(epoch);
            tx.audit(
                AuditEvent::Restored {
                    backup_made_at: made_at,
                    epoch,
                },
                None,
            );
            Ok(())
        })?;
        Ok(())
    }
}
