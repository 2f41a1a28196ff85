//! Passport's network simulator: thousands of real Passport nodes (the production
//! node, consent engine, protocol and libp2p behaviours) in one process, over a
//! simulated network with latency, loss, bandwidth, churn and NAT; reproducible
//! from a seed; reports in JSON, CSV and SVG.
//!
//! # Layout
//!
//! - [`scenario`]: the TOML scenario format, its defaults and its checks.
//! - [`dist`]: the distributions a scenario draws from.
//! - [`plan`]: what the scenario and seed fix before the run: roles, keys, NAT,
//!   join times, the churn schedule and every request with its answer.
//! - [`regions`]: latency matrices between world regions, and the shipped one.
//! - [`routing`]: converged Kademlia routing tables computed from the plan.
//! - [`transport`]: the in-memory libp2p transport and its link model.
//! - [`sim`]: the runner: real daemons over the simulated transport, the plan
//!   played in virtual time (or real time), every lookup and request recorded.
//! - [`model`]: the model tier, a discrete-event model of the same network for
//!   runs too large for real nodes (`tier = "model"`).
//! - [`record`]: the samples and per-second counters a run records.
//! - [`calibrate`]: one scenario at several sizes and seeds in both tiers, side
//!   by side.
//! - [`report`]: `summary.json`, CSV files, SVG plots, the comparison of two runs.
//!
//! The binary (`passport-netsim`) only parses arguments; see `netsim/README.md`.

#![deny(missing_docs)]

pub mod calibrate;
pub mod dist;
pub mod model;
pub mod plan;
pub mod record;
pub mod regions;
pub mod report;
pub mod routing;
pub mod scenario;
pub mod sim;
pub mod transport;

pub use crate::{
    plan::Plan,
    report::Summary,
    scenario::Scenario,
    sim::{Finished, Options, run},
};
