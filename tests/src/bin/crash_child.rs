//! A person's node under constant load, for the crash test (`tests/crash.rs`):
//! issues a grant (by standing policy) to an in-process merchant, revokes every third
//! one, and prints `GRANT <id>` / `REVOKE <id>` once each is durable. Runs until
//! killed. Usage: `crash_child HOME` (a passport made with a key file).
#![allow(clippy::print_stdout)]

use std::{io::Write as _, process::ExitCode};

use passport_node::{Home, Node, NodeConfig, Reply, RequestSpec, Unlock, node::system_now as now};
use passport_protocol::{Body, Outcome, verify_offline};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash_child: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let home = std::env::args().nth(1).ok_or("usage: crash_child HOME")?;
    let person = Node::open(&Home::new(home), &Unlock::KeyFile, NodeConfig::default())?;
    let merchant = Node::in_memory(NodeConfig::default())?;
    let mut stdout = std::io::stdout().lock();
    // The store is open (recovery done): traffic starts now.
    writeln!(stdout, "READY")?;
    stdout.flush()?;
    let mut issued = Vec::new();
    for n in 0u64.. {
        let spec = RequestSpec::new(
            "Crash Test Shop",
            ["name.given".parse()?],
            "delivery",
            86_400,
        );
        let request = merchant.request(person.id(), spec, now())?;
        let Reply::Message(grant) = person.receive(&request, now())? else {
            return Err("the standing policy did not grant".into());
        };
        let Body::Decision(decision) = verify_offline(&grant)?.body else {
            return Err("not a decision".into());
        };
        let Outcome::Granted(grant) = decision.outcome else {
            return Err("refused".into());
        };
        // `receive` returned, so the grant is durable: acknowledge it.
        writeln!(stdout, "GRANT {}", grant.grant_id)?;
        stdout.flush()?;
        issued.push(grant.grant_id);
        if n % 3 == 2 {
            let victim = issued[issued.len() / 2];
            if person.revoke(&victim, now()).is_ok() {
                writeln!(stdout, "REVOKE {victim}")?;
                stdout.flush()?;
            }
        }
    }
    Ok(())
}
