//! The node core end to end, without a network: a person's node and a merchant's
//! node exchanging real signed messages through `receive`, on real sled stores.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::sled_node;
use passport_node::{
    Approval, Keys, Node, NodeConfig, NodeError, Reply, RequestSpec, RequestStatus,
    audit::AuditEvent,
    consent::{Effect, FieldScope, Policy},
    storage::MemoryStorage,
};
use passport_protocol::{
    FieldName, FieldRequest, FieldValue, GrantId, Offer, ProtocolError, Timestamp, verify_offline,
};

const T0: Timestamp = Timestamp::from_secs(1_800_000_000);
const DAY: u64 = 86_400;

fn name(s: &str) -> FieldName {
    s.parse().unwrap()
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

fn memory_node() -> Node {
    Node::in_memory(NodeConfig::default()).unwrap()
}

fn person_with_fields(node: &Node) {
    node.set_field(name("name.given"), text("Ada"), T0).unwrap();
    node.set_field(name("address.home"), text("12 Rue des Lilas, Lyon"), T0)
        .unwrap();
    node.set_field(name("phone.mobile"), text("+33 6 12 34 56 78"), T0)
        .unwrap();
    node.set_field(name("payment.card"), text("4970 1000 0000 0063"), T0)
        .unwrap();
}

fn spec(fields: &[(&str, bool)]) -> RequestSpec {
    RequestSpec {
        requester_name: "Brand X".into(),
        fields: fields
            .iter()
            .map(|(n, required)| FieldRequest {
                name: name(n),
                required: *required,
                reason: format!("for {n}"),
                attested_by: Vec::new(),
            })
            .collect(),
        purpose: "delivery".into(),
        duration_secs: 30 * DAY,
        retention_secs: 0,
        offer: Some(Offer {
            text: "free shipping".into(),
            details: Default::default(),
        }),
        reply_to: vec!["/ip4/127.0.0.1/tcp/4001".into()],
    }
}

fn grant_id_of(merchant: &Node) -> GrantId {
    merchant.received().unwrap()[0].grant_id
}

#[test]
fn standing_policy_grants_in_one_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let person = sled_node(&dir.path().join("person"));
    let merchant = sled_node(&dir.path().join("merchant"));
    person_with_fields(&person);
    let policy = Policy {
        id: 0,
        effect: Effect::Allow,
        merchant: Some(merchant.id()),
        purpose: Some("delivery".into()),
        fields: FieldScope::any_normal(),
        max_duration_secs: Some(7 * DAY),
        created_at: T0,
    };
    person.add_policy(policy, T0).unwrap();

    let request = merchant
        .request(
            person.id(),
            spec(&[("name.given", true), ("address.home", true)]),
            T0,
        )
        .unwrap();
    let Reply::Message(grant) = person.receive(&request, T0).unwrap() else {
        panic!("expected a grant")
    };
    assert_eq!(merchant.receive(&grant, T0).unwrap(), Reply::Nothing);
    let values = merchant.open_grant(&grant_id_of(&merchant), T0).unwrap();
    assert_eq!(values[&name("name.given")], text("Ada"));
    assert_eq!(values.len(), 2);
    // The policy capped the duration: 7 days, not the 30 asked, so it is partial.
    let issued = &person.grants().unwrap()[0];
    assert_eq!(issued.expires_at, T0.plus_secs(7 * DAY));
    assert!(matches!(
        merchant.open_grant(&issued.grant_id, T0.plus_secs(8 * DAY)),
        Err(NodeError::GrantExpired(_))
    ));
    assert!(person.verify_audit().unwrap().is_intact());
    assert!(merchant.verify_audit().unwrap().is_intact());
}

