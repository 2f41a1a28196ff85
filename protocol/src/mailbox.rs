//! Mailboxes: store-and-forward for nodes that are offline (a phone asleep, a
//! laptop shut). A sender that cannot reach a node deposits the signed message,
//! sealed to the recipient, at one of the mailboxes the recipient's peer record
//! lists; the recipient drains its mailboxes when it comes back and deletes what
//! it has committed.
//!
//! Three signed messages, each a COSE_Sign1 over a CWT claims set like every
//! message, with kinds outside the seven message kinds (so none can be taken for
//! another) and the mailbox's passport id as `aud`:
//!
//! - [`Deposit`] (kind 9), from the sender: the recipient's id and the message
//!   sealed to the recipient's sealing key ([`seal_for_mailbox`]). The mailbox
//!   learns sender, recipient, size and time, never content.
//! - [`Drain`] (kind 10), from the recipient: the mailbox's challenge (a nonce it
//!   gave this peer) and the requester's libp2p PeerId, which the transport
//!   authenticated: a drain cannot be replayed, nor used from another connection.
//! - [`Delete`] (kind 11), from the recipient: the ids of deposits it has
//!   committed, with a fresh challenge.
//!
//! Transport framing (the challenge exchange, batches) is the network layer's.

use ciborium::Value;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::{
    cbor::{self, MapReader, key},
    claims::{Claims, passport_id, read_claims_set, sign_claims_set, verify_addressed},
    error::ProtocolError,
    id::{MessageId, PassportId},
    keys::{IdentityKey, SealingKey, SealingPublicKey},
    limits::{MAX_MESSAGE_BYTES, MAX_PEER_ID_BYTES},
    seal::{Sealed, open_with_info, seal_with_info},
    time::Timestamp,
};

/// The payload `kind` of a [`Deposit`].
pub const DEPOSIT_KIND: u64 = 9;
/// The payload `kind` of a [`Drain`].
pub const DRAIN_KIND: u64 = 10;
/// The payload `kind` of a [`Delete`].
pub const DELETE_KIND: u64 = 11;

/// The first bytes of the HPKE `info` a deposited message is sealed with:
/// `"passport/v1 mailbox"` then a zero byte, then the recipient's `did:key` text.
pub const MAILBOX_INFO_LABEL: &[u8] = b"passport/v1 mailbox\0";

/// Largest sealed message in a deposit: a whole message, HPKE's 32-byte `enc` and
/// 16-byte tag, and the CBOR array around them.
pub const MAX_SEALED_BYTES: usize = MAX_MESSAGE_BYTES + 64;

/// Largest signed mailbox message (a deposit carries a whole sealed message).
pub const MAX_MAILBOX_MESSAGE_BYTES: usize = MAX_SEALED_BYTES + 1024;

/// Most deposit ids one [`Delete`] names.
pub const MAX_DELETE_IDS: usize = 256;

/// How long a [`Drain`] or [`Delete`] is valid: it answers a challenge just given.
pub const MAILBOX_CONTROL_LIFETIME_SECS: u64 = 120;

/// The size of a mailbox's challenge.
pub const NONCE_BYTES: usize = 32;

const BODY_RECIPIENT: i64 = 1;
const BODY_SEALED: i64 = 2;
const BODY_NONCE: i64 = 1;
const BODY_PEER: i64 = 2;
const BODY_IDS: i64 = 3;

/// A message left at a mailbox for `recipient`. The claims' `id` is the deposit's
/// id (the recipient deletes by it; a second deposit with the same id is the same
/// deposit), its `exp` is how long the mailbox may hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    /// Whom the message is for.
    pub recipient: PassportId,
    /// The message, sealed to the recipient ([`seal_for_mailbox`]).
    pub sealed: Vec<u8>,
}

/// The recipient asks for what its mailbox holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drain {
    /// The challenge the mailbox gave this peer.
    pub nonce: [u8; NONCE_BYTES],
    /// The requester's libp2p PeerId (binary form): the connection's remote end.
    pub peer: Vec<u8>,
}

