//! The files a player fetches: one fMP4 HLS muxer per rung (4 s segments, `init.mp4`), the
//! progressive MP4 with its index up front (faststart), and the master playlist with each
//! rung's bandwidth as measured from the segments written.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use ffmpeg_next::{Dictionary, codec, encoder, format};

use super::plan::{RungPlan, SEGMENT_SECONDS};
use crate::rendition::{Rendition, Variant};

/// Opens a rung's HLS muxer in `dir` and writes its header.
pub fn open_hls(
    dir: &Path,
    video: &encoder::Video,
    audio: Option<&encoder::Audio>,
) -> anyhow::Result<format::context::Output> {
    let mut octx = format::output_as(&dir.join("index.m3u8"), "hls")?;
    add_streams(&mut octx, video, audio)?;
    let mut opts = Dictionary::new();
    opts.set("hls_time", SEGMENT_SECONDS);
    opts.set("hls_playlist_type", "vod");
    opts.set("hls_list_size", "0");
    opts.set("hls_segment_type", "fmp4");
    opts.set("hls_fmp4_init_filename", "init.mp4");
    opts.set(
        "hls_segment_filename",
        &dir.join("seg_%04d.m4s").to_string_lossy(),
    );
    opts.set("hls_flags", "independent_segments");
    octx.write_header_with(opts)?;
    Ok(octx)
}

/// Opens the progressive MP4 at `path`; `+faststart` moves its index to the front at the
/// trailer, so a browser can start playing before the whole file arrived.
pub fn open_mp4(
    path: &Path,
    video: &encoder::Video,
    audio: Option<&encoder::Audio>,
) -> anyhow::Result<format::context::Output> {
    let mut octx = format::output_as(path, "mp4")?;
    add_streams(&mut octx, video, audio)?;
    let mut opts = Dictionary::new();
    opts.set("movflags", "+faststart");
    octx.write_header_with(opts)?;
    Ok(octx)
}

/// Stream 0 is the video, stream 1 the (shared) AAC audio when there is one.
fn add_streams(
    octx: &mut format::context::Output,
    video: &encoder::Video,
    audio: Option<&encoder::Audio>,
) -> anyhow::Result<()> {
    let codec = encoder::find_by_name("libx264");
    let mut ost = octx.add_stream(codec)?;
    ost.set_parameters(video);
    ost.set_time_base(video.time_base());
    if let Some(a) = audio {
        let mut ast = octx.add_stream(encoder::find(codec::Id::AAC))?;
        ast.set_parameters(a);
        ast.set_time_base(a.time_base());
    }
    Ok(())
}

/// Writes `hls/master.m3u8` for the finished rungs; returns them as the result lists them.
pub fn write_master(out: &Path, rungs: &[RungPlan], fps: f64) -> anyhow::Result<Vec<Variant>> {
    let mut variants = Vec::new();
    let mut master = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for rung in rungs {
        let rendition = rung.rendition();
        let (peak, average) = measured_bandwidth(&out.join(rendition.folder()))?;
        let _ = writeln!(
            master,
            "#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},RESOLUTION={}x{},FRAME-RATE={:.3}\n{}",
            rung.width,
            rung.height,
            fps.min(60.0),
            rendition.from_master()
        );
        variants.push(Variant {
            label: rendition.label(),
            width: rung.width,
            height: rung.height,
            max_video_bitrate: rung.max_rate,
            bandwidth: peak,
            average_bandwidth: average,
            playlist: rendition.path(),
        });
    }
    std::fs::write(out.join(Rendition::Master.path()), master)?;
    Ok(variants)
}

/// Peak and average bits per second of a rung, measured from its playlist and segment files.
fn measured_bandwidth(dir: &Path) -> anyhow::Result<(u64, u64)> {
    let playlist = std::fs::read_to_string(dir.join("index.m3u8"))?;
    let init = std::fs::metadata(dir.join("init.mp4"))
        .map(|m| m.len())
        .unwrap_or(0);
    let mut peak = 0u64;
    let mut total_bytes = init;
    let mut total_s = 0.0;
    for (name, d) in segments(&playlist) {
        let bytes = std::fs::metadata(dir.join(name))
            .with_context(|| format!("segment {name}"))?
            .len();
        total_bytes += bytes;
        total_s += d;
        if d > 0.5 {
            peak = peak.max((bytes as f64 * 8.0 / d) as u64);
        }
    }
    let average = if total_s > 0.0 {
        (total_bytes as f64 * 8.0 / total_s) as u64
    } else {
        0
    };
    Ok((peak.max(average), average))
}

/// The segments of a media playlist with their durations (`#EXTINF` then the file name).
fn segments(playlist: &str) -> Vec<(&str, f64)> {
    let mut found = Vec::new();
    let mut pending: Option<f64> = None;
    for line in playlist.lines() {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            pending = rest
                .trim_end_matches(',')
                .split(',')
                .next()
                .and_then(|d| d.parse().ok());
        } else if !line.starts_with('#')
            && !line.trim().is_empty()
            && let Some(d) = pending.take()
        {
            found.push((line.trim(), d));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vod_playlist_lists_its_segments_with_durations() {
        let playlist = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.000000,\nseg_0000.m4s\n#EXTINF:1.5,\nseg_0001.m4s\n#EXT-X-ENDLIST\n";
        assert_eq!(
            segments(playlist),
            [("seg_0000.m4s", 4.0), ("seg_0001.m4s", 1.5)]
        );
    }

    #[test]
    fn bandwidth_is_measured_from_the_files_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.m3u8"),
            "#EXTINF:4.0,\na.m4s\n#EXTINF:4.0,\nb.m4s\n#EXTINF:0.4,\nc.m4s\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("init.mp4"), [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("a.m4s"), [0u8; 8000]).unwrap();
        std::fs::write(dir.path().join("b.m4s"), [0u8; 2000]).unwrap();
        // A short last segment would make a false peak: only segments over 0.5 s count.
        std::fs::write(dir.path().join("c.m4s"), [0u8; 4000]).unwrap();
        let (peak, average) = measured_bandwidth(dir.path()).unwrap();
        assert_eq!(peak, 16_000);
        // The average counts the init segment and every segment.
        assert_eq!(average, (14_100.0 * 8.0 / 8.4) as u64);
    }
}
