//! Serving linked devices: the pairings and calls the network hands over
//! ([`crate::net::device`]), checked by the node ([`crate::device`]) and done
//! through this node's own API with the device's person-scoped token, so a device
//! reaches exactly the person's routes and every answer is the API's; or through
//! the consent page in a page session of the device's own, for the page a device
//! serves its browser on `localhost`.

use std::{collections::HashMap, time::Duration};

use futures::StreamExt as _;
use passport_protocol::MessageId;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Passport;
use crate::{
    device::DeviceError,
    http::{
        LocalApi,
        local::{PageAnswer, PageRequest},
    },
    net::device::{DeviceJob, DeviceRequest, DeviceResponse},
    node::system_now as now,
};

/// What a device's API call asks: one request to the local API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCall {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/v1/inbox/<id>/approve`.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
}

/// What a device's call asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceOp {
    /// One request to the JSON API (what the device's commands send).
    Api(ApiCall),
    /// One request to the consent page (what the device's browser sent to the page
    /// the device serves).
    Page(PageRequest),
    /// Answer once the store's change count differs from `since`, or after
    /// [`CHANGES_WAIT`]: the device's page is live this way.
    Changes {
        /// The count the device knows.
        since: u64,
    },
}

impl DeviceOp {
    /// The op's encoding inside a signed device call (CBOR).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing plain data to a Vec cannot fail.
        let _ = ciborium::into_writer(self, &mut bytes);
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        ciborium::from_reader(bytes).ok()
    }

    /// The line the audit log gives it; reading is not an action.
    fn action(&self) -> Option<String> {
        match self {
            Self::Api(call) if call.method != "GET" => {
                Some(format!("{} {}", call.method, call.path))
            }
            Self::Page(page) if page.method != "GET" => {
                Some(format!("{} {} (page)", page.method, page.path))
            }
            _ => None,
        }
    }
}

/// Longest a [`DeviceOp::Changes`] waits: under the request timeout.
pub const CHANGES_WAIT: Duration = Duration::from_secs(20);

/// Serves device jobs until the network stops. Pairings and calls are answered
/// one at a time; a device's wait for a change runs beside them.
pub(super) async fn serve(passport: Passport, mut jobs: mpsc::Receiver<DeviceJob>) {
    let api = LocalApi::over(passport.clone());
    // Each device's page session, made at its first page request.
    let mut sessions: HashMap<MessageId, String> = HashMap::new();
    while let Some(job) = jobs.recv().await {
        let peer = job.peer.to_bytes();
        let response = match job.request {
            DeviceRequest::Pair(bytes) => pair(&passport, bytes, peer).await,
            DeviceRequest::Call(bytes) => {
                match call(&passport, &api, &mut sessions, &bytes, &peer).await {
                    Answered::Now(response) => response,
                    Answered::Later(since) => {
                        let (passport, reply) = (passport.clone(), job.reply);
                        tokio::spawn(async move {
                            let _ = reply.send(changes(&passport, since).await);
                        });
                        continue;
                    }
                }
            }
        };
        let _ = job.reply.send(response);
    }
}

async fn pair(passport: &Passport, bytes: Vec<u8>, peer: Vec<u8>) -> DeviceResponse {
    let node = passport.node().clone();
    let paired = tokio::task::spawn_blocking(move || node.pair_device(&bytes, &peer, now())).await;
    match paired {
        Ok(Ok(device)) => {
            tracing::info!(device = %device.id, name = %device.name, "a device paired");
            DeviceResponse::Paired(device.delegation)
        }
        Ok(Err(e)) => refused(&e),
        Err(e) => DeviceResponse::Refused(format!("the home node failed: {e}")),
    }
}

fn refused(e: &DeviceError) -> DeviceResponse {
    tracing::debug!(error = %e, "refused a device's request");
    DeviceResponse::Refused(e.to_string())
}

/// A call's answer: now, or once the store changes.
enum Answered {
    Now(DeviceResponse),
    Later(u64),
}

