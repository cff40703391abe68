//! Publish-to-delivery benchmark for the queue on loopback: N publishes over keep-alive HTTP from C
//! concurrent publishers, delivered to a local receiver; reports publish/s, deliveries/s and the
//! publish→delivery latency percentiles.
//!
//! ```sh
//! cargo run --release -p larder-server --example queue_bench -- -n 20000 -c 32
//! cargo run --release -p larder-server --example queue_bench -- --url http://127.0.0.1:8079 --token "$QSTASH_TOKEN"
//! ```
//! Without `--url` it starts larder in-process on a temporary data directory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use parking_lot::Mutex;

struct Opts {
    n: usize,
    c: usize,
    url: Option<String>,
    token: String,
}

fn opts() -> Opts {
    let mut o = Opts { n: 10_000, c: 32, url: None, token: "bench-qstash-token".into() };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "-n" => o.n = v.parse().expect("-n N"),
            "-c" => o.c = v.parse().expect("-c C"),
            "--url" => o.url = Some(v),
            "--token" => o.token = v,
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

#[tokio::main]
async fn main() {
    let o = opts();
    let dir = tempfile::tempdir().expect("temp dir");
    let (base, _running) = match &o.url {
        Some(u) => (u.trim_end_matches('/').to_string(), None),
        None => {
            let mut config = larder_server::Config::resolve(larder_server::Args {
                http: Some("127.0.0.1:0".into()),
                resp: Some("off".into()),
                data_dir: Some(dir.path().to_path_buf()),
                qstash_token: Some(o.token.clone()),
                log: Some("warn".into()),
                quiet: true,
                ..Default::default()
            })
            .expect("config");
            config.quiet = true;
            let running = larder_server::start(config).await.expect("start larder");
            (format!("http://{}", running.http_addr), Some(running))
        }
    };

    // The receiver: records publish→arrival latency from the timestamp in the body.
    let start = Instant::now();
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::with_capacity(o.n)));
    let arrived = Arc::new(AtomicUsize::new(0));
    let (l, a) = (latencies.clone(), arrived.clone());
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let (l, a) = (l.clone(), a.clone());
        async move {
            let sent: u64 =
                std::str::from_utf8(&body).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
            let now = start.elapsed().as_micros() as u64;
            l.lock().push(now.saturating_sub(sent));
            a.fetch_add(1, Ordering::Relaxed);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let dest = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });

    let http = reqwest::Client::builder().pool_max_idle_per_host(o.c).build().expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.c {
        let (http, next, base, dest, token) =
            (http.clone(), next.clone(), base.clone(), dest.clone(), o.token.clone());
        let n = o.n;
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let body = start.elapsed().as_micros().to_string();
                let r = http
                    .post(format!("{base}/v2/publish/{dest}"))
                    .bearer_auth(&token)
                    .header("Content-Type", "text/plain")
                    .body(body)
                    .send()
                    .await
                    .expect("publish");
                assert!(r.status().is_success(), "publish answered {}", r.status());
                let _ = r.bytes().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("publisher");
    }
    let published = t0.elapsed();
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrived.load(Ordering::Relaxed) < o.n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = t0.elapsed();
    let got = arrived.load(Ordering::Relaxed);
    let mut lat = latencies.lock().clone();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "queue_bench: n={} c={} published in {:.2}s ({:.0}/s), {} delivered in {:.2}s ({:.0}/s), latency ms p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}",
        o.n,
        o.c,
        published.as_secs_f64(),
        o.n as f64 / published.as_secs_f64(),
        got,
        delivered.as_secs_f64(),
        got as f64 / delivered.as_secs_f64(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        lat.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
}
