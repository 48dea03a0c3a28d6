#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Hostile tests of what an address or a member number grants (issue 15, items 4 and 7),
//! through the real router on a real database: a squatter who registers an invited judge's
//! address without verifying it gets no queue, no sheet and cannot accept the mailed link,
//! while the real judge accepts it and scores; a voter who claims a listed member's number
//! stays pending while the member with the roster's email votes at once; and the contest's
//! organizer settles a disputed number from the web.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;
use uuid::Uuid;

// ---------- judges ----------

struct Judging {
    env: TestEnv,
    org: Client,
    org_token: String,
    slug: String,
    contest_id: i64,
    entry: Uuid,
    criteria: Vec<i64>,
}

/// An organizer of hcm signed in, a contest of hcm with one approved entry (by a member of
/// hn), and round 1 set up and open.
async fn judging() -> Judging {
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
    let (author, _, _) = user_in(&env, Role::Member, Some("hn")).await;
    let entry = env.draft_entry(contest_id, author).await;
    set_status(&env, entry, "approved").await;
    let uri = format!("/organize/contests/{slug}/judging/setup");
    let res = org
        .post_form(
            &uri,
            &[
                ("round", "1"),
                ("name", "Vòng 1"),
                ("crit_name_0", "Nội dung"),
                ("crit_max_0", "10"),
                ("judges_weight", "100"),
                ("vote_scaling", "top_share"),
                ("judge_basis", "raw"),
                ("tie_0", "earlier"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // Judging opens once submission is closed, after its confirm step.
    let phase = format!("/organize/contests/{slug}/phase");
    let close = [
        ("phase", "submission"),
        ("action", "close"),
        ("confirm", "1"),
    ];
    let res = org.post_form(&phase, &close).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let uri = format!("/organize/contests/{slug}/judging/open");
    let res = org
        .post_form(&uri, &[("round", "1"), ("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let criteria = sqlx::query_scalar(
        "select c.judging_criterion_id from judging_criterion c join judging_round r using (judging_round_id)
         where r.contest_id = $1 order by c.position",
    )
    .bind(contest_id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    Judging {
        env,
        org,
        org_token,
        slug,
        contest_id,
        entry,
        criteria,
    }
}

impl Judging {
    /// Invites `email` through the API (all entries of the round).
    async fn invite(&mut self, email: &str) -> serde_json::Value {
        let uri = format!("/api/v1/contests/{}/judges", self.slug);
        let token = self.org_token.clone();
        let res = self
            .org
            .api("POST", &uri, Some(&token), Some(json!({"email": email})))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        res.json()
    }

    /// The organizer's "assign every judge every entry they may score".
    async fn assign_all(&mut self) {
        let uri = format!("/organize/contests/{}/judging/assign", self.slug);
        let res = self
            .org
            .post_form(&uri, &[("round", "1"), ("mode", "all")])
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }

    async fn bound_to(&self, email: &str) -> Option<i64> {
        sqlx::query_scalar(
            "select app_user_id from contest_judge where contest_id = $1 and email = $2",
        )
        .bind(self.contest_id)
        .bind(email)
        .fetch_one(&self.env.db)
        .await
        .unwrap()
    }

    async fn scores_written(&self) -> i64 {
        sqlx::query_scalar("select count(*) from judge_score_audit")
            .fetch_one(&self.env.db)
            .await
            .unwrap()
    }
}

/// The path of the invitation link in the latest judge-invite mail to `email`.
async fn invite_link(env: &TestEnv, email: &str, slug: &str) -> String {
    let mails = outbox(env, email).await;
    let (kind, _, body) = mails
        .iter()
        .rev()
        .find(|m| m.0 == "judge-invite")
        .expect("an invitation was mailed");
    assert_eq!(kind, "judge-invite");
    let prefix = format!("https://hoithi.example.vn/judging/{slug}/invite/");
    let at = body
        .find(&prefix)
        .expect("the mail has the invitation link");
    let token: String = body[at + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 40, "a long random token: {body}");
    format!("/judging/{slug}/invite/{token}")
}

/// Registers through the form (the address is not verified): a signed-in client.
async fn register(env: &TestEnv, email: &str) -> Client {
    let mut c = Client::new(state_with_public_url(
        env,
        Some("https://hoithi.example.vn"),
    ));
    let res = c
        .post_form(
            "/register",
            &[
                ("email", email),
                ("name", "Người Đăng Ký"),
                ("password", PASSWORD),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    c
}

async fn api_token(c: &mut Client, email: &str) -> String {
    let res = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_squatter_who_registers_an_invited_judges_address_unverified_gets_no_queue_no_sheet_and_cannot_accept()
 {
    let mut fx = judging().await;
    let judge_email = format!("giam-khao-{}@example.vn", Uuid::new_v4().simple());
    let out = fx.invite(&judge_email).await;
    assert_eq!(out["accepted"], false);
    assert_eq!(out["assigned"], 0);
    let link = invite_link(&fx.env, &judge_email, &fx.slug).await;

    // The attacker registers the invited address and never verifies it.
    let mut squatter = register(&fx.env, &judge_email).await;
    let squatter_token = api_token(&mut squatter, &judge_email).await;
    fx.assign_all().await;
    let assigned: i64 = sqlx::query_scalar(
        "select count(*) from judge_assignment a join app_user u on u.app_user_id = a.judge_id
         where u.email = $1",
    )
    .bind(&judge_email)
    .fetch_one(&fx.env.db)
    .await
    .unwrap();
    assert_eq!(assigned, 0, "nothing is assigned to an unproven address");
    // Even an assignment left over from before (the hole as it was) does not act.
    let squatter_id: i64 = sqlx::query_scalar("select app_user_id from app_user where email = $1")
        .bind(&judge_email)
        .fetch_one(&fx.env.db)
        .await
        .unwrap();
    sqlx::query(
        "insert into judge_assignment (judging_round_id, entry_id, judge_id)
         select judging_round_id, $2, $3 from judging_round where contest_id = $1",
    )
    .bind(fx.contest_id)
    .bind(fx.entry)
    .bind(squatter_id)
    .execute(&fx.env.db)
    .await
    .unwrap();

    let queue = format!("/api/v1/contests/{}/judging/queue", fx.slug);
    let res = squatter
        .api("GET", &queue, Some(&squatter_token), None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    let scores = format!("/api/v1/entries/{}/scores", fx.entry);
    let res = squatter
        .api("GET", &scores, Some(&squatter_token), None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    let body = json!({"scores": {fx.criteria[0].to_string(): 10}, "submit": true});
    let res = squatter
        .api("PUT", &scores, Some(&squatter_token), Some(body))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "not-found");
    for page in [
        format!("/judging/{}", fx.slug),
        format!("/judging/{}/entries/{}", fx.slug, fx.entry),
    ] {
        assert_eq!(
            squatter.get(&page).await.status,
            StatusCode::NOT_FOUND,
            "{page}"
        );
    }
    let mine = squatter.get("/judging").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(!mine.body.contains(&fx.slug), "{}", mine.body);
    assert_eq!(fx.scores_written().await, 0, "nothing was written");

    // The mailed link (leaked or guessed) does not help: unverified, it is refused.
    let res = squatter.get(&link).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("xác nhận địa chỉ email"), "{}", res.body);
    let res = squatter.post_form(&link, &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(fx.bound_to(&judge_email).await, None);

    // Nor for another signed-in, verified account.
    let (_, _, other_email) = user_in(&fx.env, Role::Member, Some("hn")).await;
    let mut other = Client::new(fx.env.state());
    other.login(&other_email, PASSWORD).await;
    let res = other.get(&link).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("địa chỉ email khác"), "{}", res.body);
    let res = other.post_form(&link, &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(fx.bound_to(&judge_email).await, None);
    let other_token = api_token(&mut other, &other_email).await;
    let res = other.api("GET", &queue, Some(&other_token), None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // The organizer's page shows the invitation as not accepted, without the squatter's name.
    let page = fx
        .org
        .get(&format!("/organize/contests/{}/judging", fx.slug))
        .await;
    assert!(page.body.contains("chưa nhận lời mời"), "{}", page.body);
    assert!(!page.body.contains("Người Đăng Ký"), "{}", page.body);
}

#[tokio::test]
async fn the_real_judge_accepts_the_mailed_link_once_verified_and_scores() {
    let mut fx = judging().await;
    let judge_email = format!("giam-khao-{}@example.vn", Uuid::new_v4().simple());
    fx.invite(&judge_email).await;
    let first = invite_link(&fx.env, &judge_email, &fx.slug).await;
    // Inviting again (say, the mail was lost) sends a new link; the old one dies.
    fx.invite(&judge_email).await;
    let link = invite_link(&fx.env, &judge_email, &fx.slug).await;
    assert_ne!(first, link);
    let mut judge = Client::new(fx.env.state());
    assert_eq!(judge.get(&first).await.status, StatusCode::GONE);

    // Signed out, the link asks to sign in (and comes back here after).
    let res = judge.get(&link).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.body.contains(&format!("/login?next={}", enc(&link))),
        "{}",
        res.body
    );
    // The judge registers with the invited address and verifies it by the mailed link.
    let mut judge = register(&fx.env, &judge_email).await;
    let mails = outbox(&fx.env, &judge_email).await;
    let verify = mails
        .iter()
        .find(|m| m.0 == "verify-email")
        .expect("a verification mail");
    let at = verify.2.find("/verify-email/").unwrap();
    let path: String = verify.2[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert_eq!(judge.get(&path).await.status, StatusCode::OK);
    let res = judge.get(&link).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("accept-invite"), "{}", res.body);
    let res = judge.post_form(&link, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), format!("/judging/{}", fx.slug));
    assert!(fx.bound_to(&judge_email).await.is_some());
    // Single use.
    assert_eq!(judge.get(&link).await.status, StatusCode::GONE);

    fx.assign_all().await;
    let token = api_token(&mut judge, &judge_email).await;
    let queue = format!("/api/v1/contests/{}/judging/queue", fx.slug);
    let res = judge.api("GET", &queue, Some(&token), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["remaining"], 1);
    let scores = format!("/api/v1/entries/{}/scores", fx.entry);
    let body = json!({"scores": {fx.criteria[0].to_string(): 8}, "submit": true});
    let res = judge.api("PUT", &scores, Some(&token), Some(body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["submitted"], true);
    let mine = judge.get("/judging").await;
    assert!(mine.body.contains(&fx.slug), "{}", mine.body);

    // A judge whose address is already verified is a judge at once (as before), with a mail
    // that links to the queue rather than a token.
    let (_, known_token, known_email) = user_in(&fx.env, Role::Member, Some("hn")).await;
    let out = fx.invite(&known_email).await;
    assert_eq!(out["accepted"], true);
    let mails = outbox(&fx.env, &known_email).await;
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].2.contains("/invite/"), "{}", mails[0].2);
    let res = judge.api("GET", &queue, Some(&known_token), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    // An expired link is refused.
    let late_email = format!("tre-{}@example.vn", Uuid::new_v4().simple());
    fx.invite(&late_email).await;
    let late = invite_link(&fx.env, &late_email, &fx.slug).await;
    sqlx::query(
        "update contest_judge set invite_expires_at = now() - interval '1 minute' where email = $1",
    )
    .bind(&late_email)
    .execute(&fx.env.db)
    .await
    .unwrap();
    assert_eq!(judge.get(&late).await.status, StatusCode::GONE);
}

// ---------- member numbers ----------

async fn vote(c: &mut Client, entry: Uuid, token: &str) -> (StatusCode, String) {
    let res = c
        .api(
            "POST",
            &format!("/api/v1/entries/{entry}/votes"),
            Some(token),
            None,
        )
        .await;
    let code = serde_json::from_str::<serde_json::Value>(&res.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (res.status, code)
}

async fn roster(c: &mut Client, slug: &str, admin: &str, csv: String) {
    let req = axum::http::Request::put(format!("/api/v1/contests/{slug}/roster"))
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from(csv))
        .unwrap();
    let res = c.send(req).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let uri = format!("/api/v1/contests/{slug}/vote-policy");
    let res = c
        .api("PUT", &uri, Some(admin), Some(json!({"roster": true})))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

/// Claims a number through the API and answers (status, body).
async fn claim(
    c: &mut Client,
    token: &str,
    number: &str,
    slug: &str,
) -> (StatusCode, serde_json::Value) {
    let body = json!({"member_number": number, "contest": slug});
    let res = c
        .api("PUT", "/api/v1/me/member-number", Some(token), Some(body))
        .await;
    (res.status, res.json())
}

async fn on_roster(env: &TestEnv, contest: i64, user: i64) -> bool {
    sqlx::query_scalar("select voter_on_roster($1, $2)")
        .bind(contest)
        .bind(user)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_squatter_claiming_a_listed_members_number_stays_pending_while_the_member_with_the_roster_email_votes()
 {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (contest, slug, entries) = env.contest_in_voting(1).await;
    let (_, admin) = env.user(Role::Admin).await;
    let (_, member_token, member_email) = user_in(&env, Role::Member, None).await;
    let (_, squatter_token, squatter_email) = user_in(&env, Role::Member, None).await;
    let (unverified, _, unverified_email) = user_in(&env, Role::Member, None).await;
    sqlx::query("update app_user set email_verified_at = null where app_user_id = $1")
        .bind(unverified)
        .execute(&env.db)
        .await
        .unwrap();
    roster(
        &mut client,
        &slug,
        &admin,
        format!(
            "member_number,email\nDV-0001,{member_email}\nDV-0002\nDV-0003,{unverified_email}\n{unverified_email}\n"
        ),
    )
    .await;

    // The squatter claims the member's number first: accepted as a claim, never as a vote.
    let (status, body) = claim(&mut client, &squatter_token, "DV-0001", &slug).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(
        vote(&mut client, entries[0], &squatter_token).await,
        (StatusCode::FORBIDDEN, "not-on-roster".into())
    );
    // A number listed without an email passes nobody on a bare claim.
    let (_, rival_token, _) = user_in(&env, Role::Member, None).await;
    let (_, body) = claim(&mut client, &rival_token, "DV-0002", &slug).await;
    assert_eq!(body["status"], "pending");
    assert_eq!(
        vote(&mut client, entries[0], &rival_token).await,
        (StatusCode::FORBIDDEN, "not-on-roster".into())
    );
    // The page says so in Vietnamese instead of sending the squatter back to vote.
    let mut page = Client::new(env.state());
    page.login(&squatter_email, PASSWORD).await;
    let next = format!("/contests/{slug}/vote");
    let res = page
        .post_form(
            "/vote/member-number",
            &[("member_number", "DV-0001"), ("next", &next)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("member-notice"), "{}", res.body);

    // The real member is not locked out: the same number, their roster email, confirmed.
    let (status, body) = claim(&mut client, &member_token, "dv-0001", &slug).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "confirmed");
    assert_eq!(
        vote(&mut client, entries[0], &member_token).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        vote(&mut client, entries[0], &squatter_token).await,
        (StatusCode::FORBIDDEN, "not-on-roster".into())
    );

    // An unverified account holding a roster email (as an email line or a number's email)
    // does not pass the roster, whatever the handler in front of it checks.
    assert!(!on_roster(&env, contest, unverified).await);
    sqlx::query("update app_user set member_number = 'DV-0003' where app_user_id = $1")
        .bind(unverified)
        .execute(&env.db)
        .await
        .unwrap();
    assert!(!on_roster(&env, contest, unverified).await);
    sqlx::query("update app_user set email_verified_at = now() where app_user_id = $1")
        .bind(unverified)
        .execute(&env.db)
        .await
        .unwrap();
    assert!(on_roster(&env, contest, unverified).await, "once verified");
}

#[tokio::test]
async fn the_organizer_settles_a_disputed_member_number_from_the_claims_page() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting().await;
    let (contest, slug, entries) = env.contest_in_voting(1).await;
    let (_, admin) = env.user(Role::Admin).await;
    roster(&mut client, &slug, &admin, "ma_doan_vien\nDV-0005\n".into()).await;
    let (squatter, squatter_token, squatter_email) = user_in(&env, Role::Member, None).await;
    let (member, member_token, member_email) = user_in(&env, Role::Member, None).await;
    for token in [&squatter_token, &member_token] {
        let (_, body) = claim(&mut client, token, "DV-0005", &slug).await;
        assert_eq!(body["status"], "pending");
        assert_eq!(
            vote(&mut client, entries[0], token).await,
            (StatusCode::FORBIDDEN, "not-on-roster".into())
        );
    }

    // Someone who does not organize the contest sees nothing and decides nothing.
    let (_, _, outsider_email) = user_in(&env, Role::Organizer, None).await;
    let mut outsider = Client::new(env.state());
    outsider.login(&outsider_email, PASSWORD).await;
    let uri = format!("/organize/contests/{slug}/voting/members");
    assert_ne!(outsider.get(&uri).await.status, StatusCode::OK);
    let squatter_id = squatter.to_string();
    let res = outsider
        .post_form(
            &uri,
            &[
                ("action", "confirm"),
                ("member_number", "DV-0005"),
                ("user", &squatter_id),
            ],
        )
        .await;
    assert!(res.status.is_client_error(), "{}", res.status);
    assert!(!on_roster(&env, contest, squatter).await);

    let (_, _, organizer_email) = user_in(&env, Role::Admin, None).await;
    let mut org = Client::new(env.state());
    org.login(&organizer_email, PASSWORD).await;
    let voting_page = org.get(&format!("/organize/contests/{slug}/voting")).await;
    assert!(voting_page.body.contains(&uri), "{}", voting_page.body);
    let page = org.get(&uri).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("tranh chấp"), "{}", page.body);
    assert!(page.body.contains(&squatter_email), "{}", page.body);
    assert!(page.body.contains(&member_email), "{}", page.body);

    // Confirm the real member: they vote, the squatter does not.
    let member_id = member.to_string();
    let res = org
        .post_form(
            &uri,
            &[
                ("action", "confirm"),
                ("member_number", "dv-0005"),
                ("user", &member_id),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        vote(&mut client, entries[0], &member_token).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        vote(&mut client, entries[0], &squatter_token).await,
        (StatusCode::FORBIDDEN, "not-on-roster".into())
    );
    // Clear the squatter: their claim is refused in this contest.
    let res = org
        .post_form(
            &uri,
            &[
                ("action", "clear"),
                ("member_number", "DV-0005"),
                ("user", &squatter_id),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let (_, body) = claim(&mut client, &squatter_token, "DV-0005", &slug).await;
    assert_eq!(body["status"], "refused");

    // Reassign: never to an account that has not verified its address.
    let (unverified, _, unverified_email) = user_in(&env, Role::Member, None).await;
    sqlx::query("update app_user set email_verified_at = null where app_user_id = $1")
        .bind(unverified)
        .execute(&env.db)
        .await
        .unwrap();
    let res = org
        .post_form(
            &uri,
            &[
                ("action", "reassign"),
                ("member_number", "DV-0005"),
                ("email", &unverified_email),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("chưa xác nhận email"), "{}", res.body);
    // To a verified account without a number: it gets the number and the vote, and the one
    // confirmed before no longer passes (one member, one vote).
    let (third, third_token, third_email) = user_in(&env, Role::Member, None).await;
    let res = org
        .post_form(
            &uri,
            &[
                ("action", "reassign"),
                ("member_number", "DV-0005"),
                ("email", &third_email),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(on_roster(&env, contest, third).await);
    assert!(!on_roster(&env, contest, member).await);
    let (_, body) = claim(&mut client, &member_token, "DV-0005", &slug).await;
    assert_eq!(body["status"], "refused");
    assert_eq!(
        vote(&mut client, entries[0], &third_token).await.0,
        StatusCode::CREATED
    );
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from vote_audit where contest_id = $1 and action = 'member-number'",
    )
    .bind(contest)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(audited, 3);

    // The page in English too.
    org.cookies.insert("lang".into(), "en".into());
    let page = org.get(&uri).await;
    assert!(
        page.body
            .contains("Member numbers waiting for confirmation"),
        "{}",
        page.body
    );
}
