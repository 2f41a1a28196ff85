//! Kill safety of the real daemon: `passport node` serves two merchants (requests a
//! standing policy grants at once, and requests the person approves through the
//! API) and revocations through the API, and is killed with SIGKILL mid-traffic,
//! then restarted, again and again. After every kill the store must open, its audit
//! chain must verify, every grant a merchant received must be in the store, and
//! every approval and revocation the API acknowledged must be there.
//!
//! `PASSPORT_KILLS` sets the number of kills (default 12 here; the acceptance run
//! uses 1,000: `PASSPORT_KILLS=1000 cargo test -p passport-cli --test kill --
//! --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::{
    collections::BTreeSet,
    path::Path,
    process::{Child, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::*;
use libp2p::identity;
use passport_node::{
    Home, Node, NodeConfig, RequestSpec, Unlock,
    net::{self, Client, NetConfig, Response},
    protocol::{Body, GrantId, MessageId, Outcome, PassportId, PeerRecord, decode_trusted},
};
use rand::RngExt as _;
use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the daemon acknowledged, as its clients saw it.
#[derive(Default)]
struct Acknowledged {
    /// Grants that reached a merchant (so the person's node sent them).
    grants_sent: BTreeSet<GrantId>,
    /// Requests the API said it approved.
    approved: BTreeSet<MessageId>,
    /// Grants the API said it revoked.
    revoked: BTreeSet<GrantId>,
}

fn start_daemon(home: &Path, p2p_port: u16, api_port: u16) -> Child {
    let _ = std::fs::remove_file(home.join("api.addr"));
    let child = passport(home)
        .args([
            "node",
            "--no-mdns",
            "--listen",
            &format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
            "--api",
            &format!("127.0.0.1:{api_port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !home.join("api.addr").exists() {
        assert!(Instant::now() < deadline, "the node did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

async fn merchant(bootstrap: libp2p::Multiaddr) -> (Node, Client) {
    let node = Node::in_memory(NodeConfig::default()).unwrap();
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap: vec![bootstrap],
        mdns: false,
        request_timeout: Duration::from_secs(2),
        ..NetConfig::default()
    };
    let (client, event_loop) =
        net::new(node.clone(), identity::Keypair::generate_ed25519(), config).unwrap();
    tokio::spawn(event_loop.run());
    (node, client)
}

fn spec(field: &str) -> RequestSpec {
    RequestSpec::new("Shop", [field.parse().unwrap()], "delivery", 86_400)
}

/// Sends requests for `field` as fast as answers come; records every grant sent.
async fn asking(
    shop: Node,
    client: Client,
    record: PeerRecord,
    person: PassportId,
    field: &'static str,
    acks: Arc<Mutex<Acknowledged>>,
) {
    loop {
        let bytes = shop
            .request(person, spec(field), passport_node::node::system_now())
            .unwrap();
        match client.send_to_record(&record, bytes).await {
            Ok(Response::Message(decision)) => {
                let message = decode_trusted(&decision).unwrap();
                if let Body::Decision(d) = message.body
                    && let Outcome::Granted(grant) = d.outcome
                {
                    acks.lock().unwrap().grants_sent.insert(grant.grant_id);
                }
            }
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Approves pending requests and revokes live grants through the API; records what
/// the API acknowledged.
async fn deciding(base: String, token: String, acks: Arc<Mutex<Acknowledged>>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let get = |path: &str| {
        let request = http.get(format!("{base}{path}")).bearer_auth(&token);
        async move { request.send().await.ok()?.json::<Value>().await.ok() }
    };
    let post = |path: String| {
        let request = http
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&json!({}));
        async move { request.send().await.is_ok_and(|r| r.status().is_success()) }
    };
    loop {
        if let Some(inbox) = get("/v1/inbox").await {
            for item in inbox.as_array().into_iter().flatten() {
                let id = item["request_id"].as_str().unwrap().to_string();
                if post(format!("/v1/inbox/{id}/approve")).await {
                    acks.lock().unwrap().approved.insert(id.parse().unwrap());
                }
            }
        }
        if let Some(grants) = get("/v1/grants").await {
            let live: Vec<String> = grants
                .as_array()
                .into_iter()
                .flatten()
                .filter(|g| g["live"] == true)
                .map(|g| g["grant_id"].as_str().unwrap().to_string())
                .collect();
            // Revoke about one grant in three.
            for id in live.iter().step_by(3) {
                if post(format!("/v1/grants/{id}/revoke")).await {
                    acks.lock().unwrap().revoked.insert(id.parse().unwrap());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_traffic_loses_nothing_acknowledged() {
    let kills: usize = std::env::var("PASSPORT_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let home_dir = dir.path().join("ada");
    ok(&home_dir, &["init", "--no-passphrase"]);
    ok(&home_dir, &["set", "name.given", "Ada"]);
    ok(&home_dir, &["set", "phone.mobile", "+33 6"]);
    ok(
        &home_dir,
        &["tag", "phone.mobile", "--sensitivity", "sensitive"],
    );
    // Normal fields to anyone; the sensitive phone is asked every time.
    ok(
        &home_dir,
        &["policy", "add", "--allow", "--fields", "name.given"],
    );
    let person: PassportId = json(&home_dir, &["id"])["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (p2p_port, api_port) = (free_port(), free_port());
    let token = std::fs::read_to_string(home_dir.join("api.token"))
        .unwrap()
        .trim()
        .to_string();
    let base = format!("http://127.0.0.1:{api_port}");

    let mut daemon = start_daemon(&home_dir, p2p_port, api_port);
    let peer_id = json(&home_dir, &["status"])["peer_id"]
        .as_str()
        .unwrap()
        .to_string();
    let address: libp2p::Multiaddr = format!("/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{peer_id}")
        .parse()
        .unwrap();
    let acks = Arc::new(Mutex::new(Acknowledged::default()));
    let mut tasks = Vec::new();
    for field in ["name.given", "phone.mobile"] {
        let (shop, client) = merchant(address.clone()).await;
        let record = loop {
            match client.lookup(person).await {
                Ok(record) => break record,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        tasks.push(tokio::spawn(asking(
            shop,
            client,
            record,
            person,
            field,
            acks.clone(),
        )));
    }
    tasks.push(tokio::spawn(deciding(base, token, acks.clone())));

    let home = Home::new(&home_dir);
    let mut rng = rand::rng();
    for kill in 0..kills {
        if kill > 0 {
            daemon = start_daemon(&home_dir, p2p_port, api_port);
        }
        // Mid-traffic: a random moment once the node serves.
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..400))).await;
        daemon.kill().unwrap(); // SIGKILL
        daemon.wait().unwrap();
        // What the clients saw before the kill; anything answered after it failed.
        let (sent, approved, revoked) = {
            let acks = acks.lock().unwrap();
            (
                acks.grants_sent.clone(),
                acks.approved.clone(),
                acks.revoked.clone(),
            )
        };

        let node = Node::open(&home, &Unlock::KeyFile, NodeConfig::default())
            .unwrap_or_else(|e| panic!("kill {kill}: the store does not open: {e}"));
        let report = node.verify_audit().unwrap();
        assert!(
            report.is_intact(),
            "kill {kill}: the audit log is broken: {:?}",
            report.problems
        );
        let grants = node.grants().unwrap();
        let held: BTreeSet<GrantId> = grants.iter().map(|g| g.grant_id).collect();
        let answered: BTreeSet<MessageId> = grants.iter().map(|g| g.request_id).collect();
        let held_revoked: BTreeSet<GrantId> = grants
            .iter()
            .filter(|g| g.revoked_at.is_some())
            .map(|g| g.grant_id)
            .collect();
        let unheld: Vec<_> = sent.difference(&held).collect();
        assert!(
            unheld.is_empty(),
            "kill {kill}: grants sent that the store does not hold: {unheld:?}"
        );
        let unapproved: Vec<_> = approved.difference(&answered).collect();
        assert!(
            unapproved.is_empty(),
            "kill {kill}: acknowledged approvals lost: {unapproved:?}"
        );
        let unrevoked: Vec<_> = revoked.difference(&held_revoked).collect();
        assert!(
            unrevoked.is_empty(),
            "kill {kill}: acknowledged revocations lost: {unrevoked:?}"
        );
        drop(node);
    }
    for task in tasks {
        task.abort();
    }
    let acks = acks.lock().unwrap();
    println!(
        "{kills} SIGKILLs mid-traffic: {} grants sent, {} approvals and {} revocations acknowledged; none lost, every store opened, every audit chain intact",
        acks.grants_sent.len(),
        acks.approved.len(),
        acks.revoked.len()
    );
    assert!(
        acks.grants_sent.len() >= kills && !acks.approved.is_empty() && !acks.revoked.is_empty(),
        "too little traffic to mean anything"
    );
}
