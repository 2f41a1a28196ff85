//! Reports: the JSON summary, CSV files, SVG plots, the one-line summary and the
//! side-by-side comparison of two runs.

use std::{collections::BTreeMap, fmt::Write as _, io, path::Path};

use serde::{Deserialize, Serialize};

use crate::{
    plan::{Answer, Role},
    record::{Outcome, Path as RequestPath, Spread},
    sim::{Finished, Resources},
};

mod plots;

use self::plots::plot;
pub use self::plots::plot_calibration;

/// The headline numbers of a run, as `summary.json` holds them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// Its seed.
    pub seed: u64,
    /// SHA-256 of the plan (topology, keys, churn, workload): equal for equal
    /// scenario and seed.
    pub plan_digest: String,
    /// Nodes by role (persons behind NAT: `nat.behind_nat`).
    pub nodes: BTreeMap<String, usize>,
    /// DHT lookups.
    pub lookups: Lookups,
    /// Requests.
    pub requests: Requests,
    /// Grants issued, revoked, erased.
    pub grants: Grants,
    /// Traffic per node, by role.
    pub traffic: BTreeMap<String, Traffic>,
    /// How the NAT'd persons stood when the workload began.
    pub nat: crate::sim::NatStatus,
    /// What the mailboxes held (all zero when the scenario has none).
    #[serde(default)]
    pub mailboxes: MailboxReport,
    /// The simulator's own cost.
    pub sim: Resources,
}

/// What the mailboxes did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MailboxReport {
    /// Whether the relays served as mailboxes.
    pub enabled: bool,
    /// Requests that waited at the person's mailboxes.
    pub queued_requests: u64,
    /// The most bytes the mailboxes held at once, in all (sampled each second).
    pub peak_bytes_held: u64,
    /// Bytes they held when the run ended.
    pub bytes_held_at_end: u64,
}

/// DHT lookups made by merchants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lookups {
    /// Lookups made.
    pub attempted: usize,
    /// Of those, the ones that found a valid record.
    pub succeeded: usize,
    /// succeeded / attempted.
    pub success_rate: f64,
    /// Latency of successful lookups, in milliseconds.
    pub latency_ms: Spread,
    /// Hops of successful lookups (replayed; see the README).
    pub hops: Spread,
    /// Successful lookups by hop count.
    pub hop_histogram: BTreeMap<u32, usize>,
    /// Requests Kademlia sent per lookup (all lookups).
    pub kad_requests: Spread,
    /// Failed lookups by reason.
    pub failures: BTreeMap<String, usize>,
}

/// Requests, from lookup to decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Requests {
    /// Requests in the plan.
    pub planned: usize,
    /// Ended with a grant.
    pub granted: usize,
    /// Ended with a refusal.
    pub denied: usize,
    /// Ended without a decision.
    pub failed: usize,
    /// Still waiting when the run ended.
    pub unfinished: usize,
    /// decided / (decided + failed): unfinished ones are left out.
    pub success_rate: f64,
    /// decided / planned: the share of all requests decided within the run.
    #[serde(default)]
    pub decided_share: f64,
    /// Request→decision latency in milliseconds, every decided request.
    #[serde(default)]
    pub decision_latency_ms: Spread,
    /// Messages lost: requests that ended without reaching a decision (not those
    /// still waiting), and answers or revocations that could not be delivered.
    #[serde(default)]
    pub lost: u64,
    /// Of requests to persons whose policy allows, the share that got a grant.
    pub allowed_granted_rate: f64,
    /// Request→decision latency in milliseconds, by the person's policy.
    pub latency_by_policy_ms: BTreeMap<String, Spread>,
    /// Request→decision latency in milliseconds of automatic decisions (allow
    /// and deny policies), by path.
    pub latency_by_path_ms: BTreeMap<String, Spread>,
    /// Requests by the path they took (`direct`, `relayed`), whatever the policy
    /// and the outcome: a request to a person behind NAT is `relayed` unless a
    /// direct connection to it was already open.
    #[serde(default)]
    pub by_path: BTreeMap<String, usize>,
    /// Failed requests by reason.
    pub failures: BTreeMap<String, usize>,
    /// Requests the merchant sent a second time (a new request) because the
    /// first attempt found the person unreachable.
    pub retries: u64,
}

