//! The geo family on sorted sets, as Redis 7.0: GEOADD (a ZADD of 52-bit geohash scores), GEODIST,
//! GEOHASH, GEOPOS, and the searches GEOSEARCH, GEOSEARCHSTORE and the legacy GEORADIUS,
//! GEORADIUSBYMEMBER and their `_RO` forms. The math is in `crate::geohash`; a search scans the score
//! ranges of the centre's cell and its neighbours in Redis's order and filters by exact distance, so results
//! and their order (ties included) are Redis's.
//!
//! Propagation: GEOADD and the stores replay as sent (both are deterministic on the same data).

use bytes::Bytes;
use larder_resp::{Protocol, Reply};

use super::args::parse_f64;
use super::strings::int_bytes;
use super::{Args, Ctx, zsets};
use crate::error::CommandError;
use crate::geohash::{self, Shape, ShapeKind};
use crate::types::ScoreRange;
use crate::value::ZSet;

/// `GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]`
pub(super) fn geoadd(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let rest = args.rest();
    // Options are read while the next argument is one (CH is ZADD's business).
    let opts = rest
        .iter()
        .take_while(|a| ["NX", "XX", "CH"].iter().any(|w| a.eq_ignore_ascii_case(w.as_bytes())))
        .count();
    let (opt_args, triples) = rest.split_at(opts);
    let has = |w: &str| opt_args.iter().any(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    if !triples.len().is_multiple_of(3) || (has("NX") && has("XX")) {
        return Err(CommandError::Syntax);
    }
    let mut zadd = Vec::with_capacity(2 + opts + triples.len() / 3 * 2);
    zadd.push(Bytes::from_static(b"ZADD"));
    zadd.push(key.clone());
    zadd.extend_from_slice(opt_args);
    for t in triples.chunks_exact(3) {
        let (lon, lat) = lon_lat(&t[0], &t[1])?;
        let score = geohash::score_of(lon, lat).ok_or_else(|| bad_pair(lon, lat))?;
        zadd.push(int_bytes(score as i64));
        zadd.push(t[2].clone());
    }
    zsets::zadd_generic(ctx, Args::new(&zadd), false)
}

/// `GEODIST key member1 member2 [M | KM | FT | MI]`
pub(super) fn geodist(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let (a, b) = (args.next_bytes()?, args.next_bytes()?);
    let to_meters = match args.rest() {
        [] => 1.0,
        [u] => unit(u)?,
        _ => return Err(CommandError::Syntax),
    };
    let now = ctx.now;
    let Some(z) = ctx.db.get_as::<ZSet>(key, now)? else { return Ok(Reply::Nil) };
    let (Some(sa), Some(sb)) = (z.score(a), z.score(b)) else { return Ok(Reply::Nil) };
    let ((lon1, lat1), (lon2, lat2)) = (geohash::decode_score(sa), geohash::decode_score(sb));
    Ok(distance_reply(geohash::distance(lon1, lat1, lon2, lat2) / to_meters))
}

/// `GEOHASH key [member ...]`
pub(super) fn geohash(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let members = args.rest();
    let now = ctx.now;
    let z = ctx.db.get_as::<ZSet>(key, now)?;
    let out = members
        .iter()
        .map(|m| match z.and_then(|z| z.score(m)) {
            Some(s) => Reply::bulk(geohash::geohash_string(s)),
            None => Reply::Nil,
        })
        .collect();
    Ok(Reply::Array(out))
}

/// `GEOPOS key [member ...]`
pub(super) fn geopos(ctx: &mut Ctx<'_>, mut args: Args<'_>) -> Result<Reply, CommandError> {
    let key = args.next_key()?;
    let members = args.rest();
    let now = ctx.now;
    let resp3 = ctx.client.protocol == Protocol::Resp3;
    let z = ctx.db.get_as::<ZSet>(key, now)?;
    let out = members
        .iter()
        .map(|m| match z.and_then(|z| z.score(m)) {
            Some(s) => {
                let (lon, lat) = geohash::decode_score(s);
                Reply::Array(vec![coord_reply(lon, resp3), coord_reply(lat, resp3)])
            }
            None => Reply::NilArray,
        })
        .collect();
    Ok(Reply::Array(out))
}

/// `GEORADIUS key longitude latitude radius unit [options] [STORE key] [STOREDIST key]`
pub(super) fn georadius(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    search(ctx, args, Kind::Radius { store: true })
}

/// `GEORADIUS_RO key longitude latitude radius unit [options]`
pub(super) fn georadius_ro(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    search(ctx, args, Kind::Radius { store: false })
}

/// `GEORADIUSBYMEMBER key member radius unit [options] [STORE key] [STOREDIST key]`
pub(super) fn georadiusbymember(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    search(ctx, args, Kind::ByMember { store: true })
}

/// `GEORADIUSBYMEMBER_RO key member radius unit [options]`
pub(super) fn georadiusbymember_ro(
    ctx: &mut Ctx<'_>,
    args: Args<'_>,
) -> Result<Reply, CommandError> {
    search(ctx, args, Kind::ByMember { store: false })
}

/// `GEOSEARCH key FROMMEMBER member | FROMLONLAT lon lat BYRADIUS r unit | BYBOX w h unit [options]`
pub(super) fn geosearch(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    search(ctx, args, Kind::Search { store: false })
}

/// `GEOSEARCHSTORE dst src FROMMEMBER ... | FROMLONLAT ... BYRADIUS ... | BYBOX ... [options] [STOREDIST]`
pub(super) fn geosearchstore(ctx: &mut Ctx<'_>, args: Args<'_>) -> Result<Reply, CommandError> {
    search(ctx, args, Kind::Search { store: true })
}

// ---- argument helpers ----

fn bad_pair(lon: f64, lat: f64) -> CommandError {
    CommandError::custom(format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"))
}

/// A longitude and a latitude inside the indexable area.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CommandError> {
    let lon = parse_f64(lon).ok_or(CommandError::NotFloat)?;
    let lat = parse_f64(lat).ok_or(CommandError::NotFloat)?;
    if !(geohash::LON_MIN..=geohash::LON_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(bad_pair(lon, lat));
    }
    Ok((lon, lat))
}

/// Meters per unit.
fn unit(u: &[u8]) -> Result<f64, CommandError> {
    const UNITS: [(&str, f64); 4] = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)];
    UNITS.iter().find(|(n, _)| u.eq_ignore_ascii_case(n.as_bytes())).map(|&(_, f)| f).ok_or_else(
        || CommandError::custom("ERR unsupported unit provided. please use M, KM, FT, MI"),
    )
}

