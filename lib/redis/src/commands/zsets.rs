//! Sorted sets. Scores are `f64` (`inf`/`-inf` included); a range bound is anything [`ToArgs`]:
//! a number, `"-inf"`, `"+inf"`, `"(5"` (exclusive), or `"[a"`/`"-"`/`"+"` for lexicographic ranges.

use crate::args::ToArgs;

/// Options of `ZADD`: `NX`/`XX`, `GT`/`LT` and `CH`.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::ZAddOptions;
/// // Keep each player's best score: update only when higher, count changed members.
/// let changed = redis.zadd_options("leaderboard", ZAddOptions::new().gt().ch(), [(420.0, "ada")]).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct ZAddOptions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
}

impl ZAddOptions {
    /// No options.
    pub fn new() -> ZAddOptions {
        ZAddOptions::default()
    }

    /// `NX`: only add new members.
    pub fn nx(mut self) -> Self {
        (self.nx, self.xx) = (true, false);
        self
    }

    /// `XX`: only update existing members.
    pub fn xx(mut self) -> Self {
        (self.xx, self.nx) = (true, false);
        self
    }

    /// `GT`: only update when the new score is greater.
    pub fn gt(mut self) -> Self {
        (self.gt, self.lt) = (true, false);
        self
    }

    /// `LT`: only update when the new score is less.
    pub fn lt(mut self) -> Self {
        (self.lt, self.gt) = (true, false);
        self
    }

    /// `CH`: count changed members, not only added ones.
    pub fn ch(mut self) -> Self {
        self.ch = true;
        self
    }
}

impl ToArgs for ZAddOptions {
    fn write_args(&self, out: &mut Vec<String>) {
        for (on, word) in
            [(self.nx, "NX"), (self.xx, "XX"), (self.gt, "GT"), (self.lt, "LT"), (self.ch, "CH")]
        {
            if on {
                out.push(word.into());
            }
        }
    }
}

/// What the bounds of a `ZRANGE` are.
///
/// ```
/// use larder_redis::{ZRangeBy, ZRangeOptions};
/// // Chosen with `ZRangeOptions::by_score` and `by_lex`; ranks are the default.
/// assert_eq!(ZRangeBy::default(), ZRangeBy::Rank);
/// let by_name = ZRangeOptions::new().by_lex();
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZRangeBy {
    /// Ranks (indexes), the default.
    #[default]
    Rank,
    /// Scores (`BYSCORE`).
    Score,
    /// Members, lexicographically (`BYLEX`).
    Lex,
}

/// Options of `ZRANGE`: `BYSCORE`/`BYLEX`, `REV`, `LIMIT offset count`.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::ZRangeOptions;
/// // The top 10 scores from 100 down.
/// let top: Vec<(String, f64)> = redis
///     .zrange_options_withscores("leaderboard", "+inf", 100, ZRangeOptions::new().by_score().rev().limit(0, 10))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct ZRangeOptions {
    by: ZRangeBy,
    rev: bool,
    limit: Option<(i64, i64)>,
}

impl ZRangeOptions {
    /// By rank, ascending, no limit.
    pub fn new() -> ZRangeOptions {
        ZRangeOptions::default()
    }

    /// `BYSCORE`.
    pub fn by_score(mut self) -> Self {
        self.by = ZRangeBy::Score;
        self
    }

    /// `BYLEX`.
    pub fn by_lex(mut self) -> Self {
        self.by = ZRangeBy::Lex;
        self
    }

    /// `REV`: descending (give the bounds high first).
    pub fn rev(mut self) -> Self {
        self.rev = true;
        self
    }

    /// `LIMIT offset count` (count negative: all).
    pub fn limit(mut self, offset: i64, count: i64) -> Self {
        self.limit = Some((offset, count));
        self
    }
}

impl ToArgs for ZRangeOptions {
    fn write_args(&self, out: &mut Vec<String>) {
        match self.by {
            ZRangeBy::Rank => {}
            ZRangeBy::Score => out.push("BYSCORE".into()),
            ZRangeBy::Lex => out.push("BYLEX".into()),
        }
        if self.rev {
            out.push("REV".into());
        }
        if let Some((o, c)) = self.limit {
            out.extend(["LIMIT".into(), o.to_string(), c.to_string()]);
        }
    }
}

