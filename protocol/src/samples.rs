//! Sample messages of every kind, built from fixed keys: the source of the test
//! vectors in `protocol/vectors/`, of the benchmark inputs and of the fuzz seeds.
//! Never use these keys for anything real: their secrets are published.

use std::collections::BTreeMap;

use rand_core::CryptoRng;

use crate::{
    access::{AccessRequest, AccessStatement, Erasure, GrantState, HeldGrant},
    delivery::{DataType, Delivered},
    error::ProtocolError,
    field::{Date, FieldName, FieldValue},
    id::{GrantId, MessageId},
    keys::{IdentityKey, SealingKey},
    message::{
        Body, Claims, Decision, DeletionCause, DeletionReceipt, Delivery, EraseRequest, Fetch,
        FieldRequest, Grant, Message, MessageKind, Offer, Outcome, Request, Revoke, Terms, Update,
    },
    record::PeerRecord,
    seal::{FieldValues, Sealed},
    time::Timestamp,
};

/// The time the samples are made: 2027-01-15T08:00:00Z.
pub const SAMPLE_NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

/// Secret of the sample person's identity key (RFC 8032 seed).
pub const PERSON_SECRET: [u8; 32] = [0x11; 32];
/// Secret of the sample merchant's identity key (RFC 8032 seed).
pub const MERCHANT_SECRET: [u8; 32] = [0x22; 32];
/// Input keying material of the sample merchant's sealing key (RFC 9180 DeriveKeyPair).
pub const MERCHANT_SEALING_IKM: [u8; 32] = [0x33; 32];
/// Input keying material of the sample person's sealing key (RFC 9180 DeriveKeyPair).
pub const PERSON_SEALING_IKM: [u8; 32] = [0x44; 32];

/// The parties of the samples.
#[derive(Debug, Clone)]
pub struct SampleParties {
    /// The person.
    pub person: IdentityKey,
    /// The merchant.
    pub merchant: IdentityKey,
    /// The merchant's sealing key.
    pub merchant_seal: SealingKey,
    /// The person's sealing key (deliveries are sealed to it).
    pub person_seal: SealingKey,
}

impl SampleParties {
    /// The parties with the published fixed keys.
    pub fn fixed() -> Self {
        Self {
            person: IdentityKey::from_secret_bytes(&PERSON_SECRET),
            merchant: IdentityKey::from_secret_bytes(&MERCHANT_SECRET),
            merchant_seal: SealingKey::derive(&MERCHANT_SEALING_IKM),
            person_seal: SealingKey::derive(&PERSON_SEALING_IKM),
        }
    }

    /// The key that signs messages of `kind`.
    pub fn signer(&self, kind: MessageKind) -> &IdentityKey {
        match kind {
            MessageKind::Request
            | MessageKind::Fetch
            | MessageKind::DeletionReceipt
            | MessageKind::Delivery
            | MessageKind::AccessStatement => &self.merchant,
            _ => &self.person,
        }
    }
}

fn name(s: &str) -> FieldName {
    match s.parse() {
        Ok(name) => name,
        // The sample names are literals checked by the tests below.
        Err(_) => unreachable!("sample field name {s:?} is valid"),
    }
}

/// The sample person's field values.
pub fn sample_values() -> FieldValues {
    let mut address = BTreeMap::new();
    address.insert("street".to_owned(), "12 Rue des Lilas".to_owned());
    address.insert("city".to_owned(), "Lyon".to_owned());
    address.insert("postcode".to_owned(), "69003".to_owned());
    address.insert("country".to_owned(), "FR".to_owned());
    FieldValues::from([
        (name("name.given"), FieldValue::Text("Ada".into())),
        (name("address.home"), FieldValue::Structured(address)),
        (
            name("birthdate"),
            FieldValue::Date(match Date::new(1990, 4, 23) {
                Some(date) => date,
                None => unreachable!("the sample date exists"),
            }),
        ),
    ])
}

