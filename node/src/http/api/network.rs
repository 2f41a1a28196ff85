//! The network: status, peers, Prometheus metrics.

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::ApiResult;
use crate::http::state::{ApiError, ApiState};

pub(super) async fn status(State(state): State<ApiState>) -> ApiResult {
    let net = state.net()?.status().await?;
    Ok(Json(json!({
        "id": state.node.id(),
        "page": state.page_url(),
        "peer_id": net.peer_id.to_string(),
        "listen_addrs": net.listen_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "external_addrs": net.external_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "connected_peers": net.connected_peers,
        "routing_table_size": net.routing_table_size,
        "reachability": net.reachability.name(),
        "relay_addrs": net.relay_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "hole_punch_attempts": net.hole_punch_attempts,
        "hole_punch_successes": net.hole_punch_successes,
        "published": net.published,
        "rejected_records": net.rejected_records,
        "throttled": net.throttled,
        "dht_served": net.dht_served,
    })))
}

pub(super) async fn peers(State(state): State<ApiState>) -> ApiResult {
    let peers = state.net()?.peers().await?;
    Ok(Json(json!(
        peers
            .iter()
            .map(|(peer, addrs)| json!({
                "peer_id": peer.to_string(),
                "addrs": addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )))
}

pub(super) async fn metrics(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let status = state.net()?.status().await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&status),
    )
        .into_response())
}
