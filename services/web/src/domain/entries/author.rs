//! Who may see who made an entry (name, unit, anything that points at the person). One
//! decision, made here, for every surface: the entry page, gallery cards and its unit filter,
//! the vote page, the entry JSON, results pages and JSON. A surface that shows an author asks
//! `AuthorPolicy::may_see` (or `may_see_author`) and never reads contest flags itself.

use hoithi_core::auth::CurrentUser;
use sqlx::PgPool;

use super::EntryRow;
use crate::domain::access::manages;
use crate::domain::contests::ContestRow;

/// What one viewer may know about the authors of one contest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorPolicy {
    viewer: Option<i64>,
    /// Organizers of the contest's unit (and admins) always see authors: they moderate,
    /// assign judges around conflicts of interest and hand out prizes.
    organizer: bool,
    /// Everyone else sees authors only when the contest shows them: never with `hide_author`,
    /// and with blind judging only once the results of the last round are published (before
    /// that a judge could simply sign out and look).
    public: bool,
}

impl AuthorPolicy {
    pub async fn load(
        db: &PgPool,
        viewer: Option<&CurrentUser>,
        c: &ContestRow,
    ) -> sqlx::Result<Self> {
        let organizer = match viewer {
            Some(u) => manages(db, u, c.unit_id).await?,
            None => false,
        };
        let public = !c.hide_author && (!c.blind_judging || results_published(db, c).await?);
        Ok(Self::decide(
            viewer.map(|u| u.app_user_id),
            organizer,
            public,
        ))
    }

    const fn decide(viewer: Option<i64>, organizer: bool, public: bool) -> Self {
        Self {
            viewer,
            organizer,
            public,
        }
    }

    /// Whether this viewer may see the author `author_id` of an entry of the contest: the
    /// author themselves always may.
    pub fn may_see(&self, author_id: i64) -> bool {
        self.organizer || self.public || self.viewer == Some(author_id)
    }

    /// Whether this viewer may see every author of the contest: lists that filter or search
    /// by unit need this, since a filter that narrows the cards tells whose they are.
    pub const fn sees_all(&self) -> bool {
        self.organizer || self.public
    }
}

/// The single question for one entry.
pub async fn may_see_author(
    db: &PgPool,
    viewer: Option<&CurrentUser>,
    c: &ContestRow,
    e: &EntryRow,
) -> sqlx::Result<bool> {
    Ok(AuthorPolicy::load(db, viewer, c)
        .await?
        .may_see(e.author_id))
}

/// True once the contest's last judging round has published results. A published first round
/// whose advancers are judged again in a later round does not count: the later judges must
/// stay blind.
pub async fn results_published(db: &PgPool, c: &ContestRow) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (
            select 1 from judging_result r join judging_round jr using (judging_round_id)
            where r.contest_id = $1
              and jr.number = (select max(number) from judging_round where contest_id = $1))",
    )
    .bind(c.contest_id)
    .fetch_one(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::AuthorPolicy;

    #[test]
    fn the_author_and_organizers_always_see_others_only_when_the_contest_shows_authors() {
        let hidden = AuthorPolicy::decide(Some(7), false, false);
        assert!(hidden.may_see(7), "the author sees their own name");
        assert!(!hidden.may_see(8));
        assert!(!hidden.sees_all());
        let anonymous = AuthorPolicy::decide(None, false, false);
        assert!(!anonymous.may_see(7));
        let organizer = AuthorPolicy::decide(Some(1), true, false);
        assert!(organizer.may_see(7) && organizer.sees_all());
        let shown = AuthorPolicy::decide(None, false, true);
        assert!(shown.may_see(7) && shown.sees_all());
    }
}
