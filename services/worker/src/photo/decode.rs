//! Decoding an untrusted photo with explicit limits: the size from the header is checked
//! before a pixel is allocated; JPEG, PNG and WebP through `image` (EXIF orientation applied),
//! HEIC/HEIF through libheif (its own `irot`/`imir` applied); alpha put on white.

use std::path::Path;

use anyhow::Context;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use super::colour::Colour;
use crate::protocol::Refused;

pub const MAX_PIXELS: u64 = 50_000_000;
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// A decoded photo, upright, with the colour space its pixels are in.
pub struct Decoded {
    pub img: DynamicImage,
    pub format: &'static str,
    pub orientation: String,
    pub colour: Colour,
}

/// Decodes the photo at `input`, HEIF by its brands and the rest by their signature.
pub fn decode(input: &Path) -> anyhow::Result<Decoded> {
    if is_heif(input)? {
        decode_heif(input)
    } else {
        decode_image(input)
    }
}

fn too_large(w: u32, h: u32) -> Option<Refused> {
    (u64::from(w) * u64::from(h) > MAX_PIXELS || w == 0 || h == 0).then(|| {
        Refused::new(
            "photo-too-large",
            format!("The photo is {w}×{h} pixels; at most 50 megapixels are accepted."),
        )
    })
}

/// HEIF/HEIC (iPhone photos) by the brands of their `ftyp` box: HEIF requires `mif1` (or
/// `msf1`) among the compatible brands; iPhones write major brand `heic`.
fn is_heif(path: &Path) -> anyhow::Result<bool> {
    let mut head = [0u8; 64];
    let mut f = std::fs::File::open(path)?;
    let n = std::io::Read::read(&mut f, &mut head)?;
    Ok(has_heif_brand(&head[..n]))
}

