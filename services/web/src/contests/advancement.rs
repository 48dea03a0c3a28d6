//! The advancement page of a contest (`/organize/contests/{slug}/advancement`) and its API:
//! "Đề cử lên vòng trên" links this contest to a contest of a unit above (its organizers, the
//! child's, choose the parent, N and the basis before results) and "Bài được đề cử" lists
//! what the contests linked to this one nominated into it. Rules: `domain::advancement`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, JsonBody};
use serde::{Deserialize, Serialize};

use crate::access::{ApiOrganizerOf, OrganizerOf};
use crate::domain::advancement::link::{self, Link, LinkSpec};
use crate::domain::advancement::nominate::{self, Feeder, Nominee};
use crate::domain::advancement::{AdvancementRefusal, Basis, MAX_TOP};
use crate::domain::contests::ContestRow;
use crate::domain::contests::categories::{self, Category};
use crate::page::{Ctx, Page, PageError, render};

crate::page_refusals!(AdvancementRefusal);

#[derive(Template)]
#[template(path = "contests/advancement.html")]
struct AdvancementPage {
    page: Page,
    c: ContestRow,
    link: Option<Link>,
    locked: bool,
    /// Contests of units above (slug, title, unit).
    candidates: Vec<(String, String, String)>,
    /// The parent chosen (the form's, else the link's).
    parent: String,
    top: i32,
    basis: String,
    /// This contest's categories and the parent's, to choose where each goes.
    own_categories: Vec<Category>,
    parent_categories: Vec<Category>,
    mapping: BTreeMap<String, String>,
    /// Contests linked to this one and what they nominated.
    feeders: Vec<Feeder>,
    nominees: Vec<Nominee>,
    counts: BTreeMap<String, usize>,
    error: Option<String>,
    saved: bool,
}

impl AdvancementPage {
    fn bases(&self) -> [&'static str; 3] {
        Basis::ALL.map(Basis::as_str)
    }

    fn max_top(&self) -> i32 {
        MAX_TOP
    }

    fn mapped(&self, child: &str, parent: &str) -> bool {
        self.mapping.get(child).map(String::as_str) == Some(parent)
    }

    fn count_of(&self, slug: &str) -> usize {
        self.counts.get(slug).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: Option<String>,
}

/// The link form: `parent`, `top`, `basis`, `map_{child category slug}`, or `remove`.
pub type LinkForm = BTreeMap<String, String>;

fn spec_of(form: &LinkForm) -> LinkSpec {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    LinkSpec {
        parent: get("parent"),
        top: get("top").trim().parse().unwrap_or(0),
        basis: get("basis"),
        categories: form
            .iter()
            .filter_map(|(k, v)| {
                let child = k.strip_prefix("map_")?;
                (!v.trim().is_empty()).then(|| (child.to_owned(), v.trim().to_owned()))
            })
            .collect(),
    }
}

async fn show(
    state: &AppState,
    ctx: &Ctx,
    c: ContestRow,
    sent: Option<&LinkSpec>,
    error: Option<String>,
    saved: bool,
) -> Result<Response, PageError> {
    let db = &state.db;
    let link = link::of(db, c.contest_id).await?;
    let locked = link::results_published(db, c.contest_id).await?;
    let candidates = link::candidates(db, c.unit_id).await?;
    let parent = sent
        .map(|s| s.parent.clone())
        .or_else(|| link.as_ref().map(|l| l.parent_slug.clone()))
        .unwrap_or_default();
    let parent_categories = match crate::domain::contests::by_slug(db, &parent).await? {
        Some(p) if candidates.iter().any(|x| x.0 == p.slug) => {
            categories::list(db, p.contest_id).await?
        }
        _ => Vec::new(),
    };
    let mapping = match sent {
        Some(s) => s.categories.clone(),
        None => link::explicit(db, c.contest_id).await?,
    };
    let nominees = nominate::into_contest(db, c.contest_id).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(crate::page::no_store(render(
        status,
        &AdvancementPage {
            page: ctx.page("advancement.title"),
            top: sent
                .map(|s| s.top)
                .or_else(|| link.as_ref().map(|l| l.top_n))
                .unwrap_or(2),
            basis: sent
                .map(|s| s.basis.clone())
                .or_else(|| link.as_ref().map(|l| l.basis.clone()))
                .unwrap_or_else(|| Basis::Combined.as_str().to_owned()),
            own_categories: categories::list(db, c.contest_id).await?,
            parent_categories,
            mapping,
            feeders: nominate::feeders(db, c.contest_id).await?,
            counts: nominate::counts(&nominees),
            nominees,
            link,
            locked,
            candidates,
            parent,
            c,
            error,
            saved,
        },
    )))
}

/// `GET /organize/contests/{slug}/advancement`.
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { contest, .. }: OrganizerOf,
    Query(q): Query<Saved>,
) -> Result<Response, PageError> {
    show(&state, &ctx, contest, None, None, q.saved.is_some()).await
}

