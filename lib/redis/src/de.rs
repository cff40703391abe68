//! Reading replies into Rust types: a serde `Deserializer` over [`Value`] and the decoders of the
//! typed methods whose replies need more than serde (flat pairs, scan cursors, `OK`-or-nil).
//!
//! The rules (documented for users on [`Value::decode`] and in the crate docs): strings are text for
//! string targets, numbers for number targets and JSON for everything else; `Nil` is only ever `None`.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use crate::error::{Error, Result};
use crate::value::Value;

/// The newtype name through which `Value: Deserialize` asks [`ValueDeserializer`] for the raw reply.
pub(crate) const RAW_VALUE_TOKEN: &str = "$larder_redis::private::RawValue";

/// A decoding failure; becomes [`Error::Decode`].
#[derive(Debug)]
pub(crate) struct DeError(String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> DeError {
        DeError(msg.to_string())
    }
}

impl DeError {
    fn json(e: serde_json::Error) -> DeError {
        DeError(format!("stored value is not the expected JSON: {e}"))
    }

    fn unexpected(value: &Value, wanted: &str) -> DeError {
        DeError(format!("expected {wanted}, got {}", describe(value)))
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Nil => "nil".into(),
        Value::Int(n) => format!("integer {n}"),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) if s.len() <= 64 => format!("string {s:?}"),
            Ok(s) => format!("string {:?}...", s.chars().take(64).collect::<String>()),
            Err(_) => format!("{} bytes of binary data", b.len()),
        },
        Value::Array(a) => format!("an array of {} elements", a.len()),
    }
}

fn text(b: &[u8]) -> Result<&str, DeError> {
    std::str::from_utf8(b)
        .map_err(|_| DeError("string is not valid UTF-8 (read it as bytes instead)".into()))
}

fn is_json(b: &[u8]) -> bool {
    serde_json::from_slice::<de::IgnoredAny>(b).is_ok()
}

/// Runs `f` on a JSON deserializer over `b` and checks that nothing follows the value.
fn json<'de, T>(
    b: &'de [u8],
    f: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, DeError> {
    let mut d = serde_json::Deserializer::from_slice(b);
    let out = f(&mut d).map_err(DeError::json)?;
    d.end().map_err(DeError::json)?;
    Ok(out)
}

/// A serde `Deserializer` over a borrowed [`Value`].
///
/// `Option` needs care: the first `Option` around a reply is `None` only for `Nil` (so that
/// `get::<T>` returns `None` only for a missing key). A stored value inside that `Option` is JSON,
/// so a nested `Option` reads the stored text `null` as `None`: `set(k, None::<i32>)` then
/// `get::<Option<i32>>(k)` is `Some(None)`.
pub(crate) struct ValueDeserializer<'de> {
    value: &'de Value,
    /// Whether an `Option` has already been unwrapped around this value.
    in_option: bool,
}

impl<'de> ValueDeserializer<'de> {
    pub(crate) fn new(value: &'de Value) -> Self {
        ValueDeserializer { value, in_option: false }
    }

    fn int<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Int(n) => v.visit_i64(*n),
            Value::Bytes(b) => {
                let s = text(b)?;
                if let Ok(n) = s.parse::<i64>() {
                    v.visit_i64(n)
                } else if let Ok(n) = s.parse::<u64>() {
                    v.visit_u64(n)
                } else if let Ok(n) = s.parse::<i128>() {
                    v.visit_i128(n)
                } else {
                    Err(DeError::unexpected(self.value, "an integer"))
                }
            }
            other => Err(DeError::unexpected(other, "an integer")),
        }
    }

    fn float<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Int(n) => v.visit_i64(*n),
            Value::Bytes(b) => match text(b)?.parse::<f64>() {
                Ok(f) => v.visit_f64(f),
                Err(_) => Err(DeError::unexpected(self.value, "a number")),
            },
            other => Err(DeError::unexpected(other, "a number")),
        }
    }

    fn string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Bytes(b) => v.visit_borrowed_str(text(b)?),
            Value::Int(n) => v.visit_string(n.to_string()),
            other => Err(DeError::unexpected(other, "a string")),
        }
    }

    fn seq<V: Visitor<'de>>(items: &'de [Value], v: V) -> Result<V::Value, DeError> {
        let mut seq = SeqDe { iter: items.iter() };
        let out = v.visit_seq(&mut seq)?;
        match seq.iter.len() {
            0 => Ok(out),
            n => Err(DeError(format!("{n} more array elements than expected"))),
        }
    }

    fn map<V: Visitor<'de>>(items: &'de [Value], v: V) -> Result<V::Value, DeError> {
        if items.len() % 2 != 0 {
            return Err(DeError(format!(
                "expected a flat [key, value, ...] array, got {} elements",
                items.len()
            )));
        }
        v.visit_map(MapDe { iter: items.iter(), value: None })
    }
}

