//! [`Queue`]: every operation of the v2 API, over a [`QueueStore`]. Each state change is one script
//! (see `scripts.rs`); reads are plain pipelines. Results are the JSON values the official clients parse
//! (spec Appendix A).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use larder_resp::Reply;
use parking_lot::RwLock;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::batch::Batcher;
use crate::cron::CronSchedule;
use crate::error::QueueError;
use crate::keys::Keys;
use crate::message::{Kind, Options, Spec, check_name, check_url};
use crate::scripts;
use crate::signing::{generate_signing_key, random_id};
use crate::store::{QueueStore, Script, reply};

/// Tunables of the queue.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Retries when `Upstash-Retries` is absent.
    pub default_retries: u32,
    /// The most retries a message may ask for.
    pub max_retries: u32,
    /// How long a deduplication id (or content hash) is remembered.
    pub dedup_window_ms: u64,
    /// How long a DLQ entry is kept.
    pub dlq_retention_ms: u64,
    /// How many log entries are kept.
    pub max_events: u64,
    /// The per-attempt HTTP timeout when `Upstash-Timeout` is absent (and its maximum).
    pub max_timeout_ms: u64,
    /// How long past its timeout a delivery's lease lasts before another node may claim the message.
    pub lease_margin_ms: u64,
    /// Most delivery requests in flight at once (and 4 × this many messages claimed at once).
    pub concurrency: usize,
    /// Most deliveries in flight to one host at once.
    pub per_host_concurrency: usize,
    /// The store is used by this process only: at start every lease is a leftover of a crash.
    pub single_node: bool,
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig {
            default_retries: 3,
            max_retries: 100,
            dedup_window_ms: 10 * 60 * 1000,
            dlq_retention_ms: 7 * 86_400_000,
            max_events: 10_000,
            max_timeout_ms: 15 * 60 * 1000,
            lease_margin_ms: 60_000,
            concurrency: 256,
            per_host_concurrency: 64,
            single_node: true,
        }
    }
}

/// The current time in epoch milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A publish, enqueue or schedule request as the API received it.
#[derive(Debug, Clone, Default)]
pub struct PublishRequest {
    /// The destination rebuilt from the raw request target: a URL or a URL-group name.
    pub destination: String,
    /// `Some` for `/v2/enqueue/{queue}/...` (and batch items with a queue).
    pub queue: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub caller_ip: Option<String>,
}

/// Filters of the list and bulk endpoints (`/v2/messages`, `/v2/dlq`, `/v2/events`).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub ids: Vec<String>,
    pub message_ids: Vec<String>,
    pub url: Vec<String>,
    pub topic_name: Vec<String>,
    pub schedule_id: Vec<String>,
    pub queue_name: Vec<String>,
    pub label: Vec<String>,
    pub flow_control_key: Vec<String>,
    pub state: Vec<String>,
    pub response_status: Vec<String>,
    pub caller_ip: Vec<String>,
    pub host: Vec<String>,
    pub path: Vec<String>,
    pub from_date: Option<u64>,
    pub to_date: Option<u64>,
    pub count: Option<usize>,
    pub cursor: Option<String>,
    pub latest_first: Option<bool>,
}

/// An endpoint of a URL group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub url: String,
}

/// A message the worker claimed.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub spec: Spec,
    pub body: Bytes,
    pub token: String,
    pub retried: u32,
}

/// The outcome of one attempt, as the worker reports it.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The response status; 0 when there was no response (connection error, timeout).
    pub status: u16,
    pub headers: BTreeMap<String, Vec<String>>,
    pub body: Bytes,
    /// The error text for the log (connection error, or `"<status> <reason>"`).
    pub error: String,
}

/// The queue: configuration, keys, the signing keys in force, and a wake-up for the worker.
pub struct Queue {
    pub(crate) store: Arc<dyn QueueStore>,
    pub(crate) keys: Keys,
    pub config: QueueConfig,
    signing: RwLock<(String, String)>,
    /// Woken after every publish, so the worker does not wait for its next poll.
    pub(crate) wake: Notify,
    pub(crate) node: String,
    /// Group commit of publishes and of acks.
    publisher: Batcher,
    pub(crate) acker: Batcher,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("config", &self.config).finish_non_exhaustive()
    }
}

fn b(v: impl Into<Bytes>) -> Bytes {
    v.into()
}

fn s(v: &str) -> Bytes {
    Bytes::copy_from_slice(v.as_bytes())
}

