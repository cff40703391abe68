//! [`Script`]: a Lua script run by its SHA-1 (`EVALSHA`), sent in full (`EVAL`) only when the server
//! answers `NOSCRIPT` — the way `@upstash/redis`'s `createScript` and `@upstash/ratelimit` run theirs.

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::args::{Cmd, ToArgs};
use crate::client::Redis;
use crate::error::Result;

/// A Lua script with its SHA-1 computed once, client-side.
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::Script;
///
/// let incr_capped = Script::new(
///     "local n = redis.call('INCR', KEYS[1]) if n > tonumber(ARGV[1]) then return -1 end return n",
/// );
/// let n: i64 = incr_capped.run(&redis, ["visits"], [10]).await?;
/// # Ok(()) }
/// ```
///
/// Cheap to clone. Keep scripts in a `static` (`LazyLock<Script>`) or in your state so the hash is
/// computed once.
#[derive(Debug, Clone)]
pub struct Script {
    source: Arc<str>,
    sha1: Arc<str>,
    read_only: bool,
}

impl Script {
    /// A script run with `EVALSHA`/`EVAL`.
    pub fn new(source: impl Into<String>) -> Script {
        let source: String = source.into();
        let sha1 = sha1_smol::Sha1::from(source.as_bytes()).digest().to_string();
        Script { source: source.into(), sha1: sha1.into(), read_only: false }
    }

    /// A script run with `EVALSHA_RO`/`EVAL_RO`: the server refuses any write it attempts, and it may
    /// run on a read-only token or a replica.
    pub fn read_only(source: impl Into<String>) -> Script {
        Script { read_only: true, ..Script::new(source) }
    }

    /// The lowercase hex SHA-1 of the source: the name the server caches it under.
    pub fn sha1(&self) -> &str {
        &self.sha1
    }

    /// The Lua source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether this runs with the `_RO` commands.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Runs the script: `EVALSHA`, and `EVAL` (which also caches it) when the server answers
    /// `NOSCRIPT`. The reply is decoded like any other (use [`Value`](crate::Value) for the raw one).
    pub fn run<T: DeserializeOwned>(
        &self,
        redis: &Redis,
        keys: impl ToArgs,
        args: impl ToArgs,
    ) -> impl Future<Output = Result<T>> + Send {
        let evalsha = self.evalsha_cmd(&keys, &args);
        let eval = self.eval_cmd(&keys, &args);
        async move {
            let value = match redis.run(evalsha).await {
                Err(e) if e.is_noscript() => redis.run(eval).await?,
                other => other?,
            };
            value.decode()
        }
    }

    /// `SCRIPT LOAD`: caches the script on the server ahead of time.
    pub async fn load(&self, redis: &Redis) -> Result<()> {
        redis.script_load(self.source()).await.map(drop)
    }

    /// `SCRIPT EXISTS`: whether the server has the script cached.
    pub async fn exists(&self, redis: &Redis) -> Result<bool> {
        Ok(redis.script_exists([self.sha1()]).await?.first().copied().unwrap_or(false))
    }

    /// `EVALSHA[_RO] sha1 numkeys key... arg...`.
    pub fn evalsha_cmd(&self, keys: impl ToArgs, args: impl ToArgs) -> Cmd {
        let name = if self.read_only { "EVALSHA_RO" } else { "EVALSHA" };
        with_keys_and_args(Cmd::new(name).arg(self.sha1()), keys, args)
    }

    /// `EVAL[_RO] source numkeys key... arg...`.
    pub fn eval_cmd(&self, keys: impl ToArgs, args: impl ToArgs) -> Cmd {
        let name = if self.read_only { "EVAL_RO" } else { "EVAL" };
        with_keys_and_args(Cmd::new(name).arg(self.source()), keys, args)
    }
}

fn with_keys_and_args(cmd: Cmd, keys: impl ToArgs, args: impl ToArgs) -> Cmd {
    let keys = keys.to_args();
    cmd.arg(keys.len()).arg(keys).arg(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_the_exact_source() {
        // `redis-cli SCRIPT LOAD "return 1"`
        assert_eq!(Script::new("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    }

    #[test]
    fn commands() {
        let s = Script::read_only("return KEYS[1]");
        assert_eq!(
            s.evalsha_cmd(["k"], (1, "a")).args()[..3],
            ["EVALSHA_RO".to_string(), s.sha1().into(), "1".into()]
        );
        assert_eq!(s.eval_cmd((), ()).args(), ["EVAL_RO", "return KEYS[1]", "0"]);
    }
}
