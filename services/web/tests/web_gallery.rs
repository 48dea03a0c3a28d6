#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A provincial contest at its real size through the real router on a real database: more
//! than 200 approved entries, every one reachable from the gallery and the vote page by
//! following "Xem thêm" links in every order (none twice, none missing), and by search (its
//! number typed three ways, its title); one statement reads a page of cards whatever their
//! number; a forged cursor is a Vietnamese 400 page; hidden entries never show; entry
//! numbers are distinct under concurrent creation; public media is immutable under a
//! versioned URL and private media stays private.

mod support;

use std::collections::{BTreeSet, HashMap};

use axum::http::{StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::statements::Statements;
use support::*;
use uuid::Uuid;

const APPROVED: i32 = 260;

struct Fixture {
    env: TestEnv,
    slug: String,
    contest_id: i64,
    /// Approved entries: number → (id, title).
    approved: HashMap<i32, (Uuid, String)>,
    /// Entries that must never show: (number, title).
    hidden: Vec<(i32, String)>,
    /// Approved entries of the author named "Nguyễn Thị Lanh Lợi".
    lanh: Vec<i32>,
}

/// A contest in its voting window with `APPROVED` approved entries (seeded in SQL for
/// volume: the numbering trigger runs for each), media for each, a few votes, and entries
/// of every other status.
async fn fixture() -> Fixture {
    let env = TestEnv::new().await;
    units(&env).await;
    let contest_id = env.open_contest(&["photo", "video"]).await;
    // The organizer opens voting now, beside submission.
    let contest = organize(
        &env,
        contest_id,
        serde_json::json!({"voting_overlaps_submission": true,
            "phases": {"voting": {"opens_at": in_minutes(0), "closes_at": in_minutes(24 * 60)}}}),
    )
    .await;
    let slug = contest["slug"].as_str().unwrap().to_owned();
    let (author, _) = env.user(Role::Member).await;
    let (lan, _) = env.user(Role::Member).await;
    sqlx::query("update app_user set display_name = 'Nguyễn Thị Lanh Lợi' where app_user_id = $1")
        .bind(lan)
        .execute(&env.db)
        .await
        .unwrap();
    // Interleave statuses so hidden entries sit between approved ones in every order.
    let rows: Vec<(Uuid, i32, String, String, i64)> = sqlx::query_as(
        "insert into entry (contest_id, author_id, title, status)
         select $1, case when g % 50 = 0 then $3 else $2 end,
                'Tác phẩm ' || substr(md5(g::text), 1, 10),
                (case when g % 13 = 5 then 'pending_review' when g % 13 = 7 then 'rejected'
                      when g % 13 = 9 then 'withdrawn' when g % 13 = 11 then 'draft'
                      else 'approved' end)::entry_status
         from generate_series(1, 400) g
         returning entry_id, number, title, status::text, author_id",
    )
    .bind(contest_id)
    .bind(author)
    .bind(lan)
    .fetch_all(&env.db)
    .await
    .unwrap();
    let mut approved = HashMap::new();
    let mut hidden = Vec::new();
    let mut lanh = Vec::new();
    for (id, number, title, status, by) in rows {
        if status == "approved" && approved.len() < APPROVED as usize {
            approved.insert(number, (id, title));
            if by == lan {
                lanh.push(number);
            }
        } else if status == "approved" {
            sqlx::query("update entry set status = 'pending_review' where entry_id = $1")
                .bind(id)
                .execute(&env.db)
                .await
                .unwrap();
            hidden.push((number, title));
        } else {
            hidden.push((number, title));
        }
    }
    assert_eq!(approved.len(), APPROVED as usize);
    // A photo or a video for every entry, and votes for some (ties included).
    sqlx::query(
        "insert into media_asset (entry_id, kind, status, progress, original_key, original_bytes,
            original_sha256, width, height, renditions)
         select e.entry_id, (case when e.number % 2 = 0 then 'photo' else 'video' end)::media_kind,
                'ready', 100, 'originals/' || e.entry_id, 10, repeat('a', 64), 1280, 720,
                case when e.number % 2 = 0
                  then jsonb_build_object('images', jsonb_build_array(
                         jsonb_build_object('width', 400, 'jpeg', 'photo-400.jpg'),
                         jsonb_build_object('width', 1600, 'jpeg', 'photo-1600.jpg')))
                  else jsonb_build_object('poster', jsonb_build_array(
                         jsonb_build_object('width', 400, 'jpeg', 'poster-400.jpg'),
                         jsonb_build_object('width', 1280, 'jpeg', 'poster-1280.jpg')),
                         'hls', 'hls/master.m3u8') end
         from entry e where e.contest_id = $1",
    )
    .bind(contest_id)
    .execute(&env.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into vote_tally_shard (entry_id, contest_id, votes, shard)
         select entry_id, contest_id, number % 7, 0 from entry where contest_id = $1",
    )
    .bind(contest_id)
    .execute(&env.db)
    .await
    .unwrap();
    Fixture {
        env,
        slug,
        contest_id,
        approved,
        hidden,
        lanh,
    }
}

