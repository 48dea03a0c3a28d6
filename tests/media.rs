#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The sandboxed `hoithi media-job` child on media made at test time with the ffmpeg CLI (the
//! same Debian libav the binary links): ladders, rotation, codecs, VFR, refusals, photo
//! orientation and metadata stripping, bounded memory. Outputs are checked with ffprobe.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::media::ffmpeg;
use serde_json::Value;

struct Run {
    code: Option<i32>,
    result: Option<Value>,
    refused: Option<String>,
    progress: Vec<u8>,
    out: PathBuf,
    stderr: String,
}

fn media_job(input: &Path, kind: &str, out: &Path) -> Run {
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = Command::new(common::BIN);
    cmd.env_clear()
        .arg("media-job")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .arg("--kind")
        .arg(kind)
        .arg("--max-seconds")
        .arg("180");
    let (status, stdout, stderr, _) = common::run(cmd, Duration::from_secs(300));
    let mut run = Run {
        code: status.code(),
        result: None,
        refused: None,
        progress: Vec::new(),
        out: out.to_owned(),
        stderr,
    };
    for line in stdout.lines() {
        if let Some(p) = line.strip_prefix("progress ") {
            run.progress.push(p.parse().unwrap());
        } else if let Some(j) = line.strip_prefix("result ") {
            run.result = Some(serde_json::from_str(j).unwrap());
        } else if let Some(r) = line.strip_prefix("refused ") {
            run.refused = Some(r.to_owned());
        }
    }
    run
}

fn ffprobe(path: &Path, entries: &str) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_entries",
            entries,
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(out.status.success(), "ffprobe {}", path.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Decodes a whole file (e.g. an HLS rung: playlist, init and every segment) with the CLI.
fn decodes(path: &Path) -> bool {
    Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .status()
        .unwrap()
        .success()
}

fn done(run: &Run) -> &Value {
    assert_eq!(
        run.code,
        Some(0),
        "media-job failed: refused={:?} stderr={}",
        run.refused,
        run.stderr
    );
    run.result.as_ref().expect("a result line")
}

fn variant_sizes(result: &Value) -> Vec<(u64, u64)> {
    result["renditions"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()))
        .collect()
}

fn stream_size(path: &Path) -> (u64, u64) {
    let v = ffprobe(path, "stream=width,height,codec_type");
    let s = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "video")
        .unwrap()
        .clone();
    (s["width"].as_u64().unwrap(), s["height"].as_u64().unwrap())
}

fn duration(path: &Path) -> f64 {
    ffprobe(path, "format=duration")["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn landscape_1080p_h264_with_audio_becomes_a_four_rung_ladder_mp4_and_posters() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1920x1080:rate=30:duration=3",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=3",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        clip.to_str().unwrap(),
    ]);
    let run = media_job(&clip, "video", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(
        variant_sizes(result),
        vec![(640, 360), (854, 480), (1280, 720), (1920, 1080)]
    );
    assert_eq!(result["has_audio"], true);
    assert!((result["duration_s"].as_f64().unwrap() - 3.0).abs() <= 1.0 / 30.0 + 1e-6);
    assert!(
        run.progress.windows(2).all(|w| w[0] <= w[1]),
        "{:?}",
        run.progress
    );
    assert_eq!(run.progress.last(), Some(&100));

    let master = std::fs::read_to_string(run.out.join("hls/master.m3u8")).unwrap();
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 4, "{master}");
    assert!(master.contains("RESOLUTION=640x360") && master.contains("BANDWIDTH="));
    for label in ["360p", "480p", "720p", "1080p"] {
        let playlist = run.out.join(format!("hls/{label}/index.m3u8"));
        let text = std::fs::read_to_string(&playlist).unwrap();
        assert!(text.contains("#EXT-X-MAP:URI=\"init.mp4\""), "{text}");
        assert!(text.contains("#EXT-X-ENDLIST"));
        assert!(decodes(&playlist), "{label} does not decode");
    }
    // 360p fits a weak 3G link: at most 400 kbit/s with its audio.
    let v360 = &result["renditions"]["variants"][0];
    assert!(
        v360["average_bandwidth"].as_u64().unwrap() <= 400_000,
        "{v360}"
    );

    let mp4 = run.out.join("video.mp4");
    assert_eq!(stream_size(&mp4), (1280, 720));
    assert!((duration(&mp4) - 3.0).abs() < 0.1);
    // +faststart: the moov box comes before mdat.
    let bytes = std::fs::read(&mp4).unwrap();
    let moov = bytes.windows(4).position(|w| w == b"moov").unwrap();
    let mdat = bytes.windows(4).position(|w| w == b"mdat").unwrap();
    assert!(moov < mdat);

    for (w, h) in [(1280, 720), (400, 226)] {
        let jpg = image::open(run.out.join(format!("poster-{w}.jpg"))).unwrap();
        assert_eq!((jpg.width(), jpg.height()), (w, h));
        let webp = run.out.join(format!("poster-{w}.webp"));
        assert_eq!(stream_size(&webp), (w.into(), h.into()));
    }
    let rss = result["peak_rss_kib"].as_u64().unwrap();
    assert!(rss < 1_200_000, "peak RSS {rss} KiB");
}

