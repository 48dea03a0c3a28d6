//! Storing a new contest: the organizer's form, `POST /api/v1/contests` and `create-contest`
//! all come here with a `ContestSpec`.

use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Role;
use sqlx::{PgConnection, PgPool};

use super::refusal::{ContestRefusal, FieldError};
use super::spec::{ContestSpec, ValidContest};
use crate::domain::access::manages;

/// Why a contest was not stored.
#[derive(Debug, thiserror::Error)]
enum InsertError {
    #[error("{0}")]
    Field(FieldError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates a contest from a spec for `user` (an organizer of the contest's unit, or an admin;
/// nobody for the command line). Every broken rule of the spec comes back with its field.
pub async fn create(
    db: &PgPool,
    user: Option<&CurrentUser>,
    spec: &ContestSpec,
) -> sqlx::Result<Result<i64, Vec<FieldError>>> {
    let mut valid = match spec.validate() {
        Ok(v) => v,
        Err(errors) => return Ok(Err(errors)),
    };
    // An organizer's contest without a unit belongs to their own unit.
    if valid.unit.is_none()
        && let Some(u) = user.filter(|u| u.role == Role::Organizer)
        && let Some(uid) = u.unit_id
    {
        valid.unit = sqlx::query_scalar("select slug from unit where unit_id = $1")
            .bind(uid)
            .fetch_optional(db)
            .await?;
    }
    let mut tx = db.begin().await?;
    match store(&mut tx, user, &valid).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(Ok(id))
        }
        Err(InsertError::Field(f)) => Ok(Err(vec![f])),
        Err(InsertError::Db(e)) => Err(e),
    }
}

async fn store(
    tx: &mut PgConnection,
    user: Option<&CurrentUser>,
    valid: &ValidContest,
) -> Result<i64, InsertError> {
    let unit = match &valid.unit {
        None => None,
        Some(slug) => Some(unit_id(tx, slug, "unit").await?),
    };
    if let Some(user) = user
        && !manages(&mut *tx, user, unit).await?
    {
        return Err(InsertError::Field(FieldError::new(
            "unit",
            ContestRefusal::UnitOutOfScope,
        )));
    }
    let id = insert(tx, valid, unit, user.map(|u| u.app_user_id)).await?;
    super::categories::insert_all(tx, id, &valid.categories).await?;
    Ok(id)
}

/// The id of the unit `slug`, or the refusal on `field`.
async fn unit_id(
    conn: &mut PgConnection,
    slug: &str,
    field: &'static str,
) -> Result<i64, InsertError> {
    sqlx::query_scalar("select unit_id from unit where slug = $1")
        .bind(slug)
        .fetch_optional(conn)
        .await?
        .ok_or(InsertError::Field(FieldError::new(
            field,
            ContestRefusal::UnknownUnit,
        )))
}

async fn insert(
    conn: &mut PgConnection,
    c: &ValidContest,
    unit: Option<i64>,
    created_by: Option<i64>,
) -> Result<i64, InsertError> {
    let mut eligible = Vec::new();
    for slug in &c.eligible_units {
        eligible.push(unit_id(conn, slug, "eligible_units").await?);
    }
    let result = sqlx::query_scalar(
        "insert into contest (slug, title, description, rules, cover_url, unit_id, eligible_unit_ids, kinds,
            submission_opens_at, submission_closes_at, judging_opens_at, judging_closes_at,
            voting_opens_at, voting_closes_at, results_at, max_photo_bytes, max_video_bytes,
            max_video_seconds, max_entries_per_member, requires_moderation, blind_judging,
            hide_author, settings, created_by, upload_grace_minutes, requires_birth_date, retention_days,
            voting_overlaps_submission, max_team_members, max_series_photos)
         values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30)
         returning contest_id",
    )
    .bind(&c.slug)
    .bind(&c.title)
    .bind(&c.description)
    .bind(&c.rules)
    .bind(&c.cover_url)
    .bind(unit)
    .bind((!eligible.is_empty()).then_some(eligible))
    .bind(&c.kinds)
    .bind(c.submission.0)
    .bind(c.submission.1)
    .bind(c.judging.map(|w| w.0))
    .bind(c.judging.map(|w| w.1))
    .bind(c.voting.map(|w| w.0))
    .bind(c.voting.map(|w| w.1))
    .bind(c.results_at)
    .bind(c.max_photo_bytes)
    .bind(c.max_video_bytes)
    .bind(c.max_video_seconds)
    .bind(c.max_entries_per_member)
    .bind(c.requires_moderation)
    .bind(c.blind_judging)
    .bind(c.hide_author)
    .bind(&c.settings)
    .bind(created_by)
    .bind(c.upload_grace_minutes)
    .bind(c.requires_birth_date)
    .bind(c.retention_days)
    .bind(c.voting_overlaps_submission)
    .bind(c.max_team_members)
    .bind(c.max_series_photos)
    .fetch_one(conn)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("contest_slug_key") => Err(
            InsertError::Field(FieldError::new("slug", ContestRefusal::SlugTaken)),
        ),
        Err(e) => Err(e.into()),
    }
}
