//! The peer-to-peer network: a libp2p swarm (TCP + Noise + Yamux and QUIC; identify;
//! ping; mDNS; connection limits; AutoNAT, circuit relay v2 and DCUtR for nodes behind
//! NAT;
//! Kademlia under Passport's own protocol name, with every record validated before it
//! is stored; request-response carrying signed messages), embedded the rust-libp2p
//! way: a cloneable [`Client`] sends commands over a bounded channel to an
//! [`EventLoop`] that owns the swarm.
//!
//! A passport is found by its id: its node publishes a signed [`PeerRecord`] under
//! `/passport/<id>`; a merchant looks it up, checks the signature, and sends its
//! request to the PeerId and addresses the record names.
//!
//! Behind NAT: AutoNAT asks connected peers to dial this node back. When they cannot
//! (the node is *private*), it reserves a slot on each configured relay, listens on
//! the relayed (`/p2p-circuit`) addresses and republishes its record with them;
//! merchants then reach it through the relay, and DCUtR tries to upgrade such a
//! relayed connection to a direct one (hole punching).

mod codec;
mod limit;

use std::{collections::HashMap, num::NonZeroUsize, time::Duration};

use futures::StreamExt as _;
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, autonat, connection_limits,
    core::{muxing::StreamMuxerBox, transport::ListenerId},
    dcutr, identify, identity,
    kad::{self, store::MemoryStore},
    mdns,
    multiaddr::Protocol,
    noise, ping, relay,
    request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel},
    swarm::{NetworkBehaviour, SwarmEvent, behaviour::toggle::Toggle},
    tcp, yamux,
};
use passport_protocol::{
    PassportId, PeerRecord, ProtocolError, limits::MAX_RECORD_BYTES, verify_record,
};
use tokio::sync::{mpsc, oneshot};

pub use self::codec::{Codec, MAX_FRAME_BYTES, PROTOCOL, Response};
use crate::{
    error::NodeError,
    metrics::Metrics,
    node::{Node, Outgoing, Reply},
};

/// Kademlia protocol name: Passport's own DHT, apart from IPFS's.
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/passport/kad/1");

/// Network settings. Every field says its default.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Addresses to listen on. Default: `/ip4/0.0.0.0/tcp/0` and
    /// `/ip4/0.0.0.0/udp/0/quic-v1` (every interface, free ports, TCP and QUIC).
    pub listen: Vec<Multiaddr>,
    /// Find other Passport nodes on the local network with mDNS. Default on.
    pub mdns: bool,
    /// Peers to join the DHT through, each ending in `/p2p/<PeerId>`. Default: none.
    pub bootstrap: Vec<Multiaddr>,
    /// How long to wait for an answer to a message. Default 30 s.
    pub request_timeout: Duration,
    /// How long a DHT lookup may take before "not found". Default 20 s.
    pub lookup_timeout: Duration,
    /// How long a published record stays valid. Default 24 h; once published, the
    /// node republishes a fresh record every half of this, and whenever its listen
    /// addresses change.
    pub record_lifetime: Duration,
    /// How often a published record is republished. Default: half of
    /// [`NetConfig::record_lifetime`] (`None`).
    pub republish_interval: Option<Duration>,
    /// Kademlia's bucket size *k*: peers kept per bucket, and how many closest peers
    /// a lookup converges on. Default 20.
    pub kad_k: NonZeroUsize,
    /// Kademlia's *alpha*: requests a lookup keeps in flight. Default 3.
    pub kad_alpha: NonZeroUsize,
    /// Peers a record is stored on. Default 20.
    pub kad_replication: NonZeroUsize,
    /// How often Kademlia refreshes the routing table with a bootstrap (a lookup of
    /// this node's own id, then one per bucket); `None` only when the table is
    /// short of peers. Default 5 minutes, as libp2p's.
    pub kad_bootstrap_interval: Option<Duration>,
    /// Reservations a relay holds at once (with [`NetConfig::relay_server`]).
    /// Default 128, as libp2p's.
    pub relay_max_reservations: usize,
    /// Circuits a relay carries at once. Default 16, as libp2p's.
    pub relay_max_circuits: usize,
    /// How long an idle connection is kept. Default 60 s (libp2p's own is 10 s).
    pub idle_connection_timeout: Duration,
    /// How often each connection is pinged (round-trip time, liveness). Default 60 s
    /// (libp2p's own is 15 s): pings on every connection were most of what 100
    /// idle nodes cost, and a phone or a merchant with thousands of connections
    /// should not wake for them every 15 s.
    pub ping_interval: Duration,
    /// Capacity of the command channel from clients. Default 64.
    pub command_capacity: usize,
    /// First wait before retrying an undelivered message. Default 1 s; doubles.
    pub retry_initial: Duration,
    /// Longest wait between retries. Default 60 s.
    pub retry_max: Duration,
    /// Messages one peer may send in a burst. Default 20.
    pub peer_burst: u32,
    /// Messages per second one peer may send on average. Default 10.
    pub peer_rate_per_sec: u32,
    /// Inbound messages being handled at once; more are refused as busy. Default 64.
    pub max_inbound_in_flight: usize,
    /// Established connections in total. Default 512.
    pub max_connections: u32,
    /// Established connections with one peer. Default 4.
    pub max_connections_per_peer: u32,
    /// Relays to reserve a slot on when AutoNAT finds this node unreachable, each
    /// ending in `/p2p/<PeerId>`. Default: none.
    pub relays: Vec<Multiaddr>,
    /// Serve as a circuit relay v2 for nodes behind NAT. Default off. A relay must be
    /// publicly reachable: its listen addresses are announced as external.
    pub relay_server: bool,
    /// AutoNAT only trusts and probes public IP addresses. Default on; turn it off
    /// on a private network (or in tests on loopback).
    pub autonat_only_global: bool,
    /// Wait before the first AutoNAT probe. Default 15 s.
    pub autonat_boot_delay: Duration,
    /// Wait between AutoNAT probes until the answer is confident. Default 90 s.
    pub autonat_retry_interval: Duration,
}

