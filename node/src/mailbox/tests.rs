//! The mailbox in the node core, in simulated time: a merchant deposits for an
//! offline person, the person drains, receives once and deletes; the limits and
//! the bindings refuse what they must.
use passport_protocol::{FieldValue, MessageId, PeerRecord, Timestamp};

use super::*;
use crate::{Node, NodeConfig, consent::Policy, error::NodeError, merchant::RequestSpec};

const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

fn node() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

fn serving() -> MailboxSettings {
    MailboxSettings {
        serve: true,
        ..MailboxSettings::default()
    }
}

fn record_of(node: &Node) -> PeerRecord {
    PeerRecord {
        id: node.id(),
        sequence: 1,
        peers: vec![vec![1]],
        addresses: Vec::new(),
        seal_key: node.sealing_public_key(),
        mailboxes: Vec::new(),
        issued_at: T0,
        expires_at: T0.plus_secs(86_400),
    }
}

/// `who` drains `mailbox` from peer `peer` with the right challenge.
fn drain(
    mailbox: &Node,
    settings: &MailboxSettings,
    who: &Node,
    peer: &[u8],
) -> Result<(Vec<Held>, bool), NodeError> {
    let nonce = [3; 32];
    let signed = who
        .sign_drain(&mailbox.id(), nonce, peer.to_vec(), T0)
        .unwrap();
    mailbox.mailbox_drain(settings, &signed, peer, &nonce, 1 << 20, T0)
}

fn delete(mailbox: &Node, settings: &MailboxSettings, who: &Node, ids: Vec<MessageId>) -> usize {
    let nonce = [4; 32];
    let signed = who
        .sign_delete(&mailbox.id(), nonce, b"p".to_vec(), ids, T0)
        .unwrap();
    mailbox
        .mailbox_delete(settings, &signed, b"p", &nonce, T0)
        .unwrap()
}

fn request(merchant: &Node, person: &Node) -> Vec<u8> {
    let given = "name.given".parse().unwrap();
    merchant
        .request(
            person.id(),
            RequestSpec::new("Brand X", [given], "delivery", 3600),
            T0,
        )
        .unwrap()
}

fn refusal(result: Result<impl std::fmt::Debug, NodeError>) -> MailboxError {
    match result {
        Err(NodeError::Mailbox(e)) => e,
        other => panic!("expected a mailbox refusal, got {other:?}"),
    }
}

#[test]
fn a_deposit_reaches_its_recipient_once_and_goes_when_deleted() {
    let (mailbox, person, merchant, settings) = (node(), node(), node(), serving());
    person
        .set_field(
            "name.given".parse().unwrap(),
            FieldValue::Text("Ada".into()),
            T0,
        )
        .unwrap();
    person
        .add_policy(Policy::allow_normal_fields(Some(merchant.id())), T0)
        .unwrap();
    let message = request(&merchant, &person);
    let deposit = merchant
        .sign_deposit(&mailbox.id(), &record_of(&person), &message, T0)
        .unwrap();
    // Nothing is held for a passport that never drained here.
    assert_eq!(
        refusal(mailbox.mailbox_deposit(&settings, &deposit, T0)),
        MailboxError::NotRegistered(person.id())
    );
    assert_eq!(
        drain(&mailbox, &settings, &person, b"p").unwrap(),
        (vec![], false)
    );
    assert_eq!(
        mailbox.mailbox_deposit(&settings, &deposit, T0).unwrap(),
        Deposited::Stored
    );
    // A retry signs the same deposit id: held once.
    let again = merchant
        .sign_deposit(&mailbox.id(), &record_of(&person), &message, T0)
        .unwrap();
    assert_eq!(
        mailbox.mailbox_deposit(&settings, &again, T0).unwrap(),
        Deposited::AlreadyHeld
    );
    // A third party's drain gets its own (empty) box; its delete drops nothing.
    let stranger = node();
    assert_eq!(
        drain(&mailbox, &settings, &stranger, b"q").unwrap().0,
        vec![]
    );
    let (held, more) = drain(&mailbox, &settings, &person, b"p").unwrap();
    assert!(!more);
    assert_eq!(held.len(), 1);
    assert_eq!(delete(&mailbox, &settings, &stranger, vec![held[0].id]), 0);
    assert_eq!(held[0].from, merchant.id());
    // The mailbox cannot read it; the person can, and answers through the outbox.
    assert!(!held[0].sealed.windows(4).any(|w| w == b"Ada!"));
    let Drained::Received {
        kind: "request",
        answer: Some(answer),
    } = person.receive_from_mailbox(&held[0], T0).unwrap()
    else {
        panic!("a policy grants at once")
    };
    assert_eq!(answer.to, merchant.id());
    assert_eq!(person.outbox().unwrap(), vec![answer.clone()]);
    // The same message from a second mailbox is processed once.
    assert_eq!(
        person.receive_from_mailbox(&held[0], T0).unwrap(),
        Drained::Duplicate
    );
    assert_eq!(person.grants().unwrap().len(), 1);
    assert_eq!(delete(&mailbox, &settings, &person, vec![held[0].id]), 1);
    assert_eq!(drain(&mailbox, &settings, &person, b"p").unwrap().0, vec![]);
    // Deleted, so a late retry of the same deposit is not held again.
    assert_eq!(
        mailbox.mailbox_deposit(&settings, &deposit, T0).unwrap(),
        Deposited::AlreadyHeld
    );
    assert_eq!(mailbox.mailbox_usage().unwrap()[0].1.messages, 0);
    // The merchant takes the answer as if it had come straight back.
    merchant.receive(&answer.bytes, T0).unwrap();
    assert_eq!(merchant.received().unwrap().len(), 1);
}

