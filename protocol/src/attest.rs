//! Attestations: an issuer (a bank, a post office, any node) vouches for one of a
//! person's field values without seeing who it will be shown to, in the manner
//! of SD-CWT (draft-ietf-spice-sd-cwt): the issuer signs a **salted digest** of
//! the value, never the value itself, so a verifier learns a value only when the
//! person discloses it with its salt.
//!
//! - An [`Attestation`] (kind 15) is a COSE_Sign1 over a CWT claims set like
//!   every Passport object: `iss` the issuer, `aud` the **subject** (the person
//!   the value belongs to), `iat`, `exp`, `cti`; its body names the field and
//!   holds the digest.
//! - A [`Disclosure`] is what the person reveals: `[salt, value, field name]`,
//!   the salted claim array of SD-CWT. Its digest is SHA-256 over its CBOR
//!   encoding ([`Disclosure::digest`]).
//! - A [`Presentation`] travels inside a grant's sealed values, beside the value
//!   it vouches for: the signed attestation and the salt. The verifier rebuilds
//!   the disclosure from the value it opened ([`verify_presentation`]).
//!
//! The same object vouches for a merchant's name: the subject is the merchant
//! and the field [`NAME_FIELD`].

use ciborium::Value;
use rand_core::CryptoRng;
use sha2::Digest as _;

use crate::{
    cbor::{self, key},
    claims::{Claims, read_claims_set, sign_claims_set},
    cose,
    error::ProtocolError,
    field::{self, FieldName, FieldValue},
    id::{MessageId, PassportId},
    keys::IdentityKey,
    limits::CLOCK_SKEW_SECS,
    time::Timestamp,
};

/// The payload `kind` of an [`Attestation`].
pub const ATTESTATION_KIND: u64 = 15;

/// Largest signed attestation, in bytes (one is about 300).
pub const MAX_ATTESTATION_BYTES: usize = 1024;

/// The bytes of a disclosure's salt: 128 bits, as SD-CWT recommends.
pub const SALT_BYTES: usize = 16;

/// The field an issuer attests to vouch for a merchant's name: the value is the
/// name as a text ("Brand X SAS").
pub const NAME_FIELD: &str = "org.name";

/// Most issuers a request may name for one field.
pub const MAX_ATTESTERS: usize = 8;

const BODY_FIELD: i64 = 1;
const BODY_DIGEST: i64 = 2;

/// What an issuer signs: the field and the salted digest of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// The field vouched for, e.g. `address.home`.
    pub field: FieldName,
    /// SHA-256 of the [`Disclosure`] (salt, value, field name).
    pub digest: [u8; 32],
}

/// A verified attestation: who vouched, for whom, for which field, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attested {
    /// The issuer.
    pub issuer: PassportId,
    /// The subject: whose value it is.
    pub subject: PassportId,
    /// The field.
    pub field: FieldName,
    /// When the issuer signed it.
    pub issued_at: Timestamp,
    /// When it stops vouching.
    pub expires_at: Timestamp,
    /// Its id (`cti`).
    pub id: MessageId,
}

/// What the person reveals to let a verifier check an attestation: the salt, the
/// value and the field's name.
#[derive(Clone, PartialEq, Eq)]
pub struct Disclosure<'a> {
    /// The salt the issuer chose.
    pub salt: [u8; SALT_BYTES],
    /// The value.
    pub value: &'a FieldValue,
    /// The field's name.
    pub field: &'a FieldName,
}

impl Disclosure<'_> {
    /// The disclosure's CBOR encoding: `[salt, value, name]`, as SD-CWT's salted
    /// disclosed claim.
    pub fn encode(&self) -> Result<Vec<u8>, ProtocolError> {
        cbor::encode(&Value::Array(vec![
            Value::Bytes(self.salt.to_vec()),
            self.value.to_cbor(),
            Value::Text(self.field.to_string()),
        ]))
    }

    /// SHA-256 of [`Disclosure::encode`]: what the issuer signs.
    pub fn digest(&self) -> Result<[u8; 32], ProtocolError> {
        Ok(sha2::Sha256::digest(self.encode()?).into())
    }
}

