//! The video pipeline of the sandboxed child: probe, refuse what phones cannot be served, then
//! ONE decode feeding a libavfilter graph (rotate → split → scale per rung) and per-rung libx264
//! encoders, muxed as fMP4 HLS (plus one faststart MP4) with a shared AAC track and a poster.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use ffmpeg_next::{
    ChannelLayout, Dictionary, Packet, Rational, codec, decoder, encoder, filter, format, frame,
    media, picture, software::scaling,
};
use serde_json::json;

use crate::child::{Refused, progress};
use crate::photo;

/// Containers an upload may be; anything else (HLS, concat, images, raw streams) is refused
/// before a single byte is parsed by its demuxer.
pub const FORMAT_WHITELIST: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm";

/// The longest side a video may have (4K UHD).
const MAX_LONG_SIDE: u32 = 3840;
const MAX_SHORT_SIDE: u32 = 2160;
const MAX_FPS: f64 = 60.5;

/// One HLS rung: the short side in pixels and its video bitrate cap. The 360p rung stays
/// under 400 kbit/s with its audio, so it plays on a weak 3G link.
const LADDER: [(u32, usize); 4] = [
    (360, 300_000),
    (480, 600_000),
    (720, 1_500_000),
    (1080, 3_000_000),
];
const AUDIO_BITRATE: usize = 64_000;
const AUDIO_RATE: i32 = 48_000;
const KEYFRAME_SECONDS: f64 = 2.0;
const SEGMENT_SECONDS: &str = "4";
const POSTER_WIDTHS: [u32; 2] = [1280, 400];

#[derive(Debug, Clone)]
pub struct Probe {
    pub container: String,
    pub codec: String,
    pub coded_width: u32,
    pub coded_height: u32,
    /// Width and height as shown, after rotation.
    pub width: u32,
    pub height: u32,
    pub rotation: i32,
    pub fps: f64,
    pub duration_s: f64,
    pub has_audio: bool,
}

/// Opens `path` with the file protocol only and the container whitelist.
pub fn open_input(path: &Path) -> Result<format::context::Input, Refused> {
    let mut opts = Dictionary::new();
    opts.set("protocol_whitelist", "file");
    opts.set("format_whitelist", FORMAT_WHITELIST);
    let url = format!("file:{}", path.display());
    format::input_with_dictionary(&url, opts).map_err(|e| {
        Refused::new(
            "video-unreadable",
            format!(
                "The file is not a video we can read (MP4, MOV, 3GP, MKV or WebM); it may be damaged or incomplete ({e})."
            ),
        )
    })
}

/// The rotation a player applies, in degrees clockwise (0, 90, 180, 270), from the stream's
/// display matrix (16.16 fixed point, as `av_display_rotation_get` reads it).
pub fn rotation_of(stream: &format::stream::Stream) -> i32 {
    for side in stream.side_data() {
        if side.kind() == codec::packet::side_data::Type::DisplayMatrix && side.data().len() >= 36 {
            let m: Vec<f64> = side
                .data()
                .chunks_exact(4)
                .take(9)
                .map(|c| f64::from(i32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
            let s0 = m[0].hypot(m[3]);
            let s1 = m[1].hypot(m[4]);
            if s0 == 0.0 || s1 == 0.0 {
                return 0;
            }
            let theta = (m[1] / s1).atan2(m[0] / s0).to_degrees();
            let theta = ((theta.round() as i32 % 360) + 360) % 360;
            return match theta {
                45..=134 => 90,
                135..=224 => 180,
                225..=314 => 270,
                _ => 0,
            };
        }
    }
    0
}

fn rational_f64(r: Rational) -> f64 {
    if r.denominator() == 0 {
        0.0
    } else {
        f64::from(r.numerator()) / f64::from(r.denominator())
    }
}

/// Describes the input and refuses it with a reason a member can act on.
pub fn probe(input: &format::context::Input, max_seconds: f64) -> Result<Probe, Refused> {
    let stream = input.streams().best(media::Type::Video).ok_or_else(|| {
        Refused::new(
            "video-no-video-stream",
            "The file has no video track.".into(),
        )
    })?;
    let ctx = codec::context::Context::from_parameters(stream.parameters()).map_err(|e| {
        Refused::new(
            "video-undecodable",
            format!("The video cannot be decoded ({e})."),
        )
    })?;
    let dec = ctx.decoder().video().map_err(|e| {
        Refused::new(
            "video-undecodable",
            format!("The video's codec is not supported ({e})."),
        )
    })?;
    let (cw, ch) = (dec.width(), dec.height());
    if cw == 0 || ch == 0 {
        return Err(Refused::new(
            "video-undecodable",
            "The video has no picture size; it may be damaged.".into(),
        ));
    }
    if cw.max(ch) > MAX_LONG_SIDE || cw.min(ch) > MAX_SHORT_SIDE {
        return Err(Refused::new(
            "video-too-large",
            format!("The video is {cw}×{ch}; the largest accepted size is 4K (3840×2160)."),
        ));
    }
    let mut fps = rational_f64(stream.avg_frame_rate());
    if fps <= 0.0 || !fps.is_finite() {
        fps = rational_f64(stream.rate());
    }
    if fps > MAX_FPS {
        return Err(Refused::new(
            "video-fps-too-high",
            format!("The video has {fps:.0} frames per second; at most 60 are accepted."),
        ));
    }
    let duration_s = if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE)
    } else {
        0.0
    };
    if duration_s > max_seconds {
        return Err(Refused::new(
            "video-too-long",
            format!(
                "The video is {duration_s:.0} seconds long; this contest accepts at most {max_seconds:.0} seconds."
            ),
        ));
    }
    let rotation = rotation_of(&stream);
    let (width, height) = if rotation == 90 || rotation == 270 {
        (ch, cw)
    } else {
        (cw, ch)
    };
    Ok(Probe {
        container: input.format().name().to_owned(),
        codec: dec.id().name().to_owned(),
        coded_width: cw,
        coded_height: ch,
        width,
        height,
        rotation,
        fps: if fps > 0.0 { fps } else { 30.0 },
        duration_s,
        has_audio: input.streams().best(media::Type::Audio).is_some(),
    })
}

