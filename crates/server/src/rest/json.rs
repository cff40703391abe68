//! The Upstash JSON shapes: parsing a command body (`["SET","k","v"]`, `[[...],[...]]`) into `argv` with
//! the exact text of numbers and booleans, and the one encoder from `Reply` to Upstash JSON (plain or
//! base64).
//!
//! Both are hand-written rather than serde: the request side must keep a number's text as sent (`2.0`,
//! `1e+21`, integers beyond 2^53) and survive lone UTF-16 surrogates, and both sides are the hot path.

use base64::Engine as _;
use bytes::Bytes;
use larder_resp::{Reply, format_double};

/// Why a body is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("ERR failed to parse the request body as JSON: {0}")]
    Json(&'static str),
    #[error("ERR the request body must be a JSON array of command arguments")]
    NotCommand,
    #[error("ERR the request body must be a JSON array of commands")]
    NotBatch,
    #[error("ERR empty command")]
    Empty,
    #[error("ERR command arguments must be strings, numbers or booleans, not {0}")]
    BadArgument(&'static str),
}

/// Parses `["CMD", arg, ...]`.
pub fn parse_command(body: &[u8]) -> Result<Vec<Bytes>, BodyError> {
    let mut p = Parser { s: body, i: 0 };
    p.ws();
    if p.peek() != Some(b'[') {
        return Err(BodyError::NotCommand);
    }
    let argv = p.command()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(BodyError::Json("trailing characters after the JSON value"));
    }
    Ok(argv)
}

/// Parses `[["CMD", ...], ["CMD", ...]]`.
pub fn parse_batch(body: &[u8]) -> Result<Vec<Vec<Bytes>>, BodyError> {
    let mut p = Parser { s: body, i: 0 };
    p.ws();
    if !p.eat(b'[') {
        return Err(BodyError::NotBatch);
    }
    let mut cmds = Vec::new();
    p.ws();
    if !p.eat(b']') {
        loop {
            p.ws();
            if p.peek() != Some(b'[') {
                return Err(BodyError::NotBatch);
            }
            cmds.push(p.command()?);
            p.ws();
            if p.eat(b',') {
                continue;
            }
            if p.eat(b']') {
                break;
            }
            return Err(BodyError::Json("expected ',' or ']'"));
        }
    }
    p.ws();
    if p.i != p.s.len() {
        return Err(BodyError::Json("trailing characters after the JSON value"));
    }
    Ok(cmds)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// `[arg, ...]` at the cursor.
    fn command(&mut self) -> Result<Vec<Bytes>, BodyError> {
        self.i += 1; // '['
        let mut argv = Vec::new();
        self.ws();
        if self.eat(b']') {
            return Err(BodyError::Empty);
        }
        loop {
            self.ws();
            argv.push(self.scalar()?);
            self.ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                return Ok(argv);
            }
            return Err(BodyError::Json("expected ',' or ']'"));
        }
    }

    fn scalar(&mut self) -> Result<Bytes, BodyError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true").map(|_| Bytes::from_static(b"true")),
            Some(b'f') => self.literal(b"false").map(|_| Bytes::from_static(b"false")),
            Some(b'n') => {
                self.literal(b"null")?;
                Err(BodyError::BadArgument("null"))
            }
            Some(b'[') => Err(BodyError::BadArgument("an array")),
            Some(b'{') => Err(BodyError::BadArgument("an object")),
            None => Err(BodyError::Json("unexpected end of input")),
            Some(_) => Err(BodyError::Json("unexpected character")),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), BodyError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(BodyError::Json("invalid literal"))
        }
    }

    /// A JSON number, kept as the exact text sent.
    fn number(&mut self) -> Result<Bytes, BodyError> {
        let start = self.i;
        self.eat(b'-');
        let digits = |p: &mut Self| {
            let s = p.i;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i - s
        };
        let int_start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s[int_start] == b'0') {
            return Err(BodyError::Json("invalid number"));
        }
        if self.eat(b'.') && digits(self) == 0 {
            return Err(BodyError::Json("invalid number"));
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if digits(self) == 0 {
                return Err(BodyError::Json("invalid number"));
            }
        }
        Ok(Bytes::copy_from_slice(&self.s[start..self.i]))
    }

    fn string(&mut self) -> Result<Bytes, BodyError> {
        self.i += 1; // opening quote
        let start = self.i;
        // Fast path: no escapes.
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    let out = &self.s[start..self.i];
                    self.i += 1;
                    return if std::str::from_utf8(out).is_ok() {
                        Ok(Bytes::copy_from_slice(out))
                    } else {
                        Err(BodyError::Json("invalid UTF-8 in string"))
                    };
                }
                b'\\' => break,
                0..=0x1f => return Err(BodyError::Json("control character in string")),
                _ => self.i += 1,
            }
        }
        let mut out = self.s[start..self.i].to_vec();
        loop {
            let Some(c) = self.peek() else { return Err(BodyError::Json("unterminated string")) };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(BodyError::Json("unterminated string"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let ch = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(BodyError::Json("invalid escape")),
                    }
                }
                0..=0x1f => return Err(BodyError::Json("control character in string")),
                _ => out.push(c),
            }
        }
        if std::str::from_utf8(&out).is_err() {
            return Err(BodyError::Json("invalid UTF-8 in string"));
        }
        Ok(Bytes::from(out))
    }

    fn hex4(&mut self) -> Result<u16, BodyError> {
        let h = self.s.get(self.i..self.i + 4).ok_or(BodyError::Json("bad \\u escape"))?;
        let h = std::str::from_utf8(h).map_err(|_| BodyError::Json("bad \\u escape"))?;
        let v = u16::from_str_radix(h, 16).map_err(|_| BodyError::Json("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }

    /// A `\uXXXX` escape (the `\u` consumed), pairing surrogates; a lone surrogate becomes U+FFFD, as
    /// JavaScript's `JSON.stringify` can emit them.
    fn unicode_escape(&mut self) -> Result<char, BodyError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.s[self.i..].starts_with(b"\\u") {
                let save = self.i;
                self.i += 2;
                let lo = self.hex4()?;
                if (0xDC00..0xE000).contains(&lo) {
                    let c = 0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00);
                    return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
                }
                self.i = save;
            }
            return Ok('\u{FFFD}');
        }
        Ok(char::from_u32(u32::from(hi)).unwrap_or('\u{FFFD}'))
    }
}

