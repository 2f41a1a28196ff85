//! [`PeerRecord`]: where a passport's node can be reached, published in the DHT
//! under `/passport/<id>` and signed by the passport's identity key, so the node's
//! network keys and addresses can change without changing the public id.
//!
//! A record is a COSE_Sign1 like every message, with the record kind (8) in the
//! payload; it has no audience and no message id. Every node validates a record
//! before storing or using it ([`verify_record`]): signature, that it belongs to the
//! id it is stored under, freshness, size. Which of two valid records wins is the
//! caller's decision by [`PeerRecord::sequence`].

use ciborium::Value;

use crate::{
    cbor::{self, MapReader, key},
    claims::{PROTOCOL_VERSION, claim_key, passport_id},
    cose,
    error::ProtocolError,
    id::PassportId,
    keys::{IdentityKey, SealingPublicKey},
    limits::{
        MAX_ADDRESS_BYTES, MAX_PEER_ID_BYTES, MAX_RECORD_ADDRESSES, MAX_RECORD_BYTES,
        MAX_RECORD_MAILBOXES, MAX_RECORD_PEERS,
    },
    time::Timestamp,
};

/// The payload `kind` of a peer record (outside the message kinds 1 to 7, so a record
/// can never be taken for a message or the reverse).
pub const RECORD_KIND: u64 = 8;

const BODY_SEQUENCE: i64 = 1;
const BODY_PEERS: i64 = 2;
const BODY_ADDRESSES: i64 = 3;
const BODY_SEAL_KEY: i64 = 4;
const BODY_MAILBOXES: i64 = 5;

/// Where a passport's node can be reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    /// Whose record this is (`iss`; the signer).
    pub id: PassportId,
    /// Grows with every new record of this id; a node keeps the highest it has seen.
    pub sequence: u64,
    /// The node's network identities (libp2p PeerIds in their binary form), opaque
    /// to this crate.
    pub peers: Vec<Vec<u8>>,
    /// Addresses to dial (multiaddrs as text), relay addresses included.
    pub addresses: Vec<String>,
    /// The key to seal data to this passport.
    pub seal_key: SealingPublicKey,
    /// The passports of the mailboxes that hold messages for this one while its
    /// node is offline (see [`crate::mailbox`]), in the order to try them. Absent on
    /// the wire when empty.
    pub mailboxes: Vec<PassportId>,
    /// When it was made (`iat`).
    pub issued_at: Timestamp,
    /// When it stops being valid (`exp`); the node republishes before then.
    pub expires_at: Timestamp,
}

/// Bits of a record's sequence below its copy's epoch: the seconds part.
const EPOCH_SHIFT: u32 = 40;

impl PeerRecord {
    /// The sequence of a record made at `issued_at` by the copy of a passport at
    /// `epoch`: the epoch in the high bits (above bit 40), the seconds since 1970
    /// below. A passport restored from a backup takes the next epoch, so every
    /// record of the restored copy outranks every record the old copy can make,
    /// whatever the clocks say. Epoch 0, a passport never restored, gives plain
    /// seconds.
    pub fn sequence_for(epoch: u64, issued_at: Timestamp) -> u64 {
        (epoch << EPOCH_SHIFT) | (issued_at.as_secs() & ((1 << EPOCH_SHIFT) - 1))
    }

    /// The epoch of the copy that made this record (see [`PeerRecord::sequence_for`]).
    pub fn epoch(&self) -> u64 {
        self.sequence >> EPOCH_SHIFT
    }

    /// The DHT key of `id`'s record: `/passport/` followed by the `did:key` text.
    pub fn dht_key(id: &PassportId) -> Vec<u8> {
        format!("/passport/{id}").into_bytes()
    }

