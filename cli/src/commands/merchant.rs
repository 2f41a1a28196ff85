//! The merchant's commands: `request`, `received`, `show`, `fetch`.

use std::process::ExitCode;

use axum::http::Method;
use serde_json::{Value, json};

use super::segment;
use crate::{
    args::RequestArgs,
    context::Context,
    output::{self, Negative},
};

pub(crate) async fn request(ctx: &Context, args: RequestArgs) -> anyhow::Result<ExitCode> {
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
    if ctx.json {
        output::json(&answer);
    } else {
        match status {
            "granted" => output::line(format!(
                "Granted: grant {}. Open it with `passport show {}`.",
                output::s(result, "grant"),
                output::s(result, "grant")
            )),
            "pending" => output::line(format!(
                "Pending: the person decides (request {}). The answer reaches this node; see `passport received`.",
                output::s(&answer, "request_id")
            )),
            "refused" => {}
            other => output::line(format!("Answer: {other}")),
        }
    }
    if status == "refused" {
        let reason = result["reason"].as_str().unwrap_or("no reason given");
        return Err(Negative(format!("refused: {reason}")).into());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn received(ctx: &Context) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let grants = conn.json(Method::GET, "/v1/received", None).await?;
    if ctx.json {
        output::json(&grants);
        return Ok(ExitCode::SUCCESS);
    }
    let items = grants.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        output::line("No grants received.");
    }
    for g in items {
        let state = if !g["erased_at"].is_null() {
            "erased".to_string()
        } else if !g["revoked_at"].is_null() {
            "revoked".to_string()
        } else {
            output::left(&g["expires_at"])
        };
        output::line(format!(
            "{}  from {}  {}  ({state})",
            output::s(&g, "grant_id"),
            output::s(&g, "person"),
            output::list(&g["fields"]),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_values(ctx: &Context, values: &Value) {
    if ctx.json {
        output::json(values);
        return;
    }
    for (name, value) in values.as_object().into_iter().flatten() {
        output::line(format!("{name:<20} {}", output::value_text(value)));
    }
}

pub(crate) async fn show(ctx: &Context, grant: &str) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let path = format!("/v1/received/{}/values", segment(grant));
    let values = conn.json(Method::GET, &path, None).await?;
    print_values(ctx, &values);
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn fetch(ctx: &Context, grant: &str) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(true).await?;
    let path = format!("/v1/received/{}/fetch", segment(grant));
    let values = conn.json(Method::POST, &path, None).await?;
    print_values(ctx, &values);
    Ok(ExitCode::SUCCESS)
}
