//! How an entry's media assets are described (API and pages). Renditions are
//! read tolerantly from the worker's `renditions` JSON: `poster`, `hls`, `mp4` (keys or
//! names under `media/{asset}/`) and `images: [{width, key}]`.
//!
//! Every URL names the asset's version (`/media/{asset}/v/{version}/{name}`, the version
//! from the asset row's `updated_at`): a changed rendition gets a new URL, so the bytes
//! under one URL never change and public renditions are served `immutable`, for a reverse
//! proxy or CDN to keep (`docs/operations.md`).

use serde::Serialize;
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssetRow {
    pub media_asset_id: Uuid,
    pub kind: String,
    pub status: String,
    pub progress: i16,
    pub error: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_s: Option<f64>,
    pub renditions: Value,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// The version of an asset in its URLs: changes whenever its row (and so its renditions) does.
pub fn version_of(updated_at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{:x}", updated_at.timestamp_micros())
}

/// Splits a file path asked under `/media/{asset}/` into its version (when the URL names
/// one) and the rendition's name.
pub fn split_version(file: &str) -> (Option<&str>, &str) {
    match file
        .strip_prefix("v/")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((version, name)) if !version.is_empty() => (Some(version), name),
        _ => (None, file),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Image {
    pub width: i64,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaView {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub progress: i16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    pub poster_url: Option<String>,
    pub hls_url: Option<String>,
    pub mp4_url: Option<String>,
    pub images: Vec<Image>,
    /// The poster's sizes (videos): cards take the smallest that fills them.
    #[serde(skip)]
    pub posters: Vec<Image>,
}

impl MediaView {
    pub fn is_video(&self) -> bool {
        self.kind == "video"
    }

    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }

    /// `url 400w, url 800w, …` for `srcset`.
    pub fn srcset(&self) -> String {
        srcset_of(&self.images)
    }

    /// The sizes a card picks from: a photo's images, else a video's poster sizes.
    fn tiles(&self) -> &[Image] {
        if self.images.is_empty() {
            &self.posters
        } else {
            &self.images
        }
    }

    /// `srcset` of a card's picture (photo sizes, or the poster's for a video).
    pub fn tile_srcset(&self) -> String {
        srcset_of(self.tiles())
    }

    /// A small picture for cards: the smallest image (or poster size) of at least 400 px,
    /// else the widest there is, else the poster.
    pub fn thumb(&self) -> Option<&str> {
        let tiles = self.tiles();
        tiles
            .iter()
            .filter(|i| i.width >= 400)
            .min_by_key(|i| i.width)
            .or_else(|| tiles.iter().max_by_key(|i| i.width))
            .map(|i| i.url.as_str())
            .or(self.poster_url.as_deref())
    }

    pub fn largest(&self) -> Option<&str> {
        self.images
            .iter()
            .max_by_key(|i| i.width)
            .map(|i| i.url.as_str())
            .or(self.poster_url.as_deref())
    }
}

fn srcset_of(images: &[Image]) -> String {
    images
        .iter()
        .map(|i| format!("{} {}w", i.url, i.width))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sizes listed under `names` (`[{width, key|jpeg|…}]`), narrowest first.
fn sizes(asset: Uuid, version: &str, r: &Value, names: &[&str]) -> Vec<Image> {
    let mut images: Vec<Image> = names
        .iter()
        .find_map(|n| r.get(*n).and_then(Value::as_array))
        .map(|list| {
            list.iter()
                .filter_map(|i| {
                    Some(Image {
                        width: i.get("width").and_then(Value::as_i64)?,
                        url: url_of(asset, version, i)?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    images.sort_by_key(|i| i.width);
    images
}

/// The `/media/…` URL of a rendition described by `v`: a key or a name under the asset's
/// prefix, an object holding one (`key`, `path`, or `jpeg` — the format every browser
/// shows), or a list of sizes (the widest is taken). This is the worker's shape: paths become
/// `{"key", "url"}` objects, images and posters are `[{width, jpeg, webp}]`.
fn url_of(asset: Uuid, version: &str, v: &Value) -> Option<String> {
    if let Some(key) = v.as_str() {
        let prefix = hoithi_core::media::renditions_prefix(asset);
        let name = key.strip_prefix(&prefix).unwrap_or(key);
        if name.is_empty() || name.contains("..") || name.starts_with('/') {
            return None;
        }
        return Some(format!("/media/{asset}/v/{version}/{name}"));
    }
    if let Some(list) = v.as_array() {
        let widest = list
            .iter()
            .max_by_key(|i| i.get("width").and_then(Value::as_i64).unwrap_or(0))?;
        return url_of(asset, version, widest);
    }
    ["key", "path", "jpeg"]
        .iter()
        .find_map(|field| v.get(*field).and_then(|x| url_of(asset, version, x)))
}

pub fn view(a: &AssetRow) -> MediaView {
    let r = &a.renditions;
    let version = version_of(a.updated_at);
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| r.get(*n))
            .and_then(|v| url_of(a.media_asset_id, &version, v))
    };
    let images = sizes(
        a.media_asset_id,
        &version,
        r,
        &["images", "photos", "sizes", "thumbnails"],
    );
    let posters = sizes(a.media_asset_id, &version, r, &["poster"]);
    MediaView {
        id: a.media_asset_id,
        kind: a.kind.clone(),
        status: a.status.clone(),
        progress: a.progress,
        error: a.error.clone(),
        width: a.width,
        height: a.height,
        duration_s: a.duration_s,
        poster_url: get(&["poster", "poster_key"]),
        hls_url: get(&["hls", "hls_master", "master", "playlist"]),
        mp4_url: get(&["mp4", "mp4_key"]),
        images,
        posters,
    }
}

/// The media of an entry, in order of upload: its own, or for a nominated entry its
/// source's (`entry.media_entry_id`: the same files, never copied).
pub async fn for_entry(db: impl PgExecutor<'_>, entry_id: Uuid) -> sqlx::Result<Vec<MediaView>> {
    let rows: Vec<AssetRow> = sqlx::query_as(
        "select media_asset_id, kind::text as kind, status::text as status, progress, error, width, height,
                duration_s, renditions, updated_at
         from media_asset
         where entry_id = (select coalesce(media_entry_id, entry_id) from entry where entry_id = $1)
         order by series_position nulls first, created_at",
    )
    .bind(entry_id)
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(view).collect())
}

/// The media of several entries in one statement, each entry's in order of upload.
pub async fn for_entries(
    db: impl PgExecutor<'_>,
    entries: &[Uuid],
) -> sqlx::Result<std::collections::HashMap<Uuid, Vec<MediaView>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        entry_id: Uuid,
        #[sqlx(flatten)]
        asset: AssetRow,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select e.entry_id, m.media_asset_id, m.kind::text as kind, m.status::text as status,
                m.progress, m.error, m.width, m.height, m.duration_s, m.renditions, m.updated_at
         from entry e join media_asset m on m.entry_id = coalesce(e.media_entry_id, e.entry_id)
         where e.entry_id = any($1) order by m.series_position nulls first, m.created_at",
    )
    .bind(entries)
    .fetch_all(db)
    .await?;
    let mut out: std::collections::HashMap<Uuid, Vec<MediaView>> = std::collections::HashMap::new();
    for r in rows {
        out.entry(r.entry_id).or_default().push(view(&r.asset));
    }
    Ok(out)
}

/// Whether an asset's renditions are public (its entry is approved) and its current version;
/// `None` for an asset that does not exist.
pub async fn public_version(
    db: impl PgExecutor<'_>,
    asset: Uuid,
) -> sqlx::Result<Option<(bool, String)>> {
    let row: Option<(bool, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select e.status = 'approved', m.updated_at
         from media_asset m join entry e using (entry_id) where m.media_asset_id = $1",
    )
    .bind(asset)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(public, at)| (public, version_of(at))))
}

/// The entries that show a media asset: the one it was uploaded to, then the entries
/// nominated from it into higher rounds (empty for an asset that does not exist).
pub async fn entries_of(db: impl PgExecutor<'_>, asset: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "select e.entry_id from media_asset m join entry e
           on e.entry_id = m.entry_id or e.media_entry_id = m.entry_id
         where m.media_asset_id = $1 order by (e.entry_id = m.entry_id) desc, e.created_at",
    )
    .bind(asset)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renditions_become_urls_under_media_and_escapes_are_dropped() {
        let id = Uuid::nil();
        let a = AssetRow {
            media_asset_id: id,
            kind: "video".into(),
            status: "ready".into(),
            progress: 100,
            error: None,
            width: Some(1280),
            height: Some(720),
            duration_s: Some(12.0),
            updated_at: chrono::DateTime::from_timestamp_micros(0x1234).unwrap(),
            renditions: json!({
                "poster": format!("media/{id}/poster.jpg"),
                "hls": "hls/master.m3u8",
                "mp4": {"key": "../../originals/x"},
                "images": [{"width": 800, "key": "800.webp"}, {"width": 400, "key": "400.webp"}]
            }),
        };
        let v = view(&a);
        assert_eq!(
            v.poster_url.as_deref(),
            Some(&*format!("/media/{id}/v/1234/poster.jpg"))
        );
        assert_eq!(
            v.hls_url.as_deref(),
            Some(&*format!("/media/{id}/v/1234/hls/master.m3u8"))
        );
        assert_eq!(v.mp4_url, None);
        assert_eq!(v.images[0].width, 400);
        assert_eq!(
            v.srcset(),
            format!("/media/{id}/v/1234/400.webp 400w, /media/{id}/v/1234/800.webp 800w")
        );
        assert_eq!(v.thumb(), Some(&*format!("/media/{id}/v/1234/400.webp")));
    }

    /// The exact shapes `hoithi_worker::process::keyed_renditions` stores.
    #[test]
    fn the_workers_video_and_photo_renditions_become_urls() {
        let id = Uuid::new_v4();
        let k = |name: &str| json!({"key": format!("media/{id}/{name}"), "url": format!("/media/{id}/v/1234/{name}")});
        let video = AssetRow {
            media_asset_id: id,
            kind: "video".into(),
            status: "ready".into(),
            progress: 100,
            error: None,
            width: Some(1920),
            height: Some(1080),
            duration_s: Some(4.0),
            updated_at: chrono::DateTime::from_timestamp_micros(0x1234).unwrap(),
            renditions: json!({
                "hls": k("hls/master.m3u8"),
                "variants": [{"height": 360}],
                "mp4": {"path": k("video.mp4"), "width": 1280, "height": 720},
                "poster": [
                    {"width": 400, "jpeg": k("poster-400.jpg"), "webp": k("poster-400.webp")},
                    {"width": 1280, "jpeg": k("poster-1280.jpg"), "webp": k("poster-1280.webp")}
                ]
            }),
        };
        let v = view(&video);
        assert_eq!(
            v.hls_url,
            Some(format!("/media/{id}/v/1234/hls/master.m3u8"))
        );
        assert_eq!(v.mp4_url, Some(format!("/media/{id}/v/1234/video.mp4")));
        assert_eq!(
            v.poster_url,
            Some(format!("/media/{id}/v/1234/poster-1280.jpg"))
        );
        // A video's card loads the 400 px poster, with the larger one for wide screens.
        assert_eq!(
            v.thumb(),
            Some(&*format!("/media/{id}/v/1234/poster-400.jpg"))
        );
        assert_eq!(
            v.tile_srcset(),
            format!(
                "/media/{id}/v/1234/poster-400.jpg 400w, /media/{id}/v/1234/poster-1280.jpg 1280w"
            )
        );
        assert_eq!(
            split_version("v/1234/poster-400.jpg"),
            (Some("1234"), "poster-400.jpg")
        );
        assert_eq!(split_version("poster-400.jpg"), (None, "poster-400.jpg"));
        assert_eq!(split_version("v//x.jpg"), (None, "v//x.jpg"));

        let photo = AssetRow {
            kind: "photo".into(),
            renditions: json!({"images": [
                {"label": "1600w", "width": 1600, "height": 1200, "jpeg": k("photo-1600.jpg"), "webp": k("photo-1600.webp")},
                {"label": "400w", "width": 400, "height": 300, "jpeg": k("photo-400.jpg"), "webp": k("photo-400.webp")}
            ]}),
            ..video
        };
        let v = view(&photo);
        assert_eq!(
            v.srcset(),
            format!(
                "/media/{id}/v/1234/photo-400.jpg 400w, /media/{id}/v/1234/photo-1600.jpg 1600w"
            )
        );
        assert_eq!(
            v.largest(),
            Some(&*format!("/media/{id}/v/1234/photo-1600.jpg"))
        );
    }
}
