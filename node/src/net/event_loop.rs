//! [`EventLoop`]: owns the swarm and answers the [`Client`](super::Client)'s
//! commands; publishes and republishes this node's record, follows its reachability
//! and holds relay reservations while it is private.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use futures::StreamExt as _;
use libp2p::{
    Multiaddr, PeerId, Swarm, autonat, core::transport::ListenerId, dcutr, identify, kad, mdns,
    multiaddr::Protocol, relay, swarm::SwarmEvent,
};
use passport_protocol::{PeerRecord, verify_record};
use tokio::sync::{mpsc, oneshot};

use super::{
    behaviour::{Behaviour, BehaviourEvent, KAD_PROTOCOL},
    client::Command,
    config::NetConfig,
    device::{DeviceAnswer, DeviceJob, DeviceRequests, DeviceService},
    error::NetError,
    inbound::{Answer, Inbound, Requests},
    lookup::{Lookup, RoutingView, accept_record, answer_lookup},
    mailbox::{MailboxAnswer, MailboxRequests, MailboxService},
    status::{DhtServed, Reachability, Status},
};
use crate::{
    metrics::Metrics,
    node::{Node, system_now as now},
};

/// Owns the swarm; run it with [`EventLoop::run`] (e.g. in `tokio::spawn`).
pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    node: Node,
    config: NetConfig,
    commands: mpsc::Receiver<Command>,
    /// Answers to inbound messages, from the tasks that handled them.
    answers: mpsc::Receiver<Answer>,
    /// Inbound messages: limits, and handing them to the node.
    inbound: Inbound,
    lookups: HashMap<kad::QueryId, Lookup>,
    publishes: HashMap<kad::QueryId, oneshot::Sender<Result<(), NetError>>>,
    requests: Requests,
    /// Inbound mailbox requests (when this node serves as one).
    mailbox: MailboxService,
    /// Answers to inbound mailbox requests, from the tasks that handled them.
    mailbox_answers: mpsc::Receiver<MailboxAnswer>,
    /// This node's mailbox requests waiting for their answers.
    mailbox_requests: MailboxRequests,
    /// Inbound device requests, handed to the handle.
    device: DeviceService,
    /// Answers to inbound device requests.
    device_answers: mpsc::Receiver<DeviceAnswer>,
    /// This node's device requests (when it is a device) waiting for answers.
    device_requests: DeviceRequests,
    /// Woken when this node connects to a peer after having none.
    reconnected: std::sync::Arc<tokio::sync::Notify>,
    /// Counters for `/metrics` and [`Status`]: records refused, Kademlia requests
    /// served, hole punches (and, through `inbound`, messages).
    metrics: Metrics,
    /// Whether this node has published its record (then it republishes whenever its
    /// addresses change).
    published: bool,
    /// As AutoNAT last found.
    reachability: Reachability,
    /// Relay listeners, by relay, while this node is private.
    relay_listeners: HashMap<PeerId, ListenerId>,
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
    /// The external addresses confirmed so far (at most
    /// `MAX_KNOWN_EXTERNAL`): AutoNAT confirms the same address again on each
    /// probe, which changes nothing the record says.
    external: HashSet<Multiaddr>,
}

/// The most confirmed external addresses remembered; past it, every
/// confirmation counts as a change.
const MAX_KNOWN_EXTERNAL: usize = 32;

impl Moved {
    /// An address changed at `now`: publish once the burst it belongs to is over.
    fn address_changed(&mut self, now: tokio::time::Instant) {
        self.due.get_or_insert(now + REPUBLISH_SETTLE);
    }

    /// Whether confirming `address` changes the node's external addresses.
    fn confirmed(&mut self, address: &Multiaddr) -> bool {
        if self.external.contains(address) {
            return false;
        }
        if self.external.len() < MAX_KNOWN_EXTERNAL {
            self.external.insert(address.clone());
        }
        true
    }

