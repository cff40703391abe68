//! Drives `larder-ratelimit` from the command line, for the cross-language tests (the mirror of
//! `tests/compat/js/ratelimit-driver.mjs`, which drives `@upstash/ratelimit`):
//!
//! ```sh
//! UPSTASH_REDIS_REST_URL=http://127.0.0.1:8079 UPSTASH_REDIS_REST_TOKEN=... \
//!   cargo run -p larder-ratelimit --example driver -- \
//!   '{"algo":"slidingWindow","prefix":"p","id":"user-1","limit":50,"window":"1 h","calls":30}'
//! ```
//!
//! spec: `{ algo: "fixedWindow"|"slidingWindow"|"tokenBucket"|"cachedFixedWindow", prefix, id,
//! limit, window ("1 h"), calls, rate?, refillRate? (token bucket), concurrent?: true,
//! getRemaining?: true, analytics?: bool (default true), regions?: [REST URL, ...] }`. With
//! `regions` (same token), a `MultiRegionRatelimit` over them (fixedWindow and slidingWindow only).
//!
//! Prints one JSON line: `{"results": [{success, limit, remaining, reset, reason?}], "remaining"?:
//! {remaining, reset, limit}}` — the same shape as the JavaScript driver.

use larder_ratelimit::{
    LimitOptions, MultiRegionRatelimit, Ratelimit, Remaining, Response, duration,
};
use larder_redis::Redis;
use serde_json::{Value, json};

fn fail(msg: &str) -> ! {
    eprintln!("driver: {msg}");
    eprintln!(
        "usage: driver '{{\"algo\":\"fixedWindow\",\"prefix\":\"p\",\"id\":\"u\",\"limit\":50,\"window\":\"1 h\",\"calls\":30}}'"
    );
    std::process::exit(2)
}

fn out(r: &Response) -> Value {
    let mut v = json!({
        "success": r.success, "limit": r.limit, "remaining": r.remaining, "reset": r.reset,
    });
    if let Some(reason) = r.reason {
        v["reason"] = json!(reason.as_str());
    }
    v
}

/// A single- or multi-region limiter.
#[derive(Clone)]
enum Limiter {
    Single(Ratelimit),
    Multi(MultiRegionRatelimit),
}

impl Limiter {
    async fn limit_with(&self, id: &str, opts: LimitOptions) -> larder_ratelimit::Result<Response> {
        match self {
            Limiter::Single(rl) => rl.limit_with(id, opts).await,
            Limiter::Multi(rl) => rl.limit_with(id, opts).await,
        }
    }

    async fn get_remaining(&self, id: &str) -> larder_ratelimit::Result<Remaining> {
        match self {
            Limiter::Single(rl) => rl.get_remaining(id).await,
            Limiter::Multi(rl) => rl.get_remaining(id).await,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1).unwrap_or_else(|| fail("missing spec"));
    let spec: Value =
        serde_json::from_str(&arg).unwrap_or_else(|e| fail(&format!("bad JSON: {e}")));
    let s = |k: &str| {
        spec[k].as_str().map(str::to_owned).unwrap_or_else(|| fail(&format!("missing {k}")))
    };
    let n = |k: &str| spec[k].as_u64().unwrap_or_else(|| fail(&format!("missing {k}")));
    let (algo, prefix, id, window) = (s("algo"), s("prefix"), s("id"), s("window"));
    let (limit, calls) = (n("limit"), n("calls"));
    let window = duration(&window)?;
    let algorithm = match algo.as_str() {
        "fixedWindow" => Ratelimit::fixed_window(limit, window),
        "slidingWindow" => Ratelimit::sliding_window(limit, window),
        "tokenBucket" => {
            Ratelimit::token_bucket(spec["refillRate"].as_u64().unwrap_or(1), window, limit)
        }
        "cachedFixedWindow" => Ratelimit::cached_fixed_window(limit, window),
        other => fail(&format!("unknown algo {other}")),
    };
    let token = std::env::var("UPSTASH_REDIS_REST_TOKEN")?;
    let client = |url: String| Redis::builder(url, token.clone()).retries(0).build();
    let analytics = spec["analytics"].as_bool().unwrap_or(true);
    let rl = match spec["regions"].as_array() {
        Some(urls) => {
            let regions = urls
                .iter()
                .map(|u| client(u.as_str().unwrap_or_else(|| fail("regions: URLs")).to_owned()))
                .collect::<Result<Vec<_>, _>>()?;
            Limiter::Multi(
                MultiRegionRatelimit::builder(regions, algorithm)
                    .prefix(prefix)
                    .analytics(analytics)
                    .build()?,
            )
        }
        None => Limiter::Single(
            Ratelimit::builder(client(std::env::var("UPSTASH_REDIS_REST_URL")?)?, algorithm)
                .prefix(prefix)
                .analytics(analytics)
                .build()?,
        ),
    };
    let opts = match spec["rate"].as_i64() {
        Some(rate) => LimitOptions::new().rate(rate),
        None => LimitOptions::new(),
    };

    let mut results = Vec::new();
    if spec["concurrent"].as_bool().unwrap_or(false) {
        let tasks: Vec<_> = (0..calls)
            .map(|_| {
                let (rl, id, opts) = (rl.clone(), id.clone(), opts.clone());
                tokio::spawn(async move { rl.limit_with(&id, opts).await })
            })
            .collect();
        for t in tasks {
            let r = t.await??;
            results.push(out(&r));
            r.pending.wait().await?;
        }
    } else {
        for _ in 0..calls {
            let r = rl.limit_with(&id, opts.clone()).await?;
            results.push(out(&r));
            r.pending.wait().await?;
        }
    }
    let mut doc = json!({ "results": results });
    if spec["getRemaining"].as_bool().unwrap_or(false) {
        let rem = rl.get_remaining(&id).await?;
        doc["remaining"] =
            json!({"remaining": rem.remaining, "reset": rem.reset, "limit": rem.limit});
    }
    println!("{doc}");
    Ok(())
}
