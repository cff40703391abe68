//! Window strings in the format of `@upstash/ratelimit` 2.2 (`"10 s"`, `"1.5 m"`, `"2w"`).

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses a duration the way `@upstash/ratelimit` 2.2 does: a number (decimals allowed), an
/// optional single space, and a unit `ms`, `s`, `m`, `h`, `d` or `w`; the result is rounded to whole
/// milliseconds and must be at least 1 ms.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(larder_ratelimit::duration("10 s").unwrap(), Duration::from_secs(10));
/// assert_eq!(larder_ratelimit::duration("1.5m").unwrap(), Duration::from_secs(90));
/// assert!(larder_ratelimit::duration("10 years").is_err());
/// ```
pub fn duration(s: &str) -> Result<Duration> {
    let bad = || Error::InvalidArgument(format!("unable to parse window size: {s}"));
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
    let (num, rest) = s.split_at(split);
    let unit = rest.strip_prefix(' ').unwrap_or(rest);
    // `\d+(\.\d+)?`
    let valid_num = match num.split_once('.') {
        None => !num.is_empty(),
        Some((a, b)) => !a.is_empty() && !b.is_empty() && !b.contains('.'),
    };
    if !valid_num {
        return Err(bad());
    }
    let mult: f64 = match unit {
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        "d" => 86_400e3,
        "w" => 604_800e3,
        _ => return Err(bad()),
    };
    let value: f64 = num.parse().map_err(|_| bad())?;
    let ms = (value * mult).round();
    if ms < 1.0 || !ms.is_finite() {
        return Err(Error::InvalidArgument(format!("window size must be at least 1 ms, got: {s}")));
    }
    Ok(Duration::from_millis(ms as u64))
}

/// Whole milliseconds of a window, at least 1.
pub(crate) fn window_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_upstash() {
        let ms = |s| duration(s).map(|d| d.as_millis());
        assert_eq!(ms("10 s").unwrap(), 10_000);
        assert_eq!(ms("10s").unwrap(), 10_000);
        assert_eq!(ms("250ms").unwrap(), 250);
        assert_eq!(ms("1.5 m").unwrap(), 90_000);
        assert_eq!(ms("2w").unwrap(), 1_209_600_000);
        assert_eq!(ms("1 d").unwrap(), 86_400_000);
        assert_eq!(ms("0.5ms").unwrap(), 1); // rounds half away from zero, like Math.round
        for bad in ["", "s", "10", "10  s", "1.s", ".5s", "-1s", "0s", "0.4ms", "10 sec", "1.2.3s"]
        {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }
}
