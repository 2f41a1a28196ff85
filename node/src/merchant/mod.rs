//! The merchant's side: requests out, grants and updates in, data opened only while
//! a grant lives, erased by itself when a grant ends or on the person's demand, with
//! a signed deletion receipt each time.

use passport_protocol::{
    Body, Fetch, FieldName, FieldRequest, FieldValues, GrantId, MessageId, Offer, Outcome,
    PassportId, Request, SealingKey, Terms, Timestamp, Verified, decode_trusted,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{
    audit::AuditEvent,
    data::attest::{AttestedField, check_presented},
    error::NodeError,
    node::{Node, Reply, Tx, Unsettled, ended},
    webhook::WebhookPayload,
};

mod access;
mod erasure;
mod proof;

pub use self::erasure::AwaitingErasure;

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
                    attested_by: Vec::new(),
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

/// Where a sent request stands. A late answer moves any of them to granted or
/// refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RequestStatus {
    /// Recorded; not yet taken by the person's node.
    Sending,
    /// Delivered; the person has not answered yet.
    Waiting,
    /// The person's node was offline: the request waits at its mailboxes.
    Queued {
        /// At how many mailboxes.
        mailboxes: u8,
    },
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
    /// Not answered before it expired.
    Expired,
    /// Could not be delivered.
    Failed {
        /// Why, as the network said.
        reason: String,
    },
}

impl RequestStatus {
    /// Whether the person may still answer it: sending, queued or waiting.
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Sending | Self::Queued { .. } | Self::Waiting)
    }

    /// Every state's name, in lifecycle order.
    pub const NAMES: [&'static str; 7] = [
        "sending", "queued", "waiting", "granted", "refused", "expired", "failed",
    ];

    /// Its name in the API and the CLI: one of [`RequestStatus::NAMES`].
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Waiting => "waiting",
            Self::Queued { .. } => "queued",
            Self::Granted { .. } => "granted",
            Self::Refused { .. } => "refused",
            Self::Expired => "expired",
            Self::Failed { .. } => "failed",
        }
    }
}

/// The secret half of the sealing key one request asked the person to seal to: the
/// only key that opens that grant's values. Dropping it is how erasure makes the
/// signed grant, which this node keeps as proof of consent, unreadable for good.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct OpeningKey(#[serde(with = "serde_bytes")] [u8; 32]);

impl OpeningKey {
    fn generate(rng: &mut rand_chacha::ChaCha20Rng) -> (Self, SealingKey) {
        let key = SealingKey::generate(rng);
        (Self(*key.to_secret_bytes()), key)
    }

    fn sealing_key(&self) -> SealingKey {
        SealingKey::from_secret_bytes(&self.0)
    }
}

impl std::fmt::Debug for OpeningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpeningKey(..)")
    }
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
    /// When the status last changed.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// The key the grant's values are sealed to, until a grant takes it over (or the
    /// request ends unanswered). Requests sent before per-request keys have none:
    /// their grants are sealed to the node's own sealing key.
    #[serde(default)]
    pub(crate) opening_key: Option<OpeningKey>,
    /// The issuers the request asked attestations by, per field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attested_by: BTreeMap<FieldName, Vec<PassportId>>,
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
    /// The signed grant, the proof of consent. Kept after erasure when the grant
    /// was sealed to a per-request key, since erasing that key leaves it unreadable;
    /// dropped on erasure otherwise.
    #[serde(with = "serde_bytes")]
    pub grant: Option<Vec<u8>>,
    /// The newest signed update, until erased.
    #[serde(with = "serde_bytes")]
    pub latest_update: Option<Vec<u8>>,
    /// When the person revoked it.
    pub revoked_at: Option<Timestamp>,
    /// When its data was erased.
    pub erased_at: Option<Timestamp>,
    /// The request it answers (grants received before this was kept have none).
    #[serde(default)]
    pub request_id: Option<MessageId>,
    /// The id of the signed decision that carried it.
    #[serde(default)]
    pub decision_id: Option<MessageId>,
    /// The key that opens its values while it lives.
    #[serde(default)]
    pub(crate) opening_key: Option<OpeningKey>,
    /// The fields that came with a valid attestation (by an issuer the
    /// request named), as of the newest grant or update.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attested: BTreeMap<FieldName, AttestedField>,
}

