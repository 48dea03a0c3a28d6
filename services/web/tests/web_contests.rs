#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Units, contests, entries, moderation and public pages through the real router and a real
//! database, plus the role × route authorization matrix.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;

fn contest_json(slug: &str, unit: Option<&str>) -> serde_json::Value {
    let now = chrono::Utc::now();
    json!({
        "slug": slug,
        "title": "Ảnh đẹp tuổi trẻ",
        "unit": unit,
        "kinds": ["photo"],
        "phases": {
            "submission": {"opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                           "closes_at": (now + chrono::Duration::days(5)).to_rfc3339()},
            "voting": {"opens_at": (now + chrono::Duration::days(6)).to_rfc3339(),
                       "closes_at": (now + chrono::Duration::days(8)).to_rfc3339()}
        },
        "limits": {"max_entries_per_member": 2},
        "criteria": [{"name": "Sáng tạo", "max": 10, "weight": 1}]
    })
}

#[tokio::test]
async fn importing_units_builds_the_tree_updates_by_slug_and_refuses_loops() {
    let env = TestEnv::new().await;
    units(&env).await;
    let path: String = sqlx::query_scalar("select path from unit where slug = 'q1-a'")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(path, "hcm/q1/q1-a");
    // Children before parents in the file, a move of q1 under hn.
    let rows = hoithi_web::units::parse_csv("q1-b,Chi đoàn B,q1\nq1,Quận Đoàn 1,hn").unwrap();
    let mut conn = env.db.acquire().await.unwrap();
    assert_eq!(
        hoithi_web::units::import(&mut conn, &rows).await.unwrap(),
        2
    );
    let paths: Vec<String> = sqlx::query_scalar("select path from unit order by path")
        .fetch_all(&env.db)
        .await
        .unwrap();
    assert_eq!(paths, ["hcm", "hn", "hn/q1", "hn/q1/q1-a", "hn/q1/q1-b"]);
    let unknown = hoithi_web::units::parse_csv("x,X,nowhere").unwrap();
    assert!(
        hoithi_web::units::import(&mut conn, &unknown)
            .await
            .is_err()
    );
    let mut tx = env.db.begin().await.unwrap();
    let looped = hoithi_web::units::parse_csv("hn,Hà Nội,q1-a").unwrap();
    assert!(
        hoithi_web::units::import(&mut tx, &looped).await.is_err(),
        "a loop is refused"
    );
}

#[tokio::test]
async fn organizers_create_contests_in_their_subtree_only_and_bad_specs_get_codes() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, member, _) = user_in(&env, Role::Member, Some("q1")).await;
    let (_, admin, _) = user_in(&env, Role::Admin, None).await;
    let mut c = Client::new(env.state());

    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(contest_json("anh-q1", Some("q1-a"))),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let body = res.json();
    assert_eq!(body["phase"], "submission");
    assert_eq!(body["unit"], "q1-a");
    assert_eq!(body["criteria"][0]["name"], "Sáng tạo");
    assert_eq!(body["limits"]["max_entries_per_member"], 2);

    let dup = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(contest_json("anh-q1", None)),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.json()["error"]["code"], "slug-taken");
    let out = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(contest_json("anh-hn", Some("hn"))),
        )
        .await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    assert_eq!(out.json()["error"]["code"], "unit-out-of-scope");
    let by_member = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&member),
            Some(contest_json("m", None)),
        )
        .await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);
    let anon = c
        .api(
            "POST",
            "/api/v1/contests",
            None,
            Some(contest_json("a", None)),
        )
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let by_admin = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&admin),
            Some(contest_json("anh-hn", Some("hn"))),
        )
        .await;
    assert_eq!(by_admin.status, StatusCode::CREATED);

    let mut bad = contest_json("bad-dates", None);
    bad["phases"]["submission"]["closes_at"] = json!("2020-01-01T00:00:00Z");
    let res = c
        .api("POST", "/api/v1/contests", Some(&org), Some(bad))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json()["error"]["code"], "closes-before-opens");
    let mut overlap = contest_json("overlap", None);
    overlap["phases"]["voting"]["opens_at"] = json!(chrono::Utc::now().to_rfc3339());
    let res = c
        .api("POST", "/api/v1/contests", Some(&org), Some(overlap))
        .await;
    assert_eq!(
        res.json()["error"]["fields"][0]["code"],
        "overlaps-submission"
    );
    let typo = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(json!({"slug": "x", "titel": "y"})),
        )
        .await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(typo.json()["error"]["code"], "invalid-json");

    let list = c.api("GET", "/api/v1/contests", None, None).await.json();
    assert_eq!(list["contests"].as_array().unwrap().len(), 2);
    let one = c.api("GET", "/api/v1/contests/anh-q1", None, None).await;
    assert_eq!(one.json()["title"], "Ảnh đẹp tuổi trẻ");
    assert_eq!(
        c.api("GET", "/api/v1/contests/khong-co", None, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_contest_form_keeps_everything_typed_and_shows_each_error_next_to_its_field() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, _, email) = user_in(&env, Role::Organizer, Some("hcm")).await;
    let mut c = Client::new(env.state());
    c.login(&email, PASSWORD).await;
    let form = [
        ("title", "Hội thi <Ảnh>"),
        ("slug", "Có Dấu"),
        ("description", "Mô tả dài"),
        ("unit", "q1"),
        ("kind_photo", "on"),
        ("submission_opens_at", "2026-12-10T08:00"),
        ("submission_closes_at", "2026-12-01T08:00"),
        ("max_photo_mb", "abc"),
        ("max_entries_per_member", "3"),
    ];
    let res = c.post_form("/organize/contests/new", &form).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains(r#"value="Hội thi &lt;Ảnh&gt;""#)
            || res.body.contains("Hội thi &#60;Ảnh&#62;"),
        "{}",
        res.body
    );
    assert!(res.body.contains(r#"value="Có Dấu""#));
    assert!(res.body.contains("Mô tả dài"));
    assert!(res.body.contains(r#"value="2026-12-01T08:00""#));
    assert!(res.body.contains(r#"value="abc""#));
    assert!(
        res.body.contains(r#"id="max_photo_mb-error""#),
        "{}",
        res.body
    );
    // The slug error is reported with the number error; dates come after the numbers are fixed.
    let fixed: Vec<(&str, &str)> = form
        .iter()
        .map(|(k, v)| match *k {
            "max_photo_mb" => (*k, "30"),
            _ => (*k, *v),
        })
        .collect();
    let res = c.post_form("/organize/contests/new", &fixed).await;
    assert!(res.body.contains(r#"id="slug-error""#), "{}", res.body);
    assert!(res.body.contains(r#"id="submission_closes_at-error""#));
    assert!(
        res.body
            .contains("Thời điểm kết thúc phải sau thời điểm bắt đầu.")
    );
    let good: Vec<(&str, &str)> = fixed
        .iter()
        .map(|(k, v)| match *k {
            "slug" => (*k, "anh-2026"),
            "submission_closes_at" => (*k, "2026-12-20T17:00"),
            _ => (*k, *v),
        })
        .collect();
    let res = c.post_form("/organize/contests/new", &good).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/organize/contests/anh-2026");
    let (closes, max): (chrono::DateTime<chrono::Utc>, i32) = sqlx::query_as(
        "select submission_closes_at, max_entries_per_member from contest where slug = 'anh-2026'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(
        closes.to_rfc3339(),
        "2026-12-20T10:00:00+00:00",
        "typed in Vietnam time"
    );
    assert_eq!(max, 3);
}

#[tokio::test]
async fn an_organizer_closes_submission_early_and_reopens_it_and_both_are_logged() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, _, email) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, member_token, _) = user_in(&env, Role::Member, Some("q1-a")).await;
    let (_, slug) = contest_of(&env, "q1-a").await;
    let mut c = Client::new(env.state());
    c.login(&email, PASSWORD).await;
    let res = c
        .post_form(
            &format!("/organize/contests/{slug}/phase"),
            &[
                ("phase", "submission"),
                ("action", "close"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let entry = json!({"title": "Muộn", "description": "", "consent": true});
    let late = c
        .api(
            "POST",
            &format!("/api/v1/contests/{slug}/entries"),
            Some(&member_token),
            Some(entry.clone()),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.json()["error"]["code"], "submission-closed");
    let again = c
        .post_form(
            &format!("/organize/contests/{slug}/phase"),
            &[("phase", "submission"), ("action", "close")],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("Giai đoạn này không đang mở."));
    let past = c
        .post_form(
            &format!("/organize/contests/{slug}/phase"),
            &[
                ("phase", "submission"),
                ("action", "reopen"),
                ("until", "2020-01-01T00:00"),
            ],
        )
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    let until =
        hoithi_web::format::datetime_local(&(chrono::Utc::now() + chrono::Duration::days(2)));
    let res = c
        .post_form(
            &format!("/organize/contests/{slug}/phase"),
            &[
                ("phase", "submission"),
                ("action", "reopen"),
                ("until", until.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let ok = c
        .api(
            "POST",
            &format!("/api/v1/contests/{slug}/entries"),
            Some(&member_token),
            Some(entry),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let log: Vec<String> =
        sqlx::query_scalar("select action from contest_phase_log order by contest_phase_log_id")
            .fetch_all(&env.db)
            .await
            .unwrap();
    assert_eq!(log, ["close", "reopen"]);
    let manage = c.get(&format!("/organize/contests/{slug}")).await.body;
    assert!(manage.contains("Lịch sử thay đổi") && manage.contains("Hạn nhận bài"));
}

#[tokio::test]
async fn members_enter_within_the_limits_and_eligibility_of_a_contest() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (contest_id, slug) = contest_of(&env, "hcm").await;
    organize(
        &env,
        contest_id,
        json!({"eligible_units": ["q1"], "limits": {"max_entries_per_member": 2}}),
    )
    .await;
    let (_, member, _) = user_in(&env, Role::Member, Some("q1-a")).await;
    let (_, outsider, _) = user_in(&env, Role::Member, Some("hn")).await;
    let (unverified_id, unverified, _) = user_in(&env, Role::Member, Some("q1")).await;
    sqlx::query("update app_user set email_verified_at = null where app_user_id = $1")
        .bind(unverified_id)
        .execute(&env.db)
        .await
        .unwrap();
    let mut c = Client::new(env.state());
    let uri = format!("/api/v1/contests/{slug}/entries");
    let body = json!({"title": " Bình minh trên sông ", "description": "Ảnh chụp lúc 5 giờ", "consent": true});
    let res = c.api("POST", &uri, Some(&member), Some(body.clone())).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let created = res.json();
    assert_eq!(created["status"], "draft");
    assert_eq!(created["title"], "Bình minh trên sông");
    assert_eq!(
        c.api("POST", &uri, Some(&member), Some(body.clone()))
            .await
            .status,
        StatusCode::CREATED
    );
    let third = c.api("POST", &uri, Some(&member), Some(body.clone())).await;
    assert_eq!(
        (third.status, third.json()["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("max-entries-reached"))
    );
    let out = c
        .api("POST", &uri, Some(&outsider), Some(body.clone()))
        .await;
    assert_eq!(out.json()["error"]["code"], "not-eligible");
    let unv = c
        .api("POST", &uri, Some(&unverified), Some(body.clone()))
        .await;
    assert_eq!(
        (unv.status, unv.json()["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("email-not-verified"))
    );
    let empty = c
        .api("POST", &uri, Some(&outsider), Some(json!({"title": "  "})))
        .await;
    assert_eq!(empty.json()["error"]["code"], "title-required");
    let long = c
        .api(
            "POST",
            &uri,
            Some(&member),
            Some(json!({"title": "x", "description": "y".repeat(5001)})),
        )
        .await;
    assert_eq!(long.json()["error"]["code"], "description-too-long");
    assert_eq!(
        c.api(
            "POST",
            "/api/v1/contests/khong-co/entries",
            Some(&member),
            Some(body)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_entry_page_form_saves_the_draft_first_and_keeps_text_on_errors() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, slug) = contest_of(&env, "hcm").await;
    let (_, _, email) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = Client::new(env.state());
    let anon = c.get(&format!("/contests/{slug}/enter")).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert!(anon.location().starts_with("/login?next=/contests/"));
    c.login(&email, PASSWORD).await;
    let res = c
        .post_form(
            &format!("/contests/{slug}/enter"),
            &[("title", ""), ("description", "Đã gõ rồi")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Đã gõ rồi") && res.body.contains(r#"id="title-error""#));
    let res = c
        .post_form(
            &format!("/contests/{slug}/enter"),
            &[
                ("title", "Quê hương"),
                ("description", "Đã gõ rồi"),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let upload = c.get(res.location()).await;
    assert_eq!(upload.status, StatusCode::OK);
    assert!(upload.body.contains("data-entry-id=\""), "{}", upload.body);
    assert!(
        upload
            .body
            .contains(r#"<script src="/static/js/uploader.js""#)
    );
    assert!(upload.body.contains(r#"type="file""#));
    let id = res
        .location()
        .trim_start_matches("/entries/")
        .trim_end_matches("/upload")
        .to_owned();
    let status = c.get(&format!("/entries/{id}")).await;
    assert!(status.body.contains("Bản nháp"), "{}", status.body);
    // Edit and withdraw while submission is open.
    let res = c
        .post_form(
            &format!("/entries/{id}/edit"),
            &[("title", "Quê hương tôi"), ("description", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = c
        .post_form(&format!("/entries/{id}/withdraw"), &[("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let (title, status): (String, String) =
        sqlx::query_as("select title, status::text from entry where entry_id = $1::uuid")
            .bind(&id)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(
        (title.as_str(), status.as_str()),
        ("Quê hương tôi", "withdrawn")
    );
    assert_eq!(
        c.get(&format!("/entries/{id}/edit")).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn moderation_approves_or_rejects_with_a_mailed_reason_and_only_approved_entries_are_public()
{
    let env = TestEnv::new().await;
    units(&env).await;
    let (contest_id, slug) = contest_of(&env, "q1").await;
    let (author, author_token, author_email) = user_in(&env, Role::Member, Some("q1-a")).await;
    let (_, org, org_email) = user_in(&env, Role::Organizer, Some("hcm")).await;
    let (_, other_org, _) = user_in(&env, Role::Organizer, Some("hn")).await;
    let (_, stranger, _) = user_in(&env, Role::Member, None).await;
    let a = env.draft_entry(contest_id, author).await;
    let b = env.draft_entry(contest_id, author).await;
    let mut c = Client::new(env.state());
    let get = |id: uuid::Uuid| format!("/api/v1/entries/{id}");

    assert_eq!(
        c.api("GET", &get(a), None, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.api("GET", &get(a), Some(&stranger), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.api("GET", &get(a), Some(&other_org), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.api("GET", &get(a), Some(&author_token), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        c.api("GET", &get(a), Some(&org), None).await.status,
        StatusCode::OK
    );

    let review = |id: uuid::Uuid| format!("/api/v1/entries/{id}/review");
    let early = c
        .api(
            "POST",
            &review(a),
            Some(&org),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(
        (early.status, early.json()["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("not-reviewable"))
    );
    set_status(&env, a, "pending_review").await;
    set_status(&env, b, "pending_review").await;
    // A photo asset with renditions, so the gallery and entry page have pictures.
    sqlx::query(
        "insert into media_asset (entry_id, kind, status, progress, original_key, original_bytes, original_sha256, width, height, renditions)
         values ($1, 'photo', 'ready', 100, 'originals/x', 10, repeat('a', 64), 1600, 1200,
                 '{\"images\": [{\"width\": 400, \"key\": \"400.webp\"}, {\"width\": 1600, \"key\": \"1600.webp\"}]}')",
    )
    .bind(a)
    .execute(&env.db)
    .await
    .unwrap();

    assert_eq!(
        c.api(
            "POST",
            &review(a),
            Some(&author_token),
            Some(json!({"decision": "approve"}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.api(
            "POST",
            &review(a),
            Some(&other_org),
            Some(json!({"decision": "approve"}))
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let no_reason = c
        .api(
            "POST",
            &review(b),
            Some(&org),
            Some(json!({"decision": "reject", "reason": "  "})),
        )
        .await;
    assert_eq!(no_reason.json()["error"]["code"], "reason-required");
    let odd = c
        .api(
            "POST",
            &review(b),
            Some(&org),
            Some(json!({"decision": "maybe"})),
        )
        .await;
    assert_eq!(odd.json()["error"]["code"], "invalid-decision");
    let ok = c
        .api(
            "POST",
            &review(a),
            Some(&org),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(ok.json()["status"], "approved");

    // The rejection goes through the page form of the queue.
    let mut organizer = Client::new(env.state());
    organizer.login(&org_email, PASSWORD).await;
    let queue = organizer
        .get(&format!("/organize/contests/{slug}/queue"))
        .await;
    assert!(
        queue.body.contains(&format!("/entries/{b}/review")),
        "{}",
        queue.body
    );
    let res = organizer
        .post_form(
            &format!("/entries/{b}/review"),
            &[
                ("decision", "reject"),
                ("reason", "Ảnh bị mờ, vui lòng chụp lại"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let rejected = c
        .api("GET", &get(b), Some(&author_token), None)
        .await
        .json();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "Ảnh bị mờ, vui lòng chụp lại");
    let mails = outbox(&env, &author_email).await;
    let rejection = mails
        .iter()
        .find(|m| m.0 == "entry-rejected")
        .expect("a rejection mail");
    assert!(rejection.2.contains("Ảnh bị mờ, vui lòng chụp lại"));

    // Anyone sees the approved one, with renditions, on the API, the gallery and its page.
    let public = c.api("GET", &get(a), None, None).await;
    assert_eq!(public.status, StatusCode::OK);
    let media = &public.json()["media"][0];
    assert_eq!(media["images"][0]["width"], 400);
    assert!(
        media["images"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/400.webp")
    );
    assert_eq!(
        c.api("GET", &get(b), None, None).await.status,
        StatusCode::NOT_FOUND
    );
    let gallery = c.get(&format!("/contests/{slug}")).await;
    assert!(
        gallery.body.contains(&format!("/entries/{a}"))
            && !gallery.body.contains(&format!("/entries/{b}"))
    );
    assert!(gallery.body.contains("srcset=") && gallery.body.contains(r#"loading="lazy""#));
    let none = c.get(&format!("/contests/{slug}?q=khongcogi")).await;
    assert!(!none.body.contains(&format!("/entries/{a}")));
    assert!(
        c.get(&format!("/contests/{slug}?unit=q1"))
            .await
            .body
            .contains(&format!("/entries/{a}"))
    );
    assert!(
        !c.get(&format!("/contests/{slug}?unit=hn"))
            .await
            .body
            .contains(&format!("/entries/{a}"))
    );
    let page = c.get(&format!("/entries/{a}")).await;
    assert!(page.body.contains(r#"<meta property="og:title""#));
    assert!(
        page.body
            .contains(r#"<meta property="og:image" content="http"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("/entries/{a}/qr.svg")));
    let qr = c.get(&format!("/entries/{a}/qr.svg")).await;
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    assert!(qr.body.contains("<svg"));
    assert_eq!(
        c.get(&format!("/entries/{b}/qr.svg")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Every route × every role: who gets in, who is sent to sign in, who is refused.
#[tokio::test]
async fn authorization_matrix_of_roles_and_routes() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (contest_id, slug) = contest_of(&env, "q1").await;
    let (author, _, author_email) = user_in(&env, Role::Member, Some("q1-a")).await;
    let (_, _, member_email) = user_in(&env, Role::Member, Some("q1-a")).await;
    let (_, _, org_email) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, _, far_org_email) = user_in(&env, Role::Organizer, Some("hn")).await;
    let (_, _, judge_email) = user_in(&env, Role::Judge, None).await;
    let (_, _, admin_email) = user_in(&env, Role::Admin, None).await;
    let pending = env.draft_entry(contest_id, author).await;
    set_status(&env, pending, "pending_review").await;
    let approved = env.draft_entry(contest_id, author).await;
    set_status(&env, approved, "approved").await;

    let roles: [(&str, Option<&str>); 7] = [
        ("anonymous", None),
        ("member", Some(member_email.as_str())),
        ("author", Some(author_email.as_str())),
        ("judge", Some(judge_email.as_str())),
        ("organizer", Some(org_email.as_str())),
        ("far-organizer", Some(far_org_email.as_str())),
        ("admin", Some(admin_email.as_str())),
    ];
    // Expected status per role, in the order above. 303 = sent to sign in.
    let routes: Vec<(String, [u16; 7])> = vec![
        ("/".into(), [200; 7]),
        (format!("/contests/{slug}"), [200; 7]),
        (format!("/entries/{approved}"), [200; 7]),
        (
            format!("/entries/{pending}"),
            [404, 404, 200, 404, 200, 404, 200],
        ),
        (
            format!("/entries/{pending}/edit"),
            [303, 404, 200, 404, 404, 404, 404],
        ),
        (
            format!("/entries/{pending}/upload"),
            [303, 404, 200, 404, 404, 404, 404],
        ),
        (
            format!("/contests/{slug}/enter"),
            [303, 200, 200, 200, 200, 200, 200],
        ),
        ("/me/entries".into(), [303, 200, 200, 200, 200, 200, 200]),
        ("/organize".into(), [303, 403, 403, 403, 200, 200, 200]),
        (
            "/organize/contests/new".into(),
            [303, 403, 403, 403, 200, 200, 200],
        ),
        (
            format!("/organize/contests/{slug}"),
            [303, 403, 403, 403, 200, 404, 200],
        ),
        (
            format!("/organize/contests/{slug}/queue"),
            [303, 403, 403, 403, 200, 404, 200],
        ),
        ("/admin/units".into(), [303, 403, 403, 403, 403, 403, 200]),
        ("/admin/outbox".into(), [303, 403, 403, 403, 403, 403, 200]),
        (
            format!("/api/v1/entries/{pending}"),
            [404, 404, 200, 404, 200, 404, 200],
        ),
        (format!("/api/v1/entries/{approved}"), [200; 7]),
        ("/api/v1/contests".into(), [200; 7]),
    ];
    let mut failures = Vec::new();
    for (i, (role, email)) in roles.iter().enumerate() {
        let mut c = Client::new(env.state());
        if let Some(email) = email {
            assert_eq!(c.login(email, PASSWORD).await.status, StatusCode::SEE_OTHER);
        }
        for (uri, expected) in &routes {
            let got = c.get(uri).await.status.as_u16();
            if got != expected[i] {
                failures.push(format!("{role} GET {uri}: {got}, expected {}", expected[i]));
            }
        }
        // Unsafe routes: review and phase changes.
        let review = c
            .post_form(
                &format!("/entries/{pending}/review"),
                &[("decision", "reject"), ("reason", "x")],
            )
            .await
            .status
            .as_u16();
        let expected = [303, 404, 403, 404, 303, 404, 303][i];
        if review != expected {
            failures.push(format!("{role} POST review: {review}, expected {expected}"));
        }
        set_status(&env, pending, "pending_review").await;
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn home_lists_open_and_voting_contests_with_vietnamese_dates() {
    let env = TestEnv::new().await;
    let id = env.open_contest(&["photo"]).await;
    organize(
        &env,
        id,
        json!({"title": "Hội thi mở", "phases": {"submission": {"closes_at": "2099-12-31T10:00:00Z"}}}),
    )
    .await;
    let mut c = Client::new(env.state());
    let home = c.get("/").await;
    assert!(home.body.contains("Hội thi mở"), "{}", home.body);
    assert!(
        home.body.contains("17:00 31/12/2099"),
        "Vietnam time, dd/mm/yyyy"
    );
    assert!(home.body.contains("Đang nhận bài dự thi"));
}
