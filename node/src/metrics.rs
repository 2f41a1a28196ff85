//! Prometheus metrics of a running node: messages handled by kind and result,
//! rejections by reason, the network's running counts (DHT records refused, messages
//! throttled, DHT requests served, hole punches) and, set at scrape time, its
//! connection figures.
//!
//! [`Metrics`] is the one place each of these counts lives: the network's event loop
//! counts into it, and its status (`net::Status`) reads them back.

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

type Labels = Vec<(&'static str, String)>;

/// A kind of Kademlia request a node answers, as the `kind` label of
/// `passport_dht_requests_served` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhtRequest {
    /// For the peers closest to a key (routing, bootstraps, the first steps of every
    /// lookup).
    FindNode,
    /// For a record.
    GetRecord,
    /// A record offered for storage.
    PutRecord,
    /// Anything else (provider records, which Passport does not use).
    Other,
}

impl DhtRequest {
    /// Every kind, in the order `/metrics` lists them.
    pub const ALL: [DhtRequest; 4] = [
        DhtRequest::FindNode,
        DhtRequest::GetRecord,
        DhtRequest::PutRecord,
        DhtRequest::Other,
    ];

    /// The `kind` label.
    pub fn label(self) -> &'static str {
        match self {
            DhtRequest::FindNode => "find_node",
            DhtRequest::GetRecord => "get_record",
            DhtRequest::PutRecord => "put_record",
            DhtRequest::Other => "other",
        }
    }
}

/// The network figures that are read, not counted, at each scrape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetGauges {
    /// Peers connected now.
    pub connected_peers: usize,
    /// Peers in the Kademlia routing table.
    pub routing_table_size: usize,
}

/// The node's metrics. Cheap to clone; clones share counters.
///
/// The network's status reads its counts from here, so each node needs its own.
#[derive(Clone)]
pub struct Metrics {
    registry: std::sync::Arc<Registry>,
    messages: Family<Labels, Counter>,
    rejections: Family<Labels, Counter>,
    connected_peers: Gauge,
    routing_table_size: Gauge,
    // The next three are running counts exported as gauges, as they always were, so
    // their names keep no `_total` suffix.
    records_rejected: Gauge,
    throttled: Gauge,
    /// The series of `passport_dht_requests_served`, in [`DhtRequest::ALL`] order.
    dht_served: [Gauge; 4],
    hole_punch_attempts: Counter,
    hole_punch_successes: Counter,
    /// Webhook attempts by `outcome`: delivered, retrying, given_up.
    webhook_attempts: Family<Labels, Counter>,
    /// Webhook events waiting for delivery.
    webhook_queued: Gauge,
    /// Notifications by `outcome`: sent, failed, dropped.
    notifications: Family<Labels, Counter>,
    /// Erasures waiting for the backend's confirmation.
    erasures_unconfirmed: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("passport");
        let messages = Family::<Labels, Counter>::default();
        registry.register(
            "messages",
            "Inbound messages handled, by kind and result",
            messages.clone(),
        );
        let rejections = Family::<Labels, Counter>::default();
        registry.register(
            "rejections",
            "Inbound messages refused, by reason",
            rejections.clone(),
        );
        let connected_peers = Gauge::default();
        registry.register(
            "connected_peers",
            "Peers connected now",
            connected_peers.clone(),
        );
        let routing_table_size = Gauge::default();
        registry.register(
            "routing_table_size",
            "Peers in the Kademlia routing table",
            routing_table_size.clone(),
        );
        let records_rejected = Gauge::default();
        registry.register(
            "dht_records_rejected",
            "DHT records refused by validation since start",
            records_rejected.clone(),
        );
        let throttled = Gauge::default();
        registry.register(
            "throttled",
            "Inbound messages answered busy (rate or load) since start",
            throttled.clone(),
        );
        let dht_served_family = Family::<Labels, Gauge>::default();
        registry.register(
            "dht_requests_served",
            "Kademlia requests answered since start, by kind",
            dht_served_family.clone(),
        );
        // Every kind is shown from the start, at zero.
        let dht_served = DhtRequest::ALL.map(|kind| {
            dht_served_family
                .get_or_create(&vec![("kind", kind.label().to_string())])
                .clone()
        });
        let hole_punch_attempts = Counter::default();
        registry.register(
            "hole_punch_attempts",
            "DCUtR hole punches tried since start (as either side)",
            hole_punch_attempts.clone(),
        );
        let hole_punch_successes = Counter::default();
        registry.register(
            "hole_punch_successes",
            "DCUtR hole punches that gave a direct connection since start",
            hole_punch_successes.clone(),
        );
        let webhook_attempts = Family::<Labels, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts since start, by outcome (delivered, retrying, given_up)",
            webhook_attempts.clone(),
        );
        let notifications = Family::<Labels, Counter>::default();
        registry.register(
            "notifications",
            "Notifications of requests waiting for the person, by outcome (sent, failed, dropped)",
            notifications.clone(),
        );
        let webhook_queued = Gauge::default();
        registry.register(
            "webhook_queued",
            "Webhook events waiting for delivery",
            webhook_queued.clone(),
        );
        let erasures_unconfirmed = Gauge::default();
        registry.register(
            "erasures_unconfirmed",
            "Erasures whose deletion receipt waits for the backend's confirmation",
            erasures_unconfirmed.clone(),
        );
        Self {
            registry: std::sync::Arc::new(registry),
            webhook_attempts,
            notifications,
            webhook_queued,
            erasures_unconfirmed,
            messages,
            rejections,
            connected_peers,
            routing_table_size,
            records_rejected,
            throttled,
            dht_served,
            hole_punch_attempts,
            hole_punch_successes,
        }
    }
}

