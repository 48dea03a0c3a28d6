//! Media as types: where an asset lives in the bucket (keys made here from ids, never from a
//! user's file name, so no upload can choose or escape its key), what it holds
//! ([`MediaKind`]), where it is in its lifecycle ([`MediaStatus`]) and which renditions its
//! `renditions` JSON lists ([`Rendition`]). The enums are the SQL enums of the migrations,
//! value for value (a test reads the migrations to check it).

use uuid::Uuid;

/// The private original of an asset.
pub fn original_key(media_asset_id: Uuid) -> String {
    format!("originals/{media_asset_id}")
}

/// The folder of an asset's public renditions; a retry overwrites, never duplicates.
pub fn renditions_prefix(media_asset_id: Uuid) -> String {
    format!("media/{media_asset_id}/")
}

/// What an asset holds: the SQL `media_kind` enum, and the media child's `--kind` argument.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sqlx::Type,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "media_kind", rename_all = "lowercase")]
pub enum MediaKind {
    Video,
    Photo,
}

impl MediaKind {
    pub const ALL: [Self; 2] = [Self::Video, Self::Photo];

    /// The name in SQL, on the command line and in the result JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Video => "video",
            MediaKind::Photo => "photo",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind a client's declared MIME type hints at, used only to pick a size limit early.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let mime = mime.trim().to_ascii_lowercase();
        if mime.starts_with("image/") {
            Some(MediaKind::Photo)
        } else if mime.starts_with("video/") {
            Some(MediaKind::Video)
        } else {
            None
        }
    }
}

/// The lifecycle of a `media_asset` (SQL `media_status`): the upload creates it
/// `Processing`; the worker moves it to `Ready` with its renditions, or to `Failed` with a
/// reader's error. Only the worker moves it, and only out of `Processing`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "media_status", rename_all = "snake_case")]
pub enum MediaStatus {
    Processing,
    Ready,
    Failed,
}

impl MediaStatus {
    pub const ALL: [Self; 3] = [Self::Processing, Self::Ready, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaStatus::Processing => "processing",
            MediaStatus::Ready => "ready",
            MediaStatus::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the worker may move an asset from `self` to `to`.
    pub fn may_become(self, to: MediaStatus) -> bool {
        matches!(
            (self, to),
            (
                MediaStatus::Processing,
                MediaStatus::Ready | MediaStatus::Failed
            )
        )
    }
}

/// A top-level member of `media_asset.renditions` (a JSON object, so no SQL enum): what the
/// worker writes and the web crate reads. A video has `hls`, `variants`, `mp4` and `poster`,
/// a photo `images`; both have `source`, the probed metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rendition {
    /// The HLS master playlist (`{key, url}`).
    Hls,
    /// The HLS rungs with their bandwidths.
    Variants,
    /// The progressive MP4.
    Mp4,
    /// The video's poster stills (JPEG and WebP).
    Poster,
    /// The photo's sizes (JPEG and WebP).
    Images,
    /// What the probe found in the original (codec, size, duration, …).
    Source,
}

impl Rendition {
    pub const ALL: [Self; 6] = [
        Self::Hls,
        Self::Variants,
        Self::Mp4,
        Self::Poster,
        Self::Images,
        Self::Source,
    ];

    /// The member's name in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Rendition::Hls => "hls",
            Rendition::Variants => "variants",
            Rendition::Mp4 => "mp4",
            Rendition::Poster => "poster",
            Rendition::Images => "images",
            Rendition::Source => "source",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The members an asset of `kind` has once it is ready.
    pub fn of(kind: MediaKind) -> &'static [Rendition] {
        match kind {
            MediaKind::Video => &[
                Rendition::Hls,
                Rendition::Variants,
                Rendition::Mp4,
                Rendition::Poster,
                Rendition::Source,
            ],
            MediaKind::Photo => &[Rendition::Images, Rendition::Source],
        }
    }
}

/// The values of the SQL enum `name` as the migrations create it (`create type name as enum
/// ('a', 'b')`), for the tests that hold the Rust enums to the schema.
pub fn sql_enum_values(migrations: &str, name: &str) -> Option<Vec<String>> {
    let start = migrations.find(&format!("create type {name} as enum"))?;
    let rest = &migrations[start..];
    let open = rest.find('(')?;
    let close = rest.find(')')?;
    Some(
        rest[open + 1..close]
            .split(',')
            .map(|v| v.trim().trim_matches('\'').to_owned())
            .collect(),
    )
}

#[cfg(test)]
mod tests;
