#![allow(clippy::unwrap_used)]

use passport_protocol::{
    Claims, IdentityKey,
    device::{DEVICE_CALL_LIFETIME_SECS, DeviceCall, DeviceMessage, Pairing},
};

use super::*;
use crate::NodeConfig;

fn now() -> Timestamp {
    Timestamp::from_secs(1_800_000_000)
}

const PEER: &[u8] = &[0, 36, 8, 1, 18, 32, 9];

fn pairing(device: &IdentityKey, home: PassportId, secret: &[u8; 16], peer: &[u8]) -> Vec<u8> {
    DeviceMessage {
        claims: Claims::new(
            device.id(),
            home,
            now(),
            DEVICE_CALL_LIFETIME_SECS,
            &mut rand::rng(),
        ),
        body: DeviceBody::Pairing(Pairing {
            proof: pairing_proof(secret, &device.id()),
            name: "Ada's phone".into(),
            peer: peer.to_vec(),
        }),
    }
    .sign(device)
    .unwrap()
}

fn call(device: &IdentityKey, home: PassportId, delegation: &[u8], at: Timestamp) -> Vec<u8> {
    DeviceMessage {
        claims: Claims::new(
            device.id(),
            home,
            at,
            DEVICE_CALL_LIFETIME_SECS,
            &mut rand::rng(),
        ),
        body: DeviceBody::Call(DeviceCall {
            delegation: delegation.to_vec(),
            peer: PEER.to_vec(),
            call: b"inbox".to_vec(),
        }),
    }
    .sign(device)
    .unwrap()
}

#[test]
fn a_code_pairs_one_device_once_and_a_removed_device_is_refused_at_once() {
    let home = Node::in_memory(NodeConfig::default()).unwrap();
    let phone = IdentityKey::generate(&mut rand::rng());
    let thief = IdentityKey::generate(&mut rand::rng());
    let code = home.new_pairing_code(now()).unwrap();

    // A wrong code, another connection, and a stranger's guess: refused.
    let wrong = pairing(&phone, home.id(), &[0; 16], PEER);
    assert!(matches!(
        home.pair_device(&wrong, PEER, now()),
        Err(DeviceError::BadCode)
    ));
    let right = pairing(&phone, home.id(), &code.secret, PEER);
    assert!(matches!(
        home.pair_device(&right, &[1, 2, 3], now()),
        Err(DeviceError::WrongConnection)
    ));
    assert!(home.devices().unwrap().is_empty());

    let device = home.pair_device(&right, PEER, now()).unwrap();
    assert_eq!(
        (device.key, device.name.as_str()),
        (phone.id(), "Ada's phone")
    );
    assert_eq!(home.devices().unwrap(), std::slice::from_ref(&device));
    // The code is used up, for this device and any other.
    let again = pairing(&thief, home.id(), &code.secret, PEER);
    assert!(matches!(
        home.pair_device(&again, PEER, now()),
        Err(DeviceError::BadCode)
    ));

    // A call with the delegation is accepted once.
    let first = call(&phone, home.id(), &device.delegation, now());
    let checked = home.check_device_call(&first, PEER, now()).unwrap();
    assert_eq!(
        (checked.device.id, checked.call.as_slice()),
        (device.id, &b"inbox"[..])
    );
    assert!(matches!(
        home.check_device_call(&first, PEER, now()),
        Err(DeviceError::Protocol(ProtocolError::Replayed { .. }))
    ));
    assert!(matches!(
        home.check_device_call(
            &call(&phone, home.id(), &device.delegation, now()),
            &[9],
            now()
        ),
        Err(DeviceError::WrongConnection)
    ));
    // Another key cannot use the phone's delegation.
    let stolen = call(&thief, home.id(), &device.delegation, now());
    assert!(home.check_device_call(&stolen, PEER, now()).is_err());

    // Removed: the very next call is refused, though the delegation has not ended.
    home.remove_device(&device.id, now()).unwrap();
    let after = call(&phone, home.id(), &device.delegation, now());
    assert!(matches!(
        home.check_device_call(&after, PEER, now()),
        Err(DeviceError::NotPaired)
    ));
    assert!(matches!(
        home.remove_device(&device.id, now()),
        Err(DeviceError::NotPaired)
    ));
    let events: Vec<_> = home
        .audit_entries()
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(matches!(events[0], AuditEvent::TokenCreated { .. }));
    assert!(matches!(events[1], AuditEvent::DeviceAdded { .. }));
    assert!(matches!(events[2], AuditEvent::TokenRevoked { .. }));
    assert!(matches!(events[3], AuditEvent::DeviceRemoved { .. }));
    // Its token went with it.
    assert!(home.tokens().unwrap().is_empty());
    assert!(matches!(
        home.device_token(&device.id),
        Err(DeviceError::NotPaired)
    ));
}

#[test]
fn codes_expire_and_only_the_newest_few_wait() {
    let home = Node::in_memory(NodeConfig::default()).unwrap();
    let phone = IdentityKey::generate(&mut rand::rng());
    let old = home.new_pairing_code(now()).unwrap();
    let late = now().plus_secs(PAIRING_CODE_LIFETIME_SECS + 1);
    let expired = DeviceMessage {
        claims: Claims::new(
            phone.id(),
            home.id(),
            late,
            DEVICE_CALL_LIFETIME_SECS,
            &mut rand::rng(),
        ),
        body: DeviceBody::Pairing(Pairing {
            proof: pairing_proof(&old.secret, &phone.id()),
            name: "late".into(),
            peer: PEER.to_vec(),
        }),
    }
    .sign(&phone)
    .unwrap();
    assert!(matches!(
        home.pair_device(&expired, PEER, late),
        Err(DeviceError::BadCode)
    ));
    // More codes than wait at once: the oldest stops working.
    let codes: Vec<_> = (0..=MAX_PENDING_CODES as u64)
        .map(|i| home.new_pairing_code(now().plus_secs(i)).unwrap())
        .collect();
    let first = pairing(&phone, home.id(), &codes[0].secret, PEER);
    assert!(matches!(
        home.pair_device(&first, PEER, now()),
        Err(DeviceError::BadCode)
    ));
    let last = pairing(&phone, home.id(), &codes[MAX_PENDING_CODES].secret, PEER);
    assert!(home.pair_device(&last, PEER, now()).is_ok());
}
