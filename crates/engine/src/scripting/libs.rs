//! The four C libraries that Redis bundles into its Lua 5.1 scripting environment, rebuilt in safe
//! Rust on top of mlua: `cjson` (lua-cjson 2.1.0), `bit` (Lua BitOp 1.0.2), `struct` (lua-struct
//! 0.2) and `cmsgpack` (lua-cmsgpack 0.4.0).
//!
//! [`register`] creates the global tables `cjson`, `bit`, `struct` and `cmsgpack`. Every function
//! behaves as Redis 7's C version does as seen from a script: same results (byte for byte), same
//! argument coercions (numeric strings, numbers as strings), same error messages, same limits.
//! The C libraries run on the Lua stack and fail with `stack overflow (...)` when it exceeds
//! `LUAI_MAXCSTACK` (8000 slots); those limits are emulated by counting the slots the C code
//! would use, so nesting and result-count limits match too.
//!
//! # Errors
//!
//! A Rust callback cannot raise a plain Lua string through mlua: its error reaches Lua as mlua's
//! error userdata. Every error of these libraries is therefore returned as the exact string the C
//! library would raise, already prefixed like `luaL_error` does (`user_script:1: `, the position
//! of the calling Lua line, or nothing when the caller is a C function such as `pcall`): an
//! [`mlua::Error::RuntimeError`], or a [`ScriptError`] for the rare message that is not UTF-8 (an
//! invalid option byte echoed back). The embedding sandbox must turn these errors back into plain
//! strings where a script can see them (`pcall`/`xpcall` results, `coroutine.resume`, the
//! top-level error handler); [`script_error_message`] extracts the bytes. The functions are plain C functions from the
//! script's point of view (no Lua wrapper frames), so `debug.getinfo` levels, function names in
//! `bad argument` messages and tail calls behave as in Redis.
//!
//! # Reference limits
//!
//! mlua keeps each live Rust-side handle to a Lua string, table or function in a slot of an
//! auxiliary Lua thread whose stack is capped by `LUAI_MAXCSTACK` (about 7,990 usable slots in
//! Lua 5.1) and panics when it runs out. The encoders and decoders here keep at most
//! [`LIVE_FRAMES`] nesting levels in Rust and park deeper ones in a Lua table, so any depth the
//! C code accepts is safe; results are capped at [`MAX_RESULT_REFS`] strings/tables per call.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use mlua::{Function, Lua, MultiValue, Table, Value};

/// `LUAI_MAXCSTACK` of Lua 5.1: the most stack slots a C function may use.
const MAXCSTACK: usize = 8000;

/// Nesting levels whose table (and key) handles stay in Rust; deeper ones are parked in a Lua
/// table, so the number of live mlua references stays bounded whatever the depth.
pub const LIVE_FRAMES: usize = 32;

/// Most string/table values one call may return (`cmsgpack.unpack`, `struct.unpack`); above it
/// the call fails with the library's own `stack overflow (...)` message instead of exhausting
/// mlua's reference slots.
pub const MAX_RESULT_REFS: usize = 4000;

/// Creates the global tables `cjson`, `bit`, `struct` and `cmsgpack`.
///
/// Call it once per Lua state, after the base library is loaded: `cjson.encode` resumes table
/// traversals with the original `next`, which is kept in the state's app data.
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let next: Function = match lua.globals().raw_get("next")? {
        Value::Function(f) => f,
        _ => {
            return Err(mlua::Error::RuntimeError(
                "register: the base library is not loaded".into(),
            ));
        }
    };
    lua.set_app_data(BaseNext(next));
    let globals = lua.globals();
    globals.raw_set("cjson", cjson_module(lua)?)?;
    let bit = bit_module(lua)?;
    globals.raw_set("bit", &bit)?;
    globals.raw_set("struct", struct_module(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack_module(lua)?)?;
    // mlua's first callback call in a fresh state allocates its error slot on the Lua stack,
    // which lowers the most values a callback can return by about twenty; warm it up.
    bit.raw_get::<Function>("tobit")?.call::<Value>(0)?;
    Ok(())
}

/// Lua's `next`, as the base library defined it when [`register`] ran.
struct BaseNext(Function);

/// A Lua error string that one of these libraries raised and that is not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError(pub Vec<u8>);

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl std::error::Error for ScriptError {}

/// The Lua error string of an error raised by these libraries (also when mlua wrapped it in
/// [`mlua::Error::CallbackError`]), or the message of an [`mlua::Error::RuntimeError`];
/// `None` for other kinds of errors.
pub fn script_error_message(err: &mlua::Error) -> Option<&[u8]> {
    match err {
        mlua::Error::ExternalError(e) => e.downcast_ref::<ScriptError>().map(|e| &e.0[..]),
        mlua::Error::RuntimeError(msg) => Some(msg.as_bytes()),
        mlua::Error::CallbackError { cause, .. } => script_error_message(cause),
        mlua::Error::WithContext { cause, .. } => script_error_message(cause),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Lua C API emulation: arguments, coercions, error messages
// ---------------------------------------------------------------------------------------------

type LResult<T> = mlua::Result<T>;

/// `luaL_where(L, 1)`: the position of the Lua line that called the running C function.
fn where_prefix(lua: &Lua) -> String {
    lua.inspect_stack(1, |d| match d.current_line() {
        Some(line) if line > 0 => {
            format!("{}:{}: ", d.source().short_src.as_deref().unwrap_or("?"), line)
        }
        _ => String::new(),
    })
    .unwrap_or_default()
}

/// A Lua error raising the string `msg` as is: a [`mlua::Error::RuntimeError`] when it is
/// UTF-8 (nearly always), a [`ScriptError`] otherwise.
fn lua_error(msg: impl Into<Vec<u8>>) -> mlua::Error {
    match String::from_utf8(msg.into()) {
        Ok(text) => mlua::Error::RuntimeError(text),
        Err(e) => mlua::Error::external(ScriptError(e.into_bytes())),
    }
}

/// `luaL_error`: the message with the caller's position.
fn raise(lua: &Lua, msg: impl AsRef<[u8]>) -> mlua::Error {
    let mut text = where_prefix(lua).into_bytes();
    text.extend_from_slice(msg.as_ref());
    lua_error(text)
}

/// `luaL_argerror`: names the function as its caller did (`?` when called from C).
fn arg_error(lua: &Lua, narg: i64, extra: impl AsRef<[u8]>) -> mlua::Error {
    let (name, what) = lua
        .inspect_stack(0, |d| {
            let names = d.names();
            (names.name.map(|n| n.into_owned()), names.name_what)
        })
        .unwrap_or((None, None));
    let name = name.unwrap_or_else(|| "?".to_owned());
    let mut narg = narg;
    let mut msg = if what == Some("method") && narg == 1 {
        format!("calling '{name}' on bad self (").into_bytes()
    } else {
        if what == Some("method") {
            narg -= 1;
        }
        format!("bad argument #{narg} to '{name}' (").into_bytes()
    };
    msg.extend_from_slice(extra.as_ref());
    msg.push(b')');
    raise(lua, msg)
}

fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `luaL_typerror`.
fn type_error(lua: &Lua, narg: usize, expected: &str, v: Option<&Value>) -> mlua::Error {
    arg_error(lua, narg as i64, format!("{expected} expected, got {}", type_name(v)))
}

/// Argument `i` (1-based) of a call; `None` is "no value".
fn arg(args: &MultiValue, i: usize) -> Option<&Value> {
    args.get(i - 1)
}

fn is_nil(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Nil))
}

/// `lua_tonumber` (numeric strings convert like Lua does).
fn to_number(lua: &Lua, v: Option<&Value>) -> LResult<Option<f64>> {
    Ok(match v {
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Number(n)) => Some(*n),
        Some(Value::String(s)) => lua.coerce_number(Value::String(s.clone()))?,
        _ => None,
    })
}

/// `luaL_checknumber`.
fn check_number(lua: &Lua, args: &MultiValue, i: usize) -> LResult<f64> {
    number_arg(lua, arg(args, i), i)
}

/// `luaL_checknumber` on the value `v` at stack index `i`.
fn number_arg(lua: &Lua, v: Option<&Value>, i: usize) -> LResult<f64> {
    match to_number(lua, v)? {
        Some(n) => Ok(n),
        None => Err(type_error(lua, i, "number", v)),
    }
}

/// `luaL_checkinteger` (`lua_Integer` is a truncating C cast of the number).
fn check_integer(lua: &Lua, args: &MultiValue, i: usize) -> LResult<i64> {
    Ok(c_f64_to_i64(check_number(lua, args, i)?))
}

