//! "What do you hold about me?" over real swarms on loopback: the shop answers
//! Ada at once with every grant it holds from her, signed, states and erasure
//! included; it refuses someone it holds nothing from; Ada refuses a statement
//! she never asked for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{dial_address, loopback, until_found};
use libp2p::Multiaddr;
use passport_node::{
    Events, Node, NodeConfig, Passport, PassportError, RequestAnswer, RequestSpec, RequestStatus,
    audit::AuditEvent, consent::Policy, error::NodeError, net::NetError,
};
use passport_protocol::{
    AccessStatement, Body, Claims, Erasure, FieldValue, GrantId, GrantState, Message, PassportId,
};

async fn start(node: Node, bootstrap: Vec<Multiaddr>) -> (Passport, Events) {
    Passport::with_node(node)
        .network(loopback(bootstrap))
        .spawn()
        .await
        .unwrap()
}

fn memory() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

async fn granted(shop: &Passport, ada: PassportId, purpose: &str) -> GrantId {
    let spec = RequestSpec::new("Shop", ["name.given".parse().unwrap()], purpose, 3_600);
    match shop
        .request(ada, spec, Duration::from_secs(10))
        .await
        .unwrap()
        .answer
    {
        RequestAnswer::Decided(RequestStatus::Granted { grant }) => grant,
        other => panic!("expected a grant, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_tells_the_person_what_it_holds_and_no_one_else() {
    let (boot, _) = start(memory(), vec![]).await;
    let addr = dial_address(&boot).await;
    let (shop, _) = start(memory(), vec![addr.clone()]).await;
    let (ada, _) = start(memory(), vec![addr.clone()]).await;
    let (bob, _) = start(memory(), vec![addr]).await;
    ada.set_field(
        "name.given".parse().unwrap(),
        FieldValue::Text("Ada".into()),
    )
    .await
    .unwrap();
    ada.add_policy(Policy::allow_normal_fields(Some(shop.id())))
        .await
        .unwrap();
    until_found(&shop, ada.id()).await;
    let delivery = granted(&shop, ada.id(), "delivery").await;
    let newsletter = granted(&shop, ada.id(), "newsletter").await;
    ada.revoke(newsletter)
        .await
        .unwrap()
        .delivered()
        .await
        .unwrap();

    until_found(&ada, shop.id()).await;
    let answer = ada.request_access(shop.id()).await.unwrap().unwrap();
    let grants = &answer.statement.grants;
    assert_eq!(grants.len(), 2);
    let live = grants.iter().find(|g| g.grant_id == delivery).unwrap();
    assert_eq!(
        (live.state, live.erasure, live.purpose.as_str()),
        (GrantState::Live, Erasure::NotErased, "delivery")
    );
    let revoked = grants.iter().find(|g| g.grant_id == newsletter).unwrap();
    assert_eq!(
        (revoked.state, revoked.erasure),
        (GrantState::Erased, Erasure::ByTheNode)
    );
    assert!(revoked.revoked_at.is_some() && revoked.erased_at.is_some());
    // The answer is signed by the shop and kept.
    let kept = ada.access_statement(shop.id()).await.unwrap().unwrap();
    assert_eq!(kept.statement, answer.statement);
    let signed = passport_protocol::verify_offline(&kept.message).unwrap();
    assert_eq!(signed.claims.issuer, shop.id());

    // Bob, from whom the shop holds nothing, is refused, and the shop says so
    // in its log.
    until_found(&bob, shop.id()).await;
    match bob.request_access(shop.id()).await {
        Err(PassportError::Net(NetError::Refused(_))) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        shop.audit().await.unwrap().iter().any(
            |e| matches!(&e.event, AuditEvent::AccessRefused { from, .. } if *from == bob.id())
        )
    );
    for p in [ada, bob, shop, boot] {
        p.shutdown().await;
    }
}

#[test]
fn a_statement_nobody_asked_for_is_refused() {
    let ada = memory();
    let now = passport_node::node::system_now();
    let merchant = passport_protocol::IdentityKey::generate(&mut rand::rng());
    let unsolicited = Message {
        claims: Claims::new(merchant.id(), ada.id(), now, 3_600, &mut rand::rng()),
        body: Body::AccessStatement(AccessStatement {
            in_reply_to: passport_protocol::MessageId::random(&mut rand::rng()),
            grants: Vec::new(),
        }),
    }
    .sign(&merchant)
    .unwrap();
    assert!(matches!(
        ada.receive(&unsolicited, now),
        Err(NodeError::NotYours { .. })
    ));
    assert!(ada.access_statement(&merchant.id()).unwrap().is_none());
}
