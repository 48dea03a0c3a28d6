//! Editing a contest after its creation: the edit page and `PATCH /api/v1/contests/{slug}`
//! send a `ContestPatch` (any subset of the creation fields). The patch is laid over the
//! contest as it stands and the whole goes through the creation's own validation
//! (`ContestSpec::validate`); then the fairness locks and the rules of time (below, and in
//! docs/organizers.md) decide. What passes is stored with one history line per changed field
//! (`contest_change`), and a moved submission deadline is mailed to every entrant — all in
//! one transaction that holds the contest's row, so two edits at once are applied one after
//! the other and neither is lost.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::EntryStatus;
use serde::{Deserialize, Deserializer};
use sqlx::{PgConnection, PgExecutor};

use super::refusal::{ContestRefusal as R, FieldError};
use super::spec::{ContestSpec, Limits, Phases, ValidContest, Window};
use super::{ContestRow, by_id};
use crate::domain::access::manages;
use crate::domain::people::outbox;

/// How far in the past a new time may lie and still count as "now": the form's times have
/// whole minutes, and a person takes a moment to press the button.
pub const NOW_SLACK: Duration = Duration::minutes(5);

/// A field the patch sets to a value or to nothing (`null`); absent: unchanged.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What an edit changes: every field is optional, and absent means "as it is".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContestPatch {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub rules: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub cover_url: Option<Option<String>>,
    pub unit: Option<String>,
    pub eligible_units: Option<Vec<String>>,
    pub kinds: Option<Vec<String>>,
    pub phases: Option<PhasesPatch>,
    pub limits: Option<Limits>,
    pub requires_moderation: Option<bool>,
    pub blind_judging: Option<bool>,
    pub hide_author: Option<bool>,
    pub requires_birth_date: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub retention_days: Option<Option<i32>>,
    pub criteria: Option<Vec<serde_json::Value>>,
    pub weights: Option<serde_json::Value>,
    pub vote_policy: Option<serde_json::Value>,
    pub voting_overlaps_submission: Option<bool>,
    /// The whole list of categories (hạng mục), in order: new slugs added, missing ones
    /// deleted (only without entries), the rest renamed, moved and re-limited under the same
    /// locks as the contest's (`categories::replace`).
    pub categories: Option<Vec<super::categories::CategorySpec>>,
    /// "Dời các vòng sau theo": when a phase's close moves, every later date the patch does
    /// not set moves by the same amount.
    #[serde(default)]
    pub shift_later: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhasesPatch {
    pub submission: Option<WindowPatch>,
    /// `null` removes the phase (only before it opens).
    #[serde(default, deserialize_with = "nullable")]
    pub judging: Option<Option<WindowPatch>>,
    #[serde(default, deserialize_with = "nullable")]
    pub voting: Option<Option<WindowPatch>>,
    #[serde(default, deserialize_with = "nullable")]
    pub results_at: Option<Option<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowPatch {
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
}

/// The seven dates of a contest, in this order.
pub const DATE_FIELDS: [&str; 7] = [
    "submission_opens_at",
    "submission_closes_at",
    "judging_opens_at",
    "judging_closes_at",
    "voting_opens_at",
    "voting_closes_at",
    "results_at",
];

type Dates = [Option<DateTime<Utc>>; 7];

fn dates_of(c: &ContestRow) -> Dates {
    [
        Some(c.submission_opens_at),
        Some(c.submission_closes_at),
        c.judging_opens_at,
        c.judging_closes_at,
        c.voting_opens_at,
        c.voting_closes_at,
        c.results_at,
    ]
}

fn dates_of_valid(v: &ValidContest) -> Dates {
    [
        Some(v.submission.0),
        Some(v.submission.1),
        v.judging.map(|w| w.0),
        v.judging.map(|w| w.1),
        v.voting.map(|w| w.0),
        v.voting.map(|w| w.1),
        v.results_at,
    ]
}

/// One changed field: its name, the value before and after (as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What an edit did.
#[derive(Debug, Clone)]
pub struct Edited {
    pub contest: ContestRow,
    pub changes: Vec<Change>,
    /// Entrants mailed about a moved deadline.
    pub mailed: usize,
}

/// Why an edit was refused: broken rules with their fields (nothing was stored), or a
/// failure.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Fields(Vec<FieldError>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn refused(field: &'static str, refusal: R) -> EditError {
    EditError::Fields(vec![FieldError::new(field, refusal)])
}

