//! Every column of the schema that points at a person or holds personal data, with how the
//! export finds the person's rows through it and what deleting the account does to it. The
//! test `web_privacy::every_personal_column_of_the_schema_is_mapped` reads the catalog
//! (foreign keys to `app_user`, addresses, columns named like emails, names, birth dates,
//! member numbers, ids of people) and fails on a column missing here: a new table cannot
//! hold personal data without a decision about export and deletion.

/// How the export finds the person's rows through the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The column holds the person's `app_user_id`.
    User,
    /// The column holds the person's email (or, for `vote_roster.value`, email or number).
    Email,
    /// The column is not how the person's rows are found (another column of the same table
    /// is, or the table is not about people).
    None,
}

/// What deleting the account does to the column's data about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The person's rows are deleted.
    Delete,
    /// The value is replaced (the account row: "(đã xóa)", an address that reaches nobody).
    Anonymise,
    /// Cleared (set to null) on the person's rows; the row stays for results or audits.
    Clear,
    /// Kept: a bare id of the anonymised account, which results, votes or audits need.
    Keep,
    /// Not personal data (a unit's or a round's name, a secret's name).
    NotPersonal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub table: &'static str,
    pub column: &'static str,
    pub key: Key,
    pub fate: Fate,
}

const fn c(table: &'static str, column: &'static str, key: Key, fate: Fate) -> Column {
    Column {
        table,
        column,
        key,
        fate,
    }
}

use Fate::{Anonymise, Clear, Delete, Keep, NotPersonal};
use Key::{Email, None as NoKey, User};

