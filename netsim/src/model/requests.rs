//! A request's way through the model: the merchant's lookup, the request
//! direct or through a relay, the answer, and the revocation and its receipt.

use passport_node::net::NetConfig;

use super::{
    DECISION_BYTES, Ev, Model, Query, QueryKind, RECEIPT_BYTES, REQUEST_BYTES, REVOKE_BYTES,
    link::ns,
};
use crate::{
    plan::{Action, Answer},
    record::{LookupSample, Outcome, Path, RequestSample},
};

/// Steps of a request after its lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Send it (again).
    Send,
    /// It could not be delivered.
    Unreachable,
    /// The decision is stored at the merchant.
    Decided,
    /// It is in the `ask` person's inbox; they answer after their time.
    Arrived,
    /// The person answers now (if online).
    Answer,
    /// The person revokes the grant now (if online).
    Revoke,
    /// The merchant erased the data: its receipt reaches the person.
    Receipt,
}

/// A request of the plan, as the model follows it.
#[derive(Debug)]
pub(super) struct Request {
    pub(super) plan: u32,
    pub(super) merchant: u32,
    pub(super) person: u32,
    pub(super) policy: Answer,
    pub(super) at_s: f64,
    pub(super) began: u64,
    pub(super) path: Option<Path>,
    pub(super) lookup: Option<LookupSample>,
    pub(super) retried: bool,
    pub(super) ended: bool,
}

impl Model {
    pub(super) fn begin_request(&mut self, index: u32) {
        let Action::Request(planned) = &self.plan.events[index as usize].action else {
            return;
        };
        let (merchant, person) = (planned.merchant as u32, planned.person as u32);
        let policy = self.plan.nodes[person as usize]
            .answer
            .unwrap_or(Answer::Ask);
        let id = self.requests.len() as u32;
        let at_s = self.since_start_s();
        self.requests.push(Request {
            plan: index,
            merchant,
            person,
            policy,
            at_s,
            began: self.now,
            path: None,
            lookup: None,
            retried: false,
            ended: false,
        });
        self.second().requests += 1;
        let target = self.record_keys[person as usize];
        let query = self.new_query(
            merchant,
            target,
            QueryKind::Lookup { request: id },
            self.replication,
        );
        // The merchant's own store first.
        if self.holds(person, merchant)
            && let Some(q) = self.queries.get_mut(&query)
        {
            q.records = 1;
            q.hops = Some(0);
        }
        self.drive(query);
    }

    pub(super) fn lookup_done(&mut self, request: u32, q: &Query) {
        let ok = q.records > 0;
        let latency_ms = (self.now - q.started) as f64 / 1e6;
        let sample = LookupSample {
            at_s: self.since_start_s() - latency_ms / 1e3,
            ok,
            latency_ms,
            requests: q.requests,
            failed_requests: q.failures,
            hops: if ok { q.hops } else { None },
            reason: (!ok).then(|| "not_found".to_string()),
        };
        let second = self.second();
        second.lookups += 1;
        second.lookups_ok += u64::from(ok);
        if ok {
            self.requests[request as usize].lookup = Some(sample);
            self.step(request, Step::Send);
        } else {
            self.recorder.lookups.push(sample);
            self.end_request(request, Outcome::Failed, Some("lookup_not_found"));
        }
    }

    pub(super) fn end_request(&mut self, request: u32, outcome: Outcome, reason: Option<&str>) {
        let r = &mut self.requests[request as usize];
        if r.ended {
            return;
        }
        r.ended = true;
        let latency_ms = (outcome != Outcome::Failed).then(|| (self.now - r.began) as f64 / 1e6);
        let sample = RequestSample {
            at_s: r.at_s,
            policy: r.policy,
            path: r.path,
            outcome,
            latency_ms,
            reason: reason.map(str::to_string),
            queued: false,
        };
        if let Some(lookup) = r.lookup.take() {
            self.recorder.lookups.push(lookup);
        }
        self.recorder.requests.push(sample);
        let granted = outcome == Outcome::Granted;
        let second = self.second();
        match outcome {
            Outcome::Failed => second.failures += 1,
            _ => second.decisions += 1,
        }
        if granted {
            second.grants += 1;
            self.recorder.grants += 1;
        }
    }

    pub(super) fn planned(&self, request: u32) -> crate::plan::PlannedRequest {
        let index = self.requests[request as usize].plan as usize;
        match &self.plan.events[index].action {
            Action::Request(planned) => planned.clone(),
            _ => unreachable!("requests point at request events"),
        }
    }

