//! Runs generated commands against both servers, compares, resynchronises, reports and shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::time::{Duration, Instant};

use larder_resp::Reply;

use crate::check::{
    Check, KNOWN_DIFFERENCES, Outcome, RandomSpec, compare, compare_random, known_difference,
    random_members, show, show_argv, show_reply, sorted,
};
use crate::conn::{Argv, Conn};
use crate::generator::{Cmd, EXCLUDED, Gen, Guard, SPECS, Spec};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The generator's seed.
    pub seed: u64,
    /// How many commands to generate.
    pub count: usize,
    /// Keep going after a mismatch (the involved keys are deleted on both sides to resynchronise).
    pub all: bool,
    /// Shrink reproductions by replaying subsets (this flushes both servers).
    pub shrink: bool,
    /// How many mismatches to shrink at most.
    pub max_shrink: usize,
    /// Print every command.
    pub verbose: bool,
    /// Print mismatches as they are found (otherwise only the report has them).
    pub print: bool,
}

impl Options {
    /// `count` commands from `seed`, stop at the first mismatch, shrink it.
    pub fn new(seed: u64, count: usize) -> Options {
        Options {
            seed,
            count,
            all: false,
            shrink: true,
            max_shrink: 3,
            verbose: false,
            print: true,
        }
    }
}

/// Per-command counters.
#[derive(Debug, Clone, Default)]
pub struct Stat {
    /// Generated and sent.
    pub run: usize,
    /// Skipped because a guard failed on redis's state.
    pub guarded: usize,
    /// Redis answered with an error (the error path was compared).
    pub errors: usize,
    /// Doubles that differ only in text.
    pub format: usize,
    /// Deliberate, documented differences.
    pub deliberate: usize,
    /// Real mismatches.
    pub mismatches: usize,
}

/// One mismatch.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// 1-based index of the command in the generated sequence.
    pub index: usize,
    /// The command.
    pub cmd: Cmd,
    /// larder's reply.
    pub larder: Reply,
    /// redis's reply.
    pub redis: Reply,
    /// Why they do not match.
    pub reason: String,
    /// The commands on the involved keys up to and including this one.
    pub repro: Vec<Cmd>,
    /// A shrunk reproduction, with both replies to each command of its last replay.
    pub shrunk: Option<Vec<Step>>,
}