fn has_heif_brand(head: &[u8]) -> bool {
    let n = head.len();
    if n < 16 || &head[4..8] != b"ftyp" {
        return false;
    }
    let size = (u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize).min(n);
    // Major brand at 8..12, minor version at 12..16, compatible brands from 16 on.
    let mut brands = std::iter::once(&head[8..12]).chain(head[16..size.max(16)].chunks_exact(4));
    brands.any(|b| matches!(b, b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1"))
}

fn heif_unreadable(e: libheif_rs::HeifError) -> anyhow::Error {
    Refused::new(
        "photo-unreadable",
        format!("The HEIC photo cannot be read; it may be damaged ({e})."),
    )
    .into()
}

/// Decodes the primary image of a HEIF file with libheif, after checking its size from the
/// header. libheif applies the file's own rotation and mirroring (`irot`/`imir`), which HEIF
/// makes authoritative: an EXIF orientation inside a HEIF is informative only and ignored, as
/// libheif's own tools and browsers do.
fn decode_heif(path: &Path) -> anyhow::Result<Decoded> {
    let name = path.to_str().context("non-UTF-8 path")?;
    let ctx = libheif_rs::HeifContext::read_from_file(name).map_err(heif_unreadable)?;
    let handle = ctx.primary_image_handle().map_err(heif_unreadable)?;
    if let Some(r) = too_large(handle.width(), handle.height()) {
        return Err(r.into());
    }
    let lib = libheif_rs::LibHeif::new();
    let image = lib
        .decode(
            &handle,
            libheif_rs::ColorSpace::Rgb(libheif_rs::RgbChroma::Rgb),
            None,
        )
        .map_err(heif_unreadable)?;
    let colour = heif_colour(&handle, &image);
    Ok(Decoded {
        img: DynamicImage::ImageRgb8(heif_pixels(&image)?),
        format: "heic",
        orientation: "heif-transforms".into(),
        colour,
    })
}

/// An ICC profile wins; else nclx code points, from the `colr` box or (libheif writes none
/// by default, for macOS) from the HEVC bitstream, which the decoded image carries.
fn heif_colour(handle: &libheif_rs::ImageHandle, image: &libheif_rs::Image) -> Colour {
    if let Some(icc) = handle.color_profile_raw() {
        Colour::Icc(icc.data)
    } else if let Some(nclx) = handle
        .color_profile_nclx()
        .or_else(|| image.color_profile_nclx())
    {
        Colour::Nclx {
            primaries: nclx.color_primaries() as u8,
            transfer: nclx.transfer_characteristics() as u8,
        }
    } else {
        Colour::Untagged
    }
}

/// The decoded interleaved RGB plane, without its row padding.
fn heif_pixels(image: &libheif_rs::Image) -> anyhow::Result<RgbImage> {
    let planes = image.planes();
    let plane = planes.interleaved.context("no interleaved RGB plane")?;
    let (w, h) = (plane.width, plane.height);
    // Rotation may swap the sides, never grow the area checked above.
    if let Some(r) = too_large(w, h) {
        return Err(r.into());
    }
    let row = w as usize * 3;
    let mut buf = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        let line = plane
            .data
            .get(y * plane.stride..y * plane.stride + row)
            .context("HEIC plane shorter than its size")?;
        buf.extend_from_slice(line);
    }
    RgbImage::from_raw(w, h, buf).context("HEIC plane size")
}

/// JPEG, PNG or WebP through `image`, with explicit limits; EXIF orientation applied.
fn decode_image(input: &Path) -> anyhow::Result<Decoded> {
    let reader = ImageReader::open(input)?
        .with_guessed_format()
        .context("cannot read the photo")?;
    let format = match reader.format() {
        Some(ImageFormat::Jpeg) => "jpeg",
        Some(ImageFormat::Png) => "png",
        Some(ImageFormat::WebP) => "webp",
        _ => {
            return Err(Refused::new(
                "photo-unsupported",
                "The file is not a photo we can read (JPEG, PNG, WebP or HEIC).".into(),
            )
            .into());
        }
    };
    let (w, h) = header_size(input)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(MAX_ALLOC);
    // `into_decoder` skips the reader's limits, so they are set on the decoder itself.
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    decoder.set_limits(limits).map_err(unreadable)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    // A damaged profile is not a damaged photo: it is treated as absent.
    let colour = match decoder.icc_profile() {
        Ok(Some(icc)) if !icc.is_empty() => Colour::Icc(icc),
        _ => Colour::Untagged,
    };
    let mut img = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    img.apply_orientation(orientation);
    Ok(Decoded {
        img,
        format,
        orientation: format!("{orientation:?}"),
        colour,
    })
}

/// The size from the header, refused when too large: a 50,000×50,000 PNG is refused before
/// a pixel is allocated.
fn header_size(input: &Path) -> anyhow::Result<(u32, u32)> {
    let (w, h) = ImageReader::open(input)?
        .with_guessed_format()?
        .into_dimensions()
        .map_err(|e| {
            Refused::new(
                "photo-unreadable",
                format!("The photo cannot be read; it may be damaged ({e})."),
            )
        })?;
    match too_large(w, h) {
        Some(r) => Err(r.into()),
        None => Ok((w, h)),
    }
}

fn unreadable(e: image::ImageError) -> anyhow::Error {
    match e {
        image::ImageError::Limits(_) => Refused::new(
            "photo-too-large",
            "The photo needs more memory to decode than allowed (at most 50 megapixels).".into(),
        )
        .into(),
        other => Refused::new(
            "photo-unreadable",
            format!("The photo cannot be read; it may be damaged ({other})."),
        )
        .into(),
    }
}

/// RGB8 without alpha; transparent pixels are put on white, as a viewer would show them.
pub fn flatten(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        let p = rgba.get_pixel(x, y);
        let a = u32::from(p[3]);
        let mix = |c: u8| ((u32::from(c) * a + 255 * (255 - a)) / 255) as u8;
        image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len();
        let mut b = (size as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        b
    }

    #[test]
    fn heif_is_told_by_its_brands_and_an_mp4_is_not_heif() {
        assert!(has_heif_brand(&ftyp(b"heic", &[b"mif1"])));
        assert!(has_heif_brand(&ftyp(b"avif", &[b"mif1", b"miaf"])));
        assert!(!has_heif_brand(&ftyp(b"isom", &[b"isom", b"mp42"])));
        assert!(!has_heif_brand(b"\x89PNG\r\n\x1a\n"));
    }

    #[test]
    fn transparent_pixels_are_put_on_white() {
        let rgba = image::RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 0, 0]));
        let flat = flatten(DynamicImage::ImageRgba8(rgba));
        assert_eq!(flat.get_pixel(1, 1), &image::Rgb([255, 255, 255]));
    }
}