fn even(x: f64) -> u32 {
    ((x / 2.0).round() as u32 * 2).max(2)
}

/// The rungs for a source of `width`×`height` (as shown): never upscaled, portrait stays
/// portrait. Returns (label, width, height, video bitrate cap).
pub fn ladder(width: u32, height: u32) -> Vec<(u32, u32, u32, usize)> {
    let short = width.min(height);
    let mut rungs: Vec<_> = LADDER
        .iter()
        .filter(|(p, _)| *p <= short)
        .map(|&(p, rate)| {
            let scale = f64::from(p) / f64::from(short);
            let (w, h) = if width >= height {
                (even(f64::from(width) * scale), p)
            } else {
                (p, even(f64::from(height) * scale))
            };
            (p, w, h, rate)
        })
        .collect();
    if rungs.is_empty() {
        rungs.push((
            short,
            even(f64::from(width)),
            even(f64::from(height)),
            LADDER[0].1,
        ));
    }
    rungs
}

struct Rung {
    label: u32,
    width: u32,
    height: u32,
    max_rate: usize,
    encoder: encoder::Video,
    hls: format::context::Output,
    mp4: Option<format::context::Output>,
    next_keyframe: f64,
    /// One frame in the encoder's time base: the duration of packets that carry none, so the
    /// last frame counts and durations come out exact.
    frame_duration: i64,
}

struct AudioChain {
    stream_index: usize,
    decoder: decoder::Audio,
    graph: filter::Graph,
    encoder: encoder::Audio,
}