/// Grants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grants {
    /// Grants that reached a merchant.
    pub issued: u64,
    /// Revocations the persons made.
    pub revoked: u64,
    /// Revocations answered with a deletion receipt.
    pub erased: u64,
    /// Answers and revocations that could not be delivered, by reason (not those
    /// whose sender went offline first: they wait in its outbox).
    pub delivery_failures: BTreeMap<String, u64>,
}

/// Per-node traffic of one role.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Traffic {
    /// Nodes of this role.
    pub nodes: usize,
    /// Bytes each node sent (every protocol: Kademlia, identify, Passport…).
    pub bytes_sent: Spread,
    /// Bytes each node received.
    pub bytes_received: Spread,
    /// Passport messages each node sent.
    pub messages_sent: Spread,
    /// Passport messages each node received.
    pub messages_received: Spread,
    /// Failed dials per node.
    pub dials_failed: Spread,
    /// Kademlia requests each node answered (closest peers, records, stores):
    /// what serving the DHT costs it.
    pub dht_served: Spread,
}

impl Summary {
    /// Computes the summary of a finished run.
    pub fn of(run: &Finished) -> Self {
        let r = &run.recorder;
        let ok: Vec<_> = r.lookups.iter().filter(|l| l.ok).collect();
        let mut hop_histogram = BTreeMap::new();
        for hops in ok.iter().filter_map(|l| l.hops) {
            *hop_histogram.entry(hops).or_default() += 1;
        }
        let mut lookup_failures = BTreeMap::new();
        for l in r.lookups.iter().filter(|l| !l.ok) {
            *lookup_failures
                .entry(l.reason.clone().unwrap_or_default())
                .or_default() += 1;
        }
        let count = |o: Outcome| r.requests.iter().filter(|q| q.outcome == o).count();
        let (granted, denied, failed, unfinished) = (
            count(Outcome::Granted),
            count(Outcome::Denied),
            count(Outcome::Failed),
            count(Outcome::Unfinished),
        );
        let mut latency_by_policy_ms = BTreeMap::new();
        for policy in [Answer::Allow, Answer::Ask, Answer::Deny] {
            latency_by_policy_ms.insert(
                policy.name().to_string(),
                Spread::of(
                    r.requests
                        .iter()
                        .filter(|q| q.policy == policy)
                        .filter_map(|q| q.latency_ms),
                ),
            );
        }
        let mut latency_by_path_ms = BTreeMap::new();
        let mut by_path = BTreeMap::new();
        for path in [RequestPath::Direct, RequestPath::Relayed] {
            latency_by_path_ms.insert(
                path.name().to_string(),
                Spread::of(automatic_latencies(run, path)),
            );
            by_path.insert(
                path.name().to_string(),
                r.requests.iter().filter(|q| q.path == Some(path)).count(),
            );
        }
        let mut failures = BTreeMap::new();
        for q in r.requests.iter().filter(|q| q.outcome == Outcome::Failed) {
            *failures
                .entry(q.reason.clone().unwrap_or_default())
                .or_default() += 1;
        }
        let allowed: Vec<_> = r
            .requests
            .iter()
            .filter(|q| q.policy == Answer::Allow)
            .collect();
        let decided = granted + denied;
        let mut nodes = BTreeMap::new();
        for n in &run.plan.nodes {
            *nodes.entry(n.role.name().to_string()).or_default() += 1;
        }
        let mut traffic = BTreeMap::new();
        for role in [Role::Bootstrap, Role::Relay, Role::Merchant, Role::Person] {
            let of_role: Vec<_> = run.nodes.iter().filter(|n| n.role == role).collect();
            if of_role.is_empty() {
                continue;
            }
            let spread = |f: fn(&crate::sim::NodeTotals) -> u64| {
                Spread::of(of_role.iter().map(|n| f(n) as f64))
            };
            traffic.insert(
                role.name().to_string(),
                Traffic {
                    nodes: of_role.len(),
                    bytes_sent: spread(|n| n.bytes_sent),
                    bytes_received: spread(|n| n.bytes_received),
                    messages_sent: spread(|n| n.messages_sent),
                    messages_received: spread(|n| n.messages_received),
                    dials_failed: spread(|n| n.dials_failed),
                    dht_served: spread(crate::sim::NodeTotals::dht_served),
                },
            );
        }
        Self {
            scenario: run.scenario.name.clone(),
            seed: run.scenario.seed,
            plan_digest: run.plan.digest(),
            nodes,
            lookups: Lookups {
                attempted: r.lookups.len(),
                succeeded: ok.len(),
                success_rate: ratio(ok.len(), r.lookups.len()),
                latency_ms: Spread::of(ok.iter().map(|l| l.latency_ms)),
                hops: Spread::of(ok.iter().filter_map(|l| l.hops).map(f64::from)),
                hop_histogram,
                kad_requests: Spread::of(r.lookups.iter().map(|l| f64::from(l.requests))),
                failures: lookup_failures,
            },
            requests: Requests {
                planned: run.plan.requests(),
                granted,
                denied,
                failed,
                unfinished,
                success_rate: ratio(decided, decided + failed),
                decided_share: ratio(decided, run.plan.requests()),
                decision_latency_ms: Spread::of(r.requests.iter().filter_map(|q| q.latency_ms)),
                lost: failed as u64 + r.delivery_failures.values().sum::<u64>(),
                allowed_granted_rate: ratio(
                    allowed
                        .iter()
                        .filter(|q| q.outcome == Outcome::Granted)
                        .count(),
                    allowed.len(),
                ),
                latency_by_policy_ms,
                latency_by_path_ms,
                by_path,
                failures,
                retries: r.retries,
            },
            grants: Grants {
                issued: r.grants,
                revoked: r.revoked,
                erased: r.erased,
                delivery_failures: r.delivery_failures.clone(),
            },
            traffic,
            nat: run.nat.clone(),
            mailboxes: MailboxReport {
                enabled: run.scenario.mailboxes.enabled,
                queued_requests: r.queued,
                peak_bytes_held: r.seconds.iter().map(|s| s.mailbox_bytes).max().unwrap_or(0),
                // The last whole second: the run may end before the last one's
                // sample.
                bytes_held_at_end: r
                    .seconds
                    .iter()
                    .rev()
                    .find(|s| s.connections > 0)
                    .map_or(0, |s| s.mailbox_bytes),
            },
            sim: run.resources.clone(),
        }
    }

