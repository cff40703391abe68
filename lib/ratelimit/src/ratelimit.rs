//! [`Ratelimit`], the single-region limiter, and its algorithms.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use larder_redis::{Redis, Value};

use crate::cache::EphemeralCache;
use crate::duration::window_ms;
use crate::error::{Error, Result};
use crate::response::{BoxFuture, LimitOptions, Pending, Reason, Remaining, Response};
use crate::scripts;
use crate::{analytics, deny_list};

/// The default key prefix, the same as `@upstash/ratelimit`'s.
pub const DEFAULT_PREFIX: &str = "@upstash/ratelimit";

/// The default timeout of a limit call (as in `@upstash/ratelimit`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The SDK name added to the `Upstash-Telemetry-Sdk` header.
pub(crate) const TELEMETRY_SDK: &str = concat!("larder-ratelimit@v", env!("CARGO_PKG_VERSION"));

/// A clock in Unix epoch milliseconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What a limit call answers when Redis does not answer within the timeout.
///
/// ```no_run
/// # fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// use std::time::Duration;
/// use larder_ratelimit::{OnTimeout, Ratelimit};
/// // Paid API calls: if Redis does not answer within 300 ms, refuse rather than risk overuse.
/// let limiter = Ratelimit::builder(redis, Ratelimit::fixed_window(100, Duration::from_secs(60)))
///     .timeout(Duration::from_millis(300))
///     .on_timeout(OnTimeout::Deny)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnTimeout {
    /// Let the request through (`success: true, reason: Timeout`), as `@upstash/ratelimit` does:
    /// an outage of the limiter does not become an outage of the service.
    #[default]
    Allow,
    /// Reject the request (`success: false, reason: Timeout`): fail closed.
    Deny,
}

/// A rate-limiting algorithm for [`Ratelimit`]. The constructors are also available as
/// `Ratelimit::fixed_window(...)` and so on, as in JavaScript.
///
/// ```
/// use std::time::Duration;
/// use larder_ratelimit::Algorithm;
/// let per_minute = Algorithm::sliding_window(60, Duration::from_secs(60));
/// assert_eq!((per_minute.limit(), per_minute.window()), (60, Duration::from_secs(60)));
/// // 5 tokens back every second, at most 20 in the bucket.
/// let bucket = Algorithm::token_bucket(5, Duration::from_secs(1), 20);
/// assert_eq!(bucket.limit(), 20);
/// // The JavaScript window strings work too.
/// let daily = Algorithm::fixed_window(1000, larder_ratelimit::duration("1 d").unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithm(pub(crate) Kind);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    FixedWindow { tokens: u64, window: u64 },
    SlidingWindow { tokens: u64, window: u64 },
    TokenBucket { refill_rate: u64, interval: u64, max_tokens: u64 },
    CachedFixedWindow { tokens: u64, window: u64 },
}

impl Algorithm {
    /// At most `tokens` per fixed window (`Ratelimit.fixedWindow`). Counter key
    /// `prefix:id:<now / window>`; rejected requests are counted too.
    pub fn fixed_window(tokens: u64, window: Duration) -> Algorithm {
        Algorithm(Kind::FixedWindow { tokens, window: window_ms(window) })
    }

    /// At most `tokens` per sliding window, approximated by weighting the previous fixed window
    /// (`Ratelimit.slidingWindow`).
    pub fn sliding_window(tokens: u64, window: Duration) -> Algorithm {
        Algorithm(Kind::SlidingWindow { tokens, window: window_ms(window) })
    }

    /// A bucket of `max_tokens` that gets `refill_rate` tokens back every `interval`
    /// (`Ratelimit.tokenBucket(refillRate, interval, maxTokens)`: the same argument order).
    /// Hash `prefix:id` with fields `refilledAt` and `tokens`.
    pub fn token_bucket(refill_rate: u64, interval: Duration, max_tokens: u64) -> Algorithm {
        Algorithm(Kind::TokenBucket { refill_rate, interval: window_ms(interval), max_tokens })
    }

