//! Tier B, the model: the same network as the real tier, as a single-threaded
//! discrete-event simulation instead of real nodes, for runs far larger than
//! real nodes fit in memory (`tier = "model"`, `--tier model`).
//!
//! It reads the same scenario and draws the same [`Plan`] (keys, roles, NAT,
//! join times, churn, every request and its answer), builds the same converged
//! routing tables as the real tier's `routing_tables = "converged"`, draws the
//! same per-pair latencies, and fills the same [`Recorder`], so its reports,
//! plots and `compare` are the real tier's.
//!
//! What it runs:
//! - **Kademlia** as rust-libp2p's kad 0.49 performs it: the closest-peers
//!   iterator line by line ([`kad`]), the same k, α, `K_VALUE` answers, 10 s
//!   peer timeout and query timeout; GetRecord as Passport uses it (stop after
//!   three valid records; a node holds its own record); PutRecord to the
//!   closest `replication` peers; caching at the closest peer that answered
//!   without the record.
//! - **Publishing**: each node publishes its record when it comes online and
//!   once more while the network settles, as the real tier does.
//! - **Requests**: the merchant's lookup, then the request direct or through
//!   the person's first relay; standing policies answer at once, `ask` persons
//!   after their planned time once online; revocations and their receipts.
//! - **The network** ([`link`]): round trips, new connections (dial and
//!   handshake), idle timeouts, jitter, bandwidth and loss as the real tier's
//!   transport models them; offline and NAT'd nodes do not answer dials.
//!
//! What it leaves out (see netsim/README.md, "The model tier"): CPU cost,
//! identify/AutoNAT/ping traffic, routing tables learnt from traffic (tables stay
//! as converged), periodic bootstrap, mailboxes and hole punching.

use std::{
    collections::{BinaryHeap, HashMap},
    time::Duration,
};

use libp2p::{identity, kad::KBucketKey};
use passport_node::{Keys, metrics::ProcessUsage, protocol::PeerRecord};
use rand::SeedableRng as _;
use rand_chacha::{ChaCha8Rng, ChaCha20Rng};

use self::{
    kad::{ClosestPeers, Distance, K_VALUE, Key, Next, distance, key_of},
    link::{Net, ns},
};
use crate::{
    plan::{Action, Plan, Role},
    record::{Outcome, Recorder, RequestSample},
    routing,
    scenario::{Clock, Scenario, Tier},
    sim::{Finished, NatStatus, NodeTotals, Resources, SimError},
};

pub mod kad;
pub mod link;
mod publish;
mod requests;

use self::requests::{Request, Step};

/// Passport lookups stop after this many valid records (`node/src/net/lookup.rs`).
const LOOKUP_RECORDS: u8 = 3;
/// libp2p-kad's peer timeout.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);
/// Message sizes in bytes, measured on the real tier's wire (approximate):
/// a Kademlia request, one peer in an answer, a signed record.
const KAD_REQUEST_BYTES: usize = 80;
const KAD_PEER_BYTES: usize = 60;
const RECORD_BYTES: usize = 420;
/// A Passport request, a grant or refusal, a revocation, a deletion receipt.
const REQUEST_BYTES: usize = 1_000;
const DECISION_BYTES: usize = 1_500;
const REVOKE_BYTES: usize = 300;
const RECEIPT_BYTES: usize = 400;
/// From an address change to the republication: the node's 2 s of gathering
/// a burst of changes, and about a second of AutoNAT's probe (ns).
const ADDRESS_SETTLE: u64 = 3_000_000_000;
/// How often closed and idle connections are forgotten (and counted), in ns.
const SWEEP_EVERY: u64 = 10_000_000_000;
/// Records a person's holders list keeps (oldest dropped first).
const MAX_HOLDERS: usize = 64;

/// An event in the queue: ordered by time, then by when it was queued (so a
/// run is the same every time).
#[derive(Debug)]
struct Queued {
    /// Virtual ns in the high half, the queueing sequence in the low half.
    order: u128,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: the heap pops the earliest.
        other.order.cmp(&self.order)
    }
}

