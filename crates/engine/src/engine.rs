//! `Engine`: the synchronous core. `execute` looks a command up in the table, checks arity, auth and
//! permissions, runs its handler against the keyspace at one instant of the injected clock, and hands
//! successful writes to the propagation sink in deterministic form.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use larder_resp::Reply;
use rand::SeedableRng;

use crate::client::ClientState;
use crate::clock::Clock;
use crate::command::{Args, CommandSpec, Ctx, Flags, ServerState, allowed_read_only, lookup};
use crate::error::{CommandError, unknown_command};
use crate::keyspace::Keyspace;
use crate::scripting::{ScriptControl, Scripting};
use crate::stats::Stats;
use crate::value::Value;

/// The Redis version larder reports to clients (`INFO`, `HELLO`): the command set it follows.
pub const REDIS_VERSION: &str = "7.4.0";

/// The passwords clients authenticate with (`AUTH`, `HELLO AUTH`).
#[derive(Clone)]
pub struct Auth {
    pub token: Vec<u8>,
    pub readonly_token: Option<Vec<u8>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth { .. }")
    }
}

impl Auth {
    /// `Some(false)` for the full token, `Some(true)` for the read-only token, `None` otherwise. Constant
    /// time in the candidate's content.
    pub fn check(&self, candidate: &[u8]) -> Option<bool> {
        let full = ct_eq(candidate, &self.token);
        let ro = self.readonly_token.as_deref().is_some_and(|t| ct_eq(candidate, t));
        if full {
            Some(false)
        } else if ro {
            Some(true)
        } else {
            None
        }
    }
}

/// Compares two byte strings in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Facts about the running server that commands report (`INFO`, `CONFIG GET`, `AUTH`).
#[derive(Debug, Clone, Default)]
pub struct ServerInfo {
    pub larder_version: String,
    pub resp_port: u16,
    pub start_ms: u64,
    pub auth: Option<Auth>,
    /// `maxmemory`, `maxmemory-policy`, `maxmemory-samples` (changed by `CONFIG SET`).
    pub memory: crate::memory::MemoryConfig,
    pub aof_enabled: bool,
    pub appendfsync: String,
    /// Shared connection counters, updated by the listeners.
    pub connections: Arc<ConnectionCounters>,
}

/// Connection counters shared with the network listeners.
#[derive(Debug, Default)]
pub struct ConnectionCounters {
    pub connected: AtomicUsize,
    pub received: AtomicU64,
}

impl ServerInfo {
    pub(crate) fn connected_clients(&self) -> usize {
        self.connections.connected.load(Ordering::Relaxed)
    }

    pub(crate) fn connections_received(&self) -> u64 {
        self.connections.received.load(Ordering::Relaxed)
    }

    /// The parameters `CONFIG GET` reports.
    pub(crate) fn config_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("appendonly", if self.aof_enabled { "yes" } else { "no" }.into()),
            ("appendfsync", self.appendfsync.clone()),
            ("databases", "1".into()),
            ("maxmemory", self.memory.maxmemory.to_string()),
            ("maxmemory-policy", self.memory.policy.name().into()),
            ("maxmemory-samples", self.memory.samples.to_string()),
            ("port", self.resp_port.to_string()),
            ("proto-max-bulk-len", crate::command::MAX_STRING.to_string()),
            ("save", String::new()),
        ]
    }
}

/// Receives every change in deterministic form (the AOF, later replicas).
pub trait Propagate: Send {
    /// One command that reproduces a change when replayed through `execute`.
    fn propagate(&mut self, argv: &[Bytes]);

    /// The AOF behind this sink, if it is one: the engine then refuses writes while the AOF cannot write
    /// (`MISCONF`), runs `BGREWRITEAOF` and automatic rewrites, and reports `INFO persistence`.
    fn aof(&self) -> Option<crate::aof::AofHandle> {
        None
    }
}

/// The engine: one keyspace and the command dispatcher.
pub struct Engine {
    db: Keyspace,
    clock: Arc<dyn Clock>,
    server: ServerState,
    sink: Option<Box<dyn Propagate>>,
    next_client_id: AtomicU64,
    /// The engine's side of an AOF rewrite whose keyspace snapshot is being serialized.
    rewrite: Option<crate::aof::rewrite::Job>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("keys", &self.db.len()).finish_non_exhaustive()
    }
}

