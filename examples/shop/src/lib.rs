//! An example shop that fills its checkout from a person's Passport.
//!
//! It runs beside a merchant `passport node` and talks to it the way any shop
//! backend would, over the node's HTTP API and its webhooks:
//!
//! 1. The checkout page takes the person's passport id (typed, or a `did:key:`
//!    pasted from a QR scan) and asks the node for `name.given`, `name.family` and
//!    `address.home`, "for delivery of order N" (`POST /v1/requests`).
//! 2. The order page waits ("approve on your node") and reloads itself.
//! 3. The node's `grant.received` webhook says the person approved; the shop reads
//!    the values (`GET /v1/received/{grant}/values`) and fills the order.
//! 4. `grant.revoked`, `grant.expired` or `erase.requested`: the shop deletes the
//!    order's personal data from its database, then tells the node
//!    (`POST /v1/grants/{grant}/erased`), which sends the person a deletion receipt.
//!
//! Every webhook is checked ([`webhook::Verifier`]): a bad signature, a timestamp
//! more than five minutes off or a replayed id is refused and logged.
//!
//! Run it with the `shop` binary, or in-process with [`Shop::start`].
#![deny(missing_docs)]

mod events;
mod node;
mod pages;
mod routes;
mod store;
pub mod webhook;
mod worker;

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::{
    net::TcpListener,
    sync::{Mutex, Notify, watch},
    task::JoinHandle,
};

pub use node::{NodeError, Token};
pub use store::{Confirmation, Erasure, Grant, Order, OrderState, Step, StoreError};
use webhook::{Verifier, WebhookSecret};

/// The one item in the cart.
pub const ITEM: &str = "Passport enamel mug, €12";

/// The fields the checkout asks for, with the reason the person sees.
pub const FIELDS: [(&str, &str); 3] = [
    ("name.given", "to address the parcel"),
    ("name.family", "to address the parcel"),
    ("address.home", "where the parcel goes"),
];

/// How the shop runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The merchant node's API, e.g. `http://127.0.0.1:7878`.
    pub node_url: String,
    /// A token for that API (the node's `api.token`, or a merchant-scoped one).
    pub token: Token,
    /// The secret the node signs webhooks with (`whsec_...`).
    pub webhook_secret: WebhookSecret,
    /// Where the orders are kept.
    pub data_dir: PathBuf,
    /// How long the grant asked for lasts.
    pub grant: Duration,
    /// How often an order still waiting asks the node where its request stands,
    /// in case a webhook was lost; `None`: never, webhooks only.
    pub reconcile: Option<Duration>,
}

impl Config {
    /// A config with the defaults: grants of 30 days, reconciling every minute.
    pub fn new(
        node_url: impl Into<String>,
        token: Token,
        webhook_secret: WebhookSecret,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            node_url: node_url.into(),
            token,
            webhook_secret,
            data_dir: data_dir.into(),
            grant: Duration::from_secs(30 * 86_400),
            reconcile: Some(Duration::from_secs(60)),
        }
    }
}

/// Why the shop could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    /// Its database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node's address or token.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The listening socket.
    #[error("the shop's web server failed: {0} (is the address free?)")]
    Serve(#[from] std::io::Error),
    /// A task of the shop ended abnormally.
    #[error("a task of the shop stopped abnormally: {0}; see the log above")]
    Task(#[from] tokio::task::JoinError),
}

/// What the handlers and the worker share.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) node: node::Node,
    pub(crate) verifier: Verifier,
    pub(crate) store: Mutex<store::Store>,
    /// Wakes the worker: new work is in the database.
    pub(crate) wake: Notify,
    pub(crate) grant_secs: u64,
    pub(crate) reconcile: Option<Duration>,
}

/// A running shop: its web server and its worker.
#[derive(Debug)]
pub struct Shop {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    worker: JoinHandle<()>,
}

impl Shop {
    /// Opens the database and serves the shop on `listener` (bind it to port 0 for
    /// a free port), until [`Shop::stop`].
    pub async fn start(listener: TcpListener, config: Config) -> Result<Self, ShopError> {
        let store = store::Store::open(&config.data_dir).await?;
        let app = Arc::new(App {
            node: node::Node::new(&config.node_url, config.token)?,
            verifier: Verifier::new(config.webhook_secret),
            store: Mutex::new(store),
            wake: Notify::new(),
            grant_secs: config.grant.as_secs().max(1),
            reconcile: config.reconcile,
        });
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let worker = tokio::spawn(worker::run(app.clone(), stopped.clone()));
        let mut until = stopped;
        let server = tokio::spawn(async move {
            axum::serve(listener, routes::router(app))
                .with_graceful_shutdown(async move {
                    let _ = until.wait_for(|stop| *stop).await;
                })
                .await
        });
        tracing::info!(%addr, node = %config.node_url, "the shop is open");
        Ok(Self {
            addr,
            stop,
            server,
            worker,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server (after the requests in flight) and the worker.
    pub async fn stop(self) -> Result<(), ShopError> {
        self.stop.send_replace(true);
        self.worker.await?;
        self.server.await??;
        Ok(())
    }
}

/// Now, in unix seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A passport id as typed or pasted, in its `did:key:z...` form: whitespace and
/// line breaks (a scanner may add them) are dropped, and the `did:key:` prefix is
/// optional. The merchant node checks the rest.
pub fn passport_id(input: &str) -> Result<String, &'static str> {
    const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let key = match compact.get(..8) {
        Some(prefix) if prefix.eq_ignore_ascii_case("did:key:") => &compact[8..],
        _ => compact.as_str(),
    };
    if key.is_empty() {
        return Err("Type or paste your passport id: it looks like did:key:z6Mk…");
    }
    let Some(encoded) = key.strip_prefix('z') else {
        return Err("That is not a passport id: it looks like did:key:z6Mk…");
    };
    if encoded.len() < 40 || encoded.len() > 64 || !encoded.chars().all(|c| BASE58.contains(c)) {
        return Err(
            "That passport id is mistyped: copy it again from `passport id` or scan its QR code",
        );
    }
    Ok(format!("did:key:{key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

    #[test]
    fn passport_ids_are_taken_typed_or_pasted() {
        assert_eq!(passport_id(ADA).unwrap(), ADA);
        let bare = ADA.trim_start_matches("did:key:");
        assert_eq!(passport_id(bare).unwrap(), ADA);
        assert_eq!(passport_id(&format!("  {ADA}\r\n")).unwrap(), ADA);
        let broken = format!("DID:KEY:{}\n{}", &bare[..20], &bare[20..]);
        assert_eq!(passport_id(&broken).unwrap(), ADA);
        assert!(passport_id("").unwrap_err().contains("Type or paste"));
        assert!(
            passport_id("ada@example.com")
                .unwrap_err()
                .contains("not a passport id")
        );
        // 0, O, I and l are not base58.
        let typo = format!("did:key:{}", bare.replacen('h', "l", 1));
        assert!(passport_id(&typo).unwrap_err().contains("mistyped"));
        assert!(
            passport_id("did:key:z6Mk")
                .unwrap_err()
                .contains("mistyped")
        );
    }
}
