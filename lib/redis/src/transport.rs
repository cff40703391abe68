//! The HTTP seam: [`Transport`] sends one POST and returns the answer. The default is
//! [`ReqwestTransport`] (reqwest with rustls, one connection pool reused across calls); another
//! runtime (a WASM host, a platform's own `fetch`) plugs in by implementing the trait.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::TransportError;

/// A boxed, sendable future, as [`Transport::send`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One HTTP request: always a POST.
///
/// ```no_run
/// use larder_redis::{BoxFuture, Redis, Request, ReqwestTransport, Response, Transport, TransportError};
///
/// /// Logs every request's URL, then sends it.
/// struct Logged(ReqwestTransport);
///
/// impl Transport for Logged {
///     fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
///         println!("POST {} ({} bytes)", request.url, request.body.len());
///         self.0.send(request)
///     }
/// }
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = Redis::builder("http://127.0.0.1:8079", "token")
///     .transport(Logged(ReqwestTransport::new()?))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    /// The full URL (`https://host/`, `https://host/pipeline`, `https://host/multi-exec`, or a
    /// path-style command such as `https://host/set/key`).
    pub url: String,
    /// Header names and values, in order (`Authorization`, `Content-Type`, `Upstash-Encoding`,
    /// `Upstash-Sync-Token`, `Upstash-Telemetry-*`).
    pub headers: Vec<(String, String)>,
    /// The body: a JSON command array or batch, or raw bytes for a path-style command.
    pub body: Vec<u8>,
    /// Give up after this long (the client's configured timeout), if set. The transport reports it
    /// with [`TransportError::timeout`].
    pub timeout: Option<Duration>,
}

impl Request {
    /// The value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP answer, whatever its status.
///
/// ```no_run
/// use larder_redis::{BoxFuture, Request, Response, Transport, TransportError};
///
/// /// Answers every request itself, as a test double.
/// struct Canned;
///
/// impl Transport for Canned {
///     fn send(&self, _request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
///         Box::pin(async { Ok(Response::new(200, Vec::new(), br#"{"result":"PONG"}"#.to_vec())) })
///     }
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names and values (only `upstash-sync-token` is read by the client).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with this status, headers and body.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Response {
        Response { status, headers, body }
    }

    /// The value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends a request and returns the answer.
///
/// Return `Err` only when there is no HTTP answer (connection refused or reset, DNS, TLS, timeout):
/// the client retries exactly those. Any answer, including a 4xx or 5xx, is `Ok`.
///
/// ```
/// use larder_redis::{BoxFuture, Redis, Request, Response, Transport, TransportError};
///
/// /// Answers every command with `PONG` (handy in unit tests).
/// struct Canned;
///
/// impl Transport for Canned {
///     fn send(&self, _request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
///         Box::pin(async { Ok(Response::new(200, vec![], br#"{"result":"UE9ORw=="}"#.to_vec())) })
///     }
/// }
///
/// # async fn run() -> larder_redis::Result<()> {
/// let redis = Redis::builder("https://example.invalid", "token").transport(Canned).build()?;
/// assert_eq!(redis.ping().await?, "PONG");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
/// ```
pub trait Transport: Send + Sync + 'static {
    /// Sends one POST request.
    fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>>;
}

#[cfg(feature = "reqwest")]
pub use reqwest_transport::ReqwestTransport;

#[cfg(feature = "reqwest")]
mod reqwest_transport {
    use super::*;

    /// The default transport: one `reqwest::Client` (rustls, keep-alive pool) shared by every request
    /// of a [`Redis`](crate::Redis) and its clones.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use larder_redis::{Redis, ReqwestTransport};
    /// // Your own reqwest client: a proxy, custom TLS roots, pool settings...
    /// let client = reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(30)).build()?;
    /// let redis = Redis::builder("https://example.upstash.io", "token")
    ///     .transport(ReqwestTransport::from_client(client))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ReqwestTransport {
        client: reqwest::Client,
    }

    impl ReqwestTransport {
        /// A transport with a new client.
        pub fn new() -> Result<ReqwestTransport, TransportError> {
            let client = reqwest::Client::builder().build().map_err(TransportError::new)?;
            Ok(ReqwestTransport { client })
        }

        /// A transport over a client you configured (proxies, root certificates, pool sizes).
        pub fn from_client(client: reqwest::Client) -> ReqwestTransport {
            ReqwestTransport { client }
        }
    }

    fn classify(e: reqwest::Error) -> TransportError {
        if e.is_timeout() { TransportError::timeout(e) } else { TransportError::new(e) }
    }

    impl Transport for ReqwestTransport {
        fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
            Box::pin(async move {
                let mut rb = self.client.post(&request.url);
                for (k, v) in &request.headers {
                    rb = rb.header(k.as_str(), v.as_str());
                }
                if let Some(t) = request.timeout {
                    rb = rb.timeout(t);
                }
                let resp = rb.body(request.body).send().await.map_err(classify)?;
                let status = resp.status().as_u16();
                let headers = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())
                    })
                    .collect();
                let body = resp.bytes().await.map_err(classify)?.to_vec();
                Ok(Response { status, headers, body })
            })
        }
    }
}
