//! Differential testing of larder against a real `redis-server`.
//!
//! A seeded generator ([`generator`]) produces random commands over every data type; the runner ([`runner`])
//! sends each one to larder and to redis in the same order over RESP2 and compares the replies
//! ([`check`]): exactly, or order-insensitively where Redis leaves the order unspecified, or by what is
//! deterministic for random replies. Doubles that differ only in text (Redis 7.0 prints `%.17g`, larder
//! the shortest round-trip form) are reported separately as format differences. A mismatch is printed
//! with the seed, its index, both replies and a reproduction, shrunk by replaying subsets.
//!
//! Only commands larder knows (`COMMAND INFO`) are generated, so coverage grows as families land.

pub mod check;
pub mod conn;
pub mod generator;
pub mod runner;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use conn::Conn;
pub use runner::{Options, Report, run};

/// larder started in-process through `larder_test_support::TestServer`, with its own tokio runtime.
pub struct InProcessLarder {
    server: Option<larder_test_support::TestServer>,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for InProcessLarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InProcessLarder({})", self.addr())
    }
}

impl InProcessLarder {
    /// Starts larder on `127.0.0.1:0`.
    pub fn start() -> io::Result<InProcessLarder> {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let server = runtime.block_on(larder_test_support::TestServer::start());
        Ok(InProcessLarder { server: Some(server), runtime })
    }

    /// The RESP address.
    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("running").resp_addr()
    }

    /// The full-access token.
    pub fn token(&self) -> &'static str {
        larder_test_support::TOKEN
    }

    /// A connection, authenticated.
    pub fn connect(&self) -> io::Result<Conn> {
        Conn::connect("larder", &self.addr().to_string(), Some(self.token()))
    }
}

impl Drop for InProcessLarder {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

/// A `redis-server` this process started (`--spawn-redis`); killed on drop.
#[derive(Debug)]
pub struct SpawnedRedis {
    child: Child,
    addr: String,
}

impl SpawnedRedis {
    /// Starts `redis-server --port <free port> --bind 127.0.0.1 --save '' --appendonly no` and waits until
    /// it answers PING.
    pub fn start() -> io::Result<SpawnedRedis> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("redis-server")
            .env("LC_ALL", "C")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("spawn redis-server (is it installed?): {e}"))
            })?;
        let mut redis = SpawnedRedis { child, addr: format!("127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = Conn::connect("redis", &redis.addr, None)
                && c.call_str(&["PING"]).is_ok()
            {
                return Ok(redis);
            }
            if let Some(status) = redis.child.try_wait()? {
                return Err(io::Error::other(format!("redis-server exited at start: {status}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("redis-server did not answer PING within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }
}

impl Drop for SpawnedRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