/// How strings are rendered in results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 text; invalid sequences become U+FFFD.
    Plain,
    /// `Upstash-Encoding: base64`: every string base64, except a top-level `OK`.
    Base64,
}

/// Appends the envelope for one reply: `{"result": ...}` or `{"error": "..."}`.
pub fn write_envelope(reply: &Reply, enc: Encoding, out: &mut Vec<u8>) {
    if let Reply::Error(e) = reply {
        out.extend_from_slice(b"{\"error\":");
        write_str(e.as_bytes(), out);
        out.push(b'}');
        return;
    }
    out.extend_from_slice(b"{\"result\":");
    write_value(reply, enc, true, out);
    out.push(b'}');
}

/// Appends one reply as a JSON value, by the RESP2 mapping Upstash uses.
pub fn write_value(reply: &Reply, enc: Encoding, top: bool, out: &mut Vec<u8>) {
    match reply {
        Reply::Nil | Reply::NilArray => out.extend_from_slice(b"null"),
        Reply::Simple(s) => {
            if top && s == "OK" {
                out.extend_from_slice(b"\"OK\"");
            } else {
                write_text(s.as_bytes(), enc, out);
            }
        }
        Reply::Int(n) => {
            use std::io::Write as _;
            let _ = write!(out, "{n}");
        }
        Reply::Bulk(b) | Reply::Verbatim(b) => write_text(b, enc, out),
        Reply::Double(d) => write_text(format_double(*d).as_bytes(), enc, out),
        Reply::Bool(b) => out.push(if *b { b'1' } else { b'0' }),
        Reply::Array(items) | Reply::Set(items) => {
            out.push(b'[');
            for (i, r) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(r, enc, false, out);
            }
            out.push(b']');
        }
        Reply::Map(pairs) => {
            out.push(b'[');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(k, enc, false, out);
                out.push(b',');
                write_value(v, enc, false, out);
            }
            out.push(b']');
        }
        // An error nested in an array (EXEC, scripts) has no documented JSON form; it is rendered as its text.
        Reply::Error(e) => write_text(e.as_bytes(), enc, out),
    }
}

fn write_text(b: &[u8], enc: Encoding, out: &mut Vec<u8>) {
    match enc {
        Encoding::Base64 => {
            out.push(b'"');
            let start = out.len();
            let len = base64::encoded_len(b.len(), true).unwrap_or(0);
            out.resize(start + len, 0);
            let n = base64::engine::general_purpose::STANDARD
                .encode_slice(b, &mut out[start..])
                .unwrap_or(0);
            out.truncate(start + n);
            out.push(b'"');
        }
        Encoding::Plain => match std::str::from_utf8(b) {
            Ok(_) => write_str(b, out),
            Err(_) => write_str(String::from_utf8_lossy(b).as_bytes(), out),
        },
    }
}

/// Appends a JSON string literal of valid UTF-8 `s`.
pub fn write_str(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut last = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&s[last..i]);
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]);
                last = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&s[last..i]);
        out.extend_from_slice(esc);
        last = i + 1;
    }
    out.extend_from_slice(&s[last..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests;
