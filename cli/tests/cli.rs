//! The real `passport` binary, run as a person, a merchant and an auditor would:
//! local commands on a stopped node, two daemons over loopback driven only through
//! the command line, and the error paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{process::Stdio, time::Duration};

use common::*;
use serde_json::Value;

#[test]
fn a_person_manages_fields_and_policies_without_a_running_node() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("ada");
    let created = json(&home, &["init", "--no-passphrase"]);
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("did:key:z6Mk"));
    // The key file and the API token are private.
    #[cfg(unix)]
    for file in ["key", "api.token"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(home.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    assert!(home.join("config.toml").exists());
    fails(&home, &["init", "--no-passphrase"], 2);

    assert_eq!(ok(&home, &["id"]).trim(), id);
    assert!(ok(&home, &["id", "--qr"]).contains('█'));

    ok(&home, &["set", "name.given", "Ada"]);
    ok(&home, &["set", "birth.date", "--date", "1815-12-10"]);
    ok(
        &home,
        &[
            "set",
            "address.home",
            "--part",
            "street=12 Rue des Lilas",
            "--part",
            "city=Lyon",
        ],
    );
    assert_eq!(ok(&home, &["get", "name.given"]).trim(), "Ada");
    assert_eq!(
        ok(&home, &["get", "address.home"]).trim(),
        "city=Lyon, street=12 Rue des Lilas"
    );
    let field = json(&home, &["get", "birth.date"]);
    assert_eq!(
        keys(&field),
        [
            "attestations",
            "name",
            "sensitivity",
            "tags",
            "updated_at",
            "value"
        ]
    );
    assert_eq!(field["value"]["date"], "1815-12-10");
    ok(
        &home,
        &[
            "tag",
            "name.given",
            "identity",
            "--sensitivity",
            "sensitive",
        ],
    );
    let fields = json(&home, &["fields"]);
    assert_eq!(fields.as_array().unwrap().len(), 3);
    let given = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "name.given")
        .unwrap();
    assert_eq!(given["tags"][0], "identity");
    assert_eq!(given["sensitivity"], "sensitive");
    ok(&home, &["unset", "birth.date"]);
    assert_eq!(json(&home, &["fields"]).as_array().unwrap().len(), 2);

    // Errors say what is wrong.
    assert!(fails(&home, &["get", "birth.date"], 2).contains("birth.date"));
    assert!(fails(&home, &["set", "Not A Field", "x"], 2).contains("field name"));
    assert!(fails(&home, &["erase", "did:key:nonsense"], 2).contains("merchant id"));
    assert!(fails(&home, &["revoke", "zz"], 2).contains("grant id"));
    assert!(fails(&home, &["approve", "x", "--for", "3 fortnights"], 2).contains("30d"));
    assert!(
        fails(&home, &["tag", "name.given", "--sensitivity", "secret"], 2).contains("sensitive")
    );

    // Policies.
    let added = json(
        &home,
        &[
            "policy",
            "add",
            "--allow",
            "--any-normal",
            "--purpose",
            "delivery",
            "--max-for",
            "30d",
        ],
    );
    assert_eq!(added["effect"], "allow");
    assert_eq!(added["max_duration_secs"], 30 * 86_400);
    let listed = ok(&home, &["policy", "list"]);
    assert!(listed.contains("allow every normal field"), "{listed}");
    assert!(fails(&home, &["policy", "add", "--deny"], 2).contains("--fields"));
    let policy_id = added["id"].to_string();
    ok(&home, &["policy", "remove", &policy_id]);
    assert!(
        json(&home, &["policy", "list"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(fails(&home, &["policy", "remove", &policy_id], 2).contains(&policy_id));

    // The audit log, and its check.
    let audit = json(&home, &["audit"]);
    assert!(!audit.as_array().unwrap().is_empty());
    assert_eq!(
        keys(&audit[0]),
        ["at", "event", "has_message", "message_id", "seq"]
    );
    let verified = json(&home, &["audit", "--verify"]);
    assert_eq!(verified["intact"], true);

    // A network command without a node says how to start one.
    let error = fails(&home, &["status"], 2);
    assert!(error.contains("passport node"), "{error}");
    let error = fails(
        &home,
        &[
            "request",
            &id,
            "--fields",
            "name.given",
            "--purpose",
            "x",
            "--for",
            "1d",
        ],
        2,
    );
    assert!(error.contains("passport node"), "{error}");

    // And without a passport at all.
    let error = fails(&dir.path().join("nobody"), &["fields"], 2);
    assert!(error.contains("passport init"), "{error}");
}

#[test]
fn the_passphrase_comes_from_a_file_or_the_environment_and_a_wrong_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("ada");
    let secret = "correct horse battery staple";
    let file = dir.path().join("passphrase");
    std::fs::write(&file, format!("{secret}\n")).unwrap();

    let output = passport(&home)
        .args(["init", "--passphrase-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!home.join("key").exists());

    // No terminal, no passphrase: a clear error, not a hang.
    let error = fails(&home, &["fields"], 2);
    assert!(error.contains("PASSPORT_PASSPHRASE"), "{error}");

    let output = passport(&home)
        .args(["set", "name.given", "Ada"])
        .env("PASSPORT_PASSPHRASE", secret)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let output = passport(&home)
        .args(["get", "name.given"])
        .env("PASSPORT_PASSPHRASE", "wrong horse")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("wrong passphrase"));

    let output = passport(&home)
        .args(["get", "name.given", "-vvv", "--passphrase-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(stdout(&output).trim(), "Ada");
    // Never echoed, never logged, even at trace level.
    assert!(!stdout(&output).contains(secret) && !stderr(&output).contains(secret));
    // Nor stored in clear: the value and the passphrase appear nowhere on disk.
    for entry in walk(&home) {
        let bytes = std::fs::read(&entry).unwrap();
        for needle in [secret.as_bytes(), b"Ada".as_slice()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds {:?} in clear",
                entry.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
}

#[test]
fn two_daemons_from_init_to_revoke_through_the_command_line_only() {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    let ada = dir.path().join("ada");
    ok(&shop, &["init", "--no-passphrase"]);
    let ada_id = json(&ada, &["init", "--no-passphrase"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&ada, &["set", "name.given", "Ada"]);
    ok(&ada, &["set", "address.home", "12 Rue des Lilas, Lyon"]);
    ok(&ada, &["set", "phone.mobile", "+33 6 12 34 56 78"]);

    // The shop's node takes its network settings from config.toml; Ada's from flags.
    common::listen_on_loopback(&shop);
    let shop_node = Daemon::start(&shop, None);
    let shop_address = shop_node.address();
    assert!(
        shop_address.starts_with("/ip4/127.0.0.1/tcp/"),
        "{shop_address}"
    );
    let ada_node = Daemon::start(&ada, Some(&shop_address));
    let shop_id = json(&shop, &["id"])["id"].as_str().unwrap().to_string();

    // Status and peers through the running node's API.
    let status = json(&ada, &["status"]);
    assert_eq!(status["id"], ada_id.as_str());
    for key in [
        "api",
        "connected_peers",
        "listen_addrs",
        "peer_id",
        "reachability",
    ] {
        assert!(status.get(key).is_some(), "status lacks {key}: {status}");
    }
    assert!(
        status["api"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let peers = eventually("ada sees the shop", || {
        let peers = json(&ada, &["peers"]);
        (!peers.as_array().unwrap().is_empty()).then_some(peers)
    });
    assert_eq!(keys(&peers[0]), ["addrs", "peer_id"]);
    // Local commands go through the running node too (its store is locked).
    assert_eq!(ok(&ada, &["get", "name.given"]).trim(), "Ada");

    // An unknown id: a clear "not found".
    let stranger = json(&dir.path().join("stranger"), &["init", "--no-passphrase"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let error = fails(
        &shop,
        &[
            "request",
            &stranger,
            "--fields",
            "name.given",
            "--purpose",
            "delivery",
            "--for",
            "1d",
        ],
        2,
    );
    assert!(error.contains("no node found"), "{error}");

    // The shop asks; Ada decides. Her record may take a moment to reach the DHT.
    let request = |fields: &str, wait: &str| {
        let args = [
            "--json",
            "request",
            &ada_id,
            "--fields",
            fields,
            "--purpose",
            "delivery",
            "--for",
            "30d",
            "--offer",
            "free shipping",
            "--name",
            "Brand X",
            "--wait",
            wait,
        ];
        eventually("the request reaches Ada", || {
            let output = run(&shop, &args);
            (output.status.code() == Some(0))
                .then(|| serde_json::from_slice::<Value>(&output.stdout).unwrap())
        })
    };
    let pending = request("name.given,address.home,phone.mobile", "0s");
    assert_eq!(pending["result"]["status"], "pending");
    let inbox = json(&ada, &["inbox"]);
    let item = &inbox[0];
    assert!(item["sentence"].as_str().unwrap().contains("Brand X"));
    assert!(ok(&ada, &["inbox"]).contains("offering free shipping"));
    let request_id = item["request_id"].as_str().unwrap();
    assert_eq!(request_id, pending["request_id"]);
    // Two of the three fields, for a week.
    ok(
        &ada,
        &[
            "approve",
            request_id,
            "--only",
            "name.given,address.home",
            "--for",
            "7d",
        ],
    );

    let grant = eventually("the grant reaches the shop", || {
        let received = json(&shop, &["received"]);
        received[0]["grant_id"].as_str().map(str::to_string)
    });
    let values = json(&shop, &["show", &grant]);
    assert_eq!(values["name.given"]["text"], "Ada");
    assert!(values.get("phone.mobile").is_none());
    let fetched = json(&shop, &["fetch", &grant]);
    assert_eq!(fetched["address.home"]["text"], "12 Rue des Lilas, Lyon");
    let grants = json(&ada, &["grants"]);
    assert_eq!(grants[0]["grant_id"], grant.as_str());
    assert_eq!(grants[0]["live"], true);

    // The auditor exports Ada's grant and verifies it offline; a tampered copy fails.
    let audit = json(&ada, &["audit"]);
    let issued = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["event"] == "grant_issued")
        .unwrap();
    let message_id = issued["message_id"].as_str().unwrap();
    let file = dir.path().join("grant.cose");
    ok(
        &ada,
        &["message", "export", message_id, file.to_str().unwrap()],
    );
    let report = json(
        &dir.path().join("auditor"),
        &["message", "verify", file.to_str().unwrap()],
    );
    assert_eq!(report["valid"], true);
    assert_eq!(report["kind"], "decision");
    assert_eq!(report["signer"], ada_id.as_str());
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x01;
    let tampered = dir.path().join("tampered.cose");
    std::fs::write(&tampered, bytes).unwrap();
    let error = fails(
        dir.path(),
        &["message", "verify", tampered.to_str().unwrap()],
        1,
    );
    assert!(error.contains("invalid"), "{error}");

    // The shop follows its requests, and exports the same signed grant as proof of
    // consent, by the grant's id.
    let requests = json(&shop, &["requests", "--state", "granted"]);
    assert_eq!(requests[0]["grant_id"], grant.as_str());
    assert_eq!(requests[0]["state"], "granted");
    let one = json(
        &shop,
        &["requests", requests[0]["request_id"].as_str().unwrap()],
    );
    assert_eq!(one["grant_id"], grant.as_str());
    assert!(
        fails(&shop, &["requests", "--state", "lost"], 2).contains("unknown request state"),
        "a state that does not exist is named as such"
    );
    let proof = dir.path().join("proof.cose");
    ok(
        &shop,
        &["message", "export", &grant, proof.to_str().unwrap()],
    );
    assert_eq!(
        std::fs::read(&proof).unwrap(),
        std::fs::read(&file).unwrap()
    );
    let report = json(
        &dir.path().join("auditor"),
        &["message", "verify", proof.to_str().unwrap()],
    );
    assert_eq!(report["body"]["grant_id"], grant.as_str());
    assert_eq!(report["body"]["fields"][0], "name.given");

    // Revoke, naming the grant by its decision's id: the shop erases and sends a
    // receipt; its copy can no longer be opened.
    ok(&ada, &["revoke", message_id]);
    eventually("the receipt reaches Ada", || {
        let grants = json(&ada, &["grants"]);
        (!grants[0]["receipt"].is_null()).then_some(())
    });
    let error = fails(&shop, &["show", &grant], 1);
    assert!(error.contains("revoked"), "{error}");
    assert!(fails(&shop, &["fetch", &grant], 1).contains("revoked"));
    assert!(ok(&ada, &["grants"]).contains("erasure receipt received"));

    // Erase everything: the shop's node answers with a second receipt.
    ok(&ada, &["erase", &shop_id]);
    eventually("the erasure receipt reaches Ada", || {
        let audit = json(&ada, &["audit"]);
        let receipts = audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["event"] == "receipt_received")
            .count();
        (receipts == 2).then_some(())
    });

    // A grant that expired: approved for one second.
    let pending = request("name.given", "0s");
    let request_id = pending["request_id"].as_str().unwrap().to_string();
    ok(&ada, &["approve", &request_id, "--for", "1s"]);
    let short = eventually("the short grant arrives", || {
        let received = json(&shop, &["received"]);
        received
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["grant_id"] != grant.as_str())
            .and_then(|g| g["grant_id"].as_str().map(str::to_string))
    });
    std::thread::sleep(Duration::from_secs(2));
    let error = fails(&shop, &["show", &short], 1);
    assert!(error.contains("expired"), "{error}");

    // A merchant waiting for the answer while the person refuses: exit 1, with the
    // person's reason.
    let waiting = passport(&shop)
        .args([
            "request",
            &ada_id,
            "--fields",
            "name.given",
            "--purpose",
            "survey",
            "--for",
            "1d",
            "--wait",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let request_id = eventually("the survey request reaches Ada", || {
        let inbox = json(&ada, &["inbox"]);
        inbox
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["purpose"] == "survey")
            .and_then(|i| i["request_id"].as_str().map(str::to_string))
    });
    ok(&ada, &["deny", &request_id, "--reason", "not today"]);
    let output = waiting.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("not today"), "{}", stderr(&output));

    // A refusal by a standing policy is a negative answer too.
    ok(
        &ada,
        &["policy", "add", "--deny", "--fields", "phone.mobile"],
    );
    let output = run(
        &shop,
        &[
            "request",
            &ada_id,
            "--fields",
            "phone.mobile",
            "--purpose",
            "marketing",
            "--for",
            "1d",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("refused"));

    let verified = json(&ada, &["audit", "--verify"]);
    assert_eq!(verified["intact"], true);
    ada_node.stop();
    shop_node.stop();
    // Stopped: local commands open the store again.
    assert_eq!(ok(&ada, &["get", "name.given"]).trim(), "Ada");
}

#[test]
fn the_demo_walks_through_every_step_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["demo"]);
    for step in [
        "finds Ada's node in the DHT",
        "La Poste checks Ada's address and vouches for it",
        "(attested by La Poste, checked by Brand X's node)",
        "The policy answers at once",
        "Ada must decide",
        "fetches the current values",
        "pushes the new address",
        "(no longer attested: La Poste vouched for the old value)",
        "what do you hold about me?",
        "deletion receipt",
        "Hash chain verified",
        "Every step succeeded.",
    ] {
        assert!(out.contains(step), "missing {step:?} in:\n{out}");
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        assert!(ok(dir.path(), &["completions", shell]).contains("passport"));
    }
}

#[test]
fn a_stale_api_address_taken_by_another_program_never_gets_the_token() {
    use std::io::{Read as _, Write as _};

    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("ada");
    ok(&home, &["init", "--no-passphrase"]);
    ok(&home, &["set", "name.given", "Ada"]);
    let token = std::fs::read_to_string(home.join("api.token")).unwrap();
    // A node was killed; another program now listens where it did, and answers
    // anything with a made-up proof.
    let impostor = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std::fs::write(
        home.join("api.addr"),
        impostor.local_addr().unwrap().to_string(),
    )
    .unwrap();
    let seen = std::thread::spawn(move || {
        let mut seen = String::new();
        impostor.set_nonblocking(false).unwrap();
        for stream in impostor.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 8192];
            let n = stream.read(&mut request).unwrap();
            seen.push_str(&String::from_utf8_lossy(&request[..n]));
            let body = r#"{"proof":"0000"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        seen
    });
    // The command works on the store itself instead.
    assert_eq!(ok(&home, &["get", "name.given"]).trim(), "Ada");
    let seen = seen.join().unwrap();
    assert!(seen.starts_with("GET /v1/hello?nonce="), "{seen}");
    assert!(!seen.to_lowercase().contains("authorization"), "{seen}");
    assert!(!seen.contains(token.trim()), "{seen}");
}

#[test]
fn a_merchant_manages_webhooks_from_the_command_line() {
    use std::io::{BufRead as _, BufReader, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    ok(&shop, &["init", "--no-passphrase"]);

    // A backend on loopback that takes one delivery and answers 204.
    let backend = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", backend.local_addr().unwrap());
    let seen = std::thread::spawn(move || {
        let (stream, _) = backend.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            head.push(line.trim().to_lowercase());
        }
        (&stream)
            .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
            .unwrap();
        head
    });

    let added = json(
        &shop,
        &[
            "webhook",
            "add",
            &url,
            "--events",
            "grant.received,grant.revoked",
        ],
    );
    let id = added["webhook"]["id"].as_str().unwrap().to_string();
    assert!(added["secret"].as_str().unwrap().starts_with("whsec_"));
    let listed = json(&shop, &["webhook", "list"]);
    assert_eq!(listed[0]["url"], url.as_str());
    assert_eq!(listed[0]["events"][1], "grant.revoked");
    assert!(
        listed[0].get("secret").is_none(),
        "the list never shows a secret"
    );

    let tested = json(&shop, &["webhook", "test", &id]);
    assert_eq!(tested["outcome"], "delivered");
    assert_eq!(tested["status"], 204);
    let head = seen.join().unwrap();
    for header in [
        "webhook-id: evt_",
        "webhook-timestamp: ",
        "webhook-signature: v1,",
    ] {
        assert!(
            head.iter().any(|h| h.starts_with(header)),
            "{header}: {head:?}"
        );
    }
    let log = json(&shop, &["webhook", "log"]);
    assert_eq!(log[0]["event_type"], "webhook.test");

    // Bad input is refused with what to do; nothing is added.
    let error = fails(&shop, &["webhook", "add", "ftp://shop.example/hooks"], 2);
    assert!(error.contains("use an http:// or https:// URL"), "{error}");
    let error = fails(&shop, &["webhook", "add", &url], 2);
    assert!(error.contains("already posts to"), "{error}");
    let error = fails(
        &shop,
        &[
            "webhook",
            "add",
            "http://127.0.0.1:9/x",
            "--events",
            "grant.lost",
        ],
        2,
    );
    assert!(error.contains("unknown webhook event"), "{error}");
    let error = fails(&shop, &["webhook", "remove", "wh_nothere"], 2);
    assert!(error.contains("no webhook wh_nothere"), "{error}");

    ok(&shop, &["webhook", "remove", &id]);
    assert!(ok(&shop, &["webhook", "list"]).contains("No webhooks."));
}

#[test]
fn scoped_tokens_are_made_listed_and_revoked_and_a_merchant_token_stays_in_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("shop");
    ok(&home, &["init", "--no-passphrase"]);
    ok(&home, &["set", "name.given", "Ada"]);

    // No node runs: the commands work on the store.
    let output = run(
        &home,
        &["token", "create", "--scope", "merchant", "--name", "shop"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let merchant = stdout(&output).trim().to_string();
    assert!(
        merchant.starts_with("ppt_") && merchant.len() == 77,
        "{merchant}"
    );
    assert!(
        stderr(&output).contains("shown only this once"),
        "{}",
        stderr(&output)
    );
    let merchant_id = merchant[4..12].to_string();
    let read = json(&home, &["token", "create", "--scope", "read"]);
    assert_eq!(keys(&read), ["created_at", "id", "name", "scope", "token"]);
    assert_eq!(read["scope"], "read");
    let read_id = read["id"].as_str().unwrap().to_string();
    let read = read["token"].as_str().unwrap().to_string();

    let listed = ok(&home, &["token", "list"]);
    assert!(
        listed.contains(&format!("{merchant_id}  merchant")),
        "{listed}"
    );
    assert!(
        listed.contains("(\"shop\")") && listed.contains(&read_id),
        "{listed}"
    );
    assert!(!listed.contains(&merchant[13..]) && !listed.contains(&read[13..]));
    let listed = json(&home, &["token", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(keys(&listed[0]), ["created_at", "id", "name", "scope"]);
    assert!(fails(&home, &["token", "create", "--scope", "full"], 2).contains("possible values"));
    assert!(fails(&home, &["token", "revoke", "deadbeef"], 2).contains("no API token deadbeef"));
    // The tokens are nowhere on disk in clear.
    for entry in walk(&home) {
        let bytes = std::fs::read(&entry).unwrap();
        for token in [&merchant, &read] {
            let secret = &token.as_bytes()[13..];
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} holds a token",
                entry.display()
            );
        }
    }

    // A node runs: the full token (api.token) still manages the tokens.
    common::listen_on_loopback(&home);
    let node = Daemon::start(&home, None);
    assert!(ok(&home, &["token", "revoke", &read_id]).contains("Revoked token"));
    assert_eq!(json(&home, &["token", "list"]).as_array().unwrap().len(), 1);

    // With PASSPORT_TOKEN, a command uses that token: the merchant's reach only
    // the merchant's routes, and the refusal names both scopes.
    let with = |token: &str, home: &std::path::Path, args: &[&str]| {
        passport(home)
            .env("PASSPORT_TOKEN", token)
            .args(args)
            .output()
            .unwrap()
    };
    let received = with(&merchant, &home, &["received"]);
    assert_eq!(received.status.code(), Some(0), "{}", stderr(&received));
    assert!(stdout(&received).contains("No grants received"));
    assert_eq!(with(&merchant, &home, &["status"]).status.code(), Some(0));
    for args in [
        &["get", "name.given"][..],
        &["grants"],
        &["revoke", &"00".repeat(16)],
        &["token", "list"],
    ] {
        let refused = with(&merchant, &home, args);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&refused).contains("this token's scope is merchant"),
            "{args:?}: {}",
            stderr(&refused)
        );
    }
    // A shop backend without the home finds the node by PASSPORT_API.
    let api = std::fs::read_to_string(home.join("api.addr")).unwrap();
    let elsewhere = passport(&dir.path().join("no-passport-here"))
        .env("PASSPORT_TOKEN", &merchant)
        .env("PASSPORT_API", api.trim())
        .args(["--json", "received"])
        .output()
        .unwrap();
    assert_eq!(elsewhere.status.code(), Some(0), "{}", stderr(&elsewhere));
    assert_eq!(stdout(&elsewhere).trim(), "[]");
    // A revoked token is not even sent: the node cannot prove it knows it.
    let revoked = with(&read, &home, &["grants"]);
    assert_eq!(revoked.status.code(), Some(2));
    assert!(
        stderr(&revoked).contains("does not know the token"),
        "{}",
        stderr(&revoked)
    );

    // Once the node stops, a token from the environment has nothing to call.
    node.stop();
    let stopped = with(&merchant, &home, &["received"]);
    assert_eq!(stopped.status.code(), Some(2));
    assert!(
        stderr(&stopped).contains("none runs"),
        "{}",
        stderr(&stopped)
    );
}
