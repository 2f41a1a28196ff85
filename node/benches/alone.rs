//! `cargo bench -p passport-node --bench alone`: one node measured alone, in its own
//! process, the way a shop (or a person) would run it, against its counterparts in
//! another process over loopback TCP.
//!
//! - **merchant side**: one merchant node (sled store, durable) in one process asks
//!   many person nodes (another process; in-memory stores, standing policies that
//!   grant at once) for a field, 16, 64, 256 and 1,024 requests in flight.
//! - **person side**: one person node (sled store) in one process answers many
//!   merchant nodes (another process, in-memory stores).
//!
//! For each level it prints grants/s, p50/p99 latency, the measured process's CPU per
//! grant and how busy its core was, its flushes per grant and its memory, beside the
//! crypto floor of that side's share of a round trip, measured in the same process in
//! the same run ([`CryptoFloor::merchant_side`], [`CryptoFloor::person_side`]). The
//! ratio `floor µs / CPU µs per grant` is the share of the floor's rate the node would
//! serve with its core saturated.
//!
//! With two cores or more, the measured process is pinned to core 0 and its
//! counterparts to the others (`taskset`), so "its core" is one core.
//!
//! Run under `cargo test` (no `--bench` argument) it runs a short mode: a few hundred
//! round trips per side, to prove it works (the figures then are a debug build's).
//!
//! Settings by environment: `PASSPORT_ALONE_SIDES` (`merchant,person`),
//! `PASSPORT_ALONE_LEVELS` (`16,64,256,1024`), `PASSPORT_ALONE_REQUESTS` (4000 per
//! level, at least 8 per request in flight), `PASSPORT_ALONE_COUNTERPARTS` (64 persons
//! or 16 merchants), `PASSPORT_ALONE_PIN` (`0` leaves the processes unpinned),
//! `PASSPORT_ALONE_PLOT` (a path: write the concurrency curve there as SVG),
//! `PASSPORT_ALONE_JSON` (a path: append each level's figures there as JSON lines).
//! Cargo runs benches from `node/`: give those two an absolute path.

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark times the wall clock"
)]
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod common;

use std::{
    io::{BufRead as _, BufReader, Write as _},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use futures::StreamExt as _;
use passport_node::{
    Node, NodeConfig, Passport, RequestAnswer, RequestSpec, RequestStatus, metrics::ProcessUsage,
    net::NetConfig, node::system_now,
};
use passport_protocol::{PeerRecord, record::verify_record, samples::CryptoFloor};
use serde::{Deserialize, Serialize};

const ROLE: &str = "PASSPORT_ALONE_ROLE";

/// Which side a run measures: the one node alone in its process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Merchant,
    Person,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Merchant => "merchant",
            Side::Person => "person",
        }
    }
}

/// What a child process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Merchants,
    Persons,
}

/// A process's own figures at one moment.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Snapshot {
    cpu_seconds: f64,
    flushes: u64,
    resident_kib: u64,
    peak_kib: u64,
}

/// What a merchants process reports after a run.
#[derive(Debug, Serialize, Deserialize)]
struct RunReport {
    elapsed_secs: f64,
    granted: usize,
    failed: usize,
    first_failure: Option<String>,
    p50_ms: f64,
    p99_ms: f64,
}

/// One level's figures, as printed, written as JSON and plotted.
#[derive(Debug, Serialize)]
struct Level {
    side: &'static str,
    in_flight: usize,
    requests: usize,
    grants_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_grant: f64,
    core_busy: f64,
    floor_us: f64,
    floor_share: f64,
    rate_share: f64,
    flushes_per_grant: f64,
    resident_mib: f64,
    peak_mib: f64,
    counterpart_core_busy: f64,
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("merchants") => child(Role::Merchants),
        Ok("persons") => child(Role::Persons),
        _ => orchestrate(),
    }
}

// ---- the orchestrator ----

