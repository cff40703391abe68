//! Bit-exact emulation of the x87 80-bit `long double` arithmetic behind Redis's
//! `INCRBYFLOAT` and `HINCRBYFLOAT`.
//!
//! Redis (on x86-64, where `long double` is the x87 extended format) runs these
//! commands as:
//!
//! 1. parse the stored value and the increment with `string2ld` (`strtold`
//!    plus strictness checks) → [`parse`]; a missing key/field counts as `0`,
//!    an integer-encoded value converts exactly ([`LongDouble::from_i64`]);
//!    failures reply "ERR value is not a valid float" (`HINCRBYFLOAT`: "ERR hash
//!    value is not a float" for the stored field);
//! 2. add them in 64-bit-significand precision, round-to-nearest-even →
//!    [`LongDouble::add`];
//! 3. reject a NaN or infinite sum ("ERR increment would produce NaN or
//!    Infinity") → [`LongDouble::is_finite`]; `HINCRBYFLOAT` additionally rejects
//!    an infinite increment up front ("ERR value is NaN or Infinity");
//! 4. format the sum with `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`, then trailing
//!    zeros and a trailing `.` removed, and `-0` turned into `0` →
//!    [`LongDouble::to_redis_string`].
//!
//! Parsing follows glibc `strtold` in the C locale, as filtered by Redis:
//! no leading/trailing whitespace, the whole input must be consumed, optional
//! sign, decimal (`1`, `.5`, `5.`, `1e-3`) or hexadecimal (`0x1.8p3`, `0x10`)
//! notation, `inf`/`infinity` (any case); NaN is rejected, as are results that
//! overflow to infinity or underflow to zero (a nonzero subnormal result is
//! accepted), and inputs of 5120 bytes or more (Redis's `MAX_LONG_DOUBLE_CHARS`
//! buffer). Conversions are exact: decimal↔binary goes through a small internal
//! bignum, so any number of digits rounds correctly.
//!
//! Redis 7.0.15, 7.2.0, 7.4.1 and unstable of October 2024 (after 8.0-m01) have
//! identical `string2ld`, `incrbyfloatCommand`/`hincrbyfloatCommand` arithmetic
//! and `LD_STR_HUMAN` formatting (`%.17Lf`, never `%Lg`); 7.2 only added a
//! normalised `"nan"` to `ld2string`, which these commands never print. Redis
//! builds where `long double` is not x87 extended (aarch64: IEEE quad) or whose
//! libc is not glibc (musl) can give other digits; this module matches x86-64
//! glibc builds, including a glibc `strtold` rounding quirk for subnormal
//! hexadecimal input (see `parse_hex`).

#[cfg(test)]
mod tests;

use std::cmp::Ordering;

/// Inputs this long or longer are rejected (Redis copies into a
/// `MAX_LONG_DOUBLE_CHARS` = 5 * 1024 byte buffer, NUL included).
const MAX_INPUT_LEN: usize = 5 * 1024;
/// Exponent bias of the x87 extended format.
const EXP_BIAS: i64 = 16383;
/// Biased exponent of infinities and NaNs.
const EXP_SPECIAL: u16 = 0x7fff;
/// Weight (power of two) of the significand's lowest bit for subnormals and for
/// the smallest normal exponent.
const MIN_LSB: i64 = 1 - EXP_BIAS - 63;
/// Weight of the significand's lowest bit at the largest finite exponent.
const MAX_LSB: i64 = 0x7ffe - EXP_BIAS - 63;
/// Decimal exponents are saturated at this magnitude while parsing; anything
/// beyond overflows or underflows anyway.
const EXP_SATURATE: i64 = 1_000_000_000;
/// Digits printed after the decimal point by `%.17Lf`.
const FRACTION_DIGITS: usize = 17;

/// An x87 80-bit extended precision value: sign, 15-bit biased exponent and
/// 64-bit significand with an explicit integer bit (subnormals have exponent 0
/// and the integer bit clear; exponent 0x7fff is infinity or NaN).
///
/// Values produced by this module are always canonical (no pseudo-denormals or
/// unnormals).
#[derive(Clone, Copy, Debug)]
pub struct LongDouble {
    negative: bool,
    exponent: u16,
    significand: u64,
}

