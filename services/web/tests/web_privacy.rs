#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Personal data (issue 22): recorded consent at registration and entry, withdrawing it, a
//! child's entry held until a guardian agrees through the mailed link, shortened names of
//! children on public pages, the export of a person's data and the deletion of an account.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use support::{Client, PASSWORD, contest_of, organize, outbox, units, user_in};

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
    let rules = serde_json::json!({"rules": "Mỗi người một bài."});
    organize(&env, contest, rules).await;
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
    organize(
        &env,
        contest,
        serde_json::json!({"requires_birth_date": true, "requires_moderation": moderation}),
    )
    .await;
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
    let three = serde_json::json!({"limits": {"max_entries_per_member": 3}});
    organize(&env, contest, three).await;
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

/// Columns of the schema that point at a person or hold personal data, as the catalog tells:
/// foreign keys to `app_user`, addresses, and columns named like emails, names, birth dates,
/// member numbers, filenames or ids of people.
async fn personal_columns(env: &TestEnv) -> Vec<(String, String)> {
    sqlx::query_as(
        "select c.table_name::text, c.column_name::text
         from information_schema.columns c
         join information_schema.tables t
           on t.table_schema = c.table_schema and t.table_name = c.table_name
         where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
           and c.table_name <> '_sqlx_migrations'
           and (c.udt_name in ('inet', 'cidr')
                or c.column_name ~ '(email|phone|birth|name$|member_number|password|filename|user_agent|throttle_key|voter_id|author_id|judge_id|owner_id|actor_id|subject_id|_by$|snapshot)'
                or (c.table_name = 'vote_roster' and c.column_name = 'value')
                or exists (
                    select 1 from pg_constraint k
                    join pg_attribute a on a.attrelid = k.conrelid and a.attnum = any(k.conkey)
                    where k.contype = 'f' and k.confrelid = 'app_user'::regclass
                      and k.conrelid = (select r.oid from pg_class r
                                        where r.relname = c.table_name
                                          and r.relnamespace = 'public'::regnamespace)
                      and a.attname = c.column_name))
         order by 1, 2",
    )
    .fetch_all(&env.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_personal_column_of_the_schema_is_mapped() {
    use hoithi_web::domain::privacy::registry::{COLUMNS, mapped};
    let env = TestEnv::new().await;
    let found = personal_columns(&env).await;
    assert!(found.len() > 40, "the scan finds the schema: {found:?}");
    let missing: Vec<String> = found
        .iter()
        .filter(|(t, c)| !mapped(t, c))
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    assert!(
        missing.is_empty(),
        "personal data without an export and deletion mapping in domain::privacy::registry: {missing:?}"
    );
    // And the map names no column that does not exist.
    let all: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public'",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    for c in COLUMNS {
        assert!(
            all.iter().any(|(t, n)| t == c.table && n == c.column),
            "{}.{} is mapped but not in the schema",
            c.table,
            c.column
        );
    }
}

const MARK_EMAIL: &str = "xoa.han@example.vn";
const MARK_NAME: &str = "Lê Thị Xóa Hẳn";
const MARK_MEMBER: &str = "DV-777";
const MARK_IP: &str = "203.0.113.77";
const MARK_TEXT: &str = "Mô tả riêng tư";

/// A person with a row in as many tables as a real one reaches: registered, verified and
/// signed in through the pages, an API token, two entries (one in published results), files
/// in storage, votes both ways, roster rows, a code, a judge invitation, a throttle counter.
struct Person {
    env: TestEnv,
    c: Client,
    id: i64,
    published: uuid::Uuid,
    unpublished: uuid::Uuid,
    published_keys: Vec<String>,
    unpublished_keys: Vec<String>,
    slug_a: String,
}

async fn put(env: &TestEnv, key: &str) {
    env.storage
        .client
        .put_object()
        .bucket(&env.storage.bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
}

async fn exists(env: &TestEnv, key: &str) -> bool {
    env.storage
        .client
        .head_object()
        .bucket(&env.storage.bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

async fn files_of(env: &TestEnv, entry: uuid::Uuid) -> Vec<String> {
    let asset = uuid::Uuid::new_v4();
    let original = format!("originals/{asset}");
    let rendition = format!("media/{asset}/photo-400.jpg");
    sqlx::query(
        "insert into media_asset (media_asset_id, entry_id, kind, status, original_key, original_bytes,
                                  original_sha256, original_filename, renditions)
         values ($1, $2, 'photo', 'ready', $3, 1, repeat('a', 64), 'anh-cua-toi.jpg',
                 jsonb_build_object('images', jsonb_build_array(jsonb_build_object('width', 400,
                     'jpeg', jsonb_build_object('key', $4::text, 'url', '/' || $4::text)))))",
    )
    .bind(asset)
    .bind(entry)
    .bind(&original)
    .bind(&rendition)
    .execute(&env.db)
    .await
    .unwrap();
    put(env, &original).await;
    put(env, &rendition).await;
    vec![original, rendition]
}

async fn person() -> Person {
    let env = TestEnv::new().await;
    units(&env).await;
    let (contest_a, slug_a) = contest_of(&env, "hcm").await;
    let (contest_b, slug_b) = contest_of(&env, "hcm").await;
    let mut c = Client::new(env.state());
    let res = c
        .post_form(
            "/register",
            &[
                ("email", MARK_EMAIL),
                ("name", MARK_NAME),
                ("password", PASSWORD),
                ("unit", "q1-a"),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let verify = last_link(&env, MARK_EMAIL).await;
    c.get(&verify).await;
    let id = user_id(&env, MARK_EMAIL).await;
    let mut entries = Vec::new();
    for (slug, title) in [(&slug_a, "Bài đã công bố"), (&slug_b, "Bài chưa công bố")] {
        let res = c
            .post_form(
                &format!("/contests/{slug}/enter"),
                &[
                    ("title", title),
                    ("description", MARK_TEXT),
                    ("consent", "1"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        entries.push(
            res.location()
                .trim_start_matches("/entries/")
                .trim_end_matches("/upload")
                .parse::<uuid::Uuid>()
                .unwrap(),
        );
    }
    let (published, unpublished) = (entries[0], entries[1]);
    let published_keys = files_of(&env, published).await;
    let mut unpublished_keys = files_of(&env, unpublished).await;
    let upload_key = format!("uploads/{unpublished}/file");
    put(&env, &upload_key).await;
    unpublished_keys.push(upload_key.clone());
    sqlx::query(
        "insert into upload (upload_id, owner_id, entry_id, media_asset_id, object_key, upload_length,
                             kind, filename, expires_at)
         values (gen_random_uuid(), $1, $2, gen_random_uuid(), $3, 1, 'photo', 'anh-cua-toi.jpg', now() + interval '1 day')",
    )
    .bind(id)
    .bind(unpublished)
    .bind(&upload_key)
    .execute(&env.db)
    .await
    .unwrap();
    sqlx::query("update entry set status = 'approved' where entry_id = $1")
        .bind(published)
        .execute(&env.db)
        .await
        .unwrap();
    let res = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"email": MARK_EMAIL, "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Another member's entry the person votes for, and a vote for the person's entry.
    let (other, _) = env.user(Role::Member).await;
    let theirs = env.draft_entry(contest_a, other).await;
    let setup = [
        "update app_user set member_number = $2 where app_user_id = $1",
        "insert into vote (contest_id, entry_id, voter_id, vote_day, ip, ip_network, user_agent_hash)
         select contest_id, entry_id, $1, current_date, $3::inet, '203.0.113.0/24', '\\x01'
         from entry where entry_id = $4",
        "insert into vote (contest_id, entry_id, voter_id, vote_day) select contest_id, entry_id, $5, current_date
         from entry where entry_id = $6",
        "insert into sign_in_address (app_user_id, ip) values ($1, $3::inet)",
        "insert into voter_code (email, code_hash, ip, expires_at)
         select email, '\\x00', $3::inet, now() + interval '1 hour' from app_user where app_user_id = $1",
        "insert into vote_roster (contest_id, kind, value) select contest_id, 'member', $2 from entry where entry_id = $6",
        "insert into vote_roster (contest_id, kind, value) select contest_id, 'email', email
         from entry, app_user where entry_id = $6 and app_user_id = $1",
        "insert into member_decision (contest_id, member_number, app_user_id, decision)
         select contest_id, $2, $1, 'confirmed' from entry where entry_id = $6",
        "insert into contest_judge (contest_id, email)
         select contest_id, email from entry, app_user where entry_id = $4 and app_user_id = $1",
        "insert into login_throttle (throttle_key, failures) select 'login-account:' || email, 1
         from app_user where app_user_id = $1",
    ];
    for sql in setup {
        sqlx::query(sql)
            .bind(id)
            .bind(MARK_MEMBER)
            .bind(MARK_IP)
            .bind(theirs)
            .bind(other)
            .bind(published)
            .execute(&env.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    // Published results of contest A name the person.
    let round: i64 = sqlx::query_scalar(
        "insert into judging_round (contest_id, number, name) values ($1, 1, 'Chung kết')
         returning judging_round_id",
    )
    .bind(contest_a)
    .fetch_one(&env.db)
    .await
    .unwrap();
    let snapshot = serde_json::json!({"round": 1, "entries": [
        {"id": published, "rank": 1, "title": "Bài đã công bố", "author": MARK_NAME, "unit": "Chi đoàn A", "votes": 1, "combined": 9.5},
        {"id": theirs, "rank": 2, "title": "Bài dự thi", "author": "Người Thử", "unit": null, "votes": 0, "combined": 7.0},
    ]});
    sqlx::query(
        "insert into judging_result (judging_round_id, contest_id, snapshot) values ($1, $2, $3)",
    )
    .bind(round)
    .bind(contest_a)
    .bind(&snapshot)
    .execute(&env.db)
    .await
    .unwrap();
    let _ = contest_b;
    Person {
        env,
        c,
        id,
        published,
        unpublished,
        published_keys,
        unpublished_keys,
        slug_a,
    }
}

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut files = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        files.insert(f.name().unwrap().to_string(), s);
    }
    files
}

async fn get_bytes(c: &mut Client, uri: &str) -> (StatusCode, Vec<u8>, String) {
    use axum::body::Body;
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let cookies = c
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let req = Request::get(uri)
        .header(header::COOKIE, cookies)
        .body(Body::empty())
        .unwrap();
    let res = c.app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, body, kind)
}

#[tokio::test]
async fn the_export_holds_every_row_about_the_person_and_no_secret() {
    use hoithi_web::domain::privacy::registry::{COLUMNS, Key};
    let mut p = person().await;
    let (status, bytes, kind) = get_bytes(&mut p.c, "/account/data.zip").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "application/zip");
    let files = unzip(&bytes);
    let mut reached = 0;
    for col in COLUMNS.iter().filter(|c| c.key != Key::None) {
        let condition = match col.key {
            Key::User => format!("{} = $1", col.column),
            _ => format!(
                "lower({}::text) = any(array[lower($2), lower($3)])",
                col.column
            ),
        };
        let in_db: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {} where {condition}",
            col.table
        ))
        .bind(p.id)
        .bind(MARK_EMAIL)
        .bind(MARK_MEMBER)
        .fetch_one(&p.env.db)
        .await
        .unwrap();
        let name = format!("tables/{}.{}.json", col.table, col.column);
        let json: serde_json::Value =
            serde_json::from_str(files.get(&name).unwrap_or_else(|| panic!("{name}"))).unwrap();
        assert_eq!(
            json.as_array().unwrap().len() as i64,
            in_db,
            "{name}: every row about the person"
        );
        if in_db > 0 {
            reached += 1;
        }
    }
    assert!(reached >= 16, "the fixture reaches most tables: {reached}");
    let profile = &files["profile.json"];
    assert!(profile.contains(MARK_NAME) && profile.contains(MARK_MEMBER));
    let all: String = files.values().cloned().collect();
    assert!(
        !all.contains("password_hash") && !all.contains("$argon2"),
        "no secret"
    );
    assert!(!all.contains("token_hash") && !all.contains("session_hash"));
    let entries = &files["entries.json"];
    assert!(entries.contains("Bài chưa công bố") && entries.contains("/media/"));
    assert!(files["entries.csv"].contains("Bài đã công bố"));
    assert!(
        files["votes.csv"].lines().count() == 2,
        "{}",
        files["votes.csv"]
    );
    assert!(files.contains_key("README.txt"));
    // Signed out: sent to sign in; the export is audited.
    let mut anon = Client::new(p.env.state());
    let (status, _, _) = get_bytes(&mut anon, "/account/data.zip").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from privacy_audit where subject_id = $1 and action = 'export'",
    )
    .bind(p.id)
    .fetch_one(&p.env.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

/// Rows anywhere in the schema that still hold one of the person's identifying values.
async fn traces(env: &TestEnv) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables
         where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&env.db)
    .await
    .unwrap();
    let marks: Vec<String> = [
        MARK_EMAIL,
        "Xóa Hẳn",
        MARK_MEMBER,
        MARK_IP,
        MARK_TEXT,
        "Bài chưa công bố",
        "anh-cua-toi",
    ]
    .iter()
    .map(|m| format!("%{m}%"))
    .collect();
    let mut found = Vec::new();
    for t in tables {
        let n: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {t} x where x::text ilike any($1)"
        ))
        .bind(&marks)
        .fetch_one(&env.db)
        .await
        .unwrap();
        if n > 0 {
            found.push(format!("{t}: {n}"));
        }
    }
    found
}