/// A sample message of `kind` between the fixed parties, made at `now`, with ids
/// and HPKE randomness from `rng`.
pub fn sample_message(
    kind: MessageKind,
    parties: &SampleParties,
    now: Timestamp,
    rng: &mut impl CryptoRng,
) -> Result<Message, ProtocolError> {
    let person = parties.person.id();
    let merchant = parties.merchant.id();
    let to_person = |rng: &mut _| Claims::new(merchant, person, now, 24 * 3600, rng);
    let to_merchant = |lifetime, rng: &mut _| Claims::new(person, merchant, now, lifetime, rng);
    let grant_id = GrantId::random(rng);
    let in_reply_to = MessageId::random(rng);
    let values = sample_values();
    let fields: Vec<FieldName> = values.keys().cloned().collect();
    let (claims, body) = match kind {
        MessageKind::Request => (
            to_person(rng),
            Body::Request(Request {
                requester_name: "Brand X".into(),
                fields: vec![
                    FieldRequest {
                        name: name("name.given"),
                        required: true,
                        reason: "to address the parcel".into(),
                        attested_by: Vec::new(),
                    },
                    FieldRequest {
                        name: name("address.home"),
                        required: true,
                        reason: "to deliver the parcel".into(),
                        attested_by: Vec::new(),
                    },
                    FieldRequest {
                        name: name("phone.mobile"),
                        required: false,
                        reason: "so the courier can call".into(),
                        attested_by: Vec::new(),
                    },
                ],
                purpose: "delivery".into(),
                duration_secs: 30 * 86_400,
                retention_secs: 7 * 86_400,
                offer: Some(Offer {
                    text: "free shipping".into(),
                    details: BTreeMap::from([("shipping".to_owned(), "free".to_owned())]),
                }),
                reply_to: vec!["/ip4/127.0.0.1/tcp/4001".into()],
                seal_to: parties.merchant_seal.public_key(),
                name_proof: None,
                domain: None,
            }),
        ),
        MessageKind::Decision => {
            let claims = to_merchant(30 * 86_400, rng);
            let sealed = Sealed::seal(
                &values,
                &parties.merchant_seal.public_key(),
                &grant_id,
                &merchant,
                rng,
            )?;
            (
                claims,
                Body::Decision(Decision {
                    request_id: in_reply_to,
                    outcome: Outcome::Granted(Grant {
                        grant_id,
                        partial: true,
                        fields,
                        terms: Terms {
                            retention_secs: 0,
                            no_resale: true,
                            purpose: "delivery".into(),
                        },
                        sealed,
                    }),
                }),
            )
        }
        MessageKind::Fetch => (to_person(rng), Body::Fetch(Fetch { grant_id })),
        MessageKind::Update => {
            let claims = to_merchant(300, rng);
            let sealed = Sealed::seal(
                &values,
                &parties.merchant_seal.public_key(),
                &grant_id,
                &merchant,
                rng,
            )?;
            (
                claims,
                Body::Update(Update {
                    grant_id,
                    fields,
                    sealed,
                }),
            )
        }
        MessageKind::Revoke => (
            to_merchant(86_400, rng),
            Body::Revoke(Revoke {
                grant_id,
                reason: Some("I moved".into()),
            }),
        ),
        MessageKind::EraseRequest => (
            to_merchant(86_400, rng),
            Body::EraseRequest(EraseRequest { reason: None }),
        ),
        MessageKind::DeletionReceipt => (
            to_person(rng),
            Body::DeletionReceipt(DeletionReceipt {
                cause: DeletionCause::Revoked(in_reply_to),
                grant_ids: vec![grant_id],
                erased_at: now,
                backend_confirmed: false,
            }),
        ),
        MessageKind::Delivery => {
            // The merchant, acting as an issuer, delivers its attestation of the
            // person's home address.
            let field = name("address.home");
            let value = values.get(&field).ok_or(ProtocolError::Encode)?;
            let attestation = crate::attest::attest(
                &parties.merchant,
                person,
                &field,
                value,
                now,
                365 * 86_400,
                rng,
            )?;
            let claims = to_person(rng);
            let sealed = crate::delivery::seal_delivery(
                DataType::Attestation,
                &Delivered {
                    title: "address.home".into(),
                    items: BTreeMap::new(),
                    attestation: Some(attestation),
                },
                &parties.person_seal.public_key(),
                &claims.id,
                &person,
                rng,
            )?;
            (
                claims,
                Body::Delivery(Delivery {
                    data_type: DataType::Attestation,
                    sealed,
                }),
            )
        }
        MessageKind::AccessRequest => (
            to_merchant(86_400, rng),
            Body::AccessRequest(AccessRequest {
                reason: Some("what do you hold about me?".into()),
            }),
        ),
        MessageKind::AccessStatement => (
            to_person(rng),
            Body::AccessStatement(AccessStatement {
                in_reply_to,
                grants: vec![
                    HeldGrant {
                        grant_id,
                        fields: fields.clone(),
                        purpose: "delivery".into(),
                        received_at: now.minus_secs(86_400),
                        expires_at: now.plus_secs(29 * 86_400),
                        state: GrantState::Live,
                        revoked_at: None,
                        erased_at: None,
                        erasure: Erasure::NotErased,
                    },
                    HeldGrant {
                        grant_id: GrantId::random(rng),
                        fields: vec![name("name.given")],
                        purpose: "newsletter".into(),
                        received_at: now.minus_secs(40 * 86_400),
                        expires_at: now.minus_secs(10 * 86_400),
                        state: GrantState::Erased,
                        revoked_at: Some(now.minus_secs(20 * 86_400)),
                        erased_at: Some(now.minus_secs(20 * 86_400)),
                        erasure: Erasure::ConfirmedByTheBackend,
                    },
                ],
            }),
        ),
    };
    Ok(Message { claims, body })
}

