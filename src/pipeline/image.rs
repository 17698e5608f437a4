//! The decoded image handed from stage to stage, and the rules its layout
//! keeps.
//!
//! Pixels are 8-bit sRGB, interleaved, straight (not premultiplied) alpha.
//! Opaque sources stay three-channel so that JPEG-to-JPEG work moves 25% fewer
//! bytes than RGBA would. An animation is a list of fully composited frames of
//! one size and one layout.
//!
//! The layout is checked where a value is made, never where it is used: a
//! [`Frame`] exists only with a non-zero size and exactly `width x height x
//! channels` bytes, and an [`Image`] only with at least one frame, all of one
//! size and one [`Channels`]. The fields are private, so no stage can break
//! either rule afterwards: pixel data is lent as a slice of fixed length, and a
//! stage that changes the size or the layout builds a new frame through the
//! same checks. Stages therefore index rows and pixels without re-checking
//! lengths, and [`Image::width`] cannot panic.

use thiserror::Error;

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

/// Why pixels could not be made into a [`Frame`] or frames into an
/// [`Image`]. Decoders meet it on damaged sources; elsewhere it is a bug.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    #[error("the image has no frames")]
    NoFrames,
    #[error("a frame of {width}x{height} has no pixels")]
    Empty { width: u32, height: u32 },
    #[error("a {width}x{height} {channels:?} frame needs {expected} bytes, not {actual}")]
    Length {
        width: u32,
        height: u32,
        channels: Channels,
        expected: usize,
        actual: usize,
    },
    #[error("frame {index} is {found:?}, the first is {first:?}")]
    Mismatch {
        index: usize,
        first: (u32, u32, Channels),
        found: (u32, u32, Channels),
    },
}

/// One frame: `width x height x channels` bytes, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    width: u32,
    height: u32,
    channels: Channels,
    data: Vec<u8>,
    /// How long the frame is shown, for animations; 0 for stills.
    delay_ms: u32,
}

impl Frame {
    /// A frame of `width x height` pixels in `data`; refused when a side is 0
    /// or the length is not `width x height x channels`.
    pub fn new(
        width: u32,
        height: u32,
        channels: Channels,
        data: Vec<u8>,
        delay_ms: u32,
    ) -> Result<Frame, LayoutError> {
        if width == 0 || height == 0 {
            return Err(LayoutError::Empty { width, height });
        }
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(channels.count()));
        if expected != Some(data.len()) {
            return Err(LayoutError::Length {
                width,
                height,
                channels,
                expected: expected.unwrap_or(usize::MAX),
                actual: data.len(),
            });
        }
        Ok(Frame {
            width,
            height,
            channels,
            data,
            delay_ms,
        })
    }

    /// A new frame shown as long as this one: the result of a stage that
    /// changed the pixels, the size or the layout.
    pub fn remade(
        &self,
        width: u32,
        height: u32,
        channels: Channels,
        data: Vec<u8>,
    ) -> Result<Frame, LayoutError> {
        Frame::new(width, height, channels, data, self.delay_ms)
    }

    /// The same frame, shown for `delay_ms`.
    pub fn with_delay_ms(self, delay_ms: u32) -> Frame {
        Frame { delay_ms, ..self }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn channels(&self) -> Channels {
        self.channels
    }

    pub fn delay_ms(&self) -> u32 {
        self.delay_ms
    }

    /// The pixels, `width x height x channels` bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The pixels to change in place; the length is fixed.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Puts `data` in place of the pixels, which are returned: for stages
    /// that write into a second buffer of the same length. Refused (the
    /// frame unchanged) when the length differs.
    pub fn replace_data(&mut self, data: Vec<u8>) -> Result<Vec<u8>, LayoutError> {
        if data.len() != self.data.len() {
            return Err(LayoutError::Length {
                width: self.width,
                height: self.height,
                channels: self.channels,
                expected: self.data.len(),
                actual: data.len(),
            });
        }
        Ok(std::mem::replace(&mut self.data, data))
    }

    /// The pixel buffer, given up (to be reused for the next stage's output).
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        self.width as usize * self.channels.count()
    }

    /// The same pixels with an opaque alpha channel added (RGBA unchanged).
    fn into_rgba(self) -> Frame {
        match self.channels {
            Channels::Rgba => self,
            Channels::Rgb => Frame {
                data: self
                    .data
                    .chunks_exact(3)
                    .flat_map(|p| [p[0], p[1], p[2], u8::MAX])
                    .collect(),
                channels: Channels::Rgba,
                ..self
            },
        }
    }
}

