//! The contest gallery: approved entries as cards.

use uuid::Uuid;

use super::author::AuthorPolicy;
use super::media::{self, MediaView};
use super::{ENTRY_SQL, EntryRow};

/// An approved entry as a card of the contest gallery.
pub struct GalleryItem {
    pub id: Uuid,
    pub title: String,
    pub author: Option<String>,
    pub unit: Option<String>,
    pub media: Option<MediaView>,
}

/// Approved entries of a contest, filtered by the author's unit (with its subtree) and a
/// title search. Authors and units show only where `policy` lets this viewer see them, and
/// the unit filter is ignored unless the viewer may see every author: it would tell them
/// from whom the entries come.
pub async fn gallery(
    db: &sqlx::PgPool,
    contest_id: i64,
    policy: &AuthorPolicy,
    q: &str,
    unit: &str,
) -> sqlx::Result<Vec<GalleryItem>> {
    let unit = if policy.sees_all() { unit } else { "" };
    let pattern = format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows: Vec<EntryRow> = sqlx::query_as(&format!(
        "{ENTRY_SQL} where e.contest_id = $1 and e.status = 'approved'
           and ($2 = '%%' or e.title ilike $2)
           and ($3 = '' or a.unit_id in (select u2.unit_id from unit u2, unit p where p.slug = $3
                 and (u2.path = p.path or u2.path like p.path || '/%')))
         order by e.created_at desc limit 200"
    ))
    .bind(contest_id)
    .bind(&pattern)
    .bind(unit)
    .fetch_all(db)
    .await?;
    let mut items = Vec::new();
    for e in rows {
        let media = media::for_entry(db, e.entry_id).await?.into_iter().next();
        let show = policy.may_see(e.author_id);
        let author = show.then(|| e.public_author_name());
        items.push(GalleryItem {
            id: e.entry_id,
            title: e.title,
            author,
            unit: if show { e.unit_name } else { None },
            media,
        });
    }
    Ok(items)
}
