//! Linked devices with the real binary: a home node, a device and a shop, each its
//! own process. The device pairs with a one-time code over libp2p, sees the inbox,
//! approves the shop's request, and the shop gets a grant signed by the person's
//! id; removed, the device's next approval is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Daemon, eventually, fails, json, ok, run};
use serde_json::Value;

#[test]
fn a_paired_device_approves_for_the_person_until_it_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, ada, phone) = (
        dir.path().join("shop"),
        dir.path().join("ada"),
        dir.path().join("phone"),
    );
    ok(&shop, &["init", "--no-passphrase"]);
    let ada_id = json(&ada, &["init", "--no-passphrase"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&ada, &["set", "name.given", "Ada"]);
    common::listen_on_loopback(&shop);
    let shop_node = Daemon::start(&shop, None);
    let shop_address = shop_node.address();
    let _ada_node = Daemon::start(&ada, Some(&shop_address));

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
    let request = |wait: &str| {
        let args = [
            "--json",
            "request",
            &ada_id,
            "--fields",
            "name.given",
            "--purpose",
            "delivery",
            "--for",
            "30d",
            "--wait",
            wait,
        ];
        eventually("the request reaches Ada", || {
            let output = run(&shop, &args);
            (output.status.code() == Some(0))
                .then(|| serde_json::from_slice::<Value>(&output.stdout).unwrap())
        })
    };
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

    // Removed from the home node: the phone's next approval is refused at once.
    ok(&ada, &["device", "remove", &device_id]);
    let second = request("0s");
    let error = fails(
        &phone,
        &["approve", second["request_id"].as_str().unwrap()],
        2,
    );
    assert!(error.contains("not paired"), "{error}");
    assert_eq!(
        json(&ada, &["inbox"])[0]["request_id"],
        second["request_id"]
    );
    drop(shop_node);
}
