//! The runner: builds every node of the plan as a real [`Passport`] (the production
//! node, consent engine, protocol and libp2p behaviours) over the simulated
//! transport, plays the plan in virtual time (or real time) and records what
//! happens.
//!
//! Phases: **join** (infrastructure, then merchants and persons, spread over
//! `join`), **settle** (every node publishes its record once more, now that the
//! network has formed, as the 12-hourly republish would; AutoNAT and relay
//! reservations finish), **workload** (the plan's events at their times), and
//! **drain** (answers still in flight may land).
//!
//! Layout: this file starts and stops the nodes (churn) and runs the phases;
//! `nodes.rs` builds each node and what it runs with (network settings,
//! mailboxes, transport); `workload.rs` plays the plan's actions (requests,
//! answers, revocations and what each records); `hops.rs` replays a lookup's hops
//! for the report.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use libp2p::{PeerId, identity, multiaddr::Protocol};
use passport_node::{
    Node, Passport, PassportError,
    metrics::ProcessUsage,
    net::{Client, NetError},
    protocol::FieldName,
};
use tokio::{sync::watch, time::Instant};

use crate::{
    plan::{Answer, NodePlan, Plan, Role},
    record::Recorder,
    routing,
    scenario::{Clock, RoutingTables, Scenario, Tier},
    transport::{SimNet, addr_of},
};

mod hops;
mod nodes;
mod workload;

use self::{nodes::build_node, workload::Ended};

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
    /// In virtual time, a timer or clock read escaped the runtime's clock: the
    /// results would mix virtual and wall-clock time, so they are not reported.
    #[error(
        "{timers} timers and {reads} clock reads escaped virtual time; the results would be wrong. Rerun with clock = \"real\" and report this as a bug"
    )]
    ClockEscaped {
        /// libp2p timers created outside the runtime.
        timers: u64,
        /// libp2p clock reads made outside the runtime.
        reads: u64,
    },
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Show a progress bar on the terminal.
    pub progress: bool,
}

/// Wall time, CPU and memory of a run.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Resources {
    /// The tier that ran it.
    pub tier: crate::scenario::Tier,
    /// The clock the run lived on.
    pub clock: Clock,
    /// Simulated seconds, from the first join to the end of the drain.
    pub simulated_s: f64,
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

/// The name of node `index`'s region, or nothing without a matrix.
pub(crate) fn region_name(scenario: &Scenario, index: usize) -> String {
    scenario
        .link
        .regions
        .as_ref()
        .map_or_else(String::new, |r| r.name_of(scenario.seed, index).to_owned())
}

/// Per-node totals, a row of `nodes.csv`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NodeTotals {
    /// Its index (its address is `10.0.0.1` + index).
    pub index: usize,
    /// Its role.
    pub role: Role,
    /// Whether it is behind NAT.
    pub behind_nat: bool,
    /// Its region, with `[link.regions]`; empty without.
    pub region: String,
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

impl NodeTotals {
    /// Kademlia requests it answered, of every kind.
    pub fn dht_served(&self) -> u64 {
        self.dht_find_node + self.dht_get_record + self.dht_put_record
    }
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
    /// Each node's converged routing table (node indices), when the scenario
    /// asks for them; empty otherwise.
    tables: Vec<Vec<u32>>,
    /// When the run started by the wall clock.
    wall_start: std::time::Instant,
}

/// Runs `scenario` to the end: in virtual time on one thread, or in real time
/// on every core (`scenario.clock`); or in the model (`scenario.tier`).
pub fn run(scenario: &Scenario, options: &Options) -> Result<Finished, SimError> {
    if scenario.tier == Tier::Model {
        return crate::model::run(scenario);
    }
    let (runtime, threads) = match scenario.clock {
        Clock::Virtual => {
            // libp2p's timers and clock, and the node's protocol clock, follow the
            // runtime's from now on in this process. On a runtime that is not
            // paused that is the wall clock again, so a later real-time run in the
            // same process is unaffected.
            futures_timer::use_tokio_clock(true);
            web_time::use_tokio_clock(true);
            passport_node::clock::follow_runtime_clock(true);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                // Blocking work (the in-memory stores) holds the clock while it
                // runs, and takes the other core.
                .max_blocking_threads(16)
                .build();
            (runtime, 1)
        }
        Clock::Real => {
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                // The node's blocking work is on in-memory stores: short, so a few threads.
                .max_blocking_threads(16)
                .enable_all()
                .build();
            (runtime, threads)
        }
    };
    let runtime = runtime.map_err(SimError::Runtime)?;
    let escaped_before = escaped();
    let finished = runtime.block_on(run_async(scenario.clone(), options.clone()));
    let escaped_after = escaped();
    // Tasks still waiting (retries of undeliverable messages) end with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(2));
    let mut finished = finished?;
    finished.resources.threads = threads;
    if scenario.clock == Clock::Virtual {
        let timers = escaped_after.0 - escaped_before.0;
        let reads = escaped_after.1 - escaped_before.1;
        if timers > 0 || reads > 0 {
            return Err(SimError::ClockEscaped { timers, reads });
        }
    }
    Ok(finished)
}

