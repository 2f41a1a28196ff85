//! Scenarios: the TOML a researcher writes. Every field says its default; a
//! scenario file may leave out any section or field. See `netsim/README.md` for a
//! worked example.

use std::{num::NonZeroUsize, path::Path, time::Duration};

use passport_protocol::FieldName;
use serde::{Deserialize, Serialize};

use crate::{dist::Dist, regions::Regions};

/// Why a scenario could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("could not read the scenario {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a scenario.
    #[error("{path} is not a valid scenario: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, with the line.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// A name for reports. Default: the file's stem.
    pub name: String,
    /// Seeds the topology, keys, link latencies, churn schedule and workload.
    /// Default 1.
    pub seed: u64,
    /// How long nodes take to join before the workload starts: the joining rate is
    /// nodes / this. Default 10 s.
    #[serde(with = "humantime_serde")]
    pub join: Duration,
    /// Extra time after joining, for AutoNAT, relay reservations and publishing.
    /// Default 10 s.
    #[serde(with = "humantime_serde")]
    pub settle: Duration,
    /// How long the workload runs. Default 60 s.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// How long to wait after the workload for answers still in flight.
    /// Default 15 s.
    #[serde(with = "humantime_serde")]
    pub drain: Duration,
    /// Node counts by role.
    pub nodes: Nodes,
    /// The links between nodes.
    pub link: Link,
    /// Persons going offline and coming back.
    pub churn: Churn,
    /// Mailboxes on the relays, holding messages for persons while offline.
    pub mailboxes: Mailboxes,
    /// What merchants ask and how persons answer.
    pub workload: Workload,
    /// Protocol parameters.
    pub protocol: Protocol,
    /// Which tier runs the scenario: the real nodes or the model. Default `real`.
    pub tier: Tier,
    /// The clock the nodes run on. Default `virtual`.
    pub clock: Clock,
    /// Busy CPU work added to every write a simulated link delivers, in
    /// microseconds: a slower machine. Virtual-time results must not change with
    /// it; real-time ones do once the CPU saturates. Default 0.
    pub cpu_burn_us: u64,
}

/// Which tier runs a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Real Passport nodes over the simulated transport (default): the
    /// production code, up to a few thousand nodes.
    #[default]
    Real,
    /// The model (`src/model/`): a discrete-event model of the same network,
    /// up to millions of nodes; always in virtual time, and only with
    /// converged routing tables and no mailboxes.
    Model,
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Real => "real",
            Self::Model => "model",
        })
    }
}

impl std::str::FromStr for Tier {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "real" => Ok(Self::Real),
            "model" => Ok(Self::Model),
            other => Err(format!("{other:?} is not a tier; use real or model")),
        }
    }
}

/// The clock a run's nodes live on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Virtual time (default): one thread, a paused tokio runtime whose clock
    /// jumps to the next timer whenever every node is idle, with libp2p's timers
    /// and clock on it. CPU time costs no simulated time, so results do not
    /// depend on the machine's speed or load.
    #[default]
    Virtual,
    /// The wall clock, on every core: for studying what overload does. Results
    /// hold only while the machine keeps up (see netsim/README.md, Scale).
    Real,
}

impl std::fmt::Display for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Virtual => "virtual",
            Self::Real => "real",
        })
    }
}

impl std::str::FromStr for Clock {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "virtual" => Ok(Self::Virtual),
            "real" => Ok(Self::Real),
            other => Err(format!("{other:?} is not a clock; use virtual or real")),
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: String::new(),
            seed: 1,
            join: Duration::from_secs(10),
            settle: Duration::from_secs(10),
            duration: Duration::from_secs(60),
            drain: Duration::from_secs(15),
            nodes: Nodes::default(),
            link: Link::default(),
            churn: Churn::default(),
            mailboxes: Mailboxes::default(),
            workload: Workload::default(),
            protocol: Protocol::default(),
            tier: Tier::default(),
            clock: Clock::default(),
            cpu_burn_us: 0,
        }
    }
}

