//! Properties: every message kind round-trips through sign → verify, and no single
//! bit of an encoded grant can change without verification failing.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use passport_protocol::{
    AccessRequest, AccessStatement, Body, Claims, DataType, Date, Decision, DeletionCause,
    DeletionReceipt, Delivered, Delivery, EraseRequest, Erasure, Fetch, FieldName, FieldRequest,
    FieldValue, FieldValues, Grant, GrantId, GrantState, HeldGrant, IdentityKey, Message,
    MessageId, MessageKind, Offer, Outcome, Request, Revoke, Sealed, SeenIdCache, Terms, Timestamp,
    Update,
    samples::{self, SampleParties},
    verify,
};
use proptest::{collection::vec, option, prelude::*};

fn field_name() -> impl Strategy<Value = FieldName> {
    "[a-z][a-z0-9_-]{0,6}(\\.[a-z][a-z0-9_-]{0,6}){0,2}".prop_map(|s| s.parse().unwrap())
}

fn text() -> impl Strategy<Value = String> {
    ".{0,40}"
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        text().prop_map(FieldValue::Text),
        (1u16..=9999, 1u8..=12, 1u8..=28)
            .prop_map(|(y, m, d)| FieldValue::Date(Date::new(y, m, d).unwrap())),
        proptest::collection::btree_map("[a-z]{1,8}", text(), 0..5)
            .prop_map(FieldValue::Structured),
    ]
}

fn values() -> impl Strategy<Value = FieldValues> {
    proptest::collection::btree_map(field_name(), field_value(), 1..6)
}

fn ids() -> impl Strategy<Value = [u8; 16]> {
    any::<[u8; 16]>()
}

