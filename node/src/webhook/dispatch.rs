//! The delivery task: reads the queue in order, posts each event with its
//! Standard Webhooks headers, and writes what became of it. One attempt at a time
//! per person and endpoint (so a person's events arrive in order), up to
//! [`MAX_IN_FLIGHT`] in all; the outcomes of attempts that end together are
//! written in one transaction.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use passport_protocol::{GrantId, PassportId, Timestamp};
use tokio::task::JoinSet;

use super::{
    DELIVERY_PREFIX, Delivery, DeliveryAttempt, LOG_CAPACITY, LOG_PREFIX, MAX_QUEUED, Webhook,
};
use crate::{
    error::NodeError,
    metrics::Metrics,
    node::{Node, Outgoing, system_now},
};

/// Longest an attempt may take, connecting included.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts in flight at once, across endpoints and persons.
const MAX_IN_FLIGHT: usize = 64;
/// Deliveries read from the store at once, oldest first.
const WINDOW: usize = 1024;
/// The wait after the nth failed attempt (the last repeats): 5 s, 30 s, 2 min,
/// 10 min, 30 min, 1 h, 2 h, 4 h, 8 h.
const BACKOFF_SECS: [u64; 9] = [5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800];
/// An event still undelivered this long after it happened is given up, with a log
/// entry and a warning: 25 hours.
pub(crate) const GIVE_UP_SECS: u64 = 25 * 3600;
/// Longest answer body read (for `{"erased": true}`).
const MAX_ANSWER_BYTES: usize = 4096;

/// What hands a deletion receipt, released by a backend's confirmation, to the
/// network.
pub(crate) type SendReceipt = Arc<dyn Fn(Outgoing) + Send + Sync>;

/// One attempt's result.
struct Tried {
    key: Vec<u8>,
    delivery: Delivery,
    at: Timestamp,
    status: Option<u16>,
    error: Option<String>,
    millis: u64,
    /// The backend answered `{"erased": true}` to an erasure event.
    erased: bool,
}

