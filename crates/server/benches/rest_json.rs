//! The Upstash REST JSON hot path: parsing a command body or a pipeline body into `argv`, and encoding a
//! reply's `{"result": ...}` envelope. Run with `cargo bench -p larder-server`; not run in CI.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use larder_resp::Reply;
use larder_server::rest::json::{Encoding, parse_batch, parse_command, write_envelope};

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_command");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("GET", br#"["GET","foo"]"#.to_vec()),
        ("SET", br#"["SET","key:000000012345","xxx"]"#.to_vec()),
        (
            "SET escaped 1KiB",
            format!(r#"["SET","key","{}"]"#, r#"a\"b\\c\u00e9\n"#.repeat(1024 / 16)).into_bytes(),
        ),
        (
            "EVALSHA numbers",
            br#"["EVALSHA","b8c5a4e3e4a33b8bd4c4d2a0a6d4c7f7e0d8b9a1",1,"rl:000000012345",60000,1]"#.to_vec(),
        ),
    ];
    for (name, body) in &cases {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(*name, |b| b.iter(|| parse_command(black_box(body)).expect("valid body")));
    }
    g.finish();

    let mut g = c.benchmark_group("parse_batch");
    let mut p16 = String::from("[");
    for i in 0..16 {
        if i > 0 {
            p16.push(',');
        }
        p16.push_str(r#"["GET","foo"]"#);
    }
    p16.push(']');
    g.throughput(Throughput::Elements(16));
    g.bench_function("pipeline of 16 GET", |b| {
        b.iter(|| parse_batch(black_box(p16.as_bytes())).expect("valid body"))
    });
    g.finish();
}

fn envelope(c: &mut Criterion) {
    let mut g = c.benchmark_group("write_envelope");
    let ten: Vec<Reply> = (0..10).map(|i| Reply::bulk(format!("element:{i:012}"))).collect();
    let cases: Vec<(&str, Reply, Encoding)> = vec![
        ("OK", Reply::OK, Encoding::Plain),
        ("bulk 3B", Reply::Bulk(Bytes::from_static(b"bar")), Encoding::Plain),
        (
            "bulk 1KiB escaped",
            Reply::Bulk(Bytes::from("a\"b\\c\u{e9}\n\t".repeat(128))),
            Encoding::Plain,
        ),
        ("bulk 3B base64", Reply::Bulk(Bytes::from_static(b"bar")), Encoding::Base64),
        ("int", Reply::Int(1_234_567), Encoding::Plain),
        ("nil", Reply::Nil, Encoding::Plain),
        ("array of 10 bulks", Reply::Array(ten), Encoding::Plain),
        (
            "error",
            Reply::Error(
                "WRONGTYPE Operation against a key holding the wrong kind of value".into(),
            ),
            Encoding::Plain,
        ),
    ];
    for (name, reply, enc) in &cases {
        g.bench_function(*name, |b| {
            let mut out = Vec::with_capacity(8192);
            b.iter(|| {
                out.clear();
                write_envelope(black_box(reply), *enc, &mut out);
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse, envelope);
criterion_main!(benches);