/// A child process spoken to in lines.
struct Peer {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Peer {
    fn spawn(role: Role, count: usize, durable: bool, core: Option<&str>) -> Self {
        let exe = std::env::current_exe().unwrap();
        let mut command = match core {
            Some(cores) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(cores).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        let role = match role {
            Role::Merchants => "merchants",
            Role::Persons => "persons",
        };
        let mut child = command
            .env(ROLE, role)
            .env("PASSPORT_ALONE_COUNT", count.to_string())
            .env("PASSPORT_ALONE_DURABLE", if durable { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            input,
            output,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.input, "{line}").unwrap();
        self.input.flush().unwrap();
    }

    fn read(&mut self) -> String {
        let mut line = String::new();
        let read = self.output.read_line(&mut line).unwrap();
        assert!(
            read > 0,
            "a bench process ended early (see its output above)"
        );
        line.trim_end().to_string()
    }

    fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.read()
    }

    fn snapshot(&mut self) -> Snapshot {
        serde_json::from_str(&self.ask("stats")).unwrap()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = writeln!(self.input, "quit");
        let _ = self.input.flush();
        let _ = self.child.wait();
    }
}

/// One side's two processes: the merchants (who send) and the persons (who answer),
/// one of them the node measured.
struct Pair {
    side: Side,
    merchants: Peer,
    persons: Peer,
}

impl Pair {
    fn measured(&mut self) -> &mut Peer {
        match self.side {
            Side::Merchant => &mut self.merchants,
            Side::Person => &mut self.persons,
        }
    }

    /// The measured process's figures and its counterparts', read now.
    fn snapshots(&mut self) -> (Snapshot, Snapshot) {
        let (merchants, persons) = (self.merchants.snapshot(), self.persons.snapshot());
        match self.side {
            Side::Merchant => (merchants, persons),
            Side::Person => (persons, merchants),
        }
    }

