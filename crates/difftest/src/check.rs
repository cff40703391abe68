//! How two replies to the same command are compared: exactly, with doubles allowed to differ in text
//! only, with a TTL tolerance, order-insensitively, or (for commands with random replies) by what is
//! deterministic about them.

use std::collections::{BTreeMap, BTreeSet};

use larder_resp::Reply;

use crate::conn::Argv;

/// Where a reply carries doubles, whose text may differ between Redis 7.0 (`%.17g`) and larder (the
/// shortest text that reads back as the same double).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoublePos {
    /// No doubles: every bulk string is compared byte for byte.
    None,
    /// Every bulk string in the reply is a double (ZSCORE, ZMSCORE, ZINCRBY, ZADD INCR).
    All,
    /// A flat `[member, score, member, score, ...]` array (WITHSCORES, ZPOPMIN, ZRANDMEMBER WITHSCORES).
    Pairs,
    /// `[key, member, score]` (BZPOPMIN, BZPOPMAX).
    Third,
    /// `[key, [[member, score], ...]]` (ZMPOP, BZMPOP).
    Mpop,
}

impl DoublePos {
    fn at(self, path: &[usize]) -> bool {
        match self {
            DoublePos::None => false,
            DoublePos::All => true,
            DoublePos::Pairs => path.len() == 1 && path[0] % 2 == 1,
            DoublePos::Third => path == [2],
            DoublePos::Mpop => path.len() == 3 && path[0] == 1 && path[2] == 1,
        }
    }
}

/// The collection a random command draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// SPOP, SRANDMEMBER.
    Set,
    /// HRANDFIELD.
    Hash,
    /// ZRANDMEMBER.
    Zset,
}

impl Source {
    /// The command that lists the whole collection, used to snapshot it before a random command.
    pub fn snapshot_argv(self, key: &[u8]) -> Argv {
        let words: &[&str] = match self {
            Source::Set => &["SMEMBERS"],
            Source::Hash => &["HGETALL"],
            Source::Zset => &["ZRANGE"],
        };
        let mut argv: Argv = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        argv.push(key.to_vec());
        if self == Source::Zset {
            argv.extend([b"0".to_vec(), b"-1".to_vec(), b"WITHSCORES".to_vec()]);
        }
        argv
    }

    /// Turns the snapshot command's reply into member → value (empty for sets), or `None` when the key
    /// is of another type or the command is unknown.
    pub fn parse_snapshot(self, reply: &Reply) -> Option<Snapshot> {
        let Reply::Array(items) = reply else { return None };
        let mut out = BTreeMap::new();
        if self == Source::Set {
            for i in items {
                out.insert(bulk(i)?.to_vec(), Vec::new());
            }
        } else {
            if items.len() % 2 != 0 {
                return None;
            }
            for p in items.chunks(2) {
                out.insert(bulk(&p[0])?.to_vec(), bulk(&p[1])?.to_vec());
            }
        }
        Some(out)
    }
}

/// A collection's contents before a random command: member (or field) → value (or score text).
pub type Snapshot = BTreeMap<Vec<u8>, Vec<u8>>;

/// What a random command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomSpec {
    /// What it draws from.
    pub source: Source,
    /// `None`: the single-element form (one bulk or nil); `Some(n)`: the count form (an array).
    pub count: Option<i64>,
    /// WITHVALUES / WITHSCORES: the array alternates members and values.
    pub with_values: bool,
    /// SPOP: the members are removed (and the two sides are resynchronised afterwards).
    pub pops: bool,
}

