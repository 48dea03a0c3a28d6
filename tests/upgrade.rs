#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! An upgrade, end to end, the way docs/operations.md ("Upgrading one server") tells an
//! operator to do it: a data folder populated under the previous release's schema is backed
//! up, migrated by this build and served again, and every row and object it held is still
//! there; the site then reports this build's version. The ways back are tested too: a data
//! folder a newer build has migrated is refused with what to do (never half-migrated), and
//! the backup made before the upgrade restores the site, which then upgrades again.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Server, hoithi, metrics_url, run};
use hoithi_core::embedded::postgres::EmbeddedPostgres;
use hoithi_core::embedded::s3::EmbeddedS3;
use hoithi_core::storage::Storage;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// The previous release's schema: every migration up to this version. Move it forward at
/// each release to the last migration the release before shipped, so each upgrade path a
/// site can take is the one tested.
const PREVIOUS_RELEASE_LAST_MIGRATION: i64 = 20261130000110;

/// Columns a migration may legitimately restamp when it backfills a new column (the
/// `set_updated_at` trigger); every other column of every old row must come through as it was.
const RESTAMPED: &[&str] = &["updated_at"];

/// A site under the previous schema: a unit, an administrator, an organizer, a judge who
/// was invited and two members, a contest in its voting phase, two approved photo entries
/// with their media and a finished upload, votes with their tallies, mail sent.
const FIXTURE: &str = r#"
insert into unit (slug, name, path) values ('hcm', 'Thành đoàn TP. Hồ Chí Minh', 'hcm');
insert into app_user (email, display_name, password_hash, role, unit_id, email_verified_at, member_number)
select e, n, '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', r::user_role,
       (select unit_id from unit where slug = 'hcm'), now() - interval '30 days', m
from (values ('quantri@hoithi.vn', 'Quản trị viên', 'admin', null),
             ('tochuc@hoithi.vn', 'Ban Tổ chức', 'organizer', null),
             ('giamkhao@hoithi.vn', 'Lê Giám Khảo', 'judge', null),
             ('an@hoithi.vn', 'Nguyễn Văn An', 'member', 'DV-0001'),
             ('binh@hoithi.vn', 'Trần Thị Bình', 'member', 'DV-0002')) as u(e, n, r, m);
insert into contest (slug, title, description, unit_id, kinds, submission_opens_at,
                     submission_closes_at, voting_opens_at, voting_closes_at, settings, created_by)
values ('anh-dep-tuoi-tre', 'Ảnh đẹp tuổi trẻ 2026', 'Cuộc thi ảnh của Thành đoàn',
        (select unit_id from unit where slug = 'hcm'), '{photo}',
        now() - interval '20 days', now() - interval '5 days',
        now() - interval '4 days', now() + interval '10 days',
        '{"voting": {"per_day": 1, "hide_totals": false}}',
        (select app_user_id from app_user where email = 'tochuc@hoithi.vn'));
insert into contest_judge (contest_id, email, invited_by)
values ((select contest_id from contest), 'giamkhao@hoithi.vn',
        (select app_user_id from app_user where email = 'tochuc@hoithi.vn'));
insert into entry (entry_id, contest_id, author_id, title, description, status, submitted_at, created_at)
values ('0193a000-0000-7000-8000-000000000001', (select contest_id from contest),
        (select app_user_id from app_user where email = 'an@hoithi.vn'),
        'Bình minh trên sông Sài Gòn', 'Chụp lúc 5 giờ sáng', 'approved',
        now() - interval '10 days', now() - interval '11 days'),
       ('0193a000-0000-7000-8000-000000000002', (select contest_id from contest),
        (select app_user_id from app_user where email = 'binh@hoithi.vn'),
        'Mùa hè xanh', '', 'approved', now() - interval '9 days', now() - interval '10 days');
insert into media_asset (media_asset_id, entry_id, kind, status, progress, original_key,
                         original_bytes, original_sha256, original_filename, content_type,
                         width, height, renditions)
