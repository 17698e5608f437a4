//! HEIC/HEIF (and AVIF's decoding): the header probe in every build, the
//! decoder behind the optional `heif` feature.
//!
//! The probe reads the ISO-BMFF header with our own bounded reader
//! (`bmff.rs`): the primary image's size from `ispe` (for a grid, the
//! whole), its bit depth, alpha plane, `irot`/`imir` orientation and `colr`
//! colour, so that the pixel limit is applied before libheif sees a byte.
//! An `nclx` colour with other primaries than sRGB's becomes an ICC profile
//! (moxcms), converted to sRGB by the same path as an embedded profile.
//!
//! Decoding HEVC needs a C library: libheif (LGPL-3.0) with libde265, and
//! for AVIF its dav1d or aom plugin, linked from the system under the `heif`
//! feature (`libheif.rs`, through the safe `libheif-rs` API). Without the
//! feature both formats are `415` with a sentence naming it.
//!
//! Orientation is applied exactly once, by us: libheif is told to ignore
//! `irot`/`imir` (and so `clap`, which is rare: the coded size is kept), the
//! probe hands them to the pipeline as an EXIF-style orientation, and an
//! EXIF orientation inside a HEIF is ignored, as HEIF readers do (the
//! container's transforms are the ones that count; Apple writes both).

#[cfg(feature = "heif")]
mod libheif;

use moxcms::{CicpColorPrimaries, CicpProfile, ColorProfile, MatrixCoefficients, TransferCharacteristics};

use super::bmff::{self, Colour};
use super::ftyp_brands;
use crate::format::SourceFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Image, PipelineError, Probe};

/// Brands of HEVC-coded HEIF images and sequences, and the generic HEIF
/// brands (`mif1`, `msf1`). AVIF files list `mif1` too, so the AVIF probe
/// runs first.
const BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

/// Why a HEIC/HEIF or AVIF source is refused by a build without the
/// feature (`415`).
#[cfg_attr(feature = "heif", allow(dead_code))]
pub(crate) const NEEDS_FEATURE: &str = "HEIC/HEIF and AVIF sources are decoded by libheif, which this \
     build of resizer does not include: build it with the `heif` feature (cargo build --features heif; \
     the Docker image has it)";

/// An image sequence without a still image: libheif (1.15, Debian
/// bookworm's) reads image items only.
pub(crate) const SEQUENCE_ONLY: &str = "HEIF/AVIF image sequences without a still image are not \
     decoded: only files with a primary image item are read";

/// Recognises a HEIF by its `ftyp` brands and reads its header; `None`
/// when `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    probe_brands(bytes, &BRANDS, SourceFormat::Heif)
}

/// The probe of an ISO-BMFF image whose `ftyp` lists one of `brands`, as
/// `format`; `None` for any other file.
pub(crate) fn probe_brands(
    bytes: &[u8],
    brands: &[&[u8; 4]],
    format: SourceFormat,
) -> Option<Result<Probe, PipelineError>> {
    ftyp_brands(bytes)?
        .iter()
        .any(|b| brands.contains(b))
        .then(|| read_probe(bytes, format))
}

fn read_probe(bytes: &[u8], format: SourceFormat) -> Result<Probe, PipelineError> {
    let header = bmff::read(bytes)?;
    let mut probe = Probe::new(format, header.width, header.height)?;
    probe.has_alpha = header.has_alpha;
    probe.orientation = header.orientation;
    probe.icc_profile = icc_of(&header.colour);
    Ok(probe)
}

/// The profile the pixels are converted from: the embedded ICC profile,
/// else one made from the `nclx` code points when they name primaries
/// other than sRGB's (BT.709). Transfer: PQ and HLG (HDR) are read with the
/// sRGB curve, a deliberately simple tone mapping (README, "Input formats":
/// HLG is made to look right that way on SDR screens; PQ highlights are
/// compressed and mid-tones come out brighter than mastered).
fn icc_of(colour: &Colour) -> Option<Vec<u8>> {
    if let Some(icc) = &colour.icc {
        return Some(icc.clone());
    }
    let nclx = colour.nclx?;
    if matches!(nclx.primaries, 1 | 2) {
        // BT.709 primaries are sRGB's; their curves differ too little to convert.
        return None;
    }
    let primaries = CicpColorPrimaries::try_from(u8::try_from(nclx.primaries).ok()?).ok()?;
    let transfer = match nclx.transfer {
        1 | 6 | 13 | 14 | 15 => TransferCharacteristics::try_from(nclx.transfer as u8).ok()?,
        _ => TransferCharacteristics::Srgb,
    };
    let profile = ColorProfile::new_from_cicp(CicpProfile {
        color_primaries: primaries,
        transfer_characteristics: transfer,
        matrix_coefficients: MatrixCoefficients::Identity,
        full_range: true,
    });
    profile.encode().ok()
}

