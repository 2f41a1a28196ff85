//! The node's local HTTP API, for the `passport` command and a merchant's shop
//! backend, and the [consent page](crate::web) on the same server. Bound to loopback
//! by default; every request must carry a `Host` header naming the address the server
//! is bound to, or a name configured in `[api] hosts` (so a web page elsewhere cannot
//! reach it through DNS rebinding), and every API request the bearer token from
//! `<home>/api.token`. Endpoints are listed in `docs/API.md`.

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{Path, Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use passport_protocol::{
    FieldName, FieldRequest, FieldValue, GrantId, MessageId, Offer, PassportId,
};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use crate::{
    consent::Policy,
    error::NodeError,
    home::Home,
    merchant::RequestSpec,
    net::{self, Client, NetError},
    node::{Node, Outgoing},
    passport::{Passport, PassportError},
    person::Approval,
    web::Web,
};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The node served. Without a network (the `passport` command on a stopped
    /// node), network routes answer 503 and messages made wait in the durable
    /// outbox until the node runs.
    pub(crate) passport: Passport,
    pub(crate) node: Node,
    pub(crate) token: Arc<str>,
    /// The `Host` values accepted; the first is the bound address.
    hosts: Arc<[String]>,
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

    fn from_parts(passport: Passport, token: &str, hosts: Vec<String>, port: u16) -> Self {
        Self {
            node: passport.node().clone(),
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

    fn net(&self) -> Result<&Client, ApiError> {
        self.passport
            .client()
            .ok_or_else(|| PassportError::Offline.into())
    }
}

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
            Passport::offline(node),
            &token,
            vec![LOCAL_HOST.to_string()],
            0,
        );
        Self {
            router: router(state),
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

/// An error as the API reports it: a status and `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
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

impl From<PassportError> for ApiError {
    fn from(e: PassportError) -> Self {
        match e {
            PassportError::Node(e) => e.into(),
            PassportError::Net(e) => e.into(),
            PassportError::Offline => Self(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            PassportError::AlreadySending => Self(StatusCode::CONFLICT, e.to_string()),
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

fn bad_request(message: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.to_string())
}

pub(crate) use crate::node::system_now as now;

type ApiResult = Result<Json<Value>, ApiError>;

/// The API's routes behind the token guard, and the consent page's, all behind the
/// Host guard.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/v1/status", get(status))
        .route("/v1/fields", get(fields))
        .route(
            "/v1/fields/{name}",
            get(field).put(set_field).delete(remove_field),
        )
        .route("/v1/fields/{name}/tags", put(tag_field))
        .route("/v1/merchants/{id}/erase", post(erase))
        .route("/v1/received/{id}/fetch", post(fetch))
        .route("/v1/messages/{id}", get(message))
        .route("/v1/peers", get(peers))
        .route("/v1/inbox", get(inbox))
        .route("/v1/inbox/{id}/approve", post(approve))
        .route("/v1/inbox/{id}/deny", post(deny))
        .route("/v1/grants", get(grants))
        .route("/v1/grants/{id}/revoke", post(revoke))
        .route("/v1/received", get(received))
        .route("/v1/received/{id}/values", get(received_values))
        .route("/v1/requests", post(send_request))
        .route("/v1/audit", get(audit))
        .route("/v1/events", get(events))
        .route("/v1/audit/verify", get(audit_verify))
        .route("/v1/policies", get(policies).post(add_policy))
        .route("/v1/policies/{id}", axum::routing::delete(remove_policy))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), bearer_guard))
        .route("/v1/hello", get(hello))
        .fallback(|| async {
            ApiError(
                StatusCode::NOT_FOUND,
                "not found: no such endpoint (see docs/API.md, or open / for the consent page)"
                    .into(),
            )
        })
        .layer(middleware::map_response(json_errors));
    api.merge(crate::web::routes())
        .layer(middleware::from_fn_with_state(state.clone(), host_guard))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let web = state.web.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Live page streams never end by themselves; end them so that the
            // graceful shutdown does not wait on open browser tabs.
            web.close();
        })
        .await
}

