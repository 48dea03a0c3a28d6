#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Voters and vote policies through the real router on a real database: sign-in by email
//! code (API and pages), per-contest and per-round limits under parallel votes, rosters, the
//! organizers' fraud review with its invalidate and restore forms, and the shuffled gallery.
//! (The erasure of voters' addresses is tested end to end in tests/voters.rs.)

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::fixtures::*;
use support::*;
use uuid::Uuid;

/// The 6-digit code in the latest mail to `email`.
async fn mailed_code(env: &TestEnv, email: &str) -> String {
    let mails = outbox(env, email).await;
    let (kind, subject, body) = mails.last().expect("a mail was queued");
    assert_eq!(kind, "voter-code");
    let code: String = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("the body has a 6-digit code")
        .to_owned();
    assert!(subject.contains(&code), "{subject}");
    code
}

async fn send_code(c: &mut Client, body: serde_json::Value) -> Res {
    c.api("POST", "/api/v1/voters/codes", None, Some(body))
        .await
}

async fn check_code(c: &mut Client, body: serde_json::Value) -> Res {
    c.api("POST", "/api/v1/voters/sessions", None, Some(body))
        .await
}

async fn put_policy(c: &mut Client, slug: &str, token: &str, body: serde_json::Value) -> Res {
    let uri = format!("/api/v1/contests/{slug}/vote-policy");
    c.api("PUT", &uri, Some(token), Some(body)).await
}

/// A count (or sum) of one row for one id.
async fn count(env: &TestEnv, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_voter_without_a_password_signs_in_by_a_mailed_code_and_votes() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (_, _, entries) = env.contest_in_voting(1).await;
    let email = "cu-tri@example.vn";

    // Hostile input first: nothing is sent.
    for (body, status, code) in [
        (json!({"email": "không-phải-email"}), 422, "invalid-email"),
        (json!({"email": email, "extra": 1}), 422, "invalid-body"),
    ] {
        let res = send_code(&mut client, body).await;
        assert_eq!(res.status.as_u16(), status, "{}", res.body);
        assert_eq!(res.json()["error"]["code"], code);
    }
    assert!(outbox(&env, email).await.is_empty());

    let res = send_code(&mut client, json!({"email": " Cu-Tri@Example.vn "})).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    assert_eq!(res.json()["expires_in"], 600);
    let code = mailed_code(&env, email).await;
    // Only an HMAC is stored, never the code.
    let stored: Vec<u8> = sqlx::query_scalar("select code_hash from voter_code where email = $1")
        .bind(email)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&code));

    let wrong = if code == "000000" { "000001" } else { "000000" };
    let verify = |code: &str| json!({"email": email, "code": code});
    let res = check_code(&mut client, verify("12ab56")).await;
    assert_eq!(
        (res.status.as_u16(), res.json()["error"]["code"].clone()),
        (422, json!("invalid-code-format"))
    );
    let res = check_code(&mut client, verify(wrong)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.json()["error"]["code"], "code-invalid");
    assert_eq!(res.json()["error"]["attempts_left"], 4);

    let res = check_code(&mut client, verify(&code)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let body = res.json();
    assert_eq!(body["user"]["email_verified"], true);
    assert_eq!(body["user"]["role"], "member");
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        vote(&mut client, entries[0], &token).await.0,
        StatusCode::CREATED
    );

    // A code counts once.
    let res = check_code(&mut client, verify(&code)).await;
    assert_eq!(
        (res.status.as_u16(), res.json()["error"]["code"].clone()),
        (410, json!("code-expired"))
    );
    // A second sign-in finds the same account.
    send_code(&mut client, json!({"email": email})).await;
    let code = mailed_code(&env, email).await;
    let res = check_code(&mut client, verify(&code)).await;
    assert_eq!(res.json()["user"]["id"], body["user"]["id"]);
}

