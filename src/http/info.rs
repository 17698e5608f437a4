//! `GET /info/...`: the `fl_getinfo` document of any image path, without
//! writing `fl_getinfo` into it.
//!
//! `/info` put in front of an image's path and query answers JSON about its
//! source (`input`: format, size, orientation, animation, alpha, colour
//! profile, bytes) and about what the transformation makes of it
//! (`output`), exactly as `fl_getinfo` does:
//!
//! | request | describes |
//! | --- | --- |
//! | `/info?url={source}` | the source, and its re-encoding within the limits |
//! | `/info/{transformation}?url={source}` | the source and that transformation's output |
//! | `/info/{name}/{key}`, `/info/{transformation}/{name}/{key}` | an object of a mount, the same way |
//!
//! The checks are those of the image path, in the same order: URL length,
//! `remote_urls`, the grammar, the guard, the key, the limits. Signed like
//! any other path: the signed text is the request path without its leading
//! `/` (`info/w_300?url=<source>` as SPEC §2 writes it for `?url=`, the raw
//! path `info/w_300/photos/a.jpg` as SPEC §8 does for mounts), so an image's
//! signature never opens its description or the other way round.
//! The answer is cached and revalidated (`ETag`) as the image is, and
//! carries `Server-Timing`.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::handlers::{Answer, MountPath, mount_path, mount_response, transform_request};
use crate::options::query;

/// `GET /info` and `GET /info/{*path}`.
pub async fn info(state: State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let rest = uri.path().strip_prefix("/info").unwrap_or_default();
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    // One segment or none, with `url`: the `?url=` form.
    if !rest.contains('/') {
        let has_url = match query::parse(uri.query()) {
            Ok(query) => query.url.is_some(),
            Err(e) => return ApiError::from(e).into_response(),
        };
        if has_url || rest.is_empty() {
            let transformation = percent_encoding::percent_decode_str(rest)
                .decode_utf8_lossy()
                .into_owned();
            return transform_request(state, transformation, uri, headers, Answer::Info)
                .await
                .unwrap_or_else(IntoResponse::into_response);
        }
    }
    let path = format!("/{rest}");
    match mount_path(&state, &path) {
        MountPath::Known {
            transformation,
            mount,
            raw_key,
        } => {
            mount_response(
                &state,
                transformation,
                mount,
                raw_key,
                &uri,
                &headers,
                Answer::Info,
            )
            .await
        }
        MountPath::Unknown(name) => ApiError::UnknownMount(name).into_response(),
        // `/info/w_300` without `url`, or a path naming no mount.
        MountPath::Other if rest.contains('/') => ApiError::NotFound(uri.path().to_owned()).into_response(),
        MountPath::Other => ApiError::MissingUrl.into_response(),
    }
}
