//! What more than one netsim test binary uses.

use libp2p::{
    Multiaddr, PeerId,
    kad::{self, store::MemoryStore},
};

/// A Kademlia behaviour offered `peers` random peers: its routing table keeps
/// up to k of them per bucket.
pub(crate) fn kad_table_of(peers: usize) -> kad::Behaviour<MemoryStore> {
    let local = PeerId::random();
    let mut kad = kad::Behaviour::new(local, MemoryStore::new(local));
    let addr: Multiaddr = "/ip4/10.0.0.1/tcp/4001".parse().unwrap();
    for _ in 0..peers {
        kad.add_address(&PeerId::random(), addr.clone());
    }
    kad
}
