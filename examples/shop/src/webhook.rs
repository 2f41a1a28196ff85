//! Webhooks from the merchant node, as [Standard Webhooks](https://www.standardwebhooks.com/)
//! defines them: the signature check ([`Verifier`]), the signing side for tests and
//! tools ([`WebhookSecret::sign`]), and the events the node sends ([`Event`]).
//!
//! A delivery carries three headers: `webhook-id` (stable across retries of one
//! event), `webhook-timestamp` (unix seconds of this attempt) and
//! `webhook-signature`, one or more space-separated `v1,<base64>` signatures, each an
//! HMAC-SHA256 keyed with the secret over `{id}.{timestamp}.{body}`. The verifier
//! refuses a bad signature (401), a timestamp more than [`TOLERANCE_SECS`] from now
//! (400) and an id it has already accepted (400).

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{Mutex, PoisonError},
};

use axum::http::{HeaderMap, StatusCode};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{KeyInit as _, Mac as _};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// How far a webhook's timestamp may be from now, either way, in seconds.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// How many accepted webhook ids the verifier remembers. An attacker replaying a
/// captured webhook must replay its timestamp too (the signature covers it), so an
/// id needs remembering only for [`TOLERANCE_SECS`]; this many covers far more
/// deliveries than a shop receives in that time.
pub const SEEN_IDS: usize = 10_000;

/// Longest `webhook-id` taken (the node's are `evt_` and 26 characters).
const MAX_ID_LEN: usize = 128;

/// Longest `webhook-signature` header taken: room for a few rotated keys.
const MAX_SIGNATURE_HEADER_LEN: usize = 1024;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A webhook signing secret: the key bytes behind a `whsec_...` string. Zeroized
/// on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    /// Reads `whsec_<base64 key>` (surrounding whitespace ignored, so the content
    /// of a file with a final newline works).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix("whsec_")
            .ok_or(SecretError::MissingPrefix)?;
        let key = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .map_err(|_| SecretError::NotBase64)?,
        );
        if key.len() < 16 {
            return Err(SecretError::TooShort(key.len()));
        }
        Ok(Self(key))
    }

    /// The `v1,<base64>` signature of `body` sent as webhook `id` at `timestamp`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// Why a webhook secret was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// It lacks the `whsec_` prefix.
    #[error(
        "a webhook secret starts with `whsec_`: copy it whole from the node's config.toml `[[webhook]] secret`"
    )]
    MissingPrefix,
    /// What follows the prefix is not base64.
    #[error(
        "the webhook secret after `whsec_` is not base64: copy it whole from the node's config.toml"
    )]
    NotBase64,
    /// The key is too short to be a secret.
    #[error(
        "the webhook secret holds only {0} bytes: use at least 16 random bytes, e.g. `whsec_$(openssl rand -base64 24)`"
    )]
    TooShort(usize),
}

/// Why a delivery was refused. [`WebhookError::status`] gives the HTTP answer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    /// A required header is missing or not text.
    #[error("missing or unreadable `{0}` header: send the Standard Webhooks headers")]
    MissingHeader(&'static str),
    /// The `webhook-id` header is too long.
    #[error("the `webhook-id` header is over {MAX_ID_LEN} bytes: send the event's id")]
    IdTooLong,
    /// The `webhook-timestamp` header is not unix seconds.
    #[error("the `webhook-timestamp` header is not unix seconds: send the attempt's time")]
    BadTimestamp,
    /// The timestamp is too far from now (a replay, or a wrong clock).
    #[error(
        "the webhook's timestamp is {0} s from now, over {TOLERANCE_SECS} s: refused as a possible replay (check both clocks)"
    )]
    Stale(i64),
    /// No signature matches.
    #[error(
        "no `v1` signature matches: the node signs with another secret (compare `[[webhook]] secret` with the shop's)"
    )]
    BadSignature,
    /// This very delivery (same id, same timestamp) was accepted before: someone
    /// replays a captured copy.
    #[error("webhook id {0:?} was already received with this timestamp: refused as a replay")]
    Replayed(String),
    /// The node posted an event again that the shop already handled, re-signed
    /// with a later timestamp (its answer to the first was lost): nothing to do,
    /// answered 2xx so that it stops retrying.
    #[error("webhook id {0:?} was already handled")]
    AlreadyHandled(String),
}

