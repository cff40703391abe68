//! Keys and expiry: DEL, EXISTS, EXPIRE and friends, TTL, TYPE, RENAME, KEYS, SCAN, COPY.

use crate::args::ToArgs;

/// The condition of `EXPIRE`-family commands (Redis 7): `NX`, `XX`, `GT`, `LT`.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::ExpireCondition;
/// // Extend the TTL to 60 s, never shorten it.
/// let changed = redis.expire_if("session:1", 60, ExpireCondition::Gt).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpireCondition {
    /// Only when the key (or field) has no expiry.
    Nx,
    /// Only when it has an expiry.
    Xx,
    /// Only when the new expiry is later.
    Gt,
    /// Only when the new expiry is sooner.
    Lt,
}

impl ToArgs for ExpireCondition {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(
            match self {
                ExpireCondition::Nx => "NX",
                ExpireCondition::Xx => "XX",
                ExpireCondition::Gt => "GT",
                ExpireCondition::Lt => "LT",
            }
            .into(),
        );
    }
}

/// Options of `SCAN`, `HSCAN`, `SSCAN`, `ZSCAN`: `MATCH pattern`, `COUNT n` and (`SCAN` only) `TYPE t`.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::ScanOptions;
/// let mut cursor = 0;
/// loop {
///     let (next, keys) = redis.scan(cursor, ScanOptions::new().pattern("user:*").count(100)).await?;
///     println!("{keys:?}");
///     if next == 0 {
///         break;
///     }
///     cursor = next;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ScanOptions {
    pattern: Option<String>,
    count: Option<u64>,
    kind: Option<String>,
}

impl ScanOptions {
    /// No options.
    pub fn new() -> ScanOptions {
        ScanOptions::default()
    }

    /// `MATCH pattern` (glob-style).
    pub fn pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }

    /// `COUNT n`: a hint of how much work one call does.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// `TYPE type` (`string`, `hash`, `list`, `set`, `zset`): `SCAN` only.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }
}

impl ToArgs for ScanOptions {
    fn write_args(&self, out: &mut Vec<String>) {
        if let Some(p) = &self.pattern {
            out.extend(["MATCH".into(), p.clone()]);
        }
        if let Some(c) = self.count {
            out.extend(["COUNT".into(), c.to_string()]);
        }
        if let Some(t) = &self.kind {
            out.extend(["TYPE".into(), t.clone()]);
        }
    }
}

macro_rules! key_commands {
    ($emit:ident) => { $emit! {
        /// `DEL key...`: how many keys were removed.
        fn del(keys: impl ToArgs) -> i64 {
            Cmd::new("DEL").arg(keys)
        }

        /// `UNLINK key...`: how many keys were removed.
        fn unlink(keys: impl ToArgs) -> i64 {
            Cmd::new("UNLINK").arg(keys)
        }

        /// `EXISTS key...`: how many of the keys exist (a key named twice counts twice).
        fn exists(keys: impl ToArgs) -> i64 {
            Cmd::new("EXISTS").arg(keys)
        }

        /// `TOUCH key...`: how many of the keys exist.
        fn touch(keys: impl ToArgs) -> i64 {
            Cmd::new("TOUCH").arg(keys)
        }

        /// `EXPIRE key seconds`: whether the expiry was set.
        fn expire(key: impl AsRef<str>, seconds: i64) -> bool {
            Cmd::new("EXPIRE").arg(key.as_ref()).arg(seconds)
        }

        /// `EXPIRE key seconds NX|XX|GT|LT`.
        fn expire_if(key: impl AsRef<str>, seconds: i64, condition: ExpireCondition) -> bool {
            Cmd::new("EXPIRE").arg(key.as_ref()).arg(seconds).arg(condition)
        }

        /// `PEXPIRE key milliseconds`.
        fn pexpire(key: impl AsRef<str>, millis: i64) -> bool {
            Cmd::new("PEXPIRE").arg(key.as_ref()).arg(millis)
        }

        /// `EXPIREAT key unix-seconds`.
        fn expireat(key: impl AsRef<str>, unix_seconds: i64) -> bool {
            Cmd::new("EXPIREAT").arg(key.as_ref()).arg(unix_seconds)
        }

        /// `PEXPIREAT key unix-milliseconds`.
        fn pexpireat(key: impl AsRef<str>, unix_millis: i64) -> bool {
            Cmd::new("PEXPIREAT").arg(key.as_ref()).arg(unix_millis)
        }

        /// `TTL key`: seconds left, `-1` without expiry, `-2` when the key does not exist.
        fn ttl(key: impl AsRef<str>) -> i64 {
            Cmd::new("TTL").arg(key.as_ref())
        }

        /// `PTTL key`: milliseconds left, `-1` without expiry, `-2` when the key does not exist.
        fn pttl(key: impl AsRef<str>) -> i64 {
            Cmd::new("PTTL").arg(key.as_ref())
        }

        /// `PERSIST key`: whether an expiry was removed.
        fn persist(key: impl AsRef<str>) -> bool {
            Cmd::new("PERSIST").arg(key.as_ref())
        }

        /// `TYPE key`: `string`, `list`, `set`, `zset`, `hash`, or `none`.
        fn key_type(key: impl AsRef<str>) -> String {
            Cmd::new("TYPE").arg(key.as_ref())
        }

        /// `RENAME key newkey`.
        fn rename(key: impl AsRef<str>, new_key: impl AsRef<str>) -> () {
            Cmd::new("RENAME").arg(key.as_ref()).arg(new_key.as_ref())
        }

        /// `RENAMENX key newkey`: whether it was renamed (`newkey` did not exist).
        fn renamenx(key: impl AsRef<str>, new_key: impl AsRef<str>) -> bool {
            Cmd::new("RENAMENX").arg(key.as_ref()).arg(new_key.as_ref())
        }

        /// `COPY source destination [REPLACE]`: whether it was copied.
        fn copy(source: impl AsRef<str>, destination: impl AsRef<str>, replace: bool) -> bool {
            Cmd::new("COPY").arg(source.as_ref()).arg(destination.as_ref()).arg_if(replace, "REPLACE")
        }

        /// `KEYS pattern`: every matching key (blocks the server on big databases; prefer `scan`).
        fn keys(pattern: impl AsRef<str>) -> Vec<String> {
            Cmd::new("KEYS").arg(pattern.as_ref())
        }

        /// `SCAN cursor [MATCH] [COUNT] [TYPE]`: the next cursor (0 when done) and a batch of keys.
        fn scan(cursor: u64, options: ScanOptions) -> (u64, Vec<String>) {
            Cmd::new("SCAN").arg(cursor).arg(options)
        } via crate::de::scan;

        /// `RANDOMKEY`: a random key, `None` when the database is empty.
        fn randomkey() -> Option<String> {
            Cmd::new("RANDOMKEY")
        }
    } };
}
