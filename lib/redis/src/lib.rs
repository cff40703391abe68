//! `larder-redis`: Redis over HTTP for Rust — a client for the Upstash Redis REST API, served by
//! [larder](https://github.com/larder-dev/larder) or by Upstash, plus a null-safe [cache] helper.
//!
//! Every call is one HTTPS request (`POST` with a JSON command array), so there is no connection to
//! keep: it suits serverless functions and edge runtimes, like `@upstash/redis` does for JavaScript.
//! This crate never depends on larder's server crates; it speaks only the public REST API.
//!
//! # Quick start
//!
//! Start larder (`cargo run --release`) and paste the environment block it prints, or use the
//! values from the Upstash console:
//!
//! ```text
//! UPSTASH_REDIS_REST_URL=http://127.0.0.1:8079
//! UPSTASH_REDIS_REST_TOKEN=...
//! ```
//!
//! ```no_run
//! use larder_redis::{Redis, SetOptions};
//!
//! # async fn run() -> larder_redis::Result<()> {
//! let redis = Redis::from_env()?;
//! redis.set("greeting", "hello").await?;
//! redis.set_options("session:1", &serde_json::json!({"user": 42}), SetOptions::new().ex(3600)).await?;
//! let greeting: Option<String> = redis.get("greeting").await?;
//! let visits = redis.incr("visits").await?;
//! # Ok(()) }
//! ```
//!
//! # Reading values
//!
//! The REST API returns strings, integers, nulls and arrays. Typed methods decode them through serde
//! ([`Value::decode`] has the exact rules):
//!
//! - `None` means only "no such key" (or field, or element): [`Redis::get`] returns
//!   `Result<Option<T>>`, and a stored `0`, `""`, `false` or even the text `null` come back as
//!   `Some(...)`.
//! - A stored string is read **as text** when you ask for a `String` (whatever it contains: `"12"`
//!   stays `"12"`), and **as JSON** when you ask for anything else (`get::<i64>` reads `12`,
//!   `get::<bool>` reads `false`, `get::<MyStruct>` parses the JSON object, `get::<serde_json::Value>`
//!   parses JSON and falls back to a JSON string for plain text, as `@upstash/redis` does).
//! - Numbers (`i64`, `f64`, ...) are parsed from their text, including Redis's `inf`/`-inf` scores.
//! - Binary values: use [`Redis::get_bytes`] (base64 responses, the default, are binary-safe).
//! - The raw reply is always available as a [`Value`] (`eval::<Value>`, [`Redis::command`]).
//!
//! # Storing values
//!
//! Values (`set`, `hset`, `lpush`, `sadd`, `zadd` members, ...) take any `impl Serialize`: a string
//! is stored as its text, anything else as its JSON text (`12`, `true`, `{"a":1}`), the way
//! `@upstash/redis` stores them, so a JavaScript and a Rust service can share keys. Keys and field
//! names are `impl AsRef<str>`; multi-key arguments take anything [`ToArgs`] (`["a", "b"]`, a `Vec`,
//! a single `&str`). JSON command arrays cannot carry arbitrary bytes; [`Redis::set_bytes`] writes
//! binary values with a path-style request.
//!
//! # Pipelines and transactions
//!
//! [`Redis::pipeline`] and [`Redis::multi`] return a [`Pipeline`] with the same typed methods,
//! chained; [`Pipeline::exec`] sends them in one request and returns one `Result<Value>` per command
//! (the outer `Result` is for the request as a whole):
//!
//! ```no_run
//! # async fn run(redis: larder_redis::Redis) -> larder_redis::Result<()> {
//! let results = redis.pipeline().set("a", 1).incr("a").get("a").exec().await?;
//! let ((), n): ((), i64) = redis.multi().set("b", 1).incr("b").exec_as().await?;
//! # Ok(()) }
//! ```
//!
//! # Scripts
//!
//! [`Script`] computes the SHA-1 once and runs `EVALSHA`, falling back to `EVAL` on `NOSCRIPT`
//! (also inside pipelines, with [`Pipeline::script`]); [`Script::read_only`] uses `EVALSHA_RO`.
//!
//! # The escape hatch
//!
//! Any command or option without a typed method: [`Redis::command`] with anything [`ToArgs`]
//! (`("XADD", "s", "*", "f", "v")`) or a [`Cmd`], returning the raw [`Value`]; the same on a pipeline
//! with [`Pipeline::command`].
//!
//! # Options
//!
//! [`Redis::builder`] / [`RedisBuilder::from_env`]: base64 responses (on), read-your-writes with the
//! `upstash-sync-token` (on), retries with exponential backoff on transport errors only (5), a
//! request timeout (none), `Upstash-Telemetry-*` headers (on; off with `UPSTASH_DISABLE_TELEMETRY`),
//! and a custom [`Transport`].
//!
//! # Errors
//!
//! One [`Error`] enum: [`Error::Command`] carries the Redis error line, [`Error::Http`] a non-2xx
//! answer, [`Error::Transport`] a request that got no answer after the retries, [`Error::Decode`] a
//! reply that does not fit the requested type, and [`Error::MissingEnv`] / [`Error::InvalidUrl`]
//! configuration mistakes.

#![warn(missing_docs)]

mod args;
pub mod cache;
mod client;
mod commands;
mod de;
mod error;
mod pipeline;
mod script;
mod transport;
mod value;

pub use args::{Cmd, ToArgs};
pub use client::{DISABLE_TELEMETRY_VAR, Redis, RedisBuilder, Retry, TOKEN_VARS, URL_VARS};
pub use commands::{
    Direction, ExpireCondition, Expiry, FieldCondition, InsertPosition, LPosOptions, ScanOptions,
    SetOptions, ZAddOptions, ZRangeBy, ZRangeOptions,
};
pub use error::{Error, Result, TransportError};
pub use pipeline::Pipeline;
pub use script::Script;
#[cfg(feature = "reqwest")]
pub use transport::ReqwestTransport;
pub use transport::{BoxFuture, Request, Response, Transport};
pub use value::Value;
