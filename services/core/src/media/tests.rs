use super::*;

/// Every migration, in order, as one text.
fn migrations() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations folder")
        .map(|e| e.expect("migration").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("migration text"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn names(values: impl IntoIterator<Item = &'static str>) -> Vec<String> {
    values.into_iter().map(str::to_owned).collect()
}

#[test]
fn the_rust_media_enums_are_the_sql_enums_value_for_value() {
    let sql = migrations();
    assert_eq!(
        sql_enum_values(&sql, "media_status").expect("media_status in the migrations"),
        names(MediaStatus::ALL.map(MediaStatus::as_str))
    );
    assert_eq!(
        sql_enum_values(&sql, "media_kind").expect("media_kind in the migrations"),
        names(MediaKind::ALL.map(MediaKind::as_str))
    );
    // No later migration may add a value the Rust side does not know.
    for name in ["media_status", "media_kind"] {
        assert!(
            !sql.contains(&format!("alter type {name}")),
            "{name} was altered: update the Rust enum"
        );
    }
}

#[test]
fn names_round_trip_and_serde_uses_the_sql_names() {
    for s in MediaStatus::ALL {
        assert_eq!(MediaStatus::parse(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    for k in MediaKind::ALL {
        assert_eq!(MediaKind::parse(k.as_str()), Some(k));
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
    }
    for r in Rendition::ALL {
        assert_eq!(Rendition::parse(r.as_str()), Some(r));
    }
    assert_eq!(MediaStatus::parse("READY"), None);
    assert_eq!(Rendition::parse("thumbnail"), None);
}

#[test]
fn only_a_processing_asset_moves_and_only_to_ready_or_failed() {
    use MediaStatus::{Failed, Processing, Ready};
    let table = [
        (Processing, Ready, true),
        (Processing, Failed, true),
        (Processing, Processing, false),
        (Ready, Failed, false),
        (Ready, Processing, false),
        (Failed, Ready, false),
        (Failed, Processing, false),
    ];
    for (from, to, allowed) in table {
        assert_eq!(from.may_become(to), allowed, "{from:?} -> {to:?}");
    }
}

#[test]
fn a_video_and_a_photo_list_their_own_renditions() {
    assert!(Rendition::of(MediaKind::Video).contains(&Rendition::Hls));
    assert!(!Rendition::of(MediaKind::Video).contains(&Rendition::Images));
    assert_eq!(
        Rendition::of(MediaKind::Photo),
        &[Rendition::Images, Rendition::Source]
    );
}
