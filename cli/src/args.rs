//! The command line, as clap parses it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{ArgAction, Args, Parser, Subcommand};

/// Exit codes, shown at the end of `passport --help`.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a negative answer: a request refused, a grant revoked or expired, a message
     that does not verify, an audit log with problems
  2  an error: bad input, a locked or missing passport, a node that is not running

Environment:
  PASSPORT_HOME             the passport's directory (like --home)
  PASSPORT_PASSPHRASE       the passphrase, for scripts (prefer --passphrase-file)
  PASSPORT_PASSPHRASE_FILE  a file holding the passphrase (like --passphrase-file)
  PASSPORT_BACKUP_PASSPHRASE       the backup passphrase of `backup` and `restore`
  PASSPORT_BACKUP_PASSPHRASE_FILE  a file holding it (like --backup-passphrase-file)
  PASSPORT_API              the API address of `passport node` (like --api)
  PASSPORT_TOKEN            an API token (e.g. a scoped one from `passport token
                            create`) to use instead of <home>/api.token; commands
                            then need a running node, at PASSPORT_API or in <home>
  PASSPORT_LISTEN           listen multiaddrs of `passport node`, comma-separated
  PASSPORT_BOOTSTRAP        bootstrap multiaddrs of `passport node`, comma-separated
  PASSPORT_NAME             the name people see on your requests (like request --name)
  RUST_LOG                  log filter, e.g. `passport_node=debug` (logs go to stderr)";

