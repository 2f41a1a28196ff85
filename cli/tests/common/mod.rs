//! Helpers shared by the tests that run the real `passport` binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

pub(crate) fn passport(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_passport"));
    command
        .arg("--home")
        .arg(home)
        .env_remove("PASSPORT_PASSPHRASE")
        .env_remove("PASSPORT_PASSPHRASE_FILE")
        .env_remove("PASSPORT_HOME")
        .env_remove("PASSPORT_TOKEN")
        .env_remove("PASSPORT_API")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// Runs `passport --home HOME ARGS...`; returns the output.
pub(crate) fn run(home: &Path, args: &[&str]) -> Output {
    passport(home).args(args).output().unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs and expects exit 0; returns stdout.
pub(crate) fn ok(home: &Path, args: &[&str]) -> String {
    let output = run(home, args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "passport {args:?}\nstdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Runs with `--json`, expects exit 0; returns the parsed output.
pub(crate) fn json(home: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(home, &all)).unwrap()
}

/// Runs and expects exit `code`; returns stderr.
pub(crate) fn fails(home: &Path, args: &[&str], code: i32) -> String {
    let output = run(home, args);
    assert_eq!(
        output.status.code(),
        Some(code),
        "passport {args:?}\nstdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

pub(crate) fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Writes a `config.toml` in `home` that listens on loopback only, without mDNS.
pub(crate) fn listen_on_loopback(home: &Path) {
    std::fs::write(
        home.join("config.toml"),
        "[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\n",
    )
    .unwrap();
}

/// A `passport node` process, stopped with SIGTERM when dropped.
pub(crate) struct Daemon {
    child: Child,
    home: PathBuf,
}

impl Daemon {
    /// With `bootstrap`, listen and bootstrap addresses come from flags; without,
    /// from the home's config.toml.
    pub(crate) fn start(home: &Path, bootstrap: Option<&str>) -> Self {
        Self::start_with(passport(home), home, bootstrap)
    }

    /// Like [`Daemon::start`], from a prepared `command` (e.g. one with a passphrase
    /// in its environment).
    pub(crate) fn start_with(mut command: Command, home: &Path, bootstrap: Option<&str>) -> Self {
        command.args(["node", "--api", "127.0.0.1:0"]);
        if let Some(addr) = bootstrap {
            command.args([
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                "--no-mdns",
                "--bootstrap",
                addr,
            ]);
        }
        // stdout is kept for `first_line`; the node prints only a few lines to it.
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let daemon = Self {
            child,
            home: home.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !home.join("api.addr").exists() {
            assert!(Instant::now() < deadline, "the node did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }

    /// The JSON the node printed first (with `--json`: its announcement).
    pub(crate) fn announcement(&mut self) -> Value {
        use std::io::BufRead as _;
        let mut reader = std::io::BufReader::new(self.child.stdout.take().unwrap());
        let mut text = String::new();
        loop {
            assert_ne!(reader.read_line(&mut text).unwrap(), 0, "no JSON: {text}");
            if let Ok(value) = serde_json::from_str(&text) {
                return value;
            }
        }
    }

    /// Its first listen address, for others to bootstrap from.
    pub(crate) fn address(&self) -> String {
        let status = json(&self.home, &["status"]);
        format!(
            "{}/p2p/{}",
            status["listen_addrs"][0].as_str().unwrap(),
            status["peer_id"].as_str().unwrap()
        )
    }

    pub(crate) fn stop(mut self) {
        terminate(&self.child);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the node did not stop cleanly: {status}");
        assert!(!self.home.join("api.addr").exists());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// Retries `f` until it returns `Some`, for up to 30 s.
pub(crate) fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// [`eventually`] for an async check, for up to 30 s.
pub(crate) async fn eventually_async<T, F: std::future::Future<Output = Option<T>>>(
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A shop's node and Ada's (with `name.given`, bootstrapped from the shop), each
/// a `passport node` process, in `dir/shop` and `dir/ada`.
pub(crate) struct ShopAndAda {
    pub(crate) shop: PathBuf,
    pub(crate) ada: PathBuf,
    pub(crate) ada_id: String,
    pub(crate) shop_address: String,
    pub(crate) shop_node: Daemon,
    pub(crate) ada_node: Daemon,
}

pub(crate) fn shop_and_ada(dir: &Path) -> ShopAndAda {
    let (shop, ada) = (dir.join("shop"), dir.join("ada"));
    ok(&shop, &["init", "--no-passphrase"]);
    let ada_id = json(&ada, &["init", "--no-passphrase"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&ada, &["set", "name.given", "Ada"]);
    listen_on_loopback(&shop);
    let shop_node = Daemon::start(&shop, None);
    let shop_address = shop_node.address();
    let ada_node = Daemon::start(&ada, Some(&shop_address));
    ShopAndAda {
        shop,
        ada,
        ada_id,
        shop_address,
        shop_node,
        ada_node,
    }
}

/// The shop asks `person` for `name.given` for delivery, waiting `wait` for the
/// answer; retried until the person's record is found. Returns the JSON answer.
pub(crate) fn shop_requests(shop: &Path, person: &str, wait: &str) -> Value {
    let args = [
        "--json",
        "request",
        person,
        "--fields",
        "name.given",
        "--purpose",
        "delivery",
        "--for",
        "30d",
        "--wait",
        wait,
    ];
    eventually("the request reaches the person", || {
        let output = run(shop, &args);
        (output.status.code() == Some(0))
            .then(|| serde_json::from_slice::<Value>(&output.stdout).unwrap())
    })
}
