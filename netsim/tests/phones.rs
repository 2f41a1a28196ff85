//! A small version of the phones scenario, as CI runs it: persons online a small
//! share of the time, with and without mailboxes on the relays. With them, no
//! message is lost and far more requests are decided; without them, requests to
//! persons who are offline are lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, time::Duration};

use passport_netsim::{Options, Scenario, Summary, dist::Dist, report, run};

/// phones.toml, scaled down to 32 nodes and about two and a half minutes.
fn small_phones() -> Scenario {
    let mut s =
        Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/phones.toml"))
            .unwrap();
    s.name = "phones-small".into();
    s.join = Duration::from_secs(8);
    s.settle = Duration::from_secs(8);
    s.duration = Duration::from_secs(50);
    s.drain = Duration::from_secs(70);
    s.nodes.persons = 24;
    s.nodes.merchants = 3;
    s.nodes.relays = 2;
    s.nodes.bootstrap = 3;
    s.churn.session_s = Dist::Exponential { mean: 8.0 };
    s.churn.downtime_s = Dist::Exponential { mean: 60.0 };
    s.workload.request_rate = 0.5;
    s.mailboxes.drain_every = Duration::from_secs(10);
    s
}

fn simulate(scenario: &Scenario, plots: &[&str]) -> Summary {
    let finished = run(scenario, &Options::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let summary = report::write(&finished, out.path()).unwrap();
    for file in plots {
        let len = std::fs::metadata(out.path().join(file)).unwrap().len();
        assert!(len > 0, "{file} is empty");
    }
    eprintln!("{}", summary.one_line());
    summary
}

#[test]
fn mailboxes_lose_nothing_for_persons_mostly_offline_and_decide_far_more() {
    let scenario = small_phones();
    let with = simulate(
        &scenario,
        &["mailbox_bytes.svg", "decision_latency_queued_cdf.svg"],
    );
    let mut without = scenario.clone();
    without.mailboxes.enabled = false;
    without.name = "phones-small-no-mailboxes".into();
    let without = simulate(&without, &[]);
    eprintln!("{}", report::compare(&without, &with));

    // Persons were offline most of the time: many requests found them so.
    assert!(with.mailboxes.queued_requests > 0);
    assert!(with.mailboxes.peak_bytes_held > 0);
    // With mailboxes nothing is lost: a request is decided, or waits for its
    // person at a mailbox when the run ends.
    assert_eq!(
        with.requests.lost, 0,
        "{:?} {:?}",
        with.requests.failures, with.grants.delivery_failures
    );
    assert_eq!(
        with.requests.granted + with.requests.denied + with.requests.unfinished,
        with.requests.planned
    );
    // Without them, requests to offline persons are lost, and fewer are decided.
    assert!(without.requests.lost > 0);
    assert_eq!(without.mailboxes.queued_requests, 0);
    assert!(
        with.requests.decided_share > without.requests.decided_share,
        "with {:.2}, without {:.2}",
        with.requests.decided_share,
        without.requests.decided_share
    );
}
