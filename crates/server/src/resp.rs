//! The RESP listener: one task per connection, decoding every complete command in the read buffer,
//! running them as one batch (pipelining under one lock), and writing the replies in one write.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use larder_resp::{Limits, Reply, decode_request, encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::App;

/// Commands decoded from one read that run as one batch, at most.
const MAX_BATCH: usize = 1024;

/// Bytes read ahead (and kept for later) while the connection waits for a blocked command, at most.
const MAX_READ_AHEAD: usize = 1024 * 1024;

/// Accepts RESP connections until `shutdown`.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, addr)) => {
                let app = app.clone();
                let shutdown = shutdown.clone();
                tracker.spawn(async move {
                    app.connections.connected.fetch_add(1, Ordering::Relaxed);
                    app.connections.received.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = connection(&app, stream, addr, shutdown).await {
                        tracing::debug!(%addr, "connection closed: {e}");
                    }
                    app.connections.connected.fetch_sub(1, Ordering::Relaxed);
                });
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(
    app: &App,
    mut stream: TcpStream,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut client = app.new_client(addr.to_string(), false);
    let open = Limits::default();
    // Before AUTH, like Redis: small requests only.
    let unauthenticated =
        Limits { max_multibulk_len: 10, max_bulk_len: 16 * 1024, ..Limits::default() };
    let mut rbuf = BytesMut::with_capacity(16 * 1024);
    let mut wbuf = Vec::with_capacity(16 * 1024);
    let mut cmds: Vec<Vec<Bytes>> = Vec::new();
    let mut replies: Vec<Reply> = Vec::new();
    loop {
        // Decode every complete command already buffered.
        let mut protocol_error = None;
        while cmds.len() < MAX_BATCH {
            let limits = if client.authenticated { &open } else { &unauthenticated };
            match decode_request(&mut rbuf, limits) {
                Ok(Some(argv)) if argv.is_empty() => continue,
                Ok(Some(argv)) => cmds.push(argv),
                Ok(None) => break,
                Err(e) => {
                    protocol_error = Some(e);
                    break;
                }
            }
        }
        let mut done = 0;
        while done < cmds.len() {
            let proto = client.protocol;
            replies.clear();
            let batch = app.backend.run_batch(&mut client, &cmds[done..], &mut replies).await;
            // The backend stops a batch right after a command that changed the connection's protocol or
            // authentication; that last reply already speaks the new protocol (HELLO 3 answers in RESP3).
            let n = replies.len();
            for (i, r) in replies.iter().enumerate() {
                encode(r, if i + 1 == n { client.protocol } else { proto }, &mut wbuf);
            }
            done += replies.len();
            if let Some(blocked) = batch.blocked {
                // Like Redis: answer what came before, then nothing until the blocked command is answered.
                // Later commands wait in the buffer; reading on lets a disconnect remove the waiter.
                if !wbuf.is_empty() {
                    stream.write_all(&wbuf).await?;
                    wbuf.clear();
                }
                let wait = blocked.wait();
                tokio::pin!(wait);
                let reply = loop {
                    if rbuf.capacity() - rbuf.len() < 4096 {
                        rbuf.reserve(16 * 1024);
                    }
                    tokio::select! {
                        r = &mut wait => break r,
                        n = stream.read_buf(&mut rbuf), if rbuf.len() < MAX_READ_AHEAD => {
                            if n? == 0 {
                                return Ok(());
                            }
                        }
                    }
                };
                encode(&reply, client.protocol, &mut wbuf);
                done += 1;
            }
            if client.close_after_reply {
                break;
            }
        }
        cmds.clear();
        if let Some(e) = protocol_error {
            wbuf.extend_from_slice(b"-");
            wbuf.extend_from_slice(e.to_string().as_bytes());
            wbuf.extend_from_slice(b"\r\n");
            stream.write_all(&wbuf).await?;
            return Ok(());
        }
        if !wbuf.is_empty() {
            stream.write_all(&wbuf).await?;
            wbuf.clear();
            if wbuf.capacity() > 1024 * 1024 {
                wbuf.shrink_to(16 * 1024);
            }
        }
        if client.close_after_reply {
            return Ok(());
        }
        if rbuf.capacity() - rbuf.len() < 4096 {
            rbuf.reserve(16 * 1024);
        }
        let n = tokio::select! {
            n = stream.read_buf(&mut rbuf) => n?,
            () = shutdown.cancelled() => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
    }
}
