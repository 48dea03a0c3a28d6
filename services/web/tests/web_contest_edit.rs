#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Organizers edit a contest after creating it: `PATCH /api/v1/contests/{slug}` and the edit
//! page, with the creation's validation, the fairness locks, the rules of time, the change
//! history, and the entrants' mail when the deadline moves — each with its hostile twin.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;

/// A contest of unit `q1-a` created through the API by an organizer of `q1`: submission
/// opened an hour ago and closes in 5 days, voting 6 to 8 days from now.
struct Fixture {
    env: TestEnv,
    c: Client,
    org: String,
    org_email: String,
    slug: String,
}

async fn fixture() -> Fixture {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org, org_email) = user_in(&env, Role::Organizer, Some("q1")).await;
    let mut c = Client::new(env.state());
    let now = Utc::now();
    let slug = format!("sua-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some(&org),
            Some(json!({
                "slug": slug,
                "title": "Ảnh đẹp tuổi trẻ",
                "unit": "q1-a",
                "kinds": ["photo"],
                "phases": {
                    "submission": {"opens_at": (now - Duration::hours(1)).to_rfc3339(),
                                   "closes_at": (now + Duration::days(5)).to_rfc3339()},
                    "voting": {"opens_at": (now + Duration::days(6)).to_rfc3339(),
                               "closes_at": (now + Duration::days(8)).to_rfc3339()}
                },
                "limits": {"max_entries_per_member": 2}
            })),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    Fixture {
        env,
        c,
        org,
        org_email,
        slug,
    }
}

impl Fixture {
    async fn patch(&mut self, token: Option<&str>, body: serde_json::Value) -> Res {
        let uri = format!("/api/v1/contests/{}", self.slug);
        self.c.api("PATCH", &uri, token, Some(body)).await
    }

    async fn org_patch(&mut self, body: serde_json::Value) -> Res {
        let org = self.org.clone();
        self.patch(Some(&org), body).await
    }

    /// A member of `q1-a` with a draft entry in the contest: (token, email).
    async fn entrant(&mut self) -> (String, String) {
        let (_, token, email) = user_in(&self.env, Role::Member, Some("q1-a")).await;
        self.entry(&token).await;
        (token, email)
    }

