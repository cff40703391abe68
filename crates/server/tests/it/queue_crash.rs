//! The queue's crash test: the real `larder` binary under `--appendfsync always`, publishers recording
//! every acknowledged message (immediate, delayed, and slow to deliver so that some are in flight),
//! SIGKILL at a random moment, a restart on the same data directory, and a check that every acknowledged
//! message reaches the receiver at least once (a delivery cut by the kill counts only if the receiver
//! finished handling it). `LARDER_QUEUE_CRASH_ROUNDS` sets the number of rounds (default 3).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Uri};
use parking_lot::Mutex;

const QSTASH_TOKEN: &str = "queue-crash-qstash-token";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the binary on `dir` and waits for its `.env` block (printed once the AOF is loaded).
fn start(dir: &Path) -> (Child, String) {
    let http = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_larder"))
        .args([
            "--http",
            &http,
            "--resp",
            "off",
            "--token",
            "queue-crash-token",
            "--appendfsync",
            "always",
        ])
        .args(["--read-only-token", "queue-crash-read-only", "--log", "warn"])
        .args(["--qstash-token", QSTASH_TOKEN])
        .args(["--qstash-current-signing-key", "sig_queuecrashcurrent000000000000"])
        .args(["--qstash-next-signing-key", "sig_queuecrashnext000000000000000"])
        .arg("--data-dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut l = String::new();
        assert!(out.read_line(&mut l).unwrap() > 0, "larder exited before it was ready");
        if l.starts_with("QSTASH_NEXT_SIGNING_KEY=") {
            break;
        }
        assert!(Instant::now() < deadline, "larder did not start");
    }
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = out.read_to_end(&mut sink);
    });
    (child, format!("http://{http}"))
}

/// The receiver: records the message ids whose handling finished (`/slow/...` waits 400 ms first).
async fn receiver() -> (String, Arc<Mutex<HashSet<String>>>) {
    let done: Arc<Mutex<HashSet<String>>> = Arc::default();
    let d = done.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let d = d.clone();
        async move {
            if uri.path().starts_with("/slow") {
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            if let Some(id) = headers.get("upstash-message-id").and_then(|v| v.to_str().ok()) {
                d.lock().insert(id.to_string());
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, done)
}

/// Publishes until `stop`, returning the ids of the acknowledged messages.
async fn publisher(base: String, rx: String, worker: usize, stop: Arc<AtomicBool>) -> Vec<String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut acked = Vec::new();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let (path, delay) = match i % 4 {
            0 => ("slow", None),
            1 => ("delayed", Some("1s")),
            _ => ("fast", None),
        };
        let mut req = http
            .post(format!("{base}/v2/publish/{rx}/{path}/{worker}/{i}"))
            .bearer_auth(QSTASH_TOKEN)
            .body(format!("{worker}:{i}"));
        if let Some(d) = delay {
            req = req.header("Upstash-Delay", d);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                let v: serde_json::Value = match r.json().await {
                    Ok(v) => v,
                    Err(_) => break, // killed while answering: not acknowledged
                };
                acked.push(v["messageId"].as_str().unwrap().to_string());
            }
            _ => break, // the server is gone
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let rounds: u64 =
        std::env::var("LARDER_QUEUE_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let (rx, done) = receiver().await;
    let mut all_acked: Vec<String> = Vec::new();
    for round in 0..rounds {
        let (mut child, base) = start(dir.path());
        let stop = Arc::new(AtomicBool::new(false));
        let pubs: Vec<_> = (0..4)
            .map(|w| tokio::spawn(publisher(base.clone(), rx.clone(), w, stop.clone())))
            .collect();
        // Kill at a varying moment, while publishes, delayed messages and slow deliveries are pending.
        let wait = 400 + (round * 337 + std::process::id() as u64 * 7) % 900;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for p in pubs {
            all_acked.extend(p.await.unwrap());
        }
    }
    assert!(all_acked.len() > 20, "too few publishes to mean anything: {}", all_acked.len());
    let before = done.lock().len();
    eprintln!(
        "queue crash test: {} rounds, {} acknowledged messages, {} delivered before the last start",
        rounds,
        all_acked.len(),
        before
    );
    // A last start: everything acknowledged in any round must be delivered.
    let (mut child, _base) = start(dir.path());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let missing: Vec<&String> = {
            let d = done.lock();
            all_acked.iter().filter(|id| !d.contains(*id)).collect()
        };
        if missing.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{} of {} acknowledged messages were never delivered, e.g. {:?}",
                missing.len(),
                all_acked.len(),
                &missing[..missing.len().min(5)]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