#[test]
fn keyframes_are_every_two_seconds_and_aligned_across_rungs() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=854x480:rate=25:duration=9",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "250",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let run = media_job(&clip, "video", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(variant_sizes(result), vec![(640, 360), (854, 480)]);
    let keyframes = |label: &str| -> Vec<String> {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v",
                "-skip_frame",
                "nokey",
                "-show_entries",
                "frame=pts_time",
                "-of",
                "csv=p=0",
            ])
            .arg(run.out.join(format!("hls/{label}/index.m3u8")))
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim().trim_end_matches(',').to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let k360 = keyframes("360p");
    assert_eq!(k360, keyframes("480p"));
    let times: Vec<f64> = k360.iter().map(|t| t.parse().unwrap()).collect();
    assert_eq!(times.len(), 5, "{times:?}");
    for (i, t) in times.iter().enumerate() {
        assert!((t - times[0] - 2.0 * i as f64).abs() < 0.05, "{times:?}");
    }
    let playlist = std::fs::read_to_string(run.out.join("hls/360p/index.m3u8")).unwrap();
    let extinf: Vec<f64> = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|d| d.trim_end_matches(',').parse().unwrap())
        .collect();
    assert_eq!(extinf.len(), 3, "{playlist}");
    assert!(
        (extinf[0] - 4.0).abs() < 0.05 && (extinf[1] - 4.0).abs() < 0.05,
        "{extinf:?}"
    );
}

#[test]
fn portrait_phone_video_with_rotation_90_stays_portrait() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.mp4");
    let clip = dir.path().join("phone.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        raw.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        raw.to_str().unwrap(),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        clip.to_str().unwrap(),
    ]);
    let run = media_job(&clip, "video", &dir.path().join("out"));
    let result = done(&run);
    // ffprobe's convention: 90 means the player turns the picture 90° counter-clockwise.
    assert_eq!(result["rotation"], 90);
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(720), Some(1280))
    );
    assert_eq!(
        variant_sizes(result),
        vec![(360, 640), (480, 854), (720, 1280)]
    );
    assert_eq!(stream_size(&run.out.join("hls/720p/init.mp4")), (720, 1280));
    assert_eq!(stream_size(&run.out.join("video.mp4")), (720, 1280));
    let poster = image::open(run.out.join("poster-400.jpg")).unwrap();
    assert!(poster.height() > poster.width());
    // The same picture the ffmpeg CLI shows with its autorotation (not mirrored or upside down).
    let cli = dir.path().join("cli.png");
    let ours = dir.path().join("ours.png");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-frames:v",
        "1",
        cli.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        run.out.join("video.mp4").to_str().unwrap(),
        "-frames:v",
        "1",
        ours.to_str().unwrap(),
    ]);
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-i"])
        .arg(&cli)
        .arg("-i")
        .arg(&ours)
        .args(["-lavfi", "psnr", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let psnr: f64 = log
        .split("average:")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no PSNR in {log}"));
    assert!(
        psnr > 30.0,
        "PSNR {psnr} against the CLI's autorotated frame"
    );
}

#[test]
fn hevc_one_second_clip_without_upscaling() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("hevc.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30:duration=1",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=300:duration=1",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "log-level=error",
        "-tag:v",
        "hvc1",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        clip.to_str().unwrap(),
    ]);
    let run = media_job(&clip, "video", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(result["codec"], "hevc");
    assert_eq!(variant_sizes(result), vec![(640, 360)]);
    assert!((result["duration_s"].as_f64().unwrap() - 1.0).abs() <= 1.0 / 30.0 + 1e-6);
    assert_eq!(stream_size(&run.out.join("video.mp4")), (640, 360));
    assert!(decodes(&run.out.join("hls/360p/index.m3u8")));
}

#[test]
fn video_without_audio_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("silent.mov");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x480:rate=24:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let run = media_job(&clip, "video", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(result["has_audio"], false);
    assert_eq!(variant_sizes(result), vec![(480, 360), (640, 480)]);
    let streams = ffprobe(&run.out.join("video.mp4"), "stream=codec_type");
    assert_eq!(streams["streams"].as_array().unwrap().len(), 1);
    assert!(decodes(&run.out.join("hls/480p/index.m3u8")));
}

