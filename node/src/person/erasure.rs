//! Erasure: asking a merchant to erase everything it holds about the person, and
//! the deletion receipts it sends back.

use passport_protocol::{Body, EraseRequest, PassportId, Timestamp, Verified};

use super::grants::{GRANT_PREFIX, IssuedGrant, grant_key};
use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx},
};

impl Node {
    /// Asks a merchant to erase everything it holds about this person; every live
    /// grant to it ends now. Returns the erase request to send.
    pub fn erase(&self, merchant: &PassportId, now: Timestamp) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let mut reply_to = Vec::new();
            for (k, mut grant) in tx.scan::<IssuedGrant>(GRANT_PREFIX)? {
                if grant.merchant == *merchant && grant.revoked_at.is_none() {
                    grant.revoked_at = Some(now);
                    reply_to.clone_from(&grant.reply_to);
                    tx.put(k, &grant);
                }
            }
            let lifetime = tx.node.config().message_lifetime_secs;
            let (bytes, id) = tx.sign(
                *merchant,
                lifetime,
                Body::EraseRequest(EraseRequest { reason: None }),
            )?;
            tx.audit(
                AuditEvent::EraseRequested {
                    request: id,
                    to: *merchant,
                },
                Some(bytes.clone()),
            );
            Ok(tx.send_later(Outgoing {
                to: *merchant,
                reply_to,
                bytes,
            }))
        })
    }
}

impl Tx<'_> {
    pub(crate) fn on_receipt(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let merchant = *verified.signer();
        let receipt_id = verified.message().claims.id;
        let Body::DeletionReceipt(receipt) = &verified.message().body else {
            unreachable!("dispatched on kind")
        };
        for grant_id in &receipt.grant_ids {
            let mut grant = self
                .get::<IssuedGrant>(&grant_key(grant_id))?
                .filter(|g| g.merchant == merchant)
                .ok_or(NodeError::NotYours { from: merchant })?;
            grant.receipt = Some(receipt_id);
            self.put(grant_key(grant_id), &grant);
        }
        self.audit(
            AuditEvent::ReceiptReceived {
                grants: receipt.grant_ids.clone(),
                from: merchant,
                receipt: receipt_id,
                backend_confirmed: receipt.backend_confirmed,
            },
            Some(bytes.to_vec()),
        );
        Ok(Reply::Nothing)
    }
}
