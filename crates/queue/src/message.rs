//! Messages: the options a publish carries in its `Upstash-*` headers, and the stored form of a message.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cron::CronSchedule;
use crate::duration::parse_duration_ms;
use crate::error::QueueError;
use crate::retry::Expr;

/// Go-style header map: name → values.
pub type HeaderMapJson = BTreeMap<String, Vec<String>>;

/// Flow-control settings of a message.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FlowControl {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
}

/// Configuration of a callback message (`Upstash-Callback-Retries` etc.).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CallbackConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<String>,
}

/// Which fields the API shows redacted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Redact {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_headers: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
}

impl Redact {
    pub fn is_empty(&self) -> bool {
        !self.body && !self.all_headers && self.headers.is_empty()
    }
}

/// What kind of message this is.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    #[default]
    Message,
    Callback,
    FailureCallback,
}

impl Kind {
    fn is_message(&self) -> bool {
        *self == Kind::Message
    }
}

/// The immutable part of a stored message (the `spec` field of its hash), also used for schedules and DLQ
/// entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub id: String,
    pub url: String,
    pub method: String,
    #[serde(default)]
    pub header: HeaderMapJson,
    pub max_retries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_callback: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub callback_header: HeaderMapJson,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_callback_header: HeaderMapJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_config: Option<CallbackConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_callback_config: Option<CallbackConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_control: Option<FlowControl>,
    #[serde(default, skip_serializing_if = "Redact::is_empty")]
    pub redact: Redact,
    pub created_at: u64,
    pub not_before: u64,
    #[serde(default, skip_serializing_if = "Kind::is_message")]
    pub kind: Kind,
}

/// The options of a publish, enqueue, batch item or schedule, read from its headers. Schedules keep them
/// (serialized) to publish with them at every tick.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Options {
    pub method: Option<String>,
    /// Headers for the destination (forward prefix stripped), `Content-Type` included.
    pub header: HeaderMapJson,
    pub retries: Option<u32>,
    pub retry_delay: Option<String>,
    pub delay_ms: Option<u64>,
    pub not_before_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub callback: Option<String>,
    pub failure_callback: Option<String>,
    pub callback_header: HeaderMapJson,
    pub failure_callback_header: HeaderMapJson,
    pub callback_config: CallbackConfig,
    pub failure_callback_config: CallbackConfig,
    pub dedup_id: Option<String>,
    pub content_dedup: bool,
    pub flow_control: Option<FlowControl>,
    pub labels: Vec<String>,
    pub redact: Redact,
    pub cron: Option<String>,
    pub schedule_id: Option<String>,
    pub queue_name: Option<String>,
    pub forward_all: bool,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn bad(msg: impl Into<String>) -> QueueError {
    QueueError::bad_request(msg)
}

fn parse_bool(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true") || v.trim() == "1"
}

fn push(map: &mut HeaderMapJson, name: &str, value: &str) {
    map.entry(canonical(name)).or_default().push(value.to_string());
}

/// `content-type` → `Content-Type`.
pub fn canonical(name: &str) -> String {
    name.split('-')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn parse_callback_config(
    cfg: &mut CallbackConfig,
    suffix: &str,
    v: &str,
) -> Result<bool, QueueError> {
    match suffix {
        "method" => {
            let m = v.trim().to_ascii_uppercase();
            if !METHODS.contains(&m.as_str()) {
                return Err(bad(format!("invalid callback method {v:?}")));
            }
            cfg.method = Some(m);
        }
        "retries" => {
            cfg.retries =
                Some(v.trim().parse().map_err(|_| bad(format!("invalid callback retries {v:?}")))?)
        }
        "timeout" => {
            cfg.timeout_ms = Some(
                parse_duration_ms(v)
                    .ok_or_else(|| bad(format!("invalid callback timeout {v:?}")))?,
            )
        }
        "retry-delay" => {
            Expr::parse(v).map_err(|e| bad(e.to_string()))?;
            cfg.retry_delay = Some(v.trim().to_string());
        }
        "delay" => return Err(bad("delayed callbacks are not supported")),
        _ => return Ok(false),
    }
    Ok(true)
}

/// Checks that `url` is an absolute http(s) URL (the error users know from QStash).
pub fn check_url(url: &str) -> Result<(), QueueError> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && reqwest::Url::parse(url).is_ok() => {
            Ok(())
        }
        Some(_) => Err(bad(format!("invalid destination url: {url:?} is not a valid URL"))),
        None => Err(bad(
            "invalid destination url: endpoint has invalid scheme, add http:// or https://",
        )),
    }
}

