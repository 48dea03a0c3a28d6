//! Why the rules say no to an entry: created, edited, withdrawn or reviewed. Each refusal has a
//! stable code (the JSON API's `error.code`, and the catalog key `refusal.<code>` in
//! `web/i18n/areas/entries.*.toml`); the web side gives each its HTTP status. Who may not even
//! see an entry is not a refusal here: the access extractors answer that (404, or 403 for a
//! visible entry one may not review).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryRefusal {
    TitleRequired,
    TitleTooLong,
    DescriptionTooLong,
    EmailNotVerified,
    SubmissionClosed,
    NotEligible,
    MaxEntriesReached,
    /// Withdrawn, or the contest no longer takes entries.
    NotEditable,
    NotReviewable,
    ReasonRequired,
    ReasonTooLong,
    InvalidDecision,
    /// The author changed the entry while the organizer read it.
    EntryChanged,
    NoPendingEdit,
    /// The author saved a newer edit while the organizer read the old one.
    EditChanged,
    /// The privacy notice and the contest's rules were not agreed to.
    ConsentRequired,
    /// The contest asks for a birth date and none (or an impossible one) was given.
    BirthDateRequired,
    /// A child's entry names no parent or guardian (or not a valid email for one).
    GuardianRequired,
    /// The entry waits for its guardian's consent and cannot be approved yet.
    GuardianPending,
    /// Too many mails to the guardian's address (or from this address) for now.
    TooManyMails,
    /// Results are published: the entry is neither withdrawn nor restored any more.
    ResultsPublished,
    /// Only a withdrawn entry is restored.
    NotWithdrawn,
    /// Withdrawn with the author's consent or account, not by the author's own withdrawal.
    NotRestorable,
    /// The contest has categories and the entry names none.
    CategoryRequired,
    /// No such category in this contest (another contest's slug included).
    UnknownCategory,
    /// The entry has a file of a kind the chosen category does not take.
    CategoryKindMismatch,
    /// A team entry in a contest that takes none.
    TeamNotAllowed,
    /// A team entry without its team's name (or a chi đoàn that is not one of the tree).
    TeamNameRequired,
    /// More members than the contest lets a team list.
    TeamTooManyMembers,
    /// A member's name empty or too long, or a member number not of the union's roster.
    TeamMemberInvalid,
    /// A photo series in a contest (or an entry kind) that takes none.
    SeriesNotAllowed,
    /// A series handed in without a photo, or with a photo still uploading.
    SeriesIncomplete,
}

impl EntryRefusal {
    pub const ALL: [Self; 32] = [
        Self::TitleRequired,
        Self::TitleTooLong,
        Self::DescriptionTooLong,
        Self::EmailNotVerified,
        Self::SubmissionClosed,
        Self::NotEligible,
        Self::MaxEntriesReached,
        Self::NotEditable,
        Self::NotReviewable,
        Self::ReasonRequired,
        Self::ReasonTooLong,
        Self::InvalidDecision,
        Self::EntryChanged,
        Self::NoPendingEdit,
        Self::EditChanged,
        Self::ConsentRequired,
        Self::BirthDateRequired,
        Self::GuardianRequired,
        Self::GuardianPending,
        Self::TooManyMails,
        Self::ResultsPublished,
        Self::NotWithdrawn,
        Self::NotRestorable,
        Self::CategoryRequired,
        Self::UnknownCategory,
        Self::CategoryKindMismatch,
        Self::TeamNotAllowed,
        Self::TeamNameRequired,
        Self::TeamTooManyMembers,
        Self::TeamMemberInvalid,
        Self::SeriesNotAllowed,
        Self::SeriesIncomplete,
    ];

    /// The stable code. (The HTTP status of each refusal is the web side's answer:
    /// `crate::entries::refusal`.)
    pub const fn code(self) -> &'static str {
        match self {
            Self::TitleRequired => "title-required",
            Self::TitleTooLong => "title-too-long",
            Self::DescriptionTooLong => "description-too-long",
            Self::EmailNotVerified => "email-not-verified",
            Self::SubmissionClosed => "submission-closed",
            Self::NotEligible => "not-eligible",
            Self::MaxEntriesReached => "max-entries-reached",
            Self::NotEditable => "not-editable",
            Self::NotReviewable => "not-reviewable",
            Self::ReasonRequired => "reason-required",
            Self::ReasonTooLong => "reason-too-long",
            Self::InvalidDecision => "invalid-decision",
            Self::EntryChanged => "entry-changed",
            Self::NoPendingEdit => "no-pending-edit",
            Self::EditChanged => "edit-changed",
            Self::ConsentRequired => "consent-required",
            Self::BirthDateRequired => "birth-date-required",
            Self::GuardianRequired => "guardian-required",
            Self::GuardianPending => "guardian-pending",
            Self::TooManyMails => "too-many-guardian-mails",
            Self::ResultsPublished => "results-published",
            Self::NotWithdrawn => "not-withdrawn",
            Self::NotRestorable => "not-restorable",
            Self::CategoryRequired => "category-required",
            Self::UnknownCategory => "unknown-category",
            Self::CategoryKindMismatch => "category-kind-mismatch",
            Self::TeamNotAllowed => "team-not-allowed",
            Self::TeamNameRequired => "team-name-required",
            Self::TeamTooManyMembers => "team-too-many-members",
            Self::TeamMemberInvalid => "team-member-invalid",
            Self::SeriesNotAllowed => "series-not-allowed",
            Self::SeriesIncomplete => "series-incomplete",
        }
    }
}

/// What an entry operation ends with when it does not succeed: a refusal of the rules, or a
/// failure of the database. The web side converts both (`?` in handlers).
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("refused: {}", .0.code())]
    Refused(EntryRefusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<EntryRefusal> for EntryError {
    fn from(r: EntryRefusal) -> Self {
        Self::Refused(r)
    }
}
