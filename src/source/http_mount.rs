//! HTTP mounts: objects of an origin the operator names, fetched with the
//! same client, byte cap and deadline as a `?url=` source.
//!
//! The mount's own host and port are trusted (it may be an internal origin
//! on a private address, outside `allowed_sources`), so each HTTP mount has
//! a [`Fetcher`] of its own whose guard trusts that origin and nothing else:
//! a redirect to another host is checked exactly as a hop of a `?url=`
//! download, by name, address and port.

use url::Url;

use super::ObjectKey;
use crate::fetch::{Fetch, FetchError, FetchLimits, Fetcher, Guard, SourceUrl, Validator};

/// An HTTP mount.
#[derive(Debug)]
pub struct HttpMount {
    /// The origin and prefix, ending with `/`; keys are appended to it.
    base: Url,
    /// A client whose guard trusts `base`'s host and port.
    fetcher: Fetcher,
}

impl HttpMount {
    pub fn new(base: Url, guard: &Guard, limits: FetchLimits) -> Result<HttpMount, FetchError> {
        let fetcher = Fetcher::new(guard.trusting(&base), limits)?;
        Ok(HttpMount { base, fetcher })
    }

    /// The URL of `key`: the prefix, then each segment of the key encoded
    /// as one path segment (a `?`, `#` or `%` in a key stays in the path).
    pub fn url_of(&self, key: &ObjectKey) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(key.segments());
        }
        url
    }

    /// The object `key`, whole, unless `previous` is still current. The
    /// origin's 404 or 410 is a missing object.
    pub async fn fetch_if_changed(
        &self,
        key: &ObjectKey,
        previous: Option<&Validator>,
    ) -> Result<Fetch, FetchError> {
        let url = SourceUrl::of_mount(self.url_of(key));
        match self.fetcher.fetch_if_changed(&url, previous).await {
            Err(FetchError::NotFound(status)) => Err(FetchError::ObjectNotFound(format!(
                "the origin answered {status} for `{key}`"
            ))),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_appended_to_the_prefix_segment_by_segment() {
        let config = crate::Config::defaults();
        let guard = Guard::new(&config);
        let mount = HttpMount::new(
            Url::parse("https://img.example.com/originals/").unwrap(),
            &guard,
            config.fetch_limits(),
        )
        .unwrap();
        let url = |k: &str| mount.url_of(&ObjectKey::parse(k).unwrap()).to_string();
        assert_eq!(url("a/b.jpg"), "https://img.example.com/originals/a/b.jpg");
        assert_eq!(url("a%20b.jpg"), "https://img.example.com/originals/a%20b.jpg");
        assert_eq!(url("q%3F.jpg"), "https://img.example.com/originals/q%3F.jpg");
        assert_eq!(url("h%23.jpg"), "https://img.example.com/originals/h%23.jpg");
        assert_eq!(url("p%25.jpg"), "https://img.example.com/originals/p%25.jpg");
    }
}
