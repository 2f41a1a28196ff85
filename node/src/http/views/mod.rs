//! What the JSON API answers, as types: the handlers serialize them and the
//! `passport` command deserializes the same ones, so the two cannot drift apart.
//! `docs/API.md` documents each shape; every member is always present (a missing
//! value is `null`, never an absent key).
//!
//! Names follow the API's resources and are meant to be used with the module's
//! name, e.g. `views::InboxItem` beside the core's `person::InboxItem`. Shapes
//! the core already gives as they go on the wire are reused rather than copied:
//! [`Policy`] (`/v1/policies`), [`FieldValues`] (a grant's values), [`Terms`],
//! [`Offer`], [`FieldValue`], [`AuditEvent`], [`AuditProblem`] and [`ApiToken`]
//! (`/v1/tokens`).

use std::collections::BTreeSet;

use passport_protocol::{
    FieldName, FieldValue, GrantId, MessageId, Offer, PassportId, Terms, Timestamp,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    audit::{self, AuditEvent, AuditProblem, AuditReport},
    merchant::{self, RequestStatus},
    net, person,
    vault::{FieldRecord, Sensitivity},
};
pub use crate::{
    consent::Policy,
    tokens::{ApiToken, Scope},
};
pub use passport_protocol::FieldValues;

mod data;

pub use self::data::{
    AccessAnswer, AccessStatement, AttestedField, Delivered, DeliveredData, FieldAttestation,
    HeldGrant,
};

/// `GET /v1/status`: the node's identity and network state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// This passport.
    pub id: PassportId,
    /// The consent page's address.
    pub page: String,
    /// The node's libp2p PeerId.
    pub peer_id: String,
    /// Multiaddrs it listens on.
    pub listen_addrs: Vec<String>,
    /// Addresses others observed and confirmed for it.
    pub external_addrs: Vec<String>,
    /// Peers connected now.
    pub connected_peers: usize,
    /// Peers in the Kademlia routing table.
    pub routing_table_size: usize,
    /// `"unknown"`, `"public"` or `"private"`, as AutoNAT last found.
    pub reachability: String,
    /// Its `/p2p-circuit` addresses on relays holding a reservation for it.
    pub relay_addrs: Vec<String>,
    /// DCUtR hole punches tried since start.
    pub hole_punch_attempts: u64,
    /// Of those, the ones that gave a direct connection.
    pub hole_punch_successes: u64,
    /// Whether publication of its DHT record has started.
    pub published: bool,
    /// DHT records refused by validation since start.
    pub rejected_records: u64,
    /// Inbound messages answered `Busy` since start.
    pub throttled: u64,
    /// Kademlia requests answered since start, by kind.
    pub dht_served: DhtServed,
}

impl Status {
    /// The status of the passport `id`, whose page is at `page`, on the network
    /// `net` describes.
    pub fn new(id: PassportId, page: String, net: &net::Status) -> Self {
        Self {
            id,
            page,
            peer_id: net.peer_id.to_string(),
            listen_addrs: net.listen_addrs.iter().map(ToString::to_string).collect(),
            external_addrs: net.external_addrs.iter().map(ToString::to_string).collect(),
            connected_peers: net.connected_peers,
            routing_table_size: net.routing_table_size,
            reachability: net.reachability.name().to_string(),
            relay_addrs: net.relay_addrs.iter().map(ToString::to_string).collect(),
            hole_punch_attempts: net.hole_punch_attempts,
            hole_punch_successes: net.hole_punch_successes,
            published: net.published,
            rejected_records: net.rejected_records,
            throttled: net.throttled,
            dht_served: net.dht_served.into(),
        }
    }
}

/// Kademlia requests a node answered since start, by kind (`dht_served` in
/// [`Status`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DhtServed {
    /// Requests for the peers closest to a key.
    pub find_node: u64,
    /// Requests for a record.
    pub get_record: u64,
    /// Records offered for storage.
    pub put_record: u64,
    /// Anything else.
    pub other: u64,
}

impl From<net::DhtServed> for DhtServed {
    fn from(served: net::DhtServed) -> Self {
        Self {
            find_node: served.find_node,
            get_record: served.get_record,
            put_record: served.put_record,
            other: served.other,
        }
    }
}

