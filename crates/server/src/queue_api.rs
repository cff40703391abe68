//! The QStash v2 API under `/v2/` on the HTTP port, with its own bearer token (`--qstash-token`, or
//! `?qstash_token=`). Requests are turned into calls on [`larder_queue::Queue`]; every error is a status
//! and `{"error": ...}`. Destinations are rebuilt from the raw request target (never percent-decoded, `//`
//! kept, the destination's own query string kept). See `docs/queue.md` and `shared/spec/qstash.md`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use larder_queue::service::{Endpoint, Filter, PublishRequest};
use larder_queue::{Queue, QueueConfig, QueueError, Worker};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::App;
use crate::queue_store::EngineStore;
use crate::rest::percent_decode;

/// What the queue's handlers share.
#[derive(Debug)]
pub struct QueueApi {
    pub queue: Arc<Queue>,
    pub worker: Arc<Worker>,
    token: Vec<u8>,
    max_body: usize,
}

/// Opens the queue over the embedded engine and starts its worker.
pub async fn start(
    app: Arc<App>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) -> anyhow::Result<Arc<QueueApi>> {
    let q = &app.config.qstash;
    let store = Arc::new(EngineStore::new(app.clone()));
    let queue = Queue::open(
        store,
        QueueConfig { dedup_window_ms: q.dedup_window_ms, ..QueueConfig::default() },
        &q.current_signing_key,
        &q.next_signing_key,
        q.explicit_keys,
    )
    .await
    .map_err(|e| anyhow::anyhow!("open the queue: {}", e.message))?;
    let worker = Worker::spawn(queue.clone(), shutdown, tracker)
        .map_err(|e| anyhow::anyhow!("start the queue worker: {}", e.message))?;
    Ok(Arc::new(QueueApi {
        queue,
        worker,
        token: q.token.as_bytes().to_vec(),
        max_body: app.config.max_request_size,
    }))
}

/// Adds `/v2/...` to `router`.
pub fn mount(router: axum::Router, api: Arc<QueueApi>) -> axum::Router {
    let a = api.clone();
    router.route(
        "/v2/{*rest}",
        axum::routing::any(move |req: axum::extract::Request| {
            let api = a.clone();
            async move {
                let (parts, body) = req.into_parts();
                let peer = parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|c| c.0.ip());
                let caller = caller_ip(&parts.headers, peer);
                handle(&api, parts.method, parts.uri, parts.headers, body, caller).await
            }
        }),
    )
}

type Result<T> = std::result::Result<T, QueueError>;

async fn handle(
    api: &QueueApi,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    caller: Option<String>,
) -> Response {
    let r = route(api, &method, &uri, &headers, body, caller).await;
    match r {
        Ok((status, Some(v))) => json_response(status, v.to_string().into_bytes()),
        Ok((status, None)) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            r
        }
        Err(e) => {
            let e = out_of_memory(e);
            json_response(e.status, json!({"error": e.message}).to_string().into_bytes())
        }
    }
}

/// A queue operation refused by the memory limit (`--maxmemory` with `noeviction`, or nothing left to
/// evict): 507 Insufficient Storage with Redis's OOM text, so clients see why and may retry later.
/// Nothing was written: the queue's scripts are refused before their first write.
fn out_of_memory(e: QueueError) -> QueueError {
    use larder_engine::memory::OOM_ERROR;
    if e.status >= 500 && e.message.contains(OOM_ERROR) {
        QueueError::new(507, OOM_ERROR)
    } else {
        e
    }
}

fn json_response(status: u16, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The query string as (key, value) pairs, percent-decoded (`+` is a space).
fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    let dec = |s: &str| {
        String::from_utf8_lossy(&percent_decode(s.replace('+', " ").as_bytes())).into_owned()
    };
    q.unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(kv), String::new()),
        })
        .collect()
}

