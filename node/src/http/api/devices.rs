//! Linked devices: a pairing code (the full token only), the devices paired, and
//! removing one (the person's routes, so a device removes a lost one).

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::MessageId;
use serde::{Deserialize, Serialize};

use super::{ApiResult, parse};
use crate::{
    device::{Device, link::Invite},
    http::{
        state::{ApiError, ApiState, now},
        views,
    },
};

/// A device as listed (without its delegation's bytes).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceView {
    /// Its id (its delegation's).
    #[schema(value_type = String)]
    pub id: MessageId,
    /// Its name.
    pub name: String,
    /// Its key, as an id.
    #[schema(value_type = String)]
    pub key: passport_protocol::PassportId,
    /// When it was paired (seconds since 1970).
    #[schema(value_type = u64)]
    pub paired_at: passport_protocol::Timestamp,
    /// When its delegation ends.
    #[schema(value_type = u64)]
    pub expires_at: passport_protocol::Timestamp,
}

impl From<Device> for DeviceView {
    fn from(device: Device) -> Self {
        Self {
            id: device.id,
            name: device.name,
            key: device.key,
            paired_at: device.paired_at,
            expires_at: device.expires_at,
        }
    }
}

/// A one-time pairing code.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PairingCodeView {
    /// The code to type or scan on the device: `passport device join CODE`.
    pub code: String,
    /// When it stops working (seconds since 1970).
    #[schema(value_type = u64)]
    pub expires_at: passport_protocol::Timestamp,
}

/// Makes a one-time pairing code for a new device (10 minutes; the full token
/// only). The code carries the node's addresses; the node must be running.
#[utoipa::path(
    post,
    path = "/v1/devices/code",
    tag = "devices",
    responses(
        (status = 200, description = "The code.", body = PairingCodeView),
        (status = 503, description = "No network: start `passport node`.", body = views::ErrorBody),
    )
)]
pub(super) async fn pairing_code(State(state): State<ApiState>) -> ApiResult<PairingCodeView> {
    let status = state.passport.status().await?;
    let peer = status.peer_id;
    let addresses = status
        .external_addrs
        .iter()
        .chain(status.listen_addrs.iter())
        .filter(|a| {
            !a.iter()
                .any(|p| matches!(p, libp2p::multiaddr::Protocol::Ip4(ip) if ip.is_unspecified()))
        })
        .map(|a| a.clone().with_p2p(peer).unwrap_or_else(|a| a))
        .collect();
    let code = state
        .passport
        .run(|node| node.new_pairing_code(now()))
        .await?;
    let invite = Invite {
        person: state.passport.id(),
        secret: *code.secret,
        addresses,
    };
    Ok(Json(PairingCodeView {
        code: invite.to_string(),
        expires_at: code.expires_at,
    }))
}

/// The devices paired with this passport.
#[utoipa::path(
    get,
    path = "/v1/devices",
    tag = "devices",
    responses((status = 200, description = "The devices.", body = [DeviceView]))
)]
pub(super) async fn devices(State(state): State<ApiState>) -> ApiResult<Vec<DeviceView>> {
    let devices = state.passport.run(|node| node.devices()).await?;
    Ok(Json(devices.into_iter().map(DeviceView::from).collect()))
}

/// Removes a device: its next call is refused, and its token stops working.
#[utoipa::path(
    delete,
    path = "/v1/devices/{id}",
    tag = "devices",
    params(("id" = String, Path, description = "The device's id, from `GET /v1/devices`.")),
    responses(
        (status = 200, description = "Removed.", body = DeviceView),
        (status = 404, description = "No such device.", body = views::ErrorBody),
    )
)]
pub(super) async fn remove_device(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<DeviceView> {
    let id: MessageId = parse(&id, "device id")?;
    let removed = state
        .passport
        .run(move |node| Ok(node.remove_device(&id, now())))
        .await?
        .map_err(|e| ApiError(axum::http::StatusCode::NOT_FOUND, e.to_string()))?;
    Ok(Json(removed.into()))
}
