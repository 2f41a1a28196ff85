//! [`Status`]: a snapshot of the network's state, with [`Reachability`] and
//! [`DhtServed`]. Its running counts are read from the node's [`Metrics`], where the
//! event loop counts them.

use libp2p::{Multiaddr, PeerId, kad};

use crate::metrics::{DhtRequest, Metrics, NetGauges};

/// Whether other nodes can dial this one directly, as AutoNAT last found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reachability {
    /// Not probed yet, or no peer could tell.
    Unknown,
    /// Peers dialled this node back on a public address.
    Public,
    /// Peers could not dial this node back: it is reached through relays.
    Private,
}

impl Reachability {
    /// Lowercase name, as the API and CLI show it.
    pub fn name(self) -> &'static str {
        match self {
            Reachability::Unknown => "unknown",
            Reachability::Public => "public",
            Reachability::Private => "private",
        }
    }
}

/// A snapshot of the network's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// This node's network identity.
    pub peer_id: PeerId,
    /// Addresses it listens on.
    pub listen_addrs: Vec<Multiaddr>,
    /// Addresses others observed and confirmed for it.
    pub external_addrs: Vec<Multiaddr>,
    /// Peers it is connected to now.
    pub connected_peers: usize,
    /// Peers in its Kademlia routing table.
    pub routing_table_size: usize,
    /// Whether peers can dial it directly (AutoNAT).
    pub reachability: Reachability,
    /// Its relayed (`/p2p-circuit`) addresses, on relays holding a reservation for it.
    pub relay_addrs: Vec<Multiaddr>,
    /// DCUtR hole punches tried since start (as either side).
    pub hole_punch_attempts: u64,
    /// Of those, the ones that gave a direct connection.
    pub hole_punch_successes: u64,
    /// Whether it has published its record.
    pub published: bool,
    /// DHT records refused by validation since start.
    pub rejected_records: u64,
    /// Inbound messages answered `Busy` (rate or load) since start.
    pub throttled: u64,
    /// Kademlia requests this node answered since start, by kind.
    pub dht_served: DhtServed,
}

/// Kademlia requests a node answered, by kind: what serving the DHT costs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DhtServed {
    /// Requests for the peers closest to a key (routing, bootstraps, the first
    /// steps of every lookup).
    pub find_node: u64,
    /// Requests for a record.
    pub get_record: u64,
    /// Records offered for storage.
    pub put_record: u64,
    /// Anything else (provider records, which Passport does not use).
    pub other: u64,
}

impl DhtServed {
    /// The counts `metrics` holds.
    pub(super) fn read(metrics: &Metrics) -> Self {
        Self {
            find_node: metrics.dht_requests(DhtRequest::FindNode),
            get_record: metrics.dht_requests(DhtRequest::GetRecord),
            put_record: metrics.dht_requests(DhtRequest::PutRecord),
            other: metrics.dht_requests(DhtRequest::Other),
        }
    }

    /// The kind `request` is counted as.
    pub(super) fn kind_of(request: &kad::InboundRequest) -> DhtRequest {
        match request {
            kad::InboundRequest::FindNode { .. } => DhtRequest::FindNode,
            kad::InboundRequest::GetRecord { .. } => DhtRequest::GetRecord,
            kad::InboundRequest::PutRecord { .. } => DhtRequest::PutRecord,
            _ => DhtRequest::Other,
        }
    }
}

/// What `/metrics` reads from a status at each scrape.
impl From<&Status> for NetGauges {
    fn from(status: &Status) -> Self {
        Self {
            connected_peers: status.connected_peers,
            routing_table_size: status.routing_table_size,
        }
    }
}
