//! The person's standing policies: listing, adding and removing them.

use passport_protocol::Timestamp;

use crate::{
    audit::AuditEvent,
    consent::Policy,
    error::NodeError,
    node::{Node, Tx},
};

const POLICY_PREFIX: &[u8] = b"p/";

const NEXT_POLICY_KEY: &[u8] = b"meta/next_policy";

fn policy_key(id: u64) -> Vec<u8> {
    [POLICY_PREFIX, &id.to_be_bytes()[..]].concat()
}

impl Node {
    /// Standing policies.
    pub fn policies(&self) -> Result<Vec<Policy>, NodeError> {
        Ok(self
            .scan(POLICY_PREFIX)?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    /// Adds a standing policy (its `id` and `created_at` are assigned) and returns it.
    pub fn add_policy(&self, policy: Policy, now: Timestamp) -> Result<Policy, NodeError> {
        self.tx(now, |tx| tx.add_policy(policy))
    }

    /// Removes a standing policy.
    pub fn remove_policy(&self, id: u64, now: Timestamp) -> Result<(), NodeError> {
        self.tx(now, |tx| {
            if tx.get::<Policy>(&policy_key(id))?.is_none() {
                return Err(NodeError::UnknownPolicy(id));
            }
            tx.batch.delete(policy_key(id));
            tx.audit(
                AuditEvent::PolicyChanged {
                    policy: id,
                    added: false,
                },
                None,
            );
            Ok(())
        })
    }
}

impl Tx<'_> {
    pub(crate) fn add_policy(&mut self, mut policy: Policy) -> Result<Policy, NodeError> {
        let id = self
            .node
            .storage()
            .get(NEXT_POLICY_KEY)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(1, u64::from_be_bytes);
        policy.id = id;
        policy.created_at = self.now;
        self.batch
            .put(NEXT_POLICY_KEY.to_vec(), (id + 1).to_be_bytes().to_vec());
        self.put(policy_key(id), &policy);
        self.audit(
            AuditEvent::PolicyChanged {
                policy: id,
                added: true,
            },
            None,
        );
        Ok(policy)
    }
}