/// What has happened in a contest that locks parts of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts {
    /// Entries in any state but withdrawn.
    pub entries: i64,
    /// The most entries one member has (withdrawn ones left out).
    pub most_by_one: i64,
    /// A judge has given a score.
    pub scored: bool,
    /// Judging is set up (a round exists): the rubric lives on the judging page now.
    pub judging_set_up: bool,
    /// A vote was cast.
    pub voted: bool,
}

impl Facts {
    /// Whether anything happened in the phase of date `slot` (of `DATE_FIELDS`): an entry,
    /// a score, a vote.
    fn busy(&self, slot: usize) -> bool {
        match slot {
            0 | 1 => self.entries > 0,
            2 | 3 => self.scored,
            4 | 5 => self.voted,
            _ => true,
        }
    }
}

pub async fn facts(db: &mut PgConnection, contest_id: i64) -> sqlx::Result<Facts> {
    let (entries, most_by_one): (i64, i64) = sqlx::query_as(
        "select coalesce(sum(n), 0)::int8, coalesce(max(n), 0)::int8 from (
             select count(*) as n from entry where contest_id = $1 and status <> $2
             group by author_id) per_author",
    )
    .bind(contest_id)
    .bind(EntryStatus::Withdrawn)
    .fetch_one(&mut *db)
    .await?;
    let (scored, judging_set_up, voted): (bool, bool, bool) = sqlx::query_as(
        "select exists (select 1 from judge_score_audit where contest_id = $1),
                exists (select 1 from judging_round where contest_id = $1),
                exists (select 1 from vote where contest_id = $1)",
    )
    .bind(contest_id)
    .fetch_one(&mut *db)
    .await?;
    Ok(Facts {
        entries,
        most_by_one,
        scored,
        judging_set_up,
        voted,
    })
}

/// The contest as a creation spec, so that an edit goes through the creation's validation.
fn spec_of(c: &ContestRow, eligible: Vec<String>) -> ContestSpec {
    let t = |x: DateTime<Utc>| x.to_rfc3339();
    let window = |o: Option<DateTime<Utc>>, cl: Option<DateTime<Utc>>| {
        o.zip(cl).map(|(o, cl)| Window {
            opens_at: t(o),
            closes_at: t(cl),
        })
    };
    ContestSpec {
        slug: c.slug.clone(),
        title: c.title.clone(),
        description: Some(c.description.clone()),
        rules: Some(c.rules.clone()),
        cover_url: c.cover_url.clone(),
        unit: c.unit_slug.clone(),
        eligible_units: Some(eligible),
        kinds: c.kinds.clone(),
        phases: Phases {
            submission: Window {
                opens_at: t(c.submission_opens_at),
                closes_at: t(c.submission_closes_at),
            },
            judging: window(c.judging_opens_at, c.judging_closes_at),
            voting: window(c.voting_opens_at, c.voting_closes_at),
            results_at: c.results_at.map(t),
        },
        limits: Some(Limits {
            max_photo_bytes: Some(c.max_photo_bytes),
            max_video_bytes: Some(c.max_video_bytes),
            max_video_seconds: Some(c.max_video_seconds),
            max_entries_per_member: Some(c.max_entries_per_member),
            upload_grace_minutes: Some(c.upload_grace_minutes),
        }),
        requires_moderation: Some(c.requires_moderation),
        blind_judging: Some(c.blind_judging),
        hide_author: Some(c.hide_author),
        requires_birth_date: Some(c.requires_birth_date),
        retention_days: c.retention_days,
        criteria: c
            .settings
            .get("criteria")
            .and_then(|v| v.as_array())
            .cloned(),
        weights: c.settings.get("weights").cloned(),
        vote_policy: c.settings.get("voting").cloned(),
        voting_overlaps_submission: Some(c.voting_overlaps_submission),
        categories: None,
    }
}

/// The dates as text slots, with which of them the patch set.
struct Slots {
    text: [Option<String>; 7],
    set: [bool; 7],
}

impl Slots {
    fn new(old: &Dates) -> Self {
        Self {
            text: old.map(|d| d.map(|d| d.to_rfc3339())),
            set: [false; 7],
        }
    }

    fn put(&mut self, i: usize, value: Option<String>) {
        self.text[i] = value;
        self.set[i] = true;
    }

    fn window(&mut self, opens: usize, w: Option<&Option<WindowPatch>>) {
        match w {
            None => {}
            Some(None) => {
                self.put(opens, None);
                self.put(opens + 1, None);
            }
            Some(Some(w)) => {
                if let Some(o) = &w.opens_at {
                    self.put(opens, Some(o.clone()));
                }
                if let Some(c) = &w.closes_at {
                    self.put(opens + 1, Some(c.clone()));
                }
            }
        }
    }

