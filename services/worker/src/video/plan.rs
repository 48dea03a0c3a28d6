//! The video job's decisions, as pure functions: which rungs and at what size and bitrate,
//! which rung also becomes the MP4, where keyframes fall, the filter graph text, the poster's
//! size and window, and how far along the job is. No libav here, so all of it is unit-tested.

use std::fmt::Write as _;

use crate::rendition::Rendition;

/// One HLS rung: the short side in pixels and its video bitrate cap. The 360p rung stays
/// under 400 kbit/s with its audio, so it plays on a weak 3G link.
const LADDER: [(u32, usize); 4] = [
    (360, 300_000),
    (480, 600_000),
    (720, 1_500_000),
    (1080, 3_000_000),
];
/// The tallest rung that also becomes the progressive MP4.
const MP4_MAX_SHORT_SIDE: u32 = 720;
pub const AUDIO_BITRATE: usize = 64_000;
pub const AUDIO_RATE: i32 = 48_000;
pub const KEYFRAME_SECONDS: f64 = 2.0;
pub const SEGMENT_SECONDS: &str = "4";
pub const POSTER_WIDTHS: [u32; 2] = [1280, 400];

/// One rung to encode: its name (the short side), picture size and video bitrate cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RungPlan {
    pub short_side: u32,
    pub width: u32,
    pub height: u32,
    pub max_rate: usize,
}

impl RungPlan {
    pub fn rendition(self) -> Rendition {
        Rendition::Rung {
            short_side: self.short_side,
        }
    }
}

/// `x` rounded to an even number of pixels (x264 needs even sizes), at least 2.
pub fn even(x: f64) -> u32 {
    ((x / 2.0).round() as u32 * 2).max(2)
}

/// The rungs for a source of `width`×`height` (as shown): never upscaled, portrait stays
/// portrait. A source smaller than the first rung gets one rung at its own size.
pub fn ladder(width: u32, height: u32) -> Vec<RungPlan> {
    let short = width.min(height);
    let mut rungs: Vec<_> = LADDER
        .iter()
        .filter(|(p, _)| *p <= short)
        .map(|&(p, max_rate)| {
            let scale = f64::from(p) / f64::from(short);
            let (width, height) = if width >= height {
                (even(f64::from(width) * scale), p)
            } else {
                (p, even(f64::from(height) * scale))
            };
            RungPlan {
                short_side: p,
                width,
                height,
                max_rate,
            }
        })
        .collect();
    if rungs.is_empty() {
        rungs.push(RungPlan {
            short_side: short,
            width: even(f64::from(width)),
            height: even(f64::from(height)),
            max_rate: LADDER[0].1,
        });
    }
    rungs
}

/// The rung that is also written as the MP4: the tallest up to 720p, else the first.
pub fn mp4_rung(rungs: &[RungPlan]) -> Option<RungPlan> {
    rungs
        .iter()
        .filter(|r| r.short_side <= MP4_MAX_SHORT_SIDE)
        .max_by_key(|r| r.short_side)
        .or_else(|| rungs.first())
        .copied()
}

/// Whether a frame at `t` seconds must be a keyframe, given the next one due; and when the
/// one after it is due. Keyframes fall on every `KEYFRAME_SECONDS` of media time, the same in
/// every rung, so segments of all rungs start at the same instant.
pub fn keyframe_at(t: f64, next_due: f64) -> Option<f64> {
    (t + 1e-6 >= next_due)
        .then(|| ((t + 1e-6) / KEYFRAME_SECONDS).floor() * KEYFRAME_SECONDS + KEYFRAME_SECONDS)
}

/// One frame in ticks of `tick_seconds`: the duration of packets that carry none, so the
/// last frame counts and durations come out exact.
pub fn frame_duration(fps: f64, tick_seconds: f64) -> i64 {
    ((1.0 / fps) / tick_seconds).round().max(1.0) as i64
}

/// The rung the smaller ones are scaled from.
const CASCADE_FROM: u32 = 720;

