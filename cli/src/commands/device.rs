//! `device add|join|list|remove`: linked devices.

use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::http::Method;
use passport_node::{
    KdfParams, Keys, Node, NodeConfig, Unlock,
    device::link::{DEVICE_FILE, DeviceFile, DeviceLink, Invite},
    http::{DeviceView, PairingCodeView},
    net::{self, NetConfig},
};
use serde_json::json;

use super::segment;
use crate::{
    args::{DeviceCommand, JoinArgs},
    context::{Context, write_atomically},
    output,
};

pub(crate) async fn run(ctx: &Context, command: DeviceCommand) -> anyhow::Result<()> {
    match command {
        DeviceCommand::Add => add(ctx).await,
        DeviceCommand::Join(args) => join(ctx, args).await,
        DeviceCommand::List => list(ctx).await,
        DeviceCommand::Remove { device } => remove(ctx, &device).await,
    }
}

/// `device add`: a one-time code (and its QR) from the running home node.
async fn add(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(true).await?;
    let code: PairingCodeView = conn.json(Method::POST, "/v1/devices/code", None).await?;
    if ctx.json {
        return output::json(&code);
    }
    output::line(format!(
        "On the new device, within 10 minutes ({}), run:",
        output::left(code.expires_at)
    ));
    output::line(format!("  passport device join {}", code.code));
    let qr = qrcode::QrCode::new(code.code.as_bytes())?;
    output::line(
        qr.render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
    );
    ctx.note("The code works once. Anyone who has it can pair within those minutes: show it only to your own device.");
    Ok(())
}

/// `device join CODE`: makes this home a device of the passport in the code.
async fn join(ctx: &Context, args: JoinArgs) -> anyhow::Result<()> {
    if ctx.home.exists() {
        bail!(
            "{} already holds a passport or a device: join into a new directory (--home DIR)",
            ctx.home.dir().display()
        );
    }
    let invite: Invite = args.code.parse()?;
    let name = args.name.unwrap_or_else(default_name);
    // The device's keys exist in memory until the home node says yes; only then
    // are they written, so a refused pairing leaves nothing behind.
    let keys = Keys::generate();
    let keypair = libp2p::identity::Keypair::generate_ed25519();
    let unlock = if args.no_passphrase {
        Unlock::KeyFile
    } else {
        Unlock::Passphrase(ctx.passphrase(true)?)
    };
    let node = Node::with_storage(
        keys.duplicate(),
        std::sync::Arc::new(passport_node::storage::MemoryStorage::new()),
        NodeConfig::default(),
        None,
    )?;
    let link = link(
        node,
        keypair.clone(),
        invite.person,
        invite.addresses.clone(),
    )
    .await?;
    let delegation = link.pair(&invite.secret, &name).await?;
    ctx.home.install(&unlock, KdfParams::default(), &keys)?;
    std::fs::write(ctx.home.network_key_path(), keypair.to_protobuf_encoding()?)?;
    let file = DeviceFile::new(invite.person, &name, &invite.addresses, &delegation);
    write_atomically(
        &ctx.home.dir().join(DEVICE_FILE),
        &serde_json::to_string_pretty(&file)?,
    )?;
    if ctx.json {
        return output::json(
            &json!({ "person": invite.person, "name": name, "home": ctx.home.dir() }),
        );
    }
    output::line(format!(
        "This device ({name}) now acts for passport {}.",
        invite.person
    ));
    ctx.note("Your commands here (inbox, approve, deny, grants, revoke, set…) go to your home node, which signs what merchants receive.");
    Ok(())
}

fn default_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "device".into())
}

/// A running network for this device and its link to the home node.
pub(crate) async fn link(
    node: Node,
    keypair: libp2p::identity::Keypair,
    person: passport_node::protocol::PassportId,
    addresses: Vec<libp2p::Multiaddr>,
) -> anyhow::Result<DeviceLink> {
    let config = NetConfig {
        listen: Vec::new(),
        mdns: false,
        bootstrap: Vec::new(),
        copy_check_every: None,
        request_timeout: Duration::from_secs(30),
        ..NetConfig::default()
    };
    let (client, event_loop) = net::new(node.clone(), keypair, config)?;
    // A device serves no device: requests to it are refused.
    drop(client.take_device_jobs());
    tokio::spawn(event_loop.run());
    DeviceLink::new(node, client, person, addresses)
        .context("the home node's addresses name no PeerId (/p2p/…): pair again")
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let devices: Vec<DeviceView> = conn.json(Method::GET, "/v1/devices", None).await?;
    output::items(ctx.json, &devices, "No device is paired.", |d| {
        format!(
            "{}  {}  paired {}, until {}",
            d.id,
            d.name,
            output::time(d.paired_at),
            output::time(d.expires_at)
        )
    })
}

async fn remove(ctx: &Context, device: &str) -> anyhow::Result<()> {
    let conn = ctx.connect(false).await?;
    let path = format!("/v1/devices/{}", segment(device));
    let removed: DeviceView = conn.json(Method::DELETE, &path, None).await?;
    output::answer(ctx.json, &removed, |d| {
        format!("Removed {} ({}): its next call is refused.", d.name, d.id)
    })
}
