//! The video pipeline of the sandboxed child: probe, refuse what phones cannot be served, plan
//! the rungs, then ONE decode feeding a libavfilter graph (rotate → split → scale per rung) and
//! per-rung libx264 encoders, packaged as fMP4 HLS (plus one faststart MP4) with a shared AAC
//! track and a poster. This file only runs the steps in order; each lives in its own module.

mod decode;
mod encode;
mod package;
mod plan;
mod poster;
mod probe;

use std::path::Path;

use anyhow::Context;
use ffmpeg_next::media;

use crate::protocol::{MediaKind, progress};
use crate::rendition::{Mp4File, Rendition, VideoRenditions, VideoResult};

/// Runs the whole video job; returns the result (paths relative to `out`).
pub fn run(input_path: &Path, out: &Path, max_seconds: f64) -> anyhow::Result<VideoResult> {
    let mut ictx = probe::open_input(input_path)?;
    let info = probe::probe(&ictx, max_seconds)?;
    progress(1);

    let video = decode::open_video(&ictx)?;
    let plans = plan::ladder(info.width, info.height);
    let graph = decode::scale_graph(&video, &info, &plans)?;
    let sink_tb = graph.1;
    let audio = match ictx.streams().best(media::Type::Audio) {
        Some(astream) => decode::open_audio(&astream).ok(),
        None => None,
    };
    std::fs::create_dir_all(out.join("hls"))?;
    let mp4 = plan::mp4_rung(&plans).context("mp4 rung")?;
    let rungs = plans
        .iter()
        .map(|&p| {
            let audio = audio.as_ref().map(|a| &a.encoder);
            encode::Rung::open(p, out, p == mp4, sink_tb, info.fps, audio)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let poster =
        poster::PosterPicker::new(info.duration_s, video.start_pts, video.time_base, &info);

    let mut job = decode::Transcode::new(video, graph, rungs, audio, poster);
    job.demux(&mut ictx, &info)?;
    job.finish()?;
    progress(98);

    let duration_s = job.decoded_duration(&info);
    let variants = package::write_master(out, &plans, info.fps)?;
    let has_audio = job.audio.is_some();
    let frames = job.frames;
    let posters = job.poster.write(out)?;
    progress(99);
    Ok(VideoResult {
        kind: MediaKind::Video,
        container: info.container,
        codec: info.codec,
        width: info.width,
        height: info.height,
        rotation: (360 - info.rotation) % 360,
        fps: info.fps,
        duration_s,
        has_audio,
        frames,
        renditions: VideoRenditions {
            hls: Rendition::Master.path(),
            variants,
            mp4: Mp4File {
                path: Rendition::Mp4.path(),
                width: mp4.width,
                height: mp4.height,
            },
            poster: posters,
        },
    })
}
