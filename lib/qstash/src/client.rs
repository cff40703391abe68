//! The v2 API client: publish (to a URL or a URL group), enqueue, batch, schedules, URL groups, queues,
//! messages, the DLQ, logs and signing keys. Responses are returned as typed structs where the shape is
//! fixed and as `serde_json::Value` where it is large and open (message, DLQ and log objects).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A client error: the request failed, or the server answered an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered `status` with `{"error": message}` (or another body).
    #[error("QStash answered {status}: {message}")]
    Api { status: u16, message: String },
    /// The request could not be sent or its answer read.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The answer was not the expected JSON.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// A required environment variable is missing.
    #[error("missing environment variable {0}")]
    Env(&'static str),
}

/// The client's result.
pub type Result<T> = std::result::Result<T, Error>;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An absolute `http://` or `https://` URL.
    Url(String),
    /// A URL group: one message per endpoint.
    UrlGroup(String),
}

/// Options of a publish (and of an enqueue, a batch item or a schedule).
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    pub method: Option<String>,
    pub content_type: Option<String>,
    /// Headers forwarded to the destination (sent as `Upstash-Forward-<name>`).
    pub headers: BTreeMap<String, String>,
    pub retries: Option<u32>,
    /// An `Upstash-Retry-Delay` expression in milliseconds, e.g. `"1000 * pow(2, retried)"`.
    pub retry_delay: Option<String>,
    pub delay: Option<Duration>,
    /// Epoch seconds.
    pub not_before: Option<u64>,
    pub timeout: Option<Duration>,
    pub callback: Option<String>,
    pub failure_callback: Option<String>,
    pub deduplication_id: Option<String>,
    pub content_based_deduplication: bool,
    /// `(key, "parallelism=2, rate=10, period=1m")`.
    pub flow_control: Option<(String, String)>,
    pub label: Option<String>,
}

impl PublishOptions {
    fn headers(&self) -> Vec<(String, String)> {
        let mut h = Vec::new();
        let mut push = |k: &str, v: String| h.push((k.to_string(), v));
        if let Some(m) = &self.method {
            push("Upstash-Method", m.clone());
        }
        if let Some(c) = &self.content_type {
            push("Content-Type", c.clone());
        }
        for (k, v) in &self.headers {
            push(&format!("Upstash-Forward-{k}"), v.clone());
        }
        if let Some(r) = self.retries {
            push("Upstash-Retries", r.to_string());
        }
        if let Some(d) = &self.retry_delay {
            push("Upstash-Retry-Delay", d.clone());
        }
        if let Some(d) = self.delay {
            push("Upstash-Delay", format!("{}s", d.as_secs()));
        }
        if let Some(n) = self.not_before {
            push("Upstash-Not-Before", n.to_string());
        }
        if let Some(t) = self.timeout {
            push("Upstash-Timeout", format!("{}s", t.as_secs().max(1)));
        }
        if let Some(c) = &self.callback {
            push("Upstash-Callback", c.clone());
        }
        if let Some(c) = &self.failure_callback {
            push("Upstash-Failure-Callback", c.clone());
        }
        if let Some(d) = &self.deduplication_id {
            push("Upstash-Deduplication-Id", d.clone());
        }
        if self.content_based_deduplication {
            push("Upstash-Content-Based-Deduplication", "true".into());
        }
        if let Some((k, v)) = &self.flow_control {
            push("Upstash-Flow-Control-Key", k.clone());
            push("Upstash-Flow-Control-Value", v.clone());
        }
        if let Some(l) = &self.label {
            push("Upstash-Label", l.clone());
        }
        h
    }
}

/// The answer to a publish: one per endpoint (a single one for a URL).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub message_id: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub deduplicated: bool,
}

/// A queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueInfo {
    pub name: String,
    pub parallelism: u64,
    pub lag: u64,
    pub paused: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

/// An endpoint of a URL group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// A URL group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlGroup {
    pub name: String,
    pub endpoints: Vec<Endpoint>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// The signing keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SigningKeys {
    pub current: String,
    pub next: String,
}

/// A batch item.
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub destination: Destination,
    pub body: String,
    pub queue: Option<String>,
    pub options: PublishOptions,
}