/// Runs the whole video job; returns the result JSON (paths relative to `out`).
pub fn run(input_path: &Path, out: &Path, max_seconds: f64) -> anyhow::Result<serde_json::Value> {
    let mut ictx = open_input(input_path)?;
    let info = probe(&ictx, max_seconds)?;
    progress(1);

    let vstream = ictx
        .streams()
        .best(media::Type::Video)
        .context("no video stream")?;
    let v_index = vstream.index();
    let v_tb = vstream.time_base();
    let mut vctx = codec::context::Context::from_parameters(vstream.parameters())?;
    // Frame threads, one per core (count 0 = auto), as the ffmpeg CLI decodes: a decoder on
    // one thread is the serial step every rung waits for, and leaves a core idle while the
    // encoders drain.
    vctx.set_threading(ffmpeg_next::threading::Config {
        kind: ffmpeg_next::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    let mut vdec = vctx.decoder().video()?;
    vdec.set_packet_time_base(v_tb);
    let start_pts = if vstream.start_time() != ffmpeg_next::ffi::AV_NOPTS_VALUE {
        vstream.start_time()
    } else {
        0
    };

    // The video graph: rotation once, then one scaled branch per rung.
    let rungs_spec = ladder(info.width, info.height);
    let mut vgraph = filter::Graph::new();
    let sar = vdec.aspect_ratio();
    let sar = if sar.numerator() > 0 && sar.denominator() > 0 {
        sar
    } else {
        Rational(1, 1)
    };
    let args = format!(
        "video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}",
        info.coded_width,
        info.coded_height,
        ffmpeg_next::ffi::AVPixelFormat::from(vdec.format()) as i32,
        v_tb.numerator(),
        v_tb.denominator(),
        sar.numerator(),
        sar.denominator()
    );
    vgraph.add(
        &filter::find("buffer").context("buffer filter")?,
        "in",
        &args,
    )?;
    for i in 0..rungs_spec.len() {
        vgraph.add(
            &filter::find("buffersink").context("buffersink filter")?,
            &format!("out{i}"),
            "",
        )?;
    }
    let rotate = match info.rotation {
        90 => "transpose=clock,",
        180 => "hflip,vflip,",
        270 => "transpose=cclock,",
        _ => "",
    };
    let mut spec = format!("[in]{rotate}split={}", rungs_spec.len());
    for i in 0..rungs_spec.len() {
        let _ = write!(spec, "[s{i}]");
    }
    for (i, (_, w, h, _)) in rungs_spec.iter().enumerate() {
        let _ = write!(
            spec,
            ";[s{i}]scale={w}:{h}:flags=bicubic,setsar=1,format=yuv420p[out{i}]"
        );
    }
    {
        let mut parser = vgraph.output("in", 0)?;
        for i in 0..rungs_spec.len() {
            parser = parser.input(&format!("out{i}"), 0)?;
        }
        parser.parse(&spec)?;
    }
    vgraph.validate()?;
    let sink_tb = vgraph.get("out0").context("sink out0")?.sink().time_base();

    // Audio: decode → 48 kHz stereo float planar in 1024-sample frames → one AAC encode whose
    // packets go to every muxer.
    let mut audio = match ictx.streams().best(media::Type::Audio) {
        Some(astream) => audio_chain(&astream).ok(),
        None => None,
    };

    let hls_root = out.join("hls");
    std::fs::create_dir_all(&hls_root)?;
    let mp4_label = rungs_spec
        .iter()
        .filter(|r| r.0 <= 720)
        .map(|r| r.0)
        .max()
        .unwrap_or(rungs_spec[0].0);
    let mut rungs = Vec::new();
    for &(label, width, height, max_rate) in &rungs_spec {
        let dir = hls_root.join(format!("{label}p"));
        std::fs::create_dir_all(&dir)?;
        let encoder = video_encoder(width, height, max_rate, sink_tb, info.fps)?;
        let hls = {
            let mut octx = format::output_as(&dir.join("index.m3u8"), "hls")?;
            add_streams(&mut octx, &encoder, audio.as_ref().map(|a| &a.encoder))?;
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
            octx
        };
        let mp4 = if label == mp4_label {
            let mut octx = format::output_as(&out.join("video.mp4"), "mp4")?;
            add_streams(&mut octx, &encoder, audio.as_ref().map(|a| &a.encoder))?;
            let mut opts = Dictionary::new();
            opts.set("movflags", "+faststart");
            octx.write_header_with(opts)?;
            Some(octx)
        } else {
            None
        };
        rungs.push(Rung {
            label,
            width,
            height,
            max_rate,
            encoder,
            hls,
            mp4,
            next_keyframe: 0.0,
            frame_duration: ((1.0 / info.fps) / rational_f64(sink_tb)).round().max(1.0) as i64,
        });
    }

    let mut poster = PosterPicker::new(info.duration_s, start_pts, v_tb, &info);
    let mut decoded = frame::Video::empty();
    let mut filtered = frame::Video::empty();
    let mut frames = 0u64;
    let mut last_pts: Option<i64> = None;
    let mut last_percent = 1;
    let mut read_errors = 0;
    let mut packet = Packet::empty();
    loop {
        match packet.read(&mut ictx) {
            Ok(()) => read_errors = 0,
            Err(ffmpeg_next::Error::Eof) => break,
            Err(_) => {
                read_errors += 1;
                if read_errors > 50 {
                    break;
                }
                continue;
            }
        }
        let idx = packet.stream();
        if idx == v_index {
            if vdec.send_packet(&packet).is_err() {
                continue;
            }
            drain_video(
                &mut vdec,
                &mut decoded,
                &mut filtered,
                &mut vgraph,
                &mut rungs,
                sink_tb,
                &mut poster,
                &mut frames,
                &mut last_pts,
                audio.as_ref().map(|_| 1usize),
            )?;
            if let Some(pts) = last_pts
                && info.duration_s > 0.0
            {
                let t = (pts - start_pts) as f64 * rational_f64(v_tb);
                let percent = (2.0 + t / info.duration_s * 95.0).clamp(2.0, 97.0) as u8;
                if percent > last_percent {
                    last_percent = percent;
                    progress(percent);
                }
            }
        } else if let Some(a) = audio.as_mut()
            && idx == a.stream_index
        {
            packet.rescale_ts(
                ictx.stream(idx).map(|s| s.time_base()).unwrap_or(v_tb),
                a.decoder.time_base(),
            );
            if a.decoder.send_packet(&packet).is_ok() {
                drain_audio(a, &mut rungs)?;
            }
        }
    }
    let _ = vdec.send_eof();
    drain_video(
        &mut vdec,
        &mut decoded,
        &mut filtered,
        &mut vgraph,
        &mut rungs,
        sink_tb,
        &mut poster,
        &mut frames,
        &mut last_pts,
        audio.as_ref().map(|_| 1usize),
    )?;
    if frames == 0 {
        return Err(Refused::new(
            "video-undecodable",
            "No picture of the video could be decoded; the file may be damaged.".into(),
        )
        .into());
    }
    vgraph.get("in").context("source")?.source().flush().ok();
    pull_filtered(&mut vgraph, &mut filtered, &mut rungs, sink_tb)?;
    for rung in &mut rungs {
        rung.encoder.send_eof()?;
        write_video_packets(rung, sink_tb)?;
    }
    if let Some(a) = audio.as_mut() {
        let _ = a.decoder.send_eof();
        drain_audio(a, &mut rungs)?;
        a.graph.get("ain").context("ain")?.source().flush().ok();
        pull_audio(a, &mut rungs)?;
        a.encoder.send_eof()?;
        write_audio_packets(a, &mut rungs)?;
    }
    for rung in &mut rungs {
        rung.hls.write_trailer()?;
        if let Some(mp4) = rung.mp4.as_mut() {
            mp4.write_trailer()?;
        }
    }
    progress(98);

    // Durations from what was decoded: the last frame's time plus one frame.
    let duration_s = match last_pts {
        Some(pts) => (pts - start_pts) as f64 * rational_f64(v_tb) + 1.0 / info.fps,
        None => info.duration_s,
    };

    let mut variants = Vec::new();
    let mut master = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for rung in &rungs {
        let dir = hls_root.join(format!("{}p", rung.label));
        let (peak, average) = measured_bandwidth(&dir)?;
        let _ = writeln!(
            master,
            "#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},RESOLUTION={}x{},FRAME-RATE={:.3}\n{}p/index.m3u8",
            rung.width,
            rung.height,
            info.fps.min(60.0),
            rung.label
        );
        variants.push(json!({
            "label": format!("{}p", rung.label),
            "width": rung.width,
            "height": rung.height,
            "max_video_bitrate": rung.max_rate,
            "bandwidth": peak,
            "average_bandwidth": average,
            "playlist": format!("hls/{}p/index.m3u8", rung.label),
        }));
    }
    std::fs::write(hls_root.join("master.m3u8"), master)?;
    let mp4_rung = rungs
        .iter()
        .find(|r| r.label == mp4_label)
        .context("mp4 rung")?;

    let posters = poster.write(out)?;
    progress(99);
    Ok(json!({
        "kind": "video",
        "container": info.container,
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        // As ffprobe shows it (counter-clockwise degrees a player turns the picture).
        "rotation": (360 - info.rotation) % 360,
        "fps": info.fps,
        "duration_s": duration_s,
        "has_audio": audio.is_some(),
        "frames": frames,
        "renditions": {
            "hls": "hls/master.m3u8",
            "variants": variants,
            "mp4": {"path": "video.mp4", "width": mp4_rung.width, "height": mp4_rung.height},
            "poster": posters,
        }
    }))
}

fn audio_chain(astream: &format::stream::Stream) -> anyhow::Result<AudioChain> {
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
    let enc = enc.open_as(codec)?;
    graph
        .get("aout")
        .context("aout")?
        .sink()
        .set_frame_size(enc.frame_size().max(1024));
    Ok(AudioChain {
        stream_index: astream.index(),
        decoder: dec,
        graph,
        encoder: enc,
    })
}

fn video_encoder(
    width: u32,
    height: u32,
    max_rate: usize,
    time_base: Rational,
    fps: f64,
) -> anyhow::Result<encoder::Video> {
    let codec = encoder::find_by_name("libx264").context("libx264 encoder")?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()?;
    enc.set_width(width);
    enc.set_height(height);
    enc.set_format(format::Pixel::YUV420P);
    enc.set_time_base(time_base);
    enc.set_frame_rate(Some(Rational((fps * 1000.0).round() as i32, 1000)));
    enc.set_aspect_ratio(Rational(1, 1));
    enc.set_max_bit_rate(max_rate);
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    let mut opts = Dictionary::new();
    opts.set("preset", "veryfast");
    opts.set("crf", "23");
    opts.set("maxrate", &max_rate.to_string());
    opts.set("bufsize", &(max_rate * 2).to_string());
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

#[expect(
    clippy::too_many_arguments,
    reason = "one decode step touches every part of the pipeline"
)]
fn drain_video(
    vdec: &mut decoder::Video,
    decoded: &mut frame::Video,
    filtered: &mut frame::Video,
    graph: &mut filter::Graph,
    rungs: &mut [Rung],
    sink_tb: Rational,
    poster: &mut PosterPicker,
    frames: &mut u64,
    last_pts: &mut Option<i64>,
    _has_audio: Option<usize>,
) -> anyhow::Result<()> {
    while vdec.receive_frame(decoded).is_ok() {
        let Some(pts) = decoded.timestamp() else {
            continue;
        };
        // Monotonic timestamps: a VFR or damaged stream may repeat one.
        if last_pts.is_some_and(|last| pts <= last) {
            continue;
        }
        *last_pts = Some(pts);
        *frames += 1;
        decoded.set_pts(Some(pts));
        decoded.set_kind(picture::Type::None);
        poster.offer(decoded);
        graph.get("in").context("source")?.source().add(decoded)?;
        pull_filtered(graph, filtered, rungs, sink_tb)?;
    }
    Ok(())
}

fn pull_filtered(
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
            if t + 1e-6 >= rung.next_keyframe {
                filtered.set_kind(picture::Type::I);
                rung.next_keyframe =
                    ((t + 1e-6) / KEYFRAME_SECONDS).floor() * KEYFRAME_SECONDS + KEYFRAME_SECONDS;
            } else {
                filtered.set_kind(picture::Type::None);
            }
            rung.encoder.send_frame(filtered)?;
            write_video_packets(rung, sink_tb)?;
        }
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

fn stream_tb(octx: &format::context::Output, index: usize) -> Rational {
    octx.stream(index)
        .map(|s| s.time_base())
        .unwrap_or(Rational(1, 90_000))
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
        pull_audio(a, rungs)?;
    }
    Ok(())
}