impl LongDouble {
    /// Positive zero.
    pub const ZERO: LongDouble = LongDouble::zero(false);

    const fn zero(negative: bool) -> LongDouble {
        LongDouble { negative, exponent: 0, significand: 0 }
    }

    const fn infinity(negative: bool) -> LongDouble {
        LongDouble { negative, exponent: EXP_SPECIAL, significand: 1 << 63 }
    }

    /// The x87 "real indefinite" NaN, which the FPU produces for `inf - inf`.
    const NAN: LongDouble =
        LongDouble { negative: true, exponent: EXP_SPECIAL, significand: 0xc000_0000_0000_0000 };

    /// Exact conversion of an integer (how Redis reads integer-encoded values).
    pub fn from_i64(v: i64) -> LongDouble {
        if v == 0 {
            return LongDouble::ZERO;
        }
        round_pack(v < 0, u128::from(v.unsigned_abs()), 0, false)
    }

    /// The value in the x87 memory layout: bit 79 sign, bits 64..79 biased
    /// exponent, bits 0..64 significand.
    pub fn to_bits(&self) -> u128 {
        (u128::from(self.negative) << 79)
            | (u128::from(self.exponent) << 64)
            | u128::from(self.significand)
    }

    /// True unless the value is an infinity or a NaN.
    pub fn is_finite(&self) -> bool {
        self.exponent != EXP_SPECIAL
    }

    /// True for NaN (only `inf + -inf` makes one; [`parse`] never does).
    pub fn is_nan(&self) -> bool {
        self.exponent == EXP_SPECIAL && self.significand << 1 != 0
    }

    fn is_infinite(&self) -> bool {
        self.exponent == EXP_SPECIAL && self.significand << 1 == 0
    }

    fn is_zero(&self) -> bool {
        self.exponent == 0 && self.significand == 0
    }

    /// Finite value as `significand * 2^lsb`.
    fn decompose(&self) -> (u64, i64) {
        let lsb =
            if self.exponent == 0 { MIN_LSB } else { i64::from(self.exponent) - EXP_BIAS - 63 };
        (self.significand, lsb)
    }

