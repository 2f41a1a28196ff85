//! What the person knows of the merchants that asked it for something, and the
//! petnames the person gives them.

use passport_protocol::{PassportId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{error::NodeError, node::Node};

const MERCHANT_PREFIX: &[u8] = b"m/";

pub(super) fn merchant_key(id: &PassportId) -> Vec<u8> {
    [MERCHANT_PREFIX, id.public_key_bytes()].concat()
}

/// What the person knows of a merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantRecord {
    /// The first request from it.
    pub first_seen: Timestamp,
    /// The name it last declared for itself (never verified).
    pub declared_name: String,
    /// The name the person gave it, shown instead from then on.
    pub petname: Option<String>,
    /// Its declared name, when an issuer the person trusts vouched for it (on
    /// the last request that carried a proof).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_name: Option<VerifiedName>,
    /// The web domain its last request named, and what checking its
    /// `/.well-known/passport` found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainClaim>,
}

/// A merchant's name an issuer vouched for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedName {
    /// The name.
    pub name: String,
    /// The issuer.
    pub issuer: PassportId,
    /// The issuer's name in the person's trust list.
    pub issuer_name: String,
    /// Until when the attestation vouches.
    pub expires_at: Timestamp,
}

/// A web domain a merchant claims, and whether its `/.well-known/passport`
/// names the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainClaim {
    /// The domain (`host` or `host:port`).
    pub domain: String,
    /// When it was last checked, if ever.
    pub checked_at: Option<Timestamp>,
    /// Whether that check found this merchant's id there.
    pub verified: bool,
}

impl MerchantRecord {
    /// A merchant first seen at `first_seen`, declaring `declared_name`.
    pub(super) fn new(first_seen: Timestamp, declared_name: String) -> Self {
        Self {
            first_seen,
            declared_name,
            petname: None,
            verified_name: None,
            domain: None,
        }
    }

    /// The person's petname for it, or else the name it declared.
    pub fn name(&self) -> &str {
        self.petname.as_deref().unwrap_or(&self.declared_name)
    }

    /// Who vouches for the declared name, if anyone does: an issuer the person
    /// trusts (checked, expiry included, when the last request arrived), or the
    /// merchant's own website.
    pub fn verified_by(&self) -> Option<String> {
        if let Some(v) = &self.verified_name
            && v.name == self.declared_name
        {
            return Some(v.issuer_name.clone());
        }
        self.domain
            .as_ref()
            .filter(|d| d.verified)
            .map(|d| format!("its website {}", d.domain))
    }

    /// How to show this merchant: the person's petname; or the declared name with
    /// who verified it; or the declared name marked unverified; always with the
    /// short id.
    pub fn display(&self, id: &PassportId, first_contact: bool) -> String {
        let first = if first_contact { "; first contact" } else { "" };
        match (&self.petname, self.verified_by()) {
            (Some(p), _) => format!("{p} (id {}{first})", id.fmt_short()),
            (None, Some(by)) => format!(
                "\"{}\" (verified by {by}, id {}{first})",
                self.declared_name,
                id.fmt_short()
            ),
            (None, None) => format!(
                "\"{}\" (unverified name, id {}{first})",
                self.declared_name,
                id.fmt_short()
            ),
        }
    }
}

impl Node {
    /// What this person knows of a merchant that has asked it for something.
    pub fn merchant(&self, id: &PassportId) -> Result<Option<MerchantRecord>, NodeError> {
        self.get::<MerchantRecord>(&merchant_key(id))
    }

    /// Names a merchant; the name is shown instead of its declared one from now on.
    pub fn set_petname(
        &self,
        merchant: &PassportId,
        petname: Option<String>,
        now: Timestamp,
    ) -> Result<(), NodeError> {
        self.tx(now, |tx| {
            let mut record = tx
                .get::<MerchantRecord>(&merchant_key(merchant))?
                .unwrap_or_else(|| MerchantRecord::new(now, String::new()));
            record.petname = petname;
            tx.put(merchant_key(merchant), &record);
            Ok(())
        })
    }
}
