#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The union's member list from its own spreadsheet (issue 20), through the real router and
//! database: an XLSX made here is uploaded, previewed and confirmed (invited accounts, their
//! mails, an existing account given its member number and unit); importing it again changes
//! nothing; a CSV with bad rows names each with its row number and writes nothing; a row of
//! a unit outside the organizer's own is refused; a forged cross-site upload is refused.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use support::*;

const BOUNDARY: &str = "----hoithi-roster-test";

/// A multipart body with the `_csrf` field (when given) and the file.
fn multipart(csrf: Option<&str>, name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    if let Some(t) = csrf {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{t}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(c: &mut Client, name: &str, file: &[u8], csrf: bool, origin: Option<&str>) -> Res {
    if c.csrf().is_empty() {
        c.get("/").await;
    }
    let token = c.csrf();
    let jar = c
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut req = Request::post("/admin/people/import")
        .header(header::COOKIE, jar)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let body = multipart(csrf.then_some(token.as_str()), name, file);
    c.send(req.body(Body::from(body)).unwrap()).await
}

/// The upload id of the preview's confirm form.
fn upload_id(page: &str) -> String {
    let at = page
        .find("name=\"upload\" value=\"")
        .expect("a confirm form")
        + 21;
    page[at..at + 36].to_owned()
}

/// An XLSX like a union keeps: a title-less sheet whose first row names the columns, phones
/// and member numbers typed as numbers.
fn xlsx(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let header = [
        "Họ và tên",
        "Email",
        "Số điện thoại",
        "Số thẻ đoàn viên",
        "Đơn vị",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            if v.is_empty() {
                continue;
            }
            match v.parse::<f64>() {
                Ok(n) if c == 2 || c == 3 => sheet.write_number(r, c, n).unwrap(),
                _ => sheet.write_string(r, c, *v).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

async fn count(env: &TestEnv, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&env.db).await.unwrap()
}

async fn organizer_of(env: &TestEnv, unit: &str) -> Client {
    let (_, _, email) = user_in(env, Role::Organizer, Some(unit)).await;
    let mut c = Client::new(env.state());
    assert_eq!(
        c.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    c
}

#[tokio::test]
async fn an_xlsx_roster_is_previewed_confirmed_and_imported_once() {
    let env = TestEnv::new().await;
    units(&env).await;
    let mut org = organizer_of(&env, "q1").await;
    // Someone of q1-a already has an account: they get the member number and unit.
    let (known, _, known_email) = user_in(&env, Role::Member, None).await;
    let file = xlsx(&[
        [
            "Nguyễn Thị Ánh",
            "anh@example.vn",
            "912345678",
            "1001",
            "Quận Đoàn 1",
        ],
        ["Trần Văn Bình", "", "0987 654 321", "1002", "q1-a"],
        ["Lê Đức Cường", &known_email, "", "DV-1003", "chi đoàn a"],
    ]);

    let page = org.get("/admin/people/import").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Nhập danh sách đoàn viên"));
    let res = upload(&mut org, "doan-vien.xlsx", &file, true, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    for want in [
        "Nguyễn Thị Ánh",
        "0912345678",
        "0987654321",
        "DV-1003",
        "Chi đoàn A",
    ] {
        assert!(res.body.contains(want), "{want}: {}", res.body);
    }
    assert_eq!(
        count(&env, "select count(*) from roster_member").await,
        0,
        "a preview writes nothing"
    );
    let id = upload_id(&res.body);
    let res = org
        .post_form("/admin/people/import/confirm", &[("upload", &id)])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        res.location()
            .contains("invited=1&updated=1&unchanged=0&roster_only=1"),
        "{}",
        res.location()
    );
    // The same confirm twice: the upload is gone.
    let again = org
        .post_form("/admin/people/import/confirm", &[("upload", &id)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    let (hash, unit, number): (String, String, Option<String>) = sqlx::query_as(
        "select u.password_hash, n.slug, u.member_number from app_user u join unit n using (unit_id)
         where u.email = 'anh@example.vn'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(
        (hash.as_str(), unit.as_str(), number.as_deref()),
        ("!invited", "q1", Some("1001"))
    );
    let mails = outbox(&env, "anh@example.vn").await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].2.contains("/verify-email/"), "{}", mails[0].2);
    let (unit, number): (String, Option<String>) = sqlx::query_as(
        "select n.slug, u.member_number from app_user u join unit n using (unit_id) where u.app_user_id = $1",
    )
    .bind(known)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(
        (unit.as_str(), number.as_deref()),
        ("q1-a", Some("DV-1003"))
    );
    assert!(
        outbox(&env, &known_email).await.is_empty(),
        "an existing account is not invited"
    );
    assert_eq!(count(&env, "select count(*) from roster_member").await, 3);

    // The same file again: nothing new, nothing mailed.
    let accounts = count(&env, "select count(*) from app_user").await;
    let mails = count(&env, "select count(*) from outbox").await;
    let res = upload(&mut org, "doan-vien.xlsx", &file, true, None).await;
    let id = upload_id(&res.body);
    let res = org
        .post_form("/admin/people/import/confirm", &[("upload", &id)])
        .await;
    assert!(
        res.location()
            .contains("invited=0&updated=0&unchanged=2&roster_only=1"),
        "{}",
        res.location()
    );
    assert_eq!(count(&env, "select count(*) from app_user").await, accounts);
    assert_eq!(count(&env, "select count(*) from outbox").await, mails);
    assert_eq!(count(&env, "select count(*) from roster_member").await, 3);
    let page = org.get(res.location()).await;
    assert!(page.body.contains("Không đổi: 2"), "{}", page.body);

    // Another organizer cannot confirm this organizer's upload.
    let res = upload(&mut org, "doan-vien.xlsx", &file, true, None).await;
    let id = upload_id(&res.body);
    let mut other = organizer_of(&env, "q1").await;
    let res = other
        .post_form("/admin/people/import/confirm", &[("upload", &id)])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_csv_with_bad_rows_names_each_and_writes_nothing_and_other_units_are_refused() {
    let env = TestEnv::new().await;
    units(&env).await;
    let mut org = organizer_of(&env, "q1").await;
    let csv = "\u{feff}Họ và tên,Email,Số điện thoại,Số thẻ đoàn viên,Đơn vị\r\n\
               Nguyễn Văn An,an@example.vn,,DV-1,q1\r\n\
               ,binh@example.vn,,,q1\r\n\
               Lê Cúc,khong-phai-email,,,q1\r\n\
               Phạm Dũng,,,,q1\r\n\
               Vũ Em,em@example.vn,,,Thành Đoàn Hà Nội\r\n\
               Hồ Giang,giang@example.vn,,,Không có đơn vị này\r\n\
               Lý Hạnh,hanh@example.vn,,,hcm\r\n";
    let res = upload(&mut org, "ds.csv", csv.as_bytes(), true, None).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    for want in [
        "Dòng 3: thiếu họ tên",
        "Dòng 4: email không hợp lệ",
        "Dòng 5: cần email hoặc số điện thoại",
        "Dòng 6: đơn vị này không thuộc đơn vị bạn quản lý",
        "Dòng 7: không có đơn vị nào mang tên hoặc mã này",
        // The organizer's parent unit is outside their own subtree too.
        "Dòng 8: đơn vị này không thuộc đơn vị bạn quản lý",
    ] {
        assert!(res.body.contains(want), "{want}: {}", res.body);
    }
    assert!(
        !res.body.contains("name=\"upload\""),
        "no confirm while rows are bad"
    );
    assert_eq!(count(&env, "select count(*) from roster_member").await, 0);
    assert_eq!(count(&env, "select count(*) from roster_upload").await, 0);

    // A file that is no spreadsheet, or has no header.
    let res = upload(&mut org, "x.xlsx", b"PK\x03\x04broken", true, None).await;
    assert!(res.body.contains("Không đọc được tệp"), "{}", res.body);
    let res = upload(&mut org, "x.csv", "a,b\n1,2".as_bytes(), true, None).await;
    assert!(
        res.body.contains("Dòng đầu của tệp phải có tên cột"),
        "{}",
        res.body
    );
}

#[tokio::test]
async fn cross_site_uploads_and_people_without_the_role_are_refused() {
    let env = TestEnv::new().await;
    units(&env).await;
    let mut org = organizer_of(&env, "q1").await;
    let csv = "Họ và tên,Email,Đơn vị\nNguyễn Văn An,an@example.vn,q1\n";
    // A form posted from another site carries the session cookie but not the CSRF token
    // (the other site cannot read it): without the field, or with a guessed one.
    let res = upload(&mut org, "ds.csv", csv.as_bytes(), false, None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let res = upload(
        &mut org,
        "ds.csv",
        csv.as_bytes(),
        false,
        Some("https://evil.example"),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let jar = org
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let guessed = Request::post("/admin/people/import")
        .header(header::COOKIE, &jar)
        .header(header::ORIGIN, "https://evil.example")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(
            Some("guessed-token"),
            "ds.csv",
            csv.as_bytes(),
        )))
        .unwrap();
    assert_eq!(org.send(guessed).await.status, StatusCode::FORBIDDEN);
    // The site's own form (token and all) reads the file.
    let res = upload(&mut org, "ds.csv", csv.as_bytes(), true, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // The confirm form forged from another site.
    let forged = Request::post("/admin/people/import/confirm")
        .header(header::COOKIE, &jar)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("upload=00000000-0000-0000-0000-000000000000"))
        .unwrap();
    assert_eq!(org.send(forged).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(
            &env,
            "select count(*) from app_user where email = 'an@example.vn'"
        )
        .await,
        0
    );

    // A member: 403; signed out: sign in.
    let (_, _, member) = user_in(&env, Role::Member, Some("q1")).await;
    let mut m = Client::new(env.state());
    m.login(&member, PASSWORD).await;
    assert_eq!(
        m.get("/admin/people/import").await.status,
        StatusCode::FORBIDDEN
    );
    let res = upload(&mut m, "ds.csv", csv.as_bytes(), true, None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let mut anon = Client::new(env.state());
    assert_eq!(
        anon.get("/admin/people/import").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(count(&env, "select count(*) from roster_member").await, 0);
}
