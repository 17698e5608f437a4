//! The request log: one line per request (method, path, status, `bytes` of
//! body actually sent, `ms` rounded to microseconds, request id), errors
//! included once with their detail, at a level set by whose fault it was
//! ([`Fault`]): client faults at info, upstream faults and a busy service at
//! warn, our own bugs at error. A mount request's line names the mount
//! (`mount`, `-` for any other request). Also counts requests for the
//! metrics and echoes `X-Request-Id`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::HttpBody;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::error::{Fault, LoggedError};
use super::handlers::MountName;
use crate::metrics::StatusLabel;

const REQUEST_ID: &str = "x-request-id";

/// Middleware: request id, metrics and the log line.
pub async fn requests(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    let method = request.method().clone();
    let uri = request.uri().clone();
    state.metrics.in_flight.inc();
    let mut response = next.run(request).await;
    state.metrics.in_flight.dec();

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state
        .metrics
        .requests
        .get_or_create(&StatusLabel { status })
        .inc();
    state.metrics.request_duration.observe(elapsed.as_secs_f64());
    let bytes = sent_bytes(&method, response.body().size_hint().exact());
    let ms = rounded_ms(elapsed);
    let mount = response
        .extensions()
        .get::<MountName>()
        .map_or("-", |m| m.0.as_str())
        .to_owned();
    match response.extensions().get::<LoggedError>() {
        None => tracing::info!(request_id = %id, %method, %uri, mount, status, bytes, ms, "request"),
        Some(e) => match e.fault {
            Fault::Client => {
                tracing::info!(request_id = %id, %method, %uri, mount, status, bytes, ms, code = e.code, error = %e.detail, "request refused")
            }
            Fault::Upstream | Fault::Busy => {
                tracing::warn!(request_id = %id, %method, %uri, mount, status, bytes, ms, code = e.code, error = %e.detail, "request failed")
            }
            Fault::Server => {
                tracing::error!(request_id = %id, %method, %uri, mount, status, bytes, ms, code = e.code, error = %e.detail, "request failed")
            }
        },
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Bytes of body sent: none for a HEAD (its `Content-Length` describes the
/// body a GET would get), else the body's exact length. Every body this
/// service writes is in memory, so its length is known; a streamed one
/// would count 0.
fn sent_bytes(method: &Method, body_length: Option<u64>) -> u64 {
    if method == Method::HEAD {
        0
    } else {
        body_length.unwrap_or(0)
    }
}

/// Milliseconds rounded to the microsecond: `0.027`, not `0.026993`.
fn rounded_ms(elapsed: std::time::Duration) -> f64 {
    (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// A short id unique within this process and unlikely to repeat across
/// restarts: start time mixed with a counter.
fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let start = *START.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:08x}{:08x}", (start >> 16) as u32, n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_are_rounded_to_the_microsecond() {
        assert_eq!(rounded_ms(Duration::from_nanos(26_993)).to_string(), "0.027");
        assert_eq!(
            rounded_ms(Duration::from_nanos(1_234_567_890)).to_string(),
            "1234.568"
        );
        assert_eq!(rounded_ms(Duration::ZERO).to_string(), "0");
    }

    #[test]
    fn a_head_sends_no_body() {
        assert_eq!(sent_bytes(&Method::HEAD, Some(5000)), 0);
        assert_eq!(sent_bytes(&Method::GET, Some(5000)), 5000);
        assert_eq!(sent_bytes(&Method::GET, Some(2)), 2);
    }
}
