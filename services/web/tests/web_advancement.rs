#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Levels that feed each other (issue 20): commune contests ("Vòng cấp xã/trường") linked to a
//! provincial one ("Vòng cấp tỉnh") nominate their top N of each category when their results
//! are published; the nominated entries show the same media, go through the province's
//! moderation and judging, and rank within its categories. Plus the refusals around the link.

mod support;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::{Value, json};
use support::fixtures::*;
use support::*;
use uuid::Uuid;

/// A province `tinh` with communes `xa-a` and `xa-b`, and another province `khac`.
async fn tree(env: &TestEnv) {
    let rows = hoithi_web::units::parse_csv(
        "tinh,Tỉnh Đoàn Thử,\nxa-a,Đoàn xã A,tinh\nxa-b,Đoàn xã B,tinh\nkhac,Tỉnh Đoàn Khác,",
    )
    .unwrap();
    let mut conn = env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &rows).await.unwrap();
}

/// A contest of `unit` open for entries, with `categories` as (slug, name, kind).
fn contest_json(
    slug: &str,
    unit: &str,
    categories: &[(&str, &str, &str)],
    moderated: bool,
) -> Value {
    let now = chrono::Utc::now();
    json!({
        "slug": slug,
        "title": format!("Hội thi {slug}"),
        "unit": unit,
        "kinds": ["photo", "video"],
        "requires_moderation": moderated,
        "phases": {
            "submission": {"opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                           "closes_at": (now + chrono::Duration::days(5)).to_rfc3339()}
        },
        "categories": categories.iter().map(|(s, n, k)| json!({"slug": s, "name": n, "kinds": [k]})).collect::<Vec<_>>(),
    })
}

const PARENT_CATEGORIES: [(&str, &str, &str); 2] = [
    ("anh-dep", "Ảnh đẹp quê hương", "photo"),
    ("video-clip", "Video clip tuyên truyền", "video"),
];

async fn create(c: &mut Client, token: &str, body: Value) -> i64 {
    let res = c
        .api("POST", "/api/v1/contests", Some(token), Some(body))
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.json()["id"].as_i64().unwrap()
}

/// An approved entry of `author` in `category` of `contest` with one ready media asset (a
/// rendition stored in the object store): the fixture the worker would have left.
async fn entry_with_media(
    env: &TestEnv,
    contest: i64,
    author: i64,
    category: &str,
    kind: &str,
    title: &str,
) -> (Uuid, Uuid) {
    let id = approved(env, contest, author, category, title).await;
    let asset = Uuid::new_v4();
    sqlx::query(
        "insert into media_asset (media_asset_id, entry_id, kind, status, progress, original_key,
            original_bytes, original_sha256, content_type, width, height, renditions)
         values ($1, $2, $3::media_kind, 'ready', 100, $4, 10, repeat('a', 64), 'image/jpeg', 800, 600, $5)",
    )
    .bind(asset)
    .bind(id)
    .bind(kind)
    .bind(hoithi_core::media::original_key(asset))
    .bind(json!({"poster": format!("media/{asset}/poster.jpg"),
                 "images": [{"width": 400, "jpeg": {"key": format!("media/{asset}/photo-400.jpg")}}]}))
    .execute(&env.db)
    .await
    .unwrap();
    for name in ["photo-400.jpg", "poster.jpg"] {
        env.storage
            .client
            .put_object()
            .bucket(&env.storage.bucket)
            .key(format!("media/{asset}/{name}"))
            .body(format!("bytes of {title}").into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    (id, asset)
}

/// How many media rows, upload rows and stored objects there are.
async fn files(env: &TestEnv) -> (i64, i64, usize) {
    let assets: i64 = sqlx::query_scalar("select count(*) from media_asset")
        .fetch_one(&env.db)
        .await
        .unwrap();
    let uploads: i64 = sqlx::query_scalar("select count(*) from upload")
        .fetch_one(&env.db)
        .await
        .unwrap();
    let objects = hoithi_web::domain::privacy::erase::list(&env.storage, "")
        .await
        .unwrap()
        .len();
    (assets, uploads, objects)
}

/// Sets up and opens round 1 of `slug` on the organizer's pages (one criterion out of 10,
/// judges only), invites `judge_email` by the API and submits `scores`.
async fn judge(
    c: &mut Client,
    org_page: &mut Client,
    env: &TestEnv,
    slug: &str,
    org_token: &str,
    (judge_token, judge_email): (&str, &str),
    scores: &[(Uuid, f64)],
) {
    open_first_round(org_page, slug, "100").await;
    add_judge(c, org_token, slug, judge_email).await;
    let crit = first_criterion(env, contest_id(env, slug).await).await;
    for (entry, s) in scores {
        let res = score(c, judge_token, *entry, json!({crit.to_string(): s})).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
}

async fn publish(c: &mut Client, slug: &str, token: &str) -> Res {
    c.api(
        "POST",
        &format!("/api/v1/contests/{slug}/results/publish"),
        Some(token),
        None,
    )
    .await
}

/// An organizer of `unit`: (token, email), and a page client signed in.
async fn organizer(env: &TestEnv, unit: &str) -> (String, String, Client) {
    let (_, token, email) = user_in(env, Role::Organizer, Some(unit)).await;
    let mut page = Client::new(env.state());
    assert_eq!(
        page.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    (token, email, page)
}

/// (source contest, category, title, rank) of each nomination the API lists.
fn nominations(v: &Value) -> BTreeSet<(String, String, String, i64)> {
    v["nominations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["source_slug"].as_str().unwrap().to_owned(),
                n["category_name"].as_str().unwrap().to_owned(),
                n["title"].as_str().unwrap().to_owned(),
                n["rank"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn two_communes_send_their_top_two_of_each_category_to_the_province_which_judges_them() {
    let env = TestEnv::new().await;
    tree(&env).await;
    let mut c = Client::new(env.state());
    let (tinh_token, _, mut tinh_page) = organizer(&env, "tinh").await;
    let (a_token, _, mut a_page) = organizer(&env, "xa-a").await;
    let (b_token, _, mut b_page) = organizer(&env, "xa-b").await;
    let (_, judge_token, judge_email) = user_in(&env, Role::Member, Some("khac")).await;
    let (author, _, author_email) = user_in(&env, Role::Member, Some("xa-a")).await;
    let (other, _, _) = user_in(&env, Role::Member, Some("xa-b")).await;

    let parent = create(
        &mut c,
        &tinh_token,
        contest_json("vong-tinh", "tinh", &PARENT_CATEGORIES, true),
    )
    .await;
    let a = create(
        &mut c,
        &a_token,
        contest_json("vong-xa-a", "xa-a", &PARENT_CATEGORIES, false),
    )
    .await;
    // Commune B names its categories alike under other addresses: matched by name.
    let b = create(
        &mut c,
        &b_token,
        contest_json(
            "vong-xa-b",
            "xa-b",
            &[
                ("anh", "Ảnh đẹp quê hương", "photo"),
                ("clip", "video clip tuyên truyền", "video"),
            ],
            false,
        ),
    )
    .await;

    // A links through the API (by judges), B through its page (combined).
    let res = c
        .api(
            "PUT",
            "/api/v1/contests/vong-xa-a/advancement",
            Some(&a_token),
            Some(json!({"parent": "vong-tinh", "top": 2, "basis": "judges"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["link"]["parent"], "vong-tinh");
    let form = b_page.get("/organize/contests/vong-xa-b/advancement").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Đề cử lên vòng trên"), "{}", form.body);
    assert!(
        form.body.contains(r#"<option value="vong-tinh""#),
        "{}",
        form.body
    );
    let res = b_page
        .post_form(
            "/organize/contests/vong-xa-b/advancement",
            &[("parent", "vong-tinh"), ("top", "2"), ("basis", "combined")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // Three photos and three videos in each commune, scored so that the best are not the
    // first made.
    let mut a_entries = Vec::new();
    let mut b_entries = Vec::new();
    let mut asset_of = std::collections::HashMap::new();
    let scores = [6.0, 9.0, 8.0];
    for (contest, who, cats, out, tag) in [
        (a, author, ["anh-dep", "video-clip"], &mut a_entries, "A"),
        (b, other, ["anh", "clip"], &mut b_entries, "B"),
    ] {
        for (cat, kind) in cats.iter().zip(["photo", "video"]) {
            for (i, s) in scores.iter().enumerate() {
                let title = format!("{tag} {kind} {}", i + 1);
                let (e, asset) = entry_with_media(&env, contest, who, cat, kind, &title).await;
                asset_of.insert(title.clone(), asset);
                out.push((e, *s));
            }
        }
    }
    for id in [a, b] {
        close_submission_now(&env, id).await;
    }
    judge(
        &mut c,
        &mut a_page,
        &env,
        "vong-xa-a",
        &a_token,
        (&judge_token, &judge_email),
        &a_entries,
    )
    .await;
    judge(
        &mut c,
        &mut b_page,
        &env,
        "vong-xa-b",
        &b_token,
        (&judge_token, &judge_email),
        &b_entries,
    )
    .await;

    let before = files(&env).await;
    let res = publish(&mut c, "vong-xa-a", &a_token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Publishing twice, the second at the same instant as a repeat, nominates once.
    let (r1, r2) = tokio::join!(
        async { publish(&mut c.clone(), "vong-xa-b", &b_token).await },
        async { publish(&mut c.clone(), "vong-xa-b", &b_token).await }
    );
    let mut statuses = [r1.status, r2.status];
    statuses.sort_by_key(|s| s.as_u16());
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} {}",
        r1.body,
        r2.body
    );
    assert_eq!(
        publish(&mut c, "vong-xa-a", &a_token).await.status,
        StatusCode::CONFLICT
    );
    // And nominating again by hand (a retry after a crash) finds everything there.
    let row = hoithi_web::domain::contests::by_id(&env.db, a)
        .await
        .unwrap()
        .unwrap();
    let round: i64 =
        sqlx::query_scalar("select judging_round_id from judging_round where contest_id = $1")
            .bind(a)
            .fetch_one(&env.db)
            .await
            .unwrap();
    let again = tokio::join!(
        hoithi_web::domain::advancement::nominate::nominate(&env.db, &row, round, "http://x"),
        hoithi_web::domain::advancement::nominate::nominate(&env.db, &row, round, "http://x"),
    );
    assert_eq!((again.0.unwrap(), again.1.unwrap()), (0, 0));

    // The province sees exactly the top two of each category of each commune.
    let res = c
        .api(
            "GET",
            "/api/v1/contests/vong-tinh/advancement",
            Some(&tinh_token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let v = res.json();
    let expect: BTreeSet<(String, String, String, i64)> = [
        ("vong-xa-a", "Ảnh đẹp quê hương", "A photo 2", 1),
        ("vong-xa-a", "Ảnh đẹp quê hương", "A photo 3", 2),
        ("vong-xa-a", "Video clip tuyên truyền", "A video 2", 1),
        ("vong-xa-a", "Video clip tuyên truyền", "A video 3", 2),
        ("vong-xa-b", "Ảnh đẹp quê hương", "B photo 2", 1),
        ("vong-xa-b", "Ảnh đẹp quê hương", "B photo 3", 2),
        ("vong-xa-b", "Video clip tuyên truyền", "B video 2", 1),
        ("vong-xa-b", "Video clip tuyên truyền", "B video 3", 2),
    ]
    .into_iter()
    .map(|(s, k, t, r)| (s.to_owned(), k.to_owned(), t.to_owned(), r))
    .collect();
    assert_eq!(nominations(&v), expect, "{v:#}");
    assert_eq!(v["feeders"].as_array().unwrap().len(), 2, "{v:#}");
    // Nothing was uploaded or copied: the same rows and objects as before.
    assert_eq!(files(&env).await, before);
    // Each nominated entry shows its source's very media asset.
    let nominated: Vec<(Uuid, String)> = v["nominations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["entry_id"].as_str().unwrap().parse().unwrap(),
                n["title"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (id, title) in &nominated {
        let res = c
            .api(
                "GET",
                &format!("/api/v1/entries/{id}"),
                Some(&tinh_token),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let e = res.json();
        assert_eq!(e["status"], "pending_review", "moderated first: {e:#}");
        assert_eq!(
            e["media"][0]["id"].as_str().unwrap(),
            asset_of[title].to_string(),
            "{e:#}"
        );
    }
    // The province's page lists them per commune with counts.
    let page = tinh_page
        .get("/organize/contests/vong-tinh/advancement")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Bài được đề cử"), "{}", page.body);
    assert_eq!(
        page.body
            .matches(r#"<span class="nominee-count">4</span>"#)
            .count(),
        2,
        "{}",
        page.body
    );
    // The entrant is told, by mail and on "Bài dự thi của tôi".
    let mail = outbox(&env, &author_email).await;
    let told: Vec<_> = mail.iter().filter(|m| m.0 == "nomination").collect();
    // Two photos and two videos of this entrant went up.
    assert_eq!(told.len(), 4, "{mail:?}");
    assert!(told[0].1.contains("Hội thi vong-tinh"), "{:?}", told[0]);
    let mut me = Client::new(env.state());
    let email: String =
        sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
            .bind(author)
            .fetch_one(&env.db)
            .await
            .unwrap();
    me.login(&email, PASSWORD).await;
    let mine = me.get("/me/entries").await;
    assert_eq!(
        mine.body
            .matches("Bài được đề cử từ «Hội thi vong-xa-a»")
            .count(),
        4,
        "{}",
        mine.body
    );

    // The province moderates them as any entry, then judges them.
    for (id, _) in &nominated {
        let res = c
            .api(
                "POST",
                &format!("/api/v1/entries/{id}/review"),
                Some(&tinh_token),
                Some(json!({"decision": "approve"})),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    let gallery = c.get("/contests/vong-tinh").await;
    let shown = asset_of["A photo 2"].to_string();
    assert!(
        gallery.body.contains(&format!("/media/{shown}/")),
        "{}",
        gallery.body
    );
    close_submission_now(&env, parent).await;
    // Province scores: B's entries over A's in photos, A's over B's in videos.
    let by_title = |t: &str| nominated.iter().find(|n| n.1 == t).unwrap().0;
    let province_scores = [
        (by_title("A photo 2"), 5.0),
        (by_title("A photo 3"), 6.0),
        (by_title("B photo 2"), 7.0),
        (by_title("B photo 3"), 8.0),
        (by_title("A video 2"), 9.0),
        (by_title("A video 3"), 4.0),
        (by_title("B video 2"), 3.0),
        (by_title("B video 3"), 2.0),
    ];
    judge(
        &mut c,
        &mut tinh_page,
        &env,
        "vong-tinh",
        &tinh_token,
        (&judge_token, &judge_email),
        &province_scores,
    )
    .await;
    let res = publish(&mut c, "vong-tinh", &tinh_token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = c
        .api("GET", "/api/v1/contests/vong-tinh/results", None, None)
        .await;
    let v = res.json();
    assert_ranks(
        &v,
        &[
            ("anh-dep", "B photo 3", 1),
            ("anh-dep", "B photo 2", 2),
            ("anh-dep", "A photo 3", 3),
            ("anh-dep", "A photo 2", 4),
            ("video-clip", "A video 2", 1),
            ("video-clip", "A video 3", 2),
            ("video-clip", "B video 2", 3),
            ("video-clip", "B video 3", 4),
        ],
    );
    assert_eq!(files(&env).await, before);
}

#[tokio::test]
async fn the_link_is_refused_outside_the_tree_out_of_range_and_after_results() {
    let env = TestEnv::new().await;
    tree(&env).await;
    let mut c = Client::new(env.state());
    let (tinh_token, _, _) = organizer(&env, "tinh").await;
    let (a_token, _, mut a_page) = organizer(&env, "xa-a").await;
    let (b_token, _, _) = organizer(&env, "xa-b").await;
    let (khac_token, _, mut khac_page) = organizer(&env, "khac").await;
    let (_, judge_token, judge_email) = user_in(&env, Role::Member, Some("khac")).await;
    let (author, _, _) = user_in(&env, Role::Member, Some("xa-a")).await;
    create(
        &mut c,
        &tinh_token,
        contest_json("vong-tinh", "tinh", &PARENT_CATEGORIES, false),
    )
    .await;
    create(
        &mut c,
        &khac_token,
        contest_json("tinh-khac", "khac", &PARENT_CATEGORIES, false),
    )
    .await;
    let a = create(
        &mut c,
        &a_token,
        contest_json("vong-xa-a", "xa-a", &PARENT_CATEGORIES, false),
    )
    .await;
    create(
        &mut c,
        &b_token,
        contest_json("vong-xa-b", "xa-b", &PARENT_CATEGORIES, false),
    )
    .await;
    let uri = "/api/v1/contests/vong-xa-a/advancement";
    let good = json!({"parent": "vong-tinh", "top": 2, "basis": "judges"});

    // An organizer of another unit neither sees nor links; nobody signed out does.
    let res = c
        .api("PUT", uri, Some(&khac_token), Some(good.clone()))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    let res = c.api("GET", uri, Some(&khac_token), None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    let res = khac_page
        .get("/organize/contests/vong-xa-a/advancement")
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = c.api("PUT", uri, None, Some(good.clone())).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    // Nor can the sibling commune link the contest of another.
    let res = c.api("PUT", uri, Some(&b_token), Some(good.clone())).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    // A form from another site is refused.
    let mut forged = a_page.clone();
    let res = forged
        .post_raw(
            "/organize/contests/vong-xa-a/advancement",
            &[
                ("parent", "vong-tinh".to_owned()),
                ("top", "2".to_owned()),
                ("basis", "judges".to_owned()),
                ("_csrf", "forged".to_owned()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);

    // Only a contest of a unit strictly above the commune's is a parent.
    for (parent, code) in [
        ("tinh-khac", "advancement-parent-not-above"),
        ("vong-xa-b", "advancement-parent-not-above"),
        ("vong-xa-a", "advancement-parent-not-above"),
        ("khong-co", "advancement-parent-unknown"),
    ] {
        let body = json!({"parent": parent, "top": 2, "basis": "judges"});
        let res = c.api("PUT", uri, Some(&a_token), Some(body)).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{parent}: {}",
            res.body
        );
        assert_eq!(res.json()["error"]["code"], code, "{parent}");
    }
    // The province cannot be linked below itself either.
    let res = c
        .api(
            "PUT",
            "/api/v1/contests/vong-tinh/advancement",
            Some(&tinh_token),
            Some(json!({"parent": "vong-xa-a", "top": 2, "basis": "judges"})),
        )
        .await;
    assert_eq!(
        res.json()["error"]["code"],
        "advancement-parent-not-above",
        "{}",
        res.body
    );
    for top in [0, 21, -1] {
        let res = c
            .api(
                "PUT",
                uri,
                Some(&a_token),
                Some(json!({"parent": "vong-tinh", "top": top, "basis": "judges"})),
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{top}: {}",
            res.body
        );
        assert_eq!(res.json()["error"]["code"], "advancement-top-out-of-range");
    }
    let res = c
        .api(
            "PUT",
            uri,
            Some(&a_token),
            Some(json!({"parent": "vong-tinh", "top": 2, "basis": "luck"})),
        )
        .await;
    assert_eq!(
        res.json()["error"]["code"],
        "advancement-basis-invalid",
        "{}",
        res.body
    );
    // A category with no counterpart upstairs is refused until it is mapped.
    let res = c
        .api(
            "PATCH",
            "/api/v1/contests/vong-xa-a",
            Some(&a_token),
            Some(json!({"categories": [
                {"slug": "anh-dep", "name": "Ảnh đẹp quê hương", "kinds": ["photo"]},
                {"slug": "video-clip", "name": "Video clip tuyên truyền", "kinds": ["video"]},
                {"slug": "rieng", "name": "Ảnh đời thường", "kinds": ["photo"]}
            ]})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = c.api("PUT", uri, Some(&a_token), Some(good.clone())).await;
    assert_eq!(
        res.json()["error"]["code"],
        "advancement-category-unmatched",
        "{}",
        res.body
    );
    let page = a_page
        .post_form(
            "/organize/contests/vong-xa-a/advancement",
            &[("parent", "vong-tinh"), ("top", "2"), ("basis", "judges")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(r#"name="map_rieng""#), "{}", page.body);
    let res = a_page
        .post_form(
            "/organize/contests/vong-xa-a/advancement",
            &[
                ("parent", "vong-tinh"),
                ("top", "1"),
                ("basis", "judges"),
                ("map_rieng", "anh-dep"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = c.api("GET", uri, Some(&a_token), None).await;
    assert_eq!(res.json()["link"]["top"], 1, "{}", res.body);

    // One scored entry in the extra category; results published; the link is then locked.
    let (e, _) = entry_with_media(&env, a, author, "rieng", "photo", "Chợ quê").await;
    let (unscored, _) = entry_with_media(&env, a, author, "anh-dep", "photo", "Chưa chấm").await;
    close_submission_now(&env, a).await;
    judge(
        &mut c,
        &mut a_page,
        &env,
        "vong-xa-a",
        &a_token,
        (&judge_token, &judge_email),
        &[(e, 7.0)],
    )
    .await;
    let res = publish(&mut c, "vong-xa-a", &a_token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = c.api("PUT", uri, Some(&a_token), Some(good.clone())).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "advancement-locked");
    let res = c.api("DELETE", uri, Some(&a_token), None).await;
    assert_eq!(
        res.json()["error"]["code"],
        "advancement-locked",
        "{}",
        res.body
    );
    let page = a_page.get("/organize/contests/vong-xa-a/advancement").await;
    assert!(page.body.contains("quy tắc đề cử đã khóa"), "{}", page.body);
    assert!(!page.body.contains("id=\"link-form\""), "{}", page.body);

    // The mapped category went to "Ảnh đẹp quê hương"; an entry no judge scored did not go.
    let res = c
        .api(
            "GET",
            "/api/v1/contests/vong-tinh/advancement",
            Some(&tinh_token),
            None,
        )
        .await;
    let v = res.json();
    let got = nominations(&v);
    assert_eq!(
        got,
        BTreeSet::from([(
            "vong-xa-a".to_owned(),
            "Ảnh đẹp quê hương".to_owned(),
            "Chợ quê".to_owned(),
            1
        )]),
        "{v:#}"
    );
    let nominated: Uuid = v["nominations"][0]["entry_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(!v.to_string().contains(&unscored.to_string()));
    // The other province's organizer sees nothing of it.
    let res = c
        .api(
            "GET",
            "/api/v1/contests/vong-tinh/advancement",
            Some(&khac_token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Erasing the entrant empties the nominated entry (in no published result yet) and keeps
    // the commune's published one, whose files both showed: nothing of theirs is left in the
    // province, and no file is orphaned or lost for the published result.
    let before = files(&env).await;
    hoithi_web::domain::privacy::erase::erase_account(&env.db, &env.storage, author)
        .await
        .unwrap();
    let (status, title, desc): (String, String, String) =
        sqlx::query_as("select status::text, title, description from entry where entry_id = $1")
            .bind(nominated)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), title.as_str(), desc.as_str()),
        ("withdrawn", "(đã xóa)", "")
    );
    let (source_status, source_desc): (String, String) =
        sqlx::query_as("select status::text, description from entry where entry_id = $1")
            .bind(e)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(
        (source_status.as_str(), source_desc.as_str()),
        ("approved", "")
    );
    let (assets, uploads, objects) = files(&env).await;
    // The unscored entry was in the published round too, so its files stay with it.
    assert_eq!((assets, uploads, objects), before);
    let gallery = c.get("/contests/vong-tinh").await;
    assert!(!gallery.body.contains("Chợ quê"), "{}", gallery.body);
}
