//! Analytics in the keys `@upstash/ratelimit` writes (through `@upstash/core-analytics` 0.0.10):
//! one `ZINCRBY prefix:events:<hour start ms> 1 <event JSON>` per limit call.

use larder_redis::Redis;

use crate::error::Result;

/// One hour, the bucket size of `@upstash/ratelimit`'s analytics.
pub const BUCKET_MS: u64 = 3_600_000;

/// The analytics key for the hour that contains `now_ms`: `prefix:events:<hour start in ms>`.
///
/// ```
/// assert_eq!(
///     larder_ratelimit::analytics::bucket_key("@upstash/ratelimit", 1_700_000_012_345),
///     "@upstash/ratelimit:events:1699999200000",
/// );
/// ```
pub fn bucket_key(prefix: &str, now_ms: u64) -> String {
    format!("{prefix}:events:{}", now_ms / BUCKET_MS * BUCKET_MS)
}

/// The sorted-set member for one event, byte for byte what JavaScript's
/// `JSON.stringify({identifier, time: undefined, success, ...geo})` gives: `identifier`, then
/// `success` (`true`, `false` or `"denied"`), then the geo fields in order (a geo field named like an
/// earlier one replaces its value in place, as object spread does; `time` is always dropped).
///
/// ```
/// use serde_json::json;
/// use larder_ratelimit::analytics::event_member;
/// assert_eq!(event_member("127.0.0.1", &json!(true), &[]), r#"{"identifier":"127.0.0.1","success":true}"#);
/// assert_eq!(
///     event_member("u", &json!("denied"), &[("country".into(), json!("DE"))]),
///     r#"{"identifier":"u","success":"denied","country":"DE"}"#,
/// );
/// ```
pub fn event_member(
    identifier: &str,
    success: &serde_json::Value,
    geo: &[(String, serde_json::Value)],
) -> String {
    let mut fields: Vec<(&str, serde_json::Value)> = vec![
        ("identifier", serde_json::Value::from(identifier)),
        ("time", serde_json::Value::Null),
        ("success", success.clone()),
    ];
    for (k, v) in geo {
        match fields.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.clone(),
            None => fields.push((k, v.clone())),
        }
    }
    let mut out = String::from("{");
    for (k, v) in fields.into_iter().filter(|(k, _)| *k != "time") {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(k).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push('}');
    out
}

/// Records one event (what every limit call does when analytics are on).
pub async fn record(
    redis: &Redis,
    prefix: &str,
    now_ms: u64,
    identifier: &str,
    success: &serde_json::Value,
    geo: &[(String, serde_json::Value)],
) -> Result<()> {
    let member = event_member(identifier, success, geo);
    redis.command(("ZINCRBY", bucket_key(prefix, now_ms), 1, member)).await?;
    Ok(())
}

/// Allowed and blocked counts of one identifier, from [`usage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Events with `success: true`.
    pub success: u64,
    /// Events with `success: false` or `"denied"`.
    pub blocked: u64,
}

/// Allowed and blocked counts per identifier over the last `hours` hourly buckets (the current one
/// included), read from the same keys the Upstash console reads (`ZUNION ... WITHSCORES`, like
/// `getUsage` in `@upstash/ratelimit`'s `Analytics`).
pub async fn usage(
    redis: &Redis,
    prefix: &str,
    now_ms: u64,
    hours: u32,
) -> Result<std::collections::BTreeMap<String, Usage>> {
    let hours = hours.max(1);
    let bucket = now_ms / BUCKET_MS * BUCKET_MS;
    let keys: Vec<String> = (0..u64::from(hours))
        .map_while(|i| bucket.checked_sub(i * BUCKET_MS))
        .map(|t| format!("{prefix}:events:{t}"))
        .collect();
    let cmd = larder_redis::Cmd::new("ZUNION").arg(keys.len()).arg(&keys).arg("WITHSCORES");
    let reply = redis.command(cmd).await?;
    let flat = reply.as_array().unwrap_or_default();
    let mut out = std::collections::BTreeMap::<String, Usage>::new();
    for pair in flat.chunks_exact(2) {
        let (Some(member), Ok(score)) = (pair[0].as_str(), pair[1].decode::<f64>()) else {
            continue;
        };
        let Ok(serde_json::Value::Object(event)) = serde_json::from_str(member) else { continue };
        let id = match event.get("identifier") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => continue,
        };
        let entry = out.entry(id).or_default();
        if event.get("success") == Some(&serde_json::Value::Bool(true)) {
            entry.success += score as u64;
        } else {
            entry.blocked += score as u64;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_match_json_stringify() {
        assert_eq!(
            event_member("a\"b", &json!(false), &[("city".into(), json!("Zürich"))]),
            r#"{"identifier":"a\"b","success":false,"city":"Zürich"}"#
        );
        // A geo field named `success` overrides in place; `time` is dropped.
        assert_eq!(
            event_member(
                "x",
                &json!(true),
                &[("time".into(), json!(1)), ("success".into(), json!(0))]
            ),
            r#"{"identifier":"x","success":0}"#
        );
    }
}
