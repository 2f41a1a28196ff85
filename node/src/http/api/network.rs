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

pub(super) async fn status(State(state): State<ApiState>) -> ApiResult<views::Status> {
    let net = state.net()?.status().await?;
    Ok(Json(views::Status::new(
        state.passport.id(),
        state.page_url(),
        &net,
    )))
}

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