impl Engine {
    /// A new, empty engine.
    pub fn new(clock: Arc<dyn Clock>, mut info: ServerInfo) -> Engine {
        info.start_ms = clock.now_ms();
        let script_control = Arc::new(ScriptControl::default());
        let scripting = Scripting::new(script_control.clone())
            .unwrap_or_else(|e| panic!("the embedded Lua state starts: {e}"));
        Engine {
            db: Keyspace::default(),
            clock,
            server: ServerState {
                stats: Stats::default(),
                scripting: Some(Box::new(scripting)),
                script_control,
                watched: Default::default(),
                blocking_keys: Default::default(),
                ready_keys: Vec::new(),
                blocked_clients: 0,
                rng: rand::rngs::SmallRng::from_os_rng(),
                info,
                aof: None,
                rewrite_requested: false,
                memory: Default::default(),
            },
            sink: None,
            next_client_id: AtomicU64::new(1),
            rewrite: None,
        }
    }

    /// Applies memory settings (`--maxmemory` and friends). The server calls it after loading the AOF:
    /// like Redis, loading never evicts.
    pub fn set_memory(&mut self, cfg: crate::memory::MemoryConfig) {
        crate::memory::apply(cfg, &mut self.db, &mut self.server);
    }

    /// Reads used memory from a fake gauge (engine tests share their process with other tests).
    #[cfg(test)]
    pub(crate) fn set_gauge(&mut self, gauge: crate::memory::Gauge) {
        self.server.memory.gauge = gauge;
    }

    /// Sends every future change to `sink`.
    pub fn set_propagation(&mut self, sink: Box<dyn Propagate>) {
        self.server.aof = sink.aof();
        self.sink = Some(sink);
    }

    /// Replaces the clock, returning the old one (the AOF loader replays at time 0, so nothing expires
    /// while loading, like Redis).
    pub(crate) fn replace_clock(&mut self, clock: Arc<dyn Clock>) -> Arc<dyn Clock> {
        std::mem::replace(&mut self.clock, clock)
    }

    /// One step of background AOF work, for the server's tick: starts a rewrite that `BGREWRITEAOF`
    /// asked for or that the files' growth calls for, and serializes a bounded part of the keyspace
    /// snapshot of a running one (at most `aof::rewrite::STEP_KEYS` keys). Returns true while the
    /// snapshot has more to serialize: call again soon (after letting other clients in).
    pub fn rewrite_step(&mut self) -> bool {
        use crate::aof::rewrite::{STEP_BYTES, STEP_KEYS};
        self.rewrite_step_bounded(STEP_KEYS, STEP_BYTES)
    }

    /// [`Engine::rewrite_step`] with explicit bounds (tests use tiny steps).
    pub(crate) fn rewrite_step_bounded(&mut self, max_keys: usize, max_bytes: usize) -> bool {
        if self.rewrite.is_none() {
            let due = self.server.rewrite_requested
                || self.server.aof.as_ref().is_some_and(|a| a.auto_rewrite_due());
            if !due || !self.start_rewrite() {
                return false;
            }
        }
        let Some(job) = &self.rewrite else { return false };
        if job.backlogged() {
            return true;
        }
        let complete = self.db.snapshot_step(max_keys, max_bytes);
        let out = self.db.take_snapshot_output();
        let ok = job.send(out) && (!complete || job.finish());
        if !ok || complete {
            let keys = self.db.end_snapshot();
            self.rewrite = None;
            if ok {
                tracing::debug!(keys, "AOF rewrite snapshot serialized");
            } else {
                tracing::warn!("AOF rewrite abandoned: its writer stopped");
            }
            return false;
        }
        true
    }

    /// Starts a rewrite now (between two commands, under the engine lock): the AOF switches to a new incr
    /// file and the keyspace starts its copy-on-write snapshot.
    fn start_rewrite(&mut self) -> bool {
        self.server.rewrite_requested = false;
        let Some(aof) = &self.server.aof else { return false };
        match aof.begin_rewrite() {
            Ok(job) => {
                let prelude = self
                    .server
                    .scripting
                    .as_ref()
                    .map(|s| s.libraries_as_commands())
                    .unwrap_or_default();
                self.db.begin_snapshot(prelude);
                self.rewrite = Some(job);
                true
            }
            Err(e) => {
                tracing::warn!("AOF rewrite not started: {e}");
                false
            }
        }
    }

