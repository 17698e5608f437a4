//! Handlers: orchestration only. Parse the request, consult the caches, run
//! fetch and pipeline, build the response. No image code and no status code
//! choices live here (those are in `pipeline` and `error`).

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::cache_key::{ResultKey, source_key};
use super::error::ApiError;
use super::timing::{self, CacheState, SourceRead, StageTimes};
use super::{AppState, CachedSource, headers};
use crate::cache::{Outcome, Weighed};
use crate::fetch::{Fetch, FetchError, SourceUrl};
use crate::format::ImageFormat;
use crate::metrics::RevalidationLabel;
use crate::options::cloudinary::{self, Delivery};
use crate::options::layer::LayerSource;
use crate::options::query;
use crate::options::{Chain, FormatRequest, OptionsError, Plan, first_unnamed_token, is_component};
use crate::pipeline::{self, OutputChoice};
use crate::signing;
use crate::source::{Mount, ObjectKey, Source, is_mount_name};

/// A finished image, as cached and as sent.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Bytes,
    pub format: ImageFormat,
    /// The `Content-Type`: the format's, or JSON for `fl_getinfo`.
    pub content_type: &'static str,
    pub etag: String,
    /// What the run that made it spent, for `Server-Timing`.
    pub times: StageTimes,
}

impl Weighed for Arc<Rendered> {
    fn weight(&self) -> usize {
        self.bytes.len() + self.etag.len()
    }
}

/// What a request asks for about its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The transformed image (or `fl_getinfo`'s JSON when the
    /// transformation says so).
    Image,
    /// `/info/...`: the `fl_getinfo` JSON, whatever the transformation.
    Info,
}

impl Answer {
    /// The text signed for a `?url=` request: the path without its leading
    /// `/` (`w_100`, `info/w_100`, `info`), decoded, as SPEC §2 signs it.
    fn signed_path(self, transformation: &str) -> String {
        match self {
            Answer::Image => transformation.to_owned(),
            Answer::Info if transformation.is_empty() => "info".to_owned(),
            Answer::Info => format!("info/{transformation}"),
        }
    }
}

/// `GET /health`: always `OK`, never touches the network or the pool.
pub async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "OK")
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.queue_depth.set(state.pool.queue_depth() as i64);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// `GET /`: the empty transformation when `url` is given, else the landing
/// page (`playground::landing`: HTML linking to the playground for a
/// browser, one line of usage for anything else).
pub async fn root(state: State<AppState>, uri: Uri, headers: HeaderMap) -> Result<Response, ApiError> {
    if query::parse(uri.query())?.url.is_none() {
        return Ok(super::playground::landing(&state, &headers));
    }
    transform_request(state, String::new(), uri, headers, Answer::Image).await
}

/// `GET /{transformation}?url=...`. A mount's name alone (`/photos`) is a
/// mount path without a key.
pub async fn transform(
    state: State<AppState>,
    Path(transformation): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(mount) = state.mounts.get(&transformation) {
        let mount = Arc::clone(mount);
        return Ok(mount_response(&state, String::new(), mount, "", &uri, &headers, Answer::Image).await);
    }
    transform_request(state, transformation, uri, headers, Answer::Image).await
}

/// Refuses a request line longer than `max_url_length`, before anything in
/// it is parsed.
pub(super) fn check_url_length(state: &AppState, uri: &Uri) -> Result<(), ApiError> {
    let length = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if length > state.config.max_url_length {
        return Err(ApiError::UrlTooLong {
            length,
            max: state.config.max_url_length,
        });
    }
    Ok(())
}

