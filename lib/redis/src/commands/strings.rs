//! Strings: GET/SET and friends, counters, MGET/MSET.

use std::time::Duration;

use crate::args::ToArgs;
use crate::client::ms;

/// An expiry: relative (`EX` seconds, `PX` milliseconds) or absolute (`EXAT`/`PXAT`, a Unix time).
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use std::time::Duration;
/// use larder_redis::Expiry;
/// // Read the session and push its expiry 30 minutes out.
/// let session: Option<String> = redis.getex("session:1", Expiry::from(Duration::from_secs(1800))).await?;
/// let until_midnight: Option<String> = redis.getex("report", Expiry::ExAt(1_700_006_400)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// `EX seconds`.
    Ex(u64),
    /// `PX milliseconds`.
    Px(u64),
    /// `EXAT unix-seconds`.
    ExAt(u64),
    /// `PXAT unix-milliseconds`.
    PxAt(u64),
}

impl From<Duration> for Expiry {
    /// `PX` with the duration in milliseconds (at least 1).
    fn from(d: Duration) -> Expiry {
        Expiry::Px(ms(d))
    }
}

impl ToArgs for Expiry {
    fn write_args(&self, out: &mut Vec<String>) {
        let (word, n) = match self {
            Expiry::Ex(n) => ("EX", n),
            Expiry::Px(n) => ("PX", n),
            Expiry::ExAt(n) => ("EXAT", n),
            Expiry::PxAt(n) => ("PXAT", n),
        };
        out.push(word.into());
        out.push(n.to_string());
    }
}

/// Options of `SET`: an expiry or `KEEPTTL`, and a condition (`NX`/`XX`).
///
/// ```
/// use larder_redis::SetOptions;
/// use std::time::Duration;
/// let only_new_for_a_minute = SetOptions::new().nx().ttl(Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct SetOptions {
    expiry: Option<Expiry>,
    keep_ttl: bool,
    nx: bool,
    xx: bool,
}

impl SetOptions {
    /// No options.
    pub fn new() -> SetOptions {
        SetOptions::default()
    }

    /// `EX seconds`.
    pub fn ex(self, seconds: u64) -> Self {
        self.expiry(Expiry::Ex(seconds))
    }

    /// `PX milliseconds`.
    pub fn px(self, millis: u64) -> Self {
        self.expiry(Expiry::Px(millis))
    }

    /// `PX` from a duration.
    pub fn ttl(self, ttl: Duration) -> Self {
        self.expiry(Expiry::from(ttl))
    }

    /// Any expiry (`EX`, `PX`, `EXAT`, `PXAT`); clears `KEEPTTL`.
    pub fn expiry(mut self, expiry: Expiry) -> Self {
        self.expiry = Some(expiry);
        self.keep_ttl = false;
        self
    }

    /// `KEEPTTL`: keep the key's current time to live; clears any expiry.
    pub fn keep_ttl(mut self) -> Self {
        self.keep_ttl = true;
        self.expiry = None;
        self
    }

    /// `NX`: only set a key that does not exist.
    pub fn nx(mut self) -> Self {
        self.nx = true;
        self.xx = false;
        self
    }

    /// `XX`: only set a key that exists.
    pub fn xx(mut self) -> Self {
        self.xx = true;
        self.nx = false;
        self
    }
}

impl ToArgs for SetOptions {
    fn write_args(&self, out: &mut Vec<String>) {
        if self.nx {
            out.push("NX".into());
        }
        if self.xx {
            out.push("XX".into());
        }
        self.expiry.write_args(out);
        if self.keep_ttl {
            out.push("KEEPTTL".into());
        }
    }
}

