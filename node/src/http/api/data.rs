//! Data back to the person: attestations an issuer makes, deliveries a merchant
//! sends, and the data the person keeps.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{DataType, FieldName, MessageId, PassportId};
use serde::Deserialize;

use super::{ApiResult, parse};
use crate::{
    data::attest::MAX_ATTESTATION_LIFETIME_SECS,
    http::{
        state::{ApiState, bad_request},
        views::{self, Delivered, DeliveredData, Empty},
    },
};

/// Default lifetime of an attestation: a year.
const DEFAULT_ATTESTATION_DAYS: u64 = 365;

/// The body of `POST /v1/attestations`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AttestBody {
    /// The person whose field to vouch for.
    #[schema(value_type = PassportId)]
    person: String,
    /// The field, as they granted it to this node.
    field: FieldName,
    /// How long the attestation vouches, in days (1 to 730). Default 365.
    #[serde(default)]
    days: Option<u64>,
}

/// Vouches, as an issuer, for a field a person granted this node, and delivers
/// the attestation to them.
///
/// Needs a live grant from the person that includes the field: the value vouched
/// for is the one they sent. Waits for the person's node to take it.
#[utoipa::path(
    post,
    path = "/v1/attestations",
    tag = "merchant",
    request_body = AttestBody,
    responses(
        (status = 200, description = "The person's node kept the attestation.", body = Delivered),
        (status = 400, description = "A bad id, field or lifetime; or no live grant from the person includes the field.", body = views::ErrorBody),
        (status = 404, description = "No node found for the person.", body = views::ErrorBody),
        (status = 409, description = "The person's node refused it (the value changed since, say).", body = views::ErrorBody),
        (status = 502, description = "The person's node could not be reached.", body = views::ErrorBody),
        (status = 503, description = "This node's network is not running.", body = views::ErrorBody),
        (status = 504, description = "The lookup or the exchange took too long.", body = views::ErrorBody),
    )
)]
pub(super) async fn attest(
    State(state): State<ApiState>,
    Json(body): Json<AttestBody>,
) -> ApiResult<Delivered> {
    let person: PassportId = parse(&body.person, "person")?;
    let days = body.days.unwrap_or(DEFAULT_ATTESTATION_DAYS);
    let max_days = MAX_ATTESTATION_LIFETIME_SECS / 86_400;
    if !(1..=max_days).contains(&days) {
        return Err(bad_request(format!(
            "days: an attestation vouches for 1 to {max_days} days"
        )));
    }
    state
        .passport
        .attest(person, body.field, days * 86_400)
        .await?
        .delivered()
        .await?;
    Ok(Json(Delivered {
        delivered_to: person,
    }))
}

/// The body of `POST /v1/deliveries`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveryBody {
    /// The person.
    #[schema(value_type = PassportId)]
    to: String,
    /// `receipt`, `order`, `warranty`, `loyalty` or `other`.
    #[serde(rename = "type")]
    data_type: String,
    /// A short title ("Order 1042").
    title: String,
    /// The data: 1 to 32 named texts, 16 KiB in all.
    items: BTreeMap<String, String>,
}

/// Delivers data (a receipt, an order …) to a person's vault.
///
/// Their node keeps it if their policy accepts deliveries from this node (by
/// default: they hold a live grant with it). Waits for their node's answer.
#[utoipa::path(
    post,
    path = "/v1/deliveries",
    tag = "merchant",
    request_body = DeliveryBody,
    responses(
        (status = 200, description = "The person's node kept it.", body = Delivered),
        (status = 400, description = "A bad id or type, no items, or over the size limit.", body = views::ErrorBody),
        (status = 404, description = "No node found for the person.", body = views::ErrorBody),
        (status = 409, description = "The person's node refused it (unsolicited, or their vault holds too many).", body = views::ErrorBody),
        (status = 502, description = "The person's node could not be reached.", body = views::ErrorBody),
        (status = 503, description = "This node's network is not running.", body = views::ErrorBody),
        (status = 504, description = "The lookup or the exchange took too long.", body = views::ErrorBody),
    )
)]
pub(super) async fn deliver(
    State(state): State<ApiState>,
    Json(body): Json<DeliveryBody>,
) -> ApiResult<Delivered> {
    let to: PassportId = parse(&body.to, "to")?;
    let data_type: DataType = parse(&body.data_type, "type")?;
    let content = passport_protocol::Delivered {
        title: body.title,
        items: body.items,
        attestation: None,
    };
    state
        .passport
        .send_data(to, data_type, content)
        .await?
        .delivered()
        .await?;
    Ok(Json(Delivered { delivered_to: to }))
}

/// Data merchants delivered to this person, newest first.
#[utoipa::path(
    get,
    path = "/v1/data",
    tag = "person",
    responses((status = 200, description = "The data kept.", body = [DeliveredData]))
)]
pub(super) async fn data(State(state): State<ApiState>) -> ApiResult<Vec<DeliveredData>> {
    let all = state.passport.delivered().await?;
    Ok(Json(all.iter().map(DeliveredData::from).collect()))
}

/// Deletes data a merchant delivered.
#[utoipa::path(
    delete,
    path = "/v1/data/{id}",
    tag = "person",
    params(("id" = MessageId, Path, description = "The data's id.")),
    responses(
        (status = 200, description = "Deleted.", body = Empty),
        (status = 400, description = "Not an id.", body = views::ErrorBody),
        (status = 404, description = "No such data.", body = views::ErrorBody),
    )
)]
pub(super) async fn delete_data(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<Empty> {
    let id: MessageId = parse(&id, "id")?;
    state.passport.delete_delivered(id).await?;
    Ok(Json(Empty {}))
}