/// libp2p timers and clock reads that escaped a runtime's clock so far in this
/// process (each counted only while the switch is on).
fn escaped() -> (u64, u64) {
    (
        futures_timer::native_delays_created(),
        web_time::reads_outside_runtime(),
    )
}

async fn run_async(scenario: Scenario, options: Options) -> Result<Finished, SimError> {
    let wall = std::time::Instant::now();
    let cpu_before = ProcessUsage::now().cpu_seconds;
    let plan = Plan::new(&scenario);
    let behind_nat: Vec<bool> = plan.nodes.iter().map(|n| n.behind_nat).collect();
    let net = SimNet::new(scenario.link.clone(), scenario.seed, &behind_nat);
    net.set_cpu_burn(Duration::from_micros(scenario.cpu_burn_us));
    let field_sets = scenario.field_sets();
    let mut nodes = Vec::with_capacity(plan.nodes.len());
    for node_plan in &plan.nodes {
        nodes.push(build_node(node_plan, &field_sets)?);
    }
    let by_peer = nodes
        .iter()
        .map(|n| (n.keypair.public().to_peer_id(), n.plan.index))
        .collect();
    let tables = match scenario.protocol.routing_tables {
        RoutingTables::Learned => Vec::new(),
        RoutingTables::Converged => {
            let keys: Vec<_> = nodes
                .iter()
                .map(|n| routing::kad_key(&n.keypair.public().to_peer_id()))
                .collect();
            let persons_serve = scenario.nodes.persons_serve_dht;
            let servers: Vec<bool> = plan
                .nodes
                .iter()
                .map(|n| n.role != Role::Person || (persons_serve && !n.behind_nat))
                .collect();
            routing::converged(
                &keys,
                &servers,
                scenario.protocol.kad_k.get(),
                scenario.seed,
            )
        }
    };
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
        tables,
        wall_start: wall,
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
    // Settling means AutoNAT and relay reservations finished: on a loaded machine
    // they can take longer than the phase, so wait for them a while longer.
    let mut nat = sim.nat_status().await;
    let patience = Instant::now() + sim.scenario.settle;
    while (nat.found_private < nat.behind_nat || nat.relayed < nat.found_private)
        && Instant::now() < patience
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
        nat = sim.nat_status().await;
    }
    sim.phase("settled", run_start);

    // Workload.
    let cpu_workload = ProcessUsage::now().cpu_seconds;
    sim.progress.set_message("running");
    let started = Instant::now();
    let _ = sim.started.set(started);
    let mut tasks = tokio::task::JoinSet::new();
    // Churn that goes on through the drain (`churn.through_drain`) is played
    // beside it.
    let late = {
        let sim = sim.clone();
        let first_late = sim
            .plan
            .events
            .iter()
            .position(|e| e.at >= sim.scenario.duration)
            .unwrap_or(sim.plan.events.len());
        tokio::spawn(async move {
            for (seq, event) in sim.plan.events.iter().enumerate().skip(first_late) {
                tokio::time::sleep_until(started + event.at).await;
                let (sim, action) = (sim.clone(), event.action.clone());
                tokio::spawn(async move { sim.act(seq as u64, action).await });
            }
        })
    };
    for (seq, event) in sim.plan.events.iter().enumerate() {
        if event.at >= sim.scenario.duration {
            break;
        }
        tokio::time::sleep_until(started + event.at).await;
        let sim = sim.clone();
        let action = event.action.clone();
        tasks.spawn(async move { sim.act(seq as u64, action).await });
    }
    tokio::time::sleep_until(started + sim.scenario.duration).await;
    sim.phase("workload played", run_start);

    // Drain.
    sim.progress.set_message("draining");
    let drain_end = started + sim.scenario.duration + sim.scenario.drain;
    while tokio::time::timeout_at(drain_end, tasks.join_next())
        .await
        .is_ok_and(|next| next.is_some())
    {}
    while sim.followups.load(Ordering::SeqCst) > 0 && Instant::now() < drain_end {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tasks.abort_all();
    late.abort();
    ticker.abort();
    sim.phase("drained", run_start);
    let usage = ProcessUsage::now();
    let (peak_rss_mib, cpu_s) = (usage.peak_mib(), usage.cpu_seconds - cpu_before);
    sim.progress.finish_and_clear();

    let mut recorder = std::mem::take(&mut *lock(&sim.recorder));
    for (answer, at_s) in std::mem::take(&mut *lock(&sim.open)).into_values() {
        let unfinished = Ended::unfinished();
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
                region: region_name(&sim.scenario, n.plan.index),
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
            tier: Tier::Real,
            clock: sim.scenario.clock,
            simulated_s: run_start.elapsed().as_secs_f64(),
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
            "{what} at {:.0} s {} ({:.0} s wall, {:.0} s CPU so far, {:.0} MiB)",
            run_start.elapsed().as_secs_f64(),
            self.scenario.clock,
            self.wall_start.elapsed().as_secs_f64(),
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
}
