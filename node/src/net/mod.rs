//! The peer-to-peer network: a libp2p swarm (TCP + Noise + Yamux and QUIC; identify;
//! ping; mDNS; connection limits; AutoNAT, circuit relay v2 and DCUtR for nodes behind
//! NAT;
//! Kademlia under Passport's own protocol name, with every record validated before it
//! is stored; request-response carrying signed messages), embedded the rust-libp2p
//! way: a cloneable [`Client`] sends commands over a bounded channel to an
//! [`EventLoop`] that owns the swarm.
//!
//! A passport is found by its id: its node publishes a signed
//! [`PeerRecord`](passport_protocol::PeerRecord) under `/passport/<id>`; a merchant
//! looks it up, checks the signature, and sends its request to the PeerId and
//! addresses the record names.
//!
//! Behind NAT: AutoNAT asks connected peers to dial this node back. When they cannot
//! (the node is *private*), it reserves a slot on each configured relay, listens on
//! the relayed (`/p2p-circuit`) addresses and republishes its record with them;
//! merchants then reach it through the relay, and DCUtR tries to upgrade such a
//! relayed connection to a direct one (hole punching).
//!
//! # Layout
//!
//! Each file imports only files above it in this list:
//!
//! - `error.rs`: [`NetError`].
//! - `config.rs`: [`NetConfig`], its defaults, and reading it from config.toml.
//! - `status.rs`: [`Status`], [`Reachability`], [`DhtServed`].
//! - `codec.rs`: the request-response [`Codec`] and its [`Response`].
//! - `limit.rs`: the per-peer rate limiter.
//! - `cbor_codec.rs`: [`CborCodec`], CBOR request-response frames with a size cap,
//!   for the protocols beside the message protocol.
//! - `device.rs`: the device protocol ([`device::DeviceRequest`],
//!   [`device::DeviceResponse`]): admitting a linked device's requests and handing
//!   them to the handle.
//! - `mailbox.rs`: the mailbox protocol ([`MailboxRequest`], [`MailboxResponse`],
//!   its codec) and serving it: challenges, limits, handing requests to the node.
//! - `lookup.rs`: DHT lookups ([`LookupTrace`], [`RoutingView`]) and the filter
//!   every inbound DHT record passes before it is stored, with its own rejection
//!   reasons (forged, stale, expired, malformed, bad key, store full).
//! - `behaviour.rs`: the combined libp2p behaviour and [`KAD_PROTOCOL`].
//! - `client.rs`: [`Client`], the public async API, and the commands it sends.
//! - `inbound.rs`: inbound request-response messages: limits, and handing them to
//!   the node.
//! - `event_loop.rs`: [`EventLoop`]: commands, swarm events, republishing,
//!   reachability and relay reservations.
//! - `transport.rs`: [`tcp_and_quic`] and assembling it all: [`new`],
//!   [`with_metrics`], [`with_transport`].

mod behaviour;
mod cbor_codec;
mod client;
mod codec;
mod config;
pub mod device;
mod error;
mod event_loop;
mod inbound;
mod limit;
mod lookup;
mod mailbox;
mod status;
mod transport;

pub use self::{
    behaviour::KAD_PROTOCOL,
    cbor_codec::CborCodec,
    client::Client,
    codec::{Codec, MAX_FRAME_BYTES, PROTOCOL, Response},
    config::NetConfig,
    error::NetError,
    event_loop::EventLoop,
    lookup::{LookupTrace, RoutingView},
    mailbox::{
        CHALLENGE_LIFETIME, MAILBOX_PROTOCOL, MAX_BATCH_BYTES, MailboxCodec, MailboxRequest,
        MailboxResponse,
    },
    status::{DhtServed, Reachability, Status},
    transport::{BoxedTransport, new, tcp_and_quic, with_metrics, with_transport},
};