/// Decodes the primary image of a HEIF or AVIF to 8-bit RGB or RGBA, as
/// stored (orientation is the pipeline's); `415` without the `heif` feature.
pub fn decode(bytes: &[u8], probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let header = bmff::read(bytes)?;
    if &header.item_type == b"trak" {
        return Err(PipelineError::NotYetSupported(SEQUENCE_ONLY));
    }
    #[cfg(feature = "heif")]
    {
        libheif::decode(bytes, probe, &header, request)
    }
    #[cfg(not(feature = "heif"))]
    {
        let _ = (probe, request);
        Err(PipelineError::NotYetSupported(NEEDS_FEATURE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::codec::bmff::tests::{bx, fbx, heif, ispe};
    use crate::pipeline::probe::probe as sniff;

    #[test]
    fn heic_and_avif_headers_are_probed() {
        let file = heif(b"heic", b"hvc1", &[ispe(4032, 3024), bx(b"irot", &[3])], &[], &[]);
        let p = sniff(&file).unwrap();
        assert_eq!(
            (p.format, p.width, p.height, p.orientation),
            (SourceFormat::Heif, 4032, 3024, 6)
        );
        let file = heif(b"avif", b"av01", &[ispe(10, 20)], &[], &[]);
        let p = sniff(&file).unwrap();
        assert_eq!((p.format, p.width, p.height), (SourceFormat::Avif, 10, 20));
        assert_eq!(p.icc_profile, None);
    }

    #[test]
    fn a_bomb_header_is_over_the_limit_before_decoding() {
        let file = heif(b"heic", b"hvc1", &[ispe(100_000, 100_000)], &[], &[]);
        let started = std::time::Instant::now();
        let p = sniff(&file).unwrap();
        assert!(matches!(
            p.check_limits(&crate::pipeline::Limits::default()),
            Err(PipelineError::TooManyPixels { .. })
        ));
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
    }

    #[test]
    fn wide_gamut_nclx_becomes_a_profile_and_srgb_does_not() {
        let colr = |p: u16, t: u16| {
            let mut b = b"nclx".to_vec();
            for v in [p, t, 1] {
                b.extend_from_slice(&v.to_be_bytes());
            }
            b.push(0x80);
            bx(b"colr", &b)
        };
        let p3 = heif(b"avif", b"av01", &[ispe(8, 8), colr(12, 13)], &[], &[]);
        let profile = sniff(&p3).unwrap().icc_profile.expect("a profile for Display P3");
        let parsed = ColorProfile::new_from_slice(&profile).unwrap();
        assert!(parsed.red_colorant.x > ColorProfile::new_srgb().red_colorant.x);
        let srgb = heif(b"avif", b"av01", &[ispe(8, 8), colr(1, 13)], &[], &[]);
        assert_eq!(sniff(&srgb).unwrap().icc_profile, None);
        // An embedded profile wins over nclx.
        let mut icc = b"prof".to_vec();
        icc.extend_from_slice(b"some profile bytes");
        let both = heif(
            b"heic",
            b"hvc1",
            &[ispe(8, 8), bx(b"colr", &icc), colr(12, 13)],
            &[],
            &[],
        );
        assert_eq!(
            sniff(&both).unwrap().icc_profile.as_deref(),
            Some(&b"some profile bytes"[..])
        );
        let _ = fbx;
    }

    #[cfg(not(feature = "heif"))]
    #[test]
    fn without_the_feature_decoding_names_it() {
        let file = heif(b"heic", b"hvc1", &[ispe(8, 8)], &[], &[]);
        let p = sniff(&file).unwrap();
        let request = crate::pipeline::Pipeline::default().decode_request(1.0, false);
        assert_eq!(
            decode(&file, &p, &request).unwrap_err(),
            PipelineError::NotYetSupported(NEEDS_FEATURE)
        );
        assert!(NEEDS_FEATURE.contains("`heif` feature"));
    }
}
