//! [`AofLog`], the propagation sink, its flusher thread, the rewrite's writer thread, and [`Durability`], the
//! handle the server keeps.
//!
//! # Offsets
//! Every byte ever appended has a logical offset (bytes since the log was opened, across files).
//! `appended_offset()` is the end of what `propagate` buffered; the durable offset is the end of what
//! was written *and* fsynced. A front end reads the appended offset under the engine lock right after a
//! batch of commands, releases the lock, and waits for the durable offset to reach it.
//!
//! # Waiting
//! [`Durability::wait_durable`] blocks a thread on a `Condvar`. [`Durability::durable`] returns
//! [`WaitDurable`], a plain `std::future::Future` that registers its `Waker` with the flusher: an async
//! caller awaits it without blocking a runtime thread, and no particular runtime is needed. Registering a
//! waiter also asks the flusher for an fsync, so waiting works under every policy (under `always` the
//! flusher fsyncs after every write anyway).
//!
//! # Group commit
//! `propagate` only appends to a shared buffer and, if the flusher sleeps, wakes it. The flusher takes the
//! whole buffer, writes it, fsyncs once (under `always`), and wakes every waiter whose offset is now
//! durable; whatever arrived meanwhile goes in the next round. So concurrent writers share fsyncs.
//! Under `everysec` and `no`, after a write the flusher naps for [`GATHER`] while appends do not wake it
//! (requests, waiters and shutdown still do), so a busy server makes about one write per millisecond rather
//! than a wake-up and a write per command (Redis writes once per event-loop turn for the same reason).
//!
//! # Errors
//! A failed write or fsync (disk full) keeps the unwritten bytes in memory, and the bytes written since the
//! last successful fsync too: after a failed fsync the file is truncated back to its last synced length and
//! they are written again (the kernel may have dropped them). The error is recorded: the engine refuses
//! write commands with `MISCONF Errors writing to the AOF file: <reason>`, waiters whose data is not
//! durable get the error, and the flusher retries every `retry_interval`. The first retry whose writes and
//! fsync succeed clears the error.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use super::manifest::{self, AofFile, Manifest, base_name, incr_name, is_data_file};
use super::rewrite::{Chunk, Job};
use super::{AofConfig, AofError, AofLoadError, FsyncPolicy, encode_command};
use crate::engine::Propagate;

/// How long the flusher gathers appends after a write under `everysec` and `no` before writing again.
pub const GATHER: Duration = Duration::from_millis(1);

/// State shared by the sink, the flusher, the rewrite writer and every [`Durability`] handle.
struct Shared {
    dir: PathBuf,
    config: AofConfig,
    state: Mutex<State>,
    /// Wakes the flusher.
    flusher_cv: Condvar,
    /// Signals progress (durable offset, errors, the flusher's exit) to blocked waiters.
    progress_cv: Condvar,
    /// Whether writes are failing (read by the engine before every write command).
    failing: AtomicBool,
    appended: AtomicU64,
    /// Bytes in the files of the current manifest, and in its base (auto rewrite, INFO).
    current_size: AtomicU64,
    base_size: AtomicU64,
    next_base_seq: AtomicU64,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

#[derive(Default)]
struct State {
    /// Appended, not yet taken by the flusher.
    buf: Vec<u8>,
    appended: u64,
    durable: u64,
    /// The highest offset a waiter asked to be durable.
    sync_wanted: u64,
    error: Option<AofError>,
    wakers: Vec<Waker>,
    /// Requests for the flusher, in order with the bytes around them.
    ops: Vec<Op>,
    shutdown: bool,
    crashed: bool,
    flusher_parked: bool,
    /// The flusher naps after a write (see [`GATHER`]): appends leave it be, requests wake it.
    flusher_napping: bool,
    flusher_done: bool,
    rewrite: RewriteStats,
}

#[derive(Default)]
struct RewriteStats {
    in_progress: bool,
    started: Option<Instant>,
    last_failed: bool,
    last_failure: Option<Instant>,
    count: u64,
    last_secs: Option<u64>,
}

enum Op {
    Bytes(Vec<u8>),
    /// Seal the current incr file and continue in a new one listed in the manifest (a rewrite starts).
    Switch,
    /// The rewrite's base is on disk: switch the manifest to it and the current incr file, delete the rest.
    Finish {
        base: AofFile,
        size: u64,
    },
}

/// What `INFO persistence` reports about the AOF.
#[derive(Debug, Clone, Default)]
pub struct AofInfo {
    pub rewrite_in_progress: bool,
    pub rewrite_scheduled: bool,
    pub last_rewrite_time_sec: i64,
    pub current_rewrite_time_sec: i64,
    pub last_bgrewrite_ok: bool,
    pub rewrites: u64,
    pub last_write_ok: bool,
    pub current_size: u64,
    pub base_size: u64,
    pub buffer_length: u64,
    pub policy: FsyncPolicy,
}

/// The AOF as a [`Propagate`] sink: give it to [`Engine::set_propagation`](crate::Engine::set_propagation)
/// after [`load`](super::load). Keep a [`Durability`] (from [`AofLog::durability`]) to wait for writes and
/// to shut down. Dropping it (with the engine) asks the flusher to write, fsync and stop.
pub struct AofLog {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AofLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AofLog").field("dir", &self.shared.dir).finish_non_exhaustive()
    }
}

