use super::*;

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Checks the structural invariants of a dict.
fn check_invariants<K: Hash + Eq, V, S: BuildHasher>(d: &Dict<K, V, S>) {
    for table in [&d.t0, &d.t1] {
        assert!(table.size() == 0 || table.size().is_power_of_two());
        let mut count = 0;
        for (i, bucket) in table.buckets.iter().enumerate() {
            let mut cur = bucket.as_deref();
            while let Some(node) = cur {
                assert_eq!(table.index(d.hash(&node.key)), i, "element in wrong bucket");
                count += 1;
                cur = node.next.as_deref();
            }
        }
        assert_eq!(count, table.len, "table len out of sync");
    }
    if d.is_rehashing() {
        assert!(d.t0.size() > 0);
        assert_ne!(d.t0.size(), d.t1.size());
        assert!(d.rehash_idx < d.t0.size());
        assert!(d.t0.buckets[..d.rehash_idx].iter().all(Option::is_none));
    } else {
        assert_eq!(d.rehash_idx, 0);
        assert_eq!(d.t1.len, 0);
    }
    if !d.is_empty() {
        assert!(d.t0.size() >= MIN_BUCKETS);
    }
    let distinct: HashSet<&K> = d.keys().collect();
    assert_eq!(distinct.len(), d.len(), "duplicate keys");
}

fn key(n: u16) -> String {
    format!("k{n}")
}

fn contents<S: BuildHasher>(d: &Dict<String, u32, S>) -> HashMap<String, u32> {
    d.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

/// Runs rehash steps until the dict is no longer rehashing.
fn finish<K: Hash + Eq, V, S: BuildHasher>(d: &mut Dict<K, V, S>) {
    while d.rehash_step(64) {}
}

// ---------------------------------------------------------------------------
// Model test against std HashMap
// ---------------------------------------------------------------------------

const KEYS: u16 = 600;

#[derive(Debug, Clone)]
enum Op {
    Insert(u16, u32),
    Remove(u16),
    RemoveEntry(u16),
    Get(u16),
    GetMut(u16, u32),
    GetOrInsert(u16, u32),
    InsertRange(u16, u16),
    RemoveRange(u16, u16),
    Retain(u8),
    RehashStep(u8),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
        4 => (0..KEYS).prop_map(Op::Remove),
        2 => (0..KEYS).prop_map(Op::RemoveEntry),
        4 => (0..KEYS).prop_map(Op::Get),
        2 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::GetMut(k, v)),
        3 => (0..KEYS, any::<u32>()).prop_map(|(k, v)| Op::GetOrInsert(k, v)),
        2 => (0..KEYS, 0..300u16).prop_map(|(k, n)| Op::InsertRange(k, n)),
        2 => (0..KEYS, 0..400u16).prop_map(|(k, n)| Op::RemoveRange(k, n)),
        1 => (1..6u8).prop_map(Op::Retain),
        1 => (0..20u8).prop_map(Op::RehashStep),
        1 => Just(Op::Clear),
    ]
}

