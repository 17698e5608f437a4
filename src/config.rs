//! Configuration: every setting of the README's "Configuration" table, as
//! command-line flags with `RESIZER_*` environment twins, parsed and
//! validated once at start.
//!
//! Parsing happens in two stages: [`Settings`] is what clap read (strings
//! for sizes and durations, as the user wrote them), [`Config`] is the
//! validated, typed result the rest of the service uses. A bad value stops
//! start-up with a message naming the setting and its environment variable.
//!
//! This module is the one owner of every default ([`defaults`]): clap shows
//! them in `--help`, and the `Default`s of the grammar's and the pipeline's
//! limits are built from the same constants. [`Config`] hands each part of
//! the service its limits ([`Config::fetch_limits`],
//! [`Config::pipeline_limits`], [`Config::grammar_limits`]), so the mapping
//! from settings to limits is written once for the server and the CLI.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::fetch::FetchLimits;
use crate::options::{GrammarLimits, Presets};
use crate::pipeline;
use crate::source::{MountSpec, S3Settings};

/// Every default value, defined once. Settings, `--help`, the grammar's and
/// the pipeline's `Default` limits and the encoder all read them from here.
pub mod defaults {
    /// Listen on every interface, the port the old service used.
    pub const BIND: &str = "0.0.0.0:8080";
    /// Larger than any photo a camera or phone writes, small enough that a
    /// few concurrent downloads cannot exhaust memory.
    pub const MAX_SRC_BYTES: &str = "30MB";
    /// 50 MP: a large camera's photo; a decoded RGBA frame of it is 200 MB.
    pub const MAX_SRC_PIXELS: u64 = 50_000_000;
    /// The largest output side, after `dpr_`.
    pub const MAX_DIMENSION: u32 = 8192;
    /// Frames of an animation that are kept.
    pub const MAX_ANIMATION_FRAMES: u32 = 100;
    /// Frames x the larger of source and output pixels, all frames together:
    /// 500 megapixels, 100 frames of 5 MP. An animation streams through the
    /// pipeline, so its kept frames are what grows with it: 3-4 bytes per
    /// kept output pixel, plus 4 more while a WebP is encoded (the encoder
    /// takes every frame before it starts). A thumbnail costs little whatever
    /// the frame count; an animation re-encoded at a large size may keep up
    /// to ~2 GB (GIF) or ~3.5 GB (WebP) at this default, which small machines
    /// should lower (README, Security).
    pub const MAX_ANIMATION_PIXELS: u64 = 500_000_000;
    /// Tokens in one transformation: every documented key fits several times.
    pub const MAX_TOKENS: usize = 32;
    /// Encoder quality when the request has no `q_` token. The cache key
    /// treats `q_80` and no `q_` as one plan, so the grammar and the encoder
    /// must agree on this value: both read it here.
    pub const QUALITY: u8 = 80;
    pub const DOWNLOAD_TIMEOUT: &str = "10s";
    pub const CONNECT_TIMEOUT: &str = "3s";
    pub const PROCESSING_TIMEOUT: &str = "20s";
    pub const MAX_REDIRECTS: usize = 5;
    pub const MAX_URL_LENGTH: usize = 8192;
    pub const ALLOWED_PORTS: &str = "80,443";
    /// 0 stands for the number of CPU cores.
    pub const CONCURRENCY: usize = 0;
    pub const MAX_QUEUE: usize = 256;
    /// Longest a request waits for a slot before it gets a 503: under
    /// overload the queue is refused quickly instead of served late (see
    /// BENCHMARKS.md, "Overload and soak"). `0` = no bound but the queue length.
    pub const MAX_QUEUE_WAIT: &str = "2s";
    pub const CACHE_BYTES: &str = "256MB";
    pub const CACHE_TTL: &str = "1d";
    pub const SOURCE_CACHE_BYTES: &str = "64MB";
    pub const DECODE_CACHE_BYTES: &str = "64MB";
    pub const CACHE_ADMISSION: &str = "second";
    pub const METRICS: &str = "on";
    pub const LOG_FORMAT: &str = "text";
    /// Below the 30 s that Kubernetes and Docker wait before SIGKILL.
    pub const SHUTDOWN_TIMEOUT: &str = "25s";
    /// No mounts: a fresh install serves `?url=` sources only.
    pub const MOUNTS: &str = "";
    /// The region AWS tools assume when none is given.
    pub const S3_REGION: &str = "us-east-1";
    /// On, as before mounts existed; `off` makes a deployment serve its own
    /// mounts and nothing else.
    pub const REMOTE_URLS: &str = "on";
    /// The extensions a Cloudinary public ID is tried with when the key as
    /// given is not in the upload mount, in order: what an SDK-written ID
    /// (no extension, or the delivery format's) most often is stored as.
    pub const CLOUDINARY_EXTENSIONS: &str = "jpg,jpeg,png,webp,gif,avif,tif,tiff,bmp";
    /// Off: any transformation may be asked for, as before presets existed.
    pub const STRICT_TRANSFORMATIONS: &str = "off";
}

/// The codec crates in this build and their versions, as `Cargo.lock` pins
/// them (a unit test compares the two, so the list cannot go stale). The C
/// libraries come vendored in the `-sys` crates named beside them.
#[cfg(not(feature = "turbo"))]
macro_rules! codecs {
    () => {
        "jpeg-decoder 0.3.2, mozjpeg 0.10.13 (JPEG encoder, mozjpeg-sys 2.2.3), png 0.18.1, \
         gif 0.14.2, image-webp 0.2.4, webp 0.3.1 (libwebp encoder, libwebp-sys 0.9.6), \
         ravif 0.13.0 (rav1e 0.8.1), moxcms 0.9.2"
    };
}
#[cfg(feature = "turbo")]
macro_rules! codecs {
    () => {
        "jpeg-decoder 0.3.2, png 0.18.1, gif 0.14.2, image-webp 0.2.4, \
         webp 0.3.1 (libwebp encoder, libwebp-sys 0.9.6), \
         ravif 0.13.0 (rav1e 0.8.1, with its assembly), moxcms 0.9.2"
    };
}

