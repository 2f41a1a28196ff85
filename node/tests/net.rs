//! Real libp2p nodes on loopback TCP: a merchant finds a person's node through the
//! DHT by passport id alone, and a request answered by a standing policy comes back
//! as a grant in the same exchange.

#![allow(
    clippy::disallowed_methods,
    reason = "a test's deadlines are wall-clock time"
)]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use libp2p::{Multiaddr, identity, multiaddr::Protocol};
use passport_node::{
    Node, NodeConfig, RequestSpec,
    consent::Policy,
    net::{self, Client, NetConfig, NetError, Response},
};
use passport_protocol::{FieldValue, IdentityKey, PassportId, PeerRecord, Timestamp};

fn now() -> Timestamp {
    Timestamp::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn memory_node() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

fn loopback() -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        mdns: false,
        lookup_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        ..NetConfig::default()
    }
}

async fn start(node: Node, bootstrap: Vec<Multiaddr>) -> Client {
    start_with(
        node,
        NetConfig {
            bootstrap,
            ..loopback()
        },
    )
}

/// A running network for `node` with a fresh network key.
fn start_with(node: Node, config: NetConfig) -> Client {
    let (client, event_loop) =
        net::new(node, identity::Keypair::generate_ed25519(), config).unwrap();
    tokio::spawn(event_loop.run());
    client
}

/// Gives `node` the field `name.given` = "Ada".
fn name_ada(node: &Node) {
    node.set_field(
        "name.given".parse().unwrap(),
        FieldValue::Text("Ada".into()),
        now(),
    )
    .unwrap();
}

/// A person named Ada whose standing policy lets `merchant` have every normal field.
fn ada_trusting(merchant: &Node) -> Node {
    let person = memory_node();
    name_ada(&person);
    person
        .add_policy(Policy::allow_normal_fields(Some(merchant.id())), now())
        .unwrap();
    person
}

/// The first listen address with `/p2p/<peer>` appended, once the node listens.
async fn dial_address(client: &Client) -> Multiaddr {
    let Some(addr) = client.until_listening().await.unwrap().into_iter().next() else {
        panic!("the node never started listening");
    };
    addr.with(Protocol::P2p(client.peer_id()))
}