/// How the replies to one command are compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Byte for byte, in order.
    Exact,
    /// Exactly, except that doubles at these positions may differ in text when they parse to the same
    /// f64 (reported as format differences).
    Doubles(DoublePos),
    /// Integers that are both non-negative may differ by `tolerance` (TTL, PTTL, EXPIRETIME, ...).
    Ttl {
        /// The largest allowed difference.
        tolerance: i64,
    },
    /// A top-level array whose order Redis leaves unspecified (SMEMBERS, HGETALL, KEYS, ...).
    Unordered {
        /// The array is `[field, value, field, value, ...]`: pairs are kept together.
        pairs: bool,
    },
    /// A whole SCAN/SSCAN/HSCAN/ZSCAN iteration: the runner follows the cursor to 0 on each side and
    /// compares the union of the pages (order-insensitive, duplicates removed).
    Scan {
        /// HSCAN/ZSCAN: pages are `[field, value, ...]`.
        pairs: bool,
        /// ZSCAN: the values are scores.
        doubles: bool,
    },
    /// A random reply: only its shape and size are compared, and each side is checked against a
    /// snapshot of its own collection.
    Random(RandomSpec),
    /// SORT ... ALPHA: Redis compares with `strcoll`, which stops at a NUL byte, so members equal up to
    /// their first NUL are ties in unspecified order. The arrays must be equal once each member is cut
    /// at its first NUL, and (without LIMIT, which may pick either tie) hold the same members.
    SortAlpha {
        /// LIMIT was given.
        limit: bool,
    },
    /// INCRBYFLOAT / HINCRBYFLOAT: compared exactly (both compute in x87 long double).
    FloatIncr {
        /// HINCRBYFLOAT's field; `None` for INCRBYFLOAT.
        field: Option<Vec<u8>>,
    },
}

/// The verdict on one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The replies agree.
    Same,
    /// They agree except for the text of doubles that parse to the same f64: `(larder, redis)` texts.
    Format(Vec<(String, String)>),
    /// A documented, deliberate difference (see [`KNOWN_DIFFERENCES`]).
    Deliberate(&'static str),
    /// A real mismatch, with an explanation.
    Mismatch(String),
}

/// Deliberate differences between larder and Redis 7.0 (documented in
/// `crates/engine/tests/transcripts/server.larder.txt`) that the generator can produce. They are counted
/// and reported, never as mismatches.
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "copy-same-key",
        "COPY k k answers 0 (Upstash); Redis 7.0 answers ERR source and destination objects are the same",
    ),
    (
        "unlink-no-keys",
        "UNLINK with no key answers 0 (Upstash's JS client sends it); Redis answers a wrong-arity error",
    ),
    (
        "zrank-withscore",
        "ZRANK/ZREVRANK take a third argument (WITHSCORE, Redis 7.2+); Redis 7.0 answers a wrong-arity error",
    ),
];

/// The id in [`KNOWN_DIFFERENCES`] of a deliberate difference this command and these replies show.
pub fn known_difference(argv: &Argv, larder: &Reply, redis: &Reply) -> Option<&'static str> {
    let name = argv.first().map(|n| n.to_ascii_uppercase()).unwrap_or_default();
    if name == b"COPY"
        && argv.len() >= 3
        && argv[1] == argv[2]
        && *larder == Reply::Int(0)
        && matches!(redis, Reply::Error(e) if e == "ERR source and destination objects are the same")
    {
        return Some("copy-same-key");
    }
    if name == b"UNLINK" && argv.len() == 1 && *larder == Reply::Int(0) {
        return Some("unlink-no-keys");
    }
    if (name == b"ZRANK" || name == b"ZREVRANK")
        && argv.len() == 4
        && matches!(redis, Reply::Error(e) if e.starts_with("ERR wrong number of arguments"))
    {
        return Some("zrank-withscore");
    }
    None
}

/// Compares two replies under a deterministic check (everything but [`Check::Random`], whose replies go
/// through [`compare_random`]).
pub fn compare(check: &Check, larder: &Reply, redis: &Reply) -> Outcome {
    let mut fmt = Vec::new();
    let same = match check {
        Check::Exact => larder == redis,
        Check::Doubles(pos) => eq_at(larder, redis, &mut Vec::new(), *pos, &mut fmt),
        Check::Ttl { tolerance } => match (larder, redis) {
            (Reply::Int(a), Reply::Int(b)) if *a >= 0 && *b >= 0 => (a - b).abs() <= *tolerance,
            _ => larder == redis,
        },
        Check::Unordered { pairs } => {
            let pos = DoublePos::None;
            eq_at(&sorted(larder, *pairs), &sorted(redis, *pairs), &mut Vec::new(), pos, &mut fmt)
        }
        Check::Scan { pairs, doubles } => {
            let pos = if *doubles { DoublePos::Pairs } else { DoublePos::None };
            eq_at(&sorted(larder, *pairs), &sorted(redis, *pairs), &mut Vec::new(), pos, &mut fmt)
        }
        Check::SortAlpha { limit } => match (larder, redis) {
            (Reply::Array(a), Reply::Array(b)) => {
                let cut = |v: &[Reply]| -> Vec<Vec<u8>> {
                    v.iter().map(|r| until_nul(&sort_key(r)).to_vec()).collect()
                };
                a.len() == b.len()
                    && cut(a) == cut(b)
                    && (*limit || sorted(larder, false) == sorted(redis, false))
            }
            _ => larder == redis,
        },
        // larder computes INCRBYFLOAT/HINCRBYFLOAT in Redis's long-double arithmetic: replies must match.
        Check::FloatIncr { .. } => larder == redis,
        Check::Random(_) => return Outcome::Mismatch("random replies need compare_random".into()),
    };
    if !same {
        Outcome::Mismatch("replies differ".into())
    } else if fmt.is_empty() {
        Outcome::Same
    } else {
        Outcome::Format(fmt)
    }
}

