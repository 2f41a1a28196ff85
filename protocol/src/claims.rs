//! The CWT claims set every signed Passport object carries: who signed it
//! (`iss`), for whom (`aud`), when (`iat`, `nbf`, `exp`), which one (`cti`), the
//! protocol version, the kind and a kind-specific body. Messages
//! ([`crate::message`]) and mailbox messages ([`crate::mailbox`]) write and read it
//! here.
//!
//! The CWT claims of RFC 8392 sit at their registered keys (`iss` 1, `aud` 3,
//! `exp` 4, `nbf` 5, `iat` 6, `cti` 7); Passport's own claims use keys from the
//! CWT private-use range (below -65536).

use ciborium::Value;
use rand_core::CryptoRng;

use crate::{
    cbor::{self, MapReader, key},
    cose,
    error::ProtocolError,
    id::{MessageId, PassportId},
    keys::IdentityKey,
    limits::MAX_ID_TEXT_BYTES,
    time::Timestamp,
};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u64 = 1;

/// Payload keys: the CWT claims and Passport's private-use claims.
pub mod claim_key {
    /// `iss`: the signer's passport id (text).
    pub const ISS: i64 = 1;
    /// `aud`: the recipient's passport id (text).
    pub const AUD: i64 = 3;
    /// `exp`: expiry (NumericDate).
    pub const EXP: i64 = 4;
    /// `nbf`: not valid before (NumericDate), optional.
    pub const NBF: i64 = 5;
    /// `iat`: issued at (NumericDate).
    pub const IAT: i64 = 6;
    /// `cti`: the message id (16-byte byte string).
    pub const CTI: i64 = 7;
    /// Passport protocol version (unsigned integer).
    pub const VERSION: i64 = -65537;
    /// Message kind (unsigned integer, see [`MessageKind`](crate::MessageKind) and the mailbox kinds).
    pub const KIND: i64 = -65538;
    /// Kind-specific body (map).
    pub const BODY: i64 = -65539;
}

/// The claims every message carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// `iss`: who signed it.
    pub issuer: PassportId,
    /// `aud`: who it is for.
    pub audience: PassportId,
    /// `iat`: when it was made.
    pub issued_at: Timestamp,
    /// `nbf`: not valid before this time, if set.
    pub not_before: Option<Timestamp>,
    /// `exp`: not valid after this time. For a grant, the grant's end.
    pub expires_at: Timestamp,
    /// `cti`: a random id, unique per message.
    pub id: MessageId,
}

impl Claims {
    /// Claims for a message from `issuer` to `audience`, made `now` and valid for
    /// `lifetime_secs`, with a fresh random id.
    pub fn new(
        issuer: PassportId,
        audience: PassportId,
        now: Timestamp,
        lifetime_secs: u64,
        rng: &mut impl CryptoRng,
    ) -> Self {
        Self {
            issuer,
            audience,
            issued_at: now,
            not_before: None,
            expires_at: now.plus_secs(lifetime_secs),
            id: MessageId::random(rng),
        }
    }
}

/// The CWT claims set of a message of `kind` with `body`: the map every signed
/// Passport message's payload is (mailbox messages included).
pub(crate) fn claims_set(c: &Claims, kind: u64, body: Value) -> Value {
    let mut map = vec![
        (key(claim_key::ISS), Value::Text(c.issuer.to_string())),
        (key(claim_key::AUD), Value::Text(c.audience.to_string())),
        (
            key(claim_key::EXP),
            Value::Integer(c.expires_at.as_secs().into()),
        ),
    ];
    if let Some(nbf) = c.not_before {
        map.push((key(claim_key::NBF), Value::Integer(nbf.as_secs().into())));
    }
    map.extend([
        (
            key(claim_key::IAT),
            Value::Integer(c.issued_at.as_secs().into()),
        ),
        (key(claim_key::CTI), Value::Bytes(c.id.as_bytes().to_vec())),
        (
            key(claim_key::VERSION),
            Value::Integer(PROTOCOL_VERSION.into()),
        ),
        (key(claim_key::KIND), Value::Integer(kind.into())),
        (key(claim_key::BODY), body),
    ]);
    Value::Map(map)
}

