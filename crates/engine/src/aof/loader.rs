//! Loading at start ([`load`]) and the `larder check-aof [--fix]` tool ([`check`], [`check_dir`]).
//!
//! Loading replays the base and the incr files of the manifest through [`Engine::execute`] with an
//! internal client (authenticated, not read-only), on a clock that reads 0: nothing expires while
//! loading (as in Redis; the `DEL`s that expiry propagated are in the files), and absolute expiry times in
//! the past are set, not turned into deletions.
//!
//! Damage: the last incr file may end with a torn record (power loss mid-write): an incomplete record,
//! possibly followed by zero bytes, or a `MULTI` without its `EXEC`. It is truncated away with a warning
//! (nothing in it was acknowledged: a transaction's bytes are appended whole and acknowledged after its
//! `EXEC`). Anything else refuses to load, naming the file, the offset and the repair command.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use larder_resp::Reply;

use super::AofLoadError;
use super::manifest::{self, Manifest};
use super::record::{Parsed, is_torn_tail, parse, record_follows};
use crate::clock::ManualClock;
use crate::engine::Engine;
use crate::keyspace::Keyspace;
use crate::value::Value;

/// What loading did.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    pub files: usize,
    pub records: u64,
    pub bytes: u64,
    /// Records whose command answered an error (replay diverged somewhere; logged).
    pub command_errors: u64,
    /// A torn tail cut from the last incr file: the file, the offset it was cut at, the bytes dropped.
    pub truncated: Option<(PathBuf, u64, u64)>,
    pub elapsed: Duration,
}

/// How far a torn-tail check reads: a larger damaged remainder is not a torn tail.
const MAX_TAIL: u64 = 64 * 1024 * 1024;
const CHUNK: usize = 4 * 1024 * 1024;

/// Reads a file record by record in chunks.
struct Reader {
    file: File,
    buf: Vec<u8>,
    start: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

/// The next thing in a file.
enum Next<'a> {
    /// A whole record's bytes and its offset.
    Record(&'a [u8], u64),
    /// Clean end of file.
    End,
    /// The file ends inside a record that starts at this offset.
    Incomplete(u64),
    /// A bad record starting at `offset`; the bad byte is at `at`.
    Bad { offset: u64, at: u64, reason: String },
}

impl Reader {
    fn open(path: &Path) -> Result<Reader, AofLoadError> {
        let file = File::open(path).map_err(|e| AofLoadError::io("open", path, e))?;
        Ok(Reader { file, buf: Vec::new(), start: 0, base: 0, eof: false })
    }

    fn next(&mut self) -> std::io::Result<Next<'_>> {
        loop {
            let outcome = match parse(&self.buf[self.start..]) {
                Parsed::Record { len, .. } => Ok(len),
                Parsed::Incomplete => Err(None),
                Parsed::Invalid { at, reason } => Err(Some((at, reason))),
            };
            let offset = self.base + self.start as u64;
            match outcome {
                Ok(len) => {
                    let rec = &self.buf[self.start..self.start + len];
                    self.start += len;
                    return Ok(Next::Record(rec, offset));
                }
                Err(Some((at, reason))) => {
                    return Ok(Next::Bad { offset, at: offset + at as u64, reason });
                }
                Err(None) if self.eof => {
                    return Ok(if self.start == self.buf.len() {
                        Next::End
                    } else {
                        Next::Incomplete(offset)
                    });
                }
                Err(None) => self.fill()?,
            }
        }
    }

    /// Drops consumed bytes and reads another chunk.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.base += self.start as u64;
            self.start = 0;
        }
        let want = CHUNK.max(self.buf.len());
        let n = loop {
            match (&mut self.file).take(want as u64).read_to_end(&mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n < want {
            self.eof = true;
        }
        Ok(())
    }

    /// Everything from the current position to the end of the file, if at most `max` bytes.
    fn rest(&mut self, max: u64) -> std::io::Result<Option<Vec<u8>>> {
        let pos = self.base + self.start as u64;
        let size = self.file.metadata()?.len();
        if size.saturating_sub(pos) > max {
            return Ok(None);
        }
        while !self.eof {
            self.fill()?;
        }
        Ok(Some(self.buf[self.start..].to_vec()))
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }
}

/// Logs loading progress about once a second.
struct Progress {
    last: Instant,
    records_at_last: u64,
    bytes_at_last: u64,
}

