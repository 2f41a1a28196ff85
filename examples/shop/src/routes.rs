//! The shop's HTTP routes:
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the checkout page |
//! | `POST /orders` | form `passport_id`: makes an order, asks the node, redirects to it |
//! | `GET /orders/{key}` | the order's page |
//! | `GET /orders/{key}/status` | the order as JSON |
//! | `POST /webhooks/passport` | the merchant node's webhooks |

use std::sync::Arc;

use axum::{
    Form, Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;

use crate::{
    App, FIELDS, ITEM, events,
    node::Lifecycle,
    pages, passport_id,
    store::{Grant, OrderState},
    unix_now,
    webhook::{Event, WebhookError},
};

/// Largest form accepted.
const MAX_FORM: usize = 4 * 1024;
/// Largest webhook body accepted (they carry ids and field names only).
const MAX_WEBHOOK: usize = 64 * 1024;

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(checkout))
        .route(
            "/orders",
            post(place).layer(DefaultBodyLimit::max(MAX_FORM)),
        )
        .route("/orders/{key}", get(order))
        .route("/orders/{key}/status", get(status))
        .route(
            "/webhooks/passport",
            post(webhook).layer(DefaultBodyLimit::max(MAX_WEBHOOK)),
        )
        .with_state(app)
}

async fn checkout() -> Html<String> {
    Html(pages::checkout("", None).into_string())
}

#[derive(Deserialize)]
struct Checkout {
    passport_id: String,
}

/// Makes the order, sends the request, and shows the order (303).
async fn place(State(app): State<Arc<App>>, Form(form): Form<Checkout>) -> Response {
    let person = match passport_id(&form.passport_id) {
        Ok(id) => id,
        Err(problem) => {
            let page = pages::checkout(&form.passport_id, Some(problem));
            return (StatusCode::BAD_REQUEST, Html(page.into_string())).into_response();
        }
    };
    let order = match app
        .store
        .lock()
        .await
        .create(ITEM, &person, unix_now())
        .await
    {
        Ok(order) => order,
        Err(e) => {
            tracing::error!(%e, "could not make an order");
            let page = pages::error(&e.to_string());
            return (StatusCode::SERVICE_UNAVAILABLE, Html(page.into_string())).into_response();
        }
    };
    let purpose = format!("delivery of order {}", order.number);
    let sent = app
        .node
        .request(&person, &FIELDS, &purpose, app.grant_secs)
        .await;
    let now = unix_now();
    let number = order.number;
    let saved = app
        .store
        .lock()
        .await
        .update(|data| {
            let Some(order) = data.orders.get_mut(&number) else {
                return;
            };
            match sent {
                Ok(sent) => {
                    order.log(
                        now,
                        format!("request {} sent to the person's node", sent.request_id),
                    );
                    order.request_id = Some(sent.request_id);
                    // A webhook may have moved it on already; only Sending moves here.
                    if order.state == OrderState::Sending {
                        match sent.now {
                            Lifecycle::Granted { grant_id } => {
                                order.state = OrderState::Granted;
                                order.grant = Some(Grant {
                                    grant_id,
                                    expires_at: None,
                                });
                            }
                            Lifecycle::Refused { reason } => {
                                order.close(OrderState::Refused { reason });
                            }
                            _ => order.state = OrderState::Waiting,
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(order = number, %e, "the request could not be sent");
                    order.log(now, "the request could not be sent");
                    order.close(OrderState::Failed {
                        error: e.to_string(),
                    });
                }
            }
        })
        .await;
    if let Err(e) = saved {
        tracing::error!(order = number, %e, "could not save the order");
    }
    app.wake.notify_one();
    Redirect::to(&format!("/orders/{}", order.key)).into_response()
}

async fn order(State(app): State<Arc<App>>, Path(key): Path<String>) -> Response {
    match app.store.lock().await.by_key(&key) {
        Some(order) => Html(pages::order(order).into_string()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html(pages::not_found().into_string()),
        )
            .into_response(),
    }
}

async fn status(State(app): State<Arc<App>>, Path(key): Path<String>) -> Response {
    match app.store.lock().await.by_key(&key) {
        Some(order) => Json(order).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such order: check the address"})),
        )
            .into_response(),
    }
}

/// `POST /webhooks/passport`: checks the delivery, applies it, answers 204.
async fn webhook(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    let id = match app.verifier.verify(&headers, &body, now) {
        Ok(id) => id,
        Err(e @ WebhookError::AlreadyHandled(_)) => {
            tracing::info!(%e, "webhook retried by the node; handled before");
            return (e.status(), Json(json!({"ok": true}))).into_response();
        }
        Err(e) => {
            tracing::warn!(%e, "webhook refused");
            return (e.status(), Json(json!({"error": e.to_string()}))).into_response();
        }
    };
    let event = match Event::parse(&body) {
        Ok(event) => event,
        Err(e) => {
            // Signed by the node, yet not understood: a retry would not help.
            tracing::warn!(%id, %e, "webhook not understood");
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": e.to_string()})),
            )
                .into_response();
        }
    };
    match events::apply(&app, &id, event, unix_now()).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            // Not handled: let the node's retry through.
            app.verifier.forget(&id);
            tracing::warn!(%id, %e, "webhook not handled; the node will retry");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": e.to_string()})),
            )
                .into_response()
        }
    }
}
