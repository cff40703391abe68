//! HTTP middleware (feature `tower`): [`RateLimitLayer`], a tower [`Layer`] that rate-limits
//! requests by client IP, header or closure, answers `429 Too Many Requests` when the limit is
//! reached, and sets the rate-limit headers on every response:
//!
//! | header | value |
//! | --- | --- |
//! | `X-RateLimit-Limit` | the limit |
//! | `X-RateLimit-Remaining` | what is left |
//! | `X-RateLimit-Reset` | when it resets, Unix epoch **seconds** |
//! | `RateLimit-Policy` | `"default";q=<limit>;w=<window seconds>` (IETF draft-ietf-httpapi-ratelimit-headers) |
//! | `RateLimit` | `"default";r=<remaining>;t=<seconds until reset>` |
//! | `Retry-After` | on 429 only: seconds until reset (at least 1) |
//!
//! With a [`ConcurrencyLimit`], the lease is taken before the inner service runs and released
//! (awaited) as soon as it has produced the response head, before the response is returned.
//!
//! With the `axum` feature the layer also reads the peer address from axum's
//! `ConnectInfo<SocketAddr>`, and [`axum_middleware`] works with `axum::middleware::from_fn_with_state`.
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn run(redis: larder_redis::Redis) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use larder_ratelimit::Ratelimit;
//! use larder_ratelimit::middleware::{Identify, RateLimitLayer};
//!
//! let limiter = Ratelimit::new(redis, Ratelimit::sliding_window(100, Duration::from_secs(60)));
//! let app: axum::Router = axum::Router::new()
//!     .route("/api", axum::routing::get(|| async { "ok" }))
//!     // the client IP, behind one reverse proxy that appends to X-Forwarded-For
//!     .layer(RateLimitLayer::new(limiter).identify(Identify::client_ip(1)));
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tower::{Layer, Service};

use crate::error::Result;
use crate::{ConcurrencyLimit, Gcra, MultiRegionRatelimit, Ratelimit};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A limiter's decision for one request, as the middleware needs it.
///
/// ```
/// use std::time::Duration;
/// use larder_ratelimit::middleware::{Decision, rate_limit_headers};
/// let d = Decision {
///     success: false,
///     limit: 10,
///     remaining: 0,
///     reset: 1_700_000_060_000,
///     window: Some(Duration::from_secs(60)),
///     quota_unit: None,
///     guard: None,
/// };
/// let headers = rate_limit_headers(&d, "default", 1_700_000_000_000);
/// assert_eq!(headers["ratelimit"], "\"default\";r=0;t=60");
/// ```
pub struct Decision {
    /// Whether the request may pass.
    pub success: bool,
    /// The limit.
    pub limit: u64,
    /// What is left.
    pub remaining: u64,
    /// When it resets (Unix epoch ms).
    pub reset: u64,
    /// The policy window (`w` of `RateLimit-Policy`), if the limiter has one.
    pub window: Option<Duration>,
    /// The quota unit (`qu` of `RateLimit-Policy`) when it is not `"requests"`.
    pub quota_unit: Option<&'static str>,
    /// Released once the inner service has produced its response (a concurrency lease).
    pub guard: Option<Box<dyn Release>>,
}

/// Something to give back once the response is ready (a concurrency lease).
///
/// ```no_run
/// use std::future::Future;
/// use std::pin::Pin;
/// use larder_ratelimit::middleware::Release;
///
/// /// Logs when the response is ready.
/// struct LogWhenDone(String);
///
/// impl Release for LogWhenDone {
///     fn release(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
///         Box::pin(async move { println!("done with {}", self.0) })
///     }
/// }
/// ```
pub trait Release: Send + Sync {
    /// Gives it back; errors are ignored (a lease not released expires anyway).
    fn release(self: Box<Self>) -> BoxFuture<()>;
}

impl Release for crate::Lease {
    fn release(self: Box<Self>) -> BoxFuture<()> {
        Box::pin(async move {
            let _ = (*self).release().await;
        })
    }
}

impl fmt::Debug for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decision")
            .field("success", &self.success)
            .field("limit", &self.limit)
            .field("remaining", &self.remaining)
            .field("reset", &self.reset)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// Anything the middleware can ask: implemented for [`Ratelimit`], [`MultiRegionRatelimit`],
