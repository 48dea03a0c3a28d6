//! The contest gallery and the vote page's list: approved entries as cards, a keyset page at
//! a time, so a contest of thousands of entries is reachable to the last one. Search (title,
//! author where the viewer may see authors, the entry's number), filters (media kind, the
//! author's unit) and sort orders; ONE SQL statement a page reads the cards, their first
//! media asset and their vote totals. Random order is index-backed: every entry has a
//! position in each of [`SHUFFLES`] precomputed shuffles (`entry_shuffle`), the viewer's seed
//! picks one, and pages walk it by position.
mod request;

use request::searched_number;
pub use request::{
    BadCursor, Cursor, GalleryParams, GalleryRequest, Kind, PAGE_SIZE, SHUFFLES, Sort, shuffle_of,
};

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

pub use super::number_label;

use super::author::AuthorPolicy;
use super::media::{self, AssetRow, MediaView};

/// An approved entry as a card of the gallery or the vote page.
pub struct GalleryItem {
    pub id: Uuid,
    /// The entry's public number in its contest ("Bài số 0142").
    pub number: i32,
    pub title: String,
    pub author: Option<String>,
    pub unit: Option<String>,
    pub media: Option<MediaView>,
    /// Valid votes; pages show it only where totals are public.
    pub votes: i64,
    /// The entry's category (hạng mục), in a contest that has them.
    pub category: Option<String>,
    /// A team entry's name: public, and in place of the submitter's name on cards.
    pub team: Option<String>,
    /// A photo series' processed photos (the card shows the first and this count); 0 for
    /// an entry that is no series.
    pub photos: i64,
}

impl GalleryItem {
    /// The number as people write it: four digits at least ("0142").
    pub fn number_label(&self) -> String {
        number_label(self.number)
    }
}

pub struct GalleryPage {
    pub items: Vec<GalleryItem>,
    pub next: Option<Cursor>,
}

#[derive(sqlx::FromRow)]
struct CardRow {
    entry_id: Uuid,
    number: i32,
    title: String,
    author_id: i64,
    author_name: String,
    /// Under 16: the name is shown shortened (`domain::privacy::names`).
    author_minor: bool,
    unit_name: Option<String>,
    votes: i64,
    category_name: Option<String>,
    team_name: Option<String>,
    pos: Option<i32>,
    photos: i64,
    media_asset_id: Option<Uuid>,
    kind: Option<String>,
    status: Option<String>,
    progress: Option<i16>,
    error: Option<String>,
    width: Option<i32>,
    height: Option<i32>,
    duration_s: Option<f64>,
    renditions: Option<serde_json::Value>,
    media_updated_at: Option<DateTime<Utc>>,
}

