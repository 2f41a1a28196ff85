//! Backups: everything a passport is, in one file in the [age] format, encrypted to
//! a passphrase (age's scrypt recipient), so the standard `age -d` opens it too.
//!
//! The plaintext is a CBOR sequence: a [`Header`] (format, id, epoch, when it was
//! made, the identity, sealing and data keys, `config.toml`, the number of
//! records), then every record of the store as a `[key, value]` pair, exactly as
//! stored: values stay encrypted under the data key, so personal values are never
//! in clear even inside the decrypted stream. age authenticates the whole file in
//! 64 KiB chunks with a marked last chunk, so a changed byte or a cut-off end is
//! an error, never a partial restore. The snapshot is taken with no transaction
//! applying ([`crate::storage::Durable::snapshot`]), so a backup of a running node
//! is consistent.
//!
//! Not in a backup: `network.key` (the restored copy gets a new PeerId, so two
//! copies are told apart), `api.token` (made anew) and the key file (the restored
//! home is locked as its restorer chooses).
//!
//! - [`restore`]: a backup into a new home, as the next epoch.
//! - [`copies`]: telling a live copy at a later epoch from this one.
//! - [`schedule`]: `[backup] dir, every_hours, keep`: backups made by the node.
//!
//! [age]: https://age-encryption.org/v1

pub mod copies;
pub mod restore;
pub mod schedule;

use std::{
    io::{BufReader, Read, Write},
    path::{Path, PathBuf},
};

use age::secrecy::SecretString;
use passport_protocol::{IdentityKey, PassportId, SealingKey, Timestamp};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::Zeroizing;

use crate::{
    audit::AuditEvent,
    crypt::DataKey,
    error::NodeError,
    home::Keys,
    node::Node,
    storage::{Entries, Snapshot, Storage},
};

/// What a backup's plaintext says it is.
pub const FORMAT: &str = "passport-backup/1";

/// The file name ending backups are given (`.age`, as the age tools expect).
pub const EXTENSION: &str = "age";

/// Why a backup could not be made, read or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The file is not in the age format at all.
    #[error("not a Passport backup: the file is not in the age format ({0})")]
    NotAge(String),
    /// The file is an age file, but not one encrypted to a passphrase.
    #[error(
        "not a Passport backup: this age file is encrypted to a key, not a passphrase (Passport backups always use a passphrase)"
    )]
    NotPassphrase,
    /// The passphrase does not open the file.
    #[error("wrong backup passphrase: the file did not open with it; nothing was changed")]
    WrongPassphrase,
    /// The file asks for more scrypt work than this machine allows (tampered with,
    /// or made on a far faster machine).
    #[error(
        "the backup asks for too much work to open (scrypt work factor {required}, this machine allows {allowed}): it was tampered with or made with unusual settings"
    )]
    TooMuchWork {
        /// The work factor the file asks for.
        required: u8,
        /// The most this machine allows.
        allowed: u8,
    },
    /// The file opened but is cut short or was changed after it was made.
    #[error(
        "the backup is damaged: it is cut short or was changed after it was made ({0}); use another copy"
    )]
    Damaged(String),
    /// The file opened but holds something other than a Passport backup.
    #[error("not a Passport backup: the file decrypts, but holds {0}")]
    OtherContent(String),
    /// A backup from a newer Passport.
    #[error(
        "this backup is in the format {0}, which this version of Passport does not know: upgrade Passport to restore it"
    )]
    NewerFormat(String),
    /// The target home already holds a passport (or what is left of one).
    #[error(
        "{home} already holds {what}: restore into a new directory (--home DIR), nothing was changed"
    )]
    HomeInUse {
        /// The home.
        home: PathBuf,
        /// What is there.
        what: &'static str,
    },
    /// Reading or writing a file failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The node's store or keys failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// What a backup holds, as `backup`, `backup --verify` and `restore` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupSummary {
    /// Whose passport.
    #[schema(value_type = String)]
    pub id: PassportId,
    /// When the backup was made.
    #[schema(value_type = u64)]
    pub made_at: Timestamp,
    /// The epoch of the copy backed up (0 until a passport is first restored).
    pub epoch: u64,
    /// Records of the store in it.
    pub records: u64,
    /// Fields.
    pub fields: u64,
    /// Grants given (person's side), live or not.
    pub grants_given: u64,
    /// Grants held (merchant's side), live or not.
    pub grants_held: u64,
    /// Audit log entries.
    pub audit_entries: u64,
    /// Whether the audit log's hash chain verified.
    pub audit_intact: bool,
    /// Whether `config.toml` is in it.
    pub has_config: bool,
}

/// The first item of a backup's plaintext.
#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    id: PassportId,
    made_at: Timestamp,
    epoch: u64,
    #[serde(with = "serde_bytes")]
    identity: [u8; 32],
    #[serde(with = "serde_bytes")]
    sealing: [u8; 32],
    #[serde(with = "serde_bytes")]
    data_key: [u8; 32],
    config: Option<String>,
    records: u64,
}

