//! Colour: embedded ICC profiles converted to sRGB, and CMYK to RGB.
//!
//! Output is always sRGB (README, "Output"), so a source tagged Display P3, Adobe RGB
//! or any other RGB profile has its pixels converted here, once, right after
//! decoding. A profile that is missing, unparsable, not RGB, or equivalent
//! to sRGB costs nothing: the pixels are passed through unchanged. A broken
//! profile never loses the image; it only loses the colour correction.

use std::sync::Arc;

use moxcms::{ColorProfile, DataColorSpace, Layout, Transform8BitExecutor, TransformOptions};

use super::{Channels, Image};

/// Largest difference (in 8-bit steps) between a profile's transform and
/// the identity for which the profile counts as sRGB. One step absorbs the
/// rounding of a round trip through a profile that merely restates sRGB
/// (different tags, v2 vs v4, parametric vs table curves).
const SRGB_TOLERANCE: u8 = 1;

/// Converts pixels described by `icc_profile` to sRGB, in place. It cannot
/// fail: a profile that cannot be parsed or transformed leaves the pixels
/// as they are (treated as sRGB).
pub fn to_srgb(image: Image, icc_profile: Option<&[u8]>) -> Image {
    ToSrgb::new(icc_profile).apply(image)
}

/// The conversion of one source's pixels to sRGB, prepared once and applied
/// to each frame as it comes (an animation is converted frame by frame while
/// it is decoded). The profile is parsed once, and each transform is built
/// on first use for the channel layout that needs it.
pub struct ToSrgb {
    profile: Option<ColorProfile>,
    /// Per layout (RGB, RGBA): not yet built, or built (`None` when the
    /// profile needs no conversion or none could be built).
    transforms: [Option<Option<Arc<Transform8BitExecutor>>>; 2],
}

impl ToSrgb {
    /// A missing, unparsable or non-RGB profile converts nothing. Grey and
    /// CMYK sources were already turned into RGB by the decoder (CMYK
    /// through its profile); only an RGB profile describes our pixels.
    pub fn new(icc_profile: Option<&[u8]>) -> ToSrgb {
        let profile = icc_profile
            .and_then(|icc| ColorProfile::new_from_slice(icc).ok())
            .filter(|profile| profile.color_space == DataColorSpace::Rgb);
        ToSrgb {
            profile,
            transforms: [None, None],
        }
    }

    fn transform(&mut self, channels: Channels) -> Option<Arc<Transform8BitExecutor>> {
        let (slot, layout) = match channels {
            Channels::Rgb => (0, Layout::Rgb),
            Channels::Rgba => (1, Layout::Rgba),
        };
        let profile = self.profile.as_ref()?;
        self.transforms[slot]
            .get_or_insert_with(|| {
                let srgb = ColorProfile::new_srgb();
                profile
                    .create_transform_8bit(layout, &srgb, layout, TransformOptions::default())
                    .ok()
                    .filter(|transform| !is_identity(transform.as_ref(), layout))
            })
            .clone()
    }

    /// Converts every frame of `image` in place. A frame the transform
    /// rejects keeps its pixels: a broken profile never loses the image.
    pub fn apply(&mut self, mut image: Image) -> Image {
        let Some(transform) = self.transform(image.channels()) else {
            return image;
        };
        for frame in image.frames_mut() {
            let mut out = vec![0u8; frame.data().len()];
            if transform.transform(frame.data(), &mut out).is_ok() {
                // Same length by construction: the old pixels come back.
                let _ = frame.replace_data(out);
            }
        }
        image
    }
}

/// Whether the transform leaves a grid of colours (every combination of
/// 0, 32, ..., 255 per channel) within [`SRGB_TOLERANCE`]: then the profile
/// is sRGB in all but name and converting would only add rounding.
fn is_identity(transform: &Transform8BitExecutor, layout: Layout) -> bool {
    let levels: Vec<u8> = (0..=8u16).map(|i| (i * 32).min(255) as u8).collect();
    let channels = if layout == Layout::Rgba { 4 } else { 3 };
    let mut probe = Vec::with_capacity(levels.len().pow(3) * channels);
    for &r in &levels {
        for &g in &levels {
            for &b in &levels {
                probe.extend_from_slice(&[r, g, b, 255][..channels]);
            }
        }
    }
    let mut out = vec![0u8; probe.len()];
    if transform.transform(&probe, &mut out).is_err() {
        return false;
    }
    probe
        .iter()
        .zip(&out)
        .all(|(a, b)| a.abs_diff(*b) <= SRGB_TOLERANCE)
}