/// [`Gcra`] and [`ConcurrencyLimit`] (whose lease is held until the response is ready).
///
/// ```no_run
/// use std::future::Future;
/// use std::pin::Pin;
/// use larder_ratelimit::middleware::{Decision, Limiter, RateLimitLayer};
///
/// /// Lets everyone through, announcing a limit of 100.
/// struct Unlimited;
///
/// impl Limiter for Unlimited {
///     fn check(
///         &self,
///         _identifier: String,
///     ) -> Pin<Box<dyn Future<Output = larder_ratelimit::Result<Decision>> + Send + 'static>> {
///         Box::pin(async {
///             let reset = larder_ratelimit::now_ms() + 60_000;
///             Ok(Decision {
///                 success: true,
///                 limit: 100,
///                 remaining: 100,
///                 reset,
///                 window: None,
///                 quota_unit: None,
///                 guard: None,
///             })
///         })
///     }
/// }
///
/// let layer = RateLimitLayer::new(Unlimited);
/// ```
pub trait Limiter: Send + Sync + 'static {
    /// Decides for one request from `identifier`.
    fn check(&self, identifier: String) -> BoxFuture<Result<Decision>>;
}

fn decision(r: crate::Response, window: Option<Duration>) -> Decision {
    Decision {
        success: r.success,
        limit: r.limit,
        remaining: r.remaining,
        reset: r.reset,
        window,
        quota_unit: None,
        guard: None,
    }
}

impl Limiter for Ratelimit {
    fn check(&self, identifier: String) -> BoxFuture<Result<Decision>> {
        let rl = self.clone();
        Box::pin(async move {
            let r = rl.limit(&identifier).await?;
            Ok(decision(r, Some(rl.algorithm().window())))
        })
    }
}

impl Limiter for MultiRegionRatelimit {
    fn check(&self, identifier: String) -> BoxFuture<Result<Decision>> {
        let rl = self.clone();
        Box::pin(async move {
            let r = rl.limit(&identifier).await?;
            Ok(decision(r, Some(rl.algorithm().window())))
        })
    }
}

impl Limiter for Gcra {
    fn check(&self, identifier: String) -> BoxFuture<Result<Decision>> {
        let g = self.clone();
        Box::pin(async move {
            let r = g.limit(&identifier).await?;
            Ok(decision(r, Some(g.period())))
        })
    }
}

impl Limiter for ConcurrencyLimit {
    fn check(&self, identifier: String) -> BoxFuture<Result<Decision>> {
        let c = self.clone();
        Box::pin(async move {
            let a = c.acquire(&identifier).await?;
            Ok(Decision {
                success: a.success,
                limit: a.limit,
                remaining: a.remaining,
                reset: a.reset,
                window: None,
                quota_unit: Some("concurrent-requests"),
                guard: a.lease.map(|l| Box::new(l) as Box<dyn Release>),
            })
        })
    }
}

/// What the middleware sees of a request when it picks the identifier.
///
/// ```no_run
/// use larder_ratelimit::middleware::{Identify, RequestInfo};
/// // One limit per API key and route.
/// let by_key_and_path = Identify::custom(|req: &RequestInfo<'_>| {
///     let key = req.headers.get("x-api-key")?.to_str().ok()?;
///     Some(format!("{key}:{}", req.uri.path()))
/// });
/// ```
#[derive(Debug)]
pub struct RequestInfo<'a> {
    /// The method.
    pub method: &'a http::Method,
    /// The URI.
    pub uri: &'a http::Uri,
    /// The headers.
    pub headers: &'a HeaderMap,
    /// The extensions (where servers put the peer address).
    pub extensions: &'a http::Extensions,
}

