//! What every handler shares: [`ApiState`] (the [`Passport`] handle, the token, the
//! accepted `Host` names and the consent page's sessions), the [`ApiError`] every
//! JSON handler answers with, and `recipients`, the list of where what a handler
//! sent is going. Store and network work goes through the handle.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use passport_protocol::PassportId;
use tokio::sync::{Semaphore, watch};

use super::views::ErrorBody;
use crate::{
    backup::BackupError,
    error::NodeError,
    home::Home,
    net::{Client, NetError},
    passport::{Passport, PassportError, Sending},
};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The node served. Without a network (the `passport` command on a stopped
    /// node), network routes answer 503 and messages made wait in the durable
    /// outbox until the node runs.
    pub(crate) passport: Passport,
    pub(crate) token: Arc<str>,
    /// The `Host` values accepted; the first is the bound address.
    pub(super) hosts: Arc<[String]>,
    /// Set when the page may be logged into with the passphrase (the token always
    /// works).
    pub(crate) home: Option<Home>,
    pub(crate) web: Arc<Web>,
}

impl ApiState {
    /// State for an API over `passport`, bound to `addr`, guarded by `token`.
    pub fn new(passport: Passport, token: String, addr: SocketAddr) -> Self {
        let port = addr.port();
        let mut hosts = vec![addr.to_string()];
        if addr.ip().is_loopback() {
            hosts.extend([
                format!("localhost:{port}"),
                format!("127.0.0.1:{port}"),
                format!("[::1]:{port}"),
            ]);
        }
        Self::from_parts(passport, &token, hosts, port)
    }

    pub(super) fn from_parts(
        passport: Passport,
        token: &str,
        hosts: Vec<String>,
        port: u16,
    ) -> Self {
        Self {
            passport,
            token: token.into(),
            hosts: hosts.into(),
            home: None,
            web: Arc::new(Web::new(port)),
        }
    }

    /// Also answers to these `Host` values (`name:port`), for opening the page from
    /// another device (`[api] hosts`). The first becomes the page's address when
    /// the server listens on every interface.
    pub fn with_hosts(mut self, extra: &[String]) -> Self {
        let mut hosts = self.hosts.to_vec();
        hosts.extend(extra.iter().cloned());
        self.hosts = hosts.into();
        self
    }

    /// Lets the consent page be logged into with the passphrase of the passport in
    /// `home`, besides the token.
    pub fn with_passphrase_login(mut self, home: Home) -> Self {
        self.home = Some(home);
        self
    }

    /// The consent page's address, e.g. `http://127.0.0.1:7117/`: the bound address,
    /// or, when that is every interface, the first name in `[api] hosts`.
    pub fn page_url(&self) -> String {
        let everywhere = self
            .hosts
            .first()
            .and_then(|h| h.parse::<SocketAddr>().ok())
            .is_some_and(|a| a.ip().is_unspecified());
        let host = self
            .hosts
            .get(usize::from(everywhere))
            .or(self.hosts.first());
        format!("http://{}/", host.map_or("", String::as_str))
    }

    /// Whether `host` (a `Host` header's value) names this server.
    pub(crate) fn accepts_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }

    pub(super) fn net(&self) -> Result<&Client, ApiError> {
        self.passport
            .client()
            .ok_or_else(|| PassportError::Offline.into())
    }
}

/// Most sessions kept at once; a new login past this ends the oldest.
pub const MAX_SESSIONS: usize = 32;
/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3_600);
/// Most live-update streams open at once.
pub const MAX_LIVE_STREAMS: usize = 16;

/// The page's state, shared by every handler through [`ApiState`]. It lives here
/// rather than in [`web`](super::web) so that the shared state does not depend on
/// the page.
pub(crate) struct Web {
    sessions: Mutex<HashMap<String, Session>>,
    pub(super) login: tokio::sync::Mutex<()>,
    pub(super) live: Arc<Semaphore>,
    pub(super) closing: watch::Sender<bool>,
    pub(super) session_cookie: String,
    pub(super) login_cookie: String,
}

/// One logged-in browser.
pub(super) struct Session {
    csrf: String,
    expires: Instant,
    flash: Option<Flash>,
}

/// A one-time message shown on the next page: what an action did, or why it failed.
#[derive(Debug, Clone)]
pub(crate) struct Flash {
    pub(super) ok: bool,
    pub(super) text: String,
}

impl Web {
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

    /// Room for one more live stream (a page's or the API's `/v1/events`), and a
    /// watch that turns true when the server shuts down; `None` when
    /// [`MAX_LIVE_STREAMS`] are open.
    pub(crate) fn live_stream(
        &self,
    ) -> Option<(tokio::sync::OwnedSemaphorePermit, watch::Receiver<bool>)> {
        let permit = self.live.clone().try_acquire_owned().ok()?;
        Some((permit, self.closing.subscribe()))
    }

