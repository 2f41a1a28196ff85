//! Prometheus metrics of a running node: messages handled by kind and result,
//! rejections by reason, and (read at scrape time) DHT and connection figures.

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use crate::net::Status;

type Labels = Vec<(&'static str, String)>;

/// The node's metrics. Cheap to clone; clones share counters.
#[derive(Clone)]
pub struct Metrics {
    registry: std::sync::Arc<Registry>,
    messages: Family<Labels, Counter>,
    rejections: Family<Labels, Counter>,
    connected_peers: Gauge,
    routing_table_size: Gauge,
    records_rejected: Gauge,
    throttled: Gauge,
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
        Self {
            registry: std::sync::Arc::new(registry),
            messages,
            rejections,
            connected_peers,
            routing_table_size,
            records_rejected,
            throttled,
        }
    }
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

    /// The exposition text, with the network figures of `status`.
    pub fn render(&self, status: &Status) -> String {
        let as_gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.connected_peers
            .set(as_gauge(status.connected_peers as u64));
        self.routing_table_size
            .set(as_gauge(status.routing_table_size as u64));
        self.records_rejected.set(as_gauge(status.rejected_records));
        self.throttled.set(as_gauge(status.throttled));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
