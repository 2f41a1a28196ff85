//! Test vectors in `protocol/vectors/` (and the fuzz seeds made from them) are
//! rebuilt from fixed keys and a fixed RNG and compared byte for byte, so an
//! unintended change to the wire format fails here.
//!
//! After an intended change: `PASSPORT_REGENERATE_VECTORS=1 cargo test -p
//! passport-protocol --test vectors`, then review the diff of `protocol/vectors/`.
#![allow(clippy::unwrap_used)]

mod common;

use std::{fmt::Write as _, path::PathBuf};

use passport_protocol::{
    Body, MessageKind, Outcome, SeenIdCache, attest, delivery, device, diagnostic, hpke_info,
    mailbox,
    samples::{self, SampleParties},
    seal::open_with_info,
    verify,
};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

/// The encoded body (the value under the body claim) of a payload.
fn body_of(payload: &[u8]) -> Vec<u8> {
    common::from_bytes(payload)
        .into_map()
        .unwrap()
        .into_iter()
        .find(|(k, _)| *k == common::int(passport_protocol::message::claim_key::BODY))
        .map(|(_, v)| common::to_bytes(&v))
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn wrapped_hex(bytes: &[u8]) -> String {
    hex(bytes)
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The RNG for one kind's vector: ChaCha20 seeded with 32 bytes of the kind number.
fn vector_rng(kind: MessageKind) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([kind as u8; 32])
}

struct Vector {
    bytes: Vec<u8>,
    text: String,
    /// The kind-specific body, alone: the fuzz seed.
    body: Vec<u8>,
    /// For kinds that seal: `enc || ciphertext`, and the opened plaintext.
    sealed: Option<(Vec<u8>, Vec<u8>)>,
}

fn build(kind: MessageKind) -> Vector {
    let parties = SampleParties::fixed();
    let now = samples::SAMPLE_NOW;
    let bytes = samples::sample_signed(kind, &parties, now, &mut vector_rng(kind)).unwrap();
    let signer = parties.signer(kind);
    let audience = common::recipient(kind);
    let verified = verify(&bytes, now, &audience, &mut SeenIdCache::default()).unwrap();
    let (protected, payload, _) = common::split(&bytes);
    let body = body_of(&payload);

    let mut t = String::new();
    let role = if signer.id() == parties.person.id() {
        "person"
    } else {
        "merchant"
    };
    writeln!(
        t,
        "Passport test vector: {} (kind {})",
        kind.name(),
        kind as u8
    )
    .unwrap();
    writeln!(
        t,
        "Made by protocol/tests/vectors.rs; see README.md beside this file.\n"
    )
    .unwrap();
    writeln!(t, "signer ({role}): {}", signer.id()).unwrap();
    writeln!(
        t,
        "signer secret (RFC 8032 seed): {}",
        hex(signer.to_secret_bytes().as_ref())
    )
    .unwrap();
    writeln!(t, "audience: {audience}").unwrap();
    writeln!(t, "verify at (NumericDate): {}", now.as_secs()).unwrap();
    writeln!(t, "expected result: valid, from {}\n", signer.id()).unwrap();
    writeln!(
        t,
        "message, {} bytes (hex, the content of {}.cose):",
        bytes.len(),
        kind.name()
    )
    .unwrap();
    writeln!(t, "{}\n", wrapped_hex(&bytes)).unwrap();
    writeln!(t, "COSE_Sign1:\n{}\n", diagnostic(&bytes).unwrap()).unwrap();
    writeln!(
        t,
        "protected header:\n{}\n",
        diagnostic(&protected).unwrap()
    )
    .unwrap();
    writeln!(
        t,
        "payload (CWT claims set):\n{}",
        diagnostic(&payload).unwrap()
    )
    .unwrap();

    let claims_id = verified.message().claims.id;
    // (the recipient's key and its ikm, the HPKE info, the sealed blob)
    let sealed = match &verified.message().body {
        Body::Decision(d) => match &d.outcome {
            Outcome::Granted(g) => Some((
                &parties.merchant_seal,
                samples::MERCHANT_SEALING_IKM,
                hpke_info(&g.grant_id, &audience),
                g.sealed.clone(),
            )),
            Outcome::Refused { .. } => None,
        },
        Body::Update(u) => Some((
            &parties.merchant_seal,
            samples::MERCHANT_SEALING_IKM,
            hpke_info(&u.grant_id, &audience),
            u.sealed.clone(),
        )),
        Body::Delivery(d) => Some((
            &parties.person_seal,
            samples::PERSON_SEALING_IKM,
            delivery::delivery_info(&claims_id, &audience),
            d.sealed.clone(),
        )),
        _ => None,
    };
    let sealed = sealed.map(|(key, ikm, info, sealed)| {
        let plaintext = open_with_info(key, &sealed.enc, &info, &[], &sealed.ciphertext).unwrap();
        writeln!(
            t,
            "\nHPKE: base mode, KEM 0x0020, KDF 0x0001, AEAD 0x0003, aad empty"
        )
        .unwrap();
        writeln!(t, "recipient ikm (DeriveKeyPair): {}", hex(&ikm)).unwrap();
        writeln!(
            t,
            "recipient secret: {}",
            hex(key.to_secret_bytes().as_ref())
        )
        .unwrap();
        writeln!(t, "recipient public: {}", key.public_key()).unwrap();
        writeln!(t, "info (hex): {}", hex(&info)).unwrap();
        writeln!(t, "enc: {}", hex(&sealed.enc)).unwrap();
        writeln!(t, "opened plaintext:\n{}", diagnostic(&plaintext).unwrap()).unwrap();
        let mut blob = sealed.enc.to_vec();
        blob.extend(&sealed.ciphertext);
        (blob, plaintext)
    });
    Vector {
        bytes,
        text: t,
        body,
        sealed,
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file the vectors produce: (path, expected content).
fn expected_files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let parties = SampleParties::fixed();
    let record = samples::sample_record(&parties, samples::SAMPLE_NOW)
        .sign(&parties.person)
        .unwrap();
    let (protected, payload, _) = common::split(&record);
    let mut t = String::new();
    writeln!(t, "Passport test vector: peer record (payload kind 8)").unwrap();
    writeln!(
        t,
        "Made by protocol/tests/vectors.rs; see README.md beside this file.\n"
    )
    .unwrap();
    writeln!(t, "signer (person): {}", parties.person.id()).unwrap();
    writeln!(
        t,
        "DHT key: {}",
        String::from_utf8(passport_protocol::PeerRecord::dht_key(&parties.person.id())).unwrap()
    )
    .unwrap();
    writeln!(
        t,
        "verify at (NumericDate): {}",
        samples::SAMPLE_NOW.as_secs()
    )
    .unwrap();
    writeln!(
        t,
        "expected result: valid record of {}, sequence 3\n",
        parties.person.id()
    )
    .unwrap();
    writeln!(
        t,
        "record, {} bytes (hex, the content of peer_record.cose):",
        record.len()
    )
    .unwrap();
    writeln!(t, "{}\n", wrapped_hex(&record)).unwrap();
    writeln!(
        t,
        "protected header:\n{}\n",
        diagnostic(&protected).unwrap()
    )
    .unwrap();
    writeln!(t, "payload:\n{}", diagnostic(&payload).unwrap()).unwrap();
    files.push((root().join("vectors/peer_record.cose"), record.clone()));
    files.push((root().join("vectors/peer_record.txt"), t.into_bytes()));
    let record_body = body_of(&payload);
    files.push((root().join("fuzz/seeds/verify_record/body"), record_body));
    // A deposit of the sample request, sealed to the person (the fuzz target's
    // recipient key is the sample merchant's sealing key).
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let request = samples::sample_signed(
        MessageKind::Request,
        &parties,
        samples::SAMPLE_NOW,
        &mut rng,
    )
    .unwrap();
    let sealed = mailbox::seal_for_mailbox(
        &request,
        &parties.person.id(),
        &parties.merchant_seal.public_key(),
        &mut rng,
    )
    .unwrap();
    let deposit = mailbox::MailboxMessage {
        claims: passport_protocol::Claims {
            issuer: parties.merchant.id(),
            audience: parties.person.id(),
            issued_at: samples::SAMPLE_NOW,
            not_before: None,
            expires_at: samples::SAMPLE_NOW.plus_secs(120),
            id: passport_protocol::MessageId::from_bytes([7; 16]),
        },
        body: mailbox::MailboxBody::Deposit(mailbox::Deposit {
            recipient: parties.person.id(),
            sealed: sealed.clone(),
        }),
    }
    .sign(&parties.merchant)
    .unwrap();
    let (_, deposit_payload, _) = common::split(&deposit);
    let deposit_body = body_of(&deposit_payload);
    let seeds = root().join("fuzz/seeds/verify_mailbox");
    files.push((seeds.join("deposit"), deposit));
    files.push((seeds.join("body"), deposit_body));
    files.push((seeds.join("sealed"), sealed));
    files.push((root().join("fuzz/seeds/verify_record/record"), record));
    // A delegation from the sample person to the sample merchant's key (standing
    // for a device), and a call that carries it.
    let delegation = device::sign_delegation(
        &parties.person,
        parties.merchant.id(),
        "Ada's phone",
        samples::SAMPLE_NOW,
        30 * 86_400,
        &mut rng,
    )
    .unwrap();
    let call = device::DeviceMessage {
        claims: passport_protocol::Claims {
            issuer: parties.merchant.id(),
            audience: parties.person.id(),
            issued_at: samples::SAMPLE_NOW,
            not_before: None,
            expires_at: samples::SAMPLE_NOW.plus_secs(120),
            id: passport_protocol::MessageId::from_bytes([8; 16]),
        },
        body: device::DeviceBody::Call(device::DeviceCall {
            delegation: delegation.clone(),
            peer: vec![0, 36, 8, 1],
            call: b"inbox".to_vec(),
        }),
    }
    .sign(&parties.merchant)
    .unwrap();
    let (_, delegation_payload, _) = common::split(&delegation);
    let (_, call_payload, _) = common::split(&call);
    let seeds = root().join("fuzz/seeds/verify_device");
    files.push((seeds.join("delegation_body"), body_of(&delegation_payload)));
    files.push((seeds.join("call_body"), body_of(&call_payload)));
    files.push((seeds.join("delegation"), delegation));
    files.push((seeds.join("call"), call));
    attestation_files(&mut files);
    for kind in MessageKind::ALL {
        let v = build(kind);
        let name = kind.name();
        files.push((root().join(format!("vectors/{name}.cose")), v.bytes.clone()));
        files.push((
            root().join(format!("vectors/{name}.txt")),
            v.text.into_bytes(),
        ));
        let seeds = root().join(format!("fuzz/seeds/verify_{name}"));
        files.push((seeds.join("body"), v.body));
        files.push((seeds.join("message"), v.bytes));
        if let Some((blob, plaintext)) = v.sealed {
            // A delivery's plaintext is the delivery target's to decode.
            let seeds = root().join(match kind {
                MessageKind::Delivery => "fuzz/seeds/verify_delivery",
                _ => "fuzz/seeds/hpke_open",
            });
            files.push((seeds.join(format!("{name}_sealed")), blob));
            files.push((seeds.join(format!("{name}_plaintext")), plaintext));
        }
    }
    files
}

/// The attestation the sample delivery carries, alone, with its disclosure: a
/// vector for verifiers, and the seeds of the attestation fuzz target.
fn attestation_files(files: &mut Vec<(PathBuf, Vec<u8>)>) {
    let parties = SampleParties::fixed();
    let now = samples::SAMPLE_NOW;
    let kind = MessageKind::Delivery;
    let bytes = samples::sample_signed(kind, &parties, now, &mut vector_rng(kind)).unwrap();
    let message = passport_protocol::verify_offline(&bytes).unwrap();
    let Body::Delivery(d) = &message.body else {
        unreachable!()
    };
    let content = delivery::open_delivery(
        d.data_type,
        &d.sealed,
        &parties.person_seal,
        &message.claims.id,
        &parties.person.id(),
    )
    .unwrap();
    let presentation = content.attestation.unwrap();
    let field: passport_protocol::FieldName = "address.home".parse().unwrap();
    let values = samples::sample_values();
    let value = &values[&field];
    let disclosure = attest::Disclosure {
        salt: presentation.salt,
        value,
        field: &field,
    };
    let attested = passport_protocol::verify_presentation(
        &presentation,
        &parties.person.id(),
        &field,
        value,
        now,
    )
    .unwrap();
    let (_, payload, _) = common::split(&presentation.attestation);
    let mut t = String::new();
    writeln!(
        t,
        "Passport test vector: attestation (payload kind {})",
        attest::ATTESTATION_KIND
    )
    .unwrap();
    writeln!(
        t,
        "Made by protocol/tests/vectors.rs; see README.md beside this file.\n"
    )
    .unwrap();
    writeln!(t, "issuer (the sample merchant): {}", attested.issuer).unwrap();
    writeln!(t, "subject (aud, the sample person): {}", attested.subject).unwrap();
    writeln!(t, "verify at (NumericDate): {}", now.as_secs()).unwrap();
    writeln!(
        t,
        "expected result: valid for address.home until {}\n",
        attested.expires_at.as_secs()
    )
    .unwrap();
    writeln!(
        t,
        "attestation, {} bytes (hex, the content of attestation.cose):",
        presentation.attestation.len()
    )
    .unwrap();
    writeln!(t, "{}\n", wrapped_hex(&presentation.attestation)).unwrap();
    writeln!(
        t,
        "payload (CWT claims set):\n{}\n",
        diagnostic(&payload).unwrap()
    )
    .unwrap();
    let encoded = disclosure.encode().unwrap();
    writeln!(t, "salt: {}", hex(&presentation.salt)).unwrap();
    writeln!(
        t,
        "disclosure [salt, value, name] (hex):\n{}",
        wrapped_hex(&encoded)
    )
    .unwrap();
    writeln!(t, "disclosure:\n{}", diagnostic(&encoded).unwrap()).unwrap();
    writeln!(
        t,
        "SHA-256 of the disclosure (the body's key 2): {}",
        hex(&disclosure.digest().unwrap())
    )
    .unwrap();
    files.push((
        root().join("vectors/attestation.cose"),
        presentation.attestation.clone(),
    ));
    files.push((root().join("vectors/attestation.txt"), t.into_bytes()));
    let seeds = root().join("fuzz/seeds/verify_attestation");
    files.push((seeds.join("body"), body_of(&payload)));
    files.push((seeds.join("attestation"), presentation.attestation));
}

#[test]
fn vectors_and_fuzz_seeds_are_unchanged() {
    let regenerate = std::env::var_os("PASSPORT_REGENERATE_VECTORS").is_some();
    let mut stale = Vec::new();
    for (path, expected) in expected_files() {
        if regenerate {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &expected).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&expected[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "these files differ from what the code now produces (an unintended wire-format change?); \
         if the change is intended, rerun with PASSPORT_REGENERATE_VECTORS=1 and review the diff:\n{}",
        stale.join("\n")
    );
}

#[test]
fn vector_files_verify_as_another_implementation_would_read_them() {
    // Read the committed bytes (not regenerated ones) and check them cold.
    for kind in MessageKind::ALL {
        let bytes = std::fs::read(root().join(format!("vectors/{}.cose", kind.name()))).unwrap();
        let verified = verify(
            &bytes,
            samples::SAMPLE_NOW,
            &common::recipient(kind),
            &mut SeenIdCache::default(),
        )
        .unwrap();
        assert_eq!(verified.message().body.kind(), kind);
    }
    let record = std::fs::read(root().join("vectors/peer_record.cose")).unwrap();
    let person = SampleParties::fixed().person.id();
    let verified = passport_protocol::verify_record(&record, &person, samples::SAMPLE_NOW).unwrap();
    assert_eq!(verified.sequence, 3);
    let attestation = std::fs::read(root().join("vectors/attestation.cose")).unwrap();
    let (claims, body) = attest::verify_attestation(&attestation).unwrap();
    assert_eq!(
        (claims.issuer, claims.audience, body.field.as_str()),
        (SampleParties::fixed().merchant.id(), person, "address.home")
    );
}