    /// The one line printed at the end of a run.
    pub fn one_line(&self) -> String {
        format!(
            "{}: {} nodes, lookups {:.1} % ok (p50 {:.0} ms, {:.1} hops), requests {:.1} % decided (p50 {:.0} ms allow), grants {} issued / {} revoked / {} erased; {:.0} s {} in {:.0} s wall, {:.0} s CPU, {:.0} MiB peak",
            self.scenario,
            self.nodes.values().sum::<usize>(),
            self.lookups.success_rate * 100.0,
            self.lookups.latency_ms.p50,
            self.lookups.hops.mean,
            self.requests.success_rate * 100.0,
            self.requests
                .latency_by_policy_ms
                .get("allow")
                .map_or(0.0, |s| s.p50),
            self.grants.issued,
            self.grants.revoked,
            self.grants.erased,
            self.sim.simulated_s,
            self.sim.clock,
            self.sim.wall_s,
            self.sim.cpu_s,
            self.sim.peak_rss_mib,
        )
    }

    /// The headline metrics, by name, for comparisons and spread tables.
    pub fn headline(&self) -> Vec<(&'static str, f64)> {
        let policy = |p: &str| {
            self.requests
                .latency_by_policy_ms
                .get(p)
                .copied()
                .unwrap_or_default()
        };
        let path = |p: &str| {
            self.requests
                .latency_by_path_ms
                .get(p)
                .copied()
                .unwrap_or_default()
        };
        vec![
            ("lookups attempted", self.lookups.attempted as f64),
            ("lookup success %", self.lookups.success_rate * 100.0),
            ("lookup p50 ms", self.lookups.latency_ms.p50),
            ("lookup p90 ms", self.lookups.latency_ms.p90),
            ("lookup p99 ms", self.lookups.latency_ms.p99),
            ("hops mean", self.lookups.hops.mean),
            ("hops p90", self.lookups.hops.p90),
            ("kad requests/lookup", self.lookups.kad_requests.mean),
            ("requests decided %", self.requests.success_rate * 100.0),
            ("decided of all %", self.requests.decided_share * 100.0),
            ("decision p50 ms", self.requests.decision_latency_ms.p50),
            ("decision p90 ms", self.requests.decision_latency_ms.p90),
            ("decision p99 ms", self.requests.decision_latency_ms.p99),
            ("messages lost", self.requests.lost as f64),
            ("requests queued", self.mailboxes.queued_requests as f64),
            (
                "mailbox peak KB",
                self.mailboxes.peak_bytes_held as f64 / 1e3,
            ),
            (
                "allowed → granted %",
                self.requests.allowed_granted_rate * 100.0,
            ),
            ("allow p50 ms", policy("allow").p50),
            ("allow p99 ms", policy("allow").p99),
            ("deny p50 ms", policy("deny").p50),
            ("ask p50 ms", policy("ask").p50),
            ("direct p50 ms", path("direct").p50),
            ("relayed p50 ms", path("relayed").p50),
            ("requests failed", self.requests.failed as f64),
            ("requests retried", self.requests.retries as f64),
            ("grants issued", self.grants.issued as f64),
            ("grants revoked", self.grants.revoked as f64),
            ("grants erased", self.grants.erased as f64),
            (
                "person KB sent (mean)",
                self.traffic
                    .get("person")
                    .map_or(0.0, |t| t.bytes_sent.mean / 1e3),
            ),
            ("simulated s", self.sim.simulated_s),
            ("sim wall s", self.sim.wall_s),
            ("sim CPU s", self.sim.cpu_s),
            ("sim peak MiB", self.sim.peak_rss_mib),
        ]
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Latencies of the automatic (allow and deny) decisions that took `path`.
fn automatic_latencies(run: &Finished, path: RequestPath) -> impl Iterator<Item = f64> + '_ {
    run.recorder
        .requests
        .iter()
        .filter(move |q| q.policy != Answer::Ask && q.path == Some(path))
        .filter_map(|q| q.latency_ms)
}

/// Writes `summary.json`, the CSV files and the plots into `dir` (created if
/// missing). Returns the summary.
pub fn write(run: &Finished, dir: &Path) -> io::Result<Summary> {
    std::fs::create_dir_all(dir)?;
    let summary = Summary::of(run);
    std::fs::write(
        dir.join("scenario.toml"),
        toml::to_string(&run.scenario).map_err(io::Error::other)?,
    )?;
    write_csv(run, dir)?;
    plot(run, &summary, dir).map_err(|e| io::Error::other(format!("plotting: {e}")))?;
    // Last, so a folder with a summary holds a whole report (`calibrate` keeps
    // such runs when taken up again).
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_vec_pretty(&summary).map_err(io::Error::other)?,
    )?;
    Ok(summary)
}

