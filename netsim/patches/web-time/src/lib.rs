//! Passport's patched copy of web-time 1.1.0, native targets only (see PATCH.md).
//!
//! Upstream re-exports [`std::time`] on native targets. This copy does the same,
//! except for [`Instant`]: a newtype over [`std::time::Instant`] whose
//! [`Instant::now`] reads tokio's clock once [`use_tokio_clock`] switched it
//! on, so a simulator running on a paused tokio runtime moves libp2p's
//! `Instant` comparisons (query and peer timeouts, k-bucket pending entries,
//! RTT) in virtual time. Off by default: then it is `std::time::Instant::now()`.
//!
//! [`SystemTime`] stays the system clock.

#![deny(missing_docs)]

use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use std::time::{Duration, SystemTime, SystemTimeError, TryFromFloatSecsError, UNIX_EPOCH};

static TOKIO_CLOCK: AtomicBool = AtomicBool::new(false);
static READS_OUTSIDE_RUNTIME: AtomicU64 = AtomicU64::new(0);

/// Makes [`Instant::now`] read tokio's clock (`on = true`) or the system's
/// monotonic clock (`on = false`, the default).
///
/// tokio's paused clock is a `std::time::Instant` plus the virtual time
/// advanced, so instants read before and after the switch stay comparable.
///
/// This function exists only in Passport's patched copy: calling it proves at
/// compile time that the patch is in effect.
pub fn use_tokio_clock(on: bool) {
    TOKIO_CLOCK.store(on, Ordering::SeqCst);
}

/// How many times [`Instant::now`] was read outside any tokio runtime while the
/// switch was on: each read is one that escaped the runtime's clock.
pub fn reads_outside_runtime() -> u64 {
    READS_OUTSIDE_RUNTIME.load(Ordering::SeqCst)
}

/// A measurement of a monotonically nondecreasing clock, as
/// [`std::time::Instant`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// Returns an instant corresponding to "now": tokio's clock when switched
    /// on and inside a runtime, otherwise the system's monotonic clock.
    pub fn now() -> Instant {
        if TOKIO_CLOCK.load(Ordering::Relaxed) {
            if tokio::runtime::Handle::try_current().is_ok() {
                return Instant(tokio::time::Instant::now().into_std());
            }
            READS_OUTSIDE_RUNTIME.fetch_add(1, Ordering::Relaxed);
        }
        Instant(std::time::Instant::now())
    }

    /// The amount of time elapsed from `earlier` to this one, or zero.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The amount of time elapsed from `earlier` to this one, or `None` if
    /// `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// The amount of time elapsed from `earlier` to this one, or zero.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The amount of time elapsed since this instant, by [`Instant::now`].
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + duration`, or `None` on overflow.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }

    /// `self - duration`, or `None` on overflow.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_sub(duration).map(Instant)
    }
}

impl std::fmt::Debug for Instant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(instant: std::time::Instant) -> Self {
        Instant(instant)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> Self {
        instant.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, other: Duration) -> Instant {
        Instant(self.0 + other)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, other: Duration) {
        self.0 += other;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    fn sub(self, other: Duration) -> Instant {
        Instant(self.0 - other)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, other: Duration) {
        self.0 -= other;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, other: Instant) -> Duration {
        self.duration_since(other)
    }
}
