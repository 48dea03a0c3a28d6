//! Team entries (bài dự thi của tập thể): an entry made by a branch (chi đoàn) or a team
//! with named members. The entrant types the team's name (or picks their chi đoàn from the
//! unit tree) and the members' names, one a line, optionally with a member number of the
//! union's roster. Members are names only: no accounts, emails or birth dates (collect the
//! least, many are under 18). The list belongs to the entrant's personal data: their privacy
//! export carries it and their erasure removes it (`domain::privacy`).

use std::collections::HashMap;

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::refusal::{EntryError, EntryRefusal};
use crate::domain::contests::ContestRow;
use crate::domain::people::roster::parse::member_number_ok;
use crate::domain::people::units::is_within;

/// The team part of the entry form as typed: all empty for an entry of one person.
#[derive(Debug, Clone, Default)]
pub struct TeamInput {
    /// The entrant ticked "Bài dự thi của tập thể".
    pub is_team: bool,
    pub name: String,
    /// The slug of the chi đoàn picked (within the entrant's own unit), or empty.
    pub unit: String,
    /// The members as given (a form's lines through `members_from_text`, or the API's list).
    pub members: Vec<Member>,
}

/// A member as the API shows and takes it: `{"name", "member_number"?}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Member {
    #[serde(rename = "name")]
    pub full_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_number: Option<String>,
}

/// A team that passed the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub name: String,
    pub unit_id: Option<i64>,
    pub members: Vec<Member>,
}

/// The members of a typed list, one a line, blank lines left out (checked by `resolve`).
pub fn members_from_text(text: &str) -> Vec<Member> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            // "Nguyễn Văn An, DV-0012": the last comma separates a member number, when what
            // follows it looks like one.
            let (name, number) = match line.rsplit_once([',', ';']) {
                Some((n, num)) if member_number_ok(num.trim()) => (n.trim(), Some(num.trim())),
                _ => (line, None),
            };
            Member {
                full_name: name.to_owned(),
                member_number: number.map(str::to_owned),
            }
        })
        .collect()
}

/// Checks a member list: at most `max` members, each a name of 1 to 120 characters and an
/// optional member number of the roster's form.
pub fn check_members(members: &[Member], max: usize) -> Result<(), EntryRefusal> {
    if members.len() > max {
        return Err(EntryRefusal::TeamTooManyMembers);
    }
    let bad = |m: &Member| {
        let name = m.full_name.trim();
        name.is_empty()
            || name.chars().count() > 120
            || name.chars().any(char::is_control)
            || m.member_number
                .as_deref()
                .is_some_and(|n| !member_number_ok(n))
    };
    if members.iter().any(bad) {
        return Err(EntryRefusal::TeamMemberInvalid);
    }
    Ok(())
}

/// The team of a new entry of `c` by a member of unit `own_unit`: `None` for an entry of
/// one person; refused when the contest takes no team entries, the name is missing, the
/// chi đoàn is not within the entrant's unit, the list is too long, or a member number is
/// not on the roster.
pub async fn resolve(
    db: &sqlx::PgPool,
    c: &ContestRow,
    own_unit: Option<i64>,
    input: &TeamInput,
) -> Result<Option<Team>, EntryError> {
    if !input.is_team {
        return Ok(None);
    }
    if c.max_team_members == 0 {
        return Err(EntryRefusal::TeamNotAllowed.into());
    }
    let max = usize::try_from(c.max_team_members).unwrap_or(0);
    check_members(&input.members, max)?;
    let members: Vec<Member> = input
        .members
        .iter()
        .map(|m| Member {
            full_name: m.full_name.trim().to_owned(),
            member_number: m.member_number.as_ref().map(|n| n.trim().to_owned()),
        })
        .collect();
    let unit = match input.unit.trim() {
        "" => None,
        slug => {
            let found: Option<(i64, String)> =
                sqlx::query_as("select unit_id, name from unit where slug = $1")
                    .bind(slug)
                    .fetch_optional(db)
                    .await?;
            let Some((id, name)) = found else {
                return Err(EntryRefusal::TeamNameRequired.into());
            };
            let mine = match own_unit {
                Some(own) => is_within(db, id, own).await?,
                None => false,
            };
            if !mine {
                return Err(EntryRefusal::TeamNameRequired.into());
            }
            Some((id, name))
        }
    };
    let typed = input.name.trim();
    let name = match (&unit, typed) {
        (_, t) if !t.is_empty() => t.to_owned(),
        (Some((_, n)), _) => n.clone(),
        (None, _) => return Err(EntryRefusal::TeamNameRequired.into()),
    };
    if name.chars().count() > 120 || name.chars().any(char::is_control) {
        return Err(EntryRefusal::TeamNameRequired.into());
    }
    let numbers: Vec<String> = members
        .iter()
        .filter_map(|m| m.member_number.clone())
        .collect();
    if !numbers.is_empty() {
        let known: i64 = sqlx::query_scalar(
            "select count(distinct member_number) from roster_member where member_number = any($1)",
        )
        .bind(&numbers)
        .fetch_one(db)
        .await?;
        let distinct = numbers
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len();
        if usize::try_from(known).unwrap_or(0) != distinct {
            return Err(EntryRefusal::TeamMemberInvalid.into());
        }
    }
    Ok(Some(Team {
        name,
        unit_id: unit.map(|(id, _)| id),
        members,
    }))
}

