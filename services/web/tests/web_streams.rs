#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Livestreams through the real router and a real database: organizers attach streams (and
//! hostile URLs are refused), the stream page embeds them under a CSP made for them, the
//! overlay, QR screen and calendar render, the live banner shows, and only organizers of the
//! contest's unit control the live state.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;

fn stream(title: &str, url: &str, hours_from_now: (i64, i64)) -> serde_json::Value {
    let now = chrono::Utc::now();
    json!({
        "title": title,
        "url": url,
        "starts_at": (now + chrono::Duration::hours(hours_from_now.0)).to_rfc3339(),
        "ends_at": (now + chrono::Duration::hours(hours_from_now.1)).to_rfc3339(),
    })
}

/// Units, a contest of q1, and the organizer of q1 (id, token, email).
async fn setup(env: &TestEnv) -> (i64, String, (i64, String, String)) {
    units(env).await;
    let (contest_id, slug) = contest_of(env, "q1").await;
    let org = user_in(env, Role::Organizer, Some("q1")).await;
    (contest_id, slug, org)
}

async fn create(c: &mut Client, slug: &str, token: &str, body: serde_json::Value) -> Res {
    c.api(
        "POST",
        &format!("/api/v1/contests/{slug}/streams"),
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn organizers_attach_streams_as_official_embeds_and_hostile_urls_get_codes() {
    let env = TestEnv::new().await;
    let (_, slug, (_, org, _)) = setup(&env).await;
    let (_, member, _) = user_in(&env, Role::Member, Some("q1")).await;
    let (_, far_org, _) = user_in(&env, Role::Organizer, Some("hn")).await;
    let mut c = Client::new(env.state());

    let cases = [
        (
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3",
            "youtube",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        ),
        (
            "https://youtu.be/dQw4w9WgXcQ",
            "youtube",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        ),
        (
            "https://www.youtube.com/live/aBcDeFgHiJk",
            "youtube",
            "https://www.youtube-nocookie.com/embed/aBcDeFgHiJk",
        ),
        (
            "https://www.facebook.com/doanthanhnien/videos/1234567890/",
            "facebook",
            "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fwww.facebook.com%2Fdoanthanhnien%2Fvideos%2F1234567890%2F&show_text=false",
        ),
        (
            "https://cdn.example.vn/live/chung-ket.m3u8",
            "hls",
            "https://cdn.example.vn/live/chung-ket.m3u8",
        ),
    ];
    for (url, platform, embed) in cases {
        let res = create(&mut c, &slug, &org, stream("Đêm chung kết", url, (1, 3))).await;
        assert_eq!(res.status, StatusCode::CREATED, "{url}: {}", res.body);
        let body = res.json();
        assert_eq!(body["platform"], platform, "{url}");
        assert_eq!(body["embed_url"], embed, "{url}");
        assert_eq!(body["live"], false);
    }

    let long = format!("https://cdn.example.vn/{}.m3u8", "a".repeat(2000));
    let hostile = [
        ("javascript:alert(document.cookie)", "stream-url-not-https"),
        (
            "data:text/html,<script>alert(1)</script>",
            "stream-url-not-https",
        ),
        ("data:text/html;base64,PHNjcmlwdD4=", "stream-url-not-https"),
        (
            "http://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "stream-url-not-https",
        ),
        (
            "https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
            "stream-url-unsupported",
        ),
        (
            "https://www.youtube.com@evil.example/live.m3u8",
            "stream-url-credentials",
        ),
        (
            "https://u:p@cdn.example.vn/a.m3u8",
            "stream-url-credentials",
        ),
        ("https://127.0.0.1/a.m3u8", "stream-url-private-host"),
        (
            "https://www.youtube.com/watch?v=nope",
            "stream-url-youtube-id",
        ),
        ("https://fb.watch/abc/", "stream-url-short-link"),
        (long.as_str(), "stream-url-too-long"),
        ("", "stream-url-required"),
    ];
    for (url, code) in hostile {
        let res = create(&mut c, &slug, &org, stream("x", url, (1, 3))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(res.json()["error"]["code"], code, "{url}: {}", res.body);
    }
    // Schedule and body errors.
    let res = create(&mut c, &slug, &org, stream("x", cases[0].0, (3, 1))).await;
    assert_eq!(res.json()["error"]["code"], "stream-ends-before-starts");
    let res = create(
        &mut c,
        &slug,
        &org,
        json!({"title": "x", "url": cases[0].0, "starts_at": "mai", "ends_at": "2099-01-01T00:00"}),
    )
    .await;
    assert_eq!(res.json()["error"]["code"], "stream-starts-invalid");
    let res = create(&mut c, &slug, &org, json!({"title": "x", "admin": true})).await;
    assert_eq!(res.json()["error"]["code"], "invalid-body");

    // Only organizers of the contest's unit (or above) add or delete streams.
    let ok = stream("x", cases[0].0, (1, 3));
    assert_eq!(
        create(&mut c, &slug, &member, ok.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        create(&mut c, &slug, &far_org, ok.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let res = c
        .api(
            "POST",
            &format!("/api/v1/contests/{slug}/streams"),
            None,
            Some(ok.clone()),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        create(&mut c, "khong-co", &org, ok).await.status,
        StatusCode::NOT_FOUND
    );

    let list = c
        .api(
            "GET",
            &format!("/api/v1/contests/{slug}/streams"),
            None,
            None,
        )
        .await
        .json();
    let streams = list["streams"].as_array().unwrap();
    assert_eq!(streams.len(), cases.len());
    let id = streams[0]["id"].as_i64().unwrap();
    let del = format!("/api/v1/contests/{slug}/streams/{id}");
    assert_eq!(
        c.api("DELETE", &del, Some(&far_org), None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.api("DELETE", &del, Some(&org), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.api("DELETE", &del, Some(&org), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_stream_form_says_in_vietnamese_why_a_url_is_refused_and_keeps_what_was_typed() {
    let env = TestEnv::new().await;
    let (_, slug, (_, _, org_email)) = setup(&env).await;
    let mut c = Client::new(env.state());
    assert_eq!(
        c.login(&org_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = c.get(&format!("/organize/contests/{slug}/streams")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Thêm buổi phát"), "{}", page.body);

    let uri = format!("/organize/contests/{slug}/streams");
    let res = c
        .post_form(
            &uri,
            &[
                ("title", "Bán kết <b>1</b>"),
                ("url", "javascript:alert(1)"),
                ("starts_at", "2099-12-01T19:00"),
                ("ends_at", "2099-12-01T21:00"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("Chỉ nhận đường dẫn bắt đầu bằng https://."),
        "{}",
        res.body
    );
    assert!(
        res.body.contains(r#"value="Bán kết &#60;b&#62;1"#),
        "the title is kept, escaped: {}",
        res.body
    );
    assert!(res.body.contains(r#"value="2099-12-01T19:00""#));
    assert!(!res.body.contains("<b>1</b>"));

    let res = c
        .post_form(
            &uri,
            &[
                ("title", "Bán kết 1"),
                ("url", "https://youtu.be/dQw4w9WgXcQ"),
                ("starts_at", "2099-12-01T19:00"),
                ("ends_at", "2099-12-01T21:00"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let (starts, embed): (chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("select starts_at, embed_url from contest_stream")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(
        starts.to_rfc3339(),
        "2099-12-01T12:00:00+00:00",
        "Vietnam time"
    );
    assert_eq!(embed, "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ");
    let page = c.get(&uri).await;
    assert!(page.body.contains("Bán kết 1") && page.body.contains("19:00 01/12/2099"));
}

async fn insert_stream(env: &TestEnv, contest_id: i64, title: &str, url: &str, live: bool) -> i64 {
    let s = hoithi_web::domain::streams::source::parse(url).unwrap();
    let (starts, ends) = if live {
        ("-1 hour", "2 hours")
    } else {
        ("1 day", "26 hours")
    };
    sqlx::query_scalar(
        "insert into contest_stream (contest_id, title, platform, source_url, embed_url, starts_at, ends_at)
         values ($1, $2, $3, $4, $5, now() + $6::interval, now() + $7::interval)
         returning contest_stream_id",
    )
    .bind(contest_id)
    .bind(title)
    .bind(s.platform.as_str())
    .bind(&s.source)
    .bind(&s.embed)
    .bind(starts)
    .bind(ends)
    .fetch_one(&env.db)
    .await
    .unwrap()
}

/// The value of one directive of a Content-Security-Policy.
fn directive<'a>(csp: &'a str, name: &str) -> Option<&'a str> {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
}

#[tokio::test]
async fn the_stream_page_embeds_its_player_under_a_csp_for_exactly_its_origin() {
    let env = TestEnv::new().await;
    let (contest_id, slug, _) = setup(&env).await;
    let yt = insert_stream(
        &env,
        contest_id,
        "Đêm chung kết",
        "https://youtu.be/dQw4w9WgXcQ",
        true,
    )
    .await;
    let fb = insert_stream(
        &env,
        contest_id,
        "Facebook",
        "https://www.facebook.com/watch/?v=123",
        false,
    )
    .await;
    let hls = insert_stream(
        &env,
        contest_id,
        "HLS",
        "https://cdn.example.vn/live/a.m3u8",
        false,
    )
    .await;
    let mut c = Client::new(env.state());

    let page = c.get(&format!("/contests/{slug}/streams/{yt}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ""#),
        "{}",
        page.body
    );
    assert!(page.body.contains("/static/js/live.js"));
    assert!(page.body.contains("Chưa có tiết mục nào trên sân khấu."));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert_eq!(
        directive(csp, "frame-src"),
        Some("https://www.youtube-nocookie.com"),
        "{csp}"
    );
    assert!(!csp.contains("facebook"), "{csp}");

    let page = c.get(&format!("/contests/{slug}/streams/{fb}")).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert_eq!(
        directive(csp, "frame-src"),
        Some("https://www.facebook.com"),
        "{csp}"
    );
    assert!(
        page.body
            .contains("https://www.facebook.com/plugins/video.php?href=")
    );

    let page = c.get(&format!("/contests/{slug}/streams/{hls}")).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert_eq!(
        directive(csp, "media-src"),
        Some("'self' blob: https://cdn.example.vn"),
        "{csp}"
    );
    assert_eq!(
        directive(csp, "connect-src"),
        Some("'self' https://cdn.example.vn"),
        "{csp}"
    );
    assert_eq!(directive(csp, "frame-src"), None, "{csp}");
    assert_eq!(directive(csp, "frame-ancestors"), Some("'none'"), "{csp}");
    assert!(
        page.body
            .contains(r#"data-hls="https://cdn.example.vn/live/a.m3u8""#)
    );
    assert!(page.body.contains("hls.light.min.js"));

    // Other pages keep the site's policy.
    let home = c.get("/").await;
    let csp = home.headers["content-security-policy"].to_str().unwrap();
    assert_eq!(csp, hoithi_web::security::CSP);
    // The live banner: the stream on air now, not the ones to come.
    assert!(home.body.contains("Đang phát trực tiếp"), "{}", home.body);
    assert!(
        home.body
            .contains(&format!("/contests/{slug}/streams/{yt}"))
    );
    assert!(
        !home
            .body
            .contains(&format!("/contests/{slug}/streams/{fb}"))
    );
    let contest = c.get(&format!("/contests/{slug}")).await;
    assert!(
        contest
            .body
            .contains(&format!("/contests/{slug}/streams/{yt}"))
    );

    // Unknown streams, streams of another contest, nonsense ids.
    let (_, other) = contest_of(&env, "hn").await;
    for uri in [
        format!("/contests/{slug}/streams/999999"),
        format!("/contests/{other}/streams/{yt}"),
        format!("/contests/{slug}/streams/x'or'1"),
        format!("/contests/{other}/streams/{yt}/overlay"),
    ] {
        assert_eq!(c.get(&uri).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn the_overlay_the_qr_screen_and_the_qr_code_render() {
    let env = TestEnv::new().await;
    let (contest_id, slug, _) = setup(&env).await;
    let id = insert_stream(
        &env,
        contest_id,
        "Đêm chung kết",
        "https://youtu.be/dQw4w9WgXcQ",
        true,
    )
    .await;
    let (author, _) = env.user(Role::Member).await;
    let entry = env.draft_entry(contest_id, author).await;
    set_status(&env, entry, "approved").await;
    sqlx::query(
        "insert into contest_live (contest_id, stage_entry_id, window_open) values ($1, $2, true)",
    )
    .bind(contest_id)
    .bind(entry)
    .execute(&env.db)
    .await
    .unwrap();
    let mut c = Client::new(env.state());

    let overlay = c
        .get(&format!("/contests/{slug}/streams/{id}/overlay"))
        .await;
    assert_eq!(overlay.status, StatusCode::OK);
    assert!(
        overlay.body.contains(r#"class="overlay""#),
        "{}",
        overlay.body
    );
    assert!(overlay.body.contains("/static/css/live.css"));
    assert!(overlay.body.contains("Bài dự thi"), "the entry on stage");
    assert!(overlay.body.contains("Bình chọn ngay!"));
    assert!(
        overlay
            .body
            .contains(&format!(r#"data-stage-id="{entry}""#))
    );
    assert!(!overlay.body.contains("<form"), "no interaction");

    let screen = c
        .get(&format!("/contests/{slug}/streams/{id}/screen"))
        .await;
    assert_eq!(screen.status, StatusCode::OK);
    assert!(
        screen
            .body
            .contains(&format!("/contests/{slug}/streams/{id}/qr.svg"))
    );
    assert!(
        screen
            .body
            .contains(&format!("/contests/{slug}/streams/{id}</p>")),
        "{}",
        screen.body
    );

    let qr = c
        .get(&format!("/contests/{slug}/streams/{id}/qr.svg"))
        .await;
    assert_eq!(qr.status, StatusCode::OK);
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    assert!(qr.body.contains("<svg"), "{}", qr.body);
}

#[tokio::test]
async fn the_calendar_lists_upcoming_streams_in_rfc5545_with_hostile_titles_escaped() {
    let env = TestEnv::new().await;
    let (contest_id, slug, (_, _, org_email)) = setup(&env).await;
    let hostile = "Chung kết, phần 1; \\ x\r\nEND:VCALENDAR\r\nBEGIN:VEVENT — Tiếng hát tuổi trẻ thành phố Hồ Chí Minh năm 2026";
    let id = insert_stream(
        &env,
        contest_id,
        hostile,
        "https://youtu.be/dQw4w9WgXcQ",
        false,
    )
    .await;
    let ended = insert_stream(
        &env,
        contest_id,
        "Đã xong",
        "https://youtu.be/dQw4w9WgXcQ",
        false,
    )
    .await;
    sqlx::query("update contest_stream set starts_at = now() - interval '3 hours', ends_at = now() - interval '1 hour' where contest_stream_id = $1")
        .bind(ended)
        .execute(&env.db)
        .await
        .unwrap();
    let mut c = Client::new(env.state());
    let res = c.get(&format!("/contests/{slug}/streams.ics")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers["content-type"], "text/calendar; charset=utf-8");
    let ics = &res.body;
    // Structure: CRLF only, physical lines of at most 75 octets, unfolded content lines.
    assert!(ics.ends_with("\r\n") && !ics.replace("\r\n", "").contains('\n'));
    let mut lines: Vec<String> = Vec::new();
    for physical in ics.trim_end_matches("\r\n").split("\r\n") {
        assert!(
            physical.len() <= 75,
            "{} octets: {physical:?}",
            physical.len()
        );
        match physical.strip_prefix(' ') {
            Some(rest) => lines.last_mut().unwrap().push_str(rest),
            None => lines.push(physical.to_owned()),
        }
    }
    assert_eq!(lines.first().unwrap(), "BEGIN:VCALENDAR");
    assert_eq!(lines.last().unwrap(), "END:VCALENDAR");
    assert_eq!(
        lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(),
        1,
        "{lines:#?}"
    );
    assert_eq!(lines.iter().filter(|l| *l == "END:VCALENDAR").count(), 1);
    let summary = lines
        .iter()
        .find_map(|l| l.strip_prefix("SUMMARY:"))
        .unwrap();
    assert!(
        summary.starts_with("Chung kết\\, phần 1\\; \\\\ x\\nEND:VCALENDAR\\nBEGIN:VEVENT"),
        "{summary}"
    );
    let uid = lines
        .iter()
        .find_map(|l| l.strip_prefix("UID:"))
        .unwrap()
        .to_owned();
    assert!(uid.starts_with(&format!("stream-{id}@")), "{uid}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("DTSTAMP:") && l.ends_with('Z'))
    );
    assert!(lines.iter().any(|l| l.starts_with("DTSTART:")
        && l.ends_with('Z')
        && l.len() == "DTSTART:20261201T120000Z".len()));
    assert!(!ics.contains("Đã xong"), "an ended stream is not upcoming");
    // The UID stays the same when the organizer changes the title.
    let (starts, ends): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as(
            "select starts_at, ends_at from contest_stream where contest_stream_id = $1",
        )
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap();
    let mut org = Client::new(env.state());
    org.login(&org_email, PASSWORD).await;
    let (starts, ends) = (
        hoithi_web::format::datetime_local(&starts),
        hoithi_web::format::datetime_local(&ends),
    );
    let res = org
        .post_form(
            &format!("/organize/contests/{slug}/streams/{id}/edit"),
            &[
                ("title", "Mới"),
                ("url", "https://youtu.be/dQw4w9WgXcQ"),
                ("starts_at", &starts),
                ("ends_at", &ends),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let again = c.get(&format!("/contests/{slug}/streams.ics")).await.body;
    assert!(again.contains(&format!("UID:{uid}\r\n")));
    assert_eq!(
        c.get("/contests/khong-co/streams.ics").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn only_organizers_of_the_contest_unit_control_the_live_state_and_every_change_is_logged() {
    let env = TestEnv::new().await;
    let (contest_id, slug, (org_id, org, org_email)) = setup(&env).await;
    let (_, member, member_email) = user_in(&env, Role::Member, Some("q1")).await;
    let (_, far, far_email) = user_in(&env, Role::Organizer, Some("hn")).await;
    let (_, _, admin_email) = user_in(&env, Role::Admin, None).await;
    let (_, _, above_email) = user_in(&env, Role::Organizer, Some("hcm")).await;
    let (author, _) = env.user(Role::Member).await;
    let entry = env.draft_entry(contest_id, author).await;
    set_status(&env, entry, "approved").await;
    let draft = env.draft_entry(contest_id, author).await;
    let id = insert_stream(
        &env,
        contest_id,
        "Live",
        "https://youtu.be/dQw4w9WgXcQ",
        true,
    )
    .await;

    let roles = [
        ("anonymous", None, 303),
        ("member", Some(&member_email), 403),
        ("far-organizer", Some(&far_email), 403),
        ("organizer", Some(&org_email), 200),
        ("organizer-above", Some(&above_email), 200),
        ("admin", Some(&admin_email), 200),
    ];
    let mut failures = Vec::new();
    for (role, email, expected) in roles {
        let mut c = Client::new(env.state());
        if let Some(email) = email {
            assert_eq!(c.login(email, PASSWORD).await.status, StatusCode::SEE_OTHER);
        }
        for uri in [
            format!("/organize/contests/{slug}/live"),
            format!("/organize/contests/{slug}/streams"),
        ] {
            let got = c.get(&uri).await.status.as_u16();
            if got != expected {
                failures.push(format!("{role} GET {uri}: {got}, expected {expected}"));
            }
        }
        let post = c
            .post_form(
                &format!("/organize/contests/{slug}/live"),
                &[("action", "close")],
            )
            .await
            .status
            .as_u16();
        let want = if expected == 200 { 303 } else { expected };
        if post != want {
            failures.push(format!("{role} POST live: {post}, expected {want}"));
        }
        // Public pages are public.
        for uri in [
            format!("/contests/{slug}/streams/{id}"),
            format!("/contests/{slug}/streams/{id}/overlay"),
            format!("/contests/{slug}/streams/{id}/screen"),
        ] {
            let got = c.get(&uri).await.status.as_u16();
            if got != 200 {
                failures.push(format!("{role} GET {uri}: {got}, expected 200"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // The API: the same rule.
    let mut c = Client::new(env.state());
    let live = format!("/api/v1/contests/{slug}/live");
    let body = json!({"stage_entry_id": entry.to_string()});
    assert_eq!(
        c.api("POST", &live, Some(&member), Some(body.clone()))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.api("POST", &live, Some(&far), Some(body.clone()))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.api("POST", &live, None, Some(body.clone())).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Refusals with codes.
    let res = c
        .api(
            "POST",
            &live,
            Some(&org),
            Some(json!({"live_voting": true})),
        )
        .await;
    assert_eq!(
        (res.status, res.json()["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("nothing-on-stage"))
    );
    let res = c
        .api(
            "POST",
            &live,
            Some(&org),
            Some(json!({"stage_entry_id": draft.to_string()})),
        )
        .await;
    assert_eq!(res.json()["error"]["code"], "entry-not-in-contest");
    for bad in [
        json!({}),
        json!({"stage_entry_id": 5}),
        json!({"live_voting": "yes"}),
        json!({"x": 1}),
        json!([1]),
    ] {
        let res = c.api("POST", &live, Some(&org), Some(bad.clone())).await;
        assert_eq!(res.json()["error"]["code"], "invalid-body", "{bad}");
    }
    let res = c
        .api(
            "POST",
            &live,
            Some(&org),
            Some(json!({"stage_entry_id": entry.to_string(), "live_voting": true})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let got = res.json();
    assert_eq!(got["stage"]["entry"]["id"], entry.to_string());
    assert_eq!(got["stage"]["live_voting"], true);
    assert_eq!(got["phase"]["phase"], "submission");
    let public = c.api("GET", &live, None, None).await.json();
    assert_eq!(public, got);

    // The phone page: what is on stage, and the window closed from a form.
    let mut c = Client::new(env.state());
    c.login(&org_email, PASSWORD).await;
    let page = c.get(&format!("/organize/contests/{slug}/live")).await;
    assert!(
        page.body.contains("Cổng bình chọn trực tiếp: ĐANG MỞ"),
        "{}",
        page.body
    );
    assert!(page.body.contains("aria-current"));
    let res = c
        .post_form(
            &format!("/organize/contests/{slug}/live"),
            &[("action", "close")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = c
        .post_form(
            &format!("/organize/contests/{slug}/live"),
            &[("action", "stage"), ("entry", "nonsense")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("Bài này không phải bài dự thi đã duyệt của hội thi.")
    );

    let log: Vec<(String, Option<uuid::Uuid>, Option<i64>)> = sqlx::query_as(
        "select action, entry_id, app_user_id from contest_live_log where contest_id = $1 order by contest_live_log_id",
    )
    .bind(contest_id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(
        log,
        [
            ("stage".to_owned(), Some(entry), Some(org_id)),
            ("open".to_owned(), Some(entry), Some(org_id)),
            ("close".to_owned(), Some(entry), Some(org_id)),
        ],
        "the closes of the role matrix changed nothing and wrote nothing"
    );
    let page = c.get(&format!("/organize/contests/{slug}/live")).await;
    assert!(
        page.body.contains("Đóng bình chọn trực tiếp")
            && page.body.contains("Cổng bình chọn trực tiếp: đang đóng")
    );
}
