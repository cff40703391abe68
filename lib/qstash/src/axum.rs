//! [`Verified`]: an axum extractor that accepts only deliveries signed by QStash (or larder) and hands
//! the handler the verified raw body and the message id. Unsigned or forged requests are answered
//! `401 {"error": ...}` before the handler runs (QStash then retries them, which a forger cannot use).
//!
//! The router's state must give a [`Receiver`] (`Arc<Receiver>: FromRef<S>`, e.g. the state is an
//! `Arc<Receiver>` or a struct with one and `#[derive(FromRef)]`-style impls).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::receiver::{Claims, Receiver, VerifyError};

/// The largest body the extractor reads (QStash's own limit is 1 MB on the free plan).
pub const MAX_BODY: usize = 10 * 1024 * 1024;

/// A verified delivery.
#[derive(Debug, Clone)]
pub struct Verified {
    /// `Upstash-Message-Id`: the same on every redelivery of a message, so use it for idempotency.
    pub message_id: String,
    /// `Upstash-Retried`: attempts made before this one.
    pub retried: u32,
    /// `Upstash-Schedule-Id`, when a schedule produced the message.
    pub schedule_id: Option<String>,
    /// `Upstash-Topic-Name`, when it came through a URL group.
    pub url_group: Option<String>,
    /// The raw body, exactly as signed.
    pub body: Bytes,
    /// The signature's claims.
    pub claims: Claims,
}

impl Verified {
    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Why a request was refused.
#[derive(Debug)]
pub struct Rejection(pub StatusCode, pub String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.1 }).to_string();
        (self.0, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

impl<S> FromRequest<S> for Verified
where
    Arc<Receiver>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Arc::<Receiver>::from_ref(state);
        let headers = req.headers().clone();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let Some(signature) = text("upstash-signature") else {
            return Err(Rejection(StatusCode::UNAUTHORIZED, VerifyError::Missing.to_string()));
        };
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY).await.map_err(|e| {
            Rejection(StatusCode::BAD_REQUEST, format!("could not read the body: {e}"))
        })?;
        let claims = receiver
            .verify(&signature, &body, None)
            .map_err(|e| Rejection(StatusCode::UNAUTHORIZED, e.to_string()))?;
        Ok(Verified {
            message_id: text("upstash-message-id").unwrap_or_default(),
            retried: text("upstash-retried").and_then(|r| r.parse().ok()).unwrap_or(0),
            schedule_id: text("upstash-schedule-id"),
            url_group: text("upstash-topic-name"),
            body,
            claims,
        })
    }
}
