//! The member → organizer → visitor journey in Debian's Chromium (Playwright from npm, in
//! tests/browser) against the real binary. Screenshots at 360 px are kept as artifacts in
//! $CARGO_TARGET_DIR/artifacts/browser (or target/artifacts/browser).
//!
//! The upload step stops at the draft: the tus server and uploader.js come from the upload
//! feature; this test puts a processed photo in place the way the worker would.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Server, configured, hoithi, run};
use hoithi_core::testing::TestEnv;

const ADMIN: (&str, &str) = ("admin@example.vn", "mật khẩu quản trị");
const ORGANIZER: (&str, &str) = ("btc@example.vn", "mật khẩu ban tổ chức");

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

fn artifacts() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .to_string_lossy()
            .into_owned()
    });
    Path::new(&target).join("artifacts/browser")
}

fn admin(env: &TestEnv, data: &Path, args: &[&str]) {
    let mut c = hoithi(data);
    configured(&mut c, env);
    c.arg("admin").args(args);
    let (status, out, err, _) = run(c, Duration::from_secs(120));
    assert!(status.success(), "hoithi admin {args:?}: {out} {err}");
}

/// Runs one phase of the Playwright script; returns its stdout.
fn playwright(phase: &str, vars: &[(&str, &str)]) -> String {
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
    cmd.arg("e2e.mjs").arg(phase).current_dir(&dir);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "browser phase {phase} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A real JPEG of `width` px made by ffmpeg's test pattern, as the worker writes renditions.
fn jpeg(dir: &Path, width: u32) -> Vec<u8> {
    let path = dir.join(format!("{width}.jpg"));
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={width}x{}:rate=1", width * 3 / 4))
        .args(["-frames:v", "1"])
        .arg(&path)
        .status()
        .expect("ffmpeg is installed by ./dev");
    assert!(ok.success());
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn a_member_enters_an_organizer_approves_and_a_visitor_sees_it_in_chromium() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("units.csv");
    std::fs::write(&csv, "hcm,Thành Đoàn TP.HCM,\nq1,Quận Đoàn 1,hcm\n").unwrap();
    admin(&env, data.path(), &["import-units", csv.to_str().unwrap()]);
    admin(
        &env,
        data.path(),
        &[
            "create-user",
            "--email",
            ADMIN.0,
            "--password",
            ADMIN.1,
            "--name",
            "Quản trị",
            "--role",
            "admin",
        ],
    );
    admin(
        &env,
        data.path(),
        &[
            "create-user",
            "--email",
            ORGANIZER.0,
            "--password",
            ORGANIZER.1,
            "--name",
            "Ban tổ chức",
            "--role",
            "organizer",
            "--unit",
            "hcm",
        ],
    );
    let now = chrono::Utc::now();
    let toml = files.path().join("contest.toml");
    std::fs::write(
        &toml,
        format!(
            "slug = \"anh-dep\"\ntitle = \"Ảnh đẹp tuổi trẻ\"\nunit = \"hcm\"\nkinds = [\"photo\", \"video\"]\n\
             description = \"Chia sẻ khoảnh khắc đẹp của tuổi trẻ.\"\n\
             [phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n",
            (now - chrono::Duration::hours(1)).to_rfc3339(),
            (now + chrono::Duration::days(7)).to_rfc3339()
        ),
    )
    .unwrap();
    admin(
        &env,
        data.path(),
        &["create-contest", "--file", toml.to_str().unwrap()],
    );

    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let shots = artifacts();
    let shots_s = shots.to_string_lossy().into_owned();
    let common_vars = [
        ("BASE_URL", server.url.as_str()),
        ("ARTIFACTS", shots_s.as_str()),
        ("CONTEST", "anh-dep"),
        ("ADMIN_EMAIL", ADMIN.0),
        ("ADMIN_PASSWORD", ADMIN.1),
        ("ORGANIZER_EMAIL", ORGANIZER.0),
        ("ORGANIZER_PASSWORD", ORGANIZER.1),
        ("MEMBER_EMAIL", "hoa@example.vn"),
        ("MEMBER_UNIT", "q1"),
    ];
    let out = playwright("member", &common_vars);
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("ENTRY "))
        .expect("the script prints the entry id")
        .trim()
        .to_owned();
    let entry: uuid::Uuid = id.parse().unwrap();

    // What the upload service and the worker will do: a processed photo, waiting for review.
    let asset = uuid::Uuid::new_v4();
    for width in [400, 800] {
        env.storage
            .client
            .put_object()
            .bucket(&env.storage.bucket)
            .key(format!(
                "{}{width}.jpg",
                hoithi_core::media::renditions_prefix(asset)
            ))
            .content_type("image/jpeg")
            .body(jpeg(files.path(), width).into())
            .send()
            .await
            .unwrap();
    }
    sqlx::query(
        "insert into media_asset (media_asset_id, entry_id, kind, status, progress, original_key, original_bytes,
                                  original_sha256, width, height, renditions)
         values ($1, $2, 'photo', 'ready', 100, 'originals/x', 1, repeat('a', 64), 800, 600,
                 '{\"images\": [{\"width\": 400, \"key\": \"400.jpg\"}, {\"width\": 800, \"key\": \"800.jpg\"}]}')",
    )
    .bind(asset)
    .bind(entry)
    .execute(&env.db)
    .await
    .unwrap();
    sqlx::query("update entry set status = 'pending_review' where entry_id = $1")
        .bind(entry)
        .execute(&env.db)
        .await
        .unwrap();

    let mut vars = common_vars.to_vec();
    vars.push(("ENTRY", &id));
    playwright("publish", &vars);
    let status: String = sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(status, "approved");
    for name in ["01-home", "05-upload", "08-gallery", "09-entry"] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "screenshot {name}"
        );
    }
    server.stop();
}
