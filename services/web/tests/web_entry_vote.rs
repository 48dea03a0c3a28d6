#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Voting where a shared link lands: the entry page's vote panel and its plain forms (email →
//! code → vote, all returning to the same entry), the same ingest as the API (limits, closed
//! voting, unapproved entries), the CSRF check, the friendly page of an entry that is not
//! public, share tags from the configured public URL only, and `next` kept on this site.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use support::*;
use uuid::Uuid;

/// The 6-digit code in the latest mail to `email`.
async fn mailed_code(env: &TestEnv, email: &str) -> String {
    let mails = outbox(env, email).await;
    let (kind, _, body) = mails.last().expect("a mail was queued");
    assert_eq!(kind, "voter-code");
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("the body has a 6-digit code")
        .to_owned()
}

/// The entry's valid votes, as the tally (and a recount) say.
/// The entry's public number as people read it ("0007"): the notes name it.
async fn number_of(env: &TestEnv, entry: Uuid) -> String {
    let n: i32 = sqlx::query_scalar("select number from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    format!("{n:04}")
}

async fn votes(env: &TestEnv, entry: Uuid) -> (i64, i64) {
    let tally: i64 = sqlx::query_scalar(
        "select coalesce((select votes from vote_tally where entry_id = $1), 0)::int8",
    )
    .bind(entry)
    .fetch_one(&env.db)
    .await
    .unwrap();
    let rows: i64 = sqlx::query_scalar("select count(*) from vote where entry_id = $1 and valid")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    (tally, rows)
}

async fn retitle(env: &TestEnv, entry: Uuid, title: &str) {
    sqlx::query("update entry set title = $2 where entry_id = $1")
        .bind(entry)
        .bind(title)
        .execute(&env.db)
        .await
        .unwrap();
}

/// Signs a new voter in on the entry's page and casts the vote there: email, then code.
async fn vote_by_code(c: &mut Client, env: &TestEnv, entry: Uuid, email: &str) -> Res {
    let back = format!("/entries/{entry}#vote");
    let res = c
        .post_form(&format!("/entries/{entry}/vote/code"), &[("email", email)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), back);
    let code = mailed_code(env, email).await;
    let res = c
        .post_form(
            &format!("/entries/{entry}/vote/verify"),
            &[("email", email), ("code", &code)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), back);
    res
}

#[tokio::test]
async fn a_signed_out_visitor_votes_on_the_shared_entry_by_code_and_a_returning_voter_in_one_post()
{
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (_, slug, entries) = env.contest_in_voting(2).await;
    let (lotus, river) = (entries[0], entries[1]);
    retitle(&env, lotus, "Hoa sen trong đầm").await;
    retitle(&env, river, "Dòng sông quê").await;
    let page = format!("/entries/{lotus}");

    // The shared link: the phase, the time left, the count and the email field, no button.
    let res = client.get(&page).await;
    assert_eq!(res.status, StatusCode::OK);
    for text in [
        "Đang mở bình chọn",
        "<time datetime=",
        r#"<strong id="entry-votes">0</strong> phiếu"#,
        &format!(r#"action="/entries/{lotus}/vote/code""#),
        "Gửi mã",
        &format!("/contests/{slug}/vote"),
    ] {
        assert!(res.body.contains(text), "{text} in {}", res.body);
    }
    assert!(!res.body.contains(r#"id="vote-button""#));

    // Email → the same page asks for the code; a wrong code is said there too.
    let email = "ban-moi@example.vn";
    let res = client
        .post_form(&format!("/entries/{lotus}/vote/code"), &[("email", email)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), format!("/entries/{lotus}#vote"));
    let res = client.get(&page).await;
    assert!(res.body.contains("Đã gửi mã 6 chữ số tới"), "{}", res.body);
    assert!(res.body.contains(email));
    assert!(res.body.contains("Xác nhận và bình chọn"));
    let code = mailed_code(&env, email).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let res = client
        .post_form(
            &format!("/entries/{lotus}/vote/verify"),
            &[("email", email), ("code", wrong)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = client.get(&page).await;
    assert!(
        res.body.contains("Mã không đúng. Bạn còn 4 lần thử."),
        "{}",
        res.body
    );
    assert_eq!(votes(&env, lotus).await, (0, 0));

    // The right code signs in and counts the vote on this entry, and only this one.
    let res = client
        .post_form(
            &format!("/entries/{lotus}/vote/verify"),
            &[("email", email), ("code", &code)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), format!("/entries/{lotus}#vote"));
    assert_eq!(votes(&env, lotus).await, (1, 1));
    assert_eq!(votes(&env, river).await, (0, 0));
    let res = client.get(&page).await;
    assert!(
        res.body.contains(&format!(
            "Đã ghi nhận phiếu cho «Hoa sen trong đầm» (bài số {}). Cảm ơn bạn!",
            number_of(&env, lotus).await
        )),
        "{}",
        res.body
    );
    assert!(res.body.contains(r#"<strong id="entry-votes">1</strong>"#));
    assert!(res.body.contains(r#"id="vote-button""#), "now a button");
    // The note is shown once.
    let again = client.get(&page).await;
    assert!(!again.body.contains("Đã ghi nhận phiếu"));

    // A returning voter: one POST on another entry counts.
    let res = client
        .post_form(&format!("/entries/{river}/vote"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(votes(&env, river).await, (1, 1));
    let res = client.get(&format!("/entries/{river}")).await;
    assert!(res.body.contains("Đã ghi nhận phiếu cho «Dòng sông quê»"));

    // Over the day's limit: the message names the entry and when the next vote is allowed.
    let res = client
        .post_form(&format!("/entries/{lotus}/vote"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = client.get(&page).await;
    assert!(
        res.body.contains(&format!(
            "Hôm nay bạn đã dùng hết phiếu cho «Hoa sen trong đầm» (bài số {}). Bạn có thể bình chọn lại từ",
            number_of(&env, lotus).await
        )),
        "{}",
        res.body
    );
    assert!(
        res.body.contains("00:00"),
        "midnight in Vietnam: {}",
        res.body
    );
    assert_eq!(votes(&env, lotus).await, (1, 1));

    // In English too.
    client.cookies.insert("lang".into(), "en".into());
    client
        .post_form(&format!("/entries/{lotus}/vote"), &[])
        .await;
    let res = client.get(&page).await;
    assert!(
        res.body
            .contains("You have used today&#39;s votes for «Hoa sen trong đầm»")
            || res
                .body
                .contains("You have used today&#x27;s votes for «Hoa sen trong đầm»"),
        "{}",
        res.body
    );
}

#[tokio::test]
async fn closed_voting_unapproved_entries_and_cross_site_forms_are_refused() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (contest, slug, entries) = env.contest_in_voting(2).await;
    let entry = entries[0];
    vote_by_code(&mut client, &env, entry, "cu-tri@example.vn").await;
    assert_eq!(votes(&env, entry).await, (1, 1));
    let other = entries[1];

    // A cross-site form: the session cookie rides along, the page's CSRF token does not.
    let cookies: Vec<String> = client
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for body in ["", "_csrf=forged.token"] {
        let req = Request::post(format!("/entries/{other}/vote"))
            .header(header::COOKIE, cookies.join("; "))
            .header(header::ORIGIN, "https://evil.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let res = client.send(req).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    }
    assert_eq!(votes(&env, other).await, (0, 0));

    // An entry that is not approved takes no vote, and its link shows a friendly page that
    // leads to the contest without its title.
    let author: i64 = sqlx::query_scalar("select author_id from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    let hidden = env.draft_entry(contest, author).await;
    retitle(&env, hidden, "Bí mật chưa duyệt").await;
    set_status(&env, hidden, "pending_review").await;
    let res = client
        .post_form(&format!("/entries/{hidden}/vote"), &[])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(
        res.body.contains("Bài dự thi này không nhận bình chọn."),
        "{}",
        res.body
    );
    let res = client
        .post_form(
            &format!("/entries/{hidden}/vote/code"),
            &[("email", "ai-do@example.vn")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(outbox(&env, "ai-do@example.vn").await.is_empty());
    assert_eq!(votes(&env, hidden).await, (0, 0));
    let mut anon = Client::new(env.state());
    for id in [
        hidden.to_string(),
        Uuid::new_v4().to_string(),
        "x'or'1".into(),
    ] {
        let res = anon.get(&format!("/entries/{id}")).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        assert!(
            res.body
                .contains("Bài dự thi này hiện không hiển thị công khai"),
            "{}",
            res.body
        );
        assert!(
            res.body
                .contains(r#"<meta name="robots" content="noindex">"#)
        );
        assert!(!res.body.contains("Bí mật chưa duyệt"));
        assert!(!res.body.contains("og:title"));
    }
    let res = anon.get(&format!("/entries/{hidden}")).await;
    assert!(res.body.contains(&format!(r#"href="/contests/{slug}""#)));

    // Its author sees it, without share buttons while it waits for review.
    let author_email: String =
        sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
            .bind(author)
            .fetch_one(&env.db)
            .await
            .unwrap();
    let mut author_client = Client::new(env.state());
    author_client.login(&author_email, PASSWORD).await;
    let res = author_client.get(&format!("/entries/{hidden}")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Bí mật chưa duyệt"));
    assert!(!res.body.contains("facebook.com/sharer"));
    assert!(!res.body.contains("og:title"));
    assert!(!res.body.contains(r#"id="vote""#));
    // An approved entry has them; once withdrawn, its old link is the friendly page.
    let res = author_client.get(&format!("/entries/{other}")).await;
    assert!(res.body.contains("facebook.com/sharer"));
    let res = author_client
        .post_form(&format!("/entries/{other}/withdraw"), &[("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = anon.get(&format!("/entries/{other}")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(
        res.body
            .contains("Bài dự thi này hiện không hiển thị công khai")
    );
    assert!(!res.body.contains("facebook.com/sharer"));

    // Closed by the organizers: the page says so and a stale form is refused.
    let (_, _, admin_email) = user_in(&env, Role::Admin, None).await;
    let mut admin = Client::new(env.state());
    admin.login(&admin_email, PASSWORD).await;
    let res = admin
        .post_form(
            &format!("/organize/contests/{slug}/phase"),
            &[("phase", "voting"), ("action", "close"), ("confirm", "1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = client
        .post_form(&format!("/entries/{entry}/vote"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = client.get(&format!("/entries/{entry}")).await;
    assert!(
        res.body.contains("Đã hết thời gian bình chọn."),
        "{}",
        res.body
    );
    assert!(res.body.contains("Bình chọn đã kết thúc."));
    assert!(!res.body.contains(r#"id="vote-button""#));
    assert_eq!(votes(&env, entry).await, (1, 1));
    // A signed-out visitor is not offered the code either.
    let res = anon.get(&format!("/entries/{entry}")).await;
    assert!(!res.body.contains("/vote/code"));
}

#[tokio::test]
async fn the_code_sign_in_follows_only_local_next_and_the_live_page_uses_it() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (contest, slug, _) = env.contest_in_voting(1).await;
    for evil in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
    ] {
        let res = client
            .get(&format!("/vote/sign-in?next={}", enc(evil)))
            .await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(
            res.body.contains(r#"name="next" value="/""#),
            "{evil}: {}",
            res.body
        );
        assert!(!res.body.contains("evil.example"), "{evil}");
    }
    for (i, evil) in ["https://evil.example", "//evil.example"]
        .iter()
        .enumerate()
    {
        let email = format!("next-{i}@example.vn");
        let res = client
            .post_form("/vote/sign-in", &[("email", &email), ("next", evil)])
            .await;
        assert_eq!(res.status, StatusCode::OK);
        let code = mailed_code(&env, &email).await;
        let res = client
            .post_form(
                "/vote/verify",
                &[("email", &email), ("code", &code), ("next", evil)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(res.location(), "/", "{evil}");
    }

    // The live page's "sign in to vote" is the code flow, back to the live page.
    let source =
        hoithi_web::domain::streams::source::parse("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
            .unwrap();
    let stream: i64 = sqlx::query_scalar(
        "insert into contest_stream (contest_id, title, platform, source_url, embed_url, starts_at, ends_at)
         values ($1, 'Đêm chung kết', $2, $3, $4, now() - interval '1 hour', now() + interval '2 hours')
         returning contest_stream_id",
    )
    .bind(contest)
    .bind(source.platform.as_str())
    .bind(&source.source)
    .bind(&source.embed)
    .fetch_one(&env.db)
    .await
    .unwrap();
    let live = format!("/contests/{slug}/streams/{stream}");
    let mut anon = Client::new(env.state());
    let res = anon.get(&live).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let href = format!(r#"href="/vote/sign-in?next={live}""#);
    assert!(res.body.contains(&href), "{}", res.body);
    assert!(!res.body.contains(r#"href="/login?next=/contests"#));
    let email = "xem-truc-tiep@example.vn";
    anon.post_form("/vote/sign-in", &[("email", email), ("next", &live)])
        .await;
    let code = mailed_code(&env, email).await;
    let res = anon
        .post_form(
            "/vote/verify",
            &[("email", email), ("code", &code), ("next", &live)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), live);
}

#[tokio::test]
async fn share_tags_use_the_configured_public_url_and_the_1280_rendition_whatever_the_host() {
    let env = TestEnv::new().await;
    let state = state_with_public_url(&env, Some("https://hoithi.example.vn"));
    let (_, _, entries) = env.contest_in_voting(1).await;
    let entry = entries[0];
    let asset: Uuid = sqlx::query_scalar(
        "insert into media_asset (entry_id, kind, status, progress, original_key, original_bytes, original_sha256, width, height, renditions)
         values ($1, 'photo', 'ready', 100, 'originals/x', 10, repeat('a', 64), 4000, 3000,
                 '{\"images\": [{\"width\": 400, \"key\": \"400.webp\"}, {\"width\": 1280, \"key\": \"1280.webp\"}, {\"width\": 2560, \"key\": \"2560.webp\"}]}')
         returning media_asset_id",
    )
    .bind(entry)
    .fetch_one(&env.db)
    .await
    .unwrap();
    let mut c = Client::new(state);
    let req = Request::get(format!("/entries/{entry}"))
        .header(header::HOST, "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "http")
        .body(Body::empty())
        .unwrap();
    let res = c.send(req).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.body.contains("evil.example"), "{}", res.body);
    let url = format!("https://hoithi.example.vn/entries/{entry}");
    assert!(
        res.body
            .contains(&format!(r#"<meta property="og:url" content="{url}">"#)),
        "{}",
        res.body
    );
    let img =
        format!(r#"<meta property="og:image" content="https://hoithi.example.vn/media/{asset}/"#);
    let at = res.body.find(&img).expect(&res.body);
    let tag = &res.body[at..at + res.body[at..].find('>').unwrap()];
    assert!(tag.contains("1280"), "{tag}");
}

#[tokio::test]
async fn the_panel_hides_totals_when_the_contest_does_and_says_when_voting_opens() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (_, slug, entries) = env.contest_in_voting(1).await;
    let entry = entries[0];
    vote_by_code(&mut client, &env, entry, "an-tong@example.vn").await;
    let (_, admin) = env.user(Role::Admin).await;
    let res = client
        .api(
            "PUT",
            &format!("/api/v1/contests/{slug}/vote-policy"),
            Some(&admin),
            Some(serde_json::json!({"hide_totals": true})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let mut anon = Client::new(env.state());
    let res = anon.get(&format!("/entries/{entry}")).await;
    assert!(
        res.body
            .contains("Số phiếu được công bố sau khi bình chọn kết thúc."),
        "{}",
        res.body
    );
    assert!(!res.body.contains("entry-votes"));
    // Hidden for the voter who voted too, while still confirming their vote.
    let res = client
        .post_form(&format!("/entries/{entry}/vote"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = client.get(&format!("/entries/{entry}")).await;
    assert!(res.body.contains("Hôm nay bạn đã dùng hết phiếu cho"));
    assert!(!res.body.contains("entry-votes"));

    // Before the window (a contest whose voting the organizer scheduled later): when it
    // opens, and no form to send a code yet.
    let (later, _, later_entries) = env.contest_in_voting(1).await;
    let entry = later_entries[0];
    organize(
        &env,
        later,
        serde_json::json!({"voting_overlaps_submission": true,
            "phases": {"voting": {"opens_at": in_minutes(2 * 24 * 60), "closes_at": in_minutes(3 * 24 * 60)}}}),
    )
    .await;
    let res = anon.get(&format!("/entries/{entry}")).await;
    assert!(res.body.contains("Bình chọn mở lúc "), "{}", res.body);
    assert!(!res.body.contains("/vote/code"));
    let res = client
        .post_form(&format!("/entries/{entry}/vote"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = client.get(&format!("/entries/{entry}")).await;
    assert!(
        res.body.contains("Chưa đến thời gian bình chọn."),
        "{}",
        res.body
    );
    assert_eq!(votes(&env, entry).await, (0, 0));
}

/// What vote.js does: the number whose hash with the salt is the challenge, as the payload.
fn solve(c: &serde_json::Value) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let salt = c["salt"].as_str().unwrap();
    let target = c["challenge"].as_str().unwrap();
    let max = c["maxnumber"].as_u64().unwrap();
    let number = (0..=max)
        .find(|n| {
            let hash = Sha256::digest(format!("{salt}{n}").as_bytes());
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>() == target
        })
        .expect("a solution below maxnumber");
    let json = serde_json::json!({
        "algorithm": c["algorithm"], "challenge": target, "number": number,
        "salt": salt, "signature": c["signature"],
    });
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

#[tokio::test]
async fn above_normal_rates_the_entry_page_vote_needs_a_solved_challenge_like_the_api() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting_with(&[
        ("HOITHI_VOTE_CHALLENGE_VOTER_BURST", "1"),
        ("HOITHI_VOTE_CHALLENGE_VOTER_RATE", "0.001"),
        ("HOITHI_VOTE_CHALLENGE_MAX_NUMBER", "2000"),
    ])
    .await;
    let (_, _, entries) = env.contest_in_voting(3).await;
    vote_by_code(&mut client, &env, entries[0], "nhanh-tay@example.vn").await;
    assert_eq!(votes(&env, entries[0]).await, (1, 1));

    // Past the burst: no vote without a solved challenge, and the panel asks the script.
    let page = format!("/entries/{}", entries[1]);
    let vote = format!("{page}/vote");
    let res = client.post_form(&vote, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = client.get(&page).await;
    assert!(
        res.body
            .contains("Đang có rất nhiều phiếu từ mạng của bạn."),
        "{}",
        res.body
    );
    assert!(res.body.contains("data-busy"));
    let res = client
        .post_form(&vote, &[("challenge", "bm90LWEtcHJvb2Y")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(votes(&env, entries[1]).await, (0, 0));

    // Solved: counted; the same solution a second time is spent.
    let c = client.get("/api/v1/vote-challenge").await.json();
    let proof = solve(&c);
    client.post_form(&vote, &[("challenge", &proof)]).await;
    let res = client.get(&page).await;
    assert!(res.body.contains("Đã ghi nhận phiếu cho"), "{}", res.body);
    assert_eq!(votes(&env, entries[1]).await, (1, 1));
    let third = format!("/entries/{}/vote", entries[2]);
    client.post_form(&third, &[("challenge", &proof)]).await;
    let res = client.get(&format!("/entries/{}", entries[2])).await;
    assert!(
        res.body
            .contains("Đang có rất nhiều phiếu từ mạng của bạn.")
    );
    assert_eq!(votes(&env, entries[2]).await, (0, 0));
}
