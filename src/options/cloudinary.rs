//! Cloudinary delivery URLs (SPEC §10), for the server and `resizer sign`: the raw path of
//! `/[{cloud}/]image/{fetch|upload}/[s--{sig}--/]{component}/.../...` read
//! into a typed [`DeliveryPath`], so that a site moving from Cloudinary
//! keeps its URLs and only changes the host name.
//!
//! Pure parsing, no I/O: the handler checks the cloud name, the signature,
//! the transformation and the source with what is read here.
//!
//! How the path is cut:
//! - `fetch`: components up to the first segment that (percent-decoded)
//!   starts with `http:` or `https:`; the rest of the path is the remote
//!   URL, raw (`https://host/a.jpg`, or `https:/host/a.jpg` as a proxy that
//!   collapses `//` sends it) or percent-encoded as the SDKs write it.
//! - `upload`: a segment is a component when every comma-separated token
//!   is `key_value` with a key the grammar knows, or `t_`
//!   ([`crate::options::is_component`]); `v{digits}` ends the components;
//!   the last segment is always part of the public ID, so a public ID with
//!   folders (`shop/shoes/red`) works.

use crate::format::ImageFormat;

/// Which Cloudinary delivery type the path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `image/fetch`: a remote URL.
    Fetch,
    /// `image/upload`: a public ID of the upload mount.
    Upload,
}

/// A Cloudinary delivery path, cut into its parts (all as sent, raw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPath<'p> {
    pub delivery: Delivery,
    /// The `{cloud}` segment, when given.
    pub cloud: Option<&'p str>,
    /// The text between `s--` and `--`, when given.
    pub signature: Option<&'p str>,
    /// The transformation components, raw.
    pub components: Vec<&'p str>,
    /// What follows the components (and the `v{digits}` segment): the
    /// remote URL or the public ID with its extension, raw.
    pub source: &'p str,
}

impl DeliveryPath<'_> {
    /// The text the SDKs sign: the components and the source as they appear
    /// in the URL, joined by `/`, the version left out. A fetch URL whose
    /// `//` a proxy collapsed is signed as the SDK wrote it.
    pub fn signed_text(&self) -> String {
        let source = match self.delivery {
            Delivery::Fetch => restore_scheme_slashes(self.source),
            Delivery::Upload => self.source.to_owned(),
        };
        let mut parts: Vec<&str> = self.components.clone();
        parts.push(&source);
        parts.join("/")
    }

    /// The transformation: the components percent-decoded, joined by `/`.
    pub fn transformation(&self) -> String {
        self.components
            .iter()
            .map(|c| decode(c))
            .collect::<Vec<_>>()
            .join("/")
    }

    /// For `fetch`: the remote URL, decoded once (the SDKs escape it once),
    /// with `https:/` restored to `https://`.
    pub fn remote_url(&self) -> String {
        restore_scheme_slashes(&decode(self.source))
    }

    /// For `upload`: the public ID as given (decoded) and the delivery
    /// format its extension names, when it names one resizer writes; any
    /// other extension stays part of the public ID.
    pub fn public_id(&self) -> (String, Option<(String, ImageFormat)>) {
        let id = decode(self.source);
        let last = id.rsplit('/').next().unwrap_or(&id);
        if let Some((stem, ext)) = last.rsplit_once('.')
            && !stem.is_empty()
            && let Some(format) = ImageFormat::from_name(ext)
        {
            let base = id[..id.len() - ext.len() - 1].to_owned();
            return (id.clone(), Some((base, format)));
        }
        (id, None)
    }
}

/// Why a path of Cloudinary shape cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Nothing after the components: no remote URL or public ID.
    MissingSource(Delivery),
}

/// Reads `path` (raw, with its leading `/`) when it has the shape of a
/// Cloudinary delivery URL; `None` for any other path. `is_component` tells
/// an upload path's components from its public ID.
pub fn parse<'p>(
    path: &'p str,
    is_component: impl Fn(&str) -> bool,
) -> Option<Result<DeliveryPath<'p>, PathError>> {
    let path = path.strip_prefix('/')?;
    let (first, rest) = path.split_once('/')?;
    let (cloud, rest) = if first == "image" {
        (None, rest)
    } else {
        let (second, rest) = rest.split_once('/')?;
        if second != "image" {
            return None;
        }
        (Some(first), rest)
    };
    let (kind, mut rest) = rest.split_once('/').unwrap_or((rest, ""));
    let delivery = match kind {
        "fetch" => Delivery::Fetch,
        "upload" => Delivery::Upload,
        _ => return None,
    };
    let mut signature = None;
    if let Some((segment, after)) = split(rest)
        && let Some(sig) = segment.strip_prefix("s--").and_then(|s| s.strip_suffix("--"))
    {
        signature = Some(sig);
        rest = after;
    }
    let mut components = Vec::new();
    while let Some((segment, after)) = split(rest) {
        let ends = match delivery {
            Delivery::Fetch => is_url_start(segment),
            // The last segment is always the public ID.
            Delivery::Upload => after.is_empty() || !is_component(&decode(segment)),
        };
        if ends {
            break;
        }
        components.push(segment);
        rest = after;
    }
    if delivery == Delivery::Upload
        && let Some((segment, after)) = split(rest)
        && !after.is_empty()
        && is_version(segment)
    {
        rest = after;
    }
    if rest.is_empty() {
        return Some(Err(PathError::MissingSource(delivery)));
    }
    Some(Ok(DeliveryPath {
        delivery,
        cloud,
        signature,
        components,
        source: rest,
    }))
}

