//! Why the rules say no to a contest as an organizer describes it (one refusal per broken
//! field rule) or to an early close or reopen of a phase. Each has a stable code: the JSON
//! API's `code` (with the field, for the form and `create-contest`), and the catalog key
//! `refusal.<code>` in `web/i18n/areas/entries.*.toml`; the web side gives each its status.
//! `title-required`, `title-too-long` and `description-too-long` are the codes entries use
//! too: one code, one sentence. The refusals of an edit after creation (the fairness locks and
//! the rules of time) have theirs in `web/i18n/areas/contest_edit.*.toml`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContestRefusal {
    InvalidSlug,
    SlugTaken,
    TitleRequired,
    TitleTooLong,
    DescriptionTooLong,
    RulesTooLong,
    InvalidCoverUrl,
    KindsRequired,
    InvalidKind,
    InvalidTime,
    ClosesBeforeOpens,
    OverlapsSubmission,
    ResultsBeforePhasesEnd,
    InvalidLimit,
    InvalidVotePolicy,
    /// A form field that is not even a number.
    InvalidNumber,
    UnknownUnit,
    /// An organizer's contest of a unit they do not manage.
    UnitOutOfScope,
    InvalidPhase,
    InvalidAction,
    PhaseNotScheduled,
    PhaseNotOpen,
    PhaseNotStarted,
    UntilInPast,
    OverlapsNextPhase,
    // Edits after creation (`edit`): the fairness locks and the rules of time.
    SlugLocked,
    KindsLocked,
    LimitTightened,
    MaxEntriesBelowExisting,
    EligibilityNarrowed,
    BirthDateLocked,
    RubricLocked,
    RubricInJudgingSetUp,
    TimePassed,
    TimeInPast,
    ResultsOut,
    AfterResults,
    /// A category without a valid slug or name, a slug twice, or limits out of bounds.
    InvalidCategory,
    /// A category allows a kind its contest does not.
    CategoryKindsOutside,
    /// A category that has entries is not deleted.
    CategoryHasEntries,
    /// A category's `vote_policy` that is not `{per_day?, per_category?}` within bounds.
    InvalidCategoryVotePolicy,
    /// A category's `weights` that are not `{judges, public}`, both ≥ 0, not both 0.
    InvalidCategoryWeights,
}

impl ContestRefusal {
    pub const ALL: [Self; 42] = [
        Self::InvalidSlug,
        Self::SlugTaken,
        Self::TitleRequired,
        Self::TitleTooLong,
        Self::DescriptionTooLong,
        Self::RulesTooLong,
        Self::InvalidCoverUrl,
        Self::KindsRequired,
        Self::InvalidKind,
        Self::InvalidTime,
        Self::ClosesBeforeOpens,
        Self::OverlapsSubmission,
        Self::ResultsBeforePhasesEnd,
        Self::InvalidLimit,
        Self::InvalidVotePolicy,
        Self::InvalidNumber,
        Self::UnknownUnit,
        Self::UnitOutOfScope,
        Self::InvalidPhase,
        Self::InvalidAction,
        Self::PhaseNotScheduled,
        Self::PhaseNotOpen,
        Self::PhaseNotStarted,
        Self::UntilInPast,
        Self::OverlapsNextPhase,
        Self::SlugLocked,
        Self::KindsLocked,
        Self::LimitTightened,
        Self::MaxEntriesBelowExisting,
        Self::EligibilityNarrowed,
        Self::BirthDateLocked,
        Self::RubricLocked,
        Self::RubricInJudgingSetUp,
        Self::TimePassed,
        Self::TimeInPast,
        Self::ResultsOut,
        Self::AfterResults,
        Self::InvalidCategory,
        Self::CategoryKindsOutside,
        Self::CategoryHasEntries,
        Self::InvalidCategoryVotePolicy,
        Self::InvalidCategoryWeights,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Self::InvalidSlug => "invalid-slug",
            Self::SlugTaken => "slug-taken",
            Self::TitleRequired => "title-required",
            Self::TitleTooLong => "title-too-long",
            Self::DescriptionTooLong => "description-too-long",
            Self::RulesTooLong => "rules-too-long",
            Self::InvalidCoverUrl => "invalid-cover-url",
            Self::KindsRequired => "kinds-required",
            Self::InvalidKind => "invalid-kind",
            Self::InvalidTime => "invalid-time",
            Self::ClosesBeforeOpens => "closes-before-opens",
            Self::OverlapsSubmission => "overlaps-submission",
            Self::ResultsBeforePhasesEnd => "results-before-phases-end",
            Self::InvalidLimit => "invalid-limit",
            Self::InvalidVotePolicy => "invalid-vote-policy",
            Self::InvalidNumber => "invalid-number",
            Self::UnknownUnit => "unknown-unit",
            Self::UnitOutOfScope => "unit-out-of-scope",
            Self::InvalidPhase => "invalid-phase",
            Self::InvalidAction => "invalid-action",
            Self::PhaseNotScheduled => "phase-not-scheduled",
            Self::PhaseNotOpen => "phase-not-open",
            Self::PhaseNotStarted => "phase-not-started",
            Self::UntilInPast => "until-in-past",
            Self::OverlapsNextPhase => "overlaps-next-phase",
            Self::SlugLocked => "slug-locked",
            Self::KindsLocked => "kinds-locked",
            Self::LimitTightened => "limit-tightened",
            Self::MaxEntriesBelowExisting => "max-entries-below-existing",
            Self::EligibilityNarrowed => "eligibility-narrowed",
            Self::BirthDateLocked => "birth-date-locked",
            Self::RubricLocked => "rubric-locked",
            Self::RubricInJudgingSetUp => "rubric-in-judging-set-up",
            Self::TimePassed => "time-passed",
            Self::TimeInPast => "time-in-past",
            Self::ResultsOut => "results-out",
            Self::AfterResults => "after-results",
            Self::InvalidCategory => "invalid-category",
            Self::CategoryKindsOutside => "category-kinds-outside",
            Self::CategoryHasEntries => "category-has-entries",
            Self::InvalidCategoryVotePolicy => "invalid-category-vote-policy",
            Self::InvalidCategoryWeights => "invalid-category-weights",
        }
    }
}

/// A broken rule of a contest's description: the field it belongs to and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub refusal: ContestRefusal,
}

impl FieldError {
    pub const fn new(field: &'static str, refusal: ContestRefusal) -> Self {
        Self { field, refusal }
    }

    pub const fn code(&self) -> &'static str {
        self.refusal.code()
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.code())
    }
}
