#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! "Đề cử lên vòng trên" in Debian's Chromium (Playwright, tests/browser/advancement.mjs)
//! against the real binary, on a 390 px phone: a commune's organizer links the commune round to
//! the provincial round, and the province's organizer sees it under "Bài được đề cử".
//! Screenshots in $CARGO_TARGET_DIR/artifacts/browser.

mod common;

use common::fixtures::{two_category_contest, units, verified_user};
use common::playwright::{artifacts, node_script};
use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

const PASSWORD: &str = "mật khẩu vòng trên";

#[tokio::test]
async fn a_commune_links_its_round_to_the_province_on_a_phone_and_the_province_sees_it() {
    let env = TestEnv::new().await;
    units(&env, "tinh,Tỉnh Đoàn Thử,\nxa-a,Đoàn xã A,tinh\n").await;
    verified_user(&env, "tinh@example.vn", PASSWORD, Role::Organizer, "tinh").await;
    verified_user(&env, "xa@example.vn", PASSWORD, Role::Organizer, "xa-a").await;
    two_category_contest(&env, "vong-tinh", "Vòng cấp tỉnh", "tinh").await;
    two_category_contest(&env, "vong-xa", "Vòng cấp xã", "xa-a").await;

    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let arts = artifacts();
    let stdout = node_script(
        "advancement.mjs",
        &[],
        &[
            ("BASE_URL", server.url.as_str()),
            ("ARTIFACTS", &arts.to_string_lossy()),
            ("CHILD", "vong-xa"),
            ("PARENT", "vong-tinh"),
            ("COMMUNE_EMAIL", "xa@example.vn"),
            ("PROVINCE_EMAIL", "tinh@example.vn"),
            ("PASSWORD", PASSWORD),
        ],
    );
    assert!(
        stdout.contains(
            "LINKED Đề cử lên: Vòng cấp tỉnh · Tỉnh Đoàn Thử · Mỗi hạng mục 2 · Điểm giám khảo"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("FEEDER Vòng cấp xã · Đoàn xã A"),
        "{stdout}"
    );
    let (top, basis): (i32, String) =
        sqlx::query_as("select top_n, basis from contest_advancement")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!((top, basis.as_str()), (2, "judges"));
    for name in [
        "advancement-01-form",
        "advancement-02-linked",
        "advancement-03-nominations",
    ] {
        assert!(arts.join(format!("{name}.png")).exists(), "{name}.png");
    }
    server.stop();
}