impl NetConfig {
    /// The settings of a `[network]` config section over the defaults. A listen or
    /// bootstrap address that is not a multiaddr is an error naming it.
    pub fn from_settings(settings: &crate::node::NetworkSettings) -> Result<Self, NetError> {
        let parse = |what: &str, text: &String| {
            text.parse::<Multiaddr>().map_err(|e| {
                NetError::Setup(format!(
                    "{what} address {text:?} in config.toml is not a multiaddr: {e}"
                ))
            })
        };
        Ok(Self {
            listen: settings
                .listen
                .iter()
                .map(|a| parse("listen", a))
                .collect::<Result<_, _>>()?,
            bootstrap: settings
                .bootstrap
                .iter()
                .map(|a| parse("bootstrap", a))
                .collect::<Result<_, _>>()?,
            relays: settings
                .relays
                .iter()
                .map(|a| parse("relay", a))
                .collect::<Result<_, _>>()?,
            relay_server: settings.relay_server,
            mdns: settings.mdns,
            ..Self::default()
        })
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect(),
            mdns: true,
            bootstrap: Vec::new(),
            request_timeout: Duration::from_secs(30),
            lookup_timeout: Duration::from_secs(20),
            record_lifetime: Duration::from_secs(24 * 3600),
            republish_interval: None,
            kad_k: NonZeroUsize::new(20).unwrap_or(NonZeroUsize::MIN),
            kad_alpha: NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN),
            kad_replication: NonZeroUsize::new(20).unwrap_or(NonZeroUsize::MIN),
            kad_bootstrap_interval: Some(Duration::from_secs(5 * 60)),
            relay_max_reservations: 128,
            relay_max_circuits: 16,
            idle_connection_timeout: Duration::from_secs(60),
            ping_interval: Duration::from_secs(60),
            command_capacity: 64,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            peer_burst: 20,
            peer_rate_per_sec: 10,
            max_inbound_in_flight: 64,
            max_connections: 512,
            max_connections_per_peer: 4,
            relays: Vec::new(),
            relay_server: false,
            autonat_only_global: true,
            autonat_boot_delay: Duration::from_secs(15),
            autonat_retry_interval: Duration::from_secs(90),
        }
    }
}

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// No valid record for this id was found in time.
    #[error("no node found for {0}: the id may be wrong, or its node has not been online recently")]
    NotFound(PassportId),
    /// The operation took longer than allowed.
    #[error("timed out after {0:?}; the other node may be offline or unreachable")]
    Timeout(Duration),
    /// The message could not be delivered or answered.
    #[error("could not reach the other node: {0}")]
    Unreachable(String),
    /// The other node refused the message.
    #[error("the other node refused the message: {0}")]
    Refused(String),
    /// The other node is busy or rate-limits this one; retry later.
    #[error(
        "the other node is busy or limiting how fast this node may send; retry in a few seconds"
    )]
    Busy,
    /// The network task has stopped.
    #[error("the network has stopped; restart the node")]
    Stopped,
    /// Setting up the network failed.
    #[error("could not start the network: {0}")]
    Setup(String),
    /// A message or record was refused by the protocol rules.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// This node could not act on an answer; the node's own error says why.
    #[error("this node could not act on the answer: {0}")]
    Node(#[source] NodeError),
    /// A task doing this node's share of the work (storing an answer, say) ended
    /// before it finished, most likely because the node is shutting down.
    #[error("this node stopped before it finished with the answer: {0}")]
    Interrupted(String),
}

/// The combined libp2p behaviour of a Passport node.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    limits: connection_limits::Behaviour,
    kad: kad::Behaviour<MemoryStore>,
    messages: request_response::Behaviour<Codec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
    autonat: autonat::Behaviour,
    relay_client: relay::client::Behaviour,
    relay_server: Toggle<relay::Behaviour>,
    dcutr: dcutr::Behaviour,
}

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
    fn count(&mut self, request: &kad::InboundRequest) {
        let counter = match request {
            kad::InboundRequest::FindNode { .. } => &mut self.find_node,
            kad::InboundRequest::GetRecord { .. } => &mut self.get_record,
            kad::InboundRequest::PutRecord { .. } => &mut self.put_record,
            _ => &mut self.other,
        };
        *counter += 1;
    }
}

enum Command {
    Status {
        reply: oneshot::Sender<Status>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    Publish {
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    Lookup {
        id: PassportId,
        reply: oneshot::Sender<(Result<PeerRecord, NetError>, LookupTrace)>,
    },
    RoutingView {
        id: PassportId,
        reply: oneshot::Sender<RoutingView>,
    },
    Send {
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Response, NetError>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    Peers {
        reply: oneshot::Sender<Vec<(PeerId, Vec<Multiaddr>)>>,
    },
}

/// What a DHT lookup cost, from Kademlia's own count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LookupTrace {
    /// Requests sent to peers.
    pub requests: u32,
    /// Of those, the ones answered.
    pub successes: u32,
    /// Of those, the ones that failed (unreachable peer, timeout).
    pub failures: u32,
}

/// One node's local view of a key; see [`Client::routing_view`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingView {
    /// The closest peers to the key in its routing table, closest first, as many as
    /// it would answer a request with.
    pub closest: Vec<PeerId>,
    /// Whether its record store holds a valid record for the key.
    pub holds_record: bool,
}

/// A handle on a running network. Cheap to clone; every call is a bounded command to
/// the event loop.
#[derive(Clone, Debug)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    config: NetConfig,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Status { .. } => "Status",
            Command::Shutdown { .. } => "Shutdown",
            Command::Publish { .. } => "Publish",
            Command::Lookup { .. } => "Lookup",
            Command::RoutingView { .. } => "RoutingView",
            Command::Send { .. } => "Send",
            Command::ListenAddrs { .. } => "ListenAddrs",
            Command::Peers { .. } => "Peers",
        })
    }
}

use crate::node::system_now as now;

impl Client {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// This node's network identity.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Publishes this passport's signed record in the DHT.
    pub async fn publish(&self) -> Result<(), NetError> {
        self.call(|reply| Command::Publish { reply }).await?
    }

    /// Finds `id`'s node through the DHT; the record is verified before it is returned.
    pub async fn lookup(&self, id: PassportId) -> Result<PeerRecord, NetError> {
        self.lookup_traced(id).await.0
    }

    /// [`Client::lookup`], with what the lookup cost: for simulations and
    /// diagnostics.
    pub async fn lookup_traced(
        &self,
        id: PassportId,
    ) -> (Result<PeerRecord, NetError>, LookupTrace) {
        let limit = self.config.lookup_timeout;
        match tokio::time::timeout(limit, self.call(|reply| Command::Lookup { id, reply })).await {
            Ok(Ok((result, trace))) => (result, trace),
            Ok(Err(e)) => (Err(e), LookupTrace::default()),
            Err(_) => (Err(NetError::Timeout(limit)), LookupTrace::default()),
        }
    }

