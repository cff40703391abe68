//! Hashes, including per-field expiry (HEXPIRE and friends, HGETEX, HSETEX, HGETDEL).

use crate::args::ToArgs;

/// The condition of `HSETEX`: `FNX` (only if no field exists) or `FXX` (only if all exist).
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::{Expiry, FieldCondition};
/// // Create the session fields only if none exists yet, expiring in an hour.
/// let created = redis
///     .hsetex("session:1", Some(FieldCondition::Fnx), Some(Expiry::Ex(3600)), [("user", "42")])
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldCondition {
    /// `FNX`: set only if none of the fields exists.
    Fnx,
    /// `FXX`: set only if all of the fields exist.
    Fxx,
}

impl ToArgs for FieldCondition {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(
            match self {
                FieldCondition::Fnx => "FNX",
                FieldCondition::Fxx => "FXX",
            }
            .into(),
        );
    }
}

/// `FIELDS n field...` for the field-expiry commands.
pub(crate) fn fields(f: impl ToArgs) -> (&'static str, usize, Vec<String>) {
    let (n, f) = super::counted(f);
    ("FIELDS", n, f)
}

/// `FIELDS n field value...` for HSETEX.
pub(crate) fn field_values(
    pairs: impl IntoIterator<Item = (impl AsRef<str>, impl serde::Serialize)>,
) -> crate::args::Cmd {
    let pairs: Vec<_> = pairs.into_iter().collect();
    pairs.iter().fold(crate::args::Cmd::new("FIELDS").arg(pairs.len()), |c, (f, v)| {
        c.arg(f.as_ref()).value(v)
    })
}