async fn call(
    passport: &Passport,
    api: &LocalApi,
    sessions: &mut HashMap<MessageId, String>,
    bytes: &[u8],
    peer: &[u8],
) -> Answered {
    let node = passport.node().clone();
    let (bytes, peer) = (bytes.to_vec(), peer.to_vec());
    let checked = tokio::task::spawn_blocking(move || {
        let checked = node.check_device_call(&bytes, &peer, now())?;
        let token = node.device_token(&checked.device.id)?;
        Ok::<_, DeviceError>((checked, token))
    })
    .await;
    let (checked, token) = match checked {
        Ok(Ok(checked)) => checked,
        Ok(Err(e)) => return Answered::Now(refused(&e)),
        Err(e) => {
            return Answered::Now(DeviceResponse::Refused(format!(
                "the home node failed: {e}"
            )));
        }
    };
    let Some(op) = DeviceOp::decode(&checked.call) else {
        return Answered::Now(DeviceResponse::Refused(
            "the call is not one this node reads".into(),
        ));
    };
    if let Some(action) = op.action() {
        let recording = (passport.node().clone(), checked.device.clone(), action);
        let recorded = tokio::task::spawn_blocking(move || {
            recording
                .0
                .audit_device_action(&recording.1, recording.2, now())
        })
        .await;
        if !matches!(recorded, Ok(Ok(()))) {
            return Answered::Now(DeviceResponse::Refused(
                "the home node could not record the call".into(),
            ));
        }
    }
    Answered::Now(match op {
        DeviceOp::Api(request) => {
            let Ok(method) = axum::http::Method::from_bytes(request.method.as_bytes()) else {
                return Answered::Now(DeviceResponse::Refused(format!(
                    "{:?} is not an HTTP method",
                    request.method
                )));
            };
            match api
                .call_as(&token, method, &request.path, request.body.as_ref())
                .await
            {
                Ok((status, body)) => DeviceResponse::Answer {
                    status: status.as_u16(),
                    body,
                },
                Err(e) => DeviceResponse::Refused(e.to_string()),
            }
        }
        DeviceOp::Page(request) => page(api, sessions, checked.device.id, &request).await,
        DeviceOp::Changes { since } => return Answered::Later(since),
    })
}

async fn page(
    api: &LocalApi,
    sessions: &mut HashMap<MessageId, String>,
    device: MessageId,
    request: &PageRequest,
) -> DeviceResponse {
    let session = sessions
        .entry(device)
        .or_insert_with(|| api.start_page_session())
        .clone();
    let mut answer = api.page(&session, request).await;
    // A session that ended (it lives as a login's does) is made anew.
    if answer.as_ref().is_ok_and(is_login_redirect) {
        let session = api.start_page_session();
        sessions.insert(device, session.clone());
        answer = api.page(&session, request).await;
    }
    match answer {
        Ok(answer) => {
            let mut body = Vec::new();
            let _ = ciborium::into_writer(&answer, &mut body);
            DeviceResponse::Answer {
                status: answer.status,
                body,
            }
        }
        Err(e) => DeviceResponse::Refused(e.to_string()),
    }
}

fn is_login_redirect(answer: &PageAnswer) -> bool {
    answer.status / 100 == 3
        && answer
            .headers
            .iter()
            .any(|(name, value)| name == "location" && value.starts_with("/login"))
}

/// The store's change count once it differs from `since`, or after
/// [`CHANGES_WAIT`].
async fn changes(passport: &Passport, since: u64) -> DeviceResponse {
    let mut events = passport.events();
    let node = passport.node().clone();
    let deadline = tokio::time::Instant::now() + CHANGES_WAIT;
    while node.commits() == since {
        tokio::select! {
            next = events.next() => if next.is_none() { break },
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    DeviceResponse::Answer {
        status: 200,
        body: node.commits().to_be_bytes().to_vec(),
    }
}
