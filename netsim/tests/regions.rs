//! A latency matrix between regions sets every pair's base latency, in both
//! tiers (netsim/README.md, "Regions").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, path::Path};

use passport_netsim::{
    Finished, Options, Scenario, Summary,
    dist::Dist,
    regions::Regions,
    run,
    scenario::{RoutingTables, Tier},
};

fn fidelity(tier: Tier) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/fidelity.toml");
    let mut scenario = Scenario::load(&path).unwrap();
    scenario.tier = tier;
    scenario.protocol.routing_tables = RoutingTables::Converged;
    scenario.link.jitter_ms = Dist::Fixed { value: 0.0 };
    scenario
}

/// A matrix of one region whose round trips all take `rtt_ms`.
fn one_region(dir: &Path, rtt_ms: f64) -> Regions {
    let path = dir.join(format!("one-{rtt_ms}.toml"));
    std::fs::write(
        &path,
        format!(
            "source = \"a test\"\n[share]\nhere = 1.0\n[[pair]]\nbetween = [\"here\", \"here\"]\n\
             rtt_ms = {{ kind = \"fixed\", value = {rtt_ms} }}\n"
        ),
    )
    .unwrap();
    Regions::new(path.to_str().unwrap(), BTreeMap::new()).unwrap()
}

fn with_regions(mut scenario: Scenario, regions: Regions) -> Scenario {
    scenario.link.latency_ms = passport_netsim::scenario::Link::default().latency_ms;
    scenario.link.regions = Some(regions);
    scenario.check("test").unwrap();
    scenario
}

fn run_it(scenario: &Scenario) -> Finished {
    run(scenario, &Options::default()).unwrap()
}

fn lookup_latencies(run: &Finished) -> Vec<(bool, u64)> {
    run.recorder
        .lookups
        .iter()
        .map(|l| (l.ok, (l.latency_ms * 1e3) as u64))
        .collect()
}

/// One region with 100 ms round trips is the same network as 50 ms links: the
/// model, which repeats bit for bit, gives the same lookups. At 400 ms round
/// trips every lookup takes four times as long.
#[test]
fn a_matrix_gives_each_pair_half_its_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut fixed = fidelity(Tier::Model);
    fixed.link.latency_ms = Dist::Fixed { value: 50.0 };
    let by_links = run_it(&fixed);
    let by_matrix = run_it(&with_regions(
        fidelity(Tier::Model),
        one_region(dir.path(), 100.0),
    ));
    let expected = lookup_latencies(&by_links);
    assert!(
        expected.iter().filter(|(ok, _)| *ok).count() > 10,
        "{expected:?}"
    );
    assert_eq!(lookup_latencies(&by_matrix), expected);

    let slow = run_it(&with_regions(
        fidelity(Tier::Model),
        one_region(dir.path(), 400.0),
    ));
    let p50 = |r: &Finished| Summary::of(r).lookups.latency_ms.p50;
    let ratio = p50(&slow) / p50(&by_matrix);
    assert!(
        (3.8..4.2).contains(&ratio),
        "p50 {} against {} ms",
        p50(&slow),
        p50(&by_matrix)
    );
}

/// The real tier's links draw from the same matrix: with 300 ms round trips
/// most lookups take two of them, as on fixed links (netsim/tests/model.rs).
#[test]
fn the_real_tier_draws_its_latencies_from_the_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let finished = run_it(&with_regions(
        fidelity(Tier::Real),
        one_region(dir.path(), 300.0),
    ));
    let mut trips = BTreeMap::<u64, usize>::new();
    for lookup in finished.recorder.lookups.iter().filter(|l| l.ok) {
        *trips
            .entry((lookup.latency_ms / 300.0).round() as u64)
            .or_default() += 1;
    }
    assert!(finished.nodes.iter().all(|n| n.region == "here"));
    let most_common = trips.iter().max_by_key(|(_, n)| **n).map(|(k, _)| *k);
    assert_eq!(
        most_common,
        Some(2),
        "lookups by round trips of 300 ms: {trips:?}"
    );
}