fn authenticate(api: &QueueApi, uri: &Uri, headers: &HeaderMap) -> Result<()> {
    let unauthorized = || QueueError::new(401, "Unauthorized");
    let candidate: Vec<u8> = match headers.get(header::AUTHORIZATION) {
        Some(v) => {
            let v = v.as_bytes();
            let t = v
                .strip_prefix(b"Bearer ")
                .or_else(|| v.strip_prefix(b"bearer "))
                .ok_or_else(unauthorized)?;
            t.trim_ascii().to_vec()
        }
        None => query_pairs(uri.query())
            .into_iter()
            .find(|(k, _)| k == "qstash_token")
            .map(|(_, v)| v.into_bytes())
            .ok_or_else(unauthorized)?,
    };
    if larder_engine::ct_eq(&candidate, &api.token) { Ok(()) } else { Err(unauthorized()) }
}

async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes> {
    let too_large = || QueueError::new(413, "request body too large");
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if e.to_string().contains("length limit") {
            too_large()
        } else {
            QueueError::bad_request(format!("could not read the request body: {e}"))
        }
    })
}

/// The request headers as (name, value) pairs; values that are not text are skipped.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

/// Splits the raw query of a publish into the destination's own query (kept as sent) and QStash's
/// config keys (`qstash_token`, `upstash-*`, which become headers).
fn split_query(q: Option<&str>) -> (String, Vec<(String, String)>) {
    let mut keep = Vec::new();
    let mut config = Vec::new();
    for kv in q.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let key = kv.split_once('=').map_or(kv, |(k, _)| k);
        let lower = String::from_utf8_lossy(&percent_decode(key.as_bytes())).to_ascii_lowercase();
        if lower == "qstash_token" {
            continue;
        }
        if lower.starts_with("upstash-") {
            config.extend(
                query_pairs(Some(kv)).into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)),
            );
            continue;
        }
        keep.push(kv);
    }
    (keep.join("&"), config)
}

/// The destination after `prefix` in the raw path, with the destination's query.
fn destination(uri: &Uri, rest: &str) -> (String, Vec<(String, String)>) {
    let (query, config) = split_query(uri.query());
    let mut d = rest.to_string();
    if !query.is_empty() {
        d.push('?');
        d.push_str(&query);
    }
    (d, config)
}

/// The publisher's address: the first `X-Forwarded-For` entry (behind a proxy), else the peer's address.
fn caller_ip(headers: &HeaderMap, peer: Option<std::net::IpAddr>) -> Option<String> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| peer.map(|p| p.to_string()))
}

fn filter_from(query: &[(String, String)], body: &Bytes) -> Result<Filter> {
    let mut f = Filter::default();
    let multi = |v: &str| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for (k, v) in query {
        let list = multi(v);
        match k.as_str() {
            "messageIds" => f.message_ids.extend(list),
            "messageId" => f.message_ids.extend(list),
            "dlqIds" | "dlqId" => f.ids.extend(list),
            "url" => f.url.push(v.clone()),
            "topicName" | "urlGroup" => f.topic_name.extend(list),
            "scheduleId" => f.schedule_id.extend(list),
            "queueName" => f.queue_name.extend(list),
            "label" => f.label.extend(list),
            "flowControlKey" => f.flow_control_key.extend(list),
            "state" => f.state.extend(list),
            "responseStatus" => f.response_status.extend(list),
            "callerIp" | "callerIP" => f.caller_ip.extend(list),
            "host" => f.host.extend(list),
            "path" => f.path.extend(list),
            "fromDate" => {
                f.from_date = Some(
                    v.parse()
                        .map_err(|_| QueueError::bad_request(format!("invalid fromDate {v:?}")))?,
                )
            }
            "toDate" => {
                f.to_date = Some(
                    v.parse()
                        .map_err(|_| QueueError::bad_request(format!("invalid toDate {v:?}")))?,
                )
            }
            "count" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| QueueError::bad_request(format!("invalid count {v:?}")))?;
                f.count = Some(n);
            }
            "cursor" => f.cursor = Some(v.clone()).filter(|c| !c.is_empty()),
            "order" => f.latest_first = Some(v.eq_ignore_ascii_case("latestFirst")),
            _ => {}
        }
    }
    // Python sends bulk ids as a JSON body on DELETE.
    if !body.is_empty() {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| QueueError::bad_request(format!("invalid JSON body: {e}")))?;
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        f.message_ids.extend(strings(&v["messageIds"]));
        f.ids.extend(strings(&v["dlqIds"]));
    }
    Ok(f)
}