    /// `address` is no longer an external address.
    fn expired(&mut self, address: &Multiaddr) {
        self.external.remove(address);
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

impl EventLoop {
    /// The event loop of `swarm`, taking commands from `commands` and counting into
    /// `metrics`; and the receiver of the device requests it admits.
    pub(super) fn new(
        swarm: Swarm<Behaviour>,
        node: Node,
        config: NetConfig,
        metrics: Metrics,
        commands: mpsc::Receiver<Command>,
        reconnected: std::sync::Arc<tokio::sync::Notify>,
    ) -> (Self, mpsc::Receiver<DeviceJob>) {
        let (answers_tx, answers) = mpsc::channel(config.command_capacity);
        let inbound = Inbound::new(node.clone(), &config, answers_tx, metrics.clone());
        let (mailbox_tx, mailbox_answers) = mpsc::channel(config.command_capacity);
        let mailbox = MailboxService::new(node.clone(), &config, mailbox_tx, metrics.clone());
        let (device_tx, device_answers) = mpsc::channel(config.command_capacity);
        let (device, device_jobs) = DeviceService::new(&config, device_tx);
        let event_loop = Self {
            device,
            device_answers,
            device_requests: HashMap::new(),
            mailbox,
            mailbox_answers,
            mailbox_requests: HashMap::new(),
            reconnected,
            swarm,
            node,
            config,
            commands,
            answers,
            inbound,
            lookups: HashMap::new(),
            publishes: HashMap::new(),
            requests: HashMap::new(),
            metrics,
            published: false,
            reachability: Reachability::Unknown,
            relay_listeners: HashMap::new(),
            connections: HashMap::new(),
            moved: Moved::default(),
        };
        (event_loop, device_jobs)
    }

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
                Some((channel, response)) = self.mailbox_answers.recv() => {
                    let _ = self.swarm.behaviour_mut().mailbox.send_response(channel, response);
                }
                Some((channel, response)) = self.device_answers.recv() => {
                    let _ = self.swarm.behaviour_mut().device.send_response(channel, response);
                }
            }
        }
    }

    /// Waits for every inbound message being handled to finish and sends its answer.
    async fn drain(&mut self) {
        let all = u32::try_from(self.config.max_inbound_in_flight).unwrap_or(u32::MAX);
        // Refuse new work while waiting: the permits are ours once acquired.
        let in_flight = self.inbound.in_flight();
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
            // Seconds since 1970 under this copy's epoch: grows across restarts
            // without stored state, and a restored copy's outranks the old one's.
            sequence: PeerRecord::sequence_for(self.node.epoch()?, now),
            peers: vec![self.swarm.local_peer_id().to_bytes()],
            addresses,
            seal_key: self.node.sealing_public_key(),
            mailboxes: self.config.mailbox.mailboxes.clone(),
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
            Command::Mailbox {
                peer,
                addresses,
                request,
                reply,
            } => {
                let request = self
                    .swarm
                    .behaviour_mut()
                    .mailbox
                    .send_request_with_addresses(&peer, request, addresses);
                self.mailbox_requests.insert(request, reply);
            }
            Command::Device {
                peer,
                addresses,
                request,
                reply,
            } => {
                let request = self
                    .swarm
                    .behaviour_mut()
                    .device
                    .send_request_with_addresses(&peer, request, addresses);
                self.device_requests.insert(request, reply);
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
                    hole_punch_attempts: self.metrics.hole_punch_attempts(),
                    hole_punch_successes: self.metrics.hole_punch_successes(),
                    published: self.published,
                    rejected_records: self.metrics.rejected_records(),
                    throttled: self.metrics.throttled(),
                    dht_served: DhtServed::read(&self.metrics),
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
                if self.connections.is_empty() {
                    self.reconnected.notify_one();
                }
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
                self.metrics.count_hole_punch(result.is_ok());
                match result {
                    Ok(_) => {
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
            // A confirmation of an address already confirmed falls through to
            // the last arm: nothing changed.
            SwarmEvent::ExternalAddrConfirmed { ref address } if self.moved.confirmed(address) => {
                tracing::debug!(?event, "addresses changed");
                self.republish_if_published()
            }
            SwarmEvent::ExternalAddrExpired { ref address } => {
                self.moved.expired(address);
                tracing::debug!(?event, "addresses changed");
                self.republish_if_published()
            }
            SwarmEvent::NewListenAddr { .. } | SwarmEvent::ExpiredListenAddr { .. } => {
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
            SwarmEvent::Behaviour(BehaviourEvent::Mailbox(event)) => self.mailbox.on_event(
                &mut self.swarm.behaviour_mut().mailbox,
                &mut self.mailbox_requests,
                event,
            ),
            SwarmEvent::Behaviour(BehaviourEvent::Device(event)) => self.device.on_event(
                &mut self.swarm.behaviour_mut().device,
                &mut self.device_requests,
                event,
            ),
            SwarmEvent::Behaviour(BehaviourEvent::Messages(event)) => {
                self.inbound.on_message_event(
                    &mut self.swarm.behaviour_mut().messages,
                    &mut self.requests,
                    event,
                )
            }
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
        // A private node cannot serve the DHT: peers could not dial it back. One
        // set not to serve it (a phone, mostly offline) never does.
        let mode = match self.reachability {
            _ if !self.config.serve_dht => kad::Mode::Client,
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
            self.metrics.count_dht_request(DhtServed::kind_of(request));
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
                    self.metrics.count_rejected_record();
                    tracing::debug!(%source, reason = e.reason(), error = %e, "refused a DHT record");
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
                                answer_lookup(&mut self.lookups, id, stats);
                                if let Some(mut query) =
                                    self.swarm.behaviour_mut().kad.query_mut(&id)
                                {
                                    query.finish();
                                }
                            }
                        }
                        Err(e) => {
                            self.metrics.count_rejected_record();
                            tracing::debug!(
                                reason = e.reason(),
                                "ignored an invalid record in a lookup"
                            );
                        }
                    }
                }
                // The query ended: answer with what it found, if anything.
                kad::QueryResult::GetRecord(_) => answer_lookup(&mut self.lookups, id, stats),
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
}

/// Whether `addr` goes through a relay.
fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| p == Protocol::P2pCircuit)
}

