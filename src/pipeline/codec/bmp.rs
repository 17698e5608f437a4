//! BMP: the header probe and a decoder of our own for the device-independent
//! bitmap (DIB) that BMP files and ICO entries share.
//!
//! Our own parser rather than the `image` crate's: `image` with only its BMP
//! decoder still builds `image` and a second `moxcms`, about 200 s of one core
//! on a cold build (BENCHMARKS.md, "Input formats"), for a format that is a
//! header and rows of samples. Read here: the core (OS/2), info, V2-V5
//! headers; 1, 4 and 8-bit palettes, 16, 24 and 32-bit samples with or
//! without bit-field masks; RLE4 and RLE8; bottom-up and top-down rows; an
//! embedded ICC profile (V5). Every read is bounds-checked and the pixel
//! data is checked against the header's size before the output is
//! allocated; a file that ends early is corrupt, not padded.

use super::{MAX_ICC_BYTES, corrupt, decoder_budget, le16, le32, truncated};
use crate::format::SourceFormat;
use crate::pipeline::decode::DecodeRequest;
use crate::pipeline::{Channels, Image, PipelineError, Probe, deadline};

/// The file header: "BM", file size, two reserved words, pixel data offset.
const FILE_HEADER: usize = 14;

/// Sizes of the DIB headers in use: core (OS/2 1.x), info, V2, V3, OS/2 2.x,
/// V4, V5. Any other value is not a BMP (or a damaged one), which keeps
/// two letters "BM" at the start of a text file from passing as an image.
const DIB_HEADER_SIZES: [u32; 7] = [12, 40, 52, 56, 64, 108, 124];

/// Rows decoded between two deadline checks.
const ROWS_PER_CHECK: u32 = 64;

/// `biCompression` values.
const BI_RGB: u32 = 0;
const BI_RLE8: u32 = 1;
const BI_RLE4: u32 = 2;
const BI_BITFIELDS: u32 = 3;
const BI_ALPHABITFIELDS: u32 = 6;

/// `bV5CSType` of a V5 header whose profile is stored in the file.
const PROFILE_EMBEDDED: u32 = u32::from_be_bytes(*b"MBED");

/// Recognises a BMP file; `None` when `bytes` are not one.
pub fn probe(bytes: &[u8]) -> Option<Result<Probe, PipelineError>> {
    let dib_size = le32(bytes, FILE_HEADER)?;
    (bytes.starts_with(b"BM") && DIB_HEADER_SIZES.contains(&dib_size)).then(|| {
        let dib = Dib::parse(&bytes[FILE_HEADER..], false)?;
        dib.probe(SourceFormat::Bmp)
    })
}

/// Decodes a BMP file.
pub fn decode(bytes: &[u8], _probe: &Probe, request: &DecodeRequest) -> Result<Image, PipelineError> {
    let dib = Dib::parse(bytes.get(FILE_HEADER..).ok_or_else(truncated)?, false)?;
    let offset = usize::try_from(le32(bytes, 10).ok_or_else(truncated)?)
        .map_err(|_| corrupt("the BMP pixel offset is out of range"))?;
    let pixels = bytes
        .get(offset..)
        .ok_or_else(|| corrupt("the BMP pixel data starts past the end of the file"))?;
    dib.decode(pixels, request)
}

/// A parsed DIB header: what the decoder needs to read the rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dib {
    pub width: u32,
    pub height: u32,
    /// Rows stored from the top (a negative height in the header).
    top_down: bool,
    pub bits: u16,
    compression: u32,
    /// Red, green, blue and alpha masks of 16- and 32-bit samples.
    masks: [u32; 4],
    /// The palette, as (blue, green, red) triples.
    palette: Vec<[u8; 3]>,
    /// Where the palette ends, from the start of the DIB header: the pixel
    /// data of an ICO entry follows it directly.
    pub palette_end: usize,
    /// Whether the 4th byte of a 32-bit `BI_RGB` sample may be alpha.
    loose_alpha: bool,
    icc_profile: Option<Vec<u8>>,
}