#[test]
fn a_request_for_less_than_a_day_reads_in_hours_and_minutes() {
    let person = memory_node();
    let merchant = memory_node();
    person_with_fields(&person);
    for (secs, words) in [
        (3_600, "for 1 hour,"),
        (5_400, "for 1 hour 30 minutes,"),
        (900, "for 15 minutes,"),
    ] {
        let mut asked = spec(&[("name.given", true)]);
        asked.duration_secs = secs;
        let request = merchant.request(person.id(), asked, T0).unwrap();
        let Reply::Pending(request_id) = person.receive(&request, T0).unwrap() else {
            panic!("expected pending")
        };
        let inbox = person.inbox().unwrap();
        let item = inbox
            .iter()
            .find(|i| i.pending.request_id == request_id)
            .unwrap();
        assert_eq!(item.request.duration_secs, secs);
        let sentence = item.sentence();
        assert!(sentence.contains(words), "{sentence}");
        assert!(!sentence.contains("day"), "{sentence}");
    }
}

#[test]
fn asked_request_waits_then_partial_approval_reaches_the_merchant() {
    let person = memory_node();
    let merchant = memory_node();
    person_with_fields(&person);
    let request = merchant
        .request(
            person.id(),
            spec(&[
                ("name.given", true),
                ("address.home", true),
                ("phone.mobile", false),
            ]),
            T0,
        )
        .unwrap();
    let Reply::Pending(request_id) = person.receive(&request, T0).unwrap() else {
        panic!("expected pending")
    };

    let inbox = person.inbox().unwrap();
    assert_eq!(inbox.len(), 1);
    let sentence = inbox[0].sentence();
    assert!(
        sentence.contains("\"Brand X\" (unverified name"),
        "{sentence}"
    );
    assert!(sentence.contains("first contact"), "{sentence}");
    assert!(sentence.contains("offering free shipping"), "{sentence}");
    assert!(sentence.contains("for 30 days"), "{sentence}");

    // A petname replaces the declared name from then on.
    person
        .set_petname(&merchant.id(), Some("My bike shop".into()), T0)
        .unwrap();
    assert!(
        person.inbox().unwrap()[0]
            .sentence()
            .starts_with("My bike shop (id ")
    );

    let approval = Approval {
        only: Some(vec![name("name.given"), name("address.home")]),
        duration_secs: Some(10 * DAY),
        always: false,
    };
    let out = person.approve(&request_id, approval, T0).unwrap();
    assert_eq!(out.to, merchant.id());
    assert_eq!(out.reply_to, vec!["/ip4/127.0.0.1/tcp/4001".to_owned()]);
    assert!(person.inbox().unwrap().is_empty());
    merchant.receive(&out.bytes, T0).unwrap();
    let values = merchant.open_grant(&grant_id_of(&merchant), T0).unwrap();
    assert_eq!(
        values.keys().cloned().collect::<Vec<_>>(),
        vec![name("address.home"), name("name.given")]
    );
    assert!(!values.contains_key(&name("phone.mobile")));
    assert!(matches!(
        merchant.sent_request(&request_id).unwrap().unwrap().status,
        RequestStatus::Granted { .. }
    ));
    // Approving again is refused: it is no longer pending.
    assert!(matches!(
        person.approve(&request_id, Approval::default(), T0),
        Err(NodeError::UnknownRequest(_))
    ));
}

#[test]
fn always_trust_adds_a_policy_but_sensitive_fields_are_still_asked() {
    let person = memory_node();
    let merchant = memory_node();
    person_with_fields(&person);
    let first = merchant
        .request(person.id(), spec(&[("name.given", true)]), T0)
        .unwrap();
    let Reply::Pending(id) = person.receive(&first, T0).unwrap() else {
        panic!()
    };
    person
        .approve(
            &id,
            Approval {
                always: true,
                ..Approval::default()
            },
            T0,
        )
        .unwrap();
    assert_eq!(person.policies().unwrap().len(), 1);

    let second = merchant
        .request(
            person.id(),
            spec(&[("address.home", true)]),
            T0.plus_secs(10),
        )
        .unwrap();
    assert!(matches!(
        person.receive(&second, T0.plus_secs(10)).unwrap(),
        Reply::Message(_)
    ));
    let card = merchant
        .request(
            person.id(),
            spec(&[("payment.card", true)]),
            T0.plus_secs(20),
        )
        .unwrap();
    assert!(matches!(
        person.receive(&card, T0.plus_secs(20)).unwrap(),
        Reply::Pending(_)
    ));
    let item = &person.inbox().unwrap()[0];
    assert!(!item.pending.first_contact);
}

