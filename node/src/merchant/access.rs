//! Answering "what do you hold about me?": every grant this node holds from the
//! person who asks, in a signed statement, at once.

use passport_protocol::{
    AccessStatement, Body, Erasure, GrantState, HeldGrant, Verified, access::MAX_STATEMENT_GRANTS,
};

use super::{RECEIVED_PREFIX, ReceivedGrant, erasure::is_awaiting_backend};
use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Reply, Tx, ended},
};

impl Tx<'_> {
    pub(crate) fn on_access_request(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let person = *verified.signer();
        let request_id = verified.message().claims.id;
        let mut held: Vec<ReceivedGrant> = self
            .scan::<ReceivedGrant>(RECEIVED_PREFIX)?
            .into_iter()
            .map(|(_, g)| g)
            .filter(|g| g.person == person)
            .collect();
        if held.is_empty() {
            // Only the person asks about themselves (the signature says who
            // asks); someone this node holds nothing from gets nothing.
            self.audit(
                AuditEvent::AccessRefused {
                    from: person,
                    reason: "nothing held from them".into(),
                },
                Some(bytes.to_vec()),
            );
            self.refuse_after_commit(NodeError::NotYours { from: person });
            return Ok(Reply::Nothing);
        }
        held.sort_by_key(|g| std::cmp::Reverse(g.received_at));
        held.truncate(MAX_STATEMENT_GRANTS);
        let confirm = self.node.config().confirm_erasure;
        let mut grants = Vec::with_capacity(held.len());
        for g in held {
            let erasure = match g.erased_at {
                None => Erasure::NotErased,
                Some(_) if is_awaiting_backend(self, &g.grant_id)? => Erasure::AwaitingTheBackend,
                Some(_) if confirm => Erasure::ConfirmedByTheBackend,
                Some(_) => Erasure::ByTheNode,
            };
            let state = if g.erased_at.is_some() {
                GrantState::Erased
            } else if g.revoked_at.is_some() {
                GrantState::Revoked
            } else if ended(g.expires_at, self.now) {
                GrantState::Expired
            } else {
                GrantState::Live
            };
            grants.push(HeldGrant {
                grant_id: g.grant_id,
                fields: g.fields,
                purpose: g.terms.purpose,
                received_at: g.received_at,
                expires_at: g.expires_at,
                state,
                revoked_at: g.revoked_at,
                erased_at: g.erased_at,
                erasure,
            });
        }
        let count = grants.len();
        let lifetime = self.node.config().message_lifetime_secs;
        let (statement, _) = self.sign(
            person,
            lifetime,
            Body::AccessStatement(AccessStatement {
                in_reply_to: request_id,
                grants,
            }),
        )?;
        self.audit(
            AuditEvent::AccessAnswered {
                to: person,
                grants: count as u64,
            },
            Some(statement.clone()),
        );
        Ok(Reply::Message(statement))
    }
}