impl Dib {
    /// Parses the DIB header at the start of `dib`. In an ICO entry
    /// (`ico`), the height counts the colour rows and the mask rows.
    pub(crate) fn parse(dib: &[u8], ico: bool) -> Result<Dib, PipelineError> {
        let size = le32(dib, 0).ok_or_else(truncated)?;
        if !DIB_HEADER_SIZES.contains(&size) {
            return Err(corrupt(format!("unknown BMP header size {size}")));
        }
        let header = dib.get(..size as usize).ok_or_else(truncated)?;
        let (width, height, bits, compression) = if size == 12 {
            let w = le16(header, 4).ok_or_else(truncated)?;
            let h = le16(header, 6).ok_or_else(truncated)?;
            let bits = le16(header, 10).ok_or_else(truncated)?;
            (i64::from(w), i64::from(h), bits, BI_RGB)
        } else {
            let w = le32(header, 4).ok_or_else(truncated)? as i32;
            let h = le32(header, 8).ok_or_else(truncated)? as i32;
            let bits = le16(header, 14).ok_or_else(truncated)?;
            let compression = le32(header, 16).ok_or_else(truncated)?;
            (i64::from(w), i64::from(h), bits, compression)
        };
        let top_down = height < 0;
        let mut height = height.unsigned_abs();
        if ico {
            height /= 2;
        }
        let width = u32::try_from(width).map_err(|_| corrupt("the BMP width is negative"))?;
        let height = u32::try_from(height).map_err(|_| corrupt("the BMP height is out of range"))?;
        if width == 0 || height == 0 {
            return Err(corrupt(format!(
                "the BMP header gives a size of {width}x{height}"
            )));
        }
        match (bits, compression) {
            (1 | 4 | 8 | 16 | 24 | 32, BI_RGB)
            | (8, BI_RLE8)
            | (4, BI_RLE4)
            | (16 | 32, BI_BITFIELDS | BI_ALPHABITFIELDS) => {}
            _ => {
                return Err(corrupt(format!(
                    "BMP with {bits} bits per pixel and compression {compression} is not read"
                )));
            }
        }
        // Bit-field masks: in the V2+ header, or after an info header.
        let mut masks = match bits {
            16 => [0x7C00, 0x03E0, 0x001F, 0],
            _ => [0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0],
        };
        let mut after_header = size as usize;
        if matches!(compression, BI_BITFIELDS | BI_ALPHABITFIELDS) {
            let count = if compression == BI_ALPHABITFIELDS { 4 } else { 3 };
            let at = if size >= 52 { 40 } else { size as usize };
            for (i, mask) in masks.iter_mut().enumerate().take(count) {
                *mask = le32(dib, at + 4 * i).ok_or_else(truncated)?;
            }
            if size == 40 {
                after_header += 4 * count;
            }
        }
        // A V3+ header holds an alpha mask even without BI_BITFIELDS.
        if size >= 56 && compression != BI_RGB {
            masks[3] = le32(header, 52).ok_or_else(truncated)?;
        }
        if masks[..3].contains(&0) && bits > 8 {
            return Err(corrupt("a BMP colour mask is empty"));
        }
        let entry = if size == 12 { 3 } else { 4 };
        let palette = if bits <= 8 {
            let used = if size == 12 {
                0
            } else {
                le32(header, 32).ok_or_else(truncated)?
            };
            let count = if used == 0 || used > 1 << bits {
                1usize << bits
            } else {
                used as usize
            };
            let table = dib
                .get(after_header..after_header + count * entry)
                .ok_or_else(|| corrupt("the BMP palette is truncated"))?;
            after_header += count * entry;
            table.chunks_exact(entry).map(|c| [c[0], c[1], c[2]]).collect()
        } else {
            Vec::new()
        };
        let icc_profile = if size >= 124 && le32(header, 56) == Some(PROFILE_EMBEDDED) {
            let at = le32(header, 112).ok_or_else(truncated)? as usize;
            let len = le32(header, 116).ok_or_else(truncated)? as usize;
            (len <= MAX_ICC_BYTES)
                .then(|| dib.get(at..at.checked_add(len)?).map(<[u8]>::to_vec))
                .flatten()
        } else {
            None
        };
        Ok(Dib {
            width,
            height,
            top_down,
            bits,
            compression,
            masks,
            palette,
            palette_end: after_header,
            // Writers of plain 32-bit BMPs disagree on the 4th byte; like
            // browsers, it is alpha when it is not zero everywhere.
            loose_alpha: bits == 32 && compression == BI_RGB,
            icc_profile,
        })
    }

