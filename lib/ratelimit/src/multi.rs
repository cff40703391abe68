//! [`MultiRegionRatelimit`]: one limiter over several databases (`MultiRegionRatelimit` in
//! `@upstash/ratelimit`).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use larder_redis::{Redis, Value};
use rand::Rng;
use tokio::sync::mpsc;

use crate::cache::EphemeralCache;
use crate::error::{Error, Result};
use crate::ratelimit::{Algorithm, Common, Kind, OnTimeout, Outcome, TELEMETRY_SDK, clamp};
use crate::response::{LimitOptions, Remaining, Response};
use crate::scripts;

/// A limiter over several Redis databases (regions), compatible with `@upstash/ratelimit`'s
/// `MultiRegionRatelimit` (fixed and sliding window only; the keys are **hashes** of request id →
/// rate, so they must not share a prefix with a single-region limiter).
///
/// Every call goes to every region at once; the first region to answer decides, and a background
/// sync ([`Response::pending`]) copies the request ids a region missed into it, so the regions
/// converge. Analytics are written to the first region only.
///
/// ```no_run
/// use std::time::Duration;
/// use larder_ratelimit::{MultiRegionRatelimit, Ratelimit};
/// # async fn run(eu: larder_redis::Redis, us: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// let limiter = MultiRegionRatelimit::builder(vec![eu, us], Ratelimit::fixed_window(10, Duration::from_secs(10)))
///     .prefix("global")
///     .build()?;
/// let res = limiter.limit("user:42").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MultiRegionRatelimit {
    inner: Arc<Inner>,
}

struct Inner {
    regions: Vec<Redis>,
    algorithm: Algorithm,
    common: Common,
}

impl fmt::Debug for MultiRegionRatelimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiRegionRatelimit")
            .field("regions", &self.inner.regions.len())
            .field("algorithm", &self.inner.algorithm)
            .field("prefix", &self.inner.common.prefix)
            .finish_non_exhaustive()
    }
}

/// Options for a [`MultiRegionRatelimit`].
///
/// ```no_run
/// # fn run(eu: larder_redis::Redis, us: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// use std::time::Duration;
/// use larder_ratelimit::{MultiRegionRatelimit, Ratelimit};
/// let limiter = MultiRegionRatelimit::builder(vec![eu, us], Ratelimit::sliding_window(10, Duration::from_secs(10)))
///     .prefix("global")
///     .analytics(true)
///     .timeout(Duration::from_secs(1))
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct MultiRegionRatelimitBuilder {
    regions: Vec<Redis>,
    algorithm: Algorithm,
    common: Common,
    telemetry: bool,
}

impl fmt::Debug for MultiRegionRatelimitBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiRegionRatelimitBuilder")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl MultiRegionRatelimitBuilder {
    /// The key prefix (default `@upstash/ratelimit`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.common.prefix = prefix.into();
        self
    }

    /// Use this ephemeral cache. (Unlike JavaScript, which always uses a fresh one, this option is
    /// honoured.)
    pub fn ephemeral_cache(mut self, cache: EphemeralCache) -> Self {
        self.common.cache = Some(cache);
        self
    }

    /// No ephemeral cache.
    pub fn no_ephemeral_cache(mut self) -> Self {
        self.common.cache = None;
        self
    }

    /// How long a limit call waits for the first region (default 5 s; zero: forever).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.common.timeout = Some(timeout);
        self
    }

    /// Allow (default) or deny when the timeout expires.
    pub fn on_timeout(mut self, on_timeout: OnTimeout) -> Self {
        self.common.on_timeout = on_timeout;
        self
    }

    /// Record analytics in the first region (default off).
    pub fn analytics(mut self, on: bool) -> Self {
        self.common.analytics = on;
        self
    }

    /// Do the background work (sync, analytics) inside the limit call.
    pub fn wait_for_pending(mut self, on: bool) -> Self {
        self.common.inline_pending = on;
        self
    }

    /// Use this clock (Unix epoch ms).
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.common.clock = Arc::new(clock);
        self
    }

    /// Add `larder-ratelimit@v…` to each client's telemetry header (default on).
    pub fn telemetry(mut self, on: bool) -> Self {
        self.telemetry = on;
        self
    }

    /// The limiter. Fails without regions, or for an algorithm other than fixed or sliding window.
    pub fn build(self) -> Result<MultiRegionRatelimit> {
        if self.regions.is_empty() {
            return Err(Error::Config("a multi-region limiter needs at least one region".into()));
        }
        if !matches!(self.algorithm.0, Kind::FixedWindow { .. } | Kind::SlidingWindow { .. }) {
            return Err(Error::Config(
                "multi-region limiters support fixed_window and sliding_window only".into(),
            ));
        }
        let regions = self
            .regions
            .into_iter()
            .map(|r| if self.telemetry { r.with_telemetry_sdk(TELEMETRY_SDK) } else { r })
            .collect();
        Ok(MultiRegionRatelimit {
            inner: Arc::new(Inner { regions, algorithm: self.algorithm, common: self.common }),
        })
    }
}

