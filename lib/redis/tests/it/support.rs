//! Shared helpers: a server with a client, and a transport that records every exchange.

use std::sync::{Arc, Mutex};

use larder_redis::{
    BoxFuture, Redis, Request, ReqwestTransport, Response, Transport, TransportError,
};
use larder_test_support::{TOKEN, TestServer};

/// A fresh larder and a client for it (telemetry off, default options otherwise).
pub async fn server() -> (TestServer, Redis) {
    let server = TestServer::start().await;
    let redis = Redis::builder(server.http_url(), TOKEN).telemetry(false).build().unwrap();
    (server, redis)
}

/// One request and what came back (`None`: a transport error).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Request,
    pub response: Option<Response>,
}

/// A transport that forwards to reqwest and records every exchange.
#[derive(Clone)]
pub struct Recording {
    inner: ReqwestTransport,
    pub log: Arc<Mutex<Vec<Exchange>>>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording { inner: ReqwestTransport::new().unwrap(), log: Arc::default() }
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap().clone()
    }
}

impl Transport for Recording {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<Response, TransportError>> {
        Box::pin(async move {
            let result = self.inner.send(request.clone()).await;
            let response = result.as_ref().ok().cloned();
            self.log.lock().unwrap().push(Exchange { request, response });
            result
        })
    }
}