#[test]
fn variable_frame_rate_keeps_its_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("vfr.mp4");
    // First second at 30 fps, second second at 10 fps.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30:duration=2",
        "-vf",
        "select='lt(n\\,30)+not(mod(n\\,3))'",
        "-vsync",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let run = media_job(&clip, "video", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(result["frames"], 40);
    let mp4 = run.out.join("video.mp4");
    let frames = ffprobe(&mp4, "stream=nb_frames")["streams"][0]["nb_frames"]
        .as_str()
        .unwrap()
        .parse::<u32>()
        .unwrap();
    assert_eq!(frames, 40);
    assert!(
        (duration(&mp4) - 2.0).abs() <= 0.1 + 1e-6,
        "{}",
        duration(&mp4)
    );
}

fn refused(run: &Run) -> String {
    assert_eq!(run.code, Some(3), "stderr: {}", run.stderr);
    run.refused.clone().expect("a refused line")
}

#[test]
fn a_truncated_mp4_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("full.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30:duration=2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&clip).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let reason = refused(&media_job(&cut, "video", &dir.path().join("out")));
    assert!(reason.starts_with("video-unreadable "), "{reason}");
}

#[test]
fn a_text_file_named_mp4_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("video.mp4");
    std::fs::write(&fake, "Hello, this is not a video at all.\n").unwrap();
    let reason = refused(&media_job(&fake, "video", &dir.path().join("out")));
    assert!(reason.starts_with("video-unreadable "), "{reason}");
}

#[test]
fn an_hls_playlist_named_mp4_is_refused_without_opening_what_it_references() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.ts");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-f",
        "mpegts",
        secret.to_str().unwrap(),
    ]);
    let fake = dir.path().join("video.mp4");
    std::fs::write(
        &fake,
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://{}\n#EXTINF:1.0,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n",
            secret.display()
        ),
    )
    .unwrap();
    let reason = refused(&media_job(&fake, "video", &dir.path().join("out")));
    assert!(reason.starts_with("video-unreadable "), "{reason}");
    assert!(
        std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn a_video_without_a_video_stream_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("audio.m4a");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-c:a",
        "aac",
        clip.to_str().unwrap(),
    ]);
    let reason = refused(&media_job(&clip, "video", &dir.path().join("out")));
    assert!(reason.starts_with("video-no-video-stream "), "{reason}");
}

// ---- photos ----

/// A JPEG whose EXIF says orientation 6 (rotate 90° clockwise) and carries GPS coordinates.
fn jpeg_with_exif_orientation_6_and_gps(path: &Path) {
    jpeg_with_exif_orientation_and_gps(path, (300, 200), 6);
}

/// A JPEG of `size` (as stored: red top half, blue bottom half) whose EXIF gives
/// `orientation` and GPS coordinates.
fn jpeg_with_exif_orientation_and_gps(path: &Path, size: (u32, u32), orientation: u32) {
    let img = image::RgbImage::from_fn(size.0, size.1, |_, y| {
        if y < size.1 / 2 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&img)
        .unwrap();
    // TIFF (little endian): IFD0 {Orientation=6, GPS IFD pointer}, GPS IFD {LatitudeRef N, Latitude}.
    let mut t: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&typ.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    };
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0112, 3, 1, orientation);
    let gps_ifd = 8 + 2 + 2 * 12 + 4;
    entry(&mut t, 0x8825, 4, 1, gps_ifd);
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len() as u32, gps_ifd);
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
    let rationals = gps_ifd + 2 + 2 * 12 + 4;
    entry(&mut t, 0x0002, 5, 3, rationals);
    t.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(21u32, 1u32), (1, 1), (3000, 100)] {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&t);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    std::fs::write(path, out).unwrap();
}

/// The marker segments of a JPEG up to the start of scan.
fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    let mut i = 2;
    let mut markers = Vec::new();
    while i + 4 <= bytes.len() {
        assert_eq!(bytes[i], 0xFF);
        let m = bytes[i + 1];
        markers.push(m);
        if m == 0xDA {
            break;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        i += 2 + len;
    }
    markers
}

/// The chunk names of a WebP (RIFF) file.
fn webp_chunks(bytes: &[u8]) -> Vec<String> {
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WEBP");
    let mut i = 12;
    let mut chunks = Vec::new();
    while i + 8 <= bytes.len() {
        chunks.push(String::from_utf8_lossy(&bytes[i..i + 4]).into_owned());
        let len = u32::from_le_bytes(bytes[i + 4..i + 8].try_into().unwrap()) as usize;
        i += 8 + len + (len & 1);
    }
    chunks
}

