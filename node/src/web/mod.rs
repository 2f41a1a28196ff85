//! The consent page: the person answers merchants, watches their grants, revokes,
//! reads the audit log and edits their fields from a browser, on the same server as
//! the [API](crate::api).
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

mod pages;

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    Form, Router,
    extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware,
    response::{
        AppendHeaders, IntoResponse, Redirect, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures::StreamExt as _;
use passport_protocol::{Date, FieldName, FieldValue, GrantId, MessageId};
use subtle::ConstantTimeEq as _;
use tokio::sync::{Semaphore, watch};
use zeroize::Zeroizing;

use crate::{
    api::{ApiState, blocking, deliver_all, now},
    error::NodeError,
    home::Unlock,
    person::Approval,
};

/// Most sessions kept at once; a new login past this ends the oldest.
pub const MAX_SESSIONS: usize = 32;
/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3_600);
/// Most live-update streams open at once.
pub const MAX_LIVE_STREAMS: usize = 16;
/// Largest form accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// How long the login form's token lives.
const LOGIN_FORM_LIFETIME_SECS: u64 = 600;
/// How long a failed login holds off the next attempt.
const LOGIN_FAILURE_DELAY: Duration = Duration::from_secs(1);

/// Sent by the page's script on its live refreshes.
const LIVE_HEADER: &str = "x-passport-live";

/// The page's state, shared by every handler through [`ApiState`].
pub(crate) struct Web {
    sessions: Mutex<HashMap<String, Session>>,
    login: tokio::sync::Mutex<()>,
    live: Arc<Semaphore>,
    closing: watch::Sender<bool>,
    session_cookie: String,
    login_cookie: String,
}

struct Session {
    csrf: String,
    expires: Instant,
    flash: Option<Flash>,
}

/// A one-time message shown on the next page: what an action did, or why it failed.
#[derive(Debug, Clone)]
pub(crate) struct Flash {
    ok: bool,
    text: String,
}

impl Web {
    /// Room for one more live stream (a page's or the API's `/v1/events`), and a
    /// watch that turns true when the server shuts down; `None` when
    /// [`MAX_LIVE_STREAMS`] are open.
    pub(crate) fn live_stream(
        &self,
    ) -> Option<(tokio::sync::OwnedSemaphorePermit, watch::Receiver<bool>)> {
        let permit = self.live.clone().try_acquire_owned().ok()?;
        Some((permit, self.closing.subscribe()))
    }

    /// The page's state for a server on `port`.
    pub(crate) fn new(port: u16) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            login: tokio::sync::Mutex::new(()),
            live: Arc::new(Semaphore::new(MAX_LIVE_STREAMS)),
            closing: watch::Sender::new(false),
            session_cookie: format!("passport_session_{port}"),
            login_cookie: format!("passport_login_{port}"),
        }
    }

    /// Ends every live stream, so that a graceful shutdown does not wait on them.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start_session(&self) -> String {
        let id = crate::home::random_token();
        let mut sessions = self.sessions();
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(id, _)| id.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            id.clone(),
            Session {
                csrf: crate::home::random_token(),
                expires: now + SESSION_LIFETIME,
                flash: None,
            },
        );
        id
    }

    /// The CSRF token and end of session `id`, if it is live; an ended one is
    /// dropped.
    fn session(&self, id: &str) -> Option<(String, Instant)> {
        let mut sessions = self.sessions();
        let session = sessions.get(id)?;
        if session.expires <= Instant::now() {
            sessions.remove(id);
            return None;
        }
        Some((session.csrf.clone(), session.expires))
    }

    fn take_flash(&self, session: &str) -> Option<Flash> {
        self.sessions().get_mut(session)?.flash.take()
    }

    fn flash(&self, session: &str, ok: bool, text: impl Into<String>) {
        if let Some(s) = self.sessions().get_mut(session) {
            s.flash = Some(Flash {
                ok,
                text: text.into(),
            });
        }
    }
}

