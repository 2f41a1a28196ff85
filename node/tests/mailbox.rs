//! Mailboxes over real libp2p swarms on loopback TCP, with sled stores: a request
//! to a stopped person waits at its mailboxes and is answered when the person's
//! node comes back; a grant and a revocation to a stopped merchant, and a deletion
//! receipt back to a stopped person, take the same way. Two mailboxes hold each
//! message; it is processed once. The mailboxes' disks hold no value in clear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{path::Path, time::Duration};

use common::{dial_address, files_under, loopback, sled_node};
use libp2p::{Multiaddr, identity};
use passport_node::{
    Approval, Node, Passport, RequestAnswer, RequestSpec, RequestStatus,
    mailbox::MailboxSettings,
    net::{NetConfig, Response},
};
use passport_protocol::{FieldValue, PassportId};

const CANARY: &str = "Canary-3f9d2c71-Lilas";

fn config(bootstrap: Vec<Multiaddr>, mailbox: MailboxSettings) -> NetConfig {
    NetConfig {
        request_timeout: Duration::from_secs(5),
        mailbox,
        ..loopback(bootstrap)
    }
}

/// One node that can be stopped and started again with the same store and
/// network key.
struct Restartable {
    node: Node,
    key: identity::Keypair,
    config: NetConfig,
    running: Option<Passport>,
}

impl Restartable {
    fn new(node: Node, config: NetConfig) -> Self {
        Self {
            node,
            key: identity::Keypair::generate_ed25519(),
            config,
            running: None,
        }
    }

    async fn start(&mut self) -> Passport {
        let (passport, _) = Passport::with_node(self.node.clone())
            .keypair(self.key.clone())
            .network(self.config.clone())
            .spawn()
            .await
            .unwrap();
        self.running = Some(passport.clone());
        passport
    }

    async fn stop(&mut self) {
        if let Some(passport) = self.running.take() {
            passport.shutdown().await;
        }
        // A restart's record must carry a later sequence (seconds).
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }

    fn passport(&self) -> &Passport {
        self.running.as_ref().expect("running")
    }
}

/// Waits until `what` holds, checking every 100 ms for up to 20 s.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

/// How many messages `mailbox` holds for `id`.
fn held_for(mailbox: &Node, id: PassportId) -> u32 {
    mailbox
        .mailbox_usage()
        .unwrap()
        .into_iter()
        .find(|(r, _)| *r == id)
        .map_or(0, |(_, usage)| usage.messages)
}

fn served(mailbox: &Node, id: PassportId) -> bool {
    mailbox
        .mailbox_usage()
        .unwrap()
        .iter()
        .any(|(r, _)| *r == id)
}

