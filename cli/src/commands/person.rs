//! The person's commands: `inbox`, `approve`, `deny`, `grants`, `revoke`, `erase`,
//! `policy`, `audit`.

use std::process::ExitCode;

use axum::http::Method;
use serde_json::{Value, json};

use super::{delivery_note, segment};
use crate::{
    args::{ApproveArgs, PolicyAddArgs, PolicyCommand},
    context::Context,
    output::{self, Negative},
};

pub(crate) async fn inbox(ctx: &Context) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let items = conn.json(Method::GET, "/v1/inbox", None).await?;
    if ctx.json {
        output::json(&items);
        return Ok(ExitCode::SUCCESS);
    }
    let items = items.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        output::line("No requests waiting.");
    }
    for item in items {
        output::line(output::s(&item, "sentence"));
        for f in item["fields"].as_array().into_iter().flatten() {
            let required = if f["required"].as_bool() == Some(true) {
                ""
            } else {
                " (optional)"
            };
            output::line(format!(
                "    {}{required}: {}",
                output::s(f, "name"),
                output::s(f, "reason")
            ));
        }
        let id = output::s(&item, "request_id");
        output::line(format!(
            "    answer: passport approve {id}   or   passport deny {id}   ({})",
            output::left(&item["expires_at"])
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn approve(ctx: &Context, args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let body = json!({
        "only": if args.only.is_empty() { Value::Null } else { json!(args.only) },
        "duration_secs": args.duration.map(|d| d.as_secs()),
        "always": args.always,
    });
    let path = format!("/v1/inbox/{}/approve", segment(&args.request));
    let answer = conn.json(Method::POST, &path, Some(&body)).await?;
    if ctx.json {
        output::json(&answer);
    } else {
        output::line(format!(
            "Approved. The grant goes to {} ({}).",
            output::list(&answer["delivering_to"]),
            delivery_note(conn.is_running())
        ));
        if args.always {
            output::line(
                "A standing policy now answers this merchant's requests for your normal fields and the ones approved now: see `passport policy list`.",
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn deny(
    ctx: &Context,
    request: &str,
    reason: Option<String>,
) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let body = json!({ "reason": reason.unwrap_or_default() });
    let path = format!("/v1/inbox/{}/deny", segment(request));
    let answer = conn.json(Method::POST, &path, Some(&body)).await?;
    if ctx.json {
        output::json(&answer);
    } else {
        output::line(format!(
            "Refused. The refusal goes to {} ({}).",
            output::list(&answer["delivering_to"]),
            delivery_note(conn.is_running())
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn grants(ctx: &Context) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let grants = conn.json(Method::GET, "/v1/grants", None).await?;
    if ctx.json {
        output::json(&grants);
        return Ok(ExitCode::SUCCESS);
    }
    let items = grants.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        output::line("No grants given.");
    }
    for g in items {
        let state = if !g["revoked_at"].is_null() {
            if g["receipt"].is_null() {
                "revoked, receipt pending".to_string()
            } else {
                "revoked, erasure receipt received".to_string()
            }
        } else if g["live"].as_bool() == Some(true) {
            output::left(&g["expires_at"])
        } else {
            "ended".to_string()
        };
        output::line(format!(
            "{}  to {}  {}  ({state})",
            output::s(&g, "grant_id"),
            output::s(&g, "merchant"),
            output::list(&g["fields"]),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn revoke(ctx: &Context, grant: &str) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let path = format!("/v1/grants/{}/revoke", segment(grant));
    let answer = conn.json(Method::POST, &path, None).await?;
    if ctx.json {
        output::json(&answer);
    } else {
        output::line(format!(
            "Revoked. {} must erase the data and send a deletion receipt ({}).",
            output::list(&answer["delivering_to"]),
            delivery_note(conn.is_running())
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn erase(ctx: &Context, merchant: &str) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    let path = format!("/v1/merchants/{}/erase", segment(merchant));
    let answer = conn.json(Method::POST, &path, None).await?;
    if ctx.json {
        output::json(&answer);
    } else {
        output::line(format!(
            "Asked {} to erase everything it holds about you ({}).",
            output::list(&answer["delivering_to"]),
            delivery_note(conn.is_running())
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn policy(ctx: &Context, command: PolicyCommand) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    match command {
        PolicyCommand::List => {
            let policies = conn.json(Method::GET, "/v1/policies", None).await?;
            if ctx.json {
                output::json(&policies);
                return Ok(ExitCode::SUCCESS);
            }
            let items = policies.as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                output::line("No standing policies: every request waits for you.");
            }
            for p in items {
                output::line(describe_policy(&p));
            }
        }
        PolicyCommand::Add(args) => {
            let body = policy_body(&args)?;
            let added = conn.json(Method::POST, "/v1/policies", Some(&body)).await?;
            if ctx.json {
                output::json(&added);
            } else {
                output::line(format!("Added: {}", describe_policy(&added)));
            }
        }
        PolicyCommand::Remove { id } => {
            let answer = conn
                .json(Method::DELETE, &format!("/v1/policies/{id}"), None)
                .await?;
            if ctx.json {
                output::json(&answer);
            } else {
                output::line(format!("Removed policy {id}."));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_body(args: &PolicyAddArgs) -> anyhow::Result<Value> {
    if !args.any_normal && args.fields.is_empty() {
        anyhow::bail!("say which fields: --fields a,b and/or --any-normal");
    }
    Ok(json!({
        "effect": if args.allow { "allow" } else { "deny" },
        "merchant": args.merchant,
        "purpose": args.purpose,
        "fields": { "any_normal": args.any_normal, "named": args.fields },
        "max_duration_secs": args.max_for.map(|d| d.as_secs()),
    }))
}

fn describe_policy(p: &Value) -> String {
    let who = p["merchant"].as_str().unwrap_or("any merchant");
    let purpose = p["purpose"]
        .as_str()
        .map_or_else(|| "any purpose".to_string(), |s| format!("purpose {s:?}"));
    let mut fields = Vec::new();
    if p["fields"]["any_normal"].as_bool() == Some(true) {
        fields.push("every normal field".to_string());
    }
    let named = output::list(&p["fields"]["named"]);
    if !named.is_empty() {
        fields.push(named);
    }
    let limit = p["max_duration_secs"]
        .as_u64()
        .map(|s| format!(", at most {}", output::span(s)))
        .unwrap_or_default();
    format!(
        "#{} {} {} for {}, {}{limit}",
        p["id"],
        output::s(p, "effect"),
        fields.join(" and "),
        who,
        purpose
    )
}

pub(crate) async fn audit(ctx: &Context, verify: bool) -> anyhow::Result<ExitCode> {
    let conn = ctx.connect(false).await?;
    if verify {
        let report = conn.json(Method::GET, "/v1/audit/verify", None).await?;
        let intact = report["intact"].as_bool() == Some(true);
        if ctx.json {
            output::json(&report);
        } else if intact {
            output::line(format!(
                "The audit log is intact: {} entries, hash chain verified.",
                report["entries"]
            ));
        }
        if !intact {
            let problems = report["problems"].to_string();
            return Err(Negative(format!("the audit log was tampered with: {problems}")).into());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let entries = conn.json(Method::GET, "/v1/audit", None).await?;
    if ctx.json {
        output::json(&entries);
        return Ok(ExitCode::SUCCESS);
    }
    for e in entries.as_array().into_iter().flatten() {
        let message = e["message_id"]
            .as_str()
            .map(|m| format!("  (message {m})"))
            .unwrap_or_default();
        output::line(format!(
            "{:>4}  {}  {}{message}",
            e["seq"],
            output::time(&e["at"]),
            describe_event(&e["event"])
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// An event (`{"event": "grant_issued", ...}`) as one line: its name, then its
/// members.
fn describe_event(event: &Value) -> String {
    let name = output::s(event, "event").replace('_', " ");
    let details = event
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| *k != "event")
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    format!("{k}={v}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    format!("{name}: {details}")
}
