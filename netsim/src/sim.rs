//! The runner: builds every node of the plan as a real [`Passport`] (the production
//! node, consent engine, protocol and libp2p behaviours) over the simulated
//! transport, plays the plan in real time and records what happens.
//!
//! Phases: **join** (infrastructure, then merchants and persons, spread over
//! `join`), **settle** (every node publishes its record once more, now that the
//! network has formed, as the 12-hourly republish would; AutoNAT and relay
//! reservations finish), **workload** (the plan's events at their times), and
//! **drain** (answers still in flight may land).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures::StreamExt as _;
use libp2p::{
    PeerId, Transport as _,
    core::upgrade::Version,
    identity,
    kad::{KBucketDistance, KBucketKey},
    multiaddr::Protocol,
    noise, plaintext, yamux,
};
use passport_node::{
    Event, Keys, Node, NodeConfig, Passport, PassportError, RequestAnswer, RequestSpec,
    audit::AuditEvent,
    consent::{Effect, FieldScope, Policy},
    merchant::RequestStatus,
    metrics::ProcessUsage,
    net::{BoxedTransport, Client, NetConfig, NetError, Response},
    node::system_now,
    person::Approval,
    protocol::{FieldName, FieldValue, GrantId, MessageId, PassportId, PeerRecord},
    storage::MemoryStorage,
};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use tokio::{sync::watch, time::Instant};

use crate::{
    plan::{Action, Answer, NodePlan, Plan, PlannedRequest, Role},
    record::{LookupSample, Outcome, Path, Recorder, RequestSample},
    scenario::{Scenario, Security},
    transport::{SimNet, addr_of},
};

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A node could not be built.
    #[error("could not set up node {index}: {message}")]
    Setup {
        /// The node.
        index: usize,
        /// Why.
        message: String,
    },
    /// The async runtime could not start.
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Show a progress bar on the terminal.
    pub progress: bool,
}

/// Wall time, CPU and memory of a run.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// Building the nodes (keys, stores, fields, policies), in seconds.
    pub setup_s: f64,
    /// The whole run, in seconds.
    pub wall_s: f64,
    /// CPU time of the whole process (all threads), in seconds.
    pub cpu_s: f64,
    /// Of that, while nodes joined.
    pub cpu_join_s: f64,
    /// While the network settled (publishing, AutoNAT, relay reservations).
    pub cpu_settle_s: f64,
    /// During the workload and the drain.
    pub cpu_workload_s: f64,
    /// Peak resident memory, in MiB.
    pub peak_rss_mib: f64,
    /// Worker threads of the runtime.
    pub threads: usize,
    /// The most connections open at once.
    pub peak_connections: u64,
}

/// Per-node totals.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeTotals {
    /// Its index (its address is `10.0.0.1` + index).
    pub index: usize,
    /// Its role.
    pub role: Role,
    /// Whether it is behind NAT.
    pub behind_nat: bool,
    /// Bytes sent and received on its connections (every protocol).
    pub bytes_sent: u64,
    /// See `bytes_sent`.
    pub bytes_received: u64,
    /// Passport messages it sent and received (requests, decisions, revocations,
    /// receipts).
    pub messages_sent: u64,
    /// See `messages_sent`.
    pub messages_received: u64,
    /// Connections it dialled, failed to dial, and accepted.
    pub dials_ok: u64,
    /// See `dials_ok`.
    pub dials_failed: u64,
    /// See `dials_ok`.
    pub accepted: u64,
    /// Kademlia requests it answered since it last came online: for the closest
    /// peers to a key, for a record, and records offered for storage.
    pub dht_find_node: u64,
    /// See `dht_find_node`.
    pub dht_get_record: u64,
    /// See `dht_find_node`.
    pub dht_put_record: u64,
}

/// What a finished run hands the reports.
#[derive(Debug)]
pub struct Finished {
    /// The scenario run.
    pub scenario: Scenario,
    /// Its plan.
    pub plan: Plan,
    /// Everything recorded.
    pub recorder: Recorder,
    /// Per node.
    pub nodes: Vec<NodeTotals>,
    /// Wall time, CPU and memory.
    pub resources: Resources,
    /// How the NAT'd persons stood when the workload began.
    pub nat: NatStatus,
}

