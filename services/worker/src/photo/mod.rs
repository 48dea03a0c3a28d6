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
    let decoded = decode::decode(input)?;
    progress(40);
    let mut current = decode::flatten(decoded.img);
    let colour = colour::to_srgb(&mut current, &decoded.colour);
    let (width, height) = current.dimensions();

    let mut images = Vec::new();
    for (i, target) in WIDTHS.into_iter().enumerate() {
        let w = target.min(current.width());
        if w != current.width() {
            let h = ((f64::from(current.height()) * f64::from(w) / f64::from(current.width()))
                .round() as u32)
                .max(1);
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