type IdentifyFn = Arc<dyn Fn(&RequestInfo<'_>) -> Option<String> + Send + Sync>;

/// How the middleware names the client.
///
/// ```no_run
/// use larder_ratelimit::middleware::Identify;
/// let behind_one_proxy = Identify::client_ip(1);
/// let by_api_key = Identify::header(http::HeaderName::from_static("x-api-key"));
/// let by_user = Identify::custom(|req| {
///     req.headers.get("x-user-id").and_then(|v| v.to_str().ok()).map(|id| format!("user:{id}"))
/// });
/// ```
#[derive(Clone)]
pub enum Identify {
    /// The client IP: the peer address (a `SocketAddr` or, with the `axum` feature,
    /// `ConnectInfo<SocketAddr>` in the request extensions) when `trusted_proxies` is 0; behind
    /// `n` trusted reverse proxies that each append to `X-Forwarded-For`, the `n`-th address from
    /// the right (the address the outermost trusted proxy saw), so a client cannot spoof it by
    /// sending its own header.
    ClientIp {
        /// How many reverse proxies in front of the service append to `X-Forwarded-For`.
        trusted_proxies: usize,
    },
    /// The value of a header (an API key, a user id set by an auth proxy, ...).
    Header(HeaderName),
    /// Your own function.
    Custom(IdentifyFn),
}

impl fmt::Debug for Identify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identify::ClientIp { trusted_proxies } => {
                f.debug_struct("ClientIp").field("trusted_proxies", trusted_proxies).finish()
            }
            Identify::Header(h) => f.debug_tuple("Header").field(h).finish(),
            Identify::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl Identify {
    /// [`Identify::ClientIp`].
    pub fn client_ip(trusted_proxies: usize) -> Identify {
        Identify::ClientIp { trusted_proxies }
    }

    /// [`Identify::Header`].
    pub fn header(name: HeaderName) -> Identify {
        Identify::Header(name)
    }

    /// [`Identify::Custom`].
    pub fn custom(
        f: impl Fn(&RequestInfo<'_>) -> Option<String> + Send + Sync + 'static,
    ) -> Identify {
        Identify::Custom(Arc::new(f))
    }

    /// The identifier of a request, if one can be found.
    pub fn identify(&self, req: &RequestInfo<'_>) -> Option<String> {
        match self {
            Identify::ClientIp { trusted_proxies } => {
                client_ip(req.headers, req.extensions, *trusted_proxies).map(|ip| ip.to_string())
            }
            Identify::Header(name) => req
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            Identify::Custom(f) => f(req),
        }
    }
}

fn peer_ip(ext: &http::Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(addr)) =
        ext.get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(addr.ip());
    }
    ext.get::<SocketAddr>().map(SocketAddr::ip).or_else(|| ext.get::<IpAddr>().copied())
}

/// The client IP behind `trusted_proxies` reverse proxies (see [`Identify::ClientIp`]).
pub fn client_ip(
    headers: &HeaderMap,
    ext: &http::Extensions,
    trusted_proxies: usize,
) -> Option<IpAddr> {
    if trusted_proxies == 0 {
        return peer_ip(ext);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if hops.is_empty() {
        return peer_ip(ext);
    }
    let hop = hops[hops.len().saturating_sub(trusted_proxies)];
    parse_ip(hop).or_else(|| peer_ip(ext))
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    // "1.2.3.4", "1.2.3.4:5678", "[::1]:80", "::1"
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| s.trim_start_matches('[').trim_end_matches(']').parse().ok())
}

/// What to do with a request whose identifier cannot be found.
///
/// ```no_run
/// # fn run(limiter: larder_ratelimit::Ratelimit) {
/// use larder_ratelimit::middleware::{Identify, OnMissingIdentifier, RateLimitLayer};
/// // Requests without an API key are not limited here (another layer rejects them).
/// let layer = RateLimitLayer::new(limiter)
///     .identify(Identify::header(http::HeaderName::from_static("x-api-key")))
///     .on_missing_identifier(OnMissingIdentifier::Allow);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnMissingIdentifier {
    /// Answer `400 Bad Request` (default: a missing peer address or header is a misconfiguration
    /// or a malformed request, and letting it through would disable the limit).
    #[default]
    Reject,
    /// Let the request through, without rate-limit headers.
    Allow,
}

/// What to do when the limiter fails (Redis unreachable after retries, ...).
///
/// ```no_run
/// # fn run(limiter: larder_ratelimit::Ratelimit) {
/// use larder_ratelimit::middleware::{OnLimiterError, RateLimitLayer};
/// // An expensive endpoint: fail closed (503) when Redis is down.
/// let layer = RateLimitLayer::new(limiter).on_limiter_error(OnLimiterError::Reject);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnLimiterError {
    /// Let the request through without headers (fail open; default, like the limiters' timeout).
    #[default]
    Allow,
    /// Answer `503 Service Unavailable` (fail closed).
    Reject,
}

struct Config {
    identify: Identify,
    policy: String,
    on_missing: OnMissingIdentifier,
    on_error: OnLimiterError,
}

/// A tower [`Layer`] that rate-limits requests (see the [module documentation](self)).
///
/// ```no_run
/// # fn run(redis: larder_redis::Redis) {
/// use std::time::Duration;
/// use larder_ratelimit::Ratelimit;
/// use larder_ratelimit::middleware::{Identify, RateLimitLayer};
/// let limiter = Ratelimit::new(redis, Ratelimit::token_bucket(5, Duration::from_secs(1), 20));
/// let layer = RateLimitLayer::new(limiter).identify(Identify::client_ip(0)).policy_name("api");
/// // axum: Router::new().route(...).layer(layer); any tower stack: ServiceBuilder::new().layer(layer)
/// # }
/// ```
#[derive(Clone)]
pub struct RateLimitLayer {
    limiter: Arc<dyn Limiter>,
    config: Arc<Config>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("identify", &self.config.identify)
            .field("policy", &self.config.policy)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// Limits with `limiter`, by client IP (no trusted proxies) unless told otherwise.
    pub fn new(limiter: impl Limiter) -> RateLimitLayer {
        RateLimitLayer::from_arc(Arc::new(limiter))
    }

