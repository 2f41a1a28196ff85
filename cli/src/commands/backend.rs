//! A shop backend's commands: `requests` (the lifecycle) and `webhook`.

use axum::http::Method;
use passport_node::{
    http::views::{SentRequest, Webhook, WebhookCreated},
    webhook::DeliveryAttempt,
};
use serde_json::json;

use super::segment;
use crate::{
    args::WebhookCommand,
    context::Context,
    output::{self, Negative},
};

fn request_line(r: &SentRequest) -> String {
    let detail = match (&r.grant_id, &r.reason) {
        (Some(grant), _) => format!("  grant {grant}"),
        (None, Some(reason)) => format!("  ({reason})"),
        (None, None) if matches!(r.state.as_str(), "waiting" | "sending" | "queued") => {
            format!("  ({})", output::left(r.expires_at))
        }
        _ => String::new(),
    };
    format!(
        "{}  {:<8} to {}  {}{detail}",
        r.request_id,
        r.state,
        r.person,
        output::list(&r.fields)
    )
}

pub(crate) async fn requests(
    ctx: &Context,
    id: Option<String>,
    state: Option<String>,
) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    if let Some(id) = id {
        let path = format!("/v1/requests/{}", segment(&id));
        let request: SentRequest = conn.json(Method::GET, &path, None).await?;
        return output::answer(ctx.json, &request, request_line);
    }
    let path = match &state {
        Some(state) => format!("/v1/requests?state={}", segment(state)),
        None => "/v1/requests".to_string(),
    };
    let requests: Vec<SentRequest> = conn.json(Method::GET, &path, None).await?;
    output::items(ctx.json, &requests, "No requests sent.", request_line)
}

fn webhook_line(w: &Webhook) -> String {
    format!(
        "{}  {}  {}{}",
        w.id,
        w.url,
        if w.events.is_empty() {
            "every event".to_string()
        } else {
            w.events.join(", ")
        },
        if w.from_config { "  (config.toml)" } else { "" }
    )
}

fn attempt_line(a: &DeliveryAttempt) -> String {
    let answer = match (a.status, &a.error) {
        (Some(status), None) => format!("answered {status}"),
        (_, Some(error)) => error.clone(),
        (None, None) => String::new(),
    };
    let next = a
        .next_at
        .map(|at| format!(", next try {}", output::time(at)))
        .unwrap_or_default();
    format!(
        "{}  {}  {} #{} to {}: {} ({answer}, {} ms{next})",
        output::time(a.at),
        a.webhook_id,
        a.event_type,
        a.attempt,
        a.endpoint,
        a.outcome,
        a.millis
    )
}

pub(crate) async fn webhook(ctx: &Context, command: WebhookCommand) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    match command {
        WebhookCommand::Add {
            url,
            secret,
            events,
        } => {
            let body = json!({ "url": url, "secret": secret, "events": events });
            let created: WebhookCreated =
                conn.json(Method::POST, "/v1/webhooks", Some(&body)).await?;
            output::answer(ctx.json, &created, |c| {
                format!(
                    "Added webhook {}.\n{}\nSigning secret (shown only now; give it to the backend): {}",
                    c.webhook.id,
                    webhook_line(&c.webhook),
                    c.secret
                )
            })
        }
        WebhookCommand::List => {
            let webhooks: Vec<Webhook> = conn.json(Method::GET, "/v1/webhooks", None).await?;
            output::items(ctx.json, &webhooks, "No webhooks.", webhook_line)
        }
        WebhookCommand::Remove { id } => {
            let path = format!("/v1/webhooks/{}", segment(&id));
            let removed: Webhook = conn.json(Method::DELETE, &path, None).await?;
            output::answer(ctx.json, &removed, |w| format!("Removed webhook {}.", w.id))
        }
        WebhookCommand::Test { id } => {
            let path = format!("/v1/webhooks/{}/test", segment(&id));
            let attempt: DeliveryAttempt = conn.json(Method::POST, &path, None).await?;
            output::answer(ctx.json, &attempt, attempt_line)?;
            if attempt.outcome != "delivered" {
                return Err(Negative(format!("webhook {id} did not take the test event")).into());
            }
            Ok(())
        }
        WebhookCommand::Log { limit } => {
            let path = format!("/v1/webhooks/log?limit={limit}");
            let log: Vec<DeliveryAttempt> = conn.json(Method::GET, &path, None).await?;
            output::items(ctx.json, &log, "No delivery attempts yet.", attempt_line)
        }
    }
}