#[test]
fn a_jpeg_with_exif_orientation_6_and_gps_is_turned_and_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("IMG_0001.JPG");
    jpeg_with_exif_orientation_6_and_gps(&input);
    let run = media_job(&input, "photo", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(200), Some(300))
    );
    let images = result["renditions"]["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    for image in images {
        // Never upscaled: a 200 px wide photo stays 200 px wide.
        assert_eq!(image["width"], 200);
        let jpeg_bytes = std::fs::read(run.out.join(image["jpeg"].as_str().unwrap())).unwrap();
        let markers = jpeg_markers(&jpeg_bytes);
        assert!(
            markers
                .iter()
                .all(|m| !(0xE1..=0xEF).contains(m) && *m != 0xFE),
            "metadata segments in the JPEG: {markers:x?}"
        );
        assert!(!jpeg_bytes.windows(4).any(|w| w == b"Exif"));
        let webp_bytes = std::fs::read(run.out.join(image["webp"].as_str().unwrap())).unwrap();
        let chunks = webp_chunks(&webp_bytes);
        assert!(
            chunks.iter().all(|c| c == "VP8 " || c == "VP8L"),
            "WebP chunks {chunks:?}"
        );
        // Turned 90° clockwise: the red top is now on the right, blue on the left.
        let img = image::load_from_memory(&jpeg_bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (200, 300));
        let left = img.get_pixel(20, 150);
        let right = img.get_pixel(180, 150);
        assert!(left[2] > 150 && left[0] < 80, "{left:?}");
        assert!(right[0] > 150 && right[2] < 80, "{right:?}");
        let webp = image::load_from_memory(&webp_bytes).unwrap().to_rgb8();
        assert_eq!(webp.dimensions(), (200, 300));
    }
}

/// A JPEG twice as wide as the widest rendition is decoded at a reduced scale in the DCT; its
/// renditions keep the sizes the full-size cascade gave (each rung rounded from the one
/// before), the photo's own size is reported, and EXIF orientation still turns it.
#[test]
fn a_large_jpeg_decoded_at_a_reduced_scale_keeps_its_rung_sizes_and_orientation() {
    let dir = tempfile::tempdir().unwrap();
    // A portrait photo stored on its side (4400×3300, orientation 6: 3300 wide once turned,
    // decoded at 1/2), then a landscape one of an odd size whose rungs round.
    type Case = ((u32, u32), u32, (u32, u32), &'static str, [(u32, u32); 3]);
    let cases: [Case; 2] = [
        (
            (4400, 3300),
            6,
            (3300, 4400),
            "Rotate90",
            [(1600, 2133), (800, 1067), (400, 534)],
        ),
        (
            (4001, 2999),
            1,
            (4001, 2999),
            "NoTransforms",
            [(1600, 1199), (800, 600), (400, 300)],
        ),
    ];
    for (i, (stored, orientation, upright, named, rungs)) in cases.into_iter().enumerate() {
        let input = dir.path().join(format!("IMG_{i}.JPG"));
        jpeg_with_exif_orientation_and_gps(&input, stored, orientation);
        let run = media_job(&input, "photo", &dir.path().join(format!("out{i}")));
        let result = done(&run);
        assert_eq!(
            (result["width"].as_u64(), result["height"].as_u64()),
            (Some(u64::from(upright.0)), Some(u64::from(upright.1)))
        );
        assert_eq!(result["orientation"], named);
        let images = result["renditions"]["images"].as_array().unwrap();
        let sizes: Vec<(u32, u32)> = images
            .iter()
            .map(|i| {
                let size = |k: &str| u32::try_from(i[k].as_u64().unwrap()).unwrap();
                (size("width"), size("height"))
            })
            .collect();
        assert_eq!(sizes, rungs);
        for (image, (w, h)) in images.iter().zip(rungs) {
            assert_no_metadata(&run.out, image);
            for file in ["jpeg", "webp"] {
                let path = run.out.join(image[file].as_str().unwrap());
                let img = image::open(&path).unwrap().to_rgb8();
                assert_eq!(img.dimensions(), (w, h), "{}", path.display());
                // Red was on top as stored: on the right once turned 90° clockwise.
                let (red, blue) = if orientation == 6 {
                    (
                        img.get_pixel(w * 9 / 10, h / 2),
                        img.get_pixel(w / 10, h / 2),
                    )
                } else {
                    (
                        img.get_pixel(w / 2, h / 10),
                        img.get_pixel(w / 2, h * 9 / 10),
                    )
                };
                assert!(red[0] > 150 && red[2] < 80, "{}: {red:?}", path.display());
                assert!(
                    blue[2] > 150 && blue[0] < 80,
                    "{}: {blue:?}",
                    path.display()
                );
            }
        }
    }
}

/// The media child lowers its own CPU priority before it touches the input, and every thread
/// it starts (decoder, scalers, encoders) inherits it: a burst of media work takes the cores
/// the server leaves, not the ones its pages need.
#[test]
fn the_media_child_and_all_its_threads_run_at_a_lower_cpu_priority() {
    /// The nice value of a task, field 19 of its `stat` (after the command's parentheses).
    fn nice(stat: &Path) -> Option<i32> {
        let text = std::fs::read_to_string(stat).ok()?;
        let after = &text[text.rfind(')')? + 1..];
        after.split_whitespace().nth(16)?.parse().ok()
    }
    let ours = nice(Path::new("/proc/self/stat")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    std::fs::write(&clip, common::media::clip(dir.path(), "1280x720", 8)).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut child = Command::new(common::BIN)
        .env_clear()
        .args(["media-job", "--kind", "video", "--input"])
        .arg(&clip)
        .arg("--output")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tasks = PathBuf::from(format!("/proc/{}/task", child.id()));
    // Watch the child's threads until it has started several (decode and encode threads).
    let mut seen = std::collections::BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while seen.len() < 4 && std::time::Instant::now() < deadline {
        if let Ok(entries) = std::fs::read_dir(&tasks) {
            for task in entries.flatten() {
                if let Some(n) = nice(&task.path().join("stat")) {
                    seen.insert(task.file_name(), n);
                }
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.len() >= 4, "saw only {} threads: {seen:?}", seen.len());
    let want = (ours + 10).min(19);
    assert!(
        seen.values().all(|n| *n == want),
        "the child's threads' nice values {seen:?}, want {want} (the test runs at {ours})"
    );
}

#[test]
fn a_large_photo_gets_a_resize_cascade_within_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.png");
    image::RgbImage::from_fn(4000, 3000, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    })
    .save(&input)
    .unwrap();
    let run = media_job(&input, "photo", &dir.path().join("out"));
    let result = done(&run);
    let sizes: Vec<(u64, u64)> = result["renditions"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["width"].as_u64().unwrap(), i["height"].as_u64().unwrap()))
        .collect();
    assert_eq!(sizes, vec![(1600, 1200), (800, 600), (400, 300)]);
    let rss = result["peak_rss_kib"].as_u64().unwrap();
    assert!(rss < 300_000, "peak RSS {rss} KiB");
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_png_whose_header_claims_50000_by_50000_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bomb.png");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // One stored zlib block of 100 zero bytes: a real decoder would want 7.5 GB for the rest.
    let mut idat = b"IDAT".to_vec();
    idat.extend_from_slice(&[0x78, 0x01, 0x01, 100, 0, !100, 0xFF]);
    idat.extend_from_slice(&[0u8; 100]);
    idat.extend_from_slice(&((100u32 << 16) | 1).to_be_bytes());
    png.extend_from_slice(&((idat.len() - 4) as u32).to_be_bytes());
    png.extend_from_slice(&idat);
    png.extend_from_slice(&crc32(&idat).to_be_bytes());
    png.extend_from_slice(&0u32.to_be_bytes());
    png.extend_from_slice(b"IEND");
    png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    std::fs::write(&input, png).unwrap();
    let run = media_job(&input, "photo", &dir.path().join("out"));
    let reason = refused(&run);
    assert!(reason.starts_with("photo-too-large "), "{reason}");
}

#[test]
fn a_text_file_named_jpg_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("photo.jpg");
    std::fs::write(&input, "not a photo").unwrap();
    let reason = refused(&media_job(&input, "photo", &dir.path().join("out")));
    assert!(reason.starts_with("photo-"), "{reason}");
}

