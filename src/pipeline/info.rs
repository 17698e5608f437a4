//! `fl_getinfo`: what the source is and what the transformation makes of
//! it, as a JSON document instead of the image.
//!
//! The shape follows Cloudinary's `fl_getinfo` answer, an `input` object
//! (the source, from the probe: nothing is decoded for it) and an `output`
//! object (from running the whole pipeline, so its sizes and bytes are those
//! the image request would send), with resizer's extra fields in both:
//! `format`, `orientation`, `animated`/`frames`, `alpha`, `colour_profile`.

use std::time::Instant;

use serde::Serialize;

use super::{OutputChoice, Pipeline, PipelineError, Timings, codec, probe};
use crate::options::Chain;

/// The source side of `fl_getinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputInfo {
    /// The sniffed format's name (`jpeg`, `png`, `tiff`, ...).
    pub format: &'static str,
    /// Stored size, before EXIF orientation (as Cloudinary reports it).
    pub width: u32,
    pub height: u32,
    /// EXIF orientation 1..=8.
    pub orientation: u8,
    /// More than one frame.
    pub animated: bool,
    /// The header allows transparency.
    pub alpha: bool,
    /// An ICC profile is embedded.
    pub colour_profile: bool,
    /// The embedded profile's own name (its `desc` tag: "Display P3",
    /// "Adobe RGB (1998)"...), when it has a readable one.
    pub colour_profile_name: Option<String>,
    /// The source's size in bytes.
    pub bytes: usize,
}

/// The output side of `fl_getinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputInfo {
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    /// Always 1: the output is written upright, without EXIF.
    pub orientation: u8,
    /// Frames written (1 for a still).
    pub frames: usize,
    /// The output has an alpha channel (read back from the output).
    pub alpha: bool,
    /// Always false: outputs carry no ICC profile (their pixels are sRGB).
    pub colour_profile: bool,
    pub bytes: usize,
}

/// The whole `fl_getinfo` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Info {
    pub input: InputInfo,
    pub output: OutputInfo,
}

impl Info {
    /// The document as JSON text.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain fields cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Probes the source and runs the pipeline on it, and describes both; the
/// run's timings are those of the image it described.
pub fn describe(
    pipeline: &Pipeline,
    bytes: &[u8],
    chain: &Chain,
    output: OutputChoice,
    deadline: Option<Instant>,
) -> Result<(Info, Timings), PipelineError> {
    let repaired = codec::jpeg::repair::repair(bytes);
    let source = probe::probe(repaired.as_deref().unwrap_or(bytes))?;
    let (encoded, timings) = pipeline.run_chain(bytes, chain, output, deadline)?;
    let written = probe::probe(&encoded.bytes)?;
    let info = Info {
        input: InputInfo {
            format: source.format.name(),
            width: source.width,
            height: source.height,
            orientation: source.orientation,
            animated: source.animated,
            alpha: source.has_alpha,
            colour_profile: source.icc_profile.is_some(),
            colour_profile_name: source.icc_profile.as_deref().and_then(profile_name),
            bytes: bytes.len(),
        },
        output: OutputInfo {
            format: encoded.format.name(),
            width: encoded.width,
            height: encoded.height,
            orientation: 1,
            frames: encoded.frames,
            alpha: written.has_alpha,
            colour_profile: false,
            bytes: encoded.bytes.len(),
        },
    };
    Ok((info, timings))
}

/// Longest profile name kept: names are short; a longer one is cut.
const MAX_PROFILE_NAME: usize = 128;

/// The description of an ICC profile: its `desc` tag, an ICC v2
/// `textDescriptionType` (ASCII) or a v4 `multiLocalizedUnicodeType`
/// (UTF-16BE, the first record). Every offset is checked against the
/// profile's length; anything malformed is `None`.
pub fn profile_name(profile: &[u8]) -> Option<String> {
    let u32_at = |at: usize| -> Option<usize> {
        let bytes = profile.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
    };
    let tags = u32_at(128)?;
    let (offset, size) = (0..tags.min(256)).find_map(|i| {
        let entry = 132 + 12 * i;
        (profile.get(entry..entry + 4)? == b"desc").then(|| Some((u32_at(entry + 4)?, u32_at(entry + 8)?)))?
    })?;
    let tag = profile.get(offset..offset.checked_add(size)?)?;
    let text = match tag.get(0..4)? {
        b"desc" => {
            let count = u32_at(offset + 8)?;
            let ascii = tag.get(12..12usize.checked_add(count)?)?;
            String::from_utf8_lossy(ascii).into_owned()
        }
        b"mluc" => {
            let length = u32_at(offset + 20)?;
            let start = u32_at(offset + 24)?;
            let utf16 = tag.get(start..start.checked_add(length)?)?;
            let units: Vec<u16> = utf16
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => return None,
    };
    let name: String = text
        .trim_end_matches('\0')
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_PROFILE_NAME)
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ImageFormat;
    use crate::options::GrammarLimits;
    use crate::pipeline::{Channels, Image, encode};

    #[test]
    fn describes_source_and_output() {
        let data = (0..40 * 30)
            .flat_map(|i| [(i % 251) as u8, 90, 200, 255])
            .collect();
        let image = Image::still(40, 30, Channels::Rgba, data).unwrap();
        let png = encode::encode(&image, ImageFormat::Png, Default::default())
            .unwrap()
            .bytes;
        let plan = crate::options::Plan::parse("w_20,f_jpg,fl_getinfo", &GrammarLimits::default()).unwrap();
        let plan = Chain::single(plan);
        let (info, _) = describe(
            &Pipeline::default(),
            &png,
            &plan,
            OutputChoice::Fixed(ImageFormat::Jpeg),
            None,
        )
        .unwrap();
        assert_eq!(info.input.format, "png");
        assert_eq!(
            (info.input.width, info.input.height, info.input.bytes),
            (40, 30, png.len())
        );
        assert_eq!(info.output.format, "jpeg");
        assert_eq!(
            (info.output.width, info.output.height, info.output.frames),
            (20, 15, 1)
        );
        assert!(!info.output.alpha && info.output.bytes > 0);
        assert_eq!(info.input.colour_profile_name, None);
        let json: serde_json::Value = serde_json::from_slice(&info.to_json()).unwrap();
        assert_eq!(json["input"]["width"], 40);
        assert_eq!(json["output"]["format"], "jpeg");
    }

    #[test]
    fn profile_names_of_both_icc_versions() {
        let v2 = include_bytes!("../../tests/fixtures/icc/compatibleWithAdobeRGB1998.icc");
        assert_eq!(
            profile_name(v2).as_deref(),
            Some("Compatible with Adobe RGB (1998)")
        );
        let v4 = include_bytes!("../../tests/fixtures/icc/display-p3.icc");
        assert_eq!(profile_name(v4).as_deref(), Some("Display P3"));
        // Cut anywhere, never a panic.
        for end in 0..v4.len() {
            let _ = profile_name(&v4[..end]);
        }
        for end in 0..v2.len() {
            let _ = profile_name(&v2[..end]);
        }
        assert_eq!(profile_name(b"not a profile"), None);
    }
}
