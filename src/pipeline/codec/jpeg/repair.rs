//! Harmless JPEG defects, repaired before probing, for both builds.
//!
//! The rule: what a browser displays, resizer decodes; only what cannot be
//! decoded is refused, with a sentence a user understands. Browsers (through
//! libjpeg-turbo) skip stray bytes between segments with a warning and end
//! a file that stops without its EOI marker as if it were there;
//! `jpeg-decoder` and the header walk in `markers` stopped at both ("expected
//! a JPEG marker", "failed to fill whole buffer"). [`repair`] makes a copy
//! without those defects: stray bytes before a marker are dropped, and a
//! file that ends inside its entropy-coded data gets its EOI (the decoders
//! then fill what is missing, as browsers show a truncated photo's top with
//! grey below). Damaged entropy-coded data is left to the decoders, which
//! decode it as damaged blocks. Like `scans`, this is byte surgery on
//! hostile input and never fails: anything it does not recognise is left
//! as it is, and the decoders report it.

use super::markers::scan_end;

/// A copy of `bytes` without the harmless defects, or `None` when there is
/// nothing to repair (or it is not a JPEG this walk understands).
pub fn repair(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut changed = false;
    let mut at = 2;
    loop {
        if at >= bytes.len() {
            // The headers stop short: nothing to add that would help.
            return None;
        }
        if bytes[at] != 0xFF {
            // Stray bytes before a marker: skip to the next real marker.
            at = next_marker(bytes, at)?;
            changed = true;
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        out.extend_from_slice(&[0xFF, marker]);
        match marker {
            0xD9 => break,
            0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
        let segment = bytes.get(at..at + length)?;
        out.extend_from_slice(segment);
        at += length;
        if marker == 0xDA {
            // Entropy-coded data up to the next marker (not a stuffed 0xFF00
            // or a restart marker), or to the end of the file.
            let end = scan_end(bytes, at);
            out.extend_from_slice(&bytes[at..end]);
            at = end;
            if at >= bytes.len() {
                out.extend_from_slice(&[0xFF, 0xD9]);
                changed = true;
                break;
            }
        }
    }
    changed.then_some(out)
}

/// The position of the next `0xFF` that starts a marker (followed by a
/// marker byte, not by a stuffed zero), from `from` on.
fn next_marker(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(1)).find(|&i| bytes[i] == 0xFF && matches!(bytes[i + 1], 0xC0..=0xFE))
}

/// A sentence for a JPEG no decoder could read, from how far its structure
/// goes: the headers are truncated, there is no image data, or the image
/// data is damaged beyond decoding (with the decoder's own words).
pub fn explain(bytes: &[u8], decoder_message: &str) -> String {
    let has_scan = bytes.windows(2).any(|w| w == [0xFF, 0xDA]);
    if !has_scan {
        return "the JPEG ends before its image data (no scan): the file is truncated".to_owned();
    }
    format!("the JPEG's image data is damaged beyond decoding ({decoder_message})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg() -> Vec<u8> {
        let data: Vec<u8> = (0..64 * 48).flat_map(|i| [(i % 256) as u8, 90, 160]).collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&data, 64, 48, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    fn sos(bytes: &[u8]) -> usize {
        bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap()
    }

    #[test]
    fn a_sound_jpeg_needs_no_repair() {
        assert_eq!(repair(&jpeg()), None);
        assert_eq!(repair(b"GIF89a"), None);
    }

    #[test]
    fn stray_bytes_before_a_marker_are_dropped() {
        let good = jpeg();
        let at = sos(&good);
        let mut bad = good.clone();
        bad.splice(at..at, [0x12, 0x34, 0x56]);
        assert_eq!(repair(&bad), Some(good));
    }

    #[test]
    fn a_missing_eoi_is_added() {
        let good = jpeg();
        let bad = &good[..good.len() - 2];
        assert_eq!(repair(bad), Some(good.clone()));
        // Cut inside the entropy-coded data: ends with EOI.
        let cut = &good[..sos(&good) + 200];
        let repaired = repair(cut).unwrap();
        assert_eq!(&repaired[..cut.len()], cut);
        assert_eq!(&repaired[cut.len()..], [0xFF, 0xD9]);
    }

    #[test]
    fn truncated_headers_are_left_to_the_decoders() {
        let good = jpeg();
        assert_eq!(repair(&good[..sos(&good) - 10]), None);
        assert!(explain(&good[..100], "x").contains("ends before its image data"));
    }
}
