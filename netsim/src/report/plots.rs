//! The SVG plots of a run: latency CDFs, the hop histogram, success over time
//! and, with mailboxes, what they held and how long queued requests waited.

use std::path::Path;

use plotters::prelude::*;

use super::{Summary, automatic_latencies};
use crate::{
    plan::Role,
    record::{Path as RequestPath, Second},
    sim::Finished,
};

type PlotResult = Result<(), Box<dyn std::error::Error>>;

fn cdf(values: impl Iterator<Item = f64>) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    v.iter()
        .enumerate()
        .map(|(i, x)| (*x, (i + 1) as f64 / n))
        .collect()
}

/// A chart's frame: the title, margins and label areas every plot here shares.
fn framed<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    title: &'b str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55);
    builder
}

/// Axes of a line chart.
struct Axes<'a> {
    x_desc: &'a str,
    y_desc: &'a str,
    x_max: f64,
    y_max: f64,
    legend: SeriesLabelPosition,
}

/// Draws named lines, each with its legend entry; empty series are left out.
fn plot_lines(
    file: &Path,
    title: &str,
    axes: Axes<'_>,
    series: &[(String, Vec<(f64, f64)>)],
) -> PlotResult {
    let root = SVGBackend::new(file, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = framed(&root, title).build_cartesian_2d(0.0..axes.x_max, 0.0..axes.y_max)?;
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .draw()?;
    for (i, (name, points)) in series.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(axes.legend)
        .draw()?;
    root.present()?;
    Ok(())
}

/// CDFs of named samples, each labelled with its count.
fn plot_cdfs(file: &Path, title: &str, samples: Vec<(&str, Vec<f64>)>) -> PlotResult {
    plot_cdfs_in(file, title, "milliseconds", samples)
}

/// [`plot_cdfs`] with the x axis in `unit`.
fn plot_cdfs_in(
    file: &Path,
    title: &str,
    unit: &str,
    samples: Vec<(&str, Vec<f64>)>,
) -> PlotResult {
    let series: Vec<(String, Vec<(f64, f64)>)> = samples
        .into_iter()
        .map(|(name, values)| {
            (
                format!("{name} (n = {})", values.len()),
                cdf(values.into_iter()),
            )
        })
        .collect();
    let x_max = series
        .iter()
        .flat_map(|(_, s)| s.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let axes = Axes {
        x_desc: unit,
        y_desc: "fraction ≤ x",
        x_max: x_max * 1.05,
        y_max: 1.0,
        legend: SeriesLabelPosition::LowerRight,
    };
    plot_lines(file, title, axes, &series)
}

/// Draws every plot of `run` into `dir`.
pub(super) fn plot(run: &Finished, summary: &Summary, dir: &Path) -> PlotResult {
    let r = &run.recorder;
    plot_cdfs(
        &dir.join("lookup_latency_cdf.svg"),
        "DHT lookup latency (successful lookups)",
        vec![(
            "lookups",
            r.lookups
                .iter()
                .filter(|l| l.ok)
                .map(|l| l.latency_ms)
                .collect(),
        )],
    )?;
    plot_cdfs(
        &dir.join("decision_latency_cdf.svg"),
        "Request → decision latency (allow and deny policies)",
        vec![
            (
                "direct",
                automatic_latencies(run, RequestPath::Direct).collect(),
            ),
            (
                "relayed",
                automatic_latencies(run, RequestPath::Relayed).collect(),
            ),
        ],
    )?;

    // Hop histogram.
    let file = dir.join("hops.svg");
    let root = SVGBackend::new(&file, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let histogram = &summary.lookups.hop_histogram;
    let max_hops = histogram.keys().max().copied().unwrap_or(1);
    let max_count = histogram.values().max().copied().unwrap_or(1);
    let mut chart = framed(&root, "DHT lookup hops (replayed)").build_cartesian_2d(
        (0u32..max_hops + 1).into_segmented(),
        0usize..max_count + max_count / 10 + 1,
    )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc("hops")
        .y_desc("lookups")
        .draw()?;
    chart.draw_series(
        Histogram::vertical(&chart)
            .style(BLUE.mix(0.6).filled())
            .margin(8)
            .data(histogram.iter().map(|(h, c)| (*h, *c))),
    )?;
    root.present()?;

    // Success over time.
    let persons = run
        .plan
        .nodes
        .iter()
        .filter(|n| n.role == Role::Person)
        .count()
        .max(1) as u64;
    let share = |num: fn(&Second) -> u64, den: &dyn Fn(&Second) -> u64| -> Vec<(f64, f64)> {
        r.seconds
            .iter()
            .filter(|s| den(s) > 0)
            .map(|s| (s.t as f64 + 0.5, num(s) as f64 / den(s) as f64))
            .collect()
    };
    let series = [
        (
            "lookups found".to_string(),
            share(|s| s.lookups_ok, &|s| s.lookups),
        ),
        (
            "requests decided".to_string(),
            share(|s| s.decisions, &|s| s.decisions + s.failures),
        ),
        (
            "persons online".to_string(),
            share(|s| s.persons_online, &|s| {
                persons * u64::from(s.persons_online > 0)
            }),
        ),
    ];
    let axes = Axes {
        x_desc: "seconds into the workload",
        y_desc: "share",
        x_max: r.seconds.len().max(1) as f64,
        y_max: 1.05,
        legend: SeriesLabelPosition::LowerLeft,
    };
    plot_lines(
        &dir.join("success_over_time.svg"),
        "Success over time",
        axes,
        &series,
    )?;
    if run.scenario.mailboxes.enabled {
        let decided = |queued: bool| -> Vec<f64> {
            r.requests
                .iter()
                .filter(|q| q.queued == queued)
                .filter_map(|q| q.latency_ms.map(|ms| ms / 1e3))
                .collect()
        };
        plot_cdfs_in(
            &dir.join("decision_latency_queued_cdf.svg"),
            "Request → decision: person online, or queued at its mailboxes",
            "seconds",
            vec![("online", decided(false)), ("queued", decided(true))],
        )?;
        let held: Vec<(f64, f64)> = r
            .seconds
            .iter()
            .map(|s| (s.t as f64 + 0.5, s.mailbox_bytes as f64 / 1e3))
            .collect();
        let peak = held.iter().map(|(_, kb)| *kb).fold(1.0, f64::max);
        let axes = Axes {
            x_desc: "seconds into the workload",
            y_desc: "KB held",
            x_max: r.seconds.len().max(1) as f64,
            y_max: peak * 1.1,
            legend: SeriesLabelPosition::UpperLeft,
        };
        plot_lines(
            &dir.join("mailbox_bytes.svg"),
            "Bytes held by the mailboxes",
            axes,
            &[("all mailboxes".to_string(), held)],
        )?;
    }
    Ok(())
}

/// The calibration's plot: lookup latency p50 and p90 against the network's
/// size, in both tiers (means over the seeds).
pub fn plot_calibration(rows: &[crate::calibrate::Row], file: &Path) -> PlotResult {
    let series_of = |metric: &str, real: bool| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| r.metric == metric)
            .map(|r| {
                let value = if real { r.real_mean } else { r.model_mean };
                (r.nodes as f64, value)
            })
            .collect()
    };
    let series = vec![
        (
            "real, lookup p50".to_string(),
            series_of("lookup p50 ms", true),
        ),
        (
            "model, lookup p50".to_string(),
            series_of("lookup p50 ms", false),
        ),
        (
            "real, lookup p90".to_string(),
            series_of("lookup p90 ms", true),
        ),
        (
            "model, lookup p90".to_string(),
            series_of("lookup p90 ms", false),
        ),
    ];
    let x_max = rows.iter().map(|r| r.nodes as f64).fold(1.0, f64::max) * 1.05;
    let y_max = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 1.1;
    plot_lines(
        file,
        "Lookup latency by network size, real tier and model",
        Axes {
            x_desc: "nodes",
            y_desc: "ms",
            x_max,
            y_max,
            legend: SeriesLabelPosition::LowerRight,
        },
        &series,
    )
}
