//! Passport's patch: a process-wide switch that puts every `Delay` on tokio's
//! clock, so a simulator running on a paused tokio runtime (`start_paused`) moves
//! libp2p's timers in virtual time too. Off by default: then every `Delay` is
//! upstream's helper-thread timer, exactly as in futures-timer 3.0.3.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::native;

static TOKIO_CLOCK: AtomicBool = AtomicBool::new(false);
static NATIVE_WHILE_SWITCHED: AtomicU64 = AtomicU64::new(0);

/// Puts every `Delay` created from now on onto tokio's clock (`on = true`) or
/// back onto futures-timer's own helper thread (`on = false`, the default).
///
/// With the switch on, a `Delay` created inside a tokio runtime is a
/// `tokio::time::Sleep`, so a paused runtime advances it in virtual time. One
/// created outside any runtime cannot be, stays native, and is counted by
/// [`native_delays_created`].
///
/// This function exists only in Passport's patched copy: calling it proves at
/// compile time that the patch is in effect.
pub fn use_tokio_clock(on: bool) {
    TOKIO_CLOCK.store(on, Ordering::SeqCst);
}

/// How many native (helper-thread) delays were created while the switch was
/// on: each is a timer that escaped the runtime's clock.
pub fn native_delays_created() -> u64 {
    NATIVE_WHILE_SWITCHED.load(Ordering::SeqCst)
}

/// A future that completes at a point in time.
pub struct Delay {
    inner: Inner,
}

enum Inner {
    Native(native::Delay),
    Tokio(Pin<Box<tokio::time::Sleep>>),
}

impl Delay {
    /// Creates a new future which will fire at `dur` time into the future.
    pub fn new(dur: Duration) -> Delay {
        if TOKIO_CLOCK.load(Ordering::Relaxed) {
            // Armed now, not at first poll: libp2p relies on a delay counting
            // down while nobody polls it (kad's periodic bootstrap).
            if tokio::runtime::Handle::try_current().is_ok() {
                return Delay {
                    inner: Inner::Tokio(Box::pin(tokio::time::sleep(dur))),
                };
            }
            NATIVE_WHILE_SWITCHED.fetch_add(1, Ordering::SeqCst);
        }
        Delay {
            inner: Inner::Native(native::Delay::new(dur)),
        }
    }

    /// Resets this timeout to a new timeout which will fire at the time
    /// specified by `dur`.
    pub fn reset(&mut self, dur: Duration) {
        match &mut self.inner {
            Inner::Native(delay) => delay.reset(dur),
            Inner::Tokio(sleep) => {
                let at = tokio::time::Instant::now() + dur;
                sleep.as_mut().reset(at);
            }
        }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.get_mut().inner {
            Inner::Native(delay) => Pin::new(delay).poll(cx),
            Inner::Tokio(sleep) => sleep.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = match self.inner {
            Inner::Native(_) => "native",
            Inner::Tokio(_) => "tokio",
        };
        f.debug_struct("Delay").field("clock", &clock).finish()
    }
}