/// Node counts by role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Nodes {
    /// Persons: hold data, answer requests, churn. Default 40.
    pub persons: usize,
    /// Merchants: send requests; always online. Default 4.
    pub merchants: usize,
    /// Relays (circuit relay v2) for persons behind NAT; always online. Default 2.
    pub relays: usize,
    /// Bootstrap nodes every other node joins through; always online. Default 4.
    pub bootstrap: usize,
    /// Share of persons behind NAT (reachable only through relays), 0–1. Default 0.
    pub nat_share: f64,
    /// Relays each NAT'd person reserves a slot on. Default 2.
    pub relays_per_person: usize,
    /// Bootstrap nodes each node dials when it joins. Default 2.
    pub bootstrap_per_node: usize,
    /// Whether persons serve the DHT (keep records, answer lookups) while
    /// reachable. Default true; phones should not (`serve_dht` in the node's
    /// `[network]`).
    pub persons_serve_dht: bool,
}

impl Default for Nodes {
    fn default() -> Self {
        Self {
            persons: 40,
            merchants: 4,
            relays: 2,
            bootstrap: 4,
            nat_share: 0.0,
            relays_per_person: 2,
            bootstrap_per_node: 2,
            persons_serve_dht: true,
        }
    }
}

impl Nodes {
    /// All nodes.
    pub fn total(&self) -> usize {
        self.persons + self.merchants + self.relays + self.bootstrap
    }
}

/// The link model: every pair of nodes has a one-way base latency drawn once (so
/// the topology is fixed by the seed); each write adds jitter, waits for the
/// sender's uplink (bandwidth) and, per lost packet, a TCP-like retransmission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Link {
    /// One-way base latency of a pair, in milliseconds. Default lognormal with
    /// median 40 ms and sigma 0.5 (most pairs 20–90 ms).
    pub latency_ms: Dist,
    /// Extra delay of each write, in milliseconds. Default uniform 0–5 ms.
    pub jitter_ms: Dist,
    /// Probability that a packet (1,448 bytes) is lost, 0–0.9. A lost packet is
    /// resent after a retransmission timeout (at least 200 ms, doubling each time);
    /// the stream stays in order, so later data waits for it. Default 0.
    pub loss: f64,
    /// Each node's upload bandwidth, in megabits per second. Default 20.
    pub bandwidth_mbps: f64,
    /// How long a dial to an offline or NAT'd node takes to fail (an unanswered
    /// SYN). Default 5 s.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// A latency matrix between world regions (`[link.regions]`): nodes are
    /// placed in regions by their shares, and a pair's base latency is half a
    /// round trip drawn from its regions' distribution, instead of
    /// `latency_ms`. Default none. See [`Regions`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regions: Option<Regions>,
}

impl Default for Link {
    fn default() -> Self {
        Self {
            latency_ms: Dist::Lognormal {
                median: 40.0,
                sigma: 0.5,
            },
            jitter_ms: Dist::Uniform {
                low: 0.0,
                high: 5.0,
            },
            loss: 0.0,
            bandwidth_mbps: 20.0,
            connect_timeout: Duration::from_secs(5),
            regions: None,
        }
    }
}

/// Persons going offline and coming back (merchants, relays and bootstrap nodes
/// stay online).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Churn {
    /// Share of persons that churn, 0–1. Default 0 (no churn).
    pub share: f64,
    /// How long a churning person stays online, in seconds. Default exponential
    /// with mean 120 s.
    pub session_s: Dist,
    /// How long it stays offline, in seconds. Default exponential with mean 30 s.
    pub downtime_s: Dist,
    /// Whether churn goes on through the drain (a phone does not stay awake because
    /// the merchants stopped asking), rather than stopping with the workload.
    /// Default false.
    pub through_drain: bool,
}

impl Default for Churn {
    fn default() -> Self {
        Self {
            share: 0.0,
            session_s: Dist::Exponential { mean: 120.0 },
            downtime_s: Dist::Exponential { mean: 30.0 },
            through_drain: false,
        }
    }
}

