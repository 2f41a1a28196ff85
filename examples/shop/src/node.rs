//! The merchant node's HTTP API, as the shop uses it: send a request, read a
//! request's lifecycle, read a grant's values, confirm an erasure. Plain HTTP and
//! JSON with a bearer token, read leniently (unknown members are ignored).

use std::{collections::BTreeMap, fmt, time::Duration};

use reqwest::{
    Method, StatusCode,
    header::{AUTHORIZATION, HeaderValue},
};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// Largest answer read from the node.
const MAX_ANSWER: usize = 1024 * 1024;

/// How long one call may take: sending a request looks the person's node up in
/// the DHT, which can take a while.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The merchant node's API token. Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// The token in `text` (surrounding whitespace ignored, so a file's content
    /// with a final newline works).
    pub fn new(text: &str) -> Result<Self, NodeError> {
        let token = text.trim();
        if token.is_empty() || HeaderValue::from_str(token).is_err() {
            return Err(NodeError::BadToken);
        }
        Ok(Self(Zeroizing::new(token.to_string())))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Why a call to the node failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The token is empty or not printable.
    #[error(
        "the node's API token is empty or holds unprintable characters: give the content of the node's api.token"
    )]
    BadToken,
    /// The node's address is not an http(s) URL.
    #[error(
        "the node's API address {0:?} is not an http:// or https:// URL: give e.g. http://127.0.0.1:7878"
    )]
    BadUrl(String),
    /// No answer (not running, wrong address, timeout).
    #[error(
        "the merchant node at {url} did not answer ({error}): is `passport node` running there?"
    )]
    Unreachable {
        /// The node's API.
        url: String,
        /// What the HTTP client said.
        error: String,
    },
    /// The node answered with an error.
    #[error("the merchant node said {status}: {message}")]
    Refused {
        /// Its status code.
        status: StatusCode,
        /// Its `error` member, or the body.
        message: String,
    },
    /// The node's answer was not what the shop expected.
    #[error(
        "the merchant node's answer was not understood ({0}): check that the shop and the node versions match"
    )]
    BadAnswer(String),
}

impl NodeError {
    /// Whether trying again later may succeed (no answer, or a 5xx or 429).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }

    fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What the node answered to a request, at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    /// The request's id.
    pub(crate) request_id: String,
    /// Where it stands now.
    pub(crate) now: Lifecycle,
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// No answer from the person yet.
    Waiting,
    /// Granted.
    Granted {
        /// The grant.
        grant_id: String,
    },
    /// Refused.
    Refused {
        /// The person's reason.
        reason: String,
    },
    /// Ran out of time.
    Expired,
    /// Could not be delivered.
    Failed {
        /// Why.
        reason: String,
    },
}

/// Whether the node took an erasure confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confirmed {
    /// It did.
    Yes,
    /// It does not hold that grant (404).
    NotHeld,
    /// It holds the grant but waits for no confirmation of it (409): the grant is
    /// live, or its receipt went out already.
    NothingWaiting,
}

/// A client of the merchant node's API.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    base: String,
    token: Token,
    http: reqwest::Client,
}

