//! Calibration: one scenario, scaled to several network sizes, run with several
//! seeds in both tiers on the same plans, and the model's figures set beside the
//! real tier's (`passport-netsim calibrate`; netsim/README.md, "The model tier").
//!
//! A metric passes where the model's mean over the seeds is within 10 % of the
//! real tier's mean, or within the real tier's own seed-to-seed spread (max −
//! min) where that is wider. Hop histograms pass where their total-variation
//! distance, seed by seed, averages 0.1 or less.
//!
//! A calibration at 1,000 real nodes takes hours, so it can be stopped and
//! taken up again: a run whose folder already holds a `summary.json` (written
//! last) and the same scenario is read back instead of run again.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde::Serialize;

use crate::{
    report::{self, Summary},
    scenario::{RoutingTables, Scenario, Tier},
    sim::{NodeTotals, Options, SimError, run},
};

/// One metric at one network size.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Nodes in the network.
    pub nodes: usize,
    /// What is measured.
    pub metric: String,
    /// The real tier: mean, least and most over the seeds.
    pub real_mean: f64,
    /// See `real_mean`.
    pub real_min: f64,
    /// See `real_mean`.
    pub real_max: f64,
    /// The model: mean, least and most over the seeds.
    pub model_mean: f64,
    /// See `model_mean`.
    pub model_min: f64,
    /// See `model_mean`.
    pub model_max: f64,
    /// Whether the model passes on this metric.
    pub pass: bool,
}

/// `scenario` with its node counts scaled to `nodes` in all, the roles in the
/// same proportions (each role present stays at least 1), and the routing
/// tables the model has.
pub fn scaled(scenario: &Scenario, nodes: usize) -> Scenario {
    let mut s = scenario.clone();
    let total = scenario.nodes.total().max(1);
    let scale = |count: usize| {
        if count == 0 {
            0
        } else {
            ((count * nodes) as f64 / total as f64).round().max(1.0) as usize
        }
    };
    s.nodes.merchants = scale(scenario.nodes.merchants);
    s.nodes.relays = scale(scenario.nodes.relays);
    s.nodes.bootstrap = scale(scenario.nodes.bootstrap);
    let others = s.nodes.merchants + s.nodes.relays + s.nodes.bootstrap;
    s.nodes.persons = nodes.saturating_sub(others).max(1);
    s.nodes.bootstrap_per_node = s.nodes.bootstrap_per_node.min(s.nodes.bootstrap);
    s.nodes.relays_per_person = s.nodes.relays_per_person.min(s.nodes.relays.max(1));
    s.protocol.routing_tables = RoutingTables::Converged;
    s.name = format!("{}-{nodes}", scenario.name);
    s
}

/// The figures a calibration compares, from one run's summary and the DHT
/// requests each node served.
///
/// DHT load is per node over every node, not over the nodes that served any:
/// in the real tier a NAT'd node serves a handful of requests while its peers
/// still take it for a server (it starts in server mode until AutoNAT finds it
/// private), and at 100 nodes those handfuls alone moved a per-server mean by
/// 10 %. How many nodes served any is its own figure.
fn figures(summary: &Summary, served: Vec<f64>) -> Vec<(&'static str, f64)> {
    let [mean, p99, servers] = dht_load(served);
    vec![
        ("lookup success %", summary.lookups.success_rate * 100.0),
        ("lookup p50 ms", summary.lookups.latency_ms.p50),
        ("lookup p90 ms", summary.lookups.latency_ms.p90),
        ("lookup p99 ms", summary.lookups.latency_ms.p99),
        ("kad requests per lookup", summary.lookups.kad_requests.mean),
        ("hops mean", summary.lookups.hops.mean),
        mean,
        p99,
        servers,
        ("requests decided %", summary.requests.success_rate * 100.0),
        (
            "request→decision p50 ms",
            summary.requests.decision_latency_ms.p50,
        ),
    ]
}

