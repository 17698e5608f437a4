//! AVIF: the encoder (`ravif`, pure Rust) and the signature. AVIF sources
//! are not decoded yet: the probe recognises them by their `ftyp` brands and
//! refuses them with a sentence saying so, rather than as unknown bytes.

use super::encode_error;
use crate::format::ImageFormat;
use crate::pipeline::{Channels, Frame, PipelineError, Probe};

/// Brands of an AVIF still image (`avif`) and image sequence (`avis`).
const BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];

/// Why an AVIF source is refused (`415`).
pub(crate) const NOT_YET: &str =
    "AVIF sources are not supported yet: resizer writes AVIF but does not decode it (planned)";

/// Recognises an AVIF by its `ftyp` brands; `None` when `bytes` are not one.
/// Always an error until AVIF decoding is added.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    super::refuse_brands(bytes, &BRANDS, NOT_YET)
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