/// Something that happens at a virtual time.
#[derive(Debug, Clone, Copy)]
enum Ev {
    /// Node joins.
    Join(u32),
    /// The settle phase's publish of a node.
    Publish(u32),
    /// A node publishes again, if still in `session`: because its addresses
    /// changed (AutoNAT confirmed one, or a relay reservation added one;
    /// `retry_ms` none), or because its first publication timed out (as
    /// `publish_until_taken` in `node/src/passport/mod.rs` does; `retry_ms` the
    /// wait should this one time out too).
    Republish {
        node: u32,
        session: u32,
        retry_ms: Option<u32>,
    },
    /// The plan's event with this index.
    Plan(u32),
    /// A Kademlia request of `query` to `peer` (in `session`) was answered.
    Answered { query: u32, peer: u32, session: u32 },
    /// A Kademlia request of `query` to `peer` failed.
    Failed { query: u32, peer: u32 },
    /// A query looks at its peers' timeouts again.
    Wake(u32),
    /// A query reached its timeout.
    QueryTimeout(u32),
    /// `holder` (in `session`) stored `owner`'s record.
    Stored {
        owner: u32,
        holder: u32,
        session: u32,
    },
    /// A request's step.
    Step { request: u32, step: Step },
    /// Once a second of the workload: counters.
    Tick,
    /// Every 10 s: closed connections are forgotten.
    Sweep,
    /// A phase ended.
    Phase(u8),
}

#[derive(Debug)]
enum QueryKind {
    /// `retry_ms`: for a node's first publication, how long after a failure
    /// it tries again; the other publications are not retried.
    Publish {
        owner: u32,
        retry_ms: Option<u32>,
    },
    Lookup {
        request: u32,
    },
}

#[derive(Debug)]
struct Query {
    iter: ClosestPeers,
    kind: QueryKind,
    from: u32,
    session: u32,
    started: u64,
    requests: u32,
    failures: u32,
    records: u8,
    hops: Option<u32>,
    /// The closest peer that answered without the record.
    cache: Option<(Distance, u32)>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    bytes_sent: u64,
    bytes_received: u64,
    messages_sent: u64,
    messages_received: u64,
    dials_ok: u64,
    dials_failed: u64,
    accepted: u64,
    find_node: u64,
    get_record: u64,
    put_record: u64,
}

struct Model {
    scenario: Scenario,
    plan: Plan,
    keys: Vec<Key>,
    record_keys: Vec<Key>,
    tables: Vec<Vec<u32>>,
    online: Vec<bool>,
    sessions: Vec<u32>,
    net: Net,
    queue: BinaryHeap<Queued>,
    seq: u64,
    now: u64,
    queries: HashMap<u32, Query>,
    next_query: u32,
    holders: Vec<Vec<(u32, u32)>>,
    requests: Vec<Request>,
    /// Steps waiting for a person to come online.
    waiting: HashMap<u32, Vec<(u32, Step)>>,
    counters: Vec<Counters>,
    recorder: Recorder,
    workload_start: u64,
    end: u64,
    persons_online: u64,
    connections: u64,
    peak_connections: u64,
    wall: std::time::Instant,
    last_said: std::time::Instant,
    /// Reused by `closest_in_table`.
    scratch: Vec<(Distance, u32)>,
    alpha: usize,
    replication: usize,
    peer_timeout: u64,
    connect_timeout: u64,
}