fn write_csv(run: &Finished, dir: &Path) -> io::Result<()> {
    let r = &run.recorder;
    csv_file(&dir.join("timeseries.csv"), &r.seconds)?;
    csv_file(&dir.join("lookups.csv"), &r.lookups)?;
    csv_file(&dir.join("requests.csv"), &r.requests)?;
    csv_file(&dir.join("nodes.csv"), &run.nodes)
}

/// One row per item, with a header of the field names.
fn csv_file<T: Serialize>(file: &Path, rows: &[T]) -> io::Result<()> {
    let mut out = csv::Writer::from_path(file)?;
    for row in rows {
        out.serialize(row)?;
    }
    out.flush()
}

/// Reads the summary of a run: `path` is its folder or its `summary.json`.
pub fn read_summary(path: &Path) -> Result<Summary, String> {
    let file = if path.is_dir() {
        path.join("summary.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| {
        format!(
            "could not read {}: {e}; give a run's output folder or its summary.json",
            file.display()
        )
    })?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a netsim summary: {e}", file.display()))
}

/// Two runs' headline metrics side by side, with B's change relative to A.
pub fn compare(a: &Summary, b: &Summary) -> String {
    let mut out = String::new();
    let (name_a, name_b) = (
        format!("A: {} (seed {})", a.scenario, a.seed),
        format!("B: {} (seed {})", b.scenario, b.seed),
    );
    let _ = writeln!(out, "{:<24} {:>22} {:>22} {:>9}", "", name_a, name_b, "B/A");
    for ((name, va), (_, vb)) in a.headline().into_iter().zip(b.headline()) {
        let change = if va.abs() > f64::EPSILON {
            format!("{:.2}x", vb / va)
        } else {
            "–".into()
        };
        let _ = writeln!(out, "{name:<24} {va:>22.1} {vb:>22.1} {change:>9}");
    }
    if a.plan_digest == b.plan_digest {
        let _ = writeln!(
            out,
            "\nSame plan ({}…): same topology, churn and workload.",
            &a.plan_digest[..12]
        );
    }
    out
}
