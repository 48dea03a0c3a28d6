#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Choosing a category (hạng mục) in Debian's Chromium (Playwright, tests/browser/categories.mjs)
//! against the real binary, on a 390 px phone: a member picks a category on the entry form
//! (radio buttons, no script needed) and sees it on their own entries list. Screenshots in
//! $CARGO_TARGET_DIR/artifacts/browser.

mod common;

use common::fixtures::{two_category_contest, units, verified_user};
use common::playwright::{artifacts, node_script};
use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

const PASSWORD: &str = "mật khẩu hạng mục";

#[tokio::test]
async fn a_member_chooses_a_category_on_a_phone_and_sees_it_on_their_entry() {
    let env = TestEnv::new().await;
    units(&env, "hcm,Thành Đoàn TP.HCM,\n").await;
    verified_user(&env, "thisinh@example.vn", PASSWORD, Role::Member, "hcm").await;
    two_category_contest(&env, "que-huong", "Tuổi trẻ quê hương", "hcm").await;

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
