//! `cargo bench -p passport-protocol`: costs of signing, verifying, sealing,
//! opening, encoding and decoding every kind, and one request→grant round trip
//! next to its crypto floor (the same Ed25519 and HPKE operations on the same
//! byte counts, with no encoding or checks), measured in the same run.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use passport_protocol::{
    Body, Claims, Decision, Grant, GrantId, Message, MessageId, MessageKind, Outcome,
    ProtocolError, Sealed, SeenIds, Terms, Timestamp, decode_payload, decode_trusted,
    samples::{self, SampleParties},
    verify,
};
use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};

/// Accepts every id: benchmarks verify the same bytes many times.
struct NoReplayCheck;

impl SeenIds for NoReplayCheck {
    fn check_and_insert(
        &mut self,
        _: MessageId,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<(), ProtocolError> {
        Ok(())
    }
}

fn per_kind(c: &mut Criterion) {
    let parties = SampleParties::fixed();
    let now = samples::SAMPLE_NOW;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for kind in MessageKind::ALL {
        let message = samples::sample_message(kind, &parties, now, &mut rng).unwrap();
        let signer = parties.signer(kind);
        let bytes = message.sign(signer).unwrap();
        let payload = message.encode_payload().unwrap();
        let audience = message.claims.audience;
        let mut group = c.benchmark_group(kind.name());
        group.bench_function("encode", |b| {
            b.iter(|| black_box(&message).encode_payload().unwrap())
        });
        group.bench_function("decode", |b| {
            b.iter(|| decode_payload(black_box(&payload)).unwrap())
        });
        group.bench_function("sign", |b| {
            b.iter(|| black_box(&message).sign(signer).unwrap())
        });
        group.bench_function("verify", |b| {
            b.iter(|| verify(black_box(&bytes), now, &audience, &mut NoReplayCheck).unwrap())
        });
        group.bench_function("decode_trusted", |b| {
            b.iter(|| decode_trusted(black_box(&bytes)).unwrap())
        });
        group.finish();
    }
}

fn sealing(c: &mut Criterion) {
    let parties = SampleParties::fixed();
    let values = samples::sample_values();
    let public = parties.merchant_seal.public_key();
    let audience = parties.merchant.id();
    let grant_id = GrantId::from_bytes([1; 16]);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let sealed = Sealed::seal(&values, &public, &grant_id, &audience, &mut rng).unwrap();
    let mut group = c.benchmark_group("hpke");
    group.bench_function("seal", |b| {
        b.iter(|| {
            Sealed::seal(black_box(&values), &public, &grant_id, &audience, &mut rng).unwrap()
        })
    });
    group.bench_function("open", |b| {
        b.iter(|| {
            black_box(&sealed)
                .open(&parties.merchant_seal, &grant_id, &audience)
                .unwrap()
        })
    });
    group.finish();
}

/// What an attested field adds: the merchant checks one presentation (an Ed25519
/// verification and a SHA-256 over the disclosure) and opens a sealed payload
/// that carries it, next to a plain one, in the same run.
fn attestations(c: &mut Criterion) {
    let parties = SampleParties::fixed();
    let now = samples::SAMPLE_NOW;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let values = samples::sample_values();
    let field: passport_protocol::FieldName = "address.home".parse().unwrap();
    let value = &values[&field];
    let person = parties.person.id();
    let presentation = passport_protocol::attest(
        &parties.merchant,
        person,
        &field,
        value,
        now,
        86_400,
        &mut rng,
    )
    .unwrap();
    let presented = passport_protocol::Presentations::from([(field.clone(), presentation.clone())]);
    let public = parties.merchant_seal.public_key();
    let audience = parties.merchant.id();
    let grant_id = GrantId::from_bytes([1; 16]);
    let plain = Sealed::seal(&values, &public, &grant_id, &audience, &mut rng).unwrap();
    let attested =
        Sealed::seal_presented(&values, &presented, &public, &grant_id, &audience, &mut rng)
            .unwrap();
    let mut group = c.benchmark_group("attestation");
    group.bench_function("verify_presentation", |b| {
        b.iter(|| {
            passport_protocol::verify_presentation(
                black_box(&presentation),
                &person,
                &field,
                value,
                now,
            )
            .unwrap()
        })
    });
    group.bench_function("open_plain", |b| {
        b.iter(|| {
            black_box(&plain)
                .open_presented(&parties.merchant_seal, &grant_id, &audience)
                .unwrap()
        })
    });
    group.bench_function("open_with_presentation", |b| {
        b.iter(|| {
            black_box(&attested)
                .open_presented(&parties.merchant_seal, &grant_id, &audience)
                .unwrap()
        })
    });
    group.finish();
}

/// One request→grant exchange through the protocol API: the merchant signs a
/// request, the person verifies it, seals the values, signs the grant; the merchant
/// verifies the grant and opens it.
fn round_trip(parties: &SampleParties, request: &Message, rng: &mut ChaCha20Rng) {
    let now = samples::SAMPLE_NOW;
    let request_bytes = request.sign(&parties.merchant).unwrap();
    let verified = verify(
        &request_bytes,
        now,
        &parties.person.id(),
        &mut NoReplayCheck,
    )
    .unwrap();
    let Body::Request(req) = &verified.message().body else {
        unreachable!()
    };
    let grant_id = GrantId::random(rng);
    let values = samples::sample_values();
    let sealed = Sealed::seal(
        &values,
        &req.seal_to,
        &grant_id,
        &parties.merchant.id(),
        rng,
    )
    .unwrap();
    let grant = Message {
        claims: Claims::new(
            parties.person.id(),
            parties.merchant.id(),
            now,
            req.duration_secs,
            rng,
        ),
        body: Body::Decision(Decision {
            request_id: verified.message().claims.id,
            outcome: Outcome::Granted(Grant {
                grant_id,
                partial: false,
                fields: values.keys().cloned().collect(),
                terms: Terms {
                    retention_secs: 0,
                    no_resale: true,
                    purpose: req.purpose.clone(),
                },
                sealed,
            }),
        }),
    };
    let grant_bytes = grant.sign(&parties.person).unwrap();
    let received = verify(
        &grant_bytes,
        now,
        &parties.merchant.id(),
        &mut NoReplayCheck,
    )
    .unwrap();
    black_box(
        received
            .open_values(&parties.merchant_seal)
            .unwrap()
            .unwrap(),
    );
}

fn request_to_grant(c: &mut Criterion) {
    let parties = SampleParties::fixed();
    let now = samples::SAMPLE_NOW;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let request = samples::sample_message(MessageKind::Request, &parties, now, &mut rng).unwrap();

    // The floor: the same primitives on inputs of the same sizes, nothing else.
    let floor = samples::CryptoFloor::new(&mut rng).unwrap();
    let mut group = c.benchmark_group("request_to_grant");
    group.bench_function("crypto_floor", |b| {
        b.iter(|| floor.round_trip(&mut rng).unwrap())
    });
    group.bench_function("crypto_floor_merchant_side", |b| {
        b.iter(|| floor.merchant_side().unwrap())
    });
    group.bench_function("crypto_floor_person_side", |b| {
        b.iter(|| floor.person_side(&mut rng).unwrap())
    });
    group.bench_function("protocol", |b| {
        b.iter(|| round_trip(&parties, &request, &mut rng))
    });
    group.finish();
}

criterion_group!(benches, per_kind, sealing, attestations, request_to_grant);
criterion_main!(benches);
