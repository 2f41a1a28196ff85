//! [`Behaviour`]: the libp2p behaviours a Passport node combines, and how they are
//! configured from a [`NetConfig`].

use libp2p::{
    StreamProtocol, autonat, connection_limits, dcutr, identify, identity,
    kad::{self, store::MemoryStore},
    mdns, ping, relay,
    request_response::{self, ProtocolSupport},
    swarm::{NetworkBehaviour, behaviour::toggle::Toggle},
};
use passport_protocol::limits::MAX_RECORD_BYTES;

use super::{
    codec::{Codec, PROTOCOL},
    config::NetConfig,
    device::{DEVICE_PROTOCOL, DeviceCodec, device_codec},
    mailbox::{MAILBOX_PROTOCOL, MailboxCodec, mailbox_codec},
};

/// Kademlia protocol name: Passport's own DHT, apart from IPFS's.
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/passport/kad/1");

/// The combined libp2p behaviour of a Passport node.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    limits: connection_limits::Behaviour,
    pub(super) kad: kad::Behaviour<MemoryStore>,
    pub(super) messages: request_response::Behaviour<Codec>,
    pub(super) mailbox: request_response::Behaviour<MailboxCodec>,
    pub(super) device: request_response::Behaviour<DeviceCodec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
    autonat: autonat::Behaviour,
    relay_client: relay::client::Behaviour,
    relay_server: Toggle<relay::Behaviour>,
    dcutr: dcutr::Behaviour,
}

/// The behaviours, configured from `config`, over `relay_client` (which the swarm
/// builder makes with its transport).
pub(super) fn behaviour(
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
    if !config.kad_automatic_bootstrap {
        // A setter of the workspace's patched libp2p-kad (netsim/patches/PATCH.md).
        kad_config.set_automatic_bootstrap_throttle(None);
    }
    let store = MemoryStore::with_config(
        local,
        kad::store::MemoryStoreConfig {
            max_records: 16 * 1024,
            max_value_bytes: MAX_RECORD_BYTES,
            ..Default::default()
        },
    );
    let mut kad = kad::Behaviour::with_config(local, store, kad_config);
    // Serve the DHT unless told not to or AutoNAT finds this node private: nodes
    // on a LAN or loopback have no confirmed public address, yet can serve each
    // other.
    kad.set_mode(Some(if config.serve_dht {
        kad::Mode::Server
    } else {
        kad::Mode::Client
    }));
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
        mailbox: request_response::Behaviour::with_codec(
            mailbox_codec(),
            [(MAILBOX_PROTOCOL, ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(config.request_timeout),
        ),
        device: request_response::Behaviour::with_codec(
            device_codec(),
            [(DEVICE_PROTOCOL, ProtocolSupport::Full)],
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
