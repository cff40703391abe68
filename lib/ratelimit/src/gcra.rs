//! [`Gcra`]: the generic cell rate algorithm (what `governor` and `redis_rate` implement), in this
//! crate's own keys.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use larder_redis::{Redis, Script, Value};

use crate::cache::EphemeralCache;
use crate::duration::window_ms;
use crate::error::{Error, Result};
use crate::ratelimit::{Common, OnTimeout, Outcome, TELEMETRY_SDK, clamp};
use crate::response::{LimitOptions, Remaining, Response};

/// The GCRA script. Times are integer microseconds (exact in Lua's doubles until the year 2255).
/// KEYS: the key. ARGV: emission interval (µs), delay tolerance (µs, = burst × emission), cost, and
/// the client's clock in µs or "" for the server's (`TIME`). Stores the theoretical arrival time
/// (TAT) with a TTL until it is reached. Returns {allowed, remaining, retry after (ms), full after
/// (ms), now (ms)}.
static GCRA_LIMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"-- larder-ratelimit GCRA v1
local key = KEYS[1]
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', key))
if not tat or tat < now then tat = now end
local new_tat = tat + cost * emission
if new_tat < now then new_tat = now end
local allow_at = new_tat - tolerance
if cost > 0 and allow_at > now then
  local remaining = math.floor((now + tolerance - tat) / emission)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, math.ceil((allow_at - now) / 1000), math.ceil((tat - now) / 1000), math.floor(now / 1000)}
end
local remaining = math.floor((now + tolerance - new_tat) / emission)
if remaining < 0 then remaining = 0 end
local ttl = math.ceil((new_tat - now) / 1000)
if ttl > 0 then
  redis.call('SET', key, new_tat, 'PX', ttl)
else
  redis.call('DEL', key)
end
return {1, remaining, 0, ttl, math.floor(now / 1000)}
"#,
    )
});

/// Reads without consuming: {remaining, full after (ms), now (ms)}.
static GCRA_REMAINING: LazyLock<Script> = LazyLock::new(|| {
    Script::read_only(
        r#"-- larder-ratelimit GCRA remaining v1
local key = KEYS[1]
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tat = tonumber(redis.call('GET', key))
if not tat or tat < now then tat = now end
local remaining = math.floor((now + tolerance - tat) / emission)
if remaining < 0 then remaining = 0 end
return {remaining, math.ceil((tat - now) / 1000), math.floor(now / 1000)}
"#,
    )
});

/// A GCRA limiter (generic cell rate algorithm, a token bucket refilled continuously): `limit`
/// units per `period`, with bursts of up to `burst` (default `limit`). Each identifier costs one
/// key, `prefix:gcra:identifier`, holding the theoretical arrival time.
///
/// Unlike the window algorithms, it answers exactly when the next unit is available (`reset` of a
/// rejection is the precise retry time), never lets 2× the limit through at a window boundary, and
/// uses the **server's** clock by default (no clock skew between services).
///
/// ```no_run
/// use std::time::Duration;
/// use larder_ratelimit::Gcra;
/// # async fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// // 10 requests per second, bursts of up to 20.
/// let limiter = Gcra::builder(redis, 10, Duration::from_secs(1)).burst(20).build()?;
/// let res = limiter.limit("user:42").await?;
/// if !res.success {
///     println!("retry in {:?}", res.retry_after());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Gcra {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    limit: u64,
    period: u64,
    burst: u64,
    emission_us: u64,
    server_clock: bool,
    common: Common,
}

impl fmt::Debug for Gcra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Gcra")
            .field("limit", &i.limit)
            .field("period_ms", &i.period)
            .field("burst", &i.burst)
            .field("prefix", &i.common.prefix)
            .field("server_clock", &i.server_clock)
            .finish_non_exhaustive()
    }
}