#[tokio::test]
async fn codes_are_limited_per_email_guesses_are_bounded_and_staff_keep_their_password() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let email = "nhieu-ma@example.vn";
    for _ in 0..3 {
        let res = send_code(&mut client, json!({"email": email})).await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
    }
    let res = send_code(&mut client, json!({"email": email})).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.json()["error"]["code"], "too-many-codes");
    let wait: i64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert_eq!(outbox(&env, email).await.len(), 3);

    // Five wrong guesses burn the code: even the right one is refused after them.
    let code = mailed_code(&env, email).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for left in [4, 3, 2, 1] {
        let res = check_code(&mut client, json!({"email": email, "code": wrong})).await;
        assert_eq!(res.json()["error"]["attempts_left"], left);
    }
    for _ in 0..2 {
        let res = check_code(&mut client, json!({"email": email, "code": wrong})).await;
        assert_eq!(res.json()["error"]["code"], "too-many-attempts");
    }
    let res = check_code(&mut client, json!({"email": email, "code": code})).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let users: i64 = sqlx::query_scalar("select count(*) from app_user where email = $1")
        .bind(email)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(users, 0, "no account without the right code");

    // An organizer's mailbox code does not open the organizer's account.
    let (_, _, staff) = user_in(&env, Role::Organizer, None).await;
    send_code(&mut client, json!({"email": staff})).await;
    let code = mailed_code(&env, &staff).await;
    let res = check_code(&mut client, json!({"email": staff, "code": code})).await;
    assert_eq!(
        (res.status.as_u16(), res.json()["error"]["code"].clone()),
        (403, json!("use-password"))
    );
}

