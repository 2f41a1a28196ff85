//! Where the passport lives, how it is unlocked, and how a command reaches it.

use std::{
    io::IsTerminal as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context as _, anyhow, bail};
use axum::http::{Method, StatusCode};
use passport_node::{
    ApiCall, DeviceOp, Home, Node, NodeError, Unlock,
    device::link::{DeviceFile, DeviceLink},
    http::{
        self, LocalApi,
        views::{ErrorBody, Proof},
    },
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::{args::Cli, output::Negative};

/// The file a running node writes its API address to, and removes when it stops.
pub(crate) const API_ADDR_FILE: &str = "api.addr";

/// What every command gets: the global options.
pub(crate) struct Context {
    pub home: Home,
    pub json: bool,
    pub quiet: bool,
    passphrase_file: Option<PathBuf>,
    /// `PASSPORT_TOKEN`: the token to use instead of `api.token`, against a
    /// running node only.
    token: Option<Zeroizing<String>>,
}

impl Context {
    pub(crate) fn new(cli: &Cli) -> anyhow::Result<Self> {
        let dir = match &cli.home {
            Some(dir) => dir.clone(),
            None => dirs::data_dir()
                .map(|d| d.join("passport"))
                .ok_or_else(|| {
                    anyhow!(
                        "no data directory on this platform: pass --home DIR or set PASSPORT_HOME"
                    )
                })?,
        };
        let token = std::env::var("PASSPORT_TOKEN")
            .ok()
            .map(|t| Zeroizing::new(t.trim().to_string()))
            .filter(|t| !t.is_empty());
        Ok(Self {
            home: Home::new(dir),
            json: cli.json,
            quiet: cli.quiet,
            passphrase_file: cli.passphrase_file.clone(),
            token,
        })
    }

    /// A progress note on stderr, unless `-q`.
    pub(crate) fn note(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// The passphrase: from `--passphrase-file`, from `PASSPORT_PASSPHRASE`, or asked
    /// on the terminal without echo. `confirm` asks twice (for a new passport).
    pub(crate) fn passphrase(&self, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
        secret(
            &Secret {
                what: "passphrase",
                file: self.passphrase_file.as_deref(),
                file_option: "--passphrase-file FILE",
                env: "PASSPORT_PASSPHRASE",
                prompt: "Passphrase",
            },
            confirm,
        )
    }

    /// The backup passphrase: from `file` (`--backup-passphrase-file`), from
    /// `PASSPORT_BACKUP_PASSPHRASE`, or asked on the terminal without echo.
    /// `confirm` asks twice (for a new backup).
    pub(crate) fn backup_passphrase(
        &self,
        file: Option<&Path>,
        confirm: bool,
    ) -> anyhow::Result<Zeroizing<String>> {
        secret(
            &Secret {
                what: "backup passphrase",
                file,
                file_option: "--backup-passphrase-file FILE",
                env: "PASSPORT_BACKUP_PASSPHRASE",
                prompt: "Backup passphrase",
            },
            confirm,
        )
    }

    /// How this passport is unlocked: its key file if it has one, else the passphrase.
    pub(crate) fn unlock(&self) -> anyhow::Result<Unlock> {
        if self.home.key_file_path().exists() {
            Ok(Unlock::KeyFile)
        } else {
            Ok(Unlock::Passphrase(self.passphrase(false)?))
        }
    }

    /// The passport must exist.
    pub(crate) fn require_home(&self) -> anyhow::Result<()> {
        if !self.home.exists() {
            return Err(NodeError::NotFound {
                home: self.home.dir().to_path_buf(),
            }
            .into());
        }
        Ok(())
    }

    /// Unlocks and opens the store (for `passport node`, or when no node runs).
    pub(crate) fn open_node(&self) -> anyhow::Result<Node> {
        self.require_home()?;
        let unlock = self.unlock()?;
        Ok(Node::open_home(&self.home, &unlock)?)
    }

    /// The running node's API, or the same API over the store when no node runs.
    /// With `network`, a running node is required. With `PASSPORT_TOKEN`, the
    /// running node is required and called with that token.
    pub(crate) async fn connect(&self, network: bool) -> anyhow::Result<Conn> {
        if let Some(token) = &self.token {
            return self.node_with(token).await;
        }
        self.require_home()?;
        if let Some(device) = self.device()? {
            return self.device_conn(device).await;
        }
        if let Some(remote) = self.running_node().await? {
            return Ok(remote);
        }
        if network {
            bail!(
                "no node is running for {}: start it with `passport node` (in another terminal, or as a service, see contrib/passport.service)",
                self.home.dir().display()
            );
        }
        Ok(Conn::Local(LocalApi::new(self.open_node()?)))
    }

    /// Whose device this home is, if it is a linked device's.
    pub(crate) fn device(&self) -> anyhow::Result<Option<DeviceFile>> {
        Ok(DeviceFile::read(self.home.dir())?)
    }

    /// The connection of this device to its home node.
    async fn device_conn(&self, device: DeviceFile) -> anyhow::Result<Conn> {
        let (link, delegation) = self.device_link(device).await?;
        Ok(Conn::Device {
            link: Box::new(link),
            delegation,
        })
    }

    /// This device's link to its home node, and its delegation.
    pub(crate) async fn device_link(
        &self,
        device: DeviceFile,
    ) -> anyhow::Result<(DeviceLink, Vec<u8>)> {
        let delegation = device.delegation_bytes().ok_or_else(|| {
            anyhow!(
                "{} is damaged (its delegation does not read): pair this device again",
                self.home
                    .dir()
                    .join(passport_node::device::link::DEVICE_FILE)
                    .display()
            )
        })?;
        let node = self.open_node()?;
        let keypair = self.home.network_key()?;
        let link = crate::commands::device::link(node, keypair, device.person, device.multiaddrs())
            .await?;
        Ok((link, delegation))
    }

    /// The running node's API, if a node runs (with `PASSPORT_TOKEN`, one must).
    pub(crate) async fn running(&self) -> anyhow::Result<Option<Conn>> {
        if let Some(token) = &self.token {
            return self.node_with(token).await.map(Some);
        }
        self.running_node().await
    }

    async fn running_node(&self) -> anyhow::Result<Option<Conn>> {
        let Ok(addr) = std::fs::read_to_string(self.api_addr_path()) else {
            return Ok(None);
        };
        let token = self.home.api_token()?;
        let http = api_client()?;
        let base = format!("http://{}", addr.trim());
        match prove(&http, &base, &token).await {
            Proved::Yes => Ok(Some(Conn::Remote { base, token, http })),
            Proved::Wrong => {
                tracing::warn!(
                    "{} names {base}, which does not prove it is this passport's node: not sending it the token",
                    self.api_addr_path().display()
                );
                Ok(None)
            }
            Proved::NoAnswer => Ok(None),
        }
    }

    /// The running node, called with `token` (`PASSPORT_TOKEN`): at `PASSPORT_API`,
    /// or at the address in `<home>/api.addr`.
    async fn node_with(&self, token: &str) -> anyhow::Result<Conn> {
        let addr = match std::env::var("PASSPORT_API") {
            Ok(addr) if !addr.trim().is_empty() => addr,
            _ => std::fs::read_to_string(self.api_addr_path()).map_err(|_| {
                anyhow!(
                    "PASSPORT_TOKEN is set, so this command goes to a running node, and none runs for {}: start it with `passport node`, or set PASSPORT_API to its address",
                    self.home.dir().display()
                )
            })?,
        };
        let addr = addr.trim();
        let base = if addr.starts_with("http://") || addr.starts_with("https://") {
            addr.trim_end_matches('/').to_string()
        } else {
            format!("http://{addr}")
        };
        let http = api_client()?;
        match prove(&http, &base, token).await {
            Proved::Yes => Ok(Conn::Remote {
                base,
                token: token.to_string(),
                http,
            }),
            Proved::Wrong => bail!(
                "the node at {base} does not know the token in PASSPORT_TOKEN (revoked, or another node's?): it was not sent"
            ),
            Proved::NoAnswer => bail!(
                "no Passport node answers at {base}: start it with `passport node`, or set PASSPORT_API to its address"
            ),
        }
    }

    pub(crate) fn api_addr_path(&self) -> PathBuf {
        self.home.dir().join(API_ADDR_FILE)
    }
}

/// Where a secret may come from, and what to call it.
struct Secret<'a> {
    what: &'static str,
    file: Option<&'a Path>,
    file_option: &'static str,
    env: &'static str,
    prompt: &'static str,
}

/// A secret from its file (first line), its environment variable, or the
/// terminal without echo; `confirm` asks twice.
fn secret(source: &Secret<'_>, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    let what = source.what;
    if let Some(path) = source.file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("could not read the {what} file {}", path.display()))?,
        );
        let line = Zeroizing::new(text.lines().next().unwrap_or_default().to_string());
        if line.is_empty() {
            bail!("the {what} file {} is empty", path.display());
        }
        return Ok(line);
    }
    if let Ok(text) = std::env::var(source.env) {
        let text = Zeroizing::new(text);
        if text.is_empty() {
            bail!("{} is set but empty", source.env);
        }
        return Ok(text);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "this needs the {what} and there is no terminal to ask on: use {} or set {}",
            source.file_option,
            source.env
        );
    }
    let first = Zeroizing::new(rpassword::prompt_password(format!("{}: ", source.prompt))?);
    if first.is_empty() {
        bail!("the {what} cannot be empty");
    }
    if confirm {
        let second = Zeroizing::new(rpassword::prompt_password(format!(
            "{} again: ",
            source.prompt
        ))?);
        if first != second {
            bail!("the two {what}s differ; nothing was written");
        }
    }
    Ok(first)
}

