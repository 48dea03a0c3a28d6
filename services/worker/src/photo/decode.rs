//! Decoding an untrusted photo with explicit limits: the size from the header is checked
//! before a pixel is allocated; JPEG, PNG and WebP through `image` (EXIF orientation applied),
//! HEIC/HEIF through libheif (its own `irot`/`imir` applied); alpha put on white. A JPEG at
//! least twice as wide as the widest rendition is decoded smaller in the DCT (jpeg-decoder's
//! reduced IDCT at 1/2, 1/4 or 1/8): most of a 12 MP photo's decode never happens.

use std::path::Path;

use anyhow::Context;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use super::colour::Colour;
use crate::protocol::Refused;

pub const MAX_PIXELS: u64 = 50_000_000;
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// A decoded photo, upright, with the colour space its pixels are in. `width` × `height` is
/// the photo's upright size; `img` may be smaller (a JPEG decoded at a reduced scale), never
/// narrower than the `min_width` asked for unless the photo itself is.
pub struct Decoded {
    pub img: DynamicImage,
    pub width: u32,
    pub height: u32,
    pub format: &'static str,
    pub orientation: String,
    pub colour: Colour,
}

/// Decodes the photo at `input`, HEIF by its brands and the rest by their signature; the
/// pixels need only be `min_width` wide once upright.
pub fn decode(input: &Path, min_width: u32) -> anyhow::Result<Decoded> {
    if is_heif(input)? {
        decode_heif(input)
    } else {
        decode_image(input, min_width)
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
    let img = heif_pixels(&image)?;
    Ok(Decoded {
        width: img.width(),
        height: img.height(),
        img: DynamicImage::ImageRgb8(img),
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

/// JPEG, PNG or WebP through `image`, with explicit limits; EXIF orientation applied. A
/// large JPEG's pixels come from `decode_jpeg_reduced` instead.
fn decode_image(input: &Path, min_width: u32) -> anyhow::Result<Decoded> {
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
    let reduced = if format == "jpeg" {
        decode_jpeg_reduced(input, (w, h), orientation, min_width)?
    } else {
        None
    };
    let mut img = match reduced {
        Some(img) => img,
        None => DynamicImage::from_decoder(decoder).map_err(unreadable)?,
    };
    img.apply_orientation(orientation);
    let (width, height) = if turns_sideways(orientation) {
        (h, w)
    } else {
        (w, h)
    };
    Ok(Decoded {
        img,
        width,
        height,
        format,
        orientation: format!("{orientation:?}"),
        colour,
    })
}

fn turns_sideways(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation::*;
    matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH)
}

/// The pixels of a JPEG of `size` (as stored) decoded at the smallest of 1/8, 1/4 and 1/2 of
/// its size whose upright width is still at least `min_width`; `None` when only the full
/// size would do (then `image` decodes it) or for pixel formats left to `image` (CMYK,
/// 12-bit). The same limits hold: the size was checked from the header, and the decoder's
/// buffer is capped at `MAX_ALLOC`.
fn decode_jpeg_reduced(
    input: &Path,
    size: (u32, u32),
    orientation: image::metadata::Orientation,
    min_width: u32,
) -> anyhow::Result<Option<DynamicImage>> {
    // The stored side that becomes the upright width.
    let across = if turns_sideways(orientation) {
        size.1
    } else {
        size.0
    };
    if across < 2 * min_width {
        return Ok(None);
    }
    let file = std::io::BufReader::new(std::fs::File::open(input)?);
    let mut decoder = jpeg_decoder::Decoder::new(file);
    decoder.set_max_decoding_buffer_size(MAX_ALLOC as usize);
    // `scale` picks the smallest factor reaching the request on either axis: the other
    // axis asks for more than any JPEG has, so only the upright width decides.
    let want = u16::try_from(min_width).unwrap_or(u16::MAX);
    let (sw, sh) = if turns_sideways(orientation) {
        decoder.scale(u16::MAX, want)
    } else {
        decoder.scale(want, u16::MAX)
    }
    .map_err(jpeg_unreadable)?;
    let format = decoder.info().map(|i| i.pixel_format);
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    if sw > size.0 || sh > size.1 {
        return Err(jpeg_unreadable(jpeg_decoder::Error::Format(format!(
            "scaled size {sw}×{sh} beyond the header's {}×{}",
            size.0, size.1
        ))));
    }
    let pixels = match format {
        Some(jpeg_decoder::PixelFormat::RGB24 | jpeg_decoder::PixelFormat::L8) => {
            decoder.decode().map_err(jpeg_unreadable)?
        }
        _ => return Ok(None),
    };
    let img = match format {
        Some(jpeg_decoder::PixelFormat::RGB24) => {
            RgbImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageRgb8)
        }
        _ => image::GrayImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageLuma8),
    };
    img.map(Some)
        .context("the JPEG decoded to fewer pixels than its size")
}

fn jpeg_unreadable(e: jpeg_decoder::Error) -> anyhow::Error {
    Refused::new(
        "photo-unreadable",
        format!("The photo cannot be read; it may be damaged ({e})."),
    )
    .into()
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