/// One command of a replayed reproduction.
#[derive(Debug, Clone)]
pub struct Step {
    /// The command.
    pub cmd: Cmd,
    /// larder's reply.
    pub larder: Reply,
    /// redis's reply.
    pub redis: Reply,
    /// Whether the replies mismatched.
    pub mismatch: bool,
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Commands generated.
    pub generated: usize,
    /// Specs larder knows (and so were generated).
    pub enabled: Vec<&'static str>,
    /// Specs not generated, with the reason.
    pub skipped: Vec<(&'static str, String)>,
    /// Per-command counters.
    pub stats: BTreeMap<&'static str, Stat>,
    /// Mismatches, in order.
    pub mismatches: Vec<Mismatch>,
    /// Examples of format differences: command, larder's text, redis's text.
    pub format_examples: Vec<(String, String, String)>,
    /// Deliberate differences by id.
    pub deliberate: BTreeMap<&'static str, usize>,
    /// Wall time of the run (without shrinking).
    pub elapsed: Duration,
}

struct Entry {
    cmd: Cmd,
    redis: Reply,
}

struct Exec {
    larder: Reply,
    redis: Reply,
    outcome: Outcome,
}

/// Command kinds not generated, with the reason.
pub type Skipped = Vec<(&'static str, String)>;

/// Asks larder (and redis) `COMMAND INFO` for every candidate; returns the specs larder knows and the
/// skipped ones with the reason.
pub fn discover(larder: &mut Conn, redis: &mut Conn) -> io::Result<(Vec<&'static Spec>, Skipped)> {
    let mut names: Vec<&'static str> = Vec::new();
    for s in SPECS {
        for n in std::iter::once(&s.name).chain(s.also_needs) {
            if !names.contains(n) {
                names.push(n);
            }
        }
    }
    let known = |conn: &mut Conn| -> io::Result<BTreeSet<&'static str>> {
        let mut argv: Argv = vec![b"COMMAND".to_vec(), b"INFO".to_vec()];
        argv.extend(names.iter().map(|n| n.as_bytes().to_vec()));
        match conn.call(&argv)? {
            Reply::Array(items) if items.len() == names.len() => Ok(names
                .iter()
                .zip(items)
                .filter(|(_, r)| matches!(r, Reply::Array(a) if !a.is_empty()))
                .map(|(n, _)| *n)
                .collect()),
            other => Err(io::Error::other(format!(
                "{} answered COMMAND INFO with {}",
                conn.name,
                show_reply(&other)
            ))),
        }
    };
    let in_larder = known(larder)?;
    let in_redis = known(redis)?;
    let mut enabled = Vec::new();
    let mut skipped = Vec::new();
    for s in SPECS {
        let needs: Vec<&str> =
            std::iter::once(s.name).chain(s.also_needs.iter().copied()).collect();
        let larder_lacks: Vec<&str> =
            needs.iter().copied().filter(|n| !in_larder.contains(n)).collect();
        let redis_lacks: Vec<&str> =
            needs.iter().copied().filter(|n| !in_redis.contains(n)).collect();
        if !redis_lacks.is_empty() {
            skipped.push((s.name, format!("redis-server lacks {}", redis_lacks.join(", "))));
        } else if !larder_lacks.is_empty() {
            let why = if larder_lacks == [s.name] {
                "larder lacks it".to_owned()
            } else {
                format!("larder lacks {}", larder_lacks.join(", "))
            };
            skipped.push((s.name, why));
        } else {
            enabled.push(s);
        }
    }
    Ok((enabled, skipped))
}

/// Runs `opts.count` generated commands against both servers and compares every reply.
pub fn run(opts: &Options, mut larder: Conn, mut redis: Conn) -> io::Result<Report> {
    let (enabled, skipped) = discover(&mut larder, &mut redis)?;
    let mut report = Report {
        seed: opts.seed,
        enabled: enabled.iter().map(|s| s.name).collect(),
        skipped,
        ..Report::default()
    };
    if opts.print {
        println!(
            "larder-difftest: seed {}, {} commands; larder {}, redis {}",
            opts.seed,
            opts.count,
            larder.addr(),
            redis.addr()
        );
        println!(
            "generating {} command kinds; not generated: {}",
            enabled.len(),
            report.skipped.len()
        );
        print!("{}", report.skipped_by_reason());
    }
    if enabled.is_empty() {
        return Err(io::Error::other("larder knows none of the generated commands"));
    }
    let mut t = Tester { larder, redis };
    t.flushall()?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut generator = Gen::new(opts.seed, now_ms, &enabled);
    let mut log: Vec<Entry> = Vec::new();
    let start = Instant::now();
    for index in 1..=opts.count {
        let cmd = generator.next_cmd();
        report.generated += 1;
        let stat = report.stats.entry(cmd.name).or_default();
        let exec = t.execute(&cmd).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("at command #{index} (seed {}): {}: {e}", opts.seed, show_cmd(&cmd)),
            )
        })?;
        let Some(exec) = exec else {
            stat.guarded += 1;
            if opts.verbose {
                println!("#{index} {}\n    (skipped by guard)", show_cmd(&cmd));
            }
            continue;
        };
        if opts.verbose {
            println!("#{index} {}\n    -> {}", show_cmd(&cmd), show_reply(&exec.redis));
        }
        stat.run += 1;
        if exec.redis.is_error() {
            stat.errors += 1;
        }
        match &exec.outcome {
            Outcome::Same => {}
            Outcome::Format(diffs) => {
                stat.format += 1;
                if report.format_examples.iter().filter(|e| e.0 == cmd.name).count() < 2 {
                    let (l, r) = &diffs[0];
                    report.format_examples.push((show_cmd(&cmd), l.clone(), r.clone()));
                }
            }
            Outcome::Deliberate(id) => {
                stat.deliberate += 1;
                *report.deliberate.entry(id).or_default() += 1;
            }
            Outcome::Mismatch(reason) => {
                stat.mismatches += 1;
                let repro = involved(&log, &cmd);
                let m = Mismatch {
                    index,
                    cmd: cmd.clone(),
                    larder: exec.larder.clone(),
                    redis: exec.redis.clone(),
                    reason: reason.clone(),
                    repro,
                    shrunk: None,
                };
                if opts.print {
                    println!("{}", m.render(opts.seed));
                }
                report.mismatches.push(m);
                if !opts.all {
                    break;
                }
                // Resynchronise: forget the involved keys on both sides (and log it, so later
                // reproductions start from there).
                let resync = t.forget(&cmd)?;
                log.push(Entry { cmd, redis: exec.redis });
                log.push(Entry { cmd: resync, redis: Reply::OK });
                continue;
            }
        }
        log.push(Entry { cmd, redis: exec.redis });
    }
    report.elapsed = start.elapsed();
    if opts.shrink {
        for m in report.mismatches.iter_mut().take(opts.max_shrink) {
            let shrunk = t.shrink(m)?;
            if opts.print {
                println!("{}", render_shrunk(m, &shrunk));
            }
            m.shrunk = Some(shrunk);
        }
    }
    Ok(report)
}

