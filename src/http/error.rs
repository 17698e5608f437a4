//! `ApiError`: every way a request can fail, and the one place a status code
//! is chosen (README, "Errors").
//!
//! Each module reports its own typed error; this file maps every variant to
//! a status, a stable `snake_case` code and a [`Fault`] (whose fault it was)
//! in one exhaustive match with no wildcard, so a new variant cannot slip
//! through unmapped. Every error, 404 and 405 included, is the same JSON
//! body. Our own faults never leak internal detail: their message is
//! generic and the detail goes to the log.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::fetch::FetchError;
use crate::options::OptionsError;
use crate::pipeline::PipelineError;
use crate::signing::SignatureError;
use crate::source::KeyError;
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
    /// The key of a mount request could leave the mount or is malformed.
    #[error(transparent)]
    InvalidKey(#[from] KeyError),
    /// A mount path naming a mount that is not configured.
    #[error(
        "no mount named `{0}`: the first path segment, or the second after a transformation, names a configured mount"
    )]
    UnknownMount(String),
    /// `remote_urls` is off and the request has a `url`.
    #[error("this server serves its own mounts only: `?url=` sources are disabled (remote_urls=off)")]
    RemoteUrlsDisabled,
    /// No `url` query parameter.
    #[error("missing `url` query parameter: call /{{transformation}}?url=<image url>")]
    MissingUrl,
    /// `url=` with nothing after it.
    #[error("the `url` query parameter is empty: give the address of the source image")]
    EmptyUrl,
    /// Path and query longer than `max_url_length`.
    #[error("the request URL is {length} characters long, over the limit of {max}")]
    UrlTooLong { length: usize, max: usize },
    /// No route for this path.
    #[error("no such endpoint `{0}`: use /health or /{{transformation}}?url=<image url>")]
    NotFound(String),
    /// A route that exists, asked with a method it does not answer.
    #[error("method {0} is not allowed here: use GET or HEAD")]
    MethodNotAllowed(String),
    /// A bug: the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// A Cloudinary path naming another cloud than `cloudinary_cloud_name`.
    #[error("no cloud named `{0}` here: this server answers for its configured cloud name only")]
    UnknownCloud(String),
    /// `/image/upload/...` without `cloudinary_upload_mount`.
    #[error(
        "`image/upload` URLs are not served: set cloudinary_upload_mount to the mount holding the public IDs"
    )]
    UploadMountNotSet,
    /// No key tried for a public ID is in the upload mount.
    #[error("public ID `{id}` not found in mount `{mount}`: tried {}", tried.join(", "))]
    PublicIdNotFound {
        id: String,
        mount: String,
        tried: Vec<String>,
    },
    /// The image of a layer (`l_fetch:`) was not found at its origin.
    #[error("the image of layer `{0}` was not found (its origin answered 404 or 410)")]
    LayerNotFound(String),
    /// `strict_transformations` is on and a token is not `t_`.
    #[error("`{0}`: this server runs named transformations only (t_{{name}})")]
    NamedTransformationRequired(String),
}

/// Whose fault an error was. It sets the level of the request log line and
/// whether the error's own message reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request, or the source it names, cannot be served as asked
    /// (every 4xx): logged at info, the message tells the client what to fix.
    Client,
    /// The origin failed: unreachable, bad TLS, a status we cannot use,
    /// too slow, too many redirects (502, 504): logged at warn.
    Upstream,
    /// The service is at capacity: the queue is full or the processing
    /// deadline passed (503 with `Retry-After`): logged at warn, since
    /// neither the client nor the code is at fault and a retry may succeed.
    Busy,
    /// A bug (500): logged at error with its detail, never sent.
    Server,
}

/// What the client is told about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub status: StatusCode,
    pub code: &'static str,
    pub fault: Fault,
}

impl ApiError {
    /// The status, stable code and fault class of this error.
    pub fn classify(&self) -> Classified {
        use StatusCode as S;
        let (status, code) = self.status_and_code();
        let fault = match status {
            S::BAD_GATEWAY | S::GATEWAY_TIMEOUT => Fault::Upstream,
            S::SERVICE_UNAVAILABLE => Fault::Busy,
            s if s.is_server_error() => Fault::Server,
            _ => Fault::Client,
        };
        Classified { status, code, fault }
    }

