//! Real libp2p nodes on loopback TCP: a merchant finds a person's node through the
//! DHT by passport id alone, and a request answered by a standing policy comes back
//! as a grant in the same exchange.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use libp2p::{Multiaddr, identity, multiaddr::Protocol};
use passport_node::{
    Keys, Node, NodeConfig, RequestSpec,
    consent::{Effect, FieldScope, Policy},
    net::{self, Client, NetConfig, NetError, Response},
    storage::MemoryStorage,
};
use passport_protocol::{FieldRequest, FieldValue, IdentityKey, PassportId, PeerRecord, Timestamp};

fn now() -> Timestamp {
    Timestamp::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

fn memory_node() -> Node {
    Node::with_storage(
        Keys::generate(),
        Arc::new(MemoryStorage::new()),
        NodeConfig::default(),
        None,
    )
    .unwrap()
}

fn loopback() -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        lookup_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        ..NetConfig::default()
    }
}

async fn start(node: Node, bootstrap: Vec<Multiaddr>) -> Client {
    let config = NetConfig {
        bootstrap,
        ..loopback()
    };
    let (client, event_loop) =
        net::new(node, identity::Keypair::generate_ed25519(), config).unwrap();
    tokio::spawn(event_loop.run());
    client
}

/// The first listen address with `/p2p/<peer>` appended, once the node listens.
async fn dial_address(client: &Client) -> Multiaddr {
    for _ in 0..100 {
        if let Some(addr) = client.listen_addrs().await.unwrap().into_iter().next() {
            return addr.with(Protocol::P2p(client.peer_id()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the node never started listening");
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

    let person_node = memory_node();
    person_node
        .set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text("Ada".into()),
            now(),
        )
        .unwrap();
    let merchant_node = memory_node();
    let policy = Policy {
        id: 0,
        effect: Effect::Allow,
        merchant: Some(merchant_node.id()),
        purpose: None,
        fields: FieldScope::any_normal(),
        max_duration_secs: None,
        created_at: now(),
    };
    person_node.add_policy(policy, now()).unwrap();

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

    let spec = RequestSpec {
        requester_name: "Brand X".into(),
        fields: vec![FieldRequest {
            name: "name.given".parse().unwrap(),
            required: true,
            reason: "parcel".into(),
        }],
        purpose: "delivery".into(),
        duration_secs: 86_400,
        retention_secs: 0,
        offer: None,
        reply_to: vec![],
    };
    let request = merchant_node
        .request(person_node.id(), spec, now())
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
