//! The photo pipeline of the sandboxed child: header check, a decode with explicit limits
//! (JPEG, PNG, WebP through `image`; HEIC/HEIF through libheif), orientation applied, colours
//! converted to sRGB from an embedded ICC (or HEIF nclx) profile, then a resize cascade to
//! 1600/800/400 px written as JPEG and WebP that carry no metadata at all (pixels only: no
//! EXIF, GPS, XMP or ICC).

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use fast_image_resize as fr;
use ffmpeg_next::{Dictionary, Packet, codec, encoder, format, frame, software::scaling};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use moxcms::{
    CicpColorPrimaries, CicpProfile, ColorProfile, Layout, MatrixCoefficients,
    TransferCharacteristics, TransformOptions,
};
use serde_json::json;

use crate::child::{Refused, progress};

pub const MAX_PIXELS: u64 = 50_000_000;
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;
const WIDTHS: [u32; 3] = [1600, 800, 400];
const JPEG_QUALITY: u8 = 82;
const WEBP_QUALITY: &str = "78";
/// Rows converted to sRGB at a time: the conversion needs a buffer of this many rows, not a
/// second copy of a 50 MP photo.
const COLOUR_ROWS: usize = 64;

/// A decoded photo, upright, with the colour space its pixels are in.
struct Decoded {
    img: DynamicImage,
    format: &'static str,
    orientation: String,
    colour: Colour,
}

/// Where the photo's colours are defined.
enum Colour {
    /// No profile: sRGB, as browsers assume.
    Untagged,
    /// An embedded ICC profile (JPEG APP2, PNG iCCP, WebP ICCP, HEIF `prof`/`rICC`).
    Icc(Vec<u8>),
    /// HEIF `nclx` code points (ITU-T H.273): primaries and transfer.
    Nclx { primaries: u8, transfer: u8 },
}

/// Runs the whole photo job; returns the result JSON (paths relative to `out`).
pub fn run(input: &Path, out: &Path) -> anyhow::Result<serde_json::Value> {
    let decoded = if is_heif(input)? {
        decode_heif(input)?
    } else {
        decode_image(input)?
    };
    progress(40);
    let mut current = flatten(decoded.img);
    let colour = to_srgb(&mut current, &decoded.colour);
    let (width, height) = current.dimensions();

    let mut renditions = Vec::new();
    for (i, target) in WIDTHS.into_iter().enumerate() {
        let w = target.min(current.width());
        if w != current.width() {
            let h = ((f64::from(current.height()) * f64::from(w) / f64::from(current.width()))
                .round() as u32)
                .max(1);
            // A cascade: each size is made from the previous one, never from the full decode.
            current = resize(&current, w, h)?;
        }
        let jpeg = format!("photo-{target}.jpg");
        let webp = format!("photo-{target}.webp");
        write_jpeg(&current, &out.join(&jpeg))?;
        write_webp(&current, &out.join(&webp))?;
        renditions.push(json!({
            "label": format!("{target}w"),
            "width": current.width(),
            "height": current.height(),
            "jpeg": jpeg,
            "webp": webp,
        }));
        progress(50 + 15 * (i as u8 + 1));
    }
    Ok(json!({
        "kind": "photo",
        "format": decoded.format,
        "width": width,
        "height": height,
        "orientation": decoded.orientation,
        "colour": colour,
        "renditions": {"images": renditions},
    }))
}

/// Downscales with `fast_image_resize` (SIMD convolution, bilinear: the same kernel as
/// `image`'s Triangle filter, several times faster).
pub fn resize(src: &RgbImage, width: u32, height: u32) -> anyhow::Result<RgbImage> {
    let view =
        fr::images::ImageRef::new(src.width(), src.height(), src.as_raw(), fr::PixelType::U8x3)?;
    let mut dst = fr::images::Image::new(width, height, fr::PixelType::U8x3);
    fr::Resizer::new().resize(
        &view,
        &mut dst,
        &fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Bilinear)),
    )?;
    RgbImage::from_raw(width, height, dst.into_vec()).context("resized buffer size")
}

