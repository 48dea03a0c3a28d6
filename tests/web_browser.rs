#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The member → organizer → visitor journey in Debian's Chromium (Playwright from npm, in
//! tests/browser) against the real binary. Screenshots at 360 px are kept as artifacts in
//! $CARGO_TARGET_DIR/artifacts/browser (or target/artifacts/browser).
//!
//! Nothing is stood in for: one `hoithi serve` runs all roles (web, upload, worker), the member
//! uploads a JPEG and an MP4 made at test time through the page's tus uploader, and the worker
//! turns them into the renditions the visitor then sees and plays.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::playwright::{artifacts, node_script};
use common::{Server, configured, hoithi, run};
use hoithi_core::testing::TestEnv;

const ADMIN: (&str, &str) = ("admin@example.vn", "mật khẩu quản trị");
const ORGANIZER: (&str, &str) = ("btc@example.vn", "mật khẩu ban tổ chức");

fn admin(env: &TestEnv, data: &Path, args: &[&str]) {
    let mut c = hoithi(data);
    configured(&mut c, env);
    c.arg("admin").args(args);
    let (status, out, err, _) = run(c, Duration::from_secs(120));
    assert!(status.success(), "hoithi admin {args:?}: {out} {err}");
}

/// Runs one phase of the Playwright script; returns its stdout.
fn playwright(phase: &str, vars: &[(&str, &str)]) -> String {
    node_script("e2e.mjs", &[phase], vars)
}

/// Runs ffmpeg (installed by ./dev) to make a test file.
fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is installed by ./dev");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
             description = \"Chia sẻ khoảnh khắc đẹp của tuổi trẻ.\"\nrequires_moderation = true\n\
             [limits]\nmax_entries_per_member = 2\n\
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
    // Only this run's screenshots: a stale one must not pass the check at the end.
    let _ = std::fs::remove_dir_all(&shots);
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
    // A photo and a 2-second video with sound, made now.
    let photo_file = files.path().join("binh-minh.jpg");
    let video_file = files.path().join("song-vo.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=1200x900:rate=1",
        "-frames:v",
        "1",
        photo_file.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25:duration=2",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        video_file.to_str().unwrap(),
    ]);
    let mut vars = common_vars.to_vec();
    let photo_s = photo_file.to_string_lossy().into_owned();
    let video_s = video_file.to_string_lossy().into_owned();
    vars.push(("PHOTO_FILE", &photo_s));
    vars.push(("VIDEO_FILE", &video_s));
    let out = playwright("member", &vars);
    print!("{out}");
    let id_of = |tag: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(tag))
            .unwrap_or_else(|| panic!("the script prints {tag}"))
            .trim()
            .to_owned()
    };
    let (photo, video) = (id_of("PHOTO "), id_of("VIDEO "));

    // What the browser saw is what the database holds: one ready asset per entry, made by a
    // finished process-media job, waiting for the organizer.
    for (id, kind) in [(&photo, "photo"), (&video, "video")] {
        let entry: uuid::Uuid = id.parse().unwrap();
        let (status, asset_kind, asset_status, original, renditions): (
            String,
            String,
            String,
            i64,
            serde_json::Value,
        ) = sqlx::query_as(
            "select e.status::text, m.kind::text, m.status::text, m.original_bytes, m.renditions
             from entry e join media_asset m using (entry_id) where e.entry_id = $1",
        )
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
        assert_eq!(
            (status.as_str(), asset_kind.as_str(), asset_status.as_str()),
            ("pending_review", kind, "ready")
        );
        let file = if kind == "photo" {
            &photo_file
        } else {
            &video_file
        };
        assert_eq!(original as u64, std::fs::metadata(file).unwrap().len());
        assert!(renditions.as_object().is_some_and(|r| !r.is_empty()));
    }
    let unfinished: i64 = sqlx::query_scalar(
        "select count(*) from job where kind = 'process-media' and status <> 'done'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(unfinished, 0);

    let mut vars = common_vars.to_vec();
    vars.push(("PHOTO", &photo));
    vars.push(("VIDEO", &video));
    let out = playwright("publish", &vars);
    print!("{out}");
    for id in [&photo, &video] {
        let status: String =
            sqlx::query_scalar("select status::text from entry where entry_id = $1")
                .bind(id.parse::<uuid::Uuid>().unwrap())
                .fetch_one(&env.db)
                .await
                .unwrap();
        assert_eq!(status, "approved");
    }
    for name in [
        "01-home",
        "05-upload-refused",
        "05-upload-photo",
        "05-upload-video",
        "06-status-video",
        "08-gallery",
        "09-entry",
        "09-entry-video",
    ] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "screenshot {name}"
        );
    }
    server.stop();
}