    async fn entry(&mut self, token: &str) {
        let res = self
            .c
            .api(
                "POST",
                &format!("/api/v1/contests/{}/entries", self.slug),
                Some(token),
                Some(json!({"title": "Bài của tôi", "description": "", "consent": true})),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    }

    async fn history(&self) -> Vec<(String, Option<String>, Option<String>)> {
        sqlx::query_as(
            "select h.field, h.old_value, h.new_value from contest_change h
             join contest c using (contest_id) where c.slug = $1 order by contest_change_id",
        )
        .bind(&self.slug)
        .fetch_all(&self.env.db)
        .await
        .unwrap()
    }

    async fn closes_at(&self) -> DateTime<Utc> {
        sqlx::query_scalar("select submission_closes_at from contest where slug = $1")
            .bind(&self.slug)
            .fetch_one(&self.env.db)
            .await
            .unwrap()
    }
}

fn code(res: &Res) -> String {
    res.json()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn hcm(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .format("%H:%M ngày %d/%m/%Y")
        .to_string()
}

#[tokio::test]
async fn an_organizer_fixes_the_title_and_extends_the_deadline_and_each_entrant_gets_one_mail() {
    let mut f = fixture().await;
    let (_, entrant) = f.entrant().await;
    let (other_token, other) = f.entrant().await;
    // A second entry of the same person: still one mail for them.
    f.entry(&other_token).await;
    let new_close = (f.closes_at().await + Duration::hours(12)).to_rfc3339();
    let res = f
        .org_patch(json!({
            "title": "Ảnh đẹp tuổi trẻ 2026",
            "phases": {"submission": {"closes_at": new_close}}
        }))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let body = res.json();
    assert_eq!(body["title"], "Ảnh đẹp tuổi trẻ 2026");
    assert_eq!(body["slug"], f.slug, "the same shape as GET");
    let got =
        f.c.get(&format!("/api/v1/contests/{}", f.slug))
            .await
            .json();
    assert_eq!(got, body);
    let closes = f.closes_at().await;
    assert_eq!(closes.to_rfc3339(), new_close);

    let history = f.history().await;
    let fields: Vec<&str> = history.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(fields, ["title", "submission_closes_at"]);
    assert_eq!(history[0].1.as_deref(), Some("Ảnh đẹp tuổi trẻ"));
    assert_eq!(history[0].2.as_deref(), Some("Ảnh đẹp tuổi trẻ 2026"));

    for who in [&entrant, &other] {
        let mails = outbox(&f.env, who).await;
        assert_eq!(mails.len(), 1, "one mail per person per change: {mails:?}");
        let (kind, subject, text) = &mails[0];
        assert_eq!(kind, "contest-deadline");
        assert!(subject.contains("Ảnh đẹp tuổi trẻ 2026"), "{subject}");
        assert!(
            text.contains(&hcm(closes)),
            "the new date in Vietnam time: {text}"
        );
        assert!(text.contains(&format!("/contests/{}", f.slug)), "{text}");
    }
    // A title alone mails nobody; saving the same again records nothing.
    let res = f.org_patch(json!({"title": "Ảnh đẹp tuổi trẻ 2026"})).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(f.history().await.len(), 2);
    assert_eq!(outbox(&f.env, &entrant).await.len(), 1);
}

#[tokio::test]
async fn strangers_cannot_patch_and_bad_bodies_get_codes() {
    let mut f = fixture().await;
    // Signed out: 401.
    let res = f.patch(None, json!({"title": "Bị sửa"})).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    // An organizer of another unit, and a member: 404, as for a contest that does not exist.
    let (_, hn, _) = user_in(&f.env, Role::Organizer, Some("hn")).await;
    let res = f.patch(Some(&hn), json!({"title": "Bị sửa"})).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    let (_, member, _) = user_in(&f.env, Role::Member, Some("q1-a")).await;
    let res = f.patch(Some(&member), json!({"title": "Bị sửa"})).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // An organizer above the unit and an admin may.
    let (_, hcm_org, _) = user_in(&f.env, Role::Organizer, Some("hcm")).await;
    let res = f
        .patch(Some(&hcm_org), json!({"rules": "Mỗi người hai bài."}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    // Malformed JSON, an unknown field, a malformed date, an empty title.
    let req = Request::builder()
        .method("PATCH")
        .uri(format!("/api/v1/contests/{}", f.slug))
        .header(header::AUTHORIZATION, format!("Bearer {}", f.org))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"title\": "))
        .unwrap();
    let res = f.c.send(req).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(code(&res), "invalid-json");
    let res = f.org_patch(json!({"titel": "typo"})).await;
    assert_eq!(code(&res), "invalid-json");
    let res = f
        .org_patch(json!({"phases": {"submission": {"closes_at": "31/12/2026"}}}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&res), "invalid-time");
    assert_eq!(
        res.json()["error"]["fields"][0]["field"],
        "submission_closes_at"
    );
    let res = f.org_patch(json!({"title": "  "})).await;
    assert_eq!(code(&res), "title-required");
    // Nothing of that was stored.
    let history = f.history().await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].0, "rules");
}

