//! The model tier against the real one on the same plans: the same round trips
//! on links of a fixed latency, and the same results within tolerance on a
//! small network (CI's calibration check; netsim/README.md, "The model tier").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use passport_netsim::{
    Finished, Options, Scenario, Summary, run,
    scenario::{RoutingTables, Tier},
};

/// `fidelity.toml` with converged routing tables, which the model always has.
fn fidelity(seed: u64) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fidelity.toml");
    let mut scenario = Scenario::load(&path).unwrap();
    scenario.seed = seed;
    scenario.protocol.routing_tables = RoutingTables::Converged;
    scenario
}

fn run_in(scenario: &Scenario, tier: Tier) -> Finished {
    let mut scenario = scenario.clone();
    scenario.tier = tier;
    scenario.check("test").unwrap();
    let finished = run(&scenario, &Options::default()).unwrap();
    assert_eq!(finished.resources.tier, tier);
    finished
}

/// Successful lookups by latency in whole round trips of 100 ms.
fn round_trips(run: &Finished) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for lookup in run.recorder.lookups.iter().filter(|l| l.ok) {
        *counts
            .entry((lookup.latency_ms / 100.0).round() as u64)
            .or_default() += 1;
    }
    counts
}

fn most_common(counts: &BTreeMap<u64, usize>) -> u64 {
    counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(k, _)| *k)
        .unwrap()
}

/// On 50 ms links without jitter every exchange costs whole round trips of
/// 100 ms: a Kademlia request on an open connection two (the substream's
/// negotiation, then the request), on a new one four. The model must count
/// them as the real libp2p stack spends them.
#[test]
fn the_model_spends_the_real_stacks_round_trips() {
    let mut scenario = fidelity(1);
    scenario.link.latency_ms = passport_netsim::dist::Dist::Fixed { value: 50.0 };
    scenario.link.jitter_ms = passport_netsim::dist::Dist::Fixed { value: 0.0 };
    let real = run_in(&scenario, Tier::Real);
    let model = run_in(&scenario, Tier::Model);
    let (real_trips, model_trips) = (round_trips(&real), round_trips(&model));
    // Most lookups meet open connections: two round trips in both tiers.
    assert_eq!(most_common(&real_trips), 2, "real: {real_trips:?}");
    assert_eq!(most_common(&model_trips), 2, "model: {model_trips:?}");
    // Those that dial take four.
    assert!(real_trips.contains_key(&4), "real: {real_trips:?}");
    assert!(model_trips.contains_key(&4), "model: {model_trips:?}");
    // A direct request after its lookup: two more on an open connection.
    let (real, model) = (Summary::of(&real), Summary::of(&model));
    let direct = |s: &Summary| s.requests.latency_by_path_ms["direct"].p50;
    assert!(
        (direct(&real) - direct(&model)).abs() < 15.0,
        "direct p50: real {} ms, model {} ms",
        direct(&real),
        direct(&model)
    );
}

/// CI's small calibration check: the same plan in both tiers gives the same
/// outcomes, and lookup latency within 15 %, request latency and Kademlia
/// work within 20 % (a 28-node run's own spread; the 10 % bar is the
/// calibration's, over five seeds of 100 and 300 nodes).
#[test]
fn the_model_agrees_with_the_real_tier_on_a_small_network() {
    for seed in [1, 2] {
        let scenario = fidelity(seed);
        let real = Summary::of(&run_in(&scenario, Tier::Real));
        let model = Summary::of(&run_in(&scenario, Tier::Model));
        assert_eq!(real.plan_digest, model.plan_digest);
        let within = |name: &str, a: f64, b: f64, tolerance: f64| {
            assert!(
                (b - a).abs() <= tolerance * a,
                "seed {seed}: {name}: real {a:.1}, model {b:.1}, more than {:.0} % apart",
                tolerance * 100.0
            );
        };
        within(
            "lookup success",
            real.lookups.success_rate,
            model.lookups.success_rate,
            0.02,
        );
        within(
            "lookup p50 ms",
            real.lookups.latency_ms.p50,
            model.lookups.latency_ms.p50,
            0.15,
        );
        // 20 %: at 28 nodes the real tier's own runs of one seed spread this
        // much (seed 2: 4.25–4.7 requests per lookup over seven runs, the model
        // 4.0); at 100 and 300 nodes over five seeds the tiers agree within
        // 1 % (netsim/README.md, Calibration).
        within(
            "kad requests per lookup",
            real.lookups.kad_requests.mean,
            model.lookups.kad_requests.mean,
            0.20,
        );
        within(
            "requests decided",
            real.requests.success_rate,
            model.requests.success_rate,
            0.02,
        );
        // Automatic decisions over direct paths: `allow` alone mixes in the
        // few relayed requests, and a run of 28 nodes has too few of those for
        // its median to hold still (seed 2: 532 ms real, 356 model, with the
        // direct ones 337 and 323).
        // 20 %: seven real runs of seed 2 gave 340–384 ms, the model 323.
        let direct = |s: &Summary| s.requests.latency_by_path_ms["direct"].p50;
        within("direct request p50 ms", direct(&real), direct(&model), 0.20);
        within(
            "grants issued",
            real.grants.issued as f64,
            model.grants.issued as f64,
            0.05,
        );
    }
}

