#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Categories (hạng mục / bảng) inside one contest: created with the contest, chosen by the
//! entrant (required when the contest has them), with their own kinds and limits, in the
//! entry form, the uploads, the galleries and the results.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::fixtures::*;
use support::statements::Statements;
use support::*;

/// A contest of unit `unit` with a photo-only category (one entry per member) and a
/// video-only one.
fn contest_json(slug: &str, unit: &str) -> serde_json::Value {
    let now = chrono::Utc::now();
    json!({
        "slug": slug,
        "title": "Tuổi trẻ quê hương",
        "unit": unit,
        "kinds": ["photo", "video"],
        "phases": {
            "submission": {"opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                           "closes_at": (now + chrono::Duration::days(5)).to_rfc3339()}
        },
        "limits": {"max_entries_per_member": 3},
        "categories": [
            {"slug": "anh-dep", "name": "Ảnh đẹp quê hương", "kinds": ["photo"],
             "limits": {"max_entries_per_member": 1, "max_photo_bytes": 5000}},
            {"slug": "video-clip", "name": "Video clip tuyên truyền", "kinds": ["video"]}
        ]
    })
}

async fn new_entry(c: &mut Client, token: &str, contest: &str, category: Option<&str>) -> Res {
    let mut body = json!({"title": "Bến nước", "consent": true});
    if let Some(k) = category {
        body["category"] = json!(k);
    }
    c.api(
        "POST",
        &format!("/api/v1/contests/{contest}/entries"),
        Some(token),
        Some(body),
    )
    .await
}

/// Starts a tus upload of `length` bytes declared as `filetype` for `entry`.
async fn start_upload(
    c: &mut Client,
    token: &str,
    entry: &str,
    filetype: &str,
    length: usize,
) -> Res {
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let metadata = format!(
        "entry_id {},filename {},filetype {}",
        b64(entry),
        b64("a.bin"),
        b64(filetype)
    );
    let req = Request::post("/api/v1/uploads")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", length.to_string())
        .header("upload-metadata", metadata)
        .body(Body::empty())
        .unwrap();
    c.send(req).await
}

#[tokio::test]
async fn a_contest_with_two_categories_takes_an_entry_in_each_under_each_ones_rules() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, member, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());

    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(contest_json("que-huong", "q1")),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    // Another contest with a category slug of its own.
    let mut other = contest_json("khac", "q1");
    other["categories"] = json!([{"slug": "rieng", "name": "Riêng", "kinds": ["photo"]}]);
    let res = c
        .api("POST", "/api/v1/contests", Some(&org), Some(other))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);

    // No category: refused with a stable code and a sentence.
    let res = new_entry(&mut c, &member, "que-huong", None).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "category-required");
    // Another contest's category is no category of this one.
    let res = new_entry(&mut c, &member, "que-huong", Some("rieng")).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "unknown-category");

    let photo = new_entry(&mut c, &member, "que-huong", Some("anh-dep")).await;
    assert_eq!(photo.status, StatusCode::CREATED, "{}", photo.body);
    let photo_id = photo.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(photo.json()["category"]["slug"], "anh-dep");
    let video = new_entry(&mut c, &member, "que-huong", Some("video-clip")).await;
    assert_eq!(video.status, StatusCode::CREATED, "{}", video.body);
    let video_id = video.json()["id"].as_str().unwrap().to_owned();

    // The photo category takes one entry per member; the video category has room still.
    let res = new_entry(&mut c, &member, "que-huong", Some("anh-dep")).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "max-entries-reached");
    let res = new_entry(&mut c, &member, "que-huong", Some("video-clip")).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);

    // Uploads follow the category: a video in the photo category is refused when its bytes
    // show it, and the photo category's own size limit applies.
    let res = start_upload(&mut c, &member, &photo_id, "image/jpeg", 6000).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.body);
    let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm";
    let res = start_upload(&mut c, &member, &photo_id, "video/webm", webm.len()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let location = res.headers[header::LOCATION].to_str().unwrap().to_owned();
    let req = Request::patch(&location)
        .header(header::AUTHORIZATION, format!("Bearer {member}"))
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(Body::from(webm.to_vec()))
        .unwrap();
    let res = c.send(req).await;
    assert_eq!(
        res.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        res.body
    );
    assert!(res.body.contains("kind-not-allowed"), "{}", res.body);
    // The same bytes in the video category are taken.
    let res = start_upload(&mut c, &member, &video_id, "video/webm", webm.len()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

#[tokio::test]
async fn categories_are_checked_when_the_contest_is_created() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let mut c = site(env.state());
    let mut spec = contest_json("trung", "q1");
    spec["categories"][1]["slug"] = json!("anh-dep");
    let res = c
        .api("POST", "/api/v1/contests", Some(&org), Some(spec))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.json()["error"]["fields"][0]["code"], "invalid-category");
    let mut spec = contest_json("ngoai", "q1");
    spec["kinds"] = json!(["photo"]);
    let res = c
        .api("POST", "/api/v1/contests", Some(&org), Some(spec))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(
        res.json()["error"]["fields"][0]["code"],
        "category-kinds-outside"
    );
    let n: i64 = sqlx::query_scalar("select count(*) from contest_category")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing stored from a refused spec");
}

