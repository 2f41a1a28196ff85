//! What every handler shares: [`ApiState`] (the node, the network, the token, the
//! accepted `Host` names and the consent page's sessions), the [`ApiError`] every
//! JSON handler answers with, and the helpers the API and the page both use to run
//! store work (`blocking`) and to send what it made (`deliver_all`).

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
    error::NodeError,
    home::Home,
    metrics::Metrics,
    net::{Client, NetError},
    node::{Node, Outgoing},
};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) node: Node,
    /// `None` when the API serves a store without a running network (the `passport`
    /// command on a stopped node): network routes answer 503, and messages made wait
    /// in the durable outbox until the node runs.
    pub(crate) client: Option<Client>,
    pub(super) metrics: Metrics,
    pub(crate) token: Arc<str>,
    /// The `Host` values accepted; the first is the bound address.
    pub(super) hosts: Arc<[String]>,
    /// Set when the page may be logged into with the passphrase (the token always
    /// works).
    pub(crate) home: Option<Home>,
    pub(crate) web: Arc<Web>,
}

impl ApiState {
    /// State for an API bound to `addr`, guarded by `token`, serving `metrics` (pass
    /// the same [`Metrics`] given to [`net::with_metrics`](crate::net::with_metrics)).
    pub fn new(
        node: Node,
        client: Client,
        metrics: Metrics,
        token: String,
        addr: SocketAddr,
    ) -> Self {
        let port = addr.port();
        let mut hosts = vec![addr.to_string()];
        if addr.ip().is_loopback() {
            hosts.extend([
                format!("localhost:{port}"),
                format!("127.0.0.1:{port}"),
                format!("[::1]:{port}"),
            ]);
        }
        Self::from_parts(node, Some(client), metrics, &token, hosts, port)
    }

    pub(super) fn from_parts(
        node: Node,
        client: Option<Client>,
        metrics: Metrics,
        token: &str,
        hosts: Vec<String>,
        port: u16,
    ) -> Self {
        Self {
            node,
            client,
            metrics,
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
        self.client.as_ref().ok_or_else(|| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "this needs the network, and the node is not running: start it with `passport node`".into(),
            )
        })
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

    /// Ends every live stream, so that a graceful shutdown does not wait on them.
    pub(crate) fn close(&self) {
        self.closing.send_replace(true);
    }

    pub(super) fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

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
            | NodeError::UnknownPolicy(_) => StatusCode::NOT_FOUND,
            NodeError::GrantRevoked(_) | NodeError::GrantExpired(_) | NodeError::GrantErased(_) => {
                StatusCode::GONE
            }
            NodeError::InvalidChoice(_) | NodeError::Protocol(_) | NodeError::NotYours { .. } => {
                StatusCode::BAD_REQUEST
            }
            NodeError::InboxFull(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self(status, e.to_string())
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

/// Runs blocking node work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, NodeError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from)
}

/// Delivers messages in the background, retrying until they expire; each stays in
/// the node's durable outbox until then. Without a network (a
/// [`LocalApi`](super::LocalApi)), they wait in the outbox for the node to start.
/// Returns the recipients, one per message.
pub(crate) fn deliver_all(state: &ApiState, outgoing: Vec<Outgoing>) -> Vec<PassportId> {
    outgoing
        .into_iter()
        .map(|out| {
            let to = out.to;
            if let Some(client) = &state.client {
                client.spawn_delivery(&state.node, out);
            }
            to
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeConfig;

    #[test]
    fn the_page_is_named_by_the_bound_address_or_else_the_first_configured_host() {
        let node = Node::in_memory(NodeConfig::default()).unwrap();
        let state = |hosts: &[&str]| {
            ApiState::from_parts(
                node.clone(),
                None,
                Metrics::default(),
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
