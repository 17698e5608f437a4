//! ICO (and CUR): the icon directory and the choice of entry.
//!
//! An icon holds several images of one picture at different sizes, each a
//! PNG or a headerless BMP (a DIB with an AND mask). The probe reads every
//! entry's own header (PNG `IHDR` or DIB header; the directory's one-byte
//! sizes may disagree with it and are not trusted) and reports the largest
//! entry as the source's size, so that the pixel limit applies to the
//! largest claim in the file before anything is decoded. The decoder then
//! picks the entry that fits the output: the smallest entry at least as
//! large as the size the layout asks for (`DecodeRequest::min_scale` of the
//! largest), else the largest, and decodes that one alone, which the
//! resampler treats like a JPEG decoded at a reduced scale.
//!
//! Embedded ICC profiles and EXIF in PNG entries are not read: icons are
//! drawn in sRGB.

use std::ops::Range;

use super::bmp::Dib;
use super::{Header, corrupt, le16, le32, png, truncated};
use crate::format::SourceFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Image, PipelineError, Probe};

/// Reserved word, type (1 icon, 2 cursor), entry count.
const HEADER: usize = 6;

/// One directory entry: sizes, colours, planes/hotspot, data size, offset.
const ENTRY: usize = 16;

/// One image of an icon, as its own header describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    width: u32,
    height: u32,
    /// Where its bytes are in the file.
    data: Range<usize>,
    /// A PNG entry; else a DIB.
    png: bool,
}

/// Recognises an ICO or CUR file; `None` when `bytes` are not one. Four
/// bytes (`00 00 01 00`) are a weak signature, so the directory must also
/// fit in the file and the first entry point past it.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    let kind = le16(bytes, 2)?;
    let count = usize::from(le16(bytes, 4)?);
    let directory_end = HEADER + count * ENTRY;
    let first_offset = le32(bytes, HEADER + 12)? as usize;
    let plausible = le16(bytes, 0)? == 0
        && matches!(kind, 1 | 2)
        && count > 0
        && bytes.len() >= directory_end
        && bytes.get(HEADER + 3) == Some(&0)
        && first_offset >= directory_end;
    plausible.then(|| read_probe(bytes))
}

fn read_probe(bytes: &[u8]) -> Result<Probe, PipelineError> {
    let entries = entries(bytes)?;
    let largest = entries
        .iter()
        .max_by_key(|e| u64::from(e.width) * u64::from(e.height))
        .ok_or_else(truncated)?;
    let mut probe = Probe::new(SourceFormat::Ico, largest.width, largest.height)?;
    // Icons are drawn on transparency; the decoded entry settles it.
    probe.has_alpha = true;
    probe.header = Header::Ico(entries);
    Ok(probe)
}

/// Every entry of the directory, sized by its own header.
fn entries(bytes: &[u8]) -> Result<Vec<Entry>, PipelineError> {
    let count = usize::from(le16(bytes, 4).ok_or_else(truncated)?);
    (0..count)
        .map(|i| {
            let at = HEADER + i * ENTRY;
            let size = le32(bytes, at + 8).ok_or_else(truncated)? as usize;
            let offset = le32(bytes, at + 12).ok_or_else(truncated)? as usize;
            let data = offset..offset.saturating_add(size);
            let image = bytes
                .get(data.clone())
                .ok_or_else(|| corrupt(format!("icon entry {} ends past the end of the file", i + 1)))?;
            let (width, height, png) = match png::probe(image) {
                Some(probe) => {
                    let probe = probe?;
                    (probe.width, probe.height, true)
                }
                None => {
                    let dib = Dib::parse(image, true)?;
                    (dib.width, dib.height, false)
                }
            };
            Ok(Entry {
                width,
                height,
                data,
                png,
            })
        })
        .collect()
}

/// The entry to decode for an output that needs at least `need` pixels on
/// each side: the smallest that has them, else the largest.
fn choose(entries: &[Entry], need: (u32, u32)) -> Option<&Entry> {
    let pixels = |e: &&Entry| u64::from(e.width) * u64::from(e.height);
    entries
        .iter()
        .filter(|e| e.width >= need.0 && e.height >= need.1)
        .min_by_key(pixels)
        .or_else(|| entries.iter().max_by_key(pixels))
}