/// A logged-in visitor.
pub(crate) struct Authed {
    session: String,
    csrf: String,
    expires: Instant,
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
                changes: state.node.commits(),
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
    fn chrome(&self, state: &ApiState, inbox: usize) -> pages::Chrome {
        pages::Chrome {
            id: state.node.id(),
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
    authed: Authed,
    form: Vec<(String, String)>,
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

fn value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

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

async fn login_form(State(state): State<ApiState>, headers: HeaderMap) -> Response {
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
            &state.node.id(),
        )),
    )
        .into_response()
}

async fn login(
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

async fn logout(State(state): State<ApiState>, posted: Posted) -> Response {
    state.web.sessions().remove(&posted.authed.session);
    (
        [set_cookie(&state.web.session_cookie, "", "/", 0)],
        Redirect::to("/login"),
    )
        .into_response()
}

fn failed(e: impl std::fmt::Display) -> Response {
    problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

async fn inbox(State(state): State<ApiState>, authed: Authed) -> Response {
    let node = state.node.clone();
    let loaded = blocking(move || {
        let items = node.inbox()?;
        let held = node
            .fields()?
            .into_iter()
            .map(|(name, _)| name)
            .collect::<std::collections::BTreeSet<_>>();
        Ok((items, held))
    })
    .await;
    match loaded {
        Ok((items, held)) => {
            let chrome = authed.chrome(&state, items.len());
            html(pages::inbox(&chrome, &items, &held, now()))
        }
        Err(e) => failed(e),
    }
}

async fn decide(State(state): State<ApiState>, Path(id): Path<String>, posted: Posted) -> Response {
    let result = decide_inner(&state, &id, &posted.form).await;
    done(&state, &posted.authed, "/", result)
}

async fn decide_inner(
    state: &ApiState,
    id: &str,
    form: &[(String, String)],
) -> Result<String, String> {
    let id: MessageId = id
        .parse()
        .map_err(|e| format!("That request id is not valid: {e}"))?;
    let node = state.node.clone();
    let item = blocking(move || node.inbox())
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|i| i.pending.request_id == id)
        .ok_or("That request is no longer waiting: it was answered elsewhere, or it expired.")?;
    let merchant = item.merchant.name().to_string();
    let action = value(form, "action").unwrap_or_default();
    let node = state.node.clone();
    let (out, text) = match action {
        "once" | "always" => {
            let only = form
                .iter()
                .filter(|(k, _)| k == "field")
                .map(|(_, v)| v.parse::<FieldName>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("A field name in the form is not valid: {e}"))?;
            if only.is_empty() {
                return Err("Choose at least one field to share, or deny the request.".into());
            }
            let duration_secs = match value(form, "duration") {
                Some(d) => Some(
                    d.parse::<u64>()
                        .map_err(|_| "The duration in the form is not a number of seconds.")?,
                ),
                None => None,
            };
            let granted = duration_secs.map_or(item.request.duration_secs, |d| {
                d.min(item.request.duration_secs)
            });
            let always = action == "always";
            let names = only
                .iter()
                .map(FieldName::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let approval = Approval {
                only: Some(only),
                duration_secs,
                always,
            };
            let out = blocking(move || node.approve(&id, approval, now()))
                .await
                .map_err(|e| e.to_string())?;
            let text = format!(
                "Shared {names} with {merchant} for {}.{}",
                crate::human::duration(granted),
                if always {
                    format!(" {merchant} will not need to ask again for these fields.")
                } else {
                    String::new()
                }
            );
            (out, text)
        }
        "deny" => {
            let reason = value(form, "reason").unwrap_or_default().to_string();
            let out = blocking(move || node.deny(&id, &reason, now()))
                .await
                .map_err(|e| e.to_string())?;
            (out, format!("Denied {merchant}'s request."))
        }
        other => {
            return Err(format!(
                "Unknown answer {other:?}: use the buttons on the page."
            ));
        }
    };
    deliver_all(state, vec![out]);
    Ok(text)
}

async fn grants(State(state): State<ApiState>, authed: Authed) -> Response {
    let node = state.node.clone();
    let loaded = blocking(move || {
        let grants = node.grants()?;
        let mut names = HashMap::new();
        for g in &grants {
            if let Some(m) = node.merchant(&g.merchant)? {
                names.insert(g.merchant, m.name().to_string());
            }
        }
        Ok((node.inbox_len()?, grants, names))
    })
    .await;
    match loaded {
        Ok((inbox, grants, names)) => html(pages::grants(
            &authed.chrome(&state, inbox),
            &grants,
            &names,
            now(),
        )),
        Err(e) => failed(e),
    }
}

async fn revoke(State(state): State<ApiState>, Path(id): Path<String>, posted: Posted) -> Response {
    let result = async {
        let id: GrantId = id
            .parse()
            .map_err(|e| format!("That grant id is not valid: {e}"))?;
        let node = state.node.clone();
        let out = blocking(move || node.revoke(&id, now()))
            .await
            .map_err(|e| e.to_string())?;
        deliver_all(&state, vec![out]);
        Ok("Revoked. The merchant is told to erase what it holds; its signed deletion receipt will appear in the audit log.".to_string())
    }
    .await;
    done(&state, &posted.authed, "/grants", result)
}

async fn audit(State(state): State<ApiState>, authed: Authed) -> Response {
    let node = state.node.clone();
    let loaded = blocking(move || {
        Ok((
            node.inbox_len()?,
            node.audit_entries()?,
            node.verify_audit()?,
        ))
    });
    match loaded.await {
        Ok((inbox, entries, report)) => html(pages::audit(
            &authed.chrome(&state, inbox),
            &entries,
            &report,
        )),
        Err(e) => failed(e),
    }
}

async fn fields(State(state): State<ApiState>, authed: Authed) -> Response {
    let node = state.node.clone();
    match blocking(move || Ok((node.inbox_len()?, node.fields()?))).await {
        Ok((inbox, fields)) => html(pages::fields(&authed.chrome(&state, inbox), &fields)),
        Err(e) => failed(e),
    }
}

/// A field's value from the form: `kind` is `text`, `date` or `parts` (one
/// `key=value` per line).
fn field_value(form: &[(String, String)]) -> Result<FieldValue, String> {
    let text = value(form, "value").unwrap_or_default().trim();
    match value(form, "kind").unwrap_or("text") {
        "text" if text.is_empty() => Err("Enter a value.".into()),
        "text" => Ok(FieldValue::Text(text.to_string())),
        "date" => text
            .parse::<Date>()
            .map(FieldValue::Date)
            .map_err(|e| format!("That date is not valid ({e}); use YYYY-MM-DD.")),
        "parts" => {
            let mut parts = std::collections::BTreeMap::new();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let (key, part) = line.split_once('=').ok_or_else(|| {
                    format!("Write each part as name=value, one per line ({line:?} has no '=').")
                })?;
                parts.insert(key.trim().to_string(), part.trim().to_string());
            }
            if parts.is_empty() {
                return Err("Enter at least one part, as name=value.".into());
            }
            Ok(FieldValue::Structured(parts))
        }
        other => Err(format!("Unknown kind of value {other:?}.")),
    }
}

async fn set_field(State(state): State<ApiState>, posted: Posted) -> Response {
    let form = &posted.form;
    let result = async {
        let name: FieldName = value(form, "name")
            .unwrap_or_default()
            .trim()
            .parse()
            .map_err(|e| format!("That field name is not valid: {e}"))?;
        let field = field_value(form)?;
        let node = state.node.clone();
        let shown = name.clone();
        let updates = blocking(move || node.set_field(name, field, now()))
            .await
            .map_err(|e| e.to_string())?;
        let pushed = deliver_all(&state, updates).len();
        Ok(match pushed {
            0 => format!("Saved {shown}."),
            n => format!("Saved {shown}, and sent the new value to the {n} merchant(s) holding a live grant for it."),
        })
    }
    .await;
    done(&state, &posted.authed, "/fields", result)
}

async fn delete_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    posted: Posted,
) -> Response {
    let result = async {
        let name: FieldName = name
            .parse()
            .map_err(|e| format!("That field name is not valid: {e}"))?;
        let node = state.node.clone();
        let shown = name.clone();
        let updates = blocking(move || node.remove_field(&name, now()))
            .await
            .map_err(|e| e.to_string())?;
        deliver_all(&state, updates);
        Ok(format!("Removed {shown}."))
    }
    .await;
    done(&state, &posted.authed, "/fields", result)
}

