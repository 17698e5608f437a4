//! Arbitrary bytes as a JPEG XL codestream: inputs without a JPEG XL
//! signature get the bare codestream's (`FF 0A`), so that every input
//! reaches jxl-oxide's header parser. The probe never panics, and a source
//! within small limits decodes (or is refused) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resizer::pipeline;

#[path = "../support.rs"]
mod support;

use support::{LIMITS, run_png};

/// The ISO-BMFF container's signature box.
const CONTAINER: &[u8] = &[0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A];

fuzz_target!(|bytes: &[u8]| {
    let mut source = Vec::with_capacity(bytes.len() + 2);
    if !(bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(CONTAINER)) {
        source.extend_from_slice(&[0xFF, 0x0A]);
    }
    source.extend_from_slice(bytes);
    let Ok(probe) = pipeline::probe::probe(&source) else {
        return;
    };
    if probe.check_limits(&LIMITS).is_err() {
        return;
    }
    run_png(&source, "w_64", 64);
});
