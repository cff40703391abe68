//! [`Value`], one Redis reply as the REST API renders it, and the decoding of response bodies
//! (the `{"result"}`/`{"error"}` envelope and the base64 rules).

use base64::Engine as _;
use serde::de::DeserializeOwned;

use crate::de::{self, ValueDeserializer};
use crate::error::{Error, Result};

/// One Redis reply, as the REST API renders it (RESP2 semantics in JSON).
///
/// The REST API has no separate types for status replies, doubles, maps or booleans: status replies
/// and doubles are strings (`"OK"`, `"1.5"`), maps are flat `[key, value, ...]` arrays, and Lua's
/// `true` is `1`. Strings are bytes here because with base64 encoding (the default) they are
/// binary-safe.
///
/// Turn a value into a Rust type with [`Value::decode`] (the same rules as every typed method; see
/// the crate documentation, "Reading values").
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
/// use larder_redis::Value;
/// let reply = redis.command(("OBJECT", "ENCODING", "counter")).await?;
/// match &reply {
///     Value::Nil => println!("no such key"),
///     other => println!("{:?}", other.as_str()),
/// }
/// let as_text: Option<String> = reply.decode()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Value {
    /// `null`: a missing key, a missing field, an empty pop, a null array.
    Nil,
    /// An integer reply.
    Int(i64),
    /// A string reply (bulk or status), as raw bytes.
    Bytes(Vec<u8>),
    /// An array reply, possibly nested.
    Array(Vec<Value>),
}

impl Value {
    /// Whether this is [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The integer, if this is [`Value::Int`].
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The bytes, if this is [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text, if this is [`Value::Bytes`] holding valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The elements, if this is [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, if this is [`Value::Array`].
    pub fn into_array(self) -> Option<Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The bytes, if this is [`Value::Bytes`].
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Decodes this reply into `T` through serde.
    ///
    /// - `Nil` is `None` for an `Option`, and an error for anything else (except `()`). Only `Nil` is
    ///   `None` for that first `Option`; inside it, a stored value is JSON, so an `Option<Option<T>>`
    ///   reads the stored text `null` as `Some(None)`.
    /// - `Int` is any integer type, a float, a `bool` (non-zero is `true`) or its decimal text.
    /// - `Bytes` is read as text for string types (`String`, `char`, unit enum variants written as
    ///   plain text), as bytes for `serde_bytes`-style byte buffers, as a number for number types
    ///   (`"1.5"`, `"inf"`), and as **JSON** for everything else (structs, maps, sequences, `bool`,
    ///   `serde_json::Value`; a text that is not JSON becomes a JSON string for self-describing
    ///   targets such as `serde_json::Value`).
    /// - `Array` is a sequence or tuple, or a map/struct read from flat `[key, value, ...]` pairs
    ///   (so `HGETALL` decodes into a `HashMap` or a struct).
    /// - `Value` itself decodes as is, at any depth (`Vec<Value>`, `(i64, Value)`).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(ValueDeserializer::new(self)).map_err(Error::decode)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Bytes(s.into_bytes())
    }
}

impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Value {
        Value::Bytes(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Value {
        Value::Array(a)
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Value, D::Error> {
        // Our own deserializer recognises this name and hands out the reply untouched (no JSON
        // parsing of strings); any other deserializer just sees a newtype around the value.
        d.deserialize_newtype_struct(de::RAW_VALUE_TOKEN, de::RawValueVisitor)
    }
}

/// Converts one JSON value of a response into a [`Value`], base64-decoding strings when `base64` is
/// set. `top` is true for the `result` itself (not an element inside it): only there may the server
/// leave the status reply `OK` unencoded.
pub(crate) fn from_json(json: serde_json::Value, base64: bool, top: bool) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Int(i64::from(b)),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            // Redis integers fit i64; anything else (a float from a foreign server) keeps its text.
            None => Value::Bytes(n.to_string().into_bytes()),
        },
        serde_json::Value::String(s) => Value::Bytes(decode_string(s, base64, top)),
        serde_json::Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| from_json(v, base64, false)).collect())
        }
        // Never sent by the REST API; kept as its JSON text rather than failing the whole reply.
        obj @ serde_json::Value::Object(_) => Value::Bytes(obj.to_string().into_bytes()),
    }
}

/// The base64 rules of the REST API (`Upstash-Encoding: base64`): every string is standard base64
/// with padding, except that a top-level status `OK` may be sent as is. A string that is not valid
/// base64 is kept as it is (that covers `OK` at any depth from servers that leave it raw: "OK" is
/// never valid base64, its length not being a multiple of four).
fn decode_string(s: String, base64: bool, top: bool) -> Vec<u8> {
    if !base64 || (top && s == "OK") {
        return s.into_bytes();
    }
    match base64::engine::general_purpose::STANDARD.decode(s.as_bytes()) {
        Ok(bytes) => bytes,
        Err(_) => s.into_bytes(),
    }
}

/// The outcome of one command in a response: `{"result": ...}` or `{"error": "..."}`.
pub(crate) fn from_envelope(json: serde_json::Value, base64: bool) -> Result<Result<Value>> {
    let serde_json::Value::Object(mut obj) = json else {
        return Err(Error::decode(format!("expected {{\"result\"}} or {{\"error\"}}, got {json}")));
    };
    if let Some(err) = obj.remove("error") {
        match err {
            serde_json::Value::String(s) if !s.is_empty() => return Ok(Err(Error::Command(s))),
            serde_json::Value::String(_) | serde_json::Value::Null => {}
            other => return Ok(Err(Error::Command(other.to_string()))),
        }
    }
    match obj.remove("result") {
        Some(v) => Ok(Ok(from_json(v, base64, true))),
        None => Err(Error::decode("the response has neither \"result\" nor \"error\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn top_level_ok_stays_and_everything_else_is_decoded() {
        assert_eq!(from_json(json!("OK"), true, true), Value::from("OK"));
        assert_eq!(from_json(json!(b64(b"PONG")), true, true), Value::from("PONG"));
        assert_eq!(from_json(json!(b64(b"OK")), true, true), Value::from("OK"));
        assert_eq!(from_json(json!(""), true, true), Value::Bytes(vec![]));
        assert_eq!(
            from_json(json!(b64(&[0, 255, 128])), true, true),
            Value::Bytes(vec![0, 255, 128])
        );
    }

    #[test]
    fn nested_strings_are_decoded_and_raw_ok_survives() {
        let v = from_json(json!([b64(b"a"), [b64(b"OK"), "OK", 3, null]]), true, true);
        assert_eq!(
            v,
            Value::Array(vec![
                Value::from("a"),
                Value::Array(vec![Value::from("OK"), Value::from("OK"), Value::Int(3), Value::Nil]),
            ])
        );
    }

    #[test]
    fn without_base64_strings_are_text() {
        assert_eq!(from_json(json!("T0s="), false, true), Value::from("T0s="));
    }

    #[test]
    fn envelopes() {
        assert_eq!(from_envelope(json!({"result": null}), true).unwrap().unwrap(), Value::Nil);
        let e = from_envelope(json!({"error": "ERR x"}), true).unwrap().unwrap_err();
        assert_eq!(e.redis_message(), Some("ERR x"));
        assert!(from_envelope(json!({}), true).is_err());
        assert!(from_envelope(json!([1]), true).is_err());
    }
}