/// The recipient has committed these deposits: the mailbox drops them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delete {
    /// The challenge the mailbox gave this peer.
    pub nonce: [u8; NONCE_BYTES],
    /// The requester's libp2p PeerId (binary form).
    pub peer: Vec<u8>,
    /// The deposits to drop.
    pub ids: Vec<MessageId>,
}

/// What a mailbox message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxBody {
    /// Kind 9.
    Deposit(Deposit),
    /// Kind 10.
    Drain(Drain),
    /// Kind 11.
    Delete(Delete),
}

impl MailboxBody {
    /// The wire kind.
    pub fn kind(&self) -> u64 {
        match self {
            Self::Deposit(_) => DEPOSIT_KIND,
            Self::Drain(_) => DRAIN_KIND,
            Self::Delete(_) => DELETE_KIND,
        }
    }

    /// The kind's lowercase name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Deposit(_) => "deposit",
            Self::Drain(_) => "drain",
            Self::Delete(_) => "delete",
        }
    }
}

/// A signed message to a mailbox: claims (`aud` is the mailbox) and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxMessage {
    /// Who (`iss`), which mailbox (`aud`), when, which id.
    pub claims: Claims,
    /// What.
    pub body: MailboxBody,
}

impl MailboxMessage {
    /// Encodes and signs it with `key`, the issuer's. What this returns, a mailbox
    /// accepts (time, audience and its own limits aside).
    pub fn sign(&self, key: &IdentityKey) -> Result<Vec<u8>, ProtocolError> {
        sign_claims_set(
            key,
            &self.claims,
            self.body.kind(),
            encode_body(&self.body),
            MAX_MAILBOX_MESSAGE_BYTES,
            decode_payload,
        )
    }
}

/// Checks a mailbox message received by `mailbox` at `now`: size (before decoding),
/// CBOR, COSE structure and signature, payload, `kid` = `iss`, `aud` = `mailbox`,
/// and the `iat`..`exp` window (± skew). Replay is the mailbox's check: a deposit
/// is idempotent by its id, a drain or delete answers a one-time challenge.
pub fn verify_mailbox_message(
    bytes: &[u8],
    mailbox: &PassportId,
    now: Timestamp,
) -> Result<MailboxMessage, ProtocolError> {
    verify_addressed(
        bytes,
        MAX_MAILBOX_MESSAGE_BYTES,
        mailbox,
        now,
        decode_payload,
        |m: &MailboxMessage| &m.claims,
    )
}

fn encode_body(body: &MailboxBody) -> Value {
    let peer_and_nonce = |nonce: &[u8; NONCE_BYTES], peer: &[u8]| {
        vec![
            (key(BODY_NONCE), Value::Bytes(nonce.to_vec())),
            (key(BODY_PEER), Value::Bytes(peer.to_vec())),
        ]
    };
    Value::Map(match body {
        MailboxBody::Deposit(d) => vec![
            (key(BODY_RECIPIENT), Value::Text(d.recipient.to_string())),
            (key(BODY_SEALED), Value::Bytes(d.sealed.clone())),
        ],
        MailboxBody::Drain(d) => peer_and_nonce(&d.nonce, &d.peer),
        MailboxBody::Delete(d) => {
            let mut map = peer_and_nonce(&d.nonce, &d.peer);
            map.push((
                key(BODY_IDS),
                Value::Array(
                    d.ids
                        .iter()
                        .map(|id| Value::Bytes(id.as_bytes().to_vec()))
                        .collect(),
                ),
            ));
            map
        }
    })
}

