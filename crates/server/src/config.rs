//! Configuration: flags, their `LARDER_*` environment twins and an optional TOML file with the same keys
//! (flags and environment win over the file). Tokens not given are generated once and kept in the data
//! directory, so restarts keep working clients working.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Parser;
use rand::RngCore as _;
use serde::Deserialize;

/// larder: a self-hosted, Upstash-compatible Redis over HTTP and RESP, in one binary.
///
/// Start it, paste the printed environment block into your app's `.env`, and the official
/// `@upstash/redis` / `upstash-redis` clients, `redis-cli` and every Redis client work against it.
/// Every flag also reads an environment variable (`LARDER_` + the flag in upper snake case) and a key of
/// the same name in the `--config` TOML file; flags win over the environment, which wins over the file.
#[derive(Debug, Clone, Parser, Default)]
#[command(name = "larder", version, about, long_about, max_term_width = 100)]
pub struct Args {
    /// Address of the HTTP server: Upstash's Redis REST API at `/`, `/pipeline`, `/multi-exec`, path-style
    /// commands, and `/healthz`. [default: 127.0.0.1:8079]
    #[arg(long, env = "LARDER_HTTP", value_name = "ADDR")]
    pub http: Option<String>,

    /// Address of the RESP (Redis protocol) server for redis-cli and Redis clients, or `off`.
    /// [default: 127.0.0.1:6379]
    #[arg(long, env = "LARDER_RESP", value_name = "ADDR|off")]
    pub resp: Option<String>,

    /// The full-access token: REST `Authorization: Bearer <token>` (or `?_token=`) and RESP `AUTH <token>`.
    /// Generated and kept in the data directory when not given. Required for non-loopback addresses.
    #[arg(long, env = "LARDER_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// A read-only token: reads pass, writes and dangerous commands are refused with NOPERM.
    /// Generated and kept in the data directory when not given.
    #[arg(long, env = "LARDER_READ_ONLY_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub read_only_token: Option<String>,

    /// Directory for larder's files (generated tokens, the append-only file); one larder at a time uses it
    /// (`larder.lock`). [default: ./larder-data]
    #[arg(long, env = "LARDER_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Largest accepted HTTP request body in bytes; larger requests get 413. [default: 10485760]
    #[arg(long, env = "LARDER_MAX_REQUEST_SIZE", value_name = "BYTES")]
    pub max_request_size: Option<usize>,

    /// How long a Lua script or function may run before other clients get a BUSY error and SCRIPT KILL
    /// can stop it (Redis's busy-reply-threshold), in milliseconds. [default: 5000]
    #[arg(long, env = "LARDER_BUSY_REPLY_THRESHOLD", value_name = "MS")]
    pub busy_reply_threshold: Option<u64>,

    /// Keep an append-only file in `<data-dir>/appendonly/` (Redis 7's multi-part AOF), loaded on start.
    /// [default: yes]
    #[arg(long, env = "LARDER_APPENDONLY", value_name = "yes|no")]
    pub appendonly: Option<String>,

    /// When the append-only file is fsynced: `always` (a write is acknowledged once it is on disk),
    /// `everysec` (at most about a second of writes lost in a crash), `no` (the OS decides).
    /// [default: everysec]
    #[arg(long, env = "LARDER_APPENDFSYNC", value_name = "always|everysec|no")]
    pub appendfsync: Option<String>,

    /// Rewrite (compact) the append-only file when it grew by this percentage since the last rewrite; 0
    /// turns automatic rewrites off. [default: 100]
    #[arg(long, env = "LARDER_AUTO_AOF_REWRITE_PERCENTAGE", value_name = "PERCENT")]
    pub auto_aof_rewrite_percentage: Option<u64>,

    /// ... and is at least this many bytes. [default: 67108864]
    #[arg(long, env = "LARDER_AUTO_AOF_REWRITE_MIN_SIZE", value_name = "BYTES")]
    pub auto_aof_rewrite_min_size: Option<u64>,

    /// Memory limit: when the heap larder has allocated (INFO's `used_memory`, what the allocator counts:
    /// keys, values, indexes, scripts, buffers) exceeds it, keys are evicted by `--maxmemory-policy`, or
    /// with `noeviction` commands that may grow memory get Redis's OOM error (reads, DEL, EXPIRE keep
    /// working). Bytes or Redis's units: `100mb`, `2gb`, `512kb` (`k`/`m`/`g` are powers of 1000,
    /// `kb`/`mb`/`gb` of 1024, case-insensitive). 0 = no limit. [default: 0]
    #[arg(long, env = "LARDER_MAXMEMORY", value_name = "BYTES")]
    pub maxmemory: Option<String>,

