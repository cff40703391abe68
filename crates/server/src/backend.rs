//! The storage seam. Front ends (REST, RESP) never touch the engine directly: they hand `argv` batches to a
//! [`Backend`]. Today the only backend is the embedded engine; a gateway over an external Redis or Valkey
//! is another variant of this enum, not a rewrite of the front ends.
//!
//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...) are parked here. A command that finds nothing flags its
//! client as blocked ([`larder_engine::BlockedOn`]); the backend, still under the engine lock, parks it as a
//! *waiter* (its argv, a copy of the client state, its timeout reply and a oneshot sender) in a FIFO per key
//! and hands the front end a [`BlockedCommand`] to await. After every command that may have pushed to a
//! key, the backend drains the engine's ready keys and, still under the lock, runs the commands of the
//! waiters on each ready key again, first blocked first served (Redis's `handleClientsBlockedOnKeys`): one
//! that now succeeds gets its reply through its channel and leaves every queue; one that blocks again keeps
//! its place. Serving a waiter may make another key ready (BLMOVE), so this repeats until no key is ready.
//! A waiter is removed exactly once, under the lock: served, timed out, or dropped (disconnect, shutdown),
//! so it never gets two replies and a popped element is never handed to two clients.

use std::collections::{BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use larder_engine::aof::{Durability, FsyncPolicy};
use larder_engine::scripting::ScriptControl;
use larder_engine::{
    BlockedOn, ClientState, Clock, CommandError, Engine, Flags, SystemClock, lookup,
};
use larder_resp::Reply;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where commands run.
#[derive(Clone)]
pub enum Backend {
    /// The in-process engine behind one lock: each batch runs under a single acquisition.
    Embedded(Arc<Embedded>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Embedded(_) => f.write_str("Backend::Embedded"),
        }
    }
}

/// The embedded engine with the clients blocked on its keys, behind one lock, and the server's shutdown
/// signal (a shutdown answers every blocked command with its timeout reply).
pub struct Embedded {
    core: Mutex<Core>,
    shutdown: CancellationToken,
    /// The running script's state, readable without the lock (which a running script holds).
    script: Arc<ScriptControl>,
    /// The AOF when its policy is `always`: a reply is sent only once its writes are on disk.
    always: Option<Durability>,
}

/// What a batch gets instead of the engine lock while a script is busy: one reply per command.
type BusyReplies = Vec<Reply>;

impl Embedded {
    /// Takes the engine lock. While a script runs past the busy threshold, gives up and answers each
    /// command with `BUSY` (or runs SCRIPT KILL) instead. Waits never block a runtime thread for long:
    /// after a short blocking attempt (normal contention lasts microseconds) it sleeps asynchronously.
    async fn lock(&self, cmds: &[Vec<Bytes>]) -> Result<MutexGuard<'_, Core>, BusyReplies> {
        loop {
            if let Some(core) = self.core.try_lock_for(Duration::from_micros(500)) {
                return Ok(core);
            }
            if self.script.is_busy(SystemClock.now_ms()) {
                return Err(cmds.iter().map(|argv| self.script.busy_reply(argv)).collect());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Embedded")
    }
}

/// What the lock protects.
struct Core {
    engine: Engine,
    waiters: Waiters,
}

/// The blocked clients.
#[derive(Default)]
struct Waiters {
    next_id: u64,
    by_id: HashMap<u64, Waiter>,
    /// Per key, the ids of the waiters blocked on it. Ids grow, so the set's order is blocking order
    /// (FIFO), and removing a waiter that timed out is O(log n).
    by_key: HashMap<Bytes, BTreeSet<u64>>,
}

/// A parked blocking command.
struct Waiter {
    argv: Vec<Bytes>,
    client: ClientState,
    /// Its keys, without duplicates.
    keys: Vec<Bytes>,
    /// What it answers if it times out (the reply of the run that blocked).
    timeout_reply: Reply,
    tx: oneshot::Sender<Reply>,
}

/// The end of [`Backend::run_batch`].
#[derive(Debug)]
pub struct Batch {
    /// The engine's change counter after the batch.
    pub dirty: u64,
    /// The command the batch stopped at because it blocked; its reply comes from
    /// [`BlockedCommand::wait`].
    pub blocked: Option<BlockedCommand>,
}

impl Backend {
    /// The embedded engine. `shutdown` answers every blocked command with its timeout reply.
    pub fn embedded(engine: Engine, shutdown: CancellationToken) -> Backend {
        Backend::embedded_with_aof(engine, shutdown, None)
    }

    /// The embedded engine writing the AOF behind `aof` (already its propagation sink). Under
    /// `--appendfsync always`, replies wait until their writes are durable.
    pub fn embedded_with_aof(
        engine: Engine,
        shutdown: CancellationToken,
        aof: Option<Durability>,
    ) -> Backend {
        let script = engine.script_control();
        let always = aof.filter(|a| a.policy() == FsyncPolicy::Always);
        Backend::Embedded(Arc::new(Embedded {
            core: Mutex::new(Core { engine, waiters: Waiters::default() }),
            shutdown,
            script,
            always,
        }))
    }

