#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The people pages on a phone-width page in Debian's Chromium against the real binary (issue
//! 18): an admin finds a member, makes them organizer of a unit, and that person then sees the
//! organizer dashboard; the admin imports units from a CSV (a bad line named first).
//! Screenshots are kept in $CARGO_TARGET_DIR/artifacts/browser-people.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

/// The password of every user `TestEnv::user` makes.
const PASSWORD: &str = "mật-khẩu-thử";

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/browser-people")
}

async fn email_of(env: &TestEnv, id: i64) -> String {
    sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_makes_a_member_organizer_of_a_unit_on_a_phone_and_they_see_the_dashboard() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let rows = hoithi_web::units::parse_csv("hcm,Thành Đoàn TP.HCM,\nq1,Quận Đoàn 1,hcm").unwrap();
    let mut conn = env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &rows).await.unwrap();
    drop(conn);
    let (admin, _) = env.user(Role::Admin).await;
    let (member, _) = env.user(Role::Member).await;
    sqlx::query("update app_user set display_name = 'Phạm Minh Châu' where app_user_id = $1")
        .bind(member)
        .execute(&env.db)
        .await
        .unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let shots = artifacts();
    let _ = std::fs::remove_dir_all(&shots);

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let out = Command::new("node")
        .arg("people.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", &shots)
        .env("ADMIN_EMAIL", email_of(&env, admin).await)
        .env("MEMBER_EMAIL", email_of(&env, member).await)
        .env("MEMBER_NAME", "Phạm Minh Châu")
        .env("UNIT", "q1")
        .env("PASSWORD", PASSWORD)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("DASHBOARD="), "{stdout}");
    let (role, unit): (String, String) = sqlx::query_as(
        "select u.role::text, n.slug from app_user u join unit n using (unit_id)
         where u.app_user_id = $1",
    )
    .bind(member)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!((role.as_str(), unit.as_str()), ("organizer", "q1"));
    for shot in [
        "01-people-search",
        "02-person-promoted",
        "03-units-bad-line",
        "04-units-imported",
        "05-organizer-dashboard",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
    server.stop();
}