    /// The probe of this header, as `format`.
    pub(crate) fn probe(&self, format: SourceFormat) -> Result<Probe, PipelineError> {
        let mut probe = Probe::new(format, self.width, self.height)?;
        probe.has_alpha = self.bits == 32 || self.masks[3] != 0;
        probe.icc_profile = self.icc_profile.clone();
        Ok(probe)
    }

    /// Bytes per stored row of an uncompressed bitmap (rows are padded to
    /// four bytes).
    fn stride(&self) -> Option<usize> {
        let bits = u64::from(self.width) * u64::from(self.bits);
        usize::try_from(bits.div_ceil(32) * 4).ok()
    }

    /// Decodes the rows in `pixels` to RGB, or RGBA when some pixel is
    /// transparent.
    pub(crate) fn decode(&self, pixels: &[u8], request: &DecodeRequest) -> Result<Image, PipelineError> {
        self.decode_with_mask(pixels, false, request)
    }

    /// [`Dib::decode`], where `and_mask` (an ICO entry) makes the pixels
    /// whose bit is set in the mask after the rows transparent, unless the
    /// samples carry alpha of their own.
    pub(crate) fn decode_with_mask(
        &self,
        pixels: &[u8],
        and_mask: bool,
        request: &DecodeRequest,
    ) -> Result<Image, PipelineError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let out_bytes = (w as u64) * (h as u64) * 4;
        if out_bytes > decoder_budget(&request.limits) {
            return Err(PipelineError::TooManyPixels {
                width: self.width,
                height: self.height,
                pixels: (w as u64) * (h as u64),
                max: request.limits.max_src_pixels,
            });
        }
        let mut rgba = match self.compression {
            BI_RLE8 | BI_RLE4 => self.decode_rle(pixels)?,
            _ => self.decode_rows(pixels)?,
        };
        let mut alpha = self.masks[3] != 0 || (self.loose_alpha && rgba.chunks_exact(4).any(|p| p[3] != 0));
        if self.loose_alpha && !alpha {
            rgba.chunks_exact_mut(4).for_each(|p| p[3] = u8::MAX);
        }
        if and_mask && !alpha {
            let stride = w.div_ceil(32) * 4;
            let mask_at = self.stride().ok_or_else(truncated)? * h;
            let mask = pixels
                .get(mask_at..mask_at + stride * h)
                .ok_or_else(|| corrupt("the icon's mask is truncated"))?;
            for y in 0..h {
                let row = &mask[self.stored_row(y) * stride..][..stride];
                for x in 0..w {
                    if row[x / 8] & (0x80 >> (x % 8)) != 0 {
                        rgba[(y * w + x) * 4 + 3] = 0;
                    }
                }
            }
            alpha = true;
        }
        if alpha && rgba.chunks_exact(4).any(|p| p[3] != u8::MAX) {
            return super::still(self.width, self.height, Channels::Rgba, rgba);
        }
        let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        super::still(self.width, self.height, Channels::Rgb, rgb)
    }

    /// The stored row holding output row `y`.
    fn stored_row(&self, y: usize) -> usize {
        if self.top_down {
            y
        } else {
            self.height as usize - 1 - y
        }
    }

    /// A palette colour as RGBA; an index past the palette is black, as
    /// browsers show it.
    fn colour(&self, index: u8) -> [u8; 4] {
        let [b, g, r] = self.palette.get(usize::from(index)).copied().unwrap_or([0; 3]);
        [r, g, b, u8::MAX]
    }

    /// Uncompressed rows, checked to be all present before any is read.
    fn decode_rows(&self, pixels: &[u8]) -> Result<Vec<u8>, PipelineError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let stride = self.stride().ok_or_else(truncated)?;
        if stride.checked_mul(h).is_none_or(|need| pixels.len() < need) {
            return Err(corrupt("the BMP pixel data is truncated"));
        }
        let mut out = vec![0u8; w * h * 4];
        for (y, dst) in out.chunks_exact_mut(w * 4).enumerate() {
            if (y as u32).is_multiple_of(ROWS_PER_CHECK) {
                deadline::check()?;
            }
            let row = &pixels[self.stored_row(y) * stride..][..stride];
            for (x, px) in dst.chunks_exact_mut(4).enumerate() {
                px.copy_from_slice(&self.sample(row, x));
            }
        }
        Ok(out)
    }

    /// Pixel `x` of one uncompressed row as RGBA (alpha 0 from a 32-bit
    /// `BI_RGB` sample whose 4th byte is 0, settled by the caller).
    fn sample(&self, row: &[u8], x: usize) -> [u8; 4] {
        match self.bits {
            1 | 4 | 8 => {
                let bits = usize::from(self.bits);
                let byte = row[x * bits / 8];
                let shift = 8 - bits - (x * bits % 8);
                self.colour((byte >> shift) & ((1u16 << bits) - 1) as u8)
            }
            24 => [row[x * 3 + 2], row[x * 3 + 1], row[x * 3], u8::MAX],
            16 => self.masked(u32::from(u16::from_le_bytes([row[x * 2], row[x * 2 + 1]]))),
            _ => {
                let v = u32::from_le_bytes([row[x * 4], row[x * 4 + 1], row[x * 4 + 2], row[x * 4 + 3]]);
                if self.loose_alpha {
                    let [b, g, r, a] = v.to_le_bytes();
                    [r, g, b, a]
                } else {
                    self.masked(v)
                }
            }
        }
    }

    /// A bit-field sample as RGBA, each field scaled to 8 bits.
    fn masked(&self, v: u32) -> [u8; 4] {
        let field = |mask: u32, absent: u8| {
            if mask == 0 {
                return absent;
            }
            let shift = mask.trailing_zeros();
            let bits = (mask >> shift).trailing_ones().min(16);
            let max = (1u32 << bits) - 1;
            let value = (v & mask) >> shift & max;
            ((value * 255 + max / 2) / max) as u8
        };
        [
            field(self.masks[0], 0),
            field(self.masks[1], 0),
            field(self.masks[2], 0),
            field(self.masks[3], u8::MAX),
        ]
    }

    /// RLE8 or RLE4 data: runs and literal spans per row, with end-of-line,
    /// end-of-bitmap and delta escapes. Pixels the data skips stay
    /// transparent black; data that runs past the bitmap is corrupt.
    fn decode_rle(&self, data: &[u8]) -> Result<Vec<u8>, PipelineError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let four = self.compression == BI_RLE4;
        let mut out = vec![0u8; w * h * 4];
        let (mut x, mut row) = (0usize, 0usize);
        let mut at = 0usize;
        let byte = |at: usize| {
            data.get(at)
                .copied()
                .ok_or_else(|| corrupt("the BMP RLE data is truncated"))
        };
        let put = |out: &mut [u8], x: usize, row: usize, index: u8| {
            if x < w && row < h {
                let y = if self.top_down { row } else { h - 1 - row };
                out[(y * w + x) * 4..][..4].copy_from_slice(&self.colour(index));
            }
        };
        loop {
            if row >= h {
                break;
            }
            let (count, value) = (byte(at)?, byte(at + 1)?);
            at += 2;
            if count > 0 {
                for i in 0..usize::from(count) {
                    let index = if four {
                        if i % 2 == 0 { value >> 4 } else { value & 0x0F }
                    } else {
                        value
                    };
                    put(&mut out, x + i, row, index);
                }
                x += usize::from(count);
                continue;
            }
            match value {
                0 => {
                    (x, row) = (0, row + 1);
                    if row % ROWS_PER_CHECK as usize == 0 {
                        deadline::check()?;
                    }
                }
                1 => break,
                2 => {
                    x += usize::from(byte(at)?);
                    row += usize::from(byte(at + 1)?);
                    at += 2;
                }
                n => {
                    let n = usize::from(n);
                    let bytes = if four { n.div_ceil(2) } else { n };
                    for i in 0..n {
                        let index = if four {
                            let b = byte(at + i / 2)?;
                            if i % 2 == 0 { b >> 4 } else { b & 0x0F }
                        } else {
                            byte(at + i)?
                        };
                        put(&mut out, x + i, row, index);
                    }
                    x += n;
                    // Literal spans are padded to a 16-bit boundary.
                    at += bytes + bytes % 2;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pipeline::Limits;
    use crate::pipeline::probe::probe as sniff;

    /// A BMP file of `width` x `height` with `bits` per pixel (24 or 32),
    /// bottom-up, from RGBA pixels given top row first; 32-bit files carry
    /// alpha in the 4th byte (`BI_RGB`, as most writers do).
    pub(crate) fn bmp(width: u32, height: u32, bits: u16, rgba: &[[u8; 4]]) -> Vec<u8> {
        let dib = dib(width, height, bits, rgba, false);
        let mut out = b"BM".to_vec();
        out.extend_from_slice(&(14 + dib.len() as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(14u32 + 40).to_le_bytes());
        out.extend(dib);
        out
    }

    /// The DIB (info header and rows) of [`bmp`]; `ico` doubles the height
    /// and appends an all-opaque AND mask, as icon entries store it.
    pub(crate) fn dib(width: u32, height: u32, bits: u16, rgba: &[[u8; 4]], ico: bool) -> Vec<u8> {
        let stored_height = if ico { height * 2 } else { height };
        let mut out = Vec::new();
        out.extend_from_slice(&40u32.to_le_bytes());
        out.extend_from_slice(&(width as i32).to_le_bytes());
        out.extend_from_slice(&(stored_height as i32).to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(&[0; 24]);
        let stride = (width as usize * usize::from(bits)).div_ceil(32) * 4;
        for y in (0..height as usize).rev() {
            let mut row = Vec::new();
            for x in 0..width as usize {
                let [r, g, b, a] = rgba[y * width as usize + x];
                row.extend_from_slice(&[b, g, r]);
                if bits == 32 {
                    row.push(a);
                }
            }
            row.resize(stride, 0);
            out.extend(row);
        }
        if ico {
            let mask_stride = (width as usize).div_ceil(32) * 4;
            out.extend(std::iter::repeat_n(0, mask_stride * height as usize));
        }
        out
    }

    fn request() -> DecodeRequest {
        crate::pipeline::Pipeline::new(Limits::default()).decode_request(1.0, false)
    }

    fn decoded(bytes: &[u8]) -> Result<Image, PipelineError> {
        let p = sniff(bytes)?;
        assert_eq!(p.format, SourceFormat::Bmp);
        crate::pipeline::decode::decode(bytes, &p, &request())
    }

    const RED: [u8; 4] = [255, 0, 0, 255];
    const GREEN: [u8; 4] = [0, 255, 0, 255];
    const BLUE: [u8; 4] = [0, 0, 255, 255];
    const CLEAR: [u8; 4] = [0, 0, 0, 0];

    #[test]
    fn rgb_rows_are_read_bottom_up_with_padding() {
        // 3 pixels of 24 bits: 9 bytes per row, padded to 12.
        let file = bmp(3, 2, 24, &[RED, GREEN, BLUE, BLUE, GREEN, RED]);
        let image = decoded(&file).unwrap();
        assert_eq!(
            (image.width(), image.height(), image.channels()),
            (3, 2, Channels::Rgb)
        );
        assert_eq!(
            image.frames()[0].data(),
            [255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 255, 0, 255, 0, 0]
        );
    }

    #[test]
    fn thirty_two_bits_keep_alpha_only_when_used() {
        let image = decoded(&bmp(2, 1, 32, &[RED, CLEAR])).unwrap();
        assert_eq!(image.channels(), Channels::Rgba);
        assert_eq!(image.frames()[0].data(), [255, 0, 0, 255, 0, 0, 0, 0]);
        // Every 4th byte 0: a writer that ignores it; the image is opaque.
        let zero = [[255, 0, 0, 0], [0, 0, 255, 0]];
        let image = decoded(&bmp(2, 1, 32, &zero)).unwrap();
        assert_eq!(image.channels(), Channels::Rgb);
        assert_eq!(image.frames()[0].data(), [255, 0, 0, 0, 0, 255]);
    }

    /// A 4x2 8-bit palette BMP: top row RLE-free indices 0,1,1,0.
    fn palette_bmp(compression: u32, data: &[u8], height: i32) -> Vec<u8> {
        let mut dib = Vec::new();
        dib.extend_from_slice(&40u32.to_le_bytes());
        dib.extend_from_slice(&4i32.to_le_bytes());
        dib.extend_from_slice(&height.to_le_bytes());
        dib.extend_from_slice(&1u16.to_le_bytes());
        dib.extend_from_slice(&8u16.to_le_bytes());
        dib.extend_from_slice(&compression.to_le_bytes());
        dib.extend_from_slice(&[0; 12]);
        dib.extend_from_slice(&2u32.to_le_bytes());
        dib.extend_from_slice(&0u32.to_le_bytes());
        // Palette: 0 = blue, 1 = yellow (B, G, R, reserved).
        dib.extend_from_slice(&[255, 0, 0, 0, 0, 255, 255, 0]);
        let mut out = b"BM".to_vec();
        out.extend_from_slice(&((14 + dib.len() + data.len()) as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&((14 + dib.len()) as u32).to_le_bytes());
        out.extend(dib);
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn palettes_rle8_and_top_down_rows_are_read() {
        let blue = [0, 0, 255];
        let yellow = [255, 255, 0];
        let expect = [blue, yellow, yellow, blue, yellow, yellow, yellow, yellow].concat();
        // Uncompressed, top-down (negative height).
        let plain = palette_bmp(BI_RGB, &[0, 1, 1, 0, 1, 1, 1, 1], -2);
        assert_eq!(decoded(&plain).unwrap().frames()[0].data(), expect);
        // RLE8, bottom-up: row 1 (bottom) = 4 x index 1; row 0 = a literal
        // span 0,1,1,0; then end of bitmap.
        let rle = palette_bmp(BI_RLE8, &[4, 1, 0, 0, 0, 4, 0, 1, 1, 0, 0, 1], 2);
        assert_eq!(decoded(&rle).unwrap().frames()[0].data(), expect);
        // Truncated RLE data is corrupt.
        let cut = palette_bmp(BI_RLE8, &[4, 1, 0, 0, 0, 4, 0], 2);
        assert!(matches!(decoded(&cut), Err(PipelineError::Corrupt(_))));
    }

    #[test]
    fn huge_header_is_refused_before_decoding() {
        let mut file = bmp(1, 1, 24, &[RED]);
        file[18..22].copy_from_slice(&100_000i32.to_le_bytes());
        file[22..26].copy_from_slice(&100_000i32.to_le_bytes());
        let started = std::time::Instant::now();
        let p = sniff(&file).unwrap();
        assert_eq!((p.width, p.height), (100_000, 100_000));
        assert!(matches!(
            p.check_limits(&Limits::default()),
            Err(PipelineError::TooManyPixels { .. })
        ));
        // Even past the probe, the decoder refuses before allocating.
        let small = Limits {
            max_src_pixels: 1 << 20,
            ..Limits::default()
        };
        let request = crate::pipeline::Pipeline::new(small).decode_request(1.0, false);
        assert!(crate::pipeline::decode::decode(&file, &p, &request).is_err());
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let file = bmp(5, 3, 24, &[GREEN; 15]);
        assert!(decoded(&file).is_ok());
        for cut in 0..file.len() {
            if let Ok(p) = sniff(&file[..cut]) {
                assert!(
                    crate::pipeline::decode::decode(&file[..cut], &p, &request()).is_err(),
                    "{cut}"
                );
            }
        }
        // "BM" and a few bytes: not a BMP at all.
        assert_eq!(sniff(b"BM\0\0\0\0"), Err(PipelineError::UnsupportedFormat));
    }
}
