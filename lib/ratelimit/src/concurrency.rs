//! [`ConcurrencyLimit`]: at most N requests in flight per identifier, with leases that expire.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use larder_redis::{Redis, Script, Value};
use rand::Rng;

use crate::duration::window_ms;
use crate::error::{Error, Result};
use crate::ratelimit::{DEFAULT_PREFIX, TELEMETRY_SDK};

/// Acquire: drop expired leases, then add one if fewer than the limit are held. Server time (ms).
/// KEYS: the sorted set (lease id → expiry). ARGV: limit, lease TTL (ms), lease id.
/// Returns {acquired, held, earliest expiry of a held lease (ms) or 0, now (ms)}.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"-- larder-ratelimit concurrency acquire v1
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local held = redis.call('ZCARD', key)
if held < limit then
  redis.call('ZADD', key, now + ttl, ARGV[3])
  held = held + 1
end
local acquired = 0
if redis.call('ZSCORE', key, ARGV[3]) then acquired = 1 end
local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIRE', key, math.max(1, tonumber(last[2]) - now))
end
local earliest = 0
if first[2] then earliest = tonumber(first[2]) end
return {acquired, held, earliest, now}
"#,
    )
});

/// Renew: extend a lease that is still held. ARGV: lease TTL (ms), lease id. Returns 1 or 0.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"-- larder-ratelimit concurrency renew v1
local key = KEYS[1]
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = redis.call('ZSCORE', key, ARGV[2])
if not score or tonumber(score) <= now then
  redis.call('ZREM', key, ARGV[2])
  return 0
end
redis.call('ZADD', key, now + ttl, ARGV[2])
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', key, math.max(1, tonumber(last[2]) - now))
return 1
"#,
    )
});

/// Count the live leases. Returns {held, earliest expiry or 0}.
static HELD: LazyLock<Script> = LazyLock::new(|| {
    Script::read_only(
        r#"-- larder-ratelimit concurrency held v1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
local first = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local earliest = 0
if first[2] then earliest = tonumber(first[2]) end
return {held, earliest}
"#,
    )
});

/// A concurrency limiter: at most `max_in_flight` leases held at once per identifier, in the
/// sorted set `prefix:concurrency:identifier` (lease id → expiry, server time).
///
/// A lease is released explicitly ([`Lease::release`]) or when it is dropped (in a spawned task);
/// a holder that dies without releasing (a crashed process, a lost connection) loses its lease
/// when its TTL passes, so slots are never lost for good. Long work can [`Lease::renew`].
///
/// ```no_run
/// use std::time::Duration;
/// use larder_ratelimit::ConcurrencyLimit;
/// # async fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// let limiter = ConcurrencyLimit::builder(redis, 2).lease_ttl(Duration::from_secs(30)).build()?;
/// let acquired = limiter.acquire("user:42").await?;
/// if let Some(lease) = acquired.lease {
///     // ... at most 2 of these run at once for user:42, across every process ...
///     lease.release().await?;
/// } else {
///     println!("busy; a slot frees up by {} ms", acquired.reset);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConcurrencyLimit {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    max: u64,
    ttl: u64,
    prefix: String,
}

impl fmt::Debug for ConcurrencyLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrencyLimit")
            .field("max_in_flight", &self.inner.max)
            .field("lease_ttl_ms", &self.inner.ttl)
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

/// Options for a [`ConcurrencyLimit`].
///
/// ```no_run
/// # fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// use std::time::Duration;
/// let exports = larder_ratelimit::ConcurrencyLimit::builder(redis, 4)
///     .prefix("exports")
///     .lease_ttl(Duration::from_secs(120))
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Debug)]
pub struct ConcurrencyLimitBuilder {
    redis: Redis,
    max: u64,
    ttl: Duration,
    prefix: String,
    telemetry: bool,
}

impl ConcurrencyLimitBuilder {
    /// How long a lease lives unless released or renewed (default 60 s). Longer than the slowest
    /// request, short enough that a crashed holder does not block its slot for long.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The key prefix (default `@upstash/ratelimit`; the key is `prefix:concurrency:identifier`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Add `larder-ratelimit@v…` to the telemetry header (default on).
    pub fn telemetry(mut self, on: bool) -> Self {
        self.telemetry = on;
        self
    }

    /// The limiter. Fails for a zero limit.
    pub fn build(self) -> Result<ConcurrencyLimit> {
        if self.max == 0 {
            return Err(Error::Config("a concurrency limit must be positive".into()));
        }
        let redis =
            if self.telemetry { self.redis.with_telemetry_sdk(TELEMETRY_SDK) } else { self.redis };
        Ok(ConcurrencyLimit {
            inner: Arc::new(Inner {
                redis,
                max: self.max,
                ttl: window_ms(self.ttl),
                prefix: self.prefix,
            }),
        })
    }
}

/// The answer of [`ConcurrencyLimit::acquire`].
///
/// ```no_run
/// # async fn run(limiter: larder_ratelimit::ConcurrencyLimit) -> larder_ratelimit::Result<()> {
/// let acquired = limiter.acquire("tenant-7").await?;
/// println!("{} of {} slots in use", acquired.in_flight, acquired.limit);
/// match acquired.lease {
///     Some(lease) => lease.release().await?,
///     None => println!("busy until {} ms at the latest", acquired.reset),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Acquired {
    /// Whether a slot was acquired (then `lease` is set).
    pub success: bool,
    /// The limit (`max_in_flight`).
    pub limit: u64,
    /// Slots still free after this call.
    pub remaining: u64,
    /// Leases held now, this one included.
    pub in_flight: u64,
    /// When refused: the time (Unix epoch ms, server clock) by which a slot frees at the latest
    /// (the earliest lease expiry). When acquired: this lease's expiry.
    pub reset: u64,
    /// The lease, to release when the work is done.
    pub lease: Option<Lease>,
}

