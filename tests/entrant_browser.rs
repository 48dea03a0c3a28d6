#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The entrant's side of issue 18 in Debian's Chromium at 390 px against the real binary: the
//! contest page's banner and schedule; the entry form says "Bạn đã gửi 1/2 bài." before it is
//! filled; withdrawing an entry asks first (what is kept, that it can be undone), and "Khôi
//! phục bài" brings it back; an unverified member sees a notice to verify instead of the form.
//! Screenshots are kept in $CARGO_TARGET_DIR/artifacts/entrant (or target/artifacts/entrant).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, configured, hoithi};
use hoithi_core::account::{NewUser, create_user};
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use hoithi_core::testing::TestEnv;

const PASSWORD: &str = "mật khẩu người dự thi";

async fn account(env: &TestEnv, email: &str, name: &str, verified: bool) -> i64 {
    let user = NewUser {
        email: Email::parse(email).unwrap(),
        password: Password::parse(PASSWORD).unwrap(),
        name: DisplayName::parse(name).unwrap(),
        role: Role::Member,
        unit_slug: None,
        email_verified: verified,
    };
    create_user(&env.db, user).await.unwrap()
}

fn screenshots() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("artifacts/entrant")
}

#[tokio::test]
async fn an_entrant_on_a_phone_sees_the_limit_withdraws_after_a_confirm_step_and_restores() {
    let env = TestEnv::new().await;
    let author = account(&env, "hoa@example.vn", "Nguyễn Thị Hoa", true).await;
    account(&env, "chua@example.vn", "Chưa Xác Minh", false).await;
    let now = chrono::Utc::now();
    let spec = hoithi_web::contests::spec::ContestSpec::from_toml(&format!(
        "slug = \"anh-que-2026\"\ntitle = \"Ảnh quê hương 2026\"\nkinds = [\"photo\"]\n\
         [limits]\nmax_entries_per_member = 2\n\
         [phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n\
         [phases.voting]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n",
        (now - chrono::Duration::days(1)).to_rfc3339(),
        (now + chrono::Duration::days(7)).to_rfc3339(),
        (now + chrono::Duration::days(8)).to_rfc3339(),
        (now + chrono::Duration::days(10)).to_rfc3339(),
    ))
    .unwrap();
    let contest = hoithi_web::contests::create(&env.db, None, &spec)
        .await
        .unwrap()
        .unwrap();
    let entry = env.draft_entry(contest, author).await;
    sqlx::query("update entry set title = 'Cánh đồng lúa', status = 'approved', submitted_at = now() where entry_id = $1")
        .bind(entry)
        .execute(&env.db)
        .await
        .unwrap();

    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let shots = screenshots();
    let _ = std::fs::remove_dir_all(&shots);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let output = Command::new("node")
        .arg("entrant.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", &shots)
        .env("CONTEST", "anh-que-2026")
        .env("ENTRY", entry.to_string())
        .env("MEMBER_EMAIL", "hoa@example.vn")
        .env("UNVERIFIED_EMAIL", "chua@example.vn")
        .env("PASSWORD", PASSWORD)
        .output()
        .expect("node (Node.js) runs the browser script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "entrant.mjs failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("DONE"), "{stdout}");
    let status: String = sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(
        status, "approved",
        "withdrawn, then restored to what it was"
    );
    let unverified: i64 = sqlx::query_scalar(
        "select count(*) from entry e join app_user a on a.app_user_id = e.author_id where a.email = 'chua@example.vn'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(unverified, 0);
    for name in [
        "entrant-01-contest",
        "entrant-02-limit",
        "entrant-03-withdraw",
        "entrant-04-restore",
        "entrant-05-verify-first",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
    server.stop();
}
