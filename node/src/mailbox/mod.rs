//! Mailboxes: messages held for nodes that are offline.
//!
//! A node that serves as a mailbox (`[mailbox] serve = true`) holds deposits for
//! the passports that drain it, each sealed to its recipient: it learns sender,
//! recipient, size and time, never content. A node that uses mailboxes (`[mailbox]
//! use = [...]`) lists them in its peer record, so that a sender that cannot reach
//! it deposits there, and drains them when it starts, when it reconnects and every
//! [`MailboxSettings::drain_every_secs`].
//!
//! # Layout
//!
//! - this file: [`MailboxSettings`] (the `[mailbox]` section) and
//!   [`MailboxError`], the typed refusals a mailbox answers with.
//! - `store.rs`: the mailbox's side in the node core, sans I/O: deposit, drain,
//!   delete and sweep, with every limit enforced in the transaction that stores.
//! - `recipient.rs`: the other two sides in the node core: signing deposits (the
//!   sender) and drains and deletes (the recipient), and receiving a drained
//!   message through the normal verify path with its answer put in the outbox.

use passport_protocol::{PassportId, ProtocolError};
use serde::{Deserialize, Serialize};

mod recipient;
mod store;

pub use self::{
    recipient::{Drained, deposit_id},
    store::{Deposited, Held, MailboxUsage},
};

/// The `[mailbox]` section of `config.toml`. Every field says its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxSettings {
    /// Serve as a mailbox: hold sealed messages for the passports that drain
    /// here while their nodes are offline. Default: false. Relays and home
    /// servers are the natural mailboxes.
    pub serve: bool,
    /// Serve only these passports (a home server serving its owner's phone, say).
    /// Default: none, meaning anyone, up to [`MailboxSettings::max_recipients`].
    pub serve_only: Vec<PassportId>,
    /// The mailboxes this passport lists in its record, by passport id, in the
    /// order senders try them (at most 4). Default: none: a sender that cannot
    /// reach this node retries until the message expires.
    #[serde(rename = "use")]
    pub mailboxes: Vec<PassportId>,
    /// How often this node drains its mailboxes, besides at start and on
    /// reconnecting, in seconds. Default 300.
    pub drain_every_secs: u64,
    /// Passports a mailbox holds messages for at once. Default 1,024.
    pub max_recipients: u32,
    /// Bytes a mailbox holds in all. Each recipient has an equal share of it
    /// (`total_bytes / max_recipients`), so a flood of deposits for some cannot
    /// take the room of others. Default 1 GiB (1 MiB per recipient).
    pub total_bytes: u64,
    /// Messages held for one recipient. Default 256.
    pub per_recipient_messages: u32,
    /// Messages one sender may leave waiting for one recipient. Default 32.
    pub per_sender_messages: u32,
    /// Longest a deposit is held, whatever its own expiry, in seconds. Default
    /// 14 days (the oldest message a node accepts).
    pub max_hold_secs: u64,
    /// How long a passport stays served after its last drain, in seconds; deposits
    /// for a passport not served are refused. Default 30 days.
    pub registration_secs: u64,
}

impl Default for MailboxSettings {
    fn default() -> Self {
        Self {
            serve: false,
            serve_only: Vec::new(),
            mailboxes: Vec::new(),
            drain_every_secs: 300,
            max_recipients: 1024,
            total_bytes: 1 << 30,
            per_recipient_messages: 256,
            per_sender_messages: 32,
            max_hold_secs: passport_protocol::limits::MAX_MESSAGE_AGE_SECS,
            registration_secs: 30 * 86_400,
        }
    }
}

impl MailboxSettings {
    /// Bytes held for one recipient at most: its share of
    /// [`MailboxSettings::total_bytes`].
    pub fn per_recipient_bytes(&self) -> u64 {
        self.total_bytes / u64::from(self.max_recipients.max(1))
    }

    /// Checks the settings; the message says which key to fix.
    pub fn check(&self) -> Result<(), String> {
        if self.mailboxes.len() > passport_protocol::limits::MAX_RECORD_MAILBOXES {
            return Err(format!(
                "`use` lists {} mailboxes; a record holds at most {}",
                self.mailboxes.len(),
                passport_protocol::limits::MAX_RECORD_MAILBOXES
            ));
        }
        if self.drain_every_secs == 0 {
            return Err("`drain_every_secs` must be at least 1".into());
        }
        if self.serve
            && (self.max_recipients == 0
                || self.per_recipient_messages == 0
                || self.per_sender_messages == 0
                || self.per_recipient_bytes()
                    < passport_protocol::mailbox::MAX_MAILBOX_MESSAGE_BYTES as u64)
        {
            return Err(format!(
                "a mailbox must hold at least one message of the largest size for each recipient: `total_bytes / max_recipients` is {} bytes, under {}",
                self.per_recipient_bytes(),
                passport_protocol::mailbox::MAX_MAILBOX_MESSAGE_BYTES
            ));
        }
        Ok(())
    }
}

/// Why a mailbox refused, in words the sender or recipient can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailboxError {
    /// This node is not a mailbox.
    #[error("this node does not serve as a mailbox (`[mailbox] serve = true` turns it on)")]
    NotServing,
    /// The recipient has not drained here recently, so nothing is held for it.
    #[error(
        "this mailbox does not hold messages for {0}: its node has not drained here lately (it lists the mailboxes it drains in its record)"
    )]
    NotRegistered(PassportId),
    /// The mailbox serves a fixed list of passports, and not this one.
    #[error("this mailbox serves only the passports it was set up for, not {0}")]
    NotServed(PassportId),
    /// Every recipient slot is taken.
    #[error("this mailbox serves its maximum of {0} passports; use another mailbox")]
    TooManyRecipients(u32),
    /// The recipient's share is used up.
    #[error(
        "mailbox full for this recipient: {held} messages, {bytes} bytes held (at most {max_messages} and {max_bytes}); it must drain first"
    )]
    Full {
        /// Messages held for the recipient.
        held: u32,
        /// Bytes held for the recipient.
        bytes: u64,
        /// The most messages held for one recipient.
        max_messages: u32,
        /// The most bytes held for one recipient.
        max_bytes: u64,
    },
    /// This sender has left as many messages for this recipient as one may.
    #[error(
        "this sender has {0} messages waiting for this recipient already, the most one sender may leave; wait for the recipient to drain"
    )]
    SenderQuota(u32),
    /// A drain or delete did not answer the challenge this peer was given.
    #[error("the challenge is missing, used already or stale: ask the mailbox for a new one")]
    BadChallenge,
    /// A drain or delete names another peer than the connection's.
    #[error("the signed request names another peer than the connection's own")]
    WrongPeer,
    /// A message of a kind this operation does not take.
    #[error("a mailbox {got} was sent where a {expected} was expected")]
    WrongKind {
        /// What the operation takes.
        expected: &'static str,
        /// What came.
        got: &'static str,
    },
    /// The deposit is for this very node: it should have been sent directly.
    #[error("a deposit for the mailbox itself: send the message to it directly")]
    ForMailboxItself,
    /// The signed mailbox message failed the protocol's checks.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

#[cfg(test)]
mod tests;
