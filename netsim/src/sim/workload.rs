//! The workload: the plan's actions at their times, a merchant's lookup and
//! request, the person's answer, revocation and its receipt, and what each records.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures::StreamExt as _;
use libp2p::multiaddr::Protocol;
use passport_node::{
    Event, Passport, PassportError, RequestAnswer, RequestSpec,
    audit::AuditEvent,
    merchant::RequestStatus,
    net::{Client, NetConfig, NetError, Response},
    person::Approval,
    protocol::{GrantId, MessageId, PeerRecord},
};
use tokio::time::Instant;

use crate::{
    plan::{Action, Answer, PlannedRequest, Role},
    record::{LookupSample, Outcome, Path, RequestSample},
};

use super::{Sim, lock, passport_reason, reason};

/// How a request ended: what its sample records besides its start and policy.
pub(super) struct Ended {
    path: Option<Path>,
    outcome: Outcome,
    latency_ms: Option<f64>,
    reason: Option<String>,
    queued: bool,
}

impl Ended {
    pub(super) fn failed(path: Option<Path>, reason: impl Into<String>) -> Self {
        Self {
            path,
            outcome: Outcome::Failed,
            latency_ms: None,
            reason: Some(reason.into()),
            queued: false,
        }
    }

    /// The request's sample: this, for a request begun at `at_s` (seconds into
    /// the workload) to a person whose standing answer is `policy`.
    /// A request still waiting when the run ended.
    pub(super) fn unfinished() -> Self {
        Self {
            outcome: Outcome::Unfinished,
            ..Self::failed(None, "run_ended")
        }
    }

    pub(super) fn sample(self, at_s: f64, policy: Answer) -> RequestSample {
        RequestSample {
            at_s,
            policy,
            path: self.path,
            outcome: self.outcome,
            latency_ms: self.latency_ms,
            reason: self.reason,
            queued: self.queued,
        }
    }
}

/// Counts a follow-up task while it lives.
pub(super) struct Followup(Arc<Sim>);

impl Followup {
    fn new(sim: &Arc<Sim>) -> Self {
        sim.followups.fetch_add(1, Ordering::SeqCst);
        Self(sim.clone())
    }
}

