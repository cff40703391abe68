//! The storage seam. Front ends (REST, RESP) never touch the engine directly: they hand `argv` batches to a
//! [`Backend`]. Today the only backend is the embedded engine; a gateway over an external Redis or Valkey
//! is another variant of this enum, not a rewrite of the front ends.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use larder_engine::{ClientState, CommandError, Engine};
use larder_resp::Reply;
use parking_lot::Mutex;

/// Where commands run.
#[derive(Clone)]
pub enum Backend {
    /// The in-process engine behind one lock: each batch runs under a single acquisition.
    Embedded(Arc<Mutex<Engine>>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Embedded(_) => f.write_str("Backend::Embedded"),
        }
    }
}

impl Backend {
    /// A new client session.
    pub fn new_client(&self, addr: String) -> ClientState {
        match self {
            Backend::Embedded(e) => e.lock().new_client(addr),
        }
    }

    /// Runs `cmds` in order for `client`, non-atomically (other clients may interleave between batches,
    /// though the embedded engine runs a whole batch under one lock). Stops right after a command that
    /// closes the connection (`QUIT`) or changes its protocol or authentication (`HELLO`, `AUTH`), so the
    /// caller can encode each reply in the right protocol. Appends one reply per command run to `out` and
    /// returns the engine's change counter after the batch.
    pub async fn execute_batch(
        &self,
        client: &mut ClientState,
        cmds: &[Vec<Bytes>],
        out: &mut Vec<Reply>,
    ) -> u64 {
        match self {
            Backend::Embedded(e) => {
                let (proto, authed) = (client.protocol, client.authenticated);
                let mut engine = e.lock();
                for argv in cmds {
                    out.push(
                        guarded(|| engine.execute(client, argv)).unwrap_or_else(internal_error),
                    );
                    if client.close_after_reply
                        || client.protocol != proto
                        || client.authenticated != authed
                    {
                        break;
                    }
                }
                engine.dirty()
            }
        }
    }

    /// Runs `cmds` atomically, as `MULTI`/`EXEC`: if any command is refused before running (unknown,
    /// wrong arity, not permitted) nothing runs and the result is `EXECABORT`.
    pub async fn execute_atomic(
        &self,
        client: &mut ClientState,
        cmds: &[Vec<Bytes>],
    ) -> (Result<Vec<Reply>, CommandError>, u64) {
        match self {
            Backend::Embedded(e) => {
                let mut engine = e.lock();
                let r = guarded(|| engine.execute_transaction(client, cmds)).unwrap_or_else(|| {
                    Err(CommandError::custom("ERR internal error while running the transaction"))
                });
                (r, engine.dirty())
            }
        }
    }

    /// One round of background work (active expiry).
    pub fn tick(&self) {
        match self {
            Backend::Embedded(e) => {
                e.lock().active_expire(16);
            }
        }
    }
}

/// Runs `f`, catching a panic so one bad command never takes a connection or the process down.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(_) => {
            tracing::error!("a command panicked; replied with an error");
            None
        }
    }
}

fn internal_error() -> Reply {
    Reply::Error("ERR internal error while running the command".into())
}