/// Decodes the entry that best fits the output.
pub fn decode(bytes: &[u8], probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let parsed;
    let entries = match &probe.header {
        Header::Ico(entries) => entries,
        _ => {
            parsed = entries(bytes)?;
            &parsed
        }
    };
    let scale = request.min_scale.clamp(0.0, 1.0);
    let need = (
        (f64::from(probe.width) * scale).ceil() as u32,
        (f64::from(probe.height) * scale).ceil() as u32,
    );
    let entry = choose(entries, need).ok_or_else(truncated)?;
    let data = bytes.get(entry.data.clone()).ok_or_else(truncated)?;
    if entry.png {
        let png_probe = png::probe(data).ok_or_else(truncated)??;
        return png::decode(data, &png_probe, request);
    }
    let dib = Dib::parse(data, true)?;
    let pixels = data.get(dib.palette_end..).ok_or_else(truncated)?;
    dib.decode_with_mask(pixels, true, request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::codec::bmp::tests::dib;
    use crate::pipeline::probe::probe as sniff;
    use crate::pipeline::{Channels, Limits, Pipeline};

    /// An icon file from (entry bytes) in directory order.
    pub(crate) fn ico(images: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0, 0, 1, 0];
        out.extend_from_slice(&(images.len() as u16).to_le_bytes());
        let mut offset = HEADER + ENTRY * images.len();
        for image in images {
            // Directory sizes deliberately 0 (= 256): the entries' own
            // headers are what count.
            out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 32, 0]);
            out.extend_from_slice(&(image.len() as u32).to_le_bytes());
            out.extend_from_slice(&(offset as u32).to_le_bytes());
            offset += image.len();
        }
        for image in images {
            out.extend_from_slice(image);
        }
        out
    }

    fn png_entry(size: u32, rgba: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = ::png::Encoder::new(&mut out, size, size);
        encoder.set_color(::png::ColorType::Rgba);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&rgba.repeat((size * size) as usize))
            .unwrap();
        writer.finish().unwrap();
        out
    }

    fn decoded(bytes: &[u8], min_scale: f64) -> Image {
        let p = sniff(bytes).unwrap();
        assert_eq!(p.format, SourceFormat::Ico);
        let request = Pipeline::new(Limits::default()).decode_request(min_scale, false);
        crate::pipeline::decode::decode(bytes, &p, &request).unwrap()
    }

    #[test]
    fn the_entry_that_fits_the_output_is_decoded() {
        // 16 px red (BMP), 64 px green (PNG), 32 px blue (BMP), out of order.
        let file = ico(&[
            dib(16, 16, 32, &[[255, 0, 0, 255]; 256], true),
            png_entry(64, [0, 255, 0, 255]),
            dib(32, 32, 24, &[[0, 0, 255, 255]; 1024], true),
        ]);
        let p = sniff(&file).unwrap();
        assert_eq!((p.width, p.height), (64, 64));
        let pick = |scale: f64| {
            let image = decoded(&file, scale);
            (image.width(), image.frames()[0].data()[..3].to_vec())
        };
        assert_eq!(pick(1.0), (64, vec![0, 255, 0]));
        // 20 px asked for: the 32 px entry, not the 16 px one.
        assert_eq!(pick(20.0 / 64.0), (32, vec![0, 0, 255]));
        assert_eq!(pick(16.0 / 64.0), (16, vec![255, 0, 0]));
        assert_eq!(pick(0.01), (16, vec![255, 0, 0]));
    }

    #[test]
    fn a_24_bit_entry_takes_transparency_from_its_mask() {
        let mut entry = dib(2, 2, 24, &[[10, 20, 30, 255]; 4], true);
        // Mask rows are bottom-up, 4 bytes each: the bottom row's first
        // pixel is transparent.
        let mask_at = entry.len() - 8;
        entry[mask_at] = 0x80;
        let image = decoded(&ico(&[entry]), 1.0);
        assert_eq!(image.channels(), Channels::Rgba);
        assert_eq!(&image.frames()[0].data()[8..12], &[10, 20, 30, 0]);
        assert_eq!(&image.frames()[0].data()[12..16], &[10, 20, 30, 255]);
    }

    #[test]
    fn an_entry_claiming_a_huge_size_is_refused_from_its_header() {
        let mut huge = png_entry(1, [0; 4]);
        // IHDR width and height: 100000 x 100000.
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let file = ico(&[dib(16, 16, 32, &[[1, 2, 3, 255]; 256], true), huge]);
        let p = sniff(&file).unwrap();
        assert_eq!((p.width, p.height), (100_000, 100_000));
        assert!(matches!(
            p.check_limits(&Limits::default()),
            Err(PipelineError::TooManyPixels { .. })
        ));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let file = ico(&[dib(4, 4, 32, &[[1, 2, 3, 128]; 16], true), png_entry(8, [9; 4])]);
        let request = Pipeline::new(Limits::default()).decode_request(1.0, false);
        for cut in 0..file.len() {
            if let Ok(p) = sniff(&file[..cut]) {
                let _ = crate::pipeline::decode::decode(&file[..cut], &p, &request);
            }
        }
        // A directory entry pointing past the end is corrupt.
        assert!(matches!(
            sniff(&file[..file.len() - 1]),
            Err(PipelineError::Corrupt(_))
        ));
    }
}
