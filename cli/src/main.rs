//! `passport`: the command for people, merchants and auditors. Thin by design: it
//! parses arguments and config and prints results; the work lives in `passport-node`.
//!
//! # Layout
//!
//! - [`args`]: the command line (clap derive), exit codes and environment variables.
//! - [`context`]: the home directory, the passphrase, and the connection to a node:
//!   the running node's local HTTP API, or, when no node runs, the same API served
//!   in-process over the store ([`passport_node::http::LocalApi`]); answers are read
//!   as the API's own types, [`passport_node::http::views`].
//! - [`output`]: human and `--json` printing, durations and times.
//! - `commands/`: one file per group of commands: [`commands::setup`] (init, id),
//!   [`commands::data`] (set, get, unset, fields, tag), [`commands::running`] (node,
//!   status, peers), [`commands::person`], [`commands::merchant`],
//!   [`commands::message`] (auditor), [`commands::token`] (scoped API tokens),
//!   [`commands::demo`].

mod args;
mod commands;
mod context;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

use crate::{args::Cli, output::Negative};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<Negative>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(commands::dispatch(cli))?;
    Ok(ExitCode::SUCCESS)
}

/// Logs go to stderr; `RUST_LOG` wins over -v/-q.
fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,libp2p_kad=error",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
