//! The same cross-language check as `tests/compat/js/test/ratelimit-rust.test.mjs`, from the Rust
//! side: `node tests/compat/js/ratelimit-driver.mjs` (the official `@upstash/ratelimit` 2.2.0)
//! against the in-process larder, then this crate on the same keys.
//!
//! Needs `node` and `npm ci` in `tests/compat/js`; without them the test says so and passes
//! (the compat suite, which installs them, runs the JS-side version of this test).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use larder_ratelimit::Ratelimit;
use larder_test_support::TOKEN;

use crate::support::server;

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/compat/js")
}

fn js_available() -> bool {
    let ok = js_dir().join("node_modules/@upstash/ratelimit").is_dir()
        && Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: needs node and `npm ci` in tests/compat/js");
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_then_rust_share_counts() {
    if !js_available() {
        return;
    }
    let (s, redis) = server().await;
    for (algo, make) in [
        (
            "fixedWindow",
            Ratelimit::fixed_window as fn(u64, Duration) -> larder_ratelimit::Algorithm,
        ),
        ("slidingWindow", Ratelimit::sliding_window),
        ("tokenBucket", |n, w| Ratelimit::token_bucket(1, w, n)),
    ] {
        let prefix = format!("cross:{algo}");
        let spec = serde_json::json!({
            "algo": algo, "prefix": prefix, "id": "user-1", "limit": 50, "window": "1 h", "calls": 30,
        });
        let url = s.http_url();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg("ratelimit-driver.mjs")
                .arg(spec.to_string())
                .current_dir(js_dir())
                .env("UPSTASH_REDIS_REST_URL", url)
                .env("UPSTASH_REDIS_REST_TOKEN", TOKEN)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let doc: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap())
                .unwrap();
        let js_ok =
            doc["results"].as_array().unwrap().iter().filter(|r| r["success"] == true).count();
        assert_eq!(js_ok, 30, "{algo}");
        let rl = Ratelimit::builder(redis.clone(), make(50, Duration::from_secs(3600)))
            .prefix(&prefix)
            .build()
            .unwrap();
        assert_eq!(rl.get_remaining("user-1").await.unwrap().remaining, 20, "{algo}");
        let mut ok = 0;
        for _ in 0..30 {
            ok += usize::from(rl.limit("user-1").await.unwrap().success);
        }
        assert_eq!(ok, 20, "{algo}");
    }
}