impl Progress {
    fn tick(&mut self, stats: &LoadStats, file: &str) {
        if !stats.records.is_multiple_of(1024) {
            return;
        }
        let now = Instant::now();
        let dt = now.duration_since(self.last);
        if dt < Duration::from_secs(1) {
            return;
        }
        let secs = dt.as_secs_f64();
        tracing::info!(
            file,
            records = stats.records,
            "loading the AOF: {} records, {:.1} MB, {:.0} records/s, {:.1} MB/s",
            stats.records,
            stats.bytes as f64 / 1e6,
            (stats.records - self.records_at_last) as f64 / secs,
            (stats.bytes - self.bytes_at_last) as f64 / 1e6 / secs,
        );
        self.last = now;
        self.records_at_last = stats.records;
        self.bytes_at_last = stats.bytes;
    }
}

/// Replays the AOF in `dir` into `engine` (which should be empty and have no propagation sink yet).
/// A directory without a manifest loads nothing. See the module docs for damage handling.
pub fn load(dir: &Path, engine: &mut Engine) -> Result<LoadStats, AofLoadError> {
    let Some(manifest) = Manifest::load(dir)? else {
        return Ok(LoadStats::default());
    };
    let saved = engine.replace_clock(Arc::new(ManualClock::new(0)));
    let result = replay(dir, &manifest, engine);
    engine.replace_clock(saved);
    result
}

fn replay(dir: &Path, manifest: &Manifest, engine: &mut Engine) -> Result<LoadStats, AofLoadError> {
    let started = Instant::now();
    let mut stats = LoadStats::default();
    let mut client = engine.new_client("aof-loader".into());
    client.authenticated = true;
    client.readonly = false;
    let mut progress = Progress { last: started, records_at_last: 0, bytes_at_last: 0 };
    let files: Vec<_> = manifest.files().collect();
    let n_incr = manifest.incrs.len();
    for (i, f) in files.iter().enumerate() {
        let tearable = n_incr > 0 && i == files.len() - 1;
        let path = manifest::path_of(dir, f);
        replay_file(&path, &f.name, engine, &mut client, tearable, &mut stats, &mut progress)?;
        stats.files += 1;
    }
    engine.disconnect(&mut client);
    stats.elapsed = started.elapsed();
    let secs = stats.elapsed.as_secs_f64().max(1e-9);
    tracing::info!(
        "AOF loaded: {} files, {} records, {:.1} MB in {:.2} s ({:.0} records/s), {} keys",
        stats.files,
        stats.records,
        stats.bytes as f64 / 1e6,
        secs,
        stats.records as f64 / secs,
        engine.dbsize(),
    );
    Ok(stats)
}

fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> AofLoadError {
    AofLoadError::Corrupt { file: path.to_path_buf(), offset, reason: reason.into() }
}

#[allow(clippy::too_many_arguments)]
fn replay_file(
    path: &Path,
    name: &str,
    engine: &mut Engine,
    client: &mut crate::client::ClientState,
    tearable: bool,
    stats: &mut LoadStats,
    progress: &mut Progress,
) -> Result<(), AofLoadError> {
    let io = |e| AofLoadError::io("read", path, e);
    let mut r = Reader::open(path)?;
    let mut multi_start: Option<u64> = None;
    // Where a torn tail starts, and a description, once found.
    let cut: (u64, &str) = loop {
        match r.next().map_err(io)? {
            Next::Record(rec, offset) => {
                let Parsed::Record { args, len } = parse(rec) else {
                    unreachable!("a record the reader returned parses")
                };
                let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
                if crate::command::lookup(&argv[0]).is_none() {
                    return Err(corrupt(
                        path,
                        offset,
                        format!(
                            "unknown command '{}'",
                            String::from_utf8_lossy(&argv[0]).escape_debug()
                        ),
                    ));
                }
                if argv[0].eq_ignore_ascii_case(b"MULTI") {
                    multi_start = Some(offset);
                } else if argv[0].eq_ignore_ascii_case(b"EXEC") {
                    multi_start = None;
                }
                if let Reply::Error(e) = engine.execute(client, &argv) {
                    stats.command_errors += 1;
                    if stats.command_errors <= 10 {
                        tracing::warn!(
                            file = name,
                            offset,
                            "an AOF command answered an error while loading: {e}"
                        );
                    }
                }
                stats.records += 1;
                stats.bytes += len as u64;
                progress.tick(stats, name);
            }
            Next::End => match multi_start {
                None => return Ok(()),
                Some(m) => break (m, "a MULTI without EXEC"),
            },
            Next::Incomplete(offset) => {
                break (multi_start.unwrap_or(offset), "an incomplete record");
            }
            Next::Bad { offset, at, reason } => {
                let torn = tearable
                    && r.rest(MAX_TAIL).map_err(io)?.is_some_and(|rest| is_torn_tail(&rest));
                if !torn {
                    return Err(corrupt(path, offset, format!("{reason} (at byte {at})")));
                }
                break (multi_start.unwrap_or(offset), "an incomplete record followed by zeros");
            }
        }
    };
    let (offset, what) = cut;
    if !tearable {
        return Err(corrupt(path, offset, format!("unexpected end of file: {what}")));
    }
    if multi_start.is_some() {
        // The open transaction never ran: forget its queue.
        engine.disconnect(client);
    }
    let size = std::fs::metadata(path).map_err(io)?.len();
    tracing::warn!(
        "the AOF file {} ends with {what} at offset {offset} (a write torn by a crash): truncating {} bytes",
        path.display(),
        size - offset
    );
    let f =
        OpenOptions::new().write(true).open(path).map_err(|e| AofLoadError::io("open", path, e))?;
    f.set_len(offset)
        .and_then(|()| f.sync_all())
        .map_err(|e| AofLoadError::io("truncate", path, e))?;
    stats.truncated = Some((path.to_path_buf(), offset, size - offset));
    Ok(())
}

