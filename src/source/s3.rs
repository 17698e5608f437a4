//! S3 mounts: objects of a bucket under a prefix, read with `object_store`
//! (its SigV4 signer, credential chain and retries).
//!
//! Credentials are found the way every AWS tool finds them
//! (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, web
//! identity, instance metadata); they never appear in the configuration or
//! the log. The object path is the prefix followed by the checked key's
//! segments, each one a single path part, so a key can never name another
//! prefix or bucket. One GET is made: its answer tells the object's size
//! before the body is read, so an object over `max_src_bytes` is refused
//! without its download; the body is then read as a stream, capped. Throttling
//! and 5xx answers are retried with backoff by `object_store`, within the
//! download deadline.

use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::{Path, PathPart};
use object_store::{BackoffConfig, ClientOptions, GetOptions, ObjectStore, RetryConfig};

use super::{ObjectKey, S3Settings, check_size};
use crate::fetch::{Fetch, FetchError, FetchLimits, Fetched, Validator, find_in_chain, root_cause};

/// First wait before a retry of a throttled or failed request.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Longest wait between two retries: a download deadline of a few seconds
/// leaves room for several attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Most retries of one request; the download deadline usually ends them first.
const MAX_RETRIES: usize = 10;

/// Largest buffer reserved up front from an announced size.
const MAX_PREALLOCATION: u64 = 4 << 20;

/// An S3 mount.
#[derive(Debug)]
pub struct S3Mount {
    /// The client of this bucket.
    store: AmazonS3,
    /// Path parts every key is put under (empty: the bucket's root).
    prefix: Vec<String>,
    /// Byte cap and deadline of one download.
    limits: FetchLimits,
}

impl S3Mount {
    pub fn new(
        bucket: &str,
        prefix: &str,
        settings: &S3Settings,
        limits: FetchLimits,
    ) -> Result<S3Mount, String> {
        let mut client = ClientOptions::new()
            .with_connect_timeout(limits.connect_timeout)
            .with_timeout(limits.download_timeout);
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: FIRST_BACKOFF,
                    max_backoff: MAX_BACKOFF,
                    base: 2.0,
                },
                max_retries: MAX_RETRIES,
                // No retry starts after the download deadline; the deadline
                // around the whole read ends the one in progress.
                retry_timeout: limits.download_timeout,
            });
        if let Some(endpoint) = &settings.endpoint {
            if endpoint.starts_with("http://") {
                client = client.with_allow_http(true);
            }
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder
            .with_client_options(client)
            .build()
            .map_err(|e| format!("the S3 client could not be built: {e}"))?;
        Ok(S3Mount {
            store,
            prefix: prefix
                .split('/')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            limits,
        })
    }

    /// The object path of `key`: the prefix's parts, then one part per
    /// segment of the key (a part cannot hold a `/`).
    fn path_of(&self, key: &ObjectKey) -> Path {
        self.prefix
            .iter()
            .map(|p| PathPart::from(p.as_str()))
            .chain(key.segments().map(PathPart::from))
            .collect()
    }

    /// The object `key`, whole, within the limits.
    pub async fn fetch_if_changed(
        &self,
        key: &ObjectKey,
        previous: Option<&Validator>,
    ) -> Result<Fetch, FetchError> {
        let deadline = tokio::time::Instant::now() + self.limits.download_timeout;
        let path = self.path_of(key);
        let late = |what: &str| {
            FetchError::Timeout(format!(
                "the storage did not {what} within {} s",
                self.limits.download_timeout.as_secs_f64()
            ))
        };
        let options = GetOptions {
            if_none_match: previous.and_then(|v| v.etag.clone()),
            ..GetOptions::default()
        };
        let answer = match tokio::time::timeout_at(deadline, self.store.get_opts(&path, options))
            .await
            .map_err(|_| late("answer"))?
        {
            Err(object_store::Error::NotModified { .. }) if previous.is_some() => {
                return Ok(Fetch::Unchanged);
            }
            other => other.map_err(|e| error_from_store(key, &e))?,
        };
        let validator = Validator {
            etag: answer.meta.e_tag.clone(),
            ..Validator::default()
        };
        let max = self.limits.max_bytes;
        check_size(max, answer.meta.size)?;
        let mut body =
            BytesMut::with_capacity(usize::try_from(answer.meta.size.min(MAX_PREALLOCATION)).unwrap_or(0));
        let mut stream = answer.into_stream();
        loop {
            let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => return Err(late("send the whole object")),
                Ok(None) => break,
                Ok(Some(Ok(chunk))) => chunk,
                Ok(Some(Err(e))) => return Err(error_from_store(key, &e)),
            };
            check_size(max, (body.len() as u64).saturating_add(chunk.len() as u64))?;
            body.extend_from_slice(&chunk);
        }
        Ok(Fetch::Fresh(Fetched {
            bytes: body.freeze(),
            validator,
        }))
    }
}

/// The precise [`FetchError`] of a storage error. The storage's own error
/// code (`AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`...)
/// is kept for the log; the message never holds a credential.
fn error_from_store(key: &ObjectKey, error: &object_store::Error) -> FetchError {
    use object_store::Error as E;
    match error {
        E::NotFound { .. } => FetchError::ObjectNotFound(format!("no object `{key}` in this mount")),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => FetchError::Denied(format!(
            "the S3 storage refused the request ({})",
            storage_code(error).unwrap_or_else(|| "no error code given".to_owned())
        )),
        _ => {
            if let Some(http) = find_in_chain::<object_store::client::HttpError>(error) {
                use object_store::client::HttpErrorKind as K;
                return match http.kind() {
                    K::Timeout => FetchError::Timeout("the S3 storage did not answer in time".to_owned()),
                    // The kind is non-exhaustive: every other kind is a
                    // failure to reach the storage or to read its answer.
                    _ => FetchError::Unreachable(format!(
                        "the S3 storage could not be reached: {}",
                        root_cause(error)
                    )),
                };
            }
            match storage_code(error) {
                Some(code) => FetchError::Unreachable(format!("the S3 storage failed ({code})")),
                None => FetchError::Unreachable(format!("the S3 storage failed: {}", root_cause(error))),
            }
        }
    }
}

/// The `<Code>` of an S3 error body quoted in the error's text.
fn storage_code(error: &object_store::Error) -> Option<String> {
    let text = format!("{error}");
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    let code = &text[start..end];
    code.chars()
        .all(|c| c.is_ascii_alphanumeric())
        .then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(prefix: &str) -> S3Mount {
        let settings = S3Settings {
            endpoint: Some("http://127.0.0.1:1".into()),
            region: "us-east-1".into(),
            path_style: true,
        };
        S3Mount::new(
            "bucket",
            prefix,
            &settings,
            crate::Config::defaults().fetch_limits(),
        )
        .unwrap()
    }

    #[test]
    fn keys_stay_under_the_prefix() {
        let key = |k: &str| ObjectKey::parse(k).unwrap();
        assert_eq!(
            mount("originals/v1").path_of(&key("a/b.jpg")).as_ref(),
            "originals/v1/a/b.jpg"
        );
        assert_eq!(mount("").path_of(&key("a.jpg")).as_ref(), "a.jpg");
        // Whatever a segment holds, it stays one part under the prefix.
        let odd = mount("p").path_of(&key("%2e%2e%2e/x%25y"));
        assert!(odd.as_ref().starts_with("p/"), "{odd}");
        assert_eq!(odd.parts().count(), 3);
    }
}