    /// What happens over `--maxmemory`: `noeviction` (refuse writes that may grow memory with OOM),
    /// `allkeys-lru` / `allkeys-lfu` / `allkeys-random` (evict the least recently used, the least
    /// frequently used, or random keys), `volatile-lru` / `volatile-lfu` / `volatile-random` /
    /// `volatile-ttl` (the same among keys with an expiry time; `volatile-ttl` evicts the soonest to
    /// expire). [default: noeviction]
    #[arg(long, env = "LARDER_MAXMEMORY_POLICY", value_name = "POLICY")]
    pub maxmemory_policy: Option<String>,

    /// Keys sampled per eviction round (Redis's maxmemory-samples): more is closer to true LRU/LFU and
    /// costs more CPU per eviction. [default: 5]
    #[arg(long, env = "LARDER_MAXMEMORY_SAMPLES", value_name = "N")]
    pub maxmemory_samples: Option<usize>,

    /// The QStash token: `Authorization: Bearer <token>` (or `?qstash_token=`) for the queue API under
    /// `/v2/`. Generated and kept in the data directory when not given.
    #[arg(long, env = "LARDER_QSTASH_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub qstash_token: Option<String>,

    /// The current signing key for `Upstash-Signature` on deliveries. Generated and kept in the data
    /// directory when not given (then `POST /v2/keys/rotate` can replace it).
    #[arg(
        long,
        env = "LARDER_QSTASH_CURRENT_SIGNING_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub qstash_current_signing_key: Option<String>,

    /// The next signing key (receivers accept both). Generated like the current one.
    #[arg(
        long,
        env = "LARDER_QSTASH_NEXT_SIGNING_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub qstash_next_signing_key: Option<String>,

    /// Answer like the official QStash development server: the queue API takes its public dev token and
    /// signs with its public dev keys, so `QSTASH_DEV=true` apps (which probe `127.0.0.1:8080`) use larder
    /// unchanged. Use with `--http 127.0.0.1:8080`; refused on non-loopback addresses.
    #[arg(long, env = "LARDER_QSTASH_DEV")]
    pub qstash_dev: bool,

    /// How long a QStash deduplication id (or content hash) is remembered, in seconds. [default: 600]
    #[arg(long, env = "LARDER_QSTASH_DEDUP_WINDOW", value_name = "SECONDS")]
    pub qstash_dedup_window: Option<u64>,

    /// A TOML file with any of the keys above (`http`, `resp`, `token`, `read_only_token`, `data_dir`,
    /// `max_request_size`, `busy_reply_threshold`, `appendonly`, `appendfsync`,
    /// `auto_aof_rewrite_percentage`, `auto_aof_rewrite_min_size`, `maxmemory`, `maxmemory_policy`,
    /// `maxmemory_samples`, `log`, `qstash_token`,
    /// `qstash_current_signing_key`, `qstash_next_signing_key`, `qstash_dev`, `qstash_dedup_window`).
    #[arg(long, env = "LARDER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log filter, e.g. `info`, `debug`, `larder_server=debug`. [default: info]
    #[arg(long, env = "LARDER_LOG", value_name = "FILTER")]
    pub log: Option<String>,

    /// Do not print the `.env` block on start.
    #[arg(long, env = "LARDER_QUIET")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands (without one, larder serves).
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Checks an append-only file for damage, like redis-check-aof: one base or incr file, or every file of
    /// a manifest (give the `appendonly` directory or its manifest). With `--fix`, damage confined to the
    /// end of a file (a torn write) is truncated to the last good record; damage in the middle is reported
    /// and never "fixed". Exits 0 when the files are sound (or were fixed), 1 otherwise.
    CheckAof {
        /// Truncate a damaged tail to the last good record.
        #[arg(long)]
        fix: bool,
        /// The file, the manifest, or the `appendonly` directory.
        path: PathBuf,
    },
}

