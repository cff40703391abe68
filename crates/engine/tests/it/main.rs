//! Engine integration tests: every `tests/transcripts/*.txt` runs against a fresh engine on a manual clock.
//! `UPDATE_TRANSCRIPTS=1 cargo test -p larder-engine` rewrites the files with the actual replies.

use std::sync::Arc;

mod compat_matrix;

use larder_engine::transcript::{Step, parse, render};
use larder_engine::{Engine, ManualClock, ServerInfo};

/// Runs one transcript; returns the rewritten text and the mismatches.
fn run(text: &str) -> (String, Vec<String>) {
    let clock = ManualClock::new(1_700_000_000_000);
    let mut engine = Engine::new(Arc::new(clock.clone()), ServerInfo::default());
    let mut clients = vec![engine.new_client("test".into())];
    let mut current = 0;
    let steps = parse(text).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut actuals = Vec::new();
    for step in &steps {
        match step {
            Step::Advance(ms) => clock.advance(*ms),
            Step::Client(n) => {
                while clients.len() <= *n {
                    clients.push(engine.new_client("test".into()));
                }
                current = *n;
            }
            Step::Command { line, argv, expected } => {
                let got = normalize(&render(&engine.execute(&mut clients[current], argv)));
                if &got != expected {
                    failures.push(format!(
                        "line {line}: {:?}\n  expected: {expected}\n  got:      {got}",
                        argv
                    ));
                }
                actuals.push((*line, got));
            }
        }
    }
    // Rebuild the file: keep command and comment lines, replace expectations with actual replies.
    let mut out = String::new();
    let mut actual = actuals.into_iter().peekable();
    for (i, l) in text.lines().enumerate() {
        if l.starts_with("> ") || l.starts_with('#') || l.trim().is_empty() {
            if l.trim().is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            } else if !l.trim().is_empty() {
                out.push_str(l);
                out.push('\n');
            }
            if actual.peek().is_some_and(|(line, _)| *line == i + 1) {
                let (_, got) = actual.next().expect("peeked");
                out.push_str(&got);
                out.push('\n');
            }
        }
    }
    (out, failures)
}

/// Trailing spaces are not kept in transcript files.
fn normalize(s: &str) -> String {
    s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

#[test]
fn transcripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty());
    let update = std::env::var_os("UPDATE_TRANSCRIPTS").is_some();
    let mut all = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let (rewritten, failures) = run(&text);
        if update {
            std::fs::write(&f, rewritten).unwrap();
        } else {
            all.extend(
                failures
                    .into_iter()
                    .map(|m| format!("{}: {m}", f.file_name().unwrap().to_string_lossy())),
            );
        }
    }
    assert!(all.is_empty(), "{} transcript mismatches:\n{}", all.len(), all.join("\n"));
}

/// Runs the transcripts that need no manual clock against a real Redis at `LARDER_TEST_REDIS` (host:port),
/// proving each expected reply is Redis's own. CI starts a `redis-server` and runs this with `--ignored`.
#[test]
#[ignore = "needs a real redis-server: LARDER_TEST_REDIS=127.0.0.1:PORT cargo test -p larder-engine -- --ignored"]
fn transcripts_against_redis() {
    use std::io::{Read, Write};

    let addr = std::env::var("LARDER_TEST_REDIS")
        .expect("LARDER_TEST_REDIS=host:port of a disposable redis-server");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut failures = Vec::new();
    let mut ran = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let steps = parse(&text).unwrap();
        let larder_only = f.to_string_lossy().ends_with(".larder.txt");
        if larder_only || steps.iter().any(|s| matches!(s, Step::Advance(_))) {
            continue;
        }
        let mut conns =
            vec![(std::net::TcpStream::connect(&addr).unwrap(), bytes::BytesMut::new())];
        let mut current = 0;
        let call = |conn: &mut std::net::TcpStream,
                    buf: &mut bytes::BytesMut,
                    argv: &[bytes::Bytes]|
         -> larder_engine::Reply {
            let mut out = format!("*{}\r\n", argv.len()).into_bytes();
            for a in argv {
                out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                out.extend_from_slice(a);
                out.extend_from_slice(b"\r\n");
            }
            conn.write_all(&out).unwrap();
            loop {
                if let Some(r) = larder_resp::decode_reply(buf).unwrap() {
                    return r;
                }
                let mut chunk = [0u8; 4096];
                let n = conn.read(&mut chunk).unwrap();
                assert!(n > 0, "redis closed the connection");
                buf.extend_from_slice(&chunk[..n]);
            }
        };
        {
            let (c, b) = &mut conns[0];
            call(c, b, &[bytes::Bytes::from_static(b"FLUSHALL")]);
        }
        for step in &steps {
            if let Step::Client(n) = step {
                while conns.len() <= *n {
                    conns.push((
                        std::net::TcpStream::connect(&addr).unwrap(),
                        bytes::BytesMut::new(),
                    ));
                }
                current = *n;
            }
            if let Step::Command { line, argv, expected } = step {
                ran += 1;
                let (c, b) = &mut conns[current];
                let got = normalize(&render(&call(c, b, argv)));
                if &got != expected {
                    failures.push(format!(
                        "{}:{line}: {:?}\n  larder:       {expected}\n  redis-server: {got}",
                        f.file_name().unwrap().to_string_lossy(),
                        argv
                    ));
                }
            }
        }
    }
    assert!(ran > 0);
    assert!(
        failures.is_empty(),
        "{} replies differ from redis-server:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The script cache keeps compiled functions inside Lua, not as Rust handles (mlua can hold only a few
/// thousand of those): tens of thousands of distinct scripts and libraries must load and run.
#[test]
fn many_distinct_scripts_and_functions() {
    let mut engine = Engine::new(Arc::new(ManualClock::new(0)), ServerInfo::default());
    let mut client = engine.new_client("test".into());
    let run = |e: &mut Engine, c: &mut larder_engine::ClientState, argv: &[&str]| {
        e.execute(
            c,
            &argv.iter().map(|a| bytes::Bytes::copy_from_slice(a.as_bytes())).collect::<Vec<_>>(),
        )
    };
    for i in 0..20_000 {
        let body = format!("return {i}");
        assert_eq!(
            run(&mut engine, &mut client, &["EVAL", &body, "0"]),
            larder_engine::Reply::Int(i)
        );
    }
    for i in 0..10_000 {
        let lib = format!(
            "#!lua name=lib{i}\nredis.register_function('f{i}', function() return {i} end)"
        );
        run(&mut engine, &mut client, &["FUNCTION", "LOAD", &lib]);
    }
    assert_eq!(
        run(&mut engine, &mut client, &["FCALL", "f9999", "0"]),
        larder_engine::Reply::Int(9999)
    );
    assert_eq!(
        run(&mut engine, &mut client, &["EVAL", "return 12345", "0"]),
        larder_engine::Reply::Int(12345)
    );
}
