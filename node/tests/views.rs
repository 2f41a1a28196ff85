//! The API's answers as types (`passport_node::http::views`): each reads back what
//! it wrote, and the ones built from the core's records have the shapes
//! `docs/API.md` gives, which the handlers built with `json!` before.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeSet, fmt::Debug};

use passport_node::{
    Keys,
    audit::{AuditEvent, AuditProblem, AuditReport},
    consent::{Effect, FieldScope},
    http::views::{
        ApiToken, AuditEntry, AuditVerification, DeliveringTo, DhtServed, Empty, ErrorBody, Field,
        FieldValues, InboxItem, IssuedGrant, NewToken, Peer, Policy, Proof, ReceivedGrant, Removed,
        RequestOutcome, RequestResult, RequestedField, Scope, Status, TokenRevoked, UpdatesTo,
    },
    merchant::RequestStatus,
    person,
    vault::{FieldRecord, Sensitivity},
};
use passport_protocol::{
    Date, FieldName, FieldValue, GrantId, MessageId, Offer, PassportId, Terms, Timestamp,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// Serializes `view`, checks it reads back equal, and gives its JSON.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(view: &T) -> Value {
    let text = serde_json::to_string(view).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, view, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn id() -> PassportId {
    Keys::generate().identity.id()
}

const AT: Timestamp = Timestamp::from_secs(1_767_225_600);

fn terms() -> Terms {
    Terms {
        retention_secs: 0,
        no_resale: true,
        purpose: "delivery".into(),
    }
}

fn name(text: &str) -> FieldName {
    text.parse().unwrap()
}

#[test]
fn every_view_reads_back_what_it_wrote() {
    let (grant, message) = (GrantId::from_bytes([1; 16]), MessageId::from_bytes([2; 16]));
    let status = Status {
        id: id(),
        page: "http://127.0.0.1:7117/".into(),
        peer_id: "12D3KooW".into(),
        listen_addrs: vec!["/ip4/127.0.0.1/tcp/4001".into()],
        external_addrs: vec![],
        connected_peers: 3,
        routing_table_size: 5,
        reachability: "public".into(),
        relay_addrs: vec![],
        hole_punch_attempts: 1,
        hole_punch_successes: 0,
        published: true,
        rejected_records: 2,
        throttled: 0,
        dht_served: DhtServed {
            find_node: 41,
            get_record: 3,
            put_record: 2,
            other: 0,
        },
    };
    let value = round_trip(&status);
    assert_eq!(
        keys(&value["dht_served"]),
        ["find_node", "get_record", "other", "put_record"]
    );
    round_trip(&Field {
        name: name("birth.date"),
        value: FieldValue::Date(Date::new(1815, 12, 10).unwrap()),
        tags: ["identity".to_string()].into(),
        sensitivity: Sensitivity::Sensitive,
        updated_at: AT,
        attestations: vec![passport_node::http::views::FieldAttestation {
            issuer: id(),
            expires_at: AT.plus_secs(86_400),
            received_at: AT,
        }],
    });
    round_trip(&passport_node::http::views::DeliveredData {
        id: message,
        from: id(),
        data_type: "receipt".into(),
        title: "Order 1042".into(),
        items: [("total".to_string(), "59.90 EUR".to_string())].into(),
        received_at: AT,
    });
    round_trip(&InboxItem {
        request_id: message,
        sentence: "\"Brand X\" asks for name.given".into(),
        merchant: id(),
        merchant_name: "Brand X".into(),
        merchant_name_verified: true,
        merchant_verified_by: Some("La Poste".into()),
        petname: Some("the shop".into()),
        first_contact: true,
        fields: vec![RequestedField {
            name: name("name.given"),
            required: false,
            reason: "to address the parcel".into(),
            attested_by: vec![id()],
            attested: Some(id()),
        }],
        purpose: "delivery".into(),
        duration_secs: 86_400,
        retention_secs: 0,
        offer: Some(Offer {
            text: "free shipping".into(),
            details: [("discount_percent".to_string(), "10".to_string())].into(),
        }),
        received_at: AT,
        expires_at: AT.plus_secs(7 * 86_400),
    });
    round_trip(&IssuedGrant {
        grant_id: grant,
        merchant: id(),
        fields: vec![name("name.given")],
        terms: terms(),
        issued_at: AT,
        expires_at: AT.plus_secs(86_400),
        live: false,
        revoked_at: Some(AT.plus_secs(60)),
        receipt: Some(message),
    });
    round_trip(&ReceivedGrant {
        grant_id: grant,
        person: id(),
        fields: vec![name("name.given")],
        terms: terms(),
        received_at: AT,
        expires_at: AT.plus_secs(86_400),
        revoked_at: None,
        erased_at: Some(AT.plus_secs(60)),
        attested: [(
            name("address.home"),
            passport_node::http::views::AttestedField {
                issuer: id(),
                expires_at: AT.plus_secs(86_400),
            },
        )]
        .into(),
    });
    for result in [
        None,
        Some(RequestResult::Pending),
        Some(RequestResult::Granted { grant }),
        Some(RequestResult::Refused {
            reason: "not now".into(),
        }),
        Some(RequestResult::Accepted),
        Some(RequestResult::AlreadyReceived),
        Some(RequestResult::Waiting),
    ] {
        round_trip(&RequestOutcome {
            request_id: message,
            result,
        });
    }
    round_trip(&AuditEntry {
        seq: 7,
        at: AT,
        event: AuditEvent::GrantRevoked { grant, to: id() },
        has_message: true,
        message_id: Some(message),
    });
    round_trip(&AuditVerification {
        intact: false,
        entries: 12,
        problems: vec![
            AuditProblem::Deleted { from: 3, to: 5 },
            AuditProblem::Reordered {
                seq: 6,
                belongs_at: 8,
            },
        ],
    });
    round_trip(&Policy {
        id: 3,
        effect: Effect::Allow,
        merchant: Some(id()),
        purpose: None,
        fields: FieldScope {
            any_normal: true,
            named: [name("payment.card")].into(),
        },
        max_duration_secs: Some(30 * 86_400),
        created_at: AT,
    });
    round_trip(&vec![Peer {
        peer_id: "12D3KooW".into(),
        addrs: vec!["/ip4/127.0.0.1/tcp/4001".into()],
    }]);
    round_trip(&DeliveringTo {
        delivering_to: vec![id()],
    });
    round_trip(&UpdatesTo { updates_to: vec![] });
    round_trip(&Removed { removed: 1 });
    round_trip(&Proof {
        proof: "ab12".into(),
    });
    round_trip(&FieldValues::from([(
        name("address.home"),
        FieldValue::Structured([("city".to_string(), "Lyon".to_string())].into()),
    )]));
}

/// The shapes `docs/API.md` gives, which the handlers built with `json!` before
/// these types existed.
#[test]
fn the_shapes_are_the_documented_ones() {
    let merchant = id();
    let grant = GrantId::from_bytes([1; 16]);
    assert_eq!(round_trip(&Empty {}), json!({}));
    assert_eq!(
        round_trip(&ErrorBody {
            error: "no grant".into()
        }),
        json!({ "error": "no grant" })
    );
    assert_eq!(
        round_trip(&DeliveringTo {
            delivering_to: vec![merchant]
        }),
        json!({ "delivering_to": [merchant.to_string()] })
    );
    assert_eq!(round_trip(&Removed { removed: 1 }), json!({ "removed": 1 }));
    // A decided request's result is the core's RequestStatus as it was sent.
    for status in [
        RequestStatus::Waiting,
        RequestStatus::Granted { grant },
        RequestStatus::Refused {
            reason: "no".into(),
        },
    ] {
        let result = RequestResult::from(status.clone());
        assert_eq!(round_trip(&result), json!(status));
        assert_eq!(round_trip(&result)["status"], result.name());
    }
    for (result, status) in [
        (RequestResult::Pending, "pending"),
        (RequestResult::Accepted, "accepted"),
        (RequestResult::AlreadyReceived, "already_received"),
    ] {
        assert_eq!(round_trip(&result), json!({ "status": status }));
        assert_eq!(result.name(), status);
    }
    let message = MessageId::from_bytes([2; 16]);
    assert_eq!(
        round_trip(&RequestOutcome {
            request_id: message,
            result: None
        }),
        json!({ "request_id": message.to_string(), "result": null })
    );

    let record = FieldRecord {
        value: FieldValue::Text("Ada".into()),
        tags: BTreeSet::new(),
        sensitivity: Sensitivity::Normal,
        updated_at: AT,
        attestations: Vec::new(),
    };
    let given = name("name.given");
    assert_eq!(
        round_trip(&Field::new(given.clone(), record.clone())),
        json!({
            "name": given, "value": record.value, "tags": record.tags,
            "sensitivity": record.sensitivity, "updated_at": record.updated_at,
            "attestations": [],
        })
    );
    let issued = person::IssuedGrant {
        grant_id: grant,
        merchant,
        request_id: message,
        fields: vec![given],
        terms: terms(),
        issued_at: AT,
        expires_at: AT.plus_secs(86_400),
        seal_to: Keys::generate().sealing.public_key(),
        reply_to: vec![],
        revoked_at: None,
        receipt: None,
        attested_by: Default::default(),
    };
    let g = &issued;
    assert_eq!(
        round_trip(&IssuedGrant::new(g, AT)),
        json!({
            "grant_id": g.grant_id, "merchant": g.merchant, "fields": g.fields, "terms": g.terms,
            "issued_at": g.issued_at, "expires_at": g.expires_at, "live": g.is_live(AT),
            "revoked_at": g.revoked_at, "receipt": g.receipt,
        })
    );
    let report = AuditReport {
        entries: 12,
        problems: vec![AuditProblem::ChainBroken { seq: 4 }],
    };
    assert_eq!(
        round_trip(&AuditVerification::from(report.clone())),
        json!({ "intact": false, "entries": 12, "problems": [{ "problem": "chain_broken", "seq": 4 }] })
    );
    assert_eq!(Sensitivity::Sensitive.name(), json!(Sensitivity::Sensitive));
    assert_eq!(Effect::Deny.name(), json!(Effect::Deny));
    for scope in [Scope::Full, Scope::Person, Scope::Merchant, Scope::Read] {
        assert_eq!(scope.name(), json!(scope));
        assert_eq!(scope.name().parse::<Scope>(), Ok(scope));
    }
}

#[test]
fn token_views_have_the_documented_shapes_and_a_new_token_hides_in_debug() {
    let made = NewToken {
        id: "3f9a0c1e".into(),
        token: format!("ppt_3f9a0c1e_{}", "ab".repeat(32)),
        scope: Scope::Merchant,
        name: "shop".into(),
        created_at: AT,
    };
    assert_eq!(
        round_trip(&made),
        json!({
            "id": "3f9a0c1e", "token": made.token, "scope": "merchant", "name": "shop",
            "created_at": AT,
        })
    );
    assert!(!format!("{made:?}").contains(&"ab".repeat(32)));
    let listed = ApiToken {
        id: "3f9a0c1e".into(),
        scope: Scope::Read,
        name: String::new(),
        created_at: AT,
    };
    assert_eq!(
        round_trip(&listed),
        json!({ "id": "3f9a0c1e", "scope": "read", "name": "", "created_at": AT })
    );
    assert_eq!(
        round_trip(&TokenRevoked {
            revoked: "3f9a0c1e".into()
        }),
        json!({ "revoked": "3f9a0c1e" })
    );
}
