//! The typed command methods, one family per file. Each family file lists its commands once, in a
//! `*_commands!` macro; that list is expanded twice: into async methods on [`Redis`] (which run the
//! command and decode the reply) and into queueing methods on [`Pipeline`] (which add it to the batch).
//!
//! One entry:
//!
//! ```text
//! /// Doc comment (shown on both the client and the pipeline method).
//! fn name[T: DeserializeOwned](key: impl AsRef<str>, n: i64) -> ReplyType { Cmd::new("NAME")... }
//! fn other(key: impl AsRef<str>) -> bool { ... } via crate::de::ok_or_nil;
//! ```
//!
//! Generic parameters in brackets are for the reply type only (the pipeline method drops them), so
//! argument types must be written as `impl Trait`. The reply is decoded by serde ([`Value::decode`])
//! unless a `via` decoder is named.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::args::{Cmd, ToArgs};
use crate::client::Redis;
use crate::pipeline::Pipeline;

use crate::value::Value;

macro_rules! decoder {
    () => {
        $crate::de::decode
    };
    ($p:path) => {
        $p
    };
}

macro_rules! emit_client {
    ($(
        $(#[$meta:meta])*
        fn $name:ident $([$($gen:tt)*])? ($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty $body:block
        $(via $decode:path;)?
    )*) => {$(
        $(#[$meta])*
        pub fn $name $(<$($gen)*>)? (&self, $($arg: $ty),*)
            -> impl ::std::future::Future<Output = $crate::Result<$ret>> + Send
        {
            let cmd: Cmd = $body;
            self.run_typed(cmd, decoder!($($decode)?))
        }
    )*};
}

macro_rules! emit_pipeline {
    ($(
        $(#[$meta:meta])*
        fn $name:ident $([$($gen:tt)*])? ($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty $body:block
        $(via $decode:path;)?
    )*) => {$(
        $(#[$meta])*
        pub fn $name(&mut self, $($arg: $ty),*) -> &mut Self {
            let cmd: Cmd = $body;
            self.push(cmd)
        }
    )*};
}

#[macro_use]
mod strings;
#[macro_use]
mod keys;
#[macro_use]
mod hashes;
#[macro_use]
mod lists;
#[macro_use]
mod sets;
#[macro_use]
mod zsets;
#[macro_use]
mod scripting;
#[macro_use]
mod server;

pub use hashes::FieldCondition;
pub use keys::{ExpireCondition, ScanOptions};
pub use lists::{Direction, InsertPosition, LPosOptions};
pub use strings::{Expiry, SetOptions};
pub use zsets::{ZAddOptions, ZRangeBy, ZRangeOptions};

/// The number of arguments followed by the arguments (`numkeys key...`, `FIELDS n field...`).
fn counted(args: impl ToArgs) -> (usize, Vec<String>) {
    let a = args.to_args();
    (a.len(), a)
}

/// Typed commands. Each method runs one command (`POST /`) and decodes its reply; see the crate
/// documentation for how replies become Rust values.
impl Redis {
    pub(crate) async fn run_typed<R>(
        &self,
        cmd: Cmd,
        decode: fn(Value) -> crate::Result<R>,
    ) -> crate::Result<R> {
        decode(self.run(cmd).await?)
    }

    string_commands!(emit_client);
    key_commands!(emit_client);
    hash_commands!(emit_client);
    list_commands!(emit_client);
    set_commands!(emit_client);
    zset_commands!(emit_client);
    scripting_commands!(emit_client);
    server_commands!(emit_client);
}

/// The same commands as [`Redis`]'s typed methods, queued on the batch. Their replies come back from
/// [`Pipeline::exec`] as [`Value`]s, in order (decode each with [`Value::decode`]), or all at once
/// with [`Pipeline::exec_as`].
impl Pipeline {
    string_commands!(emit_pipeline);
    key_commands!(emit_pipeline);
    hash_commands!(emit_pipeline);
    list_commands!(emit_pipeline);
    set_commands!(emit_pipeline);
    zset_commands!(emit_pipeline);
    scripting_commands!(emit_pipeline);
    server_commands!(emit_pipeline);
}
