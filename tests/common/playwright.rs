//! Running the Playwright scripts of tests/browser with Node and Debian's Chromium, and where
//! their screenshots go ($CARGO_TARGET_DIR/artifacts/browser, or target/artifacts/browser).

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

pub fn artifacts() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .to_string_lossy()
            .into_owned()
    });
    Path::new(&target).join("artifacts/browser")
}

/// Runs `node SCRIPT ARGS…` in tests/browser with `vars` set (installing the npm packages
/// first if they are missing); returns its stdout and fails the test when the script fails.
pub fn node_script(script: &str, args: &[&str], vars: &[(&str, &str)]) -> String {
    let dir = browser_dir();
    if !dir.join("node_modules/playwright-core").exists() {
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm (Node.js) is needed for the browser test");
        assert!(ok.success(), "npm ci in tests/browser failed");
    }
    let mut cmd = Command::new("node");
    cmd.arg(script).args(args).current_dir(&dir);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
