#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The scheduled erasures of personal data with the real binary (issue 22):
//! `hoithi admin delete-accounts` carries out deletions past their grace period and
//! `hoithi admin apply-retention` each contest's retention after results; with `--dry-run`
//! both only say what they would do; the web role runs them at start and then hourly.

mod common;

use std::time::Duration;

use common::{Server, configured, hoithi, run};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use uuid::Uuid;

fn cli(env: &TestEnv, task: &str, args: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, env);
    cmd.arg("admin").arg(task).args(args);
    let (status, out, err, _) = run(cmd, Duration::from_secs(120));
    assert!(status.success(), "{out}{err}");
    out
}

async fn put(env: &TestEnv, key: &str) {
    env.storage
        .client
        .put_object()
        .bucket(&env.storage.bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
}

async fn exists(env: &TestEnv, key: &str) -> bool {
    env.storage
        .client
        .head_object()
        .bucket(&env.storage.bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

/// A photo of `entry` in storage: its original and one rendition.
async fn photo(env: &TestEnv, entry: Uuid) -> Vec<String> {
    let asset = Uuid::new_v4();
    let keys = vec![
        format!("originals/{asset}"),
        format!("media/{asset}/photo-400.jpg"),
    ];
    sqlx::query(
        "insert into media_asset (media_asset_id, entry_id, kind, status, original_key, original_bytes,
                                  original_sha256)
         values ($1, $2, 'photo', 'ready', $3, 1, repeat('a', 64))",
    )
    .bind(asset)
    .bind(entry)
    .bind(&keys[0])
    .execute(&env.db)
    .await
    .unwrap();
    for k in &keys {
        put(env, k).await;
    }
    keys
}

async fn email_of(env: &TestEnv, id: i64) -> (String, bool) {
    sqlx::query_as(
        "select email::text, deleted_at is not null from app_user where app_user_id = $1",
    )
    .bind(id)
    .fetch_one(&env.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn delete_accounts_waits_for_the_grace_period_and_a_dry_run_changes_nothing() {
    let env = TestEnv::new().await;
    let (due, _) = env.user(Role::Member).await;
    let (recent, _) = env.user(Role::Member).await;
    for (id, ago) in [(due, "8 days"), (recent, "1 day")] {
        sqlx::query(
            "update app_user set deletion_requested_at = now() - $2::interval where app_user_id = $1",
        )
        .bind(id)
        .bind(ago)
        .execute(&env.db)
        .await
        .unwrap();
    }
    let before = email_of(&env, due).await;
    let out = cli(&env, "delete-accounts", &["--dry-run"]);
    assert!(
        out.contains(&format!("account {due}: would delete")),
        "{out}"
    );
    assert!(out.contains("1 accounts: would delete (7 days"), "{out}");
    assert_eq!(
        email_of(&env, due).await,
        before,
        "a dry run changes nothing"
    );
    let out = cli(&env, "delete-accounts", &[]);
    assert!(out.contains(&format!("account {due}: deleted")), "{out}");
    assert_eq!(
        email_of(&env, due).await,
        (format!("deleted-{due}@deleted.invalid"), true)
    );
    assert!(!email_of(&env, recent).await.1, "still in its grace period");
    assert!(cli(&env, "delete-accounts", &[]).contains("0 accounts"));

    // The running server does it on its own (at start, then hourly).
    sqlx::query(
        "update app_user set deletion_requested_at = now() - interval '8 days' where app_user_id = $1",
    )
    .bind(recent)
    .execute(&env.db)
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !email_of(&env, recent).await.1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not delete the account"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();
}

#[tokio::test]
async fn apply_retention_deletes_non_winners_files_and_code_only_voters_after_results() {
    let env = TestEnv::new().await;
    let (contest, _, entries) = env.contest_in_voting(2).await;
    let (winner, loser) = (entries[0], entries[1]);
    let winner_keys = photo(&env, winner).await;
    let loser_keys = photo(&env, loser).await;
    let round: i64 = sqlx::query_scalar(
        "insert into judging_round (contest_id, number, name) values ($1, 1, 'Chung kết')
         returning judging_round_id",
    )
    .bind(contest)
    .fetch_one(&env.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into judging_result (judging_round_id, contest_id, snapshot) values ($1, $2, $3)",
    )
    .bind(round)
    .bind(contest)
    .bind(serde_json::json!({"entries": [
        {"id": winner, "rank": 1, "votes": 1},
        {"id": loser, "rank": 4, "votes": 1},
    ]}))
    .execute(&env.db)
    .await
    .unwrap();
    // A voter who only signed in with a code, and a member who also has a password.
    let code_voter: i64 = sqlx::query_scalar(
        "insert into app_user (email, display_name, password_hash, email_verified_at)
         values ('ma.so@example.vn', 'ma.so', '!voter-code', now()) returning app_user_id",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    let (member, _) = env.user(Role::Member).await;
    for voter in [code_voter, member] {
        sqlx::query(
            "insert into vote (contest_id, entry_id, voter_id, vote_day) values ($1, $2, $3, current_date)",
        )
        .bind(contest)
        .bind(loser)
        .bind(voter)
        .execute(&env.db)
        .await
        .unwrap();
    }
    // The organizer closes the contest, publishes its results now and keeps nothing after.
    let now = common::in_minutes(0);
    let closed = serde_json::json!({"retention_days": 0, "phases": {
        "submission": {"closes_at": now}, "voting": {"closes_at": now}, "results_at": now}});
    common::organize(&env, contest, closed).await;
    let media = || {
        let db = env.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select count(*) from media_asset")
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let out = cli(&env, "apply-retention", &["--dry-run"]);
    assert!(
        out.contains("would delete the files of 1 entries and 1 code-only voters"),
        "{out}"
    );
    assert_eq!(media().await, 2);
    for k in loser_keys.iter().chain(&winner_keys) {
        assert!(exists(&env, k).await, "{k} kept by the dry run");
    }
    assert!(!email_of(&env, code_voter).await.1);
    let out = cli(&env, "apply-retention", &[]);
    assert!(
        out.contains("deleted the files of 1 entries and 1 code-only voters"),
        "{out}"
    );
    assert_eq!(media().await, 1);
    for k in &loser_keys {
        assert!(!exists(&env, k).await, "{k} deleted");
    }
    for k in &winner_keys {
        assert!(exists(&env, k).await, "{k} of a winner kept");
    }
    assert_eq!(
        email_of(&env, code_voter).await,
        (format!("deleted-{code_voter}@deleted.invalid"), true)
    );
    assert!(
        !email_of(&env, member).await.1,
        "a member with a password stays"
    );
    let votes: i64 = sqlx::query_scalar("select count(*) from vote where contest_id = $1")
        .bind(contest)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(votes, 2, "votes still count");
    assert!(cli(&env, "apply-retention", &[]).contains("0 contests"));
}