/// A non-negative size with Redis's "need numeric ..." error.
fn size(b: &[u8], what: &'static str) -> Result<f64, CommandError> {
    parse_f64(b).ok_or_else(|| CommandError::custom(format!("ERR need numeric {what}")))
}

/// `radius unit`: the radius and meters per unit.
fn radius(r: &[u8], u: &[u8]) -> Result<(ShapeKind, f64), CommandError> {
    let r = size(r, "radius")?;
    if r < 0.0 {
        return Err(CommandError::custom("ERR radius cannot be negative"));
    }
    Ok((ShapeKind::Radius(r), unit(u)?))
}

/// `width height unit`: the box and meters per unit.
fn bybox(w: &[u8], h: &[u8], u: &[u8]) -> Result<(ShapeKind, f64), CommandError> {
    let (width, height) = (size(w, "width")?, size(h, "height")?);
    if width < 0.0 || height < 0.0 {
        return Err(CommandError::custom("ERR height or width cannot be negative"));
    }
    Ok((ShapeKind::Box { width, height }, unit(u)?))
}

/// The position of a member, or Redis's error for a missing one.
fn member_pos(z: &ZSet, member: &[u8]) -> Result<(f64, f64), CommandError> {
    z.score(member)
        .map(geohash::decode_score)
        .ok_or_else(|| CommandError::custom("ERR could not decode requested zset member"))
}

// ---- replies ----

/// A distance with 4 decimals (Redis's `fixedpoint_d2string`: rounded half to even, as `llrint`).
fn distance_reply(d: f64) -> Reply {
    let v = (d * 10000.0).round_ties_even() as i64;
    let sign = if v < 0 { "-" } else { "" };
    let v = v.unsigned_abs();
    Reply::Bulk(Bytes::from(format!("{sign}{}.{:04}", v / 10000, v % 10000)))
}