/// The libavfilter graph: rotation once (`rotation` clockwise degrees), then one scaled
/// branch per rung, `[in]` to `[out0]`, `[out1]`…; the rungs below 720p are scaled from the
/// 720p picture rather than from the source (a 1080p frame has 2.25× its pixels to read), as
/// a cascade does for photos.
pub fn filter_spec(rotation: i32, rungs: &[RungPlan]) -> String {
    let rotate = match rotation {
        90 => "transpose=clock,",
        180 => "hflip,vflip,",
        270 => "transpose=cclock,",
        _ => "",
    };
    let base = rungs.iter().position(|r| r.short_side == CASCADE_FROM);
    let from_base = |i: usize| base.is_some_and(|b| i < b);
    let scale = |r: &RungPlan| {
        format!(
            "scale={}:{}:flags=bicubic,setsar=1,format=yuv420p",
            r.width, r.height
        )
    };
    let direct: Vec<usize> = (0..rungs.len()).filter(|&i| !from_base(i)).collect();
    let mut spec = format!("[in]{rotate}split={}", direct.len());
    for i in &direct {
        let _ = write!(spec, "[s{i}]");
    }
    for &i in &direct {
        let _ = write!(spec, ";[s{i}]{}", scale(&rungs[i]));
        let children: Vec<usize> = (0..rungs.len())
            .filter(|&c| from_base(c) && Some(i) == base)
            .collect();
        if children.is_empty() {
            let _ = write!(spec, "[out{i}]");
        } else {
            let _ = write!(spec, ",split={}[out{i}]", children.len() + 1);
            for c in &children {
                let _ = write!(spec, "[c{c}]");
            }
            for &c in &children {
                let _ = write!(spec, ";[c{c}]{}[out{c}]", scale(&rungs[c]));
            }
        }
    }
    spec
}

/// The size a frame is scaled to for the poster. The scale happens before rotation, so it
/// targets the coded orientation; `width`×`height` are as shown.
pub fn poster_size(width: u32, height: u32, rotation: i32) -> (u32, u32) {
    let w = width.min(POSTER_WIDTHS[0]);
    let h = even(f64::from(height) * f64::from(w) / f64::from(width));
    if rotation == 90 || rotation == 270 {
        (h, w)
    } else {
        (w, h)
    }
}

/// The first timestamp a poster may come from: 10 % into the video (intros are often black).
pub fn poster_from_pts(duration_s: f64, start_pts: i64, tick_seconds: f64) -> i64 {
    if tick_seconds > 0.0 {
        start_pts + (duration_s * 0.1 / tick_seconds) as i64
    } else {
        start_pts
    }
}

