//! `larder-difftest`: random command streams against larder and a real redis-server, replies compared.

use std::process::ExitCode;

use clap::Parser;
use larder_difftest::{Conn, InProcessLarder, Options, SpawnedRedis, run};

/// Sends the same seeded random commands to larder and to a real redis-server (7.0) and compares every
/// reply. Exits 0 when nothing mismatched, 1 on a mismatch, 2 when it could not run.
#[derive(Debug, Parser)]
#[command(name = "larder-difftest", version)]
struct Cli {
    /// The generator's seed (default: from the clock; always printed).
    #[arg(long)]
    seed: Option<u64>,
    /// How many commands to generate.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// A disposable redis-server to compare with (it is FLUSHALLed).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "spawn_redis")]
    redis: Option<String>,
    /// Start `redis-server --port <free port> --save '' --appendonly no` for the run.
    #[arg(long)]
    spawn_redis: bool,
    /// A running larder's RESP address (default: start one in-process). It is FLUSHALLed.
    #[arg(long, value_name = "HOST:PORT")]
    larder: Option<String>,
    /// The token for `--larder` (omit it to compare two servers that need no AUTH, e.g. redis with redis).
    /// Ignored when larder runs in-process.
    #[arg(long, env = "LARDER_TOKEN")]
    token: Option<String>,
    /// Keep going after mismatches (the involved keys are deleted on both sides to resynchronise).
    #[arg(long)]
    all: bool,
    /// Do not shrink reproductions (shrinking replays subsets, flushing both servers).
    #[arg(long)]
    no_shrink: bool,
    /// Print every command.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match main_inner(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("larder-difftest: {e}");
            ExitCode::from(2)
        }
    }
}

fn main_inner(cli: Cli) -> anyhow::Result<bool> {
    let seed = cli.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000)
            .unwrap_or(1)
    });
    let spawned = if cli.spawn_redis { Some(SpawnedRedis::start()?) } else { None };
    let redis_addr = match (&cli.redis, &spawned) {
        (Some(a), _) => a.clone(),
        (None, Some(s)) => s.addr().to_owned(),
        (None, None) => anyhow::bail!(
            "no redis-server to compare with: pass --redis HOST:PORT (a disposable one: it is FLUSHALLed), \
             or --spawn-redis to start one"
        ),
    };
    let redis = Conn::connect("redis", &redis_addr, None)?;
    let in_process;
    let larder = match &cli.larder {
        Some(addr) => Conn::connect("larder", addr, cli.token.as_deref())?,
        None => {
            in_process = InProcessLarder::start()?;
            in_process.connect()?
        }
    };
    let opts = Options {
        seed,
        count: cli.count,
        all: cli.all,
        shrink: !cli.no_shrink,
        max_shrink: 3,
        verbose: cli.verbose,
        print: true,
    };
    let report = run(&opts, larder, redis)?;
    println!("{}", report.summary());
    if !report.mismatches.is_empty() {
        println!("rerun: larder-difftest --seed {seed} --count {} ...", report.mismatches[0].index);
    }
    Ok(report.mismatches.is_empty())
}