values ('0193a000-0000-7000-8000-0000000000a1', '0193a000-0000-7000-8000-000000000001', 'photo',
        'ready', 100, 'originals/0193a000-0000-7000-8000-0000000000a1', 0, repeat('0', 64),
        'binh-minh.jpg', 'image/jpeg', 4000, 3000,
        '{"photo": [{"name": "w640.webp", "key": "media/0193a000-0000-7000-8000-0000000000a1/w640.webp"}]}'),
       ('0193a000-0000-7000-8000-0000000000a2', '0193a000-0000-7000-8000-000000000002', 'photo',
        'ready', 100, 'originals/0193a000-0000-7000-8000-0000000000a2', 0, repeat('0', 64),
        'mua-he.jpg', 'image/jpeg', 3000, 2000, '{}');
insert into upload (upload_id, owner_id, entry_id, media_asset_id, object_key, status,
                    upload_length, upload_offset, kind, content_type, filename, sha256, expires_at)
values ('0193a000-0000-7000-8000-0000000000b1',
        (select app_user_id from app_user where email = 'an@hoithi.vn'),
        '0193a000-0000-7000-8000-000000000001', '0193a000-0000-7000-8000-0000000000a1',
        'originals/0193a000-0000-7000-8000-0000000000a1', 'completed', 0, 0, 'photo',
        'image/jpeg', 'binh-minh.jpg', repeat('0', 64), now() - interval '9 days');
insert into vote (contest_id, entry_id, voter_id, vote_day, slot, ip, ip_network, contest_slot)
select (select contest_id from contest), e::uuid, (select app_user_id from app_user where email = v),
       d::date, 1, '203.0.113.7', '203.0.113.0/24', 1
from (values ('0193a000-0000-7000-8000-000000000001', 'binh@hoithi.vn', current_date - 1),
             ('0193a000-0000-7000-8000-000000000001', 'giamkhao@hoithi.vn', current_date - 1),
             ('0193a000-0000-7000-8000-000000000002', 'an@hoithi.vn', current_date - 2)) as x(e, v, d);
insert into vote_tally_shard (entry_id, contest_id, votes, shard)
select entry_id, contest_id, count(*), 0 from vote group by entry_id, contest_id;
insert into outbox (to_email, subject, body, kind, sent_at, status)
values ('an@hoithi.vn', 'Bài dự thi đã được duyệt', 'Chúc mừng!', 'entry-approved', now(), 'sent');
"#;

/// The objects of the fixture's media; the rows get their sizes and sha256 from these bytes.
const OBJECTS: &[(&str, &[u8])] = &[
    (
        "originals/0193a000-0000-7000-8000-0000000000a1",
        b"\xff\xd8\xff\xe0 the original photo of the first entry",
    ),
    (
        "media/0193a000-0000-7000-8000-0000000000a1/w640.webp",
        b"RIFF....WEBP a rendition",
    ),
    (
        "originals/0193a000-0000-7000-8000-0000000000a2",
        b"\xff\xd8\xff\xe0 the original photo of the second entry, a little longer",
    ),
];

type Snapshot = BTreeMap<String, Vec<Value>>;

/// Every row of every table (not sqlx's bookkeeping), as JSON objects.
async fn snapshot(db: &PgPool) -> Snapshot {
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables
         where table_schema = 'public' and table_type = 'BASE TABLE'
           and table_name <> '_sqlx_migrations' order by 1",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let mut out = Snapshot::new();
    for table in tables {
        let rows: Vec<Value> = sqlx::query_scalar(&format!("select to_jsonb(t) from {table} t"))
            .fetch_all(db)
            .await
            .unwrap();
        out.insert(table, rows);
    }
    out
}

