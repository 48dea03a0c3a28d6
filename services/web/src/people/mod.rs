//! The people pages: an admin lists, searches and changes everyone (role and unit, disabled,
//! member number, verification mail); an organizer does the same for the people of their own
//! unit and below, and invites people to it. Anyone else: signed out → sign in, a member or
//! judge → 403 (a role, not a secret); a person outside the organizer's units → 404. The rules
//! and queries are `domain::people::directory`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use hoithi_core::auth::CurrentUser;
use serde::Deserialize;

use crate::access::author::Staff;
use crate::access::client::ClientIp;
use crate::domain::people::directory::{
    self, AuditRow, Changed, PAGE_SIZE, Person, Scope, parse_role,
};
use crate::domain::people::refusal::PeopleRefusal;
use crate::domain::people::throttle;
use crate::domain::people::units::unit_choices_within;
use crate::page::{Ctx, Page, PageError, no_store, render};

mod invitation;
mod roster;

use invitation::mail_verification;

crate::page_refusals!(PeopleRefusal);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/people", get(list))
        .route("/admin/people/invite", post(invite))
        .route(
            "/admin/people/import",
            get(roster::page)
                .post(roster::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::security::csrf::MULTIPART_LIMIT,
                )),
        )
        .route("/admin/people/import/confirm", post(roster::confirm))
        .route("/admin/people/{id}", get(show))
        .route("/admin/people/{id}/access", post(access))
        .route("/admin/people/{id}/disable", post(disable))
        .route("/admin/people/{id}/enable", post(enable))
        .route("/admin/people/{id}/member-number", post(member_number))
        .route("/admin/people/{id}/verification", post(verification))
}

/// The scope of a staff member; an organizer with no unit has no people pages.
fn scope(user: &CurrentUser) -> Result<Scope, PageError> {
    Scope::of(user).ok_or(PageError::Forbidden)
}

#[derive(Template)]
#[template(path = "admin/people.html")]
struct PeoplePage {
    page: Page,
    people: Vec<Person>,
    q: String,
    next: Option<i64>,
    units: Vec<(String, String)>,
    notice: String,
    error: String,
    invite: InviteForm,
}

impl PeoplePage {
    fn role_name(&self, p: &Person) -> String {
        self.page.tk("people.role.", p.role_str())
    }

    fn next_link(&self) -> String {
        let q: String = url::form_urlencoded::byte_serialize(self.q.as_bytes()).collect();
        match self.next {
            Some(after) => format!("/admin/people?q={q}&after={after}"),
            None => String::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    after: Option<i64>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    unit: String,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's parts, each needed once"
)]
async fn people_page(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    q: String,
    after: Option<i64>,
    notice: String,
    refusal: Option<PeopleRefusal>,
    invite: InviteForm,
) -> Result<Response, PageError> {
    let scope = scope(user)?;
    let mut people = directory::page(&state.db, scope, &q, after, PAGE_SIZE + 1).await?;
    let next = if people.len() as i64 > PAGE_SIZE {
        people.truncate(PAGE_SIZE as usize);
        people.last().map(|p| p.app_user_id)
    } else {
        None
    };
    let units = unit_choices_within(&state.db, scope_root(scope)).await?;
    let (status, error) = refusal_text(ctx, refusal);
    Ok(no_store(render(
        status,
        &PeoplePage {
            page: ctx.page("people.title"),
            people,
            q,
            next,
            units,
            notice,
            error,
            invite,
        },
    )))
}

fn scope_root(scope: Scope) -> Option<i64> {
    match scope {
        Scope::All => None,
        Scope::Subtree(u) => Some(u),
    }
}

/// The status and the sentence (never the code) of a refusal.
fn refusal_text(ctx: &Ctx, refusal: Option<PeopleRefusal>) -> (StatusCode, String) {
    match refusal {
        None => (StatusCode::OK, String::new()),
        Some(r) => (r.status(), ctx.t(&r.key()).to_owned()),
    }
}

/// Only known notices are shown: the query string is no way to put text on the page.
fn notice_text(ctx: &Ctx, notice: Option<&str>) -> String {
    match notice {
        Some(n @ ("saved" | "invited" | "disabled" | "enabled" | "verification-sent")) => {
            ctx.t(&format!("people.notice.{n}")).to_owned()
        }
        _ => String::new(),
    }
}

async fn list(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let notice = notice_text(&ctx, q.notice.as_deref());
    people_page(
        &state,
        &ctx,
        &user,
        q.q,
        q.after,
        notice,
        None,
        InviteForm::default(),
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/person.html")]
struct PersonPage {
    page: Page,
    p: Person,
    audit: Vec<AuditRow>,
    units: Vec<(String, String)>,
    roles: Vec<&'static str>,
    is_self: bool,
    notice: String,
    error: String,
}

impl PersonPage {
    fn role_name(&self, role: &str) -> String {
        self.page.tk("people.role.", role)
    }

    fn action_name(&self, action: &str) -> String {
        self.page.tk("people.action.", action)
    }

    /// A change's detail; a role change names the roles in the page's language.
    fn detail(&self, a: &AuditRow) -> String {
        if a.action == "role" {
            return a
                .detail
                .split(" → ")
                .map(|r| self.role_name(r))
                .collect::<Vec<_>>()
                .join(" → ");
        }
        a.detail.clone()
    }

    fn unit_selected(&self, slug: &str) -> bool {
        self.p.unit_slug.as_deref() == Some(slug)
    }
}

async fn person_page(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    id: i64,
    notice: String,
    refusal: Option<PeopleRefusal>,
) -> Result<Response, PageError> {
    let scope = scope(user)?;
    let Some(p) = directory::person(&state.db, scope, id).await? else {
        return Err(PageError::NotFound);
    };
    let audit = directory::audit_of(&state.db, id).await?;
    let units = unit_choices_within(&state.db, scope_root(scope)).await?;
    let roles = match scope {
        Scope::All => vec!["member", "organizer", "admin"],
        Scope::Subtree(_) => vec!["member", "organizer"],
    };
    let (status, error) = refusal_text(ctx, refusal);
    Ok(no_store(render(
        status,
        &PersonPage {
            page: ctx.page("people.person.title"),
            is_self: p.app_user_id == user.app_user_id,
            p,
            audit,
            units,
            roles,
            notice,
            error,
        },
    )))
}

#[derive(Debug, Default, Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let notice = notice_text(&ctx, q.notice.as_deref());
    person_page(&state, &ctx, &user, id, notice, None).await
}

/// The answer to a change: back to the person's page with a notice, their page with the
/// refusal's sentence, or 404.
async fn answer(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    id: i64,
    result: Result<Changed, PeopleRefusal>,
    notice: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(Changed::Done) => {
            Ok(Redirect::to(&format!("/admin/people/{id}?notice={notice}")).into_response())
        }
        Ok(Changed::NotFound) => Err(PageError::NotFound),
        Err(r) => person_page(state, ctx, user, id, String::new(), Some(r)).await,
    }
}

#[derive(Debug, Deserialize)]
struct AccessForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit: String,
}