/// Compares the replies to a random command: errors exactly; otherwise each reply is checked against its
/// side's snapshot (members exist, values match, sizes and distinctness follow the count rules) and the
/// two shapes and sizes must agree.
pub fn compare_random(
    spec: &RandomSpec,
    larder: &Reply,
    redis: &Reply,
    larder_snap: Option<&Snapshot>,
    redis_snap: Option<&Snapshot>,
) -> Outcome {
    let l = summarize(spec, larder, larder_snap);
    let r = summarize(spec, redis, redis_snap);
    match (l, r) {
        (Err(e), _) => Outcome::Mismatch(format!("larder's reply breaks the rules: {e}")),
        (_, Err(e)) => {
            Outcome::Mismatch(format!("redis's reply breaks the rules (harness bug?): {e}"))
        }
        (Ok(a), Ok(b)) if a == b => Outcome::Same,
        (Ok(a), Ok(b)) => {
            Outcome::Mismatch(format!("random replies differ in shape: larder {a}, redis {b}"))
        }
    }
}

/// The members a random reply names (for SPOP's resynchronisation).
pub fn random_members(spec: &RandomSpec, reply: &Reply) -> Vec<Vec<u8>> {
    match reply {
        Reply::Bulk(b) => vec![b.to_vec()],
        Reply::Array(items) => {
            let step = if spec.with_values { 2 } else { 1 };
            items.iter().step_by(step).filter_map(bulk).map(<[u8]>::to_vec).collect()
        }
        _ => Vec::new(),
    }
}

fn summarize(spec: &RandomSpec, reply: &Reply, snap: Option<&Snapshot>) -> Result<String, String> {
    let card = snap.map(BTreeMap::len);
    match (reply, spec.count) {
        (Reply::Error(e), _) => Ok(format!("error {e:?}")),
        (Reply::Nil, None) => {
            if let Some(n) = card.filter(|&n| n > 0) {
                return Err(format!("nil from a collection of {n}"));
            }
            Ok("nil".into())
        }
        (Reply::Bulk(m), None) => {
            if let Some(s) = snap
                && !s.contains_key(m.as_ref())
            {
                return Err(format!("{} is not in the collection", show(m)));
            }
            Ok("one member".into())
        }
        (Reply::Array(items), Some(count)) => {
            let step = if spec.with_values { 2 } else { 1 };
            if items.len() % step != 0 {
                return Err(format!("{} items, expected member/value pairs", items.len()));
            }
            let n = items.len() / step;
            let mut seen = BTreeSet::new();
            for chunk in items.chunks(step) {
                let m = bulk(&chunk[0]).ok_or_else(|| format!("non-bulk member {:?}", chunk[0]))?;
                seen.insert(m.to_vec());
                let Some(s) = snap else { continue };
                let Some(v) = s.get(m) else {
                    return Err(format!("{} is not in the collection", show(m)));
                };
                if spec.with_values {
                    let got = bulk(&chunk[1]).ok_or("non-bulk value")?;
                    let ok = match spec.source {
                        Source::Zset => {
                            parse_double(got).is_some() && parse_double(got) == parse_double(v)
                        }
                        _ => got == v.as_slice(),
                    };
                    if !ok {
                        return Err(format!(
                            "{} has value {}, the collection has {}",
                            show(m),
                            show(got),
                            show(v)
                        ));
                    }
                }
            }
            if let Some(card) = card {
                let want = if count >= 0 {
                    (count as usize).min(card)
                } else if card == 0 {
                    0
                } else {
                    count.unsigned_abs() as usize
                };
                if n != want {
                    return Err(format!(
                        "{n} members for count {count} from a collection of {card}"
                    ));
                }
            }
            if count >= 0 && seen.len() != n {
                return Err(format!("repeated members for a positive count ({n} members)"));
            }
            Ok(format!("{n} members"))
        }
        (other, _) => Ok(format!("{other:?}")),
    }
}