/// Writes the team of entry `entry_id` (in the transaction that creates it).
pub async fn store(tx: &mut PgConnection, entry_id: Uuid, team: &Team) -> sqlx::Result<()> {
    sqlx::query("update entry set team_name = $2, team_unit_id = $3 where entry_id = $1")
        .bind(entry_id)
        .bind(&team.name)
        .bind(team.unit_id)
        .execute(&mut *tx)
        .await?;
    let names: Vec<&str> = team.members.iter().map(|m| m.full_name.as_str()).collect();
    let numbers: Vec<Option<&str>> = team
        .members
        .iter()
        .map(|m| m.member_number.as_deref())
        .collect();
    sqlx::query(
        "insert into entry_team_member (entry_id, position, full_name, member_number)
         select $1, n.position, n.full_name, n.member_number
         from unnest($2::text[], $3::text[]) with ordinality as n(full_name, member_number, position)",
    )
    .bind(entry_id)
    .bind(&names)
    .bind(&numbers)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The members of one entry, in the order typed.
pub async fn members(db: impl PgExecutor<'_>, entry_id: Uuid) -> sqlx::Result<Vec<Member>> {
    Ok(members_of(db, &[entry_id])
        .await?
        .remove(&entry_id)
        .unwrap_or_default())
}

/// The members of several entries in one statement (exports, results).
pub async fn members_of(
    db: impl PgExecutor<'_>,
    entries: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, Vec<Member>>> {
    let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "select entry_id, full_name, member_number from entry_team_member
         where entry_id = any($1) order by entry_id, position",
    )
    .bind(entries)
    .fetch_all(db)
    .await?;
    let mut out: HashMap<Uuid, Vec<Member>> = HashMap::new();
    for (entry, full_name, member_number) in rows {
        out.entry(entry).or_default().push(Member {
            full_name,
            member_number,
        });
    }
    Ok(out)
}

/// The teams among `entries`: each team entry's name and members (exports, results).
pub async fn teams_of(
    db: &sqlx::PgPool,
    entries: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, (String, Vec<Member>)>> {
    let names: Vec<(Uuid, String)> = sqlx::query_as(
        "select entry_id, team_name from entry where entry_id = any($1) and team_name is not null",
    )
    .bind(entries)
    .fetch_all(db)
    .await?;
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = names.iter().map(|(id, _)| *id).collect();
    let mut members = members_of(db, &ids).await?;
    Ok(names
        .into_iter()
        .map(|(id, name)| (id, (name, members.remove(&id).unwrap_or_default())))
        .collect())
}

/// "Nguyễn Văn An, Trần Thị Bình": the names of a list, for one cell of an export.
pub fn names_line(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| m.full_name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::{EntryRefusal, Member, check_members, members_from_text};

    #[test]
    fn a_member_list_reads_names_and_optional_member_numbers_one_a_line() {
        let m =
            members_from_text("Nguyễn Văn An, DV-0012\n\n  Trần Thị Bình  \nLê Văn, Cường tử\n");
        assert_eq!(
            m,
            vec![
                Member {
                    full_name: "Nguyễn Văn An".into(),
                    member_number: Some("DV-0012".into())
                },
                Member {
                    full_name: "Trần Thị Bình".into(),
                    member_number: None
                },
                // What follows the comma is no member number (it has a space): all is the name.
                Member {
                    full_name: "Lê Văn, Cường tử".into(),
                    member_number: None
                },
            ]
        );
        assert_eq!(check_members(&m, 3), Ok(()));
        assert_eq!(check_members(&m, 2), Err(EntryRefusal::TeamTooManyMembers));
        assert_eq!(
            check_members(&members_from_text(&"đ".repeat(121)), 2),
            Err(EntryRefusal::TeamMemberInvalid)
        );
        assert_eq!(
            check_members(&members_from_text(", DV1"), 2),
            Err(EntryRefusal::TeamMemberInvalid)
        );
        let forged = Member {
            full_name: "An".into(),
            member_number: Some("x y".into()),
        };
        assert_eq!(
            check_members(&[forged], 2),
            Err(EntryRefusal::TeamMemberInvalid)
        );
    }
}
