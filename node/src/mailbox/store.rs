//! The mailbox's side: deposits held for recipients, in the node's own store
//! (encrypted at rest like every record; the deposits are sealed to their
//! recipients besides), under three prefixes:
//!
//! - `mb/<recipient key><deposit id>`: a deposit ([`Held`]);
//! - `mu/<recipient key>`: what is held for a recipient and until when it is
//!   served ([`MailboxUsage`]), updated in the transaction that changes it;
//! - `mt/<deposit id>`: a deposit deleted before its expiry, so that the same
//!   deposit sent again (a sender's retry) is not held twice.
//!
//! (A node that uses mailboxes keeps where it last found each under `mr/`: see
//! `recipient.rs`.)

use passport_protocol::{
    MessageId, PassportId, Timestamp,
    mailbox::{MailboxBody, MailboxMessage, NONCE_BYTES, verify_mailbox_message},
};
use serde::{Deserialize, Serialize};

use super::{MailboxError, MailboxSettings};
use crate::{error::NodeError, node::Node};

const HELD_PREFIX: &[u8] = b"mb/";
const USAGE_PREFIX: &[u8] = b"mu/";
const DELETED_PREFIX: &[u8] = b"mt/";

fn held_prefix(recipient: &PassportId) -> Vec<u8> {
    [HELD_PREFIX, recipient.public_key_bytes()].concat()
}

fn held_key(recipient: &PassportId, id: &MessageId) -> Vec<u8> {
    [HELD_PREFIX, recipient.public_key_bytes(), id.as_bytes()].concat()
}

fn usage_key(recipient: &PassportId) -> Vec<u8> {
    [USAGE_PREFIX, recipient.public_key_bytes()].concat()
}

fn deleted_key(id: &MessageId) -> Vec<u8> {
    [DELETED_PREFIX, id.as_bytes()].concat()
}

/// One deposit held for a recipient, as a drain hands it over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The deposit's id: what the recipient deletes it by.
    pub id: MessageId,
    /// Who deposited it.
    pub from: PassportId,
    /// When it was deposited.
    pub at: Timestamp,
    /// Until when the mailbox holds it.
    pub expires_at: Timestamp,
    /// The message, sealed to the recipient.
    #[serde(with = "serde_bytes")]
    pub sealed: Vec<u8>,
}

/// What a mailbox holds for one recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxUsage {
    /// Messages held.
    pub messages: u32,
    /// Their sealed bytes.
    pub bytes: u64,
    /// Deposits for the recipient are taken until then (its last drain plus
    /// [`MailboxSettings::registration_secs`]).
    pub served_until: Timestamp,
    /// Messages held, per sender.
    senders: Vec<(PassportId, u32)>,
}

impl MailboxUsage {
    fn sender_count(&self, sender: &PassportId) -> u32 {
        self.senders
            .iter()
            .find(|(s, _)| s == sender)
            .map_or(0, |(_, n)| *n)
    }

    fn add(&mut self, held: &Held) {
        self.messages += 1;
        self.bytes += held.sealed.len() as u64;
        match self.senders.iter_mut().find(|(s, _)| *s == held.from) {
            Some((_, n)) => *n += 1,
            None => self.senders.push((held.from, 1)),
        }
    }

    fn remove(&mut self, held: &Held) {
        self.messages = self.messages.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(held.sealed.len() as u64);
        if let Some((_, n)) = self.senders.iter_mut().find(|(s, _)| *s == held.from) {
            *n = n.saturating_sub(1);
        }
        self.senders.retain(|(_, n)| *n > 0);
    }
}

/// What a deposit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deposited {
    /// Stored, durably: the mailbox answers only after its commit.
    Stored,
    /// This very deposit was taken before (a retry): nothing more to do.
    AlreadyHeld,
}

fn verify(node: &Node, bytes: &[u8], now: Timestamp) -> Result<MailboxMessage, NodeError> {
    verify_mailbox_message(bytes, &node.id(), now)
        .map_err(|e| NodeError::Mailbox(MailboxError::Protocol(e)))
}

fn refuse<T>(e: MailboxError) -> Result<T, NodeError> {
    Err(NodeError::Mailbox(e))
}

