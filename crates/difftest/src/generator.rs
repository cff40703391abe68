//! The seeded random command generator.
//!
//! Keys come from a small pool per data type (so commands hit existing keys, keys of the wrong type and
//! missing keys often), values from a small pool of integers, floats, empty, binary and long strings, and
//! some arguments are deliberately wrong (bad numbers, wrong arity, bad or conflicting options) so error
//! paths are compared too. [`SPECS`] lists every generated command; [`EXCLUDED`] lists, with reasons,
//! what is deliberately never generated.

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use crate::check::{Check, DoublePos, RandomSpec, Source};
use crate::conn::Argv;

/// Commands (and options) never generated, with the reason. Reviewed by hand: anything whose answer
/// legitimately differs between two correct servers, or that Redis 7.0.15 lacks.
pub const EXCLUDED: &[(&str, &str)] = &[
    ("RANDOMKEY", "answers a random key of the whole keyspace: nothing deterministic to compare"),
    ("INFO", "server-specific text"),
    ("CLIENT", "connection-specific (ids, addresses, ages); CLIENT SETINFO is Redis 7.2+"),
    ("DEBUG", "implementation-specific"),
    ("OBJECT", "encodings, idle times and frequencies are implementation details"),
    ("MEMORY", "implementation-specific sizes"),
    ("TIME", "the wall clock"),
    ("LASTSAVE", "the wall clock"),
    ("DUMP", "serialization format is implementation-specific"),
    ("RESTORE", "needs DUMP payloads"),
    ("CONFIG", "server-specific settings"),
    ("SELECT", "larder has one database (documented in server.larder.txt)"),
    ("MOVE", "needs a second database"),
    ("SWAPDB", "needs a second database"),
    ("COPY ... DB n (n > 0)", "needs a second database; only DB 0 is generated"),
    ("WAIT", "replication"),
    ("AUTH/HELLO/QUIT/RESET", "connection state, tested by the server's own tests"),
    (
        "SORT ... BY/GET",
        "external-key patterns; SORT and SORT_RO are generated with LIMIT/ASC/DESC/ALPHA/STORE",
    ),
    (
        "BLPOP/BRPOP/BLMOVE/BRPOPLPUSH/BLMPOP/BZPOPMIN/BZPOPMAX/BZMPOP with timeout 0",
        "would block forever; these commands are generated with a 0.01 s timeout (or a bad one)",
    ),
    ("BITFIELD/BITFIELD_RO", "not covered yet"),
    ("HGETEX/HSETEX/HGETDEL", "Redis 8.0; 7.0.15 lacks them"),
    (
        "HEXPIRE/HPEXPIRE/HEXPIREAT/HPEXPIREAT/HTTL/HPTTL/HEXPIRETIME/HPEXPIRETIME/HPERSIST",
        "hash field expiry is Redis 7.4+",
    ),
    ("HSCAN ... NOVALUES", "Redis 7.4+"),
    ("ZRANK/ZREVRANK ... WITHSCORE", "Redis 7.2+"),
    (
        "LPOS ... RANK -9223372036854775808",
        "refused as out of range as in Redis 7.2+; Redis 7.0 reads it",
    ),
    ("ZRANGE/ZRANGESTORE by rank with LIMIT", "accepted as Upstash does; Redis refuses it"),
    (
        "SET/PSETEX/SETEX ... EXAT/PXAT in the past",
        "Redis 7.0 keeps the already-expired key until it is touched, so DBSIZE would race with active expiry (EXPIREAT/GETEX in the past delete at once and are generated)",
    ),
    (
        "relative TTLs below 1000 s",
        "would expire during a run; non-positive TTLs (delete at once / errors) are generated",
    ),
    (
        "lex ranges on zsets with mixed scores",
        "unspecified by Redis; lex commands are skipped (guard) unless every member has the same score",
    ),
    (
        "ZUNION/ZINTER/ZUNIONSTORE/ZINTERSTORE summing three or more inputs",
        "Redis adds the scores in order of input size (ties in qsort's order), so the last bit of a sum of non-dyadic scores depends on it; three inputs get AGGREGATE MIN/MAX, SUM is generated with one or two (exactly commutative)",
    ),
    (
        "SCAN/SSCAN/HSCAN/ZSCAN from a cursor other than 0",
        "cursors are implementation-specific; scans start at 0 (or at a malformed cursor, for the error) and are followed to 0",
    ),
    (
        "SRANDMEMBER/HRANDFIELD/ZRANDMEMBER with huge negative counts",
        "would build replies of 2^63 elements",
    ),
    (
        "SETBIT/SETRANGE at offsets near 2^32 bits / 512 MB",
        "valid but allocate 512 MB (the error paths just beyond are generated)",
    ),
];

/// A data type family, for picking keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Strings.
    Str,
    /// Generic keyspace commands: keys of any type.
    Generic,
    /// Hashes.
    Hash,
    /// Lists.
    List,
    /// Sets.
    Set,
    /// Sorted sets.
    Zset,
}

const STR_KEYS: &[&str] = &["str:1", "str:2", "str:3"];
const HASH_KEYS: &[&str] = &["hash:1", "hash:2", "hash:3"];
const LIST_KEYS: &[&str] = &["list:1", "list:2", "list:3"];
const SET_KEYS: &[&str] = &["set:1", "set:2", "set:3"];
const ZSET_KEYS: &[&str] = &["zset:1", "zset:2", "zset:3", "zlex"];
const SHARED_KEYS: &[&str] = &["tmp:1", "tmp:2"];
/// The sorted set whose members always get score 0, for the lex-range commands.
const ZLEX: &str = "zlex";

/// Every key the generator uses.
pub fn all_keys() -> Vec<&'static str> {
    [STR_KEYS, HASH_KEYS, LIST_KEYS, SET_KEYS, ZSET_KEYS, SHARED_KEYS].concat()
}

/// A check the runner makes on redis's state before sending a command, skipping it when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Guard {
    /// Every member of this sorted set has the same score (lex ranges are unspecified otherwise).
    SameScores(Vec<u8>),
    /// `STRLEN a * STRLEN b` is small (LCS allocates that much).
    LcsSize(Vec<u8>, Vec<u8>),
    /// One of these keys exists, so a blocking command answers at once instead of waiting for its
    /// timeout (most blocking commands carry it; the rest test the timeout).
    AnyExists(Vec<Vec<u8>>),
}

/// One generated command: usually one argv; MULTI blocks have several, and their replies are compared
/// as one array.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// The spec's name, for the summary.
    pub name: &'static str,
    /// The command(s) to send, in order.
    pub argvs: Vec<Argv>,
    /// The keys it touches (for the reproduction).
    pub keys: Vec<Vec<u8>>,
    /// How the replies are compared.
    pub check: Check,
    /// A precondition checked on redis first.
    pub guard: Option<Guard>,
    /// It reads or writes the whole keyspace (KEYS, SCAN, DBSIZE, FLUSHALL).
    pub global: bool,
    /// It changes nothing (so it never matters to a reproduction but for the keys it reads).
    pub readonly: bool,
}

/// Commands that never change the keyspace (SORT only without STORE).
const READONLY: &[&str] = &[
    "GET",
    "MGET",
    "STRLEN",
    "GETRANGE",
    "SUBSTR",
    "GETBIT",
    "BITCOUNT",
    "BITPOS",
    "BITFIELD_RO",
    "LCS",
    "EXISTS",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "TYPE",
    "KEYS",
    "SCAN",
    "DBSIZE",
    "SORT_RO",
    "TOUCH",
    "PING",
    "ECHO",
    "HGET",
    "HMGET",
    "HEXISTS",
    "HGETALL",
    "HKEYS",
    "HVALS",
    "HLEN",
    "HSTRLEN",
    "HRANDFIELD",
    "HSCAN",
    "LINDEX",
    "LLEN",
    "LRANGE",
    "LPOS",
    "SCARD",
    "SISMEMBER",
    "SMISMEMBER",
    "SMEMBERS",
    "SINTER",
    "SUNION",
    "SDIFF",
    "SINTERCARD",
    "SRANDMEMBER",
    "SSCAN",
    "ZCARD",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZSCORE",
    "ZMSCORE",
    "ZRANGE",
    "ZRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGE",
    "ZREVRANGEBYSCORE",
    "ZREVRANGEBYLEX",
    "ZRANK",
    "ZREVRANK",
    "ZRANDMEMBER",
    "ZSCAN",
    "ZUNION",
    "ZINTER",
    "ZDIFF",
    "ZINTERCARD",
];

/// Whether this command line changes nothing.
pub fn is_readonly(argv: &Argv) -> bool {
    let name = String::from_utf8_lossy(&argv[0]).to_ascii_uppercase();
    READONLY.contains(&name.as_str())
        || (name == "SORT" && !argv.iter().any(|a| a.eq_ignore_ascii_case(b"STORE")))
}

impl Cmd {
    /// A command the runner itself sends to both sides (a resynchronisation), for the log.
    pub fn internal(name: &'static str, argv: Argv, keys: Vec<Vec<u8>>) -> Cmd {
        let global = name == "FLUSHALL";
        Cmd {
            name,
            argvs: vec![argv],
            keys,
            check: Check::Exact,
            guard: None,
            global,
            readonly: false,
        }
    }
}

/// One generated command kind.
#[derive(Debug)]
pub struct Spec {
    /// The command name (what `COMMAND INFO` is asked about).
    pub name: &'static str,
    /// Relative frequency.
    pub weight: u32,
    /// Other commands it needs larder to know (MULTI needs EXEC).
    pub also_needs: &'static [&'static str],
    /// Blocks (with a short timeout); never mutated or put in MULTI.
    pub blocking: bool,
    /// Makes one command.
    pub make: fn(&mut Gen) -> Cmd,
}

const fn spec(name: &'static str, weight: u32, make: fn(&mut Gen) -> Cmd) -> Spec {
    Spec { name, weight, also_needs: &[], blocking: false, make }
}

const fn blocking(name: &'static str, make: fn(&mut Gen) -> Cmd) -> Spec {
    Spec { name, weight: 1, also_needs: &[], blocking: true, make }
}

/// Builds one command.
struct B {
    name: &'static str,
    argv: Argv,
    keys: Vec<Vec<u8>>,
    guard: Option<Guard>,
    global: bool,
}

