//! The merchant's commands: `request`, `received`, `show`, `fetch`.

use anyhow::Context as _;
use axum::http::Method;
use passport_node::http::views::{
    AttestedField, FieldValues, ReceivedGrant, RequestOutcome, RequestResult,
};
use serde_json::json;

use super::segment;
use crate::{
    args::RequestArgs,
    context::Context,
    output::{self, Negative},
};

pub(crate) async fn request(ctx: &Context, args: RequestArgs) -> anyhow::Result<()> {
    let mut issuers: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for pair in &args.attested_by {
        let (field, id) = pair.split_once('=').with_context(|| {
            format!("--attested-by {pair:?} is not FIELD=ID, e.g. address.home=did:key:z6Mk…")
        })?;
        if !args.fields.iter().any(|f| f == field) {
            anyhow::bail!("--attested-by names {field}, which --fields does not ask for");
        }
        issuers.entry(field).or_default().push(id);
    }
    if let Some(field) = args.attested.iter().find(|a| !args.fields.contains(a)) {
        anyhow::bail!("--attested names {field}, which --fields does not ask for");
    }
    let conn = ctx.connect(true).await?;
    let body = json!({
        "to": args.to,
        "requester_name": args.name.unwrap_or_default(),
        "fields": args.fields.iter().map(|f| json!({
            "name": f,
            "reason": args.purpose,
            "attested_by": issuers.get(f.as_str()).cloned().unwrap_or_default(),
            "attested_by_trusted": args.attested.contains(f),
        })).collect::<Vec<_>>(),
        "purpose": args.purpose,
        "duration_secs": args.duration.as_secs(),
        "offer": args.offer.map(|text| json!({ "text": text, "details": {} })),
        "wait_secs": args.wait.map_or(0, |w| w.as_secs()),
    });
    let answer: RequestOutcome = conn.json(Method::POST, "/v1/requests", Some(&body)).await?;
    output::answer(ctx.json, &answer, |a| match &a.result {
        Some(RequestResult::Granted { grant }) => {
            format!("Granted: grant {grant}. Open it with `passport show {grant}`.")
        }
        Some(RequestResult::Pending) => format!(
            "Pending: the person decides (request {}). The answer reaches this node; see `passport received`.",
            a.request_id
        ),
        Some(RequestResult::Refused { .. }) => String::new(),
        other => format!("Answer: {}", other.as_ref().map_or("", RequestResult::name)),
    })?;
    if let Some(RequestResult::Refused { reason }) = &answer.result {
        return Err(Negative(format!("refused: {reason}")).into());
    }
    Ok(())
}

pub(crate) async fn received(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let grants: Vec<ReceivedGrant> = conn.json(Method::GET, "/v1/received", None).await?;
    output::items(ctx.json, &grants, "No grants received.", |g| {
        let state = if g.erased_at.is_some() {
            "erased".to_string()
        } else if g.revoked_at.is_some() {
            "revoked".to_string()
        } else {
            output::left(g.expires_at)
        };
        let attested = g
            .attested
            .iter()
            .map(|(field, a)| format!("\n    {field} attested by {}", attestation_text(a)))
            .collect::<String>();
        format!(
            "{}  from {}  {}  ({state}){attested}",
            g.grant_id,
            g.person,
            output::list(&g.fields),
        )
    })
}

/// "did:key:… until 2027-01-15 08:00 UTC".
fn attestation_text(a: &AttestedField) -> String {
    format!("{} until {}", a.issuer, output::time(a.expires_at))
}

/// Opened values: one `name value` line each.
fn values_text(values: &FieldValues) -> String {
    values
        .iter()
        .map(|(name, value)| format!("{:<20} {}", name.as_str(), output::field_text(value)))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) async fn show(ctx: &Context, grant: &str) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let path = format!("/v1/received/{}/values", segment(grant));
    let values: FieldValues = conn.json(Method::GET, &path, None).await?;
    if ctx.json {
        return output::json(&values);
    }
    // Say which values came attested, and by whom.
    let received: Vec<ReceivedGrant> = conn.json(Method::GET, "/v1/received", None).await?;
    let attested = received
        .into_iter()
        .find(|g| g.grant_id.to_string() == grant)
        .map(|g| g.attested)
        .unwrap_or_default();
    for (name, value) in &values {
        let note = attested
            .get(name)
            .map(|a| format!("  (attested by {})", attestation_text(a)))
            .unwrap_or_default();
        output::line(format!(
            "{:<20} {}{note}",
            name.as_str(),
            output::field_text(value)
        ));
    }
    Ok(())
}

pub(crate) async fn fetch(ctx: &Context, grant: &str) -> anyhow::Result<()> {
    let conn = ctx.connect(true).await?;
    let path = format!("/v1/received/{}/fetch", segment(grant));
    let values: FieldValues = conn.json(Method::POST, &path, None).await?;
    output::answer(ctx.json, &values, values_text)
}
