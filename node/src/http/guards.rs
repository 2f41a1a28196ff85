//! The checks in front of the handlers: the `Host` guard on every route (DNS
//! rebinding), the bearer token guard on the API's (which token, and whether its
//! scope reaches the route: [`scopes`](super::scopes)), the JSON shape of axum's own
//! rejections, and `/v1/hello`, which proves a server knows the token before a
//! client sends it.

use axum::{
    Json,
    extract::{MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::{
    scopes,
    state::{ApiError, ApiState, bad_request},
    views,
};
use crate::{
    error::NodeError,
    tokens::{self, Scope},
};

/// Gives axum's own rejections (malformed JSON, an unknown key, a wrong content type,
/// a bad path) the API's error shape, `{"error": "..."}`, like every other error.
pub(super) async fn json_errors(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !response.status().is_client_error() || is_json {
        return response;
    }
    let status = response.status();
    let text = match axum::body::to_bytes(response.into_body(), 16 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let text = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_lowercase()
    } else {
        text
    };
    ApiError(status, text).into_response()
}

pub(super) async fn host_guard(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !state.accepts_host(host) {
        return ApiError(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "the Host header {host:?} is not this API's address; use one of {:?}",
                state.hosts
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// Proof that whoever answers knows `token`, without revealing it: HMAC-SHA256 keyed
/// with the token over a fixed label and the client's `nonce`, in hex. A client that
/// found the API's address in a file (`api.addr`, which a killed node leaves behind
/// and another program may since have taken over) checks it before sending the
/// token itself.
pub fn token_proof(token: &str, nonce: &str) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"passport api hello\0");
    mac.update(nonce.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// [`token_proof`] for a scoped token (`ppt_…`), which the node keeps only as a
/// digest: keyed with the token's SHA-256 in hex. The node answers it when asked
/// with the token's id (`GET /v1/hello?nonce=N&token_id=ID`).
pub fn scoped_token_proof(token: &str, nonce: &str) -> String {
    token_proof(&hex(&tokens::token_digest(token)), nonce)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Longest nonce `/v1/hello` takes.
const MAX_NONCE_BYTES: usize = 128;

#[derive(Deserialize)]
pub(super) struct Hello {
    nonce: String,
    #[serde(default)]
    token_id: Option<String>,
}

/// Proves that the server knows the token, without the token.
///
/// With `&token_id=ID`, the proof is keyed with that scoped token's stored digest
/// instead ([`scoped_token_proof`]). The proof is HMAC-SHA256 keyed with the token over `passport api hello\0`
/// followed by the nonce, in hex. A client that found the API's address in a file
/// checks it before sending the token.
#[utoipa::path(
    get,
    path = "/v1/hello",
    tag = "access",
    params(
        ("nonce" = String, Query, description = "16 to 128 random characters."),
        ("token_id" = Option<String>, Query, description = "A scoped token's id: prove knowledge of that token instead of the full one."),
    ),
    responses(
        (status = 200, description = "The proof.", body = views::Proof),
        (status = 400, description = "No nonce, or one too short or too long.", body = views::ErrorBody),
    )
)]
pub(super) async fn hello(
    State(state): State<ApiState>,
    axum::extract::Query(Hello { nonce, token_id }): axum::extract::Query<Hello>,
) -> Result<Json<views::Proof>, ApiError> {
    if nonce.len() < 16 || nonce.len() > MAX_NONCE_BYTES {
        return Err(bad_request(format!(
            "nonce: send 16 to {MAX_NONCE_BYTES} random characters"
        )));
    }
    let proof = match token_id {
        None => token_proof(&state.token, &nonce),
        Some(id) => {
            let digest = state.passport.token_digest(id.clone()).await?;
            let digest = digest.ok_or_else(|| ApiError::from(NodeError::UnknownToken(id)))?;
            token_proof(&hex(&digest), &nonce)
        }
    };
    Ok(Json(views::Proof { proof }))
}

pub(super) async fn bearer_guard(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    let scope = if bool::from(presented.as_bytes().ct_eq(state.token.as_bytes())) {
        Some(Scope::Full)
    } else if tokens::token_id(presented).is_some() {
        // Read from the store on each request: a revoked token is refused at once.
        match state
            .passport
            .token_scope(Zeroizing::new(presented.to_string()))
            .await
        {
            Ok(scope) => scope,
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else {
        None
    };
    let Some(scope) = scope else {
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "missing, wrong or revoked bearer token: send `Authorization: Bearer <token>` with the token from <home>/api.token, or one made by `passport token create`".into(),
        )
        .into_response();
    };
    let pattern = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("", MatchedPath::as_str);
    if let Some(refusal) = scopes::refusal(scope, request.method(), pattern) {
        return ApiError(StatusCode::FORBIDDEN, refusal).into_response();
    }
    next.run(request).await
}
