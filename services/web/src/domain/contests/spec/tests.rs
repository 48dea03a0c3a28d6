//! The contest form's rules, one refusal at a time.

use super::*;

/// The broken rule `code` on `field`.
fn err(field: &'static str, code: &str) -> FieldError {
    let refusal = R::ALL.into_iter().find(|r| r.code() == code).unwrap();
    FieldError::new(field, refusal)
}

fn spec() -> ContestSpec {
    ContestSpec::from_toml(
        r#"
        slug = "anh-dep-2026"
        title = "Ảnh đẹp tuổi trẻ"
        kinds = ["photo"]
        [phases.submission]
        opens_at = 2026-12-01T08:00:00+07:00
        closes_at = "2026-12-20T17:00"
        [phases.voting]
        opens_at = "2026-12-21T08:00"
        closes_at = "2026-12-25T20:00"
        [limits]
        max_entries_per_member = 3
        "#,
    )
    .unwrap()
}

#[test]
fn a_toml_contest_with_local_and_offset_times_is_valid() {
    let c = spec().validate().unwrap();
    assert_eq!(c.submission.0.to_rfc3339(), "2026-12-01T01:00:00+00:00");
    assert_eq!(c.submission.1.to_rfc3339(), "2026-12-20T10:00:00+00:00");
    assert_eq!(c.max_entries_per_member, 3);
    assert_eq!(c.upload_grace_minutes, 30, "the default grace");
    assert!(c.requires_moderation);
}

#[test]
fn the_upload_grace_is_read_from_limits_and_bounded_to_a_day() {
    let mut s = spec();
    s.limits = Some(Limits {
        upload_grace_minutes: Some(0),
        ..Limits::default()
    });
    assert_eq!(s.validate().unwrap().upload_grace_minutes, 0);
    for bad in [-1, 1441] {
        s.limits = Some(Limits {
            upload_grace_minutes: Some(bad),
            ..Limits::default()
        });
        let errors = s.validate().unwrap_err();
        assert!(errors.contains(&err("upload_grace_minutes", "invalid-limit")));
    }
    let toml =
        ContestSpec::from_toml("slug = \"a\"\n[limits]\nupload_grace_minutes = 90\n").unwrap();
    assert_eq!(toml.limits.unwrap().upload_grace_minutes, Some(90));
}

#[test]
fn every_broken_rule_is_reported_with_its_field() {
    let mut s = spec();
    s.slug = "Có Dấu".into();
    s.title = " ".into();
    s.kinds = vec!["audio".into()];
    s.phases.submission.closes_at = "2026-11-01T00:00".into();
    let errors = s.validate().unwrap_err();
    assert!(errors.contains(&err("slug", "invalid-slug")));
    assert!(errors.contains(&err("title", "title-required")));
    assert!(errors.contains(&err("kinds", "invalid-kind")));
    assert!(errors.contains(&err("submission_closes_at", "closes-before-opens")));
}

#[test]
fn a_vote_policy_is_stored_where_the_vote_ingest_reads_it_and_bounded() {
    let mut s = spec();
    s.vote_policy = Some(serde_json::json!({"per_day": 3, "roster": true}));
    let c = s.validate().unwrap();
    let stored = crate::domain::voting::policy::VotePolicy::from_settings(&c.settings);
    assert_eq!((stored.per_day, stored.roster), (3, true));
    for bad in [
        serde_json::json!({"per_day": 0}),
        serde_json::json!({"per_day": "3"}),
        serde_json::json!({"per_dya": 3}),
        serde_json::json!([1]),
    ] {
        s.vote_policy = Some(bad);
        let errors = s.validate().unwrap_err();
        assert!(errors.contains(&err("vote_policy", "invalid-vote-policy")));
    }
}

#[test]
fn voting_may_not_open_before_submission_closes_and_results_come_last() {
    let mut s = spec();
    s.phases.voting = Some(Window {
        opens_at: "2026-12-10T08:00".into(),
        closes_at: "2026-12-25T08:00".into(),
    });
    s.phases.results_at = Some("2026-12-24T08:00".into());
    let errors = s.validate().unwrap_err();
    assert!(errors.contains(&err("voting_opens_at", "overlaps-submission")));
    assert!(errors.contains(&err("results_at", "results-before-phases-end")));
    s.voting_overlaps_submission = Some(true);
    s.phases.results_at = None;
    assert!(
        s.validate().is_ok(),
        "the contest lets voting run beside submission"
    );
}

#[test]
fn unknown_fields_are_refused_rather_than_ignored() {
    assert!(ContestSpec::from_toml("slug = \"a\"\ntitel = \"typo\"").is_err());
}