    /// "Dời các vòng sau theo": the first phase close the patch moves (by the order of its
    /// old date) gives the amount; every date the patch leaves alone that came at or after
    /// that old close, and has not passed, moves by as much.
    fn shift_later(&mut self, old: &Dates, now: DateTime<Utc>) {
        let moved = [1, 3, 5]
            .into_iter()
            .filter(|&i| self.set[i])
            .filter_map(|i| {
                let before = old[i]?;
                let after = super::time::parse_time(self.text[i].as_deref()?)?;
                (after != before).then_some((before, after - before))
            })
            .min_by_key(|(before, _)| *before);
        let Some((from, delta)) = moved else {
            return;
        };
        for ((text, set), d) in self.text.iter_mut().zip(self.set).zip(old) {
            if let Some(d) = *d
                && !set
                && d >= from
                && d > now
            {
                *text = Some((d + delta).to_rfc3339());
            }
        }
    }

    fn phases(&self) -> Phases {
        let text = |i: usize| self.text[i].clone();
        let window = |o: usize| {
            (text(o).is_some() || text(o + 1).is_some()).then(|| Window {
                opens_at: text(o).unwrap_or_default(),
                closes_at: text(o + 1).unwrap_or_default(),
            })
        };
        Phases {
            submission: Window {
                opens_at: text(0).unwrap_or_default(),
                closes_at: text(1).unwrap_or_default(),
            },
            judging: window(2),
            voting: window(4),
            results_at: text(6),
        }
    }
}

impl ContestPatch {
    /// The contest `c` with this patch laid over it, as a spec to validate.
    fn over(&self, c: &ContestRow, eligible: Vec<String>, now: DateTime<Utc>) -> ContestSpec {
        let mut s = spec_of(c, eligible);
        let set = |to: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                to.clone_from(v);
            }
        };
        set(&mut s.slug, &self.slug);
        set(&mut s.title, &self.title);
        if let Some(d) = &self.description {
            s.description = Some(d.clone());
        }
        if let Some(r) = &self.rules {
            s.rules = Some(r.clone());
        }
        if let Some(u) = &self.cover_url {
            s.cover_url.clone_from(u);
        }
        if let Some(u) = &self.unit {
            s.unit = Some(u.clone());
        }
        if let Some(e) = &self.eligible_units {
            s.eligible_units = Some(e.clone());
        }
        if let Some(k) = &self.kinds {
            s.kinds.clone_from(k);
        }
        let old = dates_of(c);
        let mut slots = Slots::new(&old);
        if let Some(p) = &self.phases {
            if let Some(w) = &p.submission {
                slots.window(0, Some(&Some(w.clone())));
            }
            slots.window(2, p.judging.as_ref());
            slots.window(4, p.voting.as_ref());
            if let Some(r) = &p.results_at {
                slots.put(6, r.clone().filter(|r| !r.trim().is_empty()));
            }
        }
        if self.shift_later {
            slots.shift_later(&old, now);
        }
        s.phases = slots.phases();
        if let (Some(patch), Some(limits)) = (&self.limits, s.limits.as_mut()) {
            let take = |to: &mut Option<i64>, v: Option<i64>| {
                if v.is_some() {
                    *to = v;
                }
            };
            take(&mut limits.max_photo_bytes, patch.max_photo_bytes);
            take(&mut limits.max_video_bytes, patch.max_video_bytes);
            let take32 = |to: &mut Option<i32>, v: Option<i32>| {
                if v.is_some() {
                    *to = v;
                }
            };
            take32(&mut limits.max_video_seconds, patch.max_video_seconds);
            take32(
                &mut limits.max_entries_per_member,
                patch.max_entries_per_member,
            );
            take32(&mut limits.upload_grace_minutes, patch.upload_grace_minutes);
        }
        let flag = |to: &mut Option<bool>, v: Option<bool>| {
            if v.is_some() {
                *to = v;
            }
        };
        flag(&mut s.requires_moderation, self.requires_moderation);
        flag(&mut s.blind_judging, self.blind_judging);
        flag(&mut s.hide_author, self.hide_author);
        flag(&mut s.requires_birth_date, self.requires_birth_date);
        flag(
            &mut s.voting_overlaps_submission,
            self.voting_overlaps_submission,
        );
        if let Some(r) = self.retention_days {
            s.retention_days = r;
        }
        if let Some(c) = &self.criteria {
            s.criteria = Some(c.clone());
        }
        if let Some(w) = &self.weights {
            s.weights = Some(w.clone());
        }
        if let Some(v) = &self.vote_policy {
            s.vote_policy = Some(v.clone());
        }
        s
    }
}

