//! Integration tests: every public method against a real larder started in-process
//! (`larder_test_support::TestServer`).

mod concurrency;
mod concurrency_200;
mod coverage;
mod cross_js;
mod gcra;
mod middleware;
mod multi;
mod public_api;
mod rate;
mod single;
mod support;
