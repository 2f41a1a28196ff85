//! "What do you hold about me?" (GDPR art. 15): a person asks a merchant with an
//! [`AccessRequest`] (kind 17); the merchant's node answers at once with a
//! signed [`AccessStatement`] (kind 18) listing every grant it holds from that
//! person: fields, purpose, dates, state, and how its data was erased.

use ciborium::Value;

use crate::{
    cbor::{self, MapReader, key},
    error::ProtocolError,
    field::{self, FieldName},
    id::{GrantId, MessageId},
    limits::{MAX_FIELDS, MAX_TEXT_BYTES},
    time::Timestamp,
};

/// Most grants one statement lists.
pub const MAX_STATEMENT_GRANTS: usize = 256;

/// Person → merchant: what do you hold about me?
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AccessRequest {
    /// Why, if the person said.
    pub reason: Option<String>,
}

/// Where a grant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum GrantState {
    /// Live: the merchant may use the data.
    Live = 0,
    /// The person revoked it.
    Revoked = 1,
    /// It ended.
    Expired = 2,
    /// Its data was erased.
    Erased = 3,
}

impl GrantState {
    const ALL: [Self; 4] = [Self::Live, Self::Revoked, Self::Expired, Self::Erased];

    /// Its lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::Erased => "erased",
        }
    }
}

/// How a grant's data was erased, as far as the merchant's node knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Erasure {
    /// Not erased.
    NotErased = 0,
    /// Erased by the node; the receipt went out.
    ByTheNode = 1,
    /// Erased by the node and confirmed by the shop's backend; the receipt went
    /// out.
    ConfirmedByTheBackend = 2,
    /// Erased by the node; the receipt waits for the backend's confirmation.
    AwaitingTheBackend = 3,
}

impl Erasure {
    const ALL: [Self; 4] = [
        Self::NotErased,
        Self::ByTheNode,
        Self::ConfirmedByTheBackend,
        Self::AwaitingTheBackend,
    ];

    /// Its lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotErased => "not_erased",
            Self::ByTheNode => "by_the_node",
            Self::ConfirmedByTheBackend => "confirmed_by_the_backend",
            Self::AwaitingTheBackend => "awaiting_the_backend",
        }
    }
}

/// One grant a merchant holds from the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldGrant {
    /// The grant.
    pub grant_id: GrantId,
    /// The fields it covers.
    pub fields: Vec<FieldName>,
    /// What for.
    pub purpose: String,
    /// When the merchant received it.
    pub received_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// Where it stands.
    pub state: GrantState,
    /// When the person revoked it.
    pub revoked_at: Option<Timestamp>,
    /// When its data was erased.
    pub erased_at: Option<Timestamp>,
    /// How its data was erased.
    pub erasure: Erasure,
}

/// Merchant → person: every grant held from the person, signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessStatement {
    /// The `cti` of the access request this answers.
    pub in_reply_to: MessageId,
    /// The grants, at most [`MAX_STATEMENT_GRANTS`] (the newest when there are more).
    pub grants: Vec<HeldGrant>,
}

const REQ_REASON: i64 = 1;
const ST_IN_REPLY_TO: i64 = 1;
const ST_GRANTS: i64 = 2;
const G_ID: i64 = 1;
const G_FIELDS: i64 = 2;
const G_PURPOSE: i64 = 3;
const G_RECEIVED: i64 = 4;
const G_EXPIRES: i64 = 5;
const G_STATE: i64 = 6;
const G_REVOKED: i64 = 7;
const G_ERASED: i64 = 8;
const G_ERASURE: i64 = 9;

fn uint(n: u64) -> Value {
    Value::Integer(n.into())
}

pub(crate) fn encode_request(r: &AccessRequest) -> Vec<(i64, Value)> {
    r.reason
        .iter()
        .map(|reason| (REQ_REASON, Value::Text(reason.clone())))
        .collect()
}

pub(crate) fn decode_request(b: &mut MapReader) -> Result<AccessRequest, ProtocolError> {
    Ok(AccessRequest {
        reason: b
            .take(REQ_REASON)
            .map(|r| cbor::text(r, "reason", MAX_TEXT_BYTES))
            .transpose()?,
    })
}