/// `luaL_optinteger`.
fn opt_integer(lua: &Lua, args: &MultiValue, i: usize, default: i64) -> LResult<i64> {
    if is_nil(arg(args, i)) { Ok(default) } else { check_integer(lua, args, i) }
}

/// `luaL_checklstring` (numbers convert with Lua's `%.14g`).
fn check_string(lua: &Lua, args: &MultiValue, i: usize) -> LResult<mlua::String> {
    string_arg(lua, arg(args, i), i)
}

/// `luaL_checklstring` on the value `v` at stack index `i`.
fn string_arg(lua: &Lua, v: Option<&Value>, i: usize) -> LResult<mlua::String> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => match lua.coerce_string(v.clone())? {
            Some(s) => Ok(s),
            None => Err(type_error(lua, i, "string", Some(v))),
        },
        v => Err(type_error(lua, i, "string", v)),
    }
}

/// `luaL_checkstack`: fails when `used + extra` slots exceed the C stack limit.
fn check_stack(lua: &Lua, used: usize, extra: usize, what: &str) -> LResult<()> {
    if used + extra > MAXCSTACK {
        return Err(raise(lua, format!("stack overflow ({what})")));
    }
    Ok(())
}

/// `(lua_Integer)d` / `(int64_t)d` on x86-64: out of range and NaN give `INT64_MIN`.
fn c_f64_to_i64(n: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// `(unsigned long)d` as gcc compiles it on x86-64.
fn c_f64_to_u64(n: f64) -> u64 {
    if n >= 9_223_372_036_854_775_808.0 {
        (c_f64_to_i64(n - 9_223_372_036_854_775_808.0) as u64) ^ (1 << 63)
    } else {
        c_f64_to_i64(n) as u64
    }
}

/// `(int)d` on x86-64: out of range and NaN give `INT_MIN`.
fn c_f64_to_i32(n: f64) -> i32 {
    if n > -2_147_483_649.0 && n < 2_147_483_648.0 { n as i32 } else { i32::MIN }
}

fn int_value(n: i64) -> Value {
    Value::Integer(n)
}

/// A stack of nesting levels whose Lua handles beyond the innermost [`LIVE_FRAMES`] are parked
/// in a Lua table, keeping the number of live mlua references bounded.
struct Levels<F> {
    frames: Vec<(F, Handles)>,
    parked: usize,
    park: Option<Table>,
}

#[derive(Default)]
struct Handles {
    table: Option<Table>,
    key: Option<Value>,
}

impl<F> Levels<F> {
    fn new() -> Self {
        Levels { frames: Vec::new(), parked: 0, park: None }
    }

    fn len(&self) -> usize {
        self.frames.len()
    }

    fn push(&mut self, lua: &Lua, frame: F, table: Table, key: Option<Value>) -> LResult<()> {
        self.frames.push((frame, Handles { table: Some(table), key }));
        if self.frames.len() - self.parked > LIVE_FRAMES {
            let i = self.parked;
            let park = match &self.park {
                Some(t) => t.clone(),
                None => {
                    let t = lua.create_table()?;
                    self.park = Some(t.clone());
                    t
                }
            };
            let handles = &mut self.frames[i].1;
            let key_present = handles.key.is_some();
            park.raw_set(3 * i + 1, handles.table.take())?;
            park.raw_set(3 * i + 2, handles.key.take())?;
            park.raw_set(3 * i + 3, key_present)?;
            self.parked += 1;
        }
        Ok(())
    }

    /// Removes the innermost level and returns its table (its key is dropped).
    fn pop(&mut self) -> LResult<Option<Table>> {
        let Some((_, handles)) = self.frames.pop() else { return Ok(None) };
        let n = self.frames.len();
        if n > 0 && n - 1 < self.parked {
            let i = n - 1;
            if let Some(park) = &self.park {
                let table: Option<Table> = park.raw_get(3 * i + 1)?;
                let key: Value = park.raw_get(3 * i + 2)?;
                let key_present: bool = park.raw_get(3 * i + 3)?;
                for k in 1..=3 {
                    park.raw_set(3 * i + k, Value::Nil)?;
                }
                self.frames[i].1 = Handles { table, key: key_present.then_some(key) };
            }
            self.parked -= 1;
        }
        Ok(handles.table)
    }

    fn top(&mut self) -> Option<(&mut F, &mut Handles)> {
        self.frames.last_mut().map(|(f, h)| (f, h))
    }
}

fn missing_handle() -> mlua::Error {
    mlua::Error::RuntimeError("internal error: missing table handle".into())
}

// ---------------------------------------------------------------------------------------------
// cjson
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct CjsonConfig {
    encode_sparse_convert: i32,
    encode_sparse_ratio: i32,
    encode_sparse_safe: i32,
    encode_max_depth: i32,
    encode_invalid_numbers: i32,
    encode_number_precision: i32,
    encode_keep_buffer: i32,
    decode_invalid_numbers: i32,
    decode_max_depth: i32,
}

impl Default for CjsonConfig {
    fn default() -> Self {
        CjsonConfig {
            encode_sparse_convert: 0,
            encode_sparse_ratio: 2,
            encode_sparse_safe: 10,
            encode_max_depth: 1000,
            encode_invalid_numbers: 0,
            encode_number_precision: 14,
            encode_keep_buffer: 1,
            decode_invalid_numbers: 1,
            decode_max_depth: 1000,
        }
    }
}

type SharedConfig = Arc<Mutex<CjsonConfig>>;

fn config(cfg: &SharedConfig) -> std::sync::MutexGuard<'_, CjsonConfig> {
    cfg.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Builds a cjson module table with its own configuration (`cjson.new` builds another one).
fn cjson_module(lua: &Lua) -> LResult<Table> {
    let cfg: SharedConfig = Arc::new(Mutex::new(CjsonConfig::default()));
    let t = lua.create_table()?;

    let c = cfg.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(arg_error(lua, 1, "expected 1 argument"));
            }
            let cfg = *config(&c);
            let mut enc = JsonEncoder { lua, cfg, next: None, out: Vec::new() };
            enc.encode(args.into_iter().next().unwrap_or(Value::Nil))?;
            lua.create_string(&enc.out)
        })?,
    )?;

    let c = cfg.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(arg_error(lua, 1, "expected 1 argument"));
            }
            let cfg = *config(&c);
            let s = check_string(lua, &args, 1)?;
            let bytes = s.as_bytes();
            JsonDecoder { lua, cfg, data: &bytes, ptr: 0, tmp: Vec::new() }.decode()
        })?,
    )?;

    let c = cfg.clone();
    t.raw_set(
        "encode_sparse_array",
        lua.create_function(move |lua, args: MultiValue| {
            config_arg_init(lua, &args, 3)?;
            let mut cfg = config(&c);
            let convert = enum_option(lua, &args, 1, &mut cfg.encode_sparse_convert, None)?;
            let ratio = integer_option(lua, &args, 2, &mut cfg.encode_sparse_ratio, 0, i32::MAX)?;
            let safe = integer_option(lua, &args, 3, &mut cfg.encode_sparse_safe, 0, i32::MAX)?;
            Ok((convert, ratio, safe))
        })?,
    )?;

    type IntField = fn(&mut CjsonConfig) -> &mut i32;
    let int_options: [(&str, IntField, i32, i32); 3] = [
        ("encode_max_depth", |c| &mut c.encode_max_depth, 1, i32::MAX),
        ("decode_max_depth", |c| &mut c.decode_max_depth, 1, i32::MAX),
        ("encode_number_precision", |c| &mut c.encode_number_precision, 1, 14),
    ];
    for (name, field, min, max) in int_options {
        let c = cfg.clone();
        t.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                config_arg_init(lua, &args, 1)?;
                let mut cfg = config(&c);
                integer_option(lua, &args, 1, field(&mut cfg), min, max)
            })?,
        )?;
    }

    type EnumField = fn(&mut CjsonConfig) -> &mut i32;
    let enum_options: [(&str, EnumField, Option<&'static [&'static str]>); 3] = [
        ("encode_keep_buffer", |c| &mut c.encode_keep_buffer, None),
        ("encode_invalid_numbers", |c| &mut c.encode_invalid_numbers, Some(&["off", "on", "null"])),
        ("decode_invalid_numbers", |c| &mut c.decode_invalid_numbers, None),
    ];
    for (name, field, options) in enum_options {
        let c = cfg.clone();
        t.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                config_arg_init(lua, &args, 1)?;
                let mut cfg = config(&c);
                enum_option(lua, &args, 1, field(&mut cfg), options)
            })?,
        )?;
    }

    t.raw_set("new", lua.create_function(|lua, _: MultiValue| cjson_module(lua))?)?;
    t.raw_set("null", Value::NULL)?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

