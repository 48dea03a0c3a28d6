#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The job queue's rules on a real PostgreSQL: concurrent leases never share a job
//! (`FOR UPDATE SKIP LOCKED`), an expired lease is taken over, heartbeats keep a lease, retries
//! back off, and a job that used its attempts is `dead` with its last error.

use std::time::Duration;

use hoithi_core::job::{KIND_PROCESS_MEDIA, enqueue};
use hoithi_core::testing::TestEnv;
use hoithi_worker::queue;

async fn job(env: &TestEnv, n: usize) -> i64 {
    enqueue(
        &mut env.db.acquire().await.unwrap(),
        KIND_PROCESS_MEDIA,
        &serde_json::json!({"n": n}),
        Some(&format!("test:{n}")),
    )
    .await
    .unwrap()
}

async fn status(env: &TestEnv, id: i64) -> (String, i32, Option<String>) {
    sqlx::query_as("select status, attempts, last_error from job where job_id = $1")
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn concurrent_workers_never_lease_the_same_job() {
    let env = TestEnv::new().await;
    for n in 0..20 {
        job(&env, n).await;
    }
    let mut tasks = Vec::new();
    for w in 0..8 {
        let db = env.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(j) = queue::lease(
                &db,
                KIND_PROCESS_MEDIA,
                &format!("w{w}"),
                Duration::from_secs(60),
            )
            .await
            .unwrap()
            {
                got.push(j.job_id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (20, 20));
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_owner_cannot_extend_it() {
    let env = TestEnv::new().await;
    let id = job(&env, 1).await;
    let lease = Duration::from_secs(1);
    let a = queue::lease(&env.db, KIND_PROCESS_MEDIA, "a", lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.job_id, a.attempts), (id, 1));
    // A live lease is not leasable; a heartbeat keeps it alive past its first expiry.
    assert!(
        queue::lease(&env.db, KIND_PROCESS_MEDIA, "b", lease)
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(queue::heartbeat(&env.db, id, "a", lease).await.unwrap());
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        queue::lease(&env.db, KIND_PROCESS_MEDIA, "b", lease)
            .await
            .unwrap()
            .is_none()
    );
    // "a" dies: no more heartbeats.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let b = queue::lease(&env.db, KIND_PROCESS_MEDIA, "b", lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.job_id, b.attempts), (id, 2));
    assert!(!queue::heartbeat(&env.db, id, "a", lease).await.unwrap());
    assert!(
        !queue::complete(&env.db, id, "a").await.unwrap(),
        "a lost its lease"
    );
    assert!(queue::complete(&env.db, id, "b").await.unwrap());
    assert_eq!(status(&env, id).await.0, "done");
}

#[tokio::test]
async fn failures_back_off_and_the_last_attempt_makes_the_job_dead_with_its_error() {
    let env = TestEnv::new().await;
    let id = job(&env, 1).await;
    sqlx::query("update job set max_attempts = 3 where job_id = $1")
        .bind(id)
        .execute(&env.db)
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    for attempt in 1..=3 {
        let j = queue::lease(&env.db, KIND_PROCESS_MEDIA, "w", lease)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(j.attempts, attempt);
        let dead = queue::retry_or_bury(&env.db, &j, "w", &format!("boom {attempt}"))
            .await
            .unwrap();
        assert_eq!(dead, attempt == 3);
        if !dead {
            // Backed off: not due yet.
            let delay: f64 = sqlx::query_scalar(
                "select extract(epoch from run_at - now())::float8 from job where job_id = $1",
            )
            .bind(id)
            .fetch_one(&env.db)
            .await
            .unwrap();
            let base = 2f64.powi(attempt);
            assert!(
                delay > base * 0.5 - 0.5 && delay < base * 1.5,
                "attempt {attempt}: {delay}"
            );
            assert!(
                queue::lease(&env.db, KIND_PROCESS_MEDIA, "w", lease)
                    .await
                    .unwrap()
                    .is_none()
            );
            sqlx::query("update job set run_at = now() where job_id = $1")
                .bind(id)
                .execute(&env.db)
                .await
                .unwrap();
        }
    }
    assert_eq!(
        status(&env, id).await,
        ("dead".into(), 3, Some("boom 3".into()))
    );
    assert!(
        queue::lease(&env.db, KIND_PROCESS_MEDIA, "w", lease)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_released_job_is_leased_again_without_counting_the_attempt() {
    let env = TestEnv::new().await;
    let id = job(&env, 1).await;
    let lease = Duration::from_secs(60);
    queue::lease(&env.db, KIND_PROCESS_MEDIA, "w", lease)
        .await
        .unwrap()
        .unwrap();
    queue::release(&env.db, id, "w").await.unwrap();
    let again = queue::lease(&env.db, KIND_PROCESS_MEDIA, "v", lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.job_id, again.attempts), (id, 1));
}
