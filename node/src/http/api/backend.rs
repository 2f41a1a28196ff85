//! What a shop's backend follows: its requests' lifecycle, erasures waiting for
//! its confirmation, proof of consent, and the outbox.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use passport_protocol::MessageId;
use serde::Deserialize;

use super::{ApiResult, grant_id, parse};
use crate::http::{
    state::{ApiError, ApiState},
    views,
};

/// Most requests one list answers with.
const MAX_LIST: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestsQuery {
    /// Only requests in this state.
    state: Option<String>,
    /// At most this many, newest first (default and most: 1000).
    limit: Option<usize>,
}

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

pub(super) async fn request(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::SentRequest> {
    let id: MessageId = parse(&id, "request id")?;
    Ok(Json(state.passport.request_state(id).await?.into()))
}

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

/// The signed decision, `application/cose`: verify with `passport message verify`.
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

pub(super) async fn erasures(
    State(state): State<ApiState>,
) -> ApiResult<Vec<crate::merchant::AwaitingErasure>> {
    Ok(Json(state.passport.unconfirmed_erasures().await?))
}

pub(super) async fn outbox(State(state): State<ApiState>) -> ApiResult<Vec<views::Outgoing>> {
    let outbox = state.passport.outbox().await?;
    Ok(Json(outbox.iter().map(views::Outgoing::from).collect()))
}
