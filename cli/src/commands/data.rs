//! The passport's fields: `set`, `get`, `unset`, `fields`, `tag`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use axum::http::Method;
use serde_json::{Map, Value, json};

use super::{delivery_note, segment};
use crate::{
    args::{SetArgs, TagArgs},
    context::Context,
    output,
};

pub(crate) async fn set(ctx: &Context, args: SetArgs) -> anyhow::Result<ExitCode> {
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
    let answer = conn
        .json(Method::PUT, &path, Some(&json!({ "value": value })))
        .await?;
    if ctx.json {
        output::json(&answer);
    } else {
        output::line(format!("Set {}.", args.name));
        let updates = output::list(&answer["updates_to"]);
        if !updates.is_empty() {
            output::line(format!(
                "Merchants holding a live grant for it get the new value: {updates} ({}).",
                delivery_note(conn.is_running())
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn get(ctx: &Context, name: &str) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let field = conn
        .json(Method::GET, &format!("/v1/fields/{}", segment(name)), None)
        .await?;
    if ctx.json {
        output::json(&field);
    } else {
        output::line(output::value_text(&field["value"]));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn unset(ctx: &Context, name: &str) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let answer = conn
        .json(
            Method::DELETE,
            &format!("/v1/fields/{}", segment(name)),
            None,
        )
        .await?;
    if ctx.json {
        output::json(&answer);
    } else {
        output::line(format!("Removed {name}."));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn fields(ctx: &Context) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let fields = conn.json(Method::GET, "/v1/fields", None).await?;
    if ctx.json {
        output::json(&fields);
        return Ok(ExitCode::SUCCESS);
    }
    let items = fields.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        output::line("No fields yet. Add one: passport set name.given Ada");
    }
    for f in items {
        let tags = output::list(&f["tags"]);
        output::line(format!(
            "{:<20} {:<40} {}{}",
            output::s(&f, "name"),
            output::value_text(&f["value"]),
            output::s(&f, "sensitivity"),
            if tags.is_empty() {
                String::new()
            } else {
                format!(" [{tags}]")
            }
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn tag(ctx: &Context, args: TagArgs) -> anyhow::Result<ExitCode> {
    if let Some(s) = args
        .sensitivity
        .as_ref()
        .filter(|s| *s != "normal" && *s != "sensitive")
    {
        bail!("--sensitivity must be `normal` or `sensitive`, not {s:?}");
    }
    let conn = ctx.connect(false).await?;
    let body = json!({ "tags": args.tags, "sensitivity": args.sensitivity });
    let answer = conn
        .json(
            Method::PUT,
            &format!("/v1/fields/{}/tags", segment(&args.name)),
            Some(&body),
        )
        .await?;
    if ctx.json {
        output::json(&answer);
    } else {
        output::line(format!("Tagged {}.", args.name));
    }
    Ok(ExitCode::SUCCESS)
}