/// A handle on the AOF: offsets, waiting for durability, errors, shutdown. Cheap to clone.
#[derive(Clone)]
pub struct Durability {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Durability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durability").field("dir", &self.shared.dir).finish_non_exhaustive()
    }
}

/// The engine's name for its handle on the AOF.
pub type AofHandle = Durability;

impl AofLog {
    /// Opens the AOF in `dir` (created with an empty base and incr file if it has no manifest) for
    /// appending to its last incr file, deletes data files the manifest does not list (left by an
    /// interrupted rewrite), and starts the flusher thread. Load the files first ([`super::load`]).
    pub fn open(dir: &Path, config: AofConfig) -> Result<AofLog, AofLoadError> {
        std::fs::create_dir_all(dir).map_err(|e| AofLoadError::io("create directory", dir, e))?;
        let mut manifest = match Manifest::load(dir)? {
            Some(m) => m,
            None => {
                if let Some(name) = data_files(dir)?.into_iter().next() {
                    return Err(AofLoadError::Manifest {
                        path: dir.join(manifest::MANIFEST),
                        line: 0,
                        reason: format!("missing, but the directory holds {name}"),
                    });
                }
                let m =
                    Manifest { base: Some(AofFile { name: base_name(1), seq: 1 }), incrs: vec![] };
                let base = dir.join(base_name(1));
                File::create(&base)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| AofLoadError::io("create", &base, e))?;
                m
            }
        };
        if manifest.incrs.is_empty() {
            let seq = manifest.next_incr_seq();
            let path = dir.join(incr_name(seq));
            File::create(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| AofLoadError::io("create", &path, e))?;
            manifest.incrs.push(AofFile { name: incr_name(seq), seq });
            manifest.store(dir).map_err(|e| AofLoadError::io("write manifest in", dir, e))?;
        }
        let last = manifest.incrs.last().expect("an incr file").clone();
        let path = manifest::path_of(dir, &last);
        let mut file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| AofLoadError::io("open", &path, e))?;
        let file_len =
            file.seek(SeekFrom::End(0)).map_err(|e| AofLoadError::io("open", &path, e))?;
        let size_of =
            |f: &AofFile| std::fs::metadata(manifest::path_of(dir, f)).map_or(0, |m| m.len());
        let base_size = manifest.base.as_ref().map_or(0, size_of);
        let older: u64 = manifest.incrs[..manifest.incrs.len() - 1].iter().map(size_of).sum();
        for name in data_files(dir)? {
            if !manifest.files().any(|f| f.name == name) {
                match std::fs::remove_file(dir.join(&name)) {
                    Ok(()) => tracing::info!("removed {name}, left by an interrupted rewrite"),
                    Err(e) => tracing::warn!("could not remove {name}: {e}"),
                }
            }
        }
        let next_base = manifest.base.as_ref().map_or(1, |b| b.seq + 1);
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            config,
            state: Mutex::new(State::default()),
            flusher_cv: Condvar::new(),
            progress_cv: Condvar::new(),
            failing: AtomicBool::new(false),
            appended: AtomicU64::new(0),
            current_size: AtomicU64::new(base_size + older + file_len),
            base_size: AtomicU64::new(base_size),
            next_base_seq: AtomicU64::new(next_base),
            threads: Mutex::new(Vec::new()),
        });
        let flusher = Flusher {
            shared: shared.clone(),
            manifest,
            file,
            file_len,
            synced_len: file_len,
            older_incr_size: older,
            base_size,
            tail: Vec::new(),
            queue: VecDeque::new(),
            written: 0,
            durable: 0,
            last_sync: Instant::now(),
            last_write: None,
            error: None,
            retry_at: Instant::now(),
            spare: None,
        };
        let handle = std::thread::Builder::new()
            .name("aof-flusher".into())
            .spawn(move || flusher.run())
            .map_err(|e| AofLoadError::io("start the flusher thread for", dir, e))?;
        shared.threads.lock().push(handle);
        Ok(AofLog { shared })
    }

    /// The handle to wait for durability and to shut down.
    pub fn durability(&self) -> Durability {
        Durability { shared: self.shared.clone() }
    }
}

