//! The merchant's commands: `request`, `received`, `show`, `fetch`.

use axum::http::Method;
use serde_json::{Value, json};

use super::segment;
use crate::{
    args::RequestArgs,
    context::Context,
    output::{self, Negative},
};

pub(crate) async fn request(ctx: &Context, args: RequestArgs) -> anyhow::Result<()> {
    let conn = ctx.connect(true).await?;
    let body = json!({
        "to": args.to,
        "requester_name": args.name.unwrap_or_else(|| "unnamed merchant".into()),
        "fields": args.fields.iter().map(|f| json!({ "name": f, "reason": args.purpose })).collect::<Vec<_>>(),
        "purpose": args.purpose,
        "duration_secs": args.duration.as_secs(),
        "offer": args.offer.map(|text| json!({ "text": text, "details": {} })),
        "wait_secs": args.wait.map_or(0, |w| w.as_secs()),
    });
    let answer = conn.json(Method::POST, "/v1/requests", Some(&body)).await?;
    let result = &answer["result"];
    let status = output::s(result, "status");
    output::answer(ctx.json, &answer, |a| match status {
        "granted" => {
            let grant = output::s(result, "grant");
            format!("Granted: grant {grant}. Open it with `passport show {grant}`.")
        }
        "pending" => format!(
            "Pending: the person decides (request {}). The answer reaches this node; see `passport received`.",
            output::s(a, "request_id")
        ),
        "refused" => String::new(),
        other => format!("Answer: {other}"),
    });
    if status == "refused" {
        let reason = result["reason"].as_str().unwrap_or("no reason given");
        return Err(Negative(format!("refused: {reason}")).into());
    }
    Ok(())
}

pub(crate) async fn received(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let grants = conn.json(Method::GET, "/v1/received", None).await?;
    output::items(ctx.json, &grants, "No grants received.", |g| {
        let state = if !g["erased_at"].is_null() {
            "erased".to_string()
        } else if !g["revoked_at"].is_null() {
            "revoked".to_string()
        } else {
            output::left(&g["expires_at"])
        };
        format!(
            "{}  from {}  {}  ({state})",
            output::s(g, "grant_id"),
            output::s(g, "person"),
            output::list(&g["fields"]),
        )
    });
    Ok(())
}

/// Opened values: one `name value` line each.
fn values_text(values: &Value) -> String {
    values
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, value)| format!("{name:<20} {}", output::value_text(value)))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) async fn show(ctx: &Context, grant: &str) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let path = format!("/v1/received/{}/values", segment(grant));
    let values = conn.json(Method::GET, &path, None).await?;
    output::answer(ctx.json, &values, values_text);
    Ok(())
}

pub(crate) async fn fetch(ctx: &Context, grant: &str) -> anyhow::Result<()> {
    let conn = ctx.connect(true).await?;
    let path = format!("/v1/received/{}/fetch", segment(grant));
    let values = conn.json(Method::POST, &path, None).await?;
    output::answer(ctx.json, &values, values_text);
    Ok(())
}
