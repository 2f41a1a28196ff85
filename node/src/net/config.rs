//! [`NetConfig`]: the network's settings, their defaults, and reading them from a
//! `[network]` config section.

use std::{num::NonZeroUsize, time::Duration};

use libp2p::Multiaddr;

use super::error::NetError;
use crate::mailbox::MailboxSettings;

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
    /// Serve the DHT: keep others' records and answer their lookups, while
    /// reachable. Default on. Turn it off on a device that is offline most of
    /// the time (a phone): peers would keep dialling it in vain, and the records
    /// it kept would vanish with it. It still publishes its own record and looks
    /// others up.
    pub serve_dht: bool,
    /// AutoNAT only trusts and probes public IP addresses. Default on; turn it off
    /// on a private network (or in tests on loopback).
    pub autonat_only_global: bool,
    /// Wait before the first AutoNAT probe. Default 15 s.
    pub autonat_boot_delay: Duration,
    /// Wait between AutoNAT probes until the answer is confident. Default 90 s.
    pub autonat_retry_interval: Duration,
    /// The `[mailbox]` settings: whether this node serves as a mailbox and with
    /// which limits, and which mailboxes its record lists. Default:
    /// [`MailboxSettings::default`] (serves none, uses none).
    pub mailbox: MailboxSettings,
    /// Look this passport's own record up, at start and this often, for another live copy (a restore made elsewhere), and stop the
    /// network if one outranks this copy (see [`crate::backup::copies`]). Default
    /// 5 minutes; `None` publishes at once and never looks (a simulation, whose
    /// nodes are never restored).
    pub copy_check_every: Option<Duration>,
    /// Peers put in the DHT routing table at start, without dialling them, each
    /// ending in `/p2p/<PeerId>`. Default: none. Not in config.toml: a simulator
    /// fills each node's table as a converged network would have it.
    pub known_peers: Vec<Multiaddr>,
    /// Run a Kademlia bootstrap soon after peers enter a routing table that holds
    /// fewer than *k* of them (libp2p's automatic bootstrap). Default on. Not in
    /// config.toml: only a node whose table is filled from outside
    /// ([`NetConfig::known_peers`]) has reason to turn it off.
    pub kad_automatic_bootstrap: bool,
}

impl NetConfig {
    /// The settings of a `[network]` config section over the defaults. A listen or
    /// bootstrap address that is not a multiaddr is an error naming it.
    pub fn from_settings(settings: &crate::NetworkSettings) -> Result<Self, NetError> {
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
            serve_dht: settings.serve_dht,
            mdns: settings.mdns,
            ..Self::default()
        })
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        // What `[network]` in config.toml can set defaults to what that section
        // says when absent: those defaults are written once, there.
        let file = crate::NetworkSettings::default();
        let addrs = |list: &[String]| list.iter().filter_map(|a| a.parse().ok()).collect();
        Self {
            listen: addrs(&file.listen),
            mdns: file.mdns,
            bootstrap: addrs(&file.bootstrap),
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
            relays: addrs(&file.relays),
            relay_server: file.relay_server,
            serve_dht: file.serve_dht,
            autonat_only_global: true,
            autonat_boot_delay: Duration::from_secs(15),
            autonat_retry_interval: Duration::from_secs(90),
            mailbox: MailboxSettings::default(),
            copy_check_every: Some(crate::backup::copies::COPY_CHECK_EVERY),
            known_peers: Vec::new(),
            kad_automatic_bootstrap: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_a_config_file_can_set_are_those_of_its_network_section() {
        let from_file = NetConfig::from_settings(&crate::NetworkSettings::default()).unwrap();
        let default = NetConfig::default();
        assert_eq!(default.listen, from_file.listen);
        assert_eq!(default.bootstrap, from_file.bootstrap);
        assert_eq!(default.relays, from_file.relays);
        assert_eq!(default.mdns, from_file.mdns);
        assert_eq!(default.relay_server, from_file.relay_server);
        assert_eq!(default.serve_dht, from_file.serve_dht);
        assert_eq!(
            default.listen.len(),
            crate::NetworkSettings::default().listen.len(),
            "every default listen address parses"
        );
    }
}