    /// A new client session.
    pub fn new_client(&self, addr: String) -> ClientState {
        match self {
            Backend::Embedded(e) => e.core.lock().engine.new_client(addr),
        }
    }

    /// The engine's change counter.
    pub fn dirty(&self) -> u64 {
        match self {
            Backend::Embedded(e) => e.core.lock().engine.dirty(),
        }
    }

    /// Runs `cmds` in order for `client`, non-atomically (other clients may interleave between batches,
    /// though the embedded engine runs a whole batch under one lock). Stops right after a command that
    /// closes the connection (`QUIT`) or changes its protocol or authentication (`HELLO`, `AUTH`), so the
    /// caller can encode each reply in the right protocol, and at a command that blocks, whose reply the
    /// caller awaits with [`BlockedCommand::wait`] before running anything else for this client. Appends
    /// one reply per command run (the blocked one excepted) to `out`.
    pub async fn run_batch(
        &self,
        client: &mut ClientState,
        cmds: &[Vec<Bytes>],
        out: &mut Vec<Reply>,
    ) -> Batch {
        match self {
            Backend::Embedded(e) => {
                let (proto, authed) = (client.protocol, client.authenticated);
                // A script may run for long on this runtime thread. Tokio cannot move the task in this
                // thread's "next task" slot to another thread, so yield once first: that task runs now,
                // and nothing (SCRIPT KILL included) is stranded behind the script. (block_in_place would
                // also work but costs a thread handoff, several microseconds, on every EVALSHA.)
                if may_run_long(cmds) {
                    tokio::task::yield_now().await;
                }
                let first = out.len();
                let (dirty, blocked, wrote) = {
                    let mut core = match e.lock(cmds).await {
                        Ok(core) => core,
                        Err(busy) => {
                            out.extend(busy);
                            return Batch { dirty: 0, blocked: None };
                        }
                    };
                    let mut blocked = None;
                    let mut wrote = Durable::new(e);
                    for argv in cmds {
                        let before = wrote.offset();
                        let reply = guarded(|| core.engine.execute(client, argv))
                            .unwrap_or_else(internal_error);
                        wrote.note(before, argv);
                        // Like Redis, serve the clients a command unblocked before the next command runs.
                        core.serve_ready();
                        if let Some(on) = client.blocked.take() {
                            let again = client.blocked_argv.take();
                            let argv = again.as_deref().unwrap_or(argv);
                            blocked = Some(core.park(e, client, argv, on, reply));
                            break;
                        }
                        out.push(reply);
                        if client.close_after_reply
                            || client.protocol != proto
                            || client.authenticated != authed
                        {
                            break;
                        }
                    }
                    (core.engine.dirty(), blocked, wrote)
                };
                wrote.wait(&mut out[first..]).await;
                Batch { dirty, blocked }
            }
        }
    }

    /// [`Backend::run_batch`] for front ends that answer a batch at once (REST): a command that blocks is
    /// waited for here, then the rest of the batch runs. Returns the change counter after the batch.
    pub async fn execute_batch(
        &self,
        client: &mut ClientState,
        cmds: &[Vec<Bytes>],
        out: &mut Vec<Reply>,
    ) -> u64 {
        let mut done = 0;
        loop {
            let before = out.len();
            let batch = self.run_batch(client, &cmds[done..], out).await;
            done += out.len() - before;
            let Some(blocked) = batch.blocked else { return batch.dirty };
            out.push(blocked.wait().await);
            done += 1;
            if done == cmds.len() {
                return self.dirty();
            }
        }
    }

    /// Runs `cmds` atomically, as `MULTI`/`EXEC`: if any command is refused before running (unknown,
    /// wrong arity, not permitted) nothing runs and the result is `EXECABORT`. Blocking commands do not
    /// block in a transaction: they answer their timeout reply at once.
    pub async fn execute_atomic(
        &self,
        client: &mut ClientState,
        cmds: &[Vec<Bytes>],
    ) -> (Result<Vec<Reply>, CommandError>, u64) {
        match self {
            Backend::Embedded(e) => {
                tokio::task::yield_now().await;
                let (mut r, dirty, wrote) = {
                    let mut core = match e.lock(cmds).await {
                        Ok(core) => core,
                        Err(busy) => return (Ok(busy), 0),
                    };
                    let mut wrote = Durable::new(e);
                    let before = wrote.offset();
                    let r = guarded(|| core.engine.execute_transaction(client, cmds));
                    let r = r.unwrap_or_else(|| {
                        Err(CommandError::custom(
                            "ERR internal error while running the transaction",
                        ))
                    });
                    wrote.note(before, &[]);
                    core.serve_ready();
                    (r, core.engine.dirty(), wrote)
                };
                let mut done = [Reply::OK];
                wrote.wait(&mut done).await;
                if let Reply::Error(e) = &done[0] {
                    r = Err(CommandError::custom(e.to_string()));
                }
                (r, dirty)
            }
        }
    }