#[test]
fn drains_and_deletes_answer_this_peers_challenge_only() {
    let (mailbox, person, settings) = (node(), node(), serving());
    let signed = person
        .sign_drain(&mailbox.id(), [1; 32], b"p".to_vec(), T0)
        .unwrap();
    assert_eq!(
        refusal(mailbox.mailbox_drain(&settings, &signed, b"p", &[2; 32], 1 << 20, T0)),
        MailboxError::BadChallenge
    );
    assert_eq!(
        refusal(mailbox.mailbox_drain(&settings, &signed, b"other", &[1; 32], 1 << 20, T0)),
        MailboxError::WrongPeer
    );
    // Signed for another mailbox.
    let elsewhere = person
        .sign_drain(&node().id(), [1; 32], b"p".to_vec(), T0)
        .unwrap();
    assert!(matches!(
        refusal(mailbox.mailbox_drain(&settings, &elsewhere, b"p", &[1; 32], 1 << 20, T0)),
        MailboxError::Protocol(passport_protocol::ProtocolError::WrongAudience { .. })
    ));
    // A deposit is not a drain.
    let merchant = node();
    let deposit = merchant
        .sign_deposit(
            &mailbox.id(),
            &record_of(&person),
            &request(&merchant, &person),
            T0,
        )
        .unwrap();
    assert!(matches!(
        refusal(mailbox.mailbox_drain(&settings, &deposit, b"p", &[1; 32], 1 << 20, T0)),
        MailboxError::WrongKind {
            expected: "drain",
            got: "deposit"
        }
    ));
    // A node that does not serve says so.
    assert_eq!(
        refusal(mailbox.mailbox_deposit(&MailboxSettings::default(), &deposit, T0)),
        MailboxError::NotServing
    );
}

#[test]
fn limits_hold_per_recipient_and_per_sender_and_a_flood_leaves_others_their_share() {
    let (mailbox, ada, bob) = (node(), node(), node());
    let settings = MailboxSettings {
        per_recipient_messages: 8,
        per_sender_messages: 2,
        ..serving()
    };
    drain(&mailbox, &settings, &ada, b"a").unwrap();
    drain(&mailbox, &settings, &bob, b"b").unwrap();
    let deposit_for = |sender: &Node, to: &Node| {
        let message = request(sender, to);
        let deposit = sender
            .sign_deposit(&mailbox.id(), &record_of(to), &message, T0)
            .unwrap();
        mailbox.mailbox_deposit(&settings, &deposit, T0)
    };
    // One sender: two messages, then its quota.
    let shop = node();
    deposit_for(&shop, &ada).unwrap();
    deposit_for(&shop, &ada).unwrap();
    assert_eq!(
        refusal(deposit_for(&shop, &ada)),
        MailboxError::SenderQuota(2)
    );
    // A flood from many ids fills Ada's box, and only hers.
    let (mut stored, mut full) = (0, 0);
    for _ in 0..20 {
        match deposit_for(&node(), &ada) {
            Ok(_) => stored += 1,
            Err(NodeError::Mailbox(MailboxError::Full { .. })) => full += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((stored, full), (6, 14));
    assert!(
        refusal(deposit_for(&shop, &ada))
            .to_string()
            .starts_with("mailbox full for this recipient")
    );
    assert_eq!(deposit_for(&shop, &bob).unwrap(), Deposited::Stored);
    // Recipients past the maximum are refused; those served keep being served.
    let two = MailboxSettings {
        max_recipients: 2,
        ..settings.clone()
    };
    assert_eq!(
        refusal(drain(&mailbox, &two, &node(), b"c")),
        MailboxError::TooManyRecipients(2)
    );
    assert_eq!(drain(&mailbox, &two, &ada, b"a").unwrap().0.len(), 8);
    // A home server serving its owner only.
    let owner_only = MailboxSettings {
        serve_only: vec![ada.id()],
        ..settings.clone()
    };
    assert_eq!(
        refusal(drain(&mailbox, &owner_only, &bob, b"b")),
        MailboxError::NotServed(bob.id())
    );
}

#[test]
fn deposits_are_dropped_at_their_expiry_and_a_drain_is_paged() {
    let (mailbox, ada, shop, settings) = (node(), node(), node(), serving());
    drain(&mailbox, &settings, &ada, b"a").unwrap();
    for _ in 0..3 {
        let message = request(&shop, &ada);
        let deposit = shop
            .sign_deposit(&mailbox.id(), &record_of(&ada), &message, T0)
            .unwrap();
        mailbox.mailbox_deposit(&settings, &deposit, T0).unwrap();
    }
    let nonce = [5; 32];
    let signed = ada
        .sign_drain(&mailbox.id(), nonce, b"a".to_vec(), T0)
        .unwrap();
    let (page, more) = mailbox
        .mailbox_drain(&settings, &signed, b"a", &nonce, 1, T0)
        .unwrap();
    assert_eq!((page.len(), more), (1, true));
    // A request lives a week (the node's `request_lifetime_secs`): its deposit is
    // held for the message's own life, then dropped.
    assert_eq!(
        mailbox.mailbox_sweep(T0.plus_secs(7 * 86_400 - 1)).unwrap(),
        0
    );
    let late = T0.plus_secs(7 * 86_400 + 1);
    assert_eq!(mailbox.mailbox_sweep(late).unwrap(), 3);
    assert_eq!(mailbox.mailbox_usage().unwrap()[0].1.messages, 0);
}