fn parse_json(body: &Bytes) -> Result<Value> {
    serde_json::from_slice(body)
        .map_err(|e| QueueError::bad_request(format!("invalid JSON body: {e}")))
}

fn endpoints_from(v: &Value, need_url: bool) -> Result<Vec<Endpoint>> {
    let arr = v["endpoints"]
        .as_array()
        .ok_or_else(|| QueueError::bad_request("endpoints must be an array"))?;
    let mut out = Vec::with_capacity(arr.len());
    for e in arr {
        let url = e["url"].as_str().unwrap_or("").to_string();
        let name = e["name"].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        if need_url && url.is_empty() {
            return Err(QueueError::bad_request("every endpoint needs a url"));
        }
        if !need_url && url.is_empty() && name.is_none() {
            return Err(QueueError::bad_request("every endpoint needs a url or a name"));
        }
        out.push(Endpoint { name, url });
    }
    Ok(out)
}

fn batch_items(body: &Bytes, ip: Option<String>) -> Result<Vec<PublishRequest>> {
    let v = parse_json(body)?;
    let arr = v
        .as_array()
        .ok_or_else(|| QueueError::bad_request("the batch body must be a JSON array"))?;
    let mut items = Vec::with_capacity(arr.len());
    for (i, item) in arr.iter().enumerate() {
        let dest = item["destination"].as_str().ok_or_else(|| {
            QueueError::bad_request(format!("batch item {i}: destination is required"))
        })?;
        let mut headers = Vec::new();
        if let Some(h) = item["headers"].as_object() {
            for (k, v) in h {
                match v {
                    Value::String(s) => headers.push((k.clone(), s.clone())),
                    Value::Array(a) => headers.extend(
                        a.iter().filter_map(|x| x.as_str()).map(|s| (k.clone(), s.to_string())),
                    ),
                    Value::Number(n) => headers.push((k.clone(), n.to_string())),
                    Value::Bool(b) => headers.push((k.clone(), b.to_string())),
                    _ => {}
                }
            }
        }
        let body = match &item["body"] {
            Value::String(s) => Bytes::from(s.clone()),
            Value::Null => Bytes::new(),
            other => Bytes::from(other.to_string()),
        };
        let queue = item["queue"].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        items.push(PublishRequest {
            destination: dest.to_string(),
            queue,
            headers,
            body,
            caller_ip: ip.clone(),
        });
    }
    Ok(items)
}