/// How the NAT'd persons stood when the workload began.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct NatStatus {
    /// Persons behind NAT.
    pub behind_nat: usize,
    /// Of those, the ones AutoNAT found private.
    pub found_private: usize,
    /// Of those, the ones holding a relay reservation (a `/p2p-circuit` address).
    pub relayed: usize,
    /// Public nodes AutoNAT wrongly found private.
    pub public_found_private: usize,
}

struct SimNode {
    plan: NodePlan,
    node: Node,
    keypair: identity::Keypair,
    /// The running handle, while the node is online (started and stopped under
    /// this lock).
    running: tokio::sync::Mutex<Option<Passport>>,
    /// A clone of it, for reading without waiting on a start or stop.
    passport: Mutex<Option<Passport>>,
    online: watch::Sender<bool>,
    messages_sent: AtomicU64,
    messages_received: AtomicU64,
}

struct Sim {
    scenario: Scenario,
    plan: Plan,
    net: Arc<SimNet>,
    nodes: Vec<SimNode>,
    by_peer: HashMap<PeerId, usize>,
    field_sets: Vec<Vec<FieldName>>,
    recorder: Mutex<Recorder>,
    /// When the workload started.
    started: OnceLock<Instant>,
    /// Requests started and not yet ended, by sequence number.
    open: Mutex<BTreeMap<u64, (Answer, f64)>>,
    /// Answers and revocations under way (the drain waits for them).
    followups: AtomicU64,
    progress: indicatif::ProgressBar,
}

/// How a request ended: what its sample records besides its start and policy.
struct Ended {
    path: Option<Path>,
    outcome: Outcome,
    latency_ms: Option<f64>,
    reason: Option<String>,
}

impl Ended {
    fn failed(path: Option<Path>, reason: impl Into<String>) -> Self {
        Self {
            path,
            outcome: Outcome::Failed,
            latency_ms: None,
            reason: Some(reason.into()),
        }
    }

    /// The request's sample: this, for a request begun at `at_s` (seconds into
    /// the workload) to a person whose standing answer is `policy`.
    fn sample(self, at_s: f64, policy: Answer) -> RequestSample {
        RequestSample {
            at_s,
            policy,
            path: self.path,
            outcome: self.outcome,
            latency_ms: self.latency_ms,
            reason: self.reason,
        }
    }
}

/// Counts a follow-up task while it lives.
struct Followup(Arc<Sim>);

impl Followup {
    fn new(sim: &Arc<Sim>) -> Self {
        sim.followups.fetch_add(1, Ordering::SeqCst);
        Self(sim.clone())
    }
}