/// An attestation as the person presents it with a value: the signed attestation
/// and the salt. Inside a grant, both stay sealed to the merchant.
#[derive(Clone, PartialEq, Eq)]
pub struct Presentation {
    /// The signed [`Attestation`].
    pub attestation: Vec<u8>,
    /// The disclosure's salt.
    pub salt: [u8; SALT_BYTES],
}

impl std::fmt::Debug for Presentation {
    // The salt is what lets a value be tested against the digest: keep it out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presentation")
            .field(
                "attestation",
                &format_args!("<{} bytes>", self.attestation.len()),
            )
            .finish_non_exhaustive()
    }
}

/// Why an attestation does not vouch for a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// The attestation is not a well-formed, correctly signed attestation.
    #[error("the attestation is invalid: {0}")]
    Invalid(#[from] ProtocolError),
    /// It vouches for another person's value.
    #[error("the attestation is about {found}, not about {expected}")]
    OtherSubject {
        /// Whose value it should be.
        expected: PassportId,
        /// Whose value it is about.
        found: PassportId,
    },
    /// It vouches for another field.
    #[error("the attestation is for the field {found}, not for {expected}")]
    OtherField {
        /// The field presented.
        expected: FieldName,
        /// The field the issuer signed.
        found: FieldName,
    },
    /// The value and salt do not hash to the digest the issuer signed: the value
    /// changed after it was attested, or the salt is wrong.
    #[error(
        "the value or its salt does not match what the issuer signed (was the value changed after it was attested?)"
    )]
    DigestMismatch,
    /// Its `exp` has passed.
    #[error("the attestation by {issuer} expired at {expires_at}; ask the issuer for a new one")]
    Expired {
        /// The issuer.
        issuer: PassportId,
        /// Its `exp`.
        expires_at: Timestamp,
    },
    /// Its `iat` is in the future.
    #[error("the attestation by {issuer} is dated {issued_at}, in the future; check both clocks")]
    NotYetValid {
        /// The issuer.
        issuer: PassportId,
        /// Its `iat`.
        issued_at: Timestamp,
    },
    /// The issuer is not one the verifier trusts for this field.
    #[error("the attestation is by {issuer}, who is not among the issuers trusted for it")]
    UntrustedIssuer {
        /// The issuer.
        issuer: PassportId,
    },
}

impl AttestationError {
    /// A short, stable, lowercase name for the variant, for audit entries and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::OtherSubject { .. } => "other_subject",
            Self::OtherField { .. } => "other_field",
            Self::DigestMismatch => "digest_mismatch",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::UntrustedIssuer { .. } => "untrusted_issuer",
        }
    }
}

/// Signs an attestation by `issuer` that `subject`'s `field` holds `value`,
/// valid `lifetime_secs` from `now`, with a fresh salt. Returns the signed
/// attestation and the salt: both go to the subject, who alone reveals them.
pub fn attest(
    issuer: &IdentityKey,
    subject: PassportId,
    field: &FieldName,
    value: &FieldValue,
    now: Timestamp,
    lifetime_secs: u64,
    rng: &mut impl CryptoRng,
) -> Result<Presentation, ProtocolError> {
    let mut salt = [0u8; SALT_BYTES];
    rng.fill_bytes(&mut salt);
    let digest = Disclosure { salt, value, field }.digest()?;
    let claims = Claims::new(issuer.id(), subject, now, lifetime_secs, rng);
    let attestation = sign_claims_set(
        issuer,
        &claims,
        ATTESTATION_KIND,
        encode_body(&Attestation {
            field: field.clone(),
            digest,
        }),
        MAX_ATTESTATION_BYTES,
        decode_payload,
    )?;
    Ok(Presentation { attestation, salt })
}

