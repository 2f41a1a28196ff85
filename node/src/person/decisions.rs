//! Decisions: a request as it arrives (a standing policy decides it, or it waits in
//! the inbox), and the person's approval or refusal of one that waited.

use std::collections::BTreeSet;

use passport_protocol::{
    Body, Decision, FieldName, FieldValue, MessageId, Outcome, PassportId, Request, Timestamp,
    Verified,
};

use super::{
    inbox::{INBOX_PREFIX, PendingRequest, inbox_key},
    merchants::{DomainClaim, MerchantRecord, VerifiedName, merchant_key},
};
use crate::{
    audit::AuditEvent,
    consent::{self, Evaluation, FieldScope, Policy},
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx},
    vault::{self, FieldRecord, Sensitivity},
};

/// The person's answer to a pending request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approval {
    /// Release only these fields (all asked fields the person has, if `None`).
    pub only: Option<Vec<FieldName>>,
    /// Grant for at most this long, in seconds (as long as asked, if `None`).
    pub duration_secs: Option<u64>,
    /// Also trust this merchant from now on (adds a standing policy).
    pub always: bool,
}

impl Node {
    /// Approves a pending request, wholly or in part. Returns the grant to send.
    pub fn approve(
        &self,
        request_id: &MessageId,
        approval: Approval,
        now: Timestamp,
    ) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let (pending, request) = tx.take_pending(request_id)?;
            let asked: BTreeSet<&FieldName> = request.fields.iter().map(|f| &f.name).collect();
            let fields: Vec<FieldName> = match approval.only {
                Some(only) => {
                    if let Some(extra) = only.iter().find(|f| !asked.contains(f)) {
                        return Err(NodeError::InvalidChoice(format!(
                            "{extra} was not asked for"
                        )));
                    }
                    only
                }
                None => {
                    let mut have = Vec::new();
                    for f in &request.fields {
                        if tx.get::<FieldRecord>(&vault::field_key(&f.name))?.is_some() {
                            have.push(f.name.clone());
                        }
                    }
                    have
                }
            };
            if fields.is_empty() {
                return Err(NodeError::InvalidChoice(
                    "no field chosen; deny the request instead".into(),
                ));
            }
            let duration_secs = approval
                .duration_secs
                .map_or(request.duration_secs, |d| d.min(request.duration_secs));
            if approval.always {
                // Sensitive fields (by the person's own classification) are
                // named, so the policy releases them too; normal ones are covered.
                let mut named = std::collections::BTreeSet::new();
                for f in &fields {
                    if tx.field_class(f)? == Some(Sensitivity::Sensitive) {
                        named.insert(f.clone());
                    }
                }
                tx.add_policy(Policy {
                    fields: FieldScope {
                        any_normal: true,
                        named,
                    },
                    ..Policy::allow_normal_fields(Some(pending.merchant))
                })?;
            }
            let partial =
                fields.len() < request.fields.len() || duration_secs < request.duration_secs;
            let bytes =
                tx.issue_grant(&pending, &request, fields, duration_secs, partial, false)?;
            Ok(tx.send_later(Outgoing {
                to: pending.merchant,
                reply_to: request.reply_to,
                bytes,
            }))
        })
    }

    /// Refuses a pending request. Returns the refusal to send.
    pub fn deny(
        &self,
        request_id: &MessageId,
        reason: &str,
        now: Timestamp,
    ) -> Result<Outgoing, NodeError> {
        self.tx(now, |tx| {
            let (pending, request) = tx.take_pending(request_id)?;
            let bytes = tx.refuse(&pending, reason, false)?;
            Ok(tx.send_later(Outgoing {
                to: pending.merchant,
                reply_to: request.reply_to,
                bytes,
            }))
        })
    }
}

