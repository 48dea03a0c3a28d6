#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! People, units and accounts from the web (issue 18, parts 2, 5 and 6), through the real
//! router on a real database: the admin's people page and its guards, an organizer's view of
//! their own units only, disabling an account, the unit tree's rename, move and CSV import,
//! the account page's password and tokens, the judge's way back from a signed-out invitation
//! link, and sentences (never codes) on pages.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use support::*;

/// A client signed in through the form as a new user of `role` in `unit`: (client, id, email).
async fn signed_in(env: &TestEnv, role: Role, unit: Option<&str>) -> (Client, i64, String) {
    let (id, _, email) = user_in(env, role, unit).await;
    let mut c = Client::new(env.state());
    assert_eq!(
        c.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    (c, id, email)
}

async fn role_and_unit(env: &TestEnv, id: i64) -> (String, Option<String>) {
    sqlx::query_as(
        "select u.role::text, n.slug from app_user u left join unit n using (unit_id)
         where u.app_user_id = $1",
    )
    .bind(id)
    .fetch_one(&env.db)
    .await
    .unwrap()
}

/// No page shows a refusal's code: its sentence only.
fn no_code(body: &str, code: &str) {
    assert!(
        !body.contains(code),
        "the page shows the code {code}: {body}"
    );
}

#[tokio::test]
async fn signed_out_readers_and_members_do_not_reach_the_people_pages() {
    let env = TestEnv::new().await;
    let (member, _, _) = user_in(&env, Role::Member, None).await;
    let mut anon = Client::new(env.state());
    let res = anon.get("/admin/people").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().starts_with("/login"), "{}", res.location());
    let res = anon
        .post_form(
            &format!("/admin/people/{member}/access"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "signed out: to sign in");

    let (mut m, id, _) = signed_in(&env, Role::Member, None).await;
    assert_eq!(m.get("/admin/people").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        m.get(&format!("/admin/people/{member}")).await.status,
        StatusCode::FORBIDDEN
    );
    let res = m
        .post_form(&format!("/admin/people/{id}/access"), &[("role", "admin")])
        .await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "a member makes nobody admin"
    );
    assert_eq!(role_and_unit(&env, id).await.0, "member");
    // The navigation offers the page to staff only.
    assert!(!m.get("/").await.body.contains("/admin/people"));
}