macro_rules! forward_ints {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            self.int(v)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Nil => v.visit_unit(),
            Value::Int(n) => v.visit_i64(*n),
            Value::Bytes(b) if is_json(b) => json(b, |d| de::Deserializer::deserialize_any(d, v)),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => v.visit_borrowed_str(s),
                Err(_) => v.visit_borrowed_bytes(b),
            },
            Value::Array(a) => Self::seq(a, v),
        }
    }

    forward_ints!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.float(v)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.float(v)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Int(n) => v.visit_bool(*n != 0),
            Value::Bytes(b) => match b.as_slice() {
                b"true" | b"1" => v.visit_bool(true),
                b"false" | b"0" => v.visit_bool(false),
                _ => Err(DeError::unexpected(self.value, "a boolean")),
            },
            other => Err(DeError::unexpected(other, "a boolean")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.string(v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.string(v)
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.string(v)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.string(v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Bytes(b) => v.visit_borrowed_bytes(b),
            Value::Int(n) => v.visit_byte_buf(n.to_string().into_bytes()),
            other => Err(DeError::unexpected(other, "a string")),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(v)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Nil => v.visit_none(),
            Value::Bytes(b) if self.in_option && b == b"null" => v.visit_none(),
            value => v.visit_some(ValueDeserializer { value, in_option: true }),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        // `()` means "I don't care about the reply" (`OK`, a count, ...).
        v.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        if name == RAW_VALUE_TOKEN {
            return v.visit_newtype_struct(RawDeserializer { value: self.value });
        }
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Array(a) => Self::seq(a, v),
            Value::Bytes(b) => json(b, |d| de::Deserializer::deserialize_seq(d, v)),
            other => Err(DeError::unexpected(other, "an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Array(a) => Self::seq(a, v),
            Value::Bytes(b) => json(b, |d| de::Deserializer::deserialize_tuple(d, len, v)),
            other => Err(DeError::unexpected(other, "an array")),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::Array(a) => Self::seq(a, v),
            Value::Bytes(b) => {
                json(b, |d| de::Deserializer::deserialize_tuple_struct(d, name, len, v))
            }
            other => Err(DeError::unexpected(other, "an array")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Array(a) => Self::map(a, v),
            Value::Bytes(b) => json(b, |d| de::Deserializer::deserialize_map(d, v)),
            other => Err(DeError::unexpected(other, "a map")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::Array(a) => Self::map(a, v),
            Value::Bytes(b) => {
                json(b, |d| de::Deserializer::deserialize_struct(d, name, fields, v))
            }
            other => Err(DeError::unexpected(other, "a map")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::Bytes(b) if is_json(b) => {
                json(b, |d| de::Deserializer::deserialize_enum(d, name, variants, v))
            }
            // A unit variant stored as plain text (`red` rather than `"red"`).
            Value::Bytes(b) => {
                let s: &'de str = text(b)?;
                v.visit_enum(de::value::BorrowedStrDeserializer::<DeError>::new(s))
            }
            Value::Int(n) => v.visit_enum(n.to_string().into_deserializer()),
            other => Err(DeError::unexpected(other, "an enum")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

struct SeqDe<'de> {
    iter: std::slice::Iter<'de, Value>,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            Some(v) => seed.deserialize(ValueDeserializer::new(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapDe<'de> {
    iter: std::slice::Iter<'de, Value>,
    value: Option<&'de Value>,
}

impl<'de> de::MapAccess<'de> for MapDe<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(k) = self.iter.next() else { return Ok(None) };
        self.value = self.iter.next();
        seed.deserialize(ValueDeserializer::new(k)).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, DeError> {
        let v = self.value.take().ok_or_else(|| DeError("a map key without a value".into()))?;
        seed.deserialize(ValueDeserializer::new(v))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len() / 2)
    }
}

/// Hands out a reply as it is, for `Value: Deserialize`.
struct RawDeserializer<'de> {
    value: &'de Value,
}

impl<'de> de::Deserializer<'de> for RawDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Nil => v.visit_unit(),
            Value::Int(n) => v.visit_i64(*n),
            Value::Bytes(b) => v.visit_borrowed_bytes(b),
            Value::Array(a) => v.visit_seq(RawSeq { iter: a.iter() }),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct RawSeq<'de> {
    iter: std::slice::Iter<'de, Value>,
}

impl<'de> de::SeqAccess<'de> for RawSeq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            Some(v) => seed.deserialize(RawDeserializer { value: v }).map(Some),
            None => Ok(None),
        }
    }
}

/// Builds a [`Value`] from whatever a deserializer offers (our raw one, or JSON).
pub(crate) struct RawValueVisitor;

impl<'de> Visitor<'de> for RawValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Redis reply")
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(RawValueVisitor)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(RawValueVisitor)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Int(i64::from(b)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Int(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(i64::try_from(n).map_or_else(|_| Value::Bytes(n.to_string().into_bytes()), Value::Int))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(Value::Bytes(n.to_string().into_bytes()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Bytes(s.as_bytes().to_vec()))
    }

    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(b.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, b: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(b))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element::<Value>()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // The RESP2 rendering of a map: a flat [key, value, ...] array.
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<Value, Value>()? {
            out.push(k);
            out.push(v);
        }
        Ok(Value::Array(out))
    }
}

// ---- decoders used by the typed methods ----

/// The default: serde, by the rules above.
pub(crate) fn decode<T: DeserializeOwned>(v: Value) -> Result<T> {
    v.decode()
}

/// `OK` (or any non-nil reply) is `true`, nil is `false` (SET NX/XX that did not set).
pub(crate) fn ok_or_nil(v: Value) -> Result<bool> {
    Ok(!v.is_nil())
}

/// A string reply as raw bytes, nil as `None`.
pub(crate) fn bytes_opt(v: Value) -> Result<Option<Vec<u8>>> {
    match v {
        Value::Nil => Ok(None),
        Value::Bytes(b) => Ok(Some(b)),
        Value::Int(n) => Ok(Some(n.to_string().into_bytes())),
        other => Err(Error::decode(DeError::unexpected(&other, "a string"))),
    }
}

/// An array, nil as empty (LPOP/RPOP with a count on a missing list).
pub(crate) fn vec_or_nil<T: DeserializeOwned>(v: Value) -> Result<Vec<T>> {
    match v {
        Value::Nil => Ok(Vec::new()),
        v => v.decode(),
    }
}

/// A flat `[a1, b1, a2, b2, ...]` array as pairs (WITHSCORES, HSCAN, HRANDFIELD WITHVALUES).
pub(crate) fn pairs<A: DeserializeOwned, B: DeserializeOwned>(v: Value) -> Result<Vec<(A, B)>> {
    let items = match v {
        Value::Array(a) => a,
        Value::Nil => return Ok(Vec::new()),
        other => return Err(Error::decode(DeError::unexpected(&other, "an array"))),
    };
    if items.len() % 2 != 0 {
        return Err(Error::decode(format!("expected pairs, got {} elements", items.len())));
    }
    items.chunks(2).map(|c| Ok((c[0].decode()?, c[1].decode()?))).collect()
}

/// A pair as an `Option` (ZPOPMIN/ZPOPMAX without count on an empty key gives `[]`).
pub(crate) fn pair_opt<A: DeserializeOwned, B: DeserializeOwned>(
    v: Value,
) -> Result<Option<(A, B)>> {
    Ok(pairs(v)?.into_iter().next())
}

fn cursor(v: &Value) -> Result<u64> {
    v.decode().map_err(|e| Error::decode(format!("bad scan cursor: {e}")))
}

fn scan_parts(v: Value) -> Result<(u64, Value)> {
    match v {
        Value::Array(mut a) if a.len() == 2 => {
            let items = a.pop().expect("two elements");
            Ok((cursor(&a[0])?, items))
        }
        other => Err(Error::decode(DeError::unexpected(&other, "[cursor, items]"))),
    }
}

/// `[cursor, [item, ...]]` (SCAN, SSCAN).
pub(crate) fn scan<T: DeserializeOwned>(v: Value) -> Result<(u64, Vec<T>)> {
    let (c, items) = scan_parts(v)?;
    Ok((c, items.decode()?))
}

/// `[cursor, [a, b, a, b, ...]]` (HSCAN, ZSCAN).
pub(crate) fn scan_pairs<A: DeserializeOwned, B: DeserializeOwned>(
    v: Value,
) -> Result<(u64, Vec<(A, B)>)> {
    let (c, items) = scan_parts(v)?;
    Ok((c, pairs(items)?))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn b(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn strings_are_text_for_string_targets_and_json_otherwise() {
        assert_eq!(b("12").decode::<String>().unwrap(), "12");
        assert_eq!(b("12").decode::<i64>().unwrap(), 12);
        assert_eq!(b("0").decode::<u8>().unwrap(), 0);
        assert_eq!(b("").decode::<String>().unwrap(), "");
        assert!(!b("false").decode::<bool>().unwrap());
        assert_eq!(b("1.5").decode::<f64>().unwrap(), 1.5);
        assert_eq!(b("-inf").decode::<f64>().unwrap(), f64::NEG_INFINITY);
        assert_eq!(b("\"quoted\"").decode::<String>().unwrap(), "\"quoted\"");
        assert_eq!(b("[1,2]").decode::<Vec<i32>>().unwrap(), vec![1, 2]);
        assert!(b("null").decode::<Option<i32>>().is_err());
        assert_eq!(b("null").decode::<Option<Option<i32>>>().unwrap(), Some(None));
        assert_eq!(b("7").decode::<Option<Option<i32>>>().unwrap(), Some(Some(7)));
        assert_eq!(b("null").decode::<serde_json::Value>().unwrap(), serde_json::Value::Null);
        assert_eq!(b("hello").decode::<serde_json::Value>().unwrap(), serde_json::json!("hello"));
        assert_eq!(
            b("{\"a\":1}").decode::<serde_json::Value>().unwrap(),
            serde_json::json!({"a":1})
        );
        assert!(b("").decode::<i64>().is_err());
        assert!(Value::Nil.decode::<String>().is_err());
    }

    #[test]
    fn option_is_none_only_for_nil() {
        assert_eq!(Value::Nil.decode::<Option<String>>().unwrap(), None);
        assert_eq!(b("").decode::<Option<String>>().unwrap(), Some(String::new()));
        assert_eq!(b("null").decode::<Option<String>>().unwrap(), Some("null".into()));
        assert_eq!(Value::Int(0).decode::<Option<i64>>().unwrap(), Some(0));
    }

    #[test]
    fn ints_and_bools() {
        assert!(Value::Int(1).decode::<bool>().unwrap());
        assert!(!Value::Int(0).decode::<bool>().unwrap());
        assert_eq!(Value::Int(7).decode::<String>().unwrap(), "7");
        assert_eq!(Value::Int(7).decode::<f64>().unwrap(), 7.0);
        assert!(Value::Int(-1).decode::<u32>().is_err());
    }

    #[test]
    fn arrays_as_sequences_tuples_and_maps() {
        let flat = Value::Array(vec![b("a"), b("1"), b("b"), b("2")]);
        let m: HashMap<String, i64> = flat.decode().unwrap();
        assert_eq!(m["a"], 1);
        assert_eq!(m["b"], 2);
        #[derive(serde::Deserialize, PartialEq, Debug)]
        struct S {
            a: i64,
            b: String,
        }
        assert_eq!(flat.decode::<S>().unwrap(), S { a: 1, b: "2".into() });
        let t: (String, i64, Option<String>) =
            Value::Array(vec![b("x"), Value::Int(3), Value::Nil]).decode().unwrap();
        assert_eq!(t, ("x".into(), 3, None));
        assert!(Value::Array(vec![b("x")]).decode::<(String, String)>().is_err());
        assert!(Value::Array(vec![b("x"), b("y")]).decode::<(String,)>().is_err());
    }

    #[test]
    fn value_decodes_raw_at_any_depth() {
        let v = Value::Array(vec![b("12"), Value::Array(vec![b("null"), Value::Nil])]);
        assert_eq!(v.decode::<Value>().unwrap(), v);
        let (first, rest): (i64, Value) = v.decode().unwrap();
        assert_eq!(first, 12);
        assert_eq!(rest, Value::Array(vec![b("null"), Value::Nil]));
        let from_json: Value = serde_json::from_str(r#"[1, "a", null, {"k": "v"}]"#).unwrap();
        assert_eq!(
            from_json,
            Value::Array(vec![
                Value::Int(1),
                b("a"),
                Value::Nil,
                Value::Array(vec![b("k"), b("v")])
            ])
        );
    }

    #[test]
    fn enums_from_text_or_json() {
        #[derive(serde::Deserialize, PartialEq, Debug)]
        enum Color {
            Red,
            Green,
        }
        assert_eq!(b("Red").decode::<Color>().unwrap(), Color::Red);
        assert_eq!(b("\"Green\"").decode::<Color>().unwrap(), Color::Green);
    }

    #[test]
    fn binary_is_bytes_not_text() {
        let v = Value::Bytes(vec![0xff, 0]);
        assert!(v.decode::<String>().is_err());
        assert_eq!(bytes_opt(v).unwrap(), Some(vec![0xff, 0]));
    }

    #[test]
    fn pairs_and_scans() {
        let v = Value::Array(vec![b("m"), b("1.5"), b("n"), b("2")]);
        assert_eq!(pairs::<String, f64>(v).unwrap(), vec![("m".into(), 1.5), ("n".into(), 2.0)]);
        let s = Value::Array(vec![b("17"), Value::Array(vec![b("k")])]);
        assert_eq!(scan::<String>(s).unwrap(), (17, vec!["k".to_string()]));
    }
}