/// A 16-character request id from `[A-Za-z0-9]`, as JavaScript's `randomId`.
fn request_id() -> String {
    rand::rng().sample_iter(&rand::distr::Alphanumeric).take(16).map(char::from).collect()
}

/// Sum of the values of a flat `[field, value, ...]` reply (`parseInt` of each value).
fn sum_values(fields: &[Value]) -> i64 {
    fields.iter().skip(1).step_by(2).map(|v| parse_int(v).unwrap_or(0)).sum()
}

fn ids(fields: &[Value]) -> Vec<String> {
    fields.iter().step_by(2).filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

fn parse_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::Bytes(b) => {
            let s = std::str::from_utf8(b).ok()?.trim();
            // parseInt: the leading integer part.
            let end = s
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
                .map_or(s.len(), |(i, _)| i);
            s[..end].parse().ok()
        }
        _ => None,
    }
}

fn array(v: Value) -> Vec<Value> {
    v.into_array().unwrap_or_default()
}

/// What is left of a fan-out once the first region answered: which region it was, the errors that
/// came before, and the answers still to come.
struct FanOut {
    first: usize,
    failed: Vec<Error>,
    rest: mpsc::UnboundedReceiver<(usize, Result<Value>)>,
}

impl MultiRegionRatelimit {
    /// A limiter over `regions` with default options.
    pub fn new(regions: Vec<Redis>, algorithm: Algorithm) -> Result<MultiRegionRatelimit> {
        MultiRegionRatelimit::builder(regions, algorithm).build()
    }

    /// A builder.
    pub fn builder(regions: Vec<Redis>, algorithm: Algorithm) -> MultiRegionRatelimitBuilder {
        MultiRegionRatelimitBuilder { regions, algorithm, common: Common::new(), telemetry: true }
    }

    /// The regions.
    pub fn regions(&self) -> &[Redis] {
        &self.inner.regions
    }

    /// The algorithm.
    pub fn algorithm(&self) -> &Algorithm {
        &self.inner.algorithm
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.common.prefix
    }