/// The names of larder's data files in `dir`.
fn data_files(dir: &Path) -> Result<Vec<String>, AofLoadError> {
    let rd = std::fs::read_dir(dir).map_err(|e| AofLoadError::io("read directory", dir, e))?;
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| AofLoadError::io("read directory", dir, e))?;
        if let Some(name) = entry.file_name().to_str()
            && is_data_file(name)
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

impl Propagate for AofLog {
    fn propagate(&mut self, argv: &[Bytes]) {
        let mut st = self.shared.state.lock();
        let before = st.buf.len();
        encode_command(argv, &mut st.buf);
        st.appended += (st.buf.len() - before) as u64;
        self.shared.appended.store(st.appended, Ordering::Release);
        if st.flusher_parked {
            st.flusher_parked = false;
            self.shared.flusher_cv.notify_one();
        }
    }

    fn aof(&self) -> Option<AofHandle> {
        Some(self.durability())
    }
}

impl Drop for AofLog {
    fn drop(&mut self) {
        let mut st = self.shared.state.lock();
        st.shutdown = true;
        self.shared.flusher_cv.notify_one();
    }
}

impl Durability {
    /// The fsync policy.
    pub fn policy(&self) -> FsyncPolicy {
        self.shared.config.fsync
    }

    /// The end of everything propagated so far. Read it under the engine lock after a batch: once the
    /// durable offset reaches it, the batch's writes are on disk.
    pub fn appended_offset(&self) -> u64 {
        self.shared.appended.load(Ordering::Acquire)
    }

    /// The end of what is written and fsynced.
    pub fn durable_offset(&self) -> u64 {
        self.shared.state.lock().durable
    }

    /// The current write error, if writes are failing.
    pub fn error(&self) -> Option<AofError> {
        if !self.is_failing() {
            return None;
        }
        self.shared.state.lock().error.clone()
    }

    /// Whether writes are failing (cheap: one atomic load).
    pub fn is_failing(&self) -> bool {
        self.shared.failing.load(Ordering::Relaxed)
    }

    /// Blocks the calling thread until everything up to `offset` is durable, or fails with the error that
    /// kept it from the disk.
    pub fn wait_durable(&self, offset: u64) -> Result<(), AofError> {
        let mut st = self.shared.state.lock();
        loop {
            if let Poll::Ready(r) = poll_state(&self.shared, &mut st, offset) {
                return r;
            }
            self.shared.progress_cv.wait(&mut st);
        }
    }