async fn status(State(state): State<ApiState>, authed: Authed) -> Response {
    let node = state.node.clone();
    let inbox = match blocking(move || node.inbox_len()).await {
        Ok(n) => n,
        Err(e) => return failed(e),
    };
    let net = match state.passport.client() {
        Some(client) => client.status().await.ok(),
        None => None,
    };
    html(pages::status(
        &authed.chrome(&state, inbox),
        net.as_ref(),
        &state.page_url(),
    ))
}

/// Where a page's live stream starts.
#[derive(serde::Deserialize)]
struct Since {
    /// The change counter the page was rendered at.
    since: Option<u64>,
}

/// Server-sent events: `change` whenever the store commits something (or this
/// stream fell behind the node's events), and at once if something changed since
/// the page's `since`. Ends with the session, or when the server shuts down.
async fn events(
    State(state): State<ApiState>,
    authed: Authed,
    axum::extract::Query(Since { since }): axum::extract::Query<Since>,
) -> Response {
    let Ok(permit) = state.web.live.clone().try_acquire_owned() else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many pages are open on this node; close some, then reload.",
        );
    };
    // Subscribed before reading the count, so nothing committed in between is missed.
    let changes = state.passport.events();
    let node = state.node.clone();
    let stale = since.is_some_and(|since| since != node.commits());
    let closing = state.web.closing.subscribe();
    let until = tokio::time::Instant::from_std(authed.expires);
    let stream = futures::stream::unfold(
        (changes, closing, permit, stale),
        move |(mut changes, mut closing, permit, stale)| {
            let node = node.clone();
            async move {
                if *closing.borrow() {
                    return None;
                }
                if !stale {
                    tokio::select! {
                        changed = changes.next() => changed?,
                        _ = closing.changed() => return None,
                        () = tokio::time::sleep_until(until) => return None,
                    };
                }
                let count = node.commits();
                let event = Event::default().event("change").data(count.to_string());
                Some((
                    Ok::<_, Infallible>(event),
                    (changes, closing, permit, false),
                ))
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
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

    #[test]
    fn sessions_are_bounded_and_the_oldest_goes_first() {
        let web = Web::new(1);
        let first = web.start_session();
        for _ in 0..MAX_SESSIONS {
            web.start_session();
        }
        let sessions = web.sessions();
        assert_eq!(sessions.len(), MAX_SESSIONS);
        assert!(!sessions.contains_key(&first));
    }

    #[test]
    fn field_values_come_from_the_form_in_three_kinds() {
        let form = |kind: &str, v: &str| {
            vec![
                ("kind".to_string(), kind.to_string()),
                ("value".to_string(), v.to_string()),
            ]
        };
        assert_eq!(
            field_value(&form("text", " Ada ")),
            Ok(FieldValue::Text("Ada".into()))
        );
        assert!(matches!(
            field_value(&form("date", "1815-12-10")),
            Ok(FieldValue::Date(_))
        ));
        let parts =
            field_value(&form("parts", "city=Lyon\n\nstreet = 12 Rue des Lilas\n")).unwrap();
        assert_eq!(parts.to_string(), "city: Lyon, street: 12 Rue des Lilas");
        assert!(
            field_value(&form("text", "  "))
                .unwrap_err()
                .contains("Enter a value")
        );
        assert!(
            field_value(&form("date", "10/12/1815"))
                .unwrap_err()
                .contains("YYYY-MM-DD")
        );
        assert!(
            field_value(&form("parts", "city"))
                .unwrap_err()
                .contains("name=value")
        );
    }
}
