//! What a job writes, as types: each `Rendition` knows its label and its path below the job's
//! output folder (and below `media/{asset_id}/` in the bucket), and the result structs
//! serialise to exactly the JSON the web crate reads from `media_asset.renditions`.

use serde::Serialize;

use crate::protocol::MediaKind;

/// The formats every still picture (poster, photo size) is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StillFormat {
    Jpeg,
    Webp,
}

impl StillFormat {
    pub fn extension(self) -> &'static str {
        match self {
            StillFormat::Jpeg => "jpg",
            StillFormat::Webp => "webp",
        }
    }
}

/// One file (or playlist) a job produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendition {
    /// The HLS master playlist that lists every rung.
    Master,
    /// One HLS rung, named by the short side of its picture.
    Rung { short_side: u32 },
    /// The one progressive MP4 (faststart) for players without HLS.
    Mp4,
    /// The video's poster, named by the width it was made for.
    Poster { width: u32, format: StillFormat },
    /// One size of a photo, named by the width it was made for.
    Photo { width: u32, format: StillFormat },
}

impl Rendition {
    /// The name shown in the result: `360p` for a rung, `1600w` for a photo size.
    pub fn label(self) -> String {
        match self {
            Rendition::Master => "master".into(),
            Rendition::Rung { short_side } => format!("{short_side}p"),
            Rendition::Mp4 => "mp4".into(),
            Rendition::Poster { width, .. } => format!("poster-{width}"),
            Rendition::Photo { width, .. } => format!("{width}w"),
        }
    }

    /// The path below the job's output folder.
    pub fn path(self) -> String {
        match self {
            Rendition::Master => "hls/master.m3u8".into(),
            Rendition::Rung { .. } => format!("hls/{}/index.m3u8", self.label()),
            Rendition::Mp4 => "video.mp4".into(),
            Rendition::Poster { width, format } => {
                format!("poster-{width}.{}", format.extension())
            }
            Rendition::Photo { width, format } => format!("photo-{width}.{}", format.extension()),
        }
    }

    /// The folder the file is in ("" at the top), which the muxer must find existing.
    pub fn folder(self) -> String {
        let path = self.path();
        path.rsplit_once('/')
            .map_or_else(String::new, |(dir, _)| dir.to_owned())
    }

    /// The path as the master playlist names it (relative to `hls/`).
    pub fn from_master(self) -> String {
        let path = self.path();
        path.strip_prefix("hls/").unwrap_or(&path).to_owned()
    }
}

/// What the video pipeline reports (paths relative to the output folder).
#[derive(Debug, Clone, Serialize)]
pub struct VideoResult {
    pub kind: MediaKind,
    pub container: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// As ffprobe shows it (counter-clockwise degrees a player turns the picture).
    pub rotation: i32,
    pub fps: f64,
    pub duration_s: f64,
    pub has_audio: bool,
    pub frames: u64,
    pub renditions: VideoRenditions,
}

#[derive(Debug, Clone, Serialize)]
pub struct VideoRenditions {
    pub hls: String,
    pub variants: Vec<Variant>,
    pub mp4: Mp4File,
    pub poster: Vec<Still>,
}

/// One HLS rung with its measured bandwidth.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub label: String,
    pub width: u32,
    pub height: u32,
    pub max_video_bitrate: usize,
    pub bandwidth: u64,
    pub average_bandwidth: u64,
    pub playlist: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mp4File {
    pub path: String,
    pub width: u32,
    pub height: u32,
}

/// One still picture written as JPEG and WebP; photo sizes also carry their label.
#[derive(Debug, Clone, Serialize)]
pub struct Still {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub width: u32,
    pub height: u32,
    pub jpeg: String,
    pub webp: String,
}