    /// A future that completes when everything up to `offset` is durable (or with the error that kept it
    /// from the disk). Runtime-agnostic: it registers its `Waker` with the flusher.
    pub fn durable(&self, offset: u64) -> WaitDurable {
        WaitDurable { shared: self.shared.clone(), offset }
    }

    /// Writes and fsyncs everything appended so far, then stops the flusher. Pending rewrites are
    /// abandoned (the manifest still describes a complete data set). Blocks until done.
    pub fn shutdown(&self) -> Result<(), AofError> {
        let target = self.appended_offset();
        {
            let mut st = self.shared.state.lock();
            st.shutdown = true;
            self.shared.flusher_cv.notify_one();
            while !st.flusher_done {
                self.shared.progress_cv.wait(&mut st);
            }
        }
        for t in std::mem::take(&mut *self.shared.threads.lock()) {
            let _ = t.join();
        }
        let st = self.shared.state.lock();
        match &st.error {
            Some(e) => Err(e.clone()),
            None if st.durable < target => Err(AofError::Closed),
            None => Ok(()),
        }
    }

    /// Test hook: the flusher stops at once, writing nothing more, as if the process had been killed.
    #[doc(hidden)]
    pub fn simulate_crash(&self) {
        let mut st = self.shared.state.lock();
        st.crashed = true;
        self.shared.flusher_cv.notify_one();
        while !st.flusher_done {
            self.shared.progress_cv.wait(&mut st);
        }
    }

    /// What `INFO persistence` shows.
    pub fn info(&self) -> AofInfo {
        let st = self.shared.state.lock();
        let now = Instant::now();
        AofInfo {
            rewrite_in_progress: st.rewrite.in_progress,
            rewrite_scheduled: false,
            last_rewrite_time_sec: st.rewrite.last_secs.map_or(-1, |s| s as i64),
            current_rewrite_time_sec: st
                .rewrite
                .started
                .filter(|_| st.rewrite.in_progress)
                .map_or(-1, |t| now.duration_since(t).as_secs() as i64),
            last_bgrewrite_ok: !st.rewrite.last_failed,
            rewrites: st.rewrite.count,
            last_write_ok: st.error.is_none(),
            current_size: self.shared.current_size.load(Ordering::Relaxed),
            base_size: self.shared.base_size.load(Ordering::Relaxed),
            buffer_length: st.buf.len() as u64,
            policy: self.shared.config.fsync,
        }
    }

    /// Whether a rewrite runs (from its start until the manifest switch or its failure).
    pub fn rewrite_in_progress(&self) -> bool {
        self.shared.state.lock().rewrite.in_progress
    }

    /// Whether the files grew enough since the last rewrite for an automatic one (Redis's
    /// `auto-aof-rewrite-percentage` and `-min-size`), and none runs or failed recently.
    pub(crate) fn auto_rewrite_due(&self) -> bool {
        let c = &self.shared.config;
        if c.auto_rewrite_percentage == 0 {
            return false;
        }
        let current = self.shared.current_size.load(Ordering::Relaxed);
        if current < c.auto_rewrite_min_size {
            return false;
        }
        let base = self.shared.base_size.load(Ordering::Relaxed).max(1);
        if (current.saturating_mul(100) / base).saturating_sub(100) < c.auto_rewrite_percentage {
            return false;
        }
        let st = self.shared.state.lock();
        !st.rewrite.in_progress
            && !st.shutdown
            && st.rewrite.last_failure.is_none_or(|t| t.elapsed() >= c.rewrite_retry_interval)
    }

