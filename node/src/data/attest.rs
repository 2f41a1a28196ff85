//! Attestations, three ways round:
//!
//! - **issuer**: [`Node::attest`] vouches for a value a person granted this node,
//!   and delivers the attestation and its salt to them;
//! - **person**: an attestation delivered to them is checked against the field's
//!   current value and kept beside it ([`HeldAttestation`]); a grant presents it
//!   when the request asks for that issuer ([`Tx::presentations_for`]); a value
//!   changed afterwards no longer matches, so it is dropped then;
//! - **merchant**: the presentations in a grant or update are checked
//!   ([`check_presented`]): issuer signature, subject = the granting person,
//!   digest = value, not expired, and an issuer the request named.

use std::collections::BTreeMap;

use passport_protocol::{
    AttestationError, DataType, Delivered, FieldName, FieldValue, FieldValues, PassportId,
    Presentation, Presentations, SealingPublicKey, Timestamp, attest::MAX_ATTESTERS,
    verify_presentation,
};
use serde::{Deserialize, Serialize};

use crate::{
    audit::AuditEvent,
    error::NodeError,
    node::{Node, Outgoing, Reply, Tx},
    vault::{self, FieldRecord},
};

/// Longest an attestation this node issues may live: two years.
pub const MAX_ATTESTATION_LIFETIME_SECS: u64 = 2 * 365 * 86_400;

/// An attestation the person holds for one of their fields.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldAttestation {
    /// The signed attestation.
    #[serde(with = "serde_bytes")]
    pub attestation: Vec<u8>,
    /// Its salt: the secret that lets a value be checked against it.
    pub salt: [u8; passport_protocol::attest::SALT_BYTES],
    /// Who vouches.
    pub issuer: PassportId,
    /// Until when.
    pub expires_at: Timestamp,
    /// When it arrived.
    pub received_at: Timestamp,
}

impl std::fmt::Debug for HeldAttestation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldAttestation")
            .field("issuer", &self.issuer)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl HeldAttestation {
    /// The attestation and salt, to present with the value.
    pub fn presentation(&self) -> Presentation {
        Presentation {
            attestation: self.attestation.clone(),
            salt: self.salt,
        }
    }

    /// Whether it vouches, at `now`, for `person`'s `field` holding `value`.
    pub fn check(
        &self,
        person: &PassportId,
        field: &FieldName,
        value: &FieldValue,
        now: Timestamp,
    ) -> Result<(), AttestationError> {
        verify_presentation(&self.presentation(), person, field, value, now).map(|_| ())
    }
}

/// A field a merchant received with a valid attestation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestedField {
    /// Who vouched.
    pub issuer: PassportId,
    /// Until when.
    pub expires_at: Timestamp,
}

/// Checks every presentation that came with `values` from `person` at `now`:
/// each must vouch for its value and be by an issuer `wanted` names for its
/// field. Returns the attested fields.
pub(crate) fn check_presented(
    person: &PassportId,
    values: &FieldValues,
    presented: &Presentations,
    wanted: &BTreeMap<FieldName, Vec<PassportId>>,
    now: Timestamp,
) -> Result<BTreeMap<FieldName, AttestedField>, NodeError> {
    let mut attested = BTreeMap::new();
    for (field, presentation) in presented {
        let refused = |error| NodeError::Attestation {
            field: field.clone(),
            error,
        };
        let value = values.get(field).ok_or_else(|| {
            NodeError::InvalidInput(format!("an attestation came for {field}, with no value"))
        })?;
        let valid =
            verify_presentation(presentation, person, field, value, now).map_err(refused)?;
        if !wanted
            .get(field)
            .is_some_and(|issuers| issuers.contains(&valid.issuer))
        {
            return Err(refused(AttestationError::UntrustedIssuer {
                issuer: valid.issuer,
            }));
        }
        attested.insert(
            field.clone(),
            AttestedField {
                issuer: valid.issuer,
                expires_at: valid.expires_at,
            },
        );
    }
    Ok(attested)
}

impl Node {
    /// Vouches (as an issuer) that `person`'s `field` holds the value they
    /// granted this node, for `lifetime_secs`, and seals the attestation to them
    /// (`seal_to`, from their peer record). Needs a live grant from `person`
    /// that includes `field`. Returns the delivery to send.
    pub fn attest(
        &self,
        person: PassportId,
        seal_to: &SealingPublicKey,
        field: &FieldName,
        lifetime_secs: u64,
        now: Timestamp,
    ) -> Result<Outgoing, NodeError> {
        if lifetime_secs == 0 || lifetime_secs > MAX_ATTESTATION_LIFETIME_SECS {
            return Err(NodeError::InvalidInput(format!(
                "an attestation lives from 1 second to {} days",
                MAX_ATTESTATION_LIFETIME_SECS / 86_400
            )));
        }
        let value = self.value_granted_by(person, field, now)?;
        self.tx(now, |tx| {
            let presentation = passport_protocol::attest(
                &tx.node.keys().identity,
                person,
                field,
                &value,
                now,
                lifetime_secs,
                &mut *tx.rng,
            )?;
            let out = tx.sign_delivery(
                person,
                seal_to,
                DataType::Attestation,
                &Delivered {
                    title: field.to_string(),
                    items: BTreeMap::new(),
                    attestation: Some(presentation),
                },
            )?;
            tx.audit(
                AuditEvent::AttestationIssued {
                    to: person,
                    field: field.clone(),
                    expires_at: now.plus_secs(lifetime_secs),
                },
                Some(out.bytes.clone()),
            );
            Ok(out)
        })
    }