impl B {
    fn arg(mut self, a: impl AsRef<[u8]>) -> B {
        self.argv.push(a.as_ref().to_vec());
        self
    }
    fn key(mut self, k: Vec<u8>) -> B {
        self.argv.push(k.clone());
        self.keys.push(k);
        self
    }
    fn keys(mut self, ks: Vec<Vec<u8>>) -> B {
        for k in ks {
            self = self.key(k);
        }
        self
    }
    fn guard(mut self, g: Guard) -> B {
        self.guard = Some(g);
        self
    }
    fn global(mut self) -> B {
        self.global = true;
        self
    }
    /// For blocking commands: usually skip them when none of `keys` exists (the timeout costs up to
    /// 100 ms in redis-server); sometimes let them time out.
    fn maybe_wait(mut self, g: &mut Gen, keys: &[Vec<u8>]) -> B {
        if g.p(0.8) {
            self.guard = Some(Guard::AnyExists(keys.to_vec()));
        }
        self
    }

    fn done(self, check: Check) -> Cmd {
        let readonly = is_readonly(&self.argv);
        Cmd {
            name: self.name,
            argvs: vec![self.argv],
            keys: self.keys,
            check,
            guard: self.guard,
            global: self.global,
            readonly,
        }
    }
    fn exact(self) -> Cmd {
        self.done(Check::Exact)
    }
}

/// The generator: a seeded RNG, the enabled specs and the time base for absolute expiries.
#[derive(Debug)]
pub struct Gen {
    rng: StdRng,
    now_s: i64,
    enabled: Vec<&'static Spec>,
    total_weight: u32,
}

impl Gen {
    /// A generator over the `enabled` specs; `now_ms` anchors EXPIREAT/EXAT arguments.
    pub fn new(seed: u64, now_ms: i64, enabled: &[&'static Spec]) -> Gen {
        let total_weight = enabled.iter().map(|s| s.weight).sum();
        Gen {
            rng: StdRng::seed_from_u64(seed),
            now_s: now_ms / 1000,
            enabled: enabled.to_vec(),
            total_weight,
        }
    }

    /// The next command.
    pub fn next_cmd(&mut self) -> Cmd {
        let spec = self.pick_spec();
        let mut cmd = (spec.make)(self);
        // Sometimes break the arity or add a junk argument, to compare error paths.
        let mutable = matches!(cmd.check, Check::Exact | Check::Doubles(_) | Check::Ttl { .. })
            && !spec.blocking
            && cmd.argvs.len() == 1;
        if mutable && self.p(0.03) {
            let argv = &mut cmd.argvs[0];
            if argv.len() > 1 && self.p(0.5) {
                argv.pop();
            } else {
                let junk: &[u8] = self.pick(&[b"junk".as_slice(), b"NX", b"1"]);
                argv.push(junk.to_vec());
            }
        }
        cmd
    }

    fn pick_spec(&mut self) -> &'static Spec {
        assert!(self.total_weight > 0, "no command enabled");
        let mut r = self.rng.random_range(0..self.total_weight);
        for s in &self.enabled {
            if r < s.weight {
                return s;
            }
            r -= s.weight;
        }
        unreachable!("weights add up")
    }

    fn b(&mut self, name: &'static str) -> B {
        let word = if self.p(0.2) { name.to_ascii_lowercase() } else { name.to_owned() };
        B { name, argv: vec![word.into_bytes()], keys: Vec::new(), guard: None, global: false }
    }

    /// An option keyword, sometimes in lower case.
    fn kw(&mut self, w: &str) -> Vec<u8> {
        if self.p(0.2) { w.to_ascii_lowercase().into_bytes() } else { w.as_bytes().to_vec() }
    }

    fn p(&mut self, prob: f64) -> bool {
        self.rng.random_bool(prob)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.rng).expect("non-empty pool")
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.random_range(lo..=hi)
    }

    /// A key for `fam`: mostly its own pool, sometimes any key (wrong types), sometimes a shared one.
    fn key(&mut self, fam: Family) -> Vec<u8> {
        self.key_with(fam, 0.85, 0.96)
    }

    /// A key a command overwrites whatever its type (SET, stores): rarely of another family, so the
    /// families' keys keep their types most of the time.
    fn key_w(&mut self, fam: Family) -> Vec<u8> {
        self.key_with(fam, 0.96, 0.985)
    }

    fn key_with(&mut self, fam: Family, own_p: f64, any_p: f64) -> Vec<u8> {
        let own: &[&str] = match fam {
            Family::Str => STR_KEYS,
            Family::Hash => HASH_KEYS,
            Family::List => LIST_KEYS,
            Family::Set => SET_KEYS,
            Family::Zset => ZSET_KEYS,
            Family::Generic => {
                let all = all_keys();
                return self.pick(&all).as_bytes().to_vec();
            }
        };
        let r: f64 = self.rng.random();
        let k = if r < own_p {
            self.pick(own)
        } else if r < any_p {
            let all = all_keys();
            self.pick(&all)
        } else {
            self.pick(SHARED_KEYS)
        };
        k.as_bytes().to_vec()
    }

    /// A source and a destination (RENAME, COPY): mostly of the same family, so types do not spread.
    /// Rarely the same key twice (COPY k k is a documented difference, RENAME k k a no-op).
    fn key_pair(&mut self) -> (Vec<u8>, Vec<u8>) {
        let (src, mut dst) = if self.p(0.75) {
            let fam =
                self.pick(&[Family::Str, Family::Hash, Family::List, Family::Set, Family::Zset]);
            (self.key_with(fam, 1.0, 1.0), self.key_with(fam, 1.0, 1.0))
        } else {
            (self.key(Family::Generic), self.key(Family::Generic))
        };
        if dst == src && self.p(0.8) {
            dst = self.key(Family::Generic);
        }
        if dst == ZLEX.as_bytes() {
            dst = b"zset:2".to_vec();
        }
        (src, dst)
    }

    fn keys(&mut self, fam: Family, lo: i64, hi: i64) -> Vec<Vec<u8>> {
        let n = self.range(lo, hi);
        (0..n).map(|_| self.key(fam)).collect()
    }

    /// A zset key other than the lex one (destinations of stores keep `zlex` uniform).
    fn zdest(&mut self) -> Vec<u8> {
        let k = self.key_w(Family::Zset);
        if k == ZLEX.as_bytes() { b"zset:1".to_vec() } else { k }
    }

    /// A string value: integers, floats, words, empty, binary, long.
    fn value(&mut self) -> Vec<u8> {
        let r: f64 = self.rng.random();
        if r < 0.03 {
            return long_value(self.range(200, 600) as usize);
        }
        let v: &[u8] = self.pick(&[
            b"0".as_slice(),
            b"1",
            b"-1",
            b"7",
            b"42",
            b"-100",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"9223372036854775808",
            b"1.5",
            b"-0.25",
            b"0.1",
            b"-0",
            b".5",
            b"3e2",
            b"1e3",
            b"inf",
            b"abc",
            b"foo",
            b"bar",
            b"hello world",
            b"",
            b"01",
            b" 1",
            b"+1",
            b"\x00\xff\x01bin\r\n",
            "caf\u{e9}".as_bytes(),
            b"a",
            b"b",
        ]);
        v.to_vec()
    }

    /// A member, field or list element: a small pool, so collections overlap.
    fn member(&mut self) -> Vec<u8> {
        if self.p(0.02) {
            return long_value(80);
        }
        let m: &[u8] = self.pick(&[
            b"a".as_slice(),
            b"b",
            b"c",
            b"d",
            b"e",
            b"f",
            b"1",
            b"2",
            b"10",
            b"-3",
            b"1.5",
            b"",
            b"\x00\xffm",
            b"a b",
        ]);
        m.to_vec()
    }

    fn members(&mut self, lo: i64, hi: i64) -> Vec<Vec<u8>> {
        let n = self.range(lo, hi);
        (0..n).map(|_| self.member()).collect()
    }

    /// An integer argument: mostly small, sometimes extreme, sometimes not an integer at all.
    fn int(&mut self) -> Vec<u8> {
        let r: f64 = self.rng.random();
        if r < 0.85 {
            self.range(-5, 12).to_string().into_bytes()
        } else if r < 0.95 {
            let v: &str = self.pick(&[
                "100",
                "-100",
                "9223372036854775807",
                "-9223372036854775808",
                "1000000",
            ]);
            v.as_bytes().to_vec()
        } else {
            bad_int(self)
        }
    }

    /// A small integer in `lo..=hi`, with a 3% chance of a bad one.
    fn small(&mut self, lo: i64, hi: i64) -> Vec<u8> {
        if self.p(0.03) { bad_int(self) } else { self.range(lo, hi).to_string().into_bytes() }
    }

    /// A float argument (increments).
    fn float(&mut self) -> Vec<u8> {
        let v: &str = if self.p(0.95) {
            self.pick(&[
                "1", "-1", "1.5", "-0.25", "2.5", "0.1", "10", "1e3", "-2e-3", "3.0", "0", "+inf",
                "-inf",
            ])
        } else {
            self.pick(&[
                "abc", "nan", "", "1e400", "1.5x", " 1", "0x1A", ".5", "5.", "-0", "1e", "infinity",
            ])
        };
        v.as_bytes().to_vec()
    }

    /// A sorted-set score: mostly exactly representable, so sums do not depend on their order.
    fn score(&mut self) -> Vec<u8> {
        let v: &str = if self.p(0.96) {
            self.pick(&[
                "0", "1", "2", "3", "-1", "1.5", "2.5", "-0.25", "10", "100", "1e3", "+inf",
                "-inf", "0.1",
            ])
        } else {
            self.pick(&["abc", "nan", "", "(1", "0x10", ".5", "-0"])
        };
        v.as_bytes().to_vec()
    }

    /// A score range bound: inclusive, exclusive, infinite, sometimes malformed.
    fn score_bound(&mut self) -> Vec<u8> {
        let v: &str = if self.p(0.96) {
            self.pick(&[
                "-inf", "+inf", "inf", "0", "1", "(1", "1.5", "(2.5", "3", "10", "(100", "-1",
                "(-inf", "(+inf",
            ])
        } else {
            self.pick(&["abc", "((1", "", "nan", "[1"])
        };
        v.as_bytes().to_vec()
    }

    /// A lex range bound: `[x`, `(x`, `-`, `+`, sometimes malformed.
    fn lex_bound(&mut self) -> Vec<u8> {
        if self.p(0.04) {
            let v: &[u8] = self.pick(&[b"a".as_slice(), b"", b"inf"]);
            return v.to_vec();
        }
        let r: f64 = self.rng.random();
        if r < 0.15 {
            return b"-".to_vec();
        }
        if r < 0.30 {
            return b"+".to_vec();
        }
        let mut v = if self.p(0.5) { b"[".to_vec() } else { b"(".to_vec() };
        v.extend(self.member());
        v
    }

    fn ttl_s(&mut self) -> Vec<u8> {
        let r: f64 = self.rng.random();
        if r < 0.88 {
            self.range(1000, 1_000_000).to_string().into_bytes()
        } else if r < 0.95 {
            let v: &str = self.pick(&["0", "-1", "-100"]);
            v.as_bytes().to_vec()
        } else {
            let v: &str = self.pick(&[
                "abc",
                "1.5",
                "",
                "9223372036854775807",
                "99999999999999999",
                "-9223372036854775808",
            ]);
            v.as_bytes().to_vec()
        }
    }

    fn ttl_ms(&mut self) -> Vec<u8> {
        let r: f64 = self.rng.random();
        if r < 0.88 {
            self.range(1_000_000, 1_000_000_000).to_string().into_bytes()
        } else if r < 0.95 {
            let v: &str = self.pick(&["0", "-1", "-100"]);
            v.as_bytes().to_vec()
        } else {
            let v: &str =
                self.pick(&["abc", "1.5", "", "9223372036854775807", "-9223372036854775808"]);
            v.as_bytes().to_vec()
        }
    }

    /// A unix time in seconds: future (random or one of two fixed ones, for exact GT/LT ties), past when
    /// `past` allows it, or malformed.
    fn at_s(&mut self, past: bool) -> Vec<u8> {
        let r: f64 = self.rng.random();
        let v = if r < 0.6 {
            self.now_s + self.range(1000, 1_000_000)
        } else if r < 0.85 {
            self.now_s + self.pick(&[200_000, 300_000])
        } else if r < 0.95 && past {
            self.pick(&[1, self.now_s - 1000])
        } else if r < 0.95 {
            self.now_s + 5000
        } else {
            let v: &str = self.pick(&["abc", "", "-1", "9223372036854775807"]);
            return v.as_bytes().to_vec();
        };
        v.to_string().into_bytes()
    }

    fn at_ms(&mut self, past: bool) -> Vec<u8> {
        let s = self.at_s(past);
        match std::str::from_utf8(&s).ok().and_then(|t| t.parse::<i64>().ok()) {
            Some(v) if v > 0 && v < 1 << 40 => {
                (v * 1000 + self.range(0, 999)).to_string().into_bytes()
            }
            _ => s,
        }
    }

    /// A blocking timeout: short (so an empty key costs 10 ms), or malformed. Never 0.
    fn timeout(&mut self) -> Vec<u8> {
        let v: &str = if self.p(0.93) { "0.01" } else { self.pick(&["-1", "abc", "-0.5"]) };
        v.as_bytes().to_vec()
    }

    /// A glob pattern for KEYS and SCAN MATCH.
    fn pattern(&mut self) -> Vec<u8> {
        let v: &str = self.pick(&[
            "*", "str:*", "*:1", "h?sh:*", "[sl]*", "*[!0-9]", "nomatch", "z*", "*e*", "\\*",
            "[a-", "tmp:[12]", "",
        ]);
        v.as_bytes().to_vec()
    }
}