fn pull_audio(a: &mut AudioChain, rungs: &mut [Rung]) -> anyhow::Result<()> {
    let mut out = frame::Audio::empty();
    loop {
        let got = a
            .graph
            .get("aout")
            .context("aout")?
            .sink()
            .frame(&mut out)
            .is_ok();
        if !got {
            break;
        }
        a.encoder.send_frame(&out)?;
        write_audio_packets(a, rungs)?;
    }
    Ok(())
}

fn write_audio_packets(a: &mut AudioChain, rungs: &mut [Rung]) -> anyhow::Result<()> {
    let mut pkt = Packet::empty();
    let tb = a.encoder.time_base();
    while a.encoder.receive_packet(&mut pkt).is_ok() {
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

/// Peak and average bits per second of a rung, measured from its playlist and segment files.
fn measured_bandwidth(dir: &Path) -> anyhow::Result<(u64, u64)> {
    let playlist = std::fs::read_to_string(dir.join("index.m3u8"))?;
    let init = std::fs::metadata(dir.join("init.mp4"))
        .map(|m| m.len())
        .unwrap_or(0);
    let mut peak = 0u64;
    let mut total_bytes = init;
    let mut total_s = 0.0;
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
            let bytes = std::fs::metadata(dir.join(line.trim()))
                .with_context(|| format!("segment {line}"))?
                .len();
            total_bytes += bytes;
            total_s += d;
            if d > 0.5 {
                peak = peak.max((bytes as f64 * 8.0 / d) as u64);
            }
        }
    }
    let average = if total_s > 0.0 {
        (total_bytes as f64 * 8.0 / total_s) as u64
    } else {
        0
    };
    Ok((peak.max(average), average))
}