#[cfg(feature = "turbo")]
macro_rules! features {
    () => {
        "turbo (JPEG decoded and written by libjpeg-turbo: turbojpeg 1.5.1, turbojpeg-sys 1.2.0; \
         still WebP decoded by libwebp; AVIF written with rav1e's assembly)"
    };
}
#[cfg(not(feature = "turbo"))]
macro_rules! features {
    () => {
        "none (built without turbo: every decoder is pure Rust)"
    };
}

/// `resizer --version`: the package version, the build's features and the
/// codec libraries it carries, so a report says which decoders ran.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\nfeatures: ",
    features!(),
    "\ncodecs: ",
    codecs!(),
);

/// resizer: an image resizing and conversion service.
#[derive(Debug, Parser)]
#[command(name = "resizer", version = VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub settings: Settings,
}

/// What the binary does.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve,
    /// Run one image through the pipeline, with the service's guard and limits.
    Convert {
        /// The source: a file, an http(s) URL (fetched through the same guard
        /// and limits as the service), or `-` for stdin; at most --max-src-bytes.
        input: String,
        /// A transformation such as `w_150,h_500,c_fill` (may be empty: "").
        transformation: String,
        /// Where to write: a file whose extension (.jpg, .png, .gif, .webp,
        /// .avif) is the format unless f_ says (they must agree), or `-` for
        /// stdout. f_auto with `-` or no extension is JPEG, PNG with alpha.
        output: String,
    },
    /// Print the signed path and query for a transformation and a source,
    /// or for a mount path.
    Sign {
        /// The signing key (defaults to the first of --signing-key).
        #[arg(long)]
        key: Option<String>,
        /// The path and query to sign: `/w_150,h_500?url=https://example.com/a.jpg`
        /// (transformation and source), or a mount path as it will be requested,
        /// `/w_150,h_500/photos/products/42.jpg` or `/photos/products/42.jpg`
        /// (the path, as written).
        path_and_query: String,
        /// Sign a Cloudinary delivery path (`/demo/image/upload/w_150/sample.jpg`)
        /// as Cloudinary's SDKs do, with --key or --cloudinary-api-secret.
        #[arg(long)]
        cloudinary: bool,
        /// With --cloudinary: the SDKs' `long_url_signature` (SHA-256, 32 characters).
        #[arg(long, requires = "cloudinary")]
        long: bool,
    },
}