fn media_job_max(input: &Path, out: &Path, max_seconds: &str) -> Run {
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = Command::new(common::BIN);
    cmd.env_clear()
        .arg("media-job")
        .args(["--input"])
        .arg(input)
        .arg("--output")
        .arg(out)
        .args(["--kind", "video", "--max-seconds", max_seconds]);
    let (status, stdout, stderr, _) = common::run(cmd, Duration::from_secs(120));
    Run {
        code: status.code(),
        result: None,
        refused: stdout
            .lines()
            .find_map(|l| l.strip_prefix("refused ").map(str::to_owned)),
        progress: Vec::new(),
        out: out.to_owned(),
        stderr,
    }
}

#[test]
fn videos_longer_than_the_contest_limit_over_4k_or_over_60_fps_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=10:duration=3",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        long.to_str().unwrap(),
    ]);
    let reason = refused(&media_job_max(&long, &dir.path().join("o1"), "2"));
    assert!(
        reason.starts_with("video-too-long ") && reason.contains("at most 2 seconds"),
        "{reason}"
    );

    let huge = dir.path().join("8k.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=gray:size=4352x2448:rate=5:duration=0.2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        huge.to_str().unwrap(),
    ]);
    let reason = refused(&media_job(&huge, "video", &dir.path().join("o2")));
    assert!(reason.starts_with("video-too-large "), "{reason}");

    let fast = dir.path().join("fast.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=120:duration=0.5",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        fast.to_str().unwrap(),
    ]);
    let reason = refused(&media_job(&fast, "video", &dir.path().join("o3")));
    assert!(reason.starts_with("video-fps-too-high "), "{reason}");
}

