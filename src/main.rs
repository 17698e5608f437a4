//! The `resizer` binary: parse the command line, set up logging, and hand
//! over to the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use resizer::config::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    // Before any thread exists: the allocator's settings apply to all of them.
    let tuned = resizer::allocator::tune();
    let cli = Cli::parse_or_exit();
    let command = cli.command.unwrap_or(Command::Serve);
    let validated = match command {
        Command::Serve => cli.settings.validate(),
        Command::Convert { .. } | Command::Sign { .. } => cli.settings.validate_for_command(),
    };
    let config = match validated {
        Ok(config) => config,
        Err(e) => {
            eprintln!("resizer: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = init_logging(config.log_format) {
        eprintln!("resizer: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("resizer: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: anyhow::Result<()> = runtime.block_on(async {
        match command {
            Command::Serve => {
                let listener = tokio::net::TcpListener::bind(config.bind).await.map_err(|e| {
                    anyhow::anyhow!("cannot listen on {} (--bind, RESIZER_BIND): {e}", config.bind)
                })?;
                // The address actually bound: with port 0 the system chose it.
                let addr = listener.local_addr().unwrap_or(config.bind);
                tracing::info!(%addr, "resizer listening");
                tracing::debug!(settings = ?tuned, "malloc settings applied");
                resizer::serve(listener, config, shutdown_signal()).await?;
                Ok(())
            }
            Command::Convert {
                input,
                transformation,
                output,
            } => Ok(resizer::convert::convert(&config, &input, &transformation, &output).await?),
            Command::Sign {
                key,
                path_and_query,
                cloudinary: true,
                long,
            } => {
                let secret = key
                    .or_else(|| config.cloudinary.api_secret.clone())
                    .ok_or_else(|| anyhow::anyhow!("give --key or set RESIZER_CLOUDINARY_API_SECRET"))?;
                println!(
                    "{}",
                    resizer::convert::sign_cloudinary(&secret, &path_and_query, long, &config)?
                );
                Ok(())
            }
            Command::Sign {
                key, path_and_query, ..
            } => {
                let key = match key {
                    Some(key) => key.into_bytes(),
                    None => config
                        .signing_keys
                        .first()
                        .cloned()
                        .ok_or_else(|| anyhow::anyhow!("give --key or set RESIZER_SIGNING_KEY"))?,
                };
                let grammar = resizer::options::GrammarLimits {
                    max_dimension: config.max_dimension,
                    max_tokens: config.max_tokens,
                };
                println!("{}", resizer::convert::sign(&key, &path_and_query, &grammar)?);
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("resizer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The log: `RESIZER_LOG` filters it (default `info`), colours only when
/// stderr is a terminal (a file, journald or `docker logs` gets plain text).
fn init_logging(format: LogFormat) -> Result<(), String> {
    let filter = log_filter(std::env::var("RESIZER_LOG").ok().as_deref())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// The filter `RESIZER_LOG` asks for: a level (`debug`) or directives
/// (`info,resizer::fetch=debug`). A value that would silently log nothing,
/// such as a misspelt level (`warnn` reads as a target name), is refused.
fn log_filter(value: Option<&str>) -> Result<tracing_subscriber::EnvFilter, String> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Ok(tracing_subscriber::EnvFilter::new("info"));
    }
    let invalid = |reason: String| format!("invalid RESIZER_LOG `{value}`: {reason}");
    for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !directive.contains(['=', '[', ':']);
        if bare && !LEVELS.iter().any(|level| level.eq_ignore_ascii_case(directive)) {
            return Err(invalid(format!(
                "`{directive}` is not a level ({}); write target=level for a target",
                LEVELS.join(", ")
            )));
        }
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(value)
        .map_err(|e| invalid(e.to_string()))
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_filters_are_checked() {
        for good in [
            None,
            Some(""),
            Some("debug"),
            Some("WARN"),
            Some("info,resizer::fetch=debug"),
        ] {
            assert!(log_filter(good).is_ok(), "{good:?}");
        }
        for bad in ["warnn", "info,verbose", "resizer=loud"] {
            let error = log_filter(Some(bad)).unwrap_err();
            assert!(error.contains("RESIZER_LOG"), "{error}");
        }
    }
}
