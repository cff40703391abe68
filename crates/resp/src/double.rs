//! Redis's text form of a double, as `addReplyDouble` sends it (RESP2 bulk string, RESP3 `,`).
//!
//! Redis 7.2+ formats doubles with `d2string`: `nan`, `inf`, `-inf`, `0`/`-0`, integers printed as
//! integers when the value is integral and within ±2^62, and everything else through `fpconv_dtoa`
//! (Grisu2: shortest digits that round-trip) with its own layout, which is *not* C's `%g`:
//!
//! - digits `d` (count `n`) and power `K` so that the value is `d × 10^K`; `e = K + n - 1` is the
//!   decimal exponent of the leading digit;
//! - `K >= 0` and `|e| < n + 7`: plain integer, digits followed by `K` zeros (`12345678901234567000`);
//! - `K < 0` and (`K > -7` or `|e| < 4`): plain decimal (`0.1`, `123.456`, `0.000001`, `0.00012`);
//! - otherwise scientific, exponent with an explicit sign and no zero padding (`1e+19`, `1.5e+21`,
//!   `1e-7`, `1.2345678e-4`, and even `1.23451234567e+4` for 12345.1234567).
//!
//! We take the shortest round-trip digits from Rust's `{:e}` formatting (always shortest; Grisu2 very
//! rarely emits a longer but still round-tripping digit string, the only place we may differ from Redis).

use std::fmt::Write as _;

/// The largest magnitude Redis prints through its integer path (`(double)(LLONG_MAX / 2)`, i.e. 2^62).
const INT_PATH_MAX: f64 = 4_611_686_018_427_387_904.0;

/// A formatted double in a stack buffer (the longest form, `-0.000000xxxxxxxxxxxxxxxxx`, is 26 bytes).
pub(crate) struct DoubleRepr {
    buf: [u8; 32],
    len: usize,
}

impl DoubleRepr {
    fn new() -> Self {
        DoubleRepr { buf: [0; 32], len: 0 }
    }

    /// The formatted bytes (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn extend(&mut self, s: &[u8]) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    fn zeros(&mut self, n: usize) {
        for _ in 0..n {
            self.push(b'0');
        }
    }
}

impl std::fmt::Write for DoubleRepr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.extend(s.as_bytes());
        Ok(())
    }
}

/// Formats a double the way Redis 7.2+ sends it (see the module docs). Negative zero is `-0`, as in Redis.
///
/// ```
/// use larder_resp::format_double;
/// assert_eq!(format_double(1.5), "1.5");
/// assert_eq!(format_double(3.0), "3");
/// assert_eq!(format_double(1e21), "1e+21");
/// assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
/// ```
pub fn format_double(v: f64) -> String {
    double_repr(v).as_bytes().iter().map(|&b| char::from(b)).collect()
}