    /// Starts a rewrite: from the current offset on, propagated bytes go to a new incr file, and a writer
    /// thread receives the base. Call under the engine lock between two commands, then start the
    /// keyspace snapshot.
    pub(crate) fn begin_rewrite(&self) -> Result<Job, &'static str> {
        let mut st = self.shared.state.lock();
        if st.rewrite.in_progress {
            return Err("ERR Background append only file rewriting already in progress");
        }
        if st.shutdown || st.flusher_done {
            return Err("ERR the append-only file is closed");
        }
        let seq = self.shared.next_base_seq.fetch_add(1, Ordering::Relaxed);
        let base = AofFile { name: base_name(seq), seq };
        let (tx, rx) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let shared = self.shared.clone();
        let q = queued.clone();
        let spawned = std::thread::Builder::new()
            .name("aof-rewrite".into())
            .spawn(move || rewrite_writer(shared, rx, q, base));
        let handle = match spawned {
            Ok(h) => h,
            Err(e) => {
                tracing::error!("could not start the AOF rewrite thread: {e}");
                return Err("ERR could not start the rewrite thread");
            }
        };
        let pre = std::mem::take(&mut st.buf);
        st.ops.push(Op::Bytes(pre));
        st.ops.push(Op::Switch);
        st.rewrite.in_progress = true;
        st.rewrite.started = Some(Instant::now());
        if st.flusher_parked || st.flusher_napping {
            st.flusher_parked = false;
            self.shared.flusher_cv.notify_one();
        }
        drop(st);
        let mut threads = self.shared.threads.lock();
        threads.retain(|t| !t.is_finished());
        threads.push(handle);
        tracing::info!("background AOF rewrite started");
        Ok(Job { tx, queued })
    }
}

/// Decides a waiter's fate under the state lock; registers for an fsync when it must wait.
fn poll_state(shared: &Shared, st: &mut State, offset: u64) -> Poll<Result<(), AofError>> {
    if st.durable >= offset {
        return Poll::Ready(Ok(()));
    }
    if let Some(e) = &st.error {
        return Poll::Ready(Err(e.clone()));
    }
    if st.flusher_done {
        return Poll::Ready(Err(AofError::Closed));
    }
    if st.sync_wanted < offset {
        st.sync_wanted = offset;
        if st.flusher_parked || st.flusher_napping {
            st.flusher_parked = false;
            shared.flusher_cv.notify_one();
        }
    }
    Poll::Pending
}

/// The future of [`Durability::durable`].
pub struct WaitDurable {
    shared: Arc<Shared>,
    offset: u64,
}

impl std::fmt::Debug for WaitDurable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitDurable").field("offset", &self.offset).finish()
    }
}

impl std::future::Future for WaitDurable {
    type Output = Result<(), AofError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.shared.state.lock();
        let r = poll_state(&self.shared, &mut st, self.offset);
        if r.is_pending() && !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        r
    }
}

/// Wakes every async and blocked waiter (they re-check their offset).
fn wake_all(shared: &Shared, st: &mut State) {
    for w in st.wakers.drain(..) {
        w.wake();
    }
    shared.progress_cv.notify_all();
}

/// The flusher thread's own state: the current incr file and what is written and synced.
struct Flusher {
    shared: Arc<Shared>,
    manifest: Manifest,
    file: File,
    file_len: u64,
    synced_len: u64,
    older_incr_size: u64,
    base_size: u64,
    /// Bytes written since the last fsync (written again if an fsync fails); not kept under `no`.
    tail: Vec<u8>,
    queue: VecDeque<Op>,
    written: u64,
    durable: u64,
    last_sync: Instant,
    /// When bytes were last written (the nap after it: [`GATHER`]).
    last_write: Option<Instant>,
    error: Option<AofError>,
    retry_at: Instant,
    spare: Option<Vec<u8>>,
}

impl Flusher {
    fn policy(&self) -> FsyncPolicy {
        self.shared.config.fsync
    }