/// [`sample_message`], signed by the party that sends that kind.
pub fn sample_signed(
    kind: MessageKind,
    parties: &SampleParties,
    now: Timestamp,
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, ProtocolError> {
    sample_message(kind, parties, now, rng)?.sign(parties.signer(kind))
}

/// The sample person's DHT record, made at `now`, valid for a day.
pub fn sample_record(parties: &SampleParties, now: Timestamp) -> PeerRecord {
    PeerRecord {
        id: parties.person.id(),
        sequence: 3,
        // An Ed25519 libp2p PeerId: identity multihash (0x00, length 36) of the
        // protobuf-encoded public key (type Ed25519 = 1, 32 key bytes).
        peers: vec![
            [
                &[0x00, 0x24, 0x08, 0x01, 0x12, 0x20][..],
                parties.person.id().public_key_bytes(),
            ]
            .concat(),
        ],
        addresses: vec![
            "/ip4/127.0.0.1/tcp/4001".into(),
            "/ip4/127.0.0.1/udp/4001/quic-v1".into(),
        ],
        seal_key: SealingKey::derive(&[0x44; 32]).public_key(),
        mailboxes: Vec::new(),
        issued_at: now,
        expires_at: now.plus_secs(86_400),
    }
}

/// The crypto floor of one request→grant round trip: the Ed25519 and HPKE work a
/// request and its grant need (sign and verify the request, seal the values, sign
/// and verify the grant, open the values), on inputs of the sizes the samples have,
/// with no encoding, checks or storage. Benchmarks compare real round trips to it,
/// and one side's node to that side's share ([`CryptoFloor::merchant_side`],
/// [`CryptoFloor::person_side`]).
pub struct CryptoFloor {
    parties: SampleParties,
    request_tbs: Vec<u8>,
    request_signature: [u8; 64],
    grant_tbs: Vec<u8>,
    grant_signature: [u8; 64],
    plaintext: Vec<u8>,
    info: Vec<u8>,
    /// Values sealed once, for the merchant's side to open.
    sealed: ([u8; 32], Vec<u8>),
}

impl CryptoFloor {
    /// Inputs sized like the sample request, grant and sealed values.
    pub fn new(rng: &mut impl CryptoRng) -> Result<Self, ProtocolError> {
        let parties = SampleParties::fixed();
        let request = sample_message(MessageKind::Request, &parties, SAMPLE_NOW, rng)?;
        let request_len = request.sign(&parties.merchant)?.len();
        let grant = sample_message(MessageKind::Decision, &parties, SAMPLE_NOW, rng)?;
        let grant_len = grant.sign(&parties.person)?.len();
        let grant_id = GrantId::from_bytes([1; 16]);
        let sealed = Sealed::seal(
            &sample_values(),
            &parties.merchant_seal.public_key(),
            &grant_id,
            &parties.merchant.id(),
            rng,
        )?;
        let plaintext = vec![0x44; sealed.ciphertext.len().saturating_sub(16)]; // less the AEAD tag
        let info = crate::seal::hpke_info(&grant_id, &parties.merchant.id());
        let sealed = crate::seal::seal_with_info(
            &parties.merchant_seal.public_key(),
            &info,
            &[],
            &plaintext,
            rng,
        )?;
        let request_tbs = vec![0x42; request_len];
        let grant_tbs = vec![0x43; grant_len];
        Ok(Self {
            request_signature: parties.merchant.sign(&request_tbs),
            grant_signature: parties.person.sign(&grant_tbs),
            info,
            parties,
            request_tbs,
            grant_tbs,
            plaintext,
            sealed,
        })
    }

    /// One round trip's cryptography: both sides. Errors only if a primitive fails.
    pub fn round_trip(&self, rng: &mut impl CryptoRng) -> Result<(), ProtocolError> {
        self.merchant_side()?;
        self.person_side(rng)
    }

    /// The merchant's share of a round trip: sign the request, verify the grant,
    /// open the values.
    pub fn merchant_side(&self) -> Result<(), ProtocolError> {
        let parties = &self.parties;
        std::hint::black_box(parties.merchant.sign(&self.request_tbs));
        verify(&parties.person, &self.grant_tbs, &self.grant_signature)?;
        let (enc, ciphertext) = &self.sealed;
        crate::seal::open_with_info(&parties.merchant_seal, enc, &self.info, &[], ciphertext)?;
        Ok(())
    }

    /// The person's share of a round trip: verify the request, seal the values,
    /// sign the grant.
    pub fn person_side(&self, rng: &mut impl CryptoRng) -> Result<(), ProtocolError> {
        let parties = &self.parties;
        verify(
            &parties.merchant,
            &self.request_tbs,
            &self.request_signature,
        )?;
        let seal_to = parties.merchant_seal.public_key();
        std::hint::black_box(crate::seal::seal_with_info(
            &seal_to,
            &self.info,
            &[],
            &self.plaintext,
            rng,
        )?);
        std::hint::black_box(parties.person.sign(&self.grant_tbs));
        Ok(())
    }
}

fn verify(key: &IdentityKey, tbs: &[u8], signature: &[u8; 64]) -> Result<(), ProtocolError> {
    let signer = key.id();
    if signer.verify_signature(tbs, signature) {
        Ok(())
    } else {
        Err(ProtocolError::BadSignature { signer })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    #[test]
    fn each_side_of_the_crypto_floor_verifies_what_the_other_signed() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let floor = CryptoFloor::new(&mut rng).unwrap();
        floor.merchant_side().unwrap();
        floor.person_side(&mut rng).unwrap();
        floor.round_trip(&mut rng).unwrap();

        // A signature over other bytes is refused: the floor really verifies.
        let mut tampered = CryptoFloor::new(&mut rng).unwrap();
        tampered.grant_tbs[0] ^= 1;
        assert!(matches!(
            tampered.merchant_side(),
            Err(ProtocolError::BadSignature { .. })
        ));
        tampered.request_tbs[0] ^= 1;
        assert!(matches!(
            tampered.person_side(&mut rng),
            Err(ProtocolError::BadSignature { .. })
        ));
    }
}
