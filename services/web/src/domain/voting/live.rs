//! A contest's live state: the entry now on stage, whether the live voting window is open,
//! and the contest's phase. Changes are logged and announced to every node by a trigger on
//! `contest_live` (see the livestreams migration); the view `live_vote_entry` is the one
//! rule the vote ingest and the pages share.

use chrono::{DateTime, Utc};
use hoithi_core::api_error::Refusal;
use http::StatusCode;
use serde::Serialize;
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::policy::VotePolicy;
use super::repo;
use crate::domain::contests::{self, ContestRow, Phase};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageEntry {
    pub id: Uuid,
    pub title: String,
}

/// What the live pages show besides the tally. Compared field by field, so a snapshot that
/// changed nothing sends nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSnapshot {
    pub contest_id: i64,
    /// `None` while the contest was never live (no row yet).
    pub version: Option<i64>,
    pub stage: Option<StageEntry>,
    pub live_voting: bool,
    pub phase: Phase,
    pub next_change: Option<DateTime<Utc>>,
}

impl LiveSnapshot {
    /// The live part of an SSE event id: changes with every stage/window change and phase.
    pub fn key(&self) -> Option<String> {
        self.version.map(|v| format!("{v}.{}", self.phase.as_str()))
    }

    pub fn stage_json(&self) -> serde_json::Value {
        json!({
            "entry": self.stage,
            "live_voting": self.live_voting && self.stage.is_some(),
            "version": self.version.unwrap_or(0),
        })
    }

    pub fn phase_json(&self) -> serde_json::Value {
        json!({"phase": self.phase, "next_change": self.next_change})
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "stage": self.stage_json(),
            "phase": self.phase_json(),
        })
    }
}

/// The live state of a contest now; `None` if there is no such contest.
pub async fn snapshot(db: &PgPool, contest_id: i64) -> sqlx::Result<Option<LiveSnapshot>> {
    let Some(c) = contests::by_id(db, contest_id).await? else {
        return Ok(None);
    };
    let row: Option<(i64, Option<Uuid>, Option<String>, bool)> = sqlx::query_as(
        "select l.version, e.entry_id, e.title, l.window_open
         from contest_live l
         left join entry e on e.entry_id = l.stage_entry_id and e.status = 'approved'
         where l.contest_id = $1",
    )
    .bind(contest_id)
    .fetch_optional(db)
    .await?;
    let now = Utc::now();
    let (version, stage, window_open) = match row {
        None => (None, None, false),
        Some((v, id, title, open)) => (
            Some(v),
            id.zip(title).map(|(id, title)| StageEntry { id, title }),
            open,
        ),
    };
    Ok(Some(LiveSnapshot {
        contest_id,
        version,
        live_voting: window_open && stage.is_some(),
        stage,
        phase: c.phase_at(now),
        next_change: c.next_change(now),
    }))
}

/// Why a live change was refused (409; sentences under `refusal.<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeError {
    EntryNotInContest,
    NothingOnStage,
}

impl Refusal for ChangeError {
    fn code(&self) -> &'static str {
        match self {
            Self::EntryNotInContest => "entry-not-in-contest",
            Self::NothingOnStage => "nothing-on-stage",
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::CONFLICT
    }
}

/// What an organizer asks for; each field left out stays as it is.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// `Some(None)` takes the entry off stage.
    pub stage: Option<Option<Uuid>>,
    pub window_open: Option<bool>,
}

/// Applies `change` in one transaction with a log row per action. A change that changes
/// nothing writes nothing (and announces nothing).
pub async fn apply(
    db: &PgPool,
    contest_id: i64,
    change: &Change,
    actor: i64,
) -> sqlx::Result<Result<(), ChangeError>> {
    let mut tx = db.begin().await?;
    // The row is made (and locked) first, so two organizers' taps apply one after the other.
    sqlx::query(
        "insert into contest_live (contest_id, updated_by) values ($1, $2)
         on conflict (contest_id) do nothing",
    )
    .bind(contest_id)
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    let now: (Option<Uuid>, bool) = sqlx::query_as(
        "select stage_entry_id, window_open from contest_live where contest_id = $1 for update",
    )
    .bind(contest_id)
    .fetch_one(&mut *tx)
    .await?;
    let planned = match plan(&mut tx, contest_id, change, now).await? {
        Ok(planned) => planned,
        Err(e) => return Ok(Err(e)),
    };
    if planned.actions.is_empty() {
        return Ok(Ok(()));
    }
    write(&mut tx, contest_id, &planned, actor).await?;
    tx.commit().await?;
    for (action, entry) in &planned.actions {
        tracing::info!(contest_id, action, entry = ?entry, actor, "live state changed");
    }
    Ok(Ok(()))
}