/// Converts the pixels to sRGB in place when the photo says they are in another space
/// (iPhone photos are Display P3; cameras may write Adobe RGB). Returns what was done, for the
/// result. A profile that cannot be used leaves the pixels as they are: the photo is still
/// better shown than refused.
fn to_srgb(rgb: &mut RgbImage, colour: &Colour) -> String {
    let source = match colour {
        Colour::Untagged => return "srgb".into(),
        Colour::Icc(bytes) => match ColorProfile::new_from_slice(bytes) {
            Ok(p) => p,
            Err(e) => return format!("unconverted: unreadable ICC profile ({e})"),
        },
        Colour::Nclx {
            primaries,
            transfer,
        } => {
            // BT.709/sRGB primaries (or none stated) are what browsers assume already.
            if matches!(primaries, 1 | 2) {
                return "srgb".into();
            }
            // No transfer stated: the sRGB curve, as for untagged photos.
            let transfer_code = if *transfer == 2 { 13 } else { *transfer };
            let (Ok(color_primaries), Ok(transfer_characteristics)) = (
                CicpColorPrimaries::try_from(*primaries),
                TransferCharacteristics::try_from(transfer_code),
            ) else {
                return format!("unconverted: nclx primaries {primaries} transfer {transfer}");
            };
            // Code points moxcms cannot model leave the profile without curves, and the
            // transform below refuses it.
            ColorProfile::new_from_cicp(CicpProfile {
                color_primaries,
                transfer_characteristics,
                matrix_coefficients: MatrixCoefficients::Bt709,
                full_range: true,
            })
        }
    };
    let transform = match source.create_transform_8bit(
        Layout::Rgb,
        &ColorProfile::new_srgb(),
        Layout::Rgb,
        TransformOptions::default(),
    ) {
        Ok(t) => t,
        Err(e) => return format!("unconverted: {e}"),
    };
    let row = rgb.width() as usize * 3;
    let mut buf = vec![0u8; row * COLOUR_ROWS];
    for chunk in rgb.chunks_mut(row * COLOUR_ROWS) {
        let dst = &mut buf[..chunk.len()];
        if let Err(e) = transform.transform(chunk, dst) {
            return format!("unconverted: {e}");
        }
        chunk.copy_from_slice(dst);
    }
    match colour {
        Colour::Nclx { .. } => "converted from nclx to srgb".into(),
        _ => "converted from ICC profile to srgb".into(),
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
    if n < 16 || &head[4..8] != b"ftyp" {
        return Ok(false);
    }
    let size = (u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize).min(n);
    // Major brand at 8..12, minor version at 12..16, compatible brands from 16 on.
    let brands = std::iter::once(&head[8..12]).chain(head[16..size.max(16)].chunks_exact(4));
    Ok(brands
        .into_iter()
        .any(|b| matches!(b, b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1")))
}

/// Decodes the primary image of a HEIF file with libheif, after checking its size from the
/// header. libheif applies the file's own rotation and mirroring (`irot`/`imir`), which HEIF
/// makes authoritative: an EXIF orientation inside a HEIF is informative only and ignored, as
/// libheif's own tools and browsers do.
fn decode_heif(path: &Path) -> anyhow::Result<Decoded> {
    let heif_unreadable = |e: libheif_rs::HeifError| -> anyhow::Error {
        Refused::new(
            "photo-unreadable",
            format!("The HEIC photo cannot be read; it may be damaged ({e})."),
        )
        .into()
    };
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
    // An ICC profile wins; else nclx code points, from the `colr` box or (libheif writes none
    // by default, for macOS) from the HEVC bitstream, which the decoded image carries.
    let colour = if let Some(icc) = handle.color_profile_raw() {
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
    };
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
    Ok(Decoded {
        img: DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).context("HEIC plane size")?),
        format: "heic",
        orientation: "heif-transforms".into(),
        colour,
    })
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
    // The header first: a 50,000×50,000 PNG is refused before a pixel is allocated.
    let (w, h) = ImageReader::open(input)?
        .with_guessed_format()?
        .into_dimensions()
        .map_err(|e| {
            Refused::new(
                "photo-unreadable",
                format!("The photo cannot be read; it may be damaged ({e})."),
            )
        })?;
    if let Some(r) = too_large(w, h) {
        return Err(r.into());
    }
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
fn flatten(img: DynamicImage) -> RgbImage {
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

/// A baseline JPEG with only the JFIF header: no EXIF, GPS, XMP or ICC segment.
pub fn write_jpeg(rgb: &RgbImage, path: &Path) -> anyhow::Result<()> {
    let mut file = BufWriter::new(std::fs::File::create(path)?);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, JPEG_QUALITY)
        .encode_image(rgb)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.flush()?;
    Ok(())
}

/// A lossy WebP made by libwebp (through libav): `image` only writes lossless WebP, which is
/// several times larger for photos. libwebp writes a bare VP8 RIFF: no EXIF/XMP/ICC chunks.
pub fn write_webp(rgb: &RgbImage, path: &Path) -> anyhow::Result<()> {
    let (w, h) = rgb.dimensions();
    let codec = encoder::find_by_name("libwebp").context("libwebp encoder")?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()?;
    enc.set_width(w);
    enc.set_height(h);
    enc.set_format(format::Pixel::YUV420P);
    enc.set_time_base(ffmpeg_next::Rational(1, 25));
    let mut opts = Dictionary::new();
    opts.set("quality", WEBP_QUALITY);
    let mut enc = enc.open_as_with(codec, opts)?;

    let mut src = frame::Video::new(format::Pixel::RGB24, w, h);
    let stride = src.stride(0);
    let row = w as usize * 3;
    let data = src.data_mut(0);
    for (y, chunk) in rgb.as_raw().chunks_exact(row).enumerate() {
        data[y * stride..y * stride + row].copy_from_slice(chunk);
    }
    let mut yuv = frame::Video::empty();
    scaling::Context::get(
        format::Pixel::RGB24,
        w,
        h,
        format::Pixel::YUV420P,
        w,
        h,
        scaling::Flags::BICUBIC,
    )?
    .run(&src, &mut yuv)?;
    yuv.set_pts(Some(0));
    enc.send_frame(&yuv)?;
    enc.send_eof()?;
    let mut bytes = Vec::new();
    let mut pkt = Packet::empty();
    while enc.receive_packet(&mut pkt).is_ok() {
        if let Some(d) = pkt.data() {
            bytes.extend_from_slice(d);
        }
    }
    anyhow::ensure!(
        bytes.starts_with(b"RIFF") && bytes.len() > 12,
        "libwebp produced no image"
    );
    std::fs::write(path, bytes)?;
    Ok(())
}