/// Runs `scenario` in the model tier.
pub fn run(scenario: &Scenario) -> Result<Finished, SimError> {
    let wall = std::time::Instant::now();
    let cpu_before = ProcessUsage::now().cpu_seconds;
    let plan = Plan::new(scenario);
    let (keys, record_keys) = identities(&plan);
    let servers: Vec<bool> = plan
        .nodes
        .iter()
        .map(|n| n.role != Role::Person || (scenario.nodes.persons_serve_dht && !n.behind_nat))
        .collect();
    let tables = routing::converged(
        &keys,
        &servers,
        scenario.protocol.kad_k.get(),
        scenario.seed,
    );
    let keys: Vec<Key> = keys.iter().map(key_of).collect();
    let n = plan.nodes.len();
    let setup_s = wall.elapsed().as_secs_f64();
    let p = &scenario.protocol;
    let workload_start = ns(scenario.join + scenario.settle);
    let mut model = Model {
        net: Net::new(
            scenario.link.clone(),
            scenario.seed,
            p.idle_connection_timeout,
            ChaCha8Rng::seed_from_u64(scenario.seed ^ 0x6d6f_6465_6c00),
        ),
        keys,
        record_keys,
        tables,
        online: vec![false; n],
        sessions: vec![0; n],
        queue: BinaryHeap::new(),
        seq: 0,
        now: 0,
        queries: HashMap::new(),
        next_query: 0,
        holders: vec![Vec::new(); n],
        requests: Vec::new(),
        waiting: HashMap::new(),
        counters: vec![Counters::default(); n],
        recorder: Recorder::default(),
        workload_start,
        end: workload_start + ns(scenario.duration + scenario.drain),
        persons_online: 0,
        connections: 0,
        peak_connections: 0,
        wall,
        last_said: std::time::Instant::now(),
        scratch: Vec::new(),
        alpha: p.kad_alpha.get(),
        replication: p.kad_replication.get(),
        peer_timeout: ns(PEER_TIMEOUT),
        connect_timeout: ns(scenario.link.connect_timeout),
        scenario: scenario.clone(),
        plan,
    };
    // CPU when joining ended (settling began) and when settling ended.
    let (cpu_settle, cpu_workload) = model.play();
    let cpu_after = ProcessUsage::now();
    let nodes = model.totals();
    let behind_nat = model.plan.nodes.iter().filter(|n| n.behind_nat).count();
    let mut recorder = std::mem::take(&mut model.recorder);
    for r in model.requests.iter().filter(|r| !r.ended) {
        if let Some(lookup) = &r.lookup {
            recorder.lookups.push(lookup.clone());
        }
        recorder.requests.push(RequestSample {
            at_s: r.at_s,
            policy: r.policy,
            path: r.path,
            outcome: Outcome::Unfinished,
            latency_ms: None,
            reason: Some("run_ended".into()),
            queued: false,
        });
    }
    Ok(Finished {
        scenario: model.scenario,
        plan: model.plan,
        recorder,
        nodes,
        // The model takes AutoNAT and relay reservations as done.
        nat: NatStatus {
            behind_nat,
            found_private: behind_nat,
            relayed: behind_nat,
            public_found_private: 0,
        },
        resources: Resources {
            tier: Tier::Model,
            clock: Clock::Virtual,
            simulated_s: model.now as f64 / 1e9,
            setup_s,
            wall_s: wall.elapsed().as_secs_f64(),
            cpu_s: cpu_after.cpu_seconds - cpu_before,
            cpu_join_s: cpu_settle - cpu_before,
            cpu_settle_s: cpu_workload - cpu_settle,
            cpu_workload_s: cpu_after.cpu_seconds - cpu_workload,
            peak_rss_mib: cpu_after.peak_mib(),
            threads: 1,
            peak_connections: model.peak_connections,
        },
    })
}