#[tokio::test]
async fn an_admin_finds_a_member_and_makes_them_organizer_of_a_unit_with_the_change_recorded() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (mut admin, _, _) = signed_in(&env, Role::Admin, None).await;
    let (member, _, member_email) = user_in(&env, Role::Member, None).await;
    sqlx::query("update app_user set display_name = 'Trần Thị Bích' where app_user_id = $1")
        .bind(member)
        .execute(&env.db)
        .await
        .unwrap();

    let page = admin.get("/admin/people?q=b%C3%ADch").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Trần Thị Bích"), "{}", page.body);
    assert!(page.body.contains(&format!("/admin/people/{member}")));
    let page = admin.get("/admin/people?q=kh%C3%B4ng-ai-c%C3%B3").await;
    assert!(!page.body.contains("Trần Thị Bích"));

    let res = admin
        .post_form(
            &format!("/admin/people/{member}/access"),
            &[("role", "organizer"), ("unit", "q1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        role_and_unit(&env, member).await,
        ("organizer".to_owned(), Some("q1".to_owned()))
    );
    let page = admin.get(res.location()).await;
    assert!(page.body.contains("Đã lưu."), "{}", page.body);
    assert!(
        page.body.contains("Thành viên → Ban tổ chức"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Quận Đoàn 1"));

    // The new organizer sees the organizer dashboard and the people of their unit.
    let mut org = Client::new(env.state());
    assert_eq!(
        org.login(&member_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(org.get("/organize").await.status, StatusCode::OK);
    assert_eq!(org.get("/admin/people").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_people_list_pages_by_name_with_a_next_link() {
    let env = TestEnv::new().await;
    let (mut admin, _, _) = signed_in(&env, Role::Admin, None).await;
    sqlx::query(
        "insert into app_user (email, display_name, password_hash)
         select 'p' || i || '@example.vn', 'Người ' || lpad(i::text, 3, '0'), '!x'
         from generate_series(1, 120) i",
    )
    .execute(&env.db)
    .await
    .unwrap();
    let first = admin.get("/admin/people?q=Ng%C6%B0%E1%BB%9Di%200").await;
    assert!(first.body.contains("Người 001"));
    assert!(first.body.contains("Người 050"));
    assert!(!first.body.contains("Người 051"));
    let at = first.body.find("after=").expect("a next link");
    let after: String = first.body[at + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let second = admin
        .get(&format!(
            "/admin/people?q=Ng%C6%B0%E1%BB%9Di%200&after={after}"
        ))
        .await;
    assert!(second.body.contains("Người 051"), "{}", second.body);
    assert!(!second.body.contains("Người 050"));
}

#[tokio::test]
async fn an_organizer_sees_and_changes_only_people_of_their_own_units() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (mut org, _, _) = signed_in(&env, Role::Organizer, Some("q1")).await;
    let (inside, _, _) = user_in(&env, Role::Member, Some("q1-a")).await;
    let (outside, _, _) = user_in(&env, Role::Member, Some("hn")).await;
    let (above, _, _) = user_in(&env, Role::Member, Some("hcm")).await;

    let list = org.get("/admin/people").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("/admin/people/{inside}")));
    assert!(!list.body.contains(&format!("/admin/people/{outside}")));
    assert!(!list.body.contains(&format!("/admin/people/{above}")));

    // Someone outside the subtree does not exist for them.
    for id in [outside, above] {
        assert_eq!(
            org.get(&format!("/admin/people/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
        let res = org
            .post_form(
                &format!("/admin/people/{id}/access"),
                &[("role", "organizer"), ("unit", "q1")],
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = org
            .post_form(&format!("/admin/people/{id}/disable"), &[])
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(role_and_unit(&env, outside).await.0, "member");

    // No admin from an organizer, no unit outside their own.
    let res = org
        .post_form(
            &format!("/admin/people/{inside}/access"),
            &[("role", "admin"), ("unit", "q1")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("Chỉ quản trị viên"), "{}", res.body);
    no_code(&res.body, "admin-only");
    let res = org
        .post_form(
            &format!("/admin/people/{inside}/access"),
            &[("role", "member"), ("unit", "hn")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    no_code(&res.body, "person-unit-out-of-scope");
    assert_eq!(
        role_and_unit(&env, inside).await,
        ("member".to_owned(), Some("q1-a".to_owned()))
    );
    // Within their units they may.
    let res = org
        .post_form(
            &format!("/admin/people/{inside}/access"),
            &[("role", "organizer"), ("unit", "q1-a")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(role_and_unit(&env, inside).await.0, "organizer");
}

#[tokio::test]
async fn an_organizer_invites_someone_to_their_unit_and_the_unit_stays_once_they_prove_the_mailbox()
{
    let env = TestEnv::new().await;
    units(&env).await;
    let (mut org, _, _) = signed_in(&env, Role::Organizer, Some("q1")).await;
    let res = org
        .post_form(
            "/admin/people/invite",
            &[
                ("email", "moi@example.vn"),
                ("name", "Lê Văn Mới"),
                ("unit", "hn"),
            ],
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not their unit"
    );
    let res = org
        .post_form(
            "/admin/people/invite",
            &[
                ("email", "moi@example.vn"),
                ("name", "Lê Văn Mới"),
                ("unit", "q1-a"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mails = outbox(&env, "moi@example.vn").await;
    assert_eq!(mails.len(), 1);
    let body = &mails[0].2;
    let at = body.find("/verify-email/").expect("a link");
    let token: String = body[at + 14..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let res = org
        .post_form(
            "/admin/people/invite",
            &[("email", "moi@example.vn"), ("unit", "q1-a")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "invited once");

    let mut newcomer = Client::new(env.state());
    let res = newcomer.get(&format!("/verify-email/{token}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(res.location().starts_with("/reset-password/"));
    let (name, unit): (String, Option<String>) = sqlx::query_as(
        "select u.display_name, n.slug from app_user u left join unit n using (unit_id)
         where u.email = 'moi@example.vn' and u.email_verified_at is not null",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(
        (name.as_str(), unit.as_deref()),
        ("Lê Văn Mới", Some("q1-a"))
    );
}

#[tokio::test]
async fn the_last_active_admin_cannot_demote_or_disable_themself() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (mut admin, me, _) = signed_in(&env, Role::Admin, None).await;
    let res = admin
        .post_form(
            &format!("/admin/people/{me}/access"),
            &[("role", "organizer"), ("unit", "hcm")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(res.body.contains("quản trị viên cuối cùng"), "{}", res.body);
    no_code(&res.body, "last-admin");
    let res = admin
        .post_form(&format!("/admin/people/{me}/disable"), &[])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert_eq!(role_and_unit(&env, me).await.0, "admin");

    // With a second admin, stepping down is fine; disabling oneself never is.
    user_in(&env, Role::Admin, None).await;
    let res = admin
        .post_form(&format!("/admin/people/{me}/disable"), &[])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = admin
        .post_form(
            &format!("/admin/people/{me}/access"),
            &[("role", "organizer"), ("unit", "hcm")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(role_and_unit(&env, me).await.0, "organizer");
}

#[tokio::test]
async fn a_cross_site_form_post_changes_nobody() {
    let env = TestEnv::new().await;
    let (mut admin, _, _) = signed_in(&env, Role::Admin, None).await;
    let (member, _, _) = user_in(&env, Role::Member, None).await;
    // The session cookie rides along, but a forged form has no CSRF token.
    let res = admin
        .post_raw(
            &format!("/admin/people/{member}/access"),
            &[("role", "admin".to_owned())],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = admin
        .post_raw(
            &format!("/admin/people/{member}/access"),
            &[
                ("_csrf", "forged.token".to_owned()),
                ("role", "admin".to_owned()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(role_and_unit(&env, member).await.0, "member");
}

#[tokio::test]
async fn a_disabled_account_is_signed_out_its_api_token_refused_at_once_and_it_cannot_sign_in() {
    let env = TestEnv::new().await;
    let (mut admin, _, _) = signed_in(&env, Role::Admin, None).await;
    let (mut member, member_id, member_email) = signed_in(&env, Role::Member, None).await;
    let (_, token, _) = {
        let token = hoithi_core::auth::issue_token(&env.db, member_id)
            .await
            .unwrap();
        (member_id, token, ())
    };
    let res = member
        .api("GET", "/api/v1/me/tokens", Some(&token), None)
        .await;
    assert_eq!(res.status, StatusCode::OK);

    let res = admin
        .post_form(&format!("/admin/people/{member_id}/disable"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let res = member
        .api("GET", "/api/v1/me/tokens", Some(&token), None)
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "the token stopped at once"
    );
    let res = member.get("/account").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "the session ended");
    let mut again = Client::new(env.state());
    assert_eq!(
        again.login(&member_email, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let res = again
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"email": member_email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // Nor through a voter's emailed code.
    let mut voter = Client::new(env.state());
    let res = voter
        .api(
            "POST",
            "/api/v1/voters/codes",
            None,
            Some(serde_json::json!({"email": member_email})),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let mail = outbox(&env, &member_email)
        .await
        .into_iter()
        .last()
        .unwrap();
    let code: String = mail
        .2
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned();
    let res = voter
        .api(
            "POST",
            "/api/v1/voters/sessions",
            None,
            Some(serde_json::json!({"email": member_email, "code": code})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert_eq!(res.json()["error"]["code"], "account-disabled");
    let page = admin.get(&format!("/admin/people/{member_id}")).await;
    assert!(
        page.body.contains("Khóa tài khoản"),
        "recorded: {}",
        page.body
    );

    // Enabled again, the member signs in.
    let res = admin
        .post_form(&format!("/admin/people/{member_id}/enable"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        again.login(&member_email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_member_number_is_set_from_the_person_page_and_a_bad_one_is_refused_in_words() {
    let env = TestEnv::new().await;
    let (mut admin, _, _) = signed_in(&env, Role::Admin, None).await;
    let (member, _, _) = user_in(&env, Role::Member, None).await;
    let res = admin
        .post_form(
            &format!("/admin/people/{member}/member-number"),
            &[("member_number", "không hợp lệ!")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    no_code(&res.body, "person-member-number-invalid");
    let res = admin
        .post_form(
            &format!("/admin/people/{member}/member-number"),
            &[("member_number", "DV-0142")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let n: Option<String> =
        sqlx::query_scalar("select member_number from app_user where app_user_id = $1")
            .bind(member)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(n.as_deref(), Some("DV-0142"));
}

// ---------- units ----------

async fn unit_paths(env: &TestEnv) -> Vec<(String, String)> {
    sqlx::query_as("select slug, path from unit order by path")
        .fetch_all(&env.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_renames_and_moves_a_unit_but_never_below_its_own_child() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (mut admin, _, _) = signed_in(&env, Role::Admin, None).await;
    let page = admin.get("/admin/units").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("hoithi admin"),
        "no shell command for web users"
    );

    let res = admin
        .post_form("/admin/units/q1/rename", &[("name", "Quận Đoàn Một")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(
        admin
            .get("/admin/units")
            .await
            .body
            .contains("Quận Đoàn Một")
    );

    let before = unit_paths(&env).await;
    let res = admin
        .post_form("/admin/units/q1/move", &[("parent", "q1-a")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("cấp dưới của nó"), "{}", res.body);
    no_code(&res.body, "unit-cycle");
    let res = admin
        .post_form("/admin/units/q1/move", &[("parent", "q1")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unit_paths(&env).await, before, "nothing moved");

    // Moved with its subtree under another province.
    let res = admin
        .post_form("/admin/units/q1/move", &[("parent", "hn")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let paths = unit_paths(&env).await;
    assert!(
        paths.contains(&("q1-a".to_owned(), "hn/q1/q1-a".to_owned())),
        "{paths:?}"
    );
    assert_eq!(
        admin
            .post_form("/admin/units/nope/move", &[("parent", "hn")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Organizers do not change the tree.
    let (mut org, _, _) = signed_in(&env, Role::Organizer, Some("hn")).await;
    let res = org
        .post_form("/admin/units/q1/rename", &[("name", "X")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_unit_csv_with_bad_lines_names_each_and_imports_nothing_then_a_good_one_imports_after_confirming()
 {
    let env = TestEnv::new().await;
    units(&env).await;
    let (mut admin, _, _) = signed_in(&env, Role::Admin, None).await;
    let csv = "slug,name,parent_slug\nbd,Tỉnh Đoàn Bình Dương,\nBad Slug,Xã A,bd\nxa-b,,bd\nxa-c,Xã C,khong-co\nxa-d,\"Xã D";
    let res = admin
        .post_form("/admin/units/import", &[("csv", csv)])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    for line in [
        "Dòng 3: mã chỉ gồm",
        "Dòng 4: tên đơn vị",
        "Dòng 5: đơn vị cấp trên không có",
        "Dòng 6: dấu ngoặc kép",
    ] {
        assert!(res.body.contains(line), "{line}: {}", res.body);
    }
    assert!(
        !res.body.contains("csv-confirm"),
        "no confirm with bad lines"
    );
    // Even a forged confirmation imports nothing while lines are bad.
    admin
        .post_form("/admin/units/import", &[("csv", csv), ("confirm", "1")])
        .await;
    assert_eq!(unit_paths(&env).await.len(), 4, "nothing imported");

    let csv = "bd,Tỉnh Đoàn Bình Dương,\nxa-a,\"Xã An, Bình Dương\",bd\nxa-a-1,Chi đoàn ấp 1,xa-a";
    let res = admin
        .post_form("/admin/units/import", &[("csv", csv)])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("csv-confirm"));
    assert_eq!(unit_paths(&env).await.len(), 4, "a preview imports nothing");
    let res = admin
        .post_form("/admin/units/import", &[("csv", csv), ("confirm", "1")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let paths = unit_paths(&env).await;
    assert!(
        paths.contains(&("xa-a-1".to_owned(), "bd/xa-a/xa-a-1".to_owned())),
        "{paths:?}"
    );
}

// ---------- the account page ----------

#[tokio::test]
async fn a_wrong_current_password_changes_nothing_and_says_so_in_words() {
    let env = TestEnv::new().await;
    let (mut m, _, email) = signed_in(&env, Role::Member, None).await;
    let res = m
        .post_form(
            "/account/password",
            &[("current", "không-phải"), ("password", "mật-khẩu-mới-dài")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(res.body.contains("Mật khẩu hiện tại không đúng."));
    no_code(&res.body, "wrong-password");
    let mut other = Client::new(env.state());
    assert_eq!(
        other.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_named_api_token_is_made_on_the_account_page_shown_once_and_revoked() {
    let env = TestEnv::new().await;
    let (mut m, _, _) = signed_in(&env, Role::Member, None).await;
    let res = m
        .post_form("/account/tokens", &[("name", "Máy tính ở nhà")])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("Máy tính ở nhà"));
    let at = res.body.find("id=\"new-token\"").expect("the token shown");
    let rest = &res.body[at..];
    let start = rest.find('>').unwrap() + 1;
    let token: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(token.len() >= 40, "{rest}");
    let mut api = Client::new(env.state());
    let list = api
        .api("GET", "/api/v1/me/tokens", Some(&token), None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let id = list.json()["tokens"][0]["id"].as_i64().unwrap();
    // Shown once: the account page lists it by name, never by secret.
    let page = m.get("/account").await;
    assert!(page.body.contains("Máy tính ở nhà"));
    assert!(!page.body.contains(&token));
    let res = m
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let list = api
        .api("GET", "/api/v1/me/tokens", Some(&token), None)
        .await;
    assert_eq!(list.status, StatusCode::UNAUTHORIZED);
}

// ---------- judges ----------

#[tokio::test]
async fn a_signed_out_judge_opening_the_invitation_signs_in_and_lands_back_on_it_then_sees_chấm_thi()
 {
    let env = TestEnv::new().await;
    units(&env).await;
    let (mut org, _, _) = signed_in(&env, Role::Organizer, Some("hcm")).await;
    let (_, slug) = contest_of(&env, "hcm").await;
    let judge_email = "giam-khao@example.vn";
    let res = org
        .post_form(
            &format!("/organize/contests/{slug}/judging/judges"),
            &[("email", judge_email), ("conflict_units", "")],
        )
        .await;
    assert!(
        res.status.is_success() || res.status.is_redirection(),
        "{}",
        res.body
    );
    let mails = outbox(&env, judge_email).await;
    let body = &mails.last().expect("an invitation").2;
    let at = body.find("/judging/").unwrap();
    let path: String = body[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(path.contains("/invite/"), "{path}");
    hoithi_core::account::create_user(
        &env.db,
        hoithi_core::account::NewUser {
            email: hoithi_core::domain::Email::parse(judge_email).unwrap(),
            password: hoithi_core::domain::Password::parse(PASSWORD).unwrap(),
            name: hoithi_core::domain::DisplayName::parse("Giám Khảo").unwrap(),
            role: Role::Member,
            unit_slug: None,
            email_verified: true,
        },
    )
    .await
    .unwrap();

    let mut judge = Client::new(env.state());
    let page = judge.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let next = enc(&path);
    assert!(
        page.body.contains(&format!("/login?next={next}")),
        "{}",
        page.body
    );
    let res = judge
        .post_form(
            "/login",
            &[
                ("email", judge_email),
                ("password", PASSWORD),
                ("next", &path),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), path, "back to the invitation");
    let page = judge.get(&path).await;
    assert!(page.body.contains("accept-invite"), "{}", page.body);
    assert!(!page.body.contains("nav-judging"), "not a judge yet");
    let res = judge.post_form(&path, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let home = judge.get("/").await;
    assert!(home.body.contains("id=\"nav-judging\""), "{}", home.body);
    assert!(home.body.contains("Chấm thi"));
}

#[tokio::test]
async fn a_next_that_leaves_the_site_is_not_followed_after_sign_in() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    for evil in [
        "https://evil.example/phish",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let mut c = Client::new(env.state());
        let page = c.get(&format!("/login?next={}", enc(evil))).await;
        assert!(!page.body.contains("evil.example"), "{evil}: {}", page.body);
        let res = c
            .post_form(
                "/login",
                &[("email", &email), ("password", PASSWORD), ("next", evil)],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(res.location(), "/", "{evil}");
    }
}

// ---------- words ----------

#[tokio::test]
async fn refusals_on_pages_are_sentences_never_codes() {
    let env = TestEnv::new().await;
    units(&env).await;
    let (mut admin, me, _) = signed_in(&env, Role::Admin, None).await;
    let (mut org, _, _) = signed_in(&env, Role::Organizer, Some("q1")).await;
    let (member, _, _) = user_in(&env, Role::Member, Some("q1")).await;
    let mut pages = Vec::new();
    pages.push((
        "last-admin",
        admin
            .post_form(&format!("/admin/people/{me}/access"), &[("role", "member")])
            .await,
    ));
    pages.push((
        "unit-cycle",
        admin
            .post_form("/admin/units/hcm/move", &[("parent", "q1-a")])
            .await,
    ));
    pages.push((
        "unit-in-use",
        admin.post_form("/admin/units/hcm/delete", &[]).await,
    ));
    pages.push((
        "admin-only",
        org.post_form(
            &format!("/admin/people/{member}/access"),
            &[("role", "admin"), ("unit", "q1")],
        )
        .await,
    ));
    pages.push((
        "person-email-invalid",
        org.post_form(
            "/admin/people/invite",
            &[("email", "không phải email"), ("unit", "q1")],
        )
        .await,
    ));
    pages.push((
        "unit-out-of-scope",
        org.post_form(
            "/organize/contests/new",
            &[("slug", "thi-ngoai"), ("title", "Hội thi"), ("unit", "hn")],
        )
        .await,
    ));
    for (code, res) in &pages {
        assert!(
            res.status.is_client_error(),
            "{code}: {} {}",
            res.status,
            res.body
        );
        no_code(&res.body, code);
        assert!(
            res.body.contains("class=\"error\"") || res.body.contains("<main"),
            "{code}"
        );
    }
}

/// A contest of hcm with two approved entries and round 1 set up: the organizer's client,
/// the slug, and the entries' (id, number).
async fn judged_contest(env: &TestEnv) -> (Client, String, Vec<(uuid::Uuid, i32)>) {
    units(env).await;
    let (mut org, _, _) = signed_in(env, Role::Organizer, Some("hcm")).await;
    let (contest_id, slug) = contest_of(env, "hcm").await;
    let mut entries = Vec::new();
    for _ in 0..2 {
        let (author, _, _) = user_in(env, Role::Member, Some("hn")).await;
        let entry = env.draft_entry(contest_id, author).await;
        set_status(env, entry, "approved").await;
        let number: i32 = sqlx::query_scalar("select number from entry where entry_id = $1")
            .bind(entry)
            .fetch_one(&env.db)
            .await
            .unwrap();
        entries.push((entry, number));
    }
    let res = org
        .post_form(
            &format!("/organize/contests/{slug}/judging/setup"),
            &[
                ("round", "1"),
                ("name", "Vòng 1"),
                ("crit_name_0", "Nội dung"),
                ("crit_max_0", "10"),
                ("judges_weight", "100"),
                ("vote_scaling", "top_share"),
                ("judge_basis", "raw"),
                ("tie_0", "earlier"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    (org, slug, entries)
}

async fn assigned_to(env: &TestEnv, email: &str) -> Vec<uuid::Uuid> {
    sqlx::query_scalar(
        "select a.entry_id from judge_assignment a join app_user u on u.app_user_id = a.judge_id
         where u.email = $1 and a.active order by a.entry_id",
    )
    .bind(email)
    .fetch_all(&env.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn inviting_a_judge_assigns_the_chosen_entries_in_the_same_step_now_or_on_acceptance() {
    let env = TestEnv::new().await;
    let (mut org, slug, entries) = judged_contest(&env).await;
    let invite = format!("/organize/contests/{slug}/judging/judges");

    // An address with a confirmed account: every entry, at once.
    let (_, _, known) = user_in(&env, Role::Member, None).await;
    let res = org
        .post_form(
            &invite,
            &[("round", "1"), ("email", &known), ("assign", "all")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("giao bài"), "{}", res.body);
    assert_eq!(assigned_to(&env, &known).await.len(), 2);

    // A new address: the entry picked by its number, once the judge accepts.
    let fresh = "giam-khao-moi@example.vn";
    let number = entries[1].1.to_string();
    let res = org
        .post_form(
            &invite,
            &[
                ("round", "1"),
                ("email", fresh),
                ("assign", "entries"),
                ("entries", &number),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(res.body.contains("khi họ nhận lời"), "{}", res.body);
    // A number that is no entry is refused in words.
    let res = org
        .post_form(
            &invite,
            &[
                ("round", "1"),
                ("email", fresh),
                ("assign", "entries"),
                ("entries", "99999"),
            ],
        )
        .await;
    assert!(res.status.is_client_error(), "{}", res.body);
    no_code(&res.body, "judging-choice-invalid");

    hoithi_core::account::create_user(
        &env.db,
        hoithi_core::account::NewUser {
            email: hoithi_core::domain::Email::parse(fresh).unwrap(),
            password: hoithi_core::domain::Password::parse(PASSWORD).unwrap(),
            name: hoithi_core::domain::DisplayName::parse("Giám Khảo Mới").unwrap(),
            role: Role::Member,
            unit_slug: None,
            email_verified: true,
        },
    )
    .await
    .unwrap();
    let mails = outbox(&env, fresh).await;
    let body = &mails.last().unwrap().2;
    let at = body.find("/judging/").unwrap();
    let path: String = body[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let mut judge = Client::new(env.state());
    assert_eq!(
        judge.login(fresh, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(
        assigned_to(&env, fresh).await.is_empty(),
        "not before accepting"
    );
    let res = judge.post_form(&path, &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(assigned_to(&env, fresh).await, vec![entries[1].0]);
    assert!(judge.get("/").await.body.contains("nav-judging"));
}

#[tokio::test]
async fn a_judge_with_no_account_registers_from_the_invitation_and_the_verification_link_brings_them_back()
 {
    let env = TestEnv::new().await;
    let (mut org, slug, entries) = judged_contest(&env).await;
    let judge_email = "chua-co-tai-khoan@example.vn";
    let res = org
        .post_form(
            &format!("/organize/contests/{slug}/judging/judges"),
            &[("round", "1"), ("email", judge_email), ("assign", "all")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let body = &outbox(&env, judge_email).await.last().unwrap().2.clone();
    let at = body.find("/judging/").unwrap();
    let path: String = body[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();

    let mut judge = Client::new(env.state());
    let page = judge.get(&path).await;
    assert!(page.body.contains("/register"), "{}", page.body);
    let res = judge
        .post_form(
            "/register",
            &[
                ("email", judge_email),
                ("name", "Giám Khảo"),
                ("password", "mật khẩu dài"),
                ("consent", "1"),
                ("unit", "hcm"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mail = outbox(&env, judge_email)
        .await
        .into_iter()
        .find(|m| m.0 == "verify-email")
        .expect("a verification mail");
    let at = mail.2.find("/verify-email/").unwrap();
    let link: String = mail.2[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let res = judge.get(&link).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), path, "back to the invitation");
    let page = judge.get(&path).await;
    assert!(page.body.contains("accept-invite"), "{}", page.body);
    assert_eq!(
        judge.post_form(&path, &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(assigned_to(&env, judge_email).await.len(), entries.len());

    // A planted way back that leaves the site is not followed.
    let (id, _, email) = user_in(&env, Role::Member, None).await;
    sqlx::query("update app_user set email_verified_at = null where app_user_id = $1")
        .bind(id)
        .execute(&env.db)
        .await
        .unwrap();
    let mut other = Client::new(env.state());
    assert_eq!(
        other.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    other.post_form("/verify-email", &[]).await;
    let mail = outbox(&env, &email).await.into_iter().last().unwrap();
    let at = mail.2.find("/verify-email/").unwrap();
    let link: String = mail.2[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    // base64url of "//evil.example"
    other.cookies.insert(
        "hoithi-return-to".to_owned(),
        "Ly9ldmlsLmV4YW1wbGU".to_owned(),
    );
    let res = other.get(&link).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "the plain page: {}",
        res.location()
    );
}

#[tokio::test]
async fn staff_resend_a_verification_mail_to_an_unverified_person_only_and_within_the_mail_limits()
{
    let env = TestEnv::new().await;
    let (mut admin, _, _) = signed_in(&env, Role::Admin, None).await;
    let (person, _, email) = user_in(&env, Role::Member, None).await;
    let res = admin
        .post_form(&format!("/admin/people/{person}/verification"), &[])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "verified already");
    no_code(&res.body, "person-already-verified");
    sqlx::query("update app_user set email_verified_at = null where app_user_id = $1")
        .bind(person)
        .execute(&env.db)
        .await
        .unwrap();
    let res = admin
        .post_form(&format!("/admin/people/{person}/verification"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let mails = outbox(&env, &email).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].2.contains("/verify-email/"));
    let mut limited = false;
    for _ in 0..20 {
        let res = admin
            .post_form(&format!("/admin/people/{person}/verification"), &[])
            .await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            no_code(&res.body, "person-too-much-mail");
            limited = true;
            break;
        }
    }
    assert!(limited, "no flood of mail to one address");
    assert!(outbox(&env, &email).await.len() < 20);
}