/// Checks a signed attestation's size, CBOR, COSE signature, payload and `kid`
/// = `iss`, and nothing else: not the subject, the value or the time. What an
/// auditor or a fuzzer runs; a verifier runs [`verify_presentation`].
pub fn verify_attestation(bytes: &[u8]) -> Result<(Claims, Attestation), ProtocolError> {
    let sign1 = cose::verify_at_most(bytes, MAX_ATTESTATION_BYTES)?;
    let (claims, attestation) = decode_payload(&sign1.payload)?;
    if claims.issuer != sign1.signer {
        return Err(ProtocolError::KidMismatch);
    }
    Ok((claims, attestation))
}

/// Checks that `presentation` vouches, at `now`, for `subject`'s `field` holding
/// `value`: the issuer's signature, the subject, the field, the digest of the
/// disclosure rebuilt from `value` and the salt, and the `iat`..`exp` window
/// (± [`CLOCK_SKEW_SECS`]). Whether the issuer is trusted is the caller's call.
pub fn verify_presentation(
    presentation: &Presentation,
    subject: &PassportId,
    field: &FieldName,
    value: &FieldValue,
    now: Timestamp,
) -> Result<Attested, AttestationError> {
    let (claims, attestation) = verify_attestation(&presentation.attestation)?;
    if claims.audience != *subject {
        return Err(AttestationError::OtherSubject {
            expected: *subject,
            found: claims.audience,
        });
    }
    if attestation.field != *field {
        return Err(AttestationError::OtherField {
            expected: field.clone(),
            found: attestation.field,
        });
    }
    let disclosed = Disclosure {
        salt: presentation.salt,
        value,
        field,
    }
    .digest()?;
    if disclosed != attestation.digest {
        return Err(AttestationError::DigestMismatch);
    }
    if now.minus_secs(CLOCK_SKEW_SECS) > claims.expires_at {
        return Err(AttestationError::Expired {
            issuer: claims.issuer,
            expires_at: claims.expires_at,
        });
    }
    let valid_from = claims.not_before.unwrap_or(claims.issued_at);
    if now.plus_secs(CLOCK_SKEW_SECS) < valid_from {
        return Err(AttestationError::NotYetValid {
            issuer: claims.issuer,
            issued_at: valid_from,
        });
    }
    Ok(Attested {
        issuer: claims.issuer,
        subject: claims.audience,
        field: attestation.field,
        issued_at: claims.issued_at,
        expires_at: claims.expires_at,
        id: claims.id,
    })
}

fn encode_body(body: &Attestation) -> Value {
    Value::Map(vec![
        (key(BODY_FIELD), Value::Text(body.field.to_string())),
        (key(BODY_DIGEST), Value::Bytes(body.digest.to_vec())),
    ])
}

fn decode_payload(payload: &[u8]) -> Result<(Claims, Attestation), ProtocolError> {
    let (claims, _, mut body) = read_claims_set(payload, |kind| match kind {
        ATTESTATION_KIND => Ok(kind),
        found => Err(ProtocolError::UnknownKind { found }),
    })?;
    let attestation = Attestation {
        field: field::field_name(body.required(BODY_FIELD, "field")?, "attested field")?,
        digest: cbor::byte_array(body.required(BODY_DIGEST, "digest")?, "digest")?,
    };
    body.finish()?;
    Ok((claims, attestation))
}

/// A presentation as CBOR: `[attestation, salt]`, the form it takes inside
/// sealed values and deliveries.
pub(crate) fn presentation_to_cbor(p: &Presentation) -> Value {
    Value::Array(vec![
        Value::Bytes(p.attestation.clone()),
        Value::Bytes(p.salt.to_vec()),
    ])
}

