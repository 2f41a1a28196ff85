//! The audit log, its verification, and the signed messages it holds.

use axum::{
    Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use passport_protocol::MessageId;
use serde_json::json;

use super::{ApiResult, parse};
use crate::http::state::{ApiError, ApiState, blocking};

pub(super) async fn audit(State(state): State<ApiState>) -> ApiResult {
    let entries = blocking(move || state.node.audit_entries()).await?;
    Ok(Json(json!(
        entries
            .iter()
            .map(|e| json!({
                "seq": e.seq, "at": e.at, "event": e.event, "has_message": e.message.is_some(),
                "message_id": e.message.as_deref().and_then(|m| passport_protocol::decode_trusted(m).ok()).map(|m| m.claims.id),
            }))
            .collect::<Vec<_>>()
    )))
}

pub(super) async fn audit_verify(State(state): State<ApiState>) -> ApiResult {
    let report = blocking(move || state.node.verify_audit()).await?;
    Ok(Json(
        json!({ "intact": report.is_intact(), "entries": report.entries, "problems": report.problems }),
    ))
}

/// A sent or received message's raw COSE bytes, for an auditor.
pub(super) async fn message(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: MessageId = parse(&id, "message id")?;
    let bytes = blocking(move || state.node.message(&id))
        .await?
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("no message {id} in the audit log (see `passport audit` for message ids)"),
            )
        })?;
    Ok(([(header::CONTENT_TYPE, "application/cose")], bytes).into_response())
}
