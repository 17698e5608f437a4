//! The command-line side: `resizer convert` runs one image through the same
//! guard, limits and pipeline as the service; `resizer sign` prints signed
//! paths that the service accepts.
//!
//! Neither command depends on the HTTP layer: they read the query with
//! [`options::query`](crate::options::query), check tokens with the same
//! grammar as the server, and report the modules' own errors, whose messages
//! are those the service sends (README, "Errors"). There is no status here:
//! a failed command prints its message and exits non-zero.

use std::io::{Read, Write};

use crate::config::Config;
use crate::fetch::{FetchError, Fetcher, Guard, SourceUrl};
use crate::format::ImageFormat;
use crate::options::{Chain, FormatRequest, GrammarLimits, OptionsError, Plan, query};
use crate::pipeline::{self, OutputChoice, PipelineError};
use crate::signing::{self, KeyError};
use crate::source::{ObjectKey, is_mount_name};

/// The INPUT and OUTPUT that mean stdin and stdout.
const STDIO: &str = "-";

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The transformation does not parse.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// The source URL was refused or could not be downloaded.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The image could not be processed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// `resizer sign` was given a key the server would refuse.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Reading INPUT or writing OUTPUT failed.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The arguments contradict each other or are not of the documented form.
    #[error("{0}")]
    Usage(String),
    /// The blocking task running the pipeline did not finish (a panic).
    #[error("internal error: {0}")]
    Internal(String),
}

/// `resizer convert INPUT TRANSFORMATION OUTPUT`.
pub async fn convert(
    config: &Config,
    input: &str,
    transformation: &str,
    output: &str,
) -> Result<(), CommandError> {
    let chain = Chain::parse(transformation, &config.grammar_limits(), &config.presets)?;
    // Checked before any download or decode: a contradiction costs nothing.
    let choice = output_choice(chain.format(), output)?;
    let bytes = read_input(config, input).await?;
    let limits = config.pipeline_limits();
    let (encoded, _) = tokio::task::spawn_blocking(move || {
        pipeline::Pipeline::new(limits).run_chain(&bytes, &chain, choice, None)
    })
    .await
    .map_err(|e| CommandError::Internal(e.to_string()))??;
    if output == STDIO {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&encoded.bytes)
            .and_then(|()| stdout.flush())
            .map_err(|source| CommandError::Io {
                path: "stdout".into(),
                source,
            })?;
    } else {
        std::fs::write(output, &encoded.bytes).map_err(|source| CommandError::Io {
            path: output.to_owned(),
            source,
        })?;
    }
    Ok(())
}

/// The source's bytes: from stdin (`-`), a URL (any `scheme://`: only http
/// and https pass the guard) or a file, never more than `max_src_bytes`.
async fn read_input(config: &Config, input: &str) -> Result<Vec<u8>, CommandError> {
    let limit = config.max_src_bytes;
    if input == STDIO {
        return read_capped(std::io::stdin().lock(), limit, "stdin");
    }
    if has_scheme(input) {
        let guard = Guard::new(config);
        let url = SourceUrl::parse(input, &guard)?;
        let fetcher = Fetcher::new(guard, config.fetch_limits())?;
        return Ok(fetcher.fetch(&url).await?.to_vec());
    }
    let io_error = |source| CommandError::Io {
        path: input.to_owned(),
        source,
    };
    let file = std::fs::File::open(input).map_err(io_error)?;
    // The size on disk plays the part of a Content-Length: refused before
    // reading; the read itself is capped too, in case the file grows.
    if file.metadata().map_err(io_error)?.len() > limit {
        return Err(FetchError::TooLarge { limit }.into());
    }
    read_capped(file, limit, input)
}

/// Reads at most `limit` bytes; one more is an error, whatever was promised.
fn read_capped(reader: impl Read, limit: u64, name: &str) -> Result<Vec<u8>, CommandError> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| CommandError::Io {
            path: name.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(FetchError::TooLarge { limit }.into());
    }
    Ok(bytes)
}

