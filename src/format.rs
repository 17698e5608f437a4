//! Image formats the service reads and writes.
//!
//! One small enum shared by the grammar (`f_webp`), the pipeline (what was
//! sniffed, what to encode) and HTTP (`Content-Type`), so that a format is
//! spelled one way everywhere.

use std::fmt;

/// A raster format resizer can decode and/or encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Avif,
}

impl ImageFormat {
    /// The MIME type sent as `Content-Type`.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Avif => "image/avif",
        }
    }

    /// The canonical name, as written in `f_<name>` and used in cache keys.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
            ImageFormat::Avif => "avif",
        }
    }

    /// Parses a format name as written in `f_` or a file extension.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(ImageFormat::Jpeg),
            "png" => Some(ImageFormat::Png),
            "gif" => Some(ImageFormat::Gif),
            "webp" => Some(ImageFormat::Webp),
            "avif" => Some(ImageFormat::Avif),
            _ => None,
        }
    }

    /// Whether the encoder can store an alpha channel.
    pub fn supports_alpha(self) -> bool {
        !matches!(self, ImageFormat::Jpeg)
    }

    /// Whether resizer can write several frames in this format.
    pub fn supports_animation(self) -> bool {
        matches!(self, ImageFormat::Gif | ImageFormat::Webp)
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Gif,
            ImageFormat::Webp,
            ImageFormat::Avif,
        ] {
            assert_eq!(ImageFormat::from_name(format.name()), Some(format));
        }
        assert_eq!(ImageFormat::from_name("JPG"), Some(ImageFormat::Jpeg));
        assert_eq!(ImageFormat::from_name("bmp"), None);
    }

    #[test]
    fn only_jpeg_lacks_alpha() {
        assert!(!ImageFormat::Jpeg.supports_alpha());
        assert!(ImageFormat::Png.supports_alpha());
        assert!(ImageFormat::Gif.supports_animation());
        assert!(!ImageFormat::Avif.supports_animation());
    }
}
