//! Sealing granted values to a merchant: HPKE (RFC 9180) base mode with
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305 (suite 0x0020,
//! 0x0001, 0x0003). The grant id and the audience are bound in `info`, so a sealed
//! blob cannot be moved to another grant or opened as meant for another merchant.

use std::collections::BTreeMap;

use ciborium::Value;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::{
    attest::{Presentation, presentation_from_cbor, presentation_to_cbor},
    cbor,
    error::ProtocolError,
    field::{self, FieldName, FieldValue},
    id::{GrantId, PassportId},
    keys::{SealingKey, SealingPublicKey},
    limits::{MAX_FIELDS, MAX_HPKE_INFO_BYTES},
};

pub(crate) type X25519Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

/// The first bytes of every HPKE `info`: `"passport/v1 grant"` then a zero byte.
pub const HPKE_INFO_LABEL: &[u8] = b"passport/v1 grant\0";

/// Field values, by name, as sealed in a grant or an update.
pub type FieldValues = BTreeMap<FieldName, FieldValue>;

/// Attestations presented with sealed values, by the field each vouches for.
pub type Presentations = BTreeMap<FieldName, Presentation>;

/// The key of the presentations in a sealed plaintext: an integer, so no field
/// name (always text) can take it, and absent when nothing is attested, so values
/// sealed without attestations are encoded exactly as before.
const PRESENTATIONS_KEY: i64 = 0;

/// Values sealed to one recipient: the HPKE encapsulated key and the ciphertext
/// (ChaCha20-Poly1305 output, tag included) of the CBOR-encoded values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// HPKE `enc`: the sender's ephemeral X25519 public key.
    pub enc: [u8; 32],
    /// HPKE ciphertext with its 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// The HPKE `info` for a grant: [`HPKE_INFO_LABEL`], the 16 grant id bytes, then the
/// audience's `did:key` text in UTF-8.
pub fn hpke_info(grant_id: &GrantId, audience: &PassportId) -> Vec<u8> {
    let audience = audience.to_string();
    let mut info = Vec::with_capacity(HPKE_INFO_LABEL.len() + 16 + audience.len());
    info.extend_from_slice(HPKE_INFO_LABEL);
    info.extend_from_slice(grant_id.as_bytes());
    info.extend_from_slice(audience.as_bytes());
    info
}

impl Sealed {
    /// Seals `values` to `recipient`, bound to `grant_id` and `audience`.
    pub fn seal(
        values: &FieldValues,
        recipient: &SealingPublicKey,
        grant_id: &GrantId,
        audience: &PassportId,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, ProtocolError> {
        Self::seal_presented(
            values,
            &Presentations::new(),
            recipient,
            grant_id,
            audience,
            rng,
        )
    }

    /// [`Sealed::seal`] with attestations presented beside some of the values
    /// (each for a field among `values`).
    pub fn seal_presented(
        values: &FieldValues,
        presentations: &Presentations,
        recipient: &SealingPublicKey,
        grant_id: &GrantId,
        audience: &PassportId,
        rng: &mut impl CryptoRng,
    ) -> Result<Self, ProtocolError> {
        if values.len() > MAX_FIELDS {
            return Err(ProtocolError::malformed(format!(
                "{} values to seal, over the limit of {MAX_FIELDS}",
                values.len()
            )));
        }
        if let Some(name) = presentations.keys().find(|f| !values.contains_key(*f)) {
            return Err(ProtocolError::malformed(format!(
                "an attestation is presented for {name}, which is not among the values"
            )));
        }
        let mut map: Vec<(Value, Value)> = values
            .iter()
            .map(|(name, value)| (Value::Text(name.to_string()), value.to_cbor()))
            .collect();
        if !presentations.is_empty() {
            map.push((
                cbor::key(PRESENTATIONS_KEY),
                Value::Map(
                    presentations
                        .iter()
                        .map(|(name, p)| (Value::Text(name.to_string()), presentation_to_cbor(p)))
                        .collect(),
                ),
            ));
        }
        let plaintext = Zeroizing::new(cbor::encode(&Value::Map(map))?);
        let (enc, ciphertext) = seal_with_info(
            recipient,
            &hpke_info(grant_id, audience),
            &[],
            &plaintext,
            rng,
        )?;
        Ok(Self { enc, ciphertext })
    }

    /// Opens values sealed to `key` for `grant_id` and `audience`.
    pub fn open(
        &self,
        key: &SealingKey,
        grant_id: &GrantId,
        audience: &PassportId,
    ) -> Result<FieldValues, ProtocolError> {
        self.open_presented(key, grant_id, audience)
            .map(|(values, _)| values)
    }

    /// [`Sealed::open`], with the attestations presented beside the values. They
    /// are not verified here: see [`verify_presentation`](crate::attest::verify_presentation).
    pub fn open_presented(
        &self,
        key: &SealingKey,
        grant_id: &GrantId,
        audience: &PassportId,
    ) -> Result<(FieldValues, Presentations), ProtocolError> {
        let plaintext = Zeroizing::new(open_with_info(
            key,
            &self.enc,
            &hpke_info(grant_id, audience),
            &[],
            &self.ciphertext,
        )?);
        decode_values(&plaintext)
    }

    pub(crate) fn to_cbor(&self) -> Value {
        Value::Array(vec![
            Value::Bytes(self.enc.to_vec()),
            Value::Bytes(self.ciphertext.clone()),
        ])
    }

    pub(crate) fn from_cbor(value: Value) -> Result<Self, ProtocolError> {
        let mut items = cbor::array(value, "sealed", 2)?.into_iter();
        match (items.next(), items.next()) {
            (Some(enc), Some(ciphertext)) => {
                let enc = cbor::byte_array::<32>(enc, "sealed enc")?;
                let Value::Bytes(ciphertext) = ciphertext else {
                    return Err(ProtocolError::malformed(
                        "sealed ciphertext is not a byte string",
                    ));
                };
                Ok(Self { enc, ciphertext })
            }
            _ => Err(ProtocolError::malformed("sealed is not [enc, ciphertext]")),
        }
    }
}

/// HPKE single-shot seal in Passport's suite (base mode, X25519/HKDF-SHA256/
/// ChaCha20-Poly1305) with a caller-chosen `info` and `aad`: the primitive under
/// [`Sealed::seal`], exposed so it can be checked against RFC 9180's test vectors.
/// Returns `enc` and the ciphertext.
pub fn seal_with_info(
    recipient: &SealingPublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<([u8; 32], Vec<u8>), ProtocolError> {
    // RFC 9180 caps info near 2^16 bytes (and the hpke crate panics beyond it).
    if info.len() > MAX_HPKE_INFO_BYTES {
        return Err(ProtocolError::SealFailed);
    }
    let public = <X25519Kem as hpke::kem::Kem>::PublicKey::from_bytes(recipient.as_bytes())
        .map_err(|_| ProtocolError::SealFailed)?;
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<Aead, Kdf, X25519Kem>(
        &OpModeS::Base,
        &public,
        info,
        plaintext,
        aad,
        rng,
    )
    .map_err(|_| ProtocolError::SealFailed)?;
    let mut enc_bytes = [0u8; 32];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    Ok((enc_bytes, ciphertext))
}

/// The inverse of [`seal_with_info`].
pub fn open_with_info(
    key: &SealingKey,
    enc: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, ProtocolError> {
    if info.len() > MAX_HPKE_INFO_BYTES {
        return Err(ProtocolError::OpenFailed);
    }
    let enc = <X25519Kem as hpke::kem::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| ProtocolError::OpenFailed)?;
    hpke::single_shot_open::<Aead, Kdf, X25519Kem>(
        &OpModeR::Base,
        key.hpke_key(),
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map_err(|_| ProtocolError::OpenFailed)
}

/// Decodes an opened plaintext: a map of field name to value, and perhaps the
/// presentations under [`PRESENTATIONS_KEY`].
fn decode_values(plaintext: &[u8]) -> Result<(FieldValues, Presentations), ProtocolError> {
    let Value::Map(pairs) = cbor::decode(plaintext)? else {
        return Err(ProtocolError::malformed("sealed values are not a map"));
    };
    if pairs.len() > MAX_FIELDS + 1 {
        return Err(ProtocolError::malformed(format!(
            "sealed values hold {} fields, over the limit of {MAX_FIELDS}",
            pairs.len()
        )));
    }
    let mut values = FieldValues::new();
    let mut presented = None;
    for (name, value) in pairs {
        if name == cbor::key(PRESENTATIONS_KEY) {
            if presented.is_some() {
                return Err(ProtocolError::malformed(
                    "sealed values hold the presentations twice",
                ));
            }
            presented = Some(value);
            continue;
        }
        let name = field::field_name(name, "sealed field name")?;
        let value = FieldValue::from_cbor(value, "sealed field value")?;
        if values.insert(name, value).is_some() {
            return Err(ProtocolError::malformed("sealed values name a field twice"));
        }
    }
    if values.len() > MAX_FIELDS {
        return Err(ProtocolError::malformed(format!(
            "sealed values hold {} fields, over the limit of {MAX_FIELDS}",
            values.len()
        )));
    }
    let mut presentations = Presentations::new();
    if let Some(presented) = presented {
        let Value::Map(pairs) = presented else {
            return Err(ProtocolError::malformed("presentations are not a map"));
        };
        if pairs.is_empty() || pairs.len() > values.len() {
            return Err(ProtocolError::malformed(
                "presentations are empty or outnumber the values",
            ));
        }
        for (name, p) in pairs {
            let name = field::field_name(name, "presented field name")?;
            if !values.contains_key(&name) {
                return Err(ProtocolError::malformed(format!(
                    "an attestation is presented for {name}, which is not among the values"
                )));
            }
            if presentations
                .insert(name, presentation_from_cbor(p)?)
                .is_some()
            {
                return Err(ProtocolError::malformed("presentations name a field twice"));
            }
        }
    }
    Ok((values, presentations))
}
