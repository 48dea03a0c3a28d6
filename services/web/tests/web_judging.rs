#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Judging and results through the real router, a real database and a real S3 endpoint:
//! set-up locked once judging opens, assignment with conflict of interest (404 and nothing
//! written), blind judging that leaks nothing, the append-only score audit, results with
//! votes, publishing a frozen snapshot, exports, round advancement and reassignment.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;
use uuid::Uuid;

struct Fx {
    env: TestEnv,
    org: Client,
    org_token: String,
    slug: String,
    contest_id: i64,
}

/// Units hcm → q1 → q1-a and hn; an organizer of hcm signed in; a contest of hcm.
async fn fixture() -> Fx {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org_token, org_email) = user_in(&env, Role::Organizer, Some("hcm")).await;
    let (contest_id, slug) = contest_of(&env, "hcm").await;
    let mut org = Client::new(state_with_public_url(
        &env,
        Some("https://hoithi.example.vn"),
    ));
    assert_eq!(
        org.login(&org_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // Judging opens only once submission is closed: the organizer closes it now.
    let res = org
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
    Fx {
        env,
        org,
        org_token,
        slug,
        contest_id,
    }
}

/// A member of `unit` with a display name; returns (id, token, email).
async fn person(env: &TestEnv, unit: Option<&str>, name: &str) -> (i64, String, String) {
    let (id, token, email) = user_in(env, Role::Member, unit).await;
    sqlx::query("update app_user set display_name = $2 where app_user_id = $1")
        .bind(id)
        .bind(name)
        .execute(&env.db)
        .await
        .unwrap();
    (id, token, email)
}

/// An approved entry submitted `minutes` after a fixed time.
async fn entry(fx: &Fx, author: i64, title: &str, minutes: i64) -> Uuid {
    let id = fx.env.draft_entry(fx.contest_id, author).await;
    sqlx::query(
        "update entry set title = $2, status = 'approved',
            submitted_at = timestamptz '2026-11-01 08:00+07' + make_interval(mins => $3::int)
         where entry_id = $1",
    )
    .bind(id)
    .bind(title)
    .bind(minutes as i32)
    .execute(&fx.env.db)
    .await
    .unwrap();
    id
}

/// Saves round 1's set-up through the organizer's form.
async fn setup(fx: &mut Fx, extra: &[(&str, &str)]) -> Res {
    let mut fields = vec![
        ("round", "1"),
        ("name", "Vòng chung khảo"),
        ("crit_name_0", "Nội dung"),
        ("crit_max_0", "10"),
        ("crit_weight_0", "2"),
        ("crit_name_1", "Kỹ thuật"),
        ("crit_max_1", "10"),
        ("crit_weight_1", "1"),
        ("judges_weight", "100"),
        ("vote_scaling", "top_share"),
        ("judge_basis", "raw"),
        ("tie_0", "criterion:#0"),
        ("tie_1", "earlier"),
        ("conflict_own_unit", "on"),
    ];
    fields.extend_from_slice(extra);
    let uri = format!("/organize/contests/{}/judging/setup", fx.slug);
    fx.org.post_form(&uri, &fields).await
}

async fn open(fx: &mut Fx) {
    let uri = format!("/organize/contests/{}/judging/open", fx.slug);
    let res = fx
        .org
        .post_form(&uri, &[("round", "1"), ("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

async fn criteria(fx: &Fx) -> Vec<i64> {
    sqlx::query_scalar(
        "select c.judging_criterion_id from judging_criterion c join judging_round r using (judging_round_id)
         where r.contest_id = $1 and r.number = 1 order by c.position",
    )
    .bind(fx.contest_id)
    .fetch_all(&fx.env.db)
    .await
    .unwrap()
}

/// Invites a judge through the API (all entries when `entries` is None).
async fn invite(fx: &mut Fx, email: &str, entries: Option<Vec<Uuid>>) -> serde_json::Value {
    let mut body = json!({"email": email});
    if let Some(e) = entries {
        body["entries"] = json!(e);
    }
    let uri = format!("/api/v1/contests/{}/judges", fx.slug);
    let token = fx.org_token.clone();
    let res = fx.org.api("POST", &uri, Some(&token), Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.json()
}

async fn put_scores(c: &mut Client, token: &str, entry: Uuid, body: serde_json::Value) -> Res {
    c.api(
        "PUT",
        &format!("/api/v1/entries/{entry}/scores"),
        Some(token),
        Some(body),
    )
    .await
}

async fn count(env: &TestEnv, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&env.db)
        .await
        .unwrap()
}

fn scores(c: &[i64], a: f64, b: f64) -> serde_json::Value {
    json!({c[0].to_string(): a, c[1].to_string(): b})
}

#[tokio::test]
async fn a_judge_gets_404_and_nothing_is_written_for_unassigned_and_own_unit_entries() {
    let mut fx = fixture().await;
    let (judge, judge_token, judge_email) = person(&fx.env, Some("q1"), "Giám Khảo Một").await;
    let (same_unit, _, _) = person(&fx.env, Some("q1"), "Cùng Đơn Vị").await;
    let (other, _, _) = person(&fx.env, Some("hn"), "Đơn Vị Khác").await;
    let own = entry(&fx, same_unit, "Bài cùng đơn vị", 1).await;
    let fine = entry(&fx, other, "Bài đơn vị khác", 2).await;
    let later = entry(&fx, other, "Bài không phân công", 3).await;
    let res = setup(&mut fx, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    open(&mut fx).await;
    let c = criteria(&fx).await;

    // Explicitly asking for the own-unit entry still assigns only the allowed one.
    let out = invite(&mut fx, &judge_email, Some(vec![own, fine])).await;
    assert_eq!(out["assigned"], 1);
    let mail = outbox(&fx.env, &judge_email).await;
    assert_eq!(mail.len(), 1, "one invitation in the outbox");
    assert_eq!(mail[0].0, "judge-invite");
    assert!(
        mail[0]
            .2
            .contains(&format!("https://hoithi.example.vn/judging/{}", fx.slug))
    );

    let mut j = Client::new(fx.env.state());
    let before = (
        count(&fx.env, "judge_score").await,
        count(&fx.env, "judge_score_audit").await,
        count(&fx.env, "judge_assignment").await,
    );
    for refused in [own, later] {
        let res = put_scores(
            &mut j,
            &judge_token,
            refused,
            json!({"scores": scores(&c, 5.0, 5.0), "submit": true}),
        )
        .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
        assert_eq!(res.json()["error"]["code"], "not-found");
        let res = j
            .api(
                "GET",
                &format!("/api/v1/entries/{refused}/scores"),
                Some(&judge_token),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }
    // Even a row slipped into the table by hand does not open the own-unit entry.
    let round_id: i64 =
        sqlx::query_scalar("select judging_round_id from judging_round where contest_id = $1")
            .bind(fx.contest_id)
            .fetch_one(&fx.env.db)
            .await
            .unwrap();
    sqlx::query(
        "insert into judge_assignment (judging_round_id, entry_id, judge_id) values ($1, $2, $3)",
    )
    .bind(round_id)
    .bind(own)
    .bind(judge)
    .execute(&fx.env.db)
    .await
    .unwrap();
    let res = put_scores(
        &mut j,
        &judge_token,
        own,
        json!({"scores": scores(&c, 5.0, 5.0)}),
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "conflict of interest is checked on every request"
    );
    let after = (
        count(&fx.env, "judge_score").await,
        count(&fx.env, "judge_score_audit").await,
        count(&fx.env, "judge_assignment").await - 1,
    );
    assert_eq!(before, after, "nothing written");

    // Pages: the same 404s, through the session.
    let mut page = Client::new(fx.env.state());
    page.login(&judge_email, PASSWORD).await;
    for refused in [own, later] {
        let res = page
            .get(&format!("/judging/{}/entries/{refused}", fx.slug))
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = page
            .post_form(
                &format!("/judging/{}/entries/{refused}", fx.slug),
                &[(&*format!("score_{}", c[0]), "5"), ("action", "submit")],
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }
    let res = page
        .get(&format!("/judging/{}/entries/{fine}", fx.slug))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let queue = page.get(&format!("/judging/{}", fx.slug)).await;
    assert!(queue.body.contains("Bài đơn vị khác"));
    assert!(!queue.body.contains("Bài cùng đơn vị"));
    assert!(!queue.body.contains("Bài không phân công"));
    assert_eq!(count(&fx.env, "judge_score").await, before.0);

    // Someone who is not a judge of the contest: 404 for the queue too.
    let (_, stranger, _) = person(&fx.env, Some("hn"), "Người Lạ").await;
    let res = j
        .api(
            "GET",
            &format!("/api/v1/contests/{}/judging/queue", fx.slug),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // And a member cannot invite judges.
    let res = j
        .api(
            "POST",
            &format!("/api/v1/contests/{}/judges", fx.slug),
            Some(&stranger),
            Some(json!({"email": "x@example.vn"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_draft_autosaves_submit_locks_it_and_an_organizer_reopens_it_with_every_write_audited() {
    let mut fx = fixture().await;
    let (judge, token, email) = person(&fx.env, Some("hn"), "Giám Khảo").await;
    let (author, _, _) = person(&fx.env, Some("q1"), "Tác Giả").await;
    let e = entry(&fx, author, "Sắc màu quê hương", 1).await;
    assert_eq!(
        setup(&mut fx, &[("half_points", "on")]).await.status,
        StatusCode::SEE_OTHER
    );
    open(&mut fx).await;
    invite(&mut fx, &email, None).await;
    let c = criteria(&fx).await;
    let mut j = Client::new(fx.env.state());

    // Hostile values first: each refused with its code, nothing stored.
    for (body, status, code) in [
        (
            json!({"scores": {c[0].to_string(): 11}}),
            422,
            "score-out-of-range",
        ),
        (
            json!({"scores": {c[0].to_string(): -1}}),
            422,
            "score-out-of-range",
        ),
        (
            json!({"scores": {c[0].to_string(): 7.25}}),
            422,
            "score-not-a-step",
        ),
        (
            json!({"scores": {c[0].to_string(): "bảy"}}),
            422,
            "score-out-of-range",
        ),
        (json!({"scores": {"999999": 5}}), 422, "unknown-criterion"),
        (
            json!({"scores": {}, "comment": "x".repeat(5001)}),
            422,
            "comment-too-long",
        ),
        (
            json!({"scores": {c[0].to_string(): 7}, "submit": true}),
            422,
            "scores-incomplete",
        ),
        (json!({"score": 1}), 422, "invalid-json"),
    ] {
        let res = put_scores(&mut j, &token, e, body).await;
        assert_eq!(res.status.as_u16(), status, "{}", res.body);
        assert_eq!(res.json()["error"]["code"], code);
    }
    // The incomplete submit wrote nothing either (one transaction).
    assert_eq!(count(&fx.env, "judge_score").await, 0);
    assert_eq!(count(&fx.env, "judge_score_audit").await, 0);

    // A draft, then a change: the audit has old → new.
    let res = put_scores(
        &mut j,
        &token,
        e,
        json!({"scores": scores(&c, 7.5, 6.0), "comment": "Ý tưởng tốt"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["submitted"], false);
    let res = put_scores(
        &mut j,
        &token,
        e,
        json!({"scores": {c[0].to_string(): "8,5"}}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["scores"][c[0].to_string()], 8.5);
    // One audit row: field, old value, new value, who changed it.
    type AuditRow = (String, Option<String>, Option<String>, Option<i64>);
    let trail: Vec<AuditRow> = sqlx::query_as(
        "select field, old_value, new_value, actor_id from judge_score_audit order by judge_score_audit_id",
    )
    .fetch_all(&fx.env.db)
    .await
    .unwrap();
    let s0 = format!("score:{}", c[0]);
    assert!(trail.contains(&(s0.clone(), None, Some("7.5".into()), Some(judge))));
    assert!(trail.contains(&(
        s0.clone(),
        Some("7.5".into()),
        Some("8.5".into()),
        Some(judge)
    )));
    assert!(trail.contains(&(
        "comment".into(),
        Some(String::new()),
        Some("Ý tưởng tốt".into()),
        Some(judge)
    )));

    // Submit through the page's form; then the sheet is locked for API and form alike.
    let mut page = Client::new(fx.env.state());
    page.login(&email, PASSWORD).await;
    let uri = format!("/judging/{}/entries/{e}", fx.slug);
    let res = page
        .post_form(
            &uri,
            &[
                (&*format!("score_{}", c[0]), "9"),
                (&*format!("score_{}", c[1]), "6"),
                ("comment", "Ý tưởng tốt"),
                ("comment_to_entrant", ""),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), format!("/judging/{}?saved=sheet", fx.slug));
    let res = put_scores(&mut j, &token, e, json!({"scores": scores(&c, 1.0, 1.0)})).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "sheet-submitted");
    let res = page
        .post_form(
            &uri,
            &[(&*format!("score_{}", c[0]), "1"), ("action", "save")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("ban tổ chức"), "a Vietnamese reason");
    let queue = page.get(&format!("/judging/{}", fx.slug)).await;
    assert!(queue.body.contains("Đã chấm: 1"), "{}", queue.body);
    assert!(queue.body.contains("8,00"), "own average (2·9 + 6) / 3");

    // The organizer reopens; the judge can change it again.
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/reopen", fx.slug),
            &[
                ("round", "1"),
                ("entry", &e.to_string()),
                ("judge", &judge.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = put_scores(&mut j, &token, e, json!({"scores": {c[1].to_string(): 7}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let fields: Vec<String> =
        sqlx::query_scalar("select field from judge_score_audit order by judge_score_audit_id")
            .fetch_all(&fx.env.db)
            .await
            .unwrap();
    assert!(fields.contains(&"submit".to_owned()));
    let reopen_actor: Option<i64> =
        sqlx::query_scalar("select actor_id from judge_score_audit where field = 'reopen'")
            .fetch_one(&fx.env.db)
            .await
            .unwrap();
    assert_ne!(reopen_actor, Some(judge), "the organizer reopened it");
}

#[tokio::test]
async fn the_setup_is_refused_once_judging_has_opened() {
    let mut fx = fixture().await;
    // Bad set-ups get a Vietnamese message and change nothing.
    let res = setup(&mut fx, &[("crit_max_0", "0")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Điểm tối đa của tiêu chí"));
    let res = setup(&mut fx, &[("judges_weight", "140")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(criteria(&fx).await.is_empty());
    // Opening without criteria is refused.
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/open", fx.slug),
            &[("round", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);

    assert_eq!(
        setup(&mut fx, &[("judges_weight", "70")]).await.status,
        StatusCode::SEE_OTHER
    );
    let page = fx
        .org
        .get(&format!("/organize/contests/{}/judging", fx.slug))
        .await;
    assert!(
        page.body
            .contains("số lượt của bài ÷ số lượt của bài cao nhất"),
        "the default vote scaling is explained"
    );
    let tie: Vec<String> =
        sqlx::query_scalar("select tie_break from judging_round where contest_id = $1")
            .bind(fx.contest_id)
            .fetch_one(&fx.env.db)
            .await
            .unwrap();
    let c = criteria(&fx).await;
    assert_eq!(tie, [format!("criterion:{}", c[0]), "earlier".to_owned()]);
    open(&mut fx).await;
    let res = setup(
        &mut fx,
        &[
            ("judges_weight", "50"),
            ("crit_name_2", "Thêm"),
            ("crit_max_2", "5"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("không thể đổi tiêu chí"));
    let weight: i32 =
        sqlx::query_scalar("select judges_weight from judging_round where contest_id = $1")
            .bind(fx.contest_id)
            .fetch_one(&fx.env.db)
            .await
            .unwrap();
    assert_eq!(weight, 70);
    assert_eq!(criteria(&fx).await, c);
}

#[tokio::test]
async fn score_audit_rows_cannot_be_updated_deleted_or_truncated_by_the_application_role() {
    let mut fx = fixture().await;
    let (_, token, email) = person(&fx.env, Some("hn"), "Giám Khảo").await;
    let (author, _, _) = person(&fx.env, Some("q1"), "Tác Giả").await;
    let e = entry(&fx, author, "Bài", 1).await;
    setup(&mut fx, &[]).await;
    open(&mut fx).await;
    invite(&mut fx, &email, None).await;
    let c = criteria(&fx).await;
    let mut j = Client::new(fx.env.state());
    let res = put_scores(&mut j, &token, e, json!({"scores": scores(&c, 5.0, 5.0)})).await;
    assert_eq!(res.status, StatusCode::OK);
    let rows = count(&fx.env, "judge_score_audit").await;
    assert_eq!(rows, 2);

    // The application's own pool, the role every request runs as.
    for sql in [
        "update judge_score_audit set new_value = '10'",
        "delete from judge_score_audit",
        "truncate judge_score_audit",
        "truncate judge_score_audit cascade",
    ] {
        let err = sqlx::query(sql).execute(&fx.env.db).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(count(&fx.env, "judge_score_audit").await, rows);
    let values: Vec<Option<String>> = sqlx::query_scalar("select new_value from judge_score_audit")
        .fetch_all(&fx.env.db)
        .await
        .unwrap();
    assert_eq!(values, [Some("5".to_owned()), Some("5".to_owned())]);
    // Deleting the contest does not reach the audit either (no foreign keys to cascade).
    let contest_gone = sqlx::query("delete from contest where contest_id = $1")
        .bind(fx.contest_id)
        .execute(&fx.env.db)
        .await;
    let _ = contest_gone;
    assert_eq!(count(&fx.env, "judge_score_audit").await, rows);
}

/// Puts an object into the test bucket.
async fn put_object(env: &TestEnv, key: &str, body: &[u8]) {
    env.storage
        .client
        .put_object()
        .bucket(&env.storage.bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn blind_judging_shows_judges_no_author_name_email_unit_or_file_name() {
    let mut fx = fixture().await;
    let rows = hoithi_web::units::parse_csv("bi-an,Chi đoàn Bí Ẩn,hn").unwrap();
    let mut conn = fx.env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &rows).await.unwrap();
    drop(conn);
    let (judge, token, email) = person(&fx.env, Some("q1"), "Giám Khảo").await;
    let _ = judge;
    let name = "Nguyễn Thị Bí Mật";
    let (author, _, author_email) = person(&fx.env, Some("bi-an"), name).await;
    let e = entry(&fx, author, "Hoàng hôn trên sông", 1).await;
    // A photo whose original file name carries the author's name.
    let asset = Uuid::new_v4();
    let file_name = "nguyen-thi-bi-mat-chi-doan-bi-an.jpg";
    sqlx::query(
        "insert into media_asset (media_asset_id, entry_id, kind, status, progress, original_key, original_bytes,
            original_sha256, original_filename, content_type, width, height, renditions)
         values ($1, $2, 'photo', 'ready', 100, $3, 10, repeat('a', 64), $4, 'image/jpeg', 800, 600, $5)",
    )
    .bind(asset)
    .bind(e)
    .bind(hoithi_core::media::original_key(asset))
    .bind(file_name)
    .bind(json!({"images": [
        {"width": 400, "jpeg": {"key": format!("media/{asset}/photo-400.jpg")}},
        {"width": 800, "jpeg": {"key": format!("media/{asset}/photo-800.jpg")}}
    ]}))
    .execute(&fx.env.db)
    .await
    .unwrap();
    let rendition = b"\xFF\xD8\xFF\xE0 not really a jpeg, stripped of metadata by the worker";
    put_object(&fx.env, &format!("media/{asset}/photo-400.jpg"), rendition).await;

    setup(&mut fx, &[]).await;
    open(&mut fx).await;
    invite(&mut fx, &email, None).await;
    let c = criteria(&fx).await;
    let mut page = Client::new(fx.env.state());
    page.login(&email, PASSWORD).await;

    // A contest that is not blind shows the author on these pages, so the checks below can
    // fail; the organizer then makes it blind, which they may until the first score.
    let res = page.get(&format!("/judging/{}/entries/{e}", fx.slug)).await;
    assert!(res.body.contains(name));
    let res = page.get(&format!("/entries/{e}")).await;
    assert!(res.body.contains(name), "the public page shows authors");
    organize(&fx.env, fx.contest_id, json!({"blind_judging": true})).await;

    let secrets = [
        name,
        author_email.as_str(),
        "Chi đoàn Bí Ẩn",
        "bi-an",
        file_name,
        "bi-mat",
    ];
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut api = Client::new(fx.env.state());

    for uri in [
        "/judging".to_owned(),
        format!("/judging/{}", fx.slug),
        format!("/judging/{}/entries/{e}", fx.slug),
    ] {
        let res = page.get(&uri).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        seen.push((uri, res.body));
    }
    // The public pages too, as the judge sees them: the entry, the gallery, the vote page.
    for uri in [
        format!("/entries/{e}"),
        format!("/contests/{}", fx.slug),
        format!("/contests/{}/vote", fx.slug),
    ] {
        let res = page.get(&uri).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        assert!(
            res.body.contains("Hoàng hôn trên sông"),
            "{uri} lists the entry"
        );
        seen.push((uri, res.body));
    }
    let res = api
        .api("GET", &format!("/api/v1/entries/{e}"), Some(&token), None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    seen.push(("GET /api/v1/entries/{e}".into(), res.body));
    // The sheet's refusal page too (it re-renders with what was typed).
    let res = page
        .post_form(
            &format!("/judging/{}/entries/{e}", fx.slug),
            &[(&*format!("score_{}", c[0]), "99"), ("action", "save")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    seen.push(("refused form".into(), res.body));
    for (method, uri, body) in [
        ("GET", format!("/api/v1/entries/{e}/scores"), None),
        (
            "PUT",
            format!("/api/v1/entries/{e}/scores"),
            Some(json!({"scores": scores(&c, 6.0, 6.0)})),
        ),
        (
            "GET",
            format!("/api/v1/contests/{}/judging/queue", fx.slug),
            None,
        ),
    ] {
        let res = api.api(method, &uri, Some(&token), body).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}: {}", res.body);
        seen.push((uri, res.body));
    }
    // Every media URL the judge is given, fetched: body and headers.
    let sheet = api
        .api(
            "GET",
            &format!("/api/v1/entries/{e}/scores"),
            Some(&token),
            None,
        )
        .await
        .json();
    let urls: Vec<String> = sheet["entry"]["media"][0]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["url"].as_str().unwrap().to_owned())
        .collect();
    assert!(!urls.is_empty());
    assert!(
        urls.iter()
            .all(|u| u.starts_with(&format!("/media/{asset}/"))),
        "keyed by asset id"
    );
    let res = page.get(&urls[0]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", urls[0]);
    let headers = format!("{:?}", res.headers);
    seen.push((urls[0].clone(), format!("{headers}{}", res.body)));

    for (where_, text) in &seen {
        let lower = text.to_lowercase();
        for s in secrets {
            assert!(!lower.contains(&s.to_lowercase()), "{where_} shows {s:?}");
        }
    }
    assert!(
        seen[2].1.contains("Hoàng hôn trên sông"),
        "the entry itself is shown"
    );

    // Scored: the organizer can no longer turn blind judging off.
    let res = api
        .api(
            "PATCH",
            &format!("/api/v1/contests/{}", fx.slug),
            Some(&fx.org_token),
            Some(json!({"blind_judging": false})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "rubric-locked");
}

#[tokio::test]
async fn results_combine_judges_and_votes_preview_then_publish_a_frozen_snapshot() {
    let mut fx = fixture().await;
    let (_, t1, e1) = person(&fx.env, Some("hn"), "Giám Khảo Một").await;
    let (_, t2, e2) = person(&fx.env, Some("hn"), "Giám Khảo Hai").await;
    let (author, _, _) = person(&fx.env, Some("q1"), "Tác Giả").await;
    let a = entry(&fx, author, "Bài A", 1).await;
    let b = entry(&fx, author, "Bài B", 2).await;
    let d = entry(&fx, author, "Bài C", 3).await;
    // 70 % judges, 30 % votes (share of the top entry).
    setup(&mut fx, &[("judges_weight", "70")]).await;
    open(&mut fx).await;
    invite(&mut fx, &e1, None).await;
    invite(&mut fx, &e2, None).await;
    for (entry_id, votes) in [(a, 10_i64), (b, 100), (d, 0)] {
        sqlx::query(
            "insert into vote_tally_shard (entry_id, contest_id, votes) values ($1, $2, $3)",
        )
        .bind(entry_id)
        .bind(fx.contest_id)
        .bind(votes)
        .execute(&fx.env.db)
        .await
        .unwrap();
    }
    let c = criteria(&fx).await;
    let mut j = Client::new(fx.env.state());
    // A: 9 and 8 → judges 8.5 (weighted (2·9+9)/3 = 9, (2·8+8)/3 = 8); B: 6; C: 7.
    for (token, entry_id, x) in [
        (&t1, a, 9.0),
        (&t2, a, 8.0),
        (&t1, b, 6.0),
        (&t2, b, 6.0),
        (&t1, d, 7.0),
        (&t2, d, 7.0),
    ] {
        let res = put_scores(
            &mut j,
            token,
            entry_id,
            json!({"scores": scores(&c, x, x), "submit": true}),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    // Nobody outside sees anything before publishing.
    let res = j
        .api(
            "GET",
            &format!("/api/v1/contests/{}/results", fx.slug),
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let public = j.get(&format!("/contests/{}/results", fx.slug)).await;
    assert!(public.body.contains("chưa được công bố"));

    let token = fx.org_token.clone();
    let res = fx
        .org
        .api(
            "GET",
            &format!("/api/v1/contests/{}/results", fx.slug),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let v = res.json();
    assert_eq!(v["published"], false);
    let order: Vec<String> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_owned())
        .collect();
    // A: 0.7·8.5 + 0.3·1 = 6.25; B: 0.7·6 + 0.3·10 = 7.2; C: 0.7·7 + 0 = 4.9.
    assert_eq!(order, ["Bài B", "Bài A", "Bài C"]);
    assert_eq!(v["entries"][0]["combined"], 7.2);
    assert_eq!(v["entries"][1]["judge_score"], 8.5);
    assert_eq!(v["entries"][1]["votes"], 10);
    assert_eq!(v["entries"][0]["rank"], 1);
    let preview = fx
        .org
        .get(&format!("/organize/contests/{}/results", fx.slug))
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    for text in [
        "Xem trước",
        "Giám Khảo Một",
        "7,20",
        "6,25",
        "Điểm chuẩn hóa",
    ] {
        assert!(preview.body.contains(text), "{text}");
    }

    let res = fx
        .org
        .api(
            "POST",
            &format!("/api/v1/contests/{}/results/publish", fx.slug),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = fx
        .org
        .api(
            "POST",
            &format!("/api/v1/contests/{}/results/publish", fx.slug),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "already-published");

    // A score changes afterwards: the live preview moves, the published snapshot does not.
    let sheet: (i64, i64) = sqlx::query_as(
        "select a.judging_round_id, a.judge_id from judge_assignment a join app_user u on u.app_user_id = a.judge_id
         where u.email = $1 and a.entry_id = $2",
    )
    .bind(&e1)
    .bind(d)
    .fetch_one(&fx.env.db)
    .await
    .unwrap();
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/reopen", fx.slug),
            &[
                ("round", "1"),
                ("entry", &d.to_string()),
                ("judge", &sheet.1.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = put_scores(
        &mut j,
        &t1,
        d,
        json!({"scores": scores(&c, 10.0, 10.0), "submit": true}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    let live = fx
        .org
        .api(
            "GET",
            &format!("/api/v1/contests/{}/results", fx.slug),
            Some(&token),
            None,
        )
        .await
        .json();
    assert_eq!(live["entries"][2]["title"], "Bài C");
    assert_eq!(live["entries"][2]["judge_score"], 8.5);
    let public = j
        .api(
            "GET",
            &format!("/api/v1/contests/{}/results", fx.slug),
            None,
            None,
        )
        .await
        .json();
    assert_eq!(public["published"], true);
    assert_eq!(public["entries"][2]["judge_score"], 7.0, "frozen");
    assert!(public.get("judges").is_none(), "no judge names in public");
    let page = j.get(&format!("/contests/{}/results", fx.slug)).await;
    let (pb, pa, pc) = (
        page.body.find("Bài B").unwrap(),
        page.body.find("Bài A").unwrap(),
        page.body.find("Bài C").unwrap(),
    );
    assert!(pb < pa && pa < pc, "ranked order on the public page");
    assert!(
        page.body.contains("@media print") || page.body.contains("judging.css"),
        "print styles are linked"
    );
    assert!(!page.body.contains("Giám Khảo Một"));
}

#[tokio::test]
async fn exports_are_csv_with_a_bom_and_xlsx_with_vietnamese_headers_for_organizers_only() {
    let mut fx = fixture().await;
    let (_, token, email) = person(&fx.env, Some("hn"), "Giám Khảo").await;
    let (author, _, _) = person(&fx.env, Some("q1"), "Trần Văn Ảnh").await;
    let e = entry(&fx, author, "=cmd|' /C calc'!A0", 1).await;
    setup(&mut fx, &[]).await;
    open(&mut fx).await;
    invite(&mut fx, &email, None).await;
    let c = criteria(&fx).await;
    let mut j = Client::new(fx.env.state());
    let res = put_scores(
        &mut j,
        &token,
        e,
        json!({"scores": scores(&c, 8.0, 5.0), "comment": "Đẹp, \"ấn tượng\"", "submit": true}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);

    let base = format!("/organize/contests/{}/export", fx.slug);
    let res = fx.org.get(&format!("{base}/results.csv")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(res.body.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    assert!(
        res.body
            .contains("Hạng,Mã bài,Tên bài,Tác giả,Email,Đơn vị")
    );
    assert!(res.body.contains("Trần Văn Ảnh"));
    assert!(res.body.contains("'=cmd"), "a formula is defused");
    let res = fx.org.get(&format!("{base}/scores.csv")).await;
    assert!(res.body.contains("Nội dung (/10)"));
    assert!(res.body.contains("\"Đẹp, \"\"ấn tượng\"\"\""));
    assert!(res.body.contains(",7,"), "weighted (2·8 + 5) / 3");
    let res = fx.org.get(&format!("{base}/entries.csv")).await;
    assert!(res.body.contains("Quận Đoàn 1"));
    for name in ["results", "scores", "entries"] {
        let res = fx.org.get(&format!("{base}/{name}.xlsx")).await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(
            res.headers["content-type"]
                .to_str()
                .unwrap()
                .contains("spreadsheetml")
        );
        assert!(res.body.as_bytes().starts_with(b"PK"), "a zip archive");
    }
    assert_eq!(
        fx.org.get(&format!("{base}/results.pdf")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fx.org.get(&format!("{base}/secrets.csv")).await.status,
        StatusCode::NOT_FOUND
    );
    let mut judge_page = Client::new(fx.env.state());
    judge_page.login(&email, PASSWORD).await;
    assert_eq!(
        judge_page.get(&format!("{base}/results.csv")).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn round_entries(fx: &Fx, number: i32) -> Vec<Uuid> {
    sqlx::query_scalar(
        "select re.entry_id from round_entry re join judging_round r using (judging_round_id)
         where r.contest_id = $1 and r.number = $2 order by re.entry_id",
    )
    .bind(fx.contest_id)
    .bind(number)
    .fetch_all(&fx.env.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn advancement_moves_exactly_the_top_n_then_the_entries_above_a_cutoff() {
    let mut fx = fixture().await;
    let (_, token, email) = person(&fx.env, Some("hn"), "Giám Khảo").await;
    let (author, _, _) = person(&fx.env, Some("q1"), "Tác Giả").await;
    let mut ids = Vec::new();
    for (i, x) in [9.0, 4.0, 8.0, 6.0, 7.0].iter().enumerate() {
        ids.push((entry(&fx, author, &format!("Bài {i}"), i as i64).await, *x));
    }
    setup(&mut fx, &[]).await;
    open(&mut fx).await;
    invite(&mut fx, &email, None).await;
    let c = criteria(&fx).await;
    let mut j = Client::new(fx.env.state());
    for (e, x) in &ids {
        let res = put_scores(
            &mut j,
            &token,
            *e,
            json!({"scores": scores(&c, *x, *x), "submit": true}),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK);
    }
    let uri = format!("/organize/contests/{}/results/advance", fx.slug);
    let res = fx.org.post_form(&uri, &[("round", "1")]).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a rule is needed"
    );
    let res = fx
        .org
        .post_form(&uri, &[("round", "1"), ("top", "3")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mut top3 = vec![ids[0].0, ids[2].0, ids[4].0];
    top3.sort();
    assert_eq!(round_entries(&fx, 2).await, top3);
    // Round 1 is closed: its sheets no longer take scores; advancing it again is refused.
    let res = fx
        .org
        .post_form(&uri, &[("round", "1"), ("top", "1")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let res = put_scores(
        &mut j,
        &token,
        ids[1].0,
        json!({"scores": scores(&c, 1.0, 1.0)}),
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Round 2 carries the criteria; open it, assign, score, advance by cutoff ≥ 8.
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/open", fx.slug),
            &[("round", "2"), ("confirm", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/assign", fx.slug),
            &[("round", "2"), ("mode", "all")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let c2: Vec<i64> = sqlx::query_scalar(
        "select c.judging_criterion_id from judging_criterion c join judging_round r using (judging_round_id)
         where r.contest_id = $1 and r.number = 2 order by c.position",
    )
    .bind(fx.contest_id)
    .fetch_all(&fx.env.db)
    .await
    .unwrap();
    assert_eq!(c2.len(), 2);
    for (e, x) in [(ids[0].0, 8.0), (ids[2].0, 8.0), (ids[4].0, 7.0)] {
        let res = put_scores(
            &mut j,
            &token,
            e,
            json!({"scores": scores(&c2, x, x), "submit": true}),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    let res = fx
        .org
        .post_form(&uri, &[("round", "2"), ("cutoff", "8")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mut above = vec![ids[0].0, ids[2].0];
    above.sort();
    assert_eq!(round_entries(&fx, 3).await, above);
}

#[tokio::test]
async fn an_even_spread_keeps_the_quorum_and_so_does_reassigning_a_late_judge() {
    let mut fx = fixture().await;
    let mut judges = Vec::new();
    for (i, unit) in ["hn", "hn", "q1", "hn"].iter().enumerate() {
        let (id, _, email) = person(&fx.env, Some(unit), &format!("Giám Khảo {i}")).await;
        judges.push((id, email));
    }
    let (q1_author, _, _) = person(&fx.env, Some("q1"), "Tác Giả Q1").await;
    let (other_author, _, _) = person(&fx.env, Some("q1-a"), "Tác Giả Q1-A").await;
    let mut entries = Vec::new();
    for i in 0..6 {
        let author = if i % 2 == 0 { q1_author } else { other_author };
        entries.push(entry(&fx, author, &format!("Bài {i}"), i).await);
    }
    setup(&mut fx, &[]).await;
    open(&mut fx).await;
    for (_, email) in &judges {
        let token = fx.org_token.clone();
        let res = fx
            .org
            .api(
                "POST",
                &format!("/api/v1/contests/{}/judges", fx.slug),
                Some(&token),
                Some(json!({"email": email, "entries": []})),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED);
    }
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/assign", fx.slug),
            &[("round", "1"), ("mode", "even"), ("quorum", "2")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let active = |db: sqlx::PgPool| async move {
        sqlx::query_as::<_, (Uuid, i64)>("select entry_id, judge_id from judge_assignment where active order by entry_id, judge_id")
            .fetch_all(&db)
            .await
            .unwrap()
    };
    let check = |pairs: &[(Uuid, i64)]| {
        for e in &entries {
            let js: Vec<i64> = pairs.iter().filter(|p| p.0 == *e).map(|p| p.1).collect();
            assert_eq!(js.len(), 2, "quorum of entry {e}: {js:?}");
        }
        // The q1 judge never gets the q1 author's entries.
        for (i, e) in entries.iter().enumerate() {
            if i % 2 == 0 {
                assert!(!pairs.contains(&(*e, judges[2].0)), "conflict of interest");
            }
        }
    };
    let pairs = active(fx.env.db.clone()).await;
    check(&pairs);
    let load = |pairs: &[(Uuid, i64)], j: i64| pairs.iter().filter(|p| p.1 == j).count();
    let loads: Vec<usize> = judges.iter().map(|j| load(&pairs, j.0)).collect();
    assert_eq!(loads.iter().sum::<usize>(), 12);
    // The q1 judge may take only the three q1-a entries, and still gets a fair share.
    assert!(
        loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
        "{loads:?}"
    );

    // Judge 0 is late: every unfinished entry moves to another eligible judge.
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/reassign", fx.slug),
            &[("round", "1"), ("from", &judges[0].1)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let pairs = active(fx.env.db.clone()).await;
    check(&pairs);
    assert_eq!(load(&pairs, judges[0].0), 0);
    let moved: i64 =
        sqlx::query_scalar("select count(*) from judge_score_audit where field = 'reassign'")
            .fetch_one(&fx.env.db)
            .await
            .unwrap();
    assert_eq!(moved as usize, loads[0]);
    // The judges' progress and a reminder for those with work left.
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/remind", fx.slug),
            &[("round", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        outbox(&fx.env, &judges[1].1)
            .await
            .iter()
            .any(|m| m.0 == "judge-reminder")
    );
    assert!(
        !outbox(&fx.env, &judges[0].1)
            .await
            .iter()
            .any(|m| m.0 == "judge-reminder")
    );
}