/// Formats `v` into a stack buffer.
pub(crate) fn double_repr(v: f64) -> DoubleRepr {
    let mut r = DoubleRepr::new();
    if v.is_nan() {
        r.extend(b"nan");
    } else if v.is_infinite() {
        r.extend(if v < 0.0 { b"-inf" } else { b"inf" });
    } else if v == 0.0 {
        r.extend(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else if (-INT_PATH_MAX..=INT_PATH_MAX).contains(&v) && v.fract() == 0.0 {
        // Exact: |v| <= 2^62 fits an i64 and is integral.
        let mut digits = [0u8; 20];
        if v < 0.0 {
            r.push(b'-');
        }
        r.extend(crate::encode::u64_digits((v as i64).unsigned_abs(), &mut digits));
    } else {
        shortest(v, &mut r);
    }
    r
}

/// Lays out the shortest round-trip digits of a finite, non-zero `v` like `fpconv_dtoa`.
fn shortest(v: f64, r: &mut DoubleRepr) {
    // `{:e}` of |v| is `d[.ddd]e[-]x` with the shortest digits that round-trip; at most 24 bytes.
    let mut sci = DoubleRepr::new();
    if write!(sci, "{:e}", v.abs()).is_err() {
        // Unreachable: the buffer fits any f64 in `{:e}` form. Fall back to something valid.
        r.extend(b"nan");
        return;
    }
    let s = sci.as_bytes();
    let e_at = s.iter().position(|&b| b == b'e').unwrap_or(s.len());
    let (mantissa, exp_text) = (&s[..e_at], s.get(e_at + 1..).unwrap_or(&[]));
    let mut digits = [0u8; 20];
    let mut n = 0usize;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        digits[n] = b;
        n += 1;
    }
    let digits = &digits[..n];
    let (neg_e, exp_digits) = match exp_text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, exp_text),
    };
    let mag = exp_digits.iter().fold(0i32, |acc, &b| acc * 10 + i32::from(b - b'0'));
    // `e`: decimal exponent of the leading digit; `k`: power of ten of the last digit.
    let e = if neg_e { -mag } else { mag };
    let n = n as i32;
    let k = e - (n - 1);
    let abs_e = e.abs();

    if v < 0.0 {
        r.push(b'-');
    }
    if k >= 0 && abs_e < n + 7 {
        r.extend(digits);
        r.zeros(k as usize);
    } else if k < 0 && (k > -7 || abs_e < 4) {
        if e < 0 {
            r.extend(b"0.");
            r.zeros((-e - 1) as usize);
            r.extend(digits);
        } else {
            let int_len = (e + 1) as usize;
            r.extend(&digits[..int_len]);
            r.push(b'.');
            r.extend(&digits[int_len..]);
        }
    } else {
        r.push(digits[0]);
        if digits.len() > 1 {
            r.push(b'.');
            r.extend(&digits[1..]);
        }
        r.push(b'e');
        r.push(if e < 0 { b'-' } else { b'+' });
        let mut buf = [0u8; 20];
        r.extend(crate::encode::u64_digits(u64::from(abs_e.unsigned_abs()), &mut buf));
    }
}

#[cfg(test)]
mod tests {
    use super::format_double;

    #[test]
    fn specials() {
        assert_eq!(format_double(f64::NAN), "nan");
        assert_eq!(format_double(-f64::NAN), "nan");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(0.0), "0");
        assert_eq!(format_double(-0.0), "-0");
    }

    #[test]
    fn integers() {
        for (v, s) in [
            (1.0, "1"),
            (-1.0, "-1"),
            (3.0, "3"),
            (10.0, "10"),
            (-12345.0, "-12345"),
            (9007199254740992.0, "9007199254740992"),
            (1e18, "1000000000000000000"),
            (-1e18, "-1000000000000000000"),
            (4611686018427387904.0, "4611686018427387904"),
            (-4611686018427387904.0, "-4611686018427387904"),
            // Beyond 2^62: fpconv layout, plain while the exponent is < digits + 7.
            (4611686018427388928.0, "4611686018427389000"),
            (5e18, "5e+18"),
            (1e19, "1e+19"),
            (1.2345678901234567e19, "12345678901234567000"),
            (1.5e21, "1.5e+21"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (-1.7976931348623157e308, "-1.7976931348623157e+308"),
        ] {
            assert_eq!(format_double(v), s, "{v:e}");
        }
    }

    #[test]
    fn fractions() {
        for (v, s) in [
            (0.1, "0.1"),
            (-0.1, "-0.1"),
            (1.5, "1.5"),
            (123.456, "123.456"),
            (0.3, "0.3"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (std::f64::consts::PI, "3.141592653589793"),
            (12345.678, "12345.678"),
            (1e-5, "0.00001"),
            (1e-6, "0.000001"),
            (1.5e-6, "1.5e-6"),
            (0.00012, "0.00012"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (-2.5e-10, "-2.5e-10"),
            (0.12345678, "0.12345678"),
            (0.00012345678, "1.2345678e-4"),
            (12345.1234567, "1.23451234567e+4"),
            (1234567.1234567, "1.2345671234567e+6"),
            (123.1234567, "123.1234567"),
            (4503599627370495.5, "4503599627370495.5"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (1e-100, "1e-100"),
        ] {
            assert_eq!(format_double(v), s, "{v:e}");
        }
    }

    #[test]
    fn round_trips() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                let s = format_double(v);
                assert_eq!(s.parse::<f64>().ok(), Some(v), "{s}");
            }
        }
    }
}
