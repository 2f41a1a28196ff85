//! The model's network: the same per-pair latencies, jitter, bandwidth and
//! loss as the real tier's transport (`transport.rs`), turned into the time a
//! request and its answer take, and which connections are open.
//!
//! Round trips, as the real tier's libp2p stack spends them, measured on a
//! network of fixed 50 ms links (`tests/model.rs`):
//! - every request opens a substream whose protocol multistream-select
//!   negotiates first (libp2p-swarm's default `Version::V1` waits for the
//!   listener's confirmation): one round trip, then the request and its answer:
//!   **two round trips** on an open connection;
//! - a new connection adds the dial (SYN, SYN-ACK) and the security handshake
//!   (noise XX or plaintext, negotiated with `V1Lazy`, so the dialer's last
//!   handshake message travels with the substream's negotiation): **four round
//!   trips** in all;
//! - a one-way message (a decision, a revocation) arrives half a round trip
//!   before its answer would.

use std::collections::HashMap;

use rand::RngExt as _;
use rand_chacha::ChaCha8Rng;

use crate::{
    scenario::Link,
    transport::{MAX_RETRANSMISSIONS, PACKET, base_latency, duration_ms},
};

/// Bytes of a security handshake flight (noise XX with an Ed25519 identity).
const HANDSHAKE_BYTES: usize = 600;
/// Writes a message takes on the wire (length prefix, Yamux frame, body).
const WRITES_PER_FLIGHT: usize = 3;
/// Bytes of a multistream-select proposal or confirmation.
const NEGOTIATION_BYTES: usize = 40;

/// Nanoseconds in a duration, saturating.
pub fn ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// An open connection between two nodes. With its key, 16 bytes in the
/// table: a million-node run holds tens of millions of them, and the table
/// doubles as it grows, so every byte here counts twice at the peak.
#[derive(Debug, Clone, Copy)]
struct Conn {
    /// When it was last used (virtual ms).
    last_used_ms: u32,
    /// How long before `last_used_ms` it became ready to carry requests,
    /// saturating: a connection used for more than 65 s after it opened is
    /// taken as ready 65 s before its last use, which is already past unless
    /// a single message took over a minute.
    ready_lag_ms: u16,
    /// Each end's session, modulo 2⁸ (it closed if either went offline since):
    /// a node goes through 256 sessions only over hours, and an idle
    /// connection closes long before.
    sessions: (u8, u8),
}

impl Conn {
    /// When it can carry requests (virtual ms).
    fn ready_at_ms(self) -> u32 {
        self.last_used_ms - u32::from(self.ready_lag_ms)
    }
}

/// Virtual ns as whole ms, rounded up (a connection is not ready early).
fn ms_of(ns: u64) -> u32 {
    u32::try_from(ns.div_ceil(1_000_000)).unwrap_or(u32::MAX)
}

/// Latencies and open connections.
#[derive(Debug)]
pub struct Net {
    link: Link,
    seed: u64,
    rng: ChaCha8Rng,
    idle_ms: u64,
    /// By the pair, lower index first.
    conns: HashMap<(u32, u32), Conn>,
}

