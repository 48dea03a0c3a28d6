//! The SQL of streams: a contest's streams, the ones live now, and changes by organizers.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::source::{Platform, StreamSource};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreamRow {
    pub contest_stream_id: i64,
    pub contest_id: i64,
    pub title: String,
    pub platform: String,
    pub source_url: String,
    pub embed_url: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StreamRow {
    pub fn platform(&self) -> Platform {
        Platform::parse(&self.platform).unwrap_or(Platform::Hls)
    }

    pub fn is_live_at(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    pub fn is_live(&self) -> bool {
        self.is_live_at(Utc::now())
    }

    pub fn is_upcoming(&self) -> bool {
        Utc::now() < self.starts_at
    }

    pub fn is_hls(&self) -> bool {
        self.platform() == Platform::Hls
    }
}

const COLUMNS: &str = "contest_stream_id, contest_id, title, platform, source_url, embed_url,
    starts_at, ends_at, updated_at";

pub async fn for_contest(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<StreamRow>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from contest_stream where contest_id = $1
         order by starts_at, contest_stream_id limit 200"
    ))
    .bind(contest_id)
    .fetch_all(db)
    .await
}

/// Streams of the contest that have not ended, soonest first (the calendar's events).
pub async fn upcoming(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<StreamRow>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from contest_stream where contest_id = $1 and ends_at > now()
         order by starts_at, contest_stream_id limit 200"
    ))
    .bind(contest_id)
    .fetch_all(db)
    .await
}

pub async fn by_id(db: &PgPool, contest_id: i64, id: i64) -> sqlx::Result<Option<StreamRow>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from contest_stream where contest_id = $1 and contest_stream_id = $2"
    ))
    .bind(contest_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A stream that is live now, for the banners.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveNow {
    pub contest_stream_id: i64,
    pub title: String,
    pub contest_slug: String,
    pub contest_title: String,
}

impl LiveNow {
    pub fn href(&self) -> String {
        format!(
            "/contests/{}/streams/{}",
            self.contest_slug, self.contest_stream_id
        )
    }
}

/// Streams on air now, of one contest or of all.
pub async fn live_now(db: &PgPool, contest_id: Option<i64>) -> sqlx::Result<Vec<LiveNow>> {
    sqlx::query_as(
        "select s.contest_stream_id, s.title, c.slug as contest_slug, c.title as contest_title
         from contest_stream s join contest c using (contest_id)
         where s.starts_at <= now() and now() < s.ends_at
           and ($1::int8 is null or s.contest_id = $1)
         order by s.starts_at desc, s.contest_stream_id limit 10",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}

#[derive(Debug)]
pub struct NewStream {
    pub title: String,
    pub source: StreamSource,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

pub async fn insert(
    db: &PgPool,
    contest_id: i64,
    s: &NewStream,
    actor: i64,
) -> sqlx::Result<StreamRow> {
    sqlx::query_as(&format!(
        "insert into contest_stream (contest_id, title, platform, source_url, embed_url,
                                     starts_at, ends_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         returning {COLUMNS}"
    ))
    .bind(contest_id)
    .bind(&s.title)
    .bind(s.source.platform.as_str())
    .bind(&s.source.source)
    .bind(&s.source.embed)
    .bind(s.starts_at)
    .bind(s.ends_at)
    .bind(actor)
    .fetch_one(db)
    .await
}

/// Replaces a stream's title, address and times (checked as a new one is); `None` when the
/// contest has no such stream.
pub async fn update(
    db: &PgPool,
    contest_id: i64,
    id: i64,
    s: &NewStream,
) -> sqlx::Result<Option<StreamRow>> {
    sqlx::query_as(&format!(
        "update contest_stream set title = $3, platform = $4, source_url = $5, embed_url = $6,
                starts_at = $7, ends_at = $8
         where contest_id = $1 and contest_stream_id = $2
         returning {COLUMNS}"
    ))
    .bind(contest_id)
    .bind(id)
    .bind(&s.title)
    .bind(s.source.platform.as_str())
    .bind(&s.source.source)
    .bind(&s.source.embed)
    .bind(s.starts_at)
    .bind(s.ends_at)
    .fetch_optional(db)
    .await
}

/// Deletes a stream of the contest; false if there was none.
pub async fn delete(db: &PgPool, contest_id: i64, id: i64) -> sqlx::Result<bool> {
    let done =
        sqlx::query("delete from contest_stream where contest_id = $1 and contest_stream_id = $2")
            .bind(contest_id)
            .bind(id)
            .execute(db)
            .await?;
    Ok(done.rows_affected() > 0)
}
