//! Shared bodies of the fuzz targets. See ../README.md ("Fuzzing").
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use ciborium::Value;
use passport_protocol::{
    GrantId, MessageKind, Sealed, SeenIdCache, samples, seal, verify, verify_offline,
    message::claim_key,
};

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

/// Runs `data` two ways:
/// 1. as a whole message through `verify_offline` (envelope, headers, signature);
/// 2. as the body of a `kind` message with valid claims, signed by the right party,
///    through the full `verify`, so the body decoder is reached past the signature.
///    Whatever verifies must re-sign and verify to the same message.
pub fn verify_kind(kind: MessageKind, data: &[u8]) {
    let _ = verify_offline(data);

    let parties = samples::SampleParties::fixed();
    let signer = parties.signer(kind);
    let audience = if signer.id() == parties.person.id() {
        parties.merchant.id()
    } else {
        parties.person.id()
    };
    let now = samples::SAMPLE_NOW;
    let int = |i: i64| Value::Integer(i.into());
    let claims = [
        (claim_key::ISS, Value::Text(signer.id().to_string())),
        (claim_key::AUD, Value::Text(audience.to_string())),
        (claim_key::EXP, int(now.as_secs() as i64 + 3600)),
        (claim_key::IAT, int(now.as_secs() as i64)),
        (claim_key::CTI, Value::Bytes(vec![7; 16])),
        (claim_key::VERSION, int(1)),
        (claim_key::KIND, int(kind as i64)),
    ];
    // Map of 8 pairs: the seven claims above, then the body key followed by `data`
    // spliced in raw, so the fuzzer controls the body's exact bytes.
    let payload = payload_with_raw_body(&claims, data);

    let message = sign_payload(signer, payload);
    if let Ok(verified) = verify(&message, now, &audience, &mut SeenIdCache::new(4)) {
        let decoded = verified.into_message();
        assert_eq!(decoded.body.kind(), kind);
        let again = decoded.sign(signer).expect("a verified message re-signs");
        let reverified = verify(&again, now, &audience, &mut SeenIdCache::new(4))
            .expect("a re-signed message verifies");
        assert_eq!(reverified.into_message(), decoded);
    }
}

/// Runs `data` as a whole record through `verify_record`, and as the body of a
/// correctly signed record of the sample person; whatever verifies must re-sign and
/// verify to the same record.
pub fn verify_record_body(data: &[u8]) {
    let parties = samples::SampleParties::fixed();
    let person = &parties.person;
    let now = samples::SAMPLE_NOW;
    let _ = passport_protocol::verify_record(data, &person.id(), now);
    let int = |i: i64| Value::Integer(i.into());
    let claims = [
        (claim_key::ISS, Value::Text(person.id().to_string())),
        (claim_key::EXP, int(now.as_secs() as i64 + 3600)),
        (claim_key::IAT, int(now.as_secs() as i64)),
        (claim_key::VERSION, int(1)),
        (claim_key::KIND, int(passport_protocol::record::RECORD_KIND as i64)),
    ];
    let payload = payload_with_raw_body(&claims, data);
    let record = sign_payload(person, payload);
    if let Ok(verified) = passport_protocol::verify_record(&record, &person.id(), now) {
        let again = verified.sign(person).expect("a verified record re-signs");
        let reverified = passport_protocol::verify_record(&again, &person.id(), now).expect("re-signed verifies");
        assert_eq!(reverified, verified);
    }
}

/// Runs `data` through the mailbox's checks three ways: as a whole mailbox message;
/// as the body of a deposit, a drain and a delete with valid claims, signed, so the
/// body decoders are reached past the signature (whatever verifies must re-sign and
/// verify to the same message); and as a sealed deposit the recipient opens.
pub fn verify_mailbox(data: &[u8]) {
    use passport_protocol::mailbox::{
        DELETE_KIND, DEPOSIT_KIND, DRAIN_KIND, MailboxMessage, open_from_mailbox,
        verify_mailbox_message,
    };
    let parties = samples::SampleParties::fixed();
    let (sender, mailbox) = (&parties.merchant, parties.person.id());
    let now = samples::SAMPLE_NOW;
    let _ = verify_mailbox_message(data, &mailbox, now);
    let _ = open_from_mailbox(data, &mailbox, &parties.merchant_seal);
    let int = |i: i64| Value::Integer(i.into());
    for kind in [DEPOSIT_KIND, DRAIN_KIND, DELETE_KIND] {
        let claims = [
            (claim_key::ISS, Value::Text(sender.id().to_string())),
            (claim_key::AUD, Value::Text(mailbox.to_string())),
            (claim_key::EXP, int(now.as_secs() as i64 + 120)),
            (claim_key::IAT, int(now.as_secs() as i64)),
            (claim_key::CTI, Value::Bytes(vec![7; 16])),
            (claim_key::VERSION, int(1)),
            (claim_key::KIND, int(kind as i64)),
        ];
        let signed = sign_payload(sender, payload_with_raw_body(&claims, data));
        if let Ok(verified) = verify_mailbox_message(&signed, &mailbox, now) {
            let again = MailboxMessage::sign(&verified, sender).expect("a verified message re-signs");
            let reverified =
                verify_mailbox_message(&again, &mailbox, now).expect("re-signed verifies");
            assert_eq!(reverified, verified);
        }
    }
}

