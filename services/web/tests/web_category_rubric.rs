#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A category's own rubric (issue 20: "each with its own … rubric"): a category given criteria
//! is judged on them — its sheets show and require them, its results are computed with their
//! weights — while the other categories keep the round's criteria; the rubric stays as it was
//! when the round opened.

mod support;

use axum::http::StatusCode;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::fixtures::*;
use support::*;
use uuid::Uuid;

/// The criteria (name → id) of the judge's sheet of `entry`.
async fn sheet_criteria(c: &mut Client, token: &str, entry: Uuid) -> Vec<(String, i64)> {
    let res = c
        .api(
            "GET",
            &format!("/api/v1/entries/{entry}/scores"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["name"].as_str().unwrap().to_owned(),
                k["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_category_with_its_own_criteria_is_scored_and_ranked_on_them() {
    let env = TestEnv::new().await;
    units(&env).await;
    let Cast {
        org_token,
        mut org,
        author,
        judge_token,
        judge_email,
    } = judging_cast(&env).await;
    let mut c = Client::new(env.state());
    let now = chrono::Utc::now();
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org_token),
            Some(json!({
                "slug": "thang-diem",
                "title": "Thang điểm riêng",
                "unit": "q1",
                "kinds": ["photo", "video"],
                "phases": {"submission": {
                    "opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                    "closes_at": (now + chrono::Duration::days(5)).to_rfc3339()}},
                "categories": [
                    {"slug": "anh-dep", "name": "Ảnh đẹp quê hương", "kinds": ["photo"],
                     "criteria": [{"name": "Bố cục", "max": 10, "weight": 1},
                                  {"name": "Cảm xúc", "max": 10, "weight": 3}]},
                    {"slug": "video-clip", "name": "Video clip tuyên truyền", "kinds": ["video"]}
                ]
            })),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.json()["id"].as_i64().unwrap();
    let p1 = approved(&env, id, author, "anh-dep", "Ảnh một").await;
    let p2 = approved(&env, id, author, "anh-dep", "Ảnh hai").await;
    let v1 = approved(&env, id, author, "video-clip", "Clip một").await;
    close_submission_now(&env, id).await;
    open_first_round(&mut org, "thang-diem", "100").await;
    add_judge(&mut c, &org_token, "thang-diem", &judge_email).await;

    // The photo's sheet is the category's rubric; the video's the round's.
    let photo = sheet_criteria(&mut c, &judge_token, p1).await;
    let names: Vec<&str> = photo.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(names, ["Bố cục", "Cảm xúc"]);
    let video = sheet_criteria(&mut c, &judge_token, v1).await;
    let names: Vec<&str> = video.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(names, ["Nội dung"]);
    let (layout, feeling, content) = (photo[0].1, photo[1].1, video[0].1);
    // The round's criterion is not the photo's, and a photo sheet needs both of its own.
    let res = score(&mut c, &judge_token, p1, json!({content.to_string(): 9})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "unknown-criterion");
    let res = score(&mut c, &judge_token, p1, json!({layout.to_string(): 9})).await;
    assert!(res.status.is_client_error(), "{}", res.body);
    // p1: (10·1 + 2·3) / 4 = 4; p2: (4·1 + 6·3) / 4 = 5.5 — a plain sum would put p1 first.
    for (entry, scores) in [
        (p1, json!({layout.to_string(): 10, feeling.to_string(): 2})),
        (p2, json!({layout.to_string(): 4, feeling.to_string(): 6})),
        (v1, json!({content.to_string(): 8})),
    ] {
        let res = score(&mut c, &judge_token, entry, scores).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    // A rubric changed after the round opened does not reach it.
    let res = c
        .api(
            "PATCH",
            "/api/v1/contests/thang-diem",
            Some(&org_token),
            Some(json!({"categories": [
                {"slug": "anh-dep", "name": "Ảnh đẹp quê hương", "kinds": ["photo"],
                 "criteria": [{"name": "Khác", "max": 10, "weight": 1}]},
                {"slug": "video-clip", "name": "Video clip tuyên truyền", "kinds": ["video"]}
            ]})),
        )
        .await;
    if res.status == StatusCode::OK {
        let again = sheet_criteria(&mut c, &judge_token, p1).await;
        assert_eq!(again, photo);
    }
    let v = publish_results(&mut c, &org_token, "thang-diem", false).await;
    let lines: Vec<(String, String, i64, f64)> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["category"]["slug"].as_str().unwrap().to_owned(),
                e["title"].as_str().unwrap().to_owned(),
                e["rank"].as_i64().unwrap(),
                e["judge_score"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("anh-dep".to_owned(), "Ảnh hai".to_owned(), 1, 5.5),
            ("anh-dep".to_owned(), "Ảnh một".to_owned(), 2, 4.0),
            ("video-clip".to_owned(), "Clip một".to_owned(), 1, 8.0),
        ],
        "{v:#}"
    );
}