#[tokio::test]
async fn the_entry_form_offers_the_categories_and_requires_one() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, _, email) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(contest_json("form-hm", "q1")),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = c.login(&email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = c.get("/contests/form-hm/enter").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(r#"name="category" value="anh-dep""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Video clip tuyên truyền"));
    let fields = [("title", "Chiều quê"), ("consent", "1")];
    let res = c.post_form("/contests/form-hm/enter", &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(
        res.body.contains("Hãy chọn hạng mục cho bài dự thi."),
        "{}",
        res.body
    );
    let fields = [
        ("title", "Chiều quê"),
        ("consent", "1"),
        ("category", "video-clip"),
    ];
    let res = c.post_form("/contests/form-hm/enter", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mine = c.get("/me/entries").await;
    assert!(
        mine.body.contains("Video clip tuyên truyền"),
        "{}",
        mine.body
    );

    // A cross-site form (no CSRF token) creates nothing.
    let res = c
        .post_raw(
            "/contests/form-hm/enter",
            &[
                ("title", "X".into()),
                ("consent", "1".into()),
                ("category", "anh-dep".into()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let n: i64 = sqlx::query_scalar("select count(*) from entry")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// The entry numbers of a page's cards.
fn numbers(body: &str) -> Vec<i32> {
    body.split("<span class=\"tile-number\">")
        .skip(1)
        .map(|s| {
            let label = s.split('<').next().unwrap();
            label.rsplit(' ').next().unwrap().parse().unwrap()
        })
        .collect()
}

fn next_link(body: &str) -> Option<String> {
    let (_, rest) = body.split_once("rel=\"next\" href=\"")?;
    Some(
        rest.split('"')
            .next()?
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

#[tokio::test]
async fn the_gallery_filters_by_category_across_pages_and_cards_name_it() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (author, _, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    for (slug, spec) in [
        ("loc", contest_json("loc", "q1")),
        ("khac", {
            let mut o = contest_json("khac", "q1");
            o["categories"] = json!([{"slug": "rieng", "name": "Riêng", "kinds": ["photo"]}]);
            o
        }),
    ] {
        let res = c
            .api("POST", "/api/v1/contests", Some(&org), Some(spec))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{slug}: {}", res.body);
    }
    let id = contest_id(&env, "loc").await;
    for i in 0..26 {
        approved(&env, id, author, "anh-dep", &format!("Ảnh {i}")).await;
    }
    for i in 0..2 {
        approved(&env, id, author, "video-clip", &format!("Clip {i}")).await;
    }
    let videos: Vec<i32> = sqlx::query_scalar(
        "select e.number from entry e join contest_category k using (category_id)
         where k.slug = 'video-clip' and e.contest_id = $1 order by e.number",
    )
    .bind(id)
    .fetch_all(&env.db)
    .await
    .unwrap();

    let all = c.get("/contests/loc?sort=number").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(
        all.body.contains(r#"<option value="video-clip""#),
        "the filter lists the categories"
    );
    assert!(
        all.body
            .contains(r#"<span class="category">Ảnh đẹp quê hương</span>"#)
    );

    let first = c.get("/contests/loc?category=anh-dep&sort=number").await;
    let page1 = numbers(&first.body);
    assert_eq!(page1.len(), 24);
    assert!(page1.iter().all(|n| !videos.contains(n)));
    let next = next_link(&first.body).unwrap();
    assert!(next.contains("category=anh-dep"), "{next}");
    let second = c.get(&next).await;
    let page2 = numbers(&second.body);
    assert_eq!(page2.len(), 2, "{next}");
    assert!(page2.iter().all(|n| !videos.contains(n)));

    for base in ["/contests/loc", "/contests/loc/vote"] {
        let page = c
            .get(&format!("{base}?category=video-clip&sort=number"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{base}");
        assert_eq!(numbers(&page.body), videos, "{base}");
        // Another contest's category filters everything out, it does not leak its entries.
        let page = c.get(&format!("{base}?category=rieng")).await;
        assert_eq!(page.status, StatusCode::OK, "{base}");
        assert!(numbers(&page.body).is_empty(), "{base}");
    }
}

#[tokio::test]
async fn results_rank_within_each_category_on_the_api_the_page_and_the_export() {
    let env = TestEnv::new().await;
    units(&env).await;
    let Cast {
        org_token,
        mut org,
        author,
        judge_token,
        judge_email,
    } = judging_cast(&env).await;
    let mut c = site(env.state());
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org_token),
            Some(contest_json("ket-qua", "q1")),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = contest_id(&env, "ket-qua").await;
    let p1 = approved(&env, id, author, "anh-dep", "Ảnh một").await;
    let p2 = approved(&env, id, author, "anh-dep", "Ảnh hai").await;
    let v1 = approved(&env, id, author, "video-clip", "Clip một").await;
    let v2 = approved(&env, id, author, "video-clip", "Clip hai").await;
    let res = org
        .post_form(
            "/organize/contests/ket-qua/phase",
            &[
                ("phase", "submission"),
                ("action", "close"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    open_first_round(&mut org, "ket-qua", "100").await;
    add_judge(&mut c, &org_token, "ket-qua", &judge_email).await;
    // A second judge for the video category only (the API's `category`).
    let (_, _, video_judge) = user_in(&env, Role::Member, Some("hn")).await;
    let res = c
        .api(
            "POST",
            "/api/v1/contests/ket-qua/judges",
            Some(&org_token),
            Some(json!({"email": video_judge, "category": "video-clip"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(res.json()["assigned"], 2, "{}", res.body);
    let theirs: Vec<uuid::Uuid> = sqlx::query_scalar(
        "select ja.entry_id from judge_assignment ja join app_user a on a.app_user_id = ja.judge_id
         where a.email = $1 order by ja.entry_id",
    )
    .bind(&video_judge)
    .fetch_all(&env.db)
    .await
    .unwrap();
    let mut videos = vec![v1, v2];
    videos.sort();
    assert_eq!(theirs, videos);
    // Another contest's category slug assigns nothing.
    let res = c
        .api(
            "POST",
            "/api/v1/contests/ket-qua/judges",
            Some(&org_token),
            Some(json!({"email": video_judge, "category": "rieng"})),
        )
        .await;
    assert!(res.status.is_client_error(), "{}", res.body);
    let crit = first_criterion(&env, id).await;
    // Overall order: v1 9, p1 8, v2 7, p2 6.
    for (entry, s) in [(v1, 9.0), (p1, 8.0), (v2, 7.0), (p2, 6.0)] {
        let res = score(&mut c, &judge_token, entry, json!({crit.to_string(): s})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    let v = publish_results(&mut c, &org_token, "ket-qua", false).await;
    assert_ranks(
        &v,
        &[
            ("anh-dep", "Ảnh một", 1),
            ("anh-dep", "Ảnh hai", 2),
            ("video-clip", "Clip một", 1),
            ("video-clip", "Clip hai", 2),
        ],
    );
    assert_eq!(v["categories"][1]["name"], "Video clip tuyên truyền");
    let page = c.get("/contests/ket-qua/results").await;
    assert!(
        page.body
            .contains(r#"<h2 class="category">Ảnh đẹp quê hương</h2>"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<h2 class="category">Video clip tuyên truyền</h2>"#)
    );
    let csv = org
        .get("/organize/contests/ket-qua/export/results.csv?round=1")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].ends_with("Hạng mục"), "{}", lines[0]);
    assert!(
        lines[1].starts_with("1,") && lines[1].ends_with("Ảnh đẹp quê hương"),
        "{}",
        lines[1]
    );
    assert!(
        lines[3].starts_with("1,") && lines[3].ends_with("Video clip tuyên truyền"),
        "{}",
        lines[3]
    );
    let csv = org
        .get("/organize/contests/ket-qua/export/entries.csv")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(
        csv.body.lines().next().unwrap().ends_with("Hạng mục"),
        "{}",
        csv.body
    );
    assert_eq!(
        csv.body.matches("Ảnh đẹp quê hương").count(),
        2,
        "{}",
        csv.body
    );
}

#[tokio::test]
async fn an_organizer_of_another_unit_cannot_create_a_contest_with_categories_there() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, other, _) = user_in(&env, Role::Organizer, Some("hn")).await;
    let mut c = site(env.state());
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&other),
            Some(contest_json("ngoai-don-vi", "q1")),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "unit-out-of-scope");
    let n: i64 = sqlx::query_scalar("select count(*) from contest_category")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn the_patch_renames_reorders_adds_and_deletes_categories_under_the_locks_with_history() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, other, _) = user_in(&env, Role::Organizer, Some("hn")).await;
    let (_, member, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(contest_json("sua-hm", "q1")),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = new_entry(&mut c, &member, "sua-hm", Some("anh-dep")).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let patch = |categories: serde_json::Value| json!({ "categories": categories });

    // Deleting the category that has an entry is refused, and so is changing its kinds.
    let only_video = patch(json!([{"slug": "video-clip", "name": "Video", "kinds": ["video"]}]));
    let res = c
        .api(
            "PATCH",
            "/api/v1/contests/sua-hm",
            Some(&org),
            Some(only_video),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "category-has-entries");
    let both = patch(json!([
        {"slug": "anh-dep", "name": "Ảnh", "kinds": ["photo", "video"]},
        {"slug": "video-clip", "name": "Video", "kinds": ["video"]}
    ]));
    let res = c
        .api("PATCH", "/api/v1/contests/sua-hm", Some(&org), Some(both))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "kinds-locked");
    // An organizer of another unit changes nothing.
    let moved = patch(json!([
        {"slug": "video-clip", "name": "Video clip", "kinds": ["video"]},
        {"slug": "anh-dep", "name": "Ảnh đẹp", "kinds": ["photo"], "limits": {"max_entries_per_member": 1}},
        {"slug": "bang-b", "name": "Bảng B: 18–30", "kinds": ["photo", "video"]}
    ]));
    let res = c
        .api(
            "PATCH",
            "/api/v1/contests/sua-hm",
            Some(&other),
            Some(moved.clone()),
        )
        .await;
    assert!(
        res.status == StatusCode::FORBIDDEN || res.status == StatusCode::NOT_FOUND,
        "{}",
        res.body
    );
    // Rename, reorder and add in one edit; the empty video category may then go.
    let res = c
        .api("PATCH", "/api/v1/contests/sua-hm", Some(&org), Some(moved))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let rows: Vec<(String, String, i32)> =
        sqlx::query_as("select slug, name, position from contest_category order by position")
            .fetch_all(&env.db)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            ("video-clip".into(), "Video clip".into(), 0),
            ("anh-dep".into(), "Ảnh đẹp".into(), 1),
            ("bang-b".into(), "Bảng B: 18–30".into(), 2)
        ]
    );
    let res = c
        .api(
            "PATCH",
            "/api/v1/contests/sua-hm",
            Some(&org),
            Some(patch(json!([{"slug": "anh-dep", "name": "Ảnh đẹp", "kinds": ["photo"], "limits": {"max_entries_per_member": 1}}]))),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let history: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "select field, old_value, new_value from contest_change order by contest_change_id",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert!(history.iter().all(|h| h.0 == "categories"), "{history:?}");
    assert_eq!(history.len(), 3 + 3, "{history:?}");
    assert!(
        history
            .iter()
            .any(|h| h.2.is_none() && h.1.as_deref().is_some_and(|o| o.starts_with("video-clip")))
    );
    // The contest's kinds cannot shrink below what a category takes.
    let res = c
        .api(
            "PATCH",
            "/api/v1/contests/sua-hm",
            Some(&org),
            Some(json!({"kinds": ["video"]})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
}

#[tokio::test]
async fn the_organizer_manages_categories_on_their_page_and_others_cannot() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org_token, org_email) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, _, other_email) = user_in(&env, Role::Organizer, Some("hn")).await;
    let (_, member, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org_token),
            Some(contest_json("trang-hm", "q1")),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let res = new_entry(&mut c, &member, "trang-hm", Some("anh-dep")).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let mut org = site(env.state());
    assert_eq!(
        org.login(&org_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let uri = "/organize/contests/trang-hm/categories";
    let page = org.get(uri).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Video clip tuyên truyền"));

    // Rename the video category and move it first; add an age group.
    let save = [
        ("action", "save"),
        ("slug", "video-clip"),
        ("name", "Video tuyên truyền"),
        ("position", "1"),
        ("kind_video", "on"),
    ];
    let res = org.post_form(uri, &save).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let add = [
        ("action", "add"),
        ("slug", "bang-a"),
        ("name", "Bảng A: THPT"),
        ("kind_photo", "on"),
        ("max_entries_per_member", "2"),
    ];
    let res = org.post_form(uri, &add).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let rows: Vec<(String, String)> =
        sqlx::query_as("select slug, name from contest_category order by position")
            .fetch_all(&env.db)
            .await
            .unwrap();
    let slugs: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(slugs, ["video-clip", "anh-dep", "bang-a"]);
    assert_eq!(rows[0].1, "Video tuyên truyền");

    // The category with an entry is not deleted: a sentence, not a code.
    let res = org
        .post_form(uri, &[("action", "delete"), ("slug", "anh-dep")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(
        res.body
            .contains("Hạng mục đã có bài dự thi nên không xóa được."),
        "{}",
        res.body
    );
    let manage = org.get("/organize/contests/trang-hm").await;
    assert!(
        manage.body.contains("Hạng mục"),
        "the history names the change"
    );

    // A cross-site form (no CSRF token) and an organizer of another unit change nothing.
    let res = org
        .post_raw(
            uri,
            &[("action", "delete".into()), ("slug", "bang-a".into())],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let mut stranger = site(env.state());
    assert_eq!(
        stranger.login(&other_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let res = stranger
        .post_form(uri, &[("action", "delete"), ("slug", "bang-a")])
        .await;
    assert!(
        res.status == StatusCode::FORBIDDEN || res.status == StatusCode::NOT_FOUND,
        "{}",
        res.status
    );
    let n: i64 = sqlx::query_scalar("select count(*) from contest_category")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn the_author_changes_the_category_only_while_submission_is_open() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org_token, org_email) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, member, email) = user_in(&env, Role::Member, Some("q1")).await;
    let (_, _, stranger_email) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let mut spec = contest_json("doi-hm", "q1");
    spec["categories"][1]["kinds"] = json!(["photo", "video"]);
    let res = c
        .api("POST", "/api/v1/contests", Some(&org_token), Some(spec))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let first = new_entry(&mut c, &member, "doi-hm", Some("anh-dep")).await;
    let first = first.json()["id"].as_str().unwrap().to_owned();
    let second = new_entry(&mut c, &member, "doi-hm", Some("video-clip")).await;
    let second = second.json()["id"].as_str().unwrap().to_owned();
    let mut author = site(env.state());
    assert_eq!(
        author.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = author.get(&format!("/entries/{first}")).await;
    assert!(
        page.body.contains(&format!("/entries/{first}/category")),
        "{}",
        page.body
    );
    let uri = |id: &str| format!("/entries/{id}/category");
    // The photo category takes one entry per member: the second cannot join the first.
    let res = author
        .post_form(&uri(&second), &[("category", "anh-dep")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    let res = author
        .post_form(&uri(&first), &[("category", "video-clip")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = author
        .post_form(&uri(&first), &[("category", "rieng")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    // Someone else's entry: nothing to see, nothing changed.
    let mut stranger = site(env.state());
    assert_eq!(
        stranger.login(&stranger_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let res = stranger
        .post_form(&uri(&first), &[("category", "anh-dep")])
        .await;
    assert!(
        res.status == StatusCode::NOT_FOUND || res.status == StatusCode::FORBIDDEN,
        "{}",
        res.status
    );
    // Once submission closes, the category stays.
    let mut org = site(env.state());
    assert_eq!(
        org.login(&org_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let res = org
        .post_form(
            "/organize/contests/doi-hm/phase",
            &[
                ("phase", "submission"),
                ("action", "close"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = author
        .post_form(&uri(&first), &[("category", "anh-dep")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(
        res.body.contains("Hội thi hiện không nhận bài."),
        "{}",
        res.body
    );
    let slugs: Vec<String> = sqlx::query_scalar(
        "select k.slug from entry e join contest_category k using (category_id) order by e.number",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(slugs, ["video-clip", "video-clip"]);
}

#[tokio::test]
async fn a_page_filtered_by_category_is_still_one_statement_for_its_cards() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (author, _, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(contest_json("dem", "q1")),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = contest_id(&env, "dem").await;
    for i in 0..30 {
        let k = if i % 2 == 0 { "anh-dep" } else { "video-clip" };
        approved(&env, id, author, k, &format!("Bài {i}")).await;
    }
    c.get("/contests/dem").await;
    let (statements, _guard) = Statements::on_this_thread();
    for base in ["/contests/dem", "/contests/dem/vote"] {
        let mut counts = Vec::new();
        for query in ["?sort=number", "?category=anh-dep&sort=number"] {
            statements.clear();
            let res = c.get(&format!("{base}{query}")).await;
            assert_eq!(res.status, StatusCode::OK);
            let all = statements.taken();
            let cards: Vec<_> = all.iter().filter(|s| s.contains("media_asset")).collect();
            assert_eq!(cards.len(), 1, "{base}{query}: {all:#?}");
            counts.push(all.len());
        }
        assert!(!counts.contains(&0), "statements are counted");
        assert_eq!(
            counts[0], counts[1],
            "{base}: the filter costs no extra statement"
        );
    }
}
