//! The person's side: the inbox and its answers, grants issued and their
//! revocation, erasure, standing policies.

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{FieldName, GrantId, MessageId, PassportId};
use serde::Deserialize;
use serde_json::json;

use super::{ApiResult, parse};
use crate::{
    consent::Policy,
    http::state::{ApiState, blocking, deliver_all, now},
    person::Approval,
};

pub(super) async fn inbox(State(state): State<ApiState>) -> ApiResult {
    let items = blocking(move || state.node.inbox()).await?;
    Ok(Json(json!(items.iter().map(|i| json!({
        "request_id": i.pending.request_id,
        "sentence": i.sentence(),
        "merchant": i.pending.merchant,
        "merchant_name": i.request.requester_name,
        "merchant_name_verified": false,
        "petname": i.merchant.petname,
        "first_contact": i.pending.first_contact,
        "fields": i.request.fields.iter().map(|f| json!({ "name": f.name, "required": f.required, "reason": f.reason })).collect::<Vec<_>>(),
        "purpose": i.request.purpose,
        "duration_secs": i.request.duration_secs,
        "retention_secs": i.request.retention_secs,
        "offer": i.request.offer,
        "received_at": i.pending.received_at,
        "expires_at": i.pending.expires_at,
    })).collect::<Vec<_>>())))
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
) -> ApiResult {
    let id: MessageId = parse(&id, "request id")?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let node = state.node.clone();
    let approval = Approval {
        only: body.only,
        duration_secs: body.duration_secs,
        always: body.always,
    };
    let out = blocking(move || node.approve(&id, approval, now())).await?;
    Ok(Json(
        json!({ "delivering_to": deliver_all(&state, vec![out]) }),
    ))
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
) -> ApiResult {
    let id: MessageId = parse(&id, "request id")?;
    let reason = body.map(|Json(b)| b.reason).unwrap_or_default();
    let node = state.node.clone();
    let out = blocking(move || node.deny(&id, &reason, now())).await?;
    Ok(Json(
        json!({ "delivering_to": deliver_all(&state, vec![out]) }),
    ))
}

pub(super) async fn grants(State(state): State<ApiState>) -> ApiResult {
    let at = now();
    let grants = blocking(move || state.node.grants()).await?;
    Ok(Json(json!(grants.iter().map(|g| json!({
        "grant_id": g.grant_id, "merchant": g.merchant, "fields": g.fields, "terms": g.terms,
        "issued_at": g.issued_at, "expires_at": g.expires_at, "live": g.is_live(at),
        "revoked_at": g.revoked_at, "receipt": g.receipt,
    })).collect::<Vec<_>>())))
}

pub(super) async fn revoke(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let id: GrantId = parse(&id, "grant id")?;
    let node = state.node.clone();
    let out = blocking(move || node.revoke(&id, now())).await?;
    Ok(Json(
        json!({ "delivering_to": deliver_all(&state, vec![out]) }),
    ))
}

pub(super) async fn erase(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let merchant: PassportId = parse(&id, "merchant id")?;
    let node = state.node.clone();
    let out = blocking(move || node.erase(&merchant, now())).await?;
    Ok(Json(
        json!({ "delivering_to": deliver_all(&state, vec![out]) }),
    ))
}

pub(super) async fn policies(State(state): State<ApiState>) -> ApiResult {
    let policies = blocking(move || state.node.policies()).await?;
    Ok(Json(json!(policies)))
}

pub(super) async fn add_policy(
    State(state): State<ApiState>,
    Json(policy): Json<Policy>,
) -> ApiResult {
    let node = state.node.clone();
    let added = blocking(move || node.add_policy(policy, now())).await?;
    Ok(Json(json!(added)))
}

pub(super) async fn remove_policy(State(state): State<ApiState>, Path(id): Path<u64>) -> ApiResult {
    let node = state.node.clone();
    blocking(move || node.remove_policy(id, now())).await?;
    Ok(Json(json!({ "removed": id })))
}