pub(super) async fn transform_request(
    State(state): State<AppState>,
    transformation: String,
    uri: Uri,
    headers: HeaderMap,
    answer: Answer,
) -> Result<Response, ApiError> {
    check_url_length(&state, &uri)?;
    let query = query::parse(uri.query())?;
    let url = match query.url {
        None => return Err(ApiError::MissingUrl),
        Some(url) if url.trim().is_empty() => return Err(ApiError::EmptyUrl),
        Some(url) => url,
    };
    let chain = single_component_chain(&state, &transformation)?;
    // Before the signature: with `?url=` disabled, no signature can make
    // the request servable, and the answer says what to change.
    if !state.config.remote_urls {
        return Err(ApiError::RemoteUrlsDisabled);
    }
    if let Some(verifier) = &state.verifier {
        let signed = answer.signed_path(&transformation);
        verifier.verify(&signed, &url, query.signature.as_deref())?;
    }
    let source = Source::Remote(SourceUrl::parse(&url, &state.guard)?);
    serve_source(&state, chain, source, &headers, None, answer).await
}

/// The transformation of a `?url=` or mount request: one component (a `/`
/// inside it, sent as `%2F`, is refused as before chains existed), which
/// may name presets that are chains; strict mode checked first.
fn single_component_chain(state: &AppState, transformation: &str) -> Result<Chain, ApiError> {
    check_strict(state, transformation)?;
    if transformation.contains('/') {
        // The grammar's own error for the token holding the `/`.
        Plan::parse(transformation, &state.grammar)?;
        return Err(OptionsError::InvalidValue {
            token: transformation.to_owned(),
            reason: "`/` separates chained components in Cloudinary URLs only".to_owned(),
        }
        .into());
    }
    Ok(Chain::parse(
        transformation,
        &state.grammar,
        &state.config.presets,
    )?)
}

/// With `strict_transformations` on, only `t_` tokens may be asked for.
fn check_strict(state: &AppState, transformation: &str) -> Result<(), ApiError> {
    if state.config.strict_transformations
        && let Some(token) = first_unnamed_token(transformation)
    {
        return Err(ApiError::NamedTransformationRequired(token.to_owned()));
    }
    Ok(())
}

/// The mount, transformation and raw key a path names, when it names a
/// mount: `/{name}/{key}` or `/{transformation}/{name}/{key}`.
pub(super) enum MountPath<'p> {
    /// A configured mount.
    Known {
        transformation: String,
        mount: Arc<Mount>,
        raw_key: &'p str,
    },
    /// A mount path shape naming no configured mount.
    Unknown(String),
    /// Not a mount path at all.
    Other,
}

/// Reads a raw path (as sent, percent-encoded). A first segment that is a
/// configured mount's name is a mount; otherwise it is a transformation and
/// the second segment must name a mount.
pub(super) fn mount_path<'p>(state: &AppState, path: &'p str) -> MountPath<'p> {
    if let Some(samples) = super::playground::samples_path(state, path) {
        return samples;
    }
    if state.mounts.is_empty() {
        return MountPath::Other;
    }
    let Some((first, rest)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return MountPath::Other;
    };
    if let Some(mount) = state.mounts.get(first) {
        return MountPath::Known {
            transformation: String::new(),
            mount: Arc::clone(mount),
            raw_key: rest,
        };
    }
    let transformation = percent_encoding::percent_decode_str(first)
        .decode_utf8_lossy()
        .into_owned();
    // A mount name never holds a `_` and a transformation always does: a
    // first segment that could only be a name is an unknown mount.
    if is_mount_name(&transformation) {
        return MountPath::Unknown(transformation);
    }
    let (second, raw_key) = rest.split_once('/').unwrap_or((rest, ""));
    match state.mounts.get(second) {
        Some(mount) => MountPath::Known {
            transformation,
            mount: Arc::clone(mount),
            raw_key,
        },
        None => MountPath::Unknown(
            percent_encoding::percent_decode_str(second)
                .decode_utf8_lossy()
                .into_owned(),
        ),
    }
}

/// The Cloudinary delivery path `path` is, unless its first segment (or its
/// second, where a cloud name would stand) names a configured mount: a
/// mount path stays a mount path.
fn delivery_path<'p>(
    state: &AppState,
    path: &'p str,
) -> Option<Result<cloudinary::DeliveryPath<'p>, cloudinary::PathError>> {
    let mut segments = path.trim_start_matches('/').split('/');
    let names_mount = |segment: Option<&str>| segment.is_some_and(|s| state.mounts.get(s).is_some());
    if names_mount(segments.next()) || names_mount(segments.next()) {
        return None;
    }
    cloudinary::parse(path, |segment| is_component(segment, &state.grammar))
}