fn bad_int(g: &mut Gen) -> Vec<u8> {
    let v: &str =
        g.pick(&["abc", "1.5", "", "9223372036854775808", " 1", "1e3", "0x10", "01", "+1", "-0"]);
    v.as_bytes().to_vec()
}

fn long_value(n: usize) -> Vec<u8> {
    let mut v = b"long-".to_vec();
    v.extend((0..n).map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]));
    v
}

// ---------------------------------------------------------------------------------------------------
// The spec table.

/// Every command the generator knows, with its weight. Commands larder does not know (`COMMAND INFO`)
/// are left out at run time.
pub static SPECS: &[Spec] = &[
    // strings
    spec("APPEND", 8, |g| {
        let (b, k) = (g.b("APPEND"), g.key(Family::Str));
        let v = if g.p(0.7) { g.member() } else { g.value() };
        b.key(k).arg(v).exact()
    }),
    spec("DECR", 6, |g| {
        let (b, k) = (g.b("DECR"), g.key(Family::Str));
        b.key(k).exact()
    }),
    spec("DECRBY", 6, |g| {
        let (b, k, n) = (g.b("DECRBY"), g.key(Family::Str), g.int());
        b.key(k).arg(n).exact()
    }),
    spec("GET", 10, |g| {
        let (b, k) = (g.b("GET"), g.key(Family::Str));
        b.key(k).exact()
    }),
    spec("GETDEL", 5, |g| {
        let (b, k) = (g.b("GETDEL"), g.key(Family::Str));
        b.key(k).exact()
    }),
    spec("GETEX", 8, gen_getex),
    spec("GETRANGE", 6, |g| {
        let (b, k, s, e) = (g.b("GETRANGE"), g.key(Family::Str), g.int(), g.int());
        b.key(k).arg(s).arg(e).exact()
    }),
    spec("GETSET", 6, |g| {
        let (b, k, v) = (g.b("GETSET"), g.key_w(Family::Str), g.value());
        b.key(k).arg(v).exact()
    }),
    spec("INCR", 6, |g| {
        let (b, k) = (g.b("INCR"), g.key(Family::Str));
        b.key(k).exact()
    }),
    spec("INCRBY", 6, |g| {
        let (b, k, n) = (g.b("INCRBY"), g.key(Family::Str), g.int());
        b.key(k).arg(n).exact()
    }),
    spec("INCRBYFLOAT", 8, |g| {
        let (b, k, n) = (g.b("INCRBYFLOAT"), g.key(Family::Str), g.float());
        b.key(k).arg(n).done(Check::FloatIncr { field: None })
    }),
    spec("LCS", 4, gen_lcs),
    spec("MGET", 6, |g| {
        let (b, ks) = (g.b("MGET"), g.keys(Family::Str, 1, 4));
        b.keys(ks).exact()
    }),
    spec("MSET", 6, |g| gen_mset(g, "MSET")),
    spec("MSETNX", 5, |g| gen_mset(g, "MSETNX")),
    spec("PSETEX", 4, |g| {
        let (b, k, t, v) = (g.b("PSETEX"), g.key_w(Family::Str), g.ttl_ms(), g.value());
        b.key(k).arg(t).arg(v).exact()
    }),
    spec("SET", 20, gen_set),
    spec("SETEX", 4, |g| {
        let (b, k, t, v) = (g.b("SETEX"), g.key_w(Family::Str), g.ttl_s(), g.value());
        b.key(k).arg(t).arg(v).exact()
    }),
    spec("SETNX", 5, |g| {
        let (b, k, v) = (g.b("SETNX"), g.key(Family::Str), g.value());
        b.key(k).arg(v).exact()
    }),
    spec("SETRANGE", 6, |g| {
        let (b, k) = (g.b("SETRANGE"), g.key(Family::Str));
        let r: f64 = g.rng.random();
        let off = if r < 0.85 {
            g.range(0, 20).to_string()
        } else if r < 0.93 {
            g.range(100, 200).to_string()
        } else {
            g.pick(&["-1", "abc", "536870912", "9223372036854775807"]).to_owned()
        };
        let v =
            if off.starts_with('5') || off.starts_with('9') { b"x".to_vec() } else { g.member() };
        b.key(k).arg(off).arg(v).exact()
    }),
    spec("STRLEN", 6, |g| {
        let (b, k) = (g.b("STRLEN"), g.key(Family::Str));
        b.key(k).exact()
    }),
    spec("SUBSTR", 3, |g| {
        let (b, k, s, e) = (g.b("SUBSTR"), g.key(Family::Str), g.int(), g.int());
        b.key(k).arg(s).arg(e).exact()
    }),
    spec("SETBIT", 4, |g| {
        let (b, k) = (g.b("SETBIT"), g.key(Family::Str));
        let off = if g.p(0.93) {
            g.range(0, 100).to_string()
        } else {
            g.pick(&["-1", "4294967296", "abc"]).to_owned()
        };
        let bit = if g.p(0.95) { g.pick(&["0", "1"]) } else { g.pick(&["2", "-1", "x"]) };
        b.key(k).arg(off).arg(bit).exact()
    }),
    spec("GETBIT", 4, |g| {
        let (b, k) = (g.b("GETBIT"), g.key(Family::Str));
        let off = if g.p(0.95) {
            g.range(0, 120).to_string()
        } else {
            g.pick(&["-1", "4294967296", "abc"]).to_owned()
        };
        b.key(k).arg(off).exact()
    }),
    spec("BITCOUNT", 4, |g| {
        let (mut b, k) = (g.b("BITCOUNT"), g.key(Family::Str));
        b = b.key(k);
        if g.p(0.6) {
            let (s, e) = (g.small(-6, 6), g.small(-6, 6));
            b = b.arg(s).arg(e);
            if g.p(0.4) {
                let u = g.pick(&["BYTE", "BIT", "WORD"]);
                b = b.arg(g.kw(u));
            }
        } else if g.p(0.1) {
            let s = g.small(0, 3);
            b = b.arg(s);
        }
        b.exact()
    }),
    spec("BITPOS", 4, |g| {
        let (mut b, k) = (g.b("BITPOS"), g.key(Family::Str));
        let bit = if g.p(0.95) { g.pick(&["0", "1"]) } else { "2" };
        b = b.key(k).arg(bit);
        if g.p(0.6) {
            b = b.arg(g.small(-6, 6));
            if g.p(0.6) {
                b = b.arg(g.small(-6, 6));
                if g.p(0.4) {
                    let u = g.pick(&["BYTE", "BIT", "WORD"]);
                    b = b.arg(g.kw(u));
                }
            }
        }
        b.exact()
    }),
    spec("BITOP", 3, |g| {
        let b = g.b("BITOP");
        let op = g.pick(&["AND", "OR", "XOR", "NOT", "NAND"]);
        let op = g.kw(op);
        let dest = g.key_w(Family::Str);
        let n = if op.eq_ignore_ascii_case(b"NOT") && g.p(0.8) { 1 } else { g.range(1, 3) };
        let srcs = g.keys(Family::Str, n, n);
        b.arg(op).key(dest).keys(srcs).exact()
    }),
    spec("BITFIELD", 3, |g| {
        let (b, k) = (g.b("BITFIELD"), g.key(Family::Str));
        bitfield_ops(g, b.key(k), false).exact()
    }),
    spec("BITFIELD_RO", 2, |g| {
        let (b, k) = (g.b("BITFIELD_RO"), g.key(Family::Str));
        bitfield_ops(g, b.key(k), true).exact()
    }),
    spec("PFADD", 4, |g| {
        let (b, k) = (g.b("PFADD"), hll_key(g));
        let mut b = b.key(k);
        for m in g.members(0, 4) {
            b = b.arg(m);
        }
        b.exact()
    }),
    spec("PFCOUNT", 3, |g| {
        let b = g.b("PFCOUNT");
        let ks = (0..g.range(1, 3)).map(|_| hll_key(g)).collect();
        b.keys(ks).exact()
    }),
    spec("PFMERGE", 2, |g| {
        let (b, dest) = (g.b("PFMERGE"), hll_key(g));
        let srcs = (0..g.range(0, 2)).map(|_| hll_key(g)).collect();
        b.key(dest).keys(srcs).exact()
    }),
    // generic
    spec("COPY", 5, |g| {
        let (mut b, (src, dst)) = (g.b("COPY"), g.key_pair());
        b = b.key(src).key(dst);
        if g.p(0.1) {
            b = b.arg(g.kw("DB")).arg("0");
        }
        if g.p(0.4) {
            b = b.arg(g.kw("REPLACE"));
        }
        if g.p(0.03) {
            b = b.arg(g.kw("BOGUS"));
        }
        b.exact()
    }),
    spec("DBSIZE", 3, |g| g.b("DBSIZE").global().exact()),
    spec("DEL", 8, |g| {
        let (b, ks) = (g.b("DEL"), g.keys(Family::Generic, 1, 3));
        b.keys(ks).exact()
    }),
    spec("EXISTS", 5, |g| {
        let (b, ks) = (g.b("EXISTS"), g.keys(Family::Generic, 1, 4));
        b.keys(ks).exact()
    }),
    spec("EXPIRE", 6, |g| {
        let (b, k, t) = (g.b("EXPIRE"), g.key(Family::Generic), g.ttl_s());
        expire_opts(g, b.key(k).arg(t))
    }),
    spec("EXPIREAT", 5, |g| {
        let (b, k, t) = (g.b("EXPIREAT"), g.key(Family::Generic), g.at_s(true));
        expire_opts(g, b.key(k).arg(t))
    }),
    spec("EXPIRETIME", 4, |g| {
        let (b, k) = (g.b("EXPIRETIME"), g.key(Family::Generic));
        b.key(k).done(Check::Ttl { tolerance: 1 })
    }),
    spec("KEYS", 3, |g| {
        let (b, p) = (g.b("KEYS"), g.pattern());
        b.arg(p).global().done(Check::Unordered { pairs: false })
    }),
    spec("PERSIST", 5, |g| {
        let (b, k) = (g.b("PERSIST"), g.key(Family::Generic));
        b.key(k).exact()
    }),
    spec("PEXPIRE", 5, |g| {
        let (b, k, t) = (g.b("PEXPIRE"), g.key(Family::Generic), g.ttl_ms());
        expire_opts(g, b.key(k).arg(t))
    }),
    spec("PEXPIREAT", 4, |g| {
        let (b, k, t) = (g.b("PEXPIREAT"), g.key(Family::Generic), g.at_ms(true));
        expire_opts(g, b.key(k).arg(t))
    }),
    spec("PEXPIRETIME", 3, |g| {
        let (b, k) = (g.b("PEXPIRETIME"), g.key(Family::Generic));
        b.key(k).done(Check::Ttl { tolerance: 1000 })
    }),
    spec("PTTL", 4, |g| {
        let (b, k) = (g.b("PTTL"), g.key(Family::Generic));
        b.key(k).done(Check::Ttl { tolerance: 1000 })
    }),
    spec("RENAME", 4, |g| {
        let (b, (s, d)) = (g.b("RENAME"), g.key_pair());
        b.key(s).key(d).exact()
    }),
    spec("RENAMENX", 4, |g| {
        let (b, (s, d)) = (g.b("RENAMENX"), g.key_pair());
        b.key(s).key(d).exact()
    }),
    spec("SCAN", 4, |g| {
        let mut b = g.b("SCAN");
        b = b.arg(if g.p(0.03) { "abc" } else { "0" });
        b = scan_opts(g, b);
        if g.p(0.3) {
            let t = g.pick(&["string", "hash", "list", "set", "zset", "none", "bogus"]);
            b = b.arg(g.kw("TYPE")).arg(t);
        }
        b.global().done(Check::Scan { pairs: false, doubles: false })
    }),
    spec("SORT", 4, |g| gen_sort(g, "SORT")),
    spec("SORT_RO", 2, |g| gen_sort(g, "SORT_RO")),
    spec("TOUCH", 3, |g| {
        let (b, ks) = (g.b("TOUCH"), g.keys(Family::Generic, 1, 3));
        b.keys(ks).exact()
    }),
    spec("TTL", 6, |g| {
        let (b, k) = (g.b("TTL"), g.key(Family::Generic));
        b.key(k).done(Check::Ttl { tolerance: 1 })
    }),
    spec("TYPE", 5, |g| {
        let (b, k) = (g.b("TYPE"), g.key(Family::Generic));
        b.key(k).exact()
    }),
    spec("UNLINK", 4, |g| {
        let (b, ks) = (g.b("UNLINK"), g.keys(Family::Generic, 1, 3));
        b.keys(ks).exact()
    }),
    spec("FLUSHALL", 1, |g| {
        let mut b = g.b("FLUSHALL").global();
        if g.p(0.3) {
            let o = g.pick(&["SYNC", "ASYNC", "BOGUS"]);
            b = b.arg(g.kw(o));
        }
        b.exact()
    }),
    spec("FLUSHDB", 1, |g| {
        let mut b = g.b("FLUSHDB").global();
        if g.p(0.3) {
            let o = g.pick(&["SYNC", "ASYNC"]);
            b = b.arg(g.kw(o));
        }
        b.exact()
    }),
    spec("PING", 1, |g| {
        let mut b = g.b("PING");
        if g.p(0.5) {
            b = b.arg(g.value());
        }
        b.exact()
    }),
    spec("ECHO", 1, |g| {
        let (b, v) = (g.b("ECHO"), g.value());
        b.arg(v).exact()
    }),
    spec("EVAL", 6, gen_eval),
    spec("EVALSHA", 2, gen_evalsha),
    Spec {
        name: "MULTI",
        weight: 3,
        also_needs: &["EXEC", "DISCARD"],
        blocking: false,
        make: gen_multi,
    },
    // hashes
    spec("HDEL", 6, |g| {
        let (b, k, fs) = (g.b("HDEL"), g.key(Family::Hash), g.members(1, 3));
        b.key(k).keys_as_args(fs).exact()
    }),
    spec("HEXISTS", 5, |g| {
        let (b, k, f) = (g.b("HEXISTS"), g.key(Family::Hash), g.member());
        b.key(k).arg(f).exact()
    }),
    spec("HGET", 8, |g| {
        let (b, k, f) = (g.b("HGET"), g.key(Family::Hash), g.member());
        b.key(k).arg(f).exact()
    }),
    spec("HGETALL", 5, |g| {
        let (b, k) = (g.b("HGETALL"), g.key(Family::Hash));
        b.key(k).done(Check::Unordered { pairs: true })
    }),
    spec("HINCRBY", 5, |g| {
        let (b, k, f, n) = (g.b("HINCRBY"), g.key(Family::Hash), g.member(), g.int());
        b.key(k).arg(f).arg(n).exact()
    }),
    spec("HINCRBYFLOAT", 5, |g| {
        let (b, k, f, n) = (g.b("HINCRBYFLOAT"), g.key(Family::Hash), g.member(), g.float());
        b.key(k).arg(f.clone()).arg(n).done(Check::FloatIncr { field: Some(f) })
    }),
    spec("HKEYS", 4, |g| {
        let (b, k) = (g.b("HKEYS"), g.key(Family::Hash));
        b.key(k).done(Check::Unordered { pairs: false })
    }),
    spec("HLEN", 4, |g| {
        let (b, k) = (g.b("HLEN"), g.key(Family::Hash));
        b.key(k).exact()
    }),
    spec("HMGET", 5, |g| {
        let (b, k, fs) = (g.b("HMGET"), g.key(Family::Hash), g.members(1, 4));
        b.key(k).keys_as_args(fs).exact()
    }),
    spec("HMSET", 4, |g| gen_hset(g, "HMSET")),
    spec("HRANDFIELD", 5, |g| {
        let (b, k) = (g.b("HRANDFIELD"), g.key(Family::Hash));
        gen_random(g, b.key(k), Source::Hash, "WITHVALUES")
    }),
    spec("HSCAN", 4, |g| {
        let (b, k) = (g.b("HSCAN"), g.key(Family::Hash));
        let b = b.key(k).arg(if g.p(0.03) { " 0" } else { "0" });
        scan_opts(g, b).done(Check::Scan { pairs: true, doubles: false })
    }),
    spec("HSET", 20, |g| gen_hset(g, "HSET")),
    spec("HSETNX", 5, |g| {
        let (b, k, f, v) = (g.b("HSETNX"), g.key(Family::Hash), g.member(), g.value());
        b.key(k).arg(f).arg(v).exact()
    }),
    spec("HSTRLEN", 4, |g| {
        let (b, k, f) = (g.b("HSTRLEN"), g.key(Family::Hash), g.member());
        b.key(k).arg(f).exact()
    }),
    spec("HVALS", 4, |g| {
        let (b, k) = (g.b("HVALS"), g.key(Family::Hash));
        b.key(k).done(Check::Unordered { pairs: false })
    }),
    // lists
    blocking("BLMOVE", |g| {
        let (b, s, d) = (g.b("BLMOVE"), g.key(Family::List), g.key(Family::List));
        let (w1, w2) = (side(g, "LEFT", "RIGHT"), side(g, "LEFT", "RIGHT"));
        let t = g.timeout();
        b.key(s.clone()).key(d).arg(w1).arg(w2).arg(t).maybe_wait(g, &[s]).exact()
    }),
    blocking("BLMPOP", |g| {
        let (b, t) = (g.b("BLMPOP"), g.timeout());
        let b = b.arg(t);
        let b = gen_mpop(g, b, Family::List, "LEFT", "RIGHT");
        let ks = b.keys.clone();
        b.maybe_wait(g, &ks).exact()
    }),
    blocking("BLPOP", |g| {
        let (b, ks, t) = (g.b("BLPOP"), g.keys(Family::List, 1, 3), g.timeout());
        b.keys(ks.clone()).arg(t).maybe_wait(g, &ks).exact()
    }),
    blocking("BRPOP", |g| {
        let (b, ks, t) = (g.b("BRPOP"), g.keys(Family::List, 1, 3), g.timeout());
        b.keys(ks.clone()).arg(t).maybe_wait(g, &ks).exact()
    }),
    blocking("BRPOPLPUSH", |g| {
        let (b, s, d, t) =
            (g.b("BRPOPLPUSH"), g.key(Family::List), g.key(Family::List), g.timeout());
        b.key(s.clone()).key(d).arg(t).maybe_wait(g, &[s]).exact()
    }),
    spec("LINDEX", 5, |g| {
        let (b, k, i) = (g.b("LINDEX"), g.key(Family::List), g.small(-6, 6));
        b.key(k).arg(i).exact()
    }),
    spec("LINSERT", 5, |g| {
        let (b, k) = (g.b("LINSERT"), g.key(Family::List));
        let w = if g.p(0.95) { side(g, "BEFORE", "AFTER") } else { b"MIDDLE".to_vec() };
        let (p, v) = (g.member(), g.member());
        b.key(k).arg(w).arg(p).arg(v).exact()
    }),
    spec("LLEN", 5, |g| {
        let (b, k) = (g.b("LLEN"), g.key(Family::List));
        b.key(k).exact()
    }),
    spec("LMOVE", 5, |g| {
        let (b, s, d) = (g.b("LMOVE"), g.key(Family::List), g.key(Family::List));
        let w1 = if g.p(0.97) { side(g, "LEFT", "RIGHT") } else { b"UP".to_vec() };
        let w2 = side(g, "LEFT", "RIGHT");
        b.key(s).key(d).arg(w1).arg(w2).exact()
    }),
    spec("LMPOP", 5, |g| {
        let b = g.b("LMPOP");
        gen_mpop(g, b, Family::List, "LEFT", "RIGHT").exact()
    }),
    spec("LPOP", 6, |g| {
        let (mut b, k) = (g.b("LPOP"), g.key(Family::List));
        b = b.key(k);
        if g.p(0.4) {
            b = b.arg(g.small(-1, 5));
        }
        b.exact()
    }),
    spec("LPOS", 6, gen_lpos),
    spec("LPUSH", 12, |g| {
        let (b, k, vs) = (g.b("LPUSH"), g.key(Family::List), g.members(1, 4));
        b.key(k).keys_as_args(vs).exact()
    }),
    spec("LPUSHX", 4, |g| {
        let (b, k, vs) = (g.b("LPUSHX"), g.key(Family::List), g.members(1, 3));
        b.key(k).keys_as_args(vs).exact()
    }),
    spec("LRANGE", 8, |g| {
        let (b, k, s, e) = (g.b("LRANGE"), g.key(Family::List), g.small(-8, 8), g.small(-8, 8));
        b.key(k).arg(s).arg(e).exact()
    }),
    spec("LREM", 5, |g| {
        let (b, k, n, v) = (g.b("LREM"), g.key(Family::List), g.small(-3, 3), g.member());
        b.key(k).arg(n).arg(v).exact()
    }),
    spec("LSET", 5, |g| {
        let (b, k, i, v) = (g.b("LSET"), g.key(Family::List), g.small(-6, 6), g.member());
        b.key(k).arg(i).arg(v).exact()
    }),
    spec("LTRIM", 5, |g| {
        let (b, k, s, e) = (g.b("LTRIM"), g.key(Family::List), g.small(-8, 4), g.small(-4, 12));
        b.key(k).arg(s).arg(e).exact()
    }),
    spec("RPOP", 6, |g| {
        let (mut b, k) = (g.b("RPOP"), g.key(Family::List));
        b = b.key(k);
        if g.p(0.4) {
            b = b.arg(g.small(-1, 5));
        }
        b.exact()
    }),
    spec("RPOPLPUSH", 4, |g| {
        let (b, s, d) = (g.b("RPOPLPUSH"), g.key(Family::List), g.key(Family::List));
        b.key(s).key(d).exact()
    }),
    spec("RPUSH", 12, |g| {
        let (b, k, vs) = (g.b("RPUSH"), g.key(Family::List), g.members(1, 4));
        b.key(k).keys_as_args(vs).exact()
    }),
    spec("RPUSHX", 4, |g| {
        let (b, k, vs) = (g.b("RPUSHX"), g.key(Family::List), g.members(1, 3));
        b.key(k).keys_as_args(vs).exact()
    }),
    // sets
    spec("SADD", 20, |g| {
        let (b, k, ms) = (g.b("SADD"), g.key(Family::Set), g.members(1, 4));
        b.key(k).keys_as_args(ms).exact()
    }),
    spec("SCARD", 5, |g| {
        let (b, k) = (g.b("SCARD"), g.key(Family::Set));
        b.key(k).exact()
    }),
    spec("SDIFF", 5, |g| {
        let (b, ks) = (g.b("SDIFF"), g.keys(Family::Set, 1, 3));
        b.keys(ks).done(Check::Unordered { pairs: false })
    }),
    spec("SDIFFSTORE", 4, |g| {
        let (b, d, ks) = (g.b("SDIFFSTORE"), g.key_w(Family::Set), g.keys(Family::Set, 1, 3));
        b.key(d).keys(ks).exact()
    }),
    spec("SINTER", 5, |g| {
        let (b, ks) = (g.b("SINTER"), g.keys(Family::Set, 1, 3));
        b.keys(ks).done(Check::Unordered { pairs: false })
    }),
    spec("SINTERCARD", 5, |g| {
        let b = g.b("SINTERCARD");
        let b = numkeys(g, b, Family::Set);
        limit_opt(g, b).exact()
    }),
    spec("SINTERSTORE", 4, |g| {
        let (b, d, ks) = (g.b("SINTERSTORE"), g.key_w(Family::Set), g.keys(Family::Set, 1, 3));
        b.key(d).keys(ks).exact()
    }),
    spec("SISMEMBER", 5, |g| {
        let (b, k, m) = (g.b("SISMEMBER"), g.key(Family::Set), g.member());
        b.key(k).arg(m).exact()
    }),
    spec("SMEMBERS", 6, |g| {
        let (b, k) = (g.b("SMEMBERS"), g.key(Family::Set));
        b.key(k).done(Check::Unordered { pairs: false })
    }),
    spec("SMISMEMBER", 4, |g| {
        let (b, k, ms) = (g.b("SMISMEMBER"), g.key(Family::Set), g.members(1, 4));
        b.key(k).keys_as_args(ms).exact()
    }),
    spec("SMOVE", 5, |g| {
        let (b, s, d, m) = (g.b("SMOVE"), g.key(Family::Set), g.key(Family::Set), g.member());
        b.key(s).key(d).arg(m).exact()
    }),
    spec("SPOP", 5, |g| {
        let (mut b, k) = (g.b("SPOP"), g.key(Family::Set));
        b = b.key(k);
        let count = if g.p(0.5) {
            let c = g.small(-1, 5);
            b = b.arg(c.clone());
            Some(parse_count(&c))
        } else {
            None
        };
        b.done(Check::Random(RandomSpec {
            source: Source::Set,
            count,
            with_values: false,
            pops: true,
        }))
    }),
    spec("SRANDMEMBER", 5, |g| {
        let (b, k) = (g.b("SRANDMEMBER"), g.key(Family::Set));
        gen_random(g, b.key(k), Source::Set, "")
    }),
    spec("SREM", 8, |g| {
        let (b, k, ms) = (g.b("SREM"), g.key(Family::Set), g.members(1, 3));
        b.key(k).keys_as_args(ms).exact()
    }),
    spec("SSCAN", 4, |g| {
        let (b, k) = (g.b("SSCAN"), g.key(Family::Set));
        let b = b.key(k).arg(if g.p(0.03) { "x" } else { "0" });
        scan_opts(g, b).done(Check::Scan { pairs: false, doubles: false })
    }),
    spec("SUNION", 5, |g| {
        let (b, ks) = (g.b("SUNION"), g.keys(Family::Set, 1, 3));
        b.keys(ks).done(Check::Unordered { pairs: false })
    }),
    spec("SUNIONSTORE", 4, |g| {
        let (b, d, ks) = (g.b("SUNIONSTORE"), g.key_w(Family::Set), g.keys(Family::Set, 1, 3));
        b.key(d).keys(ks).exact()
    }),
    // sorted sets
    blocking("BZMPOP", |g| {
        let (b, t) = (g.b("BZMPOP"), g.timeout());
        let b = gen_mpop(g, b.arg(t), Family::Zset, "MIN", "MAX");
        let ks = b.keys.clone();
        b.maybe_wait(g, &ks).done(Check::Doubles(DoublePos::Mpop))
    }),
    blocking("BZPOPMAX", |g| {
        let (b, ks, t) = (g.b("BZPOPMAX"), g.keys(Family::Zset, 1, 3), g.timeout());
        b.keys(ks.clone()).arg(t).maybe_wait(g, &ks).done(Check::Doubles(DoublePos::Third))
    }),
    blocking("BZPOPMIN", |g| {
        let (b, ks, t) = (g.b("BZPOPMIN"), g.keys(Family::Zset, 1, 3), g.timeout());
        b.keys(ks.clone()).arg(t).maybe_wait(g, &ks).done(Check::Doubles(DoublePos::Third))
    }),
    spec("ZADD", 20, gen_zadd),
    spec("ZCARD", 5, |g| {
        let (b, k) = (g.b("ZCARD"), g.key(Family::Zset));
        b.key(k).exact()
    }),
    spec("ZCOUNT", 5, |g| {
        let (b, k, lo, hi) = (g.b("ZCOUNT"), g.key(Family::Zset), g.score_bound(), g.score_bound());
        b.key(k).arg(lo).arg(hi).exact()
    }),
    spec("ZDIFF", 4, |g| gen_zsetop(g, "ZDIFF", false)),
    spec("ZDIFFSTORE", 4, |g| gen_zsetop(g, "ZDIFFSTORE", true)),
    spec("ZINCRBY", 6, |g| {
        let (b, k) = (g.b("ZINCRBY"), g.key(Family::Zset));
        let by = if k == ZLEX.as_bytes() { b"0".to_vec() } else { g.float() };
        let m = g.member();
        b.key(k).arg(by).arg(m).done(Check::Doubles(DoublePos::All))
    }),
    spec("ZINTER", 4, |g| gen_zsetop(g, "ZINTER", false)),
    spec("ZINTERCARD", 4, |g| {
        let b = g.b("ZINTERCARD");
        let b = numkeys(g, b, Family::Zset);
        limit_opt(g, b).exact()
    }),
    spec("ZINTERSTORE", 4, |g| gen_zsetop(g, "ZINTERSTORE", true)),
    spec("ZLEXCOUNT", 5, |g| {
        let (b, k, lo, hi) = (g.b("ZLEXCOUNT"), lex_key(g), g.lex_bound(), g.lex_bound());
        b.key(k.clone()).arg(lo).arg(hi).guard(Guard::SameScores(k)).exact()
    }),
    spec("ZMPOP", 5, |g| {
        let b = g.b("ZMPOP");
        gen_mpop(g, b, Family::Zset, "MIN", "MAX").done(Check::Doubles(DoublePos::Mpop))
    }),
    spec("ZMSCORE", 5, |g| {
        let (b, k, ms) = (g.b("ZMSCORE"), g.key(Family::Zset), g.members(1, 4));
        b.key(k).keys_as_args(ms).done(Check::Doubles(DoublePos::All))
    }),
    spec("ZPOPMAX", 5, |g| gen_zpop(g, "ZPOPMAX")),
    spec("ZPOPMIN", 5, |g| gen_zpop(g, "ZPOPMIN")),
    spec("ZRANDMEMBER", 5, |g| {
        let (b, k) = (g.b("ZRANDMEMBER"), g.key(Family::Zset));
        gen_random(g, b.key(k), Source::Zset, "WITHSCORES")
    }),
    spec("ZRANGE", 12, gen_zrange),
    spec("ZRANGEBYLEX", 5, |g| gen_zrangebylex(g, "ZRANGEBYLEX")),
    spec("ZRANGEBYSCORE", 6, |g| gen_zrangebyscore(g, "ZRANGEBYSCORE")),
    spec("ZRANGESTORE", 4, gen_zrangestore),
    spec("ZRANK", 5, |g| {
        let (b, k, m) = (g.b("ZRANK"), g.key(Family::Zset), g.member());
        b.key(k).arg(m).exact()
    }),
    spec("ZREM", 6, |g| {
        let (b, k, ms) = (g.b("ZREM"), g.key(Family::Zset), g.members(1, 3));
        b.key(k).keys_as_args(ms).exact()
    }),
    spec("ZREMRANGEBYLEX", 3, |g| {
        let (b, k, lo, hi) = (g.b("ZREMRANGEBYLEX"), lex_key(g), g.lex_bound(), g.lex_bound());
        b.key(k.clone()).arg(lo).arg(hi).guard(Guard::SameScores(k)).exact()
    }),
    spec("ZREMRANGEBYRANK", 3, |g| {
        let (b, k, s, e) =
            (g.b("ZREMRANGEBYRANK"), g.key(Family::Zset), g.small(-5, 5), g.small(-5, 5));
        b.key(k).arg(s).arg(e).exact()
    }),
    spec("ZREMRANGEBYSCORE", 3, |g| {
        let (b, k, lo, hi) =
            (g.b("ZREMRANGEBYSCORE"), g.key(Family::Zset), g.score_bound(), g.score_bound());
        b.key(k).arg(lo).arg(hi).exact()
    }),
    spec("ZREVRANGE", 4, |g| {
        let (b, k, s, e) = (g.b("ZREVRANGE"), g.key(Family::Zset), g.small(-6, 6), g.small(-6, 6));
        let mut b = b.key(k).arg(s).arg(e);
        let ws = g.p(0.5);
        if ws {
            b = b.arg(g.kw("WITHSCORES"));
        }
        b.done(if ws { Check::Doubles(DoublePos::Pairs) } else { Check::Exact })
    }),
    spec("ZREVRANGEBYLEX", 3, |g| gen_zrangebylex(g, "ZREVRANGEBYLEX")),
    spec("ZREVRANGEBYSCORE", 4, |g| gen_zrangebyscore(g, "ZREVRANGEBYSCORE")),
    spec("ZREVRANK", 4, |g| {
        let (b, k, m) = (g.b("ZREVRANK"), g.key(Family::Zset), g.member());
        b.key(k).arg(m).exact()
    }),
    spec("ZSCAN", 4, |g| {
        let (b, k) = (g.b("ZSCAN"), g.key(Family::Zset));
        let b = b.key(k).arg(if g.p(0.03) { "1.5" } else { "0" });
        scan_opts(g, b).done(Check::Scan { pairs: true, doubles: true })
    }),
    spec("ZSCORE", 6, |g| {
        let (b, k, m) = (g.b("ZSCORE"), g.key(Family::Zset), g.member());
        b.key(k).arg(m).done(Check::Doubles(DoublePos::All))
    }),
    spec("ZUNION", 4, |g| gen_zsetop(g, "ZUNION", false)),
    spec("ZUNIONSTORE", 4, |g| gen_zsetop(g, "ZUNIONSTORE", true)),
];

