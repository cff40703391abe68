//! Schedules' cron expressions: five fields (minute, hour, day of month, month, day of week) with an
//! optional `CRON_TZ=<IANA zone> ` prefix; evaluated in UTC by default, one-minute resolution.

use chrono::{TimeZone as _, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed `Upstash-Cron` value.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    tz: Option<Tz>,
}

impl CronSchedule {
    /// Parses `text`. The error is a message for the API's `{"error": ...}`.
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let text = text.trim();
        let (tz, pattern) = match text.strip_prefix("CRON_TZ=").or_else(|| text.strip_prefix("TZ="))
        {
            Some(rest) => {
                let (zone, pattern) = rest
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| format!("invalid cron expression {text:?}: missing fields"))?;
                let tz: Tz = zone.parse().map_err(|_| format!("invalid cron timezone {zone:?}"))?;
                (Some(tz), pattern.trim())
            }
            None => (None, text),
        };
        if pattern.split_whitespace().count() != 5 && !pattern.starts_with('@') {
            return Err(format!("invalid cron expression {text:?}: expected 5 fields"));
        }
        let parser =
            CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build();
        let cron =
            parser.parse(pattern).map_err(|e| format!("invalid cron expression {text:?}: {e}"))?;
        Ok(CronSchedule { cron, tz })
    }

    /// The first firing time strictly after `after_ms` (epoch ms), in epoch ms.
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        // Whole seconds: croner keeps the sub-second part of the start time.
        let after = Utc.timestamp_opt(i64::try_from(after_ms / 1000).ok()?, 0).single()?;
        let next = match self.tz {
            Some(tz) => self
                .cron
                .find_next_occurrence(&after.with_timezone(&tz), false)
                .ok()?
                .timestamp_millis(),
            None => self.cron.find_next_occurrence(&after, false).ok()?.timestamp_millis(),
        };
        u64::try_from(next).ok().map(|n| n - n % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-01-01T00:00:30Z
    const T0: u64 = 1_704_067_230_000;

    #[test]
    fn every_minute_and_hourly() {
        let c = CronSchedule::parse("* * * * *").unwrap();
        assert_eq!(c.next_after(T0), Some(1_704_067_260_000));
        let c = CronSchedule::parse("0 * * * *").unwrap();
        assert_eq!(c.next_after(T0), Some(1_704_070_800_000));
        let c = CronSchedule::parse("*/5 * * * *").unwrap();
        assert_eq!(c.next_after(T0), Some(1_704_067_500_000));
        assert_eq!(c.next_after(T0 + 123), Some(1_704_067_500_000));
    }

    #[test]
    fn timezone_prefix() {
        // 09:00 in New York on 2024-01-01 is 14:00 UTC.
        let c = CronSchedule::parse("CRON_TZ=America/New_York 0 9 * * *").unwrap();
        assert_eq!(c.next_after(T0), Some(1_704_117_600_000));
        let c = CronSchedule::parse("0 9 * * *").unwrap();
        assert_eq!(c.next_after(T0), Some(1_704_099_600_000));
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "61 * * * *",
            "CRON_TZ=Mars/Base * * * * *",
            "CRON_TZ=UTC",
        ] {
            assert!(CronSchedule::parse(bad).is_err(), "{bad:?}");
        }
    }
}