impl Drop for Followup {
    fn drop(&mut self) {
        self.0.followups.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How long a simulated merchant waits for a person's decision: longer than any
/// run, which the drain ends.
const UNTIL_THE_RUN_ENDS: Duration = Duration::from_secs(365 * 86_400);

impl Sim {
    /// Every second: persons online, bytes, progress.
    pub(super) async fn tick(self: Arc<Self>, run_start: Instant) {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        let mut last_bytes = 0u64;
        // Without a progress bar (--quiet, or not a terminal), a long run says
        // where it stands every minute of wall time.
        let mut last_said = std::time::Instant::now();
        loop {
            every.tick().await;
            let simulated = run_start.elapsed().as_secs();
            self.progress
                .set_position(simulated.min(self.progress.length().unwrap_or(0)));
            if self.progress.is_hidden() && last_said.elapsed() >= Duration::from_secs(60) {
                last_said = std::time::Instant::now();
                let online = self.nodes.iter().filter(|n| *n.online.borrow()).count();
                self.phase(&format!("{online} nodes online"), run_start);
            }
            let Some(_) = self.started.get() else {
                continue;
            };
            let online = self
                .nodes
                .iter()
                .filter(|n| n.plan.role == Role::Person && *n.online.borrow())
                .count() as u64;
            let mailbox_bytes = if self.scenario.mailboxes.enabled {
                self.mailbox_bytes()
            } else {
                0
            };
            let bytes: u64 = (0..self.nodes.len())
                .filter_map(|i| self.net.traffic(i))
                .map(|t| t.bytes_sent.load(Ordering::Relaxed))
                .sum();
            let message = {
                let mut r = lock(&self.recorder);
                let t = self
                    .since_start()
                    .saturating_sub(Duration::from_millis(500));
                let second = r.second(t);
                second.persons_online = online;
                second.bytes = bytes - last_bytes;
                second.connections = self.net.open_connections();
                second.mailbox_bytes = mailbox_bytes;
                // From the per-second counts: the samples grow with the run.
                let (ok, all) = r
                    .seconds
                    .iter()
                    .fold((0, 0), |(ok, all), s| (ok + s.lookups_ok, all + s.lookups));
                format!("lookups {ok}/{all}  grants {}  online {online}", r.grants)
            };
            last_bytes = bytes;
            self.progress.set_message(message);
        }
    }

    pub(super) async fn act(self: Arc<Self>, seq: u64, action: Action) {
        match action {
            Action::Offline { node } => self.stop(node).await,
            Action::Online { node } => {
                if let Err(e) = self.start(node).await {
                    tracing::warn!(error = %e, "a node could not come back online");
                }
            }
            Action::Request(planned) => {
                let policy = self.plan.nodes[planned.person]
                    .answer
                    .unwrap_or(Answer::Ask);
                let at_s = self.since_start().as_secs_f64();
                lock(&self.open).insert(seq, (policy, at_s));
                self.record(|r, t| r.second(t).requests += 1);
                let ended = self.request(&planned).await;
                lock(&self.open).remove(&seq);
                self.record(|r, t| {
                    match ended.outcome {
                        Outcome::Failed => r.second(t).failures += 1,
                        _ => r.second(t).decisions += 1,
                    }
                    if ended.outcome == Outcome::Granted {
                        r.grants += 1;
                        r.second(t).grants += 1;
                    }
                    r.requests.push(ended.sample(at_s, policy));
                });
            }
        }
    }

    /// One request, from the merchant's lookup to the decision stored at the
    /// merchant.
    async fn request(self: &Arc<Self>, planned: &PlannedRequest) -> Ended {
        let (merchant, person) = (planned.merchant, planned.person);
        let Some(client) = self.client(merchant) else {
            return Ended::failed(None, "merchant_offline");
        };
        // Asked before the clock starts: it is the simulator's question, not part
        // of the request. The lookup does not connect to the person.
        let path = self.path(&client, person).await;
        let began = Instant::now();
        let person_id = self.nodes[person].node.id();
        let (found, trace) = client.lookup_traced(person_id).await;
        let lookup_ms = began.elapsed().as_secs_f64() * 1e3;
        let lookup = LookupSample {
            at_s: self.since_start().as_secs_f64() - lookup_ms / 1e3,
            ok: found.is_ok(),
            latency_ms: lookup_ms,
            requests: trace.requests,
            failed_requests: trace.failures,
            hops: None,
            reason: found.as_ref().err().map(|e| reason(e).to_string()),
        };
        self.record(|r, t| {
            let second = r.second(t);
            second.lookups += 1;
            second.lookups_ok += u64::from(lookup.ok);
        });
        let record = match found {
            Ok(record) => record,
            Err(e) => {
                self.record(|r, _| r.lookups.push(lookup));
                return Ended::failed(None, format!("lookup_{}", reason(&e)));
            }
        };
        // The replay asks many nodes' event loops; off the request's path, so it
        // adds nothing to the request's latency.
        let replay = {
            let sim = self.clone();
            tokio::spawn(async move { sim.replay_hops(merchant, person_id).await })
        };
        let mut ended = self.send_request(&record, path, planned, began).await;
        // A failed dial or a closed connection: a merchant's backend sends a new
        // request once, after the wait the node's own delivery retries start with
        // (an immediate one can meet the same failing dial), and so does the
        // simulator, counting it.
        if ended.outcome == Outcome::Failed && ended.reason.as_deref() == Some("unreachable") {
            self.record(|r, _| r.retries += 1);
            tokio::time::sleep(NetConfig::default().retry_initial).await;
            ended = self.send_request(&record, path, planned, began).await;
        }
        let hops = replay.await.ok().flatten();
        self.record(|r, _| r.lookups.push(LookupSample { hops, ..lookup }));
        ended
    }

    /// The request itself, once the person's record is found.
    async fn send_request(
        self: &Arc<Self>,
        record: &PeerRecord,
        path: Path,
        planned: &PlannedRequest,
        began: Instant,
    ) -> Ended {
        let (merchant, person) = (planned.merchant, planned.person);
        let path = Some(path);

        let Some(shop) = self.passport(merchant) else {
            return Ended::failed(path, "merchant_offline");
        };
        let spec = RequestSpec::new(
            &format!("Shop {merchant}"),
            self.field_sets[planned.fields].iter().cloned(),
            "simulation",
            self.scenario.workload.grant_duration_s,
        );
        self.count_message(merchant, person);
        let outcome = match shop.request_to_record(record, spec, Duration::ZERO).await {
            Ok(outcome) => outcome,
            Err(PassportError::Node(_)) => return Ended::failed(path, "merchant_store"),
            Err(e) => {
                tracing::debug!(
                    merchant,
                    person,
                    ?path,
                    addresses = ?record.addresses,
                    sequence = record.sequence,
                    error = %e,
                    "a request failed"
                );
                return Ended::failed(path, passport_reason(&e));
            }
        };
        let request_id = outcome.request_id;
        let mut queued = false;
        let status = match outcome.answer {
            // Decided without waiting: the decision came back as the answer.
            RequestAnswer::Decided(status) => {
                self.count_message(person, merchant);
                Some(status)
            }
            // The person must answer; if its node is offline, the request waits at
            // its mailboxes and the person answers once the node is back and has
            // drained it. A standing policy answers a queued one by itself.
            answer @ (RequestAnswer::Pending | RequestAnswer::Queued { .. }) => {
                queued = matches!(answer, RequestAnswer::Queued { .. });
                if queued {
                    self.record(|r, _| r.queued += 1);
                }
                if !queued || self.plan.nodes[person].answer.is_none() {
                    let followup = Followup::new(self);
                    let (after, approve) = (planned.answer_after, planned.approve);
                    tokio::spawn(async move {
                        followup
                            .0
                            .answer_once_received(person, merchant, request_id, after, approve)
                            .await;
                    });
                }
                self.decision(&shop, request_id).await
            }
            RequestAnswer::Accepted | RequestAnswer::AlreadyReceived => {
                return Ended::failed(path, "unexpected_answer");
            }
        };
        let decided = |outcome| Ended {
            path,
            outcome,
            latency_ms: Some(began.elapsed().as_secs_f64() * 1e3),
            reason: None,
            queued,
        };
        match status {
            Some(RequestStatus::Granted { grant }) => {
                if let Some(after) = planned.revoke_after {
                    let followup = Followup::new(self);
                    tokio::spawn(async move {
                        followup.0.revoke(person, merchant, grant, after).await;
                    });
                }
                decided(Outcome::Granted)
            }
            Some(RequestStatus::Refused { .. }) => decided(Outcome::Denied),
            Some(RequestStatus::Expired) => Ended::failed(path, "expired"),
            Some(RequestStatus::Failed { .. }) => Ended::failed(path, "not_delivered"),
            Some(
                RequestStatus::Sending | RequestStatus::Queued { .. } | RequestStatus::Waiting,
            )
            | None => Ended::failed(path, "no_decision"),
        }
    }

    /// Direct if the person is publicly reachable or a direct connection to it
    /// exists; relayed otherwise.
    async fn path(&self, client: &Client, person: usize) -> Path {
        if !self.plan.nodes[person].behind_nat {
            return Path::Direct;
        }
        let peer = self.peer_of(person);
        let direct = client.peers().await.is_ok_and(|peers| {
            peers.iter().any(|(p, addrs)| {
                *p == peer
                    && addrs
                        .iter()
                        .any(|a| !a.iter().any(|p| p == Protocol::P2pCircuit))
            })
        });
        if direct { Path::Direct } else { Path::Relayed }
    }

    fn count_message(&self, from: usize, to: usize) {
        self.nodes[from]
            .messages_sent
            .fetch_add(1, Ordering::Relaxed);
        self.nodes[to]
            .messages_received
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Waits until the merchant's store holds a decision on `request_id`.
    async fn decision(&self, shop: &Passport, request_id: MessageId) -> Option<RequestStatus> {
        // As long as the run lasts: the drain ends the run, not this wait.
        let status = shop.decision(request_id, UNTIL_THE_RUN_ENDS).await.ok()?;
        status.filter(|s| !matches!(s, RequestStatus::Waiting))
    }

    /// The person answers an `ask` request after `after`, when online.
    async fn answer(
        &self,
        person: usize,
        merchant: usize,
        request_id: MessageId,
        after: Duration,
        approve: bool,
    ) {
        tokio::time::sleep(after).await;
        self.until_online(person).await;
        let Some(passport) = self.passport(person) else {
            return;
        };
        let sending = if approve {
            passport.approve(request_id, Approval::default()).await
        } else {
            passport.deny(request_id, "not now".into()).await
        };
        let Ok(sending) = sending else {
            self.record(|r, _| {
                *r.delivery_failures
                    .entry("answer_store".into())
                    .or_default() += 1
            });
            return;
        };
        self.delivered(person, merchant, sending).await;
    }

    /// The person answers a request once it is in its inbox (at once when it was
    /// delivered; for one that waited at the mailboxes, once the node has drained
    /// it: the node outlives restarts, so its events are followed whether it is
    /// online or not), `after` that, when online.
    async fn answer_once_received(
        &self,
        person: usize,
        merchant: usize,
        request_id: MessageId,
        after: Duration,
        approve: bool,
    ) {
        let store = Passport::offline(self.nodes[person].node.clone());
        let mut events = store.events();
        loop {
            let waiting = store
                .read(move |node| node.inbox_item(&request_id))
                .await
                .is_ok_and(|item| item.is_some());
            if waiting {
                break;
            }
            loop {
                match events.next().await {
                    None => return,
                    Some(Event::Lagged { .. }) => break,
                    Some(Event::Committed {
                        event: AuditEvent::RequestReceived { request, .. },
                        ..
                    }) if request == request_id => break,
                    Some(_) => {}
                }
            }
        }
        self.answer(person, merchant, request_id, after, approve)
            .await;
    }

    /// Waits for a person's message to be delivered, counting it; if the person
    /// goes offline first, the outbox sends it when the person is back.
    async fn delivered(&self, person: usize, merchant: usize, sending: passport_node::Sending) {
        self.count_message(person, merchant);
        match sending.delivered().await {
            Ok(Response::Message(_)) => self.count_message(merchant, person),
            Ok(_) => {}
            // The person went offline first: the message waits in its outbox and
            // goes out when it is back. Not a failure.
            Err(PassportError::Net(NetError::Stopped)) => {}
            Err(e) => self.record(|r, _| {
                *r.delivery_failures
                    .entry(passport_reason(&e).into())
                    .or_default() += 1;
            }),
        }
    }

    /// The person revokes a grant `after` it arrived, and waits for the receipt.
    async fn revoke(&self, person: usize, merchant: usize, grant: GrantId, after: Duration) {
        tokio::time::sleep(after).await;
        self.until_online(person).await;
        let Some(passport) = self.passport(person) else {
            return;
        };
        // The node and its events outlive restarts: the receipt may come later,
        // through the merchant's outbox after either side restarted, so read the
        // store through a handle of its own rather than the running one.
        let store = Passport::offline(self.nodes[person].node.clone());
        let mut events = store.events();
        let Ok(sending) = passport.revoke(grant).await else {
            self.record(|r, _| {
                *r.delivery_failures
                    .entry("revoke_store".into())
                    .or_default() += 1
            });
            return;
        };
        self.record(|r, t| {
            r.revoked += 1;
            r.second(t).revoked += 1;
        });
        self.delivered(person, merchant, sending).await;
        loop {
            let erased = store.grants().await.ok().is_some_and(|grants| {
                grants
                    .iter()
                    .any(|g| g.grant_id == grant && g.receipt.is_some())
            });
            if erased {
                self.record(|r, t| {
                    r.erased += 1;
                    r.second(t).erased += 1;
                });
                return;
            }
            // Reread when a receipt arrives (or when this fell behind).
            loop {
                match events.next().await {
                    None => return,
                    Some(Event::Lagged { .. }) => break,
                    Some(Event::Committed { event, .. }) => {
                        if matches!(event, AuditEvent::ReceiptReceived { .. }) {
                            break;
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    }
}
