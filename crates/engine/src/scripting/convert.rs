//! Conversions between Redis replies and Lua values, with Redis's exact rules: numbers passed to
//! `redis.call` are formatted with `%.17g`; script results truncate numbers toward zero, map `false` to nil,
//! stop arrays at the first nil, and read `{err=...}`/`{ok=...}` tables as error and status replies.

use bytes::{Bytes, BytesMut};
use larder_resp::{Reply, format_double};
use mlua::{Lua, Table, Value};

/// C's `%.17g`, which Redis uses for Lua numbers passed as command arguments.
pub(crate) fn format_g17(x: f64) -> String {
    // Integers below 10^17 print as themselves (the common case: counts, timestamps, windows).
    if x.fract() == 0.0 && x.abs() < 1e17 && !(x == 0.0 && x.is_sign_negative()) {
        return (x as i64).to_string();
    }
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.16e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if !(-4..17).contains(&exp) {
        let d = digits.trim_end_matches('0');
        let mut m = d[..1].to_string();
        if d.len() > 1 {
            m.push('.');
            m.push_str(&d[1..]);
        }
        return format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    if exp >= 0 {
        let split = exp as usize + 1;
        let (int, frac) = digits.split_at(split);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
    } else {
        let zeros = "0".repeat((-exp - 1) as usize);
        format!("{sign}0.{zeros}{}", digits.trim_end_matches('0'))
    }
}

/// A Lua number as a Redis integer reply: truncated toward zero; values outside `i64` (and NaN) become
/// `i64::MIN`, as the C cast Redis uses does on x86-64.
pub(crate) fn lua_number_to_int(x: f64) -> i64 {
    // 2^63: the first double outside i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() || !(-LIMIT..LIMIT).contains(&x) { i64::MIN } else { x.trunc() as i64 }
}

/// A `redis.call` argument list: strings as they are, numbers with `%.17g`; `None` if an argument is
/// anything else. The arguments share one buffer: one allocation for the lot, and the slices the command
/// keeps (a key, a propagated argv) share it by reference count.
pub(crate) fn lua_to_argv<'a>(
    values: impl ExactSizeIterator<Item = &'a Value>,
) -> Option<Vec<Bytes>> {
    let mut buf = BytesMut::with_capacity(values.len() * 16);
    let mut ends = Vec::with_capacity(values.len());
    for v in values {
        match v {
            Value::String(s) => buf.extend_from_slice(&s.as_bytes()),
            Value::Integer(n) => buf.extend_from_slice(format_g17(*n as f64).as_bytes()),
            Value::Number(n) => buf.extend_from_slice(format_g17(*n).as_bytes()),
            _ => return None,
        }
        ends.push(buf.len());
    }
    let all = buf.freeze();
    let mut start = 0;
    Some(
        ends.into_iter()
            .map(|end| {
                let arg = all.slice(start..end);
                start = end;
                arg
            })
            .collect(),
    )
}

/// A command's reply as a Lua value, for `redis.call`/`redis.pcall` (RESP2 rules unless `resp3`).
pub(crate) fn reply_to_lua(lua: &Lua, reply: &Reply, resp3: bool) -> mlua::Result<Value> {
    Ok(match reply {
        Reply::Nil | Reply::NilArray => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Int(n) => Value::Number(*n as f64),
        Reply::Bulk(b) | Reply::Verbatim(b) => Value::String(lua.create_string(b)?),
        Reply::Simple(s) => {
            let t = lua.create_table()?;
            t.raw_set("ok", s.as_ref())?;
            Value::Table(t)
        }
        Reply::Error(e) => {
            let t = lua.create_table()?;
            t.raw_set("err", e.as_ref())?;
            Value::Table(t)
        }
        Reply::Double(d) => {
            if resp3 {
                let t = lua.create_table()?;
                t.raw_set("double", *d)?;
                Value::Table(t)
            } else {
                Value::String(lua.create_string(format_double(*d))?)
            }
        }
        Reply::Bool(b) => {
            if resp3 {
                Value::Boolean(*b)
            } else {
                Value::Number(if *b { 1.0 } else { 0.0 })
            }
        }
        Reply::Array(items) => Value::Table(array(lua, items, resp3)?),
        Reply::Set(items) => {
            if resp3 {
                let inner = lua.create_table()?;
                for item in items {
                    inner.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
                }
                let t = lua.create_table()?;
                t.raw_set("set", inner)?;
                Value::Table(t)
            } else {
                Value::Table(array(lua, items, resp3)?)
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                let inner = lua.create_table()?;
                for (k, v) in pairs {
                    inner.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
                }
                let t = lua.create_table()?;
                t.raw_set("map", inner)?;
                Value::Table(t)
            } else {
                let t = lua.create_table_with_capacity(pairs.len() * 2, 0)?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    t.raw_set(2 * i + 1, reply_to_lua(lua, k, resp3)?)?;
                    t.raw_set(2 * i + 2, reply_to_lua(lua, v, resp3)?)?;
                }
                Value::Table(t)
            }
        }
    })
}

