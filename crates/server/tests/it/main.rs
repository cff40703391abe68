//! Server integration tests: the real server through `TestServer`, driven by real clients (reqwest for
//! REST, the `redis` crate and raw sockets for RESP).

mod blocking;
mod cli;
mod crash;
mod persistence;
mod queue;
mod queue_crash;
mod resp;
mod rest;
mod scripts;