/// A still image (one frame) or a composited animation.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// At least one, all of one size and one layout.
    frames: Vec<Frame>,
    /// Animation loop count; 0 means forever (as in GIF and WebP).
    loops: u16,
}

impl Image {
    /// Frames of one size and layout, shown `loops` times (0: forever). A
    /// single frame is a still, whatever its delay says.
    pub fn new(mut frames: Vec<Frame>, loops: u16) -> Result<Image, LayoutError> {
        let first = frames.first().ok_or(LayoutError::NoFrames)?;
        let shape = |f: &Frame| (f.width, f.height, f.channels);
        let first = shape(first);
        if let Some((index, frame)) = frames.iter().enumerate().find(|(_, f)| shape(f) != first) {
            return Err(LayoutError::Mismatch {
                index,
                first,
                found: shape(frame),
            });
        }
        if let [only] = frames.as_mut_slice() {
            only.delay_ms = 0;
        }
        Ok(Image { frames, loops })
    }

    /// A single still frame.
    pub fn still(width: u32, height: u32, channels: Channels, data: Vec<u8>) -> Result<Image, LayoutError> {
        Ok(Image::from_frame(Frame::new(width, height, channels, data, 0)?))
    }

    /// One frame as a still image.
    pub fn from_frame(mut frame: Frame) -> Image {
        frame.delay_ms = 0;
        Image {
            frames: vec![frame],
            loops: 0,
        }
    }

    /// Gathers frames that were produced one at a time, each with its own
    /// channels, into one image: RGB when every frame is RGB, else RGBA, the
    /// RGB frames gaining an opaque alpha channel.
    pub fn assemble(frames: Vec<Frame>, loops: u16) -> Result<Image, LayoutError> {
        if frames.iter().all(|f| f.channels == Channels::Rgb) {
            return Image::new(frames, loops);
        }
        Image::new(frames.into_iter().map(Frame::into_rgba).collect(), loops)
    }

    /// Runs `stage` on every frame and gathers the results under the same
    /// rules (the stage may change size and layout, alike for all frames).
    pub fn map_frames<E: From<LayoutError>>(
        self,
        mut stage: impl FnMut(Frame) -> Result<Frame, E>,
    ) -> Result<Image, E> {
        let loops = self.loops;
        let frames = self
            .frames
            .into_iter()
            .map(&mut stage)
            .collect::<Result<Vec<_>, E>>()?;
        Ok(Image::new(frames, loops)?)
    }

    /// [`Image::map_frames`] on an image that stays as it is: `stage`
    /// reads each frame and makes the new one.
    pub fn map_frames_ref<E: From<LayoutError>>(
        &self,
        stage: impl FnMut(&Frame) -> Result<Frame, E>,
    ) -> Result<Image, E> {
        let frames = self.frames.iter().map(stage).collect::<Result<Vec<_>, E>>()?;
        Ok(Image::new(frames, self.loops)?)
    }

    pub fn width(&self) -> u32 {
        self.frames[0].width
    }

    pub fn height(&self) -> u32 {
        self.frames[0].height
    }

    pub fn channels(&self) -> Channels {
        self.frames[0].channels
    }

    pub fn loops(&self) -> u16 {
        self.loops
    }

    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The first frame: the still image, or the animation's poster.
    pub fn first(&self) -> &Frame {
        &self.frames[0]
    }

    /// The frames to change in place (pixels only: sizes are fixed).
    pub fn frames_mut(&mut self) -> &mut [Frame] {
        &mut self.frames
    }

    /// The frames, given up.
    pub fn into_frames(self) -> Vec<Frame> {
        self.frames
    }

