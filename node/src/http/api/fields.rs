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

pub(super) async fn fields(State(state): State<ApiState>) -> ApiResult<Vec<views::Field>> {
    let fields = state.passport.fields().await?;
    Ok(Json(
        fields
            .into_iter()
            .map(|(name, record)| views::Field::new(name, record))
            .collect(),
    ))
}

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
) -> ApiResult<views::Empty> {
    let name: FieldName = parse(&name, "field name")?;
    state
        .passport
        .tag_field(name, body.tags, body.sensitivity)
        .await?;
    Ok(Json(views::Empty {}))
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
) -> ApiResult<views::UpdatesTo> {
    let name: FieldName = parse(&name, "field name")?;
    let updates = state.passport.set_field(name, body.value).await?;
    Ok(Json(views::UpdatesTo {
        updates_to: recipients(updates),
    }))
}

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
