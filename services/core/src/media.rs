//! Where media lives in the bucket. Keys are made here from ids, never from a user's file
//! name, so no upload can choose or escape its key.

use uuid::Uuid;

/// The private original of an asset.
pub fn original_key(media_asset_id: Uuid) -> String {
    format!("originals/{media_asset_id}")
}

/// The folder of an asset's public renditions; a retry overwrites, never duplicates.
pub fn renditions_prefix(media_asset_id: Uuid) -> String {
    format!("media/{media_asset_id}/")
}
