#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Hostile uploads (issue 15, items 1 and 2), each written as the attack, next to the flow that
//! must keep working: a second upload racing the first onto one entry, bytes sent after the
//! contest closed, an upload finished for an entry that moved on.

mod common;
mod upload_common;

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use reqwest::StatusCode;
use sha2::Digest;
use upload_common::*;
use uuid::Uuid;

struct Setup {
    env: TestEnv,
    _server: Server,
    tus: Tus,
    user: i64,
    contest: i64,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(dir.path());
    configured(&mut cmd, &env);
    cmd.env("HOITHI_ROLES", "upload");
    let server = Server::start(cmd).await;
    let (user, token) = env.user(Role::Member).await;
    let contest = env.open_contest(&["photo", "video"]).await;
    let tus = Tus::new(&server.url, &token);
    Setup {
        env,
        _server: server,
        tus,
        user,
        contest,
        _dir: dir,
    }
}

async fn scalar_i64(env: &TestEnv, sql: &str, entry: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

async fn live_uploads(env: &TestEnv, entry: Uuid) -> i64 {
    scalar_i64(
        env,
        "select count(*) from upload where entry_id = $1 and status in ('active', 'completing')",
        entry,
    )
    .await
}

async fn media_of(env: &TestEnv, entry: Uuid) -> Vec<(Uuid, String)> {
    sqlx::query_as(
        "select media_asset_id, original_sha256 from media_asset where entry_id = $1 order by created_at",
    )
    .bind(entry)
    .fetch_all(&env.db)
    .await
    .unwrap()
}

async fn entry_status(env: &TestEnv, entry: Uuid) -> String {
    sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

async fn set_entry_status(env: &TestEnv, entry: Uuid, status: &str) {
    sqlx::query("update entry set status = $2::entry_status where entry_id = $1")
        .bind(entry)
        .bind(status)
        .execute(&env.db)
        .await
        .unwrap();
}

async fn expires_at(env: &TestEnv, location: &str) -> chrono::DateTime<chrono::Utc> {
    sqlx::query_scalar("select expires_at from upload where upload_id = $1")
        .bind(upload_id(location))
        .fetch_one(&env.db)
        .await
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} in {:?}", res.headers()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// `n` creations for one entry sent at the same instant: (status, code, location) of each.
async fn simultaneous_creations(
    s: &Setup,
    entry: Uuid,
    n: usize,
    len: usize,
) -> Vec<(StatusCode, String, Option<String>)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let tus = Tus::new(&s.tus.base, &s.tus.token);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let res = tus.create(entry, len, "image/jpeg").await;
            let location = res
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            let (status, code) = error_code(res).await;
            (status, code, location)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_uploads_created_for_one_entry_at_the_same_instant_get_one_201_and_one_upload_in_progress()
 {
    let s = setup().await;
    for round in 0..5 {
        let entry = s.env.draft_entry(s.contest, s.user).await;
        let answers = simultaneous_creations(&s, entry, 2, 1000).await;
        let created = answers
            .iter()
            .filter(|(st, _, _)| *st == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "round {round}: {answers:?}");
        let refused: Vec<_> = answers
            .iter()
            .filter(|(st, _, _)| *st != StatusCode::CREATED)
            .map(|(st, code, _)| (*st, code.clone()))
            .collect();
        assert_eq!(
            refused,
            vec![(StatusCode::CONFLICT, "upload-in-progress".to_owned())],
            "round {round}"
        );
        assert_eq!(live_uploads(&s.env, entry).await, 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_upload_racing_the_first_cannot_add_a_file_to_the_entry_once_it_is_approved() {
    let s = setup().await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let reviewed = photo_bytes(50_000, 1);
    let unreviewed = photo_bytes(50_000, 2);
    // Eight creations at once: on the old code several won and all stayed active.
    let answers = simultaneous_creations(&s, entry, 8, reviewed.len()).await;
    let winners: Vec<String> = answers
        .iter()
        .filter(|(st, _, _)| *st == StatusCode::CREATED)
        .map(|(_, _, l)| l.clone().unwrap())
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (st, code, _) in answers
        .iter()
        .filter(|(st, _, _)| *st != StatusCode::CREATED)
    {
        assert_eq!(
            (*st, code.as_str()),
            (StatusCode::CONFLICT, "upload-in-progress")
        );
    }

    // The first one finishes and the organizer approves what was reviewed.
    let res = s.tus.patch(&winners[0], 0, reviewed.clone()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let before = media_of(&s.env, entry).await;
    assert_eq!(before.len(), 1);
    set_entry_status(&s.env, entry, "approved").await;

    // A new upload for the approved entry is refused, and so is any PATCH the attacker still
    // holds a location for (here: every location any of the eight answers named).
    let res = s.tus.create(entry, unreviewed.len(), "image/jpeg").await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::CONFLICT, "entry-not-draft".into())
    );
    for (_, _, location) in &answers {
        if let Some(l) = location
            && l != &winners[0]
        {
            let res = s.tus.patch(l, 0, unreviewed.clone()).await;
            assert_ne!(res.status(), StatusCode::NO_CONTENT);
        }
    }
    assert_eq!(
        media_of(&s.env, entry).await,
        before,
        "entry media unchanged"
    );
    assert_eq!(entry_status(&s.env, entry).await, "approved");
    assert_eq!(live_uploads(&s.env, entry).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_finished_after_its_entry_was_withdrawn_adds_no_file() {
    let s = setup().await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let data = video_bytes(7 * MIB, 3);
    let location = s.tus.created(entry, data.len(), "video/mp4").await;
    let res = s.tus.patch(&location, 0, data[..6 * MIB].to_vec()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Withdrawn (or reviewed) while bytes were still arriving.
    set_entry_status(&s.env, entry, "withdrawn").await;
    let res = s
        .tus
        .patch(&location, 6 * MIB, data[6 * MIB..].to_vec())
        .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::GONE, "entry-not-uploading".into())
    );
    assert!(media_of(&s.env, entry).await.is_empty());
    assert_eq!(entry_status(&s.env, entry).await, "withdrawn");

    // The sweep ends it and removes its bytes.
    let report = hoithi_upload::sweep(&s.env.state()).await.unwrap();
    assert_eq!((report.expired, report.cleaned), (1, 1), "{report:?}");
    let status: String = sqlx::query_scalar("select status::text from upload where upload_id = $1")
        .bind(upload_id(&location))
        .fetch_one(&s.env.db)
        .await
        .unwrap();
    assert_eq!(status, "terminated");
    assert!(
        all_keys(&s.env).await.is_empty(),
        "{:?}",
        all_keys(&s.env).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_live_upload_or_letting_it_expire_frees_the_entry_for_another() {
    let s = setup().await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let first = s.tus.created(entry, 1000, "image/jpeg").await;
    let res = s.tus.create(entry, 1000, "image/jpeg").await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::CONFLICT, "upload-in-progress".into())
    );

    // Cancelled by its owner (tus termination): the slot is free.
    let res = s
        .tus
        .http
        .delete(s.tus.url(&first))
        .bearer_auth(&s.tus.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let second = s.tus.created(entry, 1000, "image/jpeg").await;

    // Expired: the slot is free at once, without waiting for the sweep.
    sqlx::query("update upload set expires_at = now() - interval '1 second' where upload_id = $1")
        .bind(upload_id(&second))
        .execute(&s.env.db)
        .await
        .unwrap();
    let third = s.tus.created(entry, 1000, "image/jpeg").await;
    assert_eq!(live_uploads(&s.env, entry).await, 1);
    let photo = photo_bytes(1000, 5);
    assert_eq!(
        s.tus.patch(&third, 0, photo).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(media_of(&s.env, entry).await.len(), 1);
    assert_eq!(entry_status(&s.env, entry).await, "processing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_after_close_plus_grace_is_refused_and_patches_never_move_upload_expires() {
    let s = setup().await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let data = video_bytes(12 * MIB, 7);
    let res = s.tus.create(entry, data.len(), "video/mp4").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created_expires = header(&res, "upload-expires");
    let location = header(&res, "location");
    let fixed = expires_at(&s.env, &location).await;

    // Every PATCH reports the same expiry, and the stored one does not move.
    for (from, to) in [(0, 5 * MIB), (5 * MIB, 6 * MIB)] {
        let res = s.tus.patch(&location, from, data[from..to].to_vec()).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(header(&res, "upload-expires"), created_expires);
        assert_eq!(expires_at(&s.env, &location).await, fixed);
    }
    assert_eq!(
        header(&s.tus.head(&location).await, "upload-expires"),
        created_expires
    );

    // The organizer closes the contest now, and takes the grace away: past the cutoff.
    let closed = serde_json::json!({"limits": {"upload_grace_minutes": 0},
        "phases": {"submission": {"closes_at": common::in_minutes(0)}}});
    common::organize(&s.env, s.contest, closed).await;
    let res = s
        .tus
        .patch(&location, 6 * MIB, data[6 * MIB..].to_vec())
        .await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::GONE, "submission-closed".into())
    );
    assert_eq!(s.tus.head(&location).await.status(), StatusCode::GONE);
    assert!(media_of(&s.env, entry).await.is_empty());
    let offset: i64 = sqlx::query_scalar("select upload_offset from upload where upload_id = $1")
        .bind(upload_id(&location))
        .fetch_one(&s.env.db)
        .await
        .unwrap();
    assert_eq!(
        offset,
        6 * MIB as i64,
        "what arrived in time is kept until the sweep"
    );

    // Nor may a new upload start after the close.
    let other = s.env.draft_entry(s.contest, s.user).await;
    let res = s.tus.create(other, 1000, "image/jpeg").await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::FORBIDDEN, "submission-closed".into())
    );

    // The sweep ends it; nothing stored for other entries is touched.
    let report = hoithi_upload::sweep(&s.env.state()).await.unwrap();
    assert_eq!(report.expired, 1, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_created_near_the_close_expires_at_close_plus_grace_and_finishes_within_it() {
    let s = setup().await;
    // The contest closes in ten minutes and gives 45 minutes of grace.
    let later = serde_json::json!({"limits": {"upload_grace_minutes": 45},
        "phases": {"submission": {"closes_at": common::in_minutes(10)}}});
    let contest = common::organize(&s.env, s.contest, later).await;
    let closes = contest["phases"]["submission"]["closes_at"]
        .as_str()
        .unwrap();
    let cutoff =
        chrono::DateTime::parse_from_rfc3339(closes).unwrap() + chrono::Duration::minutes(45);
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let data = video_bytes(7 * MIB, 9);
    let res = s.tus.create(entry, data.len(), "video/mp4").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        header(&res, "upload-expires"),
        cutoff.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        "the cutoff, not 24 hours"
    );
    let location = header(&res, "location");
    let res = s.tus.patch(&location, 0, data[..5 * MIB].to_vec()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // The organizer closes submission now: within the grace, the upload finishes.
    common::close_submission_now(&s.env, s.contest).await;
    let res = s
        .tus
        .patch(&location, 5 * MIB, data[5 * MIB..].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let media = media_of(&s.env, entry).await;
    assert_eq!(media.len(), 1);
    assert_eq!(
        media[0].1,
        sha2::Sha256::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    assert_eq!(entry_status(&s.env, entry).await, "processing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organizer_sets_the_upload_grace_and_the_contest_rules_show_it() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(dir.path());
    configured(&mut cmd, &env);
    cmd.env("HOITHI_ROLES", "web,upload");
    let server = Server::start(cmd).await;
    let (_, token) = env.user(Role::Admin).await;
    let http = reqwest::Client::new();
    let now = chrono::Utc::now();
    let contest = |slug: &str, grace: i64| {
        serde_json::json!({
            "slug": slug,
            "title": "Ảnh đẹp",
            "kinds": ["photo"],
            "phases": {"submission": {"opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                                      "closes_at": (now + chrono::Duration::days(2)).to_rfc3339()}},
            "limits": {"upload_grace_minutes": grace}
        })
    };
    let res = http
        .post(format!("{}/api/v1/contests", server.url))
        .bearer_auth(&token)
        .json(&contest("anh-gia-han", 90))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["limits"]["upload_grace_minutes"], 90);
    let stored: i32 =
        sqlx::query_scalar("select upload_grace_minutes from contest where slug = 'anh-gia-han'")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(stored, 90);

    // More than a day is refused with the field named.
    let res = http
        .post(format!("{}/api/v1/contests", server.url))
        .bearer_auth(&token)
        .json(&contest("anh-qua-han", 1441))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "upload_grace_minutes");

    // The rules on the contest page say it, in Vietnamese and in English.
    let page = http
        .get(format!("{}/contests/anh-gia-han", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Gia hạn tải lên sau khi hết hạn nhận bài"),
        "{page}"
    );
    assert!(page.contains("90 phút"), "{page}");
    let page = http
        .get(format!("{}/contests/anh-gia-han", server.url))
        .header("Cookie", "lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("90 minutes"), "{page}");
}