/// A gauge used as a running count, as a count.
fn count(gauge: &Gauge) -> u64 {
    u64::try_from(gauge.get()).unwrap_or(0)
}

impl Metrics {
    /// Counts one inbound message of `kind` (a message kind name, or "invalid")
    /// answered with `result` ("message", "pending", "accepted", "refused", "busy").
    pub fn message(&self, kind: &str, result: &str) {
        self.messages
            .get_or_create(&vec![
                ("kind", kind.to_owned()),
                ("result", result.to_owned()),
            ])
            .inc();
    }

    /// Counts one refusal, by its stable reason (`ProtocolError::reason` or a node reason).
    pub fn rejection(&self, reason: &str) {
        self.rejections
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    /// Counts one DHT record refused by validation (offered for storage, or found by
    /// a lookup).
    pub fn count_rejected_record(&self) {
        self.records_rejected.inc();
    }

    /// DHT records refused by validation since start.
    pub fn rejected_records(&self) -> u64 {
        count(&self.records_rejected)
    }

    /// Counts one inbound message answered busy (the peer's rate, or this node's load).
    pub fn count_throttled(&self) {
        self.throttled.inc();
    }

    /// Inbound messages answered busy since start.
    pub fn throttled(&self) -> u64 {
        count(&self.throttled)
    }

    /// Counts one Kademlia request of `kind` this node answered.
    pub fn count_dht_request(&self, kind: DhtRequest) {
        self.dht_served[kind as usize].inc();
    }

    /// Kademlia requests of `kind` this node answered since start.
    pub fn dht_requests(&self, kind: DhtRequest) -> u64 {
        count(&self.dht_served[kind as usize])
    }

    /// Counts one DCUtR hole punch tried, and whether it gave a direct connection.
    pub fn count_hole_punch(&self, succeeded: bool) {
        self.hole_punch_attempts.inc();
        if succeeded {
            self.hole_punch_successes.inc();
        }
    }

    /// DCUtR hole punches tried since start.
    pub fn hole_punch_attempts(&self) -> u64 {
        self.hole_punch_attempts.get()
    }

    /// Of those, the ones that gave a direct connection.
    pub fn hole_punch_successes(&self) -> u64 {
        self.hole_punch_successes.get()
    }

    /// Counts one webhook attempt that ended with `outcome` (delivered, retrying,
    /// given_up).
    pub fn webhook_attempt(&self, outcome: &str) {
        self.webhook_attempts
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }

    /// Webhook attempts since start that ended with `outcome`.
    pub fn webhook_attempts(&self, outcome: &str) -> u64 {
        self.webhook_attempts
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .get()
    }

    /// Counts one notification that ended with `outcome` (sent, failed, dropped).
    pub fn notification(&self, outcome: &str) {
        self.notifications
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .inc();
    }

    /// Notifications since start that ended with `outcome`.
    pub fn notifications(&self, outcome: &str) -> u64 {
        self.notifications
            .get_or_create(&vec![("outcome", outcome.to_owned())])
            .get()
    }

    /// Sets how many webhook events wait and how many erasures wait for the
    /// backend.
    pub fn set_backend_backlog(&self, queued: usize, unconfirmed: usize) {
        let as_gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.webhook_queued.set(as_gauge(queued));
        self.erasures_unconfirmed.set(as_gauge(unconfirmed));
    }

    /// The exposition text, with the network figures of `net` (a `net::Status`
    /// will do).
    pub fn render(&self, net: impl Into<NetGauges>) -> String {
        let net = net.into();
        let as_gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.connected_peers.set(as_gauge(net.connected_peers));
        self.routing_table_size
            .set(as_gauge(net.routing_table_size));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// This process's CPU time and memory, read from `/proc/self` (Linux; zeros
/// elsewhere): for benchmarks and the simulator, which report their own cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessUsage {
    /// User and system CPU time of all threads so far, in seconds.
    pub cpu_seconds: f64,
    /// Resident memory now, in KiB.
    pub resident_kib: u64,
    /// The most resident memory so far, in KiB.
    pub peak_kib: u64,
}

impl ProcessUsage {
    /// Reads the figures now.
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command name (which may hold spaces), from the state on:
        // utime and stime are the 12th and 13th, in ticks of 1/100 s on Linux.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Self {
            cpu_seconds: (ticks(11) + ticks(12)) / 100.0,
            resident_kib: kib("VmRSS:"),
            peak_kib: kib("VmHWM:"),
        }
    }

