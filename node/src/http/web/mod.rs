//! The consent page: the person answers merchants, watches their grants, revokes,
//! reads the audit log and edits their fields from a browser, on the same server as
//! the [API](crate::http).
//!
//! # Access
//!
//! - **Login** with the node's API token or, for a passphrase-locked passport
//!   served with [`ApiState::with_passphrase_login`], the passphrase. One attempt at a
//!   time, and a failed one holds the next off for a second.
//! - **Session**: a random id in an `HttpOnly; SameSite=Strict` cookie named after
//!   the port (two nodes on one machine keep separate sessions), at most
//!   [`MAX_SESSIONS`], each for [`SESSION_LIFETIME`].
//! - **CSRF**: every form carries the session's token, checked in constant time; the
//!   login form carries a token paired with a short-lived cookie. A POST whose
//!   `Origin` is another site, or whose `Sec-Fetch-Site` says cross-site, is refused
//!   before that.
//! - **Host check**: the same guard as the API (DNS rebinding).
//! - **Headers**: a strict Content-Security-Policy (no inline script, no framing:
//!   a consent button must not be clickjacked), `no-store`, no referrer to other
//!   sites.
//!
//! # Live updates
//!
//! `/events` is a server-sent event stream that says "change" whenever the store
//! commits anything (the node's [events](crate::events)); the page's small
//! script then fetches the page again and swaps its content. Everything works
//! without JavaScript: every action is a plain form POST answered with a redirect.
//!
//! # Layout
//!
//! - this file: `routes`, the security headers, the assets, and the small
//!   helpers every page uses (an HTML answer, a problem page, the one-time message
//!   after an action).
//! - `session`: who is logged in (`Authed`, and `Posted` for a form checked against the session's CSRF
//!   token), the cross-site check, logging in and out.
//! - `actions`: the pages and their forms: inbox and answers, grants and
//!   revocation, the audit log, fields, status, the live-update stream.
//! - `back`: "From merchants": data merchants gave back, and what each says it
//!   holds about the person.
//! - `pages`: the HTML, rendered with maud.
//!
//! The sessions themselves are kept in the shared state
//! (`state::Web`), with the limits re-exported here.

mod actions;
mod back;
mod pages;
mod session;

use std::time::Duration;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, StatusCode, header},
    middleware,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};

use self::{
    actions::{
        audit, decide, delete_field, events, fields, grants, inbox, revoke, set_field, status,
    },
    session::{Authed, login, login_form, logout},
};
use crate::http::state::ApiState;
pub use crate::http::state::{MAX_LIVE_STREAMS, MAX_SESSIONS, SESSION_LIFETIME};

/// Largest form accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// How long the login form's token lives.
const LOGIN_FORM_LIFETIME_SECS: u64 = 600;
/// How long a failed login holds off the next attempt.
const LOGIN_FAILURE_DELAY: Duration = Duration::from_secs(1);

/// Sent by the page's script on its live refreshes.
pub(crate) const LIVE_HEADER: &str = "x-passport-live";

/// An HTML page that explains what went wrong.
fn problem(status: StatusCode, message: &str) -> Response {
    (status, html(pages::problem(status, message))).into_response()
}

fn html(markup: maud::Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// After an action: say how it went on the next page, and go there.
fn done(state: &ApiState, authed: &Authed, to: &str, result: Result<String, String>) -> Response {
    match result {
        Ok(text) => state.web.flash(&authed.session, true, text),
        Err(text) => state.web.flash(&authed.session, false, capitalized(&text)),
    }
    Redirect::to(to).into_response()
}

/// Error messages are lowercase phrases (they also end up in logs and JSON); the
/// page shows them as sentences.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The page's routes. The caller adds the Host guard.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(inbox))
        .route("/grants", get(grants))
        .route("/audit", get(audit))
        .route("/fields", get(fields).post(set_field))
        .route("/fields/{name}/delete", post(delete_field))
        .route("/status", get(status))
        .route("/events", get(events))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/inbox/{id}/decide", post(decide))
        .route("/grants/{id}/revoke", post(revoke))
        .route("/data", get(back::page))
        .route("/data.json", get(back::export))
        .route("/data/{id}/delete", post(back::delete))
        .route("/merchants/{id}/access", post(back::ask))
        .route("/assets/app.css", get(stylesheet))
        .route("/assets/app.js", get(script))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Not `no-referrer`: that makes browsers send `Origin: null` on the page's own
        // forms.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("app.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("app.js"),
    )
        .into_response()
}

fn set_cookie(name: &str, value: &str, path: &str, max_age: u64) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}"),
    )
}

fn failed(e: impl std::fmt::Display) -> Response {
    problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}