impl ReceivedGrant {
    /// Live: not revoked, not erased and not past its end.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.erased_at.is_none() && !ended(self.expires_at, now)
    }

    /// Whether this node can still open the grant's values: it holds the key the
    /// values are sealed to (or, for grants of requests sent before per-request
    /// keys, the signed grant itself). False once erased.
    pub fn can_open(&self) -> bool {
        self.erased_at.is_none() && (self.opening_key.is_some() || self.grant.is_some())
    }

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
            let attested_by = spec
                .fields
                .iter()
                .filter(|f| !f.attested_by.is_empty())
                .map(|f| (f.name.clone(), f.attested_by.clone()))
                .collect();
            let lifetime = tx.node.config().request_lifetime_secs;
            let (opening_key, seal_to) = OpeningKey::generate(tx.rng);
            let name_proof = tx.name_proof(&spec.requester_name)?;
            let domain = tx.node.config().merchant_domain.clone();
            let body = Body::Request(Request {
                requester_name: spec.requester_name,
                fields: spec.fields,
                purpose: spec.purpose,
                duration_secs: spec.duration_secs,
                retention_secs: spec.retention_secs,
                offer: spec.offer,
                reply_to: spec.reply_to,
                seal_to: seal_to.public_key(),
                name_proof,
                domain,
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
                    status: RequestStatus::Sending,
                    updated_at: Some(now),
                    opening_key: Some(opening_key),
                    attested_by,
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

    /// Sent requests, newest first, at most `limit`; with `state`, only those in it
    /// (a [`RequestStatus::name`]). An open request past its end reads as expired
    /// even before the sweep marks it.
    pub fn sent_requests(
        &self,
        state: Option<&str>,
        limit: usize,
        now: Timestamp,
    ) -> Result<Vec<SentRequest>, NodeError> {
        let mut sent: Vec<SentRequest> = self
            .scan::<SentRequest>(SENT_PREFIX)?
            .into_iter()
            .map(|(_, mut sent)| {
                if sent.status.is_open() && ended(sent.expires_at, now) {
                    sent.status = RequestStatus::Expired;
                }
                sent
            })
            .filter(|sent| state.is_none_or(|s| sent.status.name() == s))
            .collect();
        sent.sort_by_key(|s| std::cmp::Reverse(s.sent_at));
        sent.truncate(limit);
        Ok(sent)
    }

    /// Records what sending a request gave, when no answer did: delivered and
    /// waiting, or failed. Not yet durable: settle it with the request.
    pub(crate) fn note_sent(
        &self,
        id: &MessageId,
        status: RequestStatus,
        now: Timestamp,
    ) -> Result<Unsettled, NodeError> {
        let ((), unsettled) = self.tx_deferred(now, |tx| {
            let key = sent_key(id);
            if let Some(mut sent) = tx.get::<SentRequest>(&key)?
                && sent.status == RequestStatus::Sending
            {
                sent.status = status;
                sent.updated_at = Some(now);
                tx.put(key, &sent);
            }
            Ok(())
        })?;
        Ok(unsettled)
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
        if grant.erased_at.is_some() {
            return Err(NodeError::GrantErased(*grant_id));
        }
        let bytes = grant
            .latest_update
            .as_ref()
            .or(grant.grant.as_ref())
            .ok_or(NodeError::GrantErased(*grant_id))?;
        open_values(self, grant.opening_key.as_ref(), bytes)
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

/// The key that opens a grant's values: its own per-request key, or for grants of
/// requests sent before those existed, the node's sealing key.
fn opening(node: &Node, key: Option<&OpeningKey>) -> SealingKey {
    key.map_or_else(
        || SealingKey::from_secret_bytes(&node.keys().sealing.to_secret_bytes()),
        OpeningKey::sealing_key,
    )
}

fn open_values(
    node: &Node,
    key: Option<&OpeningKey>,
    bytes: &[u8],
) -> Result<FieldValues, NodeError> {
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
    Ok(sealed.open(&opening(node, key), &grant_id, &message.claims.audience)?)
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
        let decision_id = verified.message().claims.id;
        match &decision.outcome {
            Outcome::Granted(grant) => {
                // Refuse a grant this node cannot open, or whose sealed fields differ
                // from the ones it lists, before keeping anything.
                let key = opening(self.node, sent.opening_key.as_ref());
                let (values, presented) =
                    verified
                        .open_presented(&key)
                        .ok_or(NodeError::UnexpectedKind {
                            expected: "grant",
                            got: "refusal",
                        })??;
                let attested = match check_presented(
                    &person,
                    &values,
                    &presented,
                    &sent.attested_by,
                    self.now,
                ) {
                    Ok(attested) => attested,
                    Err(error) => return Ok(self.refuse_attestation(person, error, bytes)),
                };
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
                let opening_key = sent.opening_key.take();
                // Sealed to a key erasure destroys, the signed grant is the proof of
                // consent the log keeps. Sealed to the node's own key (a request sent
                // before per-request keys), it would keep the data: it stays out.
                let proof = opening_key.is_some().then(|| bytes.to_vec());
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
                        request_id: Some(decision.request_id),
                        decision_id: Some(decision_id),
                        opening_key,
                        attested,
                    },
                );
                self.index_decision(decision_id, grant.grant_id);
                sent.status = RequestStatus::Granted {
                    grant: grant.grant_id,
                };
                self.audit(
                    AuditEvent::GrantReceived {
                        grant: grant.grant_id,
                        from: person,
                        fields: grant.fields.clone(),
                        expires_at,
                    },
                    proof,
                );
                self.notify_backend(
                    Some(person),
                    WebhookPayload::GrantReceived {
                        request_id: Some(decision.request_id),
                        grant_id: grant.grant_id,
                        person,
                        fields: grant.fields.clone(),
                        expires_at: crate::human::time(expires_at),
                    },
                )?;
            }
            Outcome::Refused { reason } => {
                sent.status = RequestStatus::Refused {
                    reason: reason.clone(),
                };
                sent.opening_key = None;
                self.audit(
                    AuditEvent::RefusalReceived {
                        request: decision.request_id,
                        from: person,
                        reason: reason.clone(),
                    },
                    Some(bytes.to_vec()),
                );
                self.notify_backend(
                    Some(person),
                    WebhookPayload::RequestRefused {
                        request_id: decision.request_id,
                        person,
                        reason: reason.clone(),
                    },
                )?;
            }
        }
        sent.updated_at = Some(self.now);
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
        let (values, presented) = verified
            .open_presented(&opening(self.node, grant.opening_key.as_ref()))
            .ok_or(NodeError::UnexpectedKind {
                expected: "grant",
                got: "refusal",
            })??;
        if values.keys().any(|f| !grant.fields.contains(f)) {
            return Err(NodeError::InvalidChoice(
                "the update carries fields the grant does not cover".into(),
            ));
        }
        let wanted = match grant.request_id {
            Some(id) => self
                .get::<SentRequest>(&sent_key(&id))?
                .map(|s| s.attested_by)
                .unwrap_or_default(),
            None => BTreeMap::new(),
        };
        grant.attested = match check_presented(&person, &values, &presented, &wanted, self.now) {
            Ok(attested) => attested,
            Err(error) => return Ok(self.refuse_attestation(person, error, bytes)),
        };
        grant.latest_update = Some(bytes.to_vec());
        self.put(key, &grant);
        self.audit(
            AuditEvent::UpdateReceived {
                grant: update.grant_id,
                from: person,
            },
            None,
        );
        self.notify_backend(
            Some(person),
            WebhookPayload::UpdateReceived {
                grant_id: update.grant_id,
                person,
            },
        )?;
        Ok(Reply::Nothing)
    }

    /// Marks requests past their end with no answer as expired, and tells the
    /// backend.
    pub(crate) fn expire_sent_requests(&mut self) -> Result<(), NodeError> {
        for (key, mut sent) in self.scan::<SentRequest>(SENT_PREFIX)? {
            if !sent.status.is_open() || !ended(sent.expires_at, self.now) {
                continue;
            }
            sent.status = RequestStatus::Expired;
            sent.updated_at = Some(self.now);
            sent.opening_key = None;
            self.put(key, &sent);
            self.audit(
                AuditEvent::SentRequestExpired {
                    request: sent.request_id,
                    to: sent.person,
                },
                None,
            );
            self.notify_backend(
                Some(sent.person),
                WebhookPayload::RequestExpired {
                    request_id: sent.request_id,
                    person: sent.person,
                },
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
