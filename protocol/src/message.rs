//! The ten message kinds and their CBOR payloads.
//!
//! A payload is the CWT claims set of [`crate::claims`]: claims, the protocol
//! version, the message kind and a kind-specific body whose keys are small
//! integers.

use std::collections::BTreeMap;

use ciborium::Value;

pub use crate::claims::{Claims, PROTOCOL_VERSION, claim_key};
use crate::claims::{claims_set, read_claims_set, sign_claims_set};
use crate::{
    access::{self, AccessRequest, AccessStatement},
    attest::{MAX_ATTESTERS, Presentation, presentation_from_cbor, presentation_to_cbor},
    cbor::{self, MapReader, key},
    claims::passport_id,
    delivery::DataType,
    error::ProtocolError,
    field::{self, FieldName},
    id::{GrantId, MessageId, PassportId},
    keys::{IdentityKey, SealingPublicKey},
    limits::{
        MAX_ADDRESS_BYTES, MAX_FIELDS, MAX_MESSAGE_BYTES, MAX_RECEIPT_GRANTS, MAX_REPLY_ADDRESSES,
        MAX_TEXT_BYTES,
    },
    seal::Sealed,
    time::Timestamp,
};

/// The kinds of message, with their wire numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageKind {
    /// Merchant → person: asks for fields for a purpose.
    Request = 1,
    /// Person → merchant: grant, partial grant, or refusal.
    Decision = 2,
    /// Merchant → person: asks for the current values under a live grant.
    Fetch = 3,
    /// Person → merchant: current values under a live grant.
    Update = 4,
    /// Person → merchant: ends a grant.
    Revoke = 5,
    /// Person → merchant: erase everything held about me.
    EraseRequest = 6,
    /// Merchant → person: signed proof that data was erased.
    DeletionReceipt = 7,
    /// Merchant (or issuer) → person: data for the person's vault, sealed to
    /// them. Kinds 8 to 15 are taken by peer records, mailbox and device
    /// objects and attestations.
    Delivery = 16,
    /// Person → merchant: what do you hold about me?
    AccessRequest = 17,
    /// Merchant → person: every grant held from the person, signed.
    AccessStatement = 18,
}

impl MessageKind {
    /// Every kind, in wire-number order.
    pub const ALL: [MessageKind; 10] = [
        Self::Request,
        Self::Decision,
        Self::Fetch,
        Self::Update,
        Self::Revoke,
        Self::EraseRequest,
        Self::DeletionReceipt,
        Self::Delivery,
        Self::AccessRequest,
        Self::AccessStatement,
    ];

    /// The kind's lowercase name, e.g. `"erase_request"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Decision => "decision",
            Self::Fetch => "fetch",
            Self::Update => "update",
            Self::Revoke => "revoke",
            Self::EraseRequest => "erase_request",
            Self::DeletionReceipt => "deletion_receipt",
            Self::Delivery => "delivery",
            Self::AccessRequest => "access_request",
            Self::AccessStatement => "access_statement",
        }
    }

    fn from_wire(n: u64) -> Result<Self, ProtocolError> {
        Self::ALL
            .into_iter()
            .find(|k| *k as u64 == n)
            .ok_or(ProtocolError::UnknownKind { found: n })
    }
}

/// One field a merchant asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRequest {
    /// The field.
    pub name: FieldName,
    /// Whether the merchant needs it (`false`: nice to have).
    pub required: bool,
    /// Why the merchant wants it, in the merchant's words.
    pub reason: String,
    /// The issuers whose attestation the merchant needs for this field; empty
    /// when any value will do. Encoded as a fourth element of the requested
    /// field only when not empty, so requests without it are unchanged.
    pub attested_by: Vec<PassportId>,
}

/// What a merchant offers in return, shown beside the request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    /// The offer in words, e.g. "free shipping".
    pub text: String,
    /// Optional structured terms, e.g. `discount_percent = 10`.
    pub details: BTreeMap<String, String>,
}

