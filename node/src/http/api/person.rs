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
        state::{ApiState, blocking, deliver_all, now},
        views,
    },
    person::Approval,
};

pub(super) async fn inbox(State(state): State<ApiState>) -> ApiResult<Vec<views::InboxItem>> {
    let items = blocking(move || state.node.inbox()).await?;
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
    let node = state.node.clone();
    let approval = Approval {
        only: body.only,
        duration_secs: body.duration_secs,
        always: body.always,
    };
    let out = blocking(move || node.approve(&id, approval, now())).await?;
    Ok(Json(views::DeliveringTo {
        delivering_to: deliver_all(&state, vec![out]),
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
    let node = state.node.clone();
    let out = blocking(move || node.deny(&id, &reason, now())).await?;
    Ok(Json(views::DeliveringTo {
        delivering_to: deliver_all(&state, vec![out]),
    }))
}

pub(super) async fn grants(State(state): State<ApiState>) -> ApiResult<Vec<views::IssuedGrant>> {
    let at = now();
    let grants = blocking(move || state.node.grants()).await?;
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
    let id: GrantId = parse(&id, "grant id")?;
    let node = state.node.clone();
    let out = blocking(move || node.revoke(&id, now())).await?;
    Ok(Json(views::DeliveringTo {
        delivering_to: deliver_all(&state, vec![out]),
    }))
}

pub(super) async fn erase(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::DeliveringTo> {
    let merchant: PassportId = parse(&id, "merchant id")?;
    let node = state.node.clone();
    let out = blocking(move || node.erase(&merchant, now())).await?;
    Ok(Json(views::DeliveringTo {
        delivering_to: deliver_all(&state, vec![out]),
    }))
}

pub(super) async fn policies(State(state): State<ApiState>) -> ApiResult<Vec<Policy>> {
    let policies = blocking(move || state.node.policies()).await?;
    Ok(Json(policies))
}

pub(super) async fn add_policy(
    State(state): State<ApiState>,
    Json(policy): Json<Policy>,
) -> ApiResult<Policy> {
    let node = state.node.clone();
    let added = blocking(move || node.add_policy(policy, now())).await?;
    Ok(Json(added))
}

pub(super) async fn remove_policy(
    State(state): State<ApiState>,
    Path(id): Path<u64>,
) -> ApiResult<views::Removed> {
    let node = state.node.clone();
    blocking(move || node.remove_policy(id, now())).await?;
    Ok(Json(views::Removed { removed: id }))
}
