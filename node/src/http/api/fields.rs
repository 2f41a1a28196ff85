//! Fields: list, read, set, remove, tag.

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{FieldName, FieldValue};
use serde::Deserialize;

use super::{ApiResult, parse};
use crate::{
    error::NodeError,
    http::{
        state::{ApiError, ApiState, recipients},
        views,
    },
};

/// The person's fields, ordered by name.
#[utoipa::path(
    get,
    path = "/v1/fields",
    tag = "fields",
    responses((status = 200, description = "Every field.", body = [views::Field]))
)]
pub(super) async fn fields(State(state): State<ApiState>) -> ApiResult<Vec<views::Field>> {
    let fields = state.passport.fields().await?;
    Ok(Json(
        fields
            .into_iter()
            .map(|(name, record)| views::Field::new(name, record))
            .collect(),
    ))
}

/// One field.
#[utoipa::path(
    get,
    path = "/v1/fields/{name}",
    tag = "fields",
    params(("name" = FieldName, Path, description = "The field's name.")),
    responses(
        (status = 200, description = "The field.", body = views::Field),
        (status = 400, description = "Not a field name.", body = views::ErrorBody),
        (status = 404, description = "The field is not set.", body = views::ErrorBody),
    )
)]
pub(super) async fn field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<views::Field> {
    let name: FieldName = parse(&name, "field name")?;
    let record = state
        .passport
        .field(name.clone())
        .await?
        .ok_or_else(|| ApiError::from(NodeError::UnknownField(name.clone())))?;
    Ok(Json(views::Field::new(name, record)))
}

/// The body of `PUT /v1/fields/{name}/tags`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TagFieldBody)]
pub(super) struct TagBody {
    /// The field's tags, replacing those it had.
    tags: std::collections::BTreeSet<String>,
    /// Its new release class; unchanged if absent or `null`.
    #[serde(default)]
    sensitivity: Option<crate::vault::Sensitivity>,
}

/// Replaces a field's tags and, if given, its sensitivity class.
#[utoipa::path(
    put,
    path = "/v1/fields/{name}/tags",
    tag = "fields",
    params(("name" = FieldName, Path, description = "The field's name.")),
    request_body = TagBody,
    responses(
        (status = 200, description = "Done: `{}`.", body = views::Empty),
        (status = 400, description = "Not a field name, too many tags, an empty or over-long tag, or a body that is not JSON.", body = views::ErrorBody),
        (status = 404, description = "The field is not set.", body = views::ErrorBody),
    )
)]
pub(super) async fn tag_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(body): Json<TagBody>,
) -> ApiResult<views::Empty> {
    let name: FieldName = parse(&name, "field name")?;
    state
        .passport
        .tag_field(name, body.tags, body.sensitivity)
        .await?;
    Ok(Json(views::Empty {}))
}

/// The body of `PUT /v1/fields/{name}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SetFieldBody)]
pub(super) struct SetField {
    /// The field's new value.
    value: FieldValue,
}

/// Sets a field.
///
/// A new field gets the default sensitivity for its name and no tags; an existing
/// one keeps its own. Every live grant that includes the field gets a signed update
/// with the current values, delivered in the background.
#[utoipa::path(
    put,
    path = "/v1/fields/{name}",
    tag = "fields",
    params(("name" = FieldName, Path, description = "The field's name.")),
    request_body = SetField,
    responses(
        (status = 200, description = "Set; one merchant per update sent.", body = views::UpdatesTo),
        (status = 400, description = "Not a field name, a value over the protocol's limits, or a body that is not JSON.", body = views::ErrorBody),
    )
)]
pub(super) async fn set_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(body): Json<SetField>,
) -> ApiResult<views::UpdatesTo> {
    let name: FieldName = parse(&name, "field name")?;
    let updates = state.passport.set_field(name, body.value).await?;
    Ok(Json(views::UpdatesTo {
        updates_to: recipients(updates),
    }))
}

/// Removes a field.
///
/// Every live grant that included it gets an update without it, unless nothing
/// would be left in that grant.
#[utoipa::path(
    delete,
    path = "/v1/fields/{name}",
    tag = "fields",
    params(("name" = FieldName, Path, description = "The field's name.")),
    responses(
        (status = 200, description = "Removed; one merchant per update sent.", body = views::UpdatesTo),
        (status = 400, description = "Not a field name.", body = views::ErrorBody),
        (status = 404, description = "The field is not set.", body = views::ErrorBody),
    )
)]
pub(super) async fn remove_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult<views::UpdatesTo> {
    let name: FieldName = parse(&name, "field name")?;
    let updates = state.passport.remove_field(name).await?;
    Ok(Json(views::UpdatesTo {
        updates_to: recipients(updates),
    }))
}
