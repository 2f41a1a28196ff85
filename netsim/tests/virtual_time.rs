//! Virtual time: libp2p's own timers follow the paused runtime, and a small
//! scenario gives the same results in virtual time as in an unloaded real-time
//! run, and the same again on a machine made slower.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, time::Duration};

use futures::StreamExt as _;
use libp2p::{
    Multiaddr, SwarmBuilder,
    core::{transport::MemoryTransport, upgrade::Version},
    plaintext,
    swarm::{SwarmEvent, dummy},
    yamux,
};
use passport_netsim::{Options, Scenario, Summary, report, run, scenario::Clock};

fn memory_swarm() -> libp2p::Swarm<dummy::Behaviour> {
    SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_other_transport(|key| {
            use libp2p::Transport as _;
            MemoryTransport::default()
                .upgrade(Version::V1)
                .authenticate(plaintext::Config::new(key))
                .multiplex(yamux::Config::default())
        })
        .unwrap()
        .with_behaviour(|_| dummy::Behaviour)
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Without the patched futures-timer, libp2p's idle timeout is a wall-clock
/// timer on its own thread: this test would wait a real minute and fail.
#[test]
fn a_minute_of_idle_timeout_passes_in_virtual_time_not_wall_time() {
    futures_timer::use_tokio_clock(true);
    web_time::use_tokio_clock(true);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let wall = std::time::Instant::now();
    let virtual_elapsed = runtime.block_on(async {
        let mut listener = memory_swarm();
        let mut dialer = memory_swarm();
        let addr: Multiaddr = "/memory/7301".parse().unwrap();
        listener.listen_on(addr.clone()).unwrap();
        dialer.dial(addr).unwrap();
        let start = tokio::time::Instant::now();
        let mut established = false;
        loop {
            let event = tokio::select! {
                e = listener.select_next_some() => e,
                e = dialer.select_next_some() => e,
            };
            match event {
                SwarmEvent::ConnectionEstablished { .. } => established = true,
                SwarmEvent::ConnectionClosed { .. } => break,
                _ => {}
            }
        }
        assert!(established);
        start.elapsed()
    });
    let wall = wall.elapsed();
    assert!(
        virtual_elapsed >= Duration::from_secs(60) && virtual_elapsed < Duration::from_secs(61),
        "the connection closed after {virtual_elapsed:?} of virtual time"
    );
    assert!(
        wall < Duration::from_secs(20),
        "it took {wall:?} of wall time"
    );
    assert_eq!(futures_timer::native_delays_created(), 0);
    assert_eq!(web_time::reads_outside_runtime(), 0);
}

fn fidelity() -> Scenario {
    Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fidelity.toml")).unwrap()
}

fn simulate(scenario: &Scenario) -> Summary {
    let finished = run(scenario, &Options::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let summary = report::write(&finished, out.path()).unwrap();
    eprintln!("{}: {}", scenario.clock, summary.one_line());
    summary
}

/// The fidelity scenario in real time on an unloaded machine: the least and
/// most of five release runs (`passport-netsim run
/// netsim/scenarios/fidelity.toml --clock real`, netsim/README.md).
struct Reference {
    lookup_p50_ms: (f64, f64),
    lookup_p90_ms: (f64, f64),
    allow_p50_ms: (f64, f64),
    decision_p50_ms: (f64, f64),
}

const UNLOADED_REAL_TIME: Reference = Reference {
    lookup_p50_ms: (195.0, 197.8),
    lookup_p90_ms: (344.3, 354.9),
    allow_p50_ms: (447.8, 479.1),
    decision_p50_ms: (483.8, 504.6),
};

/// `value` lies in `(low, high)` widened by 10 % or 20 ms, whichever is wider.
fn within(what: &str, value: f64, (low, high): (f64, f64)) {
    let slack = (0.1 * high).max(20.0);
    assert!(
        low - slack <= value && value <= high + slack,
        "{what}: {value} ms, where unloaded real-time runs gave {low}–{high} ms"
    );
}

fn allow_p50(s: &Summary) -> f64 {
    s.requests.latency_by_policy_ms["allow"].p50
}

/// `a` and `b` agree within 10 % or 20 ms, whichever is wider.
fn close(what: &str, a: f64, b: f64) {
    let slack = (0.1 * a.abs().max(b.abs())).max(20.0);
    assert!((a - b).abs() <= slack, "{what}: {a} against {b}");
}

fn agree(a: &Summary, b: &Summary) {
    assert_eq!(a.plan_digest, b.plan_digest);
    assert_eq!(a.lookups.attempted, b.lookups.attempted);
    assert_eq!(a.lookups.succeeded, b.lookups.succeeded, "lookups found");
    close(
        "lookup p50 ms",
        a.lookups.latency_ms.p50,
        b.lookups.latency_ms.p50,
    );
    close(
        "lookup p90 ms",
        a.lookups.latency_ms.p90,
        b.lookups.latency_ms.p90,
    );
    assert_eq!(a.requests.granted, b.requests.granted, "grants");
    assert_eq!(a.requests.denied, b.requests.denied, "denials");
    close("allow p50 ms", allow_p50(a), allow_p50(b));
    close(
        "decision p50 ms",
        a.requests.decision_latency_ms.p50,
        b.requests.decision_latency_ms.p50,
    );
}

/// In virtual time the results are an unloaded real-time run's, whatever the
/// build and however busy the machine: this runs in CI's debug build, beside
/// other tests, where a real-time run of the same scenario is 30 % slower.
/// Then every delivered write is made to cost half a millisecond of CPU: the
/// run takes longer by the wall clock and its results stay the same.
#[test]
fn virtual_time_gives_unloaded_real_time_results_and_ignores_a_slower_cpu() {
    let mut scenario = fidelity();
    assert_eq!(scenario.clock, Clock::Virtual, "virtual is the default");
    let virtual_time = simulate(&scenario);
    let s = &virtual_time;
    assert_eq!(
        s.lookups.succeeded, s.lookups.attempted,
        "every lookup found"
    );
    assert_eq!(
        s.requests.failed + s.requests.unfinished,
        0,
        "every request decided"
    );
    let reference = &UNLOADED_REAL_TIME;
    within(
        "lookup p50",
        s.lookups.latency_ms.p50,
        reference.lookup_p50_ms,
    );
    within(
        "lookup p90",
        s.lookups.latency_ms.p90,
        reference.lookup_p90_ms,
    );
    within("allow p50", allow_p50(s), reference.allow_p50_ms);
    within(
        "decision p50",
        s.requests.decision_latency_ms.p50,
        reference.decision_p50_ms,
    );

    scenario.cpu_burn_us = 500;
    let slowed = simulate(&scenario);
    agree(&virtual_time, &slowed);
    assert!(
        slowed.sim.wall_s > virtual_time.sim.wall_s,
        "the burn slowed the machine ({} s against {} s)",
        slowed.sim.wall_s,
        virtual_time.sim.wall_s
    );
    assert!((slowed.sim.simulated_s - virtual_time.sim.simulated_s).abs() < 1.0);

    // An optimised build is fast enough for a real-time run to be unloaded here
    // too: compare with it directly.
    if !cfg!(debug_assertions) {
        scenario.cpu_burn_us = 0;
        scenario.clock = Clock::Real;
        agree(&simulate(&scenario), &virtual_time);
    }
}
