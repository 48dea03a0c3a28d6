#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A category's own rules (issue 20: "each with its own kinds, limits, rubric, judges, vote
//! policy and results"): the batched vote ingest applies a category's `per_category` and
//! `per_day` exactly, also when votes arrive at the same instant on two writers, while the
//! other categories keep the contest's policy; results combine each category with its own
//! weights; "Chuyển vòng" moves the top N of each category; a photo series holds at most
//! its category's own number of photos, else the contest's.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use hoithi_web::domain::voting::repo::{NewVote, Outcome, insert_votes};
use serde_json::json;
use support::fixtures::*;
use support::*;
use uuid::Uuid;

/// A photo contest in voting (submission open too) with two categories: `han-che` with
/// `han_che_policy` as its own vote policy, and `tu-do` on the contest's policy.
fn contest_json(slug: &str, han_che_policy: serde_json::Value) -> serde_json::Value {
    json!({
        "slug": slug,
        "title": "Bình chọn theo hạng mục",
        "unit": "q1",
        "kinds": ["photo"],
        "voting_overlaps_submission": true,
        "phases": {
            "submission": {"opens_at": in_minutes(-60), "closes_at": in_minutes(60 * 24 * 5)},
            "voting": {"opens_at": in_minutes(-30), "closes_at": in_minutes(60 * 24 * 6)}
        },
        "categories": [
            {"slug": "han-che", "name": "Bảng A: THPT", "kinds": ["photo"],
             "vote_policy": han_che_policy},
            {"slug": "tu-do", "name": "Bảng B: 18–30", "kinds": ["photo"]}
        ]
    })
}

/// The contest with `n` approved entries in each category: (id, han-che's, tu-do's).
async fn contest_with_entries(
    env: &TestEnv,
    c: &mut Client,
    slug: &str,
    policy: serde_json::Value,
    n: usize,
) -> (i64, Vec<Uuid>, Vec<Uuid>) {
    units(env).await;
    let (_, org, _) = user_in(env, Role::Organizer, Some("q1")).await;
    let (author, _, _) = user_in(env, Role::Member, Some("q1")).await;
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(contest_json(slug, policy)),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = contest_id(env, slug).await;
    let mut a = Vec::new();
    let mut b = Vec::new();
    for i in 0..n {
        a.push(approved(env, id, author, "han-che", &format!("A{i}")).await);
        b.push(approved(env, id, author, "tu-do", &format!("B{i}")).await);
    }
    (id, a, b)
}

