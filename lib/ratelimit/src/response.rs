//! What a limit call takes and returns: [`LimitOptions`], [`Response`], [`Pending`], [`Remaining`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::{Error, Result};

/// Why a response was decided without (or beside) the algorithm's answer from Redis.
///
/// ```no_run
/// # async fn run(limiter: larder_ratelimit::Ratelimit) -> larder_ratelimit::Result<()> {
/// use larder_ratelimit::Reason;
/// let res = limiter.limit("user:42").await?;
/// match res.reason {
///     Some(Reason::DenyList) => println!("denied: {:?}", res.denied_value),
///     Some(Reason::Timeout) => println!("Redis was slow; decided by on_timeout"),
///     Some(other) => println!("{other}"),
///     None => {}
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Redis did not answer within the limiter's timeout; `success` is what
    /// [`OnTimeout`](crate::OnTimeout) says (allow by default, as in `@upstash/ratelimit`).
    Timeout,
    /// The identifier is blocked in the ephemeral cache (no Redis call was made).
    CacheBlock,
    /// The identifier, IP, user agent or country is on the deny list.
    DenyList,
}

impl Reason {
    /// The name `@upstash/ratelimit` uses: `"timeout"`, `"cacheBlock"`, `"denyList"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Timeout => "timeout",
            Reason::CacheBlock => "cacheBlock",
            Reason::DenyList => "denyList",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-call options: the cost (`rate`) and what the deny list and analytics look at.
///
/// ```
/// use larder_ratelimit::LimitOptions;
/// let opts = LimitOptions::new().rate(5).ip("203.0.113.7").country("DE");
/// let same = LimitOptions { rate: Some(5), ..LimitOptions::default() };
/// ```
#[derive(Debug, Clone, Default)]
pub struct LimitOptions {
    /// How many units this call consumes (default 1). Negative values are refunds: they are never
    /// blocked by the ephemeral cache, never rejected, and give the units back.
    pub rate: Option<i64>,
    /// The client IP, checked against the deny list.
    pub ip: Option<String>,
    /// The user agent, checked against the deny list.
    pub user_agent: Option<String>,
    /// The country, checked against the deny list.
    pub country: Option<String>,
    /// Extra fields recorded with the analytics event, in this order (as `req.geo` in JavaScript).
    pub geo: Vec<(String, serde_json::Value)>,
}

impl LimitOptions {
    /// Default options: rate 1, nothing else.
    pub fn new() -> LimitOptions {
        LimitOptions::default()
    }

    /// Sets the cost of this call.
    #[must_use]
    pub fn rate(mut self, rate: i64) -> Self {
        self.rate = Some(rate);
        self
    }

    /// Sets the client IP.
    #[must_use]
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    /// Sets the user agent.
    #[must_use]
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Sets the country.
    #[must_use]
    pub fn country(mut self, country: impl Into<String>) -> Self {
        self.country = Some(country.into());
        self
    }

    /// Adds a geo field for analytics.
    #[must_use]
    pub fn geo(mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.geo.push((name.into(), value.into()));
        self
    }

    pub(crate) fn rate_or_default(&self) -> i64 {
        self.rate.unwrap_or(1)
    }
}

/// The outcome of [`Ratelimit::limit`](crate::Ratelimit::limit).
///
/// Field for field `@upstash/ratelimit`'s response; `remaining` is never negative (the JavaScript
/// `cachedFixedWindow` and multi-region fixed window can report negative numbers).
///
/// ```no_run
/// # async fn run(limiter: larder_ratelimit::Ratelimit) -> larder_ratelimit::Result<()> {
/// let res = limiter.limit("user:42").await?;
/// if !res.success {
///     println!("{} of {} left; retry in {:?}", res.remaining, res.limit, res.retry_after());
/// }
/// res.pending.await?; // before a serverless function returns
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Response {
    /// Whether the request may pass.
    pub success: bool,
    /// The limit in force (the dynamic limit when one is set; `0` for timeout and cached deny-list
    /// responses, as in JavaScript).
    pub limit: u64,
    /// How many units are left (never negative).
    pub remaining: u64,
    /// When the limit resets, in Unix epoch **milliseconds**: the end of the current window, or the
    /// next refill of a token bucket (`0` for timeout and cached deny-list responses).
    pub reset: u64,
    /// Set when the decision did not come (only) from the algorithm.
    pub reason: Option<Reason>,
    /// With [`Reason::DenyList`]: the value found on the deny list.
    pub denied_value: Option<String>,
    /// Background work started by this call (analytics, multi-region sync, the deny-list refresh,
    /// `cached_fixed_window`'s deferred increment). It runs on its own; await it (or
    /// [`Pending::wait`]) before a serverless function returns, as you would `waitUntil(pending)`.
    pub pending: Pending,
}

impl Response {
    /// How long until `reset` (zero when it is in the past or unknown).
    pub fn retry_after(&self) -> Duration {
        Duration::from_millis(self.reset.saturating_sub(crate::now_ms()))
    }
}

/// `getRemaining`'s answer.
///
/// ```no_run
/// # async fn run(limiter: larder_ratelimit::Ratelimit) -> larder_ratelimit::Result<()> {
/// let left = limiter.get_remaining("user:42").await?;
/// println!("{} of {} left until {} ms", left.remaining, left.limit, left.reset);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    /// Units left (never negative).
    pub remaining: u64,
    /// When the limit resets (Unix epoch ms).
    pub reset: u64,
    /// The limit in force.
    pub limit: u64,
}

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Background work of one limit call: nothing, already done, or running tasks.
///
/// Dropping it does not cancel anything; awaiting it waits for the work and returns the first
/// error it met (analytics failures are not errors of the limit call itself).
///
/// ```no_run
/// # async fn run(limiter: larder_ratelimit::Ratelimit) -> larder_ratelimit::Result<()> {
/// let mut res = limiter.limit("user:42").await?;
/// // Take the background work out of the response and wait for it later.
/// let pending = std::mem::take(&mut res.pending);
/// // ... answer the request ...
/// if let Err(e) = pending.wait().await {
///     eprintln!("analytics failed: {e}");
/// }
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Pending {
    tasks: Vec<tokio::task::JoinHandle<Result<()>>>,
    done: Vec<Error>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("tasks", &self.tasks.len())
            .field("errors", &self.done.len())
            .finish()
    }
}

impl Pending {
    /// No background work.
    pub fn none() -> Pending {
        Pending::default()
    }

    /// Whether there is nothing to wait for.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty() && self.done.is_empty()
    }

    /// Starts `work`: on the current tokio runtime as a task, or, when `inline` is set or there is
    /// no tokio runtime, right here (the caller awaits it).
    pub(crate) async fn start(works: Vec<BoxFuture<Result<()>>>, inline: bool) -> Pending {
        let mut p = Pending::default();
        let handle = if inline { None } else { tokio::runtime::Handle::try_current().ok() };
        match handle {
            Some(h) => {
                for w in works {
                    p.tasks.push(h.spawn(w));
                }
            }
            None => {
                for w in works {
                    if let Err(e) = w.await {
                        p.done.push(e);
                    }
                }
            }
        }
        p
    }

    /// Waits for the background work; the first error, if any.
    pub async fn wait(self) -> Result<()> {
        let mut first = self.done.into_iter().next();
        for t in self.tasks {
            let r = match t.await {
                Ok(r) => r,
                Err(e) => Err(Error::Background(e.to_string())),
            };
            if let (Err(e), None) = (r, &first) {
                first = Some(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl std::future::IntoFuture for Pending {
    type Output = Result<()>;
    type IntoFuture = BoxFuture<Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}
