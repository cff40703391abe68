//! larder's embedded Redis-compatible engine: the keyspace, the value types, expiry, and the command
//! table with its handlers.
//!
//! The engine is synchronous and does no network I/O: the server wraps it in a lock and feeds it `argv`
//! from RESP and REST alike; every command returns one [`Reply`]. Time comes from an injected [`Clock`].
//!
//! **Architecture Invariant:** no tokio, no HTTP, no JSON here; the only protocol crate it knows is
//! `larder-resp`, for the `Reply` type.

pub mod aof;
mod client;
mod clock;
pub mod command;
mod compact;
pub mod dict;
mod engine;
mod error;
mod evict;
mod geohash;
mod glob;
mod info;
mod keyspace;
pub mod ldouble;
pub mod memory;
pub mod scripting;
mod stats;
#[cfg(test)]
mod test_util;
pub mod transcript;
mod types;
mod value;

pub use client::{BlockedOn, ClientState};
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::{COMMANDS, CommandSpec, Flags, KeySpec, lookup};
pub use engine::{Auth, ConnectionCounters, Engine, Propagate, REDIS_VERSION, ServerInfo, ct_eq};
pub use error::CommandError;
pub use glob::glob_match;
pub use keyspace::{Entry, Keyspace};
pub use larder_resp::{Protocol, Reply};
pub use value::{CompactBytes, Hash, Kind, List, Set, Value, ZSet};