/// Options for a [`Gcra`] limiter.
///
/// ```no_run
/// # fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// use std::time::Duration;
/// use larder_ratelimit::{Gcra, OnTimeout};
/// let gcra = Gcra::builder(redis, 10, Duration::from_secs(1))
///     .burst(20)
///     .prefix("api")
///     .timeout(Duration::from_millis(500))
///     .on_timeout(OnTimeout::Deny)
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct GcraBuilder {
    redis: Redis,
    limit: u64,
    period: Duration,
    burst: Option<u64>,
    server_clock: bool,
    common: Common,
    telemetry: bool,
}

impl fmt::Debug for GcraBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcraBuilder").field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl GcraBuilder {
    /// How many units may be used at once (default: `limit`).
    pub fn burst(mut self, burst: u64) -> Self {
        self.burst = Some(burst);
        self
    }

    /// The key prefix (default `@upstash/ratelimit`; the key is `prefix:gcra:identifier`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.common.prefix = prefix.into();
        self
    }

    /// Use this ephemeral cache (rejected identifiers are blocked locally until their exact
    /// retry time).
    pub fn ephemeral_cache(mut self, cache: EphemeralCache) -> Self {
        self.common.cache = Some(cache);
        self
    }

    /// No ephemeral cache.
    pub fn no_ephemeral_cache(mut self) -> Self {
        self.common.cache = None;
        self
    }

    /// Timeout of a limit call (default 5 s; zero: forever).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.common.timeout = Some(timeout);
        self
    }

    /// Allow (default) or deny on timeout.
    pub fn on_timeout(mut self, on_timeout: OnTimeout) -> Self {
        self.common.on_timeout = on_timeout;
        self
    }

    /// Record analytics in `prefix:events:<hour>`, as the other limiters do.
    pub fn analytics(mut self, on: bool) -> Self {
        self.common.analytics = on;
        self
    }

    /// Do background work (analytics) inside the limit call.
    pub fn wait_for_pending(mut self, on: bool) -> Self {
        self.common.inline_pending = on;
        self
    }

    /// Use this client clock (Unix epoch ms) instead of the server's `TIME`.
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.common.clock = Arc::new(clock);
        self.server_clock = false;
        self
    }

    /// Use the client's system clock instead of the server's (default: the server's).
    pub fn client_clock(mut self, on: bool) -> Self {
        self.server_clock = !on;
        self
    }

    /// Add `larder-ratelimit@v…` to the telemetry header (default on).
    pub fn telemetry(mut self, on: bool) -> Self {
        self.telemetry = on;
        self
    }

    /// The limiter. Fails for a zero limit or burst.
    pub fn build(self) -> Result<Gcra> {
        let burst = self.burst.unwrap_or(self.limit);
        if self.limit == 0 || burst == 0 {
            return Err(Error::Config("GCRA needs a positive limit and burst".into()));
        }
        let period = window_ms(self.period);
        let period_us = u128::from(period) * 1000;
        let emission_us =
            u64::try_from((period_us / u128::from(self.limit)).max(1)).unwrap_or(u64::MAX);
        let redis =
            if self.telemetry { self.redis.with_telemetry_sdk(TELEMETRY_SDK) } else { self.redis };
        Ok(Gcra {
            inner: Arc::new(Inner {
                redis,
                limit: self.limit,
                period,
                burst,
                emission_us,
                server_clock: self.server_clock,
                common: self.common,
            }),
        })
    }
}

impl Gcra {
    /// `limit` units per `period`, bursts of `limit`, default options.
    pub fn new(redis: Redis, limit: u64, period: Duration) -> Result<Gcra> {
        Gcra::builder(redis, limit, period).build()
    }

    /// A builder.
    pub fn builder(redis: Redis, limit: u64, period: Duration) -> GcraBuilder {
        GcraBuilder {
            redis,
            limit,
            period,
            burst: None,
            server_clock: true,
            common: Common::new(),
            telemetry: true,
        }
    }

