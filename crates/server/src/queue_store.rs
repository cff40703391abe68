//! The queue's storage seam over the embedded engine: [`EngineStore`] runs the queue's scripts and reads
//! as an internal, authenticated client through the same [`crate::Backend`] as REST and RESP, so they
//! go through the command table, reach the AOF like any write, and get `BUSY` while a user script runs
//! long (the queue retries). A gateway to an external Redis/Valkey would implement the same trait.

use std::sync::Arc;

use bytes::Bytes;
use larder_queue::store::{BoxFuture, QueueStore, Script, StoreError};
use larder_resp::Reply;

use crate::App;

/// How many queue calls may run (or wait for their fsync) at once.
const TURNS: usize = 8;

/// The embedded engine as the queue's store.
pub struct EngineStore {
    app: Arc<App>,
    /// The queue's calls take turns here (a fair, asynchronous wait) instead of all contending for the
    /// engine lock, whose waiters back off with sleeps: a few queue calls at a time meet the other
    /// clients. More than one, because under `--appendfsync always` a call holds its turn until its
    /// write is on disk: concurrent calls share an fsync (group commit) instead of queueing for one each.
    turns: tokio::sync::Semaphore,
}

impl EngineStore {
    pub fn new(app: Arc<App>) -> EngineStore {
        EngineStore { app, turns: tokio::sync::Semaphore::new(TURNS) }
    }

    async fn run(&self, cmds: &[Vec<Bytes>]) -> Vec<Reply> {
        let _turn = self.turns.acquire().await.ok(); // never closed
        let mut client = self.app.new_client("qstash".into(), true);
        let mut out = Vec::with_capacity(cmds.len());
        self.app.backend.execute_batch(&mut client, cmds, &mut out).await;
        out
    }
}

impl QueueStore for EngineStore {
    fn eval<'a>(
        &'a self,
        script: &'a Script,
        keys: Vec<Bytes>,
        args: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<Reply, StoreError>> {
        Box::pin(async move {
            let mut argv = script.evalsha_argv(keys, args);
            let reply = self.run(std::slice::from_ref(&argv)).await.pop().unwrap_or(Reply::Nil);
            // The cache was flushed (SCRIPT FLUSH, a restart): send the source.
            if script.fall_back_to_eval(&mut argv, &reply) {
                return Ok(self.run(std::slice::from_ref(&argv)).await.pop().unwrap_or(Reply::Nil));
            }
            Ok(reply)
        })
    }

    fn pipeline(&self, cmds: Vec<Vec<Bytes>>) -> BoxFuture<'_, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move { Ok(self.run(&cmds).await) })
    }
}