/// Runs `data` through the device checks: as a whole device object, as a
/// delegation, and as the body of a delegation (from the person), a pairing and a
/// call (from the device) with valid claims, signed, so the body decoders are
/// reached past the signature; whatever verifies must re-sign and verify to the
/// same object.
pub fn verify_device(data: &[u8]) {
    use passport_protocol::device::{
        DELEGATION_KIND, DEVICE_CALL_KIND, DeviceMessage, PAIRING_KIND, verify_delegation,
        verify_device_message,
    };
    let parties = samples::SampleParties::fixed();
    // The sample merchant's key stands for the device.
    let (person, device) = (&parties.person, &parties.merchant);
    let now = samples::SAMPLE_NOW;
    let _ = verify_device_message(data, &person.id(), now);
    let _ = verify_delegation(data, &person.id(), &device.id(), now);
    let int = |i: i64| Value::Integer(i.into());
    for (kind, signer, audience) in [
        (DELEGATION_KIND, person, device.id()),
        (PAIRING_KIND, device, person.id()),
        (DEVICE_CALL_KIND, device, person.id()),
    ] {
        let claims = [
            (claim_key::ISS, Value::Text(signer.id().to_string())),
            (claim_key::AUD, Value::Text(audience.to_string())),
            (claim_key::EXP, int(now.as_secs() as i64 + 120)),
            (claim_key::IAT, int(now.as_secs() as i64)),
            (claim_key::CTI, Value::Bytes(vec![7; 16])),
            (claim_key::VERSION, int(1)),
            (claim_key::KIND, int(kind as i64)),
        ];
        let signed = sign_payload(signer, payload_with_raw_body(&claims, data));
        if let Ok(verified) = verify_device_message(&signed, &audience, now) {
            let again = DeviceMessage::sign(&verified, signer).expect("a verified object re-signs");
            let reverified =
                verify_device_message(&again, &audience, now).expect("re-signed verifies");
            assert_eq!(reverified, verified);
        }
    }
}

/// Runs `data` as a delivery message and as the body of one (through
/// [`verify_kind`]), then as a delivery's plaintext, sealed to the sample person
/// and opened as each data type, so the content decoder sees arbitrary bytes.
pub fn verify_delivery(data: &[u8]) {
    use passport_protocol::delivery::{DataType, delivery_info, open_delivery};
    verify_kind(MessageKind::Delivery, data);
    let parties = samples::SampleParties::fixed();
    let person = parties.person.id();
    let id = passport_protocol::MessageId::from_bytes([7; 16]);
    let mut rng = FixedRng(0);
    let Ok((enc, ciphertext)) = seal::seal_with_info(
        &parties.person_seal.public_key(),
        &delivery_info(&id, &person),
        &[],
        data,
        &mut rng,
    ) else {
        return;
    };
    let sealed = Sealed { enc, ciphertext };
    for data_type in DataType::ALL {
        let _ = open_delivery(data_type, &sealed, &parties.person_seal, &id, &person);
    }
}

