//! resizer: an image resizing and conversion service.
//!
//! `GET /w_150,h_500,c_fill?url=https://example.com/photo.jpg` fetches the
//! source, transforms it and answers with the image. The README documents
//! the API (requests, grammar, errors, settings); `ARCHITECTURE.md` the
//! flow of a request and the invariants of the code.
//!
//! # Layout
//!
//! | module | owns |
//! | --- | --- |
//! | [`config`] | settings (flags + `RESIZER_*` env), validated once at start |
//! | [`options`] | the transformation grammar: text -> validated [`options::Plan`] (pure) |
//! | [`signing`] | HMAC-SHA256 URL signatures |
//! | [`fetch`] | the only outbound HTTP connections: SSRF guard, byte and time limits |
//! | [`source`] | where bytes come from: a `?url=` source or an object of a mount (HTTP origin, folder, S3) |
//! | [`pipeline`] | probe, decode, orient, colour, geometry, resize, effects, encode (sync, pure) |
//! | [`work`] | the bounded CPU pool and its queue (503 when full) |
//! | [`cache`] | result and source caches, single-flight for identical requests |
//! | [`admission`] | when what missed enters a cache (on its first or second request) |
//! | [`allocator`] | glibc malloc's settings for image work, applied at start |
//! | [`metrics`] | Prometheus metrics |
//! | [`http`] | routes, handlers, headers, and the one error-to-status map |
//! | [`convert`] | the `resizer convert` and `resizer sign` commands |

// `unsafe_code` is denied for every target of the package (`[lints]` in
// Cargo.toml). Two places need it and allow it where they are declared:
// `pipeline::codec::webp::libwebp` (the `turbo` feature's direct calls into
// libwebp's decoder) and `allocator::tune` (three integer `mallopt` calls to
// glibc at start); the default build has no other `unsafe` code of its own.

pub mod admission;
pub mod allocator;
pub mod cache;
pub mod config;
pub mod convert;
pub mod fetch;
pub mod format;
pub mod http;
pub mod metrics;
pub mod options;
pub mod pipeline;
pub mod signing;
pub mod source;
pub mod work;

pub use config::Config;
pub use http::{AppState, app, serve};
