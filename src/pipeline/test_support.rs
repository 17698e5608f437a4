//! Helpers shared by the pipeline's unit tests: a hand-built [`Layout`] and
//! reading pixels back, so that each stage's tests state only what they check.

use super::Image;
use super::geometry::{Anchor, Dim, Layout, Region};

/// A layout taking `region` (anchored by `anchor`) of a `source` image and
/// resampling it to `resize`, without a canvas.
pub fn layout(source: (u32, u32), region: (f64, f64), anchor: Anchor, resize: (u32, u32)) -> Layout {
    Layout {
        source: Dim {
            width: source.0,
            height: source.1,
        },
        region: Region {
            width: region.0,
            height: region.1,
            anchor,
        },
        resize: Dim {
            width: resize.0,
            height: resize.1,
        },
        canvas: None,
    }
}

/// The samples of the pixel at (`x`, `y`) of the first frame.
pub fn pixel(image: &Image, x: u32, y: u32) -> Vec<u8> {
    let n = image.channels().count();
    let at = (y as usize * image.width() as usize + x as usize) * n;
    image.frames()[0].data()[at..at + n].to_vec()
}

/// Whether two pixels differ by at most `tol` in every sample.
pub fn close(a: &[u8], b: &[u8], tol: u8) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= tol)
}
