//! Lua scripting: one embedded Lua 5.1 state (mlua, built from source), a sandbox shaped like Redis 7's,
//! the script cache, and running a script atomically against the keyspace.
//!
//! A script runs inside the `EVAL` handler while the engine is locked, so nothing else runs in between.
//! `redis.call` re-enters the command table through [`crate::command::call_from_script`] with the same
//! `Ctx`; its writes are propagated as their own effects (Redis 7's effects replication). A runaway script
//! is stopped by `SCRIPT KILL` through [`ScriptControl`], which the front ends reach without the engine
//! lock; after the busy threshold they answer other clients with `BUSY`.

mod convert;
pub mod libs;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use larder_resp::Reply;
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use crate::command::{Ctx, call_from_script};
use crate::error::CommandError;

/// The most memory the Lua state may allocate.
pub const LUA_MEMORY_LIMIT: usize = 1 << 30;

/// How long a script may run before other clients get `BUSY` (Redis's `busy-reply-threshold`).
pub const BUSY_THRESHOLD_MS: u64 = 5000;

/// The state of the running script, shared with the front ends so they can answer `BUSY` and run
/// `SCRIPT KILL` without taking the engine lock.
#[derive(Debug)]
pub struct ScriptControl {
    running: AtomicBool,
    started_ms: AtomicU64,
    kill: AtomicBool,
    wrote: AtomicBool,
    busy_threshold_ms: AtomicU64,
}

impl Default for ScriptControl {
    fn default() -> ScriptControl {
        ScriptControl {
            running: AtomicBool::new(false),
            started_ms: AtomicU64::new(0),
            kill: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            busy_threshold_ms: AtomicU64::new(BUSY_THRESHOLD_MS),
        }
    }
}

impl ScriptControl {
    /// Sets how long a script may run before other clients get `BUSY` (`--busy-reply-threshold`).
    pub fn set_busy_threshold(&self, ms: u64) {
        self.busy_threshold_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether a script has been running for longer than the busy threshold at `now_ms`.
    pub fn is_busy(&self, now_ms: u64) -> bool {
        self.running.load(Ordering::Acquire)
            && now_ms.saturating_sub(self.started_ms.load(Ordering::Acquire))
                >= self.busy_threshold_ms.load(Ordering::Relaxed)
    }

    /// The reply to a command that arrives while a script is busy: `SCRIPT KILL` and `FUNCTION KILL` stop
    /// the script (unless it wrote); everything else gets Redis's `BUSY` error. This is the one place outside
    /// the command table that recognises command names: it must work without the engine lock, which the
    /// running script holds.
    pub fn busy_reply(&self, argv: &[Bytes]) -> Reply {
        let is =
            |i: usize, w: &str| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
        if argv.len() == 2 && (is(0, "SCRIPT") || is(0, "FUNCTION")) && is(1, "KILL") {
            return self.kill();
        }
        Reply::Error(
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.".into(),
        )
    }

    /// Whether a script is running at all.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// `SCRIPT KILL`: stops the running script unless it already wrote.
    pub fn kill(&self) -> Reply {
        if !self.running.load(Ordering::Acquire) {
            return Reply::Error("NOTBUSY No scripts in execution right now.".into());
        }
        if self.wrote.load(Ordering::Acquire) {
            return Reply::Error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.".into());
        }
        self.kill.store(true, Ordering::Release);
        Reply::OK
    }

    pub(crate) fn mark_wrote(&self) {
        self.wrote.store(true, Ordering::Release);
    }
}

/// Flags from a script's `#!lua flags=...` first line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ScriptFlags {
    /// The script has a shebang line (scripts without one keep Redis's legacy permissive behaviour).
    pub shebang: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
}

/// A cached script; its compiled function lives in the Lua table `Scripting::compiled` under its SHA1
/// (mlua can hold only a few thousand Rust handles to Lua values at once, and the cache is unbounded).
struct Script {
    flags: ScriptFlags,
}

/// A library loaded with `FUNCTION LOAD`.
struct Library {
    name: String,
    code: Bytes,
    functions: Vec<LibFunction>,
}

/// One registered function; its callback lives in the Lua table `Scripting::callbacks` under its name.
struct LibFunction {
    name: String,
    description: Option<String>,
    /// Flag names as given (`no-writes`, ...).
    flags: Vec<String>,
}

impl LibFunction {
    fn no_writes(&self) -> bool {
        self.flags.iter().any(|f| f == "no-writes")
    }
}

/// The Lua state and the script cache.
pub(crate) struct Scripting {
    lua: Lua,
    /// Hidden helpers of the sandbox (`hidden.register` and `hidden.loading` during `FUNCTION LOAD`).
    hidden: Table,
    /// The sandbox's global environment (a read-only proxy of the real globals).
    env: Table,
    /// The environment of function libraries (see the sandbox's `fenv`).
    fenv: Table,
    /// `runner(f, call, script, keys, args)`: runs `f` under `xpcall` with a handler that records the error
    /// line, with `redis.call` (`call`), `redis.pcall` (derived from it) and `KEYS`/`ARGV` (`script`) or
    /// `f`'s parameters set for the run; `runner(f)` just runs `f` (`FUNCTION LOAD`).
    runner: Function,
    scripts: HashMap<String, Script, foldhash::fast::RandomState>,
    /// SHA1 → compiled script function.
    compiled: Table,
    /// Function name → callback of every loaded library function.
    callbacks: Table,
    /// Function libraries in load order.
    libraries: Vec<Library>,
    control: Arc<ScriptControl>,
    resp3: Arc<AtomicBool>,
    /// The most memory Lua may allocate while Lua code runs (compiling, scripts, libraries). Rust-side work
    /// on the state (building `KEYS`/`ARGV`, converting `redis.call` replies, reading results) runs with the
    /// limit lifted: with a limit, mlua wraps every API call in a protected call (a new C closure each
    /// time), which was a third of a short script's cost; what Rust adds is bounded by replies it already
    /// holds. Redis itself sets no limit.
    memory_limit: usize,
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripting").field("scripts", &self.scripts.len()).finish_non_exhaustive()
    }
}