/// Gives axum's own rejections (malformed JSON, an unknown key, a wrong content type,
/// a bad path) the API's error shape, `{"error": "..."}`, like every other error.
async fn json_errors(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !response.status().is_client_error() || is_json {
        return response;
    }
    let status = response.status();
    let text = match axum::body::to_bytes(response.into_body(), 16 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let text = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_lowercase()
    } else {
        text
    };
    ApiError(status, text).into_response()
}

async fn host_guard(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !state.accepts_host(host) {
        return ApiError(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "the Host header {host:?} is not this API's address; use one of {:?}",
                state.hosts
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// Proof that whoever answers knows `token`, without revealing it: HMAC-SHA256 keyed
/// with the token over a fixed label and the client's `nonce`, in hex. A client that
/// found the API's address in a file (`api.addr`, which a killed node leaves behind
/// and another program may since have taken over) checks it before sending the
/// token itself.
pub fn token_proof(token: &str, nonce: &str) -> String {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"passport api hello\0");
    mac.update(nonce.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Longest nonce `/v1/hello` takes.
const MAX_NONCE_BYTES: usize = 128;

#[derive(Deserialize)]
struct Hello {
    nonce: String,
}

/// `GET /v1/hello?nonce=N`, without the token: `{"proof": token_proof(token, N)}`.
async fn hello(
    State(state): State<ApiState>,
    axum::extract::Query(Hello { nonce }): axum::extract::Query<Hello>,
) -> ApiResult {
    if nonce.len() < 16 || nonce.len() > MAX_NONCE_BYTES {
        return Err(bad_request(format!(
            "nonce: send 16 to {MAX_NONCE_BYTES} random characters"
        )));
    }
    Ok(Json(json!({ "proof": token_proof(&state.token, &nonce) })))
}

async fn bearer_guard(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(state.token.as_bytes())) {
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token: send `Authorization: Bearer <token>` with the token from <home>/api.token".into(),
        )
        .into_response();
    }
    next.run(request).await
}

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
/// the node's durable outbox until then.
/// Without a network (a [`LocalApi`]), they wait in the outbox for the node to start.
pub(crate) fn deliver_all(state: &ApiState, outgoing: Vec<Outgoing>) -> Vec<String> {
    outgoing
        .into_iter()
        .map(|out| state.passport.deliver(out).to.to_string())
        .collect()
}

fn parse<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| bad_request(format!("{what}: {e}")))
}

async fn status(State(state): State<ApiState>) -> ApiResult {
    let net = state.net()?.status().await?;
    Ok(Json(json!({
        "id": state.node.id(),
        "page": state.page_url(),
        "peer_id": net.peer_id.to_string(),
        "listen_addrs": net.listen_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "external_addrs": net.external_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "connected_peers": net.connected_peers,
        "routing_table_size": net.routing_table_size,
        "reachability": net.reachability.name(),
        "relay_addrs": net.relay_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "hole_punch_attempts": net.hole_punch_attempts,
        "hole_punch_successes": net.hole_punch_successes,
        "published": net.published,
        "rejected_records": net.rejected_records,
        "throttled": net.throttled,
        "dht_served": net.dht_served,
    })))
}

async fn fields(State(state): State<ApiState>) -> ApiResult {
    let fields = blocking(move || state.node.fields()).await?;
    Ok(Json(json!(
        fields
            .into_iter()
            .map(|(name, record)| field_json(&name, record))
            .collect::<Vec<_>>()
    )))
}

fn field_json(name: &FieldName, record: crate::vault::FieldRecord) -> Value {
    json!({
        "name": name, "value": record.value, "tags": record.tags,
        "sensitivity": record.sensitivity, "updated_at": record.updated_at,
    })
}

