//! The mail that proves a mailbox: the verification link of a new or changed address, or an
//! invitation (an organizer added the person, or the union's member list did), through the
//! outbox.

use hoithi_core::AppState;

use crate::domain::people::tokens::{self, Purpose};
use crate::page::Ctx;

pub async fn mail_verification(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    email: &str,
    invited: bool,
) -> sqlx::Result<()> {
    let token = tokens::new_one_time(&state.db, id, Purpose::VerifyEmail).await?;
    let link = format!(
        "{}/verify-email/{token}",
        crate::mail::origin(&state.config)
    );
    let (subject, body) = if invited {
        ("people.mail.invite.subject", "people.mail.invite.body")
    } else {
        ("mail.verify.subject", "mail.verify.body")
    };
    let body = format!("{}\n\n{link}\n", ctx.t(body));
    crate::mail::queue(&state.db, email, "verify-email", ctx.t(subject), &body).await
}
