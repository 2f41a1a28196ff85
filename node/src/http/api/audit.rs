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

/// Every entry of the audit log, oldest first.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    responses((status = 200, description = "The audit log.", body = [views::AuditEntry]))
)]
pub(super) async fn audit(State(state): State<ApiState>) -> ApiResult<Vec<views::AuditEntry>> {
    let entries = state.passport.audit().await?;
    Ok(Json(entries.iter().map(views::AuditEntry::from).collect()))
}

/// Checks the audit log's whole hash chain.
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    responses((status = 200, description = "What the check found.", body = views::AuditVerification))
)]
pub(super) async fn audit_verify(
    State(state): State<ApiState>,
) -> ApiResult<views::AuditVerification> {
    let report = state.passport.verify_audit().await?;
    Ok(Json(report.into()))
}

/// A sent or received message's raw COSE bytes, for an auditor.
///
/// Found by its id in the audit log; `passport message verify FILE` checks it
/// offline.
#[utoipa::path(
    get,
    path = "/v1/messages/{id}",
    tag = "audit",
    params(("id" = MessageId, Path, description = "The message's id (an audit entry's `message_id`).")),
    responses(
        (status = 200, description = "The signed message (COSE_Sign1).", body = Cose, content_type = "application/cose"),
        (status = 400, description = "Not a message id.", body = views::ErrorBody),
        (status = 404, description = "No audit entry holds this message.", body = views::ErrorBody),
    )
)]
pub(super) async fn message(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Cose, ApiError> {
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
    Ok(Cose(bytes))
}

/// A signed message's bytes (COSE_Sign1, tagged), answered as `application/cose`.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(super) struct Cose(pub(super) Vec<u8>);

impl IntoResponse for Cose {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/cose")], self.0).into_response()
    }
}