    /// Resident memory now, in MiB.
    pub fn resident_mib(&self) -> f64 {
        self.resident_kib as f64 / 1024.0
    }

    /// The most resident memory so far, in MiB.
    pub fn peak_mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}

#[cfg(test)]
mod process_tests {
    use super::ProcessUsage;

    #[test]
    #[cfg(target_os = "linux")]
    fn process_usage_reads_this_process() {
        let before = ProcessUsage::now();
        // Some CPU, and memory that is touched.
        let mut v = vec![0u8; 64 << 20];
        let mut x = 0u64;
        for (i, byte) in v.iter_mut().enumerate() {
            *byte = i as u8;
            x = x.wrapping_add(u64::from(*byte));
        }
        // Without this, a release build drops the vector and the loop altogether.
        std::hint::black_box(&mut v);
        let after = ProcessUsage::now();
        assert!(x > 0);
        assert!(after.cpu_seconds >= before.cpu_seconds);
        assert!(after.resident_kib > 0 && after.peak_kib >= after.resident_kib);
        // The 64 MiB just touched are resident now, whatever other tests in this
        // process did before (the peak may already have been higher: Argon2id
        // tests touch 64 MiB too, so a rise of the peak cannot be asserted).
        assert!(after.resident_kib >= 64 * 1024, "{before:?} {after:?}");
        assert!(after.peak_kib >= before.peak_kib, "{before:?} {after:?}");
        drop(v);
    }
}