fn pair(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

/// The sessions of `a` and `b` in the order `pair` stores them, modulo 2⁸.
fn ordered(a: u32, b: u32, sessions: (u32, u32)) -> (u8, u8) {
    let (x, y) = if a < b {
        sessions
    } else {
        (sessions.1, sessions.0)
    };
    (x as u8, y as u8)
}

impl Net {
    /// The network of a run with `link` and `seed`; connections close after
    /// `idle` without use.
    pub fn new(link: Link, seed: u64, idle: std::time::Duration, rng: ChaCha8Rng) -> Self {
        Self {
            link,
            seed,
            rng,
            idle_ms: ns(idle) / 1_000_000,
            conns: HashMap::new(),
        }
    }

    /// The one-way base latency of a pair, in ns (the real tier's).
    pub fn base_ns(&self, a: u32, b: u32) -> u64 {
        ns(base_latency(&self.link, self.seed, a as usize, b as usize))
    }

    /// How long one flight of `bytes` from `a` to `b` takes: serialisation on
    /// the uplink, the base latency, jitter, and per lost packet a
    /// retransmission timeout (at least 200 ms, doubling) as in the real tier.
    pub fn flight_ns(&mut self, a: u32, b: u32, bytes: usize) -> u64 {
        let base = self.base_ns(a, b);
        let serialisation = (bytes as f64 * 8.0 / (self.link.bandwidth_mbps * 1e6) * 1e9) as u64;
        let mut penalty = 0;
        if self.link.loss > 0.0 {
            let rto = (base * 6).max(200_000_000);
            for _ in 0..bytes.div_ceil(PACKET) {
                let (mut wait, mut tries) = (0, 0);
                while tries < MAX_RETRANSMISSIONS && self.rng.random::<f64>() < self.link.loss {
                    wait += rto << tries;
                    tries += 1;
                }
                penalty = penalty.max(wait);
            }
        }
        // A message is several writes (length prefix, frame header, body), each
        // with its own jitter, delivered in order: it arrives with the largest.
        let jitter = (0..WRITES_PER_FLIGHT)
            .map(|_| ns(duration_ms(self.link.jitter_ms.sample(&mut self.rng))))
            .max()
            .unwrap_or(0);
        // The real tier's reader wakes on tokio's timer, which rounds up to
        // whole milliseconds.
        (serialisation + base + jitter + penalty).next_multiple_of(1_000_000)
    }

    /// How long a dial's SYN and SYN-ACK take, with 1 s (doubling) per lost SYN.
    fn dial_ns(&mut self, a: u32, b: u32) -> u64 {
        let mut setup = 2 * self.base_ns(a, b);
        let mut backoff = 1_000_000_000;
        while self.link.loss > 0.0 && self.rng.random::<f64>() < self.link.loss {
            setup += backoff;
            backoff *= 2;
        }
        setup
    }

    /// If `a` and `b` have a connection open at `now` (both still in the given
    /// sessions) or opening, how long until it can carry a request.
    pub fn open_wait(&self, a: u32, b: u32, sessions: (u32, u32), now: u64) -> Option<u64> {
        let sessions = ordered(a, b, sessions);
        let now_ms = now / 1_000_000;
        self.conns
            .get(&pair(a, b))
            .filter(|c| c.sessions == sessions && now_ms < u64::from(c.last_used_ms) + self.idle_ms)
            .map(|c| (u64::from(c.ready_at_ms()) * 1_000_000).saturating_sub(now))
    }

    /// Marks the connection of `a` and `b` used until `at`, opening it (ready
    /// at `at`) if none is open.
    pub fn touch(&mut self, a: u32, b: u32, sessions: (u32, u32), at: u64) {
        let sessions = ordered(a, b, sessions);
        let idle_ms = self.idle_ms;
        let at_ms = ms_of(at);
        let conn = self.conns.entry(pair(a, b)).or_insert(Conn {
            last_used_ms: at_ms,
            ready_lag_ms: 0,
            sessions,
        });
        let mut ready_at = conn.ready_at_ms();
        if conn.sessions != sessions || u64::from(at_ms) >= u64::from(conn.last_used_ms) + idle_ms {
            // The old one closed: this is a new connection, ready at `at`.
            ready_at = at_ms;
            conn.sessions = sessions;
        }
        conn.last_used_ms = conn.last_used_ms.max(at_ms);
        conn.ready_lag_ms = u16::try_from(conn.last_used_ms - ready_at).unwrap_or(u16::MAX);
    }

    /// How long a request of `request` bytes from `a` and its answer of
    /// `answer` bytes take; `open` says whether a connection is open (else one
    /// is dialled first).
    pub fn request_ns(&mut self, a: u32, b: u32, open: bool, request: usize, answer: usize) -> u64 {
        self.message_ns(a, b, open, request) + self.flight_ns(b, a, answer)
    }

    /// How long a one-way message from `a` to `b` takes to arrive; `open` says
    /// whether a connection is open (else one is dialled first).
    pub fn message_ns(&mut self, a: u32, b: u32, open: bool, bytes: usize) -> u64 {
        let setup = if open {
            0
        } else {
            self.dial_ns(a, b)
                + self.flight_ns(a, b, HANDSHAKE_BYTES)
                + self.flight_ns(b, a, HANDSHAKE_BYTES)
        };
        let negotiation =
            self.flight_ns(a, b, NEGOTIATION_BYTES) + self.flight_ns(b, a, NEGOTIATION_BYTES);
        setup + negotiation + self.flight_ns(a, b, bytes)
    }

    /// Forgets connections idle or closed by `now`; returns how many are open.
    pub fn sweep(&mut self, now: u64, sessions: &[u32]) -> usize {
        let (idle_ms, now_ms) = (self.idle_ms, now / 1_000_000);
        let session = |i: u32| sessions.get(i as usize).map(|&s| s as u8);
        self.conns.retain(|&(a, b), c| {
            now_ms < u64::from(c.last_used_ms) + idle_ms
                && session(a) == Some(c.sessions.0)
                && session(b) == Some(c.sessions.1)
        });
        self.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;
    use crate::dist::Dist;

    fn net(idle_s: u64) -> Net {
        let link = Link {
            latency_ms: Dist::Fixed { value: 50.0 },
            jitter_ms: Dist::Fixed { value: 0.0 },
            bandwidth_mbps: 1e6,
            ..Link::default()
        };
        Net::new(
            link,
            1,
            std::time::Duration::from_secs(idle_s),
            ChaCha8Rng::seed_from_u64(1),
        )
    }

    #[test]
    fn requests_take_two_round_trips_and_four_on_a_new_connection() {
        let mut n = net(60);
        let warm = n.request_ns(1, 2, true, 100, 100);
        let cold = n.request_ns(1, 2, false, 100, 100);
        let one_way = n.message_ns(1, 2, true, 100);
        // Within the millisecond each flight rounds up to.
        let ms = 1_000_000;
        assert!((200 * ms..=204 * ms).contains(&warm), "{warm}");
        assert!((400 * ms..=408 * ms).contains(&cold), "{cold}");
        assert!((150 * ms..=153 * ms).contains(&one_way), "{one_way}");
    }

    #[test]
    fn a_connection_takes_16_bytes_in_the_table() {
        assert_eq!(std::mem::size_of::<((u32, u32), Conn)>(), 16);
    }

    #[test]
    fn a_connection_in_use_for_minutes_stays_ready() {
        let mut n = net(60);
        let s = 1_000_000_000;
        n.touch(1, 2, (0, 0), s);
        for t in (30..=300).step_by(30) {
            n.touch(1, 2, (0, 0), t * s);
        }
        assert_eq!(n.open_wait(1, 2, (0, 0), 300 * s), Some(0));
        assert_eq!(n.open_wait(1, 2, (0, 0), 359 * s), Some(0));
        assert_eq!(n.open_wait(1, 2, (0, 0), 360 * s), None, "idle");
    }

    #[test]
    fn connections_close_when_idle_or_when_an_end_restarts() {
        let mut n = net(60);
        let s = 1_000_000_000;
        n.touch(3, 1, (0, 0), 2 * s);
        assert_eq!(n.open_wait(1, 3, (0, 0), s), Some(s), "still dialling");
        assert_eq!(n.open_wait(1, 3, (0, 0), 61 * s), Some(0));
        assert_eq!(n.open_wait(1, 3, (0, 0), 62 * s), None, "idle");
        assert_eq!(n.open_wait(1, 3, (1, 0), 3 * s), None, "node 1 restarted");
        n.touch(1, 3, (0, 0), 30 * s);
        assert_eq!(n.open_wait(3, 1, (0, 0), 80 * s), Some(0));
        assert_eq!(n.sweep(80 * s, &[0, 0, 0, 0]), 1);
        // Reopened after it closed: ready again only once the new dial is done.
        n.touch(1, 3, (0, 0), 200 * s);
        assert_eq!(n.open_wait(1, 3, (0, 0), 199 * s), Some(s));
        assert_eq!(n.sweep(80 * s, &[0, 0, 0, 1]), 0);
    }
}
