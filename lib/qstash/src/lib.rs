//! `larder-qstash`: QStash for Rust — a client for the QStash v2 API (served by
//! [larder](https://github.com/larder-dev/larder) or by Upstash), a [`Receiver`] that verifies
//! `Upstash-Signature` with the current and next signing keys, an axum extractor ([`Verified`]) that
//! rejects unsigned or forged deliveries, and an [`Idempotency`] helper so a handler runs once per
//! message although deliveries are at least once. This crate never depends on larder's server crates.
//!
//! # From publish to a verified handler
//!
//! ```no_run
//! # #[cfg(all(feature = "client", feature = "axum"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use larder_qstash::{Client, Destination, PublishOptions, Receiver, Verified};
//!
//! // The handler: only verified deliveries reach it.
//! async fn hook(v: Verified) -> &'static str {
//!     println!("message {} (attempt {}): {:?}", v.message_id, v.retried + 1, v.body);
//!     "ok"
//! }
//! let receiver = Arc::new(Receiver::from_env()?); // QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY
//! let app: axum::Router = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(receiver);
//! # let _ = app;
//!
//! // The publisher.
//! let client = Client::from_env()?; // QSTASH_URL, QSTASH_TOKEN
//! let sent = client
//!     .publish_json(
//!         &Destination::Url("http://127.0.0.1:3000/hook".into()),
//!         &serde_json::json!({"hello": "world"}),
//!         &PublishOptions { retries: Some(3), ..Default::default() },
//!     )
//!     .await?;
//! println!("published {}", sent[0].message_id);
//! # Ok(()) }
//! ```

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "idempotency")]
pub mod idempotency;
pub mod receiver;

#[cfg(feature = "axum")]
pub use crate::axum::{Rejection, Verified};
#[cfg(feature = "client")]
pub use client::{
    BatchItem, Client, Destination, Endpoint, Error, PublishOptions, Published, QueueInfo,
    SigningKeys, UrlGroup,
};
#[cfg(feature = "idempotency")]
pub use idempotency::{Idempotency, IdempotencyError, Once};
pub use receiver::{Claims, Receiver, VerifyError};
