//! Deny lists (`enableProtection` in `@upstash/ratelimit`), without any download.
//!
//! A limit call with protection on checks the identifier, IP, user agent and country of the call
//! against the set `prefix:denyList:all` (one `SMISMEMBER`, in the same script and keys as the
//! JavaScript library, so lists managed from JavaScript or the Upstash console apply here too). A
//! denied value is remembered in a process-wide cache for 60 s (no Redis call meanwhile).
//!
//! The JavaScript library also downloads a public IP deny list from GitHub once a day when
//! `prefix:ipDenyListStatus` is missing. This crate never goes to the internet: the list is
//! refreshed only from a source you give
//! ([`RatelimitBuilder::ip_deny_list_source`](crate::RatelimitBuilder::ip_deny_list_source): a file you
//! ship, your own service...), or set with [`update_ip_deny_list`], or turned off with
//! [`disable_ip_deny_list`]. Without a source nothing happens when the status expires (the check
//! script marks it `pending` for 30 s, as in JavaScript).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use larder_redis::{Redis, Value};

use crate::error::{Error, Result};
use crate::scripts::DENY_LIST_CHECK;

/// `prefix:denyList:all`: the union of every denied value (what the check reads).
pub fn all_key(prefix: &str) -> String {
    format!("{prefix}:denyList:all")
}

/// `prefix:denyList:ipDenyList`: the automatically maintained IP list.
pub fn ip_list_key(prefix: &str) -> String {
    format!("{prefix}:denyList:ipDenyList")
}

/// `prefix:ipDenyListStatus`: `"valid"` (with a TTL until the next refresh), `"pending"` or
/// `"disabled"`.
pub fn status_key(prefix: &str) -> String {
    format!("{prefix}:ipDenyListStatus")
}

const DENY_CACHE_MS: u64 = 60_000;
const DENY_CACHE_MAX: usize = 1000;

/// Denied values seen recently, process-wide like the JavaScript module-level cache.
static DENIED: LazyLock<Mutex<HashMap<String, u64>>> = LazyLock::new(Default::default);

/// The first member that the process-wide cache knows to be denied at `now`.
pub(crate) fn cached(members: &[&str], now: u64) -> Option<String> {
    let mut cache = DENIED.lock().unwrap_or_else(|e| e.into_inner());
    members.iter().find_map(|m| match cache.get(*m) {
        Some(&until) if until >= now => Some((*m).to_owned()),
        Some(_) => {
            cache.remove(*m);
            None
        }
        None => None,
    })
}

fn remember(member: &str, now: u64) {
    let mut cache = DENIED.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() > DENY_CACHE_MAX {
        cache.clear();
    }
    cache.insert(member.to_owned(), now + DENY_CACHE_MS);
}

/// Forgets every cached denial (process-wide), e.g. after removing values from the list.
pub fn clear_cache() {
    DENIED.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Forgets the cached denial of these values (process-wide).
pub fn forget_cached(values: &[&str]) {
    let mut cache = DENIED.lock().unwrap_or_else(|e| e.into_inner());
    for v in values {
        cache.remove(*v);
    }
}

pub(crate) struct Check {
    pub denied_value: Option<String>,
    /// The IP list status key was missing: time to refresh the list.
    pub refresh_ip_list: bool,
}

/// Runs the deny-list check script; caches every denied member.
pub(crate) async fn check(
    redis: &Redis,
    prefix: &str,
    members: &[&str],
    now: u64,
) -> Result<Check> {
    let reply: Value =
        DENY_LIST_CHECK.run(redis, [all_key(prefix), status_key(prefix)], members).await?;
    let (flags, status): (Vec<i64>, i64) = reply.decode()?;
    let mut denied_value = None;
    for (member, flag) in members.iter().zip(flags) {
        if flag != 0 {
            remember(member, now);
            // JavaScript reports the last denied member.
            denied_value = Some((*member).to_owned());
        }
    }
    Ok(Check { denied_value, refresh_ip_list: status == -2 })
}

/// Milliseconds until the next 02:00 UTC (when the JavaScript library refreshes the IP list).
pub fn ip_list_ttl(now_ms: u64) -> u64 {
    const DAY: u64 = 86_400_000;
    const TWO_AM: u64 = 2 * 3_600_000;
    DAY - (now_ms + DAY - TWO_AM) % DAY
}

/// Adds values (identifiers, IPs, user agents, countries) to the deny list.
pub async fn deny(redis: &Redis, prefix: &str, values: &[&str]) -> Result<()> {
    if !values.is_empty() {
        redis.command(larder_redis::Cmd::new("SADD").arg(all_key(prefix)).arg(values)).await?;
    }
    Ok(())
}

/// Removes values from the deny list (and from this process's cache of denied values).
pub async fn allow(redis: &Redis, prefix: &str, values: &[&str]) -> Result<()> {
    if !values.is_empty() {
        redis.command(larder_redis::Cmd::new("SREM").arg(all_key(prefix)).arg(values)).await?;
        forget_cached(values);
    }
    Ok(())
}

/// Replaces the automatic IP list with `ips`, in the same transaction as `@upstash/ratelimit`'s
/// `updateIpDenyList` (the IPs you listed yourself stay), and marks it valid for `ttl` (default:
/// until the next 02:00 UTC).
pub async fn update_ip_deny_list(
    redis: &Redis,
    prefix: &str,
    ips: &[String],
    ttl: Option<Duration>,
) -> Result<()> {
    let all = all_key(prefix);
    let ip = ip_list_key(prefix);
    let ttl_ms = match ttl {
        Some(t) => u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1),
        None => ip_list_ttl(crate::now_ms()),
    };
    let mut tx = redis.multi();
    tx.command(("SDIFFSTORE", &all, &all, &ip)).command(("DEL", &ip));
    if !ips.is_empty() {
        tx.command(larder_redis::Cmd::new("SADD").arg(&ip).arg(ips));
    }
    tx.command(("SDIFFSTORE", &ip, &ip, &all)).command(("SUNIONSTORE", &all, &all, &ip)).command((
        "SET",
        status_key(prefix),
        "valid",
        "PX",
        ttl_ms,
    ));
    for r in tx.exec().await? {
        r?;
    }
    Ok(())
}

/// Removes the automatic IP list and marks it disabled (no refresh is ever attempted), as
/// `@upstash/ratelimit`'s `disableIpDenyList`.
pub async fn disable_ip_deny_list(redis: &Redis, prefix: &str) -> Result<()> {
    let all = all_key(prefix);
    let ip = ip_list_key(prefix);
    let mut tx = redis.multi();
    tx.command(("SDIFFSTORE", &all, &all, &ip)).command(("DEL", &ip)).command((
        "SET",
        status_key(prefix),
        "disabled",
    ));
    for r in tx.exec().await? {
        r.map_err(Error::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_until_two_am_utc() {
        // 2023-11-14T22:13:20Z -> 3 h 46 min 40 s to 02:00.
        assert_eq!(ip_list_ttl(1_700_000_000_000), 13_600_000);
        // Exactly 02:00 -> a full day.
        assert_eq!(ip_list_ttl(7_200_000), 86_400_000);
        assert_eq!(ip_list_ttl(0), 7_200_000);
    }

    #[test]
    fn cache_expires() {
        remember("deny-cache-test", 0);
        assert_eq!(cached(&["x", "deny-cache-test"], 60_000).as_deref(), Some("deny-cache-test"));
        assert_eq!(cached(&["deny-cache-test"], 60_001), None);
    }
}