/// Every setting, as written on the command line or in the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port the service listens on.
    #[arg(long, env = "RESIZER_BIND", default_value = defaults::BIND, global = true)]
    pub bind: String,

    /// Largest source accepted, in bytes (suffixes KB, MB, GB, KiB, MiB, GiB allowed).
    #[arg(long, env = "RESIZER_MAX_SRC_BYTES", default_value = defaults::MAX_SRC_BYTES, global = true)]
    pub max_src_bytes: String,

    /// Most pixels (width x height) of a source, checked from its header before decoding.
    #[arg(
        long,
        env = "RESIZER_MAX_SRC_PIXELS",
        default_value_t = defaults::MAX_SRC_PIXELS,
        global = true
    )]
    pub max_src_pixels: u64,

    /// Largest side of an output image, in pixels, after dpr.
    #[arg(long, env = "RESIZER_MAX_DIMENSION", default_value_t = defaults::MAX_DIMENSION, global = true)]
    pub max_dimension: u32,

    /// Most frames of an animated source that are transformed.
    #[arg(
        long,
        env = "RESIZER_MAX_ANIMATION_FRAMES",
        default_value_t = defaults::MAX_ANIMATION_FRAMES,
        global = true
    )]
    pub max_animation_frames: u32,

    /// Most pixels of all frames of an animation together: frames x the
    /// larger of source and output pixels (frames past it are dropped).
    #[arg(
        long,
        env = "RESIZER_MAX_ANIMATION_PIXELS",
        default_value_t = defaults::MAX_ANIMATION_PIXELS,
        global = true
    )]
    pub max_animation_pixels: u64,

    /// Deadline for a whole source download, headers and body (seconds, or 10s, 500ms).
    #[arg(long, env = "RESIZER_DOWNLOAD_TIMEOUT", default_value = defaults::DOWNLOAD_TIMEOUT, global = true)]
    pub download_timeout: String,

    /// Deadline for connecting to an origin.
    #[arg(long, env = "RESIZER_CONNECT_TIMEOUT", default_value = defaults::CONNECT_TIMEOUT, global = true)]
    pub connect_timeout: String,

    /// Deadline for decoding, transforming and encoding one image.
    #[arg(
        long,
        env = "RESIZER_PROCESSING_TIMEOUT",
        default_value = defaults::PROCESSING_TIMEOUT,
        global = true
    )]
    pub processing_timeout: String,

    /// Most redirects followed when fetching a source.
    #[arg(long, env = "RESIZER_MAX_REDIRECTS", default_value_t = defaults::MAX_REDIRECTS, global = true)]
    pub max_redirects: usize,

    /// Longest request path and query, in characters; longer is a 414.
    #[arg(long, env = "RESIZER_MAX_URL_LENGTH", default_value_t = defaults::MAX_URL_LENGTH, global = true)]
    pub max_url_length: usize,

    /// Most tokens in one transformation.
    #[arg(long, env = "RESIZER_MAX_TOKENS", default_value_t = defaults::MAX_TOKENS, global = true)]
    pub max_tokens: usize,

    /// Hosts sources may come from, comma-separated patterns such as
    /// `images.example.com,*.cdn.example.com`; empty means any public host.
    #[arg(long, env = "RESIZER_ALLOWED_SOURCES", default_value = "", global = true)]
    pub allowed_sources: String,

    /// Allow sources on loopback, private and other non-public addresses, on
    /// any port. For tests and local development only.
    #[arg(
        long,
        env = "RESIZER_ALLOW_PRIVATE_NETWORKS",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0..=1,
        default_missing_value = "true",
        global = true
    )]
    pub allow_private_networks: bool,

    /// Ports sources may use, comma-separated (any port when private networks are allowed).
    #[arg(long, env = "RESIZER_ALLOWED_PORTS", default_value = defaults::ALLOWED_PORTS, global = true)]
    pub allowed_ports: String,

    /// HMAC-SHA256 signing keys, comma-separated (several for rotation); unset
    /// means unsigned URLs are accepted.
    #[arg(long, env = "RESIZER_SIGNING_KEY", hide_env_values = true, global = true)]
    pub signing_key: Option<String>,

    /// Images processed at once (0 = number of CPU cores).
    #[arg(long, env = "RESIZER_CONCURRENCY", default_value_t = defaults::CONCURRENCY, global = true)]
    pub concurrency: usize,

    /// Requests waiting for a processing slot before new ones get a 503.
    #[arg(long, env = "RESIZER_MAX_QUEUE", default_value_t = defaults::MAX_QUEUE, global = true)]
    pub max_queue: usize,

    /// Longest a request waits for a processing slot before it gets a 503 (0 = no bound).
    #[arg(long, env = "RESIZER_MAX_QUEUE_WAIT", default_value = defaults::MAX_QUEUE_WAIT, global = true)]
    pub max_queue_wait: String,

    /// Result cache size in memory (0 = off).
    #[arg(long, env = "RESIZER_CACHE_BYTES", default_value = defaults::CACHE_BYTES, global = true)]
    pub cache_bytes: String,

    /// How long results are cached, and the max-age sent to clients.
    #[arg(long, env = "RESIZER_CACHE_TTL", default_value = defaults::CACHE_TTL, global = true)]
    pub cache_ttl: String,

    /// Source cache size in memory, so many sizes of one source download it once (0 = off).
    #[arg(
        long,
        env = "RESIZER_SOURCE_CACHE_BYTES",
        default_value = defaults::SOURCE_CACHE_BYTES,
        global = true
    )]
    pub source_cache_bytes: String,

    /// Decoded sources kept in memory, so other sizes, crops and formats of a
    /// hot source skip the decode (0 = off).
    #[arg(
        long,
        env = "RESIZER_DECODE_CACHE_BYTES",
        default_value = defaults::DECODE_CACHE_BYTES,
        global = true
    )]
    pub decode_cache_bytes: String,

    /// When a result, source or decode enters its cache: on the `second`
    /// request for it (one-off images never fill the caches) or the `first`.
    #[arg(
        long,
        env = "RESIZER_CACHE_ADMISSION",
        default_value = defaults::CACHE_ADMISSION,
        global = true
    )]
    pub cache_admission: String,

    /// Serve /metrics on the main address (`on`), on another address
    /// (e.g. `127.0.0.1:9090`), or not at all (`off`).
    #[arg(long, env = "RESIZER_METRICS", default_value = defaults::METRICS, global = true)]
    pub metrics: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "RESIZER_LOG_FORMAT", default_value = defaults::LOG_FORMAT, global = true)]
    pub log_format: String,

    /// How long requests in flight may take to finish after SIGTERM/SIGINT.
    #[arg(long, env = "RESIZER_SHUTDOWN_TIMEOUT", default_value = defaults::SHUTDOWN_TIMEOUT, global = true)]
    pub shutdown_timeout: String,

    /// Storage served by path, comma-separated `name=target`: targets
    /// `https://host[:port]/prefix/`, `file:///absolute/folder` or
    /// `s3://bucket[/prefix]`; `GET /{transformation}/{name}/{key}`.
    #[arg(long, env = "RESIZER_MOUNTS", default_value = defaults::MOUNTS, global = true)]
    pub mounts: String,

    /// Endpoint of S3-compatible storage (MinIO, Ceph, R2...); unset means AWS.
    #[arg(long, env = "RESIZER_S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,

    /// Region S3 requests are signed for.
    #[arg(long, env = "RESIZER_S3_REGION", default_value = defaults::S3_REGION, global = true)]
    pub s3_region: String,

    /// Address buckets by path (`endpoint/bucket/key`) instead of by host
    /// name (`bucket.endpoint/key`); most self-hosted storage needs it.
    #[arg(
        long,
        env = "RESIZER_S3_PATH_STYLE",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0..=1,
        default_missing_value = "true",
        global = true
    )]
    pub s3_path_style: bool,

    /// Serve `?url=` sources (`on`), or answer them 403 `remote_urls_disabled` (`off`).
    #[arg(long, env = "RESIZER_REMOTE_URLS", default_value = defaults::REMOTE_URLS, global = true)]
    pub remote_urls: String,

    /// Cloudinary cloud name: when set, `/{cloud}/image/...` with another
    /// name is 404 (the cloud segment stays optional).
    #[arg(long, env = "RESIZER_CLOUDINARY_CLOUD_NAME", global = true)]
    pub cloudinary_cloud_name: Option<String>,

    /// The mount `/image/upload/...` reads public IDs from; unset: 404.
    #[arg(long, env = "RESIZER_CLOUDINARY_UPLOAD_MOUNT", global = true)]
    pub cloudinary_upload_mount: Option<String>,

    /// Cloudinary API secret: when set, every `/image/...` request needs the
    /// `s--{sig}--` segment the SDKs compute with it (`sign_url=True`).
    #[arg(
        long,
        env = "RESIZER_CLOUDINARY_API_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub cloudinary_api_secret: Option<String>,

    /// Extensions tried, in order, for an upload public ID not stored under
    /// the key as given (comma-separated).
    #[arg(long, env = "RESIZER_CLOUDINARY_EXTENSIONS", default_value = defaults::CLOUDINARY_EXTENSIONS, global = true)]
    pub cloudinary_extensions: String,

    /// File of named transformations for `t_{name}`: one `name = transformation`
    /// per line (chains allowed), `#` comments.
    #[arg(long, env = "RESIZER_PRESETS", global = true)]
    pub presets: Option<std::path::PathBuf>,

    /// `on`: only `t_` tokens are accepted (403 `named_transformation_required`).
    #[arg(long, env = "RESIZER_STRICT_TRANSFORMATIONS", default_value = defaults::STRICT_TRANSFORMATIONS, global = true)]
    pub strict_transformations: String,

    /// The page at /playground (`on`/`off`); unset: on, unless a signing key
    /// is set (a page cannot sign without holding the key).
    #[arg(long, env = "RESIZER_PLAYGROUND", global = true)]
    pub playground: Option<String>,
}