    /// What this node's routing table and record store say about `id`: the peers it
    /// would answer a lookup for `id` with, and whether it holds a valid record for
    /// it. For simulators that replay a lookup's path; no network traffic.
    pub async fn routing_view(&self, id: PassportId) -> Result<RoutingView, NetError> {
        self.call(|reply| Command::RoutingView { id, reply }).await
    }

    /// Finds `id`'s node and sends it a signed message; returns its answer.
    pub async fn send_to(&self, id: PassportId, bytes: Vec<u8>) -> Result<Response, NetError> {
        let record = self.lookup(id).await?;
        self.send_to_record(&record, bytes).await
    }

    /// Sends a signed message to the node a (verified) record names, without a new
    /// lookup: for a sender that looked the record up recently.
    pub async fn send_to_record(
        &self,
        record: &PeerRecord,
        bytes: Vec<u8>,
    ) -> Result<Response, NetError> {
        let peer = record
            .peers
            .iter()
            .find_map(|p| PeerId::from_bytes(p).ok())
            .ok_or_else(|| NetError::Unreachable("the record names no valid PeerId".into()))?;
        let addresses = record
            .addresses
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        let limit = self.config.request_timeout + Duration::from_secs(5);
        tokio::time::timeout(
            limit,
            self.call(|reply| Command::Send {
                peer,
                addresses,
                bytes,
                reply,
            }),
        )
        .await
        .map_err(|_| NetError::Timeout(limit))??
    }

    /// Delivers a message this node made (a decision, an update, a revocation, an
    /// erase request, a receipt) and feeds any signed message in the answer (a
    /// receipt, say) back into `node`. Returns the answer.
    pub async fn deliver(&self, node: &Node, outgoing: Outgoing) -> Result<Response, NetError> {
        let response = self.send_to(outgoing.to, outgoing.bytes).await?;
        match &response {
            Response::Message(bytes) => {
                let (node, bytes) = (node.clone(), bytes.clone());
                tokio::task::spawn_blocking(move || node.receive(&bytes, now()))
                    .await
                    .map_err(|e| NetError::Interrupted(e.to_string()))??;
            }
            Response::Refused(reason) => return Err(NetError::Refused(reason.clone())),
            Response::Busy => return Err(NetError::Busy),
            Response::Pending(_) | Response::Accepted | Response::AlreadyReceived => {}
        }
        Ok(response)
    }

    /// [`Client::deliver`], retried with exponential backoff (from
    /// [`NetConfig::retry_initial`] up to [`NetConfig::retry_max`]) while the other node
    /// is unreachable, until the message itself expires. A refusal is final.
    pub async fn deliver_with_retry(
        &self,
        node: &Node,
        outgoing: Outgoing,
    ) -> Result<Response, NetError> {
        let expires_at = passport_protocol::decode_trusted(&outgoing.bytes)?
            .claims
            .expires_at;
        let mut wait = self.config.retry_initial;
        loop {
            match self.deliver(node, outgoing.clone()).await {
                Err(
                    NetError::NotFound(_)
                    | NetError::Timeout(_)
                    | NetError::Unreachable(_)
                    | NetError::Busy,
                ) if now() < expires_at => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.config.retry_max);
                }
                other => return other,
            }
        }
    }

    /// [`Client::deliver_with_retry`], then takes the message out of `node`'s durable
    /// outbox once the outcome is final: delivered, refused, or expired. If the
    /// network stops first, the message stays in the outbox for the next start.
    pub async fn deliver_durably(
        &self,
        node: &Node,
        outgoing: Outgoing,
    ) -> Result<Response, NetError> {
        let result = self.deliver_with_retry(node, outgoing.clone()).await;
        if matches!(result, Err(NetError::Stopped)) {
            return result;
        }
        let (settling, at) = (node.clone(), now());
        let settled = tokio::task::spawn_blocking(move || settling.outbox_done(&outgoing, at))
            .await
            .map_err(|e| NetError::Interrupted(e.to_string()))?;
        if let Err(e) = settled {
            tracing::warn!(error = %e, "could not take a delivered message out of the outbox");
        }
        result
    }

    /// Delivers, in the background, everything `node`'s outbox holds: messages made
    /// before the node last stopped.
    pub async fn resume_outbox(&self, node: &Node) -> Result<usize, NetError> {
        let reading = node.clone();
        let pending = tokio::task::spawn_blocking(move || reading.outbox())
            .await
            .map_err(|e| NetError::Interrupted(e.to_string()))??;
        let count = pending.len();
        for out in pending {
            self.spawn_delivery(node, out);
        }
        Ok(count)
    }

    /// [`Client::deliver_durably`] on its own task; failures are logged.
    pub fn spawn_delivery(&self, node: &Node, outgoing: Outgoing) {
        let (client, node) = (self.clone(), node.clone());
        tokio::spawn(async move {
            let to = outgoing.to;
            if let Err(e) = client.deliver_durably(&node, outgoing).await {
                tracing::warn!(%to, error = %e, "a message could not be delivered");
            }
        });
    }

    /// The network's state now.
    pub async fn status(&self) -> Result<Status, NetError> {
        self.call(|reply| Command::Status { reply }).await
    }

    /// Stops the network gracefully: no new messages are taken, those being handled
    /// finish (their writes are durable) and are answered, then the event loop ends.
    pub async fn shutdown(&self) -> Result<(), NetError> {
        self.call(|reply| Command::Shutdown { reply }).await
    }

    /// The addresses this node listens on.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.call(|reply| Command::ListenAddrs { reply }).await
    }

    /// The addresses this node listens on, once it listens on any (its listeners
    /// open just after the event loop starts). Gives up after 5 s, and at once for a
    /// node configured with no listen address.
    pub async fn until_listening(&self) -> Result<Vec<Multiaddr>, NetError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let addrs = self.listen_addrs().await?;
            if !addrs.is_empty()
                || self.config.listen.is_empty()
                || tokio::time::Instant::now() >= deadline
            {
                return Ok(addrs);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The peers connected now, each with the addresses of its connections.
    pub async fn peers(&self) -> Result<Vec<(PeerId, Vec<Multiaddr>)>, NetError> {
        self.call(|reply| Command::Peers { reply }).await
    }
}

type LookupAnswer = (Result<PeerRecord, NetError>, LookupTrace);

