//! The command-line side: `resizer convert` runs one image through the same
//! guard, limits and pipeline as the service; `resizer sign` prints signed
//! paths.

use std::io::Write;

use crate::config::Config;
use crate::fetch::{FetchLimits, Fetcher, Guard, SourceUrl};
use crate::format::ImageFormat;
use crate::http::ApiError;
use crate::options::{FormatRequest, GrammarLimits, Plan};
use crate::pipeline::{self, OutputChoice};
use crate::signing;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
}

/// `resizer convert INPUT TRANSFORMATION OUTPUT`.
pub async fn convert(
    config: &Config,
    input: &str,
    transformation: &str,
    output: &str,
) -> Result<(), CommandError> {
    let grammar = GrammarLimits {
        max_dimension: config.max_dimension,
        max_tokens: config.max_tokens,
    };
    let plan = Plan::parse(transformation, &grammar).map_err(ApiError::from)?;
    let bytes = if input.starts_with("http://") || input.starts_with("https://") {
        let guard = Guard::new(config);
        let url = SourceUrl::parse(input, &guard).map_err(ApiError::from)?;
        let fetcher = Fetcher::new(
            guard,
            FetchLimits {
                max_bytes: config.max_src_bytes,
                connect_timeout: config.connect_timeout,
                download_timeout: config.download_timeout,
                max_redirects: config.max_redirects,
            },
        )
        .map_err(ApiError::from)?;
        fetcher.fetch(&url).await.map_err(ApiError::from)?.to_vec()
    } else {
        let bytes = std::fs::read(input).map_err(|source| CommandError::Io {
            path: input.to_owned(),
            source,
        })?;
        if bytes.len() as u64 > config.max_src_bytes {
            return Err(ApiError::from(crate::fetch::FetchError::TooLarge {
                limit: config.max_src_bytes,
            })
            .into());
        }
        bytes
    };
    let choice = output_choice(&plan, output)?;
    let limits = pipeline::Limits {
        max_src_pixels: config.max_src_pixels,
        max_dimension: config.max_dimension,
        max_animation_frames: config.max_animation_frames,
        max_animation_pixels: config.max_animation_pixels,
    };
    let (encoded, _) =
        tokio::task::spawn_blocking(move || pipeline::process(&bytes, &plan, choice, &limits, None))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(ApiError::from)?;
    if output == "-" {
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

/// The format `f_` names, else OUTPUT's extension, else the source's.
fn output_choice(plan: &Plan, output: &str) -> Result<OutputChoice, CommandError> {
    match plan.format() {
        FormatRequest::Fixed(format) => Ok(OutputChoice::Fixed(format)),
        FormatRequest::Auto => Ok(OutputChoice::Auto {
            avif: true,
            webp: true,
        }),
        FormatRequest::Source if output == "-" => Ok(OutputChoice::Source),
        FormatRequest::Source => {
            let extension = std::path::Path::new(output)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("");
            match ImageFormat::from_name(extension) {
                Some(format) => Ok(OutputChoice::Fixed(format)),
                None if extension.is_empty() => Ok(OutputChoice::Source),
                None => Err(CommandError::Usage(format!(
                    "cannot tell the output format from `{output}`: use .jpg, .png, .gif, .webp or .avif, or f_<format>"
                ))),
            }
        }
    }
}

/// `resizer sign`: the path and query with `&s=<signature>` appended.
pub fn sign(key: &[u8], path_and_query: &str) -> Result<String, CommandError> {
    let usage = || {
        CommandError::Usage(format!(
            "`{path_and_query}` is not of the form /<transformation>?url=<source>"
        ))
    };
    let rest = path_and_query.strip_prefix('/').ok_or_else(usage)?;
    let (transformation, query) = rest.split_once('?').ok_or_else(usage)?;
    let source = crate::http::query::parse(Some(query)).url.ok_or_else(usage)?;
    let transformation = percent_encoding::percent_decode_str(transformation)
        .decode_utf8_lossy()
        .into_owned();
    let signature = signing::sign(key, &transformation, &source);
    Ok(format!("{path_and_query}&s={signature}"))
}
