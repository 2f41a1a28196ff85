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