/// Every row of `before` is in `after` with the same values in the columns it had (new
/// columns may be added, rows may be added); returns what is missing, table by table.
fn missing_rows(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut missing = Vec::new();
    for (table, rows) in before {
        let Some(now) = after.get(table) else {
            if !rows.is_empty() {
                missing.push(format!("table {table} ({} rows) is gone", rows.len()));
            }
            continue;
        };
        let project = |row: &Value, columns: &BTreeSet<String>| -> String {
            let object = row.as_object().unwrap();
            let kept: serde_json::Map<_, _> = columns
                .iter()
                .map(|c| (c.clone(), object.get(c).cloned().unwrap_or(Value::Null)))
                .collect();
            Value::Object(kept).to_string()
        };
        let Some(first) = rows.first() else { continue };
        let columns: BTreeSet<String> = first
            .as_object()
            .unwrap()
            .keys()
            .filter(|c| !RESTAMPED.contains(&c.as_str()))
            .cloned()
            .collect();
        let mut have: Vec<String> = now.iter().map(|r| project(r, &columns)).collect();
        for row in rows {
            let want = project(row, &columns);
            match have.iter().position(|h| *h == want) {
                Some(i) => {
                    have.swap_remove(i);
                }
                None => missing.push(format!("{table}: {want}")),
            }
        }
    }
    missing
}

/// Starts the data folder's private PostgreSQL, or attaches to the one a running hoithi
/// started, and opens its `hoithi` database.
async fn database(data: &Path) -> (EmbeddedPostgres, PgPool) {
    let dir = data.join("pg");
    let pg = tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, None).unwrap())
        .await
        .unwrap();
    hoithi_core::db::ensure_database(&pg.url("postgres"), "hoithi")
        .await
        .unwrap();
    let pool = hoithi_core::db::connect(&pg.url("hoithi"), 2)
        .await
        .unwrap();
    (pg, pool)
}

async fn close(pg: EmbeddedPostgres, pool: PgPool) {
    pool.close().await;
    tokio::task::spawn_blocking(move || pg.stop())
        .await
        .unwrap();
}

async fn object_store(data: &Path) -> (EmbeddedS3, Storage) {
    let s3 = EmbeddedS3::start(
        &data.join("objects"),
        &data.join("s3-credentials.json"),
        "hoithi",
        "127.0.0.1:0".parse().unwrap(),
        0,
    )
    .await
    .unwrap();
    let storage = Storage::new(&s3.settings);
    storage.ensure_bucket(&s3.settings.endpoint).await.unwrap();
    (s3, storage)
}

/// The migrations of the previous release, copied into a folder of their own.
fn previous_migrations(into: &Path) -> usize {
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut n = 0;
    for file in std::fs::read_dir(all).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version <= PREVIOUS_RELEASE_LAST_MIGRATION {
            std::fs::copy(&path, into.join(&name)).unwrap();
            n += 1;
        }
    }
    n
}

/// A data folder as the previous release left it: its schema, the fixture, the objects.
/// Returns the rows and the objects' sha256 by key.
async fn populate_previous_release(data: &Path) -> (Snapshot, BTreeMap<String, String>) {
    let old = tempfile::tempdir().unwrap();
    let n = previous_migrations(old.path());
    assert!(
        n < hoithi_core::db::MIGRATOR.iter().count(),
        "this build has no migration after the previous release's: nothing to upgrade"
    );
    let (pg, db) = database(data).await;
    let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
    migrator.run(&db).await.unwrap();
    sqlx::raw_sql(FIXTURE).execute(&db).await.unwrap();

    let (s3, storage) = object_store(data).await;
    let mut sums = BTreeMap::new();
    for (key, bytes) in OBJECTS {
        storage
            .client
            .put_object()
            .bucket(&storage.bucket)
            .key(*key)
            .body(bytes.to_vec().into())
            .send()
            .await
            .unwrap();
        let sum = hex(&Sha256::digest(bytes));
        sqlx::query(
            "update media_asset set original_bytes = $2, original_sha256 = $3
             where original_key = $1",
        )
        .bind(key)
        .bind(bytes.len() as i64)
        .bind(&sum)
        .execute(&db)
        .await
        .unwrap();
        sums.insert((*key).to_owned(), sum);
    }
    s3.stop();
    let rows = snapshot(&db).await;
    close(pg, db).await;
    (rows, sums)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The objects of a backup folder by key, with their sha256.
fn objects_of_backup(dir: &Path) -> BTreeMap<String, String> {
    let root = dir.join("objects");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let key = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                out.insert(key, hex(&Sha256::digest(std::fs::read(&path).unwrap())));
            }
        }
    }
    out
}

