//! Helpers shared by the node's integration tests: real nodes on loopback.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use libp2p::{Multiaddr, multiaddr::Protocol};
use passport_node::{Home, KdfParams, Node, NodeConfig, Passport, Unlock, net::NetConfig};

/// A network on loopback TCP joining through `bootstrap`, without mDNS, with
/// lookups and requests given 10 s.
pub(crate) fn loopback(bootstrap: Vec<Multiaddr>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        mdns: false,
        bootstrap,
        lookup_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        ..NetConfig::default()
    }
}

/// Where to dial a running passport: its first listen address with its PeerId.
pub(crate) async fn dial_address(passport: &Passport) -> Multiaddr {
    let client = passport.client().unwrap();
    let addr = client.until_listening().await.unwrap().remove(0);
    addr.with(Protocol::P2p(client.peer_id()))
}

/// A node over a sled store in `dir`, the passport made there on first use.
pub(crate) fn sled_node(dir: &Path) -> Node {
    let home = Home::new(dir);
    if !home.exists() {
        home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
            .unwrap();
    }
    Node::open(&home, &Unlock::KeyFile, NodeConfig::default()).unwrap()
}

/// Every file under `dir`, at any depth.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Waits until `from` finds `id`'s record in the DHT (a node publishes it in the
/// background once it starts).
pub(crate) async fn until_found(from: &Passport, id: passport_protocol::PassportId) {
    for _ in 0..50 {
        if from.client().unwrap().lookup(id).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{id}'s record never showed in the DHT");
}
