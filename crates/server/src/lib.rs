//! The `larder` server: configuration, the REST (Upstash) and RESP front ends, background work and
//! shutdown, around the embedded engine behind the [`backend::Backend`] seam.
//!
//! **Architecture Invariant:** this is the only crate that knows HTTP and JSON. Front ends turn requests into
//! `argv` and hand them to the backend; they never implement commands themselves.

pub mod backend;
pub mod config;
pub mod datadir;
pub mod queue_api;
pub mod queue_store;
pub mod resp;
pub mod rest;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::http::HeaderValue;
use larder_engine::aof::{AofConfig, AofLog, Durability};
use larder_engine::{Auth, ClientState, ConnectionCounters, Engine, ServerInfo, SystemClock};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use backend::Backend;
pub use config::{Args, Command, Config};

/// What every request handler shares.
pub struct App {
    pub backend: Backend,
    pub config: Config,
    pub auth: Auth,
    pub connections: Arc<ConnectionCounters>,
    next_client_id: AtomicU64,
    responses: AtomicU64,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl App {
    /// A new client session; `authenticated` for REST requests whose token was already checked.
    pub fn new_client(&self, addr: String, authenticated: bool) -> ClientState {
        ClientState::new(self.next_client_id.fetch_add(1, Ordering::Relaxed), addr, authenticated)
    }

    /// A fresh `upstash-sync-token`: the engine's change counter and a per-response sequence, so it differs
    /// after every write and between any two responses.
    pub fn sync_token(&self, dirty: Option<u64>) -> HeaderValue {
        let n = self.responses.fetch_add(1, Ordering::Relaxed);
        sync_token_value(dirty.unwrap_or(0), n)
    }
}

/// `{dirty:x}-{n:x}` as a header value, without the formatting machinery (it is on every REST response).
fn sync_token_value(dirty: u64, n: u64) -> HeaderValue {
    let mut buf = [0u8; 33];
    let mut len = 0;
    for (i, v) in [dirty, n].into_iter().enumerate() {
        if i > 0 {
            buf[len] = b'-';
            len += 1;
        }
        let digits = (64 - v.leading_zeros()).div_ceil(4).max(1) as usize;
        for d in (0..digits).rev() {
            buf[len] = b"0123456789abcdef"[((v >> (4 * d)) & 0xf) as usize];
            len += 1;
        }
    }
    HeaderValue::from_bytes(&buf[..len]).expect("hex digits are a valid header value")
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    pub http_addr: SocketAddr,
    pub resp_addr: Option<SocketAddr>,
    pub app: Arc<App>,
    /// The QStash-compatible queue under `/v2/`.
    pub queue: Arc<queue_api::QueueApi>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    /// The append-only file (`--appendonly yes`): flushed and fsynced by [`Running::wait`].
    aof: Option<Durability>,
    /// Held until the server has stopped (dropped with `Running`, after [`Running::wait`]'s flush).
    _data_dir_lock: datadir::DataDirLock,
}

impl Running {
    /// Starts a graceful shutdown: stop accepting, finish in-flight requests.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until every task has finished (after [`Running::shutdown`]), then writes and fsyncs what is
    /// left of the append-only file.
    pub async fn wait(self) {
        self.tracker.close();
        self.tracker.wait().await;
        if let Some(aof) = self.aof {
            match tokio::task::spawn_blocking(move || aof.shutdown()).await {
                Ok(Ok(())) => tracing::info!("the append-only file is on disk"),
                Ok(Err(e)) => tracing::error!("the append-only file could not be completed: {e}"),
                Err(e) => tracing::error!("closing the append-only file failed: {e}"),
            }
        }
    }

    /// The append-only file's handle, when it is on.
    pub fn aof(&self) -> Option<&Durability> {
        self.aof.as_ref()
    }

