//! What a reader asks of a gallery: the sort order, the filters, the search and the keyset
//! cursor of the next page, read from the query string and checked (a forged cursor is a
//! `BadCursor`, never a query).

use serde::Deserialize;
use uuid::Uuid;

use super::super::author::AuthorPolicy;

/// Cards on one page.
pub const PAGE_SIZE: i64 = 24;
/// How many shuffles each contest keeps (the migration's `entry_shuffle.k` range).
pub const SHUFFLES: u8 = 16;

/// The orders a gallery can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (numbers are handed out in order of creation).
    Newest,
    /// By entry number, 0001 first.
    Number,
    /// Most valid votes first; only offered where totals are public. Totals move while
    /// voting is open, so an entry voted for between two pages may move across the cursor
    /// (seen twice or not at all in that walk); the other orders are fixed.
    Votes,
    /// The viewer's own stable random order (position bias while voting).
    Random,
}

impl Sort {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Number => "number",
            Self::Votes => "votes",
            Self::Random => "random",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Newest, Self::Number, Self::Votes, Self::Random]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// The order asked for, if this viewer may have it, else the default: the voter's random
    /// order while voting shuffles, newest otherwise. Most voted only where totals are public
    /// (else the order itself would tell the totals).
    pub fn choose(asked: &str, shuffling: bool, totals_public: bool) -> Self {
        let default = if shuffling {
            Self::Random
        } else {
            Self::Newest
        };
        match Self::parse(asked) {
            Some(Self::Votes) if !totals_public => default,
            Some(s) => s,
            None => default,
        }
    }

    /// The orders a viewer may pick from, in the order the form lists them.
    pub fn offered(shuffling: bool, totals_public: bool) -> Vec<Self> {
        let mut v = Vec::with_capacity(4);
        if shuffling {
            v.push(Self::Random);
        }
        v.extend([Self::Newest, Self::Number]);
        if totals_public {
            v.push(Self::Votes);
        }
        if !shuffling {
            v.push(Self::Random);
        }
        v
    }
}

/// A kind of media the gallery can be filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Photo,
    Video,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "photo" => Some(Self::Photo),
            "video" => Some(Self::Video),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Video => "video",
        }
    }
}

/// Where the next page starts: the sort keys of the last card of this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Newest and number orders: the last card's number.
    Number(i32),
    /// Most voted: the last card's votes and number.
    Votes { votes: i64, number: i32 },
    /// Random: the shuffle, the last card's position in it and its id.
    Random { k: i16, pos: i32, entry: Uuid },
}

impl Cursor {
    /// The cursor as it travels in `?after=`.
    pub fn encode(&self) -> String {
        match self {
            Self::Number(n) => format!("n{n}"),
            Self::Votes { votes, number } => format!("v{votes}.{number}"),
            Self::Random { k, pos, entry } => format!("r{k}.{pos}.{}", entry.simple()),
        }
    }

    /// A cursor read back; `None` for anything this code did not write.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() > 64 {
            return None;
        }
        let (tag, rest) = s.split_at_checked(1)?;
        let mut parts = rest.split('.');
        let cursor = match tag {
            "n" => Self::Number(positive(parts.next()?)?),
            "v" => Self::Votes {
                votes: parts.next()?.parse().ok().filter(|v| *v >= 0)?,
                number: positive(parts.next()?)?,
            },
            "r" => Self::Random {
                k: parts
                    .next()?
                    .parse()
                    .ok()
                    .filter(|k| (0..i16::from(SHUFFLES)).contains(k))?,
                pos: parts.next()?.parse().ok().filter(|p| *p >= 0)?,
                entry: Uuid::try_parse(parts.next()?).ok()?,
            },
            _ => return None,
        };
        parts.next().is_none().then_some(cursor)
    }

    const fn fits(&self, sort: Sort) -> bool {
        matches!(
            (self, sort),
            (Self::Number(_), Sort::Newest | Sort::Number)
                | (Self::Votes { .. }, Sort::Votes)
                | (Self::Random { .. }, Sort::Random)
        )
    }
}

pub(crate) fn positive(s: &str) -> Option<i32> {
    s.parse().ok().filter(|n| *n > 0)
}

/// A cursor in `?after=` that this code did not write, or one of another order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad gallery cursor")]
pub struct BadCursor;

/// The query string of a gallery or vote page, as it comes.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct GalleryParams {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub after: String,
    /// A category's slug (hạng mục); empty: every category.
    #[serde(default)]
    pub category: String,
}

/// What one page of a gallery asks for, checked.
#[derive(Debug, Clone)]
pub struct GalleryRequest {
    /// The search, trimmed (at most 100 characters).
    pub q: String,
    /// A unit slug; honoured only for viewers who may see every author.
    pub unit: String,
    pub kind: Option<Kind>,
    /// A category slug of this contest (another contest's finds nothing).
    pub category: String,
    pub sort: Sort,
    /// The shuffle of the random order.
    pub k: i16,
    pub after: Option<Cursor>,
    /// Read the cards' vote totals (the vote page where totals are public; most voted
    /// reads them anyway). The contest page does not show them.
    pub with_votes: bool,
}

impl GalleryRequest {
    /// The request of `params` for a viewer with this `seed`; `shuffling`: the contest's
    /// random order is on (voting open and the policy shuffles); `totals_public`: vote totals
    /// may be shown. A cursor that does not parse or belongs to another order is refused.
    pub fn new(
        params: &GalleryParams,
        policy: &AuthorPolicy,
        seed: &str,
        shuffling: bool,
        totals_public: bool,
    ) -> Result<Self, BadCursor> {
        let sort = Sort::choose(params.sort.trim(), shuffling, totals_public);
        let after = match params.after.trim() {
            "" => None,
            s => Some(Cursor::parse(s).filter(|c| c.fits(sort)).ok_or(BadCursor)?),
        };
        // A cursor of the random order keeps its shuffle, so a page followed later (or
        // shared) goes on in the same order.
        let k = match after {
            Some(Cursor::Random { k, .. }) => k,
            _ => shuffle_of(seed),
        };
        Ok(Self {
            q: params.q.trim().chars().take(100).collect(),
            // A unit filter would tell whose the entries are: only for who may see every author.
            unit: if policy.sees_all() {
                params.unit.trim().chars().take(100).collect()
            } else {
                String::new()
            },
            kind: Kind::parse(params.kind.trim()),
            category: params.category.trim().chars().take(60).collect(),
            sort,
            k,
            after,
            with_votes: false,
        })
    }

    /// The query string of the page after the one that ended at `next`: the same search,
    /// filters and order.
    pub fn query_after(&self, next: &Cursor) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            s.append_pair("q", &self.q);
        }
        if !self.unit.is_empty() {
            s.append_pair("unit", &self.unit);
        }
        if let Some(k) = self.kind {
            s.append_pair("kind", k.as_str());
        }
        if !self.category.is_empty() {
            s.append_pair("category", &self.category);
        }
        s.append_pair("sort", self.sort.as_str());
        s.append_pair("after", &next.encode());
        s.finish()
    }
}

/// The shuffle a viewer's seed picks.
pub fn shuffle_of(seed: &str) -> i16 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(seed.as_bytes());
    i16::from(h[0] % SHUFFLES)
}

/// A number typed into the search ("142", "0142", "#142", "số 142" is not one).
pub(crate) fn searched_number(q: &str) -> Option<i32> {
    let digits = q.strip_prefix('#').unwrap_or(q).trim();
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}
