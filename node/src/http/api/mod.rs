//! The JSON API's handlers, one file per resource; [`routes`] lists them. Each
//! is a thin caller of the [`Passport`](crate::Passport) handle. Every
//! route, body, status code and example is in `docs/API.md`.

mod audit;
mod events;
mod fields;
mod merchant;
mod network;
mod person;
mod tokens;

use axum::{
    Json, Router,
    routing::{delete, get, post, put},
};

use super::state::{ApiError, ApiState, bad_request};

/// What a JSON handler answers: a view, or an error.
type ApiResult<T> = Result<Json<T>, ApiError>;

/// The API's routes; the caller puts them behind the token and Host guards.
pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/status", get(network::status))
        .route("/v1/fields", get(fields::fields))
        .route(
            "/v1/fields/{name}",
            get(fields::field)
                .put(fields::set_field)
                .delete(fields::remove_field),
        )
        .route("/v1/fields/{name}/tags", put(fields::tag_field))
        .route("/v1/merchants/{id}/erase", post(person::erase))
        .route("/v1/received/{id}/fetch", post(merchant::fetch))
        .route("/v1/messages/{id}", get(audit::message))
        .route("/v1/peers", get(network::peers))
        .route("/v1/inbox", get(person::inbox))
        .route("/v1/inbox/{id}/approve", post(person::approve))
        .route("/v1/inbox/{id}/deny", post(person::deny))
        .route("/v1/grants", get(person::grants))
        .route("/v1/grants/{id}/revoke", post(person::revoke))
        .route("/v1/received", get(merchant::received))
        .route("/v1/received/{id}/values", get(merchant::received_values))
        .route("/v1/requests", post(merchant::send_request))
        .route("/v1/audit", get(audit::audit))
        .route("/v1/audit/verify", get(audit::audit_verify))
        .route("/v1/events", get(events::events))
        .route(
            "/v1/policies",
            get(person::policies).post(person::add_policy),
        )
        .route("/v1/policies/{id}", delete(person::remove_policy))
        .route("/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/v1/tokens/{id}", delete(tokens::revoke))
        .route("/metrics", get(network::metrics))
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| bad_request(format!("{what}: {e}")))
}
