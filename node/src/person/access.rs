//! Asking a merchant "what do you hold about me?" (GDPR art. 15) and keeping
//! its signed answer: the newest statement per merchant.

use passport_protocol::{
    AccessRequest, AccessStatement, Body, MessageId, PassportId, Timestamp, Verified,
    decode_trusted,
};
use serde::{Deserialize, Serialize};

use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx},
};

/// Access requests sent and not yet answered, by id.
const ASKED_PREFIX: &[u8] = b"ax/";
/// The newest statement from each merchant.
const STATEMENT_PREFIX: &[u8] = b"as/";

fn asked_key(id: &MessageId) -> Vec<u8> {
    [ASKED_PREFIX, id.as_bytes()].concat()
}

fn statement_key(merchant: &PassportId) -> Vec<u8> {
    [STATEMENT_PREFIX, merchant.public_key_bytes()].concat()
}

/// An access request on its way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Asked {
    merchant: PassportId,
    sent_at: Timestamp,
}

/// A statement as kept: the signed message, proof of what the merchant said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KeptStatement {
    received_at: Timestamp,
    #[serde(with = "serde_bytes")]
    message: Vec<u8>,
}

/// A merchant's answer to "what do you hold about me?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Who answered.
    pub merchant: PassportId,
    /// When the answer arrived.
    pub received_at: Timestamp,
    /// The id of the signed answer.
    pub message_id: MessageId,
    /// What it says.
    pub statement: AccessStatement,
    /// The signed message (proof of what the merchant said).
    pub message: Vec<u8>,
}

impl Node {
    /// Asks `merchant` what it holds about this person. Returns the request to
    /// send; the answer comes back on the same exchange.
    pub fn request_access(
        &self,
        merchant: PassportId,
        reason: Option<String>,
        now: Timestamp,
    ) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let lifetime = tx.node.config().message_lifetime_secs;
            let (bytes, id) = tx.sign(
                merchant,
                lifetime,
                Body::AccessRequest(AccessRequest { reason }),
            )?;
            tx.put(
                asked_key(&id),
                &Asked {
                    merchant,
                    sent_at: now,
                },
            );
            tx.audit(
                AuditEvent::AccessRequested { to: merchant },
                Some(bytes.clone()),
            );
            Ok(tx.send_later(Outgoing {
                to: merchant,
                reply_to: Vec::new(),
                bytes,
            }))
        })
    }

    /// The newest statement `merchant` sent, if any.
    pub fn access_statement(&self, merchant: &PassportId) -> Result<Option<Statement>, NodeError> {
        let Some(kept) = self.get::<KeptStatement>(&statement_key(merchant))? else {
            return Ok(None);
        };
        let message = decode_trusted(&kept.message)?;
        let message_id = message.claims.id;
        let Body::AccessStatement(statement) = message.body else {
            return Err(NodeError::CorruptRecord {
                key: "as/".into(),
                detail: "not an access statement",
            });
        };
        Ok(Some(Statement {
            merchant: *merchant,
            received_at: kept.received_at,
            message_id,
            statement,
            message: kept.message,
        }))
    }
}

impl Tx<'_> {
    pub(crate) fn on_access_statement(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let merchant = *verified.signer();
        let Body::AccessStatement(statement) = &verified.message().body else {
            unreachable!("dispatched on kind")
        };
        // Only an answer to a question this person asked that merchant.
        let key = asked_key(&statement.in_reply_to);
        if self
            .get::<Asked>(&key)?
            .is_none_or(|asked| asked.merchant != merchant)
        {
            return Err(NodeError::NotYours { from: merchant });
        }
        self.delete(key);
        self.put(
            statement_key(&merchant),
            &KeptStatement {
                received_at: self.now,
                message: bytes.to_vec(),
            },
        );
        self.audit(
            AuditEvent::AccessStatementReceived {
                from: merchant,
                grants: statement.grants.len() as u64,
            },
            Some(bytes.to_vec()),
        );
        Ok(Reply::Nothing)
    }
}