/// The two connections and everything that sends commands.
struct Tester {
    larder: Conn,
    redis: Conn,
}

impl Tester {
    /// Empties both servers: the keyspace and the script cache (EVALSHA must start from NOSCRIPT).
    fn flushall(&mut self) -> io::Result<()> {
        for c in [&mut self.larder, &mut self.redis] {
            for cmd in [&["FLUSHALL"][..], &["SCRIPT", "FLUSH"]] {
                let r = c.call_str(cmd)?;
                if r != Reply::OK {
                    return Err(io::Error::other(format!(
                        "{} on {} answered {}",
                        cmd.join(" "),
                        c.name,
                        show_reply(&r)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Deletes the command's keys (or everything, for keyspace-wide commands) on both sides; returns
    /// what it sent, as a command for the log.
    fn forget(&mut self, cmd: &Cmd) -> io::Result<Cmd> {
        if cmd.keys.is_empty() || cmd.global {
            self.flushall()?;
            return Ok(Cmd::internal("FLUSHALL", vec![b"FLUSHALL".to_vec()], Vec::new()));
        }
        let mut argv: Argv = vec![b"DEL".to_vec()];
        argv.extend(cmd.keys.iter().cloned());
        self.larder.call(&argv)?;
        self.redis.call(&argv)?;
        Ok(Cmd::internal("DEL", argv, cmd.keys.clone()))
    }

    /// Whether the guard lets the command run (checked on redis).
    fn guard_ok(&mut self, guard: &Guard) -> io::Result<bool> {
        match guard {
            Guard::SameScores(k) => {
                let r = self.redis.call(&[
                    b"ZRANGE".to_vec(),
                    k.clone(),
                    b"0".to_vec(),
                    b"-1".to_vec(),
                    b"WITHSCORES".to_vec(),
                ])?;
                let Reply::Array(items) = r else { return Ok(true) };
                let mut scores = items.iter().skip(1).step_by(2);
                let first = scores.next();
                Ok(scores.all(|s| Some(s) == first))
            }
            Guard::LcsSize(a, b) => {
                let len = |c: &mut Conn, k: &[u8]| -> io::Result<i64> {
                    Ok(match c.call(&[b"STRLEN".to_vec(), k.to_vec()])? {
                        Reply::Int(n) => n,
                        _ => 0,
                    })
                };
                let (la, lb) = (len(&mut self.redis, a)?, len(&mut self.redis, b)?);
                Ok((la + 1) * (lb + 1) <= 250_000)
            }
            Guard::AnyExists(keys) => {
                let mut argv: Argv = vec![b"EXISTS".to_vec()];
                argv.extend(keys.iter().cloned());
                Ok(!matches!(self.redis.call(&argv)?, Reply::Int(0)))
            }
        }
    }

    /// Runs one command on both sides (larder first) and compares; `None` when its guard failed.
    fn execute(&mut self, cmd: &Cmd) -> io::Result<Option<Exec>> {
        if let Some(g) = &cmd.guard
            && !self.guard_ok(g)?
        {
            return Ok(None);
        }
        let exec = match &cmd.check {
            Check::Random(spec) => self.execute_random(cmd, spec)?,
            Check::Scan { pairs, .. } => {
                let larder = scan_all(&mut self.larder, &cmd.argvs[0], *pairs)?;
                let redis = scan_all(&mut self.redis, &cmd.argvs[0], *pairs)?;
                let outcome = compare(&cmd.check, &larder, &redis);
                Exec { larder, redis, outcome }
            }
            check => {
                let larder = send(&mut self.larder, &cmd.argvs)?;
                let redis = send(&mut self.redis, &cmd.argvs)?;
                let mut outcome = compare(check, &larder, &redis);
                if matches!(outcome, Outcome::Mismatch(_))
                    && let Some(id) = known_difference(&cmd.argvs[0], &larder, &redis)
                {
                    outcome = Outcome::Deliberate(id);
                }
                if let (Check::FloatIncr { .. }, Outcome::Deliberate("incrbyfloat-range")) =
                    (check, &outcome)
                {
                    // larder cannot hold Redis's value: forget the key on both sides (a replay of
                    // this command does the same).
                    self.forget(cmd)?;
                } else if let (Check::FloatIncr { field }, Outcome::Deliberate(_), Reply::Bulk(v)) =
                    (check, &outcome, &redis)
                {
                    // Copy redis's stored text to larder so later reads agree.
                    let key = cmd.keys[0].clone();
                    let argv: Argv = match field {
                        None => vec![b"SET".to_vec(), key, v.to_vec(), b"KEEPTTL".to_vec()],
                        Some(f) => vec![b"HSET".to_vec(), key, f.clone(), v.to_vec()],
                    };
                    self.larder.call(&argv)?;
                }
                Exec { larder, redis, outcome }
            }
        };
        Ok(Some(exec))
    }

    fn execute_random(&mut self, cmd: &Cmd, spec: &RandomSpec) -> io::Result<Exec> {
        let key = &cmd.keys[0];
        let snap_argv = spec.source.snapshot_argv(key);
        let larder_snap = spec.source.parse_snapshot(&self.larder.call(&snap_argv)?);
        let redis_snap = spec.source.parse_snapshot(&self.redis.call(&snap_argv)?);
        let larder = send(&mut self.larder, &cmd.argvs)?;
        let redis = send(&mut self.redis, &cmd.argvs)?;
        let outcome =
            compare_random(spec, &larder, &redis, larder_snap.as_ref(), redis_snap.as_ref());
        if spec.pops && !larder.is_error() && !redis.is_error() {
            // Each side removes what the other popped, so both end with the same set.
            let (lp, rp) = (random_members(spec, &larder), random_members(spec, &redis));
            if lp != rp {
                for (conn, popped) in [(&mut self.larder, rp), (&mut self.redis, lp)] {
                    if !popped.is_empty() {
                        let mut argv: Argv = vec![b"SREM".to_vec(), key.clone()];
                        argv.extend(popped);
                        conn.call(&argv)?;
                    }
                }
            }
        }
        Ok(Exec { larder, redis, outcome })
    }

    /// Replays `prefix` then `target` from empty servers; whether `target` still mismatches.
    fn reproduces(&mut self, prefix: &[&Cmd], target: &Cmd) -> io::Result<Option<Vec<Step>>> {
        self.flushall()?;
        let mut steps = Vec::new();
        for c in prefix.iter().copied().chain(std::iter::once(target)) {
            let step = match self.execute(c)? {
                Some(e) => Step {
                    cmd: c.clone(),
                    mismatch: matches!(e.outcome, Outcome::Mismatch(_)),
                    larder: e.larder,
                    redis: e.redis,
                },
                None => Step {
                    cmd: c.clone(),
                    larder: Reply::simple("(skipped by guard)"),
                    redis: Reply::simple("(skipped by guard)"),
                    mismatch: false,
                },
            };
            steps.push(step);
        }
        Ok(if steps.last().is_some_and(|s| s.mismatch) { Some(steps) } else { None })
    }

    /// Delta debugging over the reproduction's prefix, within a budget of replays and time.
    fn shrink(&mut self, m: &Mismatch) -> io::Result<Vec<Step>> {
        let (target, prefix) =
            m.repro.split_last().expect("the repro ends with the mismatching command");
        let mut cur: Vec<&Cmd> = prefix.iter().collect();
        let start = Instant::now();
        let budget = Duration::from_secs(120);
        let mut tests = 0;
        let Some(mut best) = self.reproduces(&cur, target)? else {
            // Not reproducible from the involved keys alone (random or order effects): report as is.
            return Ok(Vec::new());
        };
        let mut chunk = cur.len().div_ceil(2).max(1);
        while !cur.is_empty() {
            let mut removed = false;
            let mut i = 0;
            while i < cur.len() {
                if tests >= 3000 || start.elapsed() > budget {
                    break;
                }
                let cand: Vec<&Cmd> = cur[..i]
                    .iter()
                    .chain(cur[(i + chunk).min(cur.len())..].iter())
                    .copied()
                    .collect();
                tests += 1;
                if let Some(r) = self.reproduces(&cand, target)? {
                    cur = cand;
                    best = r;
                    removed = true;
                } else {
                    i += chunk;
                }
            }
            if tests >= 3000 || start.elapsed() > budget {
                break;
            }
            if chunk == 1 && !removed {
                break;
            }
            if !removed || chunk > 1 {
                chunk = (chunk / 2).max(1);
            }
        }
        Ok(best)
    }
}

/// Sends the argv(s); several (MULTI blocks) answer as one array.
fn send(conn: &mut Conn, argvs: &[Argv]) -> io::Result<Reply> {
    if argvs.len() == 1 {
        return conn.call(&argvs[0]);
    }
    let mut out = Vec::with_capacity(argvs.len());
    for a in argvs {
        out.push(conn.call(a)?);
    }
    Ok(Reply::Array(out))
}

/// Follows a SCAN-family cursor from the command's own first cursor until 0, merging the pages into one
/// sorted, de-duplicated array. An error (bad cursor or option) is returned as is.
fn scan_all(conn: &mut Conn, argv: &Argv, pairs: bool) -> io::Result<Reply> {
    let cpos = if argv[0].eq_ignore_ascii_case(b"SCAN") { 1 } else { 2 };
    let mut argv = argv.clone();
    let mut singles: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut map: BTreeMap<Vec<u8>, Reply> = BTreeMap::new();
    for _ in 0..100_000 {
        let r = conn.call(&argv)?;
        let (cursor, items) = match &r {
            Reply::Error(_) => return Ok(r),
            Reply::Array(parts) if parts.len() == 2 => match (&parts[0], &parts[1]) {
                (Reply::Bulk(c), Reply::Array(items)) => (c.clone(), items.clone()),
                _ => {
                    return Ok(Reply::Error(
                        format!("(harness) malformed page {}", show_reply(&r)).into(),
                    ));
                }
            },
            _ => {
                return Ok(Reply::Error(
                    format!("(harness) malformed page {}", show_reply(&r)).into(),
                ));
            }
        };
        if pairs {
            if items.len() % 2 != 0 {
                return Ok(Reply::Error(format!("(harness) odd page {}", show_reply(&r)).into()));
            }
            for p in items.chunks(2) {
                let Reply::Bulk(f) = &p[0] else {
                    return Ok(Reply::Error(
                        format!("(harness) malformed page {}", show_reply(&r)).into(),
                    ));
                };
                map.insert(f.to_vec(), p[1].clone());
            }
        } else {
            for i in items {
                match i {
                    Reply::Bulk(b) => singles.insert(b.to_vec()),
                    other => singles.insert(format!("(harness) {other:?}").into_bytes()),
                };
            }
        }
        if cursor.as_ref() == b"0" {
            let out = if pairs {
                map.into_iter().flat_map(|(f, v)| [Reply::Bulk(f.into()), v]).collect()
            } else {
                singles.into_iter().map(|b| Reply::Bulk(b.into())).collect()
            };
            return Ok(sorted(&Reply::Array(out), pairs));
        }
        argv[cpos] = cursor.to_vec();
    }
    Ok(Reply::Error("(harness) the scan did not reach cursor 0 in 100000 pages".into()))
}

/// The earlier commands that touch the mismatching command's keys (transitively), then the command.
fn involved(log: &[Entry], target: &Cmd) -> Vec<Cmd> {
    let mut out = vec![target.clone()];
    if target.global && target.name != "FLUSHALL" && target.name != "FLUSHDB" {
        // KEYS, SCAN, DBSIZE: every key matters.
        for e in log.iter().rev() {
            if is_flush(e) {
                break;
            }
            if !e.cmd.readonly {
                out.push(e.cmd.clone());
            }
        }
        out.reverse();
        return out;
    }
    let mut keys: BTreeSet<Vec<u8>> = target.keys.iter().cloned().collect();
    for e in log.iter().rev() {
        if is_flush(e) {
            break;
        }
        let touches = e.cmd.keys.iter().any(|k| keys.contains(k));
        if e.cmd.readonly {
            // Reads cannot change state; keep the ones on the involved keys, but do not follow their keys.
            if touches {
                out.push(e.cmd.clone());
            }
        } else if matches!(e.cmd.name, "DEL" | "UNLINK") && e.cmd.argvs[0].len() > 1 {
            // Deleted keys start from nothing here: earlier commands on them do not matter.
            if touches {
                out.push(e.cmd.clone());
                for k in &e.cmd.keys {
                    keys.remove(k);
                }
                if keys.is_empty() {
                    break;
                }
            }
        } else if e.cmd.name == "MSET" {
            // Each key on its own: keep the command, do not follow its other keys.
            if touches {
                out.push(e.cmd.clone());
            }
        } else if touches || (e.cmd.global && e.cmd.name == "MULTI") {
            keys.extend(e.cmd.keys.iter().cloned());
            out.push(e.cmd.clone());
        }
    }
    out.reverse();
    out
}

fn is_flush(e: &Entry) -> bool {
    matches!(e.cmd.name, "FLUSHALL" | "FLUSHDB") && e.redis == Reply::OK
}

/// A command (or MULTI block) on one line, for `redis-cli`.
pub fn show_cmd(cmd: &Cmd) -> String {
    let text = cmd.argvs.iter().map(|a| show_argv(a)).collect::<Vec<_>>().join("\n    ");
    match &cmd.check {
        Check::Random(RandomSpec { pops: true, .. }) => {
            format!("{text}   # random; each side then SREMs what the other popped")
        }
        Check::Random(_) => format!("{text}   # random reply"),
        Check::Scan { .. } => format!("{text}   # followed to cursor 0"),
        _ => text,
    }
}

impl Mismatch {
    /// The mismatch with its (unshrunk) reproduction.
    pub fn render(&self, seed: u64) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "\nMISMATCH at command #{} (seed {seed})", self.index);
        let _ = writeln!(s, "  command: {}", show_cmd(&self.cmd));
        let _ = writeln!(s, "  larder:  {}", show_reply(&self.larder));
        let _ = writeln!(s, "  redis:   {}", show_reply(&self.redis));
        let _ = writeln!(s, "  why:     {}", self.reason);
        let keys: Vec<String> = self.cmd.keys.iter().map(|k| show(k)).collect();
        let _ = writeln!(
            s,
            "  reproduction: the {} commands on the involved keys ({}), from an empty database:",
            self.repro.len(),
            if keys.is_empty() { "all keys".to_owned() } else { keys.join(" ") }
        );
        const MAX: usize = 60;
        let skip = self.repro.len().saturating_sub(MAX);
        if skip > 0 {
            let _ = writeln!(
                s,
                "    ... {skip} earlier commands not shown (see the shrunk reproduction)"
            );
        }
        for c in &self.repro[skip..] {
            let _ = writeln!(s, "    {}", show_cmd(c));
        }
        s
    }
}

fn render_shrunk(m: &Mismatch, shrunk: &[Step]) -> String {
    let mut s = String::new();
    if shrunk.is_empty() {
        let _ = writeln!(
            s,
            "MISMATCH #{}: replaying the {} involved commands from an empty database did not reproduce it",
            m.index,
            m.repro.len()
        );
        return s;
    }
    let _ = writeln!(
        s,
        "MINIMAL REPRODUCTION of the mismatch at #{} ({} commands, shrunk from {}), from an empty database:",
        m.index,
        shrunk.len(),
        m.repro.len()
    );
    for step in shrunk {
        let _ = writeln!(s, "    {}", show_cmd(&step.cmd));
        if step.mismatch {
            let _ = writeln!(s, "        larder: {}", show_reply(&step.larder));
            let _ = writeln!(s, "        redis:  {}", show_reply(&step.redis));
        }
    }
    s
}

impl Report {
    /// The skipped command kinds, one line per reason.
    pub fn skipped_by_reason(&self) -> String {
        let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (n, why) in &self.skipped {
            by_reason.entry(why.as_str()).or_default().push(n);
        }
        let mut s = String::new();
        for (why, names) in by_reason {
            let _ = writeln!(s, "  not generated, {why}: {}", names.join(" "));
        }
        s
    }

    /// The end-of-run summary: coverage, per-command counts, format and deliberate differences,
    /// mismatches.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let run: usize = self.stats.values().map(|st| st.run).sum();
        let guarded: usize = self.stats.values().map(|st| st.guarded).sum();
        let _ = writeln!(
            s,
            "\n== larder-difftest summary: seed {}, {} commands generated, {} run, {} skipped by guards, {:.1} s",
            self.seed,
            self.generated,
            run,
            guarded,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "command kinds generated: {}; not generated: {}",
            self.enabled.len(),
            self.skipped.len()
        );
        s.push_str(&self.skipped_by_reason());
        let _ = writeln!(
            s,
            "never generated by design (generator::EXCLUDED): {} entries",
            EXCLUDED.len()
        );
        let _ = writeln!(
            s,
            "per command: run = sent to both; errors = redis answered an error (an error path compared); \
             guarded = skipped, its precondition failed on redis; format = doubles equal but printed \
             differently; delib = documented differences"
        );
        let _ = writeln!(
            s,
            "{:<18} {:>6} {:>7} {:>7} {:>6} {:>6} {:>8}",
            "command", "run", "errors", "guarded", "format", "delib", "MISMATCH"
        );
        for (name, st) in &self.stats {
            let _ = writeln!(
                s,
                "{:<18} {:>6} {:>7} {:>7} {:>6} {:>6} {:>8}",
                name, st.run, st.errors, st.guarded, st.format, st.deliberate, st.mismatches
            );
        }
        let fmt: usize = self.stats.values().map(|st| st.format).sum();
        let _ = writeln!(s, "format differences (same double, other text): {fmt}");
        for (c, l, r) in &self.format_examples {
            let _ = writeln!(s, "  {c}: larder {l}, redis {r}");
        }
        for (id, n) in &self.deliberate {
            let why = KNOWN_DIFFERENCES.iter().find(|(k, _)| k == id).map_or("", |(_, d)| *d);
            let _ = writeln!(s, "deliberate difference {id}: {n} times ({why})");
        }
        let _ = writeln!(s, "MISMATCHES: {}", self.mismatches.len());
        for m in &self.mismatches {
            let _ = writeln!(
                s,
                "  #{} {}: larder {} / redis {}",
                m.index,
                show_cmd(&m.cmd),
                show_reply(&m.larder),
                show_reply(&m.redis)
            );
        }
        s
    }
}
