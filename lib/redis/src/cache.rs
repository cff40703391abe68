//! A null-safe cache on top of [`Redis`]: [`cached`] and [`Cache`].
//!
//! ```no_run
//! # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
//! use std::time::Duration;
//! use larder_redis::cache::Cache;
//!
//! let cache = Cache::new(redis, "reports").refresh_ahead(0.8);
//! let total: Option<u64> = cache
//!     .get_or_compute("total:2024", Duration::from_secs(300), || async {
//!         // an expensive query; it may legitimately return None, and that is cached too
//!         Ok::<_, std::io::Error>(Some(42))
//!     })
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! What it guarantees:
//!
//! - **Only a missing key is a miss.** Values are stored as their JSON text (`null`, `0`, `""`,
//!   `false`, `[]` are stored as such), so a cached `None`, zero or empty string is a hit and the
//!   computation does not run again until the entry expires. A stored value that no longer decodes
//!   into the requested type (after a change of the type, say) is treated as a miss and overwritten.
//! - **Single flight.** Concurrent callers in the same process that miss the same key (same REST URL,
//!   same full key) share one computation: one runs it, the others wait for its result. The
//!   computation runs in its own task, so a caller that gives up (a dropped future, a timeout) does
//!   not cancel it for the others. If it fails, every caller that waited for it gets the same error
//!   ([`Error::Compute`]); if it panics, they get an error saying so. Nothing is cached then.
//! - **Refresh ahead** (opt-in, [`Cache::refresh_ahead`]): a hit on an entry whose age has passed the
//!   given fraction of its TTL returns the cached value at once and recomputes it in the background
//!   (stale-while-revalidate), once per key at a time. Without it, an entry is recomputed when it has
//!   expired.
//! - **Prefixes.** [`Cache::new`] takes a prefix per feature: keys are `prefix:key`.
//!
//! The computation is a `FnOnce() -> impl Future<Output = Result<T, E>>` that must be `Send +
//! 'static` (it may run in a spawned task): clone what it needs into it (`Arc`s, pools) and use
//! `async move`. `E` is any error convertible into `Box<dyn Error + Send + Sync>` (`anyhow::Error`,
//! `std::io::Error`, `String`, ...). A computed value is stored before it is returned. A failure to
//! store it is not reported (the value is still returned; the next call computes again); a failure
//! to read is.
//!
//! It needs a tokio runtime.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::client::{Redis, ms};
use crate::commands::SetOptions;
use crate::error::{Error, Result};
use crate::value::Value;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type SharedError = Arc<dyn std::error::Error + Send + Sync>;

/// Caches the result of `compute` under `key` for `ttl`: the cached value when `key` exists, else
/// the result of `compute` (stored with `ttl`). `key` is used as is; see [`Cache`] for prefixes and
/// refresh-ahead, and the [module docs](self) for the guarantees.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use std::time::Duration;
///
/// let name: Option<String> = larder_redis::cache::cached(&redis, "user:42:name", Duration::from_secs(60), || async {
///     Ok::<_, std::io::Error>(None) // "no such user" is cached as well
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn cached<T, E, F, Fut>(redis: &Redis, key: &str, ttl: Duration, compute: F) -> Result<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
    E: Into<BoxError> + Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    Cache::new(redis.clone(), "").get_or_compute(key, ttl, compute).await
}

/// A cache for one feature: a prefix for its keys and, optionally, refresh-ahead.
/// Cheap to clone. See the [module docs](self).
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use std::time::Duration;
/// use larder_redis::cache::Cache;
/// let users = Cache::new(redis, "users");
/// let name: Option<String> = users
///     .get_or_compute("42:name", Duration::from_secs(600), || async {
///         Ok::<_, std::io::Error>(Some("Ada".to_string()))
///     })
///     .await?;
/// users.delete("42:name").await?; // after an update
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Cache {
    redis: Redis,
    prefix: Arc<str>,
    refresh_ahead: Option<f64>,
}