/// The keys a `--config` file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    http: Option<String>,
    resp: Option<String>,
    token: Option<String>,
    read_only_token: Option<String>,
    data_dir: Option<PathBuf>,
    max_request_size: Option<usize>,
    busy_reply_threshold: Option<u64>,
    appendonly: Option<YesNo>,
    appendfsync: Option<String>,
    auto_aof_rewrite_percentage: Option<u64>,
    auto_aof_rewrite_min_size: Option<u64>,
    maxmemory: Option<ByteSize>,
    maxmemory_policy: Option<String>,
    maxmemory_samples: Option<usize>,
    log: Option<String>,
    qstash_token: Option<String>,
    qstash_current_signing_key: Option<String>,
    qstash_next_signing_key: Option<String>,
    qstash_dev: Option<bool>,
    qstash_dedup_window: Option<u64>,
}

/// `maxmemory = 104857600` or `maxmemory = "100mb"` in the TOML file.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ByteSize {
    Number(u64),
    Text(String),
}

/// Parses `--maxmemory` like Redis's config (bytes, `k`/`kb`/`m`/`mb`/`g`/`gb`).
fn parse_maxmemory(v: &str) -> anyhow::Result<u64> {
    larder_engine::memory::parse_bytes(v.trim()).with_context(|| {
        format!("invalid --maxmemory {v:?}: expected bytes or a size like 100mb, 2gb, 512kb")
    })
}

/// `appendonly = true` or `appendonly = "yes"` in the TOML file.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum YesNo {
    Bool(bool),
    Word(String),
}

/// `yes`/`no` (also `true`/`false`) as a flag value.
fn yes_no(name: &str, v: &str) -> anyhow::Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => bail!("invalid {name} {v:?}: expected yes or no"),
    }
}

/// The append-only file's settings.
#[derive(Debug, Clone)]
pub struct AofSettings {
    /// Whether the AOF is on (in `<data-dir>/appendonly/`).
    pub enabled: bool,
    pub fsync: larder_engine::aof::FsyncPolicy,
    pub auto_rewrite_percentage: u64,
    pub auto_rewrite_min_size: u64,
}

impl Default for AofSettings {
    fn default() -> AofSettings {
        AofSettings {
            enabled: true,
            fsync: larder_engine::aof::FsyncPolicy::EverySec,
            auto_rewrite_percentage: 100,
            auto_rewrite_min_size: 64 * 1024 * 1024,
        }
    }
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub http: SocketAddr,
    pub resp: Option<SocketAddr>,
    pub token: String,
    pub read_only_token: String,
    pub data_dir: PathBuf,
    pub max_request_size: usize,
    pub busy_reply_threshold_ms: u64,
    /// The append-only file (`--appendonly`, `--appendfsync`, automatic rewrites).
    pub aof: AofSettings,
    pub log: String,
    pub quiet: bool,
    /// Whether the tokens were generated (and kept in the data dir) rather than given.
    pub generated_tokens: bool,
    /// The queue API's token and signing keys.
    pub qstash: QstashConfig,
    /// `--maxmemory`, `--maxmemory-policy`, `--maxmemory-samples`.
    pub memory: larder_engine::memory::MemoryConfig,
}

/// The QStash-compatible queue's secrets.
#[derive(Debug, Clone)]
pub struct QstashConfig {
    pub token: String,
    pub current_signing_key: String,
    pub next_signing_key: String,
    /// The signing keys were given (flags, environment, file): they replace the stored ones at start.
    /// Generated keys yield to the stored ones, which `POST /v2/keys/rotate` may have changed.
    pub explicit_keys: bool,
    /// How long deduplication ids are remembered (ms).
    pub dedup_window_ms: u64,
}

impl QstashConfig {
    /// Fixed secrets, for tests.
    pub fn fixed(token: &str, current: &str, next: &str) -> QstashConfig {
        QstashConfig {
            token: token.into(),
            current_signing_key: current.into(),
            next_signing_key: next.into(),
            explicit_keys: true,
            dedup_window_ms: 600_000,
        }
    }

    /// The official development server's public credentials (its default user), which the JS SDK's
    /// dev mode probes for with `GET /v2/keys`.
    pub fn dev() -> QstashConfig {
        QstashConfig::fixed(
            "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=",
            "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r",
            "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs",
        )
    }