/// The DHT load figures from the requests each node served.
fn dht_load(served: Vec<f64>) -> [(&'static str, f64); 3] {
    let servers = served.iter().filter(|&&n| n > 0.0).count() as f64;
    let load = crate::record::Spread::of(served);
    [
        ("DHT requests served per node, mean", load.mean),
        ("DHT requests served per node, p99", load.p99),
        ("nodes that served DHT requests", servers),
    ]
}

/// The DHT requests each node served.
fn served(nodes: &[NodeTotals]) -> Vec<f64> {
    nodes.iter().map(|n| n.dht_served() as f64).collect()
}

/// The summary and DHT load of a finished run kept in `dir`, if it holds one
/// of `scenario` (as `report::write` wrote it); `None` if it must be run.
fn kept(dir: &Path, scenario: &Scenario) -> Result<Option<(Summary, Vec<f64>)>, CalibrationError> {
    if !dir.join("summary.json").exists() {
        return Ok(None);
    }
    let unreadable = |reason: String| CalibrationError::Kept {
        path: dir.display().to_string(),
        reason,
    };
    let planned = toml::to_string(scenario).map_err(|e| unreadable(e.to_string()))?;
    match std::fs::read_to_string(dir.join("scenario.toml")) {
        Ok(written) if written == planned => {}
        _ => return Ok(None),
    }
    let summary = report::read_summary(dir).map_err(unreadable)?;
    let nodes = csv::Reader::from_path(dir.join("nodes.csv"))
        .and_then(|mut rows| rows.deserialize().collect::<Result<Vec<NodeTotals>, _>>())
        .map_err(|e| unreadable(format!("nodes.csv: {e}")))?;
    Ok(Some((summary, served(&nodes))))
}

/// The share of lookups by hop count.
fn hop_shares(summary: &Summary) -> BTreeMap<u32, f64> {
    let total: usize = summary.lookups.hop_histogram.values().sum();
    summary
        .lookups
        .hop_histogram
        .iter()
        .map(|(h, n)| (*h, *n as f64 / total.max(1) as f64))
        .collect()
}

/// Total-variation distance of two hop histograms (0 same, 1 disjoint).
fn total_variation(a: &BTreeMap<u32, f64>, b: &BTreeMap<u32, f64>) -> f64 {
    let keys: std::collections::BTreeSet<u32> = a.keys().chain(b.keys()).copied().collect();
    keys.iter()
        .map(|k| (a.get(k).unwrap_or(&0.0) - b.get(k).unwrap_or(&0.0)).abs())
        .sum::<f64>()
        / 2.0
}

fn mean_min_max(values: &[f64]) -> (f64, f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, min, max)
}

/// Runs `scenario` scaled to each of `sizes`, with `seeds` seeds from its own,
/// in both tiers; writes every run's reports under `out`, then
/// `calibration.md`, `calibration.csv` and `calibration_latency.svg`. Runs
/// already finished under `out` with the same scenario are read back, not
/// run again.
pub fn calibrate(
    scenario: &Scenario,
    sizes: &[usize],
    seeds: u64,
    out: &Path,
    options: &Options,
) -> Result<Vec<Row>, CalibrationError> {
    let mut rows = Vec::new();
    for &nodes in sizes {
        let base = scaled(scenario, nodes);
        let mut by_metric: BTreeMap<&'static str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        let mut order = Vec::new();
        let mut distances = Vec::new();
        for seed in scenario.seed..scenario.seed + seeds {
            let mut shares = Vec::new();
            for tier in [Tier::Real, Tier::Model] {
                let mut s = base.clone();
                s.seed = seed;
                s.tier = tier;
                let dir = out.join(format!("n{nodes}-seed{seed}-{tier}"));
                let (summary, load) = if let Some(done) = kept(&dir, &s)? {
                    eprintln!(
                        "calibrating: {nodes} nodes, seed {seed}, {tier} tier: kept in {}",
                        dir.display()
                    );
                    done
                } else {
                    eprintln!("calibrating: {nodes} nodes, seed {seed}, {tier} tier");
                    let finished = run(&s, options)?;
                    let summary = report::write(&finished, &dir).map_err(|source| {
                        CalibrationError::Write {
                            path: dir.display().to_string(),
                            source,
                        }
                    })?;
                    (summary, served(&finished.nodes))
                };
                for (name, value) in figures(&summary, load) {
                    if !order.contains(&name) {
                        order.push(name);
                    }
                    let entry = by_metric.entry(name).or_default();
                    match tier {
                        Tier::Real => entry.0.push(value),
                        Tier::Model => entry.1.push(value),
                    }
                }
                shares.push(hop_shares(&summary));
            }
            distances.push(total_variation(&shares[0], &shares[1]));
        }
        for name in order {
            let (real, model) = &by_metric[name];
            let (real_mean, real_min, real_max) = mean_min_max(real);
            let (model_mean, model_min, model_max) = mean_min_max(model);
            let allowed = (0.10 * real_mean.abs()).max(real_max - real_min);
            rows.push(Row {
                nodes,
                metric: name.into(),
                real_mean,
                real_min,
                real_max,
                model_mean,
                model_min,
                model_max,
                pass: (model_mean - real_mean).abs() <= allowed + 1e-9,
            });
        }
        let (tv_mean, tv_min, tv_max) = mean_min_max(&distances);
        rows.push(Row {
            nodes,
            metric: "hop histogram, total-variation distance".into(),
            real_mean: 0.0,
            real_min: 0.0,
            real_max: 0.0,
            model_mean: tv_mean,
            model_min: tv_min,
            model_max: tv_max,
            pass: tv_mean <= 0.1,
        });
    }
    let write = |file: &str, bytes: Vec<u8>| {
        let path = out.join(file);
        std::fs::write(&path, bytes).map_err(|source| CalibrationError::Write {
            path: path.display().to_string(),
            source,
        })
    };
    write("calibration.md", markdown(&rows).into_bytes())?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    for row in &rows {
        csv.serialize(row).map_err(|e| CalibrationError::Write {
            path: "calibration.csv".into(),
            source: std::io::Error::other(e),
        })?;
    }
    write(
        "calibration.csv",
        csv.into_inner().map_err(|e| CalibrationError::Write {
            path: "calibration.csv".into(),
            source: std::io::Error::other(e.to_string()),
        })?,
    )?;
    report::plot_calibration(&rows, &out.join("calibration_latency.svg")).map_err(|e| {
        CalibrationError::Write {
            path: "calibration_latency.svg".into(),
            source: std::io::Error::other(e.to_string()),
        }
    })?;
    Ok(rows)
}