/// One page of the approved entries of a contest, in one SQL statement. Authors and units
/// show only where `policy` lets this viewer see them; the author search too.
pub async fn gallery(
    db: &sqlx::PgPool,
    contest_id: i64,
    policy: &AuthorPolicy,
    req: &GalleryRequest,
) -> sqlx::Result<GalleryPage> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "with page as (select e.entry_id, e.number, e.title, e.author_id,
                coalesce(e.media_entry_id, e.entry_id) as media_from,
                a.display_name as author_name, u.name as unit_name, t.votes, kc.name as category_name,
                e.team_name, e.photo_series,
                coalesce(a.birth_date > current_date - interval '16 years', false) as author_minor, ",
    );
    qb.push(if req.sort == Sort::Random {
        "s.pos from entry_shuffle s join entry e on e.entry_id = s.entry_id"
    } else {
        "null::int4 as pos from entry e"
    });
    qb.push(
        " join app_user a on a.app_user_id = e.author_id
          left join unit u on u.unit_id = a.unit_id
          left join contest_category kc on kc.category_id = e.category_id",
    );
    qb.push(if req.with_votes || req.sort == Sort::Votes {
        " cross join lateral (select coalesce(sum(ts.votes), 0)::int8 as votes
                              from vote_tally_shard ts where ts.entry_id = e.entry_id) t"
    } else {
        " cross join (select 0::int8 as votes) t"
    });
    qb.push(" where e.status = 'approved' and e.contest_id = ");
    qb.push_bind(contest_id);
    if req.sort == Sort::Random {
        qb.push(" and s.contest_id = ")
            .push_bind(contest_id)
            .push(" and s.k = ")
            .push_bind(req.k);
    }
    if !req.q.is_empty() {
        let pattern = format!(
            "%{}%",
            req.q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        qb.push(" and (e.title ilike ").push_bind(pattern.clone());
        if policy.sees_all() {
            qb.push(
                " or e.author_id in (select app_user_id from app_user where display_name ilike ",
            )
            .push_bind(pattern)
            .push(")");
        }
        if let Some(n) = searched_number(&req.q) {
            qb.push(" or e.number = ").push_bind(n);
        }
        qb.push(")");
    }
    // A typed number puts its entry first on the first page (other matches, titles holding
    // the digits, follow in the chosen order) and keeps it off the later pages.
    let pinned = searched_number(&req.q);
    if let (Some(n), Some(_)) = (pinned, req.after) {
        qb.push(" and e.number <> ").push_bind(n);
    }
    let pin = match (pinned, req.after) {
        (Some(n), None) => (
            format!("(e.number = {n}) desc, "),
            format!("(page.number = {n}) desc, "),
        ),
        _ => (String::new(), String::new()),
    };
    if !req.unit.is_empty() {
        qb.push(" and a.unit_id in (select u2.unit_id from unit u2, unit p where p.slug = ")
            .push_bind(req.unit.clone())
            .push(" and (u2.path = p.path or u2.path like p.path || '/%'))");
    }
    if !req.category.is_empty() {
        qb.push(" and kc.contest_id = ")
            .push_bind(contest_id)
            .push(" and kc.slug = ")
            .push_bind(req.category.clone());
    }
    if let Some(kind) = req.kind {
        qb.push(
            " and exists (select 1 from media_asset mk
               where mk.entry_id = coalesce(e.media_entry_id, e.entry_id) and mk.kind = ",
        )
        .push_bind(kind.as_str())
        .push("::media_kind)");
    }
    match req.after {
        Some(Cursor::Number(n)) => {
            qb.push(if req.sort == Sort::Newest {
                " and e.number < "
            } else {
                " and e.number > "
            })
            .push_bind(n);
        }
        Some(Cursor::Votes { votes, number }) => {
            qb.push(" and (t.votes < ")
                .push_bind(votes)
                .push(" or (t.votes = ")
                .push_bind(votes)
                .push(" and e.number > ")
                .push_bind(number)
                .push("))");
        }
        Some(Cursor::Random { pos, entry, .. }) => {
            qb.push(" and (s.pos, s.entry_id) > (")
                .push_bind(pos)
                .push(", ")
                .push_bind(entry)
                .push(")");
        }
        None => {}
    }
    let (inner, outer) = match req.sort {
        Sort::Newest => ("e.number desc", "page.number desc"),
        Sort::Number => ("e.number", "page.number"),
        Sort::Votes => ("t.votes desc, e.number", "page.votes desc, page.number"),
        Sort::Random => ("s.pos, s.entry_id", "page.pos, page.entry_id"),
    };
    qb.push(" order by ")
        .push(&pin.0)
        .push(inner)
        .push(" limit ")
        .push_bind(PAGE_SIZE + 1)
        .push(
            ") select page.*, m.media_asset_id, m.kind::text as kind, m.status::text as status,
                m.progress, m.error, m.width, m.height, m.duration_s, m.renditions,
                m.updated_at as media_updated_at,
                case when page.photo_series then
                    (select count(*) from media_asset mc where mc.entry_id = page.media_from
                        and mc.status = 'ready')
                else 0 end as photos
              from page left join lateral (
                select * from media_asset ma where ma.entry_id = page.media_from
                order by ma.series_position nulls first, ma.created_at limit 1) m on true
              order by ",
        )
        .push(&pin.1)
        .push(outer);
    // The plan of a keyset page hardly depends on its binds (an index range, then 25
    // lookups), yet PostgreSQL kept planning it afresh for every request: 2–3 ms of planning
    // for 0.5 ms of execution, half the page's cost at 2,000 entries (docs/benchmarks.md).
    // The connection's cached generic plan is used instead, for this statement only.
    let mut tx = db.begin().await?;
    sqlx::query("set local plan_cache_mode = force_generic_plan")
        .execute(&mut *tx)
        .await?;
    let mut rows: Vec<CardRow> = qb.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(usize::try_from(PAGE_SIZE).unwrap_or(24));
    let next = match rows.last() {
        Some(last) if more => Some(match req.sort {
            Sort::Newest | Sort::Number => Cursor::Number(last.number),
            Sort::Votes => Cursor::Votes {
                votes: last.votes,
                number: last.number,
            },
            Sort::Random => Cursor::Random {
                k: req.k,
                pos: last.pos.unwrap_or(0),
                entry: last.entry_id,
            },
        }),
        _ => None,
    };
    let items = rows
        .into_iter()
        .map(|r| {
            let show = policy.may_see(r.author_id);
            let media = match (r.media_asset_id, r.kind, r.status, r.media_updated_at) {
                (Some(id), Some(kind), Some(status), Some(updated_at)) => {
                    Some(media::view(&AssetRow {
                        media_asset_id: id,
                        kind,
                        status,
                        progress: r.progress.unwrap_or(0),
                        error: r.error,
                        width: r.width,
                        height: r.height,
                        duration_s: r.duration_s,
                        renditions: r.renditions.unwrap_or_default(),
                        updated_at,
                    }))
                }
                _ => None,
            };
            GalleryItem {
                id: r.entry_id,
                number: r.number,
                title: r.title,
                author: (show && r.team_name.is_none()).then(|| {
                    if r.author_minor {
                        crate::domain::privacy::names::shortened(&r.author_name)
                    } else {
                        r.author_name
                    }
                }),
                unit: if show { r.unit_name } else { None },
                media,
                votes: r.votes,
                category: r.category_name,
                team: r.team_name,
                photos: r.photos,
            }
        })
        .collect();
    Ok(GalleryPage { items, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_forgeries_are_refused() {
        let id = Uuid::new_v4();
        for c in [
            Cursor::Number(142),
            Cursor::Votes {
                votes: 0,
                number: 7,
            },
            Cursor::Random {
                k: 15,
                pos: 12345,
                entry: id,
            },
        ] {
            assert_eq!(Cursor::parse(&c.encode()), Some(c));
        }
        for bad in [
            "",
            "n",
            "n0",
            "n-1",
            "nabc",
            "n1.2",
            "x1",
            "v1",
            "v-1.2",
            "r16.1.",
            "r1.1.zz",
            "r1.-5.0",
            "n99999999999",
            "💥",
            "r0.1.00000000000000000000000000000000.1",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_typed_number_is_found_with_or_without_zeros_and_hash() {
        assert_eq!(searched_number("142"), Some(142));
        assert_eq!(searched_number("0142"), Some(142));
        assert_eq!(searched_number("#142"), Some(142));
        assert_eq!(searched_number("#0"), None);
        assert_eq!(searched_number("Hoa sen"), None);
        assert_eq!(searched_number("1e3"), None);
        assert_eq!(number_label(142), "0142");
        assert_eq!(number_label(12345), "12345");
    }

    #[test]
    fn a_voters_shuffle_is_stable_and_voters_spread_over_all_shuffles() {
        assert_eq!(shuffle_of("user:7"), shuffle_of("user:7"));
        let used: std::collections::HashSet<i16> =
            (0..400).map(|i| shuffle_of(&format!("user:{i}"))).collect();
        assert_eq!(used.len(), usize::from(SHUFFLES));
        assert!(used.iter().all(|k| (0..i16::from(SHUFFLES)).contains(k)));
    }

    #[test]
    fn most_voted_is_never_chosen_while_totals_are_hidden() {
        assert_eq!(Sort::choose("votes", true, false), Sort::Random);
        assert_eq!(Sort::choose("votes", false, false), Sort::Newest);
        assert_eq!(Sort::choose("votes", false, true), Sort::Votes);
        assert_eq!(Sort::choose("", true, true), Sort::Random);
        assert_eq!(Sort::choose("nonsense", false, true), Sort::Newest);
        assert!(!Sort::offered(true, false).contains(&Sort::Votes));
    }
}
