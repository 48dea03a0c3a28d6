//! The encoders: one libx264 per rung, keyframes forced on the same 2 s grid in every rung,
//! and one AAC encode whose packets go to every muxer. A `Rung` owns its encoder and the
//! muxers its packets go to.

use std::path::Path;

use anyhow::Context;
use ffmpeg_next::{
    ChannelLayout, Dictionary, Packet, Rational, codec, encoder, filter, format, frame, picture,
};

use super::package;
use super::plan::{self, AUDIO_BITRATE, AUDIO_RATE, RungPlan};
use super::probe::rational_f64;
use crate::rendition::Rendition;

/// One rung being encoded: its encoder and muxers (HLS, and the MP4 for one rung).
pub struct Rung {
    encoder: encoder::Video,
    hls: format::context::Output,
    mp4: Option<format::context::Output>,
    next_keyframe: f64,
    /// One frame in the encoder's time base: the duration of packets that carry none.
    frame_duration: i64,
}

impl Rung {
    /// Opens the rung's encoder and muxers below `out`; `with_mp4` adds the progressive MP4.
    pub fn open(
        plan: RungPlan,
        out: &Path,
        with_mp4: bool,
        time_base: Rational,
        fps: f64,
        audio: Option<&encoder::Audio>,
    ) -> anyhow::Result<Self> {
        let dir = out.join(plan.rendition().folder());
        std::fs::create_dir_all(&dir)?;
        let encoder = video_encoder(&plan, time_base, fps)?;
        let hls = package::open_hls(&dir, &encoder, audio)?;
        let mp4 = if with_mp4 {
            Some(package::open_mp4(
                &out.join(Rendition::Mp4.path()),
                &encoder,
                audio,
            )?)
        } else {
            None
        };
        Ok(Self {
            encoder,
            hls,
            mp4,
            next_keyframe: 0.0,
            frame_duration: plan::frame_duration(fps, rational_f64(time_base)),
        })
    }
}

fn video_encoder(plan: &RungPlan, time_base: Rational, fps: f64) -> anyhow::Result<encoder::Video> {
    let codec = encoder::find_by_name("libx264").context("libx264 encoder")?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()?;
    enc.set_width(plan.width);
    enc.set_height(plan.height);
    enc.set_format(format::Pixel::YUV420P);
    enc.set_time_base(time_base);
    enc.set_frame_rate(Some(Rational((fps * 1000.0).round() as i32, 1000)));
    enc.set_aspect_ratio(Rational(1, 1));
    enc.set_max_bit_rate(plan.max_rate);
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    let mut opts = Dictionary::new();
    opts.set("preset", "veryfast");
    opts.set("crf", "23");
    opts.set("maxrate", &plan.max_rate.to_string());
    opts.set("bufsize", &(plan.max_rate * 2).to_string());
    opts.set("profile", "high");
    // Keyframes only where we force them (every 2 s of media time, identical in every rung),
    // so segments of all rungs start at the same instant.
    opts.set("forced-idr", "1");
    opts.set(
        "x264-params",
        "scenecut=0:open-gop=0:keyint=1000:min-keyint=1",
    );
    Ok(enc.open_as_with(codec, opts)?)
}

/// The AAC encoder: 48 kHz stereo at 64 kbit/s, shared by every rung.
pub fn audio_encoder() -> anyhow::Result<encoder::Audio> {
    let codec = encoder::find(codec::Id::AAC).context("AAC encoder")?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .audio()?;
    enc.set_rate(AUDIO_RATE);
    enc.set_channel_layout(ChannelLayout::STEREO);
    enc.set_channels(2);
    enc.set_format(format::Sample::F32(format::sample::Type::Planar));
    enc.set_bit_rate(AUDIO_BITRATE);
    enc.set_time_base(Rational(1, AUDIO_RATE));
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    Ok(enc.open_as(codec)?)
}

