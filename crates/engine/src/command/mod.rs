//! The command table and what every handler sees: `CommandSpec` (one row per command), `Flags`, `Ctx`.
//! The table in `table.rs` is the single source of truth for names, arity, flags and key positions; it
//! answers `COMMAND`, read-only checks, MULTI and script validation, key extraction and propagation.

pub mod args;
mod bitmaps;
mod geo;
mod hashes;
mod hyperloglog;
mod keys;
mod lists;
mod memory;
mod scripting;
mod server;
mod sets;
mod streams;
mod strings;
mod table;
pub(crate) mod transactions;
mod zsets;

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;
use larder_resp::Reply;

pub use args::Args;
pub(crate) use memory::denied_when_oom;
pub use strings::MAX_STRING;
pub use table::COMMANDS;

use crate::client::ClientState;
use crate::error::CommandError;
use crate::keyspace::Keyspace;
use crate::stats::Stats;

/// A command flag set (bit flags, as in Redis's command table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(u32);

impl Flags {
    /// May write through what it runs (EVAL, EVALSHA, FCALL): refused to read-only tokens.
    pub const MAY_REPLICATE: Flags = Flags(1 << 10);
    /// May run for long (a script, EXEC): front ends keep other work off the thread that runs it.
    pub const MAY_RUN_LONG: Flags = Flags(1 << 13);
    /// Runs at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH, QUIT).
    pub const TX: Flags = Flags(1 << 12);
    /// May run while a script is busy (SCRIPT KILL): the front ends answer it without the engine lock.
    pub const ALLOW_BUSY: Flags = Flags(1 << 11);
    /// Changes data: refused to read-only clients, propagated to the AOF.
    pub const WRITE: Flags = Flags(1);
    /// Only reads data.
    pub const READONLY: Flags = Flags(1 << 1);
    /// O(1) or O(log n).
    pub const FAST: Flags = Flags(1 << 2);
    /// May use more memory: refused under `maxmemory` with `noeviction`.
    pub const DENYOOM: Flags = Flags(1 << 3);
    /// Administrative.
    pub const ADMIN: Flags = Flags(1 << 4);
    /// Not allowed inside scripts.
    pub const NOSCRIPT: Flags = Flags(1 << 5);
    /// Allowed before authentication (AUTH, HELLO, QUIT).
    pub const NO_AUTH: Flags = Flags(1 << 6);
    /// Potentially expensive or destructive over the whole keyspace (ACL `@dangerous`): refused to
    /// read-only tokens.
    pub const DANGEROUS: Flags = Flags(1 << 7);
    /// Connection-state command (ACL `@connection`).
    pub const CONNECTION: Flags = Flags(1 << 8);
    /// Output depends on randomness or order that is not deterministic.
    pub const NONDETERMINISTIC: Flags = Flags(1 << 9);
    /// Runs the commands queued by MULTI (EXEC): the memory limit judges it by theirs.
    pub const RUNS_QUEUED: Flags = Flags(1 << 14);
    /// No flags.
    pub const NONE: Flags = Flags(0);

    /// Whether all flags of `other` are set.
    pub const fn has(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two flag sets.
    pub const fn or(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// The names `COMMAND INFO` reports.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(Flags, &str); 12] = [
            (Flags::MAY_REPLICATE, "may_replicate"),
            (Flags::ALLOW_BUSY, "allow_busy"),
            (Flags::WRITE, "write"),
            (Flags::READONLY, "readonly"),
            (Flags::DENYOOM, "denyoom"),
            (Flags::ADMIN, "admin"),
            (Flags::NOSCRIPT, "noscript"),
            (Flags::NO_AUTH, "no_auth"),
            (Flags::FAST, "fast"),
            (Flags::DANGEROUS, "dangerous"),
            (Flags::CONNECTION, "connection"),
            (Flags::NONDETERMINISTIC, "nondeterministic_output"),
        ];
        NAMES.iter().filter(|(f, _)| self.has(*f)).map(|(_, n)| *n).collect()
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.or(rhs)
    }
}

