//! Upstash's Redis REST API: `POST /` (one command as a JSON array), `POST /pipeline`, `POST /multi-exec`,
//! path-style commands (`/set/k/v`, a POST body as the last argument, `?NAME=value` arguments after it),
//! `Authorization: Bearer` or `?_token=`, `Upstash-Encoding: base64`, `Upstash-Response-Format: resp2`,
//! and an `upstash-sync-token` on every response. See `docs/rest.md` for the decisions taken where
//! Upstash's behaviour is undocumented.

pub mod json;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use larder_resp::{Protocol, Reply, encode};

use crate::App;
use json::{BodyError, Encoding, write_envelope};

// Header names made once (a name given as `&str` is parsed and lower-cased on every use).
static SYNC_TOKEN: HeaderName = HeaderName::from_static("upstash-sync-token");
static ENCODING: HeaderName = HeaderName::from_static("upstash-encoding");
static RESPONSE_FORMAT: HeaderName = HeaderName::from_static("upstash-response-format");
/// A misspelling some Upstash clients send.
static REPONSE_FORMAT: HeaderName = HeaderName::from_static("upstash-reponse-format");

/// The axum router: every path goes through [`handle`].
pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(app)
}

/// How the response is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json(Encoding),
    Resp2,
}

/// A whole-request error: a status and an `{"error": ...}` body.
struct ApiError(StatusCode, String);

impl ApiError {
    fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> ApiError {
        ApiError::bad_request(e.to_string())
    }
}

async fn handle(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    request: Request,
) -> Response {
    // The whole request rather than method/URI/headers extractors, which would clone each of them.
    let (parts, body) = request.into_parts();
    let result = route(&app, &parts.method, &parts.uri, &parts.headers, body).await;
    let mut resp = match result {
        Ok(r) => r,
        Err(ApiError(status, msg)) => {
            let mut out = Vec::with_capacity(msg.len() + 16);
            write_envelope(&Reply::Error(msg.into()), Encoding::Plain, &mut out);
            json_response(status, out)
        }
    };
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("upstash-sync-token"));
    if !h.contains_key(&SYNC_TOKEN) {
        h.insert(SYNC_TOKEN.clone(), app.sync_token(None));
    }
    resp
}

async fn route(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let path = uri.path();
    if method == Method::OPTIONS {
        return Ok(preflight());
    }
    if !matches!(*method, Method::GET | Method::POST | Method::PUT | Method::HEAD) {
        return Err(ApiError(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("ERR method {method} is not allowed"),
        ));
    }
    if path == "/healthz" {
        return Ok(json_response(StatusCode::OK, br#"{"status":"ok"}"#.to_vec()));
    }
    // The body is read (up to the size limit) before the token is checked: answering a request whose body
    // was never read makes the connection unusable, and a client reusing it would see it drop.
    let body = read_body(body, headers, app.config.max_request_size).await;
    let readonly = authenticate(app, uri, headers)?;
    let body = body?;
    let format = response_format(headers)?;
    let mut client = app.new_client("http".into(), true);
    client.readonly = readonly;
    match path {
        "/" | "" => {
            if body.is_empty() {
                return Err(ApiError::bad_request(
                    "ERR empty command: POST a JSON array such as [\"PING\"]",
                ));
            }
            let argv = json::parse_command(&body)?;
            Ok(single(app, &mut client, argv, format).await)
        }
        "/pipeline" => {
            let cmds = json::parse_batch(&body)?;
            if cmds.is_empty() {
                return Err(ApiError::bad_request("ERR empty pipeline"));
            }
            let mut replies = Vec::with_capacity(cmds.len());
            let dirty = app.backend.execute_batch(&mut client, &cmds, &mut replies).await;
            Ok(batch_response(app, &replies, format, dirty))
        }
        "/multi-exec" => {
            let cmds = json::parse_batch(&body)?;
            if cmds.is_empty() {
                return Err(ApiError::bad_request("ERR empty transaction"));
            }
            let (result, dirty) = app.backend.execute_atomic(&mut client, &cmds).await;
            let replies = result.map_err(|e| ApiError::bad_request(e.to_string()))?;
            // Transactions always answer JSON (Upstash ignores the resp2 format here).
            let enc = match format {
                Format::Json(e) => e,
                Format::Resp2 => Encoding::Plain,
            };
            Ok(batch_response(app, &replies, Format::Json(enc), dirty))
        }
        _ => {
            let argv = path_command(path, uri.query(), body)?;
            Ok(single(app, &mut client, argv, format).await)
        }
    }
}

async fn single(
    app: &App,
    client: &mut larder_engine::ClientState,
    argv: Vec<Bytes>,
    format: Format,
) -> Response {
    let mut replies = Vec::with_capacity(1);
    let dirty = app.backend.execute_batch(client, std::slice::from_ref(&argv), &mut replies).await;
    let reply = replies.pop().unwrap_or_else(|| Reply::Error("ERR no reply".into()));
    let status = if reply.is_error() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let mut resp = match format {
        Format::Json(enc) => {
            let mut out = Vec::with_capacity(64);
            write_envelope(&reply, enc, &mut out);
            json_response(status, out)
        }
        Format::Resp2 => {
            let mut out = Vec::with_capacity(64);
            encode(&reply, Protocol::Resp2, &mut out);
            raw_response(status, out)
        }
    };
    resp.headers_mut().insert(SYNC_TOKEN.clone(), app.sync_token(Some(dirty)));
    resp
}

fn batch_response(app: &App, replies: &[Reply], format: Format, dirty: u64) -> Response {
    let mut out = Vec::with_capacity(32 * replies.len() + 2);
    let mut resp = match format {
        Format::Json(enc) => {
            out.push(b'[');
            for (i, r) in replies.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_envelope(r, enc, &mut out);
            }
            out.push(b']');
            json_response(StatusCode::OK, out)
        }
        Format::Resp2 => {
            for r in replies {
                encode(r, Protocol::Resp2, &mut out);
            }
            raw_response(StatusCode::OK, out)
        }
    };
    resp.headers_mut().insert(SYNC_TOKEN.clone(), app.sync_token(Some(dirty)));
    resp
}

/// Checks the bearer token (or `_token`); returns whether it is the read-only one. A present
/// `Authorization` header wins over `_token`.
fn authenticate(app: &App, uri: &Uri, headers: &HeaderMap) -> Result<bool, ApiError> {
    let unauthorized = || ApiError(StatusCode::UNAUTHORIZED, "Unauthorized".into());
    let candidate: std::borrow::Cow<'_, [u8]> = match headers.get(header::AUTHORIZATION) {
        Some(v) => {
            let v = v.as_bytes();
            let t = v
                .strip_prefix(b"Bearer ")
                .or_else(|| v.strip_prefix(b"bearer "))
                .ok_or_else(unauthorized)?;
            t.trim_ascii().into()
        }
        None => uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("_token=")))
            .map(|t| percent_decode(t.as_bytes()).into())
            .ok_or_else(unauthorized)?,
    };
    app.auth.check(&candidate).ok_or_else(unauthorized)
}