    pub(super) fn step(&mut self, request: u32, step: Step) {
        let (merchant, person, policy) = {
            let r = &self.requests[request as usize];
            (r.merchant, r.person, r.policy)
        };
        let planned = self.planned(request);
        let later = |model: &mut Self, after: u64, step: Step| {
            let at = model.now + after;
            model.at(at, Ev::Step { request, step });
        };
        match step {
            Step::Send => {
                if self.requests[request as usize].ended {
                    return;
                }
                let Some((took, path)) = self.deliver_request(merchant, person) else {
                    // A dial times out; a relay answers at once that it holds no
                    // reservation for the person.
                    let path = self.path_of(merchant, person);
                    self.requests[request as usize].path.get_or_insert(path);
                    let wait = match path {
                        Path::Direct => self.connect_timeout,
                        Path::Relayed => {
                            let relay = self.relay_of(person);
                            let open = self.connection_wait(merchant, relay);
                            open.unwrap_or(0)
                                + self
                                    .net
                                    .request_ns(merchant, relay, open.is_some(), 200, 200)
                        }
                    };
                    later(self, wait, Step::Unreachable);
                    return;
                };
                self.requests[request as usize].path = Some(path);
                self.message(merchant, person);
                match policy {
                    Answer::Allow | Answer::Deny => {
                        self.message(person, merchant);
                        later(self, took, Step::Decided);
                    }
                    Answer::Ask => later(self, took, Step::Arrived),
                }
            }
            Step::Unreachable => {
                let r = &mut self.requests[request as usize];
                if r.ended {
                    return;
                }
                if r.retried {
                    self.end_request(request, Outcome::Failed, Some("unreachable"));
                } else {
                    r.retried = true;
                    self.recorder.retries += 1;
                    later(self, ns(NetConfig::default().retry_initial), Step::Send);
                }
            }
            Step::Decided => {
                let granted = match policy {
                    Answer::Allow => true,
                    Answer::Deny => false,
                    Answer::Ask => planned.approve,
                };
                let outcome = if granted {
                    Outcome::Granted
                } else {
                    Outcome::Denied
                };
                self.end_request(request, outcome, None);
                if granted && let Some(after) = planned.revoke_after {
                    later(self, ns(after), Step::Revoke);
                }
            }
            Step::Arrived => later(self, ns(planned.answer_after), Step::Answer),
            Step::Answer | Step::Revoke | Step::Receipt if !self.online[person as usize] => {
                self.waiting
                    .entry(person)
                    .or_default()
                    .push((request, step));
            }
            Step::Answer => {
                self.message(person, merchant);
                match self.exchange(person, merchant, DECISION_BYTES, None) {
                    Some(took) => later(self, took, Step::Decided),
                    None => {
                        *self
                            .recorder
                            .delivery_failures
                            .entry("unreachable".into())
                            .or_default() += 1;
                    }
                }
            }
            Step::Revoke => {
                self.recorder.revoked += 1;
                self.second().revoked += 1;
                self.message(person, merchant);
                // The merchant erases and answers with its receipt.
                if let Some(took) = self.exchange(person, merchant, REVOKE_BYTES, None) {
                    self.message(merchant, person);
                    let back = self.net.flight_ns(merchant, person, RECEIPT_BYTES);
                    self.bytes(merchant, person, RECEIPT_BYTES, 0);
                    later(self, took + back, Step::Receipt);
                }
            }
            Step::Receipt => {
                self.recorder.erased += 1;
                self.second().erased += 1;
            }
        }
    }

    pub(super) fn relay_of(&self, person: u32) -> u32 {
        self.plan.nodes[person as usize]
            .relays
            .first()
            .map_or(0, |&r| r as u32)
    }

    /// Direct when the person is public or a connection to it is open.
    pub(super) fn path_of(&self, merchant: u32, person: u32) -> Path {
        if !self.plan.nodes[person as usize].behind_nat
            || self.connection_wait(merchant, person).is_some()
        {
            Path::Direct
        } else {
            Path::Relayed
        }
    }

    /// Sends a request and returns how long until its answer is back and the
    /// path it took, or `None` if the person cannot be reached.
    pub(super) fn deliver_request(&mut self, merchant: u32, person: u32) -> Option<(u64, Path)> {
        let path = self.path_of(merchant, person);
        if !self.online[person as usize] {
            return None;
        }
        match path {
            Path::Direct => self
                .exchange(merchant, person, REQUEST_BYTES, Some(DECISION_BYTES))
                .map(|took| (took, Path::Direct)),
            Path::Relayed => {
                // The circuit: a hop request to the relay, which asks the person
                // over its reservation (one round trip); then the handshake, the
                // substream's negotiation and the request over both legs.
                let relay = self.relay_of(person);
                let hop = self.exchange(merchant, relay, 200, Some(200))?;
                let stop =
                    self.net.flight_ns(relay, person, 200) + self.net.flight_ns(person, relay, 200);
                let mut legs = 0;
                for (bytes, there) in [
                    (600, true),
                    (600, false),
                    (40, true),
                    (40, false),
                    (REQUEST_BYTES, true),
                    (DECISION_BYTES, false),
                ] {
                    legs += if there {
                        self.net.flight_ns(merchant, relay, bytes)
                            + self.net.flight_ns(relay, person, bytes)
                    } else {
                        self.net.flight_ns(person, relay, bytes)
                            + self.net.flight_ns(relay, merchant, bytes)
                    };
                }
                let took = hop + stop + legs;
                self.bytes(merchant, relay, REQUEST_BYTES + 1_400, DECISION_BYTES + 600);
                self.bytes(relay, person, REQUEST_BYTES + 1_400, DECISION_BYTES + 600);
                let sessions = (
                    self.sessions[merchant as usize],
                    self.sessions[relay as usize],
                );
                self.net.touch(merchant, relay, sessions, self.now + took);
                Some((took, Path::Relayed))
            }
        }
    }
}
