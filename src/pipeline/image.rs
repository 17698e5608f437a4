//! The decoded image handed from stage to stage.
//!
//! Pixels are 8-bit sRGB, interleaved, straight (not premultiplied) alpha.
//! Opaque sources stay three-channel so that JPEG-to-JPEG work moves 25% fewer
//! bytes than RGBA would. An animation is a list of fully composited frames of
//! one size.

/// Samples per pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    Rgb,
    Rgba,
}

impl Channels {
    pub fn count(self) -> usize {
        match self {
            Channels::Rgb => 3,
            Channels::Rgba => 4,
        }
    }
}

/// One frame: `width * height * channels` bytes, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    /// How long the frame is shown, for animations; 0 for stills.
    pub delay_ms: u32,
}

/// A still image (one frame) or a composited animation.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub channels: Channels,
    pub frames: Vec<Frame>,
    /// Animation loop count; 0 means forever (as in GIF and WebP).
    pub loops: u16,
}

impl Image {
    /// A single still frame.
    pub fn still(width: u32, height: u32, channels: Channels, data: Vec<u8>) -> Image {
        debug_assert_eq!(data.len(), width as usize * height as usize * channels.count());
        Image {
            channels,
            frames: vec![Frame {
                width,
                height,
                data,
                delay_ms: 0,
            }],
            loops: 0,
        }
    }

    pub fn width(&self) -> u32 {
        self.frames[0].width
    }

    pub fn height(&self) -> u32 {
        self.frames[0].height
    }

    pub fn is_animated(&self) -> bool {
        self.frames.len() > 1
    }
}