#[test]
fn refusal_by_person_and_by_policy() {
    let person = memory_node();
    let merchant = memory_node();
    person_with_fields(&person);
    let request = merchant
        .request(person.id(), spec(&[("phone.mobile", true)]), T0)
        .unwrap();
    let Reply::Pending(id) = person.receive(&request, T0).unwrap() else {
        panic!()
    };
    let out = person.deny(&id, "no calls please", T0).unwrap();
    merchant.receive(&out.bytes, T0).unwrap();
    assert_eq!(
        merchant.sent_request(&id).unwrap().unwrap().status,
        RequestStatus::Refused {
            reason: "no calls please".into()
        }
    );
    let deny = Policy {
        id: 0,
        effect: Effect::Deny,
        merchant: Some(merchant.id()),
        purpose: None,
        fields: FieldScope::only([name("phone.mobile")]),
        max_duration_secs: None,
        created_at: T0,
    };
    person.add_policy(deny, T0).unwrap();
    let again = merchant
        .request(person.id(), spec(&[("phone.mobile", true)]), T0)
        .unwrap();
    let Reply::Message(refusal) = person.receive(&again, T0).unwrap() else {
        panic!()
    };
    merchant.receive(&refusal, T0).unwrap();
    assert!(merchant.received().unwrap().is_empty());
}

/// Person and merchant with one live grant of name and address.
fn granted() -> (Node, Node, GrantId) {
    let person = memory_node();
    let merchant = memory_node();
    person_with_fields(&person);
    let request = merchant
        .request(
            person.id(),
            spec(&[("name.given", true), ("address.home", true)]),
            T0,
        )
        .unwrap();
    let Reply::Pending(id) = person.receive(&request, T0).unwrap() else {
        panic!()
    };
    let out = person.approve(&id, Approval::default(), T0).unwrap();
    merchant.receive(&out.bytes, T0).unwrap();
    let grant_id = grant_id_of(&merchant);
    (person, merchant, grant_id)
}

#[test]
fn fetch_and_pushed_updates_carry_current_values() {
    let (person, merchant, grant_id) = granted();
    let later = T0.plus_secs(DAY);
    let updates = person
        .set_field(name("address.home"), text("3 Quai Perrache, Lyon"), later)
        .unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].to, merchant.id());
    merchant.receive(&updates[0].bytes, later).unwrap();
    assert_eq!(
        merchant.open_grant(&grant_id, later).unwrap()[&name("address.home")],
        text("3 Quai Perrache, Lyon")
    );
    // A field outside the grant changes: nobody is told.
    assert!(
        person
            .set_field(name("phone.mobile"), text("+33 7 00 00 00 00"), later)
            .unwrap()
            .is_empty()
    );

    person
        .set_field(name("name.given"), text("Augusta Ada"), later.plus_secs(5))
        .unwrap();
    let fetch = merchant.fetch(&grant_id, later.plus_secs(10)).unwrap();
    let Reply::Message(update) = person.receive(&fetch, later.plus_secs(10)).unwrap() else {
        panic!()
    };
    merchant.receive(&update, later.plus_secs(10)).unwrap();
    assert_eq!(
        merchant.open_grant(&grant_id, later.plus_secs(10)).unwrap()[&name("name.given")],
        text("Augusta Ada")
    );
}

