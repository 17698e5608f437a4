//! AVIF: the header probe, the decoder's choice and the encoder (`ravif`,
//! pure Rust).
//!
//! The probe recognises an AVIF by its `ftyp` brands and reads its header
//! with the ISO-BMFF reader (`bmff.rs`) in every build: size, bit depth,
//! alpha, orientation, colour. Decoding is libheif's (with its dav1d or aom
//! AV1 plugin) behind the optional `heif` feature, shared with HEIC
//! (`heif.rs`); without it an AVIF source is a `415` naming the feature.
//! A pure-Rust AV1 decoder (`rav1d`) was measured as the alternative
//! (README, "Input formats"): it exposes only dav1d's C API (every call
//! `unsafe`), and without its assembly it is the slow path of a decoder
//! whose speed comes from assembly.

use super::encode_error;
use crate::format::{ImageFormat, SourceFormat};
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Frame, Image, PipelineError, Probe};

/// Brands of an AVIF still image (`avif`) and image sequence (`avis`).
const BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];

/// Recognises an AVIF by its `ftyp` brands and reads its header; `None`
/// when `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    super::heif::probe_brands(bytes, &BRANDS, SourceFormat::Avif)
}

/// Decodes the primary image (or the first picture of a sequence) to 8-bit
/// RGB or RGBA: libheif under the `heif` feature, else a `415`.
pub fn decode(bytes: &[u8], probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    super::heif::decode(bytes, probe, request)
}

/// rav1e speed 1 (slow) ..= 10 (fast). The fastest preset: without its
/// assembly (which needs nasm, not part of the default build) rav1e takes
/// about 90 ms for a 300x225 thumbnail even at 10, and a request must not
/// spend seconds on AVIF; the slow presets save only a few percent of bytes.
const SPEED: u8 = 10;

/// Encodes one frame (ravif, pure Rust) at `quality`.
pub fn encode(frame: &Frame, quality: u8) -> Result<Vec<u8>, PipelineError> {
    let channels = frame.channels();
    use ravif::{Encoder, Img, RGB8, RGBA8};
    let f = ImageFormat::Avif;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let q = f32::from(quality.clamp(1, 100));
    let encoder = Encoder::new()
        .with_quality(q)
        .with_alpha_quality(q)
        .with_speed(SPEED)
        // One thread: the service already runs one image per core.
        .with_num_threads(Some(1));
    let encoded = match channels {
        Channels::Rgb => {
            let pixels: Vec<RGB8> = frame
                .data()
                .chunks_exact(3)
                .map(|p| RGB8::new(p[0], p[1], p[2]))
                .collect();
            encoder.encode_rgb(Img::new(&pixels[..], w, h))
        }
        Channels::Rgba => {
            let pixels: Vec<RGBA8> = frame
                .data()
                .chunks_exact(4)
                .map(|p| RGBA8::new(p[0], p[1], p[2], p[3]))
                .collect();
            encoder.encode_rgba(Img::new(&pixels[..], w, h))
        }
    };
    encoded.map(|e| e.avif_file).map_err(|e| encode_error(f, e))
}
