//! Opening an untrusted video and describing it: the file protocol and a container whitelist
//! only, then the checks that refuse what phones cannot be served (size, frame rate, length),
//! each with a reason a member can act on.

use std::path::Path;

use ffmpeg_next::{Dictionary, Rational, codec, format, media};

use crate::protocol::Refused;

/// Containers an upload may be; anything else (HLS, concat, images, raw streams) is refused
/// before a single byte is parsed by its demuxer.
pub const FORMAT_WHITELIST: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm";

/// The longest side a video may have (4K UHD).
const MAX_LONG_SIDE: u32 = 3840;
const MAX_SHORT_SIDE: u32 = 2160;
const MAX_FPS: f64 = 60.5;

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
            return rotation_of_matrix(&m);
        }
    }
    0
}

/// The quarter turn closest to a display matrix's rotation.
fn rotation_of_matrix(m: &[f64]) -> i32 {
    let s0 = m[0].hypot(m[3]);
    let s1 = m[1].hypot(m[4]);
    if s0 == 0.0 || s1 == 0.0 {
        return 0;
    }
    let theta = (m[1] / s1).atan2(m[0] / s0).to_degrees();
    let theta = ((theta.round() as i32 % 360) + 360) % 360;
    match theta {
        45..=134 => 90,
        135..=224 => 180,
        225..=314 => 270,
        _ => 0,
    }
}

/// A libav rational as a float; 0 when the denominator is 0 (an unknown rate).
pub fn rational_f64(r: Rational) -> f64 {
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
    let dec = video_decoder(&stream)?;
    let (cw, ch) = (dec.width(), dec.height());
    check_size(cw, ch)?;
    let fps = check_fps(&stream)?;
    let duration_s = duration_of(input);
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
    })
}

fn video_decoder(stream: &format::stream::Stream) -> Result<ffmpeg_next::decoder::Video, Refused> {
    let ctx = codec::context::Context::from_parameters(stream.parameters()).map_err(|e| {
        Refused::new(
            "video-undecodable",
            format!("The video cannot be decoded ({e})."),
        )
    })?;
    ctx.decoder().video().map_err(|e| {
        Refused::new(
            "video-undecodable",
            format!("The video's codec is not supported ({e})."),
        )
    })
}

fn check_size(cw: u32, ch: u32) -> Result<(), Refused> {
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
    Ok(())
}

/// The average frame rate (else the stream's base rate), refused above 60.
fn check_fps(stream: &format::stream::Stream) -> Result<f64, Refused> {
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
    Ok(fps)
}

/// The container's duration in seconds; 0 when it does not say.
fn duration_of(input: &format::context::Input) -> f64 {
    if input.duration() > 0 {
        input.duration() as f64 / f64::from(ffmpeg_next::ffi::AV_TIME_BASE)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A display matrix of `degrees` as libav writes it: [cos, -sin; sin, cos] (row-major).
    fn matrix(degrees: f64) -> Vec<f64> {
        let (s, c) = degrees.to_radians().sin_cos();
        vec![c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0]
    }

    #[test]
    fn display_matrices_turn_into_quarter_turns() {
        assert_eq!(rotation_of_matrix(&matrix(0.0)), 0);
        assert_eq!(rotation_of_matrix(&matrix(180.0)), 180);
        let quarter = rotation_of_matrix(&matrix(90.0));
        let three = rotation_of_matrix(&matrix(270.0));
        assert_eq!(
            [quarter, three]
                .iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            [90, 270].into()
        );
        assert_eq!(rotation_of_matrix(&[0.0; 9]), 0);
    }

    #[test]
    fn sizes_over_4k_and_empty_pictures_are_refused() {
        assert!(check_size(3840, 2160).is_ok());
        assert!(check_size(2160, 3840).is_ok());
        assert_eq!(check_size(4096, 2160).unwrap_err().code, "video-too-large");
        assert_eq!(check_size(0, 10).unwrap_err().code, "video-undecodable");
    }
}