/// The rows as a Markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| nodes | metric | real: mean (min–max) | model: mean (min–max) | model / real | passes |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let real = if r.metric.starts_with("hop histogram") {
            "–".to_string()
        } else {
            format!("{:.1} ({:.1}–{:.1})", r.real_mean, r.real_min, r.real_max)
        };
        let ratio = if r.real_mean.abs() > f64::EPSILON {
            format!("{:.2}", r.model_mean / r.real_mean)
        } else {
            "–".into()
        };
        // Distances are small fractions: three decimals.
        let model = if r.metric.starts_with("hop histogram") {
            format!(
                "{:.3} ({:.3}–{:.3})",
                r.model_mean, r.model_min, r.model_max
            )
        } else {
            format!(
                "{:.1} ({:.1}–{:.1})",
                r.model_mean, r.model_min, r.model_max
            )
        };
        let _ = writeln!(
            out,
            "| {} | {} | {real} | {model} | {ratio} | {} |",
            r.nodes,
            r.metric,
            if r.pass { "yes" } else { "**no**" }
        );
    }
    out
}

/// Why a calibration stopped.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// A run failed.
    #[error(transparent)]
    Run(#[from] SimError),
    /// A finished run kept from an earlier calibration could not be read back.
    #[error("could not read the kept run in {path}: {reason}; delete that folder to run it again")]
    Kept {
        /// The run's folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// A report could not be written.
    #[error("could not write {path}: {source}")]
    Write {
        /// The file or folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_keeps_the_roles_in_proportion() {
        let s = Scenario::default(); // 40 persons, 4 merchants, 2 relays, 4 bootstrap
        let big = scaled(&s, 1_000);
        assert_eq!(big.nodes.total(), 1_000);
        assert_eq!(
            (big.nodes.merchants, big.nodes.relays, big.nodes.bootstrap),
            (80, 40, 80)
        );
        assert_eq!(big.protocol.routing_tables, RoutingTables::Converged);
        let tiny = scaled(&s, 10);
        assert!(tiny.nodes.relays >= 1 && tiny.nodes.bootstrap >= 1);
        assert!(tiny.nodes.bootstrap_per_node <= tiny.nodes.bootstrap);
    }

    #[test]
    fn dht_load_counts_every_node() {
        let load = dht_load(vec![0.0, 0.0, 10.0, 20.0]);
        assert_eq!(
            load,
            [
                ("DHT requests served per node, mean", 7.5),
                ("DHT requests served per node, p99", 20.0),
                ("nodes that served DHT requests", 2.0),
            ]
        );
    }

    #[test]
    fn the_pass_rule_and_the_distance() {
        let a = BTreeMap::from([(1, 0.5), (2, 0.5)]);
        let b = BTreeMap::from([(2, 0.5), (3, 0.5)]);
        assert!((total_variation(&a, &b) - 0.5).abs() < 1e-12);
        assert_eq!(total_variation(&a, &a), 0.0);
        let table = markdown(&[Row {
            nodes: 100,
            metric: "lookup p50 ms".into(),
            real_mean: 200.0,
            real_min: 190.0,
            real_max: 210.0,
            model_mean: 230.0,
            model_min: 220.0,
            model_max: 240.0,
            pass: false,
        }]);
        assert!(table.contains("| 100 | lookup p50 ms | 200.0 (190.0–210.0) | 230.0 (220.0–240.0) | 1.15 | **no** |"), "{table}");
    }
}
