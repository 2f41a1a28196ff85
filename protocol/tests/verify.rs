//! Every rejection rule of `verify`, one at a time, each with its own error variant.
#![allow(clippy::unwrap_used)]

mod common;

use ciborium::Value;
use common::*;
use passport_protocol::{
    Body, IdentityKey, MessageKind, Outcome, PassportId, ProtocolError, SealingKey, SeenIdCache,
    Timestamp, decode_trusted,
    limits::{CLOCK_SKEW_SECS, MAX_MESSAGE_BYTES, MAX_NESTING},
    message::claim_key,
    samples::{self, SampleParties},
    verify, verify_offline,
};

fn check(bytes: &[u8], kind: MessageKind, at: Timestamp) -> Result<(), ProtocolError> {
    verify(bytes, at, &recipient(kind), &mut SeenIdCache::default()).map(|_| ())
}

fn sample(kind: MessageKind) -> Vec<u8> {
    samples::sample_signed(kind, &SampleParties::fixed(), now(), &mut rng(7)).unwrap()
}

#[test]
fn every_kind_verifies_and_round_trips() {
    let parties = SampleParties::fixed();
    for kind in MessageKind::ALL {
        let message = samples::sample_message(kind, &parties, now(), &mut rng(1)).unwrap();
        let bytes = message.sign(parties.signer(kind)).unwrap();
        let verified = verify(&bytes, now(), &recipient(kind), &mut SeenIdCache::default())
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(verified.message(), &message, "{kind:?}");
        assert_eq!(verified.signer(), &parties.signer(kind).id());
    }
}

#[test]
fn rebuilt_by_hand_the_bytes_are_identical() {
    // The crate's encoder and the by-hand COSE builder agree to the byte, so the
    // crate emits exactly the structure the RFC describes.
    for kind in MessageKind::ALL {
        let bytes = sample(kind);
        let (_, payload, _) = split(&bytes);
        let key = SampleParties::fixed().signer(kind).clone();
        assert_eq!(
            sign_raw(&key, &protected_for(&key.id()), &payload),
            bytes,
            "{kind:?}"
        );
    }
}

#[test]
fn oversize_is_refused_before_decoding() {
    let huge = vec![0xff; MAX_MESSAGE_BYTES + 1];
    assert_eq!(
        check(&huge, MessageKind::Request, now()),
        Err(ProtocolError::TooLarge {
            size: MAX_MESSAGE_BYTES + 1,
            max: MAX_MESSAGE_BYTES
        })
    );
    // A request asking for so much it cannot be signed under the cap.
    let mut payload = sample_payload(MessageKind::Request, 1);
    set(
        &mut payload,
        claim_key::BODY,
        Value::Text("x".repeat(MAX_MESSAGE_BYTES)),
    );
    let bytes = resign(MessageKind::Request, payload);
    assert!(matches!(
        check(&bytes, MessageKind::Request, now()),
        Err(ProtocolError::TooLarge { .. })
    ));
}

#[test]
fn deep_nesting_is_refused_in_envelope_and_payload() {
    let mut deep = vec![0x81; 200];
    deep.push(0);
    assert_eq!(
        check(&deep, MessageKind::Request, now()),
        Err(ProtocolError::TooDeep { max: MAX_NESTING })
    );
    let mut nested = Value::Integer(0.into());
    for _ in 0..MAX_NESTING {
        nested = Value::Array(vec![nested]);
    }
    let mut payload = sample_payload(MessageKind::Fetch, 1);
    set(&mut payload, 99, nested);
    let bytes = resign(MessageKind::Fetch, payload);
    assert_eq!(
        check(&bytes, MessageKind::Fetch, now()),
        Err(ProtocolError::TooDeep { max: MAX_NESTING })
    );
}

#[test]
fn truncated_and_trailing_bytes_are_refused() {
    let bytes = sample(MessageKind::Revoke);
    assert_eq!(
        check(&bytes[..bytes.len() - 1], MessageKind::Revoke, now()),
        Err(ProtocolError::Truncated)
    );
    let mut longer = bytes.clone();
    longer.extend([0x00, 0x01]);
    assert_eq!(
        check(&longer, MessageKind::Revoke, now()),
        Err(ProtocolError::TrailingBytes { extra: 2 })
    );
}

