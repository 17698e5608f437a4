//! HEIC/HEIF: the signature only. Decoding HEVC needs a C library
//! (libheif with libde265), planned behind an optional `heif` feature like
//! `turbo`; until then a HEIF source is recognised by its `ftyp` brands and
//! refused with a sentence naming that plan, not as unknown bytes.

use crate::pipeline::{PipelineError, Probe};

/// Brands of HEVC-coded HEIF images and sequences, and the generic HEIF
/// brands (`mif1`, `msf1`). AVIF files list `mif1` too, so the AVIF probe
/// runs first.
const BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

/// Why a HEIC/HEIF source is refused (`415`).
pub(crate) const NOT_YET: &str = "HEIC/HEIF sources are not supported yet: decoding them is planned \
     behind the optional `heif` build feature (libheif)";

/// Recognises a HEIF by its `ftyp` brands; `None` when `bytes` are not one.
/// Always an error until the `heif` feature exists.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    super::refuse_brands(bytes, &BRANDS, NOT_YET)
}