/// Merchant → person: a request for fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The merchant's self-declared name. Unverified: show it beside the merchant's id.
    pub requester_name: String,
    /// The fields asked for (at least one, no duplicates).
    pub fields: Vec<FieldRequest>,
    /// What the data is for, e.g. "delivery".
    pub purpose: String,
    /// How long the merchant wants the grant to last, in seconds.
    pub duration_secs: u64,
    /// How long the merchant wants to keep data after the grant ends, in seconds.
    pub retention_secs: u64,
    /// What the merchant offers in return.
    pub offer: Option<Offer>,
    /// Where to send the decision (multiaddrs, as text); may be empty.
    pub reply_to: Vec<String>,
    /// The merchant's X25519 key to seal granted values to.
    pub seal_to: SealingPublicKey,
    /// Proof of `requester_name`: an issuer's attestation that this merchant's
    /// [`NAME_FIELD`](crate::attest::NAME_FIELD) is that name, with its salt.
    /// Key 9, written only when present.
    pub name_proof: Option<Presentation>,
    /// The merchant's web domain (`host` or `host:port`), whose
    /// `https://<domain>/.well-known/passport` names this merchant's id. Key 10,
    /// written only when present.
    pub domain: Option<String>,
}

/// The person's terms, carried in every grant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Terms {
    /// How long the merchant may keep the data after the grant ends, in seconds.
    pub retention_secs: u64,
    /// The merchant may not sell or pass on the data.
    pub no_resale: bool,
    /// The only purpose the data may be used for.
    pub purpose: String,
}

/// A grant: the chosen fields' values sealed to the merchant. The enclosing
/// message's `nbf`/`exp` are the grant's validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The grant's id, stable across updates.
    pub grant_id: GrantId,
    /// `true` when fewer fields or a shorter duration than asked were granted.
    pub partial: bool,
    /// Names of the granted fields (also inside `sealed`), so an auditor can see
    /// what was shared without opening it.
    pub fields: Vec<FieldName>,
    /// The person's terms.
    pub terms: Terms,
    /// The values, sealed to the merchant.
    pub sealed: Sealed,
}

/// What the person decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Some or all fields granted.
    Granted(Grant),
    /// Nothing granted.
    Refused {
        /// The person's reason, possibly empty.
        reason: String,
    },
}

/// Person → merchant: the answer to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The `cti` of the request this answers.
    pub request_id: MessageId,
    /// Grant or refusal.
    pub outcome: Outcome,
}

/// Merchant → person: send me the current values under this grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetch {
    /// The grant.
    pub grant_id: GrantId,
}

/// Person → merchant: current values under a live grant (after a change, or in
/// answer to a fetch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The grant.
    pub grant_id: GrantId,
    /// Names of the fields inside `sealed`.
    pub fields: Vec<FieldName>,
    /// The values, sealed to the merchant.
    pub sealed: Sealed,
}

/// Person → merchant: the grant ends now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoke {
    /// The grant.
    pub grant_id: GrantId,
    /// Why, if the person said.
    pub reason: Option<String>,
}

/// Person → merchant: erase everything you hold about me.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EraseRequest {
    /// Why, if the person said.
    pub reason: Option<String>,
}

/// Why a merchant erased data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionCause {
    /// The grant (and its retention period) ended.
    Expired,
    /// The person revoked the grant; the `cti` of the Revoke.
    Revoked(MessageId),
    /// The person asked for erasure; the `cti` of the EraseRequest.
    EraseRequested(MessageId),
}

/// Merchant → person: signed proof that the data of these grants was erased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionReceipt {
    /// Why.
    pub cause: DeletionCause,
    /// The grants whose data was erased.
    pub grant_ids: Vec<GrantId>,
    /// When it was erased.
    pub erased_at: Timestamp,
    /// Whether the merchant's backend (its own database, beyond the node) confirmed
    /// the erasure before the receipt was signed. Key 5, present only when true, so
    /// receipts without it are encoded exactly as before.
    pub backend_confirmed: bool,
}

/// Merchant (or issuer) → person: data for the person's vault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// What it holds.
    pub data_type: DataType,
    /// The content ([`Delivered`](crate::delivery::Delivered)), sealed to the
    /// person ([`seal_delivery`](crate::delivery::seal_delivery)).
    pub sealed: Sealed,
}