/// `GET /v1/fields` (each element) and `GET /v1/fields/{name}`: one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Field {
    /// Its name.
    pub name: FieldName,
    /// Its value.
    pub value: FieldValue,
    /// Its tags.
    pub tags: BTreeSet<String>,
    /// Its release class.
    pub sensitivity: Sensitivity,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Issuers' attestations of the value (empty: none).
    pub attestations: Vec<FieldAttestation>,
}

impl Field {
    /// The field `name` as stored.
    pub fn new(name: FieldName, record: FieldRecord) -> Self {
        Self {
            name,
            value: record.value,
            tags: record.tags,
            sensitivity: record.sensitivity,
            updated_at: record.updated_at,
            attestations: record
                .attestations
                .iter()
                .map(FieldAttestation::from)
                .collect(),
        }
    }
}

/// `GET /v1/inbox` (each element): a request waiting for the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InboxItem {
    /// The request's id, to approve or deny it by.
    pub request_id: MessageId,
    /// The request in one sentence, ready to show.
    pub sentence: String,
    /// Who asks (it signed the request).
    pub merchant: PassportId,
    /// The name the merchant declared in this request.
    pub merchant_name: String,
    /// Whether someone vouches for `merchant_name`: an issuer in the person's
    /// trust list, or the merchant's own website (see `merchant_verified_by`).
    pub merchant_name_verified: bool,
    /// Who vouches for the name: the trusted issuer's name, or "its website
    /// <domain>"; `null` when no one does.
    #[schema(required = true)]
    pub merchant_verified_by: Option<String>,
    /// The person's name for this merchant, if any.
    #[schema(required = true)]
    pub petname: Option<String>,
    /// The first request ever from this merchant.
    pub first_contact: bool,
    /// What is asked and why.
    pub fields: Vec<RequestedField>,
    /// What for.
    pub purpose: String,
    /// How long the grant would last, in seconds.
    pub duration_secs: u64,
    /// How long the merchant wants to keep the data after the grant, in seconds.
    pub retention_secs: u64,
    /// What the merchant offers in return.
    #[schema(required = true)]
    pub offer: Option<Offer>,
    /// When it arrived.
    pub received_at: Timestamp,
    /// When it can no longer be answered.
    pub expires_at: Timestamp,
}

impl From<&person::InboxItem> for InboxItem {
    fn from(i: &person::InboxItem) -> Self {
        Self {
            request_id: i.pending.request_id,
            sentence: i.sentence(),
            merchant: i.pending.merchant,
            merchant_name: i.request.requester_name.clone(),
            merchant_name_verified: i.merchant.verified_by().is_some(),
            merchant_verified_by: i.merchant.verified_by(),
            petname: i.merchant.petname.clone(),
            first_contact: i.pending.first_contact,
            fields: i
                .request
                .fields
                .iter()
                .map(|f| RequestedField {
                    name: f.name.clone(),
                    required: f.required,
                    reason: f.reason.clone(),
                    attested_by: f.attested_by.clone(),
                    attested: i.attestations.get(&f.name).copied().flatten(),
                })
                .collect(),
            purpose: i.request.purpose.clone(),
            duration_secs: i.request.duration_secs,
            retention_secs: i.request.retention_secs,
            offer: i.request.offer.clone(),
            received_at: i.pending.received_at,
            expires_at: i.pending.expires_at,
        }
    }
}

/// One field an [`InboxItem`] asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequestedField {
    /// The field.
    pub name: FieldName,
    /// Whether the merchant needs it (`false`: nice to have).
    pub required: bool,
    /// Why, in the merchant's words.
    pub reason: String,
    /// The issuers whose attestation the merchant wants with it (empty: none).
    pub attested_by: Vec<PassportId>,
    /// The issuer whose attestation the person holds and would send with it;
    /// `null` when it would go unattested.
    #[schema(required = true)]
    pub attested: Option<PassportId>,
}

/// `GET /v1/grants` (each element): a grant this person issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuedGrant {
    /// Its id.
    pub grant_id: GrantId,
    /// To whom.
    pub merchant: PassportId,
    /// The fields released.
    pub fields: Vec<FieldName>,
    /// The person's terms.
    pub terms: Terms,
    /// When issued.
    pub issued_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// Neither revoked nor ended, when it was read.
    pub live: bool,
    /// When revoked, if it was.
    #[schema(required = true)]
    pub revoked_at: Option<Timestamp>,
    /// The merchant's signed deletion receipt's id, once one arrived.
    #[schema(required = true)]
    pub receipt: Option<MessageId>,
}