    fn resolve(
        token: Option<String>,
        current: Option<String>,
        next: Option<String>,
        data_dir: &Path,
    ) -> anyhow::Result<QstashConfig> {
        for (name, t) in [
            ("--qstash-token", &token),
            ("--qstash-current-signing-key", &current),
            ("--qstash-next-signing-key", &next),
        ] {
            if let Some(t) = t
                && (t.len() < 8 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
            {
                bail!("{name} must be at least 8 characters with no spaces or control characters");
            }
        }
        if current.is_some() != next.is_some() {
            bail!(
                "give both --qstash-current-signing-key and --qstash-next-signing-key, or neither"
            );
        }
        let explicit_keys = current.is_some();
        let (token, current, next) = match (token, current, next) {
            (Some(t), Some(c), Some(n)) => (t, c, n),
            (t, c, n) => {
                let stored = StoredQstash::load_or_create(data_dir)?;
                (
                    t.unwrap_or(stored.qstash_token),
                    c.unwrap_or(stored.current_signing_key),
                    n.unwrap_or(stored.next_signing_key),
                )
            }
        };
        Ok(QstashConfig {
            token,
            current_signing_key: current,
            next_signing_key: next,
            explicit_keys,
            dedup_window_ms: 600_000,
        })
    }
}

/// Queue secrets generated on first start, kept in `<data dir>/qstash.toml` (mode 0600).
#[derive(Debug, serde::Serialize, Deserialize)]
struct StoredQstash {
    qstash_token: String,
    current_signing_key: String,
    next_signing_key: String,
}

impl StoredQstash {
    fn load_or_create(dir: &Path) -> anyhow::Result<StoredQstash> {
        let path = dir.join("qstash.toml");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("read {}", path.display()))?;
            return toml::from_str(&text).with_context(|| format!("parse {}", path.display()));
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("create data directory {}", dir.display()))?;
        let s = StoredQstash {
            qstash_token: generate_token(),
            current_signing_key: generate_signing_key(),
            next_signing_key: generate_signing_key(),
        };
        let text = format!(
            "# QStash secrets generated by larder on first start. Delete this file to generate new ones.\nqstash_token = {:?}\ncurrent_signing_key = {:?}\nnext_signing_key = {:?}\n",
            s.qstash_token, s.current_signing_key, s.next_signing_key
        );
        write_private(&path, text.as_bytes())
            .with_context(|| format!("write {}", path.display()))?;
        Ok(s)
    }
}

/// A signing key like QStash's: `sig_` and 28 base58 characters.
pub fn generate_signing_key() -> String {
    const B58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut b = [0u8; 28];
    rand::rng().fill_bytes(&mut b);
    let tail: String = b.iter().map(|x| B58[*x as usize % B58.len()] as char).collect();
    format!("sig_{tail}")
}

