//! What the category and advancement browser tests set up before the server starts: a units
//! tree, verified accounts, and contests with the two usual categories (made as
//! `create-contest` makes them, from TOML).

use chrono::{Duration, Utc};
use hoithi_core::account::{NewUser, create_user};
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use hoithi_core::testing::TestEnv;

/// Imports a units tree given as the admin's CSV (`slug,name,parent`).
pub async fn units(env: &TestEnv, csv: &str) {
    let mut conn = env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &hoithi_web::units::parse_csv(csv).unwrap())
        .await
        .unwrap();
}

/// A verified account of `role` in unit `unit`, signing in with `password`.
pub async fn verified_user(env: &TestEnv, email: &str, password: &str, role: Role, unit: &str) {
    let user = NewUser {
        email: Email::parse(email).unwrap(),
        password: Password::parse(password).unwrap(),
        name: DisplayName::parse("Người Thử").unwrap(),
        role,
        unit_slug: Some(unit.to_owned()),
        email_verified: true,
    };
    create_user(&env.db, user).await.unwrap();
}

/// A photo and video contest of `unit`, open for entries, with the categories "Ảnh đẹp quê
/// hương" (`anh-dep`, photos) and "Video clip tuyên truyền" (`video-clip`, videos).
pub async fn two_category_contest(env: &TestEnv, slug: &str, title: &str, unit: &str) {
    let now = Utc::now();
    let spec = hoithi_web::contests::spec::ContestSpec::from_toml(&format!(
        "slug = \"{slug}\"\ntitle = \"{title}\"\nunit = \"{unit}\"\nkinds = [\"photo\", \"video\"]\n\
         [phases.submission]\nopens_at = \"{}\"\ncloses_at = \"{}\"\n\
         [[categories]]\nslug = \"anh-dep\"\nname = \"Ảnh đẹp quê hương\"\nkinds = [\"photo\"]\n\
         [[categories]]\nslug = \"video-clip\"\nname = \"Video clip tuyên truyền\"\nkinds = [\"video\"]\n",
        (now - Duration::days(1)).to_rfc3339(),
        (now + Duration::days(2)).to_rfc3339(),
    ))
    .unwrap();
    hoithi_web::contests::create(&env.db, None, &spec)
        .await
        .unwrap()
        .unwrap();
}
