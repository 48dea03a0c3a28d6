//! Helpers shared by the upload tests: a tus client written against the spec (reqwest), raw
//! sockets for cut connections, and fixtures of media-like bytes.

#![allow(
    dead_code,
    reason = "each upload test file uses a different part of the helpers"
)]

use base64::Engine;
use hoithi_core::testing::TestEnv;
use reqwest::{Response, StatusCode};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

pub const MIB: usize = 1024 * 1024;

/// Bytes that start like an MP4 file and go on with a pattern that shows a misplaced part.
pub fn video_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(b"\0\0\0\x18ftypisom\0\0\x02\0isomavc1");
    fill(&mut v, len, seed);
    v.truncate(len);
    v
}

pub fn photo_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0]);
    fill(&mut v, len, seed);
    v.truncate(len);
    v
}

pub fn fill(v: &mut Vec<u8>, len: usize, seed: u32) {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    while v.len() < len {
        // xorshift32: cheap and not periodic over a part.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.extend_from_slice(&x.to_le_bytes());
    }
}

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub struct Tus {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Tus {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    pub fn url(&self, location: &str) -> String {
        if location.starts_with("http") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        }
    }

    pub async fn create(&self, entry_id: Uuid, length: usize, filetype: &str) -> Response {
        self.http
            .post(format!("{}/api/v1/uploads", self.base))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .header(
                "Upload-Metadata",
                format!(
                    "entry_id {},filename {},filetype {}",
                    b64(&entry_id.to_string()),
                    b64("../../bài dự thi.mp4"),
                    b64(filetype)
                ),
            )
            .send()
            .await
            .expect("POST")
    }

    /// Creates an upload and returns its location (asserting 201).
    pub async fn created(&self, entry_id: Uuid, length: usize, filetype: &str) -> String {
        let res = self.create(entry_id, length, filetype).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
        res.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned()
    }

    pub async fn patch(&self, location: &str, offset: usize, data: Vec<u8>) -> Response {
        self.try_patch(location, offset, data).await.expect("PATCH")
    }

    /// A PATCH whose connection may fail (a node that stops mid-request).
    pub async fn try_patch(
        &self,
        location: &str,
        offset: usize,
        data: Vec<u8>,
    ) -> reqwest::Result<Response> {
        self.try_patch_body(location, offset, data).await
    }

    /// A PATCH with any body, e.g. a slow stream.
    pub async fn try_patch_body(
        &self,
        location: &str,
        offset: usize,
        data: impl Into<reqwest::Body>,
    ) -> reqwest::Result<Response> {
        self.http
            .patch(self.url(location))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(data)
            .send()
            .await
    }

    pub async fn head(&self, location: &str) -> Response {
        self.http
            .head(self.url(location))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("HEAD")
    }

    pub async fn offset(&self, location: &str) -> usize {
        let res = self.head(location).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.headers()["upload-offset"]
            .to_str()
            .expect("offset")
            .parse()
            .expect("number")
    }

    /// Sends the request line, headers and only `sent` of `body` bytes, then closes the socket.
    pub async fn cut_patch(&self, location: &str, offset: usize, body: &[u8], sent: usize) {
        let addr = self.base.trim_start_matches("http://");
        let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "PATCH {location} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
            self.token,
            body.len()
        );
        sock.write_all(head.as_bytes()).await.expect("write head");
        sock.write_all(&body[..sent]).await.expect("write body");
        sock.flush().await.expect("flush");
        sock.shutdown().await.expect("shutdown");
        drop(sock);
    }
}

pub async fn error_code(res: Response) -> (StatusCode, String) {
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// Every key in the bucket (originals and temporary objects).
pub async fn all_keys(env: &TestEnv) -> Vec<String> {
    let out = env
        .storage
        .client
        .list_objects_v2()
        .bucket(&env.storage.bucket)
        .send()
        .await
        .expect("list");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

pub async fn read_object(env: &TestEnv, key: &str) -> Vec<u8> {
    env.storage
        .client
        .get_object()
        .bucket(&env.storage.bucket)
        .key(key)
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("read")
        .into_bytes()
        .to_vec()
}

/// True while the multipart upload still holds parts in the store.
pub async fn multipart_exists(env: &TestEnv, key: &str, s3_upload_id: &str) -> bool {
    env.storage
        .client
        .list_parts()
        .bucket(&env.storage.bucket)
        .key(key)
        .upload_id(s3_upload_id)
        .send()
        .await
        // AWS answers NoSuchUpload after an abort; s3s-fs lists no parts.
        .is_ok_and(|out| !out.parts().is_empty())
}

pub fn upload_id(location: &str) -> Uuid {
    Uuid::parse_str(location.rsplit('/').next().expect("id")).expect("uuid")
}
