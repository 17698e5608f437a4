//! `ApiError`: every way a request can fail, and the one place a status code
//! is chosen (SPEC §4).
//!
//! Each module reports its own typed error; this file maps every variant to
//! a status and a stable `snake_case` code in exhaustive matches (no
//! wildcard, so a new variant cannot slip through unmapped). Server faults
//! never leak internal detail: their message is generic and the detail goes
//! to the log.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::fetch::FetchError;
use crate::options::OptionsError;
use crate::pipeline::PipelineError;
use crate::signing::SignatureError;
use crate::work::WorkError;

/// A failed request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Options(#[from] OptionsError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Work(#[from] WorkError),
    /// No `url` query parameter.
    #[error("missing `url` query parameter: call /{{transformation}}?url=<image url>")]
    MissingUrl,
    /// `url=` with nothing after it.
    #[error("the `url` query parameter is empty: give the address of the source image")]
    EmptyUrl,
    /// Path and query longer than `max_url_length`.
    #[error("the request URL is {length} characters long, over the limit of {max}")]
    UrlTooLong { length: usize, max: usize },
    /// A bug: the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What the client is told about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub status: StatusCode,
    pub code: &'static str,
}

impl ApiError {
    /// The status and stable code of this error.
    pub fn classify(&self) -> Classified {
        use StatusCode as S;
        let (status, code) = match self {
            ApiError::Options(e) => match e {
                OptionsError::UnknownToken { .. } => (S::BAD_REQUEST, "unknown_token"),
                OptionsError::InvalidValue { .. } => (S::BAD_REQUEST, "invalid_token"),
                OptionsError::Repeated { .. } => (S::BAD_REQUEST, "repeated_token"),
                OptionsError::TooManyTokens { .. } => (S::BAD_REQUEST, "too_many_tokens"),
                OptionsError::TooLarge { .. } => (S::BAD_REQUEST, "dimension_too_large"),
            },
            ApiError::Fetch(e) => match e {
                FetchError::InvalidUrl(_) => (S::BAD_REQUEST, "invalid_url"),
                FetchError::UnsupportedScheme(_) => (S::BAD_REQUEST, "unsupported_scheme"),
                FetchError::HostNotAllowed(_) => (S::FORBIDDEN, "source_not_allowed"),
                FetchError::PrivateAddress(_) => (S::FORBIDDEN, "private_address"),
                FetchError::PortNotAllowed(_) => (S::FORBIDDEN, "port_not_allowed"),
                FetchError::NotFound(_) => (S::NOT_FOUND, "source_not_found"),
                FetchError::UpstreamStatus(_) => (S::BAD_GATEWAY, "upstream_error"),
                FetchError::TooLarge { .. } => (S::PAYLOAD_TOO_LARGE, "source_too_large"),
                FetchError::Unreachable(_) => (S::BAD_GATEWAY, "upstream_unreachable"),
                FetchError::ClosedEarly { .. } => (S::BAD_GATEWAY, "upstream_closed_early"),
                FetchError::Tls(_) => (S::BAD_GATEWAY, "upstream_tls"),
                FetchError::TooManyRedirects(_) => (S::BAD_GATEWAY, "too_many_redirects"),
                FetchError::Timeout(_) => (S::GATEWAY_TIMEOUT, "upstream_timeout"),
            },
            ApiError::Pipeline(e) => match e {
                PipelineError::UnsupportedFormat => (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_format"),
                PipelineError::TooManyPixels { .. } => (S::UNPROCESSABLE_ENTITY, "source_too_many_pixels"),
                PipelineError::OutputTooLarge { .. } => (S::UNPROCESSABLE_ENTITY, "output_too_large"),
                PipelineError::Unprocessable(_) => (S::UNPROCESSABLE_ENTITY, "unprocessable"),
                PipelineError::Corrupt(_) => (S::UNPROCESSABLE_ENTITY, "corrupt_image"),
                PipelineError::Encode(_) => (S::INTERNAL_SERVER_ERROR, "encode_failed"),
                PipelineError::DeadlineExceeded => (S::SERVICE_UNAVAILABLE, "processing_timeout"),
            },
            ApiError::Signature(e) => match e {
                SignatureError::Missing => (S::FORBIDDEN, "signature_missing"),
                SignatureError::Invalid => (S::FORBIDDEN, "signature_invalid"),
            },
            ApiError::Work(e) => match e {
                WorkError::Overloaded => (S::SERVICE_UNAVAILABLE, "overloaded"),
                WorkError::Panicked(_) => (S::INTERNAL_SERVER_ERROR, "internal_error"),
            },
            ApiError::MissingUrl => (S::BAD_REQUEST, "missing_url"),
            ApiError::EmptyUrl => (S::BAD_REQUEST, "missing_url"),
            ApiError::UrlTooLong { .. } => (S::URI_TOO_LONG, "url_too_long"),
            ApiError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal_error"),
        };
        Classified { status, code }
    }

    /// The sentence sent to the client: the error's own message for client
    /// and upstream faults, a generic one for our own.
    pub fn public_message(&self) -> String {
        if self.classify().status == StatusCode::INTERNAL_SERVER_ERROR {
            "the server failed to process this request; it has been logged".to_owned()
        } else {
            self.to_string()
        }
    }

    /// Seconds a client should wait before retrying, for 503s.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Work(WorkError::Overloaded) | ApiError::Pipeline(PipelineError::DeadlineExceeded) => {
                Some(Duration::from_secs(1))
            }
            _ => None,
        }
    }
}

/// Carried in the response's extensions so the request log can write the
/// error once, with its detail, at a level chosen by whose fault it was.
#[derive(Debug, Clone)]
pub struct LoggedError {
    pub code: &'static str,
    pub detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Classified { status, code } = self.classify();
        let body = serde_json::json!({
            "error": { "status": status.as_u16(), "code": code, "message": self.public_message() }
        });
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(after) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
        }
        response.extensions_mut().insert(LoggedError {
            code,
            detail: self.to_string(),
        });
        response
    }
}