impl Node {
    /// Takes a signed deposit (checked against `settings`' limits) and holds it
    /// for its recipient; durable when this returns.
    pub fn mailbox_deposit(
        &self,
        settings: &MailboxSettings,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<Deposited, NodeError> {
        if !settings.serve {
            return refuse(MailboxError::NotServing);
        }
        let message = verify(self, bytes, now)?;
        let MailboxBody::Deposit(deposit) = message.body else {
            return refuse(MailboxError::WrongKind {
                expected: "deposit",
                got: message.body.name(),
            });
        };
        let recipient = deposit.recipient;
        if recipient == self.id() {
            return refuse(MailboxError::ForMailboxItself);
        }
        let id = message.claims.id;
        let from = message.claims.issuer;
        self.tx(now, |tx| {
            if tx.get::<Held>(&held_key(&recipient, &id))?.is_some()
                || tx.get::<Timestamp>(&deleted_key(&id))?.is_some()
            {
                return Ok(Deposited::AlreadyHeld);
            }
            let mut usage = tx
                .get::<MailboxUsage>(&usage_key(&recipient))?
                .filter(|u| u.served_until >= now)
                .ok_or(NodeError::Mailbox(MailboxError::NotRegistered(recipient)))?;
            let max_bytes = settings.per_recipient_bytes();
            if usage.messages >= settings.per_recipient_messages
                || usage.bytes + deposit.sealed.len() as u64 > max_bytes
            {
                return refuse(MailboxError::Full {
                    held: usage.messages,
                    bytes: usage.bytes,
                    max_messages: settings.per_recipient_messages,
                    max_bytes,
                });
            }
            let from_sender = usage.sender_count(&from);
            if from_sender >= settings.per_sender_messages {
                return refuse(MailboxError::SenderQuota(from_sender));
            }
            let held = Held {
                id,
                from,
                at: now,
                expires_at: message
                    .claims
                    .expires_at
                    .min(now.plus_secs(settings.max_hold_secs)),
                sealed: deposit.sealed,
            };
            usage.add(&held);
            tx.put(usage_key(&recipient), &usage);
            tx.put(held_key(&recipient, &id), &held);
            Ok(Deposited::Stored)
        })
    }

    /// Hands the recipient what is held for it, oldest first, up to about
    /// `max_bytes` (always at least one deposit), and whether more is held. The
    /// signed drain must name `peer` (the connection's remote PeerId) and answer
    /// `nonce`, the challenge this peer was given. A drain serves its recipient
    /// from now on (up to [`MailboxSettings::max_recipients`]).
    #[allow(clippy::too_many_arguments)]
    pub fn mailbox_drain(
        &self,
        settings: &MailboxSettings,
        bytes: &[u8],
        peer: &[u8],
        nonce: &[u8; NONCE_BYTES],
        max_bytes: usize,
        now: Timestamp,
    ) -> Result<(Vec<Held>, bool), NodeError> {
        if !settings.serve {
            return refuse(MailboxError::NotServing);
        }
        let message = verify(self, bytes, now)?;
        let MailboxBody::Drain(drain) = &message.body else {
            return refuse(MailboxError::WrongKind {
                expected: "drain",
                got: message.body.name(),
            });
        };
        check_binding(&drain.nonce, &drain.peer, nonce, peer)?;
        let recipient = message.claims.issuer;
        if !settings.serve_only.is_empty() && !settings.serve_only.contains(&recipient) {
            return refuse(MailboxError::NotServed(recipient));
        }
        self.tx(now, |tx| {
            let key = usage_key(&recipient);
            let mut usage = match tx.get::<MailboxUsage>(&key)? {
                Some(usage) => usage,
                None => {
                    let served = tx.node.storage().scan_prefix(USAGE_PREFIX)?.len();
                    if served >= settings.max_recipients as usize {
                        return refuse(MailboxError::TooManyRecipients(settings.max_recipients));
                    }
                    MailboxUsage::default()
                }
            };
            usage.served_until = now.plus_secs(settings.registration_secs);
            let mut held: Vec<Held> = tx
                .scan::<Held>(&held_prefix(&recipient))?
                .into_iter()
                .map(|(_, h)| h)
                .collect();
            held.sort_by_key(|h| (h.at, h.id));
            let mut batch = Vec::new();
            let mut size = 0;
            let mut more = false;
            for h in held {
                if h.expires_at < now {
                    usage.remove(&h);
                    tx.delete(held_key(&recipient, &h.id));
                    continue;
                }
                if !batch.is_empty() && size + h.sealed.len() > max_bytes {
                    more = true;
                    break;
                }
                size += h.sealed.len();
                batch.push(h);
            }
            tx.put(key, &usage);
            Ok((batch, more))
        })
    }

    /// Drops the deposits a recipient has committed; returns how many were held.
    /// Like a drain, the signed delete must name `peer` and answer `nonce`.
    pub fn mailbox_delete(
        &self,
        settings: &MailboxSettings,
        bytes: &[u8],
        peer: &[u8],
        nonce: &[u8; NONCE_BYTES],
        now: Timestamp,
    ) -> Result<usize, NodeError> {
        if !settings.serve {
            return refuse(MailboxError::NotServing);
        }
        let message = verify(self, bytes, now)?;
        let MailboxBody::Delete(delete) = &message.body else {
            return refuse(MailboxError::WrongKind {
                expected: "delete",
                got: message.body.name(),
            });
        };
        check_binding(&delete.nonce, &delete.peer, nonce, peer)?;
        let recipient = message.claims.issuer;
        self.tx(now, |tx| {
            let key = usage_key(&recipient);
            let Some(mut usage) = tx.get::<MailboxUsage>(&key)? else {
                return Ok(0);
            };
            let mut deleted = 0;
            for id in &delete.ids {
                let held_at = held_key(&recipient, id);
                // Only the recipient's own deposits: the key is under its id.
                if let Some(held) = tx.get::<Held>(&held_at)? {
                    usage.remove(&held);
                    tx.delete(held_at);
                    tx.put(deleted_key(id), &held.expires_at);
                    deleted += 1;
                }
            }
            tx.put(key, &usage);
            Ok(deleted)
        })
    }

    /// Drops deposits past their hold time, the marks of deleted deposits past
    /// theirs, and recipients no longer served that hold nothing. Returns how many
    /// deposits were dropped undelivered.
    pub fn mailbox_sweep(&self, now: Timestamp) -> Result<usize, NodeError> {
        self.tx(now, |tx| {
            let mut dropped = 0;
            // Reads see the store as the transaction found it: changes add up here.
            let mut changed: Vec<(PassportId, MailboxUsage)> = Vec::new();
            for (key, held) in tx.scan::<Held>(HELD_PREFIX)? {
                if held.expires_at >= now {
                    continue;
                }
                let Some(recipient) = recipient_in(&key) else {
                    continue;
                };
                let at = match changed.iter().position(|(r, _)| *r == recipient) {
                    Some(at) => at,
                    None => {
                        let usage = tx
                            .get::<MailboxUsage>(&usage_key(&recipient))?
                            .unwrap_or_default();
                        changed.push((recipient, usage));
                        changed.len() - 1
                    }
                };
                changed[at].1.remove(&held);
                tx.delete(key);
                dropped += 1;
            }
            for (recipient, usage) in &changed {
                tx.put(usage_key(recipient), usage);
            }
            for (key, until) in tx.scan::<Timestamp>(DELETED_PREFIX)? {
                if until < now {
                    tx.delete(key);
                }
            }
            for (key, usage) in tx.scan::<MailboxUsage>(USAGE_PREFIX)? {
                if usage.served_until < now && usage.messages == 0 {
                    tx.delete(key);
                }
            }
            Ok(dropped)
        })
    }

    /// What this mailbox holds, per recipient.
    pub fn mailbox_usage(&self) -> Result<Vec<(PassportId, MailboxUsage)>, NodeError> {
        Ok(self
            .scan::<MailboxUsage>(USAGE_PREFIX)?
            .into_iter()
            .filter_map(|(key, usage)| {
                let bytes: [u8; 32] = key.get(USAGE_PREFIX.len()..)?.try_into().ok()?;
                Some((PassportId::from_public_key_bytes(&bytes).ok()?, usage))
            })
            .collect())
    }
}

/// The recipient a `mb/` key is under.
fn recipient_in(key: &[u8]) -> Option<PassportId> {
    let bytes: [u8; 32] = key
        .get(HELD_PREFIX.len()..HELD_PREFIX.len() + 32)?
        .try_into()
        .ok()?;
    PassportId::from_public_key_bytes(&bytes).ok()
}

/// A drain or delete must answer the challenge given to the connection's peer and
/// name that peer.
fn check_binding(
    signed_nonce: &[u8; NONCE_BYTES],
    signed_peer: &[u8],
    nonce: &[u8; NONCE_BYTES],
    peer: &[u8],
) -> Result<(), NodeError> {
    if signed_peer != peer {
        return refuse(MailboxError::WrongPeer);
    }
    if signed_nonce != nonce {
        return refuse(MailboxError::BadChallenge);
    }
    Ok(())
}