fn apply(
    d: &mut Dict<String, u32>,
    m: &mut HashMap<String, u32>,
    op: &Op,
) -> Result<(), TestCaseError> {
    match *op {
        Op::Insert(k, v) => prop_assert_eq!(d.insert(key(k), v), m.insert(key(k), v)),
        Op::Remove(k) => prop_assert_eq!(d.remove(key(k).as_str()), m.remove(&key(k))),
        Op::RemoveEntry(k) => {
            prop_assert_eq!(d.remove_entry(key(k).as_str()), m.remove_entry(&key(k)))
        }
        Op::Get(k) => {
            let k = key(k);
            prop_assert_eq!(d.get(k.as_str()), m.get(&k));
            prop_assert_eq!(d.get_key_value(k.as_str()), m.get_key_value(&k));
            prop_assert_eq!(d.contains_key(k.as_str()), m.contains_key(&k));
        }
        Op::GetMut(k, v) => {
            let k = key(k);
            let a = d.get_mut(k.as_str()).map(|x| {
                *x ^= v;
                *x
            });
            let b = m.get_mut(&k).map(|x| {
                *x ^= v;
                *x
            });
            prop_assert_eq!(a, b);
        }
        Op::GetOrInsert(k, v) => {
            let mut called = false;
            let a = d.get_or_insert_with(key(k), || {
                called = true;
                v
            });
            *a = a.wrapping_add(1);
            let a = *a;
            let present = m.contains_key(&key(k));
            prop_assert_eq!(called, !present);
            let b = m.entry(key(k)).or_insert(v);
            *b = b.wrapping_add(1);
            prop_assert_eq!(a, *b);
        }
        Op::InsertRange(start, n) => {
            for k in start..start.saturating_add(n) {
                prop_assert_eq!(d.insert(key(k), k as u32), m.insert(key(k), k as u32));
            }
        }
        Op::RemoveRange(start, n) => {
            for k in start..start.saturating_add(n) {
                prop_assert_eq!(d.remove(key(k).as_str()), m.remove(&key(k)));
            }
        }
        Op::Retain(modulus) => {
            let keep = |k: &String| !k.len().is_multiple_of(modulus as usize) || k.ends_with('7');
            d.retain(|k, v| {
                *v = v.wrapping_mul(3);
                keep(k)
            });
            m.retain(|k, v| {
                *v = v.wrapping_mul(3);
                keep(k)
            });
        }
        Op::RehashStep(n) => {
            let still = d.rehash_step(n as usize);
            prop_assert_eq!(still, d.is_rehashing());
        }
        Op::Clear => {
            d.clear();
            m.clear();
            prop_assert_eq!(d.bucket_count(), 0);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matches_std_hashmap(ops in proptest::collection::vec(op(), 1..120)) {
        let mut d: Dict<String, u32> = Dict::new();
        let mut m: HashMap<String, u32> = HashMap::new();
        for op in &ops {
            apply(&mut d, &mut m, op)?;
            prop_assert_eq!(d.len(), m.len());
            prop_assert_eq!(d.is_empty(), m.is_empty());
            prop_assert_eq!(d.iter().count(), m.len());
            prop_assert_eq!(&contents(&d), &m);
            check_invariants(&d);
        }
        // The other views agree too.
        let mut keys: Vec<&String> = d.keys().collect();
        let mut mkeys: Vec<&String> = m.keys().collect();
        keys.sort();
        mkeys.sort();
        prop_assert_eq!(keys, mkeys);
        let mut vals: Vec<u32> = d.values().copied().collect();
        let mut mvals: Vec<u32> = m.values().copied().collect();
        vals.sort();
        mvals.sort();
        prop_assert_eq!(vals, mvals);
        for v in d.values_mut() {
            *v = v.wrapping_add(5);
        }
        for v in m.values_mut() {
            *v = v.wrapping_add(5);
        }
        prop_assert_eq!(&contents(&d), &m);
        let cloned = d.clone();
        prop_assert!(cloned == d);
        check_invariants(&cloned);
        let drained: HashMap<String, u32> = d.drain().collect();
        prop_assert_eq!(&drained, &m);
        prop_assert!(d.is_empty());
        let owned: HashMap<String, u32> = cloned.into_iter().collect();
        prop_assert_eq!(&owned, &m);
    }
}

// ---------------------------------------------------------------------------
// SCAN guarantees
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Batch {
    Insert(u16),
    Remove(u16),
    Step(u8),
    Nothing,
}

fn batch() -> impl Strategy<Value = Batch> {
    prop_oneof![
        3 => (0..1500u16).prop_map(Batch::Insert),
        3 => (0..1500u16).prop_map(Batch::Remove),
        2 => (0..8u8).prop_map(Batch::Step),
        2 => Just(Batch::Nothing),
    ]
}

#[derive(Debug, Default)]
struct ScanStats {
    calls: usize,
    calls_mid_grow: usize,
    calls_mid_shrink: usize,
    resizes_between_calls: usize,
}

/// Scans a dict holding `n_stable` keys that stay for the whole scan plus
/// volatile keys that are inserted and removed in bulk between scan calls,
/// and checks that every stable key was returned.
fn scan_under_mutation(
    n_stable: u64,
    n_volatile: u16,
    batches: &[Batch],
    seed: u64,
) -> Result<ScanStats, TestCaseError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut d: Dict<u64, u64> = Dict::new();
    let mut volatile: Vec<u64> = Vec::new();
    let mut next_volatile = 1_000_000u64;
    let mut add_volatile = |d: &mut Dict<u64, u64>, volatile: &mut Vec<u64>, n: u16| {
        for _ in 0..n {
            d.insert(next_volatile, 0);
            volatile.push(next_volatile);
            next_volatile += 1;
        }
    };
    for k in 0..n_stable {
        d.insert(k, k);
    }
    add_volatile(&mut d, &mut volatile, n_volatile);

    let mut stats = ScanStats::default();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut cursor = 0;
    let mut batches = batches.iter();
    loop {
        if d.is_rehashing() {
            if d.t0.size() < d.t1.size() {
                stats.calls_mid_grow += 1;
            } else {
                stats.calls_mid_shrink += 1;
            }
        }
        stats.calls += 1;
        prop_assert!(stats.calls < 1_000_000, "scan does not terminate");
        cursor = d.scan(cursor, |k, _| {
            seen.insert(*k);
        });
        if cursor == 0 {
            break;
        }
        let shape = (d.t0.size(), d.t1.size());
        match batches.next() {
            Some(Batch::Insert(n)) => add_volatile(&mut d, &mut volatile, *n),
            Some(Batch::Remove(n)) => {
                for _ in 0..*n {
                    if volatile.is_empty() {
                        break;
                    }
                    let k = volatile.swap_remove(rng.random_range(0..volatile.len()));
                    prop_assert!(d.remove(&k).is_some());
                }
            }
            Some(Batch::Step(n)) => {
                d.rehash_step(*n as usize);
            }
            Some(Batch::Nothing) | None => {}
        }
        if (d.t0.size(), d.t1.size()) != shape {
            stats.resizes_between_calls += 1;
        }
    }
    for k in 0..n_stable {
        prop_assert!(seen.contains(&k), "stable key {} missed by scan", k);
    }
    for k in &seen {
        prop_assert!(*k < n_stable || *k >= 1_000_000, "scan returned unknown key {}", k);
    }
    check_invariants(&d);
    Ok(stats)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn scan_returns_every_stable_key_despite_resizes(
        n_stable in 0..300u64,
        n_volatile in 0..2000u16,
        batches in proptest::collection::vec(batch(), 0..200),
        seed in any::<u64>(),
    ) {
        scan_under_mutation(n_stable, n_volatile, &batches, seed)?;
    }
}

/// The mutating scan test really exercises grows, shrinks and scan calls in
/// both kinds of two-table state.
#[test]
fn scan_mutation_test_covers_grow_and_shrink_rehash_states() {
    let mut total = ScanStats::default();
    let mut rng = StdRng::seed_from_u64(7);
    for seed in 0..40 {
        let batches: Vec<Batch> = (0..150)
            .map(|_| match rng.random_range(0..4) {
                0 => Batch::Insert(rng.random_range(0..1500)),
                1 => Batch::Remove(rng.random_range(0..1500)),
                2 => Batch::Step(rng.random_range(0..8)),
                _ => Batch::Nothing,
            })
            .collect();
        let s = scan_under_mutation(
            rng.random_range(0..300),
            rng.random_range(0..2000),
            &batches,
            seed,
        )
        .unwrap();
        total.calls += s.calls;
        total.calls_mid_grow += s.calls_mid_grow;
        total.calls_mid_shrink += s.calls_mid_shrink;
        total.resizes_between_calls += s.resizes_between_calls;
    }
    assert!(total.calls_mid_grow > 100, "{total:?}");
    assert!(total.calls_mid_shrink > 100, "{total:?}");
    assert!(total.resizes_between_calls > 100, "{total:?}");
}

/// Builds a dict of `n` keys `0..n` (plus extras when needed) in the requested
/// state: 0 = settled, 1 = mid-grow, 2 = mid-shrink; `steps` extra rehash
/// steps are applied while they keep it rehashing.
fn dict_in_state(n: u64, state: u8, steps: u16) -> Dict<u64, u64> {
    let mut d = Dict::new();
    for k in 0..n {
        d.insert(k, k);
    }
    finish(&mut d);
    match state {
        1 => {
            let mut k = n;
            while !d.is_rehashing() {
                d.insert(k, k);
                k += 1;
            }
        }
        2 => {
            for k in n..n + 64 {
                d.insert(k, k);
            }
            finish(&mut d);
            let mut k = n + 64;
            while !(d.is_rehashing() && d.t0.size() > d.t1.size()) && k > 0 {
                k -= 1;
                d.remove(&k);
            }
            assert!(d.is_rehashing());
        }
        _ => {}
    }
    for _ in 0..steps {
        // Stop while at least two non-empty old buckets remain, so one more
        // step cannot complete the rehash.
        let live = d.t0.buckets[d.rehash_idx.min(d.t0.size())..]
            .iter()
            .filter(|b| b.is_some())
            .take(2)
            .count();
        if !d.is_rehashing() || live < 2 {
            break;
        }
        d.rehash_step(1);
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn scan_without_mutation_returns_each_element_exactly_once(
        n in 0..3000u64,
        state in 0..3u8,
        steps in 0..2000u16,
    ) {
        let d = dict_in_state(n, state, steps);
        prop_assert_eq!(d.is_rehashing(), state != 0);
        check_invariants(&d);
        let mut counts: HashMap<u64, usize> = HashMap::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = d.scan(cursor, |k, v| {
                assert_eq!(k, v);
                *counts.entry(*k).or_default() += 1;
            });
            calls += 1;
            if cursor == 0 {
                break;
            }
        }
        prop_assert_eq!(counts.len(), d.len());
        prop_assert!(counts.values().all(|&c| c == 1));
        prop_assert!(d.keys().all(|k| counts.contains_key(k)));
        if !d.is_empty() {
            // One call per bucket of the smaller table.
            let small = if d.is_rehashing() { d.t0.size().min(d.t1.size()) } else { d.t0.size() };
            prop_assert_eq!(calls, small);
        }
    }
}

#[test]
fn scan_of_empty_dict_is_immediately_done() {
    let d: Dict<u64, u64> = Dict::new();
    assert_eq!(d.scan(0, |_, _| panic!()), 0);
    assert_eq!(d.scan(12345, |_, _| panic!()), 0);
}

/// A cursor taken from a large table stays valid after the table shrank.
#[test]
fn scan_cursor_survives_shrink_to_settled_table() {
    let mut d: Dict<u64, ()> = Dict::new();
    for k in 0..4096 {
        d.insert(k, ());
    }
    finish(&mut d);
    let mut seen = HashSet::new();
    let mut cursor = 0;
    for _ in 0..1000 {
        cursor = d.scan(cursor, |k, _| {
            seen.insert(*k);
        });
    }
    assert_ne!(cursor, 0);
    // Shrink far down, keeping keys 0..100.
    for k in 100..4096 {
        d.remove(&k);
    }
    finish(&mut d);
    assert!(d.bucket_count() <= 512, "{}", d.bucket_count());
    while cursor != 0 {
        cursor = d.scan(cursor, |k, _| {
            seen.insert(*k);
        });
    }
    assert!((0..100).all(|k| seen.contains(&k)));
}

// ---------------------------------------------------------------------------
// Random selection and sampling
// ---------------------------------------------------------------------------

#[test]
fn random_eventually_returns_every_element() {
    let mut rng = StdRng::seed_from_u64(1);
    let empty: Dict<u64, u64> = Dict::new();
    assert!(empty.random(&mut rng).is_none());
    for state in 0..3 {
        for n in [1u64, 2, 10, 40] {
            let d = dict_in_state(n, state, 3);
            let mut seen = HashSet::new();
            for _ in 0..20_000 {
                let (k, v) = d.random(&mut rng).unwrap();
                assert_eq!(k, v);
                assert!(d.contains_key(k));
                seen.insert(*k);
            }
            assert_eq!(seen.len(), d.len(), "state {state} n {n}");
        }
    }
}

#[test]
fn sample_returns_distinct_members() {
    let mut rng = StdRng::seed_from_u64(2);
    for state in 0..3 {
        for n in [0u64, 1, 3, 17, 100, 1000] {
            let d = dict_in_state(n, state, 5);
            for count in [0usize, 1, 3, 5, 20, 64, 2000] {
                let mut nonempty_calls = 0;
                for _ in 0..50 {
                    let mut got = Vec::new();
                    d.sample(count, &mut rng, |k, v| {
                        assert_eq!(k, v);
                        got.push(*k);
                    });
                    assert!(got.len() <= count.min(d.len()));
                    let distinct: HashSet<_> = got.iter().collect();
                    assert_eq!(distinct.len(), got.len(), "duplicate in sample");
                    assert!(got.iter().all(|k| d.contains_key(k)));
                    nonempty_calls += usize::from(!got.is_empty());
                }
                // A single call may come back empty (it gives up after
                // 10 * count bucket positions), but not fifty in a row.
                assert_eq!(nonempty_calls > 0, !d.is_empty() && count > 0);
            }
        }
    }
}

/// A sparse table makes `sample` jump around and revisit buckets; it must
/// still never return an element twice.
#[test]
fn sample_never_repeats_in_sparse_table() {
    let mut rng = StdRng::seed_from_u64(3);
    for cap in [64usize, 256] {
        let mut d: Dict<u64, ()> = Dict::with_capacity(cap);
        for k in 0..3 {
            d.insert(k, ());
        }
        for _ in 0..5000 {
            let mut got = Vec::new();
            d.sample(3, &mut rng, |k, _| got.push(*k));
            let distinct: HashSet<_> = got.iter().collect();
            assert_eq!(distinct.len(), got.len(), "duplicate in sample");
        }
    }
    // Many revisits with a large count exercise the hash-set path.
    let mut d: Dict<u64, ()> = Dict::with_capacity(1 << 14);
    for k in 0..200 {
        d.insert(k, ());
    }
    for _ in 0..200 {
        let mut got = Vec::new();
        d.sample(200, &mut rng, |k, _| got.push(*k));
        let distinct: HashSet<_> = got.iter().collect();
        assert_eq!(distinct.len(), got.len(), "duplicate in sample");
    }
}

#[test]
fn sample_with_count_len_in_dense_table_returns_everything() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut d: Dict<u64, ()> = Dict::new();
    for k in 0..50 {
        d.insert(k, ());
    }
    finish(&mut d);
    for _ in 0..100 {
        let mut got = HashSet::new();
        d.sample(50, &mut rng, |k, _| assert!(got.insert(*k)));
        assert_eq!(got.len(), 50);
    }
}