/// How a script or function receives its keys and arguments.
enum Invocation<'a> {
    /// `EVAL`: the `KEYS` and `ARGV` globals.
    Script { keys: &'a [Bytes], args: &'a [Bytes] },
    /// `FCALL`: the function's two parameters.
    Function { keys: &'a [Bytes], args: &'a [Bytes] },
}

/// Which script to run.
pub(crate) enum Source<'a> {
    Body(&'a Bytes),
    Sha(&'a Bytes),
}

const SANDBOX: &str = r#"
local hidden, real, handler = ...
local function protect(t, name)
  return setmetatable({}, {
    __index = t,
    __newindex = function() error("Attempt to modify a readonly table", 2) end,
    __metatable = false,
  })
end
local redis = {}
-- redis.call and redis.pcall are installed for each run (they reach the command table). redis.call
-- raises Rust-side errors; pcall and xpcall hand them to scripts as the plain message string, as in Redis.
local rawpcall, rawxpcall, errmsg = pcall, xpcall, hidden.errmsg
local function fix(ok, ...)
  if not ok then
    local e = ...
    if type(e) == 'userdata' then e = errmsg(e) end
    return false, e
  end
  return ok, ...
end
real.pcall = function(f, ...) return fix(rawpcall(f, ...)) end
real.xpcall = function(f, h)
  return rawxpcall(f, function(e)
    if type(e) == 'userdata' then e = errmsg(e) end
    return h(e)
  end)
end
redis.error_reply = function(msg)
  if type(msg) ~= 'string' then error("wrong number or type of arguments", 2) end
  return {err = msg}
end
redis.status_reply = function(msg)
  if type(msg) ~= 'string' then error("wrong number or type of arguments", 2) end
  return {ok = msg}
end
redis.sha1hex = function(s) return hidden.sha1hex(s) end
redis.log = function(level, ...) return hidden.log(level, ...) end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.setresp = function(v) return hidden.setresp(v) end
redis.replicate_commands = function() return true end
redis.set_repl = function(v) end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.breakpoint = function() return false end
redis.debug = function() end
redis.acl_check_cmd = function(...) return hidden.acl_check_cmd(...) end
redis.register_function = function(...)
  local register = hidden.register
  if register == nil then
    error("redis.register_function can only be called on FUNCTION LOAD command", 2)
  end
  return register(...)
end
redis.REDIS_VERSION = hidden.version
redis.REDIS_VERSION_NUM = hidden.version_num
real.redis = protect(redis)
for _, name in ipairs({'string', 'math', 'table', 'coroutine', 'cjson', 'bit', 'struct', 'cmsgpack'}) do
  if real[name] ~= nil then real[name] = protect(real[name]) end
end
local env = setmetatable({}, {
  __index = function(_, k)
    local v = real[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __metatable = false,
})
real._G = env
-- Functions get their own environment: during FUNCTION LOAD only what a library may use at load time
-- (register_function, log, ...) is reachable through `redis`; when called, the whole `redis` table is.
local load_allowed = {register_function = true, log = true, LOG_DEBUG = true, LOG_VERBOSE = true,
  LOG_NOTICE = true, LOG_WARNING = true, REDIS_VERSION = true, REDIS_VERSION_NUM = true, setresp = true}
local function missing(k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 3)
end
local fredis = setmetatable({}, {
  __index = function(_, k)
    if hidden.loading and not load_allowed[k] then missing(k) end
    local v = redis[k]
    if v == nil then missing(k) end
    return v
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __metatable = false,
})
local fenv = setmetatable({}, {
  __index = function(_, k)
    if k == 'redis' then return fredis end
    local v = real[k]
    if v == nil or k == 'KEYS' or k == 'ARGV' then missing(k) end
    return v
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __metatable = false,
})
-- redis.pcall is redis.call with errors returned as {err = message}. Only redis.call is made for each run
-- (a C function: a Lua one would be tail-called by `return redis.call(...)`, losing the script's frame
-- and with it the error line); pcall's errors are returned, so it needs no line.
local current_call
local function perr(ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == 'userdata' then e = errmsg(e) end
  return {err = e}
end
local function redis_pcall(...)
  return perr(rawpcall(current_call, ...))
end
-- Runs f under the error handler. For a run, call is this run's redis.call, and keys and args become KEYS
-- and ARGV (script) or f's parameters (function); set here rather than from Rust, where each table write
-- is an API call.
local runner = function(f, call, script, keys, args)
  if call == nil then return rawxpcall(f, handler) end
  current_call = call
  redis.call, redis.pcall = call, redis_pcall
  local ok, r
  if script then
    real.KEYS, real.ARGV = keys, args
    ok, r = rawxpcall(f, handler)
  else
    ok, r = rawxpcall(function() return f(keys, args) end, handler)
  end
  redis.call, redis.pcall, current_call = nil, nil, nil
  return ok, r
end
return env, runner, fenv
"#;

impl Scripting {
    /// A fresh Lua state with Redis's sandbox.
    pub(crate) fn new(control: Arc<ScriptControl>) -> mlua::Result<Scripting> {
        let lua =
            Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::default())?;
        let globals = lua.globals();
        // The error handler records the script line the error came from, like Redis's
        // `__redis__err__handler`: the innermost frame of the user's script (errors raised by `error`, by
        // `redis.call` or by the sandbox's global guard all report the script line that caused them).
        let handler = lua.create_function(|lua, err: Value| {
            let mut line = 0;
            for level in 1..64 {
                let frame = lua.inspect_stack(level, |d| {
                    let user = matches!(
                        d.source().source.as_deref(),
                        Some("@user_script" | "@user_function")
                    );
                    (user, d.current_line().unwrap_or(0))
                });
                match frame {
                    Some((true, l)) => {
                        line = l;
                        break;
                    }
                    Some(_) => continue,
                    None => break,
                }
            }
            let t = lua.create_table()?;
            t.raw_set("e", err)?;
            t.raw_set("line", line)?;
            Ok(t)
        })?;
        for name in [
            "dofile",
            "loadfile",
            "print",
            "getfenv",
            "setfenv",
            "newproxy",
            "module",
            "require",
            "package",
            "load",
            "loadstring",
            "debug",
            "io",
            "os",
        ] {
            globals.raw_set(name, Value::Nil)?;
        }
        let hidden = lua.create_table()?;
        hidden.raw_set("version", crate::REDIS_VERSION)?;
        hidden.raw_set("version_num", version_num(crate::REDIS_VERSION))?;
        hidden.raw_set(
            "sha1hex",
            // Like Redis, anything that is not a string or number hashes as the empty string.
            lua.create_function(|_, v: Value| {
                let bytes = match &v {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Integer(_) | Value::Number(_) => {
                        v.to_string().unwrap_or_default().into_bytes()
                    }
                    _ => Vec::new(),
                };
                Ok(sha1_smol::Sha1::from(&bytes[..]).digest().to_string())
            })?,
        )?;
        hidden.raw_set(
            "log",
            lua.create_function(|_, (level, args): (i64, MultiValue)| {
                let msg: Vec<String> = args.iter().filter_map(|v| v.to_string().ok()).collect();
                let msg = msg.join(" ");
                match level {
                    3 => tracing::warn!(target: "larder::script", "{msg}"),
                    2 => tracing::info!(target: "larder::script", "{msg}"),
                    _ => tracing::debug!(target: "larder::script", "{msg}"),
                }
                Ok(())
            })?,
        )?;
        hidden.raw_set("errmsg", lua.create_function(|_, e: Value| Ok(error_message(&e)))?)?;
        let resp3 = Arc::new(AtomicBool::new(false));
        let r3 = resp3.clone();
        hidden.raw_set(
            "setresp",
            lua.create_function(move |_, v: i64| match v {
                2 | 3 => {
                    r3.store(v == 3, Ordering::Relaxed);
                    Ok(())
                }
                _ => Err(mlua::Error::RuntimeError("RESP version must be 2 or 3.".into())),
            })?,
        )?;
        hidden.raw_set(
            "acl_check_cmd",
            lua.create_function(|_, args: MultiValue| {
                let name = args.front().and_then(|v| v.as_string().map(|s| s.as_bytes().to_vec()));
                match name.and_then(|n| crate::command::lookup(&n)) {
                    Some(_) => Ok(true),
                    None => Err(mlua::Error::RuntimeError(
                        "Invalid command passed to redis.acl_check_cmd()".into(),
                    )),
                }
            })?,
        )?;
        // Like Redis 7, `math.random` is Redis's lrand48 seeded once at start (scripts replicate by effects, so
        // they need not be deterministic).
        let rand_state = Arc::new(AtomicU64::new(srand48(rand::random::<i32>())));
        install_random(&lua, &rand_state)?;
        libs::register(&lua)?;
        let (env, runner, fenv): (Table, Function, Table) = lua
            .load(SANDBOX)
            .set_name("=sandbox")
            .call((hidden.clone(), globals.clone(), handler))?;
        let hook_control = control.clone();
        lua.set_hook(HookTriggers::new().every_nth_instruction(100_000), move |_, _| {
            if hook_control.kill.load(Ordering::Acquire) {
                return Err(mlua::Error::RuntimeError(
                    "ERR Script killed by user with SCRIPT KILL...".into(),
                ));
            }
            Ok(VmState::Continue)
        })?;
        let (compiled, callbacks) = (lua.create_table()?, lua.create_table()?);
        Ok(Scripting {
            lua,
            hidden,
            env,
            fenv,
            runner,
            scripts: HashMap::default(),
            compiled,
            callbacks,
            libraries: Vec::new(),
            control,
            resp3,
            // A script that builds huge strings or tables fails with "not enough memory" instead of taking the
            // whole machine's memory.
            memory_limit: LUA_MEMORY_LIMIT,
        })
    }

    /// Runs `f`, which runs Lua code, with the memory limit on.
    fn limited<R>(&self, f: impl FnOnce() -> R) -> R {
        let _ = self.lua.set_memory_limit(self.memory_limit);
        let r = f();
        let _ = self.lua.set_memory_limit(0);
        r
    }

    /// The control shared with the front ends.
    pub(crate) fn control(&self) -> Arc<ScriptControl> {
        self.control.clone()
    }

    /// `SCRIPT LOAD`: compiles and caches a script, returning its SHA1.
    pub(crate) fn load(&mut self, body: &[u8]) -> Result<String, CommandError> {
        let sha = sha1_smol::Sha1::from(body).digest().to_string();
        if !self.scripts.contains_key(&sha) {
            let (script, func) = self.compile(body)?;
            self.compiled.raw_set(sha.as_str(), func).map_err(lua_error)?;
            self.scripts.insert(sha.clone(), script);
        }
        Ok(sha)
    }

    /// `SCRIPT EXISTS`.
    pub(crate) fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha).is_ok_and(|s| self.scripts.contains_key(&s.to_ascii_lowercase()))
    }

    /// `SCRIPT FLUSH`: forgets every script.
    pub(crate) fn flush(&mut self) {
        self.scripts.clear();
        if let Ok(t) = self.lua.create_table() {
            self.compiled = t;
        }
        self.lua.gc_collect().ok();
    }

    fn compile(&self, body: &[u8]) -> Result<(Script, Function), CommandError> {
        let (flags, code) = parse_shebang(body)?;
        let func = self
            .limited(|| {
                self.lua
                    .load(&code[..])
                    .set_name("@user_script")
                    .set_environment(self.env.clone())
                    .into_function()
            })
            .map_err(|e| {
                let msg = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                CommandError::custom(format!(
                    "ERR Error compiling script (new function): {}",
                    one_line(&msg)
                ))
            })?;
        Ok((Script { flags }, func))
    }

    /// `FUNCTION LOAD [REPLACE] code`: compiles a library, runs it to collect its functions, and stores it.
    pub(crate) fn load_library(
        &mut self,
        code: &Bytes,
        replace: bool,
    ) -> Result<String, CommandError> {
        let name = library_name(code)?;
        if !replace && self.libraries.iter().any(|l| l.name == name) {
            return Err(CommandError::custom(format!("ERR Library '{name}' already exists")));
        }
        let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
        let mut body = b"--".to_vec();
        body.extend_from_slice(&code[2..end]);
        body.extend_from_slice(&code[end..]);
        let chunk = self
            .limited(|| {
                self.lua
                    .load(&body[..])
                    .set_name("@user_function")
                    .set_environment(self.fenv.clone())
                    .into_function()
            })
            .map_err(|e| {
                let msg = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                CommandError::custom(format!("ERR Error compiling function: {}", one_line(&msg)))
            })?;
        let registered: RefCell<Vec<(LibFunction, Function)>> = RefCell::new(Vec::new());
        let lua = &self.lua;
        let outcome = lua.scope(|scope| {
            let register = scope.create_function(|_, args: MultiValue| {
                let f = parse_registration(&args)?;
                let mut list = registered.borrow_mut();
                if list.iter().any(|(x, _)| x.name == f.0.name) {
                    return Err(mlua::Error::RuntimeError(
                        "Function already exists in the library".into(),
                    ));
                }
                list.push(f);
                Ok(())
            })?;
            self.hidden.raw_set("register", register)?;
            self.hidden.raw_set("loading", true)?;
            let r: mlua::Result<(bool, Value)> = self.limited(|| self.runner.call(chunk));
            self.hidden.raw_set("register", Value::Nil)?;
            self.hidden.raw_set("loading", false)?;
            r
        });
        let (ok, value) = outcome
            .map_err(|e| CommandError::custom(format!("ERR {}", one_line(&e.to_string()))))?;
        if !ok {
            let e = match &value {
                Value::Table(t) => t.raw_get::<Value>("e").unwrap_or(Value::Nil),
                other => other.clone(),
            };
            let msg = match &e {
                Value::String(s) => format!("ERR {}", s.to_string_lossy()),
                other => {
                    let m = error_message(other);
                    if m.starts_with("ERR ") { m } else { format!("ERR {m}") }
                }
            };
            return Err(CommandError::custom(format!(
                "ERR Error registering functions: {}",
                one_line(&msg)
            )));
        }
        let staged = registered.into_inner();
        if staged.is_empty() {
            return Err(CommandError::custom("ERR No functions registered"));
        }
        for (f, _) in &staged {
            let clash = self
                .libraries
                .iter()
                .filter(|l| l.name != name)
                .any(|l| l.functions.iter().any(|g| g.name == f.name));
            if clash {
                return Err(CommandError::custom(format!(
                    "ERR Function {} already exists",
                    f.name
                )));
            }
        }
        // The old version's callbacks go, the new ones are stored in the callbacks table.
        self.forget_callbacks(name.as_bytes());
        let mut functions = Vec::with_capacity(staged.len());
        for (f, callback) in staged {
            self.callbacks.raw_set(f.name.as_str(), callback).map_err(lua_error)?;
            functions.push(f);
        }
        let library = Library { name: name.clone(), code: code.clone(), functions };
        match self.libraries.iter_mut().find(|l| l.name == name) {
            Some(slot) => *slot = library,
            None => self.libraries.push(library),
        }
        Ok(name)
    }

    /// `FUNCTION LOAD <code>` for every library, RESP-encoded, for the base file of an AOF rewrite.
    pub(crate) fn libraries_as_commands(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for l in &self.libraries {
            crate::aof::encode_parts(&[b"FUNCTION", b"LOAD", &l.code], &mut out);
        }
        out
    }

    /// Removes the callbacks of library `name` from the callbacks table.
    fn forget_callbacks(&mut self, name: &[u8]) {
        if let Some(lib) = self.libraries.iter().find(|l| l.name.as_bytes() == name) {
            for f in &lib.functions {
                let _ = self.callbacks.raw_set(f.name.as_str(), Value::Nil);
            }
        }
    }

    /// `FUNCTION DELETE`: whether the library existed.
    pub(crate) fn delete_library(&mut self, name: &[u8]) -> bool {
        self.forget_callbacks(name);
        let before = self.libraries.len();
        self.libraries.retain(|l| l.name.as_bytes() != name);
        before != self.libraries.len()
    }

    /// `FUNCTION FLUSH`.
    pub(crate) fn flush_libraries(&mut self) {
        self.libraries.clear();
        if let Ok(t) = self.lua.create_table() {
            self.callbacks = t;
        }
    }

    /// `FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern]`.
    pub(crate) fn list_libraries(&self, pattern: Option<&[u8]>, with_code: bool) -> Reply {
        let s = |v: &str| Reply::bulk(v);
        let libs = self
            .libraries
            .iter()
            .filter(|l| {
                pattern.is_none_or(|p| crate::glob::glob_match(p, l.name.as_bytes(), false))
            })
            .map(|l| {
                let functions = l
                    .functions
                    .iter()
                    .map(|f| {
                        Reply::Map(vec![
                            (s("name"), s(&f.name)),
                            (s("description"), f.description.as_deref().map_or(Reply::Nil, s)),
                            (
                                s("flags"),
                                Reply::Set(
                                    f.flags.iter().map(|x| Reply::simple_owned(x)).collect(),
                                ),
                            ),
                        ])
                    })
                    .collect();
                let mut fields = vec![
                    (s("library_name"), s(&l.name)),
                    (s("engine"), s("LUA")),
                    (s("functions"), Reply::Array(functions)),
                ];
                if with_code {
                    fields.push((s("library_code"), Reply::Bulk(l.code.clone())));
                }
                Reply::Map(fields)
            })
            .collect();
        Reply::Array(libs)
    }

    /// `FUNCTION STATS` (no script is running when the engine lock is held).
    pub(crate) fn function_stats(&self) -> Reply {
        let s = |v: &str| Reply::bulk(v);
        let functions: usize = self.libraries.iter().map(|l| l.functions.len()).sum();
        Reply::Map(vec![
            (s("running_script"), Reply::Nil),
            (
                s("engines"),
                Reply::Map(vec![(
                    s("LUA"),
                    Reply::Map(vec![
                        (s("libraries_count"), Reply::Int(self.libraries.len() as i64)),
                        (s("functions_count"), Reply::Int(functions as i64)),
                    ]),
                )]),
            ),
        ])
    }

    /// The flags of a function (by name) or of a cached script (by SHA1), for the memory limit's checks
    /// before a script runs; `None` when neither is known.
    pub(crate) fn flags_of(&self, name: &[u8]) -> Option<ScriptFlags> {
        let function =
            self.libraries.iter().flat_map(|l| &l.functions).find(|f| f.name.as_bytes() == name);
        if let Some(f) = function {
            let allow_oom = f.flags.iter().any(|x| x == "allow-oom");
            return Some(ScriptFlags { shebang: true, no_writes: f.no_writes(), allow_oom });
        }
        let sha = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        self.scripts.get(&sha).map(|s| s.flags)
    }

    /// `FCALL` / `FCALL_RO`. Like Upstash, `FCALL_RO` runs any function and refuses only actual writes.
    pub(crate) fn call_function(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &[u8],
        keys: &[Bytes],
        args: &[Bytes],
        read_only_call: bool,
    ) -> Result<Reply, CommandError> {
        let found =
            self.libraries.iter().flat_map(|l| &l.functions).find(|f| f.name.as_bytes() == name);
        let Some(f) = found else {
            return Err(CommandError::custom("ERR Function not found"));
        };
        let (func, fname, read_only) = (
            self.callbacks.raw_get::<Function>(f.name.as_str()).map_err(lua_error)?,
            f.name.clone(),
            read_only_call || f.no_writes(),
        );
        self.execute(
            ctx,
            &func,
            Invocation::Function { keys, args },
            &fname,
            "user_function",
            read_only,
        )
    }

    /// Runs a script (EVAL, EVALSHA and their `_RO` variants) with `keys` and `args`, against `ctx`.
    pub(crate) fn run(
        &mut self,
        ctx: &mut Ctx<'_>,
        source: Source<'_>,
        keys: &[Bytes],
        args: &[Bytes],
        read_only_call: bool,
    ) -> Result<Reply, CommandError> {
        // The SHA1, lower-cased on the stack (no allocation on the EVALSHA path).
        let mut lower = [0u8; 40];
        let loaded;
        let sha: &str = match source {
            Source::Sha(s) => {
                let noscript =
                    || CommandError::custom("NOSCRIPT No matching script. Please use EVAL.");
                if s.len() != 40 {
                    return Err(noscript());
                }
                lower.copy_from_slice(s);
                lower.make_ascii_lowercase();
                match std::str::from_utf8(&lower) {
                    Ok(sha) if self.scripts.contains_key(sha) => sha,
                    _ => return Err(noscript()),
                }
            }
            Source::Body(b) => {
                loaded = self.load(b)?;
                &loaded
            }
        };
        let script = self.scripts.get(sha).expect("loaded above");
        let read_only = read_only_call || script.flags.no_writes;
        let func = self.compiled.raw_get::<Function>(sha).map_err(lua_error)?;
        self.execute(ctx, &func, Invocation::Script { keys, args }, sha, "user_script", read_only)
    }

    /// Runs a compiled script or function against `ctx` with the sandbox's `redis.call` wired to it.
    fn execute(
        &mut self,
        ctx: &mut Ctx<'_>,
        func: &Function,
        invocation: Invocation<'_>,
        name: &str,
        chunk: &str,
        read_only: bool,
    ) -> Result<Reply, CommandError> {
        let lua = &self.lua;
        let to_table = |items: &[Bytes]| -> mlua::Result<Table> {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, k) in items.iter().enumerate() {
                t.raw_set(i + 1, lua.create_string(k)?)?;
            }
            Ok(t)
        };
        let lua_err =
            |e: mlua::Error| CommandError::custom(format!("ERR {}", one_line(&e.to_string())));
        let (script, keys, args) = match invocation {
            Invocation::Script { keys, args } => (true, keys, args),
            Invocation::Function { keys, args } => (false, keys, args),
        };
        let (keys, args) = (to_table(keys).map_err(lua_err)?, to_table(args).map_err(lua_err)?);
        self.resp3.store(false, Ordering::Relaxed);
        self.control.kill.store(false, Ordering::Release);
        self.control.wrote.store(false, Ordering::Release);
        self.control.started_ms.store(ctx.now, Ordering::Release);
        self.control.running.store(true, Ordering::Release);
        let was_in_transaction = ctx.client.in_transaction;
        ctx.client.in_transaction = true;

        let ctx_cell = RefCell::new(&mut *ctx);
        let resp3 = &self.resp3;
        let control = &self.control;
        let limit = self.memory_limit;
        // `redis.call`, made for each run as it borrows this command's context (the sandbox derives
        // `redis.pcall` from it). Rust-side work runs with the memory limit lifted (see `memory_limit`).
        let outcome = lua.scope(|scope| {
            let call = scope.create_function(|lua, args: MultiValue| {
                lua.set_memory_limit(0)?;
                let value = match run_command(&ctx_cell, &args, read_only, control) {
                    Reply::Error(e) => Err(mlua::Error::RuntimeError(e.into_owned())),
                    reply => convert::reply_to_lua(lua, &reply, resp3.load(Ordering::Relaxed)),
                };
                lua.set_memory_limit(limit)?;
                value
            })?;
            self.limited(|| self.runner.call((func, call, script, keys, args)))
        });
        ctx.client.in_transaction = was_in_transaction;
        self.control.running.store(false, Ordering::Release);
        // Lua 5.1 has no emergency collection: after a script that ran out of memory, its garbage would make
        // the next ones fail too.
        if lua.used_memory() > self.memory_limit / 2 {
            let _ = lua.gc_collect();
        }
        let (ok, value) = outcome.map_err(lua_err)?;
        if ok {
            return Ok(convert::lua_to_reply(&value, 0));
        }
        // The error handler returned {e = <error>, line = <n>}.
        let (e, line) = match &value {
            Value::Table(t) => (
                t.raw_get::<Value>("e").unwrap_or(Value::Nil),
                t.raw_get::<i64>("line").unwrap_or(0),
            ),
            other => (other.clone(), 0),
        };
        let msg = match &e {
            Value::Table(t) => match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => s.to_string_lossy(),
                _ => "ERR unknown error".to_string(),
            },
            // A Lua error raised with a string (`error('x')`, a runtime error): Redis adds the ERR code.
            Value::String(s) => format!("ERR {}", s.to_string_lossy()),
            // An error raised from Rust (`redis.call`, SCRIPT KILL): already a whole error line.
            Value::Error(_) => {
                let text = error_message(&e);
                if text.split(' ').next().is_some_and(|code| {
                    !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase())
                }) {
                    text
                } else {
                    format!("ERR {text}")
                }
            }
            other => format!("ERR {}", other.to_string().unwrap_or_default()),
        };
        Err(CommandError::custom(format!("{} script: {name}, on @{chunk}:{line}.", one_line(&msg))))
    }
}

