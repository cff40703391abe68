//! Limiter decisions per second through the REST client, for `bench/ratelimit/run.sh` (which runs
//! `bench/ratelimit/bench.mjs`, the same loop over the official `@upstash/ratelimit`, in the same
//! run). Build it with `cargo build --release -p larder-ratelimit --example bench`.
//!
//! ```sh
//! UPSTASH_REDIS_REST_URL=... UPSTASH_REDIS_REST_TOKEN=... bench <algo> <concurrency> <seconds> <prefix>
//! ```
//!
//! `algo` is `fixedWindow`, `slidingWindow` or `tokenBucket`. `concurrency` workers call `limit`
//! in a closed loop for `seconds`, spreading the calls over 1,000 identifiers, with limits no call
//! reaches (every decision is one script call: no ephemeral cache, no analytics). Prints one JSON
//! line: `{client, algo, concurrency, seconds, decisions, allowed, per_sec, p50_us, p99_us,
//! cpu_ms}` (`cpu_ms`: this process's CPU time during the loop, from `/proc/self/stat`).

use std::time::{Duration, Instant};

use larder_ratelimit::{Algorithm, Ratelimit};
use larder_redis::Redis;

/// Identifiers the calls are spread over (the same in bench.mjs).
const IDS: usize = 1000;
/// A limit no call reaches.
const HUGE: u64 = 1_000_000_000;

fn usage() -> ! {
    eprintln!(
        "usage: bench <fixedWindow|slidingWindow|tokenBucket> <concurrency> <seconds> <prefix>"
    );
    std::process::exit(2)
}

/// User plus system CPU time of this process, from `/proc/self/stat` (Linux; `None` elsewhere).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux platform Rust supports.
    Some(Duration::from_millis(ticks * 10))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [algo, concurrency, seconds, prefix] = args.as_slice() else { usage() };
    let concurrency: usize = concurrency.parse().unwrap_or_else(|_| usage());
    let seconds: f64 = seconds.parse().unwrap_or_else(|_| usage());
    let minute = Duration::from_secs(60);
    let algorithm: Algorithm = match algo.as_str() {
        "fixedWindow" => Ratelimit::fixed_window(HUGE, minute),
        "slidingWindow" => Ratelimit::sliding_window(HUGE, minute),
        "tokenBucket" => Ratelimit::token_bucket(HUGE, Duration::from_secs(1), HUGE),
        _ => usage(),
    };
    let redis = Redis::from_env()?;
    let rl = Ratelimit::builder(redis, algorithm)
        .prefix(prefix.as_str())
        .no_ephemeral_cache()
        .build()?;

    // Warm-up: loads the script (EVALSHA falls back to EVAL once) and opens connections.
    let warm: Vec<_> = (0..concurrency)
        .map(|w| {
            let rl = rl.clone();
            tokio::spawn(async move { rl.limit(&format!("u{w}")).await })
        })
        .collect();
    for t in warm {
        t.await??;
    }

    let cpu_before = cpu_time();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let rl = rl.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut allowed = 0u64;
                let mut i = w;
                while Instant::now() < deadline {
                    let id = format!("u{}", (i * 7919) % IDS);
                    i += concurrency;
                    let t = Instant::now();
                    let res = rl.limit(&id).await?;
                    lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
                    allowed += u64::from(res.success);
                }
                Ok::<_, larder_ratelimit::Error>((lat, allowed))
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut allowed = 0;
    for w in workers {
        let (l, a) = w.await??;
        lat.extend(l);
        allowed += a;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_ms = match (cpu_before, cpu_time()) {
        (Some(a), Some(b)) => serde_json::json!(b.saturating_sub(a).as_millis() as u64),
        _ => serde_json::Value::Null,
    };
    lat.sort_unstable();
    let doc = serde_json::json!({
        "client": "rust",
        "algo": algo,
        "concurrency": concurrency,
        "seconds": elapsed,
        "decisions": lat.len(),
        "allowed": allowed,
        "per_sec": lat.len() as f64 / elapsed,
        "p50_us": percentile(&lat, 0.50),
        "p99_us": percentile(&lat, 0.99),
        "cpu_ms": cpu_ms,
    });
    println!("{doc}");
    Ok(())
}
