//! The node's local HTTP server: the JSON API, for the `passport` command and a
//! merchant's shop backend, and the [consent page](web) on the same server. Bound to
//! loopback by default; every request must carry a `Host` header naming the address
//! the server is bound to, or a name configured in `[api] hosts` (so a web page
//! elsewhere cannot reach it through DNS rebinding), and every API request the
//! bearer token from `<home>/api.token`, or a scoped token (`passport token
//! create`) whose scope reaches the route. Endpoints are listed in `docs/API.md`.
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
//!   audit, network, events, tokens).
//! - [`views`]: the types the JSON API answers with, which the CLI reads back.
//! - [`web`]: the consent page (sessions, forms, server-rendered HTML, live updates).
//!
//! `api` and `web` are leaves: neither imports the other; both use only `state`,
//! `guards`, `views` and the node core.

mod api;
mod guards;
pub mod local;
pub mod scopes;
pub mod state;
pub mod views;
pub mod web;

use std::future::Future;

use axum::{Router, http::StatusCode, middleware, routing::get};

pub use self::{
    guards::{scoped_token_proof, token_proof},
    local::{LocalApi, LocalApiError},
    state::{ApiError, ApiState},
};

/// The API's routes behind the token guard, and the consent page's, all behind the
/// Host guard.
pub fn router(state: ApiState) -> Router {
    let api = api::routes()
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guards::bearer_guard,
        ))
        .route("/v1/hello", get(guards::hello))
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