    pub fn is_animated(&self) -> bool {
        self.frames.len() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(channels: Channels, data: Vec<u8>, delay_ms: u32) -> Frame {
        Frame::new(1, 1, channels, data, delay_ms).unwrap()
    }

    #[test]
    fn frames_keep_their_length_rule() {
        assert!(Frame::new(2, 2, Channels::Rgb, vec![0; 12], 0).is_ok());
        assert!(matches!(
            Frame::new(2, 2, Channels::Rgba, vec![0; 12], 0),
            Err(LayoutError::Length {
                expected: 16,
                actual: 12,
                ..
            })
        ));
        assert!(matches!(
            Frame::new(0, 2, Channels::Rgb, Vec::new(), 0),
            Err(LayoutError::Empty { .. })
        ));
        let f = frame(Channels::Rgb, vec![1, 2, 3], 40);
        assert!(f.remade(1, 2, Channels::Rgb, vec![0; 3]).is_err());
        assert_eq!(f.remade(1, 1, Channels::Rgb, vec![9; 3]).unwrap().delay_ms(), 40);
    }

    #[test]
    fn images_need_frames_of_one_shape() {
        assert_eq!(Image::new(Vec::new(), 0), Err(LayoutError::NoFrames));
        let rgb = frame(Channels::Rgb, vec![1, 2, 3], 10);
        let rgba = frame(Channels::Rgba, vec![1, 2, 3, 4], 10);
        assert!(matches!(
            Image::new(vec![rgb.clone(), rgba], 0),
            Err(LayoutError::Mismatch { index: 1, .. })
        ));
        let wide = Frame::new(2, 1, Channels::Rgb, vec![0; 6], 10).unwrap();
        assert!(Image::new(vec![rgb.clone(), wide], 0).is_err());
        let still = Image::new(vec![rgb], 5).unwrap();
        assert_eq!((still.width(), still.first().delay_ms()), (1, 0));
    }

    #[test]
    fn map_frames_checks_what_a_stage_returns() {
        let image = Image::still(1, 1, Channels::Rgb, vec![1, 2, 3]).unwrap();
        let grown = image
            .clone()
            .map_frames(|f| f.remade(2, 1, Channels::Rgb, vec![7; 6]))
            .unwrap();
        assert_eq!((grown.width(), grown.first().data()), (2, &[7u8; 6][..]));
        let two = Image::new(
            vec![
                frame(Channels::Rgb, vec![1, 2, 3], 10),
                frame(Channels::Rgb, vec![4, 5, 6], 10),
            ],
            0,
        )
        .unwrap();
        let mut n = 0;
        let uneven = two.map_frames(|f| {
            n += 1;
            f.remade(n, 1, Channels::Rgb, vec![0; 3 * n as usize])
        });
        assert!(matches!(uneven, Err(LayoutError::Mismatch { .. })));
    }

    #[test]
    fn assemble_gives_frames_one_layout() {
        let rgb = Image::assemble(
            vec![
                frame(Channels::Rgb, vec![1, 2, 3], 10),
                frame(Channels::Rgb, vec![4, 5, 6], 20),
            ],
            3,
        )
        .unwrap();
        assert_eq!(
            (rgb.channels(), rgb.loops(), rgb.frames().len()),
            (Channels::Rgb, 3, 2)
        );
        let mixed = Image::assemble(
            vec![
                frame(Channels::Rgb, vec![1, 2, 3], 10),
                frame(Channels::Rgba, vec![4, 5, 6, 7], 20),
            ],
            0,
        )
        .unwrap();
        assert_eq!(mixed.channels(), Channels::Rgba);
        assert_eq!(mixed.frames()[0].data(), [1, 2, 3, 255]);
        assert_eq!(mixed.frames()[1].data(), [4, 5, 6, 7]);
        assert_eq!(mixed.frames()[1].delay_ms(), 20);
        let one = Image::assemble(vec![frame(Channels::Rgba, vec![0; 4], 50)], 0).unwrap();
        assert_eq!(one.first().delay_ms(), 0);
        assert_eq!(Image::assemble(Vec::new(), 0), Err(LayoutError::NoFrames));
    }
}