impl B {
    /// Non-key arguments from a list.
    fn keys_as_args(mut self, args: Vec<Vec<u8>>) -> B {
        self.argv.extend(args);
        self
    }
}

fn side(g: &mut Gen, a: &str, b: &str) -> Vec<u8> {
    let w = if g.p(0.5) { a } else { b };
    g.kw(w)
}

fn parse_count(c: &[u8]) -> i64 {
    std::str::from_utf8(c).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn gen_set(g: &mut Gen) -> Cmd {
    let (b, k, v) = (g.b("SET"), g.key_w(Family::Str), g.value());
    let mut b = b.key(k).arg(v);
    let mut opts: Vec<Vec<u8>> = Vec::new();
    if g.p(0.3) {
        let w = g.pick(&["NX", "XX"]);
        opts.push(g.kw(w));
        if g.p(0.05) {
            opts.push(g.kw("NX"));
        }
    }
    if g.p(0.2) {
        opts.push(g.kw("GET"));
    }
    let n_exp = if g.p(0.35) { if g.p(0.05) { 2 } else { 1 } } else { 0 };
    for _ in 0..n_exp {
        match g.range(0, 4) {
            0 => {
                opts.push(g.kw("EX"));
                opts.push(g.ttl_s());
            }
            1 => {
                opts.push(g.kw("PX"));
                opts.push(g.ttl_ms());
            }
            2 => {
                opts.push(g.kw("EXAT"));
                opts.push(g.at_s(false));
            }
            3 => {
                opts.push(g.kw("PXAT"));
                opts.push(g.at_ms(false));
            }
            _ => opts.push(g.kw("KEEPTTL")),
        }
    }
    if g.p(0.02) {
        opts.push(g.kw("BOGUS"));
    }
    // Options in any order, keeping each expiry next to its value.
    let mut groups: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut i = 0;
    while i < opts.len() {
        let takes_value =
            matches!(opts[i].to_ascii_uppercase().as_slice(), b"EX" | b"PX" | b"EXAT" | b"PXAT");
        let end = if takes_value { i + 2 } else { i + 1 };
        groups.push(opts[i..end].to_vec());
        i = end;
    }
    groups.shuffle(&mut g.rng);
    for grp in groups {
        for o in grp {
            b = b.arg(o);
        }
    }
    b.exact()
}

fn gen_getex(g: &mut Gen) -> Cmd {
    let (b, k) = (g.b("GETEX"), g.key(Family::Str));
    let mut b = b.key(k);
    let n = if g.p(0.6) { if g.p(0.05) { 2 } else { 1 } } else { 0 };
    for _ in 0..n {
        match g.range(0, 4) {
            0 => b = b.arg(g.kw("EX")).arg(g.ttl_s()),
            1 => b = b.arg(g.kw("PX")).arg(g.ttl_ms()),
            2 => b = b.arg(g.kw("EXAT")).arg(g.at_s(true)),
            3 => b = b.arg(g.kw("PXAT")).arg(g.at_ms(true)),
            _ => b = b.arg(g.kw("PERSIST")),
        }
    }
    b.exact()
}

fn gen_mset(g: &mut Gen, name: &'static str) -> Cmd {
    let mut b = g.b(name);
    for _ in 0..g.range(1, 3) {
        let (k, v) = (g.key_w(Family::Str), g.value());
        b = b.key(k).arg(v);
    }
    if g.p(0.04) {
        let k = g.key(Family::Str);
        b = b.key(k);
    }
    b.exact()
}

fn gen_lcs(g: &mut Gen) -> Cmd {
    let (b, k1, k2) = (g.b("LCS"), g.key(Family::Str), g.key(Family::Str));
    let mut b = b.key(k1.clone()).key(k2.clone()).guard(Guard::LcsSize(k1, k2));
    if g.p(0.3) {
        b = b.arg(g.kw("LEN"));
    }
    if g.p(0.4) {
        b = b.arg(g.kw("IDX"));
        if g.p(0.5) {
            b = b.arg(g.kw("MINMATCHLEN")).arg(g.small(0, 4));
        }
        if g.p(0.5) {
            b = b.arg(g.kw("WITHMATCHLEN"));
        }
    }
    b.exact()
}

fn expire_opts(g: &mut Gen, mut b: B) -> Cmd {
    if g.p(0.35) {
        let o = g.pick(&["NX", "XX", "GT", "LT"]);
        b = b.arg(g.kw(o));
        if g.p(0.08) {
            let o = g.pick(&["NX", "XX", "GT", "LT", "BOGUS"]);
            b = b.arg(g.kw(o));
        }
    }
    b.exact()
}

fn scan_opts(g: &mut Gen, mut b: B) -> B {
    if g.p(0.5) {
        let p = g.pattern();
        b = b.arg(g.kw("MATCH")).arg(p);
    }
    if g.p(0.5) {
        let c = if g.p(0.95) {
            g.range(1, 20).to_string()
        } else {
            g.pick(&["0", "-1", "abc"]).to_owned()
        };
        b = b.arg(g.kw("COUNT")).arg(c);
    }
    if g.p(0.02) {
        b = b.arg(g.kw("BOGUS"));
    }
    b
}

fn gen_sort(g: &mut Gen, name: &'static str) -> Cmd {
    let fam = g.pick(&[Family::List, Family::Set, Family::Zset]);
    let (b, k) = (g.b(name), g.key(fam));
    let mut b = b.key(k);
    let limit = g.p(0.3);
    if limit {
        let (o, c) = (g.small(-1, 3), g.small(-1, 5));
        b = b.arg(g.kw("LIMIT")).arg(o).arg(c);
    }
    if g.p(0.4) {
        let o = g.pick(&["ASC", "DESC"]);
        b = b.arg(g.kw(o));
    }
    let alpha = g.p(0.5);
    if alpha {
        b = b.arg(g.kw("ALPHA"));
    }
    let store = name == "SORT" && g.p(0.2);
    if store {
        let d = g.key_w(Family::List);
        b = b.arg(g.kw("STORE")).key(d);
    }
    if alpha && !store { b.done(Check::SortAlpha { limit }) } else { b.exact() }
}

fn gen_hset(g: &mut Gen, name: &'static str) -> Cmd {
    let (b, k) = (g.b(name), g.key(Family::Hash));
    let mut b = b.key(k);
    for _ in 0..g.range(1, 3) {
        let (f, v) = (g.member(), g.value());
        b = b.arg(f).arg(v);
    }
    if g.p(0.03) {
        b = b.arg(g.member());
    }
    b.exact()
}

/// The count forms of SRANDMEMBER / HRANDFIELD / ZRANDMEMBER; `with` is the WITHVALUES/WITHSCORES word.
fn gen_random(g: &mut Gen, mut b: B, source: Source, with: &str) -> Cmd {
    let mut count = None;
    let mut with_values = false;
    if g.p(0.7) {
        let c = if g.p(0.97) { g.range(-6, 6).to_string().into_bytes() } else { bad_int(g) };
        count = Some(parse_count(&c));
        b = b.arg(c);
        if !with.is_empty() && g.p(0.4) {
            with_values = true;
            b = b.arg(g.kw(with));
        }
    } else if !with.is_empty() && g.p(0.03) {
        // WITHVALUES without a count: a syntax error (or an unknown-count error).
        b = b.arg(g.kw(with));
        count = Some(0);
    }
    b.done(Check::Random(RandomSpec { source, count, with_values, pops: false }))
}

/// `numkeys key...` with sometimes a wrong numkeys.
fn numkeys(g: &mut Gen, b: B, fam: Family) -> B {
    let ks = g.keys(fam, 1, 3);
    let n = if g.p(0.93) {
        ks.len().to_string().into_bytes()
    } else {
        let v: &str = g.pick(&["0", "-1", "5", "abc"]);
        v.as_bytes().to_vec()
    };
    b.arg(n).keys(ks)
}

fn limit_opt(g: &mut Gen, mut b: B) -> B {
    if g.p(0.4) {
        let l = g.small(-1, 4);
        b = b.arg(g.kw("LIMIT")).arg(l);
    }
    b
}

/// `numkeys key... LEFT|RIGHT [COUNT n]` (LMPOP, BLMPOP) or `... MIN|MAX ...` (ZMPOP, BZMPOP).
fn gen_mpop(g: &mut Gen, b: B, fam: Family, a: &str, z: &str) -> B {
    let mut b = numkeys(g, b, fam);
    b = if g.p(0.97) { b.arg(side(g, a, z)) } else { b.arg("MIDDLE") };
    if g.p(0.4) {
        b = b.arg(g.kw("COUNT")).arg(g.small(0, 4));
    }
    b
}

fn gen_lpos(g: &mut Gen) -> Cmd {
    let (b, k, v) = (g.b("LPOS"), g.key(Family::List), g.member());
    let mut b = b.key(k).arg(v);
    if g.p(0.4) {
        // RANK -9223372036854775808 is refused as out of range, as in Redis 7.2+ (lists.larder.txt);
        // Redis 7.0 reads it as a rank, so it is not generated.
        let r: &str = g.pick(&["1", "2", "-1", "-2", "3", "0"]);
        b = b.arg(g.kw("RANK")).arg(r);
    }
    if g.p(0.4) {
        let c = g.small(-1, 3);
        b = b.arg(g.kw("COUNT")).arg(c);
    }
    if g.p(0.3) {
        let m = g.small(-1, 5);
        b = b.arg(g.kw("MAXLEN")).arg(m);
    }
    b.exact()
}

fn gen_zadd(g: &mut Gen) -> Cmd {
    let (b, k) = (g.b("ZADD"), g.key(Family::Zset));
    let lex = k == ZLEX.as_bytes();
    let mut b = b.key(k);
    if g.p(0.25) {
        let w = g.pick(&["NX", "XX"]);
        b = b.arg(g.kw(w));
    }
    if g.p(0.2) {
        let w = g.pick(&["GT", "LT"]);
        b = b.arg(g.kw(w));
    }
    if g.p(0.2) {
        b = b.arg(g.kw("CH"));
    }
    let incr = g.p(0.15);
    if incr {
        b = b.arg(g.kw("INCR"));
    }
    let pairs = if incr && g.p(0.9) { 1 } else { g.range(1, 3) };
    for _ in 0..pairs {
        let s = if lex { b"0".to_vec() } else { g.score() };
        let m = g.member();
        b = b.arg(s).arg(m);
    }
    if g.p(0.03) {
        b = b.arg(g.score());
    }
    b.done(if incr { Check::Doubles(DoublePos::All) } else { Check::Exact })
}

fn lex_key(g: &mut Gen) -> Vec<u8> {
    if g.p(0.7) { ZLEX.as_bytes().to_vec() } else { g.key(Family::Zset) }
}

fn limit(g: &mut Gen, b: B) -> B {
    let (o, c) = (g.small(-1, 3), g.small(-1, 5));
    let w = g.kw("LIMIT");
    b.arg(w).arg(o).arg(c)
}

fn gen_zrange(g: &mut Gen) -> Cmd {
    let b = g.b("ZRANGE");
    let mode = g.range(0, 9);
    let (mut b, lexk) = match mode {
        0..=4 => {
            let (k, s, e) = (g.key(Family::Zset), g.small(-6, 6), g.small(-6, 6));
            (b.key(k).arg(s).arg(e), None)
        }
        5..=7 => {
            let (k, lo, hi) = (g.key(Family::Zset), g.score_bound(), g.score_bound());
            let b = b.key(k).arg(lo).arg(hi);
            let w = g.kw("BYSCORE");
            (b.arg(w), None)
        }
        _ => {
            let (k, lo, hi) = (lex_key(g), g.lex_bound(), g.lex_bound());
            let b = b.key(k.clone()).arg(lo).arg(hi);
            let w = g.kw("BYLEX");
            (b.arg(w), Some(k))
        }
    };
    if g.p(0.3) {
        b = b.arg(g.kw("REV"));
    }
    // LIMIT needs BYSCORE/BYLEX in Redis; larder accepts it by rank, as Upstash does (zsets.larder.txt),
    // so it is only generated with BYSCORE/BYLEX.
    if mode >= 5 && g.p(0.35) {
        b = limit(g, b);
    }
    let ws = g.p(if lexk.is_some() { 0.05 } else { 0.4 });
    if ws {
        b = b.arg(g.kw("WITHSCORES"));
    }
    if let Some(k) = lexk {
        b = b.guard(Guard::SameScores(k));
    }
    b.done(if ws { Check::Doubles(DoublePos::Pairs) } else { Check::Exact })
}

fn gen_zrangestore(g: &mut Gen) -> Cmd {
    let (b, d) = (g.b("ZRANGESTORE"), g.zdest());
    let mode = g.range(0, 9);
    let b = b.key(d);
    let (mut b, lexk) = match mode {
        0..=4 => {
            let (k, s, e) = (g.key(Family::Zset), g.small(-6, 6), g.small(-6, 6));
            (b.key(k).arg(s).arg(e), None)
        }
        5..=7 => {
            let (k, lo, hi) = (g.key(Family::Zset), g.score_bound(), g.score_bound());
            let w = g.kw("BYSCORE");
            (b.key(k).arg(lo).arg(hi).arg(w), None)
        }
        _ => {
            let (k, lo, hi) = (lex_key(g), g.lex_bound(), g.lex_bound());
            let w = g.kw("BYLEX");
            (b.key(k.clone()).arg(lo).arg(hi).arg(w), Some(k))
        }
    };
    if g.p(0.3) {
        b = b.arg(g.kw("REV"));
    }
    if mode >= 5 && g.p(0.35) {
        b = limit(g, b);
    }
    if g.p(0.02) {
        b = b.arg(g.kw("WITHSCORES"));
    }
    if let Some(k) = lexk {
        b = b.guard(Guard::SameScores(k));
    }
    b.exact()
}

fn gen_zrangebyscore(g: &mut Gen, name: &'static str) -> Cmd {
    let (b, k, lo, hi) = (g.b(name), g.key(Family::Zset), g.score_bound(), g.score_bound());
    let mut b = b.key(k).arg(lo).arg(hi);
    let ws = g.p(0.4);
    if ws {
        b = b.arg(g.kw("WITHSCORES"));
    }
    if g.p(0.3) {
        b = limit(g, b);
    }
    b.done(if ws { Check::Doubles(DoublePos::Pairs) } else { Check::Exact })
}

fn gen_zrangebylex(g: &mut Gen, name: &'static str) -> Cmd {
    let (b, k, lo, hi) = (g.b(name), lex_key(g), g.lex_bound(), g.lex_bound());
    let mut b = b.key(k.clone()).arg(lo).arg(hi);
    if g.p(0.3) {
        b = limit(g, b);
    }
    b.guard(Guard::SameScores(k)).exact()
}

fn gen_zpop(g: &mut Gen, name: &'static str) -> Cmd {
    let (b, k) = (g.b(name), g.key(Family::Zset));
    let mut b = b.key(k);
    if g.p(0.5) {
        b = b.arg(g.small(-1, 4));
    }
    b.done(Check::Doubles(DoublePos::Pairs))
}

/// ZUNION/ZINTER/ZDIFF and their STORE forms; inputs are mostly sorted sets, sometimes plain sets.
fn gen_zsetop(g: &mut Gen, name: &'static str, store: bool) -> Cmd {
    let mut b = g.b(name);
    if store {
        let d = g.zdest();
        b = b.key(d);
    }
    let n = g.range(1, 3) as usize;
    let ks: Vec<Vec<u8>> =
        (0..n).map(|_| if g.p(0.15) { g.key(Family::Set) } else { g.key(Family::Zset) }).collect();
    let nk = if g.p(0.95) { n.to_string() } else { g.pick(&["0", "-1", "4", "abc"]).to_owned() };
    b = b.arg(nk).keys(ks);
    let diff = name.starts_with("ZDIFF");
    if !diff || g.p(0.03) {
        if g.p(0.3) {
            b = b.arg(g.kw("WEIGHTS"));
            let m = if g.p(0.93) { n } else { n + 1 };
            for _ in 0..m {
                let w = if g.p(0.97) {
                    g.pick(&["1", "2", "0.5", "-1", "0", "3"])
                } else {
                    g.pick(&["inf", "abc"])
                };
                b = b.arg(w);
            }
        }
        if !diff && n >= 3 {
            // Summing three or more inputs depends on the order of the additions (Redis adds in order
            // of input size, ties in qsort's order): only MIN/MAX then.
            let a = g.pick(&["MIN", "MAX"]);
            b = b.arg(g.kw("AGGREGATE")).arg(g.kw(a));
        } else if g.p(0.3) {
            let a = if g.p(0.95) { g.pick(&["SUM", "MIN", "MAX"]) } else { "AVG" };
            b = b.arg(g.kw("AGGREGATE")).arg(g.kw(a));
        }
    }
    let ws = !store && g.p(0.5);
    if ws {
        b = b.arg(g.kw("WITHSCORES"));
    }
    b.done(if ws { Check::Doubles(DoublePos::Pairs) } else { Check::Exact })
}

/// MULTI, one to four exactly-compared commands (sometimes one with a wrong arity, which aborts the
/// transaction), then EXEC (or DISCARD).
fn gen_multi(g: &mut Gen) -> Cmd {
    let mut argvs: Vec<Argv> = vec![vec![b"MULTI".to_vec()]];
    let mut keys = Vec::new();
    let mut global = false;
    let n = g.range(1, 4);
    let mut made = 0;
    let mut tries = 0;
    while made < n && tries < 50 {
        tries += 1;
        let spec = g.pick_spec();
        if spec.blocking || spec.name == "MULTI" {
            continue;
        }
        let c = (spec.make)(g);
        let copy_onto_itself = c.name == "COPY" && c.keys.len() == 2 && c.keys[0] == c.keys[1];
        if c.check != Check::Exact || c.guard.is_some() || c.argvs.len() != 1 || copy_onto_itself {
            continue;
        }
        let mut argv = c.argvs.into_iter().next().expect("one argv");
        if g.p(0.03) && argv.len() > 1 {
            argv.truncate(1);
        }
        keys.extend(c.keys);
        global |= c.global;
        argvs.push(argv);
        made += 1;
    }
    let end: &[u8] = if g.p(0.95) { b"EXEC" } else { b"DISCARD" };
    argvs.push(vec![end.to_vec()]);
    let readonly = argvs[1..argvs.len() - 1].iter().all(is_readonly);
    Cmd { name: "MULTI", argvs, keys, check: Check::Exact, guard: None, global, readonly }
}

/// Scripts for EVAL/EVALSHA: each reads or writes its KEYS with ARGV, covering the reply conversions both
/// ways (nil → false, tables, status and error tables, number truncation, `%.17g` arguments), error paths
/// inside scripts (`redis.call` errors with their line, `redis.pcall` tables, runtime errors) and writes
/// of every type. Scores and float results are returned through `tonumber` and integer truncation, so the
/// double text that differs between Redis 7.0 and larder never reaches a reply.
const SCRIPTS: &[(&str, Family)] = &[
    ("return redis.call('GET', KEYS[1])", Family::Str),
    ("return redis.call('SET', KEYS[1], ARGV[1])", Family::Str),
    ("return redis.call('INCRBY', KEYS[1], ARGV[1])", Family::Str),
    ("return redis.pcall('INCRBY', KEYS[1], ARGV[1])", Family::Str),
    (
        "local v = redis.call('GET', KEYS[1]) if v == false then return 'missing' end return {v, #v}",
        Family::Str,
    ),
    ("redis.call('SET', KEYS[1], 0.1 + 0.2) return redis.call('GET', KEYS[1])", Family::Str),
    ("return redis.call('APPEND', KEYS[1], ARGV[1]) + 0.5", Family::Str),
    ("return {redis.call('LPUSH', KEYS[1], ARGV[1]), redis.call('LLEN', KEYS[1])}", Family::List),
    ("return redis.call('LRANGE', KEYS[1], 0, -1)", Family::List),
    ("return redis.call('HSET', KEYS[1], ARGV[1], ARGV[1])", Family::Hash),
    (
        "local v = redis.call('HGET', KEYS[1], ARGV[1]) if v then return v end return {err = 'no field'}",
        Family::Hash,
    ),
    ("return redis.call('SADD', KEYS[1], ARGV[1])", Family::Set),
    ("return redis.call('SISMEMBER', KEYS[1], ARGV[1])", Family::Set),
    ("return tonumber(redis.call('ZINCRBY', KEYS[1], 2, ARGV[1]))", Family::Zset),
    ("return redis.call('ZCARD', KEYS[1])", Family::Zset),
    ("return redis.call('TYPE', KEYS[1])", Family::Generic),
    ("return redis.call('EXISTS', KEYS[1])", Family::Generic),
    ("return redis.call('DEL', KEYS[1])", Family::Generic),
    ("return {1, 2.9, -3.5, 'x', true, false, nil, 4}", Family::Generic),
    ("return redis.status_reply('FINE')", Family::Generic),
    ("return redis.error_reply('MYERR custom')", Family::Generic),
    ("return redis.call('NOSUCH', KEYS[1])", Family::Generic),
    (
        "local t = redis.pcall('INCR', KEYS[1]) if type(t) == 'table' then return t['err'] end return t",
        Family::Generic,
    ),
    ("error('boom')", Family::Generic),
    ("return nonexistent_global", Family::Generic),
    ("return redis.sha1hex(ARGV[1])", Family::Generic),
    ("return cjson.encode({KEYS[1], ARGV[1]})", Family::Generic),
    ("#!lua flags=no-writes\nreturn redis.call('SET', KEYS[1], ARGV[1])", Family::Str),
];

fn gen_eval(g: &mut Gen) -> Cmd {
    let (src, fam) = SCRIPTS[g.range(0, SCRIPTS.len() as i64 - 1) as usize];
    let (b, k, v) = (g.b("EVAL"), g.key(fam), g.value());
    let body = src.replace("\\n", "\n");
    b.arg(body).arg("1").key(k).arg(v).exact()
}

/// EVALSHA of a script EVAL has run or not (NOSCRIPT) — the SHA1 is the same on both servers.
fn gen_evalsha(g: &mut Gen) -> Cmd {
    let (src, fam) = SCRIPTS[g.range(0, SCRIPTS.len() as i64 - 1) as usize];
    let body = src.replace("\\n", "\n");
    let sha = if g.p(0.9) {
        sha1_hex(body.as_bytes())
    } else {
        "ffffffffffffffffffffffffffffffffffffffff".into()
    };
    let (b, k, v) = (g.b("EVALSHA"), g.key(fam), g.value());
    b.arg(sha).arg("1").key(k).arg(v).exact()
}

/// SHA1 in lowercase hex (small, dependency-free).
fn sha1_hex(data: &[u8]) -> String {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                chunk[4 * i],
                chunk[4 * i + 1],
                chunk[4 * i + 2],
                chunk[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t =
                a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// A key for the HyperLogLog commands: mostly one of two keys only they create (so most calls find an
/// HLL), sometimes a string key (WRONGTYPE for a plain string, or an HLL that string commands changed).
fn hll_key(g: &mut Gen) -> Vec<u8> {
    if g.p(0.75) { g.pick(&[&b"hll:1"[..], b"hll:2"]).to_vec() } else { g.key_w(Family::Str) }
}

/// BITFIELD's subcommands: GET/SET/INCRBY over a few types and offsets (`#n` too), OVERFLOW changes, and
/// now and then a bad type, offset or word. `read_only` (BITFIELD_RO) mostly sticks to GET.
fn bitfield_ops(g: &mut Gen, mut b: B, read_only: bool) -> B {
    for _ in 0..g.range(0, 4) {
        let ty = if g.p(0.95) {
            g.pick(&["u8", "i8", "u1", "i5", "u16", "i64", "u63", "i32"])
        } else {
            g.pick(&["u64", "i0", "x8", "U8"])
        };
        let off = if g.p(0.9) {
            let n = g.range(0, 40);
            if g.p(0.3) { format!("#{n}") } else { n.to_string() }
        } else {
            g.pick(&["-1", "#-1", "4294967296", "x"]).to_owned()
        };
        let op = if read_only && g.p(0.9) { 0 } else { g.range(0, 4) };
        b = match op {
            0 => b.arg(g.kw("GET")).arg(ty).arg(off),
            1 => {
                let v = g.int();
                b.arg(g.kw("SET")).arg(ty).arg(off).arg(v)
            }
            2 => {
                let v = g.int();
                b.arg(g.kw("INCRBY")).arg(ty).arg(off).arg(v)
            }
            3 if g.p(0.95) => {
                let w = g.pick(&["WRAP", "SAT", "FAIL"]);
                b.arg(g.kw("OVERFLOW")).arg(g.kw(w))
            }
            _ => b.arg(g.kw("BOGUS")),
        };
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_commands() {
        let enabled: Vec<&Spec> = SPECS.iter().collect();
        let mut a = Gen::new(7, 1_700_000_000_000, &enabled);
        let mut b = Gen::new(7, 1_700_000_000_000, &enabled);
        for _ in 0..2000 {
            assert_eq!(a.next_cmd().argvs, b.next_cmd().argvs);
        }
    }

    #[test]
    fn spec_names_are_unique_and_upper_case() {
        let mut names: Vec<_> = SPECS.iter().map(|s| s.name).collect();
        assert!(names.iter().all(|n| n.to_ascii_uppercase() == *n));
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }

    #[test]
    fn never_generates_a_zero_timeout_or_a_short_ttl() {
        let enabled: Vec<&Spec> = SPECS.iter().collect();
        let mut g = Gen::new(1, 1_700_000_000_000, &enabled);
        for _ in 0..20_000 {
            let c = g.next_cmd();
            for argv in &c.argvs {
                let name = argv[0].to_ascii_uppercase();
                let timeout = match name.as_slice() {
                    b"BLMPOP" | b"BZMPOP" => argv.get(1),
                    b"BLPOP" | b"BRPOP" | b"BZPOPMIN" | b"BZPOPMAX" | b"BLMOVE" | b"BRPOPLPUSH" => {
                        argv.last()
                    }
                    _ => None,
                };
                if let Some(t) = timeout {
                    let t = std::str::from_utf8(t).ok().and_then(|t| t.parse::<f64>().ok());
                    assert!(t != Some(0.0), "{:?}", c.argvs);
                }
                for w in argv.windows(2) {
                    let opt = w[0].to_ascii_uppercase();
                    let v = std::str::from_utf8(&w[1]).ok().and_then(|s| s.parse::<i64>().ok());
                    if let (b"EX" | b"PX", Some(v)) = (opt.as_slice(), v) {
                        assert!(v <= 0 || v >= 1000, "{:?}", c.argvs);
                    }
                }
            }
        }
    }
}