/// Where `/metrics` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAddr {
    /// On the main listener.
    Main,
    /// On a listener of its own.
    Separate(SocketAddr),
    /// Not at all.
    Off,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub max_src_bytes: u64,
    pub max_src_pixels: u64,
    pub max_dimension: u32,
    pub max_animation_frames: u32,
    pub max_animation_pixels: u64,
    pub download_timeout: Duration,
    pub connect_timeout: Duration,
    pub processing_timeout: Duration,
    pub max_redirects: usize,
    pub max_url_length: usize,
    pub max_tokens: usize,
    pub allowed_sources: Vec<String>,
    pub allow_private_networks: bool,
    pub allowed_ports: Vec<u16>,
    /// Keys for signature checks; empty means signing is off.
    pub signing_keys: Vec<Vec<u8>>,
    pub concurrency: usize,
    pub max_queue: usize,
    /// Longest wait for a processing slot; `None` = bounded by `max_queue` alone.
    pub max_queue_wait: Option<Duration>,
    pub cache_bytes: u64,
    pub cache_ttl: Duration,
    pub source_cache_bytes: u64,
    /// Decoded sources kept for other renditions (`pipeline::decoded`); 0 = off.
    pub decode_cache_bytes: u64,
    /// When what missed enters the result, source and decode caches.
    pub cache_admission: crate::admission::Admission,
    pub metrics: MetricsAddr,
    pub log_format: LogFormat,
    pub shutdown_timeout: Duration,
    /// Storage served by path; names checked, folders found at start.
    pub mounts: Vec<MountSpec>,
    /// Endpoint, region and addressing of every S3 mount.
    pub s3: S3Settings,
    /// Whether `?url=` sources are served.
    pub remote_urls: bool,
    /// The Cloudinary URL forms (`/image/fetch`, `/image/upload`).
    pub cloudinary: CloudinarySettings,
    /// Named transformations for `t_{name}`, validated at start.
    pub presets: Presets,
    /// Whether only `t_` tokens are accepted.
    pub strict_transformations: bool,
    /// Whether `/playground` (and its samples) is served.
    pub playground: bool,
}

/// Settings of the Cloudinary URL forms.
#[derive(Clone, Default)]
pub struct CloudinarySettings {
    /// Set: a `{cloud}` segment naming another cloud is 404.
    pub cloud_name: Option<String>,
    /// The mount `image/upload` reads from; checked to exist at start.
    pub upload_mount: Option<String>,
    /// Set: every `image/` request must carry a valid `s--{sig}--`.
    pub api_secret: Option<String>,
    /// Extensions tried for a public ID, in order, without the dot.
    pub extensions: Vec<String>,
}

/// The secret stays out of logs and panics.
impl std::fmt::Debug for CloudinarySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudinarySettings")
            .field("cloud_name", &self.cloud_name)
            .field("upload_mount", &self.upload_mount)
            .field("api_secret", &self.api_secret.as_ref().map(|_| "<set>"))
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// A setting with a value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting --{setting} ({env}): {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub env: String,
    pub reason: String,
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        env: format!("RESIZER_{}", setting.replace('-', "_").to_uppercase()),
        reason: reason.into(),
    }
}

impl Settings {
    /// The defaults, as `--help` shows them.
    pub fn defaults() -> Settings {
        Cli::parse_from(["resizer"]).settings
    }