fn hoithi_ok(data: &Path, args: &[&str]) -> String {
    let mut cmd = hoithi(data);
    cmd.args(args);
    let (status, out, err, _) = run(cmd, Duration::from_secs(180));
    assert!(status.success(), "hoithi {args:?} failed: {out}{err}");
    out
}

fn version_of_binary() -> String {
    let out = Command::new(common::BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim()
        .strip_prefix("hoithi ")
        .unwrap_or_else(|| panic!("--version printed {text:?}"))
        .to_owned()
}

async fn readyz_version(url: &str) -> String {
    let res = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    body["version"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_populated_data_folder_of_the_previous_release_upgrades_and_can_go_back() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let backups: PathBuf = root.path().join("backups");
    let (before, objects) = populate_previous_release(&data).await;
    assert_eq!(before["vote"].len(), 3, "the fixture is in place");

    // The version this build reports: the workspace version, and git's word when built
    // from a checkout.
    let version = version_of_binary();
    assert!(
        version.starts_with(env!("CARGO_PKG_VERSION")),
        "{version} names the workspace version"
    );

    // docs/operations.md, "Upgrading one server", step by step.
    // 1. A backup, taken before anything changes (backup never migrates: it copies the
    //    previous release's schema as it is).
    let before_upgrade = backups.join("before-upgrade");
    let said = hoithi_ok(
        &data,
        &["backup", "--out", before_upgrade.to_str().unwrap()],
    );
    assert!(said.contains("3 objects"), "{said}");
    assert_eq!(objects_of_backup(&before_upgrade), objects);
    // 2. The service is stopped (it is: nothing runs on the folder).
    // 3. The new binary reports its version.
    assert!(!version.is_empty());
    // 4. `hoithi migrate` applies what the previous release did not have.
    hoithi_ok(&data, &["migrate"]);
    // 5. Start it again: /readyz answers with the new version, on both listeners.
    let mut server = Server::start(hoithi(&data)).await;
    assert_eq!(readyz_version(&server.url).await, version);
    let operators = metrics_url(&mut server);
    assert_eq!(
        readyz_version(operators.trim_end_matches("/metrics")).await,
        version
    );
    let metrics = reqwest::get(&operators)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("hoithi_build_info{{version=\"{version}\"}} 1")),
        "{metrics}"
    );

    // Every row of the previous release is still there, with the same values.
    let (pg, db) = database(&data).await;
    let after = snapshot(&db).await;
    let missing = missing_rows(&before, &after);
    assert!(
        missing.is_empty(),
        "rows lost or changed by the upgrade: {missing:#?}"
    );
    // The backfills of the new migrations ran on the old rows: entries got their numbers
    // and the judge who had an account is linked to the invitation.
    let numbers: Vec<i32> = sqlx::query_scalar("select number from entry order by created_at")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(numbers, [1, 2]);
    let judge_linked: bool =
        sqlx::query_scalar("select app_user_id is not null from contest_judge")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(judge_linked);
    // The site serves the old data: the contest page, and the tallies recount.
    let page = reqwest::get(format!("{}/contests/anh-dep-tuoi-tre", server.url))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Ảnh đẹp tuổi trẻ 2026"));
    hoithi_ok(&data, &["admin", "check-tallies"]);

    // A build newer than this one migrates the folder further (one more applied migration)…
    sqlx::query(
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
         values (20991231000000, 'from a newer release', true, '\\x00', 1)",
    )
    .execute(&db)
    .await
    .unwrap();
    close(pg, db).await;
    assert!(server.stop().success());

    // … and this build refuses it, saying what to do, before touching anything.
    for args in [&["migrate"][..], &["serve"][..]] {
        let mut cmd = hoithi(&data);
        cmd.args(args);
        let (status, out, err, _) = run(cmd, Duration::from_secs(120));
        assert!(
            !status.success(),
            "{args:?} started on a newer schema: {out}{err}"
        );
        assert!(
            err.contains(
                "this data folder was written by a newer Hội Thi (migration 20991231000000); \
                 install that version or restore a backup"
            ),
            "{args:?}: {err}"
        );
    }

    // The objects all came through the upgrade (read back through a backup of the upgraded
    // folder; backups work whatever version wrote the folder).
    let after_upgrade = backups.join("after-upgrade");
    hoithi_ok(&data, &["backup", "--out", after_upgrade.to_str().unwrap()]);
    assert_eq!(objects_of_backup(&after_upgrade), objects);

    // Going back: the backup made before the upgrade restores the previous release's site
    // exactly (its schema too: nothing the newer migrations added stays behind) …
    hoithi_ok(
        &data,
        &["restore", "--from", before_upgrade.to_str().unwrap()],
    );
    let (pg, db) = database(&data).await;
    let restored = snapshot(&db).await;
    assert_eq!(
        restored.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "the restored database has the previous release's tables, no more"
    );
    assert!(missing_rows(&before, &restored).is_empty());
    assert!(missing_rows(&restored, &before).is_empty());
    let applied: i64 = sqlx::query_scalar("select max(version) from _sqlx_migrations")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(applied, PREVIOUS_RELEASE_LAST_MIGRATION);
    close(pg, db).await;

    // … and the upgrade can then be done again.
    let server = Server::start(hoithi(&data)).await;
    assert_eq!(readyz_version(&server.url).await, version);
    let (pg, db) = database(&data).await;
    let again = snapshot(&db).await;
    assert!(missing_rows(&before, &again).is_empty());
    close(pg, db).await;
    assert!(server.stop().success());
}

