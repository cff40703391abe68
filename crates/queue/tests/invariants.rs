//! Property test of the key layout's invariants: random sequences of publishes (plain, delayed, through
//! queues, with flow-control keys), claims, successful and failed attempts, cancellations and queue
//! pauses run against the real engine (a `QueueStore` over `larder_engine::Engine`), and after every step
//! the keys must agree with each other:
//!
//! - `msgs` lists exactly the live message hashes;
//! - every live message is in exactly one place: `due`, `inflight`, a queue's wait list, or a
//!   flow-control key's wait list;
//! - a queue's `active` counts the messages holding a slot of its current generation (a queue deleted
//!   and created again starts over), a flow-control key's `active` its messages holding a slot;
//! - in-flight messages carry a lease token; every DLQ entry is in the DLQ index.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use larder_queue::service::{Attempt, Claimed, PublishRequest};
use larder_queue::store::reply;
use larder_queue::{Queue, QueueConfig};
use larder_resp::Reply;
use proptest::prelude::*;

mod common;
use common::EngineStore;

#[derive(Debug, Clone)]
enum Op {
    Publish {
        queue: Option<u8>,
        fc: Option<u8>,
        delayed: bool,
        retries: u8,
    },
    Claim(u8),
    Succeed(usize),
    Fail(usize),
    Cancel(usize),
    PauseQueue(u8, bool),
    DeleteQueue(u8),
    PauseFlowControl(u8, bool),
    /// A restart of the (single) node: every lease is recovered; deliveries still running from before
    /// record with tokens that no longer match.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (prop::option::of(0u8..2), prop::option::of(0u8..2), any::<bool>(), 0u8..3)
            .prop_map(|(queue, fc, delayed, retries)| Op::Publish { queue, fc, delayed: delayed && queue.is_none(), retries }),
        3 => (1u8..4).prop_map(Op::Claim),
        2 => any::<usize>().prop_map(Op::Succeed),
        2 => any::<usize>().prop_map(Op::Fail),
        1 => any::<usize>().prop_map(Op::Cancel),
        1 => (0u8..2, any::<bool>()).prop_map(|(q, p)| Op::PauseQueue(q, p)),
        1 => (0u8..2).prop_map(Op::DeleteQueue),
        1 => Just(Op::Restart),
        1 => (0u8..2, any::<bool>()).prop_map(|(k, p)| Op::PauseFlowControl(k, p)),
    ]
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn strings(r: Reply) -> Vec<String> {
    reply::array(r).iter().filter_map(reply::string).collect()
}

fn check(store: &EngineStore) -> Result<(), String> {
    let p = "qstash:{q}:";
    let live: BTreeSet<String> = strings(store.run(&[b("KEYS"), b(&format!("{p}msg:*"))]))
        .into_iter()
        .map(|k| k.trim_start_matches(&format!("{p}msg:")).to_string())
        .collect();
    let msgs: BTreeSet<String> =
        strings(store.run(&[b("ZRANGE"), b(&format!("{p}msgs")), b("0"), b("-1")]))
            .into_iter()
            .collect();
    if live != msgs {
        return Err(format!("msgs index {msgs:?} != live hashes {live:?}"));
    }
    let mut places: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, key) in [("due", format!("{p}due")), ("inflight", format!("{p}inflight"))] {
        for id in strings(store.run(&[b("ZRANGE"), b(&key), b("0"), b("-1")])) {
            places.entry(id).or_default().push(name.into());
        }
    }
    for q in 0..2 {
        for id in
            strings(store.run(&[b("LRANGE"), b(&format!("{p}queue:q{q}:wait")), b("0"), b("-1")]))
        {
            places.entry(id).or_default().push(format!("queue q{q}"));
        }
        for id in
            strings(store.run(&[b("ZRANGE"), b(&format!("{p}fc:f{q}:wait")), b("0"), b("-1")]))
        {
            places.entry(id).or_default().push(format!("fc f{q}"));
        }
    }
    for id in &live {
        match places.get(id).map(Vec::as_slice) {
            Some([_]) => {}
            other => return Err(format!("message {id} is in {other:?}")),
        }
    }
    if let Some(stray) = places.keys().find(|id| !live.contains(*id)) {
        return Err(format!("{stray} is indexed but has no hash ({:?})", places[stray]));
    }
    let mut qslots = [0i64; 2];
    let mut fcslots = [0i64; 2];
    for id in &live {
        let f = reply::array(store.run(&[
            b("HMGET"),
            b(&format!("{p}msg:{id}")),
            b("queue"),
            b("qslot"),
            b("fc"),
            b("fcslot"),
            b("lease"),
        ]));
        let get = |i: usize| f.get(i).and_then(reply::string);
        if let (Some(slot), Some(q)) = (get(1), get(0)) {
            // A slot counts in the queue generation that gave it.
            let generation =
                reply::array(store.run(&[b("HMGET"), b(&format!("{p}queue:{q}")), b("gen")]));
            if generation.first().and_then(reply::string) == Some(slot) {
                qslots[usize::from(q.as_bytes()[1] - b'0')] += 1;
            }
        }
        if get(3).as_deref() == Some("1")
            && let Some(k) = get(2)
        {
            fcslots[usize::from(k.as_bytes()[1] - b'0')] += 1;
        }
        if places[id][0] == "inflight" && get(4).is_none_or(|l| l.is_empty()) {
            return Err(format!("{id} is in flight without a lease"));
        }
    }
    for q in 0..2 {
        let h = reply::array(store.run(&[b("HMGET"), b(&format!("{p}queue:q{q}")), b("active")]));
        let active = h.first().and_then(reply::int).unwrap_or(0);
        let exists =
            reply::int(&store.run(&[b("EXISTS"), b(&format!("{p}queue:q{q}"))])) == Some(1);
        if exists && active != qslots[q] {
            return Err(format!(
                "queue q{q} active {active} but {} messages hold its slots",
                qslots[q]
            ));
        }
        let h = reply::array(store.run(&[b("HMGET"), b(&format!("{p}fc:f{q}")), b("active")]));
        let active = h.first().and_then(reply::int).unwrap_or(0);
        if active != fcslots[q] {
            return Err(format!(
                "flow-control key f{q} active {active} but {} messages hold its slots",
                fcslots[q]
            ));
        }
    }
    let dlq: BTreeSet<String> =
        strings(store.run(&[b("ZRANGE"), b(&format!("{p}dlq")), b("0"), b("-1")]))
            .into_iter()
            .collect();
    let entries: BTreeSet<String> = strings(store.run(&[b("KEYS"), b(&format!("{p}dlq:*"))]))
        .into_iter()
        .map(|k| k.trim_start_matches(&format!("{p}dlq:")).to_string())
        .collect();
    if dlq != entries {
        return Err(format!("DLQ index {dlq:?} != entries {entries:?}"));
    }
    Ok(())
}