    /// Ends every live stream, so that a graceful shutdown does not wait on them.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    pub(super) fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[expect(
        clippy::disallowed_methods,
        reason = "an HTTP session lasts in wall-clock time"
    )]
    pub(super) fn start_session(&self) -> String {
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
    #[expect(
        clippy::disallowed_methods,
        reason = "an HTTP session lasts in wall-clock time"
    )]
    pub(super) fn session(&self, id: &str) -> Option<(String, Instant)> {
        let mut sessions = self.sessions();
        let session = sessions.get(id)?;
        if session.expires <= Instant::now() {
            sessions.remove(id);
            return None;
        }
        Some((session.csrf.clone(), session.expires))
    }

    pub(super) fn take_flash(&self, session: &str) -> Option<Flash> {
        self.sessions().get_mut(session)?.flash.take()
    }

    pub(super) fn flash(&self, session: &str, ok: bool, text: impl Into<String>) {
        if let Some(s) = self.sessions().get_mut(session) {
            s.flash = Some(Flash {
                ok,
                text: text.into(),
            });
        }
    }
}

/// An error as the API reports it: a status and `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub(super) StatusCode, pub(super) String);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        let status = match &e {
            NodeError::UnknownField(_)
            | NodeError::UnknownGrant(_)
            | NodeError::UnknownRequest(_)
            | NodeError::UnknownSentRequest(_)
            | NodeError::UnknownWebhook(_)
            | NodeError::UnknownPolicy(_)
            | NodeError::UnknownToken(_)
            | NodeError::UnknownDelivered(_) => StatusCode::NOT_FOUND,
            NodeError::NoErasureWaiting(_) | NodeError::DeliveryRefused(_) => StatusCode::CONFLICT,
            NodeError::GrantRevoked(_) | NodeError::GrantExpired(_) | NodeError::GrantErased(_) => {
                StatusCode::GONE
            }
            NodeError::InvalidChoice(_)
            | NodeError::InvalidInput(_)
            | NodeError::Protocol(_)
            | NodeError::NotYours { .. }
            | NodeError::Attestation { .. }
            | NodeError::TokenRefused(_) => StatusCode::BAD_REQUEST,
            NodeError::InboxFull(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self(status, e.to_string())
    }
}

impl From<PassportError> for ApiError {
    fn from(e: PassportError) -> Self {
        match e {
            PassportError::Node(e) => e.into(),
            PassportError::Net(e) => e.into(),
            PassportError::Offline => Self(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            PassportError::AlreadySending => Self(StatusCode::CONFLICT, e.to_string()),
            PassportError::Backup(BackupError::Node(e)) => e.into(),
            _ => Self(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

impl From<NetError> for ApiError {
    fn from(e: NetError) -> Self {
        let status = match &e {
            NetError::NotFound(_) => StatusCode::NOT_FOUND,
            NetError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            NetError::Busy | NetError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            NetError::Refused(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_GATEWAY,
        };
        Self(status, e.to_string())
    }
}

pub(super) fn bad_request(message: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.to_string())
}

pub(crate) use crate::node::system_now as now;

/// The recipients of messages on their way, one per message: what the answers'
/// `delivering_to` and `updates_to` list. The handle delivers them in the
/// background, retrying until they expire; each stays in the node's durable outbox
/// until then, and without a network (a [`LocalApi`](super::LocalApi)) waits there
/// for the node to start.
pub(crate) fn recipients(sending: Vec<Sending>) -> Vec<PassportId> {
    sending.into_iter().map(|s| s.to).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NodeConfig, node::Node};

    #[test]
    fn the_page_is_named_by_the_bound_address_or_else_the_first_configured_host() {
        let node = Node::in_memory(NodeConfig::default()).unwrap();
        let state = |hosts: &[&str]| {
            ApiState::from_parts(
                Passport::offline(node.clone()),
                "token",
                hosts.iter().map(|h| h.to_string()).collect(),
                7117,
            )
        };
        let lan = vec!["192.168.1.20:7117".to_string()];
        assert_eq!(
            state(&["127.0.0.1:7117", "localhost:7117"])
                .with_hosts(&lan)
                .page_url(),
            "http://127.0.0.1:7117/"
        );
        assert_eq!(
            state(&["0.0.0.0:7117"]).with_hosts(&lan).page_url(),
            "http://192.168.1.20:7117/"
        );
        assert_eq!(state(&["0.0.0.0:7117"]).page_url(), "http://0.0.0.0:7117/");
        assert!(
            state(&["0.0.0.0:7117"])
                .with_hosts(&lan)
                .accepts_host("192.168.1.20:7117")
        );
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
}
