//! A backup of the passport, made by the running node.

use axum::{
    Json,
    extract::State,
    http::{HeaderName, HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use crate::{
    backup::BackupSummary,
    http::{
        state::{ApiError, ApiState, bad_request},
        views,
    },
};

/// The header carrying a backup's [`BackupSummary`], as JSON.
pub const SUMMARY_HEADER: &str = "passport-backup-summary";

/// What to back up with.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupRequest {
    /// The passphrase the backup is encrypted to (age's scrypt recipient).
    passphrase: String,
    /// The text of `config.toml`, to put in the backup. Default: none.
    #[serde(default)]
    config: Option<String>,
}

impl Drop for BackupRequest {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.passphrase);
    }
}

/// The backup: an age file, with what it holds in a header.
pub(super) struct Backup(Vec<u8>, BackupSummary);

impl IntoResponse for Backup {
    fn into_response(self) -> Response {
        let summary = serde_json::to_string(&self.1).unwrap_or_default();
        let mut response =
            ([(header::CONTENT_TYPE, "application/octet-stream")], self.0).into_response();
        if let Ok(value) = HeaderValue::from_str(&summary) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(SUMMARY_HEADER), value);
        }
        response
    }
}

/// Backs the whole passport up: keys, fields, policies, grants both sides, outbox
/// and audit log, in one consistent snapshot, as an age file encrypted to the
/// passphrase given (so `age -d` opens it too). The full token only. The audit
/// log records it.
#[utoipa::path(
    post,
    path = "/v1/backup",
    tag = "backup",
    request_body = BackupRequest,
    responses(
        (status = 200, description = "The backup (an age file); the `passport-backup-summary` header says what it holds, as JSON (BackupSummary).", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "An empty passphrase.", body = views::ErrorBody),
    )
)]
pub(super) async fn backup(
    State(state): State<ApiState>,
    Json(request): Json<BackupRequest>,
) -> Result<Backup, ApiError> {
    if request.passphrase.is_empty() {
        return Err(bad_request(
            "the backup passphrase is empty: choose one you will remember",
        ));
    }
    let passphrase = age::secrecy::SecretString::from(request.passphrase.clone());
    let (bytes, summary) = state
        .passport
        .backup(passphrase, request.config.clone())
        .await?;
    Ok(Backup(bytes, summary))
}