impl IssuedGrant {
    /// The grant `g` as it stands at `now`.
    pub fn new(g: &person::IssuedGrant, now: Timestamp) -> Self {
        Self {
            grant_id: g.grant_id,
            merchant: g.merchant,
            fields: g.fields.clone(),
            terms: g.terms.clone(),
            issued_at: g.issued_at,
            expires_at: g.expires_at,
            live: g.is_live(now),
            revoked_at: g.revoked_at,
            receipt: g.receipt,
        }
    }
}

/// `GET /v1/received` (each element): a grant this merchant holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceivedGrant {
    /// Its id.
    pub grant_id: GrantId,
    /// The person.
    pub person: PassportId,
    /// The fields granted.
    pub fields: Vec<FieldName>,
    /// The person's terms.
    pub terms: Terms,
    /// When received.
    pub received_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// When the person revoked it.
    #[schema(required = true)]
    pub revoked_at: Option<Timestamp>,
    /// When its data was erased.
    #[schema(required = true)]
    pub erased_at: Option<Timestamp>,
    /// The fields that came with a valid attestation by an issuer the request
    /// named, as of the newest grant or update.
    pub attested: std::collections::BTreeMap<FieldName, AttestedField>,
}

impl From<&merchant::ReceivedGrant> for ReceivedGrant {
    fn from(g: &merchant::ReceivedGrant) -> Self {
        Self {
            grant_id: g.grant_id,
            person: g.person,
            fields: g.fields.clone(),
            terms: g.terms.clone(),
            received_at: g.received_at,
            expires_at: g.expires_at,
            revoked_at: g.revoked_at,
            erased_at: g.erased_at,
            attested: g
                .attested
                .iter()
                .map(|(name, a)| (name.clone(), AttestedField::from(a)))
                .collect(),
        }
    }
}

/// `POST /v1/requests`: the request sent and its first answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RequestOutcome {
    /// The request's id.
    pub request_id: MessageId,
    /// Where it stands; `null` only if the request's own record is gone.
    #[schema(required = true)]
    pub result: Option<RequestResult>,
}

/// Where a sent request stands, in `{"status": ...}` (the `result` of a
/// [`RequestOutcome`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RequestResult {
    /// The person must decide; the grant or refusal reaches this node later.
    Pending,
    /// Granted (by a standing policy, or by the person within the wait).
    Granted {
        /// The grant, already stored.
        grant: GrantId,
    },
    /// Refused.
    Refused {
        /// The person's reason.
        reason: String,
    },
    /// The other node took the message with nothing to send back.
    Accepted,
    /// The other node had received this very message before.
    AlreadyReceived,
    /// The person's node was offline: the request waits at its mailboxes; the
    /// decision comes when the node is back (a `grant.received` or
    /// `request.refused` webhook, or `GET /v1/requests/{id}`).
    Queued {
        /// At how many mailboxes.
        mailboxes: u8,
    },
    /// An answer came back, yet this node's record of the request still waits.
    Waiting,
    /// It expired unanswered.
    Expired,
    /// It could not be delivered.
    Failed {
        /// Why.
        reason: String,
    },
}

impl RequestResult {
    /// The `status` member: `"pending"`, `"granted"`, `"refused"`, `"accepted"`,
    /// `"already_received"`, `"queued"`, `"waiting"`, `"expired"` or `"failed"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Granted { .. } => "granted",
            Self::Refused { .. } => "refused",
            Self::Accepted => "accepted",
            Self::AlreadyReceived => "already_received",
            Self::Queued { .. } => "queued",
            Self::Waiting => "waiting",
            Self::Expired => "expired",
            Self::Failed { .. } => "failed",
        }
    }
}

impl From<crate::passport::RequestOutcome> for RequestOutcome {
    fn from(outcome: crate::passport::RequestOutcome) -> Self {
        use crate::passport::RequestAnswer;
        let result = match outcome.answer {
            RequestAnswer::Decided(status) => status.into(),
            RequestAnswer::Pending => RequestResult::Pending,
            RequestAnswer::Accepted => RequestResult::Accepted,
            RequestAnswer::AlreadyReceived => RequestResult::AlreadyReceived,
            RequestAnswer::Queued { mailboxes } => RequestResult::Queued { mailboxes },
        };
        Self {
            request_id: outcome.request_id,
            result: Some(result),
        }
    }
}