    /// Checks every value and builds the typed configuration.
    pub fn validate(&self) -> Result<Config, ConfigError> {
        let bind = self.bind.parse().map_err(|_| {
            invalid(
                "bind",
                format!("`{}` is not an address such as 0.0.0.0:8080", self.bind),
            )
        })?;
        let max_src_bytes = parse_bytes(&self.max_src_bytes).map_err(|r| invalid("max-src-bytes", r))?;
        if max_src_bytes == 0 {
            return Err(invalid("max-src-bytes", "must be more than 0"));
        }
        if self.max_src_pixels == 0 {
            return Err(invalid("max-src-pixels", "must be more than 0"));
        }
        if !(1..=65_535).contains(&self.max_dimension) {
            return Err(invalid("max-dimension", "must be within 1..=65535"));
        }
        if self.max_animation_frames == 0 {
            return Err(invalid("max-animation-frames", "must be at least 1"));
        }
        let download_timeout = positive_duration("download-timeout", &self.download_timeout)?;
        let connect_timeout = positive_duration("connect-timeout", &self.connect_timeout)?;
        let processing_timeout = positive_duration("processing-timeout", &self.processing_timeout)?;
        let shutdown_timeout =
            parse_duration(&self.shutdown_timeout).map_err(|r| invalid("shutdown-timeout", r))?;
        let max_queue_wait = parse_duration(&self.max_queue_wait)
            .map_err(|r| invalid("max-queue-wait", r))
            .map(|wait| (!wait.is_zero()).then_some(wait))?;
        if self.max_url_length < 16 {
            return Err(invalid("max-url-length", "must be at least 16"));
        }
        if self.max_tokens == 0 {
            return Err(invalid("max-tokens", "must be at least 1"));
        }
        let allowed_sources = split_list(&self.allowed_sources)
            .into_iter()
            .map(|pattern| check_host_pattern(&pattern).map(|()| pattern.to_ascii_lowercase()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| invalid("allowed-sources", r))?;
        let allowed_ports = split_list(&self.allowed_ports)
            .iter()
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("`{p}` is not a port"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| invalid("allowed-ports", r))?;
        let signing_keys: Vec<Vec<u8>> = self
            .signing_key
            .as_deref()
            .map(split_list)
            .unwrap_or_default()
            .into_iter()
            .map(String::into_bytes)
            .collect();
        if signing_keys.iter().any(|k| k.len() < crate::signing::MIN_KEY_LEN) {
            return Err(invalid("signing-key", "each key must be at least 16 bytes long"));
        }
        let concurrency = match self.concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let cache_bytes = parse_bytes(&self.cache_bytes).map_err(|r| invalid("cache-bytes", r))?;
        let cache_ttl = positive_duration("cache-ttl", &self.cache_ttl)?;
        let source_cache_bytes =
            parse_bytes(&self.source_cache_bytes).map_err(|r| invalid("source-cache-bytes", r))?;
        let decode_cache_bytes =
            parse_bytes(&self.decode_cache_bytes).map_err(|r| invalid("decode-cache-bytes", r))?;
        let metrics = match parse_bool(&self.metrics) {
            Some(true) => MetricsAddr::Main,
            Some(false) => MetricsAddr::Off,
            None => MetricsAddr::Separate(self.metrics.trim().parse().map_err(|_| {
                let addr = self.metrics.trim();
                invalid(
                    "metrics",
                    format!("`{addr}` is not `on`, `off` or an address such as 127.0.0.1:9090"),
                )
            })?),
        };
        let cache_admission = match self.cache_admission.trim() {
            "first" => crate::admission::Admission::First,
            "second" => crate::admission::Admission::Second,
            other => {
                return Err(invalid(
                    "cache-admission",
                    format!("`{other}` is not `first` or `second`"),
                ));
            }
        };
        let log_format = match self.log_format.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log-format",
                    format!("`{other}` is not `text` or `json`"),
                ));
            }
        };
        let mounts = crate::source::parse_mounts(&self.mounts).map_err(|r| invalid("mounts", r))?;
        let s3_endpoint = self
            .s3_endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|endpoint| match url::Url::parse(endpoint) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                    Ok(endpoint.trim_end_matches('/').to_owned())
                }
                _ => Err(invalid(
                    "s3-endpoint",
                    format!("`{endpoint}` is not an http(s) URL such as https://minio.internal:9000"),
                )),
            })
            .transpose()?;
        let s3_region = self.s3_region.trim();
        if s3_region.is_empty() {
            return Err(invalid("s3-region", "must not be empty"));
        }
        let remote_urls = parse_bool(&self.remote_urls).ok_or_else(|| {
            invalid(
                "remote-urls",
                format!("`{}` is not `on` or `off`", self.remote_urls.trim()),
            )
        })?;
        let cloudinary = self.cloudinary_settings(&mounts)?;
        let grammar = crate::options::GrammarLimits {
            max_dimension: self.max_dimension,
            max_tokens: self.max_tokens,
        };
        let presets = match &self.presets {
            None => Presets::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| invalid("presets", format!("cannot read {}: {e}", path.display())))?;
                Presets::parse(&text, &grammar)
                    .map_err(|e| invalid("presets", format!("{}: {e}", path.display())))?
            }
        };
        let strict_transformations = parse_bool(&self.strict_transformations).ok_or_else(|| {
            invalid(
                "strict-transformations",
                format!("`{}` is not `on` or `off`", self.strict_transformations.trim()),
            )
        })?;
        let playground = match self.playground.as_deref().map(str::trim) {
            None | Some("") => signing_keys.is_empty(),
            Some(text) => parse_bool(text)
                .ok_or_else(|| invalid("playground", format!("`{text}` is not `on` or `off`")))?,
        };
        Ok(Config {
            bind,
            max_src_bytes,
            max_src_pixels: self.max_src_pixels,
            max_dimension: self.max_dimension,
            max_animation_frames: self.max_animation_frames,
            max_animation_pixels: self.max_animation_pixels,
            download_timeout,
            connect_timeout,
            processing_timeout,
            max_redirects: self.max_redirects,
            max_url_length: self.max_url_length,
            max_tokens: self.max_tokens,
            allowed_sources,
            allow_private_networks: self.allow_private_networks,
            allowed_ports,
            signing_keys,
            concurrency,
            max_queue: self.max_queue,
            max_queue_wait,
            cache_bytes,
            cache_ttl,
            source_cache_bytes,
            decode_cache_bytes,
            cache_admission,
            metrics,
            log_format,
            shutdown_timeout,
            mounts,
            s3: S3Settings {
                endpoint: s3_endpoint,
                region: s3_region.to_owned(),
                path_style: self.s3_path_style,
            },
            remote_urls,
            cloudinary,
            presets,
            strict_transformations,
            playground,
        })
    }

    /// The Cloudinary settings, empty values read as unset; the upload
    /// mount must be one of `mounts`.
    fn cloudinary_settings(&self, mounts: &[MountSpec]) -> Result<CloudinarySettings, ConfigError> {
        let set = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let upload_mount = set(&self.cloudinary_upload_mount);
        if let Some(name) = &upload_mount
            && !mounts.iter().any(|m| &m.name == name)
        {
            return Err(invalid(
                "cloudinary-upload-mount",
                format!("no mount named `{name}` in --mounts"),
            ));
        }
        let extensions: Vec<String> = self
            .cloudinary_extensions
            .split(',')
            .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        if let Some(bad) = extensions
            .iter()
            .find(|e| !e.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(invalid(
                "cloudinary-extensions",
                format!("`{bad}` is not an extension (letters and digits)"),
            ));
        }
        Ok(CloudinarySettings {
            cloud_name: set(&self.cloudinary_cloud_name),
            upload_mount,
            api_secret: self.cloudinary_api_secret.clone().filter(|s| !s.is_empty()),
            extensions,
        })
    }
}