/// Publishes until it sticks (the bootstrap connection may still be opening).
async fn publish(client: &Client) {
    for _ in 0..50 {
        if client.publish().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not publish");
}

async fn lookup_eventually(client: &Client, id: PassportId) -> Result<PeerRecord, NetError> {
    let mut last = None;
    for _ in 0..30 {
        match client.lookup(id).await {
            Ok(record) => return Ok(record),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_finds_a_person_by_id_and_gets_a_grant_in_one_exchange() {
    let bootstrap = start(memory_node(), vec![]).await;
    let boot_addr = dial_address(&bootstrap).await;

    let merchant_node = memory_node();
    let person_node = ada_trusting(&merchant_node);

    let person = start(person_node.clone(), vec![boot_addr.clone()]).await;
    let merchant = start(merchant_node.clone(), vec![boot_addr]).await;
    dial_address(&person).await;
    publish(&person).await;

    // Found through the DHT by id alone, signature checked.
    let record = lookup_eventually(&merchant, person_node.id())
        .await
        .unwrap();
    assert_eq!(record.id, person_node.id());
    assert_eq!(record.seal_key, person_node.sealing_public_key());
    assert_eq!(
        libp2p::PeerId::from_bytes(&record.peers[0]).unwrap(),
        person.peer_id()
    );

    let request = merchant_node
        .request(person_node.id(), spec(&["name.given"]), now())
        .unwrap();
    let Response::Message(grant) = merchant.send_to(person_node.id(), request).await.unwrap()
    else {
        panic!("expected the grant in the same exchange");
    };
    merchant_node.receive(&grant, now()).unwrap();
    let grant_id = merchant_node.received().unwrap()[0].grant_id;
    let values = merchant_node.open_grant(&grant_id, now()).unwrap();
    assert_eq!(
        values[&"name.given".parse().unwrap()],
        FieldValue::Text("Ada".into())
    );

    // A garbled message gets a typed refusal and the person's node keeps serving.
    let Response::Refused(reason) = merchant
        .send_to(person_node.id(), vec![0xff; 10])
        .await
        .unwrap()
    else {
        panic!("expected a refusal");
    };
    assert!(
        reason.contains("not well-formed CBOR") || reason.contains("truncated"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_are_not_found_within_the_lookup_timeout() {
    let bootstrap = start(memory_node(), vec![]).await;
    let boot_addr = dial_address(&bootstrap).await;
    let merchant = start(memory_node(), vec![boot_addr]).await;
    let nobody = IdentityKey::generate(&mut rand::rng()).id();
    let started = std::time::Instant::now();
    let err = merchant.lookup(nobody).await.unwrap_err();
    assert!(
        matches!(err, NetError::NotFound(_) | NetError::Timeout(_)),
        "{err}"
    );
    assert!(
        started.elapsed() <= Duration::from_secs(11),
        "{:?}",
        started.elapsed()
    );
}

/// A node on the network: its core, its handle and its client, listening and
/// published.
struct Peer {
    node: Node,
    passport: passport_node::Passport,
    client: Client,
}

async fn peer(node: Node, boot: &Multiaddr, config: NetConfig) -> Peer {
    let config = NetConfig {
        bootstrap: vec![boot.clone()],
        ..config
    };
    let (passport, _events) = passport_node::Passport::with_node(node.clone())
        .network(config)
        .spawn()
        .await
        .unwrap();
    let client = passport.client().unwrap().clone();
    publish(&client).await;
    Peer {
        node,
        passport,
        client,
    }
}

fn spec(fields: &[&str]) -> RequestSpec {
    RequestSpec::new(
        "Brand X",
        fields.iter().map(|n| n.parse().unwrap()),
        "delivery",
        86_400,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_end_to_end_between_real_nodes() {
    use passport_node::{Approval, RequestStatus};
    let bootstrap = start(memory_node(), vec![]).await;
    let boot = dial_address(&bootstrap).await;
    let person = peer(memory_node(), &boot, loopback()).await;
    let merchant = peer(memory_node(), &boot, loopback()).await;
    for (name, value) in [
        ("name.given", "Ada"),
        ("address.home", "Lyon"),
        ("phone.mobile", "+33 6"),
    ] {
        person
            .node
            .set_field(name.parse().unwrap(), FieldValue::Text(value.into()), now())
            .unwrap();
    }

    // (b) The person must decide: the merchant is told "pending"; the person approves
    // later and the decision reaches the merchant's node over the network.
    let request = merchant
        .node
        .request(
            person.node.id(),
            spec(&["name.given", "address.home"]),
            now(),
        )
        .unwrap();
    let Response::Pending(request_id) = merchant
        .client
        .send_to(person.node.id(), request)
        .await
        .unwrap()
    else {
        panic!("expected pending");
    };
    let decision = person
        .node
        .approve(&request_id, Approval::default(), now())
        .unwrap();
    assert_eq!(
        person.passport.deliver(decision).delivered().await.unwrap(),
        Response::Accepted
    );
    // Delivered again (as a retry after a lost answer would be): not an error.
    let again = passport_node::Outgoing {
        to: merchant.node.id(),
        reply_to: vec![],
        bytes: person
            .node
            .audit_entries()
            .unwrap()
            .iter()
            .rev()
            .find_map(|e| {
                matches!(
                    e.event,
                    passport_node::audit::AuditEvent::GrantIssued { .. }
                )
                .then(|| e.message.clone().unwrap())
            })
            .unwrap(),
    };
    assert_eq!(
        person.passport.deliver(again).delivered().await.unwrap(),
        Response::AlreadyReceived
    );
    assert!(matches!(
        merchant
            .node
            .sent_request(&request_id)
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Granted { .. }
    ));
    let grant_id = merchant.node.received().unwrap()[0].grant_id;

    // (c) A refusal reaches the merchant the same way.
    let asked = merchant
        .node
        .request(person.node.id(), spec(&["phone.mobile"]), now())
        .unwrap();
    let Response::Pending(refused_id) = merchant
        .client
        .send_to(person.node.id(), asked)
        .await
        .unwrap()
    else {
        panic!("expected pending");
    };
    let refusal = person.node.deny(&refused_id, "no calls", now()).unwrap();
    person.passport.deliver(refusal).delivered().await.unwrap();
    assert!(matches!(
        merchant
            .node
            .sent_request(&refused_id)
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Refused { .. }
    ));

    // (e) A changed field is pushed to the holder of the live grant.
    for update in person
        .node
        .set_field(
            "address.home".parse().unwrap(),
            FieldValue::Text("Paris".into()),
            now(),
        )
        .unwrap()
    {
        person.passport.deliver(update).delivered().await.unwrap();
    }
    let values = merchant.node.open_grant(&grant_id, now()).unwrap();
    assert_eq!(
        values[&"address.home".parse().unwrap()],
        FieldValue::Text("Paris".into())
    );

    // (d) Fetch of current values under the live grant.
    person
        .node
        .set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text("Augusta".into()),
            now(),
        )
        .unwrap();
    let fetch = merchant.node.fetch(&grant_id, now()).unwrap();
    let Response::Message(update) = merchant
        .client
        .send_to(person.node.id(), fetch)
        .await
        .unwrap()
    else {
        panic!("expected an update");
    };
    merchant.node.receive(&update, now()).unwrap();
    assert_eq!(
        merchant.node.open_grant(&grant_id, now()).unwrap()[&"name.given".parse().unwrap()],
        FieldValue::Text("Augusta".into())
    );

    // (f) Revoke: the merchant erases and answers with a receipt the person verifies and logs.
    let revoke = person.node.revoke(&grant_id, now()).unwrap();
    let Response::Message(_) = person.passport.deliver(revoke).delivered().await.unwrap() else {
        panic!("expected a receipt");
    };
    assert!(
        person
            .node
            .grants()
            .unwrap()
            .iter()
            .any(|g| g.grant_id == grant_id && g.receipt.is_some())
    );
    assert!(merchant.node.open_grant(&grant_id, now()).is_err());
    // A fetch after revocation is refused by the person's node.
    let late = merchant.node.fetch(&grant_id, now());
    assert!(
        late.is_err(),
        "the merchant's own node refuses to fetch a revoked grant"
    );

    // (g) EraseRequest: everything the merchant holds about the person, with a receipt.
    let again = merchant
        .node
        .request(person.node.id(), spec(&["name.given"]), now())
        .unwrap();
    let Response::Pending(id) = merchant
        .client
        .send_to(person.node.id(), again)
        .await
        .unwrap()
    else {
        panic!()
    };
    let grant = person
        .node
        .approve(&id, Approval::default(), now())
        .unwrap();
    person.passport.deliver(grant).delivered().await.unwrap();
    let erase = person.node.erase(&merchant.node.id(), now()).unwrap();
    let Response::Message(_) = person.passport.deliver(erase).delivered().await.unwrap() else {
        panic!()
    };
    assert!(
        merchant
            .node
            .received()
            .unwrap()
            .iter()
            .all(|g| !g.can_open())
    );
    assert!(
        person
            .node
            .grants()
            .unwrap()
            .iter()
            .all(|g| g.receipt.is_some())
    );
    assert!(person.node.verify_audit().unwrap().is_intact());
    assert!(merchant.node.verify_audit().unwrap().is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_for_an_offline_merchant_is_retried_until_it_arrives() {
    use passport_node::{Approval, RequestStatus};
    let bootstrap = start(memory_node(), vec![]).await;
    let boot = dial_address(&bootstrap).await;
    let person = peer(
        memory_node(),
        &boot,
        NetConfig {
            retry_initial: Duration::from_millis(100),
            ..loopback()
        },
    )
    .await;
    name_ada(&person.node);
    let merchant_node = memory_node();
    // The merchant sends its request through a short-lived client, then goes offline.
    let request_id = {
        let merchant = peer(merchant_node.clone(), &boot, loopback()).await;
        let request = merchant_node
            .request(person.node.id(), spec(&["name.given"]), now())
            .unwrap();
        let Response::Pending(id) = merchant
            .client
            .send_to(person.node.id(), request)
            .await
            .unwrap()
        else {
            panic!()
        };
        id
    };
    let decision = person
        .node
        .approve(&request_id, Approval::default(), now())
        .unwrap();
    let delivering = {
        let passport = person.passport.clone();
        tokio::spawn(async move { passport.deliver(decision).delivered().await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Back online, with a new network identity and address.
    let _merchant = peer(merchant_node.clone(), &boot, loopback()).await;
    let result = tokio::time::timeout(Duration::from_secs(30), delivering)
        .await
        .unwrap()
        .unwrap();
    // Accepted, or AlreadyReceived when an earlier attempt landed but its answer was
    // lost under load: delivered either way, as the merchant's status shows.
    let delivered = result.unwrap();
    assert!(
        matches!(delivered, Response::Accepted | Response::AlreadyReceived),
        "{delivered:?}"
    );
    assert!(matches!(
        merchant_node
            .sent_request(&request_id)
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Granted { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_nodes_find_every_id_through_the_dht() {
    let bootstrap = start(memory_node(), vec![]).await;
    let boot = dial_address(&bootstrap).await;
    let mut peers = Vec::new();
    for _ in 0..20 {
        peers.push(peer(memory_node(), &boot, loopback()).await);
    }
    // Records published while the network was small sit on nodes that are no longer
    // the closest to their keys; a real node republishes on a timer, here at once.
    for p in &peers {
        publish(&p.client).await;
    }
    // Every node looks up three others (60 lookups), and one node looks up all.
    for (n, p) in peers.iter().enumerate() {
        for k in 1..=3 {
            let target = peers[(n + k * 7) % peers.len()].node.id();
            let record = lookup_eventually(&p.client, target).await.unwrap();
            assert_eq!(record.id, target);
        }
    }
    for p in &peers {
        assert_eq!(
            lookup_eventually(&peers[0].client, p.node.id())
                .await
                .unwrap()
                .id,
            p.node.id()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_is_throttled_while_others_are_served() {
    let bootstrap = start(memory_node(), vec![]).await;
    let boot = dial_address(&bootstrap).await;
    // A burst of 3 and no refill, so the count below is exact whatever the timing.
    let strict = NetConfig {
        peer_burst: 3,
        peer_rate_per_sec: 0,
        ..loopback()
    };
    let person = peer(memory_node(), &boot, strict).await;
    name_ada(&person.node);
    let flooder = peer(memory_node(), &boot, loopback()).await;
    let mut throttled = 0;
    for _ in 0..10 {
        let request = flooder
            .node
            .request(person.node.id(), spec(&["name.given"]), now())
            .unwrap();
        match flooder
            .client
            .send_to(person.node.id(), request)
            .await
            .unwrap()
        {
            Response::Busy => throttled += 1,
            Response::Pending(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(throttled, 7, "a burst of 3 lets 3 of 10 through");
    // A well-behaved merchant is still served at once.
    let polite = peer(memory_node(), &boot, loopback()).await;
    let request = polite
        .node
        .request(person.node.id(), spec(&["name.given"]), now())
        .unwrap();
    assert!(matches!(
        polite
            .client
            .send_to(person.node.id(), request)
            .await
            .unwrap(),
        Response::Pending(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_works_over_quic_alone() {
    let quic = || NetConfig {
        listen: vec!["/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()],
        ..loopback()
    };
    let boot_client = start_with(memory_node(), quic());
    let boot = dial_address(&boot_client).await;
    assert!(boot.to_string().contains("/quic-v1"), "{boot}");
    let person = peer(memory_node(), &boot, quic()).await;
    name_ada(&person.node);
    let merchant = peer(memory_node(), &boot, quic()).await;
    let record = lookup_eventually(&merchant.client, person.node.id())
        .await
        .unwrap();
    assert!(
        record.addresses.iter().all(|a| a.contains("/quic-v1")),
        "{:?}",
        record.addresses
    );
    let request = merchant
        .node
        .request(person.node.id(), spec(&["name.given"]), now())
        .unwrap();
    assert!(matches!(
        merchant
            .client
            .send_to(person.node.id(), request)
            .await
            .unwrap(),
        Response::Pending(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_republished_before_they_expire() {
    let bootstrap = start(memory_node(), vec![]).await;
    let boot = dial_address(&bootstrap).await;
    let short = NetConfig {
        record_lifetime: Duration::from_secs(4),
        ..loopback()
    };
    let person = peer(memory_node(), &boot, short).await;
    let merchant = peer(memory_node(), &boot, loopback()).await;
    let first = lookup_eventually(&merchant.client, person.node.id())
        .await
        .unwrap();
    // Past the first record's expiry, lookups still succeed, with a newer record.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let later = lookup_eventually(&merchant.client, person.node.id())
        .await
        .unwrap();
    assert!(
        later.sequence > first.sequence,
        "{} then {}",
        first.sequence,
        later.sequence
    );
    assert!(later.expires_at > first.expires_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_the_network_and_shutdown_is_graceful() {
    let bootstrap = start(memory_node(), vec![]).await;
    let boot = dial_address(&bootstrap).await;
    let person = peer(memory_node(), &boot, loopback()).await;
    name_ada(&person.node);
    let merchant = peer(memory_node(), &boot, loopback()).await;
    lookup_eventually(&merchant.client, person.node.id())
        .await
        .unwrap();
    let status = person.client.status().await.unwrap();
    assert_eq!(status.peer_id, person.client.peer_id());
    assert!(status.published);
    assert!(status.connected_peers >= 1, "{status:?}");
    assert!(status.routing_table_size >= 1, "{status:?}");
    assert!(!status.listen_addrs.is_empty());
    // The bootstrap node served the DHT: routing, the person's record, the lookup
    // (which the person's own node may have answered instead).
    let served = bootstrap.status().await.unwrap().dht_served;
    assert!(served.find_node >= 1, "{served:?}");
    assert!(served.put_record >= 1, "{served:?}");
    assert!(served.get_record + status.dht_served.get_record >= 1);

    // A request is answered, then the person's network stops cleanly.
    let request = merchant
        .node
        .request(person.node.id(), spec(&["name.given"]), now())
        .unwrap();
    assert!(matches!(
        merchant
            .client
            .send_to(person.node.id(), request)
            .await
            .unwrap(),
        Response::Pending(_)
    ));
    person.client.shutdown().await.unwrap();
    assert!(matches!(
        person.client.status().await,
        Err(NetError::Stopped)
    ));
    // The person's node kept what it acknowledged.
    assert_eq!(person.node.inbox().unwrap().len(), 1);
    // And the merchant now cannot reach it: a clear error, not a hang.
    let again = merchant
        .node
        .request(person.node.id(), spec(&["name.given"]), now())
        .unwrap();
    let err = merchant
        .client
        .send_to(person.node.id(), again)
        .await
        .unwrap_err();
    assert!(
        matches!(err, NetError::Unreachable(_) | NetError::Timeout(_)),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_record_pushed_into_the_dht_is_refused_by_every_honest_node() {
    use futures::StreamExt as _;
    use libp2p::{
        kad::{self, store::MemoryStore},
        noise, tcp, yamux,
    };

    let bootstrap = start(memory_node(), vec![]).await;
    let boot = dial_address(&bootstrap).await;
    let victim = peer(memory_node(), &boot, loopback()).await;
    let mut honest = vec![bootstrap.clone(), victim.client.clone()];
    for _ in 0..3 {
        honest.push(peer(memory_node(), &boot, loopback()).await.client);
    }
    let genuine = lookup_eventually(&honest[2], victim.node.id())
        .await
        .unwrap();

    // Mallory: a bare Kademlia node speaking Passport's DHT protocol, pushing her own
    // valid record under the victim's key to every honest node.
    let mallory_key = IdentityKey::generate(&mut rand::rng());
    let forged = PeerRecord {
        id: mallory_key.id(),
        sequence: u64::MAX,
        peers: vec![libp2p::PeerId::random().to_bytes()],
        addresses: vec!["/ip4/127.0.0.1/tcp/9".into()],
        seal_key: passport_protocol::SealingKey::generate(&mut rand::rng()).public_key(),
        mailboxes: Vec::new(),
        issued_at: now(),
        expires_at: now().plus_secs(3600),
    }
    .sign(&mallory_key)
    .unwrap();
    let mut mallory = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| {
            let id = key.public().to_peer_id();
            let mut kad = kad::Behaviour::with_config(
                id,
                MemoryStore::new(id),
                kad::Config::new(net::KAD_PROTOCOL),
            );
            kad.set_mode(Some(kad::Mode::Server));
            kad
        })
        .unwrap()
        .build();
    let mut targets = Vec::new();
    for client in &honest {
        let addr = dial_address(client).await;
        mallory
            .behaviour_mut()
            .add_address(&client.peer_id(), addr.clone());
        mallory.dial(addr).unwrap();
        targets.push(client.peer_id());
    }
    let record = kad::Record::new(PeerRecord::dht_key(&victim.node.id()), forged);
    let mut rejected_before = Vec::new();
    for client in &honest {
        rejected_before.push(client.status().await.unwrap().rejected_records);
    }
    mallory
        .behaviour_mut()
        .put_record_to(record, targets.into_iter(), kad::Quorum::All);
    // Drive Mallory until her PUT is answered (each honest node answers, then drops it).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::select! {
            event = mallory.select_next_some() => {
                if let libp2p::swarm::SwarmEvent::Behaviour(kad::Event::OutboundQueryProgressed {
                    result: kad::QueryResult::PutRecord(_), ..
                }) = event {
                    break;
                }
            }
            _ = tokio::time::sleep_until(deadline) => panic!("Mallory's PUT never completed"),
        }
    }
    for (client, before) in honest.iter().zip(rejected_before) {
        let after = client.status().await.unwrap().rejected_records;
        assert!(
            after > before,
            "node {} did not refuse the forged record",
            client.peer_id()
        );
    }
    // Lookups still return the victim's genuine record, from every node.
    for client in &honest {
        let found = lookup_eventually(client, victim.node.id()).await.unwrap();
        assert_eq!(found, genuine);
    }
}

/// Loopback settings under which AutoNAT probes quickly and trusts loopback peers.
fn probing(config: NetConfig) -> NetConfig {
    NetConfig {
        autonat_only_global: false,
        autonat_boot_delay: Duration::from_millis(500),
        autonat_retry_interval: Duration::from_secs(1),
        ..config
    }
}

async fn status_eventually(
    client: &Client,
    what: &str,
    ready: impl Fn(&net::Status) -> bool,
) -> net::Status {
    for _ in 0..300 {
        let status = client.status().await.unwrap();
        if ready(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: {:?}", client.status().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_behind_nat_is_found_and_reached_through_a_relay() {
    let relay = start_with(
        memory_node(),
        NetConfig {
            relay_server: true,
            ..probing(loopback())
        },
    );
    let relay_addr = dial_address(&relay).await;

    let merchant_node = memory_node();
    let person_node = ada_trusting(&merchant_node);

    // No listen address at all: nothing can dial the person directly, as behind a
    // NAT. Its outgoing connections come from ephemeral ports nobody can dial back.
    let person = start_with(
        person_node.clone(),
        NetConfig {
            listen: vec![],
            bootstrap: vec![relay_addr.clone()],
            relays: vec![relay_addr.clone()],
            ..probing(loopback())
        },
    );
    // AutoNAT finds the person private; it reserves a slot on the relay.
    let status = status_eventually(&person, "the person never got a relay address", |s| {
        s.reachability == net::Reachability::Private && !s.relay_addrs.is_empty()
    })
    .await;
    assert!(
        status.relay_addrs[0]
            .to_string()
            .starts_with(&relay_addr.to_string())
    );
    publish(&person).await;

    // The merchant joins afterwards, so it holds no connection the person opened.
    let merchant = start_with(
        merchant_node.clone(),
        NetConfig {
            bootstrap: vec![relay_addr.clone()],
            ..probing(loopback())
        },
    );

    // The merchant finds only relayed addresses in the record, and still gets the grant.
    let record = lookup_eventually(&merchant, person_node.id())
        .await
        .unwrap();
    assert!(!record.addresses.is_empty());
    assert!(
        record.addresses.iter().all(|a| a.contains("/p2p-circuit")),
        "{:?}",
        record.addresses
    );
    let request = merchant_node
        .request(person_node.id(), spec(&["name.given"]), now())
        .unwrap();
    let response = merchant.send_to_record(&record, request).await.unwrap();
    let Response::Message(grant) = response else {
        panic!("expected a grant, got {response:?}");
    };
    merchant_node.receive(&grant, now()).unwrap();
    let received = merchant_node.received().unwrap();
    let opened = merchant_node
        .open_grant(&received[0].grant_id, now())
        .unwrap();
    assert_eq!(
        opened.get(&"name.given".parse().unwrap()),
        Some(&FieldValue::Text("Ada".into()))
    );

    // The exchange went over a relayed connection, on which DCUtR tried a direct one
    // (it runs on relayed connections only). Here the punch cannot succeed: the
    // merchant cannot dial the person's ephemeral ports, and the person's dial to the
    // merchant, made in the "listener" role that TCP simultaneous open would need,
    // meets a plain listener. It is counted, and the relay keeps carrying messages.
    let status = status_eventually(&person, "no hole punch was attempted", |s| {
        s.hole_punch_attempts > 0
    })
    .await;
    assert!(status.hole_punch_successes <= status.hole_punch_attempts);
    let again = merchant_node
        .request(person_node.id(), spec(&["name.given"]), now())
        .unwrap();
    let response = merchant.send_to_record(&record, again).await.unwrap();
    assert!(matches!(response, Response::Message(_)), "{response:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_left_undelivered_at_shutdown_is_sent_after_a_restart() {
    use passport_node::{Approval, Home, KdfParams, Passport, RequestStatus, Unlock};
    let bootstrap = start(memory_node(), vec![]).await;
    let boot = dial_address(&bootstrap).await;
    let merchant_node = memory_node();
    let merchant = peer(merchant_node.clone(), &boot, loopback()).await;

    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    // The store's lock is released once the last task of the stopped daemon drops
    // its handle on the node.
    let open = || async {
        for _ in 0..100 {
            if let Ok(node) = Node::open(&home, &Unlock::KeyFile, NodeConfig::default()) {
                return node;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the store stayed locked");
    };
    // The person's node, from the same home each run.
    let start_person = || async {
        let (person, _events) = Passport::with_node(open().await)
            .network(NetConfig {
                bootstrap: vec![boot.clone()],
                ..loopback()
            })
            .sweep_every(Duration::from_secs(3600))
            .spawn()
            .await
            .unwrap();
        person
    };

    // First run: a request arrives, the person approves, and the node stops before
    // the decision could be delivered.
    let request_id = {
        let person = start_person().await;
        name_ada(person.node());
        let record = lookup_eventually(&merchant.client, person.node().id())
            .await
            .unwrap();
        let request = merchant_node
            .request(person.node().id(), spec(&["name.given"]), now())
            .unwrap();
        let Response::Pending(id) = merchant
            .client
            .send_to_record(&record, request)
            .await
            .unwrap()
        else {
            panic!("expected pending")
        };
        person
            .node()
            .approve(&id, Approval::default(), now())
            .unwrap();
        assert_eq!(person.node().outbox().unwrap().len(), 1);
        person.shutdown().await;
        id
    };
    assert!(
        merchant_node
            .sent_request(&request_id)
            .unwrap()
            .unwrap()
            .status
            .is_open(),
        "not answered yet"
    );

    // Second run, from the same home: the decision goes out and leaves the outbox.
    let person = start_person().await;
    for _ in 0..300 {
        let granted = matches!(
            merchant_node
                .sent_request(&request_id)
                .unwrap()
                .unwrap()
                .status,
            RequestStatus::Granted { .. }
        );
        if granted && person.node().outbox().unwrap().is_empty() {
            person.shutdown().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the decision was not delivered after the restart");
}
