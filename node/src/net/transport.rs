//! Assembling the network: the transport ([`tcp_and_quic`] or the caller's
//! [`BoxedTransport`]), the swarm over it, its listeners and bootstrap dials, and the
//! [`Client`] and [`EventLoop`] that come out ([`new`], [`with_metrics`],
//! [`with_transport`]).

use libp2p::{
    PeerId, Swarm, core::muxing::StreamMuxerBox, identity, multiaddr::Protocol, noise, tcp, yamux,
};
use tokio::sync::mpsc;

use super::{
    behaviour::{Behaviour, behaviour},
    client::Client,
    config::NetConfig,
    error::NetError,
    event_loop::EventLoop,
};
use crate::{metrics::Metrics, node::Node};

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

/// [`new`], counting into `metrics` (shared with the HTTP API's `/metrics`). The
/// network's [`Status`](super::Status) reads its counts from `metrics`, so each node
/// needs its own.
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
    for addr in &config.known_peers {
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            return Err(NetError::Setup(format!(
                "known peer address {addr} does not end in /p2p/<PeerId>"
            )));
        };
        swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
    }
    let (commands_tx, commands) = mpsc::channel(config.command_capacity);
    let reconnected = std::sync::Arc::new(tokio::sync::Notify::new());
    let (event_loop, device_jobs) = EventLoop::new(
        swarm,
        node,
        config.clone(),
        metrics,
        commands,
        reconnected.clone(),
    );
    let client = Client::new(commands_tx, peer_id, config, reconnected, device_jobs);
    Ok((client, event_loop))
}