    fn run(mut self) {
        let shared = self.shared.clone();
        loop {
            let (sync_wanted, shutdown) = {
                let mut st = shared.state.lock();
                loop {
                    if st.crashed {
                        st.flusher_done = true;
                        wake_all(&shared, &mut st);
                        return;
                    }
                    if let Some(until) = self.nap_until(&st) {
                        st.flusher_napping = true;
                        shared.flusher_cv.wait_until(&mut st, until);
                        st.flusher_napping = false;
                        continue;
                    }
                    self.pull(&mut st);
                    let now = Instant::now();
                    let work = !self.queue.is_empty() || self.sync_due(&st, now);
                    if work && (self.error.is_none() || now >= self.retry_at || st.shutdown) {
                        break (st.sync_wanted, st.shutdown);
                    }
                    if st.shutdown && !work {
                        st.flusher_done = true;
                        wake_all(&shared, &mut st);
                        return;
                    }
                    let mut deadline = now + Duration::from_secs(1);
                    if self.error.is_some() {
                        deadline = deadline.min(self.retry_at);
                    } else if self.policy() == FsyncPolicy::EverySec && self.written > self.durable
                    {
                        deadline = deadline.min(self.last_sync + Duration::from_secs(1));
                    }
                    st.flusher_parked = true;
                    shared.flusher_cv.wait_until(&mut st, deadline);
                    st.flusher_parked = false;
                }
            };
            let result = self.work(sync_wanted, shutdown);
            let failed = result.is_err();
            self.publish(result);
            if shutdown && failed {
                let mut st = shared.state.lock();
                tracing::error!(
                    "shutting down with {} bytes of the AOF not on disk",
                    st.appended.saturating_sub(self.durable)
                );
                st.flusher_done = true;
                wake_all(&shared, &mut st);
                return;
            }
        }
    }

    /// Until when to nap before taking more appended bytes: shortly after a write under `everysec` and
    /// `no`, unless something asks for more (a waiter, a request, an error to retry, shutdown).
    fn nap_until(&self, st: &State) -> Option<Instant> {
        let until = self.last_write? + GATHER;
        let quiet = self.policy() != FsyncPolicy::Always
            && self.error.is_none()
            && !st.shutdown
            && st.ops.is_empty()
            && st.sync_wanted <= self.durable;
        (quiet && Instant::now() < until).then_some(until)
    }

    /// Moves requests and buffered bytes into the local queue, in order.
    fn pull(&mut self, st: &mut State) {
        for op in st.ops.drain(..) {
            if !matches!(&op, Op::Bytes(b) if b.is_empty()) {
                self.queue.push_back(op);
            }
        }
        if !st.buf.is_empty() {
            let b = std::mem::replace(&mut st.buf, self.spare.take().unwrap_or_default());
            self.queue.push_back(Op::Bytes(b));
        }
    }

    /// Whether written bytes should be fsynced now.
    fn sync_due(&self, st: &State, now: Instant) -> bool {
        self.written > self.durable
            && (self.error.is_some()
                || st.shutdown
                || st.sync_wanted > self.durable
                || match self.policy() {
                    FsyncPolicy::Always => true,
                    FsyncPolicy::EverySec => now >= self.last_sync + Duration::from_secs(1),
                    FsyncPolicy::No => false,
                })
    }

    fn fault(&self) -> std::io::Result<()> {
        match &self.shared.config.fail_writes {
            Some(f) if f.load(Ordering::Relaxed) => Err(std::io::Error::from_raw_os_error(28)),
            _ => Ok(()),
        }
    }