/// Whether INPUT is written as a URL (`http://`, `ftp://`, ...) rather than
/// a path: a scheme of RFC 3986 letters followed by `://`.
fn has_scheme(input: &str) -> bool {
    input.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// What to encode, from `f_` and OUTPUT's extension, which must agree.
///
/// - `f_<format>`: that format; an OUTPUT extension naming another format is
///   an error (a file's name never lies about its contents).
/// - `f_auto`: OUTPUT's extension stands for the one format the client
///   accepts; with `-` or no extension, the server's choice for a client
///   that sends no `Accept`: JPEG, or PNG when the image has alpha.
/// - no `f_`: OUTPUT's extension, else (stdout, no extension) the source's.
fn output_choice(format: FormatRequest, output: &str) -> Result<OutputChoice, CommandError> {
    let extension = if output == STDIO {
        ""
    } else {
        std::path::Path::new(output)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
    };
    let named = ImageFormat::from_name(extension);
    match (format, named) {
        (FormatRequest::Fixed(format), Some(named)) if named != format => Err(CommandError::Usage(format!(
            "f_{format} asks for {format} but OUTPUT `{output}` names {named}: drop f_{format} or name the file .{}",
            format.name()
        ))),
        (FormatRequest::Fixed(format), _) => Ok(OutputChoice::Fixed(format)),
        (FormatRequest::Auto | FormatRequest::Source, Some(named)) => Ok(OutputChoice::Fixed(named)),
        (FormatRequest::Auto, None) => Ok(OutputChoice::Auto {
            avif: false,
            webp: false,
        }),
        (FormatRequest::Source, None) if extension.is_empty() => Ok(OutputChoice::Source),
        (FormatRequest::Source, None) => Err(CommandError::Usage(format!(
            "cannot tell the output format from `{output}`: use .jpg, .png, .gif, .webp or .avif, or f_<format>"
        ))),
    }
}

/// `resizer sign`: the path and query with `&s=<signature>` appended, after
/// checking what the server would check before the signature: the key (as
/// `signing_key` accepts it) and the transformation (the same grammar and
/// `limits`). An `s=` already in the query is replaced, not repeated.
///
/// Two forms: `/{transformation}?url=<source>` (or `/info/...`, SPEC §11) signs the transformation and
/// the source; a mount path, `/{transformation}/{name}/{key}` or
/// `/{name}/{key}` (no `url` in the query), signs the path as written,
/// after checking its shape, its transformation and its key.
pub fn sign(key: &[u8], path_and_query: &str, limits: &GrammarLimits) -> Result<String, CommandError> {
    signing::check_key(key)?;
    let (path, raw_query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let has_url = raw_query.split('&').any(|pair| pair.starts_with("url="));
    if !has_url && path.starts_with('/') && path[1..].contains('/') {
        return sign_mount_path(key, path, raw_query, limits);
    }
    let usage = || {
        CommandError::Usage(format!(
            "`{path_and_query}` is not of the form /<transformation>?url=<source>"
        ))
    };
    let rest = path_and_query.strip_prefix('/').ok_or_else(usage)?;
    let (transformation, raw_query) = rest.split_once('?').ok_or_else(usage)?;
    // Every `s=` pair is one the server would read as the signature: an
    // existing one is replaced, not repeated.
    let kept = raw_query
        .split('&')
        .filter(|pair| !pair.starts_with("s="))
        .collect::<Vec<_>>()
        .join("&");
    let source = query::parse(Some(&kept))?
        .url
        .filter(|url| !url.trim().is_empty())
        .ok_or_else(usage)?;
    // The server signs and parses the path as axum hands it over: decoded.
    let decoded = percent_encoding::percent_decode_str(transformation)
        .decode_utf8_lossy()
        .into_owned();
    // `/info[/{transformation}]?url=` (SPEC §11) signs its whole path too.
    let parsed = match decoded.strip_prefix("info") {
        Some("") => "",
        Some(rest) => rest.strip_prefix('/').unwrap_or(&decoded),
        None => &decoded,
    };
    Plan::parse(parsed, limits)?;
    let signature = signing::sign(key, &decoded, &source);
    Ok(format!("/{transformation}?{kept}&s={signature}"))
}

/// The mount-path form of `resizer sign`.
fn sign_mount_path(
    key: &[u8],
    path: &str,
    raw_query: &str,
    limits: &GrammarLimits,
) -> Result<String, CommandError> {
    let usage = |why: String| {
        CommandError::Usage(format!(
            "`{path}` is not of the form /<transformation>/<mount>/<key> or /<mount>/<key>: {why}"
        ))
    };
    let signed = &path[1..];
    let (first, rest) = signed.split_once('/').unwrap_or((signed, ""));
    let raw_key = if is_mount_name(first) {
        rest
    } else {
        let transformation = percent_encoding::percent_decode_str(first)
            .decode_utf8_lossy()
            .into_owned();
        Plan::parse(&transformation, limits)?;
        let (mount, raw_key) = rest.split_once('/').unwrap_or((rest, ""));
        if !is_mount_name(mount) {
            return Err(usage(format!("`{mount}` is not a mount name")));
        }
        raw_key
    };
    ObjectKey::parse(raw_key).map_err(|e| usage(e.to_string()))?;
    let mut kept: Vec<&str> = raw_query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("s="))
        .collect();
    let signature = signing::sign_path(key, signed);
    let pair = format!("s={signature}");
    kept.push(&pair);
    Ok(format!("{path}?{}", kept.join("&")))
}

/// `resizer sign --cloudinary`: `path` (a Cloudinary delivery path,
/// `/[{cloud}/]image/{fetch|upload}/...`) with the `s--{sig}--` segment the
/// SDKs write for `secret` (SHA-1, or SHA-256 when `long`); an existing
/// signature is replaced. The transformation is checked as the server
/// checks it.
pub fn sign_cloudinary(
    secret: &str,
    path: &str,
    long: bool,
    config: &Config,
) -> Result<String, CommandError> {
    use crate::options::cloudinary;
    let limits = config.grammar_limits();
    let parsed = cloudinary::parse(path, |segment| crate::options::is_component(segment, &limits))
        .ok_or_else(|| {
            CommandError::Usage(format!(
                "`{path}` is not /[cloud/]image/fetch/... or /[cloud/]image/upload/..."
            ))
        })?
        .map_err(|_| CommandError::Usage(format!("`{path}` names no remote URL or public ID")))?;
    Chain::parse(&parsed.transformation(), &limits, &config.presets)?;
    let kind = if long {
        crate::signing::CloudinarySignature::Long
    } else {
        crate::signing::CloudinarySignature::Short
    };
    let signature = crate::signing::cloudinary_signature(&parsed.signed_text(), secret, kind);
    let prefix_end = path.find("/image/").map(|i| i + "/image/".len()).unwrap_or(0);
    let kind_end = prefix_end + path[prefix_end..].find('/').map_or(0, |i| i + 1);
    let after = &path[kind_end..];
    let after = match after.split_once('/') {
        Some((first, rest)) if first.starts_with("s--") && first.ends_with("--") => rest,
        _ => after,
    };
    Ok(format!("{}s--{signature}--/{after}", &path[..kind_end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_signed_as_written() {
        let key = b"0123456789abcdef";
        let limits = GrammarLimits::default();
        let signed = sign(key, "/w_300,c_fill/photos/a%20b.jpg", &limits).unwrap();
        let expected = signing::sign_path(key, "w_300,c_fill/photos/a%20b.jpg");
        assert_eq!(signed, format!("/w_300,c_fill/photos/a%20b.jpg?s={expected}"));
        // Signing again replaces the signature; other parameters stay.
        assert_eq!(sign(key, &signed, &limits).unwrap(), signed);
        let plain = sign(key, "/photos/a.jpg?v=2", &limits).unwrap();
        assert_eq!(
            plain,
            format!("/photos/a.jpg?v=2&s={}", signing::sign_path(key, "photos/a.jpg"))
        );
        // What the server refuses is refused here.
        for bad in [
            "/w_300/photos/../a.jpg",
            "/w_300/photos/",
            "/w_300/Photos/a.jpg",
            "/photos/a%2Fb.jpg",
            "/w_300,z_1/photos/a.jpg",
        ] {
            assert!(sign(key, bad, &limits).is_err(), "{bad}");
        }
        // The `?url=` form is unchanged.
        let url_form = sign(key, "/w_1?url=https://a.example/b.jpg", &limits).unwrap();
        assert!(url_form.ends_with(&format!(
            "&s={}",
            signing::sign(key, "w_1", "https://a.example/b.jpg")
        )));
    }

    fn plan(text: &str) -> Plan {
        Plan::parse(text, &GrammarLimits::default()).unwrap()
    }

    #[test]
    fn f_auto_without_accept_is_jpeg_or_png_and_follows_the_extension() {
        // Bug: `f_auto` into x.jpg used to pick AVIF, as for a browser.
        assert_eq!(
            output_choice(plan("w_10,f_auto").format(), "x.jpg").unwrap(),
            OutputChoice::Fixed(ImageFormat::Jpeg)
        );
        assert_eq!(
            output_choice(plan("f_auto").format(), "x.webp").unwrap(),
            OutputChoice::Fixed(ImageFormat::Webp)
        );
        let no_accept = OutputChoice::Auto {
            avif: false,
            webp: false,
        };
        assert_eq!(output_choice(plan("f_auto").format(), "-").unwrap(), no_accept);
        assert_eq!(
            output_choice(plan("f_auto").format(), "thumb").unwrap(),
            no_accept
        );
    }

    #[test]
    fn an_explicit_format_must_agree_with_the_extension() {
        let err = output_choice(plan("f_png").format(), "x.jpg").unwrap_err();
        assert!(matches!(err, CommandError::Usage(_)), "{err}");
        assert!(err.to_string().contains("x.jpg"), "{err}");
        assert_eq!(
            output_choice(plan("f_jpg").format(), "x.JPEG").unwrap(),
            OutputChoice::Fixed(ImageFormat::Jpeg)
        );
        // `-` and unknown extensions name nothing to contradict.
        for output in ["-", "x.bin", "x"] {
            assert_eq!(
                output_choice(plan("f_webp").format(), output).unwrap(),
                OutputChoice::Fixed(ImageFormat::Webp),
                "{output}"
            );
        }
        assert_eq!(
            output_choice(plan("w_1").format(), "-").unwrap(),
            OutputChoice::Source
        );
        assert!(output_choice(plan("w_1").format(), "x.bin").is_err());
    }

    #[test]
    fn schemes_are_told_from_paths() {
        for url in [
            "http://h/a.jpg",
            "https://h/a.jpg",
            "ftp://h/a.jpg",
            "file:///etc/x",
        ] {
            assert!(has_scheme(url), "{url}");
        }
        for path in ["a.jpg", "/tmp/a.jpg", "./x://y", "-", "C:\\a.jpg", "1a://b"] {
            assert!(!has_scheme(path), "{path}");
        }
    }

    #[test]
    fn reads_are_capped() {
        assert_eq!(read_capped(&b"abcd"[..], 4, "x").unwrap(), b"abcd");
        assert!(matches!(
            read_capped(&b"abcde"[..], 4, "x"),
            Err(CommandError::Fetch(FetchError::TooLarge { limit: 4 }))
        ));
    }

    const KEY: &[u8] = b"0123456789abcdef0123";

    #[test]
    fn sign_replaces_an_existing_signature() {
        let limits = GrammarLimits::default();
        let once = sign(KEY, "/w_10?url=https://h/a.jpg", &limits).unwrap();
        let twice = sign(KEY, &once, &limits).unwrap();
        assert_eq!(once, twice);
        assert_eq!(twice.matches("s=").count(), 1, "{twice}");
        let stale = sign(KEY, "/w_10?s=old&url=https://h/a.jpg&s=older", &limits).unwrap();
        assert_eq!(stale, once);
    }

    #[test]
    fn sign_refuses_what_the_server_refuses() {
        let limits = GrammarLimits::default();
        let path = "/w_10?url=https://h/a.jpg";
        for key in [&b"short"[..], b"0123456789abcdef,x", b" 0123456789abcdef"] {
            assert!(
                matches!(sign(key, path, &limits), Err(CommandError::Key(_))),
                "{key:?}"
            );
        }
        for bad in ["/w_zero?url=https://h/a.jpg", "/w_1,w_2?url=https://h/a.jpg"] {
            assert!(
                matches!(sign(KEY, bad, &limits), Err(CommandError::Options(_))),
                "{bad}"
            );
        }
        let tight = GrammarLimits {
            max_dimension: 100,
            max_tokens: 32,
        };
        assert!(matches!(
            sign(KEY, "/w_101?url=https://h/a.jpg", &tight),
            Err(CommandError::Options(_))
        ));
        assert!(matches!(
            sign(KEY, "/w_10?url=", &limits),
            Err(CommandError::Usage(_))
        ));
    }

    /// The value Cloudinary's Python SDK 1.46.3 writes for
    /// `cloudinary_url("shop/shoes/red", format="png", version=123, width=10,
    /// sign_url=True, api_secret="abc", cloud_name="demo")`.
    #[test]
    fn cloudinary_paths_are_signed_as_the_sdk_signs_them() {
        let config = Config::defaults();
        let sdk = "/demo/image/upload/s--DyNwAD93--/w_10/v123/shop/shoes/red.png";
        let unsigned = "/demo/image/upload/w_10/v123/shop/shoes/red.png";
        assert_eq!(sign_cloudinary("abc", unsigned, false, &config).unwrap(), sdk);
        assert_eq!(sign_cloudinary("abc", sdk, false, &config).unwrap(), sdk);
        assert!(sign_cloudinary("abc", "/w_10/photos/a.jpg", false, &config).is_err());
        assert!(sign_cloudinary("abc", "/image/fetch/z_1/https://a.example/a.jpg", false, &config).is_err());
    }
}