/// Reads `Upstash-*` config, forwarded headers and `Content-Type` from request headers (names in any case).
pub fn parse_options<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Options, QueueError> {
    let mut o = Options::default();
    let mut raw: Vec<(String, &str)> = Vec::new();
    for (name, value) in headers {
        let n = name.to_ascii_lowercase();
        raw.push((n, value));
    }
    // `Upstash-Header-Forward` decides how the other headers are read.
    o.forward_all = raw.iter().any(|(n, v)| n == "upstash-header-forward" && parse_bool(v));
    for (n, v) in &raw {
        let v: &str = v;
        if let Some(f) = n.strip_prefix("upstash-forward-") {
            if !f.is_empty() {
                push(&mut o.header, f, v);
            }
            continue;
        }
        if let Some(rest) = n.strip_prefix("upstash-failure-callback-") {
            if let Some(f) = rest.strip_prefix("forward-") {
                push(&mut o.failure_callback_header, f, v);
            } else if !parse_callback_config(&mut o.failure_callback_config, rest, v)? {
                push(&mut o.failure_callback_header, rest, v);
            }
            continue;
        }
        if let Some(rest) = n.strip_prefix("upstash-callback-") {
            if let Some(f) = rest.strip_prefix("forward-") {
                push(&mut o.callback_header, f, v);
            } else if !parse_callback_config(&mut o.callback_config, rest, v)? {
                push(&mut o.callback_header, rest, v);
            }
            continue;
        }
        match n.as_str() {
            "content-type" => push(&mut o.header, "content-type", v),
            "upstash-method" => {
                let m = v.trim().to_ascii_uppercase();
                if !METHODS.contains(&m.as_str()) {
                    return Err(bad(format!("invalid Upstash-Method {v:?}")));
                }
                o.method = Some(m);
            }
            "upstash-retries" => {
                o.retries = Some(
                    v.trim().parse().map_err(|_| bad(format!("invalid Upstash-Retries {v:?}")))?,
                )
            }
            "upstash-retry-delay" => {
                Expr::parse(v).map_err(|e| bad(e.to_string()))?;
                o.retry_delay = Some(v.trim().to_string());
            }
            "upstash-delay" => {
                o.delay_ms = Some(
                    parse_duration_ms(v)
                        .ok_or_else(|| bad(format!("invalid Upstash-Delay {v:?}")))?,
                )
            }
            "upstash-not-before" => {
                let s: u64 = v
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("invalid Upstash-Not-Before {v:?}")))?;
                o.not_before_ms = Some(s.saturating_mul(1000));
            }
            "upstash-timeout" => {
                o.timeout_ms = Some(
                    parse_duration_ms(v)
                        .ok_or_else(|| bad(format!("invalid Upstash-Timeout {v:?}")))?,
                )
            }
            "upstash-callback" => {
                check_url(v.trim())?;
                o.callback = Some(v.trim().to_string());
            }
            "upstash-failure-callback" => {
                check_url(v.trim())?;
                o.failure_callback = Some(v.trim().to_string());
            }
            "upstash-deduplication-id" => o.dedup_id = Some(v.to_string()),
            "upstash-content-based-deduplication" => o.content_dedup = parse_bool(v),
            "upstash-flow-control-key" => {
                let fc = o.flow_control.get_or_insert_with(FlowControl::default);
                fc.key = v.trim().to_string();
            }
            "upstash-flow-control-value" => {
                let fc = o.flow_control.get_or_insert_with(FlowControl::default);
                parse_flow_control_value(fc, v)?;
            }
            "upstash-label" => o
                .labels
                .extend(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)),
            "upstash-redact-fields" => parse_redact(&mut o.redact, v),
            "upstash-cron" => o.cron = Some(v.trim().to_string()),
            "upstash-schedule-id" => o.schedule_id = Some(v.trim().to_string()),
            "upstash-queue-name" => o.queue_name = Some(v.trim().to_string()),
            _ => {
                if o.forward_all
                    && !n.starts_with("upstash-")
                    && !matches!(
                        n.as_str(),
                        "authorization"
                            | "host"
                            | "content-length"
                            | "connection"
                            | "transfer-encoding"
                    )
                {
                    push(&mut o.header, n, v);
                }
            }
        }
    }
    for map in [&o.header, &o.callback_header, &o.failure_callback_header] {
        for (name, values) in map {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(bad(format!("invalid header name {name:?}")));
            }
            if let Some(v) = values.iter().find(|v| http::HeaderValue::from_str(v).is_err()) {
                return Err(bad(format!("invalid value for header {name}: {v:?}")));
            }
        }
    }
    if let Some(fc) = &o.flow_control
        && fc.key.is_empty()
    {
        return Err(bad("Upstash-Flow-Control-Value needs an Upstash-Flow-Control-Key"));
    }
    if let Some(fc) = &o.flow_control {
        check_name(&fc.key, "flow control key")?;
    }
    if let Some(c) = &o.cron {
        CronSchedule::parse(c).map_err(bad)?;
    }
    Ok(o)
}

