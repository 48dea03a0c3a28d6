//! The tus 1.0.0 wire format: header names, parsing of `Upload-Metadata`, `Upload-Checksum`
//! and numeric headers, and the errors with the statuses tus prescribes.

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hoithi_core::api_error::ApiError;
use sha1::Digest;

pub const TUS_VERSION: &str = "1.0.0";
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration,checksum";
pub const TUS_CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// Headers a browser may send and read across origins.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset, Upload-Checksum, Upload-Defer-Length, Upload-Concat, X-HTTP-Method-Override, X-Requested-With, X-Request-Id, X-CSRF-Token";
pub const EXPOSE_HEADERS: &str = "Location, Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata, Upload-Defer-Length, Upload-Concat, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, X-Request-Id";
pub const ALLOW_METHODS: &str = "POST, HEAD, PATCH, DELETE, OPTIONS";

pub fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

pub fn err(code_status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(status(code_status), code, message)
}

pub fn upload_not_found() -> ApiError {
    err(
        404,
        "upload-not-found",
        "this upload does not exist or is not yours",
    )
}

/// 412 unless the client speaks tus 1.0.0.
pub fn check_resumable(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(v) if v.trim() == TUS_VERSION => Ok(()),
        Some(v) => Err(err(
            412,
            "tus-version-unsupported",
            format!("tus version {v:?} is not supported; this server speaks {TUS_VERSION}"),
        )),
        None => Err(err(
            412,
            "tus-resumable-missing",
            format!("the Tus-Resumable header is missing; send Tus-Resumable: {TUS_VERSION}"),
        )),
    }
}

/// A non-negative integer header (`Upload-Length`, `Upload-Offset`): digits only.
pub fn number(headers: &HeaderMap, name: &str) -> Result<Option<i64>, String> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| format!("{name} is not text"))?
        .trim();
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name} must be a whole number of bytes, not {s:?}"));
    }
    s.parse::<i64>()
        .map(Some)
        .map_err(|_| format!("{name} is too large"))
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent).
pub fn parse_metadata(raw: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once(' ') {
            Some((k, v)) => (k, Some(v.trim())),
            None => (pair, None),
        };
        if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("Upload-Metadata has a malformed key {key:?}"));
        }
        if out.iter().any(|(k, _): &(String, _)| k == key) {
            return Err(format!("Upload-Metadata repeats the key {key:?}"));
        }
        let value = match value {
            None | Some("") => None,
            Some(v) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(v))
                    .map_err(|_| format!("Upload-Metadata value of {key:?} is not base64"))?;
                Some(
                    String::from_utf8(bytes)
                        .map_err(|_| format!("Upload-Metadata value of {key:?} is not UTF-8"))?,
                )
            }
        };
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

/// A file name as data: control characters dropped, at most 255 characters.
pub fn clean_filename(name: &str) -> Option<String> {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim().to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

#[derive(Debug, Clone)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub expected: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
}

pub enum ChunkHasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl ChunkHasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            ChunkHasher::Sha1(h) => h.update(data),
            ChunkHasher::Sha256(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Vec<u8> {
        match self {
            ChunkHasher::Sha1(h) => h.finalize().to_vec(),
            ChunkHasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

impl Checksum {
    pub fn hasher(&self) -> ChunkHasher {
        match self.algorithm {
            Algorithm::Sha1 => ChunkHasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => ChunkHasher::Sha256(sha2::Sha256::new()),
        }
    }
}

/// `Upload-Checksum: sha1 <base64 digest>`.
pub fn parse_checksum(headers: &HeaderMap) -> Result<Option<Checksum>, ApiError> {
    let Some(v) = headers.get("upload-checksum") else {
        return Ok(None);
    };
    let bad = || {
        err(
            400,
            "checksum-invalid",
            "Upload-Checksum must be an algorithm and a base64 digest, like \"sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=\"",
        )
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    let (alg, digest) = s.split_once(' ').ok_or_else(bad)?;
    let algorithm = match alg.to_ascii_lowercase().as_str() {
        "sha1" => Algorithm::Sha1,
        "sha256" => Algorithm::Sha256,
        other => {
            return Err(err(
                400,
                "checksum-algorithm-unsupported",
                format!(
                    "the checksum algorithm {other:?} is not supported; use one of {TUS_CHECKSUM_ALGORITHMS}"
                ),
            ));
        }
    };
    let expected = base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .map_err(|_| bad())?;
    let want = if algorithm == Algorithm::Sha1 { 20 } else { 32 };
    if expected.len() != want {
        return Err(bad());
    }
    Ok(Some(Checksum {
        algorithm,
        expected,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_are_decoded_and_keys_without_values_kept() {
        let m = parse_metadata(
            "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential, entry_id YWJj",
        )
        .unwrap();
        assert_eq!(
            m,
            vec![
                ("filename".into(), Some("world_domination_plan.pdf".into())),
                ("is_confidential".into(), None),
                ("entry_id".into(), Some("abc".into())),
            ]
        );
        assert!(parse_metadata("filename !!!").is_err());
        assert!(parse_metadata("a YQ==,a YQ==").is_err());
        assert!(parse_metadata("").unwrap().is_empty());
    }

    #[test]
    fn numbers_must_be_plain_digits() {
        let mut h = HeaderMap::new();
        h.insert("upload-offset", "42".parse().unwrap());
        assert_eq!(number(&h, "upload-offset"), Ok(Some(42)));
        for bad in ["-1", "1e3", "0x10", " ", "99999999999999999999"] {
            h.insert("upload-offset", bad.parse().unwrap());
            assert!(number(&h, "upload-offset").is_err(), "{bad}");
        }
        assert_eq!(number(&h, "upload-length"), Ok(None));
    }

    #[test]
    fn file_names_lose_control_characters_and_are_bounded() {
        assert_eq!(clean_filename("a\u{0}b\nc.mp4").as_deref(), Some("abc.mp4"));
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("../../etc/passwd")
        );
        assert_eq!(clean_filename(&"x".repeat(400)).map(|s| s.len()), Some(255));
        assert_eq!(clean_filename(" \t "), None);
    }

    #[test]
    fn checksums_name_a_known_algorithm_and_a_digest_of_its_size() {
        let mut h = HeaderMap::new();
        h.insert(
            "upload-checksum",
            "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=".parse().unwrap(),
        );
        assert_eq!(
            parse_checksum(&h).unwrap().unwrap().algorithm,
            Algorithm::Sha1
        );
        h.insert(
            "upload-checksum",
            "md5 Kq5sNclPz7QV2+lfQIuc6R7oRu0=".parse().unwrap(),
        );
        assert_eq!(
            parse_checksum(&h).unwrap_err().code,
            "checksum-algorithm-unsupported"
        );
        h.insert("upload-checksum", "sha1 YWJj".parse().unwrap());
        assert_eq!(parse_checksum(&h).unwrap_err().code, "checksum-invalid");
    }
}
