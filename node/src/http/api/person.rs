//! The person's side: the inbox and its answers, grants issued and their
//! revocation, erasure, standing policies.

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{FieldName, GrantId, MessageId, PassportId};
use serde::Deserialize;

use super::{ApiResult, parse};
use crate::{
    consent::Policy,
    http::{
        state::{ApiState, now},
        views,
    },
    person::Approval,
};

/// Requests waiting for the person's decision, oldest first.
#[utoipa::path(
    get,
    path = "/v1/inbox",
    tag = "person",
    responses((status = 200, description = "The inbox.", body = [views::InboxItem]))
)]
pub(super) async fn inbox(State(state): State<ApiState>) -> ApiResult<Vec<views::InboxItem>> {
    let items = state.passport.inbox().await?;
    Ok(Json(items.iter().map(views::InboxItem::from).collect()))
}

/// The optional body of `POST /v1/inbox/{id}/approve`; every member is optional.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub(super) struct ApproveBody {
    /// Release only these fields (each asked for, each with a value); `null`:
    /// every asked field the person has.
    only: Option<Vec<FieldName>>,
    /// Grant for at most this long, in seconds (capped at what was asked);
    /// `null`: as long as asked.
    duration_secs: Option<u64>,
    /// Also add a standing allow policy for this merchant: any purpose, every
    /// normal field, plus the granted fields that are sensitive.
    always: bool,
}

/// Grants a pending request, wholly or in part.
///
/// The grant is signed, stored and audited, then delivered in the background.
/// Without a body (and without `Content-Type`), grants every asked field the
/// person has, for as long as asked.
#[utoipa::path(
    post,
    path = "/v1/inbox/{id}/approve",
    tag = "person",
    params(("id" = MessageId, Path, description = "The request's id (an inbox item's `request_id`).")),
    request_body(content = Option<ApproveBody>, description = "Optional: what to grant; without it, every asked field the person has, for as long as asked."),
    responses(
        (status = 200, description = "Granted; the merchant it is delivered to.", body = views::DeliveringTo),
        (status = 400, description = "Not a request id, a choice that cannot be granted (a field not asked for, or none at all), or a body that is not JSON.", body = views::ErrorBody),
        (status = 404, description = "No such pending request (answered, expired or never received), or a chosen field the person has no value for.", body = views::ErrorBody),
    )
)]
pub(super) async fn approve(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Option<Json<ApproveBody>>,
) -> ApiResult<views::DeliveringTo> {
    let id: MessageId = parse(&id, "request id")?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let approval = Approval {
        only: body.only,
        duration_secs: body.duration_secs,
        always: body.always,
    };
    let sending = state.passport.approve(id, approval).await?;
    Ok(Json(views::DeliveringTo {
        delivering_to: vec![sending.to],
    }))
}

/// The optional body of `POST /v1/inbox/{id}/deny`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub(super) struct DenyBody {
    /// Shown to the merchant; default empty.
    reason: String,
}

/// Refuses a pending request.
///
/// The signed refusal is stored, audited and delivered in the background.
#[utoipa::path(
    post,
    path = "/v1/inbox/{id}/deny",
    tag = "person",
    params(("id" = MessageId, Path, description = "The request's id (an inbox item's `request_id`).")),
    request_body(content = Option<DenyBody>, description = "Optional: why."),
    responses(
        (status = 200, description = "Refused; the merchant it is delivered to.", body = views::DeliveringTo),
        (status = 400, description = "Not a request id, or a body that is not JSON.", body = views::ErrorBody),
        (status = 404, description = "No such pending request.", body = views::ErrorBody),
    )
)]
pub(super) async fn deny(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Option<Json<DenyBody>>,
) -> ApiResult<views::DeliveringTo> {
    let id: MessageId = parse(&id, "request id")?;
    let reason = body.map(|Json(b)| b.reason).unwrap_or_default();
    let sending = state.passport.deny(id, reason).await?;
    Ok(Json(views::DeliveringTo {
        delivering_to: vec![sending.to],
    }))
}

