//! What a shop's backend follows: its requests' lifecycle, erasures waiting for
//! its confirmation, proof of consent, and the outbox.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use passport_protocol::{GrantId, MessageId};
use serde::Deserialize;

use super::{ApiResult, grant_id, parse};
use crate::http::{
    state::{ApiError, ApiState},
    views,
};

/// Most requests one list answers with.
const MAX_LIST: usize = 1000;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct RequestsQuery {
    /// Only requests in this state.
    state: Option<String>,
    /// At most this many, newest first (default and most: 1000).
    limit: Option<usize>,
}

/// Requests this merchant sent, newest first, each with where it stands.
#[utoipa::path(
    get,
    path = "/v1/requests",
    tag = "merchant",
    params(RequestsQuery),
    responses(
        (status = 200, description = "The requests.", body = [views::SentRequest]),
        (status = 400, description = "An unknown state, or a bad query.", body = views::ErrorBody),
    )
)]
pub(super) async fn requests(
    State(state): State<ApiState>,
    Query(query): Query<RequestsQuery>,
) -> ApiResult<Vec<views::SentRequest>> {
    let limit = query.limit.unwrap_or(MAX_LIST).min(MAX_LIST);
    let sent = state.passport.requests(query.state, limit).await?;
    Ok(Json(
        sent.into_iter().map(views::SentRequest::from).collect(),
    ))
}

/// One request this merchant sent and where it stands: sending, queued (at the
/// person's mailboxes), waiting, granted (with the grant), refused (with the
/// reason), expired or failed (why).
#[utoipa::path(
    get,
    path = "/v1/requests/{id}",
    tag = "merchant",
    params(("id" = MessageId, Path, description = "The request's id.")),
    responses(
        (status = 200, description = "The request.", body = views::SentRequest),
        (status = 400, description = "Not a request id.", body = views::ErrorBody),
        (status = 404, description = "This node sent no such request.", body = views::ErrorBody),
    )
)]
pub(super) async fn request(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::SentRequest> {
    let id: MessageId = parse(&id, "request id")?;
    Ok(Json(state.passport.request_state(id).await?.into()))
}

/// The backend erased its own copies of a grant's data: the node signs the
/// deletion receipt, saying the backend confirmed, and sends it to the person.
#[utoipa::path(
    post,
    path = "/v1/grants/{id}/erased",
    tag = "merchant",
    params(("id" = GrantId, Path, description = "The grant's id, or its decision's.")),
    responses(
        (status = 200, description = "Confirmed; the receipt is on its way.", body = views::ErasureConfirmed),
        (status = 400, description = "Not a grant id.", body = views::ErrorBody),
        (status = 404, description = "This node holds no such grant.", body = views::ErrorBody),
        (status = 409, description = "No erasure of this grant waits for confirmation.", body = views::ErrorBody),
    )
)]
pub(super) async fn confirm_erasure(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::ErasureConfirmed> {
    let grant = grant_id(&state, &id).await?;
    let sending = state.passport.confirm_erasure(grant).await?;
    Ok(Json(views::ErasureConfirmed {
        grant_id: grant,
        confirmed: true,
        receipt_to: sending.to,
    }))
}

/// Proof of consent: the person's signed decision that granted it, as
/// `application/cose`; verify it offline with `passport message verify` or any
/// COSE library. Kept after erasure (its sealed values then open for no one).
#[utoipa::path(
    get,
    path = "/v1/grants/{id}/proof",
    tag = "merchant",
    params(("id" = GrantId, Path, description = "The grant's id, or its decision's.")),
    responses(
        (status = 200, description = "The signed decision.", body = super::audit::Cose, content_type = "application/cose"),
        (status = 400, description = "Not a grant id.", body = views::ErrorBody),
        (status = 404, description = "No such grant.", body = views::ErrorBody),
        (status = 410, description = "A grant received before proofs were kept, since erased.", body = views::ErrorBody),
    )
)]
pub(super) async fn proof(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let grant = grant_id(&state, &id).await?;
    let bytes = state.passport.grant_proof(grant).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/cose".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"grant-{grant}.cose\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Erasures the node did whose deletion receipt waits for the backend's
/// confirmation (`[merchant] confirm_erasure`), oldest first.
#[utoipa::path(
    get,
    path = "/v1/erasures",
    tag = "merchant",
    responses((status = 200, description = "The erasures waiting.", body = [views::AwaitingErasure]))
)]
pub(super) async fn erasures(
    State(state): State<ApiState>,
) -> ApiResult<Vec<views::AwaitingErasure>> {
    let awaiting = state.passport.unconfirmed_erasures().await?;
    Ok(Json(
        awaiting.iter().map(views::AwaitingErasure::from).collect(),
    ))
}

/// Messages made and not yet delivered (revocations, erase requests, receipts);
/// each stays until delivered or, once expired, given up with an audit entry.
#[utoipa::path(
    get,
    path = "/v1/outbox",
    tag = "audit",
    responses((status = 200, description = "The messages waiting.", body = [views::Outgoing]))
)]
pub(super) async fn outbox(State(state): State<ApiState>) -> ApiResult<Vec<views::Outgoing>> {
    let outbox = state.passport.outbox().await?;
    Ok(Json(outbox.iter().map(views::Outgoing::from).collect()))
}
