//! The JSON API's handlers, one file per resource; [`routes()`] lists them. Each
//! is a thin caller of the [`Passport`](crate::Passport) handle. Every
//! route, body, status code and example is in `docs/API.md`.
//!
//! Each handler carries its OpenAPI description (`#[utoipa::path]`: method, path,
//! parameters, body, the statuses it answers) and is registered with
//! `routes!(...)`, which takes the route and its description from that one
//! attribute: a route cannot exist without its documentation. The
//! [document](super::openapi()) adds what every route shares (the token, the
//! `Host` guard, malformed bodies); `docs/openapi.json` is its checked-in copy.

mod access;
mod audit;
mod backend;
pub(crate) mod backup;
mod data;
pub(crate) mod devices;
mod events;
mod fields;
mod merchant;
mod network;
mod person;
mod tokens;
mod webhooks;

use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::state::{ApiError, ApiState, bad_request};

/// What a JSON handler answers: a view, or an error.
type ApiResult<T> = Result<Json<T>, ApiError>;

/// The API's routes with their OpenAPI description; the caller puts them behind
/// the token and Host guards. One `routes!` per path (its handlers, one per
/// method).
pub(super) fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::default()
        .routes(routes!(network::status))
        .routes(routes!(fields::fields))
        .routes(routes!(
            fields::field,
            fields::set_field,
            fields::remove_field
        ))
        .routes(routes!(fields::tag_field))
        .routes(routes!(person::erase))
        .routes(routes!(merchant::fetch))
        .routes(routes!(audit::message))
        .routes(routes!(network::peers))
        .routes(routes!(person::inbox))
        .routes(routes!(person::approve))
        .routes(routes!(person::deny))
        .routes(routes!(person::grants))
        .routes(routes!(person::revoke))
        .routes(routes!(merchant::received))
        .routes(routes!(merchant::received_values))
        .routes(routes!(merchant::send_request, backend::requests))
        .routes(routes!(backend::request))
        .routes(routes!(backend::confirm_erasure))
        .routes(routes!(backend::proof))
        .routes(routes!(backend::erasures))
        .routes(routes!(backend::outbox))
        .routes(routes!(webhooks::list_webhooks, webhooks::add_webhook))
        .routes(routes!(webhooks::webhook_log))
        .routes(routes!(webhooks::remove_webhook))
        .routes(routes!(webhooks::test_webhook))
        .routes(routes!(audit::audit))
        .routes(routes!(audit::audit_verify))
        .routes(routes!(events::events))
        .routes(routes!(person::policies, person::add_policy))
        .routes(routes!(person::remove_policy))
        .routes(routes!(network::metrics))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(backup::backup))
        .routes(routes!(devices::pairing_code))
        .routes(routes!(devices::devices))
        .routes(routes!(devices::remove_device))
        .routes(routes!(data::attest))
        .routes(routes!(data::deliver))
        .routes(routes!(data::data))
        .routes(routes!(data::delete_data))
        .routes(routes!(access::request_access, access::access_statement))
}

/// The grant a path names: its grant id, or the id of the decision message that
/// carried it.
async fn grant_id(state: &ApiState, text: &str) -> Result<passport_protocol::GrantId, ApiError> {
    let id: passport_protocol::GrantId = parse(text, "grant id (or the id of its decision)")?;
    Ok(state.passport.grant_named(*id.as_bytes()).await?)
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| bad_request(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    /// `OpenApiRouter` also passes axum's `route` through, which would serve a
    /// route without describing it: [`routes`](super::routes) must not use it.
    #[test]
    fn every_route_is_registered_with_its_description() {
        let source = include_str!("mod.rs");
        let body = source
            .split("pub(super) fn routes()")
            .nth(1)
            .and_then(|rest| rest.split("\n}\n").next())
            .unwrap();
        assert!(body.contains(".routes(routes!("));
        for undescribed in [".route(", ".route_service(", ".nest_service(", ".merge("] {
            assert!(
                !body.contains(undescribed),
                "routes() calls `{undescribed}`: register each route with \
                 `.routes(routes!(handler, ...))` and a `#[utoipa::path]` on the handler"
            );
        }
    }
}