    /// A fixed window whose counter is also kept in the ephemeral cache: once this process has
    /// seen the window's count, it decides locally and increments Redis in the background
    /// (`Ratelimit.cachedFixedWindow`, experimental upstream). Shares the counter with
    /// [`Algorithm::fixed_window`]. Needs the ephemeral cache. Unlike the JavaScript script, which
    /// never sets a TTL on these counters (an upstream bug), this crate also sends
    /// `PEXPIRE key window NX`, so the counters expire.
    pub fn cached_fixed_window(tokens: u64, window: Duration) -> Algorithm {
        Algorithm(Kind::CachedFixedWindow { tokens, window: window_ms(window) })
    }

    /// The configured limit (tokens per window, or the bucket size).
    pub fn limit(&self) -> u64 {
        match self.0 {
            Kind::FixedWindow { tokens, .. }
            | Kind::SlidingWindow { tokens, .. }
            | Kind::CachedFixedWindow { tokens, .. } => tokens,
            Kind::TokenBucket { max_tokens, .. } => max_tokens,
        }
    }

    /// The window (or the token bucket's refill interval).
    pub fn window(&self) -> Duration {
        match self.0 {
            Kind::FixedWindow { window, .. }
            | Kind::SlidingWindow { window, .. }
            | Kind::CachedFixedWindow { window, .. } => Duration::from_millis(window),
            Kind::TokenBucket { interval, .. } => Duration::from_millis(interval),
        }
    }
}

/// What a limit call decided, before background work is started.
pub(crate) struct Outcome {
    pub success: bool,
    pub limit: i64,
    pub remaining: i64,
    pub reset: u64,
    pub reason: Option<Reason>,
    pub denied_value: Option<String>,
    pub background: Vec<BoxFuture<Result<()>>>,
}

impl Outcome {
    pub(crate) fn new(success: bool, limit: i64, remaining: i64, reset: u64) -> Outcome {
        Outcome {
            success,
            limit,
            remaining,
            reset,
            reason: None,
            denied_value: None,
            background: Vec::new(),
        }
    }

    pub(crate) fn cache_block(limit: u64, reset: u64) -> Outcome {
        Outcome { reason: Some(Reason::CacheBlock), ..Outcome::new(false, clamp(limit), 0, reset) }
    }

    pub(crate) fn timeout(on_timeout: OnTimeout) -> Outcome {
        let success = on_timeout == OnTimeout::Allow;
        Outcome { reason: Some(Reason::Timeout), ..Outcome::new(success, 0, 0, 0) }
    }

    fn denied_cached(value: String) -> Outcome {
        Outcome {
            reason: Some(Reason::DenyList),
            denied_value: Some(value),
            ..Outcome::new(false, 0, 0, 0)
        }
    }
}

pub(crate) fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Settings shared by the single- and multi-region limiters.
#[derive(Clone)]
pub(crate) struct Common {
    pub prefix: String,
    pub cache: Option<EphemeralCache>,
    pub timeout: Option<Duration>,
    pub on_timeout: OnTimeout,
    pub analytics: bool,
    pub inline_pending: bool,
    pub clock: Clock,
}

