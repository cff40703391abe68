//! HyperLogLog in Redis's exact byte format, so counts match Redis's and an HLL's bytes (`GET`) can move
//! between larder and Redis. The value is a plain string:
//!
//! - a 16-byte header: `HYLL`, the encoding (0 dense, 1 sparse), 3 zero bytes, and the cached cardinality
//!   as 8 little-endian bytes whose top bit set means "stale";
//! - dense: 16384 registers of 6 bits, packed least significant bit first (12288 bytes);
//! - sparse: run-length opcodes, `00llllll` (ZERO, 1..64 zero registers), `01llllll llllllll` (XZERO,
//!   1..16384 zero registers), `1vvvvvll` (VAL, 1..4 registers of value 1..32). A sparse HLL turns dense
//!   when a register exceeds 32 or the string would pass [`SPARSE_MAX_BYTES`].
//!
//! Elements are hashed with MurmurHash64A (seed `0xadc83b19`): the low 14 bits pick the register, the
//! position of the first set bit in the remaining 50 (plus one) is its candidate value. The cardinality is
//! Ertl's improved estimator over the register histogram, computed in the same floating-point steps as
//! Redis so the integers agree.

/// Header bytes.
pub const HDR: usize = 16;
/// Registers (2^14).
pub const REGISTERS: usize = 1 << 14;
/// Bits per dense register.
const BITS: usize = 6;
/// Bits of the hash left after the register index.
const Q: usize = 64 - 14;
/// Length of a dense HLL string.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
/// Redis's default `hll-sparse-max-bytes`: a sparse HLL that would grow past it turns dense.
pub const SPARSE_MAX_BYTES: usize = 3000;

const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;

/// The HLL's bytes do not decode (Redis's `INVALIDOBJ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// The string of a new, empty HLL: sparse, one XZERO opcode covering every register, cached count 0.
pub fn new_sparse() -> Vec<u8> {
    let mut v = vec![0u8; HDR + 2];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = SPARSE;
    v[HDR..].copy_from_slice(&xzero(REGISTERS));
    v
}

/// Redis's `isHLLObjectOrReply` test: long enough, the magic, a known encoding, a dense one exactly sized.
pub fn is_valid(b: &[u8]) -> bool {
    b.len() >= HDR
        && &b[..4] == b"HYLL"
        && b[4] <= SPARSE
        && (b[4] != DENSE || b.len() == DENSE_SIZE)
}

/// Whether the HLL is dense.
pub fn is_dense(b: &[u8]) -> bool {
    b[4] == DENSE
}

/// The cached cardinality, when it is valid.
pub fn cached_count(b: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(b[8..16].try_into().ok()?);
    (card >> 63 == 0).then_some(card)
}