/// Mailboxes: the relays serve as mailboxes, and every person lists some of them
/// in its record, so a request to a person who is offline waits there until the
/// person's node comes back and drains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mailboxes {
    /// Whether relays serve as mailboxes and persons use them. Default false.
    pub enabled: bool,
    /// Mailboxes each person lists (senders deposit at two), at most 4 and at most
    /// the relays there are. Default 2.
    pub per_person: usize,
    /// How often a person's node drains its mailboxes while online, besides when
    /// it comes online. Default 30 s.
    #[serde(with = "humantime_serde")]
    pub drain_every: Duration,
}

impl Default for Mailboxes {
    fn default() -> Self {
        Self {
            enabled: false,
            per_person: 2,
            drain_every: Duration::from_secs(30),
        }
    }
}

/// What merchants ask and how persons answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Requests each merchant sends per second (a Poisson process). Default 0.5.
    pub request_rate: f64,
    /// The field sets merchants ask for, one chosen at random per request. Every
    /// person holds a value for every field named here. Default
    /// `[["name.given"], ["name.given", "address.home"]]`.
    pub fields: Vec<Vec<String>>,
    /// The mix of persons' standing answers. Default allow 0.6, ask 0.3, deny 0.1.
    pub policy: PolicyMix,
    /// How long a person takes to answer an `ask` request, in seconds. Default
    /// lognormal with median 5 s and sigma 0.8.
    pub answer_s: Dist,
    /// Share of `ask` requests the person approves (the rest are denied).
    /// Default 0.8.
    pub approve_share: f64,
    /// Share of grants the person later revokes. Default 0.2.
    pub revoke_share: f64,
    /// How long after the grant the revocation comes, in seconds. Default
    /// exponential with mean 10 s.
    pub revoke_after_s: Dist,
    /// How long each grant lasts, in seconds. Default 86,400 (a day).
    pub grant_duration_s: u64,
}

impl Default for Workload {
    fn default() -> Self {
        Self {
            request_rate: 0.5,
            fields: vec![
                vec!["name.given".into()],
                vec!["name.given".into(), "address.home".into()],
            ],
            policy: PolicyMix::default(),
            answer_s: Dist::Lognormal {
                median: 5.0,
                sigma: 0.8,
            },
            approve_share: 0.8,
            revoke_share: 0.2,
            revoke_after_s: Dist::Exponential { mean: 10.0 },
            grant_duration_s: 86_400,
        }
    }
}

/// Shares of persons by standing answer; normalised, so they need not sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyMix {
    /// A standing policy allows every normal field to any merchant.
    pub allow: f64,
    /// No policy: each request waits in the inbox for the person.
    pub ask: f64,
    /// A standing policy denies every request.
    pub deny: f64,
}

impl Default for PolicyMix {
    fn default() -> Self {
        Self {
            allow: 0.6,
            ask: 0.3,
            deny: 0.1,
        }
    }
}

/// Transport security for the simulated connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Noise XX, as production (default).
    Noise,
    /// libp2p's plaintext handshake: no encryption, no per-connection
    /// Diffie-Hellman. Only to fit more nodes; messages stay signed and grants
    /// sealed, but the simulated links are not confidential.
    Plaintext,
}

