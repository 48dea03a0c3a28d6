//! What a file is, judged by its first bytes (magic numbers), never by its name or the
//! client's declared type: an allowed image or an allowed video container, or nothing.

/// How many leading bytes the sniffer wants before it decides (fewer only for a whole file).
pub const SNIFF_BYTES: usize = 64;

/// The kind of a file: the schema's `media_kind` (and `contest.kinds`), one type with the
/// worker's.
pub use hoithi_core::media::MediaKind as Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub kind: Kind,
    /// A content type for the original, from the content, not from the client.
    pub content_type: &'static str,
}

const fn photo(content_type: &'static str) -> Option<Detected> {
    Some(Detected {
        kind: Kind::Photo,
        content_type,
    })
}

const fn video(content_type: &'static str) -> Option<Detected> {
    Some(Detected {
        kind: Kind::Video,
        content_type,
    })
}

const HEIF_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
];
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
    b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"MSNV", b"XAVC", b"f4v ",
    b"NDAS", b"mmp4", b"hvc1", b"av01",
];

/// Decides from the first bytes of a file (at least `SNIFF_BYTES`, or the whole file if it
/// is shorter). `None`: not an allowed image or video container.
pub fn sniff(head: &[u8]) -> Option<Detected> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return photo("image/jpeg");
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return photo("image/png");
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return photo("image/webp");
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        // EBML: WebM or Matroska; the DocType says which, but both are allowed.
        let webm = head.windows(4).any(|w| w == b"webm");
        return video(if webm {
            "video/webm"
        } else {
            "video/x-matroska"
        });
    }
    if head.len() < 12 {
        return None;
    }
    let box_type = &head[4..8];
    if box_type == b"ftyp" {
        return ftyp(head);
    }
    // Old QuickTime files may start with other top-level atoms.
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if matches!(
        box_type,
        b"moov" | b"mdat" | b"free" | b"skip" | b"wide" | b"pnot"
    ) && (size == 0 || size == 1 || size >= 8)
    {
        return video("video/quicktime");
    }
    None
}

fn ftyp(head: &[u8]) -> Option<Detected> {
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if size < 16 && size != 0 {
        return None;
    }
    let major: &[u8] = &head[8..12];
    let end = if size == 0 {
        head.len()
    } else {
        size.min(head.len())
    };
    // Compatible brands follow the major brand and the minor version.
    let compatible: Vec<&[u8]> = head.get(16..end).unwrap_or(&[]).chunks_exact(4).collect();
    let is = |set: &[&[u8; 4]], brand: &[u8]| set.iter().any(|b| &b[..] == brand);
    if major.starts_with(b"3g") {
        return video(if major.starts_with(b"3g2") {
            "video/3gpp2"
        } else {
            "video/3gpp"
        });
    }
    if major == b"qt  " {
        return video("video/quicktime");
    }
    if is(HEIF_BRANDS, major) {
        let heic = major.starts_with(b"he") || compatible.iter().any(|b| b.starts_with(b"he"));
        return photo(if heic { "image/heic" } else { "image/heif" });
    }
    if is(MP4_BRANDS, major) {
        return video("video/mp4");
    }
    // An unknown major brand: trust a compatible brand we know, images first.
    if compatible.iter().any(|b| is(HEIF_BRANDS, b)) {
        return photo("image/heif");
    }
    if compatible.iter().any(|b| b.starts_with(b"3g")) {
        return video("video/3gpp");
    }
    if compatible
        .iter()
        .any(|b| is(MP4_BRANDS, b) || *b == b"qt  ")
    {
        return video("video/mp4");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp_box(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut v = (size as u32).to_be_bytes().to_vec();
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(major);
        v.extend_from_slice(&[0, 0, 2, 0]);
        for b in compatible {
            v.extend_from_slice(*b);
        }
        v.extend_from_slice(&[0, 0, 0, 8, b'f', b'r', b'e', b'e']);
        v
    }

    #[test]
    fn images_are_recognised_by_their_magic_numbers() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).map(|d| d.content_type),
            Some("image/jpeg")
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").map(|d| d.content_type),
            Some("image/png")
        );
        assert_eq!(
            sniff(b"RIFF\x10\0\0\0WEBPVP8 ").map(|d| d.content_type),
            Some("image/webp")
        );
        let heic = ftyp_box(b"heic", &[b"mif1", b"heic"]);
        assert_eq!(sniff(&heic), photo("image/heic"));
        let heif = ftyp_box(b"mif1", &[b"mif1"]);
        assert_eq!(sniff(&heif), photo("image/heif"));
    }

    #[test]
    fn video_containers_are_recognised() {
        assert_eq!(
            sniff(&ftyp_box(b"isom", &[b"isom", b"avc1"])),
            video("video/mp4")
        );
        assert_eq!(
            sniff(&ftyp_box(b"qt  ", &[b"qt  "])),
            video("video/quicktime")
        );
        assert_eq!(sniff(&ftyp_box(b"3gp4", &[b"3gp4"])), video("video/3gpp"));
        assert_eq!(sniff(&ftyp_box(b"3g2a", &[])), video("video/3gpp2"));
        assert_eq!(
            sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"),
            video("video/webm")
        );
        assert_eq!(
            sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska"),
            video("video/x-matroska")
        );
        assert_eq!(
            sniff(b"\0\0\0\x08wide\0\0\0\0mdat"),
            video("video/quicktime")
        );
        assert_eq!(sniff(&ftyp_box(b"abcd", &[b"mp42"])), video("video/mp4"));
    }

    #[test]
    fn other_files_are_refused_whatever_their_name() {
        assert_eq!(sniff(b"#EXTM3U\n#EXT-X-VERSION:3\n"), None);
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3"), None);
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0\0\0\0"), None);
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0\x04\0\0\0"), None);
        assert_eq!(sniff(b"<html><body>"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&ftyp_box(b"abcd", &[b"efgh"])), None);
        assert_eq!(sniff(&ftyp_box(b"crx ", &[])), None);
    }
}
