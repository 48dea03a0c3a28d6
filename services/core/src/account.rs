//! User accounts: creation (CLI, first start, later the registration form) and look-ups.

use sqlx::PgExecutor;

use crate::domain::{DisplayName, Email, Password, Role};

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("a user with the email {0} already exists")]
    EmailTaken(String),
    #[error("there is no unit with the slug {0:?}")]
    UnknownUnit(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub struct NewUser {
    pub email: Email,
    pub password: Password,
    pub name: DisplayName,
    pub role: Role,
    pub unit_slug: Option<String>,
    pub email_verified: bool,
}

pub async fn create_user(
    db: impl PgExecutor<'_> + Copy,
    user: NewUser,
) -> Result<i64, CreateUserError> {
    let unit_id: Option<i64> = match &user.unit_slug {
        None => None,
        Some(slug) => Some(
            sqlx::query_scalar("select unit_id from unit where slug = $1")
                .bind(slug)
                .fetch_optional(db)
                .await
                .map_err(anyhow::Error::from)?
                .ok_or_else(|| CreateUserError::UnknownUnit(slug.clone()))?,
        ),
    };
    let hash = crate::password::hash(user.password.expose())?;
    let result = sqlx::query_scalar(
        "insert into app_user (email, display_name, password_hash, role, unit_id, email_verified_at)
         values ($1, $2, $3, $4, $5, case when $6 then now() end)
         returning app_user_id",
    )
    .bind(user.email.as_str())
    .bind(user.name.as_str())
    .bind(hash)
    .bind(user.role)
    .bind(unit_id)
    .bind(user.email_verified)
    .fetch_one(db)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("app_user_email_key") => {
            Err(CreateUserError::EmailTaken(user.email.to_string()))
        }
        Err(e) => Err(CreateUserError::Other(e.into())),
    }
}

pub async fn admin_exists(db: impl PgExecutor<'_>) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from app_user where role = 'admin')")
        .fetch_one(db)
        .await
}
