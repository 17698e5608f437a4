//! Arbitrary bytes as an SVG: inputs that are not an SVG already are put
//! inside an `<svg>` root, so that every input reaches the XML parser, the
//! expansion estimate, usvg's conversion and resvg's renderer. The probe
//! never panics, and whatever it accepts renders (or is refused) without
//! panicking, under small limits and a deadline.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resizer::format::SourceFormat;
use resizer::pipeline;

#[path = "../support.rs"]
mod support;

use support::run_png;

fuzz_target!(|bytes: &[u8]| {
    let wrapped;
    let bytes = match pipeline::probe::probe(bytes) {
        Ok(p) if p.format == SourceFormat::Svg => bytes,
        _ => {
            let mut svg =
                br#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">"#
                    .to_vec();
            svg.extend_from_slice(bytes);
            svg.extend_from_slice(b"</svg>");
            wrapped = svg;
            &wrapped
        }
    };
    if pipeline::probe::probe(bytes).is_err() {
        return;
    }
    for (transformation, max_width) in [
        ("w_64", 64),
        ("w_300,h_300,c_fill", 300),
        ("c_pad,w_50,h_20,dpr_2", 100),
    ] {
        run_png(bytes, transformation, max_width);
    }
});
