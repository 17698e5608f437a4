//! Drops the scans of a progressive JPEG that a 1/8-scale decode never reads.
//!
//! A progressive JPEG stores its coefficients in many scans: first the DC
//! (the mean of each 8x8 block), then bands of AC coefficients, then
//! refinements of both. Decoded at 1/8 scale, each block becomes one pixel:
//! its DC value, and no AC coefficient is used at all. The entropy decoding of
//! the AC scans is nevertheless most of the work of a progressive decode
//! (~100 ms of a 12-megapixel photo, where the DC scans take a few), because
//! the decoder reads every scan before it knows the image is complete.
//!
//! [`dc_only`] copies the stream without the scans whose spectral band starts
//! above the DC coefficient, so the decoder entropy-decodes only what it will
//! show. The result is pixel-identical to the full stream at 1/8 scale:
//! DC scans and DC refinements never depend on AC data. This is byte-level
//! surgery on hostile input, so it never fails: anything unexpected (not
//! progressive, arithmetic coding, a truncated segment) returns `None` and the
//! decoder gets the original bytes, with its own error reporting.

/// A copy of `bytes` without its AC scans, when `bytes` is a Huffman-coded
/// progressive JPEG that has any; `None` otherwise (use the original).
pub fn dc_only(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    let mut progressive = false;
    let mut dropped = false;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        // Fill bytes before a marker are not copied.
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        let start = at - 1;
        at += 1;
        match marker {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        if length < 2 {
            return None;
        }
        let end = at.checked_add(length)?;
        let segment = bytes.get(start..end)?;
        at = end;
        match marker {
            0xC2 => progressive = true,
            // Every other frame type (baseline, lossless, arithmetic,
            // hierarchical): leave the stream alone.
            0xC0 | 0xC1 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
            0xDA => {
                if !progressive {
                    return None;
                }
                let data_end = scan_end(bytes, at);
                // The SOS payload: Ns, Ns x (id, tables), Ss, Se, Ah/Al.
                let components = usize::from(*segment.get(4)?);
                let spectral_start = *segment.get(5 + 2 * components)?;
                if spectral_start == 0 {
                    out.extend_from_slice(segment);
                    out.extend_from_slice(&bytes[at..data_end]);
                } else {
                    dropped = true;
                }
                at = data_end;
                continue;
            }
            _ => {}
        }
        out.extend_from_slice(segment);
    }
    dropped.then_some(out)
}

/// Where the entropy-coded data that starts at `from` ends: the first marker
/// that is neither a stuffed zero (`FF 00`) nor a restart (`FF D0-D7`), or the
/// end of the bytes.
fn scan_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        let marker_at = at + offset;
        match bytes.get(marker_at + 1) {
            None => return bytes.len(),
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => at = marker_at + 1,
            Some(_) => return marker_at,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A photo-like 8-bit RGB pattern with detail in every 8x8 block, so the
    /// AC scans carry real data.
    fn pattern(width: u16, height: u16) -> Vec<u8> {
        let mut data = Vec::with_capacity(usize::from(width) * usize::from(height) * 3);
        for y in 0..height {
            for x in 0..width {
                let (fx, fy) = (f32::from(x), f32::from(y));
                let r = 128.0 + 100.0 * (fx * 0.31).sin() * (fy * 0.07).cos();
                let g = 128.0 + 90.0 * ((fx + fy) * 0.13).sin();
                let b = f32::from((x ^ y) as u8);
                data.extend([r, g, b].map(|v| v.clamp(0.0, 255.0) as u8));
            }
        }
        data
    }

    fn encode(width: u16, height: u16, progressive: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        encoder.set_progressive(progressive);
        encoder
            .encode(
                &pattern(width, height),
                width,
                height,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
        out
    }

    fn decode_eighth(bytes: &[u8], width: u16, height: u16) -> Vec<u8> {
        let mut decoder = jpeg_decoder::Decoder::new(bytes);
        decoder.read_info().unwrap();
        decoder.scale(width.div_ceil(8), height.div_ceil(8)).unwrap();
        let pixels = decoder.decode().unwrap();
        let info = decoder.info().unwrap();
        assert_eq!((info.width, info.height), (width.div_ceil(8), height.div_ceil(8)));
        pixels
    }

    #[test]
    fn a_progressive_jpeg_loses_its_ac_scans_and_keeps_its_pixels_at_one_eighth() {
        let (width, height) = (203, 149);
        let full = encode(width, height, true);
        let stripped = dc_only(&full).expect("a progressive JPEG has AC scans to drop");
        assert!(
            stripped.len() * 3 < full.len(),
            "{} of {} bytes left",
            stripped.len(),
            full.len()
        );
        assert_eq!(
            decode_eighth(&stripped, width, height),
            decode_eighth(&full, width, height)
        );
    }

    #[test]
    fn baseline_jpegs_and_other_bytes_are_left_alone() {
        assert_eq!(dc_only(&encode(64, 48, false)), None);
        assert_eq!(dc_only(b""), None);
        assert_eq!(dc_only(b"\xFF\xD8"), None);
        assert_eq!(dc_only(b"\x89PNG\r\n\x1a\n"), None);
    }

    #[test]
    fn every_truncation_and_corruption_of_a_progressive_jpeg_is_survived() {
        let full = encode(64, 48, true);
        for cut in 0..full.len() {
            if let Some(stripped) = dc_only(&full[..cut]) {
                assert!(stripped.len() <= cut + 2);
            }
        }
        for at in (0..full.len()).step_by(7) {
            let mut damaged = full.clone();
            damaged[at] ^= 0xA5;
            if let Some(stripped) = dc_only(&damaged) {
                assert!(stripped.len() <= damaged.len());
            }
        }
    }
}
