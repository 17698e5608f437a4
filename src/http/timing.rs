//! `Server-Timing`: where the time of an image response went, in the
//! header browsers show in their developer tools (and expose to same-origin
//! pages as `PerformanceResourceTiming.serverTiming`).
//!
//! The figures are the ones the stage histograms record
//! (`resizer_stage_duration_seconds`): the queue wait for a CPU slot, the
//! source read, decode, transform and encode, each measured once by the run
//! and kept with its result. The header names stages and durations only:
//! never a host, a path, a key or a signature, so it can pass through Nginx
//! or a CDN to anyone. (A shared cache in front replays the header of the
//! response it stored: the figures are then those of the run that filled it.)

use std::fmt::Write as _;
use std::time::Duration;

use axum::http::HeaderValue;

use crate::cache::Outcome;

/// What one run of fetch and pipeline spent, stage by stage.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Waiting for a CPU slot (`None`: the run never reached the pool,
    /// which only happens in tests of this module).
    pub queue: Option<Duration>,
    /// Reading the source.
    pub fetch: SourceRead,
    pub decode: Option<Duration>,
    /// The decode came from the decode cache (`decode;desc=cached`).
    pub decode_cached: bool,
    pub transform: Option<Duration>,
    pub encode: Option<Duration>,
}

/// How the run got its source bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum SourceRead {
    /// Not known (the run failed before, or never asked).
    #[default]
    Unknown,
    /// From the source cache: nothing was read from the storage.
    Cached,
    /// Read (or revalidated) from the storage in this long; a run that
    /// joined a read in flight reports that read.
    Read(Duration),
}

/// How the result cache answered a request: `cache;desc=...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    /// From the result cache: no stage ran for this request.
    Hit,
    /// This request ran the stages.
    Miss,
    /// An identical request in flight ran them; this one waited for it.
    Coalesced,
}

impl From<Outcome> for CacheState {
    fn from(outcome: Outcome) -> CacheState {
        match outcome {
            Outcome::Hit => CacheState::Hit,
            Outcome::Ran => CacheState::Miss,
            Outcome::Joined => CacheState::Coalesced,
        }
    }
}

impl CacheState {
    fn name(self) -> &'static str {
        match self {
            CacheState::Hit => "hit",
            CacheState::Miss => "miss",
            CacheState::Coalesced => "coalesced",
        }
    }
}

/// A duration in milliseconds as `Server-Timing` writes it: three decimals
/// at most (microseconds), trailing zeros dropped.
fn millis(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64() * 1000.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// The header's value: the stages of the run in the order they happen,
/// then the cache state. A result-cache hit names only `cache`: no stage
/// ran for it, and the stored figures are those of another request.
pub fn server_timing(cache: CacheState, times: &StageTimes) -> HeaderValue {
    let mut out = String::new();
    if cache != CacheState::Hit {
        let fetch = match times.fetch {
            SourceRead::Unknown => None,
            SourceRead::Cached => Some((Duration::ZERO, ";desc=cached")),
            SourceRead::Read(duration) => Some((duration, "")),
        };
        let stages = [
            ("queue", times.queue.map(|d| (d, ""))),
            ("fetch", fetch),
            (
                "decode",
                times
                    .decode
                    .map(|d| (d, if times.decode_cached { ";desc=cached" } else { "" })),
            ),
            ("transform", times.transform.map(|d| (d, ""))),
            ("encode", times.encode.map(|d| (d, ""))),
        ];
        for (name, figure) in stages {
            if let Some((duration, desc)) = figure {
                let _ = write!(out, "{name};dur={}{desc}, ", millis(duration));
            }
        }
    }
    let _ = write!(out, "cache;desc={}", cache.name());
    // Only ASCII letters, digits and punctuation were written.
    HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static("cache"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_micros(n))
    }

    #[test]
    fn a_miss_names_every_stage_in_order() {
        let times = StageTimes {
            queue: ms(0),
            fetch: SourceRead::Read(Duration::from_micros(12_345)),
            decode: ms(2_500),
            decode_cached: false,
            transform: ms(1_000),
            encode: ms(3_001),
        };
        assert_eq!(
            server_timing(CacheState::Miss, &times),
            "queue;dur=0, fetch;dur=12.345, decode;dur=2.5, transform;dur=1, encode;dur=3.001, cache;desc=miss"
        );
        assert_eq!(
            server_timing(CacheState::Coalesced, &times)
                .to_str()
                .unwrap()
                .rsplit(", ")
                .next(),
            Some("cache;desc=coalesced")
        );
    }

    #[test]
    fn a_hit_names_only_the_cache() {
        let times = StageTimes {
            queue: ms(5),
            fetch: SourceRead::Cached,
            ..StageTimes::default()
        };
        assert_eq!(server_timing(CacheState::Hit, &times), "cache;desc=hit");
        assert_eq!(
            server_timing(CacheState::Miss, &times),
            "queue;dur=0.005, fetch;dur=0;desc=cached, cache;desc=miss"
        );
    }

    #[test]
    fn a_decode_from_the_decode_cache_says_so() {
        let times = StageTimes {
            queue: ms(0),
            fetch: SourceRead::Cached,
            decode: ms(20),
            decode_cached: true,
            transform: ms(1_000),
            encode: ms(2_000),
        };
        assert_eq!(
            server_timing(CacheState::Miss, &times),
            "queue;dur=0, fetch;dur=0;desc=cached, decode;dur=0.02;desc=cached, transform;dur=1, encode;dur=2, cache;desc=miss"
        );
    }

    #[test]
    fn millis_are_short() {
        assert_eq!(millis(Duration::ZERO), "0");
        assert_eq!(millis(Duration::from_nanos(400)), "0");
        assert_eq!(millis(Duration::from_millis(1500)), "1500");
        assert_eq!(millis(Duration::from_micros(1_230)), "1.23");
    }
}
