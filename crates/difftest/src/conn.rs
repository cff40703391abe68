//! One blocking RESP2 connection: requests encoded as multibulk, replies decoded by `larder_resp`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use larder_resp::Reply;

/// One command's arguments.
pub type Argv = Vec<Vec<u8>>;

/// A RESP2 connection to larder or to redis-server.
pub struct Conn {
    /// `larder` or `redis`, for messages.
    pub name: &'static str,
    addr: String,
    stream: TcpStream,
    buf: BytesMut,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conn({} at {})", self.name, self.addr)
    }
}

/// Longest a single reply may take before the run is declared stuck.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

impl Conn {
    /// Connects to `addr` and, when `token` is given, authenticates with `AUTH <token>`.
    pub fn connect(name: &'static str, addr: &str, token: Option<&str>) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr)
            .map_err(|e| io::Error::new(e.kind(), format!("connect to {name} at {addr}: {e}")))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        let mut conn = Conn { name, addr: addr.to_owned(), stream, buf: BytesMut::new() };
        if let Some(token) = token {
            match conn.call(&[b"AUTH".to_vec(), token.as_bytes().to_vec()])? {
                Reply::Simple(s) if s == "OK" => {}
                other => {
                    return Err(io::Error::other(format!(
                        "AUTH to {name} at {addr} failed: {other:?}"
                    )));
                }
            }
        }
        Ok(conn)
    }

    /// The address this connection talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one command and waits for its reply.
    pub fn call(&mut self, argv: &[Vec<u8>]) -> io::Result<Reply> {
        let mut out = Vec::with_capacity(16 + argv.iter().map(|a| a.len() + 16).sum::<usize>());
        out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
        for a in argv {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&out)?;
        loop {
            match larder_resp::decode_reply(&mut self.buf) {
                Ok(Some(r)) => return Ok(r),
                Ok(None) => {}
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{} sent an undecodable reply: {e}", self.name),
                    ));
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).map_err(|e| {
                io::Error::new(e.kind(), format!("reading {}'s reply: {e}", self.name))
            })?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{} closed the connection", self.name),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// `call` with string arguments.
    pub fn call_str(&mut self, args: &[&str]) -> io::Result<Reply> {
        let argv: Argv = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        self.call(&argv)
    }
}