impl Common {
    pub(crate) fn new() -> Common {
        Common {
            prefix: DEFAULT_PREFIX.to_owned(),
            cache: Some(EphemeralCache::new()),
            timeout: Some(DEFAULT_TIMEOUT),
            on_timeout: OnTimeout::Allow,
            analytics: false,
            inline_pending: false,
            clock: Arc::new(crate::now_ms),
        }
    }

    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }

    pub(crate) fn key(&self, identifier: &str) -> String {
        format!("{}:{identifier}", self.prefix)
    }

    /// Runs `decide` under the timeout, adds analytics and starts the background work.
    pub(crate) async fn finish(
        &self,
        analytics_redis: &Redis,
        identifier: &str,
        opts: &LimitOptions,
        decide: impl std::future::Future<Output = Result<Outcome>>,
    ) -> Result<Response> {
        let mut outcome = match self.timeout {
            Some(t) if !t.is_zero() => match tokio::time::timeout(t, decide).await {
                Ok(r) => r?,
                Err(_) => Outcome::timeout(self.on_timeout),
            },
            _ => decide.await?,
        };
        if self.analytics {
            let redis = analytics_redis.clone();
            let prefix = self.prefix.clone();
            let now = self.now();
            let (id, success) = match (&outcome.reason, &outcome.denied_value) {
                (Some(Reason::DenyList), Some(v)) => (v.clone(), serde_json::Value::from("denied")),
                _ => (identifier.to_owned(), serde_json::Value::from(outcome.success)),
            };
            let geo = opts.geo.clone();
            outcome.background.push(Box::pin(async move {
                analytics::record(&redis, &prefix, now, &id, &success, &geo).await
            }));
        }
        let pending =
            Pending::start(std::mem::take(&mut outcome.background), self.inline_pending).await;
        Ok(Response {
            success: outcome.success,
            limit: unsigned(outcome.limit),
            remaining: unsigned(outcome.remaining),
            reset: outcome.reset,
            reason: outcome.reason,
            denied_value: outcome.denied_value,
            pending,
        })
    }
}

/// Where the IP deny list comes from when it needs a refresh.
pub type IpDenyListSource = Arc<dyn Fn() -> BoxFuture<Result<Vec<String>>> + Send + Sync>;

/// A rate limiter over Redis, key- and script-compatible with `@upstash/ratelimit` 2.2: a
/// JavaScript service and a Rust service that limit the same identifier with the same prefix and
/// algorithm share their counts.
///
/// ```no_run
/// use std::time::Duration;
/// use larder_ratelimit::Ratelimit;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = larder_redis::Redis::from_env()?;
/// let limiter = Ratelimit::new(redis, Ratelimit::sliding_window(10, Duration::from_secs(10)));
/// let res = limiter.limit("user:42").await?;
/// if !res.success {
///     println!("slow down; retry in {:?}", res.retry_after());
/// }
/// # Ok(()) }
/// ```
///
/// Cheap to clone (clones share the ephemeral cache).
#[derive(Clone)]
pub struct Ratelimit {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    algorithm: Algorithm,
    common: Common,
    protection: bool,
    ip_source: Option<IpDenyListSource>,
    dynamic_limits: bool,
}

impl fmt::Debug for Ratelimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Ratelimit")
            .field("algorithm", &i.algorithm)
            .field("prefix", &i.common.prefix)
            .field("timeout", &i.common.timeout)
            .field("on_timeout", &i.common.on_timeout)
            .field("analytics", &i.common.analytics)
            .field("deny_list", &i.protection)
            .field("dynamic_limits", &i.dynamic_limits)
            .finish_non_exhaustive()
    }
}

/// Options for a [`Ratelimit`]; start with [`Ratelimit::builder`].
///
/// ```no_run
/// # fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// use std::time::Duration;
/// use larder_ratelimit::Ratelimit;
/// let limiter = Ratelimit::builder(redis, Ratelimit::sliding_window(10, Duration::from_secs(10)))
///     .prefix("api")
///     .analytics(true)
///     .deny_list(true)
///     .dynamic_limits(true)
///     .wait_for_pending(true) // serverless: no work left running after the call
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct RatelimitBuilder {
    redis: Redis,
    algorithm: Algorithm,
    common: Common,
    protection: bool,
    ip_source: Option<IpDenyListSource>,
    dynamic_limits: bool,
    telemetry: bool,
}