/// Redis's `addReplyHumanLongDouble`: `%.17Lf` without trailing zeros in RESP2; a double in RESP3.
fn coord_reply(v: f64, resp3: bool) -> Reply {
    if resp3 {
        return Reply::Double(v);
    }
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    if s == "-0" {
        s = "0".into();
    }
    Reply::Bulk(Bytes::from(s))
}

// ---- searches ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS (`store`: STORE/STOREDIST accepted) and GEORADIUS_RO.
    Radius { store: bool },
    /// GEORADIUSBYMEMBER and GEORADIUSBYMEMBER_RO.
    ByMember { store: bool },
    /// GEOSEARCH and GEOSEARCHSTORE.
    Search { store: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Sort {
    #[default]
    None,
    Asc,
    Desc,
}

/// A search's options as Redis's `georadiusGeneric` reads them.
#[derive(Default)]
struct SearchOptions<'a> {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    sort: Sort,
    any: bool,
    /// 0: no limit.
    count: usize,
    store: Option<&'a Bytes>,
    storedist: bool,
    center: Option<(f64, f64)>,
    /// FROMMEMBER was given (on a missing key it leaves `center` empty).
    from_member: bool,
    /// FROMLONLAT was given.
    from_lonlat: bool,
    shape: Option<(ShapeKind, f64)>,
}

impl<'a> SearchOptions<'a> {
    /// Reads the options after the fixed arguments, in Redis's order: each option checks its own argument
    /// when it is read (so the first bad one reports), and an option not allowed here is a syntax error.
    fn parse(
        &mut self,
        rest: &'a [Bytes],
        kind: Kind,
        z: Option<&ZSet>,
    ) -> Result<(), CommandError> {
        let is = |a: &Bytes, w: &str| a.eq_ignore_ascii_case(w.as_bytes());
        let search = matches!(kind, Kind::Search { .. });
        let legacy_store =
            matches!(kind, Kind::Radius { store: true } | Kind::ByMember { store: true });
        let left = |i: usize, n: usize| i + n < rest.len();
        let mut i = 0;
        while i < rest.len() {
            let a = &rest[i];
            if is(a, "withdist") {
                self.withdist = true;
            } else if is(a, "withhash") {
                self.withhash = true;
            } else if is(a, "withcoord") {
                self.withcoord = true;
            } else if is(a, "any") {
                self.any = true;
            } else if is(a, "asc") {
                self.sort = Sort::Asc;
            } else if is(a, "desc") {
                self.sort = Sort::Desc;
            } else if is(a, "count") && left(i, 1) {
                let n = super::args::parse_i64(&rest[i + 1]).ok_or(CommandError::NotInteger)?;
                if n <= 0 {
                    return Err(CommandError::custom("ERR COUNT must be > 0"));
                }
                self.count = usize::try_from(n).unwrap_or(usize::MAX);
                i += 1;
            } else if (is(a, "store") || is(a, "storedist")) && left(i, 1) && legacy_store {
                self.store = Some(&rest[i + 1]);
                self.storedist = is(a, "storedist");
                i += 1;
            } else if is(a, "storedist") && kind == (Kind::Search { store: true }) {
                self.storedist = true;
            } else if is(a, "frommember") && left(i, 1) && search && !self.from_lonlat {
                if let Some(z) = z {
                    self.center = Some(member_pos(z, &rest[i + 1])?);
                }
                self.from_member = true;
                i += 1;
            } else if is(a, "fromlonlat") && left(i, 2) && search && !self.from_member {
                self.center = Some(lon_lat(&rest[i + 1], &rest[i + 2])?);
                self.from_lonlat = true;
                i += 2;
            } else if is(a, "byradius")
                && left(i, 2)
                && search
                && !matches!(self.shape, Some((ShapeKind::Box { .. }, _)))
            {
                self.shape = Some(radius(&rest[i + 1], &rest[i + 2])?);
                i += 2;
            } else if is(a, "bybox")
                && left(i, 3)
                && search
                && !matches!(self.shape, Some((ShapeKind::Radius(_), _)))
            {
                self.shape = Some(bybox(&rest[i + 1], &rest[i + 2], &rest[i + 3])?);
                i += 3;
            } else {
                return Err(CommandError::Syntax);
            }
            i += 1;
        }
        Ok(())
    }
}