/// The inverse of [`presentation_to_cbor`].
pub(crate) fn presentation_from_cbor(value: Value) -> Result<Presentation, ProtocolError> {
    let mut items = cbor::array(value, "presentation", 2)?.into_iter();
    match (items.next(), items.next()) {
        (Some(attestation), Some(salt)) => Ok(Presentation {
            attestation: cbor::bytes(attestation, "attestation", MAX_ATTESTATION_BYTES)?,
            salt: cbor::byte_array(salt, "salt")?,
        }),
        _ => Err(ProtocolError::malformed(
            "presentation is not [attestation, salt]",
        )),
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(15)
    }

    #[test]
    fn a_presentation_vouches_for_its_value_subject_and_field_only() {
        let (bank, ada, bob) = (
            IdentityKey::from_secret_bytes(&[1; 32]),
            IdentityKey::from_secret_bytes(&[2; 32]),
            IdentityKey::from_secret_bytes(&[3; 32]),
        );
        let now = Timestamp::from_secs(1_800_000_000);
        let field: FieldName = "address.home".parse().unwrap();
        let value = FieldValue::Text("1 rue de la Paix, Lyon".into());
        let p = attest(&bank, ada.id(), &field, &value, now, 86_400, &mut rng()).unwrap();
        let attested = verify_presentation(&p, &ada.id(), &field, &value, now).unwrap();
        assert_eq!(
            (attested.issuer, attested.expires_at),
            (bank.id(), now.plus_secs(86_400))
        );
        // Another subject, field, value, salt, or after exp: refused, each for its reason.
        let reason = |r: Result<Attested, AttestationError>| r.unwrap_err().reason();
        assert_eq!(
            reason(verify_presentation(&p, &bob.id(), &field, &value, now)),
            "other_subject"
        );
        let email: FieldName = "email".parse().unwrap();
        assert_eq!(
            reason(verify_presentation(&p, &ada.id(), &email, &value, now)),
            "other_field"
        );
        let moved = FieldValue::Text("2 rue de la Paix, Lyon".into());
        assert_eq!(
            reason(verify_presentation(&p, &ada.id(), &field, &moved, now)),
            "digest_mismatch"
        );
        let mut salted = p.clone();
        salted.salt[0] ^= 1;
        assert_eq!(
            reason(verify_presentation(&salted, &ada.id(), &field, &value, now)),
            "digest_mismatch"
        );
        assert_eq!(
            reason(verify_presentation(
                &p,
                &ada.id(),
                &field,
                &value,
                now.plus_secs(86_400 + CLOCK_SKEW_SECS + 1)
            )),
            "expired"
        );
        assert_eq!(
            reason(verify_presentation(
                &p,
                &ada.id(),
                &field,
                &value,
                now.minus_secs(CLOCK_SKEW_SECS + 1)
            )),
            "not_yet_valid"
        );
        // A forged signature: the subject re-signing it as the bank.
        let mut forged = p.clone();
        let last = forged.attestation.len() - 1;
        forged.attestation[last] ^= 1;
        assert_eq!(
            reason(verify_presentation(&forged, &ada.id(), &field, &value, now)),
            "invalid"
        );
        // Not a message, nor a device object.
        assert!(crate::verify_offline(&p.attestation).is_err());
        // Debug keeps the salt out.
        assert!(!format!("{p:?}").contains(&format!("{:?}", p.salt)));
    }

    #[test]
    fn the_digest_is_sha256_of_the_cbor_disclosure() {
        let field: FieldName = "email".parse().unwrap();
        let value = FieldValue::Text("ada@example.org".into());
        let d = Disclosure {
            salt: [0xAA; SALT_BYTES],
            value: &value,
            field: &field,
        };
        let encoded = d.encode().unwrap();
        // [h'AA…', "ada@example.org", "email"]
        assert_eq!(encoded[0], 0x83);
        assert_eq!(&encoded[1..3], &[0x50, 0xAA]);
        assert_eq!(
            d.digest().unwrap(),
            <[u8; 32]>::from(sha2::Sha256::digest(&encoded))
        );
    }
}
