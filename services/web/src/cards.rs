//! The cards of a contest's approved entries as the contest page and the vote page show
//! them: one keyset page (`domain::entries::gallery`) with the search, filters and order the
//! visitor asked for, the orders they may pick, and the "Xem thêm" link to the next page,
//! which works without JavaScript. Both pages include `cards/filters.html` and
//! `cards/more.html`.

use chrono::{DateTime, Utc};
use hoithi_core::AppState;

use crate::domain::contests::ContestRow;
use crate::domain::contests::categories::{self, Category};
use crate::domain::entries::author::AuthorPolicy;
use crate::domain::entries::gallery::{GalleryItem, GalleryParams, GalleryRequest, Sort, gallery};
use crate::domain::voting::policy::VotePolicy;
use crate::page::{Ctx, PageError};

/// One page of cards and what the page's form and links need.
pub struct Cards {
    pub entries: Vec<GalleryItem>,
    /// Units to filter by (slug, name): only for viewers who may see every author.
    pub units: Vec<(String, String)>,
    /// The contest's categories to filter by (none: the contest has none).
    pub categories: Vec<Category>,
    pub req: GalleryRequest,
    pub sorts: Vec<Sort>,
    /// The query string (`q=…&sort=…&after=…`) of the next page, when there is one.
    pub next: Option<String>,
    /// Viewers who may see every author search by author too.
    pub by_author: bool,
    /// Vote totals may be shown.
    pub totals_public: bool,
    /// The random order of voting is on.
    pub shuffling: bool,
}

impl Cards {
    /// The kind filter's value (`""` for all kinds).
    pub fn kind(&self) -> &'static str {
        self.req.kind.map_or("", |k| k.as_str())
    }

    /// Whether the visitor searched or filtered (an empty page then says "no match").
    pub fn filtered(&self) -> bool {
        !self.req.q.is_empty()
            || !self.req.unit.is_empty()
            || self.req.kind.is_some()
            || !self.req.category.is_empty()
    }

    /// Whether this is a later page (it links back to the first).
    pub fn later_page(&self) -> bool {
        self.req.after.is_some()
    }
}

/// The cards of `c` for this visitor: `params` as asked (a forged `after` is a 400 page);
/// `with_votes`: the page shows vote totals where they are public.
pub async fn load(
    state: &AppState,
    ctx: &Ctx,
    c: &ContestRow,
    params: &GalleryParams,
    now: DateTime<Utc>,
    with_votes: bool,
) -> Result<Cards, PageError> {
    let authors = AuthorPolicy::load(&state.db, ctx.user.as_ref(), c).await?;
    // While voting, each voter sees the entries in their own order (position bias).
    let voting_open =
        c.voting_opens_at.is_some_and(|o| o <= now) && c.voting_closes_at.is_none_or(|x| now < x);
    let policy = VotePolicy::from_settings(&c.settings);
    let shuffling = voting_open && policy.shuffle;
    let totals_public = policy.totals_public(c.voting_closes_at, now);
    let mut req = GalleryRequest::new(
        params,
        &authors,
        &ctx.visitor_seed(),
        shuffling,
        totals_public,
    )?;
    req.with_votes = with_votes && totals_public;
    let page = gallery(&state.db, c.contest_id, &authors, &req).await?;
    let units = if authors.sees_all() {
        crate::domain::people::units::unit_choices(&state.db).await?
    } else {
        Vec::new()
    };
    let categories = categories::list(&state.db, c.contest_id).await?;
    Ok(Cards {
        entries: page.items,
        units,
        categories,
        next: page.next.map(|n| req.query_after(&n)),
        sorts: Sort::offered(shuffling, totals_public),
        req,
        by_author: authors.sees_all(),
        totals_public,
        shuffling,
    })
}
