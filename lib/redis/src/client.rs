//! [`Redis`], the client: configuration, the request loop (headers, sync token, retries) and the
//! decoding of the three endpoints (`/`, `/pipeline`, `/multi-exec`).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::args::{Cmd, ToArgs};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::transport::{Request, Response, Transport};
use crate::value::{self, Value};

/// The environment variables [`Redis::from_env`] reads, in order of preference.
pub const URL_VARS: [&str; 2] = ["UPSTASH_REDIS_REST_URL", "KV_REST_API_URL"];
/// The environment variables [`Redis::from_env`] reads for the token, in order of preference.
pub const TOKEN_VARS: [&str; 2] = ["UPSTASH_REDIS_REST_TOKEN", "KV_REST_API_TOKEN"];
/// Set (to anything) to turn the `Upstash-Telemetry-*` headers off.
pub const DISABLE_TELEMETRY_VAR: &str = "UPSTASH_DISABLE_TELEMETRY";

const SDK_NAME: &str = concat!("larder-redis@v", env!("CARGO_PKG_VERSION"));

/// A client for Redis over HTTP (the Upstash REST API), served by larder or by Upstash.
///
/// Cheap to clone: clones share the HTTP connection pool and the read-your-writes sync token.
/// Connectionless: every call is one HTTP request, so it suits serverless functions.
///
/// ```no_run
/// # async fn run() -> larder_redis::Result<()> {
/// use larder_redis::Redis;
///
/// let redis = Redis::from_env()?; // UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN
/// redis.set("greeting", "hello").await?;
/// let greeting: Option<String> = redis.get("greeting").await?;
/// assert_eq!(greeting.as_deref(), Some("hello"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Redis {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    url: String,
    auth: String,
    transport: Arc<dyn Transport>,
    base64: bool,
    read_your_writes: bool,
    retry: Retry,
    timeout: Option<Duration>,
    telemetry: Option<Telemetry>,
    sync_token: Arc<Mutex<String>>,
}

#[derive(Clone)]
struct Telemetry {
    sdk: String,
    platform: String,
    runtime: String,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token.
        f.debug_struct("Redis")
            .field("url", &self.inner.url)
            .field("base64", &self.inner.base64)
            .field("read_your_writes", &self.inner.read_your_writes)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.inner.timeout)
            .field("telemetry", &self.inner.telemetry.is_some())
            .finish_non_exhaustive()
    }
}

/// How requests that got no HTTP answer are retried. HTTP error statuses are never retried.
///
/// The default is the official clients': 5 retries, waiting `e^n * 50 ms` before retry `n`
/// (about 50 ms, 136 ms, 369 ms, 1 s and 2.7 s).
///
/// ```
/// use std::time::Duration;
/// use larder_redis::{Redis, Retry};
/// let retry = Retry::new(3).backoff(|n| Duration::from_millis(100) * 2u32.pow(n));
/// assert_eq!(retry.delay(2), Duration::from_millis(400));
/// let redis = Redis::builder("http://127.0.0.1:8079", "token").retry(retry).build()?;
/// # Ok::<(), larder_redis::Error>(())
/// ```
#[derive(Clone)]
pub struct Retry {
    retries: u32,
    backoff: Arc<dyn Fn(u32) -> Duration + Send + Sync>,
}

impl Retry {
    /// `retries` retries with the default backoff.
    pub fn new(retries: u32) -> Retry {
        Retry { retries, backoff: Arc::new(default_backoff) }
    }

    /// No retries.
    pub fn none() -> Retry {
        Retry::new(0)
    }

    /// Waits `backoff(n)` before retry `n` (0 for the first retry).
    #[must_use]
    pub fn backoff(mut self, backoff: impl Fn(u32) -> Duration + Send + Sync + 'static) -> Retry {
        self.backoff = Arc::new(backoff);
        self
    }

    /// The number of retries.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The wait before retry `n`.
    pub fn delay(&self, n: u32) -> Duration {
        (self.backoff)(n)
    }
}

impl Default for Retry {
    fn default() -> Retry {
        Retry::new(5)
    }
}

impl fmt::Debug for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry").field("retries", &self.retries).finish_non_exhaustive()
    }
}

fn default_backoff(n: u32) -> Duration {
    Duration::from_secs_f64((f64::from(n)).exp() * 0.050)
}

