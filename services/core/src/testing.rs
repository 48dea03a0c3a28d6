//! Test harness: one private PostgreSQL cluster and one embedded S3 endpoint per test
//! process, a fresh database (copied from a migrated template) and a fresh bucket per test.
//! `TEST_DATABASE_URL` and `TEST_S3_*` point the harness at external servers instead.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use sqlx::PgPool;

use crate::config::{Config, S3Settings};
use crate::embedded::postgres::EmbeddedPostgres;
use crate::embedded::s3::EmbeddedS3;
use crate::storage::Storage;
use crate::{AppState, db};

/// Makes the URL of a named test database.
type UrlFor = Box<dyn Fn(&str) -> String + Send + Sync>;

struct Shared {
    /// A URL of the server's maintenance database, for CREATE DATABASE.
    admin_url: String,
    /// Builds a URL for a database on the same server.
    url_for: Box<dyn Fn(&str) -> String + Send + Sync>,
    template: String,
    s3: S3Settings,
    _pg: std::sync::Mutex<Option<EmbeddedPostgres>>,
    _s3: Option<EmbeddedS3>,
    _runtime: Option<tokio::runtime::Runtime>,
    _dir: PathBuf,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    // Built on a thread of its own: a test's runtime cannot block on another runtime.
    SHARED.get_or_init(|| {
        std::thread::spawn(init_shared)
            .join()
            .expect("start the test services")
    })
}

fn init_shared() -> Shared {
    {
        let run_id = format!("{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let dir = std::env::temp_dir().join(format!("hoithi-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test folder");
        remove_stale_test_dirs();

        let (admin_url, url_for, pg): (String, UrlFor, _) = match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(url) => {
                let base = url.clone();
                (
                    url,
                    Box::new(move |db: &str| replace_database(&base, db)),
                    None,
                )
            }
            None => {
                let pg = EmbeddedPostgres::start(&dir.join("pg"), None)
                    .expect("start the test PostgreSQL");
                let dir = pg.dir().to_owned();
                let url_of = move |db: &str| crate::embedded::postgres::socket_url(&dir, db);
                (url_of("postgres"), Box::new(url_of), Some(pg))
            }
        };

        // The S3 server must outlive every test's own runtime, so it gets one of its own.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime");
        let template = format!("hoithi_template_{run_id}");
        let (s3, embedded_s3) = runtime.block_on(async {
            db::ensure_database(&admin_url, &template)
                .await
                .expect("create the template database");
            let pool = db::connect(&url_for(&template), 2)
                .await
                .expect("connect to the template database");
            db::migrate(&pool)
                .await
                .expect("migrate the template database");
            pool.close().await;
            match external_s3() {
                Some(s3) => (s3, None),
                None => {
                    let s3 = EmbeddedS3::start(
                        &dir.join("objects"),
                        &dir.join("s3-credentials.json"),
                        "unused",
                        "127.0.0.1:0".parse().expect("address"),
                        0,
                    )
                    .await
                    .expect("start the test S3 endpoint");
                    (s3.settings.clone(), Some(s3))
                }
            }
        });
        Shared {
            admin_url,
            url_for,
            template,
            s3,
            _pg: std::sync::Mutex::new(pg),
            _s3: embedded_s3,
            _runtime: Some(runtime),
            _dir: dir,
        }
    }
}

fn external_s3() -> Option<S3Settings> {
    let get = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
    Some(S3Settings {
        endpoint: get("TEST_S3_ENDPOINT")?,
        bucket: String::new(),
        access_key_id: get("TEST_S3_ACCESS_KEY_ID")?,
        secret_access_key: get("TEST_S3_SECRET_ACCESS_KEY")?,
        region: get("TEST_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
    })
}

/// Test folders whose process is gone are removed, so /tmp does not fill up.
fn remove_stale_test_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("hoithi-test-")) else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn replace_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A database of its own, migrated, and a bucket of its own, for one test.
pub struct TestEnv {
    pub db: PgPool,
    pub database_url: String,
    pub storage: Storage,
    pub s3: S3Settings,
    /// Shared by every state of this site, so they all find the vote runtime a test started.
    pub runtimes: Arc<crate::state::Runtimes>,
}