/// Structural equality where bulk strings at `pos` may differ in text but not in value.
fn eq_at(
    a: &Reply,
    b: &Reply,
    path: &mut Vec<usize>,
    pos: DoublePos,
    fmt: &mut Vec<(String, String)>,
) -> bool {
    match (a, b) {
        (Reply::Bulk(x), Reply::Bulk(y)) => {
            if x == y {
                true
            } else if pos.at(path) && same_double(x, y) {
                fmt.push((show(x), show(y)));
                true
            } else {
                false
            }
        }
        (Reply::Array(xs), Reply::Array(ys)) => {
            if xs.len() != ys.len() {
                return false;
            }
            for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                path.push(i);
                let ok = eq_at(x, y, path, pos, fmt);
                path.pop();
                if !ok {
                    return false;
                }
            }
            true
        }
        _ => a == b,
    }
}

/// A top-level array sorted into a canonical order (pairs sorted by their first element); anything else
/// unchanged.
pub fn sorted(r: &Reply, pairs: bool) -> Reply {
    let Reply::Array(items) = r else { return r.clone() };
    if pairs && items.len() % 2 == 0 {
        let mut ps: Vec<&[Reply]> = items.chunks(2).collect();
        ps.sort_by(|a, b| {
            sort_key(&a[0]).cmp(&sort_key(&b[0])).then(sort_key(&a[1]).cmp(&sort_key(&b[1])))
        });
        Reply::Array(ps.into_iter().flat_map(|p| p.iter().cloned()).collect())
    } else {
        let mut v = items.clone();
        v.sort_by_key(sort_key);
        Reply::Array(v)
    }
}

fn sort_key(r: &Reply) -> Vec<u8> {
    match r {
        Reply::Bulk(b) => b.to_vec(),
        other => format!("\u{1}{other:?}").into_bytes(),
    }
}

fn until_nul(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

fn bulk(r: &Reply) -> Option<&[u8]> {
    match r {
        Reply::Bulk(b) => Some(b),
        _ => None,
    }
}

/// Parses a double the way Redis prints them (`inf`, `-inf`, `1.5`, `1e+21`, `0.10000000000000001`).
pub fn parse_double(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.trim() != s {
        return None;
    }
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" | "+nan" | "infinity" | "+infinity" | "-infinity" => None,
        _ => s.parse().ok(),
    }
}

/// Two texts of the same double (`0.1` and `0.10000000000000001`, `-0` and `0`).
pub fn same_double(a: &[u8], b: &[u8]) -> bool {
    matches!((parse_double(a), parse_double(b)), (Some(x), Some(y)) if x == y)
}