/// `GET /[{cloud}/]image/{fetch|upload}/...`: the checks in order (length,
/// cloud name, signature, strict mode, transformation), then the remote URL
/// under the `?url=` rules or the public ID of the upload mount.
async fn cloudinary_request(
    state: &AppState,
    delivery: Result<cloudinary::DeliveryPath<'_>, cloudinary::PathError>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    check_url_length(state, uri)?;
    let path = match delivery {
        Ok(path) => path,
        Err(cloudinary::PathError::MissingSource(Delivery::Fetch)) => return Err(ApiError::MissingUrl),
        Err(cloudinary::PathError::MissingSource(Delivery::Upload)) => {
            return Err(ApiError::NotFound(uri.path().to_owned()));
        }
    };
    let settings = &state.config.cloudinary;
    if let (Some(cloud), Some(name)) = (path.cloud, &settings.cloud_name)
        && cloud != name
    {
        return Err(ApiError::UnknownCloud(cloud.to_owned()));
    }
    if let Some(secret) = &settings.api_secret {
        signing::verify_cloudinary(&path.signed_text(), secret, path.signature)?;
    }
    let transformation = path.transformation();
    check_strict(state, &transformation)?;
    let chain = Chain::parse(&transformation, &state.grammar, &state.config.presets)?;
    match path.delivery {
        Delivery::Fetch => {
            if !state.config.remote_urls {
                return Err(ApiError::RemoteUrlsDisabled);
            }
            // A raw remote URL's own query arrives as the request's query.
            let mut url = path.remote_url();
            if let Some(query) = uri.query().filter(|q| !q.is_empty()) {
                url = format!("{url}?{query}");
            }
            let source = Source::Remote(SourceUrl::parse(&url, &state.guard)?);
            serve_source(state, chain, source, headers, None, Answer::Image).await
        }
        Delivery::Upload => {
            let mount = upload_mount(state)?;
            let (id, extension) = path.public_id();
            let key = find_public_id(
                state,
                &mount,
                &id,
                extension.as_ref().map(|(base, _)| base.as_str()),
            )
            .await?;
            let format = extension.map(|(_, format)| format);
            let source = Source::Object { mount, key };
            serve_source(state, chain, source, headers, format, Answer::Image).await
        }
    }
}

/// The mount named by `cloudinary_upload_mount`, where `upload` delivery
/// and `l_<public_id>` layers find their images.
fn upload_mount(state: &AppState) -> Result<Arc<Mount>, ApiError> {
    let name = state
        .config
        .cloudinary
        .upload_mount
        .as_deref()
        .ok_or(ApiError::UploadMountNotSet)?;
    state
        .mounts
        .get(name)
        .cloned()
        .ok_or_else(|| ApiError::UnknownMount(name.to_owned()))
}

/// The stored key of a public ID: the key as given, then the ID without
/// the delivery extension, then the ID with each configured extension, the
/// first found remembered (`public_ids`). None found: `404` naming them.
async fn find_public_id(
    state: &AppState,
    mount: &Arc<Mount>,
    id: &str,
    without_extension: Option<&str>,
) -> Result<ObjectKey, ApiError> {
    let remembered = format!("{}/{id}", mount.name());
    if let Some(key) = state.public_ids.get(&remembered).await {
        return Ok(key);
    }
    let base = without_extension.unwrap_or(id);
    let mut tried: Vec<String> = Vec::new();
    let candidates = std::iter::once(id.to_owned())
        .chain(std::iter::once(base.to_owned()))
        .chain(
            state
                .config
                .cloudinary
                .extensions
                .iter()
                .map(|e| format!("{base}.{e}")),
        );
    for candidate in candidates {
        if tried.contains(&candidate) {
            continue;
        }
        tried.push(candidate.clone());
        let key = ObjectKey::from_decoded(&candidate)?;
        let source = Source::Object {
            mount: Arc::clone(mount),
            key: key.clone(),
        };
        match download(state, source).await {
            Ok(_) => {
                state.public_ids.insert(remembered, key.clone()).await;
                return Ok(key);
            }
            Err(ApiError::Fetch(FetchError::ObjectNotFound(_))) => {}
            Err(other) => return Err(other),
        }
    }
    Err(ApiError::PublicIdNotFound {
        id: id.to_owned(),
        mount: mount.name().to_owned(),
        tried,
    })
}

