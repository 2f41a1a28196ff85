//! [`PassportError`]: what can go wrong behind a [`Passport`](super::Passport) call.

use crate::{
    backup::{BackupError, copies::OtherCopy},
    error::NodeError,
    net::NetError,
};

/// What can go wrong behind a [`Passport`](super::Passport) call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PassportError {
    /// The node core refused or failed (an unknown grant, a full inbox, storage…).
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The network failed or the other node refused.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The call needs the network and this handle runs without one.
    #[error("this needs the network, and the node is not running: start it with `passport node`")]
    Offline,
    /// The message is being delivered already (by an earlier call or a sweep).
    #[error("this message is being delivered already")]
    AlreadySending,
    /// The store work was cancelled or panicked; nothing half-done was kept.
    #[error("the node's work was interrupted: {0}")]
    Interrupted(String),
    /// Another live copy of this passport outranks this one (a restore made
    /// elsewhere): this copy does not start its network.
    #[error("{0}")]
    OtherCopy(OtherCopy),
    /// A backup could not be made.
    #[error(transparent)]
    Backup(#[from] BackupError),
}
