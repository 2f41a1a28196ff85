//! The merchant's side: sending a request, grants received, their values, fetch.

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{FieldName, FieldRequest, GrantId, Offer, PassportId};
use serde::Deserialize;

use super::{ApiResult, parse};
use crate::{
    error::NodeError,
    http::{
        state::{ApiError, ApiState, blocking, now},
        views::{self, FieldValues, RequestOutcome, RequestResult},
    },
    merchant::RequestSpec,
    net::{self, NetError},
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestBody {
    to: String,
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

/// Sends a request and stores the decision that comes straight back, if any.
async fn send_prepared(
    state: &ApiState,
    to: PassportId,
    bytes: Vec<u8>,
) -> Result<net::Response, ApiError> {
    match state.net()?.send_to(to, bytes).await? {
        net::Response::Message(decision) => {
            let node = state.node.clone();
            let decision = blocking(move || node.receive(&decision, now()).map(|_| decision));
            Ok(net::Response::Message(decision.await?))
        }
        other => Ok(other),
    }
}

pub(super) async fn send_request(
    State(state): State<ApiState>,
    Json(body): Json<RequestBody>,
) -> ApiResult<RequestOutcome> {
    let to: PassportId = parse(&body.to, "to")?;
    let wait_secs = body.wait_secs.min(MAX_WAIT_SECS);
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
    let node = state.node.clone();
    let prepared = blocking(move || node.prepare_request(to, spec, now())).await?;
    let request_id = prepared.request_id;
    // The request's record becomes durable with the answer's when one comes back
    // (one flush instead of two); in every case it is durable before we reply.
    let sent = send_prepared(&state, to, prepared.bytes).await;
    let node = state.node.clone();
    blocking(move || node.settle(prepared.unsettled)).await?;
    match sent? {
        net::Response::Message(_) => {
            let sent = blocking({
                let node = state.node.clone();
                move || node.sent_request(&request_id)
            })
            .await?;
            Ok(Json(RequestOutcome {
                request_id,
                result: sent.map(|s| s.status.into()),
            }))
        }
        net::Response::Pending(_) => {
            // The decision arrives later as its own message; poll our record of the
            // request for it, within the wait asked for.
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait_secs);
            loop {
                let node = state.node.clone();
                let sent = blocking(move || node.sent_request(&request_id)).await?;
                let decided = sent
                    .as_ref()
                    .is_some_and(|s| !matches!(s.status, crate::merchant::RequestStatus::Waiting));
                if decided || tokio::time::Instant::now() >= deadline {
                    let result = match sent.map(|s| s.status) {
                        Some(crate::merchant::RequestStatus::Waiting) | None => {
                            RequestResult::Pending
                        }
                        Some(decided) => decided.into(),
                    };
                    return Ok(Json(RequestOutcome {
                        request_id,
                        result: Some(result),
                    }));
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        net::Response::Accepted => Ok(Json(RequestOutcome {
            request_id,
            result: Some(RequestResult::Accepted),
        })),
        net::Response::Busy => Err(NetError::Busy.into()),
        net::Response::AlreadyReceived => Ok(Json(RequestOutcome {
            request_id,
            result: Some(RequestResult::AlreadyReceived),
        })),
        net::Response::Refused(reason) => Err(NetError::Refused(reason).into()),
    }
}

pub(super) async fn received(
    State(state): State<ApiState>,
) -> ApiResult<Vec<views::ReceivedGrant>> {
    let grants = blocking(move || state.node.received()).await?;
    Ok(Json(
        grants.iter().map(views::ReceivedGrant::from).collect(),
    ))
}

pub(super) async fn received_values(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<FieldValues> {
    let id: GrantId = parse(&id, "grant id")?;
    let values = blocking(move || state.node.open_grant(&id, now())).await?;
    Ok(Json(values))
}

pub(super) async fn fetch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<FieldValues> {
    let id: GrantId = parse(&id, "grant id")?;
    let client = state.net()?.clone();
    let node = state.node.clone();
    let (person, bytes) = blocking(move || {
        let person = node
            .received_grant(&id)?
            .ok_or(NodeError::UnknownGrant(id))?
            .person;
        Ok((person, node.fetch(&id, now())?))
    })
    .await?;
    match client.send_to(person, bytes).await? {
        net::Response::Message(update) => {
            let node = state.node.clone();
            blocking(move || node.receive(&update, now())).await?;
        }
        net::Response::Refused(reason) => return Err(NetError::Refused(reason).into()),
        net::Response::Busy => return Err(NetError::Busy.into()),
        other => {
            return Err(
                NetError::Unreachable(format!("unexpected answer to a fetch: {other:?}")).into(),
            );
        }
    }
    let node = state.node.clone();
    let values = blocking(move || node.open_grant(&id, now())).await?;
    Ok(Json(values))
}