/// The name of the mount a request was served from, for the request log.
#[derive(Debug, Clone)]
pub struct MountName(pub String);

/// Every path no route takes: mount paths, else a JSON 404.
pub async fn fallback(state: State<AppState>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let read_only = method == Method::GET || method == Method::HEAD;
    if let Some(delivery) = delivery_path(&state, uri.path()) {
        if !read_only {
            return get_or_head_only(&method);
        }
        return cloudinary_request(&state, delivery, &uri, &headers)
            .await
            .unwrap_or_else(IntoResponse::into_response);
    }
    let (transformation, mount, raw_key) = match mount_path(&state, uri.path()) {
        MountPath::Other => return ApiError::NotFound(uri.path().to_owned()).into_response(),
        MountPath::Unknown(name) => return ApiError::UnknownMount(name).into_response(),
        MountPath::Known {
            transformation,
            mount,
            raw_key,
        } => (transformation, mount, raw_key),
    };
    if !read_only {
        let mut response = get_or_head_only(&method);
        response
            .extensions_mut()
            .insert(MountName(mount.name().to_owned()));
        return response;
    }
    mount_response(
        &state,
        transformation,
        mount,
        raw_key,
        &uri,
        &headers,
        Answer::Image,
    )
    .await
}

/// `405` for a path the fallback serves, with the `Allow` header the router
/// adds to its own routes.
fn get_or_head_only(method: &Method) -> Response {
    let mut response = ApiError::MethodNotAllowed(method.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
    response
}

/// [`mount_request`]'s answer, an error's included, marked with the
/// mount's name for the request log.
pub(super) async fn mount_response(
    state: &AppState,
    transformation: String,
    mount: Arc<Mount>,
    raw_key: &str,
    uri: &Uri,
    headers: &HeaderMap,
    answer: Answer,
) -> Response {
    let name = MountName(mount.name().to_owned());
    let mut response = mount_request(state, transformation, mount, raw_key, uri, headers, answer)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(name);
    response
}

/// `GET /{transformation}/{name}/{key}`: the object `key` of a mount, with
/// the checks of a `?url=` request in the same order (length, query,
/// transformation, key, signature).
async fn mount_request(
    state: &AppState,
    transformation: String,
    mount: Arc<Mount>,
    raw_key: &str,
    uri: &Uri,
    headers: &HeaderMap,
    answer: Answer,
) -> Result<Response, ApiError> {
    check_url_length(state, uri)?;
    // Only `s` is read; other parameters (a cache buster `?v=2`) are ignored.
    let query = query::parse(uri.query())?;
    let chain = single_component_chain(state, &transformation)?;
    let key = ObjectKey::parse(raw_key)?;
    if let Some(verifier) = &state.verifier {
        let signed = uri.path().strip_prefix('/').unwrap_or_default();
        verifier.verify_path(signed, query.signature.as_deref())?;
    }
    serve_source(state, chain, Source::Object { mount, key }, headers, None, answer).await
}

/// The image of `chain` applied to `source`, or `304`. `extension` is the
/// format an upload URL's extension names, used when no step names `f_`.
async fn serve_source(
    state: &AppState,
    chain: Chain,
    source: Source,
    headers: &HeaderMap,
    extension: Option<ImageFormat>,
    answer: Answer,
) -> Result<Response, ApiError> {
    let format = match (chain.format(), extension) {
        (FormatRequest::Source, Some(format)) => FormatRequest::Fixed(format),
        (format, _) => format,
    };
    let hinted = headers::hint_vary(&chain);
    let chain = chain.resolve_hints(headers::client_hints(headers), &state.grammar);
    let name = source_name(&source);
    let choice = headers::format_choice(format, headers);
    let layers = layer_sources(state, &chain).await?;
    let (rendered, cache) = render(state, chain.clone(), choice, source, layers, answer).await?;
    let mut response = respond(state, &rendered, headers, format == FormatRequest::Auto);
    response.headers_mut().insert(
        HeaderName::from_static("server-timing"),
        timing::server_timing(cache, &rendered.times),
    );
    delivery_headers(&mut response, &chain, &hinted, &name, &rendered);
    Ok(response)
}

/// The sources of the chain's layers (`l_`), in order: a public ID of the
/// upload mount (found as an `upload` URL's is, `404` naming it), or a
/// remote URL under the `?url=` rules (`remote_urls`, the guard).
async fn layer_sources(state: &AppState, chain: &Chain) -> Result<Vec<Source>, ApiError> {
    let mut sources = Vec::new();
    for layer in chain.layers() {
        let source = match layer.source() {
            LayerSource::Fetch(url) => {
                if !state.config.remote_urls {
                    return Err(ApiError::RemoteUrlsDisabled);
                }
                Source::Remote(SourceUrl::parse(url, &state.guard)?)
            }
            LayerSource::Upload(id) => {
                let mount = upload_mount(state)?;
                let without_extension = id.rsplit_once('.').map(|(base, _)| base);
                let key = find_public_id(state, &mount, id, without_extension).await?;
                Source::Object { mount, key }
            }
        };
        sources.push(source);
    }
    Ok(sources)
}

/// The download name `fl_attachment` falls back to: the source's.
fn source_name(source: &Source) -> String {
    match source {
        Source::Remote(url) => headers::source_name(url.as_str()),
        Source::Object { key, .. } => headers::source_name(key.as_str()),
    }
}

/// The headers of Cloudinary's delivery parameters: the client hints
/// `dpr_auto`/`w_auto` read added to `Vary`, and `Content-Disposition`
/// for `fl_attachment`.
fn delivery_headers(
    response: &mut Response,
    chain: &Chain,
    hinted: &[&'static str],
    source_name: &str,
    rendered: &Rendered,
) {
    let h = response.headers_mut();
    if !hinted.is_empty() {
        let mut vary: Vec<String> = h
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        vary.extend(hinted.iter().map(|name| (*name).to_owned()));
        if let Ok(value) = HeaderValue::from_str(&vary.join(", ")) {
            h.insert(header::VARY, value);
        }
    }
    if let Some(name) = chain.attachment() {
        // `.jpg`, the extension Cloudinary and most tools write for JPEG.
        let extension = match rendered.format {
            _ if rendered.content_type == INFO_TYPE => "json",
            ImageFormat::Jpeg => "jpg",
            other => other.name(),
        };
        if let Ok(value) = HeaderValue::from_str(&headers::attachment(name, source_name, extension)) {
            h.insert(header::CONTENT_DISPOSITION, value);
        }
    }
}

/// The cached result, or the result of an identical request in flight, or
/// a new run of fetch and pipeline, and which of the three it was.
async fn render(
    state: &AppState,
    plan: Chain,
    choice: OutputChoice,
    source: Source,
    layers: Vec<Source>,
    answer: Answer,
) -> Result<(Arc<Rendered>, CacheState), ApiError> {
    let key = ResultKey::layered(&plan, choice, &layers, &source).into_string();
    // `/info` answers JSON even for a transformation without `fl_getinfo`:
    // a key of its own, never the image's.
    let key = match answer {
        Answer::Image => key,
        Answer::Info => format!("info|{key}"),
    };
    let task_state = state.clone();
    let (result, outcome) = state
        .results
        .get_or_run(key, &state.metrics, move || {
            produce(task_state, plan, choice, source, layers, answer)
        })
        .await;
    if outcome == Outcome::Joined {
        state.metrics.coalesced.inc();
    }
    Ok((result.map_err(ApiError::Internal)??, CacheState::from(outcome)))
}

/// Fetches the source and runs the pipeline on the CPU pool.
async fn produce(
    state: AppState,
    chain: Chain,
    choice: OutputChoice,
    source: Source,
    layers: Vec<Source>,
    answer: Answer,
) -> Result<Arc<Rendered>, ApiError> {
    let key = source_key(&source);
    let (bytes, fetch) = download(&state, source).await?;
    let mut layer_bytes = Vec::with_capacity(layers.len());
    for layer in layers {
        let name = layer.cache_key();
        match download(&state, layer).await {
            Err(ApiError::Fetch(FetchError::NotFound(_))) => return Err(ApiError::LayerNotFound(name)),
            other => layer_bytes.push(other?.0),
        }
    }
    let limits = state.limits;
    let deadline = Instant::now() + state.config.processing_timeout;
    if chain.getinfo() || answer == Answer::Info {
        return produce_info(&state, bytes, fetch, chain, choice, deadline).await;
    }
    let decodes = state.decodes.for_source(&key, bytes.clone());
    let decode_admitted = decodes.as_ref().is_none_or(|handle| handle.admits());
    let (result, waited) = state
        .pool
        .run(move || {
            let layers: Vec<&[u8]> = layer_bytes.iter().map(|b| b.as_ref()).collect();
            pipeline::Pipeline::new(limits).run_layered(
                &bytes,
                &chain,
                &layers,
                choice,
                Some(deadline),
                decodes.as_ref(),
            )
        })
        .await?;
    let metrics = &state.metrics;
    metrics.observe_stage("queue", waited);
    let (encoded, timings) = result?;
    metrics.observe_decode_reuse(timings.decode_reuse, decode_admitted, || {
        state.decodes.weighted_bytes()
    });
    let times = observe_run(metrics, waited, fetch, timings);
    Ok(Arc::new(Rendered {
        etag: headers::etag(&encoded.bytes),
        bytes: Bytes::from(encoded.bytes),
        format: encoded.format,
        content_type: encoded.format.mime(),
        times,
    }))
}

/// Records a run's stages in the histograms, and returns the same figures
/// for its `Server-Timing`.
fn observe_run(
    metrics: &crate::metrics::Metrics,
    waited: std::time::Duration,
    fetch: SourceRead,
    timings: pipeline::Timings,
) -> StageTimes {
    metrics.observe_stage("decode", timings.decode);
    metrics.observe_stage("transform", timings.transform);
    metrics.observe_stage("encode", timings.encode);
    StageTimes {
        queue: Some(waited),
        fetch,
        decode: Some(timings.decode),
        decode_cached: timings.decode_reuse == Some(pipeline::decoded::DecodeReuse::Hit),
        transform: Some(timings.transform),
        encode: Some(timings.encode),
    }
}

/// `fl_getinfo`: the pipeline runs as for the image, and the answer is its
/// description (`pipeline::info`) as JSON.
async fn produce_info(
    state: &AppState,
    bytes: Bytes,
    fetch: SourceRead,
    chain: Chain,
    choice: OutputChoice,
    deadline: Instant,
) -> Result<Arc<Rendered>, ApiError> {
    let limits = state.limits;
    let (result, waited) = state
        .pool
        .run(move || {
            pipeline::info::describe(
                &pipeline::Pipeline::new(limits),
                &bytes,
                &chain,
                choice,
                Some(deadline),
            )
        })
        .await?;
    state.metrics.observe_stage("queue", waited);
    let (info, timings) = result?;
    let times = observe_run(&state.metrics, waited, fetch, timings);
    let json = info.to_json();
    Ok(Arc::new(Rendered {
        etag: headers::etag(&json),
        bytes: Bytes::from(json),
        format: ImageFormat::from_name(info.output.format).unwrap_or(ImageFormat::Jpeg),
        content_type: INFO_TYPE,
        times,
    }))
}

/// The `Content-Type` of `fl_getinfo` and `/info`.
const INFO_TYPE: &str = "application/json";

/// The source bytes: from the source cache (revalidated with the storage
/// when older than `cache_ttl`), from a download in flight, or downloaded
/// now; and how long the read took, for `Server-Timing`.
async fn download(state: &AppState, source: Source) -> Result<(Bytes, SourceRead), ApiError> {
    let task_state = state.clone();
    let ttl = state.config.cache_ttl;
    let is_fresh = move |cached: &Arc<CachedSource>| cached.checked.elapsed() < ttl;
    let (result, outcome) = state
        .sources
        .get_or_refresh(
            source_key(&source),
            &state.metrics,
            is_fresh,
            move |stale| async move {
                let metrics = &task_state.metrics;
                let previous = stale
                    .as_ref()
                    .map(|cached| &cached.fetched.validator)
                    .filter(|validator| !validator.is_empty());
                let started = Instant::now();
                let fetch = source.fetch_if_changed(&task_state.fetcher, previous).await?;
                let elapsed = started.elapsed();
                metrics.observe_stage("fetch", elapsed);
                let fetched = match (fetch, stale) {
                    (Fetch::Unchanged, Some(stale)) => {
                        metrics
                            .revalidations
                            .get_or_create(&RevalidationLabel { outcome: "unchanged" })
                            .inc();
                        stale.fetched.clone()
                    }
                    (Fetch::Unchanged, None) => return Err(FetchError::UpstreamStatus(304)),
                    (Fetch::Fresh(fetched), stale) => {
                        if stale.is_some() {
                            metrics
                                .revalidations
                                .get_or_create(&RevalidationLabel { outcome: "changed" })
                                .inc();
                        }
                        metrics.observe_fetch(source.kind().label(), fetched.bytes.len(), elapsed);
                        fetched
                    }
                };
                Ok(Arc::new(CachedSource {
                    fetched,
                    checked: Instant::now(),
                    read_in: elapsed,
                }))
            },
        )
        .await;
    let cached = result.map_err(ApiError::Internal)??;
    let read = match outcome {
        Outcome::Hit => SourceRead::Cached,
        Outcome::Ran | Outcome::Joined => SourceRead::Read(cached.read_in),
    };
    Ok((cached.fetched.bytes.clone(), read))
}

/// The image response, or `304` when the client has it already.
fn respond(state: &AppState, rendered: &Rendered, request: &HeaderMap, vary_accept: bool) -> Response {
    let cache_control = format!("public, max-age={}", state.config.cache_ttl.as_secs());
    let not_modified = headers::not_modified(request, &rendered.etag);
    let mut response = if not_modified {
        not_modified_response()
    } else {
        state.metrics.response_bytes.inc_by(rendered.bytes.len() as u64);
        let mut response = Response::new(Body::from(rendered.bytes.clone()));
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(rendered.content_type),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(rendered.bytes.len()));
        response
    };
    let h = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&rendered.etag) {
        h.insert(header::ETAG, etag);
    }
    if let Ok(value) = HeaderValue::from_str(&cache_control) {
        h.insert(header::CACHE_CONTROL, value);
    }
    if vary_accept {
        h.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    response
}

/// A `304` with no `Content-Length` at all. An empty body of known size
/// would make the router add `Content-Length: 0` to the answer to a HEAD,
/// which reads as "the image is empty"; a body of unknown size gets no
/// length, and the server sends no body with a 304 anyway.
fn not_modified_response() -> Response {
    let no_body = futures_util::stream::empty::<Result<Bytes, std::convert::Infallible>>();
    let mut response = Response::new(Body::from_stream(no_body));
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    response
}

/// Any other path.
pub async fn no_route(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

/// A known path asked with a method other than GET or HEAD (the router
/// adds the `Allow` header).
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// A panic in a handler (outside the pipeline, whose panics the pool
/// catches) becomes a 500 for this request alone.
pub fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::Internal(format!("handler panicked: {detail}")).into_response()
}