/// Protocol parameters, each as the node's `NetConfig` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Protocol {
    /// Kademlia bucket size k. Default 20.
    pub kad_k: NonZeroUsize,
    /// Kademlia parallelism alpha. Default 3.
    pub kad_alpha: NonZeroUsize,
    /// Peers each record is stored on. Default 20.
    pub kad_replication: NonZeroUsize,
    /// How often each node refreshes its routing table with a Kademlia bootstrap;
    /// "0s" only when the table is short of peers. Default 5 min, as libp2p's.
    #[serde(with = "humantime_serde")]
    pub kad_bootstrap_interval: Duration,
    /// How long a published record is valid (its TTL). Default 24 h.
    #[serde(with = "humantime_serde")]
    pub record_ttl: Duration,
    /// How often nodes republish their record. Default 12 h.
    #[serde(with = "humantime_serde")]
    pub republish_interval: Duration,
    /// How long a message waits for its answer. Default 30 s.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long a DHT lookup may take. Default 20 s.
    #[serde(with = "humantime_serde")]
    pub lookup_timeout: Duration,
    /// Idle connections close after this. Default 60 s.
    #[serde(with = "humantime_serde")]
    pub idle_connection_timeout: Duration,
    /// Ping interval on each connection. Default 60 s.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// First AutoNAT probe after this. Default 3 s (production: 15 s).
    #[serde(with = "humantime_serde")]
    pub autonat_boot_delay: Duration,
    /// Connections a person or merchant keeps. Default 512.
    pub max_connections: u32,
    /// Connections a bootstrap node or relay keeps. Default 4,096.
    pub infra_max_connections: u32,
    /// Reservations each relay holds. Default 1,024.
    pub relay_max_reservations: usize,
    /// Circuits each relay carries at once. Default 256.
    pub relay_max_circuits: usize,
    /// Connection security. Default noise.
    pub security: Security,
    /// How nodes' Kademlia routing tables fill. Default learned.
    pub routing_tables: RoutingTables,
}

/// How nodes' Kademlia routing tables fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingTables {
    /// Learned by joining (default): each node dials its bootstrap nodes and
    /// libp2p's automatic bootstrap looks up its own key and one per bucket,
    /// which every other node answers. Realistic, and what joining costs grows
    /// with the network.
    #[default]
    Learned,
    /// Converged: each node starts with the table a settled network would give
    /// it, computed from the plan (up to k random DHT servers per bucket, see
    /// `src/routing.rs`), and automatic bootstrap is off. For large runs, where
    /// the join storm would be most of the cost; the bootstrap dials remain.
    Converged,
}