/// Passport: your personal data, on your own node, shared only with consent.
#[derive(Debug, Parser)]
#[command(name = "passport", version, about, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// The passport's directory. Default: the platform's data directory
    /// (`~/.local/share/passport` on Linux).
    #[arg(long, global = true, env = "PASSPORT_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Print data as JSON (a stable shape: the local HTTP API's, see docs/API.md).
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, no progress messages.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Read the passphrase from this file (its first line) instead of asking.
    #[arg(
        long,
        global = true,
        env = "PASSPORT_PASSPHRASE_FILE",
        value_name = "FILE"
    )]
    pub passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new passport: keys, an encrypted store, a config file.
    Init(InitArgs),
    /// Print this passport's public id (share it with merchants).
    Id {
        /// Also print the id as a QR code.
        #[arg(long)]
        qr: bool,
    },
    /// Set a field, e.g. `passport set name.given Ada`.
    Set(SetArgs),
    /// Print a field's value.
    Get {
        /// The field, e.g. `address.home`.
        name: String,
    },
    /// Remove a field (merchants holding a live grant for it are told).
    Unset {
        /// The field.
        name: String,
    },
    /// List the fields of this passport.
    Fields,
    /// Set a field's tags, and optionally its sensitivity.
    Tag(TagArgs),
    /// Run this node in the foreground: the network, the local API and the consent
    /// page. Stop it with Ctrl-C.
    Node(NodeArgs),
    /// Show the running node's state.
    Status,
    /// List the peers the running node is connected to.
    Peers,
    /// Requests waiting for your answer.
    Inbox,
    /// Approve a pending request.
    Approve(ApproveArgs),
    /// Refuse a pending request.
    Deny {
        /// The request's id, from `passport inbox`.
        request: String,
        /// Why (the merchant sees it).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Grants you gave, live or not.
    Grants,
    /// Revoke a grant: the merchant must erase the data and send a receipt.
    Revoke {
        /// The grant's id, from `passport grants`.
        grant: String,
    },
    /// Ask a merchant to erase everything it holds about you.
    Erase {
        /// The merchant's passport id.
        merchant: String,
    },
    /// Ask a merchant what it holds about you (GDPR art. 15): its node answers at
    /// once with every grant it holds from you, signed.
    Access {
        /// The merchant's passport id.
        merchant: String,
        /// Show the answer it gave last time instead of asking again.
        #[arg(long)]
        last: bool,
    },
    /// Standing policies that answer requests without asking you.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The audit log: everything shared, revoked and erased.
    Audit {
        /// Check the log's hash chain and report any tampering.
        #[arg(long)]
        verify: bool,
    },
    /// (Merchant) Ask a person for fields.
    Request(RequestArgs),
    /// (Merchant) Requests sent and where each stands: sending, queued, waiting,
    /// granted, refused, expired or failed.
    Requests {
        /// One request's id: show only it.
        id: Option<String>,
        /// Only requests in this state.
        #[arg(long)]
        state: Option<String>,
    },
    /// (Merchant) Webhooks that tell the shop's backend what happened.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// (Merchant) Grants received from people.
    Received,
    /// (Issuer) Vouch for a field a person granted this node: the attestation goes
    /// to them, and merchants who ask for it attested by you can check it.
    Attest(AttestArgs),
    /// (Merchant) Deliver data to a person's vault: a receipt, an order, a
    /// warranty, loyalty points.
    Deliver(DeliverArgs),
    /// Data merchants delivered to you: list, export, delete.
    #[command(subcommand)]
    Delivered(DeliveredCommand),
    /// (Merchant) Open a received grant and print its values, while it is valid.
    Show {
        /// The grant's id, from `passport received`.
        grant: String,
    },
    /// (Merchant) Ask the person's node for the current values under a live grant.
    Fetch {
        /// The grant's id.
        grant: String,
    },
    /// API tokens for programs (a shop backend, a dashboard) that reach only part of
    /// the API: `passport token create --scope merchant --name shop`.
    #[command(subcommand)]
    Token(TokenCommand),
    /// (Auditor) Export or verify signed messages.
    #[command(subcommand)]
    Message(MessageCommand),
    /// Linked devices: pair a laptop or phone, list them, remove one.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Back the whole passport up into one file, encrypted with a backup
    /// passphrase in the age format (works while the node runs).
    Backup(BackupArgs),
    /// Restore a backup into a new home (--home DIR), e.g. on a new machine.
    Restore(RestoreArgs),
    /// Run a bootstrap, a person and a merchant node in this process and walk
    /// through every step of Passport, explained.
    Demo,
    /// Print shell completions, e.g. `passport completions bash > /etc/bash_completion.d/passport`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `passport device ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// On the home node (running): print a one-time pairing code and its QR.
    Add,
    /// On the new device: pair with the code from `device add`. Makes this home
    /// (--home DIR) a device: its commands go to the home node.
    Join(JoinArgs),
    /// The devices paired.
    List,
    /// Remove a device (lost, stolen, replaced): its next call is refused.
    Remove {
        /// The device's id, from `passport device list`.
        device: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct JoinArgs {
    /// The code `passport device add` printed (passport-pair:…).
    pub code: String,
    /// This device's name, as the home node lists it. Default: the host name.
    #[arg(long)]
    pub name: Option<String>,
    /// Lock this device's key with a 0600 key file instead of a passphrase.
    #[arg(long)]
    pub no_passphrase: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The backup file to write (it must not exist), e.g. `passport-2026-12-01.age`.
    pub file: PathBuf,
    /// Check FILE instead: it opens with the passphrase, is whole and unchanged,
    /// and its audit log verifies. Nothing is written.
    #[arg(long)]
    pub verify: bool,
    /// Read the backup passphrase from this file (its first line) instead of
    /// asking.
    #[arg(long, env = "PASSPORT_BACKUP_PASSPHRASE_FILE", value_name = "FILE")]
    pub backup_passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// The backup file, from `passport backup`.
    pub file: PathBuf,
    /// Lock the restored passport with a 0600 key file instead of a passphrase.
    #[arg(long)]
    pub no_passphrase: bool,
    /// Read the backup passphrase from this file (its first line) instead of
    /// asking.
    #[arg(long, env = "PASSPORT_BACKUP_PASSPHRASE_FILE", value_name = "FILE")]
    pub backup_passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Keep the key in a 0600 file next to the store instead of a passphrase: for a
    /// headless home server whose disk is already protected.
    #[arg(long)]
    pub no_passphrase: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The field, e.g. `name.given`, `address.home`, `birth.date`.
    pub name: String,
    /// The value, as text. Omit it with --date or --part.
    #[arg(required_unless_present_any = ["date", "part"])]
    pub value: Option<String>,
    /// A date value, YYYY-MM-DD.
    #[arg(long, conflicts_with_all = ["value", "part"])]
    pub date: Option<String>,
    /// A structured value, one part at a time: `--part street="12 Rue des Lilas" --part city=Lyon`.
    #[arg(long, value_name = "KEY=VALUE", conflicts_with = "value")]
    pub part: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct TagArgs {
    /// The field.
    pub name: String,
    /// Its tags (replacing the old ones); none clears them.
    pub tags: Vec<String>,
    /// Its sensitivity: `normal` (standing policies may release it) or `sensitive`
    /// (asked every time unless a policy names it).
    #[arg(long)]
    pub sensitivity: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// Listen on this multiaddr (repeatable). Overrides `[network] listen` in
    /// config.toml.
    #[arg(
        long,
        value_name = "MULTIADDR",
        env = "PASSPORT_LISTEN",
        value_delimiter = ','
    )]
    pub listen: Vec<String>,
    /// Join the network through this peer, ending in `/p2p/<PeerId>` (repeatable).
    /// Overrides `[network] bootstrap`.
    #[arg(
        long,
        value_name = "MULTIADDR",
        env = "PASSPORT_BOOTSTRAP",
        value_delimiter = ','
    )]
    pub bootstrap: Vec<String>,
    /// Serve the local HTTP API here. Overrides `[api] listen`
    /// (default 127.0.0.1:7117).
    #[arg(long, value_name = "ADDR", env = "PASSPORT_API")]
    pub api: Option<SocketAddr>,
    /// Turn mDNS discovery on the local network off.
    #[arg(long)]
    pub no_mdns: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The request's id, from `passport inbox`.
    pub request: String,
    /// Release only these fields (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "FIELDS")]
    pub only: Vec<String>,
    /// Grant for this long at most, e.g. `7d`, `12h`.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Also add a standing policy for this merchant: its future requests for your
    /// normal fields, and for the sensitive fields approved now, are answered
    /// without asking (any purpose, no time limit; see `passport policy list`).
    #[arg(long)]
    pub always: bool,
}

