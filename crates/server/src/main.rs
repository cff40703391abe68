//! The `larder` binary: parse flags, start the server, print the `.env` block, stop cleanly on
//! SIGINT/SIGTERM.

use clap::Parser;
use larder_server::{Args, Command, Config, env_block, start};
use tracing_subscriber::EnvFilter;

/// jemalloc (less fragmentation than glibc's malloc under a churning keyspace, like Redis), wrapped to
/// count the heap in use: INFO's `used_memory` and the `--maxmemory` limit read that count.
#[global_allocator]
static ALLOC: larder_engine::memory::Counting<tikv_jemallocator::Jemalloc> =
    larder_engine::memory::Counting::with_size_classes(tikv_jemallocator::Jemalloc);

fn main() -> std::process::ExitCode {
    larder_engine::memory::set_allocator_name("jemalloc-5.3.0");
    let mut args = Args::parse();
    if let Some(Command::CheckAof { fix, path }) = args.command.take() {
        return check_aof(&path, fix);
    }
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

/// `larder check-aof [--fix] <path>`: prints a report per file; exit 0 when sound or fixed, 1 when
/// damaged, 2 when the files cannot be read.
fn check_aof(path: &std::path::Path, fix: bool) -> std::process::ExitCode {
    use larder_engine::aof;
    let whole_set = path.is_dir()
        || path.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".manifest"));
    let reports =
        if whole_set { aof::check_dir(path, fix) } else { aof::check(path, fix).map(|r| vec![r]) };
    match reports {
        Ok(reports) => {
            let mut sound = true;
            for r in &reports {
                println!("{r}");
                sound &= r.problem.is_none() || r.fixed;
            }
            if sound { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::from(1) }
        }
        Err(e) => {
            eprintln!("larder check-aof: {e}");
            std::process::ExitCode::from(2)
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
