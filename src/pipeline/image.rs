//! The decoded image handed from stage to stage.
//!
//! Pixels are 8-bit sRGB, interleaved, straight (not premultiplied) alpha.
//! Opaque sources stay three-channel so that JPEG-to-JPEG work moves 25% fewer
//! bytes than RGBA would. An animation is a list of fully composited frames of
//! one size. While an animation streams through the pipeline (decoded,
//! transformed and kept one frame at a time), each frame travels with its own
//! [`Channels`]; [`Image::assemble`] gives the kept frames one layout.

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

    /// Gathers frames that were produced one at a time, each with its own
    /// channels, into one image: RGB when every frame is RGB, else RGBA, the
    /// RGB frames gaining an opaque alpha channel. A single frame is a still
    /// (no delay). `None` when there are no frames.
    pub fn assemble(frames: Vec<(Channels, Frame)>, loops: u16) -> Option<Image> {
        if frames.is_empty() {
            return None;
        }
        let channels = if frames.iter().all(|(c, _)| *c == Channels::Rgb) {
            Channels::Rgb
        } else {
            Channels::Rgba
        };
        let mut frames: Vec<Frame> = frames
            .into_iter()
            .map(|(c, frame)| match (c, channels) {
                (Channels::Rgb, Channels::Rgba) => Frame {
                    data: frame
                        .data
                        .chunks_exact(3)
                        .flat_map(|p| [p[0], p[1], p[2], u8::MAX])
                        .collect(),
                    ..frame
                },
                _ => frame,
            })
            .collect();
        if let [only] = frames.as_mut_slice() {
            only.delay_ms = 0;
        }
        Some(Image {
            channels,
            frames,
            loops,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: Vec<u8>, delay_ms: u32) -> Frame {
        Frame {
            width: 1,
            height: 1,
            data,
            delay_ms,
        }
    }

    #[test]
    fn assemble_gives_frames_one_layout() {
        let rgb = Image::assemble(
            vec![
                (Channels::Rgb, frame(vec![1, 2, 3], 10)),
                (Channels::Rgb, frame(vec![4, 5, 6], 20)),
            ],
            3,
        )
        .unwrap();
        assert_eq!((rgb.channels, rgb.loops, rgb.frames.len()), (Channels::Rgb, 3, 2));
        let mixed = Image::assemble(
            vec![
                (Channels::Rgb, frame(vec![1, 2, 3], 10)),
                (Channels::Rgba, frame(vec![4, 5, 6, 7], 20)),
            ],
            0,
        )
        .unwrap();
        assert_eq!(mixed.channels, Channels::Rgba);
        assert_eq!(mixed.frames[0].data, [1, 2, 3, 255]);
        assert_eq!(mixed.frames[1].data, [4, 5, 6, 7]);
        assert_eq!(mixed.frames[1].delay_ms, 20);
        let one = Image::assemble(vec![(Channels::Rgba, frame(vec![0; 4], 50))], 0).unwrap();
        assert_eq!(one.frames[0].delay_ms, 0);
        assert!(Image::assemble(Vec::new(), 0).is_none());
    }
}