/// Turns CMYK samples into sRGB. `cmyk` holds ink amounts (0 = no ink,
/// 255 = full ink) as ICC CMYK profiles define them; the decoder has already
/// undone Adobe's inverted storage. With a CMYK profile the conversion is
/// colour-managed; without one (or with one that does not parse) it is the
/// usual naive `R = (1 - C)(1 - K)`.
pub fn cmyk_to_rgb(cmyk: &[u8], icc_profile: Option<&[u8]>) -> Vec<u8> {
    let pixels = cmyk.len() / 4;
    let profile = icc_profile
        .and_then(|icc| ColorProfile::new_from_slice(icc).ok())
        .filter(|p| p.color_space == DataColorSpace::Cmyk);
    if let Some(profile) = profile {
        let srgb = ColorProfile::new_srgb();
        if let Ok(transform) =
            profile.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgb, TransformOptions::default())
        {
            let mut out = vec![0u8; pixels * 3];
            if transform.transform(&cmyk[..pixels * 4], &mut out).is_ok() {
                return out;
            }
        }
    }
    let mut out = Vec::with_capacity(pixels * 3);
    for px in cmyk.chunks_exact(4) {
        let white = 255 - u16::from(px[3]);
        for &ink in &px[..3] {
            let v = (255 - u16::from(ink)) * white;
            out.push(((v + 127) / 255) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(data: &[u8], channels: Channels, icc: &[u8]) -> Vec<u8> {
        let image = Image::still(1, 1, channels, data.to_vec()).unwrap();
        to_srgb(image, Some(icc)).frames()[0].data().to_vec()
    }

    fn close(actual: &[u8], expected: &[u8], tolerance: u8) -> bool {
        actual.len() == expected.len()
            && actual
                .iter()
                .zip(expected)
                .all(|(a, e)| a.abs_diff(*e) <= tolerance)
    }

    #[test]
    fn display_p3_red_becomes_clipped_srgb_red_and_p3_grey_stays() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        // P3 (255,0,0) lies outside sRGB: it clips to full red with a
        // little negative green/blue clamped to 0.
        let red = pixel(&[255, 0, 0], Channels::Rgb, &p3);
        assert!(close(&red, &[255, 0, 0], 2), "{red:?}");
        // A mid P3 colour inside sRGB: (200,100,50) in P3 is (215,92,31)
        // in sRGB (same white point and curve; linear P3-to-sRGB matrix).
        let mid = pixel(&[200, 100, 50], Channels::Rgb, &p3);
        assert!(close(&mid, &[215, 92, 31], 2), "{mid:?}");
        // Neutral stays neutral; alpha is untouched.
        let grey = pixel(&[120, 120, 120, 77], Channels::Rgba, &p3);
        assert!(close(&grey, &[120, 120, 120, 77], 1), "{grey:?}");
    }

    #[test]
    fn adobe_rgb_green_is_more_saturated_than_srgb_green() {
        let adobe = ColorProfile::new_adobe_rgb().encode().unwrap();
        // Adobe RGB (0,128,0) is about sRGB (0,138,0)... measured loosely:
        // green must rise, red and blue stay near zero.
        let out = pixel(&[64, 128, 64], Channels::Rgb, &adobe);
        assert!(out[1] > 128 && out[0] < 64, "{out:?}");
    }

    #[test]
    fn srgb_missing_and_broken_profiles_pass_through() {
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        let data = [12, 200, 99];
        assert_eq!(pixel(&data, Channels::Rgb, &srgb), data);
        assert_eq!(pixel(&data, Channels::Rgb, b"garbage"), data);
        assert_eq!(pixel(&data, Channels::Rgb, &srgb[..srgb.len() / 2]), data);
        let image = Image::still(1, 1, Channels::Rgb, data.to_vec()).unwrap();
        assert_eq!(to_srgb(image.clone(), None), image);
    }

    #[test]
    fn naive_cmyk() {
        let rgb = cmyk_to_rgb(&[0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 0, 128, 255, 0], None);
        assert_eq!(rgb, [255, 255, 255, 0, 255, 255, 0, 0, 0, 255, 127, 0]);
    }
}