fn decode_payload(payload: &[u8]) -> Result<MailboxMessage, ProtocolError> {
    let (claims, kind, mut reader) = read_claims_set(payload, |kind| match kind {
        DEPOSIT_KIND | DRAIN_KIND | DELETE_KIND => Ok(kind),
        found => Err(ProtocolError::UnknownKind { found }),
    })?;
    let body = match kind {
        DEPOSIT_KIND => {
            let recipient =
                passport_id(reader.required(BODY_RECIPIENT, "recipient")?, "recipient")?;
            let sealed = cbor::bytes(
                reader.required(BODY_SEALED, "sealed")?,
                "sealed",
                MAX_SEALED_BYTES,
            )?;
            MailboxBody::Deposit(Deposit { recipient, sealed })
        }
        DRAIN_KIND => {
            let (nonce, peer) = nonce_and_peer(&mut reader)?;
            MailboxBody::Drain(Drain { nonce, peer })
        }
        _ => {
            let (nonce, peer) = nonce_and_peer(&mut reader)?;
            let ids = cbor::array(reader.required(BODY_IDS, "ids")?, "ids", MAX_DELETE_IDS)?
                .into_iter()
                .map(|id| cbor::byte_array(id, "deposit id").map(MessageId::from_bytes))
                .collect::<Result<Vec<_>, _>>()?;
            MailboxBody::Delete(Delete { nonce, peer, ids })
        }
    };
    reader.finish()?;
    Ok(MailboxMessage { claims, body })
}

fn nonce_and_peer(reader: &mut MapReader) -> Result<([u8; NONCE_BYTES], Vec<u8>), ProtocolError> {
    let nonce = cbor::byte_array(reader.required(BODY_NONCE, "nonce")?, "nonce")?;
    let peer = cbor::bytes(
        reader.required(BODY_PEER, "peer")?,
        "peer",
        MAX_PEER_ID_BYTES,
    )?;
    Ok((nonce, peer))
}

/// The HPKE `info` a message for `recipient` is sealed with: [`MAILBOX_INFO_LABEL`]
/// then the recipient's `did:key` text, so a sealed message cannot be moved to
/// another recipient's mailbox and opened there as meant for it.
fn mailbox_info(recipient: &PassportId) -> Vec<u8> {
    [MAILBOX_INFO_LABEL, recipient.to_string().as_bytes()].concat()
}

