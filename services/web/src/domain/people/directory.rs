//! The people pages' rules and queries: who a staff member sees (an admin everyone, an
//! organizer the people of their own unit and below: `domain::access`), a keyset page of
//! them, and the changes made to one person (role and unit, disabled, member number, an
//! invitation), each recorded in `people_audit` with who made it.

use chrono::{DateTime, Utc};
use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Role;
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::accounts::INVITED;
use super::refusal::PeopleRefusal;
use super::sessions::end_sessions_and_tokens;
use super::units::subtree_sql;

/// Whom a staff member sees on the people pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// An admin: everyone.
    All,
    /// An organizer: the people of this unit and the units below it.
    Subtree(i64),
}

impl Scope {
    /// The scope of `user`; `None` for anyone with no people pages (members, judges, an
    /// organizer without a unit).
    pub fn of(user: &CurrentUser) -> Option<Self> {
        match (user.role, user.unit_id) {
            (Role::Admin, _) => Some(Self::All),
            (Role::Organizer, Some(unit)) => Some(Self::Subtree(unit)),
            _ => None,
        }
    }

    /// The unit id a subtree query binds (`0` matches nothing, for `All` it is unused).
    fn unit(self) -> i64 {
        match self {
            Self::All => 0,
            Self::Subtree(u) => u,
        }
    }

    /// SQL condition: the person `u` is seen in this scope (`$param` is `self.unit()`).
    /// An organizer never sees an admin, whatever the admin's unit.
    fn sql(self, param: usize) -> String {
        match self {
            Self::All => "true".to_owned(),
            Self::Subtree(_) => format!(
                "(u.role <> 'admin' and {})",
                subtree_sql("u.unit_id", param)
            ),
        }
    }
}

/// A person as the people pages show them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Person {
    pub app_user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub unit_slug: Option<String>,
    pub unit_name: Option<String>,
    pub member_number: Option<String>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Person {
    pub fn role_str(&self) -> &'static str {
        role_str(self.role)
    }

    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

pub fn role_str(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Organizer => "organizer",
        Role::Judge => "judge",
        Role::Member => "member",
    }
}

/// The roles the people pages hand out.
pub fn parse_role(s: &str) -> Option<Role> {
    match s {
        "admin" => Some(Role::Admin),
        "organizer" => Some(Role::Organizer),
        "member" => Some(Role::Member),
        _ => None,
    }
}

const PERSON_COLUMNS: &str = "u.app_user_id, u.email::text as email, u.display_name, u.role,
    u.unit_id, un.slug as unit_slug, un.name as unit_name, u.member_number,
    u.email_verified_at, u.disabled_at, u.created_at";

/// How many people a page lists.
pub const PAGE_SIZE: i64 = 50;

/// A page of people in `scope` matching `search` (name, email or member number; empty: all),
/// by name, after the person `after` (the last of the previous page). One statement; the
/// page has one more row than it shows when there is a next page.
pub async fn page(
    db: impl PgExecutor<'_>,
    scope: Scope,
    search: &str,
    after: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<Person>> {
    let sql = format!(
        "select {PERSON_COLUMNS}
         from app_user u left join unit un on un.unit_id = u.unit_id
         where {scope}
           and ($2 = '' or u.display_name ilike $2 or u.email ilike $2 or u.member_number ilike $2)
           and ($3::bigint is null
                or (u.display_name, u.app_user_id) >
                   (select a.display_name, a.app_user_id from app_user a where a.app_user_id = $3))
         order by u.display_name, u.app_user_id
         limit $4",
        scope = scope.sql(1)
    );
    let pattern = if search.trim().is_empty() {
        String::new()
    } else {
        format!("%{}%", like_escaped(search.trim()))
    };
    sqlx::query_as(&sql)
        .bind(scope.unit())
        .bind(pattern)
        .bind(after)
        .bind(limit)
        .fetch_all(db)
        .await
}

/// `s` with the LIKE wildcards taken literally.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The person `id` if `scope` sees them.
pub async fn person(
    db: impl PgExecutor<'_>,
    scope: Scope,
    id: i64,
) -> sqlx::Result<Option<Person>> {
    let sql = format!(
        "select {PERSON_COLUMNS}
         from app_user u left join unit un on un.unit_id = u.unit_id
         where u.app_user_id = $2 and {}",
        scope.sql(1)
    );
    sqlx::query_as(&sql)
        .bind(scope.unit())
        .bind(id)
        .fetch_optional(db)
        .await
}

/// One recorded change to a person.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub action: String,
    pub detail: String,
    pub actor: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The changes made to `id`, newest first (at most 100).
pub async fn audit_of(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as(
        "select p.action, p.detail, a.display_name as actor, p.created_at
         from people_audit p left join app_user a on a.app_user_id = p.actor_id
         where p.subject_id = $1 order by p.people_audit_id desc limit 100",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// One line of a person's history (`people_audit`), in the caller's transaction.
pub(crate) async fn record(
    conn: &mut PgConnection,
    subject: i64,
    actor: i64,
    action: &str,
    detail: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into people_audit (subject_id, actor_id, action, detail) values ($1, $2, $3, $4)",
    )
    .bind(subject)
    .bind(actor)
    .bind(action)
    .bind(detail)
    .execute(conn)
    .await
    .map(drop)
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Done,
    /// The person is not in the actor's scope (or does not exist): a 404.
    NotFound,
}

/// The subject locked for the change, if `actor` may change them.
async fn lock_subject(
    conn: &mut PgConnection,
    actor: &CurrentUser,
    id: i64,
) -> sqlx::Result<Option<Person>> {
    let Some(scope) = Scope::of(actor) else {
        return Ok(None);
    };
    let sql = format!(
        "select {PERSON_COLUMNS}
         from app_user u left join unit un on un.unit_id = u.unit_id
         where u.app_user_id = $2 and {}
         for update of u",
        scope.sql(1)
    );
    sqlx::query_as(&sql)
        .bind(scope.unit())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// How many active admins there are besides `except`, locking them (so two admins demoting
/// each other at once cannot both pass).
async fn other_active_admins(conn: &mut PgConnection, except: i64) -> sqlx::Result<usize> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "select app_user_id from app_user
         where role = 'admin' and disabled_at is null and app_user_id <> $1
         order by app_user_id for update",
    )
    .bind(except)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.len())
}

