//! The consent page a linked device serves its own browser on `localhost`
//! (`passport node` on a device's home): every request goes to the home node as a
//! signed call ([`DeviceOp::Page`]) and is answered by the home node's page, in a
//! page session of this device's own; the live updates come from
//! [`DeviceOp::Changes`], one round trip per change.
//!
//! The page is opened once with the address `passport node` prints, which carries
//! a random key: that visit sets a cookie (`HttpOnly`, `SameSite=Strict`) and
//! every later request needs it, so another program on the device cannot use the
//! page. Requests must name a loopback `Host` (no DNS rebinding), and a form
//! posted from another site is refused, as on the home node.

use std::{convert::Infallible, sync::Arc};

use axum::{
    Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{
        IntoResponse, Redirect, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use subtle::ConstantTimeEq as _;

use super::link::DeviceLink;
use crate::{
    http::local::{MAX_PAGE_BODY, PageAnswer, PageRequest},
    passport::DeviceOp,
};

/// The cookie the page's key is kept in.
const KEY_COOKIE: &str = "passport_device";

/// What the page server shares.
#[derive(Clone)]
struct Proxy {
    link: Arc<DeviceLink>,
    delegation: Arc<[u8]>,
    /// The page's key, in the address printed at start.
    key: Arc<str>,
    port: u16,
}

/// The page's router: its address's key must be `key` (see the module docs).
pub fn router(link: DeviceLink, delegation: Vec<u8>, key: String, port: u16) -> Router {
    let proxy = Proxy {
        link: Arc::new(link),
        delegation: delegation.into(),
        key: key.into(),
        port,
    };
    Router::new()
        .route("/events", get(events))
        .fallback(forward)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_PAGE_BODY))
        .with_state(proxy)
}

fn refusal(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

impl Proxy {
    /// Why this request may not reach the page, if it may not.
    fn refuse(&self, method: &Method, headers: &HeaderMap) -> Option<Response> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let host = text("host").unwrap_or_default();
        let port = self.port;
        let loopback = [
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ];
        if !loopback.iter().any(|h| h == host) {
            return Some(refusal(
                StatusCode::MISDIRECTED_REQUEST,
                "This page answers only on this device's loopback address.",
            ));
        }
        let cross_site = match text("sec-fetch-site") {
            Some(site) => site != "same-origin" && site != "none",
            None => text("origin").is_some_and(|origin| {
                !origin
                    .strip_prefix("http://")
                    .is_some_and(|h| loopback.iter().any(|l| l == h))
            }),
        };
        if *method != Method::GET && cross_site {
            return Some(refusal(
                StatusCode::FORBIDDEN,
                "This form was sent from another site, so it was refused.",
            ));
        }
        let has_key = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .any(|(name, value)| {
                name == KEY_COOKIE && bool::from(value.as_bytes().ct_eq(self.key.as_bytes()))
            });
        (!has_key).then(|| {
            refusal(
                StatusCode::UNAUTHORIZED,
                "Open this page with the address `passport node` printed on this device (it carries the page's key).",
            )
        })
    }
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The first visit, with the printed address's key: keep it in a cookie.
    let key = uri
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("key=")));
    if let Some(key) = key
        && bool::from(key.as_bytes().ct_eq(proxy.key.as_bytes()))
    {
        let cookie = format!(
            "{KEY_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            proxy.key
        );
        return ([(header::SET_COOKIE, cookie)], Redirect::to(uri.path())).into_response();
    }
    if let Some(refused) = proxy.refuse(&method, &headers) {
        return refused;
    }
    let request = PageRequest {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), ToString::to_string),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: body.to_vec(),
        live: headers.contains_key(crate::http::web::LIVE_HEADER),
    };
    let answer = match proxy
        .link
        .call(&proxy.delegation, &DeviceOp::Page(request))
        .await
    {
        Ok((_, bytes)) => ciborium::from_reader::<PageAnswer, _>(bytes.as_slice()).ok(),
        Err(e) => {
            return refusal(
                StatusCode::BAD_GATEWAY,
                &format!("Your home node did not answer: {e}"),
            );
        }
    };
    let Some(answer) = answer else {
        return refusal(
            StatusCode::BAD_GATEWAY,
            "Your home node answered something this device does not read: is it another version of Passport?",
        );
    };
    let mut response = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY),
        answer.body,
    )
        .into_response();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name),
            header::HeaderValue::try_from(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Where the page's live stream starts.
#[derive(serde::Deserialize)]
struct Since {
    since: Option<u64>,
}

/// `change` whenever the home node's store changes, as the home node's page says
/// it: each wait is one call that the home node answers at the change (or after
/// a while, to be made again).
async fn events(
    State(proxy): State<Proxy>,
    headers: HeaderMap,
    Query(Since { since }): Query<Since>,
) -> Response {
    if let Some(refused) = proxy.refuse(&Method::GET, &headers) {
        return refused;
    }
    let stream =
        futures::stream::unfold((proxy, since.unwrap_or(0)), |(proxy, since)| async move {
            loop {
                let op = DeviceOp::Changes { since };
                match proxy.link.call(&proxy.delegation, &op).await {
                    Ok((_, bytes)) => {
                        let count = <[u8; 8]>::try_from(bytes.as_slice())
                            .map(u64::from_be_bytes)
                            .unwrap_or(since);
                        if count != since {
                            let event = Event::default().event("change").data(count.to_string());
                            return Some((Ok::<_, Infallible>(event), (proxy, count)));
                        }
                    }
                    // The home node is away (or this device was removed): the page
                    // shows it is not live, and reconnects.
                    Err(_) => return None,
                }
            }
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
