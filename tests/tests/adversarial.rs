//! The adversarial suite: a hostile peer sends running nodes (real libp2p swarms on
//! loopback, in one process) thousands of generated bad messages of every kind, and
//! each must be refused with the reason the protocol gives for it, while the nodes
//! keep serving an honest merchant. Then the attacks on grants: another merchant's
//! grant, a fetch after revocation or expiry.
//!
//! The count of cases per kind and mutation is printed (`--nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use ciborium::Value;
use libp2p::{Multiaddr, identity};
use passport_node::{
    Keys, Node, NodeConfig, RequestSpec,
    crypt::DataKey,
    net::{self, Client, NetConfig, NetError, Response},
    person::Approval,
    storage::MemoryStorage,
};
use passport_protocol::{
    IdentityKey, PassportId, ProtocolError, SealingKey, SeenIdCache, Timestamp, check_received,
    limits::MAX_MESSAGE_BYTES,
    message::{Body, Claims, Fetch, Message, MessageKind, claim_key},
    samples::{
        MERCHANT_SEALING_IKM, MERCHANT_SECRET, PERSON_SECRET, SampleParties, sample_message,
    },
    verify_offline,
};

fn now() -> Timestamp {
    passport_node::node::system_now()
}

/// A node with `identity` (and, if given, sealing key) over an in-memory store.
fn node_with(identity: IdentityKey, sealing: Option<SealingKey>) -> Node {
    let mut rng = rand::rng();
    let keys = Keys {
        identity,
        sealing: sealing.unwrap_or_else(|| SealingKey::generate(&mut rng)),
        data_key: DataKey::new(&zeroize::Zeroizing::new([7u8; 32])),
    };
    Node::with_storage(
        keys,
        Arc::new(MemoryStorage::new()),
        NodeConfig::default(),
        None,
    )
    .unwrap()
}

/// Loopback settings. Targets get limits high enough that the attacker is never
/// throttled, so that every case reaches the verifier (throttling has its own
/// benchmark, `node/benches/flood.rs`).
fn unthrottled(bootstrap: Vec<Multiaddr>) -> NetConfig {
    NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap,
        mdns: false,
        peer_burst: 1_000_000,
        peer_rate_per_sec: 1_000_000,
        ..NetConfig::default()
    }
}

/// Publishes until it sticks (the bootstrap connection may still be opening).
async fn publish(client: &Client) {
    while client.publish().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts `node`'s network on loopback, published.
async fn start(node: Node, bootstrap: Vec<Multiaddr>) -> Client {
    let (client, event_loop) = net::new(
        node,
        identity::Keypair::generate_ed25519(),
        unthrottled(bootstrap),
    )
    .unwrap();
    tokio::spawn(event_loop.run());
    client.until_listening().await.unwrap();
    publish(&client).await;
    client
}

/// [`start`] as a [`passport_node::Passport`] handle, for delivering what the
/// node makes.
async fn start_passport(node: Node, bootstrap: Vec<Multiaddr>) -> passport_node::Passport {
    let (passport, _events) = passport_node::Passport::with_node(node)
        .network(unthrottled(bootstrap))
        .spawn()
        .await
        .unwrap();
    publish(passport.client().unwrap()).await;
    passport
}

async fn address(client: &Client) -> Multiaddr {
    let status = client.status().await.unwrap();
    format!("{}/p2p/{}", status.listen_addrs[0], status.peer_id)
        .parse()
        .unwrap()
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

/// A COSE_Sign1 built by hand: any payload, any `kid`, signed by any key. What an
/// attacker can make without the protocol crate's checks.
fn cose_sign1(key: &IdentityKey, kid: &PassportId, payload: Vec<u8>) -> Vec<u8> {
    let protected = cbor(&Value::Map(vec![
        (Value::Integer(1.into()), Value::Integer((-8).into())),
        (
            Value::Integer(4.into()),
            Value::Bytes(kid.to_string().into_bytes()),
        ),
    ]));
    let to_sign = cbor(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.clone()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.clone()),
    ]));
    let signature = key.sign(&to_sign);
    cbor(&Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(Vec::new()),
            Value::Bytes(payload),
            Value::Bytes(signature.to_vec()),
        ])),
    ))
}

/// `message`'s payload with the claim `key` set to `value`.
fn payload_with(message: &Message, key: i64, value: Value) -> Vec<u8> {
    let payload: Value = ciborium::from_reader(&message.encode_payload().unwrap()[..]).unwrap();
    let Value::Map(mut entries) = payload else {
        panic!("a payload is a map")
    };
    let label = Value::Integer(key.into());
    entries.retain(|(k, _)| *k != label);
    entries.push((label, value));
    cbor(&Value::Map(entries))
}

