//! Verified merchant names over real swarms on loopback: an issuer the person
//! trusts vouches for a merchant's name, or the merchant's own website (a local
//! HTTPS server with its own CA) names its id in `/.well-known/passport`. The
//! inbox then says who vouches; a petname still wins; an untrusted issuer, or a
//! website naming another id, leaves the name unverified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use common::{dial_address, loopback, until_found};
use futures::StreamExt as _;
use libp2p::Multiaddr;
use passport_node::{
    Event, Events, Node, NodeConfig, Passport, RequestSpec, audit::AuditEvent,
    config::TrustedIssuer, consent::Policy, person::InboxItem,
};
use passport_protocol::{FieldName, FieldValue};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn start(config: NodeConfig, bootstrap: Vec<Multiaddr>) -> (Passport, Events) {
    Passport::with_node(Node::in_memory(config).unwrap())
        .network(loopback(bootstrap))
        .spawn()
        .await
        .unwrap()
}

fn org_name() -> FieldName {
    passport_protocol::attest::NAME_FIELD.parse().unwrap()
}

/// `merchant` asks `person` for `name.given` under `name`; the request waits in
/// the person's inbox, whose item is returned.
async fn ask(merchant: &Passport, person: &Passport, name: &str) -> InboxItem {
    until_found(merchant, person.id()).await;
    let spec = RequestSpec::new(name, ["name.given".parse().unwrap()], "delivery", 3_600);
    let outcome = merchant
        .request(person.id(), spec, Duration::ZERO)
        .await
        .unwrap();
    person
        .inbox()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.pending.request_id == outcome.request_id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_issuer_vouches_for_a_merchant_s_name_and_a_petname_still_wins() {
    let (boot, _) = start(NodeConfig::default(), vec![]).await;
    let addr = dial_address(&boot).await;
    let (poste, _) = start(NodeConfig::default(), vec![addr.clone()]).await;
    let (shop, _) = start(NodeConfig::default(), vec![addr.clone()]).await;
    let trusting = NodeConfig {
        trusted_issuers: vec![TrustedIssuer {
            id: poste.id(),
            name: "La Poste".into(),
        }],
        ..NodeConfig::default()
    };
    let (ada, _) = start(trusting, vec![addr.clone()]).await;
    let (bob, _) = start(NodeConfig::default(), vec![addr]).await;

    // The shop's name, granted to La Poste and vouched for by it.
    shop.set_field(org_name(), FieldValue::Text("Brand X SAS".into()))
        .await
        .unwrap();
    shop.add_policy(Policy::allow_normal_fields(Some(poste.id())))
        .await
        .unwrap();
    until_found(&poste, shop.id()).await;
    poste
        .request(
            shop.id(),
            RequestSpec::new("La Poste", [org_name()], "name check", 3_600),
            Duration::ZERO,
        )
        .await
        .unwrap();
    poste
        .attest(shop.id(), org_name(), 86_400)
        .await
        .unwrap()
        .delivered()
        .await
        .unwrap();

    // Ada trusts La Poste: the name shows verified.
    let item = ask(&shop, &ada, "Brand X SAS").await;
    assert_eq!(item.merchant.verified_by().as_deref(), Some("La Poste"));
    assert!(
        item.sentence()
            .contains("\"Brand X SAS\" (verified by La Poste"),
        "{}",
        item.sentence()
    );
    // Bob does not: the same proof leaves it unverified for him.
    let item = ask(&shop, &bob, "Brand X SAS").await;
    assert_eq!(item.merchant.verified_by(), None);
    assert!(
        item.sentence().contains("unverified name"),
        "{}",
        item.sentence()
    );
    // Under another name the shop has no proof: unverified for Ada too.
    let item = ask(&shop, &ada, "Brand Y").await;
    assert!(
        item.sentence().contains("unverified name"),
        "{}",
        item.sentence()
    );
    // A petname wins over everything.
    ada.node()
        .set_petname(
            &shop.id(),
            Some("my shop".into()),
            passport_node::node::system_now(),
        )
        .unwrap();
    let item = ask(&shop, &ada, "Brand X SAS").await;
    assert!(
        item.sentence().starts_with("my shop (id"),
        "{}",
        item.sentence()
    );
    for p in [ada, bob, shop, poste, boot] {
        p.shutdown().await;
    }
}

/// A CA and a certificate for `localhost` it signed: (CA PEM, cert chain, key).
fn certificates() -> (
    String,
    Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>,
) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Passport test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (
        ca.pem(),
        vec![cert.der().clone(), ca.der().clone()],
        tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
}

/// Serves HTTPS on `listener`, answering `GET /.well-known/passport` with `body`.
fn serve_well_known(
    listener: tokio::net::TcpListener,
    chain: Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    key: tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>,
    body: String,
) {
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = vec![0u8; 4096];
                let Ok(n) = tls.read(&mut request).await else {
                    return;
                };
                let first = String::from_utf8_lossy(&request[..n]);
                let status = if first.starts_with("GET /.well-known/passport ") {
                    "200 OK"
                } else {
                    "404 Not Found"
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
}

/// Waits for the person's node to record a check of a merchant's domain.
async fn domain_checked(events: &mut Events) -> (bool, Option<String>) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.next())
            .await
            .expect("no domain check within 20 s")
            .expect("events ended");
        if let Event::Committed {
            event: AuditEvent::DomainChecked {
                verified, reason, ..
            },
            ..
        } = event
        {
            return (verified, reason);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_s_website_vouches_for_it_and_one_naming_another_id_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, chain, key) = certificates();
    let roots = dir.path().join("ca.pem");
    std::fs::write(&roots, ca_pem).unwrap();
    let (boot, _) = start(NodeConfig::default(), vec![]).await;
    let addr = dial_address(&boot).await;
    let (ada, mut ada_events) = start(
        NodeConfig {
            https_roots: Some(roots),
            ..NodeConfig::default()
        },
        vec![addr.clone()],
    )
    .await;
    ada.set_field(
        "name.given".parse().unwrap(),
        FieldValue::Text("Ada".into()),
    )
    .await
    .unwrap();
    for honest in [true, false] {
        // The site's port goes in the shop's config, and the shop's id (or
        // someone else's) in the site's file.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let domain = format!("localhost:{}", listener.local_addr().unwrap().port());
        let node = Node::in_memory(NodeConfig {
            merchant_domain: Some(domain.clone()),
            ..NodeConfig::default()
        })
        .unwrap();
        let named = if honest { node.id() } else { ada.id() };
        serve_well_known(
            listener,
            chain.clone(),
            key.clone_key(),
            format!("{{\"id\": \"{named}\"}}"),
        );
        let (shop, _) = Passport::with_node(node)
            .network(loopback(vec![addr.clone()]))
            .spawn()
            .await
            .unwrap();
        let before = ask(&shop, &ada, "Brand X").await;
        // The check runs beside the request, not before it.
        assert_eq!(before.merchant.domain.as_ref().unwrap().domain, domain);
        let (verified, reason) = domain_checked(&mut ada_events).await;
        assert_eq!(verified, honest, "{reason:?}");
        let after = ada.node().merchant(&shop.id()).unwrap().unwrap();
        if honest {
            assert_eq!(after.verified_by(), Some(format!("its website {domain}")));
            let item = ask(&shop, &ada, "Brand X").await;
            assert!(
                item.sentence()
                    .contains(&format!("(verified by its website {domain}")),
                "{}",
                item.sentence()
            );
        } else {
            assert!(
                reason.unwrap().contains("names"),
                "a file naming another id"
            );
            assert_eq!(after.verified_by(), None);
        }
        shop.shutdown().await;
    }
    ada.shutdown().await;
    boot.shutdown().await;
}