/// A message's kind-specific content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// See [`Request`].
    Request(Request),
    /// See [`Decision`].
    Decision(Decision),
    /// See [`Fetch`].
    Fetch(Fetch),
    /// See [`Update`].
    Update(Update),
    /// See [`Revoke`].
    Revoke(Revoke),
    /// See [`EraseRequest`].
    EraseRequest(EraseRequest),
    /// See [`DeletionReceipt`].
    DeletionReceipt(DeletionReceipt),
    /// See [`Delivery`].
    Delivery(Delivery),
    /// See [`AccessRequest`].
    AccessRequest(AccessRequest),
    /// See [`AccessStatement`].
    AccessStatement(AccessStatement),
}

impl Body {
    /// The message kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Request(_) => MessageKind::Request,
            Self::Decision(_) => MessageKind::Decision,
            Self::Fetch(_) => MessageKind::Fetch,
            Self::Update(_) => MessageKind::Update,
            Self::Revoke(_) => MessageKind::Revoke,
            Self::EraseRequest(_) => MessageKind::EraseRequest,
            Self::DeletionReceipt(_) => MessageKind::DeletionReceipt,
            Self::Delivery(_) => MessageKind::Delivery,
            Self::AccessRequest(_) => MessageKind::AccessRequest,
            Self::AccessStatement(_) => MessageKind::AccessStatement,
        }
    }
}

/// A message: claims and body. Sign it with [`Message::sign`]; check received bytes
/// with [`verify`](crate::verify).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Who, to whom, when, which id.
    pub claims: Claims,
    /// What.
    pub body: Body,
}

impl Message {
    /// Encodes and signs the message with `key`, which must be the issuer's.
    ///
    /// The result is checked against every decoding rule and limit, so whatever this
    /// returns, a receiver accepts (time, audience and replay aside).
    pub fn sign(&self, key: &IdentityKey) -> Result<Vec<u8>, ProtocolError> {
        sign_claims_set(
            key,
            &self.claims,
            self.body.kind() as u64,
            encode_body(&self.body),
            MAX_MESSAGE_BYTES,
            decode_payload,
        )
    }

    /// The CBOR payload (the CWT claims set) of this message.
    pub fn encode_payload(&self) -> Result<Vec<u8>, ProtocolError> {
        cbor::encode(&claims_set(
            &self.claims,
            self.body.kind() as u64,
            encode_body(&self.body),
        ))
    }
}

/// Decodes a payload without verifying anything. For inspecting and fuzzing; a
/// receiver uses [`verify`](crate::verify), which calls this after the signature check.
pub fn decode_payload(payload: &[u8]) -> Result<Message, ProtocolError> {
    let (claims, kind, body) = read_claims_set(payload, MessageKind::from_wire)?;
    let body = decode_body(kind, body)?;
    Ok(Message { claims, body })
}

// Body keys, per kind. They are documented with CDDL in docs/PROTOCOL.md.
mod body_key {
    pub(super) const REQ_NAME: i64 = 1;
    pub(super) const REQ_FIELDS: i64 = 2;
    pub(super) const REQ_PURPOSE: i64 = 3;
    pub(super) const REQ_DURATION: i64 = 4;
    pub(super) const REQ_RETENTION: i64 = 5;
    pub(super) const REQ_OFFER: i64 = 6;
    pub(super) const REQ_REPLY_TO: i64 = 7;
    pub(super) const REQ_SEAL_TO: i64 = 8;
    pub(super) const REQ_NAME_PROOF: i64 = 9;
    pub(super) const REQ_DOMAIN: i64 = 10;

    pub(super) const DEC_REQUEST_ID: i64 = 1;
    pub(super) const DEC_OUTCOME: i64 = 2;
    pub(super) const DEC_GRANT_ID: i64 = 3;
    pub(super) const DEC_FIELDS: i64 = 4;
    pub(super) const DEC_TERMS: i64 = 5;
    pub(super) const DEC_SEALED: i64 = 6;
    pub(super) const DEC_REASON: i64 = 7;

    pub(super) const GRANT_ID: i64 = 1;
    pub(super) const UPD_FIELDS: i64 = 2;
    pub(super) const UPD_SEALED: i64 = 3;
    pub(super) const REVOKE_REASON: i64 = 2;
    pub(super) const ERASE_REASON: i64 = 1;

    pub(super) const RCPT_CAUSE: i64 = 1;
    pub(super) const RCPT_IN_REPLY_TO: i64 = 2;
    pub(super) const RCPT_GRANTS: i64 = 3;
    pub(super) const RCPT_ERASED_AT: i64 = 4;
    pub(super) const RCPT_BACKEND_CONFIRMED: i64 = 5;

