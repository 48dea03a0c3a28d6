//! Fixtures of the category, rubric, advancement and team tests: the site with the upload
//! routes, entries made through the API or put straight into a category, photos uploaded
//! through tus, and the organizer's judging round set up, opened, scored and published
//! through the real pages and API.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Client, PASSWORD, Res, user_in};

/// The web routes and the tus upload routes behind the same layers, as in the process.
pub fn site(state: hoithi_core::AppState) -> Client {
    let routes = hoithi_upload::router()
        .merge(hoithi_web::router())
        .with_state(state.clone());
    Client {
        app: hoithi_web::security::layers(routes, state),
        cookies: Default::default(),
    }
}

/// An approved entry of `author` in category `category` of `contest`, made directly (the
/// fixture of gallery, vote and results tests; the entry form is tested in web_categories).
pub async fn approved(
    env: &TestEnv,
    contest: i64,
    author: i64,
    category: &str,
    title: &str,
) -> Uuid {
    let id = env.draft_entry(contest, author).await;
    sqlx::query(
        "update entry set title = $3, status = 'approved', submitted_at = now(),
            category_id = (select category_id from contest_category where contest_id = $2 and slug = $4)
         where entry_id = $1",
    )
    .bind(id)
    .bind(contest)
    .bind(title)
    .bind(category)
    .execute(&env.db)
    .await
    .unwrap();
    id
}

pub async fn contest_id(env: &TestEnv, slug: &str) -> i64 {
    sqlx::query_scalar("select contest_id from contest where slug = $1")
        .bind(slug)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

/// Sets up round 1 of `slug` on the organizer's page (one criterion "Nội dung" out of 10,
/// the judges' share `judges_weight`, ties to the earlier entry) and opens it; `org` is
/// signed in as its organizer and submission is closed.
pub async fn open_first_round(org: &mut Client, slug: &str, judges_weight: &str) {
    let fields = [
        ("round", "1"),
        ("name", "Chung khảo"),
        ("crit_name_0", "Nội dung"),
        ("crit_max_0", "10"),
        ("crit_weight_0", "1"),
        ("judges_weight", judges_weight),
        ("vote_scaling", "top_share"),
        ("judge_basis", "raw"),
        ("tie_0", "earlier"),
    ];
    let res = org
        .post_form(&format!("/organize/contests/{slug}/judging/setup"), &fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = org
        .post_form(
            &format!("/organize/contests/{slug}/judging/open"),
            &[("round", "1"), ("confirm", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

/// Invites `email` to judge every entry of `slug` (the API, as the organizer `token`).
pub async fn add_judge(c: &mut Client, token: &str, slug: &str, email: &str) {
    let res = c
        .api(
            "POST",
            &format!("/api/v1/contests/{slug}/judges"),
            Some(token),
            Some(json!({"email": email})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

/// Submits the judge's sheet of `entry` with `scores` (criterion id → score).
pub async fn score(c: &mut Client, token: &str, entry: Uuid, scores: Value) -> Res {
    c.api(
        "PUT",
        &format!("/api/v1/entries/{entry}/scores"),
        Some(token),
        Some(json!({"scores": scores, "submit": true})),
    )
    .await
}

/// The one general criterion of the contest's round 1.
pub async fn first_criterion(env: &TestEnv, contest: i64) -> i64 {
    sqlx::query_scalar(
        "select c.judging_criterion_id from judging_criterion c join judging_round r using (judging_round_id)
         where r.contest_id = $1 and c.category_id is null order by c.position limit 1",
    )
    .bind(contest)
    .fetch_one(&env.db)
    .await
    .unwrap()
}

/// Publishes the results (as the organizer `token`; `end_voting`: confirming the end of a
/// vote still open) and returns them as the public API shows.
pub async fn publish_results(c: &mut Client, token: &str, slug: &str, end_voting: bool) -> Value {
    let res = c
        .api(
            "POST",
            &format!("/api/v1/contests/{slug}/results/publish?end_voting={end_voting}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = c
        .api(
            "GET",
            &format!("/api/v1/contests/{slug}/results"),
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()
}

/// The first bytes of a JPEG (the upload sniffs them), padded to `len`.
pub fn jpeg(len: usize, fill: u8) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    b.resize(len, fill);
    b
}

/// A whole photo in one tus creation-with-upload request.
pub async fn upload_photo(c: &mut Client, token: &str, entry: &str, fill: u8) -> Res {
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let bytes = jpeg(200, fill);
    let metadata = format!(
        "entry_id {},filename {},filetype {}",
        b64(entry),
        b64("anh.jpg"),
        b64("image/jpeg")
    );
    let req = Request::post("/api/v1/uploads")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", bytes.len().to_string())
        .header("upload-metadata", metadata)
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(Body::from(bytes))
        .unwrap();
    c.send(req).await
}

/// A new entry of `slug` through the API with `extra` fields beside its title and consent.
pub async fn new_entry_with(c: &mut Client, token: &str, slug: &str, extra: Value) -> Res {
    let mut body = json!({"title": "Màu áo thanh niên", "consent": true});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    c.api(
        "POST",
        &format!("/api/v1/contests/{slug}/entries"),
        Some(token),
        Some(body),
    )
    .await
}

/// Asserts the results `v` (as the API answers) list exactly `expect`: (category slug, title,
/// rank within the category), in order.
pub fn assert_ranks(v: &Value, expect: &[(&str, &str, i64)]) {
    let lines: Vec<(String, String, i64)> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["category"]["slug"].as_str().unwrap().to_owned(),
                e["title"].as_str().unwrap().to_owned(),
                e["rank"].as_i64().unwrap(),
            )
        })
        .collect();
    let expect: Vec<(String, String, i64)> = expect
        .iter()
        .map(|(k, t, r)| ((*k).to_owned(), (*t).to_owned(), *r))
        .collect();
    assert_eq!(lines, expect, "{v:#}");
}

/// A vote on `entry` through the API as `token`: the status and the error's code (empty
/// when counted).
pub async fn vote(c: &mut Client, entry: Uuid, token: &str) -> (StatusCode, String) {
    let res = c
        .api(
            "POST",
            &format!("/api/v1/entries/{entry}/votes"),
            Some(token),
            None,
        )
        .await;
    let code = serde_json::from_str::<Value>(&res.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (res.status, code)
}

/// Who a judged contest needs (after `units`): an organizer of `q1` (their token, and `org`
/// signed in on the pages), an author of `q1`, and a judge of `hn` (token and email).
pub struct Cast {
    pub org_token: String,
    pub org: Client,
    pub author: i64,
    pub judge_token: String,
    pub judge_email: String,
}

pub async fn judging_cast(env: &TestEnv) -> Cast {
    let (_, org_token, org_email) = user_in(env, Role::Organizer, Some("q1")).await;
    let (author, _, _) = user_in(env, Role::Member, Some("q1")).await;
    let (_, judge_token, judge_email) = user_in(env, Role::Member, Some("hn")).await;
    let mut org = site(env.state());
    assert_eq!(
        org.login(&org_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    Cast {
        org_token,
        org,
        author,
        judge_token,
        judge_email,
    }
}