#[test]
fn revocation_erases_with_a_receipt_and_stops_fetches() {
    let (person, merchant, grant_id) = granted();
    let t = T0.plus_secs(60);
    let revoke = person.revoke(&grant_id, t).unwrap();
    let Reply::Message(receipt) = merchant.receive(&revoke.bytes, t).unwrap() else {
        panic!("expected a receipt")
    };
    assert!(matches!(
        merchant.open_grant(&grant_id, t),
        Err(NodeError::GrantRevoked(_))
    ));
    let held = &merchant.received().unwrap()[0];
    assert!(
        held.erased_at.is_some() && held.latest_update.is_none() && !held.can_open(),
        "data erased; the signed grant kept as proof opens for no one"
    );
    person.receive(&receipt, t).unwrap();
    assert!(person.grants().unwrap()[0].receipt.is_some());
    let events: Vec<AuditEvent> = person
        .audit_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AuditEvent::ReceiptReceived { .. }))
    );
    // A fetch the merchant makes anyway is refused by the person's node.
    assert!(matches!(
        merchant.fetch(&grant_id, t),
        Err(NodeError::GrantRevoked(_))
    ));
    // And the person refuses to push updates under it.
    assert!(
        person
            .set_field(name("name.given"), text("X"), t)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn erase_request_erases_everything_about_the_person() {
    let (person, merchant, _) = granted();
    let second = merchant
        .request(person.id(), spec(&[("phone.mobile", true)]), T0)
        .unwrap();
    let Reply::Pending(id) = person.receive(&second, T0).unwrap() else {
        panic!()
    };
    merchant
        .receive(
            &person.approve(&id, Approval::default(), T0).unwrap().bytes,
            T0,
        )
        .unwrap();
    assert_eq!(merchant.received().unwrap().len(), 2);

    let erase = person.erase(&merchant.id(), T0.plus_secs(5)).unwrap();
    let Reply::Message(receipt) = merchant.receive(&erase.bytes, T0.plus_secs(5)).unwrap() else {
        panic!()
    };
    let receipt_msg = verify_offline(&receipt).unwrap();
    let passport_protocol::Body::DeletionReceipt(r) = receipt_msg.body else {
        panic!()
    };
    assert_eq!(r.grant_ids.len(), 2);
    assert!(
        merchant
            .received()
            .unwrap()
            .iter()
            .all(|g| !g.can_open() && g.erased_at.is_some())
    );
    person.receive(&receipt, T0.plus_secs(5)).unwrap();
    assert!(
        person
            .grants()
            .unwrap()
            .iter()
            .all(|g| g.receipt.is_some() && g.revoked_at.is_some())
    );
}

#[test]
fn the_sweeper_erases_expired_grants_by_itself() {
    let (person, merchant, grant_id) = granted();
    assert!(merchant.sweep(T0.plus_secs(29 * DAY)).unwrap().is_empty());
    let receipts = merchant.sweep(T0.plus_secs(31 * DAY)).unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].to, person.id());
    assert!(!merchant.received().unwrap()[0].can_open());
    person
        .receive(&receipts[0].bytes, T0.plus_secs(31 * DAY))
        .unwrap();
    assert!(person.grants().unwrap()[0].receipt.is_some());
    assert!(matches!(
        merchant.open_grant(&grant_id, T0.plus_secs(31 * DAY)),
        Err(NodeError::GrantExpired(_))
    ));
}

#[test]
fn the_sweeper_erases_at_the_deadline_by_the_merchants_own_clock() {
    let (_person, merchant, _grant_id) = granted();
    let erase_by = merchant.received().unwrap()[0].erase_by();
    assert!(merchant.sweep(erase_by.minus_secs(1)).unwrap().is_empty());
    // No leeway: the deadline is the merchant's own obligation, not a message's time.
    assert_eq!(merchant.sweep(erase_by).unwrap().len(), 1);
}

#[test]
fn a_merchant_cannot_fetch_another_merchants_grant() {
    let (person, _merchant, grant_id) = granted();
    // A hostile party signs a Fetch for a grant id it learned but does not hold.
    let intruder = passport_protocol::IdentityKey::generate(&mut rand::rng());
    let fetch = passport_protocol::Message {
        claims: passport_protocol::Claims::new(
            intruder.id(),
            person.id(),
            T0,
            3600,
            &mut rand::rng(),
        ),
        body: passport_protocol::Body::Fetch(passport_protocol::Fetch { grant_id }),
    }
    .sign(&intruder)
    .unwrap();
    let result = person.receive(&fetch, T0);
    assert!(
        matches!(result, Err(NodeError::UnknownGrant(_))),
        "{result:?}"
    );
}

