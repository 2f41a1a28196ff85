//! Separate OS processes over loopback TCP: a bootstrap daemon and a person's daemon
//! run as their own processes; the test process is the merchant. It finds the person
//! by id through the DHT, gets a grant by the person's standing policy, then the
//! person's daemon is stopped with SIGTERM and its store checked.
#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, SystemTime},
};

use libp2p::{Multiaddr, identity};
use passport_node::{
    Home, KdfParams, Node, NodeConfig, RequestSpec, Unlock,
    consent::Policy,
    net::{self, NetConfig, Response},
};
use passport_protocol::{FieldValue, Timestamp};

fn now() -> Timestamp {
    Timestamp::from_secs(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
}

/// Starts a daemon process and returns it with the address it printed.
fn daemon(
    home: &std::path::Path,
    bootstrap: Option<&Multiaddr>,
) -> (Child, Multiaddr, BufReader<std::process::ChildStdout>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_daemon"));
    command.arg(home).arg("/ip4/127.0.0.1/tcp/0");
    if let Some(b) = bootstrap {
        command.arg(b.to_string());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap_or_else(|| panic!("unexpected: {line:?}"));
    (child, addr.parse().unwrap(), stdout)
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_gets_a_grant_from_a_person_daemon_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let (boot_home, person_home) = (
        Home::new(dir.path().join("boot")),
        Home::new(dir.path().join("person")),
    );
    boot_home
        .create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    person_home
        .create(&Unlock::KeyFile, KdfParams::insecure_for_tests())
        .unwrap();
    {
        let person = Node::open_home(&person_home, &Unlock::KeyFile).unwrap();
        person
            .set_field(
                "name.given".parse().unwrap(),
                FieldValue::Text("Ada".into()),
                now(),
            )
            .unwrap();
        let policy = Policy {
            purpose: Some("delivery".into()),
            ..Policy::allow_normal_fields(None)
        };
        person.add_policy(policy, now()).unwrap();
    }
    let person_id = person_home.public_id().unwrap();

    let (mut boot, boot_addr, _boot_out) = daemon(boot_home.dir(), None);
    let (mut person, _, mut person_out) = daemon(person_home.dir(), Some(&boot_addr));

    let merchant = Node::in_memory(NodeConfig::default()).unwrap();
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap: vec![boot_addr],
        mdns: false,
        ..NetConfig::default()
    };
    let (client, event_loop) = net::new(
        merchant.clone(),
        identity::Keypair::generate_ed25519(),
        config,
    )
    .unwrap();
    tokio::spawn(event_loop.run());

    let spec = RequestSpec::new(
        "Brand X",
        ["name.given".parse().unwrap()],
        "delivery",
        86_400,
    );
    // The person's daemon publishes in the background: retry until it is found.
    let mut answer = None;
    for _ in 0..50 {
        let request = merchant.request(person_id, spec.clone(), now()).unwrap();
        match client.send_to(person_id, request).await {
            Ok(response) => {
                answer = Some(response);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let Some(Response::Message(grant)) = answer else {
        panic!("no grant: {answer:?}")
    };
    merchant.receive(&grant, now()).unwrap();
    let grant_id = merchant.received().unwrap()[0].grant_id;
    assert_eq!(
        merchant.open_grant(&grant_id, now()).unwrap()[&"name.given".parse().unwrap()],
        FieldValue::Text("Ada".into())
    );

    // SIGTERM: the daemon shuts down gracefully and exits 0.
    let status = terminate(&mut person);
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut person_out, &mut rest).unwrap();
    assert!(rest.contains("STOPPED"), "{rest:?}");
    let reopened = Node::open_home(&person_home, &Unlock::KeyFile).unwrap();
    assert_eq!(reopened.grants().unwrap().len(), 1);
    assert!(reopened.verify_audit().unwrap().is_intact());
    assert!(terminate(&mut boot).success());
}
