//! The request log: one line per request (method, path, status, bytes,
//! duration, request id), errors included once with their detail, at a level
//! set by whose fault it was: client faults at info, upstream faults at warn,
//! our own at error. Also counts requests for the metrics and echoes
//! `X-Request-Id`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::error::LoggedError;
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
    let bytes = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let ms = elapsed.as_secs_f64() * 1000.0;
    match response.extensions().get::<LoggedError>() {
        None => tracing::info!(request_id = %id, %method, %uri, status, bytes, ms, "request"),
        Some(e) if status >= 500 && status != 503 && status != 504 && e.code != "upstream_error" => {
            tracing::error!(request_id = %id, %method, %uri, status, bytes, ms, code = e.code, error = %e.detail, "request failed")
        }
        Some(e) if status >= 500 => {
            tracing::warn!(request_id = %id, %method, %uri, status, bytes, ms, code = e.code, error = %e.detail, "request failed")
        }
        Some(e) => {
            tracing::info!(request_id = %id, %method, %uri, status, bytes, ms, code = e.code, error = %e.detail, "request refused")
        }
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
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
