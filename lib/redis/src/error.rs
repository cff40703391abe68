//! The one error type of the crate.

use std::fmt;
use std::sync::Arc;

/// Everything that can go wrong talking to Redis over HTTP.
///
/// Which variant to expect:
///
/// - a Redis error reply (`ERR ...`, `WRONGTYPE ...`, `NOSCRIPT ...`, `EXECABORT ...`) is
///   [`Error::Command`], whether it came back for a single command, for one element of a pipeline or
///   transaction, or for a transaction discarded as a whole;
/// - any other non-2xx answer (401 for a wrong token, 413, 5xx from a proxy, ...) is [`Error::Http`];
/// - the request never got an answer: [`Error::Transport`] (these, and only these, are retried);
/// - the answer did not have the expected shape, or a value did not fit the requested type:
///   [`Error::Decode`].
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) {
/// match redis.incr("counter").await {
///     Ok(n) => println!("{n}"),
///     Err(e) if e.redis_code() == Some("WRONGTYPE") => println!("not a number"),
///     Err(e) if e.is_transport() => println!("no answer after the retries: {e}"),
///     Err(e) => println!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request did not get an HTTP answer (connection refused, reset, timeout, TLS failure), after
    /// every retry.
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),
    /// The server answered with a non-2xx status that is not a Redis command error.
    #[error("HTTP {status}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The server's `error` text, or the start of the body when it was not JSON.
        message: String,
    },
    /// Redis refused the command; the message is the Redis error line (`ERR ...`, `WRONGTYPE ...`).
    #[error("{0}")]
    Command(String),
    /// A response or a value could not be decoded into the requested type.
    #[error("decode error: {0}")]
    Decode(String),
    /// A value could not be encoded as a command argument.
    #[error("encode error: {0}")]
    Encode(String),
    /// A required environment variable is not set (or is empty).
    #[error("environment variable {name} is not set{}", fallback_note(.fallback))]
    MissingEnv {
        /// The variable that was looked up first.
        name: &'static str,
        /// The alternative name that was also tried, if any.
        fallback: Option<&'static str>,
    },
    /// The REST URL is not an `http://` or `https://` URL.
    #[error("invalid REST URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL, without any user name or password it contained.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The computation given to the cache helper failed (the error is shared by every caller that
    /// waited for that computation).
    #[error("cached computation failed: {0}")]
    Compute(Arc<dyn std::error::Error + Send + Sync>),
}

fn fallback_note(fallback: &Option<&'static str>) -> String {
    match fallback {
        Some(f) => format!(" (nor {f})"),
        None => String::new(),
    }
}

impl Error {
    /// The Redis error line when this is a command error.
    pub fn redis_message(&self) -> Option<&str> {
        match self {
            Error::Command(m) => Some(m),
            _ => None,
        }
    }

    /// The Redis error code: the first word of a command error (`ERR`, `WRONGTYPE`, `NOSCRIPT`, ...).
    pub fn redis_code(&self) -> Option<&str> {
        self.redis_message().map(|m| m.split_whitespace().next().unwrap_or(""))
    }

    /// Whether this is Redis's `NOSCRIPT` error (EVALSHA of a script the server does not have).
    pub fn is_noscript(&self) -> bool {
        self.redis_message().is_some_and(|m| m.to_ascii_uppercase().contains("NOSCRIPT"))
    }

    /// Whether the request never reached an answer (a transport error or a timeout).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport(_))
    }

    /// Whether this is a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_timeout())
    }

    pub(crate) fn decode(msg: impl fmt::Display) -> Error {
        Error::Decode(msg.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A request that got no HTTP answer, as reported by a [`Transport`](crate::Transport).
///
/// ```
/// use larder_redis::TransportError;
/// let e = TransportError::timeout("no answer within 2 s");
/// assert!(e.is_timeout());
/// assert!(!TransportError::new("connection refused").is_timeout());
/// ```
#[derive(Debug)]
pub struct TransportError {
    source: Box<dyn std::error::Error + Send + Sync>,
    timeout: bool,
}

impl TransportError {
    /// A transport failure (connection refused or reset, DNS, TLS, ...).
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> TransportError {
        TransportError { source: source.into(), timeout: false }
    }

    /// The request timed out.
    pub fn timeout(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> TransportError {
        TransportError { source: source.into(), timeout: true }
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.timeout {
            f.write_str("timed out: ")?;
        }
        // Show the whole chain: reqwest's top-level message alone ("error sending request") hides why.
        write!(f, "{}", self.source)?;
        let mut cur = self.source.source();
        while let Some(e) = cur {
            write!(f, ": {e}")?;
            cur = e.source();
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}