/// `json_arg_init`: at most `n` arguments.
fn config_arg_init(lua: &Lua, args: &MultiValue, n: usize) -> LResult<()> {
    if args.len() > n {
        return Err(arg_error(lua, n as i64 + 1, "found too many arguments"));
    }
    Ok(())
}

/// `json_integer_option`. Range errors name argument 1 whatever the option's position, as cjson does.
fn integer_option(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> LResult<Value> {
    if !is_nil(arg(args, i)) {
        let value = check_integer(lua, args, i)? as i32;
        if !(min <= value && value <= max) {
            return Err(arg_error(lua, 1, format!("expected integer between {min} and {max}")));
        }
        *setting = value;
    }
    Ok(int_value(i64::from(*setting)))
}

/// `json_enum_option` with `bool_true` = 1; `None` options are `{"off", "on"}`.
fn enum_option(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    setting: &mut i32,
    options: Option<&'static [&'static str]>,
) -> LResult<Value> {
    let options = options.unwrap_or(&["off", "on"]);
    match arg(args, i) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = i32::from(*b),
        Some(_) => {
            let name = check_string(lua, args, i)?;
            let name = name.as_bytes();
            match options.iter().position(|o| o.as_bytes() == &name[..]) {
                Some(pos) => *setting = pos as i32,
                None => {
                    let msg = [&b"invalid option '"[..], &name, b"'"].concat();
                    return Err(arg_error(lua, i as i64, msg));
                }
            }
        }
    }
    Ok(if *setting == 0 || *setting == 1 {
        Value::Boolean(*setting == 1)
    } else {
        Value::String(lua.create_string(options[*setting as usize])?)
    })
}

/// JSON escapes of `json_append_string`, by byte (`None`: copied as is).
fn json_escape(b: u8) -> Option<&'static str> {
    const CONTROL: [&str; 32] = [
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r", "\\u000e", "\\u000f", "\\u0010", "\\u0011",
        "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    ];
    match b {
        0..=31 => Some(CONTROL[b as usize]),
        b'"' => Some("\\\""),
        b'/' => Some("\\/"),
        b'\\' => Some("\\\\"),
        127 => Some("\\u007f"),
        _ => None,
    }
}