/// Grants this person issued, newest first.
#[utoipa::path(
    get,
    path = "/v1/grants",
    tag = "person",
    responses((status = 200, description = "The grants issued.", body = [views::IssuedGrant]))
)]
pub(super) async fn grants(State(state): State<ApiState>) -> ApiResult<Vec<views::IssuedGrant>> {
    let at = now();
    let grants = state.passport.grants().await?;
    Ok(Json(
        grants
            .iter()
            .map(|g| views::IssuedGrant::new(g, at))
            .collect(),
    ))
}

/// Revokes a grant.
///
/// The grant is marked revoked at once; the signed revocation is delivered in the
/// background, and the merchant's deletion receipt comes back to this node.
#[utoipa::path(
    post,
    path = "/v1/grants/{id}/revoke",
    tag = "person",
    params(("id" = GrantId, Path, description = "The grant's id.")),
    responses(
        (status = 200, description = "Revoked; the merchant it is delivered to.", body = views::DeliveringTo),
        (status = 400, description = "Not a grant id.", body = views::ErrorBody),
        (status = 404, description = "No such grant.", body = views::ErrorBody),
        (status = 410, description = "Already revoked, expired or erased.", body = views::ErrorBody),
    )
)]
pub(super) async fn revoke(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::DeliveringTo> {
    let id = super::grant_id(&state, &id).await?;
    let sending = state.passport.revoke(id).await?;
    Ok(Json(views::DeliveringTo {
        delivering_to: vec![sending.to],
    }))
}

/// Asks a merchant to erase everything it holds about this person.
///
/// Every live grant to it ends now; the erase request is delivered in the
/// background, and the merchant's deletion receipt is logged in the audit log.
#[utoipa::path(
    post,
    path = "/v1/merchants/{id}/erase",
    tag = "person",
    params(("id" = PassportId, Path, description = "The merchant's passport id.")),
    responses(
        (status = 200, description = "Asked; the merchant it is delivered to.", body = views::DeliveringTo),
        (status = 400, description = "Not a passport id.", body = views::ErrorBody),
    )
)]
pub(super) async fn erase(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::DeliveringTo> {
    let merchant: PassportId = parse(&id, "merchant id")?;
    let sending = state.passport.erase(merchant).await?;
    Ok(Json(views::DeliveringTo {
        delivering_to: vec![sending.to],
    }))
}

/// The standing policies, in id order.
#[utoipa::path(
    get,
    path = "/v1/policies",
    tag = "person",
    responses((status = 200, description = "The policies.", body = [Policy]))
)]
pub(super) async fn policies(State(state): State<ApiState>) -> ApiResult<Vec<Policy>> {
    Ok(Json(state.passport.policies().await?))
}

/// Adds a standing policy.
///
/// The node assigns `id` and `created_at` (send 0 or leave them out).
#[utoipa::path(
    post,
    path = "/v1/policies",
    tag = "person",
    request_body = Policy,
    responses((status = 200, description = "The policy as stored, with its id and creation time.", body = Policy))
)]
pub(super) async fn add_policy(
    State(state): State<ApiState>,
    Json(policy): Json<Policy>,
) -> ApiResult<Policy> {
    Ok(Json(state.passport.add_policy(policy).await?))
}

/// Removes a standing policy.
#[utoipa::path(
    delete,
    path = "/v1/policies/{id}",
    tag = "person",
    params(("id" = u64, Path, description = "The policy's id.")),
    responses(
        (status = 200, description = "Removed.", body = views::Removed),
        (status = 400, description = "Not an unsigned integer.", body = views::ErrorBody),
        (status = 404, description = "No such policy.", body = views::ErrorBody),
    )
)]
pub(super) async fn remove_policy(
    State(state): State<ApiState>,
    Path(id): Path<u64>,
) -> ApiResult<views::Removed> {
    state.passport.remove_policy(id).await?;
    Ok(Json(views::Removed { removed: id }))
}