    /// One step of AOF work: starts a requested or automatic rewrite, serializes a bounded part of a
    /// running one. True while the rewrite's snapshot has more to do (call again after a short pause).
    /// Blocks for the engine lock: call it from a blocking thread, not a runtime thread.
    pub fn rewrite_step(&self) -> bool {
        match self {
            Backend::Embedded(e) => e.core.lock().engine.rewrite_step(),
        }
    }

    /// One round of background work (active expiry).
    pub fn tick(&self) {
        match self {
            Backend::Embedded(e) => {
                // Skipped while a script holds the engine: a runtime thread must not wait for it.
                if let Some(mut core) = e.core.try_lock_for(Duration::from_millis(1)) {
                    core.engine.active_expire(16);
                }
            }
        }
    }
}

impl Core {
    /// Parks `client`'s blocked command `argv`.
    fn park(
        &mut self,
        embedded: &Arc<Embedded>,
        client: &ClientState,
        argv: &[Bytes],
        on: BlockedOn,
        timeout_reply: Reply,
    ) -> BlockedCommand {
        // The deadline is in the engine clock's ms; the wait runs on tokio's clock. A deadline too far away
        // for an `Instant` waits forever.
        let deadline = on.deadline_ms.and_then(|at| {
            Instant::now()
                .checked_add(Duration::from_millis(at.saturating_sub(self.engine.now_ms())))
        });
        let mut keys = on.keys;
        keys.sort_unstable();
        keys.dedup();
        self.engine.register_blocked(&keys);
        let (tx, rx) = oneshot::channel();
        let w = &mut self.waiters;
        let id = w.next_id;
        w.next_id += 1;
        for k in &keys {
            w.by_key.entry(k.clone()).or_default().insert(id);
        }
        // Copies, so a long wait never pins a request buffer.
        let argv = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut client = client.clone();
        client.blocked = None;
        w.by_id.insert(id, Waiter { argv, client, keys, timeout_reply, tx });
        BlockedCommand { embedded: embedded.clone(), id, rx: Some(rx), deadline, finished: false }
    }

    /// Removes a waiter from every queue.
    fn unpark(&mut self, id: u64) -> Option<Waiter> {
        let w = self.waiters.by_id.remove(&id)?;
        for k in &w.keys {
            if let Some(q) = self.waiters.by_key.get_mut(k) {
                q.remove(&id);
                if q.is_empty() {
                    self.waiters.by_key.remove(k);
                }
            }
        }
        self.engine.unregister_blocked(&w.keys);
        Some(w)
    }

    /// Serves the waiters on every key the engine signalled ready, in blocking order per key, until no key
    /// is ready (serving a BLMOVE pushes to, and so may ready, another key).
    fn serve_ready(&mut self) {
        loop {
            let ready = self.engine.drain_ready_keys();
            if ready.is_empty() {
                return;
            }
            for key in ready {
                // The waiters at the time the key was signalled: one that blocks again is not retried
                // until the key is signalled again.
                let Some(queue) = self.waiters.by_key.get(&key) else { continue };
                let ids: Vec<u64> = queue.iter().copied().collect();
                for id in ids {
                    self.serve(&key, id);
                }
            }
        }
    }

