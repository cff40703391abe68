//! AOF rewrite without fork: a copy-on-write snapshot of the keyspace at key granularity.
//!
//! When a rewrite starts (under the engine lock, between two commands), the AOF switches to a new incr
//! file, so every later change goes there, and the keyspace starts a [`Snapshot`]: the base file must hold
//! the keyspace exactly as it was at that instant ("T0").
//!
//! - [`Engine::rewrite_step`](crate::Engine::rewrite_step), called from the server's background tick, walks
//!   the keyspace with the dict's SCAN cursor in bounded steps (at most [`STEP_KEYS`] keys or
//!   [`STEP_BYTES`] of output per lock acquisition), serializing every key not yet done and marking it done.
//! - Every `&mut` path of [`Keyspace`](crate::Keyspace) first calls [`Snapshot::before_write`]: a key not
//!   yet done has its *old* value serialized and is marked done before it changes, is deleted or expires;
//!   a key created after T0 is marked done with nothing serialized (it did not exist at T0). `FLUSHALL`
//!   moves the whole old table into the snapshot ([`Snapshot::freeze`]), which the walk then finishes
//!   undisturbed.
//! - SCAN returns every key present for the whole walk at least once, and the done set removes repeats,
//!   so each key of T0 is serialized exactly once, with its T0 value.
//!
//! The base thus equals the keyspace at T0 and the new incr file holds exactly the changes after T0, so
//! base + incr replays to the live keyspace. The serialized bytes go to a writer thread (see
//! [`writer`](super::writer)), which writes and fsyncs the base file and hands the manifest switch to the
//! flusher. Until then the old manifest (old base, old incr files, the new incr file) stays valid.
//!
//! Cost: when no rewrite runs, the hook is one test of a null pointer. During a rewrite, the done set
//! holds a handle to every key (about 50 bytes each), and a key is serialized whole in one step, so a
//! single huge collection costs one long step.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use bytes::Bytes;

use super::{encode_header, encode_parts};
use crate::compact::CompactBytes;
use crate::dict::Dict;
use crate::keyspace::Entry;
use crate::value::Value;

/// Keys serialized per step, at most.
pub(crate) const STEP_KEYS: usize = 1000;
/// Output bytes per step, at most (a bigger key still goes whole).
pub(crate) const STEP_BYTES: usize = 1024 * 1024;
/// Elements per command in the base (`RPUSH k e1 .. e128`).
pub(crate) const BATCH: usize = 128;
/// A step is skipped while the writer thread has this much unwritten output queued.
pub(crate) const MAX_QUEUED: usize = 32 * 1024 * 1024;

/// The copy-on-write state of a rewrite in progress, owned by the keyspace.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// Keys already serialized, or created after T0.
    done: HashSet<CompactBytes, foldhash::fast::RandomState>,
    cursor: u64,
    started: bool,
    /// Serialized base bytes not yet handed to the writer.
    out: Vec<u8>,
    /// The table as of a `FLUSHALL` during the snapshot: the walk finishes on it, and nothing changes it.
    frozen: Option<Dict<CompactBytes, Entry>>,
    pub(crate) keys: u64,
}

impl Snapshot {
    /// A snapshot whose output starts with `prelude` (the function libraries).
    pub(crate) fn new(prelude: Vec<u8>) -> Snapshot {
        Snapshot {
            done: HashSet::default(),
            cursor: 0,
            started: false,
            out: prelude,
            frozen: None,
            keys: 0,
        }
    }

    /// Called before `key` changes (or is created, when `creating`): serializes its T0 value once.
    #[cold]
    #[inline(never)]
    pub(crate) fn before_write(
        &mut self,
        map: &Dict<CompactBytes, Entry>,
        key: &[u8],
        creating: bool,
    ) {
        if self.frozen.is_some() || self.done.contains(key) {
            return;
        }
        match map.get_key_value(key) {
            Some((k, e)) => {
                serialize_entry(k, e, &mut self.out);
                self.keys += 1;
                self.done.insert(k.clone());
            }
            None if creating => {
                self.done.insert(CompactBytes::new(key));
            }
            None => {}
        }
    }