#[test]
fn things_that_are_not_cose_sign1_are_refused() {
    let bytes = sample(MessageKind::Fetch);
    let (protected, payload, sig) = split(&bytes);
    let parts = || {
        vec![
            Value::Bytes(protected.clone()),
            Value::Map(vec![]),
            Value::Bytes(payload.clone()),
            Value::Bytes(sig.clone()),
        ]
    };
    let cases = [
        to_bytes(&Value::Array(parts())), // untagged
        to_bytes(&Value::Tag(17, Box::new(Value::Array(parts())))), // COSE_Mac0 tag
        to_bytes(&Value::Tag(
            18,
            Box::new(Value::Array(parts()[..3].to_vec())),
        )),
        to_bytes(&Value::Tag(18, Box::new(Value::Map(vec![])))),
        to_bytes(&Value::Text("hello".into())),
    ];
    for case in cases {
        assert!(
            matches!(
                check(&case, MessageKind::Fetch, now()),
                Err(ProtocolError::NotCoseSign1 { .. })
            ),
            "{:?}",
            check(&case, MessageKind::Fetch, now())
        );
    }
    // A detached (nil) payload.
    let mut detached = parts();
    detached[2] = Value::Null;
    let detached = to_bytes(&Value::Tag(18, Box::new(Value::Array(detached))));
    assert!(matches!(
        check(&detached, MessageKind::Fetch, now()),
        Err(ProtocolError::NotCoseSign1 { .. })
    ));
}

#[test]
fn wrong_algorithm_is_refused() {
    let key = IdentityKey::from_secret_bytes(&samples::MERCHANT_SECRET);
    let (_, payload, _) = split(&sample(MessageKind::Fetch));
    let es256 = Value::Map(vec![
        (int(1), int(-7)),
        (int(4), Value::Bytes(key.id().to_string().into_bytes())),
    ]);
    assert_eq!(
        check(&sign_raw(&key, &es256, &payload), MessageKind::Fetch, now()),
        Err(ProtocolError::WrongAlgorithm { found: Some(-7) })
    );
    let no_alg = Value::Map(vec![(
        int(4),
        Value::Bytes(key.id().to_string().into_bytes()),
    )]);
    assert_eq!(
        check(
            &sign_raw(&key, &no_alg, &payload),
            MessageKind::Fetch,
            now()
        ),
        Err(ProtocolError::WrongAlgorithm { found: None })
    );
}

#[test]
fn unknown_critical_header_is_refused_but_unknown_plain_header_is_not() {
    let key = IdentityKey::from_secret_bytes(&samples::MERCHANT_SECRET);
    let (_, payload, _) = split(&sample(MessageKind::Fetch));
    let mut header = protected_for(&key.id()).into_map().unwrap();
    header.push((int(99), Value::Bool(true)));
    let tolerated = sign_raw(&key, &Value::Map(header.clone()), &payload);
    assert_eq!(check(&tolerated, MessageKind::Fetch, now()), Ok(()));
    header.push((int(2), Value::Array(vec![int(99)])));
    assert_eq!(
        check(
            &sign_raw(&key, &Value::Map(header), &payload),
            MessageKind::Fetch,
            now()
        ),
        Err(ProtocolError::UnknownCriticalHeader { label: "99".into() })
    );
}

#[test]
fn kid_must_match_iss_and_must_be_an_id() {
    // The person signs, with their own kid, a payload claiming to come from the merchant.
    let person = IdentityKey::from_secret_bytes(&samples::PERSON_SECRET);
    let (_, payload, _) = split(&sample(MessageKind::Fetch));
    let forged = sign_raw(&person, &protected_for(&person.id()), &payload);
    assert_eq!(
        check(&forged, MessageKind::Fetch, now()),
        Err(ProtocolError::KidMismatch)
    );
    let bad_kid = Value::Map(vec![
        (int(1), int(-8)),
        (int(4), Value::Bytes(b"did:key:zNope".to_vec())),
    ]);
    assert!(matches!(
        check(
            &sign_raw(&person, &bad_kid, &payload),
            MessageKind::Fetch,
            now()
        ),
        Err(ProtocolError::InvalidKid(_))
    ));
}