/// The model is a single-threaded event loop seeded from the scenario: the
/// same scenario gives the same results, bit for bit.
#[test]
fn the_model_is_reproducible_bit_for_bit() {
    let scenario = fidelity(3);
    let (a, b) = (
        run_in(&scenario, Tier::Model),
        run_in(&scenario, Tier::Model),
    );
    let lookups = |f: &Finished| {
        f.recorder
            .lookups
            .iter()
            .map(|l| (l.ok, l.latency_ms.to_bits(), l.requests, l.hops))
            .collect::<Vec<_>>()
    };
    let requests = |f: &Finished| {
        f.recorder
            .requests
            .iter()
            .map(|r| (r.outcome, r.latency_ms.map(f64::to_bits)))
            .collect::<Vec<_>>()
    };
    assert_eq!(lookups(&a), lookups(&b));
    assert_eq!(requests(&a), requests(&b));
    assert!(!lookups(&a).is_empty());
}

/// `fidelity(1)` with 10 s of workload and drain: calibrations run it often.
fn short_fidelity() -> Scenario {
    let mut scenario = fidelity(1);
    scenario.duration = std::time::Duration::from_secs(10);
    scenario.drain = std::time::Duration::from_secs(10);
    scenario
}

/// `calibrate` runs every size and seed in both tiers and writes the table,
/// its CSV and the plot, one row per metric and size.
#[test]
fn calibrate_writes_the_table_and_the_plot() {
    let scenario = short_fidelity();
    let dir = tempfile::tempdir().unwrap();
    let rows = passport_netsim::calibrate::calibrate(
        &scenario,
        &[20, 30],
        1,
        dir.path(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(rows.iter().filter(|r| r.nodes == 20).count(), 12);
    assert_eq!(rows.iter().filter(|r| r.nodes == 30).count(), 12);
    let success = rows
        .iter()
        .find(|r| r.nodes == 30 && r.metric == "lookup success %")
        .unwrap();
    assert!(
        success.real_mean > 90.0 && success.model_mean > 90.0,
        "{success:?}"
    );
    let table = std::fs::read_to_string(dir.path().join("calibration.md")).unwrap();
    assert!(
        table.contains("| 30 | kad requests per lookup |"),
        "{table}"
    );
    assert!(dir.path().join("calibration.csv").exists());
    assert!(dir.path().join("calibration_latency.svg").exists());
    assert!(dir.path().join("n20-seed1-real/summary.json").exists());
    assert!(dir.path().join("n30-seed1-model/summary.json").exists());
}

/// A calibration taken up again reads back the runs it finished (the table
/// shows a kept run's figures, here edited by hand to tell them apart) and
/// runs again those left unfinished or planned differently.
#[test]
fn calibrate_taken_up_again_keeps_finished_runs() {
    let mut scenario = short_fidelity();
    let dir = tempfile::tempdir().unwrap();
    let calibrate = |scenario: &Scenario| {
        passport_netsim::calibrate::calibrate(scenario, &[20], 2, dir.path(), &Options::default())
            .unwrap()
    };
    let first = calibrate(&scenario);
    let p50 = |rows: &[passport_netsim::calibrate::Row]| {
        let row = rows.iter().find(|r| r.metric == "lookup p50 ms").unwrap();
        (row.real_mean, row.model_mean)
    };
    // Seed 1's real run is kept, edited; seed 2's real run was stopped before
    // its summary was written.
    let kept = dir.path().join("n20-seed1-real/summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&kept).unwrap()).unwrap();
    let real_p50_seed1 = summary["lookups"]["latency_ms"]["p50"].as_f64().unwrap();
    summary["lookups"]["latency_ms"]["p50"] = serde_json::json!(real_p50_seed1 + 1000.0);
    std::fs::write(&kept, serde_json::to_vec(&summary).unwrap()).unwrap();
    std::fs::remove_file(dir.path().join("n20-seed2-real/summary.json")).unwrap();

    let again = calibrate(&scenario);
    let (real, model) = p50(&again);
    assert!(
        (real - (p50(&first).0 + 500.0)).abs() < 100.0,
        "seed 1 kept as edited, seed 2 run again alike: {real} against {:?}",
        p50(&first)
    );
    assert_eq!(model, p50(&first).1);
    assert!(dir.path().join("n20-seed2-real/summary.json").exists());

    // Another plan (a different loss) runs everything again.
    scenario.link.loss = 0.02;
    let replanned = calibrate(&scenario);
    assert!(
        (p50(&replanned).0 - p50(&first).0).abs() < 500.0,
        "the edited run was not kept under another plan"
    );
}

/// A node's first publication that times out while looking for the closest
/// peers stores nothing (libp2p-kad ends the PutRecord with an error) and is
/// tried again, as `publish_until_taken` does: early joiners, whose tables are
/// mostly nodes not up yet, then ask for the closest peers again and again.
#[test]
fn a_first_publication_that_times_out_is_tried_again() {
    let text = |timeout: &str| {
        format!(
            "seed = 1\ntier = \"model\"\njoin = \"20s\"\nsettle = \"1s\"\nduration = \"1s\"\ndrain = \"0s\"\n\
             [nodes]\npersons = 20\nmerchants = 1\nrelays = 0\nbootstrap = 1\n\
             [link]\nlatency_ms = {{ kind = \"fixed\", value = 50.0 }}\njitter_ms = {{ kind = \"fixed\", value = 0.0 }}\n\
             [workload]\nrequest_rate = 0.0\n\
             [protocol]\nrouting_tables = \"converged\"\nlookup_timeout = \"{timeout}\"\n"
        )
    };
    let served = |timeout: &str| {
        let scenario = Scenario::parse(&text(timeout), "retry.toml").unwrap();
        let finished = run(&scenario, &Options::default()).unwrap();
        finished.nodes.iter().map(|n| n.dht_find_node).sum::<u64>()
    };
    // A 5 s dial timeout to each node not up yet outlasts a 3 s query timeout,
    // not a 30 s one.
    let (timing_out, patient) = (served("3s"), served("30s"));
    assert!(
        timing_out as f64 > 1.3 * patient as f64,
        "closest-peer requests served: {timing_out} with 3 s query timeouts, {patient} with 30 s"
    );
}

/// A node behind NAT republishes once its relay reservation gives it an
/// address, and not when AutoNAT's dial-backs fail (nothing was confirmed): as
/// many publications as a public node, which republishes once AutoNAT confirms
/// its address. Persons serve no DHT here, so every publication stores on the
/// same five infrastructure nodes.
#[test]
fn a_natd_node_publishes_as_often_as_a_public_one() {
    let puts = |nat_share: f64| {
        let text = format!(
            "seed = 1\ntier = \"model\"\njoin = \"2s\"\nsettle = \"20s\"\nduration = \"5s\"\ndrain = \"0s\"\n\
             [nodes]\npersons = 10\nmerchants = 1\nrelays = 2\nbootstrap = 2\nnat_share = {nat_share}\n\
             persons_serve_dht = false\n\
             [workload]\nrequest_rate = 0.0\n\
             [protocol]\nrouting_tables = \"converged\"\n"
        );
        let scenario = Scenario::parse(&text, "nat.toml").unwrap();
        let finished = run(&scenario, &Options::default()).unwrap();
        finished.nodes.iter().map(|n| n.dht_put_record).sum::<u64>()
    };
    let (public, natd) = (puts(0.0), puts(1.0));
    assert!(public > 0);
    assert_eq!(
        natd, public,
        "records stored: {natd} with every person behind NAT, {public} with none"
    );
}