/// The first segment of `rest` and what follows it; `None` when empty.
fn split(rest: &str) -> Option<(&str, &str)> {
    if rest.is_empty() {
        return None;
    }
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

/// `v` and digits: a Cloudinary version, which ends the components.
fn is_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a segment starts a remote URL, raw or percent-encoded.
fn is_url_start(segment: &str) -> bool {
    let decoded = decode(segment).to_ascii_lowercase();
    decoded.starts_with("http:") || decoded.starts_with("https:")
}

/// `https:/host` (a proxy collapsed `//`) -> `https://host`.
fn restore_scheme_slashes(url: &str) -> String {
    for scheme in ["https:/", "http:/", "HTTPS:/", "HTTP:/"] {
        if let Some(rest) = url.strip_prefix(scheme)
            && !rest.starts_with('/')
        {
            return format!("{scheme}/{rest}");
        }
    }
    url.to_owned()
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::GrammarLimits;

    fn component(segment: &str) -> bool {
        crate::options::is_component(segment, &GrammarLimits::default())
    }

    fn parsed(path: &str) -> DeliveryPath<'_> {
        parse(path, component).unwrap().unwrap()
    }

    #[test]
    fn other_paths_are_not_cloudinary() {
        for path in [
            "/w_100",
            "/w_100/photos/a.jpg",
            "/image/private/a.jpg",
            "/demo/video/upload/a.mp4",
            "/a/b/image/upload/x.jpg",
        ] {
            assert!(parse(path, component).is_none(), "{path}");
        }
    }

    #[test]
    fn fetch_paths_as_the_sdk_writes_them() {
        let p = parsed(
            "/demo/image/fetch/s--9n1fn6bW--/c_fill,h_50,w_100/e_grayscale/https://example.com/a%20b/%C3%BC.jpg%3Fx%3D1%26y%3D2",
        );
        assert_eq!(p.delivery, Delivery::Fetch);
        assert_eq!(p.cloud, Some("demo"));
        assert_eq!(p.signature, Some("9n1fn6bW"));
        assert_eq!(p.components, ["c_fill,h_50,w_100", "e_grayscale"]);
        assert_eq!(p.transformation(), "c_fill,h_50,w_100/e_grayscale");
        assert_eq!(p.remote_url(), "https://example.com/a b/ü.jpg?x=1&y=2");
        assert_eq!(
            p.signed_text(),
            "c_fill,h_50,w_100/e_grayscale/https://example.com/a%20b/%C3%BC.jpg%3Fx%3D1%26y%3D2"
        );
        // No cloud, no components, `//` collapsed by a proxy.
        let p = parsed("/image/fetch/https:/example.com/a.jpg");
        assert_eq!((p.cloud, p.components.len()), (None, 0));
        assert_eq!(p.remote_url(), "https://example.com/a.jpg");
        assert_eq!(p.signed_text(), "https://example.com/a.jpg");
        // Wholly percent-encoded.
        let p = parsed("/image/fetch/w_10/https%3A%2F%2Fexample.com%2Fa.jpg");
        assert_eq!(p.components, ["w_10"]);
        assert_eq!(p.remote_url(), "https://example.com/a.jpg");
        assert_eq!(
            parse("/image/fetch/w_10", component).unwrap(),
            Err(PathError::MissingSource(Delivery::Fetch))
        );
    }

    #[test]
    fn upload_paths_tell_components_from_public_ids() {
        let p = parsed("/demo/image/upload/s--DyNwAD93--/w_10/v123/shop/shoes/red.png");
        assert_eq!(p.delivery, Delivery::Upload);
        assert_eq!(p.signature, Some("DyNwAD93"));
        assert_eq!(p.components, ["w_10"]);
        assert_eq!(p.source, "shop/shoes/red.png");
        assert_eq!(p.signed_text(), "w_10/shop/shoes/red.png");
        assert_eq!(
            p.public_id(),
            (
                "shop/shoes/red.png".to_owned(),
                Some(("shop/shoes/red".to_owned(), ImageFormat::Png))
            )
        );
        // Without a version, folders still end the components.
        let p = parsed("/image/upload/t_thumb/w_10/shop/red");
        assert_eq!(p.components, ["t_thumb", "w_10"]);
        assert_eq!(p.public_id(), ("shop/red".to_owned(), None));
        // A public ID that looks like a component is still the public ID.
        let p = parsed("/image/upload/w_10/w_20");
        assert_eq!((p.components.clone(), p.source), (vec!["w_10"], "w_20"));
        // An extension resizer does not write stays part of the ID.
        let p = parsed("/image/upload/archive/scan.tiff");
        assert_eq!(p.public_id(), ("archive/scan.tiff".to_owned(), None));
        // `v1` as the last segment is a public ID.
        assert_eq!(parsed("/image/upload/v1").source, "v1");
        assert_eq!(
            parse("/image/upload/", component).unwrap(),
            Err(PathError::MissingSource(Delivery::Upload))
        );
    }
}