    async fn fan_out(
        &self,
        script: &'static larder_redis::Script,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<(Value, FanOut)> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for (i, redis) in self.inner.regions.iter().enumerate() {
            let (redis, keys, args, tx) = (redis.clone(), keys.clone(), args.clone(), tx.clone());
            tokio::spawn(async move {
                let r = script.run::<Value>(&redis, keys, args).await.map_err(Error::from);
                let _ = tx.send((i, r));
            });
        }
        drop(tx);
        let mut errors = Vec::new();
        while let Some((i, r)) = rx.recv().await {
            match r {
                Ok(v) => return Ok((v, FanOut { first: i, failed: errors, rest: rx })),
                Err(e) => errors.push(e),
            }
        }
        let first =
            errors.into_iter().next().unwrap_or_else(|| Error::Config("no region answered".into()));
        Err(Error::AllRegionsFailed(Box::new(first)))
    }

    /// Consumes one unit for `identifier`.
    pub async fn limit(&self, identifier: &str) -> Result<Response> {
        self.limit_with(identifier, LimitOptions::default()).await
    }

    /// Consumes `opts.rate` units (negative: refund). Deny lists do not apply to multi-region
    /// limiters (as in JavaScript); `geo` goes to analytics.
    pub async fn limit_with(&self, identifier: &str, opts: LimitOptions) -> Result<Response> {
        let i = &self.inner;
        let decide = self.decide(identifier, opts.rate_or_default());
        i.common.finish(&i.regions[0], identifier, &opts, decide).await
    }

    async fn decide(&self, identifier: &str, rate: i64) -> Result<Outcome> {
        let i = &self.inner;
        let now = i.common.now();
        let key = i.common.key(identifier);
        let (tokens, window) = match i.algorithm.0 {
            Kind::FixedWindow { tokens, window } | Kind::SlidingWindow { tokens, window } => {
                (tokens, window)
            }
            _ => unreachable!("checked by build"),
        };
        let bucket = now / window;
        let reset = (bucket + 1) * window;
        if let (Some(cache), true) = (&i.common.cache, rate > 0) {
            if let Some(until) = cache.blocked_until(&key, now) {
                return Ok(Outcome::cache_block(tokens, until));
            }
        }
        let id = request_id();
        let current = format!("{key}:{bucket}");
        let limit = clamp(tokens);
        let mut outcome = match i.algorithm.0 {
            Kind::FixedWindow { .. } => {
                let (value, fan) = self
                    .fan_out(
                        &scripts::MULTI_FIXED_WINDOW_LIMIT,
                        vec![current.clone()],
                        vec![id.clone(), window.to_string(), rate.to_string()],
                    )
                    .await?;
                let fields = array(value);
                let remaining = limit - sum_values(&fields);
                let mut out = Outcome::new(remaining >= 0, limit, remaining.max(0), reset);
                out.background.push(Box::pin(sync(
                    self.inner.regions.clone(),
                    current,
                    fan,
                    fields,
                    limit,
                    rate,
                    array,
                )));
                out
            }
            _ => {
                let previous = format!("{key}:{}", bucket.wrapping_sub(1));
                let (value, fan) = self
                    .fan_out(
                        &scripts::MULTI_SLIDING_WINDOW_LIMIT,
                        vec![current.clone(), previous],
                        vec![
                            tokens.to_string(),
                            now.to_string(),
                            window.to_string(),
                            id.clone(),
                            rate.to_string(),
                        ],
                    )
                    .await?;
                let mut parts = array(value).into_iter();
                let mut cur = parts.next().map(array).unwrap_or_default();
                let prev = parts.next().map(array).unwrap_or_default();
                let success = parts.next().is_some_and(|v| !v.is_nil());
                if success {
                    cur.push(Value::from(id.as_str()));
                    cur.push(Value::from(rate.to_string()));
                }
                let frac = (now % window) as f64 / window as f64;
                let prev_partial = (sum_values(&prev) as f64 * (1.0 - frac)).ceil() as i64;
                let remaining = limit - (prev_partial + sum_values(&cur));
                let mut out = Outcome::new(success, limit, remaining.max(0), reset);
                out.background.push(Box::pin(sync(
                    self.inner.regions.clone(),
                    current,
                    // As in JavaScript, the deciding region's list includes this request.
                    fan,
                    cur.clone(),
                    limit,
                    rate,
                    |v| array(v).into_iter().next().map(array).unwrap_or_default(),
                )));
                out
            }
        };
        if let Some(cache) = &i.common.cache {
            if !outcome.success {
                cache.block_until(&key, reset, now);
            } else if rate < 0 {
                cache.unblock(&key);
            }
        }
        outcome.limit = limit;
        Ok(outcome)
    }

    /// Units left for `identifier` in the first region that answers.
    pub async fn get_remaining(&self, identifier: &str) -> Result<Remaining> {
        let i = &self.inner;
        let now = i.common.now();
        let key = i.common.key(identifier);
        let (tokens, window) = match i.algorithm.0 {
            Kind::FixedWindow { tokens, window } | Kind::SlidingWindow { tokens, window } => {
                (tokens, window)
            }
            _ => unreachable!("checked by build"),
        };
        let bucket = now / window;
        let current = format!("{key}:{bucket}");
        let used = match i.algorithm.0 {
            Kind::FixedWindow { .. } => {
                let (v, _) = self
                    .fan_out(
                        &scripts::MULTI_FIXED_WINDOW_REMAINING,
                        vec![current],
                        vec!["null".into()],
                    )
                    .await?;
                sum_values(&array(v))
            }
            _ => {
                let previous = format!("{key}:{}", bucket.wrapping_sub(1));
                let (v, _) = self
                    .fan_out(
                        &scripts::MULTI_SLIDING_WINDOW_REMAINING,
                        vec![current, previous],
                        vec![now.to_string(), window.to_string()],
                    )
                    .await?;
                parse_int(&v).unwrap_or(0)
            }
        };
        Ok(Remaining {
            remaining: u64::try_from(clamp(tokens) - used).unwrap_or(0),
            reset: (bucket + 1) * window,
            limit: tokens,
        })
    }

    /// Deletes `prefix:identifier:*` in every region (and waits for all of them, unlike the
    /// fire-and-forget JavaScript version) and clears the ephemeral cache entry.
    pub async fn reset_used_tokens(&self, identifier: &str) -> Result<()> {
        let i = &self.inner;
        let key = i.common.key(identifier);
        if let Some(c) = &i.common.cache {
            c.unblock(&key);
        }
        let pattern = format!("{key}:*");
        let mut tasks = Vec::new();
        for redis in &i.regions {
            let (redis, pattern) = (redis.clone(), pattern.clone());
            tasks.push(tokio::spawn(async move {
                scripts::RESET.run::<Value>(&redis, [pattern], ["null"]).await.map(drop)
            }));
        }
        for t in tasks {
            t.await.map_err(|e| Error::Background(e.to_string()))??;
        }
        Ok(())
    }

    /// As [`Ratelimit::block_until_ready`](crate::Ratelimit::block_until_ready).
    pub async fn block_until_ready(&self, identifier: &str, timeout: Duration) -> Result<Response> {
        crate::ratelimit::block_until_ready(&self.inner.common.clock, timeout, || {
            self.limit(identifier)
        })
        .await
    }
}

