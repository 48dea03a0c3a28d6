//! The video's poster: picked while decoding (the first frame that is not nearly black from
//! 10 % of the duration on), turned upright, and written at 1280 and 400 px as JPEG and WebP
//! through the same still writers as photos.

use std::path::Path;

use anyhow::anyhow;
use ffmpeg_next::{Rational, format, frame, software::scaling};

use super::plan::{self, POSTER_WIDTHS, even};
use super::probe::{Probe, rational_f64};
use crate::raster;
use crate::rendition::{Rendition, Still, StillFormat};

/// The mean luma above which a frame counts as a picture rather than a black intro.
const MIN_MEAN_LUMA: f64 = 20.0;

/// Picks the poster: the first frame that is not (nearly) black from 10 % of the duration
/// on; until one is found, the frame at 10 % is kept as a fallback.
pub struct PosterPicker {
    from_pts: i64,
    chosen: Option<image::RgbImage>,
    fallback: Option<image::RgbImage>,
    rotation: i32,
    target_w: u32,
    target_h: u32,
    scaler: Option<scaling::Context>,
}

impl PosterPicker {
    pub fn new(duration_s: f64, start_pts: i64, tb: Rational, info: &Probe) -> Self {
        let (target_w, target_h) = plan::poster_size(info.width, info.height, info.rotation);
        Self {
            from_pts: plan::poster_from_pts(duration_s, start_pts, rational_f64(tb)),
            chosen: None,
            fallback: None,
            rotation: info.rotation,
            target_w,
            target_h,
            scaler: None,
        }
    }

    pub fn offer(&mut self, f: &frame::Video) {
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
        if mean_luma(&img) > MIN_MEAN_LUMA {
            self.chosen = Some(img);
        } else if self.fallback.is_none() || pts >= self.from_pts {
            self.fallback.get_or_insert(img);
        }
    }

    /// The frame scaled to the poster size, as upright RGB.
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

    /// Writes the poster in every width (a cascade: each from the one before).
    pub fn write(self, out: &Path) -> anyhow::Result<Vec<Still>> {
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
                current = raster::resize(&current, w, h)?;
            }
            let file = |format| Rendition::Poster { width, format }.path();
            let (jpeg, webp) = (file(StillFormat::Jpeg), file(StillFormat::Webp));
            raster::write_jpeg(&current, &out.join(&jpeg))?;
            raster::write_webp(&current, &out.join(&webp))?;
            written.push(Still {
                label: None,
                width: current.width(),
                height: current.height(),
                jpeg,
                webp,
            });
        }
        Ok(written)
    }
}

/// The mean luma of every 7th pixel: cheap, and enough to tell a black frame.
fn mean_luma(img: &image::RgbImage) -> f64 {
    img.pixels()
        .step_by(7)
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .sum::<f64>()
        / (img.len() as f64 / 3.0 / 7.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_black_frame_is_dark_and_a_grey_one_is_not() {
        let black = image::RgbImage::from_pixel(16, 9, image::Rgb([0, 0, 0]));
        let grey = image::RgbImage::from_pixel(16, 9, image::Rgb([128, 128, 128]));
        assert!(mean_luma(&black) <= MIN_MEAN_LUMA);
        assert!(mean_luma(&grey) > MIN_MEAN_LUMA);
    }
}
