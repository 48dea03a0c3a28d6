#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Hostile tests of entries (issue 15, items 3 and 9) through the real router, a real
//! database and a real S3 endpoint: an author who edits an approved entry into spam, and
//! people who try to learn who made an entry of a blind contest. Each attack sits next to the
//! legitimate use that must keep working.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;
use uuid::Uuid;

const APPROVED: &str = "Hoàng hôn trên sông Sài Gòn";
const SPAM: &str = "buy cheap pills at evil.example";

/// Units, an organizer of hcm (signed in on a page client, with a token), a contest of hcm,
/// and an author of q1-a with a name.
struct Fx {
    env: TestEnv,
    slug: String,
    contest_id: i64,
    org: Client,
    org_token: String,
    author_id: i64,
    author: Client,
    author_token: String,
    author_email: String,
}

const AUTHOR_NAME: &str = "Trần Văn Bí Danh";
const AUTHOR_UNIT: &str = "Chi đoàn A";

async fn fixture() -> Fx {
    let env = TestEnv::new().await;
    units(&env).await;
    let (contest_id, slug) = contest_of(&env, "hcm").await;
    let (_, org_token, org_email) = user_in(&env, Role::Organizer, Some("hcm")).await;
    let (author_id, author_token, author_email) = user_in(&env, Role::Member, Some("q1-a")).await;
    sqlx::query("update app_user set display_name = $2 where app_user_id = $1")
        .bind(author_id)
        .bind(AUTHOR_NAME)
        .execute(&env.db)
        .await
        .unwrap();
    let mut org = Client::new(env.state());
    assert_eq!(
        org.login(&org_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let mut author = Client::new(env.state());
    assert_eq!(
        author.login(&author_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    Fx {
        env,
        slug,
        contest_id,
        org,
        org_token,
        author_id,
        author,
        author_token,
        author_email,
    }
}

/// An approved entry of the fixture's author with the given text.
async fn approved_entry(fx: &Fx, title: &str, description: &str) -> Uuid {
    let id = fx.env.draft_entry(fx.contest_id, fx.author_id).await;
    sqlx::query(
        "update entry set title = $2, description = $3, status = 'approved' where entry_id = $1",
    )
    .bind(id)
    .bind(title)
    .bind(description)
    .execute(&fx.env.db)
    .await
    .unwrap();
    id
}

/// What an anonymous visitor gets from every public surface of the entry, as one text.
async fn public_surfaces(fx: &Fx, id: Uuid) -> String {
    let mut anon = Client::new(fx.env.state());
    let page = anon.get(&format!("/entries/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let gallery = anon.get(&format!("/contests/{}", fx.slug)).await;
    assert_eq!(gallery.status, StatusCode::OK);
    let vote = anon.get(&format!("/contests/{}/vote", fx.slug)).await;
    assert_eq!(vote.status, StatusCode::OK);
    let api = anon
        .api("GET", &format!("/api/v1/entries/{id}"), None, None)
        .await;
    assert_eq!(api.status, StatusCode::OK);
    assert!(
        api.json().get("revision").is_none(),
        "the public never sees a proposed edit: {}",
        api.body
    );
    format!(
        "{}\n{}\n{}\n{}",
        page.body, gallery.body, vote.body, api.body
    )
}

async fn entry_text(env: &TestEnv, id: Uuid) -> (String, String, String) {
    sqlx::query_as("select title, description, status::text from entry where entry_id = $1")
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_edit_of_an_approved_entry_stays_off_every_public_surface_until_an_organizer_approves_it()
 {
    let mut fx = fixture().await;
    let id = approved_entry(&fx, APPROVED, "Ảnh chụp lúc 6 giờ chiều.").await;
    let before = public_surfaces(&fx, id).await;
    assert!(before.contains(APPROVED));
    let stage = fx
        .org
        .api(
            "POST",
            &format!("/api/v1/contests/{}/live", fx.slug),
            Some(&fx.org_token),
            Some(json!({"stage_entry_id": id})),
        )
        .await;
    assert_eq!(stage.status, StatusCode::OK, "{}", stage.body);

    // The attack: the author rewrites the approved entry into an advertisement.
    let res = fx
        .author
        .post_form(
            &format!("/entries/{id}/edit"),
            &[("title", SPAM), ("description", "visit evil.example now")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    let shown = public_surfaces(&fx, id).await;
    assert!(!shown.contains("evil.example"), "the spam is public");
    assert!(shown.contains(APPROVED), "the approved text stays public");
    assert!(
        shown.contains(r#"content="Hoàng hôn trên sông Sài Gòn""#),
        "og:title"
    );
    assert_eq!(entry_text(&fx.env, id).await.2, "approved");
    // The live stage and the organizers' export read the same reviewed text.
    let live = Client::new(fx.env.state())
        .api(
            "GET",
            &format!("/api/v1/contests/{}/live", fx.slug),
            None,
            None,
        )
        .await;
    assert!(live.body.contains(APPROVED), "{}", live.body);
    assert!(!live.body.contains("evil.example"));
    let export = fx
        .org
        .get(&format!(
            "/organize/contests/{}/export/entries.csv",
            fx.slug
        ))
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.body.contains(APPROVED) && !export.body.contains("evil.example"));

    // The author is told that edits are reviewed, sees that this one waits, and what they
    // proposed.
    let form = fx.author.get(&format!("/entries/{id}/edit")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains(r#"id="edit-review-note""#),
        "the author is told the edit will be reviewed"
    );
    let list = fx.author.get("/me/entries").await;
    assert!(
        list.body.contains(r#"class="edit-awaiting""#),
        "{}",
        list.body
    );
    let mine = fx.author.get(&format!("/entries/{id}")).await;
    assert!(
        mine.body.contains(r#"id="entry-revision""#),
        "{}",
        mine.body
    );
    assert!(mine.body.contains(SPAM));
    let api = fx
        .author
        .api(
            "GET",
            &format!("/api/v1/entries/{id}"),
            Some(&fx.author_token),
            None,
        )
        .await
        .json();
    assert_eq!(api["title"], APPROVED);
    assert_eq!(api["revision"]["status"], "pending");
    assert_eq!(api["revision"]["title"], SPAM);
    // The edit form goes on from the waiting edit.
    assert!(
        fx.author
            .get(&format!("/entries/{id}/edit"))
            .await
            .body
            .contains(SPAM)
    );

    // The organizer sees old → new in the queue and rejects with a reason.
    let queue = fx
        .org
        .get(&format!("/organize/contests/{}/queue", fx.slug))
        .await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(
        queue.body.contains(&format!("<del>{APPROVED}</del>")),
        "{}",
        queue.body
    );
    assert!(queue.body.contains(&format!("<ins>{SPAM}</ins>")));
    assert!(
        queue
            .body
            .contains(&format!("/entries/{id}/revision/review"))
    );
    let revision: i64 = sqlx::query_scalar(
        "select entry_revision_id from entry_revision where entry_id = $1 and status = 'pending'",
    )
    .bind(id)
    .fetch_one(&fx.env.db)
    .await
    .unwrap();
    let res = fx
        .org
        .post_form(
            &format!("/entries/{id}/revision/review"),
            &[
                ("decision", "reject"),
                ("reason", "Quảng cáo không được phép"),
                ("seen", &revision.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let shown = public_surfaces(&fx, id).await;
    assert!(!shown.contains("evil.example"));
    assert!(shown.contains(APPROVED));
    assert_eq!(entry_text(&fx.env, id).await.0, APPROVED);
    let mine = fx.author.get(&format!("/entries/{id}")).await;
    assert!(
        mine.body.contains("Quảng cáo không được phép"),
        "the author sees why"
    );
    assert!(
        outbox(&fx.env, &fx.author_email)
            .await
            .iter()
            .any(|(kind, _, body)| kind == "entry-edit-rejected"
                && body.contains("Quảng cáo không được phép"))
    );

    // The happy path: a real correction, approved through the API, becomes the public text.
    let corrected = "Hoàng hôn trên sông Sài Gòn, tháng Mười";
    let res = fx
        .author
        .post_form(
            &format!("/entries/{id}/edit"),
            &[
                ("title", corrected),
                ("description", "Ảnh chụp lúc 6 giờ chiều."),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(!public_surfaces(&fx, id).await.contains(corrected));
    let queue = fx
        .org
        .get(&format!("/organize/contests/{}/queue", fx.slug))
        .await;
    assert!(queue.body.contains(&format!("<ins>{corrected}</ins>")));
    let review = format!("/api/v1/entries/{id}/revision/review");
    let stale = fx
        .org
        .api(
            "POST",
            &review,
            Some(&fx.org_token),
            Some(json!({"decision": "approve", "seen": revision.to_string()})),
        )
        .await;
    assert_eq!(
        (stale.status, stale.json()["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("edit-changed")),
        "an approval names the edit it read"
    );
    let by_author = fx
        .author
        .api(
            "POST",
            &review,
            Some(&fx.author_token),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(by_author.status, StatusCode::FORBIDDEN);
    let ok = fx
        .org
        .api(
            "POST",
            &review,
            Some(&fx.org_token),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.json()["revision"]["status"], "approved");
    let shown = public_surfaces(&fx, id).await;
    assert!(shown.contains(corrected), "the approved edit is public");
    let again = fx
        .org
        .api(
            "POST",
            &review,
            Some(&fx.org_token),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(again.json()["error"]["code"], "no-pending-edit");
}

#[tokio::test]
async fn a_rejected_entry_edited_goes_back_to_review_and_nothing_is_public_meanwhile() {
    let mut fx = fixture().await;
    let id = approved_entry(&fx, APPROVED, "").await;
    set_status(&fx.env, id, "rejected").await;
    let res = fx
        .author
        .post_form(
            &format!("/entries/{id}/edit"),
            &[("title", SPAM), ("description", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        entry_text(&fx.env, id).await,
        (SPAM.to_owned(), String::new(), "pending_review".to_owned())
    );
    let mut anon = Client::new(fx.env.state());
    assert_eq!(
        anon.get(&format!("/entries/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !anon
            .get(&format!("/contests/{}", fx.slug))
            .await
            .body
            .contains("evil.example")
    );
    // It waits in the organizer's queue like a new entry.
    let queue = fx
        .org
        .get(&format!("/organize/contests/{}/queue", fx.slug))
        .await;
    assert!(queue.body.contains(&format!("/entries/{id}/review")));
}

#[tokio::test]
async fn an_entry_review_names_the_text_it_read_so_an_edit_in_between_is_not_approved_unseen() {
    let mut fx = fixture().await;
    let id = approved_entry(&fx, APPROVED, "").await;
    set_status(&fx.env, id, "pending_review").await;
    let page = fx.org.get(&format!("/entries/{id}")).await;
    let digest = page
        .body
        .split(r#"name="seen" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    // While the organizer reads, the author swaps the text.
    let res = fx
        .author
        .post_form(
            &format!("/entries/{id}/edit"),
            &[("title", SPAM), ("description", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let res = fx
        .org
        .post_form(
            &format!("/entries/{id}/review"),
            &[("decision", "approve"), ("reason", ""), ("seen", &digest)],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(entry_text(&fx.env, id).await.2, "pending_review");
    // Read again, then approve: fine.
    let page = fx.org.get(&format!("/entries/{id}")).await;
    assert!(page.body.contains(SPAM));
    let digest = page
        .body
        .split(r#"name="seen" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let res = fx
        .org
        .post_form(
            &format!("/entries/{id}/review"),
            &[
                ("decision", "reject"),
                ("reason", "Quảng cáo"),
                ("seen", &digest),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(entry_text(&fx.env, id).await.2, "rejected");
}

#[tokio::test]
async fn editing_after_the_submission_phase_closed_is_refused_and_changes_nothing() {
    let mut fx = fixture().await;
    let id = approved_entry(&fx, APPROVED, "").await;
    close_submission_now(&fx.env, fx.contest_id).await;
    let res = fx
        .author
        .post_form(
            &format!("/entries/{id}/edit"),
            &[("title", SPAM), ("description", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(entry_text(&fx.env, id).await.0, APPROVED);
    let waiting: i64 =
        sqlx::query_scalar("select count(*) from entry_revision where entry_id = $1")
            .bind(id)
            .fetch_one(&fx.env.db)
            .await
            .unwrap();
    assert_eq!(waiting, 0);
}

/// Every surface the public (or a signed-out judge) can reach, as one text.
async fn surfaces_for(fx: &Fx, who: &mut Client, token: Option<&str>, id: Uuid) -> String {
    let mut all = String::new();
    for uri in [
        format!("/entries/{id}"),
        format!("/contests/{}", fx.slug),
        format!("/contests/{}?unit=q1-a", fx.slug),
        format!("/contests/{}/vote", fx.slug),
        format!("/contests/{}/results", fx.slug),
    ] {
        let res = who.get(&uri).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        all.push_str(&res.body);
    }
    let api = who
        .api("GET", &format!("/api/v1/entries/{id}"), token, None)
        .await;
    assert_eq!(api.status, StatusCode::OK);
    all.push_str(&api.body);
    let results = who
        .api(
            "GET",
            &format!("/api/v1/contests/{}/results", fx.slug),
            token,
            None,
        )
        .await;
    all.push_str(&results.body);
    all
}

fn shows_author(text: &str) -> bool {
    text.contains(AUTHOR_NAME) || text.contains(AUTHOR_UNIT)
}

#[tokio::test]
async fn on_a_blind_contest_only_the_author_and_organizers_see_who_made_an_entry_until_results_are_published()
 {
    let mut fx = fixture().await;
    let id = approved_entry(&fx, APPROVED, "").await;
    // Another author's entry from another unit, so a unit filter that worked would hide it.
    let (other, _, _) = user_in(&fx.env, Role::Member, Some("hn")).await;
    let other_entry = fx.env.draft_entry(fx.contest_id, other).await;
    set_status(&fx.env, other_entry, "approved").await;
    let mut anon = Client::new(fx.env.state());

    // The happy path first: a contest that is not blind shows authors to everyone, so the
    // checks below can fail.
    assert!(shows_author(&surfaces_for(&fx, &mut anon, None, id).await));
    let filtered = anon.get(&format!("/contests/{}?unit=q1-a", fx.slug)).await;
    assert!(!filtered.body.contains(&format!("/entries/{other_entry}")));

    organize(
        &fx.env,
        fx.contest_id,
        serde_json::json!({"blind_judging": true}),
    )
    .await;
    // A judge of the contest, signed in and signed out.
    let (_, judge_token, judge_email) = user_in(&fx.env, Role::Member, Some("hn")).await;
    sqlx::query("insert into contest_judge (contest_id, email) values ($1, $2)")
        .bind(fx.contest_id)
        .bind(&judge_email)
        .execute(&fx.env.db)
        .await
        .unwrap();
    let mut judge = Client::new(fx.env.state());
    judge.login(&judge_email, PASSWORD).await;
    let mut stranger = Client::new(fx.env.state());

    let anonymous = surfaces_for(&fx, &mut stranger, None, id).await;
    assert!(!shows_author(&anonymous), "the public sees the author");
    assert!(anonymous.contains(APPROVED), "the entry itself is shown");
    let as_judge = surfaces_for(&fx, &mut judge, Some(&judge_token), id).await;
    assert!(!shows_author(&as_judge), "a judge sees the author");
    // The unit filter is ignored: filtering by the author's unit would tell whose entry it is.
    let filtered = stranger
        .get(&format!("/contests/{}?unit=q1-a", fx.slug))
        .await;
    assert!(
        filtered.body.contains(&format!("/entries/{other_entry}")),
        "the unit filter narrows the gallery of a blind contest"
    );
    assert!(!filtered.body.contains(r#"id="unit-filter""#));
    let api = stranger
        .api("GET", &format!("/api/v1/entries/{id}"), None, None)
        .await
        .json();
    assert_eq!(api["author"], json!(null));

    // The author and the organizers still see it.
    let mine = fx.author.get(&format!("/entries/{id}")).await;
    assert!(mine.body.contains(AUTHOR_NAME));
    let api = fx
        .author
        .api(
            "GET",
            &format!("/api/v1/entries/{id}"),
            Some(&fx.author_token),
            None,
        )
        .await
        .json();
    assert_eq!(api["author"]["name"], AUTHOR_NAME);
    let org_page = fx.org.get(&format!("/entries/{id}")).await;
    assert!(org_page.body.contains(AUTHOR_NAME));
    let org_gallery = fx.org.get(&format!("/contests/{}", fx.slug)).await;
    assert!(org_gallery.body.contains(AUTHOR_NAME));
    let api = fx
        .org
        .api(
            "GET",
            &format!("/api/v1/entries/{id}"),
            Some(&fx.org_token),
            None,
        )
        .await
        .json();
    assert_eq!(api["author"]["unit"], AUTHOR_UNIT);

    // Results published: the names show.
    let res = fx
        .org
        .api(
            "POST",
            &format!("/api/v1/contests/{}/results/publish", fx.slug),
            Some(&fx.org_token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let after = surfaces_for(&fx, &mut stranger, None, id).await;
    assert!(shows_author(&after), "published results name the authors");
    assert!(shows_author(
        &surfaces_for(&fx, &mut judge, Some(&judge_token), id).await
    ));

    // A later round still being judged makes the contest blind again.
    sqlx::query("insert into judging_round (contest_id, number, name) values ($1, 2, 'Chung kết')")
        .bind(fx.contest_id)
        .execute(&fx.env.db)
        .await
        .unwrap();
    assert!(!shows_author(
        &surfaces_for(&fx, &mut stranger, None, id).await
    ));
}