    pub(super) const OFFER_TEXT: i64 = 1;
    pub(super) const OFFER_DETAILS: i64 = 2;
    pub(super) const TERMS_RETENTION: i64 = 1;
    pub(super) const TERMS_NO_RESALE: i64 = 2;
    pub(super) const TERMS_PURPOSE: i64 = 3;
}

const OUTCOME_GRANTED: u64 = 0;
const OUTCOME_PARTIAL: u64 = 1;
const OUTCOME_REFUSED: u64 = 2;
const CAUSE_EXPIRED: u64 = 0;
const CAUSE_REVOKED: u64 = 1;
const CAUSE_ERASE_REQUESTED: u64 = 2;

fn uint_value(n: u64) -> Value {
    Value::Integer(n.into())
}

fn text_value(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn names_value(names: &[FieldName]) -> Value {
    Value::Array(names.iter().map(|n| text_value(n.as_str())).collect())
}

fn encode_body(body: &Body) -> Value {
    use body_key::*;
    let entries: Vec<(i64, Value)> = match body {
        Body::Request(r) => {
            let mut e = vec![
                (REQ_NAME, text_value(&r.requester_name)),
                (
                    REQ_FIELDS,
                    Value::Array(
                        r.fields
                            .iter()
                            .map(|f| {
                                let mut parts = vec![
                                    text_value(f.name.as_str()),
                                    Value::Bool(f.required),
                                    text_value(&f.reason),
                                ];
                                if !f.attested_by.is_empty() {
                                    parts.push(Value::Array(
                                        f.attested_by
                                            .iter()
                                            .map(|id| text_value(&id.to_string()))
                                            .collect(),
                                    ));
                                }
                                Value::Array(parts)
                            })
                            .collect(),
                    ),
                ),
                (REQ_PURPOSE, text_value(&r.purpose)),
                (REQ_DURATION, uint_value(r.duration_secs)),
                (REQ_RETENTION, uint_value(r.retention_secs)),
            ];
            if let Some(offer) = &r.offer {
                e.push((
                    REQ_OFFER,
                    Value::Map(vec![
                        (key(OFFER_TEXT), text_value(&offer.text)),
                        (key(OFFER_DETAILS), field::text_map_to_cbor(&offer.details)),
                    ]),
                ));
            }
            e.push((
                REQ_REPLY_TO,
                Value::Array(r.reply_to.iter().map(|a| text_value(a)).collect()),
            ));
            e.push((REQ_SEAL_TO, Value::Bytes(r.seal_to.as_bytes().to_vec())));
            if let Some(proof) = &r.name_proof {
                e.push((REQ_NAME_PROOF, presentation_to_cbor(proof)));
            }
            if let Some(domain) = &r.domain {
                e.push((REQ_DOMAIN, text_value(domain)));
            }
            e
        }
        Body::Decision(d) => {
            let mut e = vec![(
                DEC_REQUEST_ID,
                Value::Bytes(d.request_id.as_bytes().to_vec()),
            )];
            match &d.outcome {
                Outcome::Granted(g) => {
                    let outcome = if g.partial {
                        OUTCOME_PARTIAL
                    } else {
                        OUTCOME_GRANTED
                    };
                    e.extend([
                        (DEC_OUTCOME, uint_value(outcome)),
                        (DEC_GRANT_ID, Value::Bytes(g.grant_id.as_bytes().to_vec())),
                        (DEC_FIELDS, names_value(&g.fields)),
                        (
                            DEC_TERMS,
                            Value::Map(vec![
                                (key(TERMS_RETENTION), uint_value(g.terms.retention_secs)),
                                (key(TERMS_NO_RESALE), Value::Bool(g.terms.no_resale)),
                                (key(TERMS_PURPOSE), text_value(&g.terms.purpose)),
                            ]),
                        ),
                        (DEC_SEALED, g.sealed.to_cbor()),
                    ]);
                }
                Outcome::Refused { reason } => {
                    e.extend([
                        (DEC_OUTCOME, uint_value(OUTCOME_REFUSED)),
                        (DEC_REASON, text_value(reason)),
                    ]);
                }
            }
            e
        }
        Body::Fetch(f) => vec![(GRANT_ID, Value::Bytes(f.grant_id.as_bytes().to_vec()))],
        Body::Update(u) => vec![
            (GRANT_ID, Value::Bytes(u.grant_id.as_bytes().to_vec())),
            (UPD_FIELDS, names_value(&u.fields)),
            (UPD_SEALED, u.sealed.to_cbor()),
        ],
        Body::Revoke(r) => {
            let mut e = vec![(GRANT_ID, Value::Bytes(r.grant_id.as_bytes().to_vec()))];
            if let Some(reason) = &r.reason {
                e.push((REVOKE_REASON, text_value(reason)));
            }
            e
        }
        Body::EraseRequest(r) => r
            .reason
            .iter()
            .map(|reason| (ERASE_REASON, text_value(reason)))
            .collect(),
        Body::DeletionReceipt(r) => {
            let (cause, in_reply_to) = match r.cause {
                DeletionCause::Expired => (CAUSE_EXPIRED, None),
                DeletionCause::Revoked(id) => (CAUSE_REVOKED, Some(id)),
                DeletionCause::EraseRequested(id) => (CAUSE_ERASE_REQUESTED, Some(id)),
            };
            let mut e = vec![(RCPT_CAUSE, uint_value(cause))];
            if let Some(id) = in_reply_to {
                e.push((RCPT_IN_REPLY_TO, Value::Bytes(id.as_bytes().to_vec())));
            }
            e.extend([
                (
                    RCPT_GRANTS,
                    Value::Array(
                        r.grant_ids
                            .iter()
                            .map(|g| Value::Bytes(g.as_bytes().to_vec()))
                            .collect(),
                    ),
                ),
                (RCPT_ERASED_AT, uint_value(r.erased_at.as_secs())),
            ]);
            if r.backend_confirmed {
                e.push((RCPT_BACKEND_CONFIRMED, Value::Bool(true)));
            }
            e
        }
        Body::Delivery(d) => crate::delivery::encode_body(d),
        Body::AccessRequest(r) => access::encode_request(r),
        Body::AccessStatement(s) => access::encode_statement(s),
    };
    Value::Map(entries.into_iter().map(|(k, v)| (key(k), v)).collect())
}

fn field_names(value: Value, what: &str) -> Result<Vec<FieldName>, ProtocolError> {
    let names = cbor::array(value, what, MAX_FIELDS)?
        .into_iter()
        .map(|v| field::field_name(v, what))
        .collect::<Result<Vec<_>, _>>()?;
    if names.is_empty() {
        return Err(ProtocolError::malformed(format!("{what} is empty")));
    }
    reject_duplicates(names.iter(), what)?;
    Ok(names)
}

fn reject_duplicates<'a, T: Ord + 'a>(
    items: impl Iterator<Item = &'a T>,
    what: &str,
) -> Result<(), ProtocolError> {
    let mut seen = std::collections::BTreeSet::new();
    for item in items {
        if !seen.insert(item) {
            return Err(ProtocolError::malformed(format!(
                "{what} names the same entry twice"
            )));
        }
    }
    Ok(())
}

/// The issuers a requested field must be attested by: 1 to [`MAX_ATTESTERS`]
/// distinct ids (an empty list is written by omitting it).
fn issuers(value: Value) -> Result<Vec<PassportId>, ProtocolError> {
    let ids = cbor::array(value, "attesting issuers", MAX_ATTESTERS)?
        .into_iter()
        .map(|v| passport_id(v, "attesting issuer"))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(ProtocolError::malformed(
            "attesting issuers are empty; omit them instead",
        ));
    }
    reject_duplicates(ids.iter(), "attesting issuers")?;
    Ok(ids)
}