/// Picks the poster: the first frame that is not (nearly) black from 10 % of the duration
/// on; until one is found, the frame at 10 % is kept as a fallback.
struct PosterPicker {
    from_pts: i64,
    chosen: Option<image::RgbImage>,
    fallback: Option<image::RgbImage>,
    rotation: i32,
    target_w: u32,
    target_h: u32,
    scaler: Option<scaling::Context>,
}

impl PosterPicker {
    fn new(duration_s: f64, start_pts: i64, tb: Rational, info: &Probe) -> Self {
        let tbf = rational_f64(tb);
        let from = if tbf > 0.0 {
            start_pts + (duration_s * 0.1 / tbf) as i64
        } else {
            start_pts
        };
        // The scale happens before rotation, so target the coded orientation.
        let w = info.width.min(POSTER_WIDTHS[0]);
        let h = even(f64::from(info.height) * f64::from(w) / f64::from(info.width));
        let (target_w, target_h) = if info.rotation == 90 || info.rotation == 270 {
            (h, w)
        } else {
            (w, h)
        };
        Self {
            from_pts: from,
            chosen: None,
            fallback: None,
            rotation: info.rotation,
            target_w,
            target_h,
            scaler: None,
        }
    }

    fn offer(&mut self, f: &frame::Video) {
        if self.chosen.is_some() {
            return;
        }
        let pts = f.pts().unwrap_or(0);
        if pts < self.from_pts && self.fallback.is_some() {
            return;
        }
        let Some(img) = self.convert(f) else {
            return;
        };
        if pts < self.from_pts {
            // Only the very first frame is kept before the window: a fallback for short clips.
            self.fallback = Some(img);
            return;
        }
        let mean: f64 = img
            .pixels()
            .step_by(7)
            .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
            .sum::<f64>()
            / (img.len() as f64 / 3.0 / 7.0).max(1.0);
        if mean > 20.0 {
            self.chosen = Some(img);
        } else if self.fallback.is_none() || pts >= self.from_pts {
            self.fallback.get_or_insert(img);
        }
    }