    /// `self + other` rounded to nearest-even in 64-bit precision, with x87
    /// gradual underflow and overflow to infinity.
    #[must_use]
    #[expect(
        clippy::should_implement_trait,
        reason = "callable without importing std::ops::Add; the trait is implemented too"
    )]
    pub fn add(self, other: LongDouble) -> LongDouble {
        if self.is_nan() {
            return self;
        }
        if other.is_nan() {
            return other;
        }
        if self.is_infinite() {
            if other.is_infinite() && other.negative != self.negative {
                return LongDouble::NAN;
            }
            return self;
        }
        if other.is_infinite() {
            return other;
        }
        if self.is_zero() {
            if other.is_zero() {
                return LongDouble::zero(self.negative && other.negative);
            }
            return other;
        }
        if other.is_zero() {
            return self;
        }
        let (ma, ea) = self.decompose();
        let (mb, eb) = other.decompose();
        // `big` has the larger (or equal) lowest-bit weight.
        let ((big_m, big_e, big_neg), (small_m, small_e, small_neg)) = if ea >= eb {
            ((ma, ea, self.negative), (mb, eb, other.negative))
        } else {
            ((mb, eb, other.negative), (ma, ea, self.negative))
        };
        let gap = big_e - small_e;
        if gap <= 62 {
            // Exact in 128 bits.
            let x = u128::from(big_m) << gap;
            let y = u128::from(small_m);
            if big_neg == small_neg {
                return round_pack(big_neg, x + y, small_e, false);
            }
            return match x.cmp(&y) {
                Ordering::Equal => LongDouble::ZERO,
                Ordering::Greater => round_pack(big_neg, x - y, small_e, false),
                Ordering::Less => round_pack(small_neg, y - x, small_e, false),
            };
        }
        // The gap implies `big` is normal (bit 63 set) and |small| < 2 ulp(big):
        // keep 62 guard bits below `big` and fold the rest of `small` into a
        // sticky bit.
        let x = u128::from(big_m) << 62;
        let shift = gap - 62;
        let (y, sticky) = if shift >= 64 {
            (0, true)
        } else {
            (u128::from(small_m >> shift), small_m & ((1u64 << shift) - 1) != 0)
        };
        let e = big_e - 62;
        if big_neg == small_neg {
            round_pack(big_neg, x + y, e, sticky)
        } else {
            // x - (y + ε) = (x - y - 1) + (1 - ε), with 0 < 1 - ε < 1.
            round_pack(big_neg, x - y - u128::from(sticky), e, sticky)
        }
    }

    /// Formats like Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf` (exact
    /// decimal expansion, round-half-even at the 17th fraction digit), trailing
    /// zeros and a trailing `.` removed, `-0` printed as `0`; `inf`, `-inf`,
    /// `nan` for the special values.
    pub fn to_redis_string(&self) -> String {
        if self.is_nan() {
            return "nan".to_owned();
        }
        if self.is_infinite() {
            return if self.negative { "-inf" } else { "inf" }.to_owned();
        }
        let (m, lsb) = self.decompose();
        let mut out = String::new();
        if lsb >= 0 {
            // An integer of up to 4933 digits; m != 0 since zero has lsb < 0.
            if self.negative {
                out.push('-');
            }
            let mut big = Big::from_u64(m);
            big.shl(lsb as u64);
            big.write_decimal(&mut out);
            return out;
        }
        // value * 10^17 = m * 10^17 / 2^s, rounded half-even to an integer.
        let scaled = u128::from(m) * u128::from(POW10[9]) * u128::from(POW10[8]);
        let s = lsb.unsigned_abs();
        let q = if s >= 128 {
            0 // scaled < 2^121 <= half of 2^s: rounds to 0
        } else {
            let q = scaled >> s;
            let rem = scaled & ((1u128 << s) - 1);
            let half = 1u128 << (s - 1);
            if rem > half || (rem == half && q & 1 == 1) { q + 1 } else { q }
        };
        if q == 0 {
            return "0".to_owned();
        }
        let unit = u128::from(POW10[9]) * u128::from(POW10[8]);
        let (int_part, frac_part) = (q / unit, q % unit);
        if self.negative {
            out.push('-');
        }
        out.push_str(&int_part.to_string());
        if frac_part != 0 {
            let digits = format!("{frac_part:0width$}", width = FRACTION_DIGITS);
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        out
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    fn add(self, other: LongDouble) -> LongDouble {
        LongDouble::add(self, other)
    }
}

/// Parses like Redis's `string2ld`: `strtold` semantics with the whole input
/// consumed, no leading whitespace, and `None` for NaN, for overflow to
/// infinity, for nonzero input that underflows to zero, and for inputs of 5120
/// bytes or more. `inf`/`infinity` parse to infinities.
pub fn parse(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= MAX_INPUT_LEN {
        return None;
    }
    let (negative, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(LongDouble::infinity(negative));
    }
    // Anything else not of the grammar below (including every NaN spelling)
    // would leave characters unconsumed or produce NaN: rejected either way.
    if body.len() >= 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex(negative, &body[2..])
    } else {
        parse_decimal(negative, body)
    }
}

/// Splits `digits [. digits]` off the front of `s` using `is_digit`; returns the
/// integer digits, the fraction digits and the rest.
fn split_mantissa(s: &[u8], is_digit: fn(&u8) -> bool) -> (&[u8], &[u8], &[u8]) {
    let int_len = s.iter().take_while(|c| is_digit(c)).count();
    let (int_digits, rest) = s.split_at(int_len);
    match rest.split_first() {
        Some((b'.', after)) => {
            let frac_len = after.iter().take_while(|c| is_digit(c)).count();
            let (frac_digits, rest) = after.split_at(frac_len);
            (int_digits, frac_digits, rest)
        }
        _ => (int_digits, &[], rest),
    }
}

