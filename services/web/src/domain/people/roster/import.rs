//! Writing a checked roster: each row's unit found among the importer's units, the rows kept
//! until the importer confirms, then written in one transaction (invited accounts, member
//! numbers and units attached, `roster_member` rows), with an audit line.

use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Role;
use sqlx::PgPool;

use crate::domain::people::accounts::INVITED;
use crate::domain::people::directory::{Scope, record};
use crate::domain::people::roster::parse::{BadRow, Problem, Ready, Row, to_csv};
use crate::domain::people::units::subtree_sql;

/// Finds each row's unit by slug or name (case and spacing aside) among the importer's units;
/// a unit that exists elsewhere is `UnitOutside`, one that does not `UnitUnknown`.
pub async fn resolve(
    db: &PgPool,
    scope: Scope,
    rows: Vec<Row>,
) -> sqlx::Result<(Vec<Ready>, Vec<BadRow>)> {
    let root = match scope {
        Scope::All => None,
        Scope::Subtree(u) => Some(u),
    };
    let units: Vec<(i64, String, String, bool)> = sqlx::query_as(&format!(
        "select u.unit_id, u.slug, u.name, ($1::bigint is null or {}) from unit u",
        subtree_sql("u.unit_id", 1)
    ))
    .bind(root)
    .fetch_all(db)
    .await?;
    let key = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let mut ready = Vec::new();
    let mut bad = Vec::new();
    for r in rows {
        let k = key(&r.unit);
        let found: Vec<&(i64, String, String, bool)> = units
            .iter()
            .filter(|u| u.1 == k || key(&u.2) == k)
            .collect();
        // A name two units share is resolved within the importer's units.
        match found.iter().find(|u| u.3).or(found.first()) {
            Some(u) if u.3 => ready.push(Ready {
                unit_id: u.0,
                unit_slug: u.1.clone(),
                unit_name: u.2.clone(),
                row: r,
            }),
            Some(_) => bad.push(BadRow {
                row: r.row,
                problem: Problem::UnitOutside,
            }),
            None => bad.push(BadRow {
                row: r.row,
                problem: Problem::UnitUnknown,
            }),
        }
    }
    Ok((ready, bad))
}

/// Keeps the checked rows until the importer confirms; returns the id the confirm names.
/// Uploads older than a day are forgotten.
pub async fn keep(db: &PgPool, actor: i64, rows: &[Ready]) -> sqlx::Result<uuid::Uuid> {
    sqlx::query("delete from roster_upload where created_at < now() - interval '1 day'")
        .execute(db)
        .await?;
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "insert into roster_upload (roster_upload_id, created_by, rows_csv) values ($1, $2, $3)",
    )
    .bind(id)
    .bind(actor)
    .bind(to_csv(rows))
    .execute(db)
    .await?;
    Ok(id)
}

/// The kept rows of `id`, only for the importer who uploaded them (taken: a second confirm
/// finds nothing).
pub async fn take(db: &PgPool, actor: i64, id: uuid::Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "delete from roster_upload where roster_upload_id = $1 and created_by = $2
           and created_at >= now() - interval '1 day'
         returning rows_csv",
    )
    .bind(id)
    .bind(actor)
    .fetch_optional(db)
    .await
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// New invited accounts: (id, email), to be mailed their link.
    pub invited: Vec<(i64, String)>,
    /// Accounts that existed and got the member number or unit of their row.
    pub updated: usize,
    /// Rows already as the file says (nothing changed).
    pub unchanged: usize,
    /// Rows with no email: kept in the roster, no account.
    pub roster_only: usize,
}

/// An account a row's email has: id, unit, member number, role, and whether its unit is
/// within the importer's units (or it has none).
type Existing = (i64, Option<i64>, Option<String>, Role, bool);

