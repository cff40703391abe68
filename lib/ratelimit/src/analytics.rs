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
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// let now = larder_ratelimit::now_ms();
/// for (id, u) in larder_ratelimit::analytics::usage(&redis, "api", now, 24).await? {
///     println!("{id}: {} allowed, {} blocked", u.success, u.blocked);
/// }
/// # Ok(()) }
/// ```
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
    let mut out = std::collections::BTreeMap::<String, Usage>::new();
    for (event, score) in union_events(redis, prefix, now_ms, hours).await? {
        let Some(id) = identifier(&event) else { continue };
        let entry = out.entry(id).or_default();
        if event.get("success") == Some(&serde_json::Value::Bool(true)) {
            entry.success += score;
        } else {
            entry.blocked += score;
        }
    }
    Ok(out)
}

/// The hourly bucket keys from the one containing `now_ms` back, at most `hours` (at least 1).
fn bucket_keys(prefix: &str, now_ms: u64, hours: u32) -> Vec<(u64, String)> {
    let bucket = now_ms / BUCKET_MS * BUCKET_MS;
    (0..u64::from(hours.max(1)))
        .map_while(|i| bucket.checked_sub(i * BUCKET_MS))
        .map(|t| (t, format!("{prefix}:events:{t}")))
        .collect()
}

/// The events of one hourly bucket, counted by the value of one field: [`usage_over_time`].
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// use larder_ratelimit::analytics::usage_over_time;
/// let now = larder_ratelimit::now_ms();
/// for bucket in usage_over_time(&redis, "api", now, 24, "success").await? {
///     let blocked = bucket.counts.get("false").copied().unwrap_or(0);
///     println!("hour starting {} ms: {blocked} rate-limited", bucket.time);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketCounts {
    /// The bucket's start (Unix epoch ms).
    pub time: u64,
    /// Field value (its text: `"true"`, `"false"`, `"denied"` for `success`; `"null"` when an event
    /// lacks the field) → number of events.
    pub counts: std::collections::BTreeMap<String, u64>,
}

/// Events per hourly bucket, newest first, counted by the value of `field` (`"success"`,
/// `"identifier"`, or a geo field such as `"country"`) over the last `hours` buckets: what
/// `getUsageOverTime(hours, field)` of `@upstash/ratelimit`'s `Analytics` returns (there as
/// `{time, [field]: {value: count}}`).
pub async fn usage_over_time(
    redis: &Redis,
    prefix: &str,
    now_ms: u64,
    hours: u32,
    field: &str,
) -> Result<Vec<BucketCounts>> {
    let keys = bucket_keys(prefix, now_ms, hours);
    let mut p = redis.pipeline();
    for (_, key) in &keys {
        p.command(("ZRANGE", key, 0, -1, "WITHSCORES"));
    }
    let replies = p.exec().await?;
    let mut out = Vec::with_capacity(keys.len());
    for ((time, _), reply) in keys.into_iter().zip(replies) {
        let mut counts = std::collections::BTreeMap::new();
        for (event, score) in events(&reply?) {
            let value = match event.get(field) {
                None | Some(serde_json::Value::Null) => "null".to_owned(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            *counts.entry(value).or_insert(0) += score;
        }
        out.push(BucketCounts { time, counts });
    }
    Ok(out)
}

/// The identifiers with the most events of each kind, from [`most_allowed_blocked`].
///
/// ```no_run
/// # async fn run(redis: larder_redis::Redis) -> larder_ratelimit::Result<()> {
/// let now = larder_ratelimit::now_ms();
/// let top = larder_ratelimit::analytics::most_allowed_blocked(&redis, "api", now, 24, 5).await?;
/// for (id, n) in &top.ratelimited {
///     println!("{id} was rate-limited {n} times today");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MostAllowedBlocked {
    /// `(identifier, count)` of allowed events, most first.
    pub allowed: Vec<(String, u64)>,
    /// Rejected by the limit (`success: false`).
    pub ratelimited: Vec<(String, u64)>,
    /// Rejected by the deny list (`success: "denied"`).
    pub denied: Vec<(String, u64)>,
}

/// The `top` identifiers with the most allowed, rate-limited and denied events over the last
/// `hours` buckets (`getMostAllowedBlocked` of `@upstash/ratelimit`'s `Analytics`). Events of one
/// identifier with different geo fields are added up (upstream lists each member separately and
/// looks at no more than `5 × top` members).
pub async fn most_allowed_blocked(
    redis: &Redis,
    prefix: &str,
    now_ms: u64,
    hours: u32,
    top: usize,
) -> Result<MostAllowedBlocked> {
    let mut groups: [std::collections::HashMap<String, u64>; 3] = Default::default();
    for (event, score) in union_events(redis, prefix, now_ms, hours).await? {
        let group = match event.get("success") {
            Some(serde_json::Value::Bool(true)) => 0,
            Some(serde_json::Value::String(s)) if s == "denied" => 2,
            _ => 1,
        };
        let Some(id) = identifier(&event) else { continue };
        *groups[group].entry(id).or_insert(0) += score;
    }
    let [allowed, ratelimited, denied] = groups.map(|g| {
        let mut v: Vec<(String, u64)> = g.into_iter().filter(|(_, n)| *n > 0).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(top);
        v
    });
    Ok(MostAllowedBlocked { allowed, ratelimited, denied })
}

type Event = serde_json::Map<String, serde_json::Value>;

/// The events of the last `hours` buckets added up (`ZUNION ... WITHSCORES`).
async fn union_events(
    redis: &Redis,
    prefix: &str,
    now_ms: u64,
    hours: u32,
) -> Result<Vec<(Event, u64)>> {
    let keys: Vec<String> =
        bucket_keys(prefix, now_ms, hours).into_iter().map(|(_, k)| k).collect();
    let cmd = larder_redis::Cmd::new("ZUNION").arg(keys.len()).arg(&keys).arg("WITHSCORES");
    Ok(events(&redis.command(cmd).await?))
}

/// An event's identifier as text.
fn identifier(event: &Event) -> Option<String> {
    match event.get("identifier")? {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The events of a `WITHSCORES` reply: each member parsed as a JSON object, with its count.
fn events(reply: &larder_redis::Value) -> Vec<(Event, u64)> {
    let flat = reply.as_array().unwrap_or_default();
    flat.chunks_exact(2)
        .filter_map(|pair| {
            let member = pair[0].as_str()?;
            let score = pair[1].decode::<f64>().ok()?;
            match serde_json::from_str(member) {
                Ok(serde_json::Value::Object(event)) => Some((event, score.max(0.0) as u64)),
                _ => None,
            }
        })
        .collect()
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