/// Where a command's keys are: `first`, `last` (negative counts from the end) and `step`, as in Redis's
/// legacy `COMMAND` triple. `first == 0` means no keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

impl KeySpec {
    /// No keys.
    pub const NONE: KeySpec = KeySpec { first: 0, last: 0, step: 0 };
    /// One key at position `i`.
    pub const fn one(i: i32) -> KeySpec {
        KeySpec { first: i, last: i, step: 1 }
    }
    /// Every argument from `i` on is a key.
    pub const fn rest(i: i32) -> KeySpec {
        KeySpec { first: i, last: -1, step: 1 }
    }
    /// Keys from `first` to `last` every `step` arguments.
    pub const fn range(first: i32, last: i32, step: i32) -> KeySpec {
        KeySpec { first, last, step }
    }

    /// The keys of `argv` by this spec.
    pub fn keys<'a>(&self, argv: &'a [Bytes]) -> Vec<&'a Bytes> {
        if self.first <= 0 || argv.len() <= self.first as usize {
            return Vec::new();
        }
        let last = if self.last < 0 {
            argv.len() as i32 + self.last
        } else {
            self.last.min(argv.len() as i32 - 1)
        };
        (self.first..=last).step_by(self.step.max(1) as usize).map(|i| &argv[i as usize]).collect()
    }
}

/// A handler: parses its arguments through `Args` and runs against `Ctx`.
pub type Handler = fn(&mut Ctx<'_>, Args<'_>) -> Result<Reply, CommandError>;

/// One row of the command table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Upper-case name.
    pub name: &'static str,
    /// Lower-case name, as Redis reports it in errors and `COMMAND`.
    pub lower: &'static str,
    /// Redis's arity: the name counts; negative means "at least".
    pub arity: i32,
    pub flags: Flags,
    pub keys: KeySpec,
    /// ACL categories reported by `COMMAND` (without the `@`).
    pub group: &'static str,
    pub handler: Handler,
}

impl CommandSpec {
    /// Whether `argc` (name included) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        if a >= 0 { argc == a as usize } else { argc >= a.unsigned_abs() as usize }
    }

    /// Whether it writes.
    pub fn is_write(&self) -> bool {
        self.flags.has(Flags::WRITE)
    }
}

/// Finds a command by name, ignoring ASCII case, without allocating.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    // foldhash rather than SipHash: the names are our own, and this runs for every command.
    static INDEX: OnceLock<
        HashMap<&'static [u8], &'static CommandSpec, foldhash::fast::FixedState>,
    > = OnceLock::new();
    let index = INDEX.get_or_init(|| COMMANDS.iter().map(|c| (c.lower.as_bytes(), c)).collect());
    if name.len() > 32 {
        return None;
    }
    let mut buf = [0u8; 32];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    index.get(&*lower).copied()
}

/// What a handler can touch: the keyspace, the time of this command, the calling client, server-wide
/// state, and the propagation override.
pub struct Ctx<'a> {
    pub(crate) db: &'a mut Keyspace,
    /// Unix time in ms, fixed for the whole command (and for a whole script or transaction).
    pub(crate) now: u64,
    pub(crate) now_us: u64,
    pub(crate) client: &'a mut ClientState,
    pub(crate) server: &'a mut ServerState,
    /// Number of changes made by this command; a write with 0 changes is not propagated.
    pub(crate) dirty: u64,
    /// When set, propagated instead of the command's argv (e.g. `SET k v EX 10` as `SET k v PXAT t`).
    pub(crate) propagate_as: Option<Vec<Vec<Bytes>>>,
}