async fn access(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<AccessForm>,
) -> Result<Response, PageError> {
    scope(&user)?;
    let Some(role) = parse_role(&form.role) else {
        return Err(PageError::NotFound);
    };
    let result = directory::set_access(&state.db, &user, id, role, &form.unit).await?;
    answer(&state, &ctx, &user, id, result, "saved").await
}

async fn disable(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    scope(&user)?;
    let result = directory::set_disabled(&state.db, &user, id, true).await?;
    answer(&state, &ctx, &user, id, result, "disabled").await
}

async fn enable(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    scope(&user)?;
    let result = directory::set_disabled(&state.db, &user, id, false).await?;
    answer(&state, &ctx, &user, id, result, "enabled").await
}

#[derive(Debug, Deserialize)]
struct MemberNumberForm {
    #[serde(default)]
    member_number: String,
}

async fn member_number(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<MemberNumberForm>,
) -> Result<Response, PageError> {
    scope(&user)?;
    let result = directory::set_member_number(&state.db, &user, id, &form.member_number).await?;
    answer(&state, &ctx, &user, id, result, "saved").await
}

/// Mails `email` a link that proves the mailbox (and, for an account with no password, sets
/// one: `accounts::verify_email`).
async fn verification(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let scope = scope(&user)?;
    let Some(p) = directory::person(&state.db, scope, id).await? else {
        return Err(PageError::NotFound);
    };
    // Staff send under the same mail limits as the person would: no flood to one address.
    let counters = throttle::mail_counters(&state.config.limits, &p.email, ip);
    let result = if throttle::take(&state.db, &counters).await?.is_some() {
        Err(PeopleRefusal::TooMuchMail)
    } else {
        directory::verification_resent(&state.db, &user, id).await?
    };
    if result == Ok(Changed::Done) {
        mail_verification(&state, &ctx, id, &p.email, false).await?;
    }
    answer(&state, &ctx, &user, id, result, "verification-sent").await
}

async fn invite(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Form(form): Form<InviteForm>,
) -> Result<Response, PageError> {
    scope(&user)?;
    match directory::invite(&state.db, &user, &form.email, &form.name, &form.unit).await? {
        Ok(id) => {
            mail_verification(&state, &ctx, id, form.email.trim(), true).await?;
            Ok(Redirect::to("/admin/people?notice=invited").into_response())
        }
        Err(r) => {
            people_page(
                &state,
                &ctx,
                &user,
                String::new(),
                None,
                String::new(),
                Some(r),
                form,
            )
            .await
        }
    }
}
