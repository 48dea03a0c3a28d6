#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Issue 18 through the real router and a real database: the confirm steps and guards of
//! publishing (voting open), opening judging (submission open), closing a phase and
//! withdrawing; withdraw and restore until results are published; judges' comments reaching
//! their entrant (and nobody else, and not before); the entrant's side of entering (verify
//! first, the limit before the form); the contest page's banner and schedule. Each happy
//! path has its hostile twin next to it.

mod support;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
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

/// When the contest's phases are, relative to now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// Submission open (a week left), no voting.
    Submission,
    /// Submission closed yesterday, voting open until the day after tomorrow.
    Voting,
}

/// Units hcm → q1 → q1-a and hn; an organizer of hcm signed in; a contest of hcm made from
/// its description (as `create-contest` does), blind judging, two entries per member.
async fn fixture(at: At) -> Fx {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org_token, org_email) = user_in(&env, Role::Organizer, Some("hcm")).await;
    let now = Utc::now();
    let slug = format!("thi-{}", &Uuid::new_v4().simple().to_string()[..10]);
    let phases = match at {
        At::Submission => format!(
            "[phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n",
            (now - Duration::hours(1)).to_rfc3339(),
            (now + Duration::days(7)).to_rfc3339(),
        ),
        At::Voting => format!(
            "[phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n\
             [phases.voting]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n",
            (now - Duration::days(3)).to_rfc3339(),
            (now - Duration::days(1)).to_rfc3339(),
            (now - Duration::hours(12)).to_rfc3339(),
            (now + Duration::days(2)).to_rfc3339(),
        ),
    };
    let spec = hoithi_web::contests::spec::ContestSpec::from_toml(&format!(
        "slug = \"{slug}\"\ntitle = \"Ảnh đẹp 2026\"\nunit = \"hcm\"\nkinds = [\"photo\"]\n\
         blind_judging = true\n[limits]\nmax_entries_per_member = 2\n{phases}"
    ))
    .unwrap();
    let contest_id = hoithi_web::contests::create(&env.db, None, &spec)
        .await
        .unwrap()
        .unwrap();
    let mut org = Client::new(state_with_public_url(
        &env,
        Some("https://hoithi.example.vn"),
    ));
    assert_eq!(
        org.login(&org_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    Fx {
        env,
        org,
        org_token,
        slug,
        contest_id,
    }
}

/// A member of `unit` signed in: (client, id, token, email).
async fn member(fx: &Fx, unit: &str) -> (Client, i64, String, String) {
    let (id, token, email) = user_in(&fx.env, Role::Member, Some(unit)).await;
    let mut c = Client::new(state_with_public_url(
        &fx.env,
        Some("https://hoithi.example.vn"),
    ));
    assert_eq!(
        c.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    (c, id, token, email)
}

/// An approved entry of `author` (made as the upload and the review would leave it).
async fn approved(fx: &Fx, author: i64, title: &str) -> Uuid {
    let id = fx.env.draft_entry(fx.contest_id, author).await;
    sqlx::query("update entry set title = $2, status = 'approved', submitted_at = now() where entry_id = $1")
        .bind(id)
        .bind(title)
        .execute(&fx.env.db)
        .await
        .unwrap();
    id
}

/// Round 1 set up through the organizer's form (one criterion, judges only).
async fn setup(fx: &mut Fx) {
    let res = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/setup", fx.slug),
            &[
                ("round", "1"),
                ("name", "Vòng chung khảo"),
                ("crit_name_0", "Nội dung"),
                ("crit_max_0", "10"),
                ("crit_weight_0", "1"),
                ("judges_weight", "100"),
                ("vote_scaling", "top_share"),
                ("judge_basis", "raw"),
                ("tie_0", "earlier"),
                // The set-up form carries the contest's blind judging too: kept on.
                ("blind", "on"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(res.location().contains("saved=judging-setup"));
    let page = fx.org.get(res.location()).await;
    assert!(
        page.body.contains("Đã lưu thiết lập vòng chấm."),
        "{}",
        page.body
    );
}

async fn open_judging(fx: &mut Fx) -> Res {
    let uri = format!("/organize/contests/{}/judging/open", fx.slug);
    fx.org
        .post_form(&uri, &[("round", "1"), ("confirm", "1")])
        .await
}

/// A judge of hn invited to every entry, scoring `entry` with `comment` to its entrant.
async fn judge_scores(fx: &mut Fx, entries: &[(Uuid, &str)]) {
    let (_, judge_token, judge_email) = user_in(&fx.env, Role::Member, Some("hn")).await;
    sqlx::query("update app_user set display_name = 'Cô Giám Khảo Bí Mật' where email = $1")
        .bind(&judge_email)
        .execute(&fx.env.db)
        .await
        .unwrap();
    let uri = format!("/api/v1/contests/{}/judges", fx.slug);
    let token = fx.org_token.clone();
    let body = json!({"email": judge_email});
    let res = fx.org.api("POST", &uri, Some(&token), Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let criterion: i64 = sqlx::query_scalar(
        "select c.judging_criterion_id from judging_criterion c join judging_round r using (judging_round_id)
         where r.contest_id = $1",
    )
    .bind(fx.contest_id)
    .fetch_one(&fx.env.db)
    .await
    .unwrap();
    let mut j = Client::new(fx.env.state());
    for (entry, comment) in entries {
        let body = json!({
            "scores": {criterion.to_string(): 8},
            "comment": "ghi chú riêng của ban giám khảo",
            "comment_to_entrant": comment,
            "submit": true,
        });
        let res = j
            .api(
                "PUT",
                &format!("/api/v1/entries/{entry}/scores"),
                Some(&judge_token),
                Some(body),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
}

async fn published_count(fx: &Fx) -> i64 {
    sqlx::query_scalar("select count(*) from judging_result where contest_id = $1")
        .bind(fx.contest_id)
        .fetch_one(&fx.env.db)
        .await
        .unwrap()
}

async fn status_of(fx: &Fx, id: Uuid) -> String {
    sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(id)
        .fetch_one(&fx.env.db)
        .await
        .unwrap()
}

async fn voting_open(fx: &Fx) -> bool {
    sqlx::query_scalar(
        "select voting_opens_at <= now() and now() < voting_closes_at from contest where contest_id = $1",
    )
    .bind(fx.contest_id)
    .fetch_one(&fx.env.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn publishing_while_voting_is_open_asks_to_end_it_and_only_a_confirmed_end_publishes() {
    let mut fx = fixture(At::Voting).await;
    let (_, author, _, author_email) = member(&fx, "q1").await;
    let e = approved(&fx, author, "Bình minh").await;
    setup(&mut fx).await;
    let res = open_judging(&mut fx).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    judge_scores(&mut fx, &[(e, "Bố cục tốt, ánh sáng hơi gắt.")]).await;
    let publish = format!("/organize/contests/{}/results/publish", fx.slug);

    // The first press only asks, and says voting is open until when and that it ends now.
    let res = fx.org.post_form(&publish, &[("round", "1")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Bạn chắc chắn?"), "{}", res.body);
    assert!(
        res.body.contains("Bình chọn vẫn đang mở đến"),
        "{}",
        res.body
    );
    assert!(res.body.contains(r#"name="end_voting" value="1""#));
    assert_eq!(published_count(&fx).await, 0);
    assert!(voting_open(&fx).await);

    // Hostile twins: a confirm without ending voting, and the API without the flag.
    let res = fx
        .org
        .post_form(&publish, &[("round", "1"), ("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("Bình chọn vẫn đang mở."), "{}", res.body);
    let api = format!("/api/v1/contests/{}/results/publish", fx.slug);
    let token = fx.org_token.clone();
    let res = fx.org.api("POST", &api, Some(&token), None).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["error"]["code"], "voting-still-open");
    assert_eq!(published_count(&fx).await, 0);
    assert!(voting_open(&fx).await, "nothing closed voting");
    assert!(outbox(&fx.env, &author_email).await.is_empty());

    // Confirmed: voting closes now (logged), the results publish, the entrant is mailed once.
    let res = fx
        .org
        .post_form(
            &publish,
            &[("round", "1"), ("confirm", "1"), ("end_voting", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(published_count(&fx).await, 1);
    assert!(
        !voting_open(&fx).await,
        "voting closed at the moment of publishing"
    );
    let logged: i64 = sqlx::query_scalar(
        "select count(*) from contest_phase_log where contest_id = $1 and phase = 'voting' and action = 'close'",
    )
    .bind(fx.contest_id)
    .fetch_one(&fx.env.db)
    .await
    .unwrap();
    assert_eq!(logged, 1);
    let page = fx.org.get(res.location()).await;
    assert!(page.body.contains("Đã công bố kết quả."), "{}", page.body);
    let mails = outbox(&fx.env, &author_email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].0, "results-published");
    assert!(
        mails[0]
            .2
            .contains(&format!("https://hoithi.example.vn/entries/{e}"))
    );
    assert!(mails[0].2.contains("Bố cục tốt, ánh sáng hơi gắt."));
    assert!(
        !mails[0].2.contains("Cô Giám Khảo Bí Mật"),
        "blind judging: no judge's name"
    );
    assert!(
        !mails[0].2.contains("ghi chú riêng"),
        "the private note stays private"
    );
}

#[tokio::test]
async fn two_publish_requests_at_the_same_instant_publish_once() {
    let mut fx = fixture(At::Voting).await;
    let (_, author, _, author_email) = member(&fx, "q1").await;
    approved(&fx, author, "Bình minh").await;
    setup(&mut fx).await;
    open_judging(&mut fx).await;
    let api = format!(
        "/api/v1/contests/{}/results/publish?end_voting=true",
        fx.slug
    );
    let token = fx.org_token.clone();
    let (mut a, mut b) = (fx.org.clone(), fx.org.clone());
    let (ra, rb) = tokio::join!(
        a.api("POST", &api, Some(&token), None),
        b.api("POST", &api, Some(&token), None)
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let refused = if ra.status == StatusCode::CONFLICT {
        ra
    } else {
        rb
    };
    assert_eq!(refused.json()["error"]["code"], "already-published");
    assert_eq!(published_count(&fx).await, 1);
    assert_eq!(outbox(&fx.env, &author_email).await.len(), 1, "one mail");
}

#[tokio::test]
async fn judging_opens_only_after_submission_closes_and_only_once_confirmed() {
    let mut fx = fixture(At::Submission).await;
    setup(&mut fx).await;
    let opened = |fx: &Fx| {
        let db = fx.env.db.clone();
        let id = fx.contest_id;
        async move {
            sqlx::query_scalar::<_, bool>(
                "select opened_at is not null from judging_round where contest_id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    // Refused while submission is open, even confirmed; the page says until when.
    let res = open_judging(&mut fx).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("vẫn đang nhận bài"), "{}", res.body);
    assert!(res.body.contains("Hội thi nhận bài đến"), "{}", res.body);
    let api_probe = fx
        .org
        .post_form(
            &format!("/organize/contests/{}/judging/open", fx.slug),
            &[("round", "1")],
        )
        .await;
    assert_eq!(
        api_probe.status,
        StatusCode::CONFLICT,
        "no confirm step for a refusal"
    );
    assert!(!opened(&fx).await);

    // Closing submission now: asked first, then done.
    let phase = format!("/organize/contests/{}/phase", fx.slug);
    let res = fx
        .org
        .post_form(&phase, &[("phase", "submission"), ("action", "close")])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Bạn chắc chắn?"), "{}", res.body);
    assert!(res.body.contains("ngừng nhận bài mới"), "{}", res.body);
    let still: bool = sqlx::query_scalar(
        "select submission_closes_at > now() from contest where contest_id = $1",
    )
    .bind(fx.contest_id)
    .fetch_one(&fx.env.db)
    .await
    .unwrap();
    assert!(still, "not closed before the confirmation");
    let res = fx
        .org
        .post_form(
            &phase,
            &[
                ("phase", "submission"),
                ("action", "close"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // A phase that is not open is refused at once, confirmed or not.
    for fields in [
        &[("phase", "submission"), ("action", "close")][..],
        &[("phase", "voting"), ("action", "close"), ("confirm", "1")][..],
    ] {
        let res = fx.org.post_form(&phase, fields).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    // Now judging asks first, then opens.
    let uri = format!("/organize/contests/{}/judging/open", fx.slug);
    let res = fx.org.post_form(&uri, &[("round", "1")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains(r#"id="confirm-open""#), "{}", res.body);
    assert!(!opened(&fx).await);
    let res = open_judging(&mut fx).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(opened(&fx).await);
}

#[tokio::test]
async fn a_withdrawn_entry_is_restored_by_its_author_only_and_not_after_results_are_published() {
    let mut fx = fixture(At::Submission).await;
    let (mut author_c, author, _, _) = member(&fx, "q1").await;
    let (mut other, _, _, _) = member(&fx, "q1").await;
    let e = approved(&fx, author, "Sông quê").await;
    let page = author_c.get(&format!("/entries/{e}")).await;
    assert!(page.body.contains(r#"id="withdraw""#), "{}", page.body);
    assert!(
        !page
            .body
            .contains(&format!(r#"action="/entries/{e}/withdraw""#)),
        "no one-tap withdraw form on the entry page"
    );

    // The confirm step says what happens; a post without confirm only asks.
    let step = author_c.get(&format!("/entries/{e}/withdraw")).await;
    assert_eq!(step.status, StatusCode::OK);
    assert!(step.body.contains("Bạn chắc chắn?"));
    assert!(
        step.body
            .contains("khôi phục bài cho đến khi công bố kết quả")
    );
    let uri = format!("/entries/{e}/withdraw");
    let res = author_c.post_form(&uri, &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(status_of(&fx, e).await, "approved");
    // A cross-site form (no CSRF token) is refused, the entry untouched.
    let res = author_c
        .post_raw(&uri, &[("confirm", "1".to_owned())])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert_eq!(status_of(&fx, e).await, "approved");
    // Someone else's entry: 404, nothing moves.
    let res = other.post_form(&uri, &[("confirm", "1")]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&fx, e).await, "approved");

    let res = author_c.post_form(&uri, &[("confirm", "1")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(status_of(&fx, e).await, "withdrawn");
    let page = author_c.get(res.location()).await;
    assert!(page.body.contains("Đã rút bài."), "{}", page.body);
    assert!(page.body.contains(r#"id="restore""#), "{}", page.body);

    // Another member cannot restore it (404), nor can a signed-out visitor.
    let restore = format!("/entries/{e}/restore");
    let res = other.post_form(&restore, &[]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let mut anon = Client::new(fx.env.state());
    let res = anon.post_form(&restore, &[]).await;
    assert_ne!(res.status, StatusCode::OK);
    assert_eq!(status_of(&fx, e).await, "withdrawn");

    // The author restores it: back to approved.
    let res = author_c.post_form(&restore, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(status_of(&fx, e).await, "approved");
    let res = author_c.post_form(&restore, &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "restored once");

    // Withdrawn again, then results are published: restore (and withdraw) are refused.
    let res = author_c.post_form(&uri, &[("confirm", "1")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let other_e = approved(&fx, author, "Phố cổ").await;
    setup(&mut fx).await;
    let phase = format!("/organize/contests/{}/phase", fx.slug);
    let close = [
        ("phase", "submission"),
        ("action", "close"),
        ("confirm", "1"),
    ];
    assert_eq!(
        fx.org.post_form(&phase, &close).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(open_judging(&mut fx).await.status, StatusCode::SEE_OTHER);
    let publish = format!("/organize/contests/{}/results/publish", fx.slug);
    let res = fx
        .org
        .post_form(&publish, &[("round", "1"), ("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = author_c.post_form(&restore, &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("Kết quả đã công bố"), "{}", res.body);
    assert_eq!(status_of(&fx, e).await, "withdrawn");
    let res = author_c
        .post_form(&format!("/entries/{other_e}/withdraw"), &[("confirm", "1")])
        .await;
    assert_ne!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&fx, other_e).await, "approved");
}

#[tokio::test]
async fn restoring_past_the_entry_limit_is_refused() {
    let fx = fixture(At::Submission).await;
    let (mut c, author, _, _) = member(&fx, "q1").await;
    let first = approved(&fx, author, "Một").await;
    let uri = format!("/entries/{first}/withdraw");
    assert_eq!(
        c.post_form(&uri, &[("confirm", "1")]).await.status,
        StatusCode::SEE_OTHER
    );
    // Two more: the limit (2) is reached without the withdrawn one.
    approved(&fx, author, "Hai").await;
    approved(&fx, author, "Ba").await;
    let res = c.post_form(&format!("/entries/{first}/restore"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("số bài tối đa"), "{}", res.body);
    assert_eq!(status_of(&fx, first).await, "withdrawn");
}

#[tokio::test]
async fn the_entrant_reads_judges_comments_once_results_are_published_and_nobody_else_does() {
    let mut fx = fixture(At::Submission).await;
    let (mut author_c, author, _, _) = member(&fx, "q1").await;
    let (mut other, _, _, _) = member(&fx, "q1").await;
    let e = approved(&fx, author, "Sông quê").await;
    setup(&mut fx).await;
    let phase = format!("/organize/contests/{}/phase", fx.slug);
    let close = [
        ("phase", "submission"),
        ("action", "close"),
        ("confirm", "1"),
    ];
    assert_eq!(
        fx.org.post_form(&phase, &close).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(open_judging(&mut fx).await.status, StatusCode::SEE_OTHER);
    let comment = "Màu sắc hài hoà, nên cắt bớt khoảng trời.";
    judge_scores(&mut fx, &[(e, comment)]).await;

    // Before publication: not on the entry page, not in "my entries".
    let page = author_c.get(&format!("/entries/{e}")).await;
    assert!(!page.body.contains(comment));
    assert!(!author_c.get("/me/entries").await.body.contains(comment));

    let publish = format!("/organize/contests/{}/results/publish", fx.slug);
    let res = fx
        .org
        .post_form(&publish, &[("round", "1"), ("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // After: the author reads it (no judge's name: judging is blind) on both pages.
    let page = author_c.get(&format!("/entries/{e}")).await;
    assert!(page.body.contains(comment), "{}", page.body);
    assert!(page.body.contains("Nhận xét của giám khảo"));
    assert!(!page.body.contains("Cô Giám Khảo Bí Mật"));
    assert!(!page.body.contains("ghi chú riêng"));
    let mine = author_c.get("/me/entries").await;
    assert!(mine.body.contains(comment), "{}", mine.body);

    // Another member and a visitor see the public entry, never the comment.
    let res = other.get(&format!("/entries/{e}")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.body.contains(comment));
    assert!(!other.get("/me/entries").await.body.contains(comment));
    let mut anon = Client::new(fx.env.state());
    assert!(
        !anon
            .get(&format!("/entries/{e}"))
            .await
            .body
            .contains(comment)
    );
}

#[tokio::test]
async fn an_unverified_member_is_told_to_verify_first_and_posting_creates_nothing() {
    let fx = fixture(At::Submission).await;
    let (mut c, id, _, _) = member(&fx, "q1").await;
    sqlx::query("update app_user set email_verified_at = null where app_user_id = $1")
        .bind(id)
        .execute(&fx.env.db)
        .await
        .unwrap();
    let enter = format!("/contests/{}/enter", fx.slug);
    let page = c.get(&enter).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Hãy xác minh email trước khi gửi bài"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"action="/verify-email""#));
    assert!(!page.body.contains(r#"name="title""#), "no entry form");
    let res = c
        .post_form(
            &enter,
            &[("title", "Lén gửi"), ("description", ""), ("consent", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let made: i64 = sqlx::query_scalar("select count(*) from entry where author_id = $1")
        .bind(id)
        .fetch_one(&fx.env.db)
        .await
        .unwrap();
    assert_eq!(made, 0);
}

#[tokio::test]
async fn the_entry_limit_shows_before_the_form_and_at_the_limit_the_form_is_gone() {
    let fx = fixture(At::Submission).await;
    let (mut c, id, _, _) = member(&fx, "q1").await;
    let enter = format!("/contests/{}/enter", fx.slug);
    let page = c.get(&enter).await;
    assert!(page.body.contains("Bạn đã gửi 0/2 bài."), "{}", page.body);
    assert!(page.body.contains(r#"name="title""#));
    for title in ["Một", "Hai"] {
        let res = c
            .post_form(
                &enter,
                &[("title", title), ("description", ""), ("consent", "1")],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    }
    let page = c.get(&enter).await;
    assert!(page.body.contains("Bạn đã gửi 2/2 bài."), "{}", page.body);
    assert!(page.body.contains("gửi đủ số bài tối đa"), "{}", page.body);
    assert!(
        !page.body.contains(r#"name="title""#),
        "no form at the limit"
    );
    // A post anyway (an old tab) is refused with a clear sentence, nothing made.
    let res = c
        .post_form(
            &enter,
            &[("title", "Ba"), ("description", ""), ("consent", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(
        res.body.contains("Bạn đã gửi đủ số bài tối đa"),
        "{}",
        res.body
    );
    let made: i64 = sqlx::query_scalar("select count(*) from entry where author_id = $1")
        .bind(id)
        .fetch_one(&fx.env.db)
        .await
        .unwrap();
    assert_eq!(made, 2);
}

#[tokio::test]
async fn after_registering_a_page_says_to_check_the_email_with_a_way_to_resend() {
    let env = TestEnv::new().await;
    let mut c = Client::new(env.state());
    c.get("/register").await;
    let res = c
        .post_form(
            "/register",
            &[
                ("email", "moi@example.vn"),
                ("name", "Người Mới"),
                ("password", "mật khẩu dài đủ"),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/check-email");
    let page = c.get("/check-email").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Kiểm tra email để xác minh tài khoản"));
    assert!(page.body.contains("moi@example.vn"));
    assert!(page.body.contains(r#"action="/verify-email""#));
    // Signed out, the page is not for anyone: to the sign-in page.
    let mut anon = Client::new(env.state());
    assert_eq!(anon.get("/check-email").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_contest_page_banner_gives_the_voting_close_and_the_schedule_is_on_the_page() {
    let fx = fixture(At::Voting).await;
    // Judging closes before voting here: the banner must not give judging's close.
    let judging = json!({"phases": {"judging": {"opens_at": in_minutes(0),
                                                  "closes_at": in_minutes(24 * 60)}}});
    organize(&fx.env, fx.contest_id, judging).await;
    let (voting_closes, judging_closes): (chrono::DateTime<Utc>, chrono::DateTime<Utc>) =
        sqlx::query_as(
            "select voting_closes_at, judging_closes_at from contest where contest_id = $1",
        )
        .bind(fx.contest_id)
        .fetch_one(&fx.env.db)
        .await
        .unwrap();
    let mut anon = Client::new(fx.env.state());
    let page = anon.get(&format!("/contests/{}", fx.slug)).await;
    let banner_at = page.body.find(r#"id="phase-banner""#).unwrap();
    let banner = &page.body[banner_at..banner_at + page.body[banner_at..].find("</p>").unwrap()];
    let show = |t| hoithi_web::format::datetime(hoithi_core::i18n::Lang::Vi, &t);
    assert!(banner.contains("Bình chọn"), "{banner}");
    assert!(banner.contains(&show(voting_closes)), "{banner}");
    assert!(!banner.contains(&show(judging_closes)), "{banner}");
    // The schedule is outside the collapsed rules, every phase with its dates.
    let schedule_at = page.body.find(r#"id="schedule""#).unwrap();
    let rules_at = page.body.find(r#"<details class="rules""#).unwrap();
    assert!(schedule_at < rules_at);
    let schedule = &page.body[schedule_at..rules_at];
    for phase in ["Nhận bài dự thi", "Chấm thi", "Bình chọn"] {
        assert!(schedule.contains(phase), "{schedule}");
    }
    assert!(schedule.contains(&show(voting_closes)));
    assert!(schedule.contains("Asia/Ho_Chi_Minh"));
}

#[tokio::test]
async fn deleting_a_livestream_asks_first_and_a_cross_site_form_deletes_nothing() {
    let mut fx = fixture(At::Voting).await;
    let now = Utc::now();
    let body = json!({
        "title": "Chung kết trực tiếp",
        "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "starts_at": (now + Duration::hours(1)).to_rfc3339(),
        "ends_at": (now + Duration::hours(3)).to_rfc3339(),
    });
    let token = fx.org_token.clone();
    let uri = format!("/api/v1/contests/{}/streams", fx.slug);
    let res = fx.org.api("POST", &uri, Some(&token), Some(body)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.json()["id"].as_i64().unwrap();
    let count = |fx: &Fx| {
        let db = fx.env.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select count(*) from contest_stream")
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let delete = format!("/organize/contests/{}/streams/{id}/delete", fx.slug);
    let res = fx.org.post_form(&delete, &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Bạn chắc chắn?"), "{}", res.body);
    assert!(res.body.contains("Không khôi phục được"));
    assert_eq!(count(&fx).await, 1);
    let res = fx
        .org
        .post_raw(&delete, &[("confirm", "1".to_owned())])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "no CSRF token: refused");
    assert_eq!(count(&fx).await, 1);
    let res = fx.org.post_form(&delete, &[("confirm", "1")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(count(&fx).await, 0);
    let page = fx.org.get(res.location()).await;
    assert!(
        page.body.contains("Đã xóa buổi phát trực tiếp."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn an_entry_withdrawn_with_the_authors_consent_is_not_restored() {
    let fx = fixture(At::Submission).await;
    let (mut c, author, _, _) = member(&fx, "q1").await;
    let enter = format!("/contests/{}/enter", fx.slug);
    let res = c
        .post_form(
            &enter,
            &[
                ("title", "Có đồng ý"),
                ("description", ""),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let e: Uuid = sqlx::query_scalar("select entry_id from entry where author_id = $1")
        .bind(author)
        .fetch_one(&fx.env.db)
        .await
        .unwrap();
    // Withdrawing consent withdraws the entry; that is not undone by "Khôi phục bài".
    let res = c.post_form("/account/consent/withdraw", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(status_of(&fx, e).await, "withdrawn");
    let page = c.get(&format!("/entries/{e}")).await;
    assert!(!page.body.contains(r#"id="restore""#), "{}", page.body);
    let res = c.post_form(&format!("/entries/{e}/restore"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("không khôi phục được"), "{}", res.body);
    assert_eq!(status_of(&fx, e).await, "withdrawn");
}
