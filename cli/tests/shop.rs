//! The example shop (examples/shop) end to end: two real `passport node`
//! processes on loopback (a person and the shop's merchant node, its webhooks
//! pointed at the shop), the shop running in-process, and the person answering
//! with the real `passport` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{net::SocketAddr, time::Duration};

use common::*;
use passport_example_shop::{Config, Shop, Token, webhook::WebhookSecret};
use serde_json::{Value, json};

const ADDRESS: &str = "12 Rue des Lilas, Lyon";

/// A fresh `whsec_` secret: 32 random bytes in hex, which is valid base64 too.
fn new_secret() -> String {
    use rand::Rng as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("whsec_{hex}")
}

/// Talks to the shop as a browser and as the node would.
struct Client {
    rt: tokio::runtime::Runtime,
    shop: SocketAddr,
    http: reqwest::Client,
}

impl Client {
    /// Places an order with `passport_id` in the checkout form; its page's path.
    fn checkout(&self, passport_id: &str) -> String {
        let form = format!(
            "passport_id={}",
            passport_id.replace(':', "%3A").replace('\n', "%0A")
        );
        let response = self
            .rt
            .block_on(
                self.http
                    .post(format!("http://{}/orders", self.shop))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form)
                    .send(),
            )
            .unwrap();
        assert_eq!(response.status(), 303);
        response.headers()["location"].to_str().unwrap().to_string()
    }

    fn get(&self, path: &str) -> String {
        self.rt
            .block_on(async {
                self.http
                    .get(format!("http://{}{path}", self.shop))
                    .send()
                    .await?
                    .text()
                    .await
            })
            .unwrap()
    }

    fn status(&self, order: &str) -> Value {
        serde_json::from_str(&self.get(&format!("{order}/status"))).unwrap()
    }

    /// Posts `body` as webhook `id` at `timestamp`, signed with `secret`.
    fn webhook(&self, id: &str, timestamp: i64, body: &Value, secret: &str) -> u16 {
        let body = body.to_string();
        let signature = WebhookSecret::parse(secret)
            .unwrap()
            .sign(id, timestamp, body.as_bytes());
        self.rt
            .block_on(
                self.http
                    .post(format!("http://{}/webhooks/passport", self.shop))
                    .header("content-type", "application/json")
                    .header("webhook-id", id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header("webhook-signature", signature)
                    .body(body)
                    .send(),
            )
            .unwrap()
            .status()
            .as_u16()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn the_example_shop_fills_an_order_from_a_passport_and_erases_it_on_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let merchant = dir.path().join("merchant");
    let ada = dir.path().join("ada");
    ok(&merchant, &["init", "--no-passphrase"]);
    let ada_id = json(&ada, &["init", "--no-passphrase"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&ada, &["set", "name.given", "Ada"]);
    ok(&ada, &["set", "name.family", "Lovelace"]);
    ok(&ada, &["set", "address.home", ADDRESS]);
    ok(&ada, &["set", "phone.mobile", "+33 6 12 34 56 78"]);

    // The shop's socket first: the merchant node's config.toml names its URL.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let shop_addr = listener.local_addr().unwrap();
    let secret = new_secret();
    std::fs::write(
        merchant.join("config.toml"),
        format!(
            "[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\n\n\
             [merchant]\nname = \"Example Shop\"\nconfirm_erasure = true\n\n\
             [[webhook]]\nurl = \"http://{shop_addr}/webhooks/passport\"\nsecret = \"{secret}\"\n"
        ),
    )
    .unwrap();
    let merchant_node = Daemon::start(&merchant, None);
    let ada_node = Daemon::start(&ada, Some(&merchant_node.address()));

    // The shop, beside its node: the node's API address, and a merchant-scoped
    // token made for it (it can ask and read grants, not act as the person).
    let api = std::fs::read_to_string(merchant.join("api.addr")).unwrap();
    let token = ok(
        &merchant,
        &["token", "create", "--scope", "merchant", "--name", "shop"],
    )
    .trim()
    .to_string();
    assert!(token.starts_with("ppt_"), "{token}");
    let mut config = Config::new(
        format!("http://{}", api.trim()),
        Token::new(&token).unwrap(),
        WebhookSecret::parse(&secret).unwrap(),
        dir.path().join("shop-data"),
    );
    // Webhooks only: no asking the node about waiting orders, so a filled order
    // proves the webhook arrived.
    config.reconcile = None;
    let shop = rt.block_on(Shop::start(listener, config)).unwrap();
    let client = Client {
        rt,
        shop: shop_addr,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    assert!(client.get("/").contains("Fill from Passport"));

    // Checkout with the id as a QR scan gives it. Ada's record may take a moment to
    // reach the DHT: until then the order fails and the person tries again.
    let order = eventually("the shop's request reaches Ada", || {
        let order = client.checkout(&format!("{ada_id}\n"));
        let status = client.status(&order);
        match status["state"].as_str().unwrap() {
            "waiting" => Some(order),
            "failed" => None,
            other => panic!("unexpected state {other}: {status:#}"),
        }
    });
    assert!(
        client
            .get(&order)
            .contains("Waiting for you to approve on your node")
    );
    let number = client.status(&order)["number"].as_u64().unwrap();

    // Ada sees the shop's request and approves it with the real binary.
    let inbox = json(&ada, &["inbox"]);
    let item = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["purpose"] == format!("delivery of order {number}").as_str())
        .unwrap_or_else(|| panic!("no request for order {number}: {inbox:#}"));
    assert_eq!(item["merchant_name"], "Example Shop");
    let asked: Vec<&str> = item["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(asked, ["name.given", "name.family", "address.home"]);
    assert_eq!(item["duration_secs"], 30 * 86_400);
    ok(&ada, &["approve", item["request_id"].as_str().unwrap()]);

    // The node's grant.received webhook: the shop reads the values, fills the order.
    let filled = eventually("the webhook fills the order", || {
        let status = client.status(&order);
        (status["state"] == "filled").then_some(status)
    });
    assert_eq!(filled["delivery"]["name.given"], "Ada");
    assert_eq!(filled["delivery"]["name.family"], "Lovelace");
    assert_eq!(filled["delivery"]["address.home"], ADDRESS);
    assert!(filled["delivery"].get("phone.mobile").is_none());
    let history = filled["history"].to_string();
    assert!(history.contains("grant.received (evt_"), "{history}");
    assert!(client.get(&order).contains(ADDRESS));
    let grant = filled["grant"]["grant_id"].as_str().unwrap().to_string();
    assert!(filled["grant"]["expires_at"].is_string());

    // A forged webhook is refused and changes nothing: a revocation signed with
    // another secret, and one signed right but five minutes old.
    let revoke = json!({
        "type": "grant.revoked",
        "timestamp": "2026-01-01T00:00:00Z",
        "data": {"grant_ids": [grant], "person": ada_id, "confirm_erasure": true},
    });
    assert_eq!(
        client.webhook("evt_forged", now(), &revoke, &new_secret()),
        401
    );
    assert_eq!(
        client.webhook("evt_forged", now() - 301, &revoke, &secret),
        400
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(client.status(&order)["state"], "filled");

    // Ada revokes: the shop deletes the order's personal data and confirms it to
    // its node, which then sends Ada a receipt saying the backend confirmed.
    ok(&ada, &["revoke", &grant]);
    let erased = eventually("the shop erases and confirms", || {
        let status = client.status(&order);
        (status["erasure"]["confirmation"] == "confirmed").then_some(status)
    });
    assert_eq!(erased["state"], "erased");
    assert!(erased["delivery"].is_null(), "{erased:#}");
    assert!(erased["person"].is_null(), "{erased:#}");
    let history = erased["history"].to_string();
    assert!(history.contains("grant.revoked (evt_"), "{history}");
    let file = std::fs::read_to_string(dir.path().join("shop-data/orders.json")).unwrap();
    assert!(!file.contains("Lilas") && !file.contains(&ada_id), "{file}");
    assert!(
        client
            .get(&order)
            .contains("Your personal data for this order was deleted")
    );
    let receipt = eventually("the receipt reaches Ada", || {
        let audit = json(&ada, &["audit"]);
        audit
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"]["event"] == "receipt_received")
            .cloned()
    });
    assert_eq!(receipt["event"]["backend_confirmed"], true, "{receipt:#}");
    assert_eq!(receipt["event"]["grants"], json!([grant]));
    // The receipt is the merchant's signed message.
    let file = dir.path().join("receipt.cose");
    let message_id = receipt["message_id"].as_str().unwrap();
    ok(
        &ada,
        &["message", "export", message_id, file.to_str().unwrap()],
    );
    let report = json(dir.path(), &["message", "verify", file.to_str().unwrap()]);
    assert_eq!(report["valid"], true);
    assert_eq!(report["kind"], "deletion_receipt");
    assert_eq!(report["signer"], json(&merchant, &["id"])["id"]);

    let Client { rt, .. } = client;
    rt.block_on(shop.stop()).unwrap();
    ada_node.stop();
    merchant_node.stop();
}