/// What the photo pipeline reports (paths relative to the output folder).
#[derive(Debug, Clone, Serialize)]
pub struct PhotoResult {
    pub kind: MediaKind,
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub orientation: String,
    pub colour: String,
    pub renditions: PhotoRenditions,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoRenditions {
    pub images: Vec<Still>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendition_names_are_the_paths_the_web_crate_and_the_bucket_know() {
        let rung = Rendition::Rung { short_side: 360 };
        assert_eq!(rung.label(), "360p");
        assert_eq!(rung.path(), "hls/360p/index.m3u8");
        assert_eq!(rung.folder(), "hls/360p");
        assert_eq!(rung.from_master(), "360p/index.m3u8");
        assert_eq!(Rendition::Master.path(), "hls/master.m3u8");
        assert_eq!(Rendition::Mp4.path(), "video.mp4");
        assert_eq!(Rendition::Mp4.folder(), "");
        let poster = Rendition::Poster {
            width: 1280,
            format: StillFormat::Webp,
        };
        assert_eq!(poster.path(), "poster-1280.webp");
        let photo = Rendition::Photo {
            width: 1600,
            format: StillFormat::Jpeg,
        };
        assert_eq!(photo.label(), "1600w");
        assert_eq!(photo.path(), "photo-1600.jpg");
    }

    #[test]
    fn a_poster_has_no_label_and_a_photo_size_has_one() {
        let still = |label: Option<&str>| Still {
            label: label.map(Into::into),
            width: 4,
            height: 3,
            jpeg: "a.jpg".into(),
            webp: "a.webp".into(),
        };
        assert_eq!(
            serde_json::to_value(still(None)).unwrap(),
            serde_json::json!({"width": 4, "height": 3, "jpeg": "a.jpg", "webp": "a.webp"})
        );
        assert_eq!(
            serde_json::to_value(still(Some("400w"))).unwrap()["label"],
            "400w"
        );
    }

    /// The JSON the pipelines built by hand before they had types, field for field: what
    /// `process::keyed_renditions` turns into keys and the web crate reads.
    #[test]
    fn results_serialise_to_the_json_stored_before_they_were_typed() {
        let poster = |w: u32, h: u32| Still {
            label: None,
            width: w,
            height: h,
            jpeg: format!("poster-{w}.jpg"),
            webp: format!("poster-{w}.webp"),
        };
        let video = VideoResult {
            kind: MediaKind::Video,
            container: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            codec: "h264".into(),
            width: 640,
            height: 360,
            rotation: 0,
            fps: 25.0,
            duration_s: 2.0,
            has_audio: true,
            frames: 50,
            renditions: VideoRenditions {
                hls: Rendition::Master.path(),
                variants: vec![Variant {
                    label: "360p".into(),
                    width: 640,
                    height: 360,
                    max_video_bitrate: 300_000,
                    bandwidth: 250_000,
                    average_bandwidth: 200_000,
                    playlist: Rendition::Rung { short_side: 360 }.path(),
                }],
                mp4: Mp4File {
                    path: Rendition::Mp4.path(),
                    width: 640,
                    height: 360,
                },
                poster: vec![poster(640, 360), poster(400, 226)],
            },
        };
        assert_eq!(
            serde_json::to_value(&video).unwrap(),
            serde_json::json!({
                "kind": "video", "container": "mov,mp4,m4a,3gp,3g2,mj2", "codec": "h264",
                "width": 640, "height": 360, "rotation": 0, "fps": 25.0, "duration_s": 2.0,
                "has_audio": true, "frames": 50,
                "renditions": {
                    "hls": "hls/master.m3u8",
                    "variants": [{"label": "360p", "width": 640, "height": 360,
                        "max_video_bitrate": 300_000, "bandwidth": 250_000,
                        "average_bandwidth": 200_000, "playlist": "hls/360p/index.m3u8"}],
                    "mp4": {"path": "video.mp4", "width": 640, "height": 360},
                    "poster": [
                        {"width": 640, "height": 360, "jpeg": "poster-640.jpg", "webp": "poster-640.webp"},
                        {"width": 400, "height": 226, "jpeg": "poster-400.jpg", "webp": "poster-400.webp"}
                    ]
                }
            })
        );
        let photo = PhotoResult {
            kind: MediaKind::Photo,
            format: "jpeg",
            width: 800,
            height: 600,
            orientation: "Rotate90".into(),
            colour: "srgb".into(),
            renditions: PhotoRenditions {
                images: vec![Still {
                    label: Some("800w".into()),
                    width: 800,
                    height: 600,
                    jpeg: "photo-800.jpg".into(),
                    webp: "photo-800.webp".into(),
                }],
            },
        };
        assert_eq!(
            serde_json::to_value(&photo).unwrap(),
            serde_json::json!({
                "kind": "photo", "format": "jpeg", "width": 800, "height": 600,
                "orientation": "Rotate90", "colour": "srgb",
                "renditions": {"images": [{"label": "800w", "width": 800, "height": 600,
                    "jpeg": "photo-800.jpg", "webp": "photo-800.webp"}]}
            })
        );
    }
}
