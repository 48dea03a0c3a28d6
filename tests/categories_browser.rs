#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Choosing a category (hạng mục) in Debian's Chromium (Playwright, tests/browser/categories.mjs)
//! against the real binary, on a 390 px phone: a member picks a category on the entry form
//! (radio buttons, no script needed) and sees it on their own entries list. Screenshots in
//! $CARGO_TARGET_DIR/artifacts/browser.

mod common;

use chrono::{Duration, Utc};
use common::playwright::{artifacts, node_script};
use common::{Server, configured, hoithi};
use hoithi_core::account::{NewUser, create_user};
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use hoithi_core::testing::TestEnv;

const PASSWORD: &str = "mật khẩu hạng mục";

#[tokio::test]
async fn a_member_chooses_a_category_on_a_phone_and_sees_it_on_their_entry() {
    let env = TestEnv::new().await;
    let tree = "hcm,Thành Đoàn TP.HCM,\n";
    let mut conn = env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &hoithi_web::units::parse_csv(tree).unwrap())
        .await
        .unwrap();
    drop(conn);
    let user = NewUser {
        email: Email::parse("thisinh@example.vn").unwrap(),
        password: Password::parse(PASSWORD).unwrap(),
        name: DisplayName::parse("Người Thử").unwrap(),
        role: Role::Member,
        unit_slug: Some("hcm".to_owned()),
        email_verified: true,
    };
    create_user(&env.db, user).await.unwrap();
    let now = Utc::now();
    let spec = hoithi_web::contests::spec::ContestSpec::from_toml(&format!(
        "slug = \"que-huong\"\ntitle = \"Tuổi trẻ quê hương\"\nunit = \"hcm\"\nkinds = [\"photo\", \"video\"]\n\
         [phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n\
         [[categories]]\nslug = \"anh-dep\"\nname = \"Ảnh đẹp quê hương\"\nkinds = [\"photo\"]\n\
         [[categories]]\nslug = \"video-clip\"\nname = \"Video clip tuyên truyền\"\nkinds = [\"video\"]\n",
        (now - Duration::days(1)).to_rfc3339(),
        (now + Duration::days(2)).to_rfc3339(),
    ))
    .unwrap();
    hoithi_web::contests::create(&env.db, None, &spec)
        .await
        .unwrap()
        .unwrap();

    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let arts = artifacts();
    let stdout = node_script(
        "categories.mjs",
        &[],
        &[
            ("BASE_URL", server.url.as_str()),
            ("ARTIFACTS", &arts.to_string_lossy()),
            ("CONTEST", "que-huong"),
            ("EMAIL", "thisinh@example.vn"),
            ("PASSWORD", PASSWORD),
        ],
    );
    assert!(
        stdout.contains("CATEGORY Video clip tuyên truyền"),
        "{stdout}"
    );
    let stored: String = sqlx::query_scalar(
        "select k.slug from entry e join contest_category k using (category_id)",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(stored, "video-clip");
    for name in ["categories-01-form", "categories-02-mine"] {
        assert!(arts.join(format!("{name}.png")).exists(), "{name}.png");
    }
    server.stop();
}
