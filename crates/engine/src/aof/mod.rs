//! The append-only file: Redis 7's multi-part AOF in a directory (`<data-dir>/appendonly/`).
//!
//! # Files
//! - `appendonly.aof.manifest`: which files make up the data set, in Redis's line format
//!   (`file appendonly.aof.3.base.aof seq 3 type b`). It is replaced atomically (temp file, fsync, rename,
//!   fsync of the directory), so a crash leaves either the old or the new set, never a mix.
//! - one base file (`appendonly.aof.<n>.base.aof`): commands that rebuild the keyspace as of a rewrite
//!   (`SET`, `RPUSH`, `HSET`, `SADD`, `ZADD` in batches, `PEXPIREAT`, `HPEXPIREAT`, `FUNCTION LOAD`);
//! - incremental files (`appendonly.aof.<n>.incr.aof`): every change since, as the engine propagated it
//!   (deterministic argv, several effects of one command wrapped in `MULTI`/`EXEC`).
//!
//! Every file is a sequence of RESP multibulk records (`*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n`).
//!
//! # Pieces
//! - [`AofLog`] ([`writer`]): the [`Propagate`](crate::Propagate) sink. `propagate` only appends the RESP
//!   bytes to a buffer (it runs under the engine lock); a flusher thread writes them to the current incr
//!   file and fsyncs per [`FsyncPolicy`]. [`Durability`] is the handle the server keeps to wait for writes
//!   to be on disk (`always`) and to shut down cleanly.
//! - [`load`] and [`check`] ([`loader`]): replay at start (torn tails of the last file are truncated with
//!   a warning, any other damage refuses with the file, the offset and the repair command); the
//!   `larder check-aof [--fix]` tool.
//! - [`rewrite`]: compaction without fork: a copy-on-write snapshot of the keyspace at key granularity,
//!   serialized in bounded steps while writes go on (see the module docs).
//!
//! **Invariant:** only the last incr file of a manifest can have a torn tail: a file is fsynced before a
//! manifest that lists a newer incr file is written.

pub mod loader;
pub(crate) mod manifest;
pub mod record;
pub(crate) mod rewrite;
pub mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

pub use loader::{CheckReport, LoadStats, check, check_dir, load};
pub use writer::{AofHandle, AofInfo, AofLog, Durability, WaitDurable};

/// When the flusher fsyncs (Redis's `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// After every write, before the writes are acknowledged (group commit: one fsync covers every write
    /// that arrived while the previous one ran).
    Always,
    /// Writes promptly, fsyncs once per second: a crash loses at most about a second of writes.
    #[default]
    EverySec,
    /// Writes promptly, leaves flushing to the operating system.
    No,
}

impl FsyncPolicy {
    /// Redis's name: `always`, `everysec`, `no`.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<FsyncPolicy, String> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" => Ok(FsyncPolicy::EverySec),
            "no" => Ok(FsyncPolicy::No),
            _ => Err(format!("invalid appendfsync {s:?}: expected always, everysec or no")),
        }
    }
}

impl std::fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the AOF runs.
#[derive(Debug, Clone)]
pub struct AofConfig {
    pub fsync: FsyncPolicy,
    /// Rewrite automatically when the files grew by this percentage since the last rewrite (Redis's
    /// `auto-aof-rewrite-percentage`, default 100); 0 disables automatic rewrites.
    pub auto_rewrite_percentage: u64,
    /// ... and are at least this big (Redis's `auto-aof-rewrite-min-size`, default 64 MB).
    pub auto_rewrite_min_size: u64,
    /// How long to wait before retrying after a write or fsync error.
    pub retry_interval: Duration,
    /// How long to wait before an automatic rewrite after a failed one.
    pub rewrite_retry_interval: Duration,
    /// Test hook: while set, every write and fsync of the AOF fails as if the disk were full.
    #[doc(hidden)]
    pub fail_writes: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Default for AofConfig {
    fn default() -> AofConfig {
        AofConfig {
            fsync: FsyncPolicy::EverySec,
            auto_rewrite_percentage: 100,
            auto_rewrite_min_size: 64 * 1024 * 1024,
            retry_interval: Duration::from_secs(1),
            rewrite_retry_interval: Duration::from_secs(60),
            fail_writes: None,
        }
    }
}

/// A runtime error of the AOF (a failed write or fsync). Clients see it as
/// `MISCONF Errors writing to the AOF file: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AofError {
    /// A write or fsync failed; `reason` reads like `strerror` ("No space left on device").
    #[error("{reason}")]
    Io { reason: String },
    /// The AOF was shut down (or crashed in a test) before the data reached the disk.
    #[error("the append-only file is closed")]
    Closed,
}

impl AofError {
    pub(crate) fn io(e: &std::io::Error) -> AofError {
        AofError::Io { reason: strerror(e) }
    }

    /// The error line a client gets for a write refused (or not made durable) because of this error.
    pub fn misconf(&self) -> String {
        format!("MISCONF Errors writing to the AOF file: {self}")
    }
}

/// An I/O error's message without Rust's ` (os error N)` suffix, like C's `strerror`.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

/// Why the AOF could not be loaded (or opened). The server refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum AofLoadError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad manifest {} line {line}: {reason}", path.display())]
    Manifest { path: PathBuf, line: usize, reason: String },
    #[error(
        "bad record in the append-only file {} at offset {offset}: {reason}. Make a backup of the file, then run `larder check-aof --fix {}`",
        file.display(),
        file.display()
    )]
    Corrupt { file: PathBuf, offset: u64, reason: String },
}

impl AofLoadError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AofLoadError::Io { op, path: path.into(), source }
    }
}

/// Appends the RESP multibulk encoding of `argv` to `out`.
pub fn encode_command(argv: &[bytes::Bytes], out: &mut Vec<u8>) {
    encode_header(b'*', argv.len(), out);
    for a in argv {
        encode_header(b'$', a.len(), out);
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// `*<n>\r\n` or `$<n>\r\n`.
pub(crate) fn encode_header(prefix: u8, n: usize, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push(prefix);
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// Appends one record given as byte slices (the rewrite's batches are built without `Bytes`).
pub(crate) fn encode_parts(parts: &[&[u8]], out: &mut Vec<u8>) {
    encode_header(b'*', parts.len(), out);
    for a in parts {
        encode_header(b'$', a.len(), out);
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}