/// The progress while decoding: 2 % at the start to 97 % at the end, the rest is packaging.
pub fn decode_percent(t: f64, duration_s: f64) -> u8 {
    (2.0 + t / duration_s * 95.0).clamp(2.0, 97.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(rungs: &[RungPlan]) -> Vec<(u32, u32, u32)> {
        rungs
            .iter()
            .map(|r| (r.short_side, r.width, r.height))
            .collect()
    }

    #[test]
    fn a_1080p_landscape_source_gets_four_rungs_with_their_bitrate_caps() {
        let rungs = ladder(1920, 1080);
        assert_eq!(
            sizes(&rungs),
            [
                (360, 640, 360),
                (480, 854, 480),
                (720, 1280, 720),
                (1080, 1920, 1080)
            ]
        );
        let rates: Vec<_> = rungs.iter().map(|r| r.max_rate).collect();
        assert_eq!(rates, [300_000, 600_000, 1_500_000, 3_000_000]);
        assert_eq!(mp4_rung(&rungs).map(|r| r.short_side), Some(720));
    }

    #[test]
    fn a_portrait_source_stays_portrait_and_is_never_upscaled() {
        let rungs = ladder(720, 1280);
        assert_eq!(
            sizes(&rungs),
            [(360, 360, 640), (480, 480, 854), (720, 720, 1280)]
        );
        assert_eq!(mp4_rung(&rungs).map(|r| r.short_side), Some(720));
    }

    #[test]
    fn a_source_below_360p_gets_one_rung_at_its_own_even_size() {
        let rungs = ladder(321, 241);
        assert_eq!(sizes(&rungs), [(241, 322, 242)]);
        assert_eq!(rungs[0].max_rate, 300_000);
        assert_eq!(mp4_rung(&rungs), Some(rungs[0]));
        assert_eq!(mp4_rung(&[]), None);
    }

    #[test]
    fn keyframes_fall_on_every_two_seconds_of_media_time() {
        assert_eq!(keyframe_at(0.0, 0.0), Some(2.0));
        assert_eq!(keyframe_at(1.96, 2.0), None);
        assert_eq!(keyframe_at(2.0, 2.0), Some(4.0));
        // A gap in a VFR stream: the next keyframe stays on the 2 s grid.
        assert_eq!(keyframe_at(5.3, 4.0), Some(6.0));
    }

    #[test]
    fn the_filter_graph_rotates_once_then_scales_each_rung() {
        let rungs = ladder(640, 360);
        assert_eq!(
            filter_spec(90, &rungs),
            "[in]transpose=clock,split=1[s0];[s0]scale=640:360:flags=bicubic,setsar=1,format=yuv420p[out0]"
        );
        let two = ladder(854, 480);
        let spec = filter_spec(0, &two);
        assert!(
            spec.starts_with("[in]split=2[s0][s1];[s0]scale=640:360"),
            "{spec}"
        );
        assert!(spec.ends_with("[s1]scale=854:480:flags=bicubic,setsar=1,format=yuv420p[out1]"));
        assert!(filter_spec(180, &two).starts_with("[in]hflip,vflip,split=2"));
        assert!(filter_spec(270, &two).starts_with("[in]transpose=cclock,split=2"));
    }

    #[test]
    fn the_rungs_below_720p_are_scaled_from_the_720p_picture() {
        let spec = filter_spec(0, &ladder(1920, 1080));
        assert_eq!(
            spec,
            "[in]split=2[s2][s3];\
             [s2]scale=1280:720:flags=bicubic,setsar=1,format=yuv420p,split=3[out2][c0][c1];\
             [c0]scale=640:360:flags=bicubic,setsar=1,format=yuv420p[out0];\
             [c1]scale=854:480:flags=bicubic,setsar=1,format=yuv420p[out1];\
             [s3]scale=1920:1080:flags=bicubic,setsar=1,format=yuv420p[out3]"
        );
        // Portrait, turned: the cascade holds after the rotation.
        let spec = filter_spec(90, &ladder(720, 1280));
        assert!(
            spec.starts_with("[in]transpose=clock,split=1[s2];[s2]scale=720:1280"),
            "{spec}"
        );
        assert!(
            spec.contains(",split=3[out2][c0][c1];[c0]scale=360:640"),
            "{spec}"
        );
    }

    #[test]
    fn the_poster_is_scaled_in_the_coded_orientation() {
        assert_eq!(poster_size(1920, 1080, 0), (1280, 720));
        // Shown as 1080×1920 portrait, coded 1920×1080 and turned by 90°.
        assert_eq!(poster_size(1080, 1920, 90), (1920, 1080));
        assert_eq!(poster_size(320, 240, 0), (320, 240));
        assert_eq!(poster_from_pts(10.0, 100, 0.5), 102);
        assert_eq!(poster_from_pts(10.0, 100, 0.0), 100);
    }

    #[test]
    fn frame_durations_and_progress_are_bounded() {
        assert_eq!(frame_duration(25.0, 1.0 / 12_800.0), 512);
        assert_eq!(frame_duration(1000.0, 1.0), 1);
        assert_eq!(decode_percent(0.0, 10.0), 2);
        assert_eq!(decode_percent(5.0, 10.0), 49);
        assert_eq!(decode_percent(20.0, 10.0), 97);
    }
}
