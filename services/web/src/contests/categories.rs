//! The organizer's categories page (`/organize/contests/{slug}/categories`): add, rename,
//! reorder, change kinds and limits, delete. Each form sends one category; the page lays it
//! over the stored list and saves the whole list through the contest's edit
//! (`PATCH`'s `categories`), so the fairness locks and the history are the edit's own.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use serde::Deserialize;

use super::edit::save;
use crate::access::OrganizerOf;
use crate::domain::contests::ContestRow;
use crate::domain::contests::categories::{self, Category, CategoryLimits, CategorySpec};
use crate::domain::contests::edit::ContestPatch;
use crate::page::{Ctx, Page, PageError, render};

const MIB: i64 = 1024 * 1024;

#[derive(Template)]
#[template(path = "contests/categories.html")]
struct CategoriesPage {
    page: Page,
    c: ContestRow,
    categories: Vec<Category>,
    /// The sentences of what was refused (empty: nothing).
    errors: Vec<String>,
    saved: bool,
}

impl CategoriesPage {
    fn mib(&self, b: &Option<i64>) -> String {
        b.map(|b| (b / MIB).to_string()).unwrap_or_default()
    }

    fn int(&self, n: &Option<i32>) -> String {
        n.map(|n| n.to_string()).unwrap_or_default()
    }
}

/// One category's form.
#[derive(Debug, Default, Deserialize)]
pub struct CategoryForm {
    /// `add`, `save` or `delete`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    /// 1-based place in the list.
    #[serde(default)]
    position: String,
    kind_photo: Option<String>,
    kind_video: Option<String>,
    #[serde(default)]
    max_entries_per_member: String,
    #[serde(default)]
    max_photo_mb: String,
    #[serde(default)]
    max_video_mb: String,
    #[serde(default)]
    max_video_seconds: String,
    #[serde(default)]
    max_series_photos: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: Option<String>,
}

/// A number typed in a limit box: empty is "the contest's", anything else not a positive
/// number is sent as 0 (refused as `invalid-category`).
fn number(s: &str) -> Option<i64> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.parse::<i64>().ok().filter(|n| *n > 0).unwrap_or(0))
}

fn spec_of(k: &Category) -> CategorySpec {
    CategorySpec {
        slug: k.slug.clone(),
        name: k.name.clone(),
        kinds: k.kinds.clone(),
        limits: Some(CategoryLimits {
            max_photo_bytes: k.max_photo_bytes,
            max_video_bytes: k.max_video_bytes,
            max_video_seconds: k.max_video_seconds,
            max_entries_per_member: k.max_entries_per_member,
            max_series_photos: k.max_series_photos,
        }),
        ..CategorySpec::default()
    }
}

impl CategoryForm {
    fn spec(&self) -> CategorySpec {
        let kinds = [("photo", &self.kind_photo), ("video", &self.kind_video)]
            .into_iter()
            .filter(|(_, on)| on.is_some())
            .map(|(k, _)| k.to_owned())
            .collect();
        let small = |n: Option<i64>| n.map(|n| i32::try_from(n).unwrap_or(0));
        CategorySpec {
            slug: self.slug.trim().to_owned(),
            name: self.name.clone(),
            kinds,
            limits: Some(CategoryLimits {
                max_photo_bytes: number(&self.max_photo_mb).map(|m| m.saturating_mul(MIB)),
                max_video_bytes: number(&self.max_video_mb).map(|m| m.saturating_mul(MIB)),
                max_video_seconds: small(number(&self.max_video_seconds)),
                max_entries_per_member: small(number(&self.max_entries_per_member)),
                max_series_photos: small(number(&self.max_series_photos)),
            }),
            ..CategorySpec::default()
        }
    }

    /// The whole list after this form: the category added, changed and moved, or left out.
    fn over(&self, stored: &[Category]) -> Vec<CategorySpec> {
        let mut list: Vec<CategorySpec> = stored.iter().map(spec_of).collect();
        let slug = self.slug.trim();
        let at = list.iter().position(|k| k.slug == slug);
        match (self.action.as_str(), at) {
            ("delete", Some(i)) => {
                list.remove(i);
            }
            ("save", Some(i)) => {
                list.remove(i);
                let to = self
                    .position
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .map_or(i, |p| p.saturating_sub(1))
                    .min(list.len());
                list.insert(to, self.spec());
            }
            // A new slug (an existing one is refused by the list's validation).
            _ => list.push(self.spec()),
        }
        list
    }
}

/// `GET /organize/contests/{slug}/categories`.
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { contest, .. }: OrganizerOf,
    axum::extract::Query(q): axum::extract::Query<Saved>,
) -> Result<Response, PageError> {
    let list = categories::list(&state.db, contest.contest_id).await?;
    Ok(crate::page::no_store(render(
        StatusCode::OK,
        &CategoriesPage {
            page: ctx.page("category.manage.title"),
            c: contest,
            categories: list,
            errors: Vec::new(),
            saved: q.saved.is_some(),
        },
    )))
}

/// `POST /organize/contests/{slug}/categories`: one category added, saved or deleted.
pub async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { user, contest }: OrganizerOf,
    Form(sent): Form<CategoryForm>,
) -> Result<Response, PageError> {
    let stored = categories::list(&state.db, contest.contest_id).await?;
    let patch = ContestPatch {
        categories: Some(sent.over(&stored)),
        ..ContestPatch::default()
    };
    let errors = match save(&state, &user, &contest, &patch).await? {
        Ok(_) => {
            let to = format!("/organize/contests/{}/categories?saved=1", contest.slug);
            return Ok(Redirect::to(&to).into_response());
        }
        Err(errors) => errors,
    };
    let mut sentences: Vec<String> = errors
        .iter()
        .map(|e| ctx.t(&format!("refusal.{}", e.code())).to_owned())
        .collect();
    sentences.dedup();
    Ok(render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &CategoriesPage {
            page: ctx.page("category.manage.title"),
            c: contest,
            categories: stored,
            errors: sentences,
            saved: false,
        },
    ))
}
