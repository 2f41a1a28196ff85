//! Scoped API tokens: make one, list them, revoke one (the full token only, see
//! [`scopes`](crate::http::scopes)).

use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;

use super::{ApiResult, parse};
use crate::{
    http::{state::ApiState, views},
    tokens::Scope,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TokenBody)]
pub(super) struct CreateBody {
    /// `person`, `merchant` or `read`.
    scope: String,
    /// What it is for, e.g. `shop`.
    #[serde(default)]
    name: String,
}

/// Makes a scoped token (full token only); the token is answered this once.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "access",
    request_body = CreateBody,
    responses(
        (status = 200, description = "Made.", body = views::NewToken),
        (status = 400, description = "An unknown scope, a bad name, too many tokens, or a body that is not JSON.", body = views::ErrorBody),
        (status = 403, description = "Not the full token.", body = views::ErrorBody),
    )
)]
pub(super) async fn create_token(
    State(state): State<ApiState>,
    Json(body): Json<CreateBody>,
) -> ApiResult<views::NewToken> {
    let scope: Scope = parse(&body.scope, "scope")?;
    let made = state.passport.create_token(scope, body.name).await?;
    Ok(Json(views::NewToken::from(made)))
}

/// The scoped tokens (never the tokens themselves).
#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "access",
    responses(
        (status = 200, description = "The tokens.", body = [views::ApiToken]),
        (status = 403, description = "Not the full token.", body = views::ErrorBody),
    )
)]
pub(super) async fn list_tokens(State(state): State<ApiState>) -> ApiResult<Vec<views::ApiToken>> {
    Ok(Json(state.passport.tokens().await?))
}

/// Revokes a scoped token: refused from the next request on.
#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    tag = "access",
    params(("id" = String, Path, description = "The token's id.")),
    responses(
        (status = 200, description = "Revoked.", body = views::TokenRevoked),
        (status = 403, description = "Not the full token.", body = views::ErrorBody),
        (status = 404, description = "No such token.", body = views::ErrorBody),
    )
)]
pub(super) async fn revoke_token(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::TokenRevoked> {
    let token = state.passport.revoke_token(id).await?;
    Ok(Json(views::TokenRevoked { revoked: token.id }))
}