fn n(v: impl ToString) -> Bytes {
    Bytes::from(v.to_string())
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `,"k":v,...` for a log entry.
pub(crate) fn fragment(fields: &[(&str, Value)]) -> String {
    let mut out = String::new();
    for (k, v) in fields {
        if v.is_null() {
            continue;
        }
        out.push(',');
        out.push_str(&Value::String((*k).into()).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out
}

/// An integer field of a stored hash (0 when missing or not a number).
fn hash_int(h: &BTreeMap<String, Bytes>, field: &str) -> i64 {
    h.get(field).and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok()).unwrap_or(0)
}

/// The object, or 404 `<what> <name> not found`.
fn found(v: Option<Value>, what: &str, name: &str) -> Result<Value, QueueError> {
    v.ok_or_else(|| QueueError::not_found(format!("{what} {name} not found")))
}

/// Inserts each field that has a value.
fn insert_present(o: &mut Map<String, Value>, fields: &[(&str, &Option<String>)]) {
    for (k, v) in fields {
        if let Some(v) = v {
            o.insert((*k).into(), json!(v));
        }
    }
}

/// Inserts a map of headers unless it is empty.
fn insert_nonempty(o: &mut Map<String, Value>, key: &str, map: &crate::message::HeaderMapJson) {
    if !map.is_empty() {
        o.insert(key.into(), json!(map));
    }
}

fn opt_str(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

impl Queue {
    /// A queue over `store` with the given signing keys (the store's keys win unless `force_keys`).
    pub async fn open(
        store: Arc<dyn QueueStore>,
        config: QueueConfig,
        current: &str,
        next: &str,
        force_keys: bool,
    ) -> Result<Arc<Queue>, QueueError> {
        let keys = Keys::default();
        let q = Queue {
            publisher: Batcher::start(
                store.clone(),
                keys.clone(),
                config.max_events,
                &scripts::PUBLISH,
            ),
            acker: Batcher::start(store.clone(), keys.clone(), config.max_events, &scripts::ACK),
            store,
            keys,
            config,
            signing: RwLock::new((current.into(), next.into())),
            wake: Notify::new(),
            node: format!("node_{}", random_id(12)),
        };
        let r = q
            .eval(
                &scripts::KEYS_INIT,
                vec![s(current), s(next), s(if force_keys { "1" } else { "0" })],
            )
            .await?;
        q.set_keys(r);
        if q.config.single_node {
            let n = q.eval(&scripts::RECOVER_ALL, vec![]).await?;
            if let Some(n) = reply::int(&n)
                && n > 0
            {
                tracing::info!("queue: {n} deliveries in flight at the last stop are due again");
            }
        }
        Ok(Arc::new(q))
    }

    fn set_keys(&self, r: Reply) {
        let v = reply::array(r);
        if let (Some(c), Some(n)) =
            (v.first().and_then(reply::string), v.get(1).and_then(reply::string))
        {
            *self.signing.write() = (c, n);
        }
    }

    /// The signing keys in force: (current, next).
    pub fn signing_keys(&self) -> (String, String) {
        self.signing.read().clone()
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub(crate) async fn eval(
        &self,
        script: &Script,
        args: Vec<Bytes>,
    ) -> Result<Reply, QueueError> {
        let mut full = Vec::with_capacity(args.len() + 2);
        full.push(n(now_ms()));
        full.push(n(self.config.max_events));
        full.extend(args);
        self.eval_at(script, full).await
    }

    pub(crate) async fn eval_at(
        &self,
        script: &Script,
        args: Vec<Bytes>,
    ) -> Result<Reply, QueueError> {
        let r = self.store.eval(script, vec![s(self.keys.prefix())], args).await?;
        Ok(reply::check(r)?)
    }

    async fn pipeline(&self, cmds: Vec<Vec<Bytes>>) -> Result<Vec<Reply>, QueueError> {
        Ok(self.store.pipeline(cmds).await?)
    }

    async fn one(&self, cmd: Vec<Bytes>) -> Result<Reply, QueueError> {
        let mut r = self.pipeline(vec![cmd]).await?;
        Ok(reply::check(r.pop().unwrap_or(Reply::Nil))?)
    }

    // ---- signing keys -------------------------------------------------------------------------

    /// `POST /v2/keys/rotate`: current := next, next := a new key.
    pub async fn rotate_keys(&self) -> Result<Value, QueueError> {
        let (cur, next) = self.signing_keys();
        let r = self
            .eval(&scripts::KEYS_ROTATE, vec![s(&cur), s(&next), s(&generate_signing_key())])
            .await?;
        self.set_keys(r);
        let (current, next) = self.signing_keys();
        Ok(json!({"current": current, "next": next}))
    }

    // ---- publish ------------------------------------------------------------------------------

    /// Resolves a destination: a URL, or the endpoints of a URL group.
    async fn resolve(&self, dest: &str) -> Result<(Option<String>, Vec<Endpoint>), QueueError> {
        if dest.starts_with("http://") || dest.starts_with("https://") {
            check_url(dest)?;
            return Ok((None, vec![Endpoint { name: None, url: dest.to_string() }]));
        }
        if dest.starts_with("api/") || dest == "api" {
            return Err(QueueError::bad_request(
                "the Upstash-hosted APIs (api/llm) are not available on a self-hosted server",
            ));
        }
        let valid = !dest.is_empty()
            && dest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        let endpoints = if valid { self.topic_endpoints(dest).await? } else { None };
        match endpoints {
            Some(eps) if !eps.is_empty() => Ok((Some(dest.to_string()), eps)),
            _ => Err(QueueError::bad_request(
                "invalid destination url: endpoint has invalid scheme, add http:// or https://",
            )),
        }
    }

    /// Builds the messages of one publish (one per endpoint).
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        topic: Option<&str>,
        endpoints: &[Endpoint],
        opts: &Options,
        queue: Option<&str>,
        schedule_id: Option<&str>,
        caller_ip: Option<&str>,
        now: u64,
    ) -> Result<Vec<Spec>, QueueError> {
        let retries = opts.retries.unwrap_or(self.config.default_retries);
        if retries > self.config.max_retries {
            return Err(QueueError::bad_request(format!(
                "Upstash-Retries can be at most {}",
                self.config.max_retries
            )));
        }
        let not_before = match (opts.not_before_ms, opts.delay_ms) {
            (Some(nb), _) => nb,
            (None, Some(d)) => now.saturating_add(d),
            (None, None) => now,
        };
        let timeout = opts.timeout_ms.map(|t| t.min(self.config.max_timeout_ms));
        Ok(endpoints
            .iter()
            .map(|ep| Spec {
                id: format!("msg_{}", random_id(40)),
                url: ep.url.clone(),
                method: opts.method.clone().unwrap_or_else(|| "POST".into()),
                header: opts.header.clone(),
                max_retries: retries,
                retry_delay: opts.retry_delay.clone(),
                timeout_ms: timeout,
                callback: opts.callback.clone(),
                failure_callback: opts.failure_callback.clone(),
                callback_header: opts.callback_header.clone(),
                failure_callback_header: opts.failure_callback_header.clone(),
                callback_config: Some(opts.callback_config.clone())
                    .filter(|c| *c != Default::default()),
                failure_callback_config: Some(opts.failure_callback_config.clone())
                    .filter(|c| *c != Default::default()),
                topic_name: topic.map(str::to_string),
                endpoint_name: ep.name.clone(),
                queue_name: queue.map(str::to_string),
                schedule_id: schedule_id.map(str::to_string),
                caller_ip: caller_ip.map(str::to_string),
                labels: opts.labels.clone(),
                flow_control: opts.flow_control.clone(),
                redact: opts.redact.clone(),
                created_at: now,
                not_before,
                kind: Kind::Message,
            })
            .collect())
    }

    /// The 13 script arguments of a message (see `publish_one` in `lua/common.lua`).
    pub(crate) fn msg_args(spec: &Spec, body: &Bytes, out: &mut Vec<Bytes>) {
        let fc = spec.flow_control.as_ref();
        out.push(s(&spec.id));
        out.push(b(serde_json::to_vec(spec).unwrap_or_default()));
        out.push(body.clone());
        out.push(s(&event_base(spec)));
        out.push(n(spec.not_before));
        out.push(n(spec.max_retries));
        out.push(s(spec.queue_name.as_deref().unwrap_or("")));
        out.push(s(fc.map_or("", |f| f.key.as_str())));
        out.push(n(fc.and_then(|f| f.parallelism).unwrap_or(0)));
        out.push(n(fc.and_then(|f| f.rate).unwrap_or(0)));
        out.push(n(fc.and_then(|f| f.period).unwrap_or(1)));
        out.push(n(spec.created_at));
        out.push(s(spec.schedule_id.as_deref().unwrap_or("")));
    }

    /// `POST /v2/publish/...` and `/v2/enqueue/...`: returns the status (200, or 202 for a duplicate) and
    /// the body (an object for a URL, an array for a URL group).
    pub async fn publish(&self, req: PublishRequest) -> Result<(u16, Value), QueueError> {
        let opts = crate::message::parse_options(
            req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        if let Some(q) = &req.queue {
            check_name(q, "queue name")?;
        }
        let (topic, endpoints) = self.resolve(&req.destination).await?;
        let now = now_ms();
        let specs = self.build(
            topic.as_deref(),
            &endpoints,
            &opts,
            req.queue.as_deref(),
            None,
            req.caller_ip.as_deref(),
            now,
        )?;
        let result = if topic.is_some() {
            Value::Array(specs.iter().map(|m| json!({"messageId": m.id, "url": m.url})).collect())
        } else {
            json!({"messageId": specs[0].id, "url": specs[0].url})
        };
        let dedup = if let Some(id) = &opts.dedup_id {
            sha256_hex(&[b"id", id.as_bytes()])
        } else if opts.content_dedup {
            let mut parts: Vec<Vec<u8>> =
                vec![b"content".to_vec(), req.destination.as_bytes().to_vec(), req.body.to_vec()];
            for (k, vs) in &opts.header {
                for v in vs {
                    parts.push(format!("{k}:{v}").into_bytes());
                }
            }
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            sha256_hex(&refs)
        } else {
            String::new()
        };
        let mut args = vec![
            s(&dedup),
            n(self.config.dedup_window_ms.max(1)),
            s(&result.to_string()),
            n(specs.len()),
        ];
        for m in &specs {
            Self::msg_args(m, &req.body, &mut args);
        }
        let r = reply::array(reply::check(self.publisher.run(args).await?)?);
        if reply::string(r.first().unwrap_or(&Reply::Nil)).as_deref() == Some("dup") {
            let kept = r.get(1).and_then(reply::string).unwrap_or_default();
            let mut v: Value = serde_json::from_str(&kept).unwrap_or(Value::Null);
            match &mut v {
                Value::Object(o) => {
                    o.insert("deduplicated".into(), Value::Bool(true));
                }
                Value::Array(a) => {
                    for e in a {
                        if let Value::Object(o) = e {
                            o.insert("deduplicated".into(), Value::Bool(true));
                        }
                    }
                }
                _ => {}
            }
            return Ok((202, v));
        }
        self.wake.notify_one();
        Ok((200, result))
    }

    /// `POST /v2/batch`: one result per item (a failing item gets `{"error": ...}`).
    pub async fn batch(&self, items: Vec<PublishRequest>) -> Value {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match self.publish(item).await {
                Ok((_, v)) => out.push(v),
                Err(e) => out.push(json!({"error": e.message})),
            }
        }
        Value::Array(out)
    }

    // ---- messages -----------------------------------------------------------------------------

    async fn hgetall(&self, key: String) -> Result<BTreeMap<String, Bytes>, QueueError> {
        let r = self.one(vec![s("HGETALL"), b(key)]).await?;
        Ok(reply::pairs(r).into_iter().collect())
    }

    /// `GET /v2/messages/{id}`.
    pub async fn get_message(&self, id: &str) -> Result<Value, QueueError> {
        let h = self.hgetall(self.keys.msg(id)).await?;
        let not_found = || QueueError::not_found(format!("message {id} not found"));
        let spec = h.get("spec").and_then(|v| serde_json::from_slice::<Spec>(v).ok());
        let Some(spec) = spec else { return Err(not_found()) };
        let body = h.get("body").cloned().unwrap_or_default();
        Ok(message_json(&spec, &body))
    }

    /// Cancels messages; answers (how many exist, how many were newly cancelled). `DELETE
    /// /v2/messages/{id}` is a 404 when the first is 0; the bulk forms report the second.
    pub async fn cancel_ids(&self, ids: &[String]) -> Result<(u64, u64), QueueError> {
        let (mut found, mut cancelled) = (0, 0);
        for chunk in ids.chunks(500) {
            let args = chunk.iter().map(|i| s(i)).collect();
            let r = reply::array(self.eval(&scripts::CANCEL, args).await?);
            found += r.first().and_then(reply::int).unwrap_or(0) as u64;
            cancelled += r.get(1).and_then(reply::int).unwrap_or(0) as u64;
        }
        // A cancelled message may have freed a queue slot.
        self.wake.notify_one();
        Ok((found, cancelled))
    }

    /// The bulk cancel by ids: how many were newly cancelled (unknown ids are ignored).
    pub async fn cancel(&self, ids: &[String]) -> Result<u64, QueueError> {
        Ok(self.cancel_ids(ids).await?.1)
    }

    /// Bulk cancel by filter (`DELETE /v2/messages?...`); no filter cancels every message.
    pub async fn cancel_filtered(&self, f: &Filter) -> Result<u64, QueueError> {
        if !f.message_ids.is_empty() {
            return self.cancel(&f.message_ids).await;
        }
        let ids =
            reply::array(self.one(vec![s("ZRANGE"), s(&self.keys.msgs()), s("0"), s("-1")]).await?);
        let ids: Vec<String> = ids.iter().filter_map(reply::string).collect();
        let mut chosen = Vec::new();
        let limit = f.count.unwrap_or(usize::MAX);
        for chunk in ids.chunks(200) {
            if chosen.len() >= limit {
                break;
            }
            let cmds = chunk
                .iter()
                .map(|id| vec![s("HMGET"), s(&self.keys.msg(id)), s("spec"), s("createdAt")])
                .collect();
            for (id, r) in chunk.iter().zip(self.pipeline(cmds).await?) {
                let v = reply::array(r);
                let Some(spec) = v
                    .first()
                    .and_then(reply::bytes)
                    .and_then(|b| serde_json::from_slice::<Spec>(&b).ok())
                else {
                    continue;
                };
                if spec.kind == Kind::Message
                    && matches_filter(f, &message_json(&spec, &Bytes::new()))
                    && chosen.len() < limit
                {
                    chosen.push(id.clone());
                }
            }
        }
        self.cancel(&chosen).await
    }

    // ---- queues -------------------------------------------------------------------------------

    /// `POST /v2/queues`: create or update.
    pub async fn upsert_queue(
        &self,
        name: &str,
        parallelism: u64,
        paused: bool,
    ) -> Result<(), QueueError> {
        check_name(name, "queue name")?;
        if parallelism == 0 {
            return Err(QueueError::bad_request("parallelism must be at least 1"));
        }
        self.eval(
            &scripts::QUEUE_UPSERT,
            vec![s(name), n(parallelism), s(if paused { "1" } else { "0" })],
        )
        .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Pause or resume a queue; 404 when unknown.
    pub async fn pause_queue(&self, name: &str, paused: bool) -> Result<(), QueueError> {
        let r = self
            .eval(&scripts::QUEUE_PAUSE, vec![s(name), s(if paused { "1" } else { "0" })])
            .await?;
        if reply::int(&r) == Some(0) {
            return Err(QueueError::not_found(format!("queue {name} not found")));
        }
        self.wake.notify_one();
        Ok(())
    }

    /// `DELETE /v2/queues/{name}`; 404 when unknown.
    pub async fn delete_queue(&self, name: &str) -> Result<(), QueueError> {
        let r = self.eval(&scripts::QUEUE_DELETE, vec![s(name)]).await?;
        if reply::int(&r) == Some(0) {
            return Err(QueueError::not_found(format!("queue {name} not found")));
        }
        Ok(())
    }

    async fn queue_json(&self, name: &str) -> Result<Option<Value>, QueueError> {
        let r = self
            .pipeline(vec![
                vec![s("HGETALL"), s(&self.keys.queue(name))],
                vec![s("LLEN"), s(&self.keys.queue_wait(name))],
            ])
            .await?;
        let mut it = r.into_iter();
        let h: BTreeMap<String, Bytes> =
            reply::pairs(it.next().unwrap_or(Reply::Nil)).into_iter().collect();
        if h.is_empty() {
            return Ok(None);
        }
        let waiting = it.next().and_then(|r| reply::int(&r)).unwrap_or(0);
        let int = |k: &str| hash_int(&h, k);
        Ok(Some(json!({
            "name": name,
            "createdAt": int("createdAt"),
            "updatedAt": int("updatedAt"),
            "parallelism": int("parallelism"),
            "lag": waiting + int("active"),
            "paused": h.get("paused").is_some_and(|v| v.as_ref() == b"1"),
        })))
    }

    /// `GET /v2/queues/{name}`.
    pub async fn get_queue(&self, name: &str) -> Result<Value, QueueError> {
        found(self.queue_json(name).await?, "queue", name)
    }

    /// `GET /v2/queues`.
    pub async fn list_queues(&self) -> Result<Value, QueueError> {
        let mut out = Vec::new();
        for name in self.index_names(self.keys.queues()).await? {
            out.extend(self.queue_json(&name).await?);
        }
        Ok(Value::Array(out))
    }

    /// The names in an index sorted set (queues, URL groups), in its order.
    async fn index_names(&self, index: String) -> Result<Vec<String>, QueueError> {
        let names = reply::array(self.one(vec![s("ZRANGE"), b(index), s("0"), s("-1")]).await?);
        Ok(names.iter().filter_map(reply::string).collect())
    }

    // ---- URL groups ---------------------------------------------------------------------------

    async fn topic_raw(&self, name: &str) -> Result<BTreeMap<String, Bytes>, QueueError> {
        self.hgetall(self.keys.topic(name)).await
    }

    /// The endpoints of a URL group, `None` when it does not exist.
    pub async fn topic_endpoints(&self, name: &str) -> Result<Option<Vec<Endpoint>>, QueueError> {
        let h = self.topic_raw(name).await?;
        Ok(h.get("endpoints").and_then(|e| serde_json::from_slice(e).ok()))
    }

    /// Changes a group's endpoints with a compare-and-set (retried on a concurrent change).
    async fn update_topic(
        &self,
        name: &str,
        f: impl Fn(Vec<Endpoint>) -> Result<Vec<Endpoint>, QueueError>,
    ) -> Result<(), QueueError> {
        for _ in 0..50 {
            let h = self.topic_raw(name).await?;
            let old = h.get("endpoints").cloned().unwrap_or_default();
            let cur: Vec<Endpoint> = serde_json::from_slice(&old).unwrap_or_default();
            let new = f(cur)?;
            let new_raw = if new.is_empty() {
                Bytes::new()
            } else {
                b(serde_json::to_vec(&new).unwrap_or_default())
            };
            let r = self.eval(&scripts::TOPIC_SET, vec![s(name), old, new_raw]).await?;
            if reply::int(&r) == Some(1) {
                return Ok(());
            }
        }
        Err(QueueError::new(409, format!("url group {name} is changing too often; try again")))
    }

    /// `POST /v2/topics/{name}/endpoints`.
    pub async fn add_endpoints(&self, name: &str, add: Vec<Endpoint>) -> Result<(), QueueError> {
        check_name(name, "url group name")?;
        if add.is_empty() {
            return Err(QueueError::bad_request("endpoints must not be empty"));
        }
        for e in &add {
            check_url(&e.url)?;
            if let Some(n) = &e.name {
                check_name(n, "endpoint name")?;
            }
        }
        self.update_topic(name, |mut cur| {
            for e in &add {
                cur.retain(|c| c.url != e.url && (e.name.is_none() || c.name != e.name));
                cur.push(e.clone());
            }
            Ok(cur)
        })
        .await
    }

    /// `DELETE /v2/topics/{name}/endpoints`: by url or by name; the group goes when it becomes empty.
    pub async fn remove_endpoints(
        &self,
        name: &str,
        remove: Vec<Endpoint>,
    ) -> Result<(), QueueError> {
        if self.topic_endpoints(name).await?.is_none() {
            return Err(QueueError::not_found(format!("url group {name} not found")));
        }
        self.update_topic(name, |mut cur| {
            for e in &remove {
                cur.retain(|c| {
                    let by_url = !e.url.is_empty() && c.url == e.url;
                    let by_name = e.name.is_some() && c.name == e.name;
                    !(by_url || by_name)
                });
            }
            Ok(cur)
        })
        .await
    }

    /// `DELETE /v2/topics/{name}` (200 also for an unknown group).
    pub async fn delete_topic(&self, name: &str) -> Result<(), QueueError> {
        self.update_topic(name, |_| Ok(Vec::new())).await
    }

    async fn topic_json(&self, name: &str) -> Result<Option<Value>, QueueError> {
        let h = self.topic_raw(name).await?;
        let Some(eps) = h.get("endpoints") else { return Ok(None) };
        let eps: Vec<Endpoint> = serde_json::from_slice(eps).unwrap_or_default();
        let int = |k: &str| hash_int(&h, k);
        Ok(Some(json!({
            "name": name,
            "createdAt": int("createdAt"),
            "updatedAt": int("updatedAt"),
            "endpoints": eps,
        })))
    }

    /// `GET /v2/topics/{name}`.
    pub async fn get_topic(&self, name: &str) -> Result<Value, QueueError> {
        found(self.topic_json(name).await?, "url group", name)
    }

    /// `GET /v2/topics`.
    pub async fn list_topics(&self) -> Result<Value, QueueError> {
        let mut out = Vec::new();
        for name in self.index_names(self.keys.topics()).await? {
            out.extend(self.topic_json(&name).await?);
        }
        Ok(Value::Array(out))
    }

    // ---- schedules ----------------------------------------------------------------------------

    /// `POST /v2/schedules/{destination}`: create, or overwrite the schedule with `Upstash-Schedule-Id`.
    pub async fn create_schedule(&self, req: PublishRequest) -> Result<Value, QueueError> {
        let mut opts = crate::message::parse_options(
            req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        let cron_text = opts
            .cron
            .clone()
            .ok_or_else(|| QueueError::bad_request("Upstash-Cron header is required"))?;
        let cron = CronSchedule::parse(&cron_text).map_err(QueueError::bad_request)?;
        // The destination must be a URL or an existing group now; a group is resolved again at each tick.
        self.resolve(&req.destination).await?;
        let id = match &opts.schedule_id {
            Some(id) => {
                check_name(id, "schedule id")?;
                id.clone()
            }
            None => format!("scd_{}", random_id(28)),
        };
        if let Some(q) = &opts.queue_name {
            check_name(q, "queue name")?;
        }
        opts.schedule_id = Some(id.clone());
        let now = now_ms();
        let next = cron
            .next_after(now)
            .ok_or_else(|| QueueError::bad_request("the cron expression never fires"))?;
        let spec = json!({
            "destination": req.destination,
            "options": opts,
            "body": B64.encode(&req.body),
            "callerIp": req.caller_ip,
        });
        self.eval(&scripts::SCHED_PUT, vec![s(&id), s(&spec.to_string()), n(next), s("0")]).await?;
        Ok(json!({"scheduleId": id}))
    }

    async fn schedule_raw(
        &self,
        id: &str,
    ) -> Result<Option<(Value, BTreeMap<String, Bytes>)>, QueueError> {
        let mut h = self.hgetall(self.keys.sched(id)).await?;
        let states = self.hgetall(format!("{}:states", self.keys.sched(id))).await?;
        if !states.is_empty() {
            let map: serde_json::Map<String, Value> = states
                .into_iter()
                .map(|(k, v)| (k, Value::String(String::from_utf8_lossy(&v).into_owned())))
                .collect();
            h.insert("_states".into(), Bytes::from(Value::Object(map).to_string()));
        }
        let Some(spec) = h.get("spec").and_then(|v| serde_json::from_slice::<Value>(v).ok()) else {
            return Ok(None);
        };
        Ok(Some((spec, h)))
    }

    fn schedule_json(id: &str, spec: &Value, h: &BTreeMap<String, Bytes>) -> Value {
        let opts: Options = serde_json::from_value(spec["options"].clone()).unwrap_or_default();
        let int = |k: &str| h.get(k).and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok());
        let body = B64.decode(spec["body"].as_str().unwrap_or("")).unwrap_or_default();
        let mut o = Map::new();
        o.insert("scheduleId".into(), json!(id));
        o.insert("cron".into(), json!(opts.cron.clone().unwrap_or_default()));
        o.insert("createdAt".into(), json!(int("createdAt").unwrap_or(0)));
        o.insert("destination".into(), spec["destination"].clone());
        o.insert("method".into(), json!(opts.method.clone().unwrap_or_else(|| "POST".into())));
        o.insert("header".into(), json!(opts.header));
        body_fields(&mut o, &body, opts.redact.body);
        o.insert("retries".into(), json!(opts.retries.unwrap_or(3)));
        if let Some(d) = opts.delay_ms {
            o.insert("delay".into(), json!(d / 1000));
        }
        if let Some(t) = opts.timeout_ms {
            o.insert("timeout".into(), json!(t / 1000));
        }
        insert_present(
            &mut o,
            &[
                ("callback", &opts.callback),
                ("failureCallback", &opts.failure_callback),
                ("queueName", &opts.queue_name),
                ("retryDelayExpression", &opts.retry_delay),
            ],
        );
        insert_nonempty(&mut o, "callbackHeader", &opts.callback_header);
        insert_nonempty(&mut o, "failureCallbackHeader", &opts.failure_callback_header);
        let ip = spec["callerIp"].clone();
        o.insert("callerIP".into(), ip.clone());
        o.insert("callerIp".into(), ip);
        o.insert("isPaused".into(), json!(h.get("paused").is_some_and(|v| v.as_ref() == b"1")));
        if let Some(fc) = &opts.flow_control {
            o.insert("flowControlKey".into(), json!(fc.key));
            if let Some(p) = fc.parallelism {
                o.insert("parallelism".into(), json!(p));
            }
            if let Some(r) = fc.rate {
                o.insert("rate".into(), json!(r));
            }
            if let Some(p) = fc.period {
                o.insert("period".into(), json!(p));
            }
        }
        if let Some(l) = opts.labels.first() {
            o.insert("label".into(), json!(l));
            o.insert("labels".into(), json!(opts.labels));
        }
        if let Some(t) = int("last") {
            o.insert("lastScheduleTime".into(), json!(t));
        }
        if let Some(states) = h.get("_states").and_then(|v| serde_json::from_slice::<Value>(v).ok())
        {
            o.insert("lastScheduleStates".into(), states);
        }
        if h.get("paused").is_none_or(|v| v.as_ref() != b"1")
            && let Some(t) = int("next")
        {
            o.insert("nextScheduleTime".into(), json!(t));
        }
        Value::Object(o)
    }

    /// `GET /v2/schedules/{id}`.
    pub async fn get_schedule(&self, id: &str) -> Result<Value, QueueError> {
        let (spec, h) = self
            .schedule_raw(id)
            .await?
            .ok_or_else(|| QueueError::not_found(format!("schedule {id} not found")))?;
        Ok(Self::schedule_json(id, &spec, &h))
    }

    /// `GET /v2/schedules`.
    pub async fn list_schedules(&self) -> Result<Value, QueueError> {
        let ids = reply::array(
            self.one(vec![s("ZRANGE"), s(&self.keys.scheds()), s("0"), s("-1")]).await?,
        );
        let mut out = Vec::new();
        for id in ids.iter().filter_map(reply::string) {
            if let Some((spec, h)) = self.schedule_raw(&id).await? {
                out.push(Self::schedule_json(&id, &spec, &h));
            }
        }
        Ok(Value::Array(out))
    }

    /// `DELETE /v2/schedules/{id}` (200 also when unknown).
    pub async fn delete_schedule(&self, id: &str) -> Result<(), QueueError> {
        self.eval(&scripts::SCHED_DELETE, vec![s(id)]).await?;
        Ok(())
    }

    /// Pause or resume a schedule; 404 when unknown.
    pub async fn pause_schedule(&self, id: &str, paused: bool) -> Result<(), QueueError> {
        let (spec, _) = self
            .schedule_raw(id)
            .await?
            .ok_or_else(|| QueueError::not_found(format!("schedule {id} not found")))?;
        let cron = spec["options"]["cron"].as_str().and_then(|c| CronSchedule::parse(c).ok());
        let next = cron.and_then(|c| c.next_after(now_ms())).unwrap_or(u64::MAX / 2);
        self.eval(&scripts::SCHED_PAUSE, vec![s(id), s(if paused { "1" } else { "0" }), n(next)])
            .await?;
        Ok(())
    }

    /// Fires the schedules whose time has come (called by the worker). Returns how many fired.
    pub async fn fire_due_schedules(&self) -> Result<usize, QueueError> {
        let now = now_ms();
        let r = self
            .one(vec![
                s("ZRANGEBYSCORE"),
                s(&self.keys.sched_due()),
                s("-inf"),
                n(now),
                s("WITHSCORES"),
                s("LIMIT"),
                s("0"),
                s("100"),
            ])
            .await?;
        let v = reply::array(r);
        let mut fired = 0;
        for pair in v.chunks(2) {
            let (Some(id), Some(at)) =
                (pair.first().and_then(reply::string), pair.get(1).and_then(reply::string))
            else {
                continue;
            };
            let Some((spec, _)) = self.schedule_raw(&id).await? else { continue };
            let opts: Options = serde_json::from_value(spec["options"].clone()).unwrap_or_default();
            let cron = opts.cron.as_deref().and_then(|c| CronSchedule::parse(c).ok());
            let next = cron
                .and_then(|c| c.next_after(now.max(at.parse().unwrap_or(now))))
                .unwrap_or(u64::MAX / 2);
            let dest = spec["destination"].as_str().unwrap_or("").to_string();
            let body =
                Bytes::from(B64.decode(spec["body"].as_str().unwrap_or("")).unwrap_or_default());
            let specs = match self.resolve(&dest).await {
                Ok((topic, eps)) => self.build(
                    topic.as_deref(),
                    &eps,
                    &opts,
                    opts.queue_name.as_deref(),
                    Some(&id),
                    spec["callerIp"].as_str(),
                    now,
                )?,
                Err(e) => {
                    tracing::warn!(
                        "schedule {id}: destination {dest:?} cannot be resolved: {}",
                        e.message
                    );
                    Vec::new()
                }
            };
            let mut args = vec![s(&id), s(&at), n(next), n(specs.len())];
            for m in &specs {
                Self::msg_args(m, &body, &mut args);
            }
            if reply::int(&self.eval(&scripts::SCHED_FIRE, args).await?) == Some(1) {
                fired += 1;
            }
        }
        if fired > 0 {
            self.wake.notify_one();
        }
        Ok(fired)
    }

    // ---- DLQ ----------------------------------------------------------------------------------

    async fn dlq_entries(&self) -> Result<Vec<(String, BTreeMap<String, Bytes>)>, QueueError> {
        let ids =
            reply::array(self.one(vec![s("ZRANGE"), s(&self.keys.dlq()), s("0"), s("-1")]).await?);
        let ids: Vec<String> = ids.iter().filter_map(reply::string).collect();
        let mut out = Vec::with_capacity(ids.len());
        let mut gone = Vec::new();
        for chunk in ids.chunks(200) {
            let cmds =
                chunk.iter().map(|id| vec![s("HGETALL"), s(&self.keys.dlq_entry(id))]).collect();
            for (id, r) in chunk.iter().zip(self.pipeline(cmds).await?) {
                let h: BTreeMap<String, Bytes> = reply::pairs(r).into_iter().collect();
                if h.is_empty() {
                    gone.push(id.clone());
                } else {
                    out.push((id.clone(), h));
                }
            }
        }
        if !gone.is_empty() {
            // Entries that expired: drop them from the index.
            let mut cmd = vec![s("ZREM"), s(&self.keys.dlq())];
            cmd.extend(gone.iter().map(|g| s(g)));
            self.one(cmd).await?;
        }
        Ok(out)
    }

    fn dlq_json(id: &str, h: &BTreeMap<String, Bytes>) -> Option<Value> {
        let spec: Spec = serde_json::from_slice(h.get("spec")?).ok()?;
        let body = h.get("body").cloned().unwrap_or_default();
        let mut v = message_json(&spec, &body);
        let o = v.as_object_mut()?;
        let text = |k: &str| h.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
        o.insert("dlqId".into(), json!(id));
        o.insert("messageId".into(), json!(text("messageId").unwrap_or(spec.id.clone())));
        o.insert(
            "responseStatus".into(),
            json!(text("responseStatus").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0)),
        );
        if let Some(rh) =
            h.get("responseHeader").and_then(|v| serde_json::from_slice::<Value>(v).ok())
        {
            o.insert("responseHeader".into(), rh);
        }
        if let Some(rb) = h.get("responseBody").filter(|b| !b.is_empty()) {
            match std::str::from_utf8(rb) {
                Ok(t) => o.insert("responseBody".into(), json!(t)),
                Err(_) => o.insert("responseBodyBase64".into(), json!(B64.encode(rb))),
            };
        }
        if let Some(t) = text("failedAt").and_then(|s| s.parse::<i64>().ok()) {
            o.insert("failedAt".into(), json!(t));
        }
        Some(v)
    }

    /// `GET /v2/dlq`: `{"messages": [...], "cursor"?}`.
    pub async fn list_dlq(&self, f: &Filter) -> Result<Value, QueueError> {
        let mut entries = self.dlq_entries().await?;
        if f.latest_first.unwrap_or(false) {
            entries.reverse();
        }
        let mut all: Vec<Value> = entries
            .iter()
            .filter(|(id, _)| f.ids.is_empty() || f.ids.contains(id))
            .filter_map(|(id, h)| Self::dlq_json(id, h))
            .filter(|v| matches_filter(f, v))
            .collect();
        let start: usize = f.cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
        let count = f.count.unwrap_or(100).clamp(1, 100);
        let total = all.len();
        let page: Vec<Value> = all.drain(start.min(total)..(start + count).min(total)).collect();
        let mut o = json!({"messages": page});
        if start + count < total {
            o["cursor"] = json!((start + count).to_string());
        }
        Ok(o)
    }

    /// `GET /v2/dlq/{id}`.
    pub async fn get_dlq(&self, id: &str) -> Result<Value, QueueError> {
        let h = self.hgetall(self.keys.dlq_entry(id)).await?;
        Self::dlq_json(id, &h)
            .ok_or_else(|| QueueError::not_found(format!("dlq message {id} not found")))
    }

    /// `DELETE /v2/dlq/{id}` and the bulk form. Returns how many existed.
    pub async fn delete_dlq(&self, ids: &[String]) -> Result<u64, QueueError> {
        let mut total = 0;
        for chunk in ids.chunks(500) {
            let args = chunk.iter().map(|i| s(i)).collect();
            total += reply::int(&self.eval(&scripts::DLQ_DELETE, args).await?).unwrap_or(0) as u64;
        }
        Ok(total)
    }

    /// Bulk delete by filter: `{"deleted": n}`.
    pub async fn delete_dlq_filtered(&self, f: &Filter) -> Result<Value, QueueError> {
        let ids = if !f.ids.is_empty() { f.ids.clone() } else { self.dlq_matching(f).await? };
        let deleted = self.delete_dlq(&ids).await?;
        Ok(json!({"deleted": deleted}))
    }

    async fn dlq_matching(&self, f: &Filter) -> Result<Vec<String>, QueueError> {
        let entries = self.dlq_entries().await?;
        let limit = f.count.unwrap_or(usize::MAX);
        Ok(entries
            .iter()
            .filter(|(id, h)| Self::dlq_json(id, h).is_some_and(|v| matches_filter(f, &v)))
            .map(|(id, _)| id.clone())
            .take(limit)
            .collect())
    }

    /// `POST /v2/dlq/retry/{id}`: a new message from the entry (headers override its options).
    pub async fn retry_dlq(
        &self,
        id: &str,
        headers: &[(String, String)],
    ) -> Result<Value, QueueError> {
        let h = self.hgetall(self.keys.dlq_entry(id)).await?;
        let not_found = || QueueError::not_found(format!("dlq message {id} not found"));
        let mut spec: Spec =
            h.get("spec").and_then(|v| serde_json::from_slice(v).ok()).ok_or_else(not_found)?;
        let body = h.get("body").cloned().unwrap_or_default();
        let o =
            crate::message::parse_options(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        if let Some(r) = o.retries {
            spec.max_retries = r.min(self.config.max_retries);
        }
        if let Some(m) = o.method {
            spec.method = m;
        }
        if o.retry_delay.is_some() {
            spec.retry_delay = o.retry_delay;
        }
        if o.timeout_ms.is_some() {
            spec.timeout_ms = o.timeout_ms;
        }
        if o.callback.is_some() {
            spec.callback = o.callback;
        }
        if o.failure_callback.is_some() {
            spec.failure_callback = o.failure_callback;
        }
        for (k, v) in o.header {
            spec.header.insert(k, v);
        }
        let now = now_ms();
        spec.id = format!("msg_{}", random_id(40));
        spec.created_at = now;
        spec.not_before = match (o.not_before_ms, o.delay_ms) {
            (Some(nb), _) => nb,
            (None, Some(d)) => now + d,
            _ => now,
        };
        let mut args = vec![s(id), n(1)];
        Self::msg_args(&spec, &body, &mut args);
        if reply::int(&self.eval(&scripts::DLQ_RETRY, args).await?) == Some(0) {
            return Err(not_found());
        }
        self.wake.notify_one();
        Ok(json!({"messageId": spec.id}))
    }

    /// `POST /v2/dlq/retry`: `{"cursor": "", "responses": [{"messageId"}...]}`.
    pub async fn retry_dlq_filtered(
        &self,
        f: &Filter,
        headers: &[(String, String)],
    ) -> Result<Value, QueueError> {
        let ids = if !f.ids.is_empty() { f.ids.clone() } else { self.dlq_matching(f).await? };
        let mut responses = Vec::new();
        for id in ids {
            match self.retry_dlq(&id, headers).await {
                Ok(v) => responses.push(v),
                Err(e) if e.status == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(json!({"cursor": "", "responses": responses}))
    }

    // ---- events -------------------------------------------------------------------------------

    /// `GET /v2/events` (`key` = "events") and `/v2/logs` (`key` = "logs").
    pub async fn list_events(&self, f: &Filter, key: &str) -> Result<Value, QueueError> {
        let count = f.count.unwrap_or(100).clamp(1, 1000);
        let latest_first = f.latest_first.unwrap_or(true);
        let mut out = Vec::new();
        let mut cursor: Option<i64> = f.cursor.as_deref().and_then(|c| c.parse().ok());
        let mut more = false;
        'pages: loop {
            let cmd = if latest_first {
                let max = cursor.map_or("+inf".to_string(), |c| format!("({c}"));
                vec![
                    s("ZREVRANGEBYSCORE"),
                    s(&self.keys.events()),
                    s(&max),
                    s("-inf"),
                    s("LIMIT"),
                    s("0"),
                    s("500"),
                ]
            } else {
                let min = cursor.map_or("-inf".to_string(), |c| format!("({c}"));
                vec![
                    s("ZRANGEBYSCORE"),
                    s(&self.keys.events()),
                    s(&min),
                    s("+inf"),
                    s("LIMIT"),
                    s("0"),
                    s("500"),
                ]
            };
            let page = reply::array(self.one(cmd).await?);
            if page.is_empty() {
                break;
            }
            for m in &page {
                let Some(text) = reply::string(m) else { continue };
                let Some((seq, ev)) = text.split_once(' ') else { continue };
                cursor = seq.parse().ok();
                let Ok(v) = serde_json::from_str::<Value>(ev) else { continue };
                if event_matches(f, &v) {
                    if out.len() == count {
                        more = true;
                        break 'pages;
                    }
                    out.push(v);
                }
            }
            if page.len() < 500 {
                break;
            }
        }
        let mut o = Map::new();
        if more {
            // `cursor` now points at the first entry not returned; continue just before it.
            let resume = if latest_first { cursor.map(|c| c + 1) } else { cursor.map(|c| c - 1) };
            if let Some(c) = resume {
                o.insert("cursor".into(), json!(c.to_string()));
            }
        }
        o.insert(key.into(), Value::Array(out));
        Ok(Value::Object(o))
    }

    // ---- flow control -------------------------------------------------------------------------

    async fn fc_json(&self, key: &str) -> Result<Option<Value>, QueueError> {
        let r = self
            .pipeline(vec![
                vec![s("HGETALL"), s(&self.keys.fc(key))],
                vec![s("ZCARD"), s(&self.keys.fc_wait(key))],
                vec![s("ZSCORE"), s(&self.keys.fcs()), s(key)],
            ])
            .await?;
        let mut it = r.into_iter();
        let h: BTreeMap<String, Bytes> =
            reply::pairs(it.next().unwrap_or(Reply::Nil)).into_iter().collect();
        let wait = it.next().and_then(|r| reply::int(&r)).unwrap_or(0);
        if it.next().and_then(|r| reply::string(&r)).is_none() {
            return Ok(None);
        }
        let int = |k: &str| hash_int(&h, k);
        let flag = |k: &str| h.get(k).is_some_and(|v| v.as_ref() == b"1");
        let period = int("period").max(1);
        let now = now_ms() as i64;
        let start = int("rateStart");
        let in_period = now < start + period * 1000;
        Ok(Some(json!({
            "flowControlKey": key,
            "waitListSize": wait,
            "parallelismMax": int("parallelism"),
            "parallelismCount": int("active"),
            "rateMax": int("rate"),
            "rateCount": if in_period { int("rateCount") } else { 0 },
            "ratePeriod": period,
            "ratePeriodStart": start / 1000,
            "isPaused": flag("paused"),
            "isPinnedParallelism": flag("pinP"),
            "isPinnedRate": flag("pinR"),
        })))
    }

    /// `GET /v2/flowControl/{key}`.
    pub async fn get_flow_control(&self, key: &str) -> Result<Value, QueueError> {
        self.fc_json(key)
            .await?
            .ok_or_else(|| QueueError::not_found(format!("flow control key {key} not found")))
    }

    /// `GET /v2/flowControl` (optionally filtered by a substring).
    pub async fn list_flow_control(&self, search: Option<&str>) -> Result<Value, QueueError> {
        let keys =
            reply::array(self.one(vec![s("ZRANGE"), s(&self.keys.fcs()), s("0"), s("-1")]).await?);
        let mut out = Vec::new();
        for k in keys.iter().filter_map(reply::string) {
            if search.is_some_and(|s| !k.contains(s)) {
                continue;
            }
            if let Some(v) = self.fc_json(&k).await? {
                out.push(v);
            }
        }
        Ok(Value::Array(out))
    }

    /// Pause, resume, pin, unpin or reset a flow-control key; 404 when unknown.
    pub async fn update_flow_control(
        &self,
        key: &str,
        op: &str,
        a: [String; 3],
    ) -> Result<(), QueueError> {
        let [x, y, z] = a;
        let r = self.eval(&scripts::FC_UPDATE, vec![s(key), s(op), s(&x), s(&y), s(&z)]).await?;
        if reply::int(&r) == Some(0) {
            return Err(QueueError::not_found(format!("flow control key {key} not found")));
        }
        self.wake.notify_one();
        Ok(())
    }

    /// `GET /v2/globalParallelism`.
    pub fn global_parallelism(&self, in_flight: usize) -> Value {
        json!({"parallelismMax": self.config.concurrency, "parallelismCount": in_flight})
    }
}

/// The static half of a message's log entries: a JSON object without its closing brace.
pub(crate) fn event_base(spec: &Spec) -> String {
    let mut o = Map::new();
    o.insert("messageId".into(), json!(spec.id));
    o.insert("url".into(), json!(spec.url));
    for (k, v) in [
        ("topicName", &spec.topic_name),
        ("endpointName", &spec.endpoint_name),
        ("scheduleId", &spec.schedule_id),
        ("queueName", &spec.queue_name),
        ("callback", &spec.callback),
        ("failureCallback", &spec.failure_callback),
        ("callerIp", &spec.caller_ip),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    }
    o.insert("method".into(), json!(spec.method));
    o.insert("maxRetries".into(), json!(spec.max_retries));
    if let Some(e) = &spec.retry_delay {
        o.insert("retryDelayExpression".into(), json!(e));
        o.insert("retryDelayExpr".into(), json!(e));
    }
    if let Some(l) = spec.labels.first() {
        o.insert("label".into(), json!(l));
        o.insert("labels".into(), json!(spec.labels));
    }
    if let Some(fc) = &spec.flow_control {
        o.insert("flowControlKey".into(), json!(fc.key));
    }
    if let Some(t) = spec.timeout_ms {
        o.insert("timeout".into(), json!(t));
    }
    let text = Value::Object(o).to_string();
    text[..text.len() - 1].to_string()
}

fn body_fields(o: &mut Map<String, Value>, body: &[u8], redact: bool) {
    if redact {
        o.insert("body".into(), json!(format!("REDACTED:{}", sha256_plain(body))));
        return;
    }
    match std::str::from_utf8(body) {
        Ok(t) => o.insert("body".into(), json!(t)),
        Err(_) => o.insert("bodyBase64".into(), json!(B64.encode(body))),
    };
}

fn sha256_plain(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|b| format!("{b:02x}")).collect()
}

/// The Message object (Appendix A.1).
pub fn message_json(spec: &Spec, body: &[u8]) -> Value {
    let mut o = Map::new();
    o.insert("messageId".into(), json!(spec.id));
    o.insert("url".into(), json!(spec.url));
    for (k, v) in [("topicName", &spec.topic_name), ("endpointName", &spec.endpoint_name)] {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    }
    o.insert("method".into(), json!(spec.method));
    let mut header = spec.header.clone();
    for (name, values) in header.iter_mut() {
        if spec.redact.all_headers
            || spec.redact.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
        {
            for v in values.iter_mut() {
                *v = format!("REDACTED:{}", sha256_plain(v.as_bytes()));
            }
        }
    }
    o.insert("header".into(), json!(header));
    body_fields(&mut o, body, spec.redact.body);
    o.insert("maxRetries".into(), json!(spec.max_retries));
    o.insert("notBefore".into(), json!(spec.not_before));
    o.insert("createdAt".into(), json!(spec.created_at));
    insert_present(
        &mut o,
        &[
            ("callback", &spec.callback),
            ("failureCallback", &spec.failure_callback),
            ("queueName", &spec.queue_name),
            ("scheduleId", &spec.schedule_id),
            ("retryDelayExpression", &spec.retry_delay),
        ],
    );
    insert_nonempty(&mut o, "callbackHeader", &spec.callback_header);
    insert_nonempty(&mut o, "failureCallbackHeader", &spec.failure_callback_header);
    o.insert("callerIP".into(), opt_str(&spec.caller_ip));
    o.insert("callerIp".into(), opt_str(&spec.caller_ip));
    if let Some(l) = spec.labels.first() {
        o.insert("label".into(), json!(l));
        o.insert("labels".into(), json!(spec.labels));
    }
    if let Some(fc) = &spec.flow_control {
        o.insert("flowControlKey".into(), json!(fc.key));
        if let Some(p) = fc.parallelism {
            o.insert("parallelism".into(), json!(p));
        }
        if let Some(r) = fc.rate {
            o.insert("rate".into(), json!(r));
        }
        if let Some(p) = fc.period {
            o.insert("period".into(), json!(p));
        }
    }
    Value::Object(o)
}

fn any_eq(wanted: &[String], v: &Value, key: &str) -> bool {
    if wanted.is_empty() {
        return true;
    }
    match &v[key] {
        Value::String(s) => wanted.iter().any(|w| w == s),
        Value::Number(n) => wanted.iter().any(|w| *w == n.to_string()),
        _ => false,
    }
}

/// Whether a message/DLQ object passes the filter (OR within a key, AND across keys).
pub(crate) fn matches_filter(f: &Filter, v: &Value) -> bool {
    let label_ok = f.label.is_empty()
        || v["labels"].as_array().is_some_and(|ls| {
            ls.iter().any(|l| l.as_str().is_some_and(|l| f.label.iter().any(|w| w == l)))
        });
    let url = v["url"].as_str().unwrap_or("");
    let parsed = reqwest::Url::parse(url).ok();
    let host_ok = f.host.is_empty()
        || parsed
            .as_ref()
            .and_then(|u| u.host_str())
            .is_some_and(|h| f.host.iter().any(|w| w == h));
    let path_ok =
        f.path.is_empty() || parsed.as_ref().is_some_and(|u| f.path.iter().any(|w| w == u.path()));
    let created = v["createdAt"].as_u64().unwrap_or(0);
    label_ok
        && host_ok
        && path_ok
        && any_eq(&f.message_ids, v, "messageId")
        && any_eq(&f.url, v, "url")
        && any_eq(&f.topic_name, v, "topicName")
        && any_eq(&f.schedule_id, v, "scheduleId")
        && any_eq(&f.queue_name, v, "queueName")
        && any_eq(&f.flow_control_key, v, "flowControlKey")
        && any_eq(&f.response_status, v, "responseStatus")
        && any_eq(&f.caller_ip, v, "callerIp")
        && f.from_date.is_none_or(|d| created >= d)
        && f.to_date.is_none_or(|d| created <= d)
}

fn event_matches(f: &Filter, v: &Value) -> bool {
    let state = v["state"].as_str().unwrap_or("");
    let state_ok = f.state.is_empty()
        || f.state.iter().any(|w| {
            let w = w.to_ascii_uppercase();
            w == state
                || (w == "CANCELLED" && state == "CANCELED")
                || (w == "IN_PROGRESS" && matches!(state, "ACTIVE" | "RETRY" | "ERROR"))
        });
    let time = v["time"].as_u64().unwrap_or(0);
    let mut g = f.clone();
    g.from_date = None;
    g.to_date = None;
    state_ok
        && matches_filter(&g, v)
        && f.from_date.is_none_or(|d| time >= d)
        && f.to_date.is_none_or(|d| time <= d)
}