async fn votes_of(env: &TestEnv, voter: i64, entries: &[Uuid]) -> i64 {
    sqlx::query_scalar("select count(*) from vote where voter_id = $1 and entry_id = any($2)")
        .bind(voter)
        .bind(entries)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_voter_at_a_category_limit_is_refused_there_while_the_other_category_still_counts() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting_with(&[("HOITHI_VOTE_VOTER_RATE", "0")]).await;
    let (_, a, b) = contest_with_entries(
        &env,
        &mut client,
        "gioi-han",
        json!({"per_category": 2, "per_day": 2}),
        3,
    )
    .await;
    let (voter, token, _) = user_in(&env, Role::Member, Some("q1")).await;

    // The category's per_day (2) replaces the contest's (1) for its entries...
    assert_eq!(vote(&mut client, a[0], &token).await.0, StatusCode::CREATED);
    assert_eq!(vote(&mut client, a[0], &token).await.0, StatusCode::CREATED);
    // ...and its per_category (2) is now used up, on its other entries too (a third vote on
    // a[0] is over the day's 2 as well).
    for e in [a[1], a[2]] {
        assert_eq!(
            vote(&mut client, e, &token).await,
            (StatusCode::CONFLICT, "category-limit-reached".into())
        );
    }
    assert_eq!(
        vote(&mut client, a[0], &token).await.0,
        StatusCode::CONFLICT
    );
    // The other category keeps the contest's policy: one vote per entry a day, no cap.
    for e in &b {
        assert_eq!(vote(&mut client, *e, &token).await.0, StatusCode::CREATED);
    }
    assert_eq!(
        vote(&mut client, b[0], &token).await,
        (StatusCode::CONFLICT, "already-voted".into())
    );
    assert_eq!(votes_of(&env, voter, &a).await, 2);
    assert_eq!(votes_of(&env, voter, &b).await, 3);
    // Another voter has the category's whole allowance.
    let (_, other, _) = user_in(&env, Role::Member, Some("q1")).await;
    assert_eq!(vote(&mut client, a[2], &other).await.0, StatusCode::CREATED);

    // The vote page says it in Vietnamese.
    let page = client.get("/contests/gioi-han/vote").await;
    assert!(
        page.body
            .contains("Bạn đã dùng hết số phiếu của hạng mục này."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn votes_at_the_same_instant_at_a_category_limit_count_exactly_up_to_it() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting_with(&[("HOITHI_VOTE_VOTER_RATE", "0")]).await;
    let (contest, a, b) =
        contest_with_entries(&env, &mut client, "cung-luc", json!({"per_category": 1}), 4).await;

    // Two writers (two nodes' batchers: separate statements on separate connections and
    // tally shards) each take a vote of the same voter in the same category at once.
    for round in 0..6 {
        let (voter, _, _) = user_in(&env, Role::Member, Some("q1")).await;
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for (shard, entry) in [(1_i16, a[round % 4]), (2, a[(round + 1) % 4])] {
            let (db, barrier) = (env.db.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                let one = NewVote {
                    entry_id: entry,
                    voter_id: voter,
                    ip: None,
                    ip_network: None,
                    user_agent_hash: None,
                };
                barrier.wait().await;
                insert_votes(&db, &[one], shard).await.unwrap()
            }));
        }
        let mut counted = 0;
        for t in tasks {
            let outcome = t.await.unwrap();
            if outcome
                == [Outcome::Counted {
                    contest_id: contest,
                }]
            {
                counted += 1;
            }
        }
        assert_eq!(counted, 1, "round {round}");
        assert_eq!(votes_of(&env, voter, &a).await, 1, "round {round}");
    }

    // Ten votes of one voter in one burst through the API (one batch or several): one
    // counts in the limited category, the rest are refused; the free category takes all four.
    let (voter, token, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (mut c, token) = (client.clone(), token.clone());
        let entry = a[i % 4];
        tasks.push(tokio::spawn(
            async move { vote(&mut c, entry, &token).await },
        ));
    }
    let mut outcomes: Vec<(StatusCode, String)> = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    let created = outcomes
        .iter()
        .filter(|o| o.0 == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| o.0 == StatusCode::CREATED
            || (o.0 == StatusCode::CONFLICT
                && (o.1 == "category-limit-reached" || o.1 == "already-voted"))),
        "{outcomes:?}"
    );
    for e in &b {
        assert_eq!(vote(&mut client, *e, &token).await.0, StatusCode::CREATED);
    }
    assert_eq!(votes_of(&env, voter, &a).await, 1);
    assert_eq!(votes_of(&env, voter, &b).await, 4);
    // The tallies agree with the votes.
    let (_, _, differences) = hoithi_web::voting::check_tallies(&env.db, Some("cung-luc"))
        .await
        .unwrap();
    assert!(differences.is_empty(), "{differences:?}");
}

#[tokio::test]
async fn a_category_vote_policy_or_weights_out_of_bounds_is_refused_with_a_code() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let mut c = Client::new(env.state());
    for (field, value, code) in [
        (
            "vote_policy",
            json!({"per_category": 0}),
            "invalid-category-vote-policy",
        ),
        (
            "vote_policy",
            json!({"per_contest": 3}),
            "invalid-category-vote-policy",
        ),
        (
            "vote_policy",
            json!({"per_day": "2"}),
            "invalid-category-vote-policy",
        ),
        (
            "weights",
            json!({"judges": 0, "public": 0}),
            "invalid-category-weights",
        ),
        (
            "weights",
            json!({"judges": -1, "public": 2}),
            "invalid-category-weights",
        ),
    ] {
        let mut body = contest_json("sai", json!({}));
        body["categories"][1][field] = value.clone();
        let res = c
            .api("POST", "/api/v1/contests", Some(&org), Some(body))
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{value}: {}",
            res.body
        );
        assert!(res.body.contains(code), "{value}: {}", res.body);
    }
}

