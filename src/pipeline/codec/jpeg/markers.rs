//! The one walk over a JPEG's markers, and the header read from it.
//!
//! [`Markers`] cuts a JPEG into its segments: each marker with its payload,
//! and after a scan header the entropy-coded data that follows it (skipped
//! only when the walk goes on past it, so that reading the header up to the
//! first scan never looks at the compressed data). The probe reads the
//! [`Header`] through it ([`read_header`]); the scan surgery for 1/8-scale
//! decodes (`scans.rs`) cuts a progressive file with it. Every read is
//! bounds-checked: hostile input ends the walk with an error, never a panic.

use crate::pipeline::PipelineError;
use crate::pipeline::codec::{be16, corrupt, truncated};

/// Facts from the JPEG marker stream that decoding also needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u16,
    pub height: u16,
    pub components: u8,
    /// Bits per sample (8 for nearly every JPEG; 12, or 2-16 when lossless).
    pub precision: u8,
    /// The APP14 "Adobe" segment's transform byte, when present: Adobe
    /// writers store CMYK inverted, which the decoder must know.
    pub adobe_transform: Option<u8>,
}

/// Why a walk stopped before EOI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkError {
    /// A byte where a marker should start is not 0xFF.
    NotAMarker,
    /// The bytes end inside a marker, a segment or a scan.
    Truncated,
    /// A segment's length field is below its own two bytes.
    BadLength,
}

impl From<WalkError> for PipelineError {
    fn from(error: WalkError) -> PipelineError {
        match error {
            WalkError::NotAMarker => corrupt("expected a JPEG marker"),
            WalkError::Truncated => truncated(),
            WalkError::BadLength => corrupt("a JPEG segment has an invalid length"),
        }
    }
}

/// One marker and its payload: `bytes[start..end]` is the marker with the
/// fill bytes before it and its payload (for a scan header, without the
/// entropy-coded data, which runs up to the next segment's `start`).
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub marker: u8,
    pub start: usize,
    pub end: usize,
    /// The bytes after the length field; empty for markers without one.
    pub payload: &'a [u8],
}

/// SOS: a scan header, followed by entropy-coded data.
pub const SOS: u8 = 0xDA;

/// EOI: the end of the image.
pub const EOI: u8 = 0xD9;

/// Whether `marker` starts a frame header (SOFn). C4 (DHT), C8 (JPG) and
/// CC (DAC) share the range but are not frames.
pub fn is_frame(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// The segments of a JPEG after its SOI, in order, up to and including EOI.
/// Yields an error and stops when the bytes end or break the structure.
pub struct Markers<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The last segment was a scan header: its entropy-coded data comes next.
    in_scan: bool,
    done: bool,
}

impl<'a> Markers<'a> {
    /// Walks `bytes`, which start with SOI (the caller checked it).
    pub fn new(bytes: &'a [u8]) -> Markers<'a> {
        Markers {
            bytes,
            at: 2,
            in_scan: false,
            done: false,
        }
    }

    fn step(&mut self) -> Result<Segment<'a>, WalkError> {
        let bytes = self.bytes;
        if std::mem::take(&mut self.in_scan) {
            self.at = scan_end(bytes, self.at);
        }
        let start = self.at;
        let mut at = start;
        // Markers may be preceded by any number of 0xFF fill bytes.
        if *bytes.get(at).ok_or(WalkError::Truncated)? != 0xFF {
            return Err(WalkError::NotAMarker);
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or(WalkError::Truncated)?;
        at += 1;
        let payload: &[u8] = match marker {
            // Markers without a payload.
            0x01 | 0xD0..=0xD9 => &[],
            _ => {
                let length = usize::from(be16(bytes, at).ok_or(WalkError::Truncated)?);
                if length < 2 {
                    return Err(WalkError::BadLength);
                }
                let payload = bytes
                    .get(at + 2..at.checked_add(length).ok_or(WalkError::Truncated)?)
                    .ok_or(WalkError::Truncated)?;
                at += length;
                payload
            }
        };
        self.at = at;
        self.in_scan = marker == SOS;
        Ok(Segment {
            marker,
            start,
            end: at,
            payload,
        })
    }
}

impl<'a> Iterator for Markers<'a> {
    type Item = Result<Segment<'a>, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step();
        self.done = item.as_ref().map_or(true, |s| s.marker == EOI);
        Some(item)
    }
}

