//! The node itself: `node` (the daemon in the foreground), `status`, `peers`.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context as _;
use axum::http::Method;
use passport_node::{
    Passport,
    daemon::shutdown_signal,
    http::{self, ApiState, views},
    net::NetConfig,
};
use serde_json::json;

use crate::{
    args::NodeArgs,
    context::{Context, write_atomically},
    output,
};

/// How often expired grants and requests are swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) async fn node(ctx: &Context, args: NodeArgs) -> anyhow::Result<()> {
    if let Some(device) = ctx.device()? {
        return device_page(ctx, args, device).await;
    }
    let node = ctx.open_node()?;
    let config = ctx.home.config()?;
    let mut settings = config.network.clone();
    if !args.listen.is_empty() {
        settings.listen = args.listen;
    }
    if !args.bootstrap.is_empty() {
        settings.bootstrap = args.bootstrap;
    }
    if args.no_mdns {
        settings.mdns = false;
    }
    let mut net_config = NetConfig::from_settings(&settings)?;
    net_config.mailbox = config.mailbox.clone();
    let api_addr: SocketAddr = match args.api {
        Some(addr) => addr,
        None => config.api.listen.parse().with_context(|| {
            format!(
                "[api] listen = {:?} in {} is not an address such as 127.0.0.1:7117",
                config.api.listen,
                ctx.home.config_path().display()
            )
        })?,
    };
    if api_addr.ip().is_unspecified() && config.api.hosts.is_empty() {
        anyhow::bail!(
            "the API would listen on every interface ({api_addr}) but [api] hosts in {} names no address to open it by: add e.g. hosts = [\"192.168.1.20:{}\"] (see \"Opening the page from your phone\" in the README)",
            ctx.home.config_path().display(),
            api_addr.port()
        );
    }
    // Bind the API first: a busy port should fail before the network starts.
    let listener = tokio::net::TcpListener::bind(api_addr).await.with_context(|| {
        format!("could not listen on {api_addr} for the local API: is another `passport node` running? Choose another with --api 127.0.0.1:PORT")
    })?;
    let api_addr = listener.local_addr()?;
    let (passport, _events) = Passport::with_node(node.clone())
        .keypair(ctx.home.network_key()?)
        .network(net_config)
        .sweep_every(SWEEP_INTERVAL)
        .merchant_name(config.merchant.name.clone())
        .webhooks(config.webhooks.clone())
        .backups(config.backup.clone(), Some(ctx.home.config_path()))
        .spawn()
        .await?;
    let token = ctx.home.api_token()?;
    let mut state = ApiState::new(passport.clone(), token, api_addr).with_hosts(&config.api.hosts);
    let passphrase = !ctx.home.key_file_path().exists();
    if passphrase {
        state = state.with_passphrase_login(ctx.home.clone());
    }
    let page = state.page_url();
    write_atomically(&ctx.api_addr_path(), &api_addr.to_string())?;

    let status = passport.status().await?;
    let url = format!("http://{api_addr}/");
    if ctx.json {
        output::json(&json!({
            "id": node.id(),
            "peer_id": status.peer_id.to_string(),
            "listen_addrs": status.listen_addrs.iter().map(|a| format!("{a}/p2p/{}", status.peer_id)).collect::<Vec<_>>(),
            "api": url,
            "page": page,
        }))?;
    } else {
        output::line(format!("Passport node {} is running.", node.id()));
        for addr in &status.listen_addrs {
            output::line(format!("  listening on {addr}/p2p/{}", status.peer_id));
        }
        output::line(format!("  consent page: {page}"));
        output::line(format!(
            "    log in with the token in {}{}",
            ctx.home.api_token_path().display(),
            if passphrase {
                " or your passphrase"
            } else {
                ""
            }
        ));
        output::line(format!("  local API: {url}"));
        output::line("  stop with Ctrl-C");
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let watching = passport.clone();
    let stopping = async move {
        tokio::select! {
            () = shutdown_signal() => {}
            copy = watching.other_copy_found() => { let _ = stop_tx.send(copy); }
        }
    };
    let served = http::serve(listener, state, stopping).await;
    let _ = std::fs::remove_file(ctx.api_addr_path());
    ctx.note("Stopping: finishing messages in flight…");
    passport.shutdown().await;
    served.context("the local API failed")?;
    if let Ok(copy) = stop_rx.await {
        anyhow::bail!("stopped: {copy}");
    }
    ctx.note("Stopped.");
    Ok(())
}

/// `passport node` on a linked device: the consent page on this device's loopback,
/// answered by the home node.
async fn device_page(
    ctx: &Context,
    args: NodeArgs,
    device: passport_node::device::link::DeviceFile,
) -> anyhow::Result<()> {
    let config = ctx.home.config()?;
    let addr: SocketAddr =
        match args.api {
            Some(addr) => addr,
            None => config.api.listen.parse().with_context(|| {
                format!("[api] listen = {:?} is not an address", config.api.listen)
            })?,
        };
    if !addr.ip().is_loopback() {
        anyhow::bail!(
            "a device's page listens on loopback only (it acts for your passport): use --api 127.0.0.1:PORT"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("could not listen on {addr}: choose another with --api 127.0.0.1:PORT")
    })?;
    let addr = listener.local_addr()?;
    let person = device.person;
    let (link, delegation) = ctx.device_link(device).await?;
    let key = passport_node::home::random_token();
    let url = format!("http://{addr}/?key={key}");
    if ctx.json {
        output::json(&json!({ "device_of": person, "page": url }))?;
    } else {
        output::line(format!("This device's page for passport {person}:"));
        output::line(format!("  {url}"));
        output::line("  open it in this device's browser; stop with Ctrl-C");
    }
    let app = passport_node::device::page::router(link, delegation, key, addr.port());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the device's page failed")?;
    ctx.note("Stopped.");
    Ok(())
}

pub(crate) async fn status(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(true).await?;
    let status: views::Status = conn.json(Method::GET, "/v1/status", None).await?;
    let api = std::fs::read_to_string(ctx.api_addr_path()).unwrap_or_default();
    let url = format!("http://{}/", api.trim());
    if ctx.json {
        let mut status = serde_json::to_value(&status)?;
        if let Some(map) = status.as_object_mut() {
            map.insert("api".into(), json!(url));
        }
        return output::json(&status);
    }
    output::line(format!("Passport {}", status.id));
    output::line(format!("  PeerId:        {}", status.peer_id));
    for addr in &status.listen_addrs {
        output::line(format!("  listening on:  {addr}"));
    }
    for addr in &status.relay_addrs {
        output::line(format!("  via relay:     {addr}"));
    }
    output::line(format!("  reachability:  {}", status.reachability));
    output::line(format!(
        "  peers:         {} connected, {} in the routing table",
        status.connected_peers, status.routing_table_size
    ));
    output::line(format!(
        "  record:        {}",
        if status.published {
            "published"
        } else {
            "not yet published"
        }
    ));
    output::line(format!("  consent page:  {}", status.page));
    output::line(format!("  local API:     {url}"));
    Ok(())
}

pub(crate) async fn peers(ctx: &Context) -> anyhow::Result<()> {
    let conn = ctx.connect(true).await?;
    let peers: Vec<views::Peer> = conn.json(Method::GET, "/v1/peers", None).await?;
    output::items(ctx.json, &peers, "No peers connected.", |p| {
        format!("{}  {}", p.peer_id, output::list(&p.addrs))
    })
}
