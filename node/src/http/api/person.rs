//! The person's side: the inbox and its answers, grants issued and their
//! revocation, erasure, standing policies.

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{FieldName, MessageId, PassportId};
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

pub(super) async fn inbox(State(state): State<ApiState>) -> ApiResult<Vec<views::InboxItem>> {
    let items = state.passport.inbox().await?;
    Ok(Json(items.iter().map(views::InboxItem::from).collect()))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(super) struct ApproveBody {
    only: Option<Vec<FieldName>>,
    duration_secs: Option<u64>,
    always: bool,
}

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

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(super) struct DenyBody {
    reason: String,
}

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

pub(super) async fn policies(State(state): State<ApiState>) -> ApiResult<Vec<Policy>> {
    Ok(Json(state.passport.policies().await?))
}

pub(super) async fn add_policy(
    State(state): State<ApiState>,
    Json(policy): Json<Policy>,
) -> ApiResult<Policy> {
    Ok(Json(state.passport.add_policy(policy).await?))
}

pub(super) async fn remove_policy(
    State(state): State<ApiState>,
    Path(id): Path<u64>,
) -> ApiResult<views::Removed> {
    state.passport.remove_policy(id).await?;
    Ok(Json(views::Removed { removed: id }))
}