#[test]
fn bad_signatures_are_refused() {
    let merchant = SampleParties::fixed().merchant.id();
    let bytes = sample(MessageKind::Fetch);
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    assert_eq!(
        check(&flipped, MessageKind::Fetch, now()),
        Err(ProtocolError::BadSignature { signer: merchant })
    );
    // Someone else signs but names the merchant as kid.
    let mallory = IdentityKey::from_secret_bytes(&[0x99; 32]);
    let (_, payload, _) = split(&bytes);
    let forged = sign_raw(&mallory, &protected_for(&merchant), &payload);
    assert_eq!(
        check(&forged, MessageKind::Fetch, now()),
        Err(ProtocolError::BadSignature { signer: merchant })
    );
}

#[test]
fn wrong_audience_is_refused() {
    let bytes = sample(MessageKind::Request);
    let someone_else = IdentityKey::from_secret_bytes(&[0x77; 32]).id();
    let err = verify(&bytes, now(), &someone_else, &mut SeenIdCache::default()).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::WrongAudience {
            expected: someone_else,
            found: recipient(MessageKind::Request)
        }
    );
}

#[test]
fn time_window_allows_exactly_the_skew() {
    let bytes = sample(MessageKind::Update); // lives 300 s
    let exp = now().plus_secs(300);
    assert_eq!(
        check(&bytes, MessageKind::Update, exp.plus_secs(CLOCK_SKEW_SECS)),
        Ok(())
    );
    assert!(matches!(
        check(
            &bytes,
            MessageKind::Update,
            exp.plus_secs(CLOCK_SKEW_SECS + 1)
        ),
        Err(ProtocolError::Expired { .. })
    ));
    // Issued in the future beyond the skew: not yet valid.
    assert_eq!(
        check(
            &bytes,
            MessageKind::Update,
            now().minus_secs(CLOCK_SKEW_SECS)
        ),
        Ok(())
    );
    assert!(matches!(
        check(
            &bytes,
            MessageKind::Update,
            now().minus_secs(CLOCK_SKEW_SECS + 1)
        ),
        Err(ProtocolError::NotYetValid { .. })
    ));
    // An explicit nbf later than iat is honoured.
    let mut payload = sample_payload(MessageKind::Update, 1);
    set(
        &mut payload,
        claim_key::NBF,
        Value::Integer((now().as_secs() + 1000).into()),
    );
    let later = resign(MessageKind::Update, payload);
    assert!(matches!(
        check(&later, MessageKind::Update, now()),
        Err(ProtocolError::NotYetValid { .. })
    ));
}

#[test]
fn messages_older_than_the_max_age_are_refused_whatever_their_exp() {
    use passport_protocol::limits::MAX_MESSAGE_AGE_SECS;
    // A grant living a year: accepted near its iat, refused as too old after 14 days.
    let mut payload = sample_payload(MessageKind::Revoke, 1);
    set(
        &mut payload,
        claim_key::EXP,
        Value::Integer((now().as_secs() + 365 * 86_400).into()),
    );
    let bytes = resign(MessageKind::Revoke, payload);
    let audience = recipient(MessageKind::Revoke);
    let edge = now().plus_secs(MAX_MESSAGE_AGE_SECS + CLOCK_SKEW_SECS);
    assert_eq!(check(&bytes, MessageKind::Revoke, edge), Ok(()));
    assert!(matches!(
        check(&bytes, MessageKind::Revoke, edge.plus_secs(1)),
        Err(ProtocolError::TooOld { .. })
    ));
    // Its id is kept only until iat + max age + skew, not for the whole year.
    let mut seen = SeenIdCache::new(1);
    verify(&bytes, now(), &audience, &mut seen).unwrap();
    let other = sample(MessageKind::Revoke);
    assert!(matches!(
        verify(&other, now(), &audience, &mut seen),
        Err(ProtocolError::ReplayStoreFull { .. })
    ));
    let mut payload = sample_payload(MessageKind::Revoke, 2);
    set(
        &mut payload,
        claim_key::IAT,
        Value::Integer((edge.as_secs() - CLOCK_SKEW_SECS).into()),
    );
    set(
        &mut payload,
        claim_key::EXP,
        Value::Integer((edge.as_secs() + 1000).into()),
    );
    let later = resign(MessageKind::Revoke, payload);
    assert_eq!(
        verify(&later, edge.plus_secs(1), &audience, &mut seen).map(|_| ()),
        Ok(())
    );
}

