//! Fetch: the only code that opens outbound connections.
//!
//! A [`SourceUrl`] exists only after the URL was parsed and its scheme, port,
//! host pattern and (for IP literals) address were checked by the [`guard`].
//! The [`Fetcher`] then downloads it with a client whose DNS resolver is the
//! guard itself ([`resolve`]), so the address actually connected to is the
//! address that was checked, on every redirect hop, and whose redirect policy
//! runs the same static checks on each hop. The body is capped while it
//! streams, and the whole download runs under one deadline.
//!
//! Refusals raised inside the client (resolver, redirect policy) travel as
//! boxed [`FetchError`]s in the client's error chain and are recovered by
//! downcasting, so every failure reaches the caller as a precise variant.

pub mod guard;
mod resolve;

#[cfg(test)]
mod tests;

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use url::Url;

pub use guard::{AddressClass, Guard, classify};

/// Sent with every request, so origins can tell who is fetching.
const USER_AGENT: &str = concat!("resizer/", env!("CARGO_PKG_VERSION"));

/// What we ask origins for: images first, anything else accepted (the
/// pipeline sniffs the format from the bytes, not from the content type).
const ACCEPT: &str = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8,*/*;q=0.5";

/// Largest buffer reserved up front from a Content-Length. A header is a
/// claim, not a delivery: memory beyond this grows only as bytes arrive.
const MAX_PREALLOCATION: u64 = 4 << 20;

/// Longest piece of a rejected URL quoted back in an error message.
const MAX_QUOTED_URL: usize = 100;

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

/// What identifies one version of a source, kept beside its bytes in the
/// source cache so that a stale copy is revalidated (a conditional request,
/// a `stat`) instead of downloaded again. Each storage fills what it has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validator {
    /// The `ETag` an HTTP origin or an S3 storage sent, as sent.
    pub etag: Option<String>,
    /// The `Last-Modified` an HTTP origin sent, as sent (used only when
    /// there is no `ETag`).
    pub last_modified: Option<String>,
    /// A file's size, modification time (ns since the epoch) and inode.
    pub file_stamp: Option<(u64, i128, u64)>,
}

impl Validator {
    /// Whether there is anything to revalidate with.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none() && self.file_stamp.is_none()
    }
}

/// A whole source and the validator of its version.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Bytes,
    pub validator: Validator,
}

/// The answer to a download that may be conditional.
#[derive(Debug, Clone)]
pub enum Fetch {
    /// The storage says the version named by the validator given is
    /// still current (HTTP or S3 `304`, an unchanged file): nothing was
    /// downloaded. Only ever the answer when a validator was given.
    Unchanged,
    /// The whole source, downloaded.
    Fresh(Fetched),
}

impl Fetch {
    /// The bytes of a fresh download; `Unchanged` when no validator was
    /// given is a storage that broke the protocol.
    pub fn into_bytes(self) -> Result<Bytes, FetchError> {
        match self {
            Fetch::Fresh(fetched) => Ok(fetched.bytes),
            Fetch::Unchanged => Err(FetchError::UpstreamStatus(304)),
        }
    }
}

/// A source URL that passed the guard's static checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceUrl(Url);

impl SourceUrl {
    /// Parses and checks `raw` (already percent-decoded from the query):
    /// an absolute http(s) URL without credentials, whose host matches
    /// `allowed_sources`, whose port is allowed, and which, if its host is an
    /// IP literal, points at a permitted address.
    pub fn parse(raw: &str, guard: &Guard) -> Result<SourceUrl, FetchError> {
        let url = Url::parse(raw.trim()).map_err(|e| explain_parse_error(raw, e))?;
        guard.check_url(&url)?;
        Ok(SourceUrl(url))
    }

    /// A URL built by an HTTP mount from its own origin and a checked key;
    /// the mount's fetcher, whose guard trusts that origin, checks it again
    /// before the download.
    pub(crate) fn of_mount(url: Url) -> SourceUrl {
        SourceUrl(url)
    }

    /// The URL as it will be requested (normalised by the parser).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A message a user can act on, quoting (the start of) what they sent.
fn explain_parse_error(raw: &str, error: url::ParseError) -> FetchError {
    let quoted: String = raw.chars().take(MAX_QUOTED_URL).collect();
    let ellipsis = if raw.chars().count() > MAX_QUOTED_URL {
        "…"
    } else {
        ""
    };
    let why = match error {
        url::ParseError::RelativeUrlWithoutBase => {
            "it is not an absolute URL; give the full address, e.g. https://example.com/image.jpg".to_owned()
        }
        url::ParseError::EmptyHost => "it has no host".to_owned(),
        url::ParseError::InvalidPort => "its port is not a number within 0..=65535".to_owned(),
        url::ParseError::InvalidIpv4Address | url::ParseError::InvalidIpv6Address => {
            "its host is not a valid IP address".to_owned()
        }
        other => other.to_string(),
    };
    FetchError::InvalidUrl(format!("`{quoted}{ellipsis}`: {why}"))
}

/// Downloads sources.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// The client: guarded resolver, guarded redirects, rustls, no proxy.
    client: reqwest::Client,
    /// The policy, checked again before each download in case the URL was
    /// parsed under another one.
    guard: Arc<Guard>,
    /// Byte cap and deadlines applied to every download.
    limits: FetchLimits,
}

impl Fetcher {
    /// A fetcher whose every connection and redirect passes `guard`.
    pub fn new(guard: Guard, limits: FetchLimits) -> Result<Fetcher, FetchError> {
        let guard = Arc::new(guard);
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            // A proxy would resolve the name itself, out of the guard's sight.
            .no_proxy()
            .dns_resolver(Arc::new(resolve::GuardedResolver::new(Arc::clone(&guard))))
            .redirect(redirect_policy(Arc::clone(&guard), limits.max_redirects))
            .connect_timeout(limits.connect_timeout)
            .user_agent(USER_AGENT)
            // The source URL may carry a signature or token; never pass it on.
            .referer(false)
            .build()
            .map_err(|e| FetchError::Unreachable(format!("the HTTP client could not be built: {e}")))?;
        Ok(Fetcher {
            client,
            guard,
            limits,
        })
    }

    /// Downloads the whole body, within the limits.
    pub async fn fetch(&self, url: &SourceUrl) -> Result<Bytes, FetchError> {
        self.fetch_if_changed(url, None).await?.into_bytes()
    }

    /// Downloads the whole body, unless `previous` names a version the
    /// origin says is still current (`304 Not Modified` to `If-None-Match`
    /// or, without an ETag, `If-Modified-Since`).
    pub async fn fetch_if_changed(
        &self,
        url: &SourceUrl,
        previous: Option<&Validator>,
    ) -> Result<Fetch, FetchError> {
        self.guard.check_url(&url.0)?;
        let deadline = tokio::time::Instant::now() + self.limits.download_timeout;
        self.download(&url.0, previous, deadline).await
    }

    /// Request, status, Content-Length, then the body, capped as it streams;
    /// the answer and the whole body both by `deadline`, so that a timeout
    /// says which of the two the origin failed to deliver.
    async fn download(
        &self,
        url: &Url,
        previous: Option<&Validator>,
        deadline: tokio::time::Instant,
    ) -> Result<Fetch, FetchError> {
        let mut request = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, ACCEPT);
        if let Some(previous) = previous {
            if let Some(etag) = &previous.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            } else if let Some(date) = &previous.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
            }
        }
        let request = request.send();
        let mut response = tokio::time::timeout_at(deadline, request)
            .await
            .map_err(|_| {
                FetchError::Timeout(format!(
                    "the origin did not answer within {}",
                    seconds(self.limits.download_timeout)
                ))
            })?
            .map_err(|e| self.error_from_reqwest(&e))?;
        let status = response.status();
        let conditional = previous.is_some_and(|p| p.etag.is_some() || p.last_modified.is_some());
        if status == reqwest::StatusCode::NOT_MODIFIED && conditional {
            return Ok(Fetch::Unchanged);
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let validator = Validator {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
            file_stamp: None,
        };
        if !status.is_success() {
            return Err(match status.as_u16() {
                code @ (404 | 410) => FetchError::NotFound(code),
                code => FetchError::UpstreamStatus(code),
            });
        }
        let limit = self.limits.max_bytes;
        let announced = response.content_length();
        if announced.is_some_and(|length| length > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let reserve = announced.unwrap_or(0).min(MAX_PREALLOCATION).min(limit);
        let mut body = BytesMut::with_capacity(usize::try_from(reserve).unwrap_or(0));
        loop {
            let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
                Err(_) => {
                    return Err(FetchError::Timeout(format!(
                        "the origin did not send the whole source within {} ({} bytes arrived)",
                        seconds(self.limits.download_timeout),
                        body.len()
                    )));
                }
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => break,
                // The connection ended inside the body: fewer bytes than
                // Content-Length, an unfinished chunked body, or a reset.
                // (The client reports a body's failure as a decode error.)
                Ok(Err(e)) if (e.is_body() || e.is_decode()) && !e.is_timeout() => {
                    return Err(FetchError::ClosedEarly {
                        received: body.len() as u64,
                        expected: announced,
                    });
                }
                Ok(Err(e)) => return Err(self.error_from_reqwest(&e)),
            };
            let total = (body.len() as u64).saturating_add(chunk.len() as u64);
            if total > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        // The client already refuses a short body; this keeps the promise
        // even if it one day does not.
        if let Some(expected) = announced.filter(|&n| (body.len() as u64) < n) {
            return Err(FetchError::ClosedEarly {
                received: body.len() as u64,
                expected: Some(expected),
            });
        }
        Ok(Fetch::Fresh(Fetched {
            bytes: body.freeze(),
            validator,
        }))
    }

    /// The precise [`FetchError`] behind a client error.
    fn error_from_reqwest(&self, error: &reqwest::Error) -> FetchError {
        // Our own refusals, raised in the resolver or the redirect policy.
        if let Some(own) = find_in_chain::<FetchError>(error) {
            return own.clone();
        }
        if error.is_timeout() {
            return FetchError::Timeout(if error.is_connect() {
                format!(
                    "no connection to the origin within {}",
                    seconds(self.limits.connect_timeout)
                )
            } else {
                format!(
                    "the origin did not answer within {}",
                    seconds(self.limits.download_timeout)
                )
            });
        }
        if let Some(tls) = find_in_chain::<rustls::Error>(error) {
            return FetchError::Tls(tls.to_string());
        }
        if error.is_builder() {
            return FetchError::InvalidUrl(root_cause(error));
        }
        FetchError::Unreachable(root_cause(error))
    }
}

/// The redirect policy: at most `max_redirects` hops, each one passing the
/// guard's static checks (the resolver judges its addresses when connecting).
fn redirect_policy(guard: Arc<Guard>, max_redirects: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        match check_redirect(&guard, attempt.url(), attempt.previous().len(), max_redirects) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// Whether a redirect to `next` may be followed, when `requested` URLs
/// (the original and every hop so far) were already requested.
fn check_redirect(
    guard: &Guard,
    next: &Url,
    requested: usize,
    max_redirects: usize,
) -> Result<(), FetchError> {
    if requested > max_redirects {
        return Err(FetchError::TooManyRedirects(max_redirects));
    }
    guard.check_url(next)
}

/// The first `T` in an error's source chain. An `io::Error`'s `source()`
/// skips the error it wraps (where TLS and connector layers put theirs, at
/// times one `io::Error` inside another), so the walk steps into it instead.
pub(crate) fn find_in_chain<'e, T: StdError + 'static>(error: &'e (dyn StdError + 'static)) -> Option<&'e T> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        next = match current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(wrapped) => Some(wrapped as &(dyn StdError + 'static)),
            None => current.source(),
        };
    }
    None
}

/// The innermost message of an error chain: the part that says what happened
/// (e.g. "Connection refused") without the client's wrapping.
pub(crate) fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// `10 s`, `0.5 s`: a deadline as a sentence states it.
fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
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
    /// An HTTP mount's origin redirected to its own host on another port:
    /// the mount trusts one port of its host (the resolver skips the
    /// address check for that host), never the host's other services.
    #[error(
        "the mount's origin redirected to its own host on port {0}: only the mount's own port \
         (and the http/https upgrade between ports 80 and 443) is trusted"
    )]
    OtherPortOfMount(u16),
    /// The origin answered 404 or 410.
    #[error("the source was not found (origin answered {0})")]
    NotFound(u16),
    /// A mount has no object under the requested key (a missing file, a
    /// file that is not a regular file or lies outside the folder, a
    /// missing S3 object); the message names the key.
    #[error("the source was not found: {0}")]
    ObjectNotFound(String),
    /// The storage refused the service's credentials or permissions; the
    /// message carries the storage's own code, never a secret.
    #[error("the storage refused access: {0}")]
    Denied(String),
    /// Any other non-success status from the origin.
    #[error("the origin answered {0}")]
    UpstreamStatus(u16),
    /// The body is larger than `max_src_bytes`.
    #[error("the source is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// DNS failure, connection refused or reset before an answer.
    #[error("the origin could not be reached: {0}")]
    Unreachable(String),
    /// The origin answered, then the connection ended before the body did
    /// (shorter than its Content-Length, or an unfinished chunked body).
    #[error(
        "the origin closed the connection early: {received} bytes of {} arrived",
        expected.map_or_else(|| "an unfinished body".to_owned(), |n| n.to_string())
    )]
    ClosedEarly { received: u64, expected: Option<u64> },
    /// A TLS handshake or certificate failure.
    #[error("TLS with the origin failed: {0}")]
    Tls(String),
    /// More redirects than `max_redirects`.
    #[error("the origin redirected more than {0} times")]
    TooManyRedirects(usize),
    /// Connect, headers or body past their deadline; the message names
    /// which and the deadline.
    #[error("{0}")]
    Timeout(String),
}