#[cfg(test)]
mod tests {
    use libp2p::{
        core::{muxing::StreamMuxerBox, transport::dummy::DummyTransport},
        noise,
        swarm::ConnectionId,
        yamux,
    };

    use super::{super::behaviour::behaviour, *};
    use crate::NodeConfig;

    /// An event loop with no transport, to be fed events by hand.
    fn offline(metrics: Metrics) -> EventLoop {
        let config = NetConfig {
            listen: Vec::new(),
            mdns: false,
            ..NetConfig::default()
        };
        let swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_other_transport(|_| DummyTransport::<(PeerId, StreamMuxerBox)>::new())
            .unwrap()
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .unwrap()
            .with_behaviour(|key, relay_client| behaviour(key, relay_client, &config))
            .unwrap()
            .build();
        let node = Node::in_memory(NodeConfig::default()).unwrap();
        let (_, commands) = mpsc::channel(1);
        EventLoop::new(swarm, node, config, metrics, commands, Default::default()).0
    }

    #[tokio::test]
    async fn a_counter_bumped_once_shows_in_the_status_and_in_the_metrics() {
        let metrics = Metrics::default();
        let mut event_loop = offline(metrics.clone());
        // A junk record offered for storage: one put_record served, one record refused.
        let id = event_loop.node.id();
        event_loop.on_kad_event(kad::Event::InboundRequest {
            request: kad::InboundRequest::PutRecord {
                source: PeerId::random(),
                connection: ConnectionId::new_unchecked(0),
                record: Some(kad::Record::new(PeerRecord::dht_key(&id), vec![0xff; 40])),
            },
        });
        // A hole punch that gave a direct connection.
        event_loop.on_swarm_event(SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event {
            remote_peer_id: PeerId::random(),
            result: Ok(ConnectionId::new_unchecked(1)),
        })));
        // An inbound message answered busy, as `Inbound` counts it.
        metrics.count_throttled();

        let (reply, answer) = oneshot::channel();
        event_loop.on_command(Command::Status { reply });
        let status = answer.await.unwrap();
        assert_eq!(status.rejected_records, 1);
        assert_eq!(
            status.dht_served,
            DhtServed {
                put_record: 1,
                ..DhtServed::default()
            }
        );
        assert_eq!(
            (status.hole_punch_attempts, status.hole_punch_successes),
            (1, 1)
        );
        assert_eq!(status.throttled, 1);

        let text = metrics.render(&status);
        for line in [
            "passport_dht_records_rejected 1",
            "passport_dht_requests_served{kind=\"put_record\"} 1",
            "passport_dht_requests_served{kind=\"find_node\"} 0",
            "passport_hole_punch_attempts_total 1",
            "passport_hole_punch_successes_total 1",
            "passport_throttled 1",
            "passport_connected_peers 0",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
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

    #[tokio::test]
    async fn an_address_confirmed_again_does_not_republish() {
        let mut event_loop = offline(Metrics::default());
        event_loop.published = true;
        let address: Multiaddr = "/ip4/192.0.2.7/tcp/4001".parse().unwrap();
        let confirmed = |address: &Multiaddr| SwarmEvent::ExternalAddrConfirmed {
            address: address.clone(),
        };
        event_loop.on_swarm_event(confirmed(&address));
        assert!(
            event_loop.moved.due().is_some(),
            "a new address republishes"
        );
        event_loop.moved.published();
        // AutoNAT's next probe confirms it again: nothing changed.
        event_loop.on_swarm_event(confirmed(&address));
        assert_eq!(event_loop.moved.due(), None);
        // Once it expired, confirming it is a change again.
        event_loop.on_swarm_event(SwarmEvent::ExternalAddrExpired {
            address: address.clone(),
        });
        event_loop.moved.published();
        event_loop.on_swarm_event(confirmed(&address));
        assert!(event_loop.moved.due().is_some());
    }
}