/// The rules of time for the dates an edit moves (`old` → `new`, at `now`), on top of the
/// creation's order rules: once results are out no date moves; a date that has passed is
/// history once something happened in its phase (`Facts::busy`: a phase that opened and got
/// entries, scores or votes stays opened and scheduled) except a close, which may move into
/// the future (that is a reopening); and no date moves into the past (beyond `NOW_SLACK`).
pub fn time_rules(old: &Dates, new: &Dates, now: DateTime<Utc>, facts: &Facts) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let results_out = old[6].is_some_and(|r| r <= now);
    for (i, (old, new)) in old.iter().zip(new).enumerate() {
        if old == new {
            continue;
        }
        let field = DATE_FIELDS[i];
        let is_close = i == 1 || i == 3 || i == 5;
        if results_out {
            errors.push(FieldError::new(field, R::ResultsOut));
        } else if old.is_some_and(|o| o <= now) && (!is_close || new.is_none()) && facts.busy(i) {
            errors.push(FieldError::new(field, R::TimePassed));
        } else if new.is_some_and(|n| n < now - NOW_SLACK) {
            errors.push(FieldError::new(field, R::TimeInPast));
        }
    }
    errors
}

/// The fairness locks (docs/organizers.md): what entrants and judges already relied on.
fn locks(c: &ContestRow, v: &ValidContest, facts: &Facts, narrowed: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut lock = |field, refusal| errors.push(FieldError::new(field, refusal));
    if v.slug != c.slug {
        lock("slug", R::SlugLocked);
    }
    if facts.entries > 0 {
        if v.kinds != sorted(&c.kinds) {
            lock("kinds", R::KindsLocked);
        }
        if v.max_photo_bytes < c.max_photo_bytes {
            lock("max_photo_bytes", R::LimitTightened);
        }
        if v.max_video_bytes < c.max_video_bytes {
            lock("max_video_bytes", R::LimitTightened);
        }
        if v.max_video_seconds < c.max_video_seconds {
            lock("max_video_seconds", R::LimitTightened);
        }
        if v.requires_birth_date != c.requires_birth_date {
            lock("requires_birth_date", R::BirthDateLocked);
        }
        if narrowed {
            lock("eligible_units", R::EligibilityNarrowed);
        }
    }
    // Judged on a change only: a contest that already holds more (an import) is left alone.
    if v.max_entries_per_member < c.max_entries_per_member
        && i64::from(v.max_entries_per_member) < facts.most_by_one
    {
        lock("max_entries_per_member", R::MaxEntriesBelowExisting);
    }
    let rubric_changed = v.settings.get("criteria") != c.settings.get("criteria")
        && v.settings.get("criteria").is_some()
        || v.settings.get("weights") != c.settings.get("weights")
            && v.settings.get("weights").is_some();
    if facts.scored {
        if rubric_changed {
            lock("criteria", R::RubricLocked);
        }
        if v.blind_judging != c.blind_judging {
            lock("blind_judging", R::RubricLocked);
        }
    } else if rubric_changed && facts.judging_set_up {
        lock("criteria", R::RubricInJudgingSetUp);
    }
    errors
}

fn sorted(kinds: &[String]) -> Vec<String> {
    let mut k = kinds.to_vec();
    k.sort();
    k.dedup();
    k
}

/// The ids of the units `slugs`, or the refusal on `eligible_units`.
async fn unit_ids(
    db: &mut PgConnection,
    slugs: &[String],
    field: &'static str,
) -> Result<Vec<i64>, EditError> {
    let mut ids = Vec::new();
    for slug in slugs {
        let id: Option<i64> = sqlx::query_scalar("select unit_id from unit where slug = $1")
            .bind(slug)
            .fetch_optional(&mut *db)
            .await?;
        ids.push(id.ok_or_else(|| refused(field, R::UnknownUnit))?);
    }
    Ok(ids)
}

