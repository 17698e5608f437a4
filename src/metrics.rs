//! Metrics: every Prometheus metric the service exports, registered in one
//! place so names and help texts are easy to find and never drift.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::pipeline::decoded::DecodeReuse;

/// Label: the HTTP status of a response.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

/// Label: a stage of the request (queue, fetch, decode, transform, encode).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: &'static str,
}

/// Label: which cache (result or source).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabel {
    pub cache: &'static str,
}

/// Label: the kind of a source (`remote`, `http`, `file`, `s3`).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: &'static str,
}

/// Label: how a stale cached source was revalidated (`unchanged`: the
/// storage confirmed the copy, nothing downloaded; `changed`: downloaded again).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RevalidationLabel {
    pub outcome: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s: thumbnails take milliseconds, slow origins seconds.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<StatusLabel, Counter>,
    pub request_duration: Histogram,
    pub stage_duration: Family<StageLabel, Histogram, fn() -> Histogram>,
    pub cache_hits: Family<CacheLabel, Counter>,
    pub cache_misses: Family<CacheLabel, Counter>,
    /// Misses not stored: their key's first request under `cache_admission=second`.
    pub cache_unadmitted: Family<CacheLabel, Counter>,
    pub coalesced: Counter,
    pub queue_depth: Gauge,
    pub in_flight: Gauge,
    pub source_bytes: Family<SourceLabel, Counter>,
    pub fetch_duration: Family<SourceLabel, Histogram, fn() -> Histogram>,
    pub response_bytes: Counter,
    pub revalidations: Family<RevalidationLabel, Counter>,
    /// Bytes the decode cache holds (sources and decodes), as last seen.
    pub decode_cache_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("resizer");
        let requests = Family::<StatusLabel, Counter>::default();
        registry.register("http_requests", "HTTP responses by status", requests.clone());
        let request_duration = latency_histogram();
        registry.register(
            "http_request_duration_seconds",
            "Time from request to response headers",
            request_duration.clone(),
        );
        let stage_duration = Family::<StageLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "stage_duration_seconds",
            "Time spent per stage: queue wait, fetch, decode, transform, encode",
            stage_duration.clone(),
        );
        let cache_hits = Family::<CacheLabel, Counter>::default();
        registry.register("cache_hits", "Cache hits by cache", cache_hits.clone());
        let cache_misses = Family::<CacheLabel, Counter>::default();
        registry.register("cache_misses", "Cache misses by cache", cache_misses.clone());
        let cache_unadmitted = Family::<CacheLabel, Counter>::default();
        registry.register(
            "cache_unadmitted",
            "Cache misses not stored, by cache: the first request for their key (cache_admission=second)",
            cache_unadmitted.clone(),
        );
        let coalesced = Counter::default();
        registry.register(
            "coalesced_requests",
            "Requests served by joining an identical request already in flight",
            coalesced.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Jobs waiting for a processing slot",
            queue_depth.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being answered",
            in_flight.clone(),
        );
        let source_bytes = Family::<SourceLabel, Counter>::default();
        registry.register(
            "source_bytes",
            "Bytes read from sources, by kind: remote (?url=), http, file, s3 (mounts)",
            source_bytes.clone(),
        );
        let fetch_duration = Family::<SourceLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "fetch_duration_seconds",
            "Time to read a whole source, by kind: remote (?url=), http, file, s3 (mounts)",
            fetch_duration.clone(),
        );
        let response_bytes = Counter::default();
        registry.register(
            "response_bytes",
            "Image bytes sent to clients",
            response_bytes.clone(),
        );
        let revalidations = Family::<RevalidationLabel, Counter>::default();
        registry.register(
            "source_revalidations",
            "Stale cached sources checked with their storage: unchanged (kept, not downloaded) or changed",
            revalidations.clone(),
        );
        let decode_cache_bytes = Gauge::default();
        registry.register(
            "decode_cache_bytes",
            "Bytes held by the decode cache (decoded sources and the bytes they came from)",
            decode_cache_bytes.clone(),
        );
        Metrics {
            decode_cache_bytes,
            registry,
            requests,
            request_duration,
            stage_duration,
            cache_hits,
            cache_misses,
            cache_unadmitted,
            coalesced,
            queue_depth,
            in_flight,
            source_bytes,
            fetch_duration,
            response_bytes,
            revalidations,
        }
    }

    /// Records how long a stage took.
    pub fn observe_stage(&self, stage: &'static str, duration: std::time::Duration) {
        self.stage_duration
            .get_or_create(&StageLabel { stage })
            .observe(duration.as_secs_f64());
    }

    /// Records whether the decode cache served a run (`cache_hits` /
    /// `cache_misses` with `cache="decode"`, and `cache_unadmitted` for a
    /// miss the cache did not keep: `admitted` is false); `held` is what the
    /// cache weighs after a miss, read only then.
    pub fn observe_decode_reuse(
        &self,
        reuse: Option<DecodeReuse>,
        admitted: bool,
        held: impl FnOnce() -> u64,
    ) {
        let label = CacheLabel { cache: "decode" };
        match reuse {
            Some(DecodeReuse::Hit) => {
                self.cache_hits.get_or_create(&label).inc();
            }
            Some(DecodeReuse::Miss) => {
                self.cache_misses.get_or_create(&label).inc();
                if !admitted {
                    self.cache_unadmitted.get_or_create(&label).inc();
                }
                self.decode_cache_bytes
                    .set(i64::try_from(held()).unwrap_or(i64::MAX));
            }
            None => {}
        }
    }

    /// Records a source read whole: its kind, bytes and duration.
    pub fn observe_fetch(&self, source: &'static str, bytes: usize, duration: std::time::Duration) {
        let label = SourceLabel { source };
        self.source_bytes.get_or_create(&label).inc_by(bytes as u64);
        self.fetch_duration
            .get_or_create(&label)
            .observe(duration.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_was_recorded() {
        let metrics = Metrics::new();
        metrics.requests.get_or_create(&StatusLabel { status: 200 }).inc();
        metrics.observe_stage("decode", std::time::Duration::from_millis(3));
        let text = metrics.render();
        assert!(
            text.contains("resizer_http_requests_total{status=\"200\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("resizer_stage_duration_seconds_count{stage=\"decode\"} 1"),
            "{text}"
        );
        metrics.observe_fetch("s3", 1234, std::time::Duration::from_millis(5));
        let text = metrics.render();
        assert!(
            text.contains("resizer_source_bytes_total{source=\"s3\"} 1234"),
            "{text}"
        );
        assert!(
            text.contains("resizer_fetch_duration_seconds_count{source=\"s3\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
