//! `TestServer`: the real larder server, started in-process on `127.0.0.1:0` with a temporary data
//! directory and known tokens, for integration tests of the server and the SDKs.
//!
//! It calls the same `larder_server::start` that the binary calls. Dropping it shuts the server down.

pub mod audit;

use std::net::SocketAddr;
use std::path::PathBuf;

use larder_server::config::QstashConfig;
use larder_server::{Config, Running, start};

/// The full-access token every `TestServer` uses.
pub const TOKEN: &str = "test-token-full-access";
/// The read-only token every `TestServer` uses.
pub const READ_ONLY_TOKEN: &str = "test-token-read-only";
/// The QStash token every `TestServer` uses.
pub const QSTASH_TOKEN: &str = "test-qstash-token";
/// The current QStash signing key every `TestServer` starts with.
pub const QSTASH_CURRENT_SIGNING_KEY: &str = "sig_testcurrentkey0000000000000";
/// The next QStash signing key every `TestServer` starts with.
pub const QSTASH_NEXT_SIGNING_KEY: &str = "sig_testnextkey00000000000000000";

/// The configuration every `TestServer` starts from: loopback addresses on free ports, the known tokens,
/// `data_dir` for its files.
pub fn test_config(data_dir: PathBuf) -> Config {
    Config {
        http: "127.0.0.1:0".parse().expect("valid address"),
        resp: Some("127.0.0.1:0".parse().expect("valid address")),
        token: TOKEN.into(),
        read_only_token: READ_ONLY_TOKEN.into(),
        data_dir,
        max_request_size: 10 * 1024 * 1024,
        busy_reply_threshold_ms: 5000,
        aof: Default::default(),
        memory: Default::default(),
        log: "warn".into(),
        quiet: true,
        generated_tokens: false,
        qstash: QstashConfig::fixed(
            QSTASH_TOKEN,
            QSTASH_CURRENT_SIGNING_KEY,
            QSTASH_NEXT_SIGNING_KEY,
        ),
    }
}

/// A running larder with a temporary data directory.
#[derive(Debug)]
pub struct TestServer {
    running: Option<Running>,
    dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with the default test configuration.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusted the configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("create a temporary data directory");
        let mut config = test_config(dir.path().to_path_buf());
        tweak(&mut config);
        let running = start(config).await.expect("start the test server");
        TestServer { running: Some(running), dir }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().expect("the server is running")
    }

    /// `http://127.0.0.1:PORT`, the REST base URL.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.running().http_addr)
    }

    /// The RESP address.
    pub fn resp_addr(&self) -> SocketAddr {
        self.running().resp_addr.expect("RESP is enabled")
    }

    /// `redis://default:TOKEN@127.0.0.1:PORT`, for Redis clients.
    pub fn redis_url(&self) -> String {
        format!("redis://default:{TOKEN}@{}", self.resp_addr())
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Stops the server as a crash would for its append-only file: nothing more is written, not even
    /// what was buffered (the files stay as they are at this instant). Then the tasks stop.
    pub async fn crash(mut self) {
        if let Some(r) = self.running.take() {
            r.simulate_crash();
            r.wait().await;
        }
    }

    /// Shuts the server down and waits for every task to finish.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
            r.wait().await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(r) = &self.running {
            r.shutdown();
        }
    }
}
