//! COSE_Sign1 (RFC 9052 §4.2) with EdDSA, built directly on CBOR values.
//!
//! The signature covers the exact protected-header and payload bytes that travel, so
//! nothing is ever re-encoded before verifying.

use ciborium::Value;

use crate::{cbor, error::ProtocolError, id::PassportId, keys::IdentityKey};

/// CBOR tag of a COSE_Sign1 message.
pub const COSE_SIGN1_TAG: u64 = 18;
/// COSE algorithm id of EdDSA.
pub const ALG_EDDSA: i64 = -8;
/// COSE header label `alg`.
pub const HEADER_ALG: i64 = 1;
/// COSE header label `crit`.
pub const HEADER_CRIT: i64 = 2;
/// COSE header label `kid`.
pub const HEADER_KID: i64 = 4;

/// The protected header Passport writes: `{1: -8, 4: kid}`, `kid` being the signer's
/// `did:key` text as UTF-8 bytes.
fn protected_header(kid: &PassportId) -> Result<Vec<u8>, ProtocolError> {
    cbor::encode(&Value::Map(vec![
        (cbor::key(HEADER_ALG), cbor::key(ALG_EDDSA)),
        (
            cbor::key(HEADER_KID),
            Value::Bytes(kid.to_string().into_bytes()),
        ),
    ]))
}

/// The RFC 9052 §4.4 `Sig_structure` for a COSE_Sign1 with empty external AAD:
/// `["Signature1", protected, h'', payload]`, encoded.
pub(crate) fn sig_structure(protected: &[u8], payload: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    cbor::encode(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ]))
}

/// Signs `payload` into a tagged COSE_Sign1.
pub(crate) fn sign(key: &IdentityKey, payload: Vec<u8>) -> Result<Vec<u8>, ProtocolError> {
    let protected = protected_header(&key.id())?;
    let signature = key.sign(&sig_structure(&protected, &payload)?);
    cbor::encode(&Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(Vec::new()),
            Value::Bytes(payload),
            Value::Bytes(signature.to_vec()),
        ])),
    ))
}

/// A COSE_Sign1 whose structure and headers are valid (and, from [`verify`], whose
/// signature verified).
pub(crate) struct Sign1 {
    pub(crate) signer: PassportId,
    pub(crate) payload: Vec<u8>,
}

/// Parses a COSE_Sign1 and verifies its signature with the key named by `kid`.
/// The input must already have passed [`cbor::check_well_formed`].
pub(crate) fn verify(value: Value) -> Result<Sign1, ProtocolError> {
    let (sign1, protected, signature) = parse(value)?;
    let signer = sign1.signer;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| ProtocolError::BadSignature { signer })?;
    if !signer.verify_signature(&sig_structure(&protected, &sign1.payload)?, &signature) {
        return Err(ProtocolError::BadSignature { signer });
    }
    Ok(sign1)
}

/// [`verify`] for `bytes` of at most `max`, refused by size before decoding.
pub(crate) fn verify_at_most(bytes: &[u8], max: usize) -> Result<Sign1, ProtocolError> {
    if bytes.len() > max {
        return Err(ProtocolError::TooLarge {
            size: bytes.len(),
            max,
        });
    }
    verify(cbor::decode(bytes)?)
}

