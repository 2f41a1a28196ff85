//! [`LocalApi`]: the API served in-process, without a socket or a network.

use axum::{
    Router,
    http::{StatusCode, header},
};
use serde_json::Value;

use super::state::ApiState;
use crate::{node::Node, passport::Passport};

/// The API over a store whose network is not running, called in-process (no socket):
/// what the `passport` command uses when no node runs, so that both paths share one
/// implementation and one JSON shape.
pub struct LocalApi {
    router: Router,
    token: String,
    state: ApiState,
}

/// The Host header a [`LocalApi`] accepts.
const LOCAL_HOST: &str = "passport.local";

impl LocalApi {
    /// The API over `node`, without a network.
    pub fn new(node: Node) -> Self {
        Self::over(Passport::offline(node))
    }

    /// The API over a running `passport` (what a linked device's calls go
    /// through on its home node).
    pub fn over(passport: Passport) -> Self {
        let token = crate::home::random_token();
        let state = ApiState::from_parts(passport, &token, vec![LOCAL_HOST.to_string()], 0);
        Self {
            router: super::router(state.clone()),
            token,
            state,
        }
    }

    /// Calls `method path` with an optional JSON body. Returns the status and the
    /// body's bytes; the API's own errors are among those answers (a status and
    /// `{"error": "..."}`), and only a request that cannot be made or an answer that
    /// cannot be read is an error here.
    pub async fn call(
        &self,
        method: axum::http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Vec<u8>), LocalApiError> {
        self.call_as(&self.token, method, path, body).await
    }

    /// [`LocalApi::call`] with the bearer `token` (a scoped one reaches only its
    /// scope's routes).
    pub async fn call_as(
        &self,
        token: &str,
        method: axum::http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Vec<u8>), LocalApiError> {
        use tower::ServiceExt as _;
        let call = format!("{method} {path}");
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, LOCAL_HOST)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(v.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let request = request.body(body).map_err(|e| LocalApiError::Request {
            call: call.clone(),
            detail: e.to_string(),
        })?;
        // A router never fails to answer: its error type is `Infallible`.
        let Ok(response) = self.router.clone().oneshot(request).await;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| LocalApiError::Answer {
                call,
                detail: e.to_string(),
            })?;
        Ok((status, bytes.to_vec()))
    }
}

/// A consent page request a linked device's browser made, as its home node runs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageRequest {
    /// The HTTP method.
    pub method: String,
    /// The path and query, e.g. `/grants` or `/events?since=3`.
    pub path: String,
    /// The body's content type, if it has a body (a form).
    pub content_type: Option<String>,
    /// The body (a form, at most [`MAX_PAGE_BODY`] bytes).
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// The page's own live refresh (`X-Passport-Live`).
    pub live: bool,
}

/// Largest form a device's page request carries: 64 KiB.
pub const MAX_PAGE_BODY: usize = 64 * 1024;

/// The consent page's answer to a [`PageRequest`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The headers a browser needs (type, location, caching and security
    /// policies); never a cookie.
    pub headers: Vec<(String, String)>,
    /// The body.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// The answer headers a device's page passes on to its browser.
const PAGE_HEADERS: [header::HeaderName; 7] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::CACHE_CONTROL,
    header::CONTENT_SECURITY_POLICY,
    header::X_FRAME_OPTIONS,
    header::REFERRER_POLICY,
    header::X_CONTENT_TYPE_OPTIONS,
];

impl LocalApi {
    /// Starts a page session, as a login would: the device tunnel's, whose
    /// delegation stands for the login.
    pub fn start_page_session(&self) -> String {
        self.state.web.start_session()
    }

    /// Runs a device's page request in page session `session`.
    pub async fn page(
        &self,
        session: &str,
        request: &PageRequest,
    ) -> Result<PageAnswer, LocalApiError> {
        use tower::ServiceExt as _;
        let call = format!("{} {}", request.method, request.path);
        let failed = |detail: String| LocalApiError::Request {
            call: call.clone(),
            detail,
        };
        let method = axum::http::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| failed(e.to_string()))?;
        let mut builder = axum::http::Request::builder()
            .method(method)
            .uri(&request.path)
            .header(header::HOST, LOCAL_HOST)
            .header("sec-fetch-site", "same-origin")
            .header(
                header::COOKIE,
                format!("{}={session}", self.state.web.session_cookie),
            );
        if let Some(kind) = &request.content_type {
            builder = builder.header(header::CONTENT_TYPE, kind);
        }
        if request.live {
            builder = builder.header(super::web::LIVE_HEADER, "1");
        }
        let body = axum::body::Body::from(request.body.clone());
        let built = builder.body(body).map_err(|e| failed(e.to_string()))?;
        let Ok(response) = self.router.clone().oneshot(built).await;
        let status = response.status().as_u16();
        let headers = PAGE_HEADERS
            .iter()
            .filter_map(|name| {
                let value = response.headers().get(name)?.to_str().ok()?;
                Some((name.as_str().to_string(), value.to_string()))
            })
            .collect();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| LocalApiError::Answer {
                call,
                detail: e.to_string(),
            })?;
        Ok(PageAnswer {
            status,
            headers,
            body: bytes.to_vec(),
        })
    }
}

/// Largest answer [`LocalApi::call`] reads: 16 MiB.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Why [`LocalApi::call`] got no answer: a failure of the in-process call itself,
/// not of the operation asked for (those come back as answers).
#[derive(Debug, thiserror::Error)]
pub enum LocalApiError {
    /// The method, path or body does not make an HTTP request (a path with a space
    /// or another character that must be percent-encoded, say).
    #[error(
        "could not make the request `{call}` to the in-process API ({detail}): percent-encode the path"
    )]
    Request {
        /// The method and path asked for.
        call: String,
        /// What was wrong with them.
        detail: String,
    },
    /// The answer's body could not be read (larger than 16 MiB, say).
    #[error(
        "could not read the in-process API's answer to `{call}` ({detail}): start `passport node` and run the command again, to ask it over HTTP"
    )]
    Answer {
        /// The method and path asked for.
        call: String,
        /// Why the body could not be read.
        detail: String,
    },
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::*;
    use crate::NodeConfig;

    #[tokio::test]
    async fn its_own_failures_are_its_own_errors_not_a_refused_grant() {
        let api = LocalApi::new(Node::in_memory(NodeConfig::default()).unwrap());
        let (status, _) = api.call(Method::GET, "/v1/fields", None).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        // Before, this read "cannot grant: invalid uri character".
        let err = api
            .call(Method::GET, "/v1/fields/a b", None)
            .await
            .unwrap_err();
        assert!(matches!(err, LocalApiError::Request { .. }), "{err:?}");
        let text = err.to_string();
        assert!(!text.contains("cannot grant"), "{text}");
        assert!(
            text.starts_with("could not make the request `GET /v1/fields/a b`"),
            "{text}"
        );
    }
}
