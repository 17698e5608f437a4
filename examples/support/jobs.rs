//! The four whole jobs timed against libvips (`bench/vips_job.py`), shared by
//! the criterion benches and `examples/quality.rs`: name, image in
//! `bench/images`, transformation, output format.

use resizer::format::ImageFormat;

pub const JOBS: [(&str, &str, &str, ImageFormat); 4] = [
    ("jpeg_12mp_300", "photo_12mp.jpg", "w_300", ImageFormat::Jpeg),
    (
        "jpeg_1000_150x500",
        "photo_1000.jpg",
        "w_150,h_500",
        ImageFormat::Jpeg,
    ),
    (
        "jpeg_12mp_prog_300",
        "photo_12mp_prog.jpg",
        "w_300",
        ImageFormat::Jpeg,
    ),
    (
        "png_alpha_400_webp",
        "photo_1600_alpha.png",
        "w_400,f_webp",
        ImageFormat::Webp,
    ),
];