#[tokio::test]
async fn deleting_an_account_leaves_no_personal_data_while_published_results_add_up() {
    use hoithi_web::domain::privacy::erase;
    let mut p = person().await;
    let env = &p.env;
    let votes_before: (i64, i64) =
        sqlx::query_as("select count(*), count(distinct voter_id) from vote")
            .fetch_one(&env.db)
            .await
            .unwrap();
    let page = p.c.get("/account").await;
    assert!(page.body.contains("Xóa tài khoản") && page.body.contains("Tải dữ liệu của tôi"));
    // A wrong password asks for nothing; a cross-site post neither.
    let res =
        p.c.post_form("/account/delete", &[("password", "sai rồi")])
            .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res =
        p.c.post_raw(
            "/account/delete",
            &[("_csrf", "x".into()), ("password", PASSWORD.into())],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let asked: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select deletion_requested_at from app_user where app_user_id = $1")
            .bind(p.id)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert!(asked.is_none());
    // Asked, cancelled, asked again.
    let res =
        p.c.post_form("/account/delete", &[("password", PASSWORD)])
            .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = p.c.get("/account").await;
    assert!(
        page.body.contains(r#"id="deletion-scheduled""#),
        "{}",
        page.body
    );
    assert_eq!(
        p.c.post_form("/account/delete/cancel", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(
        !p.c.get("/account")
            .await
            .body
            .contains(r#"id="deletion-scheduled""#)
    );
    p.c.post_form("/account/delete", &[("password", PASSWORD)])
        .await;

    // Within the grace period nothing is due.
    let due = erase::delete_due(&env.db, &env.storage, 7, true)
        .await
        .unwrap();
    assert!(due.is_empty());
    sqlx::query("update app_user set deletion_requested_at = now() - interval '8 days' where app_user_id = $1")
        .bind(p.id)
        .execute(&env.db)
        .await
        .unwrap();
    // A dry run lists it and changes nothing.
    let due = erase::delete_due(&env.db, &env.storage, 7, true)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].app_user_id, due[0].unpublished_entries), (p.id, 1));
    assert!(!traces(env).await.is_empty());
    for k in &p.unpublished_keys {
        assert!(exists(env, k).await, "{k} kept by the dry run");
    }
    // The real run.
    let done = erase::delete_due(&env.db, &env.storage, 7, false)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    let left = traces(env).await;
    assert!(left.is_empty(), "personal data left: {left:?}");
    for k in &p.unpublished_keys {
        assert!(!exists(env, k).await, "{k} deleted from storage");
    }
    for k in &p.published_keys {
        assert!(exists(env, k).await, "{k} of a published result kept");
    }
    // Rows the map says go are gone.
    for sql in [
        "select count(*) from web_session where app_user_id = $1",
        "select count(*) from api_token where app_user_id = $1",
        "select count(*) from consent where app_user_id = $1",
        "select count(*) from sign_in_address where app_user_id = $1",
        "select count(*) from upload where owner_id = $1",
        "select count(*) from member_decision where app_user_id = $1",
    ] {
        let n: i64 = sqlx::query_scalar(sql)
            .bind(p.id)
            .fetch_one(&env.db)
            .await
            .unwrap();
        assert_eq!(n, 0, "{sql}");
    }
    // Published results still add up: the same entries, ranks and votes, the author "(đã xóa)".
    let votes_after: (i64, i64) =
        sqlx::query_as("select count(*), count(distinct voter_id) from vote")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(votes_before, votes_after);
    let snapshot: serde_json::Value = sqlx::query_scalar("select snapshot from judging_result")
        .fetch_one(&env.db)
        .await
        .unwrap();
    let entries = snapshot["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["id"], p.published.to_string());
    assert_eq!(entries[0]["author"], "(đã xóa)");
    assert_eq!(entries[0]["votes"], 1);
    assert_eq!(entries[1]["author"], "Người Thử");
    let published: (String, String) =
        sqlx::query_as("select title, status::text from entry where entry_id = $1")
            .bind(p.published)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(
        published,
        ("Bài đã công bố".to_owned(), "approved".to_owned())
    );
    let gone: String = sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(p.unpublished)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(gone, "withdrawn");
    // The public page of the published entry shows "(đã xóa)"; the person cannot sign in.
    let mut anon = Client::new(env.state());
    let page = anon.get(&format!("/entries/{}", p.published)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("(đã xóa)"));
    assert_eq!(p.c.get("/account").await.status, StatusCode::SEE_OTHER);
    let res = anon.login(MARK_EMAIL, PASSWORD).await;
    assert_ne!(res.status, StatusCode::SEE_OTHER);
    let audit: Vec<String> = sqlx::query_scalar(
        "select action from privacy_audit where subject_id = $1 order by privacy_audit_id",
    )
    .bind(p.id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(
        audit,
        [
            "delete-requested",
            "delete-cancelled",
            "delete-requested",
            "deleted"
        ]
    );
    // A second run finds nothing to do.
    assert!(
        erase::delete_due(&env.db, &env.storage, 7, false)
            .await
            .unwrap()
            .is_empty()
    );
    let _ = &p.slug_a;
}

#[tokio::test]
async fn organizers_act_on_requests_only_for_people_of_their_units() {
    let p = person().await;
    let env = &p.env;
    let (_, _, hcm) = user_in(env, Role::Organizer, Some("hcm")).await;
    let (_, _, hn) = user_in(env, Role::Organizer, Some("hn")).await;
    let (_, _, member) = user_in(env, Role::Member, Some("q1")).await;
    let mut m = Client::new(env.state());
    m.login(&member, PASSWORD).await;
    assert_eq!(
        m.get("/organize/privacy").await.status,
        StatusCode::FORBIDDEN
    );
    let mut other = Client::new(env.state());
    other.login(&hn, PASSWORD).await;
    let res = other
        .post_form(
            "/organize/privacy/delete",
            &[("email", MARK_EMAIL), ("reason", "x")],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "outside their units: as if nobody"
    );
    let res = other
        .post_form("/organize/privacy/export", &[("email", MARK_EMAIL)])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let mut org = Client::new(env.state());
    org.login(&hcm, PASSWORD).await;
    assert!(
        org.get("/organize")
            .await
            .body
            .contains(r#"href="/organize/privacy""#)
    );
    assert_eq!(org.get("/organize/privacy").await.status, StatusCode::OK);
    let res = org
        .post_form("/organize/privacy/export", &[("email", MARK_EMAIL)])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers.get("content-type").unwrap(), "application/zip");
    let res = org
        .post_form(
            "/organize/privacy/delete",
            &[
                ("email", MARK_EMAIL),
                ("reason", "Phụ huynh gọi điện yêu cầu"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains(r#"id="privacy-notice""#));
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "select action, actor_id from privacy_audit where subject_id = $1 order by privacy_audit_id",
    )
    .bind(p.id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    let org_id = user_id(env, &hcm).await;
    assert_eq!(
        rows,
        [
            ("export".to_owned(), Some(org_id)),
            ("delete-requested".to_owned(), Some(org_id))
        ]
    );
}

#[tokio::test]
async fn a_child_cannot_make_the_platform_mail_a_guardian_address_without_end() {
    let (env, slug, _, mut child, _) = child_fixture(false).await;
    let uri = format!("/contests/{slug}/enter");
    let born = born_years_ago(14);
    let fields = [
        ("title", "Lần nữa"),
        ("consent", "1"),
        ("birth_date", born.as_str()),
        ("guardian_name", "Người Lạ"),
        ("guardian_email", "nguoi.la@example.vn"),
    ];
    let mut refused = None;
    for round in 0..8 {
        let res = child.post_form(&uri, &fields).await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((round, res.body));
            break;
        }
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let id = res
            .location()
            .trim_start_matches("/entries/")
            .trim_end_matches("/upload")
            .to_owned();
        let res = child
            .post_form(&format!("/entries/{id}/withdraw"), &[("confirm", "1")])
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    }
    let (round, body) = refused.expect("the mail limit stops it");
    assert_eq!(round, 5, "five mails to one address, then a wait");
    assert!(body.contains(r#"id="guardian-error""#), "{body}");
    assert_eq!(outbox(&env, "nguoi.la@example.vn").await.len(), 5);
}
