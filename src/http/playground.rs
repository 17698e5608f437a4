//! `GET /playground`: a page to try transformations in a browser, and the
//! landing page at `/` that links to it.
//!
//! Everything the page needs is in the binary (`assets/playground/`: HTML,
//! CSS, JS, and the sample images), so it works offline and on a fresh
//! machine; nothing is loaded from elsewhere, and the Content-Security-
//! Policy says so to the browser. The samples are served as the objects of
//! a mount named `playground` ([`crate::source::embedded`]), through the
//! same routes, checks and caches as any mount: the page needs neither
//! `remote_urls` nor a private-network exception to show them.
//!
//! The page never holds a key. With signing on (where the setting defaults
//! to off), it says that URLs must be signed and shows the `resizer sign`
//! command for the URL it built.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::handlers::MountPath;
use super::headers;
use crate::source::embedded;

/// The page and its assets: (file name, content type, bytes).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../assets/playground/index.html"),
    ),
    (
        "playground.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/playground/playground.css"),
    ),
    (
        "playground.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/playground/playground.js"),
    ),
];

/// The landing page at `/` for a browser.
const LANDING: &str = include_str!("../../assets/playground/landing.html");

/// Only what the binary serves itself: scripts and styles from files of
/// this origin (no inline code), images from this origin or made by the
/// page (`data:`, `blob:`), requests to this origin only; never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
     script-src 'self'; style-src 'self'; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Revalidated on every use (a `304` costs a few bytes), so a new binary's
/// page is seen at once, never mixed with an older script.
const ASSET_CACHE_CONTROL: &str = "no-cache";

/// `GET /playground`.
pub async fn page(request: HeaderMap) -> Response {
    asset("index.html", &request)
}

/// `GET /playground/playground.css`.
pub async fn stylesheet(request: HeaderMap) -> Response {
    asset("playground.css", &request)
}

/// `GET /playground/playground.js`.
pub async fn script(request: HeaderMap) -> Response {
    asset("playground.js", &request)
}

/// What the page needs to know of the configuration, and nothing secret:
/// whether URLs must be signed, whether `?url=` sources are served, the
/// largest side, and the samples' paths.
pub async fn settings(State(state): State<AppState>) -> Response {
    let samples: Vec<String> = embedded::SAMPLES
        .iter()
        .map(|(key, _)| format!("{}/{key}", embedded::NAME))
        .collect();
    let body = serde_json::json!({
        "signed": state.verifier.is_some(),
        "remote_urls": state.config.remote_urls,
        "max_dimension": state.config.max_dimension,
        "samples": samples,
    });
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The landing page: HTML with a link to the playground for a browser
/// (when it is on), the one-line usage for anything else.
pub fn landing(state: &AppState, request: &HeaderMap) -> Response {
    let wants_html = request
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|accept| accept.contains("text/html"));
    if state.config.playground && wants_html {
        let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], LANDING).into_response();
        secure(&mut response);
        return response;
    }
    let mut text = String::from(
        "resizer: GET /{transformation}?url={image url}, e.g. /w_150,h_500?url=https://example.com/a.jpg\n",
    );
    if state.config.playground {
        text.push_str("playground: GET /playground\n");
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

/// One asset with its type, `ETag` (a `304` when the browser has it),
/// cache and security headers.
fn asset(name: &str, request: &HeaderMap) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(file, _, _)| *file == name) else {
        return super::ApiError::NotFound(name.to_owned()).into_response();
    };
    let etag = headers::etag(body.as_bytes());
    let mut response = if headers::not_modified(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, *content_type)], *body).into_response()
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(ASSET_CACHE_CONTROL),
    );
    secure(&mut response);
    response
}

/// The security headers of every page and asset.
fn secure(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// A path to one of the samples, `/playground/{key}` or
/// `/{transformation}/playground/{key}`, while the playground is on.
pub fn samples_path<'p>(state: &AppState, path: &'p str) -> Option<MountPath<'p>> {
    let mount = state.samples.as_ref()?;
    let rest = path.strip_prefix('/')?;
    let prefix = format!("{}/", embedded::NAME);
    if let Some(raw_key) = rest.strip_prefix(&prefix) {
        return Some(MountPath::Known {
            transformation: String::new(),
            mount: Arc::clone(mount),
            raw_key,
        });
    }
    let (first, after) = rest.split_once('/')?;
    let raw_key = after.strip_prefix(&prefix)?;
    Some(MountPath::Known {
        transformation: percent_encoding::percent_decode_str(first)
            .decode_utf8_lossy()
            .into_owned(),
        mount: Arc::clone(mount),
        raw_key,
    })
}
