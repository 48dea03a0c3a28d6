//! The one decode that feeds every rung: demux, decode video on frame threads, keep its
//! timestamps monotonic, offer frames to the poster picker and push them through the filter
//! graph (rotate → split → scale per rung); audio is decoded and resampled for the AAC encode.

use anyhow::Context;
use ffmpeg_next::{
    ChannelLayout, Packet, Rational, codec, decoder, encoder, filter, format, frame, media, picture,
};

use super::encode::{self, Rung};
use super::plan::{self, AUDIO_RATE, RungPlan};
use super::poster::PosterPicker;
use super::probe::{Probe, rational_f64};
use crate::protocol::{Refused, progress};

/// Demuxer read errors in a row after which the input is treated as ended.
const MAX_READ_ERRORS: u32 = 50;

/// The video stream being decoded.
pub struct VideoDecoder {
    index: usize,
    pub time_base: Rational,
    decoder: decoder::Video,
    pub start_pts: i64,
}

/// Opens the decoder of the input's best video stream.
pub fn open_video(ictx: &format::context::Input) -> anyhow::Result<VideoDecoder> {
    let vstream = ictx
        .streams()
        .best(media::Type::Video)
        .context("no video stream")?;
    let time_base = vstream.time_base();
    let mut vctx = codec::context::Context::from_parameters(vstream.parameters())?;
    // Frame threads, one per core (count 0 = auto), as the ffmpeg CLI decodes: a decoder on
    // one thread is the serial step every rung waits for, and leaves a core idle while the
    // encoders drain.
    vctx.set_threading(ffmpeg_next::threading::Config {
        kind: ffmpeg_next::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let mut decoder = vctx.decoder().video()?;
    decoder.set_packet_time_base(time_base);
    let start_pts = if vstream.start_time() != ffmpeg_next::ffi::AV_NOPTS_VALUE {
        vstream.start_time()
    } else {
        0
    };
    Ok(VideoDecoder {
        index: vstream.index(),
        time_base,
        decoder,
        start_pts,
    })
}

/// The video graph: rotation once, then one scaled branch per rung. Returns it with the time
/// base of its sinks (the encoders' time base).
pub fn scale_graph(
    video: &VideoDecoder,
    info: &Probe,
    rungs: &[RungPlan],
) -> anyhow::Result<(filter::Graph, Rational)> {
    let mut graph = filter::Graph::new();
    let sar = video.decoder.aspect_ratio();
    let sar = if sar.numerator() > 0 && sar.denominator() > 0 {
        sar
    } else {
        Rational(1, 1)
    };
    let tb = video.time_base;
    let args = format!(
        "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        info.coded_width,
        info.coded_height,
        ffmpeg_next::ffi::AVPixelFormat::from(video.decoder.format()) as i32,
        tb.numerator(),
        tb.denominator(),
        sar.numerator(),
        sar.denominator()
    );
    graph.add(
        &filter::find("buffer").context("buffer filter")?,
        "in",
        &args,
    )?;
    for i in 0..rungs.len() {
        graph.add(
            &filter::find("buffersink").context("buffersink filter")?,
            &format!("out{i}"),
            "",
        )?;
    }
    {
        let mut parser = graph.output("in", 0)?;
        for i in 0..rungs.len() {
            parser = parser.input(&format!("out{i}"), 0)?;
        }
        parser.parse(&plan::filter_spec(info.rotation, rungs))?;
    }
    graph.validate()?;
    let sink_tb = graph.get("out0").context("sink out0")?.sink().time_base();
    Ok((graph, sink_tb))
}

/// Audio: decode → 48 kHz stereo float planar in 1024-sample frames → one AAC encode whose
/// packets go to every muxer.
pub struct AudioChain {
    stream_index: usize,
    decoder: decoder::Audio,
    graph: filter::Graph,
    pub encoder: encoder::Audio,
}

/// The audio chain of `astream`; an error means the video is served without sound.
pub fn open_audio(astream: &format::stream::Stream) -> anyhow::Result<AudioChain> {
    let mut dec = codec::context::Context::from_parameters(astream.parameters())?
        .decoder()
        .audio()?;
    dec.set_packet_time_base(astream.time_base());
    let rate = dec.rate();
    anyhow::ensure!(rate > 0, "audio without a sample rate");
    let layout = if dec.channel_layout().is_empty() {
        ChannelLayout::default(i32::from(dec.channels().max(1)))
    } else {
        dec.channel_layout()
    };
    let mut graph = filter::Graph::new();
    let args = format!(
        "time_base=1/{rate}:sample_rate={rate}:sample_fmt={}:channel_layout=0x{:x}",
        dec.format().name(),
        layout.bits()
    );
    graph.add(&filter::find("abuffer").context("abuffer")?, "ain", &args)?;
    graph.add(
        &filter::find("abuffersink").context("abuffersink")?,
        "aout",
        "",
    )?;
    graph.output("ain", 0)?.input("aout", 0)?.parse(&format!(
        "[ain]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo[aout]"
    ))?;
    graph.validate()?;
    let encoder = encode::audio_encoder()?;
    graph
        .get("aout")
        .context("aout")?
        .sink()
        .set_frame_size(encoder.frame_size().max(1024));
    Ok(AudioChain {
        stream_index: astream.index(),
        decoder: dec,
        graph,
        encoder,
    })
}

/// Everything one pass over the input drives, from demuxer to muxers.
pub struct Transcode {
    pub video: VideoDecoder,
    pub graph: filter::Graph,
    pub sink_tb: Rational,
    pub rungs: Vec<Rung>,
    pub audio: Option<AudioChain>,
    pub poster: PosterPicker,
    decoded: frame::Video,
    filtered: frame::Video,
    /// Frames decoded and passed on.
    pub frames: u64,
    /// The timestamp of the last frame passed on.
    pub last_pts: Option<i64>,
}

impl Transcode {
    pub fn new(
        video: VideoDecoder,
        (graph, sink_tb): (filter::Graph, Rational),
        rungs: Vec<Rung>,
        audio: Option<AudioChain>,
        poster: PosterPicker,
    ) -> Self {
        Self {
            video,
            graph,
            sink_tb,
            rungs,
            audio,
            poster,
            decoded: frame::Video::empty(),
            filtered: frame::Video::empty(),
            frames: 0,
            last_pts: None,
        }
    }

    /// Reads the whole input once, reporting progress as media time advances.
    pub fn demux(&mut self, ictx: &mut format::context::Input, info: &Probe) -> anyhow::Result<()> {
        let mut last_percent = 1;
        let mut read_errors = 0;
        let mut packet = Packet::empty();
        loop {
            match packet.read(ictx) {
                Ok(()) => read_errors = 0,
                Err(ffmpeg_next::Error::Eof) => break,
                Err(_) => {
                    read_errors += 1;
                    if read_errors > MAX_READ_ERRORS {
                        break;
                    }
                    continue;
                }
            }
            let idx = packet.stream();
            if idx == self.video.index {
                if self.video.decoder.send_packet(&packet).is_err() {
                    continue;
                }
                self.drain_video()?;
                self.report_progress(info, &mut last_percent);
            } else if let Some(a) = self.audio.as_mut()
                && idx == a.stream_index
            {
                let from = ictx
                    .stream(idx)
                    .map(|s| s.time_base())
                    .unwrap_or(self.video.time_base);
                packet.rescale_ts(from, a.decoder.time_base());
                if a.decoder.send_packet(&packet).is_ok() {
                    drain_audio(a, &mut self.rungs)?;
                }
            }
        }
        Ok(())
    }

    fn report_progress(&self, info: &Probe, last_percent: &mut u8) {
        if let Some(pts) = self.last_pts
            && info.duration_s > 0.0
        {
            let t = (pts - self.video.start_pts) as f64 * rational_f64(self.video.time_base);
            let percent = plan::decode_percent(t, info.duration_s);
            if percent > *last_percent {
                *last_percent = percent;
                progress(percent);
            }
        }
    }

    /// Passes every frame the decoder has on to the poster picker and the graph.
    fn drain_video(&mut self) -> anyhow::Result<()> {
        while self.video.decoder.receive_frame(&mut self.decoded).is_ok() {
            let Some(pts) = self.decoded.timestamp() else {
                continue;
            };
            // Monotonic timestamps: a VFR or damaged stream may repeat one.
            if self.last_pts.is_some_and(|last| pts <= last) {
                continue;
            }
            self.last_pts = Some(pts);
            self.frames += 1;
            self.decoded.set_pts(Some(pts));
            self.decoded.set_kind(picture::Type::None);
            self.poster.offer(&self.decoded);
            self.graph
                .get("in")
                .context("source")?
                .source()
                .add(&self.decoded)?;
            encode::encode_filtered(
                &mut self.graph,
                &mut self.filtered,
                &mut self.rungs,
                self.sink_tb,
            )?;
        }
        Ok(())
    }

    /// Drains decoders, graphs and encoders at the end of the input and closes the muxers.
    /// Refuses a file of which not one picture could be decoded.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        let _ = self.video.decoder.send_eof();
        self.drain_video()?;
        if self.frames == 0 {
            return Err(Refused::new(
                "video-undecodable",
                "No picture of the video could be decoded; the file may be damaged.".into(),
            )
            .into());
        }
        self.graph
            .get("in")
            .context("source")?
            .source()
            .flush()
            .ok();
        encode::encode_filtered(
            &mut self.graph,
            &mut self.filtered,
            &mut self.rungs,
            self.sink_tb,
        )?;
        encode::finish_video(&mut self.rungs, self.sink_tb)?;
        if let Some(a) = self.audio.as_mut() {
            let _ = a.decoder.send_eof();
            drain_audio(a, &mut self.rungs)?;
            a.graph.get("ain").context("ain")?.source().flush().ok();
            encode::encode_audio(&mut a.graph, &mut a.encoder, &mut self.rungs)?;
            encode::finish_audio(&mut a.encoder, &mut self.rungs)?;
        }
        encode::write_trailers(&mut self.rungs)
    }

    /// The duration from what was decoded: the last frame's time plus one frame.
    pub fn decoded_duration(&self, info: &Probe) -> f64 {
        match self.last_pts {
            Some(pts) => {
                (pts - self.video.start_pts) as f64 * rational_f64(self.video.time_base)
                    + 1.0 / info.fps
            }
            None => info.duration_s,
        }
    }
}

fn drain_audio(a: &mut AudioChain, rungs: &mut [Rung]) -> anyhow::Result<()> {
    let mut decoded = frame::Audio::empty();
    while a.decoder.receive_frame(&mut decoded).is_ok() {
        let ts = decoded.timestamp();
        decoded.set_pts(ts);
        if a.graph
            .get("ain")
            .context("ain")?
            .source()
            .add(&decoded)
            .is_err()
        {
            // A layout or rate change mid-stream: drop the frame rather than the job.
            continue;
        }
        encode::encode_audio(&mut a.graph, &mut a.encoder, rungs)?;
    }
    Ok(())
}
