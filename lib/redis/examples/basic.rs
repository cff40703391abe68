//! Basic use of `larder-redis`, configured from the environment block larder prints on start:
//!
//! ```sh
//! cargo run --release                      # in the larder repository: starts larder, prints the block
//! export UPSTASH_REDIS_REST_URL=http://127.0.0.1:8079
//! export UPSTASH_REDIS_REST_TOKEN=...      # from the block
//! cargo run -p larder-redis --example basic
//! ```
//!
//! It works the same against an Upstash database (use the REST URL and token from its console).

use std::time::Duration;

use larder_redis::cache::Cache;
use larder_redis::{Redis, Script, SetOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Profile {
    name: String,
    visits: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Reads UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN; a missing variable, or a redis://
    // URL pasted by mistake, is a clear error.
    let redis = Redis::from_env()?;
    println!("connected to {}: {}", redis.url(), redis.ping().await?);

    // Strings are stored as text, other values as JSON; `None` means only "no such key".
    redis.set("example:greeting", "hello").await?;
    redis
        .set_options(
            "example:profile",
            &Profile { name: "Ada".into(), visits: 0 },
            SetOptions::new().ex(3600),
        )
        .await?;
    redis.set("example:zero", 0).await?;
    let greeting: Option<String> = redis.get("example:greeting").await?;
    let profile: Option<Profile> = redis.get("example:profile").await?;
    let zero: Option<i64> = redis.get("example:zero").await?;
    let missing: Option<String> = redis.get("example:missing").await?;
    println!("{greeting:?} {profile:?} {zero:?} {missing:?}");

    // A pipeline: one request, one result per command.
    let results = redis
        .pipeline()
        .incr("example:counter")
        .incr("example:counter")
        .lpush("example:greeting", ["not a list"])
        .exec()
        .await?;
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(v) => println!("command {i}: {v:?}"),
            Err(e) => println!("command {i} failed: {e}"),
        }
    }

    // A transaction, decoded all at once.
    let ((), n): ((), i64) =
        redis.multi().set("example:tx", 1).incr("example:tx").exec_as().await?;
    println!("transaction counter: {n}");

    // A script: EVALSHA, falling back to EVAL the first time.
    let capped = Script::new(
        "local n = redis.call('INCR', KEYS[1]) \
         if n > tonumber(ARGV[1]) then return -1 end \
         redis.call('EXPIRE', KEYS[1], ARGV[2]) return n",
    );
    let n: i64 = capped.run(&redis, ["example:capped"], (3, 60)).await?;
    println!("capped counter: {n}");

    // The escape hatch for anything without a typed method.
    let len = redis.command(("STRLEN", "example:greeting")).await?;
    println!("STRLEN: {len:?}");

    // The cache helper: computed once per minute, concurrent misses share one computation, and a
    // cached `None` is a hit.
    let cache = Cache::new(redis.clone(), "example-reports").refresh_ahead(0.8);
    let report: Option<u64> = cache
        .get_or_compute("total", Duration::from_secs(60), || async {
            tokio::time::sleep(Duration::from_millis(200)).await; // a slow query
            Ok::<_, std::io::Error>(Some(42))
        })
        .await?;
    println!("report: {report:?}");

    redis
        .del([
            "example:greeting",
            "example:profile",
            "example:zero",
            "example:counter",
            "example:tx",
            "example:capped",
        ])
        .await?;
    Ok(())
}
