//! `ClientState`: what the engine knows about one connection (or one REST request): identity,
//! protocol, authentication and permissions.

use bytes::Bytes;
use larder_resp::Protocol;

/// Per-connection state (Redis's `client` struct, reduced to what larder needs).
#[derive(Debug, Clone)]
pub struct ClientState {
    /// Unique id (`CLIENT ID`).
    pub id: u64,
    /// `CLIENT SETNAME`.
    pub name: Option<Bytes>,
    /// `CLIENT SETINFO LIB-NAME` / `LIB-VER`.
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    /// RESP2 or RESP3 (`HELLO`).
    pub protocol: Protocol,
    /// Whether the client has authenticated (or no authentication is required).
    pub authenticated: bool,
    /// Authenticated with the read-only token: writes and dangerous commands are refused.
    pub readonly: bool,
    /// The peer address, for `CLIENT INFO`/`LIST`.
    pub addr: String,
    /// Set by `QUIT`: the connection closes after this reply.
    pub close_after_reply: bool,
    /// Unix ms at which the client connected.
    pub created_ms: u64,
    /// Lower-case name of the last command (`CLIENT INFO`).
    pub last_command: &'static str,
    /// Set by a blocking command (BLPOP, BZPOPMIN, ...) that found nothing to serve: the front end parks the
    /// client until one of the keys is signalled ready or the deadline passes, then runs the command again.
    pub blocked: Option<BlockedOn>,
    /// With `blocked`: the command to run again instead of the one received, when it differs (a blocked
    /// XREAD with `$` waits for entries after the ID `$` meant when it blocked).
    pub blocked_argv: Option<Vec<Bytes>>,
    /// True while the client runs a transaction or a script: blocking commands must not block there and
    /// answer their timeout reply at once, as in Redis.
    pub in_transaction: bool,
    /// Commands queued since MULTI (`None` outside MULTI).
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    pub multi_error: bool,
    /// WATCHed keys with their versions at WATCH time.
    pub watched: Vec<(Bytes, u64)>,
}

/// What a blocked client waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedOn {
    /// The keys whose change may let the command proceed.
    pub keys: Vec<Bytes>,
    /// Absolute Unix ms after which the command gives up with its timeout reply; `None` waits forever.
    pub deadline_ms: Option<u64>,
}

impl ClientState {
    /// A new client. `authenticated` is true when the server requires no password.
    pub fn new(id: u64, addr: String, authenticated: bool) -> ClientState {
        ClientState {
            id,
            name: None,
            lib_name: None,
            lib_ver: None,
            protocol: Protocol::Resp2,
            authenticated,
            readonly: false,
            addr,
            close_after_reply: false,
            created_ms: 0,
            last_command: "NULL",
            blocked: None,
            blocked_argv: None,
            in_transaction: false,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
        }
    }
}
