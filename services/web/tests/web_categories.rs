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

/// The web routes and the tus upload routes behind the same layers, as in the process.
fn site(state: hoithi_core::AppState) -> Client {
    let routes = hoithi_upload::router()
        .merge(hoithi_web::router())
        .with_state(state.clone());
    Client {
        app: hoithi_web::security::layers(routes, state),
        cookies: Default::default(),
    }
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