    /// `requests` round trips, `in_flight` at once; every one must be granted.
    fn run(&mut self, requests: usize, in_flight: usize) -> RunReport {
        let report: RunReport =
            serde_json::from_str(&self.merchants.ask(&format!("run {requests} {in_flight}")))
                .unwrap();
        assert_eq!(
            report.failed, 0,
            "{} round trips failed, the first: {:?}",
            report.failed, report.first_failure
        );
        report
    }
}

fn orchestrate() {
    // `cargo bench` passes `--bench`; `cargo test` runs this target in short mode.
    let full = std::env::args().any(|a| a == "--bench");
    let sides: Vec<Side> = std::env::var("PASSPORT_ALONE_SIDES")
        .unwrap_or_else(|_| "merchant,person".into())
        .split(',')
        .map(|s| match s.trim() {
            "merchant" => Side::Merchant,
            "person" => Side::Person,
            other => panic!("PASSPORT_ALONE_SIDES: unknown side {other:?}"),
        })
        .collect();
    let levels: Vec<usize> = std::env::var("PASSPORT_ALONE_LEVELS")
        .unwrap_or_else(|_| if full { "16,64,256,1024" } else { "16,64" }.into())
        .split(',')
        .map(|s| s.trim().parse().expect("PASSPORT_ALONE_LEVELS: numbers"))
        .collect();
    let requests = setting("PASSPORT_ALONE_REQUESTS", if full { 4_000 } else { 128 });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rest = format!("1-{}", cores.max(2) - 1);
    // Pinned only where both core sets can be used here (a container may allow
    // other cores than 0 and 1, or have no taskset).
    let usable = |cores: &str| {
        Command::new("taskset")
            .args(["-c", cores, "true"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let pin = cores >= 2
        && std::env::var("PASSPORT_ALONE_PIN").as_deref() != Ok("0")
        && usable("0")
        && usable(&rest);
    if !pin {
        println!("not pinned: each process may use every core");
    }
    let (measured_core, load_cores) = if pin {
        (Some("0"), Some(rest.as_str()))
    } else {
        (None, None)
    };
    // PASSPORT_ALONE_MEMORY=1 keeps the measured node's store in memory too: a
    // diagnosis of what its durable writes cost, not a figure to ship.
    let durable = std::env::var_os("PASSPORT_ALONE_MEMORY").is_none();
    if !full {
        println!(
            "short mode (cargo test, no --bench): a check that the bench runs; \
             its figures are not the benchmark's (cargo bench -p passport-node --bench alone)"
        );
    }
    let mut all = Vec::new();
    for side in sides {
        let counterparts = setting(
            "PASSPORT_ALONE_COUNTERPARTS",
            match (side, full) {
                (Side::Merchant, true) => 64,
                (Side::Person, true) => 16,
                (_, false) => 4,
            },
        );
        // The persons process starts first: the merchants need their records.
        let mut pair = match side {
            Side::Merchant => Pair {
                side,
                persons: Peer::spawn(Role::Persons, counterparts, false, load_cores),
                merchants: Peer::spawn(Role::Merchants, 1, durable, measured_core),
            },
            Side::Person => Pair {
                side,
                persons: Peer::spawn(Role::Persons, 1, durable, measured_core),
                merchants: Peer::spawn(Role::Merchants, counterparts, false, load_cores),
            },
        };
        let records = pair.persons.read();
        assert!(records.starts_with("records "), "{records}");
        assert_eq!(pair.merchants.ask(&records), "ready");
        println!(
            "{} side: 1 {} node alone ({}), {counterparts} {} in another process{}",
            side.name(),
            side.name(),
            if durable {
                "sled store"
            } else {
                "store in memory"
            },
            match side {
                Side::Merchant => "persons",
                Side::Person => "merchants",
            },
            if pin {
                ", pinned to core 0 and the rest"
            } else {
                ""
            },
        );
        let floor_secs = if full { 2.0 } else { 0.2 };
        // Warm up once: a connection between every pair before any level counts.
        let pairs = counterparts.max(1) * 2;
        pair.run(pairs, pairs.min(64));
        // Starting nodes keep a process busy for a few seconds (the DHT's first
        // queries, identify, connection upkeep): wait until both are quiet.
        let settle_started = Instant::now();
        let (measured_idle, load_idle) = loop {
            let (measured_before, load_before) = pair.snapshots();
            std::thread::sleep(Duration::from_secs(1));
            let (measured_after, load_after) = pair.snapshots();
            let measured = measured_after.cpu_seconds - measured_before.cpu_seconds;
            let load = load_after.cpu_seconds - load_before.cpu_seconds;
            if (measured < 0.1 && load < 0.1) || settle_started.elapsed() > Duration::from_secs(60)
            {
                break (measured, load);
            }
        };
        println!(
            "  idle before measuring: {:.0} % of a core for the {} process, {:.0} % for the others (after {:.0} s)",
            measured_idle * 100.0,
            side.name(),
            load_idle * 100.0,
            settle_started.elapsed().as_secs_f64()
        );
        if let Ok(path) = std::env::var("PASSPORT_ALONE_PIDS") {
            // For a profiler: which process is the one measured.
            std::fs::write(&path, format!("{}\n", pair.measured().child.id())).unwrap();
        }
        for &in_flight in &levels {
            let requests = requests.max(in_flight * 8);
            // Warm up at this level: caches, buffers, the runtime's threads.
            pair.run(in_flight * 2, in_flight);
            let (before, load_before) = pair.snapshots();
            let report = pair.run(requests, in_flight);
            let (after, load_after) = pair.snapshots();
            let floor_us: f64 = pair
                .measured()
                .ask(&format!("floor {} {floor_secs}", side.name()))
                .parse()
                .unwrap();
            let granted = report.granted as f64;
            let cpu = after.cpu_seconds - before.cpu_seconds;
            let cpu_us_per_grant = cpu / granted * 1e6;
            let rate = granted / report.elapsed_secs;
            let level = Level {
                side: side.name(),
                in_flight,
                requests,
                grants_per_sec: rate,
                p50_ms: report.p50_ms,
                p99_ms: report.p99_ms,
                cpu_us_per_grant,
                core_busy: cpu / report.elapsed_secs,
                floor_us,
                floor_share: floor_us / cpu_us_per_grant,
                rate_share: rate * floor_us / 1e6,
                flushes_per_grant: (after.flushes - before.flushes) as f64 / granted,
                resident_mib: after.resident_kib as f64 / 1024.0,
                peak_mib: after.peak_kib as f64 / 1024.0,
                counterpart_core_busy: (load_after.cpu_seconds - load_before.cpu_seconds)
                    / report.elapsed_secs,
            };
            print_level(&level);
            all.push(level);
        }
    }
    if let Ok(path) = std::env::var("PASSPORT_ALONE_JSON") {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        for level in &all {
            writeln!(file, "{}", serde_json::to_string(level).unwrap()).unwrap();
        }
    }
    if let Ok(path) = std::env::var("PASSPORT_ALONE_PLOT") {
        plot(&all, &path);
        println!("plot written to {path}");
    }
}

fn print_level(level: &Level) {
    println!(
        "  {:>5} in flight: {:6.0} grants/s  p50 {:7.1} ms  p99 {:7.1} ms  \
         {:5.0} µs CPU/grant ({:3.0} % of its core; others {:3.0} %)  \
         floor {:4.0} µs → {:4.1} % of the floor's rate at saturation ({:4.1} % as run)  \
         {:.2} flushes/grant  {:.0} MiB resident, {:.0} MiB peak",
        level.in_flight,
        level.grants_per_sec,
        level.p50_ms,
        level.p99_ms,
        level.cpu_us_per_grant,
        level.core_busy * 100.0,
        level.counterpart_core_busy * 100.0,
        level.floor_us,
        level.floor_share * 100.0,
        level.rate_share * 100.0,
        level.flushes_per_grant,
        level.resident_mib,
        level.peak_mib,
    );
}

/// The concurrency curve: each side's grants/s by requests in flight, and the rate
/// its crypto floor would allow on the one core.
fn plot(levels: &[Level], path: &str) {
    use plotters::prelude::*;
    let top = levels
        .iter()
        .flat_map(|l| [l.grants_per_sec, 1e6 / l.floor_us])
        .fold(0.0, f64::max)
        * 1.1;
    let most = levels.iter().map(|l| l.in_flight).max().unwrap_or(16) as f64;
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "One node alone: grants/s by requests in flight",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((8f64..most * 1.5).log_scale(), 0f64..top)
        .unwrap();
    chart
        .configure_mesh()
        .x_desc("requests in flight (log scale)")
        .y_desc("grants per second")
        .draw()
        .unwrap();
    for (side, colour) in [("merchant", BLUE), ("person", RED)] {
        let points: Vec<(f64, f64)> = levels
            .iter()
            .filter(|l| l.side == side)
            .map(|l| (l.in_flight as f64, l.grants_per_sec))
            .collect();
        if points.is_empty() {
            continue;
        }
        let floor = levels
            .iter()
            .filter(|l| l.side == side)
            .map(|l| 1e6 / l.floor_us)
            .sum::<f64>()
            / points.len() as f64;
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .unwrap()
            .label(format!("{side} node, measured"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))
            .unwrap();
        chart
            .draw_series(LineSeries::new(
                [(8.0, floor), (most * 1.5, floor)],
                colour.mix(0.5).stroke_width(1),
            ))
            .unwrap()
            .label(format!("{side} crypto floor on one core"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.mix(0.5)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .unwrap();
    root.present().unwrap();
}

// ---- the child processes ----

fn net_config() -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        mdns: false,
        // The load is the benchmark, not an abuse: limits sized for it.
        peer_burst: 1_000_000,
        peer_rate_per_sec: 1_000_000,
        max_inbound_in_flight: 4_096,
        request_timeout: Duration::from_secs(60),
        ..NetConfig::default()
    }
}

fn node(dir: &std::path::Path, durable: bool) -> Node {
    if !durable {
        return Node::in_memory(NodeConfig::default()).unwrap();
    }
    common::open_new_home(dir)
}

fn snapshot(nodes: &[Passport]) -> Snapshot {
    let usage = ProcessUsage::now();
    Snapshot {
        cpu_seconds: usage.cpu_seconds,
        flushes: nodes.iter().map(|n| n.node().flush_stats().flushes).sum(),
        resident_kib: usage.resident_kib,
        peak_kib: usage.peak_kib,
    }
}

/// One side's crypto floor, on this process's one thread: µs per round trip.
fn floor(side: &str, secs: f64) -> f64 {
    let mut rng = rand::rng();
    let floor = CryptoFloor::new(&mut rng).unwrap();
    let started = Instant::now();
    let mut trips = 0u32;
    while started.elapsed().as_secs_f64() < secs {
        match side {
            "merchant" => floor.merchant_side().unwrap(),
            _ => floor.person_side(&mut rng).unwrap(),
        }
        trips += 1;
    }
    started.elapsed().as_secs_f64() / f64::from(trips) * 1e6
}

fn child(role: Role) {
    let count = setting("PASSPORT_ALONE_COUNT", 1);
    let durable = std::env::var("PASSPORT_ALONE_DURABLE").as_deref() == Ok("1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for i in 0..count {
            let node = node(&dir.path().join(format!("n{i}")), durable);
            if role == Role::Persons {
                common::grants_at_once(&node, system_now());
            }
            let (passport, _events) = Passport::with_node(node)
                .network(net_config())
                .spawn()
                .await
                .unwrap();
            nodes.push(passport);
        }
        let mut lines = BufReader::new(std::io::stdin()).lines();
        let mut out = std::io::stdout();
        let mut records = Vec::new();
        if role == Role::Persons {
            let mut encoded = Vec::new();
            for person in &nodes {
                let client = person.client().unwrap();
                let addresses = client.until_listening().await.unwrap();
                let now = system_now();
                let record = PeerRecord {
                    id: person.id(),
                    sequence: now.as_secs(),
                    peers: vec![client.peer_id().to_bytes()],
                    addresses: addresses.iter().map(ToString::to_string).collect(),
                    seal_key: person.node().sealing_public_key(),
                    mailboxes: Vec::new(),
                    issued_at: now,
                    expires_at: now.plus_secs(86_400),
                };
                let signed = person.node().sign_record(&record).unwrap();
                encoded.push(format!("{}|{}", record.id, BASE64.encode(signed)));
            }
            writeln!(out, "records {}", encoded.join(",")).unwrap();
            out.flush().unwrap();
        }
        while let Some(Ok(line)) = lines.next() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let answer = match words.as_slice() {
                ["records", list] => {
                    for pair in list.split(',') {
                        let (id, encoded) = pair.split_once('|').unwrap();
                        let bytes = BASE64.decode(encoded).unwrap();
                        let id = id.parse().unwrap();
                        records.push(verify_record(&bytes, &id, system_now()).unwrap());
                    }
                    "ready".to_string()
                }
                ["run", requests, in_flight] => {
                    let report = run(
                        &nodes,
                        &records,
                        requests.parse().unwrap(),
                        in_flight.parse().unwrap(),
                    )
                    .await;
                    serde_json::to_string(&report).unwrap()
                }
                ["stats"] => serde_json::to_string(&snapshot(&nodes)).unwrap(),
                ["floor", side, secs] => {
                    let (side, secs) = (side.to_string(), secs.parse().unwrap());
                    let us = tokio::task::spawn_blocking(move || floor(&side, secs))
                        .await
                        .unwrap();
                    format!("{us}")
                }
                ["quit"] => break,
                other => panic!("unknown command {other:?}"),
            };
            writeln!(out, "{answer}").unwrap();
            out.flush().unwrap();
        }
        for node in nodes {
            node.shutdown().await;
        }
    });
}

/// `requests` round trips, `in_flight` at once, spread over every merchant of this
/// process and every record it was given.
async fn run(
    merchants: &[Passport],
    records: &[PeerRecord],
    requests: usize,
    in_flight: usize,
) -> RunReport {
    let (merchants, records) = (Arc::new(merchants.to_vec()), Arc::new(records.to_vec()));
    let started = Instant::now();
    let results: Vec<Result<Duration, String>> = futures::stream::iter(0..requests)
        .map(|i| {
            let (merchants, records) = (merchants.clone(), records.clone());
            async move {
                let merchant = &merchants[i % merchants.len()];
                let record = &records[(i / merchants.len()) % records.len()];
                let started = Instant::now();
                let spec =
                    RequestSpec::new("Alone", ["name.given".parse().unwrap()], "delivery", 86_400);
                match merchant
                    .request_to_record(record, spec, Duration::ZERO)
                    .await
                {
                    Ok(outcome)
                        if matches!(
                            outcome.answer,
                            RequestAnswer::Decided(RequestStatus::Granted { .. })
                        ) =>
                    {
                        Ok(started.elapsed())
                    }
                    Ok(outcome) => Err(format!("not granted: {:?}", outcome.answer)),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let elapsed_secs = started.elapsed().as_secs_f64();
    let mut latencies: Vec<Duration> = results.iter().filter_map(|r| r.clone().ok()).collect();
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    RunReport {
        elapsed_secs,
        granted: latencies.len(),
        failed: results.len() - latencies.len(),
        first_failure: results.iter().find_map(|r| r.clone().err()),
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
    }
}
