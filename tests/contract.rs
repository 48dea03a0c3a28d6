#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The JSON API against its own OpenAPI document, checked by a contract tester we did not
//! write: schemathesis (from PyPI, pinned) generates valid and invalid requests for every
//! documented operation of a running `hoithi serve` and fails on any 5xx, any status or
//! body the document does not list, any schema-valid request refused or invalid one taken.
//! Its settings, with the reason for every status it accepts, are in tests/contract/.
//! Installed once per build folder into a venv (python3-venv, and the package index the
//! first time). `HOITHI_CONTRACT_SEED` replays or varies the run (the CI run is pinned).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

const SCHEMATHESIS: &str = "schemathesis==4.32.5";

fn schemathesis() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-venv");
    let bin = venv.join("bin/schemathesis");
    let ready = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("4.32.5"));
    if !ready {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("run python3 -m venv (install python3 and python3-venv)");
        assert!(made.success(), "python3 -m venv failed");
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", SCHEMATHESIS])
            .status()
            .expect("run pip");
        assert!(
            pip.success(),
            "pip install {SCHEMATHESIS} failed (no access to the package index?)"
        );
    }
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_keeps_its_openapi_contract_under_schemathesis() {
    let bin = schemathesis();
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve_roles(&env, dir.path(), "web,upload").await;
    // An administrator reaches every operation; a contest in voting with entries gives the
    // stateful phase real slugs and ids to follow besides the ones it creates itself.
    let (_, token) = env.user(Role::Admin).await;
    let (_, spare) = env.user(Role::Member).await;
    env.contest_in_voting(3).await;

    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/contract");
    let seed = std::env::var("HOITHI_CONTRACT_SEED").unwrap_or_else(|_| "20261206".into());
    let out = Command::new(&bin)
        .current_dir(&config)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &config)
        .env("NO_COLOR", "1")
        .env("CONTRACT_SPARE_TOKEN", &spare)
        .args(["run", &format!("{}/api/v1/openapi.json", server.url)])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", "25", "--workers", "1", "--seed", &seed])
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    let tail: String = report
        .lines()
        .rev()
        .take(120)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        out.status.success(),
        "schemathesis found contract failures (seed {seed}):\n{tail}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really ran the operations (a broken URL or document would test nothing): as many
    // as the document lists.
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/api_doc/openapi.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|ops| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "parameters")
                .count()
        })
        .sum();
    // "Operations: 40 selected / 40 total": nothing was filtered out, and the total is the
    // document's (schemathesis 4.32 counts one fewer than the document's 41 method entries;
    // seen with every method included one at a time, so none is dropped by a filter here).
    let (selected, total) = report
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("Operations:")?;
            let mut words = rest.split_whitespace();
            let selected: usize = words.next()?.parse().ok()?;
            let total: usize = words.nth(2)?.parse().ok()?;
            Some((selected, total))
        })
        .unwrap_or((0, 0));
    assert_eq!(selected, total, "every operation selected:\n{tail}");
    assert!(
        total + 1 >= documented && total <= documented,
        "schemathesis read the document's {documented} operations, not {total}:\n{tail}"
    );
    // The administrator's token lasted the run: operations answered more than 401/403.
    assert!(
        !report.contains("Authentication failed"),
        "operations saw only 401/403:\n{tail}"
    );
}
