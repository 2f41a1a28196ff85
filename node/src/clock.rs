//! The node's two clocks. Passport's own code reads time only here, so a
//! simulator can run the real node in virtual time (netsim's `clock = "virtual"`):
//!
//! - [`Instant`], monotonic: tokio's, which follows a paused runtime and is
//!   `std::time::Instant` otherwise. Rate limits, challenges and retries use it.
//! - [`system_now`], the protocol's time (Unix seconds in records, grants and
//!   receipts): the system clock, or, once [`follow_runtime_clock`] is on, the
//!   wall time when it was switched on plus the runtime's clock since then.
//!
//! The node core never reads a clock: the network, daemon and API pass `now` in.
//! Waiting on the file system (`storage`) and the HTTP sessions' expiry stay on
//! the system clock on purpose: they are about the real world, not the network.

// The one place that reads the system clocks.
#![allow(clippy::disallowed_methods)]

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::SystemTime,
};

use passport_protocol::Timestamp;
pub use tokio::time::Instant;

static FOLLOW_RUNTIME: AtomicBool = AtomicBool::new(false);
static ANCHOR: OnceLock<(SystemTime, std::time::Instant)> = OnceLock::new();

/// Makes [`system_now`] advance with the tokio runtime's clock (`true`) or read
/// the system clock (`false`, the default). Only a simulator on a paused
/// runtime has reason to switch it on; the process keeps one anchor, taken the
/// first time it is switched on, so every runtime's virtual time maps onto the
/// same wall-clock start.
pub fn follow_runtime_clock(on: bool) {
    if on {
        ANCHOR.get_or_init(|| (SystemTime::now(), std::time::Instant::now()));
    }
    FOLLOW_RUNTIME.store(on, Ordering::SeqCst);
}

/// The protocol's clock: whole seconds since the Unix epoch.
pub fn system_now() -> Timestamp {
    let now = match (FOLLOW_RUNTIME.load(Ordering::Relaxed), ANCHOR.get()) {
        (true, Some((wall, monotonic))) => {
            // A paused runtime's clock is a std Instant plus the time it advanced.
            *wall
                + Instant::now()
                    .into_std()
                    .saturating_duration_since(*monotonic)
        }
        _ => SystemTime::now(),
    };
    Timestamp::from_secs(
        now.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn follows_a_paused_runtime_once_switched_on() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            follow_runtime_clock(true);
            let before = system_now();
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            let after = system_now();
            follow_runtime_clock(false);
            // An hour of virtual time passed in no time at all.
            assert!(
                after.as_secs() - before.as_secs() >= 3_599,
                "{before:?} {after:?}"
            );
            let wall = system_now();
            assert!(
                wall.as_secs() + 60 < after.as_secs(),
                "back on the system clock"
            );
        });
    }
}
