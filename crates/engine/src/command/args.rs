//! `Args`: the one argument cursor every handler parses through. It returns Redis's exact errors, so no
//! handler parses numbers or keywords by hand.

use bytes::Bytes;

use crate::error::CommandError;

/// A cursor over a command's arguments (the command name excluded).
#[derive(Debug, Clone)]
pub struct Args<'a> {
    argv: &'a [Bytes],
    pos: usize,
}

impl<'a> Args<'a> {
    /// A cursor over `argv[1..]`.
    pub fn new(argv: &'a [Bytes]) -> Args<'a> {
        Args { argv, pos: 1 }
    }

    /// The command name as the client sent it (for the few errors that quote it, like GEOSEARCH's).
    pub fn command_name(&self) -> &'a Bytes {
        &self.argv[0]
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.argv.len() - self.pos
    }

    /// Whether no argument is left.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next argument. A missing argument is a syntax error (arity was checked by the table).
    pub fn next_bytes(&mut self) -> Result<&'a Bytes, CommandError> {
        let a = self.argv.get(self.pos).ok_or(CommandError::Syntax)?;
        self.pos += 1;
        Ok(a)
    }

    /// The next argument, as a key.
    pub fn next_key(&mut self) -> Result<&'a Bytes, CommandError> {
        self.next_bytes()
    }

    /// The next argument as a signed 64-bit integer, with Redis's strict rules.
    pub fn next_i64(&mut self) -> Result<i64, CommandError> {
        parse_i64(self.next_bytes()?).ok_or(CommandError::NotInteger)
    }

    /// The next argument as a double (`inf` allowed, `nan` refused).
    pub fn next_f64(&mut self) -> Result<f64, CommandError> {
        parse_f64(self.next_bytes()?).ok_or(CommandError::NotFloat)
    }

    /// If the next argument equals (ignoring ASCII case) one of `words`, consumes it and returns its index.
    pub fn keyword(&mut self, words: &[&str]) -> Option<usize> {
        let a = self.argv.get(self.pos)?;
        let i = words.iter().position(|w| a.eq_ignore_ascii_case(w.as_bytes()))?;
        self.pos += 1;
        Some(i)
    }

    /// The next argument as an option word, or `None` at the end.
    pub fn next_word(&mut self) -> Option<Word<'a>> {
        let a = self.argv.get(self.pos)?;
        self.pos += 1;
        Some(Word(a))
    }

    /// All remaining arguments.
    pub fn rest(&mut self) -> &'a [Bytes] {
        let r = &self.argv[self.pos..];
        self.pos = self.argv.len();
        r
    }

    /// `numkeys key [key ...] arg [arg ...]`, as EVAL, EVALSHA and FCALL take them: the rest of the
    /// arguments split into keys and arguments, with Redis's errors for a bad `numkeys`.
    pub fn keys_and_args(&mut self) -> Result<(&'a [Bytes], &'a [Bytes]), CommandError> {
        let numkeys = self.next_i64()?;
        let rest = self.rest();
        if numkeys > rest.len() as i64 {
            return Err(CommandError::custom(
                "ERR Number of keys can't be greater than number of args",
            ));
        }
        if numkeys < 0 {
            return Err(CommandError::custom("ERR Number of keys can't be negative"));
        }
        Ok(rest.split_at(numkeys as usize))
    }

    /// Fails with a syntax error if arguments are left.
    pub fn finish(&self) -> Result<(), CommandError> {
        if self.is_empty() { Ok(()) } else { Err(CommandError::Syntax) }
    }
}

/// An option word, compared case-insensitively.
#[derive(Debug, Clone, Copy)]
pub struct Word<'a>(pub &'a Bytes);

impl Word<'_> {
    /// Whether the word is `w` (ASCII case-insensitive).
    pub fn is(&self, w: &str) -> bool {
        self.0.eq_ignore_ascii_case(w.as_bytes())
    }
}

/// Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, no overflow.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Redis's `string2d`: the whole argument is one double (C's `strtod`, so hex floats too) with no leading
/// space; NaN and literals that overflow to ±inf or underflow to 0 are refused (`inf` itself is fine).
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    super::zsets::parse_double(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in
            [&b""[..], b"+1", b"01", b"-0", b" 1", b"1 ", b"9223372036854775808", b"1.0", b"-"]
        {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn doubles() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"1e400"), None);
    }

    #[test]
    fn keys_and_args() {
        let argv: Vec<Bytes> =
            ["EVAL", "body", "2", "k1", "k2", "a1"].iter().map(|s| Bytes::from(*s)).collect();
        let mut args = Args::new(&argv);
        args.next_bytes().unwrap();
        let (keys, rest) = args.keys_and_args().unwrap();
        assert_eq!((keys, rest), (&argv[3..5], &argv[5..]));
        let split = |n: &str| {
            let argv: Vec<Bytes> = ["FCALL", "f", n, "k"]
                .iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect();
            let mut args = Args::new(&argv);
            args.next_bytes().unwrap();
            args.keys_and_args().map(|(k, a)| (k.len(), a.len())).map_err(|e| e.to_string())
        };
        assert_eq!(split("0"), Ok((0, 1)));
        assert_eq!(split("1"), Ok((1, 0)));
        assert_eq!(
            split("2").unwrap_err(),
            "ERR Number of keys can't be greater than number of args"
        );
        assert_eq!(split("-1").unwrap_err(), "ERR Number of keys can't be negative");
        assert_eq!(split("x").unwrap_err(), "ERR value is not an integer or out of range");
    }
}