/// Asserts that a photo rendition carries no metadata: a JPEG with only JFIF (no APPn other
/// than APP0, no comment: so no EXIF, GPS, XMP or ICC) and a WebP with only its image chunk.
fn assert_no_metadata(out: &Path, image: &Value) {
    let jpeg = std::fs::read(out.join(image["jpeg"].as_str().unwrap())).unwrap();
    let markers = jpeg_markers(&jpeg);
    assert!(
        markers
            .iter()
            .all(|m| !(0xE1..=0xEF).contains(m) && *m != 0xFE),
        "metadata segments in the JPEG: {markers:x?}"
    );
    for needle in [&b"Exif"[..], b"ICC_PROFILE", b"http://ns.adobe.com/xap"] {
        assert!(!jpeg.windows(needle.len()).any(|w| w == needle));
    }
    let webp = std::fs::read(out.join(image["webp"].as_str().unwrap())).unwrap();
    let chunks = webp_chunks(&webp);
    assert!(
        chunks.iter().all(|c| c == "VP8 " || c == "VP8L"),
        "WebP chunks {chunks:?}"
    );
}

/// `heif-enc` (libheif-examples, the HEVC encoder iPhones' format uses) turns `src` into a HEIC.
fn heif_enc(src: &Path, heic: &Path, extra: &[&str]) {
    let output = Command::new("heif-enc")
        .args(["-q", "90"])
        .args(extra)
        .arg("-o")
        .arg(heic)
        .arg(src)
        .output()
        .expect("heif-enc is missing: ./dev setup installs libheif-examples");
    assert!(
        output.status.success(),
        "heif-enc: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = std::fs::read(heic).unwrap();
    assert_eq!(&bytes[4..12], b"ftypheic", "not a HEIC");
}

#[test]
fn a_heic_photo_with_exif_gps_becomes_web_renditions_without_metadata() {
    let dir = tempfile::tempdir().unwrap();
    // 300×200, red top and blue bottom, EXIF orientation 6 and GPS coordinates.
    let jpeg = dir.path().join("src.jpg");
    jpeg_with_exif_orientation_6_and_gps(&jpeg);
    let heic = dir.path().join("IMG_0002.HEIC");
    heif_enc(&jpeg, &heic, &[]);
    // The input really carries the EXIF block with its GPS IFD (tag 0x8825).
    let input = std::fs::read(&heic).unwrap();
    assert!(input.windows(6).any(|w| w == b"Exif\0\0"));
    assert!(input.windows(2).any(|w| w == [0x25, 0x88]));

    let run = media_job(&heic, "photo", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(result["format"], "heic");
    // heif-enc stores the pixels as given and writes no `irot`; HEIF makes `irot`/`imir`
    // authoritative and an EXIF orientation inside a HEIF informative only, so the picture
    // stays 300×200 (as libheif's heif-convert shows it).
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(300), Some(200))
    );
    let images = result["renditions"]["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    for image in images {
        assert_eq!(
            (image["width"].as_u64(), image["height"].as_u64()),
            (Some(300), Some(200))
        );
        assert_no_metadata(&run.out, image);
    }
    let out = image::open(run.out.join("photo-400.jpg"))
        .unwrap()
        .to_rgb8();
    let top = out.get_pixel(150, 40);
    let bottom = out.get_pixel(150, 160);
    assert!(top[0] > 150 && top[2] < 80, "{top:?}");
    assert!(bottom[2] > 150 && bottom[0] < 80, "{bottom:?}");
}

