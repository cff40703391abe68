//! Integration tests: every public method against a real larder started in-process
//! (`larder_test_support::TestServer`).

mod concurrency_200;
mod multi;
mod single;
mod support;