impl Drop for Followup {
    fn drop(&mut self) {
        self.0.followups.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `scenario` to the end on a new multi-threaded runtime.
pub fn run(scenario: &Scenario, options: &Options) -> Result<Finished, SimError> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        // The node's blocking work is on in-memory stores: short, so a few threads.
        .max_blocking_threads(16)
        .enable_all()
        .build()
        .map_err(SimError::Runtime)?;
    let finished = runtime.block_on(run_async(scenario.clone(), options.clone()));
    // Tasks still waiting (retries of undeliverable messages) end with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(2));
    finished.map(|mut f| {
        f.resources.threads = threads;
        f
    })
}

async fn run_async(scenario: Scenario, options: Options) -> Result<Finished, SimError> {
    let wall = std::time::Instant::now();
    let cpu_before = ProcessUsage::now().cpu_seconds;
    let plan = Plan::new(&scenario);
    let behind_nat: Vec<bool> = plan.nodes.iter().map(|n| n.behind_nat).collect();
    let net = SimNet::new(scenario.link.clone(), scenario.seed, &behind_nat);
    let field_sets = scenario.field_sets();
    let mut nodes = Vec::with_capacity(plan.nodes.len());
    for node_plan in &plan.nodes {
        nodes.push(build_node(node_plan, &field_sets)?);
    }
    let by_peer = nodes
        .iter()
        .map(|n| (n.keypair.public().to_peer_id(), n.plan.index))
        .collect();
    let setup_s = wall.elapsed().as_secs_f64();
    let total = scenario.join + scenario.settle + scenario.duration + scenario.drain;
    let progress = if options.progress {
        indicatif::ProgressBar::new(total.as_secs().max(1))
    } else {
        indicatif::ProgressBar::hidden()
    };
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let sim = Arc::new(Sim {
        scenario,
        plan,
        net,
        nodes,
        by_peer,
        field_sets,
        recorder: Mutex::new(Recorder::default()),
        started: OnceLock::new(),
        open: Mutex::new(BTreeMap::new()),
        followups: AtomicU64::new(0),
        progress,
    });
    let run_start = Instant::now();
    let ticker = tokio::spawn(sim.clone().tick(run_start));

    // Join.
    sim.progress.set_message("joining");
    let mut joins = tokio::task::JoinSet::new();
    for index in 0..sim.nodes.len() {
        let at = run_start + sim.plan.nodes[index].join_at;
        let sim = sim.clone();
        joins.spawn(async move {
            tokio::time::sleep_until(at).await;
            sim.start(index).await
        });
    }
    while let Some(joined) = joins.join_next().await {
        if let Ok(Err(e)) = joined {
            return Err(e);
        }
    }
    sim.phase("joined", run_start);
    tokio::time::sleep_until(run_start + sim.scenario.join).await;
    let cpu_settle = ProcessUsage::now().cpu_seconds;

    // Settle: publish once more on the formed network.
    sim.progress.set_message("settling");
    let settle_end = Instant::now() + sim.scenario.settle;
    // Spread over most of the phase, so the network is not asked for every
    // record at once.
    let spacing = sim.scenario.settle.mul_f64(0.8) / sim.nodes.len().max(1) as u32;
    let mut publishes = tokio::task::JoinSet::new();
    for index in 0..sim.nodes.len() {
        if let Some(client) = sim.client(index) {
            let at = Instant::now() + spacing * index as u32;
            publishes.spawn(async move {
                tokio::time::sleep_until(at).await;
                let _ = client.publish().await;
            });
        }
    }
    while publishes.join_next().await.is_some() {}
    tokio::time::sleep_until(settle_end).await;
    sim.phase("settled", run_start);

    let nat = sim.nat_status().await;

    // Workload.
    let cpu_workload = ProcessUsage::now().cpu_seconds;
    sim.progress.set_message("running");
    let started = Instant::now();
    let _ = sim.started.set(started);
    let mut tasks = tokio::task::JoinSet::new();
    for (seq, event) in sim.plan.events.iter().enumerate() {
        tokio::time::sleep_until(started + event.at).await;
        let sim = sim.clone();
        let action = event.action.clone();
        tasks.spawn(async move { sim.act(seq as u64, action).await });
    }
    tokio::time::sleep_until(started + sim.scenario.duration).await;
    sim.phase("workload played", run_start);

    // Drain.
    sim.progress.set_message("draining");
    let drain_end = Instant::now() + sim.scenario.drain;
    while tokio::time::timeout_at(drain_end, tasks.join_next())
        .await
        .is_ok_and(|next| next.is_some())
    {}
    while sim.followups.load(Ordering::SeqCst) > 0 && Instant::now() < drain_end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tasks.abort_all();
    ticker.abort();
    sim.phase("drained", run_start);
    let usage = ProcessUsage::now();
    let (peak_rss_mib, cpu_s) = (usage.peak_mib(), usage.cpu_seconds - cpu_before);
    sim.progress.finish_and_clear();

    let mut recorder = std::mem::take(&mut *lock(&sim.recorder));
    for (answer, at_s) in std::mem::take(&mut *lock(&sim.open)).into_values() {
        let unfinished = Ended {
            outcome: Outcome::Unfinished,
            ..Ended::failed(None, "run_ended")
        };
        recorder.requests.push(unfinished.sample(at_s, answer));
    }
    let statuses = sim.statuses().await;
    let nodes = sim
        .nodes
        .iter()
        .zip(statuses)
        .map(|(n, status)| {
            let served = status.map(|s| s.dht_served).unwrap_or_default();
            let traffic = sim.net.traffic(n.plan.index);
            let get = |f: fn(&crate::transport::Traffic) -> &AtomicU64| {
                traffic.map_or(0, |t| f(t).load(Ordering::Relaxed))
            };
            NodeTotals {
                index: n.plan.index,
                role: n.plan.role,
                behind_nat: n.plan.behind_nat,
                bytes_sent: get(|t| &t.bytes_sent),
                bytes_received: get(|t| &t.bytes_received),
                messages_sent: n.messages_sent.load(Ordering::Relaxed),
                messages_received: n.messages_received.load(Ordering::Relaxed),
                dials_ok: get(|t| &t.dials_ok),
                dials_failed: get(|t| &t.dials_failed),
                accepted: get(|t| &t.accepted),
                dht_find_node: served.find_node,
                dht_get_record: served.get_record,
                dht_put_record: served.put_record,
            }
        })
        .collect();
    // Tasks still retrying deliveries hold the simulation; they end with the runtime.
    let (scenario, plan) = (sim.scenario.clone(), sim.plan.clone());
    Ok(Finished {
        scenario,
        plan,
        recorder,
        nodes,
        nat,
        resources: Resources {
            setup_s,
            wall_s: wall.elapsed().as_secs_f64(),
            cpu_s,
            cpu_join_s: cpu_settle - cpu_before,
            cpu_settle_s: cpu_workload - cpu_settle,
            cpu_workload_s: cpu_before + cpu_s - cpu_workload,
            peak_rss_mib,
            threads: 0,
            peak_connections: sim.net.peak_connections(),
        },
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn build_node(plan: &NodePlan, field_sets: &[Vec<FieldName>]) -> Result<SimNode, SimError> {
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

/// How long a simulated merchant waits for a person's decision: longer than any
/// run, which the drain ends.
const UNTIL_THE_RUN_ENDS: Duration = Duration::from_secs(365 * 86_400);

/// [`reason`] for a failure behind the [`Passport`] handle.
pub fn passport_reason(e: &PassportError) -> &'static str {
    match e {
        PassportError::Net(e) => reason(e),
        PassportError::Node(_) => "node",
        PassportError::Offline => "stopped",
        PassportError::AlreadySending => "already_sending",
        PassportError::Interrupted(_) => "interrupted",
        _ => "other",
    }
}

/// A NetError's reason, as reports name it.
pub fn reason(e: &NetError) -> &'static str {
    match e {
        NetError::NotFound(_) => "not_found",
        NetError::Timeout(_) => "timeout",
        NetError::Unreachable(_) => "unreachable",
        NetError::Refused(_) => "refused",
        NetError::Busy => "busy",
        NetError::Stopped => "stopped",
        NetError::Protocol(_) => "protocol",
        NetError::Node(_) => "node",
        NetError::Interrupted(_) => "interrupted",
        _ => "other",
    }
}

impl Sim {
    fn passport(&self, index: usize) -> Option<Passport> {
        self.nodes
            .get(index)
            .and_then(|n| lock(&n.passport).clone())
    }

    fn client(&self, index: usize) -> Option<Client> {
        self.passport(index)
            .and_then(|passport| passport.client().cloned())
    }

    fn peer_of(&self, index: usize) -> PeerId {
        self.nodes[index].keypair.public().to_peer_id()
    }

    fn p2p_addr(&self, index: usize) -> libp2p::Multiaddr {
        addr_of(index).with(Protocol::P2p(self.peer_of(index)))
    }

    /// Says on stderr (or above the progress bar) that a phase ended, with the
    /// time it ended and the CPU used so far: a saturated run shows here first.
    fn phase(&self, what: &str, run_start: Instant) {
        let usage = ProcessUsage::now();
        let line = format!(
            "{what} at {:.0} s ({:.0} s CPU so far, {:.0} MiB)",
            run_start.elapsed().as_secs_f64(),
            usage.cpu_seconds,
            usage.resident_mib()
        );
        if self.progress.is_hidden() {
            eprintln!("{line}");
        } else {
            self.progress.println(line);
        }
    }

    fn since_start(&self) -> Duration {
        self.started.get().map_or(Duration::ZERO, |s| s.elapsed())
    }

    fn record(&self, f: impl FnOnce(&mut Recorder, Duration)) {
        let t = self.since_start();
        f(&mut lock(&self.recorder), t);
    }

    fn net_config(&self, index: usize) -> NetConfig {
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
            ..NetConfig::default()
        }
    }

    fn transport(&self, index: usize) -> Result<BoxedTransport, SimError> {
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

    /// Brings node `index` online: a real daemon over the simulated transport.
    async fn start(&self, index: usize) -> Result<(), SimError> {
        let sim_node = &self.nodes[index];
        let mut running = sim_node.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        self.net.set_online(index, true);
        let (started, _events) = Passport::with_node(sim_node.node.clone())
            .keypair(sim_node.keypair.clone())
            .network(self.net_config(index))
            .transport(self.transport(index)?)
            .spawn()
            .await
            .map_err(|e| SimError::Setup {
                index,
                message: e.to_string(),
            })?;
        *lock(&sim_node.passport) = Some(started.clone());
        *running = Some(started);
        sim_node.online.send_replace(true);
        Ok(())
    }

    /// Takes node `index` offline: its daemon stops and its connections close.
    async fn stop(&self, index: usize) {
        let sim_node = &self.nodes[index];
        let mut running = sim_node.running.lock().await;
        let Some(stopping) = running.take() else {
            return;
        };
        self.net.set_online(index, false);
        sim_node.online.send_replace(false);
        *lock(&sim_node.passport) = None;
        stopping.shutdown().await;
    }

    /// Every online node's network status, in node order.
    async fn statuses(&self) -> Vec<Option<passport_node::net::Status>> {
        // All at once: one at a time, a busy runtime makes this take minutes.
        futures::future::join_all((0..self.nodes.len()).map(|index| async move {
            match self.client(index) {
                Some(client) => client.status().await.ok(),
                None => None,
            }
        }))
        .await
    }

    async fn nat_status(&self) -> NatStatus {
        let statuses = self.statuses().await;
        let mut status = NatStatus::default();
        for (plan, net) in self.plan.nodes.iter().zip(statuses) {
            let Some(net) = net else {
                continue;
            };
            let private = net.reachability == passport_node::net::Reachability::Private;
            if plan.behind_nat {
                status.behind_nat += 1;
                status.found_private += usize::from(private);
                status.relayed += usize::from(!net.relay_addrs.is_empty());
            } else {
                status.public_found_private += usize::from(private);
            }
        }
        status
    }

    /// Waits until node `index` is online (or returns at once).
    async fn until_online(&self, index: usize) {
        let mut online = self.nodes[index].online.subscribe();
        let _ = online.wait_for(|up| *up).await;
    }

    /// Every second: persons online, bytes, progress.
    async fn tick(self: Arc<Self>, run_start: Instant) {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        let mut last_bytes = 0u64;
        loop {
            every.tick().await;
            self.progress.set_position(
                run_start
                    .elapsed()
                    .as_secs()
                    .min(self.progress.length().unwrap_or(0)),
            );
            let Some(_) = self.started.get() else {
                continue;
            };
            let online = self
                .nodes
                .iter()
                .filter(|n| n.plan.role == Role::Person && *n.online.borrow())
                .count() as u64;
            let bytes: u64 = (0..self.nodes.len())
                .filter_map(|i| self.net.traffic(i))
                .map(|t| t.bytes_sent.load(Ordering::Relaxed))
                .sum();
            let message = {
                let mut r = lock(&self.recorder);
                let t = self
                    .since_start()
                    .saturating_sub(Duration::from_millis(500));
                let second = r.second(t);
                second.persons_online = online;
                second.bytes = bytes - last_bytes;
                second.connections = self.net.open_connections();
                // From the per-second counts: the samples grow with the run.
                let (ok, all) = r
                    .seconds
                    .iter()
                    .fold((0, 0), |(ok, all), s| (ok + s.lookups_ok, all + s.lookups));
                format!("lookups {ok}/{all}  grants {}  online {online}", r.grants)
            };
            last_bytes = bytes;
            self.progress.set_message(message);
        }
    }

    async fn act(self: Arc<Self>, seq: u64, action: Action) {
        match action {
            Action::Offline { node } => self.stop(node).await,
            Action::Online { node } => {
                if let Err(e) = self.start(node).await {
                    tracing::warn!(error = %e, "a node could not come back online");
                }
            }
            Action::Request(planned) => {
                let policy = self.plan.nodes[planned.person]
                    .answer
                    .unwrap_or(Answer::Ask);
                let at_s = self.since_start().as_secs_f64();
                lock(&self.open).insert(seq, (policy, at_s));
                self.record(|r, t| r.second(t).requests += 1);
                let ended = self.request(&planned).await;
                lock(&self.open).remove(&seq);
                self.record(|r, t| {
                    match ended.outcome {
                        Outcome::Failed => r.second(t).failures += 1,
                        _ => r.second(t).decisions += 1,
                    }
                    if ended.outcome == Outcome::Granted {
                        r.grants += 1;
                        r.second(t).grants += 1;
                    }
                    r.requests.push(ended.sample(at_s, policy));
                });
            }
        }
    }

    /// One request, from the merchant's lookup to the decision stored at the
    /// merchant.
    async fn request(self: &Arc<Self>, planned: &PlannedRequest) -> Ended {
        let (merchant, person) = (planned.merchant, planned.person);
        let Some(client) = self.client(merchant) else {
            return Ended::failed(None, "merchant_offline");
        };
        // Asked before the clock starts: it is the simulator's question, not part
        // of the request. The lookup does not connect to the person.
        let path = self.path(&client, person).await;
        let began = Instant::now();
        let person_id = self.nodes[person].node.id();
        let (found, trace) = client.lookup_traced(person_id).await;
        let lookup_ms = began.elapsed().as_secs_f64() * 1e3;
        let lookup = LookupSample {
            at_s: self.since_start().as_secs_f64() - lookup_ms / 1e3,
            ok: found.is_ok(),
            latency_ms: lookup_ms,
            requests: trace.requests,
            failed_requests: trace.failures,
            hops: None,
            reason: found.as_ref().err().map(|e| reason(e).to_string()),
        };
        self.record(|r, t| {
            let second = r.second(t);
            second.lookups += 1;
            second.lookups_ok += u64::from(lookup.ok);
        });
        let record = match found {
            Ok(record) => record,
            Err(e) => {
                self.record(|r, _| r.lookups.push(lookup));
                return Ended::failed(None, format!("lookup_{}", reason(&e)));
            }
        };
        // The replay asks many nodes' event loops; off the request's path, so it
        // adds nothing to the request's latency.
        let replay = {
            let sim = self.clone();
            tokio::spawn(async move { sim.replay_hops(merchant, person_id).await })
        };
        let mut ended = self.send_request(&record, path, planned, began).await;
        // A failed dial or a closed connection: a merchant's backend sends a new
        // request once, after the wait the node's own delivery retries start with
        // (an immediate one can meet the same failing dial), and so does the
        // simulator, counting it.
        if ended.outcome == Outcome::Failed && ended.reason.as_deref() == Some("unreachable") {
            self.record(|r, _| r.retries += 1);
            tokio::time::sleep(NetConfig::default().retry_initial).await;
            ended = self.send_request(&record, path, planned, began).await;
        }
        let hops = replay.await.ok().flatten();
        self.record(|r, _| r.lookups.push(LookupSample { hops, ..lookup }));
        ended
    }

    /// The request itself, once the person's record is found.
    async fn send_request(
        self: &Arc<Self>,
        record: &PeerRecord,
        path: Path,
        planned: &PlannedRequest,
        began: Instant,
    ) -> Ended {
        let (merchant, person) = (planned.merchant, planned.person);
        let path = Some(path);

        let Some(shop) = self.passport(merchant) else {
            return Ended::failed(path, "merchant_offline");
        };
        let spec = RequestSpec::new(
            &format!("Shop {merchant}"),
            self.field_sets[planned.fields].iter().cloned(),
            "simulation",
            self.scenario.workload.grant_duration_s,
        );
        self.count_message(merchant, person);
        let outcome = match shop.request_to_record(record, spec, Duration::ZERO).await {
            Ok(outcome) => outcome,
            Err(PassportError::Node(_)) => return Ended::failed(path, "merchant_store"),
            Err(e) => {
                tracing::debug!(
                    merchant,
                    person,
                    ?path,
                    addresses = ?record.addresses,
                    sequence = record.sequence,
                    error = %e,
                    "a request failed"
                );
                return Ended::failed(path, passport_reason(&e));
            }
        };
        let request_id = outcome.request_id;
        let status = match outcome.answer {
            // Decided without waiting: the decision came back as the answer.
            RequestAnswer::Decided(status) => {
                self.count_message(person, merchant);
                Some(status)
            }
            RequestAnswer::Pending => {
                let followup = Followup::new(self);
                let (after, approve) = (planned.answer_after, planned.approve);
                tokio::spawn(async move {
                    followup
                        .0
                        .answer(person, merchant, request_id, after, approve)
                        .await;
                });
                self.decision(&shop, request_id).await
            }
            RequestAnswer::Accepted | RequestAnswer::AlreadyReceived => {
                return Ended::failed(path, "unexpected_answer");
            }
        };
        let decided = |outcome| Ended {
            path,
            outcome,
            latency_ms: Some(began.elapsed().as_secs_f64() * 1e3),
            reason: None,
        };
        match status {
            Some(RequestStatus::Granted { grant }) => {
                if let Some(after) = planned.revoke_after {
                    let followup = Followup::new(self);
                    tokio::spawn(async move {
                        followup.0.revoke(person, merchant, grant, after).await;
                    });
                }
                decided(Outcome::Granted)
            }
            Some(RequestStatus::Refused { .. }) => decided(Outcome::Denied),
            Some(RequestStatus::Waiting) | None => Ended::failed(path, "no_decision"),
        }
    }

    /// Direct if the person is publicly reachable or a direct connection to it
    /// exists; relayed otherwise.
    async fn path(&self, client: &Client, person: usize) -> Path {
        if !self.plan.nodes[person].behind_nat {
            return Path::Direct;
        }
        let peer = self.peer_of(person);
        let direct = client.peers().await.is_ok_and(|peers| {
            peers.iter().any(|(p, addrs)| {
                *p == peer
                    && addrs
                        .iter()
                        .any(|a| !a.iter().any(|p| p == Protocol::P2pCircuit))
            })
        });
        if direct { Path::Direct } else { Path::Relayed }
    }

    fn count_message(&self, from: usize, to: usize) {
        self.nodes[from]
            .messages_sent
            .fetch_add(1, Ordering::Relaxed);
        self.nodes[to]
            .messages_received
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Waits until the merchant's store holds a decision on `request_id`.
    async fn decision(&self, shop: &Passport, request_id: MessageId) -> Option<RequestStatus> {
        // As long as the run lasts: the drain ends the run, not this wait.
        let status = shop.decision(request_id, UNTIL_THE_RUN_ENDS).await.ok()?;
        status.filter(|s| !matches!(s, RequestStatus::Waiting))
    }

    /// The person answers an `ask` request after `after`, when online.
    async fn answer(
        &self,
        person: usize,
        merchant: usize,
        request_id: MessageId,
        after: Duration,
        approve: bool,
    ) {
        tokio::time::sleep(after).await;
        self.until_online(person).await;
        let Some(passport) = self.passport(person) else {
            return;
        };
        let sending = if approve {
            passport.approve(request_id, Approval::default()).await
        } else {
            passport.deny(request_id, "not now".into()).await
        };
        let Ok(sending) = sending else {
            self.record(|r, _| {
                *r.delivery_failures
                    .entry("answer_store".into())
                    .or_default() += 1
            });
            return;
        };
        self.delivered(person, merchant, sending).await;
    }

    /// Waits for a person's message to be delivered, counting it; if the person
    /// goes offline first, the outbox sends it when the person is back.
    async fn delivered(&self, person: usize, merchant: usize, sending: passport_node::Sending) {
        self.count_message(person, merchant);
        match sending.delivered().await {
            Ok(Response::Message(_)) => self.count_message(merchant, person),
            Ok(_) => {}
            Err(e) => self.record(|r, _| {
                *r.delivery_failures
                    .entry(passport_reason(&e).into())
                    .or_default() += 1;
            }),
        }
    }

    /// The person revokes a grant `after` it arrived, and waits for the receipt.
    async fn revoke(&self, person: usize, merchant: usize, grant: GrantId, after: Duration) {
        tokio::time::sleep(after).await;
        self.until_online(person).await;
        let Some(passport) = self.passport(person) else {
            return;
        };
        // The node and its events outlive restarts: the receipt may come later,
        // through the merchant's outbox after either side restarted, so read the
        // store through a handle of its own rather than the running one.
        let store = Passport::offline(self.nodes[person].node.clone());
        let mut events = store.events();
        let Ok(sending) = passport.revoke(grant).await else {
            self.record(|r, _| {
                *r.delivery_failures
                    .entry("revoke_store".into())
                    .or_default() += 1
            });
            return;
        };
        self.record(|r, t| {
            r.revoked += 1;
            r.second(t).revoked += 1;
        });
        self.delivered(person, merchant, sending).await;
        loop {
            let erased = store.grants().await.ok().is_some_and(|grants| {
                grants
                    .iter()
                    .any(|g| g.grant_id == grant && g.receipt.is_some())
            });
            if erased {
                self.record(|r, t| {
                    r.erased += 1;
                    r.second(t).erased += 1;
                });
                return;
            }
            // Reread when a receipt arrives (or when this fell behind).
            loop {
                match events.next().await {
                    None => return,
                    Some(Event::Lagged { .. }) => break,
                    Some(Event::Committed { event, .. }) => {
                        if matches!(event, AuditEvent::ReceiptReceived { .. }) {
                            break;
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// The hops of a lookup for `id` from `merchant`, replayed on the routing
    /// tables as they are now: closest-first, each peer's depth one more than that
    /// of the first peer that named it, until a peer holds the record. libp2p does
    /// not expose a live query's path; see the README for what this does and does
    /// not measure.
    async fn replay_hops(&self, merchant: usize, id: PassportId) -> Option<u32> {
        let target = KBucketKey::new(PeerRecord::dht_key(&id));
        let distance =
            |peer: &PeerId| -> KBucketDistance { KBucketKey::from(*peer).distance(&target) };
        let start = self.client(merchant)?.routing_view(id).await.ok()?;
        if start.holds_record {
            return Some(0);
        }
        let mut seen: HashSet<PeerId> = start.closest.iter().copied().collect();
        seen.insert(self.peer_of(merchant));
        let mut queue: BTreeMap<KBucketDistance, (PeerId, u32)> = start
            .closest
            .iter()
            .map(|p| (distance(p), (*p, 1)))
            .collect();
        let mut contacted = 0;
        while let Some((_, (peer, depth))) = queue.pop_first() {
            contacted += 1;
            if contacted > 200 {
                return None;
            }
            // Unknown, NAT'd or offline peers fail, as a real dial to them would.
            let Some(&index) = self.by_peer.get(&peer) else {
                continue;
            };
            if self.plan.nodes[index].behind_nat {
                continue;
            }
            let Some(client) = self.client(index) else {
                continue;
            };
            let Ok(view) = client.routing_view(id).await else {
                continue;
            };
            if view.holds_record {
                return Some(depth);
            }
            for p in view.closest {
                if seen.insert(p) {
                    queue.insert(distance(&p), (p, depth + 1));
                }
            }
        }
        None
    }
}
