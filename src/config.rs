//! Configuration: every setting of SPEC §5, as command-line flags with
//! `RESIZER_*` environment twins, parsed and validated once at start.
//!
//! Parsing happens in two stages: [`Settings`] is what clap read (strings
//! for sizes and durations, as the user wrote them), [`Config`] is the
//! validated, typed result the rest of the service uses. A bad value stops
//! start-up with a message naming the setting.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// resizer: an image resizing and conversion service.
#[derive(Debug, Parser)]
#[command(name = "resizer", version, about, long_about = None)]
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
    /// Print the signed path and query for a transformation and a source.
    Sign {
        /// The signing key (defaults to the first of --signing-key).
        #[arg(long)]
        key: Option<String>,
        /// The path and query to sign, e.g. `/w_150,h_500?url=https://example.com/a.jpg`.
        path_and_query: String,
    },
}

/// Every setting, as written on the command line or in the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port the service listens on.
    #[arg(long, env = "RESIZER_BIND", default_value = "0.0.0.0:8080", global = true)]
    pub bind: String,

    /// Largest source accepted, in bytes (suffixes KB, MB, GB, KiB, MiB, GiB allowed).
    #[arg(long, env = "RESIZER_MAX_SRC_BYTES", default_value = "30MB", global = true)]
    pub max_src_bytes: String,

    /// Most pixels (width x height) of a source, checked from its header before decoding.
    #[arg(
        long,
        env = "RESIZER_MAX_SRC_PIXELS",
        default_value_t = 50_000_000,
        global = true
    )]
    pub max_src_pixels: u64,

    /// Largest side of an output image, in pixels, after dpr.
    #[arg(long, env = "RESIZER_MAX_DIMENSION", default_value_t = 8192, global = true)]
    pub max_dimension: u32,

    /// Most frames of an animated source that are transformed.
    #[arg(
        long,
        env = "RESIZER_MAX_ANIMATION_FRAMES",
        default_value_t = 100,
        global = true
    )]
    pub max_animation_frames: u32,

    /// Most pixels of all frames of an animation together: frames x the
    /// larger of source and output pixels (frames past it are dropped).
    #[arg(
        long,
        env = "RESIZER_MAX_ANIMATION_PIXELS",
        default_value_t = crate::pipeline::MAX_ANIMATION_PIXELS,
        global = true
    )]
    pub max_animation_pixels: u64,

    /// Deadline for a whole source download, headers and body (seconds, or 10s, 500ms).
    #[arg(long, env = "RESIZER_DOWNLOAD_TIMEOUT", default_value = "10s", global = true)]
    pub download_timeout: String,

    /// Deadline for connecting to an origin.
    #[arg(long, env = "RESIZER_CONNECT_TIMEOUT", default_value = "3s", global = true)]
    pub connect_timeout: String,

    /// Deadline for decoding, transforming and encoding one image.
    #[arg(
        long,
        env = "RESIZER_PROCESSING_TIMEOUT",
        default_value = "20s",
        global = true
    )]
    pub processing_timeout: String,

    /// Most redirects followed when fetching a source.
    #[arg(long, env = "RESIZER_MAX_REDIRECTS", default_value_t = 5, global = true)]
    pub max_redirects: usize,

    /// Longest request path and query, in characters; longer is a 414.
    #[arg(long, env = "RESIZER_MAX_URL_LENGTH", default_value_t = 8192, global = true)]
    pub max_url_length: usize,

    /// Most tokens in one transformation.
    #[arg(long, env = "RESIZER_MAX_TOKENS", default_value_t = 32, global = true)]
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
        num_args = 0..=1,
        default_missing_value = "true",
        global = true
    )]
    pub allow_private_networks: bool,

    /// Ports sources may use, comma-separated (any port when private networks are allowed).
    #[arg(long, env = "RESIZER_ALLOWED_PORTS", default_value = "80,443", global = true)]
    pub allowed_ports: String,

    /// HMAC-SHA256 signing keys, comma-separated (several for rotation); unset
    /// means unsigned URLs are accepted.
    #[arg(long, env = "RESIZER_SIGNING_KEY", hide_env_values = true, global = true)]
    pub signing_key: Option<String>,

    /// Images processed at once (0 = number of CPU cores).
    #[arg(long, env = "RESIZER_CONCURRENCY", default_value_t = 0, global = true)]
    pub concurrency: usize,

    /// Requests waiting for a processing slot before new ones get a 503.
    #[arg(long, env = "RESIZER_MAX_QUEUE", default_value_t = 256, global = true)]
    pub max_queue: usize,

    /// Result cache size in memory (0 = off).
    #[arg(long, env = "RESIZER_CACHE_BYTES", default_value = "256MB", global = true)]
    pub cache_bytes: String,

    /// How long results are cached, and the max-age sent to clients.
    #[arg(long, env = "RESIZER_CACHE_TTL", default_value = "1d", global = true)]
    pub cache_ttl: String,

    /// Source cache size in memory, so many sizes of one source download it once (0 = off).
    #[arg(
        long,
        env = "RESIZER_SOURCE_CACHE_BYTES",
        default_value = "64MB",
        global = true
    )]
    pub source_cache_bytes: String,

    /// Serve /metrics on the main address (`on`), on another address
    /// (e.g. `127.0.0.1:9090`), or not at all (`off`).
    #[arg(long, env = "RESIZER_METRICS", default_value = "on", global = true)]
    pub metrics: String,

    /// Log format: `text` or `json`.
    #[arg(long, env = "RESIZER_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,

    /// How long requests in flight may take to finish after SIGTERM/SIGINT.
    #[arg(long, env = "RESIZER_SHUTDOWN_TIMEOUT", default_value = "25s", global = true)]
    pub shutdown_timeout: String,
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
    pub cache_bytes: u64,
    pub cache_ttl: Duration,
    pub source_cache_bytes: u64,
    pub metrics: MetricsAddr,
    pub log_format: LogFormat,
    pub shutdown_timeout: Duration,
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
        let metrics = match self.metrics.trim() {
            "on" | "true" => MetricsAddr::Main,
            "off" | "false" => MetricsAddr::Off,
            addr => MetricsAddr::Separate(addr.parse().map_err(|_| {
                invalid(
                    "metrics",
                    format!("`{addr}` is not `on`, `off` or an address such as 127.0.0.1:9090"),
                )
            })?),
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
            cache_bytes,
            cache_ttl,
            source_cache_bytes,
            metrics,
            log_format,
            shutdown_timeout,
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
            max_url_length: usize::MAX,
            shutdown_timeout: "0s".into(),
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
        assert_eq!(config.metrics, MetricsAddr::Main);
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