/// `policy` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// List the standing policies.
    List,
    /// Add a standing policy.
    Add(PolicyAddArgs),
    /// Remove a standing policy by id.
    Remove {
        /// The policy's id, from `passport policy list`.
        id: u64,
    },
}

#[derive(Debug, Args)]
pub(crate) struct PolicyAddArgs {
    /// Release without asking (otherwise: --deny).
    #[arg(long, conflicts_with = "deny", required_unless_present = "deny")]
    pub allow: bool,
    /// Refuse without asking.
    #[arg(long)]
    pub deny: bool,
    /// Only for this merchant (a passport id). Default: any merchant.
    #[arg(long)]
    pub merchant: Option<String>,
    /// Only for this purpose. Default: any purpose.
    #[arg(long)]
    pub purpose: Option<String>,
    /// These fields by name (comma-separated); sensitive fields must be named.
    #[arg(long, value_delimiter = ',', value_name = "FIELDS")]
    pub fields: Vec<String>,
    /// Every field of the normal class (sensitive ones are still asked).
    #[arg(long)]
    pub any_normal: bool,
    /// Allow at most this long, e.g. `30d`. Default: as long as asked.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_for: Option<Duration>,
}

#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The person's passport id (did:key:…).
    pub to: String,
    /// The fields wanted (comma-separated), e.g. `name.given,address.home`.
    #[arg(long, value_delimiter = ',', required = true, value_name = "FIELDS")]
    pub fields: Vec<String>,
    /// Why, in words the person will read.
    #[arg(long)]
    pub purpose: String,
    /// How long the grant should last, e.g. `30d`.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Duration,
    /// What you offer in return, e.g. "free shipping".
    #[arg(long)]
    pub offer: Option<String>,
    /// If the person must decide, wait this long for the answer (at most 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<Duration>,
    /// The name the person sees. Default: `[merchant] name` in config.toml, else
    /// "unnamed merchant".
    #[arg(long, env = "PASSPORT_NAME")]
    pub name: Option<String>,
    /// Ask for a field attested by an issuer: FIELD=ISSUER_ID (repeat it for more
    /// fields or issuers), e.g. `--attested-by address.home=did:key:z6Mk…`.
    #[arg(long = "attested-by", value_name = "FIELD=ID")]
    pub attested_by: Vec<String>,
    /// Ask for a field attested by any issuer in this node's `[[trusted_issuer]]`
    /// list (config.toml); repeat it for more fields.
    #[arg(long = "attested", value_name = "FIELD")]
    pub attested: Vec<String>,
}

