//! The network: status, peers, Prometheus metrics.

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use super::ApiResult;
use crate::http::{
    state::{ApiError, ApiState},
    views,
};

/// The node's identity and network state.
#[utoipa::path(
    get,
    path = "/v1/status",
    tag = "network",
    responses(
        (status = 200, description = "The node's status.", body = views::Status),
        (status = 503, description = "The node's network is not running or has stopped.", body = views::ErrorBody),
    )
)]
pub(super) async fn status(State(state): State<ApiState>) -> ApiResult<views::Status> {
    let net = state.net()?.status().await?;
    Ok(Json(views::Status::new(
        state.passport.id(),
        state.page_url(),
        &net,
    )))
}

/// The peers connected now, one address per open connection.
#[utoipa::path(
    get,
    path = "/v1/peers",
    tag = "network",
    responses(
        (status = 200, description = "The peers connected now.", body = [views::Peer]),
        (status = 503, description = "The node's network is not running or has stopped.", body = views::ErrorBody),
    )
)]
pub(super) async fn peers(State(state): State<ApiState>) -> ApiResult<Vec<views::Peer>> {
    let peers = state.net()?.peers().await?;
    Ok(Json(
        peers
            .iter()
            .map(|(peer, addrs)| views::Peer {
                peer_id: peer.to_string(),
                addrs: addrs.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    ))
}

/// Prometheus metrics, in the OpenMetrics text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "network",
    responses(
        (status = 200, description = "The metrics.", body = String,
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
        (status = 503, description = "The node's network is not running or has stopped.", body = views::ErrorBody),
    )
)]
pub(super) async fn metrics(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let status = state.net()?.status().await?;
    let metrics = state
        .passport
        .metrics()
        .ok_or(crate::passport::PassportError::Offline)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(&status),
    )
        .into_response())
}