#[derive(Clone)]
enum Outcome {
    /// The JSON text of the value.
    Value(Arc<str>),
    Failed(SharedError),
}

struct Flight {
    id: u64,
    refresh: bool,
    rx: watch::Receiver<Option<Outcome>>,
}

/// The computations in flight in this process, by REST URL and full key.
static FLIGHTS: LazyLock<Mutex<HashMap<String, Flight>>> = LazyLock::new(Default::default);
static NEXT_FLIGHT: AtomicU64 = AtomicU64::new(0);

fn flights() -> std::sync::MutexGuard<'static, HashMap<String, Flight>> {
    // A panic while holding this lock cannot leave the map inconsistent (single inserts/removes).
    FLIGHTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes its flight from the map when the computing task ends, however it ends.
struct FlightGuard {
    key: String,
    id: u64,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        let mut map = flights();
        if map.get(&self.key).is_some_and(|f| f.id == self.id) {
            map.remove(&self.key);
        }
    }
}

#[derive(Debug)]
struct Abandoned;

impl std::fmt::Display for Abandoned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the computation panicked or its runtime shut down")
    }
}

impl std::error::Error for Abandoned {}

impl Cache {
    /// A cache whose keys are `prefix:key` (or just `key` when `prefix` is empty).
    pub fn new(redis: Redis, prefix: impl Into<String>) -> Cache {
        Cache { redis, prefix: prefix.into().into(), refresh_ahead: None }
    }