/// The comparison the upgrade test relies on finds a lost column value and a lost row, so
/// a migration that drops or rewrites populated data fails the test above.
#[test]
fn the_row_comparison_sees_a_dropped_value_and_a_lost_row() {
    let before: Snapshot = [(
        "entry".to_owned(),
        vec![
            serde_json::json!({"entry_id": "a", "title": "Mùa hè", "updated_at": "1"}),
            serde_json::json!({"entry_id": "b", "title": "Bình minh", "updated_at": "1"}),
        ],
    )]
    .into();
    let same_plus_column: Snapshot = [(
        "entry".to_owned(),
        vec![
            serde_json::json!({"entry_id": "b", "title": "Bình minh", "number": 2, "updated_at": "2"}),
            serde_json::json!({"entry_id": "a", "title": "Mùa hè", "number": 1, "updated_at": "2"}),
        ],
    )]
    .into();
    assert!(missing_rows(&before, &same_plus_column).is_empty());
    let dropped_title: Snapshot = [(
        "entry".to_owned(),
        vec![
            serde_json::json!({"entry_id": "a"}),
            serde_json::json!({"entry_id": "b"}),
        ],
    )]
    .into();
    assert_eq!(missing_rows(&before, &dropped_title).len(), 2);
    let lost_row: Snapshot = [(
        "entry".to_owned(),
        vec![serde_json::json!({"entry_id": "a", "title": "Mùa hè", "updated_at": "1"})],
    )]
    .into();
    assert_eq!(missing_rows(&before, &lost_row).len(), 1);
    assert_eq!(missing_rows(&before, &Snapshot::new()).len(), 1);
}