impl From<RequestStatus> for RequestResult {
    fn from(status: RequestStatus) -> Self {
        match status {
            RequestStatus::Sending => Self::Pending,
            RequestStatus::Waiting => Self::Waiting,
            RequestStatus::Queued { mailboxes } => Self::Queued { mailboxes },
            RequestStatus::Granted { grant } => Self::Granted { grant },
            RequestStatus::Refused { reason } => Self::Refused { reason },
            RequestStatus::Expired => Self::Expired,
            RequestStatus::Failed { reason } => Self::Failed { reason },
        }
    }
}

/// `GET /v1/audit` (each element): one entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Its position, from 0.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// What happened; its `event` member names the kind.
    pub event: AuditEvent,
    /// Whether the entry holds the signed message involved.
    pub has_message: bool,
    /// That message's id, for `GET /v1/messages/{id}`.
    #[schema(required = true)]
    pub message_id: Option<MessageId>,
}

impl From<&audit::AuditEntry> for AuditEntry {
    fn from(e: &audit::AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            event: e.event.clone(),
            has_message: e.message.is_some(),
            message_id: e
                .message
                .as_deref()
                .and_then(|m| passport_protocol::decode_trusted(m).ok())
                .map(|m| m.claims.id),
        }
    }
}

/// `GET /v1/audit/verify`: the hash chain checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// No problems.
    pub intact: bool,
    /// Entries found.
    pub entries: u64,
    /// Everything wrong, in slot order.
    pub problems: Vec<AuditProblem>,
}

impl From<AuditReport> for AuditVerification {
    fn from(report: AuditReport) -> Self {
        Self {
            intact: report.is_intact(),
            entries: report.entries,
            problems: report.problems,
        }
    }
}

/// `GET /v1/peers` (each element): a peer connected now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Peer {
    /// Its libp2p PeerId.
    pub peer_id: String,
    /// One multiaddr per open connection.
    pub addrs: Vec<String>,
}

/// The answer of the routes that send messages in the background (approve, deny,
/// revoke, erase): one recipient per message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveringTo {
    /// The recipients' passport ids.
    pub delivering_to: Vec<PassportId>,
}

/// The answer of `PUT` and `DELETE /v1/fields/{name}`: one merchant per update
/// sent to a live grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdatesTo {
    /// The merchants' passport ids.
    pub updates_to: Vec<PassportId>,
}

/// `DELETE /v1/policies/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Removed {
    /// The policy removed.
    pub removed: u64,
}

/// `POST /v1/tokens`: the scoped token made, with the token itself, which is
/// shown this once (the node keeps only its digest).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewToken {
    /// Its id, for `DELETE /v1/tokens/{id}`.
    pub id: String,
    /// The bearer token, `ppt_<id>_<secret>`.
    pub token: String,
    /// What it reaches.
    pub scope: Scope,
    /// Its name (may be empty).
    pub name: String,
    /// When it was made.
    pub created_at: Timestamp,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .field("token", &"ppt_..")
            .field("scope", &self.scope)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl From<crate::tokens::NewToken> for NewToken {
    fn from(made: crate::tokens::NewToken) -> Self {
        Self {
            token: made.token.as_str().to_owned(),
            id: made.record.id,
            scope: made.record.scope,
            name: made.record.name,
            created_at: made.record.created_at,
        }
    }
}

/// `DELETE /v1/tokens/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenRevoked {
    /// The token revoked.
    pub revoked: String,
}

/// `PUT /v1/fields/{name}/tags`: nothing to say, `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Empty {}

/// `GET /v1/hello?nonce=N`: proof that the server knows the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Proof {
    /// [`token_proof`](super::token_proof) of the token and the nonce.
    pub proof: String,
}

/// Every error: `{"error": "..."}`, a message for people (branch on the status
/// code, not on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong and, where it can, what to do.
    pub error: String,
}

