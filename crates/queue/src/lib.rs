//! larder's QStash-compatible durable HTTP queue: the domain (messages, publish, retries, schedules, URL
//! groups, flow control, the DLQ, events, signing) and the delivery worker. It knows no HTTP server and no
//! engine: storage is reached through [`store::QueueStore`], and the server's `queue_api` module turns v2
//! requests into calls on [`service::Queue`]. The design and key layout are in `docs/queue.md`.

mod batch;
pub mod cron;
pub mod duration;
pub mod error;
pub mod keys;
pub mod message;
pub mod retry;
pub mod scripts;
pub mod service;
pub mod signing;
pub mod store;
pub mod worker;

pub use error::QueueError;
pub use service::{Endpoint, Filter, PublishRequest, Queue, QueueConfig};
pub use store::{QueueStore, Script, StoreError};
pub use worker::Worker;