/// Every node's Kademlia key (from its libp2p key, as the real tier derives
/// it) and the Kademlia key of its passport's record; on every core.
fn identities(plan: &Plan) -> (Vec<routing::KadKey>, Vec<Key>) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = plan.nodes.len().div_ceil(threads).max(1);
    let parts: Vec<Vec<(routing::KadKey, Key)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .nodes
            .chunks(chunk)
            .map(|nodes| {
                scope.spawn(move || {
                    nodes
                        .iter()
                        .map(|node| {
                            let mut seed = node.network_seed;
                            let peer = identity::Keypair::ed25519_from_bytes(&mut seed)
                                .map(|k| k.public().to_peer_id())
                                .unwrap_or_else(|_| identity::PeerId::random());
                            let id =
                                Keys::generate_with(&mut ChaCha20Rng::from_seed(node.key_seed))
                                    .identity
                                    .id();
                            let mut record = [0u8; 32];
                            record.copy_from_slice(
                                KBucketKey::new(PeerRecord::dht_key(&id)).hashed_bytes(),
                            );
                            (routing::kad_key(&peer), key_of(&record))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    parts.into_iter().flatten().unzip()
}

impl Model {
    fn at(&mut self, time: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Queued {
            order: (u128::from(time) << 64) | u128::from(self.seq),
            ev,
        });
    }

    /// Plays every event to the end; returns the CPU seconds at the end of
    /// joining and of settling.
    fn play(&mut self) -> (f64, f64) {
        let joins: Vec<u64> = self.plan.nodes.iter().map(|n| ns(n.join_at)).collect();
        for (i, join) in joins.into_iter().enumerate() {
            self.at(join, Ev::Join(i as u32));
        }
        let s = self.scenario.clone();
        let settle_start = ns(s.join);
        let spacing = ns(s.settle.mul_f64(0.8)) / self.plan.nodes.len().max(1) as u64;
        for i in 0..self.plan.nodes.len() {
            self.at(settle_start + spacing * i as u64, Ev::Publish(i as u32));
        }
        let start = self.workload_start;
        let duration = ns(s.duration);
        let events: Vec<(usize, u64)> = self
            .plan
            .events
            .iter()
            .enumerate()
            // Requests stop with the workload; churn may go on through the drain.
            .filter(|(_, e)| ns(e.at) < duration || !matches!(e.action, Action::Request(_)))
            .map(|(i, e)| (i, start + ns(e.at)))
            .collect();
        for (i, at) in events {
            self.at(at, Ev::Plan(i as u32));
        }
        self.at(settle_start, Ev::Phase(0));
        self.at(start, Ev::Phase(1));
        self.at(start + duration, Ev::Phase(2));
        self.at(start, Ev::Tick);
        self.at(0, Ev::Sweep);
        let (mut cpu_join, mut cpu_settle) = (0.0, 0.0);
        while let Some(Queued { order, ev }) = self.queue.pop() {
            let time = (order >> 64) as u64;
            if time > self.end {
                break;
            }
            self.now = time;
            // A long run says where it stands every minute of wall time.
            if self.seq.is_multiple_of(1 << 16)
                && self.last_said.elapsed() >= Duration::from_secs(60)
            {
                self.last_said = std::time::Instant::now();
                self.say("running");
            }
            match ev {
                Ev::Phase(phase) => {
                    let cpu = ProcessUsage::now().cpu_seconds;
                    match phase {
                        0 => cpu_join = cpu,
                        1 => cpu_settle = cpu,
                        _ => {}
                    }
                    self.say(["joined", "settled", "workload played"][usize::from(phase.min(2))]);
                }
                other => self.handle(other),
            }
        }
        self.now = self.end;
        self.say("drained");
        (cpu_join, cpu_settle)
    }

    fn say(&self, what: &str) {
        let usage = ProcessUsage::now();
        eprintln!(
            "{what} at {:.0} s model ({:.0} s wall, {:.0} s CPU so far, {:.0} MiB; {} queries, {} connections, {} events queued)",
            self.now as f64 / 1e9,
            self.wall.elapsed().as_secs_f64(),
            usage.cpu_seconds,
            usage.resident_mib(),
            self.queries.len(),
            self.connections,
            self.queue.len(),
        );
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Join(node) => self.come_online(node),
            Ev::Publish(node) => {
                if self.online[node as usize] {
                    self.publish(node, None);
                }
            }
            Ev::Republish {
                node,
                session,
                retry_ms,
            } => {
                if self.in_session(node, session) {
                    self.publish(node, retry_ms);
                }
            }
            Ev::Plan(index) => match self.plan.events[index as usize].action.clone() {
                Action::Offline { node } => self.go_offline(node as u32),
                Action::Online { node } => self.come_online(node as u32),
                Action::Request(_) => self.begin_request(index),
            },
            Ev::Answered {
                query,
                peer,
                session,
            } => self.answered(query, peer, session),
            Ev::Failed { query, peer } => {
                if let Some(q) = self.queries.get_mut(&query) {
                    q.failures += 1;
                    let key = self.keys[peer as usize];
                    q.iter.on_failure(&key);
                    self.drive(query);
                }
            }
            Ev::Wake(query) => self.drive(query),
            Ev::QueryTimeout(query) => match self.queries.get(&query).map(|q| &q.kind) {
                // libp2p-kad ends a PutRecord that times out while it looks for
                // the closest peers with an error, storing nothing.
                Some(QueryKind::Publish { .. }) => {
                    if let Some(q) = self.queries.remove(&query) {
                        self.publish_failed(&q);
                    }
                }
                Some(QueryKind::Lookup { .. }) => {
                    if let Some(q) = self.queries.get_mut(&query) {
                        q.iter.finish();
                        self.drive(query);
                    }
                }
                None => {}
            },
            Ev::Stored {
                owner,
                holder,
                session,
            } => {
                if self.in_session(holder, session) {
                    self.store(owner, holder);
                }
            }
            Ev::Step { request, step } => self.step(request, step),
            Ev::Tick => self.tick(),
            Ev::Sweep => {
                self.connections = self.net.sweep(self.now, &self.sessions) as u64;
                self.peak_connections = self.peak_connections.max(self.connections);
                self.at(self.now + SWEEP_EVERY, Ev::Sweep);
            }
            Ev::Phase(_) => {}
        }
    }

    fn store(&mut self, owner: u32, holder: u32) {
        let session = self.sessions[holder as usize];
        let holders = &mut self.holders[owner as usize];
        holders.retain(|&(h, _)| h != holder);
        if holders.len() >= MAX_HOLDERS {
            holders.remove(0);
        }
        holders.push((holder, session));
    }

    fn holds(&self, owner: u32, holder: u32) -> bool {
        self.online[holder as usize]
            && self.holders[owner as usize]
                .iter()
                .any(|&(h, s)| h == holder && s == self.sessions[holder as usize])
    }

    fn second(&mut self) -> &mut crate::record::Second {
        let t = Duration::from_nanos(self.now.saturating_sub(self.workload_start));
        self.recorder.second(t)
    }

    fn since_start_s(&self) -> f64 {
        self.now.saturating_sub(self.workload_start) as f64 / 1e9
    }

    fn tick(&mut self) {
        let (online, connections) = (self.persons_online, self.connections);
        let second = self.second();
        second.persons_online = online;
        second.connections = connections;
        if self.now + 1_000_000_000 <= self.end {
            self.at(self.now + 1_000_000_000, Ev::Tick);
        }
    }

    fn is_person(&self, node: u32) -> bool {
        self.plan.nodes[node as usize].role == Role::Person
    }

    fn come_online(&mut self, node: u32) {
        let i = node as usize;
        if self.online[i] {
            return;
        }
        self.online[i] = true;
        if self.is_person(node) {
            self.persons_online += 1;
        }
        // It dials its bootstrap nodes and publishes its record.
        for b in self.plan.nodes[i].bootstrap.clone() {
            let b = b as u32;
            if self.online[b as usize] {
                let open = self.connection_wait(node, b).is_some();
                if !open {
                    let setup = self.net.request_ns(node, b, false, 0, 0);
                    self.counters[i].dials_ok += 1;
                    self.counters[b as usize].accepted += 1;
                    let sessions = (self.sessions[i], self.sessions[b as usize]);
                    self.net.touch(node, b, sessions, self.now + setup);
                }
            }
        }
        self.publish(node, Some(publish::FIRST_RETRY_MS));
        // Its addresses change once AutoNAT has confirmed its public address,
        // or, behind NAT, once AutoNAT's dial-backs failed and a relay
        // reservation added a relayed one; the change republishes after a
        // short settling time (`node/src/net/event_loop.rs`). AutoNAT's later
        // probes confirm the same address again, which republishes nothing.
        let session = self.sessions[i];
        let confirmed = ns(self.scenario.protocol.autonat_boot_delay) + ADDRESS_SETTLE;
        let moved = Ev::Republish {
            node,
            session,
            retry_ms: None,
        };
        if !self.plan.nodes[i].behind_nat {
            self.at(self.now + confirmed, moved);
        } else {
            let relayed = confirmed + 2 * self.connect_timeout + ADDRESS_SETTLE;
            self.at(self.now + relayed, moved);
        }
        // What waited for it.
        if let Some(steps) = self.waiting.remove(&node) {
            for (request, step) in steps {
                self.at(self.now, Ev::Step { request, step });
            }
        }
    }

    fn go_offline(&mut self, node: u32) {
        let i = node as usize;
        if !self.online[i] {
            return;
        }
        self.online[i] = false;
        // Its connections close and its records are gone with its process.
        self.sessions[i] += 1;
        if self.is_person(node) {
            self.persons_online -= 1;
        }
    }

    /// How long until a connection between `a` and `b` is usable, if one is
    /// open or opening.
    fn connection_wait(&self, a: u32, b: u32) -> Option<u64> {
        let sessions = (self.sessions[a as usize], self.sessions[b as usize]);
        self.net.open_wait(a, b, sessions, self.now)
    }

    fn new_query(&mut self, from: u32, target: Key, kind: QueryKind, results: usize) -> u32 {
        let known = self.tables[from as usize]
            .iter()
            .map(|&p| (p, self.keys[p as usize]));
        let iter = ClosestPeers::new(target, known, self.alpha, results, self.peer_timeout);
        let id = self.next_query;
        self.next_query = self.next_query.wrapping_add(1);
        self.queries.insert(
            id,
            Query {
                iter,
                kind,
                from,
                session: self.sessions[from as usize],
                started: self.now,
                requests: 0,
                failures: 0,
                records: 0,
                hops: None,
                cache: None,
            },
        );
        let timeout = self.now + ns(self.scenario.protocol.lookup_timeout);
        self.at(timeout, Ev::QueryTimeout(id));
        id
    }

    /// Asks the query's iterator what to do next, and does it.
    fn drive(&mut self, id: u32) {
        loop {
            let Some(q) = self.queries.get_mut(&id) else {
                return;
            };
            // A query of a node that went offline ends with it.
            if self.sessions[q.from as usize] != q.session {
                self.queries.remove(&id);
                return;
            }
            match q.iter.next(self.now) {
                Next::Contact(peer) => {
                    q.requests += 1;
                    let from = q.from;
                    self.send_kad(id, from, peer);
                }
                Next::Finished => {
                    if let Some(q) = self.queries.remove(&id) {
                        self.finished(q);
                    }
                    return;
                }
                Next::Waiting | Next::WaitingAtCapacity => return,
            }
        }
    }

    fn send_kad(&mut self, query: u32, from: u32, peer: u32) {
        let answer = KAD_REQUEST_BYTES + K_VALUE * KAD_PEER_BYTES + RECORD_BYTES / 2;
        let Some(took) = self.exchange(from, peer, KAD_REQUEST_BYTES, Some(answer)) else {
            let at = self.now + self.connect_timeout;
            self.at(at, Ev::Failed { query, peer });
            self.wake_at_peer_timeout(query, at);
            return;
        };
        // The peer serves it whether or not the query still wants the answer.
        let p = peer as usize;
        match self.queries.get(&query).map(|q| &q.kind) {
            Some(QueryKind::Lookup { .. }) => self.counters[p].get_record += 1,
            _ => self.counters[p].find_node += 1,
        }
        let at = self.now + took;
        let session = self.sessions[p];
        self.at(
            at,
            Ev::Answered {
                query,
                peer,
                session,
            },
        );
        self.wake_at_peer_timeout(query, at);
    }

    /// If an answer comes after the peer timeout, the iterator must look again
    /// at that time (libp2p's behaviour is polled by its timers).
    fn wake_at_peer_timeout(&mut self, query: u32, answer_at: u64) {
        let timeout = self.now + self.peer_timeout;
        if answer_at > timeout {
            self.at(timeout, Ev::Wake(query));
        }
    }

    fn bytes(&mut self, from: u32, to: u32, request: usize, answer: usize) {
        let (f, t) = (from as usize, to as usize);
        self.counters[f].bytes_sent += request as u64;
        self.counters[f].bytes_received += answer as u64;
        self.counters[t].bytes_received += request as u64;
        self.counters[t].bytes_sent += answer as u64;
    }

    fn answered(&mut self, query: u32, peer: u32, session: u32) {
        let p = peer as usize;
        let Some(q) = self.queries.get(&query) else {
            return;
        };
        let from = q.from;
        // It went offline in the meantime: the connection closed under the request.
        if self.sessions[p] != session || !self.online[p] {
            self.at(self.now, Ev::Failed { query, peer });
            return;
        }
        let target = *q.iter.target();
        let lookup = matches!(q.kind, QueryKind::Lookup { .. });
        let owner = match q.kind {
            QueryKind::Lookup { request } => self.requests[request as usize].person,
            QueryKind::Publish { owner, .. } => owner,
        };
        self.closest_in_table(peer, &target, from);
        let held = lookup && self.holds(owner, peer);
        let key = self.keys[p];
        let Some(q) = self.queries.get_mut(&query) else {
            return;
        };
        let depth = q.iter.depth(peer, &key);
        let keys = &self.keys;
        let closer = self.scratch.iter().map(|&(_, n)| (n, keys[n as usize]));
        if !q.iter.on_success(peer, &key, closer) {
            return;
        }
        if lookup {
            if held {
                q.records += 1;
                q.hops.get_or_insert(u32::from(depth));
                if q.records >= LOOKUP_RECORDS {
                    q.iter.finish();
                }
            } else {
                let d = distance(&key, &target);
                if q.cache.is_none_or(|(best, _)| d < best) {
                    q.cache = Some((d, peer));
                }
            }
        }
        self.drive(query);
    }

    /// What `node` answers a request for `target` from `asker`: the
    /// [`K_VALUE`] closest peers of its table, without the asker, in
    /// `self.scratch`.
    fn closest_in_table(&mut self, node: u32, target: &Key, asker: u32) {
        let keys = &self.keys;
        self.scratch.clear();
        self.scratch.extend(
            self.tables[node as usize]
                .iter()
                .filter(|&&p| p != asker)
                .map(|&p| (distance(&keys[p as usize], target), p)),
        );
        if self.scratch.len() > K_VALUE {
            self.scratch.select_nth_unstable(K_VALUE - 1);
            self.scratch.truncate(K_VALUE);
        }
    }

    fn finished(&mut self, q: Query) {
        match q.kind {
            QueryKind::Publish { owner, .. } => {
                // PutRecord to the closest that answered. With none, the quorum
                // of one fails, which the node counts as published: the record
                // is stored locally (`node/src/net/event_loop.rs`).
                let peers: Vec<u32> = q.iter.result().collect();
                for peer in peers {
                    self.put(owner, q.from, peer);
                }
            }
            QueryKind::Lookup { request } => {
                // GetRecord caches the record at the closest peer without it.
                if let Some((_, peer)) = q.cache.filter(|_| q.records > 0) {
                    let person = self.requests[request as usize].person;
                    self.put(person, q.from, peer);
                }
                self.lookup_done(request, &q);
            }
        }
    }

    /// Whether `node` is online in `session` still.
    fn in_session(&self, node: u32, session: u32) -> bool {
        self.online[node as usize] && self.sessions[node as usize] == session
    }

    fn message(&mut self, from: u32, to: u32) {
        self.counters[from as usize].messages_sent += 1;
        self.counters[to as usize].messages_received += 1;
    }

    /// An exchange from `from` to `to` over their connection, dialled first if
    /// none is open: how long until the answer of `answer` bytes is back, or,
    /// for a one-way message (`answer` `None`), until it arrives. `None` if `to`
    /// cannot be dialled (offline, or behind NAT with no connection open).
    fn exchange(
        &mut self,
        from: u32,
        to: u32,
        request: usize,
        answer: Option<usize>,
    ) -> Option<u64> {
        let (f, t) = (from as usize, to as usize);
        let wait = self.connection_wait(from, to);
        if wait.is_none() && (!self.online[t] || self.plan.nodes[t].behind_nat) {
            self.counters[f].dials_failed += 1;
            return None;
        }
        if wait.is_none() {
            self.counters[f].dials_ok += 1;
            self.counters[t].accepted += 1;
        }
        let open = wait.is_some();
        let took = wait.unwrap_or(0)
            + match answer {
                Some(answer) => self.net.request_ns(from, to, open, request, answer),
                None => self.net.message_ns(from, to, open, request),
            };
        self.bytes(from, to, request, answer.unwrap_or(0));
        let sessions = (self.sessions[f], self.sessions[t]);
        self.net.touch(from, to, sessions, self.now + took);
        Some(took)
    }

    fn totals(&self) -> Vec<NodeTotals> {
        self.plan
            .nodes
            .iter()
            .zip(&self.counters)
            .map(|(n, c)| NodeTotals {
                index: n.index,
                role: n.role,
                behind_nat: n.behind_nat,
                region: crate::sim::region_name(&self.scenario, n.index),
                bytes_sent: c.bytes_sent,
                bytes_received: c.bytes_received,
                messages_sent: c.messages_sent,
                messages_received: c.messages_received,
                dials_ok: c.dials_ok,
                dials_failed: c.dials_failed,
                accepted: c.accepted,
                dht_find_node: c.find_node,
                dht_get_record: c.get_record,
                dht_put_record: c.put_record,
            })
            .collect()
    }
}
