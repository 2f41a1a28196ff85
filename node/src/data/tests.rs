//! The merchant's checks of presented attestations, with grants forged by hand
//! (the person's own key signs them, as a person's node that lies would).

use std::collections::BTreeMap;

use passport_protocol::{
    Body, Claims, Decision, FieldName, FieldValue, FieldValues, Grant, GrantId, IdentityKey,
    Message, Outcome, Presentation, Presentations, Sealed, Terms, Timestamp, attest,
    decode_trusted,
};

use crate::{NodeConfig, audit::AuditEvent, error::NodeError, merchant::RequestSpec, node::Node};

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

fn node() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

fn address() -> FieldName {
    "address.home".parse().unwrap()
}

fn value() -> FieldValue {
    FieldValue::Text("12 Rue des Lilas, Lyon".into())
}

/// A grant of the address from `person` answering `request`, sealed with
/// `presented`, signed with the person's own key.
fn grant(person: &Node, request: &[u8], presented: Presentations) -> Vec<u8> {
    let request = decode_trusted(request).unwrap();
    let Body::Request(r) = &request.body else {
        unreachable!()
    };
    let merchant = request.claims.issuer;
    let grant_id = GrantId::random(&mut rand::rng());
    let values = FieldValues::from([(address(), value())]);
    let sealed = Sealed::seal_presented(
        &values,
        &presented,
        &r.seal_to,
        &grant_id,
        &merchant,
        &mut rand::rng(),
    )
    .unwrap();
    Message {
        claims: Claims::new(person.id(), merchant, NOW, 3_600, &mut rand::rng()),
        body: Body::Decision(Decision {
            request_id: request.claims.id,
            outcome: Outcome::Granted(Grant {
                grant_id,
                partial: false,
                fields: vec![address()],
                terms: Terms {
                    retention_secs: 0,
                    no_resale: true,
                    purpose: "delivery".into(),
                },
                sealed,
            }),
        }),
    }
    .sign(&person.keys().identity)
    .unwrap()
}

fn presented(p: Presentation) -> Presentations {
    Presentations::from([(address(), p)])
}

#[test]
fn a_merchant_refuses_every_attestation_that_does_not_hold_and_keeps_nothing() {
    let (shop, ada, bob) = (node(), node(), node());
    let bank = IdentityKey::generate(&mut rand::rng());
    let other_issuer = IdentityKey::generate(&mut rand::rng());
    let mut spec = RequestSpec::new("Shop", [address()], "delivery", 3_600);
    spec.fields[0].attested_by = vec![bank.id()];
    let request = shop.request(ada.id(), spec, NOW).unwrap();
    let vouch = |issuer: &IdentityKey, subject, value: &FieldValue, lifetime| {
        attest(
            issuer,
            subject,
            &address(),
            value,
            NOW,
            lifetime,
            &mut rand::rng(),
        )
        .unwrap()
    };
    let mut wrong_salt = vouch(&bank, ada.id(), &value(), 86_400);
    wrong_salt.salt[0] ^= 1;
    let cases = [
        (wrong_salt, "digest_mismatch"),
        (
            vouch(
                &bank,
                ada.id(),
                &FieldValue::Text("elsewhere".into()),
                86_400,
            ),
            "digest_mismatch",
        ),
        (vouch(&bank, bob.id(), &value(), 86_400), "other_subject"),
        (
            vouch(&other_issuer, ada.id(), &value(), 86_400),
            "untrusted_issuer",
        ),
        (
            attest(
                &bank,
                ada.id(),
                &address(),
                &value(),
                NOW.minus_secs(7_200),
                3_600,
                &mut rand::rng(),
            )
            .unwrap(),
            "expired",
        ),
    ];
    for (bad, reason) in cases {
        let forged = grant(&ada, &request, presented(bad));
        match shop.receive(&forged, NOW) {
            Err(NodeError::Attestation { field, error }) => {
                assert_eq!((field, error.reason()), (address(), reason));
            }
            other => panic!("expected a refusal for {reason}, got {other:?}"),
        }
        assert!(
            shop.received().unwrap().is_empty(),
            "nothing kept ({reason})"
        );
        let last = shop.audit_entries().unwrap().pop().unwrap().event;
        assert!(
            matches!(&last, AuditEvent::AttestationRefused { reason: r, from, .. } if r == reason && *from == ada.id()),
            "{last:?}"
        );
    }
    // The request is still open: a grant with a sound attestation is taken.
    let sound = grant(
        &ada,
        &request,
        presented(vouch(&bank, ada.id(), &value(), 86_400)),
    );
    shop.receive(&sound, NOW).unwrap();
    let received = shop.received().unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].attested[&address()].issuer, bank.id());
    // A grant with none is taken too, the field marked as not attested.
    let request = shop
        .request(
            ada.id(),
            RequestSpec::new("Shop", [address()], "delivery", 3_600),
            NOW,
        )
        .unwrap();
    shop.receive(&grant(&ada, &request, BTreeMap::new()), NOW)
        .unwrap();
    assert!(
        shop.received()
            .unwrap()
            .iter()
            .any(|g| g.attested.is_empty())
    );
}

