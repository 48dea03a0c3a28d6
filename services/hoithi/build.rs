//! The build's one version string, `HOITHI_VERSION`: the workspace version plus what git says
//! about the checkout — `0.9.0 (v0.9.0)` on a tag, `0.9.0 (v0.9.0-3-g6403bf5)` after one,
//! `0.9.0+g6403bf5` with no tag, `-dirty`/`.dirty` with uncommitted changes. Without git (a
//! release tarball, the Docker build context, which has no .git) `HOITHI_GIT_DESCRIBE` may
//! carry `git describe`'s answer in (`docker build --build-arg HOITHI_GIT_DESCRIBE=…`); with
//! neither it is the crate version alone.
//!
//! Rebuilds follow HEAD and the ref it points to (a commit, a checkout, a new tag), not every
//! file: a dirty mark is as of the last time this script ran (`infra/release.sh` builds from a
//! clean tree, where it is exact).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let crate_version = std::env::var("CARGO_PKG_VERSION").unwrap_or_else(|_| "0.0.0".into());
    println!("cargo:rerun-if-env-changed=HOITHI_GIT_DESCRIBE");
    println!("cargo:rerun-if-changed=build.rs");
    let describe = match std::env::var("HOITHI_GIT_DESCRIBE") {
        Ok(given) if !given.trim().is_empty() => Some(given.trim().to_owned()),
        _ => {
            watch_git();
            git(&["describe", "--tags", "--always", "--dirty"])
        }
    };
    let version = match describe {
        None => crate_version,
        Some(d) => combine(&crate_version, &d),
    };
    println!("cargo:rustc-env=HOITHI_VERSION={version}");
}

/// `0.9.0` and `v0.9.0` → `0.9.0 (v0.9.0)`; `0.9.0` and `6403bf5-dirty` → `0.9.0+g6403bf5.dirty`.
fn combine(crate_version: &str, describe: &str) -> String {
    let (base, dirty) = match describe.strip_suffix("-dirty") {
        Some(base) => (base, true),
        None => (describe, false),
    };
    let bare_commit = base.len() >= 4 && base.chars().all(|c| c.is_ascii_hexdigit());
    if bare_commit {
        let dirty = if dirty { ".dirty" } else { "" };
        format!("{crate_version}+g{base}{dirty}")
    } else {
        format!("{crate_version} ({describe})")
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Asks cargo to rerun this script when HEAD moves: HEAD itself, the branch it points to,
/// packed refs and tags. Outside a git checkout there is nothing to watch.
fn watch_git() {
    let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]).map(PathBuf::from) else {
        return;
    };
    let common = git(&["rev-parse", "--git-common-dir"])
        .map(|c| absolute(&git_dir, &c))
        .unwrap_or_else(|| git_dir.clone());
    watch(&git_dir.join("HEAD"));
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&common.join(branch));
    }
    watch(&common.join("packed-refs"));
    watch(&common.join("refs/tags"));
}

fn absolute(git_dir: &Path, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        p
    } else {
        // `--git-common-dir` is relative to the current directory, like `.git`.
        std::env::current_dir()
            .map(|d| d.join(&p))
            .unwrap_or_else(|_| git_dir.to_path_buf())
    }
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