macro_rules! zset_commands {
    ($emit:ident) => { $emit! {
        /// `ZADD key score member...`: how many members were new.
        fn zadd(key: impl AsRef<str>, members: impl IntoIterator<Item = (f64, impl Serialize)>) -> i64 {
            members.into_iter().fold(Cmd::new("ZADD").arg(key.as_ref()), |c, (s, m)| c.arg(s).value(&m))
        }

        /// `ZADD key [NX|XX] [GT|LT] [CH] score member...`.
        fn zadd_options(
            key: impl AsRef<str>,
            options: ZAddOptions,
            members: impl IntoIterator<Item = (f64, impl Serialize)>,
        ) -> i64 {
            members
                .into_iter()
                .fold(Cmd::new("ZADD").arg(key.as_ref()).arg(options), |c, (s, m)| c.arg(s).value(&m))
        }

        /// `ZINCRBY key increment member`: the new score.
        fn zincrby(key: impl AsRef<str>, increment: f64, member: impl Serialize) -> f64 {
            Cmd::new("ZINCRBY").arg(key.as_ref()).arg(increment).value(&member)
        }

        /// `ZSCORE key member`.
        fn zscore(key: impl AsRef<str>, member: impl Serialize) -> Option<f64> {
            Cmd::new("ZSCORE").arg(key.as_ref()).value(&member)
        }

        /// `ZMSCORE key member...`: one `Option` per member.
        fn zmscore(key: impl AsRef<str>, members: impl IntoIterator<Item = impl Serialize>) -> Vec<Option<f64>> {
            Cmd::new("ZMSCORE").arg(key.as_ref()).values(members)
        }

        /// `ZREM key member...`: how many were removed.
        fn zrem(key: impl AsRef<str>, members: impl IntoIterator<Item = impl Serialize>) -> i64 {
            Cmd::new("ZREM").arg(key.as_ref()).values(members)
        }

        /// `ZCARD key`.
        fn zcard(key: impl AsRef<str>) -> i64 {
            Cmd::new("ZCARD").arg(key.as_ref())
        }

        /// `ZCOUNT key min max` (score bounds).
        fn zcount(key: impl AsRef<str>, min: impl ToArgs, max: impl ToArgs) -> i64 {
            Cmd::new("ZCOUNT").arg(key.as_ref()).arg(min).arg(max)
        }

        /// `ZLEXCOUNT key min max` (lexicographic bounds such as `"[a"`, `"-"`, `"+"`).
        fn zlexcount(key: impl AsRef<str>, min: impl ToArgs, max: impl ToArgs) -> i64 {
            Cmd::new("ZLEXCOUNT").arg(key.as_ref()).arg(min).arg(max)
        }

        /// `ZRANK key member`: the rank by ascending score.
        fn zrank(key: impl AsRef<str>, member: impl Serialize) -> Option<i64> {
            Cmd::new("ZRANK").arg(key.as_ref()).value(&member)
        }

        /// `ZREVRANK key member`: the rank by descending score.
        fn zrevrank(key: impl AsRef<str>, member: impl Serialize) -> Option<i64> {
            Cmd::new("ZREVRANK").arg(key.as_ref()).value(&member)
        }

        /// `ZRANGE key start stop`: members by rank.
        fn zrange[T: DeserializeOwned](key: impl AsRef<str>, start: i64, stop: i64) -> Vec<T> {
            Cmd::new("ZRANGE").arg(key.as_ref()).arg((start, stop))
        }

        /// `ZRANGE key start stop WITHSCORES`: `(member, score)` by rank.
        fn zrange_withscores[T: DeserializeOwned](key: impl AsRef<str>, start: i64, stop: i64) -> Vec<(T, f64)> {
            Cmd::new("ZRANGE").arg(key.as_ref()).arg((start, stop)).arg("WITHSCORES")
        } via crate::de::pairs;

        /// `ZRANGE key start stop REV`: members by descending rank.
        fn zrevrange[T: DeserializeOwned](key: impl AsRef<str>, start: i64, stop: i64) -> Vec<T> {
            Cmd::new("ZRANGE").arg(key.as_ref()).arg((start, stop)).arg("REV")
        }

        /// `ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`.
        fn zrange_options[T: DeserializeOwned](
            key: impl AsRef<str>,
            min: impl ToArgs,
            max: impl ToArgs,
            options: ZRangeOptions,
        ) -> Vec<T> {
            Cmd::new("ZRANGE").arg(key.as_ref()).arg(min).arg(max).arg(options)
        }

        /// `ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] WITHSCORES`.
        fn zrange_options_withscores[T: DeserializeOwned](
            key: impl AsRef<str>,
            min: impl ToArgs,
            max: impl ToArgs,
            options: ZRangeOptions,
        ) -> Vec<(T, f64)> {
            Cmd::new("ZRANGE").arg(key.as_ref()).arg(min).arg(max).arg(options).arg("WITHSCORES")
        } via crate::de::pairs;

        /// `ZRANGEBYSCORE key min max`: members with scores in the range, ascending.
        fn zrangebyscore[T: DeserializeOwned](key: impl AsRef<str>, min: impl ToArgs, max: impl ToArgs) -> Vec<T> {
            Cmd::new("ZRANGEBYSCORE").arg(key.as_ref()).arg(min).arg(max)
        }

        /// `ZREMRANGEBYRANK key start stop`: how many were removed.
        fn zremrangebyrank(key: impl AsRef<str>, start: i64, stop: i64) -> i64 {
            Cmd::new("ZREMRANGEBYRANK").arg(key.as_ref()).arg((start, stop))
        }

        /// `ZREMRANGEBYSCORE key min max`: how many were removed.
        fn zremrangebyscore(key: impl AsRef<str>, min: impl ToArgs, max: impl ToArgs) -> i64 {
            Cmd::new("ZREMRANGEBYSCORE").arg(key.as_ref()).arg(min).arg(max)
        }

        /// `ZREMRANGEBYLEX key min max`: how many were removed.
        fn zremrangebylex(key: impl AsRef<str>, min: impl ToArgs, max: impl ToArgs) -> i64 {
            Cmd::new("ZREMRANGEBYLEX").arg(key.as_ref()).arg(min).arg(max)
        }

        /// `ZPOPMIN key`: the member with the lowest score and its score, removed.
        fn zpopmin[T: DeserializeOwned](key: impl AsRef<str>) -> Option<(T, f64)> {
            Cmd::new("ZPOPMIN").arg(key.as_ref())
        } via crate::de::pair_opt;

        /// `ZPOPMAX key`: the member with the highest score and its score, removed.
        fn zpopmax[T: DeserializeOwned](key: impl AsRef<str>) -> Option<(T, f64)> {
            Cmd::new("ZPOPMAX").arg(key.as_ref())
        } via crate::de::pair_opt;

        /// `ZPOPMIN key count`.
        fn zpopmin_count[T: DeserializeOwned](key: impl AsRef<str>, count: u64) -> Vec<(T, f64)> {
            Cmd::new("ZPOPMIN").arg(key.as_ref()).arg(count)
        } via crate::de::pairs;

        /// `ZPOPMAX key count`.
        fn zpopmax_count[T: DeserializeOwned](key: impl AsRef<str>, count: u64) -> Vec<(T, f64)> {
            Cmd::new("ZPOPMAX").arg(key.as_ref()).arg(count)
        } via crate::de::pairs;

        /// `ZRANDMEMBER key`: a random member.
        fn zrandmember[T: DeserializeOwned](key: impl AsRef<str>) -> Option<T> {
            Cmd::new("ZRANDMEMBER").arg(key.as_ref())
        }

        /// `ZUNION numkeys key...`: the members of the union, by score.
        fn zunion[T: DeserializeOwned](keys: impl ToArgs) -> Vec<T> {
            Cmd::new("ZUNION").arg(counted(keys))
        }

        /// `ZINTER numkeys key...`.
        fn zinter[T: DeserializeOwned](keys: impl ToArgs) -> Vec<T> {
            Cmd::new("ZINTER").arg(counted(keys))
        }

        /// `ZDIFF numkeys key...`.
        fn zdiff[T: DeserializeOwned](keys: impl ToArgs) -> Vec<T> {
            Cmd::new("ZDIFF").arg(counted(keys))
        }

        /// `ZUNIONSTORE destination numkeys key...`: the size of the result (scores summed).
        fn zunionstore(destination: impl AsRef<str>, keys: impl ToArgs) -> i64 {
            Cmd::new("ZUNIONSTORE").arg(destination.as_ref()).arg(counted(keys))
        }

        /// `ZINTERSTORE destination numkeys key...`.
        fn zinterstore(destination: impl AsRef<str>, keys: impl ToArgs) -> i64 {
            Cmd::new("ZINTERSTORE").arg(destination.as_ref()).arg(counted(keys))
        }

        /// `ZDIFFSTORE destination numkeys key...`.
        fn zdiffstore(destination: impl AsRef<str>, keys: impl ToArgs) -> i64 {
            Cmd::new("ZDIFFSTORE").arg(destination.as_ref()).arg(counted(keys))
        }

        /// `ZSCAN key cursor [MATCH] [COUNT]`: the next cursor and a batch of `(member, score)`.
        fn zscan[T: DeserializeOwned](key: impl AsRef<str>, cursor: u64, options: ScanOptions) -> (u64, Vec<(T, f64)>) {
            Cmd::new("ZSCAN").arg(key.as_ref()).arg(cursor).arg(options)
        } via crate::de::scan_pairs;
    } };
}
