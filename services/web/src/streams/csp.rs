//! The content security policy of a stream's pages: the site's policy with exactly what the
//! stream needs, its embed origin as `frame-src`, or its HLS host for media and fetches
//! (hls.js loads playlists and segments with fetch).

use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::domain::streams::repo::StreamRow;
use crate::domain::streams::source::{self, Platform};

pub fn csp_for(platform: Platform, embed: &str) -> String {
    let mut directives: Vec<(String, String)> = crate::security::CSP
        .split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match d.split_once(' ') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (d.to_owned(), String::new()),
        })
        .collect();
    let mut set = |name: &str, value: String| match directives.iter_mut().find(|(k, _)| k == name) {
        Some(d) => d.1 = value,
        None => directives.push((name.to_owned(), value)),
    };
    match (platform, source::csp_origin(platform, embed)) {
        (Platform::YouTube | Platform::Facebook, Some(origin)) => set("frame-src", origin),
        (Platform::Hls, Some(origin)) => {
            set("media-src", format!("'self' blob: {origin}"));
            set("connect-src", format!("'self' {origin}"));
        }
        _ => {}
    }
    directives
        .into_iter()
        .map(|(k, v)| if v.is_empty() { k } else { format!("{k} {v}") })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn with_csp(mut res: Response, s: &StreamRow) -> Response {
    if let Ok(v) = HeaderValue::from_str(&csp_for(s.platform(), &s.embed_url)) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csp_of_a_stream_page_allows_exactly_its_embed_origin() {
        let yt = csp_for(
            Platform::YouTube,
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        );
        assert!(
            yt.ends_with("; frame-src https://www.youtube-nocookie.com"),
            "{yt}"
        );
        assert!(yt.contains("connect-src 'self';"), "{yt}");
        assert!(yt.contains("frame-ancestors 'none'"), "{yt}");
        let fb = csp_for(
            Platform::Facebook,
            "https://www.facebook.com/plugins/video.php?href=x",
        );
        assert!(fb.ends_with("; frame-src https://www.facebook.com"), "{fb}");
        let hls = csp_for(Platform::Hls, "https://cdn.example.vn/live/a.m3u8?t=1");
        assert!(
            hls.contains("media-src 'self' blob: https://cdn.example.vn;"),
            "{hls}"
        );
        assert!(
            hls.contains("connect-src 'self' https://cdn.example.vn;"),
            "{hls}"
        );
        assert!(!hls.contains("frame-src"), "{hls}");
        assert!(hls.contains("worker-src 'self' blob:"), "{hls}");
    }
}