/// The background sync: once every region answered, every region whose own count is below the
/// limit gets the request ids it is missing (with this request's rate as their value, as in
/// JavaScript).
async fn sync(
    regions: Vec<Redis>,
    key: String,
    fan: FanOut,
    first_fields: Vec<Value>,
    limit: i64,
    rate: i64,
    current_fields: fn(Value) -> Vec<Value>,
) -> Result<()> {
    let FanOut { first, mut failed, mut rest } = fan;
    let mut answers = vec![(first, first_fields)];
    while let Some((i, r)) = rest.recv().await {
        match r {
            Ok(v) => answers.push((i, current_fields(v))),
            Err(e) => failed.push(e),
        }
    }
    if let Some(e) = failed.into_iter().next() {
        // Every region has answered, but one failed: it cannot be synced (JavaScript's
        // `Promise.all` rejects too).
        return Err(e);
    }
    let mut all: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for (_, fields) in &answers {
        for id in ids(fields) {
            if seen.insert(id.clone()) {
                all.push(id);
            }
        }
    }
    for (i, fields) in &answers {
        if sum_values(fields) >= limit {
            continue;
        }
        let have: HashSet<String> = ids(fields).into_iter().collect();
        for id in all.iter().filter(|id| !have.contains(*id)) {
            regions[*i].command(("HSET", &key, id, rate)).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_16_alphanumerics() {
        let id = request_id();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn parse_int_like_javascript() {
        assert_eq!(parse_int(&Value::from("12")), Some(12));
        assert_eq!(parse_int(&Value::from("-3")), Some(-3));
        assert_eq!(parse_int(&Value::from("2.5")), Some(2));
        assert_eq!(parse_int(&Value::Int(4)), Some(4));
        assert_eq!(parse_int(&Value::from("x")), None);
        assert_eq!(
            sum_values(&[Value::from("a"), Value::from("2"), Value::from("b"), Value::from("3")]),
            5
        );
    }
}