/// `POST /organize/contests/{slug}/advancement`: the link set, replaced or removed.
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { user, contest }: OrganizerOf,
    Form(form): Form<LinkForm>,
) -> Result<Response, PageError> {
    let to = format!("/organize/contests/{}/advancement?saved=1", contest.slug);
    if form.contains_key("remove") {
        return match link::remove(&state.db, &contest).await? {
            Ok(_) => Ok(Redirect::to(&to).into_response()),
            Err(r) => Err(r.into()),
        };
    }
    let spec = spec_of(&form);
    match link::set(&state.db, &contest, &spec, user.app_user_id).await? {
        Ok(_) => Ok(Redirect::to(&to).into_response()),
        Err(AdvancementRefusal::Locked) => Err(AdvancementRefusal::Locked.into()),
        Err(r) => {
            let sentence = ctx.t(&hoithi_core::api_error::Refusal::key(&r)).to_owned();
            show(&state, &ctx, contest, Some(&spec), Some(sentence), false).await
        }
    }
}

/// What the advancement API shows of a contest.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdvancementAnswer {
    /// The contest's link to a higher round ("Đề cử lên vòng trên"); null when none.
    link: Option<Link>,
    /// The lower-round contests linked to this one.
    feeders: Vec<Feeder>,
    /// The entries they nominated into this one, each with its source contest, source entry
    /// and rank there.
    nominations: Vec<Nominee>,
}

/// The link as set.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkAnswer {
    link: Link,
}

/// `GET /api/v1/contests/{slug}/advancement`: this contest's link and what was nominated
/// into it.
#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/advancement",
    operation_id = "get_advancement",
    summary = "the contest's link to a higher round (parent, top, basis, nominated_at; null when none), the lower-round contests linked to it (feeders) and the entries they nominated into it (organizer of the contest)",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "the link, the feeders and the nominations", body = AdvancementAnswer),
        (status = 401, description = "`unauthenticated`", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "`not-found`: no such contest, or not one the caller organizes", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn api_get(
    State(state): State<AppState>,
    ApiOrganizerOf { contest, .. }: ApiOrganizerOf,
) -> Result<Json<AdvancementAnswer>, ApiError> {
    let db = &state.db;
    Ok(Json(AdvancementAnswer {
        link: link::of(db, contest.contest_id).await?,
        feeders: nominate::feeders(db, contest.contest_id).await?,
        nominations: nominate::into_contest(db, contest.contest_id).await?,
    }))
}

/// `PUT /api/v1/contests/{slug}/advancement` `{parent, top, basis, categories?}`.
#[utoipa::path(
    put,
    path = "/api/v1/contests/{slug}/advancement",
    operation_id = "set_advancement",
    summary = "links the contest to a contest of a unit strictly above its own, before its results are published: when they are, its top `top` entries of each category (ranked by judges, votes or combined, with the results' own ranking) become entries of the parent in the matching category (explicit `categories` mapping, else same slug, else same name), showing the same media (organizer of the contest, or of a unit above)",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = LinkSpec,
    responses(
        (status = 200, description = "the link as set", body = LinkAnswer),
        (status = 401, description = "`unauthenticated`", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "`cross-site-request`: a cookie session's write from another site", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "`not-found`: no such contest, or not one the caller organizes", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "`advancement-locked`: the contest's results are published", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "`advancement-parent-unknown`, `advancement-parent-not-above`, `advancement-top-out-of-range`, `advancement-basis-invalid`, `advancement-category-unmatched`; `invalid-json`, `nul-character`", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn api_put(
    State(state): State<AppState>,
    ApiOrganizerOf { user, contest }: ApiOrganizerOf,
    JsonBody(spec): JsonBody<LinkSpec>,
) -> Result<Json<LinkAnswer>, ApiError> {
    let link = link::set(&state.db, &contest, &spec, user.app_user_id).await??;
    Ok(Json(LinkAnswer { link }))
}

/// `DELETE /api/v1/contests/{slug}/advancement`.
#[utoipa::path(
    delete,
    path = "/api/v1/contests/{slug}/advancement",
    operation_id = "remove_advancement",
    summary = "removes the link to a higher round (organizer of the contest)",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 204, description = "removed (or there was none)"),
        (status = 401, description = "`unauthenticated`", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "`cross-site-request`: a cookie session's write from another site", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "`not-found`: no such contest, or not one the caller organizes", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "`advancement-locked`: the contest's results are published", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn api_delete(
    State(state): State<AppState>,
    ApiOrganizerOf { contest, .. }: ApiOrganizerOf,
) -> Result<StatusCode, ApiError> {
    link::remove(&state.db, &contest).await??;
    Ok(StatusCode::NO_CONTENT)
}
