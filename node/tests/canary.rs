//! No personal value ever appears in clear anywhere in the home directory: canary
//! values go in through every path that stores data (fields, grants issued and
//! received, updates, requests, audit), the store is closed, and every byte of every
//! file under the home directories (sled's log included) is searched.
#![allow(clippy::unwrap_used)]

mod common;

use passport_node::{Approval, Home, KdfParams, Node, NodeConfig, Reply, RequestSpec, Unlock};
use passport_protocol::{FieldRequest, FieldValue, Timestamp};
use zeroize::Zeroizing;

use common::files_under;

const CANARIES: [&str; 4] = [
    "CANARY-given-8c1f",
    "CANARY-street-77ab",
    "CANARY-phone-5e3d",
    "CANARY-updated-19cc",
];

#[test]
fn no_canary_value_appears_in_clear_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Timestamp::from_secs(1_800_000_000);
    let pass = || Unlock::Passphrase(Zeroizing::new("pw".to_owned()));
    let (person_home, merchant_home) = (
        Home::new(dir.path().join("person")),
        Home::new(dir.path().join("merchant")),
    );
    person_home
        .create(&pass(), KdfParams::insecure_for_tests())
        .unwrap();
    merchant_home
        .create(&pass(), KdfParams::insecure_for_tests())
        .unwrap();
    {
        let person = Node::open(&person_home, &pass(), NodeConfig::default()).unwrap();
        let merchant = Node::open(&merchant_home, &pass(), NodeConfig::default()).unwrap();
        let mut address = std::collections::BTreeMap::new();
        address.insert("street".to_owned(), CANARIES[1].to_owned());
        person
            .set_field(
                "name.given".parse().unwrap(),
                FieldValue::Text(CANARIES[0].into()),
                t0,
            )
            .unwrap();
        person
            .set_field(
                "address.home".parse().unwrap(),
                FieldValue::Structured(address),
                t0,
            )
            .unwrap();
        person
            .set_field(
                "phone.mobile".parse().unwrap(),
                FieldValue::Text(CANARIES[2].into()),
                t0,
            )
            .unwrap();
        let spec = RequestSpec {
            requester_name: "Brand X".into(),
            fields: ["name.given", "address.home", "phone.mobile"]
                .iter()
                .map(|n| FieldRequest {
                    name: n.parse().unwrap(),
                    required: true,
                    reason: "delivery".into(),
                    attested_by: Vec::new(),
                })
                .collect(),
            purpose: "delivery".into(),
            duration_secs: 86_400,
            retention_secs: 0,
            offer: None,
            reply_to: vec![],
        };
        let request = merchant.request(person.id(), spec, t0).unwrap();
        let Reply::Pending(id) = person.receive(&request, t0).unwrap() else {
            panic!()
        };
        let grant = person.approve(&id, Approval::default(), t0).unwrap();
        merchant.receive(&grant.bytes, t0).unwrap();
        let updates = person
            .set_field(
                "phone.mobile".parse().unwrap(),
                FieldValue::Text(CANARIES[3].into()),
                t0,
            )
            .unwrap();
        merchant.receive(&updates[0].bytes, t0).unwrap();
        // The merchant really holds the values (so the scan below means something).
        let grant_id = merchant.received().unwrap()[0].grant_id;
        let values = merchant.open_grant(&grant_id, t0).unwrap();
        assert_eq!(
            values[&"phone.mobile".parse().unwrap()],
            FieldValue::Text(CANARIES[3].into())
        );
    }
    let files = files_under(dir.path());
    assert!(
        files.iter().any(|f| f.to_string_lossy().contains("db")),
        "sled files were written: {files:?}"
    );
    let mut scanned = 0usize;
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        scanned += bytes.len();
        for canary in CANARIES {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} found in clear in {}",
                file.display()
            );
        }
    }
    assert!(scanned > 10_000, "only {scanned} bytes scanned");
}
