//! The merchant's side: sending a request, grants received, their values, fetch.

use std::time::Duration;

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{FieldName, FieldRequest, FieldValue, GrantId, Offer, PassportId};
use serde::Deserialize;

use super::{ApiResult, parse};
use crate::{
    http::{
        state::ApiState,
        views::{self, FieldValues, RequestOutcome},
    },
    merchant::RequestSpec,
};

/// The body of `POST /v1/requests`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SendRequestBody)]
pub(super) struct RequestBody {
    /// The person's passport id.
    #[schema(value_type = PassportId)]
    to: String,
    /// The name the person sees. Default: `[merchant] name` from config.toml, else
    /// "unnamed merchant".
    #[serde(default)]
    requester_name: String,
    /// The fields asked for: at least one, no duplicates.
    fields: Vec<FieldRequestBody>,
    /// What the data is for.
    purpose: String,
    /// How long the grant should last, in seconds.
    duration_secs: u64,
    /// How long to keep the data after the grant ends, in seconds (the person's
    /// node caps it).
    #[serde(default)]
    retention_secs: u64,
    /// What the merchant offers in return.
    #[serde(default)]
    offer: Option<Offer>,
    /// If the person must decide, wait up to this many seconds for the decision
    /// (at most 300). Default 0: answer "pending" at once.
    #[serde(default)]
    wait_secs: u64,
}

/// Longest wait a request may ask for.
const MAX_WAIT_SECS: u64 = 300;

/// One field a `POST /v1/requests` asks for.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FieldRequestBody {
    /// The field.
    name: FieldName,
    /// Whether the merchant needs it (`false`: nice to have).
    #[serde(default = "yes")]
    #[schema(default = true)]
    required: bool,
    /// Why, in the merchant's words.
    #[serde(default)]
    reason: String,
    /// The issuers whose attestation of this field the merchant needs (at most
    /// 8). Default: none, any value will do.
    #[serde(default)]
    #[schema(value_type = Vec<PassportId>)]
    attested_by: Vec<String>,
    /// Also accept an attestation by any issuer in this node's
    /// `[[trusted_issuer]]` list. Default false.
    #[serde(default)]
    attested_by_trusted: bool,
}

fn yes() -> bool {
    true
}

/// Sends a request for fields to a person and waits for the first answer.
///
/// Synchronous: looks the person up in the DHT and sends the signed request. The
/// request is recorded and audited as sent before the network step; an error
/// answer carries no `request_id`, and nothing retries it.
#[utoipa::path(
    post,
    path = "/v1/requests",
    tag = "merchant",
    request_body = RequestBody,
    responses(
        (status = 200, description = "Sent; the first answer.", body = RequestOutcome),
        (status = 400, description = "A bad `to`, a request the protocol refuses (no fields, a duplicate, over a limit), or a body that is not JSON.", body = views::ErrorBody),
        (status = 404, description = "No node found for the id.", body = views::ErrorBody),
        (status = 409, description = "The person's node refused the message (e.g. its inbox is full).", body = views::ErrorBody),
        (status = 502, description = "The person's node could not be reached.", body = views::ErrorBody),
        (status = 503, description = "This node's network is not running, or the person's node is busy.", body = views::ErrorBody),
        (status = 504, description = "The lookup or the exchange took too long.", body = views::ErrorBody),
    )
)]
pub(super) async fn send_request(
    State(state): State<ApiState>,
    Json(body): Json<RequestBody>,
) -> ApiResult<RequestOutcome> {
    let to: PassportId = parse(&body.to, "to")?;
    let wait = Duration::from_secs(body.wait_secs.min(MAX_WAIT_SECS));
    let trusted: Vec<PassportId> = state
        .passport
        .node()
        .config()
        .trusted_issuers
        .iter()
        .map(|t| t.id)
        .collect();
    let mut fields = Vec::with_capacity(body.fields.len());
    for f in body.fields {
        let mut attested_by: Vec<PassportId> = f
            .attested_by
            .iter()
            .map(|id| parse(id, "attested_by"))
            .collect::<Result<_, _>>()?;
        if f.attested_by_trusted {
            if trusted.is_empty() {
                return Err(super::super::state::bad_request(format!(
                    "{}: attested_by_trusted, but this node trusts no issuer; add a [[trusted_issuer]] to config.toml",
                    f.name
                )));
            }
            for id in &trusted {
                if !attested_by.contains(id) {
                    attested_by.push(*id);
                }
            }
        }
        fields.push(FieldRequest {
            name: f.name,
            required: f.required,
            reason: f.reason,
            attested_by,
        });
    }
    let spec = RequestSpec {
        requester_name: body.requester_name,
        fields,
        purpose: body.purpose,
        duration_secs: body.duration_secs,
        retention_secs: body.retention_secs,
        offer: body.offer,
        reply_to: Vec::new(),
    };
    let outcome = state.passport.request(to, spec, wait).await?;
    Ok(Json(outcome.into()))
}

/// Grants this merchant holds, newest first.
#[utoipa::path(
    get,
    path = "/v1/received",
    tag = "merchant",
    responses((status = 200, description = "The grants received.", body = [views::ReceivedGrant]))
)]
pub(super) async fn received(
    State(state): State<ApiState>,
) -> ApiResult<Vec<views::ReceivedGrant>> {
    let grants = state.passport.received().await?;
    Ok(Json(
        grants.iter().map(views::ReceivedGrant::from).collect(),
    ))
}

/// The values under a grant: the latest update, or else the grant itself.
///
/// Answered only while the grant lives.
#[utoipa::path(
    get,
    path = "/v1/received/{id}/values",
    tag = "merchant",
    params(("id" = GrantId, Path, description = "The grant's id.")),
    responses(
        (status = 200, description = "The values, by field name.", body = BTreeMap<FieldName, FieldValue>),
        (status = 400, description = "Not a grant id.", body = views::ErrorBody),
        (status = 404, description = "No such grant.", body = views::ErrorBody),
        (status = 410, description = "The grant was revoked, has expired or was erased.", body = views::ErrorBody),
    )
)]
pub(super) async fn received_values(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<FieldValues> {
    let id = super::grant_id(&state, &id).await?;
    Ok(Json(state.passport.open_grant(id).await?))
}

/// Asks the person's node for the current values under a live grant.
#[utoipa::path(
    post,
    path = "/v1/received/{id}/fetch",
    tag = "merchant",
    params(("id" = GrantId, Path, description = "The grant's id.")),
    responses(
        (status = 200, description = "The current values, by field name.", body = BTreeMap<FieldName, FieldValue>),
        (status = 400, description = "Not a grant id.", body = views::ErrorBody),
        (status = 404, description = "No such grant, or no node found for the person.", body = views::ErrorBody),
        (status = 409, description = "The person's node refused.", body = views::ErrorBody),
        (status = 410, description = "The grant was revoked, erased or has ended.", body = views::ErrorBody),
        (status = 502, description = "The person's node could not be reached.", body = views::ErrorBody),
        (status = 503, description = "This node's network is not running, or the person's node is busy.", body = views::ErrorBody),
        (status = 504, description = "The lookup or the exchange took too long.", body = views::ErrorBody),
    )
)]
pub(super) async fn fetch(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult<FieldValues> {
    let id = super::grant_id(&state, &id).await?;
    Ok(Json(state.passport.fetch(id).await?))
}
