//! Judge invitations over HTTP: the mail an organizer's invitation sends (through the
//! outbox), and the invitation link's page with the button that accepts it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::auth::CurrentUser;

use crate::domain::contests::{self, ContestRow};
use crate::domain::judging::assign::{self, Mode};
use crate::domain::judging::judges::{self, Invited};
use crate::page::{Ctx, Page, PageError, render};

/// Adds a judge and mails them (through the outbox): a link to their sheets when the address
/// already belongs to a verified account (the first time only), otherwise an invitation link
/// with a single-use token that only the verified account of that address can accept (sent
/// again, with a new token, each time the organizer invites a judge still pending).
pub async fn invite_judge(
    state: &AppState,
    headers: &HeaderMap,
    c: &ContestRow,
    email: &str,
    conflict_unit_ids: &[i64],
    by: &CurrentUser,
) -> sqlx::Result<Invited> {
    let mut tx = state.db.begin().await?;
    let invited = judges::invite(
        &mut tx,
        c.contest_id,
        email,
        conflict_unit_ids,
        by.app_user_id,
    )
    .await?;
    let t = |k: &'static str| hoithi_core::i18n::text(hoithi_core::i18n::Lang::Vi, k);
    let base = crate::mail::base_url(state, headers);
    let mail = match &invited {
        Invited::Accepted { new: false } => None,
        Invited::Accepted { new: true } => Some((
            t("judging.mail.invite.body"),
            format!("{base}/judging/{}", c.slug),
        )),
        Invited::Pending { token } => Some((
            t("judging.mail.invite-link.body"),
            format!("{base}/judging/{}/invite/{token}", c.slug),
        )),
    };
    if let Some((text, link)) = mail {
        let body = format!("{text}\n\n{}\n\n{link}\n", c.title);
        let subject = format!("{}: {}", t("judging.mail.invite.subject"), c.title);
        crate::mail::queue(&mut *tx, email, "judge-invite", &subject, &body).await?;
    }
    tx.commit().await?;
    Ok(invited)
}

#[derive(Template)]
#[template(path = "judging/invite.html")]
struct InvitePage {
    page: Page,
    slug: String,
    token: String,
    contest_title: String,
    /// `sign-in`, `other-account`, `verify-first` or `accept`.
    state: &'static str,
    here_encoded: String,
}

/// The invitation link's page: who may accept it, and the button that does. Visiting it
/// changes nothing (mail scanners open links); only the signed-in, verified account of the
/// invited address can accept, so a leaked link or an unverified look-alike account gains
/// nothing.
async fn invite_answer(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    slug: &str,
    token: &str,
) -> Result<Response, PageError> {
    let Some((contest_id, email)) = judges::pending_invite(&state.db, slug, token).await? else {
        return Ok(crate::page::message(
            ctx,
            StatusCode::GONE,
            "judging.invite.invalid",
        ));
    };
    let c = contests::by_id(&state.db, contest_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let (status, which) = match &ctx.user {
        None => (StatusCode::OK, "sign-in"),
        Some(u) if !u.email.eq_ignore_ascii_case(&email) => {
            (StatusCode::FORBIDDEN, "other-account")
        }
        Some(u) if !u.is_verified() => (StatusCode::FORBIDDEN, "verify-first"),
        Some(_) => (StatusCode::OK, "accept"),
    };
    let here = format!("/judging/{slug}/invite/{token}");
    let mut res = crate::page::no_store(render(
        status,
        &InvitePage {
            page: ctx.page("judging.invite.title"),
            slug: c.slug,
            token: token.to_owned(),
            contest_title: c.title,
            state: which,
            here_encoded: url::form_urlencoded::byte_serialize(here.as_bytes()).collect(),
        },
    ));
    // Someone who must still register or prove their mailbox comes back here from the
    // verification link (`accounts::email`).
    if matches!(which, "sign-in" | "verify-first") {
        let secure = crate::security::is_secure(state, headers);
        let cookie = crate::security::cookies::return_to_cookie(&here, secure);
        if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
            res.headers_mut().append(axum::http::header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((slug, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    invite_answer(&state, &ctx, &headers, &slug, &token).await
}

pub async fn accept(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((slug, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    if let Some(user) = &ctx.user
        && judges::accept_invite(&state.db, &slug, &token, user.app_user_id).await?
    {
        tracing::info!(contest = %slug, judge = user.app_user_id, "judge invitation accepted");
        // The organizer's assignment made with the invitation, now that there is a judge.
        if let Some(c) = contests::by_slug(&state.db, &slug).await?
            && let Some((round_id, email, entries)) =
                judges::take_assign_on_accept(&state.db, c.contest_id, user.app_user_id).await?
        {
            let mode = match entries {
                None => Mode::Judge { email },
                Some(entries) => Mode::Entries { email, entries },
            };
            assign::assign(&state.db, round_id, &mode).await?;
        }
        return Ok(Redirect::to(&format!("/judging/{slug}")).into_response());
    }
    // Not accepted: the page says why (and the token stays for the right account).
    invite_answer(&state, &ctx, &headers, &slug, &token).await
}