/// Options for a [`Redis`] client; start with [`Redis::builder`] or [`RedisBuilder::from_env`].
///
/// ```no_run
/// use std::time::Duration;
/// # fn run() -> larder_redis::Result<()> {
/// let redis = larder_redis::RedisBuilder::from_env()?
///     .timeout(Duration::from_secs(2))
///     .retries(2)
///     .read_your_writes(false)
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct RedisBuilder {
    url: String,
    token: String,
    base64: bool,
    read_your_writes: bool,
    retry: Retry,
    timeout: Option<Duration>,
    telemetry: bool,
    extra_sdks: Vec<String>,
    transport: Option<Arc<dyn Transport>>,
    sync_token: String,
}

impl fmt::Debug for RedisBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBuilder").field("url", &self.url).finish_non_exhaustive()
    }
}

impl RedisBuilder {
    fn new(url: String, token: String, telemetry: bool) -> RedisBuilder {
        RedisBuilder {
            url,
            token,
            base64: true,
            read_your_writes: true,
            retry: Retry::default(),
            timeout: None,
            telemetry,
            extra_sdks: Vec::new(),
            transport: None,
            sync_token: String::new(),
        }
    }

    /// A builder from `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` (falling back to
    /// `KV_REST_API_URL` and `KV_REST_API_TOKEN`); `UPSTASH_DISABLE_TELEMETRY` turns telemetry off.
    pub fn from_env() -> Result<RedisBuilder> {
        RedisBuilder::from_env_with(|name| std::env::var(name).ok())
    }

    /// Like [`RedisBuilder::from_env`], reading variables through `lookup` (a platform's `env`
    /// object, a config map, a test).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<RedisBuilder> {
        let get = |names: [&'static str; 2]| -> Result<String> {
            names
                .iter()
                .find_map(|n| lookup(n).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
                .ok_or(Error::MissingEnv { name: names[0], fallback: Some(names[1]) })
        };
        let url = get(URL_VARS)?;
        validate_url(&url)?;
        let token = get(TOKEN_VARS)?;
        let telemetry = lookup(DISABLE_TELEMETRY_VAR).is_none();
        Ok(RedisBuilder::new(url, token, telemetry))
    }

    /// Ask for base64-encoded responses (default: on). Only base64 responses are binary-safe: without
    /// it the server replaces invalid UTF-8 with U+FFFD.
    pub fn base64(mut self, on: bool) -> Self {
        self.base64 = on;
        self
    }

    /// Send the latest `upstash-sync-token` with every request so reads see earlier writes even when
    /// served by a replica (default: on).
    pub fn read_your_writes(mut self, on: bool) -> Self {
        self.read_your_writes = on;
        self
    }

    /// Start from this sync token (copied from another client with [`Redis::sync_token`]).
    pub fn sync_token(mut self, token: impl Into<String>) -> Self {
        self.sync_token = token.into();
        self
    }

    /// How transport errors are retried (default: [`Retry::default`]).
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// `n` retries with the default backoff; `retries(0)` turns retries off.
    pub fn retries(mut self, n: u32) -> Self {
        self.retry.retries = n;
        self
    }

    /// A timeout for each HTTP request (default: none). A timed-out request counts as a transport
    /// error and is retried, like the official clients do; note that the server may have run it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Send `Upstash-Telemetry-Sdk`, `-Platform` and `-Runtime` headers (default: on, unless the
    /// `UPSTASH_DISABLE_TELEMETRY` variable is set, as with the official clients).
    pub fn telemetry(mut self, on: bool) -> Self {
        self.telemetry = on;
        self
    }

    /// Adds an SDK name (such as `larder-ratelimit@v0.1.0`) to the `Upstash-Telemetry-Sdk` header.
    pub fn telemetry_sdk(mut self, sdk: impl Into<String>) -> Self {
        self.extra_sdks.push(sdk.into());
        self
    }

    /// Use this transport instead of the default reqwest one.
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Use this shared transport.
    pub fn transport_arc(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The client.
    pub fn build(self) -> Result<Redis> {
        validate_url(&self.url)?;
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport()?,
        };
        let telemetry = self.telemetry.then(|| {
            let mut sdks = vec![SDK_NAME.to_owned()];
            for s in self.extra_sdks {
                if !sdks.contains(&s) {
                    sdks.push(s);
                }
            }
            Telemetry { sdk: sdks.join(","), platform: platform(), runtime: "rust".into() }
        });
        Ok(Redis {
            inner: Arc::new(Inner {
                url: self.url.trim_end_matches('/').to_owned(),
                auth: format!("Bearer {}", self.token),
                transport,
                base64: self.base64,
                read_your_writes: self.read_your_writes,
                retry: self.retry,
                timeout: self.timeout,
                telemetry,
                sync_token: Arc::new(Mutex::new(self.sync_token)),
            }),
        })
    }
}