    /// `prefix:gcra:identifier`.
    pub fn key(&self, identifier: &str) -> String {
        format!("{}:gcra:{identifier}", self.inner.common.prefix)
    }

    /// Units per period.
    pub fn limit_per_period(&self) -> u64 {
        self.inner.limit
    }

    /// The period.
    pub fn period(&self) -> Duration {
        Duration::from_millis(self.inner.period)
    }

    /// The burst size (what `Response::limit` reports).
    pub fn burst(&self) -> u64 {
        self.inner.burst
    }

    fn tolerance_us(&self) -> u64 {
        self.inner.emission_us.saturating_mul(self.inner.burst)
    }

    fn now_arg(&self) -> String {
        if self.inner.server_clock {
            String::new()
        } else {
            (self.inner.common.now().saturating_mul(1000)).to_string()
        }
    }

    /// Consumes one unit.
    pub async fn limit(&self, identifier: &str) -> Result<Response> {
        self.limit_with(identifier, LimitOptions::default()).await
    }

    /// Consumes `opts.rate` units (negative: refund; 0: check only). `ip`, `user_agent` and
    /// `country` are ignored (no deny list); `geo` goes to analytics.
    pub async fn limit_with(&self, identifier: &str, opts: LimitOptions) -> Result<Response> {
        let i = &self.inner;
        let decide = self.decide(identifier, opts.rate_or_default());
        i.common.finish(&i.redis, identifier, &opts, decide).await
    }

    async fn decide(&self, identifier: &str, rate: i64) -> Result<Outcome> {
        let i = &self.inner;
        let key = self.key(identifier);
        let burst = clamp(i.burst);
        if let (Some(cache), true) = (&i.common.cache, rate > 0) {
            if let Some(until) = cache.blocked_until(&key, i.common.now()) {
                return Ok(Outcome::cache_block(i.burst, until));
            }
        }
        let (allowed, remaining, retry_ms, full_ms, now): (i64, i64, i64, i64, i64) = GCRA_LIMIT
            .run(&i.redis, [&key], (i.emission_us, self.tolerance_us(), rate, self.now_arg()))
            .await?;
        let now = u64::try_from(now).unwrap_or(0);
        let success = allowed == 1;
        let reset = now + u64::try_from(if success { full_ms } else { retry_ms }).unwrap_or(0);
        if let Some(cache) = &i.common.cache {
            if !success {
                cache.block_until(&key, reset, now);
            } else if rate < 0 {
                cache.unblock(&key);
            }
        }
        Ok(Outcome::new(success, burst, remaining, reset))
    }

    /// Units available now, without consuming; `reset` is when the burst is full again.
    pub async fn get_remaining(&self, identifier: &str) -> Result<Remaining> {
        let i = &self.inner;
        let (remaining, full_ms, now): (i64, i64, i64) = GCRA_REMAINING
            .run(
                &i.redis,
                [self.key(identifier)],
                (i.emission_us, self.tolerance_us(), self.now_arg()),
            )
            .await?;
        Ok(Remaining {
            remaining: u64::try_from(remaining).unwrap_or(0).min(i.burst),
            reset: u64::try_from(now + full_ms).unwrap_or(0),
            limit: i.burst,
        })
    }

    /// Forgets the identifier's state (deletes its key, clears the ephemeral cache entry).
    pub async fn reset_used_tokens(&self, identifier: &str) -> Result<()> {
        let key = self.key(identifier);
        if let Some(c) = &self.inner.common.cache {
            c.unblock(&key);
        }
        let _: Value = self.inner.redis.command(("DEL", key)).await?;
        Ok(())
    }

    /// Waits (sleeping exactly until the retry time) until a unit is available or `timeout` passed.
    pub async fn block_until_ready(&self, identifier: &str, timeout: Duration) -> Result<Response> {
        crate::ratelimit::block_until_ready(&self.inner.common.clock, timeout, || {
            self.limit(identifier)
        })
        .await
    }
}