#[test]
fn exp_before_iat_and_duplicate_unprotected_labels_are_malformed() {
    let mut payload = sample_payload(MessageKind::Fetch, 1);
    set(
        &mut payload,
        claim_key::EXP,
        Value::Integer((now().as_secs() - 1).into()),
    );
    let err = check(
        &resign(MessageKind::Fetch, payload),
        MessageKind::Fetch,
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("exp is before iat"), "{err}");

    let bytes = sample(MessageKind::Fetch);
    let (protected, payload, sig) = split(&bytes);
    let dup = Value::Map(vec![(int(33), int(1)), (int(33), int(2))]);
    let twice = to_bytes(&Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            dup,
            Value::Bytes(payload),
            Value::Bytes(sig),
        ])),
    ));
    assert!(matches!(
        check(&twice, MessageKind::Fetch, now()),
        Err(ProtocolError::MalformedHeader { .. })
    ));
}

#[test]
fn replays_are_refused_and_rejected_messages_do_not_burn_their_id() {
    let bytes = sample(MessageKind::Revoke);
    let audience = recipient(MessageKind::Revoke);
    let mut seen = SeenIdCache::default();
    // Refused for being early: its id must not be remembered.
    assert!(verify(&bytes, now().minus_secs(3600), &audience, &mut seen).is_err());
    assert!(seen.is_empty());
    verify(&bytes, now(), &audience, &mut seen).unwrap();
    assert!(matches!(
        verify(&bytes, now(), &audience, &mut seen),
        Err(ProtocolError::Replayed { .. })
    ));
}

#[test]
fn unknown_version_and_kind_are_refused() {
    let mut payload = sample_payload(MessageKind::Fetch, 1);
    set(&mut payload, claim_key::VERSION, int(2));
    assert_eq!(
        check(
            &resign(MessageKind::Fetch, payload),
            MessageKind::Fetch,
            now()
        ),
        Err(ProtocolError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    );
    let mut payload = sample_payload(MessageKind::Fetch, 1);
    set(&mut payload, claim_key::KIND, int(42));
    assert_eq!(
        check(
            &resign(MessageKind::Fetch, payload),
            MessageKind::Fetch,
            now()
        ),
        Err(ProtocolError::UnknownKind { found: 42 })
    );
}

#[test]
fn malformed_payloads_are_refused_with_a_reason() {
    type Edit = Box<dyn Fn(&mut Vec<(Value, Value)>)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("unknown key", Box::new(|p| set(p, 42, int(1)))),
        (
            "lacks iat",
            Box::new(|p| p.retain(|(k, _)| *k != int(claim_key::IAT))),
        ),
        (
            "cti",
            Box::new(|p| set(p, claim_key::CTI, Value::Bytes(vec![1; 15]))),
        ),
        ("twice", Box::new(|p| p.push((int(claim_key::IAT), int(5))))),
        ("not a text", Box::new(|p| set(p, claim_key::ISS, int(5)))),
    ];
    for (expected, edit) in cases {
        let mut payload = sample_payload(MessageKind::Fetch, 1);
        edit(&mut payload);
        let err = check(
            &resign(MessageKind::Fetch, payload),
            MessageKind::Fetch,
            now(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ProtocolError::MalformedPayload { detail } if detail.contains(expected)),
            "{expected}: {err}"
        );
    }
    // Too many fields in a request.
    let mut payload = sample_payload(MessageKind::Request, 1);
    let fields: Vec<Value> = (0..65)
        .map(|n| {
            Value::Array(vec![
                Value::Text(format!("x.f{n}")),
                Value::Bool(true),
                Value::Text(String::new()),
            ])
        })
        .collect();
    let body = payload
        .iter_mut()
        .find(|(k, _)| *k == int(claim_key::BODY))
        .unwrap();
    let mut entries = body.1.clone().into_map().unwrap();
    set(&mut entries, 2, Value::Array(fields));
    body.1 = Value::Map(entries);
    let err = check(
        &resign(MessageKind::Request, payload),
        MessageKind::Request,
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("over the limit of 64"), "{err}");
}