impl Default for Protocol {
    fn default() -> Self {
        let n = |v: usize| NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN);
        Self {
            kad_k: n(20),
            kad_alpha: n(3),
            kad_replication: n(20),
            kad_bootstrap_interval: Duration::from_secs(5 * 60),
            record_ttl: Duration::from_secs(24 * 3600),
            republish_interval: Duration::from_secs(12 * 3600),
            request_timeout: Duration::from_secs(30),
            lookup_timeout: Duration::from_secs(20),
            idle_connection_timeout: Duration::from_secs(60),
            ping_interval: Duration::from_secs(60),
            autonat_boot_delay: Duration::from_secs(3),
            max_connections: 512,
            infra_max_connections: 4096,
            relay_max_reservations: 1024,
            relay_max_circuits: 256,
            security: Security::Noise,
            routing_tables: RoutingTables::Learned,
        }
    }
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut scenario = Self::parse_in(&text, &shown, path.parent())?;
        if scenario.name.is_empty() {
            scenario.name = path
                .file_stem()
                .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
        }
        Ok(scenario)
    }

    /// Parses and checks scenario text; `path` names it in errors. A regions
    /// matrix file is found relative to the working folder.
    pub fn parse(text: &str, path: &str) -> Result<Self, ScenarioError> {
        Self::parse_in(text, path, None)
    }

    /// [`Scenario::parse`], finding a regions matrix file relative to `base`.
    fn parse_in(text: &str, path: &str, base: Option<&Path>) -> Result<Self, ScenarioError> {
        let mut scenario: Self = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        if let Some(regions) = &mut scenario.link.regions {
            regions
                .load(base)
                .map_err(|message| ScenarioError::Invalid {
                    path: path.into(),
                    message: format!("link.regions: {message}"),
                })?;
        }
        scenario.check(path)?;
        Ok(scenario)
    }

    /// The field sets, parsed.
    pub fn field_sets(&self) -> Vec<Vec<FieldName>> {
        self.workload
            .fields
            .iter()
            .map(|set| set.iter().filter_map(|f| f.parse().ok()).collect())
            .collect()
    }

    /// Every check `parse` makes, with messages that say what to change.
    pub fn check(&self, path: &str) -> Result<(), ScenarioError> {
        let invalid = |message: String| {
            Err(ScenarioError::Invalid {
                path: path.into(),
                message,
            })
        };
        let share = |name: &str, v: f64| -> Result<(), ScenarioError> {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                invalid(format!("{name} is {v}; it is a share, between 0 and 1"))
            }
        };
        let n = &self.nodes;
        if n.persons == 0 || n.merchants == 0 || n.bootstrap == 0 {
            return invalid(
                "[nodes] needs at least one person, one merchant and one bootstrap node".into(),
            );
        }
        match self.tier {
            Tier::Real if n.total() > 200_000 => {
                return invalid(format!(
                    "[nodes] adds up to {} nodes; the real tier's addresses allow 200,000 (tier = \"model\" runs up to {MAX_MODEL_NODES})",
                    n.total()
                ));
            }
            Tier::Model if n.total() > MAX_MODEL_NODES => {
                return invalid(format!(
                    "[nodes] adds up to {} nodes; the model runs up to {MAX_MODEL_NODES}",
                    n.total()
                ));
            }
            Tier::Model if self.mailboxes.enabled => {
                return invalid(
                    "mailboxes are not in the model: set mailboxes.enabled = false, or run tier = \"real\"".into(),
                );
            }
            Tier::Model if self.clock == Clock::Real || self.cpu_burn_us > 0 => {
                return invalid(
                    "the model runs in virtual time only: leave out clock = \"real\" and cpu_burn_us, or run tier = \"real\"".into(),
                );
            }
            _ => {}
        }
        share("nodes.nat_share", n.nat_share)?;
        if n.nat_share > 0.0 && (n.relays == 0 || n.relays_per_person == 0) {
            return invalid(
                "nodes.nat_share is above 0 but no relay would serve the NAT'd persons: set nodes.relays and nodes.relays_per_person to at least 1".into(),
            );
        }
        let m = &self.mailboxes;
        if m.enabled
            && (m.per_person == 0
                || m.per_person > n.relays
                || m.per_person > passport_node::protocol::limits::MAX_RECORD_MAILBOXES)
        {
            return invalid(format!(
                "mailboxes.per_person is {}; with mailboxes enabled it must be 1 to 4 and at most nodes.relays ({}), the nodes that serve as mailboxes",
                m.per_person, n.relays
            ));
        }
        if m.drain_every.is_zero() {
            return invalid("mailboxes.drain_every must be above 0".into());
        }
        if n.bootstrap_per_node == 0 {
            return invalid("nodes.bootstrap_per_node must be at least 1".into());
        }
        if !(0.0..=0.9).contains(&self.link.loss) {
            return invalid(format!(
                "link.loss is {}; use a packet loss rate between 0 and 0.9",
                self.link.loss
            ));
        }
        if let Some(regions) = &self.link.regions {
            if regions.table().is_none() {
                return invalid(
                    "link.regions was not loaded: read the scenario with Scenario::load or Scenario::parse".into(),
                );
            }
            if self.link.latency_ms != Link::default().latency_ms {
                return invalid(
                    "link.latency_ms and link.regions both set the base latency: keep one".into(),
                );
            }
        }
        if self.link.bandwidth_mbps.is_nan()
            || self.link.bandwidth_mbps <= 0.0
            || self.link.bandwidth_mbps.is_infinite()
        {
            return invalid("link.bandwidth_mbps must be above 0".into());
        }
        for (name, dist) in [
            ("link.latency_ms", &self.link.latency_ms),
            ("link.jitter_ms", &self.link.jitter_ms),
            ("churn.session_s", &self.churn.session_s),
            ("churn.downtime_s", &self.churn.downtime_s),
            ("workload.answer_s", &self.workload.answer_s),
            ("workload.revoke_after_s", &self.workload.revoke_after_s),
        ] {
            if let Err(message) = dist.check() {
                return invalid(format!("{name}: {message}"));
            }
        }
        share("churn.share", self.churn.share)?;
        share("workload.approve_share", self.workload.approve_share)?;
        share("workload.revoke_share", self.workload.revoke_share)?;
        let w = &self.workload;
        if !(0.0..=1000.0).contains(&w.request_rate) {
            return invalid(format!(
                "workload.request_rate is {}; use requests per merchant per second, 0–1000",
                w.request_rate
            ));
        }
        let mix = w.policy;
        if [mix.allow, mix.ask, mix.deny].iter().any(|v| *v < 0.0)
            || mix.allow + mix.ask + mix.deny <= 0.0
        {
            return invalid(
                "workload.policy shares must be 0 or more and not all 0 (e.g. allow = 0.6, ask = 0.3, deny = 0.1)"
                    .into(),
            );
        }
        if w.fields.is_empty() || w.fields.iter().any(Vec::is_empty) {
            return invalid("workload.fields needs at least one non-empty field set".into());
        }
        for field in w.fields.iter().flatten() {
            if let Err(e) = field.parse::<FieldName>() {
                return invalid(format!(
                    "workload.fields: {field:?} is not a field name: {e}"
                ));
            }
        }
        if w.grant_duration_s == 0 {
            return invalid("workload.grant_duration_s must be at least 1".into());
        }
        if self.cpu_burn_us > 100_000 {
            return invalid(format!(
                "cpu_burn_us is {}; it is CPU per delivered write, at most 100,000 µs",
                self.cpu_burn_us
            ));
        }
        if self.duration.is_zero() {
            return invalid("duration must be above 0 (e.g. \"60s\")".into());
        }
        Ok(())
    }
}

