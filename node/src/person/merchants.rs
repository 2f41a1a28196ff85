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
}

impl MerchantRecord {
    /// The person's petname for it, or else the name it declared.
    pub fn name(&self) -> &str {
        self.petname.as_deref().unwrap_or(&self.declared_name)
    }

    /// How to show this merchant: the person's petname, or the declared name marked
    /// unverified; always with the short id.
    pub fn display(&self, id: &PassportId, first_contact: bool) -> String {
        let first = if first_contact { "; first contact" } else { "" };
        match &self.petname {
            Some(p) => format!("{p} (id {}{first})", id.fmt_short()),
            None => format!(
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
                .unwrap_or(MerchantRecord {
                    first_seen: now,
                    declared_name: String::new(),
                    petname: None,
                });
            record.petname = petname;
            tx.put(merchant_key(merchant), &record);
            Ok(())
        })
    }
}