/// Formats `x` like C's `printf("%.{precision}g", x)` (glibc spelling of NaN and infinities).
fn format_g(out: &mut Vec<u8>, x: f64, precision: usize) {
    let precision = precision.max(1);
    if x.is_nan() {
        out.extend_from_slice(if x.is_sign_negative() { b"-nan" } else { b"nan" });
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    if x.fract() == 0.0 && x.abs() < 10f64.powi(precision as i32) {
        // An integer with at most `precision` digits prints as is.
        let _ = write!(Bytes(out), "{}", x as i64);
        return;
    }
    // `%e` with precision - 1 decimals gives the rounded digits and the exponent X; `%g` then
    // uses `%e` when X < -4 or X >= precision, else `%f` with precision - 1 - X decimals (the
    // same digits), and drops trailing zeros.
    let sci = format!("{:.*e}", precision - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i32 {
        out.extend_from_slice(strip_fraction_zeros(mantissa).as_bytes());
        let _ = write!(Bytes(out), "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
        return;
    }
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    if negative {
        out.push(b'-');
    }
    let (int_part, frac_part): (&[u8], Vec<u8>) = if exp >= 0 {
        let split = (exp as usize + 1).min(digits.len());
        (&digits[..split], digits[split..].to_vec())
    } else {
        let mut frac = vec![b'0'; exp.unsigned_abs() as usize - 1];
        frac.extend_from_slice(&digits);
        (b"0", frac)
    };
    out.extend_from_slice(int_part);
    let frac_len = frac_part.iter().rposition(|&d| d != b'0').map_or(0, |p| p + 1);
    if frac_len > 0 {
        out.push(b'.');
        out.extend_from_slice(&frac_part[..frac_len]);
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

/// `fmt::Write` into a byte buffer.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

enum JsonLevel {
    /// An array being written: the next index and the length.
    Array { next: i64, len: i64 },
    /// An object being written with `next` (its last key is the level's key handle).
    Object { first: bool },
}

struct JsonEncoder<'a> {
    lua: &'a Lua,
    cfg: CjsonConfig,
    /// Lua's `next`, fetched when an object with nested tables is met.
    next: Option<Function>,
    out: Vec<u8>,
}

/// What the first pass over a table found.
struct TableScan {
    /// Largest positive integer key (as cjson's `int`), or `None` when a key is not one.
    array_max: Option<i32>,
    items: i32,
    has_table_value: bool,
}

impl JsonEncoder<'_> {
    fn error(&self, type_name: &str, reason: &str) -> mlua::Error {
        raise(self.lua, format!("Cannot serialise {type_name}: {reason}"))
    }

    fn next_fn(&mut self) -> LResult<&Function> {
        if self.next.is_none() {
            let next = self.lua.app_data_ref::<BaseNext>().map(|n| n.0.clone());
            self.next = Some(next.ok_or_else(|| {
                mlua::Error::RuntimeError("cjson: register() was not called".into())
            })?);
        }
        self.next.as_ref().ok_or_else(missing_handle)
    }

    fn encode(&mut self, root: Value) -> LResult<()> {
        let mut levels: Levels<JsonLevel> = Levels::new();
        // Lua stack slots the C encoder would use: 1 for the argument, 1 per enclosing array
        // (the element) and 2 per enclosing object (key and value).
        let mut slots = 1usize;
        self.value(root, &mut levels, &mut slots)?;
        while let Some((level, handles)) = levels.top() {
            let table = handles.table.as_ref().ok_or_else(missing_handle)?;
            // The next value of the innermost table, or the bracket that closes it.
            let step = match level {
                JsonLevel::Array { next, len } if *next > *len => Err((b']', 1)),
                JsonLevel::Array { next, .. } => {
                    if *next > 1 {
                        self.out.push(b',');
                    }
                    let value: Value = table.raw_get(*next)?;
                    *next += 1;
                    Ok(value)
                }
                JsonLevel::Object { first } => {
                    let key = handles.key.take().unwrap_or(Value::Nil);
                    let (key, value): (Value, Value) = self.next_fn()?.call((table, key))?;
                    if key.is_nil() {
                        Err((b'}', 2))
                    } else {
                        if !*first {
                            self.out.push(b',');
                        }
                        *first = false;
                        self.key(&key)?;
                        handles.key = Some(key);
                        Ok(value)
                    }
                }
            };
            match step {
                Ok(value) => self.value(value, &mut levels, &mut slots)?,
                Err((bracket, level_slots)) => {
                    self.out.push(bracket);
                    levels.pop()?;
                    slots -= level_slots;
                }
            }
        }
        Ok(())
    }

    /// Writes a scalar, or starts a table (pushing a level unless it is written at once).
    fn value(
        &mut self,
        v: Value,
        levels: &mut Levels<JsonLevel>,
        slots: &mut usize,
    ) -> LResult<()> {
        match v {
            Value::Table(t) => self.table(t, levels, slots),
            v => self.scalar(&v),
        }
    }

    fn scalar(&mut self, v: &Value) -> LResult<()> {
        match v {
            Value::String(s) => self.string(&s.as_bytes()),
            Value::Integer(i) => self.number(*i as f64)?,
            Value::Number(n) => self.number(*n)?,
            Value::Boolean(b) => self.out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            v => return Err(self.error(type_name(Some(v)), "type not supported")),
        }
        Ok(())
    }

    fn key(&mut self, key: &Value) -> LResult<()> {
        match key {
            Value::String(s) => {
                self.string(&s.as_bytes());
                self.out.push(b':');
            }
            Value::Integer(_) | Value::Number(_) => {
                self.out.push(b'"');
                self.scalar(key)?;
                self.out.extend_from_slice(b"\":");
            }
            k => return Err(self.error(type_name(Some(k)), "table key must be a number or string")),
        }
        Ok(())
    }

    fn string(&mut self, s: &[u8]) {
        self.out.reserve(s.len() + 2);
        self.out.push(b'"');
        for &b in s {
            match json_escape(b) {
                Some(e) => self.out.extend_from_slice(e.as_bytes()),
                None => self.out.push(b),
            }
        }
        self.out.push(b'"');
    }

    fn number(&mut self, n: f64) -> LResult<()> {
        match self.cfg.encode_invalid_numbers {
            0 if !n.is_finite() => return Err(self.error("number", "must not be NaN or Inf")),
            1 if n.is_nan() => {
                self.out.extend_from_slice(b"nan");
                return Ok(());
            }
            2 if !n.is_finite() => {
                self.out.extend_from_slice(b"null");
                return Ok(());
            }
            _ => {}
        }
        format_g(&mut self.out, n, self.cfg.encode_number_precision as usize);
        Ok(())
    }

    fn table(
        &mut self,
        t: Table,
        levels: &mut Levels<JsonLevel>,
        slots: &mut usize,
    ) -> LResult<()> {
        let depth = levels.len() as i64 + 1;
        if depth > i64::from(self.cfg.encode_max_depth) || *slots + 3 > MAXCSTACK {
            return Err(raise(self.lua, format!("Cannot serialise, excessive nesting ({depth})")));
        }
        let scan = scan_json_table(&t)?;
        let mut len = -1i64;
        if let Some(max) = scan.array_max {
            let ratio = self.cfg.encode_sparse_ratio;
            if ratio > 0
                && max > scan.items.wrapping_mul(ratio)
                && max > self.cfg.encode_sparse_safe
            {
                if self.cfg.encode_sparse_convert == 0 {
                    return Err(self.error("table", "excessively sparse array"));
                }
            } else {
                len = i64::from(max);
            }
        }
        if len > 0 {
            self.out.push(b'[');
            levels.push(self.lua, JsonLevel::Array { next: 1, len }, t, None)?;
            *slots += 1;
        } else if scan.has_table_value {
            self.out.push(b'{');
            levels.push(self.lua, JsonLevel::Object { first: true }, t, None)?;
            *slots += 2;
        } else {
            // No nested table: write the whole object in one traversal.
            self.out.push(b'{');
            let mut first = true;
            t.for_each(|k: Value, v: Value| {
                if !first {
                    self.out.push(b',');
                }
                first = false;
                self.key(&k)?;
                self.scalar(&v)
            })?;
            self.out.push(b'}');
        }
        Ok(())
    }
}

/// `lua_array_length`'s traversal (plus whether any value is a table).
fn scan_json_table(t: &Table) -> LResult<TableScan> {
    let mut scan = TableScan { array_max: Some(0), items: 0, has_table_value: false };
    t.for_each(|k: Value, v: Value| {
        if matches!(v, Value::Table(_)) {
            scan.has_table_value = true;
        }
        if let Some(max) = scan.array_max {
            let k = match k {
                Value::Integer(i) => i as f64,
                Value::Number(n) => n,
                _ => 0.0,
            };
            if k != 0.0 && k.floor() == k && k >= 1.0 {
                if k > f64::from(max) {
                    scan.array_max = Some(c_f64_to_i32(k));
                }
                scan.items = scan.items.wrapping_add(1);
            } else {
                scan.array_max = None;
            }
        }
        Ok(())
    })?;
    Ok(scan)
}

#[derive(Clone, Copy, PartialEq)]
enum JsonToken {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    /// The decoded text is in the decoder's `tmp`.
    String,
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl JsonToken {
    fn describe(self) -> &'static str {
        match self {
            JsonToken::ObjBegin => "T_OBJ_BEGIN",
            JsonToken::ObjEnd => "T_OBJ_END",
            JsonToken::ArrBegin => "T_ARR_BEGIN",
            JsonToken::ArrEnd => "T_ARR_END",
            JsonToken::String => "T_STRING",
            JsonToken::Number(_) => "T_NUMBER",
            JsonToken::Boolean(_) => "T_BOOLEAN",
            JsonToken::Null => "T_NULL",
            JsonToken::Colon => "T_COLON",
            JsonToken::Comma => "T_COMMA",
            JsonToken::End => "T_END",
            JsonToken::Error(msg) => msg,
        }
    }
}

enum JsonContainer {
    Array {
        index: i64,
    },
    /// The key of the member being parsed is the level's key handle.
    Object,
}

struct JsonDecoder<'a> {
    lua: &'a Lua,
    cfg: CjsonConfig,
    data: &'a [u8],
    ptr: usize,
    tmp: Vec<u8>,
}

impl JsonDecoder<'_> {
    /// The byte at `i`, or NUL past the end (the C parser reads a NUL-terminated buffer).
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn parse_error(&self, expected: &str, token: JsonToken, index: usize) -> mlua::Error {
        raise(
            self.lua,
            format!(
                "Expected {expected} but found {} at character {}",
                token.describe(),
                index + 1
            ),
        )
    }

    fn decode(mut self) -> LResult<Value> {
        if self.data.len() >= 2 && (self.data[0] == 0 || self.data[1] == 0) {
            return Err(raise(self.lua, "JSON parser does not support UTF-16 or UTF-32"));
        }
        let mut levels: Levels<JsonContainer> = Levels::new();
        // Lua stack slots of the C parser: the argument, 1 per enclosing array (its table) and
        // 2 per enclosing object (table and key).
        let mut slots = 1usize;
        let (mut token, mut index) = self.next_token();
        let root = 'value: loop {
            let mut value = match token {
                JsonToken::String => Value::String(self.lua.create_string(&self.tmp)?),
                JsonToken::Number(n) => Value::Number(n),
                JsonToken::Boolean(b) => Value::Boolean(b),
                JsonToken::Null => Value::NULL,
                JsonToken::ObjBegin | JsonToken::ArrBegin => {
                    let is_object = token == JsonToken::ObjBegin;
                    let depth = levels.len() + 1;
                    let need = if is_object { 3 } else { 2 };
                    if depth > self.cfg.decode_max_depth as usize || slots + need > MAXCSTACK {
                        return Err(raise(
                            self.lua,
                            format!(
                                "Found too many nested data structures ({depth}) at character {}",
                                self.ptr
                            ),
                        ));
                    }
                    let table = self.lua.create_table()?;
                    (token, index) = self.next_token();
                    if is_object {
                        if token == JsonToken::ObjEnd {
                            Value::Table(table)
                        } else {
                            let key = self.member_key(token, index)?;
                            levels.push(self.lua, JsonContainer::Object, table, Some(key))?;
                            slots += 2;
                            (token, index) = self.next_token();
                            continue 'value;
                        }
                    } else if token == JsonToken::ArrEnd {
                        Value::Table(table)
                    } else {
                        levels.push(self.lua, JsonContainer::Array { index: 1 }, table, None)?;
                        slots += 1;
                        continue 'value;
                    }
                }
                _ => return Err(self.parse_error("value", token, index)),
            };
            // Store the value in its container; a container that ends is a value in turn.
            loop {
                let Some((container, handles)) = levels.top() else { break 'value value };
                let table = handles.table.as_ref().ok_or_else(missing_handle)?;
                match container {
                    JsonContainer::Array { index: i } => {
                        table.raw_set(*i, value)?;
                        *i += 1;
                        (token, index) = self.next_token();
                        if token == JsonToken::ArrEnd {
                            value = Value::Table(levels.pop()?.ok_or_else(missing_handle)?);
                            slots -= 1;
                            continue;
                        }
                        if token != JsonToken::Comma {
                            return Err(self.parse_error("comma or array end", token, index));
                        }
                        (token, index) = self.next_token();
                        continue 'value;
                    }
                    JsonContainer::Object => {
                        table.raw_set(handles.key.take(), value)?;
                        (token, index) = self.next_token();
                        if token == JsonToken::ObjEnd {
                            value = Value::Table(levels.pop()?.ok_or_else(missing_handle)?);
                            slots -= 2;
                            continue;
                        }
                        if token != JsonToken::Comma {
                            return Err(self.parse_error("comma or object end", token, index));
                        }
                        (token, index) = self.next_token();
                        let key = self.member_key(token, index)?;
                        if let Some((_, handles)) = levels.top() {
                            handles.key = Some(key);
                        }
                        (token, index) = self.next_token();
                        continue 'value;
                    }
                }
            }
        };
        let (token, index) = self.next_token();
        if token != JsonToken::End {
            return Err(self.parse_error("the end", token, index));
        }
        Ok(root)
    }

    /// A member's key and its colon.
    fn member_key(&mut self, token: JsonToken, index: usize) -> LResult<Value> {
        if token != JsonToken::String {
            return Err(self.parse_error("object key string", token, index));
        }
        let key = Value::String(self.lua.create_string(&self.tmp)?);
        let (token, index) = self.next_token();
        if token != JsonToken::Colon {
            return Err(self.parse_error("colon", token, index));
        }
        Ok(key)
    }

    /// `json_next_token`: the token and the index it is reported at.
    fn next_token(&mut self) -> (JsonToken, usize) {
        while matches!(self.at(self.ptr), b' ' | b'\t' | b'\n' | b'\r') {
            self.ptr += 1;
        }
        let start = self.ptr;
        let ch = self.at(start);
        let single = match ch {
            b'{' => Some(JsonToken::ObjBegin),
            b'}' => Some(JsonToken::ObjEnd),
            b'[' => Some(JsonToken::ArrBegin),
            b']' => Some(JsonToken::ArrEnd),
            b',' => Some(JsonToken::Comma),
            b':' => Some(JsonToken::Colon),
            _ => None,
        };
        if let Some(token) = single {
            self.ptr += 1;
            return (token, start);
        }
        match ch {
            0 => (JsonToken::End, start),
            b'"' => self.string_token(),
            b'-' | b'0'..=b'9' => {
                if self.cfg.decode_invalid_numbers == 0 && self.is_invalid_number() {
                    return (JsonToken::Error("invalid number"), start);
                }
                self.number_token()
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                let rest = &self.data[start..];
                if rest.starts_with(b"true") {
                    self.ptr += 4;
                    (JsonToken::Boolean(true), start)
                } else if rest.starts_with(b"false") {
                    self.ptr += 5;
                    (JsonToken::Boolean(false), start)
                } else if rest.starts_with(b"null") {
                    self.ptr += 4;
                    (JsonToken::Null, start)
                } else if self.cfg.decode_invalid_numbers != 0 && self.is_invalid_number() {
                    self.number_token()
                } else {
                    (JsonToken::Error("invalid token"), start)
                }
            }
            _ => (JsonToken::Error("invalid token"), start),
        }
    }

    /// `json_is_invalid_number`: forms strtod accepts but strict JSON does not.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.ptr;
        match self.at(p) {
            b'+' => return true,
            b'-' => p += 1,
            _ => {}
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        // `*p <= '9'` on a signed char: bytes from 0x80 are negative.
        if c <= b'9' || c >= 0x80 {
            return false;
        }
        let word = [self.at(p), self.at(p + 1), self.at(p + 2)].map(|b| b.to_ascii_lowercase());
        &word == b"inf" || &word == b"nan"
    }

    fn number_token(&mut self) -> (JsonToken, usize) {
        let start = self.ptr;
        match strtod(self.data, start) {
            Some((n, end)) => {
                self.ptr = end;
                (JsonToken::Number(n), start)
            }
            None => (JsonToken::Error("invalid number"), start),
        }
    }

    fn string_token(&mut self) -> (JsonToken, usize) {
        let start = self.ptr;
        self.ptr += 1;
        self.tmp.clear();
        loop {
            let mut ch = self.at(self.ptr);
            if ch == b'"' {
                break;
            }
            if ch == 0 {
                return (JsonToken::Error("unexpected end of string"), self.ptr);
            }
            if ch == b'\\' {
                ch = match self.at(self.ptr + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b't' => 9,
                    b'n' => 10,
                    b'f' => 12,
                    b'r' => 13,
                    b'u' => {
                        if self.unicode_escape() {
                            continue;
                        }
                        return (JsonToken::Error("invalid unicode escape code"), self.ptr);
                    }
                    _ => return (JsonToken::Error("invalid escape code"), self.ptr),
                };
                self.ptr += 1;
            }
            self.tmp.push(ch);
            self.ptr += 1;
        }
        self.ptr += 1;
        (JsonToken::String, start)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for i in 0..4 {
            v = (v << 4) | (self.at(at + i) as char).to_digit(16)?;
        }
        Some(v)
    }

    /// `json_append_unicode_escape` at a `\u`: appends UTF-8, false on a bad escape.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.ptr + 2) else { return false };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 || self.at(self.ptr + 6) != b'\\' || self.at(self.ptr + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.ptr + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut buf = [0u8; 4];
        let Some(c) = char::from_u32(cp) else { return false };
        self.tmp.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        self.ptr += len;
        true
    }
}