impl fmt::Debug for RatelimitBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RatelimitBuilder")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl RatelimitBuilder {
    /// The key prefix (default `@upstash/ratelimit`). Use one prefix per limiter: keys of different
    /// algorithms share one namespace.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.common.prefix = prefix.into();
        self
    }

    /// Use this ephemeral cache (share one between limiters by passing clones).
    pub fn ephemeral_cache(mut self, cache: EphemeralCache) -> Self {
        self.common.cache = Some(cache);
        self
    }

    /// No ephemeral cache (`ephemeralCache: false`): every call goes to Redis.
    pub fn no_ephemeral_cache(mut self) -> Self {
        self.common.cache = None;
        self
    }

    /// How long a limit call waits for Redis (default 5 s); `Duration::ZERO` waits forever. The
    /// answer after the timeout is set by [`RatelimitBuilder::on_timeout`]. The Redis request is
    /// abandoned, but the server may still have counted it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.common.timeout = Some(timeout);
        self
    }

    /// Allow (default, as in JavaScript) or deny when the timeout expires.
    pub fn on_timeout(mut self, on_timeout: OnTimeout) -> Self {
        self.common.on_timeout = on_timeout;
        self
    }

    /// Record every decision in `prefix:events:<hour>` like `@upstash/ratelimit`'s analytics (and
    /// the Upstash console's dashboard) expects (default: off).
    pub fn analytics(mut self, on: bool) -> Self {
        self.common.analytics = on;
        self
    }

    /// Check the identifier, IP, user agent and country against the deny list
    /// (`enableProtection`; default off). See [`deny_list`](crate::deny_list).
    pub fn deny_list(mut self, on: bool) -> Self {
        self.protection = on;
        self
    }

    /// Where to get the IP deny list when its status key has expired (with
    /// [`RatelimitBuilder::deny_list`]). Called in the background; the IPs are stored as
    /// [`deny_list::update_ip_deny_list`] does. Without a source, nothing is downloaded, ever.
    pub fn ip_deny_list_source<F, Fut>(mut self, source: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Vec<String>>> + Send + 'static,
    {
        self.ip_source = Some(Arc::new(move || Box::pin(source())));
        self
    }

    /// Read the global dynamic limit from `prefix:dynamic:global` (`dynamicLimits`; default off).
    pub fn dynamic_limits(mut self, on: bool) -> Self {
        self.dynamic_limits = on;
        self
    }

    /// Add `larder-ratelimit@v…` to the client's `Upstash-Telemetry-Sdk` header (default: on,
    /// unless the client has telemetry off).
    pub fn telemetry(mut self, on: bool) -> Self {
        self.telemetry = on;
        self
    }

    /// Do background work (analytics, ...) inside the limit call instead of in a spawned task, so
    /// that nothing is left running when it returns (for platforms that freeze the process after a
    /// response). Default: spawned, with [`Response::pending`] to await it.
    pub fn wait_for_pending(mut self, on: bool) -> Self {
        self.common.inline_pending = on;
        self
    }

    /// Use this clock (Unix epoch milliseconds) instead of the system clock. The clock must agree
    /// with the other services sharing the keys: all algorithms but GCRA and the concurrency limit
    /// use the client's clock, like `@upstash/ratelimit`.
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.common.clock = Arc::new(clock);
        self
    }

    /// The limiter. Fails when `cached_fixed_window` has no ephemeral cache.
    pub fn build(self) -> Result<Ratelimit> {
        if matches!(self.algorithm.0, Kind::CachedFixedWindow { .. }) && self.common.cache.is_none()
        {
            return Err(Error::Config("cached_fixed_window requires an ephemeral cache".into()));
        }
        let redis =
            if self.telemetry { self.redis.with_telemetry_sdk(TELEMETRY_SDK) } else { self.redis };
        Ok(Ratelimit {
            inner: Arc::new(Inner {
                redis,
                algorithm: self.algorithm,
                common: self.common,
                protection: self.protection,
                ip_source: self.ip_source,
                dynamic_limits: self.dynamic_limits,
            }),
        })
    }
}

impl Ratelimit {
    /// A limiter with the default options (prefix `@upstash/ratelimit`, an ephemeral cache, a 5 s
    /// timeout that allows, no analytics). For `cached_fixed_window` this cannot fail since the
    /// default has a cache.
    pub fn new(redis: Redis, algorithm: Algorithm) -> Ratelimit {
        Ratelimit::builder(redis, algorithm).build().expect("the default options are valid")
    }

    /// A builder for a limiter with options.
    pub fn builder(redis: Redis, algorithm: Algorithm) -> RatelimitBuilder {
        RatelimitBuilder {
            redis,
            algorithm,
            common: Common::new(),
            protection: false,
            ip_source: None,
            dynamic_limits: false,
            telemetry: true,
        }
    }