#[cfg(feature = "reqwest")]
fn default_transport() -> Result<Arc<dyn Transport>> {
    Ok(Arc::new(crate::transport::ReqwestTransport::new()?))
}

#[cfg(not(feature = "reqwest"))]
fn default_transport() -> Result<Arc<dyn Transport>> {
    Err(Error::Transport(crate::error::TransportError::new(
        "no transport: enable the `reqwest` feature or pass one with RedisBuilder::transport",
    )))
}

fn platform() -> String {
    let set = |n: &str| std::env::var_os(n).is_some();
    if set("VERCEL") {
        "vercel"
    } else if set("AWS_LAMBDA_FUNCTION_NAME") || set("AWS_REGION") {
        "aws"
    } else if set("FLY_APP_NAME") {
        "fly"
    } else {
        "unknown"
    }
    .into()
}

/// The URL without user name and password, for error messages.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.chars().take(100).collect(),
    }
}

fn validate_url(url: &str) -> Result<()> {
    let invalid = |reason: &str| Error::InvalidUrl { url: redact(url), reason: reason.into() };
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("redis://") || lower.starts_with("rediss://") {
        return Err(invalid(
            "this is a Redis protocol (RESP) URL; the REST client needs the REST URL, which starts \
             with https:// (or http:// for a local larder): UPSTASH_REDIS_REST_URL, not REDIS_URL",
        ));
    }
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| invalid("the REST URL must start with https:// or http://"))?;
    if rest.split(['/', '?', '#']).next().is_none_or(str::is_empty) {
        return Err(invalid("the REST URL has no host"));
    }
    Ok(())
}

/// Which endpoint a batch goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Batch {
    Pipeline,
    Transaction,
}

impl Redis {
    /// A client for the REST URL (`https://...` or `http://127.0.0.1:8079`) and token, with the
    /// default options (base64, read-your-writes, retries, telemetry on).
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Result<Redis> {
        Redis::builder(url, token).build()
    }

    /// A builder for a client with options. Telemetry starts off when `UPSTASH_DISABLE_TELEMETRY` is
    /// set.
    pub fn builder(url: impl Into<String>, token: impl Into<String>) -> RedisBuilder {
        let telemetry = std::env::var_os(DISABLE_TELEMETRY_VAR).is_none();
        RedisBuilder::new(url.into(), token.into(), telemetry)
    }

    /// A client from `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` (or Vercel KV's
    /// `KV_REST_API_URL` and `KV_REST_API_TOKEN`). The error names a missing variable, and says so when
    /// the URL is a `redis://`/`rediss://` URL given by mistake.
    pub fn from_env() -> Result<Redis> {
        RedisBuilder::from_env()?.build()
    }