#[test]
fn only_the_audience_opens_a_grant_and_only_for_its_grant_id() {
    let parties = SampleParties::fixed();
    let bytes = sample(MessageKind::Decision);
    let verified = verify(
        &bytes,
        now(),
        &parties.merchant.id(),
        &mut SeenIdCache::default(),
    )
    .unwrap();
    let values = verified
        .open_values(&parties.merchant_seal)
        .unwrap()
        .unwrap();
    assert_eq!(values, samples::sample_values());
    let other = SealingKey::derive(&[0x55; 32]);
    assert_eq!(
        verified.open_values(&other),
        Some(Err(ProtocolError::OpenFailed))
    );

    let Body::Decision(decision) = &verified.message().body else {
        panic!()
    };
    let Outcome::Granted(grant) = &decision.outcome else {
        panic!()
    };
    let moved = passport_protocol::GrantId::from_bytes([0xab; 16]);
    assert_eq!(
        grant
            .sealed
            .open(&parties.merchant_seal, &moved, &parties.merchant.id()),
        Err(ProtocolError::OpenFailed)
    );
    let other_audience = parties.person.id();
    assert_eq!(
        grant
            .sealed
            .open(&parties.merchant_seal, &grant.grant_id, &other_audience),
        Err(ProtocolError::OpenFailed)
    );
}

#[test]
fn signing_with_someone_elses_key_is_refused() {
    let parties = SampleParties::fixed();
    let message =
        samples::sample_message(MessageKind::Fetch, &parties, now(), &mut rng(1)).unwrap();
    assert!(matches!(
        message.sign(&parties.person),
        Err(ProtocolError::IssuerNotSigner { .. })
    ));
}

#[test]
fn offline_verification_ignores_time_and_audience_only() {
    let bytes = sample(MessageKind::DeletionReceipt);
    // Years later, an auditor still checks the signature.
    assert!(verify_offline(&bytes).is_ok());
    let mut tampered = bytes.clone();
    tampered[40] ^= 0x20;
    assert!(verify_offline(&tampered).is_err());
}

#[test]
fn passport_ids_parse_with_distinct_errors() {
    use passport_protocol::IdError;
    let id = SampleParties::fixed().person.id();
    let text = id.to_string();
    assert!(text.starts_with("did:key:z6Mk"), "{text}");
    assert_eq!(text.parse::<PassportId>().unwrap(), id);
    assert_eq!(id.fmt_short().len(), 8);
    assert!(text.contains(&id.fmt_short()));

    let encode = |raw: &[u8]| format!("did:key:z{}", bs58_encode(raw));
    let mut wrong_codec = vec![0x12, 0x00];
    wrong_codec.extend(id.public_key_bytes());
    let mut long = vec![0xed, 0x01];
    long.extend([7u8; 33]);
    let mut weak = vec![0xed, 0x01];
    weak.extend({
        let mut identity = [0u8; 32];
        identity[0] = 1; // the identity point: small order
        identity
    });
    let cases = [
        ("did:web:example.com".to_owned(), IdError::MissingPrefix),
        (
            format!("did:key:f{}", &text[9..]),
            IdError::UnsupportedMultibase('f'),
        ),
        ("did:key:z6Mk0OIl".to_owned(), IdError::InvalidBase58),
        (encode(&wrong_codec), IdError::WrongMulticodec([0x12, 0x00])),
        (encode(&long), IdError::WrongLength(33)),
        (encode(&weak), IdError::InvalidKey),
    ];
    for (input, expected) in cases {
        assert_eq!(
            input.parse::<PassportId>(),
            Err(expected.clone()),
            "{input}"
        );
        assert!(!expected.to_string().is_empty());
    }
    // A y coordinate with no point on the curve.
    let off_curve = (0u8..=255)
        .map(|b| {
            let mut k = [b; 32];
            k[31] &= 0x7f;
            k
        })
        .find(|k| PassportId::from_public_key_bytes(k).is_err())
        .unwrap();
    let mut raw = vec![0xed, 0x01];
    raw.extend(off_curve);
    assert_eq!(encode(&raw).parse::<PassportId>(), Err(IdError::InvalidKey));
}