/// Parses the whole of `s` as an exponent introduced by `marker` (`e` or `p`,
/// any case): `[eE][+-]?[0-9]+`, saturated. An empty `s` means exponent 0.
fn parse_exponent(s: &[u8], marker: u8) -> Option<i64> {
    let Some((&first, rest)) = s.split_first() else {
        return Some(0);
    };
    if first | 0x20 != marker {
        return None;
    }
    let (negative, digits) = match rest.split_first() {
        Some((b'-', d)) => (true, d),
        Some((b'+', d)) => (false, d),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude =
        digits.iter().fold(0i64, |acc, &d| (acc * 10 + i64::from(d - b'0')).min(EXP_SATURATE));
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_decimal(negative: bool, s: &[u8]) -> Option<LongDouble> {
    let (int_digits, frac_digits, rest) = split_mantissa(s, u8::is_ascii_digit);
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let exp = parse_exponent(rest, b'e')?;
    // value = digits * 10^(exp - frac_len), digits = int_digits ++ frac_digits.
    let digit_at = |i: usize| {
        if i < int_digits.len() { int_digits[i] } else { frac_digits[i - int_digits.len()] }
    };
    let total = int_digits.len() + frac_digits.len();
    let Some(first) = (0..total).find(|&i| digit_at(i) != b'0') else {
        return Some(LongDouble::zero(negative));
    };
    let last = (0..total).rev().find(|&i| digit_at(i) != b'0')?;
    let count = (last - first + 1) as i64;
    // value = D * 10^k with D the `count` significant digits.
    let k = exp - frac_digits.len() as i64 + (total - 1 - last) as i64;
    // D * 10^k >= 10^(count-1+k) >= 10^4933 > max finite (about 1.19e4932).
    if count - 1 + k >= 4933 {
        return None;
    }
    // D * 10^k < 10^(count+k) <= 1e-4952 < half the smallest subnormal
    // (2^-16446, about 1.8e-4951): rounds to zero.
    if count + k <= -4952 {
        return None;
    }
    if count <= 19 {
        // Fast path for short inputs: D fits in a u64 and the scaling fits in
        // u128 arithmetic.
        let d = (first..=last).fold(0u64, |acc, i| acc * 10 + u64::from(digit_at(i) - b'0'));
        if let Some(exact) = u32::try_from(k)
            .ok()
            .and_then(|k| 10u128.checked_pow(k))
            .and_then(|p| p.checked_mul(u128::from(d)))
        {
            return finite_nonzero(round_pack(negative, exact, 0, false));
        }
        if (-18..0).contains(&k) {
            // D * 2^s / 10^j with s chosen so the quotient has >= 67 bits
            // (10^18 < 2^60), the remainder feeding the sticky bit.
            let den = 10u128.pow(k.unsigned_abs() as u32);
            let s = d.leading_zeros() + 64;
            let num = u128::from(d) << s;
            let (q, r) = (num / den, num % den);
            return finite_nonzero(round_pack(negative, q, -i64::from(s), r != 0));
        }
    }
    let mut d = Big::default();
    let mut chunk = 0u32;
    let mut chunk_len = 0;
    for i in first..=last {
        chunk = chunk * 10 + u32::from(digit_at(i) - b'0');
        chunk_len += 1;
        if chunk_len == 9 {
            d.mul_add(POW10[9], chunk);
            (chunk, chunk_len) = (0, 0);
        }
    }
    if chunk_len > 0 {
        d.mul_add(POW10[chunk_len], chunk);
    }
    let value = if k >= 0 {
        d.mul_pow10(k as u64);
        from_big(negative, &d, 0)
    } else {
        let mut den = Big::from_u64(1);
        den.mul_pow10(k.unsigned_abs());
        from_ratio(negative, d, &den)
    };
    finite_nonzero(value)
}

fn parse_hex(negative: bool, s: &[u8]) -> Option<LongDouble> {
    let (int_digits, frac_digits, rest) = split_mantissa(s, u8::is_ascii_hexdigit);
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let exp = parse_exponent(rest, b'p')?;
    // Place the nibbles directly into limbs (linear in the input length).
    let mut h = Big { limbs: vec![0; (int_digits.len() + frac_digits.len()).div_ceil(8)] };
    for (pos, &c) in int_digits.iter().chain(frac_digits).rev().enumerate() {
        let v = (c as char).to_digit(16).unwrap_or(0);
        h.limbs[pos / 8] |= v << (4 * (pos % 8));
    }
    h.trim();
    if h.is_zero() {
        return Some(LongDouble::zero(negative));
    }
    // value = H * 2^e2, in [2^(len-1+e2), 2^(len+e2)).
    let e2 = exp - 4 * frac_digits.len() as i64;
    let len = h.bit_len() as i64;
    if len - 1 + e2 >= 16384 || len + e2 < -16446 {
        return None;
    }
    if len + e2 <= MIN_LSB + 63 && len >= 65 {
        // glibc quirk (round_and_return, subnormal results): the bit just below
        // the 64 leading significant bits is dropped before the result is
        // shifted into the subnormal range, so it takes no part in the
        // rounding (e.g. 0x1.0000000000000003p-16383 becomes a tie and rounds
        // to even; 0x1.0000000000000001p-16446 rounds to zero and is
        // rejected). Decimal input cannot expose this: a decimal needs over
        // 11000 digits to make that bit matter, beyond the length limit.
        h.clear_bit(len as u64 - 65);
    }
    finite_nonzero(from_big(negative, &h, e2))
}

/// `strtold` reports ERANGE for overflow and for underflow to zero; Redis then
/// rejects the input.
fn finite_nonzero(v: LongDouble) -> Option<LongDouble> {
    (v.is_finite() && !v.is_zero()).then_some(v)
}

/// Rounds `n * 2^e` (n > 0).
fn from_big(negative: bool, n: &Big, e: i64) -> LongDouble {
    let len = n.bit_len();
    if len <= 128 {
        return round_pack(negative, n.bits_at(0), e, false);
    }
    let drop = len - 128;
    round_pack(negative, n.bits_at(drop), e + drop as i64, n.low_bits_nonzero(drop))
}

/// Rounds `num / den` (both > 0).
fn from_ratio(negative: bool, mut num: Big, den: &Big) -> LongDouble {
    // Scale so that the quotient lies in (2^65, 2^67): 64 bits plus guard bits.
    let e = num.bit_len() as i64 - den.bit_len() as i64 - 66;
    let mut den = den.clone();
    if e >= 0 {
        den.shl(e as u64);
    } else {
        num.shl(e.unsigned_abs());
    }
    let mut q = 0u128;
    let mut shifted = den.clone();
    shifted.shl(66);
    for bit in (0..=66).rev() {
        if num.cmp_to(&shifted) != Ordering::Less {
            num.sub_assign(&shifted);
            q |= 1 << bit;
        }
        shifted.shr1();
    }
    round_pack(negative, q, e, !num.is_zero())
}

/// Rounds `(m + f) * 2^e` to nearest-even, where `f` is 0 if `!sticky` and in
/// (0, 1) if `sticky`, producing a subnormal, zero or infinity when the
/// exponent range demands. With `sticky`, `m` must have at least 65 bits so
/// that the rounding point lies inside `m`.
fn round_pack(negative: bool, m: u128, e: i64, sticky: bool) -> LongDouble {
    if m == 0 {
        return LongDouble::zero(negative);
    }
    let len = i64::from(128 - m.leading_zeros());
    let mut lsb = (e + len - 64).max(MIN_LSB);
    let shift = lsb - e;
    let mut mant: u128 = if shift <= 0 {
        m << shift.unsigned_abs()
    } else if shift > 128 {
        0 // below half of the smallest subnormal
    } else {
        let (kept, rem) =
            if shift == 128 { (0, m) } else { (m >> shift, m & ((1u128 << shift) - 1)) };
        let half = 1u128 << (shift - 1);
        if rem > half || (rem == half && (sticky || kept & 1 == 1)) { kept + 1 } else { kept }
    };
    if mant == 1 << 64 {
        mant = 1 << 63;
        lsb += 1;
    }
    if lsb > MAX_LSB {
        return LongDouble::infinity(negative);
    }
    let significand = mant as u64;
    let exponent = if significand >> 63 == 1 {
        (lsb + EXP_BIAS + 63) as u16
    } else {
        0 // subnormal or zero; lsb == MIN_LSB here
    };
    LongDouble { negative, exponent, significand }
}

const POW10: [u32; 10] =
    [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/// Minimal unsigned bignum: little-endian base-2^32 limbs, no high zero limbs.
#[derive(Clone, Default, Debug)]
struct Big {
    limbs: Vec<u32>,
}

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big { limbs: vec![v as u32, (v >> 32) as u32] };
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(&top) => self.limbs.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    /// self = self * mul + add.
    fn mul_add(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(mul) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u64) {
        while n > 0 {
            let step = n.min(9);
            self.mul_add(POW10[step as usize], 0);
            n -= step;
        }
    }

    fn shl(&mut self, bits: u64) {
        if self.is_zero() || bits == 0 {
            return;
        }
        let limbs = (bits / 32) as usize;
        let rest = (bits % 32) as u32;
        if rest != 0 {
            let mut carry = 0u32;
            for limb in &mut self.limbs {
                let v = *limb;
                *limb = (v << rest) | carry;
                carry = v >> (32 - rest);
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        self.limbs.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for limb in self.limbs.iter_mut().rev() {
            let v = *limb;
            *limb = (v >> 1) | carry;
            carry = v << 31;
        }
        self.trim();
    }

    fn cmp_to(&self, other: &Big) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// self -= other; requires self >= other.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = false;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let sub = match other.limbs.get(i) {
                Some(&v) => v,
                None if borrow => 0,
                None => break,
            };
            let (v, b1) = limb.overflowing_sub(sub);
            let (v, b2) = v.overflowing_sub(u32::from(borrow));
            *limb = v;
            borrow = b1 || b2;
        }
        self.trim();
    }

    /// The 128 bits starting at bit `lo`.
    fn bits_at(&self, lo: u64) -> u128 {
        let first = (lo / 32) as usize;
        let rest = (lo % 32) as u32;
        let limb = |i: usize| u128::from(self.limbs.get(first + i).copied().unwrap_or(0));
        let window = limb(0) | (limb(1) << 32) | (limb(2) << 64) | (limb(3) << 96);
        if rest == 0 { window } else { (window >> rest) | (limb(4) << (128 - rest)) }
    }

    /// Whether any of the lowest `n` bits is set.
    fn low_bits_nonzero(&self, n: u64) -> bool {
        let full = (n / 32) as usize;
        let rest = n % 32;
        if self.limbs.iter().take(full).any(|&l| l != 0) {
            return true;
        }
        rest != 0 && self.limbs.get(full).is_some_and(|&l| l & ((1u32 << rest) - 1) != 0)
    }

    fn clear_bit(&mut self, i: u64) {
        if let Some(limb) = self.limbs.get_mut((i / 32) as usize) {
            *limb &= !(1 << (i % 32));
        }
        self.trim();
    }

    /// self /= d, returning the remainder.
    fn div_rem(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / u64::from(d)) as u32;
            rem = v % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    /// Appends the decimal digits (consumes the value).
    fn write_decimal(&mut self, out: &mut String) {
        let mut chunks = Vec::new();
        while !self.is_zero() {
            chunks.push(self.div_rem(POW10[9]));
        }
        let mut iter = chunks.iter().rev();
        match iter.next() {
            None => out.push('0'),
            Some(top) => out.push_str(&top.to_string()),
        }
        for chunk in iter {
            out.push_str(&format!("{chunk:09}"));
        }
    }
}