/// The entry numbers on a page, in order ("Bài số 0142").
fn numbers(body: &str) -> Vec<i32> {
    body.split("<span class=\"tile-number\">")
        .skip(1)
        .map(|s| {
            let label = s.split('<').next().unwrap();
            label.rsplit(' ').next().unwrap().parse().unwrap()
        })
        .collect()
}

/// The "Xem thêm" link of a page, if any.
fn next_link(body: &str) -> Option<String> {
    let (_, rest) = body.split_once("rel=\"next\" href=\"")?;
    Some(
        rest.split('"')
            .next()?
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

/// Follows "Xem thêm" from `first` to the end: every number seen, in order.
async fn walk(client: &mut Client, first: &str) -> Vec<i32> {
    let mut seen = Vec::new();
    let mut url = first.to_owned();
    for _ in 0..100 {
        let res = client.get(&url).await;
        assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.body);
        let page = numbers(&res.body);
        assert!(page.len() <= 24, "{url}: a page of {}", page.len());
        seen.extend(page);
        match next_link(&res.body) {
            Some(next) => {
                if std::env::var("DEBUG_WALK").is_ok() {
                    eprintln!("{url} -> {next} {:?}", numbers(&res.body));
                }
                url = next;
            }
            None => return seen,
        }
    }
    panic!("more than 100 pages from {first}");
}

#[tokio::test]
async fn every_approved_entry_is_reachable_by_paging_in_every_order_and_hidden_ones_never() {
    let fx = fixture().await;
    let want: BTreeSet<i32> = fx.approved.keys().copied().collect();
    let mut client = Client::new(fx.env.state());
    for base in [
        format!("/contests/{}", fx.slug),
        format!("/contests/{}/vote", fx.slug),
    ] {
        for sort in ["", "random", "newest", "number", "votes"] {
            let first = if sort.is_empty() {
                base.clone()
            } else {
                format!("{base}?sort={sort}")
            };
            let seen = walk(&mut client, &first).await;
            let set: BTreeSet<i32> = seen.iter().copied().collect();
            assert_eq!(set.len(), seen.len(), "{first}: an entry shown twice");
            assert_eq!(set, want, "{first}: missing or hidden entries");
            match sort {
                "newest" => assert!(seen.windows(2).all(|w| w[0] > w[1]), "{first}"),
                "number" => assert!(seen.windows(2).all(|w| w[0] < w[1]), "{first}"),
                "votes" => {
                    let votes: Vec<i32> = seen.iter().map(|n| n % 7).collect();
                    assert!(votes.windows(2).all(|w| w[0] >= w[1]), "{first}");
                }
                _ => {}
            }
        }
    }
    // The random order is the voter's own, stable between visits, and not the number order.
    let a = walk(&mut client, &format!("/contests/{}", fx.slug)).await;
    let b = walk(&mut client, &format!("/contests/{}", fx.slug)).await;
    assert_eq!(a, b, "a voter's order does not move between visits");
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_ne!(a, sorted, "random is not the number order");
    // Filters keep to the filter through every page.
    let photos = walk(&mut client, &format!("/contests/{}?kind=photo", fx.slug)).await;
    let want_photos: BTreeSet<i32> = want.iter().copied().filter(|n| n % 2 == 0).collect();
    assert_eq!(photos.iter().copied().collect::<BTreeSet<_>>(), want_photos);
    assert_eq!(photos.len(), want_photos.len());
}

#[tokio::test]
async fn every_entry_is_found_by_its_number_typed_three_ways_and_by_its_title() {
    let fx = fixture().await;
    let mut client = Client::new(fx.env.state());
    for (i, (number, (_, title))) in fx.approved.iter().enumerate() {
        let typed = match i % 3 {
            0 => number.to_string(),
            1 => format!("{number:04}"),
            _ => format!("#{number}"),
        };
        let page = if i % 2 == 0 { "" } else { "/vote" };
        let res = client
            .get(&format!("/contests/{}{page}?q={}", fx.slug, enc(&typed)))
            .await;
        assert_eq!(res.status, StatusCode::OK);
        assert!(
            numbers(&res.body).contains(number),
            "{typed:?} finds Bài số {number:04}"
        );
        let res = client
            .get(&format!("/contests/{}{page}?q={}", fx.slug, enc(title)))
            .await;
        assert_eq!(numbers(&res.body), vec![*number], "{title:?}");
    }
    // By author, where authors are shown.
    let res = client
        .get(&format!(
            "/contests/{}?q={}&sort=number",
            fx.slug,
            enc("Lanh Lợi")
        ))
        .await;
    let mut lanh = fx.lanh.clone();
    lanh.sort_unstable();
    assert!(!lanh.is_empty());
    assert_eq!(numbers(&res.body), lanh);
    // Hidden entries (a sample of each status) are found neither by title nor by number.
    for (number, title) in fx.hidden.iter().step_by(7) {
        for q in [title.clone(), format!("{number:04}")] {
            let res = client
                .get(&format!("/contests/{}?q={}", fx.slug, enc(&q)))
                .await;
            assert!(
                !numbers(&res.body).contains(number),
                "hidden Bài số {number:04} found by {q:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_forged_or_malformed_cursor_is_a_vietnamese_400_page_not_a_failure() {
    let fx = fixture().await;
    let mut client = Client::new(fx.env.state());
    let id = Uuid::new_v4().simple();
    for base in [
        format!("/contests/{}", fx.slug),
        format!("/contests/{}/vote", fx.slug),
    ] {
        for query in [
            "after=zzz".to_owned(),
            "after=n-5".to_owned(),
            "after=n99999999999999".to_owned(),
            format!("after=r99.5.{id}"),
            format!("sort=number&after=r1.5.{id}"),
            "sort=random&after=n5".to_owned(),
            "after=%27%3B%20drop%20table%20entry%3B--".to_owned(),
            format!("after={}", "9".repeat(5000)),
        ] {
            let res = client.get(&format!("{base}?{query}")).await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{base}?{query}");
            assert!(
                res.body.contains("không hợp lệ") && res.body.contains("Xem thêm"),
                "{base}?{query}: {}",
                res.body
            );
        }
    }
    // The lists of the organizer and the author refuse a forged cursor the same way.
    let (_, _, email) = user_in(&fx.env, Role::Member, None).await;
    client.login(&email, PASSWORD).await;
    let res = client.get("/me/entries?after=xyz").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body.contains("không hợp lệ"));
    // Votes cannot be sorted by while totals are hidden: the order would tell them.
    organize(
        &fx.env,
        fx.contest_id,
        serde_json::json!({"vote_policy": {"hide_totals": true}}),
    )
    .await;
    let res = client
        .get(&format!("/contests/{}?sort=votes", fx.slug))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.body.contains("value=\"votes\""), "no most-voted order");
    let res = client
        .get(&format!("/contests/{}?sort=votes&after=v3.5", fx.slug))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_page_of_cards_is_one_statement_whatever_the_number_of_cards() {
    let fx = fixture().await;
    let mut client = Client::new(fx.env.state());
    // Warm the caches (secrets, sessions) so both pages run the same statements.
    client.get(&format!("/contests/{}", fx.slug)).await;
    let (statements, _guard) = Statements::on_this_thread();
    let count = |path: String| {
        let statements = statements.clone();
        let mut client = client.clone();
        async move {
            statements.clear();
            let res = client.get(&path).await;
            assert_eq!(res.status, StatusCode::OK);
            let cards = numbers(&res.body).len();
            let all = statements.taken();
            (cards, all)
        }
    };
    let one = *fx.approved.keys().next().unwrap();
    for base in [
        format!("/contests/{}", fx.slug),
        format!("/contests/{}/vote", fx.slug),
    ] {
        let (full, full_sql) = count(format!("{base}?sort=number")).await;
        let (single, single_sql) = count(format!("{base}?q={one:04}&sort=number")).await;
        assert_eq!(full, 24);
        assert!(single >= 1);
        assert!(!full_sql.is_empty(), "statements are counted");
        assert_eq!(
            full_sql.len(),
            single_sql.len(),
            "{base}: 24 cards cost more statements than one: {full_sql:#?}"
        );
        let media: Vec<_> = full_sql
            .iter()
            .filter(|s| s.contains("media_asset"))
            .collect();
        assert_eq!(
            media.len(),
            1,
            "one statement reads cards and media: {full_sql:#?}"
        );
    }
}

#[tokio::test]
async fn numbers_are_distinct_when_entries_are_created_at_once() {
    let env = TestEnv::new().await;
    let contest = env.open_contest(&["photo"]).await;
    let (author, _) = env.user(Role::Member).await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let db = env.db.clone();
        tasks.push(tokio::spawn(async move {
            hoithi_core::contest::create_draft_entry(&db, contest, author, "Bài", "")
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let numbers: Vec<i32> =
        sqlx::query_scalar("select number from entry where contest_id = $1 order by number")
            .bind(contest)
            .fetch_all(&env.db)
            .await
            .unwrap();
    assert_eq!(numbers, (1..=24).collect::<Vec<_>>());
    // Another contest counts from 1 on its own.
    let other = env.open_contest(&["photo"]).await;
    let e = env.draft_entry(other, author).await;
    let n: i32 = sqlx::query_scalar("select number from entry where entry_id = $1")
        .bind(e)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn put_object(env: &TestEnv, key: &str, body: &[u8]) {
    env.storage
        .client
        .put_object()
        .bucket(&env.storage.bucket)
        .key(key)
        .body(body.to_vec().into())
        .send()
        .await
        .unwrap();
}

/// The first `src="/media/…"` of a page.
fn first_media(body: &str) -> String {
    let (_, rest) = body.split_once("src=\"/media/").unwrap();
    format!("/media/{}", rest.split('"').next().unwrap())
}

#[tokio::test]
async fn public_media_is_immutable_under_a_versioned_url_and_private_media_stays_private() {
    let env = TestEnv::new().await;
    let (contest, slug, entries) = env.contest_in_voting(1).await;
    let (author, _, author_email) = user_in(&env, Role::Member, None).await;
    let hidden = env.draft_entry(contest, author).await;
    set_status(&env, hidden, "pending_review").await;
    let mut assets = Vec::new();
    for e in [entries[0], hidden] {
        let asset = Uuid::new_v4();
        sqlx::query(
            "insert into media_asset (media_asset_id, entry_id, kind, status, progress, original_key,
                original_bytes, original_sha256, width, height, renditions)
             values ($1, $2, 'video', 'ready', 100, $3, 10, repeat('a', 64), 1280, 720, $4)",
        )
        .bind(asset)
        .bind(e)
        .bind(hoithi_core::media::original_key(asset))
        .bind(json!({"poster": [{"width": 400, "jpeg": "poster-400.jpg"},
                                {"width": 1280, "jpeg": "poster-1280.jpg"}]}))
        .execute(&env.db)
        .await
        .unwrap();
        put_object(&env, &format!("media/{asset}/poster-400.jpg"), b"jpeg-400").await;
        put_object(
            &env,
            &format!("media/{asset}/poster-1280.jpg"),
            b"jpeg-1280",
        )
        .await;
        assets.push(asset);
    }
    let mut reader = Client::new(env.state());
    let gallery = reader.get(&format!("/contests/{slug}")).await;
    let url = first_media(&gallery.body);
    assert!(
        url.starts_with(&format!("/media/{}/v/", assets[0])) && url.ends_with("/poster-400.jpg"),
        "a video's card loads the 400 px poster under a versioned URL: {url}"
    );
    assert!(
        gallery.body.contains("poster-1280.jpg 1280w"),
        "with srcset"
    );
    assert!(gallery.body.contains("loading=\"lazy\""));

    // A signed-out reader with no cookies at all: public, immutable, no cookie set.
    let mut bare = Client::new(env.state());
    let res = bare.get(&url).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "jpeg-400");
    assert_eq!(
        res.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert!(res.set_cookies().is_empty(), "{:?}", res.set_cookies());
    // The unversioned path of the same rendition is not for caches.
    let res = bare
        .get(&format!("/media/{}/poster-400.jpg", assets[0]))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers[header::CACHE_CONTROL], "private, no-store");

    // An entry not approved: the versioned URL of its media is nobody's but its author's
    // (and organizers'), and never cached.
    let version = url.split('/').nth(4).unwrap().to_owned();
    let hidden_version: String = {
        let at: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("select updated_at from media_asset where media_asset_id = $1")
                .bind(assets[1])
                .fetch_one(&env.db)
                .await
                .unwrap();
        format!("{:x}", at.timestamp_micros())
    };
    let private = format!("/media/{}/v/{hidden_version}/poster-400.jpg", assets[1]);
    for path in [
        private.clone(),
        format!("/media/{}/poster-400.jpg", assets[1]),
        format!("/media/{}/v/{version}/poster-400.jpg", assets[1]),
    ] {
        let res = bare.get(&path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert_ne!(res.body, "jpeg-400");
    }
    sqlx::query("update entry set author_id = $2 where entry_id = $1")
        .bind(hidden)
        .bind(author)
        .execute(&env.db)
        .await
        .unwrap();
    let mut owner = Client::new(env.state());
    owner.login(&author_email, PASSWORD).await;
    let res = owner.get(&private).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers[header::CACHE_CONTROL], "private, no-store");

    // A changed rendition gets a new URL; the old one is no longer served as immutable.
    sqlx::query(
        "update media_asset set renditions = jsonb_set(renditions, '{poster,0,jpeg}', '\"poster-400.jpg\"')
         where media_asset_id = $1",
    )
    .bind(assets[0])
    .execute(&env.db)
    .await
    .unwrap();
    let gallery = reader.get(&format!("/contests/{slug}")).await;
    let new_url = first_media(&gallery.body);
    assert_ne!(new_url, url, "a changed rendition gets a new URL");
    let res = bare.get(&new_url).await;
    assert_eq!(
        res.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let res = bare.get(&url).await;
    assert_eq!(res.headers[header::CACHE_CONTROL], "private, no-store");
}

/// Every `marker{uuid}` of the pages from `first` on, following "Xem thêm".
async fn walk_ids(client: &mut Client, first: &str, marker: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut url = first.to_owned();
    for _ in 0..50 {
        let res = client.get(&url).await;
        assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.body);
        seen.extend(
            res.body
                .split(marker)
                .skip(1)
                .map(|s| s.chars().take(36).collect::<String>()),
        );
        match next_link(&res.body) {
            Some(next) => url = next,
            None => return seen,
        }
    }
    panic!("more than 50 pages from {first}");
}

#[tokio::test]
async fn the_moderation_queue_and_a_members_own_entries_page_past_the_old_limit_of_200() {
    let fx = fixture().await;
    // 230 entries waiting for review, one author with all of them and the rest.
    sqlx::query(
        "insert into entry (contest_id, author_id, title, status)
         select $1, (select author_id from entry where contest_id = $1 order by number limit 1),
                'Chờ duyệt ' || g, 'pending_review' from generate_series(1, 230) g",
    )
    .bind(fx.contest_id)
    .execute(&fx.env.db)
    .await
    .unwrap();
    let (pending, author_email, authored): (i64, String, i64) = sqlx::query_as(
        "select (select count(*) from entry where contest_id = $1 and status = 'pending_review'),
                a.email::text, (select count(*) from entry where author_id = a.app_user_id)
         from app_user a where a.app_user_id =
              (select author_id from entry where contest_id = $1 order by number limit 1)",
    )
    .bind(fx.contest_id)
    .fetch_one(&fx.env.db)
    .await
    .unwrap();
    assert!(pending > 200 && authored > 200);

    let (_, _, admin) = user_in(&fx.env, Role::Admin, None).await;
    let mut organizer = Client::new(fx.env.state());
    organizer.login(&admin, PASSWORD).await;
    let queue = walk_ids(
        &mut organizer,
        &format!("/organize/contests/{}/queue", fx.slug),
        "id=\"entry-",
    )
    .await;
    let unique: BTreeSet<&String> = queue.iter().collect();
    assert_eq!(unique.len(), queue.len(), "an entry twice in the queue");
    assert_eq!(
        queue.len() as i64,
        pending,
        "every waiting entry is in the queue"
    );
    let res = organizer
        .get(&format!("/organize/contests/{}/queue?after=-3", fx.slug))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);

    let mut author = Client::new(fx.env.state());
    author.login(&author_email, PASSWORD).await;
    let mine = walk_ids(
        &mut author,
        "/me/entries",
        "<li class=\"card\"><a href=\"/entries/",
    )
    .await;
    let unique: BTreeSet<&String> = mine.iter().collect();
    assert_eq!(unique.len(), mine.len(), "an entry twice in my entries");
    assert_eq!(mine.len() as i64, authored, "every own entry is listed");
}
