//! Retry timing: QStash's default backoff, `Upstash-Retry-Delay` expressions, and the response headers
//! that override the next delay.

use http::HeaderMap;

use crate::duration::parse_go_duration_ms;

/// The longest delay between two attempts: one day.
pub const MAX_DELAY_MS: u64 = 86_400_000;

/// The default delay after the `n`-th failed attempt (n = 1 after the first): `min(1 day, e^(2.5·n))`
/// seconds.
pub fn default_backoff_ms(n: u32) -> u64 {
    let secs = (2.5 * f64::from(n)).exp();
    let ms = (secs * 1000.0).round();
    if !ms.is_finite() || ms >= MAX_DELAY_MS as f64 { MAX_DELAY_MS } else { ms as u64 }
}

/// A parsed `Upstash-Retry-Delay` expression: arithmetic over numbers and `retried`, with
/// `pow sqrt abs exp floor ceil round min max`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Retried,
    Neg(Box<Expr>),
    Bin(char, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

/// Why an expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid retry delay expression: {0}")]
pub struct ExprError(pub String);

const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("pow", 2, 2),
    ("sqrt", 1, 1),
    ("abs", 1, 1),
    ("exp", 1, 1),
    ("floor", 1, 1),
    ("ceil", 1, 1),
    ("round", 1, 1),
    ("min", 1, 64),
    ("max", 1, 64),
];

