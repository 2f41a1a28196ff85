//! Grants the person issued: issuing one, listing and revoking them, and the
//! updates pushed to (or fetched by) the merchant while one is live.

use passport_protocol::{
    Body, Decision, FieldName, FieldValues, Grant, GrantId, MessageId, Outcome, PassportId,
    Request, Revoke, Sealed, SealingPublicKey, Terms, Timestamp, Update, Verified,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::inbox::PendingRequest;
use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx, ended},
    vault::{self, FieldRecord},
};

pub(super) const GRANT_PREFIX: &[u8] = b"g/";

pub(super) fn grant_key(id: &GrantId) -> Vec<u8> {
    [GRANT_PREFIX, id.as_bytes()].concat()
}

/// A grant this person issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedGrant {
    /// Its id.
    pub grant_id: GrantId,
    /// To whom.
    pub merchant: PassportId,
    /// The request it answered.
    pub request_id: MessageId,
    /// Fields released.
    pub fields: Vec<FieldName>,
    /// The person's terms.
    pub terms: Terms,
    /// When issued.
    pub issued_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// The merchant's key, for updates.
    pub seal_to: SealingPublicKey,
    /// Where the merchant asked to be answered.
    pub reply_to: Vec<String>,
    /// When revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// The merchant's deletion receipt, when one arrived.
    pub receipt: Option<MessageId>,
    /// The issuers the request wanted attestations by, per field: the grant and
    /// its updates present a held attestation by one of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attested_by: BTreeMap<FieldName, Vec<PassportId>>,
}

impl IssuedGrant {
    /// Live: not revoked and not past its end.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && !ended(self.expires_at, now)
    }
}

impl Node {
    /// Grants issued, newest first.
    pub fn grants(&self) -> Result<Vec<IssuedGrant>, NodeError> {
        let mut grants: Vec<IssuedGrant> = self
            .scan(GRANT_PREFIX)?
            .into_iter()
            .map(|(_, g)| g)
            .collect();
        grants.sort_by_key(|g| std::cmp::Reverse(g.issued_at));
        Ok(grants)
    }

    /// One grant issued, by id.
    pub fn issued_grant(&self, grant_id: &GrantId) -> Result<Option<IssuedGrant>, NodeError> {
        self.get(&grant_key(grant_id))
    }

    /// Revokes a grant. Returns the revocation to send.
    pub fn revoke(&self, grant_id: &GrantId, now: Timestamp) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let mut grant = tx
                .get::<IssuedGrant>(&grant_key(grant_id))?
                .ok_or(NodeError::UnknownGrant(*grant_id))?;
            if grant.revoked_at.is_some() {
                return Err(NodeError::GrantRevoked(*grant_id));
            }
            grant.revoked_at = Some(now);
            tx.put(grant_key(grant_id), &grant);
            let lifetime = tx.node.config().message_lifetime_secs;
            let (bytes, _) = tx.sign(
                grant.merchant,
                lifetime,
                Body::Revoke(Revoke {
                    grant_id: *grant_id,
                    reason: None,
                }),
            )?;
            tx.audit(
                AuditEvent::GrantRevoked {
                    grant: *grant_id,
                    to: grant.merchant,
                },
                Some(bytes.clone()),
            );
            Ok(tx.send_later(Outgoing {
                to: grant.merchant,
                reply_to: grant.reply_to,
                bytes,
            }))
        })
    }
}

/// The issuers a request wants attestations by, per field (fields that want none
/// are left out).
pub(crate) fn wanted_attestations(request: &Request) -> BTreeMap<FieldName, Vec<PassportId>> {
    request
        .fields
        .iter()
        .filter(|f| !f.attested_by.is_empty())
        .map(|f| (f.name.clone(), f.attested_by.clone()))
        .collect()
}

