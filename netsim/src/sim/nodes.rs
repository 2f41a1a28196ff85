//! Building the simulated nodes: each a real node core with its keys, fields and
//! standing policy ([`build_node`]), and what it runs with on the simulated
//! network: its network settings (bootstrap peers, relays, mailboxes, the
//! scenario's protocol parameters) and its transport.

use std::{
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Duration,
};

use libp2p::{Transport as _, core::upgrade::Version, identity, noise, plaintext, yamux};
use passport_node::{
    Keys, Node, NodeConfig,
    consent::{Effect, FieldScope, Policy},
    mailbox::MailboxSettings,
    net::{BoxedTransport, NetConfig},
    node::system_now,
    protocol::{FieldName, FieldValue},
    storage::MemoryStorage,
};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use tokio::sync::watch;

use super::{Sim, SimError, SimNode};
use crate::{
    plan::{Answer, NodePlan, Role},
    scenario::Security,
    transport::addr_of,
};

pub(super) fn build_node(
    plan: &NodePlan,
    field_sets: &[Vec<FieldName>],
) -> Result<SimNode, SimError> {
    let setup = |message: String| SimError::Setup {
        index: plan.index,
        message,
    };
    let mut rng = ChaCha20Rng::from_seed(plan.key_seed);
    let keys = Keys::generate_with(&mut rng);
    let mut message_seed = [0u8; 32];
    rng.fill_bytes(&mut message_seed);
    let node = Node::with_storage(
        keys,
        Arc::new(MemoryStorage::new()),
        NodeConfig::default(),
        Some(message_seed),
    )
    .map_err(|e| setup(e.to_string()))?;
    let mut network_seed = plan.network_seed;
    let keypair = identity::Keypair::ed25519_from_bytes(&mut network_seed)
        .map_err(|e| setup(e.to_string()))?;
    if let Some(answer) = plan.answer {
        let now = system_now();
        let names: std::collections::BTreeSet<&FieldName> = field_sets.iter().flatten().collect();
        for name in names {
            node.set_field(
                name.clone(),
                FieldValue::Text(format!("{name} of person {}", plan.index)),
                now,
            )
            .map_err(|e| setup(e.to_string()))?;
        }
        let policy = match answer {
            Answer::Allow => Some(Policy::allow_normal_fields(None)),
            Answer::Deny => Some(Policy {
                effect: Effect::Deny,
                fields: FieldScope::any_normal(),
                ..Policy::allow_normal_fields(None)
            }),
            Answer::Ask => None,
        };
        if let Some(policy) = policy {
            node.add_policy(policy, now)
                .map_err(|e| setup(e.to_string()))?;
        }
    }
    Ok(SimNode {
        plan: plan.clone(),
        node,
        keypair,
        running: tokio::sync::Mutex::new(None),
        passport: Mutex::new(None),
        online: watch::Sender::new(false),
        messages_sent: AtomicU64::new(0),
        messages_received: AtomicU64::new(0),
    })
}

impl Sim {
    pub(super) fn net_config(&self, index: usize) -> NetConfig {
        let plan = &self.plan.nodes[index];
        let p = &self.scenario.protocol;
        let infra = matches!(plan.role, Role::Bootstrap | Role::Relay);
        NetConfig {
            listen: vec![addr_of(index)],
            mdns: false,
            bootstrap: plan.bootstrap.iter().map(|&b| self.p2p_addr(b)).collect(),
            relays: plan.relays.iter().map(|&r| self.p2p_addr(r)).collect(),
            relay_server: plan.role == Role::Relay,
            autonat_only_global: false,
            autonat_boot_delay: p.autonat_boot_delay,
            request_timeout: p.request_timeout,
            lookup_timeout: p.lookup_timeout,
            record_lifetime: p.record_ttl,
            republish_interval: Some(p.republish_interval),
            idle_connection_timeout: p.idle_connection_timeout,
            ping_interval: p.ping_interval,
            kad_k: p.kad_k,
            kad_alpha: p.kad_alpha,
            kad_replication: p.kad_replication,
            kad_bootstrap_interval: Some(p.kad_bootstrap_interval)
                .filter(|interval| !interval.is_zero()),
            relay_max_reservations: p.relay_max_reservations,
            relay_max_circuits: p.relay_max_circuits,
            max_connections: if infra {
                p.infra_max_connections
            } else {
                p.max_connections
            },
            mailbox: self.mailbox_settings(index),
            serve_dht: plan.role != Role::Person || self.scenario.nodes.persons_serve_dht,
            // Simulated nodes are never restored from a backup: no copy to look for,
            // and no extra lookup in what the simulation measures.
            copy_check_every: None,
            known_peers: self
                .tables
                .get(index)
                .map(|table| {
                    table
                        .iter()
                        .map(|&peer| self.p2p_addr(peer as usize))
                        .collect()
                })
                .unwrap_or_default(),
            kad_automatic_bootstrap: self.tables.is_empty(),
            ..NetConfig::default()
        }
    }

    /// With mailboxes on, relays serve as mailboxes, and each person lists
    /// `per_person` of them: its own relays first, then the next ones by index.
    fn mailbox_settings(&self, index: usize) -> MailboxSettings {
        let m = &self.scenario.mailboxes;
        let plan = &self.plan.nodes[index];
        if !m.enabled {
            return MailboxSettings::default();
        }
        let relays: Vec<usize> = (0..self.plan.nodes.len())
            .filter(|&i| self.plan.nodes[i].role == Role::Relay)
            .collect();
        match plan.role {
            Role::Relay => MailboxSettings {
                serve: true,
                ..MailboxSettings::default()
            },
            Role::Person => {
                let mut chosen: Vec<usize> = plan.relays.clone();
                for offset in 0..relays.len() {
                    let relay = relays[(index + offset) % relays.len()];
                    if !chosen.contains(&relay) {
                        chosen.push(relay);
                    }
                }
                chosen.truncate(m.per_person);
                MailboxSettings {
                    mailboxes: chosen.iter().map(|&r| self.nodes[r].node.id()).collect(),
                    drain_every_secs: m.drain_every.as_secs().max(1),
                    ..MailboxSettings::default()
                }
            }
            Role::Bootstrap | Role::Merchant => MailboxSettings::default(),
        }
    }

    /// Bytes the mailboxes hold now, in all.
    pub(super) fn mailbox_bytes(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.plan.role == Role::Relay)
            .filter_map(|n| n.node.mailbox_usage().ok())
            .flatten()
            .map(|(_, usage)| usage.bytes)
            .sum()
    }

    pub(super) fn transport(&self, index: usize) -> Result<BoxedTransport, SimError> {
        let keypair = &self.nodes[index].keypair;
        let base = self.net.transport(index).upgrade(Version::V1Lazy);
        let timeout = Duration::from_secs(20);
        Ok(match self.scenario.protocol.security {
            Security::Noise => base
                .authenticate(noise::Config::new(keypair).map_err(|e| SimError::Setup {
                    index,
                    message: e.to_string(),
                })?)
                .multiplex(yamux::Config::default())
                .timeout(timeout)
                .boxed(),
            Security::Plaintext => base
                .authenticate(plaintext::Config::new(keypair))
                .multiplex(yamux::Config::default())
                .timeout(timeout)
                .boxed(),
        })
    }
}