    /// Processes the queue, then fsyncs if due.
    fn work(&mut self, sync_wanted: u64, shutdown: bool) -> Result<(), AofError> {
        while let Some(op) = self.queue.front_mut() {
            match op {
                Op::Bytes(b) => {
                    let mut done = 0;
                    let res = loop {
                        if done == b.len() {
                            break Ok(());
                        }
                        let r = match self.shared.config.fail_writes.as_ref() {
                            Some(f) if f.load(Ordering::Relaxed) => {
                                Err(std::io::Error::from_raw_os_error(28))
                            }
                            _ => self.file.write(&b[done..]),
                        };
                        match r {
                            Ok(0) => {
                                break Err(std::io::Error::from(std::io::ErrorKind::WriteZero));
                            }
                            Ok(n) => {
                                if self.shared.config.fsync != FsyncPolicy::No {
                                    self.tail.extend_from_slice(&b[done..done + n]);
                                }
                                done += n;
                                self.last_write = Some(Instant::now());
                                self.written += n as u64;
                                self.file_len += n as u64;
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e),
                        }
                    };
                    if let Err(e) = res {
                        b.drain(..done);
                        return Err(AofError::io(&e));
                    }
                    if let Some(Op::Bytes(mut b)) = self.queue.pop_front()
                        && b.capacity() <= 4 * 1024 * 1024
                    {
                        b.clear();
                        self.spare = Some(b);
                    }
                }
                Op::Switch => {
                    self.switch()?;
                    self.queue.pop_front();
                }
                Op::Finish { .. } => {
                    if let Some(Op::Finish { base, size }) = self.queue.pop_front() {
                        self.finish(base, size);
                    }
                }
            }
        }
        let now = Instant::now();
        let due = self.written > self.durable
            && (self.error.is_some()
                || shutdown
                || sync_wanted > self.durable
                || match self.policy() {
                    FsyncPolicy::Always => true,
                    FsyncPolicy::EverySec => now >= self.last_sync + Duration::from_secs(1),
                    FsyncPolicy::No => false,
                });
        if due {
            self.sync()?;
        }
        Ok(())
    }