impl Drop for Header {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.identity);
        zeroize::Zeroize::zeroize(&mut self.sealing);
        zeroize::Zeroize::zeroize(&mut self.data_key);
    }
}

impl Header {
    fn keys(&self) -> Keys {
        Keys {
            identity: IdentityKey::from_secret_bytes(&self.identity),
            sealing: SealingKey::from_secret_bytes(&self.sealing),
            data_key: DataKey::new(&Zeroizing::new(self.data_key)),
        }
    }
}

/// `text` as the secret age takes (a copy it zeroizes when dropped).
pub fn age_secret(text: &str) -> SecretString {
    SecretString::from(text.to_string())
}

/// How hard the passphrase is to guess at: age's scrypt work factor (`N = 2^n`).
/// `None` (the default) lets age pick about one second on this machine.
pub type WorkFactor = Option<u8>;

/// The most scrypt work a backup may ask of this machine when it is opened: 2^22,
/// about 16 times the default on a laptop (age's own limit is relative to the
/// machine; this one is fixed so a slow phone still opens a laptop's backup).
const MAX_WORK_FACTOR: u8 = 22;

/// The pieces of the store a summary counts, by key prefix.
const FIELDS: &[u8] = b"f/";
const GRANTS_GIVEN: &[u8] = b"g/";
const GRANTS_HELD: &[u8] = b"r/";

impl Node {
    /// Writes a backup of this passport to `out`, encrypted to `passphrase`, and
    /// records it in the audit log. `config` is the text of `config.toml`, if the
    /// caller has a home. The store is read in one consistent snapshot; writers
    /// wait while it is read (not while it is encrypted and written).
    pub fn backup(
        &self,
        passphrase: SecretString,
        work_factor: WorkFactor,
        config: Option<String>,
        now: Timestamp,
        out: impl Write,
    ) -> Result<BackupSummary, BackupError> {
        let records = self.snapshot()?;
        let keys = self.keys();
        let header = Header {
            format: FORMAT.to_string(),
            id: self.id(),
            made_at: now,
            epoch: self.epoch()?,
            identity: *keys.identity.to_secret_bytes(),
            sealing: *keys.sealing.to_secret_bytes(),
            data_key: *keys.data_key.to_bytes(),
            config,
            records: records.len() as u64,
        };
        let mut recipient = age::scrypt::Recipient::new(passphrase);
        if let Some(log_n) = work_factor {
            recipient.set_work_factor(log_n.clamp(1, MAX_WORK_FACTOR));
        }
        let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as _))
            .map_err(|e| BackupError::Damaged(e.to_string()))?;
        let io = |source| BackupError::Io {
            action: "write",
            path: PathBuf::from("the backup"),
            source,
        };
        let mut writer = encryptor.wrap_output(out).map_err(io)?;
        write_item(&mut writer, &header)?;
        for (key, value) in &records {
            write_item(
                &mut writer,
                &(serde_bytes::Bytes::new(key), serde_bytes::Bytes::new(value)),
            )?;
        }
        writer.finish().map_err(io)?.flush().map_err(io)?;
        let summary = summarize(&header, &Snapshot::new(records))?;
        self.tx(now, |tx| {
            tx.audit(
                AuditEvent::BackupMade {
                    records: summary.records,
                },
                None,
            );
            Ok(())
        })?;
        Ok(summary)
    }

    /// [`Node::backup`] into the new file `path` (see [`write_new_file`]).
    pub fn backup_to_file(
        &self,
        passphrase: SecretString,
        work_factor: WorkFactor,
        config: Option<String>,
        now: Timestamp,
        path: &Path,
    ) -> Result<BackupSummary, BackupError> {
        write_new_file(path, |out| {
            self.backup(passphrase, work_factor, config, now, out)
        })
    }
}

