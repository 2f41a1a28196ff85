//! The sender's and the recipient's sides: signing deposits, drains and deletes,
//! and receiving what a drain brought.

use passport_protocol::{
    Claims, MessageId, PassportId, PeerRecord, ProtocolError, Timestamp,
    mailbox::{
        Delete, Deposit, Drain, MAILBOX_CONTROL_LIFETIME_SECS, MailboxBody, MailboxMessage,
        NONCE_BYTES, open_from_mailbox, seal_for_mailbox,
    },
    verify_offline,
};

use serde::{Deserialize, Serialize};

use super::Held;
use crate::{
    error::NodeError,
    node::{Node, Outgoing, Reply},
};

/// The id of the deposit of `message` at `mailbox`: the same for every retry, so
/// that a mailbox holds a message once however often it is deposited.
pub fn deposit_id(message: &[u8], mailbox: &PassportId) -> MessageId {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    hash.update(b"passport/v1 deposit id\0");
    hash.update(mailbox.to_string().as_bytes());
    hash.update(message);
    let digest = hash.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    MessageId::from_bytes(id)
}

/// What became of one drained deposit. Each outcome but an error is final: the
/// recipient deletes the deposit at the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drained {
    /// Received and committed; the answer, if it makes one, is in the outbox.
    Received {
        /// The message's kind.
        kind: &'static str,
        /// The answer to send back (a decision, an update, a receipt).
        answer: Option<Outgoing>,
    },
    /// Received before (from another mailbox, or directly).
    Duplicate,
    /// Refused by the normal checks (expired, not for this node, forged…): kept
    /// nowhere, with the reason.
    Refused(String),
}

/// Where a mailbox this node uses was last found: kept so that a node back online
/// drains at once, without a DHT lookup first (under `mr/`, encrypted).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KnownMailbox {
    peers: Vec<serde_bytes::ByteBuf>,
    addresses: Vec<String>,
    seal_key: passport_protocol::SealingPublicKey,
    issued_at: Timestamp,
    expires_at: Timestamp,
}

fn known_mailbox_key(id: &PassportId) -> Vec<u8> {
    [b"mr/".as_slice(), id.public_key_bytes()].concat()
}

impl Node {
    /// Remembers where mailbox `record.id` was found (a record verified by the
    /// lookup that found it).
    pub fn remember_mailbox(&self, record: &PeerRecord, now: Timestamp) -> Result<(), NodeError> {
        let known = KnownMailbox {
            peers: record
                .peers
                .iter()
                .cloned()
                .map(serde_bytes::ByteBuf::from)
                .collect(),
            addresses: record.addresses.clone(),
            seal_key: record.seal_key,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
        };
        self.tx(now, |tx| {
            tx.put(known_mailbox_key(&record.id), &known);
            Ok(())
        })
    }

    /// Where mailbox `id` was last found, while that record is valid.
    pub fn known_mailbox(
        &self,
        id: &PassportId,
        now: Timestamp,
    ) -> Result<Option<PeerRecord>, NodeError> {
        Ok(self
            .get::<KnownMailbox>(&known_mailbox_key(id))?
            .filter(|k| k.expires_at > now)
            .map(|k| PeerRecord {
                id: *id,
                sequence: 0,
                peers: k
                    .peers
                    .into_iter()
                    .map(serde_bytes::ByteBuf::into_vec)
                    .collect(),
                addresses: k.addresses,
                seal_key: k.seal_key,
                mailboxes: Vec::new(),
                issued_at: k.issued_at,
                expires_at: k.expires_at,
            }))
    }