/// Stores `card` as the cached cardinality.
pub fn set_cached_count(b: &mut [u8], card: u64) {
    b[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality stale.
pub fn invalidate(b: &mut [u8]) {
    b[15] |= 0x80;
}

/// Adds `element`: whether a register changed.
pub fn add(v: &mut Vec<u8>, element: &[u8]) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    set(v, index, count)
}

/// Raises register `index` to `count` if it is lower: whether it changed.
pub fn set(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if is_dense(v) {
        Ok(dense_set(&mut v[HDR..], index, count))
    } else {
        sparse_set(v, index, count)
    }
}

/// Turns a sparse HLL dense (keeping its header); a dense one is left alone.
pub fn to_dense(v: &mut Vec<u8>) -> Result<(), Corrupt> {
    if is_dense(v) {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&v[..HDR]);
    dense[4] = DENSE;
    let mut idx = 0;
    for op in Ops::new(&v[HDR..]) {
        match op? {
            Op::Zero(n) => idx += n,
            Op::Val(val, n) => {
                if idx + n > REGISTERS {
                    return Err(Corrupt);
                }
                for r in idx..idx + n {
                    dense_write(&mut dense[HDR..], r, val);
                }
                idx += n;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *v = dense;
    Ok(())
}

/// Raises each of `max`'s registers to the HLL's (Redis's `hllMerge`).
pub fn merge_into(max: &mut [u8], b: &[u8]) -> Result<(), Corrupt> {
    if is_dense(b) {
        for (m, c) in max.chunks_exact_mut(4).zip(b[HDR..].chunks_exact(3)) {
            for (m, r) in m.iter_mut().zip(unpack(c)) {
                *m = (*m).max(r);
            }
        }
        return Ok(());
    }
    let mut idx = 0;
    for op in Ops::new(&b[HDR..]) {
        match op? {
            Op::Zero(n) => idx += n,
            Op::Val(val, n) => {
                if idx + n > REGISTERS {
                    return Err(Corrupt);
                }
                for m in &mut max[idx..idx + n] {
                    *m = (*m).max(val);
                }
                idx += n;
            }
        }
    }
    if idx == REGISTERS { Ok(()) } else { Err(Corrupt) }
}

/// The estimated cardinality of an HLL string (Redis's `hllCount`); a sparse one that does not cover
/// exactly every register is corrupt.
pub fn count(b: &[u8]) -> Result<u64, Corrupt> {
    let mut histogram = [0u32; 64];
    if is_dense(b) {
        for c in b[HDR..].chunks_exact(3) {
            for r in unpack(c) {
                histogram[usize::from(r)] += 1;
            }
        }
    } else {
        let mut idx = 0;
        for op in Ops::new(&b[HDR..]) {
            let (val, n) = match op? {
                Op::Zero(n) => (0, n),
                Op::Val(val, n) => (val, n),
            };
            histogram[usize::from(val)] += n as u32;
            idx += n;
        }
        if idx != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(estimate(&histogram))
}

/// The estimated cardinality of raw registers (one byte each), as PFCOUNT of several keys uses.
pub fn count_registers(registers: &[u8]) -> u64 {
    let mut histogram = [0u32; 64];
    for &r in registers {
        histogram[usize::from(r & 63)] += 1;
    }
    estimate(&histogram)
}

// ---- internals ----

/// The register an element goes to and the value it proposes (Redis's `hllPatLen`).
fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, 0xadc8_3b19);
    let index = (hash as usize) & (REGISTERS - 1);
    let rest = (hash >> 14) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// MurmurHash64A (Austin Appleby), reading 8-byte blocks little-endian as Redis does on x86 and ARM.
fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let blocks = key.chunks_exact(8);
    let tail = blocks.remainder();
    for block in blocks {
        let mut k = u64::from_le_bytes(block.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Ertl's estimator over the register histogram, step for step as Redis computes it.
fn estimate(histogram: &[u32; 64]) -> u64 {
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(histogram[Q + 1])) / m);
    for j in (1..=Q).rev() {
        z += f64::from(histogram[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powf(2.0) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The four dense registers packed in 3 bytes (6 bits each, least significant bits first).
#[inline]
fn unpack(c: &[u8]) -> [u8; 4] {
    let v = u32::from(c[0]) | u32::from(c[1]) << 8 | u32::from(c[2]) << 16;
    [v & 63, (v >> 6) & 63, (v >> 12) & 63, v >> 18].map(|r| r as u8)
}

/// Dense register `i` (the byte after the last register reads as 0, like Redis's trailing NUL).
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = u16::from(regs[byte]);
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

fn dense_write(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = u16::from(val);
    regs[byte] &= !((63u16 << fb) as u8);
    regs[byte] |= (v << fb) as u8;
    if let Some(b1) = regs.get_mut(byte + 1) {
        *b1 &= !((63u16 >> (8 - fb)) as u8);
        *b1 |= (v >> (8 - fb)) as u8;
    }
}

fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_write(regs, i, count);
        true
    } else {
        false
    }
}

/// A decoded sparse opcode: a run of zero registers, or a run of registers with one value.
enum Op {
    Zero(usize),
    Val(u8, usize),
}

/// The opcodes of a sparse HLL's body, in order; a truncated XZERO is corrupt.
struct Ops<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Ops<'a> {
    fn new(body: &'a [u8]) -> Ops<'a> {
        Ops { body, pos: 0 }
    }
}

impl Iterator for Ops<'_> {
    type Item = Result<Op, Corrupt>;
    fn next(&mut self) -> Option<Self::Item> {
        let (op, len) = decode(self.body, self.pos)?;
        self.pos += len;
        Some(op)
    }
}

/// The opcode at `p` and its length in bytes, or `None` at the end.
fn decode(body: &[u8], p: usize) -> Option<(Result<Op, Corrupt>, usize)> {
    let b = *body.get(p)?;
    Some(match b & 0xc0 {
        0x00 => (Ok(Op::Zero(usize::from(b & 0x3f) + 1)), 1),
        0x40 => match body.get(p + 1) {
            Some(&lo) => (Ok(Op::Zero(((usize::from(b & 0x3f) << 8) | usize::from(lo)) + 1)), 2),
            None => (Err(Corrupt), 1),
        },
        _ => (Ok(Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1)), 1),
    })
}

fn val(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [0x40 | (l >> 8) as u8, (l & 0xff) as u8]
}

/// Appends the zero run of `len` registers (ZERO or XZERO) to `seq`.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero(len));
    } else {
        seq.push((len - 1) as u8);
    }
}

/// Redis's `hllSparseSet`, step for step (the resulting bytes must be Redis's): find the opcode covering
/// `index`, update it in place or split it, then merge adjacent equal VAL runs near the change; turn dense
/// when the value does not fit a VAL opcode or the string would pass [`SPARSE_MAX_BYTES`].
fn sparse_set(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Step 1: the opcode at `p` covers registers `first..first + span`.
    let mut p = HDR;
    let mut first = 0;
    let mut prev = None;
    let mut found = None;
    while let Some((op, oplen)) = decode(v, p) {
        let op = op?;
        let span = match op {
            Op::Zero(n) | Op::Val(_, n) => n,
        };
        if index < first + span {
            found = Some((op, oplen, span));
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    let Some((op, oplen, span)) = found else { return Err(Corrupt) };
    // Step 2: trivial in-place updates.
    match op {
        Op::Val(old, _) if old >= count => return Ok(false),
        Op::Val(_, 1) => v[p] = val(count, 1),
        Op::Zero(1) if oplen == 1 => v[p] = val(count, 1),
        _ => {
            // Split the run into (before, our register, after).
            let last = first + span - 1;
            let mut seq = Vec::with_capacity(5);
            match op {
                Op::Zero(_) => {
                    if index != first {
                        push_zeros(&mut seq, index - first);
                    }
                    seq.push(val(count, 1));
                    if index != last {
                        push_zeros(&mut seq, last - index);
                    }
                }
                Op::Val(cur, _) => {
                    if index != first {
                        seq.push(val(cur, index - first));
                    }
                    seq.push(val(count, 1));
                    if index != last {
                        seq.push(val(cur, last - index));
                    }
                }
            }
            // Step 3: splice it in, unless that makes the string too long.
            if seq.len() > oplen && v.len() + seq.len() - oplen > SPARSE_MAX_BYTES {
                return promote(v, index, count);
            }
            v.splice(p..p + oplen, seq);
        }
    }
    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from the previous one.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < v.len() && scan > 0 {
        scan -= 1;
        match v[p] & 0xc0 {
            0x40 => {
                p += 2;
                continue;
            }
            0x00 => {
                p += 1;
                continue;
            }
            _ => {}
        }
        if p + 1 < v.len() && v[p + 1] & 0x80 != 0 {
            let (a, b) = (v[p], v[p + 1]);
            let (v1, v2) = (((a >> 2) & 0x1f) + 1, ((b >> 2) & 0x1f) + 1);
            let len = usize::from(a & 3) + usize::from(b & 3) + 2;
            if v1 == v2 && len <= VAL_MAX_LEN {
                v[p + 1] = val(v1, len);
                v.remove(p);
                continue;
            }
        }
        p += 1;
    }
    invalidate(v);
    Ok(true)
}

fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(v)?;
    Ok(dense_set(&mut v[HDR..], index, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_of_the_empty_string_with_seed_zero_is_zero() {
        // h = 0 ^ (0 * m) = 0 and the final mix keeps 0. (Every other value is checked through the
        // transcripts, whose HLL bytes are diffed against Redis's.)
        assert_eq!(murmur64a(b"", 0), 0);
        assert_ne!(murmur64a(b"a", 0xadc8_3b19), murmur64a(b"b", 0xadc8_3b19));
    }

    #[test]
    fn empty_hll_is_sparse_and_counts_zero() {
        let v = new_sparse();
        assert_eq!(v.len(), 18);
        assert!(is_valid(&v));
        assert_eq!(count(&v), Ok(0));
        assert_eq!(cached_count(&v), Some(0));
    }

    #[test]
    fn dense_and_sparse_agree() {
        let mut sparse = new_sparse();
        for i in 0..2000u32 {
            add(&mut sparse, &i.to_le_bytes()).unwrap();
        }
        let mut dense = sparse.clone();
        to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_SIZE);
        assert_eq!(count(&sparse), count(&dense));
        let mut a = vec![0u8; REGISTERS];
        let mut b = vec![0u8; REGISTERS];
        merge_into(&mut a, &sparse).unwrap();
        merge_into(&mut b, &dense).unwrap();
        assert_eq!(a, b);
        assert_eq!(count_registers(&a), count(&dense).unwrap());
        for (i, &r) in a.iter().enumerate() {
            assert!(!dense_set(&mut dense[HDR..], i, r));
        }
        let all: Vec<u8> = dense[HDR..].chunks_exact(3).flat_map(unpack).collect();
        assert_eq!(all, a);
        assert!(all.iter().any(|&r| r > 1));
    }

    #[test]
    fn corrupt_sparse_is_detected() {
        let mut v = new_sparse();
        v.truncate(HDR + 1);
        assert_eq!(count(&v), Err(Corrupt));
        let mut v = new_sparse();
        v.push(0x00);
        assert_eq!(count(&v), Err(Corrupt));
        assert_eq!(merge_into(&mut [0u8; REGISTERS], &v), Err(Corrupt));
    }
}
