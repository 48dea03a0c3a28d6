#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The JSON API against its own OpenAPI document (generated from the handlers' annotations
//! and types with utoipa), checked by a contract tester we did not write: schemathesis (from PyPI, pinned) generates valid and invalid requests for every
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
    // The summary (operations, cases, failures), for `--nocapture` runs and reports.
    println!("schemathesis, seed {seed}:\n{tail}");
    // It really ran the operations (a broken URL or document would test nothing): as many
    // as the document lists.
    let doc: serde_json::Value = serde_json::from_str(hoithi::api_doc::document_json()).unwrap();
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

/// A path template of the document with every parameter filled by a value of its schema's
/// type that names nothing (so a handler that runs answers 4xx, never 405).
fn concrete(path: &str, item: &serde_json::Value) -> String {
    let mut out = path.to_owned();
    let params = item
        .as_object()
        .unwrap()
        .values()
        .filter_map(|op| op["parameters"].as_array())
        .flatten();
    for p in params.filter(|p| p["in"] == "path") {
        let name = p["name"].as_str().unwrap();
        let value = match (p["schema"]["type"].as_str(), p["schema"]["format"].as_str()) {
            (_, Some("uuid")) => "00000000-0000-7000-8000-000000000000",
            (Some("integer"), _) => "987654321",
            _ => "no-such-thing",
        };
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The document cannot drift from the router by a method: every documented operation is
/// routed (answers anything but 405), and every other method on a documented path is refused
/// with 405, so a handler added without its `#[utoipa::path]` fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_the_api_routes_is_documented_and_every_documented_one_is_routed() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve_roles(&env, dir.path(), "web,upload").await;
    let (_, token) = env.user(Role::Admin).await;
    let doc: serde_json::Value = serde_json::from_str(hoithi::api_doc::document_json()).unwrap();
    let client = reqwest::Client::new();
    let methods = ["get", "post", "put", "patch", "delete", "head", "options"];
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = format!("{}{}", server.url, concrete(path, item));
        let documented = item.as_object().unwrap();
        for method in methods {
            // axum answers HEAD with the GET handler, and the tus OPTIONS (discovery and
            // CORS preflight) answers on both upload paths.
            let implied = (method == "head" && documented.contains_key("get"))
                || (method == "options" && path.starts_with("/api/v1/uploads"));
            let res = client
                .request(method.to_uppercase().parse().unwrap(), &url)
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            if documented.contains_key(method) || implied {
                assert_ne!(status, 405, "{method} {path} is documented but not routed");
            } else if method != "options" {
                // OPTIONS elsewhere is axum's default 405 or a CORS answer; not an operation.
                assert_eq!(
                    status, 405,
                    "{method} {path} answers {status} but the document does not list it"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 7 * 25, "checked {checked} method/path pairs");
}
