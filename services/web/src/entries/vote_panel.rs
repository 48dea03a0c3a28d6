//! The vote panel of an approved entry's page: the phase and the time left, the entry's votes
//! (unless the contest hides totals), and the way to vote from here: a button for a verified
//! voter, else the email and code forms (the voting area's `/entries/{id}/vote…` forms),
//! with the note the last form left (`page::Note`).

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use hoithi_core::AppState;
use hoithi_core::auth::CurrentUser;
use hoithi_core::i18n::{self, Lang};

use crate::domain::contests::ContestRow;
use crate::domain::entries::EntryRow;
use crate::domain::voting::live::{live_vote_open, totals_hidden};
use crate::domain::voting::repo::entry_votes;
use crate::page::Note;
use crate::security::cookies::{cookie, is_secure, vote_email, vote_note_cookie_name};

/// What the panel shows.
pub struct VotePanel {
    /// The vote is open for this entry now (the contest's window, or a live window).
    pub open: bool,
    /// The phase in a sentence: open with the time left, not yet open, or over.
    pub phase: String,
    /// When voting closes (the countdown's `<time>`), while open.
    pub closes_at: Option<DateTime<Utc>>,
    /// `None` when the contest hides totals until voting ends.
    pub votes: Option<i64>,
    /// A verified voter: the button votes at once.
    pub can_vote: bool,
    /// The email a code was sent to: the page asks for the code.
    pub email: Option<String>,
    /// The last form's note: (good news?, sentence).
    pub note: Option<(bool, String)>,
    /// The vote waits for a proof of work (entry-vote.js solves one and sends it again).
    pub busy: bool,
}

impl VotePanel {
    pub async fn load(
        state: &AppState,
        headers: &HeaderMap,
        user: Option<&CurrentUser>,
        lang: Lang,
        e: &EntryRow,
        c: &ContestRow,
    ) -> sqlx::Result<(Self, bool)> {
        let now = Utc::now();
        let in_window = c.voting_opens_at.is_some_and(|o| o <= now)
            && c.voting_closes_at.is_none_or(|cl| now < cl);
        let live = !in_window && live_vote_open(&state.db, e.entry_id).await?;
        let open = in_window || live;
        let t = |key: &str| i18n::text(lang, key).to_owned();
        let phase = if open {
            match c.voting_closes_at.filter(|_| in_window) {
                Some(close) => {
                    t("entry-vote.open-until").replace("{left}", &time_left(lang, close - now))
                }
                None => t("entry-vote.open"),
            }
        } else {
            match (c.voting_opens_at, c.voting_closes_at) {
                (Some(o), _) if now < o => {
                    t("entry-vote.opens-at").replace("{when}", &crate::format::datetime(lang, &o))
                }
                (Some(_), Some(_)) => t("entry-vote.over"),
                _ => t("entry-vote.none"),
            }
        };
        let votes = if totals_hidden(&c.settings, c.voting_closes_at) {
            None
        } else {
            Some(entry_votes(&state.db, e.entry_id).await?)
        };
        let can_vote = user.is_some_and(CurrentUser::is_verified);
        let secure = is_secure(state, headers);
        let email = (!can_vote).then(|| vote_email(headers, secure)).flatten();
        let note = cookie(headers, vote_note_cookie_name(secure))
            .and_then(|v| Note::parse(&v))
            .filter(|n| n.scope == e.entry_id.to_string());
        let had_note = note.is_some();
        // The key voting/entry_vote.rs leaves when a vote needs a solved challenge.
        let busy = note.as_ref().is_some_and(|n| n.key == "entry-vote.busy");
        let note = note.map(|n| (n.is_success(), note_text(lang, &n, e, now)));
        Ok((
            Self {
                open,
                phase,
                closes_at: c.voting_closes_at.filter(|_| in_window),
                votes,
                can_vote,
                email,
                note,
                busy,
            },
            had_note,
        ))
    }
}

/// "2 ngày 3 giờ", "5 giờ 10 phút", "8 phút".
fn time_left(lang: Lang, left: Duration) -> String {
    let minutes = left.num_minutes().max(1);
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let key = if d > 0 {
        "entry-vote.left-days"
    } else if h > 0 {
        "entry-vote.left-hours"
    } else {
        "entry-vote.left-minutes"
    };
    i18n::text(lang, key)
        .replace("{d}", &d.to_string())
        .replace("{h}", &h.to_string())
        .replace("{m}", &m.to_string())
}

/// The next midnight in Vietnam (UTC+7, no daylight saving): when a vote day starts, as the
/// ingest counts days (`vote_day`).
fn next_vote_day(now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now + Duration::hours(7);
    let midnight = (local.date_naive() + Duration::days(1)).and_time(NaiveTime::MIN);
    midnight.and_utc() - Duration::hours(7)
}

/// The note's sentence, naming the entry (and, for the daily limit, when the next vote is
/// allowed).
fn note_text(lang: Lang, n: &Note, e: &EntryRow, now: DateTime<Utc>) -> String {
    i18n::text(lang, &n.key)
        .replace("{title}", &e.title)
        .replace("{number}", &e.number_label())
        .replace(
            "{when}",
            &crate::format::datetime(lang, &next_vote_day(now)),
        )
        .replace("{seconds}", &n.arg.to_string())
        .replace("{left}", &n.arg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vote_day_ends_at_midnight_in_vietnam() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 16:59 UTC is 23:59 in Vietnam: the next day starts a minute later.
        assert_eq!(
            next_vote_day(at("2026-12-06T16:59:00Z")),
            at("2026-12-06T17:00:00Z")
        );
        assert_eq!(
            next_vote_day(at("2026-12-06T17:00:00Z")),
            at("2026-12-07T17:00:00Z")
        );
        assert_eq!(
            time_left(Lang::Vi, Duration::minutes(3 * 1440 + 125)),
            "3 ngày 2 giờ"
        );
        assert_eq!(time_left(Lang::En, Duration::seconds(30)), "1 min");
    }
}
