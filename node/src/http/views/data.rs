//! Views of attestations and data back (`/v1/fields`, `/v1/received`,
//! `/v1/data`, `/v1/deliveries`, `/v1/attestations`).

use std::collections::BTreeMap;

use passport_protocol::{MessageId, PassportId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::data::{self, attest};

/// An issuer's attestation of a field the person holds (`GET /v1/fields`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldAttestation {
    /// Who vouches for the value.
    pub issuer: PassportId,
    /// Until when.
    pub expires_at: Timestamp,
    /// When it arrived.
    pub received_at: Timestamp,
}

impl From<&attest::HeldAttestation> for FieldAttestation {
    fn from(a: &attest::HeldAttestation) -> Self {
        Self {
            issuer: a.issuer,
            expires_at: a.expires_at,
            received_at: a.received_at,
        }
    }
}

/// A field a merchant received with a valid attestation (`GET /v1/received`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttestedField {
    /// Who vouched.
    pub issuer: PassportId,
    /// Until when.
    pub expires_at: Timestamp,
}

impl From<&attest::AttestedField> for AttestedField {
    fn from(a: &attest::AttestedField) -> Self {
        Self {
            issuer: a.issuer,
            expires_at: a.expires_at,
        }
    }
}

/// `GET /v1/data` (each element): data a merchant delivered to the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveredData {
    /// Its id (the delivery message's), to delete it by.
    pub id: MessageId,
    /// Who sent it.
    pub from: PassportId,
    /// `receipt`, `order`, `warranty`, `loyalty` or `other`.
    #[serde(rename = "type")]
    pub data_type: String,
    /// Its title.
    pub title: String,
    /// Its content: named texts.
    pub items: BTreeMap<String, String>,
    /// When it arrived.
    pub received_at: Timestamp,
}

impl From<&data::DeliveredData> for DeliveredData {
    fn from(d: &data::DeliveredData) -> Self {
        Self {
            id: d.id,
            from: d.from,
            data_type: d.data_type.name().to_string(),
            title: d.title.clone(),
            items: d.items.clone(),
            received_at: d.received_at,
        }
    }
}

/// `POST /v1/deliveries` and `POST /v1/attestations`: the person's node took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivered {
    /// The person it reached.
    pub delivered_to: PassportId,
}

/// `POST` and `GET /v1/merchants/{id}/access`: what a merchant says it holds
/// about the person, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccessStatement {
    /// The merchant.
    pub merchant: PassportId,
    /// When its answer arrived.
    pub received_at: Timestamp,
    /// The id of its signed answer (`GET /v1/messages/{id}` gives the bytes).
    pub message_id: MessageId,
    /// Every grant it holds from the person.
    pub grants: Vec<HeldGrant>,
}

/// One grant in an [`AccessStatement`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeldGrant {
    /// The grant.
    pub grant_id: passport_protocol::GrantId,
    /// The fields it covers.
    pub fields: Vec<passport_protocol::FieldName>,
    /// What for.
    pub purpose: String,
    /// When the merchant received it.
    pub received_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// `live`, `revoked`, `expired` or `erased`.
    pub state: String,
    /// When the person revoked it.
    #[schema(required = true)]
    pub revoked_at: Option<Timestamp>,
    /// When its data was erased.
    #[schema(required = true)]
    pub erased_at: Option<Timestamp>,
    /// `not_erased`, `by_the_node`, `confirmed_by_the_backend` or
    /// `awaiting_the_backend`.
    pub erasure: String,
}

/// `POST /v1/merchants/{id}/access`: the merchant's answer, or `null` when its
/// node is offline and the question waits at its mailboxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccessAnswer {
    /// The answer.
    #[schema(required = true)]
    pub statement: Option<AccessStatement>,
}

impl From<&crate::person::Statement> for AccessStatement {
    fn from(s: &crate::person::Statement) -> Self {
        Self {
            merchant: s.merchant,
            received_at: s.received_at,
            message_id: s.message_id,
            grants: s
                .statement
                .grants
                .iter()
                .map(|g| HeldGrant {
                    grant_id: g.grant_id,
                    fields: g.fields.clone(),
                    purpose: g.purpose.clone(),
                    received_at: g.received_at,
                    expires_at: g.expires_at,
                    state: g.state.name().to_string(),
                    revoked_at: g.revoked_at,
                    erased_at: g.erased_at,
                    erasure: g.erasure.name().to_string(),
                })
                .collect(),
        }
    }
}