    /// [`Redis::from_env`] reading variables through `lookup`.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Redis> {
        RedisBuilder::from_env_with(lookup)?.build()
    }

    /// The REST base URL (without a trailing slash).
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The latest `upstash-sync-token` the server sent (empty before the first response).
    pub fn sync_token(&self) -> String {
        self.inner.sync_token.lock().expect("sync token lock is never poisoned").clone()
    }

    /// Replaces the sync token (to carry read-your-writes over from another client).
    pub fn set_sync_token(&self, token: impl Into<String>) {
        *self.inner.sync_token.lock().expect("sync token lock is never poisoned") = token.into();
    }

    /// A handle that adds `sdk` to the `Upstash-Telemetry-Sdk` header and otherwise shares this
    /// client (connection pool, sync token, options). For libraries built on this client.
    pub fn with_telemetry_sdk(&self, sdk: &str) -> Redis {
        let i = &self.inner;
        let telemetry = i.telemetry.clone().map(|mut t| {
            if !t.sdk.split(',').any(|s| s == sdk) {
                t.sdk = format!("{},{sdk}", t.sdk);
            }
            t
        });
        Redis {
            inner: Arc::new(Inner {
                url: i.url.clone(),
                auth: i.auth.clone(),
                transport: i.transport.clone(),
                base64: i.base64,
                read_your_writes: i.read_your_writes,
                retry: i.retry.clone(),
                timeout: i.timeout,
                telemetry,
                sync_token: i.sync_token.clone(),
            }),
        }
    }

    /// A pipeline: commands sent together in one request to `/pipeline`, run in order but not
    /// atomically; each command gets its own result or error.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.clone(), Batch::Pipeline)
    }

    /// A transaction: commands sent together to `/multi-exec` and run atomically (MULTI/EXEC).
    pub fn multi(&self) -> Pipeline {
        Pipeline::new(self.clone(), Batch::Transaction)
    }

    /// Runs any command and returns the raw reply: the escape hatch for commands and options without
    /// a typed method. Arguments are anything [`ToArgs`]: `["XLEN", "s"]`, `("EXPIRE", key, 10)`, or a
    /// [`Cmd`].
    ///
    /// ```no_run
    /// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
    /// let len = redis.command(("STRLEN", "greeting")).await?.decode::<i64>()?;
    /// # Ok(()) }
    /// ```
    pub fn command(&self, args: impl ToArgs) -> impl Future<Output = Result<Value>> + Send {
        let cmd = Cmd::from_args(args);
        async move { self.run(cmd).await }
    }

    /// Stores raw bytes (binary-safe, unlike JSON command arrays) with a path-style request:
    /// `POST /set/<key>` with the bytes as the body. `SET` options can follow as `ttl`.
    ///
    /// An empty value is sent as an ordinary `SET key ""`.
    pub async fn set_bytes(
        &self,
        key: impl AsRef<str>,
        value: &[u8],
        ttl: Option<Duration>,
    ) -> Result<()> {
        let key = key.as_ref();
        if value.is_empty() {
            let cmd = Cmd::new("SET").arg(key).arg("").arg(ttl.map(|t| ("PX", ms(t))));
            return self.run(cmd).await.map(drop);
        }
        let mut url = format!("{}/set/{}", self.inner.url, percent_encode(key));
        if let Some(t) = ttl {
            url.push_str(&format!("?PX={}", ms(t)));
        }
        let resp = self.send(url, value.to_vec(), "application/octet-stream").await?;
        self.single_result(resp).map(drop)
    }

    /// Runs one command: `POST /` with the command as a JSON array.
    pub(crate) async fn run(&self, cmd: Cmd) -> Result<Value> {
        cmd.check()?;
        let body = serde_json::to_vec(cmd.args()).map_err(|e| Error::Encode(e.to_string()))?;
        let resp = self.send(self.inner.url.clone(), body, "application/json").await?;
        self.single_result(resp)
    }

    fn single_result(&self, resp: Response) -> Result<Value> {
        let ok = (200..300).contains(&resp.status);
        // A command error is a 400 with {"error": "..."}; other statuses are HTTP errors.
        if !ok && resp.status != 400 {
            return Err(http_error(&resp));
        }
        let json = match serde_json::from_slice::<serde_json::Value>(&resp.body) {
            Ok(json) => json,
            Err(_) if !ok => return Err(http_error(&resp)),
            Err(e) => return Err(Error::decode(format!("the response is not JSON: {e}"))),
        };
        match value::from_envelope(json, self.inner.base64) {
            Ok(outcome) => outcome,
            Err(_) if !ok => Err(http_error(&resp)),
            Err(e) => Err(e),
        }
    }

    /// Runs a batch: `POST /pipeline` or `/multi-exec`. `Err` is a whole-request failure.
    pub(crate) async fn run_batch(
        &self,
        cmds: Vec<Cmd>,
        kind: Batch,
    ) -> Result<Vec<Result<Value>>> {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        for c in &cmds {
            c.check()?;
        }
        let n = cmds.len();
        let body: Vec<Vec<String>> = cmds.into_iter().map(Cmd::into_args).collect();
        let body = serde_json::to_vec(&body).map_err(|e| Error::Encode(e.to_string()))?;
        let path = match kind {
            Batch::Pipeline => "/pipeline",
            Batch::Transaction => "/multi-exec",
        };
        let resp = self.send(format!("{}{path}", self.inner.url), body, "application/json").await?;
        let ok = (200..300).contains(&resp.status);
        if !ok {
            // A transaction discarded as a whole answers 400 with the Redis error (EXECABORT, ERR).
            if kind == Batch::Transaction && resp.status == 400 {
                if let Some(msg) = error_text(&resp.body) {
                    return Err(Error::Command(msg));
                }
            }
            return Err(http_error(&resp));
        }
        let json: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| Error::decode(format!("the response is not JSON: {e}")))?;
        let items = match json {
            serde_json::Value::Array(items) => items,
            serde_json::Value::Object(ref o) if o.contains_key("error") => {
                return Err(Error::Command(error_text(&resp.body).unwrap_or_default()));
            }
            other => {
                return Err(Error::decode(format!("expected an array of results, got {other}")));
            }
        };
        if items.len() != n {
            return Err(Error::decode(format!("sent {n} commands, got {} results", items.len())));
        }
        items.into_iter().map(|j| value::from_envelope(j, self.inner.base64)).collect()
    }

    /// Sends one POST with the standard headers, retrying transport errors, and keeps the sync token.
    async fn send(&self, url: String, body: Vec<u8>, content_type: &str) -> Result<Response> {
        let i = &self.inner;
        let mut attempt: u32 = 0;
        loop {
            let mut headers = Vec::with_capacity(8);
            headers.push(("Authorization".to_owned(), i.auth.clone()));
            headers.push(("Content-Type".to_owned(), content_type.to_owned()));
            if i.base64 {
                headers.push(("Upstash-Encoding".to_owned(), "base64".to_owned()));
            }
            if i.read_your_writes {
                let token = self.sync_token();
                if !token.is_empty() {
                    headers.push(("Upstash-Sync-Token".to_owned(), token));
                }
            }
            if let Some(t) = &i.telemetry {
                headers.push(("Upstash-Telemetry-Sdk".to_owned(), t.sdk.clone()));
                headers.push(("Upstash-Telemetry-Platform".to_owned(), t.platform.clone()));
                headers.push(("Upstash-Telemetry-Runtime".to_owned(), t.runtime.clone()));
                if attempt > 0 {
                    headers.push(("Upstash-Telemetry-Retry".to_owned(), attempt.to_string()));
                }
            }
            let request =
                Request { url: url.clone(), headers, body: body.clone(), timeout: i.timeout };
            match i.transport.send(request).await {
                Ok(resp) => {
                    if let Some(t) = resp.header("upstash-sync-token") {
                        if !t.is_empty() {
                            self.set_sync_token(t);
                        }
                    }
                    return Ok(resp);
                }
                Err(_) if attempt < i.retry.retries => {
                    tokio::time::sleep(i.retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(Error::Transport(e)),
            }
        }
    }
}

fn error_text(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    json.get("error")?.as_str().map(str::to_owned)
}

fn http_error(resp: &Response) -> Error {
    let message = error_text(&resp.body).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&resp.body);
        text.chars().take(200).collect()
    });
    Error::Http { status: resp.status, message }
}