impl Ctx<'_> {
    /// Records that the command changed `n` things.
    pub(crate) fn mark_dirty(&mut self, n: u64) {
        self.dirty += n;
    }

    /// Propagates `argv` instead of the command as received (may be called several times).
    pub(crate) fn propagate(&mut self, argv: Vec<Bytes>) {
        self.propagate_as.get_or_insert_with(Vec::new).push(argv);
    }

    /// Asks to block the client on `keys` for `timeout_ms` (0 = forever), for a blocking command that found
    /// nothing to serve. Returns false when blocking is not allowed (inside a transaction or script): the
    /// handler then answers its timeout reply at once. When it returns true, the handler still returns its
    /// timeout reply; the front end parks the client and runs the command again when a key is signalled.
    pub(crate) fn block(&mut self, keys: Vec<Bytes>, timeout_ms: u64) -> bool {
        if self.client.in_transaction {
            return false;
        }
        let deadline_ms =
            if timeout_ms == 0 { None } else { Some(self.now.saturating_add(timeout_ms)) };
        self.client.blocked = Some(crate::client::BlockedOn { keys, deadline_ms });
        true
    }

    /// [`Ctx::block`] for a command that must run as `argv` when it is retried (XREAD resolves `$` to the
    /// stream's last ID at the time it blocks).
    pub(crate) fn block_as(&mut self, keys: Vec<Bytes>, timeout_ms: u64, argv: Vec<Bytes>) -> bool {
        if !self.block(keys, timeout_ms) {
            return false;
        }
        self.client.blocked_argv = Some(argv);
        true
    }

    /// Signals that `key` may now serve a blocked client (an element was pushed or added). Cheap when nobody
    /// blocks on it.
    pub(crate) fn signal_ready(&mut self, key: &Bytes) {
        let s = &mut *self.server;
        if s.blocking_keys.contains_key(key) && !s.ready_keys.contains(key) {
            s.ready_keys.push(key.clone());
        }
    }
}

impl ServerState {
    /// Starts watching `key`; returns its current version.
    pub(crate) fn watch(&mut self, key: &Bytes) -> u64 {
        let e = self.watched.entry(key.clone()).or_insert((0, 0));
        e.1 += 1;
        e.0
    }