    /// Test hook: stops the AOF flusher at once, writing nothing more (as if the process were killed),
    /// and stops serving.
    #[doc(hidden)]
    pub fn simulate_crash(&self) {
        if let Some(aof) = &self.aof {
            aof.simulate_crash();
        }
        self.shutdown.cancel();
    }
}

/// Loads the append-only file in `<data-dir>/appendonly/` into `engine` and makes it the engine's
/// propagation sink. Runs off the async runtime: loading a large file takes a while (progress is logged).
async fn open_aof(config: &Config, engine: Engine) -> anyhow::Result<(Engine, Durability)> {
    let dir = config.data_dir.join("appendonly");
    let aof_config = AofConfig {
        fsync: config.aof.fsync,
        auto_rewrite_percentage: config.aof.auto_rewrite_percentage,
        auto_rewrite_min_size: config.aof.auto_rewrite_min_size,
        ..AofConfig::default()
    };
    tokio::task::spawn_blocking(move || -> anyhow::Result<(Engine, Durability)> {
        let mut engine = engine;
        let stats = larder_engine::aof::load(&dir, &mut engine)
            .context("refusing to start: the append-only file cannot be loaded")?;
        if let Some((file, offset, dropped)) = &stats.truncated {
            tracing::warn!(
                "the append-only file {} ended with a torn write: {dropped} bytes from offset {offset} were dropped",
                file.display()
            );
        }
        let log = AofLog::open(&dir, aof_config).context("open the append-only file")?;
        let durability = log.durability();
        engine.set_propagation(Box::new(log));
        tracing::info!(
            dir = %dir.display(),
            fsync = %durability.policy(),
            "append-only file ready"
        );
        Ok((engine, durability))
    })
    .await
    .context("load the append-only file")?
}

/// The memory settings, with warnings for a limit that cannot work or looks like a mistake.
fn app_memory(config: &Config) -> larder_engine::memory::MemoryConfig {
    let memory = config.memory;
    if memory.maxmemory > 0 && larder_engine::memory::allocated().is_none() {
        tracing::warn!(
            "--maxmemory is set but this build does not count its memory (no counting allocator): the limit is disabled"
        );
    } else if memory.maxmemory > 0 && memory.maxmemory < 1 << 20 {
        tracing::warn!(
            "--maxmemory is {} bytes, less than 1MB: are you sure this is what you want?",
            memory.maxmemory
        );
    }
    memory
}

/// Binds the listeners and starts serving. Returns once both ports accept connections.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    // Before anything in the data directory is read or written: one larder per directory.
    let data_dir_lock = datadir::lock(&config.data_dir)?;
    let connections = Arc::new(ConnectionCounters::default());
    let auth = Auth {
        token: config.token.as_bytes().to_vec(),
        readonly_token: Some(config.read_only_token.as_bytes().to_vec()),
    };
    let http = TcpListener::bind(config.http)
        .await
        .with_context(|| format!("bind HTTP address {}", config.http))?;
    let http_addr = http.local_addr()?;
    let resp = match config.resp {
        Some(a) => {
            Some(TcpListener::bind(a).await.with_context(|| format!("bind RESP address {a}"))?)
        }
        None => None,
    };
    let resp_addr = resp.as_ref().map(|l| l.local_addr()).transpose()?;
    let info = ServerInfo {
        larder_version: env!("CARGO_PKG_VERSION").into(),
        resp_port: resp_addr.map_or(0, |a| a.port()),
        auth: Some(auth.clone()),
        aof_enabled: config.aof.enabled,
        appendfsync: config.aof.fsync.as_str().into(),
        connections: connections.clone(),
        ..ServerInfo::default()
    };
    let engine = Engine::new(Arc::new(SystemClock), info);
    engine.script_control().set_busy_threshold(config.busy_reply_threshold_ms);
    // The AOF loads before anything is served (connections made meanwhile wait in the backlog).
    let (engine, aof) = match config.aof.enabled {
        true => open_aof(&config, engine).await.map(|(e, d)| (e, Some(d)))?,
        false => (engine, None),
    };
    let (mut engine, memory) = (engine, app_memory(&config));
    // Applied after the AOF loaded: like Redis, loading never evicts.
    engine.set_memory(memory);
    let shutdown = CancellationToken::new();
    let app = Arc::new(App {
        backend: Backend::embedded_with_aof(engine, shutdown.clone(), aof.clone()),
        config,
        auth,
        connections,
        next_client_id: AtomicU64::new(1),
        responses: AtomicU64::new(1),
    });
    let tracker = TaskTracker::new();

    let queue = queue_api::start(app.clone(), shutdown.clone(), tracker.clone()).await?;
    let router = queue_api::mount(rest::router(app.clone()), queue.clone());
    let token = shutdown.clone();
    tracker.spawn(async move {
        if let Err(e) =
            axum::serve(http, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(token.cancelled_owned())
                .await
        {
            tracing::error!("HTTP server stopped: {e}");
        }
    });
    if let Some(listener) = resp {
        tracker.spawn(resp::serve(app.clone(), listener, shutdown.clone(), tracker.clone()));
    }
    let (bg, token) = (app.clone(), shutdown.clone());
    tracker.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = tick.tick() => bg.backend.tick(),
                () = token.cancelled() => return,
            }
        }
    });
    if aof.is_some() {
        // AOF rewrites: steps of about a millisecond under the engine lock, with pauses between them, on a
        // blocking thread, so waiting for the lock (a long script holds it) never stalls a runtime thread.
        let (bg, token) = (app.clone(), shutdown.clone());
        tracker.spawn_blocking(move || {
            while !token.is_cancelled() {
                let more = bg.backend.rewrite_step();
                std::thread::sleep(Duration::from_millis(if more { 1 } else { 100 }));
            }
        });
    }
    Ok(Running {
        http_addr,
        resp_addr,
        app,
        queue,
        shutdown,
        tracker,
        aof,
        _data_dir_lock: data_dir_lock,
    })
}

/// The block of environment lines printed on start, for a user to paste into `.env.local`.
pub fn env_block(running: &Running) -> String {
    let c = &running.app.config;
    let mut s = String::new();
    s.push_str("# larder is ready. Paste these lines into your app's .env.local:\n");
    s.push_str(&format!("UPSTASH_REDIS_REST_URL=http://{}\n", running.http_addr));
    s.push_str(&format!("UPSTASH_REDIS_REST_TOKEN={}\n", c.token));
    s.push_str(&format!("# read-only token (reads only; writes are refused):\n# UPSTASH_REDIS_REST_READONLY_TOKEN={}\n", c.read_only_token));
    let (current, next) = running.queue.queue.signing_keys();
    s.push_str(&format!("QSTASH_URL=http://{}\n", running.http_addr));
    s.push_str(&format!("QSTASH_TOKEN={}\n", c.qstash.token));
    s.push_str(&format!("QSTASH_CURRENT_SIGNING_KEY={current}\n"));
    s.push_str(&format!("QSTASH_NEXT_SIGNING_KEY={next}\n"));
    if let Some(a) = running.resp_addr {
        s.push_str(&format!("REDIS_URL=redis://default:{}@{}\n", c.token, a));
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn sync_token_value() {
        for (d, n) in [(0, 0), (1, 15), (0xabc, 0x10), (u64::MAX, u64::MAX), (1 << 63, 7)] {
            assert_eq!(super::sync_token_value(d, n), format!("{d:x}-{n:x}").as_str());
        }
    }
}