/// Delivers until the task is aborted (the handle's shutdown does that; an attempt
/// cut short is made again after the restart, with the same `webhook-id`).
///
/// The oldest [`WINDOW`] deliveries are read into memory and kept there, updated
/// as attempts end; the store is read again when a transaction queues new ones,
/// when webhooks change, or when the window runs low. Nothing read is posted
/// before it is durable.
pub(crate) async fn run(node: Node, metrics: Metrics, send_receipt: SendReceipt) {
    let client = match client() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "webhooks are off: no HTTP client");
            return;
        }
    };
    let wake = node.webhook_wake();
    let mut running: JoinSet<Tried> = JoinSet::new();
    let mut in_flight: HashSet<Vec<u8>> = HashSet::new();
    let mut window: BTreeMap<Vec<u8>, Delivery> = BTreeMap::new();
    let mut endpoints: BTreeMap<String, Webhook> = BTreeMap::new();
    let mut stale = true;
    let mut window_was_full = false;
    let mut written: u64 = 0;
    loop {
        // Subscribed before reading, so that an event queued meanwhile wakes us.
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if stale {
            let reading = node.clone();
            let read = tokio::task::spawn_blocking(move || {
                let window = reading.deliveries(WINDOW)?;
                let endpoints = reading.webhooks()?;
                let unconfirmed = reading.unconfirmed_erasures()?.len();
                // What was read may not be durable yet: it is before it is told.
                reading.sync()?;
                Ok::<_, NodeError>((window, endpoints, unconfirmed))
            })
            .await;
            match read {
                Ok(Ok((read, webhooks, unconfirmed))) => {
                    window_was_full = read.len() >= WINDOW;
                    metrics.set_backend_backlog(read.len(), unconfirmed);
                    window = read.into_iter().collect();
                    endpoints = webhooks.into_iter().map(|w| (w.id.clone(), w)).collect();
                    stale = false;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "reading the webhook queue failed; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
                Err(_) => return,
            }
        }
        let now = system_now();
        let mut next_due: Option<Timestamp> = None;
        let mut busy: HashSet<(&str, Option<PassportId>)> = HashSet::new();
        for (key, delivery) in &window {
            // Only the oldest of a person's events per endpoint may go.
            if !busy.insert((delivery.endpoint.as_str(), delivery.person))
                || in_flight.contains(key)
            {
                continue;
            }
            if delivery.next_at > now {
                next_due = Some(next_due.map_or(delivery.next_at, |d| d.min(delivery.next_at)));
                continue;
            }
            if running.len() >= MAX_IN_FLIGHT {
                break;
            }
            let Some(endpoint) = endpoints.get(&delivery.endpoint).cloned() else {
                continue;
            };
            in_flight.insert(key.clone());
            let (client, key, delivery) = (client.clone(), key.clone(), delivery.clone());
            running.spawn(async move { attempt(&client, &endpoint, key, delivery).await });
        }
        let sleep = next_due.map_or(Duration::from_secs(60), |due| {
            Duration::from_secs(now.secs_until(due).clamp(1, 60))
        });
        tokio::select! {
            Some(first) = running.join_next(), if !running.is_empty() => {
                let mut done: Vec<Tried> = first.into_iter().collect();
                while let Some(more) = running.try_join_next() {
                    done.extend(more);
                }
                written += done.len() as u64;
                let trim = written >= LOG_CAPACITY / 4;
                if trim {
                    written = 0;
                }
                let recording = node.clone();
                let counting = metrics.clone();
                let recorded = tokio::task::spawn_blocking(move || {
                    record(&recording, &counting, done, trim)
                })
                .await;
                match recorded {
                    Ok(Ok((updates, receipts))) => {
                        for (key, update) in updates {
                            in_flight.remove(&key);
                            match update {
                                Some(delivery) => window.insert(key, delivery),
                                None => window.remove(&key),
                            };
                        }
                        receipts.into_iter().for_each(|r| send_receipt(r));
                        if trim || (window_was_full && window.len() < WINDOW / 2) {
                            stale = true;
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "recording webhook attempts failed");
                        in_flight.clear();
                        stale = true;
                    }
                    Err(_) => return,
                }
            }
            _ = woken => stale = true,
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

pub(crate) fn client() -> Result<reqwest::Client, reqwest::Error> {
    outbound_client(concat!("passport-webhooks/", env!("CARGO_PKG_VERSION")))
}

/// The HTTP client for what the node posts to others (webhooks, notifications):
/// [`ATTEMPT_TIMEOUT`] per attempt, no redirects followed, `agent` as user agent.
pub(crate) fn outbound_client(agent: &'static str) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(agent)
        .build()
}

/// One POST of `delivery` to `endpoint`.
#[expect(
    clippy::disallowed_methods,
    reason = "an HTTP call to a backend is timed in wall-clock time"
)]
async fn attempt(
    client: &reqwest::Client,
    endpoint: &Webhook,
    key: Vec<u8>,
    delivery: Delivery,
) -> Tried {
    let at = system_now();
    let started = Instant::now();
    let body = delivery.payload.body(delivery.at);
    let signature = endpoint.secret.sign(&delivery.id, at.as_secs(), &body);
    let sent = client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", at.as_secs().to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let (status, error, erased) = match sent {
        Err(e) => (None, Some(describe(&e)), false),
        Ok(mut response) => {
            let status = response.status();
            let erased = if status.is_success() && !delivery.payload.erased_grants().is_empty() {
                answers_erased(&mut response).await
            } else {
                false
            };
            let error = (!status.is_success()).then(|| format!("answered {status}"));
            (Some(status.as_u16()), error, erased)
        }
    };
    Tried {
        key,
        delivery,
        at,
        status,
        error,
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        erased,
    }
}

/// A transport error in words, with its cause (reqwest's own message is terse).
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if error.is_timeout() {
        format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn answers_erased(response: &mut reqwest::Response) -> bool {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return false;
        }
    }
    serde_json::from_slice::<serde_json::Value>(&body)
        .is_ok_and(|v| v.get("erased") == Some(&serde_json::Value::Bool(true)))
}

/// Writes the outcomes in one transaction; returns the receipts a backend's
/// `{"erased": true}` released.
/// What became of each attempt's delivery: `None` once it is gone from the queue.
type Updates = Vec<(Vec<u8>, Option<Delivery>)>;

