#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Certificates (issue 20) through the real router, a real database and `pdftotext`: results
//! published through the organizer's form, the winner's PDF read back with its Vietnamese
//! name, award and code; the public check page (shortened name, made-up codes 404); other
//! people's certificates 404; the organizer's ZIP with one PDF per winner; participant
//! certificates turned on by the organizer's form (and refused cross-site); concurrent
//! issuing; a deleted account's certificate still verifying without a name.

mod support;

use std::io::Read;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;
use uuid::Uuid;

const ORIGIN: &str = "https://hoithi.example.vn";

struct Fx {
    env: TestEnv,
    org: Client,
    org_token: String,
    slug: String,
    contest_id: i64,
}

/// Units hcm → q1 → q1-a and hn; an organizer of hcm signed in; a contest of hcm whose
/// submission the organizer closed.
async fn fixture() -> Fx {
    let env = TestEnv::new().await;
    units(&env).await;
    let (_, org_token, org_email) = user_in(&env, Role::Organizer, Some("hcm")).await;
    let (contest_id, slug) = contest_of(&env, "hcm").await;
    let mut org = Client::new(state_with_public_url(&env, Some(ORIGIN)));
    assert_eq!(
        org.login(&org_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let res = org
        .post_form(
            &format!("/organize/contests/{slug}/phase"),
            &[
                ("phase", "submission"),
                ("action", "close"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    Fx {
        env,
        org,
        org_token,
        slug,
        contest_id,
    }
}

/// A member of `unit` named `name`, signed in: (id, email, client).
async fn person(fx: &Fx, unit: &str, name: &str) -> (i64, String, Client) {
    let (id, _, email) = user_in(&fx.env, Role::Member, Some(unit)).await;
    sqlx::query("update app_user set display_name = $2 where app_user_id = $1")
        .bind(id)
        .bind(name)
        .execute(&fx.env.db)
        .await
        .unwrap();
    let mut c = Client::new(state_with_public_url(&fx.env, Some(ORIGIN)));
    assert_eq!(
        c.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    (id, email, c)
}

/// An approved entry of `author`.
async fn entry(fx: &Fx, author: i64, title: &str, minutes: i64) -> Uuid {
    let id = fx.env.draft_entry(fx.contest_id, author).await;
    sqlx::query(
        "update entry set title = $2, status = 'approved',
            submitted_at = timestamptz '2026-11-01 08:00+07' + make_interval(mins => $3::int)
         where entry_id = $1",
    )
    .bind(id)
    .bind(title)
    .bind(minutes as i32)
    .execute(&fx.env.db)
    .await
    .unwrap();
    id
}

/// Round 1 set up (judges only), opened, one judge of hn invited who scores each entry
/// `score` out of 10 on both criteria.
async fn judge(fx: &mut Fx, scores: &[(Uuid, f64)]) {
    let fields = [
        ("round", "1"),
        ("name", "Chung khảo"),
        ("crit_name_0", "Nội dung"),
        ("crit_max_0", "10"),
        ("crit_weight_0", "1"),
        ("judges_weight", "100"),
        ("vote_scaling", "top_share"),
        ("judge_basis", "raw"),
        ("tie_0", "earlier"),
    ];
    let uri = format!("/organize/contests/{}/judging/setup", fx.slug);
    let res = fx.org.post_form(&uri, &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let uri = format!("/organize/contests/{}/judging/open", fx.slug);
    let res = fx
        .org
        .post_form(&uri, &[("round", "1"), ("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let (_, judge_token, judge_email) = user_in(&fx.env, Role::Member, Some("hn")).await;
    let token = fx.org_token.clone();
    let res = fx
        .org
        .api(
            "POST",
            &format!("/api/v1/contests/{}/judges", fx.slug),
            Some(&token),
            Some(json!({"email": judge_email})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let criterion: i64 = sqlx::query_scalar(
        "select c.judging_criterion_id from judging_criterion c join judging_round r using (judging_round_id)
         where r.contest_id = $1 and r.number = 1",
    )
    .bind(fx.contest_id)
    .fetch_one(&fx.env.db)
    .await
    .unwrap();
    let mut j = Client::new(fx.env.state());
    for (e, s) in scores {
        let res = j
            .api(
                "PUT",
                &format!("/api/v1/entries/{e}/scores"),
                Some(&judge_token),
                Some(json!({"scores": {criterion.to_string(): s}, "submit": true})),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
}

/// Publishes round 1 through the organizer's results page (the confirm step's button).
async fn publish(fx: &mut Fx) {
    let uri = format!("/organize/contests/{}/results/publish", fx.slug);
    let res = fx
        .org
        .post_form(&uri, &[("round", "1"), ("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
}

/// The text `pdftotext` reads from a PDF.
fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils) is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The grouped code `HT-XXXX-XXXX-XXXX-XXXX` printed in `text`.
fn code_in(text: &str) -> String {
    let at = text.find("HT-").expect("a code in the text");
    text[at..at + 22].to_owned()
}

async fn count(env: &TestEnv, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&env.db).await.unwrap()
}

#[tokio::test]
async fn a_winner_downloads_a_pdf_with_their_vietnamese_name_that_verifies_and_nobody_else_can() {
    let mut fx = fixture().await;
    let (anh, anh_email, mut anh_c) = person(&fx, "q1", "Nguyễn Thị Ánh").await;
    let (binh, _, _) = person(&fx, "q1", "Trần Văn Bình").await;
    let (cuong, _, _) = person(&fx, "q1-a", "Lê Đức Cường").await;
    let (dung, _, mut dung_c) = person(&fx, "q1", "Phạm Thị Dung").await;
    let a = entry(&fx, anh, "Mùa xuân quê hương", 1).await;
    let b = entry(&fx, binh, "Bài B", 2).await;
    let c = entry(&fx, cuong, "Bài C", 3).await;
    let d = entry(&fx, dung, "Bài D", 4).await;
    judge(&mut fx, &[(a, 9.0), (b, 8.0), (c, 7.0), (d, 5.0)]).await;
    let mine = format!("/contests/{}/certificate", fx.slug);

    // Before results: refused with a sentence, nothing issued.
    let res = anh_c.get(&mine).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(res.body.contains("chưa được công bố"), "{}", res.body);
    // Someone who did not enter: not found, before and after.
    let (_, _, mut stranger) = person(&fx, "q1", "Người Lạ").await;
    assert_eq!(stranger.get(&mine).await.status, StatusCode::NOT_FOUND);
    let before = anh_c.get("/me/entries").await;
    assert!(!before.body.contains("Tải giấy chứng nhận"));

    publish(&mut fx).await;
    assert_eq!(count(&fx.env, "select count(*) from certificate").await, 3);
    let page = anh_c.get("/me/entries").await;
    assert!(page.body.contains("Tải giấy chứng nhận"), "{}", page.body);
    assert!(page.body.contains(&format!("href=\"{mine}\"")));
    let entry_page = anh_c.get(&format!("/entries/{a}")).await;
    assert!(
        entry_page.body.contains(&format!("href=\"{mine}\"")),
        "the entry page too"
    );
    let other_page = dung_c.get(&format!("/entries/{d}")).await;
    assert!(
        !other_page.body.contains("Tải giấy chứng nhận"),
        "not for the fourth"
    );

    // The winner's PDF, read by a standard parser.
    let res = anh_c.get(&mine).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.headers[header::CONTENT_TYPE], "application/pdf");
    let disposition = res.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.contains("giay-chung-nhan-nguyen-thi-anh-"),
        "{disposition}"
    );
    let text = pdf_text(&res.bytes);
    for want in [
        "Nguyễn Thị Ánh",
        "GIẤY CHỨNG NHẬN",
        "ĐOÀN TNCS HỒ CHÍ MINH",
        "Giải Nhất",
        "Mùa xuân quê hương",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let code = code_in(&text);
    assert!(text.contains(&format!("{ORIGIN}/verify/{code}")), "{text}");
    // Downloading again gives the same certificate.
    let again = pdf_text(&anh_c.get(&mine).await.bytes);
    assert_eq!(code_in(&again), code);
    assert_eq!(count(&fx.env, "select count(*) from certificate").await, 3);

    // The public check page: shortened name, award, contest; never the full name or email.
    let mut anyone = Client::new(fx.env.state());
    let res = anyone.get(&format!("/verify/{code}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("Giấy chứng nhận hợp lệ"));
    assert!(res.body.contains("Nguyễn T. Á."), "{}", res.body);
    assert!(res.body.contains("Giải Nhất"));
    assert!(!res.body.contains("Nguyễn Thị Ánh"));
    assert!(!res.body.contains(&anh_email));
    // Typed in lower case with spaces through the form: the same page.
    let typed = code.to_lowercase().replace('-', " ");
    let res = anyone.get(&format!("/verify?code={}", enc(&typed))).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), format!("/verify/{code}"));
    // Made-up and malformed codes: not found.
    for bad in [
        "/verify/HT-0000-0000-0000-0000".to_owned(),
        format!("/verify/{}", &code[..code.len() - 1]),
        "/verify/%3Cscript%3E".to_owned(),
        "/verify?code=HT-12".to_owned(),
    ] {
        let res = anyone.get(&bad).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{bad}");
        assert!(res.body.contains("Không tìm thấy giấy chứng nhận"), "{bad}");
    }

    assert_eq!(stranger.get(&mine).await.status, StatusCode::NOT_FOUND);
    // Someone ranked fourth has none; and cannot download the winner's by its code.
    let res = dung_c.get(&mine).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(
        res.body.contains("không có giấy chứng nhận"),
        "{}",
        res.body
    );
    let res = dung_c.get(&format!("/certificates/{code}")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.bytes.starts_with(b"%PDF"));
    let res = anyone.get(&format!("/certificates/{code}")).await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "signed out: sign in first"
    );
    // The holder and the organizer can.
    let res = anh_c.get(&format!("/certificates/{code}")).await;
    assert!(res.bytes.starts_with(b"%PDF"));
    let res = fx.org.get(&format!("/certificates/{code}")).await;
    assert!(res.bytes.starts_with(b"%PDF"));
    // An organizer of another unit: not found.
    let (_, _, other_org) = user_in(&fx.env, Role::Organizer, Some("hn")).await;
    let mut other = Client::new(fx.env.state());
    other.login(&other_org, PASSWORD).await;
    assert_eq!(
        other.get(&format!("/certificates/{code}")).await.status,
        StatusCode::NOT_FOUND
    );
    let zip_uri = format!("/organize/contests/{}/certificates.zip", fx.slug);
    assert_eq!(other.get(&zip_uri).await.status, StatusCode::NOT_FOUND);
    assert_eq!(dung_c.get(&zip_uri).await.status, StatusCode::NOT_FOUND);

    // The organizer's ZIP: one PDF per winner, ASCII names.
    let results = fx
        .org
        .get(&format!("/organize/contests/{}/results", fx.slug))
        .await;
    assert!(results.body.contains("Tải tất cả giấy chứng nhận (ZIP)"));
    let res = fx.org.get(&zip_uri).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers[header::CONTENT_TYPE], "application/zip");
    let names = zip_names(&res.bytes);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| n.is_ascii() && n.ends_with(".pdf")));
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("giay-chung-nhan-nguyen-thi-anh-"))
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("giay-chung-nhan-le-duc-cuong-"))
    );

    // Participant certificates: refused cross-site, then turned on by the organizer's form.
    let settings = format!("/organize/contests/{}/certificates/settings", fx.slug);
    let jar = fx
        .org
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let forged = Request::post(&settings)
        .header(header::COOKIE, jar)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("participants=on"))
        .unwrap();
    let res = fx.org.send(forged).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(dung_c.get(&mine).await.status, StatusCode::NOT_FOUND);
    let res = fx
        .org
        .post_form(&settings, &[("participants", "on"), ("round", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(res.location().contains("saved=certificates"));
    let res = dung_c.get(&mine).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let text = pdf_text(&res.bytes);
    assert!(
        text.contains("Phạm Thị Dung") && text.contains("Đã tham gia"),
        "{text}"
    );
    assert_eq!(zip_names(&fx.org.get(&zip_uri).await.bytes).len(), 4);

    // The person's data export lists their certificate.
    let zip = hoithi_web::domain::privacy::export::write_zip(
        &fx.env.db,
        anh,
        ORIGIN,
        std::io::Cursor::new(Vec::new()),
    )
    .await
    .unwrap()
    .into_inner();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut listed = String::new();
    z.by_name("tables/certificate.app_user_id.json")
        .unwrap()
        .read_to_string(&mut listed)
        .unwrap();
    assert!(
        listed.contains(&code.replace("HT-", "").replace('-', "")),
        "{listed}"
    );

    // The account is deleted: the code still verifies, naming nobody.
    hoithi_web::domain::privacy::erase::erase_account(&fx.env.db, &fx.env.storage, anh)
        .await
        .unwrap();
    let res = anyone.get(&format!("/verify/{code}")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.body.contains("người nhận đã xóa tài khoản"),
        "{}",
        res.body
    );
    assert!(!res.body.contains("Nguyễn"));
    assert_eq!(
        count(
            &fx.env,
            "select count(*) from certificate where holder_name like 'Nguyễn%'"
        )
        .await,
        0
    );
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut names = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut head = [0u8; 4];
        f.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"%PDF", "{name}");
        names.push(name);
    }
    names
}

#[tokio::test]
async fn two_downloads_at_once_issue_one_certificate() {
    let mut fx = fixture().await;
    let (anh, _, _) = person(&fx, "q1", "Nguyễn Thị Ánh").await;
    let a = entry(&fx, anh, "Bài A", 1).await;
    judge(&mut fx, &[(a, 9.0)]).await;
    // Published straight through the domain, so no certificate is issued yet.
    let c = hoithi_web::domain::contests::by_id(&fx.env.db, fx.contest_id)
        .await
        .unwrap()
        .unwrap();
    let round = hoithi_web::domain::judging::rounds::pick(&fx.env.db, fx.contest_id, Some(1))
        .await
        .unwrap()
        .unwrap();
    let user: i64 = count(&fx.env, "select min(app_user_id) from app_user").await;
    hoithi_web::domain::judging::results::publish(&fx.env.db, &c, round, user, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count(&fx.env, "select count(*) from certificate").await, 0);
    let db = &fx.env.db;
    let issue = || hoithi_web::domain::certificates::issue_for(db, fx.contest_id, anh);
    let (x, y, z) = tokio::join!(issue(), issue(), issue());
    let codes: Vec<String> = [x, y, z]
        .into_iter()
        .map(|r| r.unwrap().unwrap().code)
        .collect();
    assert!(codes.iter().all(|c| *c == codes[0]), "{codes:?}");
    assert_eq!(count(&fx.env, "select count(*) from certificate").await, 1);
}

#[tokio::test]
async fn the_check_page_limits_lookups_per_address() {
    use axum::extract::ConnectInfo;
    use hoithi_web::domain::certificates::throttle::PER_IP;
    let env = TestEnv::new().await;
    let mut c = Client::new(env.state());
    let from = |ip: [u8; 4], n: usize| {
        Request::get(format!("/verify/HT-0000-0000-0000-{n:04}"))
            .extension(ConnectInfo(std::net::SocketAddr::from((ip, 40000))))
            .body(Body::empty())
            .unwrap()
    };
    for n in 0..PER_IP as usize {
        let res = c.send(from([203, 0, 113, 9], n)).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "lookup {n}");
    }
    let res = c.send(from([203, 0, 113, 9], 9999)).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.body.contains("quá nhiều mã"), "{}", res.body);
    assert!(res.headers.contains_key(header::RETRY_AFTER));
    // Another network is not held back.
    let res = c.send(from([198, 51, 100, 7], 1)).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