#[test]
fn inbox_is_bounded_per_merchant_and_drops_expired_requests_with_an_audit_entry() {
    let person = memory_node();
    let merchant = memory_node();
    let per_merchant = person.config().inbox_per_merchant;
    for n in 0..per_merchant {
        let r = merchant
            .request(
                person.id(),
                spec(&[("name.given", true)]),
                T0.plus_secs(n as u64),
            )
            .unwrap();
        assert!(matches!(
            person.receive(&r, T0.plus_secs(n as u64)).unwrap(),
            Reply::Pending(_)
        ));
    }
    let one_more = merchant
        .request(person.id(), spec(&[("name.given", true)]), T0)
        .unwrap();
    let err = person.receive(&one_more, T0).unwrap_err();
    assert!(matches!(err, NodeError::InboxFull(_)), "{err}");
    // Another merchant still gets through.
    let other = memory_node();
    let r = other
        .request(person.id(), spec(&[("name.given", true)]), T0)
        .unwrap();
    assert!(matches!(person.receive(&r, T0).unwrap(), Reply::Pending(_)));
    // The count every page shows agrees with the inbox, without decoding it.
    assert_eq!(person.inbox_len().unwrap(), per_merchant + 1);
    assert_eq!(person.inbox().unwrap().len(), per_merchant + 1);

    let after = T0.plus_secs(merchant.config().request_lifetime_secs + 3600);
    person.sweep(after).unwrap();
    assert!(person.inbox().unwrap().is_empty());
    assert_eq!(person.inbox_len().unwrap(), 0);
    let expired = person
        .audit_entries()
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event, AuditEvent::RequestExpired { .. }))
        .count();
    assert_eq!(expired, per_merchant + 1);
    assert!(person.verify_audit().unwrap().is_intact());
}

#[test]
fn seen_ids_survive_restart_and_replays_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let merchant = memory_node();
    let request;
    {
        let person = sled_node(dir.path());
        request = merchant
            .request(person.id(), spec(&[("name.given", true)]), T0)
            .unwrap();
        assert!(matches!(
            person.receive(&request, T0).unwrap(),
            Reply::Pending(_)
        ));
    }
    let person = sled_node(dir.path());
    let err = person.receive(&request, T0.plus_secs(5)).unwrap_err();
    assert!(
        matches!(err, NodeError::Protocol(ProtocolError::Replayed { .. })),
        "{err}"
    );
    // The inbox survived the restart too.
    assert_eq!(person.inbox().unwrap().len(), 1);
}

#[test]
fn offers_travel_with_the_request_and_are_shown() {
    let person = memory_node();
    let merchant = memory_node();
    let mut s = spec(&[("name.given", true)]);
    s.offer = Some(Offer {
        text: "10% off".into(),
        details: [("discount_percent".to_owned(), "10".to_owned())].into(),
    });
    let r = merchant.request(person.id(), s, T0).unwrap();
    person.receive(&r, T0).unwrap();
    let item = &person.inbox().unwrap()[0];
    let offer = item.request.offer.as_ref().unwrap();
    assert_eq!(offer.details["discount_percent"], "10");
    assert!(item.sentence().contains("offering 10% off"));
}

fn small_node(config: NodeConfig) -> Node {
    Node::with_storage(
        Keys::generate(),
        Arc::new(MemoryStorage::new()),
        config,
        None,
    )
    .unwrap()
}