impl Settings {
    /// Validates for `resizer convert` and `resizer sign`, which serve
    /// nothing: settings only the server reads (listen and metrics addresses,
    /// caches, URL length, shutdown) are replaced by inert values first, so a
    /// value meant for the server (a `RESIZER_BIND` in a shared environment)
    /// cannot stop a command.
    pub fn validate_for_command(&self) -> Result<Config, ConfigError> {
        Settings {
            bind: "127.0.0.1:0".into(),
            metrics: "off".into(),
            cache_bytes: "0".into(),
            cache_ttl: "1s".into(),
            source_cache_bytes: "0".into(),
            decode_cache_bytes: "0".into(),
            cache_admission: defaults::CACHE_ADMISSION.into(),
            max_url_length: usize::MAX,
            shutdown_timeout: "0s".into(),
            // Commands read files and URLs, not mounts: a mount folder
            // missing where a command runs must not stop it.
            mounts: String::new(),
            cloudinary_upload_mount: None,
            ..self.clone()
        }
        .validate()
    }
}

impl Config {
    /// The defaults, validated. Tests start from this and change what they need.
    pub fn defaults() -> Config {
        Settings::defaults()
            .validate()
            .expect("the default settings are valid")
    }

    /// What a download may cost: bytes, deadlines, redirects.
    pub fn fetch_limits(&self) -> FetchLimits {
        FetchLimits {
            max_bytes: self.max_src_bytes,
            connect_timeout: self.connect_timeout,
            download_timeout: self.download_timeout,
            max_redirects: self.max_redirects,
        }
    }

    /// What one image may cost in the pipeline: pixels, sides, frames.
    pub fn pipeline_limits(&self) -> pipeline::Limits {
        pipeline::Limits {
            max_src_pixels: self.max_src_pixels,
            max_dimension: self.max_dimension,
            max_animation_frames: self.max_animation_frames,
            max_animation_pixels: self.max_animation_pixels,
        }
    }

    /// What the grammar checks before anything is fetched.
    pub fn grammar_limits(&self) -> GrammarLimits {
        GrammarLimits {
            max_dimension: self.max_dimension,
            max_tokens: self.max_tokens,
        }
    }
}

impl Cli {
    /// Parses the command line and the environment, exiting with clap's
    /// message on a refused value, which then also names the environment
    /// variable (a bad `RESIZER_CONCURRENCY=-1` is found by its name).
    pub fn parse_or_exit() -> Cli {
        Cli::try_parse().unwrap_or_else(|e| name_env_twin(e).exit())
    }
}