/// Valid records a lookup gathers before it answers with the newest of them (or
/// fewer, if the query ends first). A node that moved (a new relay, say) stores its
/// new record on the peers closest to its key *then*; peers that held the old one
/// keep it until it expires, so the first record found can be stale.
const LOOKUP_RECORDS: usize = 3;

/// A lookup under way.
struct Lookup {
    id: PassportId,
    reply: oneshot::Sender<LookupAnswer>,
    /// The newest valid record found so far.
    newest: Option<PeerRecord>,
    /// Valid records found so far.
    found: usize,
}

impl Lookup {
    fn new(id: PassportId, reply: oneshot::Sender<LookupAnswer>) -> Self {
        Self {
            id,
            reply,
            newest: None,
            found: 0,
        }
    }

    /// Keeps `record` if it is newer than any found so far; true once enough
    /// records are gathered to answer.
    fn offer(&mut self, record: PeerRecord) -> bool {
        self.found += 1;
        if self
            .newest
            .as_ref()
            .is_none_or(|newest| record.sequence > newest.sequence)
        {
            self.newest = Some(record);
        }
        self.found >= LOOKUP_RECORDS
    }
}

impl From<&kad::QueryStats> for LookupTrace {
    fn from(stats: &kad::QueryStats) -> Self {
        Self {
            requests: stats.num_requests(),
            successes: stats.num_successes(),
            failures: stats.num_failures(),
        }
    }
}

/// Owns the swarm; run it with [`EventLoop::run`] (e.g. in `tokio::spawn`).
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    node: Node,
    config: NetConfig,
    commands: mpsc::Receiver<Command>,
    answers_tx: mpsc::Sender<(ResponseChannel<Response>, Response)>,
    answers: mpsc::Receiver<(ResponseChannel<Response>, Response)>,
    lookups: HashMap<kad::QueryId, Lookup>,
    publishes: HashMap<kad::QueryId, oneshot::Sender<Result<(), NetError>>>,
    requests: HashMap<OutboundRequestId, oneshot::Sender<Result<Response, NetError>>>,
    /// Records refused by validation, for metrics and tests.
    rejected_records: u64,
    /// Kademlia requests answered, for metrics and the simulator.
    dht_served: DhtServed,
    /// Per-peer token buckets for inbound messages.
    rate: limit::RateLimiter<PeerId>,
    /// Bounds the inbound messages being handled at once.
    in_flight: std::sync::Arc<tokio::sync::Semaphore>,
    /// Messages refused for rate or load, for metrics and tests.
    throttled: u64,
    /// Counters for `/metrics`.
    metrics: Metrics,
    /// Whether this node has published its record (then it republishes whenever its
    /// addresses change).
    published: bool,
    /// As AutoNAT last found.
    reachability: Reachability,
    /// Relay listeners, by relay, while this node is private.
    relay_listeners: HashMap<PeerId, ListenerId>,
    hole_punch_attempts: u64,
    hole_punch_successes: u64,
    /// Open connections by peer, with their remote addresses (bounded by the
    /// connection limits).
    connections: HashMap<PeerId, HashMap<libp2p::swarm::ConnectionId, Multiaddr>>,
    /// When to republish after an address change.
    moved: Moved,
}

/// How long address changes are gathered before the record is republished.
const REPUBLISH_SETTLE: Duration = Duration::from_secs(2);

/// When to republish after the node's addresses change. Changes come in bursts (a
/// new listen address, then its confirmation, then a relay's), so a burst shares
/// one publication instead of each change storing the record on 20 peers.
#[derive(Debug, Default)]
struct Moved {
    due: Option<tokio::time::Instant>,
}

impl Moved {
    /// An address changed at `now`: publish once the burst it belongs to is over.
    fn address_changed(&mut self, now: tokio::time::Instant) {
        self.due.get_or_insert(now + REPUBLISH_SETTLE);
    }

    /// A record went out, naming the addresses as they are now.
    fn published(&mut self) {
        self.due = None;
    }

    /// When the pending republication is due, if one is.
    fn due(&self) -> Option<tokio::time::Instant> {
        self.due
    }
}

/// Builds the swarm for `node` with the network key `keypair`, starts listening and
/// dials the bootstrap peers. Returns the client and the event loop to run.
pub fn new(
    node: Node,
    keypair: identity::Keypair,
    config: NetConfig,
) -> Result<(Client, EventLoop), NetError> {
    with_metrics(node, keypair, config, Metrics::default())
}

/// A transport that yields authenticated, multiplexed connections, as
/// [`with_transport`] takes.
pub type BoxedTransport = libp2p::core::transport::Boxed<(PeerId, StreamMuxerBox)>;

/// [`new`], counting into `metrics` (shared with the HTTP API's `/metrics`).
pub fn with_metrics(
    node: Node,
    keypair: identity::Keypair,
    config: NetConfig,
    metrics: Metrics,
) -> Result<(Client, EventLoop), NetError> {
    let transport = tcp_and_quic(&keypair)?;
    with_transport(node, keypair, config, metrics, transport)
}

/// Production's transport: TCP with Noise and Yamux, or QUIC, as libp2p's
/// `SwarmBuilder::with_tcp(..).with_quic()` makes it.
pub fn tcp_and_quic(keypair: &identity::Keypair) -> Result<BoxedTransport, NetError> {
    use libp2p::{Transport as _, core::upgrade::Version, quic};
    let noise = noise::Config::new(keypair).map_err(|e| NetError::Setup(e.to_string()))?;
    Ok(
        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .upgrade(Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .or_transport(
                quic::tokio::Transport::new(quic::Config::new(keypair))
                    .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer))),
            )
            .map(|either, _| either.into_inner())
            .boxed(),
    )
}

/// [`with_metrics`] over any transport: production passes TCP and QUIC, the
/// simulator its in-memory network. Everything above the transport (the
/// behaviours, the relay client, the event loop) is this one code path.
pub fn with_transport(
    node: Node,
    keypair: identity::Keypair,
    config: NetConfig,
    metrics: Metrics,
    transport: BoxedTransport,
) -> Result<(Client, EventLoop), NetError> {
    let setup = |e: &dyn std::fmt::Display| NetError::Setup(e.to_string());
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_other_transport(|_| transport)
        .map_err(|e| setup(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| setup(&e))?
        .with_behaviour(|key, relay_client| behaviour(key, relay_client, &config))
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_connection_timeout))
        .build();
    start(swarm, node, config, metrics)
}

