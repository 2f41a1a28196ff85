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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBody {
    scope: String,
    #[serde(default)]
    name: String,
}

pub(super) async fn create(
    State(state): State<ApiState>,
    Json(body): Json<CreateBody>,
) -> ApiResult<views::NewToken> {
    let scope: Scope = parse(&body.scope, "scope")?;
    let made = state.passport.create_token(scope, body.name).await?;
    Ok(Json(views::NewToken::from(made)))
}

pub(super) async fn list(State(state): State<ApiState>) -> ApiResult<Vec<views::ApiToken>> {
    Ok(Json(state.passport.tokens().await?))
}

pub(super) async fn revoke(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<views::TokenRevoked> {
    let token = state.passport.revoke_token(id).await?;
    Ok(Json(views::TokenRevoked { revoked: token.id }))
}