// ---------------------------------------------------------------------------
// Iteration and rehashing
// ---------------------------------------------------------------------------

#[test]
fn iteration_during_rehash_visits_each_element_once() {
    for state in [1u8, 2] {
        for steps in [0u16, 1, 7, 30] {
            let mut d = dict_in_state(500, state, steps);
            // Make sure both tables hold elements (a step over a sparse old
            // table may only skip empty buckets).
            while d.t1.len == 0 {
                d.rehash_step(1);
            }
            assert!(d.is_rehashing());
            assert!(d.t0.len > 0 && d.t1.len > 0);
            let n = d.len();
            let expected: HashSet<u64> = d.keys().copied().collect();
            assert_eq!(expected.len(), n);

            let it = d.iter();
            assert_eq!(it.len(), n);
            let mut counts: HashMap<u64, usize> = HashMap::new();
            for (k, _) in it {
                *counts.entry(*k).or_default() += 1;
            }
            assert_eq!(counts.len(), n);
            assert!(counts.values().all(|&c| c == 1));
            assert_eq!(d.keys().count(), n);
            assert_eq!(d.values().count(), n);

            for (k, v) in d.iter_mut() {
                *v = k + 1;
            }
            assert!(d.iter().all(|(k, v)| *v == k + 1));
            assert_eq!((&mut d).into_iter().len(), n);
            assert!(d.is_rehashing(), "iteration must not advance the rehash");

            let owned: Vec<(u64, u64)> = d.clone().into_iter().collect();
            assert_eq!(owned.len(), n);
            assert_eq!(owned.iter().map(|(k, _)| *k).collect::<HashSet<_>>(), expected);

            let drained: Vec<(u64, u64)> = d.drain().collect();
            assert_eq!(drained.len(), n);
            assert!(d.is_empty() && !d.is_rehashing() && d.bucket_count() == 0);
            d.insert(1, 1);
            assert_eq!(d.get(&1), Some(&1));
        }
    }
}

