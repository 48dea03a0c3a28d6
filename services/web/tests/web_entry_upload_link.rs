#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The entry page offers the uploader only while the upload service would take a file: the
//! author's own draft (or an upload under way) while submission is open.

mod support;

use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use support::*;

fn has_upload_link(body: &str, entry: uuid::Uuid) -> bool {
    body.contains(&format!("href=\"/entries/{entry}/upload\""))
}

#[tokio::test]
async fn the_upload_link_shows_only_while_an_upload_is_possible() {
    let env = TestEnv::new().await;
    let (author, _, email) = user_in(&env, Role::Member, None).await;
    let (_, _, other_email) = user_in(&env, Role::Member, None).await;
    let contest = env.open_contest(&["photo", "video"]).await;
    let entry = env.draft_entry(contest, author).await;
    let mut c = Client::new(env.state());
    assert_eq!(c.login(&email, PASSWORD).await.status.as_u16(), 303);

    for (status, shown) in [
        ("draft", true),
        ("uploading", true),
        ("processing", false),
        ("pending_review", false),
        ("approved", false),
        ("rejected", false),
    ] {
        set_status(&env, entry, status).await;
        let page = c.get(&format!("/entries/{entry}")).await;
        assert_eq!(page.status.as_u16(), 200, "{status}");
        assert_eq!(has_upload_link(&page.body, entry), shown, "{status}");
        if status == "pending_review" {
            // Editing the text is still possible; only the upload link goes.
            assert!(
                page.body
                    .contains(&format!("href=\"/entries/{entry}/edit\""))
            );
        }
    }

    // Submission closed: no upload, even for a draft.
    set_status(&env, entry, "draft").await;
    close_submission_now(&env, contest).await;
    let page = c.get(&format!("/entries/{entry}")).await;
    assert!(!has_upload_link(&page.body, entry));

    // Someone else's approved entry (public): never.
    let reopen = serde_json::json!({"phases": {"submission": {"closes_at": in_minutes(24 * 60)}}});
    organize(&env, contest, reopen).await;
    set_status(&env, entry, "approved").await;
    let mut other = Client::new(env.state());
    assert_eq!(
        other.login(&other_email, PASSWORD).await.status.as_u16(),
        303
    );
    let page = other.get(&format!("/entries/{entry}")).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(!has_upload_link(&page.body, entry));
}
