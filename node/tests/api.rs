//! The local HTTP API on a real node with a real network: guard (Host header, token),
//! fields, a merchant's request through its own API to a person's node, the person's
//! inbox, approval, and the merchant's received grant, all as JSON over HTTP.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use libp2p::{Multiaddr, identity, multiaddr::Protocol};
use passport_node::{
    Node, NodeConfig, Passport,
    http::{self, ApiState},
    net::{self, Client, NetConfig},
};
use serde_json::{Value, json};

struct Running {
    node: Node,
    base: String,
    token: String,
}

fn memory_node() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

fn loopback(bootstrap: Vec<Multiaddr>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap,
        mdns: false,
        lookup_timeout: Duration::from_secs(5),
        ..NetConfig::default()
    }
}

async fn start_net(node: Node, bootstrap: Vec<Multiaddr>) -> Client {
    let (client, event_loop) = net::new(
        node,
        identity::Keypair::generate_ed25519(),
        loopback(bootstrap),
    )
    .unwrap();
    tokio::spawn(event_loop.run());
    client.until_listening().await.unwrap();
    client
}

async fn start(bootstrap: Vec<Multiaddr>) -> (Running, Client) {
    let node = memory_node();
    let (passport, _events) = Passport::with_node(node.clone())
        .network(loopback(bootstrap))
        .spawn()
        .await
        .unwrap();
    let client = passport.client().unwrap().clone();
    while client.publish().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = "t".repeat(64);
    let state = ApiState::new(passport, token.clone(), addr);
    tokio::spawn(http::serve(listener, state, std::future::pending()));
    (
        Running {
            node,
            base: format!("http://{addr}"),
            token,
        },
        client,
    )
}

impl Running {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_drives_a_request_from_merchant_to_person_and_back() {
    let boot = start_net(memory_node(), vec![]).await;
    let boot_addr = boot.listen_addrs().await.unwrap()[0]
        .clone()
        .with(Protocol::P2p(boot.peer_id()));
    let (person, _) = start(vec![boot_addr.clone()]).await;
    let (merchant, _) = start(vec![boot_addr]).await;

