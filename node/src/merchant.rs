//! The merchant's side: requests out, grants and updates in, data opened only while
//! a grant lives, erased by itself when a grant ends or on the person's demand, with
//! a signed deletion receipt each time.

use passport_protocol::{
    Body, DeletionCause, DeletionReceipt, Fetch, FieldName, FieldRequest, FieldValues, GrantId,
    MessageId, Offer, Outcome, PassportId, Request, Terms, Timestamp, Verified, decode_trusted,
};
use serde::{Deserialize, Serialize};

use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx, Unsettled, ended},
};

const SENT_PREFIX: &[u8] = b"q/";
const RECEIVED_PREFIX: &[u8] = b"r/";

fn sent_key(id: &MessageId) -> Vec<u8> {
    [SENT_PREFIX, id.as_bytes()].concat()
}

fn received_key(id: &GrantId) -> Vec<u8> {
    [RECEIVED_PREFIX, id.as_bytes()].concat()
}

/// What a merchant asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// The merchant's name, as the person will see it (marked unverified).
    pub requester_name: String,
    /// Fields, each with required/optional and a reason.
    pub fields: Vec<FieldRequest>,
    /// What for.
    pub purpose: String,
    /// Grant duration asked, in seconds.
    pub duration_secs: u64,
    /// Retention after the grant ends, in seconds.
    pub retention_secs: u64,
    /// What the merchant offers.
    pub offer: Option<Offer>,
    /// Where to answer (multiaddrs).
    pub reply_to: Vec<String>,
}

impl RequestSpec {
    /// A request from `requester_name` for `fields`, each required and without a
    /// stated reason, for `purpose`, for `duration_secs`; no retention, no offer.
    pub fn new(
        requester_name: &str,
        fields: impl IntoIterator<Item = FieldName>,
        purpose: &str,
        duration_secs: u64,
    ) -> Self {
        Self {
            requester_name: requester_name.into(),
            fields: fields
                .into_iter()
                .map(|name| FieldRequest {
                    name,
                    required: true,
                    reason: String::new(),
                })
                .collect(),
            purpose: purpose.into(),
            duration_secs,
            retention_secs: 0,
            offer: None,
            reply_to: Vec::new(),
        }
    }
}

/// Where a sent request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RequestStatus {
    /// No answer yet.
    Waiting,
    /// Granted.
    Granted {
        /// The grant.
        grant: GrantId,
    },
    /// Refused.
    Refused {
        /// The person's reason.
        reason: String,
    },
}

/// A request this merchant sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRequest {
    /// Its id.
    pub request_id: MessageId,
    /// The person.
    pub person: PassportId,
    /// Fields asked.
    pub fields: Vec<FieldName>,
    /// When sent.
    pub sent_at: Timestamp,
    /// Until when the person may answer.
    pub expires_at: Timestamp,
    /// The answer so far.
    pub status: RequestStatus,
}

/// A grant this merchant holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedGrant {
    /// Its id.
    pub grant_id: GrantId,
    /// The person.
    pub person: PassportId,
    /// Fields granted.
    pub fields: Vec<FieldName>,
    /// The person's terms.
    pub terms: Terms,
    /// When received.
    pub received_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// The signed grant, until erased.
    #[serde(with = "serde_bytes")]
    pub grant: Option<Vec<u8>>,
    /// The newest signed update, until erased.
    #[serde(with = "serde_bytes")]
    pub latest_update: Option<Vec<u8>>,
    /// When the person revoked it.
    pub revoked_at: Option<Timestamp>,
    /// When its data was erased.
    pub erased_at: Option<Timestamp>,
}

impl ReceivedGrant {
    /// When the data must be gone: the grant's end plus the retention the person
    /// allowed.
    pub fn erase_by(&self) -> Timestamp {
        self.expires_at.plus_secs(self.terms.retention_secs)
    }
}

/// A request recorded by [`Node::prepare_request`], perhaps not yet durable.
#[derive(Debug)]
pub(crate) struct PreparedRequest {
    /// The signed request, to send.
    pub(crate) bytes: Vec<u8>,
    /// Its id.
    pub(crate) request_id: MessageId,
    /// What to hand [`Node::settle`].
    pub(crate) unsettled: Unsettled,
}

impl Node {
    /// Makes and records a request to `person`. Returns the bytes to send.
    pub fn request(
        &self,
        person: PassportId,
        spec: RequestSpec,
        now: Timestamp,
    ) -> Result<Vec<u8>, NodeError> {
        self.request_with_id(person, spec, now)
            .map(|(bytes, _)| bytes)
    }