    /// The value of `field` that `person` granted this node under a live grant:
    /// what an attestation by this node vouches for.
    pub fn value_granted_by(
        &self,
        person: PassportId,
        field: &FieldName,
        now: Timestamp,
    ) -> Result<FieldValue, NodeError> {
        let grant = self
            .received()?
            .into_iter()
            .find(|g| {
                g.person == person && g.fields.contains(field) && g.is_live(now) && g.can_open()
            })
            .ok_or_else(|| {
                NodeError::InvalidInput(format!(
                    "no live grant from {person} includes {field}: ask them for it first, then attest what they sent"
                ))
            })?;
        self.open_grant(&grant.grant_id, now)?
            .remove(field)
            .ok_or_else(|| NodeError::UnknownField(field.clone()))
    }
}

impl Tx<'_> {
    /// This node's proof that it is called `name`: a held attestation of its own
    /// `org.name` field, when that field holds `name` and the attestation still
    /// vouches for it.
    pub(crate) fn name_proof(
        &self,
        name: &str,
    ) -> Result<Option<passport_protocol::Presentation>, NodeError> {
        let Ok(field) = passport_protocol::attest::NAME_FIELD.parse::<FieldName>() else {
            return Ok(None);
        };
        let Some(record) =
            self.get::<crate::vault::FieldRecord>(&crate::vault::field_key(&field))?
        else {
            return Ok(None);
        };
        if record.value != passport_protocol::FieldValue::Text(name.to_string()) {
            return Ok(None);
        }
        let me = self.me();
        Ok(record
            .attestations
            .iter()
            .find(|a| a.check(&me, &field, &record.value, self.now).is_ok())
            .map(HeldAttestation::presentation))
    }

    /// Refuses a grant or update whose attestation does not hold: audited, and
    /// nothing else of it kept.
    pub(crate) fn refuse_attestation(
        &mut self,
        person: PassportId,
        error: NodeError,
        bytes: &[u8],
    ) -> Reply {
        if let NodeError::Attestation { field, error } = &error {
            self.audit(
                AuditEvent::AttestationRefused {
                    from: person,
                    field: field.clone(),
                    reason: error.reason().to_string(),
                },
                Some(bytes.to_vec()),
            );
        }
        self.refuse_after_commit(error);
        Reply::Nothing
    }

    /// Keeps a delivered attestation beside its field, if it vouches for the
    /// field's current value; `Err` is why it is refused.
    pub(super) fn accept_attestation(
        &mut self,
        from: PassportId,
        content: Delivered,
    ) -> Result<(), String> {
        let Some(presentation) = content.attestation else {
            return Err("an attestation delivery holds no attestation".into());
        };
        let (claims, body) =
            passport_protocol::attest::verify_attestation(&presentation.attestation)
                .map_err(|e| format!("the attestation is invalid: {e}"))?;
        if claims.issuer != from {
            return Err(format!(
                "the attestation is by {}, not by its sender {from}",
                claims.issuer
            ));
        }
        let key = vault::field_key(&body.field);
        let mut record = self
            .get::<FieldRecord>(&key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("this person holds no field {}", body.field))?;
        let attested = verify_presentation(
            &presentation,
            &self.me(),
            &body.field,
            &record.value,
            self.now,
        )
        .map_err(|e| e.to_string())?;
        record.attestations.retain(|a| a.issuer != from);
        if record.attestations.len() >= MAX_ATTESTERS {
            return Err(format!(
                "{} already holds {MAX_ATTESTERS} attestations",
                body.field
            ));
        }
        record.attestations.push(HeldAttestation {
            attestation: presentation.attestation,
            salt: presentation.salt,
            issuer: attested.issuer,
            expires_at: attested.expires_at,
            received_at: self.now,
        });
        self.put(key, &record);
        self.audit(
            AuditEvent::AttestationReceived {
                field: body.field,
                issuer: from,
                expires_at: attested.expires_at,
            },
            None,
        );
        Ok(())
    }

    /// The attestations to present with `values`: for each field `wanted`
    /// names issuers for, the first held attestation by one of them that still
    /// vouches for the value.
    pub(crate) fn presentations_for(
        &self,
        values: &FieldValues,
        wanted: &BTreeMap<FieldName, Vec<PassportId>>,
    ) -> Result<Presentations, NodeError> {
        let me = self.me();
        let mut presented = Presentations::new();
        for (field, issuers) in wanted {
            let Some(value) = values.get(field) else {
                continue;
            };
            let Some(record) = self.get::<FieldRecord>(&vault::field_key(field))? else {
                continue;
            };
            if let Some(held) = record.attestations.iter().find(|a| {
                issuers.contains(&a.issuer) && a.check(&me, field, value, self.now).is_ok()
            }) {
                presented.insert(field.clone(), held.presentation());
            }
        }
        Ok(presented)
    }
}
