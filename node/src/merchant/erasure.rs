//! The merchant's erasures: on a revocation, an erase request or a grant's end,
//! the node erases its copy, tells the backend, and signs a deletion receipt at
//! once, or, with `[merchant] confirm_erasure`, once the backend confirms.

use passport_protocol::{
    Body, DeletionCause, DeletionReceipt, GrantId, PassportId, Timestamp, Verified,
};
use serde::{Deserialize, Serialize};

use super::{RECEIVED_PREFIX, ReceivedGrant, received_key};
use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx, ended},
    webhook::WebhookPayload,
};

/// Erasures done on the node whose receipt waits for the backend, by grant.
const AWAITING_PREFIX: &[u8] = b"x/";

fn awaiting_key(id: &GrantId) -> Vec<u8> {
    [AWAITING_PREFIX, id.as_bytes()].concat()
}

/// Whether the erasure of grant `id` waits for the backend's confirmation.
pub(super) fn is_awaiting_backend(tx: &Tx<'_>, id: &GrantId) -> Result<bool, NodeError> {
    Ok(tx.get::<AwaitingErasure>(&awaiting_key(id))?.is_some())
}

/// An erasure the node did whose receipt waits for the backend's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitingErasure {
    /// The grant erased.
    pub grant_id: GrantId,
    /// The person.
    pub person: PassportId,
    /// When the node erased it.
    pub erased_at: Timestamp,
    #[serde(with = "cause_serde")]
    pub(crate) deletion_cause: DeletionCause,
}

/// [`DeletionCause`] in the store: the protocol type has no serde.
mod cause_serde {
    use passport_protocol::{DeletionCause, MessageId};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    enum Stored {
        Expired,
        Revoked(#[serde(with = "serde_bytes")] [u8; 16]),
        EraseRequested(#[serde(with = "serde_bytes")] [u8; 16]),
    }

    pub(super) fn serialize<S: Serializer>(cause: &DeletionCause, s: S) -> Result<S::Ok, S::Error> {
        match cause {
            DeletionCause::Expired => Stored::Expired,
            DeletionCause::Revoked(id) => Stored::Revoked(*id.as_bytes()),
            DeletionCause::EraseRequested(id) => Stored::EraseRequested(*id.as_bytes()),
        }
        .serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DeletionCause, D::Error> {
        Ok(match Stored::deserialize(d)? {
            Stored::Expired => DeletionCause::Expired,
            Stored::Revoked(id) => DeletionCause::Revoked(MessageId::from_bytes(id)),
            Stored::EraseRequested(id) => DeletionCause::EraseRequested(MessageId::from_bytes(id)),
        })
    }
}

impl AwaitingErasure {
    /// Why: `revoked`, `expired` or `erase_requested`.
    pub fn cause(&self) -> &'static str {
        match self.deletion_cause {
            DeletionCause::Expired => "expired",
            DeletionCause::Revoked(_) => "revoked",
            DeletionCause::EraseRequested(_) => "erase_requested",
        }
    }
}

impl Node {
    /// Erasures done on the node whose receipt waits for the backend, oldest first.
    pub fn unconfirmed_erasures(&self) -> Result<Vec<AwaitingErasure>, NodeError> {
        let mut awaiting: Vec<AwaitingErasure> = self
            .scan::<AwaitingErasure>(AWAITING_PREFIX)?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        awaiting.sort_by_key(|a| a.erased_at);
        Ok(awaiting)
    }

    /// The backend confirms it erased its own copies of `grant_id`'s data: the node
    /// signs the deletion receipt, saying so, and returns it to send.
    pub fn confirm_erasure(
        &self,
        grant_id: &GrantId,
        now: Timestamp,
    ) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            tx.confirm_erasure(grant_id)?.ok_or_else(|| {
                if tx
                    .get::<ReceivedGrant>(&received_key(grant_id))
                    .ok()
                    .flatten()
                    .is_some()
                {
                    NodeError::NoErasureWaiting(*grant_id)
                } else {
                    NodeError::UnknownGrant(*grant_id)
                }
            })
        })
    }
}