    /// Makes and records a request to `person`. Returns the bytes to send and the
    /// request's id.
    pub fn request_with_id(
        &self,
        person: PassportId,
        spec: RequestSpec,
        now: Timestamp,
    ) -> Result<(Vec<u8>, MessageId), NodeError> {
        let prepared = self.prepare_request(person, spec, now)?;
        self.settle(prepared.unsettled)?;
        Ok((prepared.bytes, prepared.request_id))
    }

    /// Makes and records a request to `person` without waiting for the record to be
    /// durable, so that the wait can share a flush with the answer's: send the
    /// bytes, store the answer if one comes back, then [`Node::settle`], which
    /// returns at once when storing the answer already made the request durable.
    /// Report the request as sent to no one before that.
    ///
    /// If the node dies before the record is durable, the person may hold a
    /// decision on a request this node no longer knows; nothing this node
    /// acknowledged is lost, which is the same as dying before the answer is
    /// stored.
    pub(crate) fn prepare_request(
        &self,
        person: PassportId,
        spec: RequestSpec,
        now: Timestamp,
    ) -> Result<PreparedRequest, NodeError> {
        let ((bytes, request_id), unsettled) = self.tx_deferred(now, |tx| {
            let fields: Vec<FieldName> = spec.fields.iter().map(|f| f.name.clone()).collect();
            let lifetime = tx.node.config().request_lifetime_secs;
            let body = Body::Request(Request {
                requester_name: spec.requester_name,
                fields: spec.fields,
                purpose: spec.purpose,
                duration_secs: spec.duration_secs,
                retention_secs: spec.retention_secs,
                offer: spec.offer,
                reply_to: spec.reply_to,
                seal_to: tx.node.sealing_public_key(),
            });
            let (bytes, request_id) = tx.sign(person, lifetime, body)?;
            tx.put(
                sent_key(&request_id),
                &SentRequest {
                    request_id,
                    person,
                    fields: fields.clone(),
                    sent_at: now,
                    expires_at: now.plus_secs(lifetime),
                    status: RequestStatus::Waiting,
                },
            );
            tx.audit(
                AuditEvent::RequestSent {
                    request: request_id,
                    to: person,
                    fields,
                },
                Some(bytes.clone()),
            );
            Ok((bytes, request_id))
        })?;
        Ok(PreparedRequest {
            bytes,
            request_id,
            unsettled,
        })
    }

    /// A sent request and its status.
    pub fn sent_request(&self, id: &MessageId) -> Result<Option<SentRequest>, NodeError> {
        self.get(&sent_key(id))
    }

    /// Grants held, newest first.
    pub fn received(&self) -> Result<Vec<ReceivedGrant>, NodeError> {
        let mut grants: Vec<ReceivedGrant> = self
            .scan(RECEIVED_PREFIX)?
            .into_iter()
            .map(|(_, g)| g)
            .collect();
        grants.sort_by_key(|g| std::cmp::Reverse(g.received_at));
        Ok(grants)
    }

    /// One grant held, by id.
    pub fn received_grant(&self, grant_id: &GrantId) -> Result<Option<ReceivedGrant>, NodeError> {
        self.get(&received_key(grant_id))
    }

    /// The values under a grant, newest first (the latest update, else the grant),
    /// only while the grant lives.
    pub fn open_grant(&self, grant_id: &GrantId, now: Timestamp) -> Result<FieldValues, NodeError> {
        let grant = self
            .get::<ReceivedGrant>(&received_key(grant_id))?
            .ok_or(NodeError::UnknownGrant(*grant_id))?;
        if grant.revoked_at.is_some() {
            return Err(NodeError::GrantRevoked(*grant_id));
        }
        if ended(grant.expires_at, now) {
            return Err(NodeError::GrantExpired(*grant_id));
        }
        let bytes = grant
            .latest_update
            .or(grant.grant)
            .ok_or(NodeError::GrantErased(*grant_id))?;
        open_values(self, &bytes)
    }