#[test]
fn a_person_keeps_an_attestation_only_for_the_value_they_hold() {
    let (ada, bank) = (node(), node());
    ada.set_field(address(), value(), NOW).unwrap();
    let other = ada.field(&address()).unwrap().unwrap();
    assert!(other.attestations.is_empty());
    // The bank vouches for a value Ada does not hold: refused, audited.
    let wrong = attest(
        &bank.keys().identity,
        ada.id(),
        &address(),
        &FieldValue::Text("elsewhere".into()),
        NOW,
        86_400,
        &mut rand::rng(),
    )
    .unwrap();
    let mut tx_out = None;
    ada.tx(NOW, |tx| {
        tx_out = Some(tx.accept_attestation(
            bank.id(),
            passport_protocol::Delivered {
                title: "address.home".into(),
                items: BTreeMap::new(),
                attestation: Some(wrong),
            },
        ));
        Ok(())
    })
    .unwrap();
    let refused = tx_out.unwrap().unwrap_err();
    assert!(refused.contains("does not match"), "{refused}");
    assert!(
        ada.field(&address())
            .unwrap()
            .unwrap()
            .attestations
            .is_empty()
    );
}

#[test]
fn a_request_with_a_forged_name_proof_is_refused_and_audited() {
    let (shop, poste) = (node(), node());
    let ada = Node::in_memory(NodeConfig {
        trusted_issuers: vec![crate::config::TrustedIssuer {
            id: poste.id(),
            name: "La Poste".into(),
        }],
        ..NodeConfig::default()
    })
    .unwrap();
    let org: FieldName = passport_protocol::attest::NAME_FIELD.parse().unwrap();
    let vouch = |name: &str, subject| {
        attest(
            &poste.keys().identity,
            subject,
            &org,
            &FieldValue::Text(name.into()),
            NOW,
            86_400,
            &mut rand::rng(),
        )
        .unwrap()
    };
    let request = |name: &str, proof| {
        Message {
            claims: Claims::new(shop.id(), ada.id(), NOW, 3_600, &mut rand::rng()),
            body: Body::Request(passport_protocol::Request {
                requester_name: name.into(),
                fields: vec![passport_protocol::FieldRequest {
                    name: address(),
                    required: true,
                    reason: String::new(),
                    attested_by: Vec::new(),
                }],
                purpose: "delivery".into(),
                duration_secs: 3_600,
                retention_secs: 0,
                offer: None,
                reply_to: Vec::new(),
                seal_to: shop.sealing_public_key(),
                name_proof: Some(proof),
                domain: None,
            }),
        }
        .sign(&shop.keys().identity)
        .unwrap()
    };
    // A proof of another name, and one about another merchant: refused.
    for (proof, reason) in [
        (vouch("Brand Y", shop.id()), "digest_mismatch"),
        (vouch("Brand X", poste.id()), "other_subject"),
    ] {
        match ada.receive(&request("Brand X", proof), NOW) {
            Err(NodeError::Attestation { error, .. }) => assert_eq!(error.reason(), reason),
            other => panic!("expected a refusal ({reason}), got {other:?}"),
        }
        assert!(ada.inbox().unwrap().is_empty());
        let last = ada.audit_entries().unwrap().pop().unwrap().event;
        assert!(
            matches!(&last, AuditEvent::AttestationRefused { reason: r, .. } if r == reason),
            "{last:?}"
        );
    }
    // A sound one: the inbox says who vouches.
    ada.receive(&request("Brand X", vouch("Brand X", shop.id())), NOW)
        .unwrap();
    let item = ada.inbox().unwrap().pop().unwrap();
    assert_eq!(item.merchant.verified_by().as_deref(), Some("La Poste"));
}

#[test]
fn deliveries_are_bounded_per_sender_and_refused_from_strangers() {
    use passport_protocol::{DataType, Delivered};
    let (shop, stranger, ada) = (node(), node(), node());
    ada.set_field(address(), value(), NOW).unwrap();
    // Ada grants the shop her address (the nodes talk directly).
    let request = shop
        .request(
            ada.id(),
            RequestSpec::new("Shop", [address()], "delivery", 86_400),
            NOW,
        )
        .unwrap();
    ada.receive(&request, NOW).unwrap();
    let pending = ada.inbox().unwrap().remove(0).pending.request_id;
    let grant = ada
        .approve(&pending, crate::person::Approval::default(), NOW)
        .unwrap();
    shop.receive(&grant.bytes, NOW).unwrap();
    let receipt = |n: usize| Delivered {
        title: format!("Order {n}"),
        items: BTreeMap::from([("total".to_owned(), "1 EUR".to_owned())]),
        attestation: None,
    };
    let send = |from: &Node, n: usize| {
        let out = from
            .deliver(
                ada.id(),
                &ada.sealing_public_key(),
                DataType::Receipt,
                &receipt(n),
                NOW,
            )
            .unwrap();
        ada.receive(&out.bytes, NOW)
    };
    for n in 0..super::MAX_DELIVERED_PER_SENDER {
        send(&shop, n).unwrap();
    }
    // A flood past the bound: refused with its reason, audited, not kept.
    match send(&shop, 9999) {
        Err(NodeError::DeliveryRefused(reason)) => {
            assert!(reason.contains("at most 256"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        ada.delivered().unwrap().len(),
        super::MAX_DELIVERED_PER_SENDER
    );
    // A stranger (no grant): refused by the default policy.
    match send(&stranger, 0) {
        Err(NodeError::DeliveryRefused(reason)) => {
            assert!(reason.contains("unsolicited"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let last = ada.audit_entries().unwrap().pop().unwrap().event;
    assert!(
        matches!(&last, AuditEvent::DeliveryRefused { from, .. } if *from == stranger.id()),
        "{last:?}"
    );
}