fn behaviour(
    key: &identity::Keypair,
    relay_client: relay::client::Behaviour,
    config: &NetConfig,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let local = key.public().to_peer_id();
    let mdns = if config.mdns {
        Some(mdns::tokio::Behaviour::new(mdns::Config::default(), local)?)
    } else {
        None
    };
    let mut kad_config = kad::Config::new(KAD_PROTOCOL);
    kad_config
        .set_record_filtering(kad::StoreInserts::FilterBoth)
        .set_max_packet_size(4 * MAX_RECORD_BYTES)
        .set_record_ttl(Some(config.record_lifetime))
        // This node republishes fresh, re-signed records itself.
        .set_publication_interval(None)
        .set_query_timeout(config.lookup_timeout)
        .set_kbucket_size(config.kad_k)
        .set_parallelism(config.kad_alpha)
        .set_replication_factor(config.kad_replication)
        .set_periodic_bootstrap_interval(config.kad_bootstrap_interval);
    let store = MemoryStore::with_config(
        local,
        kad::store::MemoryStoreConfig {
            max_records: 16 * 1024,
            max_value_bytes: MAX_RECORD_BYTES,
            ..Default::default()
        },
    );
    let mut kad = kad::Behaviour::with_config(local, store, kad_config);
    // Serve the DHT unless AutoNAT finds this node private: nodes on a LAN or
    // loopback have no confirmed public address, yet can serve each other.
    kad.set_mode(Some(kad::Mode::Server));
    let autonat = autonat::Behaviour::new(
        local,
        autonat::Config {
            boot_delay: config.autonat_boot_delay,
            retry_interval: config.autonat_retry_interval,
            only_global_ips: config.autonat_only_global,
            ..Default::default()
        },
    );
    let relay_server = config.relay_server.then(|| {
        relay::Behaviour::new(
            local,
            relay::Config {
                max_reservations: config.relay_max_reservations,
                max_circuits: config.relay_max_circuits,
                ..relay::Config::default()
            },
        )
    });
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(config.max_connections))
        .with_max_established_per_peer(Some(config.max_connections_per_peer))
        .with_max_pending_incoming(Some(config.max_connections / 4 + 1));
    Ok(Behaviour {
        limits: connection_limits::Behaviour::new(limits),
        kad,
        messages: request_response::Behaviour::with_codec(
            Codec,
            [(PROTOCOL, ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(config.request_timeout),
        ),
        identify: identify::Behaviour::new(identify::Config::new(
            "/passport/id/1".into(),
            key.public(),
        )),
        ping: ping::Behaviour::new(ping::Config::new().with_interval(config.ping_interval)),
        mdns: Toggle::from(mdns),
        autonat,
        relay_client,
        relay_server: Toggle::from(relay_server),
        dcutr: dcutr::Behaviour::new(local),
    })
}

/// Listens, dials the bootstrap peers and makes the client and event loop.
fn start(
    mut swarm: Swarm<Behaviour>,
    node: Node,
    config: NetConfig,
    metrics: Metrics,
) -> Result<(Client, EventLoop), NetError> {
    let peer_id = *swarm.local_peer_id();
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Setup(format!("listen on {addr}: {e}")))?;
    }
    for addr in &config.relays {
        if !matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
            return Err(NetError::Setup(format!(
                "relay address {addr} does not end in /p2p/<PeerId>"
            )));
        }
    }
    for addr in &config.bootstrap {
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            return Err(NetError::Setup(format!(
                "bootstrap address {addr} does not end in /p2p/<PeerId>"
            )));
        };
        swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        swarm
            .dial(addr.clone())
            .map_err(|e| NetError::Setup(format!("dial {addr}: {e}")))?;
    }
    let (commands_tx, commands) = mpsc::channel(config.command_capacity);
    let (answers_tx, answers) = mpsc::channel(config.command_capacity);
    let client = Client {
        commands: commands_tx,
        peer_id,
        config: config.clone(),
    };
    let rate = limit::RateLimiter::new(config.peer_burst, config.peer_rate_per_sec, 4096);
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(config.max_inbound_in_flight));
    let event_loop = EventLoop {
        swarm,
        node,
        config,
        commands,
        answers_tx,
        answers,
        lookups: HashMap::new(),
        publishes: HashMap::new(),
        requests: HashMap::new(),
        rejected_records: 0,
        dht_served: DhtServed::default(),
        rate,
        in_flight,
        throttled: 0,
        metrics,
        published: false,
        reachability: Reachability::Unknown,
        relay_listeners: HashMap::new(),
        hole_punch_attempts: 0,
        hole_punch_successes: 0,
        connections: HashMap::new(),
        moved: Moved::default(),
    };
    Ok((client, event_loop))
}

