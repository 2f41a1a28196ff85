//! The shop's background work, driven by the database so that none is lost across
//! a restart: read the values of granted orders, confirm erasures to the node,
//! delete data whose grant ended even if no webhook said so, and ask the node about
//! requests still waiting (in case a webhook was lost).
//!
//! A pass runs when a webhook or a checkout wakes the worker, and every
//! [`TICK`]; after a failure (the node unreachable) the next pass waits longer, up
//! to [`MAX_BACKOFF`].

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::{sync::watch, time::Instant};

use crate::{
    App, FIELDS,
    node::{Confirmed, Lifecycle},
    store::{Confirmation, Grant, OrderState},
    unix_now,
};

/// Time between passes when all went well.
const TICK: Duration = Duration::from_secs(5);
/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Runs passes until `stop` turns true.
pub(crate) async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut checked = HashMap::new();
    let mut backoff = MIN_BACKOFF;
    loop {
        let wait = if pass(&app, &mut checked).await {
            backoff = MIN_BACKOFF;
            TICK
        } else {
            let wait = backoff;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            wait
        };
        tokio::select! {
            () = app.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// The work due now, read from the database in one go.
#[derive(Default)]
struct Due {
    /// Orders holding personal data whose grant ended by time.
    ended: Vec<u64>,
    /// Orders whose values are to read: (number, grant).
    values: Vec<(u64, String)>,
    /// Erasures to confirm: (order number, grant), or no order for unheld grants.
    confirm: Vec<(Option<u64>, String)>,
    /// Orders still waiting: (number, request).
    waiting: Vec<(u64, String)>,
}

/// One pass; `false` if something failed and should be retried later.
async fn pass(app: &App, checked: &mut HashMap<u64, Instant>) -> bool {
    let now = unix_now();
    let due = {
        let store = app.store.lock().await;
        let data = store.data();
        let mut due = Due::default();
        for order in data.orders.values() {
            let grant = order.grant.as_ref();
            if order.delivery.is_some() && grant.is_some_and(|g| has_ended(g, now)) {
                due.ended.push(order.number);
            }
            match (&order.state, grant) {
                (OrderState::Granted, Some(g)) if !has_ended(g, now) => {
                    due.values.push((order.number, g.grant_id.clone()));
                }
                (OrderState::Waiting, _) => {
                    if let Some(request) = &order.request_id {
                        due.waiting.push((order.number, request.clone()));
                    }
                }
                _ => {}
            }
            if let (Some(erasure), Some(g)) = (&order.erasure, grant)
                && erasure.confirmation == Confirmation::Pending
            {
                due.confirm.push((Some(order.number), g.grant_id.clone()));
            }
        }
        due.confirm
            .extend(data.unheld.iter().map(|g| (None, g.clone())));
        checked.retain(|number, _| due.waiting.iter().any(|(n, _)| n == number));
        due
    };
    let mut ok = true;
    if !due.ended.is_empty() {
        let ended = app
            .store
            .lock()
            .await
            .update(|data| {
                for number in &due.ended {
                    if let Some(order) = data.orders.get_mut(number) {
                        order.erase(now, "the grant ended");
                        order.log(now, "the grant ended: personal data deleted");
                    }
                }
            })
            .await;
        if let Err(e) = ended {
            tracing::error!(%e, "could not delete the data of ended grants");
            ok = false;
        }
    }
    for (number, grant_id) in due.values {
        ok &= read_values(app, number, &grant_id).await;
    }
    for (number, grant_id) in due.confirm {
        ok &= confirm(app, number, &grant_id).await;
    }
    if let Some(every) = app.reconcile {
        for (number, request_id) in due.waiting {
            if checked.get(&number).is_some_and(|at| at.elapsed() < every) {
                continue;
            }
            checked.insert(number, Instant::now());
            ok &= reconcile(app, number, &request_id).await;
        }
    }
    ok
}

fn has_ended(grant: &Grant, now: u64) -> bool {
    grant
        .expires_at
        .as_deref()
        .and_then(|at| humantime::parse_rfc3339_weak(at).ok())
        .and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok())
        .is_some_and(|at| at.as_secs() <= now)
}

/// Reads the values of order `number` under `grant_id` and fills it.
async fn read_values(app: &App, number: u64, grant_id: &str) -> bool {
    let result = app.node.values(grant_id).await;
    let now = unix_now();
    let mut store = app.store.lock().await;
    let saved = store
        .update(|data| {
            let Some(order) = data.orders.get_mut(&number) else {
                return;
            };
            // A webhook may have ended the grant while the values were read: then
            // they are not written, ever.
            if order.state != OrderState::Granted || !order.has_grant(grant_id) {
                return;
            }
            match &result {
                Ok(values) => {
                    let delivery: std::collections::BTreeMap<_, _> = values
                        .iter()
                        .filter(|(name, _)| FIELDS.iter().any(|(asked, _)| asked == name))
                        .map(|(name, value)| (name.clone(), value.clone()))
                        .collect();
                    order.log(now, format!("read {} fields from the node", delivery.len()));
                    order.delivery = Some(delivery);
                    order.state = OrderState::Filled;
                }
                Err(e) if e.is_transient() => {}
                Err(e) => {
                    order.log(now, "could not read the values");
                    order.state = OrderState::Failed {
                        error: e.to_string(),
                    };
                }
            }
        })
        .await;
    match (result, saved) {
        (_, Err(e)) => {
            tracing::error!(order = number, %e, "could not save the order");
            false
        }
        (Err(e), Ok(())) => {
            tracing::warn!(order = number, %e, "could not read the granted values");
            !e.is_transient()
        }
        (Ok(_), Ok(())) => {
            tracing::info!(order = number, "order filled");
            true
        }
    }
}

/// Tells the node the data under `grant_id` is gone.
async fn confirm(app: &App, number: Option<u64>, grant_id: &str) -> bool {
    let answer = match app.node.confirm_erased(grant_id).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(grant = %grant_id, %e, "could not confirm the erasure; will retry");
            return false;
        }
    };
    let now = unix_now();
    let saved = app
        .store
        .lock()
        .await
        .update(|data| {
            data.unheld.remove(grant_id);
            let Some(order) = number.and_then(|n| data.orders.get_mut(&n)) else {
                return;
            };
            let (confirmation, what) = match answer {
                Confirmed::Yes => (Confirmation::Confirmed, "erasure confirmed to the node"),
                Confirmed::NotHeld => (
                    Confirmation::NotHeld,
                    "the node no longer holds the grant: nothing to confirm",
                ),
                Confirmed::NothingWaiting => (
                    Confirmation::NothingWaiting,
                    "the node waited for no confirmation: nothing to confirm",
                ),
            };
            if let Some(erasure) = &mut order.erasure {
                erasure.confirmation = confirmation;
            }
            order.log(now, what);
        })
        .await;
    match saved {
        Ok(()) => {
            tracing::info!(grant = %grant_id, ?answer, "erasure confirmed");
            true
        }
        Err(e) => {
            tracing::error!(%e, "could not save the confirmation");
            false
        }
    }
}

