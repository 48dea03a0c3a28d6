//! The public check page of a certificate's code: the contest, the award, the date and the
//! holder's name shortened the way public pages show children's names — never the full
//! name, an email or anything else. An unknown or malformed code is a 404 page. Lookups are
//! counted per address and network (`domain::certificates::throttle`), like other public
//! look-ups, so codes cannot be tried in bulk.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use serde::Deserialize;

use crate::access::client::ClientIp;
use crate::domain::certificates::{self, code, throttle};
use crate::domain::privacy::names::shortened;
use crate::page::{Ctx, Page, PageError, render};

#[derive(Template)]
#[template(path = "certificates/verify.html")]
struct VerifyPage {
    page: Page,
    typed: String,
    found: Option<Found>,
    /// A code was asked for and no certificate has it.
    missing: bool,
}

struct Found {
    code: String,
    /// The holder's shortened name; `None` when the account was deleted.
    holder: Option<String>,
    award: String,
    contest: String,
    issuer: String,
    /// dd/mm/yyyy.
    awarded_on: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    code: String,
}

/// The form to type a code; a typed code goes to its page.
pub async fn form(ctx: Ctx, Query(q): Query<CodeQuery>) -> Result<Response, PageError> {
    if let Some(c) = code::normalize(&q.code) {
        return Ok(Redirect::to(&format!("/verify/{}", code::display(&c))).into_response());
    }
    let missing = !q.code.trim().is_empty();
    let page = ctx.page("certificate.verify.title");
    Ok(render(
        if missing {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        },
        &VerifyPage {
            page,
            typed: q.code.trim().chars().take(40).collect(),
            found: None,
            missing,
        },
    ))
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    if let Some(wait) = throttle::take(&state.db, ip).await? {
        let mut res = crate::page::message(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "certificate.verify.slow",
        );
        if let Ok(v) = wait.to_string().parse() {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        return Ok(res);
    }
    let cert = match code::normalize(&raw) {
        Some(c) => certificates::by_code(&state.db, &c).await?,
        None => None,
    };
    let page = ctx.page("certificate.verify.title");
    let typed: String = raw.chars().take(40).collect();
    let Some(c) = cert else {
        return Ok(render(
            StatusCode::NOT_FOUND,
            &VerifyPage {
                page,
                typed,
                found: None,
                missing: true,
            },
        ));
    };
    let award = ctx.t(&format!("certificate.award.{}", c.award)).to_owned();
    let found = Found {
        code: c.display_code(),
        holder: c.holder_name.as_deref().map(shortened),
        award,
        contest: c.contest_title.clone(),
        issuer: c.issuer_name.clone(),
        awarded_on: c.awarded_on.format("%d/%m/%Y").to_string(),
    };
    Ok(render(
        StatusCode::OK,
        &VerifyPage {
            page,
            typed,
            found: Some(found),
            missing: false,
        },
    ))
}
