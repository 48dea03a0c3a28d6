#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Team entries (bài dự thi của tập thể) and photo series (bộ ảnh): the contest's settings,
//! the entry form and API, who sees the members, exports and the privacy export and erasure;
//! a series' photos attached one resumable upload each, in order, up to the contest's limit,
//! then handed in — and the attacks next to each (too many members or photos, someone
//! else's series, signed out, cross-site, two attaches at the limit at once).

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::fixtures::*;
use support::statements::Statements;
use support::*;

/// An open contest of unit `q1` taking team entries of up to 3 members and series of up to
/// 3 photos; returns its id and slug.
async fn team_contest(env: &TestEnv) -> (i64, String) {
    let (id, slug) = contest_of(env, "q1").await;
    organize(
        env,
        id,
        json!({"limits": {"max_team_members": 3, "max_series_photos": 3, "max_entries_per_member": 5}}),
    )
    .await;
    (id, slug)
}

async fn status_of(env: &TestEnv, entry: &str) -> String {
    sqlx::query_scalar("select status::text from entry where entry_id = $1::uuid")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

async fn positions(env: &TestEnv, entry: &str) -> Vec<(uuid::Uuid, Option<i32>)> {
    sqlx::query_as(
        "select media_asset_id, series_position from media_asset where entry_id = $1::uuid
         order by series_position nulls first, created_at",
    )
    .bind(entry)
    .fetch_all(&env.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_team_entry_names_its_members_and_the_public_sees_them_only_where_authors_show() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (id, slug) = team_contest(&env).await;
    let (_, member, _) = user_in(&env, Role::Member, Some("q1")).await;
    let (_, org, org_email) = user_in(&env, Role::Organizer, Some("q1")).await;
    sqlx::query(
        "insert into roster_member (full_name, email, member_number, unit_id)
         values ('Lê Thị Cúc', 'cuc@example.vn', 'DV-0042', (select unit_id from unit where slug = 'q1'))",
    )
    .execute(&env.db)
    .await
    .unwrap();
    let mut c = site(env.state());

    let team = json!({"team": {"unit": "q1-a", "members": [
        {"name": "Nguyễn Văn An"}, {"name": "Trần Thị Bình"},
        {"name": "Lê Thị Cúc", "member_number": "DV-0042"}]}});
    let res = new_entry_with(&mut c, &member, &slug, team).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let body = res.json();
    // The picked chi đoàn gives the team its name when none is typed.
    assert_eq!(body["team"]["name"], "Chi đoàn A");
    assert_eq!(body["team"]["members"][2]["member_number"], "DV-0042");
    let entry = body["id"].as_str().unwrap().to_owned();
    let stored: Vec<(i32, String)> = sqlx::query_as(
        "select position, full_name from entry_team_member where entry_id = $1::uuid order by position",
    )
    .bind(&entry)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[1], (2, "Trần Thị Bình".to_owned()));

    // Approved: the public sees the team and its members (the contest shows authors).
    set_status(&env, entry.parse().unwrap(), "approved").await;
    let mut public = site(env.state());
    let page = public.get(&format!("/entries/{entry}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Bài dự thi của tập thể"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Chi đoàn A"));
    assert!(page.body.contains("Trần Thị Bình"));
    let gallery = public.get(&format!("/contests/{slug}")).await;
    assert!(
        gallery
            .body
            .contains("<span class=\"team\">Chi đoàn A</span>")
    );

    // The organizer's export lists the team and its members.
    let mut o = site(env.state());
    o.login(&org_email, PASSWORD).await;
    let csv = o
        .get(&format!("/organize/contests/{slug}/export/entries.csv"))
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(csv.body.contains("Tên đội / chi đoàn"), "{}", csv.body);
    assert!(
        csv.body
            .contains("\"Nguyễn Văn An, Trần Thị Bình, Lê Thị Cúc\""),
        "{}",
        csv.body
    );
    let _ = org;

    // Authors hidden: the team's name stays, its members do not show.
    organize(&env, id, json!({"hide_author": true})).await;
    let page = public.get(&format!("/entries/{entry}")).await;
    assert!(page.body.contains("Chi đoàn A"));
    assert!(!page.body.contains("Trần Thị Bình"), "{}", page.body);
    let api = public
        .api("GET", &format!("/api/v1/entries/{entry}"), None, None)
        .await;
    assert_eq!(api.json()["team"]["name"], "Chi đoàn A");
    assert!(api.json()["team"]["members"].is_null(), "{}", api.body);
}

#[tokio::test]
async fn team_entries_are_refused_beyond_the_contests_rules() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, slug) = team_contest(&env).await;
    let (_, plain) = {
        let (id, s) = contest_of(&env, "q1").await;
        (id, s)
    };
    let (_, member, _) = user_in(&env, Role::Member, Some("q1-a")).await;
    let mut c = site(env.state());
    let cases = [
        // The contest takes no team entries.
        (
            plain.as_str(),
            json!({"team": {"name": "Đội A", "members": [{"name": "An"}]}}),
            "team-not-allowed",
        ),
        // One member more than the contest allows.
        (
            slug.as_str(),
            json!({"team": {"name": "Đội A", "members": [
                {"name": "An"}, {"name": "Bình"}, {"name": "Cúc"}, {"name": "Dũng"}]}}),
            "team-too-many-members",
        ),
        // No name and no chi đoàn.
        (
            slug.as_str(),
            json!({"team": {"members": [{"name": "An"}]}}),
            "team-name-required",
        ),
        // A chi đoàn outside the entrant's own unit (q1-a is below q1, not the reverse).
        (
            slug.as_str(),
            json!({"team": {"unit": "hn", "members": [{"name": "An"}]}}),
            "team-name-required",
        ),
        // A member number that is not on the roster, and a name too long.
        (
            slug.as_str(),
            json!({"team": {"name": "Đội A", "members": [{"name": "An", "member_number": "DV-9999"}]}}),
            "team-member-invalid",
        ),
        (
            slug.as_str(),
            json!({"team": {"name": "Đội A", "members": [{"name": "đ".repeat(121)}]}}),
            "team-member-invalid",
        ),
        // A series where the contest takes none.
        (
            plain.as_str(),
            json!({"series": true}),
            "series-not-allowed",
        ),
    ];
    for (contest, extra, code) in cases {
        let res = new_entry_with(&mut c, &member, contest, extra.clone()).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{extra}: {}",
            res.body
        );
        assert_eq!(res.json()["error"]["code"], code, "{extra}");
    }
    let n: i64 = sqlx::query_scalar("select count(*) from entry")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing refused was saved");
    // The limit is the organizer's to set, within bounds.
    let token = admin_token(&env).await;
    let res = c
        .api(
            "PATCH",
            &format!("/api/v1/contests/{slug}"),
            Some(&token),
            Some(json!({"limits": {"max_team_members": 51, "max_series_photos": 11}})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("max_team_members") && res.body.contains("max_series_photos"));
}

#[tokio::test]
async fn the_entry_form_takes_a_team_and_refuses_signed_out_and_cross_site_posts() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, slug) = team_contest(&env).await;
    let (_, _, email) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    c.login(&email, PASSWORD).await;
    let form = c.get(&format!("/contests/{slug}/enter")).await;
    assert!(form.body.contains("Tên đội / chi đoàn"), "{}", form.body);
    assert!(
        form.body.contains("value=\"q1-a\""),
        "the chi đoàn below the member's unit"
    );
    assert!(form.body.contains("Gửi một bộ ảnh (tối đa 3 ảnh"));
    let fields = [
        ("title", "Thanh niên tình nguyện"),
        ("consent", "1"),
        ("team", "1"),
        ("team_name", "Đội hình Mùa hè xanh"),
        ("team_members", "Nguyễn Văn An\nTrần Thị Bình\n"),
    ];

    // Signed out: to the sign-in page, nothing saved.
    let mut stranger = site(env.state());
    let res = stranger
        .post_form(&format!("/contests/{slug}/enter"), &fields)
        .await;
    assert!(res.status.is_redirection(), "{}", res.status);
    assert!(res.location().starts_with("/login"), "{}", res.location());
    // Cross-site: the session's cookie without the form's token is refused.
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let jar = c
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let req = Request::post(format!("/contests/{slug}/enter"))
        .header(header::COOKIE, jar)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .body(Body::from(body))
        .unwrap();
    let res = c.send(req).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let n: i64 = sqlx::query_scalar("select count(*) from entry")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(n, 0);

    // Too many members: the form again, what was typed kept, the sentence in Vietnamese.
    let mut four = fields.to_vec();
    four[4] = ("team_members", "An\nBình\nCúc\nDũng");
    let res = c.post_form(&format!("/contests/{slug}/enter"), &four).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("Danh sách thành viên dài hơn số người hội thi cho phép.")
    );
    assert!(res.body.contains("Đội hình Mùa hè xanh"));

    let res = c
        .post_form(&format!("/contests/{slug}/enter"), &fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let entry = res
        .location()
        .trim_start_matches("/entries/")
        .trim_end_matches("/upload")
        .to_owned();
    let page = c.get(&format!("/entries/{entry}")).await;
    assert!(page.body.contains("Đội hình Mùa hè xanh"));
    assert!(
        page.body.contains("Nguyễn Văn An, Trần Thị Bình"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_privacy_export_carries_the_member_list_and_erasure_removes_it() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, slug) = team_contest(&env).await;
    let (uid, member, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let res = new_entry_with(
        &mut c,
        &member,
        &slug,
        json!({"team": {"name": "Đội Xung kích", "members": [{"name": "Phạm Minh Đức"}]}}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let mut zip = std::io::Cursor::new(Vec::new());
    zip =
        hoithi_web::domain::privacy::export::write_zip(&env.db, uid, "https://hoithi.example", zip)
            .await
            .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.into_inner())).unwrap();
    let mut entries = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("entries.json").unwrap(), &mut entries)
        .unwrap();
    assert!(entries.contains("Phạm Minh Đức"), "{entries}");
    assert!(entries.contains("Đội Xung kích"));
    hoithi_web::domain::privacy::erase::erase_account(&env.db, &env.storage, uid)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("select count(*) from entry_team_member")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(left, 0, "the names the entrant typed go with their account");
}

#[tokio::test]
async fn a_series_takes_photos_one_upload_each_in_order_up_to_the_limit_then_is_handed_in() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, slug) = team_contest(&env).await;
    let (_, member, email) = user_in(&env, Role::Member, Some("q1")).await;
    let (_, other, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let res = new_entry_with(&mut c, &member, &slug, json!({"series": true})).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(res.json()["series"], true);
    let entry = res.json()["id"].as_str().unwrap().to_owned();

    // Nothing to hand in yet.
    let submit = format!("/api/v1/entries/{entry}/series/submit");
    let res = c.api("POST", &submit, Some(&member), None).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "series-incomplete");

    for fill in 1..=3u8 {
        let res = upload_photo(&mut c, &member, &entry, fill).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        // The entry waits for the rest of its photos.
        assert_eq!(status_of(&env, &entry).await, "draft");
    }
    let placed = positions(&env, &entry).await;
    assert_eq!(
        placed.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![Some(1), Some(2), Some(3)]
    );
    // A fourth photo is one more than the contest takes: a stable code, nothing stored.
    let res = upload_photo(&mut c, &member, &entry, 4).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "series-full");
    assert_eq!(positions(&env, &entry).await.len(), 3);
    // Someone else cannot put a photo into this series, nor hand it in, nor reorder it.
    let res = upload_photo(&mut c, &other, &entry, 9).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    let res = c.api("POST", &submit, Some(&other), None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);

    // The author moves the third photo before the second on the upload page.
    let mut page = site(env.state());
    page.login(&email, PASSWORD).await;
    let upload = page.get(&format!("/entries/{entry}/upload")).await;
    assert!(upload.body.contains("Đã tải 3/3 ảnh"), "{}", upload.body);
    assert!(upload.body.contains("Bộ ảnh đã đủ 3 ảnh."));
    let third = placed[2].0;
    let res = page
        .post_form(&format!("/entries/{entry}/series/{third}/up"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let order: Vec<uuid::Uuid> = positions(&env, &entry).await.iter().map(|p| p.0).collect();
    assert_eq!(order, vec![placed[0].0, placed[2].0, placed[1].0]);

    // Handed in: processing until every photo is (the worker moves it on; see
    // tests/teams_browser.rs for the whole way with real photos).
    let res = page
        .post_form(&format!("/entries/{entry}/series/submit"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(status_of(&env, &entry).await, "processing");
    // Once handed in, no more photos and no second hand-in.
    let res = upload_photo(&mut c, &member, &entry, 5).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    let res = c.api("POST", &submit, Some(&member), None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);

    // In the gallery, a series' card still costs no statement of its own.
    set_status(&env, entry.parse().unwrap(), "approved").await;
    let mut public = site(env.state());
    public.get(&format!("/contests/{slug}")).await;
    let (statements, _guard) = Statements::on_this_thread();
    let res = public.get(&format!("/contests/{slug}")).await;
    assert_eq!(res.status, StatusCode::OK);
    let all = statements.taken();
    let cards: Vec<_> = all.iter().filter(|s| s.contains("media_asset")).collect();
    assert_eq!(cards.len(), 1, "{all:#?}");
}

#[tokio::test]
async fn two_attaches_at_the_limit_at_once_store_one_photo() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, slug) = team_contest(&env).await;
    let (_, member, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let res = new_entry_with(&mut c, &member, &slug, json!({"series": true})).await;
    let entry = res.json()["id"].as_str().unwrap().to_owned();
    for fill in 1..=2u8 {
        let res = upload_photo(&mut c, &member, &entry, fill).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    }
    // One place left, two phones sending the last photo at the same moment.
    let mut a = site(env.state());
    let mut b = site(env.state());
    let (ra, rb) = tokio::join!(
        upload_photo(&mut a, &member, &entry, 7),
        upload_photo(&mut b, &member, &entry, 8)
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(
        statuses[0],
        StatusCode::CREATED,
        "{} / {}",
        ra.body,
        rb.body
    );
    assert_eq!(
        statuses[1],
        StatusCode::CONFLICT,
        "{} / {}",
        ra.body,
        rb.body
    );
    let n: i64 = sqlx::query_scalar(
        "select count(*) from media_asset where entry_id = $1::uuid and status <> 'failed'",
    )
    .bind(&entry)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(n, 3, "never more photos than the contest takes");
}