/// Encodes every frame the graph's sinks (`out0`, `out1`…) hold, each into its rung.
pub fn encode_filtered(
    graph: &mut filter::Graph,
    filtered: &mut frame::Video,
    rungs: &mut [Rung],
    sink_tb: Rational,
) -> anyhow::Result<()> {
    let tb = rational_f64(sink_tb);
    for (i, rung) in rungs.iter_mut().enumerate() {
        let mut ctx = graph.get(&format!("out{i}")).context("sink")?;
        let mut sink = ctx.sink();
        while sink.frame(filtered).is_ok() {
            let t = filtered.pts().unwrap_or(0) as f64 * tb;
            match plan::keyframe_at(t, rung.next_keyframe) {
                Some(next) => {
                    filtered.set_kind(picture::Type::I);
                    rung.next_keyframe = next;
                }
                None => filtered.set_kind(picture::Type::None),
            }
            rung.encoder.send_frame(filtered)?;
            write_video_packets(rung, sink_tb)?;
        }
    }
    Ok(())
}

/// Drains every rung's encoder at the end of the input.
pub fn finish_video(rungs: &mut [Rung], sink_tb: Rational) -> anyhow::Result<()> {
    for rung in rungs {
        rung.encoder.send_eof()?;
        write_video_packets(rung, sink_tb)?;
    }
    Ok(())
}

fn write_video_packets(rung: &mut Rung, enc_tb: Rational) -> anyhow::Result<()> {
    let mut pkt = Packet::empty();
    while rung.encoder.receive_packet(&mut pkt).is_ok() {
        pkt.set_stream(0);
        if pkt.duration() <= 0 {
            pkt.set_duration(rung.frame_duration);
        }
        if let Some(mp4) = rung.mp4.as_mut() {
            let mut copy = pkt.clone();
            copy.rescale_ts(enc_tb, stream_tb(mp4, 0));
            copy.write_interleaved(mp4)?;
        }
        let tb = stream_tb(&rung.hls, 0);
        pkt.rescale_ts(enc_tb, tb);
        pkt.write_interleaved(&mut rung.hls)?;
    }
    Ok(())
}

/// Encodes what the audio graph's sink `aout` holds, sending the packets to every rung.
pub fn encode_audio(
    graph: &mut filter::Graph,
    encoder: &mut encoder::Audio,
    rungs: &mut [Rung],
) -> anyhow::Result<()> {
    let mut out = frame::Audio::empty();
    loop {
        let got = graph
            .get("aout")
            .context("aout")?
            .sink()
            .frame(&mut out)
            .is_ok();
        if !got {
            break;
        }
        encoder.send_frame(&out)?;
        write_audio_packets(encoder, rungs)?;
    }
    Ok(())
}

/// Drains the AAC encoder at the end of the input.
pub fn finish_audio(encoder: &mut encoder::Audio, rungs: &mut [Rung]) -> anyhow::Result<()> {
    encoder.send_eof()?;
    write_audio_packets(encoder, rungs)
}

fn write_audio_packets(encoder: &mut encoder::Audio, rungs: &mut [Rung]) -> anyhow::Result<()> {
    let mut pkt = Packet::empty();
    let tb = encoder.time_base();
    while encoder.receive_packet(&mut pkt).is_ok() {
        pkt.set_stream(1);
        for rung in rungs.iter_mut() {
            let mut copy = pkt.clone();
            copy.rescale_ts(tb, stream_tb(&rung.hls, 1));
            copy.write_interleaved(&mut rung.hls)?;
            if let Some(mp4) = rung.mp4.as_mut() {
                let mut copy = pkt.clone();
                copy.rescale_ts(tb, stream_tb(mp4, 1));
                copy.write_interleaved(mp4)?;
            }
        }
    }
    Ok(())
}

/// Writes the trailers: HLS writes its last segment and playlist, the MP4 moves its index.
pub fn write_trailers(rungs: &mut [Rung]) -> anyhow::Result<()> {
    for rung in rungs {
        rung.hls.write_trailer()?;
        if let Some(mp4) = rung.mp4.as_mut() {
            mp4.write_trailer()?;
        }
    }
    Ok(())
}

fn stream_tb(octx: &format::context::Output, index: usize) -> Rational {
    octx.stream(index)
        .map(|s| s.time_base())
        .unwrap_or(Rational(1, 90_000))
}
