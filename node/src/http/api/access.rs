//! "What do you hold about me?": the person asks a merchant, and reads back its
//! signed answer.

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::PassportId;

use super::{ApiResult, parse};
use crate::http::{
    state::{ApiError, ApiState},
    views::{self, AccessAnswer, AccessStatement},
};

/// Asks a merchant what it holds about this person; its node answers at once
/// with a signed statement, which is kept.
#[utoipa::path(
    post,
    path = "/v1/merchants/{id}/access",
    tag = "person",
    params(("id" = PassportId, Path, description = "The merchant's passport id.")),
    responses(
        (status = 200, description = "The merchant's signed answer (`null`: its node is offline; the question waits at its mailboxes).", body = AccessAnswer),
        (status = 400, description = "Not a passport id.", body = views::ErrorBody),
        (status = 404, description = "No node found for the merchant.", body = views::ErrorBody),
        (status = 409, description = "The merchant's node refused (it holds nothing from this person).", body = views::ErrorBody),
        (status = 502, description = "The merchant's node could not be reached.", body = views::ErrorBody),
        (status = 503, description = "This node's network is not running.", body = views::ErrorBody),
        (status = 504, description = "The lookup or the exchange took too long.", body = views::ErrorBody),
    )
)]
pub(super) async fn request_access(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<AccessAnswer> {
    let merchant: PassportId = parse(&id, "merchant id")?;
    let statement = state.passport.request_access(merchant).await?;
    Ok(Json(AccessAnswer {
        statement: statement.as_ref().map(AccessStatement::from),
    }))
}

/// The newest answer a merchant gave to "what do you hold about me?".
#[utoipa::path(
    get,
    path = "/v1/merchants/{id}/access",
    tag = "person",
    params(("id" = PassportId, Path, description = "The merchant's passport id.")),
    responses(
        (status = 200, description = "Its newest signed answer.", body = AccessStatement),
        (status = 400, description = "Not a passport id.", body = views::ErrorBody),
        (status = 404, description = "It never answered.", body = views::ErrorBody),
    )
)]
pub(super) async fn access_statement(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<AccessStatement> {
    let merchant: PassportId = parse(&id, "merchant id")?;
    let statement = state
        .passport
        .access_statement(merchant)
        .await?
        .ok_or_else(|| {
            ApiError(
                axum::http::StatusCode::NOT_FOUND,
                format!("{merchant} never answered an access request; ask with POST"),
            )
        })?;
    Ok(Json(AccessStatement::from(&statement)))
}
