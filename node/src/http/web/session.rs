//! Who is logged in: the session and CSRF checks every page and form goes through
//! ([`Authed`], [`Posted`]), the cross-site check, and logging in and out.

use std::time::Instant;

use axum::{
    Form,
    extract::{FromRequest, FromRequestParts, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    response::{AppendHeaders, IntoResponse, Redirect, Response},
};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::{
    LIVE_HEADER, LOGIN_FAILURE_DELAY, LOGIN_FORM_LIFETIME_SECS, SESSION_LIFETIME, html, pages,
    problem, set_cookie,
};
use crate::{error::NodeError, home::Unlock, http::state::ApiState};

/// A logged-in visitor.
pub(crate) struct Authed {
    pub(super) session: String,
    csrf: String,
    pub(super) expires: Instant,
    /// Not the page's own live refresh, which leaves the one-time message for the
    /// navigation it may be racing with.
    shown: bool,
    /// The store's change counter before the page read anything: the page's live
    /// stream starts from it, so a change made while the page loads is not missed.
    changes: u64,
}

impl FromRequestParts<ApiState> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Response> {
        let web = &state.web;
        if parts.method != Method::GET && cross_site(&parts.headers, state) {
            return Err(problem(
                StatusCode::FORBIDDEN,
                "This form was sent from another site, so it was refused.",
            ));
        }
        let found = cookie(&parts.headers, &web.session_cookie).and_then(|id| {
            let (csrf, expires) = web.session(id)?;
            Some(Self {
                changes: state.passport.node().commits(),
                session: id.to_string(),
                csrf,
                expires,
                shown: !parts.headers.contains_key(LIVE_HEADER),
            })
        });
        match found {
            Some(authed) => Ok(authed),
            None if parts.method == Method::GET => Err(Redirect::to("/login").into_response()),
            None => Err(problem(
                StatusCode::FORBIDDEN,
                "You are not logged in, or your session ended: log in again, then repeat what you did.",
            )),
        }
    }
}

impl Authed {
    /// The refusal of a form without this session's CSRF token.
    fn refusal(&self, form: &[(String, String)]) -> Option<Response> {
        let sent = value(form, "csrf").unwrap_or_default();
        if bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes())) {
            None
        } else {
            Some(problem(
                StatusCode::FORBIDDEN,
                "This form is out of date or did not come from your Passport page (its security token is missing or wrong): reload the page and try again.",
            ))
        }
    }

    /// What every page shows around its content. Rendering a page shown to the
    /// person takes the session's one-time message.
    pub(super) fn chrome(&self, state: &ApiState, inbox: usize) -> pages::Chrome {
        pages::Chrome {
            id: state.passport.id(),
            csrf: self.csrf.clone(),
            changes: self.changes,
            inbox,
            flash: self
                .shown
                .then(|| state.web.take_flash(&self.session))
                .flatten(),
        }
    }
}

/// A logged-in visitor's form, already checked against the session's CSRF token:
/// every action takes one, so none can forget the check.
pub(crate) struct Posted {
    pub(super) authed: Authed,
    pub(super) form: Vec<(String, String)>,
}

impl FromRequest<ApiState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let authed = Authed::from_request_parts(&mut parts, state).await?;
        let Form(form) =
            Form::<Vec<(String, String)>>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        match authed.refusal(&form) {
            Some(refused) => Err(refused),
            None => Ok(Self { authed, form }),
        }
    }
}

/// True when a browser says this request comes from another origin: by
/// `Sec-Fetch-Site` where the browser sends it, else by `Origin`. (Other ports on
/// the same machine are the same *site* to a cookie, so `SameSite` alone would not
/// stop them.)
fn cross_site(headers: &HeaderMap, state: &ApiState) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return site != "same-origin" && site != "none";
    }
    match text(header::ORIGIN) {
        Some(origin) => !origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|host| state.accepts_host(host)),
        None => false,
    }
}

/// The value of cookie `name`, if the request carries it.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

pub(super) fn value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(super) async fn login_form(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if cookie(&headers, &state.web.session_cookie).is_some_and(|id| state.web.session(id).is_some())
    {
        return Redirect::to("/").into_response();
    }
    login_page(&state, StatusCode::OK, None)
}

fn login_page(state: &ApiState, status: StatusCode, error: Option<&str>) -> Response {
    let nonce = crate::home::random_token();
    (
        status,
        [set_cookie(
            &state.web.login_cookie,
            &nonce,
            "/login",
            LOGIN_FORM_LIFETIME_SECS,
        )],
        html(pages::login(
            &nonce,
            state.home.is_some(),
            error,
            &state.passport.id(),
        )),
    )
        .into_response()
}

pub(super) async fn login(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if cross_site(&headers, &state) {
        return problem(
            StatusCode::FORBIDDEN,
            "This login was sent from another site, so it was refused.",
        );
    }
    let paired = cookie(&headers, &state.web.login_cookie).unwrap_or_default();
    let sent = value(&form, "csrf").unwrap_or_default();
    if paired.is_empty() || !bool::from(paired.as_bytes().ct_eq(sent.as_bytes())) {
        return login_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("This login form was out of date. Please try again."),
        );
    }
    let secret = Zeroizing::new(value(&form, "secret").unwrap_or_default().to_string());
    let Ok(_one_at_a_time) = state.web.login.try_lock() else {
        return login_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Another login attempt is being checked. Wait a second and try again."),
        );
    };
    let accepted = if bool::from(secret.as_bytes().ct_eq(state.token.as_bytes())) {
        Ok(())
    } else if secret.is_empty() {
        Err("Enter the token or your passphrase.".to_string())
    } else if let Some(home) = state.home.clone() {
        let unlock = Unlock::Passphrase(secret);
        match tokio::task::spawn_blocking(move || home.open(&unlock)).await {
            Ok(Ok(_keys)) => Ok(()),
            Ok(Err(NodeError::WrongUnlockMethod { .. })) => Err(
                "This passport is unlocked with a key file, not a passphrase: log in with the token in <home>/api.token.".to_string(),
            ),
            Ok(Err(NodeError::WrongPassphrase { .. })) => {
                Err("That is neither the token nor the passphrase.".to_string())
            }
            Ok(Err(e)) => Err(format!("The passphrase could not be checked: {e}")),
            Err(e) => Err(format!("The passphrase could not be checked: {e}")),
        }
    } else {
        Err("That is not the token: copy it from <home>/api.token.".to_string())
    };
    match accepted {
        Ok(()) => {
            let session = state.web.start_session();
            tracing::info!("the consent page logged a visitor in");
            (
                AppendHeaders([
                    set_cookie(
                        &state.web.session_cookie,
                        &session,
                        "/",
                        SESSION_LIFETIME.as_secs(),
                    ),
                    set_cookie(&state.web.login_cookie, "", "/login", 0),
                ]),
                Redirect::to("/"),
            )
                .into_response()
        }
        Err(message) => {
            tracing::warn!("a login to the consent page failed");
            tokio::time::sleep(LOGIN_FAILURE_DELAY).await;
            login_page(&state, StatusCode::UNAUTHORIZED, Some(&message))
        }
    }
}

pub(super) async fn logout(State(state): State<ApiState>, posted: Posted) -> Response {
    state.web.sessions().remove(&posted.authed.session);
    (
        [set_cookie(&state.web.session_cookie, "", "/", 0)],
        Redirect::to("/login"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("passport_session_7117x=no; passport_session_7117=yes"),
        );
        assert_eq!(cookie(&headers, "passport_session_7117"), Some("yes"));
        assert_eq!(cookie(&headers, "passport_session_1"), None);
    }
}
