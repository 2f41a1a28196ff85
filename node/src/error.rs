//! [`NodeError`]: everything that can go wrong in the node core, each with a message
//! that says what to do.

use std::path::PathBuf;

use passport_protocol::{FieldName, GrantId, MessageId, PassportId, ProtocolError};

/// Why a node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The passphrase does not unlock this passport.
    #[error("wrong passphrase: it does not unlock the passport in {home}")]
    WrongPassphrase {
        /// The passport's home directory.
        home: PathBuf,
    },
    /// The key file does not unlock this passport.
    #[error("the key file {path} does not unlock this passport (was it replaced or edited?)")]
    WrongKeyFile {
        /// The key file.
        path: PathBuf,
    },
    /// A key file is readable by other users.
    #[error("the key file {path} is readable by other users (mode {mode:o}); run `chmod 600 {}`", path.display())]
    KeyFileTooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The passport was made with a passphrase but opened with a key file, or the reverse.
    #[error("this passport is locked with {expected}; open it with that instead")]
    WrongUnlockMethod {
        /// What the passport expects: "a passphrase" or "a key file".
        expected: &'static str,
    },
    /// `create` found a passport already there.
    #[error("a passport already exists in {home}; open it, or choose another directory")]
    AlreadyExists {
        /// The home directory.
        home: PathBuf,
    },
    /// `open` found no passport.
    #[error("no passport in {home}; create one first (`passport init`)")]
    NotFound {
        /// The home directory.
        home: PathBuf,
    },
    /// A file in the home directory is damaged or from an unknown version.
    #[error("{path} is damaged or was written by an unknown version: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A stored record failed to decrypt or decode.
    #[error("stored record {key:?} is damaged or was altered: {detail}")]
    CorruptRecord {
        /// The record's key.
        key: String,
        /// What is wrong.
        detail: &'static str,
    },
    /// The passphrase KDF parameters are out of range.
    #[error("invalid passphrase settings: {0}")]
    KdfParams(String),
    /// Reading or writing the home directory failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process has the store open.
    #[error(
        "the store in {path} is in use by another process, most likely a running `passport node`; use that node (its API), or stop it first"
    )]
    StoreInUse {
        /// The store's directory.
        path: PathBuf,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Storage(String),
    /// A received or built message was refused by the protocol rules.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The person has no value for a field.
    #[error("no field {0} in this passport; set it first (`passport set {0} VALUE`)")]
    UnknownField(FieldName),
    /// No grant with this id.
    #[error("no grant {0}")]
    UnknownGrant(GrantId),
    /// No pending request with this id.
    #[error("no pending request {0} (answered already, expired, or never received)")]
    UnknownRequest(MessageId),
    /// No policy with this id.
    #[error("no policy {0}")]
    UnknownPolicy(u64),
    /// The grant was revoked.
    #[error("grant {0} was revoked; its data may no longer be used")]
    GrantRevoked(GrantId),
    /// The grant expired.
    #[error("grant {0} expired; ask the person for a new one")]
    GrantExpired(GrantId),
    /// The grant's data was erased.
    #[error("grant {0}'s data was erased")]
    GrantErased(GrantId),
    /// The inbox is full for this merchant or in total.
    #[error("inbox full: {0}; the person must answer or wait for requests to expire")]
    InboxFull(&'static str),
    /// A message arrived from someone it should not come from.
    #[error("message from {from} concerns something that is not theirs")]
    NotYours {
        /// The sender.
        from: PassportId,
    },
    /// A message of an unexpected kind for this operation.
    #[error("expected a {expected} message, got a {got} message")]
    UnexpectedKind {
        /// What was expected.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
    /// No scoped API token with this id.
    #[error("no API token {0}: `passport token list` shows the tokens there are")]
    UnknownToken(String),
    /// A scoped API token could not be made as asked.
    #[error("cannot make the token: {0}")]
    TokenRefused(String),
    /// The person's choice is not possible (e.g. a field that was not asked for).
    #[error("cannot grant: {0}")]
    InvalidChoice(String),
    /// A setting or an argument that cannot be used as given; the message says how
    /// to fix it.
    #[error("{0}")]
    InvalidInput(String),
    /// No webhook with this id.
    #[error("no webhook {0}; `passport webhook list` shows them")]
    UnknownWebhook(String),
    /// No request with this id was sent by this node.
    #[error("no request {0} was sent by this node")]
    UnknownSentRequest(MessageId),
    /// A backend confirmed an erasure that is not waiting for it.
    #[error(
        "grant {0} has no erasure waiting for confirmation (it is live, or its receipt went out already)"
    )]
    NoErasureWaiting(GrantId),
    /// A mailbox refused, or a mailbox message was refused.
    #[error(transparent)]
    Mailbox(#[from] crate::mailbox::MailboxError),
    /// An attestation presented with a field does not vouch for it.
    #[error("the attestation presented for {field} is refused: {error}")]
    Attestation {
        /// The field.
        field: FieldName,
        /// Why.
        error: passport_protocol::AttestationError,
    },
    /// A delivery (data a merchant sends back) was refused; the refusal is in
    /// the audit log and nothing was stored.
    #[error("delivery refused: {0}")]
    DeliveryRefused(String),
    /// No data delivered with this id.
    #[error("no delivered data {0}; `passport data list` shows what there is")]
    UnknownDelivered(MessageId),
}

impl From<sled::Error> for NodeError {
    fn from(e: sled::Error) -> Self {
        Self::Storage(e.to_string())
    }
}