pub(crate) fn encode_statement(s: &AccessStatement) -> Vec<(i64, Value)> {
    let grants = s
        .grants
        .iter()
        .map(|g| {
            let mut e = vec![
                (key(G_ID), Value::Bytes(g.grant_id.as_bytes().to_vec())),
                (
                    key(G_FIELDS),
                    Value::Array(
                        g.fields
                            .iter()
                            .map(|f| Value::Text(f.to_string()))
                            .collect(),
                    ),
                ),
                (key(G_PURPOSE), Value::Text(g.purpose.clone())),
                (key(G_RECEIVED), uint(g.received_at.as_secs())),
                (key(G_EXPIRES), uint(g.expires_at.as_secs())),
                (key(G_STATE), uint(g.state as u64)),
            ];
            if let Some(at) = g.revoked_at {
                e.push((key(G_REVOKED), uint(at.as_secs())));
            }
            if let Some(at) = g.erased_at {
                e.push((key(G_ERASED), uint(at.as_secs())));
            }
            e.push((key(G_ERASURE), uint(g.erasure as u64)));
            Value::Map(e)
        })
        .collect();
    vec![
        (
            ST_IN_REPLY_TO,
            Value::Bytes(s.in_reply_to.as_bytes().to_vec()),
        ),
        (ST_GRANTS, Value::Array(grants)),
    ]
}

pub(crate) fn decode_statement(b: &mut MapReader) -> Result<AccessStatement, ProtocolError> {
    let in_reply_to = MessageId::from_bytes(cbor::byte_array(
        b.required(ST_IN_REPLY_TO, "in_reply_to")?,
        "in_reply_to",
    )?);
    let time = |v: Value, what: &str| cbor::uint(v, what).map(Timestamp::from_secs);
    let grants = cbor::array(
        b.required(ST_GRANTS, "grants")?,
        "grants",
        MAX_STATEMENT_GRANTS,
    )?
    .into_iter()
    .map(|g| {
        let mut g = MapReader::new(g, "held grant")?;
        let fields = cbor::array(g.required(G_FIELDS, "fields")?, "fields", MAX_FIELDS)?
            .into_iter()
            .map(|f| field::field_name(f, "held field"))
            .collect::<Result<Vec<_>, _>>()?;
        let state = cbor::uint(g.required(G_STATE, "state")?, "state")?;
        let erasure = cbor::uint(g.required(G_ERASURE, "erasure")?, "erasure")?;
        let held = HeldGrant {
            grant_id: GrantId::from_bytes(cbor::byte_array(
                g.required(G_ID, "grant id")?,
                "grant id",
            )?),
            fields,
            purpose: cbor::text(g.required(G_PURPOSE, "purpose")?, "purpose", MAX_TEXT_BYTES)?,
            received_at: time(g.required(G_RECEIVED, "received_at")?, "received_at")?,
            expires_at: time(g.required(G_EXPIRES, "expires_at")?, "expires_at")?,
            state: GrantState::ALL
                .into_iter()
                .find(|s| *s as u64 == state)
                .ok_or_else(|| ProtocolError::malformed(format!("unknown grant state {state}")))?,
            revoked_at: g
                .take(G_REVOKED)
                .map(|v| time(v, "revoked_at"))
                .transpose()?,
            erased_at: g.take(G_ERASED).map(|v| time(v, "erased_at")).transpose()?,
            erasure: Erasure::ALL
                .into_iter()
                .find(|e| *e as u64 == erasure)
                .ok_or_else(|| ProtocolError::malformed(format!("unknown erasure {erasure}")))?,
        };
        g.finish()?;
        Ok(held)
    })
    .collect::<Result<Vec<_>, ProtocolError>>()?;
    let mut seen = std::collections::BTreeSet::new();
    if !grants.iter().all(|g| seen.insert(g.grant_id)) {
        return Err(ProtocolError::malformed(
            "the statement lists a grant twice",
        ));
    }
    Ok(AccessStatement {
        in_reply_to,
        grants,
    })
}