impl WebhookError {
    /// The HTTP status to answer with: 401 for a bad signature, 400 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadSignature => StatusCode::UNAUTHORIZED,
            Self::AlreadyHandled(_) => StatusCode::OK,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Checks deliveries against a secret and remembers the ids it accepted.
#[derive(Debug)]
pub struct Verifier {
    secret: WebhookSecret,
    seen: Mutex<SeenIds>,
}

impl Verifier {
    /// A verifier for `secret`, remembering up to [`SEEN_IDS`] ids.
    pub fn new(secret: WebhookSecret) -> Self {
        Self::with_capacity(secret, SEEN_IDS)
    }

    /// A verifier remembering up to `capacity` ids.
    pub fn with_capacity(secret: WebhookSecret, capacity: usize) -> Self {
        Self {
            secret,
            seen: Mutex::new(SeenIds::new(capacity)),
        }
    }

    /// Checks a delivery received at `now` (unix seconds); returns its
    /// `webhook-id`, now remembered as seen. The signature is checked before the
    /// id is looked up, so a forged delivery cannot mark an id as seen.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<String, WebhookError> {
        let id = header(headers, "webhook-id")?;
        if id.len() > MAX_ID_LEN {
            return Err(WebhookError::IdTooLong);
        }
        let timestamp: i64 = header(headers, "webhook-timestamp")?
            .trim()
            .parse()
            .map_err(|_| WebhookError::BadTimestamp)?;
        let skew = timestamp.saturating_sub(now);
        if skew.saturating_abs() > TOLERANCE_SECS {
            return Err(WebhookError::Stale(skew));
        }
        let signatures = header(headers, "webhook-signature")?;
        if signatures.len() > MAX_SIGNATURE_HEADER_LEN {
            return Err(WebhookError::BadSignature);
        }
        let expected = self.secret.mac(id, timestamp, body);
        let matches = signatures
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|s| STANDARD.decode(s).ok())
            .any(|given| bool::from(given.ct_eq(&expected)));
        if !matches {
            return Err(WebhookError::BadSignature);
        }
        match self.seen().insert(id, timestamp) {
            Seen::New => Ok(id.to_string()),
            Seen::SameDelivery => Err(WebhookError::Replayed(id.to_string())),
            Seen::Retried => Err(WebhookError::AlreadyHandled(id.to_string())),
        }
    }

    /// Forgets `id`, accepted by [`Verifier::verify`] but not handled (the shop
    /// answered with an error): the node's retry of it must get through.
    pub fn forget(&self, id: &str) {
        self.seen().remove(id);
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, SeenIds> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, WebhookError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(WebhookError::MissingHeader(name))
}

/// What [`SeenIds::insert`] found.
enum Seen {
    /// A new id, now remembered.
    New,
    /// The id, with the timestamp it was first accepted with: a copy.
    SameDelivery,
    /// The id, re-signed later: the node's retry of an event handled already.
    Retried,
}

/// The last `capacity` ids accepted, with the timestamp each was accepted with,
/// oldest dropped first.
#[derive(Debug)]
struct SeenIds {
    capacity: usize,
    order: VecDeque<String>,
    set: HashMap<String, i64>,
}

impl SeenIds {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashMap::new(),
        }
    }

    /// Remembers `id`, accepted with `timestamp`, unless it was already there.
    fn insert(&mut self, id: &str, timestamp: i64) -> Seen {
        if let Some(&first) = self.set.get(id) {
            // Only the node can sign a later timestamp; a copy carries the first.
            return if timestamp > first {
                Seen::Retried
            } else {
                Seen::SameDelivery
            };
        }
        while self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(id.to_string());
        self.set.insert(id.to_string(), timestamp);
        Seen::New
    }

    fn remove(&mut self, id: &str) {
        if self.set.remove(id).is_some() {
            self.order.retain(|seen| seen != id);
        }
    }
}

