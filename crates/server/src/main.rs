//! The `larder` binary: parse flags, start the server, print the `.env` block, stop cleanly on
//! SIGINT/SIGTERM.

use clap::Parser;
use larder_server::{Args, Config, env_block, start};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let config = match Config::resolve(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("larder: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("larder: start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("larder: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    // Listen for signals before anything is printed, so a SIGTERM right after start is a clean stop.
    let signal = shutdown_signal()?;
    let quiet = config.quiet;
    let generated = config.generated_tokens;
    let data_dir = config.data_dir.clone();
    let running = start(config).await?;
    tracing::info!(http = %running.http_addr, resp = ?running.resp_addr, "larder {} listening", env!("CARGO_PKG_VERSION"));
    if generated {
        tracing::info!(
            "tokens were generated and are kept in {}",
            data_dir.join("tokens.toml").display()
        );
    }
    if !quiet {
        // A closed stdout (a supervisor that stopped reading) must not stop the server.
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", env_block(&running)).and_then(|()| out.flush());
    }
    signal.await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.shutdown();
    running.wait().await;
    tracing::info!("bye");
    Ok(())
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed when this is called.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use anyhow::Context;
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("install the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).context("install the SIGINT handler")?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