/// A held slot. Release it with [`Lease::release`]; dropping it releases it in a spawned task
/// (when a tokio runtime is running), and if nothing releases it, it expires after the lease TTL.
///
/// ```no_run
/// # async fn run(limiter: larder_ratelimit::ConcurrencyLimit) -> larder_ratelimit::Result<()> {
/// use std::time::Duration;
/// let acquired = limiter
///     .acquire_wait("tenant-7", Duration::from_secs(10), Duration::from_millis(100))
///     .await?;
/// if let Some(lease) = acquired.lease {
///     for _chunk in 0..10 {
///         // ... long work: keep the slot alive past its TTL ...
///         if !lease.renew().await? {
///             break; // the lease expired meanwhile
///         }
///     }
///     lease.release().await?;
/// }
/// # Ok(()) }
/// ```
pub struct Lease {
    limiter: ConcurrencyLimit,
    key: String,
    id: String,
    released: AtomicBool,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease").field("key", &self.key).field("id", &self.id).finish()
    }
}

impl Lease {
    /// The lease id (a member of the sorted set).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Releases the slot now.
    pub async fn release(self) -> Result<()> {
        self.released.store(true, Ordering::SeqCst);
        let _: Value = self.limiter.inner.redis.command(("ZREM", &self.key, &self.id)).await?;
        Ok(())
    }

    /// Extends the lease by the lease TTL from now. `false` when it had already expired (another
    /// caller may have the slot now: stop the work, or acquire again).
    pub async fn renew(&self) -> Result<bool> {
        let i = &self.limiter.inner;
        let ok: i64 = RENEW.run(&i.redis, [&self.key], (i.ttl, &self.id)).await?;
        Ok(ok == 1)
    }

    /// Forgets the lease without releasing it (it expires after its TTL).
    pub fn forget(self) {
        self.released.store(true, Ordering::SeqCst);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.released.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let redis = self.limiter.inner.redis.clone();
            let (key, id) = (std::mem::take(&mut self.key), std::mem::take(&mut self.id));
            handle.spawn(async move {
                let _ = redis.command(("ZREM", key, id)).await;
            });
        }
    }
}

fn lease_id() -> String {
    rand::rng().sample_iter(&rand::distr::Alphanumeric).take(20).map(char::from).collect()
}

impl ConcurrencyLimit {
    /// At most `max_in_flight` per identifier, default options.
    pub fn new(redis: Redis, max_in_flight: u64) -> Result<ConcurrencyLimit> {
        ConcurrencyLimit::builder(redis, max_in_flight).build()
    }

    /// A builder.
    pub fn builder(redis: Redis, max_in_flight: u64) -> ConcurrencyLimitBuilder {
        ConcurrencyLimitBuilder {
            redis,
            max: max_in_flight,
            ttl: Duration::from_secs(60),
            prefix: DEFAULT_PREFIX.to_owned(),
            telemetry: true,
        }
    }

    /// `prefix:concurrency:identifier`.
    pub fn key(&self, identifier: &str) -> String {
        format!("{}:concurrency:{identifier}", self.inner.prefix)
    }

    /// The limit.
    pub fn max_in_flight(&self) -> u64 {
        self.inner.max
    }

    /// The lease TTL.
    pub fn lease_ttl(&self) -> Duration {
        Duration::from_millis(self.inner.ttl)
    }

    /// Tries to take a slot for `identifier`.
    pub async fn acquire(&self, identifier: &str) -> Result<Acquired> {
        let i = &self.inner;
        let key = self.key(identifier);
        let id = lease_id();
        let (acquired, held, earliest, now): (i64, i64, i64, i64) =
            ACQUIRE.run(&i.redis, [&key], (i.max, i.ttl, &id)).await?;
        let held = u64::try_from(held).unwrap_or(0);
        let success = acquired == 1;
        let lease = success.then(|| Lease {
            limiter: self.clone(),
            key,
            id,
            released: AtomicBool::new(false),
        });
        let now = u64::try_from(now).unwrap_or(0);
        Ok(Acquired {
            success,
            limit: i.max,
            remaining: i.max.saturating_sub(held),
            in_flight: held,
            reset: if success { now + i.ttl } else { u64::try_from(earliest).unwrap_or(0) },
            lease,
        })
    }

    /// Tries to take a slot until one is free or `timeout` has passed, polling every `poll`.
    pub async fn acquire_wait(
        &self,
        identifier: &str,
        timeout: Duration,
        poll: Duration,
    ) -> Result<Acquired> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let a = self.acquire(identifier).await?;
            if a.success || tokio::time::Instant::now() + poll > deadline {
                return Ok(a);
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// How many leases `identifier` holds now (expired ones not counted).
    pub async fn in_flight(&self, identifier: &str) -> Result<u64> {
        let (held, _): (i64, i64) = HELD.run(&self.inner.redis, [self.key(identifier)], ()).await?;
        Ok(u64::try_from(held).unwrap_or(0))
    }

    /// Drops every lease of `identifier`.
    pub async fn reset(&self, identifier: &str) -> Result<()> {
        let _: Value = self.inner.redis.command(("DEL", self.key(identifier))).await?;
        Ok(())
    }
}
