//! The stream URL an organizer types, parsed strictly into what a page may embed: the
//! official YouTube (privacy-enhanced) or Facebook embed, or an https HLS playlist. Anything
//! else is refused with a stable code. Pure: no I/O.

use std::net::IpAddr;

use url::{Host, Url};

/// Longest URL accepted (what is stored is at most this long too).
pub const MAX_URL: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    YouTube,
    Facebook,
    Hls,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::YouTube => "youtube",
            Self::Facebook => "facebook",
            Self::Hls => "hls",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "youtube" => Some(Self::YouTube),
            "facebook" => Some(Self::Facebook),
            "hls" => Some(Self::Hls),
            _ => None,
        }
    }
}

/// A URL fit to embed: `source` is the canonical form of what was typed, `embed` what the
/// page puts into its iframe (YouTube, Facebook) or hands to the player (HLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSource {
    pub platform: Platform,
    pub source: String,
    pub embed: String,
}

/// The origin the page's CSP must allow for this source: frames for the embeds, media and
/// fetches for an HLS host.
pub fn csp_origin(platform: Platform, embed: &str) -> Option<String> {
    match platform {
        Platform::YouTube => Some(YOUTUBE_EMBED_ORIGIN.to_owned()),
        Platform::Facebook => Some(FACEBOOK_EMBED_ORIGIN.to_owned()),
        Platform::Hls => Url::parse(embed)
            .ok()
            .filter(|u| u.scheme() == "https")
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o.starts_with("https://")),
    }
}

pub const YOUTUBE_EMBED_ORIGIN: &str = "https://www.youtube-nocookie.com";
pub const FACEBOOK_EMBED_ORIGIN: &str = "https://www.facebook.com";

const YOUTUBE_HOSTS: &[&str] = &["youtube.com", "www.youtube.com", "m.youtube.com"];
const FACEBOOK_HOSTS: &[&str] = &[
    "facebook.com",
    "www.facebook.com",
    "m.facebook.com",
    "web.facebook.com",
];

/// Why a URL was refused; `code()` is the stable API code (and the i18n key suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceError {
    Required,
    TooLong,
    Invalid,
    NotHttps,
    Credentials,
    Port,
    PrivateHost,
    YouTubeId,
    FacebookVideo,
    ShortLink,
    Unsupported,
}

impl SourceError {
    pub fn code(self) -> &'static str {
        match self {
            Self::Required => "stream-url-required",
            Self::TooLong => "stream-url-too-long",
            Self::Invalid => "stream-url-invalid",
            Self::NotHttps => "stream-url-not-https",
            Self::Credentials => "stream-url-credentials",
            Self::Port => "stream-url-port",
            Self::PrivateHost => "stream-url-private-host",
            Self::YouTubeId => "stream-url-youtube-id",
            Self::FacebookVideo => "stream-url-facebook-video",
            Self::ShortLink => "stream-url-short-link",
            Self::Unsupported => "stream-url-unsupported",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Required => "give the stream's URL",
            Self::TooLong => "the URL is longer than 2000 characters",
            Self::Invalid => "the URL is not a valid web address",
            Self::NotHttps => "only https:// URLs are accepted",
            Self::Credentials => "the URL may not carry a user name or password",
            Self::Port => "YouTube and Facebook URLs may not name a port",
            Self::PrivateHost => "the URL points to a local or private address",
            Self::YouTubeId => "the YouTube URL names no video (watch?v=, youtu.be/ or /live/)",
            Self::FacebookVideo => {
                "the Facebook URL names no video (…/videos/<id> or watch?v=<id>)"
            }
            Self::ShortLink => "short links (fb.watch) cannot be checked; paste the full video URL",
            Self::Unsupported => {
                "use a YouTube or Facebook live URL, or an https HLS playlist (.m3u8)"
            }
        }
    }
}

/// Parses what an organizer typed. Strict on purpose: printable ASCII only (a browser's
/// address bar copies URLs percent-encoded), https only, no user info, known hosts matched
/// exactly, IDs checked by their alphabet.
pub fn parse(input: &str) -> Result<StreamSource, SourceError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(SourceError::Required);
    }
    if input.len() > MAX_URL {
        return Err(SourceError::TooLong);
    }
    // Control characters, spaces, backslashes (read as "/" by URL parsers, a classic way to
    // make a host look like another) and non-ASCII are refused before parsing.
    if !input.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return Err(SourceError::Invalid);
    }
    let url = Url::parse(input).map_err(|_| SourceError::Invalid)?;
    if url.scheme() != "https" {
        return Err(SourceError::NotHttps);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SourceError::Credentials);
    }
    let host = match url.host() {
        Some(Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(Host::Ipv4(ip)) => {
            check_public(IpAddr::V4(ip))?;
            return hls(&url);
        }
        Some(Host::Ipv6(ip)) => {
            check_public(IpAddr::V6(ip))?;
            return hls(&url);
        }
        None => return Err(SourceError::Invalid),
    };
    if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".local") {
        return Err(SourceError::PrivateHost);
    }
    if YOUTUBE_HOSTS.contains(&host.as_str()) || host == "youtu.be" {
        if url.port().is_some() {
            return Err(SourceError::Port);
        }
        return youtube(&url, host == "youtu.be");
    }
    if FACEBOOK_HOSTS.contains(&host.as_str()) {
        if url.port().is_some() {
            return Err(SourceError::Port);
        }
        return facebook(&url);
    }
    if host == "fb.watch" {
        return Err(SourceError::ShortLink);
    }
    // A host that is not a dotted name (an intranet name) is not a public stream.
    if !host.contains('.') {
        return Err(SourceError::PrivateHost);
    }
    hls(&url)
}

