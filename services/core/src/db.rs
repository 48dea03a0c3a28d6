//! The PostgreSQL pool and migrations. SQL of each feature lives beside the feature.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Options for `url`, with statement logging quietened.
pub fn options(url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)
        .context("DATABASE_URL is not a PostgreSQL URL (postgres://user:password@host/database)")?
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500)))
}

/// Opens a pool and proves the server answers; the error tells the operator what to check.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let opts = options(url)?;
    let where_ = describe_target(&opts);
    // One direct attempt first: the pool would retry until its timeout and hide the cause.
    let first = tokio::time::timeout(Duration::from_secs(10), opts.connect())
        .await
        .map_err(|_| anyhow::anyhow!("PostgreSQL at {where_} did not answer within 10 s; check DATABASE_URL"))?
        .map_err(|e| match e {
            sqlx::Error::Io(io) => anyhow::anyhow!("cannot reach PostgreSQL at {where_} ({io}); check DATABASE_URL and that the server is running, or unset DATABASE_URL to use the embedded database"),
            sqlx::Error::Database(db) => anyhow::anyhow!("PostgreSQL at {where_} refused the connection: {}; check the user, password and database in DATABASE_URL", db.message()),
            other => anyhow::anyhow!("cannot connect to PostgreSQL at {where_}: {other}"),
        })?;
    first.close().await?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy_with(opts);
    Ok(pool)
}

fn describe_target(opts: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        opts.get_host(),
        opts.get_port(),
        opts.get_database().unwrap_or("(default)")
    )
}

/// Applies pending migrations; applying twice is a no-op. A database that a newer build has
/// migrated (an applied migration this build does not know) is refused before anything is
/// applied, with what to do about it, rather than half-migrated by an older binary.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    match MIGRATOR.run(pool).await {
        Ok(()) => Ok(()),
        Err(sqlx::migrate::MigrateError::VersionMissing(version)) => {
            Err(anyhow::anyhow!("{}", newer_schema_message(version)))
        }
        Err(err) => Err(err).context("applying database migrations failed"),
    }
}

/// What an operator reads when the data folder (or database) is newer than this binary.
pub fn newer_schema_message(version: i64) -> String {
    format!(
        "this data folder was written by a newer Hội Thi (migration {version}); install that version or restore a backup"
    )
}

/// Creates `name` on the server behind `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let pool = connect(admin_url, 1).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&pool)
            .await?;
    if !exists {
        let result = sqlx::query(&format!("create database {}", quote_ident(name)))
            .execute(&pool)
            .await;
        // Another process may have created it at the same moment.
        if let Err(err) = result {
            let duplicate = err
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "42P04");
            if !duplicate {
                return Err(err).with_context(|| format!("cannot create the database {name}"));
            }
        }
    }
    pool.close().await;
    Ok(())
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
