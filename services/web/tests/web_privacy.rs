#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Personal data (issue 22): recorded consent at registration and entry, withdrawing it, a
//! child's entry held until a guardian agrees through the mailed link, shortened names of
//! children on public pages, the export of a person's data and the deletion of an account.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use support::{Client, PASSWORD, contest_of, outbox, units, user_in};

/// `YYYY-MM-DD` of someone `years` old today (their birthday a month ago).
fn born_years_ago(years: u32) -> String {
    let d = chrono::Utc::now().date_naive() - chrono::Duration::days(30);
    d.checked_sub_months(chrono::Months::new(12 * years))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

async fn consents(env: &TestEnv, user: i64) -> Vec<(String, String, bool)> {
    sqlx::query_as(
        "select kind, notice_version, withdrawn_at is not null from consent
         where app_user_id = $1 order by consent_id",
    )
    .bind(user)
    .fetch_all(&env.db)
    .await
    .unwrap()
}

async fn user_id(env: &TestEnv, email: &str) -> i64 {
    sqlx::query_scalar("select app_user_id from app_user where email = $1")
        .bind(email)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

/// The last path of a link in the newest mail to `to`.
async fn last_link(env: &TestEnv, to: &str) -> String {
    let mails = outbox(env, to).await;
    let body = &mails.last().expect("a mail").2;
    let start = body.find("http").expect("a link");
    let url = body[start..].split_whitespace().next().unwrap();
    let path_start = url[8..].find('/').unwrap() + 8;
    url[path_start..].to_owned()
}

#[tokio::test]
async fn registration_needs_the_consent_box_and_records_the_notice_version() {
    let env = TestEnv::new().await;
    let mut c = Client::new(env.state());
    let form = c.get("/register").await;
    assert!(form.body.contains(r#"name="consent""#), "{}", form.body);
    assert!(form.body.contains("privacy-2026-12"));
    let res = c
        .post_form(
            "/register",
            &[
                ("email", "hoa@example.vn"),
                ("name", "Nguyễn Thị Hoa"),
                ("password", "mật khẩu dài"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains(r#"id="consent-error""#), "{}", res.body);
    let none: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(none, 0, "no account without consent");
    let res = c
        .post_form(
            "/register",
            &[
                ("email", "hoa@example.vn"),
                ("name", "Nguyễn Thị Hoa"),
                ("password", "mật khẩu dài"),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let id = user_id(&env, "hoa@example.vn").await;
    assert_eq!(
        consents(&env, id).await,
        [("privacy".to_owned(), "privacy-2026-12".to_owned(), false)]
    );
    // The account page lists it, in Vietnamese, with what withdrawing does.
    let page = c.get("/account").await;
    assert!(
        page.body.contains("Cách dùng dữ liệu cá nhân"),
        "{}",
        page.body
    );
    assert!(page.body.contains("mọi bài dự thi của bạn sẽ bị rút"));
}

#[tokio::test]
async fn an_entry_needs_consent_to_the_notice_and_the_rules_and_withdrawing_withdraws_entries() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (contest, slug) = contest_of(&env, "hcm").await;
    sqlx::query("update contest set rules = 'Mỗi người một bài.' where contest_id = $1")
        .bind(contest)
        .execute(&env.db)
        .await
        .unwrap();
    let (id, _, email) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = Client::new(env.state());
    c.login(&email, PASSWORD).await;
    let form = c.get(&format!("/contests/{slug}/enter")).await;
    assert!(form.body.contains(r#"name="consent""#));
    assert!(
        !form.body.contains(r#"name="birth_date""#),
        "no birth date asked when the contest does not need it"
    );
    let res = c
        .post_form(
            &format!("/contests/{slug}/enter"),
            &[("title", "Quê hương"), ("description", "Đã gõ rồi")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains(r#"id="consent-error""#), "{}", res.body);
    assert!(res.body.contains("Đã gõ rồi"), "the text is kept");
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
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let rules = hoithi_web::domain::privacy::consent::rules_version("Mỗi người một bài.");
    let kinds = consents(&env, id).await;
    assert_eq!(
        kinds,
        [
            ("privacy".to_owned(), "privacy-2026-12".to_owned(), false),
            ("rules".to_owned(), rules, false)
        ]
    );
    // The API asks for the same consent.
    let (_, token, _) = user_in(&env, Role::Member, Some("q1")).await;
    let uri = format!("/api/v1/contests/{slug}/entries");
    let res = c
        .api(
            "POST",
            &uri,
            Some(&token),
            Some(serde_json::json!({"title": "x"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json()["error"]["code"], "consent-required");

    // Withdrawing: a cross-site post does nothing, signed out is sent to sign in.
    let mut anon = Client::new(env.state());
    let res = anon.post_form("/account/consent/withdraw", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().starts_with("/login"));
    let res = c
        .post_raw("/account/consent/withdraw", &[("_csrf", "forged".into())])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(consents(&env, id).await.iter().all(|k| !k.2));
    let res = c.post_form("/account/consent/withdraw", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(consents(&env, id).await.iter().all(|k| k.2));
    let statuses: Vec<String> =
        sqlx::query_scalar("select status::text from entry where author_id = $1")
            .bind(id)
            .fetch_all(&env.db)
            .await
            .unwrap();
    assert_eq!(statuses, ["withdrawn"]);
    let page = c.get(res.location()).await;
    assert!(page.body.contains("Các bài dự thi của bạn đã được rút"));
    let audit: i64 = sqlx::query_scalar(
        "select count(*) from privacy_audit where subject_id = $1 and action = 'consent-withdrawn'",
    )
    .bind(id)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(audit, 1);
}

/// A contest asking for birth dates, without moderation (so only the guardian holds a child's
/// entry back), and a signed-in member named "Nguyễn Văn An".
async fn child_fixture(moderation: bool) -> (TestEnv, String, i64, Client, i64) {
    let env = TestEnv::new().await;
    units(&env).await;
    let (contest, slug) = contest_of(&env, "hcm").await;
    sqlx::query(
        "update contest set requires_birth_date = true, requires_moderation = $2
         where contest_id = $1",
    )
    .bind(contest)
    .bind(moderation)
    .execute(&env.db)
    .await
    .unwrap();
    let (id, _, email) = user_in(&env, Role::Member, Some("q1")).await;
    sqlx::query("update app_user set display_name = 'Nguyễn Văn An' where app_user_id = $1")
        .bind(id)
        .execute(&env.db)
        .await
        .unwrap();
    let mut c = Client::new(env.state());
    c.login(&email, PASSWORD).await;
    (env, slug, contest, c, id)
}

/// What the worker does when a file is processed (not a page: the media pipeline).
async fn processed(env: &TestEnv, entry: uuid::Uuid) {
    sqlx::query(
        "update entry e set status = case when c.requires_moderation then 'pending_review'::entry_status
                                          else 'approved'::entry_status end
         from contest c where e.entry_id = $1 and c.contest_id = e.contest_id",
    )
    .bind(entry)
    .execute(&env.db)
    .await
    .unwrap();
}

async fn status(env: &TestEnv, entry: uuid::Uuid) -> String {
    sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

async fn enter_as_child(env: &TestEnv, slug: &str, c: &mut Client) -> uuid::Uuid {
    let uri = format!("/contests/{slug}/enter");
    let form = c.get(&uri).await;
    assert!(form.body.contains(r#"name="birth_date""#), "{}", form.body);
    let born = born_years_ago(14);
    let mut fields = vec![
        ("title", "Trường em"),
        ("description", ""),
        ("consent", "1"),
        ("birth_date", born.as_str()),
    ];
    // A child without a guardian is asked for one; the text and date are kept.
    let res = c.post_form(&uri, &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains(r#"id="guardian-error""#), "{}", res.body);
    assert!(res.body.contains(&born));
    fields.push(("guardian_name", "Nguyễn Thị Mai"));
    fields.push(("guardian_email", "me.cua.an@example.vn"));
    let res = c.post_form(&uri, &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let id: uuid::Uuid = res
        .location()
        .trim_start_matches("/entries/")
        .trim_end_matches("/upload")
        .parse()
        .unwrap();
    let _ = env;
    id
}

#[tokio::test]
async fn a_14_year_olds_entry_stays_out_of_public_pages_until_the_guardian_agrees() {
    let (env, slug, _, mut child, child_id) = child_fixture(false).await;
    let entry = enter_as_child(&env, &slug, &mut child).await;
    // The guardian's mail names the child, the contest and what will be public.
    let mails = outbox(&env, "me.cua.an@example.vn").await;
    assert_eq!(mails.len(), 1);
    let (kind, subject, body) = &mails[0];
    assert_eq!(kind, "guardian-consent");
    assert!(subject.contains("Nguyễn Văn An"), "{subject}");
    assert!(
        body.contains("Hội thi thử") && body.contains("Trường em"),
        "{body}"
    );
    assert!(body.contains("Nguyễn V. A."), "{body}");
    let link = last_link(&env, "me.cua.an@example.vn").await;
    assert!(link.starts_with("/guardian/"), "{link}");

    // The file is processed: in a contest without moderation it would be public now, but
    // the child's entry waits.
    processed(&env, entry).await;
    assert_eq!(status(&env, entry).await, "pending_review");
    let mut anon = Client::new(env.state());
    let page = format!("/entries/{entry}");
    assert_eq!(anon.get(&page).await.status, StatusCode::NOT_FOUND);
    assert!(
        !anon
            .get(&format!("/contests/{slug}"))
            .await
            .body
            .contains("Trường em")
    );
    let api = anon
        .api("GET", &format!("/api/v1/entries/{entry}"), None, None)
        .await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);

    // A forged link, and a cross-site post of the real one, change nothing.
    let mut guardian = Client::new(env.state());
    assert_eq!(
        guardian.get("/guardian/khong-phai-ma-that").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        guardian
            .post_form("/guardian/khong-phai-ma-that", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let shown = guardian.get(&link).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("Nguyễn Văn An") && shown.body.contains("Trường em"));
    assert!(shown.body.contains("Nguyễn V. A."), "what will be public");
    let res = guardian
        .post_raw(&link, &[("_csrf", "forged".into())])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(status(&env, entry).await, "pending_review");
    assert_eq!(anon.get(&page).await.status, StatusCode::NOT_FOUND);

    // The guardian agrees: recorded on the child's account, and the entry goes public.
    let res = guardian.post_form(&link, &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains(r#"id="guardian-given""#));
    assert_eq!(status(&env, entry).await, "approved");
    assert!(
        consents(&env, child_id)
            .await
            .iter()
            .any(|k| k.0 == "guardian")
    );
    let public = anon.get(&page).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public.body.contains("Nguyễn V. A."), "{}", public.body);
    assert!(
        !public.body.contains("Nguyễn Văn An"),
        "the full name is not public"
    );
    let gallery = anon.get(&format!("/contests/{slug}")).await;
    assert!(gallery.body.contains("Trường em") && gallery.body.contains("Nguyễn V. A."));
    assert!(!gallery.body.contains("Nguyễn Văn An"));
    // The child sees their own name whole; a second use of the link changes nothing.
    assert!(child.get(&page).await.body.contains("Nguyễn Văn An"));
    assert_eq!(guardian.post_form(&link, &[]).await.status, StatusCode::OK);
    let given: i64 = sqlx::query_scalar(
        "select count(*) from consent where app_user_id = $1 and kind = 'guardian'",
    )
    .bind(child_id)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(given, 1);
}

#[tokio::test]
async fn organizers_see_the_guardian_state_and_cannot_approve_before_it() {
    let (env, slug, _, mut child, _) = child_fixture(true).await;
    let entry = enter_as_child(&env, &slug, &mut child).await;
    processed(&env, entry).await;
    let (_, _, org_email) = user_in(&env, Role::Organizer, Some("hcm")).await;
    let mut org = Client::new(env.state());
    org.login(&org_email, PASSWORD).await;
    let queue = org.get(&format!("/organize/contests/{slug}/queue")).await;
    assert!(
        queue.body.contains(r#"data-guardian="waiting""#),
        "{}",
        queue.body
    );
    assert!(queue.body.contains("Chờ phụ huynh đồng ý"));
    let res = org
        .post_form(
            &format!("/entries/{entry}/review"),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(status(&env, entry).await, "pending_review");
    // Even a direct write cannot make it public: the database holds it back.
    sqlx::query("update entry set status = 'approved' where entry_id = $1")
        .bind(entry)
        .execute(&env.db)
        .await
        .unwrap();
    assert_eq!(status(&env, entry).await, "pending_review");
    let csv = org
        .get(&format!("/organize/contests/{slug}/export/entries.csv"))
        .await;
    assert!(csv.body.contains("Chờ phụ huynh đồng ý"), "{}", csv.body);

    let link = last_link(&env, "me.cua.an@example.vn").await;
    let mut guardian = Client::new(env.state());
    guardian.get(&link).await;
    assert_eq!(guardian.post_form(&link, &[]).await.status, StatusCode::OK);
    assert_eq!(
        status(&env, entry).await,
        "pending_review",
        "with moderation the organizer still decides"
    );
    let queue = org.get(&format!("/organize/contests/{slug}/queue")).await;
    assert!(queue.body.contains(r#"data-guardian="given""#));
    let res = org
        .post_form(
            &format!("/entries/{entry}/review"),
            &[("decision", "approve")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(status(&env, entry).await, "approved");
    let csv = org
        .get(&format!("/organize/contests/{slug}/export/entries.csv"))
        .await;
    assert!(csv.body.contains("Phụ huynh đã đồng ý"));
}

#[tokio::test]
async fn an_adult_gives_a_birth_date_once_and_needs_no_guardian() {
    let (env, slug, contest, mut c, id) = child_fixture(false).await;
    sqlx::query("update contest set max_entries_per_member = 3 where contest_id = $1")
        .bind(contest)
        .execute(&env.db)
        .await
        .unwrap();
    let uri = format!("/contests/{slug}/enter");
    for bad in ["", "2999-01-01", "31/12/2000", "1800-01-01"] {
        let res = c
            .post_form(
                &uri,
                &[("title", "Bài"), ("consent", "1"), ("birth_date", bad)],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(res.body.contains(r#"id="birth_date-error""#), "{bad}");
    }
    let born = born_years_ago(20);
    let res = c
        .post_form(
            &uri,
            &[("title", "Bài"), ("consent", "1"), ("birth_date", &born)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let pending: bool =
        sqlx::query_scalar("select bool_or(guardian_pending) from entry where author_id = $1")
            .bind(id)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert!(!pending);
    let form = c.get(&uri).await;
    assert!(
        !form.body.contains(r#"name="birth_date""#),
        "asked once, then kept"
    );
    let res = c
        .post_form(&uri, &[("title", "Bài hai"), ("consent", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}
