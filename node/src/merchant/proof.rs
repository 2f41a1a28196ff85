//! Proof of consent: the signed decision a merchant keeps for each grant, and the
//! index that lets a grant be named by its own id or by its decision's.

use passport_protocol::{GrantId, MessageId};

use super::{ReceivedGrant, received_key};
use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Tx},
};

/// The grant each decision carried, by the decision's message id (both sides).
const DECISION_PREFIX: &[u8] = b"d/";

fn decision_key(id: &MessageId) -> Vec<u8> {
    [DECISION_PREFIX, id.as_bytes()].concat()
}

impl Node {
    /// The grant `id` names: a grant's own id, or the id of the decision message
    /// that carried it (on either side). `None` if it names neither.
    pub fn grant_named(&self, id: [u8; 16]) -> Result<Option<GrantId>, NodeError> {
        let as_grant = GrantId::from_bytes(id);
        let known = self
            .get::<ReceivedGrant>(&received_key(&as_grant))?
            .is_some()
            || self.issued_grant(&as_grant)?.is_some();
        if known {
            return Ok(Some(as_grant));
        }
        self.get::<GrantId>(&decision_key(&MessageId::from_bytes(id)))
    }

    /// The signed decision that granted `grant_id`, kept as proof of consent: the
    /// person's signature over the request it answers, the fields, the terms and
    /// the end. Its sealed values cannot be opened once the grant's data is erased.
    pub fn grant_proof(&self, grant_id: &GrantId) -> Result<Vec<u8>, NodeError> {
        if let Some(grant) = self.get::<ReceivedGrant>(&received_key(grant_id))? {
            return grant.grant.ok_or(NodeError::GrantErased(*grant_id));
        }
        // The person's side keeps its decisions in the audit log.
        let issued = self
            .issued_grant(grant_id)?
            .ok_or(NodeError::UnknownGrant(*grant_id))?;
        let decision = self
            .audit_entries()?
            .into_iter()
            .find_map(|entry| match entry.event {
                AuditEvent::GrantIssued { grant, .. } if grant == issued.grant_id => entry.message,
                _ => None,
            });
        decision.ok_or(NodeError::UnknownGrant(*grant_id))
    }
}

impl Tx<'_> {
    /// Notes which grant a decision carried, so either id names it.
    pub(crate) fn index_decision(&mut self, decision: MessageId, grant: GrantId) {
        self.put(decision_key(&decision), &grant);
    }
}
