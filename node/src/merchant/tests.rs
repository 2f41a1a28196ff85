//! The merchant side's unit tests: per-request sealing keys and group commit.
use passport_protocol::FieldValue;

use super::*;
use crate::{Home, KdfParams, NodeConfig, Reply, Unlock, consent::Policy, node::system_now as now};

fn sled_node(dir: &std::path::Path) -> Node {
    let home = Home::new(dir);
    home.create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    Node::open(&home, &Unlock::KeyFile, NodeConfig::default()).unwrap()
}

/// A person (sled, in `dir`) whose standing policy grants `name.given` to the
/// merchant (sled too) at once; the field's name and the time it was set.
fn person_granting_merchant(dir: &std::path::Path) -> (Node, Node, FieldName, Timestamp) {
    let person = sled_node(&dir.join("person"));
    let merchant = sled_node(&dir.join("merchant"));
    let t0 = now();
    let given: FieldName = "name.given".parse().unwrap();
    person
        .set_field(given.clone(), FieldValue::Text("Ada".into()), t0)
        .unwrap();
    person
        .add_policy(Policy::allow_normal_fields(Some(merchant.id())), t0)
        .unwrap();
    (person, merchant, given, t0)
}

#[test]
fn erasure_keeps_the_signed_grant_as_proof_and_no_key_that_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let (person, merchant, given, t0) = person_granting_merchant(dir.path());
    let (request, request_id) = merchant
        .request_with_id(person.id(), RequestSpec::new("X", [given], "p", 3600), t0)
        .unwrap();
    // Sealed to the request's own key, not the node's.
    let Body::Request(sent) = decode_trusted(&request).unwrap().body else {
        panic!("a request")
    };
    assert_ne!(sent.seal_to, merchant.sealing_public_key());
    let Reply::Message(grant) = person.receive(&request, t0).unwrap() else {
        panic!("expected a grant")
    };
    merchant.receive(&grant, t0).unwrap();
    let held = merchant.received().unwrap().remove(0);
    assert_eq!(held.request_id, Some(request_id));
    assert!(held.can_open());
    let opening = held.opening_key.clone().unwrap();
    assert!(
        merchant
            .sent_request(&request_id)
            .unwrap()
            .unwrap()
            .opening_key
            .is_none()
    );

    let revoke = person.revoke(&held.grant_id, t0).unwrap();
    merchant.receive(&revoke.bytes, t0).unwrap();
    let erased = merchant.received().unwrap().remove(0);
    assert_eq!(erased.grant.as_deref(), Some(&grant[..]), "the proof stays");
    assert!(!erased.can_open());
    assert!(erased.opening_key.is_none());
    assert_eq!(merchant.grant_proof(&held.grant_id).unwrap(), grant);
    // Neither record keeps the key, and the node's own key does not open the
    // proof.
    assert!(
        merchant
            .sent_request(&request_id)
            .unwrap()
            .unwrap()
            .opening_key
            .is_none()
    );
    assert!(open_values(&merchant, None, &grant).is_err());
    assert!(open_values(&merchant, Some(&opening), &grant).is_ok());
}

#[test]
fn a_prepared_request_becomes_durable_with_its_grant_in_one_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (person, merchant, given, t0) = person_granting_merchant(dir.path());
    let spec = || RequestSpec::new("Brand X", [given.clone()], "delivery", 86_400);

    let flushes = || merchant.flush_stats().flushes;
    let before = flushes();
    let prepared = merchant.prepare_request(person.id(), spec(), t0).unwrap();
    // Recorded and visible, not yet flushed.
    let sent = merchant
        .sent_request(&prepared.request_id)
        .unwrap()
        .unwrap();
    assert_eq!(sent.status, RequestStatus::Sending);
    assert_eq!(flushes(), before);

    let Reply::Message(grant) = person.receive(&prepared.bytes, t0).unwrap() else {
        panic!("expected a grant")
    };
    merchant.receive(&grant, t0).unwrap();
    // Storing the grant flushed the request with it: settling needs no flush.
    merchant.settle(prepared.unsettled).unwrap();
    assert_eq!(flushes(), before + 1);

    // Without an answer, settling is what flushes.
    let unanswered = merchant.prepare_request(person.id(), spec(), t0).unwrap();
    merchant.settle(unanswered.unsettled).unwrap();
    assert_eq!(flushes(), before + 2);
    assert!(merchant.verify_audit().unwrap().is_intact());
}

#[test]
fn every_request_state_is_named_once() {
    let grant = GrantId::from_bytes([1; 16]);
    let reason = String::new();
    let names: Vec<&str> = [
        RequestStatus::Sending,
        RequestStatus::Queued { mailboxes: 2 },
        RequestStatus::Waiting,
        RequestStatus::Granted { grant },
        RequestStatus::Refused {
            reason: reason.clone(),
        },
        RequestStatus::Expired,
        RequestStatus::Failed { reason },
    ]
    .iter()
    .map(RequestStatus::name)
    .collect();
    assert_eq!(names, RequestStatus::NAMES);
}
