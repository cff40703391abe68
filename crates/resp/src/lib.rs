//! RESP2/RESP3 codec for larder.
//!
//! This crate knows the Redis serialization protocol and nothing else: it turns request bytes into
//! `argv` (the multibulk and inline forms a client sends), turns a [`Reply`] into RESP2 or RESP3 bytes,
//! and decodes RESP replies (for tests, the AOF and a future gateway backend that talks to a real Redis).
//!
//! **Architecture Invariant:** no tokio, no engine, no serde. It is a pure codec over byte buffers.

mod decode;
mod double;
mod encode;
mod reply;

pub use decode::{DecodeError, Limits, decode_reply, decode_request};
pub use double::format_double;
pub use encode::{Protocol, encode};
pub use reply::Reply;

#[cfg(test)]
mod tests;
