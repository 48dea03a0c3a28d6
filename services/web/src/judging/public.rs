//! The public results page of a contest: the latest published snapshot (it prints cleanly),
//! with authors only for those the contest shows them to.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use serde_json::Value;

use super::results::{Row, grouped, rows_of};
use crate::domain::contests::{self, ContestRow};
use crate::domain::entries::author::AuthorPolicy;
use crate::domain::judging::results::latest_published;
use crate::page::{Ctx, Page, PageError, render};

#[derive(Template)]
#[template(path = "judging/public.html")]
struct PublicPage {
    page: Page,
    c: ContestRow,
    /// The rows by category (one group named "" in a contest without categories).
    groups: Vec<(String, Vec<Row>)>,
    published_at: Option<DateTime<Utc>>,
    round_name: String,
    show_author: bool,
    /// Team entries among the rows: entry id → the team's name, with its members where
    /// authors are shown.
    teams: std::collections::HashMap<String, String>,
}

/// How many judges a snapshot numbers.
fn judge_count(snapshot: &Value) -> usize {
    snapshot["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["judges"].as_array().into_iter().flatten())
        .filter_map(|j| j["judge"].as_u64())
        .max()
        .unwrap_or(0) as usize
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    let published = latest_published(&state.db, c.contest_id).await?;
    let (rows, published_at, round_name) = match &published {
        Some((snap, at)) => (
            rows_of(ctx.lang, snap, judge_count(snap)),
            Some(*at),
            snap["round_name"].as_str().unwrap_or("").to_owned(),
        ),
        None => (Vec::new(), None, String::new()),
    };
    let authors = AuthorPolicy::load(&state.db, ctx.user.as_ref(), &c).await?;
    let ids: Vec<uuid::Uuid> = rows
        .iter()
        .filter_map(|r| uuid::Uuid::parse_str(&r.id).ok())
        .collect();
    let teams = crate::domain::entries::team::teams_of(&state.db, &ids)
        .await?
        .into_iter()
        .map(|(id, (name, members))| {
            let names = crate::domain::entries::team::names_line(&members);
            let label = if authors.sees_all() && !names.is_empty() {
                format!("{name}: {names}")
            } else {
                name
            };
            (id.to_string(), label)
        })
        .collect();
    let mut page = ctx.page("judging.public.title");
    page.title = format!("{} · {}", page.title, c.title);
    Ok(render(
        StatusCode::OK,
        &PublicPage {
            page,
            // A published first round does not unblind a contest whose later round is
            // still being judged.
            show_author: authors.sees_all(),
            c,
            groups: grouped(rows),
            published_at,
            round_name,
            teams,
        },
    ))
}
