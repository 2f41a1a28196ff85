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

/// The webhooks (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    responses((status = 200, description = "The webhooks.", body = [views::Webhook]))
)]
pub(super) async fn list_webhooks(State(state): State<ApiState>) -> ApiResult<Vec<views::Webhook>> {
    let webhooks = state.passport.webhooks().await?;
    Ok(Json(webhooks.iter().map(views::Webhook::from).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookBody)]
pub(super) struct AddBody {
    url: String,
    /// `whsec_…`; default: a fresh one, answered once.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^whsec_")]
    secret: Option<WebhookSecret>,
    /// Default: every event type.
    #[serde(default)]
    events: Vec<String>,
}

/// Adds a webhook. Its secret is answered this once.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body = AddBody,
    responses(
        (status = 200, description = "Added.", body = views::WebhookCreated),
        (status = 400, description = "A URL that is not http(s), an unknown event, a bad secret, a URL already used, too many webhooks, or a body that is not JSON.", body = views::ErrorBody),
    )
)]
pub(super) async fn add_webhook(
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

/// Removes a webhook added by the API, and the events waiting for it.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "Removed.", body = views::Webhook),
        (status = 400, description = "It comes from config.toml.", body = views::ErrorBody),
        (status = 404, description = "No such webhook.", body = views::ErrorBody),
    )
)]
pub(super) async fn remove_webhook(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::Webhook> {
    let removed = state.passport.remove_webhook(id).await?;
    Ok(Json(views::Webhook::from(&removed)))
}

/// Posts a `webhook.test` event now and answers how it went.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/test",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id.")),
    responses(
        (status = 200, description = "The attempt (look at its outcome).", body = DeliveryAttempt),
        (status = 404, description = "No such webhook.", body = views::ErrorBody),
    )
)]
pub(super) async fn test_webhook(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<DeliveryAttempt> {
    Ok(Json(state.passport.test_webhook(id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct LogQuery {
    /// At most this many attempts, newest first (default 100, at most 1000).
    limit: Option<usize>,
}

/// The last delivery attempts, newest first.
#[utoipa::path(
    get,
    path = "/v1/webhooks/log",
    tag = "webhooks",
    params(LogQuery),
    responses(
        (status = 200, description = "The attempts.", body = [DeliveryAttempt]),
        (status = 400, description = "A bad query.", body = views::ErrorBody),
    )
)]
pub(super) async fn webhook_log(
    State(state): State<ApiState>,
    Query(query): Query<LogQuery>,
) -> ApiResult<Vec<DeliveryAttempt>> {
    let limit = query.limit.unwrap_or(100).min(1000);
    Ok(Json(state.passport.webhook_log(limit).await?))
}
