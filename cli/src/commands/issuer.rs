//! Giving data back to a person: `attest` (an issuer vouches for a field the
//! person granted) and `deliver` (a receipt, an order …).

use anyhow::Context as _;
use axum::http::Method;
use passport_node::http::views::Delivered;
use serde_json::{Map, Value, json};

use crate::{
    args::{AttestArgs, DeliverArgs},
    context::Context,
    output,
};

pub(crate) async fn attest(ctx: &Context, args: AttestArgs) -> anyhow::Result<()> {
    let days = args.duration.as_secs().div_ceil(86_400);
    let conn = ctx.connect(true).await?;
    let body = json!({ "person": args.person, "field": args.field, "days": days });
    let answer: Delivered = conn
        .json(Method::POST, "/v1/attestations", Some(&body))
        .await?;
    output::answer(ctx.json, &answer, |a| {
        format!(
            "Attested {}'s {} for {days} days; their node keeps it beside the field.",
            a.delivered_to, args.field
        )
    })
}

pub(crate) async fn deliver(ctx: &Context, args: DeliverArgs) -> anyhow::Result<()> {
    let mut items = Map::new();
    for item in &args.items {
        let (k, v) = item.split_once('=').with_context(|| {
            format!("--item {item:?} is not KEY=VALUE, e.g. --item total=59.90")
        })?;
        items.insert(k.to_string(), Value::String(v.to_string()));
    }
    let conn = ctx.connect(true).await?;
    let body = json!({
        "to": args.person,
        "type": args.data_type,
        "title": args.title,
        "items": items,
    });
    let answer: Delivered = conn
        .json(Method::POST, "/v1/deliveries", Some(&body))
        .await?;
    output::answer(ctx.json, &answer, |a| {
        format!("Delivered {:?} to {}.", args.title, a.delivered_to)
    })
}
