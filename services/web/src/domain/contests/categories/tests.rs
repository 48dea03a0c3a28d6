//! A category's rules: checked against its contest's, and its own vote policy and weights.

use super::*;

fn spec(slug: &str, kinds: &[&str]) -> CategorySpec {
    CategorySpec {
        slug: slug.into(),
        name: "Ảnh đẹp".into(),
        kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
        ..CategorySpec::default()
    }
}

#[test]
fn categories_are_checked_against_the_contest() {
    let kinds = vec!["photo".to_owned(), "video".to_owned()];
    let mut e = Vec::new();
    let ok = validate(
        &[spec("anh", &["photo"]), spec("video", &["video"])],
        &kinds,
        &mut e,
    );
    assert!(e.is_empty());
    assert_eq!(ok.len(), 2);
    let mut e = Vec::new();
    validate(
        &[spec("anh", &["photo"]), spec("anh", &["video"])],
        &kinds,
        &mut e,
    );
    assert_eq!(e[0].code(), "invalid-category");
    let mut e = Vec::new();
    validate(&[spec("anh", &["photo"])], &["video".to_owned()], &mut e);
    assert_eq!(e[0].code(), "category-kinds-outside");
}

#[test]
fn a_category_vote_policy_and_weights_are_checked() {
    use serde_json::json;
    assert!(vote_policy_valid(&json!({"per_category": 2, "per_day": 3})));
    assert!(vote_policy_valid(&json!({})));
    for bad in [
        json!({"per_category": 0}),
        json!({"per_category": 10001}),
        json!({"per_day": 101}),
        json!({"per_day": 1.5}),
        json!({"per_contest": 2}),
        json!({"per_category": "2"}),
        json!([1]),
    ] {
        assert!(!vote_policy_valid(&bad), "{bad}");
    }
    assert_eq!(judges_share(&json!({"judges": 3, "public": 1})), Some(75));
    assert_eq!(judges_share(&json!({"judges": 0, "public": 5})), Some(0));
    assert_eq!(judges_share(&json!({"judges": 70})), Some(100));
    for bad in [
        json!({"judges": 0, "public": 0}),
        json!({"judges": -1, "public": 2}),
        json!({"judges": 1, "votes": 2}),
        json!({"judges": "1"}),
    ] {
        assert_eq!(judges_share(&bad), None, "{bad}");
    }
    let kinds = vec!["photo".to_owned()];
    let mut e = Vec::new();
    let mut s = spec("anh", &["photo"]);
    s.vote_policy = Some(json!({"per_category": 0}));
    validate(&[s], &kinds, &mut e);
    assert_eq!(e[0].code(), "invalid-category-vote-policy");
    let mut e = Vec::new();
    let mut s = spec("anh", &["photo"]);
    s.weights = Some(json!({"judges": -1, "public": 1}));
    validate(&[s], &kinds, &mut e);
    assert_eq!(e[0].code(), "invalid-category-weights");
}