#[test]
fn growth_is_incremental() {
    let mut d: Dict<u64, u64> = Dict::new();
    for k in 0..1024 {
        d.insert(k, k);
    }
    finish(&mut d);
    assert_eq!(d.bucket_count(), 1024);
    d.insert(1024, 0);
    assert!(d.is_rehashing());
    assert_eq!(d.t1.size(), 2048);
    // One insert moved at most a couple of buckets' worth of elements.
    assert!(d.t0.len > 1000, "t0 still holds {}", d.t0.len);
    // Lookups see elements in both tables.
    assert!((0..=1024).all(|k| d.get(&k).is_some()));
    let mut k = 1025;
    while d.is_rehashing() {
        d.insert(k, k);
        k += 1;
    }
    // Finished within one old-table's worth of operations, load stays <= 1.
    assert!(k - 1025 <= 1024);
    assert!(d.len() <= d.bucket_count());
    check_invariants(&d);
}

#[test]
fn load_factor_stays_bounded_under_inserts() {
    let mut d: Dict<u64, ()> = Dict::new();
    for k in 0..100_000u64 {
        d.insert(k, ());
        let target = if d.is_rehashing() { d.t1.size() } else { d.t0.size() };
        assert!(d.len() <= target, "len {} > buckets {}", d.len(), target);
    }
}