    /// Asks the person for the current values under a live grant. Returns the bytes
    /// to send.
    pub fn fetch(&self, grant_id: &GrantId, now: Timestamp) -> Result<Vec<u8>, NodeError> {
        self.tx(now, |tx| {
            let grant = tx
                .get::<ReceivedGrant>(&received_key(grant_id))?
                .ok_or(NodeError::UnknownGrant(*grant_id))?;
            if grant.revoked_at.is_some() {
                return Err(NodeError::GrantRevoked(*grant_id));
            }
            if ended(grant.expires_at, now) {
                return Err(NodeError::GrantExpired(*grant_id));
            }
            let lifetime = tx.node.config().message_lifetime_secs;
            let (bytes, _) = tx.sign(
                grant.person,
                lifetime,
                Body::Fetch(Fetch {
                    grant_id: *grant_id,
                }),
            )?;
            tx.audit(
                AuditEvent::FetchSent {
                    grant: *grant_id,
                    to: grant.person,
                },
                Some(bytes.clone()),
            );
            Ok(bytes)
        })
    }
}

fn open_values(node: &Node, bytes: &[u8]) -> Result<FieldValues, NodeError> {
    // Stored messages were verified on arrival and are sealed in the store: decode
    // without checking the signature again, and without time or replay checks.
    let message = decode_trusted(bytes)?;
    let (grant_id, sealed) = match &message.body {
        Body::Decision(d) => match &d.outcome {
            Outcome::Granted(g) => (g.grant_id, &g.sealed),
            Outcome::Refused { .. } => {
                return Err(NodeError::UnexpectedKind {
                    expected: "grant",
                    got: "refusal",
                });
            }
        },
        Body::Update(u) => (u.grant_id, &u.sealed),
        other => {
            return Err(NodeError::UnexpectedKind {
                expected: "grant",
                got: other.kind().name(),
            });
        }
    };
    Ok(sealed.open(&node.keys().sealing, &grant_id, &message.claims.audience)?)
}

