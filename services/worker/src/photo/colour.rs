//! Colours of a photo: where the decoder says its pixels are defined (an embedded ICC profile
//! or HEIF nclx code points), and the in-place conversion to sRGB, the space browsers assume.

use image::RgbImage;
use moxcms::{
    CicpColorPrimaries, CicpProfile, ColorProfile, Layout, MatrixCoefficients,
    TransferCharacteristics, TransformOptions,
};

/// Rows converted to sRGB at a time: the conversion needs a buffer of this many rows, not a
/// second copy of a 50 MP photo.
const COLOUR_ROWS: usize = 64;

/// Where the photo's colours are defined.
pub enum Colour {
    /// No profile: sRGB, as browsers assume.
    Untagged,
    /// An embedded ICC profile (JPEG APP2, PNG iCCP, WebP ICCP, HEIF `prof`/`rICC`).
    Icc(Vec<u8>),
    /// HEIF `nclx` code points (ITU-T H.273): primaries and transfer.
    Nclx { primaries: u8, transfer: u8 },
}

/// Converts the pixels to sRGB in place when the photo says they are in another space
/// (iPhone photos are Display P3; cameras may write Adobe RGB). Returns what was done, for the
/// result. A profile that cannot be used leaves the pixels as they are: the photo is still
/// better shown than refused.
pub fn to_srgb(rgb: &mut RgbImage, colour: &Colour) -> String {
    let source = match source_profile(colour) {
        Ok(Some(p)) => p,
        Ok(None) => return "srgb".into(),
        Err(why) => return format!("unconverted: {why}"),
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

/// The profile the pixels are in; `None` when they are sRGB already, an error (for the result)
/// when the photo's description cannot be used.
fn source_profile(colour: &Colour) -> Result<Option<ColorProfile>, String> {
    match colour {
        Colour::Untagged => Ok(None),
        Colour::Icc(bytes) => ColorProfile::new_from_slice(bytes)
            .map(Some)
            .map_err(|e| format!("unreadable ICC profile ({e})")),
        Colour::Nclx {
            primaries,
            transfer,
        } => {
            // BT.709/sRGB primaries (or none stated) are what browsers assume already.
            if matches!(primaries, 1 | 2) {
                return Ok(None);
            }
            // No transfer stated: the sRGB curve, as for untagged photos.
            let transfer_code = if *transfer == 2 { 13 } else { *transfer };
            let (Ok(color_primaries), Ok(transfer_characteristics)) = (
                CicpColorPrimaries::try_from(*primaries),
                TransferCharacteristics::try_from(transfer_code),
            ) else {
                return Err(format!("nclx primaries {primaries} transfer {transfer}"));
            };
            // Code points moxcms cannot model leave the profile without curves, and the
            // transform refuses it.
            Ok(Some(ColorProfile::new_from_cicp(CicpProfile {
                color_primaries,
                transfer_characteristics,
                matrix_coefficients: MatrixCoefficients::Bt709,
                full_range: true,
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_and_bt709_photos_are_left_as_srgb() {
        let mut img = RgbImage::from_pixel(3, 2, image::Rgb([10, 200, 30]));
        assert_eq!(to_srgb(&mut img, &Colour::Untagged), "srgb");
        let bt709 = Colour::Nclx {
            primaries: 1,
            transfer: 13,
        };
        assert_eq!(to_srgb(&mut img, &bt709), "srgb");
        assert_eq!(img.get_pixel(0, 0), &image::Rgb([10, 200, 30]));
    }

    #[test]
    fn a_damaged_icc_profile_leaves_the_pixels_unconverted() {
        let mut img = RgbImage::from_pixel(3, 2, image::Rgb([10, 200, 30]));
        let said = to_srgb(&mut img, &Colour::Icc(b"not a profile".to_vec()));
        assert!(
            said.starts_with("unconverted: unreadable ICC profile"),
            "{said}"
        );
        assert_eq!(img.get_pixel(2, 1), &image::Rgb([10, 200, 30]));
    }
}
