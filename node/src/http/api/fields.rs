//! Fields: list, read, set, remove, tag.

use axum::{
    Json,
    extract::{Path, State},
};
use passport_protocol::{FieldName, FieldValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiResult, parse};
use crate::{
    error::NodeError,
    http::state::{ApiError, ApiState, blocking, deliver_all, now},
};

pub(super) async fn fields(State(state): State<ApiState>) -> ApiResult {
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

pub(super) async fn field(State(state): State<ApiState>, Path(name): Path<String>) -> ApiResult {
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
pub(super) struct TagBody {
    tags: std::collections::BTreeSet<String>,
    #[serde(default)]
    sensitivity: Option<crate::vault::Sensitivity>,
}

pub(super) async fn tag_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(body): Json<TagBody>,
) -> ApiResult {
    let name: FieldName = parse(&name, "field name")?;
    let node = state.node.clone();
    blocking(move || node.tag_field(&name, body.tags, body.sensitivity, now())).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SetField {
    value: FieldValue,
}

pub(super) async fn set_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Json(body): Json<SetField>,
) -> ApiResult {
    let name: FieldName = parse(&name, "field name")?;
    let node = state.node.clone();
    let updates = blocking(move || node.set_field(name, body.value, now())).await?;
    Ok(Json(json!({ "updates_to": deliver_all(&state, updates) })))
}

pub(super) async fn remove_field(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> ApiResult {
    let name: FieldName = parse(&name, "field name")?;
    let node = state.node.clone();
    let updates = blocking(move || node.remove_field(&name, now())).await?;
    Ok(Json(json!({ "updates_to": deliver_all(&state, updates) })))
}