/// Milliseconds, at least 1 (a zero expiry is an error in Redis).
pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Percent-encodes everything but unreserved characters, for a path segment.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(validate_url("https://eu1-x.upstash.io").is_ok());
        assert!(validate_url("http://127.0.0.1:8079/").is_ok());
        let e = validate_url("rediss://default:secret@eu1-x.upstash.io:6379").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("REST URL"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
        assert!(validate_url("eu1-x.upstash.io").is_err());
        assert!(validate_url("https://").is_err());
    }

    #[test]
    fn env_lookup_with_fallbacks() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
        };
        let b = RedisBuilder::from_env_with(env(&[
            ("KV_REST_API_URL", "https://kv.example"),
            ("UPSTASH_REDIS_REST_TOKEN", "t"),
        ]))
        .unwrap();
        assert_eq!(b.url, "https://kv.example");
        assert!(b.telemetry);
        let e = RedisBuilder::from_env_with(env(&[("UPSTASH_REDIS_REST_URL", "https://x")]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "environment variable UPSTASH_REDIS_REST_TOKEN is not set (nor KV_REST_API_TOKEN)"
        );
        let e = RedisBuilder::from_env_with(env(&[("UPSTASH_REDIS_REST_TOKEN", "t")])).unwrap_err();
        assert!(e.to_string().contains("UPSTASH_REDIS_REST_URL"));
        let e = RedisBuilder::from_env_with(env(&[
            ("UPSTASH_REDIS_REST_URL", "redis://localhost:6379"),
            ("UPSTASH_REDIS_REST_TOKEN", "t"),
        ]))
        .unwrap_err();
        assert!(matches!(e, Error::InvalidUrl { .. }));
        let b = RedisBuilder::from_env_with(env(&[
            ("UPSTASH_REDIS_REST_URL", "https://x"),
            ("UPSTASH_REDIS_REST_TOKEN", "t"),
            ("UPSTASH_DISABLE_TELEMETRY", "1"),
        ]))
        .unwrap();
        assert!(!b.telemetry);
    }

    #[test]
    fn backoff_matches_the_official_clients() {
        let r = Retry::default();
        assert_eq!(r.retries(), 5);
        assert_eq!(r.delay(0), Duration::from_millis(50));
        assert!((r.delay(4).as_secs_f64() - 2.73).abs() < 0.01);
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("a b/c:ü"), "a%20b%2Fc%3A%C3%BC");
    }
}