fn distinct_names(names: Vec<FieldName>) -> Vec<FieldName> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// A body of `kind`; sealing uses the sample merchant's key.
fn body(kind: MessageKind) -> BoxedStrategy<Body> {
    let parties = SampleParties::fixed();
    let seal_to = parties.merchant_seal.public_key();
    let merchant = parties.merchant.id();
    let person_seal = parties.person_seal.public_key();
    let sealed = move |values: FieldValues, grant: [u8; 16], seed: u64| {
        Sealed::seal(
            &values,
            &seal_to,
            &GrantId::from_bytes(grant),
            &merchant,
            &mut common::rng(seed),
        )
        .unwrap()
    };
    match kind {
        MessageKind::Request => (
            text(),
            vec((field_name(), any::<bool>(), text(), any::<bool>()), 1..8),
            text(),
            any::<u64>(),
            any::<u64>(),
            option::of((
                text(),
                proptest::collection::btree_map("[a-z]{1,8}", text(), 0..4),
            )),
            (
                vec("/ip4/127\\.0\\.0\\.1/tcp/[0-9]{1,5}", 0..3),
                option::of("[a-z][a-z0-9-]{0,8}[a-z0-9]\\.example(:[1-9][0-9]{0,3})?"),
            ),
        )
            .prop_map(
                move |(
                    name,
                    fields,
                    purpose,
                    duration_secs,
                    retention_secs,
                    offer,
                    (reply_to, domain),
                )| {
                    let mut seen = std::collections::BTreeSet::new();
                    Body::Request(Request {
                        requester_name: name,
                        fields: fields
                            .into_iter()
                            .filter(|(n, _, _, _)| seen.insert(n.clone()))
                            .map(|(name, required, reason, attested)| FieldRequest {
                                name,
                                required,
                                reason,
                                attested_by: if attested { vec![merchant] } else { Vec::new() },
                            })
                            .collect(),
                        purpose,
                        duration_secs,
                        retention_secs,
                        offer: offer.map(|(text, details)| Offer { text, details }),
                        reply_to,
                        seal_to,
                        name_proof: None,
                        domain,
                    })
                },
            )
            .boxed(),
        MessageKind::Decision => prop_oneof![
            (
                ids(),
                ids(),
                values(),
                any::<bool>(),
                any::<u64>(),
                any::<bool>(),
                text(),
                any::<u64>()
            )
                .prop_map(
                    move |(
                        request,
                        grant,
                        values,
                        partial,
                        retention_secs,
                        no_resale,
                        purpose,
                        seed,
                    )| {
                        Body::Decision(Decision {
                            request_id: MessageId::from_bytes(request),
                            outcome: Outcome::Granted(Grant {
                                grant_id: GrantId::from_bytes(grant),
                                partial,
                                fields: values.keys().cloned().collect(),
                                terms: Terms {
                                    retention_secs,
                                    no_resale,
                                    purpose,
                                },
                                sealed: sealed(values, grant, seed),
                            }),
                        })
                    }
                ),
            (ids(), text()).prop_map(|(request, reason)| Body::Decision(Decision {
                request_id: MessageId::from_bytes(request),
                outcome: Outcome::Refused { reason },
            })),
        ]
        .boxed(),
        MessageKind::Fetch => ids()
            .prop_map(|g| {
                Body::Fetch(Fetch {
                    grant_id: GrantId::from_bytes(g),
                })
            })
            .boxed(),
        MessageKind::Update => (ids(), values(), any::<u64>())
            .prop_map(move |(grant, values, seed)| {
                Body::Update(Update {
                    grant_id: GrantId::from_bytes(grant),
                    fields: distinct_names(values.keys().cloned().collect()),
                    sealed: sealed(values, grant, seed),
                })
            })
            .boxed(),
        MessageKind::Revoke => (ids(), option::of(text()))
            .prop_map(|(g, reason)| {
                Body::Revoke(Revoke {
                    grant_id: GrantId::from_bytes(g),
                    reason,
                })
            })
            .boxed(),
        MessageKind::EraseRequest => option::of(text())
            .prop_map(|reason| Body::EraseRequest(EraseRequest { reason }))
            .boxed(),
        MessageKind::DeletionReceipt => (
            prop_oneof![
                Just(DeletionCause::Expired),
                ids().prop_map(|i| DeletionCause::Revoked(MessageId::from_bytes(i))),
                ids().prop_map(|i| DeletionCause::EraseRequested(MessageId::from_bytes(i))),
            ],
            proptest::collection::btree_set(ids(), 0..10),
            any::<u64>(),
            any::<bool>(),
        )
            .prop_map(|(cause, grants, at, backend_confirmed)| {
                Body::DeletionReceipt(DeletionReceipt {
                    cause,
                    grant_ids: grants.into_iter().map(GrantId::from_bytes).collect(),
                    erased_at: Timestamp::from_secs(at),
                    backend_confirmed,
                })
            })
            .boxed(),
        MessageKind::Delivery => (
            prop_oneof![
                Just(DataType::Receipt),
                Just(DataType::Order),
                Just(DataType::Warranty),
                Just(DataType::Loyalty),
                Just(DataType::Other),
            ],
            text(),
            proptest::collection::btree_map("[a-z]{1,8}", text(), 1..4),
            ids(),
            any::<u64>(),
        )
            .prop_map(move |(data_type, title, items, id, seed)| {
                let sealed = passport_protocol::delivery::seal_delivery(
                    data_type,
                    &Delivered {
                        title,
                        items,
                        attestation: None,
                    },
                    &person_seal,
                    &MessageId::from_bytes(id),
                    &parties.person.id(),
                    &mut common::rng(seed),
                )
                .unwrap();
                Body::Delivery(Delivery { data_type, sealed })
            })
            .boxed(),
        MessageKind::AccessRequest => option::of(text())
            .prop_map(|reason| Body::AccessRequest(AccessRequest { reason }))
            .boxed(),
        MessageKind::AccessStatement => (
            ids(),
            vec(
                (
                    ids(),
                    values(),
                    text(),
                    (any::<u64>(), any::<u64>()),
                    (0usize..4, 0usize..4),
                    (option::of(any::<u64>()), option::of(any::<u64>())),
                ),
                0..6,
            ),
        )
            .prop_map(|(reply, grants)| {
                let states = [
                    GrantState::Live,
                    GrantState::Revoked,
                    GrantState::Expired,
                    GrantState::Erased,
                ];
                let erasures = [
                    Erasure::NotErased,
                    Erasure::ByTheNode,
                    Erasure::ConfirmedByTheBackend,
                    Erasure::AwaitingTheBackend,
                ];
                let mut seen = std::collections::BTreeSet::new();
                Body::AccessStatement(AccessStatement {
                    in_reply_to: MessageId::from_bytes(reply),
                    grants: grants
                        .into_iter()
                        .filter(|(id, ..)| seen.insert(*id))
                        .map(
                            |(
                                id,
                                values,
                                purpose,
                                (received, expires),
                                (s, e),
                                (revoked, erased),
                            )| {
                                HeldGrant {
                                    grant_id: GrantId::from_bytes(id),
                                    fields: values.keys().cloned().collect(),
                                    purpose,
                                    received_at: Timestamp::from_secs(received),
                                    expires_at: Timestamp::from_secs(expires),
                                    state: states[s],
                                    revoked_at: revoked.map(Timestamp::from_secs),
                                    erased_at: erased.map(Timestamp::from_secs),
                                    erasure: erasures[e],
                                }
                            },
                        )
                        .collect(),
                })
            })
            .boxed(),
    }
}