/// A HEIF made in-process by libheif (the JPEG codec: the embedded libheif has no HEVC
/// encoder) from `pixels`, shown turned by `orientation` (libheif writes `irot`/`imir`), with
/// an nclx `colr` box when `nclx_primaries` is given, and EXIF with GPS coordinates.
fn heif_via_libheif(
    path: &Path,
    pixels: &image::RgbImage,
    orientation: libheif_rs::ImageOrientation,
    nclx_primaries: Option<libheif_rs::ColorPrimaries>,
) {
    use libheif_rs::{
        Channel, ColorProfileNCLX, ColorSpace, CompressionFormat, EncoderQuality, EncodingOptions,
        HeifContext, LibHeif, RgbChroma,
    };
    let (w, h) = pixels.dimensions();
    let lib = LibHeif::new();
    let mut img = libheif_rs::Image::new(w, h, ColorSpace::Rgb(RgbChroma::Rgb)).unwrap();
    img.create_plane(Channel::Interleaved, w, h, 8).unwrap();
    {
        let plane = img.planes_mut().interleaved.unwrap();
        for (y, row) in pixels.as_raw().chunks_exact(w as usize * 3).enumerate() {
            plane.data[y * plane.stride..][..row.len()].copy_from_slice(row);
        }
    }
    let mut options = EncodingOptions::new().unwrap();
    options.set_image_orientation(orientation);
    if let Some(primaries) = nclx_primaries {
        let mut nclx = ColorProfileNCLX::new().unwrap();
        nclx.set_color_primaries(primaries);
        img.set_color_profile_nclx(&nclx).unwrap();
        options.set_mac_os_compatibility_workaround_no_nclx_profile(false);
    }
    let mut ctx = HeifContext::new().unwrap();
    let mut encoder = lib.encoder_for_format(CompressionFormat::Jpeg).unwrap();
    encoder.set_quality(EncoderQuality::Lossy(95)).unwrap();
    let handle = ctx.encode_image(&img, &mut encoder, Some(options)).unwrap();
    let gps = path.with_extension("gps.jpg");
    jpeg_with_exif_orientation_6_and_gps(&gps);
    let gps = std::fs::read(&gps).unwrap();
    let exif_at = gps.windows(6).position(|w| w == b"Exif\0\0").unwrap();
    let exif_len = u16::from_be_bytes([gps[exif_at - 2], gps[exif_at - 1]]) as usize - 2;
    ctx.add_exif_metadata(&handle, &gps[exif_at + 6..exif_at + exif_len])
        .unwrap();
    ctx.write_to_file(path.to_str().unwrap()).unwrap();
}

#[test]
fn a_heif_whose_irot_turns_it_is_shown_upright() {
    let dir = tempfile::tempdir().unwrap();
    // Stored as the sensor saw it: 300×200, red top, blue bottom; `irot` says turn it 90°
    // clockwise to show it, as an iPhone held upright writes it.
    let pixels = image::RgbImage::from_fn(300, 200, |_, y| {
        image::Rgb(if y < 100 {
            [220, 20, 20]
        } else {
            [20, 20, 220]
        })
    });
    let heif = dir.path().join("IMG_0003.HEIF");
    heif_via_libheif(
        &heif,
        &pixels,
        libheif_rs::ImageOrientation::Rotate90Cw,
        None,
    );
    let bytes = std::fs::read(&heif).unwrap();
    assert!(bytes.windows(4).any(|w| w == b"irot"), "no irot written");
    assert!(
        bytes.windows(6).any(|w| w == b"Exif\0\0"),
        "no EXIF written"
    );

    let run = media_job(&heif, "photo", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(result["format"], "heic");
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(200), Some(300))
    );
    for image in result["renditions"]["images"].as_array().unwrap() {
        assert_no_metadata(&run.out, image);
    }
    // Turned 90° clockwise: the red top is now on the right, blue on the left.
    let out = image::open(run.out.join("photo-400.jpg"))
        .unwrap()
        .to_rgb8();
    assert_eq!(out.dimensions(), (200, 300));
    let left = out.get_pixel(20, 150);
    let right = out.get_pixel(180, 150);
    assert!(left[2] > 150 && left[0] < 80, "{left:?}");
    assert!(right[0] > 150 && right[2] < 80, "{right:?}");
}

/// Two flat patches (left, right) of Display P3 values whose sRGB equivalents are in gamut
/// and far enough from the untouched values that a skipped conversion fails the test.
const P3_PATCHES: [[u8; 3]; 2] = [[180, 120, 60], [90, 150, 200]];

fn p3_patches() -> image::RgbImage {
    image::RgbImage::from_fn(400, 200, |x, _| image::Rgb(P3_PATCHES[(x >= 200) as usize]))
}

/// Display P3 (D65, sRGB transfer) to sRGB, computed here from the published linear matrix
/// (not by the library under test).
fn p3_to_srgb(c: [u8; 3]) -> [u8; 3] {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let enc = |v: f64| {
        let v = v.clamp(0.0, 1.0);
        let e = if v <= 0.003_130_8 {
            v * 12.92
        } else {
            1.055 * v.powf(1.0 / 2.4) - 0.055
        };
        (e * 255.0).round() as u8
    };
    let (r, g, b) = (lin(c[0]), lin(c[1]), lin(c[2]));
    [
        enc(1.224_940_1 * r - 0.224_940_4 * g),
        enc(-0.042_056_9 * r + 1.042_057_1 * g),
        enc(-0.019_637_6 * r - 0.078_636_1 * g + 1.098_273_5 * b),
    ]
}