macro_rules! string_commands {
    ($emit:ident) => { $emit! {
        /// `GET key`: the value, `None` only when the key does not exist. A stored string is read as
        /// text for `String`, and parsed as JSON (or a number) for other types — see the crate docs.
        fn get[T: DeserializeOwned](key: impl AsRef<str>) -> Option<T> {
            Cmd::new("GET").arg(key.as_ref())
        }

        /// `GET key` as raw bytes (binary-safe with base64 responses, the default).
        fn get_bytes(key: impl AsRef<str>) -> Option<Vec<u8>> {
            Cmd::new("GET").arg(key.as_ref())
        } via crate::de::bytes_opt;

        /// `SET key value`: a string is stored as is, any other value as its JSON text.
        fn set(key: impl AsRef<str>, value: impl Serialize) -> () {
            Cmd::new("SET").arg(key.as_ref()).value(&value)
        }

        /// `SET key value [NX|XX] [EX|PX|EXAT|PXAT|KEEPTTL]`: `true` when the value was set, `false`
        /// when `NX`/`XX` prevented it.
        fn set_options(key: impl AsRef<str>, value: impl Serialize, options: SetOptions) -> bool {
            Cmd::new("SET").arg(key.as_ref()).value(&value).arg(options)
        } via crate::de::ok_or_nil;

        /// `SET key value [options] GET`: sets and returns the old value (`None` when there was none).
        fn set_get[T: DeserializeOwned](
            key: impl AsRef<str>,
            value: impl Serialize,
            options: SetOptions,
        ) -> Option<T> {
            Cmd::new("SET").arg(key.as_ref()).value(&value).arg(options).arg("GET")
        }

        /// `SETEX key seconds value`.
        fn setex(key: impl AsRef<str>, seconds: u64, value: impl Serialize) -> () {
            Cmd::new("SETEX").arg(key.as_ref()).arg(seconds).value(&value)
        }

        /// `PSETEX key milliseconds value`.
        fn psetex(key: impl AsRef<str>, millis: u64, value: impl Serialize) -> () {
            Cmd::new("PSETEX").arg(key.as_ref()).arg(millis).value(&value)
        }

        /// `SETNX key value`: `true` when the key was set.
        fn setnx(key: impl AsRef<str>, value: impl Serialize) -> bool {
            Cmd::new("SETNX").arg(key.as_ref()).value(&value)
        }

        /// `GETDEL key`: the value, deleting the key.
        fn getdel[T: DeserializeOwned](key: impl AsRef<str>) -> Option<T> {
            Cmd::new("GETDEL").arg(key.as_ref())
        }

        /// `GETEX key EX|PX|EXAT|PXAT n`: the value, setting a new expiry.
        fn getex[T: DeserializeOwned](key: impl AsRef<str>, expiry: Expiry) -> Option<T> {
            Cmd::new("GETEX").arg(key.as_ref()).arg(expiry)
        }

        /// `GETEX key PERSIST`: the value, removing the expiry.
        fn getex_persist[T: DeserializeOwned](key: impl AsRef<str>) -> Option<T> {
            Cmd::new("GETEX").arg(key.as_ref()).arg("PERSIST")
        }

        /// `GETSET key value`: sets and returns the old value.
        fn getset[T: DeserializeOwned](key: impl AsRef<str>, value: impl Serialize) -> Option<T> {
            Cmd::new("GETSET").arg(key.as_ref()).value(&value)
        }

        /// `GETRANGE key start end` (inclusive, negative from the end).
        fn getrange(key: impl AsRef<str>, start: i64, end: i64) -> String {
            Cmd::new("GETRANGE").arg(key.as_ref()).arg((start, end))
        }

        /// `SETRANGE key offset text`: the new length.
        fn setrange(key: impl AsRef<str>, offset: u64, text: impl AsRef<str>) -> i64 {
            Cmd::new("SETRANGE").arg(key.as_ref()).arg(offset).arg(text.as_ref())
        }

        /// `APPEND key text`: the new length.
        fn append(key: impl AsRef<str>, text: impl AsRef<str>) -> i64 {
            Cmd::new("APPEND").arg(key.as_ref()).arg(text.as_ref())
        }

        /// `STRLEN key`.
        fn strlen(key: impl AsRef<str>) -> i64 {
            Cmd::new("STRLEN").arg(key.as_ref())
        }

        /// `INCR key`: the new value.
        fn incr(key: impl AsRef<str>) -> i64 {
            Cmd::new("INCR").arg(key.as_ref())
        }

        /// `INCRBY key increment`: the new value.
        fn incrby(key: impl AsRef<str>, increment: i64) -> i64 {
            Cmd::new("INCRBY").arg(key.as_ref()).arg(increment)
        }

        /// `INCRBYFLOAT key increment`: the new value.
        fn incrbyfloat(key: impl AsRef<str>, increment: f64) -> f64 {
            Cmd::new("INCRBYFLOAT").arg(key.as_ref()).arg(increment)
        }

        /// `DECR key`: the new value.
        fn decr(key: impl AsRef<str>) -> i64 {
            Cmd::new("DECR").arg(key.as_ref())
        }

        /// `DECRBY key decrement`: the new value.
        fn decrby(key: impl AsRef<str>, decrement: i64) -> i64 {
            Cmd::new("DECRBY").arg(key.as_ref()).arg(decrement)
        }

        /// `MGET key...`: one `Option` per key, in order.
        fn mget[T: DeserializeOwned](keys: impl ToArgs) -> Vec<Option<T>> {
            Cmd::new("MGET").arg(keys)
        }

        /// `MSET key value...`.
        fn mset(pairs: impl IntoIterator<Item = (impl AsRef<str>, impl Serialize)>) -> () {
            pairs.into_iter().fold(Cmd::new("MSET"), |c, (k, v)| c.arg(k.as_ref()).value(&v))
        }

        /// `MSETNX key value...`: `true` when all were set (none existed).
        fn msetnx(pairs: impl IntoIterator<Item = (impl AsRef<str>, impl Serialize)>) -> bool {
            pairs.into_iter().fold(Cmd::new("MSETNX"), |c, (k, v)| c.arg(k.as_ref()).value(&v))
        }
    } };
}
