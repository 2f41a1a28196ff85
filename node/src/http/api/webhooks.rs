//! Webhooks: list, add, remove, test, and the delivery log.

use axum::{
    Json,
    extract::{Path, Query, State},
};
use serde::Deserialize;

use super::ApiResult;
use crate::{
    http::{state::ApiState, views},
    webhook::{DeliveryAttempt, WebhookSecret, WebhookSettings},
};

pub(super) async fn list(State(state): State<ApiState>) -> ApiResult<Vec<views::Webhook>> {
    let webhooks = state.passport.webhooks().await?;
    Ok(Json(webhooks.iter().map(views::Webhook::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AddBody {
    url: String,
    /// `whsec_…`; default: a fresh one, answered once.
    #[serde(default)]
    secret: Option<WebhookSecret>,
    /// Default: every event type.
    #[serde(default)]
    events: Vec<String>,
}

pub(super) async fn add(
    State(state): State<ApiState>,
    Json(body): Json<AddBody>,
) -> ApiResult<views::WebhookCreated> {
    let settings = WebhookSettings {
        url: body.url,
        secret: body.secret.unwrap_or_else(WebhookSecret::generate),
        events: body.events,
    };
    let (webhook, secret) = state.passport.add_webhook(settings).await?;
    Ok(Json(views::WebhookCreated {
        webhook: views::Webhook::from(&webhook),
        secret,
    }))
}

pub(super) async fn remove(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::Webhook> {
    let removed = state.passport.remove_webhook(id).await?;
    Ok(Json(views::Webhook::from(&removed)))
}

pub(super) async fn test(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<DeliveryAttempt> {
    Ok(Json(state.passport.test_webhook(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogQuery {
    /// At most this many attempts, newest first (default 100, at most 1000).
    limit: Option<usize>,
}

pub(super) async fn log(
    State(state): State<ApiState>,
    Query(query): Query<LogQuery>,
) -> ApiResult<Vec<DeliveryAttempt>> {
    let limit = query.limit.unwrap_or(100).min(1000);
    Ok(Json(state.passport.webhook_log(limit).await?))
}