impl TestEnv {
    pub async fn new() -> Self {
        let shared = shared();
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let admin = db::connect(&shared.admin_url, 1)
            .await
            .expect("connect to the test server");
        // Copies from one template can collide when many tests start at once; retry.
        let mut attempt = 0;
        loop {
            let sql = format!(
                "create database {} template {}",
                db::quote_ident(&name),
                db::quote_ident(&shared.template)
            );
            match sqlx::query(&sql).execute(&admin).await {
                Ok(_) => break,
                Err(e) if attempt < 20 => {
                    attempt += 1;
                    tracing::debug!(error = %e, "create database from template: retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                Err(e) => panic!("cannot create the test database: {e}"),
            }
        }
        admin.close().await;
        let database_url = (shared.url_for)(&name);
        let db = db::connect(&database_url, 10)
            .await
            .expect("connect to the test database");

        let mut s3 = shared.s3.clone();
        s3.bucket = format!("t-{}", uuid::Uuid::new_v4().simple());
        let storage = Storage::new(&s3);
        storage
            .ensure_bucket(&s3.endpoint)
            .await
            .expect("create the test bucket");
        Self {
            db,
            database_url,
            storage,
            s3,
            runtimes: Arc::default(),
        }
    }

    /// The application state for in-process (`oneshot`) tests.
    pub fn state(&self) -> AppState {
        let mut config = Config::from_lookup(|_| None).expect("default config");
        config.s3 = Some(self.s3.clone());
        config.database_url = Some(self.database_url.clone());
        AppState::new(
            self.db.clone(),
            Arc::new(self.storage.clone()),
            Arc::new(config),
        )
        .sharing_runtimes(self.runtimes.clone())
    }
}

/// Data that most tests need: users with tokens, a contest open for entries, a draft entry.
impl TestEnv {
    /// A verified user of `role` and a bearer token for it.
    pub async fn user(&self, role: crate::domain::Role) -> (i64, String) {
        let email = format!(
            "{}-{}@example.vn",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        let id = crate::account::create_user(
            &self.db,
            crate::account::NewUser {
                email: crate::domain::Email::parse(&email).expect("email"),
                password: crate::domain::Password::parse("mật-khẩu-thử").expect("password"),
                name: crate::domain::DisplayName::parse("Người Thử").expect("name"),
                role,
                unit_slug: None,
                email_verified: true,
            },
        )
        .await
        .expect("create user");
        let token = crate::auth::issue_token(&self.db, id)
            .await
            .expect("issue token");
        (id, token)
    }

    /// A contest whose submission phase opened an hour ago and closes in a week.
    pub async fn open_contest(&self, kinds: &[&str]) -> i64 {
        let now = chrono::Utc::now();
        let slug = format!("thi-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        crate::contest::create_contest(
            &self.db,
            &crate::contest::NewContest {
                slug: &slug,
                title: "Hội thi thử",
                unit_id: None,
                kinds,
                submission_opens_at: now - chrono::Duration::hours(1),
                submission_closes_at: now + chrono::Duration::days(7),
                created_by: None,
            },
        )
        .await
        .expect("create contest")
    }

    /// A contest in its voting window (opened an hour ago, closing in a day, beside its
    /// submission, which the contest allows) with `n` approved entries of one author:
    /// (contest id, slug, entries).
    pub async fn contest_in_voting(&self, n: usize) -> (i64, String, Vec<uuid::Uuid>) {
        let id = self.open_contest(&["photo"]).await;
        let (author, _) = self.user(crate::domain::Role::Member).await;
        let slug: String = sqlx::query_scalar(
            "update contest set voting_opens_at = now() - interval '1 hour',
                                voting_closes_at = now() + interval '1 day',
                                voting_overlaps_submission = true
             where contest_id = $1 returning slug",
        )
        .bind(id)
        .fetch_one(&self.db)
        .await
        .expect("open voting");
        let mut entries = Vec::new();
        for _ in 0..n {
            let e = self.draft_entry(id, author).await;
            sqlx::query("update entry set status = 'approved' where entry_id = $1")
                .bind(e)
                .execute(&self.db)
                .await
                .expect("approve entry");
            entries.push(e);
        }
        (id, slug, entries)
    }

    /// A draft entry of `author_id` in `contest_id`.
    pub async fn draft_entry(&self, contest_id: i64, author_id: i64) -> uuid::Uuid {
        crate::contest::create_draft_entry(&self.db, contest_id, author_id, "Bài dự thi", "Mô tả")
            .await
            .expect("create draft entry")
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn the_database_name_is_replaced_and_socket_parameters_kept() {
        assert_eq!(
            replace_database("postgres://u:p@h:5432/postgres", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?host=/run/pg", "x"),
            "postgres://u@h/x?host=/run/pg"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
