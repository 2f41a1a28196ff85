//! A shop's backend embedding Passport: start a merchant node, ask a person for two
//! fields, print the outcome and the events as they come.
//!
//! ```text
//! cargo run -p passport-node --example merchant -- <person's passport id> <bootstrap multiaddr>
//! ```
//!
//! A real shop keeps its passport in a home directory
//! (`Passport::builder(Home::new(dir)).network(..)`); this one lives in memory.
#![allow(clippy::print_stdout)]

use std::{error::Error, process::ExitCode, time::Duration};

use futures::StreamExt as _;
use passport_node::{
    Event, Node, NodeConfig, Passport, RequestAnswer, RequestSpec, RequestStatus, net::NetConfig,
};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(person), Some(bootstrap)) = (args.next(), args.next()) else {
        eprintln!("usage: merchant <person's passport id> <bootstrap multiaddr>");
        return ExitCode::from(2);
    };
    match run(&person, &bootstrap, |line| println!("{line}")).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Asks `person` for two fields; tells `say` what happens; returns the outcome.
pub async fn run(
    person: &str,
    bootstrap: &str,
    say: impl Fn(String) + Clone + Send + 'static,
) -> Result<RequestAnswer, Box<dyn Error>> {
    let person = person.parse()?;
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        bootstrap: vec![bootstrap.parse()?],
        mdns: false,
        ..NetConfig::default()
    };
    let (shop, mut events) = Passport::with_node(Node::in_memory(NodeConfig::default())?)
        .network(config)
        .spawn()
        .await?;
    say(format!("shop {} is running", shop.id()));
    let tell = say.clone();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                Event::Committed { seq, event, .. } => {
                    tell(format!("event #{seq}: {}", event.describe()));
                }
                Event::Lagged { missed } => tell(format!("missed {missed} events")),
                _ => {} // other changes of the store, with nothing to tell
            }
        }
    });

    // The person's record may take a moment to spread through the DHT.
    let client = shop.client().ok_or("the network did not start")?;
    let mut record = client.lookup(person).await;
    for _ in 0..50 {
        if record.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        record = client.lookup(person).await;
    }
    let fields = ["name.given".parse()?, "address.home".parse()?];
    let spec = RequestSpec::new("Example Shop", fields, "delivery", 30 * 86_400);
    let outcome = shop
        .request_to_record(&record?, spec, Duration::from_secs(60))
        .await?;
    match &outcome.answer {
        RequestAnswer::Decided(RequestStatus::Granted { grant }) => {
            let values = shop.open_grant(*grant).await?;
            let names: Vec<_> = values.keys().map(|name| name.as_str()).collect();
            say(format!("granted: grant {grant} gives {}", names.join(", ")));
        }
        RequestAnswer::Decided(RequestStatus::Refused { reason }) => {
            say(format!("refused: {reason}"));
        }
        other => say(format!("no decision within a minute: {other:?}")),
    }
    // Let the last events print, then stop gracefully.
    tokio::time::sleep(Duration::from_millis(200)).await;
    shop.shutdown().await;
    Ok(outcome.answer)
}
