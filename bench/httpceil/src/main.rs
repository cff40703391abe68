//! The HTTP ceiling for larder's REST benchmarks: axum + tokio with larder's features and release profile,
//! the same `Authorization: Bearer` check, a `serde_json` parse of the same body (`["GET","foo"]` at `/`,
//! `[[...],[...]]` at `/pipeline`) and a constant reply (`{"result":"OK"}`, one per command for a
//! pipeline). Whatever larder does beyond this (its own parser, the engine, the reply encoder, headers)
//! is the gap between the two in `docs/benchmarks.md`.
//!
//! Environment: `ADDR` (default 127.0.0.1:8088), `TOKEN` (default `secret-token`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

const ONE: &str = r#"{"result":"OK"}"#;

async fn handle(token: Arc<Vec<u8>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|t| t == token.as_slice());
    if !authorized {
        return reply(StatusCode::UNAUTHORIZED, r#"{"error":"Unauthorized"}"#.to_string());
    }
    match uri.path() {
        "/pipeline" => match serde_json::from_slice::<Vec<Vec<Value>>>(&body) {
            Ok(cmds) if !cmds.is_empty() && cmds.iter().all(|c| !c.is_empty()) => {
                let mut out = String::with_capacity(cmds.len() * (ONE.len() + 1) + 2);
                out.push('[');
                for i in 0..cmds.len() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(ONE);
                }
                out.push(']');
                reply(StatusCode::OK, out)
            }
            _ => bad(),
        },
        _ => match serde_json::from_slice::<Vec<Value>>(&body) {
            Ok(cmd) if !cmd.is_empty() => reply(StatusCode::OK, ONE.to_string()),
            _ => bad(),
        },
    }
}

fn bad() -> Response {
    reply(StatusCode::BAD_REQUEST, r#"{"error":"ERR bad body"}"#.to_string())
}

fn reply(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[tokio::main]
async fn main() {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8088".into());
    let token =
        Arc::new(std::env::var("TOKEN").unwrap_or_else(|_| "secret-token".into()).into_bytes());
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        handle(token.clone(), uri, headers, body)
    });
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind ADDR");
    axum::serve(listener, app).await.expect("serve");
}