/// Parses a COSE_Sign1 and checks its structure and headers, not its signature.
/// Returns the signer named by `kid` and the payload, with the protected header and
/// the signature for [`verify`].
pub(crate) fn parse(value: Value) -> Result<(Sign1, Vec<u8>, Vec<u8>), ProtocolError> {
    let not_sign1 = |detail| ProtocolError::NotCoseSign1 { detail };
    let Value::Tag(tag, inner) = value else {
        return Err(not_sign1("no CBOR tag"));
    };
    if tag != COSE_SIGN1_TAG {
        return Err(not_sign1("wrong CBOR tag"));
    }
    let Value::Array(items) = *inner else {
        return Err(not_sign1("tag 18 does not wrap an array"));
    };
    let [protected, unprotected, payload, signature]: [Value; 4] = items
        .try_into()
        .map_err(|_| not_sign1("the array does not have four elements"))?;
    let Value::Bytes(protected) = protected else {
        return Err(not_sign1("the protected header is not a byte string"));
    };
    let Value::Map(unprotected) = unprotected else {
        return Err(not_sign1("the unprotected header is not a map"));
    };
    let Value::Bytes(payload) = payload else {
        return Err(not_sign1(
            "the payload is not a byte string (detached payloads are not used)",
        ));
    };
    let Value::Bytes(signature) = signature else {
        return Err(not_sign1("the signature is not a byte string"));
    };

    // Labels that must be protected (or, for kid, must not be ambiguous).
    for (n, (label, _)) in unprotected.iter().enumerate() {
        if unprotected[..n].iter().any(|(seen, _)| seen == label) {
            return Err(ProtocolError::MalformedHeader {
                detail: "a label appears twice in the unprotected header",
            });
        }
        if [HEADER_ALG, HEADER_CRIT, HEADER_KID]
            .iter()
            .any(|l| label.as_integer() == Some((*l).into()))
        {
            return Err(ProtocolError::MalformedHeader {
                detail: "alg, crit and kid must be in the protected header only",
            });
        }
    }

    let signer = read_protected(&protected)?;
    Ok((Sign1 { signer, payload }, protected, signature))
}

/// Checks the protected header and returns the signer named by `kid`.
fn read_protected(protected: &[u8]) -> Result<PassportId, ProtocolError> {
    // A zero-length protected header means an empty map (RFC 9052 §3), hence no alg.
    if protected.is_empty() {
        return Err(ProtocolError::WrongAlgorithm { found: None });
    }
    let Value::Map(pairs) = cbor::decode(protected)? else {
        return Err(ProtocolError::MalformedHeader {
            detail: "the protected header is not a map",
        });
    };
    let mut alg = None;
    let mut kid = None;
    let mut crit = None;
    for (n, (label, value)) in pairs.iter().enumerate() {
        if pairs[..n].iter().any(|(seen, _)| seen == label) {
            return Err(ProtocolError::MalformedHeader {
                detail: "a label appears twice in the protected header",
            });
        }
        match label.as_integer().and_then(|i| i64::try_from(i).ok()) {
            Some(HEADER_ALG) => alg = Some(value),
            Some(HEADER_KID) => kid = Some(value),
            Some(HEADER_CRIT) => crit = Some(value),
            // Unknown non-critical headers are ignored, as RFC 9052 allows.
            _ => {}
        }
    }
    if let Some(crit) = crit {
        let Value::Array(labels) = crit else {
            return Err(ProtocolError::MalformedHeader {
                detail: "crit is not an array",
            });
        };
        // Passport defines no extension headers, so any critical label is unknown.
        let Some(first) = labels.first() else {
            return Err(ProtocolError::MalformedHeader {
                detail: "crit is an empty array",
            });
        };
        let label = match first {
            Value::Integer(i) => i128::from(*i).to_string(),
            Value::Text(t) => format!("{t:?}"),
            _ => "(not a label)".to_owned(),
        };
        return Err(ProtocolError::UnknownCriticalHeader { label });
    }
    match alg {
        Some(Value::Integer(i)) if i128::from(*i) == i128::from(ALG_EDDSA) => {}
        Some(Value::Integer(i)) => {
            return Err(ProtocolError::WrongAlgorithm {
                found: i64::try_from(*i).ok(),
            });
        }
        _ => return Err(ProtocolError::WrongAlgorithm { found: None }),
    }
    let Some(Value::Bytes(kid)) = kid else {
        return Err(ProtocolError::MalformedHeader {
            detail: "kid is missing or not a byte string",
        });
    };
    let kid = std::str::from_utf8(kid).map_err(|_| ProtocolError::MalformedHeader {
        detail: "kid is not UTF-8 text of a passport id",
    })?;
    kid.parse().map_err(ProtocolError::InvalidKid)
}
