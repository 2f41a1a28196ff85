//! `shop`: the example shop's server. See examples/shop/README.md.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use passport_example_shop::{Config, Shop, Token, webhook::WebhookSecret};
use zeroize::Zeroizing;

/// An example shop that fills its checkout from a person's Passport, through a
/// merchant `passport node`.
///
/// Secrets come from files or the environment, never from flags (which other users
/// of the machine can see).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where the shop listens.
    #[arg(long, env = "SHOP_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The merchant node's API, e.g. http://127.0.0.1:7878 (its `passport node --api`).
    #[arg(long, env = "SHOP_NODE_URL")]
    node_url: String,
    /// A file holding the node's API token (e.g. <merchant home>/api.token). Without
    /// it, the token comes from SHOP_NODE_TOKEN.
    #[arg(long, env = "SHOP_NODE_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// A file holding the webhook secret (`whsec_...`, as in the node's
    /// `[[webhook]] secret`). Without it, the secret comes from SHOP_WEBHOOK_SECRET.
    #[arg(long, env = "SHOP_WEBHOOK_SECRET_FILE")]
    webhook_secret_file: Option<PathBuf>,
    /// Where the shop keeps its orders.
    #[arg(long, env = "SHOP_DATA_DIR", default_value = "shop-data")]
    data_dir: PathBuf,
    /// How long the grant asked for lasts, in days.
    #[arg(long, env = "SHOP_GRANT_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    grant_days: u64,
    /// Every this many seconds, an order still waiting asks the node where its
    /// request stands, in case a webhook was lost. 0: never.
    #[arg(long, env = "SHOP_RECONCILE_SECS", default_value_t = 60)]
    reconcile_secs: u64,
}

/// A secret from `file`, else from the environment variable `var`.
fn secret(file: Option<&PathBuf>, var: &str, what: &str) -> Result<Zeroizing<String>, String> {
    match file {
        Some(path) => std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| format!("cannot read the {what} from {}: {e}", path.display())),
        None => std::env::var(var)
            .map(Zeroizing::new)
            .map_err(|_| format!("no {what}: give a file with its flag, or set {var}")),
    }
}

async fn run(args: Args) -> Result<(), String> {
    let token = secret(
        args.token_file.as_ref(),
        "SHOP_NODE_TOKEN",
        "node API token",
    )?;
    let token = Token::new(&token).map_err(|e| e.to_string())?;
    let webhook = secret(
        args.webhook_secret_file.as_ref(),
        "SHOP_WEBHOOK_SECRET",
        "webhook secret",
    )?;
    let webhook = WebhookSecret::parse(&webhook).map_err(|e| e.to_string())?;
    let mut config = Config::new(args.node_url, token, webhook, args.data_dir);
    config.grant = Duration::from_secs(args.grant_days * 86_400);
    config.reconcile = (args.reconcile_secs > 0).then(|| Duration::from_secs(args.reconcile_secs));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}: {e} (is the address free?)",
                args.listen
            )
        })?;
    let shop = Shop::start(listener, config)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("the checkout is at http://{}/", shop.addr());
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    tracing::info!("stopping");
    shop.stop().await.map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