#[test]
fn shrinks_when_sparse_and_respects_minimum() {
    let mut d: Dict<u64, ()> = Dict::new();
    for k in 0..10_000 {
        d.insert(k, ());
    }
    finish(&mut d);
    assert_eq!(d.bucket_count(), 16384);
    for k in 10..10_000 {
        d.remove(&k);
    }
    finish(&mut d);
    // Chained shrinks end with no shrink pending.
    assert!(d.bucket_count() <= 64, "{} buckets", d.bucket_count());
    assert!(d.len() * 8 >= d.bucket_count());
    for k in 0..10 {
        d.remove(&k);
    }
    finish(&mut d);
    assert!(d.is_empty());
    assert_eq!(d.bucket_count(), MIN_BUCKETS);
    check_invariants(&d);
}

#[test]
fn shrink_then_regrow_catches_up() {
    let mut d: Dict<u64, ()> = Dict::new();
    for k in 0..65_536 {
        d.insert(k, ());
    }
    finish(&mut d);
    for k in 100..65_536 {
        d.remove(&k);
    }
    // A shrink is in progress or done; inserting many keys must keep the
    // table usable and end with a sane load factor.
    for k in 100_000..200_000 {
        d.insert(k, ());
    }
    finish(&mut d);
    assert!(d.len() <= d.bucket_count());
    check_invariants(&d);
}