    /// Limits with a shared limiter.
    pub fn from_arc(limiter: Arc<dyn Limiter>) -> RateLimitLayer {
        RateLimitLayer {
            limiter,
            config: Arc::new(Config {
                identify: Identify::client_ip(0),
                policy: "default".into(),
                on_missing: OnMissingIdentifier::Reject,
                on_error: OnLimiterError::Allow,
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let c = &*self.config;
        let mut config = Config {
            identify: c.identify.clone(),
            policy: c.policy.clone(),
            on_missing: c.on_missing,
            on_error: c.on_error,
        };
        f(&mut config);
        self.config = Arc::new(config);
        self
    }

    /// How to name the client (default: [`Identify::client_ip(0)`](Identify::client_ip)).
    #[must_use]
    pub fn identify(self, identify: Identify) -> Self {
        self.with(|c| c.identify = identify)
    }

    /// The policy name in the IETF headers (default `default`).
    #[must_use]
    pub fn policy_name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.with(|c| c.policy = name)
    }

    /// What to do without an identifier (default: 400).
    #[must_use]
    pub fn on_missing_identifier(self, on: OnMissingIdentifier) -> Self {
        self.with(|c| c.on_missing = on)
    }

    /// What to do when the limiter fails (default: let the request through).
    #[must_use]
    pub fn on_limiter_error(self, on: OnLimiterError) -> Self {
        self.with(|c| c.on_error = on)
    }

    /// Decides for a request: `Err(response status + headers)` to answer at once, or
    /// `Ok((headers to add, guard))` to call the inner service.
    async fn decide(&self, info: &RequestInfo<'_>) -> std::result::Result<Pass, Stop> {
        let Some(id) = self.config.identify.identify(info) else {
            return match self.config.on_missing {
                OnMissingIdentifier::Allow => Ok(Pass { headers: HeaderMap::new(), guard: None }),
                OnMissingIdentifier::Reject => {
                    Err(Stop { status: StatusCode::BAD_REQUEST, headers: HeaderMap::new() })
                }
            };
        };
        let d = match self.limiter.check(id).await {
            Ok(d) => d,
            Err(_) => {
                return match self.config.on_error {
                    OnLimiterError::Allow => Ok(Pass { headers: HeaderMap::new(), guard: None }),
                    OnLimiterError::Reject => Err(Stop {
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        headers: HeaderMap::new(),
                    }),
                };
            }
        };
        let now = crate::now_ms();
        let mut headers = rate_limit_headers(&d, &self.config.policy, now);
        if d.success {
            Ok(Pass { headers, guard: d.guard })
        } else {
            let secs = seconds_until(d.reset, now).max(1);
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
            Err(Stop { status: StatusCode::TOO_MANY_REQUESTS, headers })
        }
    }
}

struct Pass {
    headers: HeaderMap,
    guard: Option<Box<dyn Release>>,
}

struct Stop {
    status: StatusCode,
    headers: HeaderMap,
}

fn seconds_until(reset_ms: u64, now_ms: u64) -> u64 {
    reset_ms.saturating_sub(now_ms).div_ceil(1000)
}

/// The `X-RateLimit-*` and IETF `RateLimit`/`RateLimit-Policy` headers for a decision (without
/// `Retry-After`, which only a 429 carries).
pub fn rate_limit_headers(d: &Decision, policy: &str, now_ms: u64) -> HeaderMap {
    let mut h = HeaderMap::new();
    let t = seconds_until(d.reset, now_ms);
    h.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(d.reset.div_ceil(1000)));
    let name = sf_string(policy);
    let mut pol = format!("{name};q={}", d.limit);
    if let Some(unit) = d.quota_unit {
        pol.push_str(&format!(";qu=\"{unit}\""));
    }
    if let Some(w) = d.window {
        pol.push_str(&format!(
            ";w={}",
            u64::try_from(w.as_millis()).unwrap_or(u64::MAX).div_ceil(1000).max(1)
        ));
    }
    if let Ok(v) = HeaderValue::from_str(&pol) {
        h.insert("ratelimit-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{name};r={};t={t}", d.remaining)) {
        h.insert("ratelimit", v);
    }
    h
}

/// A structured-field string: quoted, with `"` and `\` escaped, printable ASCII only.
fn sf_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars().filter(|c| (' '..='~').contains(c)) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> RateLimitService<S> {
        RateLimitService { inner, layer: self.clone() }
    }
}