impl Node {
    /// A client of the API at `url` (e.g. `http://127.0.0.1:7878`).
    pub(crate) fn new(url: &str, token: Token) -> Result<Self, NodeError> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(NodeError::BadUrl(url.to_string()));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NodeError::BadUrl(format!("{url}: {e}")))?;
        Ok(Self { base, token, http })
    }

    /// Asks `person` for `fields`, for `purpose`, for `duration_secs`.
    pub(crate) async fn request(
        &self,
        person: &str,
        fields: &[(&str, &str)],
        purpose: &str,
        duration_secs: u64,
    ) -> Result<Sent, NodeError> {
        let body = json!({
            "to": person,
            "fields": fields
                .iter()
                .map(|(name, reason)| json!({"name": name, "reason": reason}))
                .collect::<Vec<_>>(),
            "purpose": purpose,
            "duration_secs": duration_secs,
        });
        let answer = self.call(Method::POST, "/v1/requests", Some(body)).await?;
        let request_id = string(&answer, "request_id")?;
        // `{"result": {"status": ...}}` (views::RequestOutcome), or a flat `status`.
        let result = answer
            .get("result")
            .filter(|r| !r.is_null())
            .unwrap_or(&answer);
        let now = match result.get("status").and_then(Value::as_str) {
            Some("granted") => Lifecycle::Granted {
                grant_id: string(result, "grant").or_else(|_| string(result, "grant_id"))?,
            },
            Some("refused") => Lifecycle::Refused {
                reason: result
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            },
            _ => Lifecycle::Waiting,
        };
        Ok(Sent { request_id, now })
    }

    /// Where the request `request_id` stands (`GET /v1/requests/{id}`); `None` if
    /// the node does not know it (or has no such route).
    pub(crate) async fn lifecycle(&self, request_id: &str) -> Result<Option<Lifecycle>, NodeError> {
        let path = format!("/v1/requests/{}", segment(request_id));
        let answer = match self.call(Method::GET, &path, None).await {
            Ok(answer) => answer,
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => return Ok(None),
            Err(e) => return Err(e),
        };
        let reason = || {
            answer
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(Some(match answer.get("state").and_then(Value::as_str) {
            Some("granted") => Lifecycle::Granted {
                grant_id: string(&answer, "grant_id")?,
            },
            Some("refused") => Lifecycle::Refused { reason: reason() },
            Some("expired") => Lifecycle::Expired,
            Some("failed") => Lifecycle::Failed { reason: reason() },
            Some(_) => Lifecycle::Waiting,
            None => return Err(NodeError::BadAnswer("no `state` member".into())),
        }))
    }

    /// The values under `grant_id`, each as text (`GET /v1/received/{id}/values`).
    pub(crate) async fn values(
        &self,
        grant_id: &str,
    ) -> Result<BTreeMap<String, String>, NodeError> {
        let path = format!("/v1/received/{}/values", segment(grant_id));
        let answer = self.call(Method::GET, &path, None).await?;
        let Value::Object(fields) = answer else {
            return Err(NodeError::BadAnswer("the values are not an object".into()));
        };
        Ok(fields
            .into_iter()
            .map(|(name, value)| (name, text(&value)))
            .collect())
    }

    /// Tells the node the shop erased the data under `grant_id`
    /// (`POST /v1/grants/{id}/erased`). A 404 or 409 is an answer, not an error:
    /// there is nothing (more) to confirm.
    pub(crate) async fn confirm_erased(&self, grant_id: &str) -> Result<Confirmed, NodeError> {
        let path = format!("/v1/grants/{}/erased", segment(grant_id));
        match self.call(Method::POST, &path, None).await {
            Ok(_) => Ok(Confirmed::Yes),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(Confirmed::NotHeld),
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(Confirmed::NothingWaiting),
            Err(e) => Err(e),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, NodeError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token.0.as_str()))
            .map_err(|_| NodeError::BadToken)?;
        auth.set_sensitive(true);
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(AUTHORIZATION, auth);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let unreachable = |e: reqwest::Error| NodeError::Unreachable {
            url: self.base.clone(),
            error: e.without_url().to_string(),
        };
        let mut response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(NodeError::BadAnswer(format!("over {MAX_ANSWER} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(300).collect());
            return Err(NodeError::Refused { status, message });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| NodeError::BadAnswer(e.to_string()))
    }
}

fn string(value: &Value, member: &str) -> Result<String, NodeError> {
    value
        .get(member)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| NodeError::BadAnswer(format!("no `{member}` member")))
}

/// An id as one URL path segment: ids are base58 or hex, but a stray character
/// must not change the path.
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A field's value as text: `{"text": "Ada"}` -> `Ada`, `{"date": "1990-04-23"}`
/// -> `1990-04-23`, `{"structured": {"city": "Lyon", "street": ...}}` -> `<street>,
/// Lyon` (address parts in parcel order, then any others).
fn text(value: &Value) -> String {
    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum FieldValue {
        Text(String),
        Date(String),
        Structured(BTreeMap<String, String>),
    }
    match serde_json::from_value::<FieldValue>(value.clone()) {
        Ok(FieldValue::Text(t) | FieldValue::Date(t)) => t,
        Ok(FieldValue::Structured(mut parts)) => {
            // An address reads in the order it is written on a parcel.
            let mut text: Vec<String> = ["street", "postcode", "city", "region", "country"]
                .iter()
                .filter_map(|part| parts.remove(*part))
                .collect();
            text.extend(parts.into_values());
            text.join(", ")
        }
        Err(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_text() {
        assert_eq!(text(&json!({"text": "Ada"})), "Ada");
        assert_eq!(text(&json!({"date": "1990-04-23"})), "1990-04-23");
        assert_eq!(
            text(&json!({"structured": {
                "city": "Lyon", "postcode": "69001", "street": "12 Rue des Lilas", "floor": "2"
            }})),
            "12 Rue des Lilas, 69001, Lyon, 2"
        );
        assert_eq!(text(&json!(42)), "42");
    }

    #[test]
    fn ids_stay_one_path_segment() {
        assert_eq!(segment("abc-_09"), "abc-_09");
        assert_eq!(segment("../x"), "%2E%2E%2Fx");
    }

    #[test]
    fn tokens_and_urls_are_checked_and_tokens_never_shown() {
        assert!(matches!(Token::new(" \n"), Err(NodeError::BadToken)));
        assert!(matches!(Token::new("a\u{7}b"), Err(NodeError::BadToken)));
        let token = Token::new("secret-token\n").unwrap();
        assert_eq!(format!("{token:?}"), "Token(..)");
        let node = Node::new("http://127.0.0.1:1/", token.clone()).unwrap();
        assert_eq!(node.base, "http://127.0.0.1:1");
        assert!(!format!("{node:?}").contains("secret-token"));
        assert!(matches!(
            Node::new("127.0.0.1:1", token),
            Err(NodeError::BadUrl(_))
        ));
    }
}