/// One event from the merchant node. Bodies carry ids and field names, never
/// values: the shop reads values through the node's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A person granted a request (`grant.received`).
    GrantReceived(GrantReceived),
    /// A person refused a request (`request.refused`).
    RequestRefused {
        /// The request.
        request_id: String,
        /// The person's reason.
        reason: String,
    },
    /// A request ran out of time unanswered (`request.expired`).
    RequestExpired {
        /// The request.
        request_id: String,
    },
    /// A person pushed new values under a live grant (`update.received`).
    UpdateReceived {
        /// The grant.
        grant_id: String,
    },
    /// Grants ended: their data must go (`grant.revoked`, `grant.expired`,
    /// `erase.requested`).
    Ended(Ended),
    /// `webhook.test`, or a type this shop does not know.
    Other(String),
}

/// The data of `grant.received`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GrantReceived {
    /// The request granted (`null` from a node that did not record it).
    #[serde(default)]
    pub request_id: Option<String>,
    /// The new grant.
    pub grant_id: String,
    /// The person (a `did:key:` id).
    pub person: String,
    /// The fields granted (maybe fewer than asked).
    #[serde(default)]
    pub fields: Vec<String>,
    /// When the grant ends (RFC 3339).
    pub expires_at: String,
}

/// Why grants ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The person revoked them.
    Revoked,
    /// Their time ran out.
    Expired,
    /// The person asked for everything about them to be erased.
    EraseRequested,
}

impl EndReason {
    /// The event type that says so.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Revoked => "grant.revoked",
            Self::Expired => "grant.expired",
            Self::EraseRequested => "erase.requested",
        }
    }
}

/// The data of `grant.revoked`, `grant.expired` and `erase.requested`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// Which event.
    pub reason: EndReason,
    /// The grants whose data must go.
    pub grant_ids: Vec<String>,
    /// The person.
    pub person: String,
    /// Whether the node waits for this shop to confirm the erasure before it sends
    /// the person a deletion receipt.
    pub confirm_erasure: bool,
}

/// Why a verified body was not understood.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not the `{"type", "timestamp", "data"}` envelope, or a known type with other data.
    #[error("the webhook body is not a Passport event ({0}): update the shop or the node")]
    Shape(#[from] serde_json::Error),
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: serde_json::Value,
}

