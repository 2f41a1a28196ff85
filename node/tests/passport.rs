//! The [`Passport`] handle over real libp2p swarms on loopback TCP: the merchant's
//! request flow, the person's decisions, the event stream, the network-less mode
//! and a graceful shutdown.

#![allow(
    clippy::disallowed_methods,
    reason = "a test's deadlines are wall-clock time"
)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{dial_address, loopback};
use futures::StreamExt as _;
use libp2p::Multiaddr;
use passport_node::{
    Approval, Event, Events, Node, NodeConfig, Passport, PassportError, RequestAnswer, RequestSpec,
    RequestStatus, audit::AuditEvent, consent::Policy, net::NetError, node::system_now as now,
};
use passport_protocol::{FieldValue, PassportId, PeerRecord};

fn memory_node() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

async fn start(node: Node, bootstrap: Vec<Multiaddr>) -> (Passport, Events) {
    Passport::with_node(node)
        .network(loopback(bootstrap))
        .spawn()
        .await
        .unwrap()
}

async fn find(merchant: &Passport, id: PassportId) -> PeerRecord {
    for _ in 0..50 {
        if let Ok(record) = merchant.client().unwrap().lookup(id).await {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the person's record never showed in the DHT");
}

/// Three nodes: a bootstrap, a merchant and Ada (who has `name.given`).
async fn network() -> (Passport, (Passport, Events), (Passport, Events)) {
    let (boot, _) = start(memory_node(), vec![]).await;
    let addr = dial_address(&boot).await;
    let merchant = start(memory_node(), vec![addr.clone()]).await;
    let ada = start(memory_node(), vec![addr]).await;
    ada.0
        .set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text("Ada".into()),
        )
        .await
        .unwrap();
    // Ada's node publishes its record in the background: a request sent before
    // the DHT holds it would find no one.
    find(&merchant.0, ada.0.id()).await;
    (boot, merchant, ada)
}

fn name_ada(node: &Node) {
    node.set_field(
        "name.given".parse().unwrap(),
        FieldValue::Text("Ada".into()),
        now(),
    )
    .unwrap();
}

fn spec() -> RequestSpec {
    RequestSpec::new("Shop", ["name.given".parse().unwrap()], "delivery", 3_600)
}

/// The next committed event the stream yields, past changes with no audit entry
/// (lags fail the test).
async fn next_event(events: &mut Events) -> AuditEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("no event within 10 s")
            .expect("the stream ended");
        match event {
            Event::Committed { event, .. } => return event,
            Event::Lagged { missed } => panic!("lagged by {missed}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_answered_by_the_person_later_reaches_a_waiting_merchant_with_events_on_both_sides()
 {
    let (boot, (merchant, mut shop_events), (ada, mut ada_events)) = network().await;
    // Start from what comes next (setting the field above may have told some).
    while tokio::time::timeout(Duration::from_millis(50), ada_events.next())
        .await
        .is_ok()
    {}

    // Nobody decides: with no wait, the merchant hears "pending" at once.
    let outcome = merchant
        .request(ada.id(), spec(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(outcome.answer, RequestAnswer::Pending);
    let pending = outcome.request_id;
    assert!(matches!(
        next_event(&mut shop_events).await,
        AuditEvent::RequestSent { request, to, .. } if request == pending && to == ada.id()
    ));
    assert!(matches!(
        next_event(&mut ada_events).await,
        AuditEvent::RequestReceived { request, .. } if request == pending
    ));

    // Ada approves while the merchant waits for the decision.
    let inbox = ada.inbox().await.unwrap();
    assert_eq!(inbox.len(), 1);
    let waiting = {
        let merchant = merchant.clone();
        tokio::spawn(async move { merchant.decision(pending, Duration::from_secs(20)).await })
    };
    let approving = ada.approve(pending, Approval::default()).await.unwrap();
    assert_eq!(approving.to, merchant.id());
    approving.delivered().await.unwrap();
    let Some(RequestStatus::Granted { grant }) = waiting.await.unwrap().unwrap() else {
        panic!("the merchant did not see the grant");
    };
    assert!(matches!(
        next_event(&mut ada_events).await,
        AuditEvent::GrantIssued { grant: g, by_policy: false, .. } if g == grant
    ));
    assert!(matches!(
        next_event(&mut shop_events).await,
        AuditEvent::GrantReceived { grant: g, from, .. } if g == grant && from == ada.id()
    ));
    let values = merchant.fetch(grant).await.unwrap();
    assert_eq!(
        values.get(&"name.given".parse().unwrap()),
        Some(&FieldValue::Text("Ada".into()))
    );

    // Revoked: the merchant erases and the receipt comes back, each side told.
    ada.revoke(grant).await.unwrap().delivered().await.unwrap();
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|e| matches!(e, AuditEvent::ReceiptReceived { .. }))
    {
        seen.push(next_event(&mut ada_events).await);
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, AuditEvent::GrantRevoked { grant: g, .. } if *g == grant))
    );
    assert!(matches!(
        merchant.open_grant(grant).await,
        Err(PassportError::Node(_))
    ));
    for passport in [merchant, ada, boot] {
        passport.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_policy_grants_in_the_same_exchange_and_the_request_is_durable() {
    let (boot, (merchant, _), (ada, _)) = network().await;
    ada.add_policy(Policy::allow_normal_fields(Some(merchant.id())))
        .await
        .unwrap();
    let record = find(&merchant, ada.id()).await;
    let outcome = merchant
        .request_to_record(&record, spec(), Duration::from_secs(5))
        .await
        .unwrap();
    let RequestAnswer::Decided(RequestStatus::Granted { grant }) = outcome.answer else {
        panic!("expected a grant at once, got {outcome:?}");
    };
    let sent = merchant
        .sent_request(outcome.request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.status, RequestStatus::Granted { grant });
    assert_eq!(merchant.received().await.unwrap().len(), 1);
    for passport in [merchant, ada, boot] {
        passport.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_network_the_handle_works_on_the_store_and_keeps_messages_in_the_outbox() {
    let merchant = memory_node();
    let person = memory_node();
    name_ada(&person);
    // The request reaches the person's store directly, as if it came over the net.
    let bytes = merchant.request(person.id(), spec(), now()).unwrap();
    person.receive(&bytes, now()).unwrap();

    let (offline, mut events) = Passport::with_node(person.clone()).spawn().await.unwrap();
    assert!(offline.client().is_none());
    let request = offline.inbox().await.unwrap()[0].pending.request_id;
    let sending = offline.approve(request, Approval::default()).await.unwrap();
    assert!(matches!(
        sending.delivered().await,
        Err(PassportError::Offline)
    ));
    assert_eq!(
        person.outbox().unwrap().len(),
        1,
        "the grant waits in the outbox"
    );
    assert!(matches!(
        next_event(&mut events).await,
        AuditEvent::GrantIssued { .. }
    ));
    let needs_network = offline
        .request(merchant.id(), spec(), Duration::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(needs_network, PassportError::Offline));
    assert!(needs_network.to_string().contains("passport node"));
    offline.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_a_delivery_still_retrying_and_leaves_it_in_the_outbox() {
    // A merchant that sent a request and then went away for good.
    let (boot, _) = start(memory_node(), vec![]).await;
    let addr = dial_address(&boot).await;
    let merchant = memory_node();
    let ada = memory_node();
    name_ada(&ada);
    let (person, _) = start(ada, vec![addr]).await;
    let bytes = merchant.request(person.id(), spec(), now()).unwrap();
    person.node().receive(&bytes, now()).unwrap();
    let request = person.inbox().await.unwrap()[0].pending.request_id;
    let sending = person.approve(request, Approval::default()).await.unwrap();
    // The merchant is nowhere: the delivery retries.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(person.deliveries_in_flight(), 1);

    let started = std::time::Instant::now();
    person.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "shutdown waited for a delivery that retries for a day"
    );
    assert_eq!(person.deliveries_in_flight(), 0);
    assert!(matches!(
        sending.delivered().await,
        Err(PassportError::Net(NetError::Stopped))
    ));
    assert_eq!(
        person.node().outbox().unwrap().len(),
        1,
        "the undelivered grant stays for the next start"
    );
    boot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_beyond_the_bound_wait_in_the_outbox() {
    let (boot, _) = start(memory_node(), vec![]).await;
    let addr = dial_address(&boot).await;
    let ada = memory_node();
    name_ada(&ada);
    let (person, _) = Passport::with_node(ada)
        .network(loopback(vec![addr]))
        .max_deliveries(1)
        .spawn()
        .await
        .unwrap();
    // Two requests from merchants that are nowhere on the network.
    let mut requests = Vec::new();
    for _ in 0..2 {
        let merchant = memory_node();
        let bytes = merchant.request(person.id(), spec(), now()).unwrap();
        person.node().receive(&bytes, now()).unwrap();
    }
    for item in person.inbox().await.unwrap() {
        requests.push(item.pending.request_id);
    }
    let first = person
        .approve(requests[0], Approval::default())
        .await
        .unwrap();
    let second = person
        .approve(requests[1], Approval::default())
        .await
        .unwrap();
    assert!(matches!(
        second.delivered().await,
        Err(PassportError::Net(NetError::Busy))
    ));
    assert_eq!(person.deliveries_in_flight(), 1);
    assert_eq!(
        person.node().outbox().unwrap().len(),
        2,
        "both wait in the outbox"
    );
    person.shutdown().await;
    assert!(first.delivered().await.is_err());
    boot.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_does_not_name_itself_says_the_configured_merchant_name() {
    let (boot, _) = start(memory_node(), vec![]).await;
    let addr = dial_address(&boot).await;
    let (shop, _) = Passport::with_node(memory_node())
        .network(loopback(vec![addr.clone()]))
        .merchant_name(Some("Brand X".into()))
        .spawn()
        .await
        .unwrap();
    let (unnamed, _) = start(memory_node(), vec![addr.clone()]).await;
    let (ada, _) = start(memory_node(), vec![addr]).await;
    let record = find(&shop, ada.id()).await;
    let ask = |name: &str| RequestSpec::new(name, ["name.given".parse().unwrap()], "delivery", 60);
    for (merchant, name) in [(&shop, ""), (&shop, "Brand X Outlet"), (&unnamed, " ")] {
        let outcome = merchant
            .request_to_record(&record, ask(name), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(outcome.answer, RequestAnswer::Pending);
    }
    let mut names: Vec<_> = ada
        .inbox()
        .await
        .unwrap()
        .into_iter()
        .map(|item| item.request.requester_name)
        .collect();
    names.sort();
    assert_eq!(names, ["Brand X", "Brand X Outlet", "unnamed merchant"]);
    assert_eq!(
        unnamed.merchant_name(),
        passport_node::passport::UNNAMED_MERCHANT
    );
    for passport in [shop, unnamed, ada, boot] {
        passport.shutdown().await;
    }
}

#[tokio::test]
async fn a_home_s_config_names_the_merchant() {
    use passport_node::{Home, KdfParams, Unlock};
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    std::fs::write(home.config_path(), "[merchant]\nname = \"Brand X\"\n").unwrap();
    let (shop, _) = Passport::builder(home.clone()).spawn().await.unwrap();
    assert_eq!(shop.merchant_name(), "Brand X");
    shop.shutdown().await;
    drop(shop);
    // What the builder is told wins over the file.
    let (shop, _) = Passport::builder(home)
        .merchant_name(Some("Brand Y".into()))
        .spawn()
        .await
        .unwrap();
    assert_eq!(shop.merchant_name(), "Brand Y");
}