/// One command from a script's `redis.call`/`redis.pcall`, as a reply (errors included).
fn run_command(
    ctx: &RefCell<&mut Ctx<'_>>,
    args: &MultiValue,
    read_only: bool,
    control: &ScriptControl,
) -> Reply {
    if args.is_empty() {
        return Reply::Error(
            "ERR Please specify at least one argument for this redis lib call".into(),
        );
    }
    let Some(argv) = convert::lua_to_argv(args.iter()) else {
        return Reply::Error(
            "ERR Lua redis lib command arguments must be strings or integers".into(),
        );
    };
    let mut guard = ctx.borrow_mut();
    call_from_script(&mut guard, &argv, read_only, control)
        .unwrap_or_else(|e| Reply::Error(e.to_string().into()))
}

/// An unexpected Lua error (out of memory, a broken state) as a command error.
fn lua_error(e: mlua::Error) -> CommandError {
    CommandError::custom(format!("ERR {}", one_line(&e.to_string())))
}

/// The message of an error raised from Rust, without mlua's decorations.
fn error_message(e: &Value) -> String {
    fn inner(e: &mlua::Error) -> String {
        if let Some(bytes) = libs::script_error_message(e) {
            return String::from_utf8_lossy(bytes).into_owned();
        }
        match e {
            mlua::Error::RuntimeError(m) => m.clone(),
            mlua::Error::CallbackError { cause, .. } => inner(cause),
            other => other.to_string(),
        }
    }
    match e {
        Value::Error(err) => inner(err),
        Value::String(s) => s.to_string_lossy(),
        other => other.to_string().unwrap_or_default(),
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `7.4.0` as Redis's `REDIS_VERSION_NUM`: `0x00MMmmpp`.
fn version_num(v: &str) -> i64 {
    let mut parts = v.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) =
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a << 16) | (b << 8) | c
}