/// No file under `dir` contains `needle`.
fn nowhere_in(dir: &Path, needle: &[u8]) {
    for entry in files_under(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{} holds the value in clear",
            entry.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_to_stopped_nodes_wait_at_two_mailboxes_and_are_processed_once() {
    let dir = tempfile::tempdir().unwrap();
    let serving = MailboxSettings {
        serve: true,
        ..MailboxSettings::default()
    };
    // Two mailboxes (the first is also the DHT's bootstrap).
    let first_store = dir.path().join("mailbox-1");
    let (first, _) = Passport::with_node(sled_node(&first_store))
        .network(config(vec![], serving.clone()))
        .spawn()
        .await
        .unwrap();
    let boot = dial_address(&first).await;
    let second_store = dir.path().join("mailbox-2");
    let (second, _) = Passport::with_node(sled_node(&second_store))
        .network(config(vec![boot.clone()], serving))
        .spawn()
        .await
        .unwrap();
    let using = MailboxSettings {
        mailboxes: vec![first.id(), second.id()],
        drain_every_secs: 3600,
        ..MailboxSettings::default()
    };
    let mut ada = Restartable::new(
        sled_node(&dir.path().join("ada")),
        config(vec![boot.clone()], using.clone()),
    );
    let mut shop = Restartable::new(
        sled_node(&dir.path().join("shop")),
        config(vec![boot], using),
    );
    ada.node
        .set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text(CANARY.into()),
            passport_node::node::system_now(),
        )
        .unwrap();
    let (ada_id, shop_id) = (ada.node.id(), shop.node.id());
    ada.start().await;
    shop.start().await;
    // Each drains both mailboxes at start, which makes them served there.
    until("both are served at both mailboxes", async || {
        [&first, &second]
            .iter()
            .all(|m| served(m.node(), ada_id) && served(m.node(), shop_id))
    })
    .await;
    let client = shop.passport().client().unwrap().clone();
    until("Ada's record lists her mailboxes", async || {
        client
            .lookup(ada_id)
            .await
            .is_ok_and(|r| r.mailboxes == [first.id(), second.id()])
    })
    .await;

    // Ada's node is stopped: the request waits at both of her mailboxes.
    ada.stop().await;
    let spec = RequestSpec::new(
        "Brand X",
        ["name.given".parse().unwrap()],
        "delivery",
        3_600,
    );
    let outcome = shop
        .passport()
        .request(ada_id, spec, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(outcome.answer, RequestAnswer::Queued { mailboxes: 2 });
    let request_id = outcome.request_id;
    assert_eq!(
        shop.passport()
            .sent_request(request_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RequestStatus::Queued { mailboxes: 2 }
    );
    assert_eq!(held_for(first.node(), ada_id), 1);
    assert_eq!(held_for(second.node(), ada_id), 1);

    // Back, Ada's node drains both: the request is in her inbox once, and gone
    // from both mailboxes.
    let ada_up = ada.start().await;
    until("the request reaches Ada's inbox", async || {
        ada_up.inbox().await.unwrap().len() == 1
    })
    .await;
    until("both mailboxes dropped it", async || {
        held_for(first.node(), ada_id) + held_for(second.node(), ada_id) == 0
    })
    .await;
    let report = ada_up.drain_mailboxes().await.unwrap();
    assert_eq!(report.received, 0, "nothing is left: {report:?}");
    assert_eq!(ada_up.inbox().await.unwrap().len(), 1);

    // The shop is stopped when Ada approves: the grant waits at the shop's
    // mailboxes, which never hold her value in clear.
    shop.stop().await;
    let sending = ada_up
        .approve(request_id, Approval::default())
        .await
        .unwrap();
    assert_eq!(sending.delivered().await.unwrap(), Response::Queued(2));
    for (mailbox, store) in [(&first, &first_store), (&second, &second_store)] {
        assert_eq!(held_for(mailbox.node(), shop_id), 1);
        nowhere_in(store, CANARY.as_bytes());
    }
    let shop_up = shop.start().await;
    let status = shop_up
        .decision(request_id, Duration::from_secs(20))
        .await
        .unwrap();
    let Some(RequestStatus::Granted { grant }) = status else {
        panic!("expected the grant, got {status:?}")
    };
    let values = shop_up.open_grant(grant).await.unwrap();
    assert_eq!(
        values[&"name.given".parse().unwrap()],
        FieldValue::Text(CANARY.into())
    );

    // A revocation to a stopped shop, and its receipt back to a stopped Ada.
    shop.stop().await;
    let sending = ada_up.revoke(grant).await.unwrap();
    assert_eq!(sending.delivered().await.unwrap(), Response::Queued(2));
    ada.stop().await;
    let shop_up = shop.start().await;
    until("the shop erased the grant's data", async || {
        shop_up
            .received()
            .await
            .unwrap()
            .iter()
            .any(|g| g.grant_id == grant && g.erased_at.is_some())
    })
    .await;
    until("the receipt waits at Ada's mailboxes", async || {
        held_for(first.node(), ada_id) == 1 && held_for(second.node(), ada_id) == 1
    })
    .await;
    let ada_up = ada.start().await;
    until("Ada holds the deletion receipt", async || {
        ada_up
            .grants()
            .await
            .unwrap()
            .iter()
            .any(|g| g.grant_id == grant && g.receipt.is_some())
    })
    .await;
    until("both mailboxes are empty", async || {
        [&first, &second]
            .iter()
            .all(|m| held_for(m.node(), ada_id) + held_for(m.node(), shop_id) == 0)
    })
    .await;
    for store in [&first_store, &second_store] {
        nowhere_in(store, CANARY.as_bytes());
    }
    for passport in [ada_up, shop_up, second, first] {
        passport.shutdown().await;
    }
}
