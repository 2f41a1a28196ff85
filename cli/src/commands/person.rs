//! The person's commands: `inbox`, `approve`, `deny`, `grants`, `revoke`, `erase`,
//! `policy`, `audit`.

use axum::http::Method;
use passport_node::{
    audit::AuditEvent,
    http::views::{
        AuditEntry, AuditVerification, DeliveringTo, InboxItem, IssuedGrant, Policy, Removed,
    },
};
use serde_json::{Value, json};

use super::{delivery_note, segment};
use crate::{
    args::{ApproveArgs, PolicyAddArgs, PolicyCommand},
    context::Context,
    output::{self, Negative},
};

pub(crate) async fn inbox(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let items: Vec<InboxItem> = conn.json(Method::GET, "/v1/inbox", None).await?;
    output::items(ctx.json, &items, "No requests waiting.", |item| {
        let mut text = item.sentence.clone();
        for f in &item.fields {
            let optional = if f.required { "" } else { " (optional)" };
            text += &format!("\n    {}{optional}: {}", f.name, f.reason);
        }
        let id = item.request_id;
        text + &format!(
            "\n    answer: passport approve {id}   or   passport deny {id}   ({})",
            output::left(item.expires_at)
        )
    })
}

/// POSTs an action that sends a message (approve, deny, revoke, erase) and says so:
/// `done` gets the recipients and where the message stands.
async fn send(
    ctx: &Context,
    path: &str,
    body: Option<&Value>,
    done: impl FnOnce(String, &str) -> String,
) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let answer: DeliveringTo = conn.json(Method::POST, path, body).await?;
    output::answer(ctx.json, &answer, |a| {
        done(
            output::list(&a.delivering_to),
            delivery_note(conn.is_running()),
        )
    })
}

pub(crate) async fn approve(ctx: &Context, args: ApproveArgs) -> anyhow::Result<()> {
    let body = json!({
        "only": if args.only.is_empty() { Value::Null } else { json!(args.only) },
        "duration_secs": args.duration.map(|d| d.as_secs()),
        "always": args.always,
    });
    let path = format!("/v1/inbox/{}/approve", segment(&args.request));
    send(ctx, &path, Some(&body), |to, note| {
        let mut text = format!("Approved. The grant goes to {to} ({note}).");
        if args.always {
            text += "\nA standing policy now answers this merchant's requests for your normal fields and the ones approved now: see `passport policy list`.";
        }
        text
    })
    .await
}

pub(crate) async fn deny(
    ctx: &Context,
    request: &str,
    reason: Option<String>,
) -> anyhow::Result<()> {
    let body = json!({ "reason": reason.unwrap_or_default() });
    let path = format!("/v1/inbox/{}/deny", segment(request));
    send(ctx, &path, Some(&body), |to, note| {
        format!("Refused. The refusal goes to {to} ({note}).")
    })
    .await
}

pub(crate) async fn grants(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let grants: Vec<IssuedGrant> = conn.json(Method::GET, "/v1/grants", None).await?;
    output::items(ctx.json, &grants, "No grants given.", |g| {
        let state = if g.revoked_at.is_none() {
            if g.live {
                output::left(g.expires_at)
            } else {
                "ended".to_string()
            }
        } else if g.receipt.is_none() {
            "revoked, receipt pending".to_string()
        } else {
            "revoked, erasure receipt received".to_string()
        };
        format!(
            "{}  to {}  {}  ({state})",
            g.grant_id,
            g.merchant,
            output::list(&g.fields),
        )
    })
}

pub(crate) async fn revoke(ctx: &Context, grant: &str) -> anyhow::Result<()> {
    let path = format!("/v1/grants/{}/revoke", segment(grant));
    send(ctx, &path, None, |to, note| {
        format!("Revoked. {to} must erase the data and send a deletion receipt ({note}).")
    })
    .await
}

pub(crate) async fn erase(ctx: &Context, merchant: &str) -> anyhow::Result<()> {
    let path = format!("/v1/merchants/{}/erase", segment(merchant));
    send(ctx, &path, None, |to, note| {
        format!("Asked {to} to erase everything it holds about you ({note}).")
    })
    .await
}

pub(crate) async fn policy(ctx: &Context, command: PolicyCommand) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    match command {
        PolicyCommand::List => {
            let policies: Vec<Policy> = conn.json(Method::GET, "/v1/policies", None).await?;
            output::items(
                ctx.json,
                &policies,
                "No standing policies: every request waits for you.",
                describe_policy,
            )
        }
        PolicyCommand::Add(args) => {
            let body = policy_body(&args)?;
            let added: Policy = conn.json(Method::POST, "/v1/policies", Some(&body)).await?;
            output::answer(ctx.json, &added, |p| {
                format!("Added: {}", describe_policy(p))
            })
        }
        PolicyCommand::Remove { id } => {
            let path = format!("/v1/policies/{id}");
            let answer: Removed = conn.json(Method::DELETE, &path, None).await?;
            output::answer(ctx.json, &answer, |_| format!("Removed policy {id}."))
        }
    }
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

fn describe_policy(p: &Policy) -> String {
    let who = p
        .merchant
        .map_or_else(|| "any merchant".to_string(), |m| m.to_string());
    let purpose = p
        .purpose
        .as_ref()
        .map_or_else(|| "any purpose".to_string(), |s| format!("purpose {s:?}"));
    let mut fields = Vec::new();
    if p.fields.any_normal {
        fields.push("every normal field".to_string());
    }
    let named = output::list(&p.fields.named);
    if !named.is_empty() {
        fields.push(named);
    }
    let limit = p
        .max_duration_secs
        .map(|s| format!(", at most {}", output::span(s)))
        .unwrap_or_default();
    format!(
        "#{} {} {} for {}, {}{limit}",
        p.id,
        p.effect.name(),
        fields.join(" and "),
        who,
        purpose
    )
}

pub(crate) async fn audit(ctx: &Context, verify: bool) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    if verify {
        let report: AuditVerification = conn.json(Method::GET, "/v1/audit/verify", None).await?;
        if !report.intact {
            if ctx.json {
                output::json(&report)?;
            }
            let problems = serde_json::to_value(&report.problems)?.to_string();
            return Err(Negative(format!("the audit log was tampered with: {problems}")).into());
        }
        return output::answer(ctx.json, &report, |r| {
            format!(
                "The audit log is intact: {} entries, hash chain verified.",
                r.entries
            )
        });
    }
    let entries: Vec<AuditEntry> = conn.json(Method::GET, "/v1/audit", None).await?;
    output::items(ctx.json, &entries, "The audit log is empty.", |e| {
        let message = e
            .message_id
            .map(|m| format!("  (message {m})"))
            .unwrap_or_default();
        // No padding on `seq`: `{:>4}` had none when it was a JSON `Value`, and the
        // output stays as it was.
        format!(
            "{}  {}  {}{message}",
            e.seq,
            output::time(e.at),
            describe_event(&e.event)
        )
    })
}

/// An event as one line: its name, then its members, as its JSON
/// (`{"event": "grant_issued", ...}`) has them.
fn describe_event(event: &AuditEvent) -> String {
    let event = serde_json::to_value(event).unwrap_or_default();
    let event = &event;
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
