//! Standards checks: Ed25519 against RFC 8032 §7.1, HPKE against RFC 9180 A.2.1,
//! the RFC 9052 §4.4 Sig_structure rebuilt by hand from the raw CBOR, and every
//! message kind parsed and verified by an independent COSE/CWT library (`coset`).
//!
//! The RFC values in `tests/data/` were copied from the official RFC 9180 test-vector
//! JSON and the RFC 8032 text, each cross-checked against a second published copy.
#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;

use coset::{CborSerializable, CoseSign1, TaggedCborSerializable, cwt::ClaimsSet, iana};
use passport_protocol::{
    IdentityKey, MessageKind, PassportId, SealingKey, SealingPublicKey,
    samples::{self, SampleParties},
    seal::{open_with_info, seal_with_info},
};
use rand_chacha::rand_core::{TryCryptoRng, TryRng};
use serde_json::Value as Json;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn data(name: &str) -> Json {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn field(v: &Json, key: &str) -> Vec<u8> {
    unhex(v[key].as_str().unwrap())
}

fn array32(v: Vec<u8>) -> [u8; 32] {
    v.try_into().unwrap()
}

/// RFC 7748 clamping. The RFC 9180 vectors list X25519 private keys as DeriveKeyPair
/// produced them, unclamped, while §7.1.2 says SerializePrivateKey MUST clamp: the
/// serialized key equals the vector's once clamped (the scalar is the same).
fn clamped(mut sk: Vec<u8>) -> Vec<u8> {
    sk[0] &= 248;
    sk[31] &= 127;
    sk[31] |= 64;
    sk
}

#[test]
fn ed25519_matches_rfc_8032() {
    let vectors = data("rfc8032_ed25519.json");
    let vectors = vectors.as_array().unwrap();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let key = IdentityKey::from_secret_bytes(&array32(field(v, "secret_key")));
        let message = field(v, "message");
        let signature: [u8; 64] = field(v, "signature").try_into().unwrap();
        assert_eq!(
            key.id().public_key_bytes().to_vec(),
            field(v, "public_key"),
            "{}",
            v["name"]
        );
        assert_eq!(key.sign(&message), signature, "{}", v["name"]);
        let id = PassportId::from_public_key_bytes(&array32(field(v, "public_key"))).unwrap();
        assert!(id.verify_signature(&message, &signature));
        let mut wrong = signature;
        wrong[0] ^= 1;
        assert!(!id.verify_signature(&message, &wrong));
    }
}

/// Hands out fixed bytes: HPKE's ephemeral key is DeriveKeyPair(random(32)), so
/// feeding it the RFC's ikmE reproduces the RFC's encapsulation exactly.
struct FixedIkm(Vec<u8>);

impl TryRng for FixedIkm {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unreachable!("HPKE asks only for bytes")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unreachable!("HPKE asks only for bytes")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert_eq!(
            dst.len(),
            self.0.len(),
            "HPKE asked for a different amount of randomness"
        );
        dst.copy_from_slice(&self.0);
        Ok(())
    }
}

impl TryCryptoRng for FixedIkm {}

#[test]
fn hpke_matches_rfc_9180_a_2_1() {
    let v = data("rfc9180_a21_base.json");
    // The suite Passport uses: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    // ChaCha20-Poly1305.
    assert_eq!(
        (
            v["mode"].as_u64(),
            v["kem_id"].as_u64(),
            v["kdf_id"].as_u64(),
            v["aead_id"].as_u64()
        ),
        (Some(0), Some(0x20), Some(1), Some(3))
    );

    let receiver = SealingKey::derive(&field(&v, "ikmR"));
    assert_eq!(
        receiver.to_secret_bytes().to_vec(),
        clamped(field(&v, "skRm"))
    );
    assert_eq!(receiver.public_key().as_bytes().to_vec(), field(&v, "pkRm"));
    let ephemeral = SealingKey::derive(&field(&v, "ikmE"));
    assert_eq!(
        ephemeral.to_secret_bytes().to_vec(),
        clamped(field(&v, "skEm"))
    );
    assert_eq!(
        ephemeral.public_key().as_bytes().to_vec(),
        field(&v, "pkEm")
    );

    // Passport seals single-shot, so each seal is sequence number 0 of its context.
    let first = &v["encryptions"][0];
    assert_eq!(first["seq"].as_u64(), Some(0));
    let (info, aad, pt, ct) = (
        field(&v, "info"),
        field(first, "aad"),
        field(first, "pt"),
        field(first, "ct"),
    );

    let recipient = SealingPublicKey::from_bytes(array32(field(&v, "pkRm")));
    let (enc, sealed) = seal_with_info(
        &recipient,
        &info,
        &aad,
        &pt,
        &mut FixedIkm(field(&v, "ikmE")),
    )
    .unwrap();
    assert_eq!(enc.to_vec(), field(&v, "enc"));
    assert_eq!(sealed, ct);

    let enc = array32(field(&v, "enc"));
    assert_eq!(
        open_with_info(&receiver, &enc, &info, &aad, &ct).unwrap(),
        pt
    );
    assert!(open_with_info(&receiver, &enc, &info, b"Count-1", &ct).is_err());
    assert!(open_with_info(&receiver, &enc, b"other info", &aad, &ct).is_err());
}