fn without_numbers(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// What a case must get back.
#[derive(Debug)]
enum Expect {
    /// Refused with exactly this protocol error's message (and reason).
    Refused(ProtocolError),
    /// Refused before it reaches the node: the stream is reset (too large to read).
    NotRead,
}

struct Case {
    kind: MessageKind,
    mutation: &'static str,
    to_person: bool,
    bytes: Vec<u8>,
    expect: Expect,
}

/// What a receiver's verifier says about `bytes`: the oracle for every case.
fn oracle(bytes: &[u8], audience: &PassportId, at: Timestamp) -> Option<ProtocolError> {
    verify_offline(bytes)
        .and_then(|m| check_received(m, at, audience, &mut SeenIdCache::new(16)))
        .err()
}

/// Every bad message the suite sends, generated from one good one of each kind.
fn cases(parties: &SampleParties, attacker: &IdentityKey) -> Vec<Case> {
    let mut rng = rand::rng();
    let at = now();
    let person = parties.person.id();
    let mut cases = Vec::new();
    for kind in MessageKind::ALL {
        let base = sample_message(kind, parties, at, &mut rng).unwrap();
        let signer = parties.signer(kind);
        let to_person = base.claims.audience == person;
        let audience = base.claims.audience;
        let good = base.sign(signer).unwrap();
        // The hand-made envelope is the real one: the attacker's tools are sound.
        assert_eq!(
            cose_sign1(signer, &signer.id(), base.encode_payload().unwrap()),
            good
        );
        let mut push = |mutation: &'static str, bytes: Vec<u8>, reason: Option<&str>| {
            let expect = match oracle(&bytes, &audience, at) {
                Some(ProtocolError::TooLarge { .. }) => Expect::NotRead,
                Some(error) => Expect::Refused(error),
                None => panic!("{kind:?} {mutation}: the mutated message verifies"),
            };
            if let (Some(reason), Expect::Refused(error)) = (reason, &expect) {
                assert_eq!(error.reason(), reason, "{kind:?} {mutation}");
            }
            cases.push(Case {
                kind,
                mutation,
                to_person,
                bytes,
                expect,
            });
        };

        // Every byte tampered with, and every truncation.
        for position in 0..good.len() {
            let mut bytes = good.clone();
            bytes[position] ^= 0xff;
            push("tampered byte", bytes, None);
        }
        for length in 0..good.len() {
            push("truncated", good[..length].to_vec(), None);
        }
        for garbage in [&[0u8][..], &[0xff, 0xff], &[0x60; 100]] {
            push(
                "trailing garbage",
                [&good[..], garbage].concat(),
                Some("trailing_bytes"),
            );
        }
        // Signed by someone else: under their own kid, or under the real one.
        let payload = base.encode_payload().unwrap();
        push(
            "wrong signer",
            cose_sign1(attacker, &attacker.id(), payload.clone()),
            Some("kid_mismatch"),
        );
        push(
            "wrong signer, forged kid",
            cose_sign1(attacker, &signer.id(), payload),
            Some("bad_signature"),
        );
        // Well signed, but for someone else, or at the wrong time.
        let resigned = |claims: Claims| {
            Message {
                claims,
                body: base.body.clone(),
            }
            .sign(signer)
            .unwrap()
        };
        let mut claims = base.claims.clone();
        claims.audience = IdentityKey::generate(&mut rng).id();
        push("wrong audience", resigned(claims), Some("wrong_audience"));
        let mut claims = base.claims.clone();
        claims.issued_at = at.minus_secs(3 * 86_400);
        claims.expires_at = at.minus_secs(2 * 86_400);
        push("expired", resigned(claims), Some("expired"));
        let mut claims = base.claims.clone();
        claims.issued_at = at.plus_secs(86_400);
        claims.expires_at = at.plus_secs(2 * 86_400);
        push("not yet valid", resigned(claims), Some("not_yet_valid"));
        let mut claims = base.claims.clone();
        claims.not_before = Some(at.plus_secs(3_600));
        push(
            "not yet valid (nbf)",
            resigned(claims),
            Some("not_yet_valid"),
        );
        let mut claims = base.claims.clone();
        claims.issued_at = at.minus_secs(15 * 86_400);
        claims.expires_at = at.plus_secs(86_400);
        push("too old", resigned(claims), Some("too_old"));
        // Too big to read, too deep to decode, a version from the future.
        push(
            "oversize",
            [&good[..], &vec![0u8; MAX_MESSAGE_BYTES + 1 - good.len()]].concat(),
            Some("too_large"),
        );
        push(
            "deeply nested envelope",
            [&[0x81u8; 40][..], &good[..]].concat(),
            Some("too_deep"),
        );
        let mut nested = Value::Integer(0.into());
        for _ in 0..40 {
            nested = Value::Array(vec![nested]);
        }
        push(
            "deeply nested payload",
            cose_sign1(signer, &signer.id(), payload_with(&base, -65_600, nested)),
            Some("too_deep"),
        );
        push(
            "unknown version",
            cose_sign1(
                signer,
                &signer.id(),
                payload_with(&base, claim_key::VERSION, Value::Integer(2.into())),
            ),
            Some("unsupported_version"),
        );
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_bad_messages_are_refused_with_their_reason_while_others_are_served() {
    let parties = SampleParties::fixed();
    let person = node_with(IdentityKey::from_secret_bytes(&PERSON_SECRET), None);
    let merchant = node_with(
        IdentityKey::from_secret_bytes(&MERCHANT_SECRET),
        Some(SealingKey::derive(&MERCHANT_SEALING_IKM)),
    );
    let person_net = start(person.clone(), Vec::new()).await;
    let bootstrap = vec![address(&person_net).await];
    let merchant_net = start(merchant.clone(), bootstrap.clone()).await;
    let attacker_key = IdentityKey::generate(&mut rand::rng());
    let attacker = start(
        node_with(IdentityKey::generate(&mut rand::rng()), None),
        bootstrap.clone(),
    )
    .await;
    let honest = node_with(IdentityKey::generate(&mut rand::rng()), None);
    let honest_net = start(honest.clone(), bootstrap).await;
    let person_record = attacker.lookup(person.id()).await.unwrap();
    let merchant_record = attacker.lookup(merchant.id()).await.unwrap();

    // An honest request, answered "pending", between the attacks.
    let mut honest_requests = 0;
    let mut honest_request = async || {
        let spec = RequestSpec::new(
            "Honest shop",
            ["name.given".parse().unwrap()],
            "delivery",
            86_400,
        );
        let bytes = honest.request(person.id(), spec, now()).unwrap();
        let answer = honest_net.send_to(person.id(), bytes).await.unwrap();
        assert!(matches!(answer, Response::Pending(_)), "{answer:?}");
        honest_requests += 1;
    };
    honest_request().await;

    let cases = cases(&parties, &attacker_key);
    let mut counts: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let record = if case.to_person {
            &person_record
        } else {
            &merchant_record
        };
        let answer = attacker.send_to_record(record, case.bytes.clone()).await;
        match (&case.expect, answer) {
            (Expect::Refused(error), Ok(Response::Refused(text))) => {
                // Time errors name the receiver's "now": compare without numbers.
                assert_eq!(
                    without_numbers(&text),
                    without_numbers(&error.to_string()),
                    "{:?} {}",
                    case.kind,
                    case.mutation
                );
            }
            (Expect::NotRead, Err(NetError::Unreachable(_) | NetError::Timeout(_))) => {}
            (expect, answer) => panic!(
                "{:?} {}: expected {expect:?}, got {answer:?}",
                case.kind, case.mutation
            ),
        }
        *counts
            .entry((format!("{:?}", case.kind), case.mutation))
            .or_default() += 1;
        if i % 1_000 == 999 {
            honest_request().await;
        }
    }
    honest_request().await;

    // Replays of good messages: answered "already received", acted on once.
    let mut rng = rand::rng();
    let request = sample_message(MessageKind::Request, &parties, now(), &mut rng)
        .unwrap()
        .sign(&parties.merchant)
        .unwrap();
    let first = attacker
        .send_to_record(&person_record, request.clone())
        .await
        .unwrap();
    assert!(matches!(first, Response::Pending(_)), "{first:?}");
    for _ in 0..10 {
        let again = attacker
            .send_to_record(&person_record, request.clone())
            .await
            .unwrap();
        assert!(matches!(again, Response::AlreadyReceived), "{again:?}");
    }
    let erase = sample_message(MessageKind::EraseRequest, &parties, now(), &mut rng)
        .unwrap()
        .sign(&parties.person)
        .unwrap();
    let receipt = attacker
        .send_to_record(&merchant_record, erase.clone())
        .await
        .unwrap();
    assert!(matches!(receipt, Response::Message(_)), "{receipt:?}");
    let again = attacker
        .send_to_record(&merchant_record, erase)
        .await
        .unwrap();
    assert!(matches!(again, Response::AlreadyReceived), "{again:?}");
    *counts.entry(("Request".into(), "replay")).or_default() += 10;
    *counts.entry(("EraseRequest".into(), "replay")).or_default() += 1;

    // Nothing bad left a trace: the person's inbox holds the honest requests and the
    // one good request replayed; the merchant holds nothing.
    assert_eq!(person.inbox().unwrap().len(), honest_requests + 1);
    assert!(merchant.received().unwrap().is_empty());
    assert!(person.verify_audit().unwrap().is_intact());
    assert!(merchant.verify_audit().unwrap().is_intact());
    assert!(merchant_net.status().await.is_ok());

    let total: usize = counts.values().sum();
    println!("adversarial cases, refused as expected:");
    for ((kind, mutation), count) in &counts {
        println!("  {kind:<16} {mutation:<26} {count:>6}");
    }
    println!("  total {total}");
    assert!(total >= 5_000, "only {total} cases");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_open_only_for_their_merchant_and_fetches_end_with_revocation_or_expiry() {
    let person = node_with(IdentityKey::generate(&mut rand::rng()), None);
    let person_passport = start_passport(person.clone(), Vec::new()).await;
    let bootstrap = vec![address(person_passport.client().unwrap()).await];
    let shop = node_with(IdentityKey::generate(&mut rand::rng()), None);
    let shop_net = start(shop.clone(), bootstrap.clone()).await;
    let rival_secret: [u8; 32] = rand::random();
    let rival = node_with(IdentityKey::from_secret_bytes(&rival_secret), None);
    let rival_net = start(rival.clone(), bootstrap).await;
    person
        .set_field(
            "name.given".parse().unwrap(),
            passport_protocol::FieldValue::Text("Ada".into()),
            now(),
        )
        .unwrap();

    // The shop gets two grants: 30 days and 2 seconds.
    let grant = async |duration_secs: u64| {
        let spec = RequestSpec::new(
            "Shop",
            ["name.given".parse().unwrap()],
            "delivery",
            30 * 86_400,
        );
        let held: Vec<_> = shop
            .received()
            .unwrap()
            .iter()
            .map(|g| g.grant_id)
            .collect();
        let (bytes, request_id) = shop.request_with_id(person.id(), spec, now()).unwrap();
        let answer = shop_net.send_to(person.id(), bytes).await.unwrap();
        assert!(matches!(answer, Response::Pending(_)), "{answer:?}");
        let approval = Approval {
            duration_secs: Some(duration_secs),
            ..Approval::default()
        };
        let decision = person.approve(&request_id, approval, now()).unwrap();
        let delivered = person_passport
            .deliver(decision.clone())
            .delivered()
            .await
            .unwrap();
        assert!(matches!(delivered, Response::Accepted), "{delivered:?}");
        let new = shop
            .received()
            .unwrap()
            .into_iter()
            .map(|g| g.grant_id)
            .find(|id| !held.contains(id))
            .unwrap();
        (decision, new)
    };
    let (_, short) = grant(2).await;
    let (decision, long) = grant(30 * 86_400).await;
    assert_eq!(shop.open_grant(&long, now()).unwrap().len(), 1);

    // A rival merchant handed the shop's grant: addressed to the shop, refused.
    let rival_record = shop_net.lookup(rival.id()).await.unwrap();
    let refused = shop_net
        .send_to_record(&rival_record, decision.bytes.clone())
        .await
        .unwrap();
    let Response::Refused(reason) = refused else {
        panic!("{refused:?}")
    };
    assert!(reason.contains("addressed to"), "{reason}");
    assert!(rival.received().unwrap().is_empty());
    // A rival asking the person for the shop's grant: not its grant, refused.
    let mut rng = rand::rng();
    let fetch = Message {
        claims: Claims::new(rival.id(), person.id(), now(), 3_600, &mut rng),
        body: Body::Fetch(Fetch { grant_id: long }),
    };
    let fetch = fetch
        .sign(&IdentityKey::from_secret_bytes(&rival_secret))
        .unwrap();
    let answer = rival_net.send_to(person.id(), fetch).await.unwrap();
    let Response::Refused(reason) = answer else {
        panic!("{answer:?}")
    };
    // The same answer as for a grant that does not exist: no hint that it does.
    assert_eq!(reason, format!("no grant {long}"));

    // The short grant ends; a fetch made before its end is refused after it.
    let late_fetch = shop.fetch(&short, now()).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answer = shop_net.send_to(person.id(), late_fetch).await.unwrap();
    let Response::Refused(reason) = answer else {
        panic!("{answer:?}")
    };
    assert!(reason.contains("expired"), "{reason}");

    // Revoked: a fetch made before the revocation is refused after it.
    let early_fetch = shop.fetch(&long, now()).unwrap();
    let revoke = person.revoke(&long, now()).unwrap();
    person_passport.deliver(revoke).delivered().await.unwrap();
    let answer = shop_net.send_to(person.id(), early_fetch).await.unwrap();
    let Response::Refused(reason) = answer else {
        panic!("{answer:?}")
    };
    assert!(reason.contains("revoked"), "{reason}");
    assert!(shop.open_grant(&long, now()).is_err());
}
