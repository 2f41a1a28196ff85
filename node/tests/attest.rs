//! Attestations and data back, over real libp2p swarms on loopback TCP: an
//! issuer (a bank) vouches for Ada's address after she granted it; a shop that
//! asks for the address attested by that bank gets it with the attestation;
//! a value changed afterwards loses it; data comes back from a shop Ada holds a
//! grant with, and a stranger's delivery is refused and audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{dial_address, loopback, until_found};
use libp2p::Multiaddr;
use passport_node::{
    Events, Node, NodeConfig, Passport, PassportError, RequestAnswer, RequestSpec, RequestStatus,
    audit::AuditEvent, consent::Policy, net::NetError,
};
use passport_protocol::{DataType, Delivered, FieldName, FieldValue, GrantId, PassportId};

fn memory_node() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

async fn start(bootstrap: Vec<Multiaddr>) -> (Passport, Events) {
    Passport::with_node(memory_node())
        .network(loopback(bootstrap))
        .spawn()
        .await
        .unwrap()
}

fn address() -> FieldName {
    "address.home".parse().unwrap()
}

/// Asks Ada for her address (attested by `issuers`, if any) and returns the grant.
async fn ask(merchant: &Passport, ada: PassportId, issuers: Vec<PassportId>) -> GrantId {
    let mut spec = RequestSpec::new("Shop", [address()], "delivery", 3_600);
    spec.fields[0].attested_by = issuers;
    let outcome = merchant
        .request(ada, spec, Duration::from_secs(10))
        .await
        .unwrap();
    match outcome.answer {
        RequestAnswer::Decided(RequestStatus::Granted { grant }) => grant,
        other => panic!("expected a grant, got {other:?}"),
    }
}

/// The grant `merchant` holds under `id`.
async fn grant_held(merchant: &Passport, id: GrantId) -> passport_node::merchant::ReceivedGrant {
    merchant
        .received()
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.grant_id == id)
        .unwrap()
}

async fn audit_has(passport: &Passport, wanted: impl Fn(&AuditEvent) -> bool) -> bool {
    passport
        .audit()
        .await
        .unwrap()
        .iter()
        .any(|entry| wanted(&entry.event))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_vouches_a_shop_verifies_a_change_loses_it_and_data_comes_back() {
    let (boot, _) = start(vec![]).await;
    let addr = dial_address(&boot).await;
    let (bank, _) = start(vec![addr.clone()]).await;
    let (shop, _) = start(vec![addr.clone()]).await;
    let (stranger, _) = start(vec![addr.clone()]).await;
    let (ada, _) = start(vec![addr]).await;
    ada.set_field(address(), FieldValue::Text("12 Rue des Lilas, Lyon".into()))
        .await
        .unwrap();
    for trusted in [bank.id(), shop.id()] {
        ada.add_policy(Policy::allow_normal_fields(Some(trusted)))
            .await
            .unwrap();
    }
    until_found(&bank, ada.id()).await;

    // The bank gets the address, then vouches for it.
    ask(&bank, ada.id(), vec![]).await;
    bank.attest(ada.id(), address(), 30 * 86_400)
        .await
        .unwrap()
        .delivered()
        .await
        .unwrap();
    let held = ada.field(address()).await.unwrap().unwrap().attestations;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].issuer, bank.id());

    // A shop that wants the bank's word gets it, checked by its node.
    let grant = ask(&shop, ada.id(), vec![bank.id()]).await;
    let received = grant_held(&shop, grant).await;
    assert_eq!(received.attested[&address()].issuer, bank.id());
    // One that wants another issuer's word gets the value, not attested.
    let unattested = ask(&shop, ada.id(), vec![stranger.id()]).await;
    let received = grant_held(&shop, unattested).await;
    assert!(received.attested.is_empty());

    // Ada moves: the attestation is dropped, and the shop's next update says
    // the address is no longer attested.
    let sent = ada
        .set_field(address(), FieldValue::Text("3 Quai Perrache, Lyon".into()))
        .await
        .unwrap();
    for sending in sent {
        sending.delivered().await.unwrap();
    }
    assert!(
        ada.field(address())
            .await
            .unwrap()
            .unwrap()
            .attestations
            .is_empty()
    );
    assert!(
        audit_has(
            &ada,
            |e| matches!(e, AuditEvent::AttestationLost { issuers, .. } if issuers == &[bank.id()])
        )
        .await
    );
    let after = grant_held(&shop, grant).await;
    assert!(after.attested.is_empty(), "{:?}", after.attested);

    // The shop Ada holds a grant with sends a receipt; it lands in her vault.
    let receipt = Delivered {
        title: "Order 1042".into(),
        items: BTreeMap::from([("total".to_owned(), "59.90 EUR".to_owned())]),
        attestation: None,
    };
    shop.send_data(ada.id(), DataType::Receipt, receipt.clone())
        .await
        .unwrap()
        .delivered()
        .await
        .unwrap();
    let kept = ada.delivered().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].from, kept[0].data_type, &kept[0].items),
        (shop.id(), DataType::Receipt, &receipt.items)
    );

    // A stranger's delivery is refused with its reason, audited, and not kept.
    let refused = stranger
        .send_data(ada.id(), DataType::Other, receipt)
        .await
        .unwrap()
        .delivered()
        .await;
    match refused {
        Err(PassportError::Net(NetError::Refused(reason))) => {
            assert!(reason.contains("unsolicited"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(ada.delivered().await.unwrap().len(), 1);
    assert!(
        audit_has(
            &ada,
            |e| matches!(e, AuditEvent::DeliveryRefused { from, .. } if *from == stranger.id())
        )
        .await
    );
    // Nor may a stranger vouch for a field of Ada's it never got.
    assert!(stranger.attest(ada.id(), address(), 86_400).await.is_err());

    // Ada deletes the receipt.
    ada.delete_delivered(kept[0].id).await.unwrap();
    assert!(ada.delivered().await.unwrap().is_empty());
    for p in [ada, shop, stranger, bank, boot] {
        p.shutdown().await;
    }
}
