//! Linked devices with the real binary: a home node, a device and a shop, each its
//! own process. The device pairs with a one-time code over libp2p, sees the inbox,
//! approves the shop's request, and the shop gets a grant signed by the person's
//! id; removed, the device's next approval is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{eventually, fails, json, ok};
use serde_json::Value;

/// Opens the device's page at `url` (its key sets the cookie), finds request `id`
/// in its inbox, and approves it with the page's own form; also checks that the
/// page needs its key and a loopback Host.
fn approve_on_the_page(url: &str, id: &str) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = url.split("/?").next().unwrap().to_string();
        let first = http.get(url).send().await.unwrap();
        assert!(first.status().is_redirection(), "{}", first.status());
        let cookie = first.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        // Live: the page's event stream says "change" (the home node's store has
        // changed since count 0).
        let mut live = http
            .get(format!("{base}/events?since=0"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(30), live.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&chunk).contains("event: change"),
            "{chunk:?}"
        );
        drop(live);
        let without = http.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(without.status(), 401);
        let elsewhere = http
            .get(format!("{base}/"))
            .header("cookie", &cookie)
            .header("host", "evil.example:80")
            .send()
            .await
            .unwrap();
        assert_eq!(elsewhere.status(), 421);
        let inbox = common::eventually_async(|| async {
            let html = http
                .get(format!("{base}/"))
                .header("cookie", &cookie)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            html.contains(id).then_some(html)
        })
        .await;
        let csrf = inbox
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string();
        let decided = http
            .post(format!("{base}/inbox/{id}/decide"))
            .header("cookie", &cookie)
            .header("origin", &base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "csrf={csrf}&field=name.given&duration=86400&action=once"
            ))
            .send()
            .await
            .unwrap();
        assert!(decided.status().is_redirection(), "{}", decided.status());
    });
}

#[test]
fn a_paired_device_approves_for_the_person_until_it_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let common::ShopAndAda {
        shop,
        ada,
        ada_id,
        shop_node,
        ada_node: _ada_node,
        ..
    } = common::shop_and_ada(dir.path());
    let phone = dir.path().join("phone");

    // Pairing: a one-time code from the home node, used on the device.
    let code = json(&ada, &["device", "add"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(code.starts_with("passport-pair:"), "{code}");
    let joined = json(
        &phone,
        &[
            "device",
            "join",
            &code,
            "--name",
            "phone",
            "--no-passphrase",
        ],
    );
    assert_eq!(joined["person"], ada_id.as_str());
    // The code is used up; a wrong one is refused; neither leaves a home.
    let other = dir.path().join("other");
    let error = fails(&other, &["device", "join", &code, "--no-passphrase"], 2);
    assert!(
        error.contains("pairing code is wrong, used already or expired"),
        "{error}"
    );
    assert!(!other.join("identity.cbor").exists());
    assert!(
        fails(
            &other,
            &[
                "device",
                "join",
                "passport-pair:nonsense",
                "--no-passphrase"
            ],
            2
        )
        .contains("not a pairing code")
    );
    let devices = json(&ada, &["device", "list"]);
    assert_eq!(devices.as_array().unwrap().len(), 1);
    assert_eq!(devices[0]["name"], "phone");
    let device_id = devices[0]["id"].as_str().unwrap().to_string();

    // The shop asks; the request waits in Ada's inbox, which the phone sees.
    let request = |wait: &str| common::shop_requests(&shop, &ada_id, wait);
    let pending = request("0s");
    let request_id = pending["request_id"].as_str().unwrap().to_string();
    let inbox = json(&phone, &["inbox"]);
    assert_eq!(inbox[0]["request_id"], request_id.as_str());
    // The phone reads fields and edits them too.
    ok(&phone, &["set", "name.family", "Lovelace"]);
    assert_eq!(ok(&ada, &["get", "name.family"]).trim(), "Lovelace");

    // The phone approves; the home node signs; the shop holds a grant by Ada's id.
    ok(&phone, &["approve", &request_id]);
    let grant = eventually("the grant reaches the shop", || {
        json(&shop, &["received"])[0]["grant_id"]
            .as_str()
            .map(str::to_string)
    });
    let values = json(&shop, &["show", &grant]);
    assert_eq!(values["name.given"]["text"], "Ada");
    let received = json(&shop, &["received"]);
    assert_eq!(received[0]["person"], ada_id.as_str());
    // The audit log names what the phone did.
    let audit = ok(&ada, &["audit"]);
    let approval = audit
        .lines()
        .find(|line| line.contains("device action") && line.contains("/approve"))
        .unwrap_or_else(|| panic!("{audit}"));
    assert!(approval.contains("name=phone"), "{approval}");

    // The phone's own page (on its loopback), answered by the home node: it shows
    // the next request, and its form approves it.
    let mut page = common::passport(&phone)
        .args(["--json", "node", "--api", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = {
        use std::io::BufRead as _;
        let mut reader = std::io::BufReader::new(page.stdout.take().unwrap());
        let mut text = String::new();
        loop {
            assert_ne!(reader.read_line(&mut text).unwrap(), 0, "no JSON: {text}");
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                break value["page"].as_str().unwrap().to_string();
            }
        }
    };
    let by_page = request("0s");
    let by_page_id = by_page["request_id"].as_str().unwrap().to_string();
    approve_on_the_page(&url, &by_page_id);
    eventually("the page's grant reaches the shop", || {
        (json(&shop, &["received"]).as_array().unwrap().len() == 2).then_some(())
    });
    let _ = page.kill();
    let _ = page.wait();

    // The phone is lost: the laptop, another device, removes it. Its next
    // approval is refused at once and changes nothing.
    let laptop = dir.path().join("laptop");
    let code = json(&ada, &["device", "add"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &laptop,
        &[
            "device",
            "join",
            &code,
            "--name",
            "laptop",
            "--no-passphrase",
        ],
    );
    ok(&laptop, &["device", "remove", &device_id]);
    let second = request("0s");
    let second_id = second["request_id"].as_str().unwrap();
    let error = fails(&phone, &["approve", second_id], 2);
    assert!(error.contains("not paired"), "{error}");
    assert_eq!(json(&ada, &["inbox"])[0]["request_id"], second_id);
    let audit = ok(&ada, &["audit"]);
    let removal = audit
        .lines()
        .find(|line| line.contains("device action") && line.contains("DELETE /v1/devices/"))
        .unwrap_or_else(|| panic!("{audit}"));
    assert!(removal.contains("name=laptop"), "{removal}");

    // The home node removes the laptop in turn: refused at once too.
    let laptop_id = json(&ada, &["device", "list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&ada, &["device", "remove", &laptop_id]);
    assert!(fails(&laptop, &["inbox"], 2).contains("not paired"));
    assert!(
        json(&ada, &["device", "list"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    drop(shop_node);
}
