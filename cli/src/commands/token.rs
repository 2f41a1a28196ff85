//! `token create`, `token list`, `token revoke`: scoped API tokens for programs
//! that should reach only part of the API (the full token stays `api.token`).

use axum::http::Method;
use passport_node::http::views::{ApiToken, NewToken, TokenRevoked};
use serde_json::json;

use super::segment;
use crate::{args::TokenCommand, context::Context, output};

pub(crate) async fn run(ctx: &Context, command: TokenCommand) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    match command {
        TokenCommand::Create { scope, name } => {
            let body = json!({ "scope": scope, "name": name });
            let made: NewToken = conn.json(Method::POST, "/v1/tokens", Some(&body)).await?;
            // The token alone on stdout, so that a script can take it; the warning
            // beside it, on stderr.
            output::answer(ctx.json, &made, |m| m.token.clone())?;
            ctx.note(format!(
                "Made {} token {}{}. It is shown only this once: keep it now. Revoke it with `passport token revoke {}`.",
                made.scope,
                made.id,
                named(&made.name),
                made.id
            ));
            Ok(())
        }
        TokenCommand::List => {
            let tokens: Vec<ApiToken> = conn.json(Method::GET, "/v1/tokens", None).await?;
            output::items(
                ctx.json,
                &tokens,
                "No scoped tokens. Make one with `passport token create --scope merchant --name shop`.",
                |t| {
                    format!(
                        "{}  {:<8}  made {}{}",
                        t.id,
                        t.scope.name(),
                        output::time(t.created_at),
                        named(&t.name)
                    )
                },
            )
        }
        TokenCommand::Revoke { id } => {
            let path = format!("/v1/tokens/{}", segment(&id));
            let revoked: TokenRevoked = conn.json(Method::DELETE, &path, None).await?;
            output::answer(ctx.json, &revoked, |r| {
                format!("Revoked token {}: it is refused from now on.", r.revoked)
            })
        }
    }
}

/// ` ("name")`, or nothing for a token without a name.
fn named(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" ({name:?})")
    }
}
