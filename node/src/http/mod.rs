//! The node's local HTTP server: the JSON API, for the `passport` command and a
//! merchant's shop backend, and the [consent page](web) on the same server. Bound to
//! loopback by default; every request must carry a `Host` header naming the address
//! the server is bound to, or a name configured in `[api] hosts` (so a web page
//! elsewhere cannot reach it through DNS rebinding), and every API request the
//! bearer token from `<home>/api.token`, or a scoped token (`passport token
//! create`) whose scope reaches the route. Endpoints are listed in `docs/API.md`,
//! and described as data in the OpenAPI document ([`openapi()`], served at
//! `/v1/openapi.json`, checked in as `docs/openapi.json`).
//!
//! # Layout
//!
//! - this file: [`router`] (the API behind its guards, beside the page) and
//!   [`serve`].
//! - [`state`]: [`ApiState`], what every handler shares (the [`Passport`](crate::Passport)
//!   handle, the token, the accepted hosts, the page's sessions); [`ApiError`].
//! - `guards`: the `Host` guard, the bearer token guard, JSON error wrapping,
//!   `/v1/hello` and [`token_proof`].
//! - [`scopes`]: which token scope reaches which route, one table
//!   ([`scopes::ROUTES`]) the bearer guard reads.
//! - [`local`]: [`LocalApi`], the same router called in-process, which the CLI uses
//!   when no node runs.
//! - `api/`: the JSON handlers, one file per resource (fields, person, merchant,
//!   audit, network, events, tokens), each with its `#[utoipa::path]` description.
//! - `openapi`: the OpenAPI document's common parts and `/v1/openapi.json`.
//! - [`views`]: the types the JSON API answers with, which the CLI reads back.
//! - [`web`]: the consent page (sessions, forms, server-rendered HTML, live updates).
//!
//! `api` and `web` are leaves: neither imports the other; both use only `state`,
//! `guards`, `views` and the node core.

mod api;
mod guards;
pub mod local;
mod openapi;
pub mod scopes;
pub mod state;
pub mod views;
pub mod web;

use std::future::Future;

use axum::{Router, http::StatusCode, middleware};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use self::{
    api::{
        backup::SUMMARY_HEADER as BACKUP_SUMMARY_HEADER,
        devices::{DeviceView, PairingCodeView},
    },
    guards::{scoped_token_proof, token_proof},
    local::{LocalApi, LocalApiError},
    state::{ApiError, ApiState},
};

/// The API's routes behind the token guard, and the consent page's, all behind the
/// Host guard.
pub fn router(state: ApiState) -> Router {
    let (guarded, open, _) = parts();
    let api = guarded
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guards::bearer_guard,
        ))
        .merge(open)
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                "not found: no such endpoint (see docs/API.md, or open / for the consent page)"
                    .into(),
            )
        })
        .layer(middleware::map_response(guards::json_errors));
    api.merge(web::routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guards::host_guard,
        ))
        .with_state(state)
}

/// The API's routes behind the token, those without (`/v1/hello` and
/// `/v1/openapi.json`), and the OpenAPI document of both.
fn parts() -> (Router<ApiState>, Router<ApiState>, utoipa::openapi::OpenApi) {
    let (guarded, guarded_doc) = api::routes().split_for_parts();
    let (open, open_doc) = OpenApiRouter::default()
        .routes(routes!(guards::hello))
        .routes(routes!(openapi::document))
        .split_for_parts();
    (guarded, open, openapi::complete(guarded_doc, open_doc))
}

/// The API's OpenAPI 3.1 document: every route with its parameters, bodies,
/// statuses and security, and every JSON shape (the [`views`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().2
}

/// [`openapi()`] as pretty JSON with a final newline: what `GET /v1/openapi.json`
/// answers and `docs/openapi.json` holds.
pub fn openapi_json() -> String {
    let mut json = serde_json::to_string_pretty(&openapi())
        .unwrap_or_else(|e| unreachable!("an OpenAPI document is plain JSON: {e}"));
    json.push('\n');
    json
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let web = state.web.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Live page streams never end by themselves; end them so that the
            // graceful shutdown does not wait on open browser tabs.
            web.close();
        })
        .await
}
