//! The delivery worker: claims due messages, delivers them through one pooled HTTP client (rustls, no
//! redirects, a concurrency limit per destination host), and records each attempt with one script. A
//! second loop fires schedules. Both stop on the server's shutdown token; a delivery cut short by a
//! shutdown keeps its lease and is delivered again after the restart (at least once).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::QueueError;
use crate::message::{Kind, Spec};
use crate::retry::{Expr, default_backoff_ms, response_delay_ms};
use crate::scripts;
use crate::service::{Attempt, Claimed, Queue, fragment, now_ms};
use crate::signing::{random_id, sign};
use crate::store::reply;

/// The most response body kept for the DLQ, logs and callbacks.
const MAX_RESPONSE_BODY: usize = 1 << 20;

/// The running worker.
pub struct Worker {
    queue: Arc<Queue>,
    client: reqwest::Client,
    /// Requests in flight (at most `concurrency`).
    permits: Arc<Semaphore>,
    /// Messages claimed and not yet recorded (at most 4 × `concurrency`): a slow host's messages wait for
    /// its per-host permits without holding request slots that other hosts' messages could use.
    backlog: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    in_flight: AtomicUsize,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("in_flight", &self.in_flight).finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts the delivery and schedule loops on `tracker`.
    pub fn spawn(
        queue: Arc<Queue>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Result<Arc<Worker>, QueueError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(queue.config.per_host_concurrency)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| QueueError::internal(format!("build the HTTP client: {e}")))?;
        let w = Arc::new(Worker {
            permits: Arc::new(Semaphore::new(queue.config.concurrency)),
            backlog: Arc::new(Semaphore::new(queue.config.concurrency.saturating_mul(4).max(1))),
            queue,
            client,
            hosts: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            shutdown,
            tracker: tracker.clone(),
        });
        tracker.spawn(w.clone().deliver_loop());
        tracker.spawn(w.clone().schedule_loop());
        Ok(w)
    }

    /// Messages claimed and not yet recorded (waiting for their host, or in flight).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    async fn deliver_loop(self: Arc<Self>) {
        loop {
            if self.shutdown.is_cancelled() {
                return;
            }
            let free = self.backlog.available_permits();
            if free == 0 {
                tokio::select! {
                    p = self.backlog.clone().acquire_owned() => drop(p),
                    () = self.shutdown.cancelled() => return,
                }
                continue;
            }
            let limit = free.min(128);
            match self.queue.claim(limit).await {
                Ok((msgs, next_due)) => {
                    let claimed = msgs.len();
                    for m in msgs {
                        let Ok(permit) = self.backlog.clone().try_acquire_owned() else { break };
                        let w = self.clone();
                        self.in_flight.fetch_add(1, Ordering::Relaxed);
                        self.tracker.spawn(async move {
                            w.deliver(m, permit).await;
                            w.in_flight.fetch_sub(1, Ordering::Relaxed);
                        });
                    }
                    if claimed == limit {
                        continue;
                    }
                    let now = now_ms();
                    let wait = next_due.map_or(1000, |d| d.saturating_sub(now)).clamp(1, 1000);
                    tokio::select! {
                        () = self.queue.wake.notified() => {
                            // Under load, let a few more publishes arrive so one claim takes them all.
                            if claimed > 0 {
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                        () = tokio::time::sleep(Duration::from_millis(wait)) => {}
                        () = self.shutdown.cancelled() => return,
                    }
                }
                Err(e) => {
                    tracing::warn!("queue: claiming messages failed: {}", e.message);
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(200)) => {}
                        () = self.shutdown.cancelled() => return,
                    }
                }
            }
        }
    }

    async fn schedule_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.shutdown.cancelled() => return,
            }
            if let Err(e) = self.queue.fire_due_schedules().await {
                tracing::warn!("queue: firing schedules failed: {}", e.message);
            }
        }
    }

    fn host_limit(&self, url: &str) -> Arc<Semaphore> {
        let host = reqwest::Url::parse(url)
            .ok()
            .map(|u| {
                format!("{}:{}", u.host_str().unwrap_or(""), u.port_or_known_default().unwrap_or(0))
            })
            .unwrap_or_default();
        let mut hosts = self.hosts.lock();
        if hosts.len() > 10_000 {
            hosts.retain(|_, s| Arc::strong_count(s) > 1);
        }
        hosts
            .entry(host)
            .or_insert_with(|| Arc::new(Semaphore::new(self.queue.config.per_host_concurrency)))
            .clone()
    }

    async fn deliver(&self, m: Claimed, _claimed: OwnedSemaphorePermit) {
        // First the destination's permit, then a request slot: waiting for a busy host holds no slot.
        let host = self.host_limit(&m.spec.url);
        let _host_permit = tokio::select! {
            p = host.acquire_owned() => p.ok(),
            () = self.shutdown.cancelled() => return,
        };
        let _request = tokio::select! {
            p = self.permits.clone().acquire_owned() => p.ok(),
            () = self.shutdown.cancelled() => return,
        };
        let attempt = tokio::select! {
            a = self.attempt(&m) => a,
            // Cut short: the lease stays and the message is delivered again after the restart.
            () = self.shutdown.cancelled() => return,
        };
        let mut tries = 0;
        loop {
            let r = self.queue.record(&m, &attempt).await;
            match r {
                Ok(()) => break,
                Err(e) => {
                    tries += 1;
                    tracing::warn!(
                        "queue: recording an attempt of {} failed: {}",
                        m.spec.id,
                        e.message
                    );
                    if tries >= 20 || self.shutdown.is_cancelled() {
                        // The lease expires and the message is delivered again: at least once.
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                }
            }
        }
    }

    async fn attempt(&self, m: &Claimed) -> Attempt {
        let spec = &m.spec;
        let (current, _) = self.queue.signing_keys();
        let now = now_ms();
        let method =
            reqwest::Method::from_bytes(spec.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        let mut req = self.client.request(method, &spec.url).body(m.body.clone());
        for (k, vs) in &spec.header {
            for v in vs {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        req = req
            .header("User-Agent", "Upstash-QStash")
            .header("Upstash-Message-Id", spec.id.as_str())
            .header("Upstash-Retried", m.retried.to_string())
            .header("Upstash-Signature", sign(&current, &spec.url, &m.body, now / 1000));
        if let Some(t) = &spec.topic_name {
            req = req.header("Upstash-Topic-Name", t.as_str());
        }
        if let Some(s) = &spec.schedule_id {
            req = req.header("Upstash-Schedule-Id", s.as_str());
        }
        if let Some(ip) = &spec.caller_ip {
            req = req.header("Upstash-Caller-Ip", ip.as_str());
        }
        let timeout = spec.timeout_ms.unwrap_or(self.queue.config.max_timeout_ms).max(1);
        let resp = req.timeout(Duration::from_millis(timeout)).send().await;
        match resp {
            Ok(mut r) => {
                let status = r.status();
                let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (k, v) in r.headers() {
                    headers
                        .entry(crate::message::canonical(k.as_str()))
                        .or_default()
                        .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
                }
                let mut body = Vec::new();
                let read = tokio::time::timeout(Duration::from_millis(timeout), async {
                    while let Ok(Some(chunk)) = r.chunk().await {
                        let room = MAX_RESPONSE_BODY - body.len();
                        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        if body.len() >= MAX_RESPONSE_BODY {
                            break;
                        }
                    }
                })
                .await;
                let _ = read;
                let error = if status.is_success() {
                    String::new()
                } else {
                    format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""))
                        .trim_end()
                        .to_string()
                };
                Attempt { status: status.as_u16(), headers, body: Bytes::from(body), error }
            }
            Err(e) => {
                let error = if e.is_timeout() {
                    format!("the request timed out after {timeout} ms")
                } else if e.is_connect() {
                    format!("could not connect: {}", source_chain(&e))
                } else {
                    format!("request failed: {}", source_chain(&e))
                };
                Attempt { status: 0, headers: BTreeMap::new(), body: Bytes::new(), error }
            }
        }
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl Queue {
    /// Claims up to `limit` due messages for delivery; also answers the next due time.
    pub async fn claim(&self, limit: usize) -> Result<(Vec<Claimed>, Option<u64>), QueueError> {
        let now = now_ms();
        let lease = now + self.config.max_timeout_ms + self.config.lease_margin_ms;
        let prefix = format!("{}:{}:", self.node, random_id(8));
        let r = self
            .eval(
                &scripts::CLAIM,
                vec![
                    Bytes::from(lease.to_string()),
                    Bytes::from(limit.to_string()),
                    Bytes::from(self.node.clone()),
                    Bytes::from(prefix),
                ],
            )
            .await?;
        let mut parts = reply::array(r).into_iter();
        let msgs = reply::array(parts.next().unwrap_or(larder_resp::Reply::Nil));
        let next = parts
            .next()
            .and_then(|r| reply::string(&r))
            .and_then(|s| s.parse::<f64>().ok())
            .map(|f| f as u64);
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            let f = reply::array(m);
            let get = |i: usize| f.get(i).and_then(reply::bytes).unwrap_or_default();
            let Ok(spec) = serde_json::from_slice::<Spec>(&get(2)) else {
                tracing::error!("queue: a stored message has an unreadable spec; skipped");
                continue;
            };
            out.push(Claimed {
                spec,
                token: String::from_utf8_lossy(&get(1)).into_owned(),
                body: get(3),
                retried: std::str::from_utf8(&get(4))
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            });
        }
        Ok((out, next))
    }

    /// Records the outcome of one attempt of a claimed message (one script).
    pub async fn record(&self, m: &Claimed, a: &Attempt) -> Result<(), QueueError> {
        let now = now_ms();
        let spec = &m.spec;
        let success = (200..300).contains(&a.status);
        let callback = (spec.kind == Kind::Message)
            .then(|| spec.callback.as_ref().map(|url| self.callback_message(m, a, url, None, now)))
            .flatten();
        if success {
            let mut args = vec![
                Bytes::from(spec.id.clone()),
                Bytes::from(m.token.clone()),
                Bytes::from(fragment(&[("responseStatus", json!(a.status))])),
                Bytes::from(if callback.is_some() { "1" } else { "0" }),
            ];
            if let Some((s, b)) = &callback {
                Queue::msg_args(s, b, &mut args);
            }
            self.acker.run(args).await?;
            // A callback is due now; a queue or flow-control slot freed up may have made the next message due.
            if callback.is_some() || spec.queue_name.is_some() || spec.flow_control.is_some() {
                self.wake.notify_one();
            }
            return Ok(());
        }
        let non_retryable = a.status == 489
            && a.headers
                .get("Upstash-Nonretryable-Error")
                .is_some_and(|v| v.iter().any(|v| v.trim().eq_ignore_ascii_case("true")));
        let next_due = if !non_retryable && m.retried < spec.max_retries {
            let mut hm = http::HeaderMap::new();
            for (k, vs) in &a.headers {
                for v in vs {
                    if let (Ok(k), Ok(v)) =
                        (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v))
                    {
                        hm.append(k, v);
                    }
                }
            }
            let delay = response_delay_ms(&hm, now).unwrap_or_else(|| {
                match spec.retry_delay.as_deref().and_then(|e| Expr::parse(e).ok()) {
                    Some(e) => e.delay_ms(m.retried),
                    None => default_backoff_ms(m.retried + 1),
                }
            });
            Some(now + delay)
        } else {
            None
        };
        let dlq_id = format!("{now}-{}", rand::random::<u32>() % 1_000_000);
        let failure_callback = (spec.kind == Kind::Message && next_due.is_none())
            .then(|| {
                spec.failure_callback
                    .as_ref()
                    .map(|url| self.callback_message(m, a, url, Some(&dlq_id), now))
            })
            .flatten();
        let error_fragment = fragment(&[
            ("error", json!(a.error)),
            ("responseStatus", if a.status == 0 { Value::Null } else { json!(a.status) }),
            ("responseHeader", if a.headers.is_empty() { Value::Null } else { json!(a.headers) }),
            ("responseHeaders", if a.headers.is_empty() { Value::Null } else { json!(a.headers) }),
            (
                "responseBody",
                if a.body.is_empty() { Value::Null } else { json!(B64.encode(&a.body)) },
            ),
        ]);
        let second = match next_due {
            Some(t) => fragment(&[("nextDeliveryTime", json!(t))]),
            None => fragment(&[("error", json!(a.error)), ("responseStatus", json!(a.status))]),
        };
        let mut args = vec![
            Bytes::from(spec.id.clone()),
            Bytes::from(m.token.clone()),
            Bytes::from(next_due.map(|t| t.to_string()).unwrap_or_default()),
            Bytes::from(error_fragment),
            Bytes::from(second),
            Bytes::from(dlq_id),
            Bytes::from(self.config.dlq_retention_ms.to_string()),
            Bytes::from(a.status.to_string()),
            Bytes::from(serde_json::to_vec(&a.headers).unwrap_or_default()),
            a.body.clone(),
            Bytes::from(if callback.is_some() { "1" } else { "0" }),
            Bytes::from(if failure_callback.is_some() { "1" } else { "0" }),
        ];
        for (s, b) in callback.iter().chain(failure_callback.iter()) {
            Queue::msg_args(s, b, &mut args);
        }
        self.eval(&scripts::FAIL, args).await?;
        // A retry may be due before the worker's next poll.
        self.wake.notify_one();
        Ok(())
    }

    /// A callback (or, with a DLQ id, failure-callback) message for an attempt of `m`.
    fn callback_message(
        &self,
        m: &Claimed,
        a: &Attempt,
        url: &str,
        dlq_id: Option<&str>,
        now: u64,
    ) -> (Spec, Bytes) {
        let spec = &m.spec;
        let mut body = json!({
            "status": a.status,
            "header": a.headers,
            "body": B64.encode(&a.body),
            "retried": m.retried,
            "maxRetries": spec.max_retries,
            "sourceMessageId": spec.id,
            "topicName": spec.topic_name.clone().unwrap_or_default(),
            "endpointName": spec.endpoint_name.clone().unwrap_or_default(),
            "url": spec.url,
            "method": spec.method,
            "sourceHeader": spec.header,
            "sourceBody": B64.encode(&m.body),
            "notBefore": spec.not_before.to_string(),
            "createdAt": spec.created_at.to_string(),
            "scheduleId": spec.schedule_id.clone().unwrap_or_default(),
            "callerIP": spec.caller_ip.clone().unwrap_or_default(),
        });
        let (cfg, header, kind) = match dlq_id {
            Some(id) => {
                body["dlqId"] = json!(id);
                (
                    spec.failure_callback_config.clone().unwrap_or_default(),
                    spec.failure_callback_header.clone(),
                    Kind::FailureCallback,
                )
            }
            None => (
                spec.callback_config.clone().unwrap_or_default(),
                spec.callback_header.clone(),
                Kind::Callback,
            ),
        };
        let mut header = header;
        header.entry("Content-Type".into()).or_insert_with(|| vec!["application/json".into()]);
        let cb = Spec {
            id: format!("msg_{}", random_id(40)),
            url: url.to_string(),
            method: cfg.method.unwrap_or_else(|| "POST".into()),
            header,
            max_retries: cfg.retries.unwrap_or(spec.max_retries).min(self.config.max_retries),
            retry_delay: cfg.retry_delay.or_else(|| spec.retry_delay.clone()),
            timeout_ms: cfg.timeout_ms.or(spec.timeout_ms),
            caller_ip: spec.caller_ip.clone(),
            created_at: now,
            not_before: now,
            kind,
            ..Spec::default()
        };
        (cb, Bytes::from(body.to_string()))
    }
}
