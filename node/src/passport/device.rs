//! Serving linked devices: the pairings and calls the network hands over
//! ([`crate::net::device`]), checked by the node ([`crate::device`]) and done
//! through this node's own API with the device's person-scoped token, so a device
//! reaches exactly the person's routes and every answer is the API's.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Passport;
use crate::{
    device::DeviceError,
    http::LocalApi,
    net::device::{DeviceJob, DeviceRequest, DeviceResponse},
    node::system_now as now,
};

/// What a device's call asks: one request to the local API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCall {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/v1/inbox/<id>/approve`.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
}

impl ApiCall {
    /// The call's encoding inside a signed device call (CBOR).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing a plain struct to a Vec cannot fail.
        let _ = ciborium::into_writer(self, &mut bytes);
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        ciborium::from_reader(bytes).ok()
    }
}

/// Serves device jobs until the network stops: one at a time, each answered.
pub(super) async fn serve(passport: Passport, mut jobs: mpsc::Receiver<DeviceJob>) {
    let api = LocalApi::over(passport.clone());
    while let Some(job) = jobs.recv().await {
        let peer = job.peer.to_bytes();
        let response = match job.request {
            DeviceRequest::Pair(bytes) => {
                let node = passport.node().clone();
                let paired =
                    tokio::task::spawn_blocking(move || node.pair_device(&bytes, &peer, now()))
                        .await;
                match paired {
                    Ok(Ok(device)) => {
                        tracing::info!(device = %device.id, name = %device.name, "a device paired");
                        DeviceResponse::Paired(device.delegation)
                    }
                    Ok(Err(e)) => refused(&e),
                    Err(e) => DeviceResponse::Refused(format!("the home node failed: {e}")),
                }
            }
            DeviceRequest::Call(bytes) => call(&passport, &api, &bytes, &peer).await,
        };
        let _ = job.reply.send(response);
    }
}

fn refused(e: &DeviceError) -> DeviceResponse {
    tracing::debug!(error = %e, "refused a device's request");
    DeviceResponse::Refused(e.to_string())
}

async fn call(passport: &Passport, api: &LocalApi, bytes: &[u8], peer: &[u8]) -> DeviceResponse {
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
        Ok(Err(e)) => return refused(&e),
        Err(e) => return DeviceResponse::Refused(format!("the home node failed: {e}")),
    };
    let Some(request) = ApiCall::decode(&checked.call) else {
        return DeviceResponse::Refused("the call is not an API call this node reads".into());
    };
    let Ok(method) = axum::http::Method::from_bytes(request.method.as_bytes()) else {
        return DeviceResponse::Refused(format!("{:?} is not an HTTP method", request.method));
    };
    let action = format!("{method} {}", request.path);
    let recording = (
        passport.node().clone(),
        checked.device.clone(),
        action.clone(),
    );
    let recorded = tokio::task::spawn_blocking(move || {
        recording
            .0
            .audit_device_action(&recording.1, recording.2, now())
    })
    .await;
    if !matches!(recorded, Ok(Ok(()))) {
        return DeviceResponse::Refused("the home node could not record the call".into());
    }
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