/// Asks the node where the request of order `number` stands, and applies it.
async fn reconcile(app: &App, number: u64, request_id: &str) -> bool {
    let lifecycle = match app.node.lifecycle(request_id).await {
        Ok(Some(lifecycle)) => lifecycle,
        Ok(None) => return true,
        Err(e) => {
            tracing::debug!(%e, "could not ask about a waiting request");
            return !e.is_transient();
        }
    };
    if lifecycle == Lifecycle::Waiting {
        return true;
    }
    let now = unix_now();
    let saved = app
        .store
        .lock()
        .await
        .update(|data| {
            let Some(order) = data.orders.get_mut(&number) else {
                return;
            };
            if order.state != OrderState::Waiting {
                return;
            }
            order.log(now, "asked the node: the request was answered");
            match lifecycle {
                Lifecycle::Waiting => {}
                Lifecycle::Granted { grant_id } => {
                    order.state = OrderState::Granted;
                    order.grant = Some(Grant {
                        grant_id,
                        expires_at: None,
                    });
                }
                Lifecycle::Refused { reason } => order.close(OrderState::Refused { reason }),
                Lifecycle::Expired => order.close(OrderState::Expired),
                Lifecycle::Failed { reason } => order.close(OrderState::Failed { error: reason }),
            }
        })
        .await;
    app.wake.notify_one();
    saved.is_ok()
}
