//! Run a handler once per message, even though QStash delivers at least once: the message id is
//! recorded in Redis (over HTTP, with [`larder_redis`]) with a TTL before the handler runs; a redelivery
//! of a message already handled (or being handled) is skipped. A handler that fails releases the id so
//! the next delivery can try again.

use std::future::Future;
use std::time::Duration;

use larder_redis::{Redis, SetOptions};

/// The idempotency helper.
#[derive(Debug, Clone)]
pub struct Idempotency {
    redis: Redis,
    prefix: String,
    ttl: Duration,
}

/// What [`Idempotency::once`] did.
#[derive(Debug)]
pub enum Once<T> {
    /// The handler ran and returned this.
    Ran(T),
    /// The message was handled before (or is being handled now): the handler did not run.
    Skipped,
}

/// Why [`Idempotency::once`] failed.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError<E> {
    /// Recording the id failed (the handler did not run).
    #[error("idempotency store: {0}")]
    Store(#[from] larder_redis::Error),
    /// The handler failed (its id was released for the next delivery).
    #[error("handler failed")]
    Handler(E),
}

impl Idempotency {
    /// Records ids under `qstash:processed:` for `ttl` (longer than QStash's retry horizon, e.g. 7 days).
    pub fn new(redis: Redis, ttl: Duration) -> Idempotency {
        Idempotency { redis, prefix: "qstash:processed:".into(), ttl }
    }

    /// Uses another key prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Idempotency {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, message_id: &str) -> String {
        format!("{}{message_id}", self.prefix)
    }

    /// Runs `handler` unless `message_id` was handled already.
    pub async fn once<T, E, F, Fut>(
        &self,
        message_id: &str,
        handler: F,
    ) -> Result<Once<T>, IdempotencyError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = self.key(message_id);
        let ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let fresh = self.redis.set_options(&key, "1", SetOptions::new().nx().px(ms)).await?;
        if !fresh {
            return Ok(Once::Skipped);
        }
        match handler().await {
            Ok(v) => Ok(Once::Ran(v)),
            Err(e) => {
                // Best effort: if this fails too, the id expires after the TTL.
                let _ = self.redis.del(&key).await;
                Err(IdempotencyError::Handler(e))
            }
        }
    }

    /// Forgets a message id (so its next delivery runs the handler again).
    pub async fn forget(&self, message_id: &str) -> Result<(), larder_redis::Error> {
        self.redis.del(self.key(message_id)).await.map(drop)
    }
}
