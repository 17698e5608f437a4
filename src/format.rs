//! Image formats the service reads and writes.
//!
//! [`ImageFormat`] is an output format, shared by the grammar (`f_webp`), the
//! encoder and HTTP (`Content-Type`), so that a format is spelled one way
//! everywhere. [`SourceFormat`] is what the probe sniffs from a source's
//! bytes: every output format plus the formats resizer only reads, so that
//! an encoder can never be asked for a format it cannot write.

use std::fmt;

/// A format resizer can write (`f_<name>`).
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

/// The format of a source, sniffed from its bytes (never from a file
/// extension or `Content-Type`): one of the output formats, or a format
/// resizer reads but does not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Avif,
    Bmp,
    Ico,
    Tiff,
    /// HEIC and other HEIF images (AVIF is [`SourceFormat::Avif`]).
    Heif,
    Svg,
    Jxl,
}

impl SourceFormat {
    /// The lower-case name used in messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
            SourceFormat::Gif => "gif",
            SourceFormat::Webp => "webp",
            SourceFormat::Avif => "avif",
            SourceFormat::Bmp => "bmp",
            SourceFormat::Ico => "ico",
            SourceFormat::Tiff => "tiff",
            SourceFormat::Heif => "heif",
            SourceFormat::Svg => "svg",
            SourceFormat::Jxl => "jxl",
        }
    }

    /// The output format of the same kind, when resizer writes it: the
    /// format a request without `f_` keeps.
    pub fn output(self) -> Option<ImageFormat> {
        match self {
            SourceFormat::Jpeg => Some(ImageFormat::Jpeg),
            SourceFormat::Png => Some(ImageFormat::Png),
            SourceFormat::Gif => Some(ImageFormat::Gif),
            SourceFormat::Webp => Some(ImageFormat::Webp),
            SourceFormat::Avif => Some(ImageFormat::Avif),
            SourceFormat::Bmp | SourceFormat::Ico | SourceFormat::Tiff => None,
            SourceFormat::Heif => None,
            SourceFormat::Svg => None,
            SourceFormat::Jxl => None,
        }
    }
}

/// Every output format can also be a source.
impl From<ImageFormat> for SourceFormat {
    fn from(format: ImageFormat) -> Self {
        match format {
            ImageFormat::Jpeg => SourceFormat::Jpeg,
            ImageFormat::Png => SourceFormat::Png,
            ImageFormat::Gif => SourceFormat::Gif,
            ImageFormat::Webp => SourceFormat::Webp,
            ImageFormat::Avif => SourceFormat::Avif,
        }
    }
}

/// A source is "a PNG" when its output twin is PNG.
impl PartialEq<ImageFormat> for SourceFormat {
    fn eq(&self, other: &ImageFormat) -> bool {
        self.output() == Some(*other)
    }
}

impl SourceFormat {
    /// Whether the source is drawn rather than stored as pixels: it has no
    /// pixel count of its own, and is rendered at the size the output needs
    /// (its rendered size is held to the limits instead of its header's).
    pub fn is_vector(self) -> bool {
        matches!(self, SourceFormat::Svg)
    }
}

impl fmt::Display for SourceFormat {
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
    fn read_only_formats_have_no_output_twin() {
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Png,
            ImageFormat::Gif,
            ImageFormat::Webp,
            ImageFormat::Avif,
        ] {
            let source = SourceFormat::from(format);
            assert_eq!(source.output(), Some(format));
            assert_eq!(source.name(), format.name());
        }
        for source in [
            SourceFormat::Bmp,
            SourceFormat::Ico,
            SourceFormat::Tiff,
            SourceFormat::Heif,
            SourceFormat::Svg,
            SourceFormat::Jxl,
        ] {
            assert_eq!(source.output(), None);
            assert_eq!(ImageFormat::from_name(source.name()), None);
        }
    }

    #[test]
    fn only_jpeg_lacks_alpha() {
        assert!(!ImageFormat::Jpeg.supports_alpha());
        assert!(ImageFormat::Png.supports_alpha());
        assert!(ImageFormat::Gif.supports_animation());
        assert!(!ImageFormat::Avif.supports_animation());
    }
}