    /// Signs the deposit of `message` (signed by this node, for the passport whose
    /// verified record is `recipient`) at `mailbox`: the message sealed to the
    /// recipient, held until the message expires.
    pub fn sign_deposit(
        &self,
        mailbox: &PassportId,
        recipient: &PeerRecord,
        message: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, NodeError> {
        let mut signed =
            self.sign_deposits(std::slice::from_ref(mailbox), recipient, message, now)?;
        Ok(signed.remove(0))
    }

    /// [`Node::sign_deposit`] at each of `mailboxes`, in order, sealing the
    /// message once: the seal is bound to the recipient, not to the mailbox.
    pub fn sign_deposits(
        &self,
        mailboxes: &[PassportId],
        recipient: &PeerRecord,
        message: &[u8],
        now: Timestamp,
    ) -> Result<Vec<Vec<u8>>, NodeError> {
        let expires_at = passport_protocol::decode_trusted(message)?
            .claims
            .expires_at;
        let sealed = self
            .with_rng(|rng| seal_for_mailbox(message, &recipient.id, &recipient.seal_key, rng))?;
        mailboxes
            .iter()
            .map(|mailbox| {
                let claims = Claims {
                    issuer: self.id(),
                    audience: *mailbox,
                    issued_at: now,
                    not_before: None,
                    expires_at: expires_at.max(now),
                    id: deposit_id(message, mailbox),
                };
                self.sign_mailbox(
                    claims,
                    MailboxBody::Deposit(Deposit {
                        recipient: recipient.id,
                        sealed: sealed.clone(),
                    }),
                )
            })
            .collect()
    }

    /// Signs a drain of `mailbox`, answering its challenge `nonce` from the
    /// connection whose local PeerId is `peer`.
    pub fn sign_drain(
        &self,
        mailbox: &PassportId,
        nonce: [u8; NONCE_BYTES],
        peer: Vec<u8>,
        now: Timestamp,
    ) -> Result<Vec<u8>, NodeError> {
        let claims = self.control_claims(mailbox, now);
        self.sign_mailbox(claims, MailboxBody::Drain(Drain { nonce, peer }))
    }

    /// Signs the delete of deposits `ids` at `mailbox` (see [`Node::sign_drain`]).
    pub fn sign_delete(
        &self,
        mailbox: &PassportId,
        nonce: [u8; NONCE_BYTES],
        peer: Vec<u8>,
        ids: Vec<MessageId>,
        now: Timestamp,
    ) -> Result<Vec<u8>, NodeError> {
        let claims = self.control_claims(mailbox, now);
        self.sign_mailbox(claims, MailboxBody::Delete(Delete { nonce, peer, ids }))
    }

    fn control_claims(&self, mailbox: &PassportId, now: Timestamp) -> Claims {
        self.with_rng(|rng| {
            Claims::new(self.id(), *mailbox, now, MAILBOX_CONTROL_LIFETIME_SECS, rng)
        })
    }

    fn sign_mailbox(&self, claims: Claims, body: MailboxBody) -> Result<Vec<u8>, NodeError> {
        Ok(MailboxMessage { claims, body }.sign(&self.keys().identity)?)
    }

    /// Opens a drained deposit and receives the message in it through the normal
    /// path (signature, audience, time and replay checks unchanged). An answer it
    /// makes goes into the outbox in the same transaction, since no connection
    /// waits for it. `Err` only when this node could not decide (its store
    /// failed, its inbox is full): the deposit stays at the mailbox for the next
    /// drain.
    pub fn receive_from_mailbox(&self, held: &Held, now: Timestamp) -> Result<Drained, NodeError> {
        let refused = |e: &dyn std::fmt::Display| Ok(Drained::Refused(e.to_string()));
        let message = match open_from_mailbox(&held.sealed, &self.id(), &self.keys().sealing) {
            Ok(message) => message,
            Err(e) => return refused(&e),
        };
        let verified = match verify_offline(&message) {
            Ok(verified) => verified,
            Err(e) => return refused(&e),
        };
        let from = verified.claims.issuer;
        let kind = verified.body.kind().name();
        let received = self.tx(now, |tx| {
            Ok(match tx.receive(verified, &message)? {
                Reply::Message(bytes) => Some(tx.send_later(Outgoing {
                    to: from,
                    reply_to: Vec::new(),
                    bytes,
                })),
                Reply::Pending(_) | Reply::Nothing => None,
            })
        });
        match received {
            Ok(answer) => Ok(Drained::Received { kind, answer }),
            Err(NodeError::Protocol(ProtocolError::Replayed { .. })) => Ok(Drained::Duplicate),
            Err(
                e @ (NodeError::Storage(_)
                | NodeError::Io { .. }
                | NodeError::InboxFull(_)
                | NodeError::Protocol(
                    ProtocolError::ReplayStoreFull { .. } | ProtocolError::ReplayStoreUnavailable,
                )),
            ) => Err(e),
            Err(e) => refused(&e),
        }
    }
}