fn grant_id(value: Value) -> Result<GrantId, ProtocolError> {
    Ok(GrantId::from_bytes(cbor::byte_array(value, "grant id")?))
}

fn decode_body(kind: MessageKind, mut b: MapReader) -> Result<Body, ProtocolError> {
    use body_key::*;
    let body = match kind {
        MessageKind::Request => {
            let fields = cbor::array(b.required(REQ_FIELDS, "fields")?, "fields", MAX_FIELDS)?
                .into_iter()
                .map(|f| {
                    let mut parts = cbor::array(f, "requested field", 4)?.into_iter();
                    match (parts.next(), parts.next(), parts.next(), parts.next()) {
                        (Some(name), Some(required), Some(reason), attested_by) => {
                            Ok(FieldRequest {
                                name: field::field_name(name, "requested field name")?,
                                required: cbor::boolean(required, "requested field required")?,
                                reason: cbor::text(
                                    reason,
                                    "requested field reason",
                                    MAX_TEXT_BYTES,
                                )?,
                                attested_by: attested_by
                                    .map(issuers)
                                    .transpose()?
                                    .unwrap_or_default(),
                            })
                        }
                        _ => Err(ProtocolError::malformed(
                            "requested field is not [name, required, reason, ?issuers]",
                        )),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            if fields.is_empty() {
                return Err(ProtocolError::malformed("request asks for no fields"));
            }
            reject_duplicates(fields.iter().map(|f| &f.name), "request fields")?;
            let offer = b
                .take(REQ_OFFER)
                .map(|offer| {
                    let mut o = MapReader::new(offer, "offer")?;
                    let text = cbor::text(
                        o.required(OFFER_TEXT, "offer text")?,
                        "offer text",
                        MAX_TEXT_BYTES,
                    )?;
                    let details = match o.required(OFFER_DETAILS, "offer details")? {
                        Value::Map(pairs) => field::text_map(pairs, "offer details")?,
                        _ => return Err(ProtocolError::malformed("offer details is not a map")),
                    };
                    o.finish()?;
                    Ok(Offer { text, details })
                })
                .transpose()?;
            Body::Request(Request {
                requester_name: cbor::text(
                    b.required(REQ_NAME, "requester name")?,
                    "requester name",
                    MAX_TEXT_BYTES,
                )?,
                fields,
                purpose: cbor::text(
                    b.required(REQ_PURPOSE, "purpose")?,
                    "purpose",
                    MAX_TEXT_BYTES,
                )?,
                duration_secs: cbor::uint(b.required(REQ_DURATION, "duration")?, "duration")?,
                retention_secs: cbor::uint(b.required(REQ_RETENTION, "retention")?, "retention")?,
                offer,
                reply_to: cbor::array(
                    b.required(REQ_REPLY_TO, "reply_to")?,
                    "reply_to",
                    MAX_REPLY_ADDRESSES,
                )?
                .into_iter()
                .map(|a| cbor::text(a, "reply address", MAX_ADDRESS_BYTES))
                .collect::<Result<_, _>>()?,
                seal_to: SealingPublicKey::from_bytes(cbor::byte_array(
                    b.required(REQ_SEAL_TO, "seal_to")?,
                    "seal_to",
                )?),
                name_proof: b
                    .take(REQ_NAME_PROOF)
                    .map(presentation_from_cbor)
                    .transpose()?,
                domain: b
                    .take(REQ_DOMAIN)
                    .map(|d| {
                        let d = cbor::text(d, "domain", crate::domain::MAX_DOMAIN_BYTES)?;
                        crate::domain::check_domain(&d)?;
                        Ok::<_, ProtocolError>(d)
                    })
                    .transpose()?,
            })
        }
        MessageKind::Decision => {
            let request_id = MessageId::from_bytes(cbor::byte_array(
                b.required(DEC_REQUEST_ID, "request id")?,
                "request id",
            )?);
            let outcome = match cbor::uint(b.required(DEC_OUTCOME, "outcome")?, "outcome")? {
                n @ (OUTCOME_GRANTED | OUTCOME_PARTIAL) => {
                    let mut t = MapReader::new(b.required(DEC_TERMS, "terms")?, "terms")?;
                    let terms = Terms {
                        retention_secs: cbor::uint(
                            t.required(TERMS_RETENTION, "retention")?,
                            "retention",
                        )?,
                        no_resale: cbor::boolean(
                            t.required(TERMS_NO_RESALE, "no_resale")?,
                            "no_resale",
                        )?,
                        purpose: cbor::text(
                            t.required(TERMS_PURPOSE, "purpose")?,
                            "purpose",
                            MAX_TEXT_BYTES,
                        )?,
                    };
                    t.finish()?;
                    Outcome::Granted(Grant {
                        grant_id: grant_id(b.required(DEC_GRANT_ID, "grant id")?)?,
                        partial: n == OUTCOME_PARTIAL,
                        fields: field_names(
                            b.required(DEC_FIELDS, "granted fields")?,
                            "granted fields",
                        )?,
                        terms,
                        sealed: Sealed::from_cbor(b.required(DEC_SEALED, "sealed")?)?,
                    })
                }
                OUTCOME_REFUSED => Outcome::Refused {
                    reason: cbor::text(
                        b.required(DEC_REASON, "reason")?,
                        "reason",
                        MAX_TEXT_BYTES,
                    )?,
                },
                other => {
                    return Err(ProtocolError::malformed(format!(
                        "unknown decision outcome {other}"
                    )));
                }
            };
            Body::Decision(Decision {
                request_id,
                outcome,
            })
        }
        MessageKind::Fetch => Body::Fetch(Fetch {
            grant_id: grant_id(b.required(GRANT_ID, "grant id")?)?,
        }),
        MessageKind::Update => Body::Update(Update {
            grant_id: grant_id(b.required(GRANT_ID, "grant id")?)?,
            fields: field_names(b.required(UPD_FIELDS, "updated fields")?, "updated fields")?,
            sealed: Sealed::from_cbor(b.required(UPD_SEALED, "sealed")?)?,
        }),
        MessageKind::Revoke => Body::Revoke(Revoke {
            grant_id: grant_id(b.required(GRANT_ID, "grant id")?)?,
            reason: b
                .take(REVOKE_REASON)
                .map(|r| cbor::text(r, "reason", MAX_TEXT_BYTES))
                .transpose()?,
        }),
        MessageKind::EraseRequest => Body::EraseRequest(EraseRequest {
            reason: b
                .take(ERASE_REASON)
                .map(|r| cbor::text(r, "reason", MAX_TEXT_BYTES))
                .transpose()?,
        }),
        MessageKind::DeletionReceipt => {
            let cause = cbor::uint(b.required(RCPT_CAUSE, "cause")?, "cause")?;
            let in_reply_to = b
                .take(RCPT_IN_REPLY_TO)
                .map(|v| cbor::byte_array(v, "in_reply_to").map(MessageId::from_bytes))
                .transpose()?;
            let cause = match (cause, in_reply_to) {
                (CAUSE_EXPIRED, None) => DeletionCause::Expired,
                (CAUSE_REVOKED, Some(id)) => DeletionCause::Revoked(id),
                (CAUSE_ERASE_REQUESTED, Some(id)) => DeletionCause::EraseRequested(id),
                (CAUSE_EXPIRED, Some(_)) => {
                    return Err(ProtocolError::malformed(
                        "an expiry receipt answers no message",
                    ));
                }
                (CAUSE_REVOKED | CAUSE_ERASE_REQUESTED, None) => {
                    return Err(ProtocolError::malformed(
                        "receipt lacks in_reply_to (key 2)",
                    ));
                }
                (other, _) => {
                    return Err(ProtocolError::malformed(format!(
                        "unknown deletion cause {other}"
                    )));
                }
            };
            let grant_ids = cbor::array(
                b.required(RCPT_GRANTS, "grant ids")?,
                "grant ids",
                MAX_RECEIPT_GRANTS,
            )?
            .into_iter()
            .map(grant_id)
            .collect::<Result<Vec<_>, _>>()?;
            reject_duplicates(grant_ids.iter(), "receipt grant ids")?;
            Body::DeletionReceipt(DeletionReceipt {
                cause,
                grant_ids,
                erased_at: Timestamp::from_secs(cbor::uint(
                    b.required(RCPT_ERASED_AT, "erased_at")?,
                    "erased_at",
                )?),
                backend_confirmed: match b.take(RCPT_BACKEND_CONFIRMED) {
                    None => false,
                    Some(Value::Bool(true)) => true,
                    Some(_) => {
                        return Err(ProtocolError::malformed(
                            "backend_confirmed (key 5) is present only as true",
                        ));
                    }
                },
            })
        }
        MessageKind::Delivery => Body::Delivery(crate::delivery::decode_body(&mut b)?),
        MessageKind::AccessRequest => Body::AccessRequest(access::decode_request(&mut b)?),
        MessageKind::AccessStatement => Body::AccessStatement(access::decode_statement(&mut b)?),
    };
    b.finish()?;
    Ok(body)
}