fn message(kind: MessageKind) -> impl Strategy<Value = (Message, IdentityKey)> {
    (
        body(kind),
        ids(),
        0u64..4_000_000_000,
        1u64..400_000_000,
        option::of(0u64..1000),
    )
        .prop_map(move |(body, cti, iat, lifetime, nbf_delay)| {
            let parties = SampleParties::fixed();
            let signer = parties.signer(kind).clone();
            let audience = common::recipient(kind);
            let now = Timestamp::from_secs(iat);
            let claims = Claims {
                issuer: signer.id(),
                audience,
                issued_at: now,
                not_before: nbf_delay.map(|d| now.plus_secs(d)),
                expires_at: now.plus_secs(lifetime),
                id: MessageId::from_bytes(cti),
            };
            (Message { claims, body }, signer)
        })
}

fn any_kind() -> impl Strategy<Value = MessageKind> {
    proptest::sample::select(MessageKind::ALL.to_vec())
}

proptest! {
    #[test]
    fn every_kind_round_trips((msg, signer) in any_kind().prop_flat_map(message)) {
        let bytes = msg.sign(&signer).unwrap();
        let at = msg.claims.not_before.unwrap_or(msg.claims.issued_at);
        let verified = verify(&bytes, at, &msg.claims.audience, &mut SeenIdCache::default()).unwrap();
        prop_assert_eq!(verified.message(), &msg);
        if let Some(opened) = verified.open_values(&SampleParties::fixed().merchant_seal) {
            let opened = opened.unwrap();
            let names: Vec<FieldName> = opened.keys().cloned().collect();
            match &msg.body {
                Body::Decision(Decision { outcome: Outcome::Granted(g), .. }) => prop_assert_eq!(&g.fields, &names),
                Body::Update(u) => prop_assert_eq!(&u.fields, &names),
                _ => prop_assert!(false, "only grants and updates carry values"),
            }
        }
    }

    #[test]
    fn flipping_any_bit_of_a_random_grant_fails_verification(
        (msg, signer) in message(MessageKind::Decision),
        bit in any::<proptest::sample::Index>(),
    ) {
        let bytes = msg.sign(&signer).unwrap();
        let mut flipped = bytes.clone();
        let i = bit.index(bytes.len() * 8);
        flipped[i / 8] ^= 1 << (i % 8);
        let at = msg.claims.issued_at.max(msg.claims.not_before.unwrap_or_default());
        prop_assert!(verify(&flipped, at, &msg.claims.audience, &mut SeenIdCache::default()).is_err());
    }
}

#[test]
fn flipping_each_bit_of_the_sample_grant_fails_verification() {
    let parties = SampleParties::fixed();
    let bytes = samples::sample_signed(
        MessageKind::Decision,
        &parties,
        samples::SAMPLE_NOW,
        &mut common::rng(3),
    )
    .unwrap();
    let audience = parties.merchant.id();
    assert!(
        verify(
            &bytes,
            samples::SAMPLE_NOW,
            &audience,
            &mut SeenIdCache::default()
        )
        .is_ok()
    );
    let mut reasons = BTreeMap::<&str, usize>::new();
    for i in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[i / 8] ^= 1 << (i % 8);
        let err = verify(
            &flipped,
            samples::SAMPLE_NOW,
            &audience,
            &mut SeenIdCache::default(),
        )
        .expect_err(&format!("bit {i} flipped still verifies"));
        *reasons.entry(err.reason()).or_default() += 1;
    }
    // Most flips land in signed bytes and are caught by the signature.
    assert!(
        reasons["bad_signature"] > bytes.len() * 8 / 2,
        "{reasons:?}"
    );
}
