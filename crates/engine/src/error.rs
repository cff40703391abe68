//! `CommandError`: every error a command can return, whose `Display` is the exact Redis error line.
//! Nothing else in larder formats Redis errors.

use std::borrow::Cow;

/// An error reply of a command. `to_string()` is the line a client sees (prefix included).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR increment would produce NaN or Infinity")]
    NanOrInfinity,
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand { name: String, args: String },
    #[error("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")]
    UnknownSubcommand { cmd: String, sub: String },
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(&'static str),
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR invalid cursor")]
    InvalidCursor,
    #[error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    StringTooLong,
    #[error("NOAUTH Authentication required.")]
    NoAuth,
    #[error("WRONGPASS invalid username-password pair or user is disabled.")]
    WrongPass,
    #[error("NOPERM this user has no permissions to run the '{0}' command or its subcommand")]
    NoPerm(String),
    #[error("EXECABORT Transaction discarded because of previous errors.")]
    ExecAbort,
    #[error("{0}")]
    Custom(Cow<'static, str>),
}

impl CommandError {
    /// An `ERR ...` error with a custom message (the message must include its prefix).
    pub fn custom(msg: impl Into<Cow<'static, str>>) -> CommandError {
        CommandError::Custom(msg.into())
    }
}

/// Builds the `unknown command` error the way Redis does: the name as sent (at most 128 bytes) and the
/// first arguments quoted, until 128 bytes of them were written.
pub fn unknown_command(argv: &[bytes::Bytes]) -> CommandError {
    let name = sanitize(&argv[0], 128);
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push('\'');
        args.push_str(&sanitize(a, room));
        args.push_str("' ");
    }
    CommandError::UnknownCommand { name, args }
}

/// Lossy UTF-8 of at most `max` bytes with CR/LF replaced by spaces, so an error line stays one line.
pub(crate) fn sanitize(b: &[u8], max: usize) -> String {
    let b = &b[..b.len().min(max)];
    String::from_utf8_lossy(b).replace(['\r', '\n'], " ")
}