    /// Stops one watcher of `key`.
    pub(crate) fn unwatch(&mut self, key: &[u8]) {
        if let Some(e) = self.watched.get_mut(key) {
            e.1 -= 1;
            if e.1 == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// The version of a watched key (0 if nobody watches it).
    pub(crate) fn watch_version(&self, key: &[u8]) -> u64 {
        self.watched.get(key).map_or(0, |e| e.0)
    }

    /// Marks `keys` as changed for the clients watching them.
    pub(crate) fn touch_keys<'k>(&mut self, keys: impl IntoIterator<Item = &'k Bytes>) {
        if self.watched.is_empty() {
            return;
        }
        for k in keys {
            if let Some(e) = self.watched.get_mut(&k[..]) {
                e.0 += 1;
            }
        }
    }

    /// `MISCONF ...` while the AOF cannot write: write commands are refused, reads go on.
    #[inline]
    pub(crate) fn aof_error(&self) -> Option<CommandError> {
        let aof = self.aof.as_ref()?;
        if !aof.is_failing() {
            return None;
        }
        aof.error().map(|e| CommandError::custom(e.misconf()))
    }

    /// Marks every watched key as changed (FLUSHALL, FLUSHDB).
    pub(crate) fn touch_all(&mut self) {
        for e in self.watched.values_mut() {
            e.0 += 1;
        }
    }
}

/// Redis's arity error for a known subcommand: `ERR wrong number of arguments for 'script|load' command`.
pub(crate) fn subcommand_arity(cmd: &str, sub: &[u8]) -> CommandError {
    CommandError::WrongArity(format!("{cmd}|{}", String::from_utf8_lossy(sub).to_ascii_lowercase()))
}

/// Whether a client with a read-only token may run a command with these flags.
pub(crate) fn allowed_read_only(flags: Flags) -> bool {
    !(flags.has(Flags::WRITE) || flags.has(Flags::DANGEROUS) || flags.has(Flags::MAY_REPLICATE))
}

/// Runs one command for `redis.call` inside a script: the script's checks (no script-only commands,
/// script-style errors, no writes from read-only scripts), then the handler against the same keyspace,
/// with the command's effects propagated as part of the script's.
pub(crate) fn call_from_script(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    read_only: bool,
    control: &crate::scripting::ScriptControl,
) -> Result<Reply, CommandError> {
    let spec = lookup(&argv[0])
        .ok_or_else(|| CommandError::custom("ERR Unknown Redis command called from script"))?;
    if spec.flags.has(Flags::NOSCRIPT) {
        return Err(CommandError::custom("ERR This Redis command is not allowed from script"));
    }
    if !spec.arity_ok(argv.len()) {
        return Err(CommandError::custom(
            "ERR Wrong number of args calling Redis command from script",
        ));
    }
    if read_only && spec.is_write() {
        return Err(CommandError::custom(
            "ERR Write commands are not allowed from read-only scripts.",
        ));
    }
    if ctx.client.readonly && !allowed_read_only(spec.flags) {
        return Err(CommandError::NoPerm(spec.lower.to_string()));
    }
    // Redis's `scriptVerifyOOM`: over the limit at the script's start, a command that may grow memory is
    // refused, unless the script may (`allow-oom`) or already wrote (it cannot be stopped half-way).
    let memory = &mut ctx.server.memory;
    if memory.oom
        && spec.flags.has(Flags::DENYOOM)
        && !memory.script_allow_oom
        && !memory.script_wrote
    {
        return Err(crate::memory::oom_error());
    }
    memory.script_wrote |= spec.is_write();
    let result = run_nested(ctx, spec, argv);
    if result.is_ok() && ctx.dirty > 0 {
        control.mark_wrote();
    }
    result
}

/// Runs one command's handler inside another command (a script's `redis.call`, a transaction's EXEC)
/// against the same keyspace and time. Its changes count toward the outer command's, its effects are
/// propagated as part of the outer command's, and the keys it changed are touched for WATCH.
pub(crate) fn run_nested(
    ctx: &mut Ctx<'_>,
    spec: &'static CommandSpec,
    argv: &[Bytes],
) -> Result<Reply, CommandError> {
    if spec.is_write()
        && let Some(e) = ctx.server.aof_error()
    {
        return Err(e);
    }
    let mut sub = Ctx {
        db: &mut *ctx.db,
        now: ctx.now,
        now_us: ctx.now_us,
        client: &mut *ctx.client,
        server: &mut *ctx.server,
        dirty: 0,
        propagate_as: None,
    };
    let result = (spec.handler)(&mut sub, Args::new(argv));
    let (dirty, propagate_as) = (sub.dirty, sub.propagate_as.take());
    if dirty > 0 {
        ctx.dirty += dirty;
        ctx.server.touch_keys(spec.keys.keys(argv));
        match propagate_as {
            Some(cmds) => cmds.into_iter().for_each(|c| ctx.propagate(c)),
            None => ctx.propagate(argv.to_vec()),
        }
    }
    result
}

/// Server-wide state handlers may read or change (not the keyspace).
#[derive(Debug)]
pub struct ServerState {
    /// The Lua state and script cache; taken out while a script runs.
    pub(crate) scripting: Option<Box<crate::scripting::Scripting>>,
    /// Shared with the front ends for BUSY and SCRIPT KILL.
    pub(crate) script_control: std::sync::Arc<crate::scripting::ScriptControl>,
    pub stats: Stats,
    /// Keys some client WATCHes: their version (bumped by every change) and the number of watchers.
    pub watched: HashMap<Bytes, (u64, usize)>,
    /// Keys some client is blocked on, with the number of such clients.
    pub blocking_keys: HashMap<Bytes, usize>,
    /// Blocking keys signalled ready since the last drain.
    pub ready_keys: Vec<Bytes>,
    /// Clients blocked by a blocking command (INFO `blocked_clients`).
    pub blocked_clients: usize,
    pub rng: rand::rngs::SmallRng,
    pub info: crate::ServerInfo,
    /// The AOF, when the propagation sink is one (MISCONF, BGREWRITEAOF, INFO persistence).
    pub(crate) aof: Option<crate::aof::AofHandle>,
    /// Set by BGREWRITEAOF: the engine starts the rewrite after the current command.
    pub(crate) rewrite_requested: bool,
    /// Used memory, the eviction pool, the OOM state of the current command.
    pub(crate) memory: crate::memory::MemoryState,
}