/// Runs `data` as a whole attestation, then as the body of a correctly signed
/// attestation by the sample merchant about the sample person, through
/// `verify_attestation` and `verify_presentation` with a fixed value and salt.
pub fn verify_attestation(data: &[u8]) {
    use passport_protocol::attest::{ATTESTATION_KIND, Presentation, verify_attestation};
    let parties = samples::SampleParties::fixed();
    let (issuer, subject) = (&parties.merchant, parties.person.id());
    let now = samples::SAMPLE_NOW;
    let _ = verify_attestation(data);
    let int = |i: i64| Value::Integer(i.into());
    let claims = [
        (claim_key::ISS, Value::Text(issuer.id().to_string())),
        (claim_key::AUD, Value::Text(subject.to_string())),
        (claim_key::EXP, int(now.as_secs() as i64 + 86_400)),
        (claim_key::IAT, int(now.as_secs() as i64)),
        (claim_key::CTI, Value::Bytes(vec![7; 16])),
        (claim_key::VERSION, int(1)),
        (claim_key::KIND, int(ATTESTATION_KIND as i64)),
    ];
    let signed = sign_payload(issuer, payload_with_raw_body(&claims, data));
    if let Ok((verified, body)) = verify_attestation(&signed) {
        assert_eq!(verified.issuer, issuer.id());
        let value = passport_protocol::FieldValue::Text("Lyon".into());
        let presentation = Presentation {
            attestation: signed,
            salt: [0; 16],
        };
        match passport_protocol::verify_presentation(&presentation, &subject, &body.field, &value, now) {
            Ok(attested) => assert_eq!(attested.field, body.field),
            Err(e) => assert!(
                e.reason() == "digest_mismatch",
                "a verified attestation fails only on its digest here, not {e}"
            ),
        }
    }
}

/// A payload map of `claims` followed by the body key and `data` spliced in raw, so
/// the fuzzer controls the body's exact bytes.
fn payload_with_raw_body(claims: &[(i64, Value)], data: &[u8]) -> Vec<u8> {
    // A map header for the claims plus the body (all these maps have under 24 pairs).
    let mut payload = vec![0xa0 | (claims.len() as u8 + 1)];
    for (k, v) in claims {
        payload.extend(encode(&Value::Integer((*k).into())));
        payload.extend(encode(v));
    }
    payload.extend(encode(&Value::Integer(claim_key::BODY.into())));
    payload.extend_from_slice(data);
    payload
}

/// A tagged COSE_Sign1 over `payload` by `signer`, built independently of the crate.
fn sign_payload(signer: &passport_protocol::IdentityKey, payload: Vec<u8>) -> Vec<u8> {
    let int = |i: i64| Value::Integer(i.into());
    let protected = encode(&Value::Map(vec![
        (int(1), int(-8)),
        (int(4), Value::Bytes(signer.id().to_string().into_bytes())),
    ]));
    let sig_structure = encode(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.clone()),
        Value::Bytes(vec![]),
        Value::Bytes(payload.clone()),
    ]));
    let signature = signer.sign(&sig_structure);
    encode(&Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(vec![]),
            Value::Bytes(payload),
            Value::Bytes(signature.to_vec()),
        ])),
    ))
}

/// Opens `data` as `enc || ciphertext` with the sample merchant's key (must fail
/// cleanly unless it is a genuine sealed blob), then seals `data` as a plaintext and
/// opens it, so the decoder of opened values sees arbitrary bytes.
pub fn hpke_open(data: &[u8]) {
    let parties = samples::SampleParties::fixed();
    let key = &parties.merchant_seal;
    let audience = parties.merchant.id();
    let grant_id = GrantId::from_bytes([0x5a; 16]);
    if let Some((enc, ciphertext)) = data.split_first_chunk::<32>() {
        let sealed = Sealed { enc: *enc, ciphertext: ciphertext.to_vec() };
        let _ = sealed.open(key, &grant_id, &audience);
    }
    let info = passport_protocol::hpke_info(&grant_id, &audience);
    let mut rng = FixedRng(0);
    let (enc, ciphertext) =
        seal::seal_with_info(&key.public_key(), &info, &[], data, &mut rng).expect("seal");
    let sealed = Sealed { enc, ciphertext };
    if let Ok((values, presented)) = sealed.open_presented(key, &grant_id, &audience) {
        // Whatever opens must seal and open to the same values and presentations.
        let resealed = Sealed::seal_presented(
            &values,
            &presented,
            &key.public_key(),
            &grant_id,
            &audience,
            &mut rng,
        )
        .expect("opened values reseal");
        assert_eq!(
            resealed.open_presented(key, &grant_id, &audience).expect("reopen"),
            (values, presented)
        );
    }
}

/// A deterministic RNG so a crash reproduces exactly. Not for real use.
struct FixedRng(u8);

impl passport_protocol_rng::TryRng for FixedRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from(self.next_byte()))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from(self.next_byte()))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.iter_mut().for_each(|b| *b = self.next_byte());
        Ok(())
    }
}

impl passport_protocol_rng::TryCryptoRng for FixedRng {}

impl FixedRng {
    fn next_byte(&mut self) -> u8 {
        self.0 = self.0.wrapping_add(1);
        self.0
    }
}