async fn route(
    api: &QueueApi,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    caller: Option<String>,
) -> Result<(u16, Option<Value>)> {
    authenticate(api, uri, headers)?;
    let body = read_body(body, headers, api.max_body).await?;
    let q = &api.queue;
    let raw = uri.path().strip_prefix("/v2/").unwrap_or("");
    let query = query_pairs(uri.query());
    let decoded = |s: &str| String::from_utf8_lossy(&percent_decode(s.as_bytes())).into_owned();
    let segs: Vec<String> = raw.split('/').map(decoded).collect();
    let seg = |i: usize| segs.get(i).map(String::as_str).unwrap_or("");
    let ok = |v: Value| Ok((200, Some(v)));
    let done = || Ok((200, None));
    let m = method.clone();
    let not_found = || QueueError::not_found(format!("no route for {} /v2/{}", method, raw));
    let publish_headers = |extra: Vec<(String, String)>| {
        let mut h = header_pairs(headers);
        h.extend(extra);
        h
    };

    match (seg(0), segs.len()) {
        ("publish", n) if n >= 2 && m == Method::POST => {
            let (dest, cfg) = destination(uri, raw.strip_prefix("publish/").unwrap_or(""));
            let req = PublishRequest {
                destination: dest,
                queue: None,
                headers: publish_headers(cfg),
                body,
                caller_ip: caller.clone(),
            };
            let (status, v) = q.publish(req).await?;
            Ok((status, Some(v)))
        }
        ("enqueue", n) if n >= 3 && m == Method::POST => {
            let rest = raw.strip_prefix("enqueue/").unwrap_or("");
            let (queue, dest) = rest.split_once('/').unwrap_or((rest, ""));
            let (dest, cfg) = destination(uri, dest);
            let req = PublishRequest {
                destination: dest,
                queue: Some(decoded(queue)),
                headers: publish_headers(cfg),
                body,
                caller_ip: caller.clone(),
            };
            let (status, v) = q.publish(req).await?;
            Ok((status, Some(v)))
        }
        ("batch", 1) if m == Method::POST => {
            let items = batch_items(&body, caller.clone())?;
            ok(q.batch(items).await)
        }
        ("messages", 2) if m == Method::GET => ok(q.get_message(seg(1)).await?),
        ("messages", 2) if m == Method::DELETE => {
            let (found, _) = q.cancel_ids(&[seg(1).to_string()]).await?;
            if found == 0 {
                return Err(QueueError::not_found(format!("message {} not found", seg(1))));
            }
            ok(json!({"cancelled": found}))
        }
        ("messages", 1) if m == Method::DELETE => {
            let f = filter_from(&query, &body)?;
            ok(json!({"cancelled": q.cancel_filtered(&f).await?}))
        }
        ("queues", 1) if m == Method::POST => {
            let v = parse_json(&body)?;
            let name = v["queueName"]
                .as_str()
                .ok_or_else(|| QueueError::bad_request("queueName is required"))?;
            let par = match &v["parallelism"] {
                Value::Null => 1,
                p => p.as_u64().ok_or_else(|| {
                    QueueError::bad_request("parallelism must be a positive integer")
                })?,
            };
            let paused = v["paused"].as_bool().unwrap_or(false);
            q.upsert_queue(name, par, paused).await?;
            done()
        }
        ("queues", 1) if m == Method::GET => ok(q.list_queues().await?),
        ("queues", 2) if m == Method::GET => ok(q.get_queue(seg(1)).await?),
        ("queues", 2) if m == Method::DELETE => {
            q.delete_queue(seg(1)).await?;
            done()
        }
        ("queues", 3) if m == Method::POST && matches!(seg(2), "pause" | "resume") => {
            q.pause_queue(seg(1), seg(2) == "pause").await?;
            done()
        }
        ("schedules", 3)
            if matches!(seg(2), "pause" | "resume")
                && (m == Method::PATCH || m == Method::POST)
                && !seg(1).contains(':') =>
        {
            q.pause_schedule(seg(1), seg(2) == "pause").await?;
            done()
        }
        ("schedules", n) if n >= 2 && m == Method::POST => {
            let (dest, cfg) = destination(uri, raw.strip_prefix("schedules/").unwrap_or(""));
            let req = PublishRequest {
                destination: dest,
                queue: None,
                headers: publish_headers(cfg),
                body,
                caller_ip: caller.clone(),
            };
            ok(q.create_schedule(req).await?)
        }
        ("schedules", 1) if m == Method::GET => ok(q.list_schedules().await?),
        ("schedules", 2) if m == Method::GET => ok(q.get_schedule(seg(1)).await?),
        ("schedules", 2) if m == Method::DELETE => {
            q.delete_schedule(seg(1)).await?;
            done()
        }
        ("topics", 3) if seg(2) == "endpoints" && m == Method::POST => {
            let eps = endpoints_from(&parse_json(&body)?, true)?;
            q.add_endpoints(seg(1), eps).await?;
            done()
        }
        ("topics", 3) if seg(2) == "endpoints" && m == Method::DELETE => {
            let eps = endpoints_from(&parse_json(&body)?, false)?;
            q.remove_endpoints(seg(1), eps).await?;
            done()
        }
        ("topics", 1) if m == Method::GET => ok(q.list_topics().await?),
        ("topics", 2) if m == Method::GET => ok(q.get_topic(seg(1)).await?),
        ("topics", 2) if m == Method::DELETE => {
            q.delete_topic(seg(1)).await?;
            done()
        }
        ("dlq", 1) if m == Method::GET => {
            ok(q.list_dlq(&filter_from(&query, &Bytes::new())?).await?)
        }
        ("dlq", 1) if m == Method::DELETE => {
            ok(q.delete_dlq_filtered(&filter_from(&query, &body)?).await?)
        }
        ("dlq", 2) if seg(1) == "retry" && m == Method::POST => {
            let f = filter_from(&query, &Bytes::new())?;
            Ok((201, Some(q.retry_dlq_filtered(&f, &header_pairs(headers)).await?)))
        }
        ("dlq", 3) if seg(1) == "retry" && m == Method::POST => {
            Ok((201, Some(q.retry_dlq(seg(2), &header_pairs(headers)).await?)))
        }
        ("dlq", 2) if m == Method::GET => ok(q.get_dlq(seg(1)).await?),
        ("dlq", 2) if m == Method::DELETE => {
            if q.delete_dlq(&[seg(1).to_string()]).await? == 0 {
                return Err(QueueError::not_found(format!("dlq message {} not found", seg(1))));
            }
            done()
        }
        ("events", 1) if m == Method::GET => {
            ok(q.list_events(&filter_from(&query, &Bytes::new())?, "events").await?)
        }
        ("logs", 1) if m == Method::GET => {
            ok(q.list_events(&filter_from(&query, &Bytes::new())?, "logs").await?)
        }
        ("keys", 1) if m == Method::GET => {
            let (current, next) = q.signing_keys();
            ok(json!({"current": current, "next": next}))
        }
        ("keys", 2) if seg(1) == "rotate" && m == Method::POST => ok(q.rotate_keys().await?),
        ("flowControl", 1) if m == Method::GET => {
            let search = query.iter().find(|(k, _)| k == "search").map(|(_, v)| v.as_str());
            ok(q.list_flow_control(search).await?)
        }
        ("flowControl", 2) if m == Method::GET => ok(q.get_flow_control(seg(1)).await?),
        ("flowControl", 3) if m == Method::POST => {
            let get = |k: &str| {
                query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone()).unwrap_or_default()
            };
            let (op, a) = match seg(2) {
                "pause" => ("pause", [String::new(), String::new(), String::new()]),
                "resume" => ("resume", [String::new(), String::new(), String::new()]),
                "pin" => {
                    let num = |k: &str| -> Result<String> {
                        let v = get(k);
                        if v.is_empty() {
                            return Ok(v);
                        }
                        v.parse::<u64>()
                            .map(|n| n.to_string())
                            .map_err(|_| QueueError::bad_request(format!("invalid {k} {v:?}")))
                    };
                    ("pin", [num("parallelism")?, num("rate")?, num("period")?])
                }
                "unpin" => {
                    let flag =
                        |k: &str| if get(k) == "true" { "1".to_string() } else { String::new() };
                    ("unpin", [flag("parallelism"), flag("rate"), String::new()])
                }
                "resetRate" | "reset" => ("reset", [String::new(), String::new(), String::new()]),
                _ => return Err(not_found()),
            };
            q.update_flow_control(seg(1), op, a).await?;
            done()
        }
        ("globalParallelism", 1) if m == Method::GET => {
            ok(q.global_parallelism(api.worker.in_flight()))
        }
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_keeps_the_raw_target() {
        let uri: Uri = "/v2/publish/http://127.0.0.1:9000/%C3%BCn%20code//p?a=1&b=two%20words&qstash_token=t&Upstash-Retries=2"
            .parse()
            .unwrap();
        let rest = uri.path().strip_prefix("/v2/publish/").unwrap();
        let (d, cfg) = destination(&uri, rest);
        assert_eq!(d, "http://127.0.0.1:9000/%C3%BCn%20code//p?a=1&b=two%20words");
        assert_eq!(cfg, vec![("upstash-retries".to_string(), "2".to_string())]);
    }

    #[test]
    fn query_pairs_decode() {
        assert_eq!(
            query_pairs(Some("a=1&b=x%20y&c&d=e+f")),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new()),
                ("d".into(), "e f".into())
            ]
        );
    }
}
