//! The entrants' mail when a contest's submission deadline moves.

use chrono_tz::Asia::Ho_Chi_Minh;
use hoithi_core::contest::EntryStatus;
use sqlx::PgConnection;

use super::super::ContestRow;
use crate::domain::people::outbox;

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