/// glibc's `strtod` on the NUL-terminated text at `start`: the value and where it ends, or
/// `None` when no number starts there.
fn strtod(s: &[u8], start: usize) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = start;
    while matches!(at(i), b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = at(i) == b'-';
    if matches!(at(i), b'-' | b'+') {
        i += 1;
    }
    let sign = |v: f64| if negative { -v } else { v };
    let lower = |i: usize, word: &[u8]| {
        word.iter().enumerate().all(|(k, &c)| at(i + k).to_ascii_lowercase() == c)
    };
    if lower(i, b"inf") {
        i += 3;
        if lower(i, b"inity") {
            i += 5;
        }
        return Some((sign(f64::INFINITY), i));
    }
    if lower(i, b"nan") {
        i += 3;
        let mut bits = 0x7ff8_0000_0000_0000u64;
        if at(i) == b'(' {
            let mut j = i + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                if let Some(payload) = parse_c_integer(&s[i + 1..j]) {
                    bits |= payload & 0x0007_ffff_ffff_ffff;
                }
                i = j + 1;
            }
        }
        return Some((sign(f64::from_bits(bits)), i));
    }
    if at(i) == b'0'
        && (at(i + 1) | 0x20) == b'x'
        && (at(i + 2).is_ascii_hexdigit() || (at(i + 2) == b'.' && at(i + 3).is_ascii_hexdigit()))
    {
        let (v, end) = hex_float(s, i + 2);
        return Some((sign(v), end));
    }
    let digits_start = i;
    let mut digits = 0;
    while at(i).is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if at(i) == b'.' {
        i += 1;
        while at(i).is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if (at(i) | 0x20) == b'e' {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            while at(j).is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let text = std::str::from_utf8(&s[digits_start..i]).ok()?;
    let v: f64 = text.parse().ok()?;
    Some((sign(v), i))
}

/// `strtoull(text, &end, 0)` that must consume all of `text` (saturating like glibc).
fn parse_c_integer(text: &[u8]) -> Option<u64> {
    let (digits, radix) = if text.len() > 2 && text[0] == b'0' && (text[1] | 0x20) == b'x' {
        (&text[2..], 16)
    } else if text.len() > 1 && text[0] == b'0' {
        (&text[1..], 8)
    } else {
        (text, 10)
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        let d = u64::from((d as char).to_digit(radix)?);
        v = v.checked_mul(u64::from(radix)).and_then(|v| v.checked_add(d)).unwrap_or(u64::MAX);
    }
    Some(v)
}

/// A hexadecimal float after `0x`, correctly rounded: the value and where it ends.
fn hex_float(s: &[u8], start: usize) -> (f64, usize) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = start;
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut seen_point = false;
    loop {
        let c = at(i);
        if c == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else { break };
        if mantissa >> 60 == 0 {
            mantissa = (mantissa << 4) | u64::from(d);
            if seen_point {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp += 4;
            }
        }
        i += 1;
    }
    if (at(i) | 0x20) == b'p' {
        let mut j = i + 1;
        let negative = at(j) == b'-';
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(j).is_ascii_digit() {
                e = (e * 10 + i64::from(at(j) - b'0')).min(1 << 40);
                j += 1;
            }
            exp += if negative { -e } else { e };
            i = j;
        }
    }
    (scale_binary(mantissa, exp, sticky), i)
}

/// `mantissa * 2^exp` rounded to nearest-even (`sticky`: nonzero bits below the mantissa).
fn scale_binary(mantissa: u64, exp: i64, sticky: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let lz = i64::from(mantissa.leading_zeros());
    let m = u128::from(mantissa) << lz;
    let e = exp - lz; // value = m * 2^e, m in [2^63, 2^64)
    let top = e + 63; // value in [2^top, 2^(top+1))
    if top > 1023 {
        return f64::INFINITY;
    }
    // Keep 53 bits for normal numbers, fewer for subnormal ones (grid of 2^-1074).
    let shift = if top >= -1022 { 11 } else { -1074 - e };
    if shift >= 128 {
        return 0.0;
    }
    let shift = shift as u32;
    let mut q = m >> shift;
    let rem = m & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if rem > half || (rem == half && (sticky || q & 1 == 1)) {
        q += 1;
    }
    let mut e = e + i64::from(shift);
    if q == 1 << 53 {
        q >>= 1;
        e += 1;
    }
    if q >= 1 << 52 {
        let biased = e + 52 + 1023;
        if biased > 2046 {
            return f64::INFINITY;
        }
        f64::from_bits(((biased as u64) << 52) | (q as u64 & ((1 << 52) - 1)))
    } else {
        // Subnormal: q * 2^-1074.
        f64::from_bits(q as u64)
    }
}

// ---------------------------------------------------------------------------------------------
// bit
// ---------------------------------------------------------------------------------------------

