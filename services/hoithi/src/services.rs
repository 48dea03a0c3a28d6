//! Opening the database and the object store: the configured ones, or the embedded
//! PostgreSQL cluster and S3 endpoint of a zero-configuration install.

use std::path::Path;

use anyhow::Context;
use hoithi_core::account::{self, CreateUserError, NewUser};
use hoithi_core::config::Config;
use hoithi_core::db;
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use hoithi_core::embedded::postgres::EmbeddedPostgres;
use hoithi_core::embedded::s3::EmbeddedS3;
use hoithi_core::storage::Storage;
use rand::Rng;
use sqlx::PgPool;

/// The database of the embedded cluster.
const EMBEDDED_DATABASE: &str = "hoithi";

pub struct Services {
    pub db: PgPool,
    /// The URL `db` was opened with (for pg_dump and pg_restore).
    pub database_url: String,
    storage: Option<Storage>,
    pg: Option<EmbeddedPostgres>,
    s3: Option<EmbeddedS3>,
}

impl Services {
    /// Connects to (or starts) PostgreSQL and applies migrations; with `with_storage`, also
    /// connects to (or starts) the object store and makes sure the bucket exists.
    pub async fn open(config: &Config, with_storage: bool) -> anyhow::Result<Self> {
        Self::open_migrating(config, with_storage, true).await
    }

    /// Like `open` with the object store, but leaves the schema as it is: `backup` copies
    /// what is there (an older binary's data stays that version's), and `restore` replaces
    /// it whatever version wrote it (a newer one included, to go back after an upgrade).
    pub async fn open_as_is(config: &Config) -> anyhow::Result<Self> {
        Self::open_migrating(config, true, false).await
    }

    async fn open_migrating(
        config: &Config,
        with_storage: bool,
        migrate: bool,
    ) -> anyhow::Result<Self> {
        let needs_data_dir = config.database_url.is_none() || (with_storage && config.s3.is_none());
        if needs_data_dir {
            prepare_data_dir(&config.data_dir)?;
        }

        let (url, pg) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let dir = config.data_dir.join("pg");
                let bin = config.pg_bin_dir.clone();
                let pg = tokio::task::spawn_blocking(move || {
                    EmbeddedPostgres::start(&dir, bin.as_deref())
                })
                .await
                .context("the PostgreSQL start-up task failed")??;
                db::ensure_database(&pg.url("postgres"), EMBEDDED_DATABASE).await?;
                (pg.url(EMBEDDED_DATABASE), Some(pg))
            }
        };
        let pool = db::connect(&url, 20).await?;
        if migrate {
            db::migrate(&pool).await?;
        }

        let mut services = Self {
            db: pool,
            database_url: url,
            storage: None,
            pg,
            s3: None,
        };
        if with_storage {
            let (settings, s3) = match &config.s3 {
                Some(settings) => (settings.clone(), None),
                None => {
                    let s3 = EmbeddedS3::start(
                        &config.data_dir.join("objects"),
                        &config.data_dir.join("s3-credentials.json"),
                        &config.embedded_bucket,
                        "127.0.0.1:0".parse()?,
                        config.s3_min_free_bytes,
                    )
                    .await?;
                    (s3.settings.clone(), Some(s3))
                }
            };
            let storage = Storage::new(&settings);
            tokio::time::timeout(
                std::time::Duration::from_secs(25),
                storage.ensure_bucket(&settings.endpoint),
            )
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the object store at {} did not answer within 25 s; check S3_ENDPOINT",
                    settings.endpoint
                )
            })??;
            services.storage = Some(storage);
            services.s3 = s3;
        }
        Ok(services)
    }

    pub fn storage(&self) -> anyhow::Result<&Storage> {
        self.storage
            .as_ref()
            .context("the object store was not opened")
    }

    /// Stops what this process started itself; configured services are left alone.
    pub async fn stop(self) {
        self.db.close().await;
        if let Some(s3) = self.s3 {
            s3.stop();
        }
        if let Some(pg) = self.pg {
            let _ = tokio::task::spawn_blocking(move || pg.stop()).await;
        }
    }
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    let hint = "set HOITHI_DATA to a folder this user can write, or configure DATABASE_URL and S3_ENDPOINT";
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data folder {}; {hint}", dir.display()))?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok")
        .with_context(|| format!("cannot write in the data folder {}; {hint}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// On a fresh install, creates an administrator and prints its one-time password.
pub async fn ensure_first_admin(db: &PgPool) -> anyhow::Result<()> {
    if account::admin_exists(db).await? {
        return Ok(());
    }
    const EMAIL: &str = "admin@hoithi.local";
    let password: String = {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::thread_rng();
        (0..16)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect()
    };
    let user = NewUser {
        email: Email::parse(EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?,
        password: Password::parse(&password).map_err(|e| anyhow::anyhow!("{e}"))?,
        name: DisplayName::parse("Quản trị viên").map_err(|e| anyhow::anyhow!("{e}"))?,
        role: Role::Admin,
        unit_slug: None,
        email_verified: true,
    };
    match account::create_user(db, user).await {
        Ok(_) => {
            println!(
                "First start: created the administrator {EMAIL} with the one-time password {password}"
            );
            println!(
                "Sign in and change it on the account page (/account); people, roles and units are managed at /admin/people and /admin/units"
            );
            Ok(())
        }
        // Another node created it at the same moment.
        Err(CreateUserError::EmailTaken(_)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}