fn record(
    node: &Node,
    metrics: &Metrics,
    done: Vec<Tried>,
    trim: bool,
) -> Result<(Updates, Vec<Outgoing>), NodeError> {
    let now = system_now();
    let mut confirmed: Vec<GrantId> = Vec::new();
    let mut updates = Updates::new();
    let (receipts, unsettled) = node.tx_deferred(now, |tx| {
        for tried in done {
            let mut delivery = tried.delivery;
            delivery.attempts += 1;
            let delivered = tried.error.is_none();
            let given_up = !delivered && now.as_secs() >= delivery.at.as_secs() + GIVE_UP_SECS;
            let outcome = if delivered {
                updates.push((tried.key.clone(), None));
                tx.delete(tried.key);
                if tried.erased {
                    confirmed.extend_from_slice(delivery.payload.erased_grants());
                }
                "delivered"
            } else if given_up {
                tracing::warn!(
                    webhook = %delivery.endpoint,
                    event = %delivery.id,
                    error = tried.error.as_deref().unwrap_or_default(),
                    "giving up a webhook event undelivered for 25 hours"
                );
                updates.push((tried.key.clone(), None));
                tx.delete(tried.key);
                "given_up"
            } else {
                let step = (delivery.attempts as usize - 1).min(BACKOFF_SECS.len() - 1);
                delivery.next_at = now.plus_secs(BACKOFF_SECS[step]);
                delivery.last_error.clone_from(&tried.error);
                updates.push((tried.key.clone(), Some(delivery.clone())));
                tx.put(tried.key, &delivery);
                "retrying"
            };
            metrics.webhook_attempt(outcome);
            let mut log_key = LOG_PREFIX.to_vec();
            log_key.extend_from_slice(&tried.at.as_secs().to_be_bytes());
            log_key.extend_from_slice(delivery.id.as_bytes());
            log_key.extend_from_slice(&delivery.attempts.to_be_bytes());
            tx.put(
                log_key,
                &DeliveryAttempt {
                    webhook_id: delivery.id.clone(),
                    endpoint: delivery.endpoint.clone(),
                    event_type: delivery.payload.type_name().to_string(),
                    attempt: delivery.attempts,
                    at: tried.at,
                    status: tried.status,
                    error: tried.error,
                    millis: tried.millis,
                    outcome: outcome.to_string(),
                    next_at: (outcome == "retrying").then_some(delivery.next_at),
                },
            );
        }
        if trim {
            let keys = tx.node.storage().scan_prefix(LOG_PREFIX)?;
            let excess = keys.len().saturating_sub(LOG_CAPACITY as usize);
            for (key, _) in keys.into_iter().take(excess) {
                tx.delete(key);
            }
            // A backend down for long behind a busy shop: past MAX_QUEUED, the
            // oldest events are given up rather than fill the disk.
            let queued = tx.node.storage().scan_prefix(DELIVERY_PREFIX)?;
            let excess = queued.len().saturating_sub(MAX_QUEUED);
            if excess > 0 {
                tracing::warn!(
                    count = excess,
                    "the webhook queue is full ({MAX_QUEUED} events): giving up the oldest"
                );
                for (key, _) in queued.into_iter().take(excess) {
                    tx.delete(key);
                    metrics.webhook_attempt("given_up");
                }
            }
        }
        let mut receipts = Vec::new();
        for grant in std::mem::take(&mut confirmed) {
            receipts.extend(tx.confirm_erasure(&grant)?);
        }
        Ok(receipts)
    })?;
    // A receipt goes out only once its release is durable. Otherwise the outcomes
    // become durable with the next flush: lost in a crash, an event is posted
    // again with the same webhook-id, which at-least-once delivery allows.
    if receipts.is_empty() {
        drop(unsettled);
    } else {
        node.settle(unsettled)?;
    }
    Ok((updates, receipts))
}

/// Posts a `webhook.test` event to `endpoint` now, logs the attempt and returns
/// it: what `passport webhook test` shows.
pub(crate) async fn test_once(
    node: &Node,
    endpoint: Webhook,
) -> Result<DeliveryAttempt, NodeError> {
    use rand::Rng as _;
    let client = client().map_err(|e| NodeError::InvalidInput(format!("no HTTP client: {e}")))?;
    let mut raw = [0u8; 12];
    rand::rng().fill_bytes(&mut raw);
    let id = format!(
        "evt_{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let now = system_now();
    let delivery = Delivery {
        id,
        endpoint: endpoint.id.clone(),
        person: None,
        at: now,
        payload: super::WebhookPayload::Test {},
        attempts: 0,
        next_at: now,
        last_error: None,
    };
    let tried = attempt(&client, &endpoint, Vec::new(), delivery).await;
    let logged = DeliveryAttempt {
        webhook_id: tried.delivery.id.clone(),
        endpoint: endpoint.id,
        event_type: "webhook.test".into(),
        attempt: 1,
        at: tried.at,
        status: tried.status,
        outcome: if tried.error.is_none() {
            "delivered"
        } else {
            "given_up"
        }
        .into(),
        error: tried.error,
        millis: tried.millis,
        next_at: None,
    };
    let logging = node.clone();
    let entry = logged.clone();
    tokio::task::spawn_blocking(move || {
        logging.tx(system_now(), |tx| {
            let mut key = LOG_PREFIX.to_vec();
            key.extend_from_slice(&entry.at.as_secs().to_be_bytes());
            key.extend_from_slice(entry.webhook_id.as_bytes());
            tx.put(key, &entry);
            Ok(())
        })
    })
    .await
    .map_err(|e| NodeError::InvalidInput(format!("logging the test was interrupted: {e}")))??;
    Ok(logged)
}