/// The service made by [`RateLimitLayer`].
///
/// ```no_run
/// # fn run(layer: larder_ratelimit::middleware::RateLimitLayer) {
/// use tower::Layer;
/// let inner = tower::service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
/// });
/// // Answers 429 (empty body) past the limit, else calls `inner` and adds the headers.
/// let service = layer.layer(inner);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RateLimitService<S> {
    inner: S,
    layer: RateLimitLayer,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for RateLimitService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Send + 'static,
    ResB: Default + Send + 'static,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = BoxFuture<std::result::Result<Response<ResB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // The clone is not ready; use the one that is, as tower recommends.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let info = RequestInfo {
                method: req.method(),
                uri: req.uri(),
                headers: req.headers(),
                extensions: req.extensions(),
            };
            match layer.decide(&info).await {
                Err(stop) => {
                    let mut res = Response::new(ResB::default());
                    *res.status_mut() = stop.status;
                    res.headers_mut().extend(stop.headers);
                    Ok(res)
                }
                Ok(pass) => {
                    let mut res = inner.call(req).await?;
                    if let Some(g) = pass.guard {
                        g.release().await;
                    }
                    res.headers_mut().extend(pass.headers);
                    Ok(res)
                }
            }
        })
    }
}

/// axum middleware for `axum::middleware::from_fn_with_state(layer, axum_middleware)`: the same
/// as adding the [`RateLimitLayer`] with `Router::layer`, for apps that compose middleware as
/// functions. 429 and 400/503 answers carry a short text body.
#[cfg(feature = "axum")]
pub async fn axum_middleware(
    axum::extract::State(layer): axum::extract::State<RateLimitLayer>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let info = RequestInfo {
        method: req.method(),
        uri: req.uri(),
        headers: req.headers(),
        extensions: req.extensions(),
    };
    match layer.decide(&info).await {
        Err(stop) => {
            let body = stop.status.canonical_reason().unwrap_or("error");
            let mut res = axum::response::Response::new(axum::body::Body::from(body));
            *res.status_mut() = stop.status;
            res.headers_mut().extend(stop.headers);
            res
        }
        Ok(pass) => {
            let mut res = next.run(req).await;
            if let Some(g) = pass.guard {
                g.release().await;
            }
            res.headers_mut().extend(pass.headers);
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext_with_peer(ip: &str) -> http::Extensions {
        let mut e = http::Extensions::new();
        e.insert(SocketAddr::new(ip.parse().unwrap(), 4000));
        e
    }

    #[test]
    fn client_ip_honours_trusted_proxies() {
        let ext = ext_with_peer("10.0.0.9");
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 1.1.1.1"));
        h.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        let ip = |n| client_ip(&h, &ext, n).map(|ip| ip.to_string());
        assert_eq!(ip(0).as_deref(), Some("10.0.0.9"));
        assert_eq!(ip(1).as_deref(), Some("2.2.2.2"));
        assert_eq!(ip(2).as_deref(), Some("1.1.1.1"));
        assert_eq!(ip(3).as_deref(), Some("6.6.6.6"));
        // More trusted proxies than hops: the leftmost.
        assert_eq!(ip(9).as_deref(), Some("6.6.6.6"));
        // No header: the peer.
        assert_eq!(client_ip(&HeaderMap::new(), &ext, 2).unwrap().to_string(), "10.0.0.9");
        assert!(client_ip(&HeaderMap::new(), &http::Extensions::new(), 0).is_none());
        assert_eq!(parse_ip("[::1]:80").unwrap().to_string(), "::1");
        assert_eq!(parse_ip("1.2.3.4:5").unwrap().to_string(), "1.2.3.4");
    }

    #[test]
    fn headers() {
        let d = Decision {
            success: false,
            limit: 10,
            remaining: 0,
            reset: 1_700_000_030_000,
            window: Some(Duration::from_secs(60)),
            quota_unit: None,
            guard: None,
        };
        let h = rate_limit_headers(&d, "per-min", 1_700_000_000_500);
        assert_eq!(h["x-ratelimit-limit"], "10");
        assert_eq!(h["x-ratelimit-remaining"], "0");
        assert_eq!(h["x-ratelimit-reset"], "1700000030");
        assert_eq!(h["ratelimit-policy"], "\"per-min\";q=10;w=60");
        assert_eq!(h["ratelimit"], "\"per-min\";r=0;t=30");
        assert_eq!(sf_string("a\"b\\c\u{e9}"), "\"a\\\"b\\\\c\"");
    }
}
