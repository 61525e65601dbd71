//! The offline integration tests, in one binary: no stack, no network beyond 127.0.0.1.
//! (`tests/decode.rs` and `tests/codegen.rs` stay binaries of their own; the tests that need
//! the local OpenStack are the `live` binary.)

mod cli_hostile;
mod config;
mod hostile;
mod mock;
mod security;
