//! Still WebP decoding through libwebp, with shrink-on-load (`turbo` feature).
//!
//! The default build decodes WebP with `image-webp`, a memory-safe decoder
//! that is about 3.5x slower than libwebp and can only decode at full size.
//! With the `turbo` feature, a still WebP is decoded by libwebp instead (the
//! library resizer already links to encode WebP), straight into a buffer of
//! the size the resampler needs: libwebp's in-loop rescaler averages the rows
//! as they are decoded, so a 12-megapixel source never exists at full size in
//! memory, the way a JPEG is decoded at a DCT scale. The size kept is the
//! needed size times the same margin as for JPEG, so the final Lanczos3 pass
//! still has pixels to work with.
//!
//! Animated WebPs are left to `image-webp` (libwebp's simple decoder does not
//! read them; the caller falls back when [`decode_still`] returns `None`).

use crate::pipeline::{Channels, Image, PipelineError};

/// Decodes a still WebP at the smallest size that keeps `margin` times the
/// pixels `min_scale` needs; `Ok(None)` for an animation or a file libwebp's
/// simple decoder does not take, which the caller gives to `image-webp`.
pub fn decode_still(bytes: &[u8], min_scale: f64, margin: f64) -> Result<Option<Image>, PipelineError> {
    let corrupt = |what: &str| PipelineError::Corrupt(format!("the WebP could not be decoded: {what}"));
    let mut config =
        libwebp_sys::WebPDecoderConfig::new().map_err(|()| corrupt("libwebp version mismatch"))?;
    // SAFETY: `bytes` is a valid slice for the duration of the call and
    // `config.input` is a plain struct libwebp fills in.
    let status = unsafe { libwebp_sys::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut config.input) };
    if status != libwebp_sys::VP8StatusCode::VP8_STATUS_OK {
        return Err(corrupt(&format!("{status:?}")));
    }
    let features = config.input;
    if features.has_animation != 0 {
        return Ok(None);
    }
    let (width, height) = (features.width, features.height);
    if width <= 0 || height <= 0 {
        return Err(corrupt("the image has no pixels"));
    }
    let (out_w, out_h) = scaled_size(width as u32, height as u32, min_scale, margin);
    let channels = if features.has_alpha != 0 {
        Channels::Rgba
    } else {
        Channels::Rgb
    };
    let stride = out_w as usize * channels.count();
    let mut data = vec![0u8; stride * out_h as usize];

    config.options.use_threads = 0;
    if (out_w, out_h) != (width as u32, height as u32) {
        config.options.use_scaling = 1;
        config.options.scaled_width = out_w as i32;
        config.options.scaled_height = out_h as i32;
    }
    config.output.colorspace = match channels {
        Channels::Rgb => libwebp_sys::WEBP_CSP_MODE::MODE_RGB,
        Channels::Rgba => libwebp_sys::WEBP_CSP_MODE::MODE_RGBA,
    };
    // Decode straight into `data`: libwebp allocates no output of its own.
    config.output.is_external_memory = 1;
    config.output.u.RGBA = libwebp_sys::WebPRGBABuffer {
        rgba: data.as_mut_ptr(),
        stride: i32::try_from(stride).map_err(|_| corrupt("the image is too wide"))?,
        size: data.len(),
    };
    // SAFETY: the output buffer is `data`, which outlives the call and whose
    // length and stride are given to libwebp, which checks them against the
    // output size before writing. `WebPFreeDecBuffer` frees nothing external.
    let status = unsafe {
        let status = libwebp_sys::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config);
        libwebp_sys::WebPFreeDecBuffer(&mut config.output);
        status
    };
    match status {
        libwebp_sys::VP8StatusCode::VP8_STATUS_OK => {
            Ok(Some(crate::pipeline::codec::still(out_w, out_h, channels, data)?))
        }
        libwebp_sys::VP8StatusCode::VP8_STATUS_UNSUPPORTED_FEATURE => Ok(None),
        other => Err(corrupt(&format!("{other:?}"))),
    }
}