#[tokio::test]
async fn results_combine_each_category_with_its_own_weights() {
    let Voting {
        env,
        mut client,
        _stop,
    } = voting_with(&[("HOITHI_VOTE_VOTER_RATE", "0")]).await;
    units(&env).await;
    let Cast {
        org_token,
        mut org,
        author,
        judge_token,
        judge_email,
    } = judging_cast(&env).await;
    // Bảng A is decided by the public alone; Bảng B by the round's formula (judges 100 %).
    let mut body = contest_json("trong-so", json!({}));
    body["categories"][0]["weights"] = json!({"judges": 0, "public": 1});
    let res = client
        .api("POST", "/api/v1/contests", Some(&org_token), Some(body))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = contest_id(&env, "trong-so").await;
    let a1 = approved(&env, id, author, "han-che", "Ảnh A1").await;
    let a2 = approved(&env, id, author, "han-che", "Ảnh A2").await;
    let b1 = approved(&env, id, author, "tu-do", "Ảnh B1").await;
    let b2 = approved(&env, id, author, "tu-do", "Ảnh B2").await;
    close_submission_now(&env, id).await;
    open_first_round(&mut org, "trong-so", "100").await;
    add_judge(&mut client, &org_token, "trong-so", &judge_email).await;
    let crit = first_criterion(&env, id).await;
    // The judges prefer the first of each category; the public the second.
    for (entry, s) in [(a1, 9.0), (a2, 5.0), (b1, 9.0), (b2, 5.0)] {
        let res = score(
            &mut client,
            &judge_token,
            entry,
            json!({crit.to_string(): s}),
        )
        .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    for _ in 0..2 {
        let (_, voter, _) = user_in(&env, Role::Member, Some("q1")).await;
        for e in [a2, b2] {
            assert_eq!(vote(&mut client, e, &voter).await.0, StatusCode::CREATED);
        }
    }

    let v = publish_results(&mut client, &org_token, "trong-so", true).await;
    assert_ranks(
        &v,
        &[
            ("han-che", "Ảnh A2", 1),
            ("han-che", "Ảnh A1", 2),
            ("tu-do", "Ảnh B1", 1),
            ("tu-do", "Ảnh B2", 2),
        ],
    );
    // Votes alone in Bảng A: the entry with every vote has the whole combined score.
    let combined = |title: &str| {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["title"] == title)
            .unwrap()["combined"]
            .as_f64()
            .unwrap()
    };
    assert!(combined("Ảnh A1").abs() < 1e-9, "{v:#}");
    assert!(combined("Ảnh A2") > 0.0, "{v:#}");
    assert_eq!(v["categories"][0]["judges_weight"], 0, "{v:#}");
    assert_eq!(v["categories"][0]["public_weight"], 100, "{v:#}");
    assert!(v["categories"][1].get("judges_weight").is_none(), "{v:#}");
    assert_eq!(v["formula"]["judges_weight"], 100, "{v:#}");
}

