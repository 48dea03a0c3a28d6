//! Reading what a media file holds, with libav (ffmpeg-next) for video and `image` for photos.

use std::path::Path;

use anyhow::Context;

/// What a probe found in a video container.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    pub container: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub duration_s: f64,
    pub has_audio: bool,
}

/// Initialises libav once per process and keeps it quiet.
pub fn init() -> anyhow::Result<()> {
    ffmpeg_next::init().context("libav failed to initialise")?;
    ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
    Ok(())
}

/// Opens `path` as a media container (file protocol only) and describes its streams.
pub fn probe_video(path: &Path) -> anyhow::Result<VideoInfo> {
    init()?;
    let input = ffmpeg_next::format::input(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let stream = input
        .streams()
        .best(ffmpeg_next::media::Type::Video)
        .context("the file has no video stream")?;
    let params = stream.parameters();
    let decoder = ffmpeg_next::codec::context::Context::from_parameters(params)?
        .decoder()
        .video()?;
    let duration_s = if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE)
    } else {
        0.0
    };
    Ok(VideoInfo {
        container: input.format().name().to_owned(),
        codec: decoder.id().name().to_owned(),
        width: decoder.width(),
        height: decoder.height(),
        duration_s,
        has_audio: input
            .streams()
            .best(ffmpeg_next::media::Type::Audio)
            .is_some(),
    })
}

/// Width and height from an image's header, without decoding its pixels.
pub fn image_dimensions(path: &Path) -> anyhow::Result<(u32, u32)> {
    image::ImageReader::open(path)?
        .with_guessed_format()?
        .into_dimensions()
        .with_context(|| format!("cannot read the image header of {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// Makes a clip with the ffmpeg CLI, which links the same Debian libav as this crate.
    fn make_clip(dir: &Path, args: &[&str], name: &str) -> std::path::PathBuf {
        let out = dir.join(name);
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .arg(&out)
            .status()
            .expect("ffmpeg CLI (apt-get install ffmpeg)");
        assert!(status.success());
        out
    }

    #[test]
    fn libav_probes_a_clip_made_at_test_time() {
        let dir = tempfile::tempdir().unwrap();
        let clip = make_clip(
            dir.path(),
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=25:duration=2",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:duration=2",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
            ],
            "clip.mp4",
        );
        let info = probe_video(&clip).unwrap();
        assert_eq!((info.width, info.height), (320, 240));
        assert_eq!(info.codec, "h264");
        assert!(info.container.contains("mp4"), "{}", info.container);
        assert!((info.duration_s - 2.0).abs() < 0.2, "{}", info.duration_s);
        assert!(info.has_audio);
    }

    #[test]
    fn libav_refuses_a_text_file_named_mp4() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("not-a-video.mp4");
        std::fs::write(&fake, "this is plain text, not a video\n").unwrap();
        assert!(probe_video(&fake).is_err());
    }

    #[test]
    fn image_reads_the_header_of_a_png_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        image::RgbImage::from_fn(37, 21, |x, y| image::Rgb([x as u8, y as u8, 7]))
            .save(&path)
            .unwrap();
        assert_eq!(image_dimensions(&path).unwrap(), (37, 21));
        let decoded = image::open(&path).unwrap().to_rgb8();
        assert_eq!(decoded.get_pixel(5, 3), &image::Rgb([5, 3, 7]));
    }
}
