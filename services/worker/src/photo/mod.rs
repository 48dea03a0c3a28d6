//! The photo pipeline of the sandboxed child: header check, a decode with explicit limits
//! (JPEG, PNG, WebP through `image`; HEIC/HEIF through libheif), orientation applied, colours
//! converted to sRGB from an embedded ICC (or HEIF nclx) profile, then a resize cascade to
//! 1600/800/400 px written as JPEG and WebP that carry no metadata at all (pixels only: no
//! EXIF, GPS, XMP or ICC).

mod colour;
mod decode;

use std::path::Path;

pub use self::decode::{MAX_ALLOC, MAX_PIXELS};
use crate::protocol::{MediaKind, progress};
use crate::raster;
use crate::rendition::{PhotoRenditions, PhotoResult, Rendition, Still, StillFormat};

const WIDTHS: [u32; 3] = [1600, 800, 400];

/// Runs the whole photo job; returns the result (paths relative to `out`).
pub fn run(input: &Path, out: &Path) -> anyhow::Result<PhotoResult> {
    let decoded = decode::decode(input, WIDTHS[0])?;
    progress(40);
    let mut current = decode::flatten(decoded.img);
    let colour = colour::to_srgb(&mut current, &decoded.colour);
    // The photo's size, whatever size it was decoded at: the rungs' sizes follow from it.
    let (width, height) = (decoded.width, decoded.height);

    let mut images = Vec::new();
    // Each rung's size follows from the one before (the photo's for the first), rounded as
    // the cascade always was, whatever size the photo was decoded at.
    let mut previous = (width, height);
    for (i, target) in WIDTHS.into_iter().enumerate() {
        let w = target.min(previous.0);
        let h = if w == previous.0 {
            previous.1
        } else {
            ((f64::from(previous.1) * f64::from(w) / f64::from(previous.0)).round() as u32).max(1)
        };
        previous = (w, h);
        if (w, h) != current.dimensions() {
            // A cascade: each size is made from the previous one, never from the full decode.
            current = raster::resize(&current, w, h)?;
        }
        let file = |format| Rendition::Photo {
            width: target,
            format,
        };
        let (jpeg, webp) = (file(StillFormat::Jpeg), file(StillFormat::Webp));
        raster::write_jpeg(&current, &out.join(jpeg.path()))?;
        raster::write_webp(&current, &out.join(webp.path()))?;
        images.push(Still {
            label: Some(jpeg.label()),
            width: current.width(),
            height: current.height(),
            jpeg: jpeg.path(),
            webp: webp.path(),
        });
        progress(50 + 15 * (i as u8 + 1));
    }
    Ok(PhotoResult {
        kind: MediaKind::Photo,
        format: decoded.format,
        width,
        height,
        orientation: decoded.orientation,
        colour,
        renditions: PhotoRenditions { images },
    })
}
