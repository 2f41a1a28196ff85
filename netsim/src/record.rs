//! What a run records: one sample per lookup and per request, counters per
//! second, and the summary computed from them.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};

use crate::plan::Answer;

/// One DHT lookup made by a merchant before a request.
#[derive(Debug, Clone, Serialize)]
pub struct LookupSample {
    /// Seconds from the start of the workload.
    pub at_s: f64,
    /// Whether a valid record came back.
    pub ok: bool,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
    /// Requests Kademlia sent for it.
    #[serde(rename = "kad_requests")]
    pub requests: u32,
    /// Of those, the ones that failed.
    #[serde(rename = "kad_failed_requests")]
    pub failed_requests: u32,
    /// Hops to the record's holder, replayed on the routing tables (see the
    /// README); `None` when not found or the replay gave up.
    pub hops: Option<u32>,
    /// Why it failed.
    pub reason: Option<String>,
}

/// How a request reached the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    /// A direct connection.
    Direct,
    /// Through a relay: the person is behind NAT and no direct connection existed
    /// when the request was sent.
    Relayed,
}

impl Path {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Path::Direct => "direct",
            Path::Relayed => "relayed",
        }
    }
}

/// One request, from the merchant's lookup to the decision stored at the merchant.
#[derive(Debug, Clone, Serialize)]
pub struct RequestSample {
    /// Seconds from the start of the workload, when the merchant began.
    pub at_s: f64,
    /// The person's standing answer.
    pub policy: Answer,
    /// How the request travelled (`None` if it never left: lookup failed).
    pub path: Option<Path>,
    /// `granted`, `denied`, or `failed`.
    pub outcome: Outcome,
    /// Lookup to decision stored at the merchant, in milliseconds (for `ask`,
    /// this includes the person's answer time).
    pub latency_ms: Option<f64>,
    /// Why it failed.
    pub reason: Option<String>,
    /// The person was offline: the request waited at its mailboxes.
    #[serde(default)]
    pub queued: bool,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A grant arrived.
    Granted,
    /// A refusal arrived.
    Denied,
    /// No decision arrived.
    Failed,
    /// Still waiting when the run ended (an `ask` not yet answered, say).
    Unfinished,
}

/// Counters for one second of the workload.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Second {
    /// Seconds from the start of the workload.
    pub t: u64,
    /// Persons online at the end of the second.
    pub persons_online: u64,
    /// Lookups that ended this second, and of those the ones that found the record.
    pub lookups: u64,
    /// See `lookups`.
    pub lookups_ok: u64,
    /// Requests started this second.
    pub requests: u64,
    /// Decisions that arrived this second.
    pub decisions: u64,
    /// Requests that failed this second.
    pub failures: u64,
    /// Grants issued, revoked, and erased (deletion receipt back) this second.
    pub grants: u64,
    /// See `grants`.
    pub revoked: u64,
    /// See `grants`.
    pub erased: u64,
    /// Bytes all nodes sent this second.
    pub bytes: u64,
    /// Connections open at the end of the second.
    pub connections: u64,
    /// Bytes the mailboxes held at the end of the second, in all.
    pub mailbox_bytes: u64,
}

/// Everything recorded during a run.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Every lookup.
    pub lookups: Vec<LookupSample>,
    /// Every request, in the order they ended.
    pub requests: Vec<RequestSample>,
    /// Per second of the workload and drain.
    pub seconds: Vec<Second>,
    /// Grants issued (arrived at a merchant).
    pub grants: u64,
    /// Grants revoked (revocation made by the person).
    pub revoked: u64,
    /// Revocations answered with a deletion receipt.
    pub erased: u64,
    /// Revocations or answers that could not be delivered, by reason.
    pub delivery_failures: BTreeMap<String, u64>,
    /// Requests sent a second time because the first was unreachable.
    pub retries: u64,
    /// Requests that waited at the person's mailboxes.
    pub queued: u64,
}

impl Recorder {
    /// The counters for second `t`, created as needed.
    pub fn second(&mut self, t: Duration) -> &mut Second {
        let index = t.as_secs() as usize;
        while self.seconds.len() <= index {
            let t = self.seconds.len() as u64;
            self.seconds.push(Second {
                t,
                ..Second::default()
            });
        }
        &mut self.seconds[index]
    }
}

/// Percentiles of a set of values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// How many values.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Spread {
    /// Nearest-rank percentiles of `values` (all zero when empty).
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
        Self {
            count: v.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let s = Spread::of((1..=100).map(f64::from));
        assert_eq!(
            (s.count, s.p50, s.p90, s.p99, s.max),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(s.mean, 50.5);
        assert_eq!(Spread::of([7.0]).p99, 7.0);
        assert_eq!(Spread::of([]).count, 0);
    }
}