    fn convert(&mut self, f: &frame::Video) -> Option<image::RgbImage> {
        if self.scaler.is_none() {
            self.scaler = scaling::Context::get(
                f.format(),
                f.width(),
                f.height(),
                format::Pixel::RGB24,
                self.target_w,
                self.target_h,
                scaling::Flags::BICUBIC,
            )
            .ok();
        }
        let scaler = self.scaler.as_mut()?;
        let mut rgb = frame::Video::empty();
        scaler.run(f, &mut rgb).ok()?;
        let (w, h) = (rgb.width(), rgb.height());
        let stride = rgb.stride(0);
        let data = rgb.data(0);
        let mut buf = Vec::with_capacity((w * h * 3) as usize);
        for row in 0..h as usize {
            buf.extend_from_slice(&data[row * stride..row * stride + w as usize * 3]);
        }
        let img = image::RgbImage::from_raw(w, h, buf)?;
        Some(match self.rotation {
            90 => image::imageops::rotate90(&img),
            180 => image::imageops::rotate180(&img),
            270 => image::imageops::rotate270(&img),
            _ => img,
        })
    }

    fn write(self, out: &Path) -> anyhow::Result<serde_json::Value> {
        let img = self
            .chosen
            .or(self.fallback)
            .ok_or_else(|| anyhow!("no frame for the poster"))?;
        let mut written = Vec::new();
        let mut current = img;
        for width in POSTER_WIDTHS {
            let w = width.min(current.width());
            let h = even(f64::from(current.height()) * f64::from(w) / f64::from(current.width()));
            if w != current.width() {
                current = photo::resize(&current, w, h)?;
            }
            let base: PathBuf = out.join(format!("poster-{width}"));
            photo::write_jpeg(&current, &base.with_extension("jpg"))?;
            photo::write_webp(&current, &base.with_extension("webp"))?;
            written.push(json!({
                "width": current.width(),
                "height": current.height(),
                "jpeg": format!("poster-{width}.jpg"),
                "webp": format!("poster-{width}.webp"),
            }));
        }
        Ok(serde_json::Value::Array(written))
    }
}
