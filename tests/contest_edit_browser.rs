#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Editing a contest in Debian's Chromium (Playwright, tests/browser/contest_edit.mjs) against
//! the real binary, on a 390 px phone: the organizer fixes a typo in the title and extends the
//! submission deadline on the edit page; the public page shows the new title, the manage
//! page's history lists both changes, the entrant sees the new deadline on the contest page,
//! and the mail telling them is in the outbox. Screenshots in $CARGO_TARGET_DIR/artifacts/browser.

mod common;

use chrono::{Duration, Utc};
use common::playwright::{artifacts, node_script};
use common::{Server, configured, hoithi};
use hoithi_core::account::{NewUser, create_user};
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use hoithi_core::testing::TestEnv;

const PASSWORD: &str = "mật khẩu sửa hội thi";

async fn account(env: &TestEnv, email: &str, role: Role, unit: &str) -> i64 {
    let user = NewUser {
        email: Email::parse(email).unwrap(),
        password: Password::parse(PASSWORD).unwrap(),
        name: DisplayName::parse("Người Thử").unwrap(),
        role,
        unit_slug: Some(unit.to_owned()),
        email_verified: true,
    };
    create_user(&env.db, user).await.unwrap()
}

#[tokio::test]
async fn an_organizer_fixes_the_title_and_extends_the_deadline_on_a_phone() {
    let env = TestEnv::new().await;
    let tree = "hcm,Thành Đoàn TP.HCM,\nq1,Quận Đoàn 1,hcm\n";
    let mut conn = env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &hoithi_web::units::parse_csv(tree).unwrap())
        .await
        .unwrap();
    drop(conn);
    account(&env, "btc@example.vn", Role::Organizer, "hcm").await;
    let entrant = account(&env, "thisinh@example.vn", Role::Member, "q1").await;
    let now = Utc::now();
    let spec = hoithi_web::contests::spec::ContestSpec::from_toml(&format!(
        "slug = \"anh-dep\"\ntitle = \"Ảnh đẹp tuổi tre\"\nunit = \"hcm\"\nkinds = [\"photo\"]\n\
         [phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n",
        (now - Duration::days(1)).to_rfc3339(),
        (now + Duration::days(2)).to_rfc3339(),
    ))
    .unwrap();
    let contest = hoithi_web::contests::create(&env.db, None, &spec)
        .await
        .unwrap()
        .unwrap();
    env.draft_entry(contest, entrant).await;

    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    // Five days from now at 17:00, Vietnam time, as the organizer types it.
    let vietnam = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    let local = (now + Duration::days(5)).with_timezone(&vietnam);
    let new_close = format!("{}T17:00", local.format("%Y-%m-%d"));
    let shown = format!("17:00 {}", local.format("%d/%m/%Y"));
    let arts = artifacts();
    let stdout = node_script(
        "contest_edit.mjs",
        &[],
        &[
            ("BASE_URL", server.url.as_str()),
            ("ARTIFACTS", &arts.to_string_lossy()),
            ("CONTEST", "anh-dep"),
            ("ORGANIZER_EMAIL", "btc@example.vn"),
            ("ENTRANT_EMAIL", "thisinh@example.vn"),
            ("PASSWORD", PASSWORD),
            ("NEW_TITLE", "Ảnh đẹp tuổi trẻ"),
            ("NEW_CLOSE", &new_close),
            ("NEW_CLOSE_SHOWN", &shown),
        ],
    );
    assert!(stdout.contains(&format!("DEADLINE {shown}")), "{stdout}");

    let history: Vec<String> =
        sqlx::query_scalar("select field from contest_change order by contest_change_id")
            .fetch_all(&env.db)
            .await
            .unwrap();
    assert_eq!(history, ["title", "submission_closes_at"]);
    let mails: Vec<(String, String)> =
        sqlx::query_as("select kind, body from outbox where to_email = 'thisinh@example.vn'")
            .fetch_all(&env.db)
            .await
            .unwrap();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].0, "contest-deadline");
    assert!(
        mails[0]
            .1
            .contains(&format!("17:00 ngày {}", local.format("%d/%m/%Y"))),
        "{}",
        mails[0].1
    );
    for name in [
        "contest-edit-01-form",
        "contest-edit-02-saved",
        "contest-edit-04-entrant",
    ] {
        assert!(arts.join(format!("{name}.png")).exists(), "{name}.png");
    }
    server.stop();
}