/// The map. Tables whose rows hang off an entry (media, revisions, guardian consent, judging
/// results) are found and erased through the person's entries (`erase`, `export`).
pub const COLUMNS: &[Column] = &[
    // The account itself.
    c("app_user", "app_user_id", User, Keep),
    c("app_user", "email", NoKey, Anonymise),
    c("app_user", "display_name", NoKey, Anonymise),
    c("app_user", "password_hash", NoKey, Anonymise),
    c("app_user", "member_number", NoKey, Anonymise),
    c("app_user", "birth_date", NoKey, Anonymise),
    c("app_user", "email_verified_at", NoKey, Anonymise),
    // Sign-in state: gone.
    c("api_token", "app_user_id", User, Delete),
    c("web_session", "app_user_id", User, Delete),
    c("one_time_token", "app_user_id", User, Delete),
    c("sign_in_address", "app_user_id", User, Delete),
    c("sign_in_address", "ip", NoKey, Delete),
    c("login_throttle", "throttle_key", NoKey, Delete),
    // Consent: the rows go (the audit keeps that the account was deleted).
    c("consent", "app_user_id", User, Delete),
    c("consent", "ip", NoKey, Delete),
    c("guardian_consent", "guardian_name", NoKey, Delete),
    c("guardian_consent", "guardian_email", NoKey, Delete),
    c("guardian_consent", "ip", NoKey, Delete),
    // Entries: unpublished ones are emptied and their files deleted; published ones stay
    // (titles and files of published results) with the author shown as "(đã xóa)".
    c("entry", "author_id", User, Keep),
    c("entry_revision", "created_by", User, Delete),
    c("entry_revision", "reviewed_by", User, Keep),
    c("upload", "owner_id", User, Delete),
    c("upload", "filename", NoKey, Delete),
    c("media_asset", "original_filename", NoKey, Clear),
    // Votes stay (results add up), without the address they came from.
    c("vote", "voter_id", User, Keep),
    c("vote", "ip", NoKey, Clear),
    c("vote", "ip_network", NoKey, Clear),
    c("vote", "user_agent_hash", NoKey, Clear),
    c("vote_invalidation", "voter_id", User, Keep),
    c("vote_invalidation", "ip_network", NoKey, Clear),
    c("vote_invalidation", "created_by", User, Keep),
    c("vote_invalidation", "restored_by", User, Keep),
    c("vote_audit", "actor_id", User, Keep),
    c("voter_code", "email", Email, Delete),
    c("voter_code", "ip", NoKey, Delete),
    c("vote_roster", "value", Email, Delete),
    c("vote_roster", "email", Email, Delete),
    c("member_decision", "app_user_id", User, Delete),
    c("member_decision", "member_number", NoKey, Delete),
    c("member_decision", "decided_by", User, Keep),
    // Judging: a judge's scores stay (published results need them), the invitation's
    // address is anonymised.
    c("contest_judge", "app_user_id", User, Keep),
    c("contest_judge", "email", Email, Anonymise),
    c("contest_judge", "invited_by", User, Keep),
    c("judge_assignment", "judge_id", User, Keep),
    c("judge_score_audit", "judge_id", User, Keep),
    c("judge_score_audit", "actor_id", User, Keep),
    c("judging_result", "published_by", User, Keep),
    c("judging_result", "snapshot", NoKey, Anonymise),
    // What organizers did: bare ids in logs.
    c("contest", "created_by", User, Keep),
    c("contest_advancement", "created_by", User, Keep),
    c("contest_phase_log", "app_user_id", User, Keep),
    c("contest_change", "app_user_id", User, Keep),
    c("contest_stream", "created_by", User, Keep),
    c("contest_live", "updated_by", User, Keep),
    c("contest_live_log", "app_user_id", User, Keep),
    c("privacy_audit", "subject_id", User, Keep),
    c("privacy_audit", "actor_id", User, Keep),
    // Changes made from the people pages: bare ids (the member number is not written down).
    c("people_audit", "subject_id", User, Keep),
    c("people_audit", "actor_id", User, Keep),
    // Mail to the person (and a guardian's mail naming the child).
    c("outbox", "to_email", Email, Delete),
    // Certificates (issue 20): the code keeps verifying after a deletion, without the name
    // and unit it was issued to.
    c("certificate", "app_user_id", User, Keep),
    c("certificate", "holder_name", NoKey, Clear),
    c("certificate", "holder_unit", NoKey, Clear),
    c("certificate", "team_members", NoKey, Clear),
    c("certificate", "issuer_name", NoKey, NotPersonal),
    // The union's member list (issue 20): the person's rows go with the account.
    c("roster_member", "app_user_id", User, Delete),
    c("roster_member", "email", Email, Delete),
    c("roster_member", "full_name", NoKey, Delete),
    c("roster_member", "phone", NoKey, Delete),
    c("roster_member", "member_number", NoKey, Delete),
    c("roster_member", "imported_by", User, Keep),
    c("roster_upload", "created_by", User, Delete),
    // Names that are not people's.
    c("unit", "name", NoKey, NotPersonal),
    c("site_secret", "name", NoKey, NotPersonal),
    c("judging_round", "name", NoKey, NotPersonal),
    c("judging_criterion", "name", NoKey, NotPersonal),
    c("contest_category", "name", NoKey, NotPersonal),
    // A team entry (found through the person's entries): the team's or branch's name is a
    // collective name, like a unit's; the members' names and numbers the entrant typed are
    // theirs to export and go with their account.
    c("entry", "team_name", NoKey, NotPersonal),
    c("entry_team_member", "full_name", NoKey, Delete),
    c("entry_team_member", "member_number", NoKey, Delete),
    c("contest", "requires_birth_date", NoKey, NotPersonal),
    // The host name of a worker.
    c("job", "leased_by", NoKey, NotPersonal),
];

/// Columns never handed out, even to their owner: secrets and hashes of secrets.
pub const SECRET_COLUMNS: &[&str] = &[
    "password_hash",
    "token_hash",
    "session_hash",
    "code_hash",
    "invite_token_hash",
    "user_agent_hash",
    "sha256_state",
    "s3_upload_id",
    "lock_token",
];

/// Whether `table.column` is in the map.
pub fn mapped(table: &str, column: &str) -> bool {
    COLUMNS
        .iter()
        .any(|c| c.table == table && c.column == column)
}

#[cfg(test)]
mod tests {
    use super::COLUMNS;

    #[test]
    fn each_column_is_mapped_once() {
        for (i, a) in COLUMNS.iter().enumerate() {
            assert!(
                !COLUMNS[i + 1..]
                    .iter()
                    .any(|b| a.table == b.table && a.column == b.column),
                "{}.{}",
                a.table,
                a.column
            );
        }
    }
}
