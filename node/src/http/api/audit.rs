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
    let bytes = match state.passport.message(id).await? {
        Some(bytes) => bytes,
        // A grant is named by its id as well as by its decision's.
        None => match state.passport.grant_named(*id.as_bytes()).await {
            Ok(grant) => state.passport.grant_proof(grant).await.ok(),
            Err(_) => None,
        }
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!(
                    "no message {id} in the audit log, and no grant {id} (see `passport audit` for message ids)"
                ),
            )
        })?,
    };
    Ok(([(header::CONTENT_TYPE, "application/cose")], bytes).into_response())
}