/// The HTTP client for a node's API: requests may wait up to 5 minutes for a
/// person's decision.
fn api_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(330))
        .connect_timeout(Duration::from_secs(2))
        .build()?)
}

/// What a server said when asked to prove it knows a token.
enum Proved {
    /// The right proof: the token may be sent.
    Yes,
    /// An answer, but not the right proof.
    Wrong,
    /// No answer, or not one from a Passport node.
    NoAnswer,
}

/// Asks the server at `base` to prove it knows `token` before it is sent (an
/// address read from a file may be stale: nothing answers, or another program
/// took the port since), without waiting long on a server that never answers. A
/// scoped token (`ppt_…`) is proved by its id and digest, which is all the node
/// keeps of it.
async fn prove(http: &reqwest::Client, base: &str, token: &str) -> Proved {
    let nonce = passport_node::home::random_token();
    let scoped = passport_node::tokens::token_id(token);
    let (query, expected) = match scoped {
        Some(id) => (
            format!("nonce={nonce}&token_id={id}"),
            http::scoped_token_proof(token, &nonce),
        ),
        None => (format!("nonce={nonce}"), http::token_proof(token, &nonce)),
    };
    let Ok(response) = http
        .get(format!("{base}/v1/hello?{query}"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
    else {
        return Proved::NoAnswer;
    };
    let status = response.status();
    let Ok(body) = response.bytes().await else {
        return Proved::NoAnswer;
    };
    // A Passport node answers a token id it does not know with 404 and its error.
    let unknown = scoped.is_some()
        && status == reqwest::StatusCode::NOT_FOUND
        && serde_json::from_slice::<ErrorBody>(&body)
            .is_ok_and(|e| e.error.starts_with("no API token"));
    if unknown {
        return Proved::Wrong;
    }
    match serde_json::from_slice::<Proof>(&body) {
        Ok(answer) if answer.proof == expected => Proved::Yes,
        Ok(_) => Proved::Wrong,
        Err(_) => Proved::NoAnswer,
    }
}

/// A way to reach a node's API.
pub(crate) enum Conn {
    /// A running node, over HTTP on loopback.
    Remote {
        base: String,
        token: String,
        http: reqwest::Client,
    },
    /// The store itself, no network: messages made wait in the outbox.
    Local(LocalApi),
    /// A linked device's home node, over libp2p: each call signed by this device.
    Device {
        link: Box<DeviceLink>,
        delegation: Vec<u8>,
    },
}

impl Conn {
    /// Whether a node is running (otherwise messages wait for it).
    pub(crate) fn is_running(&self) -> bool {
        matches!(self, Conn::Remote { .. } | Conn::Device { .. })
    }

    /// `method path` with an optional JSON body; the status and the body's bytes.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Vec<u8>)> {
        match self {
            Conn::Remote { base, token, http } => {
                let method = reqwest::Method::from_bytes(method.as_str().as_bytes())?;
                let mut request = http
                    .request(method, format!("{base}{path}"))
                    .bearer_auth(token);
                if let Some(body) = body {
                    request = request.json(body);
                }
                let response = request
                    .send()
                    .await
                    .with_context(|| format!("the node's API at {base} did not answer"))?;
                let status = StatusCode::from_u16(response.status().as_u16())?;
                Ok((status, response.bytes().await?.to_vec()))
            }
            Conn::Local(api) => Ok(api.call(method, path, body).await?),
            Conn::Device { link, delegation } => {
                let call = DeviceOp::Api(ApiCall {
                    method: method.to_string(),
                    path: path.to_string(),
                    body: body.cloned(),
                });
                let (status, bytes) = link.call(delegation, &call).await?;
                Ok((StatusCode::from_u16(status)?, bytes))
            }
        }
    }

    /// [`Conn::call`] for a successful answer's bytes. An API error becomes an error
    /// carrying the API's message: [`Negative`] for answers that are a "no" (410
    /// Gone, 409 Conflict), a plain error otherwise.
    pub(crate) async fn bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Vec<u8>> {
        let (status, bytes) = self.call(method, path, body).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map_or_else(|_| status.to_string(), |body| body.error);
        if matches!(status, StatusCode::GONE | StatusCode::CONFLICT) {
            return Err(Negative(message).into());
        }
        Err(anyhow!(message))
    }

    /// [`Conn::bytes`] for a JSON answer, read as `T` (one of
    /// [`passport_node::http::views`]).
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<T> {
        let bytes = self.bytes(method.clone(), path, body).await?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the node's answer to {method} {path} is not in the shape this `passport` reads: is the node another version?"
            )
        })
    }
}

/// Writes `text` to `path` by way of a temporary file, so a reader never sees half.
pub(crate) fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("could not write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}