/// One point found by a search.
struct Found {
    member: Bytes,
    score: f64,
    lon: f64,
    lat: f64,
    /// Meters from the centre.
    dist: f64,
}

fn search(ctx: &mut Ctx<'_>, mut args: Args<'_>, kind: Kind) -> Result<Reply, CommandError> {
    let name = args.command_name();
    let mut opts = SearchOptions::default();
    if kind == (Kind::Search { store: true }) {
        opts.store = Some(args.next_key()?);
    }
    let key = args.next_key()?;
    let now = ctx.now;
    let z = ctx.db.get_as::<ZSet>(key, now)?;
    match kind {
        Kind::Radius { .. } => {
            let (lon, lat) = (args.next_bytes()?, args.next_bytes()?);
            opts.center = Some(lon_lat(lon, lat)?);
            let (r, u) = (args.next_bytes()?, args.next_bytes()?);
            opts.shape = Some(radius(r, u)?);
        }
        Kind::ByMember { .. } => {
            let (m, r, u) = (args.next_bytes()?, args.next_bytes()?, args.next_bytes()?);
            // On a missing key Redis reads neither the member nor the radius.
            if let Some(z) = z {
                opts.center = Some(member_pos(z, m)?);
                opts.shape = Some(radius(r, u)?);
            }
        }
        Kind::Search { .. } => {}
    }
    opts.parse(args.rest(), kind, z)?;

    if opts.store.is_some() && (opts.withdist || opts.withhash || opts.withcoord) {
        let what = if kind == (Kind::Search { store: true }) {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CommandError::custom(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    if let Kind::Search { .. } = kind {
        let name = String::from_utf8_lossy(name);
        if !opts.from_member && !opts.from_lonlat {
            return Err(CommandError::custom(format!(
                "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
            )));
        }
        if opts.shape.is_none() {
            return Err(CommandError::custom(format!(
                "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
            )));
        }
    }
    if opts.any && opts.count == 0 {
        return Err(CommandError::custom("ERR the ANY argument requires COUNT argument"));
    }
    let (Some(z), Some((lon, lat)), Some((shape_kind, conversion))) = (z, opts.center, opts.shape)
    else {
        // The source key is missing.
        return Ok(match opts.store {
            Some(dst) => {
                if ctx.db.remove(dst, now).is_some() {
                    ctx.mark_dirty(1);
                    touch_legacy_store(ctx, kind, dst);
                }
                Reply::Int(0)
            }
            None => Reply::Array(Vec::new()),
        });
    };
    if opts.count != 0 && opts.sort == Sort::None && !opts.any {
        opts.sort = Sort::Asc;
    }
    let shape = Shape { lon, lat, conversion, kind: shape_kind };
    let mut found = collect(z, &shape, if opts.any { opts.count } else { 0 });
    if found.is_empty() && opts.store.is_none() {
        return Ok(Reply::Array(Vec::new()));
    }
    let returned = if opts.count == 0 { found.len() } else { found.len().min(opts.count) };
    if opts.sort != Sort::None {
        let desc = opts.sort == Sort::Desc;
        let cmp = |a: &Found, b: &Found| {
            let o = a.dist.partial_cmp(&b.dist).unwrap_or(std::cmp::Ordering::Equal);
            if desc { o.reverse() } else { o }
        };
        if returned == found.len() {
            // glibc's qsort is a merge sort here: stable.
            found.sort_by(cmp);
        } else {
            partial_sort(&mut found, returned, &cmp);
        }
    }
    found.truncate(returned);

    let Some(dst) = opts.store else {
        let resp3 = ctx.client.protocol == Protocol::Resp3;
        let extras =
            usize::from(opts.withdist) + usize::from(opts.withhash) + usize::from(opts.withcoord);
        let out = found
            .into_iter()
            .map(|f| {
                if extras == 0 {
                    return Reply::Bulk(f.member);
                }
                let mut item = Vec::with_capacity(extras + 1);
                item.push(Reply::Bulk(f.member));
                if opts.withdist {
                    item.push(distance_reply(f.dist / conversion));
                }
                if opts.withhash {
                    item.push(Reply::Int(f.score as i64));
                }
                if opts.withcoord {
                    item.push(Reply::Array(vec![
                        coord_reply(f.lon, resp3),
                        coord_reply(f.lat, resp3),
                    ]));
                }
                Reply::Array(item)
            })
            .collect();
        return Ok(Reply::Array(out));
    };
    let mut out = ZSet::with_compact(false);
    for f in found {
        let score = if opts.storedist { f.dist / conversion } else { f.score };
        if out.score(&f.member).is_none() {
            out.insert(f.member, score);
        }
    }
    out.compact_if_small();
    let dirty = ctx.dirty;
    let reply = zsets::store_result(ctx, dst, out);
    if ctx.dirty > dirty {
        touch_legacy_store(ctx, kind, dst);
    }
    Ok(reply)
}

/// GEORADIUS's STORE key is not in its table row's key positions: WATCH must still see the change.
fn touch_legacy_store(ctx: &mut Ctx<'_>, kind: Kind, dst: &Bytes) {
    if !matches!(kind, Kind::Search { .. }) {
        ctx.server.touch_keys(std::iter::once(dst));
    }
}

/// The members inside `shape`, scanning the cells of the search in Redis's order; stops at `limit` found
/// (0: no limit).
fn collect(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Found> {
    let cells = shape.cells();
    let mut found = Vec::new();
    let full = |found: &Vec<Found>| limit != 0 && found.len() >= limit;
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_none() {
            continue;
        }
        // Huge radii make neighbours coincide: Redis skips a cell equal to the last one scanned (the
        // centre, index 0, does not count as scanned for this check).
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if full(&found) {
            break;
        }
        let (min, max) = cell.score_range();
        let range = ScoreRange { min: min as f64, max: max as f64, minex: false, maxex: true };
        for (m, score) in z.range_by_score(&range, false) {
            let (lon, lat) = geohash::decode_score(score);
            if let Some(dist) = shape.contains(lon, lat) {
                found.push(Found { member: m.clone(), score, lon, lat, dist });
            }
            if full(&found) {
                break;
            }
        }
        last = i;
    }
    found
}

/// Redis's `pqsort` (Bentley-McIlroy quicksort that only recurses into parts overlapping the first `k`
/// positions), so ties among the first `k` come out in Redis's order.
fn partial_sort(v: &mut [Found], k: usize, cmp: &impl Fn(&Found, &Found) -> std::cmp::Ordering) {
    if k > 0 {
        pqsort(v, 0, cmp, 0, k - 1);
    }
}

/// Sorts `v` (which starts at absolute index `base`) enough that positions `lo..=hi` hold the right
/// elements in order.
fn pqsort(
    mut v: &mut [Found],
    mut base: usize,
    cmp: &impl Fn(&Found, &Found) -> std::cmp::Ordering,
    lo: usize,
    hi: usize,
) {
    use std::cmp::Ordering::{Greater, Less};
    let c = |v: &[Found], a: usize, b: usize| cmp(&v[a], &v[b]);
    loop {
        let n = v.len();
        if n < 7 {
            for m in 1..n {
                let mut l = m;
                while l > 0 && c(v, l - 1, l) == Greater {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let med3 = |v: &[Found], a: usize, b: usize, cc: usize| {
            if c(v, a, b) == Less {
                if c(v, b, cc) == Less {
                    b
                } else if c(v, a, cc) == Less {
                    cc
                } else {
                    a
                }
            } else if c(v, b, cc) == Greater {
                b
            } else if c(v, a, cc) == Less {
                a
            } else {
                cc
            }
        };
        let mut pm = n / 2;
        if n > 7 {
            let mut pl = 0;
            let mut pn = n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d);
                pm = med3(v, pm - d, pm, pm + d);
                pn = med3(v, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, pl, pm, pn);
        }
        v.swap(0, pm);
        let (mut pa, mut pb) = (1usize, 1usize);
        // pc and pd may step below pb (to "pb - 1"): kept as isize.
        let (mut pc, mut pd) = (n as isize - 1, n as isize - 1);
        loop {
            while pb as isize <= pc {
                let r = c(v, pb, 0);
                if r == Greater {
                    break;
                }
                if r.is_eq() {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb as isize <= pc {
                let r = c(v, pc as usize, 0);
                if r == Less {
                    break;
                }
                if r.is_eq() {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb as isize > pc {
                break;
            }
            v.swap(pb, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let r = pa.min(pb - pa);
        vecswap(v, 0, pb - r, r);
        let r = ((pd - pc) as usize).min(n - 1 - pd as usize);
        vecswap(v, pb, n - r, r);
        let overlaps = |start: usize, len: usize| !(hi < start || lo > start + len - 1);
        let left = pb - pa;
        if left > 1 && overlaps(base, left) {
            pqsort(&mut v[..left], base, cmp, lo, hi);
        }
        let right = (pd - pc) as usize;
        if right > 1 {
            let start = n - right;
            if overlaps(base + start, right) {
                v = &mut v[start..];
                base += start;
                continue;
            }
        }
        return;
    }
}

fn vecswap(v: &mut [Found], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(dists: &[f64]) -> Vec<Found> {
        dists
            .iter()
            .enumerate()
            .map(|(i, &d)| Found {
                member: Bytes::from(i.to_string()),
                score: 0.0,
                lon: 0.0,
                lat: 0.0,
                dist: d,
            })
            .collect()
    }

    #[test]
    fn partial_sort_orders_the_first_k() {
        let cmp = |a: &Found, b: &Found| a.dist.partial_cmp(&b.dist).unwrap();
        for n in [1usize, 5, 7, 8, 30, 41, 100, 257] {
            let dists: Vec<f64> = (0..n).map(|i| ((i * 7919) % 101) as f64).collect();
            let mut sorted = dists.clone();
            sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
            for k in [1, 2, n / 2, n] {
                if k == 0 || k > n {
                    continue;
                }
                let mut v = found(&dists);
                partial_sort(&mut v, k, &cmp);
                let got: Vec<f64> = v[..k].iter().map(|f| f.dist).collect();
                assert_eq!(got, sorted[..k], "n={n} k={k}");
            }
        }
    }

    #[test]
    fn distance_text() {
        let text = |d: f64| match distance_reply(d) {
            Reply::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(text(0.0), "0.0000");
        assert_eq!(text(0.00005), "0.0000");
        assert_eq!(text(166274.15156960033), "166274.1516");
        assert_eq!(text(1.5), "1.5000");
        assert_eq!(text(12.34565), "12.3456"); // 123456.4999... after scaling
    }

    #[test]
    fn coord_text() {
        let text = |d: f64| match coord_reply(d, false) {
            Reply::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(text(13.361389338970184), "13.36138933897018433");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(2.5), "2.5");
        assert_eq!(text(180.0), "180");
    }

    mod engine {
        use std::sync::{Arc, Mutex};

        use bytes::Bytes;
        use larder_resp::{Protocol, Reply};

        use crate::{ClientState, Engine, ManualClock, Propagate, ServerInfo};

        type Log = Arc<Mutex<Vec<Vec<Bytes>>>>;

        struct Sink(Log);

        impl Propagate for Sink {
            fn propagate(&mut self, argv: &[Bytes]) {
                self.0.lock().unwrap().push(argv.to_vec());
            }
        }

        fn setup() -> (Engine, ClientState, Log) {
            let mut e = Engine::new(Arc::new(ManualClock::new(1_000_000)), ServerInfo::default());
            let log: Log = Arc::default();
            e.set_propagation(Box::new(Sink(log.clone())));
            let c = e.new_client("test".into());
            (e, c, log)
        }

        fn run(e: &mut Engine, c: &mut ClientState, cmd: &str) -> Reply {
            let argv: Vec<Bytes> =
                cmd.split(' ').map(|s| Bytes::copy_from_slice(s.as_bytes())).collect();
            e.execute(c, &argv)
        }

        fn bulk(s: &str) -> Reply {
            Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
        }

        const SICILY: &str =
            "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania";

        #[test]
        fn writes_propagate_as_sent_and_only_when_they_change_something() {
            let (mut e, mut c, log) = setup();
            for cmd in [
                "GEORADIUS nokey 15 37 200 km STORE d",
                "GEOSEARCHSTORE d nokey FROMLONLAT 15 37 BYRADIUS 1 km",
                "GEOADD Sicily XX 1 1 Palermo",
                SICILY,
                "GEOADD Sicily NX 1 1 Palermo",
                "GEOADD Sicily 13.361389 38.115556 Palermo",
                "GEORADIUS Sicily 15 37 200 km WITHDIST",
                "GEORADIUS Sicily 15 37 200 km STOREDIST d1",
                "GEORADIUSBYMEMBER Sicily Palermo 200 km STORE d2 COUNT 1",
                "GEOSEARCHSTORE d3 Sicily FROMMEMBER Catania BYBOX 400 400 km DESC STOREDIST",
                "GEOSEARCHSTORE d3 Sicily FROMLONLAT 0 0 BYRADIUS 1 km",
            ] {
                assert!(!run(&mut e, &mut c, cmd).is_error(), "{cmd}");
            }
            let lines: Vec<String> = log
                .lock()
                .unwrap()
                .iter()
                .map(|a| a.iter().map(|b| String::from_utf8_lossy(b)).collect::<Vec<_>>().join(" "))
                .collect();
            assert_eq!(
                lines,
                vec![
                    SICILY,
                    "GEORADIUS Sicily 15 37 200 km STOREDIST d1",
                    "GEORADIUSBYMEMBER Sicily Palermo 200 km STORE d2 COUNT 1",
                    "GEOSEARCHSTORE d3 Sicily FROMMEMBER Catania BYBOX 400 400 km DESC STOREDIST",
                    "GEOSEARCHSTORE d3 Sicily FROMLONLAT 0 0 BYRADIUS 1 km",
                ]
            );
            // Replaying what was propagated rebuilds the same keys.
            let (mut r, mut rc, _) = setup();
            for argv in log.lock().unwrap().iter() {
                assert!(!r.execute(&mut rc, argv).is_error());
            }
            for key in ["Sicily", "d1", "d2", "d3"] {
                let cmd = format!("ZRANGE {key} 0 -1 WITHSCORES");
                assert_eq!(run(&mut e, &mut c, &cmd), run(&mut r, &mut rc, &cmd), "{key}");
            }
            assert_eq!(run(&mut r, &mut rc, "EXISTS d3"), Reply::Int(0));
            assert_eq!(run(&mut r, &mut rc, "ZCARD d1"), Reply::Int(2));
        }

        #[test]
        fn a_legacy_store_key_is_seen_by_watch() {
            let (mut e, mut c, _) = setup();
            let mut other = e.new_client("other".into());
            run(&mut e, &mut c, SICILY);
            run(&mut e, &mut c, "WATCH d");
            run(&mut e, &mut other, "GEORADIUS Sicily 15 37 200 km STORE d");
            run(&mut e, &mut c, "MULTI");
            run(&mut e, &mut c, "SET x 1");
            assert_eq!(run(&mut e, &mut c, "EXEC"), Reply::NilArray);
            // Nothing stored, nothing deleted: the watch holds.
            run(&mut e, &mut c, "WATCH d9");
            run(&mut e, &mut other, "GEORADIUS Sicily 0 0 1 km STORE d9");
            run(&mut e, &mut c, "MULTI");
            run(&mut e, &mut c, "SET x 1");
            assert_eq!(run(&mut e, &mut c, "EXEC"), Reply::Array(vec![Reply::OK]));
        }

        #[test]
        fn resp3_positions_are_doubles() {
            let (mut e, mut c, _) = setup();
            c.protocol = Protocol::Resp3;
            run(&mut e, &mut c, SICILY);
            let Reply::Array(pos) = run(&mut e, &mut c, "GEOPOS Sicily Palermo nobody") else {
                panic!()
            };
            assert_eq!(pos[1], Reply::NilArray);
            let Reply::Array(xy) = &pos[0] else { panic!() };
            assert!(matches!(xy[0], Reply::Double(x) if (x - 13.361389338970184).abs() < 1e-12));
            assert_eq!(run(&mut e, &mut c, "GEODIST Sicily Palermo Catania km"), bulk("166.2742"));
            assert_eq!(run(&mut e, &mut c, "GEODIST Sicily Palermo nobody"), Reply::Nil);
        }
    }
}
