//! Issuer → person → merchant with the real binary, three daemons: a bank gets
//! Ada's address, attests it; a shop asks for the address attested by the bank
//! and sees it so; the shop delivers a receipt, which Ada lists, exports and
//! deletes; Ada asks the shop what it holds about her.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Daemon, eventually, fails, json, ok};
use serde_json::Value;

/// `merchant` asks Ada for her address (with `extra` arguments), Ada approves,
/// and the grant's id is returned once it reached the merchant.
fn ask_and_approve(
    merchant: &std::path::Path,
    ada: &std::path::Path,
    ada_id: &str,
    extra: &[&str],
) -> String {
    let mut args = vec![
        "--json",
        "request",
        ada_id,
        "--fields",
        "address.home",
        "--purpose",
        "delivery",
        "--for",
        "30d",
    ];
    args.extend_from_slice(extra);
    let before = json(merchant, &["received"]).as_array().unwrap().len();
    let pending: Value = eventually("the request reaches Ada", || {
        let output = common::run(merchant, &args);
        (output.status.code() == Some(0)).then(|| serde_json::from_slice(&output.stdout).unwrap())
    });
    let request_id = pending["request_id"].as_str().unwrap();
    ok(ada, &["approve", request_id]);
    eventually("the grant reaches the merchant", || {
        let received = json(merchant, &["received"]);
        let all = received.as_array().unwrap();
        (all.len() > before).then(|| all[0]["grant_id"].as_str().unwrap().to_string())
    })
}

#[test]
fn a_bank_attests_a_shop_verifies_and_a_receipt_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let common::ShopAndAda {
        shop,
        ada,
        ada_id,
        shop_address,
        shop_node: _shop_node,
        ada_node: _ada_node,
    } = common::shop_and_ada(dir.path());
    ok(&ada, &["set", "address.home", "12 Rue des Lilas, Lyon"]);
    let bank = dir.path().join("bank");
    let bank_id = json(&bank, &["init", "--no-passphrase"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    common::listen_on_loopback(&bank);
    let _bank_node = Daemon::start(&bank, Some(&shop_address));

    // Nothing granted yet: the bank cannot vouch for Ada's address.
    let refused = fails(&bank, &["attest", &ada_id, "--field", "address.home"], 2);
    assert!(refused.contains("no live grant"), "{refused}");
    // Ada grants it to the bank, which vouches for it.
    ask_and_approve(&bank, &ada, &ada_id, &[]);
    let attested = json(
        &bank,
        &["attest", &ada_id, "--field", "address.home", "--for", "90d"],
    );
    assert_eq!(attested["delivered_to"], ada_id.as_str());
    let fields = json(&ada, &["fields"]);
    let address = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "address.home")
        .unwrap();
    assert_eq!(address["attestations"][0]["issuer"], bank_id.as_str());
    assert!(ok(&ada, &["fields"]).contains(&format!("attested by {bank_id}")));

    // The shop asks for the address attested by the bank and gets it so.
    let wrong = fails(
        &shop,
        &[
            "request",
            &ada_id,
            "--fields",
            "address.home",
            "--purpose",
            "x",
            "--for",
            "1d",
            "--attested-by",
            "address.home",
        ],
        2,
    );
    assert!(wrong.contains("is not FIELD=ID"), "{wrong}");
    // "Any issuer I trust" needs a trust list.
    let untrusting = fails(
        &shop,
        &[
            "request",
            &ada_id,
            "--fields",
            "address.home",
            "--purpose",
            "x",
            "--for",
            "1d",
            "--attested",
            "address.home",
        ],
        2,
    );
    assert!(untrusting.contains("trusts no issuer"), "{untrusting}");
    let grant = ask_and_approve(
        &shop,
        &ada,
        &ada_id,
        &["--attested-by", &format!("address.home={bank_id}")],
    );
    let received = json(&shop, &["received"]);
    assert_eq!(
        received[0]["attested"]["address.home"]["issuer"],
        bank_id.as_str()
    );
    let shown = ok(&shop, &["show", &grant]);
    assert!(
        shown.contains(&format!("(attested by {bank_id}")),
        "{shown}"
    );

    // The shop sends a receipt; Ada lists, exports and deletes it.
    let bad_type = fails(
        &shop,
        &[
            "deliver", &ada_id, "--type", "gift", "--title", "x", "--item", "a=b",
        ],
        2,
    );
    assert!(bad_type.contains("unknown data type"), "{bad_type}");
    ok(
        &shop,
        &[
            "deliver",
            &ada_id,
            "--type",
            "receipt",
            "--title",
            "Order 1042",
            "--item",
            "total=59.90 EUR",
        ],
    );
    let kept = json(&ada, &["delivered", "list"]);
    assert_eq!(kept[0]["title"], "Order 1042");
    assert_eq!(kept[0]["items"]["total"], "59.90 EUR");
    let export = dir.path().join("delivered.json");
    ok(&ada, &["delivered", "export", export.to_str().unwrap()]);
    let exported: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(exported, kept);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&export).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = fails(&ada, &["delivered", "export", export.to_str().unwrap()], 2);
    assert!(again.contains("must not exist"), "{again}");
    let id = kept[0]["id"].as_str().unwrap();
    ok(&ada, &["delivered", "delete", id]);
    assert!(ok(&ada, &["delivered", "list"]).contains("Nothing delivered yet."));
    // What does the shop hold about Ada? One grant, live, and it says so signed.
    let shop_id = json(&shop, &["id"])["id"].as_str().unwrap().to_string();
    let access = json(&ada, &["access", &shop_id]);
    assert_eq!(access["statement"]["merchant"], shop_id.as_str());
    let grants = access["statement"]["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["grant_id"], grant.as_str());
    assert_eq!(grants[0]["state"], "live");
    let last = ok(&ada, &["access", &shop_id, "--last"]);
    assert!(last.contains("holds 1 grant from you"), "{last}");
    // Every step is in Ada's audit log.
    let audit = ok(&ada, &["audit"]);
    for expected in [
        "attestation received",
        "data received",
        "data deleted",
        "access statement received",
    ] {
        assert!(audit.contains(expected), "{expected} missing:\n{audit}");
    }
}