impl Expr {
    /// Parses `src`. Input is bounded (1 KiB, nesting 64) so a hostile header cannot exhaust the stack.
    pub fn parse(src: &str) -> Result<Expr, ExprError> {
        if src.len() > 1024 {
            return Err(ExprError("longer than 1024 characters".into()));
        }
        let mut p = Parser { s: src.as_bytes(), i: 0, depth: 0 };
        let e = p.expr()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(ExprError(format!("unexpected input at {}", p.i)));
        }
        Ok(e)
    }

    /// Evaluates with `retried`.
    pub fn eval(&self, retried: f64) -> f64 {
        match self {
            Expr::Num(n) => *n,
            Expr::Retried => retried,
            Expr::Neg(e) => -e.eval(retried),
            Expr::Bin(op, a, b) => {
                let (a, b) = (a.eval(retried), b.eval(retried));
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    '/' => a / b,
                    '%' => a % b,
                    _ => a.powf(b),
                }
            }
            Expr::Call(f, args) => {
                let v: Vec<f64> = args.iter().map(|a| a.eval(retried)).collect();
                match f.as_str() {
                    "pow" => v[0].powf(v[1]),
                    "sqrt" => v[0].sqrt(),
                    "abs" => v[0].abs(),
                    "exp" => v[0].exp(),
                    "floor" => v[0].floor(),
                    "ceil" => v[0].ceil(),
                    "round" => v[0].round(),
                    "min" => v.iter().copied().fold(f64::INFINITY, f64::min),
                    _ => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                }
            }
        }
    }

    /// The delay in ms for `retried` (retries already made), clamped to `[0, 1 day]`.
    pub fn delay_ms(&self, retried: u32) -> u64 {
        let v = self.eval(f64::from(retried));
        if v.is_nan() || v <= 0.0 {
            0
        } else if v >= MAX_DELAY_MS as f64 {
            MAX_DELAY_MS
        } else {
            v.round() as u64
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn expr(&mut self) -> Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > 64 {
            return Err(ExprError("nested too deeply".into()));
        }
        let mut left = self.term()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let right = self.term()?;
            left = Expr::Bin(c as char, Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }
    fn term(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while let Some(c @ (b'*' | b'/' | b'%')) = self.peek() {
            self.i += 1;
            let right = self.unary()?;
            left = Expr::Bin(c as char, Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, ExprError> {
        match self.peek() {
            Some(b'-') => {
                self.i += 1;
                self.depth += 1;
                if self.depth > 64 {
                    return Err(ExprError("nested too deeply".into()));
                }
                let e = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Neg(Box::new(e)))
            }
            Some(b'+') => {
                self.i += 1;
                self.unary()
            }
            _ => self.power(),
        }
    }
    fn power(&mut self) -> Result<Expr, ExprError> {
        let base = self.atom()?;
        if self.peek() == Some(b'^') {
            self.i += 1;
            let exp = self.unary()?;
            return Ok(Expr::Bin('^', Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }
    fn atom(&mut self) -> Result<Expr, ExprError> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let e = self.expr()?;
                if self.peek() != Some(b')') {
                    return Err(ExprError("missing ')'".into()));
                }
                self.i += 1;
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => {
                let start = self.i;
                while self.i < self.s.len()
                    && (self.s[self.i].is_ascii_digit() || self.s[self.i] == b'.')
                {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                t.parse::<f64>().map(Expr::Num).map_err(|_| ExprError(format!("bad number {t:?}")))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i].is_ascii_alphanumeric() {
                    self.i += 1;
                }
                let name = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("").to_string();
                if name == "retried" {
                    return Ok(Expr::Retried);
                }
                let Some(&(_, lo, hi)) = FUNCTIONS.iter().find(|(f, _, _)| *f == name) else {
                    return Err(ExprError(format!("unknown name {name:?}")));
                };
                if self.peek() != Some(b'(') {
                    return Err(ExprError(format!("{name} needs arguments")));
                }
                self.i += 1;
                let mut args = Vec::new();
                if self.peek() != Some(b')') {
                    loop {
                        args.push(self.expr()?);
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b')') => break,
                            _ => return Err(ExprError("expected ',' or ')'".into())),
                        }
                    }
                }
                self.i += 1;
                if args.len() < lo || args.len() > hi {
                    return Err(ExprError(format!("{name} takes {lo}..{hi} arguments")));
                }
                Ok(Expr::Call(name, args))
            }
            Some(c) => Err(ExprError(format!("unexpected {:?}", c as char))),
            None => Err(ExprError("unexpected end".into())),
        }
    }
}

/// The delay a failed response asks for: `Retry-After`, `X-RateLimit-Reset`,
/// `X-RateLimit-Reset-Requests`, `X-RateLimit-Reset-Tokens` (seconds, an HTTP date, or a Go duration).
/// Values beyond one day are ignored.
pub fn response_delay_ms(headers: &HeaderMap, now_ms: u64) -> Option<u64> {
    for name in [
        "retry-after",
        "x-ratelimit-reset",
        "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens",
    ] {
        let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) else { continue };
        if let Some(ms) = parse_header_delay(v.trim(), now_ms)
            && ms <= MAX_DELAY_MS
        {
            return Some(ms);
        }
    }
    None
}

fn parse_header_delay(v: &str, now_ms: u64) -> Option<u64> {
    if let Ok(secs) = v.parse::<u64>() {
        return secs.checked_mul(1000);
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some((secs * 1000.0).round() as u64);
    }
    if let Some(ms) = parse_go_duration_ms(v)
        && ms >= 0.0
    {
        return Some(ms.round() as u64);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let at_ms = u64::try_from(at.timestamp_millis()).ok()?;
    Some(at_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_backoff_matches_the_docs() {
        assert_eq!(default_backoff_ms(1) / 1000, 12);
        assert_eq!(default_backoff_ms(2) / 1000, 148); // 2m28s
        assert_eq!(default_backoff_ms(3) / 1000, 1808); // 30m8s
        assert_eq!(default_backoff_ms(4) / 1000, 22026); // 6h7m6s
        assert_eq!(default_backoff_ms(5), MAX_DELAY_MS);
        assert_eq!(default_backoff_ms(500), MAX_DELAY_MS);
    }

    #[test]
    fn expressions() {
        let e = |s: &str, r: u32| Expr::parse(s).unwrap().delay_ms(r);
        assert_eq!(e("1000", 0), 1000);
        assert_eq!(e("1000 * (1 + retried)", 2), 3000);
        assert_eq!(e("pow(2, retried) * 1000", 3), 8000);
        assert_eq!(e("max(10, pow(2, retried))", 1), 10);
        assert_eq!(e("7000 * retried", 0), 0);
        assert_eq!(e("min(1, 2, 3)", 0), 1);
        assert_eq!(e("-5", 0), 0);
        assert_eq!(e("1/0", 0), MAX_DELAY_MS);
        assert_eq!(e("0/0", 0), 0);
        assert_eq!(e("round(sqrt(abs(-16)) + floor(1.7) + ceil(0.2) + exp(0))", 0), 7);
        for bad in ["", "retry", "pow(1)", "1 +", "(1", "foo(1)", "1 2", "sqrt"] {
            assert!(Expr::parse(bad).is_err(), "{bad}");
        }
        let deep = "(".repeat(200) + "1" + &")".repeat(200);
        assert!(Expr::parse(&deep).is_err());
        let neg = "-".repeat(200) + "1";
        assert!(Expr::parse(&neg).is_err());
    }

    #[test]
    fn response_headers() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "5".parse().unwrap());
        assert_eq!(response_delay_ms(&h, 0), Some(5000));
        h.insert("retry-after", "0".parse().unwrap());
        assert_eq!(response_delay_ms(&h, 0), Some(0));
        h.insert("retry-after", "6m5s".parse().unwrap());
        assert_eq!(response_delay_ms(&h, 0), Some(365_000));
        h.insert("retry-after", "999999".parse().unwrap());
        assert_eq!(response_delay_ms(&h, 0), None);
        h.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        let at = 1_445_412_480_000;
        assert_eq!(response_delay_ms(&h, at - 3000), Some(3000));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset-tokens", "2s".parse().unwrap());
        assert_eq!(response_delay_ms(&h, 0), Some(2000));
    }
}