/// The most nodes the model runs (node indices are `u32`; memory is the bound).
pub const MAX_MODEL_NODES: usize = 4_000_000;

/// Durations as humantime strings ("30s", "2m", "24h").
mod humantime_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration ({e}); write e.g. \"30s\", \"5m\" or \"24h\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_documented_defaults() {
        assert_eq!(
            Scenario::parse("", "empty.toml").unwrap(),
            Scenario::default()
        );
    }

    #[test]
    fn mistakes_are_named_with_the_fix() {
        let cases = [
            ("[nodes]\npersons = 0", "at least one person"),
            ("[link]\nloss = 1.5", "between 0 and 0.9"),
            ("[nodes]\nnat_share = 0.5\nrelays = 0", "set nodes.relays"),
            (
                "[workload]\nfields = [[\"Not A Field\"]]",
                "not a field name",
            ),
            ("duration = \"soon\"", "is not a duration"),
            (
                "[link]\nlatency_ms = { kind = \"lognormal\", median = -1.0, sigma = 0.5 }",
                "link.latency_ms",
            ),
            ("[nodes]\nperson = 3", "unknown field"),
            ("clock = \"sometimes\"", "unknown variant"),
            ("cpu_burn_us = 200000", "at most 100,000"),
            ("tier = \"fast\"", "unknown variant"),
            (
                "tier = \"model\"\n[mailboxes]\nenabled = true\nper_person = 1",
                "mailboxes are not in the model",
            ),
            ("tier = \"model\"\nclock = \"real\"", "virtual time only"),
            (
                "tier = \"model\"\n[nodes]\npersons = 5000000",
                "the model runs up to",
            ),
            ("[nodes]\npersons = 300000", "tier = \"model\" runs up to"),
            (
                "[link.regions]\nmatrix = \"no-such-matrix\"",
                "neither a shipped matrix (ripe-atlas-2025) nor a readable file",
            ),
            (
                "[link]\nlatency_ms = { kind = \"fixed\", value = 5.0 }\n[link.regions]\nmatrix = \"ripe-atlas-2025\"",
                "keep one",
            ),
            (
                "[link.regions]\nmatrix = \"ripe-atlas-2025\"\nshare = { mars = 1.0 }",
                "not one of the matrix's regions",
            ),
        ];
        for (text, expected) in cases {
            let message = Scenario::parse(text, "s.toml").unwrap_err().to_string();
            assert!(message.contains(expected), "{text:?} gave {message:?}");
        }
    }

    #[test]
    fn the_shipped_scenarios_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        for name in [
            "small",
            "medium",
            "large",
            "calibration",
            "ipfs",
            "model-scale",
        ] {
            let scenario = Scenario::load(&dir.join(format!("{name}.toml"))).unwrap();
            assert_eq!(scenario.name, name);
        }
    }
}