/// The live state after a change, and the actions that lead there.
struct Planned {
    stage: Option<Uuid>,
    open: bool,
    actions: Vec<(&'static str, Option<Uuid>)>,
}

/// What `change` does from the state `(stage, open)`, or why it may not.
async fn plan(
    tx: &mut Transaction<'_, Postgres>,
    contest_id: i64,
    change: &Change,
    (mut stage, mut open): (Option<Uuid>, bool),
) -> sqlx::Result<Result<Planned, ChangeError>> {
    let mut actions = Vec::new();
    if let Some(wanted) = change.stage
        && wanted != stage
    {
        if let Some(entry) = wanted {
            let ok: bool = sqlx::query_scalar(
                "select exists (select 1 from entry
                                where entry_id = $1 and contest_id = $2 and status = 'approved')",
            )
            .bind(entry)
            .bind(contest_id)
            .fetch_one(&mut **tx)
            .await?;
            if !ok {
                return Ok(Err(ChangeError::EntryNotInContest));
            }
        }
        stage = wanted;
        actions.push(("stage", wanted));
    }
    if let Some(wanted) = change.window_open
        && wanted != open
    {
        if wanted && stage.is_none() {
            return Ok(Err(ChangeError::NothingOnStage));
        }
        open = wanted;
        actions.push((if wanted { "open" } else { "close" }, stage));
    }
    // Nothing on stage means nothing to vote for live.
    if stage.is_none() && open {
        open = false;
        actions.push(("close", None));
    }
    Ok(Ok(Planned {
        stage,
        open,
        actions,
    }))
}

/// Stores the planned state and logs each action.
async fn write(
    tx: &mut Transaction<'_, Postgres>,
    contest_id: i64,
    planned: &Planned,
    actor: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update contest_live set stage_entry_id = $2, window_open = $3,
             window_opened_at = case when $3 and not window_open then now()
                                     when $3 then window_opened_at end,
             version = version + 1, updated_by = $4, updated_at = now()
         where contest_id = $1",
    )
    .bind(contest_id)
    .bind(planned.stage)
    .bind(planned.open)
    .bind(actor)
    .execute(&mut **tx)
    .await?;
    for (action, entry) in &planned.actions {
        sqlx::query(
            "insert into contest_live_log (contest_id, action, entry_id, app_user_id)
             values ($1, $2, $3, $4)",
        )
        .bind(contest_id)
        .bind(action)
        .bind(entry)
        .bind(actor)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Whether a vote for `entry` counts now through the live window (the same view the vote
/// ingest asks).
pub async fn live_vote_open(db: &PgPool, entry: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from live_vote_entry where entry_id = $1)")
        .bind(entry)
        .fetch_one(db)
        .await
}

/// The entries an organizer may put on stage: the contest's approved ones, by title.
pub async fn stage_candidates(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<(Uuid, String)>> {
    sqlx::query_as(
        "select entry_id, title from entry where contest_id = $1 and status = 'approved'
         order by title, entry_id limit 500",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}

/// One change of the live state, as the control page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogLine {
    pub action: String,
    pub entry_title: Option<String>,
    pub who: Option<String>,
    pub at: DateTime<Utc>,
}

/// The recent log of a contest's live changes, newest first.
pub async fn log(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<LogLine>> {
    sqlx::query_as(
        "select l.action, e.title as entry_title, u.display_name as who, l.created_at as at
         from contest_live_log l
         left join entry e using (entry_id)
         left join app_user u using (app_user_id)
         where l.contest_id = $1
         order by l.contest_live_log_id desc limit 50",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}

/// Whether the contest hides its totals now (its policy says so and voting has not closed).
pub fn totals_hidden(
    settings: &serde_json::Value,
    voting_closes_at: Option<DateTime<Utc>>,
) -> bool {
    VotePolicy::from_settings(settings).hide_totals
        && voting_closes_at.is_none_or(|at| Utc::now() < at)
}

/// What the stream page, the overlay, the screen and the control page show of the live state
/// at render time; `web/static/js/live.js` keeps it current from the event stream.
pub struct LiveView {
    pub stage: Option<StageEntry>,
    pub live_voting: bool,
    /// The on-stage entry's votes; `None` while the contest hides its totals.
    pub votes: Option<i64>,
    pub hidden: bool,
}

impl LiveView {
    pub async fn load(db: &PgPool, c: &ContestRow) -> sqlx::Result<Self> {
        let snap = snapshot(db, c.contest_id).await?;
        let (stage, live_voting) = snap.map_or((None, false), |s| (s.stage, s.live_voting));
        let hidden = totals_hidden(&c.settings, c.voting_closes_at);
        let votes = match (&stage, hidden) {
            (Some(st), false) => Some(
                repo::tally(db, c.contest_id)
                    .await?
                    .entries
                    .iter()
                    .find(|e| e.id == st.id)
                    .map_or(0, |e| e.votes),
            ),
            _ => None,
        };
        Ok(Self {
            stage,
            live_voting,
            votes,
            hidden,
        })
    }

    pub fn stage_id(&self) -> String {
        self.stage
            .as_ref()
            .map(|s| s.id.to_string())
            .unwrap_or_default()
    }

    pub fn stage_title(&self) -> &str {
        self.stage.as_ref().map_or("", |s| s.title.as_str())
    }

    pub fn votes_text(&self) -> String {
        self.votes.map(|v| v.to_string()).unwrap_or_default()
    }
}