    // The guard: no token, a wrong token, a foreign Host header.
    let http = reqwest::Client::new();
    let url = format!("{}/v1/status", person.base);
    assert_eq!(http.get(&url).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(
        http.get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let rebinding = http
        .get(&url)
        .bearer_auth(&person.token)
        .header("Host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(rebinding.status().as_u16(), 421);
    let (code, status) = person.call(reqwest::Method::GET, "/v1/status", None).await;
    assert_eq!(code, 200);
    assert_eq!(status["id"], json!(person.node.id().to_string()));
    // Kademlia requests served, by kind, as `/metrics` has them.
    for kind in ["find_node", "get_record", "put_record", "other"] {
        assert!(status["dht_served"][kind].is_u64(), "{status}");
    }

    // Fields, with a clear error for a bad name.
    let (code, _) = person
        .call(
            reqwest::Method::PUT,
            "/v1/fields/name.given",
            Some(json!({"value": {"text": "Ada"}})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, err) = person
        .call(
            reqwest::Method::PUT,
            "/v1/fields/Bad Name",
            Some(json!({"value": {"text": "x"}})),
        )
        .await;
    assert_eq!(code, 400, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("field name"),
        "{err}"
    );
    let (_, fields) = person.call(reqwest::Method::GET, "/v1/fields", None).await;
    assert_eq!(fields[0]["value"], json!({"text": "Ada"}));

    // The merchant asks through its API; the person must decide.
    let ask = json!({
        "to": person.node.id().to_string(),
        "requester_name": "Brand X",
        "fields": [{"name": "name.given", "reason": "to address the parcel"}],
        "purpose": "delivery",
        "duration_secs": 86400,
        "offer": {"text": "free shipping", "details": {}},
    });
    let (code, sent) = merchant
        .call(reqwest::Method::POST, "/v1/requests", Some(ask))
        .await;
    assert_eq!(code, 200, "{sent}");
    assert_eq!(sent["result"]["status"], "pending");
    let (_, inbox) = person.call(reqwest::Method::GET, "/v1/inbox", None).await;
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    assert!(
        inbox[0]["sentence"]
            .as_str()
            .unwrap()
            .contains("offering free shipping")
    );
    assert_eq!(inbox[0]["merchant_name_verified"], false);
    let id = inbox[0]["request_id"].as_str().unwrap().to_owned();

    let (code, _) = person
        .call(
            reqwest::Method::POST,
            &format!("/v1/inbox/{id}/approve"),
            None,
        )
        .await;
    assert_eq!(code, 200);
    // Delivered in the background: the merchant sees the grant shortly.
    let mut received = Value::Null;
    for _ in 0..100 {
        (_, received) = merchant
            .call(reqwest::Method::GET, "/v1/received", None)
            .await;
        if received.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let grant_id = received[0]["grant_id"].as_str().unwrap().to_owned();
    let (code, values) = merchant
        .call(
            reqwest::Method::GET,
            &format!("/v1/received/{grant_id}/values"),
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(values["name.given"], json!({"text": "Ada"}));

    // A request that waits for the decision: the person approves while it waits.
    let ask = json!({
        "to": person.node.id().to_string(),
        "requester_name": "Brand X",
        "fields": [{"name": "name.given"}],
        "purpose": "delivery",
        "duration_secs": 3600,
        "wait_secs": 30,
    });
    let approver = {
        let (base, token) = (person.base.clone(), person.token.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for _ in 0..100 {
                let inbox: Value = http
                    .get(format!("{base}/v1/inbox"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if let Some(id) = inbox
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(|i| i["request_id"].as_str())
                {
                    let url = format!("{base}/v1/inbox/{id}/approve");
                    assert!(
                        http.post(url)
                            .bearer_auth(&token)
                            .send()
                            .await
                            .unwrap()
                            .status()
                            .is_success()
                    );
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the request never reached the inbox");
        })
    };
    let (code, waited) = merchant
        .call(reqwest::Method::POST, "/v1/requests", Some(ask))
        .await;
    approver.await.unwrap();
    assert_eq!(code, 200, "{waited}");
    assert_eq!(waited["result"]["status"], "granted", "{waited}");

    // Unknown ids are 404 with a message; the audit verifies.
    let (code, err) = person
        .call(
            reqwest::Method::POST,
            "/v1/grants/00000000000000000000000000000000/revoke",
            None,
        )
        .await;
    assert_eq!(code, 404, "{err}");
    let (_, report) = person
        .call(reqwest::Method::GET, "/v1/audit/verify", None)
        .await;
    assert_eq!(report["intact"], true);

    // Policies: add, list, remove.
    let policy = json!({"effect": "allow", "merchant": merchant.node.id().to_string(),
        "fields": {"any_normal": true, "named": []}});
    let unknown =
        json!({"effect": "allow", "fields": {"any_normal": true, "named": []}, "colour": "blue"});
    let (code, err) = person
        .call(reqwest::Method::POST, "/v1/policies", Some(unknown))
        .await;
    assert_eq!(code, 422, "an unknown key is refused: {err}");
    assert!(
        err["error"].as_str().unwrap().contains("colour"),
        "a JSON error naming the key: {err}"
    );
    // Not JSON at all: still a JSON error a person can read.
    let garbled = reqwest::Client::new()
        .post(format!("{}/v1/policies", person.base))
        .bearer_auth(&person.token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status().as_u16(), 400);
    let body: Value = garbled.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    let (code, body) = person.call(reqwest::Method::GET, "/v1/nope", None).await;
    assert_eq!(code, 404);
    assert!(
        body["error"].as_str().unwrap().starts_with("not found"),
        "{body}"
    );
    let (code, body) = person
        .call(reqwest::Method::DELETE, "/v1/status", None)
        .await;
    assert_eq!(code, 405);
    assert_eq!(body["error"], "method not allowed", "{body}");
    let (code, added) = person
        .call(reqwest::Method::POST, "/v1/policies", Some(policy))
        .await;
    assert_eq!(code, 200, "{added}");
    let (_, list) = person
        .call(reqwest::Method::GET, "/v1/policies", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (code, _) = person
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/policies/{}", added["id"]),
            None,
        )
        .await;
    assert_eq!(code, 200);

    // Metrics: the request the person received is counted, in the exposition format.
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", person.base))
        .bearer_auth(&person.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("passport_messages_total{kind=\"request\",result=\"pending\"} 2"),
        "{text}"
    );
    assert!(text.contains("passport_connected_peers"), "{text}");
    assert!(
        text.contains("passport_dht_requests_served{kind=\"find_node\"}"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_events_streams_each_committed_change_as_json() {
    let (person, _client) = start(vec![]).await;
    let mut stream = reqwest::Client::new()
        .get(format!("{}/v1/events", person.base))
        .bearer_auth(&person.token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let policy =
        serde_json::to_value(passport_node::consent::Policy::allow_normal_fields(None)).unwrap();
    let (code, added) = person
        .call(reqwest::Method::POST, "/v1/policies", Some(policy))
        .await;
    assert_eq!(code, 200, "{added}");
    let mut seen = String::new();
    while !seen.contains("policy_changed") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("no event within 10 s")
            .unwrap()
            .expect("the stream ended");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = seen
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap();
    let event: Value = serde_json::from_str(data).unwrap();
    assert_eq!(event["kind"], "committed", "{seen}");
    assert_eq!(event["event"]["event"], "policy_changed");
    assert_eq!(event["event"]["policy"], added["id"]);
    assert!(seen.starts_with("event: committed\n"), "{seen}");
    // Without the token: refused like every other route.
    let refused = reqwest::get(format!("{}/v1/events", person.base))
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}