fn bs58_encode(raw: &[u8]) -> String {
    bs58::encode(raw).into_string()
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let key = IdentityKey::from_secret_bytes(&[0xab; 32]);
    let seal = SealingKey::derive(&[0xcd; 32]);
    let shown = format!("{key:?} {seal:?}");
    assert!(shown.contains("SecretKey(..)"), "{shown}");
    let secret_hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(!shown.contains(&secret_hex(&[0xab; 32])));
    assert!(!shown.contains(&secret_hex(seal.to_secret_bytes().as_ref())));
    assert!(!shown.to_lowercase().contains("abab"));
}

#[test]
fn every_error_message_starts_lowercase() {
    let id = SampleParties::fixed().person.id();
    let t = Timestamp::from_secs(1);
    let mid = passport_protocol::MessageId::from_bytes([0; 16]);
    let errors = [
        ProtocolError::TooLarge { size: 1, max: 1 },
        ProtocolError::TooDeep { max: 1 },
        ProtocolError::Truncated,
        ProtocolError::TrailingBytes { extra: 1 },
        ProtocolError::MalformedCbor { detail: "x" },
        ProtocolError::NotCoseSign1 { detail: "x" },
        ProtocolError::MalformedHeader { detail: "x" },
        ProtocolError::WrongAlgorithm { found: None },
        ProtocolError::UnknownCriticalHeader { label: "1".into() },
        ProtocolError::InvalidKid(passport_protocol::IdError::MissingPrefix),
        ProtocolError::KidMismatch,
        ProtocolError::BadSignature { signer: id },
        ProtocolError::UnsupportedVersion {
            found: 2,
            supported: 1,
        },
        ProtocolError::UnknownKind { found: 9 },
        ProtocolError::MalformedPayload { detail: "x".into() },
        ProtocolError::InvalidId {
            claim: "iss",
            error: passport_protocol::IdError::InvalidKey,
        },
        ProtocolError::WrongAudience {
            expected: id,
            found: id,
        },
        ProtocolError::Expired {
            expires_at: t,
            now: t,
            skew: 60,
        },
        ProtocolError::NotYetValid {
            valid_from: t,
            now: t,
            skew: 60,
        },
        ProtocolError::TooOld {
            issued_at: t,
            now: t,
            max_age: 1,
        },
        ProtocolError::Replayed { id: mid },
        ProtocolError::ReplayStoreFull { capacity: 1 },
        ProtocolError::IssuerNotSigner {
            issuer: id,
            signer: id,
        },
        ProtocolError::SealFailed,
        ProtocolError::OpenFailed,
        ProtocolError::Encode,
    ];
    let mut reasons = std::collections::HashSet::new();
    for e in errors {
        let text = e.to_string();
        assert!(text.chars().next().unwrap().is_lowercase(), "{text}");
        assert!(
            reasons.insert(e.reason()),
            "duplicate reason {}",
            e.reason()
        );
    }
}

#[test]
fn decode_trusted_skips_only_the_signature_check() {
    for kind in MessageKind::ALL {
        let bytes = sample(kind);
        assert_eq!(decode_trusted(&bytes), verify_offline(&bytes));
    }
    // A flipped signature bit: not this function's business...
    let bytes = sample(MessageKind::Fetch);
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    assert!(verify_offline(&flipped).is_err());
    assert_eq!(decode_trusted(&flipped), verify_offline(&bytes));
    // ...but size, structure, headers and payload still are.
    assert!(matches!(
        decode_trusted(&vec![0; MAX_MESSAGE_BYTES + 1]),
        Err(ProtocolError::TooLarge { .. })
    ));
    assert!(decode_trusted(&bytes[..bytes.len() - 1]).is_err());
    let mallory = IdentityKey::from_secret_bytes(&[0x99; 32]);
    let (_, payload, _) = split(&bytes);
    let wrong_kid = sign_raw(&mallory, &protected_for(&mallory.id()), &payload);
    assert_eq!(decode_trusted(&wrong_kid), Err(ProtocolError::KidMismatch));
}
