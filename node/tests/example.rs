//! The embedding example (`node/examples/merchant.rs`) runs against a real person's
//! node on loopback and gets its grant, telling the events as they come.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use libp2p::multiaddr::Protocol;
use passport_node::{
    Node, NodeConfig, Passport, RequestAnswer, RequestStatus, consent::Policy, net::NetConfig,
};
use passport_protocol::FieldValue;

#[path = "../examples/merchant.rs"]
#[allow(dead_code, unreachable_pub)]
mod merchant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merchant_example_asks_a_person_and_tells_the_outcome_and_events() {
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        mdns: false,
        ..NetConfig::default()
    };
    let person = Node::in_memory(NodeConfig::default()).unwrap();
    let now = passport_node::node::system_now();
    for (name, value) in [("name.given", "Ada"), ("address.home", "12 Rue des Lilas")] {
        person
            .set_field(name.parse().unwrap(), FieldValue::Text(value.into()), now)
            .unwrap();
    }
    person
        .add_policy(Policy::allow_normal_fields(None), now)
        .unwrap();
    let (ada, _events) = Passport::with_node(person)
        .network(config)
        .spawn()
        .await
        .unwrap();
    let client = ada.client().unwrap();
    let addr = client.until_listening().await.unwrap().remove(0);
    let bootstrap = addr.with(Protocol::P2p(client.peer_id())).to_string();

    let lines = Arc::new(Mutex::new(Vec::new()));
    let said = lines.clone();
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        merchant::run(&ada.id().to_string(), &bootstrap, move |line| {
            said.lock().unwrap().push(line)
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(
        answer,
        RequestAnswer::Decided(RequestStatus::Granted { .. })
    ));
    let lines = lines.lock().unwrap().join("\n");
    assert!(lines.contains("granted: grant"), "{lines}");
    assert!(lines.contains("address.home, name.given"), "{lines}");
    assert!(lines.contains("event #0: Request sent to"), "{lines}");
    assert!(lines.contains("event #1: Grant received from"), "{lines}");
    ada.shutdown().await;
}