async fn unit_slugs(db: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select u.slug from unnest($1::int8[]) with ordinality as x(id, n)
         join unit u on u.unit_id = x.id order by x.n",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// The text of a date in the history (RFC 3339, UTC; pages show it in Vietnam time).
fn date_text(d: Option<DateTime<Utc>>) -> Option<String> {
    d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// Every field that differs between the stored contest and the validated one.
fn changes(c: &ContestRow, v: &ValidContest, unit: Option<i64>, eligible: &[i64]) -> Vec<Change> {
    let mut out = Vec::new();
    let mut diff = |field: &'static str, old: Option<String>, new: Option<String>| {
        if old != new {
            out.push(Change { field, old, new });
        }
    };
    let s = |x: &str| Some(x.to_owned());
    diff("title", s(&c.title), s(&v.title));
    diff("description", s(&c.description), s(&v.description));
    diff("rules", s(&c.rules), s(&v.rules));
    diff("cover_url", c.cover_url.clone(), v.cover_url.clone());
    diff(
        "unit",
        c.unit_id.map(|u| u.to_string()),
        unit.map(|u| u.to_string()),
    );
    let ids = |x: &[i64]| {
        (!x.is_empty()).then(|| {
            x.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    diff(
        "eligible_units",
        ids(c.eligible_unit_ids.as_deref().unwrap_or_default()),
        ids(eligible),
    );
    diff(
        "kinds",
        s(&sorted(&c.kinds).join(", ")),
        s(&v.kinds.join(", ")),
    );
    let (old, new) = (dates_of(c), dates_of_valid(v));
    for ((field, old), new) in DATE_FIELDS.into_iter().zip(old).zip(new) {
        diff(field, date_text(old), date_text(new));
    }
    let n = |x: i64| Some(x.to_string());
    diff(
        "max_photo_bytes",
        n(c.max_photo_bytes),
        n(v.max_photo_bytes),
    );
    diff(
        "max_video_bytes",
        n(c.max_video_bytes),
        n(v.max_video_bytes),
    );
    let n32 = |x: i32| Some(x.to_string());
    diff(
        "max_video_seconds",
        n32(c.max_video_seconds),
        n32(v.max_video_seconds),
    );
    diff(
        "max_entries_per_member",
        n32(c.max_entries_per_member),
        n32(v.max_entries_per_member),
    );
    diff(
        "upload_grace_minutes",
        n32(c.upload_grace_minutes),
        n32(v.upload_grace_minutes),
    );
    let b = |x: bool| Some(x.to_string());
    diff(
        "requires_moderation",
        b(c.requires_moderation),
        b(v.requires_moderation),
    );
    diff("blind_judging", b(c.blind_judging), b(v.blind_judging));
    diff("hide_author", b(c.hide_author), b(v.hide_author));
    diff(
        "requires_birth_date",
        b(c.requires_birth_date),
        b(v.requires_birth_date),
    );
    diff(
        "retention_days",
        c.retention_days.map(|d| d.to_string()),
        v.retention_days.map(|d| d.to_string()),
    );
    diff(
        "voting_overlaps_submission",
        b(c.voting_overlaps_submission),
        b(v.voting_overlaps_submission),
    );
    for key in ["criteria", "weights", "voting"] {
        let field = match key {
            "criteria" => "criteria",
            "weights" => "weights",
            _ => "vote_policy",
        };
        if let Some(new) = v.settings.get(key) {
            diff(
                field,
                c.settings.get(key).map(ToString::to_string),
                Some(new.to_string()),
            );
        }
    }
    out
}

/// The categories' part of an edit: the list replaced when the patch has one, else the
/// existing categories checked against the contest's kinds. One history line per category.
async fn category_changes(
    tx: &mut PgConnection,
    contest_id: i64,
    v: &ValidContest,
    patch: &ContestPatch,
) -> Result<Vec<Change>, EditError> {
    use super::categories;
    let Some(list) = &patch.categories else {
        if categories::kinds_fit(tx, contest_id, &v.kinds).await? {
            return Ok(Vec::new());
        }
        return Err(refused("categories", R::CategoryKindsOutside));
    };
    let limits = categories::ContestLimits {
        max_photo_bytes: v.max_photo_bytes,
        max_video_bytes: v.max_video_bytes,
        max_video_seconds: v.max_video_seconds,
        max_entries_per_member: v.max_entries_per_member,
    };
    let done = categories::replace(tx, contest_id, &v.kinds, &limits, list)
        .await?
        .map_err(EditError::Fields)?;
    Ok(done
        .into_iter()
        .map(|(old, new)| Change {
            field: "categories",
            old,
            new,
        })
        .collect())
}

/// Applies `patch` to contest `contest_id` for `user` (an organizer of it), at `now`.
/// `link` is the contest page's address, for the entrants' mail. The caller commits.
pub async fn apply(
    tx: &mut PgConnection,
    user: &CurrentUser,
    contest_id: i64,
    patch: &ContestPatch,
    link: &str,
    now: DateTime<Utc>,
) -> Result<Edited, EditError> {
    // The row lock orders concurrent edits (and entry creations, which take it too).
    sqlx::query("select 1 from contest where contest_id = $1 for update")
        .bind(contest_id)
        .execute(&mut *tx)
        .await?;
    let c = by_id(&mut *tx, contest_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let old_eligible = c.eligible_unit_ids.clone().unwrap_or_default();
    let eligible_slugs = unit_slugs(tx, &old_eligible).await?;
    let spec = patch.over(&c, eligible_slugs, now);
    let v = spec.validate().map_err(EditError::Fields)?;
    let unit = match &v.unit {
        None => None,
        Some(slug) => Some(unit_ids(tx, std::slice::from_ref(slug), "unit").await?[0]),
    };
    if unit != c.unit_id && !manages(&mut *tx, user, unit).await? {
        return Err(refused("unit", R::UnitOutOfScope));
    }
    let eligible = unit_ids(tx, &v.eligible_units, "eligible_units").await?;
    // Narrower: a list where there was none, or one that leaves out a unit it had.
    let narrowed = !eligible.is_empty()
        && (old_eligible.is_empty() || old_eligible.iter().any(|u| !eligible.contains(u)));
    let facts = facts(tx, contest_id).await?;
    let mut errors = locks(&c, &v, &facts, narrowed);
    errors.extend(time_rules(&dates_of(&c), &dates_of_valid(&v), now, &facts));
    if !errors.is_empty() {
        return Err(EditError::Fields(errors));
    }
    let mut changes = changes(&c, &v, unit, &eligible);
    changes.extend(category_changes(tx, contest_id, &v, patch).await?);
    if changes.is_empty() {
        return Ok(Edited {
            contest: c,
            changes,
            mailed: 0,
        });
    }
    store(tx, contest_id, &v, unit, &eligible).await?;
    record(tx, contest_id, Some(user.app_user_id), &changes).await?;
    let contest = by_id(&mut *tx, contest_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let mailed = if c.submission_closes_at == contest.submission_closes_at {
        0
    } else {
        mail_deadline(tx, &contest, link).await?
    };
    tracing::info!(contest = %contest.slug, fields = changes.len(), "contest edited");
    Ok(Edited {
        contest,
        changes,
        mailed,
    })
}

async fn store(
    tx: &mut PgConnection,
    contest_id: i64,
    v: &ValidContest,
    unit: Option<i64>,
    eligible: &[i64],
) -> sqlx::Result<()> {
    // Only the settings' keys an edit can give are replaced; others stay.
    let mut settings = serde_json::Map::new();
    for key in ["criteria", "weights", "voting"] {
        if let Some(x) = v.settings.get(key) {
            settings.insert(key.into(), x.clone());
        }
    }
    sqlx::query(
        "update contest set title = $2, description = $3, rules = $4, cover_url = $5,
            unit_id = $6, eligible_unit_ids = $7, kinds = $8,
            submission_opens_at = $9, submission_closes_at = $10, judging_opens_at = $11,
            judging_closes_at = $12, voting_opens_at = $13, voting_closes_at = $14,
            results_at = $15, max_photo_bytes = $16, max_video_bytes = $17,
            max_video_seconds = $18, max_entries_per_member = $19, requires_moderation = $20,
            blind_judging = $21, hide_author = $22, settings = settings || $23,
            upload_grace_minutes = $24, requires_birth_date = $25, retention_days = $26,
            voting_overlaps_submission = $27
         where contest_id = $1",
    )
    .bind(contest_id)
    .bind(&v.title)
    .bind(&v.description)
    .bind(&v.rules)
    .bind(&v.cover_url)
    .bind(unit)
    .bind((!eligible.is_empty()).then_some(eligible))
    .bind(&v.kinds)
    .bind(v.submission.0)
    .bind(v.submission.1)
    .bind(v.judging.map(|w| w.0))
    .bind(v.judging.map(|w| w.1))
    .bind(v.voting.map(|w| w.0))
    .bind(v.voting.map(|w| w.1))
    .bind(v.results_at)
    .bind(v.max_photo_bytes)
    .bind(v.max_video_bytes)
    .bind(v.max_video_seconds)
    .bind(v.max_entries_per_member)
    .bind(v.requires_moderation)
    .bind(v.blind_judging)
    .bind(v.hide_author)
    .bind(serde_json::Value::Object(settings))
    .bind(v.upload_grace_minutes)
    .bind(v.requires_birth_date)
    .bind(v.retention_days)
    .bind(v.voting_overlaps_submission)
    .execute(tx)
    .await
    .map(drop)
}

/// Writes one history line per change, by `by` (none: the command line).
pub async fn record(
    tx: &mut PgConnection,
    contest_id: i64,
    by: Option<i64>,
    changes: &[Change],
) -> sqlx::Result<()> {
    for ch in changes {
        sqlx::query(
            "insert into contest_change (contest_id, app_user_id, field, old_value, new_value)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(contest_id)
        .bind(by)
        .bind(ch.field)
        .bind(&ch.old)
        .bind(&ch.new)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The history line of a moved date (`record` it).
pub fn date_change(
    field: &'static str,
    old: Option<DateTime<Utc>>,
    new: Option<DateTime<Utc>>,
) -> Change {
    Change {
        field,
        old: date_text(old),
        new: date_text(new),
    }
}

/// The entrants' mail about a moved submission deadline: subject and body, in Vietnamese,
/// the new date in Vietnam time.
pub fn deadline_mail(c: &ContestRow, link: &str) -> (String, String) {
    let at = c
        .submission_closes_at
        .with_timezone(&Ho_Chi_Minh)
        .format("%H:%M ngày %d/%m/%Y");
    let subject = format!("Hạn nhận bài của «{}» đã thay đổi", c.title);
    let body = format!(
        "Ban tổ chức hội thi «{}» đã đổi hạn nhận bài.\n\n\
         Hạn nhận bài mới: {at} (giờ Việt Nam).\n\n\
         Bạn nhận thư này vì bạn có bài dự thi (kể cả bài nháp) trong hội thi.\n\n{link}\n",
        c.title
    );
    (subject, body)
}

/// Mails every member with an entry in `c` (draft or submitted, not withdrawn) the new
/// deadline, once each; returns how many were mailed.
pub async fn mail_deadline(
    tx: &mut PgConnection,
    c: &ContestRow,
    link: &str,
) -> sqlx::Result<usize> {
    let emails: Vec<String> = sqlx::query_scalar(
        "select distinct u.email::text from entry e join app_user u on u.app_user_id = e.author_id
         where e.contest_id = $1 and e.status <> $2 and u.deleted_at is null",
    )
    .bind(c.contest_id)
    .bind(EntryStatus::Withdrawn)
    .fetch_all(&mut *tx)
    .await?;
    let (subject, body) = deadline_mail(c, link);
    for to in &emails {
        outbox::queue(&mut *tx, to, "contest-deadline", &subject, &body).await?;
    }
    Ok(emails.len())
}

/// One line of a contest's change history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryLine {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: DateTime<Utc>,
    pub display_name: Option<String>,
}

/// The change history of a contest, newest first (the last 200 lines).
pub async fn history(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<Vec<HistoryLine>> {
    sqlx::query_as(
        "select h.field, h.old_value, h.new_value, h.created_at, u.display_name
         from contest_change h left join app_user u using (app_user_id)
         where h.contest_id = $1 order by h.contest_change_id desc limit 200",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> Option<DateTime<Utc>> {
        Some(DateTime::<Utc>::UNIX_EPOCH + Duration::hours(1_000_000 + h))
    }

    fn now() -> DateTime<Utc> {
        at(0).unwrap()
    }

    #[test]
    fn passed_dates_stay_but_a_passed_close_may_reopen_and_nothing_moves_into_the_past() {
        let busy = Facts {
            entries: 1,
            most_by_one: 1,
            scored: true,
            judging_set_up: true,
            voted: true,
        };
        let time_rules = |old: &Dates, new: &Dates, now| time_rules(old, new, now, &busy);
        let old = [at(-10), at(5), None, None, at(6), at(9), at(10)];
        // Extending the deadline: fine.
        let mut new = old;
        new[1] = at(8);
        assert!(time_rules(&old, &new, now()).is_empty());
        // Moving a start that passed: history.
        let mut new = old;
        new[0] = at(-5);
        assert_eq!(
            time_rules(&old, &new, now()),
            vec![FieldError::new("submission_opens_at", R::TimePassed)]
        );
        // A close into the past.
        let mut new = old;
        new[5] = at(-1);
        assert_eq!(
            time_rules(&old, &new, now()),
            vec![FieldError::new("voting_closes_at", R::TimeInPast)]
        );
        // "Now", typed as whole minutes a moment ago, is not the past.
        let mut new = old;
        new[4] = Some(now() - Duration::minutes(1));
        assert!(time_rules(&old, &new, now()).is_empty());
        // A passed close reopens into the future.
        let old = [at(-10), at(-2), None, None, at(6), at(9), at(10)];
        let mut new = old;
        new[1] = at(3);
        assert!(time_rules(&old, &new, now()).is_empty());
        // Once results are out, nothing moves.
        let old = [at(-10), at(-8), None, None, at(-6), at(-4), at(-1)];
        let mut new = old;
        new[5] = at(3);
        assert_eq!(
            time_rules(&old, &new, now()),
            vec![FieldError::new("voting_closes_at", R::ResultsOut)]
        );
        // A phase that opened with nothing in it yet may still move or go.
        let old = [at(-10), at(5), None, None, at(-1), at(9), None];
        let mut new = old;
        new[4] = at(2);
        let quiet = Facts {
            voted: false,
            ..busy
        };
        assert!(super::time_rules(&old, &new, now(), &quiet).is_empty());
        assert_eq!(
            super::time_rules(&old, &new, now(), &busy),
            vec![FieldError::new("voting_opens_at", R::TimePassed)]
        );
    }

    fn row() -> ContestRow {
        let now = Utc::now();
        ContestRow {
            contest_id: 1,
            slug: "x".into(),
            title: "X".into(),
            description: String::new(),
            rules: String::new(),
            cover_url: None,
            unit_id: None,
            unit_slug: None,
            unit_name: None,
            eligible_unit_ids: None,
            kinds: vec!["photo".into()],
            submission_opens_at: now - Duration::days(1),
            submission_closes_at: now + Duration::days(10),
            judging_opens_at: None,
            judging_closes_at: None,
            voting_opens_at: None,
            voting_closes_at: None,
            results_at: None,
            max_photo_bytes: 1024,
            max_video_bytes: 1024,
            max_video_seconds: 60,
            max_entries_per_member: 2,
            requires_moderation: true,
            blind_judging: false,
            hide_author: false,
            settings: serde_json::json!({"criteria": [{"name": "Sáng tạo", "max": 10, "weight": 1}]}),
            upload_grace_minutes: 30,
            requires_birth_date: false,
            retention_days: None,
            voting_overlaps_submission: false,
        }
    }

    #[test]
    fn the_rubric_locks_once_scored_and_moves_to_the_judging_page_once_set_up() {
        let c = row();
        let patch = ContestPatch {
            criteria: Some(vec![
                serde_json::json!({"name": "Kỹ thuật", "max": 10, "weight": 2}),
            ]),
            blind_judging: Some(true),
            ..ContestPatch::default()
        };
        let v = patch.over(&c, vec![], Utc::now()).validate().unwrap();
        let codes = |facts: Facts| -> Vec<(&str, &str)> {
            locks(&c, &v, &facts, false)
                .iter()
                .map(|e| (e.field, e.code()))
                .collect()
        };
        assert!(codes(Facts::default()).is_empty());
        let set_up = Facts {
            judging_set_up: true,
            ..Facts::default()
        };
        assert_eq!(codes(set_up), [("criteria", "rubric-in-judging-set-up")]);
        let scored = Facts {
            scored: true,
            judging_set_up: true,
            ..Facts::default()
        };
        assert_eq!(
            codes(scored),
            [
                ("criteria", "rubric-locked"),
                ("blind_judging", "rubric-locked")
            ]
        );
        // The same rubric sent again changes nothing, scores or not.
        let same = ContestPatch {
            criteria: c.settings["criteria"].as_array().cloned(),
            ..ContestPatch::default()
        };
        let v = same.over(&c, vec![], Utc::now()).validate().unwrap();
        assert!(locks(&c, &v, &scored, false).is_empty());
    }

    #[test]
    fn shifting_later_phases_moves_the_untouched_later_dates_by_the_same_amount() {
        let old = [at(-10), at(5), at(6), at(8), at(6), at(9), at(10)];
        let mut slots = Slots::new(&old);
        slots.put(1, Some(at(29).unwrap().to_rfc3339()));
        slots.shift_later(&old, now());
        let shifted: Vec<_> = slots
            .text
            .iter()
            .map(|t| super::super::time::parse_time(t.as_deref().unwrap()))
            .collect();
        assert_eq!(
            shifted,
            vec![at(-10), at(29), at(30), at(32), at(30), at(33), at(34)]
        );
        // Without a moved close nothing shifts.
        let mut slots = Slots::new(&old);
        slots.put(6, Some(at(20).unwrap().to_rfc3339()));
        slots.shift_later(&old, now());
        assert_eq!(slots.text[2], Some(at(6).unwrap().to_rfc3339()));
    }
}