/// The aspect-correct size with `margin` times the pixels `min_scale` of
/// `width x height` needs, never larger than the source.
pub(super) fn scaled_size(width: u32, height: u32, min_scale: f64, margin: f64) -> (u32, u32) {
    let factor = min_scale * margin;
    if !(factor.is_finite() && factor > 0.0 && factor < 1.0) {
        return (width, height);
    }
    let side = |len: u32| ((f64::from(len) * factor).ceil() as u32).clamp(1, len);
    (side(width), side(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Left half opaque blue, right half fully transparent red.
    fn half_transparent(width: u32, height: u32) -> Vec<u8> {
        let mut rgba = Vec::with_capacity((width * height * 4) as usize);
        for _ in 0..height {
            for x in 0..width {
                rgba.extend(if x < width / 2 {
                    [0, 0, 255, 255]
                } else {
                    [255, 0, 0, 0]
                });
            }
        }
        rgba
    }

    fn lossless(rgba: &[u8], width: u32, height: u32) -> Vec<u8> {
        webp::Encoder::from_rgba(rgba, width, height)
            .encode_lossless()
            .to_vec()
    }

    #[test]
    fn a_still_decodes_at_the_size_the_resampler_needs() {
        let (width, height) = (800, 600);
        let bytes = lossless(&half_transparent(width, height), width, height);
        // 100 px wide out of 800, margin 1.5: 150x113 decoded.
        let image = decode_still(&bytes, 0.125, 1.5).unwrap().expect("a still WebP");
        assert_eq!((image.width(), image.height()), (150, 113));
        assert_eq!(image.channels(), Channels::Rgba);
        let pixel = |x: usize, y: usize| {
            let i = (y * 150 + x) * 4;
            image.frames()[0].data()[i..i + 4].to_vec()
        };
        assert_eq!(pixel(10, 50), [0, 0, 255, 255]);
        assert_eq!(pixel(140, 50)[3], 0);
        // The transparent red must not bleed into the blue next to the edge.
        let edge = pixel(74, 50);
        assert!(edge[0] < 16 && edge[2] > 200, "{edge:?}");
    }

    #[test]
    fn no_scale_means_full_size_and_opaque_means_rgb() {
        let (width, height) = (64, 48);
        let rgb: Vec<u8> = (0..width * height)
            .flat_map(|i| [(i % 256) as u8, 40, 200])
            .collect();
        let bytes = webp::Encoder::from_rgb(&rgb, width, height)
            .encode_lossless()
            .to_vec();
        let image = decode_still(&bytes, 1.0, 1.5).unwrap().expect("a still WebP");
        assert_eq!(
            (image.width(), image.height(), image.channels()),
            (64, 48, Channels::Rgb)
        );
        assert_eq!(image.frames()[0].data(), rgb);
    }

    #[test]
    fn damaged_and_foreign_bytes_are_errors() {
        let bytes = lossless(&half_transparent(64, 64), 64, 64);
        for cut in [0, 12, 30, bytes.len() / 2] {
            assert!(decode_still(&bytes[..cut], 0.5, 1.5).is_err(), "cut at {cut}");
        }
        assert!(decode_still(b"\x89PNG\r\n\x1a\n", 0.5, 1.5).is_err());
    }

    #[test]
    fn scaled_sizes_keep_the_aspect_and_the_bounds() {
        assert_eq!(scaled_size(4000, 3000, 0.075, 1.5), (450, 338));
        assert_eq!(scaled_size(4000, 3000, 1.0, 1.5), (4000, 3000));
        assert_eq!(scaled_size(4000, 3000, 0.8, 1.5), (4000, 3000));
        assert_eq!(scaled_size(10, 10, 0.0001, 1.5), (1, 1));
        assert_eq!(scaled_size(10, 10, f64::NAN, 1.5), (10, 10));
    }
}