/// Where the entropy-coded data that starts at `from` ends: the first marker
/// that is neither a stuffed zero (`FF 00`) nor a restart (`FF D0-D7`), or the
/// end of the bytes.
pub(super) fn scan_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    // memchr's vectorised search: a photo's entropy-coded data is most of
    // its bytes, and this walk runs on every request for a JPEG.
    while let Some(offset) = bytes.get(at..).and_then(|rest| memchr::memchr(0xFF, rest)) {
        let marker_at = at + offset;
        match bytes.get(marker_at + 1) {
            None => return bytes.len(),
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => at = marker_at + 1,
            Some(_) => return marker_at,
        }
    }
    bytes.len()
}

/// Reads the markers up to the first scan into a [`Header`], calling
/// `segment` for each APPn segment (but the Adobe one) with its marker and
/// payload.
pub fn read_header<'a>(
    bytes: &'a [u8],
    mut segment: impl FnMut(u8, &'a [u8]),
) -> Result<Header, PipelineError> {
    let mut frame: Option<(u16, u16, u8, u8)> = None;
    let mut adobe_transform = None;
    for item in Markers::new(bytes) {
        let Segment { marker, payload, .. } = item?;
        match marker {
            _ if is_frame(marker) => {
                if frame.is_some() {
                    return Err(corrupt("the JPEG has more than one frame header"));
                }
                let precision = *payload.first().ok_or_else(truncated)?;
                let height = be16(payload, 1).ok_or_else(truncated)?;
                let width = be16(payload, 3).ok_or_else(truncated)?;
                let components = *payload.get(5).ok_or_else(truncated)?;
                if !(2..=16).contains(&precision) {
                    return Err(corrupt(format!("invalid JPEG sample precision {precision}")));
                }
                if !matches!(components, 1 | 3 | 4) {
                    return Err(PipelineError::UnsupportedFormat);
                }
                frame = Some((width, height, components, precision));
            }
            SOS | EOI => break,
            0xEE if payload.starts_with(b"Adobe") => {
                adobe_transform = payload.get(11).copied();
            }
            0xE0..=0xEF => segment(marker, payload),
            _ => {}
        }
    }
    let (width, height, components, precision) =
        frame.ok_or_else(|| corrupt("the JPEG has no frame header"))?;
    Ok(Header {
        width,
        height,
        components,
        precision,
        adobe_transform,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_skips_scan_data_and_stops_at_eoi() {
        // SOI, APP0 (2 payload bytes), SOS (1 byte) + data with a stuffed
        // zero and a restart, EOI, then trailing garbage.
        let bytes = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xDA, 0, 3, 9, 5, 0xFF, 0x00, 6, 0xFF, 0xD3, 7, 0xFF,
            0xFF, 0xD9, 0xAB,
        ];
        let segments: Vec<(u8, usize, usize, Vec<u8>)> = Markers::new(&bytes)
            .map(|s| s.map(|s| (s.marker, s.start, s.end, s.payload.to_vec())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            segments,
            [
                (0xE0, 2, 8, vec![1, 2]),
                (SOS, 8, 13, vec![9]),
                // The fill byte before EOI ends the scan data.
                (EOI, 21, 23, vec![]),
            ]
        );
    }

    #[test]
    fn broken_structures_end_the_walk_with_an_error() {
        fn last(bytes: &[u8]) -> Option<Result<Segment<'_>, WalkError>> {
            Markers::new(bytes).last()
        }
        assert_eq!(
            last(&[0xFF, 0xD8, 0x12]).unwrap().err(),
            Some(WalkError::NotAMarker)
        );
        assert_eq!(
            last(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1]).unwrap().err(),
            Some(WalkError::BadLength)
        );
        assert_eq!(
            last(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 9, 1]).unwrap().err(),
            Some(WalkError::Truncated)
        );
        // A scan whose data runs to the end of the bytes.
        assert_eq!(
            last(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 1, 2, 3]).unwrap().err(),
            Some(WalkError::Truncated)
        );
    }
}