/// Adds the environment twin to clap's message about a refused value.
fn name_env_twin(error: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(error.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation) {
        return error;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    let long = arg
        .trim_start_matches('-')
        .split([' ', '='])
        .next()
        .unwrap_or_default();
    let command = Cli::command();
    let Some(env) = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
    else {
        return error;
    };
    let rendered = error.render().to_string();
    let message = rendered.replacen(arg.as_str(), &format!("{arg} ({})", env.to_string_lossy()), 1);
    clap::Error::raw(error.kind(), message.trim_start_matches("error: "))
}

/// The usual spellings of a switch, as clap's boolish parser reads flags:
/// `on`/`off`, `true`/`false`, `yes`/`no`, `1`/`0` (and `y`/`n`, `t`/`f`),
/// in any case.
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "y" | "t" | "1" => Some(true),
        "off" | "false" | "no" | "n" | "f" | "0" => Some(false),
        _ => None,
    }
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Accepts `images.example.com` and `*.example.com`.
fn check_host_pattern(pattern: &str) -> Result<(), String> {
    let host = pattern.strip_prefix("*.").unwrap_or(pattern);
    let valid = !host.is_empty()
        && host
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{pattern}` is not a host pattern such as images.example.com or *.example.com"
        ))
    }
}

/// Parses a size: plain bytes, or a number with KB/MB/GB (powers of 1000)
/// or KiB/MiB/GiB (powers of 1024).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(format!("`{text}` is not a size such as 30000000, 30MB or 64MiB")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 30000000, 30MB or 64MiB"))?;
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// Parses a duration: plain seconds, or a number with ms, s, m, h or d.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("`{text}` is not a duration such as 10, 10s, 500ms or 1d")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 10, 10s, 500ms or 1d"))?;
    Duration::try_from_secs_f64(value * seconds_per_unit).map_err(|_| format!("`{text}` is out of range"))
}

fn positive_duration(setting: &'static str, text: &str) -> Result<Duration, ConfigError> {
    let duration = parse_duration(text).map_err(|r| invalid(setting, r))?;
    if duration.is_zero() {
        return Err(invalid(setting, "must be more than 0"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let config = Config::defaults();
        assert_eq!(config.bind, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(config.max_src_bytes, 30_000_000);
        assert_eq!(config.max_src_pixels, 50_000_000);
        assert_eq!(config.max_dimension, 8192);
        assert_eq!(config.max_animation_frames, 100);
        assert_eq!(config.max_animation_pixels, 500_000_000);
        assert_eq!(config.download_timeout, Duration::from_secs(10));
        assert_eq!(config.connect_timeout, Duration::from_secs(3));
        assert_eq!(config.max_redirects, 5);
        assert_eq!(config.max_url_length, 8192);
        assert_eq!(config.max_tokens, 32);
        assert!(config.allowed_sources.is_empty());
        assert!(!config.allow_private_networks);
        assert_eq!(config.allowed_ports, vec![80, 443]);
        assert!(config.signing_keys.is_empty());
        assert!(config.concurrency >= 1);
        assert_eq!(config.cache_bytes, 256_000_000);
        assert_eq!(config.cache_ttl, Duration::from_secs(86_400));
        assert_eq!(config.cache_admission, crate::admission::Admission::Second);
        assert_eq!(config.metrics, MetricsAddr::Main);
        assert!(config.mounts.is_empty());
        assert!(config.remote_urls);
        assert_eq!(config.s3.region, "us-east-1");
        assert_eq!(config.s3.endpoint, None);
        assert!(!config.s3.path_style);
    }

    #[test]
    fn cache_admission_is_first_or_second() {
        let mut settings = Settings::defaults();
        settings.cache_admission = " first ".into();
        assert_eq!(
            settings.validate().unwrap().cache_admission,
            crate::admission::Admission::First
        );
        settings.cache_admission = "third".into();
        let error = settings.validate().unwrap_err();
        assert_eq!(error.setting, "cache-admission");
        assert!(error.to_string().contains("RESIZER_CACHE_ADMISSION"), "{error}");
        assert!(
            error.to_string().contains("`third` is not `first` or `second`"),
            "{error}"
        );
    }

    #[test]
    fn the_playground_is_on_unless_urls_are_signed() {
        assert!(Config::defaults().playground);
        let mut settings = Settings::defaults();
        settings.signing_key = Some("0123456789abcdef0123".into());
        assert!(!settings.validate().unwrap().playground);
        settings.playground = Some("on".into());
        assert!(settings.validate().unwrap().playground);
        let mut settings = Settings::defaults();
        settings.playground = Some("off".into());
        assert!(!settings.validate().unwrap().playground);
        settings.playground = Some("maybe".into());
        let error = settings.validate().unwrap_err();
        assert_eq!(error.setting, "playground");
        assert!(error.to_string().contains("RESIZER_PLAYGROUND"), "{error}");
    }

    #[test]
    fn mount_settings_are_checked() {
        let mut settings = Settings::defaults();
        settings.mounts = "health=https://a.example/".into();
        let error = settings.validate().unwrap_err();
        assert_eq!(error.setting, "mounts");
        assert!(error.to_string().contains("RESIZER_MOUNTS"), "{error}");
        assert!(error.to_string().contains("routes itself"), "{error}");

        let mut settings = Settings::defaults();
        settings.mounts = "web=https://img.example.com/a,b=s3://bucket/p".into();
        settings.s3_endpoint = Some("http://127.0.0.1:9000/".into());
        settings.s3_path_style = true;
        settings.remote_urls = "off".into();
        let config = settings.validate().unwrap();
        assert_eq!(config.mounts.len(), 2);
        assert_eq!(config.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(config.s3.path_style);
        assert!(!config.remote_urls);

        let mut settings = Settings::defaults();
        settings.s3_endpoint = Some("minio:9000".into());
        assert_eq!(settings.validate().unwrap_err().setting, "s3-endpoint");
        let mut settings = Settings::defaults();
        settings.remote_urls = "sometimes".into();
        assert_eq!(settings.validate().unwrap_err().setting, "remote-urls");
        // Commands do not read mounts.
        let mut settings = Settings::defaults();
        settings.mounts = "a=file:///definitely/not/here".into();
        assert!(settings.validate().is_err());
        assert!(settings.validate_for_command().unwrap().mounts.is_empty());
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("30MB").unwrap(), 30_000_000);
        assert_eq!(parse_bytes("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1.5 kb").unwrap(), 1500);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("10XB").is_err());
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn max_queue_wait_is_a_duration_and_zero_turns_it_off() {
        assert_eq!(Config::defaults().max_queue_wait, Some(Duration::from_secs(2)));
        let mut settings = Settings::defaults();
        settings.max_queue_wait = "750ms".into();
        assert_eq!(
            settings.validate().unwrap().max_queue_wait,
            Some(Duration::from_millis(750))
        );
        settings.max_queue_wait = "0".into();
        assert_eq!(settings.validate().unwrap().max_queue_wait, None);
        settings.max_queue_wait = "soon".into();
        assert_eq!(settings.validate().unwrap_err().setting, "max-queue-wait");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let mut settings = Settings::defaults();
        settings.max_src_bytes = "huge".into();
        let err = settings.validate().unwrap_err();
        assert_eq!(err.setting, "max-src-bytes");
        assert!(err.to_string().contains("RESIZER_MAX_SRC_BYTES"), "{err}");

        let mut settings = Settings::defaults();
        settings.allowed_sources = "https://example.com/".into();
        assert_eq!(settings.validate().unwrap_err().setting, "allowed-sources");

        let mut settings = Settings::defaults();
        settings.signing_key = Some("short".into());
        assert_eq!(settings.validate().unwrap_err().setting, "signing-key");

        let mut settings = Settings::defaults();
        settings.metrics = "sometimes".into();
        assert_eq!(settings.validate().unwrap_err().setting, "metrics");
    }

    #[test]
    fn limits_are_handed_out_from_the_settings() {
        let mut config = Config::defaults();
        config.max_dimension = 1000;
        config.max_tokens = 7;
        config.max_src_pixels = 123;
        config.max_animation_frames = 4;
        config.max_animation_pixels = 456;
        config.max_src_bytes = 789;
        config.max_redirects = 2;
        config.connect_timeout = Duration::from_millis(10);
        config.download_timeout = Duration::from_millis(20);
        let grammar = config.grammar_limits();
        assert_eq!((grammar.max_dimension, grammar.max_tokens), (1000, 7));
        let pipeline = config.pipeline_limits();
        assert_eq!(
            (
                pipeline.max_src_pixels,
                pipeline.max_dimension,
                pipeline.max_animation_frames,
                pipeline.max_animation_pixels
            ),
            (123, 1000, 4, 456)
        );
        let fetch = config.fetch_limits();
        assert_eq!((fetch.max_bytes, fetch.max_redirects), (789, 2));
        assert_eq!(
            (fetch.connect_timeout, fetch.download_timeout),
            (Duration::from_millis(10), Duration::from_millis(20))
        );
    }

    #[test]
    fn the_limits_defaults_are_the_settings_defaults() {
        let config = Config::defaults();
        let (grammar, pipeline) = (GrammarLimits::default(), pipeline::Limits::default());
        assert_eq!(grammar.max_dimension, config.grammar_limits().max_dimension);
        assert_eq!(grammar.max_tokens, config.grammar_limits().max_tokens);
        let ours = config.pipeline_limits();
        assert_eq!(pipeline.max_src_pixels, ours.max_src_pixels);
        assert_eq!(pipeline.max_dimension, ours.max_dimension);
        assert_eq!(pipeline.max_animation_frames, ours.max_animation_frames);
        assert_eq!(pipeline.max_animation_pixels, ours.max_animation_pixels);
    }

    #[test]
    fn switches_accept_the_usual_spellings() {
        for yes in ["1", "yes", "TRUE", "on", "Y", "true"] {
            let cli = Cli::try_parse_from(["resizer", "--allow-private-networks", yes]).unwrap();
            assert!(cli.settings.allow_private_networks, "{yes}");
            assert_eq!(parse_bool(yes), Some(true), "{yes}");
        }
        for no in ["0", "no", "FALSE", "off", "n", "false"] {
            let cli = Cli::try_parse_from(["resizer", "--allow-private-networks", no]).unwrap();
            assert!(!cli.settings.allow_private_networks, "{no}");
            assert_eq!(parse_bool(no), Some(false), "{no}");
        }
        assert!(Cli::try_parse_from(["resizer", "--allow-private-networks", "maybe"]).is_err());
        let cli = Cli::try_parse_from(["resizer", "--allow-private-networks"]).unwrap();
        assert!(cli.settings.allow_private_networks);

        let mut settings = Settings::defaults();
        settings.metrics = "NO".into();
        assert_eq!(settings.validate().unwrap().metrics, MetricsAddr::Off);
        settings.metrics = "Yes".into();
        assert_eq!(settings.validate().unwrap().metrics, MetricsAddr::Main);
    }

    #[test]
    fn a_value_clap_refuses_names_the_environment_variable() {
        // (`-1` on the command line reads as a flag; from the environment
        // it is a value: tests/it/edges.rs checks that spelling.)
        let error = Cli::try_parse_from(["resizer", "--concurrency", "lots"]).unwrap_err();
        let message = name_env_twin(error).to_string();
        assert!(message.contains("RESIZER_CONCURRENCY"), "{message}");
        assert!(message.contains("--concurrency"), "{message}");
        assert!(message.contains("lots"), "{message}");
        let error = Cli::try_parse_from(["resizer", "--allow-private-networks", "maybe"]).unwrap_err();
        let message = name_env_twin(error).to_string();
        assert!(message.contains("RESIZER_ALLOW_PRIVATE_NETWORKS"), "{message}");
    }

    #[test]
    fn the_version_names_the_codecs_at_the_locked_versions() {
        let lock = include_str!("../Cargo.lock");
        let locked = |name: &str| {
            let at = lock
                .find(&format!("name = \"{name}\"\nversion = \""))
                .unwrap_or_else(|| panic!("{name} is not in Cargo.lock"));
            let rest = &lock[at + name.len() + 21..];
            rest[..rest.find('"').unwrap()].to_owned()
        };
        let mut named = 0;
        for entry in VERSION.split([',', '(', ')', '\n']) {
            let entry = entry.trim();
            let Some((name, version)) = entry.rsplit_once(' ') else {
                continue;
            };
            let name = name.rsplit(' ').next().unwrap();
            if version.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                assert_eq!(locked(name), version, "{name} in --version");
                named += 1;
            }
        }
        assert!(named >= 8, "{VERSION}");
        assert!(VERSION.contains(if cfg!(feature = "turbo") {
            "turbo ("
        } else {
            "without turbo"
        }));
    }

    #[test]
    fn lists_are_split_and_trimmed() {
        let mut settings = Settings::defaults();
        settings.allowed_sources = " images.example.com , *.cdn.example.com ".into();
        settings.signing_key = Some("0123456789abcdef,fedcba9876543210".into());
        let config = settings.validate().unwrap();
        assert_eq!(
            config.allowed_sources,
            vec!["images.example.com", "*.cdn.example.com"]
        );
        assert_eq!(config.signing_keys.len(), 2);
    }
}
