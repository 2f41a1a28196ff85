//! The merchant's side: sending a request, grants received, their values, fetch.

use std::time::Duration;

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{FieldName, FieldRequest, Offer, PassportId};
use serde::Deserialize;

use super::{ApiResult, parse};
use crate::{
    http::{
        state::ApiState,
        views::{self, FieldValues, RequestOutcome},
    },
    merchant::RequestSpec,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestBody {
    to: String,
    /// The name the person sees. Default: `[merchant] name` from config.toml, else
    /// "unnamed merchant".
    #[serde(default)]
    requester_name: String,
    fields: Vec<FieldRequestBody>,
    purpose: String,
    duration_secs: u64,
    #[serde(default)]
    retention_secs: u64,
    #[serde(default)]
    offer: Option<Offer>,
    /// If the person must decide, wait up to this many seconds for the decision
    /// (at most 300). Default 0: answer "pending" at once.
    #[serde(default)]
    wait_secs: u64,
}

/// Longest wait a request may ask for.
const MAX_WAIT_SECS: u64 = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FieldRequestBody {
    name: FieldName,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default)]
    reason: String,
}

fn yes() -> bool {
    true
}

pub(super) async fn send_request(
    State(state): State<ApiState>,
    Json(body): Json<RequestBody>,
) -> ApiResult<RequestOutcome> {
    let to: PassportId = parse(&body.to, "to")?;
    let wait = Duration::from_secs(body.wait_secs.min(MAX_WAIT_SECS));
    let spec = RequestSpec {
        requester_name: body.requester_name,
        fields: body
            .fields
            .into_iter()
            .map(|f| FieldRequest {
                name: f.name,
                required: f.required,
                reason: f.reason,
            })
            .collect(),
        purpose: body.purpose,
        duration_secs: body.duration_secs,
        retention_secs: body.retention_secs,
        offer: body.offer,
        reply_to: Vec::new(),
    };
    let outcome = state.passport.request(to, spec, wait).await?;
    Ok(Json(outcome.into()))
}

pub(super) async fn received(
    State(state): State<ApiState>,
) -> ApiResult<Vec<views::ReceivedGrant>> {
    let grants = state.passport.received().await?;
    Ok(Json(
        grants.iter().map(views::ReceivedGrant::from).collect(),
    ))
}

pub(super) async fn received_values(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<FieldValues> {
    let id = super::grant_id(&state, &id).await?;
    Ok(Json(state.passport.open_grant(id).await?))
}

pub(super) async fn fetch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<FieldValues> {
    let id = super::grant_id(&state, &id).await?;
    Ok(Json(state.passport.fetch(id).await?))
}