/// A restore that cannot finish (here a backup whose dump was cut short, as by a full disk
/// or an interrupted copy) changes nothing: the site keeps the database it had.
#[tokio::test]
async fn a_restore_from_a_cut_backup_leaves_the_database_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let (before, _) = populate_previous_release(&data).await;
    let backup = root.path().join("backup");
    hoithi_ok(&data, &["backup", "--out", backup.to_str().unwrap()]);
    let dump = backup.join("database.dump");
    let whole = std::fs::read(&dump).unwrap();
    let (pg, db) = database(&data).await;
    let migrations = applied_migrations(&db).await;
    close(pg, db).await;
    // Cut at several places: in the table of contents, in the data, near the end.
    for percent in [30, 60, 80, 95] {
        std::fs::write(&dump, &whole[..whole.len() * percent / 100]).unwrap();
        let mut cmd = hoithi(&data);
        cmd.args(["restore", "--from", backup.to_str().unwrap()]);
        let (status, out, err, _) = run(cmd, Duration::from_secs(120));
        assert!(
            !status.success(),
            "a dump cut at {percent} % was restored: {out}{err}"
        );
        assert!(err.contains("the database was left as it was"), "{err}");

        let (pg, db) = database(&data).await;
        let now = snapshot(&db).await;
        let lost = missing_rows(&before, &now);
        assert!(lost.is_empty(), "cut at {percent} %: rows lost: {lost:#?}");
        assert!(
            missing_rows(&now, &before).is_empty(),
            "rows added by a failed restore"
        );
        assert_eq!(applied_migrations(&db).await, migrations);
        close(pg, db).await;
    }
}

async fn applied_migrations(db: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("select version from _sqlx_migrations order by version")
        .fetch_all(db)
        .await
        .unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The release script is not run here (a release build takes too long for CI); what is
/// cheap is checked: it parses, explains itself, refuses what it does not know, and the
/// image it builds carries the same version.
#[test]
fn the_release_script_parses_explains_itself_and_the_image_carries_the_version() {
    let script = repo().join("infra/release.sh");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{syntax:?}");
    let help = Command::new(&script).arg("--help").output().unwrap();
    assert!(help.status.success(), "{help:?}");
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(
        text.contains("--image") && text.contains("\"Releases\""),
        "{text}"
    );
    assert!(
        !text.contains("set -euo"),
        "the help is the comment only: {text}"
    );
    let wrong = Command::new(&script).arg("--publish").output().unwrap();
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");

    let dockerfile = std::fs::read_to_string(repo().join("infra/Dockerfile")).unwrap();
    for needed in [
        "ARG HOITHI_GIT_DESCRIBE",
        "org.opencontainers.image.version=\"$HOITHI_VERSION\"",
    ] {
        assert!(dockerfile.contains(needed), "the Dockerfile lacks {needed}");
    }
    let operations = std::fs::read_to_string(repo().join("docs/operations.md")).unwrap();
    assert!(
        operations.contains("## Releases"),
        "docs/operations.md explains releases"
    );
}

/// What the release script allows the binary to link (docs/operations.md, "Releases") is
/// what this build links: a new dynamic dependency shows up here, not on release day; and
/// the check refuses a binary that links PostgreSQL's client library.
#[test]
fn this_build_links_only_what_a_release_allows() {
    let script = repo().join("infra/release.sh");
    let ours = Command::new(&script)
        .args(["--check-links", common::BIN])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&ours.stdout);
    assert!(
        ours.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert!(
        said.contains("libavcodec") && said.contains("libc.so.6"),
        "{said}"
    );
    assert!(
        !said.contains("libpq") && !said.contains("libssl"),
        "{said}"
    );

    let psql = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap()
        .map(|d| d.unwrap().path().join("bin/psql"))
        .find(|p| p.is_file())
        .expect("PostgreSQL's client tools are installed for the tests");
    let other = Command::new(&script)
        .arg("--check-links")
        .arg(&psql)
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(1), "{other:?}");
    let said = String::from_utf8_lossy(&other.stdout);
    assert!(
        said.contains("libpq.so.5   <- not in the allowed list"),
        "{said}"
    );
}