#[derive(Deserialize)]
struct RefusedData {
    request_id: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
struct ExpiredData {
    request_id: String,
}

#[derive(Deserialize)]
struct UpdateData {
    grant_id: String,
}

#[derive(Deserialize)]
struct EndedData {
    grant_ids: Vec<String>,
    person: String,
    #[serde(default)]
    confirm_erasure: bool,
}

impl Event {
    /// Reads a delivery's body. Unknown types are [`Event::Other`], so a newer
    /// node's events do not fail.
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        let envelope: Envelope = serde_json::from_slice(body)?;
        let data = envelope.data;
        let ended = |reason| -> Result<Self, EventError> {
            let d: EndedData = serde_json::from_value(data.clone())?;
            Ok(Self::Ended(Ended {
                reason,
                grant_ids: d.grant_ids,
                person: d.person,
                confirm_erasure: d.confirm_erasure,
            }))
        };
        Ok(match envelope.kind.as_str() {
            "grant.received" => Self::GrantReceived(serde_json::from_value(data)?),
            "request.refused" => {
                let d: RefusedData = serde_json::from_value(data)?;
                Self::RequestRefused {
                    request_id: d.request_id,
                    reason: d.reason,
                }
            }
            "request.expired" => {
                let d: ExpiredData = serde_json::from_value(data)?;
                Self::RequestExpired {
                    request_id: d.request_id,
                }
            }
            "update.received" => {
                let d: UpdateData = serde_json::from_value(data)?;
                Self::UpdateReceived {
                    grant_id: d.grant_id,
                }
            }
            "grant.revoked" => ended(EndReason::Revoked)?,
            "grant.expired" => ended(EndReason::Expired)?,
            "erase.requested" => ended(EndReason::EraseRequested)?,
            _ => Self::Other(envelope.kind),
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    // The test vector of the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(id: &str, timestamp: i64, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_str(id).unwrap());
        headers.insert("webhook-timestamp", HeaderValue::from(timestamp));
        headers.insert(
            "webhook-signature",
            HeaderValue::from_str(signature).unwrap(),
        );
        headers
    }

    fn verifier() -> Verifier {
        Verifier::new(WebhookSecret::parse(SECRET).unwrap())
    }

    #[test]
    fn the_spec_test_vector_signs_and_verifies() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, TIMESTAMP, BODY), SIGNATURE);
        let id = verifier()
            .verify(&headers(ID, TIMESTAMP, SIGNATURE), BODY, TIMESTAMP)
            .unwrap();
        assert_eq!(id, ID);
    }

    #[test]
    fn any_matching_signature_among_several_is_enough() {
        let rotated = format!("v1,Zm9yZ2VkIHNpZ25hdHVyZQ== v2,abc {SIGNATURE}");
        verifier()
            .verify(&headers(ID, TIMESTAMP, &rotated), BODY, TIMESTAMP + 10)
            .unwrap();
    }

    #[test]
    fn a_forged_signature_is_refused_with_401() {
        let v = verifier();
        let other = WebhookSecret::parse("whsec_c2hvcC10ZXN0LW90aGVyLWtleS0xMjM0NTY=").unwrap();
        let forged = other.sign(ID, TIMESTAMP, BODY);
        let err = v
            .verify(&headers(ID, TIMESTAMP, &forged), BODY, TIMESTAMP)
            .unwrap_err();
        assert_eq!(err, WebhookError::BadSignature);
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
        // A changed body, id or timestamp breaks the right signature too.
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            v.verify(&headers(ID, TIMESTAMP, SIGNATURE), tampered, TIMESTAMP),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            v.verify(&headers("msg_other", TIMESTAMP, SIGNATURE), BODY, TIMESTAMP),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            v.verify(&headers(ID, TIMESTAMP + 1, SIGNATURE), BODY, TIMESTAMP),
            Err(WebhookError::BadSignature)
        );
        // A signature scheme other than v1 never matches, nor does no signature.
        let v1a = SIGNATURE.replacen("v1,", "v1a,", 1);
        assert_eq!(
            v.verify(&headers(ID, TIMESTAMP, &v1a), BODY, TIMESTAMP),
            Err(WebhookError::BadSignature)
        );
        // None of the refusals marked the id as seen: the real one still passes.
        v.verify(&headers(ID, TIMESTAMP, SIGNATURE), BODY, TIMESTAMP)
            .unwrap();
    }

    #[test]
    fn a_timestamp_more_than_five_minutes_off_is_refused_with_400() {
        let v = verifier();
        for now in [TIMESTAMP + 301, TIMESTAMP - 301, TIMESTAMP + 86_400] {
            let err = v
                .verify(&headers(ID, TIMESTAMP, SIGNATURE), BODY, now)
                .unwrap_err();
            assert_eq!(err, WebhookError::Stale(TIMESTAMP - now));
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
        // Right at the edge, either way, it passes.
        v.verify(&headers(ID, TIMESTAMP, SIGNATURE), BODY, TIMESTAMP + 300)
            .unwrap();
        verifier()
            .verify(&headers(ID, TIMESTAMP, SIGNATURE), BODY, TIMESTAMP - 300)
            .unwrap();
    }

    #[test]
    fn a_replayed_id_is_refused_until_forgotten() {
        let v = verifier();
        let delivery = headers(ID, TIMESTAMP, SIGNATURE);
        v.verify(&delivery, BODY, TIMESTAMP).unwrap();
        let err = v.verify(&delivery, BODY, TIMESTAMP + 1).unwrap_err();
        assert_eq!(err, WebhookError::Replayed(ID.to_string()));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        // A retry re-signed with a later timestamp is the node telling again an
        // event handled already (its answer was lost): answered 2xx, not handled
        // twice.
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let retry = headers(ID, TIMESTAMP + 60, &secret.sign(ID, TIMESTAMP + 60, BODY));
        let again = v.verify(&retry, BODY, TIMESTAMP + 60).unwrap_err();
        assert_eq!(again, WebhookError::AlreadyHandled(ID.to_string()));
        assert!(again.status().is_success());
        // Once forgotten (the shop failed to handle it), the retry gets through.
        v.forget(ID);
        v.verify(&retry, BODY, TIMESTAMP + 60).unwrap();
    }

    #[test]
    fn the_memory_of_ids_is_bounded() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let v = Verifier::with_capacity(secret.clone(), 3);
        let deliver = |id: &str| {
            v.verify(
                &headers(id, TIMESTAMP, &secret.sign(id, TIMESTAMP, BODY)),
                BODY,
                TIMESTAMP,
            )
        };
        for id in ["a", "b", "c", "d"] {
            deliver(id).unwrap();
        }
        assert_eq!(v.seen().order.len(), 3);
        assert!(deliver("d").is_err());
        // "a", the oldest, was dropped to make room.
        deliver("a").unwrap();
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        let v = verifier();
        let mut h = headers(ID, TIMESTAMP, SIGNATURE);
        h.remove("webhook-signature");
        assert_eq!(
            v.verify(&h, BODY, TIMESTAMP),
            Err(WebhookError::MissingHeader("webhook-signature"))
        );
        let mut h = headers(ID, TIMESTAMP, SIGNATURE);
        h.insert("webhook-timestamp", HeaderValue::from_static("yesterday"));
        assert_eq!(
            v.verify(&h, BODY, TIMESTAMP),
            Err(WebhookError::BadTimestamp)
        );
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            v.verify(&headers(&long, TIMESTAMP, SIGNATURE), BODY, TIMESTAMP),
            Err(WebhookError::IdTooLong)
        );
    }

    #[test]
    fn secrets_are_checked_and_never_shown() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_err(),
            SecretError::MissingPrefix
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!").unwrap_err(),
            SecretError::NotBase64
        );
        assert_eq!(
            WebhookSecret::parse("whsec_c2hvcnQ=").unwrap_err(),
            SecretError::TooShort(5)
        );
        let secret = WebhookSecret::parse(&format!(" {SECRET}\n")).unwrap();
        assert_eq!(format!("{secret:?}"), "WebhookSecret(..)");
    }

    #[test]
    fn events_are_read_and_unknown_types_tolerated() {
        let body = br#"{"type":"grant.received","timestamp":"2026-01-01T00:00:00Z","data":{"request_id":"r1","grant_id":"g1","person":"did:key:z6Mk","fields":["name.given"],"expires_at":"2026-01-31T00:00:00Z","extra":1}}"#;
        let Event::GrantReceived(g) = Event::parse(body).unwrap() else {
            panic!("not a grant")
        };
        assert_eq!(
            (g.request_id.as_deref(), g.grant_id.as_str()),
            (Some("r1"), "g1")
        );
        assert_eq!(g.fields, ["name.given"]);
        let body = br#"{"type":"erase.requested","timestamp":"2026-01-01T00:00:00Z","data":{"grant_ids":["g1","g2"],"person":"did:key:z6Mk","confirm_erasure":true}}"#;
        assert_eq!(
            Event::parse(body).unwrap(),
            Event::Ended(Ended {
                reason: EndReason::EraseRequested,
                grant_ids: vec!["g1".into(), "g2".into()],
                person: "did:key:z6Mk".into(),
                confirm_erasure: true,
            })
        );
        let body = br#"{"type":"webhook.test","timestamp":"2026-01-01T00:00:00Z","data":{}}"#;
        assert_eq!(
            Event::parse(body).unwrap(),
            Event::Other("webhook.test".into())
        );
        // A known type with the wrong data is an error, not a silent no-op.
        let body = br#"{"type":"grant.revoked","timestamp":"2026-01-01T00:00:00Z","data":{}}"#;
        assert!(Event::parse(body).is_err());
    }
}
