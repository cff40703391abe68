//! The `larder` binary as a user runs it: `--help`, the `.env` block, generated tokens kept across
//! restarts, the refusal to bind a public address without a token, one larder per data directory, and a
//! clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn larder() -> Command {
    Command::new(env!("CARGO_BIN_EXE_larder"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the binary and reads its stdout up to the end of the `.env` block.
fn start(dir: &std::path::Path) -> (Child, Vec<String>) {
    start_with(dir, &[])
}

/// [`start`] with extra flags.
fn start_with(dir: &std::path::Path, extra: &[&str]) -> (Child, Vec<String>) {
    let mut child = larder()
        .args([
            "--http",
            &format!("127.0.0.1:{}", free_port()),
            "--resp",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .arg("--data-dir")
        .arg(dir)
        .args(["--log", "warn"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let mut l = String::new();
        if out.read_line(&mut l).unwrap() == 0 {
            break;
        }
        let done = l.starts_with("REDIS_URL=");
        lines.push(l.trim_end().to_string());
        if done {
            break;
        }
    }
    (child, lines)
}

fn value<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} missing from {lines:?}"))
}

fn sigterm_and_wait(mut child: Child) -> std::process::ExitStatus {
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "larder did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn help_explains_every_flag() {
    let out = larder().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--http",
        "--resp",
        "--token",
        "--read-only-token",
        "--data-dir",
        "--config",
        "--max-request-size",
        "--maxmemory",
        "--maxmemory-policy",
        "--maxmemory-samples",
        "allkeys-lru",
        "LARDER_TOKEN",
    ] {
        assert!(text.contains(flag), "--help does not mention {flag}:\n{text}");
    }
}

#[tokio::test]
async fn env_block_tokens_persist_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (child, lines) = start(dir.path());
    let url = value(&lines, "UPSTASH_REDIS_REST_URL").to_string();
    let token = value(&lines, "UPSTASH_REDIS_REST_TOKEN").to_string();
    assert!(value(&lines, "REDIS_URL").contains(&token));
    let resp = reqwest::Client::new()
        .post(format!("{url}/"))
        .bearer_auth(&token)
        .body(r#"["PING"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), r#"{"result":"PONG"}"#);
    let status = sigterm_and_wait(child);
    assert!(status.success(), "exit status {status}");

    // A restart with the same data dir keeps the generated token.
    let (child, lines) = start(dir.path());
    assert_eq!(value(&lines, "UPSTASH_REDIS_REST_TOKEN"), token);
    assert!(sigterm_and_wait(child).success());
}

#[test]
fn a_second_larder_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (first, lines) = start(dir.path());
    value(&lines, "UPSTASH_REDIS_REST_URL");
    let out = larder()
        .args(["--http", &format!("127.0.0.1:{}", free_port()), "--resp", "off", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(err.contains("is using the data directory"), "{err}");
    assert!(sigterm_and_wait(first).success());
    // The lock went with the process: the directory starts again.
    let (again, lines) = start(dir.path());
    value(&lines, "UPSTASH_REDIS_REST_URL");
    assert!(sigterm_and_wait(again).success());
}

#[test]
fn public_bind_without_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = larder()
        .args(["--http", "0.0.0.0:0", "--resp", "off", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without an explicit token"), "{err}");
}

#[test]
fn config_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("larder.toml");
    std::fs::write(&cfg, "resp = \"off\"\nbogus_key = 1\n").unwrap();
    let out =
        larder().arg("--config").arg(&cfg).arg("--data-dir").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "unknown keys in the config file are an error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus_key"));
    let out =
        larder().env("LARDER_TOKEN", "short").arg("--data-dir").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token must be at least 8 characters"));
}

#[tokio::test]
async fn memory_flags_file_and_info() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("larder.toml");
    std::fs::write(&cfg, "maxmemory = \"64MB\"\nmaxmemory_policy = \"allkeys-lfu\"\n").unwrap();
    let cfg = cfg.to_string_lossy().into_owned();
    let (child, lines) = start_with(dir.path(), &["--config", &cfg, "--maxmemory-samples", "7"]);
    let url = value(&lines, "UPSTASH_REDIS_REST_URL").to_string();
    let token = value(&lines, "UPSTASH_REDIS_REST_TOKEN").to_string();
    let resp = reqwest::Client::new()
        .post(format!("{url}/"))
        .bearer_auth(&token)
        .body(r#"["INFO", "memory"]"#)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    let info = body["result"].as_str().unwrap().to_string();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{name} in {info}"))
            .to_string()
    };
    assert_eq!(field("maxmemory"), (64u64 << 20).to_string());
    assert_eq!(field("maxmemory_human"), "64.00M");
    assert_eq!(field("maxmemory_policy"), "allkeys-lfu");
    assert_eq!(field("maxmemory_samples"), "7");
    assert!(field("mem_allocator").starts_with("jemalloc"), "{info}");
    // The binary counts its heap: a real figure, below the resident set.
    let used: u64 = field("used_memory").parse().unwrap();
    let rss: u64 = field("used_memory_rss").parse().unwrap();
    assert!(used > 100_000 && used < rss, "{info}");
    assert!(sigterm_and_wait(child).success());

    for (flag, value, why) in [
        ("--maxmemory", "12tb", "invalid --maxmemory"),
        ("--maxmemory-policy", "lru", "--maxmemory-policy"),
        ("--maxmemory-samples", "0", "--maxmemory-samples"),
    ] {
        let out = larder().args([flag, value]).arg("--data-dir").arg(dir.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{flag} {value}");
    }
}