impl Tx<'_> {
    pub(crate) fn on_decision(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let person = *verified.signer();
        let Body::Decision(decision) = &verified.message().body else {
            unreachable!("dispatched on kind")
        };
        let key = sent_key(&decision.request_id);
        let mut sent = self
            .get::<SentRequest>(&key)?
            .filter(|s| s.person == person)
            .ok_or(NodeError::NotYours { from: person })?;
        match &decision.outcome {
            Outcome::Granted(grant) => {
                // Refuse a grant this node cannot open, or whose sealed fields differ
                // from the ones it lists, before keeping anything.
                let values = verified.open_values(&self.node.keys().sealing).ok_or(
                    NodeError::UnexpectedKind {
                        expected: "grant",
                        got: "refusal",
                    },
                )??;
                if !values.keys().eq(grant
                    .fields
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>())
                {
                    return Err(NodeError::InvalidChoice(
                        "the grant's sealed fields differ from the fields it lists".into(),
                    ));
                }
                let expires_at = verified.message().claims.expires_at;
                self.put(
                    received_key(&grant.grant_id),
                    &ReceivedGrant {
                        grant_id: grant.grant_id,
                        person,
                        fields: grant.fields.clone(),
                        terms: grant.terms.clone(),
                        received_at: self.now,
                        expires_at,
                        grant: Some(bytes.to_vec()),
                        latest_update: None,
                        revoked_at: None,
                        erased_at: None,
                    },
                );
                sent.status = RequestStatus::Granted {
                    grant: grant.grant_id,
                };
                // The grant holds personal data (sealed): it stays out of the audit
                // log, which outlives erasure.
                self.audit(
                    AuditEvent::GrantReceived {
                        grant: grant.grant_id,
                        from: person,
                        fields: grant.fields.clone(),
                        expires_at,
                    },
                    None,
                );
            }
            Outcome::Refused { reason } => {
                sent.status = RequestStatus::Refused {
                    reason: reason.clone(),
                };
                self.audit(
                    AuditEvent::RefusalReceived {
                        request: decision.request_id,
                        from: person,
                        reason: reason.clone(),
                    },
                    Some(bytes.to_vec()),
                );
            }
        }
        self.put(key, &sent);
        Ok(Reply::Nothing)
    }

    pub(crate) fn on_update(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let person = *verified.signer();
        let Body::Update(update) = &verified.message().body else {
            unreachable!("dispatched on kind")
        };
        let key = received_key(&update.grant_id);
        let mut grant = self
            .get::<ReceivedGrant>(&key)?
            .filter(|g| g.person == person)
            .ok_or(NodeError::NotYours { from: person })?;
        if grant.revoked_at.is_some() || grant.erased_at.is_some() {
            return Err(NodeError::GrantRevoked(update.grant_id));
        }
        let values = verified.open_values(&self.node.keys().sealing).ok_or(
            NodeError::UnexpectedKind {
                expected: "grant",
                got: "refusal",
            },
        )??;
        if values.keys().any(|f| !grant.fields.contains(f)) {
            return Err(NodeError::InvalidChoice(
                "the update carries fields the grant does not cover".into(),
            ));
        }
        grant.latest_update = Some(bytes.to_vec());
        self.put(key, &grant);
        self.audit(
            AuditEvent::UpdateReceived {
                grant: update.grant_id,
                from: person,
            },
            None,
        );
        Ok(Reply::Nothing)
    }

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
        let revoked = matches!(
            cause,
            DeletionCause::Revoked(_) | DeletionCause::EraseRequested(_)
        );
        Ok(Reply::Message(
            self.erase_and_receipt(person, &targets, cause, revoked)?,
        ))
    }

    /// Erases the data of `grants` (all from `person`) and returns a signed receipt.
    fn erase_and_receipt(
        &mut self,
        person: PassportId,
        grants: &[GrantId],
        cause: DeletionCause,
        revoked: bool,
    ) -> Result<Vec<u8>, NodeError> {
        for id in grants {
            let key = received_key(id);
            if let Some(mut grant) = self.get::<ReceivedGrant>(&key)? {
                grant.grant = None;
                grant.latest_update = None;
                grant.erased_at = grant.erased_at.or(Some(self.now));
                if revoked {
                    grant.revoked_at = grant.revoked_at.or(Some(self.now));
                }
                self.put(key, &grant);
            }
        }
        let lifetime = self.node.config().message_lifetime_secs;
        let body = Body::DeletionReceipt(DeletionReceipt {
            cause,
            grant_ids: grants.to_vec(),
            erased_at: self.now,
        });
        let (bytes, receipt) = self.sign(person, lifetime, body)?;
        self.audit(
            AuditEvent::DataErased {
                grants: grants.to_vec(),
                about: person,
                receipt,
            },
            Some(bytes.clone()),
        );
        Ok(bytes)
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
            let bytes = self.erase_and_receipt(person, &grants, DeletionCause::Expired, false)?;
            let queued = self.send_later(Outgoing {
                to: person,
                reply_to: Vec::new(),
                bytes,
            });
            out.push(queued);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use passport_protocol::FieldValue;

    use super::*;
    use crate::{
        Home, KdfParams, NodeConfig, Reply, Unlock, consent::Policy, node::system_now as now,
    };

    fn sled_node(dir: &std::path::Path) -> Node {
        let home = Home::new(dir);
        home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
            .unwrap();
        Node::open(&home, &Unlock::KeyFile, NodeConfig::default()).unwrap()
    }

    #[test]
    fn a_prepared_request_becomes_durable_with_its_grant_in_one_flush() {
        let dir = tempfile::tempdir().unwrap();
        let person = sled_node(&dir.path().join("person"));
        let merchant = sled_node(&dir.path().join("merchant"));
        let t0 = now();
        let given: FieldName = "name.given".parse().unwrap();
        person
            .set_field(given.clone(), FieldValue::Text("Ada".into()), t0)
            .unwrap();
        person
            .add_policy(Policy::allow_normal_fields(Some(merchant.id())), t0)
            .unwrap();
        let spec = || RequestSpec::new("Brand X", [given.clone()], "delivery", 86_400);

        let flushes = || merchant.flush_stats().flushes;
        let before = flushes();
        let prepared = merchant.prepare_request(person.id(), spec(), t0).unwrap();
        // Recorded and visible, not yet flushed.
        let sent = merchant
            .sent_request(&prepared.request_id)
            .unwrap()
            .unwrap();
        assert_eq!(sent.status, RequestStatus::Waiting);
        assert_eq!(flushes(), before);

        let Reply::Message(grant) = person.receive(&prepared.bytes, t0).unwrap() else {
            panic!("expected a grant")
        };
        merchant.receive(&grant, t0).unwrap();
        // Storing the grant flushed the request with it: settling needs no flush.
        merchant.settle(prepared.unsettled).unwrap();
        assert_eq!(flushes(), before + 1);

        // Without an answer, settling is what flushes.
        let unanswered = merchant.prepare_request(person.id(), spec(), t0).unwrap();
        merchant.settle(unanswered.unsettled).unwrap();
        assert_eq!(flushes(), before + 2);
        assert!(merchant.verify_audit().unwrap().is_intact());
    }
}
