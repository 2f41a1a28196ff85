//! The `passport-netsim` binary's arguments, errors and exit codes.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn netsim(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_passport-netsim"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_scenario_exits_2_naming_the_field_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("bad.toml");
    std::fs::write(&scenario, "[link]\nloss = 1.5\n").unwrap();
    let out = dir.path().join("out");
    let (code, stderr) = netsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("link.loss is 1.5"), "{stderr}");
    assert!(!out.exists(), "nothing is written for a bad scenario");

    // A bad clock or burn is refused before anything runs.
    let small = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.toml");
    let (code, stderr) = netsim(&[
        "run",
        small,
        "--out",
        out.to_str().unwrap(),
        "--clock",
        "sometimes",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("use virtual or real"), "{stderr}");
    let (code, stderr) = netsim(&[
        "run",
        small,
        "--out",
        out.to_str().unwrap(),
        "--cpu-burn-us",
        "1000000",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cpu_burn_us is 1000000"), "{stderr}");
    assert!(!out.exists());

    let (code, stderr) = netsim(&["run", "no-such.toml", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("could not read the scenario no-such.toml"),
        "{stderr}"
    );
}

/// `--tier model` runs the shipped scenario in the model and writes the same
/// reports; a scenario the model cannot run is refused with the fix.
#[test]
fn the_model_tier_runs_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let small = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/small.toml");
    let (code, stderr) = netsim(&[
        "run",
        small,
        "--out",
        out.to_str().unwrap(),
        "--tier",
        "model",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("model tier"), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["sim"]["tier"], "model");
    assert!(summary["lookups"]["attempted"].as_u64().unwrap() > 0);
    for file in [
        "lookups.csv",
        "requests.csv",
        "nodes.csv",
        "lookup_latency_cdf.svg",
    ] {
        assert!(out.join(file).exists(), "{file}");
    }

    let (code, stderr) = netsim(&["run", small, "--out", out.to_str().unwrap(), "--tier", "x"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("use real or model"), "{stderr}");
    let phones = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/phones.toml");
    let (code, stderr) = netsim(&[
        "run",
        phones,
        "--out",
        out.to_str().unwrap(),
        "--tier",
        "model",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("mailboxes are not in the model"),
        "{stderr}"
    );
}

#[test]
fn compare_explains_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = netsim(&["compare", dir.path().to_str().unwrap(), "x"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("give a run's output folder or its summary.json"),
        "{stderr}"
    );
    let (code, _) = netsim(&["compare"]);
    assert_eq!(code, 2);
    // The flag form does the same.
    let (code, stderr) = netsim(&["--compare", dir.path().to_str().unwrap(), "x"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("give a run's output folder or its summary.json"),
        "{stderr}"
    );
    let (code, _) = netsim(&["--compare", "only-one"]);
    assert_eq!(code, 2);
}