/// Parses a `#!lua flags=...` first line. Returns the flags and the code to compile: the shebang line is
/// turned into a comment so line numbers stay those of the script text.
pub(crate) fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, Vec<u8>), CommandError> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), body.to_vec()));
    }
    let end = body.iter().position(|&c| c == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(CommandError::custom(format!(
            "ERR Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut flags = ScriptFlags { shebang: true, ..ScriptFlags::default() };
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(CommandError::custom(format!("ERR Unknown lua shebang option: {part}")));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                // Accepted as Redis does; they do not change anything on a single node. `allow-key-locking`
                // is Upstash's (its rate limiter sends it); larder's scripts always run under one lock.
                "allow-stale" | "no-cluster" | "allow-cross-slot-keys" | "allow-key-locking" => {}
                other => {
                    return Err(CommandError::custom(format!(
                        "ERR Unexpected flag in script shebang: {other}"
                    )));
                }
            }
        }
    }
    let mut code = Vec::with_capacity(body.len());
    code.extend_from_slice(b"--");
    code.extend_from_slice(&body[2..]);
    Ok((flags, code))
}

/// The library name from a `#!lua name=<name>` first line.
fn library_name(code: &[u8]) -> Result<String, CommandError> {
    if !code.starts_with(b"#!") {
        return Err(CommandError::custom("ERR Missing library metadata"));
    }
    let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CommandError::custom(format!("ERR Engine '{engine}' not found")));
    }
    let mut name = None;
    for part in parts {
        match part.split_once('=') {
            Some(("name", v)) => name = Some(v.to_string()),
            _ => {
                return Err(CommandError::custom(format!(
                    "ERR Invalid metadata value given: {part}"
                )));
            }
        }
    }
    let name = name.ok_or_else(|| CommandError::custom("ERR Library name was not given"))?;
    if !valid_name(&name) {
        return Err(CommandError::custom(
            "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    Ok(name)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=..., callback=...,
/// flags={...}, description=...}`.
fn parse_registration(args: &MultiValue) -> mlua::Result<(LibFunction, Function)> {
    let err = |m: &str| mlua::Error::RuntimeError(m.into());
    let (name, func, flags, description) = match (args.front(), args.get(1)) {
        (Some(Value::Table(t)), None) => {
            let name: Option<String> = t.get("function_name")?;
            let func: Option<Function> = t.get("callback")?;
            let mut flags = Vec::new();
            if let Some(list) = t.get::<Option<Table>>("flags")? {
                for f in list.sequence_values::<String>() {
                    flags.push(f?);
                }
            }
            let description: Option<String> = t.get("description")?;
            (
                name.ok_or_else(|| {
                    err("function_name argument given to redis.register_function must be a string")
                })?,
                func.ok_or_else(|| {
                    err("callback argument given to redis.register_function must be a function")
                })?,
                flags,
                description,
            )
        }
        (Some(Value::String(n)), Some(Value::Function(f))) if args.len() == 2 => {
            (n.to_string_lossy(), f.clone(), Vec::new(), None)
        }
        _ => return Err(err("wrong number of arguments to redis.register_function")),
    };
    if !valid_name(&name) {
        return Err(err(
            "Function names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    for f in &flags {
        if !matches!(
            f.as_str(),
            "no-writes" | "allow-oom" | "allow-stale" | "no-cluster" | "allow-cross-slot-keys"
        ) {
            return Err(err("unknown flag given"));
        }
    }
    Ok((LibFunction { name, description, flags }, func))
}

// ---- math.random, like Redis's redisLrand48 ----

fn srand48(seed: i32) -> u64 {
    ((seed as u32 as u64) << 16) | 0x330E
}

fn lrand48(state: &AtomicU64) -> i64 {
    let x = state.load(Ordering::Relaxed);
    let next = (x.wrapping_mul(0x5DEE_CE66D).wrapping_add(0xB)) & ((1 << 48) - 1);
    state.store(next, Ordering::Relaxed);
    (next >> 17) as i64
}

fn install_random(lua: &Lua, state: &Arc<AtomicU64>) -> mlua::Result<()> {
    let math: Table = lua.globals().get("math")?;
    let s = state.clone();
    math.raw_set(
        "random",
        lua.create_function(move |_, args: MultiValue| {
            const MAX: i64 = i32::MAX as i64;
            let r = (lrand48(&s) % MAX) as f64 / MAX as f64;
            let n = |v: &Value| v.as_number().or_else(|| v.as_integer().map(|i| i as f64));
            match args.len() {
                0 => Ok(r),
                1 => {
                    let u = n(&args[0])
                        .ok_or_else(|| {
                            mlua::Error::RuntimeError(
                                "bad argument #1 to 'random' (number expected)".into(),
                            )
                        })?
                        .floor();
                    if u < 1.0 {
                        return Err(mlua::Error::RuntimeError(
                            "bad argument #1 to 'random' (interval is empty)".into(),
                        ));
                    }
                    Ok((r * u).floor() + 1.0)
                }
                2 => {
                    let l = n(&args[0])
                        .ok_or_else(|| {
                            mlua::Error::RuntimeError(
                                "bad argument #1 to 'random' (number expected)".into(),
                            )
                        })?
                        .floor();
                    let u = n(&args[1])
                        .ok_or_else(|| {
                            mlua::Error::RuntimeError(
                                "bad argument #2 to 'random' (number expected)".into(),
                            )
                        })?
                        .floor();
                    if l > u {
                        return Err(mlua::Error::RuntimeError(
                            "bad argument #2 to 'random' (interval is empty)".into(),
                        ));
                    }
                    Ok((r * (u - l + 1.0)).floor() + l)
                }
                _ => Err(mlua::Error::RuntimeError("wrong number of arguments".into())),
            }
        })?,
    )?;
    let s = state.clone();
    math.raw_set(
        "randomseed",
        lua.create_function(move |_, seed: f64| {
            s.store(srand48(seed as i64 as i32), Ordering::Relaxed);
            Ok(())
        })?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs() {
        assert_eq!(parse_shebang(b"return 1").unwrap().0, ScriptFlags::default());
        let (f, code) =
            parse_shebang(b"#!lua flags=no-writes,allow-key-locking\nreturn 1").unwrap();
        assert!(f.shebang && f.no_writes);
        assert!(code.starts_with(b"--lua"));
        assert!(parse_shebang(b"#!lua\nreturn 1").unwrap().0.shebang);
        assert_eq!(
            parse_shebang(b"#!luax\nreturn 1").unwrap_err().to_string(),
            "ERR Unexpected engine in script shebang: #!luax"
        );
        assert_eq!(
            parse_shebang(b"#!lua name=x\n").unwrap_err().to_string(),
            "ERR Unknown lua shebang option: name=x"
        );
        assert_eq!(
            parse_shebang(b"#!lua flags=bogus\n").unwrap_err().to_string(),
            "ERR Unexpected flag in script shebang: bogus"
        );
    }

    /// Runs `body` as EVAL would, on a fresh keyspace.
    fn eval_with_limit(scripting: &mut Scripting, body: &str) -> Result<Reply, CommandError> {
        use rand::SeedableRng;
        let mut db = crate::keyspace::Keyspace::default();
        let mut client = crate::client::ClientState::new(1, String::new(), true);
        let mut server = crate::command::ServerState {
            scripting: None,
            script_control: scripting.control(),
            stats: Default::default(),
            watched: Default::default(),
            blocking_keys: Default::default(),
            ready_keys: Vec::new(),
            blocked_clients: 0,
            rng: rand::rngs::SmallRng::seed_from_u64(1),
            info: Default::default(),
            aof: None,
            rewrite_requested: false,
            memory: Default::default(),
        };
        let mut ctx = Ctx {
            db: &mut db,
            now: 0,
            now_us: 0,
            client: &mut client,
            server: &mut server,
            dirty: 0,
            propagate_as: None,
        };
        let body = Bytes::copy_from_slice(body.as_bytes());
        scripting.run(&mut ctx, Source::Body(&body), &[], &[], false)
    }

    #[test]
    fn memory_limit() {
        let mut scripting = Scripting::new(Arc::new(ScriptControl::default())).unwrap();
        scripting.memory_limit = 16 << 20;
        // Lua code is limited...
        let err = eval_with_limit(
            &mut scripting,
            "local t = {} for i = 1, 1e7 do t[i] = string.rep('x', 64) .. i end return #t",
        )
        .unwrap_err();
        assert!(err.to_string().contains("not enough memory"), "{err}");
        // ...and the state recovers: the failed script's garbage is collected.
        let reply = eval_with_limit(
            &mut scripting,
            "redis.call('set', 'k', string.rep('x', 1024)) return #redis.call('get', 'k')",
        )
        .unwrap();
        assert_eq!(reply, Reply::Int(1024));
        scripting.memory_limit = 64 << 20;
        let reply = eval_with_limit(&mut scripting, "return #string.rep('y', 8 * 1024 * 1024)");
        assert_eq!(reply.unwrap(), Reply::Int(8 << 20));
        let err = eval_with_limit(&mut scripting, "return #string.rep('y', 80 * 1024 * 1024)");
        assert!(err.unwrap_err().to_string().contains("not enough memory"));
    }

    #[test]
    fn version_number() {
        assert_eq!(version_num("7.0.15"), 458767);
    }
}
