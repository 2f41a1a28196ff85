//! `passport demo`: four real nodes in this process on loopback (a bootstrap node,
//! Ada's, Brand X's and La Poste's, an issuer) walk through Passport step by step,
//! in plain words. Every step runs the production code: the node core, libp2p, the
//! DHT, signed messages.

use std::time::Duration;

use anyhow::{Context as _, bail};
use libp2p::{Multiaddr, multiaddr::Protocol};
use passport_node::{
    Approval, Node, NodeConfig, Passport, RequestAnswer, RequestSpec, RequestStatus,
    consent::{Effect, FieldScope, Policy},
    net::NetConfig,
};
use passport_protocol::{FieldName, FieldRequest, FieldValue, Offer, PeerRecord};

use crate::output;

/// A fresh node on loopback, joined through `bootstrap`.
async fn start(bootstrap: Vec<Multiaddr>) -> anyhow::Result<Passport> {
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        mdns: false,
        bootstrap,
        lookup_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        ..NetConfig::default()
    };
    let node = Node::in_memory(NodeConfig::default())?;
    let (passport, _events) = Passport::with_node(node)
        .network(config)
        .sweep_every(Duration::from_secs(3600))
        .spawn()
        .await?;
    Ok(passport)
}

/// A running node's network, which every node of the demo has.
fn net(passport: &Passport) -> anyhow::Result<&passport_node::net::Client> {
    passport.client().context("the node runs without a network")
}

fn field(name: &str) -> anyhow::Result<FieldName> {
    Ok(name.parse()?)
}

fn text(value: &str) -> FieldValue {
    FieldValue::Text(value.into())
}

struct Steps {
    n: u32,
}

impl Steps {
    fn step(&mut self, title: &str) {
        self.n += 1;
        output::line(format!("\n{}. {title}", self.n));
    }

    fn say(&self, text: impl std::fmt::Display) {
        output::line(format!("   {text}"));
    }
}

