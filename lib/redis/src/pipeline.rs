//! [`Pipeline`]: several commands in one request, to `/pipeline` (in order, not atomic) or to
//! `/multi-exec` (a transaction).

use serde::de::DeserializeOwned;

use crate::args::{Cmd, ToArgs};
use crate::client::{Batch, Redis};
use crate::error::{Error, Result};
use crate::script::Script;
use crate::value::Value;

/// A batch of commands sent in one HTTP request: from [`Redis::pipeline`] (`/pipeline`: run in
/// order, not atomically — other clients' commands may interleave) or [`Redis::multi`]
/// (`/multi-exec`: a MULTI/EXEC transaction).
///
/// Queue commands with the same typed methods as [`Redis`] (they return `&mut Self`, so calls
/// chain) or with [`Pipeline::command`], then send them with [`Pipeline::exec`].
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// let results = redis.pipeline().set("a", 1).incr("a").lpush("a", ["x"]).exec().await?;
/// assert_eq!(results.len(), 3);
/// for result in results {
///     match result {
///         Ok(value) => println!("{value:?}"),                 // Bytes("OK"), then Int(2)
///         Err(e) => println!("this command failed: {e}"),      // WRONGTYPE ...
///     }
/// }
/// # Ok(()) }
/// ```
///
/// Errors come at two levels: `exec` itself fails when the whole request failed (transport, HTTP
/// status, or a transaction discarded as a whole, e.g. `EXECABORT`), and each element is the command's
/// own result or Redis error (a command failing inside a transaction does not undo the others:
/// that is Redis's MULTI/EXEC).
#[derive(Debug)]
pub struct Pipeline {
    redis: Redis,
    kind: Batch,
    cmds: Vec<Cmd>,
    /// The `EVAL` form of each command queued with [`Pipeline::script`], to resend on `NOSCRIPT`.
    fallbacks: Vec<(usize, Cmd)>,
}

impl Pipeline {
    pub(crate) fn new(redis: Redis, kind: Batch) -> Pipeline {
        Pipeline { redis, kind, cmds: Vec::new(), fallbacks: Vec::new() }
    }

    pub(crate) fn push(&mut self, cmd: Cmd) -> &mut Self {
        self.cmds.push(cmd);
        self
    }

    /// Queues any command (the escape hatch): `["XLEN", "s"]`, `("EXPIRE", key, 10)`, or a [`Cmd`].
    pub fn command(&mut self, args: impl ToArgs) -> &mut Self {
        self.push(Cmd::from_args(args))
    }

    /// Queues a script. In a pipeline it is sent as `EVALSHA`, and any element that fails with
    /// `NOSCRIPT` is sent again as `EVAL` in a second request (so it runs after the rest of the
    /// batch). In a transaction it is sent as `EVAL`, so that the transaction never fails for a
    /// script the server has not cached.
    pub fn script(&mut self, script: &Script, keys: impl ToArgs, args: impl ToArgs) -> &mut Self {
        let keys = keys.to_args();
        let args = args.to_args();
        match self.kind {
            Batch::Transaction => self.push(script.eval_cmd(&keys, &args)),
            Batch::Pipeline => {
                self.fallbacks.push((self.cmds.len(), script.eval_cmd(&keys, &args)));
                self.push(script.evalsha_cmd(&keys, &args))
            }
        }
    }

    /// How many commands are queued.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Whether this is a transaction ([`Redis::multi`]).
    pub fn is_transaction(&self) -> bool {
        self.kind == Batch::Transaction
    }

    /// The queued commands.
    pub fn commands(&self) -> &[Cmd] {
        &self.cmds
    }

    /// Sends the batch: one result per command, in order. An empty batch sends nothing.
    /// The pipeline keeps its commands, so it can be sent again.
    pub async fn exec(&self) -> Result<Vec<Result<Value>>> {
        let mut results = self.redis.run_batch(self.cmds.clone(), self.kind).await?;
        let retry: Vec<(usize, Cmd)> = self
            .fallbacks
            .iter()
            .filter(|(i, _)| matches!(&results[*i], Err(e) if e.is_noscript()))
            .cloned()
            .collect();
        if !retry.is_empty() {
            let cmds = retry.iter().map(|(_, c)| c.clone()).collect();
            let again = self.redis.run_batch(cmds, Batch::Pipeline).await?;
            for ((i, _), r) in retry.into_iter().zip(again) {
                results[i] = r;
            }
        }
        Ok(results)
    }

    /// Sends the batch and decodes all results at once into `T` — a tuple (one element per
    /// command), a `Vec`, or `Vec<Value>` — failing with the first command error.
    ///
    /// ```no_run
    /// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
    /// let ((), n, v): ((), i64, Option<String>) =
    ///     redis.multi().set("a", 1).incr("a").get("a").exec_as().await?;
    /// # Ok(()) }
    /// ```
    pub async fn exec_as<T: DeserializeOwned>(&self) -> Result<T> {
        let values = self.exec().await?.into_iter().collect::<Result<Vec<Value>, Error>>()?;
        Value::Array(values).decode()
    }
}
