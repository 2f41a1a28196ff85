//! What merchants delivered to the person: `delivered list|export|delete`.

use std::io::Write as _;

use anyhow::Context as _;
use axum::http::Method;
use passport_node::http::views::{DeliveredData, Empty};

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
