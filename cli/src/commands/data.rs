//! The passport's fields: `set`, `get`, `unset`, `fields`, `tag`.

use anyhow::{Context as _, bail};
use axum::http::Method;
use passport_node::http::views::{Empty, Field, UpdatesTo};
use serde_json::{Map, Value, json};

use super::{delivery_note, segment};
use crate::{
    args::{SetArgs, TagArgs},
    context::Context,
    output,
};

pub(crate) async fn set(ctx: &Context, args: SetArgs) -> anyhow::Result<()> {
    let value = if let Some(date) = args.date {
        json!({ "date": date })
    } else if !args.part.is_empty() {
        let mut parts = Map::new();
        for part in &args.part {
            let (k, v) = part.split_once('=').with_context(|| {
                format!("--part {part:?} is not KEY=VALUE, e.g. --part city=Lyon")
            })?;
            parts.insert(k.to_string(), Value::String(v.to_string()));
        }
        json!({ "structured": parts })
    } else {
        match args.value {
            Some(text) => json!({ "text": text }),
            None => bail!("give a value, --date or --part"),
        }
    };
    let conn = ctx.connect(false).await?;
    let path = format!("/v1/fields/{}", segment(&args.name));
    let answer: UpdatesTo = conn
        .json(Method::PUT, &path, Some(&json!({ "value": value })))
        .await?;
    output::answer(ctx.json, &answer, |a| {
        let updates = output::list(&a.updates_to);
        let mut text = format!("Set {}.", args.name);
        if !updates.is_empty() {
            text += &format!(
                "\nMerchants holding a live grant for it get the new value: {updates} ({}).",
                delivery_note(conn.is_running())
            );
        }
        text
    })
}

pub(crate) async fn get(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let field: Field = conn
        .json(Method::GET, &format!("/v1/fields/{}", segment(name)), None)
        .await?;
    output::answer(ctx.json, &field, |f| output::field_text(&f.value))
}

pub(crate) async fn unset(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let answer: UpdatesTo = conn
        .json(
            Method::DELETE,
            &format!("/v1/fields/{}", segment(name)),
            None,
        )
        .await?;
    output::answer(ctx.json, &answer, |_| format!("Removed {name}."))
}

pub(crate) async fn fields(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let fields: Vec<Field> = conn.json(Method::GET, "/v1/fields", None).await?;
    output::items(
        ctx.json,
        &fields,
        "No fields yet. Add one: passport set name.given Ada",
        |f| {
            let tags = output::list(&f.tags);
            let attested = f
                .attestations
                .iter()
                .map(|a| {
                    format!(
                        "\n    attested by {} until {}",
                        a.issuer,
                        output::time(a.expires_at)
                    )
                })
                .collect::<String>();
            format!(
                "{:<20} {:<40} {}{}{attested}",
                f.name.as_str(),
                output::field_text(&f.value),
                f.sensitivity.name(),
                if tags.is_empty() {
                    String::new()
                } else {
                    format!(" [{tags}]")
                }
            )
        },
    )
}

pub(crate) async fn tag(ctx: &Context, args: TagArgs) -> anyhow::Result<()> {
    if let Some(s) = args
        .sensitivity
        .as_ref()
        .filter(|s| *s != "normal" && *s != "sensitive")
    {
        bail!("--sensitivity must be `normal` or `sensitive`, not {s:?}");
    }
    let conn = ctx.connect(false).await?;
    let body = json!({ "tags": args.tags, "sensitivity": args.sensitivity });
    let path = format!("/v1/fields/{}/tags", segment(&args.name));
    let answer: Empty = conn.json(Method::PUT, &path, Some(&body)).await?;
    output::answer(ctx.json, &answer, |_| format!("Tagged {}.", args.name))
}