/// The QStash v2 client.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8079` or `https://qstash.upstash.io`).
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Client {
        Client {
            base: base_url.into().trim_end_matches('/').to_string(),
            token: token.into(),
            http: reqwest::Client::new(),
        }
    }

    /// A client from `QSTASH_URL` (default `https://qstash.upstash.io`) and `QSTASH_TOKEN`.
    pub fn from_env() -> Result<Client> {
        let token = std::env::var("QSTASH_TOKEN").map_err(|_| Error::Env("QSTASH_TOKEN"))?;
        let url =
            std::env::var("QSTASH_URL").unwrap_or_else(|_| "https://qstash.upstash.io".into());
        Ok(Client::new(url, token))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Option<Value>> {
        let mut req =
            self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(text);
            return Err(Error::Api { status, message });
        }
        if text.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&text).map(Some).map_err(|e| Error::Decode(format!("{e}: {text}")))
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        let v = self.send(method, path, headers, body).await?.unwrap_or(Value::Null);
        serde_json::from_value(v.clone()).map_err(|e| Error::Decode(format!("{e}: {v}")))
    }

    fn published(v: Value) -> Result<Vec<Published>> {
        let items = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        items
            .into_iter()
            .map(|i| serde_json::from_value(i).map_err(|e| Error::Decode(e.to_string())))
            .collect()
    }

    fn dest_path(d: &Destination) -> &str {
        match d {
            Destination::Url(u) | Destination::UrlGroup(u) => u,
        }
    }

    /// Publishes `body` to a URL or URL group.
    pub async fn publish(
        &self,
        destination: &Destination,
        body: impl Into<Vec<u8>>,
        options: &PublishOptions,
    ) -> Result<Vec<Published>> {
        let v = self
            .send(
                reqwest::Method::POST,
                &format!("/v2/publish/{}", Self::dest_path(destination)),
                &options.headers(),
                Some(body.into()),
            )
            .await?;
        Self::published(v.unwrap_or(Value::Null))
    }

    /// Publishes `body` serialized as JSON (`Content-Type: application/json`).
    pub async fn publish_json(
        &self,
        destination: &Destination,
        body: &impl Serialize,
        options: &PublishOptions,
    ) -> Result<Vec<Published>> {
        let mut o = options.clone();
        o.content_type = Some("application/json".into());
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Decode(e.to_string()))?;
        self.publish(destination, bytes, &o).await
    }

    /// Enqueues `body` on `queue` (created with parallelism 1 if missing).
    pub async fn enqueue(
        &self,
        queue: &str,
        destination: &Destination,
        body: impl Into<Vec<u8>>,
        options: &PublishOptions,
    ) -> Result<Vec<Published>> {
        let v = self
            .send(
                reqwest::Method::POST,
                &format!("/v2/enqueue/{queue}/{}", Self::dest_path(destination)),
                &options.headers(),
                Some(body.into()),
            )
            .await?;
        Self::published(v.unwrap_or(Value::Null))
    }

    /// Publishes several messages in one request; one result (or error object) per item.
    pub async fn batch(&self, items: &[BatchItem]) -> Result<Vec<Value>> {
        let body: Vec<Value> = items
            .iter()
            .map(|i| {
                let headers: BTreeMap<String, String> = i.options.headers().into_iter().collect();
                serde_json::json!({
                    "destination": Self::dest_path(&i.destination),
                    "headers": headers,
                    "body": i.body,
                    "queue": i.queue,
                })
            })
            .collect();
        let (h, body) = json_body(&Value::Array(body));
        self.json(reqwest::Method::POST, "/v2/batch", &h, body).await
    }

    /// `GET /v2/messages/{id}`: a pending message.
    pub async fn message(&self, id: &str) -> Result<Value> {
        self.json(reqwest::Method::GET, &format!("/v2/messages/{id}"), &[], None).await
    }

    /// Cancels a pending message.
    pub async fn cancel(&self, id: &str) -> Result<()> {
        self.send(reqwest::Method::DELETE, &format!("/v2/messages/{id}"), &[], None).await.map(drop)
    }

    /// Creates or updates a queue.
    pub async fn upsert_queue(&self, name: &str, parallelism: u64, paused: bool) -> Result<()> {
        let body =
            serde_json::json!({"queueName": name, "parallelism": parallelism, "paused": paused});
        let (h, body) = json_body(&body);
        self.send(reqwest::Method::POST, "/v2/queues", &h, body).await.map(drop)
    }

    /// A queue.
    pub async fn queue(&self, name: &str) -> Result<QueueInfo> {
        self.json(reqwest::Method::GET, &format!("/v2/queues/{name}"), &[], None).await
    }

    /// Every queue.
    pub async fn queues(&self) -> Result<Vec<QueueInfo>> {
        self.json(reqwest::Method::GET, "/v2/queues", &[], None).await
    }

    /// Deletes a queue.
    pub async fn delete_queue(&self, name: &str) -> Result<()> {
        self.send(reqwest::Method::DELETE, &format!("/v2/queues/{name}"), &[], None).await.map(drop)
    }

    /// Pauses (`true`) or resumes a queue.
    pub async fn pause_queue(&self, name: &str, paused: bool) -> Result<()> {
        let op = if paused { "pause" } else { "resume" };
        self.send(reqwest::Method::POST, &format!("/v2/queues/{name}/{op}"), &[], None)
            .await
            .map(drop)
    }

    /// Creates (or, with `schedule_id`, creates or overwrites) a schedule; returns its id.
    pub async fn schedule(
        &self,
        destination: &Destination,
        cron: &str,
        body: impl Into<Vec<u8>>,
        schedule_id: Option<&str>,
        options: &PublishOptions,
    ) -> Result<String> {
        let mut h = options.headers();
        h.push(("Upstash-Cron".into(), cron.into()));
        if let Some(id) = schedule_id {
            h.push(("Upstash-Schedule-Id".into(), id.into()));
        }
        let v: Value = self
            .json(
                reqwest::Method::POST,
                &format!("/v2/schedules/{}", Self::dest_path(destination)),
                &h,
                Some(body.into()),
            )
            .await?;
        v["scheduleId"].as_str().map(str::to_string).ok_or_else(|| Error::Decode(v.to_string()))
    }

    /// A schedule.
    pub async fn get_schedule(&self, id: &str) -> Result<Value> {
        self.json(reqwest::Method::GET, &format!("/v2/schedules/{id}"), &[], None).await
    }

    /// Every schedule.
    pub async fn schedules(&self) -> Result<Vec<Value>> {
        self.json(reqwest::Method::GET, "/v2/schedules", &[], None).await
    }

    /// Deletes a schedule.
    pub async fn delete_schedule(&self, id: &str) -> Result<()> {
        self.send(reqwest::Method::DELETE, &format!("/v2/schedules/{id}"), &[], None)
            .await
            .map(drop)
    }

    /// Pauses (`true`) or resumes a schedule.
    pub async fn pause_schedule(&self, id: &str, paused: bool) -> Result<()> {
        let op = if paused { "pause" } else { "resume" };
        self.send(reqwest::Method::PATCH, &format!("/v2/schedules/{id}/{op}"), &[], None)
            .await
            .map(drop)
    }

    /// Adds endpoints to a URL group (creating it).
    pub async fn add_endpoints(&self, group: &str, endpoints: &[Endpoint]) -> Result<()> {
        let body = serde_json::json!({ "endpoints": endpoints });
        let (h, body) = json_body(&body);
        self.send(reqwest::Method::POST, &format!("/v2/topics/{group}/endpoints"), &h, body)
            .await
            .map(drop)
    }

    /// Removes endpoints (by url or name); the group goes when it is empty.
    pub async fn remove_endpoints(&self, group: &str, endpoints: &[Endpoint]) -> Result<()> {
        let body = serde_json::json!({ "endpoints": endpoints });
        let (h, body) = json_body(&body);
        self.send(reqwest::Method::DELETE, &format!("/v2/topics/{group}/endpoints"), &h, body)
            .await
            .map(drop)
    }

    /// A URL group.
    pub async fn url_group(&self, name: &str) -> Result<UrlGroup> {
        self.json(reqwest::Method::GET, &format!("/v2/topics/{name}"), &[], None).await
    }

    /// Every URL group.
    pub async fn url_groups(&self) -> Result<Vec<UrlGroup>> {
        self.json(reqwest::Method::GET, "/v2/topics", &[], None).await
    }

    /// Deletes a URL group.
    pub async fn delete_url_group(&self, name: &str) -> Result<()> {
        self.send(reqwest::Method::DELETE, &format!("/v2/topics/{name}"), &[], None).await.map(drop)
    }

    /// The first page of the DLQ: `{"messages": [...], "cursor"?}`.
    pub async fn dlq(&self) -> Result<Value> {
        self.json(reqwest::Method::GET, "/v2/dlq", &[], None).await
    }

    /// Deletes a DLQ entry.
    pub async fn delete_dlq(&self, dlq_id: &str) -> Result<()> {
        self.send(reqwest::Method::DELETE, &format!("/v2/dlq/{dlq_id}"), &[], None).await.map(drop)
    }

    /// Publishes a DLQ entry again; returns the new message id.
    pub async fn retry_dlq(&self, dlq_id: &str) -> Result<String> {
        let v: Value =
            self.json(reqwest::Method::POST, &format!("/v2/dlq/retry/{dlq_id}"), &[], None).await?;
        v["messageId"].as_str().map(str::to_string).ok_or_else(|| Error::Decode(v.to_string()))
    }

    /// Log entries (newest first), optionally for one message.
    pub async fn events(&self, message_id: Option<&str>) -> Result<Vec<Value>> {
        let path = match message_id {
            Some(id) => format!("/v2/events?messageId={id}"),
            None => "/v2/events".into(),
        };
        let v: Value = self.json(reqwest::Method::GET, &path, &[], None).await?;
        Ok(v["events"].as_array().cloned().unwrap_or_default())
    }

    /// The signing keys.
    pub async fn signing_keys(&self) -> Result<SigningKeys> {
        self.json(reqwest::Method::GET, "/v2/keys", &[], None).await
    }

    /// Rotates the signing keys (current := next, next := new).
    pub async fn rotate_signing_keys(&self) -> Result<SigningKeys> {
        self.json(reqwest::Method::POST, "/v2/keys/rotate", &[], None).await
    }
}

/// A JSON request body with its `Content-Type` header, as [`Client::send`] takes them.
fn json_body(body: &Value) -> ([(String, String); 1], Option<Vec<u8>>) {
    let header = ("Content-Type".to_string(), "application/json".to_string());
    ([header], Some(body.to_string().into_bytes()))
}