    /// [`Algorithm::fixed_window`].
    pub fn fixed_window(tokens: u64, window: Duration) -> Algorithm {
        Algorithm::fixed_window(tokens, window)
    }

    /// [`Algorithm::sliding_window`].
    pub fn sliding_window(tokens: u64, window: Duration) -> Algorithm {
        Algorithm::sliding_window(tokens, window)
    }

    /// [`Algorithm::token_bucket`] (`refill_rate, interval, max_tokens`, as in JavaScript).
    pub fn token_bucket(refill_rate: u64, interval: Duration, max_tokens: u64) -> Algorithm {
        Algorithm::token_bucket(refill_rate, interval, max_tokens)
    }

    /// [`Algorithm::cached_fixed_window`].
    pub fn cached_fixed_window(tokens: u64, window: Duration) -> Algorithm {
        Algorithm::cached_fixed_window(tokens, window)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> &Algorithm {
        &self.inner.algorithm
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.common.prefix
    }

    /// The Redis client (with this crate's telemetry tag).
    pub fn redis(&self) -> &Redis {
        &self.inner.redis
    }

    /// The ephemeral cache, if any.
    pub fn ephemeral_cache(&self) -> Option<&EphemeralCache> {
        self.inner.common.cache.as_ref()
    }

    /// Consumes one unit for `identifier` (used exactly as given in the keys: no escaping).
    pub async fn limit(&self, identifier: &str) -> Result<Response> {
        self.limit_with(identifier, LimitOptions::default()).await
    }

    /// Consumes `opts.rate` units (default 1; negative refunds) for `identifier`, checking the deny
    /// list with the identifier, IP, user agent and country when it is on.
    ///
    /// Errors are Redis errors (after the client's retries); a Redis that is merely slow gives a
    /// `Reason::Timeout` response instead (see [`RatelimitBuilder::on_timeout`]).
    pub async fn limit_with(&self, identifier: &str, opts: LimitOptions) -> Result<Response> {
        let i = &self.inner;
        let decide = self.decide(identifier, &opts);
        i.common.finish(&i.redis, identifier, &opts, decide).await
    }

    async fn decide(&self, identifier: &str, opts: &LimitOptions) -> Result<Outcome> {
        let i = &self.inner;
        let now = i.common.now();
        let key = i.common.key(identifier);
        let members: Vec<&str> = [
            Some(identifier),
            opts.ip.as_deref(),
            opts.user_agent.as_deref(),
            opts.country.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|m| !m.is_empty())
        .collect();
        if let Some(denied) = deny_list::cached(&members, now) {
            return Ok(Outcome::denied_cached(denied));
        }
        let rate = opts.rate_or_default();
        let limit = self.run_limit(&key, rate, now);
        if !i.protection {
            return limit.await;
        }
        let (outcome, check) =
            tokio::join!(limit, deny_list::check(&i.redis, &i.common.prefix, &members, now));
        let (mut outcome, check) = (outcome?, check?);
        if let Some(v) = check.denied_value {
            outcome.success = false;
            outcome.remaining = 0;
            outcome.reason = Some(Reason::DenyList);
            outcome.denied_value = Some(v);
        }
        if let (true, Some(source)) = (check.refresh_ip_list, &i.ip_source) {
            let (source, redis, prefix) =
                (source.clone(), i.redis.clone(), i.common.prefix.clone());
            outcome.background.push(Box::pin(async move {
                let ips = source().await?;
                deny_list::update_ip_deny_list(&redis, &prefix, &ips, None).await
            }));
        }
        Ok(outcome)
    }

    fn dyn_keys(&self) -> Vec<String> {
        if self.inner.dynamic_limits {
            vec![dynamic_key(&self.inner.common.prefix)]
        } else {
            Vec::new()
        }
    }

    fn blocked(&self, key: &str, rate: i64, now: u64) -> Option<u64> {
        let cache = self.inner.common.cache.as_ref()?;
        if rate > 0 { cache.blocked_until(key, now) } else { None }
    }

    fn update_cache(&self, key: &str, success: bool, rate: i64, reset: u64, now: u64) {
        if let Some(cache) = &self.inner.common.cache {
            if !success {
                cache.block_until(key, reset, now);
            } else if rate < 0 {
                cache.unblock(key);
            }
        }
    }

    async fn run_limit(&self, key: &str, rate: i64, now: u64) -> Result<Outcome> {
        let i = &self.inner;
        let redis = &i.redis;
        match i.algorithm.0 {
            Kind::FixedWindow { tokens, window } => {
                let bucket = now / window;
                let reset = (bucket + 1) * window;
                if let Some(until) = self.blocked(key, rate, now) {
                    return Ok(Outcome::cache_block(tokens, until));
                }
                let mut keys = vec![format!("{key}:{bucket}")];
                keys.extend(self.dyn_keys());
                let (used, limit): (i64, i64) =
                    scripts::FIXED_WINDOW_LIMIT.run(redis, keys, (tokens, window, rate)).await?;
                let success = used <= limit;
                self.update_cache(key, success, rate, reset, now);
                Ok(Outcome::new(success, limit, (limit - used).max(0), reset))
            }
            Kind::SlidingWindow { tokens, window } => {
                let bucket = now / window;
                let reset = (bucket + 1) * window;
                if let Some(until) = self.blocked(key, rate, now) {
                    return Ok(Outcome::cache_block(tokens, until));
                }
                let mut keys =
                    vec![format!("{key}:{bucket}"), format!("{key}:{}", bucket.wrapping_sub(1))];
                keys.extend(self.dyn_keys());
                let (rem, limit): (i64, i64) = scripts::SLIDING_WINDOW_LIMIT
                    .run(redis, keys, (tokens, now, window, rate))
                    .await?;
                let success = rem >= 0;
                self.update_cache(key, success, rate, reset, now);
                Ok(Outcome::new(success, limit, rem.max(0), reset))
            }
            Kind::TokenBucket { refill_rate, interval, max_tokens } => {
                if let Some(until) = self.blocked(key, rate, now) {
                    return Ok(Outcome::cache_block(max_tokens, until));
                }
                let mut keys = vec![key.to_owned()];
                keys.extend(self.dyn_keys());
                let (rem, reset, limit): (i64, i64, i64) = scripts::TOKEN_BUCKET_LIMIT
                    .run(redis, keys, (max_tokens, interval, refill_rate, now, rate))
                    .await?;
                let success = rem >= 0;
                let reset = unsigned(reset);
                self.update_cache(key, success, rate, reset, now);
                Ok(Outcome::new(success, limit, rem.max(0), reset))
            }
            Kind::CachedFixedWindow { tokens, window } => {
                let cache = i.common.cache.as_ref().ok_or_else(|| {
                    Error::Config("cached_fixed_window requires an ephemeral cache".into())
                })?;
                let bucket = now / window;
                let reset = (bucket + 1) * window;
                let wkey = format!("{key}:{bucket}");
                let limit = clamp(tokens);
                if let Some(used) = cache.incr_counter(&wkey, rate) {
                    // 2.2.0: `<=` (PR #157).
                    let success = used <= limit;
                    let mut out = Outcome::new(success, limit, (limit - used).max(0), reset);
                    if success {
                        let redis = redis.clone();
                        out.background.push(Box::pin(async move {
                            cached_incr(&redis, &wkey, window, rate).await.map(drop)
                        }));
                    }
                    return Ok(out);
                }
                let used = cached_incr(redis, &wkey, window, rate).await?;
                cache.set_counter(&wkey, used, reset, now);
                let remaining = limit - used;
                Ok(Outcome::new(remaining >= 0, limit, remaining.max(0), reset))
            }
        }
    }

    /// How many units `identifier` has left, without consuming any (`getRemaining`). For a token
    /// bucket this is the stored count, without the refill the next `limit` call would apply (as
    /// in JavaScript).
    pub async fn get_remaining(&self, identifier: &str) -> Result<Remaining> {
        let i = &self.inner;
        let redis = &i.redis;
        let key = i.common.key(identifier);
        let now = i.common.now();
        let remaining = |rem: i64, reset: u64, limit: i64| Remaining {
            remaining: unsigned(rem),
            reset,
            limit: unsigned(limit),
        };
        match i.algorithm.0 {
            Kind::FixedWindow { tokens, window } => {
                let bucket = now / window;
                let mut keys = vec![format!("{key}:{bucket}")];
                keys.extend(self.dyn_keys());
                let (rem, limit): (i64, i64) =
                    scripts::FIXED_WINDOW_REMAINING.run(redis, keys, [tokens]).await?;
                Ok(remaining(rem, (bucket + 1) * window, limit))
            }
            Kind::SlidingWindow { tokens, window } => {
                let bucket = now / window;
                let mut keys =
                    vec![format!("{key}:{bucket}"), format!("{key}:{}", bucket.wrapping_sub(1))];
                keys.extend(self.dyn_keys());
                let (rem, limit): (i64, i64) = scripts::SLIDING_WINDOW_REMAINING
                    .run(redis, keys, (tokens, now, window))
                    .await?;
                Ok(remaining(rem, (bucket + 1) * window, limit))
            }
            Kind::TokenBucket { interval, max_tokens, .. } => {
                let mut keys = vec![key];
                keys.extend(self.dyn_keys());
                let (tokens, refilled_at, limit): (i64, i64, i64) =
                    scripts::TOKEN_BUCKET_REMAINING.run(redis, keys, [max_tokens]).await?;
                let reset = if refilled_at == -1 {
                    now + interval
                } else {
                    unsigned(refilled_at) + interval
                };
                Ok(remaining(tokens, reset, limit))
            }
            Kind::CachedFixedWindow { tokens, window } => {
                let bucket = now / window;
                let wkey = format!("{key}:{bucket}");
                let limit = clamp(tokens);
                let used = match i.common.cache.as_ref().and_then(|c| c.counter(&wkey)) {
                    Some(used) => used,
                    None => {
                        let v: Value = scripts::CACHED_FIXED_WINDOW_REMAINING
                            .run(redis, [&wkey], ["null"])
                            .await?;
                        int_of(&v)?
                    }
                };
                Ok(remaining(limit - used, (bucket + 1) * window, limit))
            }
        }
    }

    /// Forgets everything `identifier` has used (`resetUsedTokens`): clears the ephemeral cache
    /// entry and deletes the keys matching `prefix:identifier:*` (the token bucket's
    /// `prefix:identifier`) with the same SCAN+DEL script as JavaScript. The identifier is a glob
    /// pattern there: `user:*` also matches `user:42`, as upstream.
    pub async fn reset_used_tokens(&self, identifier: &str) -> Result<()> {
        let i = &self.inner;
        let key = i.common.key(identifier);
        let pattern = match i.algorithm.0 {
            Kind::TokenBucket { .. } => key.clone(),
            Kind::CachedFixedWindow { window, .. } => {
                if let Some(c) = &i.common.cache {
                    c.remove_counter(&format!("{key}:{}", i.common.now() / window));
                }
                format!("{key}:*")
            }
            _ => format!("{key}:*"),
        };
        if let Some(c) = &i.common.cache {
            c.unblock(&key);
        }
        let _: Value = scripts::RESET.run(&i.redis, [pattern], ["null"]).await?;
        Ok(())
    }

    /// Calls [`Ratelimit::limit`] until it succeeds or `timeout` has passed, sleeping until each
    /// rejection's `reset` (at least 100 ms) in between, as `blockUntilReady` in 2.2. Returns the
    /// last response (failed when the deadline passed first, or when a cached deny-list rejection
    /// makes waiting pointless).
    pub async fn block_until_ready(&self, identifier: &str, timeout: Duration) -> Result<Response> {
        block_until_ready(&self.inner.common.clock, timeout, || self.limit(identifier)).await
    }

    /// Sets (`Some`) or removes (`None`) the global dynamic limit `prefix:dynamic:global`
    /// (`setDynamicLimit`). Needs [`RatelimitBuilder::dynamic_limits`].
    pub async fn set_dynamic_limit(&self, limit: Option<u64>) -> Result<()> {
        let key = self.dynamic_key_checked("set_dynamic_limit")?;
        match limit {
            Some(n) => self.inner.redis.command(("SET", key, n)).await?,
            None => self.inner.redis.command(("DEL", key)).await?,
        };
        Ok(())
    }

    /// The global dynamic limit, if set (`getDynamicLimit`).
    pub async fn get_dynamic_limit(&self) -> Result<Option<u64>> {
        let key = self.dynamic_key_checked("get_dynamic_limit")?;
        let v: Option<f64> = self.inner.redis.get(key).await?;
        Ok(v.map(|f| f.max(0.0) as u64))
    }

    fn dynamic_key_checked(&self, what: &str) -> Result<String> {
        if !self.inner.dynamic_limits {
            return Err(Error::Config(format!(
                "dynamic limits must be enabled (RatelimitBuilder::dynamic_limits) to use {what}"
            )));
        }
        Ok(dynamic_key(&self.inner.common.prefix))
    }

    /// Adds values to this prefix's deny list (`prefix:denyList:all`).
    pub async fn deny(&self, values: &[&str]) -> Result<()> {
        deny_list::deny(&self.inner.redis, &self.inner.common.prefix, values).await
    }

    /// Removes values from this prefix's deny list.
    pub async fn allow(&self, values: &[&str]) -> Result<()> {
        deny_list::allow(&self.inner.redis, &self.inner.common.prefix, values).await
    }

    /// Allowed/blocked counts per identifier over the last `hours` hours of analytics.
    pub async fn analytics_usage(
        &self,
        hours: u32,
    ) -> Result<std::collections::BTreeMap<String, analytics::Usage>> {
        analytics::usage(
            &self.inner.redis,
            &self.inner.common.prefix,
            self.inner.common.now(),
            hours,
        )
        .await
    }
}

/// The `blockUntilReady` loop of `@upstash/ratelimit` 2.2 around any limit call.
pub(crate) async fn block_until_ready<F, Fut>(
    clock: &Clock,
    timeout: Duration,
    mut limit: F,
) -> Result<Response>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Response>>,
{
    if timeout.is_zero() {
        return Err(Error::InvalidArgument("timeout must be positive".into()));
    }
    let deadline = clock().saturating_add(window_ms(timeout));
    loop {
        let res = limit().await?;
        if res.success || (res.reset == 0 && res.reason == Some(Reason::DenyList)) {
            return Ok(res);
        }
        let wait = res.reset.min(deadline).saturating_sub(clock());
        let wait = if wait == 0 { 100 } else { wait };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        if clock() > deadline {
            return Ok(res);
        }
    }
}

/// `prefix:dynamic:global`.
pub fn dynamic_key(prefix: &str) -> String {
    format!("{prefix}:dynamic:global")
}

/// The cached fixed window's increment: the upstream script (whose own PEXPIRE never fires) plus a
/// `PEXPIRE ... NX` so the counter expires.
async fn cached_incr(redis: &Redis, key: &str, window: u64, rate: i64) -> Result<i64> {
    let mut p = redis.pipeline();
    p.script(&scripts::CACHED_FIXED_WINDOW_LIMIT, [key], (window, rate))
        .command(("PEXPIRE", key, window, "NX"));
    let mut results = p.exec().await?.into_iter();
    let used = int_of(&results.next().ok_or_else(|| Error::decode("empty pipeline reply"))??)?;
    let expired = results.next().and_then(|r| r.ok()).and_then(|v| v.as_int());
    // When the server did not have the script cached, the pipeline re-sent it as EVAL after the
    // PEXPIRE, which then found no key: set the TTL of the counter this call created.
    if used == rate && expired == Some(0) {
        redis.command(("PEXPIRE", key, window, "NX")).await?;
    }
    Ok(used)
}

/// An integer reply, or an integer in a bulk string.
pub(crate) fn int_of(v: &Value) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::Nil => Ok(0),
        other => other.decode::<f64>().map(|f| f as i64).map_err(Error::from),
    }
}