    /// Whether an AOF rewrite snapshot is being serialized (its keyspace hook is active).
    pub fn rewrite_snapshot_active(&self) -> bool {
        self.db.snapshot_active()
    }

    /// The live keyspace in a canonical text form (sorted; values, expiry times, hash field expiry
    /// times), for tests that compare two engines.
    #[doc(hidden)]
    pub fn canonical_dump(&mut self) -> Vec<String> {
        let now = self.clock.now_ms();
        crate::aof::loader::canonical_dump(&self.db, now)
    }

    /// A new client state with a fresh id. Clients start unauthenticated when a password is configured.
    pub fn new_client(&self, addr: String) -> ClientState {
        let id = self.next_client_id.fetch_add(1, Ordering::Relaxed);
        let mut c = ClientState::new(id, addr, self.server.info.auth.is_none());
        c.created_ms = self.clock.now_ms();
        c
    }

    /// The running-script state, for `BUSY` replies and `SCRIPT KILL` without the engine lock.
    pub fn script_control(&self) -> Arc<ScriptControl> {
        self.server.script_control.clone()
    }

    /// Server facts (`INFO`).
    pub fn info(&self) -> &ServerInfo {
        &self.server.info
    }

    /// The number of changes since start. Grows with every write; REST sync tokens are built on it.
    pub fn dirty(&self) -> u64 {
        self.server.stats.dirty
    }

    /// Number of keys.
    pub fn dbsize(&self) -> usize {
        self.db.len()
    }

    /// Runs one command for `client`.
    pub fn execute(&mut self, client: &mut ClientState, argv: &[Bytes]) -> Reply {
        let now_us = self.clock.now_us();
        let reply = match self.dispatch(client, argv, now_us) {
            Ok(r) => r,
            Err(e) => {
                self.server.stats.error_replies += 1;
                Reply::Error(e.to_string().into())
            }
        };
        // BGREWRITEAOF starts its rewrite between two commands, after its transaction propagated.
        if self.server.rewrite_requested && client.multi.is_none() {
            self.start_rewrite();
        }
        reply
    }

    /// Runs `cmds` as one transaction (REST `/multi-exec`): every command is checked first, and if any is
    /// refused (unknown, wrong arity, not permitted, or a transaction command itself) none runs and the
    /// result is `EXECABORT`. Otherwise they run exactly as `MULTI`, the commands, `EXEC` would.
    pub fn execute_transaction(
        &mut self,
        client: &mut ClientState,
        cmds: &[Vec<Bytes>],
    ) -> Result<Vec<Reply>, CommandError> {
        for argv in cmds {
            match self.check(client, argv) {
                Ok(spec) if !spec.flags.has(Flags::TX) => {}
                _ => return Err(CommandError::ExecAbort),
            }
        }
        let word = |w: &'static [u8]| vec![Bytes::from_static(w)];
        self.execute(client, &word(b"MULTI"));
        for argv in cmds {
            self.execute(client, argv);
        }
        match self.execute(client, &word(b"EXEC")) {
            Reply::Array(replies) => Ok(replies),
            Reply::Error(e) => Err(CommandError::custom(e)),
            _ => Err(CommandError::ExecAbort),
        }
    }

    /// Forgets a client's transaction state and WATCHes (the connection closed).
    pub fn disconnect(&mut self, client: &mut ClientState) {
        client.multi = None;
        self.disconnect_watches(client);
    }

    /// Forgets a client's WATCHes.
    fn disconnect_watches(&mut self, client: &mut ClientState) {
        for (k, _) in std::mem::take(&mut client.watched) {
            self.server.unwatch(&k);
        }
    }

    /// Registers a blocked client's keys, so pushes to them are signalled (see [`Engine::drain_ready_keys`]).
    /// Called once per blocked client, with its keys without duplicates.
    pub fn register_blocked(&mut self, keys: &[Bytes]) {
        self.server.blocked_clients += 1;
        for k in keys {
            *self.server.blocking_keys.entry(k.clone()).or_insert(0) += 1;
        }
    }