impl Config {
    /// Resolves flags, environment and file into a configuration, generating tokens when needed.
    pub fn resolve(args: Args) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("read config file {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("parse config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let http = args.http.or(file.http).unwrap_or_else(|| "127.0.0.1:8079".into());
        let http: SocketAddr =
            http.parse().with_context(|| format!("parse --http address {http:?}"))?;
        let resp = args.resp.or(file.resp).unwrap_or_else(|| "127.0.0.1:6379".into());
        let resp = if resp.eq_ignore_ascii_case("off") {
            None
        } else {
            Some(
                resp.parse::<SocketAddr>()
                    .with_context(|| format!("parse --resp address {resp:?}"))?,
            )
        };
        let data_dir =
            args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("larder-data"));
        let token = args.token.or(file.token);
        let read_only_token = args.read_only_token.or(file.read_only_token);
        let explicit = token.is_some();
        let public: Vec<SocketAddr> =
            std::iter::once(http).chain(resp).filter(|a| !a.ip().is_loopback()).collect();
        if !explicit && !public.is_empty() {
            bail!(
                "refusing to listen on {} without an explicit token: pass --token (or LARDER_TOKEN) when binding a non-loopback address",
                public.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" and ")
            );
        }
        for (name, t) in [("--token", &token), ("--read-only-token", &read_only_token)] {
            if let Some(t) = t
                && (t.len() < 8 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
            {
                bail!("{name} must be at least 8 characters with no spaces or control characters");
            }
        }
        if token.is_some() && token == read_only_token {
            bail!("--read-only-token must differ from --token");
        }
        let (token, read_only_token, generated) = match (token, read_only_token) {
            (Some(t), Some(r)) => (t, r, false),
            (t, r) => {
                let stored = StoredTokens::load_or_create(&data_dir)?;
                let generated = t.is_none();
                (t.unwrap_or(stored.token), r.unwrap_or(stored.read_only_token), generated)
            }
        };
        let d = AofSettings::default();
        let aof = AofSettings {
            enabled: match (args.appendonly, file.appendonly) {
                (Some(v), _) | (None, Some(YesNo::Word(v))) => yes_no("--appendonly", &v)?,
                (None, Some(YesNo::Bool(b))) => b,
                (None, None) => d.enabled,
            },
            fsync: match args.appendfsync.or(file.appendfsync) {
                Some(v) => v.parse().map_err(|e: String| anyhow::anyhow!("--appendfsync: {e}"))?,
                None => d.fsync,
            },
            auto_rewrite_percentage: args
                .auto_aof_rewrite_percentage
                .or(file.auto_aof_rewrite_percentage)
                .unwrap_or(d.auto_rewrite_percentage),
            auto_rewrite_min_size: args
                .auto_aof_rewrite_min_size
                .or(file.auto_aof_rewrite_min_size)
                .unwrap_or(d.auto_rewrite_min_size),
        };
        let mut memory = larder_engine::memory::MemoryConfig::default();
        match (args.maxmemory, file.maxmemory) {
            (Some(v), _) | (None, Some(ByteSize::Text(v))) => {
                memory.maxmemory = parse_maxmemory(&v)?
            }
            (None, Some(ByteSize::Number(n))) => memory.maxmemory = n,
            (None, None) => {}
        }
        if let Some(p) = args.maxmemory_policy.or(file.maxmemory_policy) {
            memory.policy =
                p.parse().map_err(|e: String| anyhow::anyhow!("--maxmemory-policy: {e}"))?;
        }
        if let Some(n) = args.maxmemory_samples.or(file.maxmemory_samples) {
            if n == 0 || n > i32::MAX as usize {
                bail!("--maxmemory-samples must be between 1 and 2147483647");
            }
            memory.samples = n;
        }
        let dedup_window = args.qstash_dedup_window.or(file.qstash_dedup_window).unwrap_or(600);
        if dedup_window == 0 {
            bail!("--qstash-dedup-window must be at least 1 second");
        }
        let mut qstash = if args.qstash_dev || file.qstash_dev.unwrap_or(false) {
            if !public.is_empty() {
                bail!(
                    "--qstash-dev uses public, well-known credentials: it is refused on non-loopback addresses"
                );
            }
            QstashConfig::dev()
        } else {
            QstashConfig::resolve(
                args.qstash_token.or(file.qstash_token),
                args.qstash_current_signing_key.or(file.qstash_current_signing_key),
                args.qstash_next_signing_key.or(file.qstash_next_signing_key),
                &data_dir,
            )?
        };
        qstash.dedup_window_ms = dedup_window.saturating_mul(1000);
        Ok(Config {
            aof,
            qstash,
            memory,
            http,
            resp,
            token,
            read_only_token,
            data_dir,
            busy_reply_threshold_ms: args
                .busy_reply_threshold
                .or(file.busy_reply_threshold)
                .unwrap_or(5000),
            max_request_size: args
                .max_request_size
                .or(file.max_request_size)
                .unwrap_or(10 * 1024 * 1024),
            log: args.log.or(file.log).unwrap_or_else(|| "info".into()),
            quiet: args.quiet,
            generated_tokens: generated,
        })
    }
}

/// Tokens generated on first start, kept in `<data dir>/tokens.toml` (mode 0600).
#[derive(Debug, serde::Serialize, Deserialize)]
struct StoredTokens {
    token: String,
    read_only_token: String,
}

impl StoredTokens {
    fn load_or_create(dir: &Path) -> anyhow::Result<StoredTokens> {
        let path = dir.join("tokens.toml");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("read {}", path.display()))?;
            return toml::from_str(&text).with_context(|| format!("parse {}", path.display()));
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("create data directory {}", dir.display()))?;
        let tokens = StoredTokens { token: generate_token(), read_only_token: generate_token() };
        let text = format!(
            "# Tokens generated by larder on first start. Delete this file to generate new ones.\ntoken = {:?}\nread_only_token = {:?}\n",
            tokens.token, tokens.read_only_token
        );
        write_private(&path, text.as_bytes())
            .with_context(|| format!("write {}", path.display()))?;
        Ok(tokens)
    }
}

/// A random token: 32 bytes from the OS, base64url without padding.
pub fn generate_token() -> String {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
