//! The person's fields: typed values with tags and a sensitivity class, each
//! encrypted at rest under the data key with its key (`f/<name>`) as AAD.

use std::collections::BTreeSet;

use passport_protocol::{FieldName, FieldValue, Timestamp};
use serde::{Deserialize, Serialize};

/// How carefully a field is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Standing policies may release it.
    Normal,
    /// Asked for every time unless a policy names this field explicitly.
    Sensitive,
}

impl Sensitivity {
    /// Its name, as in JSON: `normal` or `sensitive`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Sensitive => "sensitive",
        }
    }

    /// The default class of a field: payment details and government ids are
    /// sensitive, everything else normal.
    pub fn default_for(name: &FieldName) -> Self {
        let top = name.as_str().split('.').next().unwrap_or_default();
        match top {
            "payment" | "gov" | "government" | "passport" | "tax" | "ssn" | "national_id" => {
                Self::Sensitive
            }
            _ => Self::Normal,
        }
    }
}

/// One field as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRecord {
    /// The value.
    pub value: FieldValue,
    /// Free tags (lifestyle, usage), e.g. `vegetarian`, `cyclist`.
    pub tags: BTreeSet<String>,
    /// Release class.
    pub sensitivity: Sensitivity,
    /// Last change.
    pub updated_at: Timestamp,
    /// Issuers' attestations of the value. One that no longer matches the value
    /// (it was changed) is dropped when the value changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<crate::data::attest::HeldAttestation>,
}

/// Most tags on one field, and the longest tag.
pub const MAX_TAGS: usize = 32;
/// Longest tag, in bytes.
pub const MAX_TAG_BYTES: usize = 64;

pub(crate) fn field_key(name: &FieldName) -> Vec<u8> {
    format!("f/{name}").into_bytes()
}

pub(crate) const FIELD_PREFIX: &[u8] = b"f/";
