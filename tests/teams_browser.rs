#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A team entry with a 3-photo series in Debian's Chromium (Playwright, tests/browser/teams.mjs)
//! against the real binary with its worker, on a 390 px phone: the member types the team and
//! its members, uploads three real JPEGs one resumable upload each, hands the series in; the
//! entry waits for review only once the worker has processed every photo; approved, the
//! gallery card shows "Bộ ảnh · 3 ảnh" and the entry page every photo and the members.
//! Screenshots in $CARGO_TARGET_DIR/artifacts/browser.

mod common;

use chrono::{Duration, Utc};
use common::media::photo;
use common::playwright::{artifacts, node_script};
use common::{Server, configured, hoithi};
use hoithi_core::account::{NewUser, create_user};
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use hoithi_core::testing::TestEnv;

const PASSWORD: &str = "mật khẩu tập thể";

async fn user(env: &TestEnv, email: &str, role: Role) {
    let user = NewUser {
        email: Email::parse(email).unwrap(),
        password: Password::parse(PASSWORD).unwrap(),
        name: DisplayName::parse("Người Thử").unwrap(),
        role,
        unit_slug: Some("hcm".to_owned()),
        email_verified: true,
    };
    create_user(&env.db, user).await.unwrap();
}

#[tokio::test]
async fn a_team_sends_a_three_photo_series_from_a_phone_and_it_is_judged_as_one_entry() {
    let env = TestEnv::new().await;
    let tree = "hcm,Thành Đoàn TP.HCM,\n";
    let mut conn = env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &hoithi_web::units::parse_csv(tree).unwrap())
        .await
        .unwrap();
    drop(conn);
    user(&env, "doitruong@example.vn", Role::Member).await;
    user(&env, "bantochuc@example.vn", Role::Organizer).await;
    let now = Utc::now();
    let spec = hoithi_web::contests::spec::ContestSpec::from_toml(&format!(
        "slug = \"mua-he-xanh\"\ntitle = \"Mùa hè xanh\"\nunit = \"hcm\"\nkinds = [\"photo\"]\n\
         [phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n\
         [limits]\nmax_team_members = 5\nmax_series_photos = 3\n",
        (now - Duration::days(1)).to_rfc3339(),
        (now + Duration::days(2)).to_rfc3339(),
    ))
    .unwrap();
    hoithi_web::contests::create(&env.db, None, &spec)
        .await
        .unwrap()
        .unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for i in 1..=3 {
        let p = files.path().join(format!("anh-{i}.jpg"));
        std::fs::write(&p, photo()).unwrap();
        paths.push(p.to_string_lossy().into_owned());
    }

    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let arts = artifacts();
    let stdout = node_script(
        "teams.mjs",
        &[],
        &[
            ("BASE_URL", server.url.as_str()),
            ("ARTIFACTS", &arts.to_string_lossy()),
            ("CONTEST", "mua-he-xanh"),
            ("EMAIL", "doitruong@example.vn"),
            ("ORG_EMAIL", "bantochuc@example.vn"),
            ("PASSWORD", PASSWORD),
            ("PHOTOS", &paths.join(",")),
        ],
    );
    assert!(
        stdout.contains("SERIES Bộ ảnh · 3 ảnh | Đội hình tình nguyện Bến Nghé"),
        "{stdout}"
    );
    assert!(stdout.contains("PHOTOS 3"), "{stdout}");
    assert!(
        stdout.contains("Nguyễn Văn An, Trần Thị Bình, Lê Hoàng Cường"),
        "{stdout}"
    );
    let (status, ready, ordered): (String, i64, Vec<i32>) = sqlx::query_as(
        "select e.status::text, count(*) filter (where m.status = 'ready'),
                array_agg(m.series_position order by m.series_position)
         from entry e join media_asset m using (entry_id) group by e.status",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!((status.as_str(), ready), ("approved", 3));
    assert_eq!(ordered, vec![1, 2, 3]);
    for name in [
        "teams-01-form",
        "teams-02-series",
        "teams-03-entry",
        "teams-04-gallery",
        "teams-05-public",
    ] {
        assert!(arts.join(format!("{name}.png")).exists(), "{name}.png");
    }
    server.stop();
}