impl EventLoop {
    /// Runs until every client is dropped.
    pub async fn run(mut self) {
        let half_life = self
            .config
            .republish_interval
            .unwrap_or(self.config.record_lifetime / 2)
            .max(std::time::Duration::from_secs(1));
        let mut republish =
            tokio::time::interval_at(tokio::time::Instant::now() + half_life, half_life);
        republish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A lost relay reservation is tried again at this pace.
        let mut relay_check = tokio::time::interval(Duration::from_secs(30));
        relay_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = relay_check.tick(), if self.reachability == Reachability::Private => {
                    self.reserve_relays();
                }
                _ = tokio::time::sleep_until(
                    self.moved.due().unwrap_or_else(tokio::time::Instant::now)
                ), if self.moved.due().is_some() => self.republish(),
                _ = republish.tick(), if self.published => self.republish(),
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        self.drain().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(command) => self.on_command(command),
                    None => return self.drain().await,
                },
                Some((channel, response)) = self.answers.recv() => {
                    // The requester may have gone away meanwhile; nothing to do then.
                    let _ = self.swarm.behaviour_mut().messages.send_response(channel, response);
                }
            }
        }
    }

    /// Waits for every inbound message being handled to finish and sends its answer.
    async fn drain(&mut self) {
        let all = u32::try_from(self.config.max_inbound_in_flight).unwrap_or(u32::MAX);
        // Refuse new work while waiting: the permits are ours once acquired.
        let in_flight = self.in_flight.clone();
        let wait = in_flight.acquire_many_owned(all);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                Some((channel, response)) = self.answers.recv() => {
                    let _ = self.swarm.behaviour_mut().messages.send_response(channel, response);
                }
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
            }
        }
        // Answers queued after the last permit came back.
        while let Ok((channel, response)) = self.answers.try_recv() {
            let _ = self
                .swarm
                .behaviour_mut()
                .messages
                .send_response(channel, response);
        }
    }

    fn my_record(&mut self) -> Result<Vec<u8>, NetError> {
        let now = now();
        let mut addresses: Vec<String> = Vec::new();
        for addr in self
            .swarm
            .external_addresses()
            .chain(self.swarm.listeners())
            .filter(|a| {
                !a.iter()
                    .any(|p| matches!(p, Protocol::Ip4(ip) if ip.is_unspecified()))
            })
        {
            let addr = addr.to_string();
            if !addresses.contains(&addr)
                && addresses.len() < passport_protocol::limits::MAX_RECORD_ADDRESSES
            {
                addresses.push(addr);
            }
        }
        let record = PeerRecord {
            id: self.node.id(),
            // Seconds since the epoch: grows across restarts without stored state.
            sequence: now.as_secs(),
            peers: vec![self.swarm.local_peer_id().to_bytes()],
            addresses,
            seal_key: self.node.sealing_public_key(),
            issued_at: now,
            expires_at: now.plus_secs(self.config.record_lifetime.as_secs()),
        };
        Ok(self.node.sign_record(&record)?)
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { reply } => {
                tracing::debug!("publishing this node's record");
                self.moved.published();
                self.published = true;
                let result = self.my_record().and_then(|bytes| {
                    let record = kad::Record::new(PeerRecord::dht_key(&self.node.id()), bytes);
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .put_record(record, kad::Quorum::One)
                        .map_err(|e| NetError::Unreachable(format!("{e:?}")))
                });
                match result {
                    Ok(query) => {
                        self.publishes.insert(query, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Lookup { id, reply } => {
                let query = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .get_record(PeerRecord::dht_key(&id).into());
                self.lookups.insert(query, Lookup::new(id, reply));
            }
            Command::RoutingView { id, reply } => {
                use kad::store::RecordStore as _;
                let key = PeerRecord::dht_key(&id);
                let kad = &mut self.swarm.behaviour_mut().kad;
                let holds_record = kad
                    .store_mut()
                    .get(&kad::RecordKey::new(&key))
                    .is_some_and(|held| verify_record(&held.value, &id, now()).is_ok());
                let target = kad::KBucketKey::new(key);
                let closest = kad
                    .get_closest_local_peers(&target)
                    .take(self.config.kad_k.get())
                    .map(|k| *k.preimage())
                    .collect();
                let _ = reply.send(RoutingView {
                    closest,
                    holds_record,
                });
            }
            Command::Send {
                peer,
                addresses,
                bytes,
                reply,
            } => {
                let request = self
                    .swarm
                    .behaviour_mut()
                    .messages
                    .send_request_with_addresses(&peer, bytes, addresses);
                self.requests.insert(request, reply);
            }
            Command::Status { reply } => {
                let kad = &mut self.swarm.behaviour_mut().kad;
                let routing_table_size = kad.kbuckets().map(|b| b.num_entries()).sum();
                let _ = reply.send(Status {
                    peer_id: *self.swarm.local_peer_id(),
                    listen_addrs: self.swarm.listeners().cloned().collect(),
                    external_addrs: self.swarm.external_addresses().cloned().collect(),
                    connected_peers: self.swarm.connected_peers().count(),
                    routing_table_size,
                    reachability: self.reachability,
                    relay_addrs: self
                        .swarm
                        .listeners()
                        .filter(|a| is_relayed(a))
                        .cloned()
                        .collect(),
                    hole_punch_attempts: self.hole_punch_attempts,
                    hole_punch_successes: self.hole_punch_successes,
                    published: self.published,
                    rejected_records: self.rejected_records,
                    throttled: self.throttled,
                    dht_served: self.dht_served,
                });
            }
            // Handled in `run`, where the loop can end.
            Command::Shutdown { reply } => {
                let _ = reply.send(());
            }
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::Peers { reply } => {
                let _ = reply.send(
                    self.connections
                        .iter()
                        .map(|(p, a)| (*p, a.values().cloned().collect()))
                        .collect(),
                );
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                self.connections
                    .entry(peer_id)
                    .or_default()
                    .insert(connection_id, endpoint.get_remote_address().clone());
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                ..
            } => {
                if let Some(open) = self.connections.get_mut(&peer_id) {
                    open.remove(&connection_id);
                    if open.is_empty() {
                        self.connections.remove(&peer_id);
                    }
                }
            }
            // Kademlia only learns addresses of peers it dialled; feed it the listen
            // addresses of every peer that serves the DHT.
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) if info.protocols.contains(&KAD_PROTOCOL) => {
                for addr in info.listen_addrs {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(autonat::Event::StatusChanged {
                new,
                ..
            })) => self.on_reachability(new),
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(
                relay::client::Event::ReservationReqAccepted { relay_peer_id, .. },
            )) => {
                tracing::info!(relay = %relay_peer_id, "reserved a slot on a relay");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            })) => {
                self.hole_punch_attempts += 1;
                match result {
                    Ok(_) => {
                        self.hole_punch_successes += 1;
                        tracing::info!(peer = %remote_peer_id, "hole punch gave a direct connection");
                    }
                    Err(e) => {
                        tracing::debug!(peer = %remote_peer_id, error = %e, "hole punch failed")
                    }
                }
            }
            SwarmEvent::ListenerClosed { listener_id, .. } => {
                // A lost relay reservation; `relay_check` tries again.
                self.relay_listeners.retain(|_, id| *id != listener_id);
                self.republish_if_published();
            }
            SwarmEvent::NewListenAddr { address, .. } if self.config.relay_server => {
                // A relay is public by configuration; relay v2 serves reservations
                // only on confirmed external addresses, so confirm its own.
                if !is_relayed(&address) {
                    self.swarm.add_external_address(address);
                }
                self.republish_if_published();
            }
            SwarmEvent::NewListenAddr { .. }
            | SwarmEvent::ExpiredListenAddr { .. }
            | SwarmEvent::ExternalAddrConfirmed { .. }
            | SwarmEvent::ExternalAddrExpired { .. } => {
                tracing::debug!(?event, "addresses changed");
                self.republish_if_published()
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, addr) in found {
                    self.swarm.behaviour_mut().kad.add_address(&peer, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::RelayServer(event)) => {
                tracing::debug!(?event, "relay server");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => self.on_kad_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Messages(event)) => self.on_message_event(event),
            _ => {}
        }
    }

    /// Publishes a fresh record, with no one waiting for the outcome.
    fn republish(&mut self) {
        let (reply, _) = oneshot::channel();
        self.on_command(Command::Publish { reply });
    }

    /// The record must name where the node is now: republish once the burst of
    /// address changes is over.
    fn republish_if_published(&mut self) {
        if self.published {
            self.moved.address_changed(tokio::time::Instant::now());
        }
    }

    fn on_reachability(&mut self, status: autonat::NatStatus) {
        self.reachability = match status {
            autonat::NatStatus::Public(_) => Reachability::Public,
            autonat::NatStatus::Private => Reachability::Private,
            autonat::NatStatus::Unknown => Reachability::Unknown,
        };
        tracing::info!(
            reachability = self.reachability.name(),
            "reachability changed"
        );
        // A private node cannot serve the DHT: peers could not dial it back.
        let mode = match self.reachability {
            Reachability::Private => kad::Mode::Client,
            _ => kad::Mode::Server,
        };
        self.swarm.behaviour_mut().kad.set_mode(Some(mode));
        match self.reachability {
            Reachability::Private => self.reserve_relays(),
            Reachability::Public => {
                // Reachable directly: the relays' slots are for others.
                for (_, listener) in self.relay_listeners.drain() {
                    self.swarm.remove_listener(listener);
                }
            }
            Reachability::Unknown => {}
        }
    }

    /// Listens through every configured relay not yet holding a reservation for us.
    fn reserve_relays(&mut self) {
        for relay in self.config.relays.clone() {
            let Some(Protocol::P2p(relay_peer)) = relay.iter().last() else {
                continue;
            };
            if self.relay_listeners.contains_key(&relay_peer) {
                continue;
            }
            match self
                .swarm
                .listen_on(relay.clone().with(Protocol::P2pCircuit))
            {
                Ok(listener) => {
                    self.relay_listeners.insert(relay_peer, listener);
                }
                Err(e) => tracing::warn!(%relay, error = %e, "could not listen through a relay"),
            }
        }
    }

    fn on_kad_event(&mut self, event: kad::Event) {
        if let kad::Event::InboundRequest { request } = &event {
            self.dht_served.count(request);
        }
        match event {
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::PutRecord {
                        record: Some(record),
                        source,
                        ..
                    },
            } => {
                if let Err(e) = accept_record(self.swarm.behaviour_mut().kad.store_mut(), record) {
                    self.rejected_records += 1;
                    tracing::debug!(%source, reason = e.reason(), "refused a DHT record");
                }
            }
            kad::Event::OutboundQueryProgressed {
                id, result, stats, ..
            } => match result {
                kad::QueryResult::GetRecord(Ok(kad::GetRecordOk::FoundRecord(found))) => {
                    let Some(lookup) = self.lookups.get_mut(&id) else {
                        return;
                    };
                    match verify_record(&found.record.value, &lookup.id, now()) {
                        Ok(record) => {
                            if lookup.offer(record) {
                                self.answer_lookup(id, stats);
                                if let Some(mut query) =
                                    self.swarm.behaviour_mut().kad.query_mut(&id)
                                {
                                    query.finish();
                                }
                            }
                        }
                        Err(e) => {
                            self.rejected_records += 1;
                            tracing::debug!(
                                reason = e.reason(),
                                "ignored an invalid record in a lookup"
                            );
                        }
                    }
                }
                // The query ended: answer with what it found, if anything.
                kad::QueryResult::GetRecord(_) => self.answer_lookup(id, stats),
                kad::QueryResult::PutRecord(result) => {
                    if let Some(reply) = self.publishes.remove(&id) {
                        // Stored locally even when no other peer took it yet.
                        let _ = reply.send(result.map(|_| ()).or_else(|e| match e {
                            kad::PutRecordError::QuorumFailed { .. } => Ok(()),
                            other => Err(NetError::Unreachable(format!("{other:?}"))),
                        }));
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Answers a lookup with the newest valid record it found, or "not found".
    fn answer_lookup(&mut self, query: kad::QueryId, stats: kad::QueryStats) {
        if let Some(lookup) = self.lookups.remove(&query) {
            let answer = lookup.newest.ok_or(NetError::NotFound(lookup.id));
            let _ = lookup.reply.send((answer, (&stats).into()));
        }
    }

    fn on_message_event(&mut self, event: request_response::Event<Vec<u8>, Response>) {
        match event {
            request_response::Event::Message { message, peer, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    // Local checks before any work: the peer's rate, then our load.
                    let permit = if self.rate.allow(&peer, std::time::Instant::now()) {
                        self.in_flight.clone().try_acquire_owned().ok()
                    } else {
                        None
                    };
                    let Some(permit) = permit else {
                        self.throttled += 1;
                        self.metrics.message("unknown", "busy");
                        let refusal = Response::Busy;
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .messages
                            .send_response(channel, refusal);
                        return;
                    };
                    // The node's work may wait on disk: off the swarm's task.
                    let node = self.node.clone();
                    let answers = self.answers_tx.clone();
                    let metrics = self.metrics.clone();
                    tokio::task::spawn_blocking(move || {
                        let verified = passport_protocol::verify_offline(&request);
                        let kind = verified
                            .as_ref()
                            .map_or("invalid", |m| m.body.kind().name());
                        let handled = verified
                            .map_err(NodeError::from)
                            .and_then(|message| node.receive_verified(message, &request, now()));
                        let response = match handled {
                            Ok(Reply::Message(bytes)) => Response::Message(bytes),
                            Ok(Reply::Pending(id)) => Response::Pending(id),
                            Ok(Reply::Nothing) => Response::Accepted,
                            // Idempotent delivery: a retry of something already done.
                            Err(NodeError::Protocol(ProtocolError::Replayed { .. })) => {
                                Response::AlreadyReceived
                            }
                            Err(e) => {
                                metrics.rejection(match &e {
                                    NodeError::Protocol(p) => p.reason(),
                                    _ => "node",
                                });
                                tracing::debug!(%peer, error = %e, "refused a message");
                                Response::Refused(e.to_string())
                            }
                        };
                        let result = match &response {
                            Response::Message(_) => "message",
                            Response::Pending(_) => "pending",
                            Response::Accepted => "accepted",
                            Response::Refused(_) => "refused",
                            Response::Busy => "busy",
                            Response::AlreadyReceived => "already_received",
                        };
                        metrics.message(kind, result);
                        drop(permit);
                        let _ = answers.blocking_send((channel, response));
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.requests.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.requests.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Unreachable(error.to_string())));
                }
            }
            _ => {}
        }
    }
}

/// Whether `addr` goes through a relay.
fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| p == Protocol::P2pCircuit)
}

/// Stores an inbound DHT record only if it is a valid Passport record for the id its
/// key names and is not older (by sequence) than the one already held.
fn accept_record(store: &mut MemoryStore, record: kad::Record) -> Result<(), ProtocolError> {
    use kad::store::RecordStore as _;
    let id = std::str::from_utf8(record.key.as_ref())
        .ok()
        .and_then(|k| k.strip_prefix("/passport/"))
        .and_then(|id| id.parse::<PassportId>().ok())
        .ok_or_else(|| ProtocolError::MalformedPayload {
            detail: "record key is not /passport/<id>".into(),
        })?;
    let now = now();
    let incoming = verify_record(&record.value, &id, now)?;
    // A held record that no longer verifies (expired) may be replaced by anything valid.
    let held_sequence = store
        .get(&record.key)
        .and_then(|held| verify_record(&held.value, &id, now).ok())
        .map(|held| held.sequence);
    if held_sequence.is_some_and(|held| held > incoming.sequence) {
        return Err(ProtocolError::MalformedPayload {
            detail: "stale record sequence".into(),
        });
    }
    store
        .put(record)
        .map_err(|_| ProtocolError::MalformedPayload {
            detail: "record store full".into(),
        })
}

impl From<NodeError> for NetError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::Protocol(p) => NetError::Protocol(p),
            other => NetError::Node(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use kad::store::RecordStore as _;
    use passport_protocol::{IdentityKey, SealingKey};

    use super::*;

    fn signed(key: &IdentityKey, id: PassportId, sequence: u64) -> Vec<u8> {
        PeerRecord {
            id,
            sequence,
            peers: vec![PeerId::random().to_bytes()],
            addresses: vec!["/ip4/127.0.0.1/tcp/4001".into()],
            seal_key: SealingKey::derive(&[1; 32]).public_key(),
            issued_at: now(),
            expires_at: now().plus_secs(3600),
        }
        .sign(key)
        .unwrap()
    }

    fn record(sequence: u64) -> PeerRecord {
        let key = IdentityKey::from_secret_bytes(&[1; 32]);
        verify_record(&signed(&key, key.id(), sequence), &key.id(), now()).unwrap()
    }

    #[test]
    fn a_node_error_stays_typed_inside_a_net_error() {
        use std::error::Error as _;
        let e = NetError::from(NodeError::InboxFull("for this merchant"));
        assert!(matches!(&e, NetError::Node(NodeError::InboxFull(_))), "{e}");
        assert!(
            e.source()
                .is_some_and(|s| s.to_string().starts_with("inbox full"))
        );
        // Protocol refusals keep their own variant, with its stable reason.
        let replayed = ProtocolError::Replayed {
            id: passport_protocol::MessageId::from_bytes([7; 16]),
        };
        assert!(matches!(
            NetError::from(NodeError::Protocol(replayed)),
            NetError::Protocol(ProtocolError::Replayed { .. })
        ));
    }

    #[test]
    fn a_lookup_answers_with_the_newest_of_the_records_it_gathers() {
        let (reply, _) = oneshot::channel();
        let mut lookup = Lookup::new(IdentityKey::from_secret_bytes(&[1; 32]).id(), reply);
        // A holder that missed the last publication answers first.
        assert!(!lookup.offer(record(10)));
        assert!(!lookup.offer(record(12)));
        assert!(lookup.offer(record(11)));
        assert_eq!(lookup.newest.map(|r| r.sequence), Some(12));
        assert_eq!(LOOKUP_RECORDS, 3);
    }

    #[test]
    fn a_burst_of_address_changes_shares_one_republication() {
        let start = tokio::time::Instant::now();
        let mut moved = Moved::default();
        assert_eq!(moved.due(), None);
        // A listen address, its confirmation and a relay's, within two seconds:
        // one publication, due two seconds after the first change.
        for offset_ms in [0, 300, 1_900] {
            moved.address_changed(start + Duration::from_millis(offset_ms));
        }
        assert_eq!(moved.due(), Some(start + REPUBLISH_SETTLE));
        moved.published();
        assert_eq!(moved.due(), None);
        // A later change starts a new burst.
        let later = start + Duration::from_secs(10);
        moved.address_changed(later);
        assert_eq!(moved.due(), Some(later + REPUBLISH_SETTLE));
    }

    #[test]
    fn the_dht_filter_stores_genuine_records_and_refuses_forged_stale_or_junk_ones() {
        let mut store = MemoryStore::new(PeerId::random());
        let victim = IdentityKey::from_secret_bytes(&[1; 32]);
        let mallory = IdentityKey::from_secret_bytes(&[2; 32]);
        let key = kad::RecordKey::new(&PeerRecord::dht_key(&victim.id()));

        let genuine = kad::Record::new(key.clone(), signed(&victim, victim.id(), 10));
        accept_record(&mut store, genuine.clone()).unwrap();
        assert_eq!(store.get(&key).unwrap().value, genuine.value);

        // Mallory's own valid record, stored under the victim's key.
        let forged = kad::Record::new(key.clone(), signed(&mallory, mallory.id(), u64::MAX));
        assert!(matches!(
            accept_record(&mut store, forged),
            Err(ProtocolError::RecordForOtherId { .. })
        ));
        // An older record of the victim's does not replace the newer one.
        let stale = kad::Record::new(key.clone(), signed(&victim, victim.id(), 9));
        assert!(accept_record(&mut store, stale).is_err());
        // Junk, and keys that are not Passport ids.
        assert!(accept_record(&mut store, kad::Record::new(key.clone(), vec![0xff; 40])).is_err());
        let odd = kad::Record::new(
            kad::RecordKey::new(&b"/other/key".to_vec()),
            genuine.value.clone(),
        );
        assert!(accept_record(&mut store, odd).is_err());
        assert_eq!(store.get(&key).unwrap().value, genuine.value);
        // A newer genuine record replaces it.
        let newer = kad::Record::new(key.clone(), signed(&victim, victim.id(), 11));
        accept_record(&mut store, newer.clone()).unwrap();
        assert_eq!(store.get(&key).unwrap().value, newer.value);
    }
}