    /// Runs waiter `id`'s command again because `key` is ready; answers it unless it blocks again.
    fn serve(&mut self, key: &Bytes, id: u64) {
        let Core { engine, waiters } = self;
        // Gone: served through another of its keys in this round.
        let Some(w) = waiters.by_id.get_mut(&id) else { return };
        if w.tx.is_closed() {
            // Its connection went away and is removing it: never pop an element for nobody.
            self.unpark(id);
            return;
        }
        if !engine.can_serve_blocked(key, &w.argv) {
            return;
        }
        let reply =
            guarded(|| engine.execute(&mut w.client, &w.argv)).unwrap_or_else(internal_error);
        w.client.blocked_argv = None;
        if w.client.blocked.take().is_some() {
            // Still nothing for it (another key of its command was checked first, or it was a BLMOVE whose
            // destination is a different type): it keeps its place and its original deadline.
            return;
        }
        if let Some(w) = self.unpark(id) {
            // The send fails only if the connection dropped its receiver in the instant since the check
            // above: like a Redis client that disconnects as it is served, that reply is lost with it.
            let _ = w.tx.send(reply);
        }
    }
}

/// A command parked until it is served, its timeout passes, or the server shuts down. Dropping it (the
/// connection went away) removes the waiter.
#[derive(Debug)]
pub struct BlockedCommand {
    embedded: Arc<Embedded>,
    id: u64,
    rx: Option<oneshot::Receiver<Reply>>,
    deadline: Option<Instant>,
    finished: bool,
}

impl BlockedCommand {
    /// The command's reply: its result once served, or its timeout reply (nil) when the deadline passes or
    /// the server shuts down.
    pub async fn wait(mut self) -> Reply {
        let embedded = self.embedded.clone();
        let deadline = self.deadline;
        let rx = self.rx.as_mut().expect("the receiver lives until the command finishes");
        let served = tokio::select! {
            r = rx => r.ok(),
            () = sleep_until(deadline) => None,
            () = embedded.shutdown.cancelled() => None,
        };
        let was_served = served.is_some();
        let mut reply = match served {
            Some(r) => r,
            None => self.give_up(),
        };
        self.finished = true;
        // Serving it wrote (a pop): under `always`, answer once that is on disk.
        if let Some(aof) = embedded.always.as_ref().filter(|_| was_served) {
            let mut wrote = Durable::new(&embedded);
            wrote.offset = aof.appended_offset();
            wrote.wrote = vec![0];
            wrote.wait(std::slice::from_mut(&mut reply)).await;
        }
        reply
    }

    /// Removes the waiter under the lock and answers its timeout reply, unless it was served meanwhile.
    fn give_up(&mut self) -> Reply {
        let mut core = self.embedded.core.lock();
        if let Some(w) = core.unpark(self.id) {
            return w.timeout_reply;
        }
        // Served between the wake-up and the lock: the reply is in the channel.
        self.rx.as_mut().and_then(|rx| rx.try_recv().ok()).unwrap_or_else(internal_error)
    }
}

impl Drop for BlockedCommand {
    fn drop(&mut self) {
        if !self.finished {
            // Close the channel first, so a server that is serving keys right now skips this waiter.
            drop(self.rx.take());
            self.embedded.core.lock().unpark(self.id);
        }
    }
}

/// Under `--appendfsync always`: which replies of a batch belong to commands that wrote, and the AOF offset
/// their writes end at. After the batch, outside the engine lock, [`Durable::wait`] awaits the flusher
/// (a runtime-agnostic future: no runtime thread blocks) and replaces those replies with the `MISCONF`
/// error if the writes could not be made durable.
struct Durable<'a> {
    aof: Option<&'a Durability>,
    /// The appended offset after the last command that wrote.
    offset: u64,
    /// Indexes (into the batch's replies) of commands that wrote.
    wrote: Vec<usize>,
    seen: usize,
}

impl<'a> Durable<'a> {
    fn new(e: &'a Embedded) -> Durable<'a> {
        Durable { aof: e.always.as_ref(), offset: 0, wrote: Vec::new(), seen: 0 }
    }

    /// The appended offset now (0 without `always`).
    fn offset(&self) -> u64 {
        self.aof.map_or(0, |a| a.appended_offset())
    }

    /// After a command ran: if it appended to the AOF, its reply waits. Read-only commands (whose only
    /// write was a lazy expiry) keep their reply.
    fn note(&mut self, before: u64, argv: &[Bytes]) {
        let i = self.seen;
        self.seen += 1;
        let Some(aof) = self.aof else { return };
        let after = aof.appended_offset();
        if after > before {
            self.offset = after;
            let read_only = argv
                .first()
                .and_then(|n| larder_engine::lookup(n))
                .is_some_and(|s| s.flags.has(larder_engine::Flags::READONLY));
            if !read_only {
                self.wrote.push(i);
            }
        }
    }

    /// Waits until the batch's writes are durable; on failure their replies become the error.
    async fn wait(self, replies: &mut [Reply]) {
        let Some(aof) = self.aof else { return };
        if self.offset == 0 {
            return;
        }
        if let Err(e) = aof.durable(self.offset).await {
            let msg = e.misconf();
            tracing::warn!("a reply waited for the AOF and it failed: {msg}");
            for &i in &self.wrote {
                if let Some(r) = replies.get_mut(i)
                    && !matches!(r, Reply::Error(_))
                {
                    *r = Reply::Error(msg.clone().into());
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Whether a batch holds a command that may run for long (a script, a transaction).
fn may_run_long(cmds: &[Vec<Bytes>]) -> bool {
    cmds.iter().any(|argv| {
        argv.first().and_then(|n| lookup(n)).is_some_and(|s| s.flags.has(Flags::MAY_RUN_LONG))
    })
}

/// Runs `f`, catching a panic so one bad command never takes a connection or the process down.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(_) => {
            tracing::error!("a command panicked; replied with an error");
            None
        }
    }
}

fn internal_error() -> Reply {
    Reply::Error("ERR internal error while running the command".into())
}