async fn run_ops(ops: Vec<Op>) -> Result<(), String> {
    let store = Arc::new(EngineStore::new());
    let config = QueueConfig { single_node: true, ..QueueConfig::default() };
    let open = || {
        Queue::open(
            store.clone(),
            config.clone(),
            "sig_current_key_000000000000000",
            "sig_next_key_00000000000000000",
            true,
        )
    };
    let mut q = open().await.map_err(|e| e.message)?;
    let mut claimed: Vec<Claimed> = Vec::new();
    for (step, op) in ops.into_iter().enumerate() {
        match &op {
            Op::Publish { queue, fc, delayed, retries } => {
                // Retries are due at once, so they are claimed again within the sequence.
                let mut headers = vec![
                    ("Upstash-Retries".to_string(), retries.to_string()),
                    ("Upstash-Retry-Delay".to_string(), "0".to_string()),
                ];
                if *delayed {
                    headers.push(("Upstash-Delay".into(), "1h".into()));
                }
                if let Some(f) = fc {
                    headers.push(("Upstash-Flow-Control-Key".into(), format!("f{f}")));
                    headers.push(("Upstash-Flow-Control-Value".into(), "parallelism=1".into()));
                }
                let req = PublishRequest {
                    destination: "http://127.0.0.1:9/x".into(),
                    queue: queue.map(|q| format!("q{q}")),
                    headers,
                    body: Bytes::from_static(b"b"),
                    caller_ip: None,
                };
                q.publish(req).await.map_err(|e| e.message)?;
            }
            Op::Claim(n) => {
                let (got, _) = q.claim(usize::from(*n)).await.map_err(|e| e.message)?;
                claimed.extend(got);
            }
            Op::Succeed(i) | Op::Fail(i) if !claimed.is_empty() => {
                let m = claimed.remove(i % claimed.len());
                let status = if matches!(op, Op::Succeed(_)) { 200 } else { 500 };
                let a = Attempt {
                    status,
                    headers: BTreeMap::new(),
                    body: Bytes::new(),
                    error: String::new(),
                };
                q.record(&m, &a).await.map_err(|e| e.message)?;
            }
            Op::Cancel(i) => {
                let ids = strings(store.run(&[b("ZRANGE"), b("qstash:{q}:msgs"), b("0"), b("-1")]));
                if !ids.is_empty() {
                    q.cancel_ids(&[ids[i % ids.len()].clone()]).await.map_err(|e| e.message)?;
                }
            }
            Op::PauseQueue(n, paused) => {
                let _ = q.pause_queue(&format!("q{n}"), *paused).await;
            }
            Op::DeleteQueue(n) => {
                let _ = q.delete_queue(&format!("q{n}")).await;
            }
            Op::PauseFlowControl(k, paused) => {
                let op = if *paused { "pause" } else { "resume" };
                let _ = q.update_flow_control(&format!("f{k}"), op, Default::default()).await;
            }
            Op::Restart => {
                q = open().await.map_err(|e| e.message)?;
                let inflight = store.run(&[b("ZCARD"), b("qstash:{q}:inflight")]);
                if reply::int(&inflight) != Some(0) {
                    return Err("leases left after a restart".into());
                }
            }
            _ => {}
        }
        check(&store).map_err(|e| format!("after step {step} ({op:?}): {e}"))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_keys_stay_consistent(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let r = rt.block_on(run_ops(ops));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}
