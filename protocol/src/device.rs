//! Linked devices: a laptop or phone that acts for a passport without holding its
//! identity key. The home node (which keeps the identity key) delegates to a
//! device key; the device signs its calls with that key and carries the
//! delegation in each; the home node checks both, does the work and signs what
//! goes to merchants itself.
//!
//! Three signed objects, each a COSE_Sign1 over a CWT claims set like every
//! message, with kinds outside the message and mailbox kinds:
//!
//! - [`Delegation`] (kind 12), by the person to the device (`aud`, the device
//!   key's id): its name, and `exp`. Its `cti` is the delegation's id, by which the
//!   home node lists and removes it.
//! - [`Pairing`] (kind 13), by the device to the person: proof that it knows the
//!   one-time pairing code ([`pairing_proof`]), its name, and the libp2p PeerId of
//!   the connection it is sent on.
//! - [`DeviceCall`] (kind 14), by the device to the person: its delegation, the
//!   connection's PeerId, and the call (opaque here, the node's to define).
//!
//! A pairing and a call live [`DEVICE_CALL_LIFETIME_SECS`]; the home node refuses
//! one sent on another connection (the PeerId) or seen before (the `cti`).

use ciborium::Value;
use hmac::{KeyInit as _, Mac as _};
use rand_core::CryptoRng;

use crate::{
    cbor::{self, key},
    claims::{Claims, read_claims_set, sign_claims_set, verify_addressed},
    error::ProtocolError,
    id::PassportId,
    keys::IdentityKey,
    limits::MAX_PEER_ID_BYTES,
    time::Timestamp,
};

/// The payload `kind` of a [`Delegation`].
pub const DELEGATION_KIND: u64 = 12;
/// The payload `kind` of a [`Pairing`].
pub const PAIRING_KIND: u64 = 13;
/// The payload `kind` of a [`DeviceCall`].
pub const DEVICE_CALL_KIND: u64 = 14;

/// Longest device name, in bytes.
pub const MAX_DEVICE_NAME_BYTES: usize = 64;

/// Largest call a device sends (the node's encoding of one operation).
pub const MAX_CALL_BYTES: usize = 32 * 1024;

/// Largest signed delegation.
pub const MAX_DELEGATION_BYTES: usize = 1024;

/// Largest signed device object (a call carries a delegation and a call).
pub const MAX_DEVICE_MESSAGE_BYTES: usize = MAX_CALL_BYTES + MAX_DELEGATION_BYTES + 1024;

/// How long a pairing or a call is valid: it is answered at once.
pub const DEVICE_CALL_LIFETIME_SECS: u64 = 120;

/// The bytes of a pairing code's secret.
pub const PAIRING_SECRET_BYTES: usize = 16;

/// What a pairing proof is keyed over, before the device's id: a domain label.
pub const PAIRING_LABEL: &[u8] = b"passport/v1 pairing\0";

const BODY_NAME: i64 = 1;
const BODY_PROOF: i64 = 2;
const BODY_PEER: i64 = 3;
const BODY_DELEGATION: i64 = 4;
const BODY_CALL: i64 = 5;

/// The person lets a device act for them until the delegation's `exp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delegation {
    /// The device's name, as the person gave it ("Ada's phone").
    pub name: String,
}

/// A device asks the home node for a delegation, proving it holds the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairing {
    /// [`pairing_proof`] of the code's secret over the device's id.
    pub proof: [u8; 32],
    /// The name it asks to be known by.
    pub name: String,
    /// The libp2p PeerId (binary form) of the connection it is sent on.
    pub peer: Vec<u8>,
}

/// A device asks the home node to do something for the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCall {
    /// The signed [`Delegation`] naming this device.
    pub delegation: Vec<u8>,
    /// The libp2p PeerId (binary form) of the connection it is sent on.
    pub peer: Vec<u8>,
    /// What to do, in the node's encoding.
    pub call: Vec<u8>,
}

/// What a device object says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceBody {
    /// Kind 12.
    Delegation(Delegation),
    /// Kind 13.
    Pairing(Pairing),
    /// Kind 14.
    Call(DeviceCall),
}

impl DeviceBody {
    /// The wire kind.
    pub fn kind(&self) -> u64 {
        match self {
            Self::Delegation(_) => DELEGATION_KIND,
            Self::Pairing(_) => PAIRING_KIND,
            Self::Call(_) => DEVICE_CALL_KIND,
        }
    }
}

/// A signed device object: claims and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceMessage {
    /// Who (`iss`), for whom (`aud`), when, which id.
    pub claims: Claims,
    /// What.
    pub body: DeviceBody,
}

