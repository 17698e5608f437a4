//! The sRGB transfer function (IEC 61966-2-1) and its 8-bit tables, shared by
//! the stages that work in linear light (the resampler, grayscale).
//!
//! Decoding an 8-bit value is one table lookup ([`TO_LINEAR`]); encoding
//! linear light back to 8 bits is exact, to the nearest sRGB value
//! ([`FROM_LINEAR`]), so a round trip never drifts by a level.

use std::sync::LazyLock;

/// The sRGB decoding function, `v` in [0, 1].
pub fn to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// The sRGB encoding function, `v` in [0, 1].
pub fn from_linear(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// Each 8-bit sRGB value in linear light.
pub static TO_LINEAR: LazyLock<[f32; 256]> =
    LazyLock::new(|| std::array::from_fn(|i| to_linear(i as f64 / 255.0) as f32));

/// Linear light to 8-bit sRGB, exactly, built once.
pub static FROM_LINEAR: LazyLock<FromLinear> = LazyLock::new(FromLinear::new);

/// Buckets of linear light in [`FromLinear`]: narrower than the smallest
/// 8-bit sRGB step in linear light (1/3295, next to black), so that at most
/// one rounding boundary falls in each.
const LINEAR_BUCKETS: usize = 4096;

/// Linear light to the nearest 8-bit sRGB value, exactly: the value at the
/// bottom of each bucket, and the boundaries between neighbouring values.
pub struct FromLinear {
    /// The sRGB value of linear `i / LINEAR_BUCKETS` (one more for 1.0).
    base: Box<[u8]>,
    /// `bound[k]`: the linear light where rounding goes from `k` to `k + 1`
    /// (infinite for 255).
    bound: [f32; 256],
}

impl FromLinear {
    fn new() -> Self {
        let bound = std::array::from_fn(|k| {
            if k < 255 {
                to_linear((k as f64 + 0.5) / 255.0) as f32
            } else {
                f32::INFINITY
            }
        });
        let base = (0..=LINEAR_BUCKETS)
            .map(|i| {
                let v = (i as f64 / LINEAR_BUCKETS as f64) as f32;
                bound.iter().take_while(|&&b| v >= b).count() as u8
            })
            .collect();
        FromLinear { base, bound }
    }

    /// The 8-bit sRGB value nearest to linear `v` (clamped to [0, 1]).
    #[inline]
    pub fn encode(&self, v: f32) -> u8 {
        let v = v.clamp(0.0, 1.0);
        // NaN (never produced) lands in bucket 0 through the saturating cast.
        let bucket = ((v * LINEAR_BUCKETS as f32) as usize).min(LINEAR_BUCKETS);
        let k = self.base[bucket];
        k + u8::from(v >= self.bound[usize::from(k)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_light_is_encoded_to_the_nearest_srgb_value() {
        let table = FromLinear::new();
        for i in 0..=200_000u32 {
            let v = i as f64 / 200_000.0;
            let exact = (from_linear(v) * 255.0).round() as u8;
            let got = table.encode(v as f32);
            // f32 may sit on the other side of a boundary the f64 value is
            // within 1e-7 of.
            let boundary = (from_linear(v) * 255.0).fract();
            if (boundary - 0.5).abs() > 1e-4 {
                assert_eq!(got, exact, "linear {v}");
            }
        }
        for k in 0..=255u8 {
            assert_eq!(table.encode(TO_LINEAR[usize::from(k)]), k);
        }
        assert_eq!(table.encode(-0.5), 0);
        assert_eq!(table.encode(1.5), 255);
        assert_eq!(table.encode(f32::NAN), 0);
    }
}
