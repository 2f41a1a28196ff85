//! One file per group of commands; [`dispatch`] picks the one asked for.

pub(crate) mod backend;
pub(crate) mod backup;
pub(crate) mod data;
pub(crate) mod demo;
pub(crate) mod device;
pub(crate) mod issuer;
pub(crate) mod merchant;
pub(crate) mod message;
pub(crate) mod person;
pub(crate) mod running;
pub(crate) mod setup;
pub(crate) mod token;
pub(crate) mod vault;

use clap::CommandFactory as _;

use crate::{
    args::{Cli, Command},
    context::Context,
};

/// Runs the command `cli` names.
pub(crate) async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let ctx = Context::new(&cli)?;
    match cli.command {
        Command::Init(args) => setup::init(&ctx, args),
        Command::Id { qr } => setup::id(&ctx, qr),
        Command::Set(args) => data::set(&ctx, args).await,
        Command::Get { name } => data::get(&ctx, &name).await,
        Command::Unset { name } => data::unset(&ctx, &name).await,
        Command::Fields => data::fields(&ctx).await,
        Command::Tag(args) => data::tag(&ctx, args).await,
        Command::Node(args) => running::node(&ctx, args).await,
        Command::Status => running::status(&ctx).await,
        Command::Peers => running::peers(&ctx).await,
        Command::Inbox => person::inbox(&ctx).await,
        Command::Approve(args) => person::approve(&ctx, args).await,
        Command::Deny { request, reason } => person::deny(&ctx, &request, reason).await,
        Command::Grants => person::grants(&ctx).await,
        Command::Revoke { grant } => person::revoke(&ctx, &grant).await,
        Command::Erase { merchant } => person::erase(&ctx, &merchant).await,
        Command::Access { merchant, last } => vault::access(&ctx, &merchant, last).await,
        Command::Policy(command) => person::policy(&ctx, command).await,
        Command::Audit { verify } => person::audit(&ctx, verify).await,
        Command::Request(args) => merchant::request(&ctx, args).await,
        Command::Requests { id, state } => backend::requests(&ctx, id, state).await,
        Command::Webhook(command) => backend::webhook(&ctx, command).await,
        Command::Received => merchant::received(&ctx).await,
        Command::Attest(args) => issuer::attest(&ctx, args).await,
        Command::Deliver(args) => issuer::deliver(&ctx, args).await,
        Command::Delivered(command) => vault::run(&ctx, command).await,
        Command::Show { grant } => merchant::show(&ctx, &grant).await,
        Command::Fetch { grant } => merchant::fetch(&ctx, &grant).await,
        Command::Token(command) => token::run(&ctx, command).await,
        Command::Message(command) => message::run(&ctx, command).await,
        Command::Device(command) => device::run(&ctx, command).await,
        Command::Backup(args) => backup::backup(&ctx, args).await,
        Command::Restore(args) => backup::restore(&ctx, args),
        Command::Demo => demo::run().await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "passport",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

/// Percent-encodes a path segment (field names and ids are plain, but a typo should
/// reach the API as typed, to be refused there with a clear message).
pub(crate) fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// "delivered now" or "sent when the node runs", for messages a command made.
pub(crate) fn delivery_note(running: bool) -> &'static str {
    if running {
        "the node is delivering it"
    } else {
        "no node is running: it waits in the outbox and goes out when you start `passport node`"
    }
}