    /// Undoes [`Engine::register_blocked`] when a client is served, times out or disconnects.
    pub fn unregister_blocked(&mut self, keys: &[Bytes]) {
        self.server.blocked_clients = self.server.blocked_clients.saturating_sub(1);
        for k in keys {
            if let Some(n) = self.server.blocking_keys.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    self.server.blocking_keys.remove(k);
                }
            }
        }
    }

    /// Keys signalled ready since the last call, in signal order: the front end re-runs the commands of the
    /// clients blocked on them, first blocked first served.
    pub fn drain_ready_keys(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.server.ready_keys)
    }

    /// Whether a client blocked by `argv` may be served from `key` now: the key holds a value of the type
    /// the command works on (its table row's group). Like Redis's `handleClientsBlockedOnKey`, a client
    /// blocked by BLPOP stays blocked when the key it waits on becomes a sorted set, and nobody is served
    /// from a key that is gone again (an earlier client took its last element).
    pub fn can_serve_blocked(&mut self, key: &[u8], argv: &[Bytes]) -> bool {
        let Some(spec) = argv.first().and_then(|name| lookup(name)) else { return false };
        let now = self.clock.now_ms();
        let group = self.db.get(key, now).map(|e| match e.value {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "sortedset",
            Value::Stream(_) => "stream",
        });
        self.propagate_expired();
        group == Some(spec.group)
    }

    /// The engine clock's time in Unix ms: the time base of [`crate::BlockedOn::deadline_ms`].
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The checks before a command runs: it exists, the client may run it, the arity fits.
    fn check(
        &mut self,
        client: &ClientState,
        argv: &[Bytes],
    ) -> Result<&'static CommandSpec, CommandError> {
        let Some(name) = argv.first() else {
            return Err(CommandError::custom("ERR empty command"));
        };
        let Some(spec) = lookup(name) else {
            self.server.stats.rejected_calls += 1;
            return Err(unknown_command(argv));
        };
        if !client.authenticated && !spec.flags.has(Flags::NO_AUTH) {
            self.server.stats.rejected_calls += 1;
            return Err(CommandError::NoAuth);
        }
        if !spec.arity_ok(argv.len()) {
            self.server.stats.rejected_calls += 1;
            return Err(CommandError::WrongArity(spec.lower.to_string()));
        }
        if client.readonly && !allowed_read_only(spec.flags) {
            self.server.stats.rejected_calls += 1;
            return Err(CommandError::NoPerm(spec.lower.to_string()));
        }
        if spec.is_write()
            && let Some(e) = self.server.aof_error()
        {
            self.server.stats.rejected_calls += 1;
            return Err(e);
        }
        Ok(spec)
    }

    fn dispatch(
        &mut self,
        client: &mut ClientState,
        argv: &[Bytes],
        now_us: u64,
    ) -> Result<Reply, CommandError> {
        let spec = match self.check(client, argv) {
            Ok(spec) => spec,
            Err(e) => {
                if client.multi.is_some() {
                    client.multi_error = true;
                }
                return Err(e);
            }
        };
        if self.server.info.memory.maxmemory > 0 {
            self.check_memory(client, spec, argv, now_us / 1000)?;
        } else {
            self.server.memory.oom = false;
        }
        if let Some(queue) = &mut client.multi
            && !spec.flags.has(Flags::TX)
        {
            queue.push(argv.to_vec());
            return Ok(Reply::simple("QUEUED"));
        }
        client.last_command = spec.lower;
        self.server.stats.commands_processed += 1;
        let mut ctx = Ctx {
            db: &mut self.db,
            now: now_us / 1000,
            now_us,
            client,
            server: &mut self.server,
            dirty: 0,
            propagate_as: None,
        };
        let result = (spec.handler)(&mut ctx, Args::new(argv));
        let (dirty, propagate_as) = (ctx.dirty, ctx.propagate_as.take());
        self.propagate_expired();
        // Like Redis, whatever changed is propagated, even by a command that then failed (a script that
        // wrote and then raised an error keeps its writes).
        if dirty > 0 {
            self.server.stats.dirty += dirty;
            self.server.touch_keys(spec.keys.keys(argv));
            if let Some(sink) = &mut self.sink {
                match propagate_as {
                    // Several effects of one command (a script) replay atomically.
                    Some(cmds) if cmds.len() > 1 => {
                        sink.propagate(&[Bytes::from_static(b"MULTI")]);
                        cmds.iter().for_each(|c| sink.propagate(c));
                        sink.propagate(&[Bytes::from_static(b"EXEC")]);
                    }
                    Some(cmds) => cmds.iter().for_each(|c| sink.propagate(c)),
                    None => sink.propagate(argv),
                }
            }
        }
        result
    }

    /// The memory limit before a command, like Redis's `processCommand`: evicts keys while used memory is
    /// over `maxmemory`, and when nothing more can be evicted refuses a command that may grow memory with
    /// `OOM` (inside MULTI it also flags the transaction; an EXEC of such commands aborts it). Under the
    /// limit it costs a relaxed atomic load and a comparison.
    #[inline]
    fn check_memory(
        &mut self,
        client: &mut ClientState,
        spec: &'static CommandSpec,
        argv: &[Bytes],
        now: u64,
    ) -> Result<(), CommandError> {
        let memory = &mut self.server.memory;
        match memory.used(&self.db) {
            Some(used) if used > self.server.info.memory.maxmemory => {
                self.over_memory_limit(client, spec, argv, now)
            }
            _ => {
                memory.oom = false;
                Ok(())
            }
        }
    }

    /// [`Engine::check_memory`] over the limit: evictions, then the OOM verdict.
    #[cold]
    fn over_memory_limit(
        &mut self,
        client: &mut ClientState,
        spec: &'static CommandSpec,
        argv: &[Bytes],
        now: u64,
    ) -> Result<(), CommandError> {
        let cfg = self.server.info.memory;
        // Like Redis, the AOF's bytes still in memory (buffered, or written and kept until fsynced) do
        // not count: evicting keys cannot free them, the flusher does. Their buffers grow by doubling, so
        // they may hold up to twice the pending bytes.
        let aof = self.server.aof.as_ref();
        let not_counted =
            aof.map_or(0, |a| 2 * a.appended_offset().saturating_sub(a.durable_offset()));
        let memory = &mut self.server.memory;
        let gauge = memory.gauge;
        let out = crate::evict::perform(
            &mut self.db,
            &mut memory.pool,
            &cfg,
            now,
            &mut self.server.rng,
            |db| gauge.used(db).unwrap_or(0).saturating_sub(not_counted),
        );
        memory.oom = out.oom;
        if out.evicted > 0 {
            self.server.stats.evicted_keys += out.evicted;
            self.propagate_expired();
        }
        if !out.oom || !crate::command::denied_when_oom(spec, argv, client, &self.server) {
            return Ok(());
        }
        self.server.stats.rejected_calls += 1;
        if client.multi.is_some() {
            if spec.flags.has(Flags::RUNS_QUEUED) {
                // Redis's `execCommandAbort`: the transaction is discarded.
                client.multi = None;
                client.multi_error = false;
                self.disconnect_watches(client);
                return Err(CommandError::custom(format!(
                    "EXECABORT Transaction discarded because of: {}",
                    crate::memory::OOM_ERROR
                )));
            }
            client.multi_error = true;
        }
        Err(crate::memory::oom_error())
    }

    /// Propagates the `HDEL`s of hash fields and the `DEL`s of keys that expiry removed.
    fn propagate_expired(&mut self) {
        if !self.db.has_expired() {
            return;
        }
        let fields = self.db.drain_expired_fields();
        let keys = self.db.drain_expired();
        self.server.stats.dirty +=
            keys.len() as u64 + fields.iter().map(|(_, f)| f.len() as u64).sum::<u64>();
        self.server.touch_keys(&keys);
        self.server.touch_keys(fields.iter().map(|(k, _)| k));
        if let Some(sink) = &mut self.sink {
            for (k, f) in fields {
                let mut argv = Vec::with_capacity(f.len() + 2);
                argv.push(Bytes::from_static(b"HDEL"));
                argv.push(k);
                argv.extend(f);
                sink.propagate(&argv);
            }
            for k in keys {
                sink.propagate(&[Bytes::from_static(b"DEL"), k]);
            }
        }
    }

    /// One cycle of active expiry, like Redis's: sample volatile keys, delete the expired ones, and repeat
    /// while more than a quarter of a sample was expired, up to `max_rounds`. Returns the keys deleted.
    pub fn active_expire(&mut self, max_rounds: usize) -> usize {
        let now = self.clock.now_ms();
        self.server.memory.used(&self.db); // keeps used_memory_peak current
        self.db.rehash_step();
        let mut total = 0;
        for _ in 0..max_rounds {
            let (sampled, deleted) = self.db.expire_sample(20, now, &mut self.server.rng);
            total += deleted;
            if sampled == 0 || deleted * 4 <= sampled {
                break;
            }
        }
        self.propagate_expired();
        total
    }
}