/// `GET /v1/requests` (each element) and `GET /v1/requests/{id}`: a request this
/// merchant sent and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SentRequest {
    /// Its id.
    pub request_id: MessageId,
    /// The person asked.
    pub person: PassportId,
    /// The fields asked for.
    pub fields: Vec<FieldName>,
    /// `sending` (not yet taken by the person's node), `queued` (the person's node
    /// was offline: the request waits at its mailboxes), `waiting` (delivered, not
    /// answered), `granted`, `refused`, `expired` or `failed` (not delivered).
    pub state: String,
    /// The grant, when granted.
    #[schema(required = true)]
    pub grant_id: Option<GrantId>,
    /// The person's reason when refused; why, when failed.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// When sent.
    pub sent_at: Timestamp,
    /// Until when the person may answer.
    pub expires_at: Timestamp,
    /// When the state last changed.
    #[schema(required = true)]
    pub updated_at: Option<Timestamp>,
}

impl From<merchant::SentRequest> for SentRequest {
    fn from(sent: merchant::SentRequest) -> Self {
        let (grant_id, reason) = match &sent.status {
            RequestStatus::Granted { grant } => (Some(*grant), None),
            RequestStatus::Refused { reason } | RequestStatus::Failed { reason } => {
                (None, Some(reason.clone()))
            }
            _ => (None, None),
        };
        Self {
            request_id: sent.request_id,
            person: sent.person,
            fields: sent.fields.clone(),
            state: sent.status.name().to_string(),
            grant_id,
            reason,
            sent_at: sent.sent_at,
            expires_at: sent.expires_at,
            updated_at: sent.updated_at,
        }
    }
}

/// `POST /v1/grants/{id}/erased`: the backend's confirmation was taken and the
/// deletion receipt is on its way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErasureConfirmed {
    /// The grant.
    pub grant_id: GrantId,
    /// Always true.
    pub confirmed: bool,
    /// The person the receipt goes to.
    pub receipt_to: PassportId,
}

/// `GET /v1/outbox` (each element): a message made and not yet delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Outgoing {
    /// The message's id.
    #[schema(required = true)]
    pub id: Option<MessageId>,
    /// Its kind (`revoke`, `erase_request`, `deletion_receipt`, `decision`, …).
    pub kind: String,
    /// The recipient.
    pub to: PassportId,
    /// When it expires; it is given up then, with an audit entry.
    #[schema(required = true)]
    pub expires_at: Option<Timestamp>,
}

impl From<&crate::node::Outgoing> for Outgoing {
    fn from(out: &crate::node::Outgoing) -> Self {
        let message = passport_protocol::decode_trusted(&out.bytes).ok();
        Self {
            id: message.as_ref().map(|m| m.claims.id),
            kind: message
                .as_ref()
                .map_or("unreadable", |m| m.body.kind().name())
                .to_string(),
            to: out.to,
            expires_at: message.map(|m| m.claims.expires_at),
        }
    }
}

/// `GET /v1/webhooks` (each element): an endpoint (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    /// Its id.
    pub id: String,
    /// Where it posts.
    pub url: String,
    /// The event types it gets; empty: all.
    pub events: Vec<String>,
    /// Whether it comes from `[[webhook]]` in config.toml.
    pub from_config: bool,
    /// When added.
    pub created_at: Timestamp,
}

impl From<&crate::webhook::Webhook> for Webhook {
    fn from(w: &crate::webhook::Webhook) -> Self {
        Self {
            id: w.id.clone(),
            url: w.url.clone(),
            events: w.events.clone(),
            from_config: w.from_config,
            created_at: w.created_at,
        }
    }
}

/// `POST /v1/webhooks`: the endpoint added and its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    /// The endpoint.
    pub webhook: Webhook,
    /// Its signing secret, `whsec_…`: give it to the backend now; it is not shown
    /// again.
    pub secret: String,
}

/// `GET /v1/erasures` (each element): an erasure the node did whose receipt waits
/// for the backend's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AwaitingErasure {
    /// The grant erased.
    pub grant_id: GrantId,
    /// The person.
    pub person: PassportId,
    /// `revoked`, `expired` or `erase_requested`.
    pub cause: String,
    /// When the node erased it.
    pub erased_at: Timestamp,
}

impl From<&merchant::AwaitingErasure> for AwaitingErasure {
    fn from(a: &merchant::AwaitingErasure) -> Self {
        Self {
            grant_id: a.grant_id,
            person: a.person,
            cause: a.cause().to_string(),
            erased_at: a.erased_at,
        }
    }
}