#[tokio::test]
async fn moving_to_the_next_round_takes_the_top_n_of_each_category() {
    let env = TestEnv::new().await;
    units(&env).await;
    let Cast {
        org_token,
        mut org,
        author,
        judge_token,
        judge_email,
    } = judging_cast(&env).await;
    let mut c = Client::new(env.state());
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org_token),
            Some(contest_json("chuyen-vong", json!({}))),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = contest_id(&env, "chuyen-vong").await;
    // Bảng A scores higher overall than Bảng B: top 2 across both would be Bảng A's alone.
    let mut scored = Vec::new();
    for (k, title, s) in [
        ("han-che", "A1", 10.0),
        ("han-che", "A2", 9.0),
        ("han-che", "A3", 8.0),
        ("tu-do", "B1", 6.0),
        ("tu-do", "B2", 5.0),
        ("tu-do", "B3", 4.0),
    ] {
        scored.push((approved(&env, id, author, k, title).await, s));
    }
    close_submission_now(&env, id).await;
    open_first_round(&mut org, "chuyen-vong", "100").await;
    add_judge(&mut c, &org_token, "chuyen-vong", &judge_email).await;
    let crit = first_criterion(&env, id).await;
    for (entry, s) in &scored {
        let res = score(&mut c, &judge_token, *entry, json!({crit.to_string(): s})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    // The form says the N is per category.
    let page = org
        .get("/organize/contests/chuyen-vong/results?round=1")
        .await;
    assert!(
        page.body.contains("Lấy N bài đứng đầu (của mỗi hạng mục)"),
        "{}",
        page.body
    );
    let res = org
        .post_form(
            "/organize/contests/chuyen-vong/results/advance",
            &[("round", "1"), ("top", "2")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let moved: Vec<String> = sqlx::query_scalar(
        "select e.title from round_entry re join judging_round r using (judging_round_id)
         join entry e using (entry_id) where r.contest_id = $1 and r.number = 2 order by e.title",
    )
    .bind(id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(moved, ["A1", "A2", "B1", "B2"]);
    let marked: Vec<String> = sqlx::query_scalar(
        "select e.title from round_entry re join judging_round r using (judging_round_id)
         join entry e using (entry_id) where r.contest_id = $1 and r.number = 1 and re.advanced
         order by e.title",
    )
    .bind(id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(marked, moved);
}

#[tokio::test]
async fn a_series_holds_its_category_number_of_photos_else_the_contest_number() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, _) = user_in(&env, Role::Organizer, Some("q1")).await;
    let (_, member, member_email) = user_in(&env, Role::Member, Some("q1")).await;
    let mut c = site(env.state());
    let mut pages = Client::new(env.state());
    assert_eq!(
        pages.login(&member_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let mut body = contest_json("bo-anh", json!({}));
    body["limits"] = json!({"max_series_photos": 3, "max_entries_per_member": 5});
    body["categories"] = json!([
        {"slug": "bo-hai", "name": "Bộ hai ảnh", "kinds": ["photo"],
         "limits": {"max_series_photos": 2}},
        {"slug": "theo-hoi-thi", "name": "Theo hội thi", "kinds": ["photo"]},
        {"slug": "anh-don", "name": "Ảnh đơn", "kinds": ["photo"],
         "limits": {"max_series_photos": 1}}
    ]);
    let mut bad = body.clone();
    bad["slug"] = json!("bo-anh-sai");
    bad["categories"][0]["limits"]["max_series_photos"] = json!(11);
    let res = c
        .api("POST", "/api/v1/contests", Some(&org), Some(bad))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("invalid-category"), "{}", res.body);
    let res = c
        .api("POST", "/api/v1/contests", Some(&org), Some(body))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);

    // A category whose own limit is 1 takes no series, whatever the contest's.
    let res = new_entry_with(
        &mut c,
        &member,
        "bo-anh",
        json!({"series": true, "category": "anh-don"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "series-not-allowed");

    for (category, max) in [("bo-hai", 2u8), ("theo-hoi-thi", 3)] {
        let res = new_entry_with(
            &mut c,
            &member,
            "bo-anh",
            json!({"series": true, "category": category}),
        )
        .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let entry = res.json()["id"].as_str().unwrap().to_owned();
        for fill in 1..=max {
            let res = upload_photo(&mut c, &member, &entry, fill).await;
            assert_eq!(res.status, StatusCode::CREATED, "{category}: {}", res.body);
        }
        let res = upload_photo(&mut c, &member, &entry, max + 1).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{category}: {}", res.body);
        assert_eq!(res.json()["error"]["code"], "series-full", "{category}");
        let stored: i64 =
            sqlx::query_scalar("select count(*) from media_asset where entry_id = $1::uuid")
                .bind(&entry)
                .fetch_one(&env.db)
                .await
                .unwrap();
        assert_eq!(stored, i64::from(max), "{category}");
        // The upload page counts against the same limit, in Vietnamese.
        let page = pages.get(&format!("/entries/{entry}/upload")).await;
        assert!(
            page.body.contains(&format!("Đã tải {max}/{max} ảnh"))
                && page.body.contains(&format!("Bộ ảnh đã đủ {max} ảnh.")),
            "{category}: {}",
            page.body
        );
    }
}