#[test]
fn rehash_step_reports_progress() {
    let mut d: Dict<u64, ()> = Dict::new();
    assert!(!d.rehash_step(10));
    for k in 0..=64 {
        d.insert(k, ());
    }
    assert!(d.is_rehashing());
    assert!(d.rehash_step(0));
    let mut calls = 0;
    while d.rehash_step(1) {
        calls += 1;
        assert!(calls < 64);
    }
    assert!(!d.is_rehashing());
    assert_eq!(d.bucket_count(), 128);
}

#[test]
fn with_capacity_does_not_grow() {
    let mut d: Dict<u64, ()> = Dict::with_capacity(1000);
    assert_eq!(d.bucket_count(), 1024);
    for k in 0..1000 {
        d.insert(k, ());
        assert!(!d.is_rehashing());
    }
    let d0: Dict<u64, ()> = Dict::with_capacity(0);
    assert_eq!(d0.bucket_count(), 0);
}

// ---------------------------------------------------------------------------
// API details
// ---------------------------------------------------------------------------

/// Key whose identity is `id`; `tag` tells which instance is stored.
#[derive(Debug, Clone)]
struct Tagged {
    id: u32,
    tag: &'static str,
}
impl PartialEq for Tagged {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for Tagged {}
impl Hash for Tagged {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

#[test]
fn insert_replaces_value_and_keeps_old_key() {
    let mut d = Dict::new();
    assert_eq!(d.insert(Tagged { id: 1, tag: "first" }, 1), None);
    assert_eq!(d.insert(Tagged { id: 1, tag: "second" }, 2), Some(1));
    let (k, v) = d.get_key_value(&Tagged { id: 1, tag: "probe" }).unwrap();
    assert_eq!((k.tag, *v), ("first", 2));
    *d.get_or_insert_with(Tagged { id: 1, tag: "third" }, || unreachable!()) += 1;
    let (k, v) = d.remove_entry(&Tagged { id: 1, tag: "probe" }).unwrap();
    assert_eq!((k.tag, v), ("first", 3));
    assert!(d.is_empty());
}

#[test]
fn borrowed_lookups() {
    let mut d: Dict<String, u32> = Dict::new();
    d.insert("alpha".to_string(), 1);
    let mut b: Dict<Box<[u8]>, u32> = Dict::new();
    b.insert(Box::from(&b"key"[..]), 7);
    assert_eq!(d.get("alpha"), Some(&1));
    assert!(d.contains_key("alpha"));
    *d.get_mut("alpha").unwrap() += 1;
    assert_eq!(d.remove("alpha"), Some(2));
    assert_eq!(b.get(&b"key"[..]), Some(&7));
    assert_eq!(b.get(&b"nope"[..]), None);
}

#[test]
fn traits() {
    let d: Dict<u32, &str> = [(1, "a"), (2, "b")].into_iter().collect();
    assert_eq!(d.len(), 2);
    let s = format!("{d:?}");
    assert!(s == r#"{1: "a", 2: "b"}"# || s == r#"{2: "b", 1: "a"}"#, "{s}");
    let mut e = d.clone();
    e.extend([(3, "c"), (1, "z")]);
    assert_eq!(e.len(), 3);
    assert_eq!(e.get(&1), Some(&"z"));
    assert_eq!(d.get(&1), Some(&"a"), "clone is independent");
    assert!(d != e);
    let def: Dict<u32, u32> = Dict::default();
    assert!(def.is_empty() && def.bucket_count() == 0);
    let mut n = 0;
    for (_, _) in &d {
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn clear_frees_everything() {
    let mut d: Dict<u64, Vec<u8>> = Dict::new();
    for k in 0..1000 {
        d.insert(k, vec![0; 4]);
    }
    d.clear();
    assert!(d.is_empty());
    assert_eq!(d.bucket_count(), 0);
    assert_eq!(d.get(&5), None);
    assert_eq!(d.remove(&5), None);
    d.insert(5, vec![]);
    assert_eq!(d.len(), 1);
}

/// A hasher sending everything to bucket 0.
#[derive(Default)]
struct ZeroHasher;
impl Hasher for ZeroHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, _: &[u8]) {}
}
type Colliding = BuildHasherDefault<ZeroHasher>;

#[test]
fn full_collisions_still_work() {
    let mut d: Dict<u32, u32, Colliding> = Dict::default();
    for k in 0..500 {
        assert_eq!(d.insert(k, k), None);
    }
    for k in (0..500).step_by(2) {
        assert_eq!(d.remove(&k), Some(k));
    }
    assert_eq!(d.len(), 250);
    assert!((0..500).all(|k| d.contains_key(&k) == (k % 2 == 1)));
    check_invariants(&d);
    let mut seen = 0;
    let mut cursor = 0;
    loop {
        cursor = d.scan(cursor, |_, _| seen += 1);
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen, 250);
}

/// Drop, clone and into_iter of a dict with a huge chain must not recurse
/// per node (a recursive drop of a million-node list overflows a test
/// thread's stack).
#[test]
fn long_chains_do_not_overflow_the_stack() {
    const N: u32 = 1_000_000;
    let build = || {
        let mut d: Dict<u32, u32, Colliding> = Dict::default();
        let mut link: Link<u32, u32> = None;
        for k in 0..N {
            link = Some(Box::new(Node { next: link, key: k, value: k }));
        }
        let mut buckets: Vec<Link<u32, u32>> = (0..MIN_BUCKETS).map(|_| None).collect();
        buckets[0] = link;
        d.t0 = Table { buckets: buckets.into(), len: N as usize };
        d
    };
    let d = build();
    let c = d.clone();
    assert_eq!(c.len(), N as usize);
    drop(d);
    let mut it = c.into_iter();
    assert_eq!(it.next().map(|(k, _)| k), Some(N - 1));
    drop(it);
    let mut d = build();
    d.clear();
}

/// Panics in user callbacks leave the dict consistent.
#[test]
fn panicking_callbacks_leave_dict_consistent() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let mut d: Dict<u64, u64> = (0..100).map(|k| (k, k)).collect();
    let r = catch_unwind(AssertUnwindSafe(|| {
        d.get_or_insert_with(1000, || panic!("default"));
    }));
    assert!(r.is_err());
    assert_eq!(d.len(), 100);
    assert!(!d.contains_key(&1000));
    check_invariants(&d);
    let mut calls = 0;
    let r = catch_unwind(AssertUnwindSafe(|| {
        d.retain(|_, _| {
            calls += 1;
            assert!(calls < 50, "retain");
            false
        })
    }));
    assert!(r.is_err());
    assert_eq!(d.len(), 51);
    check_invariants(&d);
}

#[test]
fn position_reaches_the_element_again_in_either_table() {
    let mut d: Dict<String, u32> = Dict::new();
    for i in 0..1000u16 {
        d.insert(key(i), u32::from(i));
        // Check in every state, including mid-rehash (the element may be in either table).
        if i % 37 == 0 {
            for j in (0..=i).step_by(7) {
                let pos = d.position(key(j).as_str()).expect("present");
                assert_eq!(d.at(pos), Some((&key(j), &u32::from(j))));
            }
            assert_eq!(d.position("missing"), None);
        }
    }
    assert!(Dict::<String, u32>::new().position("k").is_none());
}