#[test]
fn inbox_total_and_replay_store_are_bounded() {
    let person = small_node(NodeConfig {
        inbox_total: 3,
        ..NodeConfig::default()
    });
    for n in 0..3 {
        let merchant = memory_node();
        let r = merchant
            .request(person.id(), spec(&[("name.given", true)]), T0)
            .unwrap();
        assert!(matches!(
            person.receive(&r, T0.plus_secs(n)).unwrap(),
            Reply::Pending(_)
        ));
    }
    let r = memory_node()
        .request(person.id(), spec(&[("name.given", true)]), T0)
        .unwrap();
    assert!(matches!(
        person.receive(&r, T0).unwrap_err(),
        NodeError::InboxFull(_)
    ));

    // Two ids fit; the third is refused until the first two expire, then accepted.
    let person = small_node(NodeConfig {
        seen_ids_capacity: 2,
        ..NodeConfig::default()
    });
    person_with_fields(&person);
    let merchant = memory_node();
    let fetches: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            merchant
                .request(person.id(), spec(&[("name.given", true)]), T0)
                .unwrap()
        })
        .collect();
    person.receive(&fetches[0], T0).unwrap();
    person.receive(&fetches[1], T0).unwrap();
    let err = person.receive(&fetches[2], T0).unwrap_err();
    assert!(
        matches!(
            err,
            NodeError::Protocol(ProtocolError::ReplayStoreFull { .. })
        ),
        "{err}"
    );
    let lifetime = merchant.config().request_lifetime_secs;
    let fresh = merchant
        .request(
            person.id(),
            spec(&[("name.given", true)]),
            T0.plus_secs(lifetime + 120),
        )
        .unwrap();
    assert!(person.receive(&fresh, T0.plus_secs(lifetime + 120)).is_ok());
}

#[test]
fn vault_fields_have_tags_and_sensitivity_and_removal_updates_holders() {
    use passport_node::vault::Sensitivity;
    let (person, merchant, grant_id) = granted();
    let card = person.field(&name("payment.card")).unwrap().unwrap();
    assert_eq!(card.sensitivity, Sensitivity::Sensitive);
    assert_eq!(
        person
            .field(&name("name.given"))
            .unwrap()
            .unwrap()
            .sensitivity,
        Sensitivity::Normal
    );
    let tags = ["cyclist".to_owned(), "vegetarian".to_owned()].into();
    person
        .tag_field(&name("name.given"), tags, Some(Sensitivity::Sensitive), T0)
        .unwrap();
    let given = person.field(&name("name.given")).unwrap().unwrap();
    assert_eq!(given.tags.len(), 2);
    assert_eq!(given.sensitivity, Sensitivity::Sensitive);
    assert_eq!(person.fields().unwrap().len(), 4);
    assert!(matches!(
        person.tag_field(&name("x.nope"), Default::default(), None, T0),
        Err(NodeError::UnknownField(_))
    ));

    let updates = person
        .remove_field(&name("address.home"), T0.plus_secs(5))
        .unwrap();
    assert_eq!(updates.len(), 1);
    merchant
        .receive(&updates[0].bytes, T0.plus_secs(5))
        .unwrap();
    let values = merchant.open_grant(&grant_id, T0.plus_secs(5)).unwrap();
    assert!(!values.contains_key(&name("address.home")));
    assert!(person.field(&name("address.home")).unwrap().is_none());
    assert!(matches!(
        person.remove_field(&name("address.home"), T0),
        Err(NodeError::UnknownField(_))
    ));
}