async fn field(State(state): State<ApiState>, Path(name): Path<String>) -> ApiResult {
    let name: FieldName = parse(&name, "field name")?;
    let record = blocking({
        let name = name.clone();
        move || state.node.field(&name)
    })
    .await?
    .ok_or_else(|| ApiError::from(NodeError::UnknownField(name.clone())))?;
    Ok(Json(field_json(&name, record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagBody {
    tags: std::collections::BTreeSet<String>,
    #[serde(default)]
    sensitivity: Option<crate::vault::Sensitivity>,
}

async fn tag_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(body): Json<TagBody>,
) -> ApiResult {
    let name: FieldName = parse(&name, "field name")?;
    let node = state.node.clone();
    blocking(move || node.tag_field(&name, body.tags, body.sensitivity, now())).await?;
    Ok(Json(json!({})))
}

async fn erase(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let merchant: PassportId = parse(&id, "merchant id")?;
    let node = state.node.clone();
    let out = blocking(move || node.erase(&merchant, now())).await?;
    Ok(Json(
        json!({ "delivering_to": deliver_all(&state, vec![out]) }),
    ))
}

async fn fetch(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let id: GrantId = parse(&id, "grant id")?;
    let client = state.net()?.clone();
    let node = state.node.clone();
    let (person, bytes) = blocking(move || {
        let person = node
            .received_grant(&id)?
            .ok_or(NodeError::UnknownGrant(id))?
            .person;
        Ok((person, node.fetch(&id, now())?))
    })
    .await?;
    match client.send_to(person, bytes).await? {
        net::Response::Message(update) => {
            let node = state.node.clone();
            blocking(move || node.receive(&update, now())).await?;
        }
        net::Response::Refused(reason) => return Err(NetError::Refused(reason).into()),
        net::Response::Busy => return Err(NetError::Busy.into()),
        other => {
            return Err(
                NetError::Unreachable(format!("unexpected answer to a fetch: {other:?}")).into(),
            );
        }
    }
    let node = state.node.clone();
    let values = blocking(move || node.open_grant(&id, now())).await?;
    Ok(Json(json!(values)))
}

/// A sent or received message's raw COSE bytes, for an auditor.
async fn message(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: MessageId = parse(&id, "message id")?;
    let bytes = blocking(move || state.node.message(&id))
        .await?
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                format!("no message {id} in the audit log (see `passport audit` for message ids)"),
            )
        })?;
    Ok(([(header::CONTENT_TYPE, "application/cose")], bytes).into_response())
}

