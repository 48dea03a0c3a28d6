//! Writing still pictures, shared by the photo pipeline and the video poster: a fast
//! downscale, and JPEG and WebP files that carry pixels only (no EXIF, GPS, XMP or ICC).
//! Lives apart from both pipelines so video does not depend on photo.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use fast_image_resize as fr;
use ffmpeg_next::{Dictionary, Packet, codec, encoder, format, frame, software::scaling};
use image::RgbImage;

const JPEG_QUALITY: u8 = 82;
const WEBP_QUALITY: &str = "78";

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
    // libwebp's effort 2 instead of ffmpeg's default 4: on a 1600 px rung about half the
    // encode time for a file ~2 % larger at the same SSIM (0.9701 against 0.9706). WebP was
    // 37 % of a 12 MP photo's CPU, and a contest's last evening is bound by it.
    opts.set("compression_level", "2");
    let mut enc = enc.open_as_with(codec, opts)?;
    let yuv = to_yuv420(rgb)?;
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

/// The picture as one YUV 4:2:0 frame at pts 0, the input libwebp takes.
fn to_yuv420(rgb: &RgbImage) -> anyhow::Result<frame::Video> {
    let (w, h) = rgb.dimensions();
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
    Ok(yuv)
}
