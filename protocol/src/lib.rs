//! Passport's wire protocol: who is who, what the messages say, and how they are
//! signed, sealed and checked. Pure: no I/O, no async, no clock, no global RNG;
//! callers pass `now` and an RNG, so tests and simulators drive it deterministically.
//!
//! # Layout
//!
//! - [`id`]: [`PassportId`] (an Ed25519 key as `did:key:z6Mk…`), [`MessageId`], [`GrantId`].
//! - [`keys`]: secret keys, [`IdentityKey`] (signs) and [`SealingKey`] (opens sealed data);
//!   both zeroize on drop and hide their material from `Debug`.
//! - [`field`]: field names and typed values, the personal data itself.
//! - [`claims`]: the CWT claims set every signed message carries, written and read
//!   once for messages and mailbox messages.
//! - [`message`]: the ten message kinds and their CBOR payloads (CWT claims sets).
//! - [`delivery`]: data a merchant delivers to a person (receipts, orders,
//!   attestations), sealed to them.
//! - [`domain`]: a merchant's web domain, as a request names it.
//! - [`device`]: linked devices: the person's delegation to a device key, a
//!   device's pairing proof, and the calls a device signs.
//! - [`access`]: access requests ("what do you hold about me?") and the signed
//!   statements that answer them.
//! - [`attest`]: attestations: an issuer's signature over a salted digest of a
//!   person's field value (SD-CWT style), and their presentation in grants.
//! - [`mailbox`]: the three mailbox messages (deposit, drain, delete) and sealing a
//!   message for a recipient's mailbox.
//! - [`record`]: [`PeerRecord`], a passport's signed DHT record (where its node is).
//! - [`seal`]: HPKE sealing of granted values to a merchant's X25519 key.
//! - [`samples`]: fixed-key sample messages of every kind (test vectors, benchmarks, fuzz seeds).
//! - [`cose`]: COSE_Sign1 with EdDSA over the exact payload bytes.
//! - `cbor` (private): the well-formedness scan that runs before any decoding, and
//!   [`diagnostic`] notation.
//! - [`verify`](verify()): the one path from received bytes to a trusted [`Message`].
//! - [`limits`]: every size, count and time limit.
//! - [`error`]: [`ProtocolError`], one variant per reason to reject.
//!
//! The wire format is specified in `docs/PROTOCOL.md`; `protocol/vectors/` holds test
//! vectors for other implementations.
//!
//! # Example
//!
//! ```
//! use passport_protocol::*;
//!
//! let mut rng = rand::rng();
//! let merchant = IdentityKey::generate(&mut rng);
//! let merchant_seal = SealingKey::generate(&mut rng);
//! let person = IdentityKey::generate(&mut rng);
//! let now = Timestamp::from_secs(1_800_000_000);
//!
//! let request = Message {
//!     claims: Claims::new(merchant.id(), person.id(), now, 3600, &mut rng),
//!     body: Body::Request(Request {
//!         requester_name: "Brand X".into(),
//!         fields: vec![FieldRequest {
//!             name: "email".parse()?,
//!             required: true,
//!             reason: "order confirmation".into(),
//!             attested_by: Vec::new(),
//!         }],
//!         purpose: "delivery".into(),
//!         duration_secs: 30 * 86_400,
//!         retention_secs: 0,
//!         offer: None,
//!         reply_to: vec![],
//!         seal_to: merchant_seal.public_key(),
//!         name_proof: None,
//!         domain: None,
//!     }),
//! };
//! let bytes = request.sign(&merchant)?;
//!
//! let mut seen = SeenIdCache::default();
//! let verified = verify(&bytes, now, &person.id(), &mut seen)?;
//! assert_eq!(verified.signer(), &merchant.id());
//! // The same bytes again are a replay.
//! assert!(matches!(
//!     verify(&bytes, now, &person.id(), &mut seen),
//!     Err(ProtocolError::Replayed { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

pub mod access;
pub mod attest;
mod cbor;
pub mod claims;
pub mod cose;
pub mod delivery;
pub mod device;
pub mod domain;
pub mod error;
pub mod field;
pub mod id;
pub mod keys;
pub mod limits;
pub mod mailbox;
pub mod message;
pub mod record;
pub mod samples;
pub mod seal;
pub mod time;
mod verify;

pub use crate::{
    access::{AccessRequest, AccessStatement, Erasure, GrantState, HeldGrant},
    attest::{AttestationError, Attested, Presentation, attest, verify_presentation},
    cbor::diagnostic,
    cose::{ALG_EDDSA, COSE_SIGN1_TAG},
    delivery::{DataType, Delivered},
    error::ProtocolError,
    field::{Date, FieldName, FieldValue},
    id::{GrantId, IdError, MessageId, PassportId},
    keys::{IdentityKey, SealingKey, SealingKeyParseError, SealingPublicKey},
    message::{
        Body, Claims, Decision, DeletionCause, DeletionReceipt, Delivery, EraseRequest, Fetch,
        FieldRequest, Grant, Message, MessageKind, Offer, Outcome, PROTOCOL_VERSION, Request,
        Revoke, Terms, Update, decode_payload,
    },
    record::{PeerRecord, verify_record},
    seal::{FieldValues, Presentations, Sealed, hpke_info},
    time::Timestamp,
    verify::{
        SeenIdCache, SeenIds, Verified, check_received, decode_trusted, verify, verify_offline,
    },
};

/// Serializes a type through its `Display` and parses it back through `FromStr`, so
/// ids, names and dates appear in JSON and CBOR records exactly as people see them.
macro_rules! serde_as_text {
    ($($ty:ty),* $(,)?) => {$(
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_as_text!(
    PassportId,
    MessageId,
    GrantId,
    FieldName,
    Date,
    SealingPublicKey
);
