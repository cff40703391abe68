//! RESP request decoding and reply encoding: the per-command work of the RESP front end.
//! Run with `cargo bench -p larder-resp`; not run in CI.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use larder_resp::{Limits, Protocol, Reply, decode_request, encode};

fn multibulk(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn decode(c: &mut Criterion) {
    let limits = Limits::default();
    let mut g = c.benchmark_group("decode_request");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("GET", multibulk(&[b"GET", b"key:000000012345"])),
        ("SET", multibulk(&[b"SET", b"key:000000012345", b"xxx"])),
        ("SET 1KiB", multibulk(&[b"SET", b"key:000000012345", &[b'v'; 1024]])),
        (
            "EVALSHA",
            multibulk(&[
                b"EVALSHA",
                b"b8c5a4e3e4a33b8bd4c4d2a0a6d4c7f7e0d8b9a1",
                b"1",
                b"rl:000000012345",
                b"60000",
                b"1",
            ]),
        ),
        ("inline PING", b"PING\r\n".to_vec()),
        // Past the 16 argument positions the decoder keeps between its passes.
        ("MSET of 20 pairs", {
            let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
            for i in 0..20 {
                args.push(format!("key:{i:012}").into_bytes());
                args.push(b"xxx".to_vec());
            }
            multibulk(&args.iter().map(|a| &a[..]).collect::<Vec<_>>())
        }),
    ];
    for (name, bytes) in &cases {
        g.throughput(Throughput::Elements(1));
        g.bench_function(*name, |b| {
            b.iter_batched_ref(
                || BytesMut::from(&bytes[..]),
                |buf| decode_request(black_box(buf), &limits).expect("valid request"),
                BatchSize::SmallInput,
            )
        });
    }
    // 16 pipelined commands in one read, decoded one after the other as the connection loop does.
    let one = multibulk(&[b"GET", b"key:000000012345"]);
    let pipeline: Vec<u8> = one.iter().copied().cycle().take(one.len() * 16).collect();
    g.throughput(Throughput::Elements(16));
    g.bench_function("pipeline of 16 GET", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&pipeline[..]),
            |buf| {
                let mut n = 0;
                while let Some(argv) = decode_request(buf, &limits).expect("valid request") {
                    n += argv.len();
                }
                n
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn encode_replies(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let ten: Vec<Reply> = (0..10).map(|i| Reply::bulk(format!("element:{i:012}"))).collect();
    let cases: Vec<(&str, Reply, Protocol)> = vec![
        ("+OK", Reply::OK, Protocol::Resp2),
        ("bulk 3B", Reply::Bulk(Bytes::from_static(b"xxx")), Protocol::Resp2),
        ("bulk 1KiB", Reply::Bulk(Bytes::from(vec![b'v'; 1024])), Protocol::Resp2),
        ("int", Reply::Int(1_234_567), Protocol::Resp2),
        ("nil", Reply::Nil, Protocol::Resp2),
        ("array of 10 bulks", Reply::Array(ten.clone()), Protocol::Resp2),
        ("double resp3", Reply::Double(3.25), Protocol::Resp3),
        (
            "map of 5 resp3",
            Reply::Map(ten.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()),
            Protocol::Resp3,
        ),
    ];
    for (name, reply, proto) in &cases {
        g.bench_function(*name, |b| {
            let mut out = Vec::with_capacity(4096);
            b.iter(|| {
                out.clear();
                encode(black_box(reply), *proto, &mut out);
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decode, encode_replies);
criterion_main!(benches);