impl Tx<'_> {
    /// Checks the proof of its name a request carries: `Ok(Some)` when an issuer
    /// the person trusts vouches for it, `Ok(None)` when there is no proof or its
    /// issuer is not trusted, `Err` when the proof is forged, stale, or for
    /// another merchant or name.
    fn check_name_proof(
        &self,
        merchant: &PassportId,
        request: &Request,
    ) -> Result<Option<VerifiedName>, NodeError> {
        let Some(proof) = &request.name_proof else {
            return Ok(None);
        };
        let field: FieldName = passport_protocol::attest::NAME_FIELD
            .parse()
            .map_err(|_| NodeError::InvalidInput("the name field".into()))?;
        let attested = passport_protocol::verify_presentation(
            proof,
            merchant,
            &field,
            &FieldValue::Text(request.requester_name.clone()),
            self.now,
        )
        .map_err(|error| NodeError::Attestation {
            field: field.clone(),
            error,
        })?;
        Ok(self
            .node
            .config()
            .trusted_issuers
            .iter()
            .find(|t| t.id == attested.issuer)
            .map(|t| VerifiedName {
                name: request.requester_name.clone(),
                issuer: t.id,
                issuer_name: t.name.clone(),
                expires_at: attested.expires_at,
            }))
    }

    /// The sensitivity class the person gave a field they hold, or `None` if they do
    /// not hold it.
    fn field_class(&self, name: &FieldName) -> Result<Option<Sensitivity>, NodeError> {
        Ok(self
            .get::<FieldRecord>(&vault::field_key(name))?
            .map(|r| r.sensitivity))
    }

    pub(crate) fn on_request(
        &mut self,
        verified: Verified,
        bytes: &[u8],
    ) -> Result<Reply, NodeError> {
        let merchant = *verified.signer();
        let message = verified.into_message();
        let Body::Request(request) = message.body else {
            unreachable!("dispatched on kind")
        };
        let request_id = message.claims.id;
        self.audit(
            AuditEvent::RequestReceived {
                request: request_id,
                from: merchant,
                fields: request.fields.iter().map(|f| f.name.clone()).collect(),
                purpose: request.purpose.clone(),
            },
            Some(bytes.to_vec()),
        );
        let existing = self.get::<MerchantRecord>(&merchant_key(&merchant))?;
        let first_contact = existing.is_none();
        let mut record = existing.unwrap_or_else(|| MerchantRecord::new(self.now, String::new()));
        record.declared_name.clone_from(&request.requester_name);
        match self.check_name_proof(&merchant, &request) {
            Ok(verified) => record.verified_name = verified,
            Err(error) => {
                // A forged or stale proof of a name: refused whole, and audited.
                if let NodeError::Attestation { field, error } = &error {
                    self.audit(
                        AuditEvent::AttestationRefused {
                            from: merchant,
                            field: field.clone(),
                            reason: error.reason().to_string(),
                        },
                        Some(bytes.to_vec()),
                    );
                }
                self.refuse_after_commit(error);
                return Ok(Reply::Nothing);
            }
        }
        record.domain = match (&request.domain, record.domain.take()) {
            (None, _) => None,
            // The same domain as before keeps what its last check found.
            (Some(domain), Some(known)) if known.domain == *domain => Some(known),
            (Some(domain), _) => Some(DomainClaim {
                domain: domain.clone(),
                checked_at: None,
                verified: false,
            }),
        };
        self.put(merchant_key(&merchant), &record);

        let policies = self.node.policies()?;
        let mut classes = std::collections::BTreeMap::new();
        for f in &request.fields {
            if let Some(class) = self.field_class(&f.name)? {
                classes.insert(f.name.clone(), class);
            }
        }
        let pending = PendingRequest {
            message: bytes.to_vec(),
            request_id,
            merchant,
            received_at: self.now,
            expires_at: message.claims.expires_at,
            reasons: Vec::new(),
            first_contact,
        };
        match consent::evaluate(&request, &merchant, &policies, |f| classes.get(f).copied()) {
            Evaluation::Allow {
                fields,
                duration_secs,
                partial,
                ..
            } => Ok(Reply::Message(self.issue_grant(
                &pending,
                &request,
                fields,
                duration_secs,
                partial,
                true,
            )?)),
            Evaluation::Deny { .. } => Ok(Reply::Message(self.refuse(
                &pending,
                "declined by a standing policy",
                true,
            )?)),
            Evaluation::Ask { reasons } => {
                let inbox = self.scan::<PendingRequest>(INBOX_PREFIX)?;
                let config = self.node.config();
                if inbox.len() >= config.inbox_total {
                    return Err(NodeError::InboxFull("too many pending requests in total"));
                }
                if inbox.iter().filter(|(_, p)| p.merchant == merchant).count()
                    >= config.inbox_per_merchant
                {
                    return Err(NodeError::InboxFull(
                        "too many pending requests from this merchant",
                    ));
                }
                self.put(
                    inbox_key(&request_id),
                    &PendingRequest { reasons, ..pending },
                );
                Ok(Reply::Pending(request_id))
            }
        }
    }

    fn refuse(
        &mut self,
        pending: &PendingRequest,
        reason: &str,
        by_policy: bool,
    ) -> Result<Vec<u8>, NodeError> {
        let body = Body::Decision(Decision {
            request_id: pending.request_id,
            outcome: Outcome::Refused {
                reason: reason.to_owned(),
            },
        });
        let lifetime = self.node.config().message_lifetime_secs;
        let (bytes, _) = self.sign(pending.merchant, lifetime, body)?;
        self.audit(
            AuditEvent::RequestRefused {
                request: pending.request_id,
                to: pending.merchant,
                reason: reason.to_owned(),
                by_policy,
            },
            Some(bytes.clone()),
        );
        Ok(bytes)
    }
}