fn response_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let base64 =
        headers.get(&ENCODING).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"base64"));
    let fmt = headers.get(&RESPONSE_FORMAT).or_else(|| headers.get(&REPONSE_FORMAT));
    match fmt.map(|v| v.as_bytes().to_ascii_lowercase()) {
        None => Ok(Format::Json(if base64 { Encoding::Base64 } else { Encoding::Plain })),
        Some(v) if v == b"json" => {
            Ok(Format::Json(if base64 { Encoding::Base64 } else { Encoding::Plain }))
        }
        Some(v) if v == b"resp2" => {
            if base64 {
                Err(ApiError::bad_request(
                    "ERR Upstash-Response-Format: resp2 cannot be combined with Upstash-Encoding: base64",
                ))
            } else {
                Ok(Format::Resp2)
            }
        }
        Some(_) => Err(ApiError::bad_request("ERR Upstash-Response-Format must be json or resp2")),
    }
}

async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let too_large =
        || ApiError(StatusCode::PAYLOAD_TOO_LARGE, "ERR max request size exceeded".into());
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // axum reports an exceeded limit as a "length limit exceeded" error; anything else is a broken body.
        if e.to_string().contains("length limit") {
            too_large()
        } else {
            ApiError::bad_request(format!("ERR could not read the request body: {e}"))
        }
    })
}

/// Path-style commands: each path segment is one argument (percent-decoded), a non-empty body is one more,
/// then query parameters other than `_token` (`NAME=value` as two arguments, a bare `NAME` as one).
fn path_command(path: &str, query: Option<&str>, body: Bytes) -> Result<Vec<Bytes>, ApiError> {
    let mut argv: Vec<Bytes> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| Bytes::from(percent_decode(s.as_bytes())))
        .collect();
    if argv.is_empty() {
        return Err(ApiError::bad_request("ERR empty command"));
    }
    if !body.is_empty() {
        argv.push(body);
    }
    for kv in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
        let (k, v) = match kv.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (kv, None),
        };
        if k == "_token" {
            continue;
        }
        argv.push(Bytes::from(percent_decode(k.as_bytes())));
        if let Some(v) = v {
            argv.push(Bytes::from(percent_decode(v.as_bytes())));
        }
    }
    Ok(argv)
}

/// Decodes `%XX` escapes (and `+` is kept as is, as in paths). Invalid escapes are kept literally.
pub fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn raw_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    r
}

fn preflight() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Authorization, Content-Type, Upstash-Encoding, Upstash-Sync-Token, Upstash-Response-Format, Upstash-Telemetry-Sdk, Upstash-Telemetry-Platform, Upstash-Telemetry-Runtime, Upstash-Telemetry-Retry",
        ),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    r
}
