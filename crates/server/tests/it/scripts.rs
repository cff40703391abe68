//! Long-running scripts: other clients get BUSY past the threshold, SCRIPT KILL stops a script that has
//! not written, and the server serves everyone again afterwards.

use std::time::{Duration, Instant};

use larder_test_support::{TOKEN, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn connect(srv: &TestServer) -> TcpStream {
    let mut s = TcpStream::connect(srv.resp_addr()).await.unwrap();
    s.write_all(format!("AUTH {TOKEN}\r\n").as_bytes()).await.unwrap();
    assert_eq!(read_line(&mut s).await, "+OK");
    s
}

async fn read_line(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n") {
        let n =
            tokio::time::timeout(Duration::from_secs(20), s.read(&mut b)).await.unwrap().unwrap();
        assert!(n > 0, "connection closed");
        out.push(b[0]);
    }
    out.truncate(out.len() - 2);
    String::from_utf8(out).unwrap()
}

async fn call(s: &mut TcpStream, line: &str) -> String {
    s.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
    read_line(s).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_script_and_script_kill() {
    let srv = TestServer::start_with(|c| c.busy_reply_threshold_ms = 100).await;
    let mut runner = connect(&srv).await;
    let mut other = connect(&srv).await;
    assert_eq!(
        call(&mut other, "SCRIPT KILL").await,
        "-NOTBUSY No scripts in execution right now."
    );
    runner.write_all(b"EVAL \"while true do end\" 0\r\n").await.unwrap();
    // Past the threshold, other clients get BUSY instead of waiting forever.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = call(&mut other, "PING").await;
        if r.starts_with("-BUSY") {
            assert_eq!(
                r,
                "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
            );
            break;
        }
        assert_eq!(r, "+PONG", "the script had not started yet");
        assert!(Instant::now() < deadline, "never got BUSY");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Over HTTP too.
    let resp = reqwest::Client::new()
        .post(format!("{}/", srv.http_url()))
        .bearer_auth(TOKEN)
        .body(r#"["GET","k"]"#)
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("BUSY"));
    assert_eq!(call(&mut other, "SCRIPT KILL").await, "+OK");
    let killed = read_line(&mut runner).await;
    assert!(killed.starts_with("-ERR Script killed by user with SCRIPT KILL"), "{killed}");
    assert_eq!(call(&mut other, "PING").await, "+PONG");
    assert_eq!(call(&mut runner, "PING").await, "+PONG");
}
