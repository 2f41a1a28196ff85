//! A Passport node as its own process, for the multi-process tests:
//! `daemon HOME LISTEN [BOOTSTRAP]` (HOME made with a key file). Prints
//! `LISTENING <address>/p2p/<peer id>` once it listens, runs until SIGTERM or
//! Ctrl-C, then shuts down gracefully and prints `STOPPED`.
#![allow(clippy::print_stdout)]

use std::{io::Write as _, process::ExitCode};

use libp2p::multiaddr::Protocol;
use passport_node::{Home, Passport, Unlock, daemon::shutdown_signal, net::NetConfig};

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
    let config = NetConfig {
        listen: vec![listen],
        bootstrap,
        mdns: false,
        ..NetConfig::default()
    };
    let (passport, _events) = Passport::builder(home)
        .unlock(Unlock::KeyFile)
        .network(config)
        .spawn()
        .await?;
    let client = passport.client().ok_or("the network did not start")?;
    let addr = client
        .listen_addrs()
        .await?
        .into_iter()
        .next()
        .ok_or("not listening")?;
    println!("LISTENING {}", addr.with(Protocol::P2p(client.peer_id())));
    std::io::stdout().flush()?;
    shutdown_signal().await;
    passport.shutdown().await;
    println!("STOPPED");
    Ok(())
}