/// The unit of `slug` if `actor` may put people in it (an admin: any; an organizer: their
/// own unit and below). `Ok(None)`: no unit asked.
async fn unit_in_scope(
    conn: &mut PgConnection,
    actor: &CurrentUser,
    slug: &str,
) -> sqlx::Result<Result<Option<(i64, String)>, PeopleRefusal>> {
    let slug = slug.trim();
    if slug.is_empty() {
        return Ok(Ok(None));
    }
    let Some(scope) = Scope::of(actor) else {
        return Ok(Err(PeopleRefusal::UnitOutOfScope));
    };
    let row: Option<(i64, String)> = match scope {
        Scope::All => {
            sqlx::query_as("select unit_id, name from unit where slug = $1")
                .bind(slug)
                .fetch_optional(&mut *conn)
                .await?
        }
        Scope::Subtree(root) => {
            let sql = format!(
                "select u.unit_id, u.name from unit u where u.slug = $2 and {}",
                subtree_sql("u.unit_id", 1)
            );
            sqlx::query_as(&sql)
                .bind(root)
                .bind(slug)
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    Ok(row.map(Some).ok_or(PeopleRefusal::UnitOutOfScope))
}

/// Gives `id` the role `role` and the unit `unit` (a slug; empty: none), as `actor`.
/// An organizer hands out member and organizer only, within their own unit, and does not
/// change admins (they do not see them); the last active admin stays one.
pub async fn set_access(
    db: &PgPool,
    actor: &CurrentUser,
    id: i64,
    role: Role,
    unit: &str,
) -> sqlx::Result<Result<Changed, PeopleRefusal>> {
    let mut tx = db.begin().await?;
    let Some(subject) = lock_subject(&mut tx, actor, id).await? else {
        return Ok(Ok(Changed::NotFound));
    };
    if role == Role::Admin && actor.role != Role::Admin {
        return Ok(Err(PeopleRefusal::AdminOnly));
    }
    let unit = match unit_in_scope(&mut tx, actor, unit).await? {
        Ok(u) => u,
        Err(r) => return Ok(Err(r)),
    };
    if actor.role != Role::Admin && unit.is_none() {
        // An organizer moving someone out of every unit would lose sight of them.
        return Ok(Err(PeopleRefusal::UnitOutOfScope));
    }
    if role == Role::Organizer && unit.is_none() {
        return Ok(Err(PeopleRefusal::OrganizerWithoutUnit));
    }
    if subject.role == Role::Admin
        && role != Role::Admin
        && subject.disabled_at.is_none()
        && other_active_admins(&mut tx, id).await? == 0
    {
        return Ok(Err(PeopleRefusal::LastAdmin));
    }
    let unit_id = unit.as_ref().map(|(id, _)| *id);
    sqlx::query("update app_user set role = $2, unit_id = $3 where app_user_id = $1")
        .bind(id)
        .bind(role)
        .bind(unit_id)
        .execute(&mut *tx)
        .await?;
    if subject.role != role {
        let detail = format!("{} → {}", role_str(subject.role), role_str(role));
        record(&mut tx, id, actor.app_user_id, "role", &detail).await?;
    }
    if subject.unit_id != unit_id {
        let detail = format!(
            "{} → {}",
            subject.unit_name.as_deref().unwrap_or("—"),
            unit.as_ref().map_or("—", |(_, n)| n.as_str())
        );
        record(&mut tx, id, actor.app_user_id, "unit", &detail).await?;
    }
    tx.commit().await?;
    Ok(Ok(Changed::Done))
}

/// Disables (`disabled`) or enables `id`. Disabling ends every session and API token at
/// once; nobody disables themself, and the last active admin stays.
pub async fn set_disabled(
    db: &PgPool,
    actor: &CurrentUser,
    id: i64,
    disabled: bool,
) -> sqlx::Result<Result<Changed, PeopleRefusal>> {
    let mut tx = db.begin().await?;
    let Some(subject) = lock_subject(&mut tx, actor, id).await? else {
        return Ok(Ok(Changed::NotFound));
    };
    if disabled && id == actor.app_user_id {
        if subject.role == Role::Admin && other_active_admins(&mut tx, id).await? == 0 {
            return Ok(Err(PeopleRefusal::LastAdmin));
        }
        return Ok(Err(PeopleRefusal::DisableSelf));
    }
    if subject.is_disabled() == disabled {
        return Ok(Ok(Changed::Done));
    }
    sqlx::query(
        "update app_user set disabled_at = case when $2 then now() end where app_user_id = $1",
    )
    .bind(id)
    .bind(disabled)
    .execute(&mut *tx)
    .await?;
    if disabled {
        end_sessions_and_tokens(&mut tx, id).await?;
    }
    let action = if disabled { "disabled" } else { "enabled" };
    record(&mut tx, id, actor.app_user_id, action, "").await?;
    tx.commit().await?;
    Ok(Ok(Changed::Done))
}

/// Sets (or, empty, clears) the member number of `id`.
pub async fn set_member_number(
    db: &PgPool,
    actor: &CurrentUser,
    id: i64,
    number: &str,
) -> sqlx::Result<Result<Changed, PeopleRefusal>> {
    let number = number.trim();
    if !number.is_empty() && !crate::domain::voting::roster::member_number(number) {
        return Ok(Err(PeopleRefusal::InvalidMemberNumber));
    }
    let mut tx = db.begin().await?;
    let Some(subject) = lock_subject(&mut tx, actor, id).await? else {
        return Ok(Ok(Changed::NotFound));
    };
    let new = (!number.is_empty()).then_some(number);
    if subject.member_number.as_deref() != new {
        sqlx::query("update app_user set member_number = $2 where app_user_id = $1")
            .bind(id)
            .bind(new)
            .execute(&mut *tx)
            .await?;
        // The number itself is personal data: the record says that it changed, not to what.
        record(&mut tx, id, actor.app_user_id, "member-number", "").await?;
    }
    tx.commit().await?;
    Ok(Ok(Changed::Done))
}

/// Records that a verification mail was sent again to `id` (the caller queues it).
pub async fn verification_resent(
    db: &PgPool,
    actor: &CurrentUser,
    id: i64,
) -> sqlx::Result<Result<Changed, PeopleRefusal>> {
    let mut tx = db.begin().await?;
    let Some(subject) = lock_subject(&mut tx, actor, id).await? else {
        return Ok(Ok(Changed::NotFound));
    };
    if subject.is_verified() {
        return Ok(Err(PeopleRefusal::AlreadyVerified));
    }
    record(&mut tx, id, actor.app_user_id, "verification-resent", "").await?;
    tx.commit().await?;
    Ok(Ok(Changed::Done))
}

/// Makes the account of an invited person: `email` in the unit `unit` (a slug the inviter
/// may use), a member with no password and an unproven mailbox. Returns its id; the caller
/// mails the link that proves the mailbox and sets a password.
pub async fn invite(
    db: &PgPool,
    actor: &CurrentUser,
    email: &str,
    name: &str,
    unit: &str,
) -> sqlx::Result<Result<i64, PeopleRefusal>> {
    let Ok(email) = hoithi_core::domain::Email::parse(email) else {
        return Ok(Err(PeopleRefusal::InvalidEmail));
    };
    let mut tx = db.begin().await?;
    let unit = match unit_in_scope(&mut tx, actor, unit).await? {
        Ok(Some(u)) => u,
        Ok(None) if actor.role == Role::Admin => (0, String::new()),
        Ok(None) | Err(_) => return Ok(Err(PeopleRefusal::UnitOutOfScope)),
    };
    let name = match name.trim() {
        "" => super::accounts::fresh_name(email.as_str()),
        n => n.chars().take(120).collect(),
    };
    let id: Option<i64> = sqlx::query_scalar(
        "insert into app_user (email, display_name, password_hash, role, unit_id)
         values ($1, $2, $3, 'member', nullif($4, 0))
         on conflict (email) do nothing returning app_user_id",
    )
    .bind(email.as_str())
    .bind(&name)
    .bind(INVITED)
    .bind(unit.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(Err(PeopleRefusal::AlreadyRegistered));
    };
    record(&mut tx, id, actor.app_user_id, "invited", &unit.1).await?;
    tx.commit().await?;
    Ok(Ok(id))
}