impl Tx<'_> {
    /// Whether the person holds a live grant to `merchant`.
    pub(crate) fn holds_live_grant_with(&self, merchant: &PassportId) -> Result<bool, NodeError> {
        Ok(self
            .scan::<IssuedGrant>(GRANT_PREFIX)?
            .iter()
            .any(|(_, g)| g.merchant == *merchant && g.is_live(self.now)))
    }

    /// Current values of `fields`, skipping any the person no longer has.
    fn values_of(&self, fields: &[FieldName]) -> Result<FieldValues, NodeError> {
        let mut values = FieldValues::new();
        for f in fields {
            if let Some(r) = self.get::<FieldRecord>(&vault::field_key(f))? {
                values.insert(f.clone(), r.value);
            }
        }
        Ok(values)
    }

    pub(super) fn issue_grant(
        &mut self,
        pending: &PendingRequest,
        request: &Request,
        fields: Vec<FieldName>,
        duration_secs: u64,
        partial: bool,
        by_policy: bool,
    ) -> Result<Vec<u8>, NodeError> {
        let values = self.values_of(&fields)?;
        if let Some(missing) = fields.iter().find(|f| !values.contains_key(*f)) {
            return Err(NodeError::UnknownField(missing.clone()));
        }
        let grant_id = GrantId::random(&mut *self.rng);
        let attested_by = wanted_attestations(request);
        let presented = self.presentations_for(&values, &attested_by)?;
        let sealed = Sealed::seal_presented(
            &values,
            &presented,
            &request.seal_to,
            &grant_id,
            &pending.merchant,
            &mut *self.rng,
        )?;
        let terms = Terms {
            retention_secs: request
                .retention_secs
                .min(self.node.config().max_retention_secs),
            no_resale: true,
            purpose: request.purpose.clone(),
        };
        let grant = Grant {
            grant_id,
            partial,
            fields: fields.clone(),
            terms: terms.clone(),
            sealed,
        };
        let body = Body::Decision(Decision {
            request_id: pending.request_id,
            outcome: Outcome::Granted(grant),
        });
        let (bytes, decision_id) = self.sign(pending.merchant, duration_secs, body)?;
        self.index_decision(decision_id, grant_id);
        let expires_at = self.now.plus_secs(duration_secs);
        self.put(
            grant_key(&grant_id),
            &IssuedGrant {
                grant_id,
                merchant: pending.merchant,
                request_id: pending.request_id,
                fields: fields.clone(),
                terms,
                issued_at: self.now,
                expires_at,
                seal_to: request.seal_to,
                reply_to: request.reply_to.clone(),
                revoked_at: None,
                receipt: None,
                attested_by,
            },
        );
        self.audit(
            AuditEvent::GrantIssued {
                grant: grant_id,
                request: pending.request_id,
                to: pending.merchant,
                fields,
                expires_at,
                by_policy,
            },
            Some(bytes.clone()),
        );
        Ok(bytes)
    }

    /// Seals `values` to the grant's merchant as an Update, with its audit entry.
    fn send_update(
        &mut self,
        grant: &IssuedGrant,
        values: &FieldValues,
    ) -> Result<Vec<u8>, NodeError> {
        let fields: Vec<FieldName> = values.keys().cloned().collect();
        let presented = self.presentations_for(values, &grant.attested_by)?;
        let sealed = Sealed::seal_presented(
            values,
            &presented,
            &grant.seal_to,
            &grant.grant_id,
            &grant.merchant,
            &mut *self.rng,
        )?;
        let lifetime = self.node.config().message_lifetime_secs;
        let (bytes, _) = self.sign(
            grant.merchant,
            lifetime,
            Body::Update(Update {
                grant_id: grant.grant_id,
                fields: fields.clone(),
                sealed,
            }),
        )?;
        self.audit(
            AuditEvent::UpdateSent {
                grant: grant.grant_id,
                to: grant.merchant,
                fields,
            },
            Some(bytes.clone()),
        );
        Ok(bytes)
    }

    /// Updates for every live grant that includes `changed`, with `new` standing in
    /// for the value this transaction is writing (`None`: removed).
    pub(crate) fn push_updates(
        &mut self,
        changed: &FieldName,
        new: Option<&passport_protocol::FieldValue>,
    ) -> Result<Vec<Outgoing>, NodeError> {
        let mut out = Vec::new();
        for (_, grant) in self.scan::<IssuedGrant>(GRANT_PREFIX)? {
            if !grant.is_live(self.now) || !grant.fields.contains(changed) {
                continue;
            }
            // Reads see the store before this transaction: patch in the new value.
            let mut values = self.values_of(&grant.fields)?;
            match new {
                Some(value) => values.insert(changed.clone(), value.clone()),
                None => values.remove(changed),
            };
            if values.is_empty() {
                continue;
            }
            let bytes = self.send_update(&grant, &values)?;
            let queued = self.send_later(Outgoing {
                to: grant.merchant,
                reply_to: grant.reply_to.clone(),
                bytes,
            });
            out.push(queued);
        }
        Ok(out)
    }

    pub(crate) fn on_fetch(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let merchant = *verified.signer();
        let Body::Fetch(fetch) = &verified.message().body else {
            unreachable!("dispatched on kind")
        };
        let grant = self
            .get::<IssuedGrant>(&grant_key(&fetch.grant_id))?
            .filter(|g| g.merchant == merchant)
            .ok_or(NodeError::UnknownGrant(fetch.grant_id))?;
        if grant.revoked_at.is_some() {
            return Err(NodeError::GrantRevoked(grant.grant_id));
        }
        if ended(grant.expires_at, self.now) {
            return Err(NodeError::GrantExpired(grant.grant_id));
        }
        self.audit(
            AuditEvent::FetchReceived {
                grant: grant.grant_id,
                from: merchant,
            },
            Some(bytes.to_vec()),
        );
        let values = self.values_of(&grant.fields)?;
        Ok(Reply::Message(self.send_update(&grant, &values)?))
    }
}