fn parse_flow_control_value(fc: &mut FlowControl, v: &str) -> Result<(), QueueError> {
    for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, val) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("invalid Upstash-Flow-Control-Value {v:?}")))?;
        let (k, val) = (k.trim().to_ascii_lowercase(), val.trim());
        let err = || bad(format!("invalid Upstash-Flow-Control-Value {v:?}"));
        match k.as_str() {
            "parallelism" => fc.parallelism = Some(val.parse().map_err(|_| err())?),
            "rate" => fc.rate = Some(val.parse().map_err(|_| err())?),
            "period" => {
                let ms = parse_duration_ms(val).ok_or_else(err)?;
                if ms > 7 * 86_400_000 {
                    return Err(bad("flow control period can be at most a week"));
                }
                fc.period = Some((ms / 1000).max(1));
            }
            _ => return Err(err()),
        }
    }
    Ok(())
}

fn parse_redact(r: &mut Redact, v: &str) {
    for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let lower = part.to_ascii_lowercase();
        if lower == "body" {
            r.body = true;
        } else if lower == "header" || lower == "headers" {
            r.all_headers = true;
        } else if let Some(inner) = part
            .strip_prefix("header[")
            .or_else(|| part.strip_prefix("headers["))
            .and_then(|s| s.strip_suffix(']'))
        {
            r.headers.push(canonical(inner));
        }
    }
}

/// Names of queues, URL groups, schedules and flow-control keys: `[A-Za-z0-9._-]+`.
pub fn check_name(name: &str, what: &str) -> Result<(), QueueError> {
    if name.is_empty()
        || name.len() > 256
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(bad(format!(
            "invalid {what} {name:?}: use only letters, digits, '.', '_' and '-'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(h: &[(&str, &str)]) -> Result<Options, QueueError> {
        parse_options(h.iter().copied())
    }

    #[test]
    fn forwarding_and_config() {
        let o = opts(&[
            ("Content-Type", "application/json"),
            ("upstash-forward-test-header", "v1"),
            ("Upstash-Forward-Test-Header", "v2"),
            ("Upstash-Method", "put"),
            ("Upstash-Retries", "2"),
            ("Upstash-Delay", "1m"),
            ("Upstash-Content-Based-Deduplication", "True"),
            ("Upstash-Flow-Control-Key", "k"),
            ("Upstash-Flow-Control-Value", "parallelism=2, rate=10, period=1m"),
            ("Upstash-Label", "a, b"),
            ("Upstash-Callback", "http://cb/x"),
            ("Upstash-Callback-Retries", "1"),
            ("Upstash-Callback-Forward-Auth", "t"),
            ("Upstash-Callback-My-Header", "m"),
            ("Upstash-Telemetry-Sdk", "x"),
            ("Authorization", "Bearer secret"),
            ("User-Agent", "curl"),
        ])
        .unwrap();
        assert_eq!(o.header["Content-Type"], vec!["application/json"]);
        assert_eq!(o.header["Test-Header"], vec!["v1", "v2"]);
        assert_eq!(o.header.len(), 2);
        assert_eq!(o.method.as_deref(), Some("PUT"));
        assert_eq!(o.retries, Some(2));
        assert_eq!(o.delay_ms, Some(60_000));
        assert!(o.content_dedup);
        let fc = o.flow_control.unwrap();
        assert_eq!((fc.parallelism, fc.rate, fc.period), (Some(2), Some(10), Some(60)));
        assert_eq!(o.labels, vec!["a", "b"]);
        assert_eq!(o.callback_config.retries, Some(1));
        assert_eq!(o.callback_header["Auth"], vec!["t"]);
        assert_eq!(o.callback_header["My-Header"], vec!["m"]);
    }

    #[test]
    fn forward_all() {
        let o =
            opts(&[("Upstash-Header-Forward", "true"), ("X-Custom", "1"), ("Authorization", "s")])
                .unwrap();
        assert_eq!(o.header["X-Custom"], vec!["1"]);
        assert!(!o.header.contains_key("Authorization"));
    }

    #[test]
    fn refusals() {
        for h in [
            ("Upstash-Retries", "-1"),
            ("Upstash-Delay", "soon"),
            ("Upstash-Not-Before", "x"),
            ("Upstash-Method", "BREW"),
            ("Upstash-Retry-Delay", "retried +"),
            ("Upstash-Callback", "ftp://x"),
            ("Upstash-Flow-Control-Value", "rate=1"),
            ("Upstash-Cron", "every day"),
            ("Upstash-Timeout", "1y"),
            ("Upstash-Forward-Bad Name", "x"),
            ("Upstash-Forward-X", "line\nbreak"),
        ] {
            assert!(opts(&[h]).is_err(), "{h:?}");
        }
    }

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:9000/a?b=c").is_ok());
        assert!(check_url("https://example.com").is_ok());
        let e = check_url("example.com").unwrap_err();
        assert!(e.message.contains("invalid scheme"));
        assert!(check_url("http://").is_err());
    }
}