/// Writes a new file at `path` with `write`: to a temporary file beside it (0600),
/// synced, then renamed, so `path` is either whole or absent. An existing `path`
/// is refused; a failed write removes the temporary file.
pub fn write_new_file<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<T, BackupError>,
) -> Result<T, BackupError> {
    if path.exists() {
        return Err(BackupError::Io {
            action: "write",
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the file exists already; choose another name or remove it",
            ),
        });
    }
    let tmp = path.with_extension("partial");
    let io = |action, source| BackupError::Io {
        action,
        path: tmp.clone(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&tmp).map_err(|e| io("create", e))?;
    let written = (|| {
        let mut out = std::io::BufWriter::new(&file);
        let value = write(&mut out)?;
        out.flush().map_err(|e| io("write", e))?;
        drop(out);
        file.sync_all().map_err(|e| io("sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| io("rename", e))?;
        Ok(value)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn write_item<T: Serialize>(out: &mut impl Write, item: &T) -> Result<(), BackupError> {
    ciborium::ser::into_writer(item, out).map_err(|e| BackupError::Io {
        action: "write",
        path: PathBuf::from("the backup"),
        source: std::io::Error::other(e.to_string()),
    })
}

/// An opened backup, read item by item.
struct Reader<R: Read> {
    header: Header,
    items: BufReader<age::stream::StreamReader<R>>,
    read: u64,
}

impl<R: Read> Reader<R> {
    /// Opens the age file with `passphrase` and reads its header.
    fn open(input: R, passphrase: SecretString) -> Result<Self, BackupError> {
        let decryptor = age::Decryptor::new(input).map_err(|e| match e {
            age::DecryptError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                BackupError::NotAge("it ends before an age header".into())
            }
            other => BackupError::NotAge(other.to_string()),
        })?;
        if !decryptor.is_scrypt() {
            return Err(BackupError::NotPassphrase);
        }
        let mut identity = age::scrypt::Identity::new(passphrase);
        identity.set_max_work_factor(MAX_WORK_FACTOR);
        let stream = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::ExcessiveWork { required, .. } => BackupError::TooMuchWork {
                    required,
                    allowed: MAX_WORK_FACTOR,
                },
                age::DecryptError::DecryptionFailed
                | age::DecryptError::KeyDecryptionFailed
                | age::DecryptError::NoMatchingKeys => BackupError::WrongPassphrase,
                other => BackupError::Damaged(other.to_string()),
            })?;
        let mut items = BufReader::new(stream);
        let header: Header = ciborium::de::from_reader(&mut items).map_err(|e| match e {
            ciborium::de::Error::Io(io) => BackupError::Damaged(io.to_string()),
            other => BackupError::OtherContent(format!("no backup header ({other})")),
        })?;
        if header.format != FORMAT {
            return Err(if header.format.starts_with("passport-backup/") {
                BackupError::NewerFormat(header.format.clone())
            } else {
                BackupError::OtherContent(format!("the format {:?}", header.format))
            });
        }
        if IdentityKey::from_secret_bytes(&header.identity).id() != header.id {
            return Err(BackupError::OtherContent(
                "an identity key that is not its passport id's".into(),
            ));
        }
        Ok(Self {
            header,
            items,
            read: 0,
        })
    }

    /// The next `limit` records at most; empty once all are read. After the last
    /// record the file must end.
    fn next_records(&mut self, limit: usize) -> Result<Entries, BackupError> {
        let mut records = Vec::new();
        while self.read < self.header.records && records.len() < limit {
            let (key, value): (ByteBuf, ByteBuf) = ciborium::de::from_reader(&mut self.items)
                .map_err(|e| BackupError::Damaged(e.to_string()))?;
            records.push((key.into_vec(), value.into_vec()));
            self.read += 1;
        }
        if self.read == self.header.records && records.len() < limit {
            let mut rest = [0u8; 1];
            match self.items.read(&mut rest) {
                Ok(0) => {}
                Ok(_) => {
                    return Err(BackupError::Damaged(
                        "more data after its last record".into(),
                    ));
                }
                Err(e) => return Err(BackupError::Damaged(e.to_string())),
            }
        }
        Ok(records)
    }
}

/// Reads the backup `input` with `passphrase` to its end without restoring it: its
/// keys match its id, every record is there and the file is intact, and its
/// audit log verifies under its data key. Nothing is written anywhere.
pub fn verify(input: impl Read, passphrase: SecretString) -> Result<BackupSummary, BackupError> {
    let mut reader = Reader::open(input, passphrase)?;
    let mut records = Vec::new();
    loop {
        let more = reader.next_records(4096)?;
        if more.is_empty() {
            break;
        }
        records.extend(more);
    }
    summarize(&reader.header, &Snapshot::new(records))
}

/// Opens the backup at `path` with `passphrase` and reads its header only: whose
/// passport it is. A quick check of the passphrase before a restore asks for
/// anything else (reading the whole file is [`verify_file`]'s job).
pub fn check_passphrase(path: &Path, passphrase: SecretString) -> Result<PassportId, BackupError> {
    let file = std::fs::File::open(path).map_err(|source| BackupError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    Ok(Reader::open(BufReader::new(file), passphrase)?.header.id)
}

/// [`verify`] for the file at `path`.
pub fn verify_file(path: &Path, passphrase: SecretString) -> Result<BackupSummary, BackupError> {
    let file = std::fs::File::open(path).map_err(|source| BackupError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    verify(BufReader::new(file), passphrase)
}

/// What `header` says and what `storage`, its records, hold, with the audit
/// chain checked under the backup's data key.
fn summarize(header: &Header, storage: &dyn Storage) -> Result<BackupSummary, BackupError> {
    let count =
        |prefix: &[u8]| -> Result<u64, NodeError> { Ok(storage.scan_prefix(prefix)?.len() as u64) };
    let audit = crate::audit::verify(storage, &header.keys().data_key)?;
    Ok(BackupSummary {
        id: header.id,
        made_at: header.made_at,
        epoch: header.epoch,
        records: header.records,
        fields: count(FIELDS)?,
        grants_given: count(GRANTS_GIVEN)?,
        grants_held: count(GRANTS_HELD)?,
        audit_entries: audit.entries,
        audit_intact: audit.is_intact(),
        has_config: header.config.is_some(),
    })
}

#[cfg(test)]
mod tests;
