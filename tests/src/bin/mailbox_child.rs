//! A mailbox under constant load, for the crash test (`tests/crash.rs`): takes
//! deposits for one recipient from a few in-process senders as fast as it can and
//! prints `DEPOSIT <id>` once each is durable (what the mailbox protocol
//! acknowledges). Runs until killed. Usage: `mailbox_child HOME RECIPIENT_ID
//! RECIPIENT_SEALING_KEY` (a passport made with a key file, serving as a mailbox
//! with `passport_tests::crash_mailbox_settings`).
#![allow(clippy::print_stdout)]

use std::{io::Write as _, process::ExitCode};

use passport_node::{
    Home, Node, NodeConfig, RequestSpec, Unlock, mailbox::deposit_id, node::system_now as now,
};
use passport_protocol::{PassportId, PeerRecord, SealingPublicKey};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mailbox_child: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    const USAGE: &str = "usage: mailbox_child HOME RECIPIENT_ID RECIPIENT_SEALING_KEY";
    let mut args = std::env::args().skip(1);
    let home = args.next().ok_or(USAGE)?;
    let recipient: PassportId = args.next().ok_or(USAGE)?.parse()?;
    let seal_key: SealingPublicKey = args.next().ok_or(USAGE)?.parse()?;
    let mailbox = Node::open(&Home::new(home), &Unlock::KeyFile, NodeConfig::default())?;
    let settings = passport_tests::crash_mailbox_settings();
    let record = PeerRecord {
        id: recipient,
        sequence: 1,
        peers: vec![vec![1]],
        addresses: Vec::new(),
        seal_key,
        mailboxes: vec![mailbox.id()],
        issued_at: now(),
        expires_at: now().plus_secs(86_400),
    };
    let senders = (0..4)
        .map(|_| Node::in_memory(NodeConfig::default()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut stdout = std::io::stdout().lock();
    // The store is open (recovery done): traffic starts now.
    writeln!(stdout, "READY")?;
    stdout.flush()?;
    for n in 0usize.. {
        let sender = &senders[n % senders.len()];
        let spec = RequestSpec::new("Crash Test Shop", ["name.given".parse()?], "delivery", 60);
        let message = sender.request(recipient, spec, now())?;
        let deposit = sender.sign_deposit(&mailbox.id(), &record, &message, now())?;
        mailbox.mailbox_deposit(&settings, &deposit, now())?;
        // `mailbox_deposit` returned, so the deposit is durable: acknowledge it.
        writeln!(stdout, "DEPOSIT {}", deposit_id(&message, &mailbox.id()))?;
        stdout.flush()?;
    }
    Ok(())
}