/// What `check-aof` found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub file: PathBuf,
    pub size: u64,
    pub records: u64,
    /// The end of the last good record (where `--fix` truncates).
    pub valid_len: u64,
    /// The first problem: its offset and description.
    pub problem: Option<(u64, String)>,
    /// Whether the damage is confined to the end of the file (so truncating loses no later record).
    pub tail_only: bool,
    /// Whether `--fix` truncated the file.
    pub fixed: bool,
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self.file.display();
        match &self.problem {
            None => write!(f, "{file}: OK, {} records, {} bytes", self.records, self.size),
            Some((offset, reason)) => {
                write!(
                    f,
                    "{file}: bad record at offset {offset}: {reason}; {} good records before it",
                    self.records
                )?;
                if self.fixed {
                    write!(
                        f,
                        "\n{file}: fixed: truncated from {} to {} bytes ({} bytes dropped)",
                        self.size,
                        self.valid_len,
                        self.size - self.valid_len
                    )
                } else if self.tail_only {
                    write!(
                        f,
                        "\n{file}: the damage is confined to the end of the file; `larder check-aof --fix {file}` truncates it to {} bytes",
                        self.valid_len
                    )
                } else {
                    write!(
                        f,
                        "\n{file}: well-formed records follow the damage, so it is not a torn tail and --fix will not truncate it: that would drop {} bytes of later records. Restore the file from a backup, or if losing everything after offset {} is acceptable, truncate it by hand (`truncate -s {} {file}`) after taking a copy",
                        self.size - self.valid_len,
                        self.valid_len,
                        self.valid_len
                    )
                }
            }
        }
    }
}

/// Checks one AOF file (any of a manifest's base or incr files); with `fix`, truncates damage that is
/// confined to the end of the file to the last good record (like `redis-check-aof --fix`). Damage in
/// the middle (well-formed records follow it) is reported and never "fixed".
pub fn check(path: &Path, fix: bool) -> Result<CheckReport, AofLoadError> {
    let io = |e| AofLoadError::io("read", path, e);
    let size = std::fs::metadata(path).map_err(io)?.len();
    let mut r = Reader::open(path)?;
    let mut records = 0u64;
    let mut multi: Option<u64> = None;
    let mut valid_len;
    let problem = loop {
        valid_len = r.offset();
        match r.next().map_err(io)? {
            Next::Record(rec, offset) => {
                let Parsed::Record { args, .. } = parse(rec) else { unreachable!() };
                if crate::command::lookup(args[0]).is_none() {
                    break Some((
                        offset,
                        format!(
                            "unknown command '{}'",
                            String::from_utf8_lossy(args[0]).escape_debug()
                        ),
                    ));
                }
                if args[0].eq_ignore_ascii_case(b"MULTI") {
                    multi = Some(offset);
                } else if args[0].eq_ignore_ascii_case(b"EXEC") {
                    multi = None;
                }
                records += 1;
            }
            Next::End => {
                break multi
                    .map(|m| (m, "a MULTI without EXEC at the end of the file".to_string()));
            }
            Next::Incomplete(offset) => {
                break Some((offset, "the file ends inside a record (a torn write)".to_string()));
            }
            Next::Bad { offset, at, reason } => {
                break Some((offset, format!("{reason} (at byte {at})")));
            }
        }
    };
    let Some((offset, reason)) = problem else {
        return Ok(CheckReport {
            file: path.to_path_buf(),
            size,
            records,
            valid_len: size,
            problem: None,
            tail_only: true,
            fixed: false,
        });
    };
    let cut = multi.unwrap_or(valid_len).min(offset);
    // Damage is a tail when no well-formed record of a known command follows it.
    let rest = {
        let mut f = File::open(path).map_err(io)?;
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset)).map_err(io)?;
        let mut v = Vec::new();
        f.read_to_end(&mut v).map_err(io)?;
        v
    };
    let tail_only = record_follows(&rest, |name| crate::command::lookup(name).is_some()).is_none();
    let mut fixed = false;
    if fix && tail_only {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| AofLoadError::io("open", path, e))?;
        f.set_len(cut)
            .and_then(|()| f.sync_all())
            .map_err(|e| AofLoadError::io("truncate", path, e))?;
        fixed = true;
    }
    Ok(CheckReport {
        file: path.to_path_buf(),
        size,
        records,
        valid_len: cut,
        problem: Some((offset, reason)),
        tail_only,
        fixed,
    })
}

