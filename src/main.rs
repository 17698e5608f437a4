//! The `resizer` binary: parse the command line, set up logging, and hand
//! over to the library.

use std::process::ExitCode;

use clap::Parser;
use resizer::config::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    init_logging(config.log_format);
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
                let listener = tokio::net::TcpListener::bind(config.bind)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
                tracing::info!(addr = %config.bind, "resizer listening");
                resizer::serve(listener, config, shutdown_signal()).await?;
                Ok(())
            }
            Command::Convert {
                input,
                transformation,
                output,
            } => Ok(resizer::convert::convert(&config, &input, &transformation, &output).await?),
            Command::Sign { key, path_and_query } => {
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

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RESIZER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
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