impl DeviceMessage {
    /// Encodes and signs it with `key`, the issuer's.
    pub fn sign(&self, key: &IdentityKey) -> Result<Vec<u8>, ProtocolError> {
        sign_claims_set(
            key,
            &self.claims,
            self.body.kind(),
            encode_body(&self.body),
            MAX_DEVICE_MESSAGE_BYTES,
            decode_payload,
        )
    }
}

/// Signs a delegation from the person (`identity`) to `device`, valid
/// `lifetime_secs` from `now`.
pub fn sign_delegation(
    identity: &IdentityKey,
    device: PassportId,
    name: &str,
    now: Timestamp,
    lifetime_secs: u64,
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, ProtocolError> {
    DeviceMessage {
        claims: Claims::new(identity.id(), device, now, lifetime_secs, rng),
        body: DeviceBody::Delegation(Delegation {
            name: name.to_string(),
        }),
    }
    .sign(identity)
}

/// The proof a device knows the pairing code's `secret`: HMAC-SHA256 keyed with
/// it over [`PAIRING_LABEL`] and the device's `did:key` text. The code never
/// crosses the network.
pub fn pairing_proof(secret: &[u8; PAIRING_SECRET_BYTES], device: &PassportId) -> [u8; 32] {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        // HMAC takes a key of any length.
        return [0; 32];
    };
    mac.update(PAIRING_LABEL);
    mac.update(device.to_string().as_bytes());
    mac.finalize().into_bytes().into()
}

/// Checks a device object received by `me` at `now`: size (before decoding), CBOR,
/// COSE structure and signature, payload, `kid` = `iss`, `aud` = `me`, and the
/// `iat`..`exp` window (± skew). A call's delegation is checked by
/// [`verify_delegation`]; replay and the PeerId are the receiver's checks.
pub fn verify_device_message(
    bytes: &[u8],
    me: &PassportId,
    now: Timestamp,
) -> Result<DeviceMessage, ProtocolError> {
    verify_addressed(
        bytes,
        MAX_DEVICE_MESSAGE_BYTES,
        me,
        now,
        decode_payload,
        |m: &DeviceMessage| &m.claims,
    )
}

/// Checks that `bytes` is a delegation signed by `person` to `device`, valid at
/// `now`; returns its claims (its `cti` is the delegation's id) and name.
pub fn verify_delegation(
    bytes: &[u8],
    person: &PassportId,
    device: &PassportId,
    now: Timestamp,
) -> Result<(Claims, Delegation), ProtocolError> {
    if bytes.len() > MAX_DELEGATION_BYTES {
        return Err(ProtocolError::TooLarge {
            size: bytes.len(),
            max: MAX_DELEGATION_BYTES,
        });
    }
    let message = verify_device_message(bytes, device, now)?;
    if message.claims.issuer != *person {
        return Err(ProtocolError::IssuerNotSigner {
            issuer: *person,
            signer: message.claims.issuer,
        });
    }
    match message.body {
        DeviceBody::Delegation(delegation) => Ok((message.claims, delegation)),
        other => Err(ProtocolError::UnknownKind {
            found: other.kind(),
        }),
    }
}

fn encode_body(body: &DeviceBody) -> Value {
    Value::Map(match body {
        DeviceBody::Delegation(d) => vec![(key(BODY_NAME), Value::Text(d.name.clone()))],
        DeviceBody::Pairing(p) => vec![
            (key(BODY_NAME), Value::Text(p.name.clone())),
            (key(BODY_PROOF), Value::Bytes(p.proof.to_vec())),
            (key(BODY_PEER), Value::Bytes(p.peer.clone())),
        ],
        DeviceBody::Call(c) => vec![
            (key(BODY_PEER), Value::Bytes(c.peer.clone())),
            (key(BODY_DELEGATION), Value::Bytes(c.delegation.clone())),
            (key(BODY_CALL), Value::Bytes(c.call.clone())),
        ],
    })
}

