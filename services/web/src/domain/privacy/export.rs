//! "Tải dữ liệu của tôi": a person's data as a ZIP of JSON and CSV files. Every table row
//! that points at the person (each key column of `registry::COLUMNS`) is in
//! `tables/<table>.<column>.json`, secrets left out; the entries come again as
//! `entries.json` (with links to their files, never the bytes) and `entries.csv`, the votes
//! as `votes.csv`. The archive is written to a temporary file, not held in memory.

use std::io::{Seek, Write};

use anyhow::Context;
use serde_json::{Value, json};
use sqlx::PgPool;
use zip::write::SimpleFileOptions;

use super::registry::{COLUMNS, Key, SECRET_COLUMNS};
use crate::domain::entries::media;

/// The person's rows through one key column, secrets left out.
async fn rows_by(
    db: &PgPool,
    table: &str,
    column: &str,
    key: Key,
    user_id: i64,
    email: &str,
    member_number: Option<&str>,
) -> sqlx::Result<Value> {
    // Table and column names come from the compiled-in map, never from a request.
    let condition = match key {
        Key::User => format!("t.{column} = $1"),
        Key::Email => format!("lower(t.{column}::text) = any(array[lower($2), lower($3)])"),
        Key::None => return Ok(json!([])),
    };
    sqlx::query_scalar(&format!(
        "select coalesce(jsonb_agg(to_jsonb(t) - $4::text[]), '[]'::jsonb) from {table} t where {condition}"
    ))
    .bind(user_id)
    .bind(email)
    .bind(member_number)
    .bind(SECRET_COLUMNS)
    .fetch_one(db)
    .await
}

/// The person's entries with their files as links on `origin`.
async fn entries(db: &PgPool, user_id: i64, origin: &str) -> sqlx::Result<Vec<Value>> {
    let rows: Vec<(uuid::Uuid, String, String, String, String, String)> = sqlx::query_as(
        "select e.entry_id, c.title, e.title, e.description, e.status::text,
                to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         from entry e join contest c using (contest_id) where e.author_id = $1 order by e.created_at",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    let mut out = Vec::new();
    for (id, contest, title, description, status, created) in rows {
        let files: Vec<Value> = media::for_entry(db, id)
            .await?
            .into_iter()
            .map(|m| {
                let abs = |u: &Option<String>| u.as_ref().map(|u| format!("{origin}{u}"));
                json!({
                    "id": m.id,
                    "kind": m.kind,
                    "status": m.status,
                    "poster": abs(&m.poster_url),
                    "hls": abs(&m.hls_url),
                    "mp4": abs(&m.mp4_url),
                    "images": m.images.iter().map(|i| format!("{origin}{}", i.url)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let team: Option<String> =
            sqlx::query_scalar("select team_name from entry where entry_id = $1")
                .bind(id)
                .fetch_one(db)
                .await?;
        let members = crate::domain::entries::team::members(db, id).await?;
        out.push(json!({
            "team": team.map(|name| json!({"name": name, "members": members})),
            "entry_id": id,
            "contest": contest,
            "title": title,
            "description": description,
            "status": status,
            "created_at": created,
            "page": format!("{origin}/entries/{id}"),
            "files": files,
        }));
    }
    Ok(out)
}

/// One CSV field, quoted, with a leading formula character defused.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

const README: &str = "Dữ liệu của bạn trên Hội Thi\n\n\
profile.json: tài khoản của bạn.\n\
entries.json, entries.csv: bài dự thi, kèm đường link tới tệp ảnh/video.\n\
votes.csv: các phiếu bình chọn bạn đã bỏ.\n\
tables/<bảng>.<cột>.json: mọi dòng dữ liệu liên quan tới bạn, theo từng bảng \
(sự đồng ý, thư đã gửi cho bạn, phiên đăng nhập, ...). Mật khẩu và mã bí mật không bao giờ \
được xuất ra.\n";

/// Writes the ZIP of `user_id`'s data into `out`; links are built on `origin`.
pub async fn write_zip<W: Write + Seek>(
    db: &PgPool,
    user_id: i64,
    origin: &str,
    out: W,
) -> anyhow::Result<W> {
    let (email, member_number): (String, Option<String>) =
        sqlx::query_as("select email::text, member_number from app_user where app_user_id = $1")
            .bind(user_id)
            .fetch_one(db)
            .await?;
    let mut files: Vec<(String, String)> = Vec::new();
    for c in COLUMNS.iter().filter(|c| c.key != Key::None) {
        let rows = rows_by(
            db,
            c.table,
            c.column,
            c.key,
            user_id,
            &email,
            member_number.as_deref(),
        )
        .await?;
        if c.table == "app_user" {
            let profile = rows.get(0).cloned().unwrap_or(Value::Null);
            files.push((
                "profile.json".into(),
                serde_json::to_string_pretty(&profile)?,
            ));
        }
        files.push((
            format!("tables/{}.{}.json", c.table, c.column),
            serde_json::to_string_pretty(&rows)?,
        ));
    }
    let entries = entries(db, user_id, origin).await?;
    files.push((
        "entries.json".into(),
        serde_json::to_string_pretty(&entries)?,
    ));
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    files.push((
        "entries.csv".into(),
        csv(
            &[
                "entry_id",
                "contest",
                "title",
                "status",
                "created_at",
                "page",
            ],
            entries.iter().map(|e| {
                [
                    "entry_id",
                    "contest",
                    "title",
                    "status",
                    "created_at",
                    "page",
                ]
                .iter()
                .map(|k| text(e, k))
                .collect()
            }),
        ),
    ));
    let votes: Vec<(String, String, String, bool, String)> = sqlx::query_as(
        "select c.title, coalesce(e.title, ''), v.vote_day::text, v.valid,
                to_char(v.created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
         from vote v join contest c on c.contest_id = v.contest_id
         left join entry e on e.entry_id = v.entry_id
         where v.voter_id = $1 order by v.created_at",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    files.push((
        "votes.csv".into(),
        csv(
            &["contest", "entry", "day", "valid", "created_at"],
            votes
                .into_iter()
                .map(|(c, e, d, v, at)| vec![c, e, d, v.to_string(), at]),
        ),
    ));
    files.push(("README.txt".into(), README.into()));
    let mut zip = zip::ZipWriter::new(out);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in files {
        zip.start_file(name.as_str(), options)
            .with_context(|| format!("zip {name}"))?;
        zip.write_all(body.as_bytes())?;
    }
    Ok(zip.finish()?)
}

#[cfg(test)]
mod tests {
    use super::csv;

    #[test]
    fn csv_quotes_every_field_and_defuses_formulas() {
        let out = csv(
            &["a", "b"],
            [vec!["=1+1".into(), "x\"y".into()]].into_iter(),
        );
        assert_eq!(out, "\u{feff}a,b\r\n\"'=1+1\",\"x\"\"y\"\r\n");
    }
}
