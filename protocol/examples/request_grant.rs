//! One request→grant exchange between a merchant and a person, step by step, using
//! only the protocol crate: `cargo run -p passport-protocol --example request_grant`.
//! Exits 0 when every step behaved as it should.
#![allow(clippy::print_stdout, missing_docs)]

use std::{collections::BTreeMap, process::ExitCode, time::SystemTime};

use passport_protocol::{
    Body, Claims, Decision, FieldRequest, FieldValue, FieldValues, Grant, GrantId, IdentityKey,
    Message, Offer, Outcome, ProtocolError, Request, Sealed, SealingKey, SeenIdCache, Terms,
    Timestamp, verify,
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("\nAll steps succeeded.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("\nA step failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = rand::rng();
    let now = Timestamp::from_secs(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)?
            .as_secs(),
    );

    println!("1. Keys. Each side has an identity (Ed25519) and a sealing key (X25519).");
    let person = IdentityKey::generate(&mut rng);
    let merchant = IdentityKey::generate(&mut rng);
    let merchant_seal = SealingKey::generate(&mut rng);
    println!("   person's passport id:   {}", person.id());
    println!("   merchant's passport id: {}", merchant.id());

    println!("\n2. The merchant signs a request for three fields, for delivery, for 30 days.");
    let request = Message {
        claims: Claims::new(merchant.id(), person.id(), now, 3600, &mut rng),
        body: Body::Request(Request {
            requester_name: "Brand X".into(),
            fields: vec![
                FieldRequest {
                    name: "name.given".parse()?,
                    required: true,
                    reason: "to address the parcel".into(),
                    attested_by: Vec::new(),
                },
                FieldRequest {
                    name: "address.home".parse()?,
                    required: true,
                    reason: "to deliver it".into(),
                    attested_by: Vec::new(),
                },
                FieldRequest {
                    name: "phone.mobile".parse()?,
                    required: false,
                    reason: "so the courier can call".into(),
                    attested_by: Vec::new(),
                },
            ],
            purpose: "delivery".into(),
            duration_secs: 30 * 86_400,
            retention_secs: 0,
            offer: Some(Offer {
                text: "free shipping".into(),
                details: BTreeMap::new(),
            }),
            reply_to: vec![],
            seal_to: merchant_seal.public_key(),
            name_proof: None,
            domain: None,
        }),
    };
    let request_bytes = request.sign(&merchant)?;
    println!("   {} bytes of COSE_Sign1.", request_bytes.len());

    println!("\n3. The person's node verifies it and shows it in one sentence.");
    let mut person_seen = SeenIdCache::default();
    let verified = verify(&request_bytes, now, &person.id(), &mut person_seen)?;
    let Body::Request(asked) = &verified.message().body else {
        return Err("not a request".into());
    };
    let names: Vec<&str> = asked.fields.iter().map(|f| f.name.as_str()).collect();
    println!(
        "   \"{}\" (name unverified, id {}) asks for {} for {}, for {} days, offering {}.",
        asked.requester_name,
        verified.signer().fmt_short(),
        names.join(", "),
        asked.purpose,
        asked.duration_secs / 86_400,
        asked.offer.as_ref().map_or("nothing", |o| o.text.as_str()),
    );

    println!(
        "\n4. The person allows two of the three fields; the node seals them to the merchant."
    );
    let values = FieldValues::from([
        ("name.given".parse()?, FieldValue::Text("Ada".into())),
        (
            "address.home".parse()?,
            FieldValue::Text("12 Rue des Lilas, 69003 Lyon".into()),
        ),
    ]);
    let grant_id = GrantId::random(&mut rng);
    let sealed = Sealed::seal(&values, &asked.seal_to, &grant_id, &merchant.id(), &mut rng)?;
    let grant = Message {
        claims: Claims::new(
            person.id(),
            merchant.id(),
            now,
            asked.duration_secs,
            &mut rng,
        ),
        body: Body::Decision(Decision {
            request_id: verified.message().claims.id,
            outcome: Outcome::Granted(Grant {
                grant_id,
                partial: true,
                fields: values.keys().cloned().collect(),
                terms: Terms {
                    retention_secs: 0,
                    no_resale: true,
                    purpose: asked.purpose.clone(),
                },
                sealed,
            }),
        }),
    };
    let grant_bytes = grant.sign(&person)?;
    println!(
        "   grant {grant_id}: {} bytes, valid 30 days, no resale.",
        grant_bytes.len()
    );

    println!("\n5. The merchant verifies the grant and opens the values.");
    let mut merchant_seen = SeenIdCache::default();
    let received = verify(&grant_bytes, now, &merchant.id(), &mut merchant_seen)?;
    let opened = received
        .open_values(&merchant_seal)
        .ok_or("no values in the grant")??;
    for (name, value) in &opened {
        println!("   {name} = {value}");
    }
    if opened != values {
        return Err("opened values differ from the granted ones".into());
    }

    println!("\n6. What must fail, fails:");
    match verify(&grant_bytes, now, &merchant.id(), &mut merchant_seen) {
        Err(e @ ProtocolError::Replayed { .. }) => println!("   the same grant again: {e}"),
        other => return Err(format!("replay was not refused: {other:?}").into()),
    }
    let mut tampered = grant_bytes.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    match verify(&tampered, now, &merchant.id(), &mut SeenIdCache::default()) {
        Err(e) => println!("   one flipped bit: {e}"),
        Ok(_) => return Err("a tampered grant verified".into()),
    }
    let other_merchant = SealingKey::generate(&mut rng);
    match received.open_values(&other_merchant) {
        Some(Err(e)) => println!("   another merchant's key: {e}"),
        _ => return Err("another key opened the grant".into()),
    }
    let later = now.plus_secs(31 * 86_400);
    match verify(
        &grant_bytes,
        later,
        &merchant.id(),
        &mut SeenIdCache::default(),
    ) {
        Err(e @ ProtocolError::Expired { .. }) => println!("   31 days later: {e}"),
        other => return Err(format!("an expired grant was accepted: {other:?}").into()),
    }
    Ok(())
}