/// Seals a signed message for `recipient`, whose sealing key (from its peer record)
/// is `key`: CBOR `[enc, ciphertext]`, HPKE in the grants' suite.
pub fn seal_for_mailbox(
    message: &[u8],
    recipient: &PassportId,
    key: &SealingPublicKey,
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, ProtocolError> {
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge {
            size: message.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let (enc, ciphertext) = seal_with_info(key, &mailbox_info(recipient), &[], message, rng)?;
    cbor::encode(&Sealed { enc, ciphertext }.to_cbor())
}

/// Opens what [`seal_for_mailbox`] sealed for `me`: the signed message, still to
/// be verified like any received message.
pub fn open_from_mailbox(
    sealed: &[u8],
    me: &PassportId,
    key: &SealingKey,
) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
    if sealed.len() > MAX_SEALED_BYTES {
        return Err(ProtocolError::TooLarge {
            size: sealed.len(),
            max: MAX_SEALED_BYTES,
        });
    }
    let sealed = Sealed::from_cbor(cbor::decode(sealed)?)?;
    Ok(Zeroizing::new(open_with_info(
        key,
        &sealed.enc,
        &mailbox_info(me),
        &[],
        &sealed.ciphertext,
    )?))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(9)
    }

    fn claims(from: &IdentityKey, mailbox: &PassportId, now: Timestamp) -> Claims {
        Claims::new(
            from.id(),
            *mailbox,
            now,
            MAILBOX_CONTROL_LIFETIME_SECS,
            &mut rng(),
        )
    }

    #[test]
    fn each_kind_round_trips_and_is_bound_to_its_mailbox_and_time() {
        let (shop, ada, mailbox, other) = (
            IdentityKey::from_secret_bytes(&[1; 32]),
            IdentityKey::from_secret_bytes(&[2; 32]),
            IdentityKey::from_secret_bytes(&[3; 32]).id(),
            IdentityKey::from_secret_bytes(&[4; 32]).id(),
        );
        let now = Timestamp::from_secs(10_000);
        let ada_seal = SealingKey::generate(&mut rng());
        let inner = b"a signed message".to_vec();
        let sealed =
            seal_for_mailbox(&inner, &ada.id(), &ada_seal.public_key(), &mut rng()).unwrap();
        let bodies = [
            (
                &shop,
                MailboxBody::Deposit(Deposit {
                    recipient: ada.id(),
                    sealed: sealed.clone(),
                }),
            ),
            (
                &ada,
                MailboxBody::Drain(Drain {
                    nonce: [7; NONCE_BYTES],
                    peer: vec![0, 36, 8, 1],
                }),
            ),
            (
                &ada,
                MailboxBody::Delete(Delete {
                    nonce: [8; NONCE_BYTES],
                    peer: vec![0, 36, 8, 1],
                    ids: vec![MessageId::from_bytes([5; 16])],
                }),
            ),
        ];
        for (signer, body) in bodies {
            let message = MailboxMessage {
                claims: claims(signer, &mailbox, now),
                body,
            };
            let bytes = message.sign(signer).unwrap();
            assert_eq!(
                verify_mailbox_message(&bytes, &mailbox, now).unwrap(),
                message
            );
            assert!(matches!(
                verify_mailbox_message(&bytes, &other, now),
                Err(ProtocolError::WrongAudience { .. })
            ));
            let late = now.plus_secs(MAILBOX_CONTROL_LIFETIME_SECS + 61);
            assert!(matches!(
                verify_mailbox_message(&bytes, &mailbox, late),
                Err(ProtocolError::Expired { .. })
            ));
            // Neither a message nor a record.
            assert!(matches!(
                crate::verify_offline(&bytes),
                Err(ProtocolError::UnknownKind { .. })
            ));
            let mut tampered = bytes.clone();
            let at = tampered.len() - 70;
            tampered[at] ^= 1;
            assert!(verify_mailbox_message(&tampered, &mailbox, now).is_err());
        }
        // Only the recipient opens what was sealed for it.
        assert_eq!(
            *open_from_mailbox(&sealed, &ada.id(), &ada_seal).unwrap(),
            inner
        );
        assert_eq!(
            open_from_mailbox(&sealed, &shop.id(), &ada_seal),
            Err(ProtocolError::OpenFailed)
        );
        let stranger = SealingKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1));
        assert_eq!(
            open_from_mailbox(&sealed, &ada.id(), &stranger),
            Err(ProtocolError::OpenFailed)
        );
    }

    #[test]
    fn messages_are_not_taken_for_mailbox_messages() {
        let key = IdentityKey::from_secret_bytes(&[1; 32]);
        let parties = crate::samples::SampleParties::fixed();
        let now = Timestamp::from_secs(10_000);
        let request =
            crate::samples::sample_signed(crate::MessageKind::Request, &parties, now, &mut rng())
                .unwrap();
        assert!(matches!(
            verify_mailbox_message(&request, &key.id(), now),
            Err(ProtocolError::UnknownKind { found: 1 })
        ));
    }

    #[test]
    fn oversize_inputs_are_refused_before_work() {
        let ada = IdentityKey::from_secret_bytes(&[2; 32]);
        let key = SealingKey::generate(&mut rng());
        let big = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(
            seal_for_mailbox(&big, &ada.id(), &key.public_key(), &mut rng()),
            Err(ProtocolError::TooLarge { .. })
        ));
        assert!(matches!(
            open_from_mailbox(&vec![0u8; MAX_SEALED_BYTES + 1], &ada.id(), &key),
            Err(ProtocolError::TooLarge { .. })
        ));
        assert!(matches!(
            verify_mailbox_message(
                &vec![0u8; MAX_MAILBOX_MESSAGE_BYTES + 1],
                &ada.id(),
                Timestamp::from_secs(0)
            ),
            Err(ProtocolError::TooLarge { .. })
        ));
        // The largest message there is still fits a deposit.
        let largest = vec![0u8; MAX_MESSAGE_BYTES];
        let sealed = seal_for_mailbox(&largest, &ada.id(), &key.public_key(), &mut rng()).unwrap();
        let shop = IdentityKey::from_secret_bytes(&[1; 32]);
        let now = Timestamp::from_secs(10_000);
        let deposit = MailboxMessage {
            claims: claims(&shop, &ada.id(), now),
            body: MailboxBody::Deposit(Deposit {
                recipient: ada.id(),
                sealed,
            }),
        };
        assert!(deposit.sign(&shop).is_ok());
    }
}