fn decode_payload(payload: &[u8]) -> Result<DeviceMessage, ProtocolError> {
    let (claims, kind, mut reader) = read_claims_set(payload, |kind| match kind {
        DELEGATION_KIND | PAIRING_KIND | DEVICE_CALL_KIND => Ok(kind),
        found => Err(ProtocolError::UnknownKind { found }),
    })?;
    let peer = |reader: &mut cbor::MapReader| {
        cbor::bytes(
            reader.required(BODY_PEER, "peer")?,
            "peer",
            MAX_PEER_ID_BYTES,
        )
    };
    let body = match kind {
        DELEGATION_KIND => DeviceBody::Delegation(Delegation {
            name: cbor::text(
                reader.required(BODY_NAME, "name")?,
                "name",
                MAX_DEVICE_NAME_BYTES,
            )?,
        }),
        PAIRING_KIND => DeviceBody::Pairing(Pairing {
            name: cbor::text(
                reader.required(BODY_NAME, "name")?,
                "name",
                MAX_DEVICE_NAME_BYTES,
            )?,
            proof: cbor::byte_array(reader.required(BODY_PROOF, "proof")?, "proof")?,
            peer: peer(&mut reader)?,
        }),
        _ => DeviceBody::Call(DeviceCall {
            peer: peer(&mut reader)?,
            delegation: cbor::bytes(
                reader.required(BODY_DELEGATION, "delegation")?,
                "delegation",
                MAX_DELEGATION_BYTES,
            )?,
            call: cbor::bytes(reader.required(BODY_CALL, "call")?, "call", MAX_CALL_BYTES)?,
        }),
    };
    reader.finish()?;
    Ok(DeviceMessage { claims, body })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(12)
    }

    #[test]
    fn a_delegation_names_its_device_and_person_and_ends() {
        let (ada, phone, other) = (
            IdentityKey::from_secret_bytes(&[1; 32]),
            IdentityKey::from_secret_bytes(&[2; 32]),
            IdentityKey::from_secret_bytes(&[3; 32]),
        );
        let now = Timestamp::from_secs(1_800_000_000);
        let bytes =
            sign_delegation(&ada, phone.id(), "Ada's phone", now, 3600, &mut rng()).unwrap();
        let (claims, delegation) = verify_delegation(&bytes, &ada.id(), &phone.id(), now).unwrap();
        assert_eq!(
            (delegation.name.as_str(), claims.expires_at),
            ("Ada's phone", now.plus_secs(3600))
        );
        // Another device, another person, or after its end: refused.
        assert!(matches!(
            verify_delegation(&bytes, &ada.id(), &other.id(), now),
            Err(ProtocolError::WrongAudience { .. })
        ));
        assert!(matches!(
            verify_delegation(&bytes, &other.id(), &phone.id(), now),
            Err(ProtocolError::IssuerNotSigner { .. })
        ));
        assert!(verify_delegation(&bytes, &ada.id(), &phone.id(), now.plus_secs(3700)).is_err());
        // A device cannot delegate to itself in the person's name.
        let forged = sign_delegation(&phone, phone.id(), "me", now, 3600, &mut rng()).unwrap();
        assert!(verify_delegation(&forged, &ada.id(), &phone.id(), now).is_err());
    }

    #[test]
    fn pairings_and_calls_round_trip_and_are_bound_to_their_audience() {
        let (ada, phone) = (
            IdentityKey::from_secret_bytes(&[1; 32]),
            IdentityKey::from_secret_bytes(&[2; 32]),
        );
        let now = Timestamp::from_secs(1_800_000_000);
        let secret = [7u8; PAIRING_SECRET_BYTES];
        let proof = pairing_proof(&secret, &phone.id());
        assert_ne!(
            proof,
            pairing_proof(&[8; PAIRING_SECRET_BYTES], &phone.id())
        );
        assert_ne!(proof, pairing_proof(&secret, &ada.id()));
        let delegation = sign_delegation(&ada, phone.id(), "phone", now, 3600, &mut rng()).unwrap();
        for body in [
            DeviceBody::Pairing(Pairing {
                proof,
                name: "phone".into(),
                peer: vec![0, 1, 2],
            }),
            DeviceBody::Call(DeviceCall {
                delegation,
                peer: vec![0, 1, 2],
                call: b"approve".to_vec(),
            }),
        ] {
            let message = DeviceMessage {
                claims: Claims::new(
                    phone.id(),
                    ada.id(),
                    now,
                    DEVICE_CALL_LIFETIME_SECS,
                    &mut rng(),
                ),
                body,
            };
            let bytes = message.sign(&phone).unwrap();
            assert_eq!(
                verify_device_message(&bytes, &ada.id(), now).unwrap(),
                message
            );
            assert!(matches!(
                verify_device_message(&bytes, &phone.id(), now),
                Err(ProtocolError::WrongAudience { .. })
            ));
            assert!(verify_device_message(&bytes, &ada.id(), now.plus_secs(400)).is_err());
            // Not a message, nor a mailbox message.
            assert!(crate::verify_offline(&bytes).is_err());
            assert!(crate::mailbox::verify_mailbox_message(&bytes, &ada.id(), now).is_err());
        }
    }
}