macro_rules! hash_commands {
    ($emit:ident) => { $emit! {
        /// `HSET key field value`: 1 when the field is new, 0 when it was updated.
        fn hset(key: impl AsRef<str>, field: impl AsRef<str>, value: impl Serialize) -> i64 {
            Cmd::new("HSET").arg(key.as_ref()).arg(field.as_ref()).value(&value)
        }

        /// `HSET key field value...`: how many fields are new.
        fn hset_multiple(
            key: impl AsRef<str>,
            fields: impl IntoIterator<Item = (impl AsRef<str>, impl Serialize)>,
        ) -> i64 {
            fields
                .into_iter()
                .fold(Cmd::new("HSET").arg(key.as_ref()), |c, (f, v)| c.arg(f.as_ref()).value(&v))
        }

        /// `HSETNX key field value`: whether the field was set (it did not exist).
        fn hsetnx(key: impl AsRef<str>, field: impl AsRef<str>, value: impl Serialize) -> bool {
            Cmd::new("HSETNX").arg(key.as_ref()).arg(field.as_ref()).value(&value)
        }

        /// `HGET key field`: `None` only when the field (or key) does not exist.
        fn hget[T: DeserializeOwned](key: impl AsRef<str>, field: impl AsRef<str>) -> Option<T> {
            Cmd::new("HGET").arg(key.as_ref()).arg(field.as_ref())
        }

        /// `HMGET key field...`: one `Option` per field.
        fn hmget[T: DeserializeOwned](key: impl AsRef<str>, fields: impl ToArgs) -> Vec<Option<T>> {
            Cmd::new("HMGET").arg(key.as_ref()).arg(fields)
        }

        /// `HGETALL key` into a map (`HashMap<String, V>`, `BTreeMap`) or a struct whose fields are the
        /// hash's fields. An empty or missing hash is an empty map.
        fn hgetall[T: DeserializeOwned](key: impl AsRef<str>) -> T {
            Cmd::new("HGETALL").arg(key.as_ref())
        }

        /// `HDEL key field...`: how many fields were removed.
        fn hdel(key: impl AsRef<str>, fields: impl ToArgs) -> i64 {
            Cmd::new("HDEL").arg(key.as_ref()).arg(fields)
        }

        /// `HEXISTS key field`.
        fn hexists(key: impl AsRef<str>, field: impl AsRef<str>) -> bool {
            Cmd::new("HEXISTS").arg(key.as_ref()).arg(field.as_ref())
        }

        /// `HINCRBY key field increment`: the new value.
        fn hincrby(key: impl AsRef<str>, field: impl AsRef<str>, increment: i64) -> i64 {
            Cmd::new("HINCRBY").arg(key.as_ref()).arg(field.as_ref()).arg(increment)
        }

        /// `HINCRBYFLOAT key field increment`: the new value.
        fn hincrbyfloat(key: impl AsRef<str>, field: impl AsRef<str>, increment: f64) -> f64 {
            Cmd::new("HINCRBYFLOAT").arg(key.as_ref()).arg(field.as_ref()).arg(increment)
        }

        /// `HKEYS key`.
        fn hkeys(key: impl AsRef<str>) -> Vec<String> {
            Cmd::new("HKEYS").arg(key.as_ref())
        }

        /// `HVALS key`.
        fn hvals[T: DeserializeOwned](key: impl AsRef<str>) -> Vec<T> {
            Cmd::new("HVALS").arg(key.as_ref())
        }

        /// `HLEN key`.
        fn hlen(key: impl AsRef<str>) -> i64 {
            Cmd::new("HLEN").arg(key.as_ref())
        }

        /// `HSTRLEN key field`.
        fn hstrlen(key: impl AsRef<str>, field: impl AsRef<str>) -> i64 {
            Cmd::new("HSTRLEN").arg(key.as_ref()).arg(field.as_ref())
        }

        /// `HRANDFIELD key count`: up to `count` distinct fields (negative: may repeat).
        fn hrandfield(key: impl AsRef<str>, count: i64) -> Vec<String> {
            Cmd::new("HRANDFIELD").arg(key.as_ref()).arg(count)
        }

        /// `HRANDFIELD key count WITHVALUES`.
        fn hrandfield_withvalues[T: DeserializeOwned](key: impl AsRef<str>, count: i64) -> Vec<(String, T)> {
            Cmd::new("HRANDFIELD").arg(key.as_ref()).arg(count).arg("WITHVALUES")
        } via crate::de::pairs;

        /// `HSCAN key cursor [MATCH] [COUNT]`: the next cursor and a batch of `(field, value)`.
        fn hscan[T: DeserializeOwned](
            key: impl AsRef<str>,
            cursor: u64,
            options: ScanOptions,
        ) -> (u64, Vec<(String, T)>) {
            Cmd::new("HSCAN").arg(key.as_ref()).arg(cursor).arg(options)
        } via crate::de::scan_pairs;

        /// `HEXPIRE key seconds FIELDS n field...`: per field, `1` set, `0` condition not met, `2`
        /// deleted (expiry in the past), `-2` no such field.
        fn hexpire(key: impl AsRef<str>, seconds: i64, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HEXPIRE").arg(key.as_ref()).arg(seconds).arg(hashes::fields(fields))
        }

        /// `HEXPIRE key seconds NX|XX|GT|LT FIELDS n field...`.
        fn hexpire_if(
            key: impl AsRef<str>,
            seconds: i64,
            condition: ExpireCondition,
            fields: impl ToArgs,
        ) -> Vec<i64> {
            Cmd::new("HEXPIRE").arg(key.as_ref()).arg(seconds).arg(condition).arg(hashes::fields(fields))
        }

        /// `HPEXPIRE key milliseconds FIELDS n field...`.
        fn hpexpire(key: impl AsRef<str>, millis: i64, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HPEXPIRE").arg(key.as_ref()).arg(millis).arg(hashes::fields(fields))
        }

        /// `HEXPIREAT key unix-seconds FIELDS n field...`.
        fn hexpireat(key: impl AsRef<str>, unix_seconds: i64, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HEXPIREAT").arg(key.as_ref()).arg(unix_seconds).arg(hashes::fields(fields))
        }

        /// `HPEXPIREAT key unix-milliseconds FIELDS n field...`.
        fn hpexpireat(key: impl AsRef<str>, unix_millis: i64, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HPEXPIREAT").arg(key.as_ref()).arg(unix_millis).arg(hashes::fields(fields))
        }

        /// `HTTL key FIELDS n field...`: seconds left per field (`-1` no expiry, `-2` no field).
        fn httl(key: impl AsRef<str>, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HTTL").arg(key.as_ref()).arg(hashes::fields(fields))
        }

        /// `HPTTL key FIELDS n field...`: milliseconds left per field.
        fn hpttl(key: impl AsRef<str>, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HPTTL").arg(key.as_ref()).arg(hashes::fields(fields))
        }

        /// `HEXPIRETIME key FIELDS n field...`: the Unix time in seconds per field.
        fn hexpiretime(key: impl AsRef<str>, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HEXPIRETIME").arg(key.as_ref()).arg(hashes::fields(fields))
        }

        /// `HPEXPIRETIME key FIELDS n field...`: the Unix time in milliseconds per field.
        fn hpexpiretime(key: impl AsRef<str>, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HPEXPIRETIME").arg(key.as_ref()).arg(hashes::fields(fields))
        }

        /// `HPERSIST key FIELDS n field...`: per field, `1` removed, `-1` had none, `-2` no field.
        fn hpersist(key: impl AsRef<str>, fields: impl ToArgs) -> Vec<i64> {
            Cmd::new("HPERSIST").arg(key.as_ref()).arg(hashes::fields(fields))
        }

        /// `HGETDEL key FIELDS n field...`: the values, deleting the fields.
        fn hgetdel[T: DeserializeOwned](key: impl AsRef<str>, fields: impl ToArgs) -> Vec<Option<T>> {
            Cmd::new("HGETDEL").arg(key.as_ref()).arg(hashes::fields(fields))
        }

        /// `HGETEX key EX|PX|EXAT|PXAT n FIELDS n field...`: the values, setting the fields' expiry.
        fn hgetex[T: DeserializeOwned](
            key: impl AsRef<str>,
            expiry: Expiry,
            fields: impl ToArgs,
        ) -> Vec<Option<T>> {
            Cmd::new("HGETEX").arg(key.as_ref()).arg(expiry).arg(hashes::fields(fields))
        }

        /// `HSETEX key [FNX|FXX] [EX|PX|EXAT|PXAT n] FIELDS n field value...`: whether the fields were
        /// set (`false` when the condition was not met).
        fn hsetex(
            key: impl AsRef<str>,
            condition: Option<FieldCondition>,
            expiry: Option<Expiry>,
            fields: impl IntoIterator<Item = (impl AsRef<str>, impl Serialize)>,
        ) -> bool {
            Cmd::new("HSETEX").arg(key.as_ref()).arg(condition).arg(expiry).append(hashes::field_values(fields))
        }
    } };
}