/// Checks every file of the manifest in `dir` (the `appendonly` directory, or the manifest itself). With
/// `fix`, only the last incr file may be truncated: earlier files are never torn by a crash.
pub fn check_dir(path: &Path, fix: bool) -> Result<Vec<CheckReport>, AofLoadError> {
    let dir = if path.is_dir() { path } else { path.parent().unwrap_or(Path::new(".")) };
    let Some(m) = Manifest::load(dir)? else {
        return Err(AofLoadError::Manifest {
            path: dir.join(manifest::MANIFEST),
            line: 0,
            reason: "not found".into(),
        });
    };
    let files: Vec<_> = m.files().collect();
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let last = !m.incrs.is_empty() && i == files.len() - 1;
        let report = check(&manifest::path_of(dir, f), fix && last)?;
        let bad = report.problem.is_some();
        out.push(report);
        if bad {
            break;
        }
    }
    Ok(out)
}

/// The live keyspace at `now` as sorted lines of text (for tests comparing two engines).
pub(crate) fn canonical_dump(db: &Keyspace, now: u64) -> Vec<String> {
    let esc = |b: &[u8]| b.escape_ascii().to_string();
    let mut lines = Vec::new();
    for (k, e) in db.iter() {
        if e.is_expired(now) {
            continue;
        }
        let ttl = e.expire_at().map_or(String::new(), |t| format!(" @{t}"));
        let body = match &e.value {
            Value::Str(v) => format!("string {}", esc(v)),
            Value::List(l) => {
                format!("list {}", l.iter().map(|e| esc(e)).collect::<Vec<_>>().join(" "))
            }
            Value::Set(s) => {
                let mut m: Vec<String> = s.iter().map(|m| esc(&m.to_bytes())).collect();
                m.sort();
                format!("set {}", m.join(" "))
            }
            Value::Hash(h) => {
                let mut f: Vec<String> = h
                    .iter()
                    .filter(|(f, _)| h.expire_at(f).is_none_or(|t| t > now))
                    .map(|(f, v)| {
                        let t = h.expire_at(f).map_or(String::new(), |t| format!("@{t}"));
                        format!("{}={}{t}", esc(f), esc(v))
                    })
                    .collect();
                f.sort();
                format!("hash {}", f.join(" "))
            }
            Value::ZSet(z) => {
                let m: Vec<String> =
                    z.iter().map(|(m, s)| format!("{}:{}", esc(m), s.to_bits())).collect();
                format!("zset {}", m.join(" "))
            }
            Value::Stream(s) => {
                let entries: Vec<String> = s
                    .range(crate::types::StreamId::MIN, crate::types::StreamId::MAX)
                    .map(|(id, f)| {
                        format!("{id}:{}", f.iter().map(|b| esc(b)).collect::<Vec<_>>().join(","))
                    })
                    .collect();
                let groups: Vec<String> = s
                    .groups
                    .iter()
                    .map(|(n, g)| {
                        let consumers: Vec<String> = g.consumers.keys().map(|c| esc(c)).collect();
                        format!(
                            "{}@{}/{:?} pel={:?} consumers={consumers:?}",
                            esc(n),
                            g.last_id,
                            g.entries_read,
                            g.pel
                        )
                    })
                    .collect();
                format!(
                    "stream {} last={} added={} maxdel={} groups={groups:?}",
                    entries.join(" "),
                    s.last_id,
                    s.entries_added,
                    s.max_deleted_id
                )
            }
        };
        lines.push(format!("{}{ttl} {body}", esc(k)));
    }
    lines.sort();
    lines
}