/// `passport attest`.
#[derive(Debug, Args)]
pub(crate) struct AttestArgs {
    /// The person's passport id.
    pub person: String,
    /// The field to vouch for, as they granted it to this node.
    #[arg(long)]
    pub field: String,
    /// How long the attestation vouches, e.g. `365d` (at most 730 days).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration, default_value = "365d")]
    pub duration: Duration,
}

/// `passport deliver`.
#[derive(Debug, Args)]
pub(crate) struct DeliverArgs {
    /// The person's passport id.
    pub person: String,
    /// receipt, order, warranty, loyalty or other.
    #[arg(long = "type", value_name = "TYPE")]
    pub data_type: String,
    /// A short title, e.g. "Order 1042".
    #[arg(long)]
    pub title: String,
    /// The data: KEY=VALUE, repeated, e.g. `--item total="59.90 EUR"`.
    #[arg(long = "item", value_name = "KEY=VALUE", required = true)]
    pub items: Vec<String>,
}

/// `passport delivered ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum DeliveredCommand {
    /// Everything merchants delivered, newest first.
    List,
    /// Write everything delivered to FILE as JSON (readable by you only).
    Export {
        /// Where to write it; refused if it exists.
        file: std::path::PathBuf,
    },
    /// Delete one delivery.
    Delete {
        /// Its id, from `passport delivered list`.
        id: String,
    },
}

/// `webhook` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Add a webhook; prints its signing secret once.
    Add {
        /// Where to post events: an http:// or https:// URL.
        url: String,
        /// The signing secret (`whsec_` and base64); default: a fresh one.
        #[arg(long, env = "PASSPORT_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Event types to send, comma-separated (default: all): grant.received,
        /// request.refused, request.expired, update.received, grant.revoked,
        /// grant.expired, erase.requested.
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
    },
    /// List the webhooks (never their secrets).
    List,
    /// Remove a webhook added with `passport webhook add`.
    Remove {
        /// Its id, from `passport webhook list`.
        id: String,
    },
    /// Post a `webhook.test` event now and say how it went.
    Test {
        /// Its id.
        id: String,
    },
    /// The last delivery attempts, newest first.
    Log {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a scoped token and print it (shown this once; the node keeps only its
    /// digest).
    Create {
        /// What it reaches: `merchant` (a shop backend: requests, grants received,
        /// fetch, webhooks; not your inbox, answers, revocations or fields),
        /// `person` (your routes and every read) or `read` (reads without personal
        /// values).
        #[arg(long, value_parser = ["person", "merchant", "read"])]
        scope: String,
        /// What it is for, e.g. `shop` (shown by `passport token list`).
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List the scoped tokens (never the tokens themselves).
    List,
    /// Revoke a scoped token: it is refused from the next request on.
    Revoke {
        /// The token's id, from `passport token list`.
        id: String,
    },
}

/// `message` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum MessageCommand {
    /// Write a sent or received message's raw COSE bytes to FILE.
    Export {
        /// The message's id, from `passport audit`.
        id: String,
        /// Where to write it.
        file: PathBuf,
    },
    /// Verify a message file offline: signature, structure and claims. Prints the
    /// signer, kind and claims; exit 1 if it is invalid.
    Verify {
        /// The message file (raw COSE bytes).
        file: PathBuf,
    },
}

/// `30d`, `12h`, `90m`, `45s`, or combinations such as `1d 12h`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}: write a duration such as 30d, 12h, 90m or 45s"))
}