#[tokio::test]
async fn the_sign_in_pages_send_a_code_and_sign_the_voter_in_in_vietnamese() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (_, slug, entries) = env.contest_in_voting(2).await;
    let page = client.get(&format!("/contests/{slug}/vote")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Xác nhận email để bình chọn"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("data-vote="),
        "no vote buttons before sign-in"
    );

    let next = format!("/contests/{slug}/vote");
    let res = client
        .post_form("/vote/sign-in", &[("email", "sai email"), ("next", &next)])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Email không hợp lệ."), "{}", res.body);

    let email = "trang@example.vn";
    let res = client
        .post_form("/vote/sign-in", &[("email", email), ("next", &next)])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Đã gửi mã 6 chữ số tới"), "{}", res.body);
    let code = mailed_code(&env, email).await;
    let res = client
        .post_form(
            "/vote/verify",
            &[("email", email), ("code", "99999"), ("next", &next)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Mã gồm đúng 6 chữ số."), "{}", res.body);
    let res = client
        .post_form(
            "/vote/verify",
            &[
                ("email", email),
                ("code", &code),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/", "only same-site paths are followed");

    let page = client.get(&format!("/contests/{slug}/vote")).await;
    for e in &entries {
        assert!(
            page.body.contains(&format!("data-vote=\"{e}\"")),
            "{}",
            page.body
        );
    }
    // The page's button posts with the session cookie and the page's CSRF token (a cookie
    // alone is what a cross-site page can send too: tests/web_csrf_hostile.rs).
    let cookies: Vec<String> = client
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let req = axum::http::Request::post(format!("/api/v1/entries/{}/votes", entries[0]))
        .header("cookie", cookies.join("; "))
        .header("x-csrf-token", client.csrf())
        .body(axum::body::Body::empty())
        .unwrap();
    let res = client.send(req).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

#[tokio::test]
async fn contest_and_round_limits_hold_under_parallel_votes() {
    // Rate limits off: the policy alone decides here.
    let Voting {
        env,
        mut client,
        _stop,
    } = voting_with(&[("HOITHI_VOTE_VOTER_RATE", "0")]).await;
    let (contest, slug, entries) = env.contest_in_voting(6).await;
    let (_, admin) = env.user(Role::Admin).await;
    let res = put_policy(
        &mut client,
        &slug,
        &admin,
        json!({"per_day": 3, "per_contest": 4, "per_round": 2}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["per_contest"], 4);
    for (body, code) in [
        (json!({"per_day": 0}), "invalid-per-day"),
        (json!({"per_contest": 100000}), "invalid-per-contest"),
        (json!({"round": "2"}), "invalid-body"),
    ] {
        let res = put_policy(&mut client, &slug, &admin, body).await;
        assert_eq!(res.json()["error"]["code"], code);
    }
    let (_, member) = env.user(Role::Member).await;
    let res = put_policy(&mut client, &slug, &member, json!({})).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // 60 votes at once from one voter over six entries: exactly two count in round 1.
    let (voter, token) = env.user(Role::Member).await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let mut c = client.clone();
        let token = token.clone();
        let entry = entries[i % entries.len()];
        tasks.push(tokio::spawn(
            async move { vote(&mut c, entry, &token).await },
        ));
    }
    let mut outcomes = std::collections::HashMap::new();
    for t in tasks {
        let (status, code) = t.await.unwrap();
        *outcomes.entry((status.as_u16(), code)).or_insert(0) += 1;
    }
    assert_eq!(
        outcomes.get(&(201, String::new())),
        Some(&2),
        "{outcomes:?}"
    );
    assert!(
        outcomes.keys().all(|(s, _)| *s == 201 || *s == 409),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains_key(&(409, "round-limit-reached".into())),
        "{outcomes:?}"
    );

    // Round 2 gives two more, but the contest's 4 is the end.
    put_policy(
        &mut client,
        &slug,
        &admin,
        json!({"per_day": 3, "per_contest": 4, "per_round": 2, "round": 2}),
    )
    .await;
    let mut counted = 0;
    for e in &entries {
        if vote(&mut client, *e, &token).await.0 == StatusCode::CREATED {
            counted += 1;
        }
    }
    assert_eq!(counted, 2);
    put_policy(
        &mut client,
        &slug,
        &admin,
        json!({"per_day": 3, "per_contest": 4, "per_round": 2, "round": 3}),
    )
    .await;
    assert_eq!(
        vote(&mut client, entries[0], &token).await,
        (StatusCode::CONFLICT, "contest-limit-reached".into())
    );
    let rows: i64 =
        sqlx::query_scalar("select count(*) from vote where contest_id = $1 and voter_id = $2")
            .bind(contest)
            .bind(voter)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(rows, 4);
    let (_, _, differences) = hoithi_web::voting::check_tallies(&env.db, Some(&slug))
        .await
        .unwrap();
    assert!(differences.is_empty(), "{differences:?}");
    let audited = count(
        &env,
        "select count(*) from vote_audit where contest_id = $1 and action = 'policy'",
        contest,
    )
    .await;
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn a_roster_restricts_voting_and_names_every_bad_line() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (contest, slug, entries) = env.contest_in_voting(1).await;
    let (_, admin) = env.user(Role::Admin).await;
    let (listed, listed_token, listed_email) = user_in(&env, Role::Member, None).await;
    let (numbered, numbered_token, numbered_email) = user_in(&env, Role::Member, None).await;
    let (_, outsider_token, _) = user_in(&env, Role::Member, None).await;
    let _ = listed;
    sqlx::query("update app_user set member_number = 'DV-0042' where app_user_id = $1")
        .bind(numbered)
        .execute(&env.db)
        .await
        .unwrap();

    let put = |body: String| {
        axum::http::Request::put(format!("/api/v1/contests/{slug}/roster"))
            .header("authorization", format!("Bearer {admin}"))
            .header("content-type", "text/csv")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let res = client
        .send(put("email\nkhông phải@\n<x>\nok@example.vn\n".into()))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        res.json()["lines"],
        json!([{"line": 2, "code": "invalid-email"}, {"line": 3, "code": "invalid-member-number"}])
    );
    let res = client.send(put("a".repeat(2 * 1024 * 1024))).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    let res = client
        // A number counts for the account that stated it only with the member's email.
        .send(put(format!(
            "{}\ndv-0042,{numbered_email}\n",
            listed_email.to_uppercase()
        )))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["people"], 2);

    // Before the policy says so, the roster does not restrict.
    assert_eq!(
        vote(&mut client, entries[0], &outsider_token).await.0,
        StatusCode::CREATED
    );
    put_policy(
        &mut client,
        &slug,
        &admin,
        json!({"per_day": 2, "roster": true}),
    )
    .await;
    assert_eq!(
        vote(&mut client, entries[0], &outsider_token).await,
        (StatusCode::FORBIDDEN, "not-on-roster".into())
    );
    assert_eq!(
        vote(&mut client, entries[0], &listed_token).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        vote(&mut client, entries[0], &numbered_token).await.0,
        StatusCode::CREATED
    );

    // The organizer's page: a bad file names its lines in Vietnamese and keeps the text.
    let (_, _, organizer) = user_in(&env, Role::Admin, None).await;
    client.login(&organizer, PASSWORD).await;
    let res = client
        .post_form(
            &format!("/organize/contests/{slug}/voting/roster"),
            &[("csv", "x@y.vn\n@@\n")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Dòng 2: email không hợp lệ"),
        "{}",
        res.body
    );
    let size = count(
        &env,
        "select count(*) from vote_roster where contest_id = $1",
        contest,
    )
    .await;
    assert_eq!(size, 2, "a refused file changes nothing");
}

#[tokio::test]
async fn a_voter_states_a_member_number_once_and_a_number_roster_admits_them() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (_, slug, entries) = env.contest_in_voting(1).await;
    let (_, admin) = env.user(Role::Admin).await;
    let (_, member_token, member_email) = user_in(&env, Role::Member, None).await;
    let (_, rival_token, rival_email) = user_in(&env, Role::Member, None).await;
    let (_, third_token, third_email) = user_in(&env, Role::Member, None).await;
    let (unverified, unverified_token, _) = user_in(&env, Role::Member, None).await;
    sqlx::query("update app_user set email_verified_at = null where app_user_id = $1")
        .bind(unverified)
        .execute(&env.db)
        .await
        .unwrap();
    let roster = axum::http::Request::put(format!("/api/v1/contests/{slug}/roster"))
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "text/csv")
        // Each number with its member's email: a claim counts at once only for that email.
        .body(axum::body::Body::from(format!(
            "ma_doan_vien,email\nDV-0077,{member_email}\nDV-0079,{third_email}\n"
        )))
        .unwrap();
    assert_eq!(client.send(roster).await.status, StatusCode::OK);
    put_policy(&mut client, &slug, &admin, json!({"roster": true})).await;
    assert_eq!(
        vote(&mut client, entries[0], &rival_token).await,
        (StatusCode::FORBIDDEN, "not-on-roster".into())
    );

    let state = env.state();
    let claim = |token: Option<&str>, body: serde_json::Value| {
        let (token, state) = (token.map(str::to_owned), state.clone());
        async move {
            let res = Client::new(state)
                .api(
                    "PUT",
                    "/api/v1/me/member-number",
                    token.as_deref(),
                    Some(body),
                )
                .await;
            (res.status, res.json())
        }
    };
    let code = |v: &serde_json::Value| v["error"]["code"].as_str().unwrap_or("").to_owned();
    let (status, body) = claim(Some(&member_token), json!({"member_number": "<b>1</b>"})).await;
    assert_eq!(
        (status, code(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-member-number".into()
        )
    );
    let (status, body) = claim(Some(&member_token), json!({"number": "DV-0077"})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-body".into())
    );
    let (status, _) = claim(None, json!({"member_number": "DV-0077"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = claim(Some(&unverified_token), json!({"member_number": "DV-0077"})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "not-eligible".into())
    );
    let (status, body) = claim(Some(&member_token), json!({"member_number": " dv-0077 "})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["member_number"], "dv-0077");
    // The roster compares numbers without case: the voter is on it now.
    assert_eq!(
        vote(&mut client, entries[0], &member_token).await.0,
        StatusCode::CREATED
    );
    // Stating the same number again is fine; another one is not (ask the organizer).
    let (status, _) = claim(Some(&member_token), json!({"member_number": "DV-0077"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = claim(Some(&member_token), json!({"member_number": "DV-0079"})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "member-number-set".into())
    );
    // Another account may claim the number (so a squatter cannot lock the member out), but
    // its claim stays pending: one member still cannot vote through a second account.
    let (status, body) = claim(
        Some(&rival_token),
        json!({"member_number": "DV-0077", "contest": slug}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(
        vote(&mut client, entries[0], &rival_token).await,
        (StatusCode::FORBIDDEN, "not-on-roster".into())
    );

    // The page, from the vote page's link, in Vietnamese.
    let mut rival = Client::new(env.state());
    rival.login(&rival_email, PASSWORD).await;
    let vote_page = rival.get(&format!("/contests/{slug}/vote")).await;
    let link = format!("/vote/member-number?next=/contests/{slug}/vote");
    assert!(vote_page.body.contains(&link), "{}", vote_page.body);
    let page = rival.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Nhập mã đoàn viên của bạn"),
        "{}",
        page.body
    );
    let next = format!("/contests/{slug}/vote");
    let res = rival
        .post_form(
            "/vote/member-number",
            &[("member_number", "DV 77"), ("next", &next)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Mã đoàn viên gồm 1–40 chữ cái"),
        "{}",
        res.body
    );
    let res = rival
        .post_form(
            "/vote/member-number",
            &[("member_number", "DV-0077"), ("next", &next)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.body
            .contains("bạn bình chọn được khi ban tổ chức xác nhận"),
        "{}",
        res.body
    );
    let mut third = Client::new(env.state());
    third.login(&third_email, PASSWORD).await;
    let res = third
        .post_form(
            "/vote/member-number",
            &[("member_number", "DV-0079"), ("next", &next)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers["location"], next.as_str());
    assert_eq!(
        vote(&mut client, entries[0], &third_token).await.0,
        StatusCode::CREATED
    );
    // Signed out, the page sends the visitor to sign in first, and back here after.
    let mut visitor = Client::new(env.state());
    let res = visitor.get(&link).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let expected = format!(
        "/vote/sign-in?next=%2Fvote%2Fmember-number%3Fnext%3D%252Fcontests%252F{slug}%252Fvote"
    );
    assert_eq!(res.headers["location"], expected.as_str());
    // A control character in `next` (a decoded %0A) is not followed: the page still answers.
    let res = rival
        .get("/vote/member-number?next=/x%0ALocation:%20y")
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.body.contains("Location: y"), "{}", res.body);
}

#[tokio::test]
async fn the_fraud_review_shows_concentration_and_its_forms_invalidate_and_restore() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (contest, slug, entries) = env.contest_in_voting(2).await;
    // Votes as the ingest would store them: six from one /24, two elsewhere.
    let mut voters = Vec::new();
    for i in 0..8 {
        let (id, _) = env.user(Role::Member).await;
        let ip = if i < 6 {
            format!("203.113.7.{}", 10 + i)
        } else {
            format!("198.51.100.{i}")
        };
        let net = if i < 6 {
            "203.113.7.0/24"
        } else {
            "198.51.100.0/24"
        };
        sqlx::query(
            "insert into vote (contest_id, entry_id, voter_id, vote_day, ip, ip_network)
             values ($1, $2, $3, current_date, $4::inet, $5::cidr)",
        )
        .bind(contest)
        .bind(entries[i % 2])
        .bind(id)
        .bind(ip)
        .bind(net)
        .execute(&env.db)
        .await
        .unwrap();
        voters.push(id);
    }
    sqlx::query(
        "insert into vote_tally_shard (entry_id, contest_id, votes)
         select entry_id, contest_id, count(*) from vote where contest_id = $1 group by 1, 2",
    )
    .bind(contest)
    .execute(&env.db)
    .await
    .unwrap();

    // A member may not see it; the organizer (admin here) may.
    let (_, _, member) = user_in(&env, Role::Member, None).await;
    client.login(&member, PASSWORD).await;
    assert_eq!(
        client
            .get(&format!("/organize/contests/{slug}/voting"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let (_, admin_token, admin) = user_in(&env, Role::Admin, None).await;
    let mut organizer = Client::new(env.state());
    organizer.login(&admin, PASSWORD).await;
    let page = organizer
        .get(&format!("/organize/contests/{slug}/voting"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("203.113.7.0/24"), "{}", page.body);
    assert!(
        page.body.contains("100%"),
        "every voter's account is new: {}",
        page.body
    );
    let review = organizer
        .api(
            "GET",
            &format!("/api/v1/contests/{slug}/vote-review"),
            Some(&admin_token),
            None,
        )
        .await
        .json();
    assert_eq!(
        review["networks"][0],
        json!({"network": "203.113.7.0/24", "votes": 6, "voters": 6})
    );
    assert_eq!(review["new_account_percent"], 100.0);

    // Refused forms say why in Vietnamese.
    let form = format!("/organize/contests/{slug}/voting/invalidate");
    let res = organizer
        .post_form(&form, &[("ip_network", "203.113.7.0/99"), ("reason", "x")])
        .await;
    assert!(res.body.contains("Dải IP phải có dạng"), "{}", res.body);
    let res = organizer.post_form(&form, &[("reason", "x")]).await;
    assert!(
        res.body.contains("Hãy chọn người bình chọn"),
        "{}",
        res.body
    );
    let res = organizer
        .post_form(&form, &[("from", "hôm qua"), ("reason", "x")])
        .await;
    assert!(res.body.contains("Thời gian không hợp lệ."), "{}", res.body);

    let res = organizer
        .post_form(
            &form,
            &[
                ("ip_network", "203.113.7.0/24"),
                ("reason", "Cùng một mạng Wi-Fi"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let valid = count(
        &env,
        "select count(*) from vote where contest_id = $1 and valid",
        contest,
    )
    .await;
    assert_eq!(valid, 2);
    let tallied = count(
        &env,
        "select sum(votes)::int8 from vote_tally where contest_id = $1",
        contest,
    )
    .await;
    assert_eq!(tallied, 2);
    // By voter email and by a time window.
    let email: String =
        sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
            .bind(voters[7])
            .fetch_one(&env.db)
            .await
            .unwrap();
    let res = organizer
        .post_form(&form, &[("voter", &email), ("reason", "Tài khoản ảo")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = organizer
        .post_form(
            &form,
            &[
                ("from", "2020-01-01T00:00"),
                ("until", "2020-01-02T00:00"),
                ("reason", "Không có phiếu"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let id = count(&env, "select vote_invalidation_id from vote_invalidation where contest_id = $1 and ip_network is not null", contest).await;
    let restore = format!("/organize/contests/{slug}/voting/restore");
    let res = organizer
        .post_form(&restore, &[("id", &id.to_string()), ("reason", " ")])
        .await;
    assert!(res.body.contains("Hãy ghi lý do"), "{}", res.body);
    let res = organizer
        .post_form(
            &restore,
            &[("id", &id.to_string()), ("reason", "Là hội trường thật")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = organizer
        .post_form(&restore, &[("id", &id.to_string()), ("reason", "lần hai")])
        .await;
    assert!(res.body.contains("đã được khôi phục"), "{}", res.body);
    let (_, _, differences) = hoithi_web::voting::check_tallies(&env.db, Some(&slug))
        .await
        .unwrap();
    assert!(differences.is_empty(), "{differences:?}");
    let valid = count(
        &env,
        "select count(*) from vote where contest_id = $1 and valid",
        contest,
    )
    .await;
    assert_eq!(valid, 7);
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from vote_audit where contest_id = $1 order by vote_audit_id",
    )
    .bind(contest)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["invalidate", "invalidate", "invalidate", "restore"]
    );
    let page = organizer
        .get(&format!("/organize/contests/{slug}/voting"))
        .await;
    assert!(
        page.body.contains("Là hội trường thật"),
        "the audit trail shows the reason"
    );
    // An invalidation the votes still name is part of the record: it cannot be deleted,
    // even by someone who first removed its audit rows (which refer to it as well).
    let mut tx = env.db.begin().await.unwrap();
    sqlx::query("delete from vote_audit where vote_invalidation_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    let refused = sqlx::query("delete from vote_invalidation where vote_invalidation_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("votes refer to"), "{refused}");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn each_voter_sees_the_gallery_in_a_stable_order_of_their_own_while_voting() {
    let Voting { env, _stop, .. } = voting().await;
    let (_, slug, entries) = env.contest_in_voting(12).await;
    let order = |body: &str| -> Vec<usize> {
        let mut found: Vec<(usize, usize)> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| body.find(&format!("/entries/{e}")).map(|at| (at, i)))
            .collect();
        found.sort();
        found.into_iter().map(|(_, i)| i).collect()
    };
    let mut orders = Vec::new();
    for _ in 0..2 {
        let (_, _, email) = user_in(&env, Role::Member, None).await;
        let mut c = Client::new(env.state());
        c.login(&email, PASSWORD).await;
        let first = order(&c.get(&format!("/contests/{slug}")).await.body);
        let again = order(&c.get(&format!("/contests/{slug}")).await.body);
        assert_eq!(first.len(), 12);
        assert_eq!(first, again, "stable for one voter");
        assert_eq!(
            first,
            order(&c.get(&format!("/contests/{slug}/vote")).await.body)
        );
        orders.push(first);
    }
    assert_ne!(orders[0], orders[1], "two voters, two orders");
}

#[tokio::test]
async fn a_public_shortlist_limits_the_vote_and_a_live_window_keeps_the_roster() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (contest, _slug, entries) = env.contest_in_voting(3).await;
    let (voter, token) = env.user(Role::Member).await;

    // Without a shortlist every approved entry takes votes.
    assert_eq!(
        vote(&mut client, entries[2], &token).await.0,
        StatusCode::CREATED
    );

    // A shortlist round advanced entry 0 only; entry 1 was judged and not advanced.
    let round: i64 = sqlx::query_scalar(
        "insert into judging_round (contest_id, number, name, public_shortlist, opened_at)
         values ($1, 1, 'Vòng sơ khảo', true, now()) returning judging_round_id",
    )
    .bind(contest)
    .fetch_one(&env.db)
    .await
    .unwrap();
    for (entry, advanced) in [(entries[0], true), (entries[1], false)] {
        sqlx::query(
            "insert into round_entry (judging_round_id, entry_id, advanced) values ($1, $2, $3)",
        )
        .bind(round)
        .bind(entry)
        .bind(advanced)
        .execute(&env.db)
        .await
        .unwrap();
    }
    assert_eq!(
        vote(&mut client, entries[0], &token).await,
        (StatusCode::CREATED, String::new())
    );
    for refused in [entries[1], entries[2]] {
        assert_eq!(
            vote(&mut client, refused, &token).await,
            (StatusCode::CONFLICT, "not-shortlisted".to_owned())
        );
    }
    let stored: i64 = sqlx::query_scalar("select count(*) from vote where contest_id = $1")
        .bind(contest)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(stored, 2, "refused votes are not stored");

    // A live window opens the vote for the entry on stage after the contest's window closed,
    // but the roster still decides who may vote.
    organize(
        &env,
        contest,
        serde_json::json!({"voting_overlaps_submission": true,
            "phases": {"voting": {"closes_at": in_minutes(0)}},
            "vote_policy": {"per_day": 5, "roster": true}}),
    )
    .await;
    sqlx::query(
        "insert into contest_live (contest_id, stage_entry_id, window_open) values ($1, $2, true)",
    )
    .bind(contest)
    .bind(entries[0])
    .execute(&env.db)
    .await
    .unwrap();
    assert_eq!(
        vote(&mut client, entries[0], &token).await,
        (StatusCode::FORBIDDEN, "not-on-roster".to_owned())
    );
    let email: String =
        sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
            .bind(voter)
            .fetch_one(&env.db)
            .await
            .unwrap();
    sqlx::query("insert into vote_roster (contest_id, kind, value) values ($1, 'email', $2)")
        .bind(contest)
        .bind(&email)
        .execute(&env.db)
        .await
        .unwrap();
    assert_eq!(
        vote(&mut client, entries[0], &token).await.0,
        StatusCode::CREATED,
        "on the roster, the live window counts the vote"
    );
    assert_eq!(
        vote(&mut client, entries[1], &token).await,
        (StatusCode::CONFLICT, "voting-closed".to_owned()),
        "an entry not on stage stays closed"
    );
}

#[tokio::test]
async fn tallies_split_over_writers_add_up_and_votes_follow_deletions() {
    // Four writers, no lingering: parallel votes land in several batches at once, each
    // adding to its own tally shard.
    let Voting { env, client, _stop } = voting_with(&[
        ("HOITHI_VOTE_VOTER_RATE", "0"),
        ("HOITHI_VOTE_FLUSHES", "4"),
        ("HOITHI_VOTE_LINGER_MS", "0"),
    ])
    .await;
    let (contest, _, entries) = env.contest_in_voting(2).await;
    let mut voters = Vec::new();
    for _ in 0..40 {
        voters.push(env.user(Role::Member).await);
    }
    let mut tasks = Vec::new();
    for (i, (_, token)) in voters.iter().enumerate() {
        let (mut c, token, entry) = (client.clone(), token.clone(), entries[i % 2]);
        tasks.push(tokio::spawn(
            async move { vote(&mut c, entry, &token).await },
        ));
    }
    for t in tasks {
        let (status, code) = t.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{code}");
    }
    // One row per entry through the view, each the exact count, however many shards.
    let tallies: Vec<(Uuid, i64)> = sqlx::query_as(
        "select entry_id, votes from vote_tally where contest_id = $1 order by entry_id",
    )
    .bind(contest)
    .fetch_all(&env.db)
    .await
    .unwrap();
    let mut expected = entries.clone();
    expected.sort();
    assert_eq!(tallies, vec![(expected[0], 20), (expected[1], 20)]);
    let shards = count(
        &env,
        "select count(*) from vote_tally_shard where contest_id = $1",
        contest,
    )
    .await;
    assert!((2..=8).contains(&shards), "{shards} shard rows");
    let (_, votes, differences) = hoithi_web::voting::check_tallies(&env.db, None)
        .await
        .unwrap();
    assert_eq!((votes, differences.len()), (40, 0));

    // A voter's votes are evidence: the account cannot be deleted while they exist.
    let refused = sqlx::query("delete from app_user where app_user_id = $1")
        .bind(voters[0].0)
        .execute(&env.db)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("has voted"), "{refused}");
    // Deleting an entry deletes its votes (and its tally), the other entry's stay.
    sqlx::query("delete from entry where entry_id = $1")
        .bind(entries[0])
        .execute(&env.db)
        .await
        .unwrap();
    assert_eq!(
        count(
            &env,
            "select count(*) from vote where contest_id = $1",
            contest
        )
        .await,
        20
    );
    let left: Vec<(Uuid, i64)> =
        sqlx::query_as("select entry_id, votes from vote_tally where contest_id = $1")
            .bind(contest)
            .fetch_all(&env.db)
            .await
            .unwrap();
    assert_eq!(left, vec![(entries[1], 20)]);
}