    /// Encodes and signs the record with `key`, which must be `self.id`'s.
    pub fn sign(&self, signing_key: &IdentityKey) -> Result<Vec<u8>, ProtocolError> {
        let signer = signing_key.id();
        if signer != self.id {
            return Err(ProtocolError::IssuerNotSigner {
                issuer: self.id,
                signer,
            });
        }
        let payload = cbor::encode(&Value::Map(vec![
            (key(claim_key::ISS), Value::Text(self.id.to_string())),
            (
                key(claim_key::EXP),
                Value::Integer(self.expires_at.as_secs().into()),
            ),
            (
                key(claim_key::IAT),
                Value::Integer(self.issued_at.as_secs().into()),
            ),
            (
                key(claim_key::VERSION),
                Value::Integer(PROTOCOL_VERSION.into()),
            ),
            (key(claim_key::KIND), Value::Integer(RECORD_KIND.into())),
            (
                key(claim_key::BODY),
                Value::Map(
                    vec![
                        (key(BODY_SEQUENCE), Value::Integer(self.sequence.into())),
                        (
                            key(BODY_PEERS),
                            Value::Array(
                                self.peers.iter().map(|p| Value::Bytes(p.clone())).collect(),
                            ),
                        ),
                        (
                            key(BODY_ADDRESSES),
                            Value::Array(
                                self.addresses
                                    .iter()
                                    .map(|a| Value::Text(a.clone()))
                                    .collect(),
                            ),
                        ),
                        (
                            key(BODY_SEAL_KEY),
                            Value::Bytes(self.seal_key.as_bytes().to_vec()),
                        ),
                    ]
                    .into_iter()
                    .chain((!self.mailboxes.is_empty()).then(|| {
                        (
                            key(BODY_MAILBOXES),
                            Value::Array(
                                self.mailboxes
                                    .iter()
                                    .map(|m| Value::Text(m.to_string()))
                                    .collect(),
                            ),
                        )
                    }))
                    .collect(),
                ),
            ),
        ]))?;
        decode_record_payload(&payload)?;
        let signed = cose::sign(signing_key, payload)?;
        if signed.len() > MAX_RECORD_BYTES {
            return Err(ProtocolError::TooLarge {
                size: signed.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        Ok(signed)
    }
}

/// Checks a record found under `expected`'s DHT key at time `now`: size (before
/// decoding), CBOR, COSE structure and signature, payload, `kid` = `iss`, that it is
/// `expected`'s own record, and that `now` is within `iat`..`exp` (± skew).
pub fn verify_record(
    bytes: &[u8],
    expected: &PassportId,
    now: Timestamp,
) -> Result<PeerRecord, ProtocolError> {
    let sign1 = cose::verify_at_most(bytes, MAX_RECORD_BYTES)?;
    let record = decode_record_payload(&sign1.payload)?;
    if record.id != sign1.signer {
        return Err(ProtocolError::KidMismatch);
    }
    if record.id != *expected {
        return Err(ProtocolError::RecordForOtherId {
            expected: *expected,
            found: record.id,
        });
    }
    crate::verify::check_window(record.issued_at, record.expires_at, now)?;
    Ok(record)
}

fn decode_record_payload(payload: &[u8]) -> Result<PeerRecord, ProtocolError> {
    let mut map = MapReader::new(cbor::decode(payload)?, "record")?;
    let version = cbor::uint(map.required(claim_key::VERSION, "ver")?, "ver")?;
    if version != PROTOCOL_VERSION {
        return Err(ProtocolError::UnsupportedVersion {
            found: version,
            supported: PROTOCOL_VERSION,
        });
    }
    let kind = cbor::uint(map.required(claim_key::KIND, "kind")?, "kind")?;
    if kind != RECORD_KIND {
        return Err(ProtocolError::UnknownKind { found: kind });
    }
    let id = passport_id(map.required(claim_key::ISS, "iss")?, "iss")?;
    let expires_at = Timestamp::from_secs(cbor::uint(map.required(claim_key::EXP, "exp")?, "exp")?);
    let issued_at = Timestamp::from_secs(cbor::uint(map.required(claim_key::IAT, "iat")?, "iat")?);
    if expires_at < issued_at {
        return Err(ProtocolError::malformed("exp is before iat"));
    }
    let mut body = MapReader::new(map.required(claim_key::BODY, "body")?, "record body")?;
    map.finish()?;
    let sequence = cbor::uint(body.required(BODY_SEQUENCE, "sequence")?, "sequence")?;
    let peers = cbor::array(
        body.required(BODY_PEERS, "peers")?,
        "peers",
        MAX_RECORD_PEERS,
    )?
    .into_iter()
    .map(|p| cbor::bytes(p, "a record peer", MAX_PEER_ID_BYTES))
    .collect::<Result<Vec<_>, _>>()?;
    if peers.is_empty() {
        return Err(ProtocolError::malformed("record lists no peer"));
    }
    let addresses = cbor::array(
        body.required(BODY_ADDRESSES, "addresses")?,
        "addresses",
        MAX_RECORD_ADDRESSES,
    )?
    .into_iter()
    .map(|a| cbor::text(a, "record address", MAX_ADDRESS_BYTES))
    .collect::<Result<Vec<_>, _>>()?;
    let seal_key = SealingPublicKey::from_bytes(cbor::byte_array(
        body.required(BODY_SEAL_KEY, "seal key")?,
        "seal key",
    )?);
    let mailboxes = match body.take(BODY_MAILBOXES) {
        None => Vec::new(),
        Some(list) => {
            let list = cbor::array(list, "mailboxes", MAX_RECORD_MAILBOXES)?
                .into_iter()
                .map(|m| passport_id(m, "mailbox"))
                .collect::<Result<Vec<_>, _>>()?;
            if list.is_empty() {
                return Err(ProtocolError::malformed(
                    "an empty mailbox list is left out, not sent",
                ));
            }
            list
        }
    };
    body.finish()?;
    Ok(PeerRecord {
        id,
        sequence,
        peers,
        addresses,
        seal_key,
        mailboxes,
        issued_at,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &IdentityKey) -> PeerRecord {
        PeerRecord {
            id: key.id(),
            sequence: 7,
            peers: vec![vec![0, 36, 8, 1, 18, 32, 1, 2, 3]],
            addresses: vec![
                "/ip4/127.0.0.1/tcp/4001".into(),
                "/ip4/127.0.0.1/udp/4001/quic-v1".into(),
            ],
            seal_key: SealingPublicKey::from_bytes([9; 32]),
            mailboxes: Vec::new(),
            issued_at: Timestamp::from_secs(1000),
            expires_at: Timestamp::from_secs(1000 + 86_400),
        }
    }

    #[test]
    fn a_later_epoch_outranks_any_time_of_an_earlier_one() {
        let late = Timestamp::from_secs(4_000_000_000);
        let early = Timestamp::from_secs(1_700_000_000);
        assert_eq!(PeerRecord::sequence_for(0, early), early.as_secs());
        assert!(PeerRecord::sequence_for(1, early) > PeerRecord::sequence_for(0, late));
        assert!(PeerRecord::sequence_for(1, late) > PeerRecord::sequence_for(1, early));
        let mut restored = record(&IdentityKey::from_secret_bytes(&[1; 32]));
        restored.sequence = PeerRecord::sequence_for(3, late);
        assert_eq!(restored.epoch(), 3);
    }

    #[test]
    fn a_record_round_trips_and_is_refused_for_another_id_or_when_stale() {
        let alice = IdentityKey::from_secret_bytes(&[1; 32]);
        let bob = IdentityKey::from_secret_bytes(&[2; 32]);
        let bytes = record(&alice).sign(&alice).unwrap();
        let now = Timestamp::from_secs(2000);
        assert_eq!(
            verify_record(&bytes, &alice.id(), now).unwrap(),
            record(&alice)
        );
        assert_eq!(
            verify_record(&bytes, &bob.id(), now),
            Err(ProtocolError::RecordForOtherId {
                expected: bob.id(),
                found: alice.id()
            })
        );
        assert!(matches!(
            verify_record(
                &bytes,
                &alice.id(),
                Timestamp::from_secs(1000 + 86_400 + 61)
            ),
            Err(ProtocolError::Expired { .. })
        ));
        // Bob cannot sign a record for Alice.
        assert!(matches!(
            record(&alice).sign(&bob),
            Err(ProtocolError::IssuerNotSigner { .. })
        ));
        let mut tampered = bytes.clone();
        let at = tampered.len() - 70;
        tampered[at] ^= 1;
        assert!(verify_record(&tampered, &alice.id(), now).is_err());
    }

    #[test]
    fn a_record_lists_its_mailboxes_and_omits_an_empty_list() {
        let alice = IdentityKey::from_secret_bytes(&[1; 32]);
        let (m1, m2) = (
            IdentityKey::from_secret_bytes(&[5; 32]).id(),
            IdentityKey::from_secret_bytes(&[6; 32]).id(),
        );
        let now = Timestamp::from_secs(2000);
        let mut r = record(&alice);
        let without = r.sign(&alice).unwrap();
        r.mailboxes = vec![m1, m2];
        let with = r.sign(&alice).unwrap();
        assert_eq!(
            verify_record(&with, &alice.id(), now).unwrap().mailboxes,
            [m1, m2]
        );
        assert!(with.len() > without.len());
        assert!(
            verify_record(&without, &alice.id(), now)
                .unwrap()
                .mailboxes
                .is_empty()
        );
        r.mailboxes = vec![m1; MAX_RECORD_MAILBOXES + 1];
        assert!(r.sign(&alice).is_err());
    }

    #[test]
    fn records_and_messages_cannot_be_confused() {
        let alice = IdentityKey::from_secret_bytes(&[1; 32]);
        let bytes = record(&alice).sign(&alice).unwrap();
        assert_eq!(
            crate::verify_offline(&bytes),
            Err(ProtocolError::UnknownKind { found: RECORD_KIND })
        );
    }

    #[test]
    fn oversize_and_empty_records_are_refused() {
        let alice = IdentityKey::from_secret_bytes(&[1; 32]);
        let mut r = record(&alice);
        r.peers.clear();
        assert!(matches!(
            r.sign(&alice),
            Err(ProtocolError::MalformedPayload { .. })
        ));
        let mut r = record(&alice);
        r.addresses = vec!["x".repeat(MAX_ADDRESS_BYTES); MAX_RECORD_ADDRESSES + 1];
        assert!(r.sign(&alice).is_err());
        assert!(matches!(
            verify_record(
                &vec![0u8; MAX_RECORD_BYTES + 1],
                &alice.id(),
                Timestamp::from_secs(0)
            ),
            Err(ProtocolError::TooLarge { .. })
        ));
    }
}