    /// Recompute an entry in the background once `fraction` of its TTL has passed (for example
    /// `0.8`: in the last 20% of its life), returning the cached value meanwhile.
    ///
    /// # Panics
    /// When `fraction` is not strictly between 0 and 1.
    #[must_use]
    pub fn refresh_ahead(mut self, fraction: f64) -> Cache {
        assert!(
            fraction > 0.0 && fraction < 1.0,
            "refresh_ahead fraction must be in (0, 1), got {fraction}"
        );
        self.refresh_ahead = Some(fraction);
        self
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The client.
    pub fn redis(&self) -> &Redis {
        &self.redis
    }

    /// The Redis key an entry is stored under.
    pub fn key(&self, key: &str) -> String {
        if self.prefix.is_empty() { key.to_owned() } else { format!("{}:{key}", self.prefix) }
    }

    /// The cached value, `None` when there is none.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.redis.get_bytes(self.key(key)).await? {
            Some(b) => serde_json::from_slice(&b).map(Some).map_err(Error::decode),
            None => Ok(None),
        }
    }

    /// Stores a value for `ttl`.
    pub async fn set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<()> {
        let json = serde_json::to_string(value).map_err(|e| Error::Encode(e.to_string()))?;
        self.redis
            .set_options(self.key(key), json.as_str(), SetOptions::new().ttl(ttl))
            .await
            .map(drop)
    }

    /// Removes an entry; whether there was one.
    pub async fn delete(&self, key: &str) -> Result<bool> {
        Ok(self.redis.del(self.key(key)).await? > 0)
    }

    /// The cached value under `key`, or the result of `compute`, stored for `ttl`. See the
    /// [module docs](self) for the guarantees.
    pub async fn get_or_compute<T, E, F, Fut>(
        &self,
        key: &str,
        ttl: Duration,
        compute: F,
    ) -> Result<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        E: Into<BoxError> + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let full = self.key(key);
        let fkey = format!("{}\0{full}", self.redis.url());

        // A computation for a missing entry is under way: wait for it rather than read.
        let joined = flights().get(&fkey).filter(|f| !f.refresh).map(|f| f.rx.clone());
        if let Some(rx) = joined {
            return decode(&wait(rx).await?);
        }

        if let Some((bytes, stale)) = self.read(&full, ttl).await? {
            if let Ok(v) = serde_json::from_slice::<T>(&bytes) {
                if stale {
                    self.start(fkey, full, ttl, compute, true);
                }
                return Ok(v);
            }
        }

        let rx = self.start(fkey, full, ttl, compute, false);
        decode(&wait(rx).await?)
    }

    /// Reads an entry and, with refresh-ahead, whether it is due for a refresh.
    async fn read(&self, full: &str, ttl: Duration) -> Result<Option<(Vec<u8>, bool)>> {
        let Some(fraction) = self.refresh_ahead else {
            return Ok(self.redis.get_bytes(full).await?.map(|b| (b, false)));
        };
        let mut results =
            self.redis.pipeline().get_bytes(full).pttl(full).exec().await?.into_iter();
        let (Some(value), Some(pttl)) = (results.next(), results.next()) else {
            return Err(Error::decode("expected two results"));
        };
        let bytes = match value? {
            Value::Bytes(b) => b,
            Value::Nil => return Ok(None),
            other => return Err(Error::decode(format!("expected a cached value, got {other:?}"))),
        };
        let pttl: i64 = pttl?.decode()?;
        // -1 (no expiry) never refreshes; -2 (expired since the GET) refreshes.
        let left_at_refresh = ms(ttl) as f64 * (1.0 - fraction);
        let stale = pttl == -2 || (pttl >= 0 && (pttl as f64) < left_at_refresh);
        Ok(Some((bytes, stale)))
    }

    /// Joins the computation in flight for `fkey`, or starts one in a new task. A refresh is only
    /// started when nothing is in flight.
    fn start<T, E, F, Fut>(
        &self,
        fkey: String,
        full: String,
        ttl: Duration,
        compute: F,
        refresh: bool,
    ) -> watch::Receiver<Option<Outcome>>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        E: Into<BoxError> + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let mut map = flights();
        if let Some(f) = map.get(&fkey) {
            return f.rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        let id = NEXT_FLIGHT.fetch_add(1, Ordering::Relaxed);
        map.insert(fkey.clone(), Flight { id, refresh, rx: rx.clone() });
        drop(map);

        let redis = self.redis.clone();
        tokio::spawn(async move {
            let _guard = FlightGuard { key: fkey, id };
            if !refresh {
                // Another process (or a flight that just ended here) may have filled it meanwhile.
                if let Ok(Some(bytes)) = redis.get_bytes(&full).await {
                    if serde_json::from_slice::<T>(&bytes).is_ok() {
                        if let Ok(json) = String::from_utf8(bytes) {
                            let _ = tx.send(Some(Outcome::Value(json.into())));
                            return;
                        }
                    }
                }
            }
            let outcome = match compute().await {
                Ok(v) => match serde_json::to_string(&v) {
                    Ok(json) => Outcome::Value(json.into()),
                    Err(e) => Outcome::Failed(Arc::new(e)),
                },
                Err(e) => Outcome::Failed(Arc::from(e.into())),
            };
            // Stored before anyone gets it: when `get_or_compute` returns a computed value, a read
            // from Redis sees it. Callers arriving meanwhile join this flight.
            if let Outcome::Value(json) = &outcome {
                let _ = redis.set_options(&full, &**json, SetOptions::new().ttl(ttl)).await;
            }
            let _ = tx.send(Some(outcome));
        });
        rx
    }
}

async fn wait(mut rx: watch::Receiver<Option<Outcome>>) -> Result<Outcome> {
    match rx.wait_for(Option::is_some).await {
        Ok(r) => Ok(r.clone().expect("waited for Some")),
        Err(_) => Err(Error::Compute(Arc::new(Abandoned))),
    }
}

fn decode<T: DeserializeOwned>(outcome: &Outcome) -> Result<T> {
    match outcome {
        Outcome::Value(json) => serde_json::from_str(json).map_err(Error::decode),
        Outcome::Failed(e) => Err(Error::Compute(e.clone())),
    }
}
