//! What merchants hold and give back: `access` (what a merchant holds about the
//! person) and `delivered list|export|delete` (what merchants delivered).

use std::io::Write as _;

use anyhow::Context as _;
use axum::http::Method;
use passport_node::http::views::{AccessAnswer, AccessStatement, DeliveredData, Empty};

use super::segment;
use crate::{args::DeliveredCommand, context::Context, output};

pub(crate) async fn run(ctx: &Context, command: DeliveredCommand) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    match command {
        DeliveredCommand::List => {
            let all: Vec<DeliveredData> = conn.json(Method::GET, "/v1/data", None).await?;
            output::items(ctx.json, &all, "Nothing delivered yet.", |d| {
                let items = d
                    .items
                    .iter()
                    .map(|(k, v)| format!("\n    {k}: {v}"))
                    .collect::<String>();
                format!(
                    "{}  {} {:?} from {}  {}{items}",
                    d.id,
                    d.data_type,
                    d.title,
                    d.from,
                    output::time(d.received_at)
                )
            })
        }
        DeliveredCommand::Export { file } => {
            let all: Vec<DeliveredData> = conn.json(Method::GET, "/v1/data", None).await?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(&file).with_context(|| {
                format!(
                    "could not create {} (it must not exist yet)",
                    file.display()
                )
            })?;
            serde_json::to_writer_pretty(&mut out, &all)?;
            out.write_all(b"\n")?;
            out.sync_all()?;
            output::answer(
                ctx.json,
                &serde_json::json!({ "exported": all.len() }),
                |_| format!("Wrote {} deliveries to {}.", all.len(), file.display()),
            )
        }
        DeliveredCommand::Delete { id } => {
            let path = format!("/v1/data/{}", segment(&id));
            let answer: Empty = conn.json(Method::DELETE, &path, None).await?;
            output::answer(ctx.json, &answer, |_| format!("Deleted {id}."))
        }
    }
}

pub(crate) async fn access(ctx: &Context, merchant: &str, last: bool) -> anyhow::Result<()> {
    let conn = ctx.connect(!last).await?;
    let path = format!("/v1/merchants/{}/access", segment(merchant));
    let statement = if last {
        Some(
            conn.json::<AccessStatement>(Method::GET, &path, None)
                .await?,
        )
    } else {
        conn.json::<AccessAnswer>(Method::POST, &path, None)
            .await?
            .statement
    };
    // JSON: `{"statement": …}` either way, `null` while the merchant is offline.
    let answer = AccessAnswer { statement };
    let Some(statement) = &answer.statement else {
        return output::answer(ctx.json, &answer, |_| {
            format!(
                "{merchant}'s node is offline; the question waits at its mailboxes. See the answer later with `passport access {merchant} --last`."
            )
        });
    };
    output::answer(ctx.json, &answer, |_| {
        let s = statement;
        let mut text = format!(
            "{} holds {} grant{} from you (signed answer {}, {}):",
            s.merchant,
            s.grants.len(),
            if s.grants.len() == 1 { "" } else { "s" },
            s.message_id,
            output::time(s.received_at)
        );
        for g in &s.grants {
            text.push_str(&format!(
                "\n  {}  {}  for {}  {}  received {}, until {}{}",
                g.grant_id,
                output::list(&g.fields),
                g.purpose,
                g.state,
                output::time(g.received_at),
                output::time(g.expires_at),
                match g.erased_at {
                    Some(at) => format!(
                        ", erased {} ({})",
                        output::time(at),
                        g.erasure.replace('_', " ")
                    ),
                    None => String::new(),
                }
            ));
        }
        text
    })
}