/// Writes the rows in one transaction (one import at a time). Accounts of other units than
/// the importer's keep their unit; admins' and organizers' accounts keep their role and unit.
pub async fn apply(db: &PgPool, actor: &CurrentUser, rows: &[Ready]) -> sqlx::Result<Outcome> {
    let scope = Scope::of(actor);
    let root = match scope {
        Some(Scope::Subtree(u)) => Some(u),
        _ => None,
    };
    let mut tx = db.begin().await?;
    sqlx::query("select pg_advisory_xact_lock(hashtext('roster-import'))")
        .execute(&mut *tx)
        .await?;
    let mut out = Outcome::default();
    for r in rows {
        let account = match &r.row.email {
            None => {
                out.roster_only += 1;
                None
            }
            Some(email) => {
                let existing: Option<Existing> = sqlx::query_as(&format!(
                    "select u.app_user_id, u.unit_id, u.member_number, u.role,
                                (u.unit_id is null or $2::bigint is null or {})
                         from app_user u where u.email = $1 and u.deleted_at is null",
                    subtree_sql("u.unit_id", 2)
                ))
                .bind(email)
                .bind(root)
                .fetch_optional(&mut *tx)
                .await?;
                match existing {
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "insert into app_user (email, display_name, password_hash, role, unit_id, member_number)
                             values ($1, $2, $3, 'member', $4, $5) returning app_user_id",
                        )
                        .bind(email)
                        .bind(&r.row.name)
                        .bind(INVITED)
                        .bind(r.unit_id)
                        .bind(&r.row.member_number)
                        .fetch_one(&mut *tx)
                        .await?;
                        record(&mut tx, id, actor.app_user_id, "invited", &r.unit_slug).await?;
                        out.invited.push((id, email.clone()));
                        Some(id)
                    }
                    Some((id, unit, member, role, in_scope)) => {
                        let mut changed = false;
                        if let Some(m) = &r.row.member_number
                            && member.as_deref() != Some(m.as_str())
                        {
                            sqlx::query(
                                "update app_user set member_number = $2 where app_user_id = $1",
                            )
                            .bind(id)
                            .bind(m)
                            .execute(&mut *tx)
                            .await?;
                            record(&mut tx, id, actor.app_user_id, "member-number", m).await?;
                            changed = true;
                        }
                        if role == Role::Member && in_scope && unit != Some(r.unit_id) {
                            sqlx::query("update app_user set unit_id = $2 where app_user_id = $1")
                                .bind(id)
                                .bind(r.unit_id)
                                .execute(&mut *tx)
                                .await?;
                            record(&mut tx, id, actor.app_user_id, "unit", &r.unit_slug).await?;
                            changed = true;
                        }
                        if changed {
                            out.updated += 1;
                        } else {
                            out.unchanged += 1;
                        }
                        Some(id)
                    }
                }
            }
        };
        upsert_roster(&mut tx, r, account, actor.app_user_id).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// The row in `roster_member`, found by member number, else email, else phone.
async fn upsert_roster(
    tx: &mut sqlx::PgConnection,
    r: &Ready,
    account: Option<i64>,
    actor: i64,
) -> sqlx::Result<()> {
    let existing: Option<i64> = sqlx::query_scalar(
        "select roster_member_id from roster_member
         where ($1::text is not null and member_number = $1)
            or ($1::text is null and $2::text is not null and member_number is null and email = $2::citext)
            or ($1::text is null and $2::text is null and member_number is null and email is null and phone = $3)
         order by roster_member_id limit 1",
    )
    .bind(&r.row.member_number)
    .bind(&r.row.email)
    .bind(&r.row.phone)
    .fetch_optional(&mut *tx)
    .await?;
    let sql = match existing {
        Some(_) => {
            "update roster_member set full_name = $2, email = $3, phone = $4, member_number = $5,
                unit_id = $6, app_user_id = coalesce($7, app_user_id), imported_by = $8,
                updated_at = now()
             where roster_member_id = $1
               and (full_name, email, phone, member_number, unit_id, app_user_id)
                   is distinct from ($2, $3::citext, $4, $5, $6, coalesce($7, app_user_id))"
        }
        None => {
            "insert into roster_member (full_name, email, phone, member_number, unit_id,
                app_user_id, imported_by)
             select $2, $3, $4, $5, $6, $7, $8 where $1::bigint is null"
        }
    };
    sqlx::query(sql)
        .bind(existing)
        .bind(&r.row.name)
        .bind(&r.row.email)
        .bind(&r.row.phone)
        .bind(&r.row.member_number)
        .bind(r.unit_id)
        .bind(account)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map(drop)
}

/// The people of the roster within `scope`, for the import page: (name, unit name,
/// has an account), newest first, at most `limit`.
pub async fn count_within(db: &PgPool, scope: Scope) -> sqlx::Result<i64> {
    let root = match scope {
        Scope::All => None,
        Scope::Subtree(u) => Some(u),
    };
    sqlx::query_scalar(&format!(
        "select count(*) from roster_member r where $1::bigint is null or {}",
        subtree_sql("r.unit_id", 1)
    ))
    .bind(root)
    .fetch_one(db)
    .await
}
