//! The scans of a progressive JPEG, and copies of it without those a
//! 1/8-scale decode never reads.
//!
//! A progressive JPEG stores its coefficients in many scans: first the DC
//! (the mean of each 8x8 block), then bands of AC coefficients, then
//! refinements of both. Decoded at 1/8 scale, each block becomes one pixel:
//! its DC value, and no AC coefficient is used at all. The entropy decoding of
//! the AC scans is nevertheless most of the work of a progressive decode
//! (BENCHMARKS.md, "Pipeline"), because the decoder reads every scan before
//! it knows the image is complete.
//!
//! [`Progressive::split`] cuts the file with the one marker walker
//! ([`super::markers::Markers`]), entropy-coded data included;
//! each decoder then keeps the scans it reads: [`dc_only`] for
//! `jpeg-decoder`, and the `turbo` feature's own rule for libjpeg-turbo
//! (which needs one AC scan per component, see `turbo.rs`). This is
//! byte-level surgery on hostile input, so it never fails: anything
//! unexpected (not progressive, arithmetic coding, a truncated segment)
//! gives `None` and the decoder gets the original bytes, with its own error
//! reporting.

use super::markers::{self, Markers};

/// A well-formed progressive Huffman JPEG, cut into its segments.
pub struct Progressive {
    /// The frame's components, from its SOF2 header.
    #[cfg_attr(
        not(feature = "turbo"),
        expect(dead_code, reason = "read by the turbo feature's rule alone")
    )]
    pub components: Vec<FrameComponent>,
    /// Every marker of the file from the one after SOI up to EOI, in order.
    pub segments: Vec<Segment>,
}

/// A component of the frame header: its id and sampling factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameComponent {
    pub id: u8,
    pub horizontal: u8,
    pub vertical: u8,
}

/// One marker of a JPEG with its payload, and the entropy-coded data that
/// follows it when it is a scan header: `bytes[start..end]` (fill bytes
/// before the marker included).
pub struct Segment {
    pub start: usize,
    pub end: usize,
    /// What a scan header (SOS) says; `None` for every other marker.
    pub scan: Option<Scan>,
}

/// The header of one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// The component id, when the scan has exactly one (AC scans always do).
    pub component: Option<u8>,
    /// Ss: the first coefficient of the scan's spectral band (0 is DC).
    pub spectral_start: u8,
    /// Ah: 0 for a first scan of its band, above 0 for a refinement.
    pub approximation_high: u8,
}

impl Progressive {
    /// Cuts `bytes` into segments; `None` unless they form a progressive
    /// Huffman (SOF2) JPEG that ends in EOI.
    pub fn split(bytes: &[u8]) -> Option<Progressive> {
        if bytes.get(..2)? != [0xFF, 0xD8] {
            return None;
        }
        let mut components = None;
        let mut segments: Vec<Segment> = Vec::new();
        // The walk ends at EOI, or with an error that gives up.
        for item in Markers::new(bytes) {
            let segment = item.ok()?;
            let mut scan = None;
            match segment.marker {
                0xC2 => components = Some(frame_components(segment.payload)?),
                // Every other frame type (baseline, lossless, arithmetic,
                // hierarchical): not for us.
                marker if markers::is_frame(marker) => return None,
                markers::SOS => {
                    // A scan before the frame header is malformed.
                    components.as_ref()?;
                    scan = Some(scan_header(segment.payload)?);
                }
                _ => {}
            }
            segments.push(Segment {
                start: segment.start,
                end: segment.end,
                scan,
            });
        }
        // A scan's entropy-coded data runs up to the next marker.
        for i in 1..segments.len() {
            segments[i - 1].end = segments[i].start;
        }
        Some(Progressive {
            components: components?,
            segments,
        })
    }

    /// The whole JPEG again with only the segments `keep` accepts; `None`
    /// when it accepts them all (the original serves).
    pub fn without_rejected(&self, bytes: &[u8], keep: impl Fn(usize, &Segment) -> bool) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(bytes.len() / 2);
        out.extend_from_slice(&bytes[..2]);
        let mut dropped = false;
        for (i, segment) in self.segments.iter().enumerate() {
            if keep(i, segment) {
                out.extend_from_slice(&bytes[segment.start..segment.end]);
            } else {
                dropped = true;
            }
        }
        dropped.then_some(out)
    }
}

/// A copy of `bytes` without its AC scans, for `jpeg-decoder` at 1/8 scale
/// (its 1x1 IDCT reads the DC coefficient alone, and DC scans never depend
/// on AC data: the pixels are identical), when `bytes` is a progressive
/// Huffman JPEG that has any; `None` otherwise (use the original).
pub fn dc_only(bytes: &[u8]) -> Option<Vec<u8>> {
    let progressive = Progressive::split(bytes)?;
    progressive.without_rejected(bytes, |_, segment| {
        segment.scan.is_none_or(|scan| scan.spectral_start == 0)
    })
}

/// The components of a SOF payload: precision, height, width, Nf, then Nf x
/// (id, sampling, table).
fn frame_components(payload: &[u8]) -> Option<Vec<FrameComponent>> {
    let count = usize::from(*payload.get(5)?);
    (0..count)
        .map(|i| {
            let c = payload.get(6 + 3 * i..9 + 3 * i)?;
            Some(FrameComponent {
                id: c[0],
                horizontal: c[1] >> 4,
                vertical: c[1] & 15,
            })
        })
        .collect()
}

/// The SOS payload: Ns, Ns x (id, tables), Ss, Se, Ah/Al.
fn scan_header(payload: &[u8]) -> Option<Scan> {
    let count = usize::from(*payload.first()?);
    Some(Scan {
        component: if count == 1 { Some(*payload.get(1)?) } else { None },
        spectral_start: *payload.get(1 + 2 * count)?,
        approximation_high: *payload.get(3 + 2 * count)? >> 4,
    })
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
