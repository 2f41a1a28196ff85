//! Per-peer rate limiting of inbound messages: a token bucket per PeerId, in a map
//! bounded in size, and the admission check both inbound protocols make. Sans-I/O:
//! the caller passes the time.

use std::{collections::HashMap, hash::Hash};

use crate::clock::Instant;

/// Token buckets by key, at most `max_keys` of them.
#[derive(Debug)]
pub(crate) struct RateLimiter<K> {
    burst: f64,
    per_sec: f64,
    max_keys: usize,
    buckets: HashMap<K, (f64, Instant)>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// Allows bursts of `burst` and `per_sec` on average, tracking at most `max_keys`.
    pub(crate) fn new(burst: u32, per_sec: u32, max_keys: usize) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_sec),
            max_keys: max_keys.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for `key` at `now`; `false` if it has none left.
    pub(crate) fn allow(&mut self, key: &K, now: Instant) -> bool {
        if !self.buckets.contains_key(key) && self.buckets.len() >= self.max_keys {
            // Forget the buckets that have refilled: they hold no information.
            let (burst, per_sec) = (self.burst, self.per_sec);
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * per_sec < burst
            });
            if self.buckets.len() >= self.max_keys {
                // Still full of busy peers: refuse newcomers rather than grow.
                return false;
            }
        }
        let (tokens, at) = self.buckets.entry(key.clone()).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_sec)
            .min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Local checks before any work on an inbound message: `peer`'s rate, then the
/// load (`in_flight`). A permit while the message is handled, or `None`: answer
/// busy.
pub(crate) fn admit<K: Hash + Eq + Clone>(
    rate: &mut RateLimiter<K>,
    in_flight: &std::sync::Arc<tokio::sync::Semaphore>,
    peer: &K,
    now: Instant,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if rate.allow(peer, now) {
        in_flight.clone().try_acquire_owned().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let mut limiter = RateLimiter::new(3, 2, 10);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow(&"a", t0)));
        assert!(!limiter.allow(&"a", t0));
        // Another peer is unaffected.
        assert!(limiter.allow(&"b", t0));
        // Half a second at 2/s gives one token back.
        assert!(limiter.allow(&"a", t0 + Duration::from_millis(500)));
        assert!(!limiter.allow(&"a", t0 + Duration::from_millis(500)));
    }

    #[test]
    fn the_map_stays_bounded() {
        let mut limiter = RateLimiter::new(1, 1, 2);
        let t0 = Instant::now();
        assert!(limiter.allow(&1, t0));
        assert!(limiter.allow(&2, t0));
        // Both buckets are empty (busy): a third peer is refused, nothing grows.
        assert!(!limiter.allow(&3, t0));
        assert_eq!(limiter.buckets.len(), 2);
        // Once they refill they are forgotten and the newcomer gets in.
        assert!(limiter.allow(&3, t0 + Duration::from_secs(5)));
        assert!(limiter.buckets.len() <= 2);
    }
}