    /// `FLUSHALL` during the snapshot: keeps the old table for the walk to finish on.
    pub(crate) fn freeze(&mut self, map: Dict<CompactBytes, Entry>) {
        if self.frozen.is_none() {
            self.frozen = Some(map);
        }
    }

    /// One bounded step of the walk over `live` (or the frozen table). Returns true when the walk is
    /// complete: every key of T0 has been serialized.
    pub(crate) fn step(
        &mut self,
        live: &Dict<CompactBytes, Entry>,
        max_keys: usize,
        max_bytes: usize,
    ) -> bool {
        let Snapshot { done, cursor, started, out, frozen, keys } = self;
        let map = frozen.as_ref().unwrap_or(live);
        if *started && *cursor == 0 {
            return true;
        }
        *started = true;
        let mut n = 0;
        loop {
            *cursor = map.scan(*cursor, |k, e| {
                if !done.contains(k) {
                    serialize_entry(k, e, out);
                    done.insert(k.clone());
                    n += 1;
                }
            });
            if *cursor == 0 {
                *keys += n as u64;
                return true;
            }
            if n >= max_keys || out.len() >= max_bytes {
                *keys += n as u64;
                return false;
            }
        }
    }

    /// Takes the serialized bytes produced so far.
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// Appends the commands that recreate `key` with entry `e`: the value in batches of [`BATCH`] elements,
/// then the key's expiry and its hash fields' expiry times.
pub(crate) fn serialize_entry(key: &[u8], e: &Entry, out: &mut Vec<u8>) {
    match &e.value {
        Value::Str(v) => encode_parts(&[b"SET", key, v], out),
        Value::List(l) => {
            list_batches(key, l, out);
        }
        Value::Set(s) => {
            let mut batch: Vec<Bytes> = Vec::with_capacity(BATCH);
            for m in s.iter() {
                batch.push(m.to_bytes());
                if batch.len() == BATCH {
                    variadic(b"SADD", key, batch.iter().map(|b| &b[..]), batch.len(), out);
                    batch.clear();
                }
            }
            if !batch.is_empty() {
                variadic(b"SADD", key, batch.iter().map(|b| &b[..]), batch.len(), out);
            }
        }
        Value::Hash(h) => {
            let fields: Vec<(&[u8], &[u8])> = h.iter().collect();
            for chunk in fields.chunks(BATCH) {
                variadic(
                    b"HSET",
                    key,
                    chunk.iter().flat_map(|(f, v)| [*f, *v]),
                    chunk.len() * 2,
                    out,
                );
            }
            if h.has_field_ttls() {
                // One HPEXPIREAT per distinct time, in batches.
                let mut timed: Vec<(u64, &[u8])> =
                    fields.iter().filter_map(|(f, _)| h.expire_at(f).map(|t| (t, *f))).collect();
                timed.sort_unstable();
                for group in timed.chunk_by(|a, b| a.0 == b.0) {
                    let at = group[0].0.to_string();
                    for chunk in group.chunks(BATCH) {
                        let n = chunk.len().to_string();
                        let mut parts: Vec<&[u8]> =
                            vec![b"HPEXPIREAT", key, at.as_bytes(), b"FIELDS", n.as_bytes()];
                        parts.extend(chunk.iter().map(|(_, f)| *f));
                        encode_parts(&parts, out);
                    }
                }
            }
        }
        Value::ZSet(z) => {
            let members: Vec<(&Bytes, f64)> = z.iter().collect();
            for chunk in members.chunks(BATCH) {
                let scores: Vec<String> = chunk.iter().map(|(_, s)| score_text(*s)).collect();
                variadic(
                    b"ZADD",
                    key,
                    chunk.iter().zip(&scores).flat_map(|((m, _), s)| [s.as_bytes(), &m[..]]),
                    chunk.len() * 2,
                    out,
                );
            }
        }
        Value::Stream(s) => stream_commands(key, s, out),
    }
    if let Some(at) = e.expire_at() {
        encode_parts(&[b"PEXPIREAT", key, at.to_string().as_bytes()], out);
    }
}

/// A stream as Redis's `rewriteStreamObject` writes it: its entries (`XADD key id f v ...`, or for an
/// empty stream `XADD key MAXLEN 0 0-1 x y`), `XSETID` with its counters, then per group `XGROUP CREATE`,
/// an `XCLAIM ... FORCE JUSTID` per pending entry and `XGROUP CREATECONSUMER` for consumers without any.
fn stream_commands(key: &[u8], s: &crate::value::Stream, out: &mut Vec<u8>) {
    if s.is_empty() {
        encode_parts(&[b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"], out);
    }
    for (id, fields) in s.range(crate::types::StreamId::MIN, crate::types::StreamId::MAX) {
        let id = id.to_string();
        variadic(
            b"XADD",
            key,
            std::iter::once(id.as_bytes()).chain(fields.iter().map(|f| &f[..])),
            fields.len() + 1,
            out,
        );
    }
    let (last, added, deleted) =
        (s.last_id.to_string(), s.entries_added.to_string(), s.max_deleted_id.to_string());
    let setid: [&[u8]; 7] = [
        b"XSETID",
        key,
        last.as_bytes(),
        b"ENTRIESADDED",
        added.as_bytes(),
        b"MAXDELETEDID",
        deleted.as_bytes(),
    ];
    encode_parts(&setid, out);
    for (name, g) in &s.groups {
        let last = g.last_id.to_string();
        let read = g.entries_read.map_or(-1, |n| n as i64).to_string();
        let create: [&[u8]; 7] =
            [b"XGROUP", b"CREATE", key, name, last.as_bytes(), b"ENTRIESREAD", read.as_bytes()];
        encode_parts(&create, out);
        for (id, nack) in &g.pel {
            let (id, time, count) =
                (id.to_string(), nack.delivery_time.to_string(), nack.delivery_count.to_string());
            let claim: [&[u8]; 12] = [
                b"XCLAIM",
                key,
                name,
                &nack.consumer,
                b"0",
                id.as_bytes(),
                b"TIME",
                time.as_bytes(),
                b"RETRYCOUNT",
                count.as_bytes(),
                b"JUSTID",
                b"FORCE",
            ];
            encode_parts(&claim, out);
        }
        for (consumer, c) in &g.consumers {
            if c.pel.is_empty() {
                encode_parts(&[b"XGROUP", b"CREATECONSUMER", key, name, consumer], out);
            }
        }
    }
}

/// The elements of a list, in order, as `RPUSH` batches.
fn list_batches(key: &[u8], l: &crate::value::List, out: &mut Vec<u8>) {
    let items: Vec<&Bytes> = l.iter().collect();
    for chunk in items.chunks(BATCH) {
        variadic(b"RPUSH", key, chunk.iter().map(|b| &b[..]), chunk.len(), out);
    }
}

/// `<cmd> <key> <args...>` where `args` yields `n` slices.
fn variadic<'a>(
    cmd: &'a [u8],
    key: &'a [u8],
    args: impl Iterator<Item = &'a [u8]>,
    n: usize,
    out: &mut Vec<u8>,
) {
    encode_header(b'*', n + 2, out);
    for a in [cmd, key].into_iter().chain(args) {
        encode_header(b'$', a.len(), out);
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// A score as text that `ZADD` reads back to the same double (`inf`/`-inf` included).
fn score_text(s: f64) -> String {
    larder_resp::format_double(s)
}

/// What the engine hands the rewrite's writer thread.
#[derive(Debug)]
pub(crate) enum Chunk {
    Bytes(Vec<u8>),
    /// The snapshot is complete: write and fsync the base, then switch the manifest.
    End,
}

/// The engine's side of a rewrite in progress: where serialized chunks go.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) tx: mpsc::Sender<Chunk>,
    /// Bytes sent and not yet written by the writer thread.
    pub(crate) queued: Arc<AtomicUsize>,
}

impl Job {
    /// Whether the writer is too far behind for another step now.
    pub(crate) fn backlogged(&self) -> bool {
        self.queued.load(Ordering::Relaxed) > MAX_QUEUED
    }

    /// Hands bytes to the writer. False when the writer is gone (the rewrite failed).
    pub(crate) fn send(&self, bytes: Vec<u8>) -> bool {
        if bytes.is_empty() {
            return true;
        }
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        self.tx.send(Chunk::Bytes(bytes)).is_ok()
    }

    /// Tells the writer the snapshot is complete.
    pub(crate) fn finish(&self) -> bool {
        self.tx.send(Chunk::End).is_ok()
    }
}
