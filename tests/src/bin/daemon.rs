//! A Passport node as its own process, for the multi-process tests:
//! `daemon HOME LISTEN [BOOTSTRAP]` (HOME made with a key file). Prints
//! `LISTENING <address>/p2p/<peer id>` once it listens, runs until SIGTERM or
//! Ctrl-C, then shuts down gracefully and prints `STOPPED`.
#![allow(clippy::print_stdout)]

use std::{io::Write as _, process::ExitCode, time::Duration};

use libp2p::multiaddr::Protocol;
use passport_node::{
    Home, Node, Unlock,
    daemon::{Daemon, shutdown_signal},
    net::NetConfig,
};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("daemon: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let home = Home::new(args.next().ok_or("usage: daemon HOME LISTEN [BOOTSTRAP]")?);
    let listen = args
        .next()
        .ok_or("usage: daemon HOME LISTEN [BOOTSTRAP]")?
        .parse()?;
    let bootstrap = args
        .next()
        .map(|b| b.parse())
        .transpose()?
        .into_iter()
        .collect();
    let node = Node::open_home(&home, &Unlock::KeyFile)?;
    let config = NetConfig {
        listen: vec![listen],
        bootstrap,
        mdns: false,
        ..NetConfig::default()
    };
    let daemon = Daemon::start(node, home.network_key()?, config, Duration::from_secs(60)).await?;
    let addr = daemon
        .client
        .listen_addrs()
        .await?
        .into_iter()
        .next()
        .ok_or("not listening")?;
    println!(
        "LISTENING {}",
        addr.with(Protocol::P2p(daemon.client.peer_id()))
    );
    std::io::stdout().flush()?;
    shutdown_signal().await;
    daemon.shutdown().await;
    println!("STOPPED");
    Ok(())
}