/// Ada's record, once her node's background publication reached the DHT.
async fn find(merchant: &Passport, ada: &Passport) -> anyhow::Result<PeerRecord> {
    let mut last = None;
    for _ in 0..50 {
        match net(merchant)?.lookup(ada.id()).await {
            Ok(record) => return Ok(record),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last.map_or_else(|| anyhow::anyhow!("not found"), Into::into))
}

pub(crate) async fn run() -> anyhow::Result<()> {
    let mut steps = Steps { n: 0 };
    output::line("Passport demo: four real nodes on this machine, talking over loopback TCP.");

    steps.step("Starting a bootstrap node, Ada's node (a person), Brand X's node (a merchant) and La Poste's node (an issuer).");
    let boot = start(vec![]).await?;
    let boot_addr = net(&boot)?
        .listen_addrs()
        .await?
        .into_iter()
        .next()
        .context("the bootstrap node does not listen")?
        .with(Protocol::P2p(net(&boot)?.peer_id()));
    let ada = start(vec![boot_addr.clone()]).await?;
    let brand_x = start(vec![boot_addr.clone()]).await?;
    let poste = start(vec![boot_addr]).await?;
    steps.say(format!("Ada's passport id:      {}", ada.id()));
    steps.say(format!("Brand X's passport id:  {}", brand_x.id()));
    steps.say(format!("La Poste's passport id: {}", poste.id()));

    steps.step("Ada fills in her passport. Values are encrypted in her node's store.");
    for (name, value) in [
        ("name.given", "Ada"),
        ("name.family", "Lovelace"),
        ("address.home", "12 Rue des Lilas, 69001 Lyon"),
        ("phone.mobile", "+33 6 12 34 56 78"),
    ] {
        ada.set_field(field(name)?, text(value)).await?;
        steps.say(format!("{name} = {value}"));
    }

    steps.step("Ada sets a standing policy: Brand X may have her normal fields for delivery.");
    ada.add_policy(Policy {
        id: 0,
        effect: Effect::Allow,
        merchant: Some(brand_x.id()),
        purpose: Some("delivery".into()),
        fields: FieldScope {
            any_normal: true,
            named: [field("name.given")?, field("address.home")?]
                .into_iter()
                .collect(),
        },
        max_duration_secs: Some(30 * 86_400),
        created_at: passport_node::node::system_now(),
    })
    .await?;
    ada.tag_field(
        field("phone.mobile")?,
        ["contact".to_string()].into_iter().collect(),
        Some(passport_node::vault::Sensitivity::Sensitive),
    )
    .await?;
    steps.say("Her phone number is marked sensitive: it is always asked.");

    steps.step("La Poste checks Ada's address and vouches for it: a signed attestation.");
    let asked = poste
        .request_to_record(
            &find(&poste, &ada).await?,
            RequestSpec::new(
                "La Poste",
                [field("address.home")?],
                "address check",
                86_400,
            ),
            Duration::ZERO,
        )
        .await?;
    ada.approve(asked.request_id, Approval::default())
        .await?
        .delivered()
        .await?;
    poste
        .decision(asked.request_id, Duration::from_secs(10))
        .await?
        .context("La Poste lost its request")?;
    poste
        .attest(ada.id(), field("address.home")?, 365 * 86_400)
        .await?
        .delivered()
        .await?;
    let held = ada
        .field(field("address.home")?)
        .await?
        .context("Ada's address vanished")?
        .attestations;
    let Some(attestation) = held.first() else {
        bail!("La Poste's attestation did not reach Ada");
    };
    steps.say(format!(
        "Ada's node keeps it beside address.home: La Poste's signature over a salted digest of the value, until {}.",
        output::time(attestation.expires_at)
    ));

    steps.step("Brand X finds Ada's node in the DHT, knowing only her passport id.");
    let record = find(&brand_x, &ada).await?;
    steps.say(format!(
        "Found a record signed by Ada's key: {} address(es), sequence {}.",
        record.addresses.len(),
        record.sequence
    ));

    steps.step("Brand X asks for her name, and her address attested by La Poste, for delivery. The policy answers at once.");
    let poste_id = poste.id();
    let spec = |fields: &[&str], purpose: &str| -> anyhow::Result<RequestSpec> {
        Ok(RequestSpec {
            requester_name: "Brand X".into(),
            fields: fields
                .iter()
                .map(|f| {
                    Ok(FieldRequest {
                        name: field(f)?,
                        required: true,
                        reason: purpose.into(),
                        attested_by: if *f == "address.home" {
                            vec![poste_id]
                        } else {
                            Vec::new()
                        },
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            purpose: purpose.into(),
            duration_secs: 30 * 86_400,
            retention_secs: 0,
            offer: Some(Offer {
                text: "free shipping".into(),
                details: Default::default(),
            }),
            reply_to: Vec::new(),
        })
    };
    let outcome = brand_x
        .request_to_record(
            &record,
            spec(&["name.given", "address.home"], "delivery")?,
            Duration::ZERO,
        )
        .await?;
    let RequestAnswer::Decided(RequestStatus::Granted {
        grant: delivery_grant,
    }) = outcome.answer
    else {
        bail!("the policy did not answer with a grant");
    };
    let values = brand_x.open_grant(delivery_grant).await?;
    steps.say(format!(
        "Grant {delivery_grant}, signed by Ada's node, sealed to Brand X:"
    ));
    let attested = brand_x
        .received()
        .await?
        .into_iter()
        .find(|g| g.grant_id == delivery_grant)
        .map(|g| g.attested)
        .unwrap_or_default();
    for (name, value) in &values {
        let note = match attested.get(name) {
            Some(a) if a.issuer == poste_id => {
                "  (attested by La Poste, checked by Brand X's node)"
            }
            Some(_) => "  (attested)",
            None => "",
        };
        steps.say(format!("  {name} = {}{note}", display(value)));
    }
    if !attested.contains_key(&field("address.home")?) {
        bail!("the address did not arrive attested");
    }

    steps.step("Brand X also asks for her phone, for delivery updates. Ada must decide.");
    let outcome = brand_x
        .request_to_record(
            &record,
            spec(&["phone.mobile"], "delivery updates by SMS")?,
            Duration::ZERO,
        )
        .await?;
    if outcome.answer != RequestAnswer::Pending {
        bail!("the request did not wait for Ada");
    }
    let request_id = outcome.request_id;
    steps.say("Brand X is told: pending.");
    let inbox = ada.inbox().await?;
    let item = inbox.first().context("Ada's inbox is empty")?;
    steps.say(format!("Ada's inbox: {}", item.sentence()));
    ada.approve(
        request_id,
        Approval {
            duration_secs: Some(7 * 86_400),
            ..Approval::default()
        },
    )
    .await?
    .delivered()
    .await?;
    let status = brand_x
        .decision(request_id, Duration::from_secs(10))
        .await?
        .context("Brand X lost its request")?;
    let RequestStatus::Granted { grant: phone_grant } = status else {
        bail!("the approval did not reach Brand X");
    };
    let values = brand_x.open_grant(phone_grant).await?;
    steps.say(format!(
        "Ada approved for 7 days; Brand X's node received the grant: phone.mobile = {}",
        values
            .get(&field("phone.mobile")?)
            .map(display)
            .unwrap_or_default()
    ));

    steps.step("Brand X fetches the current values under its delivery grant.");
    brand_x.fetch(delivery_grant).await?;
    steps.say("Ada's node answered with a fresh signed update: the values are current.");

    steps.step("Ada moves house. Her node pushes the new address to Brand X.");
    let updates = ada
        .set_field(
            field("address.home")?,
            text("3 Quai Saint-Vincent, 69001 Lyon"),
        )
        .await?;
    for update in updates {
        update.delivered().await?;
    }
    let values = brand_x.open_grant(delivery_grant).await?;
    let address = field("address.home")?;
    let still_attested = brand_x
        .received()
        .await?
        .into_iter()
        .find(|g| g.grant_id == delivery_grant)
        .is_some_and(|g| g.attested.contains_key(&address));
    steps.say(format!(
        "Brand X now holds address.home = {}{}",
        values
            .get(&field("address.home")?)
            .map(display)
            .unwrap_or_default(),
        if still_attested {
            ""
        } else {
            " (no longer attested: La Poste vouched for the old value)"
        }
    ));

    steps.step("Ada asks Brand X: what do you hold about me? Its node answers at once, signed.");
    let statement = ada
        .request_access(brand_x.id())
        .await?
        .context("Brand X's node did not answer")?;
    for held in &statement.statement.grants {
        steps.say(format!(
            "  {}: {} for {}",
            held.state.name(),
            held.fields
                .iter()
                .map(FieldName::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            held.purpose
        ));
    }

    steps.step("Ada revokes the delivery grant. Brand X's node erases and sends a receipt.");
    ada.revoke(delivery_grant).await?.delivered().await?;
    let issued = ada
        .grants()
        .await?
        .into_iter()
        .find(|g| g.grant_id == delivery_grant)
        .context("Ada's grant vanished")?;
    let receipt = issued
        .receipt
        .context("no deletion receipt reached Ada's node")?;
    steps.say(format!(
        "Ada's node verified and logged deletion receipt {receipt}."
    ));
    match brand_x.open_grant(delivery_grant).await {
        Err(e) => steps.say(format!("Brand X opening it now: {e}")),
        Ok(_) => bail!("Brand X could still open a revoked grant"),
    }

    steps.step("Ada reads her audit log: every share, revocation and receipt, hash-chained.");
    for entry in ada.audit().await? {
        let event = serde_json::to_value(&entry.event)?;
        steps.say(format!(
            "#{:<3} {}",
            entry.seq,
            output::s(&event, "event").replace('_', " ")
        ));
    }
    let report = ada.verify_audit().await?;
    if !report.is_intact() {
        bail!("the audit log does not verify");
    }
    steps.say(format!(
        "Hash chain verified: {} entries, intact.",
        report.entries
    ));

    for passport in [poste, brand_x, ada, boot] {
        passport.shutdown().await;
    }
    output::line("\nEvery step succeeded.");
    Ok(())
}

/// A value as the other commands print it.
fn display(value: &FieldValue) -> String {
    serde_json::to_value(value).map_or_else(|_| String::new(), |v| output::value_text(&v))
}