impl Tx<'_> {
    /// A Revoke (one grant) or an EraseRequest (everything from the sender): erase,
    /// then answer with a signed receipt.
    pub(crate) fn on_erasure(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let person = *verified.signer();
        let message_id = verified.message().claims.id;
        let (cause, targets): (_, Vec<GrantId>) = match &verified.message().body {
            Body::Revoke(revoke) => {
                let grant = self
                    .get::<ReceivedGrant>(&received_key(&revoke.grant_id))?
                    .filter(|g| g.person == person)
                    .ok_or(NodeError::NotYours { from: person })?;
                (DeletionCause::Revoked(message_id), vec![grant.grant_id])
            }
            Body::EraseRequest(_) => {
                let all = self.scan::<ReceivedGrant>(RECEIVED_PREFIX)?;
                let ids = all
                    .into_iter()
                    .filter(|(_, g)| g.person == person)
                    .map(|(_, g)| g.grant_id)
                    .collect();
                (DeletionCause::EraseRequested(message_id), ids)
            }
            other => {
                return Err(NodeError::UnexpectedKind {
                    expected: "revoke or erase request",
                    got: other.kind().name(),
                });
            }
        };
        self.audit(
            AuditEvent::ErasureDemanded {
                message: message_id,
                from: person,
            },
            Some(bytes.to_vec()),
        );
        let receipt = self.erase_and_receipt(person, &targets, cause, true)?;
        Ok(receipt.map_or(Reply::Nothing, Reply::Message))
    }

    /// Erases the data of `grants` (all from `person`), tells the backend, and
    /// returns a signed receipt; or, when the backend must confirm first
    /// (`[merchant] confirm_erasure`), none yet: [`Tx::confirm_erasure`] signs it.
    fn erase_and_receipt(
        &mut self,
        person: PassportId,
        grants: &[GrantId],
        cause: DeletionCause,
        revoked: bool,
    ) -> Result<Option<Vec<u8>>, NodeError> {
        for id in grants {
            let key = received_key(id);
            if let Some(mut grant) = self.get::<ReceivedGrant>(&key)? {
                // Without its key, the signed grant kept as proof opens for no one.
                if grant.opening_key.take().is_none() {
                    grant.grant = None;
                }
                grant.latest_update = None;
                grant.erased_at = grant.erased_at.or(Some(self.now));
                if revoked {
                    grant.revoked_at = grant.revoked_at.or(Some(self.now));
                }
                self.put(key, &grant);
            }
        }
        let confirm = self.node.config().confirm_erasure;
        let grant_ids = grants.to_vec();
        let payload = match cause {
            DeletionCause::Revoked(_) => WebhookPayload::GrantRevoked {
                grant_ids,
                person,
                confirm_erasure: confirm,
            },
            DeletionCause::Expired => WebhookPayload::GrantExpired {
                grant_ids,
                person,
                confirm_erasure: confirm,
            },
            DeletionCause::EraseRequested(_) => WebhookPayload::EraseRequested {
                grant_ids,
                person,
                confirm_erasure: confirm,
            },
        };
        if confirm && !grants.is_empty() {
            for id in grants {
                self.put(
                    awaiting_key(id),
                    &AwaitingErasure {
                        grant_id: *id,
                        person,
                        erased_at: self.now,
                        deletion_cause: cause,
                    },
                );
            }
            self.audit(
                AuditEvent::ErasureAwaitingBackend {
                    grants: grants.to_vec(),
                    about: person,
                },
                None,
            );
            self.notify_backend(Some(person), payload)?;
            return Ok(None);
        }
        let bytes = self.sign_receipt(person, grants.to_vec(), cause, self.now, false)?;
        self.notify_backend(Some(person), payload)?;
        Ok(Some(bytes))
    }

    fn sign_receipt(
        &mut self,
        person: PassportId,
        grants: Vec<GrantId>,
        cause: DeletionCause,
        erased_at: Timestamp,
        backend_confirmed: bool,
    ) -> Result<Vec<u8>, NodeError> {
        let lifetime = self.node.config().message_lifetime_secs;
        let body = Body::DeletionReceipt(DeletionReceipt {
            cause,
            grant_ids: grants.clone(),
            erased_at,
            backend_confirmed,
        });
        let (bytes, receipt) = self.sign(person, lifetime, body)?;
        self.audit(
            AuditEvent::DataErased {
                grants,
                about: person,
                receipt,
            },
            Some(bytes.clone()),
        );
        Ok(bytes)
    }

    /// Signs the receipt of an erasure that waited for the backend, saying it
    /// confirmed, and queues it; `None` if none waits for `grant_id`.
    pub(crate) fn confirm_erasure(
        &mut self,
        grant_id: &GrantId,
    ) -> Result<Option<Outgoing>, NodeError> {
        let key = awaiting_key(grant_id);
        let Some(awaiting) = self.get::<AwaitingErasure>(&key)? else {
            return Ok(None);
        };
        self.delete(key);
        let bytes = self.sign_receipt(
            awaiting.person,
            vec![*grant_id],
            awaiting.deletion_cause,
            awaiting.erased_at,
            true,
        )?;
        Ok(Some(self.send_later(Outgoing {
            to: awaiting.person,
            reply_to: Vec::new(),
            bytes,
        })))
    }

    /// Erases grants past their end plus retention; one receipt per person.
    pub(crate) fn erase_expired_grants(&mut self) -> Result<Vec<Outgoing>, NodeError> {
        let mut due: std::collections::BTreeMap<PassportId, Vec<GrantId>> = Default::default();
        for (_, grant) in self.scan::<ReceivedGrant>(RECEIVED_PREFIX)? {
            if grant.erased_at.is_none() && ended(grant.erase_by(), self.now) {
                due.entry(grant.person).or_default().push(grant.grant_id);
            }
        }
        let mut out = Vec::new();
        for (person, grants) in due {
            let receipt = self.erase_and_receipt(person, &grants, DeletionCause::Expired, false)?;
            if let Some(bytes) = receipt {
                out.push(self.send_later(Outgoing {
                    to: person,
                    reply_to: Vec::new(),
                    bytes,
                }));
            }
        }
        Ok(out)
    }
}
