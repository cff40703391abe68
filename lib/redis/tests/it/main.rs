//! Integration tests: every public method against a real larder started in-process
//! (`larder_test_support::TestServer`), plus client behaviour (base64, sync tokens, retries, errors)
//! and the cache helper.

mod cache;
mod client;
mod coverage;
mod hashes;
mod keys;
mod lists;
mod pipeline;
mod scripting;
mod sets;
mod strings;
mod support;
mod zsets;