#[tokio::test]
async fn a_cross_site_form_cannot_edit_a_contest_with_the_organizers_session() {
    let mut f = fixture().await;
    let email = f.org_email.clone();
    f.c.login(&email, PASSWORD).await;
    let uri = format!("/organize/contests/{}/edit", f.slug);
    assert_eq!(f.c.get(&uri).await.status, StatusCode::OK);
    let req = Request::post(&uri)
        .header(header::COOKIE, {
            f.c.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from("title=Bi+sua"))
        .unwrap();
    let res = f.c.send(req).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    // Without the page's token, even from no Origin at all.
    let res = f.c.post_raw(&uri, &[("title", "Bị sửa".to_owned())]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert!(f.history().await.is_empty());
}

#[tokio::test]
async fn kinds_tightened_limits_and_the_slug_are_locked_once_entries_exist() {
    let mut f = fixture().await;
    // Before any entry the kinds may change.
    let res = f.org_patch(json!({"kinds": ["photo", "video"]})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let (token, _) = f.entrant().await;
    f.entry(&token).await;
    let res = f.org_patch(json!({"kinds": ["photo"]})).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(code(&res), "kinds-locked");
    let res = f
        .org_patch(json!({"limits": {"max_photo_bytes": 1024}}))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(code(&res), "limit-tightened");
    let res = f
        .org_patch(json!({"limits": {"max_entries_per_member": 1}}))
        .await;
    assert_eq!(code(&res), "max-entries-below-existing");
    let res = f.org_patch(json!({"slug": "ten-moi"})).await;
    assert_eq!(code(&res), "slug-locked");
    let res = f.org_patch(json!({"eligible_units": ["hn"]})).await;
    assert_eq!(code(&res), "eligibility-narrowed");
    let res = f.org_patch(json!({"requires_birth_date": true})).await;
    assert_eq!(code(&res), "birth-date-locked");
    // Loosening stays open.
    let res = f
        .org_patch(
            json!({"limits": {"max_photo_bytes": 50 * 1024 * 1024, "max_entries_per_member": 3}}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["limits"]["max_entries_per_member"], 3);
    // The page says which is locked, in Vietnamese.
    let email = f.org_email.clone();
    f.c.login(&email, PASSWORD).await;
    let page =
        f.c.get(&format!("/organize/contests/{}/edit", f.slug))
            .await;
    assert!(
        page.body
            .contains("Loại bài dự thi đã khóa vì hội thi đã có bài dự thi."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn dates_follow_the_rules_of_time_and_later_phases_can_move_along() {
    let mut f = fixture().await;
    f.entrant().await;
    let now = Utc::now();
    // A start that has passed is history once the phase has entries.
    let res = f
        .org_patch(json!({"phases": {"submission": {"opens_at": (now + Duration::hours(1)).to_rfc3339()}}}))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(code(&res), "time-passed");
    // Closing before opening, and a close in the past.
    let res = f
        .org_patch(
            json!({"phases": {"voting": {"closes_at": (now + Duration::days(5)).to_rfc3339()}}}),
        )
        .await;
    assert_eq!(code(&res), "closes-before-opens");
    let res = f
        .org_patch(json!({"phases": {"submission": {"closes_at": (now - Duration::minutes(30)).to_rfc3339()}}}))
        .await;
    assert_eq!(code(&res), "time-in-past");
    // Extending past the start of voting: refused, unless the later phases move along.
    let later = f.closes_at().await + Duration::days(3);
    let res = f
        .org_patch(json!({"phases": {"submission": {"closes_at": later.to_rfc3339()}}}))
        .await;
    assert_eq!(code(&res), "overlaps-submission");
    let before: serde_json::Value =
        f.c.get(&format!("/api/v1/contests/{}", f.slug))
            .await
            .json();
    let res = f
        .org_patch(json!({"phases": {"submission": {"closes_at": later.to_rfc3339()}}, "shift_later": true}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let after = res.json();
    let at = |v: &serde_json::Value, w: &str, k: &str| {
        DateTime::parse_from_rfc3339(v["phases"][w][k].as_str().unwrap()).unwrap()
    };
    for k in ["opens_at", "closes_at"] {
        assert_eq!(
            at(&after, "voting", k) - at(&before, "voting", k),
            Duration::days(3),
            "voting {k} moved by as much"
        );
    }
    // Voting beside submission, when the contest says so: open voting now.
    let res = f
        .org_patch(json!({"phases": {"voting": {"opens_at": now.to_rfc3339()}}}))
        .await;
    assert_eq!(code(&res), "overlaps-submission");
    let res = f
        .org_patch(json!({"voting_overlaps_submission": true,
                          "phases": {"voting": {"opens_at": now.to_rfc3339()}}}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.json()["voting_overlaps_submission"], true);
    // A phase opened with nothing in it yet (no vote) may still go.
    let res = f.org_patch(json!({"phases": {"voting": null}})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.json()["phases"]["voting"].is_null());
}

#[tokio::test]
async fn reopening_honours_the_overlap_setting_and_stops_at_the_results() {
    let mut f = fixture().await;
    let (_, entrant) = f.entrant().await;
    let now = Utc::now();
    let res = f
        .org_patch(json!({"voting_overlaps_submission": true,
                          "phases": {"results_at": (now + Duration::days(9)).to_rfc3339()}}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let email = f.org_email.clone();
    f.c.login(&email, PASSWORD).await;
    let phase = format!("/organize/contests/{}/phase", f.slug);
    let res =
        f.c.post_form(
            &phase,
            &[
                ("phase", "submission"),
                ("action", "close"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // Into voting: fine with the setting.
    let until = hoithi_web::format::datetime_local(&(now + Duration::days(7)));
    let res =
        f.c.post_form(
            &phase,
            &[
                ("phase", "submission"),
                ("action", "reopen"),
                ("until", &until),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.location(),
        format!("/organize/contests/{}?saved=phase", f.slug)
    );
    let page = f.c.get(res.location()).await;
    assert!(page.body.contains("Đã lưu thay đổi giai đoạn."));
    assert!(page.body.contains("Hạn nhận bài"), "the history lists it");
    // Past the results: refused.
    let until = hoithi_web::format::datetime_local(&(now + Duration::days(10)));
    let res =
        f.c.post_form(
            &phase,
            &[
                ("phase", "submission"),
                ("action", "reopen"),
                ("until", &until),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("Không thể kéo dài giai đoạn quá thời điểm công bố kết quả.")
    );
    let fields: Vec<String> = f.history().await.into_iter().map(|h| h.0).collect();
    assert_eq!(
        fields,
        [
            "results_at",
            "voting_overlaps_submission",
            "submission_closes_at",
            "submission_closes_at"
        ]
    );
    // "Đóng ngay" and "Mở lại" moved the deadline: the entrant heard of each, not of the
    // refused one.
    let mails = outbox(&f.env, &entrant).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().all(|(kind, _, _)| kind == "contest-deadline"));
}

#[tokio::test]
async fn two_edits_at_the_same_instant_are_both_applied_and_both_recorded() {
    let f = fixture().await;
    let uri = format!("/api/v1/contests/{}", f.slug);
    let close = f.closes_at().await;
    let patches = [
        json!({"title": "Tên mới"}),
        json!({"description": "Giới thiệu mới"}),
        json!({"phases": {"submission": {"closes_at": (close + Duration::hours(1)).to_rfc3339()}}}),
        json!({"phases": {"submission": {"closes_at": (close + Duration::hours(2)).to_rfc3339()}}}),
    ];
    let calls = patches.iter().map(|p| {
        let mut c = f.c.clone();
        let (uri, org, p) = (uri.clone(), f.org.clone(), p.clone());
        async move { c.api("PATCH", &uri, Some(&org), Some(p)).await }
    });
    for res in futures_util::future::join_all(calls).await {
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    let now: serde_json::Value = f.c.clone().get(&uri).await.json();
    assert_eq!(now["title"], "Tên mới");
    assert_eq!(now["description"], "Giới thiệu mới");
    let history = f.history().await;
    assert_eq!(history.len(), 4, "{history:?}");
    // The deadline's lines chain: each starts where the one before ended.
    let deadline: Vec<_> = history
        .iter()
        .filter(|h| h.0 == "submission_closes_at")
        .collect();
    assert_eq!(deadline[1].1, deadline[0].2, "{deadline:?}");
    let last = DateTime::parse_from_rfc3339(deadline[1].2.as_deref().unwrap()).unwrap();
    assert_eq!(last, f.closes_at().await);
}

#[tokio::test]
async fn the_edit_page_saves_only_what_changed_and_says_so() {
    let mut f = fixture().await;
    let email = f.org_email.clone();
    f.c.login(&email, PASSWORD).await;
    let manage = f.c.get(&format!("/organize/contests/{}", f.slug)).await;
    let uri = format!("/organize/contests/{}/edit", f.slug);
    assert!(
        manage.body.contains(&format!("href=\"{uri}\"")),
        "linked from the manage page"
    );
    let page = f.c.get(&uri).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("value=\"Ảnh đẹp tuổi trẻ\""));
    // The form as the browser sends it back: every field, one of them changed.
    let c =
        f.c.get(&format!("/api/v1/contests/{}", f.slug))
            .await
            .json();
    let local = |w: &str, k: &str| {
        let t = DateTime::parse_from_rfc3339(c["phases"][w][k].as_str().unwrap()).unwrap();
        hoithi_web::format::datetime_local(&t.with_timezone(&Utc))
    };
    let mut fields = vec![
        ("title", "Ảnh đẹp tuổi trẻ 2026".to_owned()),
        ("description", String::new()),
        ("rules", String::new()),
        ("cover_url", String::new()),
        ("eligible_units", String::new()),
        ("kind_photo", "on".to_owned()),
        ("submission_opens_at", local("submission", "opens_at")),
        ("submission_closes_at", local("submission", "closes_at")),
        ("judging_opens_at", String::new()),
        ("judging_closes_at", String::new()),
        ("voting_opens_at", local("voting", "opens_at")),
        ("voting_closes_at", local("voting", "closes_at")),
        ("results_at", String::new()),
        ("max_photo_mb", "30".to_owned()),
        ("max_video_mb", "1536".to_owned()),
        ("max_video_seconds", "180".to_owned()),
        ("max_entries_per_member", "2".to_owned()),
        ("upload_grace_minutes", "30".to_owned()),
        ("requires_moderation", "on".to_owned()),
        ("retention_days", String::new()),
    ];
    let res = f.c.post_form(&uri, &as_refs(&fields)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = f.c.get(res.location()).await;
    assert!(
        page.body.contains("Đã lưu thay đổi của hội thi."),
        "{}",
        page.body
    );
    let history = f.history().await;
    assert_eq!(history.len(), 1, "only the title: {history:?}");
    let manage = f.c.get(&format!("/organize/contests/{}", f.slug)).await;
    assert!(manage.body.contains("Tên hội thi"));
    assert!(
        manage
            .body
            .contains("Ảnh đẹp tuổi trẻ → Ảnh đẹp tuổi trẻ 2026")
    );
    let public = f.c.get(&format!("/contests/{}", f.slug)).await;
    assert!(public.body.contains("Ảnh đẹp tuổi trẻ 2026"));

    // A refusal shows the form again with the sentence next to the field.
    fields[12] = ("results_at", "2020-01-01T00:00".to_owned());
    let res = f.c.post_form(&uri, &as_refs(&fields)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("<p class=\"error\" id=\"results_at-error\">Kết quả phải công bố sau khi các giai đoạn kết thúc.</p>"),
        "{}",
        res.body
    );
    assert!(
        res.body.contains("value=\"2020-01-01T00:00\""),
        "what was typed stays"
    );
}

fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn an_organizer_changes_a_stream_from_the_list_checked_as_a_new_one() {
    let mut f = fixture().await;
    let org = f.org.clone();
    let res =
        f.c.api(
            "POST",
            &format!("/api/v1/contests/{}/streams", f.slug),
            Some(&org),
            Some(
                json!({"title": "Chung kết", "url": "https://youtu.be/dQw4w9WgXcQ",
                        "starts_at": "2099-12-01T19:00", "ends_at": "2099-12-01T21:00"}),
            ),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.json()["id"].as_i64().unwrap();
    let email = f.org_email.clone();
    f.c.login(&email, PASSWORD).await;
    let list =
        f.c.get(&format!("/organize/contests/{}/streams", f.slug))
            .await;
    let uri = format!("/organize/contests/{}/streams/{id}/edit", f.slug);
    assert!(list.body.contains(&uri), "linked from the list");
    let page = f.c.get(&uri).await;
    assert!(
        page.body.contains("value=\"2099-12-01T19:00\""),
        "{}",
        page.body
    );
    let res =
        f.c.post_form(
            &uri,
            &[
                ("title", "Chung kết toàn quốc"),
                ("url", "https://www.youtube.com/live/dQw4w9WgXcQ"),
                ("starts_at", "2099-12-01T20:00"),
                ("ends_at", "2099-12-01T22:30"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        f.c.get(res.location())
            .await
            .body
            .contains("Đã lưu buổi phát trực tiếp.")
    );
    let (title, starts): (String, DateTime<Utc>) =
        sqlx::query_as("select title, starts_at from contest_stream where contest_stream_id = $1")
            .bind(id)
            .fetch_one(&f.env.db)
            .await
            .unwrap();
    assert_eq!(title, "Chung kết toàn quốc");
    assert_eq!(starts.to_rfc3339(), "2099-12-01T13:00:00+00:00");
    // The same refusals as a new stream, what was typed kept.
    let res =
        f.c.post_form(
            &uri,
            &[
                ("title", "Sai"),
                ("url", "javascript:alert(1)"),
                ("starts_at", "2099-12-01T20:00"),
                ("ends_at", "2099-12-01T19:00"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("value=\"Sai\""));
    // Another unit's organizer: refused; a stream of another contest: 404.
    let (_, _, far) = user_in(&f.env, Role::Organizer, Some("hn")).await;
    let mut other = Client::new(f.env.state());
    other.login(&far, PASSWORD).await;
    let res = other.post_form(&uri, &[("title", "Bị sửa")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let wrong = format!("/organize/contests/{}/streams/{}/edit", f.slug, id + 1000);
    assert_eq!(f.c.get(&wrong).await.status, StatusCode::NOT_FOUND);
    let title: String =
        sqlx::query_scalar("select title from contest_stream where contest_stream_id = $1")
            .bind(id)
            .fetch_one(&f.env.db)
            .await
            .unwrap();
    assert_eq!(title, "Chung kết toàn quốc");
}

#[tokio::test]
async fn the_edit_page_moves_later_phases_along_when_asked_and_lets_voting_run_beside_submission() {
    let mut f = fixture().await;
    let email = f.org_email.clone();
    f.c.login(&email, PASSWORD).await;
    let uri = format!("/organize/contests/{}/edit", f.slug);
    let before: serde_json::Value =
        f.c.get(&format!("/api/v1/contests/{}", f.slug))
            .await
            .json();
    let at = |v: &serde_json::Value, w: &str, k: &str| {
        DateTime::parse_from_rfc3339(v["phases"][w][k].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    let local = |t: DateTime<Utc>| hoithi_web::format::datetime_local(&t);
    let form = |close: String, shift: bool, overlap: bool| {
        let mut fields = vec![
            ("title", "Ảnh đẹp tuổi trẻ".to_owned()),
            ("kind_photo", "on".to_owned()),
            (
                "submission_opens_at",
                local(at(&before, "submission", "opens_at")),
            ),
            ("submission_closes_at", close),
            ("voting_opens_at", local(at(&before, "voting", "opens_at"))),
            (
                "voting_closes_at",
                local(at(&before, "voting", "closes_at")),
            ),
            ("max_photo_mb", "30".to_owned()),
            ("max_video_mb", "1536".to_owned()),
            ("max_video_seconds", "180".to_owned()),
            ("max_entries_per_member", "2".to_owned()),
            ("upload_grace_minutes", "30".to_owned()),
            ("requires_moderation", "on".to_owned()),
        ];
        if shift {
            fields.push(("shift_later", "on".to_owned()));
        }
        if overlap {
            fields.push(("voting_overlaps_submission", "on".to_owned()));
        }
        fields
    };
    // Two more days for submission run into voting: refused, with the sentence by the field.
    let close = local(at(&before, "submission", "closes_at") + Duration::days(2));
    let res =
        f.c.post_form(&uri, &as_refs(&form(close.clone(), false, false)))
            .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("Giai đoạn này phải bắt đầu sau khi hết hạn nhận bài."),
        "{}",
        res.body
    );
    // "Dời các vòng sau theo": voting moves two days too.
    let res =
        f.c.post_form(&uri, &as_refs(&form(close, true, false)))
            .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let after: serde_json::Value =
        f.c.get(&format!("/api/v1/contests/{}", f.slug))
            .await
            .json();
    // The form has whole minutes: the deadline moved by two days less its seconds.
    let moved = at(&after, "submission", "closes_at") - at(&before, "submission", "closes_at");
    assert!(moved > Duration::days(2) - Duration::minutes(1) && moved <= Duration::days(2));
    assert_eq!(
        at(&after, "voting", "opens_at") - at(&before, "voting", "opens_at"),
        moved
    );
    // Voting beside submission, by the box.
    let voting_now = local(Utc::now());
    let mut fields = form(local(at(&after, "submission", "closes_at")), false, true);
    fields[4] = ("voting_opens_at", voting_now);
    fields[5] = ("voting_closes_at", local(at(&after, "voting", "closes_at")));
    let res = f.c.post_form(&uri, &as_refs(&fields)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let last: serde_json::Value =
        f.c.get(&format!("/api/v1/contests/{}", f.slug))
            .await
            .json();
    assert_eq!(last["voting_overlaps_submission"], true);
    assert_eq!(last["phase"], "submission");
    assert!(at(&last, "voting", "opens_at") <= Utc::now());
}