/// `barg`: a number normalised to 32 bits the way BitOp does (`n + 2^52 + 2^51`, low word).
fn barg(lua: &Lua, args: &MultiValue, i: usize) -> LResult<u32> {
    let n = to_number(lua, arg(args, i))?;
    let b = (n.unwrap_or(0.0) + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && n.is_none() {
        return Err(type_error(lua, i, "number", arg(args, i)));
    }
    Ok(b)
}

fn bret(b: u32) -> Value {
    int_value(i64::from(b as i32))
}

fn bit_module(lua: &Lua) -> LResult<Table> {
    type Unary = fn(u32) -> u32;
    type Binary = fn(u32, u32) -> u32;
    let t = lua.create_table()?;
    let unary: [(&str, Unary); 3] =
        [("tobit", |b| b), ("bnot", |b| !b), ("bswap", u32::swap_bytes)];
    for (name, op) in unary {
        t.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| Ok(bret(op(barg(lua, &args, 1)?))))?,
        )?;
    }
    let folds: [(&str, Binary); 3] =
        [("band", |a, b| a & b), ("bor", |a, b| a | b), ("bxor", |a, b| a ^ b)];
    for (name, op) in folds {
        t.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                let mut b = barg(lua, &args, 1)?;
                for i in (2..=args.len()).rev() {
                    b = op(b, barg(lua, &args, i)?);
                }
                Ok(bret(b))
            })?,
        )?;
    }
    let shifts: [(&str, Binary); 5] = [
        ("lshift", |b, n| b << n),
        ("rshift", |b, n| b >> n),
        ("arshift", |b, n| ((b as i32) >> n) as u32),
        ("rol", u32::rotate_left),
        ("ror", u32::rotate_right),
    ];
    for (name, op) in shifts {
        t.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| {
                let b = barg(lua, &args, 1)?;
                let n = barg(lua, &args, 2)? & 31;
                Ok(bret(op(b, n)))
            })?,
        )?;
    }
    t.raw_set(
        "tohex",
        lua.create_function(|lua, args: MultiValue| {
            let mut b = barg(lua, &args, 1)?;
            let mut n = if args.len() < 2 { 8 } else { barg(lua, &args, 2)? as i32 };
            let mut digits: &[u8; 16] = b"0123456789abcdef";
            if n == i32::MIN {
                n = i32::MIN + 1;
            }
            if n < 0 {
                n = -n;
                digits = b"0123456789ABCDEF";
            }
            let n = n.min(8) as usize;
            let mut buf = [0u8; 8];
            for slot in buf[..n].iter_mut().rev() {
                *slot = digits[(b & 15) as usize];
                b >>= 4;
            }
            lua.create_string(&buf[..n])
        })?,
    )?;
    Ok(t)
}

// ---------------------------------------------------------------------------------------------
// struct
// ---------------------------------------------------------------------------------------------

const MAXINTSIZE: usize = 32;
/// `MAXALIGN` on x86-64: the alignment of `double`.
const MAXALIGN: usize = 8;

struct StructHeader {
    little: bool,
    align: usize,
}

impl StructHeader {
    fn new() -> Self {
        StructHeader { little: true, align: 1 }
    }
}

/// A format string, read up to its first NUL like the C code.
struct Format<'a> {
    fmt: &'a [u8],
    pos: usize,
}

impl Format<'_> {
    fn next_option(&mut self) -> Option<u8> {
        let c = self.fmt.get(self.pos).copied().filter(|&c| c != 0)?;
        self.pos += 1;
        Some(c)
    }

    fn peek_digit(&self) -> Option<u8> {
        self.fmt.get(self.pos).copied().filter(u8::is_ascii_digit)
    }

    /// `getnum`.
    fn number(&mut self, lua: &Lua, default: usize) -> LResult<usize> {
        if self.peek_digit().is_none() {
            return Ok(default);
        }
        let mut a: i32 = 0;
        while let Some(d) = self.peek_digit() {
            let d = i32::from(d - b'0');
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(raise(lua, "integral size overflow"));
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a as usize)
    }

    /// `optsize`.
    fn size(&mut self, lua: &Lua, opt: u8) -> LResult<usize> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(lua, 1)?,
            b'i' | b'I' => {
                let size = self.number(lua, 4)?;
                if size > MAXINTSIZE {
                    return Err(raise(
                        lua,
                        format!("integral size {size} is larger than limit of {MAXINTSIZE}"),
                    ));
                }
                size
            }
            _ => 0,
        })
    }

    /// `controloptions`.
    fn control(&mut self, lua: &Lua, opt: u8, h: &mut StructHeader) -> LResult<()> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.number(lua, MAXALIGN)?;
                if a == 0 || a & (a - 1) != 0 {
                    return Err(raise(lua, format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
            }
            _ => {
                let msg = [&b"invalid format option '"[..], &[opt], b"'"].concat();
                return Err(arg_error(lua, 1, msg));
            }
        }
        Ok(())
    }
}

/// `gettoalign`.
fn struct_align(len: usize, h: &StructHeader, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & size.wrapping_sub(1)) & size.wrapping_sub(1)
}

fn is_integer_option(opt: u8) -> bool {
    matches!(opt, b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I')
}

fn struct_module(lua: &Lua) -> LResult<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(struct_pack)?)?;
    t.raw_set("unpack", lua.create_function(struct_unpack)?)?;
    t.raw_set("size", lua.create_function(struct_size)?)?;
    Ok(t)
}

