//! The auditor's commands: `message export` and `message verify`.

use anyhow::Context as _;
use axum::http::Method;
use passport_protocol::{Body, verify_offline};
use serde_json::json;

use super::segment;
use crate::{
    args::MessageCommand,
    context::Context,
    output::{self, Negative},
};

pub(crate) async fn run(ctx: &Context, command: MessageCommand) -> anyhow::Result<()> {
    match command {
        MessageCommand::Export { id, file } => {
            let conn = ctx.connect(false).await?;
            let path = format!("/v1/messages/{}", segment(&id));
            let bytes = conn.bytes(Method::GET, &path, None).await?;
            std::fs::write(&file, &bytes)
                .with_context(|| format!("could not write {}", file.display()))?;
            let written = json!({ "id": id, "file": file, "bytes": bytes.len() });
            output::answer(ctx.json, &written, |_| {
                format!(
                    "Wrote message {id} ({} bytes) to {}.",
                    bytes.len(),
                    file.display()
                )
            })
        }
        MessageCommand::Verify { file } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("could not read {}", file.display()))?;
            let message = match verify_offline(&bytes) {
                Ok(message) => message,
                Err(e) => {
                    if ctx.json {
                        output::json(
                            &json!({ "valid": false, "reason": e.reason(), "error": e.to_string() }),
                        )?;
                    }
                    return Err(Negative(format!("invalid: {e}")).into());
                }
            };
            let claims = &message.claims;
            let kind = message.body.kind().name();
            let body = match &message.body {
                Body::Request(r) => json!({
                    "requester_name": r.requester_name, "purpose": r.purpose,
                    "fields": r.fields.iter().map(|f| f.name.to_string()).collect::<Vec<_>>(),
                    "duration_secs": r.duration_secs,
                }),
                Body::Decision(d) => match &d.outcome {
                    passport_protocol::Outcome::Granted(g) => json!({
                        "request_id": d.request_id.to_string(),
                        "outcome": "granted",
                        "grant_id": g.grant_id.to_string(),
                        "fields": g.fields.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
                        "purpose": g.terms.purpose,
                        "retention_secs": g.terms.retention_secs,
                    }),
                    passport_protocol::Outcome::Refused { .. } => json!({
                        "request_id": d.request_id.to_string(),
                        "outcome": "refused",
                    }),
                },
                Body::Fetch(f) => json!({ "grant_id": f.grant_id.to_string() }),
                Body::Update(u) => json!({ "grant_id": u.grant_id.to_string() }),
                Body::Revoke(r) => json!({ "grant_id": r.grant_id.to_string() }),
                Body::EraseRequest(_) => json!({}),
                Body::DeletionReceipt(r) => json!({
                    "grants": r.grant_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "erased": if r.backend_confirmed {
                        "by the node and confirmed by the backend"
                    } else {
                        "by the node"
                    },
                }),
                // The content is sealed to the person: only its type shows.
                Body::Delivery(d) => json!({ "type": d.data_type.name() }),
                Body::AccessRequest(_) => json!({}),
                Body::AccessStatement(s) => json!({
                    "in_reply_to": s.in_reply_to.to_string(),
                    "grants": s.grants.iter().map(|g| json!({
                        "grant_id": g.grant_id.to_string(),
                        "fields": g.fields.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "purpose": g.purpose,
                        "state": g.state.name(),
                        "erasure": g.erasure.name(),
                    })).collect::<Vec<_>>(),
                }),
            };
            let report = json!({
                "valid": true,
                "kind": kind,
                "signer": claims.issuer.to_string(),
                "audience": claims.audience.to_string(),
                "id": claims.id.to_string(),
                "issued_at": claims.issued_at.as_secs(),
                "expires_at": claims.expires_at.as_secs(),
                "body": body,
            });
            if ctx.json {
                output::json(&report)?;
            } else {
                output::line(format!("valid {kind}, signed by {}", claims.issuer));
                output::line(format!("  to:       {}", claims.audience));
                output::line(format!("  id:       {}", claims.id));
                output::line(format!("  issued:   {}", output::time(claims.issued_at)));
                output::line(format!("  expires:  {}", output::time(claims.expires_at)));
                for (k, v) in body.as_object().into_iter().flatten() {
                    output::line(format!("  {k}: {v}"));
                }
                output::line(
                    "  (signature, structure and claims checked offline; not checked: clock window and replay)",
                );
            }
            Ok(())
        }
    }
}