async fn peers(State(state): State<ApiState>) -> ApiResult {
    let peers = state.net()?.peers().await?;
    Ok(Json(json!(
        peers
            .iter()
            .map(|(peer, addrs)| json!({
                "peer_id": peer.to_string(),
                "addrs": addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetField {
    value: FieldValue,
}

async fn set_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(body): Json<SetField>,
) -> ApiResult {
    let name: FieldName = parse(&name, "field name")?;
    let node = state.node.clone();
    let updates = blocking(move || node.set_field(name, body.value, now())).await?;
    Ok(Json(json!({ "updates_to": deliver_all(&state, updates) })))
}

async fn remove_field(State(state): State<ApiState>, Path(name): Path<String>) -> ApiResult {
    let name: FieldName = parse(&name, "field name")?;
    let node = state.node.clone();
    let updates = blocking(move || node.remove_field(&name, now())).await?;
    Ok(Json(json!({ "updates_to": deliver_all(&state, updates) })))
}

async fn inbox(State(state): State<ApiState>) -> ApiResult {
    let items = blocking(move || state.node.inbox()).await?;
    Ok(Json(json!(items.iter().map(|i| json!({
        "request_id": i.pending.request_id,
        "sentence": i.sentence(),
        "merchant": i.pending.merchant,
        "merchant_name": i.request.requester_name,
        "merchant_name_verified": false,
        "petname": i.merchant.petname,
        "first_contact": i.pending.first_contact,
        "fields": i.request.fields.iter().map(|f| json!({ "name": f.name, "required": f.required, "reason": f.reason })).collect::<Vec<_>>(),
        "purpose": i.request.purpose,
        "duration_secs": i.request.duration_secs,
        "retention_secs": i.request.retention_secs,
        "offer": i.request.offer,
        "received_at": i.pending.received_at,
        "expires_at": i.pending.expires_at,
    })).collect::<Vec<_>>())))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ApproveBody {
    only: Option<Vec<FieldName>>,
    duration_secs: Option<u64>,
    always: bool,
}

async fn approve(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Option<Json<ApproveBody>>,
) -> ApiResult {
    let id: MessageId = parse(&id, "request id")?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let node = state.node.clone();
    let approval = Approval {
        only: body.only,
        duration_secs: body.duration_secs,
        always: body.always,
    };
    let out = blocking(move || node.approve(&id, approval, now())).await?;
    Ok(Json(
        json!({ "delivering_to": deliver_all(&state, vec![out]) }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct DenyBody {
    reason: String,
}

async fn deny(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    body: Option<Json<DenyBody>>,
) -> ApiResult {
    let id: MessageId = parse(&id, "request id")?;
    let reason = body.map(|Json(b)| b.reason).unwrap_or_default();
    let node = state.node.clone();
    let out = blocking(move || node.deny(&id, &reason, now())).await?;
    Ok(Json(
        json!({ "delivering_to": deliver_all(&state, vec![out]) }),
    ))
}

async fn grants(State(state): State<ApiState>) -> ApiResult {
    let at = now();
    let grants = blocking(move || state.node.grants()).await?;
    Ok(Json(json!(grants.iter().map(|g| json!({
        "grant_id": g.grant_id, "merchant": g.merchant, "fields": g.fields, "terms": g.terms,
        "issued_at": g.issued_at, "expires_at": g.expires_at, "live": g.is_live(at),
        "revoked_at": g.revoked_at, "receipt": g.receipt,
    })).collect::<Vec<_>>())))
}

async fn revoke(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let id: GrantId = parse(&id, "grant id")?;
    let node = state.node.clone();
    let out = blocking(move || node.revoke(&id, now())).await?;
    Ok(Json(
        json!({ "delivering_to": deliver_all(&state, vec![out]) }),
    ))
}

async fn received(State(state): State<ApiState>) -> ApiResult {
    let grants = blocking(move || state.node.received()).await?;
    Ok(Json(json!(
        grants
            .iter()
            .map(|g| json!({
                "grant_id": g.grant_id, "person": g.person, "fields": g.fields, "terms": g.terms,
                "received_at": g.received_at, "expires_at": g.expires_at,
                "revoked_at": g.revoked_at, "erased_at": g.erased_at,
            }))
            .collect::<Vec<_>>()
    )))
}

async fn received_values(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let id: GrantId = parse(&id, "grant id")?;
    let values = blocking(move || state.node.open_grant(&id, now())).await?;
    Ok(Json(json!(values)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    to: String,
    requester_name: String,
    fields: Vec<FieldRequestBody>,
    purpose: String,
    duration_secs: u64,
    #[serde(default)]
    retention_secs: u64,
    #[serde(default)]
    offer: Option<Offer>,
    /// If the person must decide, wait up to this many seconds for the decision
    /// (at most 300). Default 0: answer "pending" at once.
    #[serde(default)]
    wait_secs: u64,
}

/// Longest wait a request may ask for.
const MAX_WAIT_SECS: u64 = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldRequestBody {
    name: FieldName,
    #[serde(default = "yes")]
    required: bool,
    #[serde(default)]
    reason: String,
}

fn yes() -> bool {
    true
}

/// Sends a request and stores the decision that comes straight back, if any.
async fn send_prepared(
    state: &ApiState,
    to: PassportId,
    bytes: Vec<u8>,
) -> Result<net::Response, ApiError> {
    match state.net()?.send_to(to, bytes).await? {
        net::Response::Message(decision) => {
            let node = state.node.clone();
            let decision = blocking(move || node.receive(&decision, now()).map(|_| decision));
            Ok(net::Response::Message(decision.await?))
        }
        other => Ok(other),
    }
}

async fn send_request(State(state): State<ApiState>, Json(body): Json<RequestBody>) -> ApiResult {
    let to: PassportId = parse(&body.to, "to")?;
    let wait_secs = body.wait_secs.min(MAX_WAIT_SECS);
    let spec = RequestSpec {
        requester_name: body.requester_name,
        fields: body
            .fields
            .into_iter()
            .map(|f| FieldRequest {
                name: f.name,
                required: f.required,
                reason: f.reason,
            })
            .collect(),
        purpose: body.purpose,
        duration_secs: body.duration_secs,
        retention_secs: body.retention_secs,
        offer: body.offer,
        reply_to: Vec::new(),
    };
    let node = state.node.clone();
    let prepared = blocking(move || node.prepare_request(to, spec, now())).await?;
    let request_id = prepared.request_id;
    // The request's record becomes durable with the answer's when one comes back
    // (one flush instead of two); in every case it is durable before we reply.
    let sent = send_prepared(&state, to, prepared.bytes).await;
    let node = state.node.clone();
    blocking(move || node.settle(prepared.unsettled)).await?;
    match sent? {
        net::Response::Message(_) => {
            let sent = blocking({
                let node = state.node.clone();
                move || node.sent_request(&request_id)
            })
            .await?;
            Ok(Json(
                json!({ "request_id": request_id, "result": sent.map(|s| s.status) }),
            ))
        }
        net::Response::Pending(_) => {
            // The decision arrives later as its own message; poll our record of the
            // request for it, within the wait asked for.
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait_secs);
            loop {
                let node = state.node.clone();
                let sent = blocking(move || node.sent_request(&request_id)).await?;
                let decided = sent
                    .as_ref()
                    .is_some_and(|s| !matches!(s.status, crate::merchant::RequestStatus::Waiting));
                if decided || tokio::time::Instant::now() >= deadline {
                    let result = match sent.map(|s| s.status) {
                        Some(crate::merchant::RequestStatus::Waiting) | None => {
                            json!({ "status": "pending" })
                        }
                        Some(decided) => json!(decided),
                    };
                    return Ok(Json(json!({ "request_id": request_id, "result": result })));
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        net::Response::Accepted => Ok(Json(
            json!({ "request_id": request_id, "result": { "status": "accepted" } }),
        )),
        net::Response::Busy => Err(NetError::Busy.into()),
        net::Response::AlreadyReceived => Ok(Json(
            json!({ "request_id": request_id, "result": { "status": "already_received" } }),
        )),
        net::Response::Refused(reason) => Err(NetError::Refused(reason).into()),
    }
}

async fn audit(State(state): State<ApiState>) -> ApiResult {
    let entries = blocking(move || state.node.audit_entries()).await?;
    Ok(Json(json!(
        entries
            .iter()
            .map(|e| json!({
                "seq": e.seq, "at": e.at, "event": e.event, "has_message": e.message.is_some(),
                "message_id": e.message.as_deref().and_then(|m| passport_protocol::decode_trusted(m).ok()).map(|m| m.claims.id),
            }))
            .collect::<Vec<_>>()
    )))
}

/// Server-sent events, one per committed change, as JSON (see
/// [`Event`](crate::Event)); the SSE event name is its `kind`. Bounded with the
/// page's live streams; ends when the server shuts down.
async fn events(State(state): State<ApiState>) -> Result<Response, ApiError> {
    use axum::response::sse::{Event as Sse, KeepAlive};
    use futures::StreamExt as _;
    let (permit, closing) = state.web.live_stream().ok_or_else(|| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many live streams are open on this node; close some, then retry".into(),
        )
    })?;
    let stream = futures::stream::unfold(
        (state.passport.events(), closing, permit),
        |(mut events, mut closing, permit)| async move {
            if *closing.borrow() {
                return None;
            }
            let event = tokio::select! {
                event = events.next() => event?,
                _ = closing.changed() => return None,
            };
            let json = serde_json::to_value(&event).ok()?;
            let kind = json["kind"].as_str().unwrap_or("event").to_string();
            let sse = Sse::default().event(kind).data(json.to_string());
            Some((
                Ok::<_, std::convert::Infallible>(sse),
                (events, closing, permit),
            ))
        },
    );
    Ok(axum::response::sse::Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

async fn audit_verify(State(state): State<ApiState>) -> ApiResult {
    let report = blocking(move || state.node.verify_audit()).await?;
    Ok(Json(
        json!({ "intact": report.is_intact(), "entries": report.entries, "problems": report.problems }),
    ))
}

async fn policies(State(state): State<ApiState>) -> ApiResult {
    let policies = blocking(move || state.node.policies()).await?;
    Ok(Json(json!(policies)))
}

async fn add_policy(State(state): State<ApiState>, Json(policy): Json<Policy>) -> ApiResult {
    let node = state.node.clone();
    let added = blocking(move || node.add_policy(policy, now())).await?;
    Ok(Json(json!(added)))
}

async fn remove_policy(State(state): State<ApiState>, Path(id): Path<u64>) -> ApiResult {
    let node = state.node.clone();
    blocking(move || node.remove_policy(id, now())).await?;
    Ok(Json(json!({ "removed": id })))
}

async fn metrics(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let status = state.net()?.status().await?;
    let metrics = state.passport.metrics().ok_or(PassportError::Offline)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(&status),
    )
        .into_response())
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
}