/// The rendition's left and right patch colours match the sRGB equivalents of P3_PATCHES.
fn assert_patches_in_srgb(run: &Run, what: &str) {
    let result = done(run);
    assert!(
        result["colour"].as_str().unwrap().starts_with("converted"),
        "{what}: {}",
        result["colour"]
    );
    for image in result["renditions"]["images"].as_array().unwrap() {
        assert_no_metadata(&run.out, image);
    }
    for file in ["photo-400.jpg", "photo-400.webp"] {
        let out = image::open(run.out.join(file)).unwrap().to_rgb8();
        for (i, x) in [100, 300].into_iter().enumerate() {
            let got = out.get_pixel(x, 100).0;
            let want = p3_to_srgb(P3_PATCHES[i]);
            let close = got
                .iter()
                .zip(want)
                .all(|(g, w)| (i16::from(*g) - i16::from(w)).abs() <= 6);
            assert!(
                close,
                "{what} {file}: patch {i} is {got:?}, want sRGB {want:?} (P3 {:?})",
                P3_PATCHES[i]
            );
        }
    }
}

#[test]
fn photos_in_display_p3_are_converted_to_srgb_jpeg_heic_icc_and_heic_nclx() {
    use image::ImageEncoder;
    // The conversion is visible: each patch moves by more than the tolerance.
    for c in P3_PATCHES {
        let s = p3_to_srgb(c);
        assert!(
            c.iter().zip(s).any(|(a, b)| a.abs_diff(b) > 12),
            "{c:?} {s:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let icc = moxcms::ColorProfile::new_display_p3().encode().unwrap();
    let pixels = p3_patches();

    // A JPEG with the Display P3 profile in APP2, as an iPhone's "most compatible" photo.
    let jpeg = dir.path().join("p3.jpg");
    {
        let mut bytes = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95);
        enc.set_icc_profile(icc.clone()).unwrap();
        enc.write_image(&pixels, 400, 200, image::ExtendedColorType::Rgb8)
            .unwrap();
        assert!(bytes.windows(11).any(|w| w == b"ICC_PROFILE"));
        std::fs::write(&jpeg, bytes).unwrap();
    }
    let run = media_job(&jpeg, "photo", &dir.path().join("out-jpeg"));
    assert_patches_in_srgb(&run, "JPEG with ICC");

    // A HEIC with the profile in its `colr` box (heif-enc copies the JPEG's profile).
    let heic = dir.path().join("p3-icc.heic");
    heif_enc(&jpeg, &heic, &[]);
    assert!(
        std::fs::read(&heic)
            .unwrap()
            .windows(4)
            .any(|w| w == b"prof")
    );
    let run = media_job(&heic, "photo", &dir.path().join("out-heic-icc"));
    assert_patches_in_srgb(&run, "HEIC with ICC");

    // A HEIF that states P3 with nclx code points only (primaries 12, sRGB transfer). heif-enc
    // 1.15 writes no nclx box (its macOS workaround), so libheif makes this one in-process.
    let nclx = dir.path().join("p3-nclx.heif");
    heif_via_libheif(
        &nclx,
        &pixels,
        libheif_rs::ImageOrientation::Normal,
        Some(libheif_rs::ColorPrimaries::SMPTE_EG_432_1),
    );
    // libheif's JPEG codec stamps its own code points (BT.601) over the requested ones, so
    // the box's primaries and transfer are set here: 12 (P3 D65) and 13 (sRGB curve).
    let mut bytes = std::fs::read(&nclx).unwrap();
    let at = bytes.windows(8).position(|w| w == b"colrnclx").unwrap() + 8;
    bytes[at..at + 4].copy_from_slice(&[0, 12, 0, 13]);
    std::fs::write(&nclx, bytes).unwrap();
    let run = media_job(&nclx, "photo", &dir.path().join("out-heic-nclx"));
    assert_patches_in_srgb(&run, "HEIC with nclx");
}

#[test]
fn an_untagged_photo_keeps_its_colours() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("plain.png");
    p3_patches().save(&png).unwrap();
    let run = media_job(&png, "photo", &dir.path().join("out"));
    let result = done(&run);
    assert_eq!(result["colour"], "srgb");
    let out = image::open(run.out.join("photo-400.jpg"))
        .unwrap()
        .to_rgb8();
    for (i, x) in [100, 300].into_iter().enumerate() {
        let got = out.get_pixel(x, 100).0;
        let close = got
            .iter()
            .zip(P3_PATCHES[i])
            .all(|(g, w)| (i16::from(*g) - i16::from(w)).abs() <= 4);
        assert!(close, "patch {i}: {got:?} vs {:?}", P3_PATCHES[i]);
    }
}

#[test]
fn a_damaged_heic_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.png");
    p3_patches().save(&src).unwrap();
    let heic = dir.path().join("full.heic");
    heif_enc(&src, &heic, &[]);
    let bytes = std::fs::read(&heic).unwrap();
    let cut = dir.path().join("cut.heic");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let reason = refused(&media_job(&cut, "photo", &dir.path().join("out")));
    assert!(reason.starts_with("photo-unreadable "), "{reason}");
}