fn array(lua: &Lua, items: &[Reply], resp3: bool) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
    }
    Ok(t)
}

/// A script's result as a reply.
pub(crate) fn lua_to_reply(v: &Value, depth: usize) -> Reply {
    if depth > 1000 {
        return Reply::Error("ERR reached lua stack limit".into());
    }
    match v {
        Value::Nil | Value::Boolean(false) => Reply::Nil,
        Value::Boolean(true) => Reply::Int(1),
        Value::Integer(n) => Reply::Int(*n),
        Value::Number(n) => Reply::Int(lua_number_to_int(*n)),
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Table(t) => table_to_reply(t, depth),
        _ => Reply::Nil,
    }
}

fn table_to_reply(t: &Table, depth: usize) -> Reply {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        let msg = String::from_utf8_lossy(&e.as_bytes()).replace(['\r', '\n'], " ");
        return Reply::Error(msg.into());
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        let msg = String::from_utf8_lossy(&s.as_bytes()).replace(['\r', '\n'], " ");
        return Reply::Simple(msg.into());
    }
    // The RESP3 shapes a script can return (Redis 7): {double=n}, {map={...}}, {set={...}},
    // {big_number='...'}, {verbatim_string={format=..., string=...}}. RESP2 clients get them flattened.
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(d)) => return Reply::Double(d),
        Ok(Value::Integer(d)) => return Reply::Double(d as f64),
        _ => {}
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs = m
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, v)| (lua_to_reply(&k, depth + 1), lua_to_reply(&v, depth + 1)))
            .collect();
        return Reply::Map(pairs);
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        let members = set
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| lua_to_reply(&k, depth + 1))
            .collect();
        return Reply::Set(members);
    }
    if let Ok(Value::String(n)) = t.raw_get::<Value>("big_number") {
        return Reply::Bulk(Bytes::copy_from_slice(&n.as_bytes()));
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string")
        && let Ok(Value::String(text)) = v.raw_get::<Value>("string")
    {
        return Reply::Verbatim(Bytes::copy_from_slice(&text.as_bytes()));
    }
    let mut out = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => out.push(lua_to_reply(&v, depth + 1)),
        }
    }
    Reply::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_c() {
        // Expected values from redis-server 7.0.15: EVAL "redis.call('set','f',<x>) return redis.call('get','f')" 0
        for (x, want) in [
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 / 3.0, "0.33333333333333331"),
            (1e20, "1e+20"),
            (1_700_000_000_000.5, "1700000000000.5"),
            (21000.0, "21000"),
            (-0.0, "-0"),
            (1e-5, "1.0000000000000001e-05"),
            (123_456_789_012_345_678.0, "1.2345678901234568e+17"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (1e16, "10000000000000000"),
            (0.0001, "0.0001"),
            (0.0, "0"),
            (60000.0, "60000"),
            (-7.0, "-7"),
            (99_999_999_999_999_984.0, "99999999999999984"),
            (1e17, "1e+17"),
            (-1e17, "-1e+17"),
            (9_007_199_254_740_993.0, "9007199254740992"),
        ] {
            assert_eq!(format_g17(x), want, "{x}");
        }
    }

    #[test]
    fn argv_shares_one_buffer() {
        let lua = Lua::new();
        let values = [
            Value::String(lua.create_string("SET").unwrap()),
            Value::Number(1.5),
            Value::Integer(7),
        ];
        let argv = lua_to_argv(values.iter()).unwrap();
        assert_eq!(argv, [&b"SET"[..], b"1.5", b"7"]);
        assert!(lua_to_argv([Value::Boolean(true)].iter()).is_none());
        assert_eq!(lua_to_argv([].iter()).unwrap(), Vec::<Bytes>::new());
    }

    #[test]
    fn truncation() {
        assert_eq!(lua_number_to_int(9.5), 9);
        assert_eq!(lua_number_to_int(-2.7), -2);
        assert_eq!(lua_number_to_int(1e30), i64::MIN);
        assert_eq!(lua_number_to_int(f64::NAN), i64::MIN);
    }
}