fn struct_pack(lua: &Lua, args: MultiValue) -> LResult<mlua::String> {
    let fmt = check_string(lua, &args, 1)?;
    let fmt = fmt.as_bytes();
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = StructHeader::new();
    let mut argn = 2;
    let mut out: Vec<u8> = Vec::new();
    // `b_pack` pushes a nil right after its arguments, so the first missing one is a nil.
    let nil = Value::Nil;
    let pack_arg = |i: usize| if i == args.len() + 1 { Some(&nil) } else { arg(&args, i) };
    while let Some(opt) = f.next_option() {
        let mut size = f.size(lua, opt)?;
        let toalign = struct_align(out.len(), &h, opt, size);
        out.resize(out.len() + toalign, 0);
        match opt {
            _ if is_integer_option(opt) => {
                let n = number_arg(lua, pack_arg(argn), argn)?;
                argn += 1;
                let value = if n < 0.0 { c_f64_to_i64(n) as u64 } else { c_f64_to_u64(n) };
                let byte = |i: usize| if i < 8 { (value >> (8 * i)) as u8 } else { 0 };
                if h.little {
                    out.extend((0..size).map(byte));
                } else {
                    out.extend((0..size).rev().map(byte));
                }
            }
            b'x' => out.push(0),
            b'f' => {
                let v = number_arg(lua, pack_arg(argn), argn)? as f32;
                argn += 1;
                out.extend_from_slice(&if h.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b'd' => {
                let v = number_arg(lua, pack_arg(argn), argn)?;
                argn += 1;
                out.extend_from_slice(&if h.little { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b'c' | b's' => {
                let s = string_arg(lua, pack_arg(argn), argn)?;
                let s = s.as_bytes();
                argn += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(arg_error(lua, argn as i64, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => f.control(lua, opt, &mut h)?,
        }
    }
    lua.create_string(&out)
}

/// `getinteger`: bytes beyond the eighth shift out, and the sign mask of sizes over 8 uses the
/// shift count modulo 64 as x86 does.
fn struct_get_integer(bytes: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: u8| l = (l << 8) | u64::from(b);
    if little {
        bytes.iter().rev().copied().for_each(&mut push);
    } else {
        bytes.iter().copied().for_each(&mut push);
    }
    if !signed {
        return l as f64;
    }
    let shift = ((bytes.len() as i64 * 8 - 1) & 63) as u32;
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn struct_unpack(lua: &Lua, args: MultiValue) -> LResult<MultiValue> {
    let fmt = check_string(lua, &args, 1)?;
    let fmt = fmt.as_bytes();
    let data = check_string(lua, &args, 2)?;
    let data = data.as_bytes();
    let ld = data.len();
    let mut pos = opt_integer(lua, &args, 3, 1)? as usize;
    if pos == 0 {
        return Err(arg_error(lua, 3, "offset must be 1 or greater"));
    }
    pos -= 1;
    let nargs = args.len();
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = StructHeader::new();
    let mut results: Vec<Value> = Vec::new();
    let mut refs = 0usize;
    let too_short = |lua: &Lua| arg_error(lua, 2, "data string too short");
    while let Some(opt) = f.next_option() {
        let mut size = f.size(lua, opt)?;
        pos = pos.wrapping_add(struct_align(pos, &h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(too_short(lua));
        }
        check_stack(lua, nargs + results.len(), 2, "too many results")?;
        match opt {
            _ if is_integer_option(opt) => {
                let signed = opt.is_ascii_lowercase();
                results.push(Value::Number(struct_get_integer(
                    &data[pos..pos + size],
                    h.little,
                    signed,
                )));
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().map_err(|_| too_short(lua))?;
                let v = if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
                results.push(Value::Number(f64::from(v)));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().map_err(|_| too_short(lua))?;
                let v = if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) };
                results.push(Value::Number(v));
            }
            b'c' => {
                if size == 0 {
                    let previous = match results.last() {
                        Some(v) => to_number(lua, Some(v))?,
                        None => None,
                    };
                    let Some(n) = previous else {
                        return Err(raise(lua, "format 'c0' needs a previous size"));
                    };
                    if let Some(Value::String(_)) = results.pop() {
                        refs -= 1;
                    }
                    size = c_f64_to_u64(n) as usize;
                    if !(size <= ld && pos <= ld - size) {
                        return Err(too_short(lua));
                    }
                }
                results.push(Value::String(lua.create_string(&data[pos..pos + size])?));
                refs += 1;
            }
            b's' => {
                let Some(len) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(raise(lua, "unfinished string in data"));
                };
                results.push(Value::String(lua.create_string(&data[pos..pos + len])?));
                refs += 1;
                size = len + 1;
            }
            _ => f.control(lua, opt, &mut h)?,
        }
        if refs > MAX_RESULT_REFS {
            return Err(raise(lua, "stack overflow (too many results)"));
        }
        pos = pos.wrapping_add(size);
    }
    results.push(int_value(pos.wrapping_add(1) as i64));
    // mlua pushes the results next to the arguments (one value fewer than the C stack holds).
    check_stack(lua, nargs + results.len(), 1, "too many results")?;
    Ok(MultiValue::from_vec(results))
}

fn struct_size(lua: &Lua, args: MultiValue) -> LResult<Value> {
    let fmt = check_string(lua, &args, 1)?;
    let fmt = fmt.as_bytes();
    let mut f = Format { fmt: &fmt, pos: 0 };
    let mut h = StructHeader::new();
    let mut pos = 0usize;
    while let Some(opt) = f.next_option() {
        let size = f.size(lua, opt)?;
        pos = pos.wrapping_add(struct_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(arg_error(lua, 1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            f.control(lua, opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(int_value(pos as i64))
}

// ---------------------------------------------------------------------------------------------
// cmsgpack
// ---------------------------------------------------------------------------------------------

/// `LUACMSGPACK_MAX_NESTING`: tables this deep are packed as nil.
const MSGPACK_MAX_NESTING: u32 = 16;

const TOO_MANY_VALUES: &str =
    "too many return values at once; use unpack_one or unpack_limit instead.";

fn cmsgpack_module(lua: &Lua) -> LResult<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(msgpack_pack)?)?;
    t.raw_set(
        "unpack",
        lua.create_function(|lua, args: MultiValue| {
            let nargs = args.len();
            msgpack_unpack(lua, &args, nargs, 0, 0)
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: MultiValue| {
            let offset = opt_integer(lua, &args, 2, 0)?;
            msgpack_unpack(lua, &args, args.len().min(1), 1, offset)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: MultiValue| {
            let limit = check_integer(lua, &args, 2)?;
            let offset = opt_integer(lua, &args, 3, 0)?;
            msgpack_unpack(lua, &args, args.len().min(1), limit, offset)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

fn msgpack_pack(lua: &Lua, args: MultiValue) -> LResult<mlua::String> {
    let nargs = args.len();
    if nargs == 0 {
        return Err(arg_error(lua, 0, "MessagePack pack needs input."));
    }
    if nargs + nargs > MAXCSTACK {
        return Err(arg_error(lua, 0, "Too many arguments for MessagePack pack."));
    }
    // Lua stack slots of the C packer: the arguments, then one packed string per argument.
    let mut enc = MsgpackEncoder { lua, out: Vec::new(), used: nargs };
    for v in args.iter() {
        check_stack(lua, enc.used, 1, "in function mp_check")?;
        enc.used += 1;
        enc.value(v, 0)?;
        // `mp_encode_lua_type` popped the copy; the packed string is pushed.
        enc.used += 1;
    }
    lua.create_string(&enc.out)
}

struct MsgpackEncoder<'a> {
    lua: &'a Lua,
    out: Vec<u8>,
    /// Lua stack slots in use, the value being packed included.
    used: usize,
}

impl MsgpackEncoder<'_> {
    /// Packs `v` (counted in `used`) and pops it.
    fn value(&mut self, v: &Value, level: u32) -> LResult<()> {
        match v {
            Value::String(s) => self.bytes(&s.as_bytes()),
            Value::Boolean(b) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Integer(i) => self.int(*i),
            Value::Number(n) => {
                if n.is_finite() && c_f64_to_i64(*n) as f64 == *n {
                    self.int(c_f64_to_i64(*n));
                } else {
                    self.double(*n);
                }
            }
            Value::Table(t) if level < MSGPACK_MAX_NESTING => self.table(t, level)?,
            _ => self.out.push(0xc0),
        }
        self.used -= 1;
        Ok(())
    }

    fn bytes(&mut self, s: &[u8]) {
        let len = s.len();
        if len < 32 {
            self.out.push(0xa0 | len as u8);
        } else if len <= 0xff {
            self.out.extend_from_slice(&[0xd9, len as u8]);
        } else if len <= 0xffff {
            self.out.push(0xda);
            self.out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.out.push(0xdb);
            self.out.extend_from_slice(&(len as u32).to_be_bytes());
        }
        self.out.extend_from_slice(s);
    }

    fn double(&mut self, d: f64) {
        let f = d as f32;
        if f64::from(f) == d {
            self.out.push(0xca);
            self.out.extend_from_slice(&f.to_be_bytes());
        } else {
            self.out.push(0xcb);
            self.out.extend_from_slice(&d.to_be_bytes());
        }
    }

    fn int(&mut self, n: i64) {
        let out = &mut self.out;
        if n >= 0 {
            if n <= 127 {
                out.push(n as u8);
            } else if n <= 0xff {
                out.extend_from_slice(&[0xcc, n as u8]);
            } else if n <= 0xffff {
                out.push(0xcd);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            } else if n <= 0xffff_ffff {
                out.push(0xce);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            } else {
                out.push(0xcf);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        } else if n >= -32 {
            out.push(n as i8 as u8);
        } else if n >= -128 {
            out.extend_from_slice(&[0xd0, n as i8 as u8]);
        } else if n >= -32768 {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        } else if n >= -2_147_483_648 {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        } else {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn header(&mut self, n: usize, fix: u8, code16: u8) {
        if n <= 15 {
            self.out.push(fix | n as u8);
        } else if n <= 0xffff {
            self.out.push(code16);
            self.out.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            self.out.push(code16 + 1);
            self.out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }

    fn table(&mut self, t: &Table, level: u32) -> LResult<()> {
        // `table_is_an_array`: keys exactly 1..n (n counted with C `int` casts).
        check_stack(self.lua, self.used, 2, "in function table_is_an_array")?;
        let (mut is_array, mut max, mut count) = (true, 0i32, 0usize);
        t.for_each(|k: Value, _: Value| {
            count += 1;
            if is_array {
                let n = match k {
                    Value::Integer(i) => i as f64,
                    Value::Number(n) => n,
                    _ => 0.0,
                };
                if n <= 0.0 || f64::from(c_f64_to_i32(n)) != n {
                    is_array = false;
                } else if n > f64::from(max) {
                    max = c_f64_to_i32(n);
                }
            }
            Ok(())
        })?;
        if is_array && max as i64 == count as i64 {
            let len = t.raw_len();
            self.header(len, 0x90, 0xdc);
            check_stack(self.lua, self.used, 1, "in function mp_encode_lua_table_as_array")?;
            for j in 1..=len {
                let v: Value = t.raw_get(j)?;
                self.used += 1;
                self.value(&v, level + 1)?;
            }
        } else {
            check_stack(self.lua, self.used, 3, "in function mp_encode_lua_table_as_map")?;
            self.header(count, 0x80, 0xde);
            // Nesting is at most 16 levels, so a traversal per level is fine here.
            t.for_each(|k: Value, v: Value| {
                self.used += 3; // key and value from `lua_next`, plus the key's copy
                self.value(&k, level + 1)?;
                self.value(&v, level + 1)?;
                self.used -= 1;
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// Why decoding a value stopped without a Lua error.
enum Cursor {
    Eof,
    BadFormat,
}

enum MsgpackLevel {
    Array {
        remaining: u64,
        index: i64,
    },
    /// `remaining` pairs; the level's key handle holds a decoded key awaiting its value.
    Map {
        remaining: u64,
    },
}

struct MsgpackDecoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    /// Lua stack slots the C decoder would use.
    used: usize,
}

impl MsgpackDecoder<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Cursor> {
        if self.data.len() - self.pos < n {
            return Err(Cursor::Eof);
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A byte string whose length is in the `hdr` bytes after the type byte (or `fixed`).
    fn str_body(&mut self, hdr: usize, fixed: Option<usize>) -> LResult<Result<Value, Cursor>> {
        let avail = self.data.len() - self.pos;
        if avail < 1 + hdr {
            return Ok(Err(Cursor::Eof));
        }
        let len = fixed.unwrap_or_else(|| {
            self.data[self.pos + 1..self.pos + 1 + hdr]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        });
        if avail - 1 - hdr < len {
            return Ok(Err(Cursor::Eof));
        }
        let start = self.pos + 1 + hdr;
        self.pos = start + len;
        Ok(Ok(Value::String(self.lua.create_string(&self.data[start..start + len])?)))
    }

    /// `mp_decode_to_lua_type`: one complete value (counted in `used`).
    fn value(&mut self) -> LResult<Result<Value, Cursor>> {
        let lua = self.lua;
        let mut levels: Levels<MsgpackLevel> = Levels::new();
        'value: loop {
            if self.pos >= self.data.len() {
                return Ok(Err(Cursor::Eof));
            }
            check_stack(lua, self.used, 1, TOO_MANY_VALUES)?;
            let b = self.data[self.pos];
            let primitive: Result<Value, Cursor> = match b {
                0xcc => self.take(2).map(|s| int_value(i64::from(s[1]))),
                0xd0 => self.take(2).map(|s| int_value(i64::from(s[1] as i8))),
                0xcd => {
                    self.take(3).map(|s| int_value(i64::from(u16::from_be_bytes([s[1], s[2]]))))
                }
                0xd1 => {
                    self.take(3).map(|s| int_value(i64::from(i16::from_be_bytes([s[1], s[2]]))))
                }
                0xce => self
                    .take(5)
                    .map(|s| int_value(i64::from(u32::from_be_bytes([s[1], s[2], s[3], s[4]])))),
                0xd2 => self
                    .take(5)
                    .map(|s| int_value(i64::from(i32::from_be_bytes([s[1], s[2], s[3], s[4]])))),
                0xcf | 0xd3 => self.take(9).map(|s| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&s[1..9]);
                    // `lua_pushinteger((lua_Integer)u)`: uint 64 wraps to negative.
                    Value::Number(i64::from_be_bytes(b) as f64)
                }),
                0xc0 => self.take(1).map(|_| Value::Nil),
                0xc3 => self.take(1).map(|_| Value::Boolean(true)),
                0xc2 => self.take(1).map(|_| Value::Boolean(false)),
                0xca => self.take(5).map(|s| {
                    Value::Number(f64::from(f32::from_be_bytes([s[1], s[2], s[3], s[4]])))
                }),
                0xcb => self.take(9).map(|s| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&s[1..9]);
                    Value::Number(f64::from_be_bytes(b))
                }),
                0xd9 => self.str_body(1, None)?,
                0xda => self.str_body(2, None)?,
                0xdb => self.str_body(4, None)?,
                0xa0..=0xbf => self.str_body(0, Some(usize::from(b & 0x1f)))?,
                0x00..=0x7f => self.take(1).map(|_| int_value(i64::from(b))),
                0xe0..=0xff => self.take(1).map(|_| int_value(i64::from(b as i8))),
                0xdc | 0xdd | 0x90..=0x9f | 0xde | 0xdf | 0x80..=0x8f => {
                    let (len, hdr) = match b {
                        0xdc | 0xde => (None, 3),
                        0xdd | 0xdf => (None, 5),
                        _ => (Some(u64::from(b & 0x0f)), 1),
                    };
                    let len = match len {
                        Some(len) => {
                            self.pos += 1;
                            len
                        }
                        None => match self.take(hdr) {
                            Ok(s) => s[1..].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
                            Err(e) => return Ok(Err(e)),
                        },
                    };
                    let is_array = matches!(b, 0xdc | 0xdd | 0x90..=0x9f);
                    let table = lua.create_table()?;
                    self.used += 1;
                    if is_array {
                        check_stack(lua, self.used, 1, "in function mp_decode_to_lua_array")?;
                    }
                    if len == 0 {
                        let mut v = Value::Table(table);
                        if self.attach(&mut levels, &mut v)? {
                            return Ok(Ok(v));
                        }
                        continue 'value;
                    }
                    if is_array {
                        levels.push(
                            lua,
                            MsgpackLevel::Array { remaining: len, index: 1 },
                            table,
                            None,
                        )?;
                        self.used += 1; // the index pushed before each element
                    } else {
                        levels.push(lua, MsgpackLevel::Map { remaining: len }, table, None)?;
                    }
                    continue 'value;
                }
                _ => Err(Cursor::BadFormat),
            };
            let mut v = match primitive {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
            self.used += 1;
            if self.attach(&mut levels, &mut v)? {
                return Ok(Ok(v));
            }
        }
    }

    /// Stores the completed value `v` in the enclosing containers, completing them in turn.
    /// True when `v` is the complete top-level value; false when more input is needed.
    fn attach(&mut self, levels: &mut Levels<MsgpackLevel>, v: &mut Value) -> LResult<bool> {
        loop {
            let Some((level, handles)) = levels.top() else { return Ok(true) };
            let table = handles.table.as_ref().ok_or_else(missing_handle)?;
            let done = match level {
                MsgpackLevel::Array { remaining, index } => {
                    table.raw_set(*index, std::mem::take(v))?;
                    self.used -= 2;
                    *index += 1;
                    *remaining -= 1;
                    if *remaining > 0 {
                        self.used += 1;
                    }
                    *remaining == 0
                }
                MsgpackLevel::Map { remaining } => match handles.key.take() {
                    None => {
                        handles.key = Some(std::mem::take(v));
                        return Ok(false);
                    }
                    Some(key) => {
                        match &key {
                            Value::Nil => return Err(lua_error("table index is nil")),
                            Value::Number(n) if n.is_nan() => {
                                return Err(lua_error("table index is NaN"));
                            }
                            _ => {}
                        }
                        table.raw_set(key, std::mem::take(v))?;
                        self.used -= 2;
                        *remaining -= 1;
                        *remaining == 0
                    }
                },
            };
            if !done {
                return Ok(false);
            }
            *v = Value::Table(levels.pop()?.ok_or_else(missing_handle)?);
        }
    }
}

/// `mp_unpack_full`; `nargs` is the Lua stack height the C function starts from.
fn msgpack_unpack(
    lua: &Lua,
    args: &MultiValue,
    nargs: usize,
    limit: i64,
    offset: i64,
) -> LResult<MultiValue> {
    let s = check_string(lua, args, 1)?;
    let s = s.as_bytes();
    let len = s.len();
    if offset < 0 || limit < 0 {
        return Err(raise(
            lua,
            format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as i32, len as i32
            ),
        ));
    } else if offset as u64 > len as u64 {
        return Err(raise(
            lua,
            format!("Start offset {} greater than input length {}.", offset as i32, len as i32),
        ));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i64::from(i32::MAX) } else { limit };
    let mut dec = MsgpackDecoder { lua, data: &s, pos: offset as usize, used: nargs };
    let mut values: Vec<Value> = Vec::new();
    let mut refs = 0usize;
    while dec.pos < len && (values.len() as i64) < limit {
        match dec.value()? {
            Ok(v) => {
                if matches!(v, Value::String(_) | Value::Table(_)) {
                    refs += 1;
                    if refs > MAX_RESULT_REFS {
                        return Err(raise(lua, format!("stack overflow ({TOO_MANY_VALUES})")));
                    }
                }
                values.push(v);
            }
            Err(Cursor::Eof) => return Err(raise(lua, "Missing bytes in input.")),
            Err(Cursor::BadFormat) => return Err(raise(lua, "Bad data format in input.")),
        }
    }
    if !decode_all {
        check_stack(lua, dec.used, 1, "in function mp_unpack_full")?;
        let next = if dec.pos == len { -1 } else { dec.pos as i64 };
        values.insert(0, int_value(next));
    }
    // mlua pushes the results next to all the arguments, one slot short of the C limit.
    check_stack(lua, args.len() + values.len(), 1, TOO_MANY_VALUES)?;
    Ok(MultiValue::from_vec(values))
}

#[cfg(test)]
mod tests;