    /// fsyncs the current file. On failure the bytes written since the last fsync are put back in the
    /// queue and the file truncated to its synced length, so they are written again.
    fn sync(&mut self) -> Result<(), AofError> {
        let r = self.fault().and_then(|()| self.file.sync_data());
        if let Err(e) = r {
            if self.policy() != FsyncPolicy::No
                && self.file.set_len(self.synced_len).is_ok()
                && self.file.seek(SeekFrom::Start(self.synced_len)).is_ok()
            {
                let tail = std::mem::take(&mut self.tail);
                self.written -= tail.len() as u64;
                self.file_len = self.synced_len;
                if !tail.is_empty() {
                    self.queue.push_front(Op::Bytes(tail));
                }
            }
            return Err(AofError::io(&e));
        }
        self.synced_len = self.file_len;
        self.tail.clear();
        if self.tail.capacity() > 16 * 1024 * 1024 {
            self.tail = Vec::new();
        }
        self.durable = self.written;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Seals the current incr file (fsync) and continues in a new one, listed in the manifest before
    /// anything is written to it.
    fn switch(&mut self) -> Result<(), AofError> {
        if self.written > self.durable || self.file_len > self.synced_len {
            self.sync()?;
        }
        let dir = self.shared.dir.clone();
        let seq = self.manifest.next_incr_seq();
        let f = AofFile { name: incr_name(seq), seq };
        let path = manifest::path_of(&dir, &f);
        let file = self.fault().and_then(|()| File::create(&path)).map_err(|e| AofError::io(&e))?;
        let mut m = self.manifest.clone();
        m.incrs.push(f);
        if let Err(e) = self.fault().and_then(|()| m.store(&dir)) {
            let _ = std::fs::remove_file(&path);
            return Err(AofError::io(&e));
        }
        self.manifest = m;
        self.older_incr_size += self.file_len;
        self.file = file;
        self.file_len = 0;
        self.synced_len = 0;
        self.tail.clear();
        Ok(())
    }

    /// The rewrite's base is on disk: the manifest becomes (new base, current incr), then the old files go.
    fn finish(&mut self, base: AofFile, size: u64) {
        let dir = self.shared.dir.clone();
        let current = self.manifest.incrs.last().cloned().expect("an incr file");
        let new = Manifest { base: Some(base.clone()), incrs: vec![current] };
        let result = self.fault().and_then(|()| new.store(&dir));
        if result.is_ok() {
            for old in self.manifest.files() {
                if !new.files().any(|f| f == old)
                    && let Err(e) = std::fs::remove_file(manifest::path_of(&dir, old))
                {
                    tracing::warn!("could not remove the old AOF file {}: {e}", old.name);
                }
            }
            self.manifest = new;
            self.base_size = size;
            self.older_incr_size = 0;
            self.shared.base_size.store(size, Ordering::Relaxed);
            self.shared.current_size.store(size + self.file_len, Ordering::Relaxed);
        } else {
            let _ = std::fs::remove_file(manifest::path_of(&dir, &base));
        }
        let mut st = self.shared.state.lock();
        let secs = st.rewrite.started.map_or(0, |t| t.elapsed().as_secs());
        st.rewrite.in_progress = false;
        match result {
            Ok(()) => {
                st.rewrite.count += 1;
                st.rewrite.last_failed = false;
                st.rewrite.last_secs = Some(secs);
                tracing::info!(base = %base.name, bytes = size, "background AOF rewrite finished");
            }
            Err(e) => {
                st.rewrite.last_failed = true;
                st.rewrite.last_failure = Some(Instant::now());
                tracing::error!("background AOF rewrite failed: cannot write the manifest: {e}");
            }
        }
    }

    /// Publishes offsets and the outcome to the waiters.
    fn publish(&mut self, result: Result<(), AofError>) {
        let shared = self.shared.clone();
        shared
            .current_size
            .store(self.base_size + self.older_incr_size + self.file_len, Ordering::Relaxed);
        let mut st = shared.state.lock();
        st.durable = self.durable;
        match result {
            Ok(()) => {
                if self.error.take().is_some() {
                    st.error = None;
                    shared.failing.store(false, Ordering::Relaxed);
                    tracing::info!("AOF writes succeed again; accepting writes");
                }
            }
            Err(e) => {
                if self.error.is_none() {
                    tracing::error!(
                        "writing the AOF failed: {e}; refusing writes until it works again (retrying every {:?})",
                        shared.config.retry_interval
                    );
                }
                self.retry_at = Instant::now() + shared.config.retry_interval;
                st.error = Some(e.clone());
                self.error = Some(e);
                shared.failing.store(true, Ordering::Relaxed);
            }
        }
        wake_all(&shared, &mut st);
    }
}

/// The rewrite's writer thread: writes the base file from the engine's chunks, fsyncs it, and hands the
/// manifest switch to the flusher. On any failure it deletes the file and records the failure; the engine
/// notices the closed channel and drops its snapshot.
fn rewrite_writer(
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Chunk>,
    queued: Arc<AtomicUsize>,
    base: AofFile,
) {
    let path = manifest::path_of(&shared.dir, &base);
    let fault = || match &shared.config.fail_writes {
        Some(f) if f.load(Ordering::Relaxed) => Err(std::io::Error::from_raw_os_error(28)),
        _ => Ok(()),
    };
    let result: Result<u64, AofError> = (|| {
        let mut f = std::io::BufWriter::with_capacity(
            1024 * 1024,
            File::create(&path).map_err(|e| AofError::io(&e))?,
        );
        let mut size = 0u64;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(Chunk::Bytes(b)) => {
                    fault().and_then(|()| f.write_all(&b)).map_err(|e| AofError::io(&e))?;
                    size += b.len() as u64;
                    queued.fetch_sub(b.len(), Ordering::Relaxed);
                }
                Ok(Chunk::End) => {
                    let file = f.into_inner().map_err(|e| AofError::io(e.error()))?;
                    fault().and_then(|()| file.sync_all()).map_err(|e| AofError::io(&e))?;
                    return Ok(size);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let st = shared.state.lock();
                    if st.shutdown || st.crashed {
                        return Err(AofError::Closed);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(AofError::Closed),
            }
        }
    })();
    drop(rx);
    let mut st = shared.state.lock();
    match result {
        Ok(size) => {
            st.ops.push(Op::Finish { base, size });
            if st.flusher_parked || st.flusher_napping {
                st.flusher_parked = false;
                shared.flusher_cv.notify_one();
            }
        }
        Err(e) => {
            st.rewrite.in_progress = false;
            st.rewrite.last_failed = true;
            st.rewrite.last_failure = Some(Instant::now());
            drop(st);
            let _ = std::fs::remove_file(&path);
            tracing::error!("background AOF rewrite failed: {e}");
        }
    }
}
