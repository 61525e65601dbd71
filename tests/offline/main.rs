//! The offline integration tests, in one binary: no stack, no network beyond 127.0.0.1.
//! The tests that need the local OpenStack are the `live` binary.

mod catalog_cli;
mod cli_help;
mod cli_hostile;
mod cli_schema;
mod codegen;
mod config;
mod decode;
mod decode_metadefs;
mod hostile;
mod inspect;
mod mock;
mod passing_faults;
mod security;