/// Reads a claims set's version and kind, then (once `accept` took the kind) its
/// claims and body: the other half of [`claims_set`].
pub(crate) fn read_claims_set<K>(
    payload: &[u8],
    accept: impl FnOnce(u64) -> Result<K, ProtocolError>,
) -> Result<(Claims, K, MapReader), ProtocolError> {
    let mut map = MapReader::new(cbor::decode(payload)?, "payload")?;
    // Version first: a newer sender's payload may not parse under this version's rules.
    let version = cbor::uint(map.required(claim_key::VERSION, "ver")?, "ver")?;
    if version != PROTOCOL_VERSION {
        return Err(ProtocolError::UnsupportedVersion {
            found: version,
            supported: PROTOCOL_VERSION,
        });
    }
    let kind = accept(cbor::uint(map.required(claim_key::KIND, "kind")?, "kind")?)?;
    let time = |value: Value, claim: &str| cbor::uint(value, claim).map(Timestamp::from_secs);
    let claims = Claims {
        issuer: passport_id(map.required(claim_key::ISS, "iss")?, "iss")?,
        audience: passport_id(map.required(claim_key::AUD, "aud")?, "aud")?,
        expires_at: time(map.required(claim_key::EXP, "exp")?, "exp")?,
        not_before: map
            .take(claim_key::NBF)
            .map(|v| time(v, "nbf"))
            .transpose()?,
        issued_at: time(map.required(claim_key::IAT, "iat")?, "iat")?,
        id: MessageId::from_bytes(cbor::byte_array(
            map.required(claim_key::CTI, "cti")?,
            "cti",
        )?),
    };
    if claims.expires_at < claims.issued_at {
        return Err(ProtocolError::malformed("exp is before iat"));
    }
    let body = MapReader::new(map.required(claim_key::BODY, "body")?, "body")?;
    map.finish()?;
    Ok((claims, kind, body))
}

/// A passport id written as its `did:key` text, as `claim` (named in errors).
pub(crate) fn passport_id(value: Value, claim: &'static str) -> Result<PassportId, ProtocolError> {
    cbor::text(value, claim, MAX_ID_TEXT_BYTES)?
        .parse()
        .map_err(|error| ProtocolError::InvalidId { claim, error })
}

/// Checks a signed object of at most `max` bytes received by `me` at `now`: size
/// (before decoding), CBOR, COSE structure and signature, the payload (`decode`),
/// `kid` = `iss`, `aud` = `me`, and the `iat`..`exp` window (± skew). What mailbox
/// and device objects share; replay is each receiver's own check.
pub(crate) fn verify_addressed<T>(
    bytes: &[u8],
    max: usize,
    me: &PassportId,
    now: Timestamp,
    decode: impl FnOnce(&[u8]) -> Result<T, ProtocolError>,
    claims: impl Fn(&T) -> &Claims,
) -> Result<T, ProtocolError> {
    let sign1 = cose::verify_at_most(bytes, max)?;
    let object = decode(&sign1.payload)?;
    let c = claims(&object);
    if c.issuer != sign1.signer {
        return Err(ProtocolError::KidMismatch);
    }
    if c.audience != *me {
        return Err(ProtocolError::WrongAudience {
            expected: *me,
            found: c.audience,
        });
    }
    crate::verify::check_window(c.not_before.unwrap_or(c.issued_at), c.expires_at, now)?;
    Ok(object)
}

/// Signs `claims` with `kind` and `body` into a COSE_Sign1 with `key`, which must
/// be the issuer's. The payload is first read back with `check` (the decoder a
/// receiver runs) and the result held to `max` bytes, so whatever this returns, a
/// receiver accepts (time, audience and replay aside).
pub(crate) fn sign_claims_set<T>(
    key: &IdentityKey,
    claims: &Claims,
    kind: u64,
    body: Value,
    max: usize,
    check: impl FnOnce(&[u8]) -> Result<T, ProtocolError>,
) -> Result<Vec<u8>, ProtocolError> {
    let signer = key.id();
    if signer != claims.issuer {
        return Err(ProtocolError::IssuerNotSigner {
            issuer: claims.issuer,
            signer,
        });
    }
    let payload = cbor::encode(&claims_set(claims, kind, body))?;
    check(&payload)?;
    let signed = cose::sign(key, payload)?;
    if signed.len() > max {
        return Err(ProtocolError::TooLarge {
            size: signed.len(),
            max,
        });
    }
    Ok(signed)
}
