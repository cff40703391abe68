//! Lists.

use crate::args::ToArgs;

/// A list end, for `LMOVE`.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::Direction;
/// // Move the oldest job to the processing list.
/// let job: Option<String> = redis.lmove("jobs", "processing", Direction::Right, Direction::Left).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The head (`LEFT`).
    Left,
    /// The tail (`RIGHT`).
    Right,
}

impl ToArgs for Direction {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(
            match self {
                Direction::Left => "LEFT",
                Direction::Right => "RIGHT",
            }
            .into(),
        );
    }
}

/// Where `LINSERT` puts the new element relative to the pivot.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::InsertPosition;
/// let len = redis.linsert("steps", InsertPosition::Before, "deploy", "test").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertPosition {
    /// `BEFORE`.
    Before,
    /// `AFTER`.
    After,
}

impl ToArgs for InsertPosition {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(
            match self {
                InsertPosition::Before => "BEFORE",
                InsertPosition::After => "AFTER",
            }
            .into(),
        );
    }
}

/// Options of `LPOS`: `RANK r` and `MAXLEN n`.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::LPosOptions;
/// // The second "error", looking at the first 1000 entries only.
/// let at = redis.lpos("log", "error", LPosOptions::new().rank(2).maxlen(1000)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct LPosOptions {
    rank: Option<i64>,
    maxlen: Option<u64>,
}

impl LPosOptions {
    /// No options.
    pub fn new() -> LPosOptions {
        LPosOptions::default()
    }

    /// `RANK r`: skip the first `r - 1` matches (negative: search from the tail).
    pub fn rank(mut self, rank: i64) -> Self {
        self.rank = Some(rank);
        self
    }

    /// `MAXLEN n`: compare at most `n` elements.
    pub fn maxlen(mut self, maxlen: u64) -> Self {
        self.maxlen = Some(maxlen);
        self
    }
}

impl ToArgs for LPosOptions {
    fn write_args(&self, out: &mut Vec<String>) {
        if let Some(r) = self.rank {
            out.extend(["RANK".into(), r.to_string()]);
        }
        if let Some(m) = self.maxlen {
            out.extend(["MAXLEN".into(), m.to_string()]);
        }
    }
}

macro_rules! list_commands {
    ($emit:ident) => { $emit! {
        /// `LPUSH key element...`: the new length.
        fn lpush(key: impl AsRef<str>, elements: impl IntoIterator<Item = impl Serialize>) -> i64 {
            Cmd::new("LPUSH").arg(key.as_ref()).values(elements)
        }

        /// `RPUSH key element...`: the new length.
        fn rpush(key: impl AsRef<str>, elements: impl IntoIterator<Item = impl Serialize>) -> i64 {
            Cmd::new("RPUSH").arg(key.as_ref()).values(elements)
        }

        /// `LPUSHX key element...`: the new length, 0 (and nothing pushed) when the list does not exist.
        fn lpushx(key: impl AsRef<str>, elements: impl IntoIterator<Item = impl Serialize>) -> i64 {
            Cmd::new("LPUSHX").arg(key.as_ref()).values(elements)
        }

        /// `RPUSHX key element...`.
        fn rpushx(key: impl AsRef<str>, elements: impl IntoIterator<Item = impl Serialize>) -> i64 {
            Cmd::new("RPUSHX").arg(key.as_ref()).values(elements)
        }

        /// `LPOP key`: the first element, `None` when the list is empty.
        fn lpop[T: DeserializeOwned](key: impl AsRef<str>) -> Option<T> {
            Cmd::new("LPOP").arg(key.as_ref())
        }

        /// `RPOP key`: the last element.
        fn rpop[T: DeserializeOwned](key: impl AsRef<str>) -> Option<T> {
            Cmd::new("RPOP").arg(key.as_ref())
        }

        /// `LPOP key count`: up to `count` elements (empty when the list does not exist).
        fn lpop_count[T: DeserializeOwned](key: impl AsRef<str>, count: u64) -> Vec<T> {
            Cmd::new("LPOP").arg(key.as_ref()).arg(count)
        } via crate::de::vec_or_nil;

        /// `RPOP key count`.
        fn rpop_count[T: DeserializeOwned](key: impl AsRef<str>, count: u64) -> Vec<T> {
            Cmd::new("RPOP").arg(key.as_ref()).arg(count)
        } via crate::de::vec_or_nil;

        /// `LRANGE key start stop` (inclusive, negative from the end; `0, -1` is the whole list).
        fn lrange[T: DeserializeOwned](key: impl AsRef<str>, start: i64, stop: i64) -> Vec<T> {
            Cmd::new("LRANGE").arg(key.as_ref()).arg((start, stop))
        }

        /// `LLEN key`.
        fn llen(key: impl AsRef<str>) -> i64 {
            Cmd::new("LLEN").arg(key.as_ref())
        }

        /// `LINDEX key index`.
        fn lindex[T: DeserializeOwned](key: impl AsRef<str>, index: i64) -> Option<T> {
            Cmd::new("LINDEX").arg(key.as_ref()).arg(index)
        }

        /// `LSET key index element`.
        fn lset(key: impl AsRef<str>, index: i64, element: impl Serialize) -> () {
            Cmd::new("LSET").arg(key.as_ref()).arg(index).value(&element)
        }

        /// `LINSERT key BEFORE|AFTER pivot element`: the new length, `-1` when the pivot is missing.
        fn linsert(
            key: impl AsRef<str>,
            position: InsertPosition,
            pivot: impl Serialize,
            element: impl Serialize,
        ) -> i64 {
            Cmd::new("LINSERT").arg(key.as_ref()).arg(position).value(&pivot).value(&element)
        }

        /// `LREM key count element`: how many were removed (`count` 0: all; negative: from the tail).
        fn lrem(key: impl AsRef<str>, count: i64, element: impl Serialize) -> i64 {
            Cmd::new("LREM").arg(key.as_ref()).arg(count).value(&element)
        }

        /// `LTRIM key start stop`.
        fn ltrim(key: impl AsRef<str>, start: i64, stop: i64) -> () {
            Cmd::new("LTRIM").arg(key.as_ref()).arg((start, stop))
        }

        /// `LPOS key element [RANK] [MAXLEN]`: the index of the first match.
        fn lpos(key: impl AsRef<str>, element: impl Serialize, options: LPosOptions) -> Option<i64> {
            Cmd::new("LPOS").arg(key.as_ref()).value(&element).arg(options)
        }

        /// `LPOS key element COUNT n [RANK] [MAXLEN]`: the indexes of up to `count` matches (0: all).
        fn lpos_count(
            key: impl AsRef<str>,
            element: impl Serialize,
            count: u64,
            options: LPosOptions,
        ) -> Vec<i64> {
            Cmd::new("LPOS").arg(key.as_ref()).value(&element).arg(("COUNT", count)).arg(options)
        }

        /// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`: the moved element.
        fn lmove[T: DeserializeOwned](
            source: impl AsRef<str>,
            destination: impl AsRef<str>,
            from: Direction,
            to: Direction,
        ) -> Option<T> {
            Cmd::new("LMOVE").arg(source.as_ref()).arg(destination.as_ref()).arg((from, to))
        }

        /// `RPOPLPUSH source destination`: the moved element.
        fn rpoplpush[T: DeserializeOwned](source: impl AsRef<str>, destination: impl AsRef<str>) -> Option<T> {
            Cmd::new("RPOPLPUSH").arg(source.as_ref()).arg(destination.as_ref())
        }
    } };
}