fn check_public(ip: IpAddr) -> Result<(), SourceError> {
    let private = match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| check_public(IpAddr::V4(v4)).is_err())
        }
    };
    if private {
        Err(SourceError::PrivateHost)
    } else {
        Ok(())
    }
}

fn is_youtube_id(s: &str) -> bool {
    s.len() == 11
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn youtube(url: &Url, short: bool) -> Result<StreamSource, SourceError> {
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let id = if short {
        match segments.as_slice() {
            [id] => Some((*id).to_owned()),
            _ => None,
        }
    } else {
        match segments.as_slice() {
            ["watch"] => query(url, "v"),
            ["live" | "embed" | "shorts", id] => Some((*id).to_owned()),
            _ => None,
        }
    };
    let id = id
        .filter(|id| is_youtube_id(id))
        .ok_or(SourceError::YouTubeId)?;
    Ok(StreamSource {
        platform: Platform::YouTube,
        source: format!("https://www.youtube.com/watch?v={id}"),
        embed: format!("{YOUTUBE_EMBED_ORIGIN}/embed/{id}"),
    })
}

fn is_video_id(s: &str) -> bool {
    (1..=25).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A page or profile name as Facebook allows it.
fn is_page_name(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

fn facebook(url: &Url) -> Result<StreamSource, SourceError> {
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let canonical = match segments.as_slice() {
        ["watch"] | ["watch", "live"] | ["video.php"] => query(url, "v")
            .filter(|v| is_video_id(v))
            .map(|v| format!("https://www.facebook.com/watch/?v={v}")),
        [page, "videos", id] | [page, "videos", _, id] if is_page_name(page) && is_video_id(id) => {
            Some(format!("https://www.facebook.com/{page}/videos/{id}/"))
        }
        _ => None,
    }
    .ok_or(SourceError::FacebookVideo)?;
    let href: String = url::form_urlencoded::byte_serialize(canonical.as_bytes()).collect();
    Ok(StreamSource {
        platform: Platform::Facebook,
        embed: format!("{FACEBOOK_EMBED_ORIGIN}/plugins/video.php?href={href}&show_text=false"),
        source: canonical,
    })
}

fn hls(url: &Url) -> Result<StreamSource, SourceError> {
    let path = url.path().to_ascii_lowercase();
    if !path.ends_with(".m3u8") {
        return Err(SourceError::Unsupported);
    }
    let mut clean = url.clone();
    clean.set_fragment(None);
    let s = clean.to_string();
    if s.len() > MAX_URL {
        return Err(SourceError::TooLong);
    }
    Ok(StreamSource {
        platform: Platform::Hls,
        source: s.clone(),
        embed: s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> StreamSource {
        parse(input).unwrap_or_else(|e| panic!("{input}: {e:?}"))
    }

    #[test]
    fn youtube_urls_become_the_privacy_enhanced_embed() {
        let want = "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ";
        for input in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s&feature=share",
            "https://m.youtube.com/watch?app=desktop&v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ?si=abc",
            "https://www.youtube.com/live/dQw4w9WgXcQ?feature=shared",
            "https://WWW.YOUTUBE.COM/embed/dQw4w9WgXcQ",
            "  https://www.youtube.com/watch?v=dQw4w9WgXcQ#t=1  ",
        ] {
            let s = ok(input);
            assert_eq!(s.platform, Platform::YouTube, "{input}");
            assert_eq!(s.embed, want, "{input}");
            assert_eq!(s.source, "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
        }
    }

    #[test]
    fn facebook_urls_become_the_video_plugin_with_an_encoded_href() {
        let s = ok("https://www.facebook.com/doanthanhnien/videos/1234567890123456/");
        assert_eq!(s.platform, Platform::Facebook);
        assert_eq!(
            s.embed,
            "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fwww.facebook.com%2Fdoanthanhnien%2Fvideos%2F1234567890123456%2F&show_text=false"
        );
        let s = ok("https://m.facebook.com/watch/?v=987654321");
        assert_eq!(s.source, "https://www.facebook.com/watch/?v=987654321");
        assert!(s.embed.starts_with(
            "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fwww.facebook.com%2Fwatch%2F%3Fv%3D987654321"
        ));
        ok("https://facebook.com/some.page/videos/live-final/555");
        ok("https://www.facebook.com/watch/live/?v=555");
    }

    #[test]
    fn https_hls_playlists_are_played_as_given_without_the_fragment() {
        let s = ok("https://cdn.example.vn:8443/live/chung-ket/index.M3U8?token=a%20b#x");
        assert_eq!(s.platform, Platform::Hls);
        assert_eq!(
            s.embed,
            "https://cdn.example.vn:8443/live/chung-ket/index.M3U8?token=a%20b"
        );
        assert_eq!(
            csp_origin(s.platform, &s.embed).as_deref(),
            Some("https://cdn.example.vn:8443")
        );
        assert_eq!(
            csp_origin(Platform::YouTube, "x").as_deref(),
            Some(YOUTUBE_EMBED_ORIGIN)
        );
        ok("https://203.113.7.9/hls/a.m3u8");
    }

    #[test]
    fn hostile_and_unsupported_urls_are_refused_with_a_code() {
        let long = format!("https://cdn.example.vn/{}.m3u8", "a".repeat(2000));
        let cases: &[(&str, SourceError)] = &[
            ("", SourceError::Required),
            ("   ", SourceError::Required),
            (&long, SourceError::TooLong),
            ("javascript:alert(1)", SourceError::NotHttps),
            (
                "JaVaScRiPt:alert(document.cookie)//.m3u8",
                SourceError::NotHttps,
            ),
            ("data:text/html;base64,PHNjcmlwdD4=", SourceError::NotHttps),
            (
                "http://www.youtube.com/watch?v=dQw4w9WgXcQ",
                SourceError::NotHttps,
            ),
            (
                "http://evil.example/youtube.com/live.m3u8",
                SourceError::NotHttps,
            ),
            ("ftp://cdn.example.vn/a.m3u8", SourceError::NotHttps),
            (
                "//www.youtube.com/watch?v=dQw4w9WgXcQ",
                SourceError::Invalid,
            ),
            ("www.youtube.com/watch?v=dQw4w9WgXcQ", SourceError::Invalid),
            (
                "https://www.youtube.com@evil.example/watch?v=dQw4w9WgXcQ",
                SourceError::Credentials,
            ),
            (
                "https://user:pass@cdn.example.vn/a.m3u8",
                SourceError::Credentials,
            ),
            (
                "https://www.youtube.com\\@evil.example/x.m3u8",
                SourceError::Invalid,
            ),
            (
                "https://www.youtube.com/wat\nch?v=dQw4w9WgXcQ",
                SourceError::Invalid,
            ),
            ("https://www.you tube.com/watch?v=x", SourceError::Invalid),
            (
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ\u{0}",
                SourceError::Invalid,
            ),
            (
                "https://ưww.youtube.com/watch?v=dQw4w9WgXcQ",
                SourceError::Invalid,
            ),
            (
                "https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
                SourceError::Unsupported,
            ),
            (
                "https://evil.example/https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                SourceError::Unsupported,
            ),
            (
                "https://www.youtube.com:8443/watch?v=dQw4w9WgXcQ",
                SourceError::Port,
            ),
            (
                "https://www.youtube.com/watch?v=short",
                SourceError::YouTubeId,
            ),
            (
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ%22onload",
                SourceError::YouTubeId,
            ),
            (
                "https://www.youtube.com/channel/UCabc",
                SourceError::YouTubeId,
            ),
            ("https://youtu.be/", SourceError::YouTubeId),
            (
                "https://www.facebook.com/login.php?next=x",
                SourceError::FacebookVideo,
            ),
            (
                "https://www.facebook.com/watch/?v=12ab",
                SourceError::FacebookVideo,
            ),
            (
                "https://www.facebook.com/<script>/videos/123/",
                SourceError::FacebookVideo,
            ),
            ("https://fb.watch/abcDEF/", SourceError::ShortLink),
            ("https://localhost/a.m3u8", SourceError::PrivateHost),
            ("https://127.0.0.1/a.m3u8", SourceError::PrivateHost),
            ("https://10.1.2.3/a.m3u8", SourceError::PrivateHost),
            ("https://192.168.1.1/a.m3u8", SourceError::PrivateHost),
            ("https://[::1]/a.m3u8", SourceError::PrivateHost),
            (
                "https://[::ffff:127.0.0.1]/a.m3u8",
                SourceError::PrivateHost,
            ),
            ("https://intranet/a.m3u8", SourceError::PrivateHost),
            ("https://cdn.example.vn/video.mp4", SourceError::Unsupported),
            (
                "https://cdn.example.vn/a.m3u8.html",
                SourceError::Unsupported,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Err(*want), "{input:?}");
            assert!(want.code().starts_with("stream-url-"));
        }
    }
}
