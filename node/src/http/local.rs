//! [`LocalApi`]: the API served in-process, without a socket or a network.

use axum::{
    Router,
    http::{StatusCode, header},
};
use serde_json::Value;

use super::state::ApiState;
use crate::{error::NodeError, metrics::Metrics, node::Node};

/// The API over a store whose network is not running, called in-process (no socket):
/// what the `passport` command uses when no node runs, so that both paths share one
/// implementation and one JSON shape.
pub struct LocalApi {
    router: Router,
    token: String,
}

/// The Host header a [`LocalApi`] accepts.
const LOCAL_HOST: &str = "passport.local";

impl LocalApi {
    /// The API over `node`, without a network.
    pub fn new(node: Node) -> Self {
        let token = crate::home::random_token();
        let state = ApiState::from_parts(
            node,
            None,
            Metrics::default(),
            &token,
            vec![LOCAL_HOST.to_string()],
            0,
        );
        Self {
            router: super::router(state),
            token,
        }
    }

    /// Calls `method path` with an optional JSON body. Returns the status and the
    /// body's bytes.
    pub async fn call(
        &self,
        method: axum::http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Vec<u8>), NodeError> {
        use tower::ServiceExt as _;
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, LOCAL_HOST)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        let body = match body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                axum::body::Body::from(v.to_string())
            }
            None => axum::body::Body::empty(),
        };
        let request = request
            .body(body)
            .map_err(|e| NodeError::InvalidChoice(e.to_string()))?;
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| NodeError::InvalidChoice(e.to_string()))?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .map_err(|e| NodeError::InvalidChoice(e.to_string()))?;
        Ok((status, bytes.to_vec()))
    }
}
