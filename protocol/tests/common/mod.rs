//! Helpers to build messages by hand, independently of the crate's encoder, so
//! tests can break one rule at a time.
#![allow(dead_code, clippy::unwrap_used)]

use ciborium::Value;
use passport_protocol::{
    IdentityKey, MessageKind, PassportId, Timestamp,
    samples::{self, SampleParties},
};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

pub(crate) fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub(crate) fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

pub(crate) fn to_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

pub(crate) fn from_bytes(bytes: &[u8]) -> Value {
    ciborium::de::from_reader(bytes).unwrap()
}

/// RFC 9052 §4.4 Sig_structure for COSE_Sign1, written out byte by byte from the
/// RFC's CDDL (not with a CBOR library), for bstr lengths below 65536.
pub(crate) fn sig_structure_by_hand(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    fn bstr_header(out: &mut Vec<u8>, len: usize) {
        match len {
            0..=23 => out.push(0x40 | len as u8),
            24..=255 => out.extend([0x58, len as u8]),
            _ => out.extend([0x59, (len >> 8) as u8, len as u8]),
        }
    }
    let mut out = vec![0x84]; // array(4)
    out.push(0x6a); // text(10)
    out.extend_from_slice(b"Signature1");
    bstr_header(&mut out, protected.len());
    out.extend_from_slice(protected);
    out.push(0x40); // external_aad: empty bstr
    bstr_header(&mut out, payload.len());
    out.extend_from_slice(payload);
    out
}

/// The protected header Passport uses, for `kid`.
pub(crate) fn protected_for(kid: &PassportId) -> Value {
    Value::Map(vec![
        (int(1), int(-8)),
        (int(4), Value::Bytes(kid.to_string().into_bytes())),
    ])
}

/// A tagged COSE_Sign1 over `payload` with any protected header, signed by `key`.
pub(crate) fn sign_raw(key: &IdentityKey, protected: &Value, payload: &[u8]) -> Vec<u8> {
    let protected = to_bytes(protected);
    let signature = key.sign(&sig_structure_by_hand(&protected, payload));
    to_bytes(&Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(vec![]),
            Value::Bytes(payload.to_vec()),
            Value::Bytes(signature.to_vec()),
        ])),
    ))
}

/// The three-element split of a tagged COSE_Sign1: protected bytes, payload bytes,
/// signature bytes.
pub(crate) fn split(bytes: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let Value::Tag(18, inner) = from_bytes(bytes) else {
        panic!("not tag 18")
    };
    let Value::Array(items) = *inner else {
        panic!("not an array")
    };
    let mut it = items.into_iter();
    let p = it.next().unwrap().into_bytes().unwrap();
    it.next();
    let payload = it.next().unwrap().into_bytes().unwrap();
    let sig = it.next().unwrap().into_bytes().unwrap();
    (p, payload, sig)
}

/// A sample message's payload as a list of map entries, to edit.
pub(crate) fn sample_payload(kind: MessageKind, seed: u64) -> Vec<(Value, Value)> {
    let parties = SampleParties::fixed();
    let bytes =
        samples::sample_signed(kind, &parties, samples::SAMPLE_NOW, &mut rng(seed)).unwrap();
    let (_, payload, _) = split(&bytes);
    from_bytes(&payload).into_map().unwrap()
}

/// Re-signs an edited payload as `kind`'s sender would.
pub(crate) fn resign(kind: MessageKind, payload: Vec<(Value, Value)>) -> Vec<u8> {
    let parties = SampleParties::fixed();
    let key = parties.signer(kind);
    sign_raw(
        key,
        &protected_for(&key.id()),
        &to_bytes(&Value::Map(payload)),
    )
}

pub(crate) fn set(payload: &mut Vec<(Value, Value)>, key: i64, value: Value) {
    match payload.iter_mut().find(|(k, _)| *k == int(key)) {
        Some(entry) => entry.1 = value,
        None => payload.push((int(key), value)),
    }
}

pub(crate) fn now() -> Timestamp {
    samples::SAMPLE_NOW
}

pub(crate) fn recipient(kind: MessageKind) -> PassportId {
    let parties = SampleParties::fixed();
    if parties.signer(kind).id() == parties.person.id() {
        parties.merchant.id()
    } else {
        parties.person.id()
    }
}
