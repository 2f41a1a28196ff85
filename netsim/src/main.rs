//! `passport-netsim`: runs a scenario, or compares two runs.
//!
//! Exit codes: 0 done; 1 the run or the comparison failed; 2 bad arguments or a bad
//! scenario.

use std::{io::IsTerminal as _, path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use passport_netsim::{Options, Scenario, report};

// Thousands of nodes allocate and free small buffers all the time; glibc's
// allocator spent a fifth of a saturated run (see netsim/README.md, Scale).
// `--features system-allocator` keeps the system's, for heap profilers such as
// heaptrack that see only malloc.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Simulate thousands of real Passport nodes on one machine.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true
)]
struct Cli {
    /// The same as `compare A B`.
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    compare: Option<Vec<PathBuf>>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and write its reports.
    Run {
        /// The scenario file (see netsim/scenarios/).
        scenario: PathBuf,
        /// Folder for summary.json, the CSV files and the plots (created if
        /// missing).
        #[arg(long)]
        out: PathBuf,
        /// Use this seed instead of the scenario's.
        #[arg(long)]
        seed: Option<u64>,
        /// Use this tier instead of the scenario's: real (Passport nodes) or
        /// model (the discrete-event model, for large networks).
        #[arg(long)]
        tier: Option<passport_netsim::scenario::Tier>,
        /// Use this clock instead of the scenario's: virtual or real.
        #[arg(long)]
        clock: Option<passport_netsim::scenario::Clock>,
        /// Use this much busy CPU per delivered write (µs) instead of the
        /// scenario's `cpu_burn_us`: a slower machine.
        #[arg(long, value_name = "US")]
        cpu_burn_us: Option<u64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Run a scenario scaled to several sizes, with several seeds, in both
    /// tiers, and write the model's figures beside the real tier's
    /// (calibration.md, calibration.csv, calibration_latency.svg).
    Calibrate {
        /// The scenario file; its node counts are scaled to each size.
        scenario: PathBuf,
        /// Folder for every run's reports and the calibration table.
        #[arg(long)]
        out: PathBuf,
        /// Network sizes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "100,300")]
        nodes: Vec<usize>,
        /// Seeds per size, from the scenario's own.
        #[arg(long, default_value_t = 5)]
        seeds: u64,
    },
    /// Print two runs' headline metrics side by side.
    Compare {
        /// A run's output folder, or its summary.json.
        a: PathBuf,
        /// Another.
        b: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PASSPORT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = match (cli.command, cli.compare) {
        (Some(command), _) => command,
        (None, Some(runs)) => match <[PathBuf; 2]>::try_from(runs) {
            Ok([a, b]) => Command::Compare { a, b },
            Err(_) => anyhow::bail!("--compare takes two run folders"),
        },
        (None, None) => anyhow::bail!("give a command: run, or compare (see --help)"),
    };
    match command {
        Command::Run {
            scenario,
            out,
            seed,
            tier,
            clock,
            cpu_burn_us,
            quiet,
        } => {
            let mut scenario = match Scenario::load(&scenario) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            if let Some(seed) = seed {
                scenario.seed = seed;
            }
            if let Some(tier) = tier {
                scenario.tier = tier;
            }
            if let Some(clock) = clock {
                scenario.clock = clock;
            }
            if let Some(burn) = cpu_burn_us {
                scenario.cpu_burn_us = burn;
            }
            let overridden = tier.is_some() || clock.is_some() || cpu_burn_us.is_some();
            if overridden && let Err(e) = scenario.check("the command line") {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
            let options = Options {
                progress: !quiet && std::io::stderr().is_terminal(),
            };
            eprintln!(
                "running {} ({} nodes, seed {}, {} tier, {} clock) for {} simulated s...",
                scenario.name,
                scenario.nodes.total(),
                scenario.seed,
                scenario.tier,
                scenario.clock,
                (scenario.join + scenario.settle + scenario.duration + scenario.drain).as_secs()
            );
            let finished = passport_netsim::run(&scenario, &options)?;
            let summary = report::write(&finished, &out)
                .with_context(|| format!("writing the reports to {}", out.display()))?;
            #[allow(clippy::print_stdout)]
            {
                println!("{}", summary.one_line());
                println!("reports in {}", out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Calibrate {
            scenario,
            out,
            nodes,
            seeds,
        } => {
            let scenario = match Scenario::load(&scenario) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            if nodes.is_empty() || nodes.iter().any(|&n| n < 10) || seeds == 0 {
                eprintln!(
                    "error: --nodes takes sizes of 10 nodes or more (e.g. 100,300) and --seeds at least 1"
                );
                return Ok(ExitCode::from(2));
            }
            for &n in &nodes {
                let mut s = passport_netsim::calibrate::scaled(&scenario, n);
                s.tier = passport_netsim::scenario::Tier::Real;
                if let Err(e) = s.check(&format!("{} scaled to {n} nodes", s.name)) {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            }
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let rows = passport_netsim::calibrate::calibrate(
                &scenario,
                &nodes,
                seeds,
                &out,
                &Options::default(),
            )?;
            #[allow(clippy::print_stdout)]
            {
                print!("{}", passport_netsim::calibrate::markdown(&rows));
                println!("reports in {}", out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare { a, b } => {
            let (a, b) = (
                report::read_summary(&a).map_err(anyhow::Error::msg)?,
                report::read_summary(&b).map_err(anyhow::Error::msg)?,
            );
            #[allow(clippy::print_stdout)]
            {
                print!("{}", report::compare(&a, &b));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