    /// The one status map: every variant, no wildcard.
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            ApiError::Options(e) => match e {
                OptionsError::UnknownToken { .. } => (S::BAD_REQUEST, "unknown_token"),
                OptionsError::InvalidValue { .. } => (S::BAD_REQUEST, "invalid_token"),
                OptionsError::Repeated { .. } => (S::BAD_REQUEST, "repeated_token"),
                OptionsError::TooManyTokens { .. } => (S::BAD_REQUEST, "too_many_tokens"),
                OptionsError::TooLarge { .. } => (S::BAD_REQUEST, "dimension_too_large"),
                OptionsError::RepeatedParameter(_) => (S::BAD_REQUEST, "repeated_parameter"),
                OptionsError::UnknownPreset { .. } => (S::BAD_REQUEST, "unknown_preset"),
            },
            ApiError::Fetch(e) => match e {
                FetchError::InvalidUrl(_) => (S::BAD_REQUEST, "invalid_url"),
                FetchError::UnsupportedScheme(_) => (S::BAD_REQUEST, "unsupported_scheme"),
                FetchError::HostNotAllowed(_) => (S::FORBIDDEN, "source_not_allowed"),
                FetchError::PrivateAddress(_) => (S::FORBIDDEN, "private_address"),
                FetchError::PortNotAllowed(_) => (S::FORBIDDEN, "port_not_allowed"),
                FetchError::OtherPortOfMount(_) => (S::FORBIDDEN, "port_not_allowed"),
                FetchError::NotFound(_) => (S::NOT_FOUND, "source_not_found"),
                FetchError::ObjectNotFound(_) => (S::NOT_FOUND, "source_not_found"),
                FetchError::Denied(_) => (S::BAD_GATEWAY, "upstream_denied"),
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
                PipelineError::NotYetSupported(_) => (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_format"),
                PipelineError::TooManyPixels { .. } => (S::UNPROCESSABLE_ENTITY, "source_too_many_pixels"),
                PipelineError::OutputTooLarge { .. } => (S::UNPROCESSABLE_ENTITY, "output_too_large"),
                PipelineError::Unprocessable(_) => (S::UNPROCESSABLE_ENTITY, "unprocessable"),
                PipelineError::Corrupt(_) => (S::UNPROCESSABLE_ENTITY, "corrupt_image"),
                PipelineError::Encode(_) => (S::INTERNAL_SERVER_ERROR, "encode_failed"),
                PipelineError::Layout(_) => (S::INTERNAL_SERVER_ERROR, "internal_error"),
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
            ApiError::InvalidKey(_) => (S::BAD_REQUEST, "invalid_key"),
            ApiError::UnknownMount(_) => (S::NOT_FOUND, "unknown_mount"),
            ApiError::RemoteUrlsDisabled => (S::FORBIDDEN, "remote_urls_disabled"),
            ApiError::MissingUrl => (S::BAD_REQUEST, "missing_url"),
            ApiError::EmptyUrl => (S::BAD_REQUEST, "missing_url"),
            ApiError::UrlTooLong { .. } => (S::URI_TOO_LONG, "url_too_long"),
            ApiError::NotFound(_) => (S::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (S::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal_error"),
            ApiError::UnknownCloud(_) => (S::NOT_FOUND, "unknown_cloud"),
            ApiError::UploadMountNotSet => (S::NOT_FOUND, "upload_mount_not_set"),
            ApiError::PublicIdNotFound { .. } => (S::NOT_FOUND, "source_not_found"),
            ApiError::LayerNotFound(_) => (S::NOT_FOUND, "layer_not_found"),
            ApiError::NamedTransformationRequired(_) => (S::FORBIDDEN, "named_transformation_required"),
        }
    }

    /// The sentence sent to the client: the error's own message, except for
    /// our own faults (bugs), whose detail only the log gets.
    pub fn public_message(&self) -> String {
        match self.classify().fault {
            Fault::Server => "the server failed to process this request; it has been logged".to_owned(),
            Fault::Client | Fault::Upstream | Fault::Busy => self.to_string(),
        }
    }

    /// How long a client should wait before retrying: every 503 says.
    fn retry_after(&self) -> Option<Duration> {
        (self.classify().fault == Fault::Busy).then_some(RETRY_AFTER)
    }
}

/// `Retry-After` of a 503: a slot or the queue frees up within about a
/// second at the usual cost of an image.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Carried in the response's extensions so the request log can write the
/// error once, with its detail, at a level chosen by whose fault it was.
#[derive(Debug, Clone)]
pub struct LoggedError {
    pub code: &'static str,
    pub fault: Fault,
    pub detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Classified { status, code, fault } = self.classify();
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
            fault,
            detail: self.to_string(),
        });
        response
    }
}
