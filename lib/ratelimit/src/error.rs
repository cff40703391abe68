//! The crate's error type.

/// What can go wrong in a rate-limit call.
///
/// ```no_run
/// # async fn run(limiter: larder_ratelimit::Ratelimit) {
/// match limiter.limit("user:42").await {
///     Ok(res) => println!("allowed: {}", res.success),
///     Err(larder_ratelimit::Error::Redis(e)) => eprintln!("Redis failed: {e}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Redis call failed (transport, HTTP status, a Redis error reply, or a reply that does not
    /// have the expected shape).
    #[error(transparent)]
    Redis(#[from] larder_redis::Error),
    /// The limiter is configured in a way that cannot work (for example `cached_fixed_window`
    /// without an ephemeral cache, or dynamic limits not enabled).
    #[error("invalid rate-limit configuration: {0}")]
    Config(String),
    /// An argument is out of range (a non-positive `block_until_ready` timeout, a malformed
    /// duration string, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Every region of a multi-region limiter failed; this is the first region's error.
    #[error("every region failed; first error: {0}")]
    AllRegionsFailed(Box<Error>),
    /// A background task (analytics, multi-region sync, ...) panicked or was cancelled.
    #[error("background task failed: {0}")]
    Background(String),
}

impl Error {
    pub(crate) fn decode(msg: impl std::fmt::Display) -> Error {
        Error::Redis(larder_redis::Error::Decode(msg.to_string()))
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
