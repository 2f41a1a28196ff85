//! The inbox: requests waiting for the person, read back with what a person needs
//! to decide, and dropped once they expire.

use passport_protocol::{Body, MessageId, PassportId, Request, Timestamp, decode_trusted};
use serde::{Deserialize, Serialize};

use super::merchants::{MerchantRecord, merchant_key};
use crate::{
    audit::AuditEvent,
    consent::AskReason,
    error::NodeError,
    node::{Node, Tx, expired},
};

pub(super) const INBOX_PREFIX: &[u8] = b"i/";

pub(super) fn inbox_key(id: &MessageId) -> Vec<u8> {
    [INBOX_PREFIX, id.as_bytes()].concat()
}

/// A request waiting for the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The request as received (signed bytes), re-verified when answered.
    #[serde(with = "serde_bytes")]
    pub message: Vec<u8>,
    /// The request's id.
    pub request_id: MessageId,
    /// The merchant.
    pub merchant: PassportId,
    /// When it arrived.
    pub received_at: Timestamp,
    /// When it stops being answerable.
    pub expires_at: Timestamp,
    /// Why it was not decided by a policy.
    pub reasons: Vec<AskReason>,
    /// The first request ever from this merchant.
    pub first_contact: bool,
}

/// A pending request, decoded, with what a person needs to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    /// The stored entry.
    pub pending: PendingRequest,
    /// The request itself.
    pub request: Request,
    /// How to name the merchant to the person.
    pub merchant: MerchantRecord,
    /// For each field the request wants attested, the issuer whose attestation
    /// the person holds and would send with it, or `None`: it would go
    /// unattested.
    pub attestations: std::collections::BTreeMap<passport_protocol::FieldName, Option<PassportId>>,
}

impl InboxItem {
    /// The request in one sentence, e.g. `"Brand X" (unverified name, id fmCy5x1H;
    /// first contact) asks for name.given, address.home for delivery, for 30 days,
    /// offering free shipping.`
    pub fn sentence(&self) -> String {
        let fields: Vec<&str> = self
            .request
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let offer = self
            .request
            .offer
            .as_ref()
            .map(|o| format!(", offering {}", o.text))
            .unwrap_or_default();
        format!(
            "{} asks for {} for {}, for {}{}.",
            self.merchant
                .display(&self.pending.merchant, self.pending.first_contact),
            fields.join(", "),
            self.request.purpose,
            crate::human::duration(self.request.duration_secs),
            offer
        )
    }
}

impl Node {
    /// Pending requests, oldest first.
    pub fn inbox(&self) -> Result<Vec<InboxItem>, NodeError> {
        let mut items = self
            .scan::<PendingRequest>(INBOX_PREFIX)?
            .into_iter()
            .map(|(_, pending)| self.inbox_item_of(pending))
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by_key(|i| i.pending.received_at);
        Ok(items)
    }

    /// One pending request, if it waits in the inbox.
    pub fn inbox_item(&self, request: &MessageId) -> Result<Option<InboxItem>, NodeError> {
        self.get::<PendingRequest>(&inbox_key(request))?
            .map(|pending| self.inbox_item_of(pending))
            .transpose()
    }

    fn inbox_item_of(&self, pending: PendingRequest) -> Result<InboxItem, NodeError> {
        let request = decode_request(&pending.message)?;
        let merchant = self
            .get::<MerchantRecord>(&merchant_key(&pending.merchant))?
            .unwrap_or_else(|| {
                MerchantRecord::new(pending.received_at, request.requester_name.clone())
            });
        // For each field the merchant wants attested: the issuer whose held
        // attestation would go with the value, or none.
        let me = self.id();
        let mut attestations = std::collections::BTreeMap::new();
        for f in request.fields.iter().filter(|f| !f.attested_by.is_empty()) {
            let record =
                self.get::<crate::vault::FieldRecord>(&crate::vault::field_key(&f.name))?;
            let issuer = record.as_ref().and_then(|r| {
                r.attestations
                    .iter()
                    .find(|a| {
                        f.attested_by.contains(&a.issuer)
                            && a.check(&me, &f.name, &r.value, a.received_at).is_ok()
                    })
                    .map(|a| a.issuer)
            });
            attestations.insert(f.name.clone(), issuer);
        }
        Ok(InboxItem {
            pending,
            request,
            merchant,
            attestations,
        })
    }

    /// How many requests wait, without decoding them: for a count on every page.
    pub fn inbox_len(&self) -> Result<usize, NodeError> {
        Ok(self.storage().scan_prefix(INBOX_PREFIX)?.len())
    }
}

/// A pending request read back from the store (verified when it arrived).
fn decode_request(message: &[u8]) -> Result<Request, NodeError> {
    match decode_trusted(message)?.body {
        Body::Request(r) => Ok(r),
        other => Err(NodeError::UnexpectedKind {
            expected: "request",
            got: other.kind().name(),
        }),
    }
}

impl Tx<'_> {
    pub(super) fn take_pending(
        &mut self,
        request_id: &MessageId,
    ) -> Result<(PendingRequest, Request), NodeError> {
        let pending = self
            .get::<PendingRequest>(&inbox_key(request_id))?
            .ok_or(NodeError::UnknownRequest(*request_id))?;
        if expired(pending.expires_at, self.now) {
            return Err(NodeError::UnknownRequest(*request_id));
        }
        self.batch.delete(inbox_key(request_id));
        let request = decode_request(&pending.message)?;
        Ok((pending, request))
    }

    pub(crate) fn expire_inbox(&mut self) -> Result<(), NodeError> {
        for (k, pending) in self.scan::<PendingRequest>(INBOX_PREFIX)? {
            if expired(pending.expires_at, self.now) {
                self.batch.delete(k);
                self.audit(
                    AuditEvent::RequestExpired {
                        request: pending.request_id,
                        from: pending.merchant,
                    },
                    None,
                );
            }
        }
        Ok(())
    }
}