#[test]
fn a_message_made_but_not_delivered_waits_in_the_outbox_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let merchant = memory_node();
    let request = merchant
        .request(
            sled_node(&dir.path().join("person")).id(),
            spec(&[("name.given", true)]),
            T0,
        )
        .unwrap();
    let approval = {
        let person = sled_node(&dir.path().join("person"));
        person_with_fields(&person);
        let Reply::Pending(id) = person.receive(&request, T0).unwrap() else {
            panic!("expected a pending request")
        };
        assert!(person.outbox().unwrap().is_empty());
        let out = person.approve(&id, Approval::default(), T0).unwrap();
        assert_eq!(person.outbox().unwrap(), vec![out.clone()]);
        // The node stops here, before any delivery.
        out
    };

    let person = sled_node(&dir.path().join("person"));
    let waiting = person.outbox().unwrap();
    assert_eq!(waiting, vec![approval.clone()]);
    // Delivered after the restart; then it leaves the outbox.
    assert_eq!(
        merchant.receive(&waiting[0].bytes, T0).unwrap(),
        Reply::Nothing
    );
    person.outbox_done(&waiting[0], T0).unwrap();
    assert!(person.outbox().unwrap().is_empty());

    // Every kind of outgoing message is kept, and one that expires undelivered is
    // dropped by the sweep.
    let grant = person.grants().unwrap()[0].grant_id;
    let revocation = person.revoke(&grant, T0).unwrap();
    let erasure = person.erase(&merchant.id(), T0).unwrap();
    let outbox = person.outbox().unwrap();
    assert!(outbox.contains(&revocation) && outbox.contains(&erasure));
    assert_eq!(outbox.len(), 2);
    let lifetime = NodeConfig::default().message_lifetime_secs;
    person.sweep(T0.plus_secs(lifetime - 1)).unwrap();
    assert_eq!(person.outbox().unwrap().len(), 2);
    person.sweep(T0.plus_secs(lifetime)).unwrap();
    assert!(person.outbox().unwrap().is_empty());
}

#[test]
fn always_trust_names_the_fields_the_person_marked_sensitive() {
    use passport_node::vault::Sensitivity;
    let person = memory_node();
    let merchant = memory_node();
    person_with_fields(&person);
    // phone.mobile is normal by default; the person marks it sensitive.
    person
        .tag_field(
            &name("phone.mobile"),
            Default::default(),
            Some(Sensitivity::Sensitive),
            T0,
        )
        .unwrap();
    let first = merchant
        .request(person.id(), spec(&[("phone.mobile", true)]), T0)
        .unwrap();
    let Reply::Pending(id) = person.receive(&first, T0).unwrap() else {
        panic!()
    };
    let always = Approval {
        always: true,
        ..Approval::default()
    };
    person.approve(&id, always, T0).unwrap();
    let policy = &person.policies().unwrap()[0];
    assert!(policy.fields.named.contains(&name("phone.mobile")));
    // So the next request for it is answered without asking.
    let again = merchant
        .request(
            person.id(),
            spec(&[("phone.mobile", true)]),
            T0.plus_secs(10),
        )
        .unwrap();
    assert!(matches!(
        person.receive(&again, T0.plus_secs(10)).unwrap(),
        Reply::Message(_)
    ));
}

#[test]
fn a_revocation_never_delivered_stays_in_the_outbox_then_is_given_up_in_the_audit_log() {
    let (person, merchant, grant_id) = granted();
    let t = T0.plus_secs(60);
    let revoke = person.revoke(&grant_id, t).unwrap();
    // The merchant's node is away: the revocation waits, visible in the outbox.
    let waiting = |at| {
        person.sweep(at).unwrap();
        person
            .outbox()
            .unwrap()
            .iter()
            .any(|out| out.bytes == revoke.bytes)
    };
    assert!(waiting(t), "in the outbox");
    assert!(waiting(t.plus_secs(3600)), "kept while it may still go");

    // A day and more later it has expired: given up, with an audit entry that holds
    // the message, never silently.
    assert!(!waiting(t.plus_secs(2 * DAY)));
    let given_up = person
        .audit_entries()
        .unwrap()
        .into_iter()
        .find(|e| matches!(&e.event, AuditEvent::DeliveryGivenUp { kind, .. } if kind == "revoke"))
        .expect("an audit entry for the revocation given up");
    let AuditEvent::DeliveryGivenUp { kind, to, .. } = &given_up.event else {
        unreachable!()
    };
    assert_eq!(kind, "revoke");
    assert_eq!(*to, merchant.id());
    assert_eq!(given_up.message.as_deref(), Some(&revoke.bytes[..]));
    assert!(
        given_up
            .event
            .describe()
            .contains("Gave up delivering a revoke")
    );
    assert!(person.verify_audit().unwrap().is_intact());
}