/// An argument or reply text as `redis-cli` would accept it: bare when it is plain, otherwise quoted with
/// `\xHH` escapes.
pub fn show(b: &[u8]) -> String {
    let plain = !b.is_empty()
        && b.iter().all(|&c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
    if plain {
        return String::from_utf8_lossy(b).into_owned();
    }
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b' '..=b'~' => s.push(char::from(c)),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

/// A command line as `redis-cli` would accept it.
pub fn show_argv(argv: &[Vec<u8>]) -> String {
    argv.iter().map(|a| show(a)).collect::<Vec<_>>().join(" ")
}

/// A reply in `redis-cli`'s style, on one line (nested arrays in brackets).
pub fn show_reply(r: &Reply) -> String {
    match r {
        Reply::Nil => "(nil)".into(),
        Reply::NilArray => "(nil array)".into(),
        Reply::Simple(s) => s.to_string(),
        Reply::Int(i) => format!("(integer) {i}"),
        Reply::Bulk(b) => {
            let s = show(b);
            if s.starts_with('"') { s } else { format!("\"{s}\"") }
        }
        Reply::Double(d) => format!("(double) {d}"),
        Reply::Bool(b) => format!("(boolean) {b}"),
        Reply::Array(items) | Reply::Set(items) => {
            format!("[{}]", items.iter().map(show_reply).collect::<Vec<_>>().join(", "))
        }
        Reply::Map(kv) => format!(
            "{{{}}}",
            kv.iter()
                .map(|(k, v)| format!("{}: {}", show_reply(k), show_reply(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Reply::Verbatim(b) => format!("(verbatim) {}", show(b)),
        Reply::Error(e) => format!("(error) {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Reply {
        Reply::bulk(s)
    }
    fn arr(items: &[&str]) -> Reply {
        Reply::Array(items.iter().map(|s| b(s)).collect())
    }

    #[test]
    fn exact_is_exact() {
        assert_eq!(compare(&Check::Exact, &b("1"), &b("1")), Outcome::Same);
        assert!(matches!(compare(&Check::Exact, &b("1"), &b("1.0")), Outcome::Mismatch(_)));
        assert!(matches!(
            compare(&Check::Exact, &Reply::Nil, &Reply::NilArray),
            Outcome::Mismatch(_)
        ));
        assert!(matches!(
            compare(&Check::Exact, &arr(&["a", "b"]), &arr(&["b", "a"])),
            Outcome::Mismatch(_)
        ));
    }

    #[test]
    fn doubles_that_parse_equal_are_format_differences() {
        let c = Check::Doubles(DoublePos::All);
        assert_eq!(
            compare(&c, &b("0.1"), &b("0.10000000000000001")),
            Outcome::Format(vec![("0.1".into(), "0.10000000000000001".into())])
        );
        assert!(matches!(
            compare(&c, &b("2.5e-5"), &b("2.5000000000000001e-05")),
            Outcome::Format(_)
        ));
        assert!(matches!(compare(&c, &b("1e+21"), &b("1e21")), Outcome::Format(_)));
        assert!(matches!(compare(&c, &b("-0"), &b("0")), Outcome::Format(_)));
        assert_eq!(compare(&c, &b("inf"), &b("inf")), Outcome::Same);
        assert!(matches!(compare(&c, &b("0.1"), &b("0.2")), Outcome::Mismatch(_)));
        assert!(matches!(compare(&c, &b("0.30000000000000004"), &b("0.3")), Outcome::Mismatch(_)));
        assert!(matches!(compare(&c, &b("inf"), &b("1e308")), Outcome::Mismatch(_)));
        assert!(matches!(compare(&c, &b("nan"), &b("nan")), Outcome::Same));
        assert!(matches!(compare(&c, &b(" 1"), &b("1")), Outcome::Mismatch(_)));
        // An array of doubles (ZMSCORE) with a nil.
        let l = Reply::Array(vec![b("1.5"), Reply::Nil, b("0.1")]);
        let r = Reply::Array(vec![b("1.5"), Reply::Nil, b("0.10000000000000001")]);
        assert!(matches!(compare(&c, &l, &r), Outcome::Format(_)));
    }

    #[test]
    fn doubles_only_where_the_reply_has_scores() {
        let c = Check::Doubles(DoublePos::Pairs);
        // The score may differ in text ...
        assert!(matches!(
            compare(&c, &arr(&["1", "0.1"]), &arr(&["1", "0.10000000000000001"])),
            Outcome::Format(_)
        ));
        // ... but a member never, even when it looks like a number.
        assert!(matches!(
            compare(&c, &arr(&["1.0", "1"]), &arr(&["1", "1"])),
            Outcome::Mismatch(_)
        ));
        let c = Check::Doubles(DoublePos::Third);
        let l = arr(&["k", "1.50", "0.1"]);
        let r = arr(&["k", "1.50", "0.10000000000000001"]);
        assert!(matches!(compare(&c, &l, &r), Outcome::Format(_)));
        assert!(matches!(
            compare(&c, &arr(&["k", "1.5", "1"]), &arr(&["k", "1.50", "1"])),
            Outcome::Mismatch(_)
        ));
        let c = Check::Doubles(DoublePos::Mpop);
        let mp = |score: &str| {
            Reply::Array(vec![b("k"), Reply::Array(vec![arr(&["a", score]), arr(&["2", "2"])])])
        };
        assert!(matches!(compare(&c, &mp("0.1"), &mp("0.10000000000000001")), Outcome::Format(_)));
        assert!(matches!(compare(&c, &mp("0.1"), &mp("0.2")), Outcome::Mismatch(_)));
        // Without positions, a double's text must match exactly.
        assert!(matches!(
            compare(&Check::Exact, &b("0.1"), &b("0.10000000000000001")),
            Outcome::Mismatch(_)
        ));
    }

    #[test]
    fn unordered_compares_as_multisets() {
        let c = Check::Unordered { pairs: false };
        assert_eq!(compare(&c, &arr(&["a", "b", "c"]), &arr(&["c", "a", "b"])), Outcome::Same);
        assert!(matches!(
            compare(&c, &arr(&["a", "a", "b"]), &arr(&["a", "b", "b"])),
            Outcome::Mismatch(_)
        ));
        assert!(matches!(
            compare(&c, &arr(&["a", "b"]), &arr(&["a", "b", "c"])),
            Outcome::Mismatch(_)
        ));
        assert!(matches!(compare(&c, &arr(&[]), &Reply::Nil), Outcome::Mismatch(_)));
        let e = Reply::Error("WRONGTYPE x".into());
        assert_eq!(compare(&c, &e, &e), Outcome::Same);
    }

    #[test]
    fn unordered_pairs_stay_together() {
        let c = Check::Unordered { pairs: true };
        assert_eq!(
            compare(&c, &arr(&["f1", "v1", "f2", "v2"]), &arr(&["f2", "v2", "f1", "v1"])),
            Outcome::Same
        );
        // Same fields and values, paired differently.
        assert!(matches!(
            compare(&c, &arr(&["f1", "v2", "f2", "v1"]), &arr(&["f2", "v2", "f1", "v1"])),
            Outcome::Mismatch(_)
        ));
        let c = Check::Scan { pairs: true, doubles: true };
        assert!(matches!(
            compare(
                &c,
                &arr(&["b", "1", "a", "0.1"]),
                &arr(&["a", "0.10000000000000001", "b", "1"])
            ),
            Outcome::Format(_)
        ));
    }

    #[test]
    fn sort_alpha_ties_at_nul() {
        let c = Check::SortAlpha { limit: false };
        let l = Reply::Array(vec![b("\0x"), b(""), b("a")]);
        let r = Reply::Array(vec![b(""), b("\0x"), b("a")]);
        assert_eq!(compare(&c, &l, &r), Outcome::Same);
        let r2 = Reply::Array(vec![b(""), b("a"), b("\0x")]);
        assert!(matches!(compare(&c, &l, &r2), Outcome::Mismatch(_)));
        // Without LIMIT the members must be the same; with LIMIT either tie may be picked.
        let l = Reply::Array(vec![b("\0x")]);
        let r = Reply::Array(vec![b("")]);
        assert!(matches!(compare(&c, &l, &r), Outcome::Mismatch(_)));
        assert_eq!(compare(&Check::SortAlpha { limit: true }, &l, &r), Outcome::Same);
    }

    #[test]
    fn ttl_tolerates_one_second() {
        let c = Check::Ttl { tolerance: 1 };
        assert_eq!(compare(&c, &Reply::Int(100), &Reply::Int(99)), Outcome::Same);
        assert!(matches!(compare(&c, &Reply::Int(100), &Reply::Int(98)), Outcome::Mismatch(_)));
        assert!(matches!(compare(&c, &Reply::Int(0), &Reply::Int(-1)), Outcome::Mismatch(_)));
        assert!(matches!(compare(&c, &Reply::Int(-1), &Reply::Int(-2)), Outcome::Mismatch(_)));
    }

    #[test]
    fn float_incr_replies_must_match_exactly() {
        let c = Check::FloatIncr { field: None };
        assert_eq!(
            compare(&c, &b("5005.60000000000000009"), &b("5005.60000000000000009")),
            Outcome::Same
        );
        assert!(matches!(
            compare(&c, &b("5005.6"), &b("5005.60000000000000009")),
            Outcome::Mismatch(_)
        ));
        assert!(matches!(compare(&c, &b("0.30000000000000004"), &b("0.3")), Outcome::Mismatch(_)));
        let err = Reply::Error("ERR increment would produce NaN or Infinity".into());
        let redis_err = Reply::Error("ERR value is not a valid float".into());
        assert!(matches!(compare(&c, &err, &redis_err), Outcome::Mismatch(_)));
    }

    #[test]
    fn copy_onto_itself_is_a_known_difference() {
        let argv: Argv = vec![b"copy".to_vec(), b"k".to_vec(), b"k".to_vec()];
        let redis = Reply::Error("ERR source and destination objects are the same".into());
        assert_eq!(known_difference(&argv, &Reply::Int(0), &redis), Some("copy-same-key"));
        assert_eq!(known_difference(&argv, &Reply::Int(1), &redis), None);
    }

    fn snap(items: &[(&str, &str)]) -> Snapshot {
        items.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
    }

    #[test]
    fn random_replies_compare_by_shape_and_membership() {
        let set = snap(&[("a", ""), ("b", ""), ("c", "")]);
        let spec =
            RandomSpec { source: Source::Set, count: Some(2), with_values: false, pops: false };
        let s = Some(&set);
        assert_eq!(
            compare_random(&spec, &arr(&["a", "b"]), &arr(&["c", "a"]), s, s),
            Outcome::Same
        );
        // Repeated member for a positive count, wrong size, foreign member.
        assert!(matches!(
            compare_random(&spec, &arr(&["a", "a"]), &arr(&["c", "a"]), s, s),
            Outcome::Mismatch(_)
        ));
        assert!(matches!(
            compare_random(&spec, &arr(&["a"]), &arr(&["c", "a"]), s, s),
            Outcome::Mismatch(_)
        ));
        assert!(matches!(
            compare_random(&spec, &arr(&["a", "z"]), &arr(&["c", "a"]), s, s),
            Outcome::Mismatch(_)
        ));
        // Negative counts may repeat and give exactly |count|.
        let neg = RandomSpec { count: Some(-4), ..spec.clone() };
        assert_eq!(
            compare_random(&neg, &arr(&["a", "a", "a", "b"]), &arr(&["c", "b", "a", "c"]), s, s),
            Outcome::Same
        );
        assert!(matches!(
            compare_random(&neg, &arr(&["a", "a", "a"]), &arr(&["c", "b", "a", "c"]), s, s),
            Outcome::Mismatch(_)
        ));
        // A count above the size gives everything.
        let big = RandomSpec { count: Some(10), ..spec.clone() };
        assert_eq!(
            compare_random(&big, &arr(&["b", "c", "a"]), &arr(&["a", "b", "c"]), s, s),
            Outcome::Same
        );
        // The single form: one member or nil.
        let one = RandomSpec { count: None, ..spec.clone() };
        assert_eq!(compare_random(&one, &b("a"), &b("c"), s, s), Outcome::Same);
        assert!(matches!(compare_random(&one, &Reply::Nil, &b("c"), s, s), Outcome::Mismatch(_)));
        let empty = Snapshot::new();
        let e = Some(&empty);
        assert_eq!(compare_random(&one, &Reply::Nil, &Reply::Nil, e, e), Outcome::Same);
        // Errors compare exactly.
        let err = Reply::Error("WRONGTYPE x".into());
        assert_eq!(compare_random(&spec, &err, &err, None, None), Outcome::Same);
        assert!(matches!(compare_random(&spec, &err, &arr(&[]), None, None), Outcome::Mismatch(_)));
    }

    #[test]
    fn random_values_must_match_the_collection() {
        let hash = snap(&[("f1", "v1"), ("f2", "v2")]);
        let h = Some(&hash);
        let spec =
            RandomSpec { source: Source::Hash, count: Some(-3), with_values: true, pops: false };
        let good = arr(&["f1", "v1", "f1", "v1", "f2", "v2"]);
        assert_eq!(compare_random(&spec, &good, &good, h, h), Outcome::Same);
        let bad = arr(&["f1", "v2", "f1", "v1", "f2", "v2"]);
        assert!(matches!(compare_random(&spec, &bad, &good, h, h), Outcome::Mismatch(_)));
        let zset = snap(&[("m", "0.10000000000000001")]);
        let z = Some(&zset);
        let spec =
            RandomSpec { source: Source::Zset, count: Some(1), with_values: true, pops: false };
        assert_eq!(
            compare_random(&spec, &arr(&["m", "0.1"]), &arr(&["m", "0.10000000000000001"]), z, z),
            Outcome::Same
        );
        assert!(matches!(
            compare_random(&spec, &arr(&["m", "0.2"]), &arr(&["m", "0.1"]), z, z),
            Outcome::Mismatch(_)
        ));
    }

    #[test]
    fn show_quotes_like_redis_cli() {
        assert_eq!(show(b"abc"), "abc");
        assert_eq!(show(b""), "\"\"");
        assert_eq!(show(b"a b"), "\"a b\"");
        assert_eq!(show(b"\x00\xff\"\\"), "\"\\x00\\xff\\\"\\\\\"");
        assert_eq!(
            show_reply(&Reply::Array(vec![b("a"), Reply::Int(1), Reply::Nil])),
            "[\"a\", (integer) 1, (nil)]"
        );
    }
}
