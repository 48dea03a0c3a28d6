//! What an edit sends (`ContestPatch`, any subset of the creation fields) and how it is laid
//! over the stored contest as a creation spec, so the creation's validation judges the whole.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use super::super::ContestRow;
use super::super::spec::{ContestSpec, Limits, Phases, ValidContest, Window};

/// A field the patch sets to a value or to nothing (`null`); absent: unchanged.
pub(crate) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What an edit changes: every field is optional, and absent means "as it is".
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestPatch {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub rules: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub cover_url: Option<Option<String>>,
    pub unit: Option<String>,
    pub eligible_units: Option<Vec<String>>,
    pub kinds: Option<Vec<String>>,
    pub phases: Option<PhasesPatch>,
    pub limits: Option<Limits>,
    pub requires_moderation: Option<bool>,
    pub blind_judging: Option<bool>,
    pub hide_author: Option<bool>,
    pub requires_birth_date: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub retention_days: Option<Option<i32>>,
    pub criteria: Option<Vec<serde_json::Value>>,
    pub weights: Option<serde_json::Value>,
    pub vote_policy: Option<serde_json::Value>,
    pub voting_overlaps_submission: Option<bool>,
    /// The whole list of categories (hạng mục), in order: new slugs added, missing ones
    /// deleted (only without entries), the rest renamed, moved and re-limited under the same
    /// locks as the contest's (`categories::replace`).
    pub categories: Option<Vec<super::super::categories::CategorySpec>>,
    /// "Dời các vòng sau theo": when a phase's close moves, every later date the patch does
    /// not set moves by the same amount.
    #[serde(default)]
    pub shift_later: bool,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhasesPatch {
    pub submission: Option<WindowPatch>,
    /// `null` removes the phase (only before it opens).
    #[serde(default, deserialize_with = "nullable")]
    pub judging: Option<Option<WindowPatch>>,
    #[serde(default, deserialize_with = "nullable")]
    pub voting: Option<Option<WindowPatch>>,
    #[serde(default, deserialize_with = "nullable")]
    pub results_at: Option<Option<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowPatch {
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
}

/// The seven dates of a contest, in this order.
pub const DATE_FIELDS: [&str; 7] = [
    "submission_opens_at",
    "submission_closes_at",
    "judging_opens_at",
    "judging_closes_at",
    "voting_opens_at",
    "voting_closes_at",
    "results_at",
];

pub type Dates = [Option<DateTime<Utc>>; 7];

pub(crate) fn dates_of(c: &ContestRow) -> Dates {
    [
        Some(c.submission_opens_at),
        Some(c.submission_closes_at),
        c.judging_opens_at,
        c.judging_closes_at,
        c.voting_opens_at,
        c.voting_closes_at,
        c.results_at,
    ]
}

pub(crate) fn dates_of_valid(v: &ValidContest) -> Dates {
    [
        Some(v.submission.0),
        Some(v.submission.1),
        v.judging.map(|w| w.0),
        v.judging.map(|w| w.1),
        v.voting.map(|w| w.0),
        v.voting.map(|w| w.1),
        v.results_at,
    ]
}

/// The contest as a creation spec, so that an edit goes through the creation's validation.
pub(crate) fn spec_of(c: &ContestRow, eligible: Vec<String>) -> ContestSpec {
    let t = |x: DateTime<Utc>| x.to_rfc3339();
    let window = |o: Option<DateTime<Utc>>, cl: Option<DateTime<Utc>>| {
        o.zip(cl).map(|(o, cl)| Window {
            opens_at: t(o),
            closes_at: t(cl),
        })
    };
    ContestSpec {
        slug: c.slug.clone(),
        title: c.title.clone(),
        description: Some(c.description.clone()),
        rules: Some(c.rules.clone()),
        cover_url: c.cover_url.clone(),
        unit: c.unit_slug.clone(),
        eligible_units: Some(eligible),
        kinds: c.kinds.clone(),
        phases: Phases {
            submission: Window {
                opens_at: t(c.submission_opens_at),
                closes_at: t(c.submission_closes_at),
            },
            judging: window(c.judging_opens_at, c.judging_closes_at),
            voting: window(c.voting_opens_at, c.voting_closes_at),
            results_at: c.results_at.map(t),
        },
        limits: Some(Limits {
            max_photo_bytes: Some(c.max_photo_bytes),
            max_video_bytes: Some(c.max_video_bytes),
            max_video_seconds: Some(c.max_video_seconds),
            max_entries_per_member: Some(c.max_entries_per_member),
            upload_grace_minutes: Some(c.upload_grace_minutes),
            max_team_members: Some(c.max_team_members),
            max_series_photos: Some(c.max_series_photos),
        }),
        requires_moderation: Some(c.requires_moderation),
        blind_judging: Some(c.blind_judging),
        hide_author: Some(c.hide_author),
        requires_birth_date: Some(c.requires_birth_date),
        retention_days: c.retention_days,
        criteria: c
            .settings
            .get("criteria")
            .and_then(|v| v.as_array())
            .cloned(),
        weights: c.settings.get("weights").cloned(),
        vote_policy: c.settings.get("voting").cloned(),
        voting_overlaps_submission: Some(c.voting_overlaps_submission),
        categories: None,
    }
}

/// The dates as text slots, with which of them the patch set.
pub(crate) struct Slots {
    pub(crate) text: [Option<String>; 7],
    set: [bool; 7],
}

impl Slots {
    pub(crate) fn new(old: &Dates) -> Self {
        Self {
            text: old.map(|d| d.map(|d| d.to_rfc3339())),
            set: [false; 7],
        }
    }

    pub(crate) fn put(&mut self, i: usize, value: Option<String>) {
        self.text[i] = value;
        self.set[i] = true;
    }

    pub(crate) fn window(&mut self, opens: usize, w: Option<&Option<WindowPatch>>) {
        match w {
            None => {}
            Some(None) => {
                self.put(opens, None);
                self.put(opens + 1, None);
            }
            Some(Some(w)) => {
                if let Some(o) = &w.opens_at {
                    self.put(opens, Some(o.clone()));
                }
                if let Some(c) = &w.closes_at {
                    self.put(opens + 1, Some(c.clone()));
                }
            }
        }
    }

    /// "Dời các vòng sau theo": the first phase close the patch moves (by the order of its
    /// old date) gives the amount; every date the patch leaves alone that came at or after
    /// that old close, and has not passed, moves by as much.
    pub(crate) fn shift_later(&mut self, old: &Dates, now: DateTime<Utc>) {
        let moved = [1, 3, 5]
            .into_iter()
            .filter(|&i| self.set[i])
            .filter_map(|i| {
                let before = old[i]?;
                let after = super::super::time::parse_time(self.text[i].as_deref()?)?;
                (after != before).then_some((before, after - before))
            })
            .min_by_key(|(before, _)| *before);
        let Some((from, delta)) = moved else {
            return;
        };
        for ((text, set), d) in self.text.iter_mut().zip(self.set).zip(old) {
            if let Some(d) = *d
                && !set
                && d >= from
                && d > now
            {
                *text = Some((d + delta).to_rfc3339());
            }
        }
    }

    pub(crate) fn phases(&self) -> Phases {
        let text = |i: usize| self.text[i].clone();
        let window = |o: usize| {
            (text(o).is_some() || text(o + 1).is_some()).then(|| Window {
                opens_at: text(o).unwrap_or_default(),
                closes_at: text(o + 1).unwrap_or_default(),
            })
        };
        Phases {
            submission: Window {
                opens_at: text(0).unwrap_or_default(),
                closes_at: text(1).unwrap_or_default(),
            },
            judging: window(2),
            voting: window(4),
            results_at: text(6),
        }
    }
}

impl ContestPatch {
    /// The contest `c` with this patch laid over it, as a spec to validate.
    pub(crate) fn over(
        &self,
        c: &ContestRow,
        eligible: Vec<String>,
        now: DateTime<Utc>,
    ) -> ContestSpec {
        let mut s = spec_of(c, eligible);
        let set = |to: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                to.clone_from(v);
            }
        };
        set(&mut s.slug, &self.slug);
        set(&mut s.title, &self.title);
        if let Some(d) = &self.description {
            s.description = Some(d.clone());
        }
        if let Some(r) = &self.rules {
            s.rules = Some(r.clone());
        }
        if let Some(u) = &self.cover_url {
            s.cover_url.clone_from(u);
        }
        if let Some(u) = &self.unit {
            s.unit = Some(u.clone());
        }
        if let Some(e) = &self.eligible_units {
            s.eligible_units = Some(e.clone());
        }
        if let Some(k) = &self.kinds {
            s.kinds.clone_from(k);
        }
        let old = dates_of(c);
        let mut slots = Slots::new(&old);
        if let Some(p) = &self.phases {
            if let Some(w) = &p.submission {
                slots.window(0, Some(&Some(w.clone())));
            }
            slots.window(2, p.judging.as_ref());
            slots.window(4, p.voting.as_ref());
            if let Some(r) = &p.results_at {
                slots.put(6, r.clone().filter(|r| !r.trim().is_empty()));
            }
        }
        if self.shift_later {
            slots.shift_later(&old, now);
        }
        s.phases = slots.phases();
        if let (Some(patch), Some(limits)) = (&self.limits, s.limits.as_mut()) {
            let take = |to: &mut Option<i64>, v: Option<i64>| {
                if v.is_some() {
                    *to = v;
                }
            };
            take(&mut limits.max_photo_bytes, patch.max_photo_bytes);
            take(&mut limits.max_video_bytes, patch.max_video_bytes);
            let take32 = |to: &mut Option<i32>, v: Option<i32>| {
                if v.is_some() {
                    *to = v;
                }
            };
            take32(&mut limits.max_video_seconds, patch.max_video_seconds);
            take32(
                &mut limits.max_entries_per_member,
                patch.max_entries_per_member,
            );
            take32(&mut limits.upload_grace_minutes, patch.upload_grace_minutes);
            take32(&mut limits.max_team_members, patch.max_team_members);
            take32(&mut limits.max_series_photos, patch.max_series_photos);
        }
        let flag = |to: &mut Option<bool>, v: Option<bool>| {
            if v.is_some() {
                *to = v;
            }
        };
        flag(&mut s.requires_moderation, self.requires_moderation);
        flag(&mut s.blind_judging, self.blind_judging);
        flag(&mut s.hide_author, self.hide_author);
        flag(&mut s.requires_birth_date, self.requires_birth_date);
        flag(
            &mut s.voting_overlaps_submission,
            self.voting_overlaps_submission,
        );
        if let Some(r) = self.retention_days {
            s.retention_days = r;
        }
        if let Some(c) = &self.criteria {
            s.criteria = Some(c.clone());
        }
        if let Some(w) = &self.weights {
            s.weights = Some(w.clone());
        }
        if let Some(v) = &self.vote_policy {
            s.vote_policy = Some(v.clone());
        }
        s
    }
}
