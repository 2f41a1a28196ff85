//! The audit log, its verification, and the signed messages it holds.

use axum::{
    Json,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use passport_protocol::MessageId;

use super::{ApiResult, parse};
use crate::http::{
    state::{ApiError, ApiState},
    views,
};

pub(super) async fn audit(State(state): State<ApiState>) -> ApiResult<Vec<views::AuditEntry>> {
    let entries = state.passport.audit().await?;
    Ok(Json(entries.iter().map(views::AuditEntry::from).collect()))
}

pub(super) async fn audit_verify(
    State(state): State<ApiState>,
) -> ApiResult<views::AuditVerification> {
    let report = state.passport.verify_audit().await?;
    Ok(Json(report.into()))
}

/// A sent or received message's raw COSE bytes, for an auditor.
pub(super) async fn message(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: MessageId = parse(&id, "message id")?;
    let bytes = state.passport.message(id).await?.ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no message {id} in the audit log (see `passport audit` for message ids)"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/cose")], bytes).into_response())
}
