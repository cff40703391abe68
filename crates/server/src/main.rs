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
        println!("{}", env_block(&running));
    }
    wait_for_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.shutdown();
    running.wait().await;
    tracing::info!("bye");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
