#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Judging in Debian's Chromium (Playwright from npm, in tests/browser) against the real
//! binary: the organizer sets up and opens a round (after its confirm step) and assigns a judge
//! through the pages; the judge scores two entries on a 390 px phone with a comment to each
//! entrant; the entrant does not see it yet; the organizer presses "Công bố kết quả" while
//! voting is open, is asked to confirm ending voting, confirms: voting closes and the results
//! are published; the entrant then reads the comment on their entry page at 390 px; the public
//! results page shows the ranking. Screenshots are kept in
//! $CARGO_TARGET_DIR/artifacts/judging (or target/artifacts/judging).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, configured, hoithi};
use hoithi_core::account::{NewUser, create_user};
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use hoithi_core::testing::TestEnv;

const PASSWORD: &str = "mật khẩu chấm thi";

async fn account(env: &TestEnv, email: &str, name: &str, role: Role, unit: &str) -> i64 {
    let user = NewUser {
        email: Email::parse(email).unwrap(),
        password: Password::parse(PASSWORD).unwrap(),
        name: DisplayName::parse(name).unwrap(),
        role,
        unit_slug: Some(unit.to_owned()),
        email_verified: true,
    };
    create_user(&env.db, user).await.unwrap()
}

fn screenshots() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("artifacts/judging")
}

#[tokio::test]
async fn a_judge_scores_two_entries_on_a_phone_and_the_published_ranking_is_public() {
    let env = TestEnv::new().await;
    let tree = "hcm,Thành Đoàn TP.HCM,\nq1,Quận Đoàn 1,hcm\nhn,Thành Đoàn Hà Nội,\n";
    let mut conn = env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &hoithi_web::units::parse_csv(tree).unwrap())
        .await
        .unwrap();
    drop(conn);
    account(
        &env,
        "btc@example.vn",
        "Ban tổ chức",
        Role::Organizer,
        "hcm",
    )
    .await;
    account(
        &env,
        "giamkhao@example.vn",
        "Cô Giám Khảo",
        Role::Member,
        "hn",
    )
    .await;
    let author = account(&env, "tacgia@example.vn", "Lê Tác Giả", Role::Member, "q1").await;

    let now = chrono::Utc::now();
    let spec = hoithi_web::contests::spec::ContestSpec::from_toml(&format!(
        "slug = \"anh-dep-2026\"\ntitle = \"Ảnh đẹp tuổi trẻ 2026\"\nunit = \"hcm\"\nkinds = [\"photo\"]\n\
         blind_judging = true\n[phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n\
         [phases.voting]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n",
        (now - chrono::Duration::days(3)).to_rfc3339(),
        (now - chrono::Duration::days(1)).to_rfc3339(),
        (now - chrono::Duration::hours(12)).to_rfc3339(),
        (now + chrono::Duration::days(2)).to_rfc3339(),
    ))
    .unwrap();
    let contest = hoithi_web::contests::create(&env.db, None, &spec)
        .await
        .unwrap()
        .unwrap();
    for title in ["Bình minh trên phố", "Sông quê"] {
        let id = env.draft_entry(contest, author).await;
        sqlx::query("update entry set title = $2, status = 'approved', submitted_at = now() where entry_id = $1")
            .bind(id)
            .bind(title)
            .execute(&env.db)
            .await
            .unwrap();
    }

    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let shots = screenshots();
    let _ = std::fs::remove_dir_all(&shots);

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "run `npm ci` in tests/browser (./dev does)"
    );
    // "Sông quê" is scored higher: (2·9 + 8) / 3 against (2·6 + 7) / 3.
    let scores = r#"{"Bình minh trên phố": [6, 7], "Sông quê": [9, 8]}"#;
    let output = Command::new("node")
        .arg("judging.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", &shots)
        .env("CONTEST", "anh-dep-2026")
        .env("CONTEST_TITLE", "Ảnh đẹp tuổi trẻ 2026")
        .env("ORGANIZER_EMAIL", "btc@example.vn")
        .env("ORGANIZER_PASSWORD", PASSWORD)
        .env("JUDGE_EMAIL", "giamkhao@example.vn")
        .env("JUDGE_PASSWORD", PASSWORD)
        .env("SCORES", scores)
        .env("AUTHOR_EMAIL", "tacgia@example.vn")
        .env("AUTHOR_PASSWORD", PASSWORD)
        .env("COMMENTED", "Sông quê")
        .output()
        .expect("node (Node.js) runs the browser script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "judging.mjs failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = |tag: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(tag))
            .unwrap_or_else(|| panic!("no {tag} in {stdout}"))
            .to_owned()
    };
    assert_eq!(line("PREVIEW "), "Sông quê|Bình minh trên phố");
    assert_eq!(line("RANKING "), "Sông quê|Bình minh trên phố");
    assert_eq!(line("FEEDBACK "), "seen");
    // Publishing ended the open voting at that moment, logged as an early close.
    let (voting_over, logged): (bool, i64) = sqlx::query_as(
        "select c.voting_closes_at <= now(),
            (select count(*) from contest_phase_log l where l.contest_id = c.contest_id
               and l.phase = 'voting' and l.action = 'close')
         from contest c where c.slug = 'anh-dep-2026'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert!(voting_over, "voting is closed");
    assert_eq!(logged, 1);

    // What the pages did is in the database: two submitted sheets, audited, one snapshot.
    let submitted: i64 =
        sqlx::query_scalar("select count(*) from judge_assignment where submitted_at is not null")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(submitted, 2);
    let audited: i64 =
        sqlx::query_scalar("select count(*) from judge_score_audit where field = 'submit'")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(audited, 2);
    let published: i64 = sqlx::query_scalar("select count(*) from judging_result")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(published, 1);
    for name in [
        "judging-02-queue",
        "judging-03-sheet-9",
        "judging-05b-confirm-publish",
        "judging-05c-feedback",
        "judging-06-public",
        "judging-07-print",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
    server.stop();
}
