//! [`Client`]: the cloneable handle on a running network, and the [`Command`]s it
//! sends the event loop.

use std::{sync::Arc, time::Duration};

use libp2p::{Multiaddr, PeerId};
use passport_protocol::{PassportId, PeerRecord};
use tokio::sync::{Notify, mpsc, oneshot};

use super::{
    codec::Response,
    config::NetConfig,
    device::{DeviceJob, DeviceRequest, DeviceResponse},
    error::NetError,
    lookup::{LookupTrace, RoutingView},
    mailbox::{MailboxRequest, MailboxResponse},
    status::Status,
};

/// What a [`Client`] asks of the event loop; each carries the `oneshot` to answer on.
pub(super) enum Command {
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
    Mailbox {
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: MailboxRequest,
        reply: oneshot::Sender<Result<MailboxResponse, NetError>>,
    },
    Device {
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: DeviceRequest,
        reply: oneshot::Sender<Result<DeviceResponse, NetError>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    Peers {
        reply: oneshot::Sender<Vec<(PeerId, Vec<Multiaddr>)>>,
    },
}

/// A handle on a running network. Cheap to clone; every call is a bounded command to
/// the event loop.
#[derive(Clone, Debug)]
pub struct Client {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
    config: NetConfig,
    /// Woken when the node connects to a peer after having none.
    reconnected: Arc<Notify>,
    /// The device requests the event loop admits, until the handle takes them.
    device_jobs: Arc<std::sync::Mutex<Option<mpsc::Receiver<DeviceJob>>>>,
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
            Command::Mailbox { .. } => "Mailbox",
            Command::Device { .. } => "Device",
            Command::ListenAddrs { .. } => "ListenAddrs",
            Command::Peers { .. } => "Peers",
        })
    }
}

impl Client {
    /// A client sending its commands on `commands`, for the node with `peer_id`.
    pub(super) fn new(
        commands: mpsc::Sender<Command>,
        peer_id: PeerId,
        config: NetConfig,
        reconnected: Arc<Notify>,
        device_jobs: mpsc::Receiver<DeviceJob>,
    ) -> Self {
        Self {
            commands,
            peer_id,
            config,
            reconnected,
            device_jobs: Arc::new(std::sync::Mutex::new(Some(device_jobs))),
        }
    }

    /// The device requests this node admits, for whoever serves linked devices
    /// (the [`Passport`](crate::Passport) handle of a home node); given once.
    /// Until taken, and once dropped, devices are refused.
    pub fn take_device_jobs(&self) -> Option<mpsc::Receiver<DeviceJob>> {
        self.device_jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Sends a device request to the home node `peer` at `addresses`.
    pub async fn device(
        &self,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: DeviceRequest,
    ) -> Result<DeviceResponse, NetError> {
        self.call_remote(|reply| Command::Device {
            peer,
            addresses,
            request,
            reply,
        })
        .await
    }

    /// The settings the network runs with.
    pub fn config(&self) -> &NetConfig {
        &self.config
    }

    /// Woken (once, however many times it happened meanwhile) when this node
    /// connects to a peer after having none: the moment to drain mailboxes.
    pub fn reconnected(&self) -> Arc<Notify> {
        self.reconnected.clone()
    }

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

    /// [`Client::call`] for a request to another node: gives up after the request
    /// timeout, plus 5 s for dialling.
    async fn call_remote<R>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<R, NetError>>) -> Command,
    ) -> Result<R, NetError> {
        let limit = self.config.request_timeout + Duration::from_secs(5);
        tokio::time::timeout(limit, self.call(make))
            .await
            .map_err(|_| NetError::Timeout(limit))??
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
        let (peer, addresses) = dial_info(record)?;
        self.call_remote(|reply| Command::Send {
            peer,
            addresses,
            bytes,
            reply,
        })
        .await
    }

    /// Sends a mailbox request to the mailbox node a (verified) record names;
    /// returns its answer.
    pub async fn mailbox(
        &self,
        record: &PeerRecord,
        request: MailboxRequest,
    ) -> Result<MailboxResponse, NetError> {
        let (peer, addresses) = dial_info(record)?;
        self.call_remote(|reply| Command::Mailbox {
            peer,
            addresses,
            request,
            reply,
        })
        .await
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

/// The PeerId and addresses to reach the node a record names.
fn dial_info(record: &PeerRecord) -> Result<(PeerId, Vec<Multiaddr>), NetError> {
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
    Ok((peer, addresses))
}
