//! The photo pipeline of the sandboxed child: header check, a decode with explicit limits,
//! EXIF orientation applied, then a resize cascade to 1600/800/400 px written as JPEG and WebP
//! that carry no metadata at all (pixels only: no EXIF, GPS, XMP or ICC).

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use ffmpeg_next::{Dictionary, Packet, codec, encoder, format, frame, software::scaling};
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use serde_json::json;

use crate::child::{Refused, progress};

pub const MAX_PIXELS: u64 = 50_000_000;
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;
const WIDTHS: [u32; 3] = [1600, 800, 400];
const JPEG_QUALITY: u8 = 82;
const WEBP_QUALITY: &str = "78";

/// Runs the whole photo job; returns the result JSON (paths relative to `out`).
pub fn run(input: &Path, out: &Path) -> anyhow::Result<serde_json::Value> {
    let reader = ImageReader::open(input)?
        .with_guessed_format()
        .context("cannot read the photo")?;
    let fmt = reader.format();
    if !matches!(
        fmt,
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
    ) {
        return Err(Refused::new(
            "photo-unsupported",
            "The file is not a photo we can read (JPEG, PNG or WebP).".into(),
        )
        .into());
    }
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
    if u64::from(w) * u64::from(h) > MAX_PIXELS || w == 0 || h == 0 {
        return Err(Refused::new(
            "photo-too-large",
            format!("The photo is {w}×{h} pixels; at most 50 megapixels are accepted."),
        )
        .into());
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
    let mut img = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    progress(40);
    img.apply_orientation(orientation);
    let mut current = DynamicImage::ImageRgb8(flatten(img));
    let (width, height) = (current.width(), current.height());

    let mut renditions = Vec::new();
    for (i, target) in WIDTHS.into_iter().enumerate() {
        let w = target.min(current.width());
        if w != current.width() {
            let h = ((f64::from(current.height()) * f64::from(w) / f64::from(current.width()))
                .round() as u32)
                .max(1);
            // A cascade: each size is made from the previous one, never from the full decode.
            current = current.resize_exact(w, h, image::imageops::FilterType::Triangle);
        }
        let rgb = current.to_rgb8();
        let jpeg = format!("photo-{target}.jpg");
        let webp = format!("photo-{target}.webp");
        write_jpeg(&rgb, &out.join(&jpeg))?;
        write_webp(&rgb, &out.join(&webp))?;
        renditions.push(json!({
            "label": format!("{target}w"),
            "width": rgb.width(),
            "height": rgb.height(),
            "jpeg": jpeg,
            "webp": webp,
        }));
        progress(50 + 15 * (i as u8 + 1));
    }
    Ok(json!({
        "kind": "photo",
        "format": format!("{fmt:?}").to_lowercase(),
        "width": width,
        "height": height,
        "orientation": format!("{orientation:?}"),
        "renditions": {"images": renditions},
    }))
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
