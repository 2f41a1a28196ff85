//! What each verified webhook does to the orders. Only the database changes here;
//! calls to the node (reading values, confirming erasures) are the worker's, so
//! the webhook is answered quickly.

use crate::{
    App,
    store::{Confirmation, Grant, MAX_ORDERS, OrderState, StoreError},
    webhook::{EndReason, Ended, Event},
};

/// Why an event was not handled; the node retries it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EventError {
    /// It names a request whose order is still being sent (its id not stored yet).
    #[error("the request is not known yet (an order is still being sent): retry shortly")]
    NotYet,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `event`, received as webhook `id`, at `now`.
pub(crate) async fn apply(app: &App, id: &str, event: Event, now: u64) -> Result<(), EventError> {
    let mut store = app.store.lock().await;
    match event {
        Event::GrantReceived(g) => store
            .update(|data| {
                let sending = data.any_sending();
                let Some(request_id) = &g.request_id else {
                    tracing::info!(grant = %g.grant_id, "a grant that names no request: not one of this shop's");
                    return Ok(());
                };
                let Some(order) = data.by_request(request_id) else {
                    return if sending {
                        Err(EventError::NotYet)
                    } else {
                        tracing::info!(request = %request_id, "a grant for a request this shop did not send");
                        Ok(())
                    };
                };
                order.log(
                    now,
                    format!(
                        "grant.received ({id}): {} granted until {}",
                        g.fields.join(", "),
                        g.expires_at
                    ),
                );
                match &order.state {
                    OrderState::Sending | OrderState::Waiting | OrderState::Failed { .. } => {
                        order.state = OrderState::Granted;
                        order.grant = Some(Grant {
                            grant_id: g.grant_id,
                            expires_at: Some(g.expires_at),
                        });
                    }
                    // Already granted (the request's answer said so first): the
                    // webhook adds the end time.
                    OrderState::Granted | OrderState::Filled if order.has_grant(&g.grant_id) => {
                        if let Some(grant) = &mut order.grant {
                            grant.expires_at = Some(g.expires_at);
                        }
                    }
                    other => {
                        tracing::warn!(order = order.number, state = other.name(), "a grant for an order no longer waiting: ignored");
                    }
                }
                Ok(())
            })
            .await??,
        Event::RequestRefused { request_id, reason } => {
            store
                .update(|data| {
                    let sending = data.any_sending();
                    let Some(order) = data.by_request(&request_id) else {
                        return if sending { Err(EventError::NotYet) } else { Ok(()) };
                    };
                    order.log(now, format!("request.refused ({id})"));
                    if order.state.is_open() {
                        order.close(OrderState::Refused { reason });
                    }
                    Ok(())
                })
                .await??;
        }
        Event::RequestExpired { request_id } => {
            store
                .update(|data| {
                    if let Some(order) = data.by_request(&request_id) {
                        order.log(now, format!("request.expired ({id})"));
                        if matches!(order.state, OrderState::Sending | OrderState::Waiting) {
                            order.close(OrderState::Expired);
                        }
                    }
                })
                .await?;
        }
        Event::UpdateReceived { grant_id } => {
            store
                .update(|data| {
                    if let Some(order) = data.by_grant(&grant_id) {
                        order.log(now, format!("update.received ({id}): reading the new values"));
                        if order.state == OrderState::Filled {
                            order.state = OrderState::Granted;
                        }
                    }
                })
                .await?;
        }
        Event::Ended(ended) => {
            let erased = store.update(|data| end(data, id, &ended, now)).await?;
            tracing::info!(
                event = ended.reason.event_type(),
                grants = ended.grant_ids.len(),
                erased,
                confirm = ended.confirm_erasure,
                "personal data deleted"
            );
        }
        Event::Other(kind) => tracing::info!(%kind, %id, "webhook received"),
    }
    drop(store);
    app.wake.notify_one();
    Ok(())
}

/// Deletes the personal data under the grants `ended` names; marks the erasures
/// to confirm. Returns how many orders held personal data.
fn end(data: &mut crate::store::Data, id: &str, ended: &Ended, now: u64) -> usize {
    let why = match ended.reason {
        EndReason::Revoked => "you revoked the grant",
        EndReason::Expired => "the grant expired",
        EndReason::EraseRequested => "you asked for erasure",
    };
    let mut erased = 0;
    for grant_id in &ended.grant_ids {
        let Some(order) = data.by_grant(grant_id) else {
            // Nothing held under it: if the node waits for a word, say so.
            if ended.confirm_erasure {
                if data.unheld.len() < MAX_ORDERS {
                    data.unheld.insert(grant_id.clone());
                } else {
                    tracing::warn!(grant = %grant_id, "too many erasures to confirm: this one is dropped");
                }
            }
            continue;
        };
        if order.erase(now, why) {
            erased += 1;
        }
        order.log(
            now,
            format!(
                "{} ({id}): personal data deleted",
                ended.reason.event_type()
            ),
        );
        if let Some(erasure) = &mut order.erasure
            && ended.confirm_erasure
            && erasure.confirmation == Confirmation::NotAsked
        {
            erasure.confirmation = Confirmation::Pending;
        }
    }
    erased
}
