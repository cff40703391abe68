//! `larder-ratelimit`: rate limiting over Redis-over-HTTP ([larder](https://github.com/larder-dev/larder)
//! or Upstash), key- and script-compatible with
//! [`@upstash/ratelimit`](https://github.com/upstash/ratelimit-js) 2.2.
//!
//! A JavaScript service using `@upstash/ratelimit` and a Rust service using this crate, pointed at
//! the same database with the same prefix, algorithm and identifier, share their counts: the keys,
//! the Lua scripts (byte for byte, so `EVALSHA` hits scripts either side loaded), the script
//! arguments and the client-side arithmetic are the same.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use larder_ratelimit::{LimitOptions, Ratelimit};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, as printed by larder on start.
//! let redis = larder_redis::Redis::from_env()?;
//! let limiter = Ratelimit::builder(redis, Ratelimit::sliding_window(10, Duration::from_secs(10)))
//!     .prefix("api")
//!     .analytics(true)
//!     .build()?;
//!
//! let res = limiter.limit("user:42").await?;
//! println!("{} ({} of {} left, reset at {} ms)", res.success, res.remaining, res.limit, res.reset);
//! res.pending.wait().await?; // analytics are written in the background
//!
//! // Weighted calls and refunds:
//! let res = limiter.limit_with("user:42", LimitOptions::new().rate(5)).await?;
//! # Ok(()) }
//! ```
//!
//! # What is in the crate
//!
//! - [`Ratelimit`] with [`Algorithm::fixed_window`], [`Algorithm::sliding_window`],
//!   [`Algorithm::token_bucket`] and [`Algorithm::cached_fixed_window`]: `limit`, `limit_with`
//!   (cost, deny-list fields, analytics geo), `get_remaining`, `reset_used_tokens`,
//!   `block_until_ready`, dynamic limits, an [`EphemeralCache`] of blocked identifiers, a timeout
//!   that allows or denies ([`OnTimeout`]), analytics ([`analytics`]) and deny lists ([`deny_list`])
//!   in the JavaScript library's keys.
//! - [`MultiRegionRatelimit`]: one limiter over several databases, like `MultiRegionRatelimit`.
//! - [`Gcra`]: the generic cell rate algorithm, with exact retry times (this crate's own keys).
//! - [`ConcurrencyLimit`]: at most N requests in flight per identifier, with leases that expire
//!   if their holder dies.
//! - With the `tower` feature, [`middleware::RateLimitLayer`], a tower `Layer` that sets the
//!   `X-RateLimit-*`, `Retry-After` and IETF `RateLimit`/`RateLimit-Policy` headers; with `axum`,
//!   the client IP from axum's `ConnectInfo`.
//!
//! # Divergences from `@upstash/ratelimit`
//!
//! - `remaining` is never negative (JavaScript's `cachedFixedWindow` and multi-region fixed window
//!   can report negative numbers); `rate` is an integer.
//! - `cached_fixed_window` counters get a TTL (`PEXPIRE … NX` next to the upstream script, which
//!   never sets one).
//! - Deny lists never download anything (see [`deny_list`]).
//! - Background work runs in spawned tokio tasks; [`Response::pending`] waits for it.
//! - Token buckets of the Python `upstash-ratelimit` use the field `refilled_at`, not `refilledAt`:
//!   like the JavaScript library, this crate does not share token buckets with Python.
//!
//! All times are the client's Unix epoch milliseconds, as in JavaScript: services that share keys
//! need synchronised clocks ([`Gcra`] and [`ConcurrencyLimit`] use the server's clock instead).

#![warn(missing_docs)]

pub mod analytics;
mod cache;
mod concurrency;
pub mod deny_list;
mod duration;
mod error;
mod gcra;
#[cfg(feature = "tower")]
pub mod middleware;
mod multi;
mod ratelimit;
mod response;
mod scripts;

pub use cache::EphemeralCache;
pub use concurrency::{Acquired, ConcurrencyLimit, ConcurrencyLimitBuilder, Lease};
pub use duration::duration;
pub use error::{Error, Result};
pub use gcra::{Gcra, GcraBuilder};
pub use multi::{MultiRegionRatelimit, MultiRegionRatelimitBuilder};
pub use ratelimit::{
    Algorithm, Clock, DEFAULT_PREFIX, DEFAULT_TIMEOUT, IpDenyListSource, OnTimeout, Ratelimit,
    RatelimitBuilder, dynamic_key,
};
pub use response::{LimitOptions, Pending, Reason, Remaining, Response};

/// Unix epoch milliseconds from the system clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
