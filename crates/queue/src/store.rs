//! The storage seam: the queue reaches its keys only through [`QueueStore`]. Today it is implemented over
//! the embedded engine (in `larder-server`); an external Redis or Valkey is another implementation of the
//! same two methods.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use larder_resp::Reply;

/// A boxed, sendable future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A storage failure: the command could not run, or answered an error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The store answered an error reply (e.g. `BUSY`, a script error).
    #[error("storage error: {0}")]
    Reply(String),
    /// The store could not be reached.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// A Lua script the queue runs atomically. `sha` is its SHA-1 in hex (for EVALSHA).
#[derive(Debug)]
pub struct Script {
    pub name: &'static str,
    pub source: String,
    pub sha: String,
}

impl Script {
    /// A script from its source text.
    pub fn new(name: &'static str, source: String) -> Script {
        let sha = sha1_smol::Sha1::from(source.as_bytes()).digest().to_string();
        Script { name, source, sha }
    }

    /// `EVALSHA <sha> <numkeys> <keys...> <args...>`, the way a store runs it first.
    pub fn evalsha_argv(&self, keys: Vec<Bytes>, args: Vec<Bytes>) -> Vec<Bytes> {
        let mut argv = Vec::with_capacity(3 + keys.len() + args.len());
        argv.push(Bytes::from_static(b"EVALSHA"));
        argv.push(Bytes::copy_from_slice(self.sha.as_bytes()));
        argv.push(Bytes::from(keys.len().to_string()));
        argv.extend(keys);
        argv.extend(args);
        argv
    }

    /// When `reply` is `NOSCRIPT` (the server's script cache was flushed or restarted), turns `argv`
    /// from [`Script::evalsha_argv`] into the `EVAL` that sends the source, and says so.
    pub fn fall_back_to_eval(&self, argv: &mut [Bytes], reply: &Reply) -> bool {
        if !matches!(reply, Reply::Error(e) if e.starts_with("NOSCRIPT")) || argv.len() < 2 {
            return false;
        }
        argv[0] = Bytes::from_static(b"EVAL");
        argv[1] = Bytes::copy_from_slice(self.source.as_bytes());
        true
    }
}

/// Where the queue's keys live.
pub trait QueueStore: Send + Sync + 'static {
    /// Runs `script` atomically with `keys` and `args` (EVALSHA, then EVAL when the script is not cached).
    fn eval<'a>(
        &'a self,
        script: &'a Script,
        keys: Vec<Bytes>,
        args: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<Reply, StoreError>>;

    /// Runs plain commands in order and returns one reply per command (error replies included).
    fn pipeline(&self, cmds: Vec<Vec<Bytes>>) -> BoxFuture<'_, Result<Vec<Reply>, StoreError>>;
}

/// Builds an argv from anything byte-like.
#[macro_export]
macro_rules! argv {
    ($($a:expr),* $(,)?) => {
        vec![$($crate::store::to_bytes($a)),*]
    };
}

/// Conversion used by [`argv!`].
pub fn to_bytes(v: impl ToArg) -> Bytes {
    v.to_arg()
}

/// Something that can be a command argument.
pub trait ToArg {
    fn to_arg(self) -> Bytes;
}

impl ToArg for Bytes {
    fn to_arg(self) -> Bytes {
        self
    }
}
impl ToArg for &Bytes {
    fn to_arg(self) -> Bytes {
        self.clone()
    }
}
impl ToArg for &str {
    fn to_arg(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}
impl ToArg for String {
    fn to_arg(self) -> Bytes {
        Bytes::from(self)
    }
}
impl ToArg for &String {
    fn to_arg(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}
impl ToArg for &[u8] {
    fn to_arg(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}
impl ToArg for Vec<u8> {
    fn to_arg(self) -> Bytes {
        Bytes::from(self)
    }
}
macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(self) -> Bytes {
                Bytes::from(self.to_string())
            }
        }
    )*};
}
int_arg!(u64, i64, u32, i32, usize);

/// Reads helpers over [`Reply`].
pub mod reply {
    use bytes::Bytes;
    use larder_resp::Reply;

    use super::StoreError;

    /// The reply as bytes (bulk or simple string); `None` for nil.
    pub fn bytes(r: &Reply) -> Option<Bytes> {
        match r {
            Reply::Bulk(b) => Some(b.clone()),
            Reply::Simple(s) => Some(Bytes::copy_from_slice(s.as_bytes())),
            Reply::Int(i) => Some(Bytes::from(i.to_string())),
            Reply::Double(d) => Some(Bytes::from(larder_resp::format_double(*d))),
            Reply::Verbatim(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// The reply as a UTF-8 string (lossy).
    pub fn string(r: &Reply) -> Option<String> {
        bytes(r).map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The reply as an integer (an integer reply or a numeric string).
    pub fn int(r: &Reply) -> Option<i64> {
        match r {
            Reply::Int(i) => Some(*i),
            other => string(other).and_then(|s| s.parse().ok()),
        }
    }

    /// The elements of an array reply (empty for nil).
    pub fn array(r: Reply) -> Vec<Reply> {
        match r {
            Reply::Array(v) | Reply::Set(v) => v,
            Reply::Map(v) => v.into_iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => Vec::new(),
        }
    }

    /// An error reply as a [`StoreError`].
    pub fn check(r: Reply) -> Result<Reply, StoreError> {
        match r {
            Reply::Error(e) => Err(StoreError::Reply(e.to_string())),
            other => Ok(other),
        }
    }

    /// A flat `field value ...` array (HGETALL) as pairs.
    pub fn pairs(r: Reply) -> Vec<(String, Bytes)> {
        let v = array(r);
        let mut out = Vec::with_capacity(v.len() / 2);
        let mut it = v.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            if let (Some(k), Some(v)) = (string(&k), bytes(&v)) {
                out.push((k, v));
            }
        }
        out
    }
}