fn expected_recipient(kind: MessageKind) -> PassportId {
    common::recipient(kind)
}

#[test]
fn sig_structure_rebuilt_by_hand_verifies_every_message() {
    let parties = SampleParties::fixed();
    for kind in MessageKind::ALL {
        let bytes =
            samples::sample_signed(kind, &parties, samples::SAMPLE_NOW, &mut common::rng(5))
                .unwrap();
        let (protected, payload, signature) = common::split(&bytes);
        let tbs = common::sig_structure_by_hand(&protected, &payload);
        let signer = parties.signer(kind).id();
        assert!(
            signer.verify_signature(&tbs, &signature.clone().try_into().unwrap()),
            "{kind:?}"
        );
        // …and the same bytes with any other external AAD do not.
        // external_aad is the empty bstr (0x40) just before the payload's bstr header;
        // make it h'00' and the signature must no longer verify.
        let payload_header = if payload.len() < 256 { 2 } else { 3 };
        let aad_at = tbs.len() - payload.len() - payload_header - 1;
        assert_eq!(tbs[aad_at], 0x40);
        let mut with_aad = tbs.clone();
        with_aad.splice(aad_at..=aad_at, [0x41, 0x00]);
        assert!(!signer.verify_signature(&with_aad, &signature.try_into().unwrap()));
    }
}

#[test]
fn an_independent_cose_and_cwt_library_accepts_every_message() {
    let parties = SampleParties::fixed();
    let attestation = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/attestation.cose"),
    )
    .unwrap();
    let signed = MessageKind::ALL.into_iter().map(|kind| {
        let bytes =
            samples::sample_signed(kind, &parties, samples::SAMPLE_NOW, &mut common::rng(6))
                .unwrap();
        (bytes, parties.signer(kind).id(), expected_recipient(kind))
    });
    // The attestation vector: issued by the sample merchant about the person.
    let attestation = (attestation, parties.merchant.id(), parties.person.id());
    for (bytes, expected_signer, expected_audience) in signed.chain([attestation]) {
        let sign1 = CoseSign1::from_tagged_slice(&bytes).unwrap();
        assert_eq!(
            sign1.protected.header.alg,
            Some(coset::RegisteredLabelWithPrivate::Assigned(
                iana::Algorithm::EdDSA
            ))
        );
        let kid = String::from_utf8(sign1.protected.header.key_id.clone()).unwrap();
        let signer: PassportId = kid.parse().unwrap();
        assert_eq!(signer, expected_signer);
        sign1
            .verify_signature(b"", |sig, data| {
                let sig: [u8; 64] = sig.try_into().map_err(|_| "signature length")?;
                signer
                    .verify_signature(data, &sig)
                    .then_some(())
                    .ok_or("bad signature")
            })
            .unwrap();
        // The payload is a CWT claims set with the registered claims where they belong.
        let claims = ClaimsSet::from_slice(sign1.payload.as_ref().unwrap()).unwrap();
        assert_eq!(claims.issuer.as_deref(), Some(kid.as_str()));
        assert_eq!(
            claims.audience.as_deref(),
            Some(expected_audience.to_string().as_str())
        );
        assert_eq!(
            claims.issued_at,
            Some(coset::cwt::Timestamp::WholeSeconds(
                samples::SAMPLE_NOW.as_secs() as i64
            ))
        );
        assert!(matches!(
            claims.expiration_time,
            Some(coset::cwt::Timestamp::WholeSeconds(_))
        ));
        assert_eq!(claims.cwt_id.as_ref().map(Vec::len), Some(16));
        // Passport's own claims sit in the private-use range (below -65536).
        let private: Vec<i64> = claims
            .rest
            .iter()
            .map(|(name, _)| match name {
                coset::RegisteredLabelWithPrivate::PrivateUse(n) => *n,
                other => panic!("claim {other:?} is outside the private-use range"),
            })
            .collect();
        assert_eq!(private, vec![-65537, -65538, -65539]);
        // And coset re-encodes the envelope to the very same bytes.
        assert_eq!(sign1.to_tagged_vec().unwrap(), bytes);
    }
}
